/*
 * bench_autograd.c - `dtensor bench autograd`: the costs of autograd and of
 * exact reductions at about --size bytes per rank, each against a baseline
 * measured in the same run:
 *
 *   add, mul fwd   dt_add / dt_mul of two float32 tensors (read 2, write 1)
 *                  against memcpy (read 1, write 1): GB/s counts every
 *                  byte read or written, so the ratio is bandwidth to
 *                  bandwidth;
 *   mul bwd        dt_backward of y = x * w with an explicit gradient: the
 *                  gradient x.grad = g * w (read 2, write 1), same baseline;
 *   sum exact      dt_sum of float64 (exact, correctly rounded, one integer
 *                  MPI_Allreduce) against a plain `s += x[i]` loop over the
 *                  same shard followed by an MPI_Allreduce of the double;
 *   sum(pow(clone(x), 2)): the backward pass against the forward pass.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

static const char *failure;

static dt_err fail(dt_err err, const char *why) {
  failure = why;
  return err;
}

/* ---- operations ---------------------------------------------------------- */

typedef struct binop_job {
  const dt_tensor *a, *b;
  dt_err (*op)(const dt_tensor *, const dt_tensor *, dt_tensor **);
} binop_job;

static dt_err binop_once(void *arg) {
  const binop_job *j = arg;
  dt_tensor *o = NULL;
  dt_err err = j->op(j->a, j->b, &o);
  dt_tensor_destroy(&o);
  return err;
}

typedef struct bwd_job {
  dt_tensor *x;
  const dt_tensor *w, *g;
} bwd_job;

/* Only the backward pass is timed: the forward is rebuilt untimed. */
static dt_tensor *bwd_y;

static dt_err mul_forward(void *arg) {
  bwd_job *j = arg;
  dt_tensor_destroy(&bwd_y);
  dt_err err = dt_set_grad(j->x, NULL);
  if (!err)
    err = dt_mul(j->x, j->w, &bwd_y);
  return err;
}

static dt_err mul_backward_once(void *arg) {
  bwd_job *j = arg;
  return dt_backward(bwd_y, j->g, false);
}

typedef struct sum_job {
  const dt_tensor *t;
  const double *p;
  int64_t n;
  MPI_Comm comm;
} sum_job;

static volatile double sink;

static dt_err exact_sum_once(void *arg) {
  const sum_job *j = arg;
  dt_tensor *s = NULL;
  dt_err err = dt_sum(j->t, &s);
  dt_tensor_destroy(&s);
  return err;
}

static dt_err plain_sum_once(void *arg) {
  const sum_job *j = arg;
  double s = 0, all = 0;
  for (int64_t i = 0; i < j->n; i++)
    s += j->p[i];
  if (MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, j->comm) != MPI_SUCCESS)
    return fail(DT_ERR_MPI, "MPI_Allreduce failed");
  sink = all;
  return DT_OK;
}

typedef struct chain_job {
  dt_tensor *x;
  dt_tensor *c, *p, *s; /* kept from the forward for the backward */
} chain_job;

static void chain_clear(chain_job *j) {
  dt_tensor_destroy(&j->s);
  dt_tensor_destroy(&j->p);
  dt_tensor_destroy(&j->c);
}

static dt_err chain_forward_once(void *arg) {
  chain_job *j = arg;
  chain_clear(j);
  dt_err err = dt_clone(j->x, &j->c);
  if (!err)
    err = dt_pow_scalar(j->c, 2.0, &j->p);
  if (!err)
    err = dt_sum(j->p, &j->s);
  return err;
}

/* Untimed: a fresh forward pass and no gradient yet. */
static dt_err chain_setup(void *arg) {
  chain_job *j = arg;
  dt_err err = chain_forward_once(j);
  if (!err)
    err = dt_set_grad(j->x, NULL);
  return err;
}

static dt_err chain_backward_once(void *arg) {
  chain_job *j = arg;
  return dt_backward(j->s, NULL, false);
}

/* ---- memcpy baseline ----------------------------------------------------- */

/* ---- sections ------------------------------------------------------------ */

static dt_err elementwise(dt_ctx *ctx, bench_report *rep, const bench_args *a) {
  MPI_Comm comm = dt_ctx_comm(ctx);
  int64_t count = a->bytes / 4 > 0 ? a->bytes / 4 : 1, bytes = count * 4;
  bench_memcpy_job mj = {bench_touched((size_t)bytes),
                         bench_touched((size_t)bytes), (size_t)bytes};
  double base = 0;
  dt_err err = bench_all_ok(comm, mj.dst && mj.src)
                   ? DT_OK
                   : fail(DT_ERR_NOMEM, "cannot allocate the memcpy buffers");
  if (!err)
    err = bench_measure(comm, a->reps, bench_memcpy_once, &mj, &base);
  free(mj.dst);
  free((void *)mj.src);
  if (err)
    return err;
  rep->baseline = "memcpy";
  rep->baseline_gbps = 2.0 * (double)bytes / base / 1e9;
  char title[256];
  snprintf(title, sizeof title,
           "dtensor bench autograd: elementwise float32 ops on %lld bytes per "
           "rank (split on axis 0), median of %d reps of the slowest rank",
           (long long)bytes, a->reps);
  bench_report_header(
      rep, title,
      "memcpy of bytes per rank between pre-touched buffers, counting bytes "
      "read + written (2 x bytes), timed the same way",
      "GB/s counts bytes read + written: 3 x bytes per rank for each row; "
      "target ratio >= 0.70");

  const int64_t shape[1] = {count * rep->ranks};
  const dt_opts o = {.dtype = DT_FLOAT32};
  dt_tensor *x = NULL, *w = NULL, *g = NULL;
  err = dt_full(ctx, 1, shape, DT_F(1.25), &o, &x);
  if (!err)
    err = dt_full(ctx, 1, shape, DT_F(0.75), &o, &w);
  if (!err)
    err = dt_full(ctx, 1, shape, DT_F(2.0), &o, &g);
  double secs = 0;
  binop_job add = {x, w, dt_add}, mul = {x, w, dt_mul};
  if (!err)
    err = bench_measure(comm, a->reps, binop_once, &add, &secs);
  if (!err)
    bench_report_row(rep, "add fwd", "float32", 3 * bytes, secs);
  if (!err)
    err = bench_measure(comm, a->reps, binop_once, &mul, &secs);
  if (!err)
    bench_report_row(rep, "mul fwd", "float32", 3 * bytes, secs);
  /* backward of x * w: x.grad = g * w, kept without a copy */
  if (!err)
    err = dt_requires_grad_(x, true);
  bwd_job bj = {x, w, g};
  if (!err)
    err = bench_measure_setup(comm, a->reps, mul_forward, mul_backward_once,
                              &bj, &secs);
  if (!err)
    bench_report_row(rep, "mul bwd", "float32", 3 * bytes, secs);
  dt_tensor_destroy(&bwd_y);
  dt_tensor_destroy(&g);
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&x);
  return err;
}

static dt_err exact_sum(dt_ctx *ctx, bench_report *rep, const bench_args *a) {
  MPI_Comm comm = dt_ctx_comm(ctx);
  int64_t count = a->bytes / 8 > 0 ? a->bytes / 8 : 1, bytes = count * 8;
  const int64_t shape[1] = {count * rep->ranks};
  dt_tensor *t = NULL;
  dt_err err = dt_randn(ctx, 1, shape, &(dt_opts){.dtype = DT_FLOAT64}, &t);
  if (err)
    return err;
  sum_job j = {t, dt_local_data(t), dt_local_numel(t), comm};
  double base = 0, secs = 0;
  err = bench_measure(comm, a->reps, plain_sum_once, &j, &base);
  if (!err)
    err = bench_measure(comm, a->reps, exact_sum_once, &j, &secs);
  dt_tensor_destroy(&t);
  if (err)
    return err;
  rep->baseline = "plain-sum";
  rep->baseline_gbps = (double)bytes / base / 1e9;
  char title[256];
  snprintf(title, sizeof title,
           "dtensor bench autograd: sum of a float64 tensor of %lld bytes per "
           "rank, median of %d reps of the slowest rank",
           (long long)bytes, a->reps);
  bench_report_header(rep, title,
                      "a plain double accumulation loop (s += x[i], one "
                      "thread) over the same shard plus an MPI_Allreduce of "
                      "the double, timed the same way",
                      "dt_sum is exact and correctly rounded (bitwise the "
                      "same at any rank and thread count); target ratio >= "
                      "0.30");
  bench_report_row(rep, "sum exact", "float64", bytes, secs);
  return DT_OK;
}

static dt_err chain(dt_ctx *ctx, bench_report *rep, const bench_args *a) {
  MPI_Comm comm = dt_ctx_comm(ctx);
  int64_t count = a->bytes / 4 > 0 ? a->bytes / 4 : 1, bytes = count * 4;
  const int64_t shape[1] = {count * rep->ranks};
  chain_job j = {0};
  dt_err err = dt_randn(ctx, 1, shape, &(dt_opts){.dtype = DT_FLOAT32}, &j.x);
  if (!err)
    err = dt_requires_grad_(j.x, true);
  double fwd = 0, bwd = 0;
  if (!err)
    err = bench_measure(comm, a->reps, chain_forward_once, &j, &fwd);
  if (!err)
    err = bench_measure_setup(comm, a->reps, chain_setup, chain_backward_once,
                              &j, &bwd);
  chain_clear(&j);
  dt_tensor_destroy(&j.x);
  if (err)
    return err;
  rep->baseline = "forward";
  rep->baseline_gbps = (double)bytes / fwd / 1e9;
  char title[256], note[256];
  snprintf(title, sizeof title,
           "dtensor bench autograd: sum(pow(clone(x), 2)) of a float32 tensor "
           "of %lld bytes per rank, median of %d reps of the slowest rank",
           (long long)bytes, a->reps);
  snprintf(note, sizeof note,
           "backward takes %.2fx the forward time (%.6f s vs %.6f s; target "
           "<= 3)",
           bwd / fwd, bwd, fwd);
  bench_report_header(rep, title,
                      "the forward pass (clone, pow, exact sum), timed the "
                      "same way; ratio = forward time / backward time",
                      note);
  bench_report_row(rep, "fwd chain", "float32", bytes, fwd);
  bench_report_row(rep, "bwd chain", "float32", bytes, bwd);
  return DT_OK;
}

int bench_autograd(const cli_env *env, const bench_args *args) {
  const bench_section sections[] = {elementwise, exact_sum, chain};
  return bench_run(env, args, sections, 3, &failure);
}
