/* Option parsing, strict numbers and error messages for the gbnet command. */
#define _POSIX_C_SOURCE 200809L
#include "cli_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_parser_init(cli_parser *p, const char *command, int argc, char **argv, const cli_option *options,
                     int n_options) {
    memset(p, 0, sizeof *p);
    p->command = command;
    p->argc = argc;
    p->argv = argv;
    p->next = 1;
    p->options = options;
    p->n_options = n_options;
}

/* Levenshtein distance of two short strings (capped at 64 characters), for
 * "did you mean" hints. */
static int edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64) na = 64;
    if (nb > 64) nb = 64;
    int row[65];
    for (size_t j = 0; j <= nb; ++j) row[j] = (int)j;
    for (size_t i = 1; i <= na; ++i) {
        int diagonal = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; ++j) {
            int above = row[j];
            int best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[nb];
}

static int unknown_option(cli_parser *p, const char *arg) {
    const char *name = arg;
    while (*name == '-') ++name;
    char bare[128];
    snprintf(bare, sizeof bare, "%s", name);
    char *eq = strchr(bare, '=');
    if (eq) *eq = '\0';
    const char *closest = NULL;
    int best = 3; /* suggest only near misses */
    for (int k = 0; k < p->n_options; ++k) {
        int d = edit_distance(bare, p->options[k].long_name);
        if (d < best) {
            best = d;
            closest = p->options[k].long_name;
        }
    }
    if (closest) {
        fprintf(stderr, "gbnet %s: unknown option '%s' (did you mean '--%s'?)\n", p->command, arg, closest);
        fprintf(stderr, "Try 'gbnet %s --help'.\n", p->command);
        return CLI_BAD;
    }
    cli_usage_error(p->command, "unknown option '%s'", arg);
    return CLI_BAD;
}

int cli_next(cli_parser *p, const char **value) {
    *value = NULL;
    if (p->next >= p->argc) return CLI_END;
    char *arg = p->argv[p->next++];
    if (p->options_ended || arg[0] != '-' || arg[1] == '\0') { /* "-" alone is a positional (stdin-like) */
        *value = arg;
        return CLI_POSITIONAL;
    }
    if (strcmp(arg, "--") == 0) {
        p->options_ended = 1;
        return cli_next(p, value);
    }
    int found = -1;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        for (int k = 0; k < p->n_options && found < 0; ++k)
            if (strlen(p->options[k].long_name) == len && strncmp(p->options[k].long_name, name, len) == 0) found = k;
        if (found >= 0 && eq) {
            if (!p->options[found].takes_value) {
                cli_usage_error(p->command, "option '--%s' takes no value", p->options[found].long_name);
                return CLI_BAD;
            }
            inline_value = eq + 1;
        }
    } else if (arg[2] == '\0') {
        for (int k = 0; k < p->n_options && found < 0; ++k)
            if (p->options[k].short_name == arg[1]) found = k;
    } else {
        /* "-5" style numbers are not options we accept; "-oFILE" is not supported either */
        for (int k = 0; k < p->n_options && found < 0; ++k)
            if (p->options[k].short_name == arg[1] && p->options[k].takes_value) {
                found = k;
                inline_value = arg + 2;
            }
    }
    if (found < 0) return unknown_option(p, arg);
    if (p->options[found].takes_value) {
        if (inline_value) {
            *value = inline_value;
        } else if (p->next < p->argc) {
            *value = p->argv[p->next++];
        } else {
            cli_usage_error(p->command, "option '%s' needs a value", arg);
            return CLI_BAD;
        }
    }
    return found;
}

int cli_parse_int(const char *command, const char *option, const char *text, long min, long max, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno == ERANGE) {
        cli_usage_error(command, "%s expects an integer, got '%s'", option, text);
        return 0;
    }
    if (v < min || v > max) {
        cli_usage_error(command, "%s must be in %ld..%ld, got %ld", option, min, max, v);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_parse_u64(const char *command, const char *option, const char *text, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno == ERANGE) {
        cli_usage_error(command, "%s expects a non-negative integer, got '%s'", option, text);
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

int cli_parse_double(const char *command, const char *option, const char *text, double min, double max,
                     double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_usage_error(command, "%s expects a number, got '%s'", option, text);
        return 0;
    }
    if (v < min || v > max) {
        cli_usage_error(command, "%s must be in [%g, %g], got %g", option, min, max, v);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_usage_error(const char *command, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "gbnet %s: ", command);
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\nTry 'gbnet %s --help'.\n", command);
    va_end(args);
    return CLI_EXIT_USAGE;
}

int cli_error(const char *command, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "gbnet %s: ", command);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    return CLI_EXIT_ERROR;
}

int cli_library_error(const char *command, gbnet_status status) {
    const char *message = gbnet_last_error();
    if (message && message[0]) return cli_error(command, "%s", message);
    return cli_error(command, "%s", gbnet_status_name(status));
}

char *cli_join_arguments(int argc, char **argv) {
    size_t length = 1;
    for (int i = 0; i < argc; ++i) length += strlen(argv[i]) + 1;
    char *text = malloc(length);
    if (!text) return NULL;
    text[0] = '\0';
    for (int i = 0; i < argc; ++i) {
        if (i) strcat(text, " ");
        strcat(text, argv[i]);
    }
    return text;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_add_frame_filter(const char *command, cli_frame_filters *filters, const char *value) {
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || (size_t)(eq - value) >= sizeof filters->key[0])
        return cli_usage_error(command, "--subset expects KEY=PATTERN (e.g. subset='data_3*'), got '%s'", value);
    if (filters->n == CLI_MAX_FRAME_FILTERS)
        return cli_usage_error(command, "at most %d --subset filters", CLI_MAX_FRAME_FILTERS);
    memcpy(filters->key[filters->n], value, (size_t)(eq - value));
    filters->key[filters->n][eq - value] = '\0';
    filters->pattern[filters->n++] = eq + 1;
    return CLI_EXIT_OK;
}

int cli_frame_selected(const cli_frame_filters *filters, const gbnet_frame *frame) {
    for (int k = 0; k < filters->n; ++k)
        if (!gbnet_frame_matches(frame, filters->key[k], filters->pattern[k])) return 0;
    return 1;
}

int cli_structures_from_frames(const char *command, cli_structures *out, const gbnet_dataset *ds,
                               const cli_frame_filters *filters, const gbnet_model *model, int max_frames) {
    memset(out, 0, sizeof *out);
    size_t cap = (size_t)ds->n_frames + 1;
    out->structures = calloc(cap, sizeof *out->structures);
    out->species = calloc(cap, sizeof *out->species);
    out->frame = calloc(cap, sizeof *out->frame);
    if (!out->structures || !out->species || !out->frame) return cli_error(command, "out of memory");
    for (int f = 0; f < ds->n_frames && (max_frames <= 0 || out->n < max_frames); ++f) {
        const gbnet_frame *fr = &ds->frames[f];
        if (!cli_frame_selected(filters, fr)) continue;
        int *species = malloc(((size_t)fr->n_atoms + 1) * sizeof(int));
        if (!species) return cli_error(command, "out of memory");
        out->species[out->n] = species;
        if (gbnet_frame_species(species, fr, gbnet_model_hyperparams(model)))
            return cli_error(command, "%s:%d: %s", fr->source ? fr->source : "?", fr->line, gbnet_last_error());
        gbnet_structure *s = &out->structures[out->n];
        s->n_atoms = fr->n_atoms;
        s->species = species;
        s->positions = fr->pos;
        s->cell = fr->has_cell ? fr->cell : NULL;
        for (int c = 0; c < 3; ++c) s->pbc[c] = fr->has_cell ? fr->pbc[c] : 0;
        out->frame[out->n++] = f;
    }
    return CLI_EXIT_OK;
}

void cli_structures_free(cli_structures *s) {
    for (int k = 0; s->species && k <= s->n; ++k) free(s->species[k]); /* [n]: a failed frame's */
    free(s->species);
    free(s->structures);
    free(s->frame);
    memset(s, 0, sizeof *s);
}

static size_t put_rank(char *out, size_t size, size_t used, const char *sep, const char *name, int r, int lim) {
    if (used >= size) return used;
    if (r) return used + (size_t)snprintf(out + used, size - used, "%s%s %d/%d", sep, name, r, lim);
    return used + (size_t)snprintf(out + used, size - used, "%s%s full", sep, name);
}

void cli_format_ranks(char *out, size_t size, const gbnet_model *model) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    gbnet_ranks r;
    gbnet_model_get_ranks(model, &r);
    if (!gbnet_model_is_factored(model)) {
        snprintf(out, size, "full");
        return;
    }
    int F = hp->n_features, R = hp->readout_width, same = 1;
    for (int t = 1; t < hp->n_blocks; ++t)
        same &= r.in[t] == r.in[0] && r.out1[t] == r.out1[0] && r.out2[t] == r.out2[0];
    size_t used = 0;
    out[0] = '\0';
    for (int t = 0; t < (same ? 1 : hp->n_blocks); ++t) {
        if (!same && used < size) used += (size_t)snprintf(out + used, size - used, "%sblock %d: ", t ? "; " : "", t);
        used = put_rank(out, size, used, "", "in", r.in[t], F);
        used = put_rank(out, size, used, ", ", "out1", r.out1[t], F);
        used = put_rank(out, size, used, ", ", "out2", r.out2[t], F);
    }
    put_rank(out, size, used, same ? ", " : "; ", "readout", r.readout, R < F ? R : F);
}

int cli_refuse_committee(const char *command, const char *path, const char *why) {
    gbnet_committee *c = NULL;
    if (gbnet_committee_load(&c, path) != GBNET_OK) return CLI_EXIT_OK;
    int n = gbnet_committee_size(c);
    gbnet_committee_free(c);
    if (n < 2) return CLI_EXIT_OK;
    return cli_error(command, "%s holds a committee of %d members: %s", path, n, why);
}
