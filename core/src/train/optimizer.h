/* Adam and AdamW over the model's flat parameter blob. The moments use the
 * blob's layout (model.h), so they can be checkpointed next to it. */
#ifndef GB_OPTIMIZER_H
#define GB_OPTIMIZER_H

#include <stddef.h>

#include "gbnet.h"
#include "train_config.h"

typedef struct {
    gb_optimizer_kind kind;
    double beta1, beta2, eps;
    double weight_decay;  /* adam: added to the gradient (L2); adamw: decoupled */
    size_t n;             /* parameters */
    long long t;          /* steps taken (bias correction) */
    double *m, *v;        /* [n] first and second moments */
} gb_optimizer;

gbnet_status gb_optimizer_init(gb_optimizer *o, gb_optimizer_kind kind, size_t n, double beta1, double beta2,
                               double eps, double weight_decay);
/* One step: params [n] updated from grad [n] with learning rate lr. */
void gb_optimizer_step(gb_optimizer *o, double *params, const double *grad, double lr);
void gb_optimizer_free(gb_optimizer *o);

/* Global L2 norm of g [n]. */
double gb_vector_norm(const double *g, size_t n);

#endif
