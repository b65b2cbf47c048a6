/*
 * ops.c - kernels over strided local shards. Plain loops, a contiguous fast
 * path, OpenMP across rows; nothing here knows about MPI or layouts.
 */
#include "internal.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Work below this many elements stays on the calling thread. */
#define DT_PAR_MIN 65536

void dt__memcpy_par(void *dst, const void *src, size_t n) {
  /* streaming stores beyond the cache (memcopy.c), decided on the whole */
  bool stream = dt__copy_streams(n);
  if (n < (size_t)DT_PAR_MIN * 8 || omp_in_parallel()) {
    if (stream)
      dt__memcpy_nt(dst, src, n);
    else
      memcpy(dst, src, n);
    return;
  }
#pragma omp parallel num_threads(dt__threads())
  {
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    /* 4 KiB aligned pieces so threads never share a cache line */
    size_t pages = (n + 4095) / 4096;
    size_t a = pages * (size_t)id / (size_t)nt * 4096;
    size_t b = pages * (size_t)(id + 1) / (size_t)nt * 4096;
    if (b > n)
      b = n;
    if (a < b && stream)
      dt__memcpy_nt((char *)dst + a, (const char *)src + a, b - a);
    else if (a < b)
      memcpy((char *)dst + a, (const char *)src + a, b - a);
  }
}

/*
 * Drop extent-1 axes and merge neighbours that are contiguous in both
 * operands, so loops run over as few, as long rows as possible.
 */
static int collapse(int nd, const int64_t *shape, const int64_t *ds,
                    const int64_t *ss, int64_t *cs, int64_t *cds,
                    int64_t *css) {
  int m = 0;
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 1)
      continue;
    if (m > 0 && cds[m - 1] == ds[d] * shape[d] &&
        css[m - 1] == ss[d] * shape[d]) {
      cs[m - 1] *= shape[d];
      cds[m - 1] = ds[d];
      css[m - 1] = ss[d];
      continue;
    }
    cs[m] = shape[d];
    cds[m] = ds[d];
    css[m] = ss[d];
    m++;
  }
  if (m == 0) {
    cs[0] = 1;
    cds[0] = css[0] = 1;
    m = 1;
  }
  return m;
}

/* One row: n elements, strides in elements. */
static void copy_row(char *d, dt_dtype ddt, int64_t dst, const char *s,
                     dt_dtype sdt, int64_t sst, int64_t n) {
  size_t dsz = dt_dtype_size(ddt), ssz = dt_dtype_size(sdt);
  if (ddt == sdt) {
    if (dst == 1 && sst == 1) {
      memcpy(d, s, (size_t)n * dsz);
    } else if (dsz == 4) {
      uint32_t *q = (uint32_t *)(void *)d;
      const uint32_t *p = (const uint32_t *)(const void *)s;
      for (int64_t i = 0; i < n; i++)
        q[i * dst] = p[i * sst];
    } else if (dsz == 8) {
      uint64_t *q = (uint64_t *)(void *)d;
      const uint64_t *p = (const uint64_t *)(const void *)s;
      for (int64_t i = 0; i < n; i++)
        q[i * dst] = p[i * sst];
    } else {
      for (int64_t i = 0; i < n; i++)
        d[i * dst] = s[i * sst];
    }
    return;
  }
  if (dst == 1 && sst == 1) {
    dt__convert(d, ddt, s, sdt, n);
    return;
  }
  /* Strided with conversion: through small contiguous buffers. */
  enum { B = 256 };
  _Alignas(64) char a[B * 8], b[B * 8];
  for (int64_t k = 0; k < n; k += B) {
    int64_t m = n - k < B ? n - k : B;
    for (int64_t i = 0; i < m; i++)
      memcpy(a + i * (int64_t)ssz, s + (k + i) * sst * (int64_t)ssz, ssz);
    dt__convert(b, ddt, a, sdt, m);
    for (int64_t i = 0; i < m; i++)
      memcpy(d + (k + i) * dst * (int64_t)dsz, b + i * (int64_t)dsz, dsz);
  }
}

void dt__copy_strided(int nd, const int64_t *shape, void *dst, dt_dtype ddt,
                      const int64_t *dstride, const void *src, dt_dtype sdt,
                      const int64_t *sstride) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++)
    n *= shape[d];
  if (n == 0)
    return;
  int64_t cs[DT_MAX_DIMS], cds[DT_MAX_DIMS], css[DT_MAX_DIMS];
  int m = collapse(nd, shape, dstride, sstride, cs, cds, css);
  size_t dsz = dt_dtype_size(ddt), ssz = dt_dtype_size(sdt);
  int64_t len = cs[m - 1];
  int64_t rows = n / len;
  if (rows == 1 && ddt == sdt && cds[m - 1] == 1 && css[m - 1] == 1) {
    dt__memcpy_par(dst, src, (size_t)n * dsz);
    return;
  }
  bool par = n >= DT_PAR_MIN && !omp_in_parallel();
  if (rows == 1 && !par) { /* no region: entering one costs ~0.3 us */
    copy_row(dst, ddt, cds[m - 1], src, sdt, css[m - 1], len);
    return;
  }
  if (rows == 1) {
    /* One long row: split it between threads. */
#pragma omp parallel num_threads(dt__threads())
    {
      int nt = omp_get_num_threads(), id = omp_get_thread_num();
      int64_t a = dt__block_start(len, nt, id),
              b = dt__block_start(len, nt, id + 1);
      copy_row((char *)dst + a * cds[m - 1] * (int64_t)dsz, ddt, cds[m - 1],
               (const char *)src + a * css[m - 1] * (int64_t)ssz, sdt,
               css[m - 1], b - a);
    }
    return;
  }
  bool stream = ddt == sdt && cds[m - 1] == 1 && css[m - 1] == 1 &&
                (size_t)len * dsz >= 4096 && dt__copy_streams((size_t)n * dsz);
#pragma omp parallel for num_threads(dt__threads()) schedule(static) if (par)
  for (int64_t r = 0; r < rows; r++) {
    int64_t doff = 0, soff = 0, q = r;
    for (int d = m - 2; d >= 0; d--) {
      int64_t i = q % cs[d];
      q /= cs[d];
      doff += i * cds[d];
      soff += i * css[d];
    }
    char *d = (char *)dst + doff * (int64_t)dsz;
    const char *s = (const char *)src + soff * (int64_t)ssz;
    if (stream) /* long rows of a copy beyond the cache (memcopy.c) */
      dt__memcpy_nt(d, s, (size_t)len * dsz);
    else
      copy_row(d, ddt, cds[m - 1], s, sdt, css[m - 1], len);
  }
}

/* ---- elementwise arithmetic -----------------------------------------------
 */

/*
 * Rows of up to three operands: drop extent-1 axes and merge axes that are
 * contiguous in all of them (a zero stride, a broadcast scalar, merges with
 * zero strides).
 */
static int collapse3(int nd, const int64_t *shape, const int64_t *const *st,
                     int64_t *cs, int64_t (*cst)[DT_MAX_DIMS], int nops) {
  int m = 0;
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 1)
      continue;
    bool merge = m > 0;
    for (int k = 0; merge && k < nops; k++)
      merge = cst[k][m - 1] == st[k][d] * shape[d];
    if (merge) {
      cs[m - 1] *= shape[d];
      for (int k = 0; k < nops; k++)
        cst[k][m - 1] = st[k][d];
      continue;
    }
    cs[m] = shape[d];
    for (int k = 0; k < nops; k++)
      cst[k][m] = st[k][d];
    m++;
  }
  if (m == 0) {
    cs[0] = 1;
    for (int k = 0; k < nops; k++)
      cst[k][0] = 1;
    m = 1;
  }
  return m;
}

/* One row of a binary op. The dense case (strides 1, or a scalar b with
 * stride 0) is written out so the compiler vectorises it. */
// clang-format off
#define DT_BIN_ROW(T, NAME)                                                    \
static void NAME(dt__op op, int64_t n, T *o, int64_t os, const T *a,          \
                 int64_t as, const T *b, int64_t bs) {                         \
  if (os == 1 && as == 1 && bs == 1) {                                         \
    switch (op) {                                                              \
    case DT__OP_ADD: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] + b[i]; return; \
    case DT__OP_SUB: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] - b[i]; return; \
    case DT__OP_MUL: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i]; return; \
    case DT__OP_DIV: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] / b[i]; return; \
    default: break;                                                            \
    }                                                                          \
  }                                                                            \
  if (os == 1 && as == 1 && bs == 0) {                                         \
    const T s = b[0];                                                          \
    switch (op) {                                                              \
    case DT__OP_ADD: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] + s; return; \
    case DT__OP_SUB: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] - s; return; \
    case DT__OP_MUL: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] * s; return; \
    case DT__OP_DIV: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] / s; return; \
    default: break;                                                            \
    }                                                                          \
  }                                                                            \
  for (int64_t i = 0; i < n; i++) {                                            \
    T x = a[i * as], y = b[i * bs];                                            \
    o[i * os] = op == DT__OP_ADD ? x + y : op == DT__OP_SUB ? x - y            \
              : op == DT__OP_MUL ? x * y : x / y;                              \
  }                                                                            \
}
// clang-format on
DT_BIN_ROW(float, bin_row_f32)
DT_BIN_ROW(double, bin_row_f64)

/* Unary ops on one row; `s` is the scalar of ADDS, MULS and POW. */
static double pow_elem(double x, double p) {
  return p == 2.0 ? x * x : p == 1.0 ? x : p == 0.5 ? sqrt(x) : pow(x, p);
}
static float pow_elem_f(float x, double p) {
  return p == 2.0   ? x * x
         : p == 1.0 ? x
         : p == 0.5 ? sqrtf(x)
                    : powf(x, (float)p);
}

// clang-format off
#define DT_UN_ROW(T, NAME, EXP, LOG, POW)                                      \
static void NAME(dt__op op, double s, int64_t n, T *o, int64_t os,            \
                 const T *a, int64_t as) {                                     \
  const T c = (T)s;                                                            \
  if (os == 1 && as == 1) {                                                    \
    switch (op) {                                                              \
    case DT__OP_NEG: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = -a[i]; return; \
    case DT__OP_ADDS: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] + c; return; \
    case DT__OP_MULS: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] * c; return; \
    default: break;                                                            \
    }                                                                          \
  }                                                                            \
  for (int64_t i = 0; i < n; i++) {                                            \
    T x = a[i * as], y;                                                        \
    switch (op) {                                                              \
    case DT__OP_NEG: y = -x; break;                                            \
    case DT__OP_ADDS: y = x + c; break;                                        \
    case DT__OP_MULS: y = x * c; break;                                        \
    case DT__OP_EXP: y = EXP(x); break;                                        \
    case DT__OP_LOG: y = LOG(x); break;                                        \
    default: y = POW(x, s); break;                                             \
    }                                                                          \
    o[i * os] = y;                                                             \
  }                                                                            \
}
// clang-format on
DT_UN_ROW(float, un_row_f32, expf, logf, pow_elem_f)
DT_UN_ROW(double, un_row_f64, exp, log, pow_elem)

/* Walk the rows of an nd box for up to three operands, in parallel when
 * large; fn_row gets each row's pointers. */
typedef struct ew {
  dt__op op;
  double s;
  dt_dtype dt;
  char *o;
  const char *a, *b;
} ew;

static void ew_row(const ew *e, int64_t n, int64_t oo, int64_t os, int64_t ao,
                   int64_t as, int64_t bo, int64_t bs) {
  if (e->dt == DT_FLOAT32) {
    float *o = (float *)(void *)e->o + oo;
    const float *a = (const float *)(const void *)e->a + ao;
    if (e->b)
      bin_row_f32(e->op, n, o, os, a, as,
                  (const float *)(const void *)e->b + bo, bs);
    else
      un_row_f32(e->op, e->s, n, o, os, a, as);
  } else {
    double *o = (double *)(void *)e->o + oo;
    const double *a = (const double *)(const void *)e->a + ao;
    if (e->b)
      bin_row_f64(e->op, n, o, os, a, as,
                  (const double *)(const void *)e->b + bo, bs);
    else
      un_row_f64(e->op, e->s, n, o, os, a, as);
  }
}

void dt__ew(dt__op op, double s, int nd, const int64_t *shape, dt_dtype dt,
            void *out, const int64_t *ostride, const void *a,
            const int64_t *astride, const void *b, const int64_t *bstride) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++)
    n *= shape[d];
  if (n == 0)
    return;
  const int64_t *st[3] = {ostride, astride, b ? bstride : astride};
  int64_t cs[DT_MAX_DIMS], cst[3][DT_MAX_DIMS];
  int m = collapse3(nd, shape, st, cs, cst, 3);
  ew e = {op, s, dt, out, a, b};
  int64_t len = cs[m - 1], rows = n / len;
  bool par = n >= DT_PAR_MIN && !omp_in_parallel();
  if (rows == 1 && !par) { /* no region: entering one costs ~0.3 us */
    ew_row(&e, len, 0, cst[0][m - 1], 0, cst[1][m - 1], 0, cst[2][m - 1]);
    return;
  }
  if (rows == 1) {
#pragma omp parallel num_threads(dt__threads())
    {
      int nt = omp_get_num_threads(), id = omp_get_thread_num();
      /* chunks of whole cache lines so threads never share one */
      int64_t blocks = (len + 15) / 16;
      int64_t lo = dt__block_start(blocks, nt, id) * 16;
      int64_t hi = dt__block_start(blocks, nt, id + 1) * 16;
      hi = hi < len ? hi : len;
      if (lo < hi)
        ew_row(&e, hi - lo, lo * cst[0][m - 1], cst[0][m - 1],
               lo * cst[1][m - 1], cst[1][m - 1], lo * cst[2][m - 1],
               cst[2][m - 1]);
    }
    return;
  }
#pragma omp parallel for num_threads(dt__threads()) schedule(static) if (par)
  for (int64_t r = 0; r < rows; r++) {
    int64_t off[3] = {0, 0, 0}, q = r;
    for (int d = m - 2; d >= 0; d--) {
      int64_t i = q % cs[d];
      q /= cs[d];
      for (int k = 0; k < 3; k++)
        off[k] += i * cst[k][d];
    }
    ew_row(&e, len, off[0], cst[0][m - 1], off[1], cst[1][m - 1], off[2],
           cst[2][m - 1]);
  }
}

/* ---- integer, bool, comparison and where kernels --------------------------
 *
 * One walker for up to four operands (out first): rows of the collapsed box,
 * threads across rows when large; each row function gets the operands'
 * pointers and element strides.
 */

typedef void (*row_fn)(int op, dt_dtype dt, int64_t n, char *const *p,
                       const int64_t *s);

static void walk(int op, dt_dtype dt, int nops, int nd, const int64_t *shape,
                 char *const *base, const size_t *esz,
                 const int64_t *const *st, row_fn row) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++)
    n *= shape[d];
  if (n == 0)
    return;
  int64_t cs[DT_MAX_DIMS], cst[4][DT_MAX_DIMS];
  int m = collapse3(nd, shape, st, cs, cst, nops);
  int64_t len = cs[m - 1], rows = n / len;
  bool par = n >= DT_PAR_MIN && !omp_in_parallel();
#pragma omp parallel for num_threads(dt__threads()) schedule(static) if (par)
  for (int64_t r = 0; r < rows; r++) {
    int64_t off[4] = {0, 0, 0, 0}, q = r;
    for (int d = m - 2; d >= 0; d--) {
      int64_t i = q % cs[d];
      q /= cs[d];
      for (int k = 0; k < nops; k++)
        off[k] += i * cst[k][d];
    }
    char *p[4] = {NULL, NULL, NULL, NULL};
    int64_t s[4] = {0, 0, 0, 0};
    for (int k = 0; k < nops; k++) {
      p[k] = base[k] + off[k] * (int64_t)esz[k];
      s[k] = cst[k][m - 1];
    }
    row(op, dt, len, p, s);
  }
}

/* Wrapping arithmetic in the unsigned type U of the same width. */
// clang-format off
#define DT_INT_ROW(T, U, NAME)                                                 \
static void NAME(int op, int64_t n, T *o, int64_t os, const T *a, int64_t as, \
                 const T *b, int64_t bs) {                                     \
  for (int64_t i = 0; i < n; i++) {                                            \
    U x = (U)a[i * as], y = b ? (U)b[i * bs] : 0, z;                           \
    switch (op) {                                                              \
    case DT__OP_ADD: z = x + y; break;                                         \
    case DT__OP_SUB: z = x - y; break;                                         \
    case DT__OP_MUL: z = x * y; break;                                         \
    default: z = (U)0 - x; break; /* NEG */                                    \
    }                                                                          \
    o[i * os] = (T)z;                                                          \
  }                                                                            \
}
// clang-format on
DT_INT_ROW(int32_t, uint32_t, int_row_i32)
DT_INT_ROW(int64_t, uint64_t, int_row_i64)

static void int_row(int op, dt_dtype dt, int64_t n, char *const *p,
                    const int64_t *s) {
  const void *b = p[2];
  if (dt == DT_INT32) {
    int_row_i32(op, n, (int32_t *)(void *)p[0], s[0],
                (const int32_t *)(const void *)p[1], s[1],
                (const int32_t *)b, s[2]);
  } else if (dt == DT_INT64) {
    int_row_i64(op, n, (int64_t *)(void *)p[0], s[0],
                (const int64_t *)(const void *)p[1], s[1],
                (const int64_t *)b, s[2]);
  } else { /* bool: add is "or", mul is "and" (values are 0 or 1) */
    uint8_t *o = (uint8_t *)p[0];
    const uint8_t *x = (const uint8_t *)p[1], *y = (const uint8_t *)p[2];
    for (int64_t i = 0; i < n; i++)
      o[i * s[0]] = op == DT__OP_MUL ? (uint8_t)(x[i * s[1]] & y[i * s[2]])
                                     : (uint8_t)(x[i * s[1]] | y[i * s[2]]);
  }
}

void dt__ew_int(dt__op op, int nd, const int64_t *shape, dt_dtype dt,
                void *out, const int64_t *ostride, const void *a,
                const int64_t *astride, const void *b, const int64_t *bstride) {
  size_t e = dt_dtype_size(dt);
  char *base[3] = {out, (char *)a, (char *)b};
  const int64_t *st[3] = {ostride, astride, bstride};
  size_t esz[3] = {e, e, e};
  /* NEG: two operands; the row function then gets b == NULL */
  walk((int)op, dt, b ? 3 : 2, nd, shape, base, esz, st, int_row);
}

// clang-format off
#define DT_CMP_ROW(T, NAME)                                                    \
static void NAME(int op, int64_t n, uint8_t *o, int64_t os, const T *a,       \
                 int64_t as, const T *b, int64_t bs) {                         \
  switch (op) {                                                                \
  case DT__EQ: for (int64_t i = 0; i < n; i++) o[i * os] = a[i * as] == b[i * bs]; break; \
  case DT__NE: for (int64_t i = 0; i < n; i++) o[i * os] = a[i * as] != b[i * bs]; break; \
  case DT__LT: for (int64_t i = 0; i < n; i++) o[i * os] = a[i * as] < b[i * bs]; break; \
  case DT__LE: for (int64_t i = 0; i < n; i++) o[i * os] = a[i * as] <= b[i * bs]; break; \
  case DT__GT: for (int64_t i = 0; i < n; i++) o[i * os] = a[i * as] > b[i * bs]; break; \
  default: for (int64_t i = 0; i < n; i++) o[i * os] = a[i * as] >= b[i * bs]; break; \
  }                                                                            \
}
// clang-format on
DT_CMP_ROW(float, cmp_row_f32)
DT_CMP_ROW(double, cmp_row_f64)
DT_CMP_ROW(int32_t, cmp_row_i32)
DT_CMP_ROW(int64_t, cmp_row_i64)
DT_CMP_ROW(uint8_t, cmp_row_u8)

static void cmp_row(int op, dt_dtype dt, int64_t n, char *const *p,
                    const int64_t *s) {
  uint8_t *o = (uint8_t *)p[0];
  switch (dt) {
  case DT_FLOAT32:
    cmp_row_f32(op, n, o, s[0], (const float *)(const void *)p[1], s[1],
                (const float *)(const void *)p[2], s[2]);
    break;
  case DT_FLOAT64:
    cmp_row_f64(op, n, o, s[0], (const double *)(const void *)p[1], s[1],
                (const double *)(const void *)p[2], s[2]);
    break;
  case DT_INT32:
    cmp_row_i32(op, n, o, s[0], (const int32_t *)(const void *)p[1], s[1],
                (const int32_t *)(const void *)p[2], s[2]);
    break;
  case DT_INT64:
    cmp_row_i64(op, n, o, s[0], (const int64_t *)(const void *)p[1], s[1],
                (const int64_t *)(const void *)p[2], s[2]);
    break;
  default:
    cmp_row_u8(op, n, o, s[0], (const uint8_t *)p[1], s[1],
               (const uint8_t *)p[2], s[2]);
    break;
  }
}

void dt__ew_cmp(dt__cmp op, int nd, const int64_t *shape, dt_dtype dt,
                void *out, const int64_t *ostride, const void *a,
                const int64_t *astride, const void *b, const int64_t *bstride) {
  size_t e = dt_dtype_size(dt);
  char *base[3] = {out, (char *)a, (char *)b};
  const int64_t *st[3] = {ostride, astride, bstride};
  size_t esz[3] = {1, e, e};
  walk((int)op, dt, 3, nd, shape, base, esz, st, cmp_row);
}

static void where_row(int op, dt_dtype dt, int64_t n, char *const *p,
                      const int64_t *s) {
  (void)op;
  const uint8_t *c = (const uint8_t *)p[1];
  size_t e = dt_dtype_size(dt);
  for (int64_t i = 0; i < n; i++) {
    const char *from = c[i * s[1]] ? p[2] + i * s[2] * (int64_t)e
                                   : p[3] + i * s[3] * (int64_t)e;
    memcpy(p[0] + i * s[0] * (int64_t)e, from, e);
  }
}

void dt__ew_where(int nd, const int64_t *shape, dt_dtype dt, void *out,
                  const int64_t *ostride, const void *c,
                  const int64_t *cstride, const void *a,
                  const int64_t *astride, const void *b,
                  const int64_t *bstride) {
  size_t e = dt_dtype_size(dt);
  char *base[4] = {out, (char *)c, (char *)a, (char *)b};
  const int64_t *st[4] = {ostride, cstride, astride, bstride};
  size_t esz[4] = {e, 1, e, e};
  walk(0, dt, 4, nd, shape, base, esz, st, where_row);
}
