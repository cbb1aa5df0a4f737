/* Extended XYZ files: read, and on success every frame must be well formed
 * (positive atom count, finite coordinates, elements that exist). */
#include <math.h>

#include "fuzz_common.h"
#include "gbnet_data.h"

static void check_frames(const gbnet_dataset *ds) {
    for (int f = 0; f < ds->n_frames; ++f) {
        const gbnet_frame *frame = &ds->frames[f];
        if (frame->n_atoms < 1) __builtin_trap();
        for (int i = 0; i < frame->n_atoms; ++i)
            if (frame->z[i] < 1 || frame->z[i] > 118) __builtin_trap();
        for (int i = 0; i < 3 * frame->n_atoms; ++i) {
            if (!isfinite(frame->pos[i])) __builtin_trap();
            if (frame->forces && !isfinite(frame->forces[i])) __builtin_trap();
        }
        if (frame->has_energy && !isfinite(frame->energy)) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(0, "input.xyz");
    fuzz_write(path, data, size);
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    gbnet_status st = gbnet_read_extxyz(&ds, path);
    if (st == GBNET_OK) check_frames(&ds);
    else fuzz_check_message(gbnet_last_error());
    gbnet_dataset_free(&ds);
    return 0;
}
