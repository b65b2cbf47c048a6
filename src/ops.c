/*
 * ops.c - kernels over strided local shards. Plain loops, a contiguous fast
 * path, OpenMP across rows; nothing here knows about MPI or layouts.
 */
#include "internal.h"

#include <omp.h>
#include <string.h>

/* Work below this many elements stays on the calling thread. */
#define DT_PAR_MIN 65536

void dt__memcpy_par(void *dst, const void *src, size_t n) {
  if (n < (size_t)DT_PAR_MIN * 8 || omp_in_parallel()) {
    memcpy(dst, src, n);
    return;
  }
#pragma omp parallel
  {
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    /* 4 KiB aligned pieces so threads never share a cache line */
    size_t pages = (n + 4095) / 4096;
    size_t a = pages * (size_t)id / (size_t)nt * 4096;
    size_t b = pages * (size_t)(id + 1) / (size_t)nt * 4096;
    if (b > n)
      b = n;
    if (a < b)
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
  if (rows == 1) {
    /* One long row: split it between threads. */
#pragma omp parallel if (par)
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
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; r++) {
    int64_t doff = 0, soff = 0, q = r;
    for (int d = m - 2; d >= 0; d--) {
      int64_t i = q % cs[d];
      q /= cs[d];
      doff += i * cds[d];
      soff += i * css[d];
    }
    copy_row((char *)dst + doff * (int64_t)dsz, ddt, cds[m - 1],
             (const char *)src + soff * (int64_t)ssz, sdt, css[m - 1], len);
  }
}
