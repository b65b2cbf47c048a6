/*
 * bench.h - `dtensor bench`: one runner for every benchmark family.
 *
 * A family (factories, copy, compute, io, latency) measures operations and
 * the limits that bound them in the same run, and hands each result to
 * bench_emit as one row: the table on stdout, one CSV row, one JSON object.
 * Times are the slowest rank's (a collective is done when its last rank is);
 * median, min and max over the repetitions after one untimed warm-up.
 */
#ifndef DT_CLI_BENCH_H
#define DT_CLI_BENCH_H

#include "cli.h"

/* Options of `dtensor bench`. */
typedef struct bench_args {
  int64_t size;       /* --size as given (default 64M) */
  int64_t bytes;      /* bytes per rank: size (weak) or size / ranks (strong) */
  bool strong;        /* --scaling strong */
  int reps;           /* --reps (default 7) */
  const char *json;   /* --json FILE, or NULL */
  const char *csv;    /* --csv FILE, or NULL */
  const char *dir;    /* --dir DIR (save/load files; default .) */
  const char *ops;    /* --ops a,b: only these ops (NULL: all) */
  const char *dtypes; /* --dtype a,b: only these dtypes (NULL: each family's) */
  bool quiet;         /* --quiet: no progress line */
  unsigned families;  /* bit k: family k was named (0: all) */
} bench_args;

/* Median, min and max over the repetitions of the slowest rank's seconds. */
typedef struct bench_stats {
  double med, min, max;
} bench_stats;

/* What a row's value is. */
typedef enum bench_unit {
  BENCH_GBPS,   /* bytes per rank / seconds / 1e9; ratio = limit_s / op_s */
  BENCH_USEC,   /* microseconds per call; ratio = limit_us / op_us */
  BENCH_GFLOPS, /* 1e9 flops per rank per second; no limit */
} bench_unit;

typedef struct bench_row {
  const char *op;    /* e.g. "zeros", "copy_ split0->split1" */
  const char *dtype; /* "float32", ... */
  bench_unit unit;
  int64_t bytes;        /* counted per rank (BENCH_GBPS), elements (USEC) */
  int64_t global_bytes; /* over all ranks (as bytes) */
  double flops;         /* BENCH_GFLOPS: per rank */
  bench_stats t;        /* the operation */
  const char *limit;    /* the limit's name, or NULL for none */
  bench_stats lim;      /* the limit's times, for the same bytes */
  double target;        /* ratio target (>=), or NAN for none */
} bench_row;

/* The state of one run, shared by the families. */
typedef struct bench {
  const cli_env *env;
  const bench_args *args;
  dt_ctx *ctx;
  MPI_Comm comm;
  int threads;
  FILE *json, *csv;    /* rank 0 only */
  int json_rows;       /* rows written so far (for the commas) */
  const char *family;  /* for the progress line */
  const char *failure; /* a message of the bench's own, or NULL */
  double t_start;      /* MPI_Wtime at the start */
  int ops_done, ops_planned;
  bool tty; /* stderr is a terminal */
} bench;

/* One timed repetition (collective; the same code on every rank). */
typedef dt_err (*bench_fn)(void *arg);

/**
 * Run setup (when not NULL) and fn once untimed, then `reps` times: setup
 * untimed, an MPI_Barrier, fn timed; a repetition's time is the slowest
 * rank's. Updates the progress line with `what`. Collective.
 */
dt_err bench_time(bench *b, const char *what, bench_fn setup, bench_fn fn,
                  void *arg, bench_stats *st);

/** true when --ops lets `op` run (prefix match on a comma list) and
 *  --dtype lets `dtype` (NULL: any). The same on every rank. */
bool bench_wants(const bench *b, const char *op, const char *dtype);

/** Rank 0 prints the row on stdout and writes it to the CSV and JSON. */
void bench_emit(bench *b, const bench_row *row);

/** Rank 0 prints a comment line "# ..." in the table (not in the files). */
void bench_note(const bench *b, const char *fmt, ...) CLI_PRINTF(2, 3);

/** Records a message of the bench's own for the failure; returns err. */
dt_err bench_fail(bench *b, dt_err err, const char *why);

/* ---- limits (bench_limits.c): raw kernels, OpenMP over dt_num_threads ---- */

/** malloc'd 64-byte-aligned buffer of n bytes, every page written by the
 *  threads in the static split the library uses; NULL on failure. */
void *bench_buffer(size_t n);
/** Collective: true on every rank when ok holds on every rank. */
bool bench_all_ok(MPI_Comm comm, bool ok);

typedef enum bench_kernel {
  BK_MEMSET,  /* memset(dst, value, bytes) */
  BK_NT_FILL, /* non-temporal stores of value */
  BK_MEMCPY,  /* memcpy(dst, src, bytes) */
  BK_NT_COPY, /* non-temporal copy */
  BK_READ32,  /* vectorised float32 sum of src */
  BK_READ64,  /* vectorised float64 sum of src */
  BK_ADD32,   /* dst = src + src2, float32 */
  BK_MUL32,   /* dst = src * src2, float32 */
} bench_kernel;

/**
 * Time one raw kernel on `bytes` per rank into pre-touched buffers, with the
 * library's threads, as bench_time times. fresh: a new malloc (and free)
 * per repetition inside the timing, as a first tensor pays. Collective.
 */
dt_err bench_limit(bench *b, bench_kernel k, int value, size_t bytes,
                   bool fresh, bench_stats *st);
/** The better (lower median) of two kernels; *name gets the winner's. */
dt_err bench_limit_best(bench *b, bench_kernel k1, bench_kernel k2, int value,
                        size_t bytes, bool fresh, bench_stats *st,
                        const char **name);
/** One 8-byte MPI_Allreduce, the floor of any collective call. */
dt_err bench_allreduce8(bench *b, bench_stats *st);
/** Name of a kernel ("memset", "nt-store", ...). */
const char *bench_kernel_name(bench_kernel k);

/* ---- the families ------------------------------------------------------- */

dt_err bench_factories(bench *b);
dt_err bench_copy(bench *b);
dt_err bench_compute(bench *b);
dt_err bench_io(bench *b);
dt_err bench_latency(bench *b);

/* ---- the files (bench_report.c) ----------------------------------------- */

/** Collective: gathers the run's metadata, opens --csv / --json on rank 0
 *  and writes the metadata first. Returns the exit status (0 or 1). */
int bench_files_open(bench *b);
/** Collective: closes the files; 1 on every rank when writing failed. */
int bench_files_close(bench *b);
/** Rank 0: the table's title and column names. */
void bench_table_header(const bench *b);

#endif /* DT_CLI_BENCH_H */
