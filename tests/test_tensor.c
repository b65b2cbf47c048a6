/*
 * test_tensor - lifecycle, accessors, dtypes and conversion, the storage
 * cache, and context teardown rules.
 */
#include "dt_test.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

static void t_accessors(void) {
  const int64_t shape[3] = {5, 4, 3};
  dt_tensor *t = NULL;
  T_OK(dt_zeros(
      T_ctx, 3, shape,
      &(dt_opts){.dtype = DT_INT32, .layout = DT_SPLIT, .split_axis = 1}, &t));
  CU_ASSERT_EQUAL(dt_ndim(t), 3);
  CU_ASSERT_EQUAL(dt_shape(t)[2], 3);
  CU_ASSERT_EQUAL(dt_numel(t), 60);
  CU_ASSERT_EQUAL(dt_size(t, -3), 5);
  CU_ASSERT_EQUAL(dt_size(t, 3), -1);
  CU_ASSERT_EQUAL(dt_dtype_of(t), DT_INT32);
  CU_ASSERT_PTR_EQUAL(dt_tensor_ctx(t), T_ctx);
  CU_ASSERT(!dt_requires_grad(t));
  int64_t st[3], n[3], strides[3];
  dt_local_box(t, st, n);
  CU_ASSERT_EQUAL(n[0], 5);
  CU_ASSERT_EQUAL(n[1], 4 / T_size + (T_rank < 4 % T_size));
  CU_ASSERT_EQUAL(dt_local_numel(t), n[0] * n[1] * n[2]);
  dt_local_strides(t, strides);
  CU_ASSERT(strides[2] == 1 && strides[1] == 3 && strides[0] == 3 * n[1]);
  CU_ASSERT(dt_is_contiguous(t));
  /* the local pointer shares memory with the tensor, like .numpy() */
  if (dt_local_numel(t) > 0) {
    int32_t *p = dt_local_data(t);
    CU_ASSERT_EQUAL(((uintptr_t)p) % 64, 0);
    p[0] = 42;
    CU_ASSERT_EQUAL(((int32_t *)dt_local_data(t))[0], 42);
  } else {
    CU_ASSERT_PTR_NULL(dt_local_data(t));
  }
  dt_tensor_destroy(&t);
  CU_ASSERT_PTR_NULL(t);
  /* NULL-safe accessors and destroy */
  T_OK(dt_tensor_destroy(&t));
  T_OK(dt_tensor_destroy(NULL));
  CU_ASSERT_EQUAL(dt_ndim(NULL), 0);
  CU_ASSERT_PTR_NULL(dt_shape(NULL));
  CU_ASSERT_EQUAL(dt_numel(NULL), 0);
  CU_ASSERT_PTR_NULL(dt_local_data(NULL));
}

static void t_dtypes(void) {
  const dt_dtype all[5] = {DT_FLOAT32, DT_FLOAT64, DT_INT32, DT_INT64, DT_BOOL};
  const size_t sizes[5] = {4, 8, 4, 8, 1};
  for (int k = 0; k < 5; k++) {
    dt_dtype back = DT_DTYPE_DEFAULT;
    CU_ASSERT_EQUAL(dt_dtype_size(all[k]), sizes[k]);
    T_OK(dt_dtype_from_name(dt_dtype_name(all[k]), &back));
    CU_ASSERT_EQUAL(back, all[k]);
  }
  dt_dtype d;
  T_OK(dt_dtype_from_name("torch.float64", &d));
  CU_ASSERT_EQUAL(d, DT_FLOAT64);
  T_OK(dt_dtype_from_name("long", &d));
  CU_ASSERT_EQUAL(d, DT_INT64);
  T_ERR(dt_dtype_from_name("complex64", &d), DT_ERR_DTYPE);
  T_ERR(dt_dtype_from_name(NULL, &d), DT_ERR_NULL);
  CU_ASSERT_EQUAL(dt_dtype_size((dt_dtype)77), 0);
  CU_ASSERT_STRING_EQUAL(dt_dtype_name((dt_dtype)77), "unknown");
  CU_ASSERT(dt_dtype_is_float(DT_FLOAT32) && !dt_dtype_is_float(DT_INT64));
}

static void t_convert(void) {
  double src[6] = {1.9, -1.9, NAN, 1e20, -0.0, 3e9};
  int32_t i32[6];
  int64_t i64[6];
  uint8_t b[6];
  float f[6];
  dt__convert(i32, DT_INT32, src, DT_FLOAT64, 6);
  CU_ASSERT(i32[0] == 1 && i32[1] == -1 && i32[2] == 0 && i32[3] == INT32_MAX &&
            i32[4] == 0 && i32[5] == INT32_MAX);
  dt__convert(i64, DT_INT64, src, DT_FLOAT64, 6);
  CU_ASSERT(i64[3] == INT64_MAX && i64[5] == 3000000000LL);
  dt__convert(b, DT_BOOL, src, DT_FLOAT64, 6);
  CU_ASSERT(b[0] == 1 && b[2] == 1 && b[4] == 0);
  dt__convert(f, DT_FLOAT32, i64, DT_INT64, 6);
  CU_ASSERT(f[0] == 1.0f && f[1] == -1.0f);
  int64_t wide = INT64_C(0x100000005);
  int32_t narrow;
  dt__convert(&narrow, DT_INT32, &wide, DT_INT64,
              1); /* wraps like a torch cast */
  CU_ASSERT_EQUAL(narrow, 5);
  double one;
  dt__store_scalar(&one, DT_FLOAT64, DT_B(true));
  CU_ASSERT_EQUAL(one, 1.0);
}

/* Freed large storage is reused for a same-sized tensor; the limit holds. */
static void t_cache(void) {
  dt_cache_set_limit((size_t)1 << 30);
  const int64_t n = 1 << 20; /* 4 MiB of float32 per rank at 1 rank */
  dt_tensor *a = NULL, *b = NULL;
  T_OK(dt_empty(T_ctx, 1, &n, &(dt_opts){.layout = DT_REPLICATED}, &a));
  void *pa = dt_local_data(a);
  dt_tensor_destroy(&a);
  T_OK(dt_empty(T_ctx, 1, &n, &(dt_opts){.layout = DT_REPLICATED}, &b));
  CU_ASSERT_PTR_EQUAL(dt_local_data(b), pa);
  dt_tensor_destroy(&b);
  dt_cache_set_limit(0); /* releases everything and disables it */
  T_OK(dt_empty(T_ctx, 1, &n, &(dt_opts){.layout = DT_REPLICATED}, &a));
  dt_tensor_destroy(&a);
  dt_cache_release();
}

static void t_ctx_rules(void) {
  dt_ctx *c = NULL;
  T_OK(dt_ctx_create(MPI_COMM_WORLD, &c));
  CU_ASSERT_EQUAL(dt_ctx_size(c), T_size);
  CU_ASSERT_EQUAL(dt_ctx_rank(c), T_rank);
  CU_ASSERT(dt_ctx_comm(c) != MPI_COMM_WORLD &&
            dt_ctx_comm(c) != MPI_COMM_NULL);
  uint64_t seed, off;
  T_OK(dt_rng_state(c, &seed, &off));
  CU_ASSERT_EQUAL(seed, UINT64_C(67280421310721));
  CU_ASSERT_EQUAL(off, 0);
  T_OK(dt_set_rng_state(c, 9, 41));
  T_OK(dt_rng_state(c, &seed, &off));
  CU_ASSERT(seed == 9 && off == 41);
  CU_ASSERT_EQUAL(dt_ctx_default_dtype(c), DT_FLOAT32);
  T_ERR(dt_ctx_set_default_dtype(c, DT_INT32), DT_ERR_DTYPE);
  /* a context with live tensors refuses to go, on every rank */
  dt_tensor *t = NULL;
  const int64_t n = 3;
  T_OK(dt_zeros(c, 1, &n, NULL, &t));
  T_ERR(dt_ctx_destroy(&c), DT_ERR_BUSY);
  CU_ASSERT_PTR_NOT_NULL(c);
  dt_tensor_destroy(&t);
  T_OK(dt_ctx_destroy(&c));
  CU_ASSERT_PTR_NULL(c);
  T_OK(dt_ctx_destroy(&c));
  T_ERR(dt_ctx_create(MPI_COMM_NULL, &c), DT_ERR_ARG);
  T_ERR(dt_ctx_create(MPI_COMM_WORLD, NULL), DT_ERR_NULL);
  T_ERR(dt_manual_seed(NULL, 1), DT_ERR_NULL);
  /* a context on a sub-communicator: tensors there are independent */
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, T_rank % 2, T_rank, &half);
  T_OK(dt_ctx_create(half, &c));
  int hs;
  MPI_Comm_size(half, &hs);
  CU_ASSERT_EQUAL(dt_ctx_size(c), hs);
  T_OK(dt_ctx_destroy(&c));
  MPI_Comm_free(&half);
}

static const dt_test_case cases[] = {
    {"accessors and sharing", t_accessors}, {"dtype names and sizes", t_dtypes},
    {"dtype conversion", t_convert},        {"storage cache", t_cache},
    {"context rules", t_ctx_rules},         {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "tensor", cases);
}
