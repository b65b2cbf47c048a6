/*
 * open.c - opening a checkpoint: rank 0 alone reads and validates all the
 * metadata a call needs with the sequential HDF5 driver, the verdict (code
 * and message) is agreed, and the catalog is broadcast. Ranks never branch
 * on metadata they read themselves, so a damaged file gives every rank the
 * same error instead of sending ranks into different collectives.
 * dt_list and dt_load_rng_state need nothing else; dt_load reads the data
 * afterwards (load.c).
 *
 * Nothing outside the file is ever opened: links are followed only when
 * they are hard links (soft, external and user-defined links are format
 * errors naming the link, and the link access list refuses external links
 * besides), and a dataset with external raw storage or a virtual layout is
 * refused (attr.c).
 */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dt_err dt__io_probe(const char *path, int64_t *size) {
  struct stat st;
  if (stat(path, &st) != 0)
    return dt__error(DT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  DT_CHECK(S_ISREG(st.st_mode), DT_ERR_IO, "'%s' is not a regular file (%s)",
           path,
           S_ISDIR(st.st_mode)    ? "a directory"
           : S_ISFIFO(st.st_mode) ? "a FIFO"
                                  : "a device or socket");
  /* O_NONBLOCK: should the path become a FIFO after the stat, the open
   * still returns at once. */
  int fd = open(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0)
    return dt__error(DT_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
  bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  close(fd);
  DT_CHECK(reg, DT_ERR_IO, "'%s' is not a regular file", path);
  DT_CHECK(st.st_size > 0, DT_ERR_FORMAT,
           "'%s' is empty (0 bytes): not an HDF5 file", path);
  htri_t is = H5Fis_hdf5(path);
  H5Eclear2(H5E_DEFAULT);
  DT_CHECK(is > 0, DT_ERR_FORMAT, "'%s' is not an HDF5 file", path);
  *size = (int64_t)st.st_size;
  return DT_OK;
}

/* ---- rank 0: reading the metadata ---------------------------------------- */

static const char *link_kind(H5L_type_t t) {
  return t == H5L_TYPE_SOFT       ? "a soft link"
         : t == H5L_TYPE_EXTERNAL ? "an external link (to another file)"
                                  : "a user-defined link";
}

dt_err dt__io_find_dataset(hid_t f, hid_t lapl, const char *file,
                           const char *name, hid_t *dset) {
  *dset = -1;
  char buf[DT_IO_DNAME_MAX];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    htri_t e = H5Lexists(f, buf, lapl);
    H5L_info_t info;
    if (e > 0 && H5Lget_info(f, buf, &info, lapl) < 0)
      e = -1;
    if (e < 0)
      return dt__h5_error(DT_ERR_FORMAT, "cannot look up '%s' in '%s'", buf,
                          file);
    if (e == 0)
      return DT_OK;
    DT_CHECK(info.type == H5L_TYPE_HARD, DT_ERR_FORMAT,
             "'%s' in '%s' is %s; a checkpoint holds only its own datasets "
             "(hard links)",
             buf, file, link_kind(info.type));
    *p = c;
    if (c == '\0')
      break;
  }
  hid_t o = H5Oopen(f, name, lapl);
  if (o < 0)
    return dt__h5_error(DT_ERR_FORMAT, "cannot open '%s' in '%s'", name, file);
  if (H5Iget_type(o) != H5I_DATASET) {
    H5Oclose(o);
    return dt__error(DT_ERR_ARG, "'%s' in '%s' is a group, not a tensor", name,
                     file);
  }
  *dset = o;
  return DT_OK;
}

static bool meta_same_array(const dt__io_meta *a, const dt__io_meta *b) {
  if (a->dtype != b->dtype || a->ndim != b->ndim)
    return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d])
      return false;
  return true;
}

/* Validate tensor `name` and its gradient into *e. */
static dt_err read_tensor(hid_t f, hid_t lapl, const char *path, int64_t size,
                          const char *name, bool verify, dt__io_entry *e) {
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  char gname[DT_IO_DNAME_MAX];
  snprintf(gname, sizeof gname, "%s" DT_IO_GRAD_SUFFIX, name);
  hid_t d = -1, gd = -1;
  uint64_t ms = 0, gms = 0;
  dt_err err = dt__io_find_dataset(f, lapl, path, name, &d);
  if (!err && d < 0)
    err = dt__error(DT_ERR_ARG, "there is no tensor '%s' in '%s'", name, path);
  if (!err)
    err = dt__io_read_meta(d, path, name, size, &e->m, &ms);
  if (!err)
    err = dt__io_find_dataset(f, lapl, path, gname, &gd);
  e->m.has_grad = gd >= 0;
  if (!err && gd >= 0)
    err = dt__io_read_meta(gd, path, gname, size, &e->gm, &gms);
  if (d >= 0)
    H5Dclose(d);
  if (gd >= 0)
    H5Dclose(gd);
  DT_CALL(err);
  DT_CHECK(!e->m.has_grad || meta_same_array(&e->m, &e->gm), DT_ERR_FORMAT,
           "the gradient '%s' in '%s' differs from its tensor in dtype or "
           "shape",
           gname, path);
  DT_CHECK(!verify || ms == dt__io_meta_sum(name, &e->m), DT_ERR_FORMAT,
           "tensor '%s' in '%s': the metadata checksum does not match its "
           "attributes (the file is damaged)",
           name, path);
  if (!e->m.has_grad)
    return DT_OK;
  DT_CHECK((!verify || gms == dt__io_meta_sum(gname, &e->gm)) &&
               !e->gm.requires_grad,
           DT_ERR_FORMAT,
           "tensor '%s' in '%s': the metadata checksum does not match its "
           "attributes (the file is damaged)",
           gname, path);
  return DT_OK;
}

typedef struct walk {
  char **v;
  int n, cap;
  char bad[DT_IO_DNAME_MAX + 64];
  H5L_type_t bad_type;
} walk;

/* Every hard link's name; stops at the first link of another kind. */
static herr_t walk_cb(hid_t g, const char *name, const H5L_info_t *info,
                      void *data) {
  (void)g;
  walk *w = data;
  if (info->type != H5L_TYPE_HARD) {
    snprintf(w->bad, sizeof w->bad, "%s", name);
    w->bad_type = info->type;
    return 1;
  }
  if (w->n == w->cap) {
    int cap = w->cap ? 2 * w->cap : 16;
    char **v = dt__realloc(w->v, sizeof *v * (size_t)cap);
    if (!v)
      return -1;
    w->v = v;
    w->cap = cap;
  }
  if (!(w->v[w->n] = strdup(name)))
    return -1;
  w->n++;
  return 0;
}

/* Every tensor of the file, in the order of a depth-first walk by name. */
static dt_err read_all(hid_t f, hid_t lapl, const char *path, int64_t size,
                       dt__io_catalog *c) {
  walk w = {0};
  herr_t rc = H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, walk_cb, &w);
  dt_err err = DT_OK;
  if (rc > 0)
    err = dt__error(DT_ERR_FORMAT,
                    "'%s' in '%s' is %s; a checkpoint holds only its own "
                    "datasets (hard links)",
                    w.bad, path, link_kind(w.bad_type));
  else if (rc < 0)
    err = dt__h5_error(DT_ERR_FORMAT, "cannot list the objects of '%s'", path);
  if (!err && !(c->e = dt__calloc((size_t)w.n + 1, sizeof *c->e)))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate %d entries", w.n);
  for (int i = 0; !err && i < w.n; i++) {
    const char *name = w.v[i];
    if (strchr(name, '@'))
      continue; /* a gradient: read with its tensor */
    hid_t o = H5Oopen(f, name, lapl);
    htri_t is = o < 0                           ? -1
                : H5Iget_type(o) == H5I_DATASET ? dt__io_is_tensor(o)
                                                : 0;
    if (o >= 0)
      H5Oclose(o);
    if (is < 0)
      err = dt__h5_error(DT_ERR_FORMAT, "cannot read '%s' in '%s'", name, path);
    else if (is > 0 && dt__io_check_name(name) != DT_OK)
      err = dt__error(DT_ERR_FORMAT,
                      "dataset '%.200s' in '%s' is marked as a tensor but its "
                      "name is not a valid tensor name",
                      name, path);
    else if (is > 0)
      err = read_tensor(f, lapl, path, size, name, true, &c->e[c->n++]);
  }
  for (int i = 0; i < w.n; i++)
    free(w.v[i]);
  free(w.v);
  return err;
}

dt_err dt__io_ro_open(const char *path, dt__io_rofile *rf) {
  rf->f = rf->fapl = rf->lapl = -1;
  rf->size = 0;
  DT_CALL(dt__io_probe(path, &rf->size));
  rf->fapl = dt__io_fapl(0);
  rf->lapl = dt__io_lapl();
  if (rf->fapl < 0 || rf->lapl < 0)
    return dt__h5_error(DT_ERR_HDF5, "cannot set up file access");
  rf->f = H5Fopen(path, H5F_ACC_RDONLY, rf->fapl);
  if (rf->f < 0)
    return dt__h5_error(DT_ERR_FORMAT,
                        "cannot open '%s' (damaged or truncated?)", path);
  return DT_OK;
}

dt_err dt__io_ro_close(const char *path, dt__io_rofile *rf, dt_err err) {
  if (rf->f >= 0 && H5Fclose(rf->f) < 0 && !err)
    err = dt__h5_error(DT_ERR_FORMAT, "cannot close '%s'", path);
  H5Eclear2(H5E_DEFAULT);
  if (rf->fapl >= 0)
    H5Pclose(rf->fapl);
  if (rf->lapl >= 0)
    H5Pclose(rf->lapl);
  rf->f = rf->fapl = rf->lapl = -1;
  return err;
}

static dt_err read_catalog(const char *path, const char *only, bool verify,
                           dt__io_catalog *c) {
  dt__io_rofile rf;
  dt_err err = dt__io_ro_open(path, &rf);
  hid_t f = rf.f, lapl = rf.lapl;
  int64_t size = rf.size;
  if (!err)
    err = dt__io_read_root(f, path, &c->seed, &c->offset);
  if (!err && only && *only) {
    c->e = dt__calloc(1, sizeof *c->e);
    err = c->e ? read_tensor(f, lapl, path, size, only, verify, c->e)
               : dt__error(DT_ERR_NOMEM, "cannot allocate an entry");
    c->n = err ? 0 : 1;
  } else if (!err && !only) {
    err = read_all(f, lapl, path, size, c);
  }
  return dt__io_ro_close(path, &rf, err);
}

void dt__io_catalog_free(dt__io_catalog *c) {
  free(c->e);
  memset(c, 0, sizeof *c);
}

dt_err dt__io_catalog_read(dt_ctx *ctx, const char *path, const char *only,
                           bool verify, dt__io_catalog *c) {
  memset(c, 0, sizeof *c);
  dt_err err = DT_OK;
  if (ctx->rank == 0) {
    err = dt__fault(ctx->comm, "load_meta")
              ? dt__error(DT_ERR_IO,
                          "cannot read '%s': %s (injected at "
                          "load_meta)",
                          path, strerror(EIO))
              : read_catalog(path, only, verify, c);
  }
  err = dt__agree(ctx->comm, err, 0);
  uint64_t head[3] = {c->seed, c->offset, (uint64_t)c->n};
  if (!err)
    err = dt__agree(ctx->comm, dt__bcast_bytes(head, sizeof head, 0, ctx->comm),
                    0);
  if (!err && ctx->rank != 0) {
    c->seed = head[0];
    c->offset = head[1];
    c->n = (int)head[2];
    if (!(c->e = dt__calloc((size_t)c->n + 1, sizeof *c->e)))
      err = dt__error(DT_ERR_NOMEM, "cannot allocate %d entries", c->n);
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err && c->n > 0)
    err = dt__agree(
        ctx->comm,
        dt__bcast_bytes(c->e, sizeof *c->e * (size_t)c->n, 0, ctx->comm), 0);
  if (err)
    dt__io_catalog_free(c);
  return err;
}

/* ---- dt_list, dt_load_rng_state ------------------------------------------ */

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
  dt__io_catalog c;
  if (!err)
    err = dt__io_catalog_read(ctx, path, NULL, true, &c);
  if (err)
    return err;
  dt_file_entry *e = c.n ? dt__calloc((size_t)c.n, sizeof *e) : NULL;
  err = c.n && !e ? dt__error(DT_ERR_NOMEM, "cannot allocate %d entries", c.n)
                  : DT_OK;
  for (int i = 0; !err && i < c.n; i++) {
    const dt__io_entry *x = &c.e[i];
    snprintf(e[i].name, sizeof e[i].name, "%s", x->name);
    e[i].dtype = x->m.dtype;
    e[i].ndim = x->m.ndim;
    memcpy(e[i].shape, x->m.shape, sizeof x->m.shape);
    e[i].requires_grad = x->m.requires_grad;
    e[i].has_grad = x->m.has_grad;
    e[i].checksum = x->m.checksum;
    snprintf(e[i].layout, sizeof e[i].layout, "%s", x->m.layout);
  }
  int k = c.n;
  dt__io_catalog_free(&c);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(e);
    return err;
  }
  *n = k;
  *entries = e;
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

dt_err dt_load_rng_state(dt_ctx *ctx, const char *path) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  dt__h5quiet q;
  dt__h5_quiet(&q);
  dt_err err = path ? DT_OK : dt__error(DT_ERR_NULL, "path is NULL");
  err = dt__agree(ctx->comm, err,
                  path ? dt__hash_bytes(0, path, strlen(path)) : 0);
  dt__io_catalog c;
  /* The root group only: an empty name list. */
  if (!err)
    err = dt__io_catalog_read(ctx, path, "", true, &c);
  if (!err) {
    ctx->seed = c.seed;
    ctx->offset = c.offset;
    dt__io_catalog_free(&c);
  }
  dt__h5_restore(&q);
  DT_RETURN(err);
}
