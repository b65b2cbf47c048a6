/*
 * test_io_dataset - dt_load_dataset at 1..4 ranks on files h5py wrote
 * (tests/io_dataset_files.py, run first as a fixture): contiguous,
 * chunked, gzip + shuffle + fletcher32, big-endian float64 and int32,
 * widened small integers, bool, 0-d, empty and 3-D datasets, each loaded
 * split on axis 0 and 1, replicated and on a 2-D grid, and compared exactly
 * with the values the script's formulas give; then every refusal: element
 * types, a null dataspace, a filter this HDF5 lacks (h5py's lzf), unwritten
 * contiguous storage and chunks, a short unfiltered chunk, a chunk
 * declaring 400000 times its bytes, soft and external links, a bool byte 2,
 * bad names and arguments.
 */
#include "dt_test.h"
#include "internal.h" /* dt__fault_arm: the fault sweeps */

#include <stdio.h>
#include <stdlib.h>

static char g_file[600];

static const char *file(void) {
  if (!g_file[0]) {
    const char *d = getenv("DT_TEST_DATASET_DIR");
    snprintf(g_file, sizeof g_file, "%s/plain.h5", d ? d : "io-dataset");
  }
  return g_file;
}

/* The script's formulas, at flat index i. */
static double fval(int64_t i) { return (double)((i * 37) % 1001) * 0.5 - 250; }
static int64_t ival(int64_t i) { return ((i * 7919) % 65536) - 32768; }
static int64_t lval(int64_t i) { return i * 1000003 - 5000000000LL; }

static int64_t expect(const char *name, int64_t i) {
  if (!strcmp(name, "gzip_i64"))
    return lval(i);
  if (!strcmp(name, "be_i32"))
    return ival(i);
  if (!strcmp(name, "u16"))
    return ival(i) + 32768;
  if (!strcmp(name, "i8"))
    return (i % 256) - 128;
  if (!strcmp(name, "u32"))
    return 4000000000LL - i;
  if (!strcmp(name, "bool"))
    return i % 3 == 0;
  return 0;
}

/* The layouts every dataset is loaded in; false when it does not apply
 * (a split axis beyond the rank). */
static bool layout(int k, int ndim, dt_opts *o) {
  *o = (dt_opts){0};
  switch (k) {
  case 0:
    o->layout = DT_SPLIT;
    return true;
  case 1:
    o->layout = DT_SPLIT;
    o->split_axis = 1;
    return ndim >= 2;
  case 2:
    o->layout = DT_REPLICATED;
    return true;
  default:
    o->layout = DT_GRID;
    for (int d = 0; d < ndim; d++)
      o->grid[d] = 1;
    if (ndim < 2)
      return false;
    o->grid[0] = T_size == 4 ? 2 : T_size;
    o->grid[1] = T_size == 4 ? 2 : 1;
    return true;
  }
}

/* Load `name` in every layout and compare every element with the formula. */
static void check(const char *name, dt_dtype want, int ndim,
                  const int64_t *shape) {
  for (int k = 0; k < 4; k++) {
    dt_opts o;
    if (!layout(k, ndim, &o))
      continue;
    dt_tensor *t = NULL;
    T_OK(dt_load_dataset(T_ctx, file(), name, &o, &t));
    if (!t)
      continue;
    CU_ASSERT_EQUAL(dt_dtype_of(t), want);
    CU_ASSERT_EQUAL(dt_ndim(t), ndim);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
      CU_ASSERT_EQUAL(dt_shape(t)[d], shape[d]);
      n *= shape[d];
    }
    void *all = dt_test_gather_all(t);
    CU_ASSERT_PTR_NOT_NULL(all);
    int bad = 0;
    for (int64_t i = 0; all && i < n; i++) {
      switch (want) {
      case DT_FLOAT64:
        bad += ((double *)all)[i] != fval(i);
        break;
      case DT_FLOAT32:
        bad += ((float *)all)[i] != (float)fval(i);
        break;
      case DT_INT32:
        bad += ((int32_t *)all)[i] != expect(name, i);
        break;
      case DT_INT64:
        bad += ((int64_t *)all)[i] != expect(name, i);
        break;
      default:
        bad += ((unsigned char *)all)[i] != expect(name, i);
        break;
      }
    }
    if (bad)
      fprintf(stderr, "[rank %d] %s layout %d: %d wrong elements\n", T_rank,
              name, k, bad);
    CU_ASSERT_EQUAL(bad, 0);
    free(all);
    dt_tensor_destroy(&t);
  }
}

static const int64_t S2[] = {13, 7};

static void test_storage(void) {
  check("contig_f64", DT_FLOAT64, 2, S2);
  check("/contig_f64", DT_FLOAT64, 2, S2);
  check("chunk_f32", DT_FLOAT32, 2, S2);
  check("gzip_i64", DT_INT64, 2, S2);
  check("w@grad", DT_FLOAT64, 2, S2);
  const int64_t cube[] = {5, 4, 3};
  check("g/cube", DT_FLOAT64, 3, cube);
}

static void test_types(void) {
  check("be_f64", DT_FLOAT64, 2, S2);
  check("be_i32", DT_INT32, 2, S2);
  check("u16", DT_INT32, 2, S2);
  check("i8", DT_INT32, 2, S2);
  check("u32", DT_INT64, 2, S2);
  check("bool", DT_BOOL, 2, S2);
}

static void test_scalar_empty(void) {
  dt_tensor *t = NULL;
  for (int k = 0; k < 3; k += 2) {
    dt_opts o = {0}; /* the default layout, then replicated */
    if (k)
      layout(k, 0, &o);
    T_OK(dt_load_dataset(T_ctx, file(), "scalar", &o, &t));
    double v = 0;
    if (t) {
      CU_ASSERT_EQUAL(dt_ndim(t), 0);
      T_OK(dt_gather(t, DT_ALL_RANKS, &v));
    }
    CU_ASSERT_EQUAL(v, 2.5);
    dt_tensor_destroy(&t);
  }
  T_OK(dt_load_dataset(T_ctx, file(), "scalar_i", NULL, &t));
  int32_t iv = 0;
  if (t)
    T_OK(dt_gather(t, DT_ALL_RANKS, &iv));
  CU_ASSERT_EQUAL(iv, -7);
  dt_tensor_destroy(&t);
  const int64_t e[] = {0, 5};
  check("empty", DT_FLOAT32, 2, e);
  /* requires_grad and an explicit matching dtype are honoured. */
  T_OK(dt_load_dataset(
      T_ctx, file(), "chunk_f32",
      &(dt_opts){.dtype = DT_FLOAT32, .requires_grad = true}, &t));
  CU_ASSERT(t && dt_requires_grad(t));
  dt_tensor_destroy(&t);
}

/* The call fails with `code` on every rank, *out stays NULL, and the
 * message names dt_load_dataset and contains `frag`. */
static void refused(const char *name, const dt_opts *o, dt_err code,
                    const char *frag) {
  dt_tensor *t = (dt_tensor *)&t;
  dt_err e = dt_load_dataset(T_ctx, file(), name, o, &t);
  T_ERR(e, code);
  CU_ASSERT_PTR_NULL(t);
  const char *m = dt_last_error();
  bool ok = strstr(m, "dt_load_dataset") && strstr(m, frag);
  if (!ok)
    fprintf(stderr, "[rank %d] %s: message '%s' lacks '%s'\n", T_rank,
            name ? name : "(null)", m, frag);
  CU_ASSERT(ok);
  int codes[2] = {(int)e, -(int)e}, r[2];
  MPI_Allreduce(codes, r, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  CU_ASSERT_EQUAL(r[0], -r[1]);
}

static void test_refused(void) {
  refused("u64", NULL, DT_ERR_DTYPE, "uint64");
  refused("f16", NULL, DT_ERR_DTYPE, "float16");
  refused("str", NULL, DT_ERR_DTYPE, "string");
  refused("null", NULL, DT_ERR_FORMAT, "null dataspace");
  refused("lzf", NULL, DT_ERR_FORMAT, "filter 32000");
  refused("unwritten", NULL, DT_ERR_FORMAT, "needs 800");
  refused("huge", NULL, DT_ERR_FORMAT, "truncated or damaged");
  refused("huge_gz", NULL, DT_ERR_FORMAT, "chunk 1 of 16777216 is not stored");
  refused("partial_gz", NULL, DT_ERR_FORMAT, "chunk 1 of 10 is not stored");
  refused("short_chunk", NULL, DT_ERR_FORMAT,
          "chunk 0 of 2 does not hold a whole chunk");
  refused("bomb_gz", NULL, DT_ERR_FORMAT, "only 20 compressed bytes");
  refused("soft", NULL, DT_ERR_FORMAT, "soft link");
  refused("ext", NULL, DT_ERR_FORMAT, "external link");
  refused("badbool", NULL, DT_ERR_FORMAT, "the byte 2");
  refused("nothing", NULL, DT_ERR_ARG, "no dataset 'nothing'");
  refused("g", NULL, DT_ERR_ARG, "is a group");
  refused("", NULL, DT_ERR_ARG, "empty");
  refused("g//cube", NULL, DT_ERR_ARG, "empty component");
  refused("g/../x", NULL, DT_ERR_ARG, "'..'");
  refused(NULL, NULL, DT_ERR_NULL, "NULL");
  refused("contig_f64", &(dt_opts){.dtype = DT_FLOAT32}, DT_ERR_DTYPE,
          "loads as float64");
  refused("gzip_i64", &(dt_opts){.requires_grad = true}, DT_ERR_AUTOGRAD, "require gradients");
  dt_tensor *t = NULL;
  T_ERR(dt_load_dataset(T_ctx, "/nonexistent/x.h5", "x", NULL, &t), DT_ERR_IO);
  CU_ASSERT_PTR_NULL(t);
  /* Arguments that differ between ranks. */
  T_ERR(dt_load_dataset(T_ctx, file(), T_rank ? "be_f64" : "contig_f64", NULL,
                        &t),
        T_size > 1 ? DT_ERR_MISMATCH : DT_OK);
  dt_tensor_destroy(&t);
}

static const dt_dataset_info *find(const dt_dataset_info *d, int n,
                                   const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(d[i].name, name))
      return &d[i];
  return NULL;
}

/* dt_list_datasets: every dataset and link of the h5py file, the same on
 * every rank; a checkpoint's tensors are marked. */
static void test_list(void) {
  int n = 0;
  dt_dataset_info *d = NULL;
  bool ck = true;
  T_OK(dt_list_datasets(T_ctx, file(), &n, &d, &ck));
  CU_ASSERT_EQUAL(n, 28);
  CU_ASSERT(!ck);
  const dt_dataset_info *e = find(d, n, "gzip_i64");
  CU_ASSERT(e && e->dtype == DT_INT64 && e->ndim == 2 && e->shape[0] == 13 &&
            e->shape[1] == 7 && e->chunked && e->chunk[0] == 5 &&
            e->chunk[1] == 2 && !strcmp(e->type, "int64LE") &&
            !strcmp(e->filters, "shuffle,deflate,fletcher32") &&
            !e->is_tensor);
  e = find(d, n, "be_f64");
  CU_ASSERT(e && e->dtype == DT_FLOAT64 && !e->chunked &&
            !strcmp(e->type, "float64BE") && !e->filters[0]);
  e = find(d, n, "lzf");
  CU_ASSERT(e && !strcmp(e->filters, "lzf(unavailable)"));
  e = find(d, n, "u64");
  CU_ASSERT(e && e->dtype == DT_DTYPE_DEFAULT);
  e = find(d, n, "scalar");
  CU_ASSERT(e && e->ndim == 0);
  e = find(d, n, "soft");
  CU_ASSERT(e && e->ndim == -1 && !strcmp(e->type, "soft link"));
  e = find(d, n, "g/cube");
  CU_ASSERT(e && e->ndim == 3);
  uint64_t h = 0;
  for (int i = 0; i < n; i++)
    h = h * 31 + (uint64_t)d[i].dtype + (uint64_t)strlen(d[i].name);
  uint64_t mx = h, mn = h;
  MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &mn, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  CU_ASSERT_EQUAL(mx, mn);
  free(d);
  /* A checkpoint: its tensors are marked, and it says so. */
  char ckp[700];
  /* one file per rank count: ctest runs np1..np4 side by side */
  snprintf(ckp, sizeof ckp, "%s.ck.np%d.h5", file(), T_size);
  dt_tensor *t = NULL;
  T_OK(dt_zeros(T_ctx, 1, (int64_t[]){5}, NULL, &t));
  T_OK(dt_save(T_ctx, ckp, 1, (const char *[]){"w"},
               (const dt_tensor *[]){t}, NULL));
  dt_tensor_destroy(&t);
  T_OK(dt_list_datasets(T_ctx, ckp, &n, &d, &ck));
  CU_ASSERT(n == 1 && ck && d && d[0].is_tensor && !strcmp(d[0].name, "w"));
  free(d);
  T_ERR(dt_list_datasets(T_ctx, "/nonexistent.h5", &n, &d, NULL), DT_ERR_IO);
  CU_ASSERT(n == 0 && d == NULL);
}

/* dt_load_with: skip_checksums loads an h5py-written checkpoint whose data
 * or metadata checksum is wrong; dt_load and the default refuse it. */
static void test_skip_checksums(void) {
  char p[700];
  const char *d = getenv("DT_TEST_DATASET_DIR");
  dt_tensor *t = NULL;
  for (int k = 0; k < 2; k++) {
    snprintf(p, sizeof p, "%s/%s", d ? d : "io-dataset",
             k ? "ck_meta.h5" : "ck_data.h5");
    dt_err want = k ? DT_ERR_FORMAT : DT_ERR_CHECKSUM;
    T_ERR(dt_load(T_ctx, p, "w", NULL, &t), want);
    CU_ASSERT(strstr(dt_last_error(), k ? "metadata checksum" : "checksum") !=
              NULL);
    T_ERR(dt_load_with(T_ctx, p, "w", NULL, &(dt_load_opts){0}, &t), want);
    CU_ASSERT(strstr(dt_last_error(), "dt_load_with") != NULL);
    CU_ASSERT_PTR_NULL(t);
    dt_opts o = {.layout = DT_SPLIT, .split_axis = 1};
    T_OK(dt_load_with(T_ctx, p, "w", &o,
                      &(dt_load_opts){.skip_checksums = true}, &t));
    double *all = t ? dt_test_gather_all(t) : NULL;
    int bad = 0;
    for (int64_t i = 0; all && i < 91; i++)
      bad += all[i] != (k == 0 && i == 3 * 7 + 4 ? 1234.5 : fval(i));
    CU_ASSERT(all && bad == 0);
    free(all);
    dt_tensor_destroy(&t);
  }
  /* Ranks that disagree on the option: refused everywhere. */
  if (T_size > 1) {
    T_ERR(dt_load_with(T_ctx, p, "w", NULL,
                       &(dt_load_opts){.skip_checksums = T_rank == 0}, &t),
          DT_ERR_MISMATCH);
    CU_ASSERT_PTR_NULL(t);
  }
}

/* One rank fails at the Nth agreement (a simulated MPI failure) or the
 * Nth library allocation of each call, for every N the call reaches: the
 * same error everywhere, nothing returned, nothing leaked; past the last
 * point the call succeeds. */
static void sweep(dt__fault_kind kind, int victim) {
  for (int call = 0; call < 2; call++) {
    long n = 1;
    for (;; n++) {
      if (T_rank == victim)
        dt__fault_arm(kind, n);
      dt_tensor *t = NULL;
      dt_dataset_info *d = NULL;
      int nd = 0;
      dt_opts o = {.layout = DT_GRID, .grid = {T_size, 1}};
      dt_err e = call == 0
                     ? dt_load_dataset(T_ctx, file(), "gzip_i64", &o, &t)
                     : dt_list_datasets(T_ctx, file(), &nd, &d, NULL);
      int fired = dt__fault_fired() > 0, any = 0;
      dt__fault_disarm();
      MPI_Allreduce(&fired, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      int codes[2] = {(int)e, -(int)e}, r[2];
      MPI_Allreduce(codes, r, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      CU_ASSERT_EQUAL(r[0], -r[1]);
      if (!any) {
        T_OK(e);
        dt_tensor_destroy(&t);
        free(d);
        break;
      }
      CU_ASSERT(e != DT_OK && t == NULL && d == NULL && nd == 0);
      dt_tensor_destroy(&t);
      free(d);
      long live = atomic_load(&T_ctx->live);
      CU_ASSERT_EQUAL(live, 0);
    }
    CU_ASSERT(kind == DT__FAULT_ALLOC || n > 1);
    if (getenv("DT_TEST_VERBOSE") && T_rank == 0)
      printf("  %s, victim %d: %ld %s points\n",
             call ? "dt_list_datasets" : "dt_load_dataset", victim, n - 1,
             kind == DT__FAULT_ALLOC ? "allocation" : "agreement");
  }
}

static void test_faults(void) {
  for (int k = 0; k < 2; k++) {
    dt__fault_kind kind = k ? DT__FAULT_ALLOC : DT__FAULT_AGREE;
    sweep(kind, T_size - 1);
    if (T_size > 1)
      sweep(kind, 0);
  }
}

static const dt_test_case cases[] = {
    {"faults at every agreement and allocation", test_faults},
    {"dt_load_with skip_checksums", test_skip_checksums},
    {"dt_list_datasets", test_list},
    {"storage: contiguous, chunked, gzip, 3-D", test_storage},
    {"types: big-endian, widened, bool", test_types},
    {"0-d and empty datasets", test_scalar_empty},
    {"refusals", test_refused},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "io_dataset", cases);
}
