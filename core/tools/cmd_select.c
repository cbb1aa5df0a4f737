/* gbnet select: frames of a trajectory whose committee force deviation lies
 * between two thresholds, the candidates for new reference calculations
 * (the selection step of DP-GEN's active learning). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"
#include "gbnet_data.h"

static const char *const select_help =
    "Usage: gbnet select COMMITTEE.gbnet TRAJECTORY --lower F_LO --upper F_HI [options]\n"
    "\n"
    "Evaluates the committee on every frame of TRAJECTORY and sorts the frames\n"
    "by their max_devi_f, the largest per-atom force deviation\n"
    "sqrt(mean over members |F_i - mean F_i|^2) (eV/A, as DeePMD-kit's\n"
    "model_devi.out): accurate (max_devi_f < F_LO), candidates (F_LO <= max_devi_f\n"
    "< F_HI) and failed (>= F_HI, too far out to be trusted as new data). It\n"
    "lists the candidates and prints the three counts.\n"
    "\n"
    "TRAJECTORY is an extended XYZ file (or DeePMD folder), or with --types a\n"
    "LAMMPS text dump written by `dump ID all custom N FILE id type x y z`\n"
    "(xu yu zu or xs ys zs also work; other columns are ignored).\n"
    "\n"
    "Options:\n"
    "  --lower F_LO          lower threshold of max_devi_f, eV/A (required)\n"
    "  --upper F_HI          upper threshold of max_devi_f, eV/A (required, > F_LO)\n"
    "  --types El1,El2,...   TRAJECTORY is a LAMMPS dump; element of atom type 1, 2, ...\n"
    "  -o, --output FILE     write the candidates as extended XYZ (positions, cell,\n"
    "                        pbc, and max_devi_f, devi_e, frame, timestep as info)\n"
    "  --max N               write at most N candidates, evenly spaced over the\n"
    "                        trajectory (default: all)\n"
    "  --write-deviations FILE  every frame's deviations, one line each, in the\n"
    "                        layout of DeePMD-kit's model_devi.out (what pair_style\n"
    "                        gbnet out_file writes): step (the dump's timestep, else\n"
    "                        the frame index), max/min/avg_devi_v,\n"
    "                        max/min/avg_devi_f, devi_e\n"
    "  --precision P         double (default) or float\n"
    "  --threads N           OpenMP threads (default: OpenMP's default)\n"
    "  -h, --help            show this help\n";

enum { OPT_LOWER, OPT_UPPER, OPT_TYPES, OPT_OUTPUT, OPT_MAX, OPT_PRECISION, OPT_THREADS, OPT_DEVIATIONS, OPT_HELP };
static const cli_option select_options[] = {
    [OPT_LOWER] = {"lower", 0, 1},         [OPT_UPPER] = {"upper", 0, 1},     [OPT_TYPES] = {"types", 0, 1},
    [OPT_OUTPUT] = {"output", 'o', 1},     [OPT_MAX] = {"max", 0, 1},         [OPT_PRECISION] = {"precision", 0, 1},
    [OPT_THREADS] = {"threads", 0, 1},     [OPT_DEVIATIONS] = {"write-deviations", 0, 1},
    [OPT_HELP] = {"help", 'h', 0},
};

#define SELECT_BATCH_ATOMS 4096

typedef struct {
    const char *committee_path, *trajectory, *output, *types, *deviations;
    double lower, upper;
    int have_lower, have_upper;
    int max_written;
    gbnet_precision precision;
    int threads;
} select_args;

static int parse_args(select_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->precision = GBNET_DOUBLE;
    a->max_written = -1;
    cli_parser parser;
    cli_parser_init(&parser, "select", argc, argv, select_options,
                    (int)(sizeof select_options / sizeof select_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(select_help, stdout); return -1;
        case CLI_POSITIONAL:
            if (!a->committee_path) a->committee_path = value;
            else if (!a->trajectory) a->trajectory = value;
            else return cli_usage_error("select", "one COMMITTEE and one TRAJECTORY only (extra '%s')", value);
            break;
        case OPT_LOWER:
            if (!cli_parse_double("select", "--lower", value, 0.0, 1e6, &a->lower)) return CLI_EXIT_USAGE;
            a->have_lower = 1;
            break;
        case OPT_UPPER:
            if (!cli_parse_double("select", "--upper", value, 0.0, 1e6, &a->upper)) return CLI_EXIT_USAGE;
            a->have_upper = 1;
            break;
        case OPT_TYPES: a->types = value; break;
        case OPT_OUTPUT: a->output = value; break;
        case OPT_MAX:
            if (!cli_parse_int("select", "--max", value, 0, 100000000, &a->max_written)) return CLI_EXIT_USAGE;
            break;
        case OPT_PRECISION:
            if (strcmp(value, "double") == 0) a->precision = GBNET_DOUBLE;
            else if (strcmp(value, "float") == 0) a->precision = GBNET_FLOAT;
            else return cli_usage_error("select", "--precision expects 'double' or 'float', got '%s'", value);
            break;
        case OPT_DEVIATIONS: a->deviations = value; break;
        case OPT_THREADS:
            if (!cli_parse_int("select", "--threads", value, 0, 4096, &a->threads)) return CLI_EXIT_USAGE;
            break;
        }
    }
    if (!a->committee_path || !a->trajectory) return cli_usage_error("select", "need COMMITTEE.gbnet and TRAJECTORY");
    if (!a->have_lower || !a->have_upper)
        return cli_usage_error("select", "need both thresholds: --lower F_LO --upper F_HI (eV/A), e.g. --lower 0.1 "
                               "--upper 0.3");
    if (!(a->upper > a->lower))
        return cli_usage_error("select", "--upper (%g) must be larger than --lower (%g)", a->upper, a->lower);
    return CLI_EXIT_OK;
}

/* "O,H" -> atomic numbers of types 1, 2, ... */
static int parse_types(const char *text, int *z, int *n) {
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", text);
    *n = 0;
    for (char *save = NULL, *word = strtok_r(copy, ", ", &save); word; word = strtok_r(NULL, ", ", &save)) {
        if (*n == 1000) return cli_usage_error("select", "--types: more than 1000 types");
        z[*n] = gbnet_atomic_number(word);
        if (z[*n] == 0) return cli_usage_error("select", "--types: '%s' (type %d) is not a chemical element", word, *n + 1);
        ++*n;
    }
    if (*n == 0) return cli_usage_error("select", "--types: no element given (e.g. --types O,H)");
    return CLI_EXIT_OK;
}

static int looks_like_dump(const char *path) {
    FILE *f = fopen(path, "r");
    char head[16] = {0};
    if (!f) return 0;
    size_t got = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    return got >= 6 && strncmp(head, "ITEM: ", 6) == 0;
}

/* Every frame's deviations in model_devi.out's layout (pair_gbnet.cpp writes the same). */
static int write_deviations(const char *path, const gbnet_dataset *ds, const gbnet_committee_deviation *devi) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("select", "cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "#%12s %18s %18s %18s %18s %18s %18s %18s\n", "step", "max_devi_v", "min_devi_v", "avg_devi_v",
            "max_devi_f", "min_devi_f", "avg_devi_f", "devi_e");
    for (int i = 0; i < ds->n_frames; ++i) {
        const char *step = gbnet_frame_info(&ds->frames[i], "timestep");
        const gbnet_committee_deviation *d = &devi[i];
        char index[16];
        snprintf(index, sizeof index, "%d", i);
        fprintf(f, "%13s %18.10e %18.10e %18.10e %18.10e %18.10e %18.10e %18.10e\n", step ? step : index,
                d->virial_deviation_max, d->virial_deviation_min, d->virial_deviation_mean, d->force_deviation_max,
                d->force_deviation_min, d->force_deviation_mean, d->energy_deviation);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return cli_error("select", "writing '%s' failed", path);
    return CLI_EXIT_OK;
}

int cmd_select(int argc, char **argv) {
    select_args a;
    int rc = parse_args(&a, argc, argv);
    if (rc < 0) return CLI_EXIT_OK;
    if (rc) return rc;
    int type_z[1000], n_types = 0;
    if (a.types && (rc = parse_types(a.types, type_z, &n_types))) return rc;
    if (!a.types && looks_like_dump(a.trajectory))
        return cli_usage_error("select", "%s is a LAMMPS dump: give the element of each atom type with --types "
                               "(e.g. --types O,H)", a.trajectory);

    gbnet_committee *committee = NULL;
    gbnet_status st = gbnet_committee_load(&committee, a.committee_path);
    if (st) return cli_library_error("select", st);
    int members = gbnet_committee_size(committee);
    if (members < 2) {
        gbnet_committee_free(committee);
        return cli_error("select", "%s holds a single model: deviations need a committee (gbnet train with "
                         "committee = 4)", a.committee_path);
    }
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(gbnet_committee_member(committee, 0));
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    st = a.types ? gbnet_read_lammps_dump(&ds, a.trajectory, type_z, n_types) : gbnet_dataset_read(&ds, a.trajectory);
    if (st) {
        gbnet_committee_free(committee);
        return cli_library_error("select", st);
    }
    int n = ds.n_frames;
    gbnet_committee_workspace *cws = NULL;
    st = gbnet_committee_workspace_create(&cws, committee, a.precision);
    if (!st) gbnet_committee_workspace_set_threads(cws, a.threads);
    gbnet_committee_deviation *devi = calloc((size_t)n + 1, sizeof *devi);
    gbnet_structure *structures = calloc((size_t)n + 1, sizeof *structures);
    gbnet_result *results = calloc((size_t)n + 1, sizeof *results);
    int **species = calloc((size_t)n + 1, sizeof *species);
    if (!st && (!devi || !structures || !results || !species)) st = GBNET_ERR_NO_MEMORY;
    for (int i = 0; i < n && !st; ++i) {
        const gbnet_frame *f = &ds.frames[i];
        species[i] = malloc(((size_t)f->n_atoms + 1) * sizeof(int));
        if (!species[i]) {
            st = GBNET_ERR_NO_MEMORY;
            break;
        }
        st = gbnet_frame_species(species[i], f, hp);
        structures[i].n_atoms = f->n_atoms;
        structures[i].species = species[i];
        structures[i].positions = f->pos;
        structures[i].cell = f->has_cell ? f->cell : NULL;
        for (int c = 0; c < 3; ++c) structures[i].pbc[c] = f->has_cell ? f->pbc[c] : 0;
    }
    /* calls of about SELECT_BATCH_ATOMS atoms, so large trajectories keep memory bounded */
    for (int first = 0; first < n && !st;) {
        int count = 0;
        long long atoms = 0;
        while (first + count < n && (count == 0 || atoms + ds.frames[first + count].n_atoms <= SELECT_BATCH_ATOMS))
            atoms += ds.frames[first + count++].n_atoms;
        st = gbnet_committee_evaluate(cws, count, structures + first, results + first, devi + first);
        if (st) {
            char why[2048];
            snprintf(why, sizeof why, "%s", gbnet_last_error());
            rc = cli_error("select", "%s: frames %d..%d (from line %d): %s", a.trajectory, first, first + count - 1,
                           ds.frames[first].line, why);
        }
        first += count;
    }
    if (st && !rc) rc = cli_library_error("select", st);
    int accurate = 0, candidates = 0, failed = 0;
    int *chosen = calloc((size_t)n + 1, sizeof *chosen);
    if (!rc && !chosen) rc = cli_error("select", "out of memory");
    if (!rc) {
        printf("committee:   %s (%d members)\ntrajectory:  %s (%d frames%s)\nthresholds:  %g <= max_devi_f < %g eV/A\n\n",
               a.committee_path, members, a.trajectory, n, a.types ? ", LAMMPS dump" : "", a.lower, a.upper);
        printf("%8s %10s %14s %14s  %s\n", "frame", "timestep", "max_devi_f", "devi_e", "source:line");
        for (int i = 0; i < n; ++i) {
            double d = devi[i].force_deviation_max;
            if (d < a.lower) {
                accurate++;
            } else if (d < a.upper) {
                chosen[candidates++] = i;
                const char *step = gbnet_frame_info(&ds.frames[i], "timestep");
                printf("%8d %10s %14.6f %14.6f  %s:%d\n", i, step ? step : "-", d, devi[i].energy_deviation,
                       ds.frames[i].source ? ds.frames[i].source : "?", ds.frames[i].line);
            } else {
                failed++;
            }
        }
        printf("\naccurate   (max_devi_f < %g):  %d frames (%.1f%%)\n", a.lower, accurate, n ? 100.0 * accurate / n : 0.0);
        printf("candidates (%g <= max_devi_f < %g):  %d frames (%.1f%%)\n", a.lower, a.upper, candidates,
               n ? 100.0 * candidates / n : 0.0);
        printf("failed     (max_devi_f >= %g):  %d frames (%.1f%%)\n", a.upper, failed, n ? 100.0 * failed / n : 0.0);
    }
    if (!rc && a.deviations) {
        rc = write_deviations(a.deviations, &ds, devi);
        if (!rc) printf("deviations:  %d frames to %s\n", n, a.deviations);
    }
    if (!rc && a.output) {
        int keep = a.max_written >= 0 && a.max_written < candidates ? a.max_written : candidates;
        gbnet_frame *out = calloc((size_t)keep + 1, sizeof *out);
        gbnet_kv *info = calloc(4 * (size_t)keep + 1, sizeof *info);
        char (*text)[4][32] = calloc((size_t)keep + 1, sizeof *text);
        if (!out || !info || !text) rc = cli_error("select", "out of memory");
        for (int k = 0; k < keep && !rc; ++k) {
            /* evenly spaced over the candidates when --max cuts them */
            int i = chosen[keep == candidates ? k : (int)((long long)k * candidates / keep)];
            out[k] = ds.frames[i];
            out[k].forces = NULL; /* no labels: these frames are to be computed */
            out[k].has_energy = out[k].has_virial = 0;
            snprintf(text[k][0], 32, "%.6g", devi[i].force_deviation_max);
            snprintf(text[k][1], 32, "%.6g", devi[i].energy_deviation);
            snprintf(text[k][2], 32, "%d", i);
            const char *step = gbnet_frame_info(&ds.frames[i], "timestep");
            snprintf(text[k][3], 32, "%s", step ? step : "-");
            static const char *const keys[4] = {"max_devi_f", "devi_e", "frame", "timestep"};
            for (int q = 0; q < 4; ++q) {
                info[4 * k + q].key = (char *)keys[q];
                info[4 * k + q].value = text[k][q];
            }
            out[k].info = &info[4 * k];
            out[k].n_info = 4;
        }
        if (!rc) {
            st = gbnet_write_extxyz(a.output, out, keep, NULL, NULL, NULL);
            if (st) rc = cli_library_error("select", st);
            else printf("written:     %d candidate frames to %s\n", keep, a.output);
        }
        free(out);
        free(info);
        free(text);
    }
    for (int i = 0; species && i < n; ++i) free(species[i]);
    free(species);
    free(chosen);
    free(devi);
    free(structures);
    free(results);
    gbnet_committee_workspace_free(cws);
    gbnet_dataset_free(&ds);
    gbnet_committee_free(committee);
    return rc;
}
