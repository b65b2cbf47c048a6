/*
 * test_bounds - arithmetic on sizes the user gives: no signed overflow
 * (UBSan in the asan stage), a clear error or a correct result instead.
 * Runs at 1-4 ranks.
 */
#include "dt_test.h"

#include <stdint.h>

/* dt_from_buffer added up the volumes of the declared boxes in int64: two
 * whole-tensor boxes of 2^62 bools overflowed the total (UBSan: signed
 * overflow in check_tiling; at 5 ranks the wrapped total even matched).
 * It also multiplied the local extents before checking them. */
static void t_from_buffer_boxes(void) {
  dt_tensor *t = NULL;
  /* a local shape whose product overflows, in a 4 x 4 tensor */
  const int64_t s2[2] = {4, 4};
  float buf[16] = {0};
  int64_t st2[2] = {0, 0}, ls2[2] = {0, 0};
  if (T_rank == 0) {
    ls2[0] = INT64_C(1) << 33;
    ls2[1] = INT64_C(1) << 33;
  }
  if (T_rank == T_size - 1 && T_size > 1) {
    ls2[0] = 4;
    ls2[1] = 4;
  }
  dt_err e = dt_from_buffer(T_ctx, T_rank == 0 ? NULL : buf, DT_FLOAT32, 2,
                            s2, st2, ls2, &t);
  CU_ASSERT(e == DT_ERR_NULL || e == DT_ERR_LAYOUT);
  int lo = (int)e, hi = (int)e;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  CU_ASSERT_EQUAL(lo, hi);
  CU_ASSERT_PTR_NULL(t);

  /* every rank declares the whole 2^31 x 2^31 bool tensor: the volumes add
   * up past 2^63 from 2 ranks on */
  const int64_t s3[2] = {INT64_C(1) << 31, INT64_C(1) << 31};
  int64_t st3[2] = {0, 0}, ls3[2] = {s3[0], s3[1]};
  T_ERR(dt_from_buffer(T_ctx, buf, DT_BOOL, 2, s3, st3, ls3, &t),
        T_size == 1 ? DT_OK : DT_ERR_LAYOUT);
  dt_tensor_destroy(&t);
}

static const dt_test_case cases[] = {
    {"from_buffer: box arithmetic cannot overflow", t_from_buffer_boxes},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "bounds", cases);
}
