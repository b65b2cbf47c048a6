/*
 * bench.c - `dtensor bench [FAMILY...] [options]`: parses the options, runs
 * the named families (all without a name) on one context, times repetitions
 * and keeps the progress line. A new benchmark is a function in one of the
 * family files calling bench_time and bench_emit; a new family is one entry
 * in `families`.
 */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
  const char *name;
  dt_err (*run)(bench *b);
  int rows; /* about how many timed ops, for the time-left estimate */
} families[] = {
    {"factories", bench_factories, 44}, {"copy", bench_copy, 10},
    {"compute", bench_compute, 8},      {"io", bench_io, 6},
    {"latency", bench_latency, 16},
};
enum { NFAM = sizeof families / sizeof families[0] };

static const char bench_usage[] =
    "usage: mpirun -np N dtensor bench [FAMILY...] [options]\n"
    "\n"
    "Time operations against limits measured in the same run; every row is\n"
    "the slowest rank's time, median/min/max over the repetitions.\n"
    "\n"
    "families (default: all of them, in this order):\n"
    "  factories  every factory at BYTES per rank, cache-warm and with fresh\n"
    "             memory (\".fresh\"); limits memset(0) for zeros/eye, the "
    "best\n"
    "             of memset and non-temporal stores for other fills, raw\n"
    "             Philox words (dt_philox_fill) for rand/randn/randint; empty\n"
    "             as a latency (us per call)\n"
    "  copy       clone (best of memcpy and a non-temporal copy), copy_ "
    "split0\n"
    "             -> split1, split -> replicated, split -> grid (raw\n"
    "             MPI_Alltoallv of the same boxes), deepcopy (MPI_Gatherv +\n"
    "             MPI_Scatterv)\n"
    "  compute    exact dt_sum (vectorised read of the same bytes), add and\n"
    "             mul forward and mul backward (a vectorised loop of the same\n"
    "             traffic), dt_matmul (GFLOP/s, no limit)\n"
    "  io         dt_save (one pwrite+fsync per rank) and dt_load cold\n"
    "             (posix_fadvise DONTNEED) and warm (pread into a "
    "page-aligned\n"
    "             buffer), files in --dir\n"
    "  autograd   another name for compute\n"
    "  latency    zeros, rand, clone, dt_sum, add at 1, 1000 and 1000000\n"
    "             elements (us per call) against one 8-byte MPI_Allreduce\n"
    "\n"
    "options:\n"
    "  --size BYTES        bytes per rank (weak) or in total (strong);\n"
    "                      K/M/G suffixes; default 64M\n"
    "  --scaling weak|strong  how --size is read (default weak)\n"
    "  --reps N            timed repetitions (default 7)\n"
    "  --ops a,b           only ops whose name starts with a or b\n"
    "  --dtype a,b         only these dtypes (float32 float64 int64 ...)\n"
    "  --dir DIR           where io writes its files (default .)\n"
    "  --csv FILE          rows as CSV (metadata first, as '# key: value')\n"
    "  --json FILE         {\"meta\": {...}, \"rows\": [...]}\n"
    "  --quiet             no progress line on stderr\n"
    "\n"
    "columns: ratio = limit time / op time for the same bytes (1 = at the\n"
    "limit); target from the speed table; ok / below.\n";

enum {
  O_SIZE,
  O_REPS,
  O_JSON,
  O_CSV,
  O_DIR,
  O_OPS,
  O_DTYPE,
  O_SCALING,
  O_QUIET,
  O_COUNT
};

static const cli_option options[O_COUNT] = {
    [O_SIZE] = {"size", true},    [O_REPS] = {"reps", true},
    [O_JSON] = {"json", true},    [O_CSV] = {"csv", true},
    [O_DIR] = {"dir", true},      [O_OPS] = {"ops", true},
    [O_DTYPE] = {"dtype", true},  [O_SCALING] = {"scaling", true},
    [O_QUIET] = {"quiet", false},
};

static int family_index(const char *name) {
  if (strcmp(name, "autograd") == 0)
    name = "compute";
  for (int k = 0; k < NFAM; k++)
    if (strcmp(name, families[k].name) == 0)
      return k;
  return -1;
}

/* Every dtype named in a comma list must exist. */
static bool dtypes_valid(const char *list) {
  char buf[256];
  if (strlen(list) >= sizeof buf)
    return false;
  strcpy(buf, list);
  char *save = NULL;
  int n = 0;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    dt_dtype d;
    if (dt_dtype_from_name(t, &d) != DT_OK)
      return false;
    n++;
  }
  return n > 0;
}

static int parse(const cli_env *env, int argc, char **argv, bench_args *a) {
  *a = (bench_args){.size = 64 << 20, .reps = 7, .dir = "."};
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-') {
      int k = family_index(argv[i]);
      if (k < 0)
        return cli_fail(env,
                        "unknown benchmark family '%s' (factories, copy, "
                        "compute, io, latency)",
                        argv[i]);
      a->families |= 1u << k;
      continue;
    }
    const char *v;
    int64_t x;
    switch (cli_getopt(env, argc, argv, &i, options, O_COUNT, &v)) {
    case O_SIZE:
      if (!cli_parse_bytes(v, &a->size) || a->size <= 0)
        return cli_fail(env,
                        "--size: expected a byte count > 0 (K, M, G "
                        "suffixes allowed), got '%s'",
                        v);
      break;
    case O_REPS:
      if (!cli_parse_i64(v, &x) || x < 1 || x > 100000)
        return cli_fail(env, "--reps: expected 1..100000, got '%s'", v);
      a->reps = (int)x;
      break;
    case O_JSON:
      a->json = v;
      break;
    case O_CSV:
      a->csv = v;
      break;
    case O_DIR:
      a->dir = v;
      break;
    case O_OPS:
      if (!v[0])
        return cli_fail(env, "--ops: expected a comma list of op names");
      a->ops = v;
      break;
    case O_DTYPE:
      if (!dtypes_valid(v))
        return cli_fail(env,
                        "--dtype: expected a comma list of dtypes (float32, "
                        "float64, int32, int64, bool), got '%s'",
                        v);
      a->dtypes = v;
      break;
    case O_SCALING:
      if (strcmp(v, "weak") != 0 && strcmp(v, "strong") != 0)
        return cli_fail(env, "--scaling: expected weak or strong, got '%s'", v);
      a->strong = strcmp(v, "strong") == 0;
      break;
    case O_QUIET:
      a->quiet = true;
      break;
    default:
      return 1;
    }
  }
  a->bytes = a->strong ? a->size / env->size : a->size;
  if (a->bytes < 64)
    return cli_fail(env,
                    "--size %lld gives %lld bytes per rank; at least 64 "
                    "are needed",
                    (long long)a->size, (long long)a->bytes);
  /* Keep every global size (and deepcopy's full buffer) within range. */
  if (a->bytes > INT64_MAX / 16 / env->size)
    return cli_fail(env, "--size %lld is too large for %d ranks",
                    (long long)a->size, env->size);
  return 0;
}

/* ---- selection ------------------------------------------------------------
 */

/* s is in the comma list (exact, or a prefix when prefix is true). */
static bool in_list(const char *list, const char *s, bool prefix) {
  size_t n = strlen(s);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len > 0 && (prefix ? len <= n && strncmp(p, s, len) == 0
                           : len == n && strncmp(p, s, n) == 0))
      return true;
    p += len + (e != NULL);
  }
  return false;
}

bool bench_wants(const bench *b, const char *op, const char *dtype) {
  if (b->args->ops && !in_list(b->args->ops, op, true))
    return false;
  if (dtype && b->args->dtypes && !in_list(b->args->dtypes, dtype, false))
    return false;
  return true;
}

dt_err bench_fail(bench *b, dt_err err, const char *why) {
  b->failure = why;
  return err;
}

void bench_note(const bench *b, const char *fmt, ...) {
  if (b->env->rank != 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("# ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  fflush(stdout);
}

/* ---- timing and progress --------------------------------------------------
 */

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, c = *(const double *)y;
  return (a > c) - (a < c);
}

/* Rank 0, stderr: in place on a terminal, one line per op otherwise. */
static void progress(const bench *b, const char *what, int rep, int reps) {
  if (b->args->quiet || b->env->rank != 0)
    return;
  double el = MPI_Wtime() - b->t_start;
  int done = b->ops_done, plan = b->ops_planned > done ? b->ops_planned : done;
  double left = done > 0 ? el / done * (plan - done) : NAN;
  char eta[32] = "?";
  if (isfinite(left))
    snprintf(eta, sizeof eta, "~%.0fs", left);
  if (b->tty)
    fprintf(stderr, "\r\033[K[%s] %s rep %d/%d  elapsed %.1fs  left %s",
            b->family, what, rep, reps, el, eta);
  else if (rep == 0)
    fprintf(stderr, "[%s] %s  (%d/%d ops, elapsed %.1fs, left %s)\n", b->family,
            what, done + 1, plan, el, eta);
  fflush(stderr);
}

dt_err bench_time(bench *b, const char *what, bench_fn setup, bench_fn fn,
                  void *arg, bench_stats *st) {
  *st = (bench_stats){0, 0, 0};
  int reps = b->args->reps;
  double *times = malloc(sizeof *times * (size_t)reps);
  if (!bench_all_ok(b->comm, times != NULL)) {
    free(times);
    return bench_fail(b, DT_ERR_NOMEM, "cannot allocate the timing array");
  }
  progress(b, what, 0, reps);
  dt_err err = setup ? setup(arg) : DT_OK;
  if (!err)
    err = fn(arg); /* warm-up */
  for (int k = 0; !err && k < reps; k++) {
    if (setup)
      err = setup(arg);
    if (err)
      break;
    MPI_Barrier(b->comm);
    double t0 = MPI_Wtime();
    err = fn(arg);
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(&dt, &times[k], 1, MPI_DOUBLE, MPI_MAX, b->comm);
    if (b->tty)
      progress(b, what, k + 1, reps);
  }
  if (!err) {
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    st->med = reps % 2 ? times[reps / 2]
                       : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    st->min = times[0];
    st->max = times[reps - 1];
  }
  free(times);
  b->ops_done++;
  return err;
}

/* ---- the run ---------------------------------------------------------------
 */

static int run(const cli_env *env, const bench_args *args) {
  bench b = {.env = env, .args = args, .tty = isatty(2) != 0};
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &b.ctx);
  if (err)
    return cli_fail_lib(env, err);
  b.comm = dt_ctx_comm(b.ctx);
  b.threads = dt_num_threads();
  b.t_start = MPI_Wtime();
  for (int k = 0; k < NFAM; k++)
    if (!args->families || args->families >> k & 1u)
      b.ops_planned += families[k].rows;
  int status = bench_files_open(&b);
  if (!status)
    bench_table_header(&b);
  for (int k = 0; k < NFAM && !status && !err; k++) {
    if (args->families && !(args->families >> k & 1u))
      continue;
    b.family = families[k].name;
    err = families[k].run(&b);
    /* one family's cached storage must not crowd the next */
    dt_cache_release();
  }
  if (!args->quiet && env->rank == 0 && b.tty)
    fputs("\r\033[K", stderr);
  if (!status && err)
    status = b.failure ? cli_fail(env, "%s (%s)", b.failure, dt_err_name(err))
                       : cli_fail_lib(env, err);
  if (bench_files_close(&b))
    status = 1;
  dt_err derr = dt_ctx_destroy(&b.ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}

int cli_bench(const cli_env *env, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    if (env->rank == 0)
      fputs(bench_usage, stdout);
    return 0;
  }
  bench_args args;
  if (parse(env, argc, argv, &args))
    return 1;
  return run(env, &args);
}
