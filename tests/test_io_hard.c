/*
 * test_io_hard - checkpoints against damage and failure, at 1..4 ranks:
 * every metadata byte of a real checkpoint changed and random 32-byte
 * mutations (every rank returns the same code, nobody hangs); a file size
 * limit hit at every stage of a save and an injected failure of each file
 * system step on one rank (same code everywhere, no temporary left, the
 * previous checkpoint intact, MPI still usable); files that point outside
 * themselves (external storage, external, soft and dangling links, a
 * virtual dataset, a FIFO); variable-length and NUL-embedded strings;
 * metadata changes caught by the metadata checksum; a tiny file declaring
 * a huge tensor; bool bytes other than 0 and 1; byte-identical saves;
 * leftover temporaries cleaned; a FIFO, a directory and an uncreatable
 * target.
 */
#include "dt_test.h"
#include "internal.h"
#include "io/io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_SCRATCH_NAME "test_io_hard"
#define IO_SCRATCH_FRESH 1
#include "io_scratch.h"

static unsigned char *read_all(const char *file, long *n) {
  FILE *f = fopen(file, "rb");
  *n = 0;
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)*n + 1);
  if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n)
    *n = 0;
  fclose(f);
  return b;
}

static void write_all(const char *file, const unsigned char *b, long n) {
  FILE *f = fopen(file, "wb");
  if (f) {
    fwrite(b, 1, (size_t)n, f);
    fclose(f);
  }
}

/* The checkpoint every test starts from: w (float32 [6, 5] with a
 * gradient), flags (bool [7]); checksums of w. */
static void save_base(const char *file, uint64_t *cw) {
  const int64_t s[2] = {6, 5}, sb = 7;
  dt_tensor *w = NULL, *g = NULL, *b = NULL;
  T_OK(dt_manual_seed(T_ctx, 21));
  T_OK(dt_randn(T_ctx, 2, s, &(dt_opts){.requires_grad = true}, &w));
  T_OK(dt_rand(T_ctx, 2, s, NULL, &g));
  T_OK(dt_set_grad(w, g));
  T_OK(dt_randint(T_ctx, 0, 2, 1, &sb, &(dt_opts){.dtype = DT_BOOL}, &b));
  const char *names[2] = {"w", "flags"};
  const dt_tensor *ts[2] = {w, b};
  T_OK(dt_save(T_ctx, file, 2, names, ts, NULL));
  if (cw)
    T_OK(dt_checksum(w, cw));
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&g);
  dt_tensor_destroy(&b);
}

/* w loads and still has checksum cw. */
static bool intact(const char *file, uint64_t cw) {
  dt_tensor *x = NULL;
  uint64_t c = 0;
  bool ok = dt_load(T_ctx, file, "w", NULL, &x) == DT_OK &&
            dt_checksum(x, &c) == DT_OK && c == cw;
  dt_tensor_destroy(&x);
  return ok;
}

/* ---- 1. mutated metadata: the same verdict everywhere -------------------- */

/* Load w and flags and list the file; every rank must get the same codes. */
static int try_all(const char *file) {
  dt_tensor *x = NULL;
  int n = 0;
  dt_file_entry *e = NULL;
  int c1 = dt_load(T_ctx, file, "w", NULL, &x);
  dt_tensor_destroy(&x);
  int c2 = dt_load(T_ctx, file, "flags", NULL, &x);
  dt_tensor_destroy(&x);
  int c3 = dt_list(T_ctx, file, &n, &e);
  free(e);
  CU_ASSERT(c1 != DT_ERR_MPI && c1 != DT_ERR_NOMEM);
  return c1 * 10000 + c2 * 100 + c3;
}

static void t_every_metadata_byte(void) {
  char base[600], file[600];
  path_of(base, "mut_base.h5");
  path_of(file, "mut.h5");
  save_base(base, NULL);
  long n = 0;
  unsigned char *b = T_rank == 0 ? read_all(base, &n) : NULL;
  long nn = n;
  MPI_Bcast(&nn, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  CU_ASSERT(nn > 0);
  /* Every byte of the metadata (the file is small: the data are a few
   * hundred bytes among them; changing those is caught by the checksum). */
  int bad = 0, refused = 0;
  /* DT_TEST_STRIDE=k: every k-th byte only (a quicker look). */
  /* At 1 rank every byte; at P > 1 ranks every 25th, starting at byte P, so
   * the rank counts cover different bytes (time). */
  long stride = getenv("DT_TEST_STRIDE") ? atol(getenv("DT_TEST_STRIDE"))
                : T_size == 1              ? 1
                                           : 25;
  for (long at = T_size == 1 ? 0 : T_size; at < nn;
       at += stride > 0 ? stride : 1) {
    if (T_rank == 0) {
      b[at] ^= 0xff;
      write_all(file, b, n);
      b[at] ^= 0xff;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int code = try_all(file);
    if (!same_everywhere(code))
      bad++;
    refused += code != 0;
  }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(refused > nn / (2 * (stride > 0 ? stride : 1)));
  if (T_rank == 0 && getenv("DT_TEST_DEBUG"))
    fprintf(stderr, "%ld bytes, %d refused\n", nn, refused);
  /* Random 32-byte mutations. */
  unsigned s = 12345;
  for (int k = 0; k < (T_size == 1 ? 150 : 40); k++) {
    if (T_rank == 0) {
      unsigned char *m = malloc((size_t)n);
      memcpy(m, b, (size_t)n);
      s = s * 1103515245u + 12345u;
      long at = (long)(s >> 8) % (n > 32 ? n - 32 : 1);
      for (int i = 0; i < 32 && at + i < n; i++) {
        s = s * 1103515245u + 12345u;
        m[at + i] = (unsigned char)(s >> 16);
      }
      write_all(file, m, n);
      free(m);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (!same_everywhere(try_all(file)))
      bad++;
  }
  CU_ASSERT_EQUAL(bad, 0);
  free(b);
}

/* ---- 2. a full disk and failing system calls ------------------------------ */

/* A save under a file size limit of `limit` bytes on rank `who` (-1: all).
 * SIGXFSZ is ignored, as the library's documentation asks of programs that
 * run under such a limit, so the write fails with EFBIG. */
static dt_err save_limited(const char *file, rlim_t limit, int who,
                           const dt_tensor *big) {
  struct rlimit old;
  getrlimit(RLIMIT_FSIZE, &old);
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  if (who < 0 || who == T_rank) {
    struct rlimit r = {limit, old.rlim_max};
    setrlimit(RLIMIT_FSIZE, &r);
  }
  const char *name = "w";
  dt_err e = dt_save(T_ctx, file, 1, &name, &big, NULL);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  return e;
}

static void t_disk_full(void) {
  char file[600];
  path_of(file, "full.h5");
  uint64_t cw = 0;
  save_base(file, &cw);
  const int64_t s[2] = {512, 256}; /* 512 KiB: data past the 1 MiB mark */
  dt_tensor *big = NULL;
  T_OK(dt_randn(T_ctx, 2, s, NULL, &big));
  static const rlim_t limits[] = {0,     100,   1000,    2048,   4096,
                                  65536, 1 << 20, (1 << 20) + 4096,
                                  (1 << 20) + 300000};
  size_t nl = sizeof limits / sizeof limits[0];
  if (getenv("DT_TEST_NLIMITS"))
    nl = (size_t)atoi(getenv("DT_TEST_NLIMITS"));
  for (size_t i = 0; i < nl; i++)
    for (int who = -1; who < T_size; who += T_size > 1 ? T_size : 1) {
      int w = who < 0 ? -1 : T_size - 1;
      dt_err e = save_limited(file, limits[i], w, big);
      /* No HDF5 file left open (a broken one would crash at exit). */
      ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
      CU_ASSERT_EQUAL(open_ids, 0);
      if (open_ids != 0) {
        fprintf(stderr, "[rank %d] limit %lu on %d: %ld files open: %s\n",
                T_rank, (unsigned long)limits[i], w, (long)open_ids,
                dt_last_error());
        fflush(stderr);
      }
      CU_ASSERT_EQUAL(e, DT_ERR_IO);
      CU_ASSERT(same_everywhere(e));
      if (e != DT_ERR_IO && T_rank == 0)
        fprintf(stderr, "limit %lu on %d: %s %s\n", (unsigned long)limits[i],
                w, dt_err_name(e), dt_last_error());
      CU_ASSERT_EQUAL(temps_left(), 0);
      CU_ASSERT(intact(file, cw));
    }
  /* MPI and the library still work: a save without the limit succeeds. */
  const char *name = "w";
  T_OK(dt_save(T_ctx, file, 1, &name, (const dt_tensor *const *)&big, NULL));
  uint64_t cb = 0;
  T_OK(dt_checksum(big, &cb));
  CU_ASSERT(intact(file, cb));
  dt_tensor_destroy(&big);
}

static void t_injected_faults(void) {
  char file[600];
  path_of(file, "fault.h5");
  uint64_t cw = 0;
  save_base(file, &cw);
  static const struct {
    const char *site;
    bool rank0_only;
    bool save;
  } sites[] = {{"save_create", true, true}, {"save_open", false, true},
               {"save_write", false, true}, {"save_fsync", false, true},
               {"save_finish", true, true}, {"save_rename", true, true},
               {"load_meta", true, false},  {"load_open", false, false},
               {"load_read", false, false}};
  const int64_t s[2] = {6, 5};
  dt_tensor *a = NULL;
  T_OK(dt_ones(T_ctx, 2, s, NULL, &a));
  for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
    int ranks[2] = {0, T_size - 1};
    for (int k = 0; k < (sites[i].rank0_only || T_size == 1 ? 1 : 2); k++) {
      char r[16];
      snprintf(r, sizeof r, "%d", ranks[k]);
      setenv("DT_FAULT_ALLOC", sites[i].site, 1);
      setenv("DT_FAULT_RANK", r, 1);
      dt_err e;
      dt_tensor *x = NULL;
      if (sites[i].save) {
        const char *name = "w";
        e = dt_save(T_ctx, file, 1, &name, (const dt_tensor *const *)&a, NULL);
      } else {
        e = dt_load(T_ctx, file, "w", NULL, &x);
        CU_ASSERT_PTR_NULL(x);
      }
      unsetenv("DT_FAULT_ALLOC");
      unsetenv("DT_FAULT_RANK");
      CU_ASSERT_EQUAL(e, DT_ERR_IO);
      CU_ASSERT(same_everywhere(e));
      CU_ASSERT(strstr(dt_last_error(), sites[i].site) != NULL);
      CU_ASSERT_EQUAL(temps_left(), 0);
      CU_ASSERT(intact(file, cw));
      dt_tensor_destroy(&x);
    }
  }
  dt_tensor_destroy(&a);
}

/* ---- 3-7. crafted files --------------------------------------------------- */

/* Recompute meta_checksum of dataset `name` from its attributes as they
 * now are (so a crafted change passes the metadata checksum and meets the
 * check it is meant for). */
/* Recompute meta_checksum of dataset `name` as the library would for
 * tensor w's metadata with shape `shape` (NULL: w's) and no gradient, so a
 * crafted dataset passes the metadata checksum and meets the check it is
 * meant for. */
static void reseal(hid_t f, const char *name, const int64_t *shape) {
  hid_t w = H5Dopen2(f, "w", H5P_DEFAULT);
  dt__io_meta m = {0};
  uint64_t ms = 0;
  if (dt__io_read_meta(w, "f", "w", (int64_t)1 << 40, &m, &ms) != DT_OK)
    fprintf(stderr, "reseal %s: %s\n", name, dt_last_error());
  H5Dclose(w);
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  char lay[64] = "";
  hid_t a = H5Aopen(d, "layout", H5P_DEFAULT);
  hid_t t = H5Aget_type(a);
  H5Aread(a, t, lay);
  H5Tclose(t);
  H5Aclose(a);
  snprintf(m.layout, sizeof m.layout, "%s", lay);
  if (strcmp(name, "flags") == 0) {
    m.dtype = DT_BOOL;
    m.ndim = 1;
    m.shape[0] = 7;
    m.requires_grad = false;
    a = H5Aopen(d, "checksum", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT64, &m.checksum);
    H5Aclose(a);
  }
  if (shape)
    memcpy(m.shape, shape, sizeof(int64_t) * (size_t)m.ndim);
  m.has_grad = false;
  uint64_t v = dt__io_meta_sum(name, &m);
  a = H5Aopen(d, "meta_checksum", H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_UINT64, &v);
  H5Aclose(a);
  H5Dclose(d);
}

static void put_str_attr(hid_t o, const char *n, const char *v, size_t size,
                         bool vlen) {
  if (H5Aexists(o, n) > 0)
    H5Adelete(o, n);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, vlen ? H5T_VARIABLE : size);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(o, n, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  CU_ASSERT(a >= 0 && H5Awrite(a, t, vlen ? (const void *)&v : v) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
}

/* Copy the attributes a tensor needs from w to dataset d (same shape). */
static void copy_attrs(hid_t f, hid_t d, const char *name) {
  hid_t w = H5Dopen2(f, "w", H5P_DEFAULT);
  H5Ocopy(f, "w", f, "tmpcopy", H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(w);
  hid_t c = H5Dopen2(f, "tmpcopy", H5P_DEFAULT);
  static const char *const attrs[] = {"dtensor_format", "dtensor_version",
                                      "dtype",          "ndim",
                                      "shape",          "layout",
                                      "requires_grad",  "checksum",
                                      "meta_checksum"};
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
    hid_t a = H5Aopen(c, attrs[i], H5P_DEFAULT);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    char buf[256] = {0};
    H5Aread(a, t, buf);
    hid_t b = H5Acreate2(d, attrs[i], t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(b, t, buf);
    H5Aclose(b);
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
  }
  H5Dclose(c);
  H5Ldelete(f, "tmpcopy", H5P_DEFAULT);
  (void)name;
}

static char g_fifo[600];

static void c_external_storage(hid_t f) {
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_external(p, "/etc/passwd", 0, 120);
  hsize_t dims[2] = {6, 5};
  hid_t sp = H5Screate_simple(2, dims, NULL);
  hid_t d = H5Dcreate2(f, "ext", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, p,
                       H5P_DEFAULT);
  copy_attrs(f, d, "ext");
  H5Dclose(d);
  H5Sclose(sp);
  H5Pclose(p);
  reseal(f, "ext", NULL);
}
static void c_external_link(hid_t f) {
  H5Lcreate_external(g_fifo, "/w", f, "ext", H5P_DEFAULT, H5P_DEFAULT);
}
static void c_soft_link(hid_t f) {
  H5Lcreate_soft("/w", f, "ext", H5P_DEFAULT, H5P_DEFAULT);
}
static void c_dangling(hid_t f) {
  H5Lcreate_soft("/nowhere/at/all", f, "ext", H5P_DEFAULT, H5P_DEFAULT);
}
static void c_virtual(hid_t f) {
  hsize_t dims[2] = {6, 5};
  hid_t sp = H5Screate_simple(2, dims, NULL);
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_virtual(p, sp, "/etc/passwd", "/w", sp);
  hid_t d = H5Dcreate2(f, "ext", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, p,
                       H5P_DEFAULT);
  copy_attrs(f, d, "ext");
  H5Dclose(d);
  H5Pclose(p);
  H5Sclose(sp);
  reseal(f, "ext", NULL);
}
static void c_vlen(hid_t f) {
  hid_t d = H5Dopen2(f, "w", H5P_DEFAULT);
  put_str_attr(d, "dtype", "float32", 0, true);
  H5Dclose(d);
}
static void c_nul(hid_t f) {
  hid_t d = H5Dopen2(f, "w", H5P_DEFAULT);
  put_str_attr(d, "dtype", "float32\0JUNK", 13, false);
  H5Dclose(d);
}
static void c_requires_grad(hid_t f) {
  hid_t d = H5Dopen2(f, "w", H5P_DEFAULT);
  int32_t v = 0;
  hid_t a = H5Aopen(d, "requires_grad", H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT32, &v);
  H5Aclose(a);
  H5Dclose(d);
}
static void c_rng(hid_t f) {
  uint64_t v = 12345;
  hid_t a = H5Aopen(f, "rng_offset", H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_UINT64, &v);
  H5Aclose(a);
}
static void c_no_grad(hid_t f) { H5Ldelete(f, "w@grad", H5P_DEFAULT); }
static void c_huge(hid_t f) {
  hsize_t dims[2] = {1 << 15, 1 << 15};
  hid_t sp = H5Screate_simple(2, dims, NULL);
  hid_t d = H5Dcreate2(f, "ext", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT,
                       H5P_DEFAULT, H5P_DEFAULT);
  copy_attrs(f, d, "ext");
  int64_t shape[2] = {1 << 15, 1 << 15};
  hid_t a = H5Aopen(d, "shape", H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, shape);
  H5Aclose(a);
  H5Dclose(d);
  H5Sclose(sp);
  reseal(f, "ext", shape);
}
static void c_bool_bytes(hid_t f) {
  hid_t d = H5Dopen2(f, "flags", H5P_DEFAULT);
  signed char v[7] = {0, 1, 7, 1, -1, 0, 1};
  hid_t t = H5Dget_type(d); /* the enum itself: the bytes as they are */
  CU_ASSERT(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  H5Tclose(t);
  H5Dclose(d);
}

typedef struct craft {
  const char *what;
  void (*fn)(hid_t f);
  const char *load; /* what is loaded */
  dt_err code;
  const char *says;
  bool list_fails; /* dt_list refuses the file too */
} craft;

static const craft crafts[] = {
    {"external raw storage", c_external_storage, "ext", DT_ERR_FORMAT,
     "outside the file", true},
    {"external link to a FIFO", c_external_link, "ext", DT_ERR_FORMAT,
     "external link", true},
    {"soft link", c_soft_link, "ext", DT_ERR_FORMAT, "'ext'", true},
    {"dangling soft link", c_dangling, "ext", DT_ERR_FORMAT, "'ext'", true},
    {"virtual dataset", c_virtual, "ext", DT_ERR_FORMAT, "virtual", true},
    {"variable-length string", c_vlen, "w", DT_ERR_FORMAT, "variable-length",
     true},
    {"embedded NUL", c_nul, "w", DT_ERR_FORMAT, "embedded NUL", true},
    {"requires_grad changed", c_requires_grad, "w", DT_ERR_FORMAT,
     "metadata checksum", true},
    {"generator offset changed", c_rng, "w", DT_ERR_FORMAT,
     "metadata checksum", true},
    {"gradient removed", c_no_grad, "w", DT_ERR_FORMAT, "metadata checksum",
     true},
    {"2 KB file declaring 4 GB", c_huge, "ext", DT_ERR_FORMAT,
     "stores 0 bytes", true},
    {"bool bytes 7 and 255", c_bool_bytes, "flags", DT_ERR_FORMAT,
     "not 0 or 1", false},
};

static void t_crafted(void) {
  char base[600], file[600];
  path_of(base, "craft_base.h5");
  path_of(file, "craft.h5");
  path_of(g_fifo, "fifo");
  if (T_rank == 0) {
    unlink(g_fifo);
    CU_ASSERT(mkfifo(g_fifo, 0600) == 0);
  }
  save_base(base, NULL);
  long n = 0;
  unsigned char *b = T_rank == 0 ? read_all(base, &n) : NULL;
  H5E_auto2_t fn;
  void *data;
  H5Eget_auto2(H5E_DEFAULT, &fn, &data);
  for (size_t i = 0; i < sizeof crafts / sizeof crafts[0]; i++) {
    const craft *c = &crafts[i];
    if (T_rank == 0) {
      write_all(file, b, n);
      H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
      hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
      c->fn(f);
      CU_ASSERT(H5Fclose(f) >= 0);
      H5Eset_auto2(H5E_DEFAULT, fn, data);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    dt_tensor *x = NULL;
    dt_err e = dt_load(T_ctx, file, c->load, NULL, &x);
    bool says = strstr(dt_last_error(), c->says) != NULL;
    CU_ASSERT_EQUAL(e, c->code);
    CU_ASSERT(says);
    if (e != c->code || !says)
      fprintf(stderr, "[rank %d] crafted '%s': %s: %s\n", T_rank, c->what,
              dt_err_name(e), dt_last_error());
    CU_ASSERT(same_everywhere(e));
    CU_ASSERT_PTR_NULL(x);
    dt_tensor_destroy(&x);
    int k = 0;
    dt_file_entry *ent = NULL;
    e = dt_list(T_ctx, file, &k, &ent);
    CU_ASSERT_EQUAL(e, c->list_fails ? c->code : DT_OK);
    free(ent);
  }
  /* A 63-character layout (the longest the format allows) is read back. */
  if (T_rank == 0) {
    write_all(file, b, n);
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "flags", H5P_DEFAULT);
    char l63[64];
    memset(l63, 'x', 63);
    l63[63] = '\0';
    put_str_attr(d, "layout", l63, 64, false);
    H5Dclose(d);
    reseal(f, "flags", NULL);
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int k = 0;
  dt_file_entry *ent = NULL;
  T_OK(dt_list(T_ctx, file, &k, &ent));
  CU_ASSERT(k == 2 && ent && strlen(ent[0].layout) == 63);
  free(ent);
  /* A FIFO or a directory given as the checkpoint: refused at once. */
  dt_tensor *x = NULL;
  T_ERR(dt_load(T_ctx, g_fifo, "w", NULL, &x), DT_ERR_IO);
  CU_ASSERT(strstr(dt_last_error(), "FIFO") != NULL);
  T_ERR(dt_load_rng_state(T_ctx, g_dir), DT_ERR_IO);
  CU_ASSERT(strstr(dt_last_error(), "directory") != NULL);
  free(b);
}

/* ---- 9-10. identical bytes, leftovers, unwritable targets ---------------- */

static void t_identical_and_leftovers(void) {
  char f1[600], f2[600], stale[700], live[700];
  path_of(f1, "same1.h5");
  path_of(f2, "same2.h5");
  save_base(f1, NULL);
  save_base(f2, NULL);
  if (T_rank == 0) {
    long n1 = 0, n2 = 0;
    unsigned char *a = read_all(f1, &n1), *b = read_all(f2, &n2);
    CU_ASSERT(n1 > 0 && n1 == n2 && a && b && memcmp(a, b, (size_t)n1) == 0);
    free(a);
    free(b);
  }
  /* Temporaries of killed saves (a process that no longer exists) go with
   * the next successful save; one of a running process stays. */
  snprintf(stale, sizeof stale, "%s/.same1.h5.tmp.%lx.1", g_dir, 0x7ffffff0ul);
  snprintf(live, sizeof live, "%s/.same1.h5.tmp.%lx.2", g_dir,
           (unsigned long)getpid());
  if (T_rank == 0) {
    write_all(stale, (const unsigned char *)"x", 1);
    write_all(live, (const unsigned char *)"x", 1);
  }
  CU_ASSERT_EQUAL(temps_left(), 2);
  save_base(f1, NULL);
  if (T_rank == 0) {
    CU_ASSERT(access(stale, F_OK) != 0);
    CU_ASSERT(access(live, F_OK) == 0);
    unlink(live);
  }
  CU_ASSERT_EQUAL(temps_left(), 0);
  /* A target that cannot be created (a read-only place even for root). */
  const char *name = "w";
  const int64_t s = 3;
  dt_tensor *a = NULL;
  T_OK(dt_zeros(T_ctx, 1, &s, NULL, &a));
  T_ERR(dt_save(T_ctx, "/proc/dtensor-ck.h5", 1, &name,
                (const dt_tensor *const *)&a, NULL),
        DT_ERR_IO);
  dt_tensor_destroy(&a);
}

static const dt_test_case cases[] = {
    {"every metadata byte and random mutations", t_every_metadata_byte},
    {"file size limit at every stage of a save", t_disk_full},
    {"injected failures of each system call", t_injected_faults},
    {"crafted files", t_crafted},
    {"identical bytes, leftover temporaries", t_identical_and_leftovers},
    {NULL, NULL}};

int main(int argc, char **argv) {
  /* DT_TEST_ONLY=k runs case k alone (debugging). */
  const char *only = getenv("DT_TEST_ONLY");
  if (only) {
    static dt_test_case one[2];
    one[0] = cases[atoi(only)];
    return dt_test_main(argc, argv, "io_hard", one);
  }
  return dt_test_main(argc, argv, "io_hard", cases);
}
