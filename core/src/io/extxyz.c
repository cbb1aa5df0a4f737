/* Extended XYZ reader (ASE conventions): the whole file is read into one
 * buffer and parsed line by line with strtod, so large files read fast.
 *
 * Frame layout:
 *   line 1  atom count
 *   line 2  key=value pairs: Lattice="9 numbers" (rows = lattice vectors),
 *           Properties=name:type:ncols:..., energy|free_energy, stress (ASE
 *           sign, eV/A^3) or virial (eV), pbc="T T T", anything else -> info
 *   then    one line per atom with the columns named by Properties. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbnet_data.h"
#include "dataset_build.h"
#include "escape.h"
#include "gb_error.h"

/* ------------------------------------------------------------------ lines */

typedef struct {
    const char *path;
    const char *cursor; /* start of the next line */
    const char *end;    /* end of the buffer */
    int line;           /* 1-based number of the line last returned */
} line_reader;

typedef struct {
    const char *begin, *end; /* without the newline and a trailing '\r' */
} text_span;

static int next_line(line_reader *reader, text_span *line) {
    if (reader->cursor >= reader->end) return 0;
    const char *begin = reader->cursor;
    const char *newline = memchr(begin, '\n', (size_t)(reader->end - begin));
    const char *stop = newline ? newline : reader->end;
    reader->cursor = newline ? newline + 1 : reader->end;
    if (stop > begin && stop[-1] == '\r') stop--;
    reader->line++;
    line->begin = begin;
    line->end = stop;
    return 1;
}

static int is_blank_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static const char *skip_blanks(const char *p, const char *end) {
    while (p < end && is_blank_char(*p)) p++;
    return p;
}

/* Next whitespace-separated token of [*p, end); 0 when none is left. */
static int next_token(const char **p, const char *end, text_span *token) {
    const char *begin = skip_blanks(*p, end);
    if (begin >= end) return 0;
    const char *stop = begin;
    while (stop < end && !is_blank_char(*stop)) stop++;
    token->begin = begin;
    token->end = stop;
    *p = stop;
    return 1;
}

static int count_tokens(text_span line) {
    int n = 0;
    text_span token;
    const char *p = line.begin;
    while (next_token(&p, line.end, &token)) n++;
    return n;
}

/* Quotes a span for an error message: its bytes escaped (escape.h), cut to
 * what fits in the buffer. */
static const char *describe(text_span span, char *buffer, size_t size) {
    size_t length = (size_t)(span.end - span.begin);
    if (length == 0) {
        snprintf(buffer, size, "an empty line");
        return buffer;
    }
    buffer[0] = '\'';
    gb_escape(buffer + 1, size - 2, span.begin, length);
    strcat(buffer, "'");
    return buffer;
}

/* Parses a whole token as a finite double. */
static int parse_double(text_span token, double *value) {
    char *stop;
    *value = strtod(token.begin, &stop);
    return stop == token.end && token.end > token.begin && isfinite(*value);
}

static text_span span_of(const char *text) {
    text_span span = {text, text + strlen(text)};
    return span;
}

/* -------------------------------------------------------------- comment line */

typedef struct {
    char *key;
    char *value;
} raw_pair;

typedef struct {
    raw_pair *pairs;
    int n;
} pair_list;

static void pair_list_free(pair_list *list) {
    for (int i = 0; i < list->n; i++) {
        free(list->pairs[i].key);
        free(list->pairs[i].value);
    }
    free(list->pairs);
    list->pairs = NULL;
    list->n = 0;
}

static gbnet_status pair_list_add(pair_list *list, char *key, char *value) {
    raw_pair *pairs = realloc(list->pairs, (size_t)(list->n + 1) * sizeof(raw_pair));
    if (!pairs) {
        free(key);
        free(value);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory parsing a comment line");
    }
    list->pairs = pairs;
    list->pairs[list->n].key = key;
    list->pairs[list->n].value = value;
    list->n++;
    return GBNET_OK;
}

/* Reads a "..." string starting at *p (on the opening quote); backslash
 * escapes the next character. Returns the unquoted copy or NULL. */
static char *read_quoted(const char **p, const char *end, int *unterminated) {
    const char *q = *p + 1;
    char *out = gb_malloc((size_t)(end - q) + 1);
    if (!out) return NULL;
    size_t n = 0;
    while (q < end && *q != '"') {
        if (*q == '\\' && q + 1 < end) q++;
        out[n++] = *q++;
    }
    if (q >= end) {
        *unterminated = 1;
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *p = q + 1;
    return out;
}

/* A bare word, or a [...] / {...} group kept verbatim (may contain spaces). */
static char *read_bare(const char **p, const char *end, int stop_at_equals, int *unterminated) {
    const char *begin = *p, *q = *p;
    if (*q == '[' || *q == '{') {
        int depth = 0;
        for (; q < end; q++) {
            if (*q == '[' || *q == '{') depth++;
            else if ((*q == ']' || *q == '}') && --depth == 0) break;
        }
        if (q >= end) {
            *unterminated = 1;
            return NULL;
        }
        q++;
    } else {
        while (q < end && !is_blank_char(*q) && !(stop_at_equals && *q == '=')) q++;
    }
    *p = q;
    return gb_copy_text(begin, (size_t)(q - begin));
}

static gbnet_status parse_comment(pair_list *list, text_span line, const char *path, int line_no) {
    const char *p = line.begin, *end = line.end;
    char found[GB_ESCAPE_SIZE];
    for (;;) {
        p = skip_blanks(p, end);
        if (p >= end) return GBNET_OK;
        int unterminated = 0;
        const char *key_start = p;
        char *key = *p == '"' ? read_quoted(&p, end, &unterminated) : read_bare(&p, end, 1, &unterminated);
        if (!key) {
            if (!unterminated) return GBNET_ERR_NO_MEMORY;
            text_span rest = {key_start, end};
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a closing quote but found end of line after %s",
                           path, line_no, describe(rest, found, sizeof found));
        }
        if (!key[0]) {
            free(key);
            text_span rest = {key_start, end};
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a key before '=' but found %s", path,
                           line_no, describe(rest, found, sizeof found));
        }
        const char *after_key = skip_blanks(p, end);
        char *value;
        if (after_key < end && *after_key == '=') {
            p = skip_blanks(after_key + 1, end);
            if (p >= end) {
                value = gb_copy_text("", 0);
            } else if (*p == '"') {
                value = read_quoted(&p, end, &unterminated);
            } else {
                value = read_bare(&p, end, 0, &unterminated);
            }
            if (!value) {
                gbnet_status status = unterminated
                    ? gb_fail(GBNET_ERR_FORMAT,
                              "%s:%d: expected a closing quote or bracket for the value of '%s' but found end of line",
                              path, line_no, gb_escape_text(found, sizeof found, key))
                    : GBNET_ERR_NO_MEMORY;
                free(key);
                return status;
            }
        } else {
            value = gb_copy_text("T", 1); /* a bare key is a true flag, as in ASE */
        }
        if (!value) {
            free(key);
            return GBNET_ERR_NO_MEMORY;
        }
        gbnet_status status = pair_list_add(list, key, value);
        if (status != GBNET_OK) return status;
    }
}

/* Value of the last pair named key, or NULL. */
static const char *find_value(const pair_list *list, const char *key) {
    for (int i = list->n - 1; i >= 0; i--)
        if (strcmp(list->pairs[i].key, key) == 0) return list->pairs[i].value;
    return NULL;
}

/* Parses exactly n_min or n_max numbers from value into out; on a mismatch
 * reports what was expected. Returns the count read or -1 (message set). */
static int parse_number_list(double *out, const char *value, int n_min, int n_max, const char *key,
                             const char *path, int line_no) {
    text_span all = span_of(value), token;
    const char *p = all.begin;
    int n = 0;
    char found[GB_ESCAPE_SIZE], expected[48];
    if (n_min == n_max) snprintf(expected, sizeof expected, "%d numbers", n_min);
    else snprintf(expected, sizeof expected, "%d or %d numbers", n_max, n_min);
    while (next_token(&p, all.end, &token)) {
        if (n >= n_max) {
            gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected %s in %s but found more: %s", path, line_no,
                    expected, key, describe(all, found, sizeof found));
            return -1;
        }
        if (!parse_double(token, &out[n])) {
            gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected %s in %s but found %s", path, line_no, expected,
                    key, describe(token, found, sizeof found));
            return -1;
        }
        n++;
    }
    if (n != n_min && n != n_max) {
        gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected %s in %s but found %d: %s", path, line_no, expected,
                key, n, describe(all, found, sizeof found));
        return -1;
    }
    return n;
}

/* 3x3 tensor from 9 numbers or from 6 in Voigt order (xx yy zz yz xz xy). */
static void tensor_from_list(double out[9], const double *list, int n) {
    if (n == 9) {
        memcpy(out, list, 9 * sizeof(double));
        return;
    }
    out[0] = list[0], out[4] = list[1], out[8] = list[2];
    out[5] = out[7] = list[3];
    out[2] = out[6] = list[4];
    out[1] = out[3] = list[5];
}

static double cell_volume(const double c[9]) {
    return fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                c[2] * (c[3] * c[7] - c[4] * c[6]));
}

static int parse_flag(text_span token, int *flag) {
    static const char *const truths[] = {"T", "True", "true", "TRUE", "1"};
    static const char *const falses[] = {"F", "False", "false", "FALSE", "0"};
    size_t length = (size_t)(token.end - token.begin);
    for (int i = 0; i < 5; i++) {
        if (strlen(truths[i]) == length && memcmp(truths[i], token.begin, length) == 0) return *flag = 1, 1;
        if (strlen(falses[i]) == length && memcmp(falses[i], token.begin, length) == 0) return *flag = 0, 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- Properties */

typedef struct {
    int n_columns;     /* columns of an atom line */
    int species_col;   /* first column of each property, -1 if absent */
    int pos_col;
    int forces_col;
} column_layout;

static gbnet_status parse_properties(column_layout *layout, const char *value, const char *path,
                                     int line_no) {
    layout->n_columns = 0;
    layout->species_col = layout->pos_col = layout->forces_col = -1;
    char found[GB_ESCAPE_SIZE];
    const char *p = value;
    for (;;) {
        /* name:type:ncols */
        const char *fields[3];
        size_t lengths[3];
        for (int k = 0; k < 3; k++) {
            const char *colon = strchr(p, ':');
            fields[k] = p;
            lengths[k] = colon ? (size_t)(colon - p) : strlen(p);
            if (!colon && k < 2) {
                return gb_fail(GBNET_ERR_FORMAT,
                               "%s:%d: expected Properties as name:type:ncols triples but found %s", path,
                               line_no, describe(span_of(value), found, sizeof found));
            }
            p = colon ? colon + 1 : p + lengths[k];
        }
        text_span count_span = {fields[2], fields[2] + lengths[2]};
        char *stop;
        long n_cols = strtol(fields[2], &stop, 10);
        if (lengths[0] == 0 || lengths[1] != 1 || !strchr("SRIL", fields[1][0]) ||
            stop != count_span.end || lengths[2] == 0 || n_cols < 1 || n_cols > 1000) {
            text_span triple = {fields[0], fields[2] + lengths[2]};
            return gb_fail(GBNET_ERR_FORMAT,
                           "%s:%d: expected a Properties entry name:S|R|I|L:ncols but found %s", path,
                           line_no, describe(triple, found, sizeof found));
        }
        char type = fields[1][0];
        int col = layout->n_columns;
        int *slot = NULL;
        char wanted_type = 'R';
        int wanted_cols = 3;
#define NAME_IS(s) (lengths[0] == strlen(s) && memcmp(fields[0], s, lengths[0]) == 0)
        if (NAME_IS("species")) slot = &layout->species_col, wanted_type = 'S', wanted_cols = 1;
        else if (NAME_IS("pos")) slot = &layout->pos_col;
        else if (NAME_IS("forces") || NAME_IS("force")) slot = &layout->forces_col;
#undef NAME_IS
        if (slot) {
            if (type != wanted_type || n_cols != wanted_cols) {
                text_span triple = {fields[0], fields[2] + lengths[2]};
                return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected %.*s:%c:%d in Properties but found %s",
                               path, line_no, (int)lengths[0], fields[0], wanted_type, wanted_cols,
                               describe(triple, found, sizeof found));
            }
            *slot = col;
        }
        layout->n_columns += (int)n_cols;
        if (*p == '\0') break;
    }
    if (layout->species_col < 0 || layout->pos_col < 0) {
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected species:S:1 and pos:R:3 in Properties but found %s",
                       path, line_no, describe(span_of(value), found, sizeof found));
    }
    return GBNET_OK;
}

/* ------------------------------------------------------------------ frames */

static int is_consumed_key(const char *key, int energy_from_free_energy) {
    static const char *const keys[] = {"Lattice", "Properties", "pbc", "stress", "virial",
                                       "config_type", "subset"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0) return 1;
    return strcmp(key, energy_from_free_energy ? "free_energy" : "energy") == 0;
}

/* Fills the frame's metadata from the comment line's pairs. */
static gbnet_status apply_comment(gbnet_frame *frame, column_layout *layout, const pair_list *pairs,
                                  const char *path, int line_no) {
    char found[GB_ESCAPE_SIZE];
    const char *properties = find_value(pairs, "Properties");
    if (!properties) {
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected Properties=species:S:1:pos:R:3... but found no Properties key",
                       path, line_no);
    }
    gbnet_status status = parse_properties(layout, properties, path, line_no);
    if (status != GBNET_OK) return status;

    const char *lattice = find_value(pairs, "Lattice");
    if (lattice) {
        if (parse_number_list(frame->cell, lattice, 9, 9, "Lattice", path, line_no) < 0)
            return GBNET_ERR_FORMAT;
        frame->has_cell = 1;
    }

    const char *pbc = find_value(pairs, "pbc");
    for (int k = 0; k < 3; k++) frame->pbc[k] = frame->has_cell;
    if (pbc) {
        text_span all = span_of(pbc), token;
        const char *p = all.begin;
        int n = 0;
        while (next_token(&p, all.end, &token)) {
            if (n >= 3 || !parse_flag(token, &frame->pbc[n])) {
                return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected pbc as three of T/F but found %s", path,
                               line_no, describe(all, found, sizeof found));
            }
            n++;
        }
        if (n != 3) {
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected pbc as three of T/F but found %s", path,
                           line_no, describe(all, found, sizeof found));
        }
        if ((frame->pbc[0] || frame->pbc[1] || frame->pbc[2]) && !frame->has_cell) {
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a Lattice for periodic pbc=\"%s\" but found none",
                           path, line_no, gb_escape_text(found, sizeof found, pbc));
        }
    }

    const char *energy = find_value(pairs, "energy");
    int energy_from_free_energy = 0;
    if (!energy && (energy = find_value(pairs, "free_energy")) != NULL) energy_from_free_energy = 1;
    if (energy) {
        if (!parse_double(span_of(energy), &frame->energy)) {
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a number for %s but found %s", path, line_no,
                           energy_from_free_energy ? "free_energy" : "energy",
                           describe(span_of(energy), found, sizeof found));
        }
        frame->has_energy = 1;
    }

    const char *virial = find_value(pairs, "virial");
    const char *stress = find_value(pairs, "stress");
    double list[9];
    if (virial) {
        int n = parse_number_list(list, virial, 6, 9, "virial", path, line_no);
        if (n < 0) return GBNET_ERR_FORMAT;
        tensor_from_list(frame->virial, list, n);
        frame->has_virial = 1;
    } else if (stress) {
        int n = parse_number_list(list, stress, 6, 9, "stress", path, line_no);
        if (n < 0) return GBNET_ERR_FORMAT;
        double volume = frame->has_cell ? cell_volume(frame->cell) : 0.0;
        if (!(volume > 0.0)) {
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a Lattice with nonzero volume to convert stress but found %s",
                           path, line_no, frame->has_cell ? "a flat cell" : "no Lattice");
        }
        double tensor[9];
        tensor_from_list(tensor, list, n);
        for (int k = 0; k < 9; k++) frame->virial[k] = -tensor[k] * volume; /* ASE sign */
        frame->has_virial = 1;
    }

    const char *config_type = find_value(pairs, "config_type");
    const char *subset = find_value(pairs, "subset");
    if (config_type && !(frame->config_type = gb_copy_text(config_type, strlen(config_type))))
        return GBNET_ERR_NO_MEMORY;
    if (subset && !(frame->subset = gb_copy_text(subset, strlen(subset)))) return GBNET_ERR_NO_MEMORY;

    for (int i = 0; i < pairs->n; i++) {
        const raw_pair *pair = &pairs->pairs[i];
        if (is_consumed_key(pair->key, energy_from_free_energy)) continue;
        status = gb_frame_set_info(frame, pair->key, pair->value, strlen(pair->value));
        if (status != GBNET_OK) return status;
    }
    return GBNET_OK;
}

static gbnet_status parse_atom_line(gbnet_frame *frame, int atom, const column_layout *layout,
                                    text_span line, const char *path, int line_no) {
    char found[GB_ESCAPE_SIZE];
    int n_found = count_tokens(line);
    if (n_found != layout->n_columns) {
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected %d columns (atom %d of %d) but found %d: %s", path,
                       line_no, layout->n_columns, atom + 1, frame->n_atoms, n_found,
                       describe(line, found, sizeof found));
    }
    const char *p = line.begin;
    text_span token;
    for (int col = 0; next_token(&p, line.end, &token); col++) {
        double *target = NULL;
        if (col == layout->species_col) {
            char symbol[4] = "";
            size_t length = (size_t)(token.end - token.begin);
            if (length < sizeof symbol) memcpy(symbol, token.begin, length), symbol[length] = '\0';
            int z = gbnet_atomic_number(symbol);
            if (z <= 0) {
                return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a chemical symbol but found %s", path,
                               line_no, describe(token, found, sizeof found));
            }
            frame->z[atom] = z;
        } else if (col >= layout->pos_col && col < layout->pos_col + 3) {
            target = &frame->pos[3 * atom + (col - layout->pos_col)];
        } else if (layout->forces_col >= 0 && col >= layout->forces_col && col < layout->forces_col + 3) {
            target = &frame->forces[3 * atom + (col - layout->forces_col)];
        }
        if (target && !parse_double(token, target)) {
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a number in column %d but found %s", path,
                           line_no, col + 1, describe(token, found, sizeof found));
        }
    }
    return GBNET_OK;
}

/* Parses the atom count line; 0 on a malformed count (message set). */
static int parse_atom_count(text_span line, const char *path, int line_no) {
    char found[GB_ESCAPE_SIZE];
    text_span token;
    const char *p = line.begin;
    int ok = next_token(&p, line.end, &token);
    long count = 0;
    if (ok) {
        for (const char *c = token.begin; c < token.end && ok; c++) ok = isdigit((unsigned char)*c);
        errno = 0;
        if (ok) count = strtol(token.begin, NULL, 10);
        ok = ok && errno == 0 && count >= 1 && count <= INT_MAX / 3;
        ok = ok && skip_blanks(p, line.end) == line.end;
    }
    if (!ok) {
        gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a positive integer atom count but found %s", path,
                line_no, describe(line, found, sizeof found));
        return 0;
    }
    return (int)count;
}

static gbnet_status read_frame(gbnet_frame *frame, line_reader *reader, text_span count_line) {
    const char *path = reader->path;
    frame->line = reader->line;
    int n_atoms = parse_atom_count(count_line, path, reader->line);
    if (n_atoms <= 0) return GBNET_ERR_FORMAT;
    frame->n_atoms = n_atoms;

    text_span comment;
    if (!next_line(reader, &comment)) {
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected a comment line with Properties but found end of file",
                       path, reader->line + 1);
    }
    pair_list pairs = {NULL, 0};
    column_layout layout;
    gbnet_status status = parse_comment(&pairs, comment, path, reader->line);
    if (status == GBNET_OK) status = apply_comment(frame, &layout, &pairs, path, reader->line);
    pair_list_free(&pairs);
    if (status != GBNET_OK) return status;

    /* every atom line holds a symbol and three numbers, each with a separator:
     * at least 8 bytes, so a count the rest of the file cannot hold is refused
     * before anything is allocated for it (small counts go on, so that a
     * truncated file is reported at the line where it ends) */
    size_t left = (size_t)(reader->end - reader->cursor);
    if (n_atoms > 4096 && (size_t)n_atoms > left / 8)
        return gb_fail(GBNET_ERR_FORMAT,
                       "%s:%d: expected %d atom lines for the frame at line %d but the file has only %zu bytes left",
                       path, frame->line, n_atoms, frame->line, left);
    frame->z = gb_malloc((size_t)n_atoms * sizeof(int));
    frame->pos = gb_malloc((size_t)n_atoms * 3 * sizeof(double));
    if (layout.forces_col >= 0) frame->forces = gb_malloc((size_t)n_atoms * 3 * sizeof(double));
    if (!frame->z || !frame->pos || (layout.forces_col >= 0 && !frame->forces)) return GBNET_ERR_NO_MEMORY;

    for (int atom = 0; atom < n_atoms; atom++) {
        text_span line;
        if (!next_line(reader, &line)) {
            return gb_fail(GBNET_ERR_FORMAT,
                           "%s:%d: expected %d atom lines for the frame at line %d but found end of file after %d",
                           path, reader->line + 1, n_atoms, frame->line, atom);
        }
        status = parse_atom_line(frame, atom, &layout, line, path, reader->line);
        if (status != GBNET_OK) return status;
    }
    return GBNET_OK;
}

static int is_blank_line(text_span line) { return skip_blanks(line.begin, line.end) == line.end; }

gbnet_status gbnet_read_extxyz(gbnet_dataset *ds, const char *path) {
    if (!ds || !path) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_read_extxyz: NULL argument");
    char *text;
    size_t size;
    gbnet_status status = gb_load_file(path, &text, &size);
    if (status != GBNET_OK) return status;

    line_reader reader = {path, text, text + size, 0};
    gb_frame_batch batch = {0};
    const char *source = gb_frame_batch_add_source(&batch, path);
    status = source ? GBNET_OK : GBNET_ERR_NO_MEMORY;
    text_span line;
    while (status == GBNET_OK && next_line(&reader, &line)) {
        if (is_blank_line(line)) continue; /* blank lines between or after frames */
        gbnet_frame *frame = gb_frame_batch_new_frame(&batch);
        if (!frame) {
            status = GBNET_ERR_NO_MEMORY;
            break;
        }
        frame->source = source;
        status = read_frame(frame, &reader, line);
    }
    if (status == GBNET_OK && batch.n_frames == 0) {
        status = gb_fail(GBNET_ERR_FORMAT, "%s:%d: expected an atom count line but found no frames", path,
                         reader.line > 0 ? reader.line : 1);
    }
    free(text);
    if (status == GBNET_OK) status = gb_frame_batch_commit(ds, &batch);
    gb_frame_batch_free(&batch);
    return status;
}
