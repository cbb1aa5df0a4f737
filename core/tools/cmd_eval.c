/* gbnet eval: evaluates a model on labelled data and reports the errors. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli_util.h"
#include "commands.h"
#include "gbnet_data.h"
#include "gbnet.h"
#include "metrics.h"

static const char *const eval_help =
    "Usage: gbnet eval MODEL.gbnet DATA... [options]\n"
    "\n"
    "Evaluates the model on every frame of DATA (extended XYZ files or DeePMD\n"
    "system folders) and prints mean absolute and root-mean-square errors:\n"
    "  energy  meV/atom   per frame: (E_pred - E_ref) / N_atoms\n"
    "  force   meV/A      per Cartesian component\n"
    "  stress  GPa        all 9 components of -virial/V, for frames with a virial\n"
    "                     (or stress) label and a cell\n"
    "and the same per element: energy[X] over the frames that contain X,\n"
    "force[X] over the force components on atoms of element X.\n"
    "\n"
    "Options:\n"
    "  --precision P              double (default) or float\n"
    "  --threads N                OpenMP threads (default: OpenMP's default)\n"
    "  --batch N                  frames per evaluation call (default: as many as\n"
    "                             fit in 4096 atoms, at least one)\n"
    "  --write-predictions FILE   write predicted energy, forces and virial as\n"
    "                             extended XYZ (positions and metadata kept)\n"
    "  --subset KEY=PATTERN       only frames whose metadata KEY matches PATTERN\n"
    "                             (shell wildcards, e.g. subset='data_3*');\n"
    "                             repeat to require several\n"
    "  --member M                 with a committee file: evaluate member M alone\n"
    "                             (default: the committee mean, with deviations)\n"
    "  --write-deviations FILE    with a committee: one line per frame, DeePMD-kit's\n"
    "                             model_devi.out columns (frame index in place of\n"
    "                             the step) plus the frame's true errors\n"
    "  --distance-margin X        the coverage check's relative distance margin:\n"
    "                             too close below (1 - X) times the shortest trained\n"
    "                             distance (default 0.02)\n"
    "  --feature-margin Y         the feature check's margin in units of each\n"
    "                             channel's trained range (default 0.35)\n"
    "  --write-coverage FILE      one line per frame: both checks' results (closest\n"
    "                             distance ratio, largest feature excess, flags)\n"
    "  -h, --help                 show this help\n"
    "\n"
    "With a committee file (gbnet train with committee = N) the predictions are\n"
    "the committee mean and a second table summarises the deviations over\n"
    "frames: max_devi_f (the largest per-atom force deviation of a frame,\n"
    "sqrt(mean over members |F_i - mean F_i|^2), eV/A), avg_devi_f, devi_e\n"
    "(std over members of E/N, eV/atom) and max_devi_v (eV/atom).\n"
    "\n"
    "With a potential that records its training coverage (gbnet train writes it;\n"
    "gbnet info shows it) a last block counts the frames outside it, as the\n"
    "LAMMPS pair style's extrapolation warnings do: atoms closer than (1 - X)\n"
    "times the shortest trained distance of their element pair, or a periodic\n"
    "cell's volume per atom outside the trained range; and, with a record of the\n"
    "readout's input ranges, atoms whose features after the last interaction\n"
    "block leave the trained range of their element by more than Y times it\n"
    "(member 0's, or --member's, features for a committee); it names the\n"
    "farthest frame of each check.\n";

enum {
    OPT_PRECISION, OPT_THREADS, OPT_BATCH, OPT_WRITE, OPT_SUBSET, OPT_MEMBER, OPT_DEVIATIONS,
    OPT_DISTANCE_MARGIN, OPT_FEATURE_MARGIN, OPT_COVERAGE, OPT_HELP
};
static const cli_option eval_options[] = {
    [OPT_PRECISION] = {"precision", 0, 1}, [OPT_THREADS] = {"threads", 0, 1},
    [OPT_BATCH] = {"batch", 0, 1},         [OPT_WRITE] = {"write-predictions", 0, 1},
    [OPT_SUBSET] = {"subset", 0, 1},       [OPT_MEMBER] = {"member", 0, 1},
    [OPT_DEVIATIONS] = {"write-deviations", 0, 1}, [OPT_DISTANCE_MARGIN] = {"distance-margin", 0, 1},
    [OPT_FEATURE_MARGIN] = {"feature-margin", 0, 1}, [OPT_COVERAGE] = {"write-coverage", 0, 1},
    [OPT_HELP] = {"help", 'h', 0},
};

/* Default size of one gbnet_evaluate call in atoms: several packs, so the
 * batched kernels stay efficient, yet short enough for steady progress. */
#define AUTO_BATCH_ATOMS 4096
#define MAX_DATA 64

typedef struct {
    const char *model_path;
    const char *data[MAX_DATA];
    int n_data;
    gbnet_precision precision;
    int threads;
    int batch;
    const char *predictions_path;
    cli_frame_filters filters;
    int member;                   /* -1: the committee mean */
    const char *deviations_path;
    double distance_margin, feature_margin;
    const char *coverage_path;
} eval_args;

/* Returns CLI_EXIT_OK to go on, or the exit code to stop with (help printed
 * or a usage error). */
static int parse_args(eval_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->precision = GBNET_DOUBLE;
    a->batch = 0; /* automatic: see AUTO_BATCH_ATOMS */
    a->member = -1;
    a->distance_margin = GBNET_DEFAULT_DISTANCE_MARGIN;
    a->feature_margin = GBNET_DEFAULT_FEATURE_MARGIN;
    cli_parser parser;
    cli_parser_init(&parser, "eval", argc, argv, eval_options, (int)(sizeof eval_options / sizeof eval_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(eval_help, stdout); return -1;
        case CLI_POSITIONAL:
            if (!a->model_path) a->model_path = value;
            else if (a->n_data < MAX_DATA) a->data[a->n_data++] = value;
            else return cli_usage_error("eval", "at most %d DATA arguments", MAX_DATA);
            break;
        case OPT_PRECISION:
            if (strcmp(value, "double") == 0) a->precision = GBNET_DOUBLE;
            else if (strcmp(value, "float") == 0) a->precision = GBNET_FLOAT;
            else return cli_usage_error("eval", "--precision expects 'double' or 'float', got '%s'", value);
            break;
        case OPT_THREADS:
            if (!cli_parse_int("eval", "--threads", value, 0, 4096, &a->threads)) return CLI_EXIT_USAGE;
            break;
        case OPT_BATCH:
            if (!cli_parse_int("eval", "--batch", value, 1, 1000000, &a->batch)) return CLI_EXIT_USAGE;
            break;
        case OPT_WRITE: a->predictions_path = value; break;
        case OPT_MEMBER:
            if (!cli_parse_int("eval", "--member", value, 0, GBNET_MAX_COMMITTEE - 1, &a->member)) return CLI_EXIT_USAGE;
            break;
        case OPT_DEVIATIONS: a->deviations_path = value; break;
        case OPT_COVERAGE: a->coverage_path = value; break;
        case OPT_DISTANCE_MARGIN:
        case OPT_FEATURE_MARGIN: {
            char *end = NULL;
            double x = strtod(value, &end);
            int distance = option == OPT_DISTANCE_MARGIN;
            if (!end || *end || end == value || !(x >= 0.0) || !isfinite(x) || (distance && !(x < 1.0)))
                return cli_usage_error("eval", "--%s expects a number %s, got '%s'",
                                       distance ? "distance-margin" : "feature-margin",
                                       distance ? "in [0, 1)" : ">= 0", value);
            if (distance) a->distance_margin = x;
            else a->feature_margin = x;
            break;
        }
        case OPT_SUBSET:
            if (cli_add_frame_filter("eval", &a->filters, value)) return CLI_EXIT_USAGE;
            break;
        }
    }
    if (!a->model_path) return cli_usage_error("eval", "missing MODEL.gbnet and DATA");
    if (a->n_data == 0) return cli_usage_error("eval", "missing DATA (an extxyz file or DeePMD folder)");
    return CLI_EXIT_OK;
}

/* Everything evaluated: the selected frames (shallow copies), their species
 * and the predictions. */
typedef struct {
    int n;
    gbnet_frame *frames;       /* [n] shallow copies of dataset frames */
    int **species;          /* [n] -> [n_atoms] */
    double *energy;         /* [n] */
    double *virial;         /* [n][9] */
    double **forces;        /* [n] -> [n_atoms][3] */
    long long n_atoms;
    gbnet_committee_deviation *deviations; /* [n] with a committee, else NULL */
} eval_set;

/* What evaluates: one model's workspace, or a committee's. */
typedef struct {
    gbnet_workspace *ws;
    gbnet_committee_workspace *cws;
} evaluator;

static gbnet_status run_evaluator(const evaluator *e, int n, const gbnet_structure *structures, gbnet_result *results,
                                  gbnet_committee_deviation *deviations) {
    return e->cws ? gbnet_committee_evaluate(e->cws, n, structures, results, deviations)
                  : gbnet_evaluate(e->ws, n, structures, results);
}

static void eval_set_free(eval_set *s) {
    for (int i = 0; i < s->n; ++i) {
        if (s->species) free(s->species[i]);
        if (s->forces) free(s->forces[i]);
    }
    free(s->frames);
    free(s->species);
    free(s->energy);
    free(s->virial);
    free(s->forces);
    free(s->deviations);
    memset(s, 0, sizeof *s);
}

static int frame_selected(const eval_args *a, const gbnet_frame *f) {
    return cli_frame_selected(&a->filters, f);
}

/* Selects frames and maps their elements onto the model. */
static int prepare(eval_set *s, const eval_args *a, const gbnet_dataset *ds, const gbnet_hyperparams *hp) {
    int n = 0;
    for (int f = 0; f < ds->n_frames; ++f) n += frame_selected(a, &ds->frames[f]);
    if (n == 0)
        return cli_error("eval", a->filters.n ? "no frame matches the --subset filter(s)" : "the data has no frames");
    s->frames = calloc((size_t)n, sizeof *s->frames);
    s->species = calloc((size_t)n, sizeof *s->species);
    s->forces = calloc((size_t)n, sizeof *s->forces);
    s->energy = calloc((size_t)n, sizeof *s->energy);
    s->virial = calloc(9 * (size_t)n, sizeof *s->virial);
    if (!s->frames || !s->species || !s->forces || !s->energy || !s->virial) return cli_error("eval", "out of memory");
    s->n = n;
    int k = 0;
    for (int f = 0; f < ds->n_frames; ++f) {
        const gbnet_frame *frame = &ds->frames[f];
        if (!frame_selected(a, frame)) continue;
        s->frames[k] = *frame;
        size_t atoms = (size_t)frame->n_atoms;
        s->species[k] = malloc((atoms + 1) * sizeof(int));
        s->forces[k] = malloc((3 * atoms + 1) * sizeof(double));
        if (!s->species[k] || !s->forces[k]) return cli_error("eval", "out of memory");
        gbnet_status status = gbnet_frame_species(s->species[k], frame, hp);
        if (status) return cli_library_error("eval", status);
        s->n_atoms += frame->n_atoms;
        ++k;
    }
    return CLI_EXIT_OK;
}

static void fill_call(gbnet_structure *structures, gbnet_result *results, eval_set *s, int first, int count) {
    for (int q = 0; q < count; ++q) {
        int i = first + q;
        const gbnet_frame *f = &s->frames[i];
        gbnet_structure *st = &structures[q];
        st->n_atoms = f->n_atoms;
        st->species = s->species[i];
        st->positions = f->pos;
        st->cell = f->has_cell ? f->cell : NULL;
        for (int c = 0; c < 3; ++c) st->pbc[c] = f->has_cell ? f->pbc[c] : 0;
        results[q].atom_energies = NULL;
        results[q].forces = s->forces[i];
    }
}

/* After a failed call, finds the frame responsible by evaluating them one by
 * one, so the message can name its file and line. */
static int report_failure(const evaluator *ev, eval_set *s, int first, int count, gbnet_status status) {
    for (int q = 0; q < count; ++q) {
        gbnet_structure structure;
        gbnet_result result;
        gbnet_committee_deviation deviation;
        memset(&deviation, 0, sizeof deviation);
        fill_call(&structure, &result, s, first + q, 1);
        gbnet_status single = run_evaluator(ev, 1, &structure, &result, &deviation);
        if (single) {
            const gbnet_frame *f = &s->frames[first + q];
            return cli_error("eval", "%s:%d: evaluating this frame failed: %s", f->source ? f->source : "?", f->line,
                             gbnet_last_error());
        }
    }
    return cli_library_error("eval", status);
}

/* Frames in the call starting at first: batch frames if given, else as many
 * as fit in AUTO_BATCH_ATOMS (at least one). */
static int call_size(const eval_set *s, int first, int batch) {
    int remaining = s->n - first;
    if (batch > 0) return remaining < batch ? remaining : batch;
    int count = 0;
    long long atoms = 0;
    while (count < remaining && (count == 0 || atoms + s->frames[first + count].n_atoms <= AUTO_BATCH_ATOMS))
        atoms += s->frames[first + count++].n_atoms;
    return count;
}

static int evaluate_all(eval_set *s, const evaluator *ev, int batch, double *seconds, int *n_calls) {
    int max_count = 0;
    for (int first = 0; first < s->n; first += call_size(s, first, batch)) {
        int count = call_size(s, first, batch);
        if (count > max_count) max_count = count;
    }
    gbnet_structure *structures = calloc((size_t)max_count + 1, sizeof *structures);
    gbnet_result *results = calloc((size_t)max_count + 1, sizeof *results);
    if (!structures || !results) {
        free(structures);
        free(results);
        return cli_error("eval", "out of memory");
    }
    int show_progress = isatty(STDERR_FILENO);
    int progress_shown = 0;
    double start = cli_now();
    int rc = CLI_EXIT_OK;
    *n_calls = 0;
    int count = 0;
    for (int first = 0; first < s->n && rc == CLI_EXIT_OK; first += count) {
        count = call_size(s, first, batch);
        ++*n_calls;
        fill_call(structures, results, s, first, count);
        gbnet_status status =
            run_evaluator(ev, count, structures, results, s->deviations ? s->deviations + first : NULL);
        if (status) {
            if (progress_shown) fprintf(stderr, "\r\033[K");
            progress_shown = 0;
            rc = report_failure(ev, s, first, count, status);
            break;
        }
        for (int q = 0; q < count; ++q) {
            s->energy[first + q] = results[q].energy;
            memcpy(&s->virial[9 * (size_t)(first + q)], results[q].virial, sizeof results[q].virial);
        }
        double elapsed = cli_now() - start;
        if (show_progress && elapsed > 1.0) { /* only runs long enough to wait for */
            fprintf(stderr, "\rgbnet eval: %d/%d frames (%.0f%%), %.1f s", first + count, s->n,
                    100.0 * (first + count) / s->n, elapsed);
            fflush(stderr);
            progress_shown = 1;
        }
    }
    *seconds = cli_now() - start;
    if (progress_shown) fprintf(stderr, "\r\033[K");
    free(structures);
    free(results);
    return rc;
}

static void print_row(const char *name, const char *unit, const gb_error_stats *stats) {
    if (stats->count == 0) {
        printf("%-14s %-9s %10lld %14s %14s\n", name, unit, 0LL, "-", "-");
        return;
    }
    printf("%-14s %-9s %10lld %14.4f %14.4f\n", name, unit, stats->count, gb_error_stats_mae(stats),
           gb_error_stats_rmse(stats));
}

static void print_report(const eval_args *a, const gbnet_model *model, const eval_set *s, double seconds,
                         int n_calls) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    gb_eval_metrics m;
    memset(&m, 0, sizeof m);
    long long with_energy = 0, with_forces = 0, with_stress = 0;
    for (int i = 0; i < s->n; ++i) {
        const gbnet_frame *f = &s->frames[i];
        gb_eval_metrics_add(&m, f, s->species[i], hp->n_elements, s->energy[i], s->forces[i], &s->virial[9 * i]);
        with_energy += f->has_energy;
        with_forces += f->forces != NULL;
        with_stress += f->has_virial && f->has_cell;
    }
    char elements[4 * GBNET_MAX_ELEMENTS + 1];
    gbnet_format_elements(elements, sizeof elements, hp);
    int threads = a->threads;
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    printf("model:       %s (elements %s; F=%d T=%d K=%d R=%d rc=%g A; %s filters)\n", a->model_path, elements,
           hp->n_features, hp->n_blocks, hp->n_rbf, hp->readout_width, hp->cutoff,
           gbnet_model_is_tabulated(model) ? "tabulated" : "exact");
    printf("data:       ");
    for (int d = 0; d < a->n_data; ++d) printf(" %s", a->data[d]);
    for (int k = 0; k < a->filters.n; ++k) printf(" [%s=%s]", a->filters.key[k], a->filters.pattern[k]);
    printf("\n");
    printf("frames:      %d (%lld with energy, %lld with forces, %lld with stress)\n", s->n, with_energy, with_forces,
           with_stress);
    printf("atoms:       %lld\n", s->n_atoms);
    printf("evaluation:  %.3f s, %.1f atoms/s (%s precision, %d threads, %d calls)\n", seconds,
           seconds > 0.0 ? (double)s->n_atoms / seconds : 0.0, a->precision == GBNET_FLOAT ? "float" : "double",
           threads, n_calls);
    printf("\n%-14s %-9s %10s %14s %14s\n", "quantity", "unit", "count", "MAE", "RMSE");
    print_row("energy", "meV/atom", &m.energy);
    print_row("force", "meV/A", &m.force);
    print_row("stress", "GPa", &m.stress);
    char name[32];
    for (int e = 0; e < hp->n_elements; ++e) {
        snprintf(name, sizeof name, "energy[%s]", gbnet_element_symbol(hp->atomic_numbers[e]));
        print_row(name, "meV/atom", &m.element_energy[e]);
    }
    for (int e = 0; e < hp->n_elements; ++e) {
        snprintf(name, sizeof name, "force[%s]", gbnet_element_symbol(hp->atomic_numbers[e]));
        print_row(name, "meV/A", &m.element_force[e]);
    }
    printf("\nenergy[X]: frames containing X; force[X]: components on atoms of X;\n"
           "stress: 9 components of -virial/V (1 eV/A^3 = %.7g GPa).\n",
           GB_GPA_PER_EV_A3);
}

/* Mean, median-free summary of one deviation over frames. */
static void print_deviation_row(const char *name, const char *unit, const eval_set *s, size_t offset) {
    double sum = 0.0, max = 0.0, min = INFINITY;
    for (int i = 0; i < s->n; ++i) {
        double v = *(const double *)((const char *)&s->deviations[i] + offset);
        sum += v;
        max = v > max ? v : max;
        min = v < min ? v : min;
    }
    printf("%-14s %-9s %14.6f %14.6f %14.6f\n", name, unit, min, sum / s->n, max);
}

static void print_committee_report(const eval_args *a, int n_members, const eval_set *s) {
    if (a->member >= 0) printf("\ncommittee:   %d members; predictions above: member %d alone\n", n_members, a->member);
    else printf("\ncommittee:   %d members; predictions above: their mean\n", n_members);
    printf("\n%-14s %-9s %14s %14s %14s\n", "deviation", "unit", "min", "mean", "max  (over frames)");
    print_deviation_row("max_devi_f", "eV/A", s, offsetof(gbnet_committee_deviation, force_deviation_max));
    print_deviation_row("avg_devi_f", "eV/A", s, offsetof(gbnet_committee_deviation, force_deviation_mean));
    print_deviation_row("devi_e", "eV/atom", s, offsetof(gbnet_committee_deviation, energy_deviation));
    print_deviation_row("max_devi_v", "eV/atom", s, offsetof(gbnet_committee_deviation, virial_deviation_max));
    printf("\nmax_devi_f: a frame's largest per-atom force deviation sqrt(mean_m |F_i^m - <F_i>|^2);\n"
           "devi_e: std over members of E/N; max_devi_v: largest std of a virial component / N.\n");
}

/* DeePMD-kit's model_devi.out columns per frame, then the frame's true errors
 * of the prediction (nan without labels): err_e signed, (E_pred - E_ref)/N. */
/* Both checks of every frame: the distance check (gbnet_coverage_check, what
 * pair_style gbnet warns about) and the feature check (gbnet_feature_check
 * with the model's precision); has_* 0 where the model has no such record. */
typedef struct {
    int has_distance, has_features, features_stale;
    gbnet_coverage_report *distance;  /* [n] */
    gbnet_feature_report *features;   /* [n] */
} coverage_results;

static void coverage_results_free(coverage_results *c) {
    free(c->distance);
    free(c->features);
}

static int check_coverage(coverage_results *c, const gbnet_model *model, const eval_args *args, eval_set *s) {
    memset(c, 0, sizeof *c);
    c->has_distance = gbnet_model_coverage(model) != NULL;
    c->has_features = gbnet_model_feature_ranges(model, &c->features_stale) != NULL && !c->features_stale;
    c->distance = calloc((size_t)s->n + 1, sizeof *c->distance);
    c->features = calloc((size_t)s->n + 1, sizeof *c->features);
    gbnet_structure *structures = calloc((size_t)s->n + 1, sizeof *structures);
    gbnet_result *unused = calloc((size_t)s->n + 1, sizeof *unused);
    int rc = c->distance && c->features && structures && unused ? CLI_EXIT_OK : cli_error("eval", "out of memory");
    if (rc == CLI_EXIT_OK) fill_call(structures, unused, s, 0, s->n);
    for (int i = 0; rc == CLI_EXIT_OK && c->has_distance && i < s->n; ++i)
        if (gbnet_coverage_check(model, &structures[i], args->distance_margin, &c->distance[i])) {
            const gbnet_frame *f = &s->frames[i];
            rc = cli_error("eval", "%s:%d: coverage check failed: %s", f->source ? f->source : "?", f->line,
                           gbnet_last_error());
        }
    if (rc == CLI_EXIT_OK && c->has_features) {
        gbnet_workspace *ws = NULL;
        gbnet_status st = gbnet_workspace_create(&ws, model, args->precision);
        if (!st) {
            gbnet_workspace_set_threads(ws, args->threads);
            st = gbnet_feature_check(ws, s->n, structures, args->feature_margin, c->features);
        }
        gbnet_workspace_free(ws);
        if (st) rc = cli_error("eval", "feature check failed: %s", gbnet_last_error());
    }
    free(structures);
    free(unused);
    return rc;
}

static void print_coverage_report(const gbnet_model *model, const eval_args *args, const eval_set *s,
                                  const coverage_results *c) {
    if (!c->has_distance) printf("\ncoverage:    the potential holds no record of its training data: not checked\n");
    int close_frames = 0, volume_frames = 0, outside = 0, worst = -1;
    int feature_frames = 0, worst_feature = -1, either = 0;
    long long close_atoms = 0, feature_atoms = 0;
    double worst_ratio = HUGE_VAL, worst_excess = -1.0;
    for (int i = 0; i < s->n; ++i) {
        const gbnet_coverage_report *r = &c->distance[i];
        const gbnet_feature_report *q = &c->features[i];
        int by_distance = c->has_distance && (r->atoms_too_close > 0 || r->volume_outside);
        int by_features = c->has_features && q->atoms_outside > 0;
        close_frames += r->atoms_too_close > 0;
        close_atoms += r->atoms_too_close;
        volume_frames += r->volume_outside;
        outside += by_distance;
        feature_frames += by_features;
        feature_atoms += q->atoms_outside;
        either += by_distance || by_features;
        if (c->has_distance && r->closest_ratio < worst_ratio) {
            worst_ratio = r->closest_ratio;
            worst = i;
        }
        if (c->has_features && q->largest_excess > worst_excess) {
            worst_excess = q->largest_excess;
            worst_feature = i;
        }
    }
    if (c->has_distance) {
        printf("\ncoverage:    %d of %d frames outside the training data (%d with atoms closer than %.3g times the\n"
               "             shortest trained distance of their pair, %lld such atoms;\n"
               "             %d with a volume per atom outside the trained range)\n",
               outside, s->n, close_frames, 1.0 - args->distance_margin, close_atoms, volume_frames);
        if (worst >= 0) {
            const gbnet_frame *f = &s->frames[worst];
            printf("closest:     %.3f of the shortest trained distance (0: a pair never trained), frame %d (%s:%d)\n",
                   worst_ratio, worst, f->source ? f->source : "?", f->line);
        }
    }
    if (c->features_stale)
        printf("features:    the readout-input record was measured on other weights (stale): not checked\n");
    else if (!c->has_features)
        printf("features:    the potential holds no record of its readout's input ranges: not checked\n");
    else {
        const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
        printf("features:    %d of %d frames with atoms outside the readout's trained input range by more than\n"
               "             %.3g times a channel's range (%lld such atoms)\n",
               feature_frames, s->n, args->feature_margin, feature_atoms);
        if (worst_feature >= 0 && worst_excess > 0.0) {
            const gbnet_feature_report *q = &c->features[worst_feature];
            const gbnet_frame *f = &s->frames[worst_feature];
            if (q->largest_channel < 0)
                printf("farthest:    atom %d (%s, never in training), frame %d (%s:%d)\n", q->largest_atom,
                       gbnet_element_symbol(hp->atomic_numbers[q->largest_element]), worst_feature,
                       f->source ? f->source : "?", f->line);
            else
                printf("farthest:    %.3f ranges outside, atom %d (%s) channel %d, frame %d (%s:%d)\n", worst_excess,
                       q->largest_atom, gbnet_element_symbol(hp->atomic_numbers[q->largest_element]),
                       q->largest_channel, worst_feature, f->source ? f->source : "?", f->line);
        }
    }
    if (c->has_distance && c->has_features)
        printf("either:      %d of %d frames flagged by the distance or the feature check\n", either, s->n);
}

/* One line per frame of both checks (nan/-1 where a record is missing). */
static int write_coverage(const char *path, const eval_set *s, const coverage_results *c) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("eval", "cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "# %8s %12s %10s %10s %14s %10s %8s %8s %8s  %s\n", "frame", "closest", "too_close", "volume_out",
            "feature_excess", "feat_out", "atom", "element", "channel", "source:line");
    for (int i = 0; i < s->n; ++i) {
        const gbnet_coverage_report *r = &c->distance[i];
        const gbnet_feature_report *q = &c->features[i];
        const gbnet_frame *fr = &s->frames[i];
        fprintf(f, "  %8d %12.6f %10d %10d %14.6e %10d %8d %8d %8d  %s:%d\n", i,
                c->has_distance ? r->closest_ratio : NAN, c->has_distance ? r->atoms_too_close : -1,
                c->has_distance ? r->volume_outside : -1, c->has_features ? q->largest_excess : NAN,
                c->has_features ? q->atoms_outside : -1, c->has_features ? q->largest_atom : -1,
                c->has_features ? q->largest_element : -1, c->has_features ? q->largest_channel : -1,
                fr->source ? fr->source : "?", fr->line);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return cli_error("eval", "writing '%s' failed", path);
    return CLI_EXIT_OK;
}

static int write_deviations(const char *path, const eval_set *s) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("eval", "cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "# %10s %14s %14s %14s %14s %14s %14s %14s %14s %14s  %s\n", "frame", "max_devi_v", "min_devi_v",
            "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f", "devi_e", "err_e", "rmse_f", "source:line");
    for (int i = 0; i < s->n; ++i) {
        const gbnet_frame *fr = &s->frames[i];
        const gbnet_committee_deviation *d = &s->deviations[i];
        double err_e = fr->has_energy && fr->n_atoms > 0 ? (s->energy[i] - fr->energy) / fr->n_atoms : NAN;
        double rmse_f = NAN;
        if (fr->forces && fr->n_atoms > 0) {
            double sum = 0.0;
            for (int k = 0; k < 3 * fr->n_atoms; ++k)
                sum += (s->forces[i][k] - fr->forces[k]) * (s->forces[i][k] - fr->forces[k]);
            rmse_f = sqrt(sum / (3.0 * fr->n_atoms));
        }
        fprintf(f, "  %10d %14.6e %14.6e %14.6e %14.6e %14.6e %14.6e %14.6e %14.6e %14.6e  %s:%d\n", i,
                d->virial_deviation_max, d->virial_deviation_min, d->virial_deviation_mean, d->force_deviation_max,
                d->force_deviation_min, d->force_deviation_mean, d->energy_deviation, err_e, rmse_f,
                fr->source ? fr->source : "?", fr->line);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return cli_error("eval", "writing '%s' failed", path);
    return CLI_EXIT_OK;
}

int cmd_eval(int argc, char **argv) {
    eval_args args;
    int rc = parse_args(&args, argc, argv);
    if (rc < 0) return CLI_EXIT_OK; /* help printed */
    if (rc != CLI_EXIT_OK) return rc;

    gbnet_committee *committee = NULL;
    gbnet_status status = gbnet_committee_load(&committee, args.model_path);
    if (status) return cli_library_error("eval", status);
    int n_members = gbnet_committee_size(committee);
    if (args.member >= n_members) {
        gbnet_committee_free(committee);
        return cli_usage_error("eval", "--member %d: %s holds %d member%s (0..%d)", args.member, args.model_path,
                               n_members, n_members == 1 ? "" : "s", n_members - 1);
    }
    if (args.deviations_path && n_members < 2) {
        gbnet_committee_free(committee);
        return cli_usage_error("eval", "--write-deviations needs a committee file; %s holds a single model",
                               args.model_path);
    }
    const gbnet_model *model = gbnet_committee_member(committee, args.member > 0 ? args.member : 0);
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    eval_set set;
    memset(&set, 0, sizeof set);
    evaluator ev = {NULL, NULL};
    for (int d = 0; d < args.n_data && rc == CLI_EXIT_OK; ++d) {
        status = gbnet_dataset_read(&ds, args.data[d]);
        if (status) rc = cli_library_error("eval", status);
    }
    if (rc == CLI_EXIT_OK) rc = prepare(&set, &args, &ds, gbnet_model_hyperparams(model));
    if (rc == CLI_EXIT_OK && n_members > 1) {
        set.deviations = calloc((size_t)set.n, sizeof *set.deviations);
        if (!set.deviations) rc = cli_error("eval", "out of memory");
    }
    if (rc == CLI_EXIT_OK && args.precision == GBNET_DOUBLE && gbnet_model_quantization(model) != GBNET_QUANT_NONE)
        fprintf(stderr, "gbnet eval: note: the model's %s dense layers run with --precision float only; double "
                        "evaluates the float model\n", gbnet_quant_mode_name(gbnet_model_quantization(model)));
    if (rc == CLI_EXIT_OK) {
        if (n_members > 1) {
            status = gbnet_committee_workspace_create(&ev.cws, committee, args.precision);
            if (!status) status = gbnet_committee_workspace_set_output(ev.cws, args.member);
            if (!status) gbnet_committee_workspace_set_threads(ev.cws, args.threads);
        } else {
            status = gbnet_workspace_create(&ev.ws, model, args.precision);
            if (!status) gbnet_workspace_set_threads(ev.ws, args.threads);
        }
        if (status) rc = cli_library_error("eval", status);
    }
    double seconds = 0.0;
    int n_calls = 0;
    if (rc == CLI_EXIT_OK) rc = evaluate_all(&set, &ev, args.batch, &seconds, &n_calls);
    if (rc == CLI_EXIT_OK) print_report(&args, model, &set, seconds, n_calls);
    if (rc == CLI_EXIT_OK && n_members > 1) print_committee_report(&args, n_members, &set);
    coverage_results coverage;
    memset(&coverage, 0, sizeof coverage);
    if (rc == CLI_EXIT_OK) rc = check_coverage(&coverage, model, &args, &set);
    if (rc == CLI_EXIT_OK) print_coverage_report(model, &args, &set, &coverage);
    if (rc == CLI_EXIT_OK && args.predictions_path) {
        status = gbnet_write_extxyz(args.predictions_path, set.frames, set.n, set.energy,
                                 (const double *const *)set.forces, set.virial);
        if (status) rc = cli_library_error("eval", status);
        else printf("predictions: %s\n", args.predictions_path);
    }
    if (rc == CLI_EXIT_OK && args.deviations_path) {
        rc = write_deviations(args.deviations_path, &set);
        if (rc == CLI_EXIT_OK) printf("deviations:  %s\n", args.deviations_path);
    }
    if (rc == CLI_EXIT_OK && args.coverage_path) {
        rc = write_coverage(args.coverage_path, &set, &coverage);
        if (rc == CLI_EXIT_OK) printf("coverage to: %s\n", args.coverage_path);
    }
    coverage_results_free(&coverage);
    gbnet_workspace_free(ev.ws);
    gbnet_committee_workspace_free(ev.cws);
    eval_set_free(&set);
    gbnet_dataset_free(&ds);
    gbnet_committee_free(committee);
    return rc;
}
