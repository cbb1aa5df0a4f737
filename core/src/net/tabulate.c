/* Tabulated filters (`gbnet compress --tabulate`): each block's filter
 * network W_t(d) (cutoff included) and its derivative are sampled exactly on
 * a uniform grid in d; evaluation then interpolates with cubic Hermite
 * polynomials (schnet_impl.h, filter_table), which match value and first
 * derivative at every grid point, so the tabulated filter is C1 in d and the
 * forces stay continuous. The interpolation error scales as step^4. */
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "kernels.h"
#include "model.h"

gbnet_status gbnet_model_tabulate(gbnet_model *m, int n_points) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "tabulate: model is NULL");
    if (n_points < 16 || n_points > 1000000)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "tabulate: the grid needs 16..1000000 points, got %d", n_points);
    const gbnet_hyperparams *hp = &m->hp;
    const gb_layout *L = &m->layout;
    int F = hp->n_features, K = hp->n_rbf, T = hp->n_blocks, P = n_points;
    double rc = hp->cutoff, step = rc / (P - 1), spacing = rc / (K - 1), inv_w2 = 1 / (spacing * spacing);
    size_t PF = (size_t)P * F;
    gb_filter_table *tab = gb_calloc(1, sizeof *tab);
    double *gd = gb_malloc(2 * (size_t)P * K * sizeof(double));
    double *fc = gb_malloc(2 * (size_t)P * sizeof(double));
    double *a = gb_malloc(2 * PF * sizeof(double)), *s = gb_malloc(2 * PF * sizeof(double));
    double *u = gb_malloc(2 * PF * sizeof(double));
    if (tab) {
        tab->values = gb_malloc((size_t)T * PF * sizeof(double));
        tab->derivs = gb_malloc((size_t)T * PF * sizeof(double));
    }
    if (!tab || !tab->values || !tab->derivs || !gd || !fc || !a || !s || !u) {
        if (tab) {
            free(tab->values);
            free(tab->derivs);
        }
        free(tab); free(gd); free(fc); free(a); free(s); free(u);
        return gb_fail(GBNET_ERR_NO_MEMORY, "tabulate: out of memory for %d points", P);
    }
    tab->n_points = P;
    double *dfc = fc + P;
    for (int p = 0; p < P; ++p) {
        double d = p * step;
        gb_gaussian_rbf_f64(gd + (size_t)p * K, gd + ((size_t)P + p) * K, d, spacing, inv_w2, K);
        gb_cosine_cutoff_f64(&fc[p], &dfc[p], d, rc);
    }
    gb_gemm_set_threads(1);
    for (int t = 0; t < T; ++t) {
        const double *w = m->params;
        /* the same stacked evaluation as the exact filter: value rows, then d-derivative rows */
        gb_linear_f64(a, gd, w + L->block[t].filter1_w, w + L->block[t].filter1_b, 2 * P, P, K, F);
        gb_ssp_dual_f64(s, s + PF, a, a + PF, PF, 1);
        gb_linear_f64(u, s, w + L->block[t].filter2_w, w + L->block[t].filter2_b, 2 * P, P, F, F);
        double *V = tab->values + (size_t)t * PF, *D = tab->derivs + (size_t)t * PF;
        for (int p = 0; p < P; ++p)
            for (int f = 0; f < F; ++f) {
                size_t o = (size_t)p * F + f;
                V[o] = u[o] * fc[p];
                D[o] = u[PF + o] * fc[p] + u[o] * dfc[p];
            }
    }
    free(gd); free(fc); free(a); free(s); free(u);
    if (m->table) {
        free(m->table->values);
        free(m->table->derivs);
        free(m->table);
    }
    m->table = tab;
    return GBNET_OK;
}

void gbnet_model_untabulate(gbnet_model *m) {
    if (!m || !m->table) return;
    free(m->table->values);
    free(m->table->derivs);
    free(m->table);
    m->table = NULL;
}
