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
  if (!err && t->lnumel > 0) {
    if (dt_is_contiguous(t)) {
      dt__memcpy_par(dt__local_ptr(c), dt__local_ptr(t),
                     (size_t)t->lnumel * dt_dtype_size(t->dtype));
    } else {
      dt__copy_strided(t->ndim, t->lshape, dt__local_ptr(c), c->dtype,
                       c->lstride, dt__local_ptr(t), t->dtype, t->lstride);
    }
  }
  err = dt__agree(t->ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(c);
    DT_RETURN(err);
  }
  err = dt__record_unary(DT__OP_CLONE, t, c, NULL); /* clone keeps the graph */
  err = dt__agree(t->ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(c);
    DT_RETURN(err);
  }
  *out = c;
  return DT_OK;
}

/* ---- copy_: one exchange of box intersections ---------------------------- */

typedef struct box {
  int64_t start[DT_MAX_DIMS], ext[DT_MAX_DIMS];
} box;

static int64_t box_vol(int nd, const box *b) {
  int64_t v = 1;
  for (int d = 0; d < nd; d++)
    v *= b->ext[d] > 0 ? b->ext[d] : 0;
  return v;
}

static bool box_intersect(int nd, const box *a, const box *b, box *out) {
  for (int d = 0; d < nd; d++) {
    int64_t lo = a->start[d] > b->start[d] ? a->start[d] : b->start[d];
    int64_t ha = a->start[d] + a->ext[d], hb = b->start[d] + b->ext[d];
    int64_t hi = ha < hb ? ha : hb;
    if (hi <= lo)
      return false;
    out->start[d] = lo;
    out->ext[d] = hi - lo;
  }
  return true;
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

/* A derived datatype for a box of `ext` with element strides `st`. */
static dt_err box_type(int nd, const int64_t *ext, const int64_t *st,
                       size_t esz, MPI_Datatype *type) {
  MPI_Datatype cur;
  DT_CALL_MPI(MPI_Type_contiguous((int)esz, MPI_BYTE, &cur));
  int64_t dense = 1; /* elements `cur` covers contiguously, or 0 */
  for (int d = nd - 1; d >= 0; d--) {
    if (ext[d] == 1)
      continue;
    MPI_Datatype next;
    int rc;
    if (dense && st[d] == dense)
      rc = MPI_Type_contiguous((int)ext[d], cur, &next);
    else
      rc = MPI_Type_create_hvector(
          (int)ext[d], 1, (MPI_Aint)(st[d] * (int64_t)esz), cur, &next);
    MPI_Type_free(&cur);
    if (rc != MPI_SUCCESS)
      return dt__mpi_error(rc, "building a box datatype");
    dense = dense && st[d] == dense ? dense * ext[d] : 0;
    cur = next;
  }
  DT_CALL_MPI(MPI_Type_commit(&cur));
  *type = cur;
  return DT_OK;
}

/* Growable list of requests and the datatypes/buffers they use. */
typedef struct xfer {
  MPI_Request *req;
  MPI_Datatype *types;
  int n, ntypes, cap, tcap;
  char **bufs;
  int nbufs, bcap;
} xfer;

static dt_err xfer_grow(xfer *x) {
  if (x->n == x->cap) {
    int cap = x->cap ? 2 * x->cap : 16;
    MPI_Request *r = realloc(x->req, sizeof *r * (size_t)cap);
    DT_CHECK(r, DT_ERR_NOMEM, "cannot allocate requests");
    x->req = r;
    x->cap = cap;
  }
  return DT_OK;
}

static dt_err xfer_keep_type(xfer *x, MPI_Datatype t) {
  if (x->ntypes == x->tcap) {
    int cap = x->tcap ? 2 * x->tcap : 16;
    MPI_Datatype *p = realloc(x->types, sizeof *p * (size_t)cap);
    if (!p) {
      MPI_Type_free(&t);
      return dt__error(DT_ERR_NOMEM, "cannot allocate datatypes");
    }
    x->types = p;
    x->tcap = cap;
  }
  x->types[x->ntypes++] = t;
  return DT_OK;
}

static char *xfer_buf(xfer *x, size_t n) {
  if (x->nbufs == x->bcap) {
    int cap = x->bcap ? 2 * x->bcap : 16;
    char **p = realloc(x->bufs, sizeof *p * (size_t)cap);
    if (!p)
      return NULL;
    x->bufs = p;
    x->bcap = cap;
  }
  char *b = malloc(n ? n : 1);
  if (b)
    x->bufs[x->nbufs++] = b;
  return b;
}

static dt_err xfer_wait(xfer *x) {
  if (x->n) {
    int rc = MPI_Waitall(x->n, x->req, MPI_STATUSES_IGNORE);
    x->n = 0;
    if (rc != MPI_SUCCESS)
      return dt__mpi_error(rc, "MPI_Waitall (copy_)");
  }
  return DT_OK;
}

static void xfer_free(xfer *x) {
  for (int k = 0; k < x->ntypes; k++)
    MPI_Type_free(&x->types[k]);
  for (int k = 0; k < x->nbufs; k++)
    free(x->bufs[k]);
  free(x->req);
  free(x->types);
  free(x->bufs);
  memset(x, 0, sizeof *x);
}

/*
 * Post one region between this rank and `peer`: in pieces of at most
 * DT_MSG_MAX bytes, cut along the outermost axis whose single index fits.
 * Both sides cut the same global region the same way, so pieces match.
 */
static dt_err post_region(xfer *x, bool send, int peer, int nd, const box *I,
                          char *base, const int64_t *st, size_t esz,
                          MPI_Comm comm) {
  int c = 0;
  int64_t inner = (int64_t)esz;
  for (int d = nd - 1; d >= 0; d--)
    inner *= I->ext[d];
  /* bytes of one index along axis c */
  int64_t row = inner;
  for (c = 0; c < nd; c++) {
    row /= I->ext[c];
    if (row <= (int64_t)DT_MSG_MAX)
      break;
  }
  if (c == nd && nd > 0) /* cannot happen while DT_MSG_MAX >= 8 */
    c = nd - 1;
  int64_t per = nd == 0 ? 1 : (int64_t)DT_MSG_MAX / (row ? row : 1);
  if (per < 1)
    per = 1;
  /* outer index space: axes before c */
  int64_t outer = 1;
  for (int d = 0; d < c; d++)
    outer *= I->ext[d];
  for (int64_t o = 0; o < outer; o++) {
    box piece = *I;
    int64_t q = o;
    for (int d = c - 1; d >= 0; d--) {
      piece.start[d] = I->start[d] + q % I->ext[d];
      piece.ext[d] = 1;
      q /= I->ext[d];
    }
    int64_t n_c = nd ? I->ext[c] : 1;
    for (int64_t k = 0; k < n_c; k += per) {
      if (nd) {
        piece.start[c] = I->start[c] + k;
        piece.ext[c] = n_c - k < per ? n_c - k : per;
      }
      int64_t off = 0;
      for (int d = 0; d < nd; d++)
        off += (piece.start[d] - I->start[d]) * st[d];
      MPI_Datatype t = MPI_DATATYPE_NULL;
      DT_CALL(box_type(nd, piece.ext, st, esz, &t));
      DT_CALL(xfer_keep_type(x, t));
      DT_CALL(xfer_grow(x));
      char *p = base + off * (int64_t)esz;
      int rc = send ? MPI_Isend(p, 1, t, peer, 31, comm, &x->req[x->n])
                    : MPI_Irecv(p, 1, t, peer, 31, comm, &x->req[x->n]);
      if (rc != MPI_SUCCESS)
        return dt__mpi_error(rc,
                             send ? "MPI_Isend (copy_)" : "MPI_Irecv (copy_)");
      x->n++;
    }
  }
  return DT_OK;
}

/*
 * Large strided regions are packed (by all threads) and sent as bytes rather
 * than described by a datatype: Open MPI's shared-memory transport moves
 * contiguous messages with one kernel copy but non-contiguous ones through
 * small bounce buffers, which measured 2-4x slower.
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

/* Received packed regions waiting to be unpacked. */
typedef struct pending {
  box I;
  char *buf;
} pending;

static dt_err exchange(const plan *p) {
  const dt_tensor *dst = p->dst, *src = p->src;
  dt_ctx *ctx = dst->ctx;
  int P = ctx->size, me = ctx->rank;
  size_t ssz = dt_dtype_size(src->dtype);
  box mine_dst, mine_src;
  for (int d = 0; d < p->nd; d++) {
    mine_dst.start[d] = dst->lstart[d];
    mine_dst.ext[d] = dst->lshape[d];
  }
  for (int j = 0; j < p->ns; j++) {
    mine_src.start[j] = src->lstart[j];
    mine_src.ext[j] = src->lshape[j];
  }
  box need;
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

  xfer x = {0};
  pending *pend = calloc((size_t)P, sizeof *pend);
  dt_err err = pend ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate");
  int64_t cst[DT_MAX_DIMS];
  /* Receives first, so sends find them posted. */
  for (int q = 1; !err && q < P && have_dst; q++) {
    int peer = (me - q + P) % P;
    box theirs, I;
    layout_box(src->layout, peer, &theirs);
    if (!box_intersect(p->ns, &need, &theirs, &I) && p->ns > 0)
      continue;
    if (p->ns == 0)
      continue; /* a 0-d source that is not replicated has one owner */
    if (p->fast && (region_dense(p->nd, I.ext, dst->lstride) ||
                    box_vol(p->nd, &I) * (int64_t)ssz < DT_PACK_MIN)) {
      err = post_region(&x, false, peer, p->nd, &I,
                        dt__local_ptr(dst) +
                            region_offset(dst, &I) * (int64_t)ssz,
                        dst->lstride, ssz, ctx->comm);
    } else {
      size_t nb = (size_t)box_vol(p->ns, &I) * ssz;
      char *buf = xfer_buf(&x, nb);
      if (!buf) {
        err = dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes", nb);
        break;
      }
      pend[peer].I = I;
      pend[peer].buf = buf;
      contiguous_strides(p->ns, I.ext, cst);
      err = post_region(&x, false, peer, p->ns, &I, buf, cst, ssz, ctx->comm);
    }
  }
  /* Sends: the part of my source box each peer needs. */
  for (int q = 1; !err && q < P && src->lnumel > 0; q++) {
    int peer = (me + q) % P;
    box theirs_dst, theirs_need, I;
    layout_box(dst->layout, peer, &theirs_dst);
    if (box_vol(p->nd, &theirs_dst) == 0 || p->ns == 0)
      continue;
    project(p, &theirs_dst, &theirs_need);
    if (!box_intersect(p->ns, &theirs_need, &mine_src, &I))
      continue;
    char *at = dt__local_ptr(src) + region_offset(src, &I) * (int64_t)ssz;
    if (p->fast && (region_dense(p->ns, I.ext, src->lstride) ||
                    box_vol(p->ns, &I) * (int64_t)ssz < DT_PACK_MIN)) {
      err = post_region(&x, true, peer, p->ns, &I, at, src->lstride, ssz,
                        ctx->comm);
    } else {
      size_t nb = (size_t)box_vol(p->ns, &I) * ssz;
      char *buf = xfer_buf(&x, nb);
      if (!buf) {
        err = dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes", nb);
        break;
      }
      contiguous_strides(p->ns, I.ext, cst);
      dt__copy_strided(p->ns, I.ext, buf, src->dtype, cst, at, src->dtype,
                       src->lstride);
      err = post_region(&x, true, peer, p->ns, &I, buf, cst, ssz, ctx->comm);
    }
  }
  /* My own part, while the messages fly. */
  if (!err && have_dst) {
    box I;
    if (p->ns == 0 ? src->lnumel > 0
                   : box_intersect(p->ns, &need, &mine_src, &I)) {
      if (p->ns == 0)
        I = need;
      unpack_region(p, &I,
                    dt__local_ptr(src) + region_offset(src, &I) * (int64_t)ssz,
                    src->dtype, src->lstride);
    }
  }
  /* Even after a local failure, complete what was posted so no peer and no
   * request is left hanging; the caller agrees on the outcome. */
  dt_err e = xfer_wait(&x);
  err = err ? err : e;
  for (int r = 0; !err && r < P; r++)
    if (pend[r].buf) {
      contiguous_strides(p->ns, pend[r].I.ext, cst);
      unpack_region(p, &pend[r].I, pend[r].buf, src->dtype, cst);
    }
  xfer_free(&x);
  free(pend);
  return err;
}

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
  if (!err && dst->requires_grad && ctx->grad_enabled)
    err = dt__error(DT_ERR_AUTOGRAD,
                    dst->grad_fn
                        ? "dst requires grad and is part of a graph: in-place "
                          "copies into such tensors are not supported"
                        : "a leaf Variable that requires grad is being used "
                          "in an in-place operation (turn grad mode off with "
                          "dt_set_grad_enabled, or copy into a detached view)");
  int64_t overlap = !err && dt_shares_memory(dst, src);
  uint64_t h = 0;
  if (!err) {
    h = dt__hash_mix(dt__layout_hash(dst->layout),
                     dt__layout_hash(src->layout));
    h = dt__hash_mix(h, (uint64_t)dst->dtype * 16 + (uint64_t)src->dtype);
  }
  err = dt__agree_max(ctx->comm, err, h, &overlap);
  if (err)
    DT_RETURN(err);
  /* Overlapping memory: read all of src before writing any of dst. */
  dt_tensor *tmp = NULL;
  if (overlap) {
    err = dt_clone(src, &tmp);
    if (err)
      DT_RETURN(err);
    p.src = tmp;
  }
  err = exchange(&p);
  err = dt__agree(ctx->comm, err, 0);
  dt_tensor_destroy(&tmp);
  if (!err)
    dt__bump_version(dst);
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
