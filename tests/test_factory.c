/*
 * test_factory - every creation function at 1-4 ranks.
 *
 * Reproducibility: each random tensor, gathered, is bitwise equal to the
 * same call on a context of one rank (the 1-rank result), in every layout
 * (split on each axis, replicated, cuts with an empty shard, a 2-D grid) and
 * with 1 and 2 OpenMP threads. Deterministic factories are compared with
 * PyTorch's values and dtypes. Bad input fails identically on every rank.
 */
#include "dt_test.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

typedef enum { F_RAND, F_RANDN, F_RANDINT } rfac;

static dt_err make_random(dt_ctx *ctx, rfac f, int ndim, const int64_t *shape,
                          const dt_opts *o, dt_tensor **t) {
  switch (f) {
  case F_RAND:
    return dt_rand(ctx, ndim, shape, o, t);
  case F_RANDN:
    return dt_randn(ctx, ndim, shape, o, t);
  default:
    return dt_randint(ctx, -1000, 1000000, ndim, shape, o, t);
  }
}

/* One random factory and dtype: every layout and thread count equals the
 * 1-rank reference bitwise, and so does the checksum. */
static void check_random(rfac f, dt_dtype dtype, int ndim,
                         const int64_t *shape) {
  dt_ctx *self = dt_test_self_ctx();
  CU_ASSERT_PTR_NOT_NULL_FATAL(self);
  T_OK(dt_manual_seed(self, 1234));
  dt_tensor *ref = NULL;
  dt_opts ro = {.dtype = dtype};
  T_OK(make_random(self, f, ndim, shape, &ro, &ref));
  size_t nbytes = (size_t)dt_numel(ref) * dt_dtype_size(dtype);
  void *want = malloc(nbytes + 1);
  T_OK(dt_gather(ref, 0, want));
  uint64_t want_sum = 0;
  T_OK(dt_checksum(ref, &want_sum));

  for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
    for (int threads = 1; threads <= 2; threads++) {
      omp_set_num_threads(threads);
      dt_test_cuts cuts;
      const char *name;
      dt_opts o = dt_test_layout(k, ndim, shape, &cuts, &name);
      o.dtype = dtype;
      T_OK(dt_manual_seed(T_ctx, 1234));
      dt_tensor *t = NULL;
      T_OK(make_random(T_ctx, f, ndim, shape, &o, &t));
      if (!t)
        continue;
      void *got = dt_test_gather_all(t);
      CU_ASSERT_PTR_NOT_NULL(got);
      int same = got && dt_test_same_bits(got, want, nbytes);
      CU_ASSERT(same);
      uint64_t sum = 0;
      T_OK(dt_checksum(t, &sum));
      CU_ASSERT_EQUAL(sum, want_sum);
      if (!same)
        fprintf(stderr,
                "[rank %d] factory %d %s differs in layout '%s' with %d "
                "thread(s)\n",
                T_rank, (int)f, dt_dtype_name(dtype), name, threads);
      free(got);
      dt_tensor_destroy(&t);
    }
  omp_set_num_threads(1);
  free(want);
  dt_tensor_destroy(&ref);
}

static void t_rand_reproducible(void) {
  const int64_t s2[2] = {37, 5}, s3[3] = {7, 6, 5};
  check_random(F_RAND, DT_FLOAT32, 2, s2);
  check_random(F_RAND, DT_FLOAT64, 2, s2);
  check_random(F_RAND, DT_FLOAT32, 3, s3);
  check_random(F_RAND, DT_FLOAT64, 3, s3);
}

static void t_randn_reproducible(void) {
  const int64_t s2[2] = {37, 5}, s3[3] = {7, 6, 5};
  check_random(F_RANDN, DT_FLOAT32, 2, s2);
  check_random(F_RANDN, DT_FLOAT64, 2, s2);
  check_random(F_RANDN, DT_FLOAT32, 3, s3);
  check_random(F_RANDN, DT_FLOAT64, 3, s3);
}

static void t_randint_reproducible(void) {
  const int64_t s2[2] = {37, 5}, s3[3] = {7, 6, 5};
  check_random(F_RANDINT, DT_INT64, 2, s2);
  check_random(F_RANDINT, DT_INT32, 2, s2);
  check_random(F_RANDINT, DT_FLOAT64, 3, s3);
  check_random(F_RANDINT, DT_INT64, 3, s3);
}

/* A shard large enough that two threads split it, with a ragged start. */
static void t_random_large_threads(void) {
  const int64_t shape[2] = {1001, 317};
  check_random(F_RAND, DT_FLOAT32, 2, shape);
  check_random(F_RANDN, DT_FLOAT32, 2, shape);
}

/* The generator advances identically; a reseed replays; *_like draw too. */
static void t_generator_state(void) {
  const int64_t n = 100;
  T_OK(dt_manual_seed(T_ctx, 5));
  dt_tensor *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  T_OK(dt_rand(T_ctx, 1, &n, NULL, &a));
  T_OK(dt_rand(T_ctx, 1, &n, NULL, &b));
  uint64_t seed, off;
  T_OK(dt_rng_state(T_ctx, &seed, &off));
  CU_ASSERT_EQUAL(seed, 5);
  CU_ASSERT_EQUAL(off, 2);
  float *va = dt_test_gather_all(a), *vb = dt_test_gather_all(b);
  CU_ASSERT(va && vb && memcmp(va, vb, sizeof(float) * n) != 0);
  T_OK(dt_manual_seed(T_ctx, 5));
  T_OK(dt_rand(T_ctx, 1, &n, NULL, &c));
  float *vc = dt_test_gather_all(c);
  CU_ASSERT(va && vc && memcmp(va, vc, sizeof(float) * n) == 0);
  /* rand_like draws the next stream, just as rand would */
  T_OK(dt_rand_like(c, NULL, &d));
  float *vd = dt_test_gather_all(d);
  CU_ASSERT(vb && vd && memcmp(vb, vd, sizeof(float) * n) == 0);
  /* a failed call does not advance the generator */
  T_OK(dt_rng_state(T_ctx, &seed, &off));
  dt_tensor *bad = NULL;
  dt_opts io = {.dtype = DT_INT64};
  T_ERR(dt_rand(T_ctx, 1, &n, &io, &bad), DT_ERR_DTYPE);
  uint64_t off2;
  T_OK(dt_rng_state(T_ctx, &seed, &off2));
  CU_ASSERT_EQUAL(off, off2);
  free(va);
  free(vb);
  free(vc);
  free(vd);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&d);
}

/* ---- deterministic factories against PyTorch --------------------------------
 */

static void expect_f64(dt_tensor *t, dt_dtype dtype, int64_t n,
                       const double *want, double rtol) {
  CU_ASSERT_EQUAL(dt_dtype_of(t), dtype);
  CU_ASSERT_EQUAL(dt_numel(t), n);
  if (!t || dt_numel(t) != n)
    return;
  void *v = dt_test_gather_all(t);
  for (int64_t i = 0; v && i < n; i++) {
    double x = 0;
    switch (dtype) {
    case DT_FLOAT32:
      x = ((float *)v)[i];
      break;
    case DT_FLOAT64:
      x = ((double *)v)[i];
      break;
    case DT_INT32:
      x = ((int32_t *)v)[i];
      break;
    case DT_INT64:
      x = (double)((int64_t *)v)[i];
      break;
    default:
      x = ((uint8_t *)v)[i];
      break;
    }
    int ok =
        rtol == 0 ? x == want[i] : fabs(x - want[i]) <= rtol * fabs(want[i]);
    CU_ASSERT(ok);
    if (!ok)
      fprintf(stderr, "element %lld: got %.17g want %.17g\n", (long long)i, x,
              want[i]);
  }
  free(v);
}

static void t_pytorch_values(void) {
  dt_tensor *t = NULL;
  /* torch.arange(0, 10, 2) -> tensor([0, 2, 4, 6, 8]) int64 */
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(10), DT_I(2), NULL, &t));
  expect_f64(t, DT_INT64, 5, (double[]){0, 2, 4, 6, 8}, 0);
  dt_tensor_destroy(&t);
  /* torch.arange(0, 1, 0.3) -> tensor([0.0000, 0.3000, 0.6000, 0.9000]) float32
   */
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(1), DT_F(0.3), NULL, &t));
  expect_f64(t, DT_FLOAT32, 4, (double[]){0.0f, 0.3f, 0.6f, 0.9f}, 0);
  dt_tensor_destroy(&t);
  /* torch.arange(5) */
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(5), DT_I(1), NULL, &t));
  expect_f64(t, DT_INT64, 5, (double[]){0, 1, 2, 3, 4}, 0);
  dt_tensor_destroy(&t);
  /* torch.arange(1, 2.5, 0.5) -> tensor([1.0000, 1.5000, 2.0000]) */
  T_OK(dt_arange(T_ctx, DT_I(1), DT_F(2.5), DT_F(0.5), NULL, &t));
  expect_f64(t, DT_FLOAT32, 3, (double[]){1, 1.5, 2}, 0);
  dt_tensor_destroy(&t);
  /* torch.arange(10, 0, -3) -> tensor([10, 7, 4, 1]) */
  T_OK(dt_arange(T_ctx, DT_I(10), DT_I(0), DT_I(-3), NULL, &t));
  expect_f64(t, DT_INT64, 4, (double[]){10, 7, 4, 1}, 0);
  dt_tensor_destroy(&t);
  /* torch.arange(3, 3) -> tensor([], dtype=torch.int64) */
  T_OK(dt_arange(T_ctx, DT_I(3), DT_I(3), DT_I(1), NULL, &t));
  expect_f64(t, DT_INT64, 0, NULL, 0);
  dt_tensor_destroy(&t);
  /* torch.arange(0, 5, dtype=torch.float64) */
  dt_opts f64 = {.dtype = DT_FLOAT64};
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(5), DT_I(1), &f64, &t));
  expect_f64(t, DT_FLOAT64, 5, (double[]){0, 1, 2, 3, 4}, 0);
  dt_tensor_destroy(&t);
  /* torch.linspace(0, 1, 5) -> tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
   */
  T_OK(dt_linspace(T_ctx, 0, 1, 5, NULL, &t));
  expect_f64(t, DT_FLOAT32, 5, (double[]){0, 0.25, 0.5, 0.75, 1}, 0);
  dt_tensor_destroy(&t);
  /* torch.linspace(-10, 10, steps=5) -> tensor([-10., -5., 0., 5., 10.]) */
  T_OK(dt_linspace(T_ctx, -10, 10, 5, NULL, &t));
  expect_f64(t, DT_FLOAT32, 5, (double[]){-10, -5, 0, 5, 10}, 0);
  dt_tensor_destroy(&t);
  /* torch.linspace(3, 10, steps=5) ->
   * tensor([ 3.0000,  4.7500,  6.5000,  8.2500, 10.0000]) */
  T_OK(dt_linspace(T_ctx, 3, 10, 5, NULL, &t));
  expect_f64(t, DT_FLOAT32, 5, (double[]){3, 4.75, 6.5, 8.25, 10}, 0);
  dt_tensor_destroy(&t);
  /* torch.linspace(0, 1, 1) -> tensor([0.]); steps=0 -> tensor([]) */
  T_OK(dt_linspace(T_ctx, 0, 1, 1, NULL, &t));
  expect_f64(t, DT_FLOAT32, 1, (double[]){0}, 0);
  dt_tensor_destroy(&t);
  T_OK(dt_linspace(T_ctx, 0, 1, 0, NULL, &t));
  expect_f64(t, DT_FLOAT32, 0, NULL, 0);
  dt_tensor_destroy(&t);
  /* torch.linspace(0, 10, 4, dtype=torch.int64) -> tensor([ 0,  3,  6, 10]) */
  dt_opts i64 = {.dtype = DT_INT64};
  T_OK(dt_linspace(T_ctx, 0, 10, 4, &i64, &t));
  expect_f64(t, DT_INT64, 4, (double[]){0, 3, 6, 10}, 0);
  dt_tensor_destroy(&t);
  /* torch.logspace(0, 2, 3) -> tensor([  1.,  10., 100.]) */
  T_OK(dt_logspace(T_ctx, 0, 2, 3, 10.0, NULL, &t));
  expect_f64(t, DT_FLOAT32, 3, (double[]){1, 10, 100}, 0);
  dt_tensor_destroy(&t);
  /* torch.logspace(-10, 10, steps=5) ->
   * tensor([1.0000e-10, 1.0000e-05, 1.0000e+00, 1.0000e+05, 1.0000e+10]) */
  T_OK(dt_logspace(T_ctx, -10, 10, 5, 10.0, NULL, &t));
  expect_f64(t, DT_FLOAT32, 5, (double[]){1e-10, 1e-5, 1, 1e5, 1e10}, 1e-6);
  dt_tensor_destroy(&t);
  /* torch.logspace(start=0.1, end=1.0, steps=5) ->
   * tensor([ 1.2589,  2.1135,  3.5481,  5.9566, 10.0000]) */
  T_OK(dt_logspace(T_ctx, 0.1, 1.0, 5, 10.0, NULL, &t));
  expect_f64(t, DT_FLOAT32, 5, (double[]){1.2589, 2.1135, 3.5481, 5.9566, 10.0},
             5e-5);
  dt_tensor_destroy(&t);
  /* torch.logspace(start=2, end=2, steps=1, base=2) -> tensor([4.]) */
  T_OK(dt_logspace(T_ctx, 2, 2, 1, 2.0, NULL, &t));
  expect_f64(t, DT_FLOAT32, 1, (double[]){4}, 0);
  dt_tensor_destroy(&t);
  /* torch.eye(2, 3) -> tensor([[1., 0., 0.], [0., 1., 0.]]) */
  T_OK(dt_eye(T_ctx, 2, 3, NULL, &t));
  expect_f64(t, DT_FLOAT32, 6, (double[]){1, 0, 0, 0, 1, 0}, 0);
  dt_tensor_destroy(&t);
  /* torch.eye(3, 2, dtype=torch.int64) */
  T_OK(dt_eye(T_ctx, 3, 2, &i64, &t));
  expect_f64(t, DT_INT64, 6, (double[]){1, 0, 0, 1, 0, 0}, 0);
  dt_tensor_destroy(&t);
  /* torch.full((2, 3), 3.141592) float32; torch.full((2,), 7) int64; True ->
   * bool */
  const int64_t s23[2] = {2, 3}, s2 = 2;
  T_OK(dt_full(T_ctx, 2, s23, DT_F(3.141592), NULL, &t));
  expect_f64(t, DT_FLOAT32, 6,
             (double[]){3.141592f, 3.141592f, 3.141592f, 3.141592f, 3.141592f,
                        3.141592f},
             0);
  dt_tensor_destroy(&t);
  T_OK(dt_full(T_ctx, 1, &s2, DT_I(7), NULL, &t));
  expect_f64(t, DT_INT64, 2, (double[]){7, 7}, 0);
  dt_tensor_destroy(&t);
  T_OK(dt_full(T_ctx, 1, &s2, DT_B(true), NULL, &t));
  expect_f64(t, DT_BOOL, 2, (double[]){1, 1}, 0);
  dt_tensor_destroy(&t);
  /* torch.zeros(2, 3) float32, torch.ones(2, dtype=torch.int32) */
  T_OK(dt_zeros(T_ctx, 2, s23, NULL, &t));
  expect_f64(t, DT_FLOAT32, 6, (double[]){0, 0, 0, 0, 0, 0}, 0);
  dt_tensor_destroy(&t);
  dt_opts i32 = {.dtype = DT_INT32};
  T_OK(dt_ones(T_ctx, 1, &s2, &i32, &t));
  expect_f64(t, DT_INT32, 2, (double[]){1, 1}, 0);
  dt_tensor_destroy(&t);
  /* torch.randint(3, 10, (5,)).dtype == torch.int64, values in range */
  const int64_t s1000 = 1000;
  T_OK(dt_randint(T_ctx, 3, 10, 1, &s1000, NULL, &t));
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_INT64);
  int64_t *v = dt_test_gather_all(t);
  int inrange = 1, seen[10] = {0};
  for (int i = 0; v && i < 1000; i++) {
    inrange = inrange && v[i] >= 3 && v[i] < 10;
    if (v[i] >= 0 && v[i] < 10)
      seen[v[i]] = 1;
  }
  CU_ASSERT(inrange);
  CU_ASSERT(seen[3] && seen[9]);
  free(v);
  dt_tensor_destroy(&t);
  /* default float dtype float64 changes inference, like torch.set_default_dtype
   */
  T_OK(dt_ctx_set_default_dtype(T_ctx, DT_FLOAT64));
  T_OK(dt_arange(T_ctx, DT_F(0), DT_I(2), DT_I(1), NULL, &t));
  expect_f64(t, DT_FLOAT64, 2, (double[]){0, 1}, 0);
  dt_tensor_destroy(&t);
  T_OK(dt_ctx_set_default_dtype(T_ctx, DT_FLOAT32));
}

/* Deterministic factories give the same gathered bits in every layout. */
static void t_deterministic_layouts(void) {
  const int64_t shape[2] = {9, 4};
  dt_tensor *ref[4] = {NULL};
  dt_ctx *self = dt_test_self_ctx();
  T_OK(dt_eye(self, 9, 4, NULL, &ref[0]));
  T_OK(dt_full(self, 2, shape, DT_F(-2.5), NULL, &ref[1]));
  T_OK(dt_linspace(self, -3, 7, 9, NULL, &ref[2]));
  T_OK(dt_arange(self, DT_F(0.5), DT_I(9), DT_F(1), NULL, &ref[3]));
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts cuts, cuts1;
    const int64_t n9 = 9;
    dt_opts o = dt_test_layout(k, 2, shape, &cuts, NULL);
    dt_opts o1 = dt_test_layout(k == 4 ? 0 : k, 1, &n9, &cuts1, NULL);
    dt_tensor *t[4] = {NULL};
    T_OK(dt_eye(T_ctx, 9, 4, &o, &t[0]));
    T_OK(dt_full(T_ctx, 2, shape, DT_F(-2.5), &o, &t[1]));
    T_OK(dt_linspace(T_ctx, -3, 7, 9, &o1, &t[2]));
    T_OK(dt_arange(T_ctx, DT_F(0.5), DT_I(9), DT_F(1), &o1, &t[3]));
    for (int j = 0; j < 4; j++) {
      void *a = dt_test_gather_all(t[j]), *b = dt_test_gather_all(ref[j]);
      CU_ASSERT(a && b &&
                dt_test_same_bits(a, b,
                                  (size_t)dt_numel(ref[j]) *
                                      dt_dtype_size(dt_dtype_of(ref[j]))));
      free(a);
      free(b);
      dt_tensor_destroy(&t[j]);
    }
  }
  for (int j = 0; j < 4; j++)
    dt_tensor_destroy(&ref[j]);
}

/* eye against its definition (1 where row == column) for wide, tall,
 * square and empty shapes, every layout (uneven and empty shards) and
 * element size: each run's diagonal is found from its first index. */
static void t_eye_shapes(void) {
  const int64_t shapes[8][2] = {{0, 5}, {5, 0},     {1, 1},    {7, 3},
                                {3, 7}, {130, 129}, {65, 200}, {300, 17}};
  const dt_dtype dts[3] = {DT_FLOAT64, DT_INT32, DT_BOOL};
  int bad = 0;
  for (int s = 0; s < 8; s++)
    for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
      for (int d = 0; d < 3; d++) {
        dt_test_cuts cuts;
        dt_opts o = dt_test_layout(k, 2, shapes[s], &cuts, NULL);
        o.dtype = dts[d];
        dt_tensor *t = NULL;
        T_OK(dt_eye(T_ctx, shapes[s][0], shapes[s][1], &o, &t));
        int64_t n = shapes[s][0], m = shapes[s][1];
        size_t esz = dt_dtype_size(dts[d]);
        unsigned char *g = dt_test_gather_all(t);
        for (int64_t i = 0; i < n * m && (g || n * m == 0); i++) {
          double v = dts[d] == DT_FLOAT64 ? ((double *)(void *)g)[i]
                     : dts[d] == DT_INT32 ? ((int32_t *)(void *)g)[i]
                                          : g[i * esz];
          bad += v != (i / m == i % m ? 1.0 : 0.0);
        }
        bad += !g && n * m > 0;
        free(g);
        dt_tensor_destroy(&t);
      }
  CU_ASSERT_EQUAL(bad, 0);
}

/* ---- from_data, *_like, new_tensor --------------------------------------- */

static void t_from_data(void) {
  const int64_t shape[2] = {5, 3};
  double data[15];
  for (int i = 0; i < 15; i++)
    data[i] = i * 1.5 - 7.25;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts cuts;
    dt_opts o = dt_test_layout(k, 2, shape, &cuts, NULL);
    /* every rank has the data */
    dt_tensor *t = NULL;
    T_OK(dt_from_data(T_ctx, 2, shape, data, DT_FLOAT64, DT_ALL_RANKS, &o, &t));
    CU_ASSERT_EQUAL(dt_dtype_of(t), DT_FLOAT64);
    double *g = dt_test_gather_all(t);
    CU_ASSERT(g && memcmp(g, data, sizeof data) == 0);
    free(g);
    dt_tensor_destroy(&t);
    /* only the last rank has it; converted to int32 (truncation toward 0) */
    int root = T_size - 1;
    dt_opts oi = o;
    oi.dtype = DT_INT32;
    T_OK(dt_from_data(T_ctx, 2, shape, T_rank == root ? data : NULL, DT_FLOAT64,
                      root, &oi, &t));
    int32_t *gi = dt_test_gather_all(t);
    int ok = gi != NULL;
    for (int i = 0; ok && i < 15; i++)
      ok = gi[i] == (int32_t)data[i];
    CU_ASSERT(ok);
    free(gi);
    dt_tensor_destroy(&t);
  }
  /* conversions as PyTorch: NaN -> 0 for ints, saturation, nonzero -> true */
  double special[4] = {NAN, 1e300, -1e300, -0.5};
  const int64_t four = 4;
  dt_opts oi = {.dtype = DT_INT64}, ob = {.dtype = DT_BOOL};
  dt_tensor *t = NULL;
  T_OK(dt_from_data(T_ctx, 1, &four, special, DT_FLOAT64, DT_ALL_RANKS, &oi,
                    &t));
  int64_t *gi = dt_test_gather_all(t);
  CU_ASSERT(gi && gi[0] == 0 && gi[1] == INT64_MAX && gi[2] == INT64_MIN &&
            gi[3] == 0);
  free(gi);
  dt_tensor_destroy(&t);
  T_OK(dt_from_data(T_ctx, 1, &four, special, DT_FLOAT64, 0, &ob, &t));
  uint8_t *gb = dt_test_gather_all(t);
  CU_ASSERT(gb && gb[0] == 1 && gb[1] == 1 && gb[2] == 1 && gb[3] == 1);
  free(gb);
  dt_tensor_destroy(&t);
  /* a 0-d tensor (torch.tensor(3.5)) is replicated */
  double x = 3.5;
  T_OK(dt_from_data(T_ctx, 0, NULL, &x, DT_FLOAT64, DT_ALL_RANKS, NULL, &t));
  CU_ASSERT_EQUAL(dt_ndim(t), 0);
  CU_ASSERT_EQUAL(dt_numel(t), 1);
  CU_ASSERT_EQUAL(dt_layout_of(t, NULL, NULL), DT_REPLICATED);
  CU_ASSERT(dt_local_data(t) && *(double *)dt_local_data(t) == 3.5);
  dt_tensor_destroy(&t);
  /* the tensor owns a copy: changing the source afterwards changes nothing */
  double src[3] = {1, 2, 3};
  const int64_t three = 3;
  T_OK(dt_from_data(T_ctx, 1, &three, src, DT_FLOAT64, DT_ALL_RANKS, NULL, &t));
  src[0] = src[1] = src[2] = 99;
  double *g = dt_test_gather_all(t);
  CU_ASSERT(g && g[0] == 1 && g[1] == 2 && g[2] == 3);
  free(g);
  dt_tensor_destroy(&t);
}

static void t_like_and_new_tensor(void) {
  const int64_t shape[2] = {6, 5};
  dt_opts o = {.dtype = DT_FLOAT64, .layout = DT_SPLIT, .split_axis = 1};
  dt_tensor *src = NULL, *t = NULL;
  T_OK(dt_ones(T_ctx, 2, shape, &o, &src));
  int axis = -7;
  T_OK(dt_zeros_like(src, NULL, &t));
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_FLOAT64);
  CU_ASSERT_EQUAL(dt_layout_of(t, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(axis, 1);
  CU_ASSERT_EQUAL(dt_size(t, 0), 6);
  CU_ASSERT_EQUAL(dt_size(t, -1), 5);
  dt_tensor_destroy(&t);
  dt_opts over = {.dtype = DT_INT32, .layout = DT_REPLICATED};
  T_OK(dt_full_like(src, DT_F(2.9), &over, &t));
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_INT32);
  CU_ASSERT_EQUAL(dt_layout_of(t, NULL, NULL), DT_REPLICATED);
  CU_ASSERT(((int32_t *)dt_local_data(t))[29] == 2);
  dt_tensor_destroy(&t);
  T_OK(dt_empty_like(src, NULL, &t));
  CU_ASSERT_EQUAL(dt_numel(t), 30);
  dt_tensor_destroy(&t);
  T_OK(dt_ones_like(src, &(dt_opts){.requires_grad = true}, &t));
  CU_ASSERT(dt_requires_grad(t));
  dt_tensor_destroy(&t);
  T_OK(dt_randn_like(src, NULL, &t));
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_FLOAT64);
  dt_tensor_destroy(&t);
  /* randn_like of an integer tensor: as torch, a dtype error */
  dt_tensor *ints = NULL;
  dt_opts io = {.dtype = DT_INT64};
  T_OK(dt_zeros(T_ctx, 2, shape, &io, &ints));
  T_ERR(dt_randn_like(ints, NULL, &t), DT_ERR_DTYPE);
  CU_ASSERT_PTR_NULL(t);
  T_ERR(dt_rand_like(ints, NULL, &t), DT_ERR_DTYPE);
  T_OK(dt_randn_like(ints, &(dt_opts){.dtype = DT_FLOAT32}, &t));
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_FLOAT32);
  dt_tensor_destroy(&t);
  /* new_tensor: the source's dtype and split axis, new data and shape */
  const int64_t nshape[2] = {3, 4};
  int64_t data[12];
  for (int i = 0; i < 12; i++)
    data[i] = i;
  T_OK(dt_new_tensor(src, 2, nshape, data, DT_INT64, NULL, &t));
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_FLOAT64);
  CU_ASSERT_EQUAL(dt_layout_of(t, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(axis, 1);
  double *g = dt_test_gather_all(t);
  int ok = g != NULL;
  for (int i = 0; ok && i < 12; i++)
    ok = g[i] == i;
  CU_ASSERT(ok);
  free(g);
  dt_tensor_destroy(&t);
  /* a 1-D new tensor from a tensor split on axis 1 uses the default split */
  const int64_t n = 4;
  T_OK(dt_new_tensor(src, 1, &n, data, DT_INT64, NULL, &t));
  CU_ASSERT_EQUAL(dt_layout_of(t, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(axis, 0);
  dt_tensor_destroy(&t);
  dt_tensor_destroy(&ints);
  dt_tensor_destroy(&src);
}

/* ---- from_buffer: zero copy, validated tiling ---------------------------- */

static void t_from_buffer_shares(void) {
  const int64_t shape[2] = {7, 3};
  int64_t start[2], lshape[2];
  start[0] = (7 * T_rank) / T_size;
  lshape[0] = (7 * (T_rank + 1)) / T_size - start[0];
  start[1] = 0;
  lshape[1] = 3;
  double *buf = malloc(sizeof(double) * (size_t)(lshape[0] * 3 + 1));
  for (int64_t i = 0; i < lshape[0] * 3; i++)
    buf[i] = (double)(start[0] * 3 + i);
  dt_tensor *t = NULL;
  T_OK(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 2, shape, start, lshape, &t));
  CU_ASSERT(lshape[0] == 0 || dt_local_data(t) == buf);
  double *g = dt_test_gather_all(t);
  int ok = g != NULL;
  for (int i = 0; ok && i < 21; i++)
    ok = g[i] == i;
  CU_ASSERT(ok);
  free(g);
  /* the user changes the buffer: the tensor sees it */
  if (lshape[0] > 0)
    buf[0] = -1;
  g = dt_test_gather_all(t);
  CU_ASSERT(g && (lshape[0] == 0 || g[start[0] * 3] == -1));
  free(g);
  /* the tensor is written through dt_local_data: the user sees it */
  if (lshape[0] > 0)
    ((double *)dt_local_data(t))[1] = -2;
  CU_ASSERT(lshape[0] == 0 || buf[1] == -2);
  /* a view-like tensor (zeros_like) does not share it */
  dt_tensor *z = NULL;
  T_OK(dt_zeros_like(t, NULL, &z));
  CU_ASSERT(dt_local_data(z) != buf);
  dt_tensor_destroy(&z);
  /* destroying the tensor leaves the user's buffer alone (ASan checks it) */
  dt_tensor_destroy(&t);
  if (lshape[0] > 0)
    buf[0] = 5;
  free(buf);
  /* NULL boxes: the default split, recognised as such */
  int64_t n = 10, s0 = (10 * T_rank) / T_size;
  (void)s0;
  int64_t cnt = 10 / T_size + (T_rank < 10 % T_size);
  float *fb = calloc((size_t)cnt + 1, sizeof(float));
  T_OK(dt_from_buffer(T_ctx, fb, DT_FLOAT32, 1, &n, NULL, NULL, &t));
  int axis = -1;
  CU_ASSERT_EQUAL(dt_layout_of(t, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(dt_local_numel(t), cnt);
  dt_tensor_destroy(&t);
  free(fb);
}

/* A tiling that is not a grid (at 3+ ranks): an L of boxes. */
static void t_from_buffer_irregular(void) {
  if (T_size < 3)
    return;
  /* 4 x 4: rank 0 rows 0-1 all columns; rank 1 rows 2-3 cols 0-0; rank 2
   * rows 2-3 cols 1-3; further ranks empty. */
  const int64_t shape[2] = {4, 4};
  int64_t st[4][2] = {{0, 0}, {2, 0}, {2, 1}, {0, 0}};
  int64_t sh[4][2] = {{2, 4}, {2, 1}, {2, 3}, {0, 0}};
  int r = T_rank < 3 ? T_rank : 3;
  int64_t n = sh[r][0] * sh[r][1];
  int32_t *buf = malloc(sizeof(int32_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < sh[r][0]; i++)
    for (int64_t j = 0; j < sh[r][1]; j++)
      buf[i * sh[r][1] + j] = (int32_t)((st[r][0] + i) * 4 + st[r][1] + j);
  dt_tensor *t = NULL;
  T_OK(dt_from_buffer(T_ctx, buf, DT_INT32, 2, shape, st[r], sh[r], &t));
  CU_ASSERT_EQUAL(dt_layout_of(t, NULL, NULL), DT_IRREGULAR);
  int32_t *g = dt_test_gather_all(t);
  int ok = g != NULL;
  for (int i = 0; ok && i < 16; i++)
    ok = g[i] == i;
  CU_ASSERT(ok);
  int64_t bs[2], bn[2];
  T_OK(dt_owner_box(t, 2, bs, bn));
  CU_ASSERT(bs[0] == 2 && bs[1] == 1 && bn[0] == 2 && bn[1] == 3);
  free(g);
  dt_tensor_destroy(&t);
  free(buf);
}

static void t_from_buffer_bad_tilings(void) {
  const int64_t shape[1] = {10};
  double buf[16] = {0};
  dt_tensor *t = NULL;
  /* overlap: every rank claims [0, 10) (at 1 rank that is a valid tiling) */
  int64_t st = 0, sh = 10;
  if (T_size > 1) {
    T_ERR(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 1, shape, &st, &sh, &t),
          DT_ERR_LAYOUT);
    CU_ASSERT_PTR_NULL(t);
  }
  /* hole: every rank claims one element */
  st = T_rank;
  sh = 1;
  T_ERR(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 1, shape, &st, &sh, &t),
        DT_ERR_LAYOUT);
  /* out of bounds on one rank only: still an error everywhere */
  st = T_rank == T_size - 1 ? 8 : 0;
  sh = T_rank == T_size - 1 ? 5 : 0;
  T_ERR(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 1, shape, &st, &sh, &t),
        DT_ERR_LAYOUT);
  /* NULL buffer for a non-empty box, on rank 0 only */
  T_ERR(dt_from_buffer(T_ctx, T_rank == 0 ? NULL : buf, DT_FLOAT64, 1, shape,
                       NULL, NULL, &t),
        DT_ERR_NULL);
  /* requires_grad is impossible on a borrowed buffer: nothing to set here,
   * but the shape must agree across ranks */
  const int64_t other[1] = {10 + T_rank};
  if (T_size > 1)
    T_ERR(dt_from_buffer(T_ctx, buf, DT_FLOAT64, 1, other, NULL, NULL, &t),
          DT_ERR_MISMATCH);
  CU_ASSERT_PTR_NULL(t);
}

/* ---- bad input: a clear error, the same on every rank, nothing leaked ---- */

static void t_bad_input(void) {
  dt_tensor *t = NULL;
  const int64_t s2[2] = {4, 4};
  int64_t big[DT_MAX_DIMS + 1];
  for (int d = 0; d <= DT_MAX_DIMS; d++)
    big[d] = 2;
  /* NULLs */
  T_ERR(dt_zeros(NULL, 2, s2, NULL, &t), DT_ERR_NULL);
  T_ERR(dt_zeros(T_ctx, 2, NULL, NULL, &t), DT_ERR_NULL);
  T_ERR(dt_zeros(T_ctx, 2, s2, NULL, NULL), DT_ERR_NULL);
  T_ERR(dt_zeros_like(NULL, NULL, &t), DT_ERR_NULL);
  /* shapes */
  T_ERR(dt_zeros(T_ctx, -1, s2, NULL, &t), DT_ERR_SHAPE);
  T_ERR(dt_zeros(T_ctx, DT_MAX_DIMS + 1, big, NULL, &t), DT_ERR_SHAPE);
  CU_ASSERT(strstr(dt_last_error(), "dt_zeros") != NULL);
  const int64_t neg[2] = {3, -1};
  T_ERR(dt_ones(T_ctx, 2, neg, NULL, &t), DT_ERR_SHAPE);
  const int64_t huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 1};
  T_ERR(dt_rand(T_ctx, 3, huge, NULL, &t), DT_ERR_OVERFLOW);
  const int64_t bytes[1] = {INT64_C(1) << 62};
  T_ERR(dt_empty(T_ctx, 1, bytes, &(dt_opts){.dtype = DT_FLOAT64}, &t),
        DT_ERR_OVERFLOW);
  /* dtypes */
  T_ERR(dt_zeros(T_ctx, 2, s2, &(dt_opts){.dtype = (dt_dtype)99}, &t),
        DT_ERR_DTYPE);
  T_ERR(dt_randn(T_ctx, 2, s2, &(dt_opts){.dtype = DT_INT32}, &t),
        DT_ERR_DTYPE);
  T_ERR(dt_zeros(T_ctx, 2, s2,
                 &(dt_opts){.dtype = DT_INT64, .requires_grad = true}, &t),
        DT_ERR_AUTOGRAD);
  /* layouts */
  T_ERR(dt_zeros(T_ctx, 2, s2, &(dt_opts){.layout = DT_SPLIT, .split_axis = 2},
                 &t),
        DT_ERR_AXIS);
  T_ERR(dt_zeros(T_ctx, 2, s2, &(dt_opts){.layout = DT_SPLIT, .split_axis = -3},
                 &t),
        DT_ERR_AXIS);
  T_ERR(dt_zeros(T_ctx, 0, NULL, &(dt_opts){.layout = DT_SPLIT}, &t),
        DT_ERR_AXIS);
  T_ERR(dt_zeros(T_ctx, 2, s2,
                 &(dt_opts){.layout = DT_GRID, .grid = {T_size + 1, 1}}, &t),
        DT_ERR_LAYOUT);
  T_ERR(dt_zeros(T_ctx, 2, s2,
                 &(dt_opts){.layout = DT_GRID, .grid = {T_size, 0}}, &t),
        DT_ERR_LAYOUT);
  T_ERR(dt_zeros(T_ctx, 2, s2, &(dt_opts){.layout = (dt_layout_kind)42}, &t),
        DT_ERR_LAYOUT);
  int64_t cuts[65];
  cuts[0] = 0;
  for (int r = 1; r <= T_size; r++)
    cuts[r] = 4;
  cuts[T_size] = 4;
  if (T_size > 1) {
    cuts[1] = 3;
    cuts[T_size - 1] = T_size > 2 ? 1 : 3; /* out of order at 3+ ranks */
  }
  dt_opts co = {.layout = DT_CUTS, .grid = {T_size, 1}, .cuts = {cuts, NULL}};
  if (T_size > 2)
    T_ERR(dt_zeros(T_ctx, 2, s2, &co, &t), DT_ERR_LAYOUT);
  cuts[T_size] = 5; /* does not end at the axis size */
  T_ERR(dt_zeros(T_ctx, 2, s2, &co, &t), DT_ERR_LAYOUT);
  /* ranges */
  T_ERR(dt_arange(T_ctx, DT_I(0), DT_I(10), DT_I(0), NULL, &t), DT_ERR_ARG);
  T_ERR(dt_arange(T_ctx, DT_F(0), DT_F(1), DT_F(0.0), NULL, &t), DT_ERR_ARG);
  T_ERR(dt_arange(T_ctx, DT_I(0), DT_I(10), DT_I(-1), NULL, &t), DT_ERR_ARG);
  T_ERR(dt_arange(T_ctx, DT_F(10), DT_F(0), DT_F(0.5), NULL, &t), DT_ERR_ARG);
  T_ERR(dt_arange(T_ctx, DT_F(0), DT_F(INFINITY), DT_F(1), NULL, &t),
        DT_ERR_ARG);
  T_ERR(dt_arange(T_ctx, DT_I(INT64_MIN), DT_I(INT64_MAX), DT_I(1), NULL, &t),
        DT_ERR_OVERFLOW);
  T_ERR(dt_linspace(T_ctx, 0, 1, -1, NULL, &t), DT_ERR_ARG);
  T_ERR(dt_logspace(T_ctx, 0, 1, -5, 10, NULL, &t), DT_ERR_ARG);
  T_ERR(dt_linspace(T_ctx, NAN, 1, 3, NULL, &t), DT_ERR_ARG);
  T_ERR(dt_eye(T_ctx, -1, 2, NULL, &t), DT_ERR_SHAPE);
  T_ERR(dt_randint(T_ctx, 5, 5, 2, s2, NULL, &t), DT_ERR_ARG);
  T_ERR(dt_randint(T_ctx, 0, 3, 2, s2, &(dt_opts){.dtype = DT_BOOL}, &t),
        DT_ERR_ARG);
  T_ERR(dt_full(T_ctx, 2, s2, (dt_scalar){.kind = DT_INT32}, NULL, &t),
        DT_ERR_ARG);
  /* roots */
  double d16[16] = {0};
  T_ERR(dt_from_data(T_ctx, 2, s2, d16, DT_FLOAT64, T_size, NULL, &t),
        DT_ERR_RANK);
  T_ERR(dt_from_data(T_ctx, 2, s2, d16, DT_FLOAT64, -2, NULL, &t), DT_ERR_RANK);
  T_ERR(dt_from_data(T_ctx, 2, s2, d16, DT_DTYPE_DEFAULT, 0, NULL, &t),
        DT_ERR_DTYPE);
  /* data missing on one rank only: the error reaches every rank */
  T_ERR(dt_from_data(T_ctx, 2, s2, T_rank == T_size - 1 ? NULL : d16,
                     DT_FLOAT64, DT_ALL_RANKS, NULL, &t),
        DT_ERR_NULL);
  CU_ASSERT(strstr(dt_last_error(), "data is NULL") != NULL);
  CU_ASSERT_PTR_NULL(t);
}

/* Replicated arguments that differ between ranks are caught, not hung on. */
static void t_mismatch(void) {
  if (T_size < 2)
    return;
  dt_tensor *t = NULL;
  const int64_t s[1] = {4 + (T_rank == 1)};
  T_ERR(dt_zeros(T_ctx, 1, s, NULL, &t), DT_ERR_MISMATCH);
  const int64_t s4 = 4;
  T_ERR(dt_full(T_ctx, 1, &s4, DT_I(T_rank), NULL, &t), DT_ERR_MISMATCH);
  T_OK(dt_manual_seed(T_ctx, (uint64_t)T_rank));
  T_ERR(dt_rand(T_ctx, 1, &s4, NULL, &t), DT_ERR_MISMATCH);
  CU_ASSERT_PTR_NULL(t);
}

/* A failure on one rank only (an allocation) is agreed everywhere. */
static void t_local_failure_agreed(void) {
  if (T_size < 2)
    return;
  /* Cuts give the last rank a box of 2^44 doubles (128 TiB): its allocation
   * fails, the others succeed, and everyone reports DT_ERR_NOMEM. */
  const int64_t shape[2] = {INT64_C(1) << 30, INT64_C(1) << 14};
  int64_t cuts[65] = {0};
  for (int r = 1; r < T_size; r++)
    cuts[r] = r;
  cuts[T_size] = shape[0];
  dt_opts o = {.dtype = DT_FLOAT64,
               .layout = DT_CUTS,
               .grid = {T_size, 1},
               .cuts = {cuts}};
  dt_tensor *t = NULL;
  T_ERR(dt_empty(T_ctx, 2, shape, &o, &t), DT_ERR_NOMEM);
  CU_ASSERT_PTR_NULL(t);
  char want[32];
  snprintf(want, sizeof want, "rank %d", T_size - 1);
  if (T_rank != T_size - 1)
    CU_ASSERT(strstr(dt_last_error(), want) != NULL);
}

/* ---- torch 1.13 parity: arange, full, logspace (issue 11) -------------------
 * Each expected value is torch 1.13's, derived from its CPU kernels
 * (RangeFactories.cpp, the fill kernel's checked_convert) and written here;
 * every case runs in every test layout at 1-4 ranks. */

typedef enum { P_ARANGE, P_FULL, P_LOGSPACE } pkind;

typedef struct parity_case {
  const char *what; /* the torch call */
  pkind kind;
  dt_scalar a, b, c; /* arange start/end/step; full value in a */
  double s, e, base; /* logspace */
  int64_t steps;
  dt_dtype dtype;
  dt_err code;     /* DT_OK: the values below */
  const char *msg; /* the refusal's message (after "dt_<fn>: ") */
  int n;
  double v[10];     /* exact values (float32: the float's value) */
  uint32_t bits[10]; /* float32 results compared bitwise when set */
} parity_case;

static const parity_case parity_cases[] = {
    {"arange(0, 5, 1.5, dtype=int64)", P_ARANGE, DT_I(0), DT_I(5), DT_F(1.5),
     0, 0, 0, 0, DT_INT64, DT_OK, NULL, 5, {0, 1, 2, 3, 4}, {0}},
    /* torch computes the int32 length in double from the original scalars */
    {"arange(0, 5, 1.5, dtype=int32)", P_ARANGE, DT_I(0), DT_I(5), DT_F(1.5),
     0, 0, 0, 0, DT_INT32, DT_OK, NULL, 4, {0, 1, 2, 3}, {0}},
    {"arange(0, 5.5, 1, dtype=int64)", P_ARANGE, DT_I(0), DT_F(5.5), DT_I(1),
     0, 0, 0, 0, DT_INT64, DT_OK, NULL, 5, {0, 1, 2, 3, 4}, {0}},
    {"arange(0, 5.5, 1, dtype=int32)", P_ARANGE, DT_I(0), DT_F(5.5), DT_I(1),
     0, 0, 0, 0, DT_INT32, DT_OK, NULL, 6, {0, 1, 2, 3, 4, 5}, {0}},
    {"arange(0, -5, -1.5, dtype=int64)", P_ARANGE, DT_I(0), DT_I(-5),
     DT_F(-1.5), 0, 0, 0, 0, DT_INT64, DT_OK, NULL, 5, {0, -1, -2, -3, -4},
     {0}},
    {"arange(-2.5, 2, 1, dtype=int64)", P_ARANGE, DT_F(-2.5), DT_I(2), DT_I(1),
     0, 0, 0, 0, DT_INT64, DT_OK, NULL, 4, {-2, -1, 0, 1}, {0}},
    {"arange(0.9, 3, 1, dtype=int64)", P_ARANGE, DT_F(0.9), DT_I(3), DT_I(1),
     0, 0, 0, 0, DT_INT64, DT_OK, NULL, 3, {0, 1, 2}, {0}},
    /* int32: bounds checked truncated (0 -> 0), the length from the
     * originals: ceil(-0.5) is -0, an empty tensor */
    {"arange(0, -0.5, 1, dtype=int32)", P_ARANGE, DT_I(0), DT_F(-0.5),
     DT_I(1), 0, 0, 0, 0, DT_INT32, DT_OK, NULL, 0, {0}, {0}},
    {"arange(0.9, -0.2, 1, dtype=int32)", P_ARANGE, DT_F(0.9), DT_F(-0.2),
     DT_I(1), 0, 0, 0, 0, DT_INT32, DT_ERR_OVERFLOW,
     "invalid size, possible overflow?", 0, {0}, {0}},
    {"arange(0, 1, 0.3, dtype=float64)", P_ARANGE, DT_I(0), DT_I(1), DT_F(0.3),
     0, 0, 0, 0, DT_FLOAT64, DT_OK, NULL, 4, {0, 0.3, 0.6, 3 * 0.3}, {0}},
    {"arange(1, 2.5, 0.5, dtype=int64)", P_ARANGE, DT_I(1), DT_F(2.5),
     DT_F(0.5), 0, 0, 0, 0, DT_INT64, DT_ERR_ARG, "step must be nonzero", 0,
     {0}, {0}},
    {"arange(0, 5, dtype=bool)", P_ARANGE, DT_I(0), DT_I(5), DT_I(1), 0, 0, 0,
     0, DT_BOOL, DT_ERR_DTYPE, "\"arange_cpu\" not implemented for 'Bool'", 0,
     {0}, {0}},
    {"arange(0, inf, 1, dtype=int64)", P_ARANGE, DT_I(0), DT_F(INFINITY),
     DT_I(1), 0, 0, 0, 0, DT_INT64, DT_ERR_ARG,
     "value cannot be converted to type int64 without overflow", 0, {0}, {0}},
    {"full((3,), 3e9, dtype=int32)", P_FULL, DT_F(3e9), {0}, {0}, 0, 0, 0, 0,
     DT_INT32, DT_ERR_ARG,
     "value cannot be converted to type int32 without overflow", 0, {0}, {0}},
    {"full((3,), 3000000000, dtype=int32)", P_FULL, DT_I(3000000000), {0}, {0},
     0, 0, 0, 0, DT_INT32, DT_ERR_ARG,
     "value cannot be converted to type int32 without overflow", 0, {0}, {0}},
    {"full((3,), 1e300)", P_FULL, DT_F(1e300), {0}, {0}, 0, 0, 0, 0,
     DT_FLOAT32, DT_ERR_ARG,
     "value cannot be converted to type float32 without overflow", 0, {0},
     {0}},
    {"full((3,), nan, dtype=int64)", P_FULL, DT_F(NAN), {0}, {0}, 0, 0, 0, 0,
     DT_INT64, DT_ERR_ARG,
     "value cannot be converted to type int64 without overflow", 0, {0}, {0}},
    {"full((3,), 2147483647, dtype=int32)", P_FULL, DT_I(2147483647), {0}, {0},
     0, 0, 0, 0, DT_INT32, DT_OK, NULL, 3, {2147483647, 2147483647, 2147483647},
     {0}},
    {"full((3,), -2.9, dtype=int32)", P_FULL, DT_F(-2.9), {0}, {0}, 0, 0, 0, 0,
     DT_INT32, DT_OK, NULL, 3, {-2, -2, -2}, {0}},
    {"full((3,), inf)", P_FULL, DT_F(INFINITY), {0}, {0}, 0, 0, 0, 0,
     DT_FLOAT32, DT_OK, NULL, 3, {INFINITY, INFINITY, INFINITY}, {0}},
    {"full((3,), 1e300, dtype=float64)", P_FULL, DT_F(1e300), {0}, {0}, 0, 0, 0,
     0, DT_FLOAT64, DT_OK, NULL, 3, {1e300, 1e300, 1e300}, {0}},
    {"full((3,), 3e9, dtype=bool)", P_FULL, DT_F(3e9), {0}, {0}, 0, 0, 0, 0,
     DT_BOOL, DT_OK, NULL, 3, {1, 1, 1}, {0}},
    /* the exponent in double (10 ** (2/3) rounded once: 0x409487e5, where a
     * float32 exponent gave 0x409487e6) */
    {"logspace(0, 2, 7)", P_LOGSPACE, {0}, {0}, {0}, 0, 2, 10, 7, DT_FLOAT32,
     DT_OK, NULL, 7, {0},
     {0x3f800000, 0x4009e242, 0x409487e5, 0x41200000, 0x41ac5ad3, 0x4239a9df,
      0x42c80000}},
    {"logspace(0, 3, 10, base=2)", P_LOGSPACE, {0}, {0}, {0}, 0, 3, 2, 10,
     DT_FLOAT32, DT_OK, NULL, 10, {0},
     {0x3f800000, 0x3fa14518, 0x3fcb2ff5, 0x40000000, 0x40214518, 0x404b2ff5,
      0x40800000, 0x40a14518, 0x40cb2ff5, 0x41000000}},
    /* integer dtypes raise the base rounded to float32: 9.99999999f == 10 */
    {"logspace(0, 2, 3, base=9.99999999, dtype=int64)", P_LOGSPACE, {0}, {0},
     {0}, 0, 2, 9.99999999, 3, DT_INT64, DT_OK, NULL, 3, {1, 10, 100}, {0}},
    /* steps=1: pow(base, start) with the original start, then truncated */
    {"logspace(0.5, 2, 1, dtype=int64)", P_LOGSPACE, {0}, {0}, {0}, 0.5, 2, 10,
     1, DT_INT64, DT_OK, NULL, 1, {3}, {0}},
    {"logspace(0.5, 2, 1)", P_LOGSPACE, {0}, {0}, {0}, 0.5, 2, 10, 1,
     DT_FLOAT32, DT_OK, NULL, 1, {(float)3.1622776601683795}, {0}},
};

static bool parity_values(const parity_case *c, const void *v) {
  for (int k = 0; k < c->n; k++) {
    bool ok;
    switch (c->dtype) {
    case DT_FLOAT32:
      if (c->bits[0]) {
        uint32_t b;
        memcpy(&b, (const float *)v + k, 4);
        ok = b == c->bits[k];
      } else {
        ok = ((const float *)v)[k] == (float)c->v[k];
      }
      break;
    case DT_FLOAT64:
      ok = ((const double *)v)[k] == c->v[k];
      break;
    case DT_INT32:
      ok = ((const int32_t *)v)[k] == (int32_t)c->v[k];
      break;
    case DT_INT64:
      ok = ((const int64_t *)v)[k] == (int64_t)c->v[k];
      break;
    default:
      ok = ((const uint8_t *)v)[k] == (uint8_t)c->v[k];
      break;
    }
    if (!ok)
      return false;
  }
  return true;
}

static void t_torch_parity(void) {
  for (size_t k = 0; k < sizeof parity_cases / sizeof parity_cases[0]; k++) {
    const parity_case *c = &parity_cases[k];
    for (int l = 0; l < DT_TEST_NLAYOUTS; l++) {
      dt_test_cuts cuts;
      int64_t n = c->code ? 3 : c->n;
      dt_opts o = dt_test_layout(l, 1, &n, &cuts, NULL);
      o.dtype = c->dtype;
      dt_tensor *t = NULL;
      dt_err e;
      const char *fn;
      if (c->kind == P_ARANGE) {
        fn = "dt_arange: ";
        e = dt_arange(T_ctx, c->a, c->b, c->c, &o, &t);
      } else if (c->kind == P_FULL) {
        fn = "dt_full: ";
        e = dt_full(T_ctx, 1, &n, c->a, &o, &t);
      } else {
        fn = "dt_logspace: ";
        e = dt_logspace(T_ctx, c->s, c->e, c->steps, c->base, &o, &t);
      }
      void *v = e == DT_OK ? dt_test_gather_all(t) : NULL;
      bool ok = e == c->code;
      if (ok && e == DT_OK)
        ok = dt_dtype_of(t) == c->dtype && dt_numel(t) == c->n && v &&
             parity_values(c, v);
      if (ok && e != DT_OK)
        ok = t == NULL && strncmp(dt_last_error(), fn, strlen(fn)) == 0 &&
             strstr(dt_last_error(), c->msg) != NULL;
      if (!ok) {
        fprintf(stderr, "[rank %d] torch.%s, layout %d: %s %s\n", T_rank,
                c->what, l, dt_err_name(e), e ? dt_last_error() : "");
        CU_FAIL("differs from torch 1.13");
      }
      free(v);
      dt_tensor_destroy(&t);
    }
  }
  /* full_like: the value must fit the result's dtype */
  const int64_t n = 5;
  dt_tensor *src = NULL, *t = NULL;
  T_OK(dt_zeros(T_ctx, 1, &n, &(dt_opts){.dtype = DT_INT32}, &src));
  T_ERR(dt_full_like(src, DT_F(3e9), NULL, &t), DT_ERR_ARG);
  CU_ASSERT_PTR_NULL(t);
  CU_ASSERT_STRING_EQUAL(
      dt_last_error(),
      "dt_full_like: value cannot be converted to type int32 without overflow");
  T_ERR(dt_full_like(src, DT_I(-2147483649), NULL, &t), DT_ERR_ARG);
  T_OK(dt_full_like(src, DT_F(3e9), &(dt_opts){.dtype = DT_INT64}, &t));
  expect_f64(t, DT_INT64, 5, (double[]){3e9, 3e9, 3e9, 3e9, 3e9}, 0);
  dt_tensor_destroy(&t);
  dt_tensor_destroy(&src);
  T_OK(dt_zeros(T_ctx, 1, &n, NULL, &src));
  T_ERR(dt_full_like(src, DT_F(-1e39), NULL, &t), DT_ERR_ARG);
  CU_ASSERT_PTR_NULL(t);
  dt_tensor_destroy(&src);
}

static const dt_test_case cases[] = {
    {"rand reproducible in every layout and thread count", t_rand_reproducible},
    {"randn reproducible in every layout and thread count",
     t_randn_reproducible},
    {"randint reproducible in every layout and thread count",
     t_randint_reproducible},
    {"random factories with large threaded shards", t_random_large_threads},
    {"generator state advances and replays", t_generator_state},
    {"deterministic factories match PyTorch", t_pytorch_values},
    {"deterministic factories are layout-invariant", t_deterministic_layouts},
    {"eye: the diagonal in every shape and layout", t_eye_shapes},
    {"from_data: every rank or a root", t_from_data},
    {"*_like and new_tensor", t_like_and_new_tensor},
    {"from_buffer shares the user's memory", t_from_buffer_shares},
    {"from_buffer with a non-grid tiling", t_from_buffer_irregular},
    {"from_buffer rejects bad tilings", t_from_buffer_bad_tilings},
    {"bad input is an error on every rank", t_bad_input},
    {"replicated arguments must match", t_mismatch},
    {"a local failure is agreed", t_local_failure_agreed},
    {"torch 1.13 parity: arange, full, logspace", t_torch_parity},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "factory", cases);
}
