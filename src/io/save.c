/*
 * save.c - dt_save: a checkpoint written by all ranks, atomically.
 *
 * Nothing in a save is a collective HDF5 call, so a failure anywhere (a
 * full disk, a file size limit, a failing device, an injected fault) is
 * local to the rank that meets it and the ranks agree (dt__agree) before
 * each next step:
 *   1. rank 0 alone creates the temporary "<dir>/.<file>.tmp.<pid>.<ns>"
 *      with the sequential driver: the root group, every dataset
 *      (contiguous, allocated at creation, never filled, no time stamps)
 *      and every attribute, with the checksums still 0; it closes the file
 *      and broadcasts where each dataset's data start;
 *   2. every rank writes its own box of each tensor there with pwrite
 *      (the checksums computed by its other threads meanwhile), fsyncs and
 *      closes its descriptor; rank 0 only starts the write-back of its
 *      data there (its fsync in step 3 covers the whole file);
 *   3. the partial checksums are summed over the ranks and rank 0 writes
 *      them and the metadata checksums into the attributes, closes and
 *      fsyncs the file;
 *   4. rank 0 renames it over the target, fsyncs the directory, and
 *      removes temporaries that earlier, killed saves to the same path
 *      left behind.
 * On any failure rank 0 removes the temporary before any rank returns; the
 * target is untouched.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include "io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Datasets of at least 64 KiB start at a multiple of the alignment
 * (default 1 MiB, a common parallel file system stripe). */
#define DT_IO_ALIGN_DEFAULT ((size_t)1 << 20)
/* Bytes reserved beyond a file's size before HDF5 flushes it. */
#define DT_IO_SLACK ((off_t)64 << 10)

/* One dataset to write: a tensor or a gradient. */
typedef struct wjob {
  const dt_tensor *t;
  char name[DT_IO_DNAME_MAX];
  dt__io_meta meta;
  int64_t offset; /* of its data in the file; -1 when it has none */
  dt__io_box box; /* what this rank writes */
  dt__io_zspec z; /* chunked when z.chunk[0] > 0 (save_chunked.c) */
} wjob;

/* ---- testing hooks (documented in dtensor.h) ----------------------------- */

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

/* A failure injected at `site` (dt__fault: DT_FAULT_ALLOC=site,
 * DT_FAULT_RANK=r), as the system call there would fail. */
static dt_err injected(const dt_ctx *ctx, const char *site, const char *what,
                       const char *file) {
  if (!dt__fault(ctx->comm, site))
    return DT_OK;
  return dt__error(DT_ERR_IO, "%s '%s' failed on rank %d: %s (injected at %s)",
                   what, file, ctx->rank, strerror(EIO), site);
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
  DT_CALL(dt__io_zopts_check(opts, h)); /* chunking (save_chunked.c) */
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

static dt_err pwrite_all(int fd, const char *buf, size_t n, int64_t at,
                         const char *tmp, int rank) {
  while (n > 0) {
    ssize_t w = pwrite(fd, buf, n, (off_t)at);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return dt__error(DT_ERR_IO, "writing '%s' failed on rank %d: %s", tmp,
                       rank, w < 0 ? strerror(errno) : "nothing written");
    buf += w;
    n -= (size_t)w;
    at += w;
  }
  return DT_OK;
}

/* ---- 1. the structure, by rank 0 ----------------------------------------- */

/* Create the groups above dataset `name` (without time stamps). */
static dt_err make_groups(hid_t f, const char *name, hid_t gcpl,
                          const char *file) {
  char buf[DT_IO_DNAME_MAX];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    htri_t e = H5Lexists(f, buf, H5P_DEFAULT);
    hid_t g = e == 0 ? H5Gcreate2(f, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT) : -1;
    if (e < 0 || (e == 0 && g < 0))
      return dt__h5_error(DT_ERR_IO, "cannot create group '%s' in '%s'", buf,
                          file);
    if (g >= 0)
      H5Gclose(g);
    *p = '/';
  }
  return DT_OK;
}

static dt_err create_dataset(hid_t f, wjob *j, hid_t dcpl, hid_t gcpl,
                             const char *file) {
  DT_CALL(make_groups(f, j->name, gcpl, file));
  hsize_t dims[DT_MAX_DIMS];
  for (int d = 0; d < j->meta.ndim; d++)
    dims[d] = (hsize_t)j->meta.shape[d];
  hid_t sp = j->meta.ndim ? H5Screate_simple(j->meta.ndim, dims, NULL)
                          : H5Screate(H5S_SCALAR);
  hid_t ty = dt__io_type(j->meta.dtype), d = -1;
  hid_t zp = j->z.chunk[0] ? dt__io_zdcpl(dcpl, j->meta.ndim, &j->z) : dcpl;
  if (sp >= 0 && ty >= 0 && zp >= 0)
    d = H5Dcreate2(f, j->name, ty, sp, H5P_DEFAULT, zp, H5P_DEFAULT);
  if (zp >= 0 && zp != dcpl)
    H5Pclose(zp);
  if (sp >= 0)
    H5Sclose(sp);
  if (ty >= 0)
    H5Tclose(ty);
  if (d < 0)
    return dt__h5_error(DT_ERR_IO, "cannot create dataset '%s' in '%s'",
                        j->name, file);
  dt_err err = dt__io_write_meta(d, j->name, &j->meta);
  haddr_t at = H5Dget_offset(d);
  H5Eclear2(H5E_DEFAULT);
  j->offset = at == HADDR_UNDEF ? -1 : (int64_t)at;
  if (!err && j->t->numel > 0 && j->offset < 0 && !j->z.chunk[0])
    err = dt__error(DT_ERR_HDF5, "dataset '%s' in '%s' got no storage",
                    j->name, file);
  if (H5Dclose(d) < 0 && !err)
    err = dt__h5_error(DT_ERR_IO, "cannot close dataset '%s'", j->name);
  return err;
}

/*
 * Closing a file that HDF5 cannot finish writing (a full disk, a file size
 * limit) must never fail: HDF5 1.10 then keeps the file's identifier but
 * frees part of it, and crashes when it is closed again (at the latest in
 * MPI_Finalize). So every write happens before the close: H5Fflush writes
 * the metadata and we extend the file to its final size ourselves; the
 * close then only rewrites the superblock in place. When either step
 * fails, the temporary (discarded anyway) is emptied and the process's
 * soft file size limit raised to its hard limit for the close, so HDF5's
 * last writes succeed, and the failure is reported.
 */
static dt_err close_h5(hid_t f, const char *tmp, dt_err err) {
  hsize_t size = 0;
  if (!err && H5Fget_filesize(f, &size) < 0)
    err = dt__h5_error(DT_ERR_IO, "cannot size '%s'", tmp);
  if (!err) {
    /* Reserve the whole file (and room for what the flush may add), so
     * neither HDF5's writes nor the data's can meet a full disk. */
    int fd = open(tmp, O_WRONLY);
    int rc = fd < 0 ? errno
                    : posix_fallocate(fd, 0, (off_t)size + DT_IO_SLACK);
    if (fd >= 0)
      close(fd);
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL)
      err = dt__error(DT_ERR_IO, "cannot reserve %llu bytes for '%s': %s",
                      (unsigned long long)size, tmp, strerror(rc));
  }
  if (!err && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
    err = dt__h5_error(DT_ERR_IO, "cannot write '%s'", tmp);
  haddr_t eoa = 0;
  if (!err && (H5Fget_eoa(f, &eoa) < 0 || truncate(tmp, (off_t)eoa) != 0))
    err = dt__h5_error(DT_ERR_IO, "cannot trim '%s'", tmp); /* the slack */
  struct rlimit old;
  bool lifted = false;
  if (err) {
    if (truncate(tmp, 0) != 0) {
      /* nothing more to free */
    }
    if (getrlimit(RLIMIT_FSIZE, &old) == 0 && old.rlim_cur != old.rlim_max) {
      struct rlimit up = {old.rlim_max, old.rlim_max};
      lifted = setrlimit(RLIMIT_FSIZE, &up) == 0;
    }
  }
  if (H5Fclose(f) < 0 && !err)
    err = dt__h5_error(DT_ERR_IO, "cannot close '%s'", tmp);
  if (lifted)
    setrlimit(RLIMIT_FSIZE, &old);
  H5Eclear2(H5E_DEFAULT);
  return err;
}

dt_err dt__io_close_h5(hid_t f, const char *tmp, dt_err err) {
  return close_h5(f, tmp, err);
}

static dt_err create_file(const dt_ctx *ctx, const char *tmp, wjob *jobs,
                          int nj, size_t align) {
  DT_CALL(injected(ctx, "save_create", "creating", tmp));
  hid_t fapl = dt__io_fapl(align), fcpl = H5Pcreate(H5P_FILE_CREATE);
  hid_t dcpl = dt__io_ocpl(H5I_DATASET), gcpl = dt__io_ocpl(H5I_GROUP);
  dt_err err = DT_OK;
  if (fapl < 0 || fcpl < 0 || dcpl < 0 || gcpl < 0 ||
      H5Pset_obj_track_times(fcpl, 0) < 0 ||
      H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
      H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0)
    err = dt__h5_error(DT_ERR_HDF5, "cannot set up property lists");
  /* The temporary is made and its first 4 KiB written here, so HDF5's
   * own first writes (the superblock, in H5Fcreate) cannot fail: a create
   * that fails to write leaves HDF5 with a broken identifier (see
   * close_h5). */
  if (!err) {
    static const char zeros[4096];
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0)
      err = dt__error(DT_ERR_IO, "cannot create '%s': %s", tmp,
                      strerror(errno));
    else
      err = pwrite_all(fd, zeros, sizeof zeros, 0, tmp, 0);
    if (fd >= 0 && close(fd) != 0 && !err)
      err = dt__error(DT_ERR_IO, "cannot write '%s': %s", tmp,
                      strerror(errno));
  }
  hid_t f = -1;
  if (!err) {
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (f < 0)
      err = dt__h5_error(DT_ERR_IO, "cannot create '%s'", tmp);
  }
  if (!err)
    err = dt__io_write_root(f, ctx->seed, ctx->offset);
  for (int k = 0; !err && k < nj; k++)
    err = create_dataset(f, &jobs[k], dcpl, gcpl, tmp);
  if (f >= 0)
    err = close_h5(f, tmp, err);
  H5Eclear2(H5E_DEFAULT);
  hid_t pl[4] = {fapl, fcpl, dcpl, gcpl};
  for (int i = 0; i < 4; i++)
    if (pl[i] >= 0)
      H5Pclose(pl[i]);
  return err;
}

/* ---- 2. the data, by every rank ------------------------------------------ */

/* Write the dense piece `buf` (C order of cnt, at global start st) of a
 * dataset whose data start at `off0`: one pwrite per run that is
 * contiguous in the file. */
static dt_err write_piece(int fd, const wjob *j, const int64_t *st,
                          const int64_t *cnt, const char *buf,
                          const char *tmp, int rank) {
  const dt__io_box *b = &j->box;
  int nd = b->nd;
  size_t esz = dt_dtype_size(j->t->dtype);
  if (nd == 0)
    return pwrite_all(fd, buf, esz, j->offset, tmp, rank);
  dt__io_runs rs;
  dt__io_runs_of(b, st, cnt, &rs);
  size_t run = (size_t)(rs.run * (int64_t)esz);
  for (int64_t r = 0; r < rs.nruns; r++)
    DT_CALL(pwrite_all(fd, buf + r * (int64_t)run, run,
                       j->offset + dt__io_run_at(&rs, r) * (int64_t)esz, tmp,
                       rank));
  return DT_OK;
}

static dt_err write_job(const dt_ctx *ctx, int fd, const wjob *j,
                        const char *tmp) {
  const dt__io_box *b = &j->box;
  if (b->numel == 0 || j->z.chunk[0])
    return DT_OK; /* chunked: dt__io_write_chunks */
  size_t esz = dt_dtype_size(j->t->dtype);
  int64_t ds[DT_MAX_DIMS];
  bool is_dense = b->nd == 0 || dt__io_dense(b->nd, b->shape, b->stride, ds);
  size_t limit = dt__io_piece_max;
  if (!is_dense && ctx->chunk_budget < limit)
    limit = ctx->chunk_budget; /* packing goes through a bounded buffer */
  dt__io_plan pl;
  dt__io_plan_pieces(b, esz, limit, &pl);
  char *pack = NULL;
  if (!is_dense && !(pack = dt__malloc(pl.max_bytes)))
    return dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes to pack '%s'",
                     pl.max_bytes, j->name);
  dt_err err = DT_OK;
  for (int64_t p = 0; !err && p < pl.count; p++) {
    int64_t st[DT_MAX_DIMS], cnt[DT_MAX_DIMS];
    int64_t off = b->nd ? dt__io_piece(b, &pl, p, st, cnt) : 0;
    const char *buf = b->base + off * (int64_t)esz;
    if (b->nd && !dt__io_dense(b->nd, cnt, b->stride, ds)) {
      dt__copy_strided(b->nd, cnt, pack, j->t->dtype, ds, buf, j->t->dtype,
                       b->stride);
      buf = pack;
    }
    err = write_piece(fd, j, st, cnt, buf, tmp, ctx->rank);
  }
  free(pack);
  return err;
}

/* The I/O of a save on the calling thread while the other threads compute
 * the checksums. Not collective: every failure is this rank's. */
typedef struct save_io {
  const dt_ctx *ctx;
  const wjob *jobs;
  int nj;
  fault_point fault;
  const char *tmp;
} save_io;

/* After the first dataset's data (or at once, with no dataset). */
static dt_err mid_save(const save_io *s) {
  const char *e = getenv("DT_FAULT_SAVE_STALL");
  long secs = e ? strtol(e, NULL, 10) : 0;
  for (long k = 0; k < secs; k++)
    sleep(1);
  if (s->fault == FAULT_WRITE)
    return dt__error(DT_ERR_IO,
                     "writing '%s' failed on rank %d (injected by "
                     "DT_FAULT_SAVE_RANK)",
                     s->tmp, s->ctx->rank);
  return injected(s->ctx, "save_write", "writing", s->tmp);
}

static dt_err save_data(void *arg) {
  save_io *s = arg;
  dt_err err = injected(s->ctx, "save_open", "opening", s->tmp);
  int fd = err ? -1 : open(s->tmp, O_WRONLY);
  if (!err && fd < 0)
    err = dt__error(DT_ERR_IO, "cannot open '%s' on rank %d: %s", s->tmp,
                    s->ctx->rank, strerror(errno));
  for (int k = 0; !err && k < s->nj; k++) {
    err = write_job(s->ctx, fd, &s->jobs[k], s->tmp);
    if (!err && k == 0)
      err = mid_save(s);
  }
  if (!err && s->nj == 0)
    err = mid_save(s);
  if (!err)
    err = injected(s->ctx, "save_fsync", "syncing", s->tmp);
  if (!err && s->fault == FAULT_CLOSE)
    err = dt__error(DT_ERR_IO,
                    "closing '%s' failed on rank %d (injected by "
                    "DT_FAULT_SAVE_RANK)",
                    s->tmp, s->ctx->rank);
  if (!err && s->ctx->rank != 0 && fsync(fd) != 0)
    err = dt__error(DT_ERR_IO, "fsync of '%s' failed on rank %d: %s", s->tmp,
                    s->ctx->rank, strerror(errno));
  /* Durability is per file, not per descriptor: rank 0's fsync of the
   * finished temporary (finish_file), before the rename, makes its data
   * durable too, and a write-back error of these pages is reported to that
   * fsync (Linux >= 4.17 reports an error no descriptor has seen to the
   * next fsync of the file). Here it only starts the write-back, so the
   * device works while the other ranks sync and the checksums are summed.
   * The other ranks sync their own writes: on another node, rank 0's fsync
   * would not reach them. */
#ifdef SYNC_FILE_RANGE_WRITE
  if (!err && s->ctx->rank == 0)
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* a hint */
#endif
  if (fd >= 0 && close(fd) != 0 && !err)
    err = dt__error(DT_ERR_IO, "closing '%s' failed on rank %d: %s", s->tmp,
                    s->ctx->rank, strerror(errno));
  return err;
}

/* ---- 3. the checksums, by rank 0 ----------------------------------------- */

static dt_err finish_file(const dt_ctx *ctx, const char *tmp, wjob *jobs,
                          int nj) {
  DT_CALL(injected(ctx, "save_finish", "finishing", tmp));
  hid_t fapl = dt__io_fapl(0);
  hid_t f = fapl < 0 ? -1 : H5Fopen(tmp, H5F_ACC_RDWR, fapl);
  if (fapl >= 0)
    H5Pclose(fapl);
  if (f < 0)
    return dt__h5_error(DT_ERR_IO, "cannot reopen '%s'", tmp);
  dt_err err = DT_OK;
  for (int k = 0; !err && k < nj; k++) {
    hid_t d = H5Dopen2(f, jobs[k].name, H5P_DEFAULT);
    err = d < 0 ? dt__h5_error(DT_ERR_IO, "cannot reopen '%s' in '%s'",
                               jobs[k].name, tmp)
                : dt__io_write_sums(d, jobs[k].name, &jobs[k].meta);
    if (d >= 0 && H5Dclose(d) < 0 && !err)
      err = dt__h5_error(DT_ERR_IO, "cannot write '%s'", tmp);
  }
  err = close_h5(f, tmp, err);
  if (!err) /* rank 0's data, the metadata and the checksums: durable */
    err = fsync_path(tmp, false);
  return err;
}

/* Sum the partial checksums over the ranks into the jobs' metadata.
 * Collective. */
static dt_err sum_checksums(dt_ctx *ctx, wjob *jobs, dt__io_sum *sums,
                            int nj) {
  uint64_t *S = dt__calloc((size_t)nj + 1, sizeof *S);
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
  for (int k = 0; !err && k < nj; k++) {
    const dt_tensor *t = jobs[k].t;
    jobs[k].meta.checksum =
        dt__checksum_finish(t->dtype, t->ndim, t->shape, S[k]);
  }
  free(S);
  return dt__agree(ctx->comm, err, 0);
}

/* The chunked datasets, by their owners and rank 0 (save_chunked.c).
 * Collective. */
static dt_err save_chunks(dt_ctx *ctx, const char *tmp, const wjob *jobs,
                          int nj) {
  int nz = 0;
  for (int k = 0; k < nj; k++)
    nz += jobs[k].z.chunk[0] > 0;
  if (nz == 0)
    return DT_OK;
  dt__io_zjob *z = dt__calloc((size_t)nz, sizeof *z);
  dt_err err = dt__agree(ctx->comm,
                         z ? DT_OK : dt__error(DT_ERR_NOMEM, "out of memory"),
                         0);
  for (int k = 0, i = 0; !err && k < nj; k++)
    if (jobs[k].z.chunk[0])
      z[i++] = (dt__io_zjob){jobs[k].t, jobs[k].name, &jobs[k].box, jobs[k].z};
  if (!err)
    err = dt__io_write_chunks(ctx, tmp, nz, z);
  free(z);
  return err;
}

/* ---- 4. publishing, by rank 0 -------------------------------------------- */

/* Rename the complete temporary over the target, sync the directory so the
 * rename itself survives a crash. */
static dt_err publish(const dt_ctx *ctx, const char *tmp, const char *path,
                      fault_point fault) {
  if (fault == FAULT_RENAME)
    return dt__error(DT_ERR_IO,
                     "renaming '%s' to '%s' failed (injected by "
                     "DT_FAULT_SAVE_RANK)",
                     tmp, path);
  DT_CALL(injected(ctx, "save_rename", "renaming", tmp));
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

/* Remove the temporaries of `path` that saves killed midway left behind:
 * ".<file>.tmp.<pid>.<ns>" whose process (on this node) no longer exists.
 * Best effort; rank 0 after a successful save. */
static void clean_stale(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char dir[DT_IO_PATH_MAX], prefix[DT_IO_PATH_MAX];
  if (slash)
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path),
             path);
  else
    snprintf(dir, sizeof dir, ".");
  snprintf(prefix, sizeof prefix, ".%s.tmp.", base);
  size_t pl = strlen(prefix);
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (strncmp(e->d_name, prefix, pl) != 0)
      continue;
    char *end = NULL;
    unsigned long pid = strtoul(e->d_name + pl, &end, 16);
    if (!end || *end != '.' || pid == 0 || pid > 0x7fffffffUL)
      continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue; /* a save still running (or not ours to judge) */
    char p[2 * DT_IO_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  if (d)
    closedir(d);
}

/* ---- dt_save ------------------------------------------------------------- */

static dt_err save_impl(dt_ctx *ctx, const char *path, int n,
                        const char *const *names,
                        const dt_tensor *const *tensors,
                        const dt_save_opts *opts) {
  uint64_t h = 0;
  int nj = 0;
  wjob *jobs = NULL;
  dt__io_sum *sums = NULL;
  dt_err err = check_save_args(ctx, path, n, names, tensors, opts, &h);
  if (!err && (!(jobs = dt__calloc((size_t)n * 2 + 1, sizeof *jobs)) ||
               !(sums = dt__calloc((size_t)n * 2 + 1, sizeof *sums))))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate %d job records", 2 * n);
  for (int i = 0; !err && i < n; i++) {
    const dt_tensor *t = tensors[i];
    bool grad = t->grad && !(opts && opts->skip_grads);
    for (int g = 0; g < 2; g++) {
      const dt_tensor *x = g ? t->grad : t;
      if (g && !grad)
        continue;
      wjob *j = &jobs[nj++];
      j->t = x;
      j->offset = -1;
      snprintf(j->name, sizeof j->name, "%s%s", names[i],
               g ? DT_IO_GRAD_SUFFIX : "");
      j->meta.dtype = x->dtype;
      j->meta.ndim = x->ndim;
      memcpy(j->meta.shape, x->shape, sizeof x->shape);
      j->meta.requires_grad = !g && x->requires_grad;
      j->meta.has_grad = !g && grad;
      dt__io_layout_str(x, j->meta.layout, sizeof j->meta.layout);
      /* Every element is hashed by the one rank that writes it. */
      dt__io_box_of(x, true, &j->box);
      dt__io_zspec_of(opts, x, &j->z);
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

  /* 1. */
  err = ctx->rank == 0 ? create_file(ctx, tmp, jobs, nj, align) : DT_OK;
  err = dt__agree(ctx->comm, err, 0);
  int64_t *offs = err ? NULL : dt__calloc((size_t)nj + 1, sizeof *offs);
  if (!err && !offs)
    err = dt__error(DT_ERR_NOMEM, "cannot allocate %d offsets", nj);
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    for (int k = 0; k < nj; k++)
      offs[k] = jobs[k].offset;
    err = dt__agree(ctx->comm,
                    dt__bcast_bytes(offs, sizeof *offs * (size_t)nj, 0,
                                    ctx->comm),
                    0);
    for (int k = 0; !err && k < nj; k++)
      jobs[k].offset = offs[k];
  }
  free(offs);
  /* 2. */
  if (!err) {
    save_io sio = {ctx, jobs, nj, fault, tmp};
    err = dt__agree(ctx->comm, dt__io_overlap(save_data, &sio, sums, nj), 0);
  }
  /* 2b. chunked datasets (save_chunked.c) */
  if (!err)
    err = save_chunks(ctx, tmp, jobs, nj);
  /* 3. */
  if (!err)
    err = sum_checksums(ctx, jobs, sums, nj);
  if (!err) {
    err = ctx->rank == 0 ? finish_file(ctx, tmp, jobs, nj) : DT_OK;
    err = dt__agree(ctx->comm, err, 0);
  }
  /* 4. */
  if (!err) {
    err = ctx->rank == 0 ? publish(ctx, tmp, path, fault) : DT_OK;
    err = dt__agree(ctx->comm, err, 0);
    if (!err && ctx->rank == 0)
      clean_stale(path);
  }
  if (err && ctx->rank == 0)
    unlink(tmp);
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
