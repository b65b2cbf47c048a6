/*
 * io_internal.h - what the checkpoint module's files share (src/io/):
 *   attr.c   HDF5 error capture, name rules, dtype <-> HDF5 type, the
 *            attributes of tensors and of the root group, written and
 *            validated, and the metadata checksum;
 *   open.c   rank 0 reads and validates a checkpoint's metadata alone and
 *            broadcasts the verdict and the catalog (dt_list,
 *            dt_load_rng_state use only this);
 *   box.c    which box of a tensor each rank moves, cut into pieces;
 *   save.c   dt_save; load.c dt_load;
 *   save_chunked.c  dt_save's chunked, compressed datasets (chunks
 *            gathered by their owners, deflated there, written by rank 0
 *            with H5Dwrite_chunk) and the filters dt_load accepts;
 *   sum.c    data checksums computed while the I/O runs.
 * Included only by the files of src/io/ (it pulls in hdf5.h, which nothing else
 * in the library needs).
 *
 * No HDF5 call is collective anywhere in this module: rank 0 alone reads
 * and writes the metadata with the sequential (sec2) driver; a save's data
 * are written by every rank with pwrite at offsets rank 0 broadcast, a
 * load's read by every rank through its own sequential HDF5 handle. Every
 * failure is local and agreed (dt__agree) before the next step, so no rank
 * can be left waiting inside HDF5.
 */
#ifndef DT_IO_INTERNAL_H
#define DT_IO_INTERNAL_H

#include "internal.h"

#include <hdf5.h>

#define DT_IO_FORMAT "dtensor-checkpoint"
#define DT_IO_VERSION 2
/* The gradient of "<name>" is the dataset "<name>" DT_IO_GRAD_SUFFIX. */
#define DT_IO_GRAD_SUFFIX "@grad"
#define DT_IO_LAYOUT_MAX 63 /* characters of the "layout" attribute */
#define DT_IO_PATH_MAX 4096
/* Longest dataset name: a tensor name and its gradient suffix. */
#define DT_IO_DNAME_MAX (DT_NAME_MAX + sizeof DT_IO_GRAD_SUFFIX)

/* ---- HDF5 errors (attr.c) ------------------------------------------------ */

/* HDF5 prints its error stack by default; the library never prints, so
 * every public function silences it on entry and restores the caller's
 * handler on exit. */
typedef struct dt__h5quiet {
  H5E_auto2_t func;
  void *data;
} dt__h5quiet;
void dt__h5_quiet(dt__h5quiet *q);
void dt__h5_restore(const dt__h5quiet *q);

/* Record `code` with the message and, after ": ", the innermost message of
 * HDF5's error stack (e.g. "truncated file: eof = ..."), then clear it. */
dt_err dt__h5_error(dt_err code, const char *fmt, ...) DT_PRINTF(2, 3);

/* ---- names (attr.c) ------------------------------------------------------ */

/* DT_ERR_ARG unless `name` follows the rules in dtensor.h. */
dt_err dt__io_check_name(const char *name);

/* ---- per-tensor metadata (attr.c) ---------------------------------------- */

typedef struct dt__io_meta {
  dt_dtype dtype;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  bool requires_grad;
  bool has_grad; /* a "<name>@grad" dataset belongs to it */
  uint64_t checksum;
  char layout[DT_IO_LAYOUT_MAX + 1];
} dt__io_meta;

/* The dataset type of a dtype (a new handle: close it). Bool is h5py's
 * enum {FALSE = 0, TRUE = 1} over a signed byte. Negative on failure. */
hid_t dt__io_type(dt_dtype dtype);
/* "split axis=0 ranks=4" and friends, from a tensor's layout. */
void dt__io_layout_str(const dt_tensor *t, char *buf, size_t n);

/* The metadata checksum of dataset `dname` (the "meta_checksum"
 * attribute): every attribute the loader trusts, bound to the name. */
uint64_t dt__io_meta_sum(const char *dname, const dt__io_meta *m);
/* The root group's: format version and generator state. */
uint64_t dt__io_root_sum(uint64_t seed, uint64_t offset);

/* Attributes of a tensor dataset, in a fixed order; checksum and
 * meta_checksum as given (a save writes 0, then the real values). */
dt_err dt__io_write_meta(hid_t dset, const char *dname, const dt__io_meta *m);
/* Overwrite the checksum and meta_checksum attributes in place. */
dt_err dt__io_write_sums(hid_t dset, const char *dname, const dt__io_meta *m);
/* Read and validate every attribute of `dset` against the dataset itself
 * (dataspace, type, storage) except meta_checksum, which the caller checks
 * once it knows has_grad. `file` and `dname` are for messages; file_size
 * bounds where the data may be. DT_ERR_FORMAT for anything wrong in the
 * file. */
dt_err dt__io_read_meta(hid_t dset, const char *file, const char *dname,
                        int64_t file_size, dt__io_meta *m, uint64_t *msum);
/* True when `dset` carries a dtensor_format attribute (it claims to be a
 * tensor); negative on an HDF5 failure. */
htri_t dt__io_is_tensor(hid_t dset);

/* Root-group attributes: format, version, generator state, meta_checksum. */
dt_err dt__io_write_root(hid_t file, uint64_t seed, uint64_t offset);
dt_err dt__io_read_root(hid_t file, const char *path, uint64_t *seed,
                        uint64_t *offset);

/* ---- property lists (attr.c) --------------------------------------------- */

/* Sequential driver; files written in the newest format HDF5 1.10 knows
 * (checksummed metadata); `alignment` 0 for reading. */
hid_t dt__io_fapl(size_t alignment);
/* Link access that never follows an external or soft link. */
hid_t dt__io_lapl(void);
/* Objects created without time stamps (byte-identical files). */
hid_t dt__io_ocpl(H5I_type_t kind);

/* The storage checks of dt__io_read_meta (attr.c): data in the file itself
 * (no external storage, no virtual layout) and, unfiltered, as many bytes
 * stored within the file as `bytes` (the declared extent's, in the file's
 * element size). */
dt_err dt__io_check_storage(hid_t dset, const char *where, int64_t bytes,
                            int64_t file_size);

/* Find dataset `name` through hard links only (open.c): *dset >= 0 when it
 * exists (close it), -1 when it does not; DT_ERR_ARG when it is a group,
 * DT_ERR_FORMAT when a link on the way is not a hard link. */
dt_err dt__io_find_dataset(hid_t f, hid_t lapl, const char *file,
                           const char *name, hid_t *dset);

/* ---- the catalog (open.c) ------------------------------------------------ */

typedef struct dt__io_entry {
  char name[DT_NAME_MAX + 1];
  dt__io_meta m, gm; /* gm: the gradient's, when m.has_grad */
} dt__io_entry;

typedef struct dt__io_catalog {
  uint64_t seed, offset;
  int n;
  dt__io_entry *e; /* malloc'ed, n entries */
} dt__io_catalog;

/* Collective. Rank 0 alone opens `path` with the sequential driver and
 * reads and validates its root group and either tensor `only` (with its
 * gradient) or, when only is NULL, every tensor in the file; the verdict
 * is agreed and the catalog broadcast, so every rank has the same one or
 * the same error. verify false (dt_load_opts.skip_checksums): the metadata
 * checksums of `only` and its gradient are read but not compared. */
dt_err dt__io_catalog_read(dt_ctx *ctx, const char *path, const char *only,
                           bool verify, dt__io_catalog *c);
void dt__io_catalog_free(dt__io_catalog *c);

/* Rank 0's checks of a path before HDF5 sees it: exists, a regular file
 * (a FIFO or directory is refused without opening it), readable. */
dt_err dt__io_probe(const char *path, int64_t *size);

/* Rank 0's read-only handle on a file for validation: probed first, then
 * opened with the sequential driver; lapl follows hard links only. */
typedef struct dt__io_rofile {
  hid_t f, fapl, lapl;
  int64_t size; /* bytes, from the probe */
} dt__io_rofile;
/* Open; on failure the handles that were made are left for close. */
dt_err dt__io_ro_open(const char *path, dt__io_rofile *rf);
/* Close everything and return err, or DT_ERR_FORMAT when err is DT_OK and
 * the file fails to close. HDF5's error stack is cleared. */
dt_err dt__io_ro_close(const char *path, dt__io_rofile *rf, dt_err err);

/* ---- plain datasets (dataset.c) ------------------------------------------ */

/* What dt_load_dataset needs of a dataset: the dtype it loads as, its
 * extent, its name relative to the root group. */
typedef struct dt__io_dsinfo {
  char name[DT_NAME_MAX + 1];
  dt_dtype dtype;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
} dt__io_dsinfo;

/* A dataset name from the caller: leading '/' dropped (*rel points into
 * name), 1..DT_NAME_MAX bytes, no empty, "." or ".." component. Any other
 * bytes are allowed (other tools' names have spaces and '@'). */
dt_err dt__io_dataset_name(const char *name, const char **rel);
/* The dtype file type t loads as (DT_DTYPE_DEFAULT: refused), and a short
 * description of t ("float64BE", "uint16LE", "bool") in desc. */
dt_dtype dt__io_plain_dtype(hid_t t, char *desc, size_t n);
/* Collective: rank 0 validates dataset `name` (relative) of `path`, the
 * verdict is agreed and *ds broadcast. */
dt_err dt__io_dataset_read(dt_ctx *ctx, const char *path, const char *name,
                           dt__io_dsinfo *ds);

/* ---- boxes and pieces (box.c) -------------------------------------------- */

/* What one rank moves for one dataset: a box of the global array and where
 * its elements are in memory. */
typedef struct dt__io_box {
  int nd;
  int64_t gshape[DT_MAX_DIMS]; /* the whole tensor's shape */
  int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS];
  int64_t stride[DT_MAX_DIMS]; /* memory strides in elements */
  char *base;                  /* the box's first element */
  int64_t numel;
} dt__io_box;

/* This rank's box of t: its shard, or for a save of a replicated or 0-d
 * tensor its balanced share of axis 0 (rank 0 writes a 0-d tensor). */
void dt__io_box_of(const dt_tensor *t, bool saving, dt__io_box *b);

/* A box is cut into pieces of at most `limit` bytes: single indices of the
 * axes before k, runs of `rows` indices of axis k, whole axes after k. */
typedef struct dt__io_plan {
  int k;
  int64_t rows, per, count; /* per: pieces per index of the outer axes */
  size_t max_bytes;
} dt__io_plan;
void dt__io_plan_pieces(const dt__io_box *b, size_t esz, size_t limit,
                        dt__io_plan *pl);
/* Piece p: global start and extent; returns its memory offset in elements. */
int64_t dt__io_piece(const dt__io_box *b, const dt__io_plan *pl, int64_t p,
                     int64_t *start, int64_t *cnt);
/* Dense C-order strides of `cnt` in ds; true when `stride` matches them on
 * every axis that has more than one index (one stretch of memory). */
bool dt__io_dense(int nd, const int64_t *cnt, const int64_t *stride,
                  int64_t *ds);

/* A piece (global start st, extent cnt) of box b as runs of elements
 * contiguous in the dataset (C order of gshape): nruns runs of `run`
 * elements, in the piece's C order; dt__io_run_at gives run r's first
 * element in the dataset. A 0-d piece is one run of one element at 0. */
typedef struct dt__io_runs {
  int nd, jx;
  int64_t run, nruns, tail;
  int64_t gstride[DT_MAX_DIMS], st[DT_MAX_DIMS], cnt[DT_MAX_DIMS];
} dt__io_runs;
void dt__io_runs_of(const dt__io_box *b, const int64_t *st, const int64_t *cnt,
                    dt__io_runs *rs);
int64_t dt__io_run_at(const dt__io_runs *rs, int64_t r);

/* Largest transfer of one write or read per rank, in bytes (1 GiB);
 * strided shards are packed through buffers of the context's chunk budget
 * instead. A variable so tests can shrink it and exercise the splitting. */
extern size_t dt__io_piece_max;
/* false: dt_load reads every tensor through H5Dread, not with pread
 * straight into the shard (load.c; for tests). */
extern bool dt__io_direct;

/* ---- checksums overlapped with I/O (sum.c) ------------------------------- */

/* A partial checksum: this rank's share of a tensor, positions [lo, hi) of
 * `box` in C order. A load's data arrive in C order: positions [0, ready)
 * are in memory. `sum` is dt_checksum's S over the share. */
typedef struct dt__io_sum {
  const dt__io_box *box;
  dt_dtype dtype;
  int64_t lo, hi;
  atomic_llong ready;
  atomic_ullong sum;
  struct dt__io_pool *pool; /* set by dt__io_overlap for dt__io_arrived */
} dt__io_sum;

/* Run io(arg) on the calling thread (the only one to call MPI or HDF5) while
 * other OpenMP threads compute the sums w[0..n-1]; the caller helps once io
 * returns. Returns io's result; the sums are complete when it is DT_OK. */
dt_err dt__io_overlap(dt_err (*io)(void *), void *arg, dt__io_sum *w, int n);
/* Elements below which dt__io_overlap runs io, then hashes, on one thread
 * (1 Mi); a variable so tests can make it 0. */
extern int64_t dt__io_overlap_min;
/* A load's I/O, inside dt__io_overlap: n more elements of w, in C order,
 * are in memory. The I/O thread then hashes what is ready and no other
 * thread has taken (all of it when it runs alone), so the data are hashed
 * while still in its cache instead of in a second pass over the shard. */
void dt__io_arrived(dt__io_sum *w, int64_t n);
/* Elements hashed per work item (256 Ki); tests make it small. */
extern int64_t dt__io_sum_chunk;
/* false: dt__io_arrived only counts, the hashing waits for other threads
 * or the end of the I/O (the way before the fused hash; for tests). */
extern bool dt__io_fused;
/* The hashes are dt__hash_stretch's and the final mixing
 * dt__checksum_finish's (internal.h), so a checkpoint's checksum is
 * dt_checksum's. */

/* ---- chunked, compressed datasets of a save (save_chunked.c) ------------ */

/* How one dataset is stored: chunk[0] == 0 means contiguous. */
typedef struct dt__io_zspec {
  int64_t chunk[DT_MAX_DIMS]; /* chunk dimensions */
  int level;                  /* deflate level, 0: none */
  bool shuffle;
} dt__io_zspec;

/* Check dt_save's chunking options (DT_ERR_ARG naming dt_save) and mix
 * them into the argument hash *h. Not collective. */
dt_err dt__io_zopts_check(const dt_save_opts *opts, uint64_t *h);
/* The storage of tensor t under opts (chunk[0] == 0: contiguous). */
void dt__io_zspec_of(const dt_save_opts *opts, const dt_tensor *t,
                     dt__io_zspec *z);
/* A dataset creation list for a chunked dataset of rank nd: `base`'s
 * properties, the chunk and the filters. Negative on failure. */
hid_t dt__io_zdcpl(hid_t base, int nd, const dt__io_zspec *z);

/* One chunked dataset to write. */
typedef struct dt__io_zjob {
  const dt_tensor *t;
  const char *name;
  const dt__io_box *box; /* this rank's save box (dt__io_box_of, saving) */
  dt__io_zspec z;
} dt__io_zjob;

/* Collective: the chunks of every job are gathered by their owners,
 * filtered there and written by rank 0 into the temporary `tmp` (which
 * holds the datasets, created chunked and empty). The same code on every
 * rank; on failure the caller removes tmp. */
dt_err dt__io_write_chunks(dt_ctx *ctx, const char *tmp, int n,
                           const dt__io_zjob *jobs);

/* Rank 0's careful close of a file being written (save.c's close_h5). */
dt_err dt__io_close_h5(hid_t f, const char *tmp, dt_err err);

/* Loading: a checkpoint tensor's filters may only be deflate and shuffle
 * (what dt_save writes), decodable here, and the stored bytes may not be
 * fewer than bytes / 1100. DT_ERR_FORMAT otherwise. Rank 0. */
dt_err dt__io_zcheck_read(hid_t dset, const char *where, int64_t bytes);
/* The code of a failed H5Dread: DT_ERR_FORMAT when HDF5's filter pipeline
 * failed (compressed data that do not decode: a damaged file), else
 * DT_ERR_IO. Looks at HDF5's error stack without clearing it. */
dt_err dt__io_read_fail_code(void);

#endif /* DT_IO_INTERNAL_H */
