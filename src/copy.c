/*
 * copy.c - moving elements between ranks: chunked point-to-point transfers,
 * packing strided shards, gathering to a root, gathering a selection.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- chunked transfers (MPI counts are int) ------------------------------ */

size_t dt__msg_max = DT_MSG_LIMIT;

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

/* ---- packing ------------------------------------------------------------- */

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
#pragma omp parallel for num_threads(dt__threads())                            \
    schedule(static) if (t->lnumel > 65536)
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
#pragma omp parallel for num_threads(dt__threads())                            \
    schedule(static) if (R.nruns > 64 && R.run_len * R.nruns > 65536)
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

/* ---- gather -------------------------------------------------------------- */

static int64_t box_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  return n;
}

/*
 * Gather to one root; the root holds buf plus one shard-sized buffer. The
 * buffers are allocated and agreed on before the first message.
 */
static dt_err gather_to(const dt_tensor *t, int root, void *buf) {
  dt_ctx *ctx = t->ctx;
  size_t esz = dt_dtype_size(t->dtype);
  if (t->layout->kind == DT__L_REPLICATED) {
    if (ctx->rank == root)
      dt__pack_local(t, buf);
    return DT_OK;
  }
  int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS];
  size_t need = 0;
  if (ctx->rank == root) { /* one buffer of the largest shard */
    for (int r = 0; r < ctx->size; r++) {
      dt__layout_box(t->layout, r, start, shape);
      size_t n = (size_t)box_numel(t->ndim, shape) * esz;
      need = n > need ? n : need;
    }
  } else if (!dt_is_contiguous(t)) {
    need = (size_t)t->lnumel * esz;
  }
  void *tmp = need ? dt__malloc(need) : NULL;
  dt_err err = (need && !tmp) || dt__fault(ctx->comm, "gather")
                   ? dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes", need)
                   : DT_OK;
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(tmp);
    return err;
  }
  if (ctx->rank != root) {
    size_t n = (size_t)t->lnumel * esz;
    if (n > 0 && tmp)
      dt__pack_local(t, tmp);
    if (n > 0)
      err = dt__send_bytes(tmp ? tmp : (void *)dt__local_ptr(t), n, root, 21,
                           ctx->comm);
    free(tmp);
    return err;
  }
  for (int r = 0; r < ctx->size && !err; r++) {
    dt__layout_box(t->layout, r, start, shape);
    size_t n = (size_t)box_numel(t->ndim, shape) * esz;
    if (n == 0)
      continue;
    if (r == root)
      dt__pack_local(t, tmp);
    else
      err = dt__recv_bytes(tmp, n, r, 21, ctx->comm);
    if (!err)
      dt__box_to_global(buf, tmp, t->ndim, t->shape, start, shape, esz);
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

/* ---- gather a selection (for printing) ----------------------------------- */

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
  int *counts = dt__malloc(sizeof(int) * (size_t)ctx->size);
  int *displs = dt__malloc(sizeof(int) * (size_t)ctx->size);
  char *packed = dt__malloc((size_t)mine.n * esz + 1);
  char *all = dt__malloc((size_t)total * esz + 1);
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

/* ---- clone --------------------------------------------------------------- */

static void contiguous_strides(int nd, const int64_t *shape, int64_t *st) {
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d];
  }
}

dt_err dt_clone(const dt_tensor *t, dt_tensor **out) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_tensor *c = NULL;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (!err) {
    *out = NULL;
    err = dt__tensor_alloc(t->ctx, t->dtype, t->layout, &c);
  }
  if (!err) /* clone keeps the graph */
    err = dt__record_unary(DT__OP_CLONE, t, c, NULL);
  err = dt__agree(t->ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(c);
    DT_RETURN(err);
  }
  if (t->lnumel > 0) {
    if (dt_is_contiguous(t))
      dt__memcpy_par(dt__local_ptr(c), dt__local_ptr(t),
                     (size_t)t->lnumel * dt_dtype_size(t->dtype));
    else
      dt__copy_strided(t->ndim, t->lshape, dt__local_ptr(c), c->dtype,
                       c->lstride, dt__local_ptr(t), t->dtype, t->lstride);
  }
  *out = c;
  return DT_OK;
}

/* ---- copy_: one exchange of box intersections ---------------------------- */

typedef dt__box box;

static int64_t box_vol(int nd, const box *b) {
  int64_t v = 1;
  for (int d = 0; d < nd; d++)
    v *= b->ext[d] > 0 ? b->ext[d] : 0;
  return v;
}

/* How src's axes sit under dst's (PyTorch broadcasting). */
typedef struct plan {
  const dt_tensor *dst, *src;
  int nd, ns, off;
  bool bcast[DT_MAX_DIMS]; /* src axis j is broadcast */
  bool fast;               /* same dtype, no broadcast: derived datatypes */
} plan;

static dt_err check_broadcast(const dt_tensor *dst, const dt_tensor *src,
                              plan *p) {
  char a[160], b[160];
  DT_CHECK(src->ndim <= dst->ndim, DT_ERR_SHAPE,
           "source shape %s has more dimensions than destination shape %s",
           dt__shape_str(a, sizeof a, src->ndim, src->shape),
           dt__shape_str(b, sizeof b, dst->ndim, dst->shape));
  p->dst = dst;
  p->src = src;
  p->nd = dst->ndim;
  p->ns = src->ndim;
  p->off = dst->ndim - src->ndim;
  bool any = p->off > 0;
  for (int j = 0; j < p->ns; j++) {
    int64_t s = src->shape[j], d = dst->shape[p->off + j];
    DT_CHECK(s == d || s == 1, DT_ERR_SHAPE,
             "source shape %s cannot be broadcast to destination shape %s",
             dt__shape_str(a, sizeof a, src->ndim, src->shape),
             dt__shape_str(b, sizeof b, dst->ndim, dst->shape));
    p->bcast[j] = s != d;
    any = any || p->bcast[j];
  }
  p->fast = !any && src->dtype == dst->dtype;
  return DT_OK;
}

/* The source box a destination box needs. */
static void project(const plan *p, const box *d, box *s) {
  for (int j = 0; j < p->ns; j++) {
    if (p->bcast[j]) {
      s->start[j] = 0;
      s->ext[j] = 1;
    } else {
      s->start[j] = d->start[p->off + j];
      s->ext[j] = d->ext[p->off + j];
    }
  }
}

static void layout_box(const dt_layout *l, int r, box *b) {
  dt__layout_box(l, r, b->start, b->ext);
}

/*
 * Write the elements of source region I (src coordinates), held at `base`
 * with element strides `sst` (position of I's origin at base), into this
 * rank's destination shard: every destination element whose source is in I.
 */
static void unpack_region(const plan *p, const box *I, const char *base,
                          dt_dtype sdt, const int64_t *sst) {
  const dt_tensor *dst = p->dst;
  box D;
  int64_t dstr[DT_MAX_DIMS];
  int64_t doff = 0;
  for (int dd = 0; dd < p->nd; dd++) {
    int j = dd - p->off;
    if (j < 0 || p->bcast[j]) {
      D.start[dd] = dst->lstart[dd];
      D.ext[dd] = dst->lshape[dd];
      dstr[dd] = 0;
    } else {
      D.start[dd] = I->start[j];
      D.ext[dd] = I->ext[j];
      dstr[dd] = sst[j];
    }
    doff += (D.start[dd] - dst->lstart[dd]) * dst->lstride[dd];
  }
  dt__copy_strided(p->nd, D.ext,
                   dt__local_ptr(dst) +
                       doff * (int64_t)dt_dtype_size(dst->dtype),
                   dst->dtype, dst->lstride, base, sdt, dstr);
}

/* Element offset of region I's origin inside this rank's shard of t. */
static int64_t region_offset(const dt_tensor *t, const box *I) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++)
    off += (I->start[d] - t->lstart[d]) * t->lstride[d];
  return off;
}

/*
 * Where a rank's source shard sits in its memory, for pulls, exchanged per
 * copy (views have their own windows) and only between the pairs of ranks
 * where a pull may pay. dst_last is the destination's last stride there.
 */
typedef struct card {
  uint64_t base;
  int64_t stride[DT_MAX_DIMS];
  int64_t dst_last;
} card;

/*
 * One region to move between this rank and a peer (global coordinates of
 * the source). `buf` is a packed copy (sends) or landing place (receives)
 * when the region is not moved straight from or into the shard.
 */
typedef struct item {
  int peer;
  box I;
  char *buf;
  bool cand;   /* a pull may pay: cards are exchanged with this peer */
  bool pulled; /* read by the receiver straight from the sender's shard */
  card theirs; /* the peer's card (cand only) */
  /* pulled receives (cma.c): rows read from the peer into this shard */
  int64_t nrows;
  uint64_t *remote;
  char **local;
} item;

/* How a region is cut into messages of at most DT_MSG_MAX bytes: along the
 * outermost axis c whose single index fits, `per` indices at a time. Both
 * sides cut the same region the same way, so pieces match. */
typedef struct cut {
  int c;
  int64_t per, outer, count;
} cut;

static cut cut_region(int nd, const box *I, size_t esz) {
  cut k = {0, 1, 1, 1};
  if (nd == 0)
    return k;
  int64_t row = (int64_t)esz;
  for (int d = 0; d < nd; d++)
    row *= I->ext[d];
  for (k.c = 0; k.c < nd; k.c++) {
    row /= I->ext[k.c];
    if (row <= (int64_t)DT_MSG_MAX)
      break;
  }
  if (k.c == nd) /* cannot happen while DT_MSG_MAX >= 8 */
    k.c = nd - 1;
  k.per = (int64_t)DT_MSG_MAX / (row ? row : 1);
  k.per = k.per < 1 ? 1 : k.per;
  for (int d = 0; d < k.c; d++)
    k.outer *= I->ext[d];
  k.count = k.outer * ((I->ext[k.c] + k.per - 1) / k.per);
  return k;
}

/* Everything one exchange needs, planned and allocated before any message
 * is posted. */
typedef struct xstate {
  dt__xplan geo;
  item *rx, *tx;
  int nrx, ntx;
  bool may_pull; /* every rank knows it: the same on all of them */
  card mine;
  MPI_Request *req;
  int nreq, cap;
} xstate;

/*
 * Post one region's pieces (the request array was sized with cut_region).
 * The region is dense at `base` with element strides `st` (a packed buffer,
 * or a dense window of the shard), so each piece is a run of bytes: no
 * derived datatype.
 */
static dt_err post_region(xstate *x, bool send, int peer, int nd, const box *I,
                          char *base, const int64_t *st, size_t esz,
                          MPI_Comm comm) {
  cut k = cut_region(nd, I, esz);
  for (int64_t o = 0; o < k.outer; o++) {
    box piece = *I;
    int64_t q = o;
    for (int d = k.c - 1; d >= 0; d--) {
      piece.start[d] = I->start[d] + q % I->ext[d];
      piece.ext[d] = 1;
      q /= I->ext[d];
    }
    int64_t n_c = nd ? I->ext[k.c] : 1;
    for (int64_t j = 0; j < n_c; j += k.per) {
      if (nd) {
        piece.start[k.c] = I->start[k.c] + j;
        piece.ext[k.c] = n_c - j < k.per ? n_c - j : k.per;
      }
      int64_t off = 0;
      for (int d = 0; d < nd; d++)
        off += (piece.start[d] - I->start[d]) * st[d];
      DT_ASSERT(x->nreq < x->cap);
      int n = (int)(box_vol(nd, &piece) * (int64_t)esz);
      char *p = base + off * (int64_t)esz;
      int rc =
          send ? MPI_Isend(p, n, MPI_BYTE, peer, 31, comm, &x->req[x->nreq])
               : MPI_Irecv(p, n, MPI_BYTE, peer, 31, comm, &x->req[x->nreq]);
      if (rc != MPI_SUCCESS)
        return dt__mpi_error(rc,
                             send ? "MPI_Isend (copy_)" : "MPI_Irecv (copy_)");
      x->nreq++;
    }
  }
  return DT_OK;
}

/*
 * Large strided regions are packed (by all threads) and sent as bytes:
 * Open MPI's shared-memory transport moves contiguous messages with one
 * kernel copy but non-contiguous ones through small bounce buffers, which
 * measured 2-4x slower; small strided ones are packed too, which is cheaper
 * than building and freeing a derived datatype per message.
 */
#define DT_PACK_MIN ((int64_t)256 << 10)

static bool region_dense(int nd, const int64_t *ext, const int64_t *st) {
  int64_t expect = 1;
  for (int d = nd - 1; d >= 0; d--) {
    if (ext[d] == 1)
      continue;
    if (st[d] != expect)
      return false;
    expect *= ext[d];
  }
  return true;
}

/* Straight from/into the shard, or through a buffer. */
static bool direct(const plan *p, int nd, const box *I, const int64_t *st) {
  return p->fast && region_dense(nd, I->ext, st);
}

static void free_items(item *v, int n) {
  for (int k = 0; v && k < n; k++) {
    free(v[k].buf);
    free(v[k].remote);
    free(v[k].local);
  }
  free(v);
}

static void xstate_free(xstate *s) {
  dt__xplan_free(&s->geo);
  free_items(s->rx, s->nrx);
  free_items(s->tx, s->ntx);
  free(s->req);
  *s = (xstate){0};
}

/* Pulls are worth it only for tensors of some size (the same on every
 * rank, so all know whether cards are exchanged at all). */
#define DT_PULL_MIN (2 * DT_PACK_MIN)

/*
 * May receiver q read region I straight out of sender p's memory? Only for
 * a large piece with long rows, both ranks on one node; known to both p and
 * q from the layouts. Whether it does also needs the cards (pulled()).
 */
static bool pull_candidate(const plan *pl, int p, int q, const box *I,
                           size_t esz) {
  const dt_ctx *ctx = pl->dst->ctx;
  int nd = pl->ns;
  return nd > 0 && ctx->cma_node[p] == ctx->cma_node[q] &&
         box_vol(nd, I) * (int64_t)esz >= DT_PACK_MIN &&
         I->ext[nd - 1] * (int64_t)esz >= 512;
}

/* A candidate is pulled when it is strided at the sender (which MPI would
 * move through bounce buffers or we would pack) and rows are contiguous on
 * both sides. Sender's and receiver's cards: both ranks decide alike. */
static bool pulled(int nd, const card *sender, const card *receiver,
                   const box *I) {
  return !region_dense(nd, I->ext, sender->stride) &&
         sender->stride[nd - 1] == 1 && receiver->dst_last == 1;
}

/* The row addresses of a pull: remote rows in p's shard, local in dst. */
static dt_err plan_pull(const plan *pl, const card *c, const box *I, item *it) {
  const dt_tensor *dst = pl->dst;
  int nd = pl->ns;
  size_t esz = dt_dtype_size(dst->dtype);
  int64_t rows = box_vol(nd, I) / I->ext[nd - 1];
  it->nrows = rows;
  it->remote = dt__malloc(sizeof *it->remote * (size_t)rows);
  it->local = dt__malloc(sizeof *it->local * (size_t)rows);
  DT_CHECK(it->remote && it->local, DT_ERR_NOMEM, "cannot allocate");
  box theirs;
  layout_box(pl->src->layout, it->peer, &theirs);
  for (int64_t r = 0; r < rows; r++) {
    int64_t q = r, roff = 0, loff = 0;
    for (int d = nd - 1; d >= 0; d--) {
      int64_t i = d == nd - 1 ? 0 : q % I->ext[d];
      if (d < nd - 1)
        q /= I->ext[d];
      int64_t g = I->start[d] + i;
      roff += (g - theirs.start[d]) * c->stride[d];
      loff += (g - dst->lstart[d]) * dst->lstride[d];
    }
    it->remote[r] = c->base + (uint64_t)(roff * (int64_t)esz);
    it->local[r] = dt__local_ptr(dst) + loff * (int64_t)esz;
  }
  return DT_OK;
}

static dt_err alloc_buf(item *it, int ns, size_t esz) {
  size_t nb = (size_t)box_vol(ns, &it->I) * esz;
  it->buf = dt__malloc(nb ? nb : 1);
  return it->buf ? DT_OK
                 : dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes", nb);
}

/*
 * Plan every region and allocate every buffer and request slot, locally:
 * the caller agrees on the result before the first message (an allocation
 * failure after posting would strand the peers in MPI_Waitall). Regions
 * that may be pulled get their buffers after the cards (settle_pulls).
 */
static dt_err prepare(const plan *p, xstate *s) {
  const dt_tensor *dst = p->dst, *src = p->src;
  dt_ctx *ctx = dst->ctx;
  size_t ssz = dt_dtype_size(src->dtype);
  *s = (xstate){0};
  dt_err err = DT_OK;
  if (src->layout->kind != DT__L_REPLICATED) {
    dt__xgeom g = {p->nd, p->ns, p->off, {false}};
    for (int j = 0; j < p->ns; j++)
      g.bcast[j] = p->bcast[j];
    err = dt__xplan_make(ctx->rank, src->layout, dst->layout, &g, &s->geo);
  }
  s->may_pull = ctx->cma && p->fast && ctx->size > 1 && p->ns > 0 &&
                src->layout->kind != DT__L_REPLICATED &&
                src->numel * (int64_t)ssz >= DT_PULL_MIN;
  s->mine.base = (uint64_t)(uintptr_t)dt__local_ptr(src);
  for (int d = 0; d < p->ns; d++)
    s->mine.stride[d] = src->lstride[d];
  s->mine.dst_last = p->nd ? dst->lstride[p->nd - 1] : 1;
  if (!err && s->geo.nrx > 0 &&
      !(s->rx = dt__calloc((size_t)s->geo.nrx, sizeof *s->rx)))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate");
  if (!err && s->geo.ntx > 0 &&
      !(s->tx = dt__calloc((size_t)s->geo.ntx, sizeof *s->tx)))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate");
  int64_t pieces = 0;
  for (int k = 0; !err && k < s->geo.nrx; k++) {
    item *it = &s->rx[s->nrx++];
    it->peer = s->geo.rx[k].peer;
    it->I = s->geo.rx[k].I;
    it->cand =
        s->may_pull && pull_candidate(p, it->peer, ctx->rank, &it->I, ssz);
    if (!it->cand && !direct(p, p->nd, &it->I, dst->lstride))
      err = alloc_buf(it, p->ns, ssz);
    pieces += cut_region(p->ns, &it->I, ssz).count + it->cand * 2;
  }
  for (int k = 0; !err && k < s->geo.ntx; k++) {
    item *it = &s->tx[s->ntx++];
    it->peer = s->geo.tx[k].peer;
    it->I = s->geo.tx[k].I;
    it->cand =
        s->may_pull && pull_candidate(p, ctx->rank, it->peer, &it->I, ssz);
    if (!it->cand && !direct(p, p->ns, &it->I, src->lstride))
      err = alloc_buf(it, p->ns, ssz);
    pieces += cut_region(p->ns, &it->I, ssz).count + it->cand * 2;
  }
  if (!err && dt__fault(ctx->comm, "copy"))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate (injected fault)");
  if (!err && pieces > INT32_MAX)
    err = dt__error(DT_ERR_OVERFLOW, "too many messages in one exchange");
  if (!err && pieces > 0) {
    s->req = dt__malloc(sizeof *s->req * (size_t)pieces);
    s->cap = (int)pieces;
    if (!s->req)
      err = dt__error(DT_ERR_NOMEM, "cannot allocate %lld requests",
                      (long long)pieces);
  }
  return err;
}

/*
 * Cards with the candidate peers only (point to point: both sides know the
 * candidates from the layouts), then which candidates are pulled, and the
 * buffers and row lists that follows. Local failures are left to the
 * caller's agreement; nothing else is posted before it.
 */
static dt_err settle_pulls(const plan *p, xstate *s) {
  const dt_tensor *dst = p->dst, *src = p->src;
  dt_ctx *ctx = dst->ctx;
  size_t ssz = dt_dtype_size(src->dtype);
  dt_err err = DT_OK;
  int n = 0;
  for (int side = 0; side < 2; side++) {
    item *v = side ? s->tx : s->rx;
    int nv = side ? s->ntx : s->nrx;
    for (int k = 0; !err && k < nv; k++) {
      if (!v[k].cand)
        continue;
      int rc = MPI_Irecv(&v[k].theirs, (int)sizeof(card), MPI_BYTE, v[k].peer,
                         32, ctx->comm, &s->req[n++]);
      if (rc == MPI_SUCCESS)
        rc = MPI_Isend(&s->mine, (int)sizeof(card), MPI_BYTE, v[k].peer, 32,
                       ctx->comm, &s->req[n++]);
      if (rc != MPI_SUCCESS)
        err = dt__mpi_error(rc, "exchanging shard addresses (copy_)");
    }
  }
  if (n) {
    int rc = MPI_Waitall(n, s->req, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS && !err)
      err = dt__mpi_error(rc, "MPI_Waitall (shard addresses)");
  }
  for (int k = 0; !err && k < s->nrx; k++) {
    item *it = &s->rx[k];
    if (!it->cand)
      continue;
    it->pulled = pulled(p->ns, &it->theirs, &s->mine, &it->I);
    if (it->pulled)
      err = plan_pull(p, &it->theirs, &it->I, it);
    else if (!direct(p, p->nd, &it->I, dst->lstride))
      err = alloc_buf(it, p->ns, ssz);
  }
  for (int k = 0; !err && k < s->ntx; k++) {
    item *it = &s->tx[k];
    if (!it->cand)
      continue;
    it->pulled = pulled(p->ns, &s->mine, &it->theirs, &it->I);
    if (!it->pulled && !direct(p, p->ns, &it->I, src->lstride))
      err = alloc_buf(it, p->ns, ssz);
  }
  return err;
}

/* Move the planned regions: receives first, so sends find them posted; my
 * own part while the messages fly; pulls; then unpack what came. */
static dt_err run(const plan *p, xstate *s) {
  const dt_tensor *dst = p->dst, *src = p->src;
  dt_ctx *ctx = dst->ctx;
  size_t ssz = dt_dtype_size(src->dtype);
  box mine_dst, mine_src, need;
  for (int d = 0; d < p->nd; d++) {
    mine_dst.start[d] = dst->lstart[d];
    mine_dst.ext[d] = dst->lshape[d];
  }
  for (int j = 0; j < p->ns; j++) {
    mine_src.start[j] = src->lstart[j];
    mine_src.ext[j] = src->lshape[j];
  }
  project(p, &mine_dst, &need);
  bool have_dst = box_vol(p->nd, &mine_dst) > 0;
  /* A replicated source is read where it is. */
  if (src->layout->kind == DT__L_REPLICATED) {
    if (have_dst)
      unpack_region(p, &need,
                    dt__local_ptr(src) +
                        region_offset(src, &need) * (int64_t)ssz,
                    src->dtype, src->lstride);
    return DT_OK;
  }
  dt_err err = DT_OK;
  s->nreq = 0;
  int64_t cst[DT_MAX_DIMS];
  for (int k = 0; !err && k < s->nrx; k++) {
    item *it = &s->rx[k];
    if (it->pulled)
      continue; /* below */
    if (it->buf) {
      contiguous_strides(p->ns, it->I.ext, cst);
      err = post_region(s, false, it->peer, p->ns, &it->I, it->buf, cst, ssz,
                        ctx->comm);
    } else {
      err = post_region(s, false, it->peer, p->nd, &it->I,
                        dt__local_ptr(dst) +
                            region_offset(dst, &it->I) * (int64_t)ssz,
                        dst->lstride, ssz, ctx->comm);
    }
  }
  for (int k = 0; !err && k < s->ntx; k++) {
    item *it = &s->tx[k];
    if (it->pulled)
      continue; /* the peer reads it from here */
    char *at = dt__local_ptr(src) + region_offset(src, &it->I) * (int64_t)ssz;
    if (it->buf) {
      contiguous_strides(p->ns, it->I.ext, cst);
      dt__copy_strided(p->ns, it->I.ext, it->buf, src->dtype, cst, at,
                       src->dtype, src->lstride);
      err = post_region(s, true, it->peer, p->ns, &it->I, it->buf, cst, ssz,
                        ctx->comm);
    } else {
      err = post_region(s, true, it->peer, p->ns, &it->I, at, src->lstride, ssz,
                        ctx->comm);
    }
  }
  /* my own part, while the messages fly */
  if (!err && have_dst) {
    box I;
    if (p->ns == 0 ? src->lnumel > 0
                   : dt__box_meet(p->ns, &need, &mine_src, &I)) {
      if (p->ns == 0)
        I = need;
      unpack_region(p, &I,
                    dt__local_ptr(src) + region_offset(src, &I) * (int64_t)ssz,
                    src->dtype, src->lstride);
    }
  }
  /* pulls: one copy, straight from the peers' shards */
  for (int k = 0; !err && k < s->nrx; k++)
    if (s->rx[k].pulled)
      err =
          dt__cma_read(ctx, s->rx[k].peer, s->rx[k].nrows, s->rx[k].remote,
                       s->rx[k].local, (size_t)s->rx[k].I.ext[p->ns - 1] * ssz);
  if (s->nreq) {
    int rc = MPI_Waitall(s->nreq, s->req, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS && !err)
      err = dt__mpi_error(rc, "MPI_Waitall (copy_)");
  }
  for (int k = 0; !err && k < s->nrx; k++)
    if (s->rx[k].buf) {
      contiguous_strides(p->ns, s->rx[k].I.ext, cst);
      unpack_region(p, &s->rx[k].I, s->rx[k].buf, src->dtype, cst);
    }
  return err;
}

/*
 * Collectives: one Allreduce (arguments, local planning and allocation,
 * overlap) before anything moves. With pulls possible (large tensors on
 * cross-memory attach; every rank knows), one more after the cards and one
 * after the transfer, since a pull can fail on the reader alone. Without
 * pulls nothing after the agreement can fail locally except MPI itself,
 * whose failures leave the peers' matching calls incomplete whatever one
 * does, so no agreement follows the transfer.
 */
dt_err dt_copy_(dt_tensor *dst, const dt_tensor *src) {
  if (!dst)
    DT_RETURN(dt__error(DT_ERR_NULL, "dst is NULL"));
  dt_ctx *ctx = dst->ctx;
  plan p;
  dt_err err = src ? DT_OK : dt__error(DT_ERR_NULL, "src is NULL");
  if (!err && src->ctx != ctx) {
    int cmp = MPI_UNEQUAL;
    MPI_Comm_compare(src->ctx->comm, ctx->comm, &cmp);
    if (cmp != MPI_IDENT && cmp != MPI_CONGRUENT)
      err = dt__error(DT_ERR_CONTEXT,
                      "src and dst live on contexts over different ranks");
  }
  if (!err)
    err = check_broadcast(dst, src, &p);
  /* As torch: into a leaf that requires grad, refused while recording;
   * otherwise recorded (CopyBackwards) when dst or src requires grad. */
  bool record =
      ctx->grad_enabled && src && (dst->requires_grad || src->requires_grad);
  if (!err && dst->requires_grad && !dst->grad_fn && ctx->grad_enabled)
    err = dt__error(DT_ERR_AUTOGRAD,
                    "a leaf Variable that requires grad is being used "
                    "in an in-place operation (turn grad mode off with "
                    "dt_set_grad_enabled, or copy into a detached view)");
  /* torch rebases the base of a view written in place (CopySlices); dtensor
   * does not track bases, so it refuses rather than lose gradients */
  if (!err && record && dst->grad_fn &&
      (dst->grad_fn->op == DT__OP_VIEW || dst->grad_fn->op == DT__OP_SLICE ||
       dst->grad_fn->op == DT__OP_TRANSPOSE))
    err = dt__error(DT_ERR_UNSUPPORTED,
                    "copy_ into a view of a tensor that requires grad is not "
                    "supported while grad mode is on (the view's base would "
                    "not see the new history); copy into the base, or clone");
  dt__node *node = NULL;
  if (!err && record) {
    const dt_tensor *ins[2] = {dst, src};
    err = dt__node_new(DT__OP_COPY, 2, ins, &node);
  }
  int64_t overlap = !err && dt_shares_memory(dst, src);
  uint64_t h = 0;
  if (!err) {
    h = dt__hash_mix(dt__layout_hash(dst->layout),
                     dt__layout_hash(src->layout));
    h = dt__hash_mix(h, (uint64_t)dst->dtype * 16 + (uint64_t)src->dtype);
  }
  /* planned before the agreement, so that one Allreduce covers it */
  xstate s = {0};
  if (!err && !overlap)
    err = prepare(&p, &s);
  err = dt__agree_max(ctx->comm, err, h, &overlap);
  dt_tensor *tmp = NULL;
  if (!err && overlap) { /* read all of src before writing any of dst */
    xstate_free(&s);
    bool prev = ctx->grad_enabled;
    ctx->grad_enabled = false;
    err = dt_clone(src, &tmp);
    ctx->grad_enabled = prev;
    if (!err) {
      p.src = tmp;
      err = dt__agree(ctx->comm, prepare(&p, &s), 0);
    }
  }
  if (!err && s.may_pull)
    err = dt__agree(ctx->comm, settle_pulls(&p, &s), 0);
  if (!err) {
    err = run(&p, &s);
    if (s.may_pull)
      err = dt__agree(ctx->comm, err, 0);
  }
  xstate_free(&s);
  dt_tensor_destroy(&tmp);
  if (!err)
    dt__bump_version(dst);
  if (!err && node) { /* dst's old graph is cut: the node now holds it */
    dt__node_unref(dst->grad_fn);
    dst->grad_fn = NULL;
    dt__node_attach(node, dst);
    node = NULL;
  }
  dt__node_unref(node);
  DT_RETURN(err);
}

dt_err dt_redistribute(const dt_tensor *t, const dt_opts *opts,
                       dt_tensor **out) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_layout *L = NULL;
  dt_dtype dt = opts && opts->dtype ? opts->dtype : t->dtype;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  if (!err && dt_dtype_size(dt) == 0)
    err = dt__error(DT_ERR_DTYPE, "unknown dtype %d", (int)dt);
  if (!err)
    err = dt__layout_from_opts(t->ctx, t->ndim, t->shape, opts, &L);
  err = dt__agree(t->ctx->comm, err, L ? dt__layout_hash(L) : 0);
  if (!err)
    err = dt__redistribute_layout(t, L, dt, out);
  dt__layout_unref(&L);
  DT_RETURN(err);
}
