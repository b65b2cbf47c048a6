/*
 * overhead_c.c - the C side of python/bench/overhead.py: microseconds per
 * call of a 1-element dt_zeros, dt_clone and dt_add (with the destroy of the
 * result, as Python's reference counting does), median of `reps` runs of
 * `iters` calls. Prints "zeros US\nclone US\nadd US". One rank.
 *   overhead_c [iters] [reps]
 */
#include <dtensor.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  long iters = argc > 1 ? atol(argv[1]) : 20000;
  int reps = argc > 2 ? atoi(argv[2]) : 7;
  if (iters < 1 || reps < 1 || reps > 64)
    return 2;
  dt_ctx *ctx;
  DT_TRY(dt_ctx_create(MPI_COMM_WORLD, &ctx));
  int64_t one = 1;
  dt_tensor *a, *b, *o;
  DT_TRY(dt_zeros(ctx, 1, &one, NULL, &a));
  DT_TRY(dt_ones(ctx, 1, &one, NULL, &b));
  const char *names[3] = {"zeros", "clone", "add"};
  for (int op = 0; op < 3; op++) {
    double t[64];
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      for (long i = 0; i < iters; i++) {
        dt_err e = op == 0   ? dt_zeros(ctx, 1, &one, NULL, &o)
                   : op == 1 ? dt_clone(a, &o)
                             : dt_add(a, b, &o);
        if (e)
          return 1;
        dt_tensor_destroy(&o);
      }
      t[r] = (now() - t0) / iters * 1e6;
    }
    qsort(t, reps, sizeof t[0], cmp);
    printf("%s %.3f\n", names[op], t[reps / 2]);
  }
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  DT_TRY(dt_ctx_destroy(&ctx));
  MPI_Finalize();
  return 0;
}
