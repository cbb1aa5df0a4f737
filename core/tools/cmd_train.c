/* gbnet train: trains a model from a configuration file (trainer.h) and ends
 * with the `gbnet eval` table of the best model on the validation data. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "gbnet_data.h"
#include "gbnet.h"
#include "gbnet_train.h"

static const char *const train_help =
    "Usage: gbnet train CONFIG [options]\n"
    "\n"
    "Trains a SchNet potential on the data CONFIG names and writes the best\n"
    "model by validation loss as a potential file. CONFIG holds `key = value`\n"
    "lines and # comments; relative paths in it are relative to its folder.\n"
    "Every key is described in docs/training.md and by --list-keys.\n"
    "\n"
    "Each epoch prints train and validation errors: energy RMSE (meV/atom),\n"
    "force RMSE (meV/A), stress RMSE (GPa, when the data has stresses), the\n"
    "learning rate, elapsed time and an estimate of the time left; the same\n"
    "goes to the CSV log. At the end the best model is evaluated on the\n"
    "validation data as `gbnet eval` does.\n"
    "\n"
    "Ctrl-C (SIGINT) or SIGTERM: the checkpoint is written at the next step\n"
    "boundary and training stops; continue with --resume. A second Ctrl-C\n"
    "stops at once (files are always written atomically).\n"
    "\n"
    "Options:\n"
    "  --set KEY=VALUE     override a key of CONFIG (repeatable)\n"
    "  --resume CKPT       continue from a checkpoint exactly where it stopped\n"
    "  --list-keys         list every configuration key with its default\n"
    "  -h, --help          show this help\n";

enum { OPT_SET, OPT_RESUME, OPT_LIST, OPT_HELP };
static const cli_option train_options[] = {
    [OPT_SET] = {"set", 0, 1},
    [OPT_RESUME] = {"resume", 0, 1},
    [OPT_LIST] = {"list-keys", 0, 0},
    [OPT_HELP] = {"help", 'h', 0},
};

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int signal_number) {
    stop_requested = 1;
    /* a second signal takes the default action (terminate) */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(signal_number, &dfl, NULL);
}

static void install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void restore_signal_handlers(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
}

static void list_keys(void) {
    printf("%-24s %-22s %-12s %s\n", "key", "type", "default", "description");
    for (int k = 0; k < gbnet_train_n_keys(); ++k) {
        const gbnet_train_key *info = gbnet_train_key_at(k);
        char type[64];
        snprintf(type, sizeof type, "%s%s%s%s", info->type, info->unit[0] ? " (" : "", info->unit,
                 info->unit[0] ? ")" : "");
        printf("%-24s %-22s %-12s %s\n", info->name, type, info->default_text[0] ? info->default_text : "\"\"",
               info->description);
    }
}

/* ------------------------------------------------------------ progress */

typedef struct {
    int header_printed;
    int has_stress;
    int epoch_width;
} progress;

static void print_message(void *ctx, const char *text) {
    (void)ctx;
    printf("%s\n", text);
    fflush(stdout);
}

static void format_duration(char *out, size_t size, double seconds) {
    if (!isfinite(seconds)) snprintf(out, size, "-");
    else if (seconds < 120) snprintf(out, size, "%.0fs", seconds);
    else if (seconds < 7200) snprintf(out, size, "%.1fmin", seconds / 60);
    else snprintf(out, size, "%.1fh", seconds / 3600);
}

/* v with fmt, or "-" right-aligned to the same width when v is not finite. */
static void format_value(char *out, size_t size, double v, const char *fmt) {
    int width = snprintf(out, size, fmt, 0.0);
    if (isfinite(v)) snprintf(out, size, fmt, v);
    else snprintf(out, size, "%*s", width, "-");
}

static void print_epoch(void *ctx, const gbnet_epoch_report *r) {
    progress *p = ctx;
    if (!p->header_printed) {
        char widest[32];
        p->epoch_width = snprintf(widest, sizeof widest, "%d/%d", r->n_epochs, r->n_epochs);
        if (p->epoch_width < 7) p->epoch_width = 7;
        const char *trn_s = p->has_stress ? "    trn S" : "", *val_s = p->has_stress ? "    val S" : "";
        const char *gpa = p->has_stress ? "      GPa" : "";
        printf("%*s | %10s %10s%s | %10s %10s%s | %9s %8s %8s\n", p->epoch_width, "epoch", "trn E", "trn F", trn_s,
               "val E", "val F", val_s, "lr", "elapsed", "ETA");
        printf("%*s | %10s %10s%s | %10s %10s%s |\n", p->epoch_width, "", "meV/atom", "meV/A", gpa, "meV/atom",
               "meV/A", gpa);
        p->header_printed = 1;
    }
    char te[32], tf[32], ts[32] = "", ve[32], vf[32], vs[32] = "", el[32], eta[32];
    format_value(te, sizeof te, r->train_energy_rmse, "%10.4f");
    format_value(tf, sizeof tf, r->train_force_rmse, "%10.3f");
    format_value(ve, sizeof ve, r->valid_energy_rmse, "%10.4f");
    format_value(vf, sizeof vf, r->valid_force_rmse, "%10.3f");
    if (p->has_stress) {
        format_value(ts, sizeof ts, r->train_stress_rmse, " %8.4f");
        format_value(vs, sizeof vs, r->valid_stress_rmse, " %8.4f");
    }
    format_duration(el, sizeof el, r->elapsed);
    format_duration(eta, sizeof eta, r->eta);
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%d/%d", r->epoch, r->n_epochs);
    printf("%*s | %10s %10s%s | %10s %10s%s | %9.3g %8s %8s%s\n", p->epoch_width, epoch, te, tf, ts, ve, vf, vs, r->lr,
           el, eta, r->improved ? "  *" : "");
    fflush(stdout);
}

/* ------------------------------------------------------------ final table */

/* Runs `gbnet eval` on the validation data: the validation files, the
 * training files with the key filter, or (random split) the validation
 * frames written next to the model as OUTPUT.valid.extxyz. */
/* A key's value as text (keys named here always exist and fit). */
#define TRAIN_TEXT_MAX 1100
static const char *key_value(const gbnet_train_config *c, const char *key, char *value) {
    if (gbnet_train_config_get(c, key, value, TRAIN_TEXT_MAX) != GBNET_OK) value[0] = '\0';
    return value;
}

static int final_evaluation(const gbnet_train_config *c, const gbnet_trainer *t) {
    gbnet_train_summary sum;
    gbnet_trainer_summary(t, &sum);
    char valid_data[TRAIN_TEXT_MAX], train_data[TRAIN_TEXT_MAX], valid_key[TRAIN_TEXT_MAX], output[TRAIN_TEXT_MAX];
    char threads[TRAIN_TEXT_MAX], log[TRAIN_TEXT_MAX], predictions[TRAIN_TEXT_MAX + 32];
    key_value(c, "log", log);
    if (sum.n_valid == 0) {
        plot_training_pictures(log, NULL, 0, NULL, NULL);
        return CLI_EXIT_OK;
    }
    key_value(c, "valid_data", valid_data);
    key_value(c, "train_data", train_data);
    key_value(c, "valid_key", valid_key);
    key_value(c, "output", output);
    key_value(c, "threads", threads);
    char *paths = strdup(valid_data[0] ? valid_data : train_data);
    char split_file[TRAIN_TEXT_MAX + 32];
    if (!paths) return cli_error("train", "out of memory");
    if (!valid_data[0] && !valid_key[0]) {
        gbnet_frame *frames = malloc((size_t)sum.n_valid * sizeof *frames);
        if (!frames) {
            free(paths);
            return cli_error("train", "out of memory");
        }
        for (int i = 0; i < sum.n_valid; ++i) frames[i] = *gbnet_trainer_valid_frame(t, i);
        snprintf(split_file, sizeof split_file, "%s.valid.extxyz", output);
        gbnet_status st = gbnet_write_extxyz(split_file, frames, sum.n_valid, NULL, NULL, NULL);
        free(frames);
        if (st) {
            free(paths);
            return cli_library_error("train", st);
        }
        free(paths);
        paths = strdup(split_file);
        if (!paths) return cli_error("train", "out of memory");
    }
    char *argv[80];
    int argc = 0;
    argv[argc++] = "eval";
    argv[argc++] = output;
    for (char *save = NULL, *word = strtok_r(paths, " \t", &save); word && argc < 70;
         word = strtok_r(NULL, " \t", &save))
        argv[argc++] = word;
    if (valid_key[0]) {
        argv[argc++] = "--subset";
        argv[argc++] = valid_key;
    }
    argv[argc++] = "--threads";
    argv[argc++] = threads;
    snprintf(predictions, sizeof predictions, "%s.valid_predictions.extxyz", output);
    argv[argc++] = "--write-predictions";
    argv[argc++] = predictions;
    argv[argc] = NULL;
    printf("\nbest model on the validation data (gbnet eval");
    for (int i = 1; i < argc; ++i) printf(" %s", argv[i]);
    printf("):\n");
    fflush(stdout);
    int rc = cmd_eval(argc, argv);
    if (rc == CLI_EXIT_OK) plot_training_pictures(log, output, argc, argv, predictions);
    free(paths);
    return rc;
}

/* ------------------------------------------------------------ main */

int cmd_train(int argc, char **argv) {
    const char *config_path = NULL, *resume_path = NULL;
    const char *sets[256];
    int n_sets = 0;
    cli_parser parser;
    cli_parser_init(&parser, "train", argc, argv, train_options, (int)(sizeof train_options / sizeof *train_options));
    const char *value;
    int option;
    while ((option = cli_next(&parser, &value)) != CLI_END) {
        switch (option) {
        case CLI_BAD: return CLI_EXIT_USAGE;
        case OPT_HELP: fputs(train_help, stdout); return CLI_EXIT_OK;
        case OPT_LIST: list_keys(); return CLI_EXIT_OK;
        case OPT_RESUME: resume_path = value; break;
        case OPT_SET:
            if (n_sets == (int)(sizeof sets / sizeof *sets)) return cli_usage_error("train", "too many --set options");
            sets[n_sets++] = value;
            break;
        case CLI_POSITIONAL:
            if (config_path)
                return cli_usage_error("train", "one CONFIG file only (got '%s' and '%s')", config_path, value);
            config_path = value;
            break;
        }
    }
    if (!config_path) return cli_usage_error("train", "missing CONFIG (a training configuration file)");

    gbnet_train_config *config = NULL;
    if (gbnet_train_config_create(&config) != GBNET_OK) return cli_error("train", "out of memory");
    gbnet_status st = gbnet_train_config_read(config, config_path);
    for (int k = 0; !st && k < n_sets; ++k) st = gbnet_train_config_set(config, sets[k]);
    if (!st) st = gbnet_train_config_check(config);
    if (st) {
        gbnet_train_config_free(config);
        return cli_library_error("train", st);
    }
    char *command_line = cli_join_arguments(argc, argv);
    char full_command[8192];
    snprintf(full_command, sizeof full_command, "gbnet %s", command_line ? command_line : "train");
    free(command_line);

    progress prog = {0, 0, 7};
    gbnet_train_callbacks hooks = {0};
    hooks.ctx = &prog;
    hooks.message = print_message;
    hooks.epoch_done = print_epoch;
    hooks.stop_request = &stop_requested;
    install_signal_handlers();
    gbnet_trainer *trainer = NULL;
    st = gbnet_trainer_create(&trainer, config, resume_path, full_command, &hooks);
    if (st) {
        restore_signal_handlers();
        gbnet_train_config_free(config);
        return cli_library_error("train", st);
    }
    gbnet_train_summary summary;
    gbnet_trainer_summary(trainer, &summary);
    prog.has_stress = summary.train_has_stress;
    st = gbnet_trainer_run(trainer);
    restore_signal_handlers();
    int rc = CLI_EXIT_OK;
    if (st) {
        rc = cli_library_error("train", st);
    } else {
        char output[TRAIN_TEXT_MAX], checkpoint[TRAIN_TEXT_MAX], log[TRAIN_TEXT_MAX];
        gbnet_trainer_summary(trainer, &summary);
        printf("finished: %d epochs, %lld steps; best validation loss %.6g at epoch %d, model written to %s\n",
               summary.epoch, summary.global_step, summary.best_valid_loss, summary.best_epoch,
               key_value(config, "output", output));
        printf("checkpoint: %s%s%s\n", key_value(config, "checkpoint", checkpoint),
               key_value(config, "log", log)[0] ? "; log: " : "", log);
        rc = final_evaluation(config, trainer);
    }
    gbnet_trainer_free(trainer);
    gbnet_train_config_free(config);
    return rc;
}
