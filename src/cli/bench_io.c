/*
 * bench_io.c - `dtensor bench io`: dt_save and dt_load of one float32 tensor
 * of --size bytes in total (default 1 GiB), split on axis 0, against raw
 * POSIX I/O of the same bytes in the same directory (--dir, default .), in
 * the same run. Each repetition's time is the slowest rank's; the median of
 * --reps (default 5) after one untimed warm-up is reported.
 *
 * What each row times:
 *   raw_write      rank 0 creates and truncates DIR/dtensor-bench-io.<id>.raw;
 *                  then every rank open()s it, pwrite()s its part (the
 *                  tensor's own shard) at its offset, fsync()s and closes.
 *   save           dt_save of the tensor to DIR/dtensor-bench-io.<id>.h5,
 *                  all of it: checksum, temporary file, collective writes,
 *                  H5Fflush (MPI_File_sync, an fsync on every rank), close,
 *                  fsync, rename over the previous file, directory fsync.
 *   raw_read       every rank open()s the raw file, pread()s its part into a
 *                  preallocated, pretouched buffer, closes.
 *   load           dt_load into split axis 0: open, validation, the shard's
 *                  allocation, collective reads, close, checksum check.
 *   *_warm         the same reads without evicting the page cache first.
 * Before every repetition of raw_read and load (untimed) each rank drops
 * both files from its node's page cache with posix_fadvise(DONTNEED), so
 * those reads come from the device; the warm rows read from memory.
 * Ratios: save / raw_write, load / raw_read, load_warm / raw_read_warm.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct io_job {
  dt_ctx *ctx;
  char h5[4096], raw[4096];
  dt_tensor *t; /* the saved tensor */
  int64_t off;  /* this rank's byte offset in the raw file */
  int64_t len;  /* and its byte count */
  char *buf;    /* raw_read's destination */
} io_job;

/* One MPI_Allreduce: DT_ERR_IO everywhere when any rank failed. */
static dt_err agree_io(MPI_Comm comm, bool ok) {
  int in = ok, all = 0;
  MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_LAND, comm);
  return all ? DT_OK : DT_ERR_IO;
}

static dt_err do_save(void *arg) {
  io_job *j = arg;
  const char *name = "x";
  const dt_tensor *ts[1] = {j->t};
  return dt_save(j->ctx, j->h5, 1, &name, ts, NULL);
}

static dt_err do_load(void *arg) {
  io_job *j = arg;
  dt_tensor *t = NULL;
  dt_err err = dt_load(j->ctx, j->h5, "x", NULL, &t);
  dt_tensor_destroy(&t);
  return err;
}

static bool pio(int fd, char *p, int64_t len, int64_t off, bool write) {
  while (len > 0) {
    size_t n = len > (1 << 30) ? (size_t)1 << 30 : (size_t)len;
    ssize_t k =
        write ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    p += k;
    off += k;
    len -= k;
  }
  return true;
}

static dt_err do_raw_write(void *arg) {
  io_job *j = arg;
  MPI_Comm comm = dt_ctx_comm(j->ctx);
  bool ok = true;
  if (dt_ctx_rank(j->ctx) == 0) {
    int fd = open(j->raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok = fd >= 0;
    if (ok)
      close(fd);
  }
  dt_err err = agree_io(comm, ok);
  if (err)
    return err;
  int fd = open(j->raw, O_WRONLY);
  ok = fd >= 0 && pio(fd, dt_local_data(j->t), j->len, j->off, true) &&
       fsync(fd) == 0;
  if (fd >= 0)
    ok = close(fd) == 0 && ok;
  return agree_io(comm, ok);
}

static dt_err do_raw_read(void *arg) {
  io_job *j = arg;
  int fd = open(j->raw, O_RDONLY);
  bool ok = fd >= 0 && pio(fd, j->buf, j->len, j->off, false);
  if (fd >= 0)
    close(fd);
  return agree_io(dt_ctx_comm(j->ctx), ok);
}

/* Untimed, before every cold read: drop both files from the page cache
 * (best effort; it never fails the run). */
static dt_err evict(void *arg) {
  io_job *j = arg;
  const char *files[2] = {j->h5, j->raw};
  for (int k = 0; k < 2; k++) {
    int fd = open(files[k], O_RDONLY);
    if (fd < 0)
      continue;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
  return DT_OK;
}

typedef struct row {
  const char *op;
  bench_fn setup, fn;
  int baseline; /* index of the row this one is compared with */
} row;

int bench_io(const cli_env *env, const bench_args *args) {
  int64_t total = args->size_given ? args->bytes : (int64_t)1 << 30;
  int reps = args->reps_given ? args->reps : 5;
  const char *dir = args->dir ? args->dir : ".";
  int64_t n = total / 4;
  if (n < env->size)
    return cli_fail(env, "--size %lld is too small for %d ranks",
                    (long long)total, env->size);
  bench_report rep;
  if (bench_report_open(&rep, env, args->json))
    return 1;
  io_job j;
  memset(&j, 0, sizeof j);
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &j.ctx);
  if (err) {
    bench_report_close(&rep, env);
    return cli_fail_lib(env, err);
  }
  MPI_Comm comm = dt_ctx_comm(j.ctx);
  long id = (long)getpid();
  MPI_Bcast(&id, 1, MPI_LONG, 0, comm);
  snprintf(j.h5, sizeof j.h5, "%s/dtensor-bench-io.%ld.h5", dir, id);
  snprintf(j.raw, sizeof j.raw, "%s/dtensor-bench-io.%ld.raw", dir, id);

  err = dt_rand(j.ctx, 1, &n, NULL, &j.t);
  if (!err) {
    int64_t start = 0, len = 0;
    dt_local_box(j.t, &start, &len);
    j.off = start * 4;
    j.len = len * 4;
    j.buf = malloc((size_t)j.len + 1);
    if (j.buf)
      memset(j.buf, 1, (size_t)j.len); /* pretouched */
    if (agree_io(comm, j.buf != NULL) != DT_OK)
      err = DT_ERR_NOMEM;
  }

  /* Rows in order; writes first so the reads find the files. */
  const row rows[] = {
      {"raw_write", NULL, do_raw_write, 0},    {"save", NULL, do_save, 0},
      {"raw_read", evict, do_raw_read, 2},     {"load", evict, do_load, 2},
      {"raw_read_warm", NULL, do_raw_read, 4}, {"load_warm", NULL, do_load, 4},
  };
  enum { NROWS = sizeof rows / sizeof rows[0] };
  double secs[NROWS] = {0};
  for (int k = 0; !err && k < NROWS; k++)
    err = bench_measure_setup(comm, reps, rows[k].setup, rows[k].fn, &j,
                              &secs[k]);
  if (!err) {
    int64_t per_rank = total / env->size;
    char title[512];
    snprintf(title, sizeof title,
             "dtensor bench io: dt_save / dt_load of one float32 tensor of "
             "%lld bytes in total (%lld per rank), split on axis 0, in '%s'; "
             "median of %d reps of the slowest rank",
             (long long)total, (long long)per_rank, dir, reps);
    rep.baseline = "raw_write";
    rep.baseline_gbps = (double)per_rank / secs[0] / 1e9;
    bench_report_header(
        &rep, title,
        "every rank pwrite()s its part of one shared file in the same "
        "directory, then fsync()s (raw_read: pread(); cold rows after "
        "posix_fadvise(DONTNEED), *_warm from the page cache)",
        "ratio: save vs raw_write, load vs raw_read, load_warm vs "
        "raw_read_warm");
    for (int k = 0; k < NROWS; k++) {
      int b = rows[k].baseline;
      rep.baseline = rows[b].op;
      rep.baseline_gbps = (double)per_rank / secs[b] / 1e9;
      bench_report_row(&rep, rows[k].op, "float32", per_rank, secs[k]);
    }
    if (env->rank == 0)
      printf("# aggregate GB/s (all ranks): raw_write %.3f, save %.3f, "
             "raw_read %.3f, load %.3f, raw_read_warm %.3f, load_warm %.3f\n",
             (double)total / secs[0] / 1e9, (double)total / secs[1] / 1e9,
             (double)total / secs[2] / 1e9, (double)total / secs[3] / 1e9,
             (double)total / secs[4] / 1e9, (double)total / secs[5] / 1e9);
  }

  int status = err ? cli_fail_lib(env, err) : 0;
  if (env->rank == 0) {
    unlink(j.h5);
    unlink(j.raw);
  }
  free(j.buf);
  dt_tensor_destroy(&j.t);
  dt_cache_release();
  if (bench_report_close(&rep, env))
    status = 1;
  dt_err derr = dt_ctx_destroy(&j.ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
