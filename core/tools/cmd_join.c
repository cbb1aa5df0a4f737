/* gbnet join: several potential files (single models or committees) as one
 * committee file, what pair_style gbnet, gbnet eval and gbnet select read as
 * a committee (DeePMD-kit users pass several model files instead). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"

static const char *const join_help =
    "Usage: gbnet join IN.gbnet IN.gbnet... -o OUT.gbnet\n"
    "\n"
    "Writes the models of the IN files, in the order given (the members of a\n"
    "committee file in their order), as one committee file OUT. The members\n"
    "must have the same elements in the same order and the same cutoff; they\n"
    "may differ in everything else (width, depth, tabulation, repulsive core).\n"
    "Member 0 is the first model: what programs that read a single model see,\n"
    "and what pair_style gbnet committee_output 0 integrates with.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE  the committee file to write (required)\n"
    "  -h, --help         show this help\n";

enum { OPT_OUTPUT, OPT_HELP };
static const cli_option join_options[] = {[OPT_OUTPUT] = {"output", 'o', 1}, [OPT_HELP] = {"help", 'h', 0}};

#define JOIN_MAX_INPUTS 64

int cmd_join(int argc, char **argv) {
    const char *inputs[JOIN_MAX_INPUTS], *output = NULL;
    int n_inputs = 0;
    cli_parser parser;
    cli_parser_init(&parser, "join", argc, argv, join_options, (int)(sizeof join_options / sizeof join_options[0]));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(join_help, stdout); return CLI_EXIT_OK;
        case CLI_POSITIONAL:
            if (n_inputs == JOIN_MAX_INPUTS) return cli_usage_error("join", "at most %d IN files", JOIN_MAX_INPUTS);
            inputs[n_inputs++] = value;
            break;
        case OPT_OUTPUT: output = value; break;
        }
    }
    if (n_inputs < 1) return cli_usage_error("join", "need at least one IN.gbnet");
    if (!output) return cli_usage_error("join", "need -o OUT.gbnet");

    gbnet_committee *loaded[JOIN_MAX_INPUTS] = {0};
    const gbnet_model *members[GBNET_MAX_COMMITTEE];
    int n = 0, rc = CLI_EXIT_OK;
    for (int k = 0; k < n_inputs && !rc; ++k) {
        gbnet_status st = gbnet_committee_load(&loaded[k], inputs[k]);
        if (st) {
            rc = cli_library_error("join", st);
            break;
        }
        int size = gbnet_committee_size(loaded[k]);
        if (n + size > GBNET_MAX_COMMITTEE) {
            rc = cli_error("join", "%s: more than %d members in all", inputs[k], GBNET_MAX_COMMITTEE);
            break;
        }
        for (int m = 0; m < size; ++m) members[n++] = gbnet_committee_member(loaded[k], m);
    }
    gbnet_committee *joined = NULL;
    if (!rc) {
        gbnet_status st = gbnet_committee_create(&joined, members, n);
        if (!st) st = gbnet_committee_save(joined, output);
        if (st) rc = cli_library_error("join", st);
    }
    if (!rc) {
        printf("members:     %d\n", n);
        for (int k = 0, m = 0; k < n_inputs; ++k) {
            int size = gbnet_committee_size(loaded[k]);
            if (size == 1) printf("  member %d:  %s\n", m, inputs[k]);
            else printf("  members %d..%d: %s (a committee of %d)\n", m, m + size - 1, inputs[k], size);
            m += size;
        }
        printf("written:     %s\n", output);
    }
    gbnet_committee_free(joined);
    for (int k = 0; k < n_inputs; ++k) gbnet_committee_free(loaded[k]);
    return rc;
}
