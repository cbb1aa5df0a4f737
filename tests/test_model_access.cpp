// The public read access to the weights (gbnet_model_params,
// gbnet_model_filter_table) that evaluators outside the core use
// (pair_style gbnet/kk). Checked through the public API only: the energy of
// a lone atom, computed here by hand from the blob at the offsets of
// docs/potential-format.md, equals gbnet_evaluate's; the table's last grid
// point (d = rc) is zero because the cutoff is included.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gbnet.h"
#include "test_util.h"

namespace {

double ssp(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))) - std::log(2.0); }

TEST(ModelAccess, ParamsBlobFollowsTheDocumentedLayout) {
    const int F = 6, T = 2, K = 5, R = 3;
    gbnet_model *model = small_model(small_hyperparams(F, T, K, R, 3.0, {8, 1}), 77, 1.7, 0.2, {-3.0, -0.5});
    ASSERT_NE(model, nullptr);
    const double *p = gbnet_model_params(model);
    ASSERT_NE(p, nullptr);
    const int n = 2;
    size_t expected = (size_t)n * F + (size_t)T * (F * K + 4 * F * F + 4 * F) + (size_t)R * F + 2 * R + 1;
    ASSERT_EQ(gbnet_model_n_params(model), expected);

    // A lone H atom (element 1) without periodic images has no edges, so each
    // block adds W_o2 ssp(b_o1) + b_o2 (m = 0), then the readout.
    size_t off = 0;
    const double *emb = p + off;
    off += (size_t)n * F;
    std::vector<double> x(emb + 1 * F, emb + 2 * F);
    for (int t = 0; t < T; ++t) {
        off += (size_t)F * K + F + (size_t)F * F + F + (size_t)F * F;  // filter1_w/b, filter2_w/b, in_w
        const double *out1_w = p + off;
        (void)out1_w;
        off += (size_t)F * F;
        const double *out1_b = p + off;
        off += F;
        const double *out2_w = p + off;
        off += (size_t)F * F;
        const double *out2_b = p + off;
        off += F;
        for (int o = 0; o < F; ++o) {
            double s = out2_b[o];
            for (int i = 0; i < F; ++i) s += out2_w[o * F + i] * ssp(out1_b[i]);
            x[o] += s;
        }
    }
    const double *r1w = p + off, *r1b = r1w + (size_t)R * F, *r2w = r1b + R, *r2b = r2w + R;
    ASSERT_EQ((size_t)(r2b + 1 - p), expected);
    double eps = r2b[0];
    for (int r = 0; r < R; ++r) {
        double a = r1b[r];
        for (int i = 0; i < F; ++i) a += r1w[r * F + i] * x[i];
        eps += r2w[r] * ssp(a);
    }
    double by_hand = 1.7 * eps + 0.2 - 0.5;

    gbnet_workspace *ws = nullptr;
    ASSERT_EQ(gbnet_workspace_create(&ws, model, GBNET_DOUBLE), GBNET_OK);
    int species = 1;
    double pos[3] = {0, 0, 0};
    gbnet_structure s = {1, &species, pos, nullptr, {0, 0, 0}};
    gbnet_result r = {};
    ASSERT_EQ(gbnet_evaluate(ws, 1, &s, &r), GBNET_OK) << gbnet_last_error();
    EXPECT_NEAR(r.energy, by_hand, 1e-12 * std::fabs(by_hand));
    gbnet_workspace_free(ws);
    gbnet_model_free(model);
}

TEST(ModelAccess, FilterTableIsExposedOnlyWhenTabulated) {
    const int F = 4, T = 2, P = 17;
    gbnet_model *model = small_model(small_hyperparams(F, T, 5, 2, 3.0, {1}), 5);
    ASSERT_NE(model, nullptr);
    const double *values = reinterpret_cast<const double *>(1), *derivs = values;
    EXPECT_EQ(gbnet_model_filter_table(model, &values, &derivs), 0);
    EXPECT_EQ(values, nullptr);
    EXPECT_EQ(derivs, nullptr);

    ASSERT_EQ(gbnet_model_tabulate(model, P), GBNET_OK) << gbnet_last_error();
    ASSERT_EQ(gbnet_model_filter_table(model, &values, &derivs), P);
    ASSERT_NE(values, nullptr);
    ASSERT_NE(derivs, nullptr);
    EXPECT_EQ(gbnet_model_filter_table(model, nullptr, nullptr), P);
    double largest = 0;
    for (int t = 0; t < T; ++t)
        for (int f = 0; f < F; ++f) {
            // W_t(rc) = 0 and dW_t/dd(rc) = 0: the cosine cutoff and its slope vanish there
            EXPECT_EQ(values[((size_t)t * P + (P - 1)) * F + f], 0.0);
            EXPECT_NEAR(derivs[((size_t)t * P + (P - 1)) * F + f], 0.0, 1e-12);
            largest = std::max(largest, std::fabs(values[((size_t)t * P + 0) * F + f]));
        }
    EXPECT_GT(largest, 0.0);  // at d = 0 the filter is not all zero
    gbnet_model_untabulate(model);
    EXPECT_EQ(gbnet_model_filter_table(model, &values, &derivs), 0);
    EXPECT_EQ(values, nullptr);
    gbnet_model_free(model);
}

}  // namespace
