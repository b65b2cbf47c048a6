/*
 * exact.c - exact summation: a fixed-point accumulator wide enough for any
 * sum of doubles, and correct rounding of its value.
 *
 * The value is sum_k limb[k] * 2^(32k - 1074). Adding a double splits its
 * 53-bit integer mantissa, shifted to its place, into three 32-bit pieces
 * added to three limbs; an int64 limb takes 2^30 such additions before it
 * can overflow, so carries are propagated only now and then. Integer
 * addition is associative: any order of additions, any split between
 * threads or ranks, gives the same limbs after normalisation. Nothing here
 * knows about MPI; ranks combine accumulators by adding limbs.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

__extension__ typedef unsigned __int128 dt_u128;

#define M32 UINT64_C(0xffffffff)
#define EXP_MASK UINT64_C(0x7ff0000000000000)
#define SIGN_BIT (UINT64_C(1) << 63)
/* Additions between normalisations (each adds < 2^33 to a limb). */
#define DT_XACC_SAFE (INT64_C(1) << 29)

void dt__xacc_init(dt__xacc *a) { memset(a, 0, sizeof *a); }

/* Carry-propagate: every limb in [0, 2^32) except the top, which carries
 * the sign. Exact. */
static void normalize_from(dt__xacc *a, int k0) {
  int64_t carry = 0;
  for (int k = k0; k < DT_XLIMBS - 1; k++) {
    int64_t v = a->limb[k] + carry;
    carry = v >> 32; /* arithmetic: floor division */
    a->limb[k] = v & (int64_t)M32;
  }
  a->limb[DT_XLIMBS - 1] += carry;
  a->nadd = 0;
}

void dt__xacc_normalize(dt__xacc *a) { normalize_from(a, 0); }

void dt__xacc_window(const dt__xacc *a, int k0, int k1, int64_t *w) {
  /* Below k0 nothing; above k1 - 1 nothing (not normalised yet) or the
   * sign extension a normalisation left there. */
  bool clean = true;
  for (int k = k1; k < DT_XLIMBS; k++)
    clean &= a->limb[k] == 0;
  dt__xacc t;
  const dt__xacc *src = a;
  if (!clean) {
    t = *a;
    dt__xacc_normalize(&t);
    src = &t;
  }
  int64_t carry = 0;
  for (int k = k0; k < k1 - 1; k++) {
    int64_t v = src->limb[k] + carry;
    carry = v >> 32; /* arithmetic: floor division */
    w[k - k0] = v & (int64_t)M32;
  }
  w[k1 - 1 - k0] = src->limb[k1 - 1] + carry;
  if (k1 < DT_XLIMBS && src->limb[DT_XLIMBS - 1] < 0)
    w[k1 - 1 - k0] -= INT64_C(1) << 32; /* the sign extension, folded */
}

void dt__xacc_from_window(dt__xacc *a, const int64_t *w, int k0, int k1) {
  memset(a->limb, 0, sizeof a->limb);
  memcpy(&a->limb[k0], w, sizeof *w * (size_t)(k1 - k0));
  normalize_from(a, k0);
}

/*
 * Add one finite double given by its bits. The signed mantissa shifted to its
 * place, V = sm * 2^sh (at most 85 bits), is split as d0 + d1 2^32 + d2 2^64
 * with d0, d1 unsigned 32-bit digits of V's low 64 bits (two's complement)
 * and d2 = floor(V / 2^64): three integer additions, no branch.
 */
static inline void add_finite(int64_t *limb, uint64_t bits) {
  uint64_t e = (bits >> 52) & 0x7ff;
  uint64_t normal = e != 0;
  int64_t m = (int64_t)((bits & ((UINT64_C(1) << 52) - 1)) | (normal << 52));
  e -= normal; /* position of the mantissa's lowest bit above 2^-1074 */
  int64_t neg = -(int64_t)(bits >> 63);
  int64_t sm = (m ^ neg) - neg;
  int idx = (int)(e >> 5), sh = (int)(e & 31);
  uint64_t low = (uint64_t)sm << sh;
  limb[idx] += (int64_t)(low & M32);
  limb[idx + 1] += (int64_t)(low >> 32);
  limb[idx + 2] += (sm >> (63 - sh)) >> 1;
}

/* Flags for one value; true when it is finite (and so to be added). */
static inline bool note(uint32_t *flags, uint64_t bits) {
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

static inline void add_bits(dt__xacc *a, uint64_t bits) {
  if (note(&a->flags, bits))
    add_finite(a->limb, bits);
}

void dt__xacc_add(dt__xacc *a, double x) {
  uint64_t b;
  memcpy(&b, &x, 8);
  add_bits(a, b);
  if (++a->nadd >= DT_XACC_SAFE)
    dt__xacc_normalize(a);
}

void dt__xacc_add_prod(dt__xacc *a, double x, double y) {
  double hi = x * y;
  if (!isfinite(hi) || hi == 0) {
    /* infinities and NaN keep their meaning; a zero product is exact */
    dt__xacc_add(a, hi);
    return;
  }
  double lo = fma(x, y, -hi); /* exact unless the product underflows */
  dt__xacc_add(a, hi);
  dt__xacc_add(a, lo);
}

/* ---- arrays: exact blocks in double arithmetic ------------------------------
 *
 * A block of up to BLOCK values is summed in double precision, exactly: a
 * first pass finds the largest magnitude (|x| < 2^P) and a lower bound on
 * the lowest set bit (every x a multiple of 2^L). Sums of m <= 2^lb such
 * values are multiples of 2^L below 2^(P + lb), exact in a double when
 * P + lb - L <= 53 ("direct"). Otherwise a band is split off first
 * (Rump-Ogita-Oishi ExtractScalar): with sigma = 2^k, k = P + lb + 1,
 * q = (sigma + x) - sigma is a multiple of 2^(k - 53) with |q| <= sigma / m,
 * and r = x - q is exact (it is the rounding error of sigma + x) with
 * |r| <= 2^(k - 53): the q's sum exactly below 2^k, and the r's are values
 * with P' = k - 53, handled the same way. At most MAXBANDS bands; a block
 * that needs more (a huge exponent range, or sigma near overflow or
 * underflow) and a block holding an infinity or NaN take the scalar limb
 * path. The band sums are doubles added to the limbs exactly, so the
 * limbs, hence the rounded result, are those of adding every element to
 * the limbs one by one: the same bits on every path, in any order.
 */
#define BLOCK 2048
#define MAXBANDS 3

/* Scalar path for a block: every element to the limbs (flags too). */
static void add_scalar(dt__xacc *a, const void *p, bool f32, int64_t n,
                       int64_t st) {
  for (int64_t i = 0; i < n; i++) {
    double v = f32 ? ((const float *)p)[i * st] : ((const double *)p)[i * st];
    uint64_t b;
    memcpy(&b, &v, 8); /* a float widens exactly */
    if (note(&a->flags, b))
      add_finite(a->limb, b);
    if (++a->nadd >= DT_XACC_SAFE)
      dt__xacc_normalize(a);
  }
}

/* One finite double (a band's exact sum) to the limbs; no flags. */
static void add_partial(dt__xacc *a, double v) {
  uint64_t b;
  memcpy(&b, &v, 8);
  add_finite(a->limb, b);
  if (++a->nadd >= DT_XACC_SAFE)
    dt__xacc_normalize(a);
}

static inline __attribute__((always_inline)) double ld(const void *p, bool f32,
                                                       int64_t i) {
  return f32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/* Largest magnitude bits and (least nonzero magnitude bits - 1), zeros
 * mapped to the top, as exponent fields of the input format. */
static inline __attribute__((always_inline)) void
scan(const void *p, bool f32, int64_t n, int64_t st, int64_t *emax,
     int64_t *emin) {
  if (f32) {
    int32_t mx = 0, mn = INT32_MAX;
    const char *c = p;
#pragma omp simd reduction(max : mx) reduction(min : mn)
    for (int64_t i = 0; i < n; i++) {
      uint32_t u;
      memcpy(&u, c + 4 * i * st, 4);
      int32_t m = (int32_t)(u & 0x7fffffffu);
      int32_t v = (int32_t)((uint32_t)(m - 1) & 0x7fffffffu);
      mx = m > mx ? m : mx;
      mn = v < mn ? v : mn;
    }
    *emax = mx == 0 ? -1 : mx >> 23;
    *emin = mn >> 23;
  } else {
    int64_t mx = 0, mn = INT64_MAX;
    const char *c = p;
#pragma omp simd reduction(max : mx) reduction(min : mn)
    for (int64_t i = 0; i < n; i++) {
      uint64_t u;
      memcpy(&u, c + 8 * i * st, 8);
      int64_t m = (int64_t)(u & ~SIGN_BIT);
      int64_t v = (int64_t)((uint64_t)(m - 1) & ~SIGN_BIT);
      mx = m > mx ? m : mx;
      mn = v < mn ? v : mn;
    }
    *emax = mx == 0 ? -1 : mx >> 52;
    *emin = mn >> 52;
  }
}

/* The band loops; nb constant after inlining. All additions are exact, so
 * the vectoriser may take them in any order. */
static inline __attribute__((always_inline)) void
bands(const void *p, bool f32, int64_t n, int64_t st, int nb,
      const double *sg, double *out) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  double s1 = sg[0], s2 = sg[1], s3 = sg[2];
  if (nb == 0) {
#pragma omp simd reduction(+ : a0)
    for (int64_t i = 0; i < n; i++)
      a0 += ld(p, f32, i * st);
  } else if (nb == 1) {
#pragma omp simd reduction(+ : a0, a1)
    for (int64_t i = 0; i < n; i++) {
      double x = ld(p, f32, i * st);
      double q = (s1 + x) - s1;
      a1 += q;
      a0 += x - q;
    }
  } else if (nb == 2) {
#pragma omp simd reduction(+ : a0, a1, a2)
    for (int64_t i = 0; i < n; i++) {
      double x = ld(p, f32, i * st);
      double q = (s1 + x) - s1;
      double r = x - q;
      double q2 = (s2 + r) - s2;
      a1 += q;
      a2 += q2;
      a0 += r - q2;
    }
  } else {
#pragma omp simd reduction(+ : a0, a1, a2, a3)
    for (int64_t i = 0; i < n; i++) {
      double x = ld(p, f32, i * st);
      double q = (s1 + x) - s1;
      double r = x - q;
      double q2 = (s2 + r) - s2;
      double r2 = r - q2;
      double q3 = (s3 + r2) - s3;
      a1 += q;
      a2 += q2;
      a3 += q3;
      a0 += r2 - q3;
    }
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

/* 2^k for -1022 <= k <= 1023. */
static double pow2(int64_t k) {
  uint64_t b = (uint64_t)(k + 1023) << 52;
  double v;
  memcpy(&v, &b, 8);
  return v;
}

/*
 * The band plan of a block of m values: the number of bands (0..MAXBANDS)
 * and their sigmas, or -1 for the scalar path. P, L as in the comment
 * above.
 */
static int plan(int64_t P, int64_t L, int64_t m, double *sg) {
  int64_t lb = m > 1 ? 64 - __builtin_clzll((uint64_t)(m - 1)) : 0;
  if (P + lb > 1000)
    return -1;
  int nb = 0;
  while (P + lb - L > 53) {
    int64_t k = P + lb + 1;
    if (nb == MAXBANDS || k > 1000 || k < -1000)
      return -1;
    sg[nb++] = pow2(k);
    P = k - 53;
  }
  return nb;
}

static inline __attribute__((always_inline)) void
add_blocks(dt__xacc *a, const void *p, bool f32, int64_t n, int64_t st) {
  size_t esz = f32 ? 4 : 8;
  for (int64_t done = 0; done < n; done += BLOCK) {
    int64_t m = n - done < BLOCK ? n - done : BLOCK;
    const char *q = (const char *)p + done * st * (int64_t)esz;
    int64_t emax, emin;
    scan(q, f32, m, st, &emax, &emin);
    int64_t top = f32 ? 0xff : 0x7ff;
    if (emax == top) { /* an infinity or NaN: flags element by element */
      add_scalar(a, q, f32, m, st);
      continue;
    }
    a->flags |= DT_XACC_ANY;
    if (emax < 0) { /* zeros only: is any of them +0.0? */
      for (int64_t i = 0; i < m; i++)
        if (!signbit(ld(q, f32, i * st)))
          a->flags |= DT_XACC_NONNEGZERO;
      continue;
    }
    a->flags |= DT_XACC_NONNEGZERO;
    int64_t P = (emax ? emax : 1) - (f32 ? 126 : 1022);
    int64_t L = (emin ? emin : 1) - (f32 ? 150 : 1075);
    double sg[MAXBANDS] = {0, 0, 0}, out[4];
    int nb = plan(P, L, m, sg);
    if (nb < 0) {
      add_scalar(a, q, f32, m, st);
      continue;
    }
    if (nb == 0)
      bands(q, f32, m, st, 0, sg, out);
    else if (nb == 1)
      bands(q, f32, m, st, 1, sg, out);
    else if (nb == 2)
      bands(q, f32, m, st, 2, sg, out);
    else
      bands(q, f32, m, st, 3, sg, out);
    for (int k = 0; k <= nb; k++)
      add_partial(a, out[k]);
  }
}

static void add_blocks_base(dt__xacc *a, const void *p, bool f32, int64_t n,
                            int64_t st) {
  if (f32 && st == 1)
    add_blocks(a, p, true, n, 1);
  else if (st == 1)
    add_blocks(a, p, false, n, 1);
  else
    add_blocks(a, p, f32, n, st);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define DT_XACC_X86 1
__attribute__((target("avx2"))) static void
add_blocks_avx2(dt__xacc *a, const void *p, bool f32, int64_t n, int64_t st) {
  if (f32 && st == 1)
    add_blocks(a, p, true, n, 1);
  else if (st == 1)
    add_blocks(a, p, false, n, 1);
  else
    add_blocks(a, p, f32, n, st);
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void
add_blocks_avx512(dt__xacc *a, const void *p, bool f32, int64_t n,
                  int64_t st) {
  if (f32 && st == 1)
    add_blocks(a, p, true, n, 1);
  else if (st == 1)
    add_blocks(a, p, false, n, 1);
  else
    add_blocks(a, p, f32, n, st);
}
#endif

/*
 * Add n values (float32 or float64) with element stride `st`. A few values
 * go straight to the limbs; longer arrays in exact blocks, on the widest
 * vector path the CPU allows (every path gives the same limbs).
 */
void dt__xacc_add_array(dt__xacc *a, const void *p, dt_dtype dt, int64_t n,
                        int64_t st) {
  bool f32 = dt == DT_FLOAT32;
  if (n < 16) {
    add_scalar(a, p, f32, n, st);
    return;
  }
#ifdef DT_XACC_X86
  dt__isa isa = dt__isa_level();
  if (isa >= DT_ISA_AVX512) {
    add_blocks_avx512(a, p, f32, n, st);
    return;
  }
  if (isa >= DT_ISA_AVX2) {
    add_blocks_avx2(a, p, f32, n, st);
    return;
  }
#endif
  add_blocks_base(a, p, f32, n, st);
}

void dt__xacc_merge(dt__xacc *a, const dt__xacc *b) {
  dt__xacc t = *b;
  dt__xacc_normalize(&t);
  dt__xacc_normalize(a);
  for (int k = 0; k < DT_XLIMBS; k++)
    a->limb[k] += t.limb[k];
  a->flags |= t.flags;
  dt__xacc_normalize(a);
}

/* ---- rounding -------------------------------------------------------------
 */

/* Bit `pos` of the non-negative normalised digits d[0..nd). */
static int bit_at(const uint32_t *d, int nd, int64_t pos) {
  if (pos < 0 || pos >= 32 * (int64_t)nd)
    return 0;
  return (int)((d[pos >> 5] >> (pos & 31)) & 1);
}

static uint64_t digit(const uint32_t *d, int nd, int64_t k) {
  return k >= 0 && k < nd ? d[k] : 0;
}

/* Bits [pos, pos + 64) of the digits (zeros outside them). */
static uint64_t bits64(const uint32_t *d, int nd, int64_t pos) {
  int64_t k = pos >> 5; /* arithmetic: floor division */
  int s = (int)(pos & 31);
  uint64_t lo = digit(d, nd, k) | digit(d, nd, k + 1) << 32;
  return s ? (lo >> s) | (digit(d, nd, k + 2) << (64 - s)) : lo;
}

static bool any_below(const uint32_t *d, int nd, int64_t pos) {
  if (pos <= 0)
    return false;
  int64_t full = pos >> 5;
  for (int64_t k = 0; k < full && k < nd; k++)
    if (d[k])
      return true;
  if (full < nd && (pos & 31) && (d[full] & ((UINT32_C(1) << (pos & 31)) - 1)))
    return true;
  return false;
}

/*
 * Round the non-negative value sum d[k] 2^(32k + base) (plus a sticky bit
 * below everything) to a float with p-bit significands whose least
 * subnormal is 2^emin_lsb and largest finite exponent emax.
 */
static double round_digits(const uint32_t *d, int nd, int64_t base,
                           bool sticky_in, int p, int64_t emin_lsb,
                           int64_t emax) {
  int top = nd - 1;
  while (top >= 0 && d[top] == 0)
    top--;
  if (top < 0)
    return 0.0; /* a sticky remainder alone is below 2^-1074 * 2^-64 */
  int64_t msb = 32 * (int64_t)top + 31 - __builtin_clz(d[top]);
  /* least significant kept bit, in positions of d */
  int64_t lsb = msb - (p - 1);
  if (lsb + base < emin_lsb)
    lsb = emin_lsb - base;
  int64_t nbits = msb - lsb + 1; /* at most p <= 53 */
  uint64_t M = nbits > 0 ? bits64(d, nd, lsb) &
                               ((UINT64_C(1) << nbits) - 1)
                         : 0;
  int round = bit_at(d, nd, lsb - 1);
  bool sticky = sticky_in || any_below(d, nd, lsb - 1);
  if (round && (sticky || (M & 1)))
    M++;
  int64_t e = lsb + base; /* value = M * 2^e */
  /* overflow: the significand carried into p+1 bits, or beyond emax */
  if (M >> p) {
    M >>= 1;
    e++;
  }
  int mbits = 64 - __builtin_clzll(M ? M : 1);
  if (M && e + mbits - 1 > emax)
    return INFINITY;
  return ldexp((double)M, (int)e);
}

/* Already normalised (every limb but the top in [0, 2^32))? A cheap test
 * that spares the carry chain when the caller just normalised. */
static bool normalized(const dt__xacc *a) {
  uint64_t high = 0;
  for (int k = 0; k < DT_XLIMBS - 1; k++)
    high |= (uint64_t)a->limb[k] >> 32;
  return high == 0;
}

/* Snapshot of a normalised accumulator as sign + magnitude digits. */
static bool magnitude(const dt__xacc *a, uint32_t *d) {
  dt__xacc t = *a;
  if (!normalized(&t))
    dt__xacc_normalize(&t);
  bool neg = t.limb[DT_XLIMBS - 1] < 0;
  if (neg) {
    for (int k = 0; k < DT_XLIMBS; k++)
      t.limb[k] = -t.limb[k];
    dt__xacc_normalize(&t);
  }
  for (int k = 0; k < DT_XLIMBS; k++)
    d[k] = (uint32_t)t.limb[k];
  return neg;
}

/* Special values first: NaN, inf - inf, then infinities. */
static bool special(const dt__xacc *a, double *out) {
  bool p = a->flags & DT_XACC_PINF, n = a->flags & DT_XACC_NINF;
  if ((a->flags & DT_XACC_NAN) || (p && n)) {
    *out = NAN;
    return true;
  }
  if (p || n) {
    *out = p ? INFINITY : -INFINITY;
    return true;
  }
  return false;
}

static double finish(bool neg, double v, const dt__xacc *a) {
  if (v == 0 && !neg && !(a->flags & DT_XACC_NONNEGZERO) &&
      (a->flags & DT_XACC_ANY))
    return -0.0; /* only negative zeros were added */
  return neg ? -v : v;
}

double dt__xacc_round(const dt__xacc *a, dt_dtype dt) {
  double v;
  if (special(a, &v))
    return v;
  uint32_t d[DT_XLIMBS];
  bool neg = magnitude(a, d);
  if (dt == DT_FLOAT32)
    v = round_digits(d, DT_XLIMBS, -1074, false, 24, -149, 127);
  else
    v = round_digits(d, DT_XLIMBS, -1074, false, 53, -1074, 1023);
  return finish(neg, v, a);
}

double dt__xacc_round_div(const dt__xacc *a, int64_t n, dt_dtype dt) {
  double v;
  if (n <= 0)
    return NAN;
  if (special(a, &v))
    return v;
  uint32_t d[DT_XLIMBS];
  bool neg = magnitude(a, d);
  /* q = floor(value * 2^64 / n): two more digits below, long division */
  enum { ND = DT_XLIMBS + 2 };
  uint32_t q[ND];
  dt_u128 rem = 0;
  for (int k = ND - 1; k >= 0; k--) {
    uint32_t digit = k >= 2 ? d[k - 2] : 0;
    rem = (rem << 32) | digit;
    q[k] = (uint32_t)(rem / (uint64_t)n);
    rem %= (uint64_t)n;
  }
  if (dt == DT_FLOAT32)
    v = round_digits(q, ND, -1074 - 64, rem != 0, 24, -149, 127);
  else
    v = round_digits(q, ND, -1074 - 64, rem != 0, 53, -1074, 1023);
  return finish(neg, v, a);
}
