/* Checkpoint files: serialise into memory, checksum, write atomically. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "gb_error.h"
#include "model.h"
#include "potential_file.h"

static const char MAGIC[8] = {'G', 'B', 'N', 'C', 'K', 'P', 'T', '\n'};

/* ------------------------------------------------------------ writing */

typedef struct {
    unsigned char *data;
    size_t size, capacity;
    int failed;
} byte_buffer;

static void put(byte_buffer *b, const void *data, size_t n) {
    if (b->failed) return;
    if (b->size + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 4096;
        while (cap < b->size + n) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->capacity = cap;
    }
    memcpy(b->data + b->size, data, n);
    b->size += n;
}
static void put_i64(byte_buffer *b, int64_t v) { put(b, &v, sizeof v); }
static void put_u64(byte_buffer *b, uint64_t v) { put(b, &v, sizeof v); }
static void put_f64(byte_buffer *b, double v) { put(b, &v, sizeof v); }

static void put_stats(byte_buffer *b, const gb_loss_stats *s) {
    const double d[7] = {s->loss, s->se_energy, s->ae_energy, s->se_forces, s->ae_forces, s->se_stress,
                         s->ae_stress};
    for (int i = 0; i < 7; ++i) put_f64(b, d[i]);
    put_i64(b, s->n_energy);
    put_i64(b, s->n_forces);
    put_i64(b, s->n_stress);
}

gbnet_status gb_checkpoint_write(const char *path, const gbnet_model *model, const gb_optimizer *opt,
                                 const gb_train_state *state, const char *config_text) {
    const gbnet_hyperparams *hp = &model->hp;
    size_t P = model->layout.total;
    if (opt->n != P)
        return gb_fail(GBNET_ERR_INVALID_ARGUMENT, "checkpoint: optimizer has %zu parameters, model %zu", opt->n, P);
    byte_buffer b = {0};
    put(&b, MAGIC, sizeof MAGIC);
    /* version 3 (ranks after the elements) only for factored models, so other
     * checkpoints stay readable by older builds */
    int factored = gbnet_model_is_factored(model);
    put_u64(&b, factored ? GB_CHECKPOINT_VERSION_RANKS : GB_CHECKPOINT_VERSION);
    /* model */
    put_i64(&b, hp->n_features);
    put_i64(&b, hp->n_blocks);
    put_i64(&b, hp->n_rbf);
    put_i64(&b, hp->readout_width);
    put_f64(&b, hp->cutoff);
    put_i64(&b, hp->n_elements);
    for (int e = 0; e < hp->n_elements; ++e) put_i64(&b, hp->atomic_numbers[e]);
    if (factored) {
        const gbnet_ranks *r = &model->layout.ranks;
        for (int t = 0; t < hp->n_blocks; ++t) {
            put_i64(&b, r->in[t]);
            put_i64(&b, r->out1[t]);
            put_i64(&b, r->out2[t]);
        }
        put_i64(&b, r->readout);
    }
    put_f64(&b, model->energy_scale);
    put_f64(&b, model->energy_shift);
    for (int e = 0; e < hp->n_elements; ++e) put_f64(&b, model->e_ref[e]);
    put_u64(&b, P);
    put(&b, model->params, P * sizeof(double));
    /* optimizer */
    put_i64(&b, opt->kind);
    put_f64(&b, opt->beta1);
    put_f64(&b, opt->beta2);
    put_f64(&b, opt->eps);
    put_f64(&b, opt->weight_decay);
    put_i64(&b, opt->t);
    put(&b, opt->m, P * sizeof(double));
    put(&b, opt->v, P * sizeof(double));
    /* trainer */
    put_i64(&b, state->epoch);
    put_i64(&b, state->step);
    put_i64(&b, state->global_step);
    put_f64(&b, state->lr);
    put_f64(&b, state->best_valid_loss);
    put_i64(&b, state->best_epoch);
    put_i64(&b, state->plateau_wait);
    put_i64(&b, state->early_wait);
    put_i64(&b, state->finished);
    put_f64(&b, state->elapsed);
    put_stats(&b, &state->epoch_stats);
    for (int i = 0; i < 4; ++i) put_u64(&b, state->rng[i]);
    put_u64(&b, state->ema ? P : 0);
    if (state->ema) put(&b, state->ema, P * sizeof(double));
    size_t text_len = config_text ? strlen(config_text) : 0;
    put_u64(&b, text_len);
    put(&b, config_text ? config_text : "", text_len);
    put_u64(&b, b.size + 2 * sizeof(uint64_t)); /* total size, checked on reading */
    if (b.failed) {
        free(b.data);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory writing checkpoint '%s'", path);
    }
    put_u64(&b, gb_fnv1a64(b.data, b.size));
    gbnet_status st = b.failed ? gb_fail(GBNET_ERR_NO_MEMORY, "out of memory writing checkpoint '%s'", path)
                               : gb_write_file_atomically(path, b.data, b.size, "checkpoint");
    free(b.data);
    return st;
}

/* ------------------------------------------------------------ reading */

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    int failed;
} reader;

static void get(reader *r, void *out, size_t n) {
    if (r->failed || n > r->size - r->pos) {
        r->failed = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}
static int64_t get_i64(reader *r) { int64_t v; get(r, &v, sizeof v); return v; }
static uint64_t get_u64(reader *r) { uint64_t v; get(r, &v, sizeof v); return v; }
static double get_f64(reader *r) { double v; get(r, &v, sizeof v); return v; }

static void get_stats(reader *r, gb_loss_stats *s) {
    double d[7];
    for (int i = 0; i < 7; ++i) d[i] = get_f64(r);
    s->loss = d[0]; s->se_energy = d[1]; s->ae_energy = d[2]; s->se_forces = d[3];
    s->ae_forces = d[4]; s->se_stress = d[5]; s->ae_stress = d[6];
    s->n_energy = (long)get_i64(r);
    s->n_forces = (long)get_i64(r);
    s->n_stress = (long)get_i64(r);
}

static int in_range(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

/* Index of the first NaN or infinity in v[0..n), n if none. */
static size_t first_non_finite(const double *v, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!isfinite(v[i])) return i;
    return n;
}

gbnet_status gb_checkpoint_read(const char *path, gbnet_model **model_out, gb_optimizer *opt,
                                gb_train_state *state, char **config_text) {
    *model_out = NULL;
    if (config_text) *config_text = NULL;
    memset(opt, 0, sizeof *opt);
    memset(state, 0, sizeof *state);
    char *data = NULL;
    size_t size = 0;
    gbnet_status st = gb_load_file(path, &data, &size);
    if (st) return st;
    const size_t trailer = 2 * sizeof(uint64_t);
    if (size < sizeof MAGIC + trailer || memcmp(data, MAGIC, sizeof MAGIC) != 0) {
        free(data);
        return gb_fail(GBNET_ERR_FORMAT, "%s: not a gbnet checkpoint", path);
    }
    uint64_t stored_size, stored_sum;
    memcpy(&stored_size, data + size - trailer, sizeof stored_size);
    memcpy(&stored_sum, data + size - sizeof stored_sum, sizeof stored_sum);
    if (stored_size != size) {
        free(data);
        return gb_fail(GBNET_ERR_FORMAT, "%s: truncated or extended checkpoint (%zu bytes, expected %llu)", path, size,
                       (unsigned long long)stored_size);
    }
    if (gb_fnv1a64(data, size - sizeof stored_sum) != stored_sum) {
        free(data);
        return gb_fail(GBNET_ERR_CHECKSUM, "%s: checkpoint corrupted (checksum mismatch)", path);
    }
    reader r = {(const unsigned char *)data, size - trailer, sizeof MAGIC, 0};
    uint64_t version = get_u64(&r);
    if (version != GB_CHECKPOINT_VERSION && version != GB_CHECKPOINT_VERSION_RANKS && version != 1) {
        free(data);
        return gb_fail(GBNET_ERR_VERSION, "%s: checkpoint version %llu, this gbnet reads version %u", path,
                       (unsigned long long)version, GB_CHECKPOINT_VERSION);
    }
    gbnet_hyperparams hp;
    gbnet_hyperparams_default(&hp);
    int64_t v[6];
    for (int i = 0; i < 4; ++i) v[i] = get_i64(&r);
    hp.cutoff = get_f64(&r);
    v[4] = get_i64(&r);
    if (r.failed) {
        free(data);
        return gb_fail(GBNET_ERR_FORMAT, "%s: truncated checkpoint (model header)", path);
    }
    st = gb_hyperparams_check_sizes(v[0], v[1], v[2], v[3], v[4]);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", gbnet_last_error());
        free(data);
        return gb_fail(GBNET_ERR_FORMAT, "%s: checkpoint model header: %s", path, why);
    }
    hp.n_features = (int)v[0];
    hp.n_blocks = (int)v[1];
    hp.n_rbf = (int)v[2];
    hp.readout_width = (int)v[3];
    hp.n_elements = (int)v[4];
    for (int e = 0; e < hp.n_elements && !st; ++e) {
        int64_t z = get_i64(&r);
        st = gb_atomic_number_check(e, z);
        hp.atomic_numbers[e] = st ? 0 : (int)z;
    }
    gbnet_ranks ranks;
    memset(&ranks, 0, sizeof ranks);
    if (!st && version == GB_CHECKPOINT_VERSION_RANKS) {
        for (int t = 0; t < hp.n_blocks; ++t) {
            int64_t a = get_i64(&r), b = get_i64(&r), c = get_i64(&r);
            ranks.in[t] = in_range(a, 0, 4096) ? (int)a : -1;
            ranks.out1[t] = in_range(b, 0, 4096) ? (int)b : -1;
            ranks.out2[t] = in_range(c, 0, 4096) ? (int)c : -1;
        }
        int64_t ro = get_i64(&r);
        ranks.readout = in_range(ro, 0, 4096) ? (int)ro : -1;
    }
    gbnet_model *model = NULL;
    if (st || (!r.failed && (gb_hyperparams_check(&hp) || gb_ranks_check(&ranks, &hp)))) {
        char why[512];
        snprintf(why, sizeof why, "%s", gbnet_last_error());
        free(data);
        return gb_fail(GBNET_ERR_FORMAT, "%s: checkpoint model header: %s", path, why);
    }
    st = r.failed ? gb_fail(GBNET_ERR_FORMAT, "%s: truncated checkpoint (model header)", path)
                  : gb_model_alloc_ranked(&model, &hp, &ranks);
    if (st) {
        free(data);
        return st;
    }
    double scale = get_f64(&r), shift = get_f64(&r), e_ref[GBNET_MAX_ELEMENTS];
    for (int e = 0; e < hp.n_elements; ++e) e_ref[e] = get_f64(&r);
    size_t P = model->layout.total;
    if (get_u64(&r) != P) r.failed = 1;
    get(&r, model->params, P * sizeof(double));
    int64_t kind = get_i64(&r);
    double beta1 = get_f64(&r), beta2 = get_f64(&r), eps = get_f64(&r), wd = get_f64(&r);
    size_t bad_param = first_non_finite(model->params, P);
    if (!r.failed && bad_param < P) {
        double value = model->params[bad_param];
        gbnet_model_free(model);
        free(data);
        return gb_fail(GBNET_ERR_NUMERIC, "%s: checkpoint parameter %zu is %g", path, bad_param, value);
    }
    if (r.failed || !in_range(kind, 0, 1)) {
        gbnet_model_free(model);
        free(data);
        return gb_fail(GBNET_ERR_FORMAT, "%s: bad model or optimizer section in checkpoint (byte %zu)", path, r.pos);
    }
    st = gbnet_model_set_normalization(model, scale, shift, e_ref);
    if (!st) st = gb_optimizer_init(opt, (gb_optimizer_kind)kind, P, beta1, beta2, eps, wd);
    if (st) {
        gbnet_model_free(model);
        free(data);
        return st;
    }
    opt->t = get_i64(&r);
    get(&r, opt->m, P * sizeof(double));
    get(&r, opt->v, P * sizeof(double));
    state->epoch = (int)get_i64(&r);
    state->step = (int)get_i64(&r);
    state->global_step = get_i64(&r);
    state->lr = get_f64(&r);
    state->best_valid_loss = get_f64(&r);
    state->best_epoch = (int)get_i64(&r);
    state->plateau_wait = (int)get_i64(&r);
    state->early_wait = (int)get_i64(&r);
    state->finished = (int)get_i64(&r);
    state->elapsed = get_f64(&r);
    get_stats(&r, &state->epoch_stats);
    for (int i = 0; i < 4; ++i) state->rng[i] = get_u64(&r);
    uint64_t n_ema = version >= 2 ? get_u64(&r) : 0;
    if (n_ema != 0 && n_ema != P) r.failed = 1;
    if (!r.failed && n_ema) {
        state->ema = malloc(P * sizeof(double));
        if (!state->ema) r.failed = 1;
        else get(&r, state->ema, P * sizeof(double));
    }
    uint64_t text_len = get_u64(&r);
    char *text = NULL;
    if (!r.failed && text_len <= r.size - r.pos) {
        text = malloc(text_len + 1);
        if (text) {
            get(&r, text, text_len);
            text[text_len] = '\0';
        }
    } else {
        r.failed = 1;
    }
    free(data);
    if (r.failed || !text || r.pos != r.size) {
        free(text);
        free(state->ema);
        state->ema = NULL;
        gbnet_model_free(model);
        gb_optimizer_free(opt);
        return gb_fail(GBNET_ERR_FORMAT, "%s: malformed checkpoint (trainer state or configuration, byte %zu of %zu)",
                       path, r.pos, r.size);
    }
    size_t bad_m = first_non_finite(opt->m, P), bad_v = first_non_finite(opt->v, P);
    int counters_ok = opt->t >= 0 && state->epoch >= 0 && state->step >= 0 && state->global_step >= 0 &&
                      state->plateau_wait >= 0 && state->early_wait >= 0 && in_range(state->finished, 0, 1);
    size_t bad_ema = state->ema ? first_non_finite(state->ema, P) : P;
    if (!counters_ok || bad_ema < P) {
        free(text);
        free(state->ema);
        state->ema = NULL;
        gbnet_model_free(model);
        gb_optimizer_free(opt);
        if (bad_ema < P) return gb_fail(GBNET_ERR_NUMERIC, "%s: checkpoint EMA weight %zu is not finite", path, bad_ema);
        return gb_fail(GBNET_ERR_FORMAT, "%s: checkpoint holds a negative step or epoch counter", path);
    }
    if (bad_m < P || bad_v < P || !isfinite(state->lr) || !(state->lr >= 0) || isnan(state->best_valid_loss)) {
        free(text);
        free(state->ema);
        state->ema = NULL;
        gbnet_model_free(model);
        gb_optimizer_free(opt);
        return gb_fail(GBNET_ERR_NUMERIC, "%s: checkpoint holds a non-finite %s", path,
                       bad_m < P ? "optimizer first moment" : bad_v < P ? "optimizer second moment"
                       : !isfinite(state->lr) || !(state->lr >= 0) ? "or negative learning rate"
                                                                   : "best validation loss");
    }
    if (config_text) *config_text = text;
    else free(text);
    *model_out = model;
    return GBNET_OK;
}
