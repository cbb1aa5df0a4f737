/* Helpers shared by the gbnet subcommands: option parsing, strict number
 * parsing and uniform error reporting.
 *
 * Exit codes: 0 success, 1 error while running (bad file, numeric failure),
 * 2 bad usage (unknown option, missing or malformed argument). Messages go to
 * stderr as "gbnet CMD: what happened". */
#ifndef GB_CLI_UTIL_H
#define GB_CLI_UTIL_H

#include <stdint.h>

#include "gbnet.h"
#include "gbnet_data.h"

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2 };

/* One accepted option: "--name VALUE", "--name=VALUE" or "-s VALUE". */
typedef struct {
    const char *long_name; /* without the leading "--" */
    char short_name;       /* 0 if none */
    int takes_value;
} cli_option;

typedef struct {
    const char *command;     /* "eval": used in messages */
    int argc;
    char **argv;             /* argv[0] is the command name; parsing starts at 1 */
    int next;
    int options_ended;       /* after "--" everything is positional */
    const cli_option *options;
    int n_options;
} cli_parser;

enum { CLI_END = -1, CLI_POSITIONAL = -2, CLI_BAD = -3 };

void cli_parser_init(cli_parser *p, const char *command, int argc, char **argv, const cli_option *options,
                     int n_options);
/* Returns the index of the next option in p->options (its value, if it takes
 * one, in *value), CLI_POSITIONAL (the argument in *value), CLI_END, or
 * CLI_BAD after printing a usage message (the caller returns CLI_EXIT_USAGE). */
int cli_next(cli_parser *p, const char **value);

/* Strict number parsing: the whole text must be a number in range, else a
 * usage message naming the option is printed and 0 returned. */
int cli_parse_int(const char *command, const char *option, const char *text, long min, long max, int *out);
int cli_parse_u64(const char *command, const char *option, const char *text, uint64_t *out);
int cli_parse_double(const char *command, const char *option, const char *text, double min, double max,
                     double *out);

/* "gbnet CMD: message" + "Try 'gbnet CMD --help'." on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "gbnet CMD: message" on stderr; returns CLI_EXIT_ERROR. */
int cli_error(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "gbnet CMD: <gbnet_last_error()>" (or the status name if there is no
 * message); returns CLI_EXIT_ERROR. */
int cli_library_error(const char *command, gbnet_status status);

/* The command line joined with spaces (for provenance); caller frees. */
char *cli_join_arguments(int argc, char **argv);

/* Seconds on a monotonic clock. */
double cli_now(void);
/* The dense-layer ranks of a model in words: "full", or "in 32/128, out1 32/128,
 * out2 32/128, readout 16/64" (per block when blocks differ; "full" per layer). */
void cli_format_ranks(char *out, size_t size, const gbnet_model *model);

/* --subset KEY=PATTERN filters on frame metadata (gbnet eval, gbnet coverage):
 * a frame is selected when it matches all of them (gbnet_frame_matches). */
#define CLI_MAX_FRAME_FILTERS 16
typedef struct {
    char key[CLI_MAX_FRAME_FILTERS][128];
    const char *pattern[CLI_MAX_FRAME_FILTERS]; /* into the argument */
    int n;
} cli_frame_filters;
/* Adds the --subset value KEY=PATTERN; a usage message and CLI_EXIT_USAGE if malformed or too many. */
int cli_add_frame_filter(const char *command, cli_frame_filters *filters, const char *value);
int cli_frame_selected(const cli_frame_filters *filters, const gbnet_frame *frame);

/* The selected frames of a dataset as structures of a model (gbnet coverage,
 * gbnet prune): structures point into the dataset's frames, which must outlive them. */
typedef struct {
    gbnet_structure *structures; /* [n] */
    int **species;               /* [n] element indices, owned */
    int *frame;                  /* [n] index of each structure's frame in the dataset */
    int n;
} cli_structures;
/* At most max_frames (0: all) selected frames, in dataset order; an error naming
 * the frame's file and line (CLI_EXIT_ERROR) if a frame holds an element the model lacks. */
int cli_structures_from_frames(const char *command, cli_structures *out, const gbnet_dataset *ds,
                               const cli_frame_filters *filters, const gbnet_model *model, int max_frames);
void cli_structures_free(cli_structures *s);

/* CLI_EXIT_ERROR with "PATH holds a committee of N members: WHY" when the file
 * is a committee (for commands that would read member 0 alone and write it
 * back as a single model); CLI_EXIT_OK otherwise, also when the file cannot be
 * read (the command's own loader then reports why). */
int cli_refuse_committee(const char *command, const char *path, const char *why);

#endif
