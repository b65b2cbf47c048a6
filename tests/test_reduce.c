/*
 * test_reduce - reductions along axes (dt_sum_dim, dt_mean_dim, dt_amax,
 * dt_amin, dt_argmax, dt_argmin): torch 1.13's values, dtypes and errors
 * written in; every layout (split, replicated, an empty shard, 2-D grids)
 * at 1-4 ranks bitwise equal to the 1-rank result; gradients checked.
 */
#include "dt_test.h"

#include <math.h>
#include <stdlib.h>

/* t from a dense C-order array (every rank passes all of it). */
static dt_tensor *make(dt_ctx *ctx, int nd, const int64_t *shape,
                       const void *data, dt_dtype dt, dt_opts o) {
  dt_tensor *t = NULL;
  T_OK(dt_from_data(ctx, nd, shape, data, dt, DT_ALL_RANKS, &o, &t));
  return t;
}

static int same_shape(const dt_tensor *t, int nd, const int64_t *shape) {
  if (!t || dt_ndim(t) != nd)
    return 0;
  for (int d = 0; d < nd; d++)
    if (dt_shape(t)[d] != shape[d])
      return 0;
  return 1;
}

/* Gathered t equals the n doubles (or int64) in want, bitwise. */
static int equals_f64(const dt_tensor *t, const double *want, int64_t n) {
  double *g = dt_test_gather_all(t);
  int ok = g && dt_numel(t) == n && dt_dtype_of(t) == DT_FLOAT64 &&
           dt_test_same_bits(g, want, sizeof(double) * (size_t)n);
  free(g);
  return ok;
}

static int equals_i64(const dt_tensor *t, const int64_t *want, int64_t n) {
  int64_t *g = dt_test_gather_all(t);
  int ok = g && dt_numel(t) == n && dt_dtype_of(t) == DT_INT64 &&
           dt_test_same_bits(g, want, sizeof(int64_t) * (size_t)n);
  free(g);
  return ok;
}

static int last_error_has(const char *s) {
  return strstr(dt_last_error(), s) != NULL;
}

/* ---- values as torch 1.13 gives them ------------------------------------- */

static void t_sum_mean_values(void) {
  const int64_t s[2] = {3, 4};
  const double x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c;
    dt_tensor *t =
        make(T_ctx, 2, s, x, DT_FLOAT64, dt_test_layout(k, 2, s, &c, NULL));
    dt_tensor *r = NULL;
    const int d0 = 0, d1 = 1, dn = -1, both[2] = {1, 0};
    /* torch.sum(x, 0) = [15, 18, 21, 24] */
    T_OK(dt_sum_dim(t, 1, &d0, false, &r));
    CU_ASSERT(equals_f64(r, (double[]){15, 18, 21, 24}, 4));
    dt_tensor_destroy(&r);
    /* torch.sum(x, -1, keepdim=True) = [[10], [26], [42]] */
    T_OK(dt_sum_dim(t, 1, &dn, true, &r));
    CU_ASSERT(same_shape(r, 2, (int64_t[]){3, 1}));
    CU_ASSERT(equals_f64(r, (double[]){10, 26, 42}, 3));
    dt_tensor_destroy(&r);
    /* torch.sum(x, (1, 0)) = 78., 0-d; keepdim: [[78.]] */
    T_OK(dt_sum_dim(t, 2, both, false, &r));
    CU_ASSERT(same_shape(r, 0, NULL) && equals_f64(r, (double[]){78}, 1));
    dt_tensor_destroy(&r);
    T_OK(dt_sum_dim(t, 2, both, true, &r));
    CU_ASSERT(same_shape(r, 2, (int64_t[]){1, 1}));
    dt_tensor_destroy(&r);
    /* torch.sum(x, dim=[]) reduces everything (torch 1.13) */
    T_OK(dt_sum_dim(t, 0, NULL, false, &r));
    CU_ASSERT(same_shape(r, 0, NULL) && equals_f64(r, (double[]){78}, 1));
    dt_tensor_destroy(&r);
    /* torch.mean(x, 1) = [2.5, 6.5, 10.5]; mean(x, 0) = [5, 6, 7, 8] */
    T_OK(dt_mean_dim(t, 1, &d1, false, &r));
    CU_ASSERT(equals_f64(r, (double[]){2.5, 6.5, 10.5}, 3));
    dt_tensor_destroy(&r);
    T_OK(dt_mean_dim(t, 1, &d0, false, &r));
    CU_ASSERT(equals_f64(r, (double[]){5, 6, 7, 8}, 4));
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&t);
  }
  /* exact per element: the column sums of [[1e16, 1], [1, 1e-300],
   * [-1e16, -1]] are 1 and 1e-300 (naive left-to-right: 0 and 0) */
  const int64_t s3[2] = {3, 2};
  const double y[6] = {1e16, 1, 1, 1e-300, -1e16, -1};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c;
    dt_tensor *t = make(T_ctx, 2, s3, y, DT_FLOAT64,
                        dt_test_layout(k, 2, s3, &c, NULL)),
              *r = NULL;
    const int d0 = 0;
    T_OK(dt_sum_dim(t, 1, &d0, false, &r));
    CU_ASSERT(equals_f64(r, (double[]){1, 1e-300}, 2));
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&t);
  }
  /* empty reductions: torch.zeros(0, 3).sum(0) = [0, 0, 0]; mean = nan */
  const int64_t se[2] = {0, 3};
  dt_tensor *e = NULL, *r = NULL;
  T_OK(dt_zeros(T_ctx, 2, se, &(dt_opts){.dtype = DT_FLOAT64}, &e));
  const int d0 = 0, d1 = 1;
  T_OK(dt_sum_dim(e, 1, &d0, false, &r));
  CU_ASSERT(equals_f64(r, (double[]){0, 0, 0}, 3));
  dt_tensor_destroy(&r);
  T_OK(dt_mean_dim(e, 1, &d0, false, &r));
  double *m = dt_test_gather_all(r);
  CU_ASSERT(m && isnan(m[0]) && isnan(m[2]));
  free(m);
  dt_tensor_destroy(&r);
  /* torch.zeros(0, 3).sum(1) has shape [0] */
  T_OK(dt_sum_dim(e, 1, &d1, false, &r));
  CU_ASSERT(same_shape(r, 1, (int64_t[]){0}));
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&e);
}

static void t_integer_sums(void) {
  const int64_t s[2] = {2, 3};
  const int64_t xi[6] = {1, -2, 3, INT64_MAX, 1, 0};
  const int32_t x32[6] = {2000000000, 2000000000, 1, -5, 7, 9};
  const uint8_t xb[6] = {1, 0, 1, 1, 1, 0};
  const int d0 = 0, d1 = 1;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c;
    dt_opts o = dt_test_layout(k, 2, s, &c, NULL);
    dt_tensor *a = make(T_ctx, 2, s, xi, DT_INT64, o),
              *b = make(T_ctx, 2, s, x32, DT_INT32, o),
              *t = make(T_ctx, 2, s, xb, DT_BOOL, o), *r = NULL;
    /* int64 wraps as torch's: INT64_MAX + 1 = INT64_MIN */
    T_OK(dt_sum_dim(a, 1, &d1, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){2, INT64_MIN}, 2));
    dt_tensor_destroy(&r);
    /* int32 sums to int64 (torch: dtype=torch.int64), no overflow */
    T_OK(dt_sum_dim(b, 1, &d0, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){1999999995, 2000000007, 10}, 3));
    dt_tensor_destroy(&r);
    T_OK(dt_sum_dim(b, 0, NULL, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){4000000012}, 1));
    dt_tensor_destroy(&r);
    /* bool counts, int64 */
    T_OK(dt_sum_dim(t, 1, &d1, true, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){2, 2}, 2));
    CU_ASSERT(same_shape(r, 2, (int64_t[]){2, 1}));
    dt_tensor_destroy(&r);
    /* torch refuses mean of integers */
    T_ERR(dt_mean_dim(a, 1, &d0, false, &r), DT_ERR_DTYPE);
    CU_ASSERT(last_error_has("dt_mean_dim: mean(): could not infer output "
                             "dtype. Input dtype must be either a floating "
                             "point or complex dtype. Got: Long"));
    T_ERR(dt_mean_dim(t, 0, NULL, false, &r), DT_ERR_DTYPE);
    CU_ASSERT(last_error_has("Got: Bool"));
    CU_ASSERT(r == NULL);
    dt_tensor_destroy(&a);
    dt_tensor_destroy(&b);
    dt_tensor_destroy(&t);
  }
}

static void t_max_min_values(void) {
  /* [[1, 3, 3], [nan, 2, nan]] */
  const int64_t s[2] = {2, 3};
  const double x[6] = {1, 3, 3, NAN, 2, NAN};
  const int d0 = 0, d1 = 1;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c;
    dt_tensor *t = make(T_ctx, 2, s, x, DT_FLOAT64,
                        dt_test_layout(k, 2, s, &c, NULL)),
              *r = NULL;
    /* amax(x, 1) = [3, nan]; amin(x, 1) = [1, nan] */
    T_OK(dt_amax(t, 1, &d1, false, &r));
    double *v = dt_test_gather_all(r);
    CU_ASSERT(v && v[0] == 3 && isnan(v[1]));
    free(v);
    dt_tensor_destroy(&r);
    T_OK(dt_amin(t, 1, &d1, true, &r));
    v = dt_test_gather_all(r);
    CU_ASSERT(v && v[0] == 1 && isnan(v[1]) &&
              same_shape(r, 2, (int64_t[]){2, 1}));
    free(v);
    dt_tensor_destroy(&r);
    /* argmax(x, 1) = [1, 0] (first tie, first NaN); argmin = [0, 0] */
    T_OK(dt_argmax(t, &d1, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){1, 0}, 2));
    dt_tensor_destroy(&r);
    T_OK(dt_argmin(t, &d1, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){0, 0}, 2));
    dt_tensor_destroy(&r);
    /* argmax(x, 0) = [1, 0, 1]; argmin(x, 0, keepdim) = [[1, 1, 1]] */
    T_OK(dt_argmax(t, &d0, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){1, 0, 1}, 3));
    dt_tensor_destroy(&r);
    T_OK(dt_argmin(t, &d0, true, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){1, 1, 1}, 3) &&
              same_shape(r, 2, (int64_t[]){1, 3}));
    dt_tensor_destroy(&r);
    /* flattened: argmax(x) = 3 (the first NaN), 0-d even with keepdim */
    T_OK(dt_argmax(t, NULL, true, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){3}, 1) && same_shape(r, 0, NULL));
    dt_tensor_destroy(&r);
    T_OK(dt_argmin(t, NULL, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){3}, 1));
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&t);
  }
  /* without NaN, ties: [[2, 5], [5, 1]]: argmax() = 1, argmin() = 3,
   * amax(dim=[]) = 5, amin over (0, 1) = 1 */
  const double y[4] = {2, 5, 5, 1};
  const int64_t s2[2] = {2, 2};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c;
    dt_tensor *t = make(T_ctx, 2, s2, y, DT_FLOAT64,
                        dt_test_layout(k, 2, s2, &c, NULL)),
              *r = NULL;
    T_OK(dt_argmax(t, NULL, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){1}, 1));
    dt_tensor_destroy(&r);
    T_OK(dt_argmin(t, NULL, false, &r));
    CU_ASSERT(equals_i64(r, (int64_t[]){3}, 1));
    dt_tensor_destroy(&r);
    T_OK(dt_amax(t, 0, NULL, false, &r));
    CU_ASSERT(equals_f64(r, (double[]){5}, 1));
    dt_tensor_destroy(&r);
    T_OK(dt_amin(t, 2, (int[]){0, 1}, false, &r));
    CU_ASSERT(equals_f64(r, (double[]){1}, 1));
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&t);
  }
  /* integers and bool keep their dtype: amax([[3, -7], [9, 9]], 1) = [3, 9]
   * (int32); amax of bool is bool */
  const int32_t xi[4] = {3, -7, 9, 9};
  dt_tensor *t = make(T_ctx, 2, s2, xi, DT_INT32, (dt_opts){0}), *r = NULL;
  T_OK(dt_amax(t, 1, &d1, false, &r));
  int32_t *g = dt_test_gather_all(r);
  CU_ASSERT(g && dt_dtype_of(r) == DT_INT32 && g[0] == 3 && g[1] == 9);
  free(g);
  dt_tensor_destroy(&r);
  T_OK(dt_argmin(t, &d0, false, &r));
  CU_ASSERT(equals_i64(r, (int64_t[]){0, 0}, 2));
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&t);
  const uint8_t xb[4] = {0, 1, 0, 0};
  t = make(T_ctx, 2, s2, xb, DT_BOOL, (dt_opts){0});
  T_OK(dt_amax(t, 1, &d1, false, &r));
  uint8_t *gb = dt_test_gather_all(r);
  CU_ASSERT(gb && dt_dtype_of(r) == DT_BOOL && gb[0] == 1 && gb[1] == 0);
  free(gb);
  dt_tensor_destroy(&r);
  /* torch 1.13: "argmax_cpu" not implemented for 'Bool' */
  T_ERR(dt_argmax(t, &d1, false, &r), DT_ERR_DTYPE);
  CU_ASSERT(last_error_has("dt_argmax: \"argmax_cpu\" not implemented for "
                           "'Bool'"));
  dt_tensor_destroy(&t);
}

static void t_errors(void) {
  const int64_t s[2] = {3, 4};
  dt_tensor *t = NULL, *r = NULL, *z = NULL, *s0 = NULL;
  T_OK(dt_zeros(T_ctx, 2, s, &(dt_opts){.dtype = DT_FLOAT64}, &t));
  const int bad = 2, neg = -3;
  T_ERR(dt_sum_dim(t, 1, &bad, false, &r), DT_ERR_AXIS);
  CU_ASSERT(last_error_has("dt_sum_dim: Dimension out of range (expected to "
                           "be in range of [-2, 1], but got 2)"));
  T_ERR(dt_amin(t, 1, &neg, false, &r), DT_ERR_AXIS);
  CU_ASSERT(last_error_has("dt_amin: Dimension out of range"));
  T_ERR(dt_argmin(t, &bad, false, &r), DT_ERR_AXIS);
  CU_ASSERT(last_error_has("dt_argmin: "));
  T_ERR(dt_mean_dim(t, 2, (int[]){1, -1}, false, &r), DT_ERR_ARG);
  CU_ASSERT(last_error_has(
      "dt_mean_dim: dim 1 appears multiple times in the list of dims"));
  T_ERR(dt_sum_dim(t, 1, NULL, false, &r), DT_ERR_NULL);
  T_ERR(dt_sum_dim(NULL, 0, NULL, false, &r), DT_ERR_NULL);
  T_ERR(dt_sum_dim(t, 0, NULL, false, NULL), DT_ERR_NULL);
  CU_ASSERT(r == NULL);
  /* max/min of nothing */
  const int64_t se[2] = {3, 0};
  T_OK(dt_zeros(T_ctx, 2, se, NULL, &z));
  const int d0 = 0, d1 = 1;
  T_ERR(dt_amax(z, 1, &d1, false, &r), DT_ERR_SHAPE);
  CU_ASSERT(last_error_has(
      "dt_amax: amax(): Expected reduction dim 1 to have non-zero size."));
  T_ERR(dt_argmax(z, NULL, false, &r), DT_ERR_SHAPE);
  CU_ASSERT(last_error_has("dt_argmax: argmax(): Expected reduction dim to be "
                           "specified for input.numel() == 0."));
  T_ERR(dt_amin(z, 0, NULL, false, &r), DT_ERR_SHAPE);
  /* reducing a non-empty axis of an empty tensor is fine: shape [0] */
  T_OK(dt_amax(z, 1, &d0, false, &r));
  CU_ASSERT(same_shape(r, 1, (int64_t[]){0}));
  dt_tensor_destroy(&r);
  /* a 0-d tensor takes dim 0 and -1 (torch wraps it as one axis) */
  T_OK(dt_full(T_ctx, 0, NULL, DT_F(2.5), NULL, &s0));
  const int m1 = -1;
  T_OK(dt_sum_dim(s0, 1, &m1, false, &r));
  float *v = dt_test_gather_all(r);
  CU_ASSERT(v && v[0] == 2.5f && same_shape(r, 0, NULL));
  free(v);
  dt_tensor_destroy(&r);
  T_OK(dt_argmax(s0, &d0, true, &r));
  CU_ASSERT(equals_i64(r, (int64_t[]){0}, 1));
  dt_tensor_destroy(&r);
  T_ERR(dt_amax(s0, 1, &d1, false, &r), DT_ERR_AXIS);
  CU_ASSERT(last_error_has("[-1, 0], but got 1"));
  dt_tensor_destroy(&s0);
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&t);
}

/* ---- layout invariance --------------------------------------------------- */

typedef enum { K_SUM, K_MEAN, K_AMAX, K_AMIN, K_ARGMAX, K_ARGMIN } kind;

static dt_err run(kind k, const dt_tensor *t, int ndims, const int *dims,
                  bool keep, dt_tensor **r) {
  switch (k) {
  case K_SUM:
    return dt_sum_dim(t, ndims, dims, keep, r);
  case K_MEAN:
    return dt_mean_dim(t, ndims, dims, keep, r);
  case K_AMAX:
    return dt_amax(t, ndims, dims, keep, r);
  case K_AMIN:
    return dt_amin(t, ndims, dims, keep, r);
  case K_ARGMAX:
    return dt_argmax(t, ndims ? dims : NULL, keep, r);
  default:
    return dt_argmin(t, ndims ? dims : NULL, keep, r);
  }
}

/* Every reduction of a [7, 5, 3] tensor (every axis subset, keepdim or
 * not) in every layout equals the 1-rank result bitwise. */
static void t_layout_invariance(void) {
  const int64_t s[3] = {7, 5, 3};
  dt_ctx *self = dt_test_self_ctx();
  int bad = 0;
  for (int dti = 0; dti < 2; dti++) {
    dt_dtype dt = dti ? DT_FLOAT64 : DT_FLOAT32;
    dt_tensor *ref = NULL;
    T_OK(dt_manual_seed(self, 7));
    T_OK(dt_randn(self, 3, s, &(dt_opts){.dtype = dt}, &ref));
    for (int lk = 0; lk < DT_TEST_NLAYOUTS + 1; lk++) {
      dt_test_cuts c;
      dt_opts o = lk < DT_TEST_NLAYOUTS
                      ? dt_test_layout(lk, 3, s, &c, NULL)
                      : (dt_opts){.layout = DT_SPLIT, .split_axis = 1};
      o.dtype = dt;
      dt_tensor *t = NULL;
      T_OK(dt_manual_seed(T_ctx, 7));
      T_OK(dt_randn(T_ctx, 3, s, &o, &t));
      /* a strided view too: the transpose of axes 0 and 2 */
      dt_tensor *tt = NULL, *rt = NULL;
      T_OK(dt_transpose(t, 0, 2, &tt));
      T_OK(dt_transpose(ref, 0, 2, &rt));
      for (int view = 0; view < 2; view++) {
        const dt_tensor *a = view ? tt : t, *ar = view ? rt : ref;
        for (int kk = 0; kk < 6; kk++)
          for (int mask = 0; mask < 8; mask++) {
            int dims[3], nd = 0;
            for (int d = 0; d < 3; d++)
              if (mask & (1 << d))
                dims[nd++] = d;
            if (kk >= K_ARGMAX && nd > 1)
              continue;
            for (int keep = 0; keep < 2; keep++) {
              dt_tensor *r = NULL, *r1 = NULL;
              T_OK(run((kind)kk, a, nd, dims, keep, &r));
              T_OK(run((kind)kk, ar, nd, dims, keep, &r1));
              void *g = r ? dt_test_gather_all(r) : NULL;
              void *g1 = r1 ? dt_test_gather_all(r1) : NULL;
              int ok = g && g1 && dt_numel(r) == dt_numel(r1) &&
                       dt_ndim(r) == dt_ndim(r1) &&
                       dt_dtype_of(r) == dt_dtype_of(r1) &&
                       dt_test_same_bits(g, g1,
                                         (size_t)dt_numel(r) *
                                             dt_dtype_size(dt_dtype_of(r)));
              if (!ok && T_rank == 0 && bad++ < 5)
                fprintf(stderr,
                        "layout %d view %d op %d mask %d keep %d differs\n", lk,
                        view, kk, mask, keep);
              CU_ASSERT(ok);
              free(g);
              free(g1);
              dt_tensor_destroy(&r);
              dt_tensor_destroy(&r1);
            }
          }
      }
      dt_tensor_destroy(&tt);
      dt_tensor_destroy(&rt);
      dt_tensor_destroy(&t);
    }
    dt_tensor_destroy(&ref);
  }
}

/* Large enough for the threaded loop at 1 rank (2 threads) but not in the
 * smaller shards at 3-4 ranks: the same bits either way. */
static void t_threads(void) {
  const int64_t s[2] = {300, 250};
  dt_ctx *self = dt_test_self_ctx();
  dt_tensor *t = NULL, *ref = NULL;
  T_OK(dt_manual_seed(T_ctx, 11));
  T_OK(dt_randn(T_ctx, 2, s, NULL, &t));
  T_OK(dt_manual_seed(self, 11));
  T_OK(dt_randn(self, 2, s, NULL, &ref));
  for (int kk = 0; kk < 6; kk++)
    for (int d = 0; d < 2; d++) {
      dt_tensor *r = NULL, *r1 = NULL;
      T_OK(run((kind)kk, t, 1, &d, false, &r));
      T_OK(run((kind)kk, ref, 1, &d, false, &r1));
      void *g = dt_test_gather_all(r), *g1 = dt_test_gather_all(r1);
      CU_ASSERT(g && g1 &&
                dt_test_same_bits(g, g1,
                                  (size_t)dt_numel(r) *
                                      dt_dtype_size(dt_dtype_of(r))));
      free(g);
      free(g1);
      dt_tensor_destroy(&r);
      dt_tensor_destroy(&r1);
    }
  dt_tensor_destroy(&t);
  dt_tensor_destroy(&ref);
}

/* The result's layout: the input's on the kept axes when the reduced axes
 * are whole on every rank; reducing the split axis splits the largest kept
 * axis; all reduced: replicated. */
static void t_result_layout(void) {
  const int64_t s[3] = {4 * T_size + 1, 3, 2 * T_size + 2};
  dt_tensor *t = NULL, *r = NULL;
  T_OK(dt_zeros(T_ctx, 3, s, NULL, &t));
  int axis = -9;
  const int d0 = 0, d1 = 1;
  T_OK(dt_sum_dim(t, 1, &d1, false, &r));
  CU_ASSERT(dt_layout_of(r, &axis, NULL) == DT_SPLIT && axis == 0);
  dt_tensor_destroy(&r);
  T_OK(dt_amax(t, 1, &d0, true, &r));
  CU_ASSERT(dt_layout_of(r, &axis, NULL) == DT_SPLIT &&
            (T_size == 1 || axis == 2));
  dt_tensor_destroy(&r);
  T_OK(dt_mean_dim(t, 0, NULL, false, &r));
  CU_ASSERT(dt_layout_of(r, NULL, NULL) == DT_REPLICATED);
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&t);
}

/* ---- gradients ------------------------------------------------------------
 */

typedef struct gcase {
  int op, nd, dims[3];
  bool keep;
} gcase;

static dt_err f_reduce(void *arg, dt_tensor *const *in, dt_tensor **out) {
  const gcase *c = arg;
  switch (c->op) {
  case 0:
    return dt_sum_dim(in[0], c->nd, c->dims, c->keep, out);
  case 1:
    return dt_mean_dim(in[0], c->nd, c->dims, c->keep, out);
  case 2:
    return dt_amax(in[0], c->nd, c->dims, c->keep, out);
  default:
    return dt_amin(in[0], c->nd, c->dims, c->keep, out);
  }
}

static void t_gradcheck(void) {
  const int64_t s[3] = {T_size + 2, 3, 2};
  const gcase cases[] = {
      {0, 1, {0}, false}, {0, 1, {1}, true},  {0, 2, {0, 2}, false},
      {0, 0, {0}, false}, {1, 1, {0}, true},  {1, 2, {-1, 1}, false},
      {1, 0, {0}, true},  {2, 1, {0}, false}, {2, 2, {1, 2}, true},
      {2, 0, {0}, false}, {3, 1, {2}, false}, {3, 3, {0, 1, 2}, true}};
  for (int lk = 0; lk < DT_TEST_NLAYOUTS; lk++) {
    dt_test_cuts c;
    dt_opts o = dt_test_layout(lk, 3, s, &c, NULL);
    o.dtype = DT_FLOAT64;
    for (size_t w = 0; w < sizeof cases / sizeof cases[0]; w++) {
      dt_tensor *x = NULL;
      T_OK(dt_manual_seed(T_ctx, 30 + w));
      T_OK(dt_randn(T_ctx, 3, s, &o, &x));
      T_OK(dt_requires_grad_(x, true));
      double err = -1;
      T_OK(dt_gradcheck(f_reduce, (void *)&cases[w], 1, &x, 1e-6, 1e-5, 1e-3,
                        &err));
      CU_ASSERT(err >= 0 && err <= 1);
      if (!(err >= 0 && err <= 1) && T_rank == 0)
        fprintf(stderr, "gradcheck layout %d case %zu: %g\n", lk, w, err);
      /* the gradient lives in the input's layout */
      dt_tensor *g = dt_grad(x);
      int a1 = -1, a2 = -1;
      CU_ASSERT(g && dt_layout_of(g, &a1, NULL) == dt_layout_of(x, &a2, NULL) &&
                a1 == a2);
      dt_tensor_destroy(&x);
    }
  }
}

/* torch 1.13: amax's gradient is shared evenly between ties; sum's grad_fn
 * is SumBackward1. x = [[1, 3, 3], [4, 4, 4]]: amax(x, 1).sum().backward()
 * gives [[0, .5, .5], [1/3, 1/3, 1/3]]; amax over everything gives 1/3 at
 * each 4. */
static void t_grad_ties(void) {
  const int64_t s[2] = {2, 3};
  const float x[6] = {1, 3, 3, 4, 4, 4};
  const int d1 = 1;
  for (int lk = 0; lk < DT_TEST_NLAYOUTS; lk++) {
    dt_test_cuts c;
    dt_opts o = dt_test_layout(lk, 2, s, &c, NULL);
    o.requires_grad = true;
    dt_tensor *t = make(T_ctx, 2, s, x, DT_FLOAT32, o), *m = NULL, *l = NULL;
    T_OK(dt_amax(t, 1, &d1, false, &m));
    T_OK(dt_sum(m, &l));
    T_OK(dt_backward(l, NULL, false));
    float *g = dt_test_gather_all(dt_grad(t));
    const float third = 1.0f / 3.0f;
    CU_ASSERT(g && g[0] == 0 && g[1] == 0.5f && g[2] == 0.5f && g[3] == third &&
              g[4] == third && g[5] == third);
    free(g);
    char *repr = NULL;
    T_OK(dt_format(m, &repr));
    CU_ASSERT(repr && strstr(repr, "grad_fn=<AmaxBackward0>"));
    free(repr);
    dt_tensor_destroy(&m);
    dt_tensor_destroy(&l);
    T_OK(dt_zero_grad(t));
    T_OK(dt_amax(t, 0, NULL, false, &m));
    T_OK(dt_backward(m, NULL, false));
    g = dt_test_gather_all(dt_grad(t));
    CU_ASSERT(g && g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == third &&
              g[4] == third && g[5] == third);
    free(g);
    dt_tensor_destroy(&m);
    T_OK(dt_sum_dim(t, 1, &d1, false, &m));
    T_OK(dt_format(m, &repr));
    CU_ASSERT(repr && strstr(repr, "grad_fn=<SumBackward1>"));
    free(repr);
    dt_tensor_destroy(&m);
    dt_tensor_destroy(&t);
  }
}

/* A NaN maximum equals no element, so torch 1.13's (g / ties) * mask is
 * g / 0 * 0: NaN for every element of that slice (here: of row 0 only). */
static void t_grad_nan(void) {
  const int64_t s[2] = {2, 3};
  const double x[6] = {1, NAN, 2, 5, 4, 3};
  const int d1 = 1;
  for (int lk = 0; lk < DT_TEST_NLAYOUTS; lk++) {
    dt_test_cuts c;
    dt_opts o = dt_test_layout(lk, 2, s, &c, NULL);
    o.requires_grad = true;
    dt_tensor *t = make(T_ctx, 2, s, x, DT_FLOAT64, o), *m = NULL, *l = NULL;
    T_OK(dt_amax(t, 1, &d1, false, &m));
    T_OK(dt_sum(m, &l));
    T_OK(dt_backward(l, NULL, false));
    double *g = dt_test_gather_all(dt_grad(t));
    CU_ASSERT(g && isnan(g[0]) && isnan(g[1]) && isnan(g[2]) && g[3] == 1 &&
              g[4] == 0 && g[5] == 0);
    free(g);
    dt_tensor_destroy(&l);
    dt_tensor_destroy(&m);
    dt_tensor_destroy(&t);
  }
}

static const dt_test_case cases[] = {
    {"sum/mean values as torch", t_sum_mean_values},
    {"integer sums give int64; mean refuses ints", t_integer_sums},
    {"amax/amin/argmax/argmin: ties and NaN as torch", t_max_min_values},
    {"errors as torch words them", t_errors},
    {"every layout equals the 1-rank result bitwise", t_layout_invariance},
    {"threaded and serial loops agree", t_threads},
    {"the result's layout", t_result_layout},
    {"gradcheck in every layout", t_gradcheck},
    {"amax gradient shared between ties", t_grad_ties},
    {"amax gradient of a NaN maximum", t_grad_nan},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "reduce", cases);
}
