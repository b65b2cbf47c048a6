/*
 * memcopy.c - the byte copy under clone and every contiguous copy: plain
 * memcpy while the data fits in cache, non-temporal (streaming) stores
 * beyond it.
 *
 * A cached store first reads the destination line (read for ownership), so
 * a large memcpy moves three bytes over the memory bus for every two it
 * copies and evicts the cache on the way; streaming stores write the line
 * without reading it. Measured on this project's machine (AMD EPYC, 32 MiB
 * L3, one thread): memcpy 30 GB/s at 1-4 MiB, 21 at 8, 13 at 64 MiB;
 * AVX-512 streaming 28 GB/s at 1-8 MiB, 18-20 at 32-64 MiB. The crossover
 * is near a quarter of the LLC (a copy touches twice its size, and the
 * ranks of a node share the LLC), which is the threshold used.
 *
 * The copy is the same bytes on every path, so dispatch (dt__isa_level)
 * only changes speed; the portable path is memcpy.
 */
#define _GNU_SOURCE /* _SC_LEVEL3_CACHE_SIZE */
#include "internal.h"

#include <string.h>
#include <unistd.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define DT_HAVE_X86 1
#endif

#ifdef DT_HAVE_X86
/* Streaming stores need an aligned destination: a cached head up to the
 * next 64-byte boundary, streamed 64-byte lines, a cached tail. */
__attribute__((target("avx2"))) static void nt_avx2(char *d, const char *s,
                                                    size_t n) {
  size_t head = (size_t)(-(uintptr_t)d & 63);
  if (head > n)
    head = n;
  memcpy(d, s, head);
  size_t i = head;
  for (; i + 128 <= n; i += 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 32));
    __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 64));
    __m256i e = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 96));
    _mm256_stream_si256((__m256i *)(void *)(d + i), a);
    _mm256_stream_si256((__m256i *)(void *)(d + i + 32), b);
    _mm256_stream_si256((__m256i *)(void *)(d + i + 64), c);
    _mm256_stream_si256((__m256i *)(void *)(d + i + 96), e);
  }
  _mm_sfence();
  memcpy(d + i, s + i, n - i);
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void
nt_avx512(char *d, const char *s, size_t n) {
  size_t head = (size_t)(-(uintptr_t)d & 63);
  if (head > n)
    head = n;
  memcpy(d, s, head);
  size_t i = head;
  for (; i + 256 <= n; i += 256) {
    __m512i a = _mm512_loadu_si512((const void *)(s + i));
    __m512i b = _mm512_loadu_si512((const void *)(s + i + 64));
    __m512i c = _mm512_loadu_si512((const void *)(s + i + 128));
    __m512i e = _mm512_loadu_si512((const void *)(s + i + 192));
    _mm512_stream_si512((void *)(d + i), a);
    _mm512_stream_si512((void *)(d + i + 64), b);
    _mm512_stream_si512((void *)(d + i + 128), c);
    _mm512_stream_si512((void *)(d + i + 192), e);
  }
  for (; i + 64 <= n; i += 64)
    _mm512_stream_si512((void *)(d + i),
                        _mm512_loadu_si512((const void *)(s + i)));
  _mm_sfence();
  memcpy(d + i, s + i, n - i);
}
#endif

void dt__memcpy_nt(void *dst, const void *src, size_t n) {
#ifdef DT_HAVE_X86
  switch (dt__isa_level()) {
  case DT_ISA_AVX512:
    nt_avx512(dst, src, n);
    return;
  case DT_ISA_AVX2:
    nt_avx2(dst, src, n);
    return;
  default:
    break;
  }
#endif
  memcpy(dst, src, n);
}

/* A quarter of the LLC, read once. Virtual machines report odd sizes (this
 * one's sysconf says 320 MiB for a 32 MiB L3), so the LLC is taken as at
 * most 32 MiB; 8 MiB when it is unknown. */
static size_t nt_min(void) {
  static _Atomic size_t cached;
  size_t v = atomic_load_explicit(&cached, memory_order_relaxed);
  if (v == 0) {
    long llc = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    size_t c = llc > 0 ? (size_t)llc : (size_t)32 << 20;
    if (c > ((size_t)32 << 20))
      c = (size_t)32 << 20;
    v = c / 4 > ((size_t)1 << 20) ? c / 4 : (size_t)1 << 20;
    atomic_store(&cached, v);
  }
  return v;
}

bool dt__copy_streams(size_t n) {
  return n >= nt_min() && dt__isa_level() != DT_ISA_PORTABLE;
}
