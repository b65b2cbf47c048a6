/*
 * bench_io.c - family "io": dt_save and dt_load of one float32 tensor of
 * --size bytes per rank (1-D, split on axis 0), against raw POSIX I/O of the
 * same bytes in the same directory (--dir, default .), in the same run:
 *
 *   save       dt_save to DIR/dtensor-bench-io.<id>.h5, all of it (checksum,
 *              temporary file, collective writes, flushes, rename, directory
 *              fsync), against: rank 0 creates and truncates
 *              DIR/dtensor-bench-io.<id>.raw, then every rank open()s it,
 *              pwrite()s its shard at its offset, fsync()s and closes;
 *   load       dt_load into split axis 0 (open, validation, allocation,
 *              collective reads, checksum check) against every rank
 *              pread()ing its part into a page-aligned, pre-touched buffer;
 *              before every repetition (untimed) each rank drops both files
 *              from its node's page cache with posix_fadvise(DONTNEED), so
 *              the reads come from the device;
 *   load.warm  the same without the eviction: both read the page cache.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bench *cur; /* for messages from the raw I/O functions */

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
    return bench_fail(cur, err, "cannot create the raw file in --dir");
  int fd = open(j->raw, O_WRONLY);
  ok = fd >= 0 && pio(fd, dt_local_data(j->t), j->len, j->off, true) &&
       fsync(fd) == 0;
  if (fd >= 0)
    ok = close(fd) == 0 && ok;
  err = agree_io(comm, ok);
  return err ? bench_fail(cur, err, "raw open/pwrite/fsync in --dir failed")
             : DT_OK;
}

static dt_err do_raw_read(void *arg) {
  io_job *j = arg;
  int fd = open(j->raw, O_RDONLY);
  bool ok = fd >= 0 && pio(fd, j->buf, j->len, j->off, false);
  if (fd >= 0)
    close(fd);
  dt_err err = agree_io(dt_ctx_comm(j->ctx), ok);
  return err ? bench_fail(cur, err, "raw open/pread in --dir failed") : DT_OK;
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

/* One row: the library's op against its raw limit. */
static dt_err io_row(bench *b, io_job *j, const char *op, bench_fn setup,
                     bench_fn fn, const char *limit, bench_fn lsetup,
                     bench_fn lfn, double target) {
  bench_row r = {.op = op, .dtype = "float32", .unit = BENCH_GBPS,
                 .bytes = j->len, .global_bytes = j->len * b->env->size,
                 .limit = limit, .target = target};
  char what[64];
  snprintf(what, sizeof what, "limit %s", limit);
  b->ops_planned++;
  dt_err err = bench_time(b, what, lsetup, lfn, j, &r.lim);
  if (!err)
    err = bench_time(b, op, setup, fn, j, &r.t);
  if (!err)
    bench_emit(b, &r);
  return err;
}

dt_err bench_io(bench *b) {
  bool save = bench_wants(b, "save", "float32");
  bool load = bench_wants(b, "load", "float32");
  bool warm = bench_wants(b, "load.warm", "float32");
  if (!save && !load && !warm)
    return DT_OK;
  int64_t n = b->args->bytes / 4 * b->env->size;
  cur = b;
  io_job j;
  memset(&j, 0, sizeof j);
  j.ctx = b->ctx;
  long id = (long)getpid();
  MPI_Bcast(&id, 1, MPI_LONG, 0, b->comm);
  snprintf(j.h5, sizeof j.h5, "%s/dtensor-bench-io.%ld.h5", b->args->dir, id);
  snprintf(j.raw, sizeof j.raw, "%s/dtensor-bench-io.%ld.raw", b->args->dir,
           id);

  dt_err err = dt_rand(j.ctx, 1, &n, NULL, &j.t);
  if (!err) {
    int64_t start = 0, len = 0;
    dt_local_box(j.t, &start, &len);
    j.off = start * 4;
    j.len = len * 4;
    /* page-aligned, as O_DIRECT-style readers use */
    if (posix_memalign((void **)&j.buf, 4096, (size_t)j.len + 1) != 0)
      j.buf = NULL;
    if (j.buf)
      memset(j.buf, 1, (size_t)j.len); /* pretouched */
    if (agree_io(b->comm, j.buf != NULL) != DT_OK)
      err = bench_fail(b, DT_ERR_NOMEM, "cannot allocate the read buffer");
  }
  /* The files exist after the writes, whatever --ops chose. */
  if (!err)
    err = save ? io_row(b, &j, "save", NULL, do_save, "pwrite+fsync", NULL,
                        do_raw_write, 0.85)
               : do_save(&j);
  if (!err && !save)
    err = do_raw_write(&j);
  if (!err && load)
    err = io_row(b, &j, "load", evict, do_load, "pread(cold)", evict,
                 do_raw_read, NAN);
  if (!err && warm)
    err = io_row(b, &j, "load.warm", NULL, do_load, "pread(warm)", NULL,
                 do_raw_read, 0.8);
  if (b->env->rank == 0) {
    unlink(j.h5);
    unlink(j.raw);
  }
  free(j.buf);
  dt_tensor_destroy(&j.t);
  return err;
}
