/* Shared by the fuzz harnesses: the loaders take paths, so each input is
 * written to a private scratch folder first. A finding is reported with
 * __builtin_trap(): libFuzzer records it as a crash, and the replay driver
 * (replay_main.c, built with gcc for ctest) dies with SIGILL, failing the test. */
#ifndef GBNET_FUZZ_COMMON_H
#define GBNET_FUZZ_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process's scratch folder (created once, under TMPDIR or /tmp). */
static const char *fuzz_scratch_dir(void) {
    static char dir[512];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/gbnet-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) __builtin_trap(); /* no scratch space: nothing can be tested */
    }
    return dir;
}

/* dir/name as a static path (one per slot; slots < 16). */
static const char *fuzz_path(int slot, const char *name) {
    static char paths[16][640];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_scratch_dir(), name);
    return paths[slot];
}

static void fuzz_write(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) __builtin_trap();
    if (size && fwrite(data, 1, size, f) != size) __builtin_trap();
    if (fclose(f) != 0) __builtin_trap();
}

/* A message must exist for every error, and it must be printable ASCII
 * (input bytes are escaped). */
static void fuzz_check_message(const char *message) {
    if (!message || !message[0]) __builtin_trap();
    for (const unsigned char *p = (const unsigned char *)message; *p; ++p)
        if (*p < 32 || *p >= 127) __builtin_trap();
}

#endif
