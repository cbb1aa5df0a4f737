/* gbnet prune: structured pruning to a smaller ordinary model (gbnet_model_prune),
 * channels chosen by their importance measured on data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"
#include "gbnet_data.h"

static const char *const prune_help =
    "Usage: gbnet prune IN.gbnet OUT.gbnet --features F [options] --data DATA...\n"
    "\n"
    "Structured pruning (docs/compression.md): keeps the F most important channels\n"
    "of every feature space (the residual stream, and per block the cfconv\n"
    "channels, the output MLP's hidden layer and the filter network's hidden\n"
    "layer) and the most important readout neurons, so OUT is an ordinary,\n"
    "smaller model and every dense layer and every edge costs less. Importance is\n"
    "measured on DATA: the spread of a channel's activation over its atoms (or\n"
    "edges) times the norm of the weights that read it; a removed channel's mean\n"
    "is folded into the next bias. Fine-tune OUT afterwards on the training data:\n"
    "  gbnet train CONFIG --set init_from=OUT.gbnet --set features=F --set readout=R\n"
    "  (and --set blocks=T if blocks were removed)\n"
    "\n"
    "Options:\n"
    "  --features F          channels to keep in every feature space (1..model F)\n"
    "  --readout R           readout neurons to keep (default: the model's R scaled\n"
    "                        by F / model F, at least 1)\n"
    "  --blocks T            interaction blocks to keep (default: all); the blocks\n"
    "                        that change the residual stream least are removed\n"
    "  --data DATA           frames to measure importance on (extxyz or DeePMD\n"
    "                        folder; repeatable; the training frames are best)\n"
    "  --subset KEY=PATTERN  only frames whose KEY matches PATTERN (repeatable)\n"
    "  --max-frames N        measure on at most N frames (default 200)\n"
    "  --tabulate            tabulate the pruned model's filters (gbnet compress)\n"
    "  --points N            grid points per block with --tabulate (default 1001)\n"
    "  -h, --help            show this help\n";

enum { OPT_FEATURES, OPT_READOUT, OPT_BLOCKS, OPT_DATA, OPT_SUBSET, OPT_MAX_FRAMES, OPT_TABULATE, OPT_POINTS, OPT_HELP };
static const cli_option prune_options[] = {
    [OPT_FEATURES] = {"features", 0, 1}, [OPT_READOUT] = {"readout", 0, 1},   [OPT_BLOCKS] = {"blocks", 0, 1}, [OPT_DATA] = {"data", 0, 1},
    [OPT_SUBSET] = {"subset", 0, 1},     [OPT_MAX_FRAMES] = {"max-frames", 0, 1},
    [OPT_TABULATE] = {"tabulate", 0, 0}, [OPT_POINTS] = {"points", 0, 1},     [OPT_HELP] = {"help", 'h', 0}};

#define PRUNE_MAX_DATA 16

typedef struct {
    const char *in, *out;
    const char *data[PRUNE_MAX_DATA];
    int n_data, features, readout, blocks, max_frames, tabulate, points;
    cli_frame_filters filters;
} prune_args;

static int parse_args(prune_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->max_frames = 200;
    a->points = GBNET_DEFAULT_TABLE_POINTS;
    cli_parser parser;
    cli_parser_init(&parser, "prune", argc, argv, prune_options, (int)(sizeof prune_options / sizeof prune_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(prune_help, stdout); return -1;
        case OPT_FEATURES:
            if (!cli_parse_int("prune", "--features", value, 1, 100000, &a->features)) return CLI_EXIT_USAGE;
            break;
        case OPT_READOUT:
            if (!cli_parse_int("prune", "--readout", value, 1, 100000, &a->readout)) return CLI_EXIT_USAGE;
            break;
        case OPT_BLOCKS:
            if (!cli_parse_int("prune", "--blocks", value, 1, 100000, &a->blocks)) return CLI_EXIT_USAGE;
            break;
        case OPT_DATA:
            if (a->n_data == PRUNE_MAX_DATA) return cli_usage_error("prune", "at most %d --data inputs", PRUNE_MAX_DATA);
            a->data[a->n_data++] = value;
            break;
        case OPT_SUBSET:
            if (cli_add_frame_filter("prune", &a->filters, value)) return CLI_EXIT_USAGE;
            break;
        case OPT_MAX_FRAMES:
            if (!cli_parse_int("prune", "--max-frames", value, 1, 100000000, &a->max_frames)) return CLI_EXIT_USAGE;
            break;
        case OPT_TABULATE: a->tabulate = 1; break;
        case OPT_POINTS:
            if (!cli_parse_int("prune", "--points", value, 16, 1000000, &a->points)) return CLI_EXIT_USAGE;
            break;
        case CLI_POSITIONAL:
            if (!a->in) a->in = value;
            else if (!a->out) a->out = value;
            else return cli_usage_error("prune", "unexpected argument '%s'", value);
            break;
        }
    }
    if (!a->in || !a->out) return cli_usage_error("prune", "expected IN.gbnet and OUT.gbnet");
    if (!a->features) return cli_usage_error("prune", "say how many channels to keep: --features F");
    if (!a->n_data) return cli_usage_error("prune", "give frames to measure importance on: --data DATA");
    return CLI_EXIT_OK;
}

int cmd_prune(int argc, char **argv) {
    prune_args a;
    int rc = parse_args(&a, argc, argv);
    if (rc < 0) return CLI_EXIT_OK;
    if (rc) return rc;
    if (cli_refuse_committee("prune", a.in, "prune a single model (a committee's members would each keep other "
                                            "channels)"))
        return CLI_EXIT_ERROR;
    gbnet_model *model = NULL, *pruned = NULL;
    gbnet_status st = gbnet_model_load(&model, a.in);
    if (st) return cli_library_error("prune", st);
    const gbnet_hyperparams *hp = gbnet_model_hyperparams(model);
    if (a.features > hp->n_features) {
        int F = hp->n_features;
        gbnet_model_free(model);
        return cli_usage_error("prune", "--features %d: the model has %d; expected 1 to %d", a.features, F, F);
    }
    if (!a.readout) {
        a.readout = (int)((long)hp->readout_width * a.features / hp->n_features);
        if (a.readout < 1) a.readout = 1;
    }
    if (a.readout > hp->readout_width) {
        int R = hp->readout_width;
        gbnet_model_free(model);
        return cli_usage_error("prune", "--readout %d: the model's readout has %d neurons; expected 1 to %d", a.readout,
                               R, R);
    }
    if (a.blocks > hp->n_blocks) {
        int T = hp->n_blocks;
        gbnet_model_free(model);
        return cli_usage_error("prune", "--blocks %d: the model has %d; expected 1 to %d", a.blocks, T, T);
    }
    if (!a.blocks) a.blocks = hp->n_blocks;
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    for (int d = 0; d < a.n_data && !st; ++d) st = gbnet_dataset_read(&ds, a.data[d]);
    cli_structures cs;
    memset(&cs, 0, sizeof cs);
    if (st) rc = cli_library_error("prune", st);
    if (!rc) rc = cli_structures_from_frames("prune", &cs, &ds, &a.filters, model, a.max_frames);
    if (!rc && cs.n == 0) rc = cli_error("prune", a.filters.n ? "no frame matches the --subset filter(s)" : "no frames");
    gbnet_prune_report rep;
    double t0 = cli_now();
    gbnet_prune_spec spec = {a.features, a.readout, a.blocks};
    if (!rc && (st = gbnet_model_prune(&pruned, model, &spec, cs.n, cs.structures, &rep)))
        rc = cli_library_error("prune", st);
    if (!rc && a.tabulate && (st = gbnet_model_tabulate(pruned, a.points))) rc = cli_library_error("prune", st);
    if (!rc) {
        printf("importance measured on %d frames (%d atoms) in %.1f s\n", rep.n_structures, rep.n_atoms,
               cli_now() - t0);
        printf("kept: features %d of %d, readout %d of %d, blocks %d of %d; parameters %zu of %zu\n", a.features,
               hp->n_features, a.readout, hp->readout_width, a.blocks, hp->n_blocks, gbnet_model_n_params(pruned),
               gbnet_model_n_params(model));
        if (a.blocks < hp->n_blocks) {
            printf("kept blocks:");
            for (int k = 0; k < a.blocks; ++k) printf(" %d", rep.kept_block[k] + 1);
            printf(" (of 1..%d; %.1f%% of the blocks' measured updates)\n", hp->n_blocks, 100 * rep.blocks);
        }
        printf("share of the measured importance kept:\n");
        printf("  residual stream  %5.1f%%\n  cfconv channels  %5.1f%%\n  block hidden     %5.1f%%\n"
               "  filter hidden    %5.1f%%\n  readout hidden   %5.1f%%\n",
               100 * rep.residual, 100 * rep.conv, 100 * rep.hidden, 100 * rep.filter, 100 * rep.readout);
        const char *old = gbnet_model_provenance(model);
        char *cmdline = cli_join_arguments(argc, argv);
        time_t now = time(NULL);
        char date[64];
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        size_t n = strlen(old) + strlen(cmdline ? cmdline : "") + 256;
        char *prov = malloc(n);
        if (prov) {
            snprintf(prov, n, "%s%spruned %s: gbnet %s; F %d -> %d, readout %d -> %d, blocks %d -> %d, importance on %d frames%s",
                     old, old[0] ? "\n" : "", date, cmdline ? cmdline : "prune", hp->n_features, a.features,
                     hp->readout_width, a.readout, hp->n_blocks, a.blocks, rep.n_structures,
                     a.tabulate ? "; tabulated filters" : "");
            st = gbnet_model_set_provenance(pruned, prov);
        }
        free(prov);
        free(cmdline);
        if (!st) st = gbnet_model_save(pruned, a.out);
        if (st) rc = cli_library_error("prune", st);
        else
            printf("wrote %s: fine-tune it, e.g.\n  gbnet train CONFIG --set init_from=%s --set features=%d --set readout=%d"
                   " --set blocks=%d\n", a.out, a.out, a.features, a.readout, a.blocks);
    }
    cli_structures_free(&cs);
    gbnet_dataset_free(&ds);
    gbnet_model_free(pruned);
    gbnet_model_free(model);
    return rc;
}
