/*
 * test_join - dt_cat and dt_stack: torch 1.13's values, dtype promotion and
 * errors written in; inputs in every pair of layouts at 1-4 ranks bitwise
 * equal to the 1-rank result; the result's layout; gradients checked and
 * delivered in each input's own layout.
 */
#include "dt_test.h"

#include <math.h>
#include <stdlib.h>

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

static int equals(const dt_tensor *t, dt_dtype dt, const void *want,
                  int64_t n) {
  void *g = dt_test_gather_all(t);
  int ok = g && dt_numel(t) == n && dt_dtype_of(t) == dt &&
           dt_test_same_bits(g, want, dt_dtype_size(dt) * (size_t)n);
  free(g);
  return ok;
}

static int last_error_has(const char *s) {
  return strstr(dt_last_error(), s) != NULL;
}

/* ---- values ----------------------------------------------------------------
 */

static void t_cat_values(void) {
  const int64_t sa[2] = {2, 2}, sb[2] = {1, 2}, sc[2] = {2, 1};
  const double a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c1, c2, c3;
    dt_tensor *ta =
        make(T_ctx, 2, sa, a, DT_FLOAT64, dt_test_layout(k, 2, sa, &c1, NULL));
    dt_tensor *tb =
        make(T_ctx, 2, sb, b, DT_FLOAT64,
             dt_test_layout((k + 1) % DT_TEST_NLAYOUTS, 2, sb, &c2, NULL));
    dt_tensor *tc =
        make(T_ctx, 2, sc, b, DT_FLOAT64,
             dt_test_layout((k + 2) % DT_TEST_NLAYOUTS, 2, sc, &c3, NULL));
    dt_tensor *r = NULL;
    /* torch.cat([a, b]) = [[1, 2], [3, 4], [5, 6]] */
    T_OK(dt_cat(2, (const dt_tensor *[]){ta, tb}, 0, &r));
    CU_ASSERT(same_shape(r, 2, (int64_t[]){3, 2}));
    CU_ASSERT(equals(r, DT_FLOAT64, (double[]){1, 2, 3, 4, 5, 6}, 6));
    dt_tensor_destroy(&r);
    /* torch.cat([a, c, a], -1) = [[1, 2, 5, 1, 2], [3, 4, 6, 3, 4]] */
    T_OK(dt_cat(3, (const dt_tensor *[]){ta, tc, ta}, -1, &r));
    CU_ASSERT(same_shape(r, 2, (int64_t[]){2, 5}));
    CU_ASSERT(
        equals(r, DT_FLOAT64, (double[]){1, 2, 5, 1, 2, 3, 4, 6, 3, 4}, 10));
    dt_tensor_destroy(&r);
    /* torch.stack([a, a], 1) = [[[1, 2], [1, 2]], [[3, 4], [3, 4]]] */
    T_OK(dt_stack(2, (const dt_tensor *[]){ta, ta}, 1, &r));
    CU_ASSERT(same_shape(r, 3, (int64_t[]){2, 2, 2}));
    CU_ASSERT(equals(r, DT_FLOAT64, (double[]){1, 2, 1, 2, 3, 4, 3, 4}, 8));
    dt_tensor_destroy(&r);
    /* torch.stack([a, a], -1) = [[[1, 1], [2, 2]], [[3, 3], [4, 4]]] */
    T_OK(dt_stack(2, (const dt_tensor *[]){ta, ta}, -1, &r));
    CU_ASSERT(same_shape(r, 3, (int64_t[]){2, 2, 2}));
    CU_ASSERT(equals(r, DT_FLOAT64, (double[]){1, 1, 2, 2, 3, 3, 4, 4}, 8));
    dt_tensor_destroy(&r);
    /* torch's legacy rule: a [0] tensor is skipped: cat([a, empty]) = a */
    dt_tensor *e = NULL;
    T_OK(dt_zeros(T_ctx, 1, (int64_t[]){0}, NULL, &e));
    T_OK(dt_cat(3, (const dt_tensor *[]){e, ta, e}, 1, &r));
    CU_ASSERT(same_shape(r, 2, sa) &&
              equals(r, DT_FLOAT64, (double[]){1, 2, 3, 4}, 4));
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&e);
    dt_tensor_destroy(&ta);
    dt_tensor_destroy(&tb);
    dt_tensor_destroy(&tc);
  }
  /* stack of 0-d tensors: torch.stack([tensor(1.), tensor(2.)]) = [1, 2] */
  dt_tensor *x = NULL, *y = NULL, *r = NULL;
  T_OK(dt_full(T_ctx, 0, NULL, DT_F(1), NULL, &x));
  T_OK(dt_full(T_ctx, 0, NULL, DT_F(2), NULL, &y));
  T_OK(dt_stack(2, (const dt_tensor *[]){x, y}, 0, &r));
  CU_ASSERT(same_shape(r, 1, (int64_t[]){2}) &&
            equals(r, DT_FLOAT32, (float[]){1, 2}, 2));
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&x);
  dt_tensor_destroy(&y);
}

/* torch.result_type: cat(int64, float32) is float32, cat(int32, int64)
 * int64, cat(bool, int32) int32, cat(float32, float64) float64. */
static void t_promotion(void) {
  const int64_t s[1] = {2};
  const int64_t i64[2] = {1, -2};
  const int32_t i32[2] = {7, 8};
  const uint8_t bl[2] = {1, 0};
  const float f32[2] = {0.5f, 1.5f};
  const double f64[2] = {0.1, 0.2};
  dt_tensor *a = make(T_ctx, 1, s, i64, DT_INT64, (dt_opts){0});
  dt_tensor *b = make(T_ctx, 1, s, i32, DT_INT32, (dt_opts){0});
  dt_tensor *c = make(T_ctx, 1, s, bl, DT_BOOL, (dt_opts){0});
  dt_tensor *f = make(T_ctx, 1, s, f32, DT_FLOAT32, (dt_opts){0});
  dt_tensor *g = make(T_ctx, 1, s, f64, DT_FLOAT64, (dt_opts){0});
  dt_tensor *r = NULL;
  T_OK(dt_cat(2, (const dt_tensor *[]){a, f}, 0, &r));
  CU_ASSERT(equals(r, DT_FLOAT32, (float[]){1, -2, 0.5f, 1.5f}, 4));
  dt_tensor_destroy(&r);
  T_OK(dt_cat(2, (const dt_tensor *[]){b, a}, 0, &r));
  CU_ASSERT(equals(r, DT_INT64, (int64_t[]){7, 8, 1, -2}, 4));
  dt_tensor_destroy(&r);
  T_OK(dt_cat(2, (const dt_tensor *[]){c, b}, 0, &r));
  CU_ASSERT(equals(r, DT_INT32, (int32_t[]){1, 0, 7, 8}, 4));
  dt_tensor_destroy(&r);
  T_OK(dt_stack(2, (const dt_tensor *[]){f, g}, 0, &r));
  CU_ASSERT(equals(r, DT_FLOAT64, (double[]){0.5, 1.5, 0.1, 0.2}, 4));
  dt_tensor_destroy(&r);
  T_OK(dt_cat(2, (const dt_tensor *[]){c, c}, 0, &r));
  CU_ASSERT(equals(r, DT_BOOL, (uint8_t[]){1, 0, 1, 0}, 4));
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&f);
  dt_tensor_destroy(&g);
}

static void t_errors(void) {
  dt_tensor *a = NULL, *b = NULL, *z = NULL, *r = NULL, *v = NULL;
  T_OK(dt_zeros(T_ctx, 2, (int64_t[]){2, 3}, NULL, &a));
  T_OK(dt_zeros(T_ctx, 2, (int64_t[]){2, 4}, NULL, &b));
  T_OK(dt_zeros(T_ctx, 0, NULL, NULL, &z));
  T_OK(dt_zeros(T_ctx, 1, (int64_t[]){3}, NULL, &v));
  T_ERR(dt_cat(0, NULL, 0, &r), DT_ERR_ARG);
  CU_ASSERT(last_error_has(
      "dt_cat: torch.cat(): expected a non-empty list of Tensors"));
  T_ERR(dt_cat(2, (const dt_tensor *[]){a, b}, 0, &r), DT_ERR_SHAPE);
  CU_ASSERT(last_error_has("dt_cat: Sizes of tensors must match except in "
                           "dimension 0. Expected size 3 but got size 4 for "
                           "tensor number 1 in the list."));
  T_OK(dt_cat(2, (const dt_tensor *[]){a, b}, 1, &r));
  CU_ASSERT(same_shape(r, 2, (int64_t[]){2, 7}));
  dt_tensor_destroy(&r);
  T_ERR(dt_cat(2, (const dt_tensor *[]){a, v}, 0, &r), DT_ERR_SHAPE);
  CU_ASSERT(last_error_has(
      "dt_cat: Tensors must have same number of dimensions: got 2 and 1"));
  T_ERR(dt_cat(2, (const dt_tensor *[]){a, z}, 0, &r), DT_ERR_SHAPE);
  CU_ASSERT(last_error_has("dt_cat: zero-dimensional tensor (at position 1) "
                           "cannot be concatenated"));
  T_ERR(dt_cat(1, (const dt_tensor *[]){a}, 2, &r), DT_ERR_AXIS);
  CU_ASSERT(last_error_has("dt_cat: Dimension out of range (expected to be "
                           "in range of [-2, 1], but got 2)"));
  T_ERR(dt_cat(2, (const dt_tensor *[]){a, NULL}, 0, &r), DT_ERR_NULL);
  T_ERR(dt_stack(0, NULL, 0, &r), DT_ERR_ARG);
  CU_ASSERT(last_error_has("dt_stack: stack expects a non-empty TensorList"));
  T_ERR(dt_stack(2, (const dt_tensor *[]){a, b}, 0, &r), DT_ERR_SHAPE);
  CU_ASSERT(last_error_has("dt_stack: stack expects each tensor to be equal "
                           "size, but got [2, 3] at entry 0 and [2, 4] at "
                           "entry 1"));
  T_ERR(dt_stack(1, (const dt_tensor *[]){a}, 3, &r), DT_ERR_AXIS);
  CU_ASSERT(last_error_has("[-3, 2], but got 3"));
  T_ERR(dt_stack(1, (const dt_tensor *[]){a}, 0, NULL), DT_ERR_NULL);
  CU_ASSERT(r == NULL);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&v);
}

/* ---- layouts ----------------------------------------------------------------
 */

/* cat of a [5, 3] and a [2, 3] (and on axis 1 a [5, 3] with a [5, 4]) in
 * every pair of layouts, and stack on every axis, equal the 1-rank result
 * bitwise; the result's layout is the first input's kind. */
static void t_layout_invariance(void) {
  dt_ctx *self = dt_test_self_ctx();
  const int64_t sa[2] = {5, 3}, sb[2] = {2, 3}, sc[2] = {5, 4};
  dt_tensor *ra = NULL, *rb = NULL, *rc = NULL;
  T_OK(dt_manual_seed(self, 3));
  T_OK(dt_randn(self, 2, sa, NULL, &ra));
  T_OK(dt_randn(self, 2, sb, &(dt_opts){.dtype = DT_FLOAT64}, &rb));
  T_OK(dt_randn(self, 2, sc, NULL, &rc));
  dt_tensor *w0 = NULL, *w1 = NULL, *ws[3] = {NULL, NULL, NULL};
  T_OK(dt_cat(2, (const dt_tensor *[]){ra, rb}, 0, &w0));
  T_OK(dt_cat(2, (const dt_tensor *[]){ra, rc}, 1, &w1));
  for (int d = 0; d < 3; d++)
    T_OK(dt_stack(2, (const dt_tensor *[]){ra, ra}, d, &ws[d]));
  void *g0 = dt_test_gather_all(w0), *g1 = dt_test_gather_all(w1);
  void *gs[3];
  for (int d = 0; d < 3; d++)
    gs[d] = dt_test_gather_all(ws[d]);
  for (int ka = 0; ka < DT_TEST_NLAYOUTS; ka++)
    for (int kb = 0; kb < DT_TEST_NLAYOUTS; kb++) {
      dt_test_cuts c1, c2, c3;
      dt_opts oa = dt_test_layout(ka, 2, sa, &c1, NULL),
              ob = dt_test_layout(kb, 2, sb, &c2, NULL),
              oc = dt_test_layout(kb, 2, sc, &c3, NULL);
      ob.dtype = DT_FLOAT64;
      dt_tensor *a = NULL, *b = NULL, *c = NULL, *r = NULL;
      T_OK(dt_manual_seed(T_ctx, 3));
      T_OK(dt_randn(T_ctx, 2, sa, &oa, &a));
      T_OK(dt_randn(T_ctx, 2, sb, &ob, &b));
      T_OK(dt_randn(T_ctx, 2, sc, &oc, &c));
      int axa = -1, axr = -1;
      dt_layout_kind kind = dt_layout_of(a, &axa, NULL);
      T_OK(dt_cat(2, (const dt_tensor *[]){a, b}, 0, &r));
      void *g = dt_test_gather_all(r);
      CU_ASSERT(g && g0 && dt_dtype_of(r) == DT_FLOAT64 &&
                dt_test_same_bits(g, g0, 7 * 3 * sizeof(double)));
      free(g);
      dt_layout_kind rk = dt_layout_of(r, &axr, NULL);
      if (kind == DT_REPLICATED)
        CU_ASSERT(rk == DT_REPLICATED);
      if (kind == DT_SPLIT)
        CU_ASSERT(rk == DT_SPLIT && axr == axa);
      dt_tensor_destroy(&r);
      T_OK(dt_cat(2, (const dt_tensor *[]){a, c}, 1, &r));
      g = dt_test_gather_all(r);
      CU_ASSERT(g && g1 && dt_test_same_bits(g, g1, 5 * 7 * sizeof(float)));
      free(g);
      dt_tensor_destroy(&r);
      for (int d = 0; d < 3; d++) {
        /* a and a strided view of it (a transposed twice is a itself) */
        T_OK(dt_stack(2, (const dt_tensor *[]){a, a}, d, &r));
        g = dt_test_gather_all(r);
        CU_ASSERT(g && gs[d] &&
                  dt_test_same_bits(g, gs[d], 2 * 5 * 3 * sizeof(float)));
        free(g);
        if (kind == DT_SPLIT) {
          CU_ASSERT(dt_layout_of(r, &axr, NULL) == DT_SPLIT &&
                    axr == axa + (axa >= d));
        }
        dt_tensor_destroy(&r);
      }
      dt_tensor_destroy(&a);
      dt_tensor_destroy(&b);
      dt_tensor_destroy(&c);
    }
  free(g0);
  free(g1);
  for (int d = 0; d < 3; d++) {
    free(gs[d]);
    dt_tensor_destroy(&ws[d]);
  }
  dt_tensor_destroy(&w0);
  dt_tensor_destroy(&w1);
  dt_tensor_destroy(&ra);
  dt_tensor_destroy(&rb);
  dt_tensor_destroy(&rc);
}

/* ---- gradients --------------------------------------------------------------
 */

typedef struct jcase {
  int stack, dim, n;
} jcase;

static dt_err f_join(void *arg, dt_tensor *const *in, dt_tensor **out) {
  const jcase *c = arg;
  const dt_tensor *ts[3] = {in[0], in[1], in[2]};
  return c->stack ? dt_stack(c->n, ts, c->dim, out)
                  : dt_cat(c->n, ts, c->dim, out);
}

static void t_gradcheck(void) {
  const jcase cases[] = {{0, 0, 3}, {0, 1, 3}, {0, -1, 2},
                         {0, 0, 1}, {1, 0, 3}, {1, 2, 2}};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
    for (size_t w = 0; w < sizeof cases / sizeof cases[0]; w++) {
      const jcase *c = &cases[w];
      dt_tensor *in[3] = {NULL, NULL, NULL};
      for (int i = 0; i < 3; i++) {
        /* cat on axis 0: inputs of 1, T_size + 1 and 2 rows; on axis 1
         * (or stacked): one shape */
        int64_t s[2] = {c->stack || c->dim != 0 ? T_size + 1
                        : i == 0                ? 1
                        : i == 1                ? T_size + 1
                                                : 2,
                        c->stack || c->dim == 0 ? 3 : 2 + i};
        dt_test_cuts cuts;
        dt_opts o =
            dt_test_layout((k + i) % DT_TEST_NLAYOUTS, 2, s, &cuts, NULL);
        o.dtype = DT_FLOAT64;
        o.requires_grad = true;
        T_OK(dt_manual_seed(T_ctx, 50 + (uint64_t)i));
        T_OK(dt_randn(T_ctx, 2, s, &o, &in[i]));
      }
      double err = -1;
      T_OK(dt_gradcheck(f_join, (void *)c, c->n, in, 1e-6, 1e-6, 1e-4, &err));
      CU_ASSERT(err >= 0 && err <= 1);
      if (!(err >= 0 && err <= 1) && T_rank == 0)
        fprintf(stderr, "gradcheck layout %d case %zu: %g\n", k, w, err);
      /* every gradient in its input's layout */
      for (int i = 0; i < c->n; i++) {
        int a1 = -2, a2 = -3;
        dt_tensor *g = dt_grad(in[i]);
        CU_ASSERT(
            g && dt_layout_of(g, &a1, NULL) == dt_layout_of(in[i], &a2, NULL) &&
            a1 == a2);
      }
      for (int i = 0; i < 3; i++)
        dt_tensor_destroy(&in[i]);
    }
}

/* The gradient of each input is its slice, in its dtype: cat of a float32
 * [2] and a float64 [3] (result float64), backward with [1, 2, 3, 4, 5]
 * gives [1, 2] (float32) and [3, 4, 5]; grad_fn names as torch's. */
static void t_grad_slices(void) {
  const float a[2] = {0, 0};
  const double b[3] = {0, 0, 0}, g[5] = {1, 2, 3, 4, 5};
  dt_tensor *ta = make(T_ctx, 1, (int64_t[]){2}, a, DT_FLOAT32,
                       (dt_opts){.requires_grad = true});
  dt_tensor *tb =
      make(T_ctx, 1, (int64_t[]){3}, b, DT_FLOAT64,
           (dt_opts){.requires_grad = true, .layout = DT_REPLICATED});
  dt_tensor *tg = make(T_ctx, 1, (int64_t[]){5}, g, DT_FLOAT64, (dt_opts){0});
  dt_tensor *r = NULL;
  T_OK(dt_cat(2, (const dt_tensor *[]){ta, tb}, 0, &r));
  char *repr = NULL;
  T_OK(dt_format(r, &repr));
  CU_ASSERT(repr && strstr(repr, "grad_fn=<CatBackward0>"));
  free(repr);
  T_OK(dt_backward(r, tg, false));
  CU_ASSERT(equals(dt_grad(ta), DT_FLOAT32, (float[]){1, 2}, 2));
  CU_ASSERT(equals(dt_grad(tb), DT_FLOAT64, (double[]){3, 4, 5}, 3));
  CU_ASSERT(dt_layout_of(dt_grad(tb), NULL, NULL) == DT_REPLICATED);
  dt_tensor_destroy(&r);
  T_OK(dt_stack(2, (const dt_tensor *[]){ta, ta}, 0, &r));
  T_OK(dt_format(r, &repr));
  CU_ASSERT(repr && strstr(repr, "grad_fn=<StackBackward0>"));
  free(repr);
  dt_tensor_destroy(&r);
  /* grad mode off: no graph */
  T_OK(dt_set_grad_enabled(T_ctx, false, NULL));
  T_OK(dt_cat(2, (const dt_tensor *[]){ta, tb}, 0, &r));
  CU_ASSERT(!dt_requires_grad(r) && !dt_has_grad_fn(r));
  dt_tensor_destroy(&r);
  T_OK(dt_set_grad_enabled(T_ctx, true, NULL));
  dt_tensor_destroy(&ta);
  dt_tensor_destroy(&tb);
  dt_tensor_destroy(&tg);
}

static const dt_test_case cases[] = {
    {"cat/stack values as torch", t_cat_values},
    {"dtype promotion as torch.result_type", t_promotion},
    {"errors as torch words them", t_errors},
    {"every pair of layouts equals the 1-rank result", t_layout_invariance},
    {"gradcheck: cat and stack in mixed layouts", t_gradcheck},
    {"gradients are slices in each input's layout and dtype", t_grad_slices},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "join", cases);
}
