/*
 * bench_compute.c - family "compute" (also called "autograd"): arithmetic
 * at about --size bytes per rank, against raw loops of the same traffic
 * measured in the same run with the same threads:
 *
 *   sum              exact dt_sum (correctly rounded, bitwise the same at any
 *                    rank and thread count) of float64 / float32, against a
 *                    vectorised read (an OpenMP simd sum) of the same bytes;
 *   add fwd, mul fwd dt_add / dt_mul of two float32 tensors (read 2, write 1)
 *                    against a vectorised c[i] = a[i] + b[i] (or *) loop:
 *                    GB/s counts every byte read or written (3 x bytes);
 *   mul bwd          dt_backward of y = x * w with an explicit gradient g:
 *                    x.grad = g * w, same traffic, against the * loop; only
 *                    the backward is timed (the forward is rebuilt untimed);
 *   matmul           dt_matmul of [n, n] x [n, n] float32 (row-split x
 *                    replicated), in GFLOP/s per rank (2 n^3 / P flops); no
 *                    limit (n is capped at MATMUL_MAX so it stays quick).
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MATMUL_MAX 512

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
  dt_tensor *y; /* the forward, rebuilt before every backward */
} bwd_job;

static dt_err mul_forward(void *arg) {
  bwd_job *j = arg;
  dt_tensor_destroy(&j->y);
  dt_err err = dt_set_grad(j->x, NULL);
  if (!err)
    err = dt_mul(j->x, j->w, &j->y);
  return err;
}

static dt_err mul_backward_once(void *arg) {
  bwd_job *j = arg;
  return dt_backward(j->y, j->g, false);
}

static dt_err sum_once(void *arg) {
  dt_tensor *s = NULL;
  dt_err err = dt_sum(arg, &s);
  dt_tensor_destroy(&s);
  return err;
}

static dt_err run_sum(bench *b, dt_dtype dtype, double target) {
  const char *dn = dt_dtype_name(dtype);
  if (!bench_wants(b, "sum", dn))
    return DT_OK;
  int64_t esz = (int64_t)dt_dtype_size(dtype);
  int64_t count = b->args->bytes / esz > 0 ? b->args->bytes / esz : 1;
  int64_t bytes = count * esz;
  bench_row r = {.op = "sum",
                 .dtype = dn,
                 .unit = BENCH_GBPS,
                 .bytes = bytes,
                 .global_bytes = bytes * b->env->size,
                 .limit = "simd-read",
                 .target = target};
  dt_err err = bench_limit(b, dtype == DT_FLOAT64 ? BK_READ64 : BK_READ32, 0,
                           (size_t)bytes, false, &r.lim);
  const int64_t shape[1] = {count * b->env->size};
  dt_tensor *t = NULL;
  if (!err)
    err = dt_randn(b->ctx, 1, shape, &(dt_opts){.dtype = dtype}, &t);
  char what[32];
  snprintf(what, sizeof what, "sum %s", dn);
  if (!err)
    err = bench_time(b, what, NULL, sum_once, t, &r.t);
  dt_tensor_destroy(&t);
  if (!err)
    bench_emit(b, &r);
  return err;
}

static dt_err run_elementwise(bench *b) {
  bool add = bench_wants(b, "add fwd", "float32");
  bool mul = bench_wants(b, "mul fwd", "float32");
  bool bwd = bench_wants(b, "mul bwd", "float32");
  if (!add && !mul && !bwd)
    return DT_OK;
  int64_t count = b->args->bytes / 4 > 0 ? b->args->bytes / 4 : 1;
  int64_t bytes = count * 4;
  const int64_t shape[1] = {count * b->env->size};
  const dt_opts o = {.dtype = DT_FLOAT32};
  dt_tensor *x = NULL, *w = NULL, *g = NULL;
  dt_err err = dt_full(b->ctx, 1, shape, DT_F(1.25), &o, &x);
  if (!err)
    err = dt_full(b->ctx, 1, shape, DT_F(0.75), &o, &w);
  if (!err)
    err = dt_full(b->ctx, 1, shape, DT_F(2.0), &o, &g);
  bench_row r = {.dtype = "float32",
                 .unit = BENCH_GBPS,
                 .bytes = 3 * bytes,
                 .global_bytes = 3 * bytes * b->env->size,
                 .target = NAN};
  bench_stats add_lim = {0}, mul_lim = {0};
  if (!err && add)
    err = bench_limit(b, BK_ADD32, 0, (size_t)bytes, false, &add_lim);
  if (!err && (mul || bwd))
    err = bench_limit(b, BK_MUL32, 0, (size_t)bytes, false, &mul_lim);
  binop_job ja = {x, w, dt_add}, jm = {x, w, dt_mul};
  if (!err && add) {
    r.op = "add fwd";
    r.limit = bench_kernel_name(BK_ADD32);
    r.lim = add_lim;
    err = bench_time(b, "add fwd float32", NULL, binop_once, &ja, &r.t);
    if (!err)
      bench_emit(b, &r);
  }
  r.limit = bench_kernel_name(BK_MUL32);
  r.lim = mul_lim;
  if (!err && mul) {
    r.op = "mul fwd";
    err = bench_time(b, "mul fwd float32", NULL, binop_once, &jm, &r.t);
    if (!err)
      bench_emit(b, &r);
  }
  bwd_job bj = {x, w, g, NULL};
  if (!err && bwd) {
    err = dt_requires_grad_(x, true);
    r.op = "mul bwd";
    if (!err)
      err = bench_time(b, "mul bwd float32", mul_forward, mul_backward_once,
                       &bj, &r.t);
    if (!err)
      bench_emit(b, &r);
  }
  dt_tensor_destroy(&bj.y);
  dt_tensor_destroy(&g);
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&x);
  return err;
}

static dt_err run_matmul(bench *b) {
  if (!bench_wants(b, "matmul", "float32"))
    return DT_OK;
  int P = b->env->size;
  int64_t n = (int64_t)sqrt((double)P * (double)(b->args->bytes / 4));
  n = n > MATMUL_MAX ? MATMUL_MAX : n;
  n = n / P * P > 0 ? n / P * P : P;
  const int64_t shape[2] = {n, n};
  dt_tensor *x = NULL, *w = NULL;
  dt_err err = dt_rand(b->ctx, 2, shape, NULL, &x);
  if (!err)
    err = dt_rand(b->ctx, 2, shape, &(dt_opts){.layout = DT_REPLICATED}, &w);
  binop_job j = {x, w, dt_matmul};
  bench_row r = {.op = "matmul",
                 .dtype = "float32",
                 .unit = BENCH_GFLOPS,
                 .bytes = n * n / P * 4,
                 .global_bytes = n * n * 4,
                 .flops = 2.0 * (double)n * (double)n * (double)n / P,
                 .target = NAN};
  if (!err)
    err = bench_time(b, "matmul float32", NULL, binop_once, &j, &r.t);
  dt_tensor_destroy(&x);
  dt_tensor_destroy(&w);
  if (!err)
    bench_emit(b, &r);
  return err;
}

dt_err bench_compute(bench *b) {
  dt_err err = run_sum(b, DT_FLOAT64, 0.4);
  if (!err)
    err = run_sum(b, DT_FLOAT32, 0.5);
  if (!err)
    err = run_elementwise(b);
  if (!err)
    err = run_matmul(b);
  return err;
}
