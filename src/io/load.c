/*
 * load.c - dt_load: rank 0 validates the tensor's metadata (open.c), every
 * rank gets the same catalog entry, allocates its shard, and reads its own
 * box through its own sequential HDF5 handle, in pieces whose checksums the
 * rank's other threads compute while the next piece is read (or the reading
 * thread itself, right after each piece, when it is alone). A tensor's data
 * (contiguous, stored as they are in memory) are read with pread on that
 * handle's descriptor straight into the shard, one pread per run contiguous
 * in the file; anything else (a plain dataset HDF5 converts, chunked or
 * filtered storage, runs shorter than 4 KiB) goes through H5Dread. No HDF5
 * call is collective: a rank whose read fails reports it at the next
 * agreement, and the others are never left waiting inside HDF5. Bool data
 * are checked to be 0 or 1, then the checksums are summed over the ranks
 * and compared with the recorded ones.
 */
#include "io_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads go in pieces of at most this many bytes per rank, so the checksum
 * of one piece is computed while the next one is read, and, by the reading
 * thread itself, while the piece is still in its cache (L2 of 1-2 MiB). */
#define DT_IO_READ_PIECE ((size_t)1 << 20)
/* A plain dataset has nothing to hash: larger pieces, fewer H5Dread. */
#define DT_IO_PLAIN_PIECE ((size_t)64 << 20)
/* A piece whose runs in the file are shorter than this (and more than one)
 * goes through H5Dread, whose sieve buffer gathers short runs in few reads. */
#define DT_IO_DIRECT_RUN ((int64_t)4096)

bool dt__io_direct = true;

/* One tensor being read: its dataset, the box this rank reads, the
 * recorded checksum. */
typedef struct rjob {
  dt_tensor *t;
  hid_t dset;
  const char *name;
  uint64_t want;
  bool plain; /* dt_load_dataset: no checksum; HDF5 converts to the dtype */
  dt__io_box box;
} rjob;

/* This rank reads its own box into t's fresh dense shard, and hashes the
 * part of it that no other rank hashes: all of it, or for a replicated
 * tensor the rows it would write. */
static void read_plan(rjob *r, dt__io_sum *w) {
  const dt_tensor *t = r->t;
  dt__io_box_of(t, false, &r->box);
  w->box = &r->box;
  w->dtype = t->dtype;
  w->lo = 0;
  w->hi = r->box.numel;
  if (t->layout->kind == DT__L_REPLICATED || t->ndim == 0) {
    dt__io_box share;
    dt__io_box_of(t, true, &share);
    int64_t row = t->ndim && t->shape[0] ? r->box.numel / t->shape[0] : 1;
    w->lo = t->ndim ? share.start[0] * row : 0;
    w->hi = w->lo + share.numel;
  }
  if (r->plain)
    w->lo = w->hi = 0; /* nothing to verify: hash nothing */
  atomic_init(&w->ready, 0);
  atomic_init(&w->sum, 0);
}

/* Read n bytes at `at` of the file fd into buf; a file that ends early is
 * an error (HDF5 would give zeros there). */
static dt_err pread_all(int fd, char *buf, size_t n, int64_t at,
                        const rjob *r) {
  while (n > 0) {
    ssize_t k = pread(fd, buf, n, (off_t)at);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return dt__error(DT_ERR_IO, "reading '%s' failed: %s", r->name,
                       k < 0 ? strerror(errno) : "the file ends early");
    buf += k;
    n -= (size_t)k;
    at += k;
  }
  return DT_OK;
}

/* One piece (global start st, extent cnt) into buf with H5Dread. */
static dt_err read_piece_h5(hid_t dset, hid_t fs, hid_t mtype, const rjob *r,
                            const int64_t *st, const int64_t *cnt, int64_t n,
                            char *buf) {
  const dt__io_box *b = &r->box;
  hid_t ms = -1;
  dt_err err = DT_OK;
  if (b->nd == 0) {
    ms = H5Screate(H5S_SCALAR);
    if (ms < 0 || H5Sselect_all(fs) < 0)
      err = dt__h5_error(DT_ERR_HDF5, "cannot select '%s'", r->name);
  } else {
    hsize_t hs[DT_MAX_DIMS], hc[DT_MAX_DIMS];
    for (int d = 0; d < b->nd; d++) {
      hs[d] = (hsize_t)st[d];
      hc[d] = (hsize_t)cnt[d];
    }
    (void)n;
    /* The memory space has the piece's own shape (the same dense C
     * order as a 1-D one): HDF5 then copies whole rows out of each
     * chunk instead of iterating elements (10x on chunked data). */
    ms = H5Screate_simple(b->nd, hc, NULL);
    if (ms < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, hs, NULL, hc, NULL) < 0)
      err = dt__h5_error(DT_ERR_HDF5, "cannot select '%s'", r->name);
  }
  if (!err && H5Dread(dset, mtype, ms, fs, H5P_DEFAULT, buf) < 0)
    err = dt__h5_error(dt__io_read_fail_code(), "reading '%s' failed",
                       r->name); /* FORMAT: undecodable compressed data */
  if (ms >= 0)
    H5Sclose(ms);
  return err;
}

/* Read box b of `dset` piece by piece into the dense shard; each piece's
 * element count is passed to dt__io_arrived as it lands, which hashes it
 * at once when no other thread does. fd >= 0: the data are read with
 * pread at file offset `at` (contiguous storage in the memory type), one
 * pread per run contiguous in the file, straight into the shard. */
static dt_err read_box(hid_t dset, hid_t mtype, int fd, int64_t at,
                       const rjob *r, dt__io_sum *progress) {
  const dt__io_box *b = &r->box;
  size_t esz = dt_dtype_size(r->t->dtype);
  dt__io_plan pl;
  size_t limit = r->plain ? DT_IO_PLAIN_PIECE : DT_IO_READ_PIECE;
  if (dt__io_piece_max < limit)
    limit = dt__io_piece_max;
  dt__io_plan_pieces(b, esz, limit, &pl);
  hid_t fs = H5Dget_space(dset);
  if (fs < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot read the dataspace of '%s'",
                        r->name);
  dt_err err = DT_OK;
  for (int64_t p = 0; !err && p < pl.count; p++) {
    int64_t st[DT_MAX_DIMS] = {0}, cnt[DT_MAX_DIMS] = {0}, n = 1;
    int64_t off = b->nd ? dt__io_piece(b, &pl, p, st, cnt) : 0;
    for (int d = 0; d < b->nd; d++)
      n *= cnt[d];
    char *buf = b->base + off * (int64_t)esz;
    dt__io_runs rs;
    dt__io_runs_of(b, st, cnt, &rs);
    if (fd >= 0 &&
        (rs.nruns == 1 || rs.run * (int64_t)esz >= DT_IO_DIRECT_RUN)) {
      size_t rb = (size_t)rs.run * esz;
      for (int64_t k = 0; !err && k < rs.nruns; k++)
        err = pread_all(fd, buf + (size_t)k * rb, rb,
                        at + dt__io_run_at(&rs, k) * (int64_t)esz, r);
    } else {
      err = read_piece_h5(dset, fs, mtype, r, st, cnt, n, buf);
    }
    if (!err)
      dt__io_arrived(progress, n);
  }
  H5Sclose(fs);
  return err;
}

/* Where the data of `dset` start in the file when a pread of them gives
 * the memory type's bytes: contiguous (unfiltered) storage that exists,
 * a file type equal to mtype; -1 otherwise (or with dt__io_direct false). */
static int64_t direct_offset(hid_t dset, hid_t ft, hid_t mt) {
  if (!dt__io_direct || H5Tequal(ft, mt) <= 0)
    return -1;
  hid_t dcpl = H5Dget_create_plist(dset);
  H5D_layout_t lay = dcpl < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl);
  int nf = dcpl < 0 ? -1 : H5Pget_nfilters(dcpl);
  int ne = dcpl < 0 ? -1 : H5Pget_external_count(dcpl);
  if (dcpl >= 0)
    H5Pclose(dcpl);
  haddr_t a = lay == H5D_CONTIGUOUS && nf == 0 && ne == 0 ? H5Dget_offset(dset)
                                                          : HADDR_UNDEF;
  H5Eclear2(H5E_DEFAULT);
  return a == HADDR_UNDEF || a > (haddr_t)INT64_MAX ? -1 : (int64_t)a;
}

static dt_err read_one(const dt_ctx *ctx, int fd, rjob *r, dt__io_sum *w) {
  if (r->t->numel == 0 || r->box.numel == 0)
    return DT_OK;
  if (dt__fault(ctx->comm, "load_read"))
    return dt__error(DT_ERR_IO, "reading '%s' failed on rank %d: %s (injected "
                                "at load_read)",
                     r->name, ctx->rank, strerror(EIO));
  /* The file's type in native byte order: no conversion for files written
   * on a machine of the same endianness. A plain dataset's numbers are
   * read as the dtype's native type (HDF5 swaps bytes and widens); a bool
   * enum as its own native type, so bytes other than 0 and 1 arrive as
   * they are and check_bools sees them. */
  hid_t ft = H5Dget_type(r->dset);
  hid_t mt = ft < 0 ? -1
             : r->plain && r->t->dtype != DT_BOOL
                 ? dt__io_type(r->t->dtype)
                 : H5Tget_native_type(ft, H5T_DIR_ASCEND);
  dt_err err = mt < 0 ? dt__h5_error(DT_ERR_HDF5,
                                     "cannot read the type of '%s'", r->name)
                      : DT_OK;
  /* A tensor's data are read around HDF5 (rank 0 has validated where they
   * are); a plain dataset's go through H5Dread, which converts. */
  int64_t at = err || r->plain || fd < 0 ? -1
                                          : direct_offset(r->dset, ft, mt);
  if (!err)
    err = read_box(r->dset, mt, at >= 0 ? fd : -1, at, r, w);
  if (mt >= 0)
    H5Tclose(mt);
  if (ft >= 0)
    H5Tclose(ft);
  return err;
}

/* The reads of a load, on the calling thread while the other threads hash
 * what has arrived. Not collective. */
typedef struct load_io {
  const dt_ctx *ctx;
  const char *path;
  rjob *r;
  dt__io_sum *w;
  int n;
} load_io;

static dt_err load_data(void *arg) {
  load_io *l = arg;
  dt_err err = DT_OK;
  if (dt__fault(l->ctx->comm, "load_open"))
    err = dt__error(DT_ERR_IO, "cannot open '%s' on rank %d: %s (injected at "
                               "load_open)",
                    l->path, l->ctx->rank, strerror(EIO));
  hid_t fapl = err ? -1 : dt__io_fapl(0), lapl = err ? -1 : dt__io_lapl();
  hid_t f = fapl < 0 || lapl < 0 ? -1 : H5Fopen(l->path, H5F_ACC_RDONLY, fapl);
  if (!err && f < 0)
    err = dt__h5_error(DT_ERR_IO, "cannot open '%s' on rank %d", l->path,
                       l->ctx->rank);
  for (int k = 0; !err && k < l->n; k++) {
    l->r[k].dset = H5Dopen2(f, l->r[k].name, lapl);
    if (l->r[k].dset < 0)
      err = dt__h5_error(DT_ERR_IO, "cannot open '%s' in '%s' on rank %d",
                         l->r[k].name, l->path, l->ctx->rank);
  }
  /* The sequential driver's own descriptor, so the direct reads see the
   * very file HDF5 opened (not one renamed over it since). */
  int fd = -1, *fdp = NULL;
  if (!err && H5Fget_vfd_handle(f, fapl, (void **)&fdp) >= 0 && fdp)
    fd = *fdp;
  H5Eclear2(H5E_DEFAULT);
  for (int k = 0; !err && k < l->n; k++)
    err = read_one(l->ctx, fd, &l->r[k], &l->w[k]);
  for (int k = 0; k < l->n; k++)
    if (l->r[k].dset >= 0)
      H5Dclose(l->r[k].dset);
  if (f >= 0)
    H5Fclose(f);
  if (fapl >= 0)
    H5Pclose(fapl);
  if (lapl >= 0)
    H5Pclose(lapl);
  H5Eclear2(H5E_DEFAULT);
  return err;
}

/* A bool shard holds only bytes 0 and 1. Not collective. */
static dt_err check_bools(const rjob *r, const char *path) {
  if (r->t->dtype != DT_BOOL || r->box.numel == 0)
    return DT_OK;
  const unsigned char *p = (const unsigned char *)r->box.base;
  for (int64_t i = 0; i < r->box.numel; i++)
    DT_CHECK(p[i] <= 1, DT_ERR_FORMAT,
             "tensor '%s' in '%s': a bool element holds the byte %u, not 0 "
             "or 1 (the file is damaged)",
             r->name, path, p[i]);
  return DT_OK;
}

/* Sum the partial checksums over the ranks and compare them with the
 * recorded ones. Collective; the outcome is the same everywhere. */
static dt_err verify(dt_ctx *ctx, const rjob *r, dt__io_sum *w, int n,
                     const char *path) {
  uint64_t S[2] = {0, 0};
  for (int k = 0; k < n; k++)
    S[k] = atomic_load(&w[k].sum);
  int rc = MPI_Allreduce(MPI_IN_PLACE, S, n, MPI_UINT64_T, MPI_SUM, ctx->comm);
  dt_err err =
      rc == MPI_SUCCESS ? DT_OK : dt__mpi_error(rc, "MPI_Allreduce (sums)");
  err = dt__agree(ctx->comm, err, 0);
  for (int k = 0; !err && k < n; k++) {
    const dt_tensor *t = r[k].t;
    uint64_t c = dt__checksum_finish(t->dtype, t->ndim, t->shape, S[k]);
    if (c != r[k].want)
      err = dt__error(DT_ERR_CHECKSUM,
                      "tensor '%s' in '%s': the data read have checksum "
                      "0x%016llx but the file records 0x%016llx (the file is "
                      "damaged)",
                      r[k].name, path, (unsigned long long)c,
                      (unsigned long long)r[k].want);
  }
  return err;
}

static dt_err load_impl(dt_ctx *ctx, const char *path, const char *name,
                        const dt_opts *opts, const dt_load_opts *lopts,
                        dt_tensor **out) {
  bool verify_sums = !(lopts && lopts->skip_checksums);
  dt_err err =
      path && out ? DT_OK : dt__error(DT_ERR_NULL, "path or out is NULL");
  if (out)
    *out = NULL;
  if (!err)
    err = dt__io_check_name(name);
  uint64_t h = err ? 0
                   : dt__hash_bytes(dt__hash_bytes(0, path, strlen(path)), name,
                                    strlen(name));
  err = dt__agree(ctx->comm, err, h ^ (verify_sums ? 0 : 1));
  dt__io_catalog c;
  if (!err)
    err = dt__io_catalog_read(ctx, path, name, verify_sums, &c);
  if (err)
    return err;
  dt__io_meta m = c.e[0].m, gm = c.e[0].gm;
  dt__io_catalog_free(&c);
  /* The same verdict everywhere: every rank has the same entry. */
  if (opts && opts->dtype != DT_DTYPE_DEFAULT && opts->dtype != m.dtype)
    err = dt__error(DT_ERR_DTYPE,
                    "'%s' holds %s, not %s: load it as saved, then convert "
                    "with dt_redistribute",
                    name, dt_dtype_name(m.dtype), dt_dtype_name(opts->dtype));
  err = dt__agree(ctx->comm, err, 0);

  dt_tensor *t = NULL, *g = NULL;
  if (!err) {
    dt_opts o = opts ? *opts : (dt_opts){0};
    o.dtype = m.dtype;
    err = dt_empty(ctx, m.ndim, m.shape, &o, &t);
  }
  if (!err && m.has_grad) {
    err = dt__tensor_alloc(ctx, m.dtype, t->layout, &g);
    err = dt__agree(ctx->comm, err, 0);
  }
  char gname[DT_IO_DNAME_MAX];
  snprintf(gname, sizeof gname, "%s" DT_IO_GRAD_SUFFIX, name);
  rjob r[2];
  dt__io_sum w[2];
  int nr = 0;
  if (!err) {
    r[nr] = (rjob){.t = t, .dset = -1, .name = name, .want = m.checksum};
    read_plan(&r[nr], &w[nr]);
    nr++;
    if (g) {
      r[nr] = (rjob){.t = g, .dset = -1, .name = gname, .want = gm.checksum};
      read_plan(&r[nr], &w[nr]);
      nr++;
    }
    load_io lio = {ctx, path, r, w, nr};
    err = dt__io_overlap(load_data, &lio, w, nr);
    for (int k = 0; !err && k < nr; k++)
      err = check_bools(&r[k], path);
    err = dt__agree(ctx->comm, err, 0);
  }
  if (!err && verify_sums)
    err = verify(ctx, r, w, nr, path);
  if (err) {
    dt__tensor_free(g);
    dt_tensor_destroy(&t);
    return err;
  }
  t->requires_grad = t->requires_grad || m.requires_grad;
  t->grad = g;
  *out = t;
  return DT_OK;
}

dt_err dt_load(dt_ctx *ctx, const char *path, const char *name,
               const dt_opts *opts, dt_tensor **out) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = load_impl(ctx, path, name, opts, NULL, out);
  dt__h5_restore(&q);
  DT_RETURN(err);
}

dt_err dt_load_with(dt_ctx *ctx, const char *path, const char *name,
                    const dt_opts *opts, const dt_load_opts *lopts,
                    dt_tensor **out) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = load_impl(ctx, path, name, opts, lopts, out);
  dt__h5_restore(&q);
  DT_RETURN(err);
}

/* ---- dt_load_dataset ------------------------------------------------------ */

static dt_err dataset_impl(dt_ctx *ctx, const char *path, const char *dataset,
                           const dt_opts *opts, dt_tensor **out) {
  dt_err err =
      path && out ? DT_OK : dt__error(DT_ERR_NULL, "path or out is NULL");
  if (out)
    *out = NULL;
  const char *rel = NULL;
  if (!err)
    err = dt__io_dataset_name(dataset, &rel);
  uint64_t h = err ? 0
                   : dt__hash_bytes(dt__hash_bytes(0, path, strlen(path)), rel,
                                    strlen(rel));
  err = dt__agree(ctx->comm, err, h);
  dt__io_dsinfo ds;
  if (!err)
    err = dt__io_dataset_read(ctx, path, rel, &ds);
  if (err)
    return err;
  if (opts && opts->dtype != DT_DTYPE_DEFAULT && opts->dtype != ds.dtype)
    err = dt__error(DT_ERR_DTYPE,
                    "dataset '%s' in '%s' loads as %s, not %s: load it as it "
                    "is, then convert",
                    rel, path, dt_dtype_name(ds.dtype),
                    dt_dtype_name(opts->dtype));
  err = dt__agree(ctx->comm, err, 0);
  dt_tensor *t = NULL;
  if (!err) {
    dt_opts o = opts ? *opts : (dt_opts){0};
    o.dtype = ds.dtype;
    err = dt_empty(ctx, ds.ndim, ds.shape, &o, &t);
  }
  if (err)
    return err;
  rjob r = {.t = t, .dset = -1, .name = ds.name, .plain = true};
  dt__io_sum w;
  read_plan(&r, &w);
  load_io lio = {ctx, path, &r, &w, 1};
  err = dt__io_overlap(load_data, &lio, &w, 1);
  if (!err)
    err = check_bools(&r, path);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    dt_tensor_destroy(&t);
    return err;
  }
  *out = t;
  return DT_OK;
}

dt_err dt_load_dataset(dt_ctx *ctx, const char *path, const char *dataset,
                       const dt_opts *opts, dt_tensor **out) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = dataset_impl(ctx, path, dataset, opts, out);
  dt__h5_restore(&q);
  DT_RETURN(err);
}
