/*
 * test_layout - boxes of every layout kind, classification, and the "runs"
 * (contiguous stretches) of a box. Layouts are replicated metadata, so each
 * rank checks every rank's box.
 */
#include "dt_test.h"
#include "internal.h"

#include <stdlib.h>

/* torch.chunk-like balance: the first n % P ranks get one more. */
static void t_split_balanced(void) {
  const int64_t shape[2] = {10, 3};
  dt_layout *L = NULL;
  T_OK(dt__layout_split(4, 2, shape, 0, &L));
  const int64_t want_start[4] = {0, 3, 6, 8}, want_n[4] = {3, 3, 2, 2};
  for (int r = 0; r < 4; r++) {
    int64_t s[2], n[2];
    dt__layout_box(L, r, s, n);
    CU_ASSERT_EQUAL(s[0], want_start[r]);
    CU_ASSERT_EQUAL(n[0], want_n[r]);
    CU_ASSERT_EQUAL(s[1], 0);
    CU_ASSERT_EQUAL(n[1], 3);
  }
  int axis = -1;
  CU_ASSERT_EQUAL(dt__layout_kind(L, &axis, NULL), DT_SPLIT);
  CU_ASSERT_EQUAL(axis, 0);
  dt__layout_unref(&L);
  CU_ASSERT_PTR_NULL(L);
  /* more ranks than rows: trailing ranks get empty boxes */
  const int64_t small[1] = {2};
  T_OK(dt__layout_split(5, 1, small, 0, &L));
  int64_t s, n;
  dt__layout_box(L, 4, &s, &n);
  CU_ASSERT_EQUAL(n, 0);
  dt__layout_box(L, 1, &s, &n);
  CU_ASSERT(s == 1 && n == 1);
  dt__layout_unref(&L);
}

static void t_grid_and_cuts(void) {
  const int64_t shape[2] = {5, 7};
  dt_opts o = {.layout = DT_GRID, .grid = {T_size, 1}};
  dt_layout *L = NULL;
  if (T_size == 4) {
    o.grid[0] = 2;
    o.grid[1] = 2;
  }
  T_OK(dt__layout_from_opts(T_ctx, 2, shape, &o, &L));
  /* the boxes tile the shape: volumes add up, rows are row-major */
  int64_t total = 0;
  for (int r = 0; r < T_size; r++) {
    int64_t s[2], n[2];
    dt__layout_box(L, r, s, n);
    total += n[0] * n[1];
  }
  CU_ASSERT_EQUAL(total, 35);
  if (T_size == 4) {
    int64_t s[2], n[2];
    dt__layout_box(L, 1, s, n);
    CU_ASSERT(s[0] == 0 && s[1] == 4 && n[0] == 3 && n[1] == 3);
    dt__layout_box(L, 2, s, n);
    CU_ASSERT(s[0] == 3 && s[1] == 0 && n[0] == 2 && n[1] == 4);
    int g[2];
    CU_ASSERT_EQUAL(dt__layout_kind(L, NULL, g), DT_GRID);
    CU_ASSERT(g[0] == 2 && g[1] == 2);
  }
  dt__layout_unref(&L);
  /* explicit cuts with empty parts */
  int64_t cuts[65] = {0};
  for (int r = 1; r <= T_size; r++)
    cuts[r] = r == T_size ? 7 : 0;
  dt_opts c = {.layout = DT_CUTS, .grid = {1, T_size}, .cuts = {NULL, cuts}};
  T_OK(dt__layout_from_opts(T_ctx, 2, shape, &c, &L));
  int64_t s[2], n[2];
  dt__layout_box(L, T_size - 1, s, n);
  CU_ASSERT(n[0] == 5 && n[1] == 7);
  if (T_size > 1) {
    dt__layout_box(L, 0, s, n);
    CU_ASSERT_EQUAL(n[1], 0);
    CU_ASSERT_EQUAL(dt__layout_kind(L, NULL, NULL), DT_CUTS);
  }
  dt__layout_unref(&L);
}

static void t_replicated_and_equal(void) {
  const int64_t shape[3] = {2, 3, 4};
  dt_layout *R = NULL, *S = NULL, *S2 = NULL;
  T_OK(dt__layout_replicated(T_size, 3, shape, &R));
  T_OK(dt__layout_split(T_size, 3, shape, 2, &S));
  T_OK(dt__layout_split(T_size, 3, shape, 2, &S2));
  int64_t s[3], n[3];
  dt__layout_box(R, T_size - 1, s, n);
  CU_ASSERT(s[0] == 0 && n[0] == 2 && n[1] == 3 && n[2] == 4);
  CU_ASSERT_EQUAL(dt__layout_kind(R, NULL, NULL), DT_REPLICATED);
  CU_ASSERT(dt__layout_equal(S, S2));
  CU_ASSERT_EQUAL(dt__layout_hash(S), dt__layout_hash(S2));
  CU_ASSERT(!dt__layout_equal(R, S));
  dt_layout *S3 = dt__layout_ref(S);
  CU_ASSERT(S3 == S);
  dt__layout_unref(&S3);
  CU_ASSERT_PTR_NULL(S3);
  dt__layout_unref(&S);
  dt__layout_unref(&S2);
  dt__layout_unref(&R);
}

/* Runs: the box [1:3, 2:5] of a 4 x 6 array is 2 runs of 3; a box covering
 * whole trailing axes is one run. */
static void t_runs(void) {
  const int64_t g[2] = {4, 6};
  dt__runs R;
  dt__box_runs(2, g, (int64_t[]){1, 2}, (int64_t[]){2, 3}, &R);
  CU_ASSERT_EQUAL(R.run_len, 3);
  CU_ASSERT_EQUAL(R.nruns, 2);
  CU_ASSERT_EQUAL(dt__run_global(&R, 0), 8);
  CU_ASSERT_EQUAL(dt__run_global(&R, 1), 14);
  dt__box_runs(2, g, (int64_t[]){1, 0}, (int64_t[]){2, 6}, &R);
  CU_ASSERT_EQUAL(R.run_len, 12);
  CU_ASSERT_EQUAL(R.nruns, 1);
  CU_ASSERT_EQUAL(dt__run_global(&R, 0), 6);
  const int64_t g3[3] = {3, 4, 5};
  dt__box_runs(3, g3, (int64_t[]){0, 1, 0}, (int64_t[]){3, 2, 5}, &R);
  CU_ASSERT_EQUAL(R.run_len, 10);
  CU_ASSERT_EQUAL(R.nruns, 3);
  CU_ASSERT_EQUAL(dt__run_global(&R, 2), 2 * 20 + 5);
  dt__box_runs(2, g, (int64_t[]){0, 0}, (int64_t[]){0, 6}, &R);
  CU_ASSERT_EQUAL(R.nruns, 0);
  dt__box_runs(0, NULL, NULL, NULL, &R);
  CU_ASSERT(R.nruns == 1 && R.run_len == 1 && dt__run_global(&R, 0) == 0);
}

/* The public layout query agrees with the internal boxes. */
static void t_owner_box_query(void) {
  const int64_t shape[2] = {9, 2};
  dt_tensor *t = NULL;
  T_OK(dt_zeros(T_ctx, 2, shape, NULL, &t));
  int64_t total = 0;
  for (int r = 0; r < T_size; r++) {
    int64_t s[2], n[2];
    T_OK(dt_owner_box(t, r, s, n));
    CU_ASSERT_EQUAL(s[0], dt__block_start(9, T_size, r));
    total += n[0] * n[1];
    if (r == T_rank) {
      int64_t ls[2], ln[2];
      dt_local_box(t, ls, ln);
      CU_ASSERT(ls[0] == s[0] && ln[0] == n[0] && ln[1] == 2);
    }
  }
  CU_ASSERT_EQUAL(total, 18);
  int64_t s[2], n[2];
  T_ERR(dt_owner_box(t, T_size, s, n), DT_ERR_RANK);
  T_ERR(dt_owner_box(t, -1, s, n), DT_ERR_RANK);
  T_ERR(dt_owner_box(t, 0, NULL, n), DT_ERR_NULL);
  dt_tensor_destroy(&t);
}

static const dt_test_case cases[] = {
    {"split is balanced like torch.chunk", t_split_balanced},
    {"grids and explicit cuts", t_grid_and_cuts},
    {"replicated layouts, equality, hashing", t_replicated_and_equal},
    {"contiguous runs of a box", t_runs},
    {"dt_owner_box agrees with the local box", t_owner_box_query},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "layout", cases);
}
