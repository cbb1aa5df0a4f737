/* gbnet plot: PNG plots of training logs and predictions, drawn by the Python
 * package (python3 -m gbnet.plot, python/gbnet/plot.py) with matplotlib.
 * This file finds the package and a python3 for it; plot_training_pictures
 * is what `gbnet train` calls at the end to draw its pictures. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"

#ifndef GBNET_PYTHON_SOURCE_DIR
#define GBNET_PYTHON_SOURCE_DIR ""
#endif
#ifndef GBNET_PYTHON_FROM_BINDIR
#define GBNET_PYTHON_FROM_BINDIR "../lib/python3/dist-packages"
#endif

static const char *const plot_help =
    "Usage: gbnet plot LOG.csv [-o OUT.png]\n"
    "       gbnet plot train LOG.csv [-o OUT.png]\n"
    "       gbnet plot parity MODEL.gbnet DATA... [--subset KEY=PATTERN]... [--threads N] [-o OUT.png]\n"
    "       gbnet plot parity --predictions PRED.extxyz DATA... [--subset KEY=PATTERN]... [-o OUT.png]\n"
    "\n"
    "Learning curves (train and validation energy, force and stress RMSE per\n"
    "epoch, learning rate) of a `gbnet train` CSV log, or parity plots\n"
    "(predicted against reference energy per atom, force components per\n"
    "element, stress; MAE and RMSE in the legends) of a model evaluated on DATA\n"
    "or of `gbnet eval --write-predictions` output. PNG files.\n"
    "\n"
    "Runs `python3 -m gbnet.plot` (the gbnet Python package, matplotlib):\n"
    "GBNET_PYTHON chooses the interpreter (default /usr/bin/python3).\n";

/* dir of this executable into out[size] ("" if unknown). */
static void executable_dir(char *out, size_t size) {
    out[0] = '\0';
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0) return;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder holding the gbnet package: installed beside this command
 * (bindir/GBNET_PYTHON_FROM_BINDIR), else the source tree of a build-tree
 * command; "" when neither (python3's own path then decides). */
static void package_dir(char *out, size_t size, const char *exe_dir) {
    char probe[4200];
    snprintf(out, size, "%s/%s", exe_dir, GBNET_PYTHON_FROM_BINDIR);
    snprintf(probe, sizeof probe, "%s/gbnet/plot.py", out);
    if (exe_dir[0] && is_file(probe)) return;
    snprintf(out, size, "%s", GBNET_PYTHON_SOURCE_DIR);
    snprintf(probe, sizeof probe, "%s/gbnet/plot.py", out);
    if (out[0] && is_file(probe)) return;
    out[0] = '\0';
}

/* PYTHONPATH and GBNET_LIBRARY for the child (a build tree's library sits beside the command). */
static void prepare_environment(void) {
    char exe_dir[4096], dir[4096], path[8400], library[4200];
    executable_dir(exe_dir, sizeof exe_dir);
    package_dir(dir, sizeof dir, exe_dir);
    if (dir[0]) {
        const char *old = getenv("PYTHONPATH");
        snprintf(path, sizeof path, "%s%s%s", dir, old && old[0] ? ":" : "", old && old[0] ? old : "");
        setenv("PYTHONPATH", path, 1);
    }
    snprintf(library, sizeof library, "%s/libgbnet.so.0", exe_dir);
    if (!getenv("GBNET_LIBRARY") && exe_dir[0] && is_file(library)) setenv("GBNET_LIBRARY", library, 1);
}

static const char *python_interpreter(void) {
    const char *chosen = getenv("GBNET_PYTHON");
    if (chosen && chosen[0]) return chosen;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

int cmd_plot(int argc, char **argv) {
    if (argc < 2) {
        fputs(plot_help, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(plot_help, stdout);
        return CLI_EXIT_OK;
    }
    prepare_environment();
    const char *python = python_interpreter();
    char **child = calloc((size_t)argc + 4, sizeof *child);
    if (!child) return cli_error("plot", "out of memory");
    child[0] = (char *)python;
    child[1] = "-m";
    child[2] = "gbnet.plot";
    for (int i = 1; i < argc; ++i) child[2 + i] = argv[i];
    fflush(stdout);
    execvp(python, child);
    free(child);
    return cli_error("plot", "cannot run %s (set GBNET_PYTHON to a python3 with numpy, ase and matplotlib)",
                     python);
}

/* Runs `gbnet plot ARGS` in a child process; 1 when it wrote its picture. */
static int run_plot(char **args) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127); /* "wrote X": this side says it */
        int n = 0;
        while (args[n]) ++n;
        _exit(cmd_plot(n, args));
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* NAME without the extension ext (if it ends so), then suffix, into out. */
static void replace_extension(char *out, size_t size, const char *name, const char *ext, const char *suffix) {
    size_t n = strlen(name), e = strlen(ext);
    if (n >= e && strcmp(name + n - e, ext) == 0) n -= e;
    snprintf(out, size, "%.*s%s", (int)n, name, suffix);
}

void plot_training_pictures(const char *log, const char *model, int eval_argc, char **eval_argv,
                            const char *predictions) {
    const char *off = getenv("GBNET_PLOTS");
    if (off && strcmp(off, "0") == 0) return;
    char curves[4200] = "", parity[4200] = "";
    int made_curves = 0, made_parity = 0;
    if (log && log[0]) {
        replace_extension(curves, sizeof curves, log, ".csv", ".png");
        char *args[] = {"plot", "train", (char *)log, "-o", curves, NULL};
        made_curves = run_plot(args);
    }
    if (predictions && eval_argc > 2) {
        replace_extension(parity, sizeof parity, model, ".gbnet", "_parity.png");
        /* eval's arguments: eval MODEL DATA... [--subset K=P] [--threads N] [--write-predictions P] */
        char **args = calloc((size_t)eval_argc + 8, sizeof *args);
        if (args) {
            int n = 0;
            args[n++] = "plot";
            args[n++] = "parity";
            args[n++] = "--predictions";
            args[n++] = (char *)predictions;
            args[n++] = "-o";
            args[n++] = parity;
            for (int i = 2; i < eval_argc; ++i) {
                if (strcmp(eval_argv[i], "--threads") == 0 || strcmp(eval_argv[i], "--write-predictions") == 0) {
                    ++i; /* not parity options of a predictions file */
                    continue;
                }
                args[n++] = eval_argv[i];
            }
            args[n] = NULL;
            made_parity = run_plot(args);
            free(args);
        }
    }
    if (made_curves || made_parity)
        printf("pictures: %s%s%s%s%s\n", made_curves ? curves : "", made_curves ? " (learning curves)" : "",
               made_curves && made_parity ? ", " : "", made_parity ? parity : "",
               made_parity ? " (validation parity)" : "");
    else
        printf("pictures: none (gbnet plot needs python3 with numpy, ase and matplotlib; GBNET_PLOTS=0 skips them)\n");
    fflush(stdout);
}
