/*
 * test_io_chunked - dt_save's chunked, deflated checkpoints at 1..4 ranks:
 * saved from every test layout (uneven, empty and strided shards, a
 * replicated tensor, a 2-D grid), the file lists chunked with the filters,
 * records the contiguous save's checksums, and loads bitwise equal at this
 * rank count in another layout and at 1 rank; a damaged compressed chunk
 * is DT_ERR_FORMAT or DT_ERR_CHECKSUM on every rank; bad options are
 * refused on every rank naming dt_save; an injected failure at each new
 * step and every allocation in turn leave the previous file intact and no
 * temporary behind.
 */
#include "dt_test.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IO_SCRATCH_NAME "test_io_chunked"
#define IO_SCRATCH_FRESH 1
#include "io_scratch.h"

enum { NT = 6 };
static const char *names[NT] = {"a", "model/b", "c", "t", "e", "s"};

/* Tensors in test layout k: float64 [37,29] (4-row chunks of 1 KiB),
 * int64 [5,7,40] (rows of 2240 bytes: chunks [1,3,40]), bool [301], the
 * transpose of a (strided shards), an empty [0,3] and a 0-d one. */
static void make(dt_ctx *ctx, int k, dt_tensor **t) {
  dt_test_cuts cuts;
  const char *lname;
  int64_t sa[2] = {37, 29}, sb[3] = {5, 7, 40}, sc[1] = {301}, se[2] = {0, 3};
  dt_opts oa = dt_test_layout(k, 2, sa, &cuts, &lname);
  oa.dtype = DT_FLOAT64;
  T_OK(dt_randn(ctx, 2, sa, &oa, &t[0]));
  dt_opts ob = dt_test_layout(k, 3, sb, &cuts, &lname);
  ob.dtype = DT_INT64;
  T_OK(dt_randint(ctx, -1000, 1000, 3, sb, &ob, &t[1]));
  dt_opts oc = dt_test_layout(k, 1, sc, &cuts, &lname);
  oc.dtype = DT_BOOL;
  T_OK(dt_randint(ctx, 0, 2, 1, sc, &oc, &t[2]));
  T_OK(dt_transpose(t[0], 0, 1, &t[3]));
  T_OK(dt_zeros(ctx, 2, se, &(dt_opts){.dtype = DT_FLOAT32}, &t[4]));
  T_OK(dt_randn(ctx, 0, NULL, NULL, &t[5]));
}

static void drop(dt_tensor **t) {
  for (int i = 0; i < NT; i++)
    dt_tensor_destroy(&t[i]);
}

static size_t bytes_of(const dt_tensor *t) {
  return (size_t)dt_numel(t) * dt_dtype_size(dt_dtype_of(t));
}

/* Load every tensor of `path` on ctx in layout k and compare it bitwise
 * with the gathered originals g[i]. */
static void load_same(dt_ctx *ctx, const char *path, int k, void **g,
                      dt_tensor **t) {
  for (int i = 0; i < NT; i++) {
    dt_test_cuts cuts;
    const char *lname;
    dt_opts o = dt_test_layout(k, dt_ndim(t[i]), dt_shape(t[i]), &cuts, &lname);
    if (dt_ndim(t[i]) == 0)
      o = (dt_opts){0};
    dt_tensor *l = NULL;
    T_OK(dt_load(ctx, path, names[i], &o, &l));
    void *h = l ? dt_test_gather_all(l) : NULL;
    CU_ASSERT(h != NULL || bytes_of(t[i]) == 0);
    CU_ASSERT(dt_test_same_bits(h, g[i], bytes_of(t[i])));
    free(h);
    dt_tensor_destroy(&l);
  }
}

static const dt_save_opts zopts = {.chunk_bytes = 1024, .deflate = 6,
                                   .shuffle = true};

static void t_roundtrip(void) {
  char pc[600], pz[600], pu[600];
  path_of(pc, "contig.h5");
  path_of(pz, "deflate.h5");
  path_of(pu, "chunked.h5");
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *t[NT] = {0};
    make(T_ctx, k, t);
    void *g[NT];
    for (int i = 0; i < NT; i++)
      g[i] = dt_test_gather_all(t[i]);
    const dt_tensor *const *ct = (const dt_tensor *const *)t;
    T_OK(dt_save(T_ctx, pc, NT, names, ct, NULL));
    T_OK(dt_save(T_ctx, pz, NT, names, ct, &zopts));
    T_OK(dt_save(T_ctx, pu, NT, names, ct,
                 &(dt_save_opts){.chunk_bytes = 2048}));
    /* the same checksums as the contiguous file */
    int nc = 0, nz = 0, nu = 0;
    dt_file_entry *ec = NULL, *ez = NULL, *eu = NULL;
    T_OK(dt_list(T_ctx, pc, &nc, &ec));
    T_OK(dt_list(T_ctx, pz, &nz, &ez));
    T_OK(dt_list(T_ctx, pu, &nu, &eu));
    CU_ASSERT(nc == NT && nz == NT && nu == NT);
    for (int i = 0; i < nc && i < nz && i < nu; i++) {
      CU_ASSERT_STRING_EQUAL(ec[i].name, ez[i].name);
      CU_ASSERT(ec[i].checksum == ez[i].checksum);
      CU_ASSERT(ec[i].checksum == eu[i].checksum);
    }
    free(ec);
    free(ez);
    free(eu);
    /* stored chunked, filtered as asked */
    int nd = 0;
    dt_dataset_info *di = NULL;
    T_OK(dt_list_datasets(T_ctx, pz, &nd, &di, NULL));
    int seen = 0;
    for (int i = 0; i < nd; i++) {
      if (strcmp(di[i].name, "a") == 0) {
        seen++;
        CU_ASSERT(di[i].chunked && di[i].chunk[0] == 4 && di[i].chunk[1] == 29);
        CU_ASSERT_STRING_EQUAL(di[i].filters, "shuffle,deflate");
      }
      if (strcmp(di[i].name, "model/b") == 0) {
        seen++;
        CU_ASSERT(di[i].chunked && di[i].chunk[0] == 1 && di[i].chunk[1] == 3 &&
                  di[i].chunk[2] == 40);
      }
      if (strcmp(di[i].name, "e") == 0 || strcmp(di[i].name, "s") == 0) {
        seen++;
        CU_ASSERT(!di[i].chunked); /* empty and 0-d: contiguous */
      }
    }
    CU_ASSERT_EQUAL(seen, 4);
    free(di);
    /* another layout here, and one rank */
    load_same(T_ctx, pz, (k + 1) % DT_TEST_NLAYOUTS, g, t);
    load_same(T_ctx, pu, (k + 3) % DT_TEST_NLAYOUTS, g, t);
    load_same(dt_test_self_ctx(), pz, 0, g, t);
    for (int i = 0; i < NT; i++)
      free(g[i]);
    drop(t);
  }
}

/* Saved at one rank (rank 0 alone), loaded here in every layout. */
static void t_from_one_rank(void) {
  char p[600];
  path_of(p, "one.h5");
  dt_tensor *t[NT] = {0};
  void *g[NT] = {0};
  if (T_rank == 0) {
    make(dt_test_self_ctx(), 0, t);
    for (int i = 0; i < NT; i++)
      g[i] = dt_test_gather_all(t[i]);
    T_OK(dt_save(dt_test_self_ctx(), p, NT, names,
                 (const dt_tensor *const *)t, &zopts));
  }
  /* every rank needs the originals' bytes and shapes */
  dt_tensor *w[NT] = {0};
  make(T_ctx, 0, w); /* same seed, same tensor at any rank count */
  for (int i = 0; i < NT; i++) {
    void *h = dt_test_gather_all(w[i]);
    if (T_rank == 0)
      CU_ASSERT(dt_test_same_bits(h, g[i], bytes_of(w[i])));
    free(g[i]);
    g[i] = h;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
    load_same(T_ctx, p, k, g, w);
  for (int i = 0; i < NT; i++)
    free(g[i]);
  drop(t);
  drop(w);
}

/* Rank 0 rewrites chunk 1 of dataset "a": flipped bytes (inflate fails)
 * or a valid stream of other values (the checksum fails). */
static void damage(const char *path, bool valid_stream) {
  if (T_rank == 0) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "a", H5P_DEFAULT);
    hsize_t off[2] = {4, 0}, size = 0;
    haddr_t addr = 0;
    unsigned mask = 0;
    herr_t rc = H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &size);
    H5Dclose(d);
    H5Fclose(f);
    CU_ASSERT(rc >= 0 && size > 16);
    int fd = open(path, O_WRONLY);
    CU_ASSERT(fd >= 0);
    if (valid_stream) {
      static char zeros[4 * 29 * 8];
      unsigned char z[1024];
      uLongf zl = sizeof z;
      CU_ASSERT(compress2(z, &zl, (const Bytef *)zeros, sizeof zeros, 6) ==
                Z_OK);
      CU_ASSERT(zl <= size);
      CU_ASSERT(pwrite(fd, z, zl, (off_t)addr) == (ssize_t)zl);
    } else {
      char junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
      CU_ASSERT(pwrite(fd, junk, 8, (off_t)(addr + size / 2)) == 8);
    }
    close(fd);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void t_damaged_chunk(void) {
  char p[600];
  path_of(p, "damaged.h5");
  for (int v = 0; v < 2; v++) {
    dt_tensor *t[NT] = {0};
    make(T_ctx, 0, t);
    T_OK(dt_save(T_ctx, p, NT, names, (const dt_tensor *const *)t, &zopts));
    damage(p, v == 1);
    dt_tensor *l = NULL;
    dt_err e = dt_load(T_ctx, p, "a", NULL, &l);
    CU_ASSERT(e == (v ? DT_ERR_CHECKSUM : DT_ERR_FORMAT));
    CU_ASSERT(same_everywhere(e));
    CU_ASSERT(l == NULL);
    e = dt_load(dt_test_self_ctx(), p, "a", NULL, &l);
    CU_ASSERT(e == (v ? DT_ERR_CHECKSUM : DT_ERR_FORMAT));
    /* the other tensors still load */
    T_OK(dt_load(T_ctx, p, "model/b", NULL, &l));
    dt_tensor_destroy(&l);
    drop(t);
  }
}

static void t_bad_options(void) {
  char p[600];
  path_of(p, "bad.h5");
  dt_tensor *t[NT] = {0};
  make(T_ctx, 0, t);
  const dt_save_opts bad[] = {{.deflate = 10},
                              {.deflate = -1},
                              {.chunk_bytes = 100},
                              {.chunk_bytes = ((size_t)1 << 30) + 1}};
  const char *word[] = {"deflate", "deflate", "chunk_bytes", "chunk_bytes"};
  for (int i = 0; i < 4; i++) {
    dt_err e = dt_save(T_ctx, p, NT, names, (const dt_tensor *const *)t,
                       &bad[i]);
    CU_ASSERT_EQUAL(e, DT_ERR_ARG);
    CU_ASSERT(same_everywhere(e));
    CU_ASSERT(strstr(dt_last_error(), "dt_save") != NULL);
    CU_ASSERT(strstr(dt_last_error(), word[i]) != NULL);
  }
  CU_ASSERT_EQUAL(access(p, F_OK), -1);
  CU_ASSERT_EQUAL(temps_left(), 0);
  /* options that differ between ranks */
  dt_save_opts o = {.deflate = T_rank == T_size - 1 ? 1 : 2};
  dt_err e = dt_save(T_ctx, p, NT, names, (const dt_tensor *const *)t, &o);
  CU_ASSERT_EQUAL(e, T_size > 1 ? DT_ERR_MISMATCH : DT_OK);
  CU_ASSERT(same_everywhere(e));
  drop(t);
}

/* The previous file is intact: "a" loads as `want` (gathered). */
static void intact(const char *p, const void *want, size_t n) {
  dt_tensor *l = NULL;
  T_OK(dt_load(T_ctx, p, "a", NULL, &l));
  void *h = l ? dt_test_gather_all(l) : NULL;
  CU_ASSERT(h && dt_test_same_bits(h, want, n));
  free(h);
  dt_tensor_destroy(&l);
  CU_ASSERT_EQUAL(temps_left(), 0);
}

static void t_faults(void) {
  char p[600];
  path_of(p, "faults.h5");
  dt_tensor *old[NT] = {0}, *t[NT] = {0};
  make(T_ctx, 1, old);
  make(T_ctx, 2, t); /* other values: the generator moved on */
  void *want = dt_test_gather_all(old[0]);
  size_t n = bytes_of(old[0]);
  T_OK(dt_save(T_ctx, p, NT, names, (const dt_tensor *const *)old, &zopts));
  const struct {
    const char *site;
    int rank;
  } sites[] = {{"save_chunk", T_size - 1}, {"save_chunk_write", 0}};
  for (int i = 0; i < 2; i++) {
    char r[16];
    snprintf(r, sizeof r, "%d", sites[i].rank);
    setenv("DT_FAULT", sites[i].site, 1);
    setenv("DT_FAULT_RANK", r, 1);
    dt_err e =
        dt_save(T_ctx, p, NT, names, (const dt_tensor *const *)t, &zopts);
    unsetenv("DT_FAULT");
    unsetenv("DT_FAULT_RANK");
    CU_ASSERT_EQUAL(e, DT_ERR_IO);
    CU_ASSERT(same_everywhere(e));
    CU_ASSERT(strstr(dt_last_error(), sites[i].site) != NULL);
    intact(p, want, n);
  }
  /* every allocation of the last rank in turn */
  int victim = T_size - 1;
  for (long nth = 1; nth < 400; nth++) {
    if (T_rank == victim)
      dt__fault_arm(DT__FAULT_ALLOC, nth);
    dt_err e =
        dt_save(T_ctx, p, NT, names, (const dt_tensor *const *)old, &zopts);
    int fired = T_rank == victim && dt__fault_fired() > 0;
    dt__fault_disarm();
    MPI_Allreduce(MPI_IN_PLACE, &fired, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    CU_ASSERT(same_everywhere(e));
    CU_ASSERT(fired ? e == DT_ERR_NOMEM : e == DT_OK);
    intact(p, want, n);
    if (!fired)
      break;
  }
  free(want);
  drop(old);
  drop(t);
}

int main(int argc, char **argv) {
  static const dt_test_case cases[] = {
      {"roundtrip in every layout", t_roundtrip},
      {"saved at one rank", t_from_one_rank},
      {"damaged compressed chunk", t_damaged_chunk},
      {"bad options", t_bad_options},
      {"injected failures", t_faults},
      {NULL, NULL}};
  return dt_test_main(argc, argv, "io_chunked", cases);
}
