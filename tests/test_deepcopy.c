/*
 * test_deepcopy - fully independent copies through a streamed gather and
 * scatter: values, independence, layouts, sub-contexts, and the memory
 * bound (peak resident memory measured from /proc/self/status).
 */
#include "dt_test.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static void t_values_every_layout(void) {
  const int64_t s[3] = {9, 5, 3};
  T_OK(dt_ctx_set_chunk_budget(T_ctx, 4096)); /* many chunks */
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts cuts;
    dt_opts o = dt_test_layout(k, 3, s, &cuts, NULL);
    o.dtype = DT_FLOAT64;
    dt_tensor *t = NULL, *c = NULL;
    T_OK(dt_randn(T_ctx, 3, s, &o, &t));
    T_OK(dt_deepcopy(t, NULL, &c));
    void *a = dt_test_gather_all(t), *b = dt_test_gather_all(c);
    CU_ASSERT(a && b && memcmp(a, b, sizeof(double) * 135) == 0);
    /* its own storage and its own layout object, the same boxes */
    CU_ASSERT(!dt_shares_memory(t, c));
    CU_ASSERT(c && t->layout != c->layout);
    CU_ASSERT(c && dt__layout_equal(t->layout, c->layout));
    /* independent: writing the copy leaves the source alone */
    if (dt_local_numel(c) > 0)
      ((double *)dt_local_data(c))[0] = -1e300;
    void *a2 = dt_test_gather_all(t);
    CU_ASSERT(a2 && memcmp(a, a2, sizeof(double) * 135) == 0);
    free(a);
    free(a2);
    free(b);
    dt_tensor_destroy(&c);
    dt_tensor_destroy(&t);
  }
}

/* Strided sources (views), other dtypes, empty tensors, flags. */
static void t_views_and_flags(void) {
  const int64_t s[2] = {12, 7};
  T_OK(dt_ctx_set_chunk_budget(T_ctx, 4096));
  dt_tensor *b = NULL, *v = NULL, *tv = NULL, *c = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(84), DT_I(1), NULL, &b));
  dt_tensor *m = NULL;
  T_OK(dt_reshape(b, 2, s, &m));
  T_OK(dt_slice(m, 0, 1, 12, 3, &v)); /* rows 1, 4, 7, 10 */
  T_OK(dt_transpose(v, 0, 1, &tv));
  T_OK(dt_deepcopy(tv, NULL, &c));
  int64_t *g = dt_test_gather_all(c);
  int ok = g != NULL && dt_ndim(c) == 2 && dt_shape(c)[0] == 7;
  for (int i = 0; ok && i < 7; i++)
    for (int j = 0; j < 4; j++)
      ok = g[i * 4 + j] == (1 + 3 * j) * 7 + i;
  CU_ASSERT(ok);
  CU_ASSERT(dt_is_contiguous(c));
  free(g);
  dt_tensor_destroy(&c);
  /* requires_grad is copied; a new leaf */
  dt_tensor *r = NULL;
  T_OK(dt_ones(T_ctx, 2, s, &(dt_opts){.requires_grad = true}, &r));
  T_OK(dt_deepcopy(r, NULL, &c));
  CU_ASSERT(dt_requires_grad(c));
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&r);
  /* empty */
  const int64_t z[2] = {0, 3};
  T_OK(dt_zeros(T_ctx, 2, z, NULL, &r));
  T_OK(dt_deepcopy(r, NULL, &c));
  CU_ASSERT_EQUAL(dt_numel(c), 0);
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&tv);
  dt_tensor_destroy(&v);
  dt_tensor_destroy(&m);
  dt_tensor_destroy(&b);
}

/* Onto half of the job: the copy lands there, in the same layout rule. */
static void t_subset_context(void) {
  MPI_Comm half;
  int in = T_rank < (T_size + 1) / 2;
  MPI_Comm_split(MPI_COMM_WORLD, in ? 0 : MPI_UNDEFINED, T_rank, &half);
  dt_ctx *hc = NULL;
  if (in)
    T_OK(dt_ctx_create(half, &hc));
  const int64_t s[2] = {11, 4};
  dt_tensor *t = NULL, *c = NULL;
  T_OK(dt_rand(T_ctx, 2, s, &(dt_opts){.layout = DT_SPLIT, .split_axis = 1},
               &t));
  float *want = dt_test_gather_all(t);
  T_OK(dt_ctx_set_chunk_budget(T_ctx, 4096));
  T_OK(dt_deepcopy(t, in ? hc : DT_CTX_ABSENT, &c));
  if (in) {
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_PTR_EQUAL(dt_tensor_ctx(c), hc);
    int axis = -1;
    CU_ASSERT_EQUAL(dt_layout_of(c, &axis, NULL), DT_SPLIT);
    CU_ASSERT_EQUAL(axis, 1);
    float *got = malloc(sizeof(float) * 44);
    T_OK(dt_gather(c, DT_ALL_RANKS, got));
    CU_ASSERT(want && memcmp(got, want, sizeof(float) * 44) == 0);
    free(got);
  } else {
    CU_ASSERT_PTR_NULL(c);
  }
  dt_tensor_destroy(&c);
  /* a destination with ranks outside the source: refused everywhere */
  if (T_size > 1) {
    MPI_Comm mine;
    MPI_Comm_split(MPI_COMM_WORLD, T_rank, 0, &mine); /* one rank each */
    dt_ctx *solo = NULL;
    T_OK(dt_ctx_create(mine, &solo));
    /* every rank passes its own one-rank context: they do not form one */
    T_ERR(dt_deepcopy(t, solo, &c), DT_ERR_CONTEXT);
    T_OK(dt_ctx_destroy(&solo));
    MPI_Comm_free(&mine);
  }
  T_ERR(dt_deepcopy(NULL, NULL, &c), DT_ERR_NULL);
  T_ERR(dt_deepcopy(t, NULL, NULL), DT_ERR_NULL);
  free(want);
  dt_tensor_destroy(&t);
  if (in) {
    T_OK(dt_ctx_destroy(&hc));
    MPI_Comm_free(&half);
  }
}

/* Peak resident set (VmHWM) in bytes, after resetting it when possible. */
static long vm_hwm(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

static int reset_hwm(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f)
    return 0;
  int ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok;
}

/*
 * A tensor of 48 MiB per rank, a chunk budget of 4 MiB: the copy's peak
 * growth must stay under the new shard + budget + a constant (16 MiB for
 * MPI's own buffers and the allocator).
 */
static void t_memory_bound(void) {
  const size_t budget = (size_t)4 << 20;
  const int64_t per_rank = (int64_t)(48 << 20) / 8;
  const int64_t s[2] = {per_rank / 64 * T_size, 64};
  dt_tensor *t = NULL, *c = NULL;
  T_OK(dt_ctx_set_chunk_budget(T_ctx, budget));
  T_OK(dt_rand(T_ctx, 2, s, &(dt_opts){.dtype = DT_FLOAT64}, &t));
  uint64_t want = 0, got = 1;
  T_OK(dt_checksum(t, &want));
  int can = reset_hwm();
  long before = vm_hwm();
  MPI_Barrier(MPI_COMM_WORLD);
  T_OK(dt_deepcopy(t, NULL, &c));
  long after = vm_hwm();
  T_OK(dt_checksum(c, &got));
  CU_ASSERT_EQUAL(want, got);
  long shard = (long)(dt_local_numel(c) * 8);
  long limit = shard + (long)budget + (16L << 20);
  long grew = after - before;
  if (can && before > 0) {
    CU_ASSERT(grew <= limit);
    if (T_rank == 0 || grew > limit)
      printf("\n    [rank %d] deepcopy of %ld MiB shards, budget %zu MiB: peak "
             "grew %.1f MiB (bound %.1f MiB)\n",
             T_rank, shard >> 20, budget >> 20, grew / 1048576.0,
             limit / 1048576.0);
  } else if (T_rank == 0) {
    printf("\n    (peak memory not measurable here: /proc/self/clear_refs)\n");
  }
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&t);
}

static void t_budget_setting(void) {
  T_ERR(dt_ctx_set_chunk_budget(T_ctx, 100), DT_ERR_ARG);
  T_ERR(dt_ctx_set_chunk_budget(T_ctx, ((size_t)1 << 30) + 1), DT_ERR_ARG);
  T_ERR(dt_ctx_set_chunk_budget(NULL, 1 << 20), DT_ERR_NULL);
  CU_ASSERT_EQUAL(dt_ctx_chunk_budget(T_ctx), (size_t)64 << 20);
}

static const dt_test_case cases[] = {
    {"values, independence, own layout in every layout", t_values_every_layout},
    {"strided sources, flags, empty tensors", t_views_and_flags},
    {"onto a subset of the ranks", t_subset_context},
    {"peak memory stays within shard + budget", t_memory_bound},
    {"chunk budget limits", t_budget_setting},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "deepcopy", cases);
}
