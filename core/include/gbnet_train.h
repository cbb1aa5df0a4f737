/* gbnet_train.h: training a gbnet potential from labelled data
 * (docs/training.md). A configuration holds every key of a `gbnet train`
 * config file, from the file, from "key=value" assignments, or both; a
 * trainer reads the data, fits the normalization, trains with exact force
 * and stress gradients, writes the best model, a CSV log and checkpoints,
 * and reports progress through callbacks. Nothing is printed.
 *
 *     gbnet_train_config *c;  gbnet_train_config_create(&c);
 *     gbnet_train_config_read(c, "train.cfg");          // optional
 *     gbnet_train_config_set(c, "epochs=100");          // optional
 *     gbnet_train_config_check(c);
 *     gbnet_trainer *t;  gbnet_trainer_create(&t, c, NULL, "my program", &callbacks);
 *     gbnet_trainer_run(t);   // GBNET_ERR_INTERRUPTED after *stop_request, with a checkpoint
 *     gbnet_trainer_free(t);  gbnet_train_config_free(c);
 */
#ifndef GBNET_TRAIN_H
#define GBNET_TRAIN_H

#include <signal.h>
#include <stddef.h>

#include "gbnet.h"
#include "gbnet_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------- configuration */

typedef struct gbnet_train_config gbnet_train_config;

/* A configuration with every key at its default. */
gbnet_status gbnet_train_config_create(gbnet_train_config **out);
void gbnet_train_config_free(gbnet_train_config *c);
/* Reads a config file (`key = value` lines, # comments) over c; relative
 * paths in it are relative to its folder. Errors name file and line, and an
 * unknown key suggests the closest one. */
gbnet_status gbnet_train_config_read(gbnet_train_config *c, const char *path);
/* Applies one "key=value" assignment (relative paths: to the current folder). */
gbnet_status gbnet_train_config_set(gbnet_train_config *c, const char *assignment);
/* Cross-key checks (e.g. one validation method); messages name the lines. */
gbnet_status gbnet_train_config_check(const gbnet_train_config *c);
/* Whether key was given (in the file or by an assignment) rather than defaulted. */
int gbnet_train_config_is_set(const gbnet_train_config *c, const char *key);
/* The value of key as its config-file text (paths resolved) into value[size];
 * GBNET_ERR_INVALID_ARGUMENT for an unknown key or a value that does not fit. */
gbnet_status gbnet_train_config_get(const gbnet_train_config *c, const char *key, char *value, size_t size);
/* Writes the effective configuration as `key = value` lines into text
 * (what provenance and checkpoints record). Returns the length needed. */
size_t gbnet_train_config_format(const gbnet_train_config *c, char *text, size_t size);

typedef struct {
    const char *name;
    const char *type;         /* "integer", "number", "text", "path", "paths", "bool", or "a|b" */
    const char *default_text; /* "" for empty */
    const char *unit;         /* "" if none */
    const char *description;
} gbnet_train_key;

/* The configuration keys, in documentation order (`gbnet train --list-keys`, docs/training.md). */
int gbnet_train_n_keys(void);
const gbnet_train_key *gbnet_train_key_at(int index);

/* ---------------------------------------------------------------- trainer */

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
} gbnet_epoch_report;

typedef struct {
    void *ctx;
    /* a line of information (data, packing, normalization, stops) */
    void (*message)(void *ctx, const char *text);
    void (*epoch_done)(void *ctx, const gbnet_epoch_report *report);
    /* after every optimizer step (epoch and step 0-based, loss of the step) */
    void (*step_done)(void *ctx, int epoch, int step, double loss);
    /* when nonzero the loop writes a checkpoint at the next step boundary and
     * returns GBNET_ERR_INTERRUPTED (set it from a signal handler) */
    volatile sig_atomic_t *stop_request;
} gbnet_train_callbacks;

typedef struct gbnet_trainer gbnet_trainer;

/* Reads and checks the data, fits the normalization, creates the model and
 * chooses the packing. With resume_path, model, optimizer and counters come
 * from that checkpoint instead. Fails before any training on bad data. */
gbnet_status gbnet_trainer_create(gbnet_trainer **out, const gbnet_train_config *config, const char *resume_path,
                               const char *command_line, const gbnet_train_callbacks *callbacks);
/* Trains until epochs, early stopping, time_limit or a stop request
 * (GBNET_ERR_INTERRUPTED, after writing the checkpoint). A NaN/Inf fails with
 * GBNET_ERR_NUMERIC naming epoch and step; the last checkpoint is kept. */
gbnet_status gbnet_trainer_run(gbnet_trainer *t);
void gbnet_trainer_free(gbnet_trainer *t);

const gbnet_model *gbnet_trainer_model(const gbnet_trainer *t);

/* Where a trainer stands (after gbnet_trainer_create, and after a run). */
typedef struct {
    int epoch;                  /* epochs completed */
    long long global_step;      /* optimizer steps taken */
    double best_valid_loss;
    int best_epoch;
    int n_train, n_valid;       /* structures */
    long long train_atoms, valid_atoms;
    int train_has_stress;       /* some training structure has a virial and a cell */
} gbnet_train_summary;
void gbnet_trainer_summary(const gbnet_trainer *t, gbnet_train_summary *out);
/* Validation structure i (0 <= i < n_valid), in file order. */
const gbnet_frame *gbnet_trainer_valid_frame(const gbnet_trainer *t, int i);

/* ------------------------------------------- reference energies (init) */

/* Per-element reference energies fitted by linear least squares, and the
 * energy normalization (shift, scale) that follows from them:
 *     E_frame ~ sum_e count_e * e_ref[e]
 *     residual per atom r_f = (E_f - sum_e count_e e_ref[e]) / N_f
 *     shift = mean_f r_f, scale = std_f r_f                                    */
typedef struct {
    double e_ref[GBNET_MAX_ELEMENTS]; /* eV, model element order */
    double shift;                     /* eV/atom */
    double scale;                     /* eV/atom; 1 when the residuals do not define one */
    int n_frames;                     /* frames with an energy label that were used */
    int rank_deficient;               /* compositions linearly dependent: e_ref closest to equal */
    int scale_defaulted;              /* scale set to 1 (fewer than 2 frames, or all residuals equal) */
} gbnet_reference_fit;

/* Fits e_ref, shift and scale for the elements of hp on the frames of ds that
 * have an energy. Every model element must occur in one of them, and every
 * atom must be a model element (errors name the file and line). When the
 * compositions cannot separate the elements (e.g. every frame is (H2O)_64),
 * the solution closest to equal references (the trainer's choice,
 * gb_fit_normalization) is returned and rank_deficient is set. */
gbnet_status gbnet_fit_reference_energies(gbnet_reference_fit *fit, const gbnet_dataset *ds, const gbnet_hyperparams *hp);

#ifdef __cplusplus
}
#endif

#endif
