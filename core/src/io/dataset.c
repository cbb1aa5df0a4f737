/* Dataset bookkeeping shared by the readers: frame batches, metadata,
 * freeing, and choosing a reader for a path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gbnet_data.h"
#include "dataset_build.h"
#include "gb_error.h"

gbnet_frame *gb_frame_batch_new_frame(gb_frame_batch *batch) {
    size_t needed = (size_t)(batch->n_frames + 1) * sizeof(gbnet_frame);
    if (!gb_reserve((void **)&batch->frames, &batch->capacity_bytes, needed)) return NULL;
    gbnet_frame *frame = &batch->frames[batch->n_frames++];
    memset(frame, 0, sizeof *frame);
    return frame;
}

const char *gb_frame_batch_add_source(gb_frame_batch *batch, const char *name) {
    char **grown = realloc(batch->sources, (size_t)(batch->n_sources + 1) * sizeof(char *));
    if (!grown) {
        gb_fail(GBNET_ERR_NO_MEMORY, "out of memory adding source %s", name);
        return NULL;
    }
    batch->sources = grown;
    char *copy = gb_copy_text(name, strlen(name));
    if (!copy) return NULL;
    batch->sources[batch->n_sources++] = copy;
    return copy;
}

gbnet_status gb_frame_batch_commit(gbnet_dataset *ds, gb_frame_batch *batch) {
    if (batch->n_frames > 0) {
        gbnet_frame *frames =
            realloc(ds->frames, (size_t)(ds->n_frames + batch->n_frames) * sizeof(gbnet_frame));
        if (!frames) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory appending frames");
        ds->frames = frames;
    }
    if (batch->n_sources > 0) {
        char **sources =
            realloc(ds->sources, (size_t)(ds->n_sources + batch->n_sources) * sizeof(char *));
        if (!sources) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory appending sources");
        ds->sources = sources;
    }
    if (batch->n_frames > 0)
        memcpy(ds->frames + ds->n_frames, batch->frames, (size_t)batch->n_frames * sizeof(gbnet_frame));
    if (batch->n_sources > 0)
        memcpy(ds->sources + ds->n_sources, batch->sources,
               (size_t)batch->n_sources * sizeof(char *));
    ds->n_frames += batch->n_frames;
    ds->n_sources += batch->n_sources;
    free(batch->frames);
    free(batch->sources);
    memset(batch, 0, sizeof *batch);
    return GBNET_OK;
}

void gb_frame_batch_free(gb_frame_batch *batch) {
    for (int i = 0; i < batch->n_frames; i++) gb_frame_clear(&batch->frames[i]);
    for (int i = 0; i < batch->n_sources; i++) free(batch->sources[i]);
    free(batch->frames);
    free(batch->sources);
    memset(batch, 0, sizeof *batch);
}

void gb_frame_clear(gbnet_frame *frame) {
    free(frame->z);
    free(frame->pos);
    free(frame->forces);
    free(frame->config_type);
    free(frame->subset);
    for (int i = 0; i < frame->n_info; i++) {
        free(frame->info[i].key);
        free(frame->info[i].value);
    }
    free(frame->info);
    memset(frame, 0, sizeof *frame);
}

gbnet_status gb_frame_set_info(gbnet_frame *frame, const char *key, const char *value,
                               size_t value_len) {
    char *value_copy = gb_copy_text(value, value_len);
    if (!value_copy) return GBNET_ERR_NO_MEMORY;
    for (int i = 0; i < frame->n_info; i++) {
        if (strcmp(frame->info[i].key, key) == 0) {
            free(frame->info[i].value);
            frame->info[i].value = value_copy;
            return GBNET_OK;
        }
    }
    char *key_copy = gb_copy_text(key, strlen(key));
    gbnet_kv *info = key_copy ? realloc(frame->info, (size_t)(frame->n_info + 1) * sizeof(gbnet_kv)) : NULL;
    if (!info) {
        free(key_copy);
        free(value_copy);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory storing key %s", key);
    }
    frame->info = info;
    frame->info[frame->n_info].key = key_copy;
    frame->info[frame->n_info].value = value_copy;
    frame->n_info++;
    return GBNET_OK;
}

const char *gbnet_frame_info(const gbnet_frame *f, const char *key) {
    if (!f || !key) return NULL;
    if (strcmp(key, "config_type") == 0) return f->config_type;
    if (strcmp(key, "subset") == 0) return f->subset;
    for (int i = 0; i < f->n_info; i++)
        if (strcmp(f->info[i].key, key) == 0) return f->info[i].value;
    return NULL;
}

void gb_dataset_truncate(gbnet_dataset *ds, int n_frames, int n_sources) {
    for (int i = n_frames; i < ds->n_frames; i++) gb_frame_clear(&ds->frames[i]);
    for (int i = n_sources; i < ds->n_sources; i++) free(ds->sources[i]);
    if (n_frames < ds->n_frames) ds->n_frames = n_frames;
    if (n_sources < ds->n_sources) ds->n_sources = n_sources;
}

void gbnet_dataset_free(gbnet_dataset *ds) {
    if (!ds) return;
    gb_dataset_truncate(ds, 0, 0);
    free(ds->frames);
    free(ds->sources);
    memset(ds, 0, sizeof *ds);
}

static int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

gbnet_status gbnet_dataset_read(gbnet_dataset *ds, const char *path) {
    if (!ds || !path) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_dataset_read: NULL argument");
    if (is_directory(path)) return gbnet_read_deepmd(ds, path);
    return gbnet_read_extxyz(ds, path);
}
