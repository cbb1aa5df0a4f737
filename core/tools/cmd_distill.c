/* gbnet distill: knowledge distillation. A (usually smaller) student is
 * trained on the energies and forces a teacher potential assigns to the
 * training structures and to structures made from them (random
 * displacements, strained cells, frames of a short Langevin MD run with the
 * teacher), then fine-tuned on the reference labels. The student is an
 * ordinary potential file (docs/compression.md, "Distillation"). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"
#include "gbnet_data.h"
#include "gbnet_train.h"

static const char *const distill_help =
    "Usage: gbnet distill TEACHER CONFIG [options]\n"
    "\n"
    "Trains the student CONFIG describes (an ordinary `gbnet train` config:\n"
    "train_data are the reference data, features/blocks/rbf/readout/cutoff the\n"
    "student's size) in two phases:\n"
    "  1. distill: on the distillation set, the training frames and copies of\n"
    "     them with random displacements, strained cells (periodic frames) and\n"
    "     MD frames, all labelled by TEACHER (energies, forces, and virials of\n"
    "     periodic frames whose reference has one; a committee file labels\n"
    "     with its mean). The set is written to --write-set, valid_data with\n"
    "     the teacher's labels (phase 1's validation) to OUTPUT.distill.valid.extxyz,\n"
    "     the student to OUTPUT.distill.EXT, log and checkpoint likewise.\n"
    "  2. fine-tune: from that student (init_from, normalization kept) on the\n"
    "     reference labels at a lower learning rate, written to CONFIG's\n"
    "     output, log and checkpoint. Its provenance names the teacher.\n"
    "CONFIG's time_limit is shared by both phases in proportion to their\n"
    "work (epochs times frames).\n"
    "\n"
    "Ctrl-C (SIGINT) or SIGTERM: the running phase writes its checkpoint and\n"
    "stops; run the same command with --resume CHECKPOINT to continue (a\n"
    "distill-phase checkpoint reuses the written set, then fine-tunes).\n"
    "\n"
    "Options:\n"
    "  --set KEY=VALUE         override a key of CONFIG (repeatable)\n"
    "  --displacements N       copies of each frame with Gaussian displacements (default 2)\n"
    "  --sigma A               their standard deviation per coordinate, Angstrom (default 0.05)\n"
    "  --strains N             copies of each periodic frame in a strained cell (default 1)\n"
    "  --strain X              largest strain component, |e_ab| <= X (default 0.02)\n"
    "  --md-frames N           frames from short teacher MD runs (default 0)\n"
    "  --md-steps N            steps of each run (default 50)\n"
    "  --md-temperature K      Langevin temperature (default 300)\n"
    "  --md-timestep FS        time step in fs (default 0.5)\n"
    "  --md-friction G         Langevin friction in 1/ps (default 5)\n"
    "  --seed N                seed of displacements, strains and MD (default: CONFIG's seed)\n"
    "  --distill-epochs N      epochs of phase 1 (default: CONFIG's epochs)\n"
    "  --finetune-epochs N     epochs of phase 2 (default: as many as phase 1's)\n"
    "  --finetune-lr X         learning rate of phase 2 (default: CONFIG's lr x 0.3)\n"
    "  --write-set FILE        the distillation set (extxyz; default OUTPUT.distill.extxyz)\n"
    "  --set-only              write the distillation set and stop\n"
    "  --resume CKPT           continue a phase from its checkpoint\n"
    "  -h, --help              show this help\n";

enum {
    OPT_SET, OPT_DISP, OPT_SIGMA, OPT_STRAINS, OPT_STRAIN, OPT_MD_FRAMES, OPT_MD_STEPS, OPT_MD_TEMP, OPT_MD_DT,
    OPT_MD_FRICTION, OPT_SEED, OPT_DEPOCHS, OPT_FEPOCHS, OPT_FLR, OPT_WRITE_SET, OPT_SET_ONLY, OPT_RESUME, OPT_HELP
};
static const cli_option distill_options[] = {
    [OPT_SET] = {"set", 0, 1},
    [OPT_DISP] = {"displacements", 0, 1},
    [OPT_SIGMA] = {"sigma", 0, 1},
    [OPT_STRAINS] = {"strains", 0, 1},
    [OPT_STRAIN] = {"strain", 0, 1},
    [OPT_MD_FRAMES] = {"md-frames", 0, 1},
    [OPT_MD_STEPS] = {"md-steps", 0, 1},
    [OPT_MD_TEMP] = {"md-temperature", 0, 1},
    [OPT_MD_DT] = {"md-timestep", 0, 1},
    [OPT_MD_FRICTION] = {"md-friction", 0, 1},
    [OPT_SEED] = {"seed", 0, 1},
    [OPT_DEPOCHS] = {"distill-epochs", 0, 1},
    [OPT_FEPOCHS] = {"finetune-epochs", 0, 1},
    [OPT_FLR] = {"finetune-lr", 0, 1},
    [OPT_WRITE_SET] = {"write-set", 0, 1},
    [OPT_SET_ONLY] = {"set-only", 0, 0},
    [OPT_RESUME] = {"resume", 0, 1},
    [OPT_HELP] = {"help", 'h', 0},
};

#define CMD "distill"
#define TEXT_MAX 1100

typedef struct {
    int displacements, strains, md_frames, md_steps;
    double sigma, strain, md_temperature, md_timestep, md_friction;
    uint64_t seed;
    int seed_set;
    int distill_epochs, finetune_epochs; /* 0: default */
    double finetune_lr;                  /* 0: default */
} distill_options_t;

/* ------------------------------------------------------------ signals */

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int signal_number) {
    stop_requested = 1;
    struct sigaction dfl; /* a second signal terminates */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(signal_number, &dfl, NULL);
}

static void set_signal_handlers(int install) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = install ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ------------------------------------------------------------ random numbers */

/* splitmix64: a stream per (seed, frame, kind, copy), so every copy is the
 * same whatever else is generated and in whichever order. */
typedef struct { uint64_t s; } rng_t;

static uint64_t rng_next(rng_t *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static rng_t rng_for(uint64_t seed, uint64_t frame, uint64_t kind, uint64_t copy) {
    rng_t r = {seed};
    r.s = rng_next(&r) ^ (frame * 0x100000001b3ULL);
    r.s = rng_next(&r) ^ (kind << 56) ^ copy;
    rng_next(&r);
    return r;
}

static double rng_uniform(rng_t *r) { return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53; } /* (0,1) */

static double rng_gauss(rng_t *r) {
    double u = rng_uniform(r), v = rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ------------------------------------------------------------ masses */

/* Standard atomic weights (amu) of Z = 1..86, for the MD frames only. */
static const double atomic_masses[87] = {
    0,      1.008,  4.0026, 6.94,   9.0122, 10.81,  12.011, 14.007, 15.999, 18.998, 20.180, 22.990, 24.305,
    26.982, 28.085, 30.974, 32.06,  35.45,  39.948, 39.098, 40.078, 44.956, 47.867, 50.942, 51.996, 54.938,
    55.845, 58.933, 58.693, 63.546, 65.38,  69.723, 72.630, 74.922, 78.971, 79.904, 83.798, 85.468, 87.62,
    88.906, 91.224, 92.906, 95.95,  97.0,   101.07, 102.91, 106.42, 107.87, 112.41, 114.82, 118.71, 121.76,
    127.60, 126.90, 131.29, 132.91, 137.33, 138.91, 140.12, 140.91, 144.24, 145.0,  150.36, 151.96, 157.25,
    158.93, 162.50, 164.93, 167.26, 168.93, 173.05, 174.97, 178.49, 180.95, 183.84, 186.21, 190.23, 192.22,
    195.08, 196.97, 200.59, 204.38, 207.2,  208.98, 209.0,  210.0,  222.0};

static double atomic_mass(int z) { return z >= 1 && z <= 86 ? atomic_masses[z] : 2.5 * z; }

/* ------------------------------------------------------------ the set */

typedef struct {
    gbnet_frame *frames; /* z and metadata point into the source dataset; pos, forces, info are ours */
    int n;
    int n_training, n_displaced, n_strained, n_md;
} distill_set;

static void set_free(distill_set *s) {
    for (int i = 0; s->frames && i < s->n; ++i) { /* frames is NULL when only counted (--resume) */
        free(s->frames[i].pos);
        free(s->frames[i].forces);
        free(s->frames[i].info);
    }
    free(s->frames);
    memset(s, 0, sizeof *s);
}

/* A copy of src (positions, cell, metadata) tagged distill=KIND; labels come later. */
static int set_add(distill_set *s, const gbnet_frame *src, const char *kind) {
    gbnet_frame *grown = realloc(s->frames, (size_t)(s->n + 1) * sizeof *grown);
    if (!grown) return 0;
    s->frames = grown;
    gbnet_frame *f = &s->frames[s->n];
    memset(f, 0, sizeof *f);
    f->n_atoms = src->n_atoms;
    f->z = src->z;
    f->pos = malloc((size_t)src->n_atoms * 3 * sizeof(double));
    f->forces = malloc((size_t)src->n_atoms * 3 * sizeof(double));
    f->info = malloc((size_t)(src->n_info + 1) * sizeof *f->info);
    if (!f->pos || !f->forces || !f->info) {
        free(f->pos);
        free(f->forces);
        free(f->info);
        return 0;
    }
    memcpy(f->pos, src->pos, (size_t)src->n_atoms * 3 * sizeof(double));
    memcpy(f->cell, src->cell, sizeof f->cell);
    f->has_cell = src->has_cell;
    memcpy(f->pbc, src->pbc, sizeof f->pbc);
    f->has_virial = src->has_virial && src->has_cell; /* relabelled by the teacher */
    f->config_type = src->config_type;
    f->subset = src->subset;
    for (int k = 0; k < src->n_info; ++k) f->info[k] = src->info[k];
    f->info[src->n_info].key = (char *)"distill";
    f->info[src->n_info].value = (char *)kind;
    f->n_info = src->n_info + 1;
    f->line = src->line;
    f->source = src->source;
    s->n++;
    return 1;
}

static int fully_periodic(const gbnet_frame *f) { return f->has_cell && f->pbc[0] && f->pbc[1] && f->pbc[2]; }

/* Evaluates frames [0, n) with the teacher (committee mean) into their labels, in chunks. */
static int label_frames(gbnet_committee_workspace *cws, const gbnet_hyperparams *hp, gbnet_frame *frames, int n,
                        const char *what) {
    enum { CHUNK = 128 };
    gbnet_structure st[CHUNK];
    gbnet_result res[CHUNK];
    int *species[CHUNK] = {0};
    int rc = CLI_EXIT_OK;
    double start = cli_now(), last = start;
    for (int first = 0; first < n && rc == CLI_EXIT_OK; first += CHUNK) {
        int m = n - first < CHUNK ? n - first : CHUNK;
        for (int k = 0; k < m && rc == CLI_EXIT_OK; ++k) {
            gbnet_frame *f = &frames[first + k];
            free(species[k]);
            species[k] = malloc((size_t)f->n_atoms * sizeof(int));
            if (!species[k]) rc = cli_error(CMD, "out of memory");
            else if (gbnet_frame_species(species[k], f, hp) != GBNET_OK) rc = cli_library_error(CMD, GBNET_ERR_INVALID_ARGUMENT);
            st[k].n_atoms = f->n_atoms;
            st[k].species = species[k];
            st[k].positions = f->pos;
            st[k].cell = f->has_cell ? f->cell : NULL;
            memcpy(st[k].pbc, f->pbc, sizeof st[k].pbc);
            memset(&res[k], 0, sizeof res[k]);
            res[k].forces = f->forces;
        }
        if (rc) break;
        gbnet_status s = gbnet_committee_evaluate(cws, m, st, res, NULL);
        if (s) {
            fprintf(stderr, "gbnet %s: the teacher failed on %s frames %d..%d: %s\n", CMD, what, first + 1, first + m,
                    gbnet_last_error());
            rc = CLI_EXIT_ERROR;
            break;
        }
        for (int k = 0; k < m; ++k) {
            gbnet_frame *f = &frames[first + k];
            f->energy = res[k].energy;
            f->has_energy = 1;
            if (f->has_virial) memcpy(f->virial, res[k].virial, sizeof f->virial);
        }
        double now = cli_now();
        if (now - last > 10.0) {
            printf("labelling: %d of %d structures\n", first + m, n);
            fflush(stdout);
            last = now;
        }
    }
    for (int k = 0; k < CHUNK; ++k) free(species[k]);
    return rc;
}

/* Langevin MD (BAOAB) with the teacher: trajectory k starts from training
 * frame k * n_src / n_md with Maxwell-Boltzmann velocities; all trajectories
 * are evaluated together each step; the last configuration of each becomes an
 * MD frame. Units: A, fs, amu, eV. */
static int run_md(gbnet_committee_workspace *cws, const gbnet_hyperparams *hp, const distill_options_t *o,
                  const gbnet_frame *src, int n_src, distill_set *set) {
    const double accel = 9.648533212e-3; /* (eV/A)/amu in A/fs^2 */
    const double kB = 8.617333262e-5;    /* eV/K */
    int n = o->md_frames, rc = CLI_EXIT_OK;
    int first = set->n;
    for (int k = 0; k < n; ++k)
        if (!set_add(set, &src[(long long)k * n_src / n], "md")) return cli_error(CMD, "out of memory");
    gbnet_structure *st = calloc((size_t)n, sizeof *st);
    gbnet_result *res = calloc((size_t)n, sizeof *res);
    int **species = calloc((size_t)n, sizeof *species);
    double **vel = calloc((size_t)n, sizeof *vel), **mass = calloc((size_t)n, sizeof *mass);
    if (!st || !res || !species || !vel || !mass) rc = cli_error(CMD, "out of memory");
    for (int k = 0; k < n && !rc; ++k) {
        gbnet_frame *f = &set->frames[first + k];
        species[k] = malloc((size_t)f->n_atoms * sizeof(int));
        vel[k] = malloc((size_t)f->n_atoms * 3 * sizeof(double));
        mass[k] = malloc((size_t)f->n_atoms * sizeof(double));
        if (!species[k] || !vel[k] || !mass[k]) {
            rc = cli_error(CMD, "out of memory");
            break;
        }
        if (gbnet_frame_species(species[k], f, hp) != GBNET_OK) {
            rc = cli_library_error(CMD, GBNET_ERR_INVALID_ARGUMENT);
            break;
        }
        rng_t r = rng_for(o->seed, (uint64_t)k, 3, 0);
        for (int i = 0; i < f->n_atoms; ++i) {
            mass[k][i] = atomic_mass(f->z[i]);
            double sd = sqrt(kB * o->md_temperature / mass[k][i] * accel);
            for (int d = 0; d < 3; ++d) vel[k][3 * i + d] = sd * rng_gauss(&r);
        }
        st[k].n_atoms = f->n_atoms;
        st[k].species = species[k];
        st[k].positions = f->pos;
        st[k].cell = f->has_cell ? f->cell : NULL;
        memcpy(st[k].pbc, f->pbc, sizeof st[k].pbc);
        res[k].forces = f->forces;
    }
    const double dt = o->md_timestep, c1 = exp(-o->md_friction * 1e-3 * dt), c2 = sqrt(1.0 - c1 * c1);
    double start = cli_now(), last = start;
    for (int step = 0; step <= o->md_steps && !rc; ++step) {
        gbnet_status s = gbnet_committee_evaluate(cws, n, st, res, NULL);
        if (s) {
            fprintf(stderr,
                    "gbnet %s: MD step %d with the teacher failed: %s (lower --md-temperature or --md-timestep)\n",
                    CMD, step, gbnet_last_error());
            rc = CLI_EXIT_ERROR;
            break;
        }
        if (step == o->md_steps) break;
        for (int k = 0; k < n; ++k) {
            gbnet_frame *f = &set->frames[first + k];
            /* a noise stream per trajectory and step: independent of how many run together */
            rng_t r = rng_for(o->seed, (uint64_t)k, 4, (uint64_t)step);
            for (int i = 0; i < f->n_atoms; ++i) {
                double sd = sqrt(kB * o->md_temperature / mass[k][i] * accel);
                for (int d = 0; d < 3; ++d) {
                    double *v = &vel[k][3 * i + d], *x = &f->pos[3 * i + d];
                    if (step > 0) *v += 0.5 * dt * accel * f->forces[3 * i + d] / mass[k][i]; /* B (end of last) */
                    *v += 0.5 * dt * accel * f->forces[3 * i + d] / mass[k][i];                /* B */
                    *x += 0.5 * dt * *v;                                                     /* A */
                    *v = c1 * *v + c2 * sd * rng_gauss(&r);                                  /* O */
                    *x += 0.5 * dt * *v;                                                     /* A */
                }
            }
        }
        double now = cli_now();
        if (now - last > 10.0) {
            printf("md: step %d of %d (%d trajectories)\n", step + 1, o->md_steps, n);
            fflush(stdout);
            last = now;
        }
    }
    for (int k = 0; k < n; ++k) {
        if (species) free(species[k]);
        if (vel) free(vel[k]);
        if (mass) free(mass[k]);
    }
    free(st);
    free(res);
    free(species);
    free(vel);
    free(mass);
    if (!rc) set->n_md = n;
    return rc;
}

/* Builds, labels and writes the distillation set from the reference frames. */
static int build_set(const gbnet_committee *teacher, int threads, const distill_options_t *o, const gbnet_frame *src,
                     int n_src, const char *path, distill_set *set, int is_validation) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(gbnet_committee_member(teacher, 0));
    gbnet_committee_workspace *cws = NULL;
    gbnet_status s = gbnet_committee_workspace_create(&cws, teacher, GBNET_DOUBLE);
    if (s) return cli_library_error(CMD, s);
    gbnet_committee_workspace_set_threads(cws, threads);
    gbnet_committee_workspace_set_output(cws, -1); /* the committee mean */
    int rc = CLI_EXIT_OK;
    double start = cli_now();
    for (int i = 0; i < n_src && !rc; ++i) {
        const gbnet_frame *f = &src[i];
        if (!set_add(set, f, "training")) rc = cli_error(CMD, "out of memory");
        else set->n_training++;
        for (int c = 0; c < o->displacements && !rc; ++c) {
            if (!set_add(set, f, "displaced")) {
                rc = cli_error(CMD, "out of memory");
                break;
            }
            rng_t r = rng_for(o->seed, (uint64_t)i, 1, (uint64_t)c);
            double *x = set->frames[set->n - 1].pos;
            for (int k = 0; k < 3 * f->n_atoms; ++k) x[k] += o->sigma * rng_gauss(&r);
            set->n_displaced++;
        }
        for (int c = 0; c < (fully_periodic(f) ? o->strains : 0) && !rc; ++c) {
            if (!set_add(set, f, "strained")) {
                rc = cli_error(CMD, "out of memory");
                break;
            }
            rng_t r = rng_for(o->seed, (uint64_t)i, 2, (uint64_t)c);
            double e[9];
            for (int a = 0; a < 3; ++a)
                for (int b = a; b < 3; ++b) e[3 * a + b] = e[3 * b + a] = o->strain * (2.0 * rng_uniform(&r) - 1.0);
            for (int a = 0; a < 3; ++a) e[4 * a] += 1.0; /* rows times (1 + e) */
            gbnet_frame *g = &set->frames[set->n - 1];
            double cell[9];
            for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b)
                    cell[3 * a + b] = g->cell[3 * a] * e[b] + g->cell[3 * a + 1] * e[3 + b] + g->cell[3 * a + 2] * e[6 + b];
            memcpy(g->cell, cell, sizeof cell);
            for (int k = 0; k < g->n_atoms; ++k) {
                double p[3] = {g->pos[3 * k], g->pos[3 * k + 1], g->pos[3 * k + 2]};
                for (int b = 0; b < 3; ++b) g->pos[3 * k + b] = p[0] * e[b] + p[1] * e[3 + b] + p[2] * e[6 + b];
            }
            set->n_strained++;
        }
    }
    if (!rc && o->md_frames > 0) {
        printf("md: %d trajectories of %d steps of %g fs at %g K with the teacher\n", o->md_frames, o->md_steps,
               o->md_timestep, o->md_temperature);
        fflush(stdout);
        rc = run_md(cws, hp, o, src, n_src, set);
    }
    if (!rc) rc = label_frames(cws, hp, set->frames, set->n, "distillation-set");
    gbnet_committee_workspace_free(cws);
    if (!rc) {
        s = gbnet_write_extxyz(path, set->frames, set->n, NULL, NULL, NULL);
        if (s) rc = cli_library_error(CMD, s);
    }
    if (!rc && is_validation) {
        printf("validation set of phase 1: %d structures of valid_data labelled by the teacher, written to %s\n",
               set->n, path);
        fflush(stdout);
    } else if (!rc) {
        printf("distillation set: %d structures labelled by the teacher in %.1f s (%d training frames, %d displaced "
               "by sigma %g A, %d strained by up to %g, %d MD frames), written to %s\n",
               set->n, cli_now() - start, set->n_training, set->n_displaced, o->sigma, set->n_strained, o->strain,
               set->n_md, path);
        fflush(stdout);
    }
    return rc;
}

/* ------------------------------------------------------------ configs */

static const char *key_value(const gbnet_train_config *c, const char *key, char *value) {
    if (gbnet_train_config_get(c, key, value, TEXT_MAX) != GBNET_OK) value[0] = '\0';
    return value;
}

static int set_key(gbnet_train_config *c, const char *key, const char *value) {
    char assignment[2 * TEXT_MAX + 8];
    snprintf(assignment, sizeof assignment, "%s=%s", key, value);
    gbnet_status st = gbnet_train_config_set(c, assignment);
    return st ? cli_library_error(CMD, st) : CLI_EXIT_OK;
}

/* PATH with ".distill" before its extension (or at its end). */
static void phase_path(char *out, size_t size, const char *path, const char *tag) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash + 1)) snprintf(out, size, "%.*s.%s%s", (int)(dot - path), path, tag, dot);
    else snprintf(out, size, "%s.%s", path, tag);
}

/* PATH's extension replaced by .SUFFIX: OUTPUT.distill.extxyz, not OUTPUT.gbnet.distill.extxyz. */
static void beside(char *out, size_t size, const char *path, const char *suffix) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash + 1)) snprintf(out, size, "%.*s.%s", (int)(dot - path), path, suffix);
    else snprintf(out, size, "%s.%s", path, suffix);
}

static int load_config(gbnet_train_config **out, const char *path, const char *const *sets, int n_sets) {
    gbnet_train_config *c = NULL;
    if (gbnet_train_config_create(&c) != GBNET_OK) return cli_error(CMD, "out of memory");
    gbnet_status st = gbnet_train_config_read(c, path);
    for (int k = 0; !st && k < n_sets; ++k) st = gbnet_train_config_set(c, sets[k]);
    if (!st) st = gbnet_train_config_check(c);
    if (st) {
        gbnet_train_config_free(c);
        return cli_library_error(CMD, st);
    }
    *out = c;
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ training */

typedef struct {
    const char *phase;
    int header_printed, has_stress;
} progress;

static void print_message(void *ctx, const char *text) {
    printf("[%s] %s\n", ((progress *)ctx)->phase, text);
    fflush(stdout);
}

/* v with fmt, or "-" of the same width when v is not finite (no such labels). */
static const char *number(char *out, size_t size, double v, const char *fmt) {
    int width = snprintf(out, size, fmt, 0.0);
    if (isfinite(v)) snprintf(out, size, fmt, v);
    else snprintf(out, size, "%*s", width, "-");
    return out;
}

/* The columns of gbnet train's epoch lines, each line tagged with the phase. */
static void print_epoch(void *ctx, const gbnet_epoch_report *r) {
    progress *p = ctx;
    const char *s = p->has_stress ? "  trn/val S" : "";
    if (!p->header_printed) {
        printf("[%s] %11s | %10s %10s | %10s %10s%s | %9s %8s %8s\n", p->phase, "epoch", "trn E", "trn F", "val E",
               "val F", s, "lr", "elapsed", "ETA");
        printf("[%s] %11s | %10s %10s | %10s %10s%s |\n", p->phase, "", "meV/atom", "meV/A", "meV/atom", "meV/A",
               p->has_stress ? "        GPa" : "");
        p->header_printed = 1;
    }
    char epoch[32], te[32], tf[32], ve[32], vf[32], ts[32], vs[32], pair[80], stress[96] = "";
    snprintf(epoch, sizeof epoch, "%d/%d", r->epoch, r->n_epochs);
    if (p->has_stress) {
        snprintf(pair, sizeof pair, "%s/%s", number(ts, sizeof ts, r->train_stress_rmse, "%.3f"),
                 number(vs, sizeof vs, r->valid_stress_rmse, "%.3f"));
        snprintf(stress, sizeof stress, " %10s", pair);
    }
    printf("[%s] %11s | %s %s | %s %s%s | %9.3g %7.0fs %7.0fs%s\n", p->phase, epoch,
           number(te, sizeof te, r->train_energy_rmse, "%10.4f"), number(tf, sizeof tf, r->train_force_rmse, "%10.3f"),
           number(ve, sizeof ve, r->valid_energy_rmse, "%10.4f"), number(vf, sizeof vf, r->valid_force_rmse, "%10.3f"),
           stress, r->lr, r->elapsed, isfinite(r->eta) ? r->eta : 0.0, r->improved ? "  *" : "");
    fflush(stdout);
}

/* One phase: a trainer on config (from resume_path if given); *epochs_done: epochs completed. */
static int run_phase(const char *phase, gbnet_train_config *config, const char *resume_path, const char *command,
                     int *epochs_done) {
    progress prog = {phase, 0, 0};
    gbnet_train_callbacks hooks = {0};
    hooks.ctx = &prog;
    hooks.message = print_message;
    hooks.epoch_done = print_epoch;
    hooks.stop_request = &stop_requested;
    gbnet_trainer *t = NULL;
    gbnet_status st = gbnet_trainer_create(&t, config, resume_path, command, &hooks);
    if (st) return cli_library_error(CMD, st);
    gbnet_train_summary sum;
    gbnet_trainer_summary(t, &sum);
    prog.has_stress = sum.train_has_stress;
    st = gbnet_trainer_run(t);
    char output[TEXT_MAX], checkpoint[TEXT_MAX];
    key_value(config, "output", output);
    key_value(config, "checkpoint", checkpoint);
    int rc = CLI_EXIT_OK;
    if (st == GBNET_ERR_INTERRUPTED) {
        fprintf(stderr, "gbnet %s: %s phase interrupted; its checkpoint is %s: continue with the same command and "
                "--resume %s\n", CMD, phase, checkpoint, checkpoint);
        rc = CLI_EXIT_ERROR;
    } else if (st) {
        rc = cli_library_error(CMD, st);
    } else {
        gbnet_trainer_summary(t, &sum);
        *epochs_done = sum.epoch;
        printf("[%s] finished: %d epochs; best validation loss %.6g at epoch %d, written to %s\n", phase, sum.epoch,
               sum.best_valid_loss, sum.best_epoch, output);
        fflush(stdout);
        struct stat info;
        if (stat(output, &info) != 0)
            rc = cli_error(CMD, "%s phase wrote no model to %s (no epoch improved the validation loss)", phase, output);
    }
    gbnet_trainer_free(t);
    return rc;
}

/* Prepends what distillation did to the student's provenance. */
static int record_provenance(const char *output, const char *teacher_path, int teacher_size, const char *set_path,
                             const distill_set *set, const distill_options_t *o, int de, int fe, double flr) {
    /* de, fe: epochs the phases completed; de < 0 when phase 1 ran in an earlier invocation */
    gbnet_model *m = NULL;
    gbnet_status st = gbnet_model_load(&m, output);
    if (st) return cli_library_error(CMD, st);
    const char *old = gbnet_model_provenance(m);
    size_t size = strlen(old) + 4096;
    char *text = malloc(size);
    if (!text) {
        gbnet_model_free(m);
        return cli_error(CMD, "out of memory");
    }
    char md[160] = "", distill_epochs[64] = "an earlier run's";
    if (set->n_md)
        snprintf(md, sizeof md, " of %d steps of %g fs at %g K", o->md_steps, o->md_timestep, o->md_temperature);
    if (de >= 0) snprintf(distill_epochs, sizeof distill_epochs, "%d", de);
    snprintf(text, size,
             "distilled by gbnet distill from the teacher %s (%s)\n"
             "distillation set %s: %d structures (%d training frames, %d displaced by sigma %g A, %d strained by up "
             "to %g, %d MD frames%s), seed %llu\n"
             "phases: distill %s epochs on the set, then fine-tune %d epochs at lr %g on the reference labels "
             "(below)\n%s",
             teacher_path, teacher_size > 1 ? "committee mean" : "single model", set_path, set->n, set->n_training,
             set->n_displaced, o->sigma, set->n_strained, o->strain, set->n_md, md, (unsigned long long)o->seed,
             distill_epochs, fe, flr, old);
    st = gbnet_model_set_provenance(m, text);
    free(text);
    if (!st) st = gbnet_model_save(m, output);
    gbnet_model_free(m);
    return st ? cli_library_error(CMD, st) : CLI_EXIT_OK;
}

/* Reads the reference frames of key (train_data or valid_data) without exclude_key. */
static int read_reference(const gbnet_train_config *c, const char *key, gbnet_dataset *ds, gbnet_frame **frames,
                          int *n) {
    char paths[TEXT_MAX], exclude[TEXT_MAX];
    key_value(c, key, paths);
    key_value(c, "exclude_key", exclude);
    for (char *save = NULL, *word = strtok_r(paths, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
        gbnet_status st = gbnet_dataset_read(ds, word);
        if (st) return cli_library_error(CMD, st);
    }
    char *eq = strchr(exclude, '=');
    if (eq) *eq = '\0';
    *frames = malloc((size_t)(ds->n_frames > 0 ? ds->n_frames : 1) * sizeof **frames);
    if (!*frames) return cli_error(CMD, "out of memory");
    *n = 0;
    for (int i = 0; i < ds->n_frames; ++i)
        if (!eq || !gbnet_frame_matches(&ds->frames[i], exclude, eq + 1)) (*frames)[(*n)++] = ds->frames[i];
    if (*n == 0 && !strcmp(key, "train_data")) return cli_error(CMD, "train_data has no frames to distill from");
    if (eq && *n == ds->n_frames && !strcmp(key, "train_data")) /* as the trainer would say, but before phase 1 */
        return cli_error(CMD, "exclude_key = %s=%s matches no frame of train_data", exclude, eq + 1);
    return CLI_EXIT_OK;
}

/* The teacher must know every element of the student and of the data. */
static int check_elements(const gbnet_train_config *c, const gbnet_model *teacher, const char *teacher_path,
                          const gbnet_frame *frames, int n) {
    char elements[TEXT_MAX], list[TEXT_MAX], known[4 * GBNET_MAX_ELEMENTS + 8];
    gbnet_format_elements(known, sizeof known, gbnet_model_hyperparams(teacher));
    key_value(c, "elements", list);
    memcpy(elements, list, sizeof list);
    for (char *save = NULL, *word = strtok_r(elements, " \t,", &save); word; word = strtok_r(NULL, " \t,", &save))
        if (gbnet_model_element_index(teacher, word) < 0)
            return cli_usage_error(CMD, "elements = %s: the teacher %s has no %s (its elements: %s)", list,
                                   teacher_path, word, known);
    for (int i = 0; i < n; ++i)
        for (int a = 0; a < frames[i].n_atoms; ++a)
            if (gbnet_model_element_of_z(teacher, frames[i].z[a]) < 0)
                return cli_error(CMD, "%s:%d: atom %d is %s, which the teacher %s cannot label (its elements: %s)",
                                 frames[i].source, frames[i].line, a + 1, gbnet_element_symbol(frames[i].z[a]),
                                 teacher_path, known);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ main */

/* A number in (0, max]: zero and negative values get their own message. */
static int parse_positive(const char *option, const char *text, double max, const char *unit, double *out) {
    double v;
    if (!cli_parse_double(CMD, option, text, -HUGE_VAL, HUGE_VAL, &v)) return 0;
    if (!(v > 0.0) || v > max) {
        cli_usage_error(CMD, "%s must be greater than 0 and at most %g%s%s, got %s", option, max, unit[0] ? " " : "",
                        unit, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cmd_distill(int argc, char **argv) {
    const char *positional[2] = {NULL, NULL}, *resume_path = NULL, *set_path_opt = NULL;
    const char *sets[256];
    int n_sets = 0, n_positional = 0, set_only = 0;
    distill_options_t o = {2, 1, 0, 50, 0.05, 0.02, 300.0, 0.5, 5.0, 0, 0, 0, 0, 0.0};
    cli_parser parser;
    cli_parser_init(&parser, CMD, argc, argv, distill_options, (int)(sizeof distill_options / sizeof *distill_options));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        int ok = 1;
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(distill_help, stdout); return CLI_EXIT_OK;
        case OPT_SET:
            if (n_sets == (int)(sizeof sets / sizeof *sets)) return cli_usage_error(CMD, "too many --set options");
            sets[n_sets++] = value;
            break;
        case OPT_DISP: ok = cli_parse_int(CMD, "--displacements", value, 0, 1000, &o.displacements); break;
        case OPT_SIGMA: ok = parse_positive("--sigma", value, 2.0, "A", &o.sigma); break;
        case OPT_STRAINS: ok = cli_parse_int(CMD, "--strains", value, 0, 1000, &o.strains); break;
        case OPT_STRAIN: ok = parse_positive("--strain", value, 0.5, "", &o.strain); break;
        case OPT_MD_FRAMES: ok = cli_parse_int(CMD, "--md-frames", value, 0, 10000000, &o.md_frames); break;
        case OPT_MD_STEPS: ok = cli_parse_int(CMD, "--md-steps", value, 1, 10000000, &o.md_steps); break;
        case OPT_MD_TEMP: ok = parse_positive("--md-temperature", value, 1e5, "K", &o.md_temperature); break;
        case OPT_MD_DT: ok = parse_positive("--md-timestep", value, 10.0, "fs", &o.md_timestep); break;
        case OPT_MD_FRICTION: ok = cli_parse_double(CMD, "--md-friction", value, 0.0, 1e4, &o.md_friction); break;
        case OPT_SEED:
            ok = cli_parse_u64(CMD, "--seed", value, &o.seed);
            o.seed_set = 1;
            break;
        case OPT_DEPOCHS: ok = cli_parse_int(CMD, "--distill-epochs", value, 1, 100000000, &o.distill_epochs); break;
        case OPT_FEPOCHS: ok = cli_parse_int(CMD, "--finetune-epochs", value, 1, 100000000, &o.finetune_epochs); break;
        case OPT_FLR: ok = parse_positive("--finetune-lr", value, 10.0, "", &o.finetune_lr); break;
        case OPT_WRITE_SET: set_path_opt = value; break;
        case OPT_SET_ONLY: set_only = 1; break;
        case OPT_RESUME: resume_path = value; break;
        case CLI_POSITIONAL:
            if (n_positional == 2)
                return cli_usage_error(CMD, "expected TEACHER and CONFIG only (extra argument '%s')", value);
            positional[n_positional++] = value;
            break;
        }
        if (!ok) return CLI_EXIT_USAGE;
    }
    if (n_positional < 2)
        return cli_usage_error(CMD, "%s", n_positional == 0 ? "missing TEACHER (the potential file to distill) and "
                                                              "CONFIG (the student's training configuration)"
                                                            : "missing CONFIG (the student's training configuration)");
    const char *teacher_path = positional[0], *config_path = positional[1];

    gbnet_committee *teacher = NULL;
    gbnet_status st = gbnet_committee_load(&teacher, teacher_path);
    if (st) {
        fprintf(stderr, "gbnet %s: TEACHER %s: %s\n", CMD, teacher_path, gbnet_last_error());
        return CLI_EXIT_ERROR;
    }
    gbnet_train_config *base = NULL, *phase = NULL;
    gbnet_dataset ds = {0}, valid_ds = {0};
    gbnet_frame *src = NULL, *valid_src = NULL;
    distill_set set = {0}, valid_set = {0};
    char valid_path[TEXT_MAX + 32];
    int n_src = 0, n_valid = 0, rc = load_config(&base, config_path, sets, n_sets);
    char output[TEXT_MAX], checkpoint[TEXT_MAX], log[TEXT_MAX], text[TEXT_MAX];
    char set_path[TEXT_MAX + 32], d_output[TEXT_MAX + 32], d_checkpoint[TEXT_MAX + 32], d_log[TEXT_MAX + 32];
    char *joined = cli_join_arguments(argc, argv);
    char command[8192];
    snprintf(command, sizeof command, "gbnet %s", joined ? joined : CMD);
    free(joined);
    if (!rc) {
        key_value(base, "output", output);
        key_value(base, "checkpoint", checkpoint);
        key_value(base, "log", log);
        if (!o.seed_set) o.seed = strtoull(key_value(base, "seed", text), NULL, 10);
        int epochs = atoi(key_value(base, "epochs", text));
        if (!o.distill_epochs) o.distill_epochs = epochs;
        /* defaults from the ethanol measurement (docs/compression.md): a long fine-tune beat a short one */
        if (!o.finetune_epochs) o.finetune_epochs = o.distill_epochs;
        if (o.finetune_lr == 0.0) o.finetune_lr = 0.3 * strtod(key_value(base, "lr", text), NULL);
        if (set_path_opt) {
            snprintf(set_path, sizeof set_path, "%s", set_path_opt);
        } else {
            beside(set_path, sizeof set_path, output, "distill.extxyz");
        }
        phase_path(d_output, sizeof d_output, output, "distill");
        phase_path(d_checkpoint, sizeof d_checkpoint, checkpoint, "distill");
        if (log[0]) phase_path(d_log, sizeof d_log, log, "distill");
        else d_log[0] = '\0';
        beside(valid_path, sizeof valid_path, output, "distill.valid.extxyz");
        rc = read_reference(base, "train_data", &ds, &src, &n_src);
        if (!rc && key_value(base, "valid_data", text)[0])
            rc = read_reference(base, "valid_data", &valid_ds, &valid_src, &n_valid);
    }
    if (!rc) rc = check_elements(base, gbnet_committee_member(teacher, 0), teacher_path, src, n_src);
    if (!rc) rc = check_elements(base, gbnet_committee_member(teacher, 0), teacher_path, valid_src, n_valid);
    int resume_phase = 0; /* 1: distill, 2: fine-tune */
    if (!rc && resume_path) {
        if (strcmp(resume_path, d_checkpoint) == 0) resume_phase = 1;
        else if (strcmp(resume_path, checkpoint) == 0) resume_phase = 2;
        else rc = cli_usage_error(CMD, "--resume %s: expected the distill phase's checkpoint %s or the fine-tune "
                                  "phase's %s", resume_path, d_checkpoint, checkpoint);
    }
    int threads = !rc ? atoi(key_value(base, "threads", text)) : 0;
    if (!rc && gbnet_committee_size(teacher) > 1)
        printf("teacher: %s (labels: the mean of its %d committee members)\n", teacher_path,
               gbnet_committee_size(teacher));
    else if (!rc)
        printf("teacher: %s (one model)\n", teacher_path);
    fflush(stdout);
    set_signal_handlers(1);
    if (!rc && resume_phase == 0) {
        rc = build_set(teacher, threads, &o, src, n_src, set_path, &set, 0);
        if (!rc && n_valid) { /* phase 1 selects the student closest to the teacher: validation by its labels too */
            distill_options_t plain = o;
            plain.displacements = plain.strains = plain.md_frames = 0;
            rc = build_set(teacher, threads, &plain, valid_src, n_valid, valid_path, &valid_set, 1);
        }
    } else if (!rc) { /* the set written by the interrupted run: count what it holds */
        gbnet_dataset old = {0};
        st = gbnet_read_extxyz(&old, set_path);
        if (st) rc = cli_error(CMD, "--resume: cannot read the distillation set %s: %s", set_path, gbnet_last_error());
        for (int i = 0; !rc && i < old.n_frames; ++i) {
            const char *kind = gbnet_frame_info(&old.frames[i], "distill");
            set.n++;
            if (kind && !strcmp(kind, "training")) set.n_training++;
            else if (kind && !strcmp(kind, "displaced")) set.n_displaced++;
            else if (kind && !strcmp(kind, "strained")) set.n_strained++;
            else if (kind && !strcmp(kind, "md")) set.n_md++;
        }
        gbnet_dataset_free(&old);
        set.frames = NULL;
    }
    double time_limit = !rc ? strtod(key_value(base, "time_limit", text), NULL) : 0.0;
    double cost1 = (double)o.distill_epochs * set.n, cost2 = (double)o.finetune_epochs * n_src;
    double phase1_start = cli_now();
    int distill_done = -1, finetune_done = 0;
    if (!rc && !set_only && resume_phase <= 1) {
        printf("\nphase 1 of 2: distill, %d epochs on %d teacher-labelled structures\n", o.distill_epochs, set.n);
        fflush(stdout);
        rc = load_config(&phase, config_path, sets, n_sets);
        if (!rc) rc = set_key(phase, "train_data", set_path);
        if (!rc) rc = set_key(phase, "output", d_output);
        if (!rc) rc = set_key(phase, "checkpoint", d_checkpoint);
        if (!rc) rc = set_key(phase, "log", d_log);
        if (!rc) rc = set_key(phase, "exclude_key", ""); /* excluded frames are not in the set */
        if (!rc && n_valid) rc = set_key(phase, "valid_data", valid_path);
        snprintf(text, sizeof text, "%d", o.distill_epochs);
        if (!rc) rc = set_key(phase, "epochs", text);
        snprintf(text, sizeof text, "%.6g", time_limit * cost1 / (cost1 + cost2));
        if (!rc && time_limit > 0) rc = set_key(phase, "time_limit", text);
        if (!rc) rc = run_phase("distill", phase, resume_phase == 1 ? resume_path : NULL, command, &distill_done);
        gbnet_train_config_free(phase);
        phase = NULL;
    }
    if (!rc && !set_only) {
        printf("\nphase 2 of 2: fine-tune, %d epochs at lr %g on the reference labels, from %s\n", o.finetune_epochs,
               o.finetune_lr, d_output);
        fflush(stdout);
        rc = load_config(&phase, config_path, sets, n_sets);
        if (!rc) rc = set_key(phase, "init_from", d_output);
        snprintf(text, sizeof text, "%d", o.finetune_epochs);
        if (!rc) rc = set_key(phase, "epochs", text);
        snprintf(text, sizeof text, "%.9g", o.finetune_lr);
        if (!rc) rc = set_key(phase, "lr", text);
        if (!rc && time_limit > 0) {
            double used = (cli_now() - phase1_start) / 60.0, left = time_limit - used,
                   floor = 0.1 * time_limit * cost2 / (cost1 + cost2);
            snprintf(text, sizeof text, "%.6g", left > floor ? left : floor);
            rc = set_key(phase, "time_limit", text);
        }
        if (!rc) rc = run_phase("fine-tune", phase, resume_phase == 2 ? resume_path : NULL, command, &finetune_done);
        if (!rc)
            rc = record_provenance(output, teacher_path, gbnet_committee_size(teacher), set_path, &set, &o,
                                   distill_done, finetune_done, o.finetune_lr);
        gbnet_train_config_free(phase);
        phase = NULL;
    }
    set_signal_handlers(0);
    char valid_data[TEXT_MAX];
    if (!rc && !set_only && key_value(base, "valid_data", valid_data)[0]) {
        char *eval_argv[80];
        int n = 0;
        eval_argv[n++] = "eval";
        eval_argv[n++] = output;
        for (char *save = NULL, *word = strtok_r(valid_data, " \t", &save); word && n < 70;
             word = strtok_r(NULL, " \t", &save))
            eval_argv[n++] = word;
        eval_argv[n++] = "--threads";
        eval_argv[n++] = (char *)key_value(base, "threads", text);
        eval_argv[n] = NULL;
        printf("\nstudent %s on the validation data (gbnet eval):\n", output);
        fflush(stdout);
        rc = cmd_eval(n, eval_argv);
    }
    set_free(&set);
    set_free(&valid_set);
    free(src);
    free(valid_src);
    gbnet_dataset_free(&ds);
    gbnet_dataset_free(&valid_ds);
    gbnet_train_config_free(base);
    gbnet_committee_free(teacher);
    return rc;
}
