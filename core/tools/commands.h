/* The gbnet subcommands. Each takes the arguments after "gbnet" (argv[0] is
 * the subcommand's own name), prints its --help, and returns the process exit
 * code (0 ok, 1 error, 2 bad usage; see cli_util.h).
 *
 * Adding a command: write core/tools/cmd_<name>.c defining cmd_<name>
 * (CMake globs every .c file in core/tools), declare it here, and add one row to the table
 * in main.c. Commands declared weak in main.c may be missing from a build; the
 * dispatcher then says "not available in this build". */
#ifndef GB_COMMANDS_H
#define GB_COMMANDS_H

int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_select(int argc, char **argv);
int cmd_coverage(int argc, char **argv);
int cmd_join(int argc, char **argv);
int cmd_zbl(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* Draws the learning curves of LOG (LOG.png) and, given the arguments of the
 * final `gbnet eval` and its predictions file, the validation parity plot
 * (MODEL_parity.png) through `gbnet plot`, and prints where they are
 * (cmd_plot.c). GBNET_PLOTS=0 skips it. */
void plot_training_pictures(const char *log, const char *model, int eval_argc, char **eval_argv,
                            const char *predictions);

#endif
