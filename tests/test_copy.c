/*
 * test_copy - gathering a distributed tensor to one root or to every rank,
 * from every layout, including empty shards and empty tensors.
 */
#include "dt_test.h"

#include <stdlib.h>

static void t_gather_roots_and_layouts(void) {
  const int64_t shape[3] = {5, 4, 3};
  int64_t want[60];
  for (int i = 0; i < 60; i++)
    want[i] = i * 7 - 3;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts cuts;
    dt_opts o = dt_test_layout(k, 3, shape, &cuts, NULL);
    dt_tensor *t = NULL;
    T_OK(dt_from_data(T_ctx, 3, shape, want, DT_INT64, DT_ALL_RANKS, &o, &t));
    for (int root = -1; root < T_size; root++) {
      int64_t got[60];
      memset(got, 0xff, sizeof got);
      T_OK(dt_gather(t, root, got));
      if (root == DT_ALL_RANKS || root == T_rank)
        CU_ASSERT(memcmp(got, want, sizeof want) == 0);
    }
    dt_tensor_destroy(&t);
  }
}

static void t_gather_empty(void) {
  const int64_t shape[2] = {0, 5};
  dt_tensor *t = NULL;
  T_OK(dt_zeros(T_ctx, 2, shape, NULL, &t));
  T_OK(dt_gather(t, 0, NULL));
  T_OK(dt_gather(t, DT_ALL_RANKS, NULL));
  dt_tensor_destroy(&t);
  /* more ranks than rows: some shards are empty */
  const int64_t one[2] = {1, 3};
  T_OK(dt_ones(T_ctx, 2, one, &(dt_opts){.dtype = DT_BOOL}, &t));
  uint8_t b[3] = {0};
  T_OK(dt_gather(t, DT_ALL_RANKS, b));
  CU_ASSERT(b[0] == 1 && b[1] == 1 && b[2] == 1);
  dt_tensor_destroy(&t);
}

static void t_gather_bad(void) {
  const int64_t n = 4;
  dt_tensor *t = NULL;
  T_OK(dt_zeros(T_ctx, 1, &n, NULL, &t));
  float buf[4];
  T_ERR(dt_gather(t, T_size, buf), DT_ERR_RANK);
  T_ERR(dt_gather(t, -5, buf), DT_ERR_RANK);
  /* the root passes NULL: every rank gets the error */
  T_ERR(dt_gather(t, 0, T_rank == 0 ? NULL : buf), DT_ERR_NULL);
  T_ERR(dt_gather(NULL, 0, buf), DT_ERR_NULL);
  dt_tensor_destroy(&t);
}

static const dt_test_case cases[] = {
    {"gather to every root from every layout", t_gather_roots_and_layouts},
    {"gather empty tensors and empty shards", t_gather_empty},
    {"gather bad input", t_gather_bad},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "copy", cases);
}
