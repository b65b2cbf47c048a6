/*
 * io_sum.c - checksums computed while the I/O runs.
 *
 * A checkpoint records dt_checksum of every tensor and a load verifies it.
 * Computed before a save and after a load, the hash costs as much as the
 * transfer itself on a fast device, while the rank's other cores sit idle
 * during the writes, the fsync and the reads. So the calling thread does the
 * I/O (it alone calls MPI and HDF5) and the other OpenMP threads hash boxes
 * of the data meanwhile, a load's pieces as soon as they are in memory; the
 * calling thread joins the hashing when its I/O is done, and between two
 * reads (dt__io_arrived) takes pieces the other threads have left behind,
 * or all of them when it runs alone, while they are still in its cache.
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
int64_t dt__io_sum_chunk = (int64_t)1 << 18;
#define DT_SUM_CHUNK dt__io_sum_chunk
/* Below this many elements in all, hashing after the I/O costs less than
 * starting threads beside it. */
int64_t dt__io_overlap_min = (int64_t)1 << 20;
bool dt__io_fused = true;

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

struct dt__io_pool {
  dt__io_sum *w;
  int n;
  int64_t total;
  atomic_llong next;
  atomic_int stop; /* the I/O failed: stop waiting for data */
  bool alone;      /* no thread hashes beside the I/O */
};
typedef struct dt__io_pool pool;

/* Item `it` (< p->total): its sum and its positions [*a, *b). */
static dt__io_sum *item_range(pool *p, int64_t it, int64_t *a, int64_t *b) {
  int s = 0;
  while (it >= items_of(&p->w[s])) {
    it -= items_of(&p->w[s]);
    s++;
  }
  dt__io_sum *w = &p->w[s];
  *a = w->lo + it * DT_SUM_CHUNK;
  *b = *a + DT_SUM_CHUNK < w->hi ? *a + DT_SUM_CHUNK : w->hi;
  return w;
}

static void hash_item(dt__io_sum *w, int64_t a, int64_t b) {
  uint64_t v = sum_range(w->box, dt_dtype_size(w->dtype), a, b);
  atomic_fetch_add(&w->sum, v);
}

/* Take items until none is left. A load's items wait until their data are
 * in memory (w->ready), unless the I/O has given up. */
static void work(pool *p) {
  for (;;) {
    int64_t it = atomic_fetch_add(&p->next, 1), a, b;
    if (it >= p->total)
      return;
    dt__io_sum *w = item_range(p, it, &a, &b);
    /* Sleep, not spin: the I/O thread may be busy-polling in MPI on the
     * same core. A piece takes milliseconds to arrive. */
    while (atomic_load(&w->ready) < b) {
      if (atomic_load(&p->stop))
        return;
      nanosleep(&(struct timespec){0, 50000}, NULL);
    }
    hash_item(w, a, b);
  }
}

/* Whether item `it` exists and its data are all in memory. */
static bool item_ready(pool *p, int64_t it) {
  int64_t a, b;
  return it < p->total &&
         atomic_load(&item_range(p, it, &a, &b)->ready) >= b;
}

/* The I/O thread, between two reads: hash the items whose data are all in
 * memory and that no thread has taken. Alone (no other thread), it so
 * hashes every piece right after reading it, while the piece is still in
 * its cache; beside hashing threads, which keep up with the reads on an
 * idle machine, it takes an item only when a second one is waiting behind
 * it (they fall behind), so the reads are not delayed for nothing. */
static void help(pool *p) {
  for (;;) {
    long long it = atomic_load(&p->next); /* atomic_llong's type */
    int64_t a, b;
    if (!item_ready(p, it) || (!p->alone && !item_ready(p, it + 1)))
      return;
    dt__io_sum *w = item_range(p, it, &a, &b);
    if (atomic_compare_exchange_weak(&p->next, &it, it + 1))
      hash_item(w, a, b);
  }
}

void dt__io_arrived(dt__io_sum *w, int64_t n) {
  atomic_fetch_add(&w->ready, n);
  if (w->pool)
    help(w->pool);
}

dt_err dt__io_overlap(dt_err (*io)(void *), void *arg, dt__io_sum *w, int n) {
  pool p = {w, n, 0, 0, 0, false};
  int64_t elems = 0;
  for (int k = 0; k < n; k++) {
    p.total += items_of(&w[k]);
    elems += w[k].hi - w[k].lo;
    atomic_store(&w[k].sum, 0);
    w[k].pool = dt__io_fused ? &p : NULL;
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
  p.alone = nt == 1;
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
  for (int k = 0; k < n; k++)
    w[k].pool = NULL; /* p ends here */
  return err;
}
