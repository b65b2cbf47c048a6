/*
 * bench_report.c - timing and reporting shared by the bench subcommands.
 *
 * A repetition's time is the slowest rank's, because a collective operation
 * is only done when its last rank is; the median over repetitions resists
 * the occasional hiccup of an oversubscribed or shared machine.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

dt_err bench_measure_setup(MPI_Comm comm, int reps, bench_fn setup, bench_fn fn,
                           void *arg, double *median) {
  *median = 0.0;
  double *times = malloc(sizeof *times * (size_t)reps);
  int ok = times != NULL, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, comm);
  if (!all_ok) {
    free(times);
    return DT_ERR_NOMEM;
  }
  dt_err err = setup ? setup(arg) : DT_OK;
  if (!err)
    err = fn(arg); /* warm-up */
  for (int k = 0; !err && k < reps; k++) {
    if (setup)
      err = setup(arg);
    if (err)
      break;
    MPI_Barrier(comm);
    double t0 = MPI_Wtime();
    err = fn(arg);
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(&dt, &times[k], 1, MPI_DOUBLE, MPI_MAX, comm);
  }
  if (!err) {
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    *median = reps % 2 ? times[reps / 2]
                       : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
  }
  free(times);
  return err;
}

dt_err bench_measure(MPI_Comm comm, int reps, bench_fn fn, void *arg,
                     double *median) {
  return bench_measure_setup(comm, reps, NULL, fn, arg, median);
}

typedef struct memset_job {
  unsigned char *buf;
  size_t bytes;
  int value;
} memset_job;

/* Reading one byte back keeps the compiler from dropping the memset as a
 * dead store into memory that is freed without being read. */
static volatile unsigned char memset_sink;

static dt_err memset_once(void *arg) {
  memset_job *j = arg;
  memset(j->buf, j->value, j->bytes);
  memset_sink = j->buf[j->bytes - 1];
  return DT_OK;
}

dt_err bench_memset_baseline(MPI_Comm comm, int reps, int64_t bytes, int value,
                             double *median) {
  *median = 0.0;
  memset_job j = {NULL, bytes > 0 ? (size_t)bytes : 1, value};
  j.buf = malloc(j.bytes);
  int ok = j.buf != NULL, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, comm);
  dt_err err = DT_ERR_NOMEM;
  if (all_ok) {
    /* Pre-touch so page faults are not part of the baseline. */
    memset(j.buf, value ^ 1, j.bytes);
    err = bench_measure(comm, reps, memset_once, &j, median);
  }
  free(j.buf);
  return err;
}

int bench_report_open(bench_report *r, const cli_env *env,
                      const char *json_path) {
  *r = (bench_report){.rank = env->rank,
                      .ranks = env->size,
                      .threads = dt_num_threads(),
                      .json = NULL,
                      .baseline = "none",
                      .baseline_gbps = NAN};
  int ok = 1;
  if (json_path && env->rank == 0) {
    r->json = fopen(json_path, "w");
    ok = r->json != NULL;
    if (!ok)
      cli_fail(env, "cannot open '%s' for writing: %s", json_path,
               strerror(errno));
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok ? 0 : 1;
}

void bench_report_header(const bench_report *r, const char *title,
                         const char *baseline_desc, const char *note) {
  if (r->rank != 0)
    return;
  printf("# %s\n", title);
  printf("# baseline (%s): %s: %.3f GB/s per rank\n", r->baseline,
         baseline_desc, r->baseline_gbps);
  if (note)
    printf("# %s\n", note);
  printf("# GB/s = bytes per rank / median seconds / 1e9; ratio = GB/s / "
         "baseline GB/s; per core = GB/s / threads\n");
  printf("%-10s %-8s %5s %7s %12s %11s %10s %9s %7s %10s\n", "op", "dtype",
         "ranks", "threads", "bytes/rank", "median_s", "GB/s", "base_GB/s",
         "ratio", "GB/s/core");
  fflush(stdout);
}

/* JSON has no inf or nan. */
static void json_number(FILE *f, const char *key, double x) {
  if (isfinite(x))
    fprintf(f, "\"%s\": %.9g", key, x);
  else
    fprintf(f, "\"%s\": null", key);
}

void bench_report_row(const bench_report *r, const char *op, const char *dtype,
                      int64_t bytes, double seconds) {
  /* the library settles its thread count at its first context */
  int threads = dt_num_threads();
  if (r->rank != 0)
    return;
  /* seconds == 0 (a timer too coarse for the op) gives inf: shown, not hidden.
   */
  double gbps = (double)bytes / seconds / 1e9;
  double ratio = gbps / r->baseline_gbps;
  printf("%-10s %-8s %5d %7d %12lld %11.6f %10.3f %9.3f %7.2f %10.3f\n", op,
         dtype, r->ranks, threads, (long long)bytes, seconds, gbps,
         r->baseline_gbps, ratio, gbps / threads);
  fflush(stdout);
  if (!r->json)
    return;
  fprintf(r->json,
          "{\"op\": \"%s\", \"dtype\": \"%s\", \"ranks\": %d, \"threads\": %d, "
          "\"bytes\": %lld, ",
          op, dtype, r->ranks, threads, (long long)bytes);
  json_number(r->json, "seconds_median", seconds);
  fputs(", ", r->json);
  json_number(r->json, "gbps", gbps);
  fprintf(r->json, ", \"baseline\": \"%s\", ", r->baseline);
  json_number(r->json, "baseline_gbps", r->baseline_gbps);
  fputs(", ", r->json);
  json_number(r->json, "ratio", ratio);
  fputs("}\n", r->json);
}

int bench_report_close(bench_report *r, const cli_env *env) {
  int ok = 1;
  if (r->json) {
    ok = !ferror(r->json);
    ok = (fclose(r->json) == 0) && ok;
    r->json = NULL;
    if (!ok)
      cli_fail(env, "writing the JSON file failed");
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok ? 0 : 1;
}

bool bench_all_ok(MPI_Comm comm, bool ok) {
  int mine = ok, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LAND, comm);
  return all != 0;
}

void *bench_touched(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p)
    memset(p, 0x5a, n ? n : 1);
  return p;
}

/* Reading one byte back keeps the memcpy from being dropped as a dead store. */
static volatile unsigned char memcpy_sink;

dt_err bench_memcpy_once(void *arg) {
  const bench_memcpy_job *j = arg;
  memcpy(j->dst, j->src, j->bytes);
  memcpy_sink = j->dst[j->bytes - 1];
  return DT_OK;
}

int bench_run(const cli_env *env, const bench_args *args,
              const bench_section *sections, int n, const char *const *why) {
  bench_report rep;
  if (bench_report_open(&rep, env, args->json))
    return 1;
  dt_ctx *ctx = NULL;
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &ctx);
  if (err) {
    bench_report_close(&rep, env);
    return cli_fail_lib(env, err);
  }
  for (int k = 0; k < n && !err; k++) {
    err = sections[k](ctx, &rep, args);
    dt_cache_release();
  }
  int status = !err          ? 0
               : why && *why ? cli_fail(env, "%s (%s)", *why, dt_err_name(err))
                             : cli_fail_lib(env, err);
  if (bench_report_close(&rep, env))
    status = 1;
  dt_err derr = dt_ctx_destroy(&ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
