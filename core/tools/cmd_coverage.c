/* gbnet coverage: record in a potential file what its training data covered
 * (section COVR), for potentials trained before gbnet train wrote it, so that
 * gbnet eval and pair_style gbnet can warn when a system leaves that data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"
#include "gbnet_data.h"

static const char *const coverage_help =
    "Usage: gbnet coverage IN.gbnet DATA... -o OUT.gbnet [options]\n"
    "\n"
    "Measures what DATA (the potential's training frames: extended XYZ files or\n"
    "DeePMD folders) covers, as gbnet train records it: the shortest distance of\n"
    "every element pair within the cutoff, and the range of volume per atom of\n"
    "the cells periodic in all three directions; which labels were fitted is\n"
    "taken from the labels the frames hold (energies, forces, stresses); and the\n"
    "range of the readout's input (the atom features after the last interaction\n"
    "block) per element and channel, by the potential's own network (section\n"
    "FRNG; recorded again here after the network changed, e.g. by gbnet prune or\n"
    "compress). Writes IN with those records as OUT (everything else unchanged;\n"
    "OUT may be IN), and prints them. gbnet eval then counts frames outside them,\n"
    "and pair_style gbnet warns in MD when atoms come closer, the density leaves\n"
    "the range or the readout's input leaves its trained range.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     the potential file to write (required)\n"
    "  --subset KEY=PATTERN  only frames whose metadata KEY matches PATTERN\n"
    "                        (shell wildcards; repeat to require several): give\n"
    "                        the training frames, not the validation ones\n"
    "  -h, --help            show this help\n";

enum { OPT_OUTPUT, OPT_SUBSET, OPT_HELP };
static const cli_option coverage_options[] = {
    [OPT_OUTPUT] = {"output", 'o', 1}, [OPT_SUBSET] = {"subset", 0, 1}, [OPT_HELP] = {"help", 'h', 0}};

#define COVERAGE_MAX_INPUTS 64

typedef struct {
    const char *model_path, *output;
    const char *data[COVERAGE_MAX_INPUTS];
    int n_data;
    cli_frame_filters filters;
} coverage_args;

static int parse_args(coverage_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    cli_parser parser;
    cli_parser_init(&parser, "coverage", argc, argv, coverage_options,
                    (int)(sizeof coverage_options / sizeof coverage_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(coverage_help, stdout); return -1;
        case CLI_POSITIONAL:
            if (!a->model_path) a->model_path = value;
            else if (a->n_data < COVERAGE_MAX_INPUTS) a->data[a->n_data++] = value;
            else return cli_usage_error("coverage", "at most %d DATA inputs", COVERAGE_MAX_INPUTS);
            break;
        case OPT_OUTPUT: a->output = value; break;
        case OPT_SUBSET:
            if (cli_add_frame_filter("coverage", &a->filters, value)) return CLI_EXIT_USAGE;
            break;
        }
    }
    if (!a->model_path || a->n_data == 0) return cli_usage_error("coverage", "need IN.gbnet and at least one DATA");
    if (!a->output) return cli_usage_error("coverage", "need -o OUT.gbnet (it may be IN.gbnet itself)");
    return CLI_EXIT_OK;
}

static void print_record(const gbnet_model *model, const gbnet_coverage *c) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    printf("frames:      %d (%d periodic in 3 directions)\n", c->n_frames, c->n_periodic);
    printf("labels:      energies %s, forces %s, stresses %s\n", c->trained_energies ? "yes" : "no",
           c->trained_forces ? "yes" : "no", c->trained_stresses ? "yes" : "no");
    if (c->n_periodic)
        printf("volume:      %.4g to %.4g A^3 per atom\n", c->volume_per_atom_min, c->volume_per_atom_max);
    printf("shortest:   ");
    for (int a = 0; a < hp->n_elements; ++a)
        for (int b = a; b < hp->n_elements; ++b) {
            double d = c->shortest_distance[a][b];
            printf(" %s-%s ", gbnet_element_symbol(hp->atomic_numbers[a]), gbnet_element_symbol(hp->atomic_numbers[b]));
            if (d > 0.0) printf("%.3f A", d);
            else printf("never within %g A", hp->cutoff);
            printf("%s", a == hp->n_elements - 1 && b == a ? "\n" : ";");
        }
}

int cmd_coverage(int argc, char **argv) {
    coverage_args a;
    int rc = parse_args(&a, argc, argv);
    if (rc < 0) return CLI_EXIT_OK;
    if (rc) return rc;
    gbnet_model *model = NULL;
    if (cli_refuse_committee("coverage", a.model_path, "record each member's coverage before joining them"))
        return CLI_EXIT_ERROR;
    gbnet_status st = gbnet_model_load(&model, a.model_path);
    if (st) return cli_library_error("coverage", st);
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    for (int d = 0; d < a.n_data && !st; ++d) st = gbnet_dataset_read(&ds, a.data[d]);
    cli_structures cs;
    memset(&cs, 0, sizeof cs);
    int has_energy = 0, has_forces = 0, has_stress = 0;
    if (st) rc = cli_library_error("coverage", st);
    if (!rc) rc = cli_structures_from_frames("coverage", &cs, &ds, &a.filters, model, 0);
    for (int k = 0; !rc && k < cs.n; ++k) {
        const gbnet_frame *fr = &ds.frames[cs.frame[k]];
        has_energy |= fr->has_energy;
        has_forces |= fr->forces != NULL;
        has_stress |= fr->has_virial && fr->has_cell;
    }
    int n = cs.n;
    if (!rc && n == 0) rc = cli_error("coverage", a.filters.n ? "no frame matches the --subset filter(s)" : "no frames");
    gbnet_coverage c;
    if (!rc && (st = gbnet_coverage_measure(model, n, cs.structures, &c))) rc = cli_library_error("coverage", st);
    if (!rc) {
        c.trained_energies = has_energy;
        c.trained_forces = has_forces;
        c.trained_stresses = has_stress;
        st = gbnet_model_set_coverage(model, &c);
        if (!st) st = gbnet_model_record_feature_ranges(model, n, cs.structures);
        if (!st) st = gbnet_model_save(model, a.output);
        if (st) rc = cli_library_error("coverage", st);
    }
    if (!rc) {
        print_record(model, &c);
        const gbnet_feature_ranges *r = gbnet_model_feature_ranges(model, NULL);
        printf("features:   ");
        for (int e = 0; e < r->n_elements; ++e)
            printf(" %s %lld atoms%s", gbnet_element_symbol(gbnet_model_hyperparams(model)->atomic_numbers[e]),
                   r->atoms[e], e + 1 < r->n_elements ? ";" : "");
        printf(" (readout-input ranges of %d channels)\n", r->n_features);
        printf("written:     %s\n", a.output);
    }
    cli_structures_free(&cs);
    gbnet_dataset_free(&ds);
    gbnet_model_free(model);
    return rc;
}
