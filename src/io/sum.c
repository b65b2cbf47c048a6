/*
 * io_sum.c - checksums computed while the I/O runs.
 *
 * A checkpoint records dt_checksum of every tensor and a load verifies it.
 * Computed before a save and after a load, the hash costs as much as the
 * transfer itself on a fast device, while the rank's other cores sit idle
 * during the writes, the fsync and the reads. So the calling thread does the
 * I/O (it alone calls MPI and HDF5) and the other OpenMP threads hash boxes
 * of the data meanwhile, a load's pieces as soon as they are in memory; the
 * calling thread joins the hashing when its I/O is done.
 *
 * The hash is dt_checksum's (checksum.c's dt__hash_stretch), summed here over
 * the boxes the I/O moves: every element of a tensor is counted by exactly one
 * rank (a replicated tensor's by the rank that writes it), so one MPI_Allreduce
 * of the partial sums gives dt_checksum's value.
 */
#include "io_internal.h"

#include <omp.h>
#include <string.h>
#include <time.h>

/* Elements hashed per work item. */
#define DT_SUM_CHUNK ((int64_t)1 << 18)
/* Below this many elements in all, hashing after the I/O costs less than
 * starting threads beside it. */
int64_t dt__io_overlap_min = (int64_t)1 << 20;

/* Sum over the box's elements at C-order positions [a, b). */
static uint64_t sum_range(const dt__io_box *bx, size_t esz, int64_t a,
                          int64_t b) {
  int nd = bx->nd;
  if (nd == 0)
    return a < b ? dt__hash_stretch(bx->base, esz, 1, 0, 1) : 0;
  int64_t gstride[DT_MAX_DIMS], s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    gstride[d] = s;
    s *= bx->gshape[d];
  }
  int64_t len = bx->shape[nd - 1];
  uint64_t acc = 0;
  while (a < b) {
    int64_t row = a / len, j = a % len;
    int64_t n = len - j < b - a ? len - j : b - a;
    int64_t off = j * bx->stride[nd - 1], g = bx->start[nd - 1] + j;
    for (int d = nd - 2; d >= 0; d--) {
      int64_t i = row % bx->shape[d];
      row /= bx->shape[d];
      off += i * bx->stride[d];
      g += (bx->start[d] + i) * gstride[d];
    }
    acc += dt__hash_stretch(bx->base + off * (int64_t)esz, esz,
                            bx->stride[nd - 1], (uint64_t)g, n);
    a += n;
  }
  return acc;
}

/* Work items of all sums, in order; item k of sum w covers positions
 * [lo + k * CHUNK, min(hi, lo + (k + 1) * CHUNK)). */
static int64_t items_of(const dt__io_sum *w) {
  return (w->hi - w->lo + DT_SUM_CHUNK - 1) / DT_SUM_CHUNK;
}

typedef struct pool {
  dt__io_sum *w;
  int n;
  int64_t total;
  atomic_llong next;
  atomic_int stop; /* the I/O failed: stop waiting for data */
} pool;

/* Take items until none is left. A load's items wait until their data are
 * in memory (w->ready), unless the I/O has given up. */
static void work(pool *p) {
  for (;;) {
    int64_t it = atomic_fetch_add(&p->next, 1), k = it;
    if (it >= p->total)
      return;
    int s = 0;
    while (k >= items_of(&p->w[s])) {
      k -= items_of(&p->w[s]);
      s++;
    }
    dt__io_sum *w = &p->w[s];
    int64_t a = w->lo + k * DT_SUM_CHUNK;
    int64_t b = a + DT_SUM_CHUNK < w->hi ? a + DT_SUM_CHUNK : w->hi;
    /* Sleep, not spin: the I/O thread may be busy-polling in MPI on the
     * same core. A piece takes milliseconds to arrive. */
    while (atomic_load(&w->ready) < b) {
      if (atomic_load(&p->stop))
        return;
      nanosleep(&(struct timespec){0, 50000}, NULL);
    }
    uint64_t v = sum_range(w->box, dt_dtype_size(w->dtype), a, b);
    atomic_fetch_add(&w->sum, v);
  }
}

dt_err dt__io_overlap(dt_err (*io)(void *), void *arg, dt__io_sum *w, int n) {
  pool p = {w, n, 0, 0, 0};
  int64_t elems = 0;
  for (int k = 0; k < n; k++) {
    p.total += items_of(&w[k]);
    elems += w[k].hi - w[k].lo;
    atomic_store(&w[k].sum, 0);
  }
  /* MPI and HDF5 stay on the calling thread; other threads may run beside
   * it only when MPI allows threads at all. At least two: the caller mostly
   * waits on the device. */
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  int nt = dt__threads() < 2 ? 2 : dt__threads();
  if (level < MPI_THREAD_FUNNELED || omp_in_parallel() ||
      elems < dt__io_overlap_min)
    nt = 1;
  dt_err err = DT_OK;
#pragma omp parallel num_threads(nt)
  {
    if (omp_get_thread_num() == 0) {
      err = io(arg);
      if (err)
        atomic_store(&p.stop, 1);
      else /* everything is in memory now */
        for (int k = 0; k < n; k++)
          atomic_store(&w[k].ready, w[k].hi);
    }
    if (!atomic_load(&p.stop))
      work(&p);
  }
  return err;
}
