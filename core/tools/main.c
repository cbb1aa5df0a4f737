/* gbnet: the command-line front end. Dispatches "gbnet CMD [args]" through a
 * table of subcommands (commands.h). */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet.h"

/* Commands another part of the project provides: weak, so a build without
 * their source still links and reports them as unavailable. */
#pragma weak cmd_train
#pragma weak cmd_compress
#pragma weak cmd_distill

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_entry;

static const command_entry commands[] = {
    {"init", cmd_init, "create a model with random weights (optionally fitted reference energies)"},
    {"info", cmd_info, "show a potential file's elements, hyperparameters, normalization and provenance"},
    {"eval", cmd_eval, "evaluate a model on a dataset and report energy, force and stress errors"},
    {"train", cmd_train, "train a model on extxyz / DeePMD data"},
    {"compress", cmd_compress, "tabulate the filter networks for faster inference"},
    {"prune", cmd_prune, "structured pruning: a smaller model keeping the most important channels"},
    {"distill", cmd_distill, "train a smaller student on a teacher's labels, then fine-tune it on the reference data"},
    {"coverage", cmd_coverage, "record in a potential file what its training data covers (for extrapolation warnings)"},
    {"zbl", cmd_zbl, "add a repulsive core below the training data's shortest distances to a trained potential"},
    {"join", cmd_join, "join potential files (models or committees) into one committee file"},
    {"select", cmd_select, "pick trajectory frames whose committee deviation lies between two thresholds"},
    {"plot", cmd_plot, "PNG learning curves of a training log, parity plots of predictions (Python package)"},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static void print_usage(FILE *out) {
    fprintf(out,
            "Usage: gbnet <command> [options]\n"
            "       gbnet help <command>    (same as gbnet <command> --help)\n"
            "       gbnet --version\n"
            "\n"
            "gbnet %s: a graph-batched SchNet neural-network interatomic potential.\n"
            "\n"
            "Commands:\n",
            gbnet_version());
    for (int k = 0; k < n_commands; ++k)
        fprintf(out, "  %-10s %s%s\n", commands[k].name, commands[k].summary,
                commands[k].run ? "" : " (not available in this build)");
    fprintf(out, "\nUnits: Angstrom, eV, eV/Angstrom. Exit codes: 0 ok, 1 error, 2 bad usage.\n");
}

static const command_entry *find_command(const char *name) {
    for (int k = 0; k < n_commands; ++k)
        if (strcmp(commands[k].name, name) == 0) return &commands[k];
    return NULL;
}

static int unknown_command(const char *name) {
    fprintf(stderr, "gbnet: unknown command '%s'\nTry 'gbnet --help'.\n", name);
    return CLI_EXIT_USAGE;
}

static int run_command(const command_entry *c, int argc, char **argv) {
    if (!c->run) {
        fprintf(stderr, "gbnet: command '%s' is not available in this build\n", c->name);
        return CLI_EXIT_ERROR;
    }
    return c->run(argc, argv);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("gbnet %s\n", gbnet_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(first, "help") == 0) {
        if (argc < 3) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        const command_entry *c = find_command(argv[2]);
        if (!c) return unknown_command(argv[2]);
        char *help_argv[] = {argv[2], "--help", NULL};
        return run_command(c, 2, help_argv);
    }
    if (first[0] == '-') {
        fprintf(stderr, "gbnet: unknown option '%s'\nTry 'gbnet --help'.\n", first);
        return CLI_EXIT_USAGE;
    }
    const command_entry *c = find_command(first);
    if (!c) return unknown_command(first);
    return run_command(c, argc - 1, argv + 1);
}
