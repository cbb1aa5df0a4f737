// The training loss: its full gradient (energy + forces + stress terms)
// against finite differences of the loss in double precision, on real
// labelled frames (ethanol molecules and small skewed tantalum cells), and the
// static-shape (masked, padded) mode against the normal mode.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.h"

extern "C" {
#include "gbnet_data.h"
#include "gbnet.h"
#include "loss.h"
#include "model.h"
#include "workspace.h"
}

namespace {

struct LossFixture : ::testing::Test {
    gbnet_dataset ds{};
    gbnet_model *model = nullptr;
    gbnet_workspace *ws = nullptr;
    std::vector<gb_sample> samples;
    gb_batch_buffer bb{};

    void SetUp() override {
        ASSERT_EQ(gbnet_read_extxyz(&ds, data_path("rmd17_ethanol/rmd17_ethanol_train.extxyz").c_str()), GBNET_OK);
        int n_eth = ds.n_frames;
        ASSERT_EQ(gbnet_read_extxyz(&ds, data_path("fitsnap_ta/fitsnap_ta.extxyz").c_str()), GBNET_OK);
        model = small_model(small_hyperparams(5, 2, 4, 3, 3.5, {1, 6, 8, 73}), 7);
        ASSERT_NE(model, nullptr);
        // references near the data so the energy residuals are O(1)
        double eref[4] = {-13.6, -1025.3, -2035.6, -11.8};
        ASSERT_EQ(gbnet_model_set_normalization(model, 0.8, 0.1, eref), GBNET_OK);
        ASSERT_EQ(gbnet_workspace_create(&ws, model, GBNET_DOUBLE), GBNET_OK);
        // two ethanol frames and two small strained Ta cells with stress labels
        std::vector<int> picks = {0, 1};
        for (int f = n_eth; f < ds.n_frames && picks.size() < 4; ++f) {
            const gbnet_frame &fr = ds.frames[f];
            if (fr.has_virial && fr.n_atoms <= 4 && fr.energy / fr.n_atoms < -10.5) picks.push_back(f);
        }
        ASSERT_EQ(picks.size(), 4u);
        samples.resize(picks.size());
        for (size_t k = 0; k < picks.size(); ++k)
            ASSERT_EQ(gb_sample_init(&samples[k], &ds.frames[picks[k]], model, 0.1), GBNET_OK) << gbnet_last_error();
    }
    void TearDown() override {
        for (auto &s : samples) gb_sample_free(&s);
        gb_batch_buffer_free(&bb);
        gbnet_workspace_free(ws);
        gbnet_model_free(model);
        gbnet_dataset_free(&ds);
    }
    std::vector<const gb_sample *> ptrs() {
        std::vector<const gb_sample *> p;
        for (auto &s : samples) p.push_back(&s);
        return p;
    }
    double loss(const gb_loss_weights &w, double *grad, int sa = 0, int se = 0) {
        gb_loss_stats stats{};
        auto p = ptrs();
        EXPECT_EQ(gb_pack_loss(ws, &bb, p.data(), (int)p.size(), &w, 0.25, sa, se, grad, &stats, nullptr, nullptr),
                  GBNET_OK)
            << gbnet_last_error();
        return stats.loss;
    }
};

}  // namespace

TEST_F(LossFixture, FullGradientMatchesFiniteDifferences) {
    gb_loss_weights w = {1.0, 3.0, 0.02};
    size_t P = model->layout.total;
    std::vector<double> grad(P, 0.0);
    double L0 = loss(w, grad.data());
    ASSERT_GT(L0, 0.0);
    std::vector<double> params(model->params, model->params + P);
    double max_g = 0;
    for (double g : grad) max_g = std::max(max_g, std::fabs(g));
    const double h = 1e-6;
    for (size_t k = 0; k < P; ++k) {
        std::vector<double> p = params;
        p[k] += h;
        gb_ws_load_params(ws, p.data());
        double lp = loss(w, nullptr);
        p[k] -= 2 * h;
        gb_ws_load_params(ws, p.data());
        double lm = loss(w, nullptr);
        EXPECT_NEAR(grad[k], (lp - lm) / (2 * h), 2e-6 * max_g) << "parameter " << k;
    }
}

TEST_F(LossFixture, EachTermAloneMatchesFiniteDifferences) {
    const gb_loss_weights terms[3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    size_t P = model->layout.total;
    std::vector<double> params(model->params, model->params + P);
    for (const auto &w : terms) {
        gb_ws_load_params(ws, params.data());
        std::vector<double> grad(P, 0.0);
        loss(w, grad.data());
        double max_g = 0;
        for (double g : grad) max_g = std::max(max_g, std::fabs(g));
        ASSERT_GT(max_g, 0.0);
        const double h = 1e-6;
        for (size_t k = 0; k < P; k += 3) {
            std::vector<double> p = params;
            p[k] += h;
            gb_ws_load_params(ws, p.data());
            double lp = loss(w, nullptr);
            p[k] -= 2 * h;
            gb_ws_load_params(ws, p.data());
            double lm = loss(w, nullptr);
            EXPECT_NEAR(grad[k], (lp - lm) / (2 * h), 2e-6 * max_g)
                << "weights " << w.w_energy << " " << w.w_forces << " " << w.w_stress << " parameter " << k;
        }
    }
}

TEST_F(LossFixture, StaticShapeModeGivesTheSameLossAndGradient) {
    gb_loss_weights w = {1.0, 3.0, 0.02};
    size_t P = model->layout.total;
    std::vector<double> g1(P, 0.0), g2(P, 0.0);
    double l1 = loss(w, g1.data());
    int atoms = 0, edges = 0;
    for (auto &s : samples) {
        atoms += s.frame->n_atoms;
        edges += s.nl.n_edges;
    }
    double l2 = loss(w, g2.data(), atoms + 13, edges + 101);
    EXPECT_NEAR(l1, l2, 1e-12 * std::fabs(l1));
    for (size_t k = 0; k < P; ++k) EXPECT_NEAR(g1[k], g2[k], 1e-12 * (std::fabs(g1[k]) + 1e-12)) << k;
}
