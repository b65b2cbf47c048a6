/*
 * bench_limits.c - the raw kernels an operation is measured against: fills
 * (memset, non-temporal stores), copies (memcpy, non-temporal), vectorised
 * reads and elementwise loops, one 8-byte MPI_Allreduce.
 *
 * Every kernel runs on the library's thread count (dt_num_threads), each
 * thread on one contiguous slice, so a limit is what this machine can do
 * with the same cores, not one thread against many.
 *
 * Non-temporal stores: SSE2 intrinsics on x86-64 (SSE2 is part of the
 * baseline, so no extra compile flag), a plain loop elsewhere.
 */
#include "bench.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#define BENCH_SSE2 1
#endif

bool bench_all_ok(MPI_Comm comm, bool ok) {
  int mine = ok, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LAND, comm);
  return all != 0;
}

const char *bench_kernel_name(bench_kernel k) {
  static const char *const names[] = {
      [BK_MEMSET] = "memset",       [BK_NT_FILL] = "nt-store",
      [BK_MEMCPY] = "memcpy",       [BK_NT_COPY] = "nt-copy",
      [BK_READ32] = "simd-read",    [BK_READ64] = "simd-read",
      [BK_ADD32] = "simd-add-loop", [BK_MUL32] = "simd-mul-loop"};
  return names[k];
}

/* Thread id's slice [*a, *b) of n bytes, cut at 64-byte boundaries. */
static void slice(size_t n, size_t *a, size_t *b) {
  size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
  size_t lines = (n + 63) / 64;
  *a = lines * id / nt * 64;
  *b = lines * (id + 1) / nt * 64;
  if (*a > n)
    *a = n;
  if (*b > n)
    *b = n;
}

void *bench_buffer(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 64, n ? n : 1) != 0)
    return NULL;
  /* first touch by the threads that will use each slice */
#pragma omp parallel num_threads(dt_num_threads())
  {
    size_t a, b;
    slice(n, &a, &b);
    if (a < b)
      memset((char *)p + a, 0x5a, b - a);
  }
  return p;
}

static void nt_fill(unsigned char *p, int value, size_t n) {
#ifdef BENCH_SSE2
  size_t head = (size_t)(-(uintptr_t)p & 15);
  if (head > n)
    head = n;
  memset(p, value, head);
  __m128i v = _mm_set1_epi8((char)value);
  size_t i = head;
  for (; i + 64 <= n; i += 64) {
    _mm_stream_si128((__m128i *)(void *)(p + i), v);
    _mm_stream_si128((__m128i *)(void *)(p + i + 16), v);
    _mm_stream_si128((__m128i *)(void *)(p + i + 32), v);
    _mm_stream_si128((__m128i *)(void *)(p + i + 48), v);
  }
  for (; i + 16 <= n; i += 16)
    _mm_stream_si128((__m128i *)(void *)(p + i), v);
  _mm_sfence();
  memset(p + i, value, n - i);
#else
  memset(p, value, n);
#endif
}

static void nt_copy(unsigned char *d, const unsigned char *s, size_t n) {
#ifdef BENCH_SSE2
  size_t head = (size_t)(-(uintptr_t)d & 15);
  if (head > n)
    head = n;
  memcpy(d, s, head);
  size_t i = head;
  for (; i + 64 <= n; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 32));
    __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 48));
    _mm_stream_si128((__m128i *)(void *)(d + i), a);
    _mm_stream_si128((__m128i *)(void *)(d + i + 16), b);
    _mm_stream_si128((__m128i *)(void *)(d + i + 32), c);
    _mm_stream_si128((__m128i *)(void *)(d + i + 48), e);
  }
  _mm_sfence();
  memcpy(d + i, s + i, n - i);
#else
  memcpy(d, s, n);
#endif
}

/* Results read back so no kernel is dropped as dead code. */
static volatile double sink;

typedef struct kjob {
  bench_kernel k;
  int value;
  size_t bytes;
  bool fresh;
  unsigned char *dst;
  const unsigned char *src, *src2;
} kjob;

static void run_kernel(const kjob *j, unsigned char *dst) {
  double total = 0;
#pragma omp parallel num_threads(dt_num_threads()) reduction(+ : total)
  {
    size_t a, b;
    slice(j->bytes, &a, &b);
    size_t n = b > a ? b - a : 0;
    switch (j->k) {
    case BK_MEMSET:
      memset(dst + a, j->value, n);
      break;
    case BK_NT_FILL:
      nt_fill(dst + a, j->value, n);
      break;
    case BK_MEMCPY:
      memcpy(dst + a, j->src + a, n);
      break;
    case BK_NT_COPY:
      nt_copy(dst + a, j->src + a, n);
      break;
    case BK_READ32: {
      const float *x = (const float *)(const void *)(j->src + a);
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t i = 0; i < n / 4; i++)
        s += x[i];
      total += s;
      break;
    }
    case BK_READ64: {
      const double *x = (const double *)(const void *)(j->src + a);
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t i = 0; i < n / 8; i++)
        s += x[i];
      total += s;
      break;
    }
    case BK_ADD32:
    case BK_MUL32: {
      float *o = (float *)(void *)(dst + a);
      const float *x = (const float *)(const void *)(j->src + a);
      const float *y = (const float *)(const void *)(j->src2 + a);
      if (j->k == BK_ADD32) {
#pragma omp simd
        for (size_t i = 0; i < n / 4; i++)
          o[i] = x[i] + y[i];
      } else {
#pragma omp simd
        for (size_t i = 0; i < n / 4; i++)
          o[i] = x[i] * y[i];
      }
      break;
    }
    }
  }
  sink = total + (j->bytes ? dst[j->bytes - 1] : 0);
}

static dt_err kernel_once(void *arg) {
  kjob *j = arg;
  if (!j->fresh) {
    run_kernel(j, j->dst);
    return DT_OK;
  }
  unsigned char *d = NULL;
  if (posix_memalign((void **)&d, 64, j->bytes ? j->bytes : 1) != 0)
    return DT_ERR_NOMEM;
  run_kernel(j, d);
  free(d);
  return DT_OK;
}

dt_err bench_limit(bench *b, bench_kernel k, int value, size_t bytes,
                   bool fresh, bench_stats *st) {
  bool reads = k != BK_MEMSET && k != BK_NT_FILL;
  bool two = k == BK_ADD32 || k == BK_MUL32;
  bool writes = k != BK_READ32 && k != BK_READ64;
  kjob j = {k, value, bytes, fresh, NULL, NULL, NULL};
  if (writes && !fresh)
    j.dst = bench_buffer(bytes);
  if (reads)
    j.src = bench_buffer(bytes);
  if (two)
    j.src2 = bench_buffer(bytes);
  /* READ kernels write nothing: dst is the source, for the sink. */
  if (!writes)
    j.dst = (unsigned char *)j.src;
  bool ok = (!writes || fresh || j.dst) && (!reads || j.src) &&
            (!two || j.src2);
  dt_err err = bench_all_ok(b->comm, ok)
                   ? DT_OK
                   : bench_fail(b, DT_ERR_NOMEM,
                                "cannot allocate the limit's buffers");
  char what[64];
  snprintf(what, sizeof what, "limit %s%s", bench_kernel_name(k),
           fresh ? " (fresh)" : "");
  if (!err)
    err = bench_time(b, what, NULL, kernel_once, &j, st);
  if (fresh && !writes)
    j.dst = NULL;
  if (writes && !fresh)
    free(j.dst);
  free((void *)j.src);
  free((void *)j.src2);
  b->ops_planned++; /* limits were not in the plan */
  return err;
}

dt_err bench_limit_best(bench *b, bench_kernel k1, bench_kernel k2, int value,
                        size_t bytes, bool fresh, bench_stats *st,
                        const char **name) {
  bench_stats s2;
  dt_err err = bench_limit(b, k1, value, bytes, fresh, st);
  if (!err)
    err = bench_limit(b, k2, value, bytes, fresh, &s2);
  *name = bench_kernel_name(k1);
  if (!err && s2.med < st->med) {
    *st = s2;
    *name = bench_kernel_name(k2);
  }
  return err;
}

static dt_err allreduce_once(void *arg) {
  MPI_Comm comm = *(MPI_Comm *)arg;
  double x = 1.0, y = 0.0;
  if (MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS)
    return DT_ERR_MPI;
  sink = y;
  return DT_OK;
}

dt_err bench_allreduce8(bench *b, bench_stats *st) {
  MPI_Comm comm = b->comm;
  b->ops_planned++;
  return bench_time(b, "limit MPI_Allreduce 8 bytes", NULL, allreduce_once,
                    &comm, st);
}
