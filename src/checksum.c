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
#include <immintrin.h>

/*
 * The vector loops for 4- and 8-byte elements, written out: the compiler's
 * version of loop4/loop8 multiplies every lane's index by DT_IDX_MUL, a
 * third 64-bit multiply per element beside fmix64's two. Here the products
 * (g + i) * DT_IDX_MUL advance by adding 16 * DT_IDX_MUL (the same wrapping
 * arithmetic, so the same bits), two vectors per step keep both multiply
 * pipes busy, and for 4-byte elements fmix64's first step folds into one
 * ternary op: x < 2^32, so (x ^ m) >> 33 == m >> 33 and
 * k ^ (k >> 33) = x ^ m ^ (m >> 33). About 1.3x (AVX-512) and 1.5x (AVX2)
 * the compiler's loops; the tails go through loop4/loop8.
 */
#define DT_C1 UINT64_C(0xff51afd7ed558ccd)
#define DT_C2 UINT64_C(0xc4ceb9fe1a85ec53)
#define DT_512                                                                 \
  __attribute__((target("avx512f,avx512dq"), always_inline)) static inline
#define DT_256 __attribute__((target("avx2"), always_inline)) static inline

/* fmix64 after its first xor-shift: the two multiplies and two xor-shifts */
DT_512 __m512i mix_rest512(__m512i k) {
  k = _mm512_mullo_epi64(k, _mm512_set1_epi64((long long)DT_C1));
  k = _mm512_xor_si512(k, _mm512_srli_epi64(k, 33));
  k = _mm512_mullo_epi64(k, _mm512_set1_epi64((long long)DT_C2));
  return _mm512_xor_si512(k, _mm512_srli_epi64(k, 33));
}

/* (g + l) * DT_IDX_MUL in lane l */
DT_512 __m512i idx512(uint64_t g) {
  __m512i l = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  return _mm512_mullo_epi64(
      _mm512_add_epi64(_mm512_set1_epi64((long long)g), l),
      _mm512_set1_epi64((long long)DT_IDX_MUL));
}

/* the lanes' wrapping sum (the intrinsic _mm512_reduce_add_epi64 adds as
 * signed long long, which overflows) */
DT_512 uint64_t hsum512(__m512i a) {
  uint64_t o[8];
  _mm512_storeu_si512((void *)o, a);
  return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}

__attribute__((target("avx512f,avx512dq"))) static uint64_t
hash4_avx512(const uint32_t *q, uint64_t g, int64_t n) {
  const __m512i st = _mm512_set1_epi64((long long)(16 * DT_IDX_MUL));
  __m512i m0 = idx512(g), m1 = idx512(g + 8);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i x0 =
        _mm512_cvtepu32_epi64(_mm256_loadu_si256((const void *)(q + i)));
    __m512i x1 =
        _mm512_cvtepu32_epi64(_mm256_loadu_si256((const void *)(q + i + 8)));
    __m512i k0 =
        _mm512_ternarylogic_epi64(x0, m0, _mm512_srli_epi64(m0, 33), 0x96);
    __m512i k1 =
        _mm512_ternarylogic_epi64(x1, m1, _mm512_srli_epi64(m1, 33), 0x96);
    a0 = _mm512_add_epi64(a0, mix_rest512(k0));
    a1 = _mm512_add_epi64(a1, mix_rest512(k1));
    m0 = _mm512_add_epi64(m0, st);
    m1 = _mm512_add_epi64(m1, st);
  }
  uint64_t acc = hsum512(_mm512_add_epi64(a0, a1));
  return acc + loop4(q + i, g + (uint64_t)i, n - i);
}

__attribute__((target("avx512f,avx512dq"))) static uint64_t
hash8_avx512(const uint64_t *q, uint64_t g, int64_t n) {
  const __m512i st = _mm512_set1_epi64((long long)(16 * DT_IDX_MUL));
  __m512i m0 = idx512(g), m1 = idx512(g + 8);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i k0 =
        _mm512_xor_si512(_mm512_loadu_si512((const void *)(q + i)), m0);
    __m512i k1 =
        _mm512_xor_si512(_mm512_loadu_si512((const void *)(q + i + 8)), m1);
    k0 = _mm512_xor_si512(k0, _mm512_srli_epi64(k0, 33));
    k1 = _mm512_xor_si512(k1, _mm512_srli_epi64(k1, 33));
    a0 = _mm512_add_epi64(a0, mix_rest512(k0));
    a1 = _mm512_add_epi64(a1, mix_rest512(k1));
    m0 = _mm512_add_epi64(m0, st);
    m1 = _mm512_add_epi64(m1, st);
  }
  uint64_t acc = hsum512(_mm512_add_epi64(a0, a1));
  return acc + loop8(q + i, g + (uint64_t)i, n - i);
}

/* AVX2 has no 64-bit multiply: k * c = lo(k) lo(c) + ((hi(k) lo(c) +
 * lo(k) hi(c)) << 32), the wrapping product, from three 32x32 multiplies. */
DT_256 __m256i mul256(__m256i k, uint64_t c) {
  __m256i cl = _mm256_set1_epi64x((long long)(c & 0xffffffffu));
  __m256i ch = _mm256_set1_epi64x((long long)(c >> 32));
  __m256i cross = _mm256_add_epi64(
      _mm256_mul_epu32(_mm256_srli_epi64(k, 32), cl), _mm256_mul_epu32(k, ch));
  return _mm256_add_epi64(_mm256_mul_epu32(k, cl),
                          _mm256_slli_epi64(cross, 32));
}

DT_256 __m256i mix_rest256(__m256i k) {
  k = mul256(k, DT_C1);
  k = _mm256_xor_si256(k, _mm256_srli_epi64(k, 33));
  k = mul256(k, DT_C2);
  return _mm256_xor_si256(k, _mm256_srli_epi64(k, 33));
}

DT_256 __m256i idx256(uint64_t g) {
  return _mm256_set_epi64x(
      (long long)((g + 3) * DT_IDX_MUL), (long long)((g + 2) * DT_IDX_MUL),
      (long long)((g + 1) * DT_IDX_MUL), (long long)(g * DT_IDX_MUL));
}

DT_256 uint64_t hsum256(__m256i a) {
  uint64_t o[4];
  _mm256_storeu_si256((void *)o, a);
  return o[0] + o[1] + o[2] + o[3];
}

__attribute__((target("avx2"))) static uint64_t
hash4_avx2(const uint32_t *q, uint64_t g, int64_t n) {
  const __m256i st = _mm256_set1_epi64x((long long)(8 * DT_IDX_MUL));
  __m256i m0 = idx256(g), m1 = idx256(g + 4);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i x0 = _mm256_cvtepu32_epi64(_mm_loadu_si128((const void *)(q + i)));
    __m256i x1 =
        _mm256_cvtepu32_epi64(_mm_loadu_si128((const void *)(q + i + 4)));
    __m256i k0 =
        _mm256_xor_si256(_mm256_xor_si256(x0, m0), _mm256_srli_epi64(m0, 33));
    __m256i k1 =
        _mm256_xor_si256(_mm256_xor_si256(x1, m1), _mm256_srli_epi64(m1, 33));
    a0 = _mm256_add_epi64(a0, mix_rest256(k0));
    a1 = _mm256_add_epi64(a1, mix_rest256(k1));
    m0 = _mm256_add_epi64(m0, st);
    m1 = _mm256_add_epi64(m1, st);
  }
  return hsum256(_mm256_add_epi64(a0, a1)) +
         loop4(q + i, g + (uint64_t)i, n - i);
}

__attribute__((target("avx2"))) static uint64_t
hash8_avx2(const uint64_t *q, uint64_t g, int64_t n) {
  const __m256i st = _mm256_set1_epi64x((long long)(8 * DT_IDX_MUL));
  __m256i m0 = idx256(g), m1 = idx256(g + 4);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i k0 =
        _mm256_xor_si256(_mm256_loadu_si256((const void *)(q + i)), m0);
    __m256i k1 =
        _mm256_xor_si256(_mm256_loadu_si256((const void *)(q + i + 4)), m1);
    k0 = _mm256_xor_si256(k0, _mm256_srli_epi64(k0, 33));
    k1 = _mm256_xor_si256(k1, _mm256_srli_epi64(k1, 33));
    a0 = _mm256_add_epi64(a0, mix_rest256(k0));
    a1 = _mm256_add_epi64(a1, mix_rest256(k1));
    m0 = _mm256_add_epi64(m0, st);
    m1 = _mm256_add_epi64(m1, st);
  }
  return hsum256(_mm256_add_epi64(a0, a1)) +
         loop8(q + i, g + (uint64_t)i, n - i);
}

__attribute__((target("avx2"))) static uint64_t
hash_avx2(const void *q, size_t esz, uint64_t g, int64_t n) {
  return esz == 1   ? loop1(q, g, n)
         : esz == 4 ? hash4_avx2(q, g, n)
                    : hash8_avx2(q, g, n);
}

__attribute__((target("avx512f,avx512dq"))) static uint64_t
hash_avx512(const void *q, size_t esz, uint64_t g, int64_t n) {
  return esz == 1   ? loop1(q, g, n)
         : esz == 4 ? hash4_avx512(q, g, n)
                    : hash8_avx512(q, g, n);
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
