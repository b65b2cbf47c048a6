/*
 * copy.c - moving elements between ranks: chunked point-to-point transfers,
 * packing strided shards, gathering to a root, gathering a selection.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- chunked transfers (MPI counts are int)
 * ------------------------------------- */

dt_err dt__send_bytes(const void *buf, size_t n, int dest, int tag,
                      MPI_Comm comm) {
  const char *p = buf;
  do {
    size_t m = n < DT_MSG_MAX ? n : DT_MSG_MAX;
    DT_CALL_MPI(MPI_Send(p, (int)m, MPI_BYTE, dest, tag, comm));
    p += m;
    n -= m;
  } while (n > 0);
  return DT_OK;
}

dt_err dt__recv_bytes(void *buf, size_t n, int src, int tag, MPI_Comm comm) {
  char *p = buf;
  do {
    size_t m = n < DT_MSG_MAX ? n : DT_MSG_MAX;
    DT_CALL_MPI(
        MPI_Recv(p, (int)m, MPI_BYTE, src, tag, comm, MPI_STATUS_IGNORE));
    p += m;
    n -= m;
  } while (n > 0);
  return DT_OK;
}

dt_err dt__bcast_bytes(void *buf, size_t n, int root, MPI_Comm comm) {
  char *p = buf;
  do {
    size_t m = n < DT_MSG_MAX ? n : DT_MSG_MAX;
    DT_CALL_MPI(MPI_Bcast(p, (int)m, MPI_BYTE, root, comm));
    p += m;
    n -= m;
  } while (n > 0);
  return DT_OK;
}

/* ---- packing
 * ------------------------------------------------------------------- */

/*
 * Visit the rows (all axes but the last) of an ndim box in C order; for each,
 * the offset of its first element in a strided source. The last axis has
 * extent shape[ndim-1] and stride stride[ndim-1].
 */
static int64_t row_offset(int ndim, const int64_t *shape, const int64_t *stride,
                          int64_t row) {
  int64_t off = 0;
  for (int d = ndim - 2; d >= 0; d--) {
    off += (row % shape[d]) * stride[d];
    row /= shape[d];
  }
  return off;
}

void dt__pack_local(const dt_tensor *t, void *dst) {
  size_t esz = dt_dtype_size(t->dtype);
  const char *src = dt__local_ptr(t);
  if (t->lnumel == 0)
    return;
  if (dt_is_contiguous(t)) {
    memcpy(dst, src, (size_t)t->lnumel * esz);
    return;
  }
  int nd = t->ndim;
  int64_t len = t->lshape[nd - 1], st = t->lstride[nd - 1];
  int64_t rows = t->lnumel / len;
#pragma omp parallel for schedule(static) if (t->lnumel > 65536)
  for (int64_t r = 0; r < rows; r++) {
    const char *s =
        src + row_offset(nd, t->lshape, t->lstride, r) * (int64_t)esz;
    char *d = (char *)dst + r * len * (int64_t)esz;
    if (st == 1) {
      memcpy(d, s, (size_t)len * esz);
    } else {
      for (int64_t i = 0; i < len; i++)
        memcpy(d + i * (int64_t)esz, s + i * st * (int64_t)esz, esz);
    }
  }
}

static void box_copy(void *global, void *box, int ndim, const int64_t *gshape,
                     const int64_t *start, const int64_t *shape, size_t esz,
                     bool to_global) {
  dt__runs R;
  dt__box_runs(ndim, gshape, start, shape, &R);
  size_t rb = (size_t)R.run_len * esz;
#pragma omp parallel for schedule(static) if (R.nruns > 64 &&                  \
                                              R.run_len * R.nruns > 65536)
  for (int64_t k = 0; k < R.nruns; k++) {
    char *g = (char *)global + dt__run_global(&R, k) * (int64_t)esz;
    char *b = (char *)box + (size_t)k * rb;
    if (to_global)
      memcpy(g, b, rb);
    else
      memcpy(b, g, rb);
  }
}

void dt__box_from_global(void *dst, const void *global, int ndim,
                         const int64_t *gshape, const int64_t *start,
                         const int64_t *shape, size_t elsize) {
  box_copy((void *)global, dst, ndim, gshape, start, shape, elsize, false);
}

void dt__box_to_global(void *global, const void *src, int ndim,
                       const int64_t *gshape, const int64_t *start,
                       const int64_t *shape, size_t elsize) {
  box_copy(global, (void *)src, ndim, gshape, start, shape, elsize, true);
}

/* ---- gather
 * ------------------------------------------------------------------------ */

static int64_t box_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  return n;
}

/* Gather to one root; the root holds buf plus one shard-sized buffer. */
static dt_err gather_to(const dt_tensor *t, int root, void *buf) {
  dt_ctx *ctx = t->ctx;
  size_t esz = dt_dtype_size(t->dtype);
  if (t->layout->kind == DT__L_REPLICATED) {
    if (ctx->rank == root)
      dt__pack_local(t, buf);
    return DT_OK;
  }
  int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS];
  if (ctx->rank != root) {
    size_t n = (size_t)t->lnumel * esz;
    if (n == 0)
      return DT_OK;
    if (dt_is_contiguous(t))
      return dt__send_bytes(dt__local_ptr(t), n, root, 21, ctx->comm);
    void *tmp = malloc(n);
    DT_CHECK(tmp, DT_ERR_NOMEM, "cannot allocate %zu bytes", n);
    dt__pack_local(t, tmp);
    dt_err err = dt__send_bytes(tmp, n, root, 21, ctx->comm);
    free(tmp);
    return err;
  }
  /* One buffer of the largest shard, reused for every rank. */
  int64_t maxn = 0;
  for (int r = 0; r < ctx->size; r++) {
    dt__layout_box(t->layout, r, start, shape);
    int64_t n = box_numel(t->ndim, shape);
    maxn = n > maxn ? n : maxn;
  }
  void *tmp = malloc((size_t)maxn * esz + 1);
  dt_err err = tmp ? DT_OK
                   : dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes",
                               (size_t)maxn * esz);
  for (int r = 0; r < ctx->size; r++) {
    dt__layout_box(t->layout, r, start, shape);
    size_t n = (size_t)box_numel(t->ndim, shape) * esz;
    if (n == 0)
      continue;
    if (r == root) {
      if (!err) {
        dt__pack_local(t, tmp);
        dt__box_to_global(buf, tmp, t->ndim, t->shape, start, shape, esz);
      }
      continue;
    }
    /* Even after a local failure, drain the senders so none blocks. */
    if (!tmp) {
      char sink[4096];
      for (size_t off = 0; off < n; off += sizeof sink) {
        size_t m = n - off < sizeof sink ? n - off : sizeof sink;
        MPI_Recv(sink, (int)m, MPI_BYTE, r, 21, ctx->comm, MPI_STATUS_IGNORE);
      }
      continue;
    }
    dt_err e = dt__recv_bytes(tmp, n, r, 21, ctx->comm);
    if (!e)
      dt__box_to_global(buf, tmp, t->ndim, t->shape, start, shape, esz);
    err = err ? err : e;
  }
  free(tmp);
  return err;
}

dt_err dt_gather(const dt_tensor *t, int root, void *buf) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_ctx *ctx = t->ctx;
  dt_err err = DT_OK;
  if (root != DT_ALL_RANKS && (root < 0 || root >= ctx->size))
    err = dt__error(DT_ERR_RANK, "root %d is outside 0..%d (or DT_ALL_RANKS)",
                    root, ctx->size - 1);
  bool receives = root == DT_ALL_RANKS || root == ctx->rank;
  if (!err && receives && t->numel > 0 && !buf)
    err = dt__error(DT_ERR_NULL, "buf is NULL on a receiving rank");
  uint64_t h =
      dt__hash_mix((uint64_t)(int64_t)root, dt__layout_hash(t->layout));
  err = dt__agree(ctx->comm, err, h);
  if (err)
    DT_RETURN(err);
  if (root == DT_ALL_RANKS && t->layout->kind == DT__L_REPLICATED) {
    dt__pack_local(t, buf);
    return DT_OK;
  }
  err = gather_to(t, root == DT_ALL_RANKS ? 0 : root, buf);
  err = dt__agree(ctx->comm, err, 0);
  if (!err && root == DT_ALL_RANKS && t->numel > 0) {
    err = dt__bcast_bytes(buf, (size_t)t->numel * dt_dtype_size(t->dtype), 0,
                          ctx->comm);
    err = dt__agree(ctx->comm, err, 0);
  }
  DT_RETURN(err);
}

/* ---- gather a selection (for printing)
 * ------------------------------------------------ */

/* Positions [lo, hi) of idx[] that fall inside [start, start + len). */
static void sel_range(const int64_t *idx, int64_t cnt, int64_t start,
                      int64_t len, int64_t *lo, int64_t *hi) {
  int64_t a = 0;
  while (a < cnt && idx[a] < start)
    a++;
  int64_t b = a;
  while (b < cnt && idx[b] < start + len)
    b++;
  *lo = a;
  *hi = b;
}

/* Visit the sub-selection of one box in C order: fn(k, pos[]) per element. */
typedef struct sel_box {
  int ndim;
  int64_t lo[DT_MAX_DIMS], hi[DT_MAX_DIMS];
  int64_t n;
} sel_box;

static void sel_box_make(sel_box *s, int ndim, int64_t *const *idx,
                         const int64_t *cnt, const int64_t *start,
                         const int64_t *shape) {
  s->ndim = ndim;
  s->n = 1;
  for (int d = 0; d < ndim; d++) {
    sel_range(idx[d], cnt[d], start[d], shape[d], &s->lo[d], &s->hi[d]);
    s->n *= s->hi[d] - s->lo[d];
  }
}

/* Position (per axis, in the selection) of the k-th element of the box. */
static void sel_box_pos(const sel_box *s, int64_t k, int64_t *pos) {
  for (int d = s->ndim - 1; d >= 0; d--) {
    int64_t ext = s->hi[d] - s->lo[d];
    pos[d] = s->lo[d] + k % ext;
    k /= ext;
  }
}

dt_err dt__gather_select(const dt_tensor *t, int64_t *const *idx,
                         const int64_t *cnt, void *buf) {
  dt_ctx *ctx = t->ctx;
  size_t esz = dt_dtype_size(t->dtype);
  int nd = t->ndim;
  /* C-order strides of the selection. */
  int64_t sstride[DT_MAX_DIMS];
  int64_t total = 1;
  for (int d = nd - 1; d >= 0; d--) {
    sstride[d] = total;
    total *= cnt[d];
  }
  const char *src = dt__local_ptr(t);
  sel_box mine;
  sel_box_make(&mine, nd, idx, cnt, t->lstart, t->lshape);
  int64_t pos[DT_MAX_DIMS];

  if (t->layout->kind == DT__L_REPLICATED || ctx->size == 1) {
    for (int64_t k = 0; k < mine.n; k++) {
      sel_box_pos(&mine, k, pos);
      int64_t off = 0, so = 0;
      for (int d = 0; d < nd; d++) {
        off += (idx[d][pos[d]] - t->lstart[d]) * t->lstride[d];
        so += pos[d] * sstride[d];
      }
      memcpy((char *)buf + so * (int64_t)esz, src + off * (int64_t)esz, esz);
    }
    return DT_OK;
  }

  /* Everyone packs its part; counts follow from the (replicated) layout. */
  int *counts = malloc(sizeof(int) * (size_t)ctx->size);
  int *displs = malloc(sizeof(int) * (size_t)ctx->size);
  char *packed = malloc((size_t)mine.n * esz + 1);
  char *all = malloc((size_t)total * esz + 1);
  dt_err err = DT_OK;
  if (total * (int64_t)esz >= INT32_MAX)
    err = dt__error(DT_ERR_OVERFLOW, "selection of %lld elements is too large",
                    (long long)total);
  else if (!counts || !displs || !packed || !all)
    err = dt__error(DT_ERR_NOMEM, "cannot allocate the selection buffers");
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    for (int64_t k = 0; k < mine.n; k++) {
      sel_box_pos(&mine, k, pos);
      int64_t off = 0;
      for (int d = 0; d < nd; d++)
        off += (idx[d][pos[d]] - t->lstart[d]) * t->lstride[d];
      memcpy(packed + k * (int64_t)esz, src + off * (int64_t)esz, esz);
    }
    int64_t disp = 0;
    for (int r = 0; r < ctx->size; r++) {
      int64_t s[DT_MAX_DIMS], n[DT_MAX_DIMS];
      sel_box b;
      dt__layout_box(t->layout, r, s, n);
      sel_box_make(&b, nd, idx, cnt, s, n);
      counts[r] = (int)(b.n * (int64_t)esz);
      displs[r] = (int)disp;
      disp += b.n * (int64_t)esz;
    }
    int rc = MPI_Allgatherv(packed, counts[ctx->rank], MPI_BYTE, all, counts,
                            displs, MPI_BYTE, ctx->comm);
    if (rc != MPI_SUCCESS)
      err = dt__mpi_error(rc, "MPI_Allgatherv (selection)");
  }
  if (!err) {
    for (int r = 0; r < ctx->size; r++) {
      int64_t s[DT_MAX_DIMS], n[DT_MAX_DIMS];
      sel_box b;
      dt__layout_box(t->layout, r, s, n);
      sel_box_make(&b, nd, idx, cnt, s, n);
      for (int64_t k = 0; k < b.n; k++) {
        sel_box_pos(&b, k, pos);
        int64_t so = 0;
        for (int d = 0; d < nd; d++)
          so += pos[d] * sstride[d];
        memcpy((char *)buf + so * (int64_t)esz,
               all + displs[r] + k * (int64_t)esz, esz);
      }
    }
  }
  free(counts);
  free(displs);
  free(packed);
  free(all);
  return err;
}
