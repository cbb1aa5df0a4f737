/* gbnet compress: tabulate the filter networks (piecewise cubic Hermite in
 * d) and/or reduce the rank of the dense layers (truncated SVD), optionally
 * measuring the deviation from the exact model on data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet_data.h"
#include "gbnet.h"

static const char *const compress_help =
    "Usage: gbnet compress [--tabulate] [--rank SPEC | --energy E] IN.gbnet OUT.gbnet [options]\n"
    "       gbnet compress --spectrum IN.gbnet\n"
    "\n"
    "Replaces each interaction block's filter network W_t(d) by cubic Hermite\n"
    "interpolation of its exact values and d-derivatives on a uniform grid in\n"
    "[0, rc] (value and first derivative continuous, so forces stay smooth).\n"
    "The table is stored in OUT and used automatically by gbnet eval, the\n"
    "library and LAMMPS; the exact weights are kept (training uses them).\n"
    "\n"
    "Options:\n"
    "  --tabulate           tabulate the filters (a table of IN is kept without it)\n"
    "  --points N           grid points per block (default 1001; error ~ step^4)\n"
    "  --rank SPEC          factor dense layers W ~ A B by truncated SVD: R (every\n"
    "                       dense layer) or in=R,out1=R,out2=R,readout=R (the\n"
    "                       others as they are); ranks 1..min(out,in)-1\n"
    "  --energy E           per layer the smallest rank keeping the share E in\n"
    "                       (0, 1] of sum sigma^2 (layers --rank names excepted)\n"
    "  --spectrum           print each dense layer's singular values and the\n"
    "                       ranks that keep 90/99/99.9%% of sum sigma^2\n"
    "  --check DATA         evaluate exact and tabulated models on DATA (extxyz\n"
    "                       or DeePMD folder; repeatable) and report the max and\n"
    "                       RMS deviation of energies and forces\n"
    "  --subset KEY=PATTERN only frames whose KEY matches PATTERN (wildcards)\n"
    "  --max-frames N       check at most N frames (default 50)\n"
    "  -h, --help           show this help\n";

enum { OPT_TABULATE, OPT_POINTS, OPT_CHECK, OPT_SUBSET, OPT_MAX_FRAMES, OPT_RANK, OPT_ENERGY, OPT_SPECTRUM, OPT_HELP };
static const cli_option compress_options[] = {
    [OPT_TABULATE] = {"tabulate", 0, 0}, [OPT_POINTS] = {"points", 0, 1},
    [OPT_CHECK] = {"check", 0, 1},       [OPT_SUBSET] = {"subset", 0, 1},
    [OPT_MAX_FRAMES] = {"max-frames", 0, 1}, [OPT_RANK] = {"rank", 0, 1},
    [OPT_ENERGY] = {"energy", 0, 1},     [OPT_SPECTRUM] = {"spectrum", 0, 0},
    [OPT_HELP] = {"help", 'h', 0}};

/* Smallest rank keeping share e of sum sigma^2 (as gbnet_model_reduce_rank). */
static int rank_keeping(const double *sigma, int n, double e) {
    double total = 0, run = 0;
    for (int k = 0; k < n; ++k) total += sigma[k] * sigma[k];
    for (int k = 0; k < n; ++k) {
        run += sigma[k] * sigma[k];
        if (run >= e * total * (1 - 1e-12)) return k + 1;
    }
    return n;
}

static int print_spectrum(const gbnet_model *m) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(m);
    double *sigma = malloc((size_t)hp->n_features * sizeof(double));
    if (!sigma) return cli_error("compress", "out of memory");
    static const char *names[] = {"in", "out1", "out2", "readout"};
    printf("singular values of the dense layers (descending; factored layers multiplied out)\n");
    for (int t = 0; t <= hp->n_blocks; ++t)
        for (int k = 0; k < 3; ++k) {
            gbnet_dense_kind kind = t == hp->n_blocks ? GBNET_DENSE_READOUT : (gbnet_dense_kind)k;
            if (kind == GBNET_DENSE_READOUT && k > 0) break;
            int n = gbnet_model_singular_values(m, kind, t == hp->n_blocks ? 0 : t, sigma);
            if (!n) {
                free(sigma);
                return cli_library_error("compress", GBNET_ERR_NUMERIC);
            }
            if (kind == GBNET_DENSE_READOUT) printf("readout");
            else printf("block %d %s", t, names[k]);
            printf(" (%d values): rank for 90%% %d, 99%% %d, 99.9%% %d of sum sigma^2\n ", n,
                   rank_keeping(sigma, n, 0.9), rank_keeping(sigma, n, 0.99), rank_keeping(sigma, n, 0.999));
            for (int j = 0; j < n; ++j) printf(" %.4g%s", sigma[j], (j + 1) % 10 == 0 && j + 1 < n ? "\n " : "");
            printf("\n");
        }
    free(sigma);
    return CLI_EXIT_OK;
}

typedef struct {
    double e_max, e_sq, f_max, f_sq;
    long long n_e, n_f;
} deviation;

static int evaluate_frame(gbnet_workspace *ws, const gbnet_frame *f, const int *species, double *energy,
                          double *forces) {
    gbnet_structure s;
    memset(&s, 0, sizeof s);
    s.n_atoms = f->n_atoms;
    s.species = species;
    s.positions = f->pos;
    s.cell = f->has_cell ? f->cell : NULL;
    for (int c = 0; c < 3; ++c) s.pbc[c] = f->pbc[c];
    gbnet_result r;
    memset(&r, 0, sizeof r);
    r.forces = forces;
    gbnet_status st = gbnet_evaluate(ws, 1, &s, &r);
    *energy = r.energy;
    return st;
}

static int check_deviation(const gbnet_model *exact, const gbnet_model *tab, const gbnet_dataset *ds,
                           const char *subset_key, const char *subset_pattern, int max_frames, deviation *dev) {
    gbnet_workspace *we = NULL, *wt = NULL;
    gbnet_status st = gbnet_workspace_create(&we, exact, GBNET_DOUBLE);
    if (!st) st = gbnet_workspace_create(&wt, tab, GBNET_DOUBLE);
    if (st) {
        gbnet_workspace_free(we);
        return cli_library_error("compress", st);
    }
    int used = 0, rc = CLI_EXIT_OK;
    for (int k = 0; k < ds->n_frames && used < max_frames && rc == CLI_EXIT_OK; ++k) {
        const gbnet_frame *f = &ds->frames[k];
        if (subset_key && !gbnet_frame_matches(f, subset_key, subset_pattern)) continue;
        int *species = malloc((size_t)f->n_atoms * sizeof(int));
        double *fe = malloc(3 * (size_t)f->n_atoms * sizeof(double)), *ft = malloc(3 * (size_t)f->n_atoms * sizeof(double));
        double ee = 0, et = 0;
        if (!species || !fe || !ft) rc = cli_error("compress", "out of memory");
        else if ((st = gbnet_frame_species(species, f, gbnet_model_hyperparams(exact)))) rc = cli_library_error("compress", st);
        else if ((st = evaluate_frame(we, f, species, &ee, fe)) || (st = evaluate_frame(wt, f, species, &et, ft)))
            rc = cli_library_error("compress", st);
        else {
            double de = fabs(ee - et) / f->n_atoms;
            dev->e_max = de > dev->e_max ? de : dev->e_max;
            dev->e_sq += de * de;
            dev->n_e++;
            for (int c = 0; c < 3 * f->n_atoms; ++c) {
                double d = fabs(fe[c] - ft[c]);
                dev->f_max = d > dev->f_max ? d : dev->f_max;
                dev->f_sq += d * d;
                dev->n_f++;
            }
            ++used;
        }
        free(species);
        free(fe);
        free(ft);
    }
    gbnet_workspace_free(we);
    gbnet_workspace_free(wt);
    return rc;
}

int cmd_compress(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *subset = NULL;
    const char *checks[16];
    const char *rank_text = NULL;
    int n_checks = 0, points = 1001, max_frames = 50, tabulate = 0, spectrum = 0;
    double energy = 0;
    cli_parser parser;
    cli_parser_init(&parser, "compress", argc, argv, compress_options,
                    (int)(sizeof compress_options / sizeof compress_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(compress_help, stdout); return CLI_EXIT_OK;
        case OPT_TABULATE: tabulate = 1; break;
        case OPT_SPECTRUM: spectrum = 1; break;
        case OPT_RANK: rank_text = value; break;
        case OPT_ENERGY:
            if (!cli_parse_double("compress", "--energy", value, -1e300, 1e300, &energy)) return CLI_EXIT_USAGE;
            if (!(energy > 0 && energy <= 1))
                return cli_usage_error("compress", "--energy must be in (0, 1] (a share of sum sigma^2), got %s", value);
            break;
        case OPT_POINTS:
            if (!cli_parse_int("compress", "--points", value, 16, 1000000, &points)) return CLI_EXIT_USAGE;
            break;
        case OPT_MAX_FRAMES:
            if (!cli_parse_int("compress", "--max-frames", value, 1, 100000000, &max_frames)) return CLI_EXIT_USAGE;
            break;
        case OPT_CHECK:
            if (n_checks == 16) return cli_usage_error("compress", "at most 16 --check datasets");
            checks[n_checks++] = value;
            break;
        case OPT_SUBSET:
            if (!strchr(value, '=')) return cli_usage_error("compress", "--subset expects KEY=PATTERN, got '%s'", value);
            subset = value;
            break;
        case CLI_POSITIONAL:
            if (!in) in = value;
            else if (!out) out = value;
            else return cli_usage_error("compress", "unexpected argument '%s'", value);
            break;
        }
    }
    if (spectrum) {
        if (!in || out) return cli_usage_error("compress", "--spectrum expects IN.gbnet alone");
        if (tabulate || rank_text || energy > 0 || n_checks)
            return cli_usage_error("compress", "--spectrum only prints; run the compression separately");
        gbnet_model *m = NULL;
        gbnet_status st = gbnet_model_load(&m, in);
        if (st) return cli_library_error("compress", st);
        int rc = print_spectrum(m);
        gbnet_model_free(m);
        return rc;
    }
    int reduce = rank_text || energy > 0;
    if (!tabulate && !reduce)
        return cli_usage_error("compress", "say what to do: --tabulate, --rank or --energy (or --spectrum)");
    if (!in || !out) return cli_usage_error("compress", "expected IN.gbnet and OUT.gbnet");
    gbnet_rank_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.energy = energy;
    if (rank_text && gbnet_rank_spec_parse(&spec, rank_text))
        return cli_usage_error("compress", "--rank: %s", gbnet_last_error());

    gbnet_model *exact = NULL, *tab = NULL;
    gbnet_status st = gbnet_model_load(&exact, in);
    if (st) return cli_library_error("compress", st);
    int in_points = gbnet_model_table_points(exact);
    /* the result: IN reduced (its table kept) and/or (re)tabulated */
    st = reduce ? gbnet_model_reduce_rank(exact, &spec, &tab) : gbnet_model_clone(&tab, exact);
    if (st == GBNET_ERR_INVALID_ARGUMENT) {
        gbnet_model_free(exact);
        return cli_usage_error("compress", "%s", gbnet_last_error());
    }
    if (!st && tabulate) st = gbnet_model_tabulate(tab, points);
    gbnet_model_untabulate(exact);  /* compare against the exact filters even if IN was tabulated */
    if (st) {
        gbnet_model_free(exact);
        gbnet_model_free(tab);
        return cli_library_error("compress", st);
    }
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(exact);
    if (tabulate)
        printf("tabulated %d blocks x %d features on %d points (step %.5f A, %.2f MB in the file)\n", hp->n_blocks,
               hp->n_features, points, hp->cutoff / (points - 1),
               2.0 * hp->n_blocks * points * hp->n_features * 8 / 1e6);
    else if (in_points)
        points = in_points;
    char ranks[2048] = "";
    if (reduce) {
        cli_format_ranks(ranks, sizeof ranks, tab);
        printf("dense layers: %s\nparameters: %zu -> %zu\n", ranks, gbnet_model_n_params(exact),
               gbnet_model_n_params(tab));
        if (gbnet_model_n_params(tab) >= gbnet_model_n_params(exact))
            printf("note: the factors hold more numbers than the full layers (a rank pays off below out*in/(out+in), "
                   "%d for %d x %d)\n", hp->n_features / 2, hp->n_features, hp->n_features);
    }

    char note[512] = "";
    int rc = CLI_EXIT_OK;
    if (n_checks > 0) {
        gbnet_dataset ds;
        memset(&ds, 0, sizeof ds);
        for (int k = 0; k < n_checks && !st; ++k) st = gbnet_dataset_read(&ds, checks[k]);
        if (st) rc = cli_library_error("compress", st);
        char key[128] = "";
        const char *pattern = NULL;
        if (subset) {
            size_t klen = (size_t)(strchr(subset, '=') - subset);
            if (klen >= sizeof key) klen = sizeof key - 1;
            memcpy(key, subset, klen);
            pattern = strchr(subset, '=') + 1;
        }
        deviation dev;
        memset(&dev, 0, sizeof dev);
        if (rc == CLI_EXIT_OK) rc = check_deviation(exact, tab, &ds, subset ? key : NULL, pattern, max_frames, &dev);
        if (rc == CLI_EXIT_OK) {
            if (dev.n_e == 0) rc = cli_error("compress", "no frames to check (check --subset)");
            else {
                printf("deviation from the exact model on %lld frames (double precision):\n", dev.n_e);
                printf("  energy  max %.3g  RMS %.3g meV/atom\n", 1e3 * dev.e_max, 1e3 * sqrt(dev.e_sq / dev.n_e));
                printf("  forces  max %.3g  RMS %.3g meV/A\n", 1e3 * dev.f_max, 1e3 * sqrt(dev.f_sq / dev.n_f));
                snprintf(note, sizeof note,
                         " check on %lld frames: energy max %.3g meV/atom, force max %.3g RMS %.3g meV/A;",
                         dev.n_e, 1e3 * dev.e_max, 1e3 * dev.f_max, 1e3 * sqrt(dev.f_sq / dev.n_f));
            }
        }
        gbnet_dataset_free(&ds);
    }
    if (rc == CLI_EXIT_OK) {
        const char *old = gbnet_model_provenance(exact);
        char *cmdline = cli_join_arguments(argc, argv);
        time_t now = time(NULL);
        char date[64];
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        size_t n = strlen(old) + strlen(cmdline ? cmdline : "") + sizeof note + 256;
        char *prov = malloc(n + 2200);
        if (prov) {
            char what[2200] = "";
            if (gbnet_model_is_tabulated(tab))
                snprintf(what, sizeof what, " %d-point tabulated filters;", points);
            if (reduce)
                snprintf(what + strlen(what), sizeof what - strlen(what), " dense layers %s;", ranks);
            snprintf(prov, n + sizeof what, "%s%scompressed %s: gbnet %s;%s%s",
                     old, old[0] ? "\n" : "", date, cmdline ? cmdline : "compress", what, note);
            st = gbnet_model_set_provenance(tab, prov);
        }
        free(prov);
        free(cmdline);
        if (!st) st = gbnet_model_save(tab, out);
        if (st) rc = cli_library_error("compress", st);
        else printf("wrote %s\n", out);
    }
    gbnet_model_free(exact);
    gbnet_model_free(tab);
    return rc;
}
