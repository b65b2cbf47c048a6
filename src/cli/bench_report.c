/*
 * bench_report.c - where rows go: a table on stdout, CSV and JSON files that
 * start with the run's metadata (what ran, where, how), so a file read a year
 * later still says which library, MPI, HDF5 and machine made its numbers.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { NMETA = 32 }; /* room to grow: meta_set drops keys past it */

typedef struct meta {
  const char *key;
  char value[256];
} meta;

static meta run_meta[NMETA];
static int nmeta;

static void meta_set(const char *key, const char *fmt, ...) CLI_PRINTF(2, 3);
static void meta_set(const char *key, const char *fmt, ...) {
  if (nmeta == NMETA)
    return;
  meta *m = &run_meta[nmeta++];
  m->key = key;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->value, sizeof m->value, fmt, ap);
  va_end(ap);
  /* one line, no quotes: safe in CSV comments and JSON strings */
  for (char *p = m->value; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '"' || *p == '\\' || *p == '\t')
      *p = ' ';
}

static void cpu_model(char *buf, size_t len) {
  snprintf(buf, len, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return;
  char line[512];
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0 ||
        strncmp(line, "Model", 5) == 0) {
      char *c = strchr(line, ':');
      if (c) {
        c++;
        while (*c == ' ')
          c++;
        snprintf(buf, len, "%s", c);
        buf[strcspn(buf, "\n")] = '\0';
      }
      break;
    }
  fclose(f);
}

static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

/* Collective (ranks per node); rank 0's values are the ones written. */
static void gather_meta(const bench *b) {
  nmeta = 0;
  int local = 1;
  MPI_Comm node;
  if (MPI_Comm_split_type(b->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                          &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
  }
  char host[256] = "unknown";
  if (gethostname(host, sizeof host) != 0)
    snprintf(host, sizeof host, "unknown");
  host[sizeof host - 1] = '\0';
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "unknown";
  int mlen = 0;
  if (MPI_Get_library_version(mpi, &mlen) == MPI_SUCCESS)
    mpi[strcspn(mpi, "\n,")] = '\0'; /* the first line says name + version */
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  char date[64] = "unknown";
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm))
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);

  meta_set("dtensor_version", "%s", dt_version());
  meta_set("git_commit", "%s", dt_build_info("git_commit"));
  meta_set("build_type", "%s", dt_build_info("build_type"));
  meta_set("compiler", "%s", dt_build_info("compiler"));
  meta_set("kernels", "%s", dt_build_info("kernels"));
  meta_set("host", "%s", host);
  meta_set("mpi_library", "%s", mpi);
  meta_set("hdf5_version", "%s", dt_build_info("hdf5"));
  meta_set("cpu_model", "%s", cpu);
  meta_set("cores", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
  meta_set("ranks", "%d", b->env->size);
  meta_set("ranks_per_node", "%d", local);
  meta_set("threads", "%d", b->threads);
  meta_set("binding", "OMP_PROC_BIND=%s OMP_PLACES=%s",
           env_or("OMP_PROC_BIND", "unset"), env_or("OMP_PLACES", "unset"));
  meta_set("scaling", "%s", b->args->strong ? "strong" : "weak");
  meta_set("size", "%lld", (long long)b->args->size);
  meta_set("bytes_per_rank", "%lld", (long long)b->args->bytes);
  meta_set("reps", "%d", b->args->reps);
  meta_set("date", "%s", date);
}

static const char *meta_get(const char *key) {
  for (int k = 0; k < nmeta; k++)
    if (strcmp(run_meta[k].key, key) == 0)
      return run_meta[k].value;
  return "unknown";
}

static const char csv_header[] =
    "family,op,dtype,ranks,threads,scaling,bytes_rank,bytes_global,median_s,"
    "min_s,max_s,unit,value,limit,limit_value,ratio,target,status";

int bench_files_open(bench *b) {
  gather_meta(b);
  int ok = 1;
  if (b->env->rank == 0) {
    const char *paths[2] = {b->args->csv, b->args->json};
    FILE **files[2] = {&b->csv, &b->json};
    for (int k = 0; k < 2 && ok; k++) {
      if (!paths[k])
        continue;
      *files[k] = fopen(paths[k], "w");
      if (!*files[k]) {
        cli_fail(b->env, "cannot open '%s' for writing: %s", paths[k],
                 strerror(errno));
        ok = 0;
      }
    }
    if (b->csv) {
      for (int k = 0; k < nmeta; k++)
        fprintf(b->csv, "# %s: %s\n", run_meta[k].key, run_meta[k].value);
      fprintf(b->csv, "%s\n", csv_header);
    }
    if (b->json) {
      fputs("{\"meta\": {", b->json);
      for (int k = 0; k < nmeta; k++)
        fprintf(b->json, "%s\n  \"%s\": \"%s\"", k ? "," : "", run_meta[k].key,
                run_meta[k].value);
      fputs("},\n\"rows\": [", b->json);
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok ? 0 : 1;
}

static int close_one(FILE **f) {
  if (!*f)
    return 1;
  int ok = !ferror(*f);
  ok = (fclose(*f) == 0) && ok;
  *f = NULL;
  return ok;
}

int bench_files_close(bench *b) {
  int ok = 1;
  if (b->env->rank == 0) {
    if (b->json)
      fputs("\n]}\n", b->json);
    ok = close_one(&b->csv) && ok;
    ok = close_one(&b->json) && ok;
    if (!ok)
      cli_fail(b->env, "writing the CSV or JSON file failed");
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok ? 0 : 1;
}

void bench_table_header(const bench *b) {
  if (b->env->rank != 0)
    return;
  printf("# dtensor bench %s (%s): %d ranks x %d threads, %lld bytes per "
         "rank (%s scaling), %d reps; MPI %s; HDF5 %s\n",
         dt_version(), dt_build_info("git_commit"), b->env->size, b->threads,
         (long long)b->args->bytes, b->args->strong ? "strong" : "weak",
         b->args->reps, meta_get("mpi_library"), dt_build_info("hdf5"));
  printf("# times: slowest rank, median [min, max] over the reps; GB/s = "
         "bytes per rank / median; ratio = limit time / op time\n");
  printf("%-26s %-8s %5s %3s %11s %10s %10s %10s %9s %-8s %-16s %9s %6s "
         "%6s %s\n",
         "op", "dtype", "ranks", "thr", "bytes/rank", "median_s", "min_s",
         "max_s", "value", "unit", "limit", "limit_val", "ratio", "target",
         "status");
  fflush(stdout);
}

/* The row's value and its limit's, in the row's unit. */
static void values(const bench_row *r, double *v, double *lv, double *ratio) {
  *v = *lv = NAN;
  switch (r->unit) {
  case BENCH_GBPS:
    *v = (double)r->bytes / r->t.med / 1e9;
    *lv = (double)r->bytes / r->lim.med / 1e9;
    break;
  case BENCH_USEC:
    *v = r->t.med * 1e6;
    *lv = r->lim.med * 1e6;
    break;
  case BENCH_GFLOPS:
    *v = r->flops / r->t.med / 1e9;
    *lv = NAN;
    break;
  }
  if (!r->limit)
    *lv = NAN;
  *ratio = r->limit && r->t.med > 0 ? r->lim.med / r->t.med : NAN;
}

static const char *unit_name(bench_unit u) {
  return u == BENCH_GBPS ? "GB/s" : u == BENCH_USEC ? "us" : "GFLOP/s";
}

/* CSV and JSON have no inf or nan: an empty field / null. */
static void csv_num(FILE *f, double x, const char *sep) {
  if (isfinite(x))
    fprintf(f, "%.6g%s", x, sep);
  else
    fputs(sep, f);
}

static void json_num(FILE *f, const char *key, double x) {
  if (isfinite(x))
    fprintf(f, ", \"%s\": %.6g", key, x);
  else
    fprintf(f, ", \"%s\": null", key);
}

void bench_emit(bench *b, const bench_row *r) {
  if (b->env->rank != 0)
    return;
  double v, lv, ratio;
  values(r, &v, &lv, &ratio);
  const char *status = !isfinite(r->target) || !isfinite(ratio) ? "-"
                       : ratio >= r->target                     ? "ok"
                                                                : "below";
  char target[16] = "-";
  if (isfinite(r->target))
    snprintf(target, sizeof target, "%.2f", r->target);
  const char *limit = r->limit ? r->limit : "-";
  const char *scaling = b->args->strong ? "strong" : "weak";
  int ranks = b->env->size, thr = b->threads;
  if (b->tty && !b->args->quiet)
    fputs("\r\033[K", stderr);
  char lvs[24] = "-", ratios[16] = "-";
  if (isfinite(lv))
    snprintf(lvs, sizeof lvs, "%.3f", lv);
  if (isfinite(ratio))
    snprintf(ratios, sizeof ratios, "%.2f", ratio);
  printf("%-26s %-8s %5d %3d %11lld %10.6f %10.6f %10.6f %9.3f %-8s %-16s "
         "%9s %6s %6s %s\n",
         r->op, r->dtype, ranks, thr, (long long)r->bytes, r->t.med, r->t.min,
         r->t.max, v, unit_name(r->unit), limit, lvs, ratios, target, status);
  fflush(stdout);
  if (b->csv) {
    fprintf(b->csv, "%s,%s,%s,%d,%d,%s,%lld,%lld,", b->family, r->op, r->dtype,
            ranks, thr, scaling, (long long)r->bytes,
            (long long)r->global_bytes);
    csv_num(b->csv, r->t.med, ",");
    csv_num(b->csv, r->t.min, ",");
    csv_num(b->csv, r->t.max, ",");
    fprintf(b->csv, "%s,", unit_name(r->unit));
    csv_num(b->csv, v, ",");
    fprintf(b->csv, "%s,", r->limit ? r->limit : "");
    csv_num(b->csv, lv, ",");
    csv_num(b->csv, ratio, ",");
    csv_num(b->csv, r->target, ",");
    fprintf(b->csv, "%s\n", status);
  }
  if (b->json) {
    fprintf(b->json,
            "%s\n  {\"family\": \"%s\", \"op\": \"%s\", \"dtype\": \"%s\", "
            "\"ranks\": %d, \"threads\": %d, \"scaling\": \"%s\", "
            "\"bytes_rank\": %lld, \"bytes_global\": %lld",
            b->json_rows++ ? "," : "", b->family, r->op, r->dtype, ranks, thr,
            scaling, (long long)r->bytes, (long long)r->global_bytes);
    json_num(b->json, "median_s", r->t.med);
    json_num(b->json, "min_s", r->t.min);
    json_num(b->json, "max_s", r->t.max);
    fprintf(b->json, ", \"unit\": \"%s\"", unit_name(r->unit));
    json_num(b->json, "value", v);
    if (r->limit)
      fprintf(b->json, ", \"limit\": \"%s\"", r->limit);
    else
      fputs(", \"limit\": null", b->json);
    json_num(b->json, "limit_value", lv);
    json_num(b->json, "ratio", ratio);
    json_num(b->json, "target", r->target);
    fprintf(b->json, ", \"status\": \"%s\"}", status);
  }
}
