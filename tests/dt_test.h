/*
 * dt_test.h - the shared CUnit + MPI harness. Every rank runs every test in
 * the same order (tests are collective). Assertions are non-fatal so no rank
 * leaves a test early and strands the others in a collective. Each test gets
 * a fresh context on MPI_COMM_WORLD (T_ctx) that the harness destroys after
 * the test; a leaked tensor makes that destroy fail and the test with it.
 */
#ifndef DT_TEST_H
#define DT_TEST_H

#include "dtensor.h"

#include <CUnit/CUnit.h>
#include <mpi.h>
#include <stdint.h>
#include <string.h>

extern dt_ctx *T_ctx;
extern int T_rank, T_size;

typedef struct dt_test_case {
  const char *name;
  void (*fn)(void);
} dt_test_case;

/* Run the cases as one CUnit suite on every rank; returns the exit status
 * (0 only when every rank passed every assertion). */
int dt_test_main(int argc, char **argv, const char *suite,
                 const dt_test_case *cases);

/* Assert a dtensor call succeeded; prints dt_last_error when it did not. */
#define T_OK(expr)                                                             \
  do {                                                                         \
    dt_err t_e_ = (expr);                                                      \
    if (t_e_ != DT_OK)                                                         \
      dt_test_report(__FILE__, __LINE__, #expr, t_e_);                         \
    CU_ASSERT_EQUAL(t_e_, DT_OK);                                              \
  } while (0)

/* Assert a call failed with `code`. */
#define T_ERR(expr, code)                                                      \
  do {                                                                         \
    dt_err t_e_ = (expr);                                                      \
    CU_ASSERT_EQUAL(t_e_, (code));                                             \
    if (t_e_ != (code))                                                        \
      dt_test_report(__FILE__, __LINE__, #expr, t_e_);                         \
  } while (0)

void dt_test_report(const char *file, int line, const char *expr, dt_err e);

/* Gather t to every rank into a malloc'd buffer (NULL on failure). */
void *dt_test_gather_all(const dt_tensor *t);

/* A context of this rank alone: the "1-rank result" reference. Destroyed by
 * the harness after the test. */
dt_ctx *dt_test_self_ctx(void);

/* Bitwise comparison of two gathered tensors. */
static inline int dt_test_same_bits(const void *a, const void *b, size_t n) {
  return n == 0 || memcmp(a, b, n) == 0;
}

#endif

/* A family of layouts every suite iterates over: default (split 0), split on
 * the last axis, replicated, explicit cuts giving rank 0 an empty box, and a
 * 2-D process grid. `cuts` is scratch space the options point into. */
enum { DT_TEST_NLAYOUTS = 5 };
typedef struct dt_test_cuts {
  int64_t c[DT_MAX_DIMS][65];
} dt_test_cuts;
dt_opts dt_test_layout(int k, int ndim, const int64_t *shape,
                       dt_test_cuts *cuts, const char **name);
