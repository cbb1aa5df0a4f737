/* The training configuration: a plain text file of `key = value` lines with
 * `#` comments, plus `--set key=value` overrides. Every key has a type, a
 * default and a one-line description in one table (train_config.c), which
 * also drives `gbnet train --list-keys` and docs/training.md.
 *
 * Errors name the file and line: an unknown key suggests the closest valid
 * key (edit distance), a bad value says what was expected. Relative paths in
 * a file are taken relative to the file's folder; relative paths given with
 * --set relative to the current directory. */
#ifndef GB_TRAIN_CONFIG_H
#define GB_TRAIN_CONFIG_H

#include <stdint.h>

#include "gbnet.h"
#include "gbnet_train.h"

#define GB_CFG_TEXT_MAX 1024

typedef enum { GB_OPTIMIZER_ADAM = 0, GB_OPTIMIZER_ADAMW = 1 } gb_optimizer_kind;
typedef enum { GB_ENERGY_SCALE_STD = 0, GB_ENERGY_SCALE_FORCE_RMS = 1 } gb_energy_scale_mode;
typedef enum { GB_PARALLEL_PACKS = 0, GB_PARALLEL_KERNELS = 1 } gb_parallel_mode;

struct gbnet_train_config {
    /* data */
    char train_data[GB_CFG_TEXT_MAX];  /* whitespace-separated extxyz files / DeePMD folders */
    char valid_data[GB_CFG_TEXT_MAX];  /* same, "" if none */
    double valid_fraction;             /* fraction of train_data held out (by seed) */
    char valid_key[GB_CFG_TEXT_MAX];   /* "key=pattern": frames of train_data matching go to validation */
    char exclude_key[GB_CFG_TEXT_MAX]; /* "key=pattern": frames matching are not used at all */
    uint64_t seed;
    int committee;                     /* members gbnet train trains one after another */
    int committee_bootstrap;           /* bool: each member on a bootstrap resample */
    int committee_member;              /* the member this run trains: offsets the seeds (gb_member_seed) */
    double min_distance;               /* A */
    /* model */
    char elements[GB_CFG_TEXT_MAX];    /* "H C O"; "" = all elements of the data, by atomic number */
    char init_from[GB_CFG_TEXT_MAX];   /* potential file to fine-tune, "" = a new model */
    int features, blocks, rbf, readout;
    double cutoff;                     /* A */
    char rank[GB_CFG_TEXT_MAX];        /* ranks of factored dense layers (gbnet_rank_spec_parse), "" = full */
    gb_energy_scale_mode energy_scale;
    int zbl;                           /* bool: repulsive core (ZBL) under the network */
    double zbl_inner, zbl_outer;       /* A, every element pair; 0: from the shortest trained distance */
    /* loss */
    double w_energy, w_forces, w_stress;
    double stress_max;                 /* GPa: stress labels beyond this are not fitted, 0 = no limit */
    /* batching */
    int batch_size;                    /* structures per optimizer step */
    int pack_atoms;                    /* requested pack capacity in atoms, 0 = automatic */
    int static_shape;                  /* bool: present every pack at exactly its capacity */
    /* optimizer and schedule */
    gb_optimizer_kind optimizer;
    double lr, weight_decay, beta1, beta2, adam_eps;
    double ema_decay;                  /* 0 = no moving average of the weights */
    double lr_decay;                   /* per-epoch factor */
    int lr_plateau_patience;           /* epochs without improvement, 0 = off */
    double lr_plateau_factor, lr_min;
    int epochs, early_stopping_patience;
    double clip_grad_norm;             /* 0 = off */
    double time_limit;                 /* minutes, 0 = none */
    /* running */
    int threads;                       /* 0 = OpenMP default */
    gb_parallel_mode parallel;         /* threads across the packs of a step, or inside kernels */
    gbnet_precision precision;
    int checkpoint_every;              /* epochs, 0 = only on interrupt and at the end */
    char output[GB_CFG_TEXT_MAX];      /* best model (.gbnet) */
    char log[GB_CFG_TEXT_MAX];         /* CSV log, "" = none */
    char checkpoint[GB_CFG_TEXT_MAX];  /* checkpoint file */

    /* where each key was set: line in `source` (0: default, -1: --set) */
    int line[64];
    char source[GB_CFG_TEXT_MAX];
};

/* The seed of weights, shuffling and bootstrap of committee member
 * c->committee_member (the validation split always uses c->seed). */
uint64_t gb_member_seed(const gbnet_train_config *c);

/* Fills c with every key's default. */
void gb_train_config_defaults(gbnet_train_config *c);
/* Parses the text of a config (name used in messages, dir for relative paths). */
gbnet_status gb_train_config_parse(gbnet_train_config *c, const char *text, const char *name, const char *dir);
/* The closest valid key to name (edit distance), or NULL if none is near. */
const char *gb_config_closest_key(const char *name);


/* Parses an element list ("H C O") into atomic numbers; n_out = count. */
gbnet_status gb_config_parse_elements(const char *text, int *atomic_numbers, int *n_out);

#endif
