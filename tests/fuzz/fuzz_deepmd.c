/* DeePMD system folders. The input is split at each "\n--8<--\n" into the
 * folder's files, in this order: type_map.raw, type.raw, set.000/coord.npy,
 * set.000/box.npy, set.000/energy.npy, set.000/force.npy,
 * set.000/virial.npy; a part that is absent or empty is no file, and an
 * eighth part (any content) creates the nopbc marker. On success every frame
 * must be well formed (same checks as the extxyz harness). */
#include <math.h>

#include "fuzz_common.h"
#include "gbnet_data.h"

static const char k_separator[] = "\n--8<--\n";
static const char *const k_files[] = {"type_map.raw",       "type.raw",         "set.000/coord.npy",
                                      "set.000/box.npy",    "set.000/energy.npy", "set.000/force.npy",
                                      "set.000/virial.npy", "nopbc"};
enum { N_FILES = sizeof k_files / sizeof k_files[0] };

static void check_frames(const gbnet_dataset *ds) {
    for (int f = 0; f < ds->n_frames; ++f) {
        const gbnet_frame *frame = &ds->frames[f];
        if (frame->n_atoms < 1) __builtin_trap();
        for (int i = 0; i < 3 * frame->n_atoms; ++i) {
            if (!isfinite(frame->pos[i])) __builtin_trap();
            if (frame->forces && !isfinite(frame->forces[i])) __builtin_trap();
        }
        for (int k = 0; k < 9; ++k)
            if ((frame->has_cell && !isfinite(frame->cell[k])) || (frame->has_virial && !isfinite(frame->virial[k])))
                __builtin_trap();
        if (frame->has_energy && !isfinite(frame->energy)) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *system = fuzz_path(0, "system");
    const char *set = fuzz_path(1, "system/set.000");
    mkdir(system, 0700);
    mkdir(set, 0700);
    const uint8_t *part = data, *end = data + size;
    const size_t sep = sizeof k_separator - 1;
    for (int k = 0; k < N_FILES; ++k) {
        const uint8_t *stop = part;
        while (stop < end && !((size_t)(end - stop) >= sep && memcmp(stop, k_separator, sep) == 0)) ++stop;
        char name[64];
        snprintf(name, sizeof name, "system/%s", k_files[k]);
        const char *path = fuzz_path(2, name);
        int present = part < end && (stop > part || k == N_FILES - 1);
        if (present) fuzz_write(path, part, (size_t)(stop - part));
        else unlink(path);
        part = stop < end ? stop + sep : end;
    }
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    gbnet_status st = gbnet_read_deepmd(&ds, system);
    if (st == GBNET_OK) check_frames(&ds);
    else fuzz_check_message(gbnet_last_error());
    gbnet_dataset_free(&ds);
    return 0;
}
