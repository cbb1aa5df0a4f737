/* bench_committee -- what a committee costs against one member (bench/lammps/committee.sh).
 *
 *   bench_committee make --model FILE --members M --out FILE
 *       writes a committee file of M copies of FILE (same cost as M trained
 *       members: the evaluation does not look at the weights' values), for
 *       pair_style gbnet in LAMMPS.
 *   bench_committee run --model FILE --data EXTXYZ [--replicate N] [--members M]
 *                       [--threads T] [--precision float|double] [--warmup W] [--steps S]
 *       replicates frame 0 NxNxN, jitters it, then per step moves the atoms a
 *       little and evaluates energy + forces twice on the same positions: one
 *       model (gbnet_evaluate) and the committee of M copies
 *       (gbnet_committee_evaluate with deviations: one neighbor list and
 *       packing, every member through the batched kernels). The two are
 *       interleaved step by step so that both see the same machine state, and
 *       one line "RESULT ..." gives both medians and their ratio.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "gbnet.h"
#include "gbnet_data.h"

static int fail(const char *what, gbnet_status st) {
    fprintf(stderr, "bench_committee: %s: %s: %s\n", what, gbnet_status_name(st), gbnet_last_error());
    return 1;
}

static int parse_int(const char *text, const char *name, int lo, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < lo || v > 1000000000) {
        fprintf(stderr, "bench_committee: %s expects an integer >= %d, got '%s'\n", name, lo, text);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* A committee of m copies of the model in path. */
static int load_committee(gbnet_committee **out, gbnet_model **model, const char *path, int m) {
    gbnet_status st = gbnet_model_load(model, path);
    if (st) return fail(path, st);
    const gbnet_model *members[GBNET_MAX_COMMITTEE];
    for (int k = 0; k < m; ++k) members[k] = *model;
    st = gbnet_committee_create(out, members, m);
    return st ? fail("creating the committee", st) : 0;
}

static int make(int argc, char **argv) {
    const char *model_path = option(argc, argv, "--model", NULL), *out = option(argc, argv, "--out", NULL);
    int m = 4;
    if (!model_path || !out || !parse_int(option(argc, argv, "--members", "4"), "--members", 1, &m) ||
        m > GBNET_MAX_COMMITTEE) {
        fprintf(stderr, "usage: bench_committee make --model FILE --members M --out FILE\n");
        return 2;
    }
    gbnet_model *model = NULL;
    gbnet_committee *c = NULL;
    int rc = load_committee(&c, &model, model_path, m);
    if (!rc) {
        gbnet_status st = gbnet_committee_save(c, out);
        if (st) rc = fail(out, st);
    }
    gbnet_committee_free(c);
    gbnet_model_free(model);
    return rc;
}

static int run(int argc, char **argv) {
    const char *model_path = option(argc, argv, "--model", NULL), *data_path = option(argc, argv, "--data", NULL);
    const char *precision_name = option(argc, argv, "--precision", "float");
    int rep = 1, m = 4, threads = 1, warmup = 2, steps = 11;
    if (!model_path || !data_path || !parse_int(option(argc, argv, "--replicate", "1"), "--replicate", 1, &rep) ||
        !parse_int(option(argc, argv, "--members", "4"), "--members", 1, &m) || m > GBNET_MAX_COMMITTEE ||
        !parse_int(option(argc, argv, "--threads", "1"), "--threads", 0, &threads) ||
        !parse_int(option(argc, argv, "--warmup", "2"), "--warmup", 0, &warmup) ||
        !parse_int(option(argc, argv, "--steps", "11"), "--steps", 1, &steps) ||
        (strcmp(precision_name, "float") && strcmp(precision_name, "double"))) {
        fprintf(stderr, "usage: bench_committee run --model FILE --data EXTXYZ [--replicate N] [--members M]\n"
                        "                           [--threads T] [--precision float|double] [--warmup W] [--steps S]\n");
        return 2;
    }
    gbnet_precision precision = strcmp(precision_name, "float") == 0 ? GBNET_FLOAT : GBNET_DOUBLE;
    gbnet_model *model = NULL;
    gbnet_committee *c = NULL;
    if (load_committee(&c, &model, model_path, m)) return 1;
    gbnet_dataset ds = {0};
    gbnet_status st = gbnet_read_extxyz(&ds, data_path);
    if (st) return fail(data_path, st);
    const gbnet_frame *f = &ds.frames[0];
    if (!f->has_cell) {
        fprintf(stderr, "bench_committee: frame 0 of %s has no cell\n", data_path);
        return 1;
    }
    int n = f->n_atoms * rep * rep * rep;
    double *base = malloc(3 * (size_t)n * sizeof(double)), *pos = malloc(3 * (size_t)n * sizeof(double));
    double *forces = malloc(3 * (size_t)n * sizeof(double)), *atom_devi = malloc((size_t)n * sizeof(double));
    int *species = malloc((size_t)n * sizeof(int));
    double *t_one = malloc((size_t)steps * sizeof(double)), *t_cmte = malloc((size_t)steps * sizeof(double));
    if (!base || !pos || !forces || !atom_devi || !species || !t_one || !t_cmte) {
        fprintf(stderr, "bench_committee: out of memory\n");
        return 1;
    }
    double cell[9];
    for (int k = 0; k < 9; ++k) cell[k] = rep * f->cell[k];
    uint64_t rng = 12345;
    int at = 0;
    for (int a = 0; a < rep; ++a)
        for (int b = 0; b < rep; ++b)
            for (int d = 0; d < rep; ++d)
                for (int i = 0; i < f->n_atoms; ++i, ++at) {
                    species[at] = gbnet_model_element_of_z(model, f->z[i]);
                    if (species[at] < 0) {
                        fprintf(stderr, "bench_committee: the model does not know element Z=%d\n", f->z[i]);
                        return 1;
                    }
                    for (int x = 0; x < 3; ++x)
                        base[3 * at + x] = f->pos[3 * i + x] + a * f->cell[x] + b * f->cell[3 + x] +
                                           d * f->cell[6 + x] + 0.02 * uniform_pm1(&rng);
                }
    gbnet_workspace *ws = NULL;
    gbnet_committee_workspace *cws = NULL;
    if ((st = gbnet_workspace_create(&ws, model, precision))) return fail("workspace", st);
    if ((st = gbnet_committee_workspace_create(&cws, c, precision))) return fail("committee workspace", st);
    gbnet_workspace_set_threads(ws, threads);
    gbnet_committee_workspace_set_threads(cws, threads);
    gbnet_structure s = {n, species, pos, cell, {1, 1, 1}};
    double e_one = 0, e_cmte = 0;
    for (int k = 0; k < warmup + steps; ++k) {
        for (size_t q = 0; q < 3 * (size_t)n; ++q) pos[q] = base[q] + 0.001 * uniform_pm1(&rng);
        gbnet_result r;
        memset(&r, 0, sizeof r);
        r.forces = forces;
        double t0 = now_seconds();
        if ((st = gbnet_evaluate(ws, 1, &s, &r))) return fail("gbnet_evaluate", st);
        double t1 = now_seconds();
        e_one = r.energy;
        gbnet_committee_deviation dev;
        memset(&dev, 0, sizeof dev);
        dev.atom_force_deviations = atom_devi;
        memset(&r, 0, sizeof r);
        r.forces = forces;
        double t2 = now_seconds();
        if ((st = gbnet_committee_evaluate(cws, 1, &s, &r, &dev))) return fail("gbnet_committee_evaluate", st);
        double t3 = now_seconds();
        e_cmte = r.energy;
        if (k >= warmup) {
            t_one[k - warmup] = t1 - t0;
            t_cmte[k - warmup] = t3 - t2;
        }
    }
    double one = median(t_one, steps), cmte = median(t_cmte, steps);
    printf("RESULT engine=core model=%s atoms=%d members=%d threads=%d precision=%s steps=%d one_s=%.6g "
           "committee_s=%.6g one_us_per_atom=%.6g committee_us_per_atom=%.6g ratio=%.4f energy_one=%.12g "
           "energy_committee=%.12g\n",
           model_path, n, m, threads, precision_name, steps, one, cmte, 1e6 * one / n, 1e6 * cmte / n, cmte / one,
           e_one, e_cmte);
    gbnet_committee_workspace_free(cws);
    gbnet_workspace_free(ws);
    gbnet_committee_free(c);
    gbnet_model_free(model);
    gbnet_dataset_free(&ds);
    free(base);
    free(pos);
    free(forces);
    free(atom_devi);
    free(species);
    free(t_one);
    free(t_cmte);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "make") == 0) return make(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0) return run(argc - 1, argv + 1);
    fprintf(stderr, "usage: bench_committee make ... | bench_committee run ...   (bench/lammps/committee.sh)\n");
    return 2;
}
