/*
 * box.c - which part of a tensor each rank writes or reads, and how that
 * box is cut into pieces of bounded size (so a piece's checksum is computed
 * while the next one moves, and strided data are packed through a bounded
 * buffer).
 */
#include "io_internal.h"

size_t dt__io_piece_max = (size_t)1 << 30;

void dt__io_box_of(const dt_tensor *t, bool saving, dt__io_box *b) {
  size_t esz = dt_dtype_size(t->dtype);
  b->nd = t->ndim;
  b->base = dt__local_ptr(t);
  for (int d = 0; d < t->ndim; d++) {
    b->gshape[d] = t->shape[d];
    b->start[d] = t->lstart[d];
    b->shape[d] = t->lshape[d];
    b->stride[d] = t->lstride[d];
  }
  int P = t->ctx->size, r = t->ctx->rank;
  /* Every rank holds a replicated tensor (or a 0-d one) whole: each writes
   * its balanced share of axis 0, and rank 0 writes a 0-d tensor. */
  if (saving && (t->layout->kind == DT__L_REPLICATED || t->ndim == 0)) {
    if (t->ndim == 0) {
      b->numel = r == 0 ? 1 : 0;
      return;
    }
    int64_t a = dt__block_start(t->shape[0], P, r);
    int64_t e = dt__block_start(t->shape[0], P, r + 1);
    b->start[0] = a;
    b->shape[0] = e - a;
    if (b->base)
      b->base += a * b->stride[0] * (int64_t)esz;
  }
  b->numel = 1;
  for (int d = 0; d < b->nd; d++)
    b->numel *= b->shape[d];
}

void dt__io_plan_pieces(const dt__io_box *b, size_t esz, size_t limit,
                        dt__io_plan *pl) {
  *pl = (dt__io_plan){0, 1, 1, 0, 0};
  if (b->numel == 0)
    return;
  if (b->nd == 0) {
    pl->count = 1;
    pl->max_bytes = esz;
    return;
  }
  int64_t suffix[DT_MAX_DIMS + 1]; /* bytes of one index of axis d - 1 */
  suffix[b->nd] = (int64_t)esz;
  for (int d = b->nd - 1; d >= 0; d--)
    suffix[d] = suffix[d + 1] * b->shape[d];
  int k = 0;
  while (k < b->nd - 1 && (size_t)suffix[k + 1] > limit)
    k++;
  int64_t rows = (int64_t)(limit / (size_t)suffix[k + 1]);
  rows = rows < 1 ? 1 : rows > b->shape[k] ? b->shape[k] : rows;
  int64_t outer = 1;
  for (int d = 0; d < k; d++)
    outer *= b->shape[d];
  pl->k = k;
  pl->rows = rows;
  pl->per = (b->shape[k] + rows - 1) / rows;
  pl->count = outer * pl->per;
  pl->max_bytes = (size_t)(rows * suffix[k + 1]);
}

int64_t dt__io_piece(const dt__io_box *b, const dt__io_plan *pl, int64_t p,
                     int64_t *start, int64_t *cnt) {
  int64_t o = p / pl->per, c = p % pl->per, off = 0;
  for (int d = b->nd - 1; d >= 0; d--) {
    int64_t rel = 0;
    cnt[d] = b->shape[d];
    if (d < pl->k) {
      rel = o % b->shape[d];
      o /= b->shape[d];
      cnt[d] = 1;
    } else if (d == pl->k) {
      rel = c * pl->rows;
      cnt[d] = b->shape[d] - rel < pl->rows ? b->shape[d] - rel : pl->rows;
    }
    start[d] = b->start[d] + rel;
    off += rel * b->stride[d];
  }
  return off;
}

bool dt__io_dense(int nd, const int64_t *cnt, const int64_t *stride,
                  int64_t *ds) {
  bool ok = true;
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    ds[d] = s;
    ok = ok && (cnt[d] == 1 || stride[d] == s);
    s *= cnt[d];
  }
  return ok;
}

void dt__io_runs_of(const dt__io_box *b, const int64_t *st, const int64_t *cnt,
                    dt__io_runs *rs) {
  int nd = b->nd;
  rs->nd = nd;
  rs->run = rs->nruns = 1;
  rs->tail = 0;
  if (nd == 0) {
    rs->jx = 0;
    return;
  }
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    rs->gstride[d] = s;
    s *= b->gshape[d];
    rs->st[d] = st[d];
    rs->cnt[d] = cnt[d];
  }
  /* Axes after jx are whole in the piece: with jx, one run. */
  int jx = nd - 1;
  while (jx > 0 && cnt[jx] == b->gshape[jx])
    jx--;
  rs->jx = jx;
  for (int d = jx; d < nd; d++) {
    rs->run *= cnt[d];
    rs->tail += st[d] * rs->gstride[d];
  }
  for (int d = 0; d < jx; d++)
    rs->nruns *= cnt[d];
}

int64_t dt__io_run_at(const dt__io_runs *rs, int64_t r) {
  int64_t e = rs->tail;
  for (int d = rs->jx - 1; d >= 0; d--) {
    e += (rs->st[d] + r % rs->cnt[d]) * rs->gstride[d];
    r /= rs->cnt[d];
  }
  return e;
}
