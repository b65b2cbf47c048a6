/*
 * test_checksum - the fingerprint follows its documented recipe, is the same
 * in every layout and thread count, and changes with dtype, shape, any bit,
 * and element order.
 */
#include "dt_test.h"

#include <omp.h>
#include <stdlib.h>

static uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= UINT64_C(0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return k;
}

/* The recipe in dtensor.h, computed from the gathered array. */
static uint64_t reference(const dt_tensor *t) {
  size_t esz = dt_dtype_size(dt_dtype_of(t));
  unsigned char *v = dt_test_gather_all(t);
  uint64_t S = 0;
  for (int64_t i = 0; v && i < dt_numel(t); i++) {
    uint64_t b = 0;
    memcpy(&b, v + (size_t)i * esz, esz); /* little-endian zero extension */
    S += fmix(b ^ ((uint64_t)i * UINT64_C(0x9E3779B97F4A7C15)));
  }
  free(v);
  uint64_t h = fmix((uint64_t)dt_dtype_of(t));
  for (int d = 0; d < dt_ndim(t); d++)
    h = fmix(h ^ (uint64_t)dt_shape(t)[d]);
  return fmix(S ^ h);
}

static void t_recipe_and_layouts(void) {
  const int64_t shape[3] = {11, 6, 5};
  const dt_dtype dts[5] = {DT_FLOAT32, DT_FLOAT64, DT_INT32, DT_INT64, DT_BOOL};
  for (int j = 0; j < 5; j++) {
    uint64_t first = 0;
    for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
      for (int th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
        dt_test_cuts cuts;
        dt_opts o = dt_test_layout(k, 3, shape, &cuts, NULL);
        o.dtype = dts[j];
        T_OK(dt_manual_seed(T_ctx, 3));
        dt_tensor *t = NULL;
        T_OK(dt_randint(T_ctx, 0, dts[j] == DT_BOOL ? 2 : 1000, 3, shape, &o,
                        &t));
        uint64_t c = 0;
        T_OK(dt_checksum(t, &c));
        CU_ASSERT_EQUAL(c, reference(t));
        if (k == 0 && th == 1)
          first = c;
        CU_ASSERT_EQUAL(c, first);
        dt_tensor_destroy(&t);
      }
  }
  omp_set_num_threads(1);
}

static void t_sensitivity(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 4, 5, 6};
  const int64_t s6 = 6, s23[2] = {2, 3};
  dt_tensor *t[6] = {NULL};
  T_OK(dt_from_data(T_ctx, 1, &s6, a, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[0]));
  T_OK(dt_from_data(T_ctx, 2, s23, a, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[1]));
  T_OK(dt_from_data(T_ctx, 1, &s6, a, DT_FLOAT32, DT_ALL_RANKS,
                    &(dt_opts){.dtype = DT_INT32}, &t[2]));
  b[4] = 6; /* swap two elements */
  b[5] = 5;
  T_OK(dt_from_data(T_ctx, 1, &s6, b, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[3]));
  uint32_t bits;
  memcpy(&bits, &a[2], 4);
  bits ^= 1; /* one flipped bit */
  memcpy(&b[2], &bits, 4);
  b[4] = 5;
  b[5] = 6;
  T_OK(dt_from_data(T_ctx, 1, &s6, b, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[4]));
  T_OK(dt_from_data(T_ctx, 1, &s6, a, DT_FLOAT32, DT_ALL_RANKS,
                    &(dt_opts){.layout = DT_REPLICATED}, &t[5]));
  uint64_t c[6];
  for (int k = 0; k < 6; k++)
    T_OK(dt_checksum(t[k], &c[k]));
  for (int x = 0; x < 5; x++)
    for (int y = x + 1; y < 5; y++)
      CU_ASSERT(c[x] != c[y]);
  CU_ASSERT_EQUAL(c[0], c[5]);
  for (int k = 0; k < 6; k++)
    dt_tensor_destroy(&t[k]);
  T_ERR(dt_checksum(NULL, c), DT_ERR_NULL);
}

static const dt_test_case cases[] = {
    {"recipe, every layout and thread count", t_recipe_and_layouts},
    {"dtype, shape, order and single bits matter", t_sensitivity},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "checksum", cases);
}
