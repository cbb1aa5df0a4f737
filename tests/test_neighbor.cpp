// Neighbor lists: compared with a brute-force search over all pairs and all
// images that can reach the cutoff, on molecules, cubic, skewed, tiny and
// slab cells, and atoms given outside their cell.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"

extern "C" {
#include "neighbor.h"
}

namespace {

struct Edge {
    int i, j;
    std::array<int, 3> s;
    std::array<double, 3> v;
    bool operator<(const Edge &o) const { return std::tie(i, j, s) < std::tie(o.i, o.j, o.s); }
};

struct System {
    std::vector<double> pos;  // [n][3]
    std::vector<double> cell; // [9] or empty
    int pbc[3] = {0, 0, 0};
    int n() const { return (int)pos.size() / 3; }
    const double *cell_ptr() const { return cell.empty() ? nullptr : cell.data(); }
};

double det3(const double *m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

// Fractional coordinates by Cramer's rule: r = f . cell (rows are vectors).
std::array<double, 3> fractional(const double *cell, const double *r) {
    double d = det3(cell);
    std::array<double, 3> f;
    for (int c = 0; c < 3; c++) {
        double m[9];
        for (int row = 0; row < 3; row++)
            for (int col = 0; col < 3; col++) m[3 * row + col] = row == c ? r[col] : cell[3 * row + col];
        f[c] = det3(m) / d;
    }
    return f;
}

// All (i, j, S) with |r_j + S.cell - r_i| < rc: for every pair, every image
// whose fractional offset can reach rc (plus one spare on each side).
std::vector<Edge> brute_force(const System &sys, double rc, const std::vector<int> *centers = nullptr) {
    int n = sys.n();
    bool any_pbc = sys.pbc[0] || sys.pbc[1] || sys.pbc[2];
    double h[3] = {1, 1, 1};
    const double *cell = sys.cell_ptr();
    if (any_pbc) {
        double v = std::fabs(det3(cell));
        for (int d = 0; d < 3; d++) {
            const double *a = cell + 3 * ((d + 1) % 3), *b = cell + 3 * ((d + 2) % 3);
            double x[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
            h[d] = v / std::sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
        }
    }
    std::vector<int> all;
    if (!centers) {
        for (int i = 0; i < n; i++) all.push_back(i);
        centers = &all;
    }
    std::vector<Edge> out;
    for (int i : *centers) {
        for (int j = 0; j < n; j++) {
            int lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
            if (any_pbc) {
                auto fi = fractional(cell, &sys.pos[3 * i]);
                auto fj = fractional(cell, &sys.pos[3 * j]);
                for (int d = 0; d < 3; d++) {
                    if (!sys.pbc[d]) continue;
                    double df = fj[d] - fi[d], reach = rc / h[d];
                    lo[d] = (int)std::ceil(-reach - df) - 1;
                    hi[d] = (int)std::floor(reach - df) + 1;
                }
            }
            for (int s0 = lo[0]; s0 <= hi[0]; s0++)
                for (int s1 = lo[1]; s1 <= hi[1]; s1++)
                    for (int s2 = lo[2]; s2 <= hi[2]; s2++) {
                        if (i == j && s0 == 0 && s1 == 0 && s2 == 0) continue;
                        Edge e{i, j, {s0, s1, s2}, {0, 0, 0}};
                        for (int d = 0; d < 3; d++) {
                            double shift = any_pbc ? s0 * cell[d] + s1 * cell[3 + d] + s2 * cell[6 + d] : 0.0;
                            e.v[d] = sys.pos[3 * j + d] - sys.pos[3 * i + d] + shift;
                        }
                        if (e.v[0] * e.v[0] + e.v[1] * e.v[1] + e.v[2] * e.v[2] < rc * rc) out.push_back(e);
                    }
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<Edge> edges_of(const gb_neighbor_list &nl) {
    std::vector<Edge> out;
    for (int i = 0; i < nl.n_atoms; i++)
        for (int e = nl.offsets[i]; e < nl.offsets[i + 1]; e++)
            out.push_back(Edge{i, nl.neighbor[e], {nl.shift[3 * e], nl.shift[3 * e + 1], nl.shift[3 * e + 2]},
                               {nl.vec[3 * e], nl.vec[3 * e + 1], nl.vec[3 * e + 2]}});
    return out;
}

// Checks the list's CSR shape, its order, its symmetry and that it equals the
// brute-force reference (same edges, same vectors).
void check_against_brute_force(const System &sys, double rc, int min_edges = 1) {
    gb_neighbor_list nl = {};
    ASSERT_EQ(gb_neighbor_build(&nl, sys.pos.data(), sys.n(), sys.cell_ptr(), sys.pbc, rc), GBNET_OK)
        << gbnet_last_error();
    ASSERT_EQ(nl.n_atoms, sys.n());
    ASSERT_EQ(nl.offsets[0], 0);
    ASSERT_EQ(nl.offsets[sys.n()], nl.n_edges);
    std::vector<Edge> got = edges_of(nl);
    // CSR sorted by center, then (neighbor, shift), strictly (no duplicates)
    for (size_t e = 1; e < got.size(); e++) ASSERT_TRUE(got[e - 1] < got[e]) << "edge " << e << " out of order";
    std::vector<Edge> want = brute_force(sys, rc);
    ASSERT_GE((int)want.size(), min_edges) << "test system too sparse to mean anything";
    ASSERT_EQ(got.size(), want.size());
    for (size_t e = 0; e < got.size(); e++) {
        ASSERT_EQ(got[e].i, want[e].i) << "edge " << e;
        ASSERT_EQ(got[e].j, want[e].j) << "edge " << e;
        ASSERT_EQ(got[e].s, want[e].s) << "edge " << e;
        for (int d = 0; d < 3; d++) ASSERT_NEAR(got[e].v[d], want[e].v[d], 1e-10);
        ASSERT_LT(std::sqrt(got[e].v[0] * got[e].v[0] + got[e].v[1] * got[e].v[1] + got[e].v[2] * got[e].v[2]), rc);
    }
    // symmetry: (i, j, S) <-> (j, i, -S) with the opposite vector
    for (const Edge &e : got) {
        Edge key{e.j, e.i, {-e.s[0], -e.s[1], -e.s[2]}, {0, 0, 0}};
        auto it = std::lower_bound(got.begin(), got.end(), key);
        ASSERT_TRUE(it != got.end() && !(key < *it)) << "missing reverse of " << e.i << "->" << e.j;
        for (int d = 0; d < 3; d++) ASSERT_NEAR(it->v[d], -e.v[d], 1e-10);
    }
    gb_neighbor_free(&nl);
}

// The first n_frames frames of an extended XYZ file, positions only.
std::vector<std::vector<double>> read_xyz_positions(const std::string &path, int n_frames) {
    std::ifstream in(path);
    std::vector<std::vector<double>> frames;
    std::string line;
    while ((int)frames.size() < n_frames && std::getline(in, line)) {
        int n = std::stoi(line);
        std::getline(in, line);  // comment line with the properties
        std::vector<double> pos;
        for (int a = 0; a < n; a++) {
            std::getline(in, line);
            std::istringstream fields(line);
            std::string symbol;
            double x, y, z;
            fields >> symbol >> x >> y >> z;
            pos.insert(pos.end(), {x, y, z});
        }
        frames.push_back(pos);
    }
    return frames;
}

System random_box(const std::vector<double> &cell, int n, std::mt19937 &rng, double lo = 0.0, double hi = 1.0) {
    std::uniform_real_distribution<double> u(lo, hi);
    System sys;
    sys.cell = cell;
    sys.pbc[0] = sys.pbc[1] = sys.pbc[2] = 1;
    for (int a = 0; a < n; a++) {
        double f[3] = {u(rng), u(rng), u(rng)};
        for (int d = 0; d < 3; d++) sys.pos.push_back(f[0] * cell[d] + f[1] * cell[3 + d] + f[2] * cell[6 + d]);
    }
    return sys;
}

TEST(Neighbor, EthanolMolecule) {
    auto frames = read_xyz_positions(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 1);
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_EQ(frames[0].size(), 27u);
    System sys;
    sys.pos = frames[0];
    check_against_brute_force(sys, 5.0, 72);  // every ordered pair of 9 atoms
    check_against_brute_force(sys, 1.2, 2);   // bonds only
    // cell given but no direction periodic: still a molecule
    sys.cell = {3, 0, 0, 0, 3, 0, 0, 0, 3};
    check_against_brute_force(sys, 1.6, 2);
}

TEST(Neighbor, ManyEthanolsInOpenSpace) {
    // 64 frames laid on a 4x4x4 grid 4.5 A apart: a 576-atom cluster whose
    // bounding box spans several bins in every direction.
    auto frames = read_xyz_positions(data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz"), 64);
    ASSERT_EQ(frames.size(), 64u);
    System sys;
    for (int m = 0; m < 64; m++)
        for (int a = 0; a < 9; a++)
            for (int d = 0; d < 3; d++) {
                int grid[3] = {m % 4, (m / 4) % 4, m / 16};
                sys.pos.push_back(frames[m][3 * a + d] + 4.5 * grid[d]);
            }
    check_against_brute_force(sys, 5.0, 1000);
    check_against_brute_force(sys, 2.0, 500);
}

TEST(Neighbor, RandomCubicBox) {
    std::mt19937 rng(1);
    check_against_brute_force(random_box({12, 0, 0, 0, 12, 0, 0, 0, 12}, 150, rng), 5.0, 1000);
    check_against_brute_force(random_box({16, 0, 0, 0, 16, 0, 0, 0, 16}, 300, rng), 4.0, 1000);
}

TEST(Neighbor, SkewedTriclinicCells) {
    std::mt19937 rng(2);
    check_against_brute_force(random_box({10, 0, 0, 6, 9, 0, -4, 3, 8}, 120, rng), 4.5, 500);
    check_against_brute_force(random_box({7, 1, 0, -5, 6, 0.5, 3, -2, 9}, 80, rng), 5.0, 500);
    // strongly sheared: the perpendicular heights are far below the lengths
    check_against_brute_force(random_box({9, 0, 0, 8.5, 3, 0, 8, 2.5, 2}, 40, rng), 5.0, 500);
}

TEST(Neighbor, TantalumBccManyImages) {
    std::mt19937 rng(3);
    std::normal_distribution<double> jitter(0.0, 0.05);
    double a = 3.3;
    System conventional;
    conventional.cell = {a, 0, 0, 0, a, 0, 0, 0, a};
    conventional.pbc[0] = conventional.pbc[1] = conventional.pbc[2] = 1;
    conventional.pos = {0, 0, 0, a / 2, a / 2, a / 2};
    for (double &x : conventional.pos) x += jitter(rng);
    // rc = 5 in a 3.3 A cell: each atom sees ~58 images of the two atoms
    check_against_brute_force(conventional, 5.0, 50);

    System primitive;  // one atom, skewed primitive cell: it only sees itself
    primitive.cell = {-a / 2, a / 2, a / 2, a / 2, -a / 2, a / 2, a / 2, a / 2, -a / 2};
    primitive.pbc[0] = primitive.pbc[1] = primitive.pbc[2] = 1;
    primitive.pos = {0.1, -0.2, 0.05};
    check_against_brute_force(primitive, 5.0, 26);

    gb_neighbor_list nl = {};
    ASSERT_EQ(gb_neighbor_build(&nl, primitive.pos.data(), 1, primitive.cell.data(), primitive.pbc, 5.0), GBNET_OK);
    EXPECT_EQ(nl.n_edges, 8 + 6 + 12);  // bcc shells at 2.86, 3.30, 4.67 A (the next, 5.47, is beyond rc)
    gb_neighbor_free(&nl);
}

TEST(Neighbor, CellThinnerThanCutoff) {
    std::mt19937 rng(4);
    // one direction 1.1 A thick, rc = 4: ~4 images of every atom on each side
    check_against_brute_force(random_box({6, 0, 0, 0, 1.1, 0, 0.5, 0.3, 7}, 10, rng), 4.0, 100);
}

TEST(Neighbor, MixedPeriodicity) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    // slab: periodic in a and b, open along c; atoms spread beyond the cell in z
    System slab;
    slab.cell = {8, 0, 0, 2, 7, 0, 0, 0, 10};
    slab.pbc[0] = slab.pbc[1] = 1;
    for (int k = 0; k < 100; k++) {
        double f0 = u(rng), f1 = u(rng), z = -6 + 25 * u(rng);
        slab.pos.insert(slab.pos.end(), {f0 * 8 + f1 * 2, f1 * 7, z});
    }
    check_against_brute_force(slab, 5.0, 300);
    // wire: periodic along b only, short (rc larger than the period)
    System wire;
    wire.cell = {20, 0, 0, 0, 3, 0, 1, 0, 20};
    wire.pbc[1] = 1;
    for (int k = 0; k < 30; k++) wire.pos.insert(wire.pos.end(), {6 * u(rng), 3 * u(rng), 6 * u(rng)});
    check_against_brute_force(wire, 4.0, 100);
}

TEST(Neighbor, AtomsOutsideTheCell) {
    std::mt19937 rng(6);
    // fractional coordinates in [-3, 4): the shifts must refer to these
    // positions, not to wrapped copies
    check_against_brute_force(random_box({10, 0, 0, 3, 9, 0, -2, 1, 11}, 100, rng, -3.0, 4.0), 4.5, 300);
    check_against_brute_force(random_box({3.3, 0, 0, 0, 3.3, 0, 0, 0, 3.3}, 3, rng, -2.0, 3.0), 5.0, 100);
}

TEST(Neighbor, ShiftsAreRelativeToGivenPositions) {
    // moving one atom by a lattice vector changes its shifts by that vector but
    // not the vectors
    System sys;
    sys.cell = {5, 0, 0, 0, 5, 0, 0, 0, 5};
    sys.pbc[0] = sys.pbc[1] = sys.pbc[2] = 1;
    sys.pos = {0.5, 0.5, 0.5, 1.5, 0.5, 0.5};
    gb_neighbor_list a = {}, b = {};
    ASSERT_EQ(gb_neighbor_build(&a, sys.pos.data(), 2, sys.cell.data(), sys.pbc, 1.2), GBNET_OK);
    ASSERT_EQ(a.n_edges, 2);
    EXPECT_EQ(a.shift[0], 0);
    sys.pos[3] += 10.0;  // two cells along a
    ASSERT_EQ(gb_neighbor_build(&b, sys.pos.data(), 2, sys.cell.data(), sys.pbc, 1.2), GBNET_OK);
    ASSERT_EQ(b.n_edges, 2);
    EXPECT_EQ(b.neighbor[0], 1);
    EXPECT_EQ(b.shift[0], -2);  // atom 0 sees atom 1 through S = (-2, 0, 0)
    EXPECT_EQ(b.shift[3], 2);
    for (int d = 0; d < 6; d++) EXPECT_NEAR(a.vec[d], b.vec[d], 1e-12);
    gb_neighbor_free(&a);
    gb_neighbor_free(&b);
}

TEST(Neighbor, DeterministicAndReusesMemory) {
    std::mt19937 rng(7);
    System big = random_box({14, 0, 0, 0, 14, 0, 0, 0, 14}, 400, rng);
    System small = random_box({9, 0, 0, 0, 9, 0, 0, 0, 9}, 50, rng);
    gb_neighbor_list nl = {};
    ASSERT_EQ(gb_neighbor_build(&nl, big.pos.data(), big.n(), big.cell.data(), big.pbc, 5.0), GBNET_OK);
    std::vector<Edge> first = edges_of(nl);
    const int *neighbor_buffer = nl.neighbor;
    size_t cap_edges = nl.cap_edges;
    ASSERT_EQ(gb_neighbor_build(&nl, small.pos.data(), small.n(), small.cell.data(), small.pbc, 5.0), GBNET_OK);
    EXPECT_EQ(nl.neighbor, neighbor_buffer);  // smaller list: no reallocation
    EXPECT_EQ(nl.cap_edges, cap_edges);
    EXPECT_EQ(nl.n_atoms, 50);
    ASSERT_EQ(gb_neighbor_build(&nl, big.pos.data(), big.n(), big.cell.data(), big.pbc, 5.0), GBNET_OK);
    std::vector<Edge> again = edges_of(nl);
    ASSERT_EQ(first.size(), again.size());
    for (size_t e = 0; e < first.size(); e++) {
        ASSERT_FALSE(first[e] < again[e] || again[e] < first[e]);
        ASSERT_EQ(first[e].v, again[e].v);  // bitwise identical
    }
    gb_neighbor_free(&nl);
    EXPECT_EQ(nl.neighbor, nullptr);
}

TEST(Neighbor, EmptyAndSingleAtom) {
    gb_neighbor_list nl = {};
    int pbc[3] = {0, 0, 0};
    ASSERT_EQ(gb_neighbor_build(&nl, nullptr, 0, nullptr, pbc, 5.0), GBNET_OK);
    EXPECT_EQ(nl.n_edges, 0);
    EXPECT_EQ(nl.offsets[0], 0);
    double one[3] = {1, 2, 3};
    ASSERT_EQ(gb_neighbor_build(&nl, one, 1, nullptr, pbc, 5.0), GBNET_OK);
    EXPECT_EQ(nl.n_edges, 0);
    gb_neighbor_free(&nl);
}

TEST(Neighbor, RejectsBadInput) {
    gb_neighbor_list nl = {};
    double pos[6] = {0, 0, 0, 1, 0, 0};
    double cell[9] = {4, 0, 0, 0, 4, 0, 0, 0, 4};
    double flat[9] = {4, 0, 0, 0, 4, 0, 2, 2, 0};
    int pbc[3] = {1, 1, 1};
    EXPECT_EQ(gb_neighbor_build(&nl, pos, -1, cell, pbc, 5.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gb_neighbor_build(&nl, pos, 2, cell, pbc, 0.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gb_neighbor_build(&nl, pos, 2, cell, pbc, -1.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gb_neighbor_build(&nl, pos, 2, cell, pbc, NAN), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(gb_neighbor_build(&nl, pos, 2, flat, pbc, 5.0), GBNET_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gbnet_last_error()).find("singular"), std::string::npos) << gbnet_last_error();
    EXPECT_EQ(gb_neighbor_build(&nl, pos, 2, nullptr, pbc, 5.0), GBNET_ERR_INVALID_ARGUMENT);
    pos[4] = NAN;
    EXPECT_EQ(gb_neighbor_build(&nl, pos, 2, cell, pbc, 5.0), GBNET_ERR_NUMERIC);
    EXPECT_NE(std::string(gbnet_last_error()).find("atom 1"), std::string::npos) << gbnet_last_error();
    gb_neighbor_free(&nl);
}

TEST(Neighbor, LargeWaterDensityBox) {
    // 12288 atoms at liquid-water number density (0.1003 / A^3): the build
    // runs the multi-threaded path; a sample of centers is checked against
    // brute force.
    std::mt19937 rng(8);
    double length = std::cbrt(12288 / 0.1003);
    System sys = random_box({length, 0, 0, 0, length, 0, 0, 0, length}, 12288, rng);
    gb_neighbor_list nl = {};
    ASSERT_EQ(gb_neighbor_build(&nl, sys.pos.data(), sys.n(), sys.cell.data(), sys.pbc, 6.0), GBNET_OK);
    double mean = (double)nl.n_edges / sys.n();
    EXPECT_NEAR(mean, 0.1003 * 4.0 / 3.0 * M_PI * 216.0, 2.0);
    std::vector<int> centers;
    for (int k = 0; k < 40; k++) centers.push_back((int)(rng() % 12288));
    std::sort(centers.begin(), centers.end());
    centers.erase(std::unique(centers.begin(), centers.end()), centers.end());
    std::vector<Edge> want = brute_force(sys, 6.0, &centers);
    std::vector<Edge> got;
    for (int i : centers)
        for (int e = nl.offsets[i]; e < nl.offsets[i + 1]; e++)
            got.push_back(Edge{i, nl.neighbor[e], {nl.shift[3 * e], nl.shift[3 * e + 1], nl.shift[3 * e + 2]},
                               {nl.vec[3 * e], nl.vec[3 * e + 1], nl.vec[3 * e + 2]}});
    ASSERT_EQ(got.size(), want.size());
    for (size_t e = 0; e < got.size(); e++) {
        ASSERT_FALSE(got[e] < want[e] || want[e] < got[e]) << "edge " << e;
        for (int d = 0; d < 3; d++) ASSERT_NEAR(got[e].v[d], want[e].v[d], 1e-10);
    }
    gb_neighbor_free(&nl);
}

}  // namespace
