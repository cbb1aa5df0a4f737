/* Model creation, parameter layout, initialisation and accessors. */
#include "model.h"
#include "zbl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gb_error.h"
#include "rng.h"

void gbnet_hyperparams_default(gbnet_hyperparams *hp) {
    memset(hp, 0, sizeof *hp);
    hp->n_features = 128;
    hp->n_blocks = 3;
    hp->n_rbf = 50;
    hp->readout_width = 64;
    hp->cutoff = 5.0;
}

/* The one wording of every hyperparameter range error: the API, the
 * potential file and the checkpoint reader all come through here, with the
 * file's values before any int conversion. */
gbnet_status gb_hyperparams_check_sizes(long long n_features, long long n_blocks, long long n_rbf,
                                        long long readout_width, long long n_elements) {
    if (n_features < 1 || n_features > 4096)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "n_features (F) must be in 1..4096, got %lld", n_features);
    if (n_blocks < 1 || n_blocks > GBNET_MAX_BLOCKS)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "n_blocks (T) must be in 1..%d, got %lld", GBNET_MAX_BLOCKS,
                       n_blocks);
    if (n_rbf < 2 || n_rbf > 1024)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "n_rbf (K) must be in 2..1024, got %lld", n_rbf);
    if (readout_width < 1 || readout_width > 4096)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "readout_width must be in 1..4096, got %lld", readout_width);
    if (n_elements < 1 || n_elements > GBNET_MAX_ELEMENTS)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "n_elements must be in 1..%d, got %lld", GBNET_MAX_ELEMENTS,
                       n_elements);
    return GBNET_OK;
}

gbnet_status gb_atomic_number_check(int element_index, long long z) {
    if (z < 1 || z > 118)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "element %d has invalid atomic number %lld", element_index, z);
    return GBNET_OK;
}

gbnet_status gb_hyperparams_check(const gbnet_hyperparams *hp) {
    if (!hp) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "hyperparameters are NULL");
    gbnet_status st =
        gb_hyperparams_check_sizes(hp->n_features, hp->n_blocks, hp->n_rbf, hp->readout_width, hp->n_elements);
    if (st) return st;
    if (!(hp->cutoff > 0.0 && hp->cutoff <= 100.0))
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "cutoff must be in (0, 100] Angstrom, got %g", hp->cutoff);
    for (int e = 0; e < hp->n_elements; ++e) {
        int z = hp->atomic_numbers[e];
        st = gb_atomic_number_check(e, z);
        if (st) return st;
        for (int f = 0; f < e; ++f)
            if (hp->atomic_numbers[f] == z)
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "element %s is listed twice", gbnet_element_symbol(z));
    }
    return GBNET_OK;
}

const char *gb_dense_name(gbnet_dense_kind kind) {
    static const char *names[] = {"in", "out1", "out2", "readout"};
    return kind >= GBNET_DENSE_IN && kind <= GBNET_DENSE_READOUT ? names[kind] : "?";
}

gbnet_status gb_ranks_check(const gbnet_ranks *ranks, const gbnet_hyperparams *hp) {
    if (!ranks) return GBNET_OK;
    int F = hp->n_features, R = hp->readout_width;
    for (int t = 0; t < hp->n_blocks; ++t) {
        const int r3[3] = {ranks->in[t], ranks->out1[t], ranks->out2[t]};
        for (int k = 0; k < 3; ++k)
            if (r3[k] < 0 || r3[k] >= F)
                return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                               "rank of block %d's %s layer (%d x %d) is %d; valid: 1..%d, or 0 for a full layer", t,
                               gb_dense_name((gbnet_dense_kind)k), F, F, r3[k], F - 1);
    }
    int lim = F < R ? F : R;
    if (ranks->readout < 0 || ranks->readout >= lim)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "rank of the readout layer (%d x %d) is %d; valid: 1..%d, or 0 for a full layer", R, F,
                       ranks->readout, lim - 1);
    return GBNET_OK;
}

/* Room of a dense layer in the blob: W, or A then B (offset of B in *wb). */
static size_t dense_place(size_t at, size_t *wb, int rank, size_t out, size_t in) {
    if (!rank) return at + out * in;
    *wb = at + out * (size_t)rank;
    return *wb + (size_t)rank * in;
}

size_t gb_layout_compute(gb_layout *L, const gbnet_hyperparams *hp) { return gb_layout_compute_ranked(L, hp, NULL); }

size_t gb_layout_compute_ranked(gb_layout *L, const gbnet_hyperparams *hp, const gbnet_ranks *ranks) {
    size_t F = (size_t)hp->n_features, K = (size_t)hp->n_rbf, R = (size_t)hp->readout_width;
    size_t at = 0;
    memset(L, 0, sizeof *L);
    if (ranks) {
        L->ranks = *ranks;
        for (int t = hp->n_blocks; t < GBNET_MAX_BLOCKS; ++t) /* unused blocks compare equal */
            L->ranks.in[t] = L->ranks.out1[t] = L->ranks.out2[t] = 0;
    }
    const gbnet_ranks *rk = &L->ranks;
    L->embedding = at;
    at += (size_t)hp->n_elements * F;
    for (int t = 0; t < hp->n_blocks; ++t) {
        L->block[t].filter1_w = at; at += F * K;
        L->block[t].filter1_b = at; at += F;
        L->block[t].filter2_w = at; at += F * F;
        L->block[t].filter2_b = at; at += F;
        L->block[t].in_w = at;      at = dense_place(at, &L->block[t].in_wb, rk->in[t], F, F);
        L->block[t].out1_w = at;    at = dense_place(at, &L->block[t].out1_wb, rk->out1[t], F, F);
        L->block[t].out1_b = at;    at += F;
        L->block[t].out2_w = at;    at = dense_place(at, &L->block[t].out2_wb, rk->out2[t], F, F);
        L->block[t].out2_b = at;    at += F;
    }
    L->readout1_w = at; at = dense_place(at, &L->readout1_wb, rk->readout, R, F);
    L->readout1_b = at; at += R;
    L->readout2_w = at; at += R;
    L->readout2_b = at; at += 1;
    L->total = at;
    return at;
}

gbnet_status gb_model_alloc(gbnet_model **out, const gbnet_hyperparams *hp) {
    return gb_model_alloc_ranked(out, hp, NULL);
}

gbnet_status gb_model_alloc_ranked(gbnet_model **out, const gbnet_hyperparams *hp, const gbnet_ranks *ranks) {
    if (!out) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "output pointer is NULL");
    *out = NULL;
    gbnet_status st = gb_hyperparams_check(hp);
    if (!st) st = gb_ranks_check(ranks, hp);
    if (st) return st;
    gbnet_model *m = gb_calloc(1, sizeof *m);
    if (!m) return GBNET_ERR_NO_MEMORY;
    m->hp = *hp;
    gb_layout_compute_ranked(&m->layout, hp, ranks);
    m->params = gb_calloc(m->layout.total, sizeof(double));
    m->provenance = gb_calloc(1, 1);
    if (!m->params || !m->provenance) {
        gbnet_model_free(m);
        return GBNET_ERR_NO_MEMORY;
    }
    m->energy_scale = 1.0;
    *out = m;
    return GBNET_OK;
}

/* Uniform(-b, b) with b = 1/sqrt(fan_in), as torch.nn.Linear does: keeps
 * activations O(1) through the residual blocks at initialisation. */
static void init_uniform(double *w, size_t n, size_t fan_in, gb_rng *rng) {
    double b = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; ++i) w[i] = (2.0 * gb_rng_uniform(rng) - 1.0) * b;
}

/* A dense layer's init: full as torch.nn.Linear; factored with B ~ U(+-1/sqrt(in))
 * and A ~ U(+-sqrt(3/r)), so that each entry of A B has the variance 1/(3 in)
 * of the full init (r (3/r)/3 (1/in)/3). */
static void init_dense(double *p, gb_dense d, gb_rng *rng) {
    if (!d.rank) {
        init_uniform(p + d.w, (size_t)d.out * d.in, (size_t)d.in, rng);
        return;
    }
    double ba = sqrt(3.0 / d.rank);
    for (size_t i = 0; i < (size_t)d.out * d.rank; ++i) p[d.w + i] = (2.0 * gb_rng_uniform(rng) - 1.0) * ba;
    init_uniform(p + d.wb, (size_t)d.rank * d.in, (size_t)d.in, rng);
}

void gb_model_init_params(gbnet_model *m, uint64_t seed) {
    const gbnet_hyperparams *hp = &m->hp;
    const gb_layout *L = &m->layout;
    size_t F = (size_t)hp->n_features, K = (size_t)hp->n_rbf, R = (size_t)hp->readout_width;
    double *p = m->params;
    gb_rng rng;
    gb_rng_seed(&rng, seed);
    for (size_t i = 0; i < (size_t)hp->n_elements * F; ++i) p[L->embedding + i] = gb_rng_normal(&rng);
    for (int t = 0; t < hp->n_blocks; ++t) {
        init_uniform(p + L->block[t].filter1_w, F * K, K, &rng);
        init_uniform(p + L->block[t].filter1_b, F, K, &rng);
        init_uniform(p + L->block[t].filter2_w, F * F, F, &rng);
        init_uniform(p + L->block[t].filter2_b, F, F, &rng);
        init_dense(p, gb_layout_dense(L, hp, GBNET_DENSE_IN, t), &rng);
        init_dense(p, gb_layout_dense(L, hp, GBNET_DENSE_OUT1, t), &rng);
        init_uniform(p + L->block[t].out1_b, F, F, &rng);
        init_dense(p, gb_layout_dense(L, hp, GBNET_DENSE_OUT2, t), &rng);
        init_uniform(p + L->block[t].out2_b, F, F, &rng);
    }
    init_dense(p, gb_layout_dense(L, hp, GBNET_DENSE_READOUT, 0), &rng);
    init_uniform(p + L->readout1_b, R, F, &rng);
    init_uniform(p + L->readout2_w, R, R, &rng);
    p[L->readout2_b] = 0.0;
}

gbnet_status gbnet_model_create(gbnet_model **out, const gbnet_hyperparams *hp, uint64_t seed) {
    gbnet_status st = gb_model_alloc(out, hp);
    if (st) return st;
    gb_model_init_params(*out, seed);
    return GBNET_OK;
}

gbnet_status gbnet_model_create_ranked(gbnet_model **out, const gbnet_hyperparams *hp, const gbnet_ranks *ranks,
                                       uint64_t seed) {
    gbnet_status st = gb_model_alloc_ranked(out, hp, ranks);
    if (st) return st;
    gb_model_init_params(*out, seed);
    return GBNET_OK;
}

void gbnet_model_get_ranks(const gbnet_model *m, gbnet_ranks *ranks) { *ranks = m->layout.ranks; }

int gbnet_model_is_factored(const gbnet_model *m) {
    const gbnet_ranks *r = &m->layout.ranks;
    int any = r->readout != 0;
    for (int t = 0; t < m->hp.n_blocks; ++t) any |= r->in[t] | r->out1[t] | r->out2[t];
    return any != 0;
}

static void table_free(gb_filter_table *t) {
    if (!t) return;
    free(t->values);
    free(t->derivs);
    free(t);
}

void gbnet_model_free(gbnet_model *m) {
    if (!m) return;
    free(m->params);
    free(m->provenance);
    table_free(m->table);
    free(m->zbl);
    free(m->coverage);
    free(m->quant);
    gbnet_model_set_feature_ranges(m, NULL);
    free(m);
}

gbnet_status gbnet_model_clone(gbnet_model **out, const gbnet_model *m) {
    gbnet_status st = gb_model_alloc_ranked(out, &m->hp, &m->layout.ranks);
    if (st) return st;
    gbnet_model *c = *out;
    memcpy(c->params, m->params, m->layout.total * sizeof(double));
    c->energy_scale = m->energy_scale;
    c->energy_shift = m->energy_shift;
    memcpy(c->e_ref, m->e_ref, sizeof c->e_ref);
    st = gbnet_model_set_provenance(c, m->provenance);
    if (!st && m->table) {
        size_t n = (size_t)m->hp.n_blocks * (size_t)m->table->n_points * (size_t)m->hp.n_features;
        c->table = gb_calloc(1, sizeof *c->table);
        if (c->table) {
            c->table->n_points = m->table->n_points;
            c->table->values = gb_malloc(n * sizeof(double));
            c->table->derivs = gb_malloc(n * sizeof(double));
        }
        if (!c->table || !c->table->values || !c->table->derivs) st = GBNET_ERR_NO_MEMORY;
        else {
            memcpy(c->table->values, m->table->values, n * sizeof(double));
            memcpy(c->table->derivs, m->table->derivs, n * sizeof(double));
        }
    }
    if (!st && m->zbl) {
        c->zbl = gb_malloc(sizeof *c->zbl);
        if (c->zbl) memcpy(c->zbl, m->zbl, sizeof *c->zbl);
        else st = GBNET_ERR_NO_MEMORY;
    }
    if (!st && m->coverage) st = gbnet_model_set_coverage(c, m->coverage);
    if (!st && m->features) st = gb_model_set_feature_record(c, &m->features->ranges, m->features->params_hash);
    if (!st && m->quant) {
        c->quant = gb_malloc(sizeof *c->quant);
        if (c->quant) memcpy(c->quant, m->quant, sizeof *c->quant);
        else st = GBNET_ERR_NO_MEMORY;
    }
    if (st) {
        gbnet_model_free(c);
        *out = NULL;
    }
    return st;
}

const gbnet_coverage *gbnet_model_coverage(const gbnet_model *m) { return m ? m->coverage : NULL; }

gbnet_status gbnet_model_set_coverage(gbnet_model *m, const gbnet_coverage *coverage) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_set_coverage: NULL model");
    if (!coverage) {
        free(m->coverage);
        m->coverage = NULL;
        return GBNET_OK;
    }
    gbnet_coverage *c = m->coverage ? m->coverage : gb_malloc(sizeof *c);
    if (!c) return GBNET_ERR_NO_MEMORY;
    *c = *coverage;
    m->coverage = c;
    return GBNET_OK;
}

uint64_t gb_params_hash(const gbnet_model *m) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 (as gb_fnv1a64), one value at a time */
    for (size_t k = 0; k < m->layout.total; ++k) {
        uint64_t bits;
        memcpy(&bits, &m->params[k], sizeof bits);
        for (int b = 0; b < 8; ++b) {
            h ^= (bits >> (8 * b)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

gbnet_status gb_model_set_feature_record(gbnet_model *m, const gbnet_feature_ranges *r, uint64_t params_hash) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "feature ranges: NULL model");
    if (!r) {
        if (m->features) free(m->features->data);
        free(m->features);
        m->features = NULL;
        return GBNET_OK;
    }
    if (r->n_elements != m->hp.n_elements || r->n_features < 1 || !r->min || !r->max)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                       "feature ranges: %d elements of %d channels, expected the model's %d elements and a positive "
                       "channel count with min and max given",
                       r->n_elements, r->n_features, m->hp.n_elements);
    size_t n = (size_t)r->n_elements * (size_t)r->n_features;
    for (int e = 0; e < r->n_elements; ++e)
        if (r->atoms[e] < 0)
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "feature ranges: element %d has %lld atoms", e, r->atoms[e]);
    for (size_t k = 0; k < n; ++k)
        if (!(isfinite(r->min[k]) && isfinite(r->max[k]) && r->min[k] <= r->max[k]))
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                           "feature ranges: element %zu channel %zu has min %g, max %g; expected finite min <= max",
                           k / (size_t)r->n_features, k % (size_t)r->n_features, r->min[k], r->max[k]);
    gb_feature_record *rec = gb_calloc(1, sizeof *rec);
    double *data = gb_malloc(2 * n * sizeof(double));
    if (!rec || !data) {
        free(rec);
        free(data);
        return GBNET_ERR_NO_MEMORY;
    }
    memcpy(data, r->min, n * sizeof(double));
    memcpy(data + n, r->max, n * sizeof(double));
    rec->ranges = *r;
    rec->ranges.min = data;
    rec->ranges.max = data + n;
    rec->params_hash = params_hash;
    rec->data = data;
    gb_model_set_feature_record(m, NULL, 0);
    m->features = rec;
    return GBNET_OK;
}

gbnet_status gbnet_model_set_feature_ranges(gbnet_model *m, const gbnet_feature_ranges *r) {
    if (!m) return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "gbnet_model_set_feature_ranges: NULL model");
    if (r && r->n_features != m->hp.n_features)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "feature ranges: %d channels, but the model has F = %d",
                       r->n_features, m->hp.n_features);
    return gb_model_set_feature_record(m, r, r ? gb_params_hash(m) : 0);
}

const gbnet_feature_ranges *gbnet_model_feature_ranges(const gbnet_model *m, int *stale) {
    if (!m || !m->features) {
        if (stale) *stale = 0;
        return NULL;
    }
    if (stale) *stale = gb_model_current_features(m) == NULL;
    return &m->features->ranges;
}

const gbnet_feature_ranges *gb_model_current_features(const gbnet_model *m) {
    if (!m->features || m->features->ranges.n_features != m->hp.n_features ||
        m->features->ranges.n_elements != m->hp.n_elements || m->features->params_hash != gb_params_hash(m))
        return NULL;
    return &m->features->ranges;
}

const gbnet_hyperparams *gbnet_model_hyperparams(const gbnet_model *m) { return &m->hp; }
double gbnet_model_cutoff(const gbnet_model *m) { return m->hp.cutoff; }
size_t gbnet_model_n_params(const gbnet_model *m) { return m->layout.total; }
int gbnet_model_is_tabulated(const gbnet_model *m) { return m->table != NULL; }
int gbnet_model_table_points(const gbnet_model *m) { return m->table ? m->table->n_points : 0; }
const double *gbnet_model_params(const gbnet_model *m) { return m->params; }
int gbnet_model_filter_table(const gbnet_model *m, const double **values, const double **derivs) {
    if (values) *values = m->table ? m->table->values : NULL;
    if (derivs) *derivs = m->table ? m->table->derivs : NULL;
    return m->table ? m->table->n_points : 0;
}
const char *gbnet_model_provenance(const gbnet_model *m) { return m->provenance ? m->provenance : ""; }

int gbnet_model_element_of_z(const gbnet_model *m, int z) {
    for (int e = 0; e < m->hp.n_elements; ++e)
        if (m->hp.atomic_numbers[e] == z) return e;
    return -1;
}

int gbnet_model_element_index(const gbnet_model *m, const char *symbol) {
    int z = gbnet_atomic_number(symbol);
    return z ? gbnet_model_element_of_z(m, z) : -1;
}

gbnet_status gbnet_model_set_provenance(gbnet_model *m, const char *text) {
    size_t n = strlen(text ? text : "");
    char *copy = gb_malloc(n + 1);
    if (!copy) return GBNET_ERR_NO_MEMORY;
    memcpy(copy, text ? text : "", n + 1);
    free(m->provenance);
    m->provenance = copy;
    return GBNET_OK;
}

void gbnet_model_get_normalization(const gbnet_model *m, double *scale, double *shift, double *e_ref) {
    if (scale) *scale = m->energy_scale;
    if (shift) *shift = m->energy_shift;
    if (e_ref) memcpy(e_ref, m->e_ref, (size_t)m->hp.n_elements * sizeof(double));
}

gbnet_status gbnet_model_set_normalization(gbnet_model *m, double scale, double shift, const double *e_ref) {
    if (!isfinite(scale) || !isfinite(shift) || scale == 0.0)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "energy scale must be finite and nonzero, shift finite");
    for (int e = 0; e < m->hp.n_elements; ++e)
        if (e_ref && !isfinite(e_ref[e]))
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "reference energy of element %d is not finite", e);
    m->energy_scale = scale;
    m->energy_shift = shift;
    if (e_ref) memcpy(m->e_ref, e_ref, (size_t)m->hp.n_elements * sizeof(double));
    return GBNET_OK;
}
