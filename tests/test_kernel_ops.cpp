// Every kernel of net/kernels.h as one table (in the manner of ggml's
// test-backend-ops): each row runs a kernel in float and in double on the
// same random inputs and compares it with its reference (its plain twin, or
// plain loops written here), and each backward or tangent kernel also with
// central finite differences of the forward it differentiates, in double.
// Segmented kernels are run on 1 and 3 threads and must agree bitwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "test_util.h"

extern "C" {
#include "kernels.h"
}

namespace {

// gb_name(T{}) is gb_name_f32 or gb_name_f64
#define PICK(name)                                   \
    inline auto name(float) { return name##_f32; }  \
    inline auto name(double) { return name##_f64; }
PICK(gb_gemm) PICK(gb_gemm_ref) PICK(gb_linear) PICK(gb_linear_acc) PICK(gb_gemm_tn_acc) PICK(gb_gemm_nn)
PICK(gb_gemm_nn_acc) PICK(gb_colsum_acc) PICK(gb_dot) PICK(gb_ssp_dual) PICK(gb_ssp_backward)
PICK(gb_ssp_dual_backward) PICK(gb_gaussian_rbf) PICK(gb_cosine_cutoff) PICK(gb_cfconv) PICK(gb_cfconv_tangent)
PICK(gb_cfconv_backward) PICK(gb_cfconv_backward_dual) PICK(gb_filter_grad_dual) PICK(gb_edge_dbar_acc)
PICK(gb_table_build) PICK(gb_table_eval) PICK(gb_cfconv_backward_fused) PICK(gb_cfconv_table)
PICK(gb_cfconv_backward_table) PICK(gb_table_cells)
#undef PICK
inline gb_table_f32 make_table(float, const float *coef, int P, double step, double rc) {
    return {coef, P, (float)step, (float)rc};
}
inline gb_table_f64 make_table(double, const double *coef, int P, double step, double rc) {
    return {coef, P, step, rc};
}

template <class T> std::vector<T> random_vector(size_t n, unsigned seed, double lo = -1, double hi = 1) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<T> v(n);
    for (auto &x : v) x = (T)u(g);
    return v;
}

template <class A, class B> double max_rel_diff(const A &a, const B &b) {
    double scale = 1e-30, d = 0;
    for (size_t k = 0; k < a.size(); ++k) scale = std::max(scale, std::fabs((double)b[k]));
    for (size_t k = 0; k < a.size(); ++k) d = std::max(d, std::fabs((double)a[k] - (double)b[k]));
    return d / scale;
}

template <class T> double tolerance() { return sizeof(T) == 4 ? 2e-5 : 1e-12; }

template <class V> double dot(const V &a, const V &b) {
    double s = 0;
    for (size_t k = 0; k < a.size(); ++k) s += (double)a[k] * (double)b[k];
    return s;
}

// A small graph: N atoms, the first NC are centers (the rest ghosts), edges by
// center with random neighbors; in-edge lists by neighbor; every edge its own
// filter row (wrow = e) unless rows are shared.
struct Graph {
    int N = 9, NC = 6, E = 0, F = 5;
    std::vector<int> offsets, neighbor, center, wrow, in_offsets, in_edges, in_center, in_wrow, u_offsets, u_edges;
    int U = 0;
    explicit Graph(bool shared_rows) {
        std::mt19937 g(11);
        offsets.push_back(0);
        for (int i = 0; i < NC; ++i) {
            int deg = 1 + (int)(g() % 4);
            for (int k = 0; k < deg; ++k) {
                neighbor.push_back((int)(g() % N));
                center.push_back(i);
            }
            offsets.push_back((int)neighbor.size());
        }
        E = (int)neighbor.size();
        U = shared_rows ? (E + 1) / 2 : E;
        for (int e = 0; e < E; ++e) wrow.push_back(shared_rows ? e / 2 : e);
        in_offsets.assign(N + 1, 0);
        for (int e = 0; e < E; ++e) in_offsets[neighbor[e] + 1]++;
        for (int j = 0; j < N; ++j) in_offsets[j + 1] += in_offsets[j];
        in_edges.assign(E, 0);
        std::vector<int> fill(in_offsets.begin(), in_offsets.end() - 1);
        for (int e = 0; e < E; ++e) in_edges[fill[neighbor[e]]++] = e;
        for (int q = 0; q < E; ++q) {
            in_center.push_back(center[in_edges[q]]);
            in_wrow.push_back(wrow[in_edges[q]]);
        }
        u_offsets.assign(U + 1, 0);
        for (int e = 0; e < E; ++e) u_offsets[wrow[e] + 1]++;
        for (int u = 0; u < U; ++u) u_offsets[u + 1] += u_offsets[u];
        u_edges.assign(E, 0);
        std::vector<int> ufill(u_offsets.begin(), u_offsets.end() - 1);
        for (int e = 0; e < E; ++e) u_edges[ufill[wrow[e]]++] = e;
    }
};

// m = cfconv(h, W) by plain loops, double
std::vector<double> cfconv_ref(const Graph &g, const std::vector<double> &h, const std::vector<double> &W) {
    std::vector<double> m((size_t)g.NC * g.F, 0.0);
    for (int i = 0; i < g.NC; ++i)
        for (int e = g.offsets[i]; e < g.offsets[i + 1]; ++e)
            for (int f = 0; f < g.F; ++f) m[i * g.F + f] += h[g.neighbor[e] * g.F + f] * W[g.wrow[e] * g.F + f];
    return m;
}

template <class T> std::vector<T> cast(const std::vector<double> &v) { return std::vector<T>(v.begin(), v.end()); }

// ------------------------------------------------------------------ the table

struct Row {
    const char *name;
    std::function<void()> run;  // in float and in double, with EXPECTs
};

template <class T> void gemm_rows() {
    const int M = 70, N = 9, K = 13;  // M > 64: several row blocks
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
            auto A = random_vector<T>((size_t)M * K, 1), B = random_vector<T>((size_t)K * N, 2);
            auto C = random_vector<T>((size_t)M * N, 3), R = C;
            int lda = ta ? M : K, ldb = tb ? K : N;
            gb_gemm(T{})(ta, tb, M, N, K, (T)0.7, A.data(), lda, B.data(), ldb, (T)0.3, C.data(), N);
            gb_gemm_ref(T{})(ta, tb, M, N, K, (T)0.7, A.data(), lda, B.data(), ldb, (T)0.3, R.data(), N);
            EXPECT_LT(max_rel_diff(C, R), tolerance<T>()) << "transA " << ta << " transB " << tb;
        }
    // the named shapes against the reference GEMM
    const int rows = 70, in = 6, out = 4;
    auto X = random_vector<T>((size_t)rows * in, 4), W = random_vector<T>((size_t)out * in, 5);
    auto bias = random_vector<T>(out, 6);
    std::vector<T> Y((size_t)rows * out), R((size_t)rows * out);
    gb_linear(T{})(Y.data(), X.data(), W.data(), bias.data(), rows, 10, in, out);
    gb_gemm_ref(T{})(0, 1, rows, out, in, 1, X.data(), in, W.data(), in, 0, R.data(), out);
    for (int i = 0; i < 10; ++i)
        for (int o = 0; o < out; ++o) R[i * out + o] += bias[o];
    EXPECT_LT(max_rel_diff(Y, R), tolerance<T>()) << "gb_linear";
    auto Yacc = Y, Racc = Y;
    gb_linear_acc(T{})(Yacc.data(), X.data(), W.data(), nullptr, rows, 0, in, out);
    gb_gemm_ref(T{})(0, 1, rows, out, in, 1, X.data(), in, W.data(), in, 1, Racc.data(), out);
    EXPECT_LT(max_rel_diff(Yacc, Racc), tolerance<T>()) << "gb_linear_acc";
    std::vector<T> Ctn((size_t)in * out, (T)0.5), Rtn = Ctn;
    gb_gemm_tn_acc(T{})(Ctn.data(), X.data(), Y.data(), rows, in, out);
    gb_gemm_ref(T{})(1, 0, in, out, rows, 1, X.data(), in, Y.data(), out, 1, Rtn.data(), out);
    EXPECT_LT(max_rel_diff(Ctn, Rtn), tolerance<T>()) << "gb_gemm_tn_acc";
    std::vector<T> Cnn((size_t)rows * in), Rnn((size_t)rows * in);
    gb_gemm_nn(T{})(Cnn.data(), Y.data(), W.data(), rows, out, in);
    gb_gemm_ref(T{})(0, 0, rows, in, out, 1, Y.data(), out, W.data(), in, 0, Rnn.data(), in);
    EXPECT_LT(max_rel_diff(Cnn, Rnn), tolerance<T>()) << "gb_gemm_nn";
    gb_gemm_nn_acc(T{})(Cnn.data(), Y.data(), W.data(), rows, out, in);
    gb_gemm_ref(T{})(0, 0, rows, in, out, 1, Y.data(), out, W.data(), in, 1, Rnn.data(), in);
    EXPECT_LT(max_rel_diff(Cnn, Rnn), tolerance<T>()) << "gb_gemm_nn_acc";
    std::vector<T> cs(out, (T)1);
    std::vector<double> rs(out, 1.0);
    gb_colsum_acc(T{})(cs.data(), Y.data(), rows, out);
    for (int i = 0; i < rows; ++i)
        for (int o = 0; o < out; ++o) rs[o] += Y[i * out + o];
    EXPECT_LT(max_rel_diff(cs, rs), tolerance<T>()) << "gb_colsum_acc";
    EXPECT_NEAR(gb_dot(T{})(X.data(), X.data(), (int)X.size()), dot(X, X), tolerance<T>() * dot(X, X)) << "gb_dot";
}

template <class T> void softplus_rows() {
    // the elementwise kernels against the scalar double reference, over a range
    // that reaches both cut-offs of the exponential and the chunked parallel path
    const size_t n = 40000;
    auto a = random_vector<double>(n, 7, -60, 60), adot = random_vector<double>(n, 8);
    auto ybar = random_vector<double>(n, 9), ydotbar = random_vector<double>(n, 10);
    auto aT = cast<T>(a), adotT = cast<T>(adot), ybarT = cast<T>(ybar), ydotbarT = cast<T>(ydotbar);
    std::vector<double> y(n), ydot(n), back(n), abar(n), adotbar(n);
    for (size_t i = 0; i < n; ++i) {
        double x = (double)aT[i], s = gb_sigmoid_f64(x), ad = (double)adotT[i];
        y[i] = gb_ssp_f64(x);
        ydot[i] = s * ad;
        back[i] = (double)ybarT[i] * s;
        abar[i] = (double)ybarT[i] * s + (double)ydotbarT[i] * s * (1 - s) * ad;
        adotbar[i] = (double)ydotbarT[i] * s;
    }
    std::vector<T> yT(n), ydotT(n), backT(n), abarT(n), adotbarT(n);
    gb_ssp_dual(T{})(yT.data(), ydotT.data(), aT.data(), adotT.data(), n, 2);
    gb_ssp_backward(T{})(backT.data(), ybarT.data(), aT.data(), n, 2);
    gb_ssp_dual_backward(T{})(abarT.data(), adotbarT.data(), ybarT.data(), ydotbarT.data(), aT.data(), adotT.data(),
                              n, 2);
    double tol = sizeof(T) == 4 ? 1e-5 : 1e-14;
    EXPECT_LT(max_rel_diff(yT, y), tol) << "gb_ssp_dual value";
    EXPECT_LT(max_rel_diff(ydotT, ydot), tol) << "gb_ssp_dual tangent";
    EXPECT_LT(max_rel_diff(backT, back), tol) << "gb_ssp_backward";
    EXPECT_LT(max_rel_diff(abarT, abar), tol) << "gb_ssp_dual_backward abar";
    EXPECT_LT(max_rel_diff(adotbarT, adotbar), tol) << "gb_ssp_dual_backward adotbar";
}

// the reverse of (y, ydot) = (ssp(a), sig(a) adot) against finite differences of
// <ybar, y> + <ydotbar, ydot> in a and adot
void softplus_fd_row() {
    const size_t n = 12;
    auto a = random_vector<double>(n, 21, -4, 4), adot = random_vector<double>(n, 22);
    auto ybar = random_vector<double>(n, 23), ydotbar = random_vector<double>(n, 24);
    auto loss = [&](const std::vector<double> &x) {  // x = [a; adot]
        std::vector<double> y(n), yd(n);
        gb_ssp_dual_f64(y.data(), yd.data(), x.data(), x.data() + n, n, 1);
        return dot(ybar, y) + dot(ydotbar, yd);
    };
    std::vector<double> x(a);
    x.insert(x.end(), adot.begin(), adot.end());
    auto fd = fd_gradient(x, loss);
    std::vector<double> abar(n), adotbar(n), g;
    gb_ssp_dual_backward_f64(abar.data(), adotbar.data(), ybar.data(), ydotbar.data(), a.data(), adot.data(), n, 1);
    g = abar;
    g.insert(g.end(), adotbar.begin(), adotbar.end());
    EXPECT_LT(max_rel_diff(g, fd), 1e-8) << "gb_ssp_dual_backward vs finite differences";
    std::vector<double> back(n);
    gb_ssp_backward_f64(back.data(), ybar.data(), a.data(), n, 1);
    auto loss_y = [&](const std::vector<double> &x) {
        std::vector<double> y(n);
        gb_ssp_dual_f64(y.data(), nullptr, x.data(), nullptr, n, 1);
        return dot(ybar, y);
    };
    EXPECT_LT(max_rel_diff(back, fd_gradient(a, loss_y)), 1e-8) << "gb_ssp_backward vs finite differences";
}

template <class T> void radial_rows() {
    const int K = 20;
    const double rc = 5, spacing = rc / (K - 1), inv_w2 = 1 / (spacing * spacing);
    for (double d : {0.3, 1.7, 2.95, 4.9}) {
        std::vector<T> g(K), dg(K);
        gb_gaussian_rbf(T{})(g.data(), dg.data(), (T)d, (T)spacing, (T)inv_w2, K);
        std::vector<double> gr(K), dgr(K), gp(K), gm(K), tmp(K), fd(K);
        gb_gaussian_rbf_f64(gr.data(), dgr.data(), d, spacing, inv_w2, K);
        double h = 1e-6;
        gb_gaussian_rbf_f64(gp.data(), tmp.data(), d + h, spacing, inv_w2, K);
        gb_gaussian_rbf_f64(gm.data(), tmp.data(), d - h, spacing, inv_w2, K);
        for (int k = 0; k < K; ++k) fd[k] = (gp[k] - gm[k]) / (2 * h);
        EXPECT_LE(max_rel_diff(g, gr), sizeof(T) == 4 ? 1e-5 : 0) << "gb_gaussian_rbf at " << d;
        EXPECT_LE(max_rel_diff(dg, dgr), sizeof(T) == 4 ? 1e-5 : 0) << "gb_gaussian_rbf slope at " << d;
        EXPECT_LT(max_rel_diff(dgr, fd), 1e-8) << "gb_gaussian_rbf slope vs finite differences at " << d;
        T fc, dfc;
        double fcr, dfcr, fp, fm, t;
        gb_cosine_cutoff(T{})(&fc, &dfc, (T)d, (T)rc);
        gb_cosine_cutoff_f64(&fcr, &dfcr, d, rc);
        gb_cosine_cutoff_f64(&fp, &t, d + h, rc);
        gb_cosine_cutoff_f64(&fm, &t, d - h, rc);
        EXPECT_NEAR(fc, fcr, 1e-6) << "gb_cosine_cutoff at " << d;
        EXPECT_NEAR(dfc, dfcr, 1e-6) << "gb_cosine_cutoff slope at " << d;
        EXPECT_NEAR(dfcr, (fp - fm) / (2 * h), 1e-8) << "gb_cosine_cutoff slope vs finite differences at " << d;
    }
}

// cfconv, its tangent, its backward and dual backward, the filter gradient and
// the edge-length gradient, in float and double against double loops
template <class T> void cfconv_rows(bool shared) {
    Graph g(shared);
    const int F = g.F;
    auto h = random_vector<double>((size_t)g.N * F, 31), hdot = random_vector<double>((size_t)g.N * F, 32);
    auto W = random_vector<double>((size_t)g.U * F, 33), dW = random_vector<double>((size_t)g.U * F, 34);
    auto ddot = random_vector<double>(g.E, 35), mbar = random_vector<double>((size_t)g.NC * F, 36);
    auto mdotbar = random_vector<double>((size_t)g.NC * F, 37);
    auto hT = cast<T>(h), hdotT = cast<T>(hdot), WT = cast<T>(W), dWT = cast<T>(dW), ddotT = cast<T>(ddot);
    auto mbarT = cast<T>(mbar), mdotbarT = cast<T>(mdotbar);
    // the double reference: m, mdot and the four gradients by plain loops
    std::vector<double> m = cfconv_ref(g, h, W), mdot((size_t)g.NC * F, 0.0);
    std::vector<double> hbar((size_t)g.N * F, 0.0), hbar_dual((size_t)g.N * F, 0.0), hdotbar((size_t)g.N * F, 0.0);
    std::vector<double> Wbar((size_t)g.U * F, 0.0), dWbar((size_t)g.U * F, 0.0), dbar(g.E, 0.0);
    for (int e = 0; e < g.E; ++e) {
        int c = g.center[e], j = g.neighbor[e], u = g.wrow[e];
        for (int f = 0; f < F; ++f) {
            mdot[c * F + f] += hdot[j * F + f] * W[u * F + f] + h[j * F + f] * dW[u * F + f] * ddot[e];
            hbar[j * F + f] += mbar[c * F + f] * W[u * F + f];
            hbar_dual[j * F + f] += mbar[c * F + f] * W[u * F + f] + mdotbar[c * F + f] * dW[u * F + f] * ddot[e];
            hdotbar[j * F + f] += mdotbar[c * F + f] * W[u * F + f];
            Wbar[u * F + f] += mbar[c * F + f] * h[j * F + f] + mdotbar[c * F + f] * hdot[j * F + f];
            dWbar[u * F + f] += ddot[e] * mdotbar[c * F + f] * h[j * F + f];
            dbar[e] += mbar[c * F + f] * h[j * F + f] * dW[u * F + f];
        }
    }
    double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
    for (int nt : {1, 3}) {
        std::vector<T> mT((size_t)g.NC * F), mdotT((size_t)g.NC * F), hbT((size_t)g.N * F), hbdT((size_t)g.N * F),
            hdbT((size_t)g.N * F), WbT((size_t)g.U * F), dWbT((size_t)g.U * F);
        std::vector<double> dbT(g.E, 0.0), dbin(g.E, 0.0), dbin_perm(g.E);
        std::vector<T> hbfT((size_t)g.N * F);
        gb_cfconv(T{})(mT.data(), hT.data(), WT.data(), g.wrow.data(), g.offsets.data(), g.neighbor.data(), g.NC, F, nt);
        gb_cfconv_tangent(T{})(mdotT.data(), hT.data(), hdotT.data(), WT.data(), dWT.data(), g.wrow.data(),
                               ddotT.data(), g.offsets.data(), g.neighbor.data(), g.NC, F, nt);
        gb_cfconv_backward(T{})(hbT.data(), mbarT.data(), WT.data(), g.wrow.data(), g.center.data(),
                                g.in_offsets.data(), g.in_edges.data(), g.N, F, nt);
        gb_cfconv_backward_dual(T{})(hbdT.data(), hdbT.data(), mbarT.data(), mdotbarT.data(), WT.data(), dWT.data(),
                                     g.wrow.data(), ddotT.data(), g.center.data(), g.in_offsets.data(),
                                     g.in_edges.data(), g.N, F, nt);
        gb_filter_grad_dual(T{})(WbT.data(), dWbT.data(), mbarT.data(), mdotbarT.data(), hT.data(), hdotT.data(),
                                 ddotT.data(), g.center.data(), g.neighbor.data(), g.u_offsets.data(),
                                 g.u_edges.data(), g.U, F, nt);
        gb_edge_dbar_acc(T{})(dbT.data(), mbarT.data(), hT.data(), dWT.data(), g.wrow.data(), g.center.data(),
                              g.neighbor.data(), g.E, F, nt);
        gb_cfconv_backward_fused(T{})(hbfT.data(), dbin.data(), mbarT.data(), hT.data(), WT.data(), dWT.data(),
                                      g.in_wrow.data(), g.in_center.data(), g.in_offsets.data(), g.N, F, nt);
        for (int q = 0; q < g.E; ++q) dbin_perm[g.in_edges[q]] = dbin[q];
        std::string at = std::string(shared ? "shared rows" : "a row per edge") + ", " + std::to_string(nt) + "T";
        EXPECT_LT(max_rel_diff(mT, m), tol) << "gb_cfconv, " << at;
        EXPECT_LT(max_rel_diff(mdotT, mdot), tol) << "gb_cfconv_tangent, " << at;
        EXPECT_LT(max_rel_diff(hbT, hbar), tol) << "gb_cfconv_backward, " << at;
        EXPECT_LT(max_rel_diff(hbdT, hbar_dual), tol) << "gb_cfconv_backward_dual hbar, " << at;
        EXPECT_LT(max_rel_diff(hdbT, hdotbar), tol) << "gb_cfconv_backward_dual hdotbar, " << at;
        EXPECT_LT(max_rel_diff(WbT, Wbar), tol) << "gb_filter_grad_dual Wbar, " << at;
        EXPECT_LT(max_rel_diff(dWbT, dWbar), tol) << "gb_filter_grad_dual dWbar, " << at;
        EXPECT_LT(max_rel_diff(dbT, dbar), tol) << "gb_edge_dbar_acc, " << at;
        // the fused kernel against its twins, bitwise in the same precision order
        EXPECT_LT(max_rel_diff(hbfT, hbT), tol) << "gb_cfconv_backward_fused hbar vs gb_cfconv_backward, " << at;
        EXPECT_LT(max_rel_diff(dbin_perm, dbT), tol) << "gb_cfconv_backward_fused dbar vs gb_edge_dbar_acc, " << at;
    }
}

// the double reference loops above are the derivatives of cfconv: finite
// differences of L = <mbar, m> + <mdotbar, mdot> in h, hdot, W and dW
void cfconv_fd_row() {
    Graph g(true);
    const int F = g.F;
    size_t nh = (size_t)g.N * F, nw = (size_t)g.U * F;
    auto x0 = random_vector<double>(2 * nh + 2 * nw, 41);  // [h; hdot; W; dW]
    auto ddot = random_vector<double>(g.E, 42), mbar = random_vector<double>((size_t)g.NC * F, 43);
    auto mdotbar = random_vector<double>((size_t)g.NC * F, 44);
    auto loss = [&](const std::vector<double> &x) {
        const double *h = x.data(), *hdot = h + nh, *W = hdot + nh, *dW = W + nw;
        std::vector<double> m((size_t)g.NC * F), mdot((size_t)g.NC * F);
        gb_cfconv_f64(m.data(), h, W, g.wrow.data(), g.offsets.data(), g.neighbor.data(), g.NC, F, 1);
        gb_cfconv_tangent_f64(mdot.data(), h, hdot, W, dW, g.wrow.data(), ddot.data(), g.offsets.data(),
                              g.neighbor.data(), g.NC, F, 1);
        return dot(mbar, m) + dot(mdotbar, mdot);
    };
    auto fd = fd_gradient(x0, loss);
    const double *h = x0.data(), *hdot = h + nh, *W = hdot + nh, *dW = W + nw;
    std::vector<double> hb(nh), hdb(nh), Wb(nw), dWb(nw), grad;
    gb_cfconv_backward_dual_f64(hb.data(), hdb.data(), mbar.data(), mdotbar.data(), W, dW, g.wrow.data(), ddot.data(),
                                g.center.data(), g.in_offsets.data(), g.in_edges.data(), g.N, F, 1);
    gb_filter_grad_dual_f64(Wb.data(), dWb.data(), mbar.data(), mdotbar.data(), h, hdot, ddot.data(), g.center.data(),
                            g.neighbor.data(), g.u_offsets.data(), g.u_edges.data(), g.U, F, 1);
    for (auto *v : {&hb, &hdb, &Wb, &dWb}) grad.insert(grad.end(), v->begin(), v->end());
    EXPECT_LT(max_rel_diff(grad, fd), 1e-8) << "dual backward and filter gradient vs finite differences";
    // dE/dd per edge: W_e(d) = W + (d - d0) dW along each edge's own row
    Graph one(false);
    size_t n1 = (size_t)one.E * F;
    auto W1 = random_vector<double>(n1, 45), dW1 = random_vector<double>(n1, 46);
    auto h1 = random_vector<double>((size_t)one.N * F, 47), mbar1 = random_vector<double>((size_t)one.NC * F, 48);
    auto loss_d = [&](const std::vector<double> &d) {
        std::vector<double> Wd(W1);
        for (int e = 0; e < one.E; ++e)
            for (int f = 0; f < F; ++f) Wd[e * F + f] += d[e] * dW1[e * F + f];
        std::vector<double> m((size_t)one.NC * F);
        gb_cfconv_f64(m.data(), h1.data(), Wd.data(), one.wrow.data(), one.offsets.data(), one.neighbor.data(), one.NC,
                      F, 1);
        return dot(mbar1, m);
    };
    std::vector<double> dbar(one.E, 0.0);
    gb_edge_dbar_acc_f64(dbar.data(), mbar1.data(), h1.data(), dW1.data(), one.wrow.data(), one.center.data(),
                         one.neighbor.data(), one.E, F, 1);
    EXPECT_LT(max_rel_diff(dbar, fd_gradient(std::vector<double>(one.E, 0.0), loss_d)), 1e-8)
        << "gb_edge_dbar_acc vs finite differences";
}

// the table: nodes reproduced, slope = finite differences of the value, and
// the inline-table kernels against table_eval + their exact twins
template <class T> void table_rows() {
    const int P = 41, F = 4;
    const double rc = 4.0, step = rc / (P - 1);
    std::vector<double> values((size_t)P * F), derivs((size_t)P * F);
    for (int p = 0; p < P; ++p)
        for (int f = 0; f < F; ++f) {
            double d = p * step, a = 0.7 + 0.3 * f, fc = 0.5 * (std::cos(M_PI * d / rc) + 1);
            double dfc = -0.5 * M_PI / rc * std::sin(M_PI * d / rc);
            values[p * F + f] = std::sin(a * d) * fc;
            derivs[p * F + f] = a * std::cos(a * d) * fc + std::sin(a * d) * dfc;
        }
    std::vector<T> coef((size_t)(P - 1) * 4 * F);
    gb_table_build(T{})(coef.data(), values.data(), derivs.data(), P, F, step);
    auto tab = make_table(T{}, coef.data(), P, step, rc);
    double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
    for (int p = 0; p < P - 1; p += 7) {
        std::vector<T> W(F), dW(F);
        gb_table_eval(T{})(W.data(), dW.data(), &tab, (T)(p * step), F);
        for (int f = 0; f < F; ++f) {
            EXPECT_NEAR(W[f], values[p * F + f], tol) << "gb_table_eval node " << p;
            EXPECT_NEAR(dW[f], derivs[p * F + f], 10 * tol) << "gb_table_eval slope at node " << p;
        }
    }
    if constexpr (std::is_same_v<T, double>)
        for (double d : {0.33, 1.234, 3.9}) {
            std::vector<double> W(F), dW(F), Wp(F), Wm(F);
            double h = 1e-6;
            gb_table_eval_f64(W.data(), dW.data(), &tab, d, F);
            gb_table_eval_f64(Wp.data(), nullptr, &tab, d + h, F);
            gb_table_eval_f64(Wm.data(), nullptr, &tab, d - h, F);
            for (int f = 0; f < F; ++f) EXPECT_NEAR(dW[f], (Wp[f] - Wm[f]) / (2 * h), 1e-7) << "table slope at " << d;
        }
    // inline-table cfconv and backward against gb_table_eval + the exact kernels
    Graph g(false);  // its CSR lists, with F = 4 features here
    auto d = random_vector<T>(g.E, 51, 0.5, 4.2);  // some beyond the cutoff: zero filter
    std::vector<T> Wrows((size_t)g.E * F), dWrows((size_t)g.E * F), in_d(g.E);
    for (int e = 0; e < g.E; ++e) gb_table_eval(T{})(&Wrows[e * F], &dWrows[e * F], &tab, d[e], F);
    for (int q = 0; q < g.E; ++q) in_d[q] = d[g.wrow[g.in_edges[q]]];
    std::vector<T> de(g.E), cell_u(g.E), in_u(g.E);  // each edge's length and table position
    std::vector<int> cell(g.E), in_cell(g.E);
    for (int e = 0; e < g.E; ++e) de[e] = d[g.wrow[e]];
    gb_table_cells(T{})(cell.data(), cell_u.data(), &tab, de.data(), g.E, 3);
    gb_table_cells(T{})(in_cell.data(), in_u.data(), &tab, in_d.data(), g.E, 1);
    auto h = random_vector<T>((size_t)g.N * F, 52), mbar = random_vector<T>((size_t)g.NC * F, 53);
    for (int nt : {1, 3}) {
        std::vector<T> m1((size_t)g.NC * F), m2((size_t)g.NC * F), hb1((size_t)g.N * F), hb2((size_t)g.N * F);
        std::vector<double> db1(g.E, 0.0), db2(g.E, 0.0);
        gb_cfconv_table(T{})(m1.data(), h.data(), &tab, cell.data(), cell_u.data(), g.offsets.data(),
                             g.neighbor.data(), g.NC, F, nt);
        gb_cfconv(T{})(m2.data(), h.data(), Wrows.data(), g.wrow.data(), g.offsets.data(), g.neighbor.data(), g.NC, F,
                       nt);
        gb_cfconv_backward_table(T{})(hb1.data(), db1.data(), mbar.data(), h.data(), &tab, in_cell.data(),
                                      in_u.data(), g.in_center.data(), g.in_offsets.data(), g.N, F, nt);
        gb_cfconv_backward_fused(T{})(hb2.data(), db2.data(), mbar.data(), h.data(), Wrows.data(), dWrows.data(),
                                      g.in_wrow.data(), g.in_center.data(), g.in_offsets.data(), g.N, F, nt);
        EXPECT_LT(max_rel_diff(m1, m2), tol) << "gb_cfconv_table vs gb_table_eval + gb_cfconv, " << nt << "T";
        EXPECT_LT(max_rel_diff(hb1, hb2), tol) << "gb_cfconv_backward_table hbar vs the fused kernel, " << nt << "T";
        EXPECT_LT(max_rel_diff(db1, db2), 10 * tol) << "gb_cfconv_backward_table dbar vs the fused kernel, " << nt
                                                    << "T";
    }
}

// segmented kernels give the same bits on any thread count
template <class T> void thread_rows() {
    Graph g(true);
    const int F = g.F;
    auto h = random_vector<T>((size_t)g.N * F, 61), W = random_vector<T>((size_t)g.U * F, 62);
    auto mbar = random_vector<T>((size_t)g.NC * F, 63);
    std::vector<T> m1((size_t)g.NC * F), m3((size_t)g.NC * F), b1((size_t)g.N * F), b3((size_t)g.N * F);
    gb_cfconv(T{})(m1.data(), h.data(), W.data(), g.wrow.data(), g.offsets.data(), g.neighbor.data(), g.NC, F, 1);
    gb_cfconv(T{})(m3.data(), h.data(), W.data(), g.wrow.data(), g.offsets.data(), g.neighbor.data(), g.NC, F, 3);
    gb_cfconv_backward(T{})(b1.data(), mbar.data(), W.data(), g.wrow.data(), g.center.data(), g.in_offsets.data(),
                            g.in_edges.data(), g.N, F, 1);
    gb_cfconv_backward(T{})(b3.data(), mbar.data(), W.data(), g.wrow.data(), g.center.data(), g.in_offsets.data(),
                            g.in_edges.data(), g.N, F, 3);
    EXPECT_EQ(m1, m3) << "gb_cfconv on 1 and 3 threads";
    EXPECT_EQ(b1, b3) << "gb_cfconv_backward on 1 and 3 threads";
}

const std::vector<Row> &rows() {
    static const std::vector<Row> table = {
        {"gemm_and_named_shapes", [] { gemm_rows<float>(), gemm_rows<double>(); }},
        {"softplus_family", [] { softplus_rows<float>(), softplus_rows<double>(); }},
        {"softplus_backward_vs_fd", [] { softplus_fd_row(); }},
        {"radial_basis_and_cutoff", [] { radial_rows<float>(), radial_rows<double>(); }},
        {"cfconv_family_row_per_edge", [] { cfconv_rows<float>(false), cfconv_rows<double>(false); }},
        {"cfconv_family_shared_rows", [] { cfconv_rows<float>(true), cfconv_rows<double>(true); }},
        {"cfconv_backward_vs_fd", [] { cfconv_fd_row(); }},
        {"tabulated_filter", [] { table_rows<float>(), table_rows<double>(); }},
        {"thread_count_invariance", [] { thread_rows<float>(), thread_rows<double>(); }},
    };
    return table;
}

class KernelOps : public ::testing::TestWithParam<size_t> {};

TEST_P(KernelOps, MatchesReferenceAndFiniteDifferences) { rows()[GetParam()].run(); }

INSTANTIATE_TEST_SUITE_P(Table, KernelOps, ::testing::Range<size_t>(0, rows().size()),
                         [](const ::testing::TestParamInfo<size_t> &info) { return rows()[info.param].name; });

}  // namespace
