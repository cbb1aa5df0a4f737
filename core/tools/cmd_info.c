/* gbnet info: what a potential file holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"

static const char *const info_help =
    "Usage: gbnet info MODEL.gbnet\n"
    "\n"
    "Prints the potential file's format version, elements, hyperparameters\n"
    "(F features, T blocks, K radial basis functions, R readout width, rc\n"
    "cutoff), units, energy normalization (scale, shift, per-element reference\n"
    "energies: E_i = scale * eps_i + shift + e_ref[element]), number of\n"
    "parameters, whether the filters are tabulated, whether the dense layers are\n"
    "quantized, and the provenance.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n";

enum { OPT_HELP };
static const cli_option info_options[] = {[OPT_HELP] = {"help", 'h', 0}};

static void print_repulsion(const gbnet_model *model);
static void print_coverage(const gbnet_model *model);
static void print_feature_ranges(const gbnet_model *model);

static void print_info(const char *path, const gbnet_model *model) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    double scale, shift, e_ref[GBNET_MAX_ELEMENTS];
    gbnet_model_get_normalization(model, &scale, &shift, e_ref);
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;

    printf("file:            %s (%lld bytes)\n", path, bytes);
    /* gbnet_model_load accepts only this version, so it is the file's */
    printf("format version:  %u\n", (unsigned)GBNET_POTENTIAL_FORMAT_VERSION);
    printf("elements:        %d:", hp->n_elements);
    for (int e = 0; e < hp->n_elements; ++e) printf(" %s", gbnet_element_symbol(hp->atomic_numbers[e]));
    printf("\n");
    printf("features F:      %d\n", hp->n_features);
    printf("blocks T:        %d\n", hp->n_blocks);
    printf("rbf K:           %d\n", hp->n_rbf);
    printf("readout R:       %d\n", hp->readout_width);
    printf("cutoff rc:       %.10g Angstrom\n", hp->cutoff);
    printf("units:           metal (Angstrom, eV, eV/Angstrom)\n");
    printf("energy scale:    %.15g eV\n", scale);
    printf("energy shift:    %.15g eV/atom\n", shift);
    printf("reference energies (eV):\n");
    for (int e = 0; e < hp->n_elements; ++e)
        printf("  %-3s %.15g\n", gbnet_element_symbol(hp->atomic_numbers[e]), e_ref[e]);
    printf("parameters:      %zu\n", gbnet_model_n_params(model));
    char ranks[2048];
    cli_format_ranks(ranks, sizeof ranks, model);
    printf("dense layers:    %s\n", ranks);
    if (gbnet_model_is_tabulated(model))
        printf("filters:         tabulated (%d grid points per block, cubic Hermite)\n", gbnet_model_table_points(model));
    else
        printf("filters:         exact (filter networks evaluated)\n");
    gbnet_quant_mode qm = gbnet_model_quantization(model);
    if (qm == GBNET_QUANT_BF16)
        printf("quantization:    bf16 (weights and inputs bfloat16, float sums; single precision only; %s "
               "kernels here)\n", gbnet_quant_kernels(qm));
    else if (qm == GBNET_QUANT_INT8) {
        int layers = 3 * hp->n_blocks + 1;
        double lo = gbnet_model_quant_clip(model, 0), hi = lo;
        for (int l = 1; l < layers; ++l) {
            double c = gbnet_model_quant_clip(model, l);
            lo = c < lo ? c : lo;
            hi = c > hi ? c : hi;
        }
        printf("quantization:    int8 (weights per output channel, inputs clipped at %.3g..%.3g; single precision "
               "only; %s kernels here)\n", lo, hi, gbnet_quant_kernels(qm));
    } else
        printf("quantization:    none\n");
    print_repulsion(model);
    print_coverage(model);
    print_feature_ranges(model);
    const char *provenance = gbnet_model_provenance(model);
    printf("provenance:%s", provenance[0] ? "\n" : " (none)\n");
    /* indent each provenance line so the block is visibly one field */
    for (const char *line = provenance; *line;) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        printf("  %.*s\n", len, line);
        line += len + (end ? 1 : 0);
    }
}

/* The repulsive core's radii per element pair (docs/model.md section 7). */
static void print_repulsion(const gbnet_model *model) {
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    int n = hp->n_elements;
    double inner[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS], outer[GBNET_MAX_ELEMENTS * GBNET_MAX_ELEMENTS];
    if (!gbnet_model_zbl(model, inner, outer)) {
        printf("repulsive core:  none\n");
        return;
    }
    printf("repulsive core:  ZBL, switched to 0 between inner and outer radius (Angstrom):\n");
    for (int a = 0; a < n; ++a)
        for (int b = a; b < n; ++b)
            printf("  %-2s-%-2s %.4f - %.4f\n", gbnet_element_symbol(hp->atomic_numbers[a]),
                   gbnet_element_symbol(hp->atomic_numbers[b]), inner[a * n + b], outer[a * n + b]);
}

/* What the training data covered (section COVR). */
static void print_coverage(const gbnet_model *model) {
    const gbnet_coverage *c = gbnet_model_coverage(model);
    if (!c) {
        printf("training coverage: not recorded\n");
        return;
    }
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    printf("training coverage: %d frames; labels fitted:%s%s%s\n", c->n_frames, c->trained_energies ? " energies" : "",
           c->trained_forces ? " forces" : "", c->trained_stresses ? " stresses" : "");
    if (c->n_periodic > 0)
        printf("  volume per atom: %.4f - %.4f Angstrom^3 (%d periodic frames)\n", c->volume_per_atom_min,
               c->volume_per_atom_max, c->n_periodic);
    else
        printf("  volume per atom: no periodic frames\n");
    printf("  shortest distance (Angstrom):\n");
    for (int a = 0; a < hp->n_elements; ++a)
        for (int b = a; b < hp->n_elements; ++b) {
            double d = c->shortest_distance[a][b];
            if (d > 0)
                printf("    %-2s-%-2s %.4f\n", gbnet_element_symbol(hp->atomic_numbers[a]),
                       gbnet_element_symbol(hp->atomic_numbers[b]), d);
            else
                printf("    %-2s-%-2s none within the cutoff\n", gbnet_element_symbol(hp->atomic_numbers[a]),
                       gbnet_element_symbol(hp->atomic_numbers[b]));
        }
}

/* What the readout was fitted on (section FRNG): per element the atoms and
 * the spread of the channels' trained ranges. */
static void print_feature_ranges(const gbnet_model *model) {
    int stale = 0;
    const gbnet_feature_ranges *r = gbnet_model_feature_ranges(model, &stale);
    if (!r) {
        printf("readout-input ranges: not recorded\n");
        return;
    }
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    printf("readout-input ranges: %d elements x %d channels%s\n", r->n_elements, r->n_features,
           stale ? " (STALE: measured on other weights; not used by the checks)" : "");
    for (int e = 0; e < r->n_elements; ++e) {
        const char *symbol = gbnet_element_symbol(hp->atomic_numbers[e]);
        if (r->atoms[e] == 0) {
            printf("  %-2s never in training\n", symbol);
            continue;
        }
        double lo = HUGE_VAL, hi = -HUGE_VAL, narrow = HUGE_VAL, wide = 0.0;
        for (int c = 0; c < r->n_features; ++c) {
            double a = r->min[(size_t)e * r->n_features + c], b = r->max[(size_t)e * r->n_features + c];
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
            narrow = b - a < narrow ? b - a : narrow;
            wide = b - a > wide ? b - a : wide;
        }
        printf("  %-2s %lld atoms; values %.4g to %.4g; channel ranges %.4g to %.4g wide\n", symbol, r->atoms[e], lo,
               hi, narrow, wide);
    }
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    cli_parser parser;
    cli_parser_init(&parser, "info", argc, argv, info_options, 1);
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(info_help, stdout); return CLI_EXIT_OK;
        case CLI_POSITIONAL:
            if (path) return cli_usage_error("info", "unexpected argument '%s' (one model file expected)", value);
            path = value;
            break;
        }
    }
    if (!path) return cli_usage_error("info", "missing MODEL.gbnet");
    gbnet_committee *committee = NULL;
    gbnet_status status = gbnet_committee_load(&committee, path);
    if (status) return cli_library_error("info", status);
    print_info(path, gbnet_committee_member(committee, 0));
    int members = gbnet_committee_size(committee);
    if (members > 1) {
        printf("committee:       %d members (the lines above describe member 0)\n", members);
        for (int m = 0; m < members; ++m) {
            const gbnet_model *model = gbnet_committee_member(committee, m);
            const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
            printf("  member %-2d      F=%d T=%d K=%d R=%d, %zu parameters, filters %s\n", m, hp->n_features,
                   hp->n_blocks, hp->n_rbf, hp->readout_width, gbnet_model_n_params(model),
                   gbnet_model_is_tabulated(model) ? "tabulated" : "exact");
        }
    }
    gbnet_committee_free(committee);
    return CLI_EXIT_OK;
}
