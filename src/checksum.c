/*
 * checksum.c - a layout-invariant fingerprint: a wrapping sum over elements
 * of a hash of (global index, bits), so any partition into boxes, any thread
 * split and any reduction order give the same 64 bits.
 */
#include "internal.h"

#include <omp.h>
#include <string.h>

#define DT_IDX_MUL UINT64_C(0x9E3779B97F4A7C15)

static inline uint64_t elem_bits(const char *p, size_t esz) {
  if (esz == 1)
    return *(const uint8_t *)p;
  if (esz == 4) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
  }
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/*
 * The hash of a dense stretch: n elements q[0..n-1], global indices g,
 * g + 1, ... One loop, compiled for the baseline and, on x86-64, again for
 * AVX2 and for AVX-512 (which multiplies 64-bit lanes natively, several
 * times faster); the CPU picks at run time. Integer arithmetic in a wrapping
 * sum: every variant gives the same bits.
 */
#define DT_HASH_INLINE static inline __attribute__((always_inline))

DT_HASH_INLINE uint64_t loop1(const uint8_t *q, uint64_t g, int64_t n) {
  uint64_t acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; i++)
    acc += dt__fmix64((uint64_t)q[i] ^ ((g + (uint64_t)i) * DT_IDX_MUL));
  return acc;
}

DT_HASH_INLINE uint64_t loop4(const uint32_t *q, uint64_t g, int64_t n) {
  uint64_t acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; i++)
    acc += dt__fmix64((uint64_t)q[i] ^ ((g + (uint64_t)i) * DT_IDX_MUL));
  return acc;
}

DT_HASH_INLINE uint64_t loop8(const uint64_t *q, uint64_t g, int64_t n) {
  uint64_t acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; i++)
    acc += dt__fmix64(q[i] ^ ((g + (uint64_t)i) * DT_IDX_MUL));
  return acc;
}

static uint64_t hash_base(const void *q, size_t esz, uint64_t g, int64_t n) {
  return esz == 1 ? loop1(q, g, n) : esz == 4 ? loop4(q, g, n) : loop8(q, g, n);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define DT_HASH_X86 1
__attribute__((target("avx2"))) static uint64_t
hash_avx2(const void *q, size_t esz, uint64_t g, int64_t n) {
  return esz == 1 ? loop1(q, g, n) : esz == 4 ? loop4(q, g, n) : loop8(q, g, n);
}

__attribute__((target("avx512f,avx512dq"))) static uint64_t
hash_avx512(const void *q, size_t esz, uint64_t g, int64_t n) {
  return esz == 1 ? loop1(q, g, n) : esz == 4 ? loop4(q, g, n) : loop8(q, g, n);
}
#endif

int dt__hash_level;

static uint64_t hash_dense(const char *p, size_t esz, uint64_t g, int64_t n) {
#ifdef DT_HASH_X86
  int level = dt__hash_level;
  dt__isa isa = dt__isa_level();
  if (level == 0 && isa >= DT_ISA_AVX512)
    return hash_avx512(p, esz, g, n);
  if (level != 1 && isa >= DT_ISA_AVX2)
    return hash_avx2(p, esz, g, n);
#endif
  return hash_base(p, esz, g, n);
}

uint64_t dt__hash_stretch(const char *p, size_t esz, int64_t s, uint64_t g,
                          int64_t n) {
  if (s == 1)
    return hash_dense(p, esz, g, n);
  uint64_t acc = 0;
  for (int64_t i = 0; i < n; i++)
    acc += dt__fmix64(elem_bits(p + i * s * (int64_t)esz, esz) ^
                      ((g + (uint64_t)i) * DT_IDX_MUL));
  return acc;
}

uint64_t dt__checksum_finish(dt_dtype dtype, int ndim, const int64_t *shape,
                             uint64_t S) {
  uint64_t h = dt__fmix64((uint64_t)dtype);
  for (int d = 0; d < ndim; d++)
    h = dt__fmix64(h ^ (uint64_t)shape[d]);
  return dt__fmix64(S ^ h);
}

/*
 * Sum over the local elements whose position in the local C order is in
 * [a, b). Rows are stretches along the last axis (global stride 1).
 */
static uint64_t sum_local(const dt_tensor *t, int64_t a, int64_t b) {
  size_t esz = dt_dtype_size(t->dtype);
  const char *base = dt__local_ptr(t);
  int nd = t->ndim;
  if (nd == 0)
    return a < b ? dt__hash_stretch(base, esz, 1, 0, 1) : 0;
  int64_t len = t->lshape[nd - 1];
  int64_t gstride[DT_MAX_DIMS], s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    gstride[d] = s;
    s *= t->shape[d];
  }
  uint64_t acc = 0;
  while (a < b) {
    int64_t row = a / len, j = a % len;
    int64_t n = len - j < b - a ? len - j : b - a;
    int64_t off = 0, g = 0, r = row;
    for (int d = nd - 2; d >= 0; d--) {
      int64_t i = r % t->lshape[d];
      r /= t->lshape[d];
      off += i * t->lstride[d];
      g += (t->lstart[d] + i) * gstride[d];
    }
    off += j * t->lstride[nd - 1];
    g += t->lstart[nd - 1] + j;
    acc += dt__hash_stretch(base + off * (int64_t)esz, esz, t->lstride[nd - 1],
                            (uint64_t)g, n);
    a += n;
  }
  return acc;
}

dt_err dt_checksum(const dt_tensor *t, uint64_t *checksum) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_ctx *ctx = t->ctx;
  dt_err err = checksum ? DT_OK : dt__error(DT_ERR_NULL, "checksum is NULL");
  err = dt__agree(ctx->comm, err, dt__layout_hash(t->layout));
  if (err)
    DT_RETURN(err);
  /* Which local positions this rank counts: all of its box, or for a
   * replicated tensor its 1/P share, so every element counts once. */
  int64_t a = 0, b = t->lnumel;
  if (t->layout->kind == DT__L_REPLICATED) {
    a = dt__block_start(t->lnumel, ctx->size, ctx->rank);
    b = dt__block_start(t->lnumel, ctx->size, ctx->rank + 1);
  }
  uint64_t local = 0;
  int64_t n = b - a;
#pragma omp parallel reduction(+ : local) num_threads(dt__threads()) if (n > 65536)
  {
    int nt = 1, id = 0;
#ifdef _OPENMP
    nt = omp_get_num_threads();
    id = omp_get_thread_num();
#endif
    int64_t lo = a + dt__block_start(n, nt, id);
    int64_t hi = a + dt__block_start(n, nt, id + 1);
    local += sum_local(t, lo, hi);
  }
  uint64_t S = 0;
  int rc = MPI_Allreduce(&local, &S, 1, MPI_UINT64_T, MPI_SUM, ctx->comm);
  err =
      rc == MPI_SUCCESS ? DT_OK : dt__mpi_error(rc, "MPI_Allreduce (checksum)");
  err = dt__agree(ctx->comm, err, 0);
  if (err)
    DT_RETURN(err);
  *checksum = dt__checksum_finish(t->dtype, t->ndim, t->shape, S);
  return DT_OK;
}
