/*
 * test_error - the error table, per-thread messages, and collective
 * agreement (same code and message on every rank).
 */
#include "dt_test.h"
#include "internal.h"

#include <stdlib.h>

static void t_table(void) {
  CU_ASSERT_STRING_EQUAL(dt_strerror(DT_OK), "success");
  CU_ASSERT_STRING_EQUAL(dt_err_name(DT_ERR_NOMEM), "DT_ERR_NOMEM");
  CU_ASSERT_STRING_EQUAL(dt_strerror((dt_err)1000), "unknown error");
  CU_ASSERT_STRING_EQUAL(dt_err_name((dt_err)-3), "DT_ERR_UNKNOWN");
  /* every code has a distinct name and a message */
  for (int a = 0; a < DT_ERR_COUNT_; a++) {
    CU_ASSERT(strlen(dt_strerror((dt_err)a)) > 3);
    for (int b = a + 1; b < DT_ERR_COUNT_; b++)
      CU_ASSERT(strcmp(dt_err_name((dt_err)a), dt_err_name((dt_err)b)) != 0);
  }
}

/* Messages name the public function once, even through nested calls. */
static void t_messages(void) {
  dt_tensor *t = NULL;
  T_ERR(dt_arange(T_ctx, DT_I(0), DT_I(1), DT_I(0), NULL, &t), DT_ERR_ARG);
  CU_ASSERT_STRING_EQUAL(dt_last_error(), "dt_arange: step must be nonzero");
  T_ERR(dt_new_tensor(NULL, 0, NULL, NULL, DT_FLOAT32, NULL, &t), DT_ERR_NULL);
  CU_ASSERT_STRING_EQUAL(dt_last_error(), "dt_new_tensor: src is NULL");
  const int64_t s[2] = {2, 3};
  T_ERR(dt_zeros(T_ctx, 2, s, &(dt_opts){.layout = DT_SPLIT, .split_axis = 5},
                 &t),
        DT_ERR_AXIS);
  CU_ASSERT_STRING_EQUAL(
      dt_last_error(),
      "dt_zeros: axis 5 is out of range for a 2-dimensional tensor");
}

/* dt__agree: the lowest failing rank's code and message reach everyone. */
static void t_agree(void) {
  MPI_Comm comm = dt_ctx_comm(T_ctx);
  CU_ASSERT_EQUAL(dt__agree(comm, DT_OK, 7), DT_OK);
  /* the last rank fails with its own message */
  dt_err local = DT_OK;
  if (T_rank == T_size - 1)
    local = dt__error(DT_ERR_IO, "disk full on rank %d", T_rank);
  dt_err e = dt__agree(comm, local, 0);
  CU_ASSERT_EQUAL(e, DT_ERR_IO);
  CU_ASSERT(strstr(dt_last_error(), "disk full on rank") != NULL);
  /* two ranks fail with different codes: the larger code wins everywhere */
  local = DT_OK;
  if (T_rank == 0)
    local = dt__error(DT_ERR_ARG, "bad arg");
  if (T_rank == T_size - 1)
    local = dt__error(DT_ERR_NOMEM, "no memory");
  e = dt__agree(comm, local, 0);
  CU_ASSERT_EQUAL(e, T_size == 1 ? DT_ERR_NOMEM : DT_ERR_NOMEM);
  CU_ASSERT(strstr(dt_last_error(), "no memory") != NULL);
  /* argument hashes that differ */
  e = dt__agree(comm, DT_OK, (uint64_t)(T_rank == 0));
  CU_ASSERT_EQUAL(e, T_size > 1 ? DT_ERR_MISMATCH : DT_OK);
}

/* A public function that calls another names itself, not the inner one
 * (issue 11: dt_load of a 1-D tensor with split axis 1 said "dt_empty"). */
static void t_nested_names(void) {
  /* one file per rank count: ctest runs np1..np4 side by side */
  char path[64];
  snprintf(path, sizeof path, "test_error_nested.np%d.h5", T_size);
  const int64_t n = 5;
  dt_tensor *t = NULL, *u = NULL;
  T_OK(dt_zeros(T_ctx, 1, &n, NULL, &t));
  const char *names[1] = {"x"};
  const dt_tensor *ts[1] = {t};
  T_OK(dt_save(T_ctx, path, 1, names, ts, NULL));
  T_ERR(dt_load(T_ctx, path, "x",
                &(dt_opts){.layout = DT_SPLIT, .split_axis = 1}, &u),
        DT_ERR_AXIS);
  CU_ASSERT_PTR_NULL(u);
  CU_ASSERT_STRING_EQUAL(
      dt_last_error(),
      "dt_load: axis 1 is out of range for a 1-dimensional tensor");
  dt_tensor_destroy(&t);
  MPI_Barrier(MPI_COMM_WORLD);
  if (T_rank == 0)
    remove(path);
  /* a message agreed from another rank loses the inner name too */
  MPI_Comm comm = dt_ctx_comm(T_ctx);
  dt_err local = DT_OK;
  if (T_rank == T_size - 1)
    local = dt__api(dt__error(DT_ERR_ARG, "bad value"), "dt_inner");
  dt_err e = dt__api(dt__agree(comm, local, 0), "dt_outer");
  CU_ASSERT_EQUAL(e, DT_ERR_ARG);
  CU_ASSERT(strncmp(dt_last_error(), "dt_outer: bad value", 19) == 0);
  CU_ASSERT(strstr(dt_last_error(), "dt_inner") == NULL);
}

static const dt_test_case cases[] = {{"error table", t_table},
                                     {"messages name the function", t_messages},
                                     {"collective agreement", t_agree},
                                     {"nested calls name the outer function",
                                      t_nested_names},
                                     {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "error", cases);
}
