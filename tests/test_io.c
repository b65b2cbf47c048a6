/*
 * test_io - checkpoints at 1..4 ranks: round trips between every pair of
 * save and load layouts, views, gradients, the generator state, listing,
 * atomic replacement under injected faults, a flipped data byte, crafted
 * invalid files (written with the raw HDF5 API on rank 0) for every
 * validation rule, and files that are missing, foreign or truncated.
 * Cross rank counts (save at P, load at Q) are driven by io_xrank.sh.
 */
#include "dt_test.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

extern size_t dt__io_piece_max;
extern int64_t dt__io_overlap_min;
extern int dt__hash_level;
extern bool dt__io_direct, dt__io_fused;
extern int64_t dt__io_sum_chunk;

static void flip_data_byte(const char *file, const char *name, int64_t at);

/* ---- scratch files ------------------------------------------------------- */

#define IO_SCRATCH_NAME "test_io"
#define IO_SCRATCH_FRESH 0
#include "io_scratch.h"

/* The same message on every rank (a collective failure is agreed; ranks
 * other than the failing one add " (on rank r)"). */
static bool same_message_everywhere(void) {
  uint64_t h = 1469598103934665603ull;
  const char *m = dt_last_error(), *on = strstr(m, " (on rank ");
  size_t len = on ? (size_t)(on - m) : strlen(m);
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)m[i]) * 1099511628211ull;
  uint64_t lo, hi;
  MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

/* Compare two tensors by their gathered bits, dtype and shape. */
static bool same_tensor(const dt_tensor *a, const dt_tensor *b) {
  if (!a || !b || dt_dtype_of(a) != dt_dtype_of(b) || dt_ndim(a) != dt_ndim(b))
    return false;
  for (int d = 0; d < dt_ndim(a); d++)
    if (dt_shape(a)[d] != dt_shape(b)[d])
      return false;
  size_t n = (size_t)dt_numel(a) * dt_dtype_size(dt_dtype_of(a));
  void *x = dt_test_gather_all(a), *y = dt_test_gather_all(b);
  bool ok = x && y && dt_test_same_bits(x, y, n);
  free(x);
  free(y);
  uint64_t ca = 0, cb = 1;
  dt_checksum(a, &ca);
  dt_checksum(b, &cb);
  return ok && ca == cb;
}

/* ---- round trips --------------------------------------------------------- */

enum { NRT = 7 };
static const char *const rt_names[NRT] = {
    "f32_3d", "f64_2d", "i32_1d", "i64_2d", "bool_2d", "scalar", "empty"};

/* Seven tensors of every dtype, made in layout family k where it applies. */
static void make_set(int k, dt_tensor **t, dt_test_cuts *cuts) {
  static const int64_t s3[3] = {7, 5, 3}, s2a[2] = {9, 4}, s1 = 13,
                       s2b[2] = {6, 7}, s2c[2] = {5, 8}, s0[2] = {0, 4};
  dt_opts o;
  T_OK(dt_manual_seed(T_ctx, 99));
  o = dt_test_layout(k, 3, s3, cuts, NULL);
  T_OK(dt_randn(T_ctx, 3, s3, &o, &t[0]));
  o = dt_test_layout(k, 2, s2a, cuts, NULL);
  o.dtype = DT_FLOAT64;
  T_OK(dt_rand(T_ctx, 2, s2a, &o, &t[1]));
  o = dt_test_layout(k, 1, &s1, cuts, NULL);
  o.dtype = DT_INT32;
  T_OK(dt_randint(T_ctx, -1000, 1000, 1, &s1, &o, &t[2]));
  o = dt_test_layout(k, 2, s2b, cuts, NULL);
  o.dtype = DT_INT64;
  T_OK(dt_randint(T_ctx, -5000000000, 5000000000, 2, s2b, &o, &t[3]));
  o = dt_test_layout(k, 2, s2c, cuts, NULL);
  o.dtype = DT_BOOL;
  T_OK(dt_randint(T_ctx, 0, 2, 2, s2c, &o, &t[4]));
  o = (dt_opts){.dtype = DT_FLOAT64};
  T_OK(dt_randn(T_ctx, 0, NULL, &o, &t[5]));
  o = dt_test_layout(k, 2, s0, cuts, NULL);
  T_OK(dt_zeros(T_ctx, 2, s0, &o, &t[6]));
}

/* Load `name` in every layout family and split on every axis; each must
 * equal `ref` bit for bit. */
static void load_everywhere(const char *file, const char *name,
                            const dt_tensor *ref) {
  int nd = dt_ndim(ref);
  for (int k = 0; k < DT_TEST_NLAYOUTS + DT_MAX_DIMS; k++) {
    dt_test_cuts cuts;
    dt_opts o;
    if (k < DT_TEST_NLAYOUTS) {
      if (nd == 0 && k != 0 && k != 2)
        continue; /* a 0-d tensor is replicated or nothing */
      o = dt_test_layout(k, nd, dt_shape(ref), &cuts, NULL);
    } else {
      if (k - DT_TEST_NLAYOUTS >= nd)
        continue;
      o = (dt_opts){.layout = DT_SPLIT, .split_axis = k - DT_TEST_NLAYOUTS};
    }
    dt_tensor *t = NULL;
    T_OK(dt_load(T_ctx, file, name, &o, &t));
    CU_ASSERT(same_tensor(t, ref));
    if (t && k == 2)
      CU_ASSERT_EQUAL(dt_layout_of(t, NULL, NULL), DT_REPLICATED);
    if (t && k == 3 && nd > 0 && T_size > 1 && T_rank == 0)
      CU_ASSERT_EQUAL(dt_local_numel(t), 0); /* the empty shard */
    dt_tensor_destroy(&t);
  }
}

static void t_roundtrip_every_layout(void) {
  char file[600];
  path_of(file, "rt.h5");
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *t[NRT] = {NULL};
    dt_test_cuts cuts;
    make_set(k, t, &cuts);
    T_OK(
        dt_save(T_ctx, file, NRT, rt_names, (const dt_tensor *const *)t, NULL));
    for (int i = 0; i < NRT; i++)
      load_everywhere(file, rt_names[i], t[i]);
    for (int i = 0; i < NRT; i++)
      dt_tensor_destroy(&t[i]);
  }
  CU_ASSERT_EQUAL(temps_left(), 0);
}

/* Views (strided shards), gradients, requires_grad, nested names. */
static void t_views_and_grads(void) {
  char file[600];
  path_of(file, "vg.h5");
  const int64_t s[2] = {8, 6}, s3[2] = {10, 3}, s4 = 4;
  dt_tensor *base = NULL, *tr = NULL, *v = NULL, *w = NULL, *g = NULL,
            *b = NULL, *rep = NULL;
  T_OK(dt_manual_seed(T_ctx, 5));
  T_OK(dt_randn(T_ctx, 2, s, NULL, &base));
  T_OK(dt_transpose(base, 0, 1, &tr));
  T_OK(dt_slice(tr, 1, 1, 8, 2, &v)); /* [6, 4], strided on every rank */
  T_OK(dt_randn(T_ctx, 2, s3, &(dt_opts){.requires_grad = true}, &w));
  T_OK(dt_rand(T_ctx, 2, s3, &(dt_opts){.layout = DT_REPLICATED}, &g));
  T_OK(dt_set_grad(w, g));
  T_OK(dt_zeros(T_ctx, 1, &s4, &(dt_opts){.requires_grad = true}, &b));
  /* A strided view of a replicated tensor: each rank writes its share. */
  dt_tensor *rbase = NULL;
  T_OK(dt_randn(T_ctx, 2, s, &(dt_opts){.layout = DT_REPLICATED}, &rbase));
  T_OK(dt_transpose(rbase, 0, 1, &rep));
  const char *names[4] = {"view", "model/layer.0/weight", "model/layer.0/bias",
                          "model/rep_t"};
  const dt_tensor *ts[4] = {v, w, b, rep};
  T_OK(dt_save(T_ctx, file, 4, names, ts, NULL));

  dt_tensor *x = NULL;
  T_OK(dt_load(T_ctx, file, "view", NULL, &x));
  CU_ASSERT(same_tensor(x, v));
  CU_ASSERT(x && dt_is_contiguous(x) && !dt_requires_grad(x) && !dt_grad(x));
  dt_tensor_destroy(&x);
  T_OK(dt_load(T_ctx, file, "model/rep_t", NULL, &x));
  CU_ASSERT(same_tensor(x, rep));
  dt_tensor_destroy(&x);
  dt_opts o = {.layout = DT_SPLIT, .split_axis = 1};
  T_OK(dt_load(T_ctx, file, "model/layer.0/weight", &o, &x));
  CU_ASSERT(same_tensor(x, w));
  CU_ASSERT(x && dt_requires_grad(x));
  CU_ASSERT(x && same_tensor(dt_grad(x), g));
  int ax = -1;
  CU_ASSERT(x && dt_grad(x) &&
            dt_layout_of(dt_grad(x), &ax, NULL) == DT_SPLIT && ax == 1);
  dt_tensor_destroy(&x);
  T_OK(dt_load(T_ctx, file, "model/layer.0/bias", NULL, &x));
  CU_ASSERT(x && dt_requires_grad(x) && !dt_grad(x));
  dt_tensor_destroy(&x);
  /* A group is not a tensor; a missing name is an argument error. */
  T_ERR(dt_load(T_ctx, file, "model", NULL, &x), DT_ERR_ARG);
  T_ERR(dt_load(T_ctx, file, "model/nothing", NULL, &x), DT_ERR_ARG);
  T_ERR(dt_load(T_ctx, file, "nothing/at/all", NULL, &x), DT_ERR_ARG);
  CU_ASSERT_PTR_NULL(x);
  /* Loading into another dtype is refused; requires_grad may be added. */
  T_ERR(dt_load(T_ctx, file, "view", &(dt_opts){.dtype = DT_FLOAT64}, &x),
        DT_ERR_DTYPE);
  T_OK(dt_load(T_ctx, file, "view", &(dt_opts){.requires_grad = true}, &x));
  CU_ASSERT(x && dt_requires_grad(x));
  dt_tensor_destroy(&x);

  /* skip_grads leaves the gradient out. */
  T_OK(dt_save(T_ctx, file, 1, &names[1], &ts[1],
               &(dt_save_opts){.skip_grads = true}));
  T_OK(dt_load(T_ctx, file, names[1], NULL, &x));
  CU_ASSERT(x && dt_requires_grad(x) && !dt_grad(x));
  dt_tensor_destroy(&x);

  dt_tensor *all[] = {base, tr, v, w, g, b, rbase, rep};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    dt_tensor_destroy(&all[i]);
}

static void t_list(void) {
  char file[600];
  path_of(file, "list.h5");
  const int64_t s[2] = {5, 3};
  dt_tensor *a = NULL, *b = NULL, *g = NULL;
  T_OK(dt_ones(T_ctx, 2, s, &(dt_opts){.requires_grad = true}, &a));
  T_OK(dt_ones(T_ctx, 2, s, NULL, &g));
  T_OK(dt_set_grad(a, g));
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(10), DT_I(1),
                 &(dt_opts){.layout = DT_REPLICATED}, &b));
  const char *names[2] = {"z/a", "b"};
  const dt_tensor *ts[2] = {a, b};
  T_OK(dt_save(T_ctx, file, 2, names, ts, NULL));
  int n = -1;
  dt_file_entry *e = NULL;
  T_OK(dt_list(T_ctx, file, &n, &e));
  CU_ASSERT_EQUAL(n, 2);
  if (n == 2 && e) {
    /* depth-first by name: "b" before "z/a" */
    char want[64];
    CU_ASSERT_STRING_EQUAL(e[0].name, "b");
    CU_ASSERT_EQUAL(e[0].dtype, DT_INT64);
    CU_ASSERT(e[0].ndim == 1 && e[0].shape[0] == 10);
    CU_ASSERT(!e[0].requires_grad && !e[0].has_grad);
    snprintf(want, sizeof want, "replicated ranks=%d", T_size);
    CU_ASSERT_STRING_EQUAL(e[0].layout, want);
    CU_ASSERT_STRING_EQUAL(e[1].name, "z/a");
    CU_ASSERT(e[1].ndim == 2 && e[1].shape[0] == 5 && e[1].shape[1] == 3);
    CU_ASSERT(e[1].requires_grad && e[1].has_grad);
    snprintf(want, sizeof want, "split axis=0 ranks=%d", T_size);
    CU_ASSERT_STRING_EQUAL(e[1].layout, want);
    uint64_t c = 0;
    T_OK(dt_checksum(a, &c));
    CU_ASSERT_EQUAL(e[1].checksum, c);
  }
  free(e);
  /* A file with no tensors lists as empty. */
  T_OK(dt_save(T_ctx, file, 0, NULL, NULL, NULL));
  T_OK(dt_list(T_ctx, file, &n, &e));
  CU_ASSERT(n == 0 && e == NULL);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&g);
}

/* Random tensors drawn after dt_load_rng_state equal an uninterrupted run's. */
static void t_rng_state(void) {
  char file[600];
  path_of(file, "rng.h5");
  const int64_t s[2] = {17, 3};
  dt_tensor *a = NULL, *b = NULL, *c = NULL;
  T_OK(dt_manual_seed(T_ctx, 2024));
  T_OK(dt_randn(T_ctx, 2, s, NULL, &a));
  const char *name = "a";
  T_OK(dt_save(T_ctx, file, 1, &name, (const dt_tensor *const *)&a, NULL));
  T_OK(dt_rand(T_ctx, 2, s, NULL, &b)); /* the uninterrupted run */
  uint64_t seed, off;
  T_OK(dt_rng_state(T_ctx, &seed, &off));
  T_OK(dt_manual_seed(T_ctx, 1)); /* "restart": some other state */
  T_OK(dt_load_rng_state(T_ctx, file));
  T_OK(dt_rand(T_ctx, 2, s, &(dt_opts){.layout = DT_SPLIT, .split_axis = 1},
               &c));
  CU_ASSERT(same_tensor(b, c));
  uint64_t seed2, off2;
  T_OK(dt_rng_state(T_ctx, &seed2, &off2));
  CU_ASSERT(seed == seed2 && off == off2);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&c);
}

/* Multi-piece transfers: tiny pieces and a tiny packing budget. */
static void t_pieces(void) {
  char file[600];
  path_of(file, "pieces.h5");
  size_t saved = dt__io_piece_max;
  T_OK(dt_ctx_set_chunk_budget(T_ctx, 4096));
  const int64_t s[3] = {5, 4, 3};
  dt_tensor *a = NULL, *t = NULL, *r = NULL;
  T_OK(dt_manual_seed(T_ctx, 3));
  T_OK(dt_randn(T_ctx, 3, s, &(dt_opts){.dtype = DT_FLOAT64}, &a));
  T_OK(dt_transpose(a, 0, 2, &t)); /* strided: packed piece by piece */
  T_OK(dt_randn(T_ctx, 3, s, &(dt_opts){.layout = DT_REPLICATED}, &r));
  const char *names[3] = {"a", "t", "r"};
  const dt_tensor *ts[3] = {a, t, r};
  /* One element per piece, then pieces that cut rows and whole rows. Each
   * piece is a collective call: a few layouts keep the count reasonable. */
  for (int lim = 0; lim < 3; lim++) {
    dt__io_piece_max = lim == 0 ? 8 : lim == 1 ? 100 : 300;
    T_OK(dt_save(T_ctx, file, 3, names, ts, NULL));
    for (int i = 0; i < 3; i++)
      for (int k = 0; k < 4; k++) {
        dt_test_cuts cuts;
        dt_opts o = k < 3
                        ? dt_test_layout(k + 1, 3, dt_shape(ts[i]), &cuts, NULL)
                        : (dt_opts){.layout = DT_SPLIT, .split_axis = 1};
        if (lim == 0 && k > 0)
          break;
        dt_tensor *x = NULL;
        T_OK(dt_load(T_ctx, file, names[i], &o, &x));
        CU_ASSERT(same_tensor(x, ts[i]));
        dt_tensor_destroy(&x);
      }
  }
  dt__io_piece_max = saved;
  dt_tensor_destroy(&t);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&r);
}

/* Tensors large enough that checksums are computed by other threads while
 * the data move, in many pieces: every layout, a gradient, a strided save,
 * and a damaged byte still caught. */
static void t_overlapped_checksums(void) {
  char file[600];
  path_of(file, "large.h5");
  size_t saved = dt__io_piece_max;
  int64_t saved_min = dt__io_overlap_min;
  dt__io_piece_max = (size_t)1 << 20; /* several pieces per rank */
  dt__io_overlap_min = 0;             /* threads at every rank count */
  const int64_t s[2] = {2000, 800};
  dt_tensor *a = NULL, *g = NULL, *r = NULL, *tr = NULL, *x = NULL;
  T_OK(dt_manual_seed(T_ctx, 12));
  T_OK(dt_randn(T_ctx, 2, s, &(dt_opts){.requires_grad = true}, &a));
  T_OK(dt_rand(T_ctx, 2, s, NULL, &g));
  T_OK(dt_set_grad(a, g));
  T_OK(dt_randint(T_ctx, 0, 1 << 30, 2, s,
                  &(dt_opts){.dtype = DT_INT64, .layout = DT_REPLICATED}, &r));
  T_OK(dt_transpose(r, 0, 1, &tr));
  const char *names[3] = {"a", "r", "tr"};
  const dt_tensor *ts[3] = {a, r, tr};
  /* Baseline, AVX2 and the best hashing loops give dt_checksum's bits. */
  for (int level = 1; level <= 3; level++) {
    dt__hash_level = level % 3;
    T_OK(dt_save(T_ctx, file, 3, names, ts, NULL));
    int n = 0;
    dt_file_entry *e = NULL;
    T_OK(dt_list(T_ctx, file, &n, &e));
    for (int i = 0; e && i < n && i < 3; i++) {
      uint64_t c = 0;
      T_OK(dt_checksum(ts[i], &c));
      CU_ASSERT_EQUAL(e[i].checksum, c); /* the overlapped sums are exact */
    }
    free(e);
  }
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 3; k++) {
      dt_opts o = k == 0   ? (dt_opts){0}
                  : k == 1 ? (dt_opts){.layout = DT_REPLICATED}
                           : (dt_opts){.layout = DT_SPLIT, .split_axis = 1};
      T_OK(dt_load(T_ctx, file, names[i], &o, &x));
      CU_ASSERT(same_tensor(x, ts[i]));
      if (i == 0)
        CU_ASSERT(x && same_tensor(dt_grad(x), g));
      dt_tensor_destroy(&x);
    }
  }
  flip_data_byte(file, "a@grad", 5000001);
  T_ERR(dt_load(T_ctx, file, "a", NULL, &x), DT_ERR_CHECKSUM);
  CU_ASSERT(strstr(dt_last_error(), "a@grad") != NULL);
  flip_data_byte(file, "r", 12345677);
  T_ERR(dt_load(T_ctx, file, "r", &(dt_opts){.layout = DT_REPLICATED}, &x),
        DT_ERR_CHECKSUM);
  CU_ASSERT_PTR_NULL(x);
  dt__io_piece_max = saved;
  dt__io_overlap_min = saved_min;
  dt_tensor *all[] = {a, g, r, tr};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    dt_tensor_destroy(&all[i]);
}

/* Every way a load reads and hashes: pread straight into the shard or
 * H5Dread (dt__io_direct), hashing by the reading thread as pieces land or
 * only afterwards (dt__io_fused), alone or beside hashing threads
 * (dt__io_overlap_min), with pieces and hash items of odd sizes that do not
 * line up (dt__io_piece_max, dt__io_sum_chunk). Split on axis 1, a's runs
 * in the file (5000 / P floats) are pread one by one, b's (shorter than
 * 4 KiB) gathered by H5Dread. Each load equals the saved tensor bit for
 * bit, and a damaged byte is caught on every path. */
static void t_read_paths(void) {
  char file[600];
  path_of(file, "paths.h5");
  size_t saved_max = dt__io_piece_max;
  int64_t saved_min = dt__io_overlap_min, saved_chunk = dt__io_sum_chunk;
  const int64_t sa[2] = {12, 5000}, sb[3] = {7, 11, 13};
  dt_tensor *a = NULL, *b = NULL, *c = NULL, *z = NULL, *x = NULL;
  T_OK(dt_manual_seed(T_ctx, 21));
  T_OK(dt_randn(T_ctx, 2, sa, NULL, &a));
  T_OK(dt_randint(T_ctx, -5000000000, 5000000000, 3, sb,
                  &(dt_opts){.dtype = DT_INT64, .layout = DT_REPLICATED}, &b));
  T_OK(dt_randint(T_ctx, 0, 2, 2, sa, &(dt_opts){.dtype = DT_BOOL}, &c));
  T_OK(dt_randn(T_ctx, 0, NULL, &(dt_opts){.dtype = DT_FLOAT64}, &z));
  const char *names[4] = {"a", "b", "c", "z"};
  const dt_tensor *ts[4] = {a, b, c, z};
  T_OK(dt_save(T_ctx, file, 4, names, ts, NULL));
  static const size_t pieces[3] = {(size_t)1 << 30, 12340, 333};
  for (int mode = 0; mode < 8; mode++) {
    dt__io_direct = !(mode & 1);
    dt__io_fused = !(mode & 2);
    dt__io_overlap_min = mode & 4 ? 0 : (int64_t)1 << 40;
    for (int pc = 0; pc < 3; pc++) {
      /* odd pieces on every path; default and tiny ones on a few */
      if ((pc == 0 && mode > 1) || (pc == 2 && mode != 0 && mode != 4))
        continue;
      dt__io_piece_max = pieces[pc];
      dt__io_sum_chunk = pc == 0 ? (int64_t)1 << 18 : pc == 1 ? 1001 : 77;
      for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
          dt_opts o = k == 0   ? (dt_opts){0}
                      : k == 1 ? (dt_opts){.layout = DT_REPLICATED}
                               : (dt_opts){.layout = DT_SPLIT, .split_axis = 1};
          if (i == 3 && k == 2)
            continue; /* a 0-d tensor has no axis 1 */
          if (pc == 2 && (i == 1 || k > 0))
            continue; /* 333-byte pieces: one layout of each but b */
          if (mode > 1 && k == 1 && i != 1)
            continue; /* replicated a, c: on the first two paths */
          T_OK(dt_load(T_ctx, file, names[i], &o, &x));
          CU_ASSERT(same_tensor(x, ts[i]));
          dt_tensor_destroy(&x);
        }
    }
  }
  flip_data_byte(file, "a", 4 * (3 * 5000 + 2999) + 1);
  flip_data_byte(file, "b", 8 * 1000 + 3);
  for (int mode = 0; mode < 8; mode++) {
    if (mode == 3 || mode > 4)
      continue;
    dt__io_direct = !(mode & 1);
    dt__io_fused = !(mode & 2);
    dt__io_overlap_min = mode & 4 ? 0 : (int64_t)1 << 40;
    dt__io_piece_max = mode & 1 ? 12340 : 4000;
    dt__io_sum_chunk = 1001;
    T_ERR(dt_load(T_ctx, file, "a", NULL, &x), DT_ERR_CHECKSUM);
    CU_ASSERT_PTR_NULL(x);
    T_ERR(dt_load(T_ctx, file, "a",
                  &(dt_opts){.layout = DT_SPLIT, .split_axis = 1}, &x),
          DT_ERR_CHECKSUM);
    T_ERR(dt_load(T_ctx, file, "b", &(dt_opts){.layout = DT_REPLICATED}, &x),
          DT_ERR_CHECKSUM);
    CU_ASSERT(strstr(dt_last_error(), "'b'") != NULL);
  }
  dt__io_direct = true;
  dt__io_fused = true;
  dt__io_piece_max = saved_max;
  dt__io_overlap_min = saved_min;
  dt__io_sum_chunk = saved_chunk;
  dt_tensor *all[] = {a, b, c, z};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    dt_tensor_destroy(&all[i]);
}

/* ---- atomic replacement -------------------------------------------------- */

static void t_overwrite_and_faults(void) {
  char file[600];
  path_of(file, "atomic.h5");
  const int64_t s[2] = {23, 4};
  dt_tensor *a = NULL, *b = NULL, *x = NULL;
  T_OK(dt_manual_seed(T_ctx, 11));
  T_OK(dt_randn(T_ctx, 2, s, NULL, &a));
  T_OK(dt_rand(T_ctx, 2, s, NULL, &b));
  const char *names[2] = {"w", "v"};
  const dt_tensor *ta[2] = {a, b}, *tb[2] = {b, a};
  T_OK(dt_save(T_ctx, file, 2, names, ta, NULL));
  T_OK(dt_save(T_ctx, file, 2, names, tb, NULL)); /* replaces it */
  T_OK(dt_load(T_ctx, file, "w", NULL, &x));
  CU_ASSERT(same_tensor(x, b));
  dt_tensor_destroy(&x);
  CU_ASSERT_EQUAL(temps_left(), 0);

  /* A failure on one rank, at each point: the same error everywhere, the
   * previous file intact, no temporary left. */
  static const char *const points[3] = {"write", "close", "rename"};
  for (int p = 0; p < 3; p++) {
    char r[16];
    snprintf(r, sizeof r, "%d", p == 2 ? 0 : T_size - 1);
    setenv("DT_FAULT_SAVE_RANK", r, 1);
    setenv("DT_FAULT_SAVE_POINT", points[p], 1);
    T_ERR(dt_save(T_ctx, file, 2, names, ta, NULL), DT_ERR_IO);
    CU_ASSERT(strstr(dt_last_error(), "injected") != NULL);
    CU_ASSERT(same_message_everywhere());
    unsetenv("DT_FAULT_SAVE_RANK");
    unsetenv("DT_FAULT_SAVE_POINT");
    CU_ASSERT_EQUAL(temps_left(), 0);
    T_OK(dt_load(T_ctx, file, "w", NULL, &x));
    CU_ASSERT(same_tensor(x, b));
    dt_tensor_destroy(&x);
  }
  /* A rank number nobody has: no fault. */
  setenv("DT_FAULT_SAVE_RANK", "99", 1);
  T_OK(dt_save(T_ctx, file, 2, names, ta, NULL));
  unsetenv("DT_FAULT_SAVE_RANK");
  T_OK(dt_load(T_ctx, file, "w", NULL, &x));
  CU_ASSERT(same_tensor(x, a));
  dt_tensor_destroy(&x);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
}

static void t_bad_save_args(void) {
  char file[600], dir[600];
  path_of(file, "args.h5");
  path_of(dir, "");
  const int64_t s = 6;
  dt_tensor *a = NULL, *other = NULL;
  T_OK(dt_zeros(T_ctx, 1, &s, NULL, &a));
  const dt_tensor *t2[2] = {a, a};
  static const char *const bad[] = {
      "", "a//b", "/a", "a/", ".", "a/../b", "a@grad", "a b", "tab\t", "x/./y"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    T_ERR(dt_save(T_ctx, file, 1, &bad[i], t2, NULL), DT_ERR_ARG);
    dt_tensor *x = NULL;
    T_ERR(dt_load(T_ctx, file, bad[i], NULL, &x), DT_ERR_ARG);
  }
  char longname[DT_NAME_MAX + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[DT_NAME_MAX + 1] = '\0';
  const char *ln = longname;
  T_ERR(dt_save(T_ctx, file, 1, &ln, t2, NULL), DT_ERR_ARG);
  longname[DT_NAME_MAX] = '\0'; /* exactly the maximum is fine */
  T_OK(dt_save(T_ctx, file, 1, &ln, t2, NULL));
  const char *dup[2] = {"a", "a"}, *pre[2] = {"a", "a/b"},
             *fine[2] = {"a", "ab/c"};
  T_ERR(dt_save(T_ctx, file, 2, dup, t2, NULL), DT_ERR_ARG);
  T_ERR(dt_save(T_ctx, file, 2, pre, t2, NULL), DT_ERR_ARG);
  T_OK(dt_save(T_ctx, file, 2, fine, t2, NULL));
  const dt_tensor *tn[1] = {NULL};
  T_ERR(dt_save(T_ctx, file, 1, dup, tn, NULL), DT_ERR_NULL);
  T_ERR(dt_save(T_ctx, NULL, 1, dup, t2, NULL), DT_ERR_NULL);
  T_ERR(dt_save(T_ctx, file, -1, dup, t2, NULL), DT_ERR_ARG);
  T_ERR(dt_save(T_ctx, file, 1, dup, t2, &(dt_save_opts){.alignment = 3000}),
        DT_ERR_ARG);
  T_OK(dt_save(T_ctx, file, 1, dup, t2, &(dt_save_opts){.alignment = 4096}));
  T_ERR(dt_save(NULL, file, 1, dup, t2, NULL), DT_ERR_NULL);
  /* A tensor of another context. */
  T_OK(dt_zeros(dt_test_self_ctx(), 1, &s, NULL, &other));
  const dt_tensor *to[1] = {other};
  T_ERR(dt_save(T_ctx, file, 1, dup, to, NULL), DT_ERR_CONTEXT);
  /* Names that differ between ranks. */
  if (T_size > 1) {
    const char *mine = T_rank == 0 ? "a" : "b";
    T_ERR(dt_save(T_ctx, file, 1, &mine, t2, NULL), DT_ERR_MISMATCH);
  }
  /* Paths: a directory, a directory-like name, a missing directory. */
  T_ERR(dt_save(T_ctx, dir, 1, dup, t2, NULL), DT_ERR_ARG);
  dir[strlen(dir) - 1] = '\0';
  T_ERR(dt_save(T_ctx, dir, 1, dup, t2, NULL), DT_ERR_IO);
  char nodir[600];
  path_of(nodir, "no/such/dir/f.h5");
  T_ERR(dt_save(T_ctx, nodir, 1, dup, t2, NULL), DT_ERR_IO);
  CU_ASSERT(same_message_everywhere());
  CU_ASSERT_EQUAL(temps_left(), 0);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&other);
}

/* ---- damaged and invalid files ------------------------------------------- */

/* Rank 0 copies src to dst. */
static void copy_file(const char *src, const char *dst) {
  if (T_rank != 0)
    return;
  FILE *i = fopen(src, "rb"), *o = fopen(dst, "wb");
  char buf[65536];
  size_t n;
  while (i && o && (n = fread(buf, 1, sizeof buf, i)) > 0)
    fwrite(buf, 1, n, o);
  if (i)
    fclose(i);
  if (o)
    fclose(o);
}

/* Rank 0: flip one byte at `at` bytes into dataset `name`'s data. */
static void flip_data_byte(const char *file, const char *name, int64_t at) {
  if (T_rank == 0) {
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    haddr_t off = H5Dget_offset(d);
    H5Dclose(d);
    H5Fclose(f);
    CU_ASSERT(off != HADDR_UNDEF);
    int fd = open(file, O_RDWR);
    unsigned char c = 0;
    CU_ASSERT(pread(fd, &c, 1, (off_t)(off + (haddr_t)at)) == 1);
    c ^= 0x10;
    CU_ASSERT(pwrite(fd, &c, 1, (off_t)(off + (haddr_t)at)) == 1);
    close(fd);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void t_flipped_byte(void) {
  char file[600];
  path_of(file, "flip.h5");
  const int64_t s[2] = {64, 8};
  dt_tensor *a = NULL, *g = NULL, *x = NULL;
  T_OK(dt_manual_seed(T_ctx, 8));
  T_OK(dt_randn(T_ctx, 2, s, &(dt_opts){.requires_grad = true}, &a));
  T_OK(dt_randn(T_ctx, 2, s, NULL, &g));
  T_OK(dt_set_grad(a, g));
  const char *name = "w";
  T_OK(dt_save(T_ctx, file, 1, &name, (const dt_tensor *const *)&a, NULL));
  T_OK(dt_load(T_ctx, file, "w", NULL, &x));
  dt_tensor_destroy(&x);
  flip_data_byte(file, "w@grad", 1001);
  T_ERR(dt_load(T_ctx, file, "w", NULL, &x), DT_ERR_CHECKSUM);
  CU_ASSERT(strstr(dt_last_error(), "w@grad") != NULL);
  CU_ASSERT(same_message_everywhere());
  CU_ASSERT_PTR_NULL(x);
  T_OK(dt_save(T_ctx, file, 1, &name, (const dt_tensor *const *)&a, NULL));
  flip_data_byte(file, "w", 517);
  T_ERR(dt_load(T_ctx, file, "w", &(dt_opts){.layout = DT_REPLICATED}, &x),
        DT_ERR_CHECKSUM);
  CU_ASSERT(same_message_everywhere());
  CU_ASSERT_PTR_NULL(x);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&g);
}

/* Raw attribute writers for crafting (rank 0, serial HDF5). */
static void del_attr(hid_t o, const char *n) {
  if (H5Aexists(o, n) > 0)
    H5Adelete(o, n);
}

static void put_attr(hid_t o, const char *n, hid_t ftype, hid_t mtype, int cnt,
                     const void *v) {
  del_attr(o, n);
  hsize_t dim = (hsize_t)cnt;
  hid_t sp = cnt < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
  hid_t a = H5Acreate2(o, n, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
  CU_ASSERT(a >= 0 && H5Awrite(a, mtype, v) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
}

static void put_str(hid_t o, const char *n, const char *v) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(v) + 1);
  put_attr(o, n, t, t, -1, v);
  H5Tclose(t);
}

static void put_i64(hid_t o, const char *n, int64_t v) {
  put_attr(o, n, H5T_STD_I64LE, H5T_NATIVE_INT64, -1, &v);
}

typedef struct craft {
  const char *what;
  void (*fn)(hid_t file, hid_t dset);
  dt_err code;
  const char *says; /* a fragment of the message */
} craft;

static void c_ndim9(hid_t f, hid_t d) {
  (void)f;
  put_i64(d, "ndim", 9);
}
static void c_ndim9_space(hid_t f, hid_t d) {
  (void)d;
  hsize_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 4, 5};
  hid_t sp = H5Screate_simple(9, dims, NULL);
  hid_t n = H5Dcreate2(f, "nine", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT,
                       H5P_DEFAULT, H5P_DEFAULT);
  /* attributes of a valid 2-d tensor on a 9-d dataset, ndim 9 */
  put_str(n, "dtensor_format", "dtensor-checkpoint");
  put_i64(n, "dtensor_version", 2);
  put_str(n, "dtype", "float32");
  put_i64(n, "ndim", 9);
  int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 4, 5};
  put_attr(n, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 9, shape);
  H5Dclose(n);
  H5Sclose(sp);
}
static void c_overflow(hid_t f, hid_t d) {
  (void)f;
  int64_t shape[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
  put_attr(d, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, shape);
}
static void c_bytes_overflow(hid_t f, hid_t d) {
  (void)f;
  int64_t shape[2] = {(int64_t)1 << 31, (int64_t)1 << 31}; /* 2^62 x 4 B */
  put_attr(d, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, shape);
}
static void c_negative(hid_t f, hid_t d) {
  (void)f;
  int64_t shape[2] = {4, -5};
  put_attr(d, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, shape);
}
static void c_dtype(hid_t f, hid_t d) {
  (void)f;
  put_str(d, "dtype", "float16");
}
static void c_shape_mismatch(hid_t f, hid_t d) {
  (void)f;
  int64_t shape[2] = {4, 6};
  put_attr(d, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, shape);
}
static void c_shape_len(hid_t f, hid_t d) {
  (void)f;
  int64_t shape[3] = {4, 5, 1};
  put_attr(d, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 3, shape);
}
static void c_type_mismatch(hid_t f, hid_t d) {
  (void)f;
  put_str(d, "dtype", "int32");
}
static void c_no_checksum(hid_t f, hid_t d) {
  (void)f;
  del_attr(d, "checksum");
}
static void c_no_layout(hid_t f, hid_t d) {
  (void)f;
  del_attr(d, "layout");
}
static void c_format(hid_t f, hid_t d) {
  (void)f;
  put_str(d, "dtensor_format", "pytorch-zip");
}
static void c_version(hid_t f, hid_t d) {
  (void)f;
  put_i64(d, "dtensor_version", 3);
}
static void c_shape_float(hid_t f, hid_t d) {
  (void)f;
  double shape[2] = {4, 5};
  put_attr(d, "shape", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, shape);
}
static void c_dtype_int(hid_t f, hid_t d) {
  (void)f;
  put_i64(d, "dtype", 7);
}
static void c_checksum_signed(hid_t f, hid_t d) {
  (void)f;
  put_i64(d, "checksum", 7);
}
static void c_grad_flag(hid_t f, hid_t d) {
  (void)f;
  put_i64(d, "requires_grad", 5);
}
static void c_root_format(hid_t f, hid_t d) {
  (void)d;
  del_attr(f, "dtensor_format");
}
static void c_root_rng(hid_t f, hid_t d) {
  (void)d;
  put_str(f, "rng_seed", "seven");
}
static void c_grad_shape(hid_t f, hid_t d) {
  (void)d;
  /* A gradient whose shape differs from its tensor's. */
  hsize_t dims[2] = {5, 4};
  hid_t sp = H5Screate_simple(2, dims, NULL);
  hid_t g = H5Dcreate2(f, "x@grad", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT,
                       H5P_DEFAULT, H5P_DEFAULT);
  float zero[20] = {0};
  H5Dwrite(g, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zero);
  put_str(g, "dtensor_format", "dtensor-checkpoint");
  put_i64(g, "dtensor_version", 2);
  put_str(g, "dtype", "float32");
  put_i64(g, "ndim", 2);
  int64_t shape[2] = {5, 4};
  put_attr(g, "shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, shape);
  put_str(g, "layout", "split axis=0 ranks=1");
  put_i64(g, "requires_grad", 0);
  uint64_t c = 0;
  put_attr(g, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, -1, &c);
  put_attr(g, "meta_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, -1, &c);
  H5Dclose(g);
  H5Sclose(sp);
}

static const craft crafts[] = {
    {"ndim above the maximum", c_ndim9, DT_ERR_FORMAT, "DT_MAX_DIMS"},
    {"9-d dataset", c_ndim9_space, DT_ERR_FORMAT, "DT_MAX_DIMS"},
    {"element count overflows", c_overflow, DT_ERR_FORMAT, "overflows"},
    {"byte size overflows", c_bytes_overflow, DT_ERR_FORMAT, "overflows"},
    {"negative size", c_negative, DT_ERR_FORMAT, "negative"},
    {"unknown dtype", c_dtype, DT_ERR_FORMAT, "float16"},
    {"extent differs from shape", c_shape_mismatch, DT_ERR_FORMAT, "disagrees"},
    {"shape longer than ndim", c_shape_len, DT_ERR_FORMAT, "ndim = 2"},
    {"element type differs from dtype", c_type_mismatch, DT_ERR_FORMAT,
     "element type"},
    {"missing checksum", c_no_checksum, DT_ERR_FORMAT, "'checksum' is missing"},
    {"missing layout", c_no_layout, DT_ERR_FORMAT, "'layout' is missing"},
    {"wrong format name", c_format, DT_ERR_FORMAT, "pytorch-zip"},
    {"wrong version", c_version, DT_ERR_FORMAT, "version 3"},
    {"shape of floats", c_shape_float, DT_ERR_FORMAT, "not integer"},
    {"dtype of integer type", c_dtype_int, DT_ERR_FORMAT, "not a string"},
    {"signed checksum", c_checksum_signed, DT_ERR_FORMAT, "unsigned 64-bit"},
    {"requires_grad 5", c_grad_flag, DT_ERR_FORMAT, "requires_grad"},
    {"root without format", c_root_format, DT_ERR_FORMAT,
     "not a dtensor checkpoint"},
    {"generator state of wrong type", c_root_rng, DT_ERR_FORMAT, "rng_seed"},
    {"gradient of another shape", c_grad_shape, DT_ERR_FORMAT, "gradient"},
};

static void t_crafted_files(void) {
  char base[600], file[600];
  path_of(base, "base.h5");
  path_of(file, "crafted.h5");
  const int64_t s[2] = {4, 5};
  dt_tensor *a = NULL;
  T_OK(dt_manual_seed(T_ctx, 4));
  T_OK(dt_rand(T_ctx, 2, s, NULL, &a));
  const char *name = "x";
  T_OK(dt_save(T_ctx, base, 1, &name, (const dt_tensor *const *)&a, NULL));
  H5E_auto2_t fn;
  void *data;
  H5Eget_auto2(H5E_DEFAULT, &fn, &data);
  for (size_t i = 0; i < sizeof crafts / sizeof crafts[0]; i++) {
    const craft *c = &crafts[i];
    copy_file(base, file);
    if (T_rank == 0) {
      H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
      hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
      hid_t d = H5Dopen2(f, "x", H5P_DEFAULT);
      c->fn(f, d);
      H5Dclose(d);
      CU_ASSERT(H5Fclose(f) >= 0);
      H5Eset_auto2(H5E_DEFAULT, fn, data);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    const char *target = c->fn == c_ndim9_space ? "nine" : "x";
    dt_tensor *x = NULL;
    dt_err e = dt_load(T_ctx, file, target, NULL, &x);
    CU_ASSERT_EQUAL(e, c->code);
    CU_ASSERT_PTR_NULL(x);
    bool says = strstr(dt_last_error(), c->says) != NULL;
    CU_ASSERT(says);
    if (e != c->code || !says)
      fprintf(stderr, "[rank %d] crafted '%s': %s: %s\n", T_rank, c->what,
              dt_err_name(e), dt_last_error());
    CU_ASSERT(same_message_everywhere());
    dt_tensor_destroy(&x);
    /* Listing validates too (the generator state only at the root). */
    int n = 0;
    dt_file_entry *ent = NULL;
    CU_ASSERT_EQUAL(dt_list(T_ctx, file, &n, &ent), c->code);
    CU_ASSERT_PTR_NULL(ent);
  }
  /* Our handler is restored after every call. */
  H5E_auto2_t fn2;
  void *data2;
  H5Eget_auto2(H5E_DEFAULT, &fn2, &data2);
  CU_ASSERT(fn2 == fn && data2 == data);

  /* A foreign dataset: not listed, not loadable as a tensor. */
  copy_file(base, file);
  if (T_rank == 0) {
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hsize_t n3 = 3;
    hid_t sp = H5Screate_simple(1, &n3, NULL);
    hid_t d = H5Dcreate2(f, "foreign", H5T_NATIVE_INT, sp, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int n = 0;
  dt_file_entry *ent = NULL;
  T_OK(dt_list(T_ctx, file, &n, &ent));
  CU_ASSERT(n == 1 && ent && strcmp(ent[0].name, "x") == 0);
  free(ent);
  dt_tensor *x = NULL;
  T_ERR(dt_load(T_ctx, file, "foreign", NULL, &x), DT_ERR_FORMAT);
  CU_ASSERT(strstr(dt_last_error(), "dtensor_format") != NULL);
  dt_tensor_destroy(&a);
}

/* Rank 0 writes `len` bytes of `src` (or text) to dst. */
static void write_prefix(const char *src, const char *dst, long len,
                         const char *text) {
  if (T_rank == 0) {
    FILE *o = fopen(dst, "wb");
    if (text) {
      fputs(text, o);
    } else {
      FILE *i = fopen(src, "rb");
      for (long k = 0; k < len; k++) {
        int c = fgetc(i);
        if (c == EOF)
          break;
        fputc(c, o);
      }
      fclose(i);
    }
    fclose(o);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void t_bad_files(void) {
  char base[600], file[600], dir[600];
  path_of(base, "bad_base.h5");
  path_of(file, "bad.h5");
  path_of(dir, "");
  const int64_t s[2] = {100, 50};
  dt_tensor *a = NULL, *x = NULL;
  T_OK(dt_randn(T_ctx, 2, s, NULL, &a));
  const char *name = "x";
  T_OK(dt_save(T_ctx, base, 1, &name, (const dt_tensor *const *)&a, NULL));
  struct stat st;
  CU_ASSERT(stat(base, &st) == 0);
  struct {
    const char *what;
    long len; /* < 0: from the end */
    const char *text;
    dt_err code;
    const char *says;
  } cases[] = {
      {"text file", 0, "just some text, not HDF5\n", DT_ERR_FORMAT,
       "not an HDF5 file"},
      {"empty file", 0, "", DT_ERR_FORMAT, "not an HDF5 file"},
      {"first 100 bytes", 100, NULL, DT_ERR_FORMAT, "bad.h5"},
      {"half", (long)st.st_size / 2, NULL, DT_ERR_FORMAT, "truncated"},
      {"all but 10 bytes", (long)st.st_size - 10, NULL, DT_ERR_FORMAT,
       "truncated"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_prefix(base, file, cases[i].len, cases[i].text);
    dt_err e = dt_load(T_ctx, file, "x", NULL, &x);
    CU_ASSERT_EQUAL(e, cases[i].code);
    bool says = strstr(dt_last_error(), cases[i].says) != NULL;
    CU_ASSERT(says);
    if (e != cases[i].code || !says)
      fprintf(stderr, "[rank %d] %s: %s: %s\n", T_rank, cases[i].what,
              dt_err_name(e), dt_last_error());
    CU_ASSERT(same_message_everywhere());
    CU_ASSERT_PTR_NULL(x);
    T_ERR(dt_load_rng_state(T_ctx, file), cases[i].code);
    int n = 0;
    dt_file_entry *ent = NULL;
    T_ERR(dt_list(T_ctx, file, &n, &ent), cases[i].code);
  }
  char missing[600];
  path_of(missing, "missing.h5");
  T_ERR(dt_load(T_ctx, missing, "x", NULL, &x), DT_ERR_IO);
  CU_ASSERT(strstr(dt_last_error(), "No such file") != NULL);
  T_ERR(dt_load(T_ctx, dir, "x", NULL, &x), DT_ERR_IO);
  T_ERR(dt_load_rng_state(T_ctx, missing), DT_ERR_IO);
  T_ERR(dt_load(T_ctx, NULL, "x", NULL, &x), DT_ERR_NULL);
  T_ERR(dt_load(T_ctx, base, NULL, NULL, &x), DT_ERR_NULL);
  T_ERR(dt_load(T_ctx, base, "x", NULL, NULL), DT_ERR_NULL);
  T_ERR(dt_load(NULL, base, "x", NULL, &x), DT_ERR_NULL);
  /* And the good file still loads. */
  T_OK(dt_load(T_ctx, base, "x", NULL, &x));
  CU_ASSERT(same_tensor(a, x));
  dt_tensor_destroy(&x);
  dt_tensor_destroy(&a);
}

static const dt_test_case cases[] = {
    {"round trips between every save and load layout",
     t_roundtrip_every_layout},
    {"views, gradients, nested names", t_views_and_grads},
    {"listing", t_list},
    {"generator state", t_rng_state},
    {"multi-piece transfers", t_pieces},
    {"checksums computed beside the I/O", t_overlapped_checksums},
    {"every read and hash path of a load", t_read_paths},
    {"atomic replacement and injected faults", t_overwrite_and_faults},
    {"invalid save arguments", t_bad_save_args},
    {"a flipped data byte", t_flipped_byte},
    {"crafted invalid files", t_crafted_files},
    {"missing, foreign and truncated files", t_bad_files},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "io", cases);
}
