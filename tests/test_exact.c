/*
 * test_exact - dt_sum and dt_mean are the exact sum rounded once (compared
 * with an independent exact reference: Shewchuk's algorithm as in Python's
 * math.fsum), on adversarial inputs, bitwise identical in every layout, rank
 * count and thread count; so is matmul's cross-rank gradient.
 */
#include "dt_test.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

/* math.fsum: exact partials, then a correctly rounded total. Assumes no
 * intermediate overflow (inputs below chosen accordingly). */
static double fsum_ref(const double *x, int64_t n) {
  double *p = malloc(sizeof(double) * (size_t)(n + 1));
  int np = 0;
  double special = 0, infs = 0;
  for (int64_t k = 0; k < n; k++) {
    double v = x[k];
    if (!isfinite(v)) {
      if (isinf(v))
        infs += v;
      special += v;
      continue;
    }
    int i = 0;
    for (int j = 0; j < np; j++) {
      double y = p[j];
      if (fabs(v) < fabs(y)) {
        double t = v;
        v = y;
        y = t;
      }
      double hi = v + y, lo = y - (hi - v);
      if (lo != 0.0)
        p[i++] = lo;
      v = hi;
    }
    np = i;
    p[np++] = v;
  }
  double hi = 0.0;
  if (special != 0.0) {
    free(p);
    return isnan(infs) ? NAN : special;
  }
  if (np > 0) {
    double lo = 0;
    hi = p[--np];
    while (np > 0) {
      double v = hi, y = p[--np];
      hi = v + y;
      double yr = hi - v;
      lo = y - yr;
      if (lo != 0.0)
        break;
    }
    if (np > 0 &&
        ((lo < 0.0 && p[np - 1] < 0.0) || (lo > 0.0 && p[np - 1] > 0.0))) {
      double y = lo * 2.0, v = hi + y, yr = v - hi;
      if (y == yr)
        hi = v;
    }
  }
  free(p);
  return hi;
}

static int same_double(double a, double b) {
  return memcmp(&a, &b, 8) == 0 || (isnan(a) && isnan(b));
}

/* dt_sum of values in every layout (and 1 and 2 threads) must be want. */
static void check_sum(const double *v, int64_t n, double want,
                      const char *what) {
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
    for (int th = 1; th <= 2; th++) {
      omp_set_num_threads(th);
      dt_test_cuts cuts;
      dt_opts o = dt_test_layout(k == 4 ? 0 : k, 1, &n, &cuts, NULL);
      dt_tensor *t = NULL, *s = NULL;
      T_OK(dt_from_data(T_ctx, 1, &n, v, DT_FLOAT64, DT_ALL_RANKS, &o, &t));
      T_OK(dt_sum(t, &s));
      double got = s ? *(double *)dt_local_data(s) : -1;
      int ok = same_double(got, want);
      CU_ASSERT(ok);
      if (!ok && T_rank == 0)
        fprintf(stderr, "sum %s: got %a want %a (layout %d, %d threads)\n",
                what, got, want, k, th);
      dt_tensor_destroy(&s);
      dt_tensor_destroy(&t);
    }
  omp_set_num_threads(1);
}

static void t_adversarial(void) {
  double a[] = {1e308, 1.0, -1e308};
  check_sum(a, 3, 1.0, "huge cancellation");
  double b[] = {1e100, 1.0, -1e100, 1e-100};
  check_sum(b, 4, 1.0, "cancellation with a tiny rest");
  double c[] = {1.0, 0x1p-53};
  check_sum(c, 2, 1.0, "halfway, ties to even");
  double d[] = {1.0, 0x1p-53, 0x1p-80};
  check_sum(d, 3, 1.0 + 0x1p-52, "just above halfway");
  double e[] = {DBL_MAX, DBL_MAX};
  check_sum(e, 2, INFINITY, "overflow");
  double f[] = {DBL_MAX, DBL_MAX, -DBL_MAX};
  check_sum(f, 3, DBL_MAX, "intermediate overflow that cancels");
  double g[] = {-0.0, -0.0};
  check_sum(g, 2, -0.0, "negative zeros");
  double h[] = {-0.0, 0.0};
  check_sum(h, 2, 0.0, "mixed zeros");
  double g5[] = {-0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0};
  check_sum(g5, 9, -0.0, "nine negative zeros");
  double h5[] = {-0.0, -0.0, -0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0};
  check_sum(h5, 9, 0.0, "one positive zero among negative ones");
  double i5[] = {1.0, 2.0, 3.0, INFINITY, 5.0, 6.0, NAN, 8.0, 9.0};
  check_sum(i5, 9, NAN, "NaN inside a block of four");
  double j5[] = {1.0, 2.0, 3.0, -INFINITY, 5.0, 6.0, 7.0, 8.0, 9.0};
  check_sum(j5, 9, -INFINITY, "-inf inside a block of four");
  double i[] = {1.0, INFINITY, -5};
  check_sum(i, 3, INFINITY, "infinity");
  double j[] = {INFINITY, -INFINITY};
  check_sum(j, 2, NAN, "inf - inf");
  double k[] = {NAN, 1.0};
  check_sum(k, 2, NAN, "NaN");
  double l[] = {-INFINITY, 1e308, 1e308};
  check_sum(l, 3, -INFINITY, "-inf wins");
  /* subnormals: a thousand of the smallest, and a mix around DBL_MIN */
  double *sub = malloc(sizeof(double) * 1000);
  for (int q = 0; q < 1000; q++)
    sub[q] = 0x1p-1074;
  check_sum(sub, 1000, 1000 * 0x1p-1074, "smallest subnormals");
  double m[] = {DBL_MIN, -DBL_MIN / 2, 0x1p-1074, -0x1p-1060};
  check_sum(m, 4, fsum_ref(m, 4), "around DBL_MIN");
  free(sub);
  check_sum(NULL, 0, 0.0, "empty");
}

/* Random values over 120 binary orders of magnitude with their negatives
 * mixed in: the plain sum is garbage, the exact one is fsum's. */
static void t_random_mixed(void) {
  const int64_t n = 3001;
  dt_ctx *self = dt_test_self_ctx();
  dt_tensor *r = NULL, *e = NULL;
  T_OK(dt_manual_seed(self, 77));
  T_OK(dt_randn(self, 1, &n, &(dt_opts){.dtype = DT_FLOAT64}, &r));
  T_OK(dt_randint(self, -60, 60, 1, &n, NULL, &e));
  double *v = dt_test_gather_all(r);
  int64_t *ex = dt_test_gather_all(e);
  /* triples (B, s, -B): B huge, s small; a left-to-right sum loses s */
  for (int64_t q = 0; v && ex && q + 2 < n; q += 3) {
    v[q] = ldexp(v[q], 40 + (int)(ex[q] % 20 + 20) % 20);
    v[q + 1] = ldexp(v[q + 1], (int)ex[q + 1] % 30 - 10);
    v[q + 2] = -v[q];
  }
  double want = fsum_ref(v, n), naive = 0;
  for (int64_t q = 0; q < n; q++)
    naive += v[q];
  if (T_rank == 0)
    printf("\n    exact %a, naive left-to-right %a\n", want, naive);
  CU_ASSERT(!same_double(want, naive)); /* the case is really adversarial */
  check_sum(v, n, want, "random mixed magnitudes");
  free(v);
  free(ex);
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&e);
}

static void t_float32_and_mean(void) {
  /* float32: 1 + 2^-24 is halfway between floats: ties to even */
  float f[] = {1.0f, 0x1p-24f};
  float f2[] = {1.0f, 0x1p-24f, 0x1p-40f};
  const int64_t two = 2, three = 3;
  dt_tensor *t = NULL, *s = NULL;
  T_OK(dt_from_data(T_ctx, 1, &two, f, DT_FLOAT32, DT_ALL_RANKS, NULL, &t));
  T_OK(dt_sum(t, &s));
  CU_ASSERT(s && *(float *)dt_local_data(s) == 1.0f);
  CU_ASSERT_EQUAL(dt_dtype_of(s), DT_FLOAT32);
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&t);
  T_OK(dt_from_data(T_ctx, 1, &three, f2, DT_FLOAT32, DT_ALL_RANKS, NULL, &t));
  T_OK(dt_sum(t, &s));
  CU_ASSERT(s && *(float *)dt_local_data(s) == 1.0f + 0x1p-23f);
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&t);
  /* mean: exact sum / n, rounded once */
  double m1[] = {1.0, 0.0, 0.0};
  T_OK(dt_from_data(T_ctx, 1, &three, m1, DT_FLOAT64, DT_ALL_RANKS, NULL, &t));
  T_OK(dt_mean(t, &s));
  CU_ASSERT(s && *(double *)dt_local_data(s) == 1.0 / 3.0);
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&t);
  double m2[] = {DBL_MAX, DBL_MAX}; /* the sum overflows, the mean does not */
  T_OK(dt_from_data(T_ctx, 1, &two, m2, DT_FLOAT64, DT_ALL_RANKS, NULL, &t));
  T_OK(dt_mean(t, &s));
  CU_ASSERT(s && *(double *)dt_local_data(s) == DBL_MAX);
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&t);
  const int64_t zero = 0;
  T_OK(dt_zeros(T_ctx, 1, &zero, &(dt_opts){.dtype = DT_FLOAT64}, &t));
  T_OK(dt_mean(t, &s));
  CU_ASSERT(s && isnan(*(double *)dt_local_data(s)));
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&t);
  /* integers are refused */
  T_OK(dt_zeros(T_ctx, 1, &two, &(dt_opts){.dtype = DT_INT64}, &t));
  T_ERR(dt_sum(t, &s), DT_ERR_DTYPE);
  dt_tensor_destroy(&t);
}

/* Large float32 and float64 tensors: every layout and thread count gives
 * the bits of one rank. */
static void t_large_invariance(void) {
  const int64_t s[2] = {513, 129};
  dt_ctx *self = dt_test_self_ctx();
  for (int dtk = 0; dtk < 2; dtk++) {
    dt_dtype dt = dtk ? DT_FLOAT64 : DT_FLOAT32;
    dt_tensor *r = NULL, *rs = NULL;
    T_OK(dt_manual_seed(self, 5));
    T_OK(dt_randn(self, 2, s, &(dt_opts){.dtype = dt}, &r));
    T_OK(dt_sum(r, &rs));
    double want = dt_dtype_size(dt) == 4 ? *(float *)dt_local_data(rs)
                                         : *(double *)dt_local_data(rs);
    for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
      for (int th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
        dt_test_cuts cuts;
        dt_opts o = dt_test_layout(k, 2, s, &cuts, NULL);
        o.dtype = dt;
        dt_tensor *t = NULL, *ts = NULL;
        T_OK(dt_manual_seed(T_ctx, 5));
        T_OK(dt_randn(T_ctx, 2, s, &o, &t));
        T_OK(dt_sum(t, &ts));
        double got = dt_dtype_size(dt) == 4 ? *(float *)dt_local_data(ts)
                                            : *(double *)dt_local_data(ts);
        CU_ASSERT(same_double(got, want));
        dt_tensor_destroy(&ts);
        dt_tensor_destroy(&t);
      }
    omp_set_num_threads(1);
    dt_tensor_destroy(&rs);
    dt_tensor_destroy(&r);
  }
}

/* matmul's dB = A^T dC is exact: equal to fsum of the exact products, and to
 * the 1-rank bits at any rank and thread count. */
static void t_matmul_grad_exact(void) {
  const int64_t sa[2] = {37, 4}, sb[2] = {4, 3}, sc[2] = {37, 3};
  dt_ctx *self = dt_test_self_ctx();
  /* inputs with wildly mixed magnitudes */
  dt_tensor *ra = NULL, *rw = NULL;
  T_OK(dt_manual_seed(self, 9));
  T_OK(dt_randn(self, 2, sa, &(dt_opts){.dtype = DT_FLOAT64}, &ra));
  T_OK(dt_randn(self, 2, sc, &(dt_opts){.dtype = DT_FLOAT64}, &rw));
  double *A = dt_test_gather_all(ra), *W = dt_test_gather_all(rw);
  for (int i = 0; A && i < 37 * 4; i++)
    A[i] = ldexp(A[i], (i * 7919) % 80 - 40);
  /* reference: dB[q][j] = fsum over i of A[i][q] * W[i][j], products exact */
  double ref[12], prods[2 * 37];
  for (int q = 0; q < 4; q++)
    for (int j = 0; j < 3; j++) {
      for (int i = 0; i < 37; i++) {
        double x = A[i * 4 + q], y = W[i * 3 + j];
        prods[2 * i] = x * y;
        prods[2 * i + 1] = fma(x, y, -(x * y));
      }
      ref[q * 3 + j] = fsum_ref(prods, 74);
    }
  for (int k = 0; k < 3; k++)
    for (int th = 1; th <= 2; th++) {
      omp_set_num_threads(th);
      dt_test_cuts cuts;
      dt_opts oa = dt_test_layout(k == 1   ? 3
                                  : k == 2 ? 2
                                           : 0,
                                  2, sa, &cuts, NULL);
      dt_tensor *a = NULL, *b = NULL, *w = NULL, *c = NULL, *p = NULL,
                *L = NULL;
      T_OK(dt_from_data(T_ctx, 2, sa, A, DT_FLOAT64, DT_ALL_RANKS, &oa, &a));
      T_OK(dt_ones(T_ctx, 2, sb,
                   &(dt_opts){.dtype = DT_FLOAT64, .requires_grad = true}, &b));
      T_OK(dt_from_data(T_ctx, 2, sc, W, DT_FLOAT64, DT_ALL_RANKS, NULL, &w));
      T_OK(dt_matmul(a, b, &c));
      T_OK(dt_mul(c, w, &p));
      T_OK(dt_sum(p, &L));
      T_OK(dt_backward(L, NULL, false));
      double *gb = dt_test_gather_all(dt_grad(b));
      int ok = gb != NULL;
      for (int e = 0; ok && e < 12; e++)
        ok = same_double(gb[e], ref[e]);
      CU_ASSERT(ok);
      free(gb);
      dt_tensor_destroy(&L);
      dt_tensor_destroy(&p);
      dt_tensor_destroy(&c);
      dt_tensor_destroy(&w);
      dt_tensor_destroy(&b);
      dt_tensor_destroy(&a);
    }
  omp_set_num_threads(1);
  free(A);
  free(W);
  dt_tensor_destroy(&ra);
  dt_tensor_destroy(&rw);
}

static const dt_test_case cases[] = {
    {"adversarial sums equal math.fsum", t_adversarial},
    {"random mixed magnitudes", t_random_mixed},
    {"float32 rounding and exact means", t_float32_and_mean},
    {"large tensors: every layout and thread count", t_large_invariance},
    {"matmul's cross-rank gradient is exact", t_matmul_grad_exact},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "exact", cases);
}
