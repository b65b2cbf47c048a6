/*
 * bench_copy.c - family "copy": the copies of PyTorch's copy table at about
 * --size bytes per rank, each against the raw operation that bounds it,
 * measured in the same run with the same timing:
 *
 *   clone                 dt_clone + destroy of a float32 tensor split on
 *                         axis 0, against the best of memcpy and a
 *                         non-temporal copy of the shard (no data moves
 *                         between ranks in either);
 *   copy_ split0->split1  dt_copy_ between n x n float32 tensors,
 *   copy_ split->repl     ... split on axis 0 into replicated,
 *   copy_ split->grid     ... split on axis 0 into a process grid,
 *                         each against one raw MPI_Alltoallv that moves the
 *                         same boxes (every rank's intersection of its source
 *                         box with every destination box) between contiguous,
 *                         pre-touched buffers;
 *   deepcopy              dt_deepcopy + destroy (gather to rank 0, scatter
 *                         back, streamed in chunks of the context's budget),
 *                         against MPI_Gatherv of every shard to rank 0 then
 *                         MPI_Scatterv.
 * GB/s counts the bytes each rank receives (copy_: its destination box).
 * Clone and deepcopy time create + destroy together: the library caches freed
 * storage, so after the warm-up this is the steady-state copy.
 */
#include "bench.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bench *cur; /* for messages from the timed functions */

static dt_err mpi_err(int rc, const char *call) {
  return rc == MPI_SUCCESS ? DT_OK : bench_fail(cur, DT_ERR_MPI, call);
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

typedef struct alltoallv_job {
  float *send, *recv;
  int *scount, *sdispl, *rcount, *rdispl;
} alltoallv_job;

static dt_err alltoallv_once(void *arg) {
  const alltoallv_job *j = arg;
  return mpi_err(MPI_Alltoallv(j->send, j->scount, j->sdispl, MPI_FLOAT,
                               j->recv, j->rcount, j->rdispl, MPI_FLOAT,
                               MPI_COMM_WORLD),
                 "MPI_Alltoallv failed");
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

/* ---- helpers ------------------------------------------------------------- */

/* Floats per rank for --size (at least one). */
static int64_t floats_per_rank(int64_t bytes) {
  return bytes / 4 > 0 ? bytes / 4 : 1;
}

/* A float32 tensor of the global shape in layout o, filled with a nonzero
 * value so no path can profit from zero pages. */
static dt_err make_f32(dt_ctx *ctx, int ndim, const int64_t *shape, dt_opts o,
                       dt_tensor **out) {
  o.dtype = DT_FLOAT32;
  return dt_full(ctx, ndim, shape, DT_F(1.5), &o, out);
}

static dt_opts split_on(int axis) {
  return (dt_opts){.layout = DT_SPLIT, .split_axis = axis};
}

/* Collective: DT_ERR_CHECKSUM on every rank when a and b differ. */
static dt_err same_checksum(bench *b, const dt_tensor *x, const dt_tensor *y) {
  uint64_t cx = 0, cy = 0;
  dt_err err = dt_checksum(x, &cx);
  if (!err)
    err = dt_checksum(y, &cy);
  if (!err && cx != cy)
    err = bench_fail(b, DT_ERR_CHECKSUM,
                     "the copy's checksum differs from the source's: the "
                     "library copied wrong data");
  return err;
}

/* ---- clone --------------------------------------------------------------- */

static dt_err run_clone(bench *b) {
  if (!bench_wants(b, "clone", "float32"))
    return DT_OK;
  int64_t count = floats_per_rank(b->args->bytes), bytes = count * 4;
  bench_row r = {.op = "clone",
                 .dtype = "float32",
                 .unit = BENCH_GBPS,
                 .bytes = bytes,
                 .global_bytes = bytes * b->env->size,
                 .target = 0.85};
  dt_err err = bench_limit_best(b, BK_MEMCPY, BK_NT_COPY, 0, (size_t)bytes,
                                false, &r.lim, &r.limit);
  const int64_t shape[1] = {count * b->env->size};
  dt_tensor *t = NULL;
  if (!err)
    err = make_f32(b->ctx, 1, shape, split_on(0), &t);
  tensor_job cj = {t};
  if (!err)
    err = bench_time(b, "clone float32", NULL, clone_once, &cj, &r.t);
  if (!err) {
    dt_tensor *c = NULL;
    err = dt_clone(t, &c);
    if (!err)
      err = same_checksum(b, t, c);
    dt_tensor_destroy(&c);
  }
  dt_tensor_destroy(&t);
  if (!err)
    bench_emit(b, &r);
  return err;
}

/* ---- copy_ between layouts ----------------------------------------------- */

/* Elements in the intersection of two 2-D boxes (start, shape). */
static int64_t overlap(const int64_t *a, const int64_t *b) {
  int64_t n = 1;
  for (int d = 0; d < 2; d++) {
    int64_t lo = a[d] > b[d] ? a[d] : b[d];
    int64_t ha = a[d] + a[2 + d], hb = b[d] + b[2 + d];
    int64_t hi = ha < hb ? ha : hb;
    n *= hi > lo ? hi - lo : 0;
  }
  return n;
}

/* Every rank's box of t: boxes[4r .. 4r+3] = start0, start1, shape0, shape1. */
static bool all_boxes(const dt_tensor *t, int64_t *boxes, MPI_Comm comm) {
  int64_t mine[4];
  dt_local_box(t, mine, mine + 2);
  return MPI_Allgather(mine, 4, MPI_INT64_T, boxes, 4, MPI_INT64_T, comm) ==
         MPI_SUCCESS;
}

/* The Alltoallv that moves exactly the boxes dt_copy_(dst, src) moves. */
static dt_err plan_alltoallv(bench *b, const dt_tensor *src,
                             const dt_tensor *dst, alltoallv_job *j) {
  int P = b->env->size, me = b->env->rank;
  int64_t *sb = malloc(sizeof(int64_t) * 4 * (size_t)P);
  int64_t *db = malloc(sizeof(int64_t) * 4 * (size_t)P);
  int *ints = malloc(sizeof(int) * 4 * (size_t)P);
  bool ok = sb && db && ints;
  if (!bench_all_ok(b->comm, ok)) {
    free(sb);
    free(db);
    free(ints);
    return bench_fail(b, DT_ERR_NOMEM, "cannot allocate the Alltoallv plan");
  }
  ok = all_boxes(src, sb, b->comm) && all_boxes(dst, db, b->comm);
  j->scount = ints;
  j->sdispl = ints + P;
  j->rcount = ints + 2 * P;
  j->rdispl = ints + 3 * P;
  int64_t soff = 0, roff = 0;
  for (int r = 0; ok && r < P; r++) {
    int64_t s = overlap(&sb[4 * me], &db[4 * r]);
    int64_t v = overlap(&sb[4 * r], &db[4 * me]);
    ok = s <= INT_MAX && v <= INT_MAX && soff <= INT_MAX && roff <= INT_MAX;
    j->scount[r] = (int)s;
    j->sdispl[r] = (int)soff;
    j->rcount[r] = (int)v;
    j->rdispl[r] = (int)roff;
    soff += s;
    roff += v;
  }
  free(sb);
  free(db);
  if (ok) {
    j->send = bench_buffer((size_t)soff * 4);
    j->recv = bench_buffer((size_t)roff * 4);
    ok = j->send && j->recv;
  }
  return bench_all_ok(b->comm, ok)
             ? DT_OK
             : bench_fail(b, DT_ERR_OVERFLOW,
                          "cannot plan the Alltoallv limit (counts beyond "
                          "int, or out of memory)");
}

static void free_alltoallv(alltoallv_job *j) {
  free(j->send);
  free(j->recv);
  free(j->scount);
  *j = (alltoallv_job){0};
}

/* The grid closest to square: g[0] <= g[1], g[0] * g[1] = P. */
static void grid_of(int P, int g[2]) {
  g[0] = 1;
  for (int a = 1; a * a <= P; a++)
    if (P % a == 0)
      g[0] = a;
  g[1] = P / g[0];
}

static dt_err run_copy_(bench *b, const char *name, dt_opts to, double target) {
  if (!bench_wants(b, name, "float32"))
    return DT_OK;
  int P = b->env->size;
  /* n x n with n a multiple of P: every split is even. */
  int64_t n =
      (int64_t)sqrt((double)P * (double)floats_per_rank(b->args->bytes));
  n = n / P * P > 0 ? n / P * P : P;
  const int64_t shape[2] = {n, n};
  dt_tensor *src = NULL, *dst = NULL;
  dt_err err = make_f32(b->ctx, 2, shape, split_on(0), &src);
  if (!err)
    err = make_f32(b->ctx, 2, shape, to, &dst);
  alltoallv_job aj = {0};
  if (!err)
    err = plan_alltoallv(b, src, dst, &aj);
  int64_t bytes = dt_local_numel(dst) * 4;
  bench_row r = {.op = name,
                 .dtype = "float32",
                 .unit = BENCH_GBPS,
                 .bytes = bytes,
                 .limit = "alltoallv",
                 .target = target};
  MPI_Allreduce(&bytes, &r.global_bytes, 1, MPI_INT64_T, MPI_SUM, b->comm);
  b->ops_planned++;
  if (!err)
    err =
        bench_time(b, "limit MPI_Alltoallv", NULL, alltoallv_once, &aj, &r.lim);
  free_alltoallv(&aj);
  copy_job cj = {dst, src};
  char what[64];
  snprintf(what, sizeof what, "%s float32", name);
  if (!err)
    err = bench_time(b, what, NULL, copy_once, &cj, &r.t);
  if (!err)
    err = same_checksum(b, src, dst);
  dt_tensor_destroy(&src);
  dt_tensor_destroy(&dst);
  if (!err)
    bench_emit(b, &r);
  return err;
}

/* ---- deepcopy ------------------------------------------------------------ */

static dt_err run_deepcopy(bench *b) {
  if (!bench_wants(b, "deepcopy", "float32"))
    return DT_OK;
  int P = b->env->size;
  int64_t count = floats_per_rank(b->args->bytes), bytes = count * 4;
  /* MPI counts and displacements are int (here in floats). */
  if (count * P > INT_MAX) {
    bench_note(b,
               "deepcopy skipped: %lld floats over %d ranks exceed the "
               "int range of the Gatherv limit",
               (long long)count, P);
    return DT_OK;
  }
  gather_job gj = {bench_buffer((size_t)bytes),
                   bench_buffer((size_t)bytes),
                   NULL,
                   (int)count,
                   malloc(sizeof(int) * (size_t)P),
                   malloc(sizeof(int) * (size_t)P)};
  if (b->env->rank == 0)
    gj.full = bench_buffer((size_t)bytes * (size_t)P);
  bool ok = gj.mine && gj.back && gj.counts && gj.displs &&
            (b->env->rank != 0 || gj.full);
  for (int r = 0; ok && r < P; r++) {
    gj.counts[r] = (int)count;
    gj.displs[r] = (int)count * r;
  }
  bench_row r = {.op = "deepcopy",
                 .dtype = "float32",
                 .unit = BENCH_GBPS,
                 .bytes = bytes,
                 .global_bytes = bytes * P,
                 .limit = "gatherv+scatterv",
                 .target = NAN};
  dt_err err =
      bench_all_ok(b->comm, ok)
          ? DT_OK
          : bench_fail(b, DT_ERR_NOMEM, "cannot allocate the Gatherv buffers");
  b->ops_planned++;
  if (!err)
    err = bench_time(b, "limit MPI_Gatherv+MPI_Scatterv", NULL,
                     gather_scatter_once, &gj, &r.lim);
  free(gj.mine);
  free(gj.back);
  free(gj.full);
  free(gj.counts);
  free(gj.displs);

  const int64_t shape[1] = {count * P};
  dt_tensor *t = NULL;
  if (!err)
    err = make_f32(b->ctx, 1, shape, split_on(0), &t);
  tensor_job cj = {t};
  if (!err)
    err = bench_time(b, "deepcopy float32", NULL, deepcopy_once, &cj, &r.t);
  if (!err) {
    dt_tensor *c = NULL;
    err = dt_deepcopy(t, NULL, &c);
    if (!err)
      err = same_checksum(b, t, c);
    dt_tensor_destroy(&c);
  }
  dt_tensor_destroy(&t);
  if (!err)
    bench_emit(b, &r);
  return err;
}

dt_err bench_copy(bench *b) {
  cur = b;
  int g[2];
  grid_of(b->env->size, g);
  dt_opts grid = {.layout = DT_GRID, .grid = {g[0], g[1]}};
  dt_err err = run_clone(b);
  if (!err)
    err = run_copy_(b, "copy_ split0->split1", split_on(1),
                    b->env->size >= 2 ? 0.8 : NAN);
  if (!err)
    err = run_copy_(b, "copy_ split->repl", (dt_opts){.layout = DT_REPLICATED},
                    NAN);
  if (!err)
    err = run_copy_(b, "copy_ split->grid", grid, NAN);
  if (!err)
    err = run_deepcopy(b);
  return err;
}
