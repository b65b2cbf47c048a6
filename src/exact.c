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
void dt__xacc_normalize(dt__xacc *a) {
  int64_t carry = 0;
  for (int k = 0; k < DT_XLIMBS - 1; k++) {
    int64_t v = a->limb[k] + carry;
    carry = v >> 32; /* arithmetic: floor division */
    a->limb[k] = v & (int64_t)M32;
  }
  a->limb[DT_XLIMBS - 1] += carry;
  a->nadd = 0;
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

/*
 * Add n values (float32 or float64) with element stride `st`. Four
 * accumulators take turns so consecutive additions to the same limbs do not
 * wait on each other; they are merged (exactly) at the end.
 */
void dt__xacc_add_array(dt__xacc *a, const void *p, dt_dtype dt, int64_t n,
                        int64_t st) {
  /* Four limb arrays take turns, so consecutive additions to the same limb
   * do not wait on each other; flags are gathered in a register. The
   * common case (all finite) costs one test per element. */
  int64_t w[4][DT_XLIMBS];
  memset(w, 0, sizeof w);
  uint32_t flags = 0;
  uint64_t special = 0; /* any infinity or NaN exponent seen */
  int64_t done = 0;
  while (done < n) {
    int64_t m = n - done < DT_XACC_SAFE ? n - done : DT_XACC_SAFE;
    /* Branch-free: an infinity or NaN is added like any value (its
     * exponent is in range) and only flags the result, which is then decided
     * by the flags alone; those flags are rebuilt exactly below. */
    uint64_t nz = 0, neg = ~UINT64_C(0);
    const double *xd = (const double *)p + done * st;
    const float *xf = (const float *)p + done * st;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      uint64_t b[4];
      for (int k = 0; k < 4; k++) {
        double v = dt == DT_FLOAT64 ? xd[(i + k) * st] : xf[(i + k) * st];
        memcpy(&b[k], &v, 8); /* a float widens exactly */
      }
      for (int k = 0; k < 4; k++) {
        special |= (b[k] & EXP_MASK) == EXP_MASK;
        nz |= b[k] & ~SIGN_BIT; /* any magnitude */
        neg &= b[k];            /* every sign bit */
        add_finite(w[k], b[k]);
      }
    }
    if (i > 0 && (nz || !(neg >> 63)))
      flags |= DT_XACC_NONNEGZERO;
    for (; i < m; i++) {
      double v = dt == DT_FLOAT64 ? xd[i * st] : xf[i * st];
      uint64_t b;
      memcpy(&b, &v, 8);
      if (note(&flags, b))
        add_finite(w[0], b);
    }
    if (special)
      for (int64_t q = 0; q < m; q++) {
        double v = dt == DT_FLOAT64 ? xd[q * st] : xf[q * st];
        uint64_t b;
        memcpy(&b, &v, 8);
        if (((b >> 52) & 0x7ff) == 0x7ff)
          note(&flags, b);
      }
    if (m > 0)
      flags |= DT_XACC_ANY;
    done += m;
    /* fold into a (exact integer additions) before any limb can overflow */
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
  uint64_t M = 0;
  for (int64_t pos = msb; pos >= lsb; pos--)
    M = (M << 1) | (uint64_t)bit_at(d, nd, pos);
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

/* Snapshot of a normalised accumulator as sign + magnitude digits. */
static bool magnitude(const dt__xacc *a, uint32_t *d) {
  dt__xacc t = *a;
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
