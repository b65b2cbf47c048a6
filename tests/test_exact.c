/*
 * test_exact - dt_sum and dt_mean are the exact sum rounded once (compared
 * with an independent exact reference: Shewchuk's algorithm as in Python's
 * math.fsum), on adversarial inputs, bitwise identical in every layout, rank
 * count and thread count; so is matmul's cross-rank gradient. The blocked
 * accumulator (dt__xacc_add_array) gives the limbs of the original one
 * (kept below as the reference) on every vector path.
 */
#include "dt_test.h"
#include "internal.h"

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

/* ---- the original scalar accumulator, the reference for the blocked one -- */

#define REF_M32 UINT64_C(0xffffffff)
#define REF_EXP_MASK UINT64_C(0x7ff0000000000000)
#define REF_SIGN_BIT (UINT64_C(1) << 63)
#define REF_SAFE (INT64_C(1) << 29)

static inline void ref_add_finite(int64_t *limb, uint64_t bits) {
  uint64_t e = (bits >> 52) & 0x7ff;
  uint64_t normal = e != 0;
  int64_t m = (int64_t)((bits & ((UINT64_C(1) << 52) - 1)) | (normal << 52));
  e -= normal;
  int64_t neg = -(int64_t)(bits >> 63);
  int64_t sm = (m ^ neg) - neg;
  int idx = (int)(e >> 5), sh = (int)(e & 31);
  uint64_t low = (uint64_t)sm << sh;
  limb[idx] += (int64_t)(low & REF_M32);
  limb[idx + 1] += (int64_t)(low >> 32);
  limb[idx + 2] += (sm >> (63 - sh)) >> 1;
}

static inline bool ref_note(uint32_t *flags, uint64_t bits) {
  *flags |= DT_XACC_ANY;
  if (((bits >> 52) & 0x7ff) == 0x7ff) {
    *flags |= (bits & ((UINT64_C(1) << 52) - 1))
                  ? DT_XACC_NAN
                  : (bits >> 63 ? DT_XACC_NINF : DT_XACC_PINF);
    return false;
  }
  if (bits != (UINT64_C(1) << 63))
    *flags |= DT_XACC_NONNEGZERO;
  return true;
}

/* dt__xacc_add_array as it was before the blocked kernels. */
static void ref_add_array(dt__xacc *a, const void *p, dt_dtype dt, int64_t n,
                          int64_t st) {
  static int64_t w[4][DT_XLIMBS];
  memset(w, 0, sizeof w);
  uint32_t flags = 0;
  uint64_t special = 0;
  int64_t done = 0;
  while (done < n) {
    int64_t m = n - done < REF_SAFE ? n - done : REF_SAFE;
    uint64_t nz = 0, neg = ~UINT64_C(0);
    const double *xd = (const double *)p + done * st;
    const float *xf = (const float *)p + done * st;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      uint64_t b[4];
      for (int k = 0; k < 4; k++) {
        double v = dt == DT_FLOAT64 ? xd[(i + k) * st] : xf[(i + k) * st];
        memcpy(&b[k], &v, 8);
      }
      for (int k = 0; k < 4; k++) {
        special |= (b[k] & REF_EXP_MASK) == REF_EXP_MASK;
        nz |= b[k] & ~REF_SIGN_BIT;
        neg &= b[k];
        ref_add_finite(w[k], b[k]);
      }
    }
    if (i > 0 && (nz || !(neg >> 63)))
      flags |= DT_XACC_NONNEGZERO;
    for (; i < m; i++) {
      double v = dt == DT_FLOAT64 ? xd[i * st] : xf[i * st];
      uint64_t b;
      memcpy(&b, &v, 8);
      if (ref_note(&flags, b))
        ref_add_finite(w[0], b);
    }
    if (special)
      for (int64_t q = 0; q < m; q++) {
        double v = dt == DT_FLOAT64 ? xd[q * st] : xf[q * st];
        uint64_t b;
        memcpy(&b, &v, 8);
        if (((b >> 52) & 0x7ff) == 0x7ff)
          ref_note(&flags, b);
      }
    if (m > 0)
      flags |= DT_XACC_ANY;
    done += m;
    dt__xacc t;
    for (int k = 0; k < 4; k++) {
      dt__xacc_init(&t);
      memcpy(t.limb, w[k], sizeof t.limb);
      dt__xacc_merge(a, &t);
      memset(w[k], 0, sizeof w[k]);
    }
  }
  a->flags |= flags;
}

/* ---- adversarial inputs ------------------------------------------------- */

static uint64_t mix_state;
static uint64_t mix_next(void) { /* splitmix64 */
  uint64_t z = (mix_state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double from_bits(uint64_t b) {
  double v;
  memcpy(&v, &b, 8);
  return v;
}

/* A finite double with a random sign and mantissa and a biased exponent
 * field in [lo, hi] (0 gives a subnormal). */
static double rand_double(int lo, int hi) {
  uint64_t r = mix_next();
  uint64_t e = (uint64_t)lo + (r >> 11) % (uint64_t)(hi - lo + 1);
  return from_bits((r & (UINT64_C(1) << 63)) | (e << 52) |
                   (mix_next() & ((UINT64_C(1) << 52) - 1)));
}

enum { NKINDS = 16 };
static const char *kind_name[NKINDS] = {
    "exponents within 8 binades",  "exponents within 40 binades",
    "exponents within 70 binades", "exponents within 130 binades",
    "any finite bits",             "huge cancellation (x, -x, tiny)",
    "subnormals",                  "subnormals and normals near DBL_MIN",
    "equal values (carries)",      "near overflow, cancelling",
    "tiny normals near 2^-1000",   "zeros of both signs",
    "negative zeros only",         "an infinity or NaN inside",
    "randn-like with zeros",       "powers of two near 2^1000"};

/* Fill v[0..n) with kind k, as doubles (float32 inputs are rounded from
 * them; kinds that need doubles' range degrade gracefully). */
static void fill_kind(int k, double *v, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    switch (k) {
    case 0: v[i] = rand_double(1020, 1027); break;
    case 1: v[i] = rand_double(1000, 1039); break;
    case 2: v[i] = rand_double(990, 1059); break;
    case 3: v[i] = rand_double(960, 1089); break;
    case 4: v[i] = rand_double(0, 2046); break;
    case 5:
      v[i] = i % 3 == 0   ? rand_double(1100, 1200)
             : i % 3 == 1 ? -v[i - 1]
                          : rand_double(900, 950);
      break;
    case 6: v[i] = rand_double(0, 0); break;
    case 7: v[i] = rand_double(0, 3); break;
    case 8: v[i] = i % 2 ? 0x1.fffffffffffffp+40 : 0x1.fffffep+20; break;
    case 9: v[i] = (i % 2 ? -1 : 1) * rand_double(2040, 2046); break;
    case 10: v[i] = rand_double(20, 90); break;
    case 11: v[i] = mix_next() % 3 ? 0.0 : -0.0; break;
    case 12: v[i] = -0.0; break;
    case 13:
      v[i] = rand_double(1000, 1050);
      if (i == n / 2)
        v[i] = (const double[]){INFINITY, -INFINITY, NAN}[mix_next() % 3];
      if (i == n / 3 && mix_next() % 2)
        v[i] = INFINITY;
      break;
    case 14:
      v[i] = mix_next() % 5 ? rand_double(1000, 1025) : 0.0;
      break;
    default: v[i] = ldexp(1.0, 990 + (int)(mix_next() % 33)); break;
    }
  }
}

/* Same flags and limbs, except where an infinity or NaN decides the result
 * alone: then the limbs (the reference adds those values to them as
 * garbage) and the zero-sign flag do not count. */
static int same_acc(dt__xacc a, dt__xacc b) {
  dt__xacc_normalize(&a);
  dt__xacc_normalize(&b);
  uint32_t sp = DT_XACC_NAN | DT_XACC_PINF | DT_XACC_NINF;
  if ((a.flags & sp) || (b.flags & sp))
    return (a.flags & ~(uint32_t)DT_XACC_NONNEGZERO) ==
           (b.flags & ~(uint32_t)DT_XACC_NONNEGZERO);
  return a.flags == b.flags &&
         memcmp(a.limb, b.limb, sizeof a.limb) == 0;
}

/* The blocked kernel against the reference: every kind, float32 and
 * float64, odd lengths, misaligned starts, strides 1 and 3, every vector
 * path. Local to each rank (no collective). */
static void t_kernel_vs_reference(void) {
  enum { NMAX = 5000 * 3 + 8 };
  double *v = malloc(sizeof(double) * NMAX);
  float *f = malloc(sizeof(float) * NMAX);
  const int64_t lens[] = {1, 15, 16, 17, 2047, 2048, 2049, 4999};
  int bad = 0, checked = 0;
  mix_state = 12345;
  for (int k = 0; k < NKINDS; k++)
    for (int li = 0; li < 8; li++)
      for (int st = 1; st <= 3; st += 2)
        for (int off = 0; off < 2; off++) {
          int64_t n = lens[li];
          fill_kind(k, v, NMAX);
          for (int64_t i = 0; i < NMAX; i++)
            f[i] = (float)v[i];
          for (int f32 = 0; f32 < 2; f32++) {
            const void *p = f32 ? (const void *)(f + off)
                                : (const void *)(v + off);
            dt_dtype dt = f32 ? DT_FLOAT32 : DT_FLOAT64;
            dt__xacc want, got;
            dt__xacc_init(&want);
            ref_add_array(&want, p, dt, n, st);
            for (int isa = DT_ISA_AVX512; isa >= DT_ISA_PORTABLE; isa--) {
              dt__isa_set_cap(isa);
              dt__xacc_init(&got);
              /* in two pieces, as the threads and rows of a shard do */
              int64_t h = n / 3;
              dt__xacc_add_array(&got, p, dt, h, st);
              dt__xacc_add_array(&got,
                                 (const char *)p + h * st *
                                                       (int64_t)dt_dtype_size(dt),
                                 dt, n - h, st);
              checked++;
              if (!same_acc(got, want)) {
                if (bad++ < 5)
                  fprintf(stderr,
                          "xacc %s %s n=%lld st=%d off=%d isa=%d differs\n",
                          kind_name[k], f32 ? "float32" : "float64",
                          (long long)n, st, off, isa);
              }
              /* and so the rounded results */
              CU_ASSERT(same_double(dt__xacc_round(&got, dt),
                                    dt__xacc_round(&want, dt)));
            }
            dt__isa_set_cap(-1);
          }
        }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(checked == NKINDS * 8 * 2 * 2 * 2 * 3);
  free(v);
  free(f);
}

/* dt_sum of n values (given as doubles, stored as dt) in every layout, 1 and
 * 2 threads, every vector path: the reference accumulator's rounding. */
static void check_sum_dt(const double *v, int64_t n, dt_dtype dt,
                         const char *what) {
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++)
    f[i] = (float)v[i];
  const void *data = dt == DT_FLOAT32 ? (const void *)f : (const void *)v;
  dt__xacc ref;
  dt__xacc_init(&ref);
  ref_add_array(&ref, data, dt, n, 1);
  double want = dt__xacc_round(&ref, dt);
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
    for (int th = 1; th <= 2; th++)
      for (int isa = DT_ISA_AVX512; isa >= DT_ISA_PORTABLE; isa -= 2) {
        omp_set_num_threads(th);
        dt__isa_set_cap(isa);
        dt_test_cuts cuts;
        dt_opts o = dt_test_layout(k == 4 ? 0 : k, 1, &n, &cuts, NULL);
        dt_tensor *t = NULL, *s = NULL;
        T_OK(dt_from_data(T_ctx, 1, &n, data, dt, DT_ALL_RANKS, &o, &t));
        T_OK(dt_sum(t, &s));
        double got = !s                   ? -1
                     : dt == DT_FLOAT32 ? *(float *)dt_local_data(s)
                                          : *(double *)dt_local_data(s);
        int ok = same_double(got, want);
        CU_ASSERT(ok);
        if (!ok && T_rank == 0)
          fprintf(stderr, "sum %s %s: got %a want %a (layout %d, %d threads)\n",
                  what, dt_dtype_name(dt), got, want, k, th);
        dt_tensor_destroy(&s);
        dt_tensor_destroy(&t);
      }
  dt__isa_set_cap(-1);
  omp_set_num_threads(1);
  free(f);
}

/* Every adversarial kind through dt_sum at this rank count, compared with
 * the reference accumulator (long enough for two threads to share it). */
static void t_blocked_sums(void) {
  const int64_t n = 70001;
  double *v = malloc(sizeof(double) * (size_t)n);
  mix_state = 777;
  for (int k = 0; k < NKINDS; k++) {
    fill_kind(k, v, n);
    check_sum_dt(v, n, DT_FLOAT64, kind_name[k]);
    check_sum_dt(v, n, DT_FLOAT32, kind_name[k]);
  }
  free(v);
}

/* 10^7 equal values: every limb carries many times over. */
static void t_ten_million_equal(void) {
  const int64_t n = 10000000;
  for (int f32 = 0; f32 < 2; f32++) {
    dt_dtype dt = f32 ? DT_FLOAT32 : DT_FLOAT64;
    double x = f32 ? (double)0x1.fffffep-3f : 0x1.fffffffffffffp-3;
    /* n x is exact in the limbs; its rounding is the reference's */
    dt__xacc ref;
    dt__xacc_init(&ref);
    for (int64_t i = 0; i < 1000; i++)
      dt__xacc_add(&ref, x);
    dt__xacc copy = ref;
    for (int rep = 1; rep < 10000; rep++) /* 10^3 x 10^4 */
      dt__xacc_merge(&ref, &copy);
    double want = dt__xacc_round(&ref, dt);
    CU_ASSERT(want != 0 && want == (f32 ? (double)(float)(n * x) : n * x));
    for (int th = 1; th <= 2; th++) {
      omp_set_num_threads(th);
      dt_tensor *t = NULL, *s = NULL;
      T_OK(dt_full(T_ctx, 1, &n, DT_F(x), &(dt_opts){.dtype = dt}, &t));
      T_OK(dt_sum(t, &s));
      double got = !s    ? -1
                   : f32 ? *(float *)dt_local_data(s)
                         : *(double *)dt_local_data(s);
      CU_ASSERT(same_double(got, want));
      dt_tensor_destroy(&s);
      dt_tensor_destroy(&t);
    }
    omp_set_num_threads(1);
  }
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

/* dt_sum agrees once (one MPI_Allreduce carries the agreement and the
 * limbs), and that agreement keeps dt__agree's rules: sums, a differing
 * hash (even one with the same sum of pieces) and a failure on one rank. */
static void t_one_agreement(void) {
  const int64_t one = 1, big = 100000;
  for (int k = 0; k < 2; k++) {
    dt_tensor *t = NULL, *s = NULL;
    T_OK(dt_ones(T_ctx, 1, k ? &big : &one,
                 &(dt_opts){.dtype = k ? DT_FLOAT64 : DT_FLOAT32}, &t));
    dt__fault_arm(DT__FAULT_AGREE, 1000000000L); /* count, never fire */
    T_OK(dt_sum(t, &s));
    long agreements = dt__fault_count(DT__FAULT_AGREE);
    dt__fault_disarm();
    CU_ASSERT_EQUAL(agreements, 1);
    CU_ASSERT(s && (k ? *(double *)dt_local_data(s) == 100000.0
                      : *(float *)dt_local_data(s) == 1.0f));
    dt_tensor_destroy(&s);
    dt_tensor_destroy(&t);
  }
  MPI_Comm w = MPI_COMM_WORLD;
  int64_t buf[3 + DT_AGREE_SUM_EXTRA];
  buf[0] = T_rank + 1;
  buf[1] = -1;
  buf[2] = INT64_C(1) << 40;
  T_OK(dt__agree_sum(w, DT_OK, 0xfeedface12345678u, buf, 3));
  CU_ASSERT(buf[0] == (int64_t)T_size * (T_size + 1) / 2 &&
            buf[1] == -T_size && buf[2] == (int64_t)T_size << 40);
  /* hashes 1, 3, 2, 2...: at two ranks the same sum as 2, 2 */
  uint64_t h = T_rank == 0 ? 1 : T_rank == 1 ? 3 : 2;
  dt_err e = dt__agree_sum(w, DT_OK, h << 48 | 7, buf, 3);
  CU_ASSERT_EQUAL(e, T_size > 1 ? DT_ERR_MISMATCH : DT_OK);
  dt_err mine = T_rank == T_size - 1
                    ? dt__error(DT_ERR_SHAPE, "a local failure")
                    : DT_OK;
  e = dt__agree_sum(w, mine, 0, buf, 3);
  CU_ASSERT_EQUAL(e, DT_ERR_SHAPE);
  CU_ASSERT(strstr(dt_last_error(), "a local failure") != NULL);
}

static const dt_test_case cases[] = {
    {"adversarial sums equal math.fsum", t_adversarial},
    {"random mixed magnitudes", t_random_mixed},
    {"float32 rounding and exact means", t_float32_and_mean},
    {"large tensors: every layout and thread count", t_large_invariance},
    {"matmul's cross-rank gradient is exact", t_matmul_grad_exact},
    {"blocked kernel = reference limbs, every path", t_kernel_vs_reference},
    {"adversarial kinds through dt_sum", t_blocked_sums},
    {"ten million equal values", t_ten_million_equal},
    {"dt_sum agrees once, with dt__agree's rules", t_one_agreement},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "exact", cases);
}
