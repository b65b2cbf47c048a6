/*
 * attr.c - the checkpoint format's small pieces: HDF5 error capture,
 * tensor-name rules, dtype <-> HDF5 type, property lists, and the
 * attributes of tensors and of the root group, written and (above all)
 * validated: nothing read from a file is trusted before it has been
 * checked against the dataset it describes and against the metadata
 * checksum. Called by rank 0 only (open.c, save.c): nothing here is
 * collective.
 */
#include "io_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- HDF5 errors --------------------------------------------------------- */

void dt__h5_quiet(dt__h5quiet *q) {
  q->func = NULL;
  q->data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void dt__h5_restore(const dt__h5quiet *q) {
  H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* Keeps the innermost (last, walking downward) description. */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  (void)n;
  if (e->desc && e->desc[0])
    snprintf(data, 200, "%s", e->desc);
  return 0;
}

dt_err dt__h5_error(dt_err code, const char *fmt, ...) {
  char what[300], inner[200] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, inner);
  H5Eclear2(H5E_DEFAULT);
  /* One line: HDF5's descriptions may end in ctime()'s newline. */
  inner[strcspn(inner, "\n")] = '\0';
  if (inner[0])
    return dt__error(code, "%s: %s", what, inner);
  return dt__error(code, "%s", what);
}

/* ---- names --------------------------------------------------------------- */

dt_err dt__io_check_name(const char *name) {
  DT_CHECK(name != NULL, DT_ERR_NULL, "a tensor name is NULL");
  size_t len = strnlen(name, DT_NAME_MAX + 1);
  DT_CHECK(len > 0, DT_ERR_ARG, "a tensor name is empty");
  DT_CHECK(len <= DT_NAME_MAX, DT_ERR_ARG,
           "tensor name '%.40s...' is longer than %d bytes", name, DT_NAME_MAX);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    DT_CHECK(c > 0x20 && c < 0x7f, DT_ERR_ARG,
             "tensor name '%s': byte %zu (0x%02x) is not printable ASCII "
             "(spaces are not allowed either)",
             name, i, c);
    DT_CHECK(c != '@', DT_ERR_ARG,
             "tensor name '%s': '@' is reserved (a gradient is stored as "
             "'<name>" DT_IO_GRAD_SUFFIX "')",
             name);
  }
  /* Components between single slashes: not empty, not "." or "..". */
  const char *p = name;
  for (;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    DT_CHECK(n > 0, DT_ERR_ARG,
             "tensor name '%s' has an empty component (a leading, trailing "
             "or doubled '/')",
             name);
    DT_CHECK(!(n == 1 && p[0] == '.') &&
                 !(n == 2 && p[0] == '.' && p[1] == '.'),
             DT_ERR_ARG, "tensor name '%s' has a '.' or '..' component", name);
    if (!e)
      break;
    p = e + 1;
  }
  return DT_OK;
}

/* ---- types --------------------------------------------------------------- */

hid_t dt__io_type(dt_dtype dtype) {
  switch (dtype) {
  case DT_FLOAT32:
    return H5Tcopy(H5T_NATIVE_FLOAT);
  case DT_FLOAT64:
    return H5Tcopy(H5T_NATIVE_DOUBLE);
  case DT_INT32:
    return H5Tcopy(H5T_NATIVE_INT32);
  case DT_INT64:
    return H5Tcopy(H5T_NATIVE_INT64);
  case DT_BOOL: {
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    signed char f = 0, tr = 1;
    if (t >= 0 && (H5Tenum_insert(t, "FALSE", &f) < 0 ||
                   H5Tenum_insert(t, "TRUE", &tr) < 0)) {
      H5Tclose(t);
      return -1;
    }
    return t;
  }
  default:
    return -1;
  }
}

void dt__io_layout_str(const dt_tensor *t, char *buf, size_t n) {
  int axis = -1, grid[DT_MAX_DIMS];
  dt_layout_kind k = dt__layout_kind(t->layout, &axis, grid);
  int P = t->ctx->size;
  switch (k) {
  case DT_SPLIT:
    snprintf(buf, n, "split axis=%d ranks=%d", axis, P);
    return;
  case DT_REPLICATED:
    snprintf(buf, n, "replicated ranks=%d", P);
    return;
  case DT_GRID:
  case DT_CUTS: {
    size_t u = (size_t)snprintf(buf, n, "%s ", k == DT_GRID ? "grid" : "cuts");
    for (int d = 0; d < t->ndim && u < n; d++)
      u += (size_t)snprintf(buf + u, n - u, d ? "x%d" : "%d", grid[d]);
    if (u < n)
      snprintf(buf + u, n - u, " ranks=%d", P);
    return;
  }
  default:
    snprintf(buf, n, "irregular ranks=%d", P);
    return;
  }
}

/* ---- writing attributes -------------------------------------------------- */

/* Create attribute `name` with file type ftype over `space`, write buf
 * (memory type mtype) unless buf is NULL. Closes nothing it did not open. */
static dt_err attr_put(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
                       hid_t space, const void *buf) {
  if (space < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot make a dataspace for '%s'", name);
  hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : buf ? H5Awrite(a, mtype, buf) : 0;
  if (a >= 0 && H5Aclose(a) < 0)
    rc = -1;
  if (rc < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot write attribute '%s'", name);
  return DT_OK;
}

static dt_err put_str(hid_t obj, const char *name, const char *s) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0 || H5Tset_size(t, strlen(s) + 1) < 0 ||
      H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
    if (t >= 0)
      H5Tclose(t);
    return dt__h5_error(DT_ERR_HDF5, "cannot make a string type");
  }
  hid_t sp = H5Screate(H5S_SCALAR);
  dt_err err = attr_put(obj, name, t, t, sp, s);
  if (sp >= 0)
    H5Sclose(sp);
  H5Tclose(t);
  return err;
}

static dt_err put_i32(hid_t obj, const char *name, int32_t v) {
  hid_t sp = H5Screate(H5S_SCALAR);
  dt_err err = attr_put(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, sp, &v);
  if (sp >= 0)
    H5Sclose(sp);
  return err;
}

static dt_err put_u64(hid_t obj, const char *name, uint64_t v) {
  hid_t sp = H5Screate(H5S_SCALAR);
  dt_err err = attr_put(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, sp, &v);
  if (sp >= 0)
    H5Sclose(sp);
  return err;
}

uint64_t dt__io_meta_sum(const char *dname, const dt__io_meta *m) {
  uint64_t h = dt__hash_mix(0x6474656e736f72ull, DT_IO_VERSION);
  h = dt__hash_bytes(h, dname, strlen(dname));
  h = dt__hash_mix(h, (uint64_t)m->dtype);
  h = dt__hash_mix(h, (uint64_t)m->ndim);
  for (int d = 0; d < m->ndim; d++)
    h = dt__hash_mix(h, (uint64_t)m->shape[d]);
  h = dt__hash_bytes(h, m->layout, strlen(m->layout));
  h = dt__hash_mix(h, m->requires_grad ? 1 : 0);
  h = dt__hash_mix(h, m->has_grad ? 1 : 0);
  return dt__hash_mix(h, m->checksum);
}

uint64_t dt__io_root_sum(uint64_t seed, uint64_t offset) {
  uint64_t h = dt__hash_mix(0x726f6f74ull, DT_IO_VERSION);
  return dt__hash_mix(dt__hash_mix(h, seed), offset);
}

dt_err dt__io_write_meta(hid_t dset, const char *dname, const dt__io_meta *m) {
  DT_CALL(put_str(dset, "dtensor_format", DT_IO_FORMAT));
  DT_CALL(put_i32(dset, "dtensor_version", DT_IO_VERSION));
  DT_CALL(put_str(dset, "dtype", dt_dtype_name(m->dtype)));
  DT_CALL(put_i32(dset, "ndim", m->ndim));
  /* A 0-d tensor's shape is an empty attribute (null dataspace). */
  hsize_t n = (hsize_t)m->ndim;
  hid_t sp = m->ndim ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_NULL);
  dt_err err = attr_put(dset, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, sp,
                        m->ndim ? m->shape : NULL);
  if (sp >= 0)
    H5Sclose(sp);
  DT_CALL(err);
  DT_CALL(put_str(dset, "layout", m->layout));
  DT_CALL(put_i32(dset, "requires_grad", m->requires_grad ? 1 : 0));
  DT_CALL(put_u64(dset, "checksum", m->checksum));
  return put_u64(dset, "meta_checksum", dt__io_meta_sum(dname, m));
}

static dt_err set_u64(hid_t obj, const char *name, uint64_t v) {
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_UINT64, &v);
  if (a >= 0 && H5Aclose(a) < 0)
    rc = -1;
  if (rc < 0)
    return dt__h5_error(DT_ERR_IO, "cannot write attribute '%s'", name);
  return DT_OK;
}

dt_err dt__io_write_sums(hid_t dset, const char *dname, const dt__io_meta *m) {
  DT_CALL(set_u64(dset, "checksum", m->checksum));
  return set_u64(dset, "meta_checksum", dt__io_meta_sum(dname, m));
}

dt_err dt__io_write_root(hid_t file, uint64_t seed, uint64_t offset) {
  DT_CALL(put_str(file, "dtensor_format", DT_IO_FORMAT));
  DT_CALL(put_i32(file, "dtensor_version", DT_IO_VERSION));
  DT_CALL(put_u64(file, "rng_seed", seed));
  DT_CALL(put_u64(file, "rng_offset", offset));
  return put_u64(file, "meta_checksum", dt__io_root_sum(seed, offset));
}

/* ---- property lists ------------------------------------------------------ */

hid_t dt__io_fapl(size_t alignment) {
  hid_t p = H5Pcreate(H5P_FILE_ACCESS);
  if (p < 0)
    return -1;
  bool ok = H5Pset_fapl_sec2(p) >= 0 &&
            H5Pset_libver_bounds(p, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0 &&
            H5Pset_elink_file_cache_size(p, 0) >= 0 &&
            (!alignment ||
             H5Pset_alignment(p, (hsize_t)64 << 10, (hsize_t)alignment) >= 0);
  if (!ok) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

/* Refuses to open the target of any external link. */
static herr_t deny_elink(const char *parent_file, const char *parent_group,
                         const char *child_file, const char *child_object,
                         unsigned *acc_flags, hid_t fapl_id, void *op_data) {
  (void)parent_file, (void)parent_group, (void)child_file, (void)child_object;
  (void)acc_flags, (void)fapl_id, (void)op_data;
  return -1;
}

hid_t dt__io_lapl(void) {
  /* A dataset access list is a link access list too (H5Dopen takes it). */
  hid_t p = H5Pcreate(H5P_DATASET_ACCESS);
  if (p >= 0 && (H5Pset_elink_cb(p, deny_elink, NULL) < 0 ||
                 H5Pset_nlinks(p, 1) < 0)) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

hid_t dt__io_ocpl(H5I_type_t kind) {
  hid_t p = H5Pcreate(kind == H5I_GROUP ? H5P_GROUP_CREATE : H5P_DATASET_CREATE);
  if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
    H5Pclose(p);
    return -1;
  }
  return p;
}

/* ---- reading and validating attributes ----------------------------------- */

/*
 * Every reader below opens attribute `name` of obj, checks its type class
 * and dataspace, reads it, and closes everything it opened. `where` names
 * the object in messages ("tensor 'w' in 'ck.h5'"). Anything unexpected in
 * the file is DT_ERR_FORMAT; HDF5 failing on a well-formed request is
 * DT_ERR_HDF5.
 */
typedef struct attr_h {
  hid_t a, type, space;
  H5T_class_t cls;
  H5S_class_t scls;
  hssize_t npoints;
} attr_h;

static void attr_close(attr_h *h) {
  if (h->space >= 0)
    H5Sclose(h->space);
  if (h->type >= 0)
    H5Tclose(h->type);
  if (h->a >= 0)
    H5Aclose(h->a);
  h->a = h->type = h->space = -1;
}

static dt_err attr_open(hid_t obj, const char *where, const char *name,
                        attr_h *h) {
  *h = (attr_h){-1, -1, -1, H5T_NO_CLASS, H5S_NO_CLASS, 0};
  htri_t e = H5Aexists(obj, name);
  if (e < 0)
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot look up attribute '%s'", where,
                        name);
  DT_CHECK(e > 0, DT_ERR_FORMAT, "%s: attribute '%s' is missing", where, name);
  h->a = H5Aopen(obj, name, H5P_DEFAULT);
  if (h->a >= 0)
    h->type = H5Aget_type(h->a);
  if (h->type >= 0)
    h->space = H5Aget_space(h->a);
  if (h->space < 0) {
    attr_close(h);
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot open attribute '%s'", where,
                        name);
  }
  h->cls = H5Tget_class(h->type);
  h->scls = H5Sget_simple_extent_type(h->space);
  h->npoints = H5Sget_simple_extent_npoints(h->space);
  return DT_OK;
}

/* One value: a scalar dataspace or a simple one of exactly one element. */
static bool attr_single(const attr_h *h) {
  return h->scls == H5S_SCALAR || (h->scls == H5S_SIMPLE && h->npoints == 1);
}

/* A fixed-length string attribute of at most cap - 1 characters. Its type
 * is checked before anything is read: a string class, not variable-length
 * (a variable-length string lives in the file's global heap, which a
 * damaged file can make HDF5 crash or spin in), ASCII or UTF-8, at most 255
 * bytes. The bytes after the first NUL must all be NUL (or spaces for a
 * space-padded string): "float32\0JUNK" is refused. */
static dt_err get_str(hid_t obj, const char *where, const char *name, char *buf,
                      size_t cap) {
  attr_h h;
  DT_CALL(attr_open(obj, where, name, &h));
  dt_err err = DT_OK;
  char raw[256];
  hid_t m = -1;
  htri_t var = h.cls == H5T_STRING ? H5Tis_variable_str(h.type) : 0;
  size_t fsize = h.cls == H5T_STRING ? H5Tget_size(h.type) : 0;
  H5T_cset_t cset = h.cls == H5T_STRING ? H5Tget_cset(h.type) : H5T_CSET_ERROR;
  H5T_str_t pad = h.cls == H5T_STRING ? H5Tget_strpad(h.type) : H5T_STR_ERROR;
  if (h.cls != H5T_STRING || !attr_single(&h) || var != 0) {
    err = dt__error(DT_ERR_FORMAT, "%s: attribute '%s' is not a %s", where,
                    name,
                    var > 0 ? "fixed-length string (variable-length strings "
                              "are not read)"
                            : "string");
    goto out;
  }
  if ((cset != H5T_CSET_ASCII && cset != H5T_CSET_UTF8) ||
      (pad != H5T_STR_NULLTERM && pad != H5T_STR_NULLPAD &&
       pad != H5T_STR_SPACEPAD)) {
    err = dt__error(DT_ERR_FORMAT,
                    "%s: attribute '%s' has an unknown character set or "
                    "padding",
                    where, name);
    goto out;
  }
  if (fsize == 0 || fsize > cap || fsize >= sizeof raw) {
    err = dt__error(DT_ERR_FORMAT, "%s: attribute '%s' is too long (%zu bytes)",
                    where, name, fsize);
    goto out;
  }
  /* Read the file's bytes as they are (same size, no terminator added). */
  memset(raw, 0, sizeof raw);
  m = H5Tcopy(H5T_C_S1);
  if (m < 0 || H5Tset_size(m, fsize) < 0 || H5Tset_strpad(m, pad) < 0 ||
      H5Tset_cset(m, cset) < 0 || H5Aread(h.a, m, raw) < 0) {
    err = dt__h5_error(DT_ERR_HDF5, "%s: cannot read attribute '%s'", where,
                       name);
    goto out;
  }
  size_t len = strnlen(raw, fsize);
  for (size_t i = len; i < fsize; i++)
    if (raw[i] != '\0' && !(pad == H5T_STR_SPACEPAD && raw[i] == ' ')) {
      err = dt__error(DT_ERR_FORMAT,
                      "%s: attribute '%s' has bytes after its end (an "
                      "embedded NUL)",
                      where, name);
      goto out;
    }
  if (pad == H5T_STR_SPACEPAD)
    while (len > 0 && raw[len - 1] == ' ')
      len--;
  if (len >= cap) {
    err = dt__error(DT_ERR_FORMAT, "%s: attribute '%s' is too long (%zu bytes)",
                    where, name, len);
    goto out;
  }
  memcpy(buf, raw, len);
  buf[len] = '\0';
out:
  if (m >= 0)
    H5Tclose(m);
  attr_close(&h);
  return err;
}

/* An integer attribute. u64: must be an unsigned 64-bit integer (checksum,
 * generator state); otherwise any integer type, read as int64. */
static dt_err get_int(hid_t obj, const char *where, const char *name, bool u64,
                      void *out) {
  attr_h h;
  DT_CALL(attr_open(obj, where, name, &h));
  dt_err err = DT_OK;
  if (h.cls != H5T_INTEGER || !attr_single(&h) || H5Tget_size(h.type) > 8)
    err = dt__error(DT_ERR_FORMAT, "%s: attribute '%s' is not an integer",
                    where, name);
  else if (u64 &&
           (H5Tget_size(h.type) != 8 || H5Tget_sign(h.type) != H5T_SGN_NONE))
    err = dt__error(DT_ERR_FORMAT,
                    "%s: attribute '%s' is not an unsigned 64-bit integer",
                    where, name);
  else if (H5Aread(h.a, u64 ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, out) < 0)
    err = dt__h5_error(DT_ERR_HDF5, "%s: cannot read attribute '%s'", where,
                       name);
  attr_close(&h);
  return err;
}

static dt_err get_shape(hid_t obj, const char *where, int ndim,
                        int64_t *shape) {
  attr_h h;
  DT_CALL(attr_open(obj, where, "shape", &h));
  dt_err err = DT_OK;
  bool empty = h.scls == H5S_NULL || (h.scls == H5S_SIMPLE && h.npoints == 0);
  if (h.cls != H5T_INTEGER || H5Tget_size(h.type) > 8)
    err =
        dt__error(DT_ERR_FORMAT, "%s: attribute 'shape' is not integer", where);
  else if (ndim == 0 ? !empty
                     : (h.scls != H5S_SIMPLE ||
                        H5Sget_simple_extent_ndims(h.space) != 1 ||
                        h.npoints != ndim))
    err = dt__error(DT_ERR_FORMAT,
                    "%s: attribute 'shape' does not hold ndim = %d sizes",
                    where, ndim);
  else if (ndim > 0 && H5Aread(h.a, H5T_NATIVE_INT64, shape) < 0)
    err = dt__h5_error(DT_ERR_HDF5, "%s: cannot read attribute 'shape'", where);
  attr_close(&h);
  return err;
}

static dt_dtype dtype_of_name(const char *s) {
  static const dt_dtype all[] = {DT_FLOAT32, DT_FLOAT64, DT_INT32, DT_INT64,
                                 DT_BOOL};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
    if (strcmp(s, dt_dtype_name(all[k])) == 0)
      return all[k];
  return DT_DTYPE_DEFAULT;
}

/* Format name and version, on a dataset or on the root group. */
static dt_err check_format(hid_t obj, const char *where) {
  char fmt[64];
  int64_t version = 0;
  DT_CALL(get_str(obj, where, "dtensor_format", fmt, sizeof fmt));
  DT_CHECK(strcmp(fmt, DT_IO_FORMAT) == 0, DT_ERR_FORMAT,
           "%s: dtensor_format is '%s', not '" DT_IO_FORMAT "'", where, fmt);
  DT_CALL(get_int(obj, where, "dtensor_version", false, &version));
  DT_CHECK(version != 1, DT_ERR_FORMAT,
           "%s: format version 1 (written before dtensor protected its "
           "metadata with a checksum) is no longer read: load it with the "
           "dtensor that wrote it and save it again",
           where);
  DT_CHECK(version == DT_IO_VERSION, DT_ERR_FORMAT,
           "%s: format version %lld is not supported (this library reads "
           "version %d)",
           where, (long long)version, DT_IO_VERSION);
  return DT_OK;
}

/* The dataset's element type must be the one `dtype` is stored as (class,
 * size, sign; byte order may differ: HDF5 converts it). */
static bool type_matches(hid_t t, dt_dtype dtype) {
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  switch (dtype) {
  case DT_FLOAT32:
  case DT_FLOAT64:
    return c == H5T_FLOAT && sz == dt_dtype_size(dtype);
  case DT_INT32:
  case DT_INT64:
    return c == H5T_INTEGER && sz == dt_dtype_size(dtype) &&
           H5Tget_sign(t) == H5T_SGN_2;
  case DT_BOOL:
    return (c == H5T_ENUM || c == H5T_INTEGER) && sz == 1;
  default:
    return false;
  }
}

/* The dataset's own extent must be the recorded shape. */
static dt_err check_space(hid_t dset, const char *where, const dt__io_meta *m) {
  hid_t sp = H5Dget_space(dset);
  if (sp < 0)
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot read the dataspace", where);
  H5S_class_t c = H5Sget_simple_extent_type(sp);
  int rank = c == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : 0;
  hsize_t dims[H5S_MAX_RANK];
  bool ok =
      c == H5S_SCALAR ? m->ndim == 0
      : c == H5S_SIMPLE
          ? rank == m->ndim && H5Sget_simple_extent_dims(sp, dims, NULL) == rank
          : false;
  for (int d = 0; ok && d < m->ndim; d++)
    ok = dims[d] == (hsize_t)m->shape[d];
  H5Sclose(sp);
  char s[160];
  DT_CHECK(ok, DT_ERR_FORMAT,
           "%s: the dataset's extent (%s, rank %d) disagrees with the "
           "recorded shape %s",
           where,
           c == H5S_SCALAR   ? "scalar"
           : c == H5S_SIMPLE ? "simple"
                             : "null",
           rank, dt__shape_str(s, sizeof s, m->ndim, m->shape));
  return DT_OK;
}

/* Every chunk of a chunked dataset (rank 0; time proportional to the
 * number of chunks): stored (an unwritten chunk would read as fill
 * values), inside the file, with all its filters applied, and when
 * unfiltered exactly the chunk's bytes: HDF5 1.10 copies a whole chunk out
 * of a shorter stored one (a heap overflow the fuzzer found). */
static dt_err check_chunks(hid_t dset, hid_t dcpl, const char *where,
                           int nfilt, int64_t file_size) {
  hid_t sp = H5Dget_space(dset), t = H5Dget_type(dset);
  int r = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
  hsize_t dims[H5S_MAX_RANK], ch[H5S_MAX_RANK], nc[H5S_MAX_RANK];
  hsize_t c[H5S_MAX_RANK] = {0}, off[H5S_MAX_RANK];
  bool ok = r > 0 && H5Sget_simple_extent_dims(sp, dims, NULL) == r &&
            H5Pget_chunk(dcpl, H5S_MAX_RANK, ch) == r && t >= 0;
  hsize_t cbytes = ok ? H5Tget_size(t) : 0, total = 1;
  if (sp >= 0)
    H5Sclose(sp);
  if (t >= 0)
    H5Tclose(t);
  for (int k = 0; ok && k < r; k++) {
    ok = ch[k] > 0;
    nc[k] = ok ? (dims[k] + ch[k] - 1) / ch[k] : 0;
    cbytes *= ch[k];
    total *= nc[k];
  }
  if (!ok)
    return dt__h5_error(DT_ERR_FORMAT, "%s: unreadable chunk layout", where);
  for (hsize_t i = 0; i < total; i++) {
    for (int k = 0; k < r; k++)
      off[k] = c[k] * ch[k];
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(dset, off, &mask, &addr, &size) < 0)
      return dt__h5_error(DT_ERR_FORMAT, "%s: unreadable chunk index", where);
    const char *bad =
        addr == HADDR_UNDEF ? "is not stored (unwritten chunks are not read "
                              "as fill values)"
        : mask != 0         ? "was stored without all of its filters"
        : addr > (haddr_t)file_size || size > (haddr_t)file_size - addr
            ? "lies outside the file"
        : nfilt == 0 && size != cbytes ? "does not hold a whole chunk"
        : size == 0                    ? "is empty"
                                       : NULL;
    DT_CHECK(!bad, DT_ERR_FORMAT,
             "%s: chunk %llu of %llu %s (a truncated or damaged file)", where,
             (unsigned long long)i, (unsigned long long)total, bad);
    for (int k = r - 1; k >= 0 && ++c[k] == nc[k]; k--)
      c[k] = 0;
  }
  return DT_OK;
}

/* The data must be stored in the file itself (no external raw storage, no
 * virtual dataset) and, when compact, contiguous or chunked without filters, the
 * storage HDF5 allocated must hold the declared extent within the file, so
 * a tiny file cannot make every rank allocate what it declares; chunked
 * data must pass check_chunks. */
dt_err dt__io_check_storage(hid_t dset, const char *where, int64_t bytes,
                            int64_t file_size) {
  hid_t p = H5Dget_create_plist(dset);
  if (p < 0)
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot read the storage properties",
                        where);
  int next = H5Pget_external_count(p);
  H5D_layout_t lay = H5Pget_layout(p);
  int nfilt = H5Pget_nfilters(p);
  dt_err err = DT_OK;
  if (next != 0)
    err = dt__error(DT_ERR_FORMAT,
                    "%s: the data are stored outside the file (external "
                    "storage), which a checkpoint never does",
                    where);
  else if (lay != H5D_CONTIGUOUS && lay != H5D_CHUNKED && lay != H5D_COMPACT)
    err = dt__error(DT_ERR_FORMAT,
                    "%s: the dataset is %s, not stored in the file itself",
                    where,
                    lay == H5D_VIRTUAL ? "virtual" : "of an unknown layout");
  else if (nfilt < 0)
    err = dt__error(DT_ERR_FORMAT, "%s: unreadable filter pipeline", where);
  /* Compact data too: HDF5 1.10 copies the extent's bytes out of the
   * header's compact buffer without checking its recorded size. */
  if (!err && bytes > 0 && nfilt == 0) {
    hsize_t have = H5Dget_storage_size(dset);
    haddr_t at = lay == H5D_CONTIGUOUS ? H5Dget_offset(dset) : 0;
    bool inside = lay != H5D_CONTIGUOUS ||
                  (at != HADDR_UNDEF && at <= (haddr_t)file_size &&
                   (haddr_t)bytes <= (haddr_t)file_size - at);
    H5Eclear2(H5E_DEFAULT);
    if (have < (hsize_t)bytes || !inside)
      err = dt__error(DT_ERR_FORMAT,
                      "%s: the file stores %llu bytes for it but its shape "
                      "needs %lld (a truncated or damaged file)",
                      where, (unsigned long long)(inside ? have : 0),
                      (long long)bytes);
  }
  if (!err && bytes > 0 && lay == H5D_CHUNKED)
    err = check_chunks(dset, p, where, nfilt, file_size);
  H5Pclose(p);
  return err;
}

dt_err dt__io_read_meta(hid_t dset, const char *file, const char *name,
                        int64_t file_size, dt__io_meta *m, uint64_t *msum) {
  char where[DT_NAME_MAX + 300];
  snprintf(where, sizeof where, "tensor '%s' in '%.200s'", name, file);
  memset(m, 0, sizeof *m);
  DT_CALL(check_format(dset, where));

  char dt[32];
  DT_CALL(get_str(dset, where, "dtype", dt, sizeof dt));
  m->dtype = dtype_of_name(dt);
  DT_CHECK(m->dtype != DT_DTYPE_DEFAULT, DT_ERR_FORMAT,
           "%s: unknown dtype '%s'", where, dt);

  int64_t v = 0;
  DT_CALL(get_int(dset, where, "ndim", false, &v));
  DT_CHECK(v >= 0 && v <= DT_MAX_DIMS, DT_ERR_FORMAT,
           "%s: ndim %lld is outside 0..%d (DT_MAX_DIMS)", where, (long long)v,
           DT_MAX_DIMS);
  m->ndim = (int)v;
  DT_CALL(get_shape(dset, where, m->ndim, m->shape));
  int64_t numel = 1, bytes;
  for (int d = 0; d < m->ndim; d++) {
    DT_CHECK(m->shape[d] >= 0, DT_ERR_FORMAT,
             "%s: shape[%d] = %lld is negative", where, d,
             (long long)m->shape[d]);
    DT_CHECK(dt__mul_ok(numel, m->shape[d], &numel), DT_ERR_FORMAT,
             "%s: the element count of the recorded shape overflows 64 bits",
             where);
  }
  DT_CHECK(dt__mul_ok(numel, (int64_t)dt_dtype_size(m->dtype), &bytes),
           DT_ERR_FORMAT,
           "%s: the byte size of the recorded shape overflows "
           "64 bits",
           where);
  DT_CALL(check_space(dset, where, m));

  hid_t t = H5Dget_type(dset);
  if (t < 0)
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot read the element type", where);
  bool ok = type_matches(t, m->dtype);
  H5Tclose(t);
  DT_CHECK(ok, DT_ERR_FORMAT,
           "%s: the dataset's element type is not how %s is stored", where, dt);
  DT_CALL(dt__io_check_storage(dset, where, bytes, file_size));
  DT_CALL(dt__io_zcheck_read(dset, where, bytes)); /* save_chunked.c */

  DT_CALL(get_int(dset, where, "requires_grad", false, &v));
  DT_CHECK(v == 0 || v == 1, DT_ERR_FORMAT,
           "%s: requires_grad is %lld, not 0 or 1", where, (long long)v);
  DT_CHECK(v == 0 || dt_dtype_is_float(m->dtype), DT_ERR_FORMAT,
           "%s: a %s tensor cannot require grad", where, dt);
  m->requires_grad = v == 1;
  DT_CALL(get_int(dset, where, "checksum", true, &m->checksum));
  DT_CALL(get_str(dset, where, "layout", m->layout, sizeof m->layout));
  return get_int(dset, where, "meta_checksum", true, msum);
}

htri_t dt__io_is_tensor(hid_t dset) {
  return H5Aexists(dset, "dtensor_format");
}

dt_err dt__io_read_root(hid_t file, const char *path, uint64_t *seed,
                        uint64_t *offset) {
  char where[300];
  snprintf(where, sizeof where, "'%.200s'", path);
  htri_t e = H5Aexists(file, "dtensor_format");
  if (e < 0)
    return dt__h5_error(DT_ERR_HDF5, "%s: cannot read the root group", where);
  DT_CHECK(e > 0, DT_ERR_FORMAT,
           "%s is an HDF5 file but not a dtensor checkpoint (its root group "
           "has no dtensor_format attribute)",
           where);
  DT_CALL(check_format(file, where));
  DT_CALL(get_int(file, where, "rng_seed", true, seed));
  DT_CALL(get_int(file, where, "rng_offset", true, offset));
  uint64_t msum = 0;
  DT_CALL(get_int(file, where, "meta_checksum", true, &msum));
  DT_CHECK(msum == dt__io_root_sum(*seed, *offset), DT_ERR_FORMAT,
           "%s: the root group's metadata checksum does not match its "
           "attributes (the file is damaged)",
           where);
  return DT_OK;
}
