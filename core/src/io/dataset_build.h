/* Helpers shared by the dataset readers (extxyz, DeePMD): frames are built in
 * a batch kept apart from the dataset and committed only when a whole file or
 * folder was read, so a failed read leaves the dataset as it was. */
#ifndef GB_DATASET_BUILD_H
#define GB_DATASET_BUILD_H

#include <stddef.h>

#include "gbnet_data.h"
#include "files.h"

typedef struct {
    gbnet_frame *frames;
    int n_frames;
    size_t capacity_bytes;
    char **sources;      /* owned names the frames' source fields point at */
    int n_sources;
} gb_frame_batch;

/* Appends a zeroed frame; NULL (message set) when out of memory. The pointer
 * is valid until the next call. */
gbnet_frame *gb_frame_batch_new_frame(gb_frame_batch *batch);
/* Stores an owned copy of name; NULL (message set) when out of memory. */
const char *gb_frame_batch_add_source(gb_frame_batch *batch, const char *name);
/* Moves all frames and sources into ds and empties the batch. */
gbnet_status gb_frame_batch_commit(gbnet_dataset *ds, gb_frame_batch *batch);
/* Frees everything the batch still holds. */
void gb_frame_batch_free(gb_frame_batch *batch);

/* Frees what a frame owns (arrays, metadata) and zeroes it. */
void gb_frame_clear(gbnet_frame *frame);
/* Sets key to value (last one wins), copying both; value_len bytes of value. */
gbnet_status gb_frame_set_info(gbnet_frame *frame, const char *key, const char *value,
                               size_t value_len);
/* Frees frames [n_frames, ds->n_frames) and sources [n_sources, ds->n_sources). */
void gb_dataset_truncate(gbnet_dataset *ds, int n_frames, int n_sources);


#endif
