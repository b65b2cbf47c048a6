/*
 * io_hdf5.c - checkpoints in parallel HDF5: dt_save, dt_load,
 * dt_load_rng_state, dt_list. The format is specified in dtensor.h.
 *
 * Parallel HDF5 makes most calls collective: file create/open/flush/close,
 * creating datasets and attributes, and (with a collective transfer list)
 * every H5Dwrite/H5Dread. A rank that skips one strands the others, so each
 * phase is: every rank does its local part, then all agree (dt__agree)
 * before the next collective call. A rank whose part failed keeps taking
 * part in the collective transfers with empty selections until the
 * agreement, so nobody waits forever.
 *
 * A save never touches the target until the very end: the file is written
 * as a temporary in the same directory, flushed (MPI_File_sync, i.e. fsync
 * on every rank), closed, and rank 0 renames it over the target and syncs
 * the directory only after every rank reported success.
 */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

size_t dt__io_piece_max = (size_t)1 << 30;

#define DT_IO_PATH_MAX 4096
/* Datasets of at least DT_IO_ALIGN_MIN bytes start at a multiple of the
 * alignment (default 1 MiB, a common parallel file system stripe). */
#define DT_IO_ALIGN_DEFAULT ((size_t)1 << 20)
#define DT_IO_ALIGN_MIN ((hsize_t)64 << 10)
/* Reads go in pieces of at most this many bytes per rank, so the checksum
 * of one piece is computed while the next one is read. */
#define DT_IO_READ_PIECE ((size_t)64 << 20)

/* ---- property lists ------------------------------------------------------ */

/* Collective metadata reads broke in HDF5 1.10.5 and were fixed in 1.10.9,
 * 1.12.2 and 1.13.1 (HDFFV-11260); use them only where they work. */
static bool coll_reads_work(void) {
  unsigned maj = 0, min = 0, rel = 0;
  if (H5get_libversion(&maj, &min, &rel) < 0)
    return false;
  unsigned v = maj * 10000 + min * 100 + rel;
  return v < 11005 || (v >= 11009 && v < 11100) || (v >= 11202 && v < 11300) ||
         v >= 11301;
}

static hid_t make_fapl(const dt_ctx *ctx, size_t alignment) {
  hid_t p = H5Pcreate(H5P_FILE_ACCESS);
  if (p < 0)
    return -1;
  bool ok = H5Pset_fapl_mpio(p, ctx->comm, MPI_INFO_NULL) >= 0 &&
            H5Pset_alignment(p, DT_IO_ALIGN_MIN, alignment) >= 0 &&
            H5Pset_coll_metadata_write(p, 1) >= 0 &&
            (!coll_reads_work() || H5Pset_all_coll_metadata_ops(p, 1) >= 0);
  if (!ok) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

/* Collective transfers. `independent`: every rank's part is one contiguous
 * range of the file, so the MPI-IO layer under the collective call writes
 * or reads each part directly (H5FD_MPIO_INDIVIDUAL_IO) instead of shipping
 * it to aggregators first (two-phase collective buffering), which would
 * only add a copy and make every rank wait for the slowest in each cycle.
 * Interleaved parts (a split on a later axis, a grid) keep collective
 * buffering, which turns them into large aligned writes. */
static hid_t make_dxpl(bool independent) {
  hid_t p = H5Pcreate(H5P_DATASET_XFER);
  if (p >= 0 && (H5Pset_dxpl_mpio(p, H5FD_MPIO_COLLECTIVE) < 0 ||
                 (independent && H5Pset_dxpl_mpio_collective_opt(
                                     p, H5FD_MPIO_INDIVIDUAL_IO) < 0))) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

/* Contiguous storage allocated at creation, never filled: the data written
 * next is the only thing that reaches the disk. */
static hid_t make_dcpl(void) {
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  if (p >= 0 && (H5Pset_layout(p, H5D_CONTIGUOUS) < 0 ||
                 H5Pset_alloc_time(p, H5D_ALLOC_TIME_EARLY) < 0 ||
                 H5Pset_fill_time(p, H5D_FILL_TIME_NEVER) < 0)) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

static hid_t make_lcpl(void) {
  hid_t p = H5Pcreate(H5P_LINK_CREATE);
  if (p >= 0 && H5Pset_create_intermediate_group(p, 1) < 0) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

static void close_plist(hid_t *p) {
  if (*p >= 0)
    H5Pclose(*p);
  *p = -1;
}

/* ---- transfers ----------------------------------------------------------- */

static void box_of(const dt_tensor *t, bool saving, dt__io_box *b) {
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

/* True when the box is one contiguous range of the global C-order array:
 * extent 1 on the axes before some axis k, anything on k, whole after. */
static bool box_contiguous(int nd, const int64_t *gshape,
                           const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++)
    n *= shape[d];
  int k = 0;
  while (k < nd && shape[k] == 1)
    k++;
  for (int d = k + 1; n > 0 && d < nd; d++)
    if (shape[d] != gshape[d])
      return false;
  return true;
}

/* True when every rank's part of t (as box_of gives it) is contiguous in
 * the file. From the layout alone, so the same on every rank. */
static bool parts_contiguous(const dt_tensor *t) {
  /* A replicated tensor's parts are whole rows, written or read. */
  if (t->ndim == 0 || t->layout->kind == DT__L_REPLICATED)
    return true;
  int64_t st[DT_MAX_DIMS], sh[DT_MAX_DIMS];
  for (int r = 0; r < t->ctx->size; r++) {
    dt__layout_box(t->layout, r, st, sh);
    if (!box_contiguous(t->ndim, t->shape, sh))
      return false;
  }
  return true;
}

/* A box is cut into pieces of at most `limit` bytes: single indices of the
 * axes before k, runs of `rows` indices of axis k, whole axes after k. */
typedef struct io_plan {
  int k;
  int64_t rows, per, count; /* per: pieces per index of the outer axes */
  size_t max_bytes;
} io_plan;

static void plan_pieces(const dt__io_box *b, size_t esz, size_t limit,
                        io_plan *pl) {
  *pl = (io_plan){0, 1, 1, 0, 0};
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
  while ((size_t)suffix[k + 1] > limit)
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

/* Piece p: global start and extent, and its memory offset in elements. */
static int64_t piece(const dt__io_box *b, const io_plan *pl, int64_t p,
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

/* Dense C-order strides of `cnt`; true when `stride` matches them on every
 * axis that has more than one index (the piece is one stretch of memory). */
static bool dense(int nd, const int64_t *cnt, const int64_t *stride,
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

/* One collective H5Dwrite/H5Dread of piece p, or of nothing when p < 0. */
static herr_t xfer_piece(hid_t dset, hid_t mtype, hid_t fspace,
                         const dt__io_box *b, const io_plan *pl, int64_t p,
                         bool write, hid_t dxpl, void *tmp, dt_dtype dtype) {
  hid_t ms = -1;
  void *buf = NULL;
  char dummy[8];
  herr_t rc = 0;
  if (p < 0) {
    hsize_t one = 1;
    ms = H5Screate_simple(1, &one, NULL);
    if (ms < 0 || H5Sselect_none(ms) < 0 || H5Sselect_none(fspace) < 0)
      rc = -1;
    buf = dummy;
  } else if (b->nd == 0) {
    ms = H5Screate(H5S_SCALAR);
    if (ms < 0 || H5Sselect_all(fspace) < 0)
      rc = -1;
    buf = b->base;
  } else {
    int64_t st[DT_MAX_DIMS], cnt[DT_MAX_DIMS], ds[DT_MAX_DIMS];
    hsize_t hs[DT_MAX_DIMS], hc[DT_MAX_DIMS], n = 1;
    int64_t off = piece(b, pl, p, st, cnt);
    for (int d = 0; d < b->nd; d++) {
      hs[d] = (hsize_t)st[d];
      hc[d] = (hsize_t)cnt[d];
      n *= hc[d];
    }
    buf = b->base + off * (int64_t)dt_dtype_size(dtype);
    if (!dense(b->nd, cnt, b->stride, ds)) {
      /* Only a strided source being written gets here (reads go into
       * fresh dense shards). */
      dt__copy_strided(b->nd, cnt, tmp, dtype, ds, buf, dtype, b->stride);
      buf = tmp;
    }
    ms = H5Screate_simple(1, &n, NULL);
    if (ms < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, hs, NULL, hc, NULL) < 0)
      rc = -1;
  }
  if (rc < 0) {
    /* Still take part in the collective call, with nothing selected. */
    H5Sselect_none(fspace);
    if (ms >= 0)
      H5Sselect_none(ms);
    buf = dummy;
  }
  herr_t r2 = ms < 0  ? -1
              : write ? H5Dwrite(dset, mtype, ms, fspace, dxpl, buf)
                      : H5Dread(dset, mtype, ms, fspace, dxpl, buf);
  if (ms >= 0)
    H5Sclose(ms);
  return rc < 0 ? rc : r2;
}

/*
 * Move box b between memory and dataset `dset` (mtype: the memory element
 * type). Collective: ranks agree on the number of pieces (the largest), and
 * ranks with fewer pieces take part with empty selections. `pre` is a local
 * failure found by the caller; it is agreed first. Returns the agreed code.
 * Pieces go in the box's C order; a read adds each piece's element count to
 * progress->ready as it lands, so its checksum can start.
 */
static dt_err transfer(dt_ctx *ctx, dt_err pre, hid_t dset, hid_t mtype,
                       dt_dtype dtype, const dt__io_box *b, bool write,
                       bool independent, const char *what,
                       dt__io_sum *progress) {
  size_t esz = dt_dtype_size(dtype);
  int64_t ds[DT_MAX_DIMS];
  bool is_dense = b->nd == 0 || dense(b->nd, b->shape, b->stride, ds);
  size_t limit = dt__io_piece_max;
  if (!is_dense && ctx->chunk_budget < limit)
    limit = ctx->chunk_budget; /* packing goes through a bounded buffer */
  if (!write && DT_IO_READ_PIECE < limit)
    limit = DT_IO_READ_PIECE; /* hashing starts after the first piece */
  io_plan pl;
  plan_pieces(b, esz, limit, &pl);
  dt_err err = pre;
  void *tmp = NULL;
  if (!err && write && !is_dense && pl.count > 0) {
    tmp = malloc(pl.max_bytes);
    if (!tmp)
      err = dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes to pack '%s'",
                      pl.max_bytes, what);
  }
  hid_t fspace = -1, dxpl = -1;
  if (!err) {
    fspace = H5Dget_space(dset);
    dxpl = make_dxpl(independent);
    if (fspace < 0 || dxpl < 0)
      err = dt__h5_error(DT_ERR_HDF5, "cannot prepare the transfer of '%s'",
                         what);
  }
  int64_t np = err ? 0 : pl.count;
  err = dt__agree_max(ctx->comm, err, 0, &np);
  for (int64_t p = 0; !err && p < np; p++) {
    herr_t rc = xfer_piece(dset, mtype, fspace, b, &pl, p < pl.count ? p : -1,
                           write, dxpl, tmp, dtype);
    if (rc >= 0 && progress && p < pl.count) {
      int64_t st[DT_MAX_DIMS], cnt[DT_MAX_DIMS], n = 1;
      piece(b, &pl, p, st, cnt);
      for (int d = 0; d < b->nd; d++)
        n *= cnt[d];
      atomic_fetch_add(&progress->ready, n);
    }
    if (rc < 0) {
      err = dt__h5_error(write ? DT_ERR_IO : DT_ERR_HDF5, "%s '%s' failed",
                         write ? "writing" : "reading", what);
      /* The remaining collective calls, with nothing selected. */
      for (p++; p < np; p++)
        xfer_piece(dset, mtype, fspace, b, &pl, -1, write, dxpl, tmp, dtype);
    }
  }
  if (fspace >= 0)
    H5Sclose(fspace);
  close_plist(&dxpl);
  free(tmp);
  return dt__agree(ctx->comm, err, 0);
}

/* ---- opening a checkpoint ------------------------------------------------ */

/* What a missing, unreadable or foreign file looks like; rank 0 only. */
static dt_err probe(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return dt__error(DT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  DT_CHECK(S_ISREG(st.st_mode), DT_ERR_IO, "'%s' is not a regular file", path);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return dt__error(DT_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
  close(fd);
  htri_t is = H5Fis_hdf5(path);
  H5Eclear2(H5E_DEFAULT);
  DT_CHECK(is > 0, DT_ERR_FORMAT, "'%s' is not an HDF5 file", path);
  return DT_OK;
}

/* Open a checkpoint read-only on every rank and validate its root group.
 * Collective; on success the caller closes *fid (collective too). */
static dt_err open_ckpt(dt_ctx *ctx, const char *path, hid_t *fid,
                        uint64_t *seed, uint64_t *offset) {
  *fid = -1;
  dt_err err = ctx->rank == 0 ? probe(path) : DT_OK;
  err = dt__agree(ctx->comm, err, 0);
  if (err)
    return err;
  hid_t fapl = make_fapl(ctx, DT_IO_ALIGN_DEFAULT);
  err =
      fapl < 0 ? dt__h5_error(DT_ERR_HDF5, "cannot set up file access") : DT_OK;
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    close_plist(&fapl);
    return err;
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  close_plist(&fapl);
  err = f < 0 ? dt__h5_error(DT_ERR_FORMAT,
                             "cannot open '%s' (damaged or truncated?)", path)
              : DT_OK;
  err = dt__agree(ctx->comm, err, 0);
  if (err)
    return err; /* a handle open on some ranks only cannot be closed: the
                   close is collective and the others would never join */
  uint64_t s = 0, o = 0;
  err = dt__io_read_root(f, path, &s, &o);
  err = dt__agree(ctx->comm, err, dt__hash_mix(s, o));
  if (err) {
    H5Fclose(f);
    return err;
  }
  *fid = f;
  if (seed)
    *seed = s;
  if (offset)
    *offset = o;
  return DT_OK;
}

/* Collective close of a checkpoint opened by open_ckpt; returns the agreed
 * outcome combined with `err`. */
static dt_err close_ckpt(dt_ctx *ctx, hid_t fid, dt_err err) {
  if (H5Fclose(fid) < 0 && !err)
    err = dt__h5_error(DT_ERR_HDF5, "closing the file failed");
  return dt__agree(ctx->comm, err, 0);
}

/* Find dataset `name`: *dset >= 0 when it exists (close it), -1 when it
 * does not; DT_ERR_ARG when the name is a group. */
static dt_err find_dataset(hid_t fid, const char *file, const char *name,
                           hid_t *dset) {
  *dset = -1;
  char buf[DT_NAME_MAX + sizeof DT_IO_GRAD_SUFFIX];
  snprintf(buf, sizeof buf, "%s", name);
  /* H5Lexists needs every parent group to exist. */
  for (char *p = buf;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    htri_t e = H5Lexists(fid, buf, H5P_DEFAULT);
    *p = c;
    if (e < 0)
      return dt__h5_error(DT_ERR_HDF5, "cannot look up '%s' in '%s'", name,
                          file);
    if (e == 0)
      return DT_OK;
    if (c == '\0')
      break;
  }
  hid_t o = H5Oopen(fid, name, H5P_DEFAULT);
  if (o < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot open '%s' in '%s'", name, file);
  if (H5Iget_type(o) != H5I_DATASET) {
    H5Oclose(o);
    return dt__error(DT_ERR_ARG, "'%s' in '%s' is a group, not a tensor", name,
                     file);
  }
  *dset = o;
  return DT_OK;
}

static uint64_t meta_hash(const dt__io_meta *m) {
  uint64_t h = dt__hash_mix((uint64_t)m->dtype, (uint64_t)m->ndim);
  h = dt__hash_bytes(h, m->shape, sizeof(int64_t) * (size_t)m->ndim);
  h = dt__hash_mix(h, m->checksum);
  return dt__hash_mix(h, (uint64_t)m->requires_grad);
}

static bool meta_same_array(const dt__io_meta *a, const dt__io_meta *b) {
  if (a->dtype != b->dtype || a->ndim != b->ndim)
    return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d])
      return false;
  return true;
}

/* The tensor dataset `name` and, when present, its gradient's, validated.
 * Not collective. */
static dt_err open_tensor(hid_t fid, const char *path, const char *name,
                          hid_t *d, dt__io_meta *m, hid_t *gd,
                          dt__io_meta *gm) {
  char gname[DT_NAME_MAX + sizeof DT_IO_GRAD_SUFFIX];
  snprintf(gname, sizeof gname, "%s" DT_IO_GRAD_SUFFIX, name);
  DT_CALL(find_dataset(fid, path, name, d));
  DT_CHECK(*d >= 0, DT_ERR_ARG, "there is no tensor '%s' in '%s'", name, path);
  DT_CALL(dt__io_read_meta(*d, path, name, m));
  DT_CALL(find_dataset(fid, path, gname, gd));
  if (*gd < 0)
    return DT_OK;
  DT_CALL(dt__io_read_meta(*gd, path, gname, gm));
  DT_CHECK(meta_same_array(m, gm), DT_ERR_FORMAT,
           "the gradient '%s' in '%s' differs from its tensor in dtype or "
           "shape",
           gname, path);
  return DT_OK;
}

/* ---- save ---------------------------------------------------------------- */

/* One dataset to write: a tensor or a gradient. */
typedef struct wjob {
  const dt_tensor *t;
  char name[DT_NAME_MAX + sizeof DT_IO_GRAD_SUFFIX];
  dt__io_meta meta;
  hid_t dset;
  dt__io_box box; /* what this rank writes */
} wjob;

/* Testing hooks (documented in dtensor.h). */
typedef enum fault_point {
  FAULT_NONE,
  FAULT_WRITE,
  FAULT_CLOSE,
  FAULT_RENAME
} fault_point;

static fault_point fault_here(const dt_ctx *ctx) {
  const char *r = getenv("DT_FAULT_SAVE_RANK");
  char *end = NULL;
  if (!r || !*r || strtol(r, &end, 10) != ctx->rank || *end)
    return FAULT_NONE;
  const char *p = getenv("DT_FAULT_SAVE_POINT");
  if (p && strcmp(p, "close") == 0)
    return FAULT_CLOSE;
  if (p && strcmp(p, "rename") == 0)
    return FAULT_RENAME;
  return FAULT_WRITE;
}

/* After the first dataset's data (or the metadata, with no dataset). */
static dt_err mid_save(dt_ctx *ctx, fault_point fault, const char *tmp) {
  const char *s = getenv("DT_FAULT_SAVE_STALL");
  long secs = s ? strtol(s, NULL, 10) : 0;
  for (long k = 0; k < secs; k++)
    sleep(1);
  dt_err err = DT_OK;
  if (fault == FAULT_WRITE)
    err = dt__error(DT_ERR_IO,
                    "writing '%s' failed on rank %d (injected by "
                    "DT_FAULT_SAVE_RANK)",
                    tmp, ctx->rank);
  return dt__agree(ctx->comm, err, 0);
}

static dt_err check_save_args(const dt_ctx *ctx, const char *path, int n,
                              const char *const *names,
                              const dt_tensor *const *tensors,
                              const dt_save_opts *opts, uint64_t *h) {
  DT_CHECK(path != NULL, DT_ERR_NULL, "path is NULL");
  DT_CHECK(path[0] != '\0', DT_ERR_ARG, "path is empty");
  DT_CHECK(strlen(path) < DT_IO_PATH_MAX - 64, DT_ERR_ARG,
           "path is longer than %d bytes", DT_IO_PATH_MAX - 64);
  DT_CHECK(n >= 0, DT_ERR_ARG, "n = %d is negative", n);
  DT_CHECK(n == 0 || (names && tensors), DT_ERR_NULL,
           "names or tensors is NULL");
  size_t a = opts ? opts->alignment : 0;
  DT_CHECK(a == 0 || (a <= ((size_t)1 << 30) && (a & (a - 1)) == 0), DT_ERR_ARG,
           "alignment %zu is not a power of two up to 1 GiB", a);
  *h = dt__hash_bytes(dt__hash_mix((uint64_t)n, (uint64_t)a), path,
                      strlen(path));
  *h = dt__hash_mix(*h, opts && opts->skip_grads);
  for (int i = 0; i < n; i++) {
    DT_CALL(dt__io_check_name(names[i]));
    const dt_tensor *t = tensors[i];
    DT_CHECK(t != NULL, DT_ERR_NULL, "tensors[%d] ('%s') is NULL", i, names[i]);
    DT_CHECK(t->ctx == ctx, DT_ERR_CONTEXT,
             "tensors[%d] ('%s') belongs to another context", i, names[i]);
    size_t li = strlen(names[i]);
    for (int j = 0; j < i; j++) {
      size_t lj = strlen(names[j]);
      const char *s = li < lj ? names[i] : names[j];
      const char *l = li < lj ? names[j] : names[i];
      size_t ls = li < lj ? li : lj;
      DT_CHECK(strcmp(names[i], names[j]) != 0, DT_ERR_ARG,
               "names[%d] and names[%d] are both '%s'", j, i, names[i]);
      DT_CHECK(strncmp(s, l, ls) != 0 || l[ls] != '/', DT_ERR_ARG,
               "'%s' cannot be both a tensor and the group holding '%s'", s, l);
    }
    *h = dt__hash_bytes(*h, names[i], li);
    *h = dt__hash_mix(*h, (uint64_t)t->dtype);
    *h = dt__hash_mix(*h, dt__layout_hash(t->layout));
    *h = dt__hash_mix(*h, (uint64_t)(t->grad != NULL));
  }
  return DT_OK;
}

/* The temporary's name, made by rank 0 and broadcast: "<dir>/.<base>.tmp.
 * <pid>.<nanoseconds>", in the target's directory so rename is atomic. */
static dt_err temp_name(const dt_ctx *ctx, const char *path, char *tmp) {
  dt_err err = DT_OK;
  memset(tmp, 0, DT_IO_PATH_MAX);
  if (ctx->rank == 0) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dlen = slash ? (int)(slash - path) + 1 : 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct stat st;
    if (!*base)
      err = dt__error(DT_ERR_ARG, "path '%s' names a directory", path);
    else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
      err = dt__error(DT_ERR_IO, "'%s' exists and is not a regular file", path);
    else
      snprintf(tmp, DT_IO_PATH_MAX, "%.*s.%s.tmp.%lx.%llx", dlen, path, base,
               (unsigned long)getpid(),
               (unsigned long long)ts.tv_sec * 1000000000ull +
                   (unsigned long long)ts.tv_nsec);
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err)
    err = dt__agree(ctx->comm,
                    dt__bcast_bytes(tmp, DT_IO_PATH_MAX, 0, ctx->comm), 0);
  return err;
}

static dt_err fsync_path(const char *p, bool dir) {
  int fd = open(p, O_RDONLY | (dir ? O_DIRECTORY : 0));
  if (fd < 0)
    return dt__error(DT_ERR_IO, "cannot open '%s' to sync it: %s", p,
                     strerror(errno));
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0)
    return dt__error(DT_ERR_IO, "fsync of '%s' failed: %s", p, strerror(e));
  return DT_OK;
}

/* Rank 0: rename the complete temporary over the target, sync the
 * directory so the rename itself survives a crash. */
static dt_err publish(const char *tmp, const char *path, fault_point fault) {
  if (fault == FAULT_RENAME)
    return dt__error(DT_ERR_IO,
                     "renaming '%s' to '%s' failed (injected by "
                     "DT_FAULT_SAVE_RANK)",
                     tmp, path);
  if (rename(tmp, path) != 0)
    return dt__error(DT_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                     strerror(errno));
  char dir[DT_IO_PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path),
             path);
  return fsync_path(dir, true);
}

static dt_err create_dataset(hid_t fid, wjob *j, hid_t lcpl, hid_t dcpl,
                             const char *file) {
  hsize_t dims[DT_MAX_DIMS];
  for (int d = 0; d < j->meta.ndim; d++)
    dims[d] = (hsize_t)j->meta.shape[d];
  hid_t sp = j->meta.ndim ? H5Screate_simple(j->meta.ndim, dims, NULL)
                          : H5Screate(H5S_SCALAR);
  hid_t ty = dt__io_type(j->meta.dtype);
  if (sp >= 0 && ty >= 0)
    j->dset = H5Dcreate2(fid, j->name, ty, sp, lcpl, dcpl, H5P_DEFAULT);
  if (sp >= 0)
    H5Sclose(sp);
  if (ty >= 0)
    H5Tclose(ty);
  if (j->dset < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot create dataset '%s' in '%s'",
                        j->name, file);
  return dt__io_write_meta(j->dset, &j->meta);
}

static dt_err write_job(dt_ctx *ctx, wjob *j) {
  if (j->t->numel == 0)
    return DT_OK; /* every rank knows: no transfer at all */
  hid_t mt = dt__io_type(j->t->dtype);
  dt_err err = mt < 0 ? dt__h5_error(DT_ERR_HDF5, "cannot make a type") : DT_OK;
  err = transfer(ctx, err, j->dset, mt, j->t->dtype, &j->box, true,
                 parts_contiguous(j->t), j->name, NULL);
  if (mt >= 0)
    H5Tclose(mt);
  return err;
}

/* The I/O of a save, on the calling thread while the other threads compute
 * the checksums: every dataset's data, then H5Fflush, which syncs them to
 * the device (MPI_File_sync on every rank). Collective. */
typedef struct save_io {
  dt_ctx *ctx;
  wjob *jobs;
  int nj;
  hid_t fid;
  fault_point fault;
  const char *tmp;
} save_io;

static dt_err save_data(void *arg) {
  save_io *s = arg;
  dt_err err = DT_OK;
  for (int k = 0; !err && k < s->nj; k++) {
    err = write_job(s->ctx, &s->jobs[k]);
    if (!err && k == 0)
      err = mid_save(s->ctx, s->fault, s->tmp);
  }
  if (!err && s->nj == 0)
    err = mid_save(s->ctx, s->fault, s->tmp);
  if (!err && H5Fflush(s->fid, H5F_SCOPE_GLOBAL) < 0)
    err = dt__h5_error(DT_ERR_IO, "flushing '%s' failed", s->tmp);
  return dt__agree(s->ctx->comm, err, 0);
}

/* Sum the partial checksums over the ranks and store them in the
 * datasets' "checksum" attributes. Collective. */
static dt_err write_checksums(dt_ctx *ctx, wjob *jobs, dt__io_sum *sums,
                              int nj) {
  uint64_t *S = calloc((size_t)nj + 1, sizeof *S);
  dt_err err = S ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate sums");
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(S);
    return err;
  }
  for (int k = 0; k < nj; k++)
    S[k] = atomic_load(&sums[k].sum);
  int rc = MPI_Allreduce(MPI_IN_PLACE, S, nj, MPI_UINT64_T, MPI_SUM, ctx->comm);
  err = rc == MPI_SUCCESS ? DT_OK : dt__mpi_error(rc, "MPI_Allreduce (sums)");
  err = dt__agree(ctx->comm, err, 0);
  for (int k = 0; !err && k < nj; k++) {
    const dt_tensor *t = jobs[k].t;
    uint64_t c = dt__checksum_finish(t->dtype, t->ndim, t->shape, S[k]);
    hid_t a = H5Aopen(jobs[k].dset, "checksum", H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_UINT64, &c) < 0)
      err = dt__h5_error(DT_ERR_HDF5, "cannot write the checksum of '%s'",
                         jobs[k].name);
    if (a >= 0)
      H5Aclose(a);
  }
  free(S);
  return dt__agree(ctx->comm, err, 0);
}

static dt_err save_impl(dt_ctx *ctx, const char *path, int n,
                        const char *const *names,
                        const dt_tensor *const *tensors,
                        const dt_save_opts *opts) {
  uint64_t h = 0;
  int nj = 0;
  wjob *jobs = NULL;
  dt__io_sum *sums = NULL;
  dt_err err = check_save_args(ctx, path, n, names, tensors, opts, &h);
  if (!err && (!(jobs = calloc((size_t)n * 2 + 1, sizeof *jobs)) ||
               !(sums = calloc((size_t)n * 2 + 1, sizeof *sums))))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate %d job records", 2 * n);
  for (int i = 0; !err && i < n; i++) {
    const dt_tensor *t = tensors[i];
    for (int g = 0; g < 2; g++) {
      const dt_tensor *x = g ? t->grad : t;
      if (!x || (g && opts && opts->skip_grads))
        continue;
      wjob *j = &jobs[nj++];
      j->t = x;
      j->dset = -1;
      snprintf(j->name, sizeof j->name, "%s%s", names[i],
               g ? DT_IO_GRAD_SUFFIX : "");
      j->meta.dtype = x->dtype;
      j->meta.ndim = x->ndim;
      memcpy(j->meta.shape, x->shape, sizeof x->shape);
      j->meta.requires_grad = !g && x->requires_grad;
      dt__io_layout_str(x, j->meta.layout, sizeof j->meta.layout);
      /* Every element is hashed by the one rank that writes it. */
      box_of(x, true, &j->box);
      dt__io_sum *w = &sums[nj - 1];
      w->box = &j->box;
      w->dtype = x->dtype;
      w->hi = j->box.numel;
      atomic_init(&w->ready, w->hi);
      atomic_init(&w->sum, 0);
    }
  }
  err = dt__agree(ctx->comm, err, h);
  char tmp[DT_IO_PATH_MAX];
  if (!err)
    err = temp_name(ctx, path, tmp);
  if (err) {
    free(jobs);
    free(sums);
    return err;
  }

  fault_point fault = fault_here(ctx);
  size_t align =
      opts && opts->alignment ? opts->alignment : DT_IO_ALIGN_DEFAULT;
  hid_t fapl = make_fapl(ctx, align), lcpl = make_lcpl(), dcpl = make_dcpl();
  if (fapl < 0 || lcpl < 0 || dcpl < 0)
    err = dt__h5_error(DT_ERR_HDF5, "cannot set up property lists");
  err = dt__agree(ctx->comm, err, 0);
  hid_t fid = -1;
  if (!err) {
    fid = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    err = fid < 0 ? dt__h5_error(DT_ERR_IO, "cannot create '%s'", tmp) : DT_OK;
    err = dt__agree(ctx->comm, err, 0);
  }
  /* Rank 0 removes the temporary on failure, if its create made one. */
  bool have_tmp = fid >= 0;
  if (err)
    fid = -1; /* open on some ranks only: see open_ckpt */

  if (fid >= 0) {
    /* Metadata first (small and collective; checksums are filled in
     * later), then the data with the checksums computed alongside, then
     * the checksums. Everything reaches the disk before the rename. */
    err = dt__io_write_root(fid, ctx->seed, ctx->offset);
    for (int k = 0; !err && k < nj; k++)
      err = create_dataset(fid, &jobs[k], lcpl, dcpl, tmp);
    err = dt__agree(ctx->comm, err, 0);
    save_io sio = {ctx, jobs, nj, fid, fault, tmp};
    if (!err)
      err = dt__io_overlap(save_data, &sio, sums, nj);
    if (!err)
      err = write_checksums(ctx, jobs, sums, nj);
    if (!err && H5Fflush(fid, H5F_SCOPE_GLOBAL) < 0)
      err = dt__h5_error(DT_ERR_IO, "flushing '%s' failed", tmp);
    if (!err && fault == FAULT_CLOSE)
      err = dt__error(DT_ERR_IO,
                      "closing '%s' failed on rank %d (injected by "
                      "DT_FAULT_SAVE_RANK)",
                      tmp, ctx->rank);
    err = dt__agree(ctx->comm, err, 0);
    for (int k = 0; k < nj; k++)
      if (jobs[k].dset >= 0)
        H5Dclose(jobs[k].dset);
    if (H5Fclose(fid) < 0 && !err)
      err = dt__h5_error(DT_ERR_IO, "closing '%s' failed", tmp);
    if (!err && ctx->rank == 0)
      err = fsync_path(tmp, false);
    err = dt__agree(ctx->comm, err, 0);
    if (!err) {
      err = ctx->rank == 0 ? publish(tmp, path, fault) : DT_OK;
      err = dt__agree(ctx->comm, err, 0);
      have_tmp = have_tmp && err != DT_OK;
    }
  }
  if (err && have_tmp && ctx->rank == 0)
    unlink(tmp);
  close_plist(&fapl);
  close_plist(&lcpl);
  close_plist(&dcpl);
  free(jobs);
  free(sums);
  /* No rank returns before the temporary is gone. */
  return err ? dt__agree(ctx->comm, err, 0) : DT_OK;
}

dt_err dt_save(dt_ctx *ctx, const char *path, int n, const char *const *names,
               const dt_tensor *const *tensors, const dt_save_opts *opts) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = save_impl(ctx, path, n, names, tensors, opts);
  dt__h5_restore(&q);
  DT_RETURN(err);
}

/* ---- load ---------------------------------------------------------------- */

/* One tensor being read: its dataset, the box this rank reads, the
 * recorded checksum. */
typedef struct rjob {
  dt_tensor *t;
  hid_t dset;
  const char *name;
  uint64_t want;
  dt__io_box box;
} rjob;

/* This rank reads its own box into t's fresh dense shard, and hashes the
 * part of it that no other rank hashes: all of it, or for a replicated
 * tensor the rows it would write. */
static void read_plan(rjob *r, dt__io_sum *w) {
  const dt_tensor *t = r->t;
  box_of(t, false, &r->box);
  w->box = &r->box;
  w->dtype = t->dtype;
  w->lo = 0;
  w->hi = r->box.numel;
  if (t->layout->kind == DT__L_REPLICATED || t->ndim == 0) {
    dt__io_box share;
    box_of(t, true, &share);
    int64_t row = t->ndim && t->shape[0] ? r->box.numel / t->shape[0] : 1;
    w->lo = t->ndim ? share.start[0] * row : 0;
    w->hi = w->lo + share.numel;
  }
  atomic_init(&w->ready, 0);
  atomic_init(&w->sum, 0);
}

static dt_err read_one(dt_ctx *ctx, rjob *r, dt__io_sum *w) {
  if (r->t->numel == 0)
    return DT_OK;
  /* The file's type in native byte order: no conversion for files written
   * on a machine of the same endianness. */
  hid_t ft = H5Dget_type(r->dset);
  hid_t mt = ft < 0 ? -1 : H5Tget_native_type(ft, H5T_DIR_ASCEND);
  dt_err err = mt < 0 ? dt__h5_error(DT_ERR_HDF5,
                                     "cannot read the type of '%s'", r->name)
                      : DT_OK;
  err = transfer(ctx, err, r->dset, mt, r->t->dtype, &r->box, false,
                 parts_contiguous(r->t), r->name, w);
  if (mt >= 0)
    H5Tclose(mt);
  if (ft >= 0)
    H5Tclose(ft);
  return err;
}

/* The reads of a load, on the calling thread while the other threads hash
 * what has arrived. Collective. */
typedef struct load_io {
  dt_ctx *ctx;
  rjob *r;
  dt__io_sum *w;
  int n;
} load_io;

static dt_err load_data(void *arg) {
  load_io *l = arg;
  dt_err err = DT_OK;
  for (int k = 0; !err && k < l->n; k++)
    err = read_one(l->ctx, &l->r[k], &l->w[k]);
  return err;
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
                        const dt_opts *opts, dt_tensor **out) {
  dt_err err =
      path && out ? DT_OK : dt__error(DT_ERR_NULL, "path or out is NULL");
  if (out)
    *out = NULL;
  if (!err)
    err = dt__io_check_name(name);
  uint64_t h = err ? 0
                   : dt__hash_bytes(dt__hash_bytes(0, path, strlen(path)), name,
                                    strlen(name));
  err = dt__agree(ctx->comm, err, h);
  hid_t fid = -1;
  if (!err)
    err = open_ckpt(ctx, path, &fid, NULL, NULL);
  if (err)
    return err;

  hid_t d = -1, gd = -1;
  dt__io_meta m = {0}, gm = {0};
  err = open_tensor(fid, path, name, &d, &m, &gd, &gm);
  if (!err && opts && opts->dtype != DT_DTYPE_DEFAULT && opts->dtype != m.dtype)
    err = dt__error(DT_ERR_DTYPE,
                    "'%s' holds %s, not %s: load it as saved, then convert "
                    "with dt_redistribute",
                    name, dt_dtype_name(m.dtype), dt_dtype_name(opts->dtype));
  h = dt__hash_mix(meta_hash(&m), gd >= 0 ? meta_hash(&gm) : 0);
  err = dt__agree(ctx->comm, err, h);

  dt_tensor *t = NULL, *g = NULL;
  if (!err) {
    dt_opts o = opts ? *opts : (dt_opts){0};
    o.dtype = m.dtype;
    err = dt_empty(ctx, m.ndim, m.shape, &o, &t);
  }
  if (!err && gd >= 0) {
    err = dt__tensor_alloc(ctx, m.dtype, t->layout, &g);
    err = dt__agree(ctx->comm, err, 0);
  }
  char gname[DT_NAME_MAX + sizeof DT_IO_GRAD_SUFFIX];
  snprintf(gname, sizeof gname, "%s" DT_IO_GRAD_SUFFIX, name);
  rjob r[2];
  dt__io_sum w[2];
  int nr = 0;
  if (!err) {
    r[nr] = (rjob){.t = t, .dset = d, .name = name, .want = m.checksum};
    read_plan(&r[nr], &w[nr]);
    nr++;
    if (g) {
      r[nr] = (rjob){.t = g, .dset = gd, .name = gname, .want = gm.checksum};
      read_plan(&r[nr], &w[nr]);
      nr++;
    }
    load_io lio = {ctx, r, w, nr};
    err = dt__io_overlap(load_data, &lio, w, nr);
  }
  if (d >= 0)
    H5Dclose(d);
  if (gd >= 0)
    H5Dclose(gd);
  err = close_ckpt(ctx, fid, err);
  if (!err)
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
  dt_err err = load_impl(ctx, path, name, opts, out);
  dt__h5_restore(&q);
  DT_RETURN(err);
}

dt_err dt_load_rng_state(dt_ctx *ctx, const char *path) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = path ? DT_OK : dt__error(DT_ERR_NULL, "path is NULL");
  err = dt__agree(ctx->comm, err,
                  path ? dt__hash_bytes(0, path, strlen(path)) : 0);
  hid_t fid = -1;
  uint64_t seed = 0, offset = 0;
  if (!err)
    err = open_ckpt(ctx, path, &fid, &seed, &offset);
  if (!err)
    err = close_ckpt(ctx, fid, DT_OK);
  if (!err) {
    ctx->seed = seed;
    ctx->offset = offset;
  }
  dt__h5_restore(&q);
  DT_RETURN(err);
}

/* ---- list ---------------------------------------------------------------- */

typedef struct name_list {
  char **v;
  int n, cap;
} name_list;

static herr_t visit_cb(hid_t g, const char *name, const H5L_info_t *info,
                       void *data) {
  (void)g;
  name_list *l = data;
  if (info->type != H5L_TYPE_HARD)
    return 0;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    char **v = realloc(l->v, sizeof *v * (size_t)cap);
    if (!v)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(name)))
    return -1;
  l->n++;
  return 0;
}

/* Entry for dataset `name` if it claims to be a tensor (else *keep false). */
static dt_err list_one(hid_t fid, const char *path, const char *name,
                       dt_file_entry *e, bool *keep) {
  *keep = false;
  hid_t o = H5Oopen(fid, name, H5P_DEFAULT);
  if (o < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot open '%s' in '%s'", name, path);
  htri_t is = H5Iget_type(o) == H5I_DATASET && !strchr(name, '@')
                  ? dt__io_is_tensor(o)
                  : 0;
  H5Oclose(o);
  if (is < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot read '%s' in '%s'", name, path);
  if (is == 0)
    return DT_OK; /* a group, a gradient, or foreign data */
  DT_CHECK(dt__io_check_name(name) == DT_OK, DT_ERR_FORMAT,
           "dataset '%.200s' in '%s' is marked as a tensor but its name is "
           "not a valid tensor name",
           name, path);
  hid_t d = -1, gd = -1;
  dt__io_meta m, gm;
  dt_err err = open_tensor(fid, path, name, &d, &m, &gd, &gm);
  if (d >= 0)
    H5Dclose(d);
  if (gd >= 0)
    H5Dclose(gd);
  DT_CALL(err);
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->dtype = m.dtype;
  e->ndim = m.ndim;
  memcpy(e->shape, m.shape, sizeof m.shape);
  e->requires_grad = m.requires_grad;
  e->has_grad = gd >= 0;
  e->checksum = m.checksum;
  snprintf(e->layout, sizeof e->layout, "%s", m.layout);
  *keep = true;
  return DT_OK;
}

static dt_err list_impl(dt_ctx *ctx, const char *path, int *n,
                        dt_file_entry **entries) {
  dt_err err = path && n && entries
                   ? DT_OK
                   : dt__error(DT_ERR_NULL, "path, n or entries is NULL");
  if (n)
    *n = 0;
  if (entries)
    *entries = NULL;
  err = dt__agree(ctx->comm, err,
                  path ? dt__hash_bytes(0, path, strlen(path)) : 0);
  hid_t fid = -1;
  if (!err)
    err = open_ckpt(ctx, path, &fid, NULL, NULL);
  if (err)
    return err;
  name_list l = {NULL, 0, 0};
  if (H5Lvisit(fid, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &l) < 0)
    err = dt__h5_error(DT_ERR_HDF5, "cannot list the objects of '%s'", path);
  dt_file_entry *e = err ? NULL : calloc((size_t)l.n + 1, sizeof *e);
  if (!err && !e)
    err = dt__error(DT_ERR_NOMEM, "cannot allocate %d entries", l.n);
  int k = 0;
  uint64_t h = 0;
  for (int i = 0; !err && i < l.n; i++) {
    bool keep = false;
    err = list_one(fid, path, l.v[i], &e[k], &keep);
    if (!err && keep)
      h = dt__hash_mix(
          h, dt__hash_bytes(e[k].checksum, e[k].name, strlen(e[k].name))),
      k++;
  }
  for (int i = 0; i < l.n; i++)
    free(l.v[i]);
  free(l.v);
  err = dt__agree(ctx->comm, err, h);
  err = close_ckpt(ctx, fid, err);
  if (err) {
    free(e);
    return err;
  }
  *n = k;
  if (k == 0)
    free(e);
  *entries = k ? e : NULL;
  return DT_OK;
}

dt_err dt_list(dt_ctx *ctx, const char *path, int *n, dt_file_entry **entries) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = list_impl(ctx, path, n, entries);
  dt__h5_restore(&q);
  DT_RETURN(err);
}
