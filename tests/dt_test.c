#include "dt_test.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

dt_ctx *T_ctx;
int T_rank, T_size;
static dt_ctx *self_ctx;

void dt_test_report(const char *file, int line, const char *expr, dt_err e) {
  fprintf(stderr, "[rank %d] %s:%d: %s -> %s: %s\n", T_rank, file, line, expr,
          dt_err_name(e), dt_last_error());
}

void *dt_test_gather_all(const dt_tensor *t) {
  size_t n = (size_t)dt_numel(t) * dt_dtype_size(dt_dtype_of(t));
  void *buf = malloc(n ? n : 1);
  if (!buf)
    return NULL;
  if (dt_gather(t, DT_ALL_RANKS, buf) != DT_OK) {
    free(buf);
    return NULL;
  }
  return buf;
}

dt_ctx *dt_test_self_ctx(void) {
  if (!self_ctx && dt_ctx_create(MPI_COMM_SELF, &self_ctx) != DT_OK)
    return NULL;
  return self_ctx;
}

static const dt_test_case *g_cases;

/* Wrap each case: a fresh context before, a checked destroy after. */
static void run_case(const dt_test_case *c) {
  dt_err e = dt_ctx_create(MPI_COMM_WORLD, &T_ctx);
  CU_ASSERT_EQUAL_FATAL(e, DT_OK);
  c->fn();
  e = dt_ctx_destroy(&T_ctx);
  if (e != DT_OK)
    fprintf(stderr, "[rank %d] %s left tensors alive: %s\n", T_rank, c->name,
            dt_last_error());
  CU_ASSERT_EQUAL(e, DT_OK);
  if (self_ctx) {
    e = dt_ctx_destroy(&self_ctx);
    CU_ASSERT_EQUAL(e, DT_OK);
  }
}

static int g_ncases;
/* CUnit test functions take no argument: one trampoline per slot. */
// clang-format off
#define TRAMP(k) static void tramp_##k(void) { run_case(&g_cases[k]); }
#define T10(a) TRAMP(a##0) TRAMP(a##1) TRAMP(a##2) TRAMP(a##3) TRAMP(a##4) \
               TRAMP(a##5) TRAMP(a##6) TRAMP(a##7) TRAMP(a##8) TRAMP(a##9)
T10() T10(1) T10(2) T10(3) T10(4) T10(5) T10(6) T10(7) T10(8) T10(9)
#define R10(a) tramp_##a##0, tramp_##a##1, tramp_##a##2, tramp_##a##3, \
               tramp_##a##4, tramp_##a##5, tramp_##a##6, tramp_##a##7, \
               tramp_##a##8, tramp_##a##9
static void (*const g_tramps[])(void) = {
    R10(), R10(1), R10(2), R10(3), R10(4), R10(5), R10(6), R10(7), R10(8),
    R10(9)};
// clang-format on

int dt_test_main(int argc, char **argv, const char *suite,
                 const dt_test_case *cases) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &T_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &T_size);
  g_cases = cases;
  for (g_ncases = 0; cases[g_ncases].name; g_ncases++)
    ;
  int nslots = (int)(sizeof g_tramps / sizeof g_tramps[0]);
  if (g_ncases > nslots) {
    fprintf(stderr, "too many test cases (%d > %d)\n", g_ncases, nslots);
    MPI_Finalize();
    return 2;
  }
  if (CU_initialize_registry() != CUE_SUCCESS) {
    MPI_Finalize();
    return 2;
  }
  CU_pSuite s = CU_add_suite(suite, NULL, NULL);
  for (int k = 0; k < g_ncases; k++)
    CU_add_test(s, cases[k].name, g_tramps[k]);
  /* Rank 0 narrates; the others run silently and report failures below. */
  if (T_rank == 0) {
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
  } else {
    CU_run_all_tests();
  }

  /* Every rank reports its own failures; the verdict is agreed. */
  unsigned nfail = CU_get_number_of_failures();
  for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext)
    fprintf(stderr, "[rank %d of %d] FAIL %s: %s:%u: %s\n", T_rank, T_size,
            f->pTest ? f->pTest->pName : "?", f->strFileName, f->uiLineNumber,
            f->strCondition);
  unsigned total = 0;
  MPI_Allreduce(&nfail, &total, 1, MPI_UNSIGNED, MPI_SUM, MPI_COMM_WORLD);
  if (T_rank == 0)
    printf("%s at %d rank(s): %s (%u failed assertion(s) over all ranks)\n",
           suite, T_size, total ? "FAILED" : "passed", total);
  CU_cleanup_registry();
  dt_cache_release();
  MPI_Finalize();
  return total ? 1 : 0;
}

dt_opts dt_test_layout(int k, int ndim, const int64_t *shape,
                       dt_test_cuts *cuts, const char **name) {
  dt_opts o = {0};
  const char *nm = "default (split 0)";
  switch (k) {
  case 0:
    break;
  case 1:
    o.layout = DT_SPLIT;
    o.split_axis = ndim > 0 ? ndim - 1 : 0;
    nm = "split on the last axis";
    break;
  case 2:
    o.layout = DT_REPLICATED;
    nm = "replicated";
    break;
  case 3: {
    /* Axis 0 cut so rank 0 gets nothing and the rest share the axis. */
    o.layout = DT_CUTS;
    o.grid[0] = T_size;
    int64_t n = shape[0];
    cuts->c[0][0] = 0;
    for (int r = 1; r <= T_size; r++)
      cuts->c[0][r] = T_size == 1 ? n : (n * (r - 1)) / (T_size - 1);
    o.cuts[0] = cuts->c[0];
    nm = "cuts with an empty shard on rank 0";
    break;
  }
  default: {
    /* A 2-D grid over the first two axes (P = a * b, a as large as fits). */
    o.layout = DT_GRID;
    for (int d = 0; d < ndim; d++)
      o.grid[d] = 1;
    int a = 1;
    for (int f = 2; f <= T_size; f++)
      if (T_size % f == 0 && f * f <= T_size)
        a = f;
    o.grid[0] = ndim > 1 ? T_size / a : T_size;
    if (ndim > 1)
      o.grid[1] = a;
    nm = "2-D process grid";
    break;
  }
  }
  if (name)
    *name = nm;
  return o;
}
