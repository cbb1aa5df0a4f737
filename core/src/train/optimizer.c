/* Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019). */
#include "optimizer.h"

#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"

gbnet_status gb_optimizer_init(gb_optimizer *o, gb_optimizer_kind kind, size_t n, double beta1, double beta2,
                               double eps, double weight_decay) {
    memset(o, 0, sizeof *o);
    if (kind != GB_OPTIMIZER_ADAM && kind != GB_OPTIMIZER_ADAMW)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "optimizer: unknown kind %d", (int)kind);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weight_decay >= 0))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "optimizer: bad settings beta1=%g beta2=%g eps=%g decay=%g",
                       beta1, beta2, eps, weight_decay);
    o->kind = kind;
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    o->n = n;
    o->m = gb_calloc(n, sizeof(double));
    o->v = gb_calloc(n, sizeof(double));
    if (!o->m || !o->v) {
        gb_optimizer_free(o);
        return GBNET_ERR_NO_MEMORY;
    }
    return GBNET_OK;
}

/* b^t, or 0 once it would leave the normal range (pow turns subnormal there). */
static double power_or_zero(double b, long long t) {
    return (double)t * log(b) < -700.0 ? 0.0 : pow(b, (double)t);
}

void gb_optimizer_step(gb_optimizer *o, double *params, const double *grad, double lr) {
    o->t++;
    const double b1 = o->beta1, b2 = o->beta2;
    const double correction1 = 1.0 - power_or_zero(b1, o->t), correction2 = 1.0 - power_or_zero(b2, o->t);
    const double step = lr / correction1, inv_sqrt_c2 = 1.0 / sqrt(correction2);
    const int decoupled = o->kind == GB_OPTIMIZER_ADAMW;
    const double wd = o->weight_decay;
    for (size_t k = 0; k < o->n; ++k) {
        double g = grad[k];
        if (!decoupled) g += wd * params[k];
        /* moments of a parameter whose gradient stays 0 (an element absent from
         * the batches) decay geometrically: flushed to 0 before they turn
         * subnormal, which would put every later step on the slow path */
        o->m[k] = gb_normal_f64(b1 * o->m[k] + (1.0 - b1) * g);
        o->v[k] = gb_normal_f64(b2 * o->v[k] + (1.0 - b2) * g * g);
        double update = step * o->m[k] / (sqrt(o->v[k]) * inv_sqrt_c2 + o->eps);
        if (decoupled) params[k] -= lr * wd * params[k];
        params[k] -= update;
    }
}

void gb_optimizer_free(gb_optimizer *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

double gb_vector_norm(const double *g, size_t n) {
    /* scaled sum of squares: no overflow for huge gradients */
    double scale = 0.0, sum = 1.0;
    for (size_t k = 0; k < n; ++k) {
        double a = fabs(g[k]);
        if (a == 0.0) continue;
        if (!isfinite(a)) return a;
        if (a > scale) {
            sum = 1.0 + sum * (scale / a) * (scale / a);
            scale = a;
        } else {
            sum += (a / scale) * (a / scale);
        }
    }
    return scale * sqrt(sum);
}
