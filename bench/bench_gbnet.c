/* bench_gbnet -- timing driver of the gbnet benchmark (see bench/README.md).
 *
 *   bench_gbnet make-model --features F --rbf K --blocks T --cutoff RC --seed S --out FILE
 *       writes a random-weight model for H and O (what the PyTorch reference reads).
 *   bench_gbnet run --model FILE --data EXTXYZ [--frame I] [--replicate N] [--threads T]
 *                   [--precision float|double] [--warmup W] [--steps S] [--dump FILE]
 *                   [--jitter A] [--step-jitter A]
 *       replicates frame I NxNxN, displaces every atom by a random amount up to
 *       --jitter A (default 0.02) per coordinate, so that the replicas are not
 *       exact copies (in MD they never are; exact copies would let an
 *       implementation reuse work between periodic images), then moves the
 *       atoms again by up to --step-jitter A (default 0.001) before every step,
 *       like an MD step. Evaluates energy + forces with gbnet_evaluate
 *       (one structure per call, neighbor list included) W + S times and prints one
 *       line "RESULT key=value ..." with the median time of the S timed steps, the
 *       median time of the neighbor-list build alone, the model's FLOP count,
 *       workspace bytes and peak RSS. --dump writes the structure and gbnet's
 *       energy and forces so torch_reference.py evaluates the same atoms.
 *
 * One configuration per process, so that ru_maxrss is that configuration's peak. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "gbnet_data.h"
#include "bench_util.h"
#include "gbnet.h"
#include "neighbor.h"

/* pos [n][3] = base [n][3] + uniform displacement in [-amplitude, amplitude). */
static void displace(double *pos, const double *base, int n, double amplitude, uint64_t *state) {
    for (size_t k = 0; k < 3 * (size_t)n; ++k) pos[k] = base[k] + amplitude * uniform_pm1(state);
}

static int fail_status(const char *what, gbnet_status st) {
    fprintf(stderr, "bench_gbnet: %s: %s: %s\n", what, gbnet_status_name(st), gbnet_last_error());
    return 1;
}

static int parse_int(const char *text, const char *name, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < 0 || v > 1000000000) {
        fprintf(stderr, "bench_gbnet: %s expects a non-negative integer, got '%s'\n", name, text);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int make_model(int argc, char **argv) {
    gbnet_hyperparams hp;
    gbnet_hyperparams_default(&hp);
    int seed = 0;
    const char *out = option(argc, argv, "--out", NULL);
    if (!out || !parse_int(option(argc, argv, "--features", "128"), "--features", &hp.n_features) ||
        !parse_int(option(argc, argv, "--rbf", "50"), "--rbf", &hp.n_rbf) ||
        !parse_int(option(argc, argv, "--blocks", "3"), "--blocks", &hp.n_blocks) ||
        !parse_int(option(argc, argv, "--seed", "1"), "--seed", &seed)) {
        fprintf(stderr, "usage: bench_gbnet make-model --features F --rbf K --blocks T --cutoff RC --seed S --out FILE\n");
        return 2;
    }
    hp.readout_width = hp.n_features / 2;
    hp.cutoff = atof(option(argc, argv, "--cutoff", "5.0"));
    hp.n_elements = 2;
    hp.atomic_numbers[0] = 1; /* H */
    hp.atomic_numbers[1] = 8; /* O */
    gbnet_model *model = NULL;
    gbnet_status st = gbnet_model_create(&model, &hp, (uint64_t)seed);
    if (st) return fail_status("creating the model", st);
    char provenance[256];
    snprintf(provenance, sizeof provenance, "bench_gbnet make-model: random weights, seed %d, F=%d K=%d T=%d rc=%g",
             seed, hp.n_features, hp.n_rbf, hp.n_blocks, hp.cutoff);
    st = gbnet_model_set_provenance(model, provenance);
    if (!st) st = gbnet_model_save(model, out);
    gbnet_model_free(model);
    if (st) return fail_status(out, st);
    return 0;
}

/* The frame replicated n x n x n: positions [n^3 * atoms][3], cell [9], species. */
typedef struct {
    int n_atoms;
    double *pos;
    int *species;
    double cell[9];
} supercell;

static int build_supercell(supercell *sc, const gbnet_frame *f, const gbnet_model *model, int n) {
    if (!f->has_cell) {
        fprintf(stderr, "bench_gbnet: the frame has no cell; replication needs a periodic box\n");
        return 0;
    }
    sc->n_atoms = f->n_atoms * n * n * n;
    sc->pos = malloc((size_t)sc->n_atoms * 3 * sizeof(double));
    sc->species = malloc((size_t)sc->n_atoms * sizeof(int));
    if (!sc->pos || !sc->species) return 0;
    for (int k = 0; k < 9; ++k) sc->cell[k] = n * f->cell[k];
    int at = 0;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
            for (int c = 0; c < n; ++c)
                for (int i = 0; i < f->n_atoms; ++i, ++at) {
                    int e = gbnet_model_element_of_z(model, f->z[i]);
                    if (e < 0) {
                        fprintf(stderr, "bench_gbnet: the model does not know element Z=%d\n", f->z[i]);
                        return 0;
                    }
                    sc->species[at] = e;
                    for (int x = 0; x < 3; ++x)
                        sc->pos[3 * at + x] = f->pos[3 * i + x] + a * f->cell[x] + b * f->cell[3 + x] +
                                              c * f->cell[6 + x];
                }
    return 1;
}

/* Model FLOPs of one energy + forces step, counting each multiply and each
 * add of the linear algebra (GEMMs, cfconv gather/scatter products); ssp,
 * exp and other element-wise work is not counted. The filter network is
 * counted once per unordered pair (it depends on d only), the cfconv once per
 * directed edge. Derivation in bench/README.md. A factored dense layer
 * (W = A B, rank r) costs r (in + out) multiply-adds per row instead of
 * in out, in the forward and again in the input gradient. */
static double dense_flops(int rank, double out, double in) { return rank ? 2 * rank * (in + out) : 2 * out * in; }

static double model_flops(const gbnet_model *model, double n_atoms, double n_edges) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    gbnet_ranks rk;
    gbnet_model_get_ranks(model, &rk);
    double F = hp->n_features, K = hp->n_rbf, R = hp->readout_width;
    double filter_per_pair = 2 * (2 * K * F + 2 * F * F); /* values + d-derivative rows */
    double cfconv_per_edge = 2 * F + 2 * F + 3 * F;       /* m += h W; hbar += mbar W; dE/dd = mbar.(h dW) */
    double total = 0;
    for (int t = 0; t < hp->n_blocks; ++t) {
        /* in, out1, out2: forward and input gradient */
        double dense_per_atom = 2 * (dense_flops(rk.in[t], F, F) + dense_flops(rk.out1[t], F, F) +
                                     dense_flops(rk.out2[t], F, F));
        total += 0.5 * n_edges * filter_per_pair + n_edges * cfconv_per_edge + n_atoms * dense_per_atom;
    }
    double readout_per_atom = 2 * dense_flops(rk.readout, R, F) + 2 * R + 2 * R;
    return total + n_atoms * readout_per_atom;
}

static int dump_structure(const char *path, const supercell *sc, const gbnet_result *res, const char *precision) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_gbnet: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    /* Line 1: n_atoms precision; line 2: cell rows; line 3: energy;
     * then one line per atom: species x y z fx fy fz (gbnet's forces). */
    fprintf(f, "%d %s\n", sc->n_atoms, precision);
    for (int k = 0; k < 9; ++k) fprintf(f, "%.17g%c", sc->cell[k], k == 8 ? '\n' : ' ');
    fprintf(f, "%.17g\n", res->energy);
    for (int i = 0; i < sc->n_atoms; ++i)
        fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g %.17g\n", sc->species[i], sc->pos[3 * i], sc->pos[3 * i + 1],
                sc->pos[3 * i + 2], res->forces[3 * i], res->forces[3 * i + 1], res->forces[3 * i + 2]);
    int ok = fclose(f) == 0;
    if (!ok) fprintf(stderr, "bench_gbnet: error writing %s\n", path);
    return ok;
}

static int run(int argc, char **argv) {
    const char *model_path = option(argc, argv, "--model", NULL);
    const char *data_path = option(argc, argv, "--data", NULL);
    const char *precision_name = option(argc, argv, "--precision", "float");
    const char *dump_path = option(argc, argv, "--dump", NULL);
    int frame = 0, replicate = 1, threads = 1, warmup = 1, steps = 5;
    if (!model_path || !data_path || !parse_int(option(argc, argv, "--frame", "0"), "--frame", &frame) ||
        !parse_int(option(argc, argv, "--replicate", "1"), "--replicate", &replicate) ||
        !parse_int(option(argc, argv, "--threads", "1"), "--threads", &threads) ||
        !parse_int(option(argc, argv, "--warmup", "1"), "--warmup", &warmup) ||
        !parse_int(option(argc, argv, "--steps", "5"), "--steps", &steps) || replicate < 1 || steps < 1 ||
        (strcmp(precision_name, "float") && strcmp(precision_name, "double"))) {
        fprintf(stderr, "usage: bench_gbnet run --model FILE --data EXTXYZ [--frame I] [--replicate N] [--threads T]\n"
                        "                       [--precision float|double] [--warmup W] [--steps S] [--dump FILE]\n");
        return 2;
    }
    gbnet_precision precision = strcmp(precision_name, "float") == 0 ? GBNET_FLOAT : GBNET_DOUBLE;
    double jitter = atof(option(argc, argv, "--jitter", "0.02"));
    double step_jitter = atof(option(argc, argv, "--step-jitter", "0.001"));

    gbnet_model *model = NULL;
    gbnet_status st = gbnet_model_load(&model, model_path);
    if (st) return fail_status(model_path, st);
    gbnet_dataset ds = {0};
    st = gbnet_read_extxyz(&ds, data_path);
    if (st) return fail_status(data_path, st);
    if (frame >= ds.n_frames) {
        fprintf(stderr, "bench_gbnet: %s has %d frames, frame %d requested\n", data_path, ds.n_frames, frame);
        return 1;
    }
    supercell sc = {0};
    if (!build_supercell(&sc, &ds.frames[frame], model, replicate)) return 1;
    gbnet_dataset_free(&ds);
    uint64_t rng = 12345;
    double *base = malloc((size_t)sc.n_atoms * 3 * sizeof(double));
    if (!base) {
        fprintf(stderr, "bench_gbnet: out of memory\n");
        return 1;
    }
    displace(base, sc.pos, sc.n_atoms, jitter, &rng);

    gbnet_workspace *ws = NULL;
    st = gbnet_workspace_create(&ws, model, precision);
    if (st) return fail_status("creating the workspace", st);
    gbnet_workspace_set_threads(ws, threads);

    double *forces = malloc((size_t)sc.n_atoms * 3 * sizeof(double));
    double *times = malloc((size_t)steps * sizeof(double));
    double *nl_times = malloc((size_t)steps * sizeof(double));
    if (!forces || !times || !nl_times) {
        fprintf(stderr, "bench_gbnet: out of memory\n");
        return 1;
    }
    gbnet_structure s = {sc.n_atoms, sc.species, sc.pos, sc.cell, {1, 1, 1}};
    gbnet_result res;
    for (int k = 0; k < warmup + steps; ++k) {
        memset(&res, 0, sizeof res);
        res.forces = forces;
        displace(sc.pos, base, sc.n_atoms, step_jitter, &rng);
        double t0 = now_seconds();
        st = gbnet_evaluate(ws, 1, &s, &res);
        double t1 = now_seconds();
        if (st) return fail_status("gbnet_evaluate", st);
        if (k >= warmup) times[k - warmup] = t1 - t0;
    }
    size_t ws_bytes = gbnet_workspace_bytes(ws);

    /* The neighbor-list share: the same cell-list build gbnet_evaluate runs. */
    gb_neighbor_list nl = {0};
    for (int k = 0; k < 1 + steps; ++k) {
        double t0 = now_seconds();
        st = gb_neighbor_build(&nl, sc.pos, sc.n_atoms, sc.cell, s.pbc, gbnet_model_cutoff(model));
        double t1 = now_seconds();
        if (st) return fail_status("gb_neighbor_build", st);
        if (k >= 1) nl_times[k - 1] = t1 - t0;
    }
    int n_edges = nl.n_edges; /* of the last step's positions, the ones dumped */
    gb_neighbor_free(&nl);

    double t_step = median(times, steps), t_min = times[0], t_nl = median(nl_times, steps);
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    double flops = model_flops(model, sc.n_atoms, n_edges);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT engine=gbnet model=%s tabulated=%d F=%d K=%d T=%d atoms=%d edges=%d threads=%d precision=%s "
           "steps=%d step_s=%.6g min_step_s=%.6g us_per_atom=%.6g nlist_s=%.6g flops=%.6g gflops=%.6g "
           "ws_bytes=%zu ws_bytes_per_atom=%.1f maxrss_kb=%ld energy=%.12g\n",
           model_path, gbnet_model_is_tabulated(model), hp->n_features, hp->n_rbf, hp->n_blocks, sc.n_atoms, n_edges,
           threads, precision_name, steps, t_step, t_min, 1e6 * t_step / sc.n_atoms, t_nl, flops, 1e-9 * flops / t_step,
           ws_bytes, (double)ws_bytes / sc.n_atoms, ru.ru_maxrss, res.energy);
    int ok = !dump_path || dump_structure(dump_path, &sc, &res, precision_name);
    gbnet_workspace_free(ws);
    gbnet_model_free(model);
    free(sc.pos);
    free(base);
    free(sc.species);
    free(forces);
    free(times);
    free(nl_times);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "make-model") == 0) return make_model(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0) return run(argc - 1, argv + 1);
    fprintf(stderr, "usage: bench_gbnet make-model ... | bench_gbnet run ...   (see bench/README.md)\n");
    return 2;
}
