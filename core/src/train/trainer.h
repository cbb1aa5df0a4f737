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

#include <signal.h>

#include "checkpoint.h"
#include "train_config.h"
#include "train_data.h"

/* One finished epoch. Errors are NAN where the data has no such labels. */
typedef struct {
    int epoch;                  /* 1-based; 0: evaluation before training */
    int n_epochs;
    long long global_step;
    double lr;                  /* learning rate used in this epoch */
    double train_loss, valid_loss;
    double train_energy_rmse, valid_energy_rmse; /* meV/atom */
    double train_force_rmse, valid_force_rmse;   /* meV/A */
    double train_stress_rmse, valid_stress_rmse; /* GPa */
    double valid_energy_mae, valid_force_mae;    /* meV/atom, meV/A */
    double elapsed, eta;        /* seconds: training so far, estimate for the rest */
    double structures_per_s, atoms_per_s;        /* training throughput of this epoch */
    int improved;               /* new best validation loss: the model file was written */
} gb_epoch_report;

typedef struct {
    void *ctx;
    /* a line of information (data, packing, normalization, stops) */
    void (*message)(void *ctx, const char *text);
    void (*epoch_done)(void *ctx, const gb_epoch_report *report);
    /* after every optimizer step (epoch and step 0-based, loss of the step) */
    void (*step_done)(void *ctx, int epoch, int step, double loss);
    /* when nonzero the loop writes a checkpoint at the next step boundary and
     * returns GBNET_ERR_INTERRUPTED (set it from a signal handler) */
    volatile sig_atomic_t *stop_request;
} gb_train_hooks;

typedef struct gb_trainer gb_trainer;

/* Reads and checks the data, fits the normalization, creates the model and
 * chooses the packing. With resume_path, model, optimizer and counters come
 * from that checkpoint instead. Fails before any training on bad data. */
gbnet_status gb_trainer_create(gb_trainer **out, const gb_train_config *config, const char *resume_path,
                               const char *command_line, const gb_train_hooks *hooks);
/* Trains until epochs, early stopping, time_limit or a stop request
 * (GBNET_ERR_INTERRUPTED, after writing the checkpoint). A NaN/Inf fails with
 * GBNET_ERR_NUMERIC naming epoch and step; the last checkpoint is kept. */
gbnet_status gb_trainer_run(gb_trainer *t);
void gb_trainer_free(gb_trainer *t);

const gb_train_data *gb_trainer_data(const gb_trainer *t);
const gbnet_model *gb_trainer_model(const gb_trainer *t);
const gb_train_state *gb_trainer_state(const gb_trainer *t);
/* Packing of the training set: capacity and efficiency (fractions). */
void gb_trainer_packing(const gb_trainer *t, int *cap_atoms, int *cap_edges, double *atom_efficiency,
                        double *edge_efficiency, int *packs_per_step);

#endif
