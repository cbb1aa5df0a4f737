/* gbnet init: a model with random weights, optionally with reference
 * energies and normalization fitted on a dataset. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet_data.h"
#include "gbnet.h"
#include "gbnet_train.h"

static const char *const init_help =
    "Usage: gbnet init --elements LIST -o MODEL.gbnet [options]\n"
    "\n"
    "Creates a SchNet model with random weights (deterministic for a seed), for\n"
    "tests, benchmarks, or as the starting point of training.\n"
    "\n"
    "Required:\n"
    "  --elements LIST     chemical symbols in model order, comma separated (e.g. O,H)\n"
    "  -o, --output FILE   potential file to write\n"
    "\n"
    "Options:\n"
    "  --features F        feature width (default 128)\n"
    "  --blocks T          interaction blocks (default 3, at most 16)\n"
    "  --rbf K             Gaussian radial basis functions (default 50)\n"
    "  --readout R         hidden width of the readout MLP (default F/2)\n"
    "  --cutoff RC         cutoff radius in Angstrom (default 5.0)\n"
    "  --seed S            random seed (default 1)\n"
    "  --reference DATA    fit per-element reference energies e_ref by least squares\n"
    "                      on DATA (extxyz file or DeePMD folder), and set the\n"
    "                      energy shift/scale to the mean/std of the per-atom\n"
    "                      residual energies, so that predictions are in range\n"
    "  -h, --help          show this help\n"
    "\n"
    "Without --reference: scale 1, shift 0, e_ref 0. The date and command line\n"
    "are stored as provenance (see gbnet info).\n";

enum { OPT_ELEMENTS, OPT_OUTPUT, OPT_FEATURES, OPT_BLOCKS, OPT_RBF, OPT_READOUT, OPT_CUTOFF, OPT_SEED,
       OPT_REFERENCE, OPT_HELP };

static const cli_option init_options[] = {
    [OPT_ELEMENTS] = {"elements", 0, 1}, [OPT_OUTPUT] = {"output", 'o', 1},   [OPT_FEATURES] = {"features", 0, 1},
    [OPT_BLOCKS] = {"blocks", 0, 1},     [OPT_RBF] = {"rbf", 0, 1},           [OPT_READOUT] = {"readout", 0, 1},
    [OPT_CUTOFF] = {"cutoff", 0, 1},     [OPT_SEED] = {"seed", 0, 1},         [OPT_REFERENCE] = {"reference", 0, 1},
    [OPT_HELP] = {"help", 'h', 0},
};

/* Parses "O,H" into hp's element list; prints a usage error and returns 0 on
 * a bad list. */
static int parse_elements(const char *list, gbnet_hyperparams *hp) {
    hp->n_elements = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char symbol[8];
        if (len == 0 || len >= sizeof symbol) {
            cli_usage_error("init", "--elements expects chemical symbols separated by commas (e.g. O,H), got '%s'",
                            list);
            return 0;
        }
        memcpy(symbol, p, len);
        symbol[len] = '\0';
        int z = gbnet_atomic_number(symbol);
        if (z == 0) {
            cli_usage_error("init", "--elements: '%s' is not a chemical symbol", symbol);
            return 0;
        }
        for (int e = 0; e < hp->n_elements; ++e)
            if (hp->atomic_numbers[e] == z) {
                cli_usage_error("init", "--elements: %s is listed twice", symbol);
                return 0;
            }
        if (hp->n_elements == GBNET_MAX_ELEMENTS) {
            cli_usage_error("init", "--elements: at most %d elements", GBNET_MAX_ELEMENTS);
            return 0;
        }
        hp->atomic_numbers[hp->n_elements++] = z;
        if (!end) return 1;
        p = end + 1;
    }
}

/* Fits reference energies on data and stores them in the model; appends a
 * provenance line to note. */
static int apply_reference(gbnet_model *model, const char *data, char *note, size_t note_size) {
    gbnet_dataset ds;
    memset(&ds, 0, sizeof ds);
    gbnet_status status = gbnet_dataset_read(&ds, data);
    if (status) {
        gbnet_dataset_free(&ds);
        return cli_library_error("init", status);
    }
    gbnet_reference_fit fit;
    status = gbnet_fit_reference_energies(&fit, &ds, gbnet_model_hyperparams(model));
    gbnet_dataset_free(&ds);
    if (status) return cli_error("init", "--reference %s: %s", data, gbnet_last_error());
    status = gbnet_model_set_normalization(model, fit.scale, fit.shift, fit.e_ref);
    if (status) return cli_library_error("init", status);
    if (fit.rank_deficient)
        fprintf(stderr,
                "gbnet init: note: the compositions in %s do not determine every element's reference energy\n"
                "  separately (e.g. all frames have the same stoichiometry); using the solution\n"
                "  closest to equal per-atom references (as gbnet train does), which fits the total\n"
                "  energies equally well.\n",
                data);
    if (fit.scale_defaulted)
        fprintf(stderr, "gbnet init: note: the per-atom residual energies have no spread; energy scale set to 1 eV\n");
    snprintf(note, note_size, "reference energies: least squares on %s (%d frames)%s\n", data, fit.n_frames,
             fit.rank_deficient ? ", closest to equal (compositions dependent)" : "");
    return CLI_EXIT_OK;
}

static char *make_provenance(int argc, char **argv, const char *note) {
    char date[64];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    char *command = cli_join_arguments(argc, argv);
    if (!command) return NULL;
    size_t size = strlen(command) + strlen(note) + 256;
    char *text = malloc(size);
    if (text)
        snprintf(text, size, "created: %s by gbnet %s init (random weights)\ncommand: gbnet %s\n%s", date,
                 gbnet_version(), command, note);
    free(command);
    return text;
}

int cmd_init(int argc, char **argv) {
    gbnet_hyperparams hp;
    gbnet_hyperparams_default(&hp);
    const char *output = NULL, *reference = NULL;
    int have_elements = 0, readout_given = 0;
    uint64_t seed = 1;
    cli_parser parser;
    cli_parser_init(&parser, "init", argc, argv, init_options, (int)(sizeof init_options / sizeof init_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        int ok = 1;
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case CLI_POSITIONAL: return cli_usage_error("init", "unexpected argument '%s'", value);
        case OPT_HELP: fputs(init_help, stdout); return CLI_EXIT_OK;
        case OPT_ELEMENTS: ok = have_elements = parse_elements(value, &hp); break;
        case OPT_OUTPUT: output = value; break;
        case OPT_FEATURES: ok = cli_parse_int("init", "--features", value, 1, 4096, &hp.n_features); break;
        case OPT_BLOCKS: ok = cli_parse_int("init", "--blocks", value, 1, GBNET_MAX_BLOCKS, &hp.n_blocks); break;
        case OPT_RBF: ok = cli_parse_int("init", "--rbf", value, 2, 1024, &hp.n_rbf); break;
        case OPT_READOUT:
            ok = readout_given = cli_parse_int("init", "--readout", value, 1, 4096, &hp.readout_width);
            break;
        case OPT_CUTOFF: ok = cli_parse_double("init", "--cutoff", value, 1e-3, 100.0, &hp.cutoff); break;
        case OPT_SEED: ok = cli_parse_u64("init", "--seed", value, &seed); break;
        case OPT_REFERENCE: reference = value; break;
        }
        if (!ok) return CLI_EXIT_USAGE;
    }
    if (!have_elements) return cli_usage_error("init", "missing --elements (e.g. --elements O,H)");
    if (!output) return cli_usage_error("init", "missing -o MODEL.gbnet");
    if (!readout_given) hp.readout_width = hp.n_features / 2 > 0 ? hp.n_features / 2 : 1;

    gbnet_model *model = NULL;
    gbnet_status status = gbnet_model_create(&model, &hp, seed);
    if (status) return cli_library_error("init", status);
    char note[1024] = "";
    int rc = reference ? apply_reference(model, reference, note, sizeof note) : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) {
        char *provenance = make_provenance(argc, argv, note);
        status = provenance ? gbnet_model_set_provenance(model, provenance) : GBNET_ERR_NO_MEMORY;
        free(provenance);
        if (!status) status = gbnet_model_save(model, output);
        if (status) rc = cli_library_error("init", status);
    }
    if (rc == CLI_EXIT_OK) {
        char elements[4 * GBNET_MAX_ELEMENTS + 1];
        gbnet_format_elements(elements, sizeof elements, &hp);
        printf("wrote %s: elements %s, F=%d T=%d K=%d R=%d rc=%g A, %zu parameters\n", output, elements,
               hp.n_features, hp.n_blocks, hp.n_rbf, hp.readout_width, hp.cutoff, gbnet_model_n_params(model));
    }
    gbnet_model_free(model);
    return rc;
}
