/* Training configuration: key table, parser, overrides and checks. */
#define _POSIX_C_SOURCE 200809L
#include "train_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "escape.h"
#include "gb_error.h"
#include "model.h"

typedef enum { T_INT, T_U64, T_REAL, T_TEXT, T_PATH, T_PATHS, T_BOOL, T_CHOICE } value_type;

typedef struct {
    gbnet_train_key info;
    value_type type;
    size_t offset;
    double min, max;          /* inclusive bounds for numbers */
    const char *choices[3];   /* T_CHOICE: accepted words, index = stored enum value */
} key_spec;

#define OFF(field) offsetof(gbnet_train_config, field)
#define NUM(name, t, field, def, unit, lo, hi, doc) \
    {{name, t == T_INT ? "integer" : "number", def, unit, doc}, t, OFF(field), lo, hi, {NULL, NULL, NULL}}
#define STR(name, t, field, def, doc)                                                             \
    {{name, t == T_PATH ? "path" : t == T_PATHS ? "paths" : "text", def, "", doc}, t, OFF(field), 0, 0, \
     {NULL, NULL, NULL}}

static const key_spec keys[] = {
    /* data */
    STR("train_data", T_PATHS, train_data, "",
        "training data: extxyz files and/or DeePMD system folders, separated by spaces (required)"),
    STR("valid_data", T_PATHS, valid_data, "", "validation data in separate files (instead of valid_fraction)"),
    NUM("valid_fraction", T_REAL, valid_fraction, "0.1", "", 0.0, 0.9,
        "fraction of train_data held out for validation, chosen at random with seed"),
    STR("valid_key", T_TEXT, valid_key, "",
        "validation frames of train_data by a per-frame key, KEY=PATTERN (shell wildcards), e.g. subset=data_3*"),
    STR("exclude_key", T_TEXT, exclude_key, "",
        "frames of the data left out altogether, by a per-frame key, KEY=PATTERN, e.g. config_type=Volume_*"),
    {{"seed", "integer", "1", "", "seed of the weight initialisation, validation split and shuffling"},
     T_U64, OFF(seed), 0, 0, {NULL, NULL, NULL}},
    NUM("committee", T_INT, committee, "1", "members", 1, GBNET_MAX_COMMITTEE,
        "train this many models, one after another, differing in seed (weights and shuffling; the validation split "
        "is shared), and write them as one committee file to output (deviations in gbnet eval and LAMMPS)"),
    {{"committee_bootstrap", "bool", "false", "",
      "each committee member trains on its own bootstrap resample of the training frames (drawn with replacement)"},
     T_BOOL, OFF(committee_bootstrap), 0, 0, {NULL, NULL, NULL}},
    NUM("committee_member", T_INT, committee_member, "0", "", 0, GBNET_MAX_COMMITTEE - 1,
        "the member this run trains (gbnet train sets it for each member): seeds weights, shuffling and bootstrap "
        "by seed + 7919 * member"),
    NUM("min_distance", T_REAL, min_distance, "0.1", "A", 0.0, 10.0,
        "frames with two atoms closer than this are reported as bad data"),
    /* model */
    STR("elements", T_TEXT, elements, "",
        "chemical elements of the model in order, e.g. \"O H\"; empty: those of the data by atomic number"),
    STR("init_from", T_PATH, init_from, "",
        "start from this potential file (fine-tuning): its weights, normalization, hyperparameters and elements; "
        "model keys given here must agree with it"),
    NUM("features", T_INT, features, "128", "", 1, 4096, "F: feature width of atoms and filters"),
    NUM("blocks", T_INT, blocks, "3", "", 1, GBNET_MAX_BLOCKS, "T: interaction blocks"),
    NUM("rbf", T_INT, rbf, "50", "", 2, 1024, "K: Gaussian radial basis functions"),
    NUM("readout", T_INT, readout, "64", "", 1, 4096, "hidden width of the readout MLP"),
    NUM("cutoff", T_REAL, cutoff, "5.0", "A", 0.5, 20.0, "rc: neighbor cutoff radius"),
    STR("rank", T_TEXT, rank, "",
        "train the dense layers as factors W = A B of this rank from a random init (docs/compression.md): R for "
        "all, or in=R,out1=R,out2=R,readout=R (others full); empty: full layers; init_from keeps the model's"),
    {{"energy_scale", "energy_std|force_rms", "energy_std", "",
      "sigma: std of per-atom residual energies (energy_std) or RMS force component times 1 A (force_rms)"},
     T_CHOICE, OFF(energy_scale), 0, 0, {"energy_std", "force_rms", NULL}},
    {{"zbl", "bool", "false", "",
      "repulsive core: ZBL nuclear repulsion under the network, subtracted from the labels and added back in "
      "every evaluation (docs/model.md section 7)"},
     T_BOOL, OFF(zbl), 0, 0, {NULL, NULL, NULL}},
    NUM("zbl_inner", T_REAL, zbl_inner, "0", "A", 0.0, 20.0,
        "the core's switch starts here, full ZBL below; 0: 0.75 times the outer radius of each element pair"),
    NUM("zbl_outer", T_REAL, zbl_outer, "0", "A", 0.0, 20.0,
        "the core is zero from here on (energy and force reach 0 smoothly); 0: per element pair, the shortest "
        "distance of that pair in the training data, so the core only acts where the data does not reach"),
    /* loss */
    NUM("w_energy", T_REAL, w_energy, "1.0", "1/eV^2", 0.0, 1e12, "weight of the per-atom energy MSE"),
    NUM("w_forces", T_REAL, w_forces, "1.0", "A^2/eV^2", 0.0, 1e12, "weight of the force-component MSE"),
    NUM("w_stress", T_REAL, w_stress, "0.0", "1/GPa^2", 0.0, 1e12,
        "weight of the stress-component MSE (frames with a virial and a cell)"),
    NUM("stress_max", T_REAL, stress_max, "0", "GPa", 0.0, 1e12,
        "frames with a stress component beyond this magnitude are fitted without their stress (energy and forces "
        "still), e.g. equation-of-state frames at thousands of GPa; 0: no limit"),
    /* batching */
    NUM("batch_size", T_INT, batch_size, "16", "structures", 1, 1000000, "structures per optimizer step (about)"),
    NUM("pack_atoms", T_INT, pack_atoms, "0", "atoms", 0, 100000000,
        "pack capacity in atoms; the trainer tries capacities near it and keeps the most efficient; "
        "0: half of batch_size times the mean structure size (two packs per step)"),
    {{"static_shape", "bool", "false", "",
      "present every pack with exactly its capacity shape, unused slots masked (as accelerators need)"},
     T_BOOL, OFF(static_shape), 0, 0, {NULL, NULL, NULL}},
    /* optimizer and schedule */
    {{"optimizer", "adam|adamw", "adam", "", "adam (L2 weight decay in the gradient) or adamw (decoupled decay)"},
     T_CHOICE, OFF(optimizer), 0, 0, {"adam", "adamw", NULL}},
    NUM("lr", T_REAL, lr, "0.001", "", 1e-12, 10.0, "initial learning rate"),
    NUM("ema_decay", T_REAL, ema_decay, "0.0", "", 0.0, 0.999999,
        "exponential moving average of the weights after every step, w_ema = d w_ema + (1 - d) w, used for "
        "validation and the saved model and kept in checkpoints (0: off; 0.99 to 0.999 usual)"),
    NUM("weight_decay", T_REAL, weight_decay, "0.0", "", 0.0, 10.0, "weight decay coefficient"),
    NUM("beta1", T_REAL, beta1, "0.9", "", 0.0, 0.999999, "Adam first-moment decay"),
    NUM("beta2", T_REAL, beta2, "0.999", "", 0.0, 0.99999999, "Adam second-moment decay"),
    NUM("adam_eps", T_REAL, adam_eps, "1e-8", "", 1e-20, 1.0, "Adam denominator epsilon"),
    NUM("lr_decay", T_REAL, lr_decay, "1.0", "per epoch", 1e-6, 1.0,
        "learning rate multiplied by this after every epoch (1: constant)"),
    NUM("lr_plateau_patience", T_INT, lr_plateau_patience, "0", "epochs", 0, 1000000,
        "reduce the learning rate after this many epochs without a better validation loss (0: off)"),
    NUM("lr_plateau_factor", T_REAL, lr_plateau_factor, "0.5", "", 1e-6, 1.0, "factor of a plateau reduction"),
    NUM("lr_min", T_REAL, lr_min, "0.0", "", 0.0, 10.0, "the learning rate never goes below this"),
    NUM("epochs", T_INT, epochs, "100", "", 1, 100000000, "number of epochs"),
    NUM("early_stopping_patience", T_INT, early_stopping_patience, "0", "epochs", 0, 100000000,
        "stop after this many epochs without a better validation loss (0: off)"),
    NUM("clip_grad_norm", T_REAL, clip_grad_norm, "0.0", "", 0.0, 1e30,
        "scale each step's gradient down to this global L2 norm if larger (0: off)"),
    NUM("time_limit", T_REAL, time_limit, "0.0", "minutes", 0.0, 1e9,
        "stop (with a checkpoint) once the next epoch would end after this much training time (0: none)"),
    /* running */
    NUM("threads", T_INT, threads, "0", "", 0, 4096, "OpenMP threads (0: OpenMP default)"),
    {{"parallel", "packs|kernels", "packs", "",
      "threads work on different packs of a step (each pack single-threaded) or together inside each kernel"},
     T_CHOICE, OFF(parallel), 0, 0, {"packs", "kernels", NULL}},
    {{"precision", "float|double", "float", "", "arithmetic of the network (gradients are summed in double)"},
     T_CHOICE, OFF(precision), 0, 0, {"double", "float", NULL}},
    NUM("checkpoint_every", T_INT, checkpoint_every, "1", "epochs", 0, 100000000,
        "write the checkpoint every N epochs (0: only on interrupt and at the end)"),
    STR("output", T_PATH, output, "model.gbnet", "the best model by validation loss (potential file)"),
    STR("log", T_PATH, log, "train.csv", "CSV log, one line per epoch (empty: none)"),
    STR("checkpoint", T_PATH, checkpoint, "train.ckpt", "checkpoint file (resume with --resume)"),
};

enum { N_KEYS = (int)(sizeof keys / sizeof keys[0]) };
_Static_assert(N_KEYS <= 64, "gbnet_train_config.line holds 64 keys");

int gbnet_train_n_keys(void) { return N_KEYS; }

uint64_t gb_member_seed(const gbnet_train_config *c) { return c->seed + 7919u * (uint64_t)c->committee_member; }

const gbnet_train_key *gbnet_train_key_at(int index) {
    return index >= 0 && index < N_KEYS ? &keys[index].info : NULL;
}

static int find_key(const char *name) {
    for (int k = 0; k < N_KEYS; ++k)
        if (strcmp(keys[k].info.name, name) == 0) return k;
    return -1;
}

static int edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 63) na = 63;
    if (nb > 63) nb = 63;
    int row[64];
    for (size_t j = 0; j <= nb; ++j) row[j] = (int)j;
    for (size_t i = 1; i <= na; ++i) {
        int diagonal = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; ++j) {
            int above = row[j], best = diagonal + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[nb];
}

const char *gb_config_closest_key(const char *name) {
    const char *closest = NULL;
    int best = INT_MAX;
    for (int k = 0; k < N_KEYS; ++k) {
        int d = edit_distance(name, keys[k].info.name);
        if (d < best) {
            best = d;
            closest = keys[k].info.name;
        }
    }
    /* only a near miss is a useful suggestion: at most a third of the name wrong */
    size_t len = strlen(name);
    return best <= 2 || (size_t)best * 3 <= len ? closest : NULL;
}

/* "FILE:LINE: " or "--set: " in front of a message. */
static void location(char *out, size_t size, const char *name, int line) {
    if (line > 0) snprintf(out, size, "%s:%d: ", name, line);
    else snprintf(out, size, "%s: ", name);
}

static int join_path(char *out, size_t size, const char *dir, const char *path) {
    int n = (!dir || !dir[0] || path[0] == '/') ? snprintf(out, size, "%s", path)
                                                 : snprintf(out, size, "%s/%s", dir, path);
    return n >= 0 && (size_t)n < size;
}

/* Relative paths of a whitespace-separated list resolved against dir. */
static int resolve_paths(char *out, size_t size, const char *dir, const char *text) {
    size_t used = 0;
    out[0] = '\0';
    const char *p = text;
    while (*p) {
        while (isspace((unsigned char)*p)) ++p;
        if (!*p) break;
        const char *end = p;
        while (*end && !isspace((unsigned char)*end)) ++end;
        char word[GB_CFG_TEXT_MAX], joined[GB_CFG_TEXT_MAX];
        size_t len = (size_t)(end - p);
        if (len >= sizeof word) return 0;
        memcpy(word, p, len);
        word[len] = '\0';
        if (!join_path(joined, sizeof joined, dir, word)) return 0;
        int n = snprintf(out + used, size - used, "%s%s", used ? " " : "", joined);
        if (n < 0 || (size_t)n >= size - used) return 0;
        used += (size_t)n;
        p = end;
    }
    return 1;
}

static int parse_bool(const char *v, int *out) {
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; ++i) {
        if (strcmp(v, yes[i]) == 0) return *out = 1, 1;
        if (strcmp(v, no[i]) == 0) return *out = 0, 1;
    }
    return 0;
}

/* The quote character a text value can be written in and read back (the
 * reader ends a quoted value at the first quote of its kind and takes a '#'
 * after it as a comment): one whose first occurrence in text, if any, has no
 * '#' after it; 0 when neither quote can (both occur before a '#'). */
static char quote_for(const char *text) {
    const char *hash = strrchr(text, '#');
    const char candidates[2] = {'"', '\''};
    for (int k = 0; k < 2; ++k) /* a quote the text does not hold, if there is one */
        if (!strchr(text, candidates[k])) return candidates[k];
    for (int k = 0; k < 2; ++k) {
        const char *first = strchr(text, candidates[k]);
        if (!first || !hash || hash < first) return candidates[k];
    }
    return 0;
}

/* Stores value into key k; where = "FILE:LINE: " for messages. */
static gbnet_status assign(gbnet_train_config *c, int k, const char *value, const char *where, const char *dir) {
    const key_spec *s = &keys[k];
    char *field = (char *)c + s->offset;
    const char *name = s->info.name;
    char shown[GB_ESCAPE_SIZE]; /* the value as messages show it (escape.h) */
    gb_escape_text(shown, sizeof shown, value);
    if (strpbrk(value, "\r\n")) /* from --set: a config file could not hold it */
        return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected a value on one line", where, name, shown);
    char *end = NULL;
    errno = 0;
    switch (s->type) {
    case T_INT: {
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < (long)s->min || v > (long)s->max)
            return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected an integer in [%.0f, %.0f]", where, name, shown,
                           s->min, s->max);
        *(int *)field = (int)v;
        return GBNET_OK;
    }
    case T_U64: {
        if (!*value || *value == '-') break;
        unsigned long long v = strtoull(value, &end, 10);
        if (*end || errno) break;
        *(uint64_t *)field = (uint64_t)v;
        return GBNET_OK;
    }
    case T_REAL: {
        double v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v) || v < s->min || v > s->max)
            return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected a number in [%g, %g]%s%s", where, name, shown,
                           s->min, s->max, s->info.unit[0] ? " " : "", s->info.unit);
        *(double *)field = v;
        return GBNET_OK;
    }
    case T_BOOL: {
        int v;
        if (!parse_bool(value, &v))
            return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected true or false", where, name, shown);
        *(int *)field = v;
        return GBNET_OK;
    }
    case T_CHOICE:
        for (int i = 0; i < 3 && s->choices[i]; ++i)
            if (strcmp(value, s->choices[i]) == 0) {
                *(int *)field = i;
                return GBNET_OK;
            }
        return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected one of %s", where, name, shown, s->info.type);
    case T_TEXT:
        if (strlen(value) >= GB_CFG_TEXT_MAX)
            return gb_fail(GBNET_ERR_FORMAT, "%s%s: value longer than %d characters", where, name, GB_CFG_TEXT_MAX - 1);
        if (strchr(value, '#') && !quote_for(value))
            return gb_fail(GBNET_ERR_FORMAT,
                           "%s%s = '%s': a value with a '#' after both quote characters (\" and ') cannot be "
                           "written to a configuration file and read back; remove one kind of quote",
                           where, name, shown);
        strcpy(field, value);
        return GBNET_OK;
    case T_PATH:
        if (!value[0]) {
            field[0] = '\0';
            return GBNET_OK;
        }
        if (strchr(value, ' ') == NULL && join_path(field, GB_CFG_TEXT_MAX, dir, value)) return GBNET_OK;
        return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected one path (no spaces, under %d characters)", where,
                       name, shown, GB_CFG_TEXT_MAX);
    case T_PATHS:
        if (resolve_paths(field, GB_CFG_TEXT_MAX, dir, value)) return GBNET_OK;
        return gb_fail(GBNET_ERR_FORMAT, "%s%s: paths too long (at most %d characters in all)", where, name,
                       GB_CFG_TEXT_MAX);
    }
    return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected a non-negative integer", where, name, shown);
}

void gb_train_config_defaults(gbnet_train_config *c) {
    memset(c, 0, sizeof *c);
    for (int k = 0; k < N_KEYS; ++k) {
        gbnet_status st = assign(c, k, keys[k].info.default_text, "", NULL);
        (void)st; /* the defaults are valid by construction (tested) */
    }
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) ++s;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* Removes one pair of matching surrounding quotes. */
static char *unquote(char *v) {
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

/* Where a config line's comment starts: the first '#', except inside a
 * quoted value (key = "a # b" # comment). NULL if none. */
static char *comment_start(char *line) {
    char *hash = strchr(line, '#'), *eq = strchr(line, '=');
    if (!hash || !eq || hash < eq) return hash;
    char *v = eq + 1;
    while (*v == ' ' || *v == '\t') ++v;
    if (*v != '"' && *v != '\'') return hash;
    char *close = strchr(v + 1, *v);
    return close ? strchr(close + 1, '#') : hash;
}

static gbnet_status unknown_key(gbnet_status status, const char *where, const char *key) {
    const char *near = gb_config_closest_key(key);
    char shown[GB_ESCAPE_SIZE];
    gb_escape_text(shown, sizeof shown, key);
    if (near) return gb_fail(status, "%sunknown key '%s' (did you mean '%s'?)", where, shown, near);
    return gb_fail(status, "%sunknown key '%s' (gbnet train --list-keys shows all keys)", where, shown);
}

gbnet_status gb_train_config_parse(gbnet_train_config *c, const char *text, const char *name, const char *dir) {
    snprintf(c->source, sizeof c->source, "%s", name);
    int seen[N_KEYS] = {0};
    int line_no = 0;
    const char *p = text;
    while (*p) {
        ++line_no;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[4 * GB_CFG_TEXT_MAX], where[GB_CFG_TEXT_MAX + 32];
        location(where, sizeof where, name, line_no);
        if (len >= sizeof buf) return gb_fail(GBNET_ERR_FORMAT, "%sline too long", where);
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = eol ? eol + 1 : p + len;
        char *hash = comment_start(buf);
        if (hash) *hash = '\0';
        char *line = trim(buf);
        if (!*line) continue;
        char *eq = strchr(line, '=');
        char shown[GB_ESCAPE_SIZE];
        if (!eq)
            return gb_fail(GBNET_ERR_FORMAT, "%sexpected 'key = value', got '%s'", where,
                           gb_escape_text(shown, sizeof shown, line));
        *eq = '\0';
        char *key = trim(line), *value = unquote(trim(eq + 1));
        if (!*key) return gb_fail(GBNET_ERR_FORMAT, "%smissing key before '='", where);
        int k = find_key(key);
        if (k < 0) return unknown_key(GBNET_ERR_FORMAT, where, key);
        if (seen[k])
            return gb_fail(GBNET_ERR_FORMAT, "%s'%s' is already set on line %d", where,
                           gb_escape_text(shown, sizeof shown, key), seen[k]);
        seen[k] = line_no;
        gbnet_status st = assign(c, k, value, where, dir);
        if (st) return st;
        c->line[k] = line_no;
    }
    return GBNET_OK;
}

gbnet_status gbnet_train_config_read(gbnet_train_config *c, const char *path) {
    char *text = NULL;
    size_t size = 0;
    gbnet_status st = gb_load_file(path, &text, &size);
    if (st) return st;
    if (strlen(text) != size) {
        free(text);
        return gb_fail(GBNET_ERR_FORMAT, "%s: not a text file (contains a NUL byte)", path);
    }
    char dir[GB_CFG_TEXT_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else dir[0] = '\0';
    if (slash == dir) strcpy(dir, "/");
    st = gb_train_config_parse(c, text, path, dir);
    free(text);
    /* default file names (output, log, checkpoint) live beside the config too */
    for (int k = 0; !st && k < N_KEYS; ++k) {
        char *field = (char *)c + keys[k].offset;
        if (keys[k].type == T_PATH && c->line[k] == 0 && field[0] && field[0] != '/') {
            char joined[GB_CFG_TEXT_MAX];
            if (!join_path(joined, sizeof joined, dir, field))
                return gb_fail(GBNET_ERR_FORMAT, "%s: path of %s too long", path, keys[k].info.name);
            strcpy(field, joined);
        }
    }
    return st;
}

gbnet_status gbnet_train_config_set(gbnet_train_config *c, const char *assignment) {
    char buf[2 * GB_CFG_TEXT_MAX];
    if (strlen(assignment) >= sizeof buf) return gb_fail(GBNET_ERR_FORMAT, "--set: value too long");
    strcpy(buf, assignment);
    char *eq = strchr(buf, '=');
    if (!eq) return gb_fail(GBNET_ERR_FORMAT, "--set '%s': expected key=value", assignment);
    *eq = '\0';
    char *key = trim(buf), *value = unquote(trim(eq + 1));
    int k = find_key(key);
    if (k < 0) return unknown_key(GBNET_ERR_FORMAT, "--set: ", key);
    gbnet_status st = assign(c, k, value, "--set: ", NULL);
    if (!st) c->line[k] = -1;
    return st;
}

int gbnet_train_config_is_set(const gbnet_train_config *c, const char *key) {
    int k = find_key(key);
    return k >= 0 && c->line[k] != 0;
}

/* "FILE:LINE: " of where key was set ("" for defaults). */
static void where_set(char *out, size_t size, const gbnet_train_config *c, const char *key) {
    int k = find_key(key);
    if (k < 0 || c->line[k] == 0) snprintf(out, size, "%s: ", c->source[0] ? c->source : "config");
    else if (c->line[k] < 0) snprintf(out, size, "--set %s: ", key);
    else snprintf(out, size, "%s:%d: ", c->source, c->line[k]);
}

gbnet_status gb_config_parse_elements(const char *text, int *atomic_numbers, int *n_out) {
    int n = 0;
    const char *p = text;
    while (*p) {
        while (isspace((unsigned char)*p) || *p == ',') ++p;
        if (!*p) break;
        char symbol[8];
        size_t len = 0;
        while (p[len] && !isspace((unsigned char)p[len]) && p[len] != ',') ++len;
        char shown[GB_ESCAPE_SIZE];
        if (len >= sizeof symbol)
            return gb_fail(GBNET_ERR_FORMAT, "'%s' is not a chemical element", gb_escape(shown, 32, p, len));
        memcpy(symbol, p, len);
        symbol[len] = '\0';
        p += len;
        int z = gbnet_atomic_number(symbol);
        if (z <= 0)
            return gb_fail(GBNET_ERR_FORMAT, "'%s' is not a chemical element",
                           gb_escape_text(shown, sizeof shown, symbol));
        for (int i = 0; i < n; ++i)
            if (atomic_numbers[i] == z) return gb_fail(GBNET_ERR_FORMAT, "element %s is listed twice", symbol);
        if (n == GBNET_MAX_ELEMENTS) return gb_fail(GBNET_ERR_FORMAT, "more than %d elements", GBNET_MAX_ELEMENTS);
        atomic_numbers[n++] = z;
    }
    *n_out = n;
    return GBNET_OK;
}

gbnet_status gbnet_train_config_check(const gbnet_train_config *c) {
    char where[GB_CFG_TEXT_MAX + 64];
    if (!c->train_data[0]) {
        where_set(where, sizeof where, c, "train_data");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%strain_data is required (files or DeePMD folders)", where);
    }
    int methods = (c->valid_data[0] != 0) + (c->valid_key[0] != 0) +
                  (gbnet_train_config_is_set(c, "valid_fraction") && c->valid_fraction > 0);
    if (methods > 1) {
        const char *second = c->valid_key[0] && c->valid_data[0] ? "valid_key" :
                             gbnet_train_config_is_set(c, "valid_fraction") ? "valid_fraction" : "valid_key";
        where_set(where, sizeof where, c, second);
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "%suse one of valid_data, valid_fraction and valid_key, not several", where);
    }
    const char *key_names[2] = {"valid_key", "exclude_key"}, *key_values[2] = {c->valid_key, c->exclude_key};
    for (int k = 0; k < 2; ++k) {
        const char *value = key_values[k], *eq = strchr(value, '=');
        if (value[0] && (!eq || eq == value || !eq[1])) {
            where_set(where, sizeof where, c, key_names[k]);
            char shown[GB_ESCAPE_SIZE];
            return gb_fail(GBNET_ERR_FORMAT, "%s%s = '%s': expected KEY=PATTERN, e.g. %s", where, key_names[k],
                           gb_escape_text(shown, sizeof shown, value), k == 0 ? "subset=data_3*" : "config_type=Volume_*");
        }
    }
    if (c->elements[0]) {
        int z[GBNET_MAX_ELEMENTS], n;
        if (gb_config_parse_elements(c->elements, z, &n)) {
            char message[512];
            snprintf(message, sizeof message, "%s", gbnet_last_error());
            where_set(where, sizeof where, c, "elements");
            return gb_fail(GBNET_ERR_FORMAT, "%selements: %s", where, message);
        }
    }
    if (c->rank[0]) {
        gbnet_rank_spec spec;
        memset(&spec, 0, sizeof spec);
        gbnet_status st = gbnet_rank_spec_parse(&spec, c->rank);
        gbnet_hyperparams hp;
        gbnet_hyperparams_default(&hp);
        hp.n_features = c->features;
        hp.n_blocks = c->blocks;
        hp.readout_width = c->readout;
        /* ranges against the configured sizes; a fine-tuned model's are checked against the model */
        if (!st && !c->init_from[0]) st = gb_ranks_check(&spec.rank, &hp);
        if (st) {
            char message[512];
            snprintf(message, sizeof message, "%s", gbnet_last_error());
            where_set(where, sizeof where, c, "rank");
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%s%s", where, message);
        }
    }
    if (c->zbl_outer > c->cutoff) {
        where_set(where, sizeof where, c, "zbl_outer");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%szbl_outer (%g A) is beyond the cutoff (%g A)", where,
                       c->zbl_outer, c->cutoff);
    }
    if (c->zbl_inner > 0 && c->zbl_outer > 0 && !(c->zbl_inner < c->zbl_outer)) {
        where_set(where, sizeof where, c, "zbl_inner");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%szbl_inner (%g A) must be below zbl_outer (%g A)", where,
                       c->zbl_inner, c->zbl_outer);
    }
    if (c->w_energy == 0 && c->w_forces == 0 && c->w_stress == 0) {
        where_set(where, sizeof where, c, "w_energy");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%sall loss weights are zero", where);
    }
    if (c->lr_min > c->lr) {
        where_set(where, sizeof where, c, "lr_min");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%slr_min (%g) is above lr (%g)", where, c->lr_min, c->lr);
    }
    if (!c->output[0]) {
        where_set(where, sizeof where, c, "output");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%soutput must name a file", where);
    }
    if (!c->checkpoint[0]) {
        where_set(where, sizeof where, c, "checkpoint");
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "%scheckpoint must name a file", where);
    }
    return GBNET_OK;
}

gbnet_status gbnet_train_config_create(gbnet_train_config **out) {
    *out = gb_malloc(sizeof **out);
    if (!*out) return GBNET_ERR_NO_MEMORY;
    gb_train_config_defaults(*out);
    return GBNET_OK;
}

void gbnet_train_config_free(gbnet_train_config *c) { free(c); }

/* The text of key k's value, as a config file would give it. */
/* A text value as a config line must write it to read back the same
 * (gb_train_config_parse trims blanks, takes '#' as a comment and removes one
 * pair of surrounding quotes): quoted when it has outer blanks, a '#', or
 * surrounding quotes of its own, with a quote character it does not contain. */
static void quote_if_needed(char *out, size_t size, const char *text) {
    size_t n = strlen(text);
    int outer_blank = n > 0 && (isspace((unsigned char)text[0]) || isspace((unsigned char)text[n - 1]));
    int quoted = n >= 2 && (text[0] == '"' || text[0] == '\'') && text[n - 1] == text[0];
    if (!outer_blank && !quoted && !strchr(text, '#')) {
        snprintf(out, size, "%s", text);
        return;
    }
    /* the reader's quoted value ends at the first quote of its kind: a '#'
     * after it would start a comment (quote_for) */
    char q = quote_for(text);
    snprintf(out, size, "%c%s%c", q, text, q);
}

static void format_value(char *value, size_t size, const gbnet_train_config *c, int k) {
    const key_spec *s = &keys[k];
    const char *field = (const char *)c + s->offset;
    switch (s->type) {
    case T_INT: snprintf(value, size, "%d", *(const int *)field); break;
    case T_U64: snprintf(value, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case T_REAL: snprintf(value, size, "%.17g", *(const double *)field); break;
    case T_BOOL: snprintf(value, size, "%s", *(const int *)field ? "true" : "false"); break;
    case T_CHOICE: snprintf(value, size, "%s", s->choices[*(const int *)field]); break;
    default: quote_if_needed(value, size, field); break;
    }
}

gbnet_status gbnet_train_config_get(const gbnet_train_config *c, const char *key, char *value, size_t size) {
    if (!key) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_train_config_get: NULL key");
    int k = find_key(key);
    if (k < 0) return unknown_key(GBNET_ERR_INVALID_ARGUMENT, "", key);
    char text[GB_CFG_TEXT_MAX + 32];
    format_value(text, sizeof text, c, k);
    if (!value || strlen(text) + 1 > size)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "the value of '%s' needs %zu bytes", key, strlen(text) + 1);
    memcpy(value, text, strlen(text) + 1);
    return GBNET_OK;
}

size_t gbnet_train_config_format(const gbnet_train_config *c, char *text, size_t size) {
    size_t used = 0;
    for (int k = 0; k < N_KEYS; ++k) {
        const key_spec *s = &keys[k];
        char value[GB_CFG_TEXT_MAX + 8];
        format_value(value, sizeof value, c, k);
        int fits = text && used < size;
        int n = snprintf(fits ? text + used : NULL, fits ? size - used : 0, "%s = %s\n", s->info.name, value);
        if (n > 0) used += (size_t)n;
    }
    return used;
}
