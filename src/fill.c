/*
 * fill.c - the kernels behind zeros/ones/full/arange/linspace/logspace (see
 * fill.h). Every kernel is a portable loop plus an AVX2 and an AVX-512 body
 * for the 64-byte-aligned middle of the output; the portable loop writes
 * the unaligned head and the tail, and all of the output when
 * dt__isa_level() says DT_ISA_PORTABLE. The vector bodies compute each
 * element with the very operations of the portable loop (IEEE add, sub,
 * mul, conversions in round-to-nearest; -ffp-contract=off keeps the
 * compiler from fusing them), so the bits are the same on every path;
 * tests/test_fill.c checks it. The exception is pow_f32, whose vector
 * bodies use FMA in an approximation that only keeps what provably equals
 * pow's rounding (its comment has the proof).
 *
 * Sequence indices are carried as exact integers in double (or int32)
 * lanes and stepped by the lane count, which is exact below 2^53 (2^31):
 * callers guarantee the range (fill.h), so no lane converts a 64-bit
 * integer.
 *
 * Non-temporal stores: a shard bigger than the last-level cache cannot stay
 * in it, so reading each line before writing it (what a normal store does)
 * only costs bandwidth. Smaller shards keep normal stores: their consumer
 * finds them in cache.
 */
#include "fill.h"
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* ---- when to stream ------------------------------------------------------ */

static atomic_size_t stream_override; /* test hook; 0 = the LLC size */
static atomic_size_t llc_cached;      /* 0 before the first query */

static size_t llc_bytes(void) {
  size_t v = atomic_load_explicit(&llc_cached, memory_order_relaxed);
  if (v)
    return v;
  long s = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
  s = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (s <= 0)
    s = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  v = s > 0 ? (size_t)s : (size_t)32 << 20; /* unknown: a server's L3 */
  atomic_store(&llc_cached, v);
  return v;
}

bool dt__fill_streams(size_t bytes) {
  size_t o = atomic_load_explicit(&stream_override, memory_order_relaxed);
  return bytes > (o ? o : llc_bytes());
}

void dt__fill_set_stream_min(size_t bytes) {
  atomic_store(&stream_override, bytes);
}

/* ---- the portable loops (the reference for every path) ------------------- */

static void pattern_ref(void *out, size_t esz, const void *elem, int64_t n) {
  if (esz == 8) {
    uint64_t v, *q = out;
    memcpy(&v, elem, 8);
    for (int64_t i = 0; i < n; i++)
      q[i] = v;
  } else if (esz == 4) {
    uint32_t v, *q = out;
    memcpy(&v, elem, 4);
    for (int64_t i = 0; i < n; i++)
      q[i] = v;
  } else {
    memset(out, *(const unsigned char *)elem, (size_t)n);
  }
}

static void lin_f64_ref(double *o, int64_t n, double a, double b, double x0,
                        bool down) {
  if (down)
    for (int64_t i = 0; i < n; i++)
      o[i] = a - b * (x0 - (double)i);
  else
    for (int64_t i = 0; i < n; i++)
      o[i] = a + b * (x0 + (double)i);
}

static void lin_f64_f32_ref(float *o, int64_t n, double a, double b, double x0,
                            bool down) {
  if (down)
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)(a - b * (x0 - (double)i));
  else
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)(a + b * (x0 + (double)i));
}

static void lin_f32_ref(float *o, int64_t n, float a, float b, int64_t x0,
                        bool down) {
  if (down)
    for (int64_t i = 0; i < n; i++)
      o[i] = a - b * (float)(x0 - i);
  else
    for (int64_t i = 0; i < n; i++)
      o[i] = a + b * (float)(x0 + i);
}

static void step_i64_ref(int64_t *o, int64_t n, uint64_t v0, uint64_t d) {
  for (int64_t i = 0; i < n; i++)
    o[i] = (int64_t)(v0 + (uint64_t)i * d);
}

static void step_i32_ref(int32_t *o, int64_t n, uint32_t v0, uint32_t d) {
  for (int64_t i = 0; i < n; i++)
    o[i] = (int32_t)(v0 + (uint32_t)i * d);
}

/*
 * The vector paths write whole 64-byte lines from the first aligned one:
 * *head elements before it (scalar), *blocks lines, the rest after.
 * Nothing is vectorised for the portable path or a misaligned element.
 */
static bool split64(const void *p, size_t esz, int64_t n, int64_t *head,
                    int64_t *blocks) {
  *head = n;
  *blocks = 0;
  if (dt__isa_level() == DT_ISA_PORTABLE || (uintptr_t)p % esz != 0)
    return false;
  int64_t h = (int64_t)((64 - (uintptr_t)p % 64) % 64 / esz);
  int64_t per = (int64_t)(64 / esz);
  if (h > n)
    return false;
  *head = h;
  *blocks = (n - h) / per;
  return *blocks > 0;
}

/* ---- the vector bodies --------------------------------------------------- */

#if defined(__GNUC__) && defined(__x86_64__) && !defined(DT_NO_AVX2)
#include <immintrin.h>
#define DT_HAVE_VEC 1

/* One 64-byte line in GCC's generic vectors; AVX2 code splits each into two
 * 32-byte halves. */
typedef double v8d __attribute__((vector_size(64)));
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));
typedef uint64_t v8u __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64), may_alias));
typedef long long v4l __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));

#define DT_AVX2 __attribute__((target("avx2")))
#define DT_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

/* Store line v (any 64-byte vector) at the aligned p. */
#define PUT_AVX2(p, v, nt)                                                     \
  do {                                                                         \
    v8l w_ = (v8l)(v);                                                         \
    if (nt) {                                                                  \
      _mm256_stream_si256(                                                     \
          (__m256i *)(void *)(p),                                              \
          (__m256i)__builtin_shufflevector(w_, w_, 0, 1, 2, 3));               \
      _mm256_stream_si256(                                                     \
          (__m256i *)(void *)((char *)(p) + 32),                               \
          (__m256i)__builtin_shufflevector(w_, w_, 4, 5, 6, 7));               \
    } else {                                                                   \
      *(v8l *)(void *)(p) = w_;                                                \
    }                                                                          \
  } while (0)
#define PUT_AVX512(p, v, nt)                                                   \
  do {                                                                         \
    v8l w_ = (v8l)(v);                                                         \
    if (nt)                                                                    \
      _mm512_stream_si512((__m512i *)(void *)(p), (__m512i)w_);                \
    else                                                                       \
      *(v8l *)(void *)(p) = w_;                                                \
  } while (0)

static const v8d lane8 = {0, 1, 2, 3, 4, 5, 6, 7};
static const v16i lane16 = {0, 1, 2,  3,  4,  5,  6,  7,
                            8, 9, 10, 11, 12, 13, 14, 15};

/* pattern: one 64-byte line repeated */
DT_AVX2 static void pattern_avx2(char *o, int64_t blocks, const char *line,
                                 bool nt) {
  v8l w;
  memcpy(&w, line, 64);
  for (int64_t k = 0; k < blocks; k++, o += 64)
    PUT_AVX2(o, w, nt);
}
DT_AVX512 static void pattern_avx512(char *o, int64_t blocks, const char *line,
                                     bool nt) {
  v8l w;
  memcpy(&w, line, 64);
  for (int64_t k = 0; k < blocks; k++, o += 64)
    PUT_AVX512(o, w, nt);
}

/* lin_f64: 8 doubles a line. The AVX2 body works in 4-lane halves: GCC
 * compiles a loop-carried 8-lane vector for AVX2 through the stack (it was
 * half of float32 logspace's time on that path). */
#define PUT2_AVX2(p, lo, hi, nt)                                               \
  do {                                                                         \
    if (nt) {                                                                  \
      _mm256_stream_pd((p), (__m256d)(lo));                                    \
      _mm256_stream_pd((p) + 4, (__m256d)(hi));                                \
    } else {                                                                   \
      _mm256_store_pd((p), (__m256d)(lo));                                     \
      _mm256_store_pd((p) + 4, (__m256d)(hi));                                 \
    }                                                                          \
  } while (0)
DT_AVX2 static void lin_f64_avx2(double *o, int64_t blocks, double a, double b,
                                 double x0, bool down, bool nt) {
  const v4d lane4 = {0, 1, 2, 3};
  if (down)
    for (v4d x = x0 - lane4; blocks-- > 0; o += 8, x -= 8.0)
      PUT2_AVX2(o, a - b * x, a - b * (x - 4.0), nt);
  else
    for (v4d x = x0 + lane4; blocks-- > 0; o += 8, x += 8.0)
      PUT2_AVX2(o, a + b * x, a + b * (x + 4.0), nt);
}
DT_AVX512 static void lin_f64_avx512(double *o, int64_t blocks, double a,
                                     double b, double x0, bool down, bool nt) {
  if (down)
    for (v8d x = x0 - lane8; blocks-- > 0; o += 8, x -= 8.0)
      PUT_AVX512(o, a - b * x, nt);
  else
    for (v8d x = x0 + lane8; blocks-- > 0; o += 8, x += 8.0)
      PUT_AVX512(o, a + b * x, nt);
}

/* lin_f64_f32: 16 floats a line, from two lines of doubles */
#define F32_LINE(lo, hi)                                                       \
  __builtin_shufflevector(__builtin_convertvector(lo, v8f),                    \
                          __builtin_convertvector(hi, v8f), 0, 1, 2, 3, 4, 5,  \
                          6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
DT_AVX2 static void lin_f64_f32_avx2(float *o, int64_t blocks, double a,
                                     double b, double x0, bool down, bool nt) {
  if (down)
    for (v8d x = x0 - lane8; blocks-- > 0; o += 16, x -= 16.0)
      PUT_AVX2(o, F32_LINE(a - b * x, a - b * (x - 8.0)), nt);
  else
    for (v8d x = x0 + lane8; blocks-- > 0; o += 16, x += 16.0)
      PUT_AVX2(o, F32_LINE(a + b * x, a + b * (x + 8.0)), nt);
}
DT_AVX512 static void lin_f64_f32_avx512(float *o, int64_t blocks, double a,
                                         double b, double x0, bool down,
                                         bool nt) {
  if (down)
    for (v8d x = x0 - lane8; blocks-- > 0; o += 16, x -= 16.0)
      PUT_AVX512(o, F32_LINE(a - b * x, a - b * (x - 8.0)), nt);
  else
    for (v8d x = x0 + lane8; blocks-- > 0; o += 16, x += 16.0)
      PUT_AVX512(o, F32_LINE(a + b * x, a + b * (x + 8.0)), nt);
}

/* lin_f32: 16 floats a line, the index in int32 lanes */
DT_AVX2 static void lin_f32_avx2(float *o, int64_t blocks, float a, float b,
                                 int32_t x0, bool down, bool nt) {
  if (down)
    for (v16i k = x0 - lane16; blocks-- > 0; o += 16, k -= 16)
      PUT_AVX2(o, a - b * __builtin_convertvector(k, v16f), nt);
  else
    for (v16i k = x0 + lane16; blocks-- > 0; o += 16, k += 16)
      PUT_AVX2(o, a + b * __builtin_convertvector(k, v16f), nt);
}
DT_AVX512 static void lin_f32_avx512(float *o, int64_t blocks, float a, float b,
                                     int32_t x0, bool down, bool nt) {
  if (down)
    for (v16i k = x0 - lane16; blocks-- > 0; o += 16, k -= 16)
      PUT_AVX512(o, a - b * __builtin_convertvector(k, v16f), nt);
  else
    for (v16i k = x0 + lane16; blocks-- > 0; o += 16, k += 16)
      PUT_AVX512(o, a + b * __builtin_convertvector(k, v16f), nt);
}

/* step_i64 / step_i32: wrapping adds of the lane count times d */
DT_AVX2 static void step_i64_avx2(int64_t *o, int64_t blocks, uint64_t v0,
                                  uint64_t d, bool nt) {
  v8u v = v0 + (v8u){0, 1, 2, 3, 4, 5, 6, 7} * d;
  for (; blocks-- > 0; o += 8, v += 8 * d)
    PUT_AVX2(o, v, nt);
}
DT_AVX512 static void step_i64_avx512(int64_t *o, int64_t blocks, uint64_t v0,
                                      uint64_t d, bool nt) {
  v8u v = v0 + (v8u){0, 1, 2, 3, 4, 5, 6, 7} * d;
  for (; blocks-- > 0; o += 8, v += 8 * d)
    PUT_AVX512(o, v, nt);
}
DT_AVX2 static void step_i32_avx2(int32_t *o, int64_t blocks, uint32_t v0,
                                  uint32_t d, bool nt) {
  v16u v = v0 + (v16u)lane16 * d;
  for (; blocks-- > 0; o += 16, v += 16 * d)
    PUT_AVX2(o, v, nt);
}
DT_AVX512 static void step_i32_avx512(int32_t *o, int64_t blocks, uint32_t v0,
                                      uint32_t d, bool nt) {
  v16u v = v0 + (v16u)lane16 * d;
  for (; blocks-- > 0; o += 16, v += 16 * d)
    PUT_AVX512(o, v, nt);
}

/*
 * pow_f32: (float)pow(base, x) with pow's bits, calling pow only where its
 * rounding to float is not already decided.
 *
 * The approximation. t = x * 16L with L = log2(base) (libm, < 2 ulp; the
 * scaling by 16 is exact), so t is 16 x log2(base) to within |t| (2^-51 +
 * 2^-53) for |t| <= 2000 (|x log2(base)| <= 125); k = round(t) (the 1.5 *
 * 2^52 trick), r = t - k exactly, |r| <= 1/2; 2^(t/16) = 2^(k >> 4) *
 * 2^((k & 15)/16) * 2^(r/16): the middle factor from a table (rounded to
 * nearest), the last, e^(r ln2/16), by its Taylor series to degree 6,
 * written in r (c_j = (ln2/16)^j / j!, rounded to nearest) and evaluated
 * by Estrin's scheme with fused multiply-adds (r^2, r^4; c0 + c1 r, c2 +
 * c3 r, c4 + c5 r + c6 r^2; two more levels); the table entry multiplies
 * it, k >> 4 goes into the exponent field (exact: y is normal). The
 * errors, relative to y, u = ln2/32:
 *   truncation, |r ln2/16| <= u: u^7 / 7! e^u                 < 4.6e-16
 *   the error of t, times ln2/16: 2000 (2^-51 + 2^-53) ln2/16 < 4.9e-14
 *   evaluation: at most 7 roundings on any term's path (its coefficient,
 *   its FMAs, r^4's three), the table entry and the product: 9; the
 *   coefficients are positive, so the sum's condition is <= e^|u| / e^-|u|
 *   <= 1.05: 9 * 2^-53 * 1.05 (1 + tiny)                      < 1.1e-15
 * in all < 5.1e-14. libm's pow is within 1 ulp (< 2.3e-16 relative; glibc
 * documents 0.52 ulp), so |pow - y| < 5.2e-14 y.
 *
 * The test. A normal float result of v (double) is v rounded at bit 29 of
 * its 52-bit significand: the low 29 bits of y's bits, lo, count y's ulps
 * above the float below it, and the rounding boundary (the midpoint to the
 * next float) is at lo = 2^28. Lanes with lo in [2^28 - 2^17, 2^28 + 2^17)
 * (one add, one mask, one compare on the bits) call pow; on every other
 * lane the nearest midpoint in y's binade is at least 2^17 ulps = y 2^-36
 * (1.4e-11 y) away, those of the binades around it at least 2^27 ulps, so
 * pow's value, within 5.2e-14 y (over 250 times closer), rounds to f =
 * (float)y as well. Lanes with !(|t| <= 2000) (results near or past the
 * float range's ends, NaN) call pow too. About 2^18 / 2^29 = 1 lane in
 * 2048 calls pow.
 *
 * The loop body is a macro expanded in an AVX2+FMA function (the AVX2
 * level requires FMA, src/cpu.c, and AVX-512 CPUs have it) and an AVX-512
 * one: W lanes of VD (double), VU (64-bit unsigned), VF (float); FMA(a,
 * b, c) = a * b + c rounded once, c a scalar (FMAV: a vector); LOOKUP(k):
 * the table entries k & 15 (AVX-512: a two-register permute, AVX2: a
 * gather); BAD(w, at): the bit mask of the lanes that call pow, those with
 * w = lo - 2^28 + 2^17 mod 2^29 < 2^18 or !(at = |t| <= 2000). Unlike the
 * other bodies here it need not repeat the portable loop's operations (the
 * portable loop calls pow): what it keeps is provably pow's rounding.
 */
typedef uint64_t v4u __attribute__((vector_size(32)));
typedef int64_t v4s __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
#define DT_AVX2_FMA __attribute__((target("avx2,fma")))

static const double exp2_16th[16] __attribute__((aligned(64))) = {
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0,
    0x1.2387a6e756238p+0, 0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0,
    0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0, 0x1.6a09e667f3bcdp+0,
    0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0,
    0x1.ea4afa2a490dap+0};

#define POW_F32_BODY(W, VD, VU, VF, FMA, FMAV, LOOKUP, BAD)                    \
  do {                                                                         \
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */                  \
    const double L16 = 16 * L;                                                 \
    int64_t i = 0;                                                             \
    for (; i + W <= n; i += W) {                                               \
      VD xv;                                                                   \
      memcpy(&xv, x + i, sizeof xv);                                           \
      VD t = xv * L16;                                                         \
      VD kn = t + magic;                                                       \
      VD r = t - (kn - magic);                                                 \
      VD r2 = r * r, r4 = r2 * r2;                                             \
      VD q0 = FMA(r, (VD){} + 0x1.62e42fefa39efp-5, 1.0);                      \
      VD q1 = FMA(r, (VD){} + 0x1.c6b08d704a0c0p-17, 0x1.ebfbdff82c58fp-11);   \
      VD q2 = FMA(r, (VD){} + 0x1.5d87fe78a6731p-30, 0x1.3b2ab6fba4e77p-23);   \
      VD q3 = FMAV(r2, (VD){} + 0x1.430912f86c787p-37, q2);                    \
      VD p = FMAV(r4, q3, FMAV(r2, q1, q0));                                   \
      p = p * LOOKUP((VU)kn);                                                  \
      VU yb = (VU)p + (((VU)kn >> 4) << 52);                                   \
      VF f = __builtin_convertvector((VD)yb, VF);                              \
      VU w = (yb + ((1u << 28) + (1u << 17))) & ((1u << 29) - 1);              \
      VD at = (VD)((VU)t & 0x7fffffffffffffffu);                               \
      memcpy(o + i, &f, sizeof f);                                             \
      for (unsigned m = BAD(w, at); m; m &= m - 1) {                           \
        int l = __builtin_ctz(m);                                              \
        o[i + l] = (float)pow(base, x[i + l]);                                 \
      }                                                                        \
    }                                                                          \
    for (; i < n; i++)                                                         \
      o[i] = (float)pow(base, x[i]);                                           \
  } while (0)

DT_AVX2_FMA static inline v4d fma_avx2(v4d a, v4d b, double c) {
  return (v4d)_mm256_fmadd_pd((__m256d)a, (__m256d)b, _mm256_set1_pd(c));
}
DT_AVX2_FMA static inline v4d fmav_avx2(v4d a, v4d b, v4d c) {
  return (v4d)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
}
DT_AVX2_FMA static inline v4d lookup_avx2(v4u k) {
  return (v4d)_mm256_i64gather_pd(exp2_16th, (__m256i)(k & 15), 8);
}
DT_AVX2_FMA static inline unsigned bad_avx2(v4u w, v4d at) {
  v4s bad = ((v4s)w < (1 << 18)) | ~(at <= 2000.0);
  return (unsigned)_mm256_movemask_pd((__m256d)bad);
}
DT_AVX2_FMA static void pow_f32_avx2(float *o, const double *x, int64_t n,
                                     double base, double L) {
  POW_F32_BODY(4, v4d, v4u, v4f, fma_avx2, fmav_avx2, lookup_avx2, bad_avx2);
}

DT_AVX512 static inline v8d fma_avx512(v8d a, v8d b, double c) {
  return (v8d)_mm512_fmadd_pd((__m512d)a, (__m512d)b, _mm512_set1_pd(c));
}
DT_AVX512 static inline v8d fmav_avx512(v8d a, v8d b, v8d c) {
  return (v8d)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
}
DT_AVX512 static inline v8d lookup_avx512(v8u k) {
  return (v8d)_mm512_permutex2var_pd(_mm512_load_pd(exp2_16th), (__m512i)k,
                                     _mm512_load_pd(exp2_16th + 8));
}
DT_AVX512 static inline unsigned bad_avx512(v8u w, v8d at) {
  return _mm512_cmplt_epu64_mask((__m512i)w, _mm512_set1_epi64(1 << 18)) |
         _mm512_cmp_pd_mask((__m512d)at, _mm512_set1_pd(2000.0), _CMP_NLE_UQ);
}
DT_AVX512 static void pow_f32_avx512(float *o, const double *x, int64_t n,
                                     double base, double L) {
  POW_F32_BODY(8, v8d, v8u, v8f, fma_avx512, fmav_avx512, lookup_avx512,
               bad_avx512);
}

/* Non-temporal stores are weakly ordered: fence them before anyone (another
 * thread after the barrier, another rank) reads the shard. */
static void fence(bool nt) {
  if (nt)
    _mm_sfence();
}
#define AVX512_OR_AVX2(name, ...)                                              \
  (dt__isa_level() >= DT_ISA_AVX512 ? name##_avx512(__VA_ARGS__)               \
                                    : name##_avx2(__VA_ARGS__))
#else
#define DT_HAVE_VEC 0
static void fence(bool nt) { (void)nt; }
#endif

/* ---- the entry points ---------------------------------------------------- */

void dt__fill_pattern(void *out, size_t esz, const void *elem, int64_t n,
                      bool nt) {
  int64_t h, blocks;
  char *o = out;
  if (DT_HAVE_VEC && split64(out, esz, n, &h, &blocks)) {
#if DT_HAVE_VEC
    char line[64];
    for (size_t k = 0; k < 64; k += esz)
      memcpy(line + k, elem, esz);
    pattern_ref(o, esz, elem, h);
    AVX512_OR_AVX2(pattern, o + h * (int64_t)esz, blocks, line, nt);
    int64_t done = h + blocks * (int64_t)(64 / esz);
    pattern_ref(o + done * (int64_t)esz, esz, elem, n - done);
    fence(nt);
#endif
    return;
  }
  pattern_ref(out, esz, elem, n);
}

void dt__fill_lin_f64(double *out, int64_t n, double a, double b, double x0,
                      bool down, bool nt) {
  int64_t h, blocks;
  if (DT_HAVE_VEC && split64(out, 8, n, &h, &blocks)) {
#if DT_HAVE_VEC
    double dir = down ? -1.0 : 1.0;
    lin_f64_ref(out, h, a, b, x0, down);
    AVX512_OR_AVX2(lin_f64, out + h, blocks, a, b, x0 + dir * (double)h, down,
                   nt);
    int64_t done = h + blocks * 8;
    lin_f64_ref(out + done, n - done, a, b, x0 + dir * (double)done, down);
    fence(nt);
#endif
    return;
  }
  lin_f64_ref(out, n, a, b, x0, down);
}

void dt__fill_lin_f64_f32(float *out, int64_t n, double a, double b, double x0,
                          bool down, bool nt) {
  int64_t h, blocks;
  if (DT_HAVE_VEC && split64(out, 4, n, &h, &blocks)) {
#if DT_HAVE_VEC
    double dir = down ? -1.0 : 1.0;
    lin_f64_f32_ref(out, h, a, b, x0, down);
    AVX512_OR_AVX2(lin_f64_f32, out + h, blocks, a, b, x0 + dir * (double)h,
                   down, nt);
    int64_t done = h + blocks * 16;
    lin_f64_f32_ref(out + done, n - done, a, b, x0 + dir * (double)done, down);
    fence(nt);
#endif
    return;
  }
  lin_f64_f32_ref(out, n, a, b, x0, down);
}

void dt__fill_lin_f32(float *out, int64_t n, float a, float b, int64_t x0,
                      bool down, bool nt) {
  int64_t h, blocks;
  if (DT_HAVE_VEC && split64(out, 4, n, &h, &blocks)) {
#if DT_HAVE_VEC
    int64_t dir = down ? -1 : 1;
    lin_f32_ref(out, h, a, b, x0, down);
    AVX512_OR_AVX2(lin_f32, out + h, blocks, a, b, (int32_t)(x0 + dir * h),
                   down, nt);
    int64_t done = h + blocks * 16;
    lin_f32_ref(out + done, n - done, a, b, x0 + dir * done, down);
    fence(nt);
#endif
    return;
  }
  lin_f32_ref(out, n, a, b, x0, down);
}

void dt__fill_step_i64(int64_t *out, int64_t n, uint64_t v0, uint64_t d,
                       bool nt) {
  int64_t h, blocks;
  if (DT_HAVE_VEC && split64(out, 8, n, &h, &blocks)) {
#if DT_HAVE_VEC
    step_i64_ref(out, h, v0, d);
    AVX512_OR_AVX2(step_i64, out + h, blocks, v0 + (uint64_t)h * d, d, nt);
    int64_t done = h + blocks * 8;
    step_i64_ref(out + done, n - done, v0 + (uint64_t)done * d, d);
    fence(nt);
#endif
    return;
  }
  step_i64_ref(out, n, v0, d);
}

void dt__fill_step_i32(int32_t *out, int64_t n, uint32_t v0, uint32_t d,
                       bool nt) {
  int64_t h, blocks;
  if (DT_HAVE_VEC && split64(out, 4, n, &h, &blocks)) {
#if DT_HAVE_VEC
    step_i32_ref(out, h, v0, d);
    AVX512_OR_AVX2(step_i32, out + h, blocks, v0 + (uint32_t)h * d, d, nt);
    int64_t done = h + blocks * 16;
    step_i32_ref(out + done, n - done, v0 + (uint32_t)done * d, d);
    fence(nt);
#endif
    return;
  }
  step_i32_ref(out, n, v0, d);
}

void dt__fill_pow_f32(float *out, const double *x, int64_t n, double base) {
#if DT_HAVE_VEC
  /* the fast test needs a positive base other than 1 (finite log2) */
  if (dt__isa_level() != DT_ISA_PORTABLE && base > 0 && base != 1 &&
      isfinite(base)) {
    double L = log2(base);
    AVX512_OR_AVX2(pow_f32, out, x, n, base, L);
    return;
  }
#endif
  for (int64_t i = 0; i < n; i++)
    out[i] = (float)pow(base, x[i]);
}
