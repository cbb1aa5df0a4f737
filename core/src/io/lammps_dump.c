/* LAMMPS text dump reader (dump atom/custom): every snapshot becomes a frame
 * with positions, cell, pbc and the step (info "timestep"); atom types become
 * elements through a type map. Snapshots are sorted by atom id so frames of
 * different runs compare atom by atom.
 *
 * Snapshot layout (LAMMPS write_header / write_data):
 *   ITEM: TIMESTEP               / step
 *   ITEM: NUMBER OF ATOMS        / n
 *   ITEM: BOX BOUNDS [xy xz yz] BX BY BZ   (pp, ff, ss, fs, ...)
 *                                / 3 lines: lo hi [tilt]
 *   ITEM: ATOMS name name ...    / n lines of those columns
 * Positions come from x y z, xu yu zu (unwrapped) or xs ys zs (scaled). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_build.h"
#include "files.h"
#include "gb_error.h"
#include "gbnet_data.h"

typedef struct {
    const char *path;
    const char *cursor, *end;
    int line;
    char text[4096]; /* the current line, NUL-terminated, truncated if longer */
} dump_reader;

static int next_line(dump_reader *r) {
    if (r->cursor >= r->end) return 0;
    const char *nl = memchr(r->cursor, '\n', (size_t)(r->end - r->cursor));
    const char *stop = nl ? nl : r->end;
    size_t n = (size_t)(stop - r->cursor);
    if (n && stop[-1] == '\r') --n;
    if (n >= sizeof r->text) n = sizeof r->text - 1;
    memcpy(r->text, r->cursor, n);
    r->text[n] = '\0';
    r->cursor = nl ? nl + 1 : r->end;
    r->line++;
    return 1;
}

static gbnet_status fail_at(const dump_reader *r, const char *what) {
    return gb_fail(GBNET_ERR_FORMAT, "%s:%d: %s (LAMMPS dump)", r->path, r->line, what);
}

static gbnet_status expect_item(dump_reader *r, const char *item) {
    char what[256];
    if (!next_line(r)) {
        snprintf(what, sizeof what, "the file ends where 'ITEM: %s' was expected", item);
        return fail_at(r, what);
    }
    if (strncmp(r->text, "ITEM: ", 6) != 0 || strncmp(r->text + 6, item, strlen(item)) != 0) {
        snprintf(what, sizeof what, "expected 'ITEM: %s', found '%.80s'", item, r->text);
        return fail_at(r, what);
    }
    return GBNET_OK;
}

/* Reads count numbers from the current line into out; 0 if the line holds fewer. */
static int read_numbers(const char *text, double *out, int count) {
    const char *p = text;
    for (int k = 0; k < count; ++k) {
        char *stop;
        out[k] = strtod(p, &stop);
        if (stop == p || !isfinite(out[k])) return 0;
        p = stop;
    }
    return 1;
}

enum { COL_ID, COL_TYPE, COL_X, COL_Y, COL_Z, N_COLS };

typedef struct {
    int col[N_COLS];   /* column index of each, -1 if absent */
    int scaled;        /* x y z are xs ys zs */
    int n_columns;
} atom_columns;

static gbnet_status parse_columns(dump_reader *r, atom_columns *c) {
    for (int k = 0; k < N_COLS; ++k) c->col[k] = -1;
    c->scaled = 0;
    c->n_columns = 0;
    char copy[sizeof r->text];
    snprintf(copy, sizeof copy, "%s", r->text + strlen("ITEM: ATOMS"));
    static const char *const names[3][3] = {{"x", "y", "z"}, {"xu", "yu", "zu"}, {"xs", "ys", "zs"}};
    int kind[3] = {-1, -1, -1};
    for (char *save = NULL, *word = strtok_r(copy, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
        int at = c->n_columns++;
        if (strcmp(word, "id") == 0) c->col[COL_ID] = at;
        else if (strcmp(word, "type") == 0) c->col[COL_TYPE] = at;
        for (int k = 0; k < 3; ++k)
            for (int d = 0; d < 3; ++d)
                if (strcmp(word, names[k][d]) == 0 && (kind[d] < 0 || k < kind[d])) {
                    c->col[COL_X + d] = at; /* x beats xu beats xs when several are present */
                    kind[d] = k;
                }
    }
    if (c->col[COL_ID] < 0 || c->col[COL_TYPE] < 0 || kind[0] < 0 || kind[1] < 0 || kind[2] < 0)
        return fail_at(r, "the ATOMS line needs the columns id, type and x y z (or xu yu zu, or xs ys zs), e.g. "
                          "dump ID all custom N FILE id type x y z");
    if (kind[0] != kind[1] || kind[1] != kind[2]) return fail_at(r, "x, y and z columns are of different kinds");
    c->scaled = kind[0] == 2;
    return GBNET_OK;
}

typedef struct {
    long id;
    int z;
    double pos[3];
} dump_atom;

static int by_id(const void *a, const void *b) {
    long x = ((const dump_atom *)a)->id, y = ((const dump_atom *)b)->id;
    return (x > y) - (x < y);
}

/* One snapshot after its TIMESTEP line was read. */
static gbnet_status read_snapshot(dump_reader *r, gb_frame_batch *batch, const char *source, const int *type_z,
                                  int n_types, dump_atom **atoms, size_t *cap) {
    char what[512];
    if (!next_line(r)) return fail_at(r, "the file ends after 'ITEM: TIMESTEP'");
    char *stop;
    long long step = strtoll(r->text, &stop, 10);
    if (stop == r->text) return fail_at(r, "the timestep is not an integer");
    int first_line = r->line - 1;
    gbnet_status st = expect_item(r, "NUMBER OF ATOMS");
    if (st) return st;
    if (!next_line(r)) return fail_at(r, "the file ends after 'ITEM: NUMBER OF ATOMS'");
    long n = strtol(r->text, &stop, 10);
    if (stop == r->text || n < 0 || n > 100000000) return fail_at(r, "the number of atoms is not a count");
    if ((size_t)n > (size_t)(r->end - r->cursor) / 8) /* every atom line needs at least 8 characters */
        return fail_at(r, "the file is too short for that many atoms");
    st = expect_item(r, "BOX BOUNDS");
    if (st) return st;
    int triclinic = strstr(r->text, "xy xz yz") != NULL;
    int pbc[3] = {1, 1, 1};
    {
        char copy[sizeof r->text];
        snprintf(copy, sizeof copy, "%s", r->text + strlen("ITEM: BOX BOUNDS"));
        int d = 0;
        for (char *save = NULL, *word = strtok_r(copy, " \t", &save); word; word = strtok_r(NULL, " \t", &save))
            if (strcmp(word, "xy") && strcmp(word, "xz") && strcmp(word, "yz") && d < 3)
                pbc[d++] = word[0] == 'p';
    }
    double bounds[3][3] = {{0}};
    for (int d = 0; d < 3; ++d) {
        if (!next_line(r)) return fail_at(r, "the file ends inside BOX BOUNDS");
        if (!read_numbers(r->text, bounds[d], triclinic ? 3 : 2))
            return fail_at(r, triclinic ? "a BOX BOUNDS line needs three numbers: lo hi tilt"
                                        : "a BOX BOUNDS line needs two numbers: lo hi");
    }
    /* LAMMPS writes the bounding box of a triclinic cell: undo it */
    double xy = triclinic ? bounds[0][2] : 0, xz = triclinic ? bounds[1][2] : 0, yz = triclinic ? bounds[2][2] : 0;
    double xlo = bounds[0][0] - fmin(fmin(0.0, xy), fmin(xz, xy + xz));
    double xhi = bounds[0][1] - fmax(fmax(0.0, xy), fmax(xz, xy + xz));
    double ylo = bounds[1][0] - fmin(0.0, yz), yhi = bounds[1][1] - fmax(0.0, yz);
    double zlo = bounds[2][0], zhi = bounds[2][1];
    double cell[9] = {xhi - xlo, 0, 0, xy, yhi - ylo, 0, xz, yz, zhi - zlo};
    if (!(cell[0] > 0 && cell[4] > 0 && cell[8] > 0)) return fail_at(r, "the box has a non-positive length");
    st = expect_item(r, "ATOMS");
    if (st) return st;
    atom_columns cols;
    if ((st = parse_columns(r, &cols))) return st;
    if ((size_t)n > *cap) {
        dump_atom *grown = realloc(*atoms, (size_t)n * sizeof **atoms);
        if (!grown) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory reading %s", r->path);
        *atoms = grown;
        *cap = (size_t)n;
    }
    double *values = malloc((size_t)cols.n_columns * sizeof *values);
    if (!values) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory reading %s", r->path);
    for (long i = 0; i < n && !st; ++i) {
        if (!next_line(r)) {
            snprintf(what, sizeof what, "the snapshot of step %lld ends after %ld of %ld atoms", step, i, n);
            st = fail_at(r, what);
            break;
        }
        if (!read_numbers(r->text, values, cols.n_columns)) {
            snprintf(what, sizeof what, "an atom line needs %d numbers (the ATOMS columns)", cols.n_columns);
            st = fail_at(r, what);
            break;
        }
        dump_atom *a = &(*atoms)[i];
        a->id = (long)values[cols.col[COL_ID]];
        int type = (int)values[cols.col[COL_TYPE]];
        if (type < 1 || type > n_types || values[cols.col[COL_TYPE]] != type) {
            snprintf(what, sizeof what, "atom type %g, but the type map names %d type%s (1..%d)",
                     values[cols.col[COL_TYPE]], n_types, n_types == 1 ? "" : "s", n_types);
            st = fail_at(r, what);
            break;
        }
        a->z = type_z[type - 1];
        double u[3] = {values[cols.col[COL_X]], values[cols.col[COL_Y]], values[cols.col[COL_Z]]};
        if (cols.scaled) {
            for (int c = 0; c < 3; ++c) a->pos[c] = u[0] * cell[c] + u[1] * cell[3 + c] + u[2] * cell[6 + c];
            a->pos[0] += xlo;
            a->pos[1] += ylo;
            a->pos[2] += zlo;
        } else {
            memcpy(a->pos, u, sizeof u);
        }
    }
    free(values);
    if (st) return st;
    qsort(*atoms, (size_t)n, sizeof **atoms, by_id);
    gbnet_frame *f = gb_frame_batch_new_frame(batch);
    if (!f) return GBNET_ERR_NO_MEMORY;
    f->n_atoms = (int)n;
    f->z = malloc(((size_t)n + 1) * sizeof *f->z);
    f->pos = malloc((3 * (size_t)n + 1) * sizeof *f->pos);
    if (!f->z || !f->pos) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory reading %s", r->path);
    for (long i = 0; i < n; ++i) {
        f->z[i] = (*atoms)[i].z;
        memcpy(&f->pos[3 * i], (*atoms)[i].pos, sizeof (*atoms)[i].pos);
    }
    memcpy(f->cell, cell, sizeof cell);
    f->has_cell = 1;
    memcpy(f->pbc, pbc, sizeof pbc);
    f->line = first_line;
    f->source = source;
    char number[32];
    snprintf(number, sizeof number, "%lld", step);
    return gb_frame_set_info(f, "timestep", number, strlen(number));
}

gbnet_status gbnet_read_lammps_dump(gbnet_dataset *ds, const char *path, const int *type_z, int n_types) {
    if (!ds || !path || !type_z || n_types < 1)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_read_lammps_dump: need a path and a type map");
    char *data = NULL;
    size_t size = 0;
    gbnet_status st = gb_load_file(path, &data, &size);
    if (st) return st;
    dump_reader r;
    r.path = path;
    r.cursor = data;
    r.end = data + size;
    r.line = 0;
    gb_frame_batch batch;
    memset(&batch, 0, sizeof batch);
    const char *source = gb_frame_batch_add_source(&batch, path);
    if (!source) st = GBNET_ERR_NO_MEMORY;
    dump_atom *atoms = NULL;
    size_t cap = 0;
    while (!st && next_line(&r)) {
        if (r.text[strspn(r.text, " \t")] == '\0') continue; /* blank lines between snapshots */
        if (strncmp(r.text, "ITEM: TIMESTEP", 14) != 0) {
            char what[256];
            snprintf(what, sizeof what, "expected 'ITEM: TIMESTEP' (a text dump: dump custom ... id type x y z), "
                                        "found '%.80s'", r.text);
            st = fail_at(&r, what);
            break;
        }
        st = read_snapshot(&r, &batch, source, type_z, n_types, &atoms, &cap);
    }
    if (!st && batch.n_frames == 0) st = gb_fail(GBNET_ERR_FORMAT, "%s: no snapshot in the file (LAMMPS dump)", path);
    free(atoms);
    free(data);
    if (!st) st = gb_frame_batch_commit(ds, &batch);
    gb_frame_batch_free(&batch);
    return st;
}
