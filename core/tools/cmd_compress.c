/* gbnet compress: tabulate the filter networks (piecewise cubic Hermite in
 * d) and/or quantize the dense layers (bf16, int8), optionally measuring the
 * deviation from the exact model on data. */
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
    "Usage: gbnet compress (--tabulate | --quantize MODE | both) IN.gbnet OUT.gbnet [options]\n"
    "\n"
    "Replaces each interaction block's filter network W_t(d) by cubic Hermite\n"
    "interpolation of its exact values and d-derivatives on a uniform grid in\n"
    "[0, rc] (value and first derivative continuous, so forces stay smooth).\n"
    "The table is stored in OUT and used automatically by gbnet eval, the\n"
    "library and LAMMPS; the exact weights are kept (training uses them).\n"
    "\n"
    "--quantize runs the dense layers (in, out1, out2 of every block and readout1)\n"
    "on rounded weights and inputs in single-precision evaluation: bf16 (bfloat16\n"
    "weights and inputs, float sums) or int8 (int8 weights with a scale per output\n"
    "channel, int8 inputs with a scale per layer calibrated on --calibrate data).\n"
    "The float weights are kept; double precision and training ignore it.\n"
    "Kernels: AMX, AVX-512 (BF16 / VNNI) or plain C, chosen at run time.\n"
    "Compressions always start from IN's exact float model: give all in one call.\n"
    "\n"
    "Options:\n"
    "  --tabulate           tabulate the filters\n"
    "  --points N           grid points per block (default 1001; error ~ step^4)\n"
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

enum { OPT_TABULATE, OPT_POINTS, OPT_CHECK, OPT_SUBSET, OPT_MAX_FRAMES, OPT_QUANTIZE, OPT_CALIBRATE, OPT_PERCENTILE,
       OPT_HELP };
static const cli_option compress_options[] = {
    [OPT_TABULATE] = {"tabulate", 0, 0},     [OPT_POINTS] = {"points", 0, 1},
    [OPT_CHECK] = {"check", 0, 1},           [OPT_SUBSET] = {"subset", 0, 1},
    [OPT_MAX_FRAMES] = {"max-frames", 0, 1}, [OPT_QUANTIZE] = {"quantize", 0, 1},
    [OPT_CALIBRATE] = {"calibrate", 0, 1},   [OPT_PERCENTILE] = {"percentile", 0, 1},
    [OPT_HELP] = {"help", 'h', 0}};

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

static void print_deviation(const char *what, const deviation *dev) {
    printf("%s on %lld frames:\n", what, dev->n_e);
    printf("  energy  max %.3g  RMS %.3g meV/atom\n", 1e3 * dev->e_max, 1e3 * sqrt(dev->e_sq / dev->n_e));
    printf("  forces  max %.3g  RMS %.3g  MAE %.3g meV/A\n", 1e3 * dev->f_max, 1e3 * sqrt(dev->f_sq / dev->n_f),
           1e3 * dev->f_abs / dev->n_f);
}

int cmd_compress(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *subset = NULL, *quantize = NULL;
    const char *checks[16], *calibrations[16];
    int n_checks = 0, n_calibrations = 0, points = 1001, max_frames = 50, tabulate = 0;
    double percentile = GBNET_DEFAULT_QUANT_PERCENTILE;
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
    if (!tabulate && !quantize)
        return cli_usage_error("compress", "say what to do: --tabulate and/or --quantize bf16|int8");
    gbnet_quant_mode qmode = !quantize ? GBNET_QUANT_NONE : strcmp(quantize, "int8") ? GBNET_QUANT_BF16 : GBNET_QUANT_INT8;
    if (qmode == GBNET_QUANT_INT8 && n_calibrations == 0)
        return cli_usage_error("compress", "--quantize int8 needs --calibrate DATA (frames that set each layer's input "
                                           "scale; the training data is a good choice)");
    if (qmode != GBNET_QUANT_INT8 && n_calibrations > 0)
        return cli_usage_error("compress", "--calibrate is for --quantize int8 only");
    if (!in || !out) return cli_usage_error("compress", "expected IN.gbnet and OUT.gbnet");

    char key[128] = "";
    const char *pattern = NULL;
    if (subset) {
        size_t klen = (size_t)(strchr(subset, '=') - subset);
        if (klen >= sizeof key) klen = sizeof key - 1;
        memcpy(key, subset, klen);
        pattern = strchr(subset, '=') + 1;
    }

    gbnet_model *exact = NULL, *tab = NULL;
    gbnet_status st = gbnet_model_load(&exact, in);
    if (st) return cli_library_error("compress", st);
    gbnet_model_untabulate(exact);  /* compare against the exact filters even if IN was tabulated */
    gbnet_model_quantize(exact, GBNET_QUANT_NONE, 0, NULL, 0); /* ... and the float dense layers */
    st = gbnet_model_clone(&tab, exact);
    if (!st && tabulate) st = gbnet_model_tabulate(tab, points);
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
            printf("kernels on this CPU: %s\n", gbnet_quant_kernels(qmode));
        }
    }

    char note[768] = "";
    if (n_checks > 0 && rc == CLI_EXIT_OK) {
        gbnet_dataset ds;
        if ((st = read_datasets(&ds, checks, n_checks))) rc = cli_library_error("compress", st);
        deviation dev;
        memset(&dev, 0, sizeof dev);
        /* quantized layers run in float evaluation only: compare in float there */
        gbnet_precision prec = qmode != GBNET_QUANT_NONE ? GBNET_FLOAT : GBNET_DOUBLE;
        if (rc == CLI_EXIT_OK)
            rc = check_deviation(exact, tab, prec, &ds, subset ? key : NULL, pattern, max_frames, &dev);
        if (rc == CLI_EXIT_OK && dev.n_e == 0) rc = cli_error("compress", "no frames to check (check --subset)");
        if (rc == CLI_EXIT_OK) {
            print_deviation(prec == GBNET_FLOAT ? "deviation from the exact float model (single precision)"
                                                : "deviation from the exact model (double precision)",
                            &dev);
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
                print_deviation("deviation from the float model with the same rounded weights (single precision)", &dq);
            gbnet_model_free(wq);
        }
        gbnet_dataset_free(&ds);
    }
    if (rc == CLI_EXIT_OK) {
        const char *old = gbnet_model_provenance(exact);
        char *cmdline = cli_join_arguments(argc, argv);
        time_t now = time(NULL);
        char date[64], what[128] = "";
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        if (tabulate) snprintf(what, sizeof what, " %d-point tabulated filters;", points);
        if (qmode != GBNET_QUANT_NONE)
            snprintf(what + strlen(what), sizeof what - strlen(what), " %s dense layers;", quantize);
        size_t n = strlen(old) + strlen(cmdline ? cmdline : "") + sizeof note + sizeof what + 256;
        char *prov = malloc(n);
        if (prov) {
            snprintf(prov, n, "%s%scompressed %s: gbnet %s;%s%s", old, old[0] ? "\n" : "", date,
                     cmdline ? cmdline : "compress", what, note);
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
