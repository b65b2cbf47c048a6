/*
 * io_xrank - checkpoints across rank counts, run twice by io_xrank.sh:
 *
 *   mpiexec -n P io_xrank save FILE     makes ten tensors (every dtype, 0-d,
 *                                       empty, a strided view, replicated,
 *                                       grid and cuts layouts, a tensor with
 *                                       requires_grad and a gradient) and
 *                                       saves them with the generator state
 *   mpiexec -n Q io_xrank load FILE P   loads each one into split-on-every-
 *                                       axis, replicated, cuts-with-an-empty-
 *                                       shard and grid layouts and compares
 *                                       its bits and checksum with the same
 *                                       tensors rebuilt on a 1-rank context
 *                                       from the seed; then restores the
 *                                       generator and checks the next random
 *                                       tensor equals an uninterrupted run's
 */
#include "dt_test.h"

#include <stdio.h>
#include <stdlib.h>

enum { NT = 10 };
static const char *const names[NT] = {
    "f32_3d", "f64_2d", "i32_1d",  "i64_2d",          "bool_2d",
    "scalar", "empty",  "strided", "model/layer.0/w", "model/layer.0/b"};

static const char *g_file;
static int g_saved_ranks;

/* Layout helpers for a context of P ranks. */
static dt_opts cuts_empty0(int P, int64_t n, int64_t *c) {
  dt_opts o = {.layout = DT_CUTS};
  o.grid[0] = P;
  c[0] = 0;
  for (int r = 1; r <= P; r++)
    c[r] = P == 1 ? n : (n * (r - 1)) / (P - 1);
  o.cuts[0] = c;
  return o;
}

static dt_opts grid2(int P, int nd) {
  dt_opts o = {.layout = DT_GRID};
  for (int d = 0; d < nd; d++)
    o.grid[d] = 1;
  int a = 1;
  for (int f = 2; f * f <= P; f++)
    if (P % f == 0)
      a = f;
  o.grid[0] = P / a;
  o.grid[1] = a;
  return o;
}

/*
 * The ten tensors, in layouts suited to ctx's rank count. Values depend only
 * on the seed and the order of the random factories, never on the layout,
 * so a 1-rank context rebuilds them exactly. extra[] keeps the bases of
 * views alive.
 */
static void build(dt_ctx *ctx, dt_tensor **t, dt_tensor **extra) {
  int P = dt_ctx_size(ctx);
  int64_t c[65];
  static const int64_t s3[3] = {7, 5, 3}, s2a[2] = {9, 4}, s1 = 13,
                       s2b[2] = {6, 7}, s2c[2] = {5, 8}, s0[2] = {0, 4},
                       sb[2] = {8, 6}, sw[2] = {10, 3}, s4 = 4;
  T_OK(dt_manual_seed(ctx, 1234));
  T_OK(dt_randn(ctx, 3, s3, NULL, &t[0]));
  T_OK(dt_rand(
      ctx, 2, s2a,
      &(dt_opts){.dtype = DT_FLOAT64, .layout = DT_SPLIT, .split_axis = 1},
      &t[1]));
  T_OK(dt_randint(ctx, 0, 1000, 1, &s1,
                  &(dt_opts){.dtype = DT_INT32, .layout = DT_REPLICATED},
                  &t[2]));
  dt_opts o = grid2(P, 2);
  o.dtype = DT_INT64;
  T_OK(dt_randint(ctx, -5000000000, 5000000000, 2, s2b, &o, &t[3]));
  o = cuts_empty0(P, s2c[0], c);
  o.dtype = DT_BOOL;
  T_OK(dt_randint(ctx, 0, 2, 2, s2c, &o, &t[4]));
  T_OK(dt_randn(ctx, 0, NULL, &(dt_opts){.dtype = DT_FLOAT64}, &t[5]));
  T_OK(dt_zeros(ctx, 2, s0, NULL, &t[6]));
  T_OK(dt_randn(ctx, 2, sb, NULL, &extra[0]));
  T_OK(dt_transpose(extra[0], 0, 1, &extra[1]));
  T_OK(dt_slice(extra[1], 1, 1, 8, 2, &t[7])); /* [6, 4], strided */
  T_OK(dt_randn(ctx, 2, sw, &(dt_opts){.requires_grad = true}, &t[8]));
  T_OK(dt_rand(ctx, 2, sw, NULL, &extra[2]));
  T_OK(dt_set_grad(t[8], extra[2]));
  T_OK(dt_zeros(ctx, 1, &s4, &(dt_opts){.requires_grad = true}, &t[9]));
}

/* The tensor drawn after the save, in an uninterrupted run. */
static void draw_after(dt_ctx *ctx, dt_tensor **t) {
  const int64_t s[2] = {11, 3};
  T_OK(dt_randn(ctx, 2, s, NULL, t));
}

static void destroy_all(dt_tensor **t, int n) {
  for (int i = 0; i < n; i++)
    dt_tensor_destroy(&t[i]);
}

static void t_save(void) {
  dt_tensor *t[NT] = {NULL}, *extra[3] = {NULL};
  build(T_ctx, t, extra);
  T_OK(dt_save(T_ctx, g_file, NT, names, (const dt_tensor *const *)t, NULL));
  destroy_all(t, NT);
  destroy_all(extra, 3);
}

/* Bits and checksum of a against the reference r (on the 1-rank context). */
static bool same(const dt_tensor *a, const dt_tensor *r) {
  if (!a || !r || dt_dtype_of(a) != dt_dtype_of(r) || dt_ndim(a) != dt_ndim(r))
    return false;
  for (int d = 0; d < dt_ndim(a); d++)
    if (dt_shape(a)[d] != dt_shape(r)[d])
      return false;
  size_t n = (size_t)dt_numel(a) * dt_dtype_size(dt_dtype_of(a));
  void *x = dt_test_gather_all(a), *y = dt_test_gather_all(r);
  bool ok = x && y && dt_test_same_bits(x, y, n);
  free(x);
  free(y);
  uint64_t ca = 0, cr = 1;
  dt_checksum(a, &ca);
  dt_checksum(r, &cr);
  return ok && ca == cr;
}

static void t_load(void) {
  dt_ctx *self = dt_test_self_ctx();
  dt_tensor *ref[NT] = {NULL}, *extra[3] = {NULL}, *after = NULL;
  build(self, ref, extra);
  draw_after(self, &after);

  /* The listing: names, dtypes, shapes, flags, the layout saved from. */
  int n = 0;
  dt_file_entry *e = NULL;
  T_OK(dt_list(T_ctx, g_file, &n, &e));
  CU_ASSERT_EQUAL(n, NT);
  char ranks[32];
  snprintf(ranks, sizeof ranks, "ranks=%d", g_saved_ranks);
  for (int i = 0; e && i < n; i++) {
    int k = 0;
    while (k < NT && strcmp(names[k], e[i].name) != 0)
      k++;
    CU_ASSERT_FATAL(k < NT);
    CU_ASSERT_EQUAL(e[i].dtype, dt_dtype_of(ref[k]));
    CU_ASSERT_EQUAL(e[i].ndim, dt_ndim(ref[k]));
    CU_ASSERT_EQUAL(e[i].requires_grad, dt_requires_grad(ref[k]));
    CU_ASSERT_EQUAL(e[i].has_grad, dt_grad(ref[k]) != NULL);
    CU_ASSERT(strstr(e[i].layout, ranks) != NULL);
    uint64_t c = 0;
    T_OK(dt_checksum(ref[k], &c));
    CU_ASSERT_EQUAL(e[i].checksum, c);
  }
  free(e);

  int P = T_size;
  for (int i = 0; i < NT; i++) {
    int nd = dt_ndim(ref[i]);
    const int64_t *shape = dt_shape(ref[i]);
    /* default, replicated, cuts (empty shard on rank 0), grid, then split
     * on every axis */
    for (int k = 0; k < 4 + DT_MAX_DIMS; k++) {
      int64_t c[65];
      dt_opts o = {0};
      if (k == 1)
        o.layout = DT_REPLICATED;
      else if (k == 2 && nd > 0)
        o = cuts_empty0(P, shape[0], c);
      else if (k == 3 && nd > 1)
        o = grid2(P, nd);
      else if (k >= 4 && k - 4 < nd)
        o = (dt_opts){.layout = DT_SPLIT, .split_axis = k - 4};
      else if (k != 0)
        continue;
      dt_tensor *t = NULL;
      T_OK(dt_load(T_ctx, g_file, names[i], &o, &t));
      bool ok = same(t, ref[i]);
      CU_ASSERT(ok);
      if (!ok && T_rank == 0)
        fprintf(stderr, "tensor %s, layout case %d differs\n", names[i], k);
      CU_ASSERT(t && dt_requires_grad(t) == dt_requires_grad(ref[i]));
      CU_ASSERT(t && (dt_grad(t) != NULL) == (dt_grad(ref[i]) != NULL));
      if (t && dt_grad(t) && dt_grad(ref[i]))
        CU_ASSERT(same(dt_grad(t), dt_grad(ref[i])));
      dt_tensor_destroy(&t);
    }
  }

  /* A restart: the generator continues where the saving run left off. */
  dt_tensor *next = NULL;
  T_OK(dt_manual_seed(T_ctx, 777));
  T_OK(dt_load_rng_state(T_ctx, g_file));
  draw_after(T_ctx, &next);
  CU_ASSERT(same(next, after));
  dt_tensor_destroy(&next);
  dt_tensor_destroy(&after);
  destroy_all(ref, NT);
  destroy_all(extra, 3);
}

static const dt_test_case save_cases[] = {{"save", t_save}, {NULL, NULL}};
static const dt_test_case load_cases[] = {{"load into every layout", t_load},
                                          {NULL, NULL}};

int main(int argc, char **argv) {
  bool save = argc == 3 && strcmp(argv[1], "save") == 0;
  bool load = argc == 4 && strcmp(argv[1], "load") == 0;
  if (!save && !load) {
    fprintf(stderr, "usage: io_xrank save FILE | io_xrank load FILE P\n");
    return 2;
  }
  g_file = argv[2];
  g_saved_ranks = load ? atoi(argv[3]) : 0;
  return dt_test_main(argc, argv, save ? "io_xrank save" : "io_xrank load",
                      save ? save_cases : load_cases);
}
