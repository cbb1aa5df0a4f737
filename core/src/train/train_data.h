/* The trainer's data: training and validation frames read from the config's
 * files, the validation split (separate files, a fraction by seed, or a
 * per-frame key), bad-data checks before any training, and the labelled
 * samples (element indices + neighbor lists) built once. */
#ifndef GB_TRAIN_DATA_H
#define GB_TRAIN_DATA_H

#include "gbnet_data.h"
#include "loss.h"
#include "train_config.h"

typedef struct {
    gbnet_dataset train_ds;        /* frames of train_data (validation frames may be among them) */
    gbnet_dataset valid_ds;        /* frames of valid_data, if given */
    int n_train, n_valid;
    const gbnet_frame **train;     /* [n_train] in file order */
    const gbnet_frame **valid;     /* [n_valid] in file order */
    gb_sample *train_samples;   /* [n_train], after gb_train_data_build */
    gb_sample *valid_samples;   /* [n_valid] */
    int atomic_numbers[GBNET_MAX_ELEMENTS]; /* model elements in order */
    int n_elements;
    long long train_atoms, valid_atoms;
    int n_excluded;             /* frames left out by exclude_key */
    int n_stress_skipped;       /* frames whose stress is beyond stress_max (not fitted) */
} gb_train_data;

/* Reads and splits the data and checks labels and elements; messages name
 * the file, line and frame. d must be zero-initialised. */
gbnet_status gb_train_data_load(gb_train_data *d, const gbnet_train_config *c);
/* Builds the samples for model (neighbor lists at its cutoff), checking for
 * atoms closer than min_distance; samples whose stress label has a component
 * beyond stress_max GPa (> 0) are marked skip_stress. */
gbnet_status gb_train_data_build(gb_train_data *d, const gbnet_model *model, double min_distance,
                                 double stress_max);
void gb_train_data_free(gb_train_data *d);

/* What the training samples cover (after gb_train_data_build): shortest
 * distance per element pair, volume per atom of fully periodic frames, which
 * labels are fitted with the config's weights. */
void gb_train_data_coverage(const gb_train_data *d, const gbnet_train_config *c, gbnet_coverage *out);
/* The repulsive core's radii from the config (zbl_inner, zbl_outer; 0 means
 * from the shortest trained distance of each pair): inner, outer
 * [n_elements][n_elements]. Fails when they are impossible. */
gbnet_status gb_train_zbl_radii(const gbnet_train_config *c, const gbnet_coverage *coverage, int n_elements,
                                const int *atomic_numbers, double cutoff, double *inner, double *outer);
/* Computes every sample's repulsive-core labels for model. */
gbnet_status gb_train_data_set_repulsion(gb_train_data *d, const gbnet_model *model);

/* 1-based position of frame f among the frames of its own file. */
int gb_frame_number(const gbnet_dataset *ds, const gbnet_frame *f);

#endif
