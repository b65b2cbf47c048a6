/*
 * test_view - views share storage (written through one, read through the
 * other), get the right layouts and values, refuse what cannot be a view,
 * and outlive their base. Also the copy table, row by row.
 */
#include "dt_test.h"
#include "internal.h"

#include <stdlib.h>

/* Gathered values of t equal those of the same view built on one rank from
 * the gathered base. */
static void *gather(const dt_tensor *t) { return dt_test_gather_all(t); }

static void t_view_shares_and_layout(void) {
  const int64_t rows = 2 * T_size + 1; /* uneven shards */
  const int64_t s2[2] = {rows, 6}, s3[3] = {rows, 2, 3}, s1[1] = {rows * 6};
  dt_tensor *t = NULL, *v = NULL, *f = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(rows * 6), DT_I(1), NULL, &f));
  dt_tensor *base = NULL;
  T_OK(dt_reshape(f, 2, s2, &base)); /* split 0 of [rows, 6] */
  T_OK(dt_view(base, 3, s3, &v));
  int axis = -1;
  CU_ASSERT_EQUAL(dt_layout_of(v, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(axis, 0);
  CU_ASSERT(dt_shares_memory(v, base));
  int64_t *g = gather(v);
  int ok = g != NULL;
  for (int64_t i = 0; ok && i < rows * 6; i++)
    ok = g[i] == i;
  CU_ASSERT(ok);
  free(g);
  /* write through the view, read through the base */
  if (dt_local_numel(v) > 0)
    ((int64_t *)dt_local_data(v))[0] = -7;
  g = gather(base);
  int64_t st[2];
  dt_local_box(base, st, NULL);
  CU_ASSERT(g && (dt_local_numel(base) == 0 || g[st[0] * 6] == -7));
  free(g);
  /* the flat view is 1-D with cut points at the row boundaries */
  T_OK(dt_view(base, 1, s1, &t));
  CU_ASSERT(dt_layout_of(t, NULL, NULL) == DT_CUTS ||
            dt_layout_of(t, NULL, NULL) == DT_SPLIT);
  int64_t fs[1], fn[1];
  dt_local_box(t, fs, fn);
  CU_ASSERT(fn[0] == dt_local_numel(base) &&
            (fn[0] == 0 || fs[0] == st[0] * 6));
  dt_tensor_destroy(&t);
  /* -1 is inferred */
  const int64_t inf[2] = {rows, -1};
  T_OK(dt_view(v, 2, inf, &t));
  CU_ASSERT_EQUAL(dt_size(t, 1), 6);
  dt_tensor_destroy(&t);
  /* the base goes first: the views keep the storage alive */
  dt_tensor_destroy(&base);
  dt_tensor_destroy(&f);
  g = gather(v);
  CU_ASSERT(g != NULL);
  free(g);
  dt_tensor_destroy(&v);
}

/* Views the split may or may not allow: either a correct view or a clear
 * error, and dt_reshape always gives the right values. */
static void t_view_or_reshape(void) {
  struct {
    int nd;
    int64_t s[3];
    int nn;
    int64_t n[3];
    int layout;
  } cases[] = {{2, {4, 6}, 3, {4, 2, 3}, 1}, {2, {4, 6}, 1, {24}, 1},
               {2, {6, 4}, 2, {4, 6}, 0},    {3, {2, 3, 4}, 2, {6, 4}, 2},
               {1, {12}, 2, {3, 4}, 0},      {2, {5, 4}, 2, {2, 10}, 4},
               {2, {4, 6}, 3, {2, 2, 6}, 1}, {1, {7}, 0, {0}, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    dt_test_cuts cuts;
    const int64_t one = 1;
    const int64_t *shape =
        cases[c].nd == 1 && cases[c].nn == 0 ? &one : cases[c].s;
    int nd = cases[c].nn == 0 ? 1 : cases[c].nd;
    dt_opts o = dt_test_layout(cases[c].layout, nd, shape, &cuts, NULL);
    dt_tensor *t = NULL, *v = NULL, *r = NULL;
    T_OK(dt_rand(T_ctx, nd, shape, &o, &t));
    float *want = gather(t);
    dt_err e = dt_view(t, cases[c].nn, cases[c].n, &v);
    CU_ASSERT(e == DT_OK || e == DT_ERR_LAYOUT || e == DT_ERR_SHAPE);
    if (T_size == 1 || o.layout == DT_REPLICATED)
      CU_ASSERT_EQUAL(e, DT_OK);
    if (e == DT_OK) {
      float *g = gather(v);
      CU_ASSERT(g && want &&
                memcmp(g, want, sizeof(float) * (size_t)dt_numel(t)) == 0);
      CU_ASSERT(dt_shares_memory(v, t));
      free(g);
    } else {
      CU_ASSERT(strstr(dt_last_error(), "dt_reshape") != NULL);
    }
    T_OK(dt_reshape(t, cases[c].nn, cases[c].n, &r));
    float *g = gather(r);
    CU_ASSERT(g && want &&
              memcmp(g, want, sizeof(float) * (size_t)dt_numel(t)) == 0);
    CU_ASSERT_EQUAL(dt_ndim(r), cases[c].nn);
    free(g);
    free(want);
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&v);
    dt_tensor_destroy(&t);
  }
}

static void t_view_errors(void) {
  const int64_t s[2] = {4, 6};
  dt_tensor *t = NULL, *tt = NULL, *v = NULL;
  T_OK(dt_zeros(T_ctx, 2, s, NULL, &t));
  const int64_t two_inf[2] = {-1, -1}, wrong[2] = {5, 5}, neg[2] = {-2, -12};
  T_ERR(dt_view(t, 2, two_inf, &v), DT_ERR_SHAPE);
  T_ERR(dt_view(t, 2, wrong, &v), DT_ERR_SHAPE);
  CU_ASSERT(strstr(dt_last_error(), "is invalid for input of size 24") != NULL);
  T_ERR(dt_view(t, 2, neg, &v), DT_ERR_SHAPE);
  T_ERR(dt_view(t, 2, NULL, &v), DT_ERR_NULL);
  T_ERR(dt_view(NULL, 2, s, &v), DT_ERR_NULL);
  /* a transposed view is not contiguous: view refuses, reshape copies */
  T_OK(dt_transpose(t, 0, 1, &tt));
  const int64_t flat[1] = {24};
  dt_err e = dt_view(tt, 1, flat, &v);
  CU_ASSERT(e == DT_ERR_SHAPE || e == DT_ERR_LAYOUT);
  CU_ASSERT_PTR_NULL(v);
  T_OK(dt_reshape(tt, 1, flat, &v));
  CU_ASSERT(!dt_shares_memory(v, t));
  dt_tensor_destroy(&v);
  dt_tensor_destroy(&tt);
  dt_tensor_destroy(&t);
}

static void t_slice(void) {
  const int64_t s[2] = {8, 5};
  dt_tensor *t = NULL, *v = NULL, *w = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(40), DT_I(1), NULL, &w));
  T_OK(dt_reshape(w, 2, s, &t));
  dt_tensor_destroy(&w);
  /* rows 1, 4, 7 and columns 2..4 */
  T_OK(dt_slice(t, 0, 1, 8, 3, &v));
  T_OK(dt_slice(v, 1, 2, 5, 1, &w));
  CU_ASSERT(dt_size(w, 0) == 3 && dt_size(w, 1) == 3);
  int64_t *g = gather(w);
  int ok = g != NULL;
  for (int i = 0; ok && i < 3; i++)
    for (int j = 0; j < 3; j++)
      ok = g[i * 3 + j] == (1 + 3 * i) * 5 + 2 + j;
  CU_ASSERT(ok);
  free(g);
  CU_ASSERT(dt_shares_memory(w, t));
  /* write through the slice, read the base */
  if (dt_local_numel(w) > 0)
    ((int64_t *)dt_local_data(w))[0] = 1000;
  g = gather(t);
  int64_t ws[2];
  dt_local_box(w, ws, NULL);
  CU_ASSERT(g &&
            (dt_local_numel(w) == 0 || g[(1 + 3 * ws[0]) * 5 + 2] == 1000));
  free(g);
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&v);
  /* slicing the split axis: an irregular layout, empty shards */
  T_OK(dt_slice(t, 0, 0, 2, 1, &v));
  if (T_size > 2)
    CU_ASSERT_EQUAL(dt_layout_of(v, NULL, NULL), DT_CUTS);
  int64_t total = 0;
  for (int r = 0; r < T_size; r++) {
    int64_t bs[2], bn[2];
    T_OK(dt_owner_box(v, r, bs, bn));
    total += bn[0] * bn[1];
  }
  CU_ASSERT_EQUAL(total, 10);
  dt_tensor_destroy(&v);
  /* empty slice */
  T_OK(dt_slice(t, 1, 3, 3, 1, &v));
  CU_ASSERT_EQUAL(dt_numel(v), 0);
  dt_tensor_destroy(&v);
  /* bad slices (torch: "slice step must be positive") */
  T_ERR(dt_slice(t, 0, 0, 3, 0, &v), DT_ERR_ARG);
  CU_ASSERT(strstr(dt_last_error(), "dt_slice: slice step must be positive") !=
            NULL);
  T_ERR(dt_slice(t, 0, 0, 3, -1, &v), DT_ERR_ARG);
  T_ERR(dt_slice(t, 2, 0, 3, 1, &v), DT_ERR_AXIS);
  T_ERR(dt_slice(NULL, 0, 0, 3, 1, &v), DT_ERR_NULL);
  CU_ASSERT_PTR_NULL(v);
  dt_tensor_destroy(&t);
}

/* ---- Python slicing: negative, clamped, empty, strided (issue 11) ------- */

/* t[start:stop:step] as Python and torch normalise it (step >= 1). */
static int64_t py_range(int64_t n, int64_t *start, int64_t stop, int64_t step) {
  int64_t a = *start, b = stop;
  a = a < 0 ? (a + n < 0 ? 0 : a + n) : (a > n ? n : a);
  b = b < 0 ? (b + n < 0 ? 0 : b + n) : (b > n ? n : b);
  *start = a;
  return b > a ? (b - a - 1) / step + 1 : 0;
}

typedef struct pslice {
  int axis;
  int64_t start, stop, step;
} pslice;

/* Two slices applied in turn to a [7, 6] tensor, with torch's shape. */
static const struct {
  const char *what;
  pslice s[2];
  int64_t shape[2];
} pslice_cases[] = {
    {"t[-2:]", {{0, -2, INT64_MAX, 1}, {1, 0, INT64_MAX, 1}}, {2, 6}},
    {"t[2:100]", {{0, 2, 100, 1}, {1, 0, 6, 1}}, {5, 6}},
    {"t[-100:3]", {{0, -100, 3, 1}, {1, 0, 6, 1}}, {3, 6}},
    {"t[5:2]", {{0, 5, 2, 1}, {1, 0, 6, 1}}, {0, 6}},
    {"t[9:]", {{0, 9, INT64_MAX, 1}, {1, 0, 6, 1}}, {0, 6}},
    {"t[:, -1:-3]", {{0, 0, 7, 1}, {1, -1, -3, 1}}, {7, 0}},
    {"t[::2]", {{0, 0, INT64_MAX, 2}, {1, 0, 6, 1}}, {4, 6}},
    {"t[1::3, ::2]", {{0, 1, INT64_MAX, 3}, {1, 0, INT64_MAX, 2}}, {2, 3}},
    {"t[-6:-1:2, 1:-1:3]", {{0, -6, -1, 2}, {1, 1, -1, 3}}, {3, 2}},
    {"t[:, 4:][1:6:4]", {{1, 4, INT64_MAX, 1}, {0, 1, 6, 4}}, {2, 2}},
    {"t[::5][1:]", {{0, 0, 7, 5}, {0, 1, 100, 1}}, {1, 6}},
    {"t[::2][::2]", {{0, 0, 7, 2}, {0, 0, 7, 2}}, {2, 6}},
    {"t[6:7:10, -6::7]", {{0, 6, 7, 10}, {1, -6, INT64_MAX, 7}}, {1, 1}},
};

/* Global index lists of the two slices (applied in turn) per axis. */
static void pslice_index(const pslice *sl, int64_t *idx0, int64_t *n0,
                         int64_t *idx1, int64_t *n1) {
  int64_t *idx[2] = {idx0, idx1}, *cnt[2] = {n0, n1};
  *n0 = 7;
  *n1 = 6;
  for (int k = 0; k < 7; k++)
    idx0[k] = k;
  for (int k = 0; k < 6; k++)
    idx1[k] = k;
  for (int j = 0; j < 2; j++) {
    int ax = sl[j].axis;
    int64_t st = sl[j].start;
    int64_t m = py_range(*cnt[ax], &st, sl[j].stop, sl[j].step);
    for (int64_t k = 0; k < m; k++)
      idx[ax][k] = idx[ax][st + k * sl[j].step];
    *cnt[ax] = m;
  }
}

static dt_err apply_slices(const dt_tensor *t, const pslice *sl,
                           dt_tensor **out) {
  dt_tensor *a = NULL;
  dt_err e = dt_slice(t, sl[0].axis, sl[0].start, sl[0].stop, sl[0].step, &a);
  if (!e)
    e = dt_slice(a, sl[1].axis, sl[1].start, sl[1].stop, sl[1].step, out);
  dt_tensor_destroy(&a);
  return e;
}

static void t_slice_python(void) {
  const int64_t shape[2] = {7, 6};
  dt_ctx *one = dt_test_self_ctx();
  CU_ASSERT_PTR_NOT_NULL_FATAL(one);
  for (size_t c = 0; c < sizeof pslice_cases / sizeof pslice_cases[0]; c++) {
    const pslice *sl = pslice_cases[c].s;
    int64_t i0[7], i1[6], n0, n1;
    pslice_index(sl, i0, &n0, i1, &n1);
    CU_ASSERT(n0 == pslice_cases[c].shape[0] && n1 == pslice_cases[c].shape[1]);
    /* the 1-rank result */
    dt_tensor *b1 = NULL, *v1 = NULL;
    T_OK(dt_manual_seed(one, 5));
    T_OK(dt_rand(one, 2, shape, &(dt_opts){.dtype = DT_FLOAT64}, &b1));
    T_OK(apply_slices(b1, sl, &v1));
    double *w1 = v1 ? dt_test_gather_all(v1) : NULL;
    double *base1 = dt_test_gather_all(b1);
    for (int l = 0; l < DT_TEST_NLAYOUTS; l++) {
      dt_test_cuts cuts;
      const char *lname;
      dt_opts o = dt_test_layout(l, 2, shape, &cuts, &lname);
      o.dtype = DT_FLOAT64;
      dt_tensor *t = NULL, *v = NULL;
      T_OK(dt_manual_seed(T_ctx, 5)); /* the same values as on one rank */
      T_OK(dt_rand(T_ctx, 2, shape, &o, &t));
      T_OK(apply_slices(t, sl, &v));
      double *g = v ? dt_test_gather_all(v) : NULL;
      bool ok = v && g && w1 && base1 && dt_size(v, 0) == n0 &&
                dt_size(v, 1) == n1 && dt_shares_memory(v, t);
      for (int64_t i = 0; ok && i < n0; i++)
        for (int64_t j = 0; ok && j < n1; j++)
          ok = g[i * n1 + j] == base1[i0[i] * 6 + i1[j]];
      ok = ok && memcmp(g, w1, sizeof(double) * (size_t)(n0 * n1)) == 0;
      /* every element once over the ranks' boxes */
      int64_t vol = 0;
      for (int r = 0; v && r < T_size; r++) {
        int64_t bs[2], bn[2];
        T_OK(dt_owner_box(v, r, bs, bn));
        vol += bn[0] * bn[1];
      }
      ok = ok && vol == (o.layout == DT_REPLICATED ? T_size : 1) * n0 * n1;
      if (!ok) {
        fprintf(stderr, "[rank %d] %s in layout %s: wrong\n", T_rank,
                pslice_cases[c].what, lname);
        CU_FAIL("python slice");
      }
      /* a copy of the strided view is dense and equal */
      dt_tensor *cl = NULL;
      T_OK(dt_clone(v, &cl));
      double *gc = cl ? dt_test_gather_all(cl) : NULL;
      CU_ASSERT(gc && g && memcmp(gc, g, sizeof(double) * (size_t)(n0 * n1)) == 0);
      free(gc);
      free(g);
      dt_tensor_destroy(&cl);
      dt_tensor_destroy(&v);
      dt_tensor_destroy(&t);
    }
    free(w1);
    free(base1);
    dt_tensor_destroy(&v1);
    dt_tensor_destroy(&b1);
  }
}

/* d/dx sum(x[sl] ** 2) = 2x where selected, 0 elsewhere (exact), in every
 * layout, bitwise equal to the 1-rank gradient. */
static void t_slice_grad(void) {
  const int64_t shape[2] = {7, 6};
  for (size_t c = 0; c < sizeof pslice_cases / sizeof pslice_cases[0]; c++) {
    const pslice *sl = pslice_cases[c].s;
    int64_t i0[7], i1[6], n0, n1;
    pslice_index(sl, i0, &n0, i1, &n1);
    double want[42] = {0};
    for (int l = 0; l < DT_TEST_NLAYOUTS; l++) {
      dt_test_cuts cuts;
      const char *lname;
      dt_opts o = dt_test_layout(l, 2, shape, &cuts, &lname);
      o.dtype = DT_FLOAT64;
      o.requires_grad = true;
      dt_tensor *x = NULL, *v = NULL, *sq = NULL, *loss = NULL;
      T_OK(dt_manual_seed(T_ctx, 9)); /* the same x in every layout */
      T_OK(dt_rand(T_ctx, 2, shape, &o, &x));
      double *xv = dt_test_gather_all(x);
      if (l == 0 && xv) {
        for (int64_t i = 0; i < n0; i++)
          for (int64_t j = 0; j < n1; j++)
            want[i0[i] * 6 + i1[j]] = 2 * xv[i0[i] * 6 + i1[j]];
      }
      T_OK(apply_slices(x, sl, &v));
      T_OK(dt_pow_scalar(v, 2, &sq));
      T_OK(dt_sum(sq, &loss));
      T_OK(dt_backward(loss, NULL, false));
      double *gv = dt_grad(x) ? dt_test_gather_all(dt_grad(x)) : NULL;
      bool ok = gv && xv && memcmp(gv, want, sizeof want) == 0;
      if (!ok) {
        fprintf(stderr, "[rank %d] grad of %s in layout %s: wrong\n", T_rank,
                pslice_cases[c].what, lname);
        CU_FAIL("gradient through a python slice");
      }
      free(gv);
      free(xv);
      dt_tensor_destroy(&loss);
      dt_tensor_destroy(&sq);
      dt_tensor_destroy(&v);
      dt_tensor_destroy(&x);
    }
  }
}

static void t_transpose_detach(void) {
  const int64_t s[3] = {4, 3, 2};
  dt_tensor *t = NULL, *tt = NULL, *t2 = NULL, *d = NULL;
  T_OK(dt_rand(T_ctx, 3, s, &(dt_opts){.requires_grad = true}, &t));
  T_OK(dt_transpose(t, 0, 2, &tt));
  CU_ASSERT(dt_size(tt, 0) == 2 && dt_size(tt, 2) == 4);
  int axis = -1;
  CU_ASSERT_EQUAL(dt_layout_of(tt, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(axis, 2);
  float *a = gather(t), *b = gather(tt);
  int ok = a && b;
  for (int i = 0; ok && i < 4; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 2; k++)
        ok = a[(i * 3 + j) * 2 + k] == b[(k * 3 + j) * 4 + i];
  CU_ASSERT(ok);
  free(a);
  free(b);
  T_OK(dt_transpose(tt, -1, 0, &t2));
  CU_ASSERT(dt__layout_equal(t2->layout, t->layout));
  CU_ASSERT(dt_shares_memory(t2, t));
  T_ERR(dt_transpose(t, 0, 3, &d), DT_ERR_AXIS);
  /* detach: same memory, out of the graph */
  T_OK(dt_detach(t, &d));
  CU_ASSERT(dt_requires_grad(t) && !dt_requires_grad(d));
  CU_ASSERT(dt_shares_memory(d, t));
  if (dt_local_numel(d) > 0) {
    ((float *)dt_local_data(d))[0] = 42.0f;
    CU_ASSERT_EQUAL(((float *)dt_local_data(t))[0], 42.0f);
  }
  dt_tensor_destroy(&t); /* base first */
  dt_tensor_destroy(&d);
  dt_tensor_destroy(&t2);
  dt_tensor_destroy(&tt);
  /* a transposed 2-D grid numbers its ranks column-major */
  if (T_size == 4) {
    const int64_t q[2] = {4, 6};
    T_OK(dt_zeros(T_ctx, 2, q, &(dt_opts){.layout = DT_GRID, .grid = {2, 2}},
                  &t));
    T_OK(dt_transpose(t, 0, 1, &tt));
    int64_t bs[2], bn[2];
    T_OK(dt_owner_box(tt, 1, bs, bn)); /* rank 1 held rows 0:2, cols 3:6 */
    CU_ASSERT(bs[0] == 3 && bs[1] == 0 && bn[0] == 3 && bn[1] == 2);
    CU_ASSERT_EQUAL(dt_layout_of(tt, NULL, NULL), DT_IRREGULAR);
    dt_tensor_destroy(&tt);
    dt_tensor_destroy(&t);
  }
}

/* DESIGN.md's copy table, one row at a time: memory, layout, dtype,
 * values, grad flag. */
static void t_copy_table(void) {
  const int64_t s[2] = {6, 4};
  double data[24];
  for (int i = 0; i < 24; i++)
    data[i] = i + 0.5;
  dt_tensor *a = NULL, *b = NULL;
  /* dt_from_data: new memory, copied; a new leaf */
  T_OK(dt_from_data(T_ctx, 2, s, data, DT_FLOAT64, DT_ALL_RANKS,
                    &(dt_opts){.requires_grad = true}, &a));
  CU_ASSERT(dt_local_numel(a) == 0 || dt_local_data(a) != (void *)data);
  data[0] = -1;
  double *g = gather(a);
  CU_ASSERT(g && g[0] == 0.5 && dt_requires_grad(a));
  free(g);
  /* dt_local_data: shares */
  if (dt_local_numel(a) > 0) {
    double *p = dt_local_data(a);
    p[0] = 99;
    CU_ASSERT_EQUAL(((double *)dt_local_data(a))[0], 99);
  }
  /* dt_clone: new memory, same layout and dtype, grad flag kept */
  T_OK(dt_clone(a, &b));
  CU_ASSERT(!dt_shares_memory(a, b) && dt__layout_equal(a->layout, b->layout));
  CU_ASSERT(dt_dtype_of(b) == DT_FLOAT64 && dt_requires_grad(b));
  dt_tensor_destroy(&b);
  /* dt_deepcopy: new memory, own layout, grad flag copied */
  T_OK(dt_deepcopy(a, NULL, &b));
  CU_ASSERT(!dt_shares_memory(a, b) && a->layout != b->layout);
  CU_ASSERT(dt_requires_grad(b));
  dt_tensor_destroy(&b);
  /* dt_copy_: writes into dst's storage, dst keeps layout and dtype */
  dt_tensor *dst = NULL, *view = NULL;
  T_OK(dt_zeros(
      T_ctx, 2, s,
      &(dt_opts){.dtype = DT_INT32, .layout = DT_SPLIT, .split_axis = 1},
      &dst));
  T_OK(dt_detach(dst, &view));
  void *before = dt_local_data(dst);
  T_OK(dt_copy_(dst, a));
  CU_ASSERT(dt_local_data(dst) == before && dt_dtype_of(dst) == DT_INT32);
  int axis = -1;
  CU_ASSERT(dt_layout_of(dst, &axis, NULL) == DT_SPLIT && axis == 1);
  int32_t *gi = gather(view); /* the view sees the new values */
  CU_ASSERT(gi && gi[1] == 1 && gi[23] == 23);
  free(gi);
  dt_tensor_destroy(&view);
  dt_tensor_destroy(&dst);
  dt_tensor_destroy(&a);
  /* dt_from_buffer: shares the user's memory, both ways */
  double buf[24];
  int64_t st[2] = {0, 0}, ln[2] = {T_rank == 0 ? 6 : 0, 4};
  for (int i = 0; i < 24; i++)
    buf[i] = i;
  T_OK(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 2, s, st, ln, &a));
  CU_ASSERT(!dt_requires_grad(a));
  if (T_rank == 0) {
    buf[5] = 55;
    CU_ASSERT_EQUAL(((double *)dt_local_data(a))[5], 55);
  }
  dt_tensor_destroy(&a); /* the tensor goes, the buffer stays */
  if (T_rank == 0)
    CU_ASSERT_EQUAL(buf[5], 55);
  /* ... and may require grad (torch.from_numpy(a).requires_grad_()): the
   * gradient is new memory, the buffer stays the user's, untouched */
  T_OK(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 2, s, st, ln, &a));
  T_OK(dt_requires_grad_(a, true));
  CU_ASSERT(dt_requires_grad(a) && !dt_has_grad_fn(a));
  dt_tensor *sq = NULL, *loss = NULL;
  T_OK(dt_pow_scalar(a, 2, &sq));
  T_OK(dt_sum(sq, &loss));
  T_OK(dt_backward(loss, NULL, false));
  dt_tensor *gr = dt_grad(a);
  CU_ASSERT(gr && !dt_shares_memory(gr, a));
  double *gg = gr ? gather(gr) : NULL;
  int ok = gg != NULL;
  for (int i = 0; ok && i < 24; i++)
    ok = gg[i] == 2.0 * (i == 5 ? 55 : i);
  CU_ASSERT(ok);
  free(gg);
  for (int i = 0; T_rank == 0 && i < 24; i++)
    CU_ASSERT_EQUAL(buf[i], i == 5 ? 55 : i);
  /* a leaf that requires grad: copy_ into it stays an error with grad on */
  T_ERR(dt_copy_(a, a), DT_ERR_AUTOGRAD);
  dt_tensor_destroy(&loss);
  dt_tensor_destroy(&sq);
  dt_tensor_destroy(&a);
  /* integer buffers cannot require grad (torch: only floating point) */
  int64_t ibuf[24] = {0};
  T_OK(dt_from_buffer(T_ctx, ibuf, DT_INT64, 2, s, st, ln, &a));
  T_ERR(dt_requires_grad_(a, true), DT_ERR_DTYPE);
  dt_tensor_destroy(&a);
}

static const dt_test_case cases[] = {
    {"view shares memory and keeps the split", t_view_shares_and_layout},
    {"view where possible, reshape always", t_view_or_reshape},
    {"view errors point to dt_reshape", t_view_errors},
    {"slices: values, sharing, irregular layouts, errors", t_slice},
    {"python slicing: negative, clamped, empty, strided", t_slice_python},
    {"gradients through python slices", t_slice_grad},
    {"transpose and detach", t_transpose_detach},
    {"the copy table, row by row", t_copy_table},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "view", cases);
}
