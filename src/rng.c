/*
 * rng.c - Philox4x32-10 and the uniform / normal / integer transforms.
 *
 * Everything here is a pure function of (seed, offset, global element
 * index, dtype); see dt_rand / dt_randn / dt_randint in dtensor.h for the
 * bit recipe. Elements are produced in "groups" of 16 Philox blocks aligned
 * to global indices: every element, wherever a shard or thread chunk starts,
 * goes through the same group code, and the transforms use only +, -, *, /,
 * sqrt and integer operations (no libm, no FMA since the build uses
 * -ffp-contract=off), so vector and scalar code give identical bits.
 * The AVX2 path (dt__isa_level() >= DT_ISA_AVX2) runs Philox on 8 lanes per
 * register and, for float64 and randint, explicit transforms that repeat
 * the scalar operations in order (int64 -> double, which AVX2 lacks, done
 * exactly through the exponent bias); float32 is left to the compiler.
 */
#include "internal.h"

#include <omp.h>
#include <string.h>

#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

/* Blocks per group: the vector loop runs over these lanes. */
#define LANES 16

void dt__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                       uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* Structure of arrays: x[w][lane] is word w of block b0 + lane. */
static inline void philox_group(uint64_t seed, uint64_t offset, uint64_t b0,
                                uint32_t x[4][LANES]) {
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  uint32_t o0 = (uint32_t)offset, o1 = (uint32_t)(offset >> 32);
  uint32_t c0[LANES], c1[LANES], c2[LANES], c3[LANES];
  for (int l = 0; l < LANES; l++) {
    uint64_t b = b0 + (uint64_t)l;
    c0[l] = (uint32_t)b;
    c1[l] = (uint32_t)(b >> 32);
    c2[l] = o0;
    c3[l] = o1;
  }
  for (int r = 0; r < 10; r++) {
#pragma omp simd
    for (int l = 0; l < LANES; l++) {
      uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
      uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
      uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
      uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = (uint32_t)p1;
      c3[l] = (uint32_t)p0;
      c0[l] = n0;
      c2[l] = n2;
    }
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  memcpy(x[0], c0, sizeof c0);
  memcpy(x[1], c1, sizeof c1);
  memcpy(x[2], c2, sizeof c2);
  memcpy(x[3], c3, sizeof c3);
}

/* ---- IEEE-only elementary functions ----------------------------------------
 */

static inline uint32_t asu32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float asf32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint64_t asu64(double f) {
  uint64_t u;
  memcpy(&u, &f, 8);
  return u;
}
static inline double asf64(uint64_t u) {
  double f;
  memcpy(&f, &u, 8);
  return f;
}

/* log of a positive normal float (musl/fdlibm logf). */
static inline float log_f32(float x) {
  const float ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f;
  const float Lg1 = 0xaaaaaa.0p-24f, Lg2 = 0xccce13.0p-25f,
              Lg3 = 0x91e9ee.0p-25f, Lg4 = 0xf89e26.0p-26f;
  uint32_t ix = asu32(x) + (0x3f800000u - 0x3f3504f3u);
  int32_t k = (int32_t)(ix >> 23) - 0x7f;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  float f = asf32(ix) - 1.0f;
  float s = f / (2.0f + f);
  float z = s * s;
  float w = z * z;
  float t1 = w * (Lg2 + w * Lg4);
  float t2 = z * (Lg1 + w * Lg3);
  float R = t2 + t1;
  float hfsq = 0.5f * f * f;
  float dk = (float)k;
  return s * (hfsq + R) + dk * ln2_lo - hfsq + f + dk * ln2_hi;
}

/* log of a positive normal double (musl/fdlibm log). */
static inline double log_f64(double x) {
  const double ln2_hi = 6.93147180369123816490e-01,
               ln2_lo = 1.90821492927058770002e-10;
  const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
               Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
               Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
               Lg7 = 1.479819860511658591e-01;
  uint64_t u = asu64(x);
  uint32_t hx = (uint32_t)(u >> 32) + (0x3ff00000u - 0x3fe6a09eu);
  int32_t k = (int32_t)(hx >> 20) - 0x3ff;
  hx = (hx & 0x000fffffu) + 0x3fe6a09eu;
  u = (uint64_t)hx << 32 | (u & 0xffffffffu);
  double f = asf64(u) - 1.0;
  double hfsq = 0.5 * f * f;
  double s = f / (2.0 + f);
  double z = s * s;
  double w = z * z;
  double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  double R = t2 + t1;
  double dk = (double)k;
  return s * (hfsq + R) + dk * ln2_lo - hfsq + f + dk * ln2_hi;
}

/*
 * cos and sin of 2 pi t for t in [0, 1]. t - k/4 with k = round(4t) is exact
 * (both are multiples of the ulp of t and the difference is at most 1/8), so
 * the only rounding in the reduction is the multiplication by 2 pi.
 */
static inline void sincos2pi_f32(float t, float *c, float *s) {
  int k = (int)(t * 4.0f + 0.5f);
  float x = (t - (float)k * 0.25f) * 6.28318530717958647692f;
  float z = x * x;
  float sn =
      ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z *
          x +
      x;
  float cs = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z +
              4.166664568298827e-2f) *
                 z * z -
             0.5f * z + 1.0f;
  int q = k & 3;
  float C = (q & 1) ? sn : cs;
  float S = (q & 1) ? cs : sn;
  *c = (q == 1 || q == 2) ? -C : C;
  *s = (q >= 2) ? -S : S;
}

/* sin and cos polynomials of sincos2pi_f64 and its AVX2 twin: one set of
 * coefficients, so both paths give the same bits. */
static const double SC_S1 = -1.66666666666666324348e-01,
                    SC_S2 = 8.33333333332248946124e-03,
                    SC_S3 = -1.98412698298579493134e-04,
                    SC_S4 = 2.75573137070700676789e-06,
                    SC_S5 = -2.50507602534068634195e-08,
                    SC_S6 = 1.58969099521155010221e-10;
static const double SC_C1 = 4.16666666666666019037e-02,
                    SC_C2 = -1.38888888888741095749e-03,
                    SC_C3 = 2.48015872894767294178e-05,
                    SC_C4 = -2.75573143513906633035e-07,
                    SC_C5 = 2.08757232129817482790e-09,
                    SC_C6 = -1.13596475577881948265e-11;

static inline void sincos2pi_f64(double t, double *c, double *s) {
  int k = (int)(t * 4.0 + 0.5);
  double x = (t - (double)k * 0.25) * 6.28318530717958647692;
  double z = x * x;
  double w = z * z;
  double r = SC_S2 + z * (SC_S3 + z * SC_S4) + z * w * (SC_S5 + z * SC_S6);
  double sn = x + z * x * (SC_S1 + z * r);
  double rc = z * (SC_C1 + z * (SC_C2 + z * SC_C3)) +
              w * w * (SC_C4 + z * (SC_C5 + z * SC_C6));
  double hz = 0.5 * z;
  double wc = 1.0 - hz;
  double cs = wc + (((1.0 - wc) - hz) + z * rc);
  int q = k & 3;
  double C = (q & 1) ? sn : cs;
  double S = (q & 1) ? cs : sn;
  *c = (q == 1 || q == 2) ? -C : C;
  *s = (q >= 2) ? -S : S;
}

/* ---- groups -----------------------------------------------------------------
 */

/* Elements per group for each recipe. */
static int group_elems(const dt__rparams *p) {
  if (p->kind == DT__R_INT)
    return 2 * LANES;
  return p->dtype == DT_FLOAT32 ? 4 * LANES : 2 * LANES;
}

static inline uint64_t word64(const uint32_t x[4][LANES], int pair, int l) {
  return (uint64_t)x[2 * pair + 1][l] << 32 | x[2 * pair][l];
}

/* a * b / 2^64, from 32-bit halves. */
static inline uint64_t mulhi64(uint64_t a, uint64_t b) {
  uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
  uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

#define DT_INLINE static inline __attribute__((always_inline))

/* Turn a group's words into elements (the recipes of dtensor.h). */
DT_INLINE void transform(const dt__rparams *p, const uint32_t x[4][LANES],
                         void *out) {
  if (p->kind != DT__R_INT && p->dtype == DT_FLOAT32) {
    float *o = out;
    if (p->kind == DT__R_UNIFORM) {
      for (int l = 0; l < LANES; l++)
        for (int w = 0; w < 4; w++)
          o[4 * l + w] = (float)(int32_t)(x[w][l] >> 8) * 0x1p-24f;
      return;
    }
    /* Box-Muller pair j: 2l from (w0, w1), 2l+1 from (w2, w3). */
    float u[2 * LANES], t[2 * LANES];
    for (int l = 0; l < LANES; l++)
      for (int h = 0; h < 2; h++) {
        uint32_t a = x[2 * h][l], b = x[2 * h + 1][l];
        float hi = (float)(int32_t)(a >> 8) * 0x1p-24f;
        float lo = (float)(int32_t)(a & 0xffu) * 0x1p-32f + 0x1p-33f;
        u[2 * l + h] = hi + lo;
        t[2 * l + h] = (float)(int32_t)(b >> 8) * 0x1p-24f;
      }
    for (int j = 0; j < 2 * LANES; j++) {
      float c, s;
      float r = __builtin_sqrtf(-2.0f * log_f32(u[j]));
      sincos2pi_f32(t[j], &c, &s);
      o[2 * j] = r * c;
      o[2 * j + 1] = r * s;
    }
    return;
  }
  if (p->kind == DT__R_INT) {
    int64_t *o = out;
    for (int l = 0; l < LANES; l++)
      for (int h = 0; h < 2; h++)
        /* unsigned: low + offset wraps into range without overflow */
        o[2 * l + h] =
            (int64_t)((uint64_t)p->low + mulhi64(word64(x, h, l), p->range));
    return;
  }
  double *o = out;
  if (p->kind == DT__R_UNIFORM) {
    for (int l = 0; l < LANES; l++)
      for (int h = 0; h < 2; h++)
        o[2 * l + h] = (double)(int64_t)(word64(x, h, l) >> 11) * 0x1p-53;
    return;
  }
  for (int l = 0; l < LANES; l++) {
    double u = (double)(int64_t)(word64(x, 0, l) >> 11) * 0x1p-53 + 0x1p-54;
    double t = (double)(int64_t)(word64(x, 1, l) >> 11) * 0x1p-53;
    double c, s;
    double r = __builtin_sqrt(-2.0 * log_f64(u));
    sincos2pi_f64(t, &c, &s);
    o[2 * l] = r * c;
    o[2 * l + 1] = r * s;
  }
}

/* Portable path: the compiler vectorises philox_group and transform. */
static void gen_groups_base(const dt__rparams *p, uint64_t g0, int64_t ng,
                            char *out, size_t group_bytes) {
  for (int64_t k = 0; k < ng; k++) {
    uint32_t x[4][LANES];
    philox_group(p->seed, p->offset, (g0 + (uint64_t)k) * LANES, x);
    transform(p, x, out + (size_t)k * group_bytes);
  }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(DT_NO_AVX2)
#include <immintrin.h>
#define DT_HAVE_AVX2 1
#define DT_AVX2 __attribute__((target("avx2")))

/*
 * Philox rounds on 8 lanes per register: _mm256_mul_epu32 multiplies the
 * even 32-bit lanes into 64-bit products; the odd lanes are shifted down,
 * multiplied, and the halves blended back. Integer arithmetic only: the
 * words are exactly those of the portable path.
 */
DT_AVX2 DT_INLINE void philox_group_avx2(uint64_t seed, uint64_t offset,
                                         uint64_t b0, uint32_t x[4][LANES]) {
  const __m256i M0 = _mm256_set1_epi32((int)PHILOX_M0);
  const __m256i M1 = _mm256_set1_epi32((int)PHILOX_M1);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  __m256i c0[2], c1[2], c2[2], c3[2];
  for (int h = 0; h < 2; h++) {
    uint64_t b = b0 + (uint64_t)(8 * h);
    /* Counters b..b+7 never wrap their low word inside an aligned group. */
    c0[h] = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)b),
                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    c1[h] = _mm256_set1_epi32((int)(uint32_t)(b >> 32));
    c2[h] = _mm256_set1_epi32((int)(uint32_t)offset);
    c3[h] = _mm256_set1_epi32((int)(uint32_t)(offset >> 32));
  }
  for (int r = 0; r < 10; r++) {
    const __m256i K0 = _mm256_set1_epi32((int)k0),
                  K1 = _mm256_set1_epi32((int)k1);
    for (int h = 0; h < 2; h++) {
      __m256i pe0 = _mm256_mul_epu32(c0[h], M0);
      __m256i po0 = _mm256_mul_epu32(_mm256_srli_epi64(c0[h], 32), M0);
      __m256i pe1 = _mm256_mul_epu32(c2[h], M1);
      __m256i po1 = _mm256_mul_epu32(_mm256_srli_epi64(c2[h], 32), M1);
      __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(pe0, 32), po0, 0xAA);
      __m256i lo0 = _mm256_blend_epi32(pe0, _mm256_slli_epi64(po0, 32), 0xAA);
      __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(pe1, 32), po1, 0xAA);
      __m256i lo1 = _mm256_blend_epi32(pe1, _mm256_slli_epi64(po1, 32), 0xAA);
      c0[h] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[h]), K0);
      c2[h] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[h]), K1);
      c1[h] = lo1;
      c3[h] = lo0;
    }
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  for (int h = 0; h < 2; h++) {
    _mm256_storeu_si256((__m256i *)(void *)&x[0][8 * h], c0[h]);
    _mm256_storeu_si256((__m256i *)(void *)&x[1][8 * h], c1[h]);
    _mm256_storeu_si256((__m256i *)(void *)&x[2][8 * h], c2[h]);
    _mm256_storeu_si256((__m256i *)(void *)&x[3][8 * h], c3[h]);
  }
}

/*
 * Explicit AVX2 transforms for the recipes whose scalar form the compiler
 * cannot vectorise (int64 -> double has no AVX2 instruction). Each works on
 * 4 lanes l..l+3 of a group, straight from the structure-of-arrays words,
 * and repeats the scalar code's operations one for one, in the same order:
 * +, -, *, /, sqrt are correctly rounded in both, so the bits are the same.
 * The conversions are exact by construction (below), the integer steps are
 * the same modular arithmetic, and negation is the sign-bit flip it is in C.
 */

/* The words of 4 lanes, zero-extended to 64-bit lanes. */
DT_AVX2 DT_INLINE __m256i lanes64(const uint32_t *w) {
  return _mm256_cvtepu32_epi64(
      _mm_loadu_si128((const __m128i *)(const void *)w));
}

/*
 * (double)(v >> 11) * 0x1p-53 for v = hi:lo, exactly. With m = v >> 11
 * (53 bits): the double with exponent 0 and mantissa m >> 1 = v >> 12 is
 * 1 + (m >> 1) * 2^-52, so subtracting 1 is exact (Sterbenz) and gives
 * (m >> 1) * 2^-52; adding (m & 1) * 2^-53 is exact too, since the sum
 * m * 2^-53 is a double. The scalar path's conversion and multiplication by
 * a power of two are exact as well: both are the same real number.
 */
DT_AVX2 DT_INLINE __m256d unit53_avx2(__m256i lo, __m256i hi) {
  const __m256i one = _mm256_set1_epi64x(INT64_C(0x3ff0000000000000));
  __m256i top =
      _mm256_or_si256(_mm256_slli_epi64(hi, 20), _mm256_srli_epi64(lo, 12));
  __m256d a = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(top, one)),
                            _mm256_set1_pd(1.0));
  /* bit 11 of lo (the low bit of m) to the sign bit selects 2^-53 or 0 */
  __m256d b = _mm256_blendv_pd(_mm256_setzero_pd(), _mm256_set1_pd(0x1p-53),
                               _mm256_castsi256_pd(_mm256_slli_epi64(lo, 52)));
  return _mm256_add_pd(a, b);
}

/* Interleave a (even outputs) and b (odd outputs) of lanes l..l+3 into
 * o[0..7]. */
DT_AVX2 DT_INLINE void store_pairs_pd(double *o, __m256d a, __m256d b) {
  __m256d lo = _mm256_unpacklo_pd(a, b), hi = _mm256_unpackhi_pd(a, b);
  _mm256_storeu_pd(o, _mm256_permute2f128_pd(lo, hi, 0x20));
  _mm256_storeu_pd(o + 4, _mm256_permute2f128_pd(lo, hi, 0x31));
}
DT_AVX2 DT_INLINE void store_pairs_epi64(int64_t *o, __m256i a, __m256i b) {
  __m256i lo = _mm256_unpacklo_epi64(a, b), hi = _mm256_unpackhi_epi64(a, b);
  _mm256_storeu_si256((__m256i *)(void *)o,
                      _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256((__m256i *)(void *)(o + 4),
                      _mm256_permute2x128_si256(lo, hi, 0x31));
}

/* rand float64: o[2l + h] from word pair h of block l. */
DT_AVX2 DT_INLINE void uniform64_avx2(const uint32_t x[4][LANES], double *o) {
  for (int l = 0; l < LANES; l += 4) {
    __m256d d0 = unit53_avx2(lanes64(&x[0][l]), lanes64(&x[1][l]));
    __m256d d1 = unit53_avx2(lanes64(&x[2][l]), lanes64(&x[3][l]));
    store_pairs_pd(o + 2 * l, d0, d1);
  }
}

/* mulhi64 on 4 lanes: the same four 32x32 products and sums. */
DT_AVX2 DT_INLINE __m256i mulhi64_avx2(__m256i a0, __m256i a1, __m256i b0,
                                       __m256i b1) {
  const __m256i m32 = _mm256_set1_epi64x(INT64_C(0xffffffff));
  __m256i p00 = _mm256_mul_epu32(a0, b0), p01 = _mm256_mul_epu32(a0, b1);
  __m256i p10 = _mm256_mul_epu32(a1, b0), p11 = _mm256_mul_epu32(a1, b1);
  __m256i mid = _mm256_add_epi64(
      _mm256_add_epi64(_mm256_srli_epi64(p00, 32), _mm256_and_si256(p01, m32)),
      _mm256_and_si256(p10, m32));
  return _mm256_add_epi64(
      _mm256_add_epi64(_mm256_add_epi64(p11, _mm256_srli_epi64(p01, 32)),
                       _mm256_srli_epi64(p10, 32)),
      _mm256_srli_epi64(mid, 32));
}

/* randint: o[2l + h] = low + mulhi64(word h of block l, range). */
DT_AVX2 DT_INLINE void int64_avx2(const dt__rparams *p,
                                  const uint32_t x[4][LANES], int64_t *o) {
  const __m256i b0 = _mm256_set1_epi64x((int64_t)(uint32_t)p->range);
  const __m256i b1 = _mm256_set1_epi64x((int64_t)(p->range >> 32));
  const __m256i low = _mm256_set1_epi64x(p->low);
  for (int l = 0; l < LANES; l += 4) {
    __m256i r0 = mulhi64_avx2(lanes64(&x[0][l]), lanes64(&x[1][l]), b0, b1);
    __m256i r1 = mulhi64_avx2(lanes64(&x[2][l]), lanes64(&x[3][l]), b0, b1);
    store_pairs_epi64(o + 2 * l, _mm256_add_epi64(low, r0),
                      _mm256_add_epi64(low, r1));
  }
}

#define V4(c) _mm256_set1_pd(c)
#define ADD _mm256_add_pd
#define SUB _mm256_sub_pd
#define MUL _mm256_mul_pd

/* log_f64 on 4 lanes. The bit steps act on the high word in place: adding
 * c << 32 adds c to it modulo 2^32 as the scalar uint32_t does (add_epi32
 * keeps the low word), and k = (hx >> 20) - 0x3ff is turned into a double
 * exactly as 2^52 + (hx >> 20) - (2^52 + 0x3ff) (a small integer, Sterbenz;
 * k = 0 gives +0 as (double)0 does). */
DT_AVX2 DT_INLINE __m256d log_f64_avx2(__m256d x) {
  const double ln2_hi = 6.93147180369123816490e-01,
               ln2_lo = 1.90821492927058770002e-10;
  const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
               Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
               Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
               Lg7 = 1.479819860511658591e-01;
  __m256i u = _mm256_castpd_si256(x);
  u = _mm256_add_epi32(
      u, _mm256_set1_epi64x(
             (int64_t)((uint64_t)(0x3ff00000u - 0x3fe6a09eu) << 32)));
  __m256i kb = _mm256_or_si256(_mm256_srli_epi64(u, 52),
                               _mm256_set1_epi64x(INT64_C(0x4330000000000000)));
  __m256d dk = SUB(_mm256_castsi256_pd(kb), V4(0x1p52 + 0x3ff));
  u = _mm256_and_si256(u, _mm256_set1_epi64x(INT64_C(0x000fffffffffffff)));
  u = _mm256_add_epi32(
      u, _mm256_set1_epi64x((int64_t)((uint64_t)0x3fe6a09eu << 32)));
  __m256d f = SUB(_mm256_castsi256_pd(u), V4(1.0));
  __m256d hfsq = MUL(MUL(V4(0.5), f), f);
  __m256d s = _mm256_div_pd(f, ADD(V4(2.0), f));
  __m256d z = MUL(s, s);
  __m256d w = MUL(z, z);
  __m256d t1 = MUL(w, ADD(V4(Lg2), MUL(w, ADD(V4(Lg4), MUL(w, V4(Lg6))))));
  __m256d t2 =
      MUL(z, ADD(V4(Lg1),
                 MUL(w, ADD(V4(Lg3), MUL(w, ADD(V4(Lg5), MUL(w, V4(Lg7))))))));
  __m256d R = ADD(t2, t1);
  __m256d y = ADD(MUL(s, ADD(hfsq, R)), MUL(dk, V4(ln2_lo)));
  y = ADD(SUB(y, hfsq), f);
  return ADD(y, MUL(dk, V4(ln2_hi)));
}

/* sincos2pi_f64 on 4 lanes; the quadrant logic on the 32-bit k, widened to
 * 64-bit lane masks (sign-extended, so bit 63 is the condition). */
DT_AVX2 DT_INLINE void sincos2pi_f64_avx2(__m256d t, __m256d *c, __m256d *s) {
  __m128i k = _mm256_cvttpd_epi32(ADD(MUL(t, V4(4.0)), V4(0.5)));
  __m256d x = MUL(SUB(t, MUL(_mm256_cvtepi32_pd(k), V4(0.25))),
                  V4(6.28318530717958647692));
  __m256d z = MUL(x, x);
  __m256d w = MUL(z, z);
  __m256d r = ADD(ADD(V4(SC_S2), MUL(z, ADD(V4(SC_S3), MUL(z, V4(SC_S4))))),
                  MUL(MUL(z, w), ADD(V4(SC_S5), MUL(z, V4(SC_S6)))));
  __m256d sn = ADD(x, MUL(MUL(z, x), ADD(V4(SC_S1), MUL(z, r))));
  __m256d rc =
      ADD(MUL(z, ADD(V4(SC_C1), MUL(z, ADD(V4(SC_C2), MUL(z, V4(SC_C3)))))),
          MUL(MUL(w, w),
              ADD(V4(SC_C4), MUL(z, ADD(V4(SC_C5), MUL(z, V4(SC_C6)))))));
  __m256d hz = MUL(V4(0.5), z);
  __m256d wc = SUB(V4(1.0), hz);
  __m256d cs = ADD(wc, ADD(SUB(SUB(V4(1.0), wc), hz), MUL(z, rc)));
  /* bit 0 of k (odd quadrant), bit 1 of k + 1 (negate C), bit 1 of k
   * (negate S), each moved to bit 31 and sign-extended to 64 bits */
  __m256i odd = _mm256_cvtepi32_epi64(_mm_slli_epi32(k, 31));
  __m256i negc = _mm256_cvtepi32_epi64(
      _mm_slli_epi32(_mm_add_epi32(k, _mm_set1_epi32(1)), 30));
  __m256i negs = _mm256_cvtepi32_epi64(_mm_slli_epi32(k, 30));
  const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
  __m256d C = _mm256_blendv_pd(cs, sn, _mm256_castsi256_pd(odd));
  __m256d S = _mm256_blendv_pd(sn, cs, _mm256_castsi256_pd(odd));
  *c = _mm256_xor_pd(C, _mm256_castsi256_pd(_mm256_and_si256(negc, sign)));
  *s = _mm256_xor_pd(S, _mm256_castsi256_pd(_mm256_and_si256(negs, sign)));
}

/* randn float64: pair l from u = word 0, t = word 1 of block l. */
DT_AVX2 DT_INLINE void normal64_avx2(const uint32_t x[4][LANES], double *o) {
  for (int l = 0; l < LANES; l += 4) {
    __m256d u =
        ADD(unit53_avx2(lanes64(&x[0][l]), lanes64(&x[1][l])), V4(0x1p-54));
    __m256d t = unit53_avx2(lanes64(&x[2][l]), lanes64(&x[3][l]));
    __m256d r = _mm256_sqrt_pd(MUL(V4(-2.0), log_f64_avx2(u)));
    __m256d c, s;
    sincos2pi_f64_avx2(t, &c, &s);
    store_pairs_pd(o + 2 * l, MUL(r, c), MUL(r, s));
  }
}
#undef V4
#undef ADD
#undef SUB
#undef MUL

/* Same transforms, compiled for AVX2 (no FMA: the build forbids
 * contraction, so the bits equal the portable path's). */
/* Which transform the AVX2 path runs for a recipe. */
enum { TR_F32, TR_INT, TR_UNIFORM64, TR_NORMAL64 };
static int avx2_transform_kind(const dt__rparams *p) {
  if (p->kind == DT__R_INT)
    return TR_INT;
  if (p->dtype == DT_FLOAT32)
    return TR_F32;
  return p->kind == DT__R_UNIFORM ? TR_UNIFORM64 : TR_NORMAL64;
}

DT_AVX2 DT_INLINE void transform_avx2(const dt__rparams *p, int which,
                                      const uint32_t x[4][LANES], char *o) {
  if (which == TR_INT)
    int64_avx2(p, x, (int64_t *)(void *)o);
  else if (which == TR_UNIFORM64)
    uniform64_avx2(x, (double *)(void *)o);
  else if (which == TR_NORMAL64)
    normal64_avx2(x, (double *)(void *)o);
  else
    transform(p, x, o); /* float32: the compiler vectorises it */
}

DT_AVX2 static void gen_groups_avx2(const dt__rparams *p, uint64_t g0,
                                    int64_t ng, char *out, size_t group_bytes) {
  int which = avx2_transform_kind(p);
  for (int64_t k = 0; k < ng; k++) {
    uint32_t x[4][LANES];
    philox_group_avx2(p->seed, p->offset, (g0 + (uint64_t)k) * LANES, x);
    transform_avx2(p, which, x, out + (size_t)k * group_bytes);
  }
}

DT_AVX2 static void transform_words_avx2(const dt__rparams *p,
                                         const uint32_t x[4][LANES],
                                         void *out) {
  transform_avx2(p, avx2_transform_kind(p), x, out);
}
#endif

/* Kept for the tests that predate dt__isa_set_cap: caps every kernel. */
void dt__rng_set_portable(bool on) {
  dt__isa_set_cap(on ? DT_ISA_PORTABLE : -1);
}

_Static_assert(LANES == 16, "dt__rng_transform_words takes 16 lanes");
void dt__rng_transform_words(const dt__rparams *p, const uint32_t x[4][16],
                             void *out) {
#ifdef DT_HAVE_AVX2
  if (dt__isa_level() >= DT_ISA_AVX2) {
    transform_words_avx2(p, x, out);
    return;
  }
#endif
  transform(p, x, out);
}

static void gen_groups(const dt__rparams *p, uint64_t g0, int64_t ng, char *out,
                       size_t group_bytes) {
#ifdef DT_HAVE_AVX2
  if (dt__isa_level() >= DT_ISA_AVX2) {
    gen_groups_avx2(p, g0, ng, out, group_bytes);
    return;
  }
#endif
  gen_groups_base(p, g0, ng, out, group_bytes);
}

void dt__rng_fill(const dt__rparams *p, uint64_t first, int64_t n, void *out) {
  if (n <= 0)
    return;
  int E = group_elems(p);
  size_t esz = p->kind == DT__R_INT ? 8 : dt_dtype_size(p->dtype);
  size_t gbytes = (size_t)E * esz;
  char *o = out;
  uint64_t last = first + (uint64_t)n; /* exclusive */
  uint64_t g = first / (uint64_t)E;
  _Alignas(64) char tmp[4 * LANES * 8];
  /* Leading partial group. */
  if (first % (uint64_t)E) {
    gen_groups(p, g, 1, tmp, gbytes);
    uint64_t gend = (g + 1) * (uint64_t)E;
    uint64_t stop = gend < last ? gend : last;
    memcpy(o, tmp + (first - g * (uint64_t)E) * esz, (stop - first) * esz);
    o += (stop - first) * esz;
    first = stop;
    g++;
  }
  /* Whole groups straight into the output. */
  int64_t whole = (int64_t)((last - first) / (uint64_t)E);
  gen_groups(p, g, whole, o, gbytes);
  o += (size_t)whole * gbytes;
  first += (uint64_t)whole * (uint64_t)E;
  g += (uint64_t)whole;
  /* Trailing partial group. */
  if (first < last) {
    gen_groups(p, g, 1, tmp, gbytes);
    memcpy(o, tmp, (last - first) * esz);
  }
}

/* ---- raw words (dt_philox_fill) --------------------------------------------
 * The generator alone, without a transform: what a random factory's speed is
 * measured against. Same kernels (AVX2 or portable) and threads as the
 * factories; words go out block by block (w0..w3 of block b together).
 */

static inline void store_words(const uint32_t x[4][LANES], uint32_t *o) {
  for (int l = 0; l < LANES; l++)
    for (int w = 0; w < 4; w++)
      o[4 * l + w] = x[w][l];
}

static void raw_groups_base(uint64_t seed, uint64_t offset, uint64_t b0,
                            int64_t ng, uint32_t *out) {
  for (int64_t k = 0; k < ng; k++) {
    uint32_t x[4][LANES];
    philox_group(seed, offset, b0 + (uint64_t)k * LANES, x);
    store_words(x, out + k * 4 * LANES);
  }
}

#ifdef DT_HAVE_AVX2
DT_AVX2 static void raw_groups_avx2(uint64_t seed, uint64_t offset, uint64_t b0,
                                    int64_t ng, uint32_t *out) {
  for (int64_t k = 0; k < ng; k++) {
    uint32_t x[4][LANES];
    philox_group_avx2(seed, offset, b0 + (uint64_t)k * LANES, x);
    store_words(x, out + k * 4 * LANES);
  }
}
#endif

/* Blocks b0 .. b0 + n - 1; whole groups need not be aligned to LANES here
 * (the AVX2 kernel only needs b0's low word not to wrap inside a group). */
static void raw_blocks(uint64_t seed, uint64_t offset, uint64_t b0, int64_t n,
                       uint32_t *out) {
  int64_t ng = n / LANES;
#ifdef DT_HAVE_AVX2
  bool wraps = (uint64_t)(uint32_t)b0 + (uint64_t)LANES * (uint64_t)ng >
               (uint64_t)UINT32_MAX + 1;
  if (!wraps && dt__isa_level() >= DT_ISA_AVX2)
    raw_groups_avx2(seed, offset, b0, ng, out);
  else
#endif
    raw_groups_base(seed, offset, b0, ng, out);
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  for (int64_t k = ng * LANES; k < n; k++) {
    uint64_t b = b0 + (uint64_t)k;
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)offset,
                             (uint32_t)(offset >> 32)};
    dt__philox4x32_10(ctr, key, out + 4 * k);
  }
}

dt_err dt_philox_fill(uint64_t seed, uint64_t offset, uint64_t first_block,
                      int64_t nblocks, uint32_t *out) {
  DT_CHECK(nblocks >= 0, DT_ERR_ARG, "nblocks is negative (%lld)",
           (long long)nblocks);
  DT_CHECK(out != NULL || nblocks == 0, DT_ERR_NULL, "out is NULL");
#pragma omp parallel num_threads(dt__threads()) if (nblocks > 4096)
  {
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    /* contiguous per-thread pieces of whole groups, as the factories split */
    int64_t per = ((nblocks + nt - 1) / nt + LANES - 1) / LANES * LANES;
    int64_t a = (int64_t)id * per, b = a + per < nblocks ? a + per : nblocks;
    if (a < b)
      raw_blocks(seed, offset, first_block + (uint64_t)a, b - a, out + 4 * a);
  }
  return DT_OK;
}
