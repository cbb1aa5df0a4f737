/* Extended XYZ writer (ASE style). Numbers are written with the fewest
 * digits (15..17) that read back to the same double, so gbnet_read_extxyz
 * reproduces the frames exactly. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbnet_data.h"
#include "files.h"
#include "gb_error.h"

/* Shortest of %.15g, %.16g, %.17g that round-trips. */
static const char *format_double(char buffer[32], double value) {
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buffer, 32, "%.*g", digits, value);
        if (strtod(buffer, NULL) == value) break;
    }
    return buffer;
}

static void write_numbers(FILE *out, const double *values, int n) {
    char buffer[32];
    for (int i = 0; i < n; i++) fprintf(out, "%s%s", i ? " " : "", format_double(buffer, values[i]));
}

/* Writes text, quoted (with \" and \\ escaped) when a bare word would not
 * read back as the same value. */
static void write_word(FILE *out, const char *text) {
    int needs_quotes = text[0] == '\0' || text[0] == '"' || text[0] == '[' || text[0] == '{';
    for (const char *c = text; *c && !needs_quotes; c++)
        needs_quotes = *c == ' ' || *c == '\t' || *c == '=' || *c == '"' || *c == '\\';
    if (!needs_quotes) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\') fputc('\\', out);
        fputc(*c, out);
    }
    fputc('"', out);
}

static double cell_volume(const double c[9]) {
    return fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                c[2] * (c[3] * c[7] - c[4] * c[6]));
}

static void write_frame(FILE *out, const gbnet_frame *frame, const double *energy, const double *forces,
                        const double *virial) {
    fprintf(out, "%d\n", frame->n_atoms);
    if (frame->has_cell) {
        fputs("Lattice=\"", out);
        write_numbers(out, frame->cell, 9);
        fputs("\" ", out);
    }
    fputs(forces ? "Properties=species:S:1:pos:R:3:forces:R:3" : "Properties=species:S:1:pos:R:3", out);
    char buffer[32];
    if (energy) fprintf(out, " energy=%s", format_double(buffer, *energy));
    if (virial) {
        /* stress for ASE-based readers; gbnet_read_extxyz prefers the exact virial */
        double volume = frame->has_cell ? cell_volume(frame->cell) : 0.0;
        if (volume > 0.0) {
            double stress[9];
            for (int k = 0; k < 9; k++) stress[k] = -virial[k] / volume;
            fputs(" stress=\"", out);
            write_numbers(out, stress, 9);
            fputc('"', out);
        }
        fputs(" virial=\"", out);
        write_numbers(out, virial, 9);
        fputc('"', out);
    }
    fprintf(out, " pbc=\"%c %c %c\"", frame->pbc[0] ? 'T' : 'F', frame->pbc[1] ? 'T' : 'F',
            frame->pbc[2] ? 'T' : 'F');
    if (frame->config_type) {
        fputs(" config_type=", out);
        write_word(out, frame->config_type);
    }
    if (frame->subset) {
        fputs(" subset=", out);
        write_word(out, frame->subset);
    }
    for (int i = 0; i < frame->n_info; i++) {
        fputc(' ', out);
        write_word(out, frame->info[i].key);
        fputc('=', out);
        write_word(out, frame->info[i].value);
    }
    fputc('\n', out);
    for (int atom = 0; atom < frame->n_atoms; atom++) {
        fprintf(out, "%-2s ", gbnet_element_symbol(frame->z[atom]));
        write_numbers(out, &frame->pos[3 * atom], 3);
        if (forces) {
            fputc(' ', out);
            write_numbers(out, &forces[3 * atom], 3);
        }
        fputc('\n', out);
    }
}

gbnet_status gbnet_write_extxyz(const char *path, const gbnet_frame *frames, int n_frames,
                             const double *energies, const double *const *forces,
                             const double *virials) {
    if (!path || (n_frames > 0 && !frames) || n_frames < 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_write_extxyz: invalid arguments");
    /* composed in memory, then replaced atomically: a kill never leaves half a file */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory writing %s", path);
    for (int i = 0; i < n_frames; i++) {
        const gbnet_frame *frame = &frames[i];
        const double *energy = energies ? &energies[i] : frame->has_energy ? &frame->energy : NULL;
        const double *frame_forces = forces && forces[i] ? forces[i] : frame->forces;
        const double *virial = virials ? &virials[9 * i] : frame->has_virial ? frame->virial : NULL;
        write_frame(out, frame, energy, frame_forces, virial);
    }
    int failed = ferror(out);
    if (fclose(out) != 0) failed = 1;
    gbnet_status st = failed ? gb_fail(GBNET_ERR_NO_MEMORY, "out of memory writing %s", path)
                             : gb_write_file_atomically(path, text, size, "extxyz file");
    free(text);
    return st;
}
