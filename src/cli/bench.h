/*
 * bench.h - what every `dtensor bench` subcommand shares: timing (median over
 * repetitions of the slowest rank), a baseline, and one table / JSON-lines
 * format, so `bench factories`, and later `bench copy`, `bench io` or
 * `bench autograd`, report numbers that read and compare the same way.
 */
#ifndef DT_CLI_BENCH_H
#define DT_CLI_BENCH_H

#include "cli.h"

/* Options every bench subcommand takes. */
typedef struct bench_args {
  int64_t bytes;    /* --size: bytes per rank */
  int reps;         /* --reps */
  const char *json; /* --json FILE, or NULL */
  bool size_given;  /* --size was on the command line */
  bool reps_given;  /* --reps was on the command line */
  const char *dir;  /* --dir DIR (bench io: where files go), or NULL */
} bench_args;

/* One timed repetition (collective; the same code on every rank). */
typedef dt_err (*bench_fn)(void *arg);

/**
 * Run fn once untimed (so caches and the storage cache are warm), then
 * `reps` times, each after an MPI_Barrier; a repetition's time is the
 * slowest rank's (MPI_Allreduce MAX of MPI_Wtime deltas). *median gets the
 * median over repetitions, the same on every rank. Collective.
 */
dt_err bench_measure(MPI_Comm comm, int reps, bench_fn fn, void *arg,
                     double *median);

/** bench_measure with an untimed setup(arg) before every repetition (and
 *  before the warm-up), e.g. to rebuild the forward pass a backward needs. */
dt_err bench_measure_setup(MPI_Comm comm, int reps, bench_fn setup, bench_fn fn,
                           void *arg, double *median);

/**
 * The memset baseline: memset(buf, value, bytes) per rank into a
 * pre-allocated, pre-touched buffer, timed as bench_measure times. The value
 * matters: some machines write all-zero cache lines several times faster
 * than other data. Collective; DT_ERR_NOMEM on every rank when any rank
 * cannot allocate.
 */
dt_err bench_memset_baseline(MPI_Comm comm, int reps, int64_t bytes, int value,
                             double *median);

/** Collective: true on every rank when ok holds on every rank. */
bool bench_all_ok(MPI_Comm comm, bool ok);
/** malloc(n) with every page written, so page faults stay out of timings. */
void *bench_touched(size_t n);

/** A memcpy of `bytes` from src to dst: the bandwidth baseline of clone and
 *  elementwise operations (bench_fn argument for bench_memcpy_once). */
typedef struct bench_memcpy_job {
  unsigned char *dst;
  const unsigned char *src;
  size_t bytes;
} bench_memcpy_job;
dt_err bench_memcpy_once(void *arg);

typedef struct bench_report {
  int rank, ranks, threads;
  FILE *json;           /* rank 0 only; NULL without --json */
  const char *baseline; /* its name in the JSON, e.g. "memset" */
  double baseline_gbps; /* per rank */
} bench_report;

/** Collective: rank 0 opens the JSON file (when json_path is not NULL) and
 *  every rank learns whether it could. Returns the exit status (0 or 1). */
int bench_report_open(bench_report *r, const cli_env *env,
                      const char *json_path);
/** Rank 0 prints the title, a line stating the baseline, an optional note
 *  (NULL for none) and the table's column names. Set r->baseline and
 *  r->baseline_gbps first. */
void bench_report_header(const bench_report *r, const char *title,
                         const char *baseline_desc, const char *note);
/** Rank 0 prints one table row and writes one JSON line. */
void bench_report_row(const bench_report *r, const char *op, const char *dtype,
                      int64_t bytes, double seconds);
/** Collective: closes the JSON file; returns 1 on every rank when writing it
 *  failed. */
int bench_report_close(bench_report *r, const cli_env *env);

/** One part of a benchmark: measures, prints its header and rows. */
typedef dt_err (*bench_section)(dt_ctx *ctx, bench_report *rep,
                                const bench_args *args);

/**
 * Run sections in order on a fresh context (freed storage is released
 * between sections so one's cache does not crowd the next), stop at the
 * first failure and report it: with *why when the bench set a message of its
 * own, else the library's. Returns the exit status. Collective.
 */
int bench_run(const cli_env *env, const bench_args *args,
              const bench_section *sections, int n, const char *const *why);

/* Subcommands of `dtensor bench`, run after the shared options are parsed.
 * Each returns the exit status. */
int bench_factories(const cli_env *env, const bench_args *args);
int bench_copy(const cli_env *env, const bench_args *args);
int bench_autograd(const cli_env *env, const bench_args *args);
int bench_io(const cli_env *env, const bench_args *args);

#endif /* DT_CLI_BENCH_H */
