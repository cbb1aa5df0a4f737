/* The .gbnet potential file: reader and atomic writer.
 *
 * Layout (docs/potential-format.md is the specification):
 *   header   "GBNETPOT" | u32 version (= 1) | u32 reserved (= 0)
 *   sections tag[4] | u32 flags (bit 0: optional) | u64 payload length | payload
 *   last     "END!" | flags 0 | length 8 | u64 FNV-1a 64 of every byte before "END!"
 * All numbers little-endian; floating point is IEEE-754 binary64. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "committee.h"
#include "escape.h"
#include "files.h"
#include "gb_error.h"
#include "model.h"
#include "potential_file.h"
#include "zbl.h"

#define HEADER_BYTES 16u
#define SECTION_HEADER_BYTES 16u
#define END_SECTION_BYTES (SECTION_HEADER_BYTES + 8u)
#define FLAG_OPTIONAL 1u

static const unsigned char k_magic[8] = {'G', 'B', 'N', 'E', 'T', 'P', 'O', 'T'};

uint64_t gb_fnv1a64(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ------------------------------------------------------------ decoding */

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static double get_f64(const unsigned char *p) {
    uint64_t bits = get_u64(p);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Reads the whole file; files are a few MB at most (parameters + tables). */
static gbnet_status read_all(const char *path, unsigned char **out, size_t *size) {
    *out = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return gb_fail(GBNET_ERR_IO, "potential file '%s': cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (!gb_reserve((void **)&buf, &cap, n + 65536)) {
            free(buf);
            fclose(f);
            return GBNET_ERR_NO_MEMORY;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    int err = errno;
    fclose(f);
    if (failed) {
        free(buf);
        return gb_fail(GBNET_ERR_IO, "potential file '%s': read error: %s", path, strerror(err));
    }
    *out = buf;
    *size = n;
    return GBNET_OK;
}

/* What the sections said, before it becomes a model. */
typedef struct {
    const char *path;
    gbnet_hyperparams hp;
    int have_hyper, have_elements, have_units, have_norm, have_params, have_table, have_provenance;
    double scale, shift, e_ref[GBNET_MAX_ELEMENTS];
    const unsigned char *params; /* [n_params] f64 inside the file buffer */
    uint64_t n_params;
    const unsigned char *table_values, *table_derivs; /* [T][n_points][F] f64 each */
    uint32_t table_points;
    const unsigned char *provenance;
    uint64_t provenance_len;
    int have_zbl;                 /* ZBLR: the repulsive core */
    double zbl_inner[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS], zbl_outer[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS];
    int have_coverage;            /* COVR: what the training data covered */
    int have_quant;               /* QUNT: quantized dense layers */
    gb_quant_record quant;
    gbnet_coverage coverage;
    int have_features;            /* FRNG: the readout's input ranges */
    gbnet_feature_ranges features;  /* min, max point into the file buffer's copy below */
    double *features_data;        /* [2][n][F], owned (freed with the parsed file) */
    uint64_t features_hash;
    int have_ranks;               /* RANK: factored dense layers (before PARM, which it sizes) */
    gbnet_ranks ranks;
    int have_committee;
    const unsigned char *committee; /* CMTE payload: the further members (parse_committee) */
    uint64_t committee_len;
} parsed_file;

static gbnet_status bad(const parsed_file *pf, const char *tag, const char *what) {
    return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section %.4s: %s", pf->path, tag, what);
}

static gbnet_status need_hyper(const parsed_file *pf, const char *tag) {
    return pf->have_hyper ? GBNET_OK : bad(pf, tag, "appears before the HYPR section it depends on");
}

static gbnet_status parse_hyper(parsed_file *pf, const unsigned char *p, uint64_t len) {
    if (len < 28) return bad(pf, "HYPR", "payload shorter than 28 bytes");
    uint32_t n_el = get_u32(p + 24);
    gbnet_status st = gb_hyperparams_check_sizes(get_u32(p), get_u32(p + 4), get_u32(p + 8), get_u32(p + 12), n_el);
    if (!st && len != 28 + 4 * (uint64_t)n_el)
        st = gb_fail(GBNET_ERR_FORMAT, "length %llu, expected %u for %u elements", (unsigned long long)len,
                     28 + 4 * n_el, n_el);
    gbnet_hyperparams *hp = &pf->hp;
    memset(hp, 0, sizeof *hp);
    if (!st) { /* the sizes are in range: the int conversions are exact */
        hp->n_features = (int)get_u32(p);
        hp->n_blocks = (int)get_u32(p + 4);
        hp->n_rbf = (int)get_u32(p + 8);
        hp->readout_width = (int)get_u32(p + 12);
        hp->cutoff = get_f64(p + 16);
        hp->n_elements = (int)n_el;
        for (uint32_t e = 0; e < n_el && !st; ++e) {
            uint32_t z = get_u32(p + 28 + 4 * e);
            st = gb_atomic_number_check((int)e, z);
            hp->atomic_numbers[e] = (int)(st ? 0 : z);
        }
        if (!st) st = gb_hyperparams_check(hp);
    }
    if (st) { /* one wording for a range error, whichever check found it */
        char why[512];
        snprintf(why, sizeof why, "%s", gbnet_last_error());
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section HYPR: %s", pf->path, why);
    }
    pf->have_hyper = 1;
    return GBNET_OK;
}

static gbnet_status parse_elements(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "ELEM");
    if (st) return st;
    if (len != 4 * (uint64_t)pf->hp.n_elements) return bad(pf, "ELEM", "length is not 4 bytes per element");
    for (int e = 0; e < pf->hp.n_elements; ++e) {
        char symbol[5] = {0};
        memcpy(symbol, p + 4 * e, 4);
        const char *expected = gbnet_element_symbol(pf->hp.atomic_numbers[e]);
        int padded = 1; /* bytes after the symbol must be NUL, so each name has one encoding */
        for (size_t c = strlen(symbol); c < 4; ++c) padded = padded && p[4 * e + c] == 0;
        char shown[GB_ESCAPE_SIZE];
        if (strcmp(symbol, expected) != 0 || !padded)
            return gb_fail(GBNET_ERR_FORMAT,
                           "potential file '%s': section ELEM: element %d is named '%s' but its atomic number %d is %s",
                           pf->path, e, gb_escape(shown, sizeof shown, p + 4 * e, 4), pf->hp.atomic_numbers[e],
                           expected);
    }
    pf->have_elements = 1;
    return GBNET_OK;
}

static gbnet_status parse_units(parsed_file *pf, const unsigned char *p, uint64_t len) {
    char shown[GB_ESCAPE_SIZE];
    if (len != 5 || memcmp(p, "metal", 5) != 0)
        return gb_fail(GBNET_ERR_UNSUPPORTED, "potential file '%s': section UNIT: units '%s' are not supported (only 'metal')",
                       pf->path, gb_escape(shown, sizeof shown, p, (size_t)len));
    pf->have_units = 1;
    return GBNET_OK;
}

static gbnet_status parse_norm(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "NORM");
    if (st) return st;
    if (len != 16 + 8 * (uint64_t)pf->hp.n_elements) return bad(pf, "NORM", "length is not 16 + 8 * n_elements bytes");
    pf->scale = get_f64(p);
    pf->shift = get_f64(p + 8);
    for (int e = 0; e < pf->hp.n_elements; ++e) pf->e_ref[e] = get_f64(p + 16 + 8 * e);
    if (!isfinite(pf->scale) || pf->scale == 0.0 || !isfinite(pf->shift))
        return gb_fail(GBNET_ERR_NUMERIC, "potential file '%s': section NORM: energy scale %g / shift %g not usable",
                       pf->path, pf->scale, pf->shift);
    for (int e = 0; e < pf->hp.n_elements; ++e)
        if (!isfinite(pf->e_ref[e]))
            return gb_fail(GBNET_ERR_NUMERIC, "potential file '%s': section NORM: reference energy of element %d is %g",
                           pf->path, e, pf->e_ref[e]);
    pf->have_norm = 1;
    return GBNET_OK;
}

static gbnet_status parse_params(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "PARM");
    if (st) return st;
    if (len < 8) return bad(pf, "PARM", "payload shorter than its 8-byte count");
    uint64_t n = get_u64(p);
    gb_layout layout;
    size_t expected = gb_layout_compute_ranked(&layout, &pf->hp, &pf->ranks);
    if (n != expected)
        return gb_fail(GBNET_ERR_FORMAT,
                       "potential file '%s': section PARM: %llu parameters, but the hyperparameters need %zu",
                       pf->path, (unsigned long long)n, expected);
    if ((len - 8) / 8 != n || (len - 8) % 8 != 0)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section PARM: length %llu does not hold %llu float64",
                       pf->path, (unsigned long long)len, (unsigned long long)n);
    for (uint64_t i = 0; i < n; ++i) {
        double v = get_f64(p + 8 + 8 * i);
        if (!isfinite(v))
            return gb_fail(GBNET_ERR_NUMERIC, "potential file '%s': section PARM: parameter %llu is %g",
                           pf->path, (unsigned long long)i, v);
    }
    pf->params = p + 8;
    pf->n_params = n;
    pf->have_params = 1;
    return GBNET_OK;
}

static gbnet_status parse_table(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "FTAB");
    if (st) return st;
    if (len < 12) return bad(pf, "FTAB", "payload shorter than 12 bytes");
    uint32_t n_points = get_u32(p), T = get_u32(p + 4), F = get_u32(p + 8);
    if (T != (uint32_t)pf->hp.n_blocks || F != (uint32_t)pf->hp.n_features)
        return gb_fail(GBNET_ERR_FORMAT,
                       "potential file '%s': section FTAB: table is for T=%u, F=%u but the model has T=%d, F=%d",
                       pf->path, T, F, pf->hp.n_blocks, pf->hp.n_features);
    if (n_points < 2 || n_points > 100000000u)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section FTAB: %u grid points, expected 2..1e8", pf->path,
                       n_points);
    uint64_t count = (uint64_t)T * n_points * F;
    if (len != 12 + 16 * count)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section FTAB: length %llu, expected %llu", pf->path,
                       (unsigned long long)len, (unsigned long long)(12 + 16 * count));
    for (uint64_t i = 0; i < 2 * count; ++i) {
        double v = get_f64(p + 12 + 8 * i);
        if (!isfinite(v))
            return gb_fail(GBNET_ERR_NUMERIC, "potential file '%s': section FTAB: %s entry %llu is %g", pf->path,
                           i < count ? "value" : "derivative", (unsigned long long)(i % count), v);
    }
    pf->table_points = n_points;
    pf->table_values = p + 12;
    pf->table_derivs = p + 12 + 8 * count;
    pf->have_table = 1;
    return GBNET_OK;
}

static gbnet_status parse_provenance(parsed_file *pf, const unsigned char *p, uint64_t len) {
    if (memchr(p, 0, len)) return bad(pf, "PROV", "text contains a NUL byte");
    pf->provenance = p;
    pf->provenance_len = len;
    pf->have_provenance = 1;
    return GBNET_OK;
}

/* RANK: u32 version (1) | u32 T | u32 in[T] | u32 out1[T] | u32 out2[T] |
 * u32 readout; 0 = a full layer. Required (a reader without it would read
 * PARM with the wrong layout) and before PARM. */
static gbnet_status parse_ranks(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "RANK");
    if (st) return st;
    if (pf->have_params) return bad(pf, "RANK", "appears after the PARM section whose layout it gives");
    if (len < 8) return bad(pf, "RANK", "payload shorter than its 8-byte header");
    uint32_t version = get_u32(p), T = get_u32(p + 4);
    if (version != 1)
        return gb_fail(GBNET_ERR_VERSION, "potential file '%s': section RANK: version %u, this gbnet reads version 1",
                       pf->path, version);
    if (T != (uint32_t)pf->hp.n_blocks)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section RANK: ranks for %u blocks, but HYPR has %d",
                       pf->path, T, pf->hp.n_blocks);
    if (len != 12 + 12 * (uint64_t)T)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section RANK: length %llu, expected %llu", pf->path,
                       (unsigned long long)len, (unsigned long long)(12 + 12 * (uint64_t)T));
    gbnet_ranks r;
    memset(&r, 0, sizeof r);
    const unsigned char *q = p + 8;
    for (uint32_t t = 0; t < T; ++t) {
        uint32_t v[3] = {get_u32(q + 4 * t), get_u32(q + 4 * (T + t)), get_u32(q + 4 * (2 * T + t))};
        for (int k = 0; k < 3; ++k)
            if (v[k] > 4096) return bad(pf, "RANK", "a rank is larger than any layer");
        r.in[t] = (int)v[0], r.out1[t] = (int)v[1], r.out2[t] = (int)v[2];
    }
    uint32_t ro = get_u32(q + 12 * T);
    if (ro > 4096) return bad(pf, "RANK", "a rank is larger than any layer");
    r.readout = (int)ro;
    if (gb_ranks_check(&r, &pf->hp)) {
        char why[512];
        snprintf(why, sizeof why, "%s", gbnet_last_error());
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section RANK: %s", pf->path, why);
    }
    pf->ranks = r;
    pf->have_ranks = 1;
    return GBNET_OK;
}

/* ZBLR: the repulsive core, u32 n | f64 inner [n][n] | f64 outer [n][n]. */
static gbnet_status parse_zbl(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "ZBLR");
    if (st) return st;
    uint32_t n = (uint32_t)pf->hp.n_elements;
    if (len != 4 + 16 * (uint64_t)n * n)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section ZBLR: length %llu, expected %llu for %u elements",
                       pf->path, (unsigned long long)len, (unsigned long long)(4 + 16 * (uint64_t)n * n), n);
    if (get_u32(p) != n)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section ZBLR: %u elements, but HYPR has %u", pf->path,
                       get_u32(p), n);
    for (uint32_t a = 0; a < n; ++a)
        for (uint32_t b = 0; b < n; ++b) {
            double ri = get_f64(p + 4 + 8 * (a * n + b)), ro = get_f64(p + 4 + 8 * (n * n + a * n + b));
            if (!isfinite(ri) || !isfinite(ro))
                return gb_fail(GBNET_ERR_NUMERIC, "potential file '%s': section ZBLR: radius of pair %u-%u is not finite",
                               pf->path, a, b);
            if (!(ri > 0.0 && ri < ro && ro <= pf->hp.cutoff))
                return gb_fail(GBNET_ERR_FORMAT,
                               "potential file '%s': section ZBLR: pair %u-%u has inner %g, outer %g A; expected 0 < "
                               "inner < outer <= cutoff %g A",
                               pf->path, a, b, ri, ro, pf->hp.cutoff);
            pf->zbl_inner[a * n + b] = ri;
            pf->zbl_outer[a * n + b] = ro;
        }
    for (uint32_t a = 0; a < n; ++a)
        for (uint32_t b = 0; b < a; ++b)
            if (pf->zbl_inner[a * n + b] != pf->zbl_inner[b * n + a] || pf->zbl_outer[a * n + b] != pf->zbl_outer[b * n + a])
                return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section ZBLR: radii of pairs %u-%u and %u-%u differ",
                               pf->path, a, b, b, a);
    pf->have_zbl = 1;
    return GBNET_OK;
}

/* COVR: what the training data covered, u32 n | u32 frames | u32 flags (bit 0
 * energies, 1 forces, 2 stresses trained) | u32 periodic frames | f64 volume
 * per atom min, max | f64 shortest distance [n][n]. */
static gbnet_status parse_coverage(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "COVR");
    if (st) return st;
    uint32_t n = (uint32_t)pf->hp.n_elements;
    if (len != 32 + 8 * (uint64_t)n * n)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section COVR: length %llu, expected %llu for %u elements",
                       pf->path, (unsigned long long)len, (unsigned long long)(32 + 8 * (uint64_t)n * n), n);
    if (get_u32(p) != n)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section COVR: %u elements, but HYPR has %u", pf->path,
                       get_u32(p), n);
    gbnet_coverage *c = &pf->coverage;
    memset(c, 0, sizeof *c);
    c->n_frames = (int)(get_u32(p + 4) & 0x7fffffffu);
    uint32_t flags = get_u32(p + 8);
    c->trained_energies = (flags & 1u) != 0;
    c->trained_forces = (flags & 2u) != 0;
    c->trained_stresses = (flags & 4u) != 0;
    c->n_periodic = (int)(get_u32(p + 12) & 0x7fffffffu);
    c->volume_per_atom_min = get_f64(p + 16);
    c->volume_per_atom_max = get_f64(p + 24);
    if (!(c->volume_per_atom_min >= 0.0 && c->volume_per_atom_min <= c->volume_per_atom_max &&
          isfinite(c->volume_per_atom_max)))
        return bad(pf, "COVR", "volume per atom range is not 0 <= min <= max (finite)");
    for (uint32_t a = 0; a < n; ++a)
        for (uint32_t b = 0; b < n; ++b) {
            double d = get_f64(p + 32 + 8 * (a * n + b));
            if (!(d >= 0.0 && isfinite(d))) return bad(pf, "COVR", "a shortest distance is negative or not finite");
            c->shortest_distance[a][b] = d;
        }
    pf->have_coverage = 1;
    return GBNET_OK;
}

/* FRNG: the readout's input ranges, u32 n | u32 F | u64 hash of the PARM
 * values they were measured on | u64 atoms [n] | f64 min [n][F] | f64 max
 * [n][F]. F may differ from HYPR's (a stale record, never used). */
static gbnet_status parse_features(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "FRNG");
    if (st) return st;
    if (len < 16) return bad(pf, "FRNG", "payload shorter than its 16-byte header");
    uint32_t n = (uint32_t)pf->hp.n_elements, F = get_u32(p + 4);
    if (get_u32(p) != n)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section FRNG: %u elements, but HYPR has %u", pf->path,
                       get_u32(p), n);
    if (F < 1 || F > 65536)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section FRNG: %u channels, expected 1..65536", pf->path,
                       F);
    uint64_t want = 16 + 8 * (uint64_t)n + 16 * (uint64_t)n * F;
    if (len != want)
        return gb_fail(GBNET_ERR_FORMAT,
                       "potential file '%s': section FRNG: length %llu, expected %llu for %u elements of %u channels",
                       pf->path, (unsigned long long)len, (unsigned long long)want, n, F);
    gbnet_feature_ranges *r = &pf->features;
    memset(r, 0, sizeof *r);
    r->n_elements = (int)n;
    r->n_features = (int)F;
    pf->features_hash = get_u64(p + 8);
    for (uint32_t e = 0; e < n; ++e) {
        uint64_t atoms = get_u64(p + 16 + 8 * e);
        if (atoms > (uint64_t)1 << 62) return bad(pf, "FRNG", "an atom count is beyond 2^62");
        r->atoms[e] = (long long)atoms;
    }
    size_t count = (size_t)n * F;
    pf->features_data = gb_malloc(2 * count * sizeof(double) + 1);
    if (!pf->features_data) return GBNET_ERR_NO_MEMORY;
    const unsigned char *values = p + 16 + 8 * (uint64_t)n;
    for (size_t k = 0; k < 2 * count; ++k) pf->features_data[k] = get_f64(values + 8 * k);
    for (size_t k = 0; k < count; ++k) {
        double lo = pf->features_data[k], hi = pf->features_data[count + k];
        if (!(isfinite(lo) && isfinite(hi) && lo <= hi))
            return gb_fail(GBNET_ERR_FORMAT,
                           "potential file '%s': section FRNG: element %zu channel %zu has min %g, max %g; expected "
                           "finite min <= max", pf->path, k / F, k % F, lo, hi);
    }
    r->min = pf->features_data;
    r->max = pf->features_data + count;
    pf->have_features = 1;
    return GBNET_OK;
}

/* QUNT: quantized dense layers, u32 mode (1 bf16, 2 int8) | u32 n | f64 clip [n]
 * (int8: n = 3T+1 input clips, each finite and > 0; bf16: n = 0). */
static gbnet_status parse_quant(parsed_file *pf, const unsigned char *p, uint64_t len) {
    gbnet_status st = need_hyper(pf, "QUNT");
    if (st) return st;
    if (len < 8) return bad(pf, "QUNT", "payload shorter than 8 bytes");
    uint32_t mode = get_u32(p), n = get_u32(p + 4), layers = 3u * (uint32_t)pf->hp.n_blocks + 1u;
    if (mode != GBNET_QUANT_BF16 && mode != GBNET_QUANT_INT8)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section QUNT: unknown mode %u (1: bf16, 2: int8)",
                       pf->path, mode);
    uint32_t want = mode == GBNET_QUANT_INT8 ? layers : 0u;
    if (n != want)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section QUNT: %u activation clips, expected %u for %s",
                       pf->path, n, want, mode == GBNET_QUANT_INT8 ? "int8 with this model's 3T+1 dense layers" : "bf16");
    if (len != 8 + 8 * (uint64_t)n)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section QUNT: length %llu, expected %llu", pf->path,
                       (unsigned long long)len, (unsigned long long)(8 + 8 * (uint64_t)n));
    memset(&pf->quant, 0, sizeof pf->quant);
    pf->quant.mode = (int)mode;
    pf->quant.n_layers = (int)n;
    for (uint32_t l = 0; l < n; ++l) {
        double v = get_f64(p + 8 + 8 * l);
        if (!(v >= 1e-15 && v <= 1e30)) /* scales stay normal floats; NaN fails too */
            return gb_fail(GBNET_ERR_NUMERIC,
                           "potential file '%s': section QUNT: clip of layer %u is %g, expected 1e-15..1e30",
                           pf->path, l, v);
        pf->quant.act_clip[l] = v;
    }
    pf->have_quant = 1;
    return GBNET_OK;
}

/* CMTE: u32 count of further members, u32 reserved 0, then per member a u64
 * length and that many bytes of a complete potential file. Only the framing is
 * checked here; gbnet_committee_load reads the members (gbnet_model_load
 * reads member 0 and skips them). */
static gbnet_status parse_committee(parsed_file *pf, const unsigned char *p, uint64_t len) {
    if (len < 8) return bad(pf, "CMTE", "payload shorter than its 8-byte header");
    uint32_t count = get_u32(p);
    if (count < 1 || count > GBNET_MAX_COMMITTEE - 1)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section CMTE: %u further members, expected 1..%d",
                       pf->path, count, GBNET_MAX_COMMITTEE - 1);
    if (get_u32(p + 4) != 0) return bad(pf, "CMTE", "reserved word is not zero");
    uint64_t at = 8;
    for (uint32_t m = 0; m < count; ++m) {
        if (len - at < 8)
            return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section CMTE: member %u's length runs past the section",
                           pf->path, m + 1);
        uint64_t member_len = get_u64(p + at);
        if (member_len > len - at - 8)
            return gb_fail(GBNET_ERR_FORMAT,
                           "potential file '%s': section CMTE: member %u claims %llu bytes, only %llu remain", pf->path,
                           m + 1, (unsigned long long)member_len, (unsigned long long)(len - at - 8));
        at += 8 + member_len;
    }
    if (at != len)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': section CMTE: %llu bytes after the last member",
                       pf->path, (unsigned long long)(len - at));
    pf->committee = p;
    pf->committee_len = len;
    pf->have_committee = 1;
    return GBNET_OK;
}

typedef struct {
    char tag[4];
    gbnet_status (*parse)(parsed_file *, const unsigned char *, uint64_t);
    size_t seen_offset; /* offsetof the have_* flag */
} section_kind;

#define SEEN(field) offsetof(parsed_file, field)
static const section_kind k_sections[] = {
    {{'H', 'Y', 'P', 'R'}, parse_hyper, SEEN(have_hyper)},
    {{'E', 'L', 'E', 'M'}, parse_elements, SEEN(have_elements)},
    {{'U', 'N', 'I', 'T'}, parse_units, SEEN(have_units)},
    {{'N', 'O', 'R', 'M'}, parse_norm, SEEN(have_norm)},
    {{'R', 'A', 'N', 'K'}, parse_ranks, SEEN(have_ranks)},
    {{'P', 'A', 'R', 'M'}, parse_params, SEEN(have_params)},
    {{'Z', 'B', 'L', 'R'}, parse_zbl, SEEN(have_zbl)},
    {{'F', 'T', 'A', 'B'}, parse_table, SEEN(have_table)},
    {{'C', 'O', 'V', 'R'}, parse_coverage, SEEN(have_coverage)},
    {{'F', 'R', 'N', 'G'}, parse_features, SEEN(have_features)},
    {{'Q', 'U', 'N', 'T'}, parse_quant, SEEN(have_quant)},
    {{'P', 'R', 'O', 'V'}, parse_provenance, SEEN(have_provenance)},
    {{'C', 'M', 'T', 'E'}, parse_committee, SEEN(have_committee)},
};

/* Header and checksum: everything that decides whether the bytes are a
 * complete, uncorrupted gbnet file at all. */
static gbnet_status check_envelope(const char *path, const unsigned char *buf, size_t size) {
    if (size == 0) return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': the file is empty", path);
    size_t head = size < sizeof k_magic ? size : sizeof k_magic;
    if (memcmp(buf, k_magic, head) != 0)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': not a gbnet potential file (no \"GBNETPOT\" magic)", path);
    if (size < HEADER_BYTES)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': truncated: %zu bytes, shorter than the %u-byte header",
                       path, size, HEADER_BYTES);
    uint32_t version = get_u32(buf + 8);
    if (version != GBNET_POTENTIAL_FORMAT_VERSION)
        return gb_fail(GBNET_ERR_VERSION,
                       "potential file '%s': format version %u is not supported (this gbnet reads version %u)", path,
                       version, GBNET_POTENTIAL_FORMAT_VERSION);
    if (size < HEADER_BYTES + END_SECTION_BYTES)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': truncated: %zu bytes, no room for any section", path,
                       size);
    const unsigned char *end = buf + size - END_SECTION_BYTES;
    if (memcmp(end, "END!", 4) != 0 || get_u32(end + 4) != 0 || get_u64(end + 8) != 8)
        return gb_fail(GBNET_ERR_FORMAT,
                       "potential file '%s': truncated or damaged: the file does not finish with the END! checksum section",
                       path);
    uint64_t stored = get_u64(end + SECTION_HEADER_BYTES);
    uint64_t actual = gb_fnv1a64(buf, size - END_SECTION_BYTES);
    if (stored != actual)
        return gb_fail(GBNET_ERR_CHECKSUM,
                       "potential file '%s': checksum mismatch (stored %016llx, computed %016llx): the file is corrupted",
                       path, (unsigned long long)stored, (unsigned long long)actual);
    if (get_u32(buf + 12) != 0)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': reserved header word is not zero", path);
    return GBNET_OK;
}

static gbnet_status parse_sections(parsed_file *pf, const unsigned char *buf, size_t size) {
    size_t at = HEADER_BYTES, stop = size - END_SECTION_BYTES;
    while (at < stop) {
        if (stop - at < SECTION_HEADER_BYTES)
            return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': byte %zu: section header runs past the END! section",
                           pf->path, at);
        const unsigned char *h = buf + at;
        char tag[GB_ESCAPE_SIZE];
        gb_escape(tag, sizeof tag, h, 4);
        uint32_t flags = get_u32(h + 4);
        uint64_t len = get_u64(h + 8);
        if (len > stop - at - SECTION_HEADER_BYTES)
            return gb_fail(GBNET_ERR_FORMAT,
                           "potential file '%s': byte %zu: section '%s' claims %llu bytes, only %zu remain", pf->path, at,
                           tag, (unsigned long long)len, stop - at - SECTION_HEADER_BYTES);
        const unsigned char *payload = h + SECTION_HEADER_BYTES;
        const section_kind *kind = NULL;
        for (size_t k = 0; k < sizeof k_sections / sizeof k_sections[0]; ++k)
            if (memcmp(h, k_sections[k].tag, 4) == 0) kind = &k_sections[k];
        if (kind) {
            int *seen = (int *)((char *)pf + kind->seen_offset);
            if (*seen) return bad(pf, kind->tag, "appears twice");
            gbnet_status st = kind->parse(pf, payload, len);
            if (st) return st;
        } else if (memcmp(h, "END!", 4) == 0) {
            return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': byte %zu: END! section before the end of the file",
                           pf->path, at);
        } else if (!(flags & FLAG_OPTIONAL)) {
            return gb_fail(GBNET_ERR_UNSUPPORTED,
                           "potential file '%s': byte %zu: unknown required section '%s' (written by a newer gbnet?)",
                           pf->path, at, tag);
        }
        at += SECTION_HEADER_BYTES + (size_t)len;
    }
    const char *missing = !pf->have_hyper      ? "HYPR"
                          : !pf->have_elements ? "ELEM"
                          : !pf->have_units    ? "UNIT"
                          : !pf->have_norm     ? "NORM"
                          : !pf->have_params   ? "PARM"
                                               : NULL;
    if (missing)
        return gb_fail(GBNET_ERR_FORMAT, "potential file '%s': required section %s is missing", pf->path, missing);
    return GBNET_OK;
}

static gbnet_status build_model(gbnet_model **out, const parsed_file *pf) {
    gbnet_model *m = NULL;
    gbnet_status st = gb_model_alloc_ranked(&m, &pf->hp, &pf->ranks);
    if (st) return st;
    for (uint64_t i = 0; i < pf->n_params; ++i) m->params[i] = get_f64(pf->params + 8 * i);
    m->energy_scale = pf->scale;
    m->energy_shift = pf->shift;
    memcpy(m->e_ref, pf->e_ref, sizeof m->e_ref);
    if (pf->have_provenance) {
        char *text = gb_malloc((size_t)pf->provenance_len + 1);
        if (!text) {
            gbnet_model_free(m);
            return GBNET_ERR_NO_MEMORY;
        }
        memcpy(text, pf->provenance, (size_t)pf->provenance_len);
        text[pf->provenance_len] = '\0';
        free(m->provenance);
        m->provenance = text;
    }
    if (pf->have_table) {
        size_t count = (size_t)pf->hp.n_blocks * pf->table_points * (size_t)pf->hp.n_features;
        m->table = gb_calloc(1, sizeof *m->table);
        if (m->table) {
            m->table->n_points = (int)pf->table_points;
            m->table->values = gb_malloc(count * sizeof(double));
            m->table->derivs = gb_malloc(count * sizeof(double));
        }
        if (!m->table || !m->table->values || !m->table->derivs) {
            gbnet_model_free(m);
            return GBNET_ERR_NO_MEMORY;
        }
        for (size_t i = 0; i < count; ++i) {
            m->table->values[i] = get_f64(pf->table_values + 8 * i);
            m->table->derivs[i] = get_f64(pf->table_derivs + 8 * i);
        }
    }
    gbnet_status st2 = pf->have_zbl ? gbnet_model_set_zbl(m, pf->zbl_inner, pf->zbl_outer) : GBNET_OK;
    if (!st2 && pf->have_coverage) st2 = gbnet_model_set_coverage(m, &pf->coverage);
    if (!st2 && pf->have_features) st2 = gb_model_set_feature_record(m, &pf->features, pf->features_hash);
    if (!st2 && pf->have_quant) {
        m->quant = gb_malloc(sizeof *m->quant);
        if (m->quant) *m->quant = pf->quant;
        else st2 = GBNET_ERR_NO_MEMORY;
    }
    if (st2) {
        gbnet_model_free(m);
        return st2;
    }
    *out = m;
    return GBNET_OK;
}

/* A model from a whole file's bytes; committee (or NULL) receives where its
 * CMTE payload lies, if any. */
static gbnet_status load_from_bytes(gbnet_model **out, const char *path, const unsigned char *buf, size_t size,
                                    const unsigned char **committee, uint64_t *committee_len) {
    parsed_file pf;
    memset(&pf, 0, sizeof pf);
    pf.path = path;
    gbnet_status st = check_envelope(path, buf, size);
    if (!st) st = parse_sections(&pf, buf, size);
    if (!st) st = build_model(out, &pf);
    free(pf.features_data);
    if (!st && committee) {
        *committee = pf.have_committee ? pf.committee : NULL;
        *committee_len = pf.have_committee ? pf.committee_len : 0;
    }
    return st;
}

gbnet_status gbnet_model_load(gbnet_model **out, const char *path) {
    if (!out || !path) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_load: NULL argument");
    *out = NULL;
    unsigned char *buf;
    size_t size;
    gbnet_status st = read_all(path, &buf, &size);
    if (st) return st;
    st = load_from_bytes(out, path, buf, size, NULL, NULL);
    free(buf);
    return st;
}

gbnet_status gbnet_committee_load(gbnet_committee **out, const char *path) {
    if (!out || !path) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_load: NULL argument");
    *out = NULL;
    unsigned char *buf;
    size_t size;
    gbnet_status st = read_all(path, &buf, &size);
    if (st) return st;
    gbnet_model *models[GBNET_MAX_COMMITTEE] = {0};
    const unsigned char *cmte = NULL;
    uint64_t cmte_len = 0;
    int n = 0;
    st = load_from_bytes(&models[0], path, buf, size, &cmte, &cmte_len);
    if (!st) n = 1;
    if (!st && cmte) {
        uint32_t count = get_u32(cmte);
        uint64_t at = 8;
        for (uint32_t m = 0; m < count && !st; ++m) {
            uint64_t len = get_u64(cmte + at);
            char name[4200];
            snprintf(name, sizeof name, "%s (committee member %u)", path, m + 1);
            const unsigned char *inner = NULL;
            uint64_t inner_len = 0;
            st = load_from_bytes(&models[n], name, cmte + at + 8, (size_t)len, &inner, &inner_len);
            if (!st) ++n;
            if (!st && inner)
                st = gb_fail(GBNET_ERR_FORMAT, "potential file '%s': committee member %u holds a committee itself",
                             path, m + 1);
            at += 8 + len;
        }
    }
    free(buf);
    if (st) {
        for (int m = 0; m < n; ++m) gbnet_model_free(models[m]);
        return st;
    }
    char where[4200];
    snprintf(where, sizeof where, "potential file '%s'", path);
    return gb_committee_adopt(out, models, n, where);
}

/* ------------------------------------------------------------ encoding */

typedef struct {
    unsigned char *data;
    size_t size, capacity;
    int failed;
} byte_buffer;

static unsigned char *grow(byte_buffer *b, size_t n) {
    if (b->failed) return NULL;
    if (!gb_reserve((void **)&b->data, &b->capacity, b->size + n)) {
        b->failed = 1;
        return NULL;
    }
    unsigned char *p = b->data + b->size;
    b->size += n;
    return p;
}

static void put_bytes(byte_buffer *b, const void *src, size_t n) {
    unsigned char *p = grow(b, n);
    if (p && n) memcpy(p, src, n);
}

static void put_u32(byte_buffer *b, uint32_t v) {
    unsigned char *p = grow(b, 4);
    if (p)
        for (int i = 0; i < 4; ++i) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(byte_buffer *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f64(byte_buffer *b, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u64(b, bits);
}

static void put_f64s(byte_buffer *b, const double *v, size_t n) {
    for (size_t i = 0; i < n; ++i) put_f64(b, v[i]);
}

static void put_section_header(byte_buffer *b, const char *tag, uint32_t flags, uint64_t len) {
    put_bytes(b, tag, 4);
    put_u32(b, flags);
    put_u64(b, len);
}

/* ZBLR (required: a reader that ignored it would evaluate a different potential). */
static void encode_zbl(byte_buffer *b, const gbnet_model *m) {
    if (!m->zbl) return;
    uint32_t n = (uint32_t)m->hp.n_elements;
    put_section_header(b, "ZBLR", 0, 4 + 16 * (uint64_t)n * n);
    put_u32(b, n);
    for (uint32_t a = 0; a < n; ++a)
        for (uint32_t c = 0; c < n; ++c) put_f64(b, m->zbl->inner[a][c]);
    for (uint32_t a = 0; a < n; ++a)
        for (uint32_t c = 0; c < n; ++c) put_f64(b, m->zbl->outer[a][c]);
}

/* COVR (optional: information for warnings, not needed to evaluate). */
static void encode_coverage(byte_buffer *b, const gbnet_model *m) {
    const gbnet_coverage *c = m->coverage;
    if (!c) return;
    uint32_t n = (uint32_t)m->hp.n_elements;
    put_section_header(b, "COVR", FLAG_OPTIONAL, 32 + 8 * (uint64_t)n * n);
    put_u32(b, n);
    put_u32(b, (uint32_t)c->n_frames);
    put_u32(b, (c->trained_energies ? 1u : 0u) | (c->trained_forces ? 2u : 0u) | (c->trained_stresses ? 4u : 0u));
    put_u32(b, (uint32_t)c->n_periodic);
    put_f64(b, c->volume_per_atom_min);
    put_f64(b, c->volume_per_atom_max);
    for (uint32_t a = 0; a < n; ++a)
        for (uint32_t e = 0; e < n; ++e) put_f64(b, c->shortest_distance[a][e]);
}

/* FRNG (optional: information for warnings). The weight hash is the
 * record's own, so that a stale record stays stale in the file. */
static void encode_features(byte_buffer *b, const gbnet_model *m) {
    if (!m->features) return;
    const gbnet_feature_ranges *r = &m->features->ranges;
    uint32_t n = (uint32_t)r->n_elements, F = (uint32_t)r->n_features;
    put_section_header(b, "FRNG", FLAG_OPTIONAL, 16 + 8 * (uint64_t)n + 16 * (uint64_t)n * F);
    put_u32(b, n);
    put_u32(b, F);
    put_u64(b, m->features->params_hash);
    for (uint32_t e = 0; e < n; ++e) put_u64(b, (uint64_t)r->atoms[e]);
    put_f64s(b, r->min, (size_t)n * F);
    put_f64s(b, r->max, (size_t)n * F);
}

/* Everything of a model's file before END!. */
static void encode_sections(byte_buffer *b, const gbnet_model *m) {
    const gbnet_hyperparams *hp = &m->hp;
    uint32_t n_el = (uint32_t)hp->n_elements;
    put_bytes(b, k_magic, sizeof k_magic);
    put_u32(b, GBNET_POTENTIAL_FORMAT_VERSION);
    put_u32(b, 0);

    put_section_header(b, "HYPR", 0, 28 + 4 * (uint64_t)n_el);
    put_u32(b, (uint32_t)hp->n_features);
    put_u32(b, (uint32_t)hp->n_blocks);
    put_u32(b, (uint32_t)hp->n_rbf);
    put_u32(b, (uint32_t)hp->readout_width);
    put_f64(b, hp->cutoff);
    put_u32(b, n_el);
    for (uint32_t e = 0; e < n_el; ++e) put_u32(b, (uint32_t)hp->atomic_numbers[e]);

    put_section_header(b, "ELEM", 0, 4 * (uint64_t)n_el);
    for (uint32_t e = 0; e < n_el; ++e) {
        char symbol[4] = {0};
        const char *name = gbnet_element_symbol(hp->atomic_numbers[e]);
        memcpy(symbol, name, strlen(name) < sizeof symbol ? strlen(name) : sizeof symbol);
        put_bytes(b, symbol, 4);
    }

    put_section_header(b, "UNIT", 0, 5);
    put_bytes(b, "metal", 5);

    put_section_header(b, "NORM", 0, 16 + 8 * (uint64_t)n_el);
    put_f64(b, m->energy_scale);
    put_f64(b, m->energy_shift);
    put_f64s(b, m->e_ref, n_el);

    if (gbnet_model_is_factored(m)) { /* only then: files of full models stay as they were */
        uint32_t T = (uint32_t)hp->n_blocks;
        const gbnet_ranks *r = &m->layout.ranks;
        put_section_header(b, "RANK", 0, 12 + 12 * (uint64_t)T);
        put_u32(b, 1);
        put_u32(b, T);
        for (uint32_t t = 0; t < T; ++t) put_u32(b, (uint32_t)r->in[t]);
        for (uint32_t t = 0; t < T; ++t) put_u32(b, (uint32_t)r->out1[t]);
        for (uint32_t t = 0; t < T; ++t) put_u32(b, (uint32_t)r->out2[t]);
        put_u32(b, (uint32_t)r->readout);
    }

    put_section_header(b, "PARM", 0, 8 + 8 * (uint64_t)m->layout.total);
    put_u64(b, m->layout.total);
    put_f64s(b, m->params, m->layout.total);

    encode_zbl(b, m);

    if (m->table) {
        uint64_t count = (uint64_t)hp->n_blocks * (uint64_t)m->table->n_points * (uint64_t)hp->n_features;
        /* Optional: a reader that does not know tables evaluates the exact filters. */
        put_section_header(b, "FTAB", FLAG_OPTIONAL, 12 + 16 * count);
        put_u32(b, (uint32_t)m->table->n_points);
        put_u32(b, (uint32_t)hp->n_blocks);
        put_u32(b, (uint32_t)hp->n_features);
        put_f64s(b, m->table->values, (size_t)count);
        put_f64s(b, m->table->derivs, (size_t)count);
    }

    if (m->quant) {
        /* Optional: a reader that does not know it evaluates the float model. */
        uint32_t n = (uint32_t)m->quant->n_layers;
        put_section_header(b, "QUNT", FLAG_OPTIONAL, 8 + 8 * (uint64_t)n);
        put_u32(b, (uint32_t)m->quant->mode);
        put_u32(b, n);
        put_f64s(b, m->quant->act_clip, n);
    }

    encode_coverage(b, m);
    encode_features(b, m);

    const char *prov = gbnet_model_provenance(m);
    size_t prov_len = strlen(prov);
    put_section_header(b, "PROV", FLAG_OPTIONAL, prov_len);
    put_bytes(b, prov, prov_len);
}

/* The END! section over everything written so far. */
static int encode_end(byte_buffer *b) {
    if (b->failed) return 0;
    uint64_t checksum = gb_fnv1a64(b->data, b->size);
    put_section_header(b, "END!", 0, 8);
    put_u64(b, checksum);
    return !b->failed;
}

static int encode(byte_buffer *b, const gbnet_model *m) {
    encode_sections(b, m);
    return encode_end(b);
}

/* Member 0's sections, then CMTE with every further member as a whole file. */
static int encode_committee(byte_buffer *b, const gbnet_committee *c) {
    encode_sections(b, c->members[0]);
    if (c->n_members > 1) {
        byte_buffer *inner = gb_calloc((size_t)c->n_members, sizeof *inner);
        if (!inner) return 0;
        uint64_t len = 8;
        int ok = 1;
        for (int m = 1; m < c->n_members; ++m) {
            ok = ok && encode(&inner[m], c->members[m]);
            len += 8 + inner[m].size;
        }
        if (ok) {
            /* Optional: a reader that does not know committees evaluates member 0. */
            put_section_header(b, "CMTE", FLAG_OPTIONAL, len);
            put_u32(b, (uint32_t)(c->n_members - 1));
            put_u32(b, 0);
            for (int m = 1; m < c->n_members; ++m) {
                put_u64(b, inner[m].size);
                put_bytes(b, inner[m].data, inner[m].size);
            }
        }
        for (int m = 1; m < c->n_members; ++m) free(inner[m].data);
        free(inner);
        if (!ok) return 0;
    }
    return encode_end(b);
}

static gbnet_status check_savable(const gbnet_model *m, const char *path) {
    for (size_t i = 0; i < m->layout.total; ++i)
        if (!isfinite(m->params[i]))
            return gb_fail(GBNET_ERR_NUMERIC, "cannot save '%s': parameter %zu is %g", path, i, m->params[i]);
    if (m->table && m->table->n_points < 2)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "cannot save '%s': filter table has %d points", path,
                       m->table->n_points);
    return GBNET_OK;
}

gbnet_status gbnet_model_save(const gbnet_model *model, const char *path) {
    if (!model || !path) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_save: NULL argument");
    gbnet_status st = check_savable(model, path);
    if (st) return st;
    byte_buffer b = {0};
    if (!encode(&b, model)) {
        free(b.data);
        return GBNET_ERR_NO_MEMORY;
    }
    st = gb_write_file_atomically(path, b.data, b.size, "potential file");
    free(b.data);
    return st;
}

gbnet_status gbnet_committee_save(const gbnet_committee *committee, const char *path) {
    if (!committee || !path) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_committee_save: NULL argument");
    for (int m = 0; m < committee->n_members; ++m) {
        gbnet_status st = check_savable(committee->members[m], path);
        if (st) return st;
    }
    byte_buffer b = {0};
    if (!encode_committee(&b, committee)) {
        free(b.data);
        return GBNET_ERR_NO_MEMORY;
    }
    gbnet_status st = gb_write_file_atomically(path, b.data, b.size, "potential file");
    free(b.data);
    return st;
}
