/*
 * test_fill - the fill kernels of the non-random factories (src/fill.c) at
 * 1-4 ranks.
 *
 * Kernels: every kernel on every instruction-set path (portable, AVX2,
 * AVX-512 where the CPU has them), with normal and non-temporal stores, at
 * odd lengths and misaligned starts, equals a scalar formula written here
 * bitwise and leaves the bytes around its output alone.
 *
 * Factories: zeros, ones, full, eye, arange, linspace and logspace, at odd
 * lengths, several dtypes, the default split and uneven cuts (rank 0
 * empty), gathered, equal bitwise the values torch's formulas give
 * (computed here element by element) on the portable path and the default
 * one, with and without non-temporal stores forced.
 */
#include "dt_test.h"
#include "fill.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* ---- the kernels ----------------------------------------------------------
 */

enum { KMAX = 1100, PAD = 16 };
static const int64_t klens[] = {0,  1,  2,  5,  15,  16,  17,
                                31, 63, 64, 65, 129, 1031};
static const int koffs[] = {0, 1, 3, 7, 8, 15};

/* buf: PAD sentinel elements, the output, PAD sentinels (8-byte slots). */
static unsigned char *kbuf(void) {
  void *p = NULL;
  return posix_memalign(&p, 64, (KMAX + 3 * PAD) * 8) ? NULL : p;
}

static void ksentinel(unsigned char *b) {
  memset(b, 0xA5, (KMAX + 3 * PAD) * 8);
}

/* The output at byte offset `off` of n elements of esz bytes equals want,
 * and no byte outside it changed. */
static int kcheck(const unsigned char *b, size_t off, size_t esz, int64_t n,
                  const void *want) {
  size_t end = off + (size_t)n * esz, total = (KMAX + 3 * PAD) * 8;
  for (size_t i = 0; i < off; i++)
    if (b[i] != 0xA5)
      return 0;
  for (size_t i = end; i < total; i++)
    if (b[i] != 0xA5)
      return 0;
  return memcmp(b + off, want, (size_t)n * esz) == 0;
}

static void t_kernels(void) {
  unsigned char *b = kbuf();
  CU_ASSERT_PTR_NOT_NULL_FATAL(b);
  union {
    double d[KMAX];
    float f[KMAX];
    int64_t l[KMAX];
    int32_t i[KMAX];
    uint8_t c[KMAX];
  } want;
  const struct {
    double a, b;
    int64_t x0;
  } lf[] = {{0.1, 0.3, 5},
            {-7.25, 1e-3, 123456789},
            {3.0, -1.0 / 3.0, 2000},
            {1e300, 1e299, 1500},
            {1.0, INFINITY, 0}};
  int fails = 0;
  for (int cap = DT_ISA_PORTABLE; cap <= DT_ISA_AVX512; cap++) {
    dt__isa_set_cap(cap);
    for (int nt = 0; nt < 2; nt++)
      for (size_t li = 0; li < sizeof klens / sizeof *klens; li++)
        for (size_t oi = 0; oi < sizeof koffs / sizeof *koffs; oi++) {
          int64_t n = klens[li];
          size_t o8 = (size_t)(PAD + koffs[oi]) * 8,
                 o4 = (size_t)PAD * 8 + 4 * (size_t)koffs[oi];
          /* patterns of 1, 4 and 8 bytes */
          const unsigned char e8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
          for (size_t esz = 1; esz <= 8; esz *= 2) {
            if (esz == 2)
              continue;
            size_t off = (size_t)PAD * 8 + esz * (size_t)koffs[oi];
            for (int64_t i = 0; i < n; i++)
              memcpy(want.c + (size_t)i * esz, e8, esz);
            ksentinel(b);
            dt__fill_pattern(b + off, esz, e8, n, nt);
            fails += !kcheck(b, off, esz, n, &want);
          }
          for (size_t c = 0; c < sizeof lf / sizeof *lf; c++)
            for (int down = 0; down < 2; down++) {
              int64_t x0 = lf[c].x0 + (down ? n : 0);
              for (int64_t i = 0; i < n; i++) {
                int64_t x = down ? x0 - i : x0 + i;
                want.d[i] = down ? lf[c].a - lf[c].b * (double)x
                                 : lf[c].a + lf[c].b * (double)x;
              }
              ksentinel(b);
              dt__fill_lin_f64((double *)(void *)(b + o8), n, lf[c].a, lf[c].b,
                               (double)x0, down, nt);
              fails += !kcheck(b, o8, 8, n, &want);
              for (int64_t i = 0; i < n; i++) {
                int64_t x = down ? x0 - i : x0 + i;
                want.f[i] = (float)(down ? lf[c].a - lf[c].b * (double)x
                                         : lf[c].a + lf[c].b * (double)x);
              }
              ksentinel(b);
              dt__fill_lin_f64_f32((float *)(void *)(b + o4), n, lf[c].a,
                                   lf[c].b, (double)x0, down, nt);
              fails += !kcheck(b, o4, 4, n, &want);
              float fa = (float)lf[c].a, fb = (float)lf[c].b;
              for (int64_t i = 0; i < n; i++) {
                int64_t x = down ? x0 - i : x0 + i;
                want.f[i] = down ? fa - fb * (float)x : fa + fb * (float)x;
              }
              ksentinel(b);
              dt__fill_lin_f32((float *)(void *)(b + o4), n, fa, fb, x0, down,
                               nt);
              fails += !kcheck(b, o4, 4, n, &want);
            }
          const uint64_t v0s[] = {0, (uint64_t)INT64_MAX - 5,
                                  0xfedcba9876543210u};
          const uint64_t ds[] = {1, 3, (uint64_t)-7, 0x100000001u};
          for (size_t v = 0; v < 3; v++)
            for (size_t d = 0; d < 4; d++) {
              for (int64_t i = 0; i < n; i++)
                want.l[i] = (int64_t)(v0s[v] + (uint64_t)i * ds[d]);
              ksentinel(b);
              dt__fill_step_i64((int64_t *)(void *)(b + o8), n, v0s[v], ds[d],
                                nt);
              fails += !kcheck(b, o8, 8, n, &want);
              for (int64_t i = 0; i < n; i++)
                want.i[i] = (int32_t)(uint32_t)(v0s[v] + (uint64_t)i * ds[d]);
              ksentinel(b);
              dt__fill_step_i32((int32_t *)(void *)(b + o4), n,
                                (uint32_t)v0s[v], (uint32_t)ds[d], nt);
              fails += !kcheck(b, o4, 4, n, &want);
            }
        }
  }
  dt__isa_set_cap(-1);
  CU_ASSERT_EQUAL(fails, 0);
  if (fails)
    fprintf(stderr, "[rank %d] %d kernel outputs differ\n", T_rank, fails);
  free(b);
}

/* pow_f32 against (float)pow on every path: exponents over the whole float
 * range and past it, exponents whose power lands on a float rounding
 * midpoint (the fallback), bases where the fast test does not apply. */
static void t_pow_f32(void) {
  enum { N = 20011 };
  double *x = malloc(N * sizeof *x);
  float *got = malloc(N * sizeof *got), *want = malloc(N * sizeof *want);
  CU_ASSERT_FATAL(x && got && want);
  const double bases[] = {10, 2, 0.5, 3.7, 1e-3, 1, 0, -2, INFINITY, 1e300};
  int fails = 0;
  for (size_t bi = 0; bi < sizeof bases / sizeof *bases; bi++) {
    double base = bases[bi];
    for (int i = 0; i < N; i++) {
      if (i % 5 == 4 && base > 0 && base != 1 && isfinite(base)) {
        /* log_base of a midpoint between two floats near 2^(i % 250 - 125) */
        float f = ldexpf(1.0f + (float)(i % 977) / 1024.0f, i % 250 - 125);
        double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
        x[i] = log(mid) / log(base);
      } else {
        x[i] = -140.0 + 280.0 * (double)i / N; /* past both float ends */
        if (base == 10 || base == 1e300)
          x[i] /= 3.0;
      }
    }
    x[7] = NAN;
    x[8] = 0;
    x[9] = -0.0;
    for (int i = 0; i < N; i++)
      want[i] = (float)pow(base, x[i]);
    for (int cap = DT_ISA_PORTABLE; cap <= DT_ISA_AVX512; cap++) {
      dt__isa_set_cap(cap);
      for (int off = 0; off < 3; off++) {
        dt__fill_pow_f32(got + off, x + off, N - off, base);
        fails += memcmp(got + off, want + off, (N - off) * sizeof *got) != 0;
      }
    }
  }
  dt__isa_set_cap(-1);
  CU_ASSERT_EQUAL(fails, 0);
  free(x);
  free(got);
  free(want);
}

/* pow_f32 in long runs, on the vector paths (the portable one calls pow
 * for every element, as `want` does): a million exponents per case, the
 * cases dealt round the ranks, each run at an odd length from a misaligned
 * start. Cases: evenly spaced exponents across the whole float range and
 * past its ends (t = x log2(base) in [-130, 130]); the edges |t| in [124,
 * 129]; exact powers (integer and k/8 exponents of 2, 10, 0.5); negative
 * exponents only; exponents whose powers sit on or next to a float
 * rounding midpoint; a logspace's own exponents (a + step k). */
static double pcase_x(int c, double lb, int64_t i, int64_t n) {
  double q = (double)i / (double)n;
  switch (c % 6) {
  case 0: /* whole range and past it */
    return (-130.0 + 260.0 * q) / lb;
  case 1: /* the edges */
    return (i % 2 ? 124.0 + 5.0 * q : -129.0 + 5.0 * q) / lb;
  case 2: /* integer exponents, then k/8 */
    return i % 2 ? (double)(i % 261 - 130) : (double)(i % 2081 - 1040) / 8;
  case 3: /* negative exponents only */
    return -q * 126.0 / fabs(lb);
  case 4: { /* on and around float midpoints */
    float f =
        ldexpf(1.0f + (float)(i % 8388608) * 0x1p-23f, (int)(i % 251) - 125);
    double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
    double v = log2(mid) / lb;
    return i % 3 == 0 ? v : i % 3 == 1 ? nextafter(v, 0) : nextafter(v, 1e9);
  }
  default: { /* a logspace's own exponents, s + step k, |t| <= 123 */
    double s = -123.0 / fabs(lb), step = 246.0 / fabs(lb) / (double)(n - 1);
    return s + step * (double)i;
  }
  }
}

/* Under ASan (the asan stage checks memory, the main stage the values) a
 * tenth of the length: the run is most of test_fill's time there. */
#ifdef __SANITIZE_ADDRESS__
enum { PLONG = 100003 };
#else
enum { PLONG = 1000003 };
#endif

static void t_pow_f32_long(void) {
  enum { N = PLONG };
  double *x = malloc(N * sizeof *x);
  float *got = malloc(N * sizeof *got), *want = malloc(N * sizeof *want);
  CU_ASSERT_FATAL(x && got && want);
  const double bases[] = {10, 2, 2.718281828459045, 0.5, 3.7, 1e-3};
  const int nb = sizeof bases / sizeof *bases, ncase = 6 * nb;
  int fails = 0, ran = 0;
  for (int c = T_rank; c < ncase; c += T_size) {
    double base = bases[c / 6];
    double lb = log2(base);
    if (c % 6 == 2 && base != 2 && base != 10 && base != 0.5)
      continue; /* exact powers: the bases that have them */
    for (int64_t i = 0; i < N; i++)
      x[i] = pcase_x(c, lb, i, N);
    for (int64_t i = 0; i < N; i++)
      want[i] = (float)pow(base, x[i]);
    int off = 1 + c % 7;
    int64_t n = N - off - c % 4; /* odd and even lengths, misaligned */
    for (int cap = DT_ISA_AVX2; cap <= DT_ISA_AVX512; cap++) {
      dt__isa_set_cap(cap);
      memset(got, 0, N * sizeof *got);
      dt__fill_pow_f32(got + off, x + off, n, base);
      if (memcmp(got + off, want + off, (size_t)n * sizeof *got)) {
        fails++;
        for (int64_t i = off; i < off + n; i++)
          if (memcmp(got + i, want + i, sizeof *got)) {
            fprintf(stderr,
                    "[rank %d] pow_f32 cap %d base %.17g x %.17g: %a, pow "
                    "%a\n",
                    T_rank, cap, base, x[i], (double)got[i], (double)want[i]);
            break;
          }
      }
    }
    ran++;
  }
  dt__isa_set_cap(-1);
  CU_ASSERT_EQUAL(fails, 0);
  CU_ASSERT(ran > 0);
  free(x);
  free(got);
  free(want);
}

/* ---- the factories --------------------------------------------------------
 */

typedef enum {
  C_ZEROS,
  C_ONES,
  C_FULL,
  C_EYE,
  C_ARANGE,
  C_LINSPACE,
  C_LOGSPACE
} cfac;

typedef struct fcase {
  cfac f;
  dt_dtype dtype;
  dt_scalar v0, v1, v2; /* full: v0; arange: start, end, step */
  double s, e, base;    /* linspace / logspace bounds */
} fcase;

/* Element count of the case at length n (arange: from its bounds). */
static int64_t fcase_make(const fcase *c, int64_t n, const dt_opts *o,
                          dt_tensor **t, int64_t *rows, int64_t *cols) {
  int64_t shape[1] = {n};
  *rows = n;
  *cols = 1;
  switch (c->f) {
  case C_ZEROS:
    T_OK(dt_zeros(T_ctx, 1, shape, o, t));
    return n;
  case C_ONES:
    T_OK(dt_ones(T_ctx, 1, shape, o, t));
    return n;
  case C_FULL:
    T_OK(dt_full(T_ctx, 1, shape, c->v0, o, t));
    return n;
  case C_EYE:
    *rows = n / 7 + 1;
    *cols = n % 2 ? 7 : 33;
    T_OK(dt_eye(T_ctx, *rows, *cols, o, t));
    return *rows * *cols;
  case C_ARANGE: {
    /* end = start + n * step, so the length is n */
    dt_scalar end = c->v0;
    if (end.kind == DT_FLOAT64)
      end.f = c->v0.f + (double)n * c->v2.f - c->v2.f / 2;
    else
      end.i = c->v0.i + n * c->v2.i;
    T_OK(dt_arange(T_ctx, c->v0, end, c->v2, o, t));
    return n;
  }
  case C_LINSPACE:
    T_OK(dt_linspace(T_ctx, c->s, c->e, n, o, t));
    return n;
  default:
    T_OK(dt_logspace(T_ctx, c->s, c->e, n, c->base, o, t));
    return n;
  }
}

/* Store double/int64 value into dtype as torch's cast does. */
static void put_f(void *out, dt_dtype dt, int64_t k, double v) {
  dt__convert((char *)out + k * (int64_t)dt_dtype_size(dt), dt, &v, DT_FLOAT64,
              1);
}
static void put_i(void *out, dt_dtype dt, int64_t k, int64_t v) {
  dt__convert((char *)out + k * (int64_t)dt_dtype_size(dt), dt, &v, DT_INT64,
              1);
}

/* The values torch's formulas give, element by element. */
static void fcase_ref(const fcase *c, int64_t n, int64_t rows, int64_t cols,
                      void *out) {
  dt_dtype dt = c->dtype;
  int64_t half = n / 2;
  for (int64_t k = 0; k < (c->f == C_EYE ? rows * cols : n); k++) {
    switch (c->f) {
    case C_ZEROS:
      put_i(out, dt, k, 0);
      break;
    case C_ONES:
      put_i(out, dt, k, 1);
      break;
    case C_FULL:
      dt__store_scalar((char *)out + k * (int64_t)dt_dtype_size(dt), dt, c->v0);
      break;
    case C_EYE:
      put_i(out, dt, k, k / cols == k % cols);
      break;
    case C_ARANGE:
      if (c->v0.kind == DT_INT64)
        put_i(out, dt, k,
              (int64_t)((uint64_t)c->v0.i + (uint64_t)k * (uint64_t)c->v2.i));
      else
        put_f(out, dt, k, c->v0.f + (double)k * c->v2.f);
      break;
    case C_LINSPACE:
      if (dt == DT_FLOAT32) {
        float s = (float)c->s, e = (float)c->e;
        float st = n > 1 ? (e - s) / (float)(n - 1) : 0;
        float x = n == 1     ? s
                  : k < half ? s + st * (float)k
                             : e - st * (float)(n - 1 - k);
        memcpy((float *)out + k, &x, 4);
      } else {
        double s = c->s, e = c->e;
        if (dt != DT_FLOAT64)
          s = trunc(s), e = trunc(e);
        double st = n > 1 ? (e - s) / (double)(n - 1) : 0;
        put_f(out, dt, k,
              n == 1     ? s
              : k < half ? s + st * (double)k
                         : e - st * (double)(n - 1 - k));
      }
      break;
    case C_LOGSPACE: {
      double s = c->s, e = c->e, base = c->base, st;
      if (dt == DT_FLOAT32) {
        float fs = (float)s, fe = (float)e;
        s = fs, e = fe;
        st = (double)(fe - fs) / (double)(n - 1);
      } else if (dt == DT_FLOAT64) {
        st = (e - s) / (double)(n - 1);
      } else {
        s = trunc(s), e = trunc(e);
        st = (e - s) / (double)(n - 1);
        base = (float)base;
      }
      double x = k < half ? s + st * (double)k : e - st * (double)(n - 1 - k);
      put_f(out, dt, k, n == 1 ? pow(c->base, c->s) : pow(base, x));
      break;
    }
    }
  }
}

static const fcase fcases[] = {
    {C_ZEROS, DT_FLOAT32, {0}, {0}, {0}, 0, 0, 0},
    {C_ZEROS, DT_BOOL, {0}, {0}, {0}, 0, 0, 0},
    {C_ONES, DT_FLOAT32, {0}, {0}, {0}, 0, 0, 0},
    {C_ONES, DT_FLOAT64, {0}, {0}, {0}, 0, 0, 0},
    {C_ONES, DT_INT32, {0}, {0}, {0}, 0, 0, 0},
    {C_ONES, DT_INT64, {0}, {0}, {0}, 0, 0, 0},
    {C_ONES, DT_BOOL, {0}, {0}, {0}, 0, 0, 0},
    {C_FULL, DT_FLOAT64, DT_F(-2.5), {0}, {0}, 0, 0, 0},
    {C_FULL, DT_FLOAT32, DT_F(0.1), {0}, {0}, 0, 0, 0},
    {C_FULL, DT_INT32, DT_I(-123457), {0}, {0}, 0, 0, 0},
    {C_EYE, DT_FLOAT32, {0}, {0}, {0}, 0, 0, 0},
    {C_EYE, DT_INT64, {0}, {0}, {0}, 0, 0, 0},
    {C_ARANGE, DT_FLOAT64, DT_F(-3.5), {0}, DT_F(0.37), 0, 0, 0},
    {C_ARANGE, DT_FLOAT32, DT_F(-3.5), {0}, DT_F(0.37), 0, 0, 0},
    {C_ARANGE, DT_FLOAT32, DT_F(1e7), {0}, DT_F(-1.25e-3), 0, 0, 0},
    {C_ARANGE, DT_INT64, DT_I(-5), {0}, DT_I(3), 0, 0, 0},
    {C_ARANGE, DT_INT32, DT_I(4000000000), {0}, DT_I(-7), 0, 0, 0},
    {C_ARANGE, DT_FLOAT64, DT_I(-5), {0}, DT_I(3), 0, 0, 0},
    {C_ARANGE, DT_FLOAT32, DT_I(16777211), {0}, DT_I(1), 0, 0, 0},
    {C_ARANGE,
     DT_FLOAT32,
     DT_I(((int64_t)1 << 60) + 1),
     {0},
     DT_I(99),
     0,
     0,
     0},
    {C_LINSPACE, DT_FLOAT32, {0}, {0}, {0}, -1.7, 2.9, 0},
    {C_LINSPACE, DT_FLOAT64, {0}, {0}, {0}, -1.7, 2.9, 0},
    {C_LINSPACE, DT_FLOAT64, {0}, {0}, {0}, 1e308, -1e308, 0},
    {C_LINSPACE, DT_INT64, {0}, {0}, {0}, -3.5, 1000.7, 0},
    {C_LINSPACE, DT_INT32, {0}, {0}, {0}, 7, -7, 0},
    {C_LOGSPACE, DT_FLOAT32, {0}, {0}, {0}, 0, 2, 10},
    {C_LOGSPACE, DT_FLOAT64, {0}, {0}, {0}, -1.5, 3.25, 2},
    {C_LOGSPACE, DT_INT64, {0}, {0}, {0}, 0, 3, 10},
};

static void t_factories(void) {
  const int64_t lens[] = {1, 2, 7, 33, 1001, 4099};
  int fails = 0;
  for (size_t ci = 0; ci < sizeof fcases / sizeof *fcases; ci++)
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
      const fcase *c = &fcases[ci];
      /* a long run (two threads, streamed) for one case of each kind */
      int64_t n = lens[li] == 4099 && ci % 3 == 0 ? 70001 : lens[li];
      void *want = NULL;
      size_t nbytes = 0;
      for (int mode = 0; mode < 4; mode++) {
        dt__isa_set_cap(mode % 2 ? -1 : DT_ISA_PORTABLE);
        dt__fill_set_stream_min(mode / 2 ? 1 : 0);
        for (int k = 0; k < 4; k += 3) { /* default split; cuts, rank 0 empty */
          int64_t shape[1] = {n};
          dt_test_cuts cuts;
          dt_opts o = dt_test_layout(k, 1, shape, &cuts, NULL);
          o.dtype = c->dtype;
          if (c->f == C_EYE) /* 2-D: the default split */
            o = (dt_opts){.dtype = c->dtype};
          dt_tensor *t = NULL;
          int64_t rows, cols;
          int64_t numel = fcase_make(c, n, &o, &t, &rows, &cols);
          if (!t)
            continue;
          CU_ASSERT_EQUAL(dt_numel(t), numel);
          if (!want) {
            nbytes = (size_t)numel * dt_dtype_size(c->dtype);
            want = calloc(nbytes + 1, 1);
            fcase_ref(c, n, rows, cols, want);
          }
          void *got = dt_test_gather_all(t);
          int same = got && dt_numel(t) == numel &&
                     dt_test_same_bits(got, want, nbytes);
          fails += !same;
          if (!same)
            fprintf(stderr,
                    "[rank %d] case %zu (%s) n=%lld layout %d mode %d "
                    "differs\n",
                    T_rank, ci, dt_dtype_name(c->dtype), (long long)n, k, mode);
          free(got);
          dt_tensor_destroy(&t);
        }
      }
      free(want);
    }
  dt__isa_set_cap(-1);
  dt__fill_set_stream_min(0);
  CU_ASSERT_EQUAL(fails, 0);
}

static const dt_test_case cases[] = {
    {"kernels equal a scalar formula on every path", t_kernels},
    {"pow_f32 equals (float)pow on every path", t_pow_f32},
    {"pow_f32 equals (float)pow in long runs on the vector paths",
     t_pow_f32_long},
    {"factories equal torch's formulas on every path and layout", t_factories},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "fill", cases);
}
