/*
 * io_internal.h - what the checkpoint module's two files share: HDF5 error
 * capture, name rules, the per-tensor metadata record and its attribute
 * codec. Included only by src/io_*.c (it pulls in hdf5.h, which nothing
 * else in the library needs).
 */
#ifndef DT_IO_INTERNAL_H
#define DT_IO_INTERNAL_H

#include "internal.h"

#include <hdf5.h>

#define DT_IO_FORMAT "dtensor-checkpoint"
#define DT_IO_VERSION 1
/* The gradient of "<name>" is the dataset "<name>" DT_IO_GRAD_SUFFIX. */
#define DT_IO_GRAD_SUFFIX "@grad"
#define DT_IO_LAYOUT_MAX 63 /* characters of the "layout" attribute */

/* ---- HDF5 errors (io_attr.c) --------------------------------------------- */

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

/* ---- names (io_attr.c) --------------------------------------------------- */

/* DT_ERR_ARG unless `name` follows the rules in dtensor.h. */
dt_err dt__io_check_name(const char *name);

/* ---- per-tensor metadata (io_attr.c) ------------------------------------- */

typedef struct dt__io_meta {
  dt_dtype dtype;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  bool requires_grad;
  uint64_t checksum;
  char layout[DT_IO_LAYOUT_MAX + 1];
} dt__io_meta;

/* The dataset type of a dtype (a new handle: close it). Bool is h5py's
 * enum {FALSE = 0, TRUE = 1} over a signed byte. Negative on failure. */
hid_t dt__io_type(dt_dtype dtype);
/* "split axis=0 ranks=4" and friends, from a tensor's layout. */
void dt__io_layout_str(const dt_tensor *t, char *buf, size_t n);

/* Attributes of a tensor dataset (all ranks call with identical values). */
dt_err dt__io_write_meta(hid_t dset, const dt__io_meta *m);
/* Read and validate every attribute of `dset` against the dataset itself
 * (dataspace, type). Not collective; the caller agrees. `file` and `name`
 * are for messages. DT_ERR_FORMAT for anything wrong in the file. */
dt_err dt__io_read_meta(hid_t dset, const char *file, const char *name,
                        dt__io_meta *m);
/* True when `dset` carries a dtensor_format attribute (it claims to be a
 * tensor); negative on an HDF5 failure. */
htri_t dt__io_is_tensor(hid_t dset);

/* Root-group attributes: format, version, generator state. */
dt_err dt__io_write_root(hid_t file, uint64_t seed, uint64_t offset);
dt_err dt__io_read_root(hid_t file, const char *path, uint64_t *seed,
                        uint64_t *offset);

/* ---- checksums overlapped with I/O (io_sum.c) ---------------------------- */

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

/* A partial checksum: this rank's share of a tensor, positions [lo, hi) of
 * `box` in C order. A load's data arrive in C order: positions [0, ready)
 * are in memory. `sum` is dt_checksum's S over the share. */
typedef struct dt__io_sum {
  const dt__io_box *box;
  dt_dtype dtype;
  int64_t lo, hi;
  atomic_llong ready;
  atomic_ullong sum;
} dt__io_sum;

/* Run io(arg) on the calling thread (the only one to call MPI or HDF5) while
 * other OpenMP threads compute the sums w[0..n-1]; the caller helps once io
 * returns. Returns io's result; the sums are complete when it is DT_OK. */
dt_err dt__io_overlap(dt_err (*io)(void *), void *arg, dt__io_sum *w, int n);
/* Elements below which dt__io_overlap runs io, then hashes, on one thread
 * (1 Mi); a variable so tests can make it 0. */
extern int64_t dt__io_overlap_min;
/* The hashes are dt__hash_stretch's and the final mixing
 * dt__checksum_finish's (internal.h), so a checkpoint's checksum is
 * dt_checksum's. */

/* ---- files (io_hdf5.c) --------------------------------------------------- */

/* Largest transfer of one H5Dwrite/H5Dread per rank, in bytes (1 GiB);
 * strided shards are packed through buffers of the context's chunk budget
 * instead. A variable so tests can shrink it and exercise the splitting. */
extern size_t dt__io_piece_max;

#endif /* DT_IO_INTERNAL_H */
