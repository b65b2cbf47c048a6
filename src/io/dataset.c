/*
 * dataset.c - reading HDF5 datasets that other tools wrote (h5py, h5dump's
 * siblings, Heat, netCDF-4): rank 0 alone opens the file with the
 * sequential driver and validates one dataset's metadata (element type,
 * dataspace, storage, filters and their availability, links), the verdict
 * is agreed and the metadata broadcast; load.c then reads each rank's box
 * as it does for dt_load. No dtensor attribute is needed or read.
 *
 * Element types (the dtype a dataset loads as):
 *   IEEE float32 / float64, either byte order      -> float32 / float64
 *   signed int32 / int64, either byte order        -> int32 / int64
 *   int8, uint8, int16, uint16 (exact widening)    -> int32
 *   uint32 (exact widening)                        -> int64
 *   an enum over one byte with exactly the values 0 and 1 (h5py's bool)
 *                                                  -> bool
 * Anything else (uint64, float16, strings, compounds, arrays, bitfields,
 * other enums, references) is refused: no conversion loses a value.
 */
#include "io_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deflate stream cannot expand data more than 1032 times; a filtered
 * dataset declaring more than this many times its stored bytes is damaged
 * or hostile (it would make every rank allocate what a tiny file claims). */
#define DT_IO_MAX_RATIO 1100

dt_err dt__io_dataset_name(const char *name, const char **rel) {
  DT_CHECK(name != NULL, DT_ERR_NULL, "the dataset name is NULL");
  while (*name == '/')
    name++;
  size_t len = strnlen(name, DT_NAME_MAX + 1);
  DT_CHECK(len > 0, DT_ERR_ARG, "the dataset name is empty (or only '/')");
  DT_CHECK(len <= DT_NAME_MAX, DT_ERR_ARG,
           "dataset name '%.40s...' is longer than %d bytes", name,
           DT_NAME_MAX);
  const char *p = name;
  for (;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    DT_CHECK(n > 0, DT_ERR_ARG,
             "dataset name '%s' has an empty component (a trailing or "
             "doubled '/')",
             name);
    DT_CHECK(!(n == 1 && p[0] == '.') &&
                 !(n == 2 && p[0] == '.' && p[1] == '.'),
             DT_ERR_ARG, "dataset name '%s' has a '.' or '..' component", name);
    if (!e)
      break;
    p = e + 1;
  }
  *rel = name;
  return DT_OK;
}

/* An integer type HDF5 can convert exactly: every bit is precision, in
 * little- or big-endian order. */
static bool plain_int(hid_t t) {
  H5T_order_t o = H5Tget_order(t);
  size_t sz = H5Tget_size(t);
  return (o == H5T_ORDER_LE || o == H5T_ORDER_BE) && sz >= 1 && sz <= 8 &&
         H5Tget_precision(t) == 8 * sz && H5Tget_offset(t) == 0;
}

/* h5py's bool: an enum over one byte with two members, 0 and 1. */
static bool is_bool_enum(hid_t t) {
  if (H5Tget_size(t) != 1 || H5Tget_nmembers(t) != 2)
    return false;
  hid_t base = H5Tget_super(t);
  bool ok = base >= 0 && plain_int(base);
  if (base >= 0)
    H5Tclose(base);
  unsigned char v[2] = {2, 2};
  for (unsigned i = 0; ok && i < 2; i++)
    ok = H5Tget_member_value(t, i, &v[i]) >= 0;
  return ok && ((v[0] == 0 && v[1] == 1) || (v[0] == 1 && v[1] == 0));
}

dt_dtype dt__io_plain_dtype(hid_t t, char *desc, size_t n) {
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  const char *order = H5Tget_order(t) == H5T_ORDER_BE ? "BE" : "LE";
  if (c == H5T_FLOAT) {
    bool f32 =
        H5Tequal(t, H5T_IEEE_F32LE) > 0 || H5Tequal(t, H5T_IEEE_F32BE) > 0;
    bool f64 =
        H5Tequal(t, H5T_IEEE_F64LE) > 0 || H5Tequal(t, H5T_IEEE_F64BE) > 0;
    snprintf(desc, n, "float%zu%s", 8 * sz, order);
    return f32 ? DT_FLOAT32 : f64 ? DT_FLOAT64 : DT_DTYPE_DEFAULT;
  }
  if (c == H5T_INTEGER) {
    bool s = H5Tget_sign(t) == H5T_SGN_2;
    snprintf(desc, n, "%sint%zu%s", s ? "" : "u", 8 * sz, order);
    if (!plain_int(t))
      return DT_DTYPE_DEFAULT;
    if (sz <= 2 || (s && sz == 4))
      return DT_INT32;
    return sz == 4 || s ? DT_INT64 : DT_DTYPE_DEFAULT;
  }
  if (c == H5T_ENUM) {
    bool b = is_bool_enum(t);
    snprintf(desc, n, "%s", b ? "bool" : "enum");
    return b ? DT_BOOL : DT_DTYPE_DEFAULT;
  }
  snprintf(desc, n, "%s",
           c == H5T_STRING      ? "string"
           : c == H5T_COMPOUND  ? "compound"
           : c == H5T_ARRAY     ? "array"
           : c == H5T_BITFIELD  ? "bitfield"
           : c == H5T_OPAQUE    ? "opaque"
           : c == H5T_VLEN      ? "variable-length"
           : c == H5T_REFERENCE ? "reference"
                                : "unknown type");
  return DT_DTYPE_DEFAULT;
}

/* Every filter of the pipeline must be available for decoding here. */
static dt_err check_filters(hid_t dcpl, const char *where, int nfilt) {
  for (int i = 0; i < nfilt; i++) {
    unsigned flags = 0, cfg = 0;
    size_t nel = 0;
    char fname[64] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nel, NULL,
                                     sizeof fname, fname, &cfg);
    if (id < 0)
      return dt__h5_error(DT_ERR_FORMAT, "%s: unreadable filter pipeline",
                          where);
    htri_t av = H5Zfilter_avail(id);
    unsigned info = 0;
    if (av > 0 && H5Zget_filter_info(id, &info) < 0)
      av = -1;
    H5Eclear2(H5E_DEFAULT);
    fname[sizeof fname - 1] = '\0';
    DT_CHECK(av > 0 && (info & H5Z_FILTER_CONFIG_DECODE_ENABLED), DT_ERR_FORMAT,
             "%s: its data are compressed or encoded with HDF5 filter %d "
             "('%s'), which this HDF5 build cannot decode",
             where, (int)id, fname[0] ? fname : "unnamed");
  }
  return DT_OK;
}

/* Rank 0: validate dataset `name` of the open file f into *ds. */
static dt_err validate(hid_t f, hid_t lapl, const char *path, int64_t fsize,
                       dt__io_dsinfo *ds) {
  char where[DT_NAME_MAX + 300];
  snprintf(where, sizeof where, "dataset '%s' in '%.200s'", ds->name, path);
  hid_t d = -1;
  DT_CALL(dt__io_find_dataset(f, lapl, path, ds->name, &d));
  DT_CHECK(d >= 0, DT_ERR_ARG, "there is no dataset '%s' in '%s'", ds->name,
           path);
  dt_err err = DT_OK;
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d), p = H5Dget_create_plist(d);
  if (t < 0 || sp < 0 || p < 0) {
    err = dt__h5_error(DT_ERR_FORMAT,
                       "%s: cannot read its type, extent or "
                       "storage properties",
                       where);
    goto out;
  }
  char desc[48];
  ds->dtype = dt__io_plain_dtype(t, desc, sizeof desc);
  if (ds->dtype == DT_DTYPE_DEFAULT) {
    err = dt__error(DT_ERR_DTYPE,
                    "%s: its element type (%s) is not one dtensor loads "
                    "(IEEE float32/64, int8..int64, uint8..uint32, h5py's "
                    "bool)",
                    where, desc);
    goto out;
  }
  H5S_class_t sc = H5Sget_simple_extent_type(sp);
  int rank = sc == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : 0;
  if (sc != H5S_SCALAR && sc != H5S_SIMPLE) {
    err = dt__error(DT_ERR_FORMAT,
                    "%s: it has no extent (a null dataspace: h5py's Empty), "
                    "so there is nothing to load",
                    where);
    goto out;
  }
  if (rank < 0 || rank > DT_MAX_DIMS) {
    err = dt__error(DT_ERR_FORMAT, "%s: rank %d is outside 0..%d (DT_MAX_DIMS)",
                    where, rank, DT_MAX_DIMS);
    goto out;
  }
  hsize_t dims[DT_MAX_DIMS];
  if (rank > 0 && H5Sget_simple_extent_dims(sp, dims, NULL) != rank) {
    err = dt__h5_error(DT_ERR_FORMAT, "%s: cannot read its extent", where);
    goto out;
  }
  ds->ndim = rank;
  int64_t numel = 1, bytes = 0;
  bool ok = true;
  for (int k = 0; k < rank; k++) {
    ok = ok && dims[k] <= (hsize_t)INT64_MAX;
    ds->shape[k] = ok ? (int64_t)dims[k] : 0;
    ok = ok && dt__mul_ok(numel, ds->shape[k], &numel);
  }
  size_t fesz = H5Tget_size(t);
  ok = ok && dt__mul_ok(numel, (int64_t)fesz, &bytes) &&
       dt__mul_ok(numel, (int64_t)dt_dtype_size(ds->dtype), &(int64_t){0});
  if (!ok) {
    err = dt__error(DT_ERR_FORMAT, "%s: its size overflows 64 bits", where);
    goto out;
  }
  err = dt__io_check_storage(d, where, bytes, fsize);
  int nfilt = err ? 0 : H5Pget_nfilters(p);
  if (!err)
    err = check_filters(p, where, nfilt);
  if (!err && nfilt > 0 && bytes > 0) {
    hsize_t have = H5Dget_storage_size(d);
    H5Eclear2(H5E_DEFAULT);
    if (have == 0 || (uint64_t)bytes / DT_IO_MAX_RATIO > have)
      err = dt__error(DT_ERR_FORMAT,
                      "%s: its shape needs %lld bytes but the file stores "
                      "only %llu compressed bytes for it (more than %d:1: a "
                      "truncated or damaged file)",
                      where, (long long)bytes, (unsigned long long)have,
                      DT_IO_MAX_RATIO);
  }
out:
  if (p >= 0)
    H5Pclose(p);
  if (sp >= 0)
    H5Sclose(sp);
  if (t >= 0)
    H5Tclose(t);
  H5Dclose(d);
  return err;
}

static dt_err read_info(const char *path, dt__io_dsinfo *ds) {
  dt__io_rofile rf;
  dt_err err = dt__io_ro_open(path, &rf);
  if (!err)
    err = validate(rf.f, rf.lapl, path, rf.size, ds);
  return dt__io_ro_close(path, &rf, err);
}

dt_err dt__io_dataset_read(dt_ctx *ctx, const char *path, const char *name,
                           dt__io_dsinfo *ds) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->name, sizeof ds->name, "%s", name);
  dt_err err = DT_OK;
  if (ctx->rank == 0)
    err = dt__fault(ctx->comm, "load_meta")
              ? dt__error(DT_ERR_IO,
                          "cannot read '%s': %s (injected at "
                          "load_meta)",
                          path, strerror(EIO))
              : read_info(path, ds);
  err = dt__agree(ctx->comm, err, 0);
  if (!err)
    err =
        dt__agree(ctx->comm, dt__bcast_bytes(ds, sizeof *ds, 0, ctx->comm), 0);
  return err;
}

/* ---- dt_list_datasets ------------------------------------------------------
 */

typedef struct dlist {
  dt_dataset_info *v;
  int n, cap;
  hid_t lapl;
  dt_err err;
} dlist;

static const char *filter_name(H5Z_filter_t id) {
  switch (id) {
  case H5Z_FILTER_DEFLATE:
    return "deflate";
  case H5Z_FILTER_SHUFFLE:
    return "shuffle";
  case H5Z_FILTER_FLETCHER32:
    return "fletcher32";
  case H5Z_FILTER_SZIP:
    return "szip";
  case H5Z_FILTER_NBIT:
    return "nbit";
  case H5Z_FILTER_SCALEOFFSET:
    return "scaleoffset";
  case 32000:
    return "lzf";
  default:
    return NULL;
  }
}

/* Type, extent, chunking and filters of an open dataset into *e. */
static void describe(hid_t d, dt_dataset_info *e) {
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d), p = H5Dget_create_plist(d);
  e->ndim = -1;
  if (t >= 0)
    e->dtype = dt__io_plain_dtype(t, e->type, sizeof e->type);
  else
    snprintf(e->type, sizeof e->type, "unreadable");
  if (sp >= 0) {
    H5S_class_t c = H5Sget_simple_extent_type(sp);
    int r = c == H5S_SIMPLE   ? H5Sget_simple_extent_ndims(sp)
            : c == H5S_SCALAR ? 0
                              : -1;
    hsize_t dims[H5S_MAX_RANK];
    if (r >= 0 && r <= DT_MAX_DIMS &&
        (r == 0 || H5Sget_simple_extent_dims(sp, dims, NULL) == r)) {
      e->ndim = r;
      for (int k = 0; k < r; k++)
        e->shape[k] = dims[k] > (hsize_t)INT64_MAX ? -1 : (int64_t)dims[k];
    }
  }
  if (e->ndim < 0)
    e->dtype = DT_DTYPE_DEFAULT; /* nothing dt_load_dataset would load */
  if (p >= 0 && H5Pget_layout(p) == H5D_CHUNKED) {
    hsize_t ch[H5S_MAX_RANK];
    int r = H5Pget_chunk(p, H5S_MAX_RANK, ch);
    e->chunked = r > 0;
    for (int k = 0; k < r && k < DT_MAX_DIMS; k++)
      e->chunk[k] = (int64_t)ch[k];
  }
  int nf = p >= 0 ? H5Pget_nfilters(p) : 0;
  size_t u = 0;
  for (int i = 0; i < nf && u < sizeof e->filters; i++) {
    unsigned flags = 0, cfg = 0, info = 0;
    size_t nel = 0;
    H5Z_filter_t id =
        H5Pget_filter2(p, (unsigned)i, &flags, &nel, NULL, 0, NULL, &cfg);
    const char *fn = filter_name(id);
    bool ok = H5Zfilter_avail(id) > 0 && H5Zget_filter_info(id, &info) >= 0 &&
              (info & H5Z_FILTER_CONFIG_DECODE_ENABLED);
    char num[24];
    snprintf(num, sizeof num, "filter%d", (int)id);
    u += (size_t)snprintf(e->filters + u, sizeof e->filters - u, "%s%s%s",
                          i ? "," : "", fn ? fn : num,
                          ok ? "" : "(unavailable)");
  }
  e->is_tensor = dt__io_is_tensor(d) > 0;
  if (p >= 0)
    H5Pclose(p);
  if (sp >= 0)
    H5Sclose(sp);
  if (t >= 0)
    H5Tclose(t);
  H5Eclear2(H5E_DEFAULT);
}

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info,
                      void *data) {
  dlist *l = data;
  if (strlen(name) > DT_NAME_MAX)
    return 0; /* not loadable by name: left out */
  hid_t o = -1;
  if (info->type == H5L_TYPE_HARD) {
    H5O_info_t oi;
    if (H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, l->lapl) < 0) {
      H5Eclear2(H5E_DEFAULT);
      return 0;
    }
    if (oi.type != H5O_TYPE_DATASET)
      return 0;
    o = H5Dopen2(g, name, l->lapl);
    if (o < 0) {
      H5Eclear2(H5E_DEFAULT);
      return 0;
    }
  }
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    dt_dataset_info *v = dt__realloc(l->v, sizeof *v * (size_t)cap);
    if (!v) {
      if (o >= 0)
        H5Dclose(o);
      l->err = dt__error(DT_ERR_NOMEM, "cannot allocate %d entries", cap);
      return -1;
    }
    l->v = v;
    l->cap = cap;
  }
  dt_dataset_info *e = &l->v[l->n++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  if (o < 0) {
    e->ndim = -1;
    snprintf(e->type, sizeof e->type, "%s",
             info->type == H5L_TYPE_SOFT       ? "soft link"
             : info->type == H5L_TYPE_EXTERNAL ? "external link"
                                               : "user-defined link");
    return 0;
  }
  describe(o, e);
  H5Dclose(o);
  return 0;
}

static dt_err list_file(const char *path, dlist *l, bool *ckpt) {
  dt__io_rofile rf;
  dt_err err = dt__io_ro_open(path, &rf);
  l->lapl = rf.lapl;
  if (!err) {
    htri_t c = H5Aexists(rf.f, "dtensor_format");
    *ckpt = c > 0;
    if (H5Lvisit(rf.f, H5_INDEX_NAME, H5_ITER_INC, list_cb, l) < 0)
      err = l->err ? l->err
                   : dt__h5_error(DT_ERR_FORMAT,
                                  "cannot list the objects of '%s'", path);
  }
  l->lapl = -1;
  return dt__io_ro_close(path, &rf, err);
}

static dt_err list_datasets_impl(dt_ctx *ctx, const char *path, int *n,
                                 dt_dataset_info **entries,
                                 bool *is_checkpoint) {
  dt_err err = path && n && entries
                   ? DT_OK
                   : dt__error(DT_ERR_NULL, "path, n or entries is NULL");
  if (n)
    *n = 0;
  if (entries)
    *entries = NULL;
  if (is_checkpoint)
    *is_checkpoint = false;
  err = dt__agree(ctx->comm, err,
                  path ? dt__hash_bytes(0, path, strlen(path)) : 0);
  if (err)
    return err;
  dlist l = {0};
  bool ckpt = false;
  if (ctx->rank == 0)
    err = list_file(path, &l, &ckpt);
  err = dt__agree(ctx->comm, err, 0);
  uint64_t head[2] = {(uint64_t)l.n, ckpt};
  if (!err)
    err = dt__agree(ctx->comm, dt__bcast_bytes(head, sizeof head, 0, ctx->comm),
                    0);
  if (!err && ctx->rank != 0) {
    l.n = (int)head[0];
    ckpt = head[1] != 0;
    if (l.n && !(l.v = dt__calloc((size_t)l.n, sizeof *l.v)))
      err = dt__error(DT_ERR_NOMEM, "cannot allocate %d entries", l.n);
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err && l.n)
    err = dt__agree(
        ctx->comm,
        dt__bcast_bytes(l.v, sizeof *l.v * (size_t)l.n, 0, ctx->comm), 0);
  if (err || !l.n) {
    free(l.v);
    l.v = NULL;
  }
  if (err)
    return err;
  *n = l.n;
  *entries = l.v;
  if (is_checkpoint)
    *is_checkpoint = ckpt;
  return DT_OK;
}

dt_err dt_list_datasets(dt_ctx *ctx, const char *path, int *n,
                        dt_dataset_info **entries, bool *is_checkpoint) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = list_datasets_impl(ctx, path, n, entries, is_checkpoint);
  dt__h5_restore(&q);
  DT_RETURN(err);
}
