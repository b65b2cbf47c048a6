/*
 * cli.h - shared pieces of the `dtensor` command.
 *
 * Every subcommand parses its arguments identically on every rank before its
 * first collective call, so a bad option makes all ranks fail together and
 * nobody is left waiting in MPI. Messages go to stderr on rank 0 only.
 */
#ifndef DT_CLI_H
#define DT_CLI_H

#include "dtensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What every subcommand needs to know about the run. */
typedef struct cli_env {
  int rank;         /* in MPI_COMM_WORLD */
  int size;         /* ranks in MPI_COMM_WORLD */
  const char *name; /* "dtensor make", for messages */
} cli_env;

/* Subcommands: argv[0] is the subcommand's name. Return the exit status. */
int cli_tour(const cli_env *env, int argc, char **argv);
int cli_make(const cli_env *env, int argc, char **argv);
int cli_bench(const cli_env *env, int argc, char **argv);
int cli_inspect(const cli_env *env, int argc, char **argv);

/* ---- messages (main.c) --------------------------------------------------- */

/* Lets the compiler check printf-style calls against their format. */
#if defined(__GNUC__)
#define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLI_PRINTF(fmt, args)
#endif

/** Rank 0 prints "<env->name>: <message>" on stderr; returns 1 (the exit
 *  status) so callers can `return cli_fail(...)`. */
int cli_fail(const cli_env *env, const char *fmt, ...) CLI_PRINTF(2, 3);
/** cli_fail with the library's message for err (dt_last_error, which is the
 *  same on every rank for a collective failure). */
int cli_fail_lib(const cli_env *env, dt_err err);
/** Rank 0 prints the usage text on f. */
void cli_usage(const cli_env *env, FILE *f);
/** true when argv[1..] contains -h or --help. */
bool cli_wants_help(int argc, char **argv);

/* ---- option parsing (args.c) --------------------------------------------- */

typedef struct cli_option {
  const char *name; /* without the leading "--" */
  bool has_value;
} cli_option;

/**
 * Match argv[*i] against "--name", "--name=value" or "--name value" (the
 * value is then consumed: *i advances). Returns the option's index in opts,
 * or -1 after reporting an unknown option, a missing value or a positional
 * argument.
 */
int cli_getopt(const cli_env *env, int argc, char **argv, int *i,
               const cli_option *opts, int nopts, const char **value);

/* Value parsers: true on success. They accept the whole string or nothing. */
bool cli_parse_i64(const char *s, int64_t *v);
bool cli_parse_u64(const char *s, uint64_t *v);
bool cli_parse_f64(const char *s, double *v);
/** A byte count with an optional K, M or G suffix (powers of 1024). */
bool cli_parse_bytes(const char *s, int64_t *v);
/** Python's literal rule: a value with '.', 'e', "inf" or "nan" is a float
 *  (DT_F), "true"/"false" a bool (DT_B), anything else an int (DT_I). */
bool cli_parse_scalar(const char *s, dt_scalar *v);
/** "1000,64" -> ndim 2, {1000, 64}; sizes must be >= 0. An empty string or
 *  "()" is a 0-d shape. */
bool cli_parse_shape(const char *s, int *ndim, int64_t *shape);

/* ---- printing helpers (args.c) ------------------------------------------- */

/** "(2, 3)" into buf; returns buf. */
const char *cli_shape_str(int ndim, const int64_t *shape, char *buf,
                          size_t len);

#endif /* DT_CLI_H */
