/*
 * save_chunked.c - chunked, compressed datasets of a checkpoint
 * (dt_save_opts.chunk_bytes, deflate, shuffle), and the rules dt_load
 * applies to them.
 *
 * save.c creates a chunked dataset empty (chunks allocated as they are
 * written) and writes nothing into it with pwrite; after the contiguous
 * data, dt__io_write_chunks moves the chunks:
 *   - the N chunks of a dataset are dealt out in blocks over the P ranks
 *     (rank o owns chunks [block_start(N, P, o), block_start(N, P, o + 1)));
 *   - in round q every owner assembles its q-th chunk: the ranks whose save
 *     box meets the chunk send it the intersection (point-to-point; who
 *     sends what to whom follows from the save boxes, which every rank
 *     knows after one MPI_Allgather), the owner copies its own part and
 *     zero-pads an edge chunk;
 *   - the owner shuffles and deflates the chunk (zlib compress2: HDF5's
 *     deflate filter stores a zlib stream) and sends it to rank 0, which
 *     writes it with H5Dwrite_chunk through its sequential handle;
 *   - the round's outcome is agreed (dt__agree) before the next, so a
 *     failure anywhere (a fault, a failing write, a compression error) ends
 *     the save on every rank with the same code. Every message of a round
 *     is sent whatever happens locally (a failed chunk is announced with a
 *     length of UINT64_MAX), so no rank waits for a message that never
 *     comes. No HDF5 call is collective.
 * The checksums are computed by save.c from the element values, so they
 * are the contiguous save's.
 */
#include "io_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define Z_CHUNK_DEFAULT ((size_t)1 << 20)
#define Z_CHUNK_MIN ((size_t)1 << 10)
#define Z_CHUNK_MAX ((size_t)1 << 30)
/* A deflate stream expands at most 1032 times (as dataset.c). */
#define Z_MAX_RATIO 1100
#define Z_FAILED UINT64_MAX
#define TAG_PIECE 0x7a01
#define TAG_LEN 0x7a02
#define TAG_DATA 0x7a03

/* ---- options ------------------------------------------------------------- */

dt_err dt__io_zopts_check(const dt_save_opts *o, uint64_t *h) {
  size_t cb = o ? o->chunk_bytes : 0;
  int lv = o ? o->deflate : 0;
  bool sh = o && o->shuffle;
  DT_CHECK(lv >= 0 && lv <= 9, DT_ERR_ARG,
           "deflate level %d is outside 0..9 (0: no compression, 1..9: zlib "
           "levels)",
           lv);
  DT_CHECK(cb == 0 || (cb >= Z_CHUNK_MIN && cb <= Z_CHUNK_MAX), DT_ERR_ARG,
           "chunk_bytes %zu is outside 1 KiB .. 1 GiB (0: contiguous, or "
           "1 MiB chunks with deflate or shuffle)",
           cb);
  *h = dt__hash_mix(*h, (uint64_t)cb);
  *h = dt__hash_mix(*h, (uint64_t)lv * 2 + sh);
  return DT_OK;
}

void dt__io_zspec_of(const dt_save_opts *o, const dt_tensor *t,
                     dt__io_zspec *z) {
  memset(z, 0, sizeof *z);
  if (!o || (!o->chunk_bytes && !o->deflate && !o->shuffle) ||
      t->ndim == 0 || t->numel == 0)
    return;
  int64_t cb = (int64_t)(o->chunk_bytes ? o->chunk_bytes : Z_CHUNK_DEFAULT);
  int nd = t->ndim, k = nd - 1;
  int64_t tail = (int64_t)dt_dtype_size(t->dtype), nt = 0;
  /* the first axis k whose trailing axes fit in a chunk */
  while (k > 0 && dt__mul_ok(tail, t->shape[k], &nt) && nt <= cb) {
    tail = nt;
    k--;
  }
  for (int d = 0; d < nd; d++)
    z->chunk[d] = d < k ? 1 : d > k ? t->shape[d] : 0;
  int64_t r = cb / tail;
  z->chunk[k] = r < t->shape[k] ? r : t->shape[k];
  z->level = o->deflate;
  z->shuffle = o->shuffle;
}

hid_t dt__io_zdcpl(hid_t base, int nd, const dt__io_zspec *z) {
  hid_t p = H5Pcopy(base);
  hsize_t ch[DT_MAX_DIMS];
  for (int d = 0; d < nd; d++)
    ch[d] = (hsize_t)z->chunk[d];
  bool ok = p >= 0 && H5Pset_chunk(p, nd, ch) >= 0 &&
            H5Pset_alloc_time(p, H5D_ALLOC_TIME_INCR) >= 0 &&
            (!z->shuffle || H5Pset_shuffle(p) >= 0) &&
            (!z->level || H5Pset_deflate(p, (unsigned)z->level) >= 0);
  if (!ok && p >= 0) {
    H5Pclose(p);
    p = -1;
  }
  return p;
}

/* ---- geometry ------------------------------------------------------------ */

typedef struct zbox {
  int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS];
} zbox;

typedef struct zgeom {
  int nd, P;
  dt_dtype dtype;
  size_t esz, cbytes;  /* element and whole-chunk bytes */
  int64_t nc[DT_MAX_DIMS], cstride[DT_MAX_DIMS];
  int64_t N, rounds;   /* chunks; most chunks of one rank */
  const dt__io_zjob *j;
  const zbox *all;     /* every rank's save box */
} zgeom;

static void chunk_box(const zgeom *g, int64_t c, zbox *b) {
  const int64_t *shape = g->j->t->shape, *ch = g->j->z.chunk;
  for (int d = g->nd - 1; d >= 0; d--) {
    int64_t i = c % g->nc[d];
    c /= g->nc[d];
    b->start[d] = i * ch[d];
    int64_t left = shape[d] - b->start[d];
    b->shape[d] = left < ch[d] ? left : ch[d];
  }
}

/* The chunk rank o fills in round q, or -1. */
static int64_t chunk_of(const zgeom *g, int o, int64_t q) {
  int64_t lo = dt__block_start(g->N, g->P, o);
  int64_t hi = dt__block_start(g->N, g->P, o + 1);
  return lo + q < hi ? lo + q : -1;
}

/* a ∩ b into x; its element count. */
static int64_t meet(int nd, const zbox *a, const zbox *b, zbox *x) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++) {
    int64_t lo = a->start[d] > b->start[d] ? a->start[d] : b->start[d];
    int64_t ea = a->start[d] + a->shape[d], eb = b->start[d] + b->shape[d];
    int64_t hi = ea < eb ? ea : eb;
    x->start[d] = lo;
    x->shape[d] = hi > lo ? hi - lo : 0;
    n *= x->shape[d];
  }
  return n;
}

static void dense_strides(int nd, const int64_t *shape, int64_t *s) {
  int64_t k = 1;
  for (int d = nd - 1; d >= 0; d--) {
    s[d] = k;
    k *= shape[d];
  }
}

/* Where box x starts in this rank's shard. */
static const char *shard_at(const zgeom *g, const zbox *x) {
  const dt__io_box *b = g->j->box;
  int64_t e = 0;
  for (int d = 0; d < g->nd; d++)
    e += (x->start[d] - b->start[d]) * b->stride[d];
  return b->base + e * (int64_t)g->esz;
}

/* Where box x starts in the chunk buffer of chunk box cb. */
static char *chunk_at(const zgeom *g, char *raw, const zbox *cb,
                      const zbox *x) {
  int64_t e = 0;
  for (int d = 0; d < g->nd; d++)
    e += (x->start[d] - cb->start[d]) * g->cstride[d];
  return raw + e * (int64_t)g->esz;
}

/* ---- one round ----------------------------------------------------------- */

typedef struct zbufs {
  char *raw, *shuf, *z, *send, *recv;
  size_t zcap;
  MPI_Request *req;
  zbox *pieces; /* the pieces received, per sending rank */
} zbufs;

/* Bytes this rank sends and receives in round q. */
static void round_bytes(const zgeom *g, int me, int64_t q, size_t *snd,
                        size_t *rcv) {
  *snd = *rcv = 0;
  zbox cb, x;
  int64_t mine = chunk_of(g, me, q);
  if (mine >= 0) {
    chunk_box(g, mine, &cb);
    for (int r = 0; r < g->P; r++)
      if (r != me)
        *rcv += (size_t)meet(g->nd, &g->all[r], &cb, &x) * g->esz;
  }
  for (int o = 0; o < g->P; o++) {
    int64_t c = o == me ? -1 : chunk_of(g, o, q);
    if (c < 0)
      continue;
    chunk_box(g, c, &cb);
    *snd += (size_t)meet(g->nd, &g->all[me], &cb, &x) * g->esz;
  }
}

/* HDF5's shuffle filter: byte b of element i goes to b * n + i. */
static void shuffle(const char *in, char *out, size_t esz, size_t bytes) {
  size_t n = bytes / esz;
  for (size_t i = 0; i < n; i++)
    for (size_t b = 0; b < esz; b++)
      out[b * n + i] = in[i * esz + b];
}

/* Assemble, filter and deliver chunk `mine` (or nothing, -1) and, on rank
 * 0, write the round's chunks into dset. Every message of the round is
 * exchanged whatever fails locally; returns this rank's first error. */
static dt_err run_round(dt_ctx *ctx, const zgeom *g, zbufs *B, int64_t q,
                        hid_t dset) {
  int me = ctx->rank, P = g->P, nd = g->nd;
  dt_dtype dt = g->dtype;
  dt_err err = DT_OK;
  int nreq = 0, rc = MPI_SUCCESS;
  int64_t mine = chunk_of(g, me, q);
  zbox cb, x;
  /* receives of the pieces of my chunk */
  size_t off = 0;
  if (mine >= 0) {
    chunk_box(g, mine, &cb);
    for (int r = 0; r < P; r++) {
      int64_t n = r == me ? 0 : meet(nd, &g->all[r], &cb, &B->pieces[r]);
      if (n == 0) {
        B->pieces[r].shape[0] = 0;
        continue;
      }
      int e = MPI_Irecv(B->recv + off, (int)((size_t)n * g->esz), MPI_BYTE, r,
                        TAG_PIECE, ctx->comm, &B->req[nreq++]);
      rc = rc == MPI_SUCCESS ? e : rc;
      off += (size_t)n * g->esz;
    }
  }
  /* my parts of the others' chunks */
  off = 0;
  for (int o = 0; o < P; o++) {
    int64_t c = o == me ? -1 : chunk_of(g, o, q);
    zbox ob;
    if (c < 0)
      continue;
    chunk_box(g, c, &ob);
    int64_t n = meet(nd, &g->all[me], &ob, &x);
    if (n == 0)
      continue;
    int64_t ds[DT_MAX_DIMS];
    dense_strides(nd, x.shape, ds);
    dt__copy_strided(nd, x.shape, B->send + off, dt, ds, shard_at(g, &x), dt,
                     g->j->box->stride);
    int e = MPI_Isend(B->send + off, (int)((size_t)n * g->esz), MPI_BYTE, o,
                      TAG_PIECE, ctx->comm, &B->req[nreq++]);
    rc = rc == MPI_SUCCESS ? e : rc;
    off += (size_t)n * g->esz;
  }
  /* my own part of my chunk */
  int64_t cnumel = 1, want = 1;
  if (mine >= 0) {
    for (int d = 0; d < nd; d++) {
      cnumel *= g->j->z.chunk[d];
      want *= cb.shape[d];
    }
    if (want < cnumel)
      memset(B->raw, 0, g->cbytes); /* an edge chunk: padded with zeros */
    if (meet(nd, &g->all[me], &cb, &x) > 0)
      dt__copy_strided(nd, x.shape, chunk_at(g, B->raw, &cb, &x), dt,
                       g->cstride, shard_at(g, &x), dt, g->j->box->stride);
  }
  if (nreq) {
    int e = MPI_Waitall(nreq, B->req, MPI_STATUSES_IGNORE);
    rc = rc == MPI_SUCCESS ? e : rc;
  }
  if (rc != MPI_SUCCESS)
    err = dt__mpi_error(rc, "the chunk exchange of dt_save");
  /* the pieces received, into my chunk */
  uint64_t len = Z_FAILED;
  const char *out = NULL;
  if (mine >= 0 && !err) {
    off = 0;
    for (int r = 0; r < P; r++) {
      if (r == me || B->pieces[r].shape[0] == 0)
        continue;
      const zbox *p = &B->pieces[r];
      int64_t ds[DT_MAX_DIMS], n = 1;
      dense_strides(nd, p->shape, ds);
      for (int d = 0; d < nd; d++)
        n *= p->shape[d];
      dt__copy_strided(nd, p->shape, chunk_at(g, B->raw, &cb, p), dt,
                       g->cstride, B->recv + off, dt, ds);
      off += (size_t)n * g->esz;
    }
    /* the filters */
    out = B->raw;
    if (g->j->z.shuffle && g->esz > 1) {
      shuffle(B->raw, B->shuf, g->esz, g->cbytes);
      out = B->shuf;
    }
    len = g->cbytes;
    if (dt__fault(ctx->comm, "save_chunk")) {
      err = dt__error(DT_ERR_IO,
                      "compressing a chunk of '%s' failed on rank %d: %s "
                      "(injected at save_chunk)",
                      g->j->name, me, strerror(EIO));
    } else if (g->j->z.level) {
      uLongf zl = (uLongf)B->zcap;
      int zr = compress2((Bytef *)B->z, &zl, (const Bytef *)out,
                         (uLong)g->cbytes, g->j->z.level);
      if (zr != Z_OK)
        err = dt__error(zr == Z_MEM_ERROR ? DT_ERR_NOMEM : DT_ERR_HDF5,
                        "compressing a chunk of '%s' failed on rank %d: zlib "
                        "error %d",
                        g->j->name, me, zr);
      out = B->z;
      len = (uint64_t)zl;
    }
    if (err)
      len = Z_FAILED;
  }
  /* to rank 0 */
  if (mine >= 0 && me != 0) {
    rc = MPI_Send(&len, 1, MPI_UINT64_T, 0, TAG_LEN, ctx->comm);
    if (rc == MPI_SUCCESS && len != Z_FAILED)
      rc = MPI_Send(out, (int)len, MPI_BYTE, 0, TAG_DATA, ctx->comm);
    if (rc != MPI_SUCCESS && !err)
      err = dt__mpi_error(rc, "sending a chunk to rank 0 (dt_save)");
  }
  if (me != 0)
    return err;
  for (int o = 0; o < P; o++) {
    int64_t c = chunk_of(g, o, q);
    if (c < 0)
      continue;
    uint64_t l = len;
    const char *buf = out;
    if (o != 0) {
      rc = MPI_Recv(&l, 1, MPI_UINT64_T, o, TAG_LEN, ctx->comm,
                    MPI_STATUS_IGNORE);
      if (rc == MPI_SUCCESS && l != Z_FAILED && l > B->zcap)
        rc = MPI_ERR_TRUNCATE; /* cannot happen: sizes are bounded */
      if (rc == MPI_SUCCESS && l != Z_FAILED)
        rc = MPI_Recv(B->z, (int)l, MPI_BYTE, o, TAG_DATA, ctx->comm,
                      MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        /* the ranks' messages may now be out of step: agree and stop */
        return err ? err
                   : dt__mpi_error(rc, "receiving a chunk on rank 0 (dt_save)");
      }
      buf = B->z;
    }
    if (err || l == Z_FAILED)
      continue;
    zbox wb;
    chunk_box(g, c, &wb);
    hsize_t at[DT_MAX_DIMS];
    for (int d = 0; d < nd; d++)
      at[d] = (hsize_t)wb.start[d];
    if (dt__fault(ctx->comm, "save_chunk_write"))
      err = dt__error(DT_ERR_IO,
                      "writing a chunk of '%s' failed on rank 0: %s "
                      "(injected at save_chunk_write)",
                      g->j->name, strerror(EIO));
    else if (H5Dwrite_chunk(dset, H5P_DEFAULT, 0, at, (size_t)l, buf) < 0)
      err = dt__h5_error(DT_ERR_IO, "writing a chunk of '%s' failed",
                         g->j->name);
  }
  return err;
}

/* ---- one dataset --------------------------------------------------------- */

static dt_err run_job(dt_ctx *ctx, const dt__io_zjob *j, hid_t dset,
                      dt_err pre) {
  int P = ctx->size, me = ctx->rank, nd = j->t->ndim;
  zgeom g = {.nd = nd, .P = P, .dtype = j->t->dtype, .j = j};
  g.esz = dt_dtype_size(j->t->dtype);
  g.cbytes = g.esz;
  g.N = 1;
  for (int d = 0; d < nd; d++) {
    g.nc[d] = (j->t->shape[d] + j->z.chunk[d] - 1) / j->z.chunk[d];
    g.N *= g.nc[d];
    g.cbytes *= (size_t)j->z.chunk[d];
  }
  dense_strides(nd, j->z.chunk, g.cstride);
  g.rounds = dt__block_start(g.N, P, 1);
  zbufs B = {0};
  zbox *all = dt__calloc((size_t)P, sizeof *all);
  dt_err err = pre;
  if (!err && !all)
    err = dt__error(DT_ERR_NOMEM, "cannot allocate %d boxes", P);
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    zbox my = {{0}, {0}};
    for (int d = 0; d < nd; d++) {
      my.start[d] = j->box->start[d];
      my.shape[d] = j->box->numel ? j->box->shape[d] : 0;
    }
    int rc = MPI_Allgather(&my, (int)sizeof my, MPI_BYTE, all, (int)sizeof my,
                           MPI_BYTE, ctx->comm);
    err = rc == MPI_SUCCESS ? DT_OK : dt__mpi_error(rc, "MPI_Allgather (boxes)");
    err = dt__agree(ctx->comm, err, 0);
  }
  g.all = all;
  if (!err) {
    size_t ms = 0, mr = 0;
    for (int64_t q = 0; q < g.rounds; q++) {
      size_t s, r;
      round_bytes(&g, me, q, &s, &r);
      ms = s > ms ? s : ms;
      mr = r > mr ? r : mr;
    }
    bool owner = chunk_of(&g, me, 0) >= 0;
    B.zcap = j->z.level ? (size_t)compressBound((uLong)g.cbytes) : g.cbytes;
    bool ok = (B.req = dt__calloc(2 * (size_t)P, sizeof *B.req)) &&
              (B.pieces = dt__calloc((size_t)P, sizeof *B.pieces)) &&
              (!owner || (B.raw = dt__malloc(g.cbytes))) &&
              (!owner || !j->z.shuffle || (B.shuf = dt__malloc(g.cbytes))) &&
              ((!(owner && j->z.level) && me != 0) ||
               (B.z = dt__malloc(B.zcap))) &&
              (!ms || (B.send = dt__malloc(ms))) &&
              (!mr || (B.recv = dt__malloc(mr)));
    if (!ok)
      err = dt__error(DT_ERR_NOMEM,
                      "cannot allocate the chunk buffers of '%s' (%zu bytes "
                      "a chunk)",
                      j->name, g.cbytes);
    err = dt__agree(ctx->comm, err, 0);
  }
  for (int64_t q = 0; !err && q < g.rounds; q++)
    err = dt__agree(ctx->comm, run_round(ctx, &g, &B, q, dset), 0);
  free(B.raw);
  free(B.shuf);
  free(B.z);
  free(B.send);
  free(B.recv);
  free(B.req);
  free(B.pieces);
  free(all);
  return err;
}

dt_err dt__io_write_chunks(dt_ctx *ctx, const char *tmp, int n,
                           const dt__io_zjob *jobs) {
  if (n == 0)
    return DT_OK;
  hid_t f = -1;
  dt_err err = DT_OK;
  if (ctx->rank == 0) {
    hid_t fapl = dt__io_fapl(0); /* no alignment: chunks packed */
    f = fapl < 0 ? -1 : H5Fopen(tmp, H5F_ACC_RDWR, fapl);
    if (fapl >= 0)
      H5Pclose(fapl);
    if (f < 0)
      err = dt__h5_error(DT_ERR_IO, "cannot reopen '%s'", tmp);
  }
  err = dt__agree(ctx->comm, err, 0);
  for (int k = 0; !err && k < n; k++) {
    hid_t d = -1;
    dt_err pre = DT_OK;
    if (ctx->rank == 0 && (d = H5Dopen2(f, jobs[k].name, H5P_DEFAULT)) < 0)
      pre = dt__h5_error(DT_ERR_IO, "cannot reopen '%s' in '%s'",
                         jobs[k].name, tmp);
    err = run_job(ctx, &jobs[k], d, pre);
    if (d >= 0 && H5Dclose(d) < 0 && !err)
      err = dt__h5_error(DT_ERR_IO, "cannot write '%s'", tmp);
    err = dt__agree(ctx->comm, err, 0);
  }
  if (f >= 0) {
    dt_err e = dt__io_close_h5(f, tmp, err);
    err = err ? err : e;
  }
  return dt__agree(ctx->comm, err, 0);
}

/* ---- loading ------------------------------------------------------------- */

dt_err dt__io_zcheck_read(hid_t dset, const char *where, int64_t bytes) {
  hid_t p = H5Dget_create_plist(dset);
  if (p < 0)
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot read the storage properties",
                        where);
  int nf = H5Pget_nfilters(p);
  dt_err err = nf < 0 ? dt__h5_error(DT_ERR_FORMAT,
                                     "%s: unreadable filter pipeline", where)
                      : DT_OK;
  for (int i = 0; !err && i < nf; i++) {
    unsigned flags = 0, cfg = 0, info = 0;
    size_t nel = 0;
    H5Z_filter_t id =
        H5Pget_filter2(p, (unsigned)i, &flags, &nel, NULL, 0, NULL, &cfg);
    if (id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE)
      err = dt__error(DT_ERR_FORMAT,
                      "%s: its data pass through HDF5 filter %d; a "
                      "checkpoint's may only be deflate and shuffle (load "
                      "other files with dt_load_dataset)",
                      where, (int)id);
    else if (H5Zfilter_avail(id) <= 0 || H5Zget_filter_info(id, &info) < 0 ||
             !(info & H5Z_FILTER_CONFIG_DECODE_ENABLED))
      err = dt__error(DT_ERR_FORMAT,
                      "%s: this HDF5 build cannot decode its %s filter", where,
                      id == H5Z_FILTER_DEFLATE ? "deflate" : "shuffle");
  }
  if (!err && nf > 0 && bytes > 0) {
    hsize_t have = H5Dget_storage_size(dset);
    if (have == 0 || (uint64_t)bytes / Z_MAX_RATIO > have)
      err = dt__error(DT_ERR_FORMAT,
                      "%s: its shape needs %lld bytes but the file stores "
                      "only %llu compressed bytes for it (more than %d:1: a "
                      "truncated or damaged file)",
                      where, (long long)bytes, (unsigned long long)have,
                      Z_MAX_RATIO);
  }
  H5Eclear2(H5E_DEFAULT);
  H5Pclose(p);
  return err;
}

static herr_t find_pline(unsigned n, const H5E_error2_t *e, void *data) {
  (void)n;
  if (e->maj_num == H5E_PLINE)
    *(bool *)data = true;
  return 0;
}

dt_err dt__io_read_fail_code(void) {
  bool pline = false;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_pline, &pline);
  return pline ? DT_ERR_FORMAT : DT_ERR_IO;
}
