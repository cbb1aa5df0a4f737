// Tabulated filters: interpolation against the exact filter network, whole
// structures against the exact model (the target: force RMS
// deviation < 1 meV/A), fused kernels against their reference twins, and the
// table surviving a save/load round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
#include "kernels.h"
#include "model.h"
}

namespace {

gbnet_model *water_model(int F = 32) { return small_model(small_hyperparams(F, 3, 50, F / 2, 5.0, {8, 1}), 99); }

struct Pred {
    double energy;
    std::vector<double> forces;
};

Pred predict(const gbnet_model *m, const gbnet_frame &f, gbnet_precision prec) {
    gbnet_workspace *ws = nullptr;
    EXPECT_EQ(gbnet_workspace_create(&ws, m, prec), GBNET_OK);
    std::vector<int> species(f.n_atoms);
    for (int i = 0; i < f.n_atoms; ++i) species[i] = gbnet_model_element_of_z(m, f.z[i]);
    gbnet_structure s{};
    s.n_atoms = f.n_atoms;
    s.species = species.data();
    s.positions = f.pos;
    s.cell = f.has_cell ? f.cell : nullptr;
    for (int c = 0; c < 3; ++c) s.pbc[c] = f.pbc[c];
    Pred p;
    p.forces.resize(3 * f.n_atoms);
    gbnet_result r{};
    r.forces = p.forces.data();
    EXPECT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
    p.energy = r.energy;
    gbnet_workspace_free(ws);
    return p;
}

}  // namespace

TEST(Tabulate, TableInterpolatesTheFilterAndItsDerivative) {
    gbnet_model *m = water_model(16);
    ASSERT_EQ(gbnet_model_tabulate(m, GBNET_DEFAULT_TABLE_POINTS), GBNET_OK);
    const gb_filter_table *t = m->table;
    int F = 16, P = t->n_points;
    std::vector<double> coef((size_t)(P - 1) * 4 * F);
    gb_table_build_f64(coef.data(), t->values, t->derivs, P, F, 5.0 / (P - 1));
    gb_table_f64 tab{coef.data(), P, 5.0 / (P - 1), 5.0};
    // a second table on a grid twice as fine gives the exact values at the midpoints
    gbnet_model *fine = water_model(16);
    ASSERT_EQ(gbnet_model_tabulate(fine, 2 * P - 1), GBNET_OK);
    double worst = 0, worst_d = 0, scale = 0;
    for (int p = 1; p < P - 2; p += 7) {
        std::vector<double> w(F), dw(F);
        gb_table_eval_f64(w.data(), dw.data(), &tab, (p + 0.5) * tab.step, F);
        const double *exact = fine->table->values + (size_t)(2 * p + 1) * F;
        const double *exact_d = fine->table->derivs + (size_t)(2 * p + 1) * F;
        for (int f = 0; f < F; ++f) {
            worst = std::max(worst, std::fabs(w[f] - exact[f]));
            worst_d = std::max(worst_d, std::fabs(dw[f] - exact_d[f]));
            scale = std::max(scale, std::fabs(exact[f]));
        }
    }
    EXPECT_LT(worst, 1e-6 * scale);
    EXPECT_LT(worst_d, 1e-3 * scale);
    // at grid points the interpolant takes the sampled values and derivatives
    for (int p = 3; p < P - 1; p += 101) {
        std::vector<double> w2(F), dw2(F);
        gb_table_eval_f64(w2.data(), dw2.data(), &tab, p * tab.step, F);
        for (int f = 0; f < F; ++f) {
            EXPECT_NEAR(w2[f], t->values[(size_t)p * F + f], 1e-12 * scale);
            EXPECT_NEAR(dw2[f], t->derivs[(size_t)p * F + f], 1e-9 * scale);
        }
    }
    // beyond the cutoff the filter is exactly zero
    std::vector<double> w(F), dw(F);
    gb_table_eval_f64(w.data(), dw.data(), &tab, 5.0, F);
    for (int f = 0; f < F; ++f) EXPECT_EQ(w[f], 0.0);
    gbnet_model_free(m);
    gbnet_model_free(fine);
}

TEST(Tabulate, ForcesAndEnergiesStayWithinAMeVOfTheExactModel) {
    gbnet_dataset ds{};
    ASSERT_EQ(gbnet_read_extxyz(&ds, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
    gbnet_model *exact = water_model(32);
    gbnet_model *tab = nullptr;
    ASSERT_EQ(gbnet_model_clone(&tab, exact), GBNET_OK);
    ASSERT_EQ(gbnet_model_tabulate(tab, GBNET_DEFAULT_TABLE_POINTS), GBNET_OK);
    double se = 0, worst = 0, worst_e = 0;
    long n = 0;
    for (int k = 0; k < 4; ++k) {
        const gbnet_frame &f = ds.frames[k * 97];
        for (gbnet_precision prec : {GBNET_DOUBLE, GBNET_FLOAT}) {
            Pred a = predict(exact, f, GBNET_DOUBLE), b = predict(tab, f, prec);
            worst_e = std::max(worst_e, std::fabs(a.energy - b.energy) / f.n_atoms);
            for (size_t c = 0; c < a.forces.size(); ++c) {
                double d = a.forces[c] - b.forces[c];
                se += d * d;
                worst = std::max(worst, std::fabs(d));
                ++n;
            }
        }
    }
    double rms = std::sqrt(se / n);
    EXPECT_LT(rms, 1e-3) << "force RMS deviation, eV/A";
    EXPECT_LT(worst, 1e-2) << "max force deviation, eV/A";
    EXPECT_LT(worst_e, 1e-4) << "energy deviation, eV/atom";
    RecordProperty("force_rms_dev_eV_per_A", std::to_string(rms));
    printf("tabulated vs exact: force RMS %.3g eV/A, max %.3g eV/A, energy max %.3g eV/atom\n", rms, worst, worst_e);
    gbnet_model_free(exact);
    gbnet_model_free(tab);
    gbnet_dataset_free(&ds);
}

TEST(Tabulate, FusedKernelsMatchTheirReferenceTwins) {
    gbnet_model *m = water_model(8);
    ASSERT_EQ(gbnet_model_tabulate(m, 301), GBNET_OK);
    const int F = 8, N = 5;
    // a small graph: every ordered pair, lengths from a fixed list
    std::vector<int> offsets{0}, neighbor, center, wrow;
    std::vector<double> d;
    for (int i = 0; i < N; ++i) {
        for (int j = 0; j < N; ++j)
            if (i != j) {
                neighbor.push_back(j);
                center.push_back(i);
                wrow.push_back((int)d.size());
                d.push_back(0.4 + 0.37 * ((i * 7 + j * 3) % 13));
            }
        offsets.push_back((int)neighbor.size());
    }
    int E = (int)neighbor.size();
    std::vector<int> in_off(N + 1, 0), in_e;
    for (int j = 0; j < N; ++j) {
        for (int e = 0; e < E; ++e)
            if (neighbor[e] == j) in_e.push_back(e);
        in_off[j + 1] = (int)in_e.size();
    }
    std::vector<double> coef((size_t)300 * 4 * F);
    gb_table_build_f64(coef.data(), m->table->values, m->table->derivs, 301, F, 5.0 / 300);
    gb_table_f64 tab{coef.data(), 301, 5.0 / 300, 5.0};
    std::vector<double> h(N * F), mbar(N * F), W(E * F), dW(E * F);
    for (int k = 0; k < N * F; ++k) {
        h[k] = std::sin(0.3 * k + 1);
        mbar[k] = std::cos(0.7 * k);
    }
    for (int e = 0; e < E; ++e) gb_table_eval_f64(&W[e * F], &dW[e * F], &tab, d[e], F);
    std::vector<double> m1(N * F), m2(N * F), hb1(N * F), hb2(N * F), hb3(N * F), db1(E, 0.0), db2(E, 0.0), db3(E, 0.0);
    gb_cfconv_f64(m1.data(), h.data(), W.data(), wrow.data(), offsets.data(), neighbor.data(), N, F, 1);
    std::vector<double> de(E), cell_u(E), in_u(E);  // each edge's length, its table position
    std::vector<int> cell(E), in_cell(E);
    for (int e = 0; e < E; ++e) de[e] = d[wrow[e]];
    gb_table_cells_f64(cell.data(), cell_u.data(), &tab, de.data(), E, 2);
    gb_cfconv_table_f64(m2.data(), h.data(), &tab, cell.data(), cell_u.data(), offsets.data(), neighbor.data(), N, F, 2);
    for (int k = 0; k < N * F; ++k) EXPECT_NEAR(m1[k], m2[k], 1e-14);
    gb_cfconv_backward_f64(hb1.data(), mbar.data(), W.data(), wrow.data(), center.data(), in_off.data(), in_e.data(), N,
                           F, 1);
    gb_edge_dbar_acc_f64(db1.data(), mbar.data(), h.data(), dW.data(), wrow.data(), center.data(), neighbor.data(), E, F,
                         1);
    std::vector<double> in2(E, 0.0), in3(E, 0.0);  // dE/dd in in-edge order
    std::vector<int> in_center(E), in_wrow(E);      // per in-edge, in in-edge order
    std::vector<double> in_d(E);
    for (int q = 0; q < E; ++q) {
        in_center[q] = center[in_e[q]];
        in_wrow[q] = wrow[in_e[q]];
        in_d[q] = d[wrow[in_e[q]]];
    }
    gb_cfconv_backward_fused_f64(hb2.data(), in2.data(), mbar.data(), h.data(), W.data(), dW.data(), in_wrow.data(),
                                 in_center.data(), in_off.data(), N, F, 2);
    gb_table_cells_f64(in_cell.data(), in_u.data(), &tab, in_d.data(), E, 1);
    gb_cfconv_backward_table_f64(hb3.data(), in3.data(), mbar.data(), h.data(), &tab, in_cell.data(), in_u.data(),
                                 in_center.data(), in_off.data(), N, F, 2);
    for (int q = 0; q < E; ++q) {
        db2[in_e[q]] = in2[q];
        db3[in_e[q]] = in3[q];
    }
    for (int k = 0; k < N * F; ++k) {
        EXPECT_NEAR(hb1[k], hb2[k], 1e-14);
        EXPECT_NEAR(hb1[k], hb3[k], 1e-14);
    }
    for (int e = 0; e < E; ++e) {
        EXPECT_NEAR(db1[e], db2[e], 1e-13);
        EXPECT_NEAR(db1[e], db3[e], 1e-13);
    }
    gbnet_model_free(m);
}

TEST(Tabulate, TableSurvivesSaveAndLoadBitwise) {
    gbnet_dataset ds{};
    ASSERT_EQ(gbnet_read_extxyz(&ds, data_path("deepmd_water/deepmd_water.extxyz").c_str()), GBNET_OK);
    gbnet_model *m = water_model(16);
    ASSERT_EQ(gbnet_model_tabulate(m, 777), GBNET_OK);
    std::string path = temp_dir() + "/tab.gbnet";
    ASSERT_EQ(gbnet_model_save(m, path.c_str()), GBNET_OK) << gbnet_last_error();
    gbnet_model *back = nullptr;
    ASSERT_EQ(gbnet_model_load(&back, path.c_str()), GBNET_OK) << gbnet_last_error();
    ASSERT_TRUE(gbnet_model_is_tabulated(back));
    Pred a = predict(m, ds.frames[3], GBNET_FLOAT), b = predict(back, ds.frames[3], GBNET_FLOAT);
    EXPECT_EQ(a.energy, b.energy);
    for (size_t c = 0; c < a.forces.size(); ++c) EXPECT_EQ(a.forces[c], b.forces[c]);
    gbnet_model_free(m);
    gbnet_model_free(back);
    gbnet_dataset_free(&ds);
}
