/*
 * test_autograd - the copy table's gradient column, PyTorch's errors, and a
 * gradcheck of every differentiable operation at 1-4 ranks with uneven and
 * empty shards.
 */
#include "dt_test.h"

#include <math.h>
#include <stdlib.h>

static double scalar(const dt_tensor *t) {
  double v = 0;
  void *p = dt_test_gather_all(t);
  if (p)
    v = dt_dtype_of(t) == DT_FLOAT32 ? *(float *)p : *(double *)p;
  free(p);
  return v;
}

static dt_tensor *leaf(int nd, const int64_t *shape, dt_opts o, uint64_t seed) {
  dt_tensor *t = NULL;
  T_OK(dt_manual_seed(T_ctx, seed));
  o.dtype = o.dtype ? o.dtype : DT_FLOAT64;
  T_OK(dt_randn(T_ctx, nd, shape, &o, &t));
  T_OK(dt_requires_grad_(t, true));
  return t;
}

/* ---- the seed's table: clone, copy_, deepcopy, from_data, from_buffer ---- */

static void t_clone_keeps_graph(void) {
  const int64_t one = 1;
  double x0 = 3.0;
  dt_tensor *x = NULL, *y = NULL, *z = NULL, *s = NULL;
  T_OK(dt_from_data(T_ctx, 1, &one, &x0, DT_FLOAT64, DT_ALL_RANKS,
                    &(dt_opts){.requires_grad = true}, &x));
  T_OK(dt_clone(x, &y));
  CU_ASSERT(dt_requires_grad(y) && dt_has_grad_fn(y));
  char *repr = NULL;
  T_OK(dt_format(y, &repr));
  CU_ASSERT(repr && strcmp(repr, "tensor([3.], dtype=torch.float64, "
                                 "grad_fn=<CloneBackward0>)") == 0);
  free(repr);
  T_OK(dt_format(x, &repr));
  CU_ASSERT(repr && strcmp(repr, "tensor([3.], dtype=torch.float64, "
                                 "requires_grad=True)") == 0);
  free(repr);
  T_OK(dt_backward(y, NULL, false));
  CU_ASSERT_EQUAL(scalar(dt_grad(x)), 1.0);
  dt_tensor_destroy(&y);
  /* y = clone(x); pow(y, 2); backward -> x.grad == 2x (after zero_grad) */
  T_OK(dt_zero_grad(x));
  T_OK(dt_clone(x, &y));
  T_OK(dt_pow_scalar(y, 2, &z));
  T_OK(dt_backward(z, NULL, false));
  CU_ASSERT_EQUAL(scalar(dt_grad(x)), 6.0);
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&x);
  /* the same over a distributed tensor with uneven shards */
  const int64_t n = 2 * T_size + 1;
  x = leaf(1, &n, (dt_opts){0}, 4);
  T_OK(dt_clone(x, &y));
  T_OK(dt_pow_scalar(y, 2, &z));
  T_OK(dt_sum(z, &s));
  T_OK(dt_backward(s, NULL, false));
  double *xv = dt_test_gather_all(x), *gv = dt_test_gather_all(dt_grad(x));
  int ok = xv && gv;
  for (int64_t i = 0; ok && i < n; i++)
    ok = gv[i] == 2 * xv[i];
  CU_ASSERT(ok);
  free(xv);
  free(gv);
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&x);
}

/* torch: z.copy_(x) makes z require grad with grad_fn CopyBackwards; the
 * gradient reaches x (converted to x's dtype, summed over broadcast axes,
 * in x's layout) and z's old history gets zeros. */
static void t_copy_records_edge(void) {
  const int64_t s[2] = {5, 3};
  dt_tensor *x = leaf(2, s, (dt_opts){0}, 1), *w = leaf(2, s, (dt_opts){0}, 2);
  dt_tensor *z = NULL, *p = NULL, *L = NULL;
  T_OK(dt_zeros(T_ctx, 2, s, &(dt_opts){.dtype = DT_FLOAT64}, &z));
  T_OK(dt_copy_(z, x));
  CU_ASSERT(dt_requires_grad(z) && dt_has_grad_fn(z));
  char *repr = NULL;
  T_OK(dt_format(z, &repr));
  CU_ASSERT(repr && strstr(repr, "grad_fn=<CopyBackwards>") != NULL);
  free(repr);
  /* L = sum(z * w): dL/dx = w (through the copy), dL/dw = z = x */
  T_OK(dt_mul(z, w, &p));
  T_OK(dt_sum(p, &L));
  T_OK(dt_backward(L, NULL, false));
  double *xv = dt_test_gather_all(x), *wv = dt_test_gather_all(w);
  double *gx = dt_test_gather_all(dt_grad(x)),
         *gw = dt_test_gather_all(dt_grad(w));
  CU_ASSERT(xv && wv && gx && gw && memcmp(gx, wv, sizeof(double) * 15) == 0 &&
            memcmp(gw, xv, sizeof(double) * 15) == 0);
  free(xv);
  free(wv);
  free(gx);
  free(gw);
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&p);
  dt_tensor_destroy(&z);
  /* into a non-leaf that requires grad: allowed; its old history (x * 3)
   * gets zero, the new source (w, a float32 row broadcast) the gradient */
  const int64_t row = 3;
  dt_tensor *r = leaf(1, &row, (dt_opts){.dtype = DT_FLOAT32}, 9);
  T_OK(dt_set_grad(x, NULL));
  T_OK(dt_mul_scalar(x, 3.0, &z));
  T_OK(dt_copy_(z, r));
  T_OK(dt_sum(z, &L));
  T_OK(dt_backward(L, NULL, false));
  gx = dt_test_gather_all(dt_grad(x));
  float *gr = dt_test_gather_all(dt_grad(r));
  int ok = gx && gr && dt_dtype_of(dt_grad(r)) == DT_FLOAT32;
  for (int i = 0; ok && i < 15; i++)
    ok = gx[i] == 0.0;
  for (int i = 0; ok && i < 3; i++)
    ok = gr[i] == 5.0f; /* summed over the 5 broadcast rows */
  CU_ASSERT(ok);
  free(gx);
  free(gr);
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&r);
  /* a tensor saved for backward and overwritten by copy_: torch's error */
  T_OK(dt_zeros(T_ctx, 2, s, &(dt_opts){.dtype = DT_FLOAT64}, &z));
  T_OK(dt_mul(x, z, &p)); /* saves z */
  T_OK(dt_sum(p, &L));
  T_OK(dt_copy_(z, w));
  T_ERR(dt_backward(L, NULL, false), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(),
                   "one of the variables needed for gradient computation "
                   "has been modified by an inplace operation: "
                   "[torch.DoubleTensor [5, 3]] is at version 1; expected "
                   "version 0 instead") != NULL);
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&p);
  /* copy_ into a leaf that requires grad: refused with grad on, fine off */
  T_ERR(dt_copy_(x, z), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(), "leaf Variable that requires grad") !=
            NULL);
  bool prev = false;
  T_OK(dt_set_grad_enabled(T_ctx, false, &prev));
  CU_ASSERT(prev);
  T_OK(dt_copy_(x, z));
  dt_tensor_destroy(&z);
  /* with grad mode off nothing is recorded */
  T_OK(dt_zeros(T_ctx, 2, s, &(dt_opts){.dtype = DT_FLOAT64}, &z));
  T_OK(dt_copy_(z, w));
  CU_ASSERT(!dt_requires_grad(z) && !dt_has_grad_fn(z));
  T_OK(dt_set_grad_enabled(T_ctx, prev, NULL));
  CU_ASSERT(dt_is_grad_enabled(T_ctx));
  dt_tensor_destroy(&z);
  /* into a view of a graph tensor: refused (the base would not see it) */
  T_OK(dt_mul_scalar(x, 2.0, &z));
  T_OK(dt_slice(z, 1, 0, 2, 1, &p));
  dt_tensor *q = NULL;
  T_OK(dt_slice(w, 1, 0, 2, 1, &q));
  T_ERR(dt_copy_(p, q), DT_ERR_UNSUPPORTED);
  dt_tensor_destroy(&q);
  dt_tensor_destroy(&p);
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&x);
}

/* gradcheck through copy_: float64 x broadcast into a [4, 3] target of
 * another layout, then multiplied. */
static dt_err f_copy(void *arg, dt_tensor *const *in, dt_tensor **out) {
  const dt_opts *o = arg;
  const int64_t s[2] = {4, 3};
  dt_tensor *z = NULL;
  dt_err e = dt_zeros(dt_tensor_ctx(in[0]), 2, s, o, &z);
  if (!e)
    e = dt_copy_(z, in[0]);
  if (!e)
    e = dt_mul(z, z, out);
  dt_tensor_destroy(&z);
  return e;
}

static void t_gradcheck_copy(void) {
  const int64_t s[2] = {1, 3};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts c1;
    const int64_t ts[2] = {4, 3};
    dt_opts o = dt_test_layout(k, 2, ts, &c1, NULL);
    o.dtype = DT_FLOAT64;
    dt_tensor *x = leaf(2, s, (dt_opts){0}, 77);
    double err = -1;
    T_OK(dt_gradcheck(f_copy, &o, 1, &x, 1e-6, 1e-7, 1e-5, &err));
    CU_ASSERT(err >= 0 && err <= 1);
    dt_tensor_destroy(&x);
  }
}

static void t_deepcopy_and_leaves(void) {
  const int64_t s[2] = {4, 3};
  dt_tensor *x = leaf(2, s, (dt_opts){0}, 3), *y = NULL, *L = NULL, *d = NULL;
  T_OK(dt_mul_scalar(x, 3.0, &y));
  T_OK(dt_sum(y, &L));
  T_OK(dt_backward(L, NULL, false));
  T_OK(dt_deepcopy(x, NULL, &d));
  CU_ASSERT(dt_requires_grad(d) && !dt_has_grad_fn(d));
  CU_ASSERT_PTR_NOT_NULL(dt_grad(d));
  CU_ASSERT(dt_grad(d) != dt_grad(x));
  double *g1 = dt_test_gather_all(dt_grad(x)),
         *g2 = dt_test_gather_all(dt_grad(d));
  CU_ASSERT(g1 && g2 && memcmp(g1, g2, sizeof(double) * 12) == 0 &&
            g1[0] == 3.0);
  free(g1);
  free(g2);
  /* deepcopy of a non-leaf is a new leaf (no graph) */
  dt_tensor *dy = NULL;
  T_OK(dt_deepcopy(y, NULL, &dy));
  CU_ASSERT(!dt_has_grad_fn(dy));
  dt_tensor_destroy(&dy);
  /* from_data: a new leaf */
  double v[12] = {0};
  dt_tensor *f = NULL;
  T_OK(dt_from_data(T_ctx, 2, s, v, DT_FLOAT64, DT_ALL_RANKS,
                    &(dt_opts){.requires_grad = true}, &f));
  CU_ASSERT(dt_requires_grad(f) && !dt_has_grad_fn(f));
  dt_tensor_destroy(&f);
  /* from_buffer may require grad, as torch.from_numpy(a).requires_grad_()
   * (test_view's copy table checks its gradient) */
  double buf[12] = {0};
  int64_t st[2] = {0, 0}, ln[2] = {T_rank == 0 ? 4 : 0, 3};
  T_OK(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 2, s, st, ln, &f));
  T_OK(dt_requires_grad_(f, true));
  dt_tensor *fc = NULL;
  T_OK(dt_clone(f, &fc));
  T_OK(dt_requires_grad_(fc, true));
  dt_tensor_destroy(&fc);
  dt_tensor_destroy(&f);
  /* integer tensors cannot require grad; non-leaves cannot be switched off */
  T_OK(dt_zeros(T_ctx, 2, s, &(dt_opts){.dtype = DT_INT64}, &f));
  T_ERR(dt_requires_grad_(f, true), DT_ERR_DTYPE);
  T_ERR(dt_requires_grad_(y, false), DT_ERR_AUTOGRAD);
  dt_tensor_destroy(&f);
  dt_tensor_destroy(&d);
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&x);
}

/* ---- PyTorch's errors and accumulation ------------------------------------
 */

static void t_errors_and_accumulation(void) {
  const int64_t s[1] = {7};
  dt_tensor *x = leaf(1, s, (dt_opts){0}, 5), *y = NULL, *L = NULL, *c = NULL;
  dt_tensor *plain = NULL;
  T_OK(dt_ones(T_ctx, 1, s, &(dt_opts){.dtype = DT_FLOAT64}, &plain));
  T_ERR(dt_backward(plain, NULL, false), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(), "does not require grad") != NULL);
  T_OK(dt_mul_scalar(x, 2.0, &y));
  T_ERR(dt_backward(y, NULL, false), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(), "implicitly created only for scalar") !=
            NULL);
  /* an explicit gradient for a non-scalar */
  T_OK(dt_backward(y, plain, true));
  CU_ASSERT_EQUAL(scalar(dt_grad(x)), 2.0);
  /* gradients accumulate until zero_grad */
  T_OK(dt_backward(y, plain, false));
  double *g = dt_test_gather_all(dt_grad(x));
  CU_ASSERT(g && g[0] == 4.0 && g[6] == 4.0);
  free(g);
  /* the graph was freed by the second (non-retaining) backward */
  T_ERR(dt_backward(y, plain, false), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(), "second time") != NULL);
  T_OK(dt_zero_grad(x));
  g = dt_test_gather_all(dt_grad(x));
  CU_ASSERT(g && g[0] == 0.0);
  free(g);
  dt_tensor_destroy(&y);
  /* the version check: a tensor saved for backward changed in place */
  dt_tensor *w = NULL;
  T_OK(dt_ones(T_ctx, 1, s, &(dt_opts){.dtype = DT_FLOAT64}, &w));
  T_OK(dt_mul(x, w, &y)); /* saves w for x's gradient */
  T_OK(dt_sum(y, &L));
  T_OK(dt_add_scalar_(w, 1.0));
  T_ERR(dt_backward(L, NULL, false), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(), "modified by an inplace operation") !=
            NULL);
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&y);
  /* in-place on tensors that require grad is refused while recording */
  T_ERR(dt_add_scalar_(x, 1.0), DT_ERR_AUTOGRAD);
  T_OK(dt_clone(x, &c));
  T_ERR(dt_mul_scalar_(c, 2.0), DT_ERR_AUTOGRAD);
  T_ERR(dt_add_(w, x), DT_ERR_AUTOGRAD);
  /* with grad mode off nothing is recorded, in place is fine */
  T_OK(dt_set_grad_enabled(T_ctx, false, NULL));
  T_OK(dt_mul_scalar(x, 2.0, &y));
  CU_ASSERT(!dt_requires_grad(y) && !dt_has_grad_fn(y));
  T_OK(dt_add_scalar_(x, 1.0));
  T_OK(dt_set_grad_enabled(T_ctx, true, NULL));
  /* a leaf that is itself the output: backward on a one-element leaf */
  const int64_t one = 1;
  dt_tensor *u = leaf(1, &one, (dt_opts){0}, 6);
  T_OK(dt_backward(u, NULL, false));
  CU_ASSERT_EQUAL(scalar(dt_grad(u)), 1.0);
  dt_tensor_destroy(&u);
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&plain);
  dt_tensor_destroy(&x);
}

/* pow's exponent 0: a constant, so a zero gradient (PyTorch), even at 0;
 * a gradient from a context over other ranks is refused. */
static void t_pow_zero_and_contexts(void) {
  const int64_t two = 2;
  double v[2] = {0.0, 3.0};
  dt_tensor *x = NULL, *y = NULL, *L = NULL;
  T_OK(dt_from_data(T_ctx, 1, &two, v, DT_FLOAT64, DT_ALL_RANKS,
                    &(dt_opts){.requires_grad = true}, &x));
  T_OK(dt_pow_scalar(x, 0.0, &y));
  T_OK(dt_sum(y, &L));
  T_OK(dt_backward(L, NULL, false));
  double *g = dt_test_gather_all(dt_grad(x));
  CU_ASSERT(g && g[0] == 0.0 && g[1] == 0.0);
  free(g);
  if (T_size > 1) {
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, T_rank % 2, T_rank, &half);
    dt_ctx *hc = NULL;
    T_OK(dt_ctx_create(half, &hc));
    dt_tensor *h = NULL;
    T_OK(dt_zeros(hc, 1, &two, &(dt_opts){.dtype = DT_FLOAT64}, &h));
    T_ERR(dt_set_grad(x, h), DT_ERR_CONTEXT);
    dt_tensor_destroy(&h);
    T_OK(dt_ctx_destroy(&hc));
    MPI_Comm_free(&half);
  }
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&x);
}

/* Freeing order: outputs, inputs and graphs can go in any order. */
static void t_freeing_order(void) {
  const int64_t s[1] = {9};
  dt_tensor *x = leaf(1, s, (dt_opts){0}, 8), *y = NULL, *z = NULL, *L = NULL;
  T_OK(dt_exp(x, &y));
  T_OK(dt_mul(y, x, &z));
  T_OK(dt_sum(z, &L));
  dt_tensor_destroy(&x); /* the graph keeps the leaf alive */
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&z);
  T_OK(dt_backward(L, NULL, false));
  dt_tensor_destroy(&L);
  /* a long chain frees without recursion */
  x = leaf(1, s, (dt_opts){0}, 9);
  dt_tensor *cur = NULL;
  T_OK(dt_clone(x, &cur));
  for (int i = 0; i < 20000; i++) {
    dt_tensor *nx = NULL;
    dt_err e = dt_add_scalar(cur, 1e-3, &nx);
    if (e != DT_OK) {
      CU_FAIL("add_scalar in a long chain");
      break;
    }
    dt_tensor_destroy(&cur);
    cur = nx;
  }
  dt_tensor_destroy(&cur);
  dt_tensor_destroy(&x);
}

/* ---- gradcheck of every operation ---------------------------------------- */

typedef struct gc {
  int which;
} gc;

static dt_err f_unary(void *arg, dt_tensor *const *in, dt_tensor **out) {
  int w = ((gc *)arg)->which;
  dt_tensor *t = NULL;
  dt_err e;
  switch (w) {
  case 0:
    return dt_neg(in[0], out);
  case 1:
    return dt_pow_scalar(in[0], 3.0, out);
  case 2:
    return dt_pow_scalar(in[0], 2.0, out);
  case 3:
    return dt_add_scalar(in[0], 1.5, out);
  case 4:
    return dt_mul_scalar(in[0], -2.5, out);
  case 5:
    return dt_exp(in[0], out);
  case 6: /* log of a positive function */
    e = dt_exp(in[0], &t);
    if (!e)
      e = dt_log(t, out);
    dt_tensor_destroy(&t);
    return e;
  case 7:
    return dt_sum(in[0], out);
  case 8:
    return dt_mean(in[0], out);
  case 9:
    return dt_clone(in[0], out);
  case 10:
    return dt_redistribute(in[0], &(dt_opts){.layout = DT_REPLICATED}, out);
  case 11:
    return dt_transpose(in[0], 0, 1, out);
  case 12:
    return dt_slice(in[0], 0, 1, dt_size(in[0], 0), 2, out);
  case 13: {
    const int64_t flat[1] = {-1};
    return dt_reshape(in[0], 1, flat, out);
  }
  default:
    return dt_slice(in[0], 1, 0, 2, 1, out);
  }
}

static dt_err f_binary(void *arg, dt_tensor *const *in, dt_tensor **out) {
  switch (((gc *)arg)->which) {
  case 0:
    return dt_add(in[0], in[1], out);
  case 1:
    return dt_sub(in[0], in[1], out);
  case 2:
    return dt_mul(in[0], in[1], out);
  case 3: {
    dt_tensor *d = NULL, *e = NULL; /* a / (exp(b) + 1): no division by ~0 */
    dt_err r = dt_exp(in[1], &d);
    if (!r)
      r = dt_add_scalar(d, 1.0, &e);
    if (!r)
      r = dt_div(in[0], e, out);
    dt_tensor_destroy(&d);
    dt_tensor_destroy(&e);
    return r;
  }
  default:
    return dt_matmul(in[0], in[1], out);
  }
}

static void gradcheck_one(dt_gradcheck_fn fn, int which, int n, dt_tensor **in,
                          const char *what) {
  gc arg = {which};
  double err = -1;
  T_OK(dt_gradcheck(fn, &arg, n, in, 1e-6, 1e-7, 1e-5, &err));
  CU_ASSERT(err >= 0 && err <= 1);
  if (!(err >= 0 && err <= 1) && T_rank == 0)
    fprintf(stderr, "gradcheck %s #%d: error %g\n", what, which, err);
}

static void t_gradcheck_unary(void) {
  const int64_t s[2] = {2 * T_size + 1, 3};
  for (int k = 0; k < 3; k++) {
    dt_test_cuts cuts;
    int kind = k == 0   ? 0
               : k == 1 ? 3
                        : 2; /* split 0, empty shard, replicated */
    dt_opts o = dt_test_layout(kind, 2, s, &cuts, NULL);
    for (int w = 0; w <= 14; w++) {
      dt_tensor *x = leaf(2, s, o, 20 + (uint64_t)w);
      gradcheck_one(f_unary, w, 1, &x, "unary");
      dt_tensor_destroy(&x);
    }
  }
}

static void t_gradcheck_binary(void) {
  const int64_t s[2] = {2 * T_size + 1, 3};
  for (int k = 0; k < 4; k++) {
    dt_test_cuts c1, c2;
    dt_opts oa = dt_test_layout(k == 3   ? 0
                                : k == 1 ? 3
                                : k == 2 ? 2
                                         : 0,
                                2, s, &c1, NULL);
    dt_opts ob = dt_test_layout(k == 3   ? 1
                                : k == 1 ? 3
                                : k == 2 ? 2
                                         : 0,
                                2, s, &c2, NULL);
    for (int w = 0; w < 4; w++) {
      dt_tensor *in[2] = {leaf(2, s, oa, 40 + (uint64_t)w),
                          leaf(2, s, ob, 50 + (uint64_t)w)};
      gradcheck_one(f_binary, w, 2, in, "binary");
      dt_tensor_destroy(&in[0]);
      dt_tensor_destroy(&in[1]);
    }
  }
  /* a 0-d operand on either side broadcasts */
  for (int w = 0; w < 4; w++) {
    dt_tensor *in[2] = {leaf(2, s, (dt_opts){0}, 60),
                        leaf(0, NULL, (dt_opts){0}, 61)};
    gradcheck_one(f_binary, w, 2, in, "binary, 0-d right");
    dt_tensor *sw[2] = {in[1], in[0]};
    gradcheck_one(f_binary, w, 2, sw, "binary, 0-d left");
    dt_tensor_destroy(&in[0]);
    dt_tensor_destroy(&in[1]);
  }
}

static void t_gradcheck_matmul(void) {
  const int64_t sa[2] = {2 * T_size + 1, 3}, sb[2] = {3, 2};
  for (int k = 0; k < 3; k++) {
    dt_test_cuts c1, c2;
    dt_opts oa = dt_test_layout(k == 1 ? 3 : k == 2 ? 1 : 0, 2, sa, &c1, NULL);
    dt_opts ob = dt_test_layout(k == 2 ? 0 : 2, 2, sb, &c2, NULL);
    dt_tensor *in[2] = {leaf(2, sa, oa, 70), leaf(2, sb, ob, 71)};
    gradcheck_one(f_binary, 4, 2, in, "matmul");
    dt_tensor_destroy(&in[0]);
    dt_tensor_destroy(&in[1]);
  }
}

static void t_gradcheck_bad_input(void) {
  const int64_t s[1] = {3};
  dt_tensor *x = NULL;
  T_OK(dt_zeros(T_ctx, 1, s, NULL, &x)); /* float32, no grad */
  gc arg = {0};
  double e;
  T_ERR(dt_gradcheck(f_unary, &arg, 1, &x, 1e-6, 1e-7, 1e-5, &e), DT_ERR_ARG);
  T_ERR(dt_gradcheck(NULL, &arg, 1, &x, 1e-6, 1e-7, 1e-5, &e), DT_ERR_NULL);
  dt_tensor_destroy(&x);
}

static const dt_test_case cases[] = {
    {"clone keeps the graph", t_clone_keeps_graph},
    {"copy_ records an edge (CopyBackwards); copy_ into a leaf",
     t_copy_records_edge},
    {"gradcheck: copy_ with broadcasting into any layout", t_gradcheck_copy},
    {"deepcopy, from_data and from_buffer leaves", t_deepcopy_and_leaves},
    {"PyTorch's errors; accumulation; zero_grad", t_errors_and_accumulation},
    {"freeing order and long chains", t_freeing_order},
    {"pow with exponent 0; gradients from other contexts",
     t_pow_zero_and_contexts},
    {"gradcheck: unary ops, reductions, views", t_gradcheck_unary},
    {"gradcheck: binary ops across layouts, 0-d", t_gradcheck_binary},
    {"gradcheck: matmul", t_gradcheck_matmul},
    {"gradcheck: bad input", t_gradcheck_bad_input},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "autograd", cases);
}
