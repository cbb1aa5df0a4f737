/* Reading, splitting and checking the training data. */
#define _POSIX_C_SOURCE 200809L
#include "train_data.h"

#include "coverage.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "rng.h"

int gb_frame_number(const gbnet_dataset *ds, const gbnet_frame *f) {
    int k = 1;
    for (int i = 0; i < ds->n_frames && &ds->frames[i] != f; ++i)
        if (ds->frames[i].source == f->source) ++k;
    return k;
}

/* Reads every path of a whitespace-separated list; an empty file is an error. */
static gbnet_status read_paths(gbnet_dataset *ds, const char *list, const char *key) {
    const char *p = list;
    while (*p) {
        while (isspace((unsigned char)*p)) ++p;
        if (!*p) break;
        const char *end = p;
        while (*end && !isspace((unsigned char)*end)) ++end;
        char path[GB_CFG_TEXT_MAX];
        snprintf(path, sizeof path, "%.*s", (int)(end - p), p);
        p = end;
        int before = ds->n_frames;
        gbnet_status st = gbnet_dataset_read(ds, path);
        if (st) {
            char message[2048];
            snprintf(message, sizeof message, "%s", gbnet_last_error());
            return gb_fail(st, "%s: %s", key, message);
        }
        if (ds->n_frames == before) return gb_fail(GBNET_ERR_FORMAT, "%s: %s holds no frames", key, path);
    }
    return GBNET_OK;
}

static int compare_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Does frame f's metadata match "KEY=PATTERN" (shell wildcards)? An empty
 * spec matches nothing. */
static int frame_matches(const gbnet_frame *f, const char *spec) {
    if (!spec[0]) return 0;
    char key[GB_CFG_TEXT_MAX];
    snprintf(key, sizeof key, "%s", spec);
    char *pattern = strchr(key, '=');
    if (!pattern) return 0;
    *pattern++ = '\0';
    const char *value = gbnet_frame_info(f, key);
    return value && fnmatch(pattern, value, 0) == 0;
}

/* Elements: the configured list, or every element of the data by Z. */
static gbnet_status choose_elements(gb_train_data *d, const gbnet_train_config *c) {
    if (c->elements[0]) {
        gbnet_status st = gb_config_parse_elements(c->elements, d->atomic_numbers, &d->n_elements);
        if (st) return st;
        if (d->n_elements == 0) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "elements: the list is empty");
        return GBNET_OK;
    }
    int present[119] = {0};
    const gbnet_dataset *sets[2] = {&d->train_ds, &d->valid_ds};
    for (int s = 0; s < 2; ++s)
        for (int i = 0; i < sets[s]->n_frames; ++i) {
            if (frame_matches(&sets[s]->frames[i], c->exclude_key)) continue;
            for (int a = 0; a < sets[s]->frames[i].n_atoms; ++a) {
                int z = sets[s]->frames[i].z[a];
                if (z > 0 && z < 119) present[z] = 1;
            }
        }
    d->n_elements = 0;
    for (int z = 1; z < 119; ++z)
        if (present[z]) {
            if (d->n_elements == GBNET_MAX_ELEMENTS)
                return gb_fail(GBNET_ERR_UNSUPPORTED, "the data holds more than %d elements", GBNET_MAX_ELEMENTS);
            d->atomic_numbers[d->n_elements++] = z;
        }
    qsort(d->atomic_numbers, (size_t)d->n_elements, sizeof(int), compare_int);
    return GBNET_OK;
}

/* Labels and elements of one frame against the config. */
static gbnet_status check_frame(const gbnet_dataset *ds, const gbnet_frame *f, const gb_train_data *d,
                                const gbnet_train_config *c) {
    const char *src = f->source ? f->source : "?";
    int number = gb_frame_number(ds, f);
    if (f->n_atoms <= 0) return gb_fail(GBNET_ERR_FORMAT, "%s:%d: frame %d has no atoms", src, f->line, number);
    if (c->w_forces > 0 && !f->forces)
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: frame %d has no forces but w_forces > 0 (set w_forces = 0 to train "
                       "without forces)", src, f->line, number);
    if (c->w_energy > 0 && !f->has_energy)
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: frame %d has no energy but w_energy > 0 (set w_energy = 0 to train "
                       "without energies)", src, f->line, number);
    int finite = !f->has_energy || isfinite(f->energy);
    for (int c = 0; c < 3 * f->n_atoms; ++c) finite &= isfinite(f->pos[c]) && (!f->forces || isfinite(f->forces[c]));
    if (!finite)
        return gb_fail(GBNET_ERR_FORMAT, "%s:%d: frame %d has a NaN or infinite position, force or energy", src,
                       f->line, number);
    for (int a = 0; a < f->n_atoms; ++a) {
        int known = 0;
        for (int e = 0; e < d->n_elements; ++e) known |= d->atomic_numbers[e] == f->z[a];
        if (!known)
            return gb_fail(GBNET_ERR_FORMAT, "%s:%d: frame %d, atom %d is %s, which is not in elements = %s", src,
                           f->line, number, a + 1, gbnet_element_symbol(f->z[a]), c->elements);
    }
    return GBNET_OK;
}

/* committee_bootstrap: the training frames become n_train draws with
 * replacement (by the member's seed), kept in file order so only the sample
 * differs between members, not the order of anything else. */
static gbnet_status bootstrap(gb_train_data *d, const gbnet_train_config *c) {
    int n = d->n_train;
    int *count = calloc((size_t)n, sizeof *count);
    const gbnet_frame **drawn = malloc((size_t)n * sizeof *drawn);
    if (!count || !drawn) {
        free(count);
        free(drawn);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory drawing the bootstrap sample of %d frames", n);
    }
    gb_rng rng;
    gb_rng_seed(&rng, gb_member_seed(c) ^ 0x626f6f74ULL);
    for (int k = 0; k < n; ++k) count[gb_rng_below(&rng, (uint64_t)n)]++;
    int at = 0;
    for (int i = 0; i < n; ++i)
        for (int r = 0; r < count[i]; ++r) drawn[at++] = d->train[i];
    memcpy(d->train, drawn, (size_t)n * sizeof *drawn);
    free(count);
    free(drawn);
    return GBNET_OK;
}

/* Splits train_ds by the config: into d->train and d->valid. */
static gbnet_status split(gb_train_data *d, const gbnet_train_config *c) {
    int n = d->train_ds.n_frames;
    d->train = malloc((size_t)n * sizeof *d->train);
    d->valid = malloc(((size_t)n + (size_t)d->valid_ds.n_frames) * sizeof *d->valid);
    char *is_valid = calloc((size_t)n + 1, 1);
    if (!d->train || !d->valid || !is_valid) {
        free(is_valid);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory splitting %d frames", n);
    }
    if (c->valid_data[0]) {
        for (int i = 0; i < d->valid_ds.n_frames; ++i) {
            if (frame_matches(&d->valid_ds.frames[i], c->exclude_key)) d->n_excluded++;
            else d->valid[d->n_valid++] = &d->valid_ds.frames[i];
        }
    } else if (c->valid_key[0]) {
        for (int i = 0; i < n; ++i) is_valid[i] = frame_matches(&d->train_ds.frames[i], c->valid_key);
    } else if (c->valid_fraction > 0) {
        /* a generator of its own, so the split depends on the seed alone */
        int *order = malloc((size_t)n * sizeof *order);
        if (!order) {
            free(is_valid);
            return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory splitting %d frames", n);
        }
        for (int i = 0; i < n; ++i) order[i] = i;
        gb_rng rng;
        gb_rng_seed(&rng, c->seed ^ 0x76616c6964ULL);
        gb_rng_shuffle(&rng, order, n);
        int n_valid = (int)(c->valid_fraction * n + 0.5);
        if (n_valid < 1) n_valid = 1;
        for (int k = 0; k < n_valid; ++k) is_valid[order[k]] = 1;
        free(order);
    }
    for (int i = 0; i < n; ++i) {
        if (frame_matches(&d->train_ds.frames[i], c->exclude_key)) d->n_excluded++;
        else if (is_valid[i]) d->valid[d->n_valid++] = &d->train_ds.frames[i];
        else d->train[d->n_train++] = &d->train_ds.frames[i];
    }
    free(is_valid);
    if (c->valid_key[0] && d->n_valid == 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "valid_key = %s matches no frame of train_data", c->valid_key);
    if (c->exclude_key[0] && d->n_excluded == 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "exclude_key = %s matches no frame of the data", c->exclude_key);
    if (d->n_train == 0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "no training frames are left after the validation split%s",
                       c->exclude_key[0] ? " and exclude_key" : "");
    return c->committee_bootstrap ? bootstrap(d, c) : GBNET_OK;
}

gbnet_status gb_train_data_load(gb_train_data *d, const gbnet_train_config *c) {
    gbnet_status st = read_paths(&d->train_ds, c->train_data, "train_data");
    if (!st && c->valid_data[0]) st = read_paths(&d->valid_ds, c->valid_data, "valid_data");
    if (!st) st = choose_elements(d, c);
    if (!st) st = split(d, c);
    for (int i = 0; !st && i < d->n_train; ++i) {
        st = check_frame(&d->train_ds, d->train[i], d, c);
        d->train_atoms += d->train[i]->n_atoms;
    }
    for (int i = 0; !st && i < d->n_valid; ++i) {
        const gbnet_dataset *ds = c->valid_data[0] ? &d->valid_ds : &d->train_ds;
        st = check_frame(ds, d->valid[i], d, c);
        d->valid_atoms += d->valid[i]->n_atoms;
    }
    return st;
}

static gbnet_status build_samples(gb_sample **out, const gbnet_frame **frames, int n, const gbnet_dataset *ds,
                                  const gbnet_model *model, double min_distance) {
    gb_sample *s = gb_calloc((size_t)(n > 0 ? n : 1), sizeof *s);
    if (!s) return GBNET_ERR_NO_MEMORY;
    *out = s;
    for (int i = 0; i < n; ++i) {
        gbnet_status st = gb_sample_init(&s[i], frames[i], model, min_distance);
        if (st) {
            char message[2048];
            snprintf(message, sizeof message, "%s", gbnet_last_error());
            return gb_fail(st, "%s (frame %d of that file)", message, gb_frame_number(ds, frames[i]));
        }
    }
    return GBNET_OK;
}

static double cell_volume(const double *c);

/* largest stress component magnitude of a frame's label, GPa */
static double largest_stress(const gbnet_frame *f) {
    double V = cell_volume(f->cell), largest = 0.0;
    for (int c = 0; c < 9; ++c) {
        double s = fabs(f->virial[c] / V) * GB_GPA_PER_EV_A3;
        if (s > largest) largest = s;
    }
    return largest;
}

gbnet_status gb_train_data_build(gb_train_data *d, const gbnet_model *model, double min_distance,
                                 double stress_max) {
    gbnet_status st = build_samples(&d->train_samples, d->train, d->n_train, &d->train_ds, model, min_distance);
    if (!st)
        st = build_samples(&d->valid_samples, d->valid, d->n_valid, d->valid_ds.n_frames ? &d->valid_ds : &d->train_ds,
                           model, min_distance);
    d->n_stress_skipped = 0;
    for (int k = 0; !st && stress_max > 0 && k < d->n_train + d->n_valid; ++k) {
        gb_sample *s = k < d->n_train ? &d->train_samples[k] : &d->valid_samples[k - d->n_train];
        const gbnet_frame *f = s->frame;
        if (f->has_virial && f->has_cell && largest_stress(f) > stress_max) {
            s->skip_stress = 1;
            d->n_stress_skipped++;
        }
    }
    return st;
}

void gb_train_data_free(gb_train_data *d) {
    if (d->train_samples)
        for (int i = 0; i < d->n_train; ++i) gb_sample_free(&d->train_samples[i]);
    if (d->valid_samples)
        for (int i = 0; i < d->n_valid; ++i) gb_sample_free(&d->valid_samples[i]);
    free(d->train_samples);
    free(d->valid_samples);
    free(d->train);
    free(d->valid);
    gbnet_dataset_free(&d->train_ds);
    gbnet_dataset_free(&d->valid_ds);
    memset(d, 0, sizeof *d);
}

static double cell_volume(const double *c) {
    return fabs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                c[2] * (c[3] * c[7] - c[4] * c[6]));
}

void gb_train_data_coverage(const gb_train_data *d, const gbnet_train_config *c, gbnet_coverage *out) {
    memset(out, 0, sizeof *out);
    int has_energy = 0, has_forces = 0, has_stress = 0;
    for (int k = 0; k < d->n_train; ++k) {
        const gb_sample *s = &d->train_samples[k];
        const gbnet_frame *f = s->frame;
        has_energy |= f->has_energy;
        has_forces |= f->forces != NULL;
        has_stress |= f->has_virial && f->has_cell;
        int periodic = f->has_cell && f->pbc[0] && f->pbc[1] && f->pbc[2];
        gb_coverage_add(out, f->n_atoms, s->species, s->nl.offsets, s->nl.neighbor, s->nl.vec,
                        periodic ? f->cell : NULL);
    }
    out->trained_energies = has_energy && c->w_energy > 0;
    out->trained_forces = has_forces && c->w_forces > 0;
    out->trained_stresses = has_stress && c->w_stress > 0;
}

/* auto inner radius as a fraction of the outer one */
#define GB_ZBL_AUTO_INNER_FRACTION 0.75

gbnet_status gb_train_zbl_radii(const gbnet_train_config *c, const gbnet_coverage *coverage, int n,
                                const int *atomic_numbers, double cutoff,
                                double *inner, double *outer) {
    double closest = 0.0; /* over all pairs seen: the radius of pairs the data never brought within the cutoff */
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            double d = coverage->shortest_distance[a][b];
            if (d > 0.0 && (closest == 0.0 || d < closest)) closest = d;
        }
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            double ro = c->zbl_outer > 0 ? c->zbl_outer : coverage->shortest_distance[a][b];
            if (!(ro > 0.0)) ro = closest > 0.0 ? closest : 0.5 * cutoff;
            double ri = c->zbl_inner > 0 ? c->zbl_inner : GB_ZBL_AUTO_INNER_FRACTION * ro;
            if (!(ri < ro))
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                               "zbl_inner = %g A is not below the outer radius %g A of the repulsive core's %s-%s pair "
                               "(its shortest distance in the training data): lower zbl_inner or set zbl_outer",
                               ri, ro, gbnet_element_symbol(atomic_numbers[a]), gbnet_element_symbol(atomic_numbers[b]));
            inner[a * n + b] = ri;
            outer[a * n + b] = ro;
        }
    return GBNET_OK;
}

gbnet_status gb_train_data_set_repulsion(gb_train_data *d, const gbnet_model *model) {
    for (int k = 0; k < d->n_train; ++k) {
        gbnet_status st = gb_sample_set_repulsion(&d->train_samples[k], model);
        if (st) return st;
    }
    for (int k = 0; k < d->n_valid; ++k) {
        gbnet_status st = gb_sample_set_repulsion(&d->valid_samples[k], model);
        if (st) return st;
    }
    return GBNET_OK;
}
