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
} gb_train_data;

/* Reads and splits the data and checks labels and elements; messages name
 * the file, line and frame. d must be zero-initialised. */
gbnet_status gb_train_data_load(gb_train_data *d, const gbnet_train_config *c);
/* Builds the samples for model (neighbor lists at its cutoff), checking for
 * atoms closer than min_distance. */
gbnet_status gb_train_data_build(gb_train_data *d, const gbnet_model *model, double min_distance);
void gb_train_data_free(gb_train_data *d);

/* 1-based position of frame f among the frames of its own file. */
int gb_frame_number(const gbnet_dataset *ds, const gbnet_frame *f);

#endif
