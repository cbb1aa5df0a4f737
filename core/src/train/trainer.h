/* The training loop of `gbnet train`: normalization, packing, steps with
 * exact gradients, Adam/AdamW, learning-rate schedule, early stopping,
 * gradient clipping, NaN/Inf guard, best model, CSV log and checkpoints.
 *
 * Reproducibility: the shuffle of epoch e depends only on (seed, e), packs
 * of a step are summed in a fixed order, and everything the loop carries
 * from step to step is in the checkpoint, so a resumed run gives the same
 * later losses as an uninterrupted one with the same thread count.
 *
 * The library prints nothing: progress goes through the hooks. */
#ifndef GB_TRAINER_H
#define GB_TRAINER_H

#include "checkpoint.h"
#include "gbnet_train.h"
#include "train_config.h"
#include "train_data.h"

const gb_train_data *gb_trainer_data(const gbnet_trainer *t);
const gb_train_state *gb_trainer_state(const gbnet_trainer *t);
/* Packing of the training set: capacity and efficiency (fractions). */
void gb_trainer_packing(const gbnet_trainer *t, int *cap_atoms, int *cap_edges, double *atom_efficiency,
                        double *edge_efficiency, int *packs_per_step);

#endif
