/* Training checkpoints: model (hyperparameters, normalization, parameters),
 * optimizer moments, the trainer's counters and schedule state, the RNG state
 * and the configuration text, with an FNV-1a 64 checksum over all of it.
 *
 * Written atomically: a temporary file in the same folder, fsync, rename,
 * then fsync of the folder, so a kill at any moment leaves either the old or
 * the new checkpoint, never a torn one. Binary, native byte order
 * (little-endian on every platform gbnet builds on), checked by magic,
 * version, size and checksum. */
#ifndef GB_CHECKPOINT_H
#define GB_CHECKPOINT_H

#include <stdint.h>

#include "gbnet.h"
#include "loss.h"
#include "optimizer.h"

/* 2: adds the EMA weights (version 1 files, without them, are still read) */
#define GB_CHECKPOINT_VERSION 2u
/* version 2 plus the ranks of a factored model (written only for those) */
#define GB_CHECKPOINT_VERSION_RANKS 3u

/* Everything the training loop needs to continue exactly. */
typedef struct {
    int epoch;                 /* epoch in progress (0-based) */
    int step;                  /* steps of that epoch already taken */
    long long global_step;     /* optimizer steps in all */
    double lr;                 /* learning rate of the next step */
    double best_valid_loss;    /* best validation loss so far (INFINITY if none) */
    int best_epoch;            /* its epoch (1-based), 0 if none */
    int plateau_wait;          /* epochs since the last improvement or LR reduction */
    int early_wait;            /* epochs since the last improvement */
    int finished;              /* 1 when training ended normally */
    double elapsed;            /* seconds of training so far */
    gb_loss_stats epoch_stats; /* training statistics of the epoch's steps taken */
    uint64_t rng[4];           /* generator state (for anything drawn during training) */
    double *ema;               /* [n_params] exponential moving average of the weights (heap, owned by
                                  the trainer), NULL when ema_decay = 0 */
} gb_train_state;

/* Writes path atomically. config_text may be NULL. */
gbnet_status gb_checkpoint_write(const char *path, const gbnet_model *model, const gb_optimizer *opt,
                                 const gb_train_state *state, const char *config_text);

/* Reads a checkpoint (state->ema is allocated when the file holds EMA
 * weights; free it): a new model (free with gbnet_model_free), optimizer
 * (initialised here; free with gb_optimizer_free), state, and the config text
 * (heap, may be NULL). A damaged file fails with GBNET_ERR_CHECKSUM or
 * GBNET_ERR_FORMAT naming the file. */
gbnet_status gb_checkpoint_read(const char *path, gbnet_model **model, gb_optimizer *opt, gb_train_state *state,
                                char **config_text);

#endif
