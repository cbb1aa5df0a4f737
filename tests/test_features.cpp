// The record of the readout's input ranges (gbnet_feature_ranges, section
// FRNG) and the checks against it (gbnet_feature_check, _graph), and the
// distance check's margin (gbnet_coverage_check).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

extern "C" {
#include "schnet.h"
#include "workspace.h"
}

namespace {

// Ethanol frames (rMD17) as structures of a model with elements H C O.
struct Frames {
    ExtxyzFile file;
    std::vector<std::vector<int>> species;
    std::vector<std::vector<double>> positions;  // copies, so tests may distort them
    std::vector<gbnet_structure> s;
    Frames(const std::string &path, const gbnet_model *m) : file(path) {
        int n = file.ds.n_frames;
        species.resize(n);
        positions.resize(n);
        for (int k = 0; k < n; ++k) {
            const gbnet_frame &f = file.ds.frames[k];
            species[k].resize(f.n_atoms);
            EXPECT_EQ(gbnet_frame_species(species[k].data(), &f, gbnet_model_hyperparams(m)), GBNET_OK);
            positions[k].assign(f.pos, f.pos + 3 * f.n_atoms);
        }
        refresh();
    }
    void refresh() {
        s.assign(species.size(), gbnet_structure{});
        for (size_t k = 0; k < species.size(); ++k) {
            s[k].n_atoms = (int)species[k].size();
            s[k].species = species[k].data();
            s[k].positions = positions[k].data();
        }
    }
    int n() const { return (int)s.size(); }
};

gbnet_model *ethanol_model(uint64_t seed = 5) {
    return small_model(small_hyperparams(8, 2, 6, 4, 4.0, {1, 6, 8}), seed);
}

struct Fixture {
    std::string dir = temp_dir();
    gbnet_model *m = ethanol_model();
    Frames train{ethanol_slice(dir, "train.xyz", 0, 12), m};
    Frames other{ethanol_slice(dir, "other.xyz", 200, 6), m};
    ~Fixture() { gbnet_model_free(m); }
};

gbnet_feature_report check_one(gbnet_workspace *ws, const gbnet_structure &s, double margin) {
    gbnet_feature_report r{};
    EXPECT_EQ(gbnet_feature_check(ws, 1, &s, margin, &r), GBNET_OK) << gbnet_last_error();
    return r;
}

}  // namespace

// The record is the min and max of x_T over the atoms of each element, here
// against x_T read from a separate evaluation of each frame on its own.
TEST(FeatureRanges, RecordIsTheMinAndMaxOfTheReadoutInput) {
    Fixture fx;
    ASSERT_EQ(gbnet_model_record_feature_ranges(fx.m, fx.train.n(), fx.train.s.data()), GBNET_OK)
        << gbnet_last_error();
    int stale = -1;
    const gbnet_feature_ranges *r = gbnet_model_feature_ranges(fx.m, &stale);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(stale, 0);
    int F = 8, T = 2;
    ASSERT_EQ(r->n_features, F);
    ASSERT_EQ(r->n_elements, 3);
    std::vector<double> lo(3 * F, HUGE_VAL), hi(3 * F, -HUGE_VAL);
    long long atoms[3] = {0, 0, 0};
    for (int k = 0; k < fx.train.n(); ++k) {
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, fx.m, GBNET_DOUBLE), GBNET_OK);
        std::vector<double> forces(3 * fx.train.s[k].n_atoms);
        gbnet_result res{};
        res.forces = forces.data();
        ASSERT_EQ(gbnet_evaluate(ws, 1, &fx.train.s[k], &res), GBNET_OK);
        int rows, cols;
        const double *x = gb_net_activation_f64(ws->net64, GB_ACT_X, T, &rows, &cols);
        ASSERT_EQ(rows, fx.train.s[k].n_atoms);
        ASSERT_EQ(cols, F);
        for (int i = 0; i < rows; ++i) {
            int e = fx.train.s[k].species[i];
            atoms[e]++;
            for (int c = 0; c < F; ++c) {
                lo[e * F + c] = std::min(lo[e * F + c], x[i * F + c]);
                hi[e * F + c] = std::max(hi[e * F + c], x[i * F + c]);
            }
        }
        gbnet_workspace_free(ws);
    }
    for (int e = 0; e < 3; ++e) {
        EXPECT_EQ(r->atoms[e], atoms[e]);
        for (int c = 0; c < F; ++c) {
            double tol = 1e-12 * (1 + std::fabs(lo[e * F + c]) + std::fabs(hi[e * F + c]));
            EXPECT_NEAR(r->min[e * F + c], lo[e * F + c], tol) << e << " " << c;
            EXPECT_NEAR(r->max[e * F + c], hi[e * F + c], tol) << e << " " << c;
            EXPECT_LT(r->min[e * F + c], r->max[e * F + c]);
        }
    }
    EXPECT_EQ(atoms[0], 12 * 6);  // ethanol: 6 H, 2 C, 1 O
    EXPECT_EQ(atoms[1], 12 * 2);
    EXPECT_EQ(atoms[2], 12 * 1);
}

// Training frames are inside (even with margin 0); a frame squeezed or
// stretched far out is flagged, in float and double evaluation.
TEST(FeatureRanges, FarOutFramesAreFlaggedAndTrainingFramesAreNot) {
    Fixture fx;
    ASSERT_EQ(gbnet_model_record_feature_ranges(fx.m, fx.train.n(), fx.train.s.data()), GBNET_OK);
    for (gbnet_precision p : {GBNET_DOUBLE, GBNET_FLOAT}) {
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, fx.m, p), GBNET_OK);
        std::vector<gbnet_feature_report> reports(fx.train.n());
        double margin = p == GBNET_DOUBLE ? 0.0 : 1e-3;  // float: its rounding, far below the default
        ASSERT_EQ(gbnet_feature_check(ws, fx.train.n(), fx.train.s.data(), margin, reports.data()), GBNET_OK)
            << gbnet_last_error();
        for (const gbnet_feature_report &r : reports) {
            EXPECT_EQ(r.atoms_checked, 9);
            EXPECT_EQ(r.atoms_outside, 0) << "precision " << p << " excess " << r.largest_excess;
        }
        // squeezed to 60% and stretched to 150%: every bond far from training
        for (double scale : {0.6, 1.5}) {
            Frames far(fx.dir + "/train.xyz", fx.m);
            for (double &x : far.positions[0]) x *= scale;
            far.refresh();
            gbnet_feature_report r = check_one(ws, far.s[0], GBNET_DEFAULT_FEATURE_MARGIN);
            EXPECT_GT(r.atoms_outside, 0) << "scale " << scale << " precision " << p;
            EXPECT_GT(r.largest_excess, GBNET_DEFAULT_FEATURE_MARGIN);
            ASSERT_GE(r.largest_atom, 0);
            EXPECT_EQ(r.largest_element, far.species[0][r.largest_atom]);
            EXPECT_GE(r.largest_channel, 0);
            EXPECT_LT(r.largest_channel, 8);
        }
        gbnet_workspace_free(ws);
    }
}

// A frame just outside: flagged with margin 0 and any margin below its
// excess, not with one above; the same for the distance margin.
TEST(FeatureRanges, MarginsDecideWhatIsOutside) {
    Fixture fx;
    ASSERT_EQ(gbnet_model_record_feature_ranges(fx.m, fx.train.n(), fx.train.s.data()), GBNET_OK);
    gbnet_coverage c;
    ASSERT_EQ(gbnet_coverage_measure(fx.m, fx.train.n(), fx.train.s.data(), &c), GBNET_OK);
    ASSERT_EQ(gbnet_model_set_coverage(fx.m, &c), GBNET_OK);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, fx.m, GBNET_DOUBLE), GBNET_OK);
    Frames near(fx.dir + "/train.xyz", fx.m);
    for (double &x : near.positions[3]) x *= 0.97;
    near.refresh();
    gbnet_feature_report r0 = check_one(ws, near.s[3], 0.0);
    ASSERT_GT(r0.atoms_outside, 0);
    double e = r0.largest_excess;
    ASSERT_GT(e, 0.0);
    ASSERT_LT(e, 1.0);  // just outside
    EXPECT_GT(check_one(ws, near.s[3], 0.99 * e).atoms_outside, 0);
    EXPECT_EQ(check_one(ws, near.s[3], 1.01 * e).atoms_outside, 0);
    EXPECT_EQ(check_one(ws, near.s[3], 1.01 * e).largest_excess, e);  // reported whatever the margin
    EXPECT_LE(check_one(ws, near.s[3], 0.5 * e).atoms_outside, r0.atoms_outside);
    // distances: the squeezed frame's closest pair is at ratio ~0.97 or above
    gbnet_coverage_report d0, d1;
    ASSERT_EQ(gbnet_coverage_check(fx.m, &near.s[3], 0.0, &d0), GBNET_OK);
    ASSERT_LT(d0.closest_ratio, 1.0);
    ASSERT_GT(d0.atoms_too_close, 0);
    double gap = 1.0 - d0.closest_ratio;
    ASSERT_EQ(gbnet_coverage_check(fx.m, &near.s[3], 0.99 * gap, &d1), GBNET_OK);
    EXPECT_GT(d1.atoms_too_close, 0);
    ASSERT_EQ(gbnet_coverage_check(fx.m, &near.s[3], 1.01 * gap, &d1), GBNET_OK);
    EXPECT_EQ(d1.atoms_too_close, 0);
    EXPECT_EQ(d1.pairs_too_close, 0);
    EXPECT_EQ(d1.closest_ratio, d0.closest_ratio);
    // training frames: no distance inside the record is too close at margin 0
    ASSERT_EQ(gbnet_coverage_check(fx.m, &fx.train.s[0], 0.0, &d1), GBNET_OK);
    EXPECT_EQ(d1.atoms_too_close, 0);
    // bad margins are refused
    gbnet_feature_report r{};
    EXPECT_EQ(gbnet_feature_check(ws, 1, &near.s[3], -0.1, &r), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gbnet_coverage_check(fx.m, &near.s[3], 1.0, &d1), GBNET_ERR_INVALID_ARGUMENT);
    gbnet_workspace_free(ws);
}

// The graph check reads the last gbnet_evaluate_graph's features: it equals
// the structure check on the same atoms, for 1 and 2 threads.
TEST(FeatureRanges, GraphCheckEqualsTheStructureCheckForAnyThreadCount) {
    Fixture fx;
    ASSERT_EQ(gbnet_model_record_feature_ranges(fx.m, 4, fx.train.s.data()), GBNET_OK);
    for (int threads : {1, 2}) {
        gbnet_workspace *ws = nullptr;
        ASSERT_EQ(gbnet_workspace_create(&ws, fx.m, GBNET_DOUBLE), GBNET_OK);
        gbnet_workspace_set_threads(ws, threads);
        for (int k = 0; k < fx.other.n(); ++k) {
            const gbnet_structure &s = fx.other.s[k];
            gbnet_feature_report want = check_one(ws, s, 0.05);
            // the molecule as a graph: every pair within the cutoff, no ghosts
            std::vector<int> offsets(1, 0), neighbor;
            std::vector<double> vec;
            for (int i = 0; i < s.n_atoms; ++i) {
                for (int j = 0; j < s.n_atoms; ++j) {
                    double d[3], d2 = 0;
                    for (int a = 0; a < 3; ++a) d[a] = s.positions[3 * j + a] - s.positions[3 * i + a], d2 += d[a] * d[a];
                    if (j == i || d2 >= 16.0) continue;
                    neighbor.push_back(j);
                    vec.insert(vec.end(), d, d + 3);
                }
                offsets.push_back((int)neighbor.size());
            }
            gbnet_graph g{};
            g.n_local = g.n_total = s.n_atoms;
            g.species = s.species;
            g.edge_offsets = offsets.data();
            g.edge_neighbor = neighbor.data();
            g.edge_vector = vec.data();
            std::vector<double> forces(3 * s.n_atoms);
            gbnet_graph_result res{};
            res.forces = forces.data();
            ASSERT_EQ(gbnet_evaluate_graph(ws, &g, &res), GBNET_OK) << gbnet_last_error();
            gbnet_feature_report got{};
            ASSERT_EQ(gbnet_feature_check_graph(ws, &g, 0.05, &got), GBNET_OK) << gbnet_last_error();
            EXPECT_EQ(got.atoms_checked, want.atoms_checked);
            EXPECT_EQ(got.atoms_outside, want.atoms_outside);
            EXPECT_NEAR(got.largest_excess, want.largest_excess, 1e-9 * (1 + want.largest_excess));
            EXPECT_EQ(got.largest_atom, want.largest_atom);
            EXPECT_EQ(got.largest_channel, want.largest_channel);
            // a graph of another size than the last evaluation is refused
            gbnet_graph smaller = g;
            smaller.n_local = smaller.n_total = s.n_atoms - 1;
            EXPECT_EQ(gbnet_feature_check_graph(ws, &smaller, 0.05, &got), GBNET_ERR_INVALID_ARGUMENT);
        }
        gbnet_workspace_free(ws);
    }
}

// A record never outlives a change of the network: pruning (other F),
// rank reduction and quantization drop it, and a record measured on other
// weights is refused by the checks (stale).
TEST(FeatureRanges, StaleRecordsAreNeverUsed) {
    Fixture fx;
    ASSERT_EQ(gbnet_model_record_feature_ranges(fx.m, fx.train.n(), fx.train.s.data()), GBNET_OK);
    gbnet_prune_spec spec{};
    spec.n_features = 6;
    gbnet_model *pruned = nullptr;
    ASSERT_EQ(gbnet_model_prune(&pruned, fx.m, &spec, fx.train.n(), fx.train.s.data(), nullptr), GBNET_OK)
        << gbnet_last_error();
    EXPECT_EQ(gbnet_model_feature_ranges(pruned, nullptr), nullptr);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, pruned, GBNET_DOUBLE), GBNET_OK);
    gbnet_feature_report r{};
    EXPECT_EQ(gbnet_feature_check(ws, 1, &fx.train.s[0], 0.1, &r), GBNET_ERR_UNSUPPORTED);
    gbnet_workspace_free(ws);
    gbnet_model_free(pruned);

    gbnet_rank_spec rank{};
    rank.rank.readout = 2;
    gbnet_model *reduced = nullptr;
    ASSERT_EQ(gbnet_model_reduce_rank(fx.m, &rank, &reduced), GBNET_OK) << gbnet_last_error();
    EXPECT_EQ(gbnet_model_feature_ranges(reduced, nullptr), nullptr);
    gbnet_model_free(reduced);

    gbnet_model *quantized = nullptr;
    ASSERT_EQ(gbnet_model_clone(&quantized, fx.m), GBNET_OK);
    ASSERT_NE(gbnet_model_feature_ranges(quantized, nullptr), nullptr);  // a clone keeps it
    ASSERT_EQ(gbnet_model_quantize(quantized, GBNET_QUANT_BF16, 0, nullptr, 100.0), GBNET_OK);
    EXPECT_EQ(gbnet_model_feature_ranges(quantized, nullptr), nullptr);
    gbnet_model_free(quantized);

    // the same sizes, other weights: the record is stale and refused
    gbnet_model *other = ethanol_model(6);
    ASSERT_EQ(gbnet_model_set_feature_ranges(other, gbnet_model_feature_ranges(fx.m, nullptr)), GBNET_OK);
    ASSERT_EQ(gbnet_workspace_create(&ws, other, GBNET_DOUBLE), GBNET_OK);
    EXPECT_EQ(gbnet_feature_check(ws, 1, &fx.train.s[0], 0.1, &r), GBNET_OK);  // set: bound to these weights
    other->features->params_hash ^= 1;  // as if measured on other weights
    gbnet_workspace_free(ws);
    ASSERT_EQ(gbnet_workspace_create(&ws, other, GBNET_DOUBLE), GBNET_OK);
    int stale = 0;
    EXPECT_NE(gbnet_model_feature_ranges(other, &stale), nullptr);
    EXPECT_EQ(stale, 1);
    EXPECT_EQ(gbnet_feature_check(ws, 1, &fx.train.s[0], 0.1, &r), GBNET_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(gbnet_last_error()).find("other weights"), std::string::npos) << gbnet_last_error();
    gbnet_workspace_free(ws);
    gbnet_model_free(other);
    // a model without a record
    gbnet_model *none = ethanol_model(7);
    ASSERT_EQ(gbnet_workspace_create(&ws, none, GBNET_DOUBLE), GBNET_OK);
    EXPECT_EQ(gbnet_feature_check(ws, 1, &fx.train.s[0], 0.1, &r), GBNET_ERR_UNSUPPORTED);
    gbnet_workspace_free(ws);
    gbnet_model_free(none);
}

// An element the training never had: its atoms are always outside.
TEST(FeatureRanges, UntrainedElementIsOutside) {
    Fixture fx;
    ASSERT_EQ(gbnet_model_record_feature_ranges(fx.m, fx.train.n(), fx.train.s.data()), GBNET_OK);
    const gbnet_feature_ranges *r = gbnet_model_feature_ranges(fx.m, nullptr);
    gbnet_feature_ranges without_o = *r;
    without_o.atoms[2] = 0;
    ASSERT_EQ(gbnet_model_set_feature_ranges(fx.m, &without_o), GBNET_OK);
    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, fx.m, GBNET_DOUBLE), GBNET_OK);
    gbnet_feature_report rep = check_one(ws, fx.train.s[0], 1000.0);
    EXPECT_EQ(rep.atoms_outside, 1);
    EXPECT_TRUE(std::isinf(rep.largest_excess));
    EXPECT_EQ(rep.largest_element, 2);
    EXPECT_EQ(rep.largest_channel, -1);
    gbnet_workspace_free(ws);
}
