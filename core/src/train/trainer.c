/* The training loop (see trainer.h). */
#define _POSIX_C_SOURCE 200809L
#include "trainer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "gb_error.h"
#include "model.h"
#include "normalization.h"
#include "packing.h"
#include "rng.h"
#include "workspace.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* A thread's evaluation state: in `parallel = packs` mode each thread runs
 * whole packs with single-threaded kernels; in `kernels` mode one worker runs
 * the packs in turn with multithreaded kernels. */
typedef struct {
    gbnet_workspace *ws;
    gb_batch_buffer bb;
    const gb_sample **ptrs;  /* [largest pack] */
} gb_worker;

enum { PACK_MESSAGE_MAX = 1024 };

struct gbnet_trainer {
    gbnet_train_config cfg;
    char *config_text;       /* effective configuration, key = value lines */
    char *command_line;
    gbnet_train_callbacks hooks;
    gb_train_data data;
    gbnet_model *model;
    gb_worker *workers;      /* [n_workers] */
    int n_workers;
    gb_optimizer opt;
    gb_train_state state;
    gb_loss_weights weights;
    double *grad;            /* [n_params] */
    int cap_atoms, cap_edges, packs_per_step;
    double atom_efficiency, edge_efficiency;
    gb_packing epoch_packing, valid_packing;
    int *order, *pack_order, *sizes_atoms, *sizes_edges;  /* [n_train] scratch */
    /* per pack of a step (or of the validation set), summed in pack order */
    double *pack_grads;      /* [packs_per_step][n_params] */
    gb_loss_stats *pack_stats;
    gbnet_status *pack_status;
    char (*pack_message)[PACK_MESSAGE_MAX];
    int max_packs;           /* entries of pack_stats, pack_status, pack_message */
    int last_checkpoint_epoch; /* completed epochs in the last checkpoint written, -1 none */
    double run_start;        /* monotonic clock at the start of gbnet_trainer_run */
    double elapsed_before;   /* training seconds of earlier runs (from the checkpoint) */
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void say(const gbnet_trainer *t, const char *fmt, ...) GB_PRINTF(2, 3);
static void say(const gbnet_trainer *t, const char *fmt, ...) {
    if (!t->hooks.message) return;
    char text[4096];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    t->hooks.message(t->hooks.ctx, text);
}

/* Copies the thread-local message so it can be quoted in a new one. */
static void last_error_copy(char *out, size_t size) { snprintf(out, size, "%s", gbnet_last_error()); }

/* ------------------------------------------------------------ setup */

static gbnet_status make_hyperparams(gbnet_hyperparams *hp, const gbnet_train_config *c, const gb_train_data *d) {
    gbnet_hyperparams_default(hp);
    hp->n_features = c->features;
    hp->n_blocks = c->blocks;
    hp->n_rbf = c->rbf;
    hp->readout_width = c->readout;
    hp->cutoff = c->cutoff;
    hp->n_elements = d->n_elements;
    memcpy(hp->atomic_numbers, d->atomic_numbers, sizeof hp->atomic_numbers);
    return gb_hyperparams_check(hp);
}

/* The coverage record and the repulsive core of the model, from the
 * configuration and the training samples; then the samples' core labels.
 * Done on resume too (the checkpoint holds neither): the same data and
 * configuration give the same record and radii. */
static gbnet_status record_coverage_and_repulsion(gbnet_trainer *t) {
    gbnet_coverage coverage;
    gb_train_data_coverage(&t->data, &t->cfg, &coverage);
    gbnet_status st = gbnet_model_set_coverage(t->model, &coverage);
    /* a readout-input record of an init_from model belongs to its weights, not
     * to the ones trained here: the end of the run records a new one */
    if (!st) st = gbnet_model_set_feature_ranges(t->model, NULL);
    if (st) return st;
    if (!t->cfg.zbl) {
        /* a model from init_from (or a checkpoint) that has a core keeps it:
         * the network must still be fitted to the labels minus that core */
        if (t->model->zbl) st = gb_train_data_set_repulsion(&t->data, t->model);
        return st;
    }
    const gbnet_hyperparams *hp = &t->model->hp;
    int n = hp->n_elements;
    double inner[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS], outer[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS];
    st = gb_train_zbl_radii(&t->cfg, &coverage, n, hp->atomic_numbers, hp->cutoff, inner, outer);
    if (!st) st = gbnet_model_set_zbl(t->model, inner, outer);
    if (!st) st = gb_train_data_set_repulsion(&t->data, t->model);
    if (st) return st;
    char radii[1024] = "";
    size_t used = 0;
    for (int a = 0; a < n; ++a)
        for (int b = a; b < n && used < sizeof radii; ++b)
            used += (size_t)snprintf(radii + used, sizeof radii - used, "%s%s-%s %.3f-%.3f", used ? ", " : "",
                                     gbnet_element_symbol(hp->atomic_numbers[a]),
                                     gbnet_element_symbol(hp->atomic_numbers[b]), inner[a * n + b], outer[a * n + b]);
    double largest = 0.0; /* the core's largest share of a training energy, per atom */
    for (int k = 0; k < t->data.n_train; ++k) {
        double per_atom = t->data.train_samples[k].zbl_energy / t->data.train[k]->n_atoms;
        if (per_atom > largest) largest = per_atom;
    }
    say(t, "repulsive core: ZBL switched off between inner and outer radius (A) %s; largest share of a training "
           "energy %.4f eV/atom",
        radii, largest);
    return GBNET_OK;
}

/* Fits and sets the normalization of a new model from the training frames. */
static gbnet_status fit_normalization(gbnet_trainer *t) {
    const gb_train_data *d = &t->data;
    int element_of_z[119];
    for (int z = 0; z < 119; ++z) element_of_z[z] = gbnet_model_element_of_z(t->model, z);
    gb_normalization norm;
    /* shallow copies with the energy the network is fitted to: the label
     * minus the repulsive core's share */
    gbnet_frame *frames = malloc((size_t)d->n_train * sizeof *frames);
    int *idx = malloc((size_t)d->n_train * sizeof *idx);
    if (!idx || !frames) {
        free(idx);
        free(frames);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory fitting the normalization");
    }
    for (int i = 0; i < d->n_train; ++i) {
        frames[i] = *d->train[i];
        frames[i].energy -= d->train_samples[i].zbl_energy;
        idx[i] = i;
    }
    gbnet_status st = gb_fit_normalization(&norm, frames, idx, d->n_train, element_of_z, d->n_elements);
    free(idx);
    free(frames);
    if (st) { /* no energies at all: references stay 0, scale from the forces */
        memset(&norm, 0, sizeof norm);
        gb_clear_error();
        double f_sq = 0;
        long count = 0;
        for (int i = 0; i < d->n_train; ++i)
            if (d->train[i]->forces)
                for (int c = 0; c < 3 * d->train[i]->n_atoms; ++c, ++count)
                    f_sq += d->train[i]->forces[c] * d->train[i]->forces[c];
        norm.force_rms = count ? sqrt(f_sq / count) : 1.0;
    }
    double scale = t->cfg.energy_scale == GB_ENERGY_SCALE_FORCE_RMS ? norm.force_rms : norm.scale;
    if (!(scale > 1e-6)) scale = norm.force_rms > 1e-6 ? norm.force_rms : 1.0;
    st = gbnet_model_set_normalization(t->model, scale, norm.shift, norm.e_ref);
    if (st) return st;
    char refs[1024] = "";
    size_t used = 0;
    for (int e = 0; e < d->n_elements && used < sizeof refs; ++e)
        used += (size_t)snprintf(refs + used, sizeof refs - used, "%s%s %.6f", e ? ", " : "",
                                 gbnet_element_symbol(d->atomic_numbers[e]), norm.e_ref[e]);
    say(t, "normalization: reference energies (eV) %s (composition rank %d of %d); shift %.6f eV/atom, "
           "scale %.6f eV (%s; residual energy std %.4f meV/atom, force RMS %.4f eV/A)",
        refs, norm.rank, d->n_elements, norm.shift, scale,
        t->cfg.energy_scale == GB_ENERGY_SCALE_FORCE_RMS ? "force_rms" : "energy_std", 1000 * norm.scale,
        norm.force_rms);
    return GBNET_OK;
}

/* Static shape: every pack costs its full capacity, so an edge capacity set
 * by the densest structure (tiny periodic cells see many images) wastes most
 * edge slots. Edge capacities between the mean and the densest ratio are
 * tried and the one with the most useful work per padded work kept, counting
 * an atom as twice an edge (dense layers vs filter, docs/performance.md). */
static gbnet_status choose_edge_capacity(gbnet_trainer *t, gb_packing *p) {
    int n = t->data.n_train, max_edges = 0;
    long long edges = 0;
    for (int i = 0; i < n; ++i) {
        edges += t->sizes_edges[i];
        if (t->sizes_edges[i] > max_edges) max_edges = t->sizes_edges[i];
    }
    int lo = (int)((double)edges / t->data.train_atoms * t->cap_atoms);
    if (lo < max_edges) lo = max_edges;
    int hi = t->cap_edges, best_cap = hi;
    double best = -1.0;
    for (int k = 0; k <= 32; ++k) {
        int cap = lo + (int)((long long)(hi - lo) * k / 32);
        gbnet_status st = gb_pack(p, n, t->sizes_atoms, t->sizes_edges, t->cap_atoms, cap);
        if (st) return st;
        double useful = 2.0 * (double)p->atoms_used + (double)p->edges_used;
        double padded = (double)p->n_packs * (2.0 * t->cap_atoms + cap);
        if (useful / padded > best + 1e-12) {
            best = useful / padded;
            best_cap = cap;
        }
    }
    t->cap_edges = best_cap;
    return GBNET_OK;
}

/* Pack capacity: capacities near the requested one are tried on the training
 * set and the most efficient kept (within 0.25% of the best, the closest to
 * the request). The edge capacity follows the densest structure, so atoms
 * are always the binding limit. */
static gbnet_status choose_capacity(gbnet_trainer *t) {
    const gb_train_data *d = &t->data;
    int n = d->n_train, max_atoms = 0;
    double ratio = 0.0;
    for (int i = 0; i < n; ++i) {
        const gb_sample *s = &d->train_samples[i];
        t->sizes_atoms[i] = s->frame->n_atoms;
        t->sizes_edges[i] = s->nl.n_edges;
        if (s->frame->n_atoms > max_atoms) max_atoms = s->frame->n_atoms;
        double r = (double)s->nl.n_edges / s->frame->n_atoms;
        if (r > ratio) ratio = r;
    }
    double mean_atoms = (double)d->train_atoms / n;
    /* default: two packs per step, so two threads can share a step */
    int requested = t->cfg.pack_atoms > 0 ? t->cfg.pack_atoms : (int)lround(0.5 * t->cfg.batch_size * mean_atoms);
    if (requested < max_atoms) requested = max_atoms;
    gb_packing p = {0};
    gbnet_status st = gb_pack_auto(&p, n, t->sizes_atoms, t->sizes_edges, requested, ratio);
    if (st) {
        gb_packing_free(&p);
        return st;
    }
    int chosen = p.cap_atoms;
    t->cap_atoms = chosen;
    t->cap_edges = (int)ceil(chosen * ratio) + 1;
    st = t->cfg.static_shape ? choose_edge_capacity(t, &p) : GBNET_OK;
    if (!st) st = gb_pack(&p, n, t->sizes_atoms, t->sizes_edges, t->cap_atoms, t->cap_edges);
    if (st) {
        gb_packing_free(&p);
        return st;
    }
    t->atom_efficiency = gb_packing_atom_efficiency(&p);
    t->edge_efficiency = gb_packing_edge_efficiency(&p);
    double per_pack = (double)n / p.n_packs;
    t->packs_per_step = (int)lround(t->cfg.batch_size / per_pack);
    if (t->packs_per_step < 1) t->packs_per_step = 1;
    int steps = (p.n_packs + t->packs_per_step - 1) / t->packs_per_step;
    say(t, "packing: capacity %d atoms / %d edges (requested %d), %d packs of %.1f structures, "
           "efficiency %.2f%% of atom slots, %.2f%% of edge slots; %d pack%s per step, %d steps per epoch "
           "(about %.1f structures per step)",
        t->cap_atoms, t->cap_edges, requested, p.n_packs, per_pack, 100 * t->atom_efficiency,
        100 * t->edge_efficiency, t->packs_per_step, t->packs_per_step > 1 ? "s" : "", steps,
        per_pack * t->packs_per_step);
    gb_packing_free(&p);
    return GBNET_OK;
}

static gbnet_status pack_validation(gbnet_trainer *t) {
    const gb_train_data *d = &t->data;
    if (d->n_valid == 0) return GBNET_OK;
    int *a = malloc((size_t)d->n_valid * sizeof *a), *e = malloc((size_t)d->n_valid * sizeof *e);
    if (!a || !e) {
        free(a); free(e);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory packing the validation set");
    }
    for (int i = 0; i < d->n_valid; ++i) {
        a[i] = d->valid[i]->n_atoms;
        e[i] = d->valid_samples[i].nl.n_edges;
    }
    gbnet_status st = gb_pack(&t->valid_packing, d->n_valid, a, e, t->cap_atoms, t->cap_edges);
    free(a);
    free(e);
    return st;
}

/* The configuration's dense-layer ranks for T blocks (all 0 without `rank`). */
static gbnet_status config_ranks(const gbnet_train_config *c, int T, gbnet_ranks *ranks) {
    gbnet_rank_spec spec;
    memset(&spec, 0, sizeof spec);
    gbnet_status st = c->rank[0] ? gbnet_rank_spec_parse(&spec, c->rank) : GBNET_OK;
    for (int t = T; t < GBNET_MAX_BLOCKS; ++t) spec.rank.in[t] = spec.rank.out1[t] = spec.rank.out2[t] = 0;
    *ranks = spec.rank;
    return st;
}

static int ranks_equal(const gbnet_ranks *a, const gbnet_ranks *b) { return memcmp(a, b, sizeof *a) == 0; }

static int hyperparams_equal(const gbnet_hyperparams *a, const gbnet_hyperparams *b) {
    if (a->n_features != b->n_features || a->n_blocks != b->n_blocks || a->n_rbf != b->n_rbf ||
        a->readout_width != b->readout_width || a->cutoff != b->cutoff || a->n_elements != b->n_elements)
        return 0;
    for (int e = 0; e < a->n_elements; ++e)
        if (a->atomic_numbers[e] != b->atomic_numbers[e]) return 0;
    return 1;
}

/* Keys whose change makes a resumed run differ from an uninterrupted one. */
static void report_changed_keys(gbnet_trainer *t, const char *old_text) {
    static const char *harmless[] = {"epochs", "threads", "time_limit", "checkpoint_every", "output", "log",
                                     "checkpoint", "early_stopping_patience"};
    char changed[1024] = "";
    size_t used = 0;
    const char *p = t->config_text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[GB_CFG_TEXT_MAX + 64];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p += len + (eol != NULL);
        char *eq = strstr(line, " = ");
        if (!eq) continue;
        *eq = '\0';
        int skip = 0;
        for (size_t k = 0; k < sizeof harmless / sizeof *harmless; ++k) skip |= strcmp(line, harmless[k]) == 0;
        *eq = ' ';
        /* the same line must appear in the old text */
        char needle[GB_CFG_TEXT_MAX + 66];
        snprintf(needle, sizeof needle, "\n%s\n", line);
        char *old_wrapped = malloc(strlen(old_text) + 3);
        if (!old_wrapped) return;
        sprintf(old_wrapped, "\n%s", old_text);
        int found = strstr(old_wrapped, needle) != NULL;
        /* a key newer than the checkpoint, left at an empty default, changes nothing */
        char key_needle[GB_CFG_TEXT_MAX + 8];
        snprintf(key_needle, sizeof key_needle, "\n%.*s = ", (int)(eq - line), line);
        if (!found && eq[3] == '\0' && !strstr(old_wrapped, key_needle)) found = 1;
        free(old_wrapped);
        if (!found && !skip && used < sizeof changed) {
            *strstr(line, " = ") = '\0';
            used += (size_t)snprintf(changed + used, sizeof changed - used, "%s%s", used ? ", " : "", line);
        }
    }
    if (used) say(t, "warning: resuming with changed settings (%s): the run will differ from an uninterrupted one",
                  changed);
}

static gbnet_status resume(gbnet_trainer *t, const char *path) {
    gbnet_model *model = NULL;
    char *old_text = NULL;
    gbnet_status st = gb_checkpoint_read(path, &model, &t->opt, &t->state, &old_text);
    if (st) return st;
    gbnet_hyperparams hp;
    st = make_hyperparams(&hp, &t->cfg, &t->data);
    if (!st && !hyperparams_equal(&hp, &model->hp))
        st = gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                     "%s: the checkpoint's model (F=%d T=%d K=%d readout=%d cutoff=%g, %d elements) differs from "
                     "the configuration's (F=%d T=%d K=%d readout=%d cutoff=%g, %d elements)",
                     path, model->hp.n_features, model->hp.n_blocks, model->hp.n_rbf, model->hp.readout_width,
                     model->hp.cutoff, model->hp.n_elements, hp.n_features, hp.n_blocks, hp.n_rbf, hp.readout_width,
                     hp.cutoff, hp.n_elements);
    gbnet_ranks want, have;
    if (!st && !t->cfg.init_from[0] && !(st = config_ranks(&t->cfg, model->hp.n_blocks, &want))) {
        gbnet_model_get_ranks(model, &have);
        if (!ranks_equal(&want, &have))
            st = gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                         "%s: the checkpoint's dense-layer ranks differ from the configuration's (rank = %s)", path,
                         t->cfg.rank[0] ? t->cfg.rank : "full");
    }
    if (st) {
        gbnet_model_free(model);
        free(old_text);
        return st;
    }
    t->model = model;
    report_changed_keys(t, old_text ? old_text : "");
    free(old_text);
    t->last_checkpoint_epoch = t->state.epoch;
    say(t, "resuming from %s: epoch %d, step %d of it, %lld steps in all, learning rate %g", path,
        t->state.epoch + 1, t->state.step, t->state.global_step, t->state.lr);
    return GBNET_OK;
}

/* init_from: the model to fine-tune. Its hyperparameters and elements become
 * the configuration's (so a resumed run checks against the same), after
 * checking that model keys set explicitly agree with them. */
static gbnet_status load_initial_model(gbnet_trainer *t, gbnet_model **out) {
    gbnet_train_config *c = &t->cfg;
    gbnet_model *m = NULL;
    gbnet_status st = gbnet_model_load(&m, c->init_from);
    if (st) {
        char why[2048];
        last_error_copy(why, sizeof why);
        return gb_fail(st, "init_from = %s: %s", c->init_from, why);
    }
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m);
    const struct { const char *key; double config, model; } keys[] = {
        {"features", c->features, hp->n_features}, {"blocks", c->blocks, hp->n_blocks},
        {"rbf", c->rbf, hp->n_rbf},                {"readout", c->readout, hp->readout_width},
        {"cutoff", c->cutoff, hp->cutoff},
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; ++k)
        if (gbnet_train_config_is_set(c, keys[k].key) && keys[k].config != keys[k].model) {
            gbnet_model_free(m);
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                           "init_from = %s: the model has %s = %g but the configuration says %s = %g (remove the key: "
                           "a fine-tuned model keeps its architecture)", c->init_from, keys[k].key, keys[k].model,
                           keys[k].key, keys[k].config);
        }
    if (gbnet_train_config_is_set(c, "rank")) {
        gbnet_ranks want, have;
        st = config_ranks(c, hp->n_blocks, &want);
        gbnet_model_get_ranks(m, &have);
        if (st || !ranks_equal(&want, &have)) {
            gbnet_model_free(m);
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                           "init_from = %s: the model's dense-layer ranks differ from rank = %s (remove the key: a "
                           "fine-tuned model keeps its architecture, factored or not)", c->init_from, c->rank);
        }
    }
    char model_elements[4 * GBNET_MAX_ELEMENTS + 8];
    gbnet_format_elements(model_elements, sizeof model_elements, hp);
    if (c->elements[0]) {
        int z[GBNET_MAX_ELEMENTS], n = 0;
        st = gb_config_parse_elements(c->elements, z, &n);
        int same = !st && n == hp->n_elements;
        for (int e = 0; same && e < n; ++e) same = z[e] == hp->atomic_numbers[e];
        if (!same) {
            gbnet_model_free(m);
            return gb_fail(GBNET_ERR_INVALID_ARGUMENT,
                           "init_from = %s: the model's elements are '%s' but the configuration says elements = %s "
                           "(remove the key, or list the model's elements in its order)", c->init_from,
                           model_elements, c->elements);
        }
    }
    c->features = hp->n_features;
    c->blocks = hp->n_blocks;
    c->rbf = hp->n_rbf;
    c->readout = hp->readout_width;
    c->cutoff = hp->cutoff;
    snprintf(c->elements, sizeof c->elements, "%s", model_elements);
    *out = m;
    return GBNET_OK;
}

/* The EMA update after an optimizer step: ema = d ema + (1 - d) params. */
static void update_ema(gbnet_trainer *t) {
    double d = t->cfg.ema_decay;
    double *ema = t->state.ema;
    const double *p = t->model->params;
    for (size_t k = 0; k < t->model->layout.total; ++k) ema[k] = d * ema[k] + (1.0 - d) * p[k];
}

/* Workspaces: one per thread in packs mode, one multithreaded otherwise. */
static gbnet_status create_workers(gbnet_trainer *t) {
    int threads = t->cfg.threads;
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    t->n_workers = t->cfg.parallel == GB_PARALLEL_PACKS ? threads : 1;
    int largest = t->data.n_train + t->data.n_valid; /* structures a pack can hold at most */
    t->max_packs = t->packs_per_step > t->valid_packing.n_packs ? t->packs_per_step : t->valid_packing.n_packs;
    size_t P = t->model->layout.total;
    t->workers = gb_calloc((size_t)t->n_workers, sizeof *t->workers);
    t->pack_grads = gb_calloc((size_t)t->packs_per_step * P, sizeof(double));
    t->pack_stats = gb_calloc((size_t)t->max_packs, sizeof *t->pack_stats);
    t->pack_status = gb_calloc((size_t)t->max_packs, sizeof *t->pack_status);
    t->pack_message = gb_calloc((size_t)t->max_packs, sizeof *t->pack_message);
    if (!t->workers || !t->pack_grads || !t->pack_stats || !t->pack_status || !t->pack_message)
        return GBNET_ERR_NO_MEMORY;
    for (int w = 0; w < t->n_workers; ++w) {
        gbnet_status st = gbnet_workspace_create(&t->workers[w].ws, t->model, t->cfg.precision);
        if (st) return st;
        gbnet_workspace_set_threads(t->workers[w].ws, t->n_workers > 1 ? 1 : threads);
        t->workers[w].ptrs = gb_malloc((size_t)largest * sizeof *t->workers[w].ptrs);
        if (!t->workers[w].ptrs) return GBNET_ERR_NO_MEMORY;
    }
    return GBNET_OK;
}

gbnet_status gbnet_trainer_create(gbnet_trainer **out, const gbnet_train_config *config, const char *resume_path,
                               const char *command_line, const gbnet_train_callbacks *hooks) {
    *out = NULL;
    gbnet_status st = gbnet_train_config_check(config);
    if (st) return st;
    gbnet_trainer *t = gb_calloc(1, sizeof *t);
    if (!t) return GBNET_ERR_NO_MEMORY;
    t->cfg = *config;
    if (hooks) t->hooks = *hooks;
    t->last_checkpoint_epoch = -1;
    size_t len = gbnet_train_config_format(config, NULL, 0);
    t->config_text = malloc(len + 1);
    t->command_line = malloc(strlen(command_line ? command_line : "") + 1);
    if (!t->config_text || !t->command_line) {
        gbnet_trainer_free(t);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory");
    }
    gbnet_train_config_format(config, t->config_text, len + 1);
    strcpy(t->command_line, command_line ? command_line : "");
    t->weights.w_energy = config->w_energy;
    t->weights.w_forces = config->w_forces;
    t->weights.w_stress = config->w_stress;

    gbnet_model *initial = NULL;
    st = config->init_from[0] ? load_initial_model(t, &initial) : GBNET_OK;
    if (!st) st = gb_train_data_load(&t->data, &t->cfg);
    if (!st) {
        char elements[256] = "";
        size_t used = 0;
        for (int e = 0; e < t->data.n_elements && used < sizeof elements; ++e)
            used += (size_t)snprintf(elements + used, sizeof elements - used, "%s%s", e ? " " : "",
                                     gbnet_element_symbol(t->data.atomic_numbers[e]));
        char excluded[96] = "";
        if (config->exclude_key[0])
            snprintf(excluded, sizeof excluded, "; %d frames left out by exclude_key", t->data.n_excluded);
        say(t, "data: %d training frames (%lld atoms), %d validation frames (%lld atoms); elements %s%s",
            t->data.n_train, t->data.train_atoms, t->data.n_valid, t->data.valid_atoms, elements, excluded);
        if (resume_path) {
            st = resume(t, resume_path);
        } else if (initial) {
            t->model = initial; /* its normalization is kept */
            initial = NULL;
            say(t, "init_from: starting from %s (elements %s, its normalization kept)", config->init_from,
                t->cfg.elements);
            if (gbnet_model_quantization(t->model) != GBNET_QUANT_NONE) {
                /* training changes the weights (and so the activation ranges): the record would be stale */
                say(t, "init_from: %s has %s dense layers; training uses its float weights and writes a float "
                       "model (quantize it again with gbnet compress --quantize)",
                    config->init_from, gbnet_quant_mode_name(gbnet_model_quantization(t->model)));
                gbnet_model_quantize(t->model, GBNET_QUANT_NONE, 0, NULL, 0);
            }
        } else {
            gbnet_hyperparams hp;
            st = make_hyperparams(&hp, &t->cfg, &t->data);
            gbnet_ranks ranks;
            if (!st) st = config_ranks(&t->cfg, hp.n_blocks, &ranks);
            if (!st) st = gbnet_model_create_ranked(&t->model, &hp, &ranks, gb_member_seed(config));
        }
    }
    gbnet_model_free(initial);
    if (!st) st = gb_train_data_build(&t->data, t->model, config->min_distance, config->stress_max);
    if (!st && t->data.n_stress_skipped)
        say(t, "data: %d frames have a stress component beyond stress_max = %g GPa: fitted without their stress",
            t->data.n_stress_skipped, config->stress_max);
    if (!st) st = record_coverage_and_repulsion(t);
    if (!st && !resume_path) {
        st = config->init_from[0] ? GBNET_OK : fit_normalization(t);
        if (!st) st = gb_optimizer_init(&t->opt, config->optimizer, t->model->layout.total, config->beta1,
                                        config->beta2, config->adam_eps, config->weight_decay);
        t->state.lr = config->lr;
        t->state.best_valid_loss = INFINITY;
        gb_rng r;
        gb_rng_seed(&r, gb_member_seed(config) ^ 0x747261696eULL);
        memcpy(t->state.rng, r.s, sizeof r.s);
    }
    if (!st) {
        size_t n = (size_t)t->data.n_train;
        t->order = malloc(n * sizeof(int));
        t->pack_order = malloc(n * sizeof(int));
        t->sizes_atoms = malloc(n * sizeof(int));
        t->sizes_edges = malloc(n * sizeof(int));
        t->grad = calloc(t->model->layout.total, sizeof(double));
        if (!t->order || !t->pack_order || !t->sizes_atoms || !t->sizes_edges || !t->grad)
            st = gb_fail(GBNET_ERR_NO_MEMORY, "out of memory for %zu training frames", n);
    }
    if (!st && config->ema_decay > 0 && !t->state.ema) { /* new, or resumed from a run without EMA */
        t->state.ema = malloc(t->model->layout.total * sizeof(double));
        if (!t->state.ema) st = gb_fail(GBNET_ERR_NO_MEMORY, "out of memory for the EMA weights");
        else memcpy(t->state.ema, t->model->params, t->model->layout.total * sizeof(double));
        if (!st && resume_path) say(t, "ema_decay: the checkpoint has no EMA weights; the average starts now");
    }
    if (!st && config->ema_decay == 0 && t->state.ema) { /* resumed with EMA, continued without */
        free(t->state.ema);
        t->state.ema = NULL;
    }
    if (!st) st = choose_capacity(t);
    if (!st) st = pack_validation(t);
    if (!st) st = create_workers(t);
    if (st) {
        gbnet_trainer_free(t);
        return st;
    }
    int threads = t->n_workers > 1 ? t->n_workers : t->workers[0].ws->n_threads;
    say(t, "model: F=%d T=%d K=%d readout=%d cutoff %.3g A, %zu parameters, %s precision, %d thread%s (%s)",
        t->cfg.features, t->cfg.blocks, t->cfg.rbf, t->cfg.readout, t->cfg.cutoff, t->model->layout.total,
        config->precision == GBNET_FLOAT ? "float" : "double", threads, threads > 1 ? "s" : "",
        config->parallel == GB_PARALLEL_PACKS ? "one pack per thread" : "threads inside the kernels");
    if (gbnet_model_is_factored(t->model)) {
        const gbnet_ranks *r = &t->model->layout.ranks;
        say(t, "model: factored dense layers W = A B, ranks of block 0 in %d, out1 %d, out2 %d, readout %d (0: full)",
            r->in[0], r->out1[0], r->out2[0], r->readout);
    }
    if (config->parallel == GB_PARALLEL_PACKS && t->n_workers > t->packs_per_step)
        say(t, "warning: %d threads but %d pack%s per step: only %d thread%s busy in training steps (lower "
               "pack_atoms, or parallel = kernels)",
            t->n_workers, t->packs_per_step, t->packs_per_step > 1 ? "s" : "", t->packs_per_step,
            t->packs_per_step > 1 ? "s are" : " is");
    *out = t;
    return GBNET_OK;
}

void gbnet_trainer_free(gbnet_trainer *t) {
    if (!t) return;
    for (int w = 0; t->workers && w < t->n_workers; ++w) {
        gbnet_workspace_free(t->workers[w].ws);
        gb_batch_buffer_free(&t->workers[w].bb);
        free(t->workers[w].ptrs);
    }
    free(t->workers);
    free(t->pack_grads);
    free(t->pack_stats);
    free(t->pack_status);
    free(t->pack_message);
    gb_optimizer_free(&t->opt);
    free(t->state.ema);
    gb_train_data_free(&t->data);
    gbnet_model_free(t->model);
    gb_packing_free(&t->epoch_packing);
    gb_packing_free(&t->valid_packing);
    free(t->grad);
    free(t->order);
    free(t->pack_order);
    free(t->sizes_atoms);
    free(t->sizes_edges);
    free(t->config_text);
    free(t->command_line);
    free(t);
}

const gb_train_data *gb_trainer_data(const gbnet_trainer *t) { return &t->data; }
const gbnet_model *gbnet_trainer_model(const gbnet_trainer *t) { return t->model; }
const gb_train_state *gb_trainer_state(const gbnet_trainer *t) { return &t->state; }

void gbnet_trainer_summary(const gbnet_trainer *t, gbnet_train_summary *out) {
    memset(out, 0, sizeof *out);
    out->epoch = t->state.epoch;
    out->global_step = t->state.global_step;
    out->best_valid_loss = t->state.best_valid_loss;
    out->best_epoch = t->state.best_epoch;
    out->n_train = t->data.n_train;
    out->n_valid = t->data.n_valid;
    out->train_atoms = t->data.train_atoms;
    out->valid_atoms = t->data.valid_atoms;
    for (int i = 0; i < t->data.n_train && !out->train_has_stress; ++i)
        out->train_has_stress = t->data.train[i]->has_virial && t->data.train[i]->has_cell;
}

const gbnet_frame *gbnet_trainer_valid_frame(const gbnet_trainer *t, int i) {
    return i >= 0 && i < t->data.n_valid ? t->data.valid[i] : NULL;
}

void gb_trainer_packing(const gbnet_trainer *t, int *cap_atoms, int *cap_edges, double *atom_efficiency,
                        double *edge_efficiency, int *packs_per_step) {
    if (cap_atoms) *cap_atoms = t->cap_atoms;
    if (cap_edges) *cap_edges = t->cap_edges;
    if (atom_efficiency) *atom_efficiency = t->atom_efficiency;
    if (edge_efficiency) *edge_efficiency = t->edge_efficiency;
    if (packs_per_step) *packs_per_step = t->packs_per_step;
}

/* ------------------------------------------------------------ epochs */

/* The packs of epoch e: the training set shuffled by (seed, e) alone, packed,
 * and the pack order shuffled too (packing puts large structures first). */
static gbnet_status pack_epoch(gbnet_trainer *t, int epoch) {
    int n = t->data.n_train;
    gb_rng r;
    gb_rng_seed(&r, gb_member_seed(&t->cfg) ^ (0x73687566666c65ULL + 0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1)));
    for (int i = 0; i < n; ++i) t->order[i] = i;
    gb_rng_shuffle(&r, t->order, n);
    for (int k = 0; k < n; ++k) {
        const gb_sample *s = &t->data.train_samples[t->order[k]];
        t->sizes_atoms[k] = s->frame->n_atoms;
        t->sizes_edges[k] = s->nl.n_edges;
    }
    gbnet_status st = gb_pack(&t->epoch_packing, n, t->sizes_atoms, t->sizes_edges, t->cap_atoms, t->cap_edges);
    if (st) return st;
    for (int p = 0; p < t->epoch_packing.n_packs; ++p) t->pack_order[p] = p;
    gb_rng_shuffle(&r, t->pack_order, t->epoch_packing.n_packs);
    return GBNET_OK;
}

static int n_steps(const gbnet_trainer *t) {
    return (t->epoch_packing.n_packs + t->packs_per_step - 1) / t->packs_per_step;
}

/* Samples of training pack k of the epoch (in step order) or of validation
 * pack k into ptrs; returns their number. */
static int fill_pack(const gbnet_trainer *t, int is_train, int k, const gb_sample **ptrs) {
    int count = 0;
    if (is_train) {
        const gb_packing *p = &t->epoch_packing;
        int pack = t->pack_order[k];
        for (int q = p->pack_offsets[pack]; q < p->pack_offsets[pack + 1]; ++q)
            ptrs[count++] = &t->data.train_samples[t->order[p->items[q]]];
    } else {
        const gb_packing *p = &t->valid_packing;
        for (int q = p->pack_offsets[k]; q < p->pack_offsets[k + 1]; ++q)
            ptrs[count++] = &t->data.valid_samples[p->items[q]];
    }
    return count;
}

static void add_stats(gb_loss_stats *sum, const gb_loss_stats *s) {
    sum->loss += s->loss;
    sum->se_energy += s->se_energy;
    sum->ae_energy += s->ae_energy;
    sum->se_forces += s->se_forces;
    sum->ae_forces += s->ae_forces;
    sum->se_stress += s->se_stress;
    sum->ae_stress += s->ae_stress;
    sum->n_energy += s->n_energy;
    sum->n_forces += s->n_forces;
    sum->n_stress += s->n_stress;
}

/* Loss over packs [first, first+count) (training, with gradient into t->grad,
 * or validation). Each pack's gradient and statistics go to a slot of their
 * own and are summed in pack order, so the result does not depend on which
 * thread ran which pack. */
static gbnet_status run_packs(gbnet_trainer *t, int is_train, int first, int count, double scale, gb_loss_stats *stats) {
    const size_t P = t->model->layout.total;
    const int static_atoms = is_train && t->cfg.static_shape ? t->cap_atoms : 0;
    const int static_edges = is_train && t->cfg.static_shape ? t->cap_edges : 0;
    const int n_threads = t->n_workers < count ? t->n_workers : count;
    (void)n_threads; /* used only by the OpenMP pragma */
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads > 0 ? n_threads : 1) if (n_threads > 1)
    for (int k = 0; k < count; ++k) {
        int w = 0;
#ifdef _OPENMP
        w = omp_get_thread_num();
#endif
        gb_worker *wk = &t->workers[w];
        int n = fill_pack(t, is_train, first + k, wk->ptrs);
        double *grad = is_train ? t->pack_grads + (size_t)k * P : NULL;
        if (grad) memset(grad, 0, P * sizeof(double));
        memset(&t->pack_stats[k], 0, sizeof t->pack_stats[k]);
        t->pack_status[k] = gb_pack_loss(wk->ws, &wk->bb, wk->ptrs, n, &t->weights, scale, static_atoms,
                                         static_edges, grad, &t->pack_stats[k], NULL, NULL);
        if (t->pack_status[k]) snprintf(t->pack_message[k], PACK_MESSAGE_MAX, "%s", gbnet_last_error());
    }
    for (int k = 0; k < count; ++k)
        if (t->pack_status[k]) return gb_fail(t->pack_status[k], "%s", t->pack_message[k]);
    if (is_train) {
        memcpy(t->grad, t->pack_grads, P * sizeof(double));
        for (int k = 1; k < count; ++k) {
            const double *g = t->pack_grads + (size_t)k * P;
            for (size_t i = 0; i < P; ++i) t->grad[i] += g[i];
        }
    }
    for (int k = 0; k < count; ++k) add_stats(stats, &t->pack_stats[k]);
    return GBNET_OK;
}

/* Loss and gradient (into t->grad) of step s of the current epoch. */
static gbnet_status run_step(gbnet_trainer *t, int step, gb_loss_stats *stats, int *structures_done,
                             long long *atoms_done) {
    const gb_packing *p = &t->epoch_packing;
    int first = step * t->packs_per_step, last = first + t->packs_per_step;
    if (last > p->n_packs) last = p->n_packs;
    int structures = 0;
    for (int k = first; k < last; ++k) {
        int pack = t->pack_order[k];
        structures += p->pack_offsets[pack + 1] - p->pack_offsets[pack];
        for (int q = p->pack_offsets[pack]; q < p->pack_offsets[pack + 1]; ++q)
            *atoms_done += t->data.train_samples[t->order[p->items[q]]].frame->n_atoms;
    }
    *structures_done += structures;
    return run_packs(t, 1, first, last - first, 1.0 / structures, stats);
}

static gbnet_status evaluate_validation(gbnet_trainer *t, gb_loss_stats *stats) {
    memset(stats, 0, sizeof *stats);
    return run_packs(t, 0, 0, t->valid_packing.n_packs, 1.0 / t->data.n_valid, stats);
}

static double rmse(double se, long n, double unit) { return n > 0 ? unit * sqrt(se / (double)n) : NAN; }

static void fill_errors(double *e_rmse, double *f_rmse, double *s_rmse, const gb_loss_stats *s) {
    *e_rmse = rmse(s->se_energy, s->n_energy, 1000.0);
    *f_rmse = rmse(s->se_forces, s->n_forces, 1000.0);
    *s_rmse = rmse(s->se_stress, s->n_stress, 1.0);
}

/* ------------------------------------------------------------ outputs */

static gbnet_status save_best(gbnet_trainer *t, const gbnet_epoch_report *r) {
    char date[64];
    time_t now = time(NULL);
    struct tm tm_utc;
    gmtime_r(&now, &tm_utc);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
    size_t size = strlen(t->config_text) + strlen(t->command_line) + 4096;
    char *text = malloc(size);
    if (!text) return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory writing the model");
    snprintf(text, size,
             "trained by gbnet %s train on %s\n"
             "command: %s\n"
             "training frames: %d (%lld atoms); validation frames: %d (%lld atoms)\n"
             "best epoch: %d of %d, step %lld\n"
             "validation: energy RMSE %.4f meV/atom, MAE %.4f meV/atom; force RMSE %.4f meV/A, MAE %.4f meV/A; "
             "stress RMSE %.5f GPa; loss %.8g\n"
             "configuration:\n%s",
             gbnet_version(), date, t->command_line, t->data.n_train, t->data.train_atoms, t->data.n_valid,
             t->data.valid_atoms, r->epoch, r->n_epochs, r->global_step, r->valid_energy_rmse, r->valid_energy_mae,
             r->valid_force_rmse, r->valid_force_mae, r->valid_stress_rmse, r->valid_loss, t->config_text);
    gbnet_status st = gbnet_model_set_provenance(t->model, text);
    free(text);
    double *raw = t->model->params;
    if (t->state.ema) t->model->params = t->state.ema; /* the saved model is the average */
    if (!st) st = gbnet_model_save(t->model, t->cfg.output);
    t->model->params = raw;
    return st;
}

/* The readout-input ranges (section FRNG) of the saved model over the
 * training frames, once at the end of a run: the file holds the best epoch's
 * weights (the EMA average when on), not the ones trained last, so it is
 * read back, recorded and written again. Nothing when no epoch was saved. */
static gbnet_status record_feature_ranges(gbnet_trainer *t) {
    if (access(t->cfg.output, F_OK) != 0 || t->data.n_train == 0) return GBNET_OK;
    gbnet_model *saved = NULL;
    gbnet_status st = gbnet_model_load(&saved, t->cfg.output);
    gbnet_structure *s = st ? NULL : calloc((size_t)t->data.n_train, sizeof *s);
    if (!st && !s) st = gb_fail(GBNET_ERR_NO_MEMORY, "out of memory recording the readout-input ranges");
    for (int k = 0; s && k < t->data.n_train; ++k) {
        const gbnet_frame *f = t->data.train_samples[k].frame;
        s[k].n_atoms = f->n_atoms;
        s[k].species = t->data.train_samples[k].species;
        s[k].positions = f->pos;
        s[k].cell = f->has_cell ? f->cell : NULL;
        for (int c = 0; c < 3; ++c) s[k].pbc[c] = f->has_cell ? f->pbc[c] : 0;
    }
    if (!st) st = gbnet_model_record_feature_ranges(saved, t->data.n_train, s);
    if (!st) st = gbnet_model_save(saved, t->cfg.output);
    free(s);
    gbnet_model_free(saved);
    return st;
}

static const char *CSV_HEADER =
    "epoch,steps,lr,train_loss,train_energy_rmse_meV_atom,train_force_rmse_meV_A,train_stress_rmse_GPa,"
    "valid_loss,valid_energy_rmse_meV_atom,valid_force_rmse_meV_A,valid_stress_rmse_GPa,"
    "valid_energy_mae_meV_atom,valid_force_mae_meV_A,elapsed_s,structures_per_s,atoms_per_s,best\n";

/* Starts the log: a new file, or on resume the old one cut after the epochs
 * the checkpoint holds (later lines would be repeated by this run). */
static gbnet_status open_log(gbnet_trainer *t, int resumed) {
    if (!t->cfg.log[0]) return GBNET_OK;
    char *kept = NULL;
    size_t kept_len = 0;
    if (resumed) {
        FILE *in = fopen(t->cfg.log, "r");
        if (in) {
            char line[4096];
            FILE *mem = open_memstream(&kept, &kept_len);
            if (!mem) {
                fclose(in);
                return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory reading %s", t->cfg.log);
            }
            while (fgets(line, sizeof line, in)) {
                int epoch;
                if (sscanf(line, "%d,", &epoch) == 1 && epoch > t->state.epoch) continue;
                if (!strchr(line, '\n')) continue; /* a line cut by a kill while it was appended */
                if (strncmp(line, "epoch,", 6) == 0) continue;
                fputs(line, mem);
            }
            fclose(in);
            fclose(mem);
        }
    }
    /* replaced atomically: a kill while the log is rewritten must not lose the
     * lines of the epochs the checkpoint holds */
    size_t header_len = strlen(CSV_HEADER);
    char *text = malloc(header_len + kept_len + 1);
    if (!text) {
        free(kept);
        return gb_fail(GBNET_ERR_NO_MEMORY, "out of memory writing %s", t->cfg.log);
    }
    memcpy(text, CSV_HEADER, header_len);
    if (kept) memcpy(text + header_len, kept, kept_len);
    free(kept);
    gbnet_status st = gb_write_file_atomically(t->cfg.log, text, header_len + kept_len, "log");
    free(text);
    return st;
}

static void csv_number(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, ",%.9g", v);
    else fputs(",", f);
}

static gbnet_status append_log(gbnet_trainer *t, const gbnet_epoch_report *r) {
    if (!t->cfg.log[0]) return GBNET_OK;
    FILE *f = fopen(t->cfg.log, "a");
    if (!f) return gb_fail(GBNET_ERR_IO, "cannot append to the log %s", t->cfg.log);
    fprintf(f, "%d,%lld", r->epoch, r->global_step);
    const double v[] = {r->lr, r->train_loss, r->train_energy_rmse, r->train_force_rmse, r->train_stress_rmse,
                        r->valid_loss, r->valid_energy_rmse, r->valid_force_rmse, r->valid_stress_rmse,
                        r->valid_energy_mae, r->valid_force_mae, r->elapsed, r->structures_per_s, r->atoms_per_s};
    for (size_t k = 0; k < sizeof v / sizeof *v; ++k) csv_number(f, v[k]);
    fprintf(f, ",%d\n", r->improved);
    return fclose(f) == 0 ? GBNET_OK : gb_fail(GBNET_ERR_IO, "cannot append to the log %s", t->cfg.log);
}

static gbnet_status write_checkpoint(gbnet_trainer *t) {
    gbnet_status st = gb_checkpoint_write(t->cfg.checkpoint, t->model, &t->opt, &t->state, t->config_text);
    if (!st) t->last_checkpoint_epoch = t->state.epoch;
    return st;
}

/* ------------------------------------------------------------ the loop */

static double elapsed_total(const gbnet_trainer *t) { return t->elapsed_before + (now_seconds() - t->run_start); }

/* Validation errors into r; loss is the mean per structure. */
static gbnet_status validate(gbnet_trainer *t, gbnet_epoch_report *r) {
    if (t->data.n_valid == 0) {
        r->valid_loss = r->train_loss;
        r->valid_energy_rmse = r->valid_force_rmse = r->valid_stress_rmse = NAN;
        r->valid_energy_mae = r->valid_force_mae = NAN;
        return GBNET_OK;
    }
    gb_loss_stats vs;
    /* with an EMA the averaged weights are validated (and saved), the raw ones trained */
    if (t->state.ema)
        for (int w = 0; w < t->n_workers; ++w) gb_ws_load_params(t->workers[w].ws, t->state.ema);
    gbnet_status st = evaluate_validation(t, &vs);
    if (t->state.ema)
        for (int w = 0; w < t->n_workers; ++w) gb_ws_load_params(t->workers[w].ws, t->model->params);
    if (st) return st;
    r->valid_loss = vs.loss;
    fill_errors(&r->valid_energy_rmse, &r->valid_force_rmse, &r->valid_stress_rmse, &vs);
    r->valid_energy_mae = vs.n_energy ? 1000.0 * vs.ae_energy / vs.n_energy : NAN;
    r->valid_force_mae = vs.n_forces ? 1000.0 * vs.ae_forces / vs.n_forces : NAN;
    return GBNET_OK;
}

static gbnet_status numeric_failure(gbnet_trainer *t, int epoch, int step, const char *what) {
    char kept[GB_CFG_TEXT_MAX + 128];
    if (t->last_checkpoint_epoch >= 0)
        snprintf(kept, sizeof kept, "the last good checkpoint (%s, after %d epochs) is kept", t->cfg.checkpoint,
                 t->last_checkpoint_epoch);
    else
        snprintf(kept, sizeof kept, "no checkpoint was written yet");
    return gb_fail(GBNET_ERR_NUMERIC,
                   "epoch %d, step %d: %s is NaN or Inf (learning rate %g); training stopped, %s; "
                   "try a smaller lr or clip_grad_norm",
                   epoch + 1, step + 1, what, t->state.lr, kept);
}

/* End of an epoch: validation, schedule, best model, log, checkpoint, report.
 * Sets *stop when early stopping or the time limit ends training. */
static gbnet_status finish_epoch(gbnet_trainer *t, gbnet_epoch_report *r, int steps, int *stop) {
    gb_train_state *s = &t->state;
    int epoch = s->epoch;
    r->epoch = epoch + 1;
    r->n_epochs = t->cfg.epochs;
    r->global_step = s->global_step;
    r->train_loss = steps ? s->epoch_stats.loss / steps : NAN;
    fill_errors(&r->train_energy_rmse, &r->train_force_rmse, &r->train_stress_rmse, &s->epoch_stats);
    gbnet_status st = validate(t, r);
    if (st) return st;
    if (!isfinite(r->valid_loss)) return numeric_failure(t, epoch, steps - 1, "the validation loss");
    r->improved = r->valid_loss < s->best_valid_loss;
    if (r->improved) {
        s->best_valid_loss = r->valid_loss;
        s->best_epoch = r->epoch;
        s->plateau_wait = 0;
        s->early_wait = 0;
        st = save_best(t, r);
        if (st) return st;
    } else {
        s->plateau_wait++;
        s->early_wait++;
    }
    /* the learning rate of the next epoch */
    double lr = s->lr * t->cfg.lr_decay;
    if (t->cfg.lr_plateau_patience > 0 && s->plateau_wait >= t->cfg.lr_plateau_patience) {
        lr *= t->cfg.lr_plateau_factor;
        s->plateau_wait = 0;
        if (s->lr > t->cfg.lr_min) /* nothing to say once the floor is reached */
            say(t, "epoch %d: no better validation loss for %d epochs, learning rate reduced to %g", r->epoch,
                t->cfg.lr_plateau_patience, lr < t->cfg.lr_min ? t->cfg.lr_min : lr);
    }
    s->lr = lr < t->cfg.lr_min ? t->cfg.lr_min : lr;
    s->epoch = epoch + 1;
    s->step = 0;
    memset(&s->epoch_stats, 0, sizeof s->epoch_stats);

    *stop = 0;
    if (t->cfg.early_stopping_patience > 0 && s->early_wait >= t->cfg.early_stopping_patience) {
        say(t, "early stopping after epoch %d: no better validation loss for %d epochs (best: epoch %d)", r->epoch,
            s->early_wait, s->best_epoch);
        *stop = 1;
    }
    st = append_log(t, r);
    if (st) return st;
    int last = *stop || s->epoch >= t->cfg.epochs;
    if (last || (t->cfg.checkpoint_every > 0 && s->epoch % t->cfg.checkpoint_every == 0)) {
        s->elapsed = r->elapsed;
        st = write_checkpoint(t);
        if (st) return st;
    }
    if (t->hooks.epoch_done) t->hooks.epoch_done(t->hooks.ctx, r);
    return GBNET_OK;
}

/* Writes the checkpoint at a step boundary after a stop request. */
static gbnet_status interrupted(gbnet_trainer *t) {
    t->state.elapsed = elapsed_total(t);
    gbnet_status st = write_checkpoint(t);
    if (st) return st;
    return gb_fail(GBNET_ERR_INTERRUPTED, "interrupted in epoch %d after step %d; checkpoint written to %s "
                   "(continue with --resume %s)", t->state.epoch + 1, t->state.step, t->cfg.checkpoint,
                   t->cfg.checkpoint);
}

gbnet_status gbnet_trainer_run(gbnet_trainer *t) {
    gb_train_state *s = &t->state;
    t->run_start = now_seconds();
    t->elapsed_before = s->elapsed;
    int resumed = s->global_step > 0 || s->epoch > 0;
    gbnet_status st = open_log(t, resumed);
    if (st) return st;
    if (!resumed) { /* epoch 0: the errors of the initial model, a reference for the learning curve */
        gbnet_epoch_report r;
        memset(&r, 0, sizeof r);
        r.n_epochs = t->cfg.epochs;
        r.lr = s->lr;
        r.train_loss = r.train_energy_rmse = r.train_force_rmse = r.train_stress_rmse = NAN;
        r.structures_per_s = r.atoms_per_s = r.eta = NAN;
        st = validate(t, &r);
        if (st) return st;
        if (t->data.n_valid == 0) r.valid_loss = NAN;
        st = append_log(t, &r);
        if (st) return st;
        if (t->hooks.epoch_done) t->hooks.epoch_done(t->hooks.ctx, &r);
    }
    int epochs_this_run = 0;
    double run_epoch_seconds = 0.0;
    while (s->epoch < t->cfg.epochs) {
        if (t->cfg.time_limit > 0 && epochs_this_run > 0 &&
            elapsed_total(t) + run_epoch_seconds / epochs_this_run > 60.0 * t->cfg.time_limit) {
            say(t, "time limit: stopping after epoch %d (%.1f of %.1f minutes used)", s->epoch,
                elapsed_total(t) / 60.0, t->cfg.time_limit);
            s->elapsed = elapsed_total(t);
            st = write_checkpoint(t);
            return st ? st : record_feature_ranges(t);
        }
        double epoch_start = now_seconds();
        st = pack_epoch(t, s->epoch);
        if (st) return st;
        int steps = n_steps(t), structures = 0;
        long long atoms = 0;
        double train_seconds = 0.0, lr_used = s->lr;
        for (int step = s->step; step < steps; ++step) {
            if (t->hooks.stop_request && *t->hooks.stop_request) return interrupted(t);
            double t0 = now_seconds();
            gb_loss_stats step_stats;
            memset(&step_stats, 0, sizeof step_stats);
            st = run_step(t, step, &step_stats, &structures, &atoms);
            if (st == GBNET_ERR_NUMERIC) {
                char message[2048];
                last_error_copy(message, sizeof message);
                return gb_fail(st, "epoch %d, step %d: %s", s->epoch + 1, step + 1, message);
            }
            if (st) return st;
            double norm = gb_vector_norm(t->grad, t->model->layout.total);
            if (!isfinite(step_stats.loss)) return numeric_failure(t, s->epoch, step, "the loss");
            if (!isfinite(norm)) return numeric_failure(t, s->epoch, step, "the gradient");
            if (t->cfg.clip_grad_norm > 0 && norm > t->cfg.clip_grad_norm) {
                double f = t->cfg.clip_grad_norm / norm;
                for (size_t k = 0; k < t->model->layout.total; ++k) t->grad[k] *= f;
            }
            gb_optimizer_step(&t->opt, t->model->params, t->grad, s->lr);
            if (s->ema) update_ema(t);
            for (int w = 0; w < t->n_workers; ++w) gb_ws_load_params(t->workers[w].ws, t->model->params);
            s->global_step++;
            s->step = step + 1;
            add_stats(&s->epoch_stats, &step_stats);
            train_seconds += now_seconds() - t0;
            if (t->hooks.step_done) t->hooks.step_done(t->hooks.ctx, s->epoch, step, step_stats.loss);
        }
        gbnet_epoch_report r;
        memset(&r, 0, sizeof r);
        r.lr = lr_used;
        r.structures_per_s = train_seconds > 0 ? structures / train_seconds : NAN;
        r.atoms_per_s = train_seconds > 0 ? (double)atoms / train_seconds : NAN;
        int stop = 0;
        /* elapsed and ETA before the checkpoint so both record the same time */
        double now_elapsed = elapsed_total(t);
        run_epoch_seconds += now_seconds() - epoch_start;
        epochs_this_run++;
        r.elapsed = now_elapsed;
        r.eta = (run_epoch_seconds / epochs_this_run) * (t->cfg.epochs - (s->epoch + 1));
        if (t->cfg.time_limit > 0 && r.eta > 60.0 * t->cfg.time_limit - now_elapsed)
            r.eta = fmax(0.0, 60.0 * t->cfg.time_limit - now_elapsed);
        st = finish_epoch(t, &r, steps, &stop);
        if (st) return st;
        if (stop) break;
    }
    return record_feature_ranges(t);
}
