/* gbnet compress: tabulate the filter networks (piecewise cubic Hermite in
 * d), reduce the rank of the dense layers (truncated SVD) and/or quantize
 * them (bf16, int8), optionally measuring the deviation from the exact model
 * on data. */
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
    "Usage: gbnet compress [--tabulate] [--rank SPEC | --energy E] [--quantize MODE] IN.gbnet OUT.gbnet [options]\n"
    "       gbnet compress --spectrum IN.gbnet\n"
    "\n"
    "Replaces each interaction block's filter network W_t(d) by cubic Hermite\n"
    "interpolation of its exact values and d-derivatives on a uniform grid in\n"
    "[0, rc] (value and first derivative continuous, so forces stay smooth).\n"
    "The table is stored in OUT and used automatically by gbnet eval, the\n"
    "library and LAMMPS; the exact weights are kept (training uses them).\n"
    "\n"
    "--quantize runs the full dense layers (in, out1, out2 of every block and\n"
    "readout1) on rounded weights and inputs in single-precision evaluation:\n"
    "bf16 (bfloat16 weights and inputs, float sums) or int8 (int8 weights with a\n"
    "scale per output channel, int8 inputs with a scale per layer calibrated on\n"
    "--calibrate data). The float weights are kept; double precision and\n"
    "training ignore it; factored (--rank) layers stay float. A quantization of\n"
    "IN is dropped unless --quantize is given again.\n"
    "Kernels: AMX, AVX-512 (BF16 / VNNI) or plain C, chosen at run time.\n"
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
    "  --quantize MODE      bf16 or int8 dense layers\n"
    "  --calibrate DATA     int8: frames whose dense-layer inputs set the scales\n"
    "                       (extxyz or DeePMD folder; repeatable; required)\n"
    "  --percentile P       int8: clip each layer's input at this percentile of\n"
    "                       |input| over the calibration frames (default 100:\n"
    "                       the largest; clipping outliers costs accuracy)\n"
    "  --check DATA         evaluate exact and compressed models on DATA (extxyz\n"
    "                       or DeePMD folder; repeatable) and report the max and\n"
    "                       RMS deviation of energies and forces (quantized: in\n"
    "                       single precision, also against the float model with\n"
    "                       the same rounded weights, and the force MAE against\n"
    "                       the labels of both)\n"
    "  --subset KEY=PATTERN check only frames whose KEY matches PATTERN (wildcards)\n"
    "  --max-frames N       check (and calibrate on) at most N frames (default 50)\n"
    "  -h, --help           show this help\n";

enum { OPT_TABULATE, OPT_POINTS, OPT_CHECK, OPT_SUBSET, OPT_MAX_FRAMES, OPT_RANK, OPT_ENERGY, OPT_SPECTRUM,
       OPT_QUANTIZE, OPT_CALIBRATE, OPT_PERCENTILE, OPT_HELP };
static const cli_option compress_options[] = {
    [OPT_TABULATE] = {"tabulate", 0, 0}, [OPT_POINTS] = {"points", 0, 1},
    [OPT_CHECK] = {"check", 0, 1},       [OPT_SUBSET] = {"subset", 0, 1},
    [OPT_MAX_FRAMES] = {"max-frames", 0, 1}, [OPT_RANK] = {"rank", 0, 1},
    [OPT_ENERGY] = {"energy", 0, 1},     [OPT_SPECTRUM] = {"spectrum", 0, 0},
    [OPT_QUANTIZE] = {"quantize", 0, 1}, [OPT_CALIBRATE] = {"calibrate", 0, 1},
    [OPT_PERCENTILE] = {"percentile", 0, 1}, [OPT_HELP] = {"help", 'h', 0}};

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
    double e_max, e_sq, f_max, f_sq, f_abs;
    long long n_e, n_f;
    double label_abs_a, label_abs_b; /* |F - label| summed, models a and b */
    long long n_label;
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

static int check_deviation(const gbnet_model *exact, const gbnet_model *tab, gbnet_precision precision,
                           const gbnet_dataset *ds, const char *subset_key, const char *subset_pattern, int max_frames,
                           deviation *dev) {
    gbnet_workspace *we = NULL, *wt = NULL;
    gbnet_status st = gbnet_workspace_create(&we, exact, precision);
    if (!st) st = gbnet_workspace_create(&wt, tab, precision);
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
                dev->f_abs += d;
                dev->n_f++;
                if (f->forces) {
                    dev->label_abs_a += fabs(fe[c] - f->forces[c]);
                    dev->label_abs_b += fabs(ft[c] - f->forces[c]);
                    dev->n_label++;
                }
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

/* Reads the datasets of paths into ds. */
static gbnet_status read_datasets(gbnet_dataset *ds, const char *const *paths, int n) {
    memset(ds, 0, sizeof *ds);
    gbnet_status st = GBNET_OK;
    for (int k = 0; k < n && !st; ++k) st = gbnet_dataset_read(ds, paths[k]);
    return st;
}

/* int8 calibration (or bf16, which needs no frames) on the selected frames of ds. */
static int quantize_model(gbnet_model *m, gbnet_quant_mode mode, const gbnet_dataset *ds, const char *key,
                          const char *pattern, int max_frames, double percentile, int *used) {
    *used = 0;
    if (mode == GBNET_QUANT_BF16) {
        gbnet_status st = gbnet_model_quantize(m, mode, 0, NULL, percentile);
        return st ? cli_library_error("compress", st) : CLI_EXIT_OK;
    }
    gbnet_structure *structs = calloc((size_t)ds->n_frames + 1, sizeof *structs);
    int **species = calloc((size_t)ds->n_frames + 1, sizeof *species);
    int n = 0, rc = CLI_EXIT_OK;
    if (!structs || !species) rc = cli_error("compress", "out of memory");
    for (int k = 0; k < ds->n_frames && n < max_frames && rc == CLI_EXIT_OK; ++k) {
        const gbnet_frame *f = &ds->frames[k];
        if (key && !gbnet_frame_matches(f, key, pattern)) continue;
        species[n] = malloc((size_t)f->n_atoms * sizeof(int) + 1);
        if (!species[n]) {
            rc = cli_error("compress", "out of memory");
            break;
        }
        gbnet_status st = gbnet_frame_species(species[n], f, gbnet_model_hyperparams(m));
        if (st) {
            rc = cli_library_error("compress", st);
            break;
        }
        gbnet_structure *s = &structs[n++];
        s->n_atoms = f->n_atoms;
        s->species = species[n - 1];
        s->positions = f->pos;
        s->cell = f->has_cell ? f->cell : NULL;
        for (int c = 0; c < 3; ++c) s->pbc[c] = f->pbc[c];
    }
    if (rc == CLI_EXIT_OK && n == 0) rc = cli_error("compress", "no calibration frames in the --calibrate data");
    if (rc == CLI_EXIT_OK) {
        gbnet_status st = gbnet_model_quantize(m, mode, n, structs, percentile);
        if (st) rc = cli_library_error("compress", st);
    }
    *used = n;
    for (int k = 0; k < n || (species && species[k]); ++k) free(species[k]);
    free(species);
    free(structs);
    return rc;
}

static void print_deviation(const char *what, const char *precision, const deviation *dev) {
    printf("%s on %lld frames (%s precision):\n", what, dev->n_e, precision);
    printf("  energy  max %.3g  RMS %.3g meV/atom\n", 1e3 * dev->e_max, 1e3 * sqrt(dev->e_sq / dev->n_e));
    printf("  forces  max %.3g  RMS %.3g  MAE %.3g meV/A\n", 1e3 * dev->f_max, 1e3 * sqrt(dev->f_sq / dev->n_f),
           1e3 * dev->f_abs / dev->n_f);
}

/* --tabulate of a committee: every member tabulated, written to out as a committee. */
static int tabulate_committee(const gbnet_committee *c, const char *out, int points) {
    int n = gbnet_committee_size(c);
    gbnet_model *members[GBNET_MAX_COMMITTEE] = {0};
    gbnet_committee *tabulated = NULL;
    gbnet_status st = GBNET_OK;
    for (int k = 0; k < n && !st; ++k) {
        st = gbnet_model_clone(&members[k], gbnet_committee_member(c, k));
        if (!st) st = gbnet_model_tabulate(members[k], points);
    }
    if (!st) st = gbnet_committee_create(&tabulated, (const gbnet_model *const *)members, n);
    if (!st) st = gbnet_committee_save(tabulated, out);
    int rc = st ? cli_library_error("compress", st) : CLI_EXIT_OK;
    if (!st) printf("tabulated the %d members of the committee on %d points per block\nwrote %s\n", n, points, out);
    for (int k = 0; k < n; ++k) gbnet_model_free(members[k]);
    gbnet_committee_free(tabulated);
    return rc;
}

int cmd_compress(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *subset = NULL;
    const char *checks[16];
    const char *rank_text = NULL, *quantize = NULL, *calibrations[16];
    int n_checks = 0, n_calibrations = 0, points = 1001, max_frames = 50, tabulate = 0, spectrum = 0;
    double energy = 0, percentile = GBNET_DEFAULT_QUANT_PERCENTILE;
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
        case OPT_CALIBRATE:
            if (n_calibrations == 16) return cli_usage_error("compress", "at most 16 --calibrate datasets");
            calibrations[n_calibrations++] = value;
            break;
        case OPT_QUANTIZE:
            if (strcmp(value, "bf16") && strcmp(value, "int8"))
                return cli_usage_error("compress", "--quantize expects bf16 or int8, got '%s'", value);
            quantize = value;
            break;
        case OPT_PERCENTILE: {
            char *end = NULL;
            percentile = strtod(value, &end);
            if (end == value || *end || !(percentile > 50.0 && percentile <= 100.0))
                return cli_usage_error("compress", "--percentile expects a number in (50, 100], got '%s'", value);
            break;
        }
        case CLI_POSITIONAL:
            if (!in) in = value;
            else if (!out) out = value;
            else return cli_usage_error("compress", "unexpected argument '%s'", value);
            break;
        }
    }
    if (spectrum) {
        if (!in || out) return cli_usage_error("compress", "--spectrum expects IN.gbnet alone");
        if (tabulate || rank_text || energy > 0 || n_checks || quantize)
            return cli_usage_error("compress", "--spectrum only prints; run the compression separately");
        gbnet_model *m = NULL;
        gbnet_status st = gbnet_model_load(&m, in);
        if (st) return cli_library_error("compress", st);
        int rc = print_spectrum(m);
        gbnet_model_free(m);
        return rc;
    }
    int reduce = rank_text || energy > 0;
    if (!tabulate && !reduce && !quantize)
        return cli_usage_error("compress",
                               "say what to do: --tabulate, --rank or --energy, --quantize bf16|int8 (or --spectrum)");
    gbnet_quant_mode qmode = !quantize ? GBNET_QUANT_NONE : strcmp(quantize, "int8") ? GBNET_QUANT_BF16 : GBNET_QUANT_INT8;
    if (qmode == GBNET_QUANT_INT8 && n_calibrations == 0)
        return cli_usage_error("compress", "--quantize int8 needs --calibrate DATA (frames that set each layer's input "
                                           "scale; the training data is a good choice)");
    if (qmode != GBNET_QUANT_INT8 && n_calibrations > 0)
        return cli_usage_error("compress", "--calibrate is for --quantize int8 only");
    if (!in || !out) return cli_usage_error("compress", "expected IN.gbnet and OUT.gbnet");
    gbnet_rank_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.energy = energy;
    if (rank_text && gbnet_rank_spec_parse(&spec, rank_text))
        return cli_usage_error("compress", "--rank: %s", gbnet_last_error());

    /* a committee file: --tabulate alone handles every member; anything else would write member 0 alone
     * (a file that cannot be read is left to gbnet_model_load below, which says why) */
    gbnet_committee *committee = NULL;
    if (gbnet_committee_load(&committee, in) == GBNET_OK && gbnet_committee_size(committee) > 1) {
        int n = gbnet_committee_size(committee);
        int rc = tabulate && !reduce && !quantize && n_checks == 0
                     ? tabulate_committee(committee, out, points)
                     : cli_error("compress", "%s holds a committee of %d members: only --tabulate (without --check) "
                                             "handles every member; compress each member and join the results again "
                                             "(gbnet.make_committee in Python)", in, n);
        gbnet_committee_free(committee);
        return rc;
    }
    gbnet_committee_free(committee);
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
    /* ... and the float dense layers; a quantization of IN is redone only on request
     * (its int8 scales were calibrated for IN's weights) */
    gbnet_quant_mode in_quant = gbnet_model_quantization(exact);
    gbnet_model_quantize(exact, GBNET_QUANT_NONE, 0, NULL, 0);
    if (tab) gbnet_model_quantize(tab, GBNET_QUANT_NONE, 0, NULL, 0);
    if (!st && in_quant != GBNET_QUANT_NONE && qmode == GBNET_QUANT_NONE)
        printf("note: IN's %s quantization is dropped (give --quantize again to keep one)\n",
               gbnet_quant_mode_name(in_quant));
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

    int rc = CLI_EXIT_OK, calibrated = 0;
    if (qmode != GBNET_QUANT_NONE) {
        gbnet_dataset cal;
        memset(&cal, 0, sizeof cal);
        if (qmode == GBNET_QUANT_INT8 && (st = read_datasets(&cal, calibrations, n_calibrations)))
            rc = cli_library_error("compress", st);
        if (rc == CLI_EXIT_OK)
            rc = quantize_model(tab, qmode, &cal, NULL, NULL, max_frames, percentile, &calibrated);
        gbnet_dataset_free(&cal);
        if (rc == CLI_EXIT_OK) {
            if (qmode == GBNET_QUANT_INT8)
                printf("quantized %d dense layers to int8 (input scales: %.4g percentile of |input| on %d frames)\n",
                       3 * hp->n_blocks + 1, percentile, calibrated);
            else printf("quantized %d dense layers to bf16\n", 3 * hp->n_blocks + 1);
            if (reduce) printf("factored (rank-reduced) layers stay float\n");
            printf("kernels on this CPU: %s\n", gbnet_quant_kernels(qmode));
        }
    }

    char note[512] = "";
    if (n_checks > 0 && rc == CLI_EXIT_OK) {
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
        /* quantized layers run in float evaluation only: compare in float there */
        gbnet_precision prec = qmode != GBNET_QUANT_NONE ? GBNET_FLOAT : GBNET_DOUBLE;
        if (rc == CLI_EXIT_OK)
            rc = check_deviation(exact, tab, prec, &ds, subset ? key : NULL, pattern, max_frames, &dev);
        if (rc == CLI_EXIT_OK && dev.n_e == 0) rc = cli_error("compress", "no frames to check (check --subset)");
        if (rc == CLI_EXIT_OK) {
            print_deviation(prec == GBNET_FLOAT ? "deviation from the exact float model" : "deviation from the exact model",
                            prec == GBNET_FLOAT ? "single" : "double", &dev);
            if (dev.n_label)
                printf("  force MAE against the labels: exact %.4g, compressed %.4g meV/A\n",
                       1e3 * dev.label_abs_a / dev.n_label, 1e3 * dev.label_abs_b / dev.n_label);
            snprintf(note, sizeof note,
                     " check on %lld frames: energy max %.3g meV/atom, force max %.3g RMS %.3g meV/A;", dev.n_e,
                     1e3 * dev.e_max, 1e3 * dev.f_max, 1e3 * sqrt(dev.f_sq / dev.n_f));
        }
        if (rc == CLI_EXIT_OK && qmode != GBNET_QUANT_NONE) {
            /* the same model with float inputs and the rounded weights: its forces are the exact
             * derivative of its energy, so this measures what rounding the inputs does */
            gbnet_model *wq = NULL;
            st = gbnet_model_clone(&wq, tab);
            if (!st) st = gbnet_model_dequantize_weights(wq);
            deviation dq;
            memset(&dq, 0, sizeof dq);
            if (st) rc = cli_library_error("compress", st);
            else rc = check_deviation(wq, tab, GBNET_FLOAT, &ds, subset ? key : NULL, pattern, max_frames, &dq);
            if (rc == CLI_EXIT_OK)
                print_deviation("deviation from the float model with the same rounded weights", "single", &dq);
            gbnet_model_free(wq);
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
            if (qmode != GBNET_QUANT_NONE)
                snprintf(what + strlen(what), sizeof what - strlen(what), " %s dense layers;", quantize);
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
