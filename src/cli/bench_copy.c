/*
 * bench_copy.c - `dtensor bench copy`: the three copies of the copy table at
 * about --size bytes per rank, each against the raw operation that bounds it:
 *
 *   clone     dt_clone + destroy of a float32 tensor split on axis 0, against
 *             memcpy between two pre-touched buffers (no data moves between
 *             ranks in either);
 *   copy_     dt_copy_ from an n x n float32 tensor split on axis 0 into one
 *             split on axis 1 (every rank sends 1/P of its shard to every
 *             rank), against MPI_Alltoall of the same bytes;
 *   deepcopy  dt_deepcopy + destroy (gather to rank 0 and scatter back,
 *             streamed in chunks of the context's budget), against
 *             MPI_Gatherv of every shard to rank 0 followed by MPI_Scatterv.
 *
 * Each baseline is measured in the same run and timed the same way as its
 * operation (bench_measure: median of the slowest rank). Clone and deepcopy
 * time create + destroy together: the library caches freed storage, so after
 * the warm-up this is the steady-state copy.
 */
#include "bench.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Failures the library did not report (its dt_last_error would be stale):
 * the section sets this for bench_copy's message. */
static const char *failure;

static dt_err fail(dt_err err, const char *why) {
  failure = why;
  return err;
}

static dt_err mpi_err(int rc, const char *call) {
  return rc == MPI_SUCCESS ? DT_OK : fail(DT_ERR_MPI, call);
}

/* ---- the operations ------------------------------------------------------ */

typedef struct tensor_job {
  const dt_tensor *src;
} tensor_job;

static dt_err clone_once(void *arg) {
  const tensor_job *j = arg;
  dt_tensor *c = NULL;
  dt_err err = dt_clone(j->src, &c);
  dt_tensor_destroy(&c);
  return err;
}

typedef struct copy_job {
  dt_tensor *dst;
  const dt_tensor *src;
} copy_job;

static dt_err copy_once(void *arg) {
  const copy_job *j = arg;
  return dt_copy_(j->dst, j->src);
}

static dt_err deepcopy_once(void *arg) {
  const tensor_job *j = arg;
  dt_tensor *c = NULL;
  dt_err err = dt_deepcopy(j->src, NULL, &c);
  dt_tensor_destroy(&c);
  return err;
}

/* ---- the baselines ------------------------------------------------------- */

typedef struct alltoall_job {
  float *send, *recv;
  int count; /* floats to each rank */
} alltoall_job;

static dt_err alltoall_once(void *arg) {
  const alltoall_job *j = arg;
  return mpi_err(MPI_Alltoall(j->send, j->count, MPI_FLOAT, j->recv, j->count,
                              MPI_FLOAT, MPI_COMM_WORLD),
                 "MPI_Alltoall failed");
}

typedef struct gather_job {
  float *mine, *back, *full; /* full: rank 0 only */
  int count;                 /* floats per rank */
  int *counts, *displs;
} gather_job;

static dt_err gather_scatter_once(void *arg) {
  const gather_job *j = arg;
  int rc = MPI_Gatherv(j->mine, j->count, MPI_FLOAT, j->full, j->counts,
                       j->displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
  if (rc == MPI_SUCCESS)
    rc = MPI_Scatterv(j->full, j->counts, j->displs, MPI_FLOAT, j->back,
                      j->count, MPI_FLOAT, 0, MPI_COMM_WORLD);
  return mpi_err(rc, "MPI_Gatherv or MPI_Scatterv failed");
}

/* ---- one section per operation ------------------------------------------- */

/* Floats per rank for --size (at least one). */
static int64_t floats_per_rank(int64_t bytes) {
  return bytes / 4 > 0 ? bytes / 4 : 1;
}

/* A tensor of the global shape, split on `axis`, filled with a nonzero value
 * so no path can profit from zero pages. */
static dt_err make_f32(dt_ctx *ctx, int ndim, const int64_t *shape, int axis,
                       dt_tensor **out) {
  const dt_opts o = {
      .dtype = DT_FLOAT32, .layout = DT_SPLIT, .split_axis = axis};
  return dt_full(ctx, ndim, shape, DT_F(1.5), &o, out);
}

/* Collective: DT_ERR_CHECKSUM on every rank when a and b differ. */
static dt_err same_checksum(const dt_tensor *a, const dt_tensor *b) {
  uint64_t ca = 0, cb = 0;
  dt_err err = dt_checksum(a, &ca);
  if (!err)
    err = dt_checksum(b, &cb);
  if (!err && ca != cb)
    err = fail(DT_ERR_CHECKSUM, "the copy's checksum differs from the "
                                "source's: the library copied wrong data");
  return err;
}

static dt_err bench_clone(dt_ctx *ctx, bench_report *rep,
                          const bench_args *args) {
  MPI_Comm comm = dt_ctx_comm(ctx);
  int64_t count = floats_per_rank(args->bytes), bytes = count * 4;
  bench_memcpy_job mj = {bench_touched((size_t)bytes),
                         bench_touched((size_t)bytes), (size_t)bytes};
  double base = 0.0, secs = 0.0;
  dt_err err = bench_all_ok(comm, mj.dst && mj.src)
                   ? DT_OK
                   : fail(DT_ERR_NOMEM, "cannot allocate the memcpy buffers");
  if (!err)
    err = bench_measure(comm, args->reps, bench_memcpy_once, &mj, &base);
  free(mj.dst);
  free((void *)mj.src);

  const int64_t shape[1] = {count * rep->ranks};
  dt_tensor *t = NULL;
  if (!err)
    err = make_f32(ctx, 1, shape, 0, &t);
  tensor_job cj = {t};
  if (!err)
    err = bench_measure(comm, args->reps, clone_once, &cj, &secs);
  if (!err) {
    dt_tensor *c = NULL;
    err = dt_clone(t, &c);
    if (!err)
      err = same_checksum(t, c);
    dt_tensor_destroy(&c);
  }
  dt_tensor_destroy(&t);
  if (err)
    return err;

  rep->baseline = "memcpy";
  rep->baseline_gbps = (double)bytes / base / 1e9;
  char title[256];
  snprintf(title, sizeof title,
           "dtensor bench copy: clone + destroy of a float32 tensor of %lld "
           "bytes per rank (1-D, split on axis 0), median of %d reps of the "
           "slowest rank",
           (long long)bytes, args->reps);
  bench_report_header(rep, title,
                      "memcpy of bytes per rank between two pre-allocated, "
                      "pre-touched buffers, one thread, timed the same way",
                      "target: ratio >= 0.80");
  bench_report_row(rep, "clone", "float32", bytes, secs);
  return DT_OK;
}

static dt_err bench_copy_(dt_ctx *ctx, bench_report *rep,
                          const bench_args *args) {
  MPI_Comm comm = dt_ctx_comm(ctx);
  int P = rep->ranks;
  /* n x n with n a multiple of P: both splits are even and every rank sends
   * every rank (itself included) (n / P)^2 floats. */
  int64_t n = (int64_t)sqrt((double)P * (double)floats_per_rank(args->bytes));
  n = n / P * P > 0 ? n / P * P : P;
  int64_t k = n / P, bytes = n * k * 4;
  if (k * k > INT_MAX)
    return fail(DT_ERR_OVERFLOW, "--size is too large for the Alltoall count");
  alltoall_job aj = {bench_touched((size_t)bytes), bench_touched((size_t)bytes),
                     (int)(k * k)};
  double base = 0.0, secs = 0.0;
  dt_err err = bench_all_ok(comm, aj.send && aj.recv)
                   ? DT_OK
                   : fail(DT_ERR_NOMEM, "cannot allocate the Alltoall buffers");
  if (!err)
    err = bench_measure(comm, args->reps, alltoall_once, &aj, &base);
  free(aj.send);
  free(aj.recv);

  const int64_t shape[2] = {n, n};
  dt_tensor *src = NULL, *dst = NULL;
  if (!err)
    err = make_f32(ctx, 2, shape, 0, &src);
  if (!err)
    err = make_f32(ctx, 2, shape, 1, &dst);
  copy_job cj = {dst, src};
  if (!err)
    err = bench_measure(comm, args->reps, copy_once, &cj, &secs);
  if (!err)
    err = same_checksum(src, dst);
  dt_tensor_destroy(&src);
  dt_tensor_destroy(&dst);
  if (err)
    return err;

  rep->baseline = "alltoall";
  rep->baseline_gbps = (double)bytes / base / 1e9;
  char title[256];
  snprintf(title, sizeof title,
           "dtensor bench copy: copy_ of a %lld x %lld float32 tensor split on "
           "axis 0 into one split on axis 1, %lld bytes per rank, median of %d "
           "reps of the slowest rank",
           (long long)n, (long long)n, (long long)bytes, args->reps);
  bench_report_header(rep, title,
                      "MPI_Alltoall of bytes per rank (bytes / ranks to every "
                      "rank, itself included) between pre-allocated, "
                      "pre-touched buffers, timed the same way",
                      "target: ratio >= 0.60");
  bench_report_row(rep, "copy_", "float32", bytes, secs);
  return DT_OK;
}

static dt_err bench_deepcopy(dt_ctx *ctx, bench_report *rep,
                             const bench_args *args) {
  MPI_Comm comm = dt_ctx_comm(ctx);
  int P = rep->ranks;
  int64_t count = floats_per_rank(args->bytes), bytes = count * 4;
  /* MPI counts and displacements are int (here in floats). */
  if (count * P > INT_MAX) {
    if (rep->rank == 0)
      printf("# deepcopy skipped: %lld floats over %d ranks exceed the int "
             "range of the Gatherv baseline\n",
             (long long)count, P);
    return DT_OK;
  }
  gather_job gj = {bench_touched((size_t)bytes),
                   bench_touched((size_t)bytes),
                   NULL,
                   (int)count,
                   malloc(sizeof(int) * (size_t)P),
                   malloc(sizeof(int) * (size_t)P)};
  if (rep->rank == 0)
    gj.full = bench_touched((size_t)bytes * (size_t)P);
  bool ok = gj.mine && gj.back && gj.counts && gj.displs &&
            (rep->rank != 0 || gj.full);
  for (int r = 0; ok && r < P; r++) {
    gj.counts[r] = (int)count;
    gj.displs[r] = (int)count * r;
  }
  double base = 0.0, secs = 0.0;
  dt_err err = bench_all_ok(comm, ok)
                   ? DT_OK
                   : fail(DT_ERR_NOMEM, "cannot allocate the Gatherv buffers");
  if (!err)
    err = bench_measure(comm, args->reps, gather_scatter_once, &gj, &base);
  free(gj.mine);
  free(gj.back);
  free(gj.full);
  free(gj.counts);
  free(gj.displs);

  const int64_t shape[1] = {count * P};
  dt_tensor *t = NULL;
  if (!err)
    err = make_f32(ctx, 1, shape, 0, &t);
  tensor_job cj = {t};
  if (!err)
    err = bench_measure(comm, args->reps, deepcopy_once, &cj, &secs);
  if (!err) {
    dt_tensor *c = NULL;
    err = dt_deepcopy(t, NULL, &c);
    if (!err)
      err = same_checksum(t, c);
    dt_tensor_destroy(&c);
  }
  dt_tensor_destroy(&t);
  if (err)
    return err;

  rep->baseline = "gatherv+scatterv";
  rep->baseline_gbps = (double)bytes / base / 1e9;
  char title[256], note[256];
  snprintf(title, sizeof title,
           "dtensor bench copy: deepcopy + destroy of a float32 tensor of "
           "%lld bytes per rank (1-D, split on axis 0, chunk budget %zu "
           "bytes), median of %d reps of the slowest rank",
           (long long)bytes, dt_ctx_chunk_budget(ctx), args->reps);
  snprintf(note, sizeof note,
           "deepcopy takes %.2fx the time of Gatherv+Scatterv (%.6f s vs "
           "%.6f s; target <= 1.50); ratio below = the inverse",
           secs / base, secs, base);
  bench_report_header(rep, title,
                      "MPI_Gatherv of every shard to rank 0 into a full-size "
                      "buffer, then MPI_Scatterv back, pre-allocated, "
                      "pre-touched buffers, timed the same way",
                      note);
  bench_report_row(rep, "deepcopy", "float32", bytes, secs);
  return DT_OK;
}

int bench_copy(const cli_env *env, const bench_args *args) {
  /* Keep the global sizes (and the full Gatherv buffer) within range. */
  if (args->bytes > INT64_MAX / 4 / env->size)
    return cli_fail(env, "--size %lld is too large for %d ranks",
                    (long long)args->bytes, env->size);
  const bench_section sections[] = {bench_clone, bench_copy_, bench_deepcopy};
  return bench_run(env, args, sections, 3, &failure);
}
