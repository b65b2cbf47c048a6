/*
 * least_squares - a distributed linear least-squares fit by gradient descent.
 *
 *   X ~ randn(n, k), rows split over the ranks;  y = X w* + 0.01 noise
 *   w = 0 (replicated, requires grad)
 *   repeat: loss = mean((X w - y)^2); loss.backward(); w -= lr * w.grad
 *
 * Every printed loss is bitwise identical at any rank count and thread
 * count: the data come from the layout-invariant generator, each row's
 * product is computed alone, and the two reductions that cross ranks (the
 * mean and the gradient X^T r) are exact.
 *
 *   mpirun -np 4 build/least_squares [--n 2000] [--k 16] [--steps 30] [--lr
 * 0.1]
 */
#include <dtensor.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                            \
  do {                                                                         \
    dt_err e_ = (call);                                                        \
    if (e_ != DT_OK) {                                                         \
      if (rank == 0)                                                           \
        fprintf(stderr, "least_squares: %s\n", dt_last_error());               \
      MPI_Finalize();                                                          \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int64_t n = 2000, k = 16, steps = 30;
  double lr = 0.1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--n"))
      n = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--k"))
      k = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--steps"))
      steps = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--lr"))
      lr = atof(argv[i + 1]);
  }
  dt_ctx *ctx = NULL;
  CHECK(dt_ctx_create(MPI_COMM_WORLD, &ctx));
  CHECK(dt_manual_seed(ctx, 2024));
  dt_opts f64 = {.dtype = DT_FLOAT64};
  dt_opts rep = {.dtype = DT_FLOAT64, .layout = DT_REPLICATED};
  const int64_t xs[2] = {n, k}, ws[2] = {k, 1}, ys[2] = {n, 1};
  dt_tensor *X = NULL, *wstar = NULL, *noise = NULL, *y = NULL, *w = NULL;
  CHECK(dt_randn(ctx, 2, xs, &f64, &X));
  CHECK(dt_randn(ctx, 2, ws, &rep, &wstar));
  CHECK(dt_randn(ctx, 2, ys, &f64, &noise));
  {
    dt_tensor *xw = NULL, *nz = NULL;
    CHECK(dt_matmul(X, wstar, &xw));
    CHECK(dt_mul_scalar(noise, 0.01, &nz));
    CHECK(dt_add(xw, nz, &y));
    dt_tensor_destroy(&xw);
    dt_tensor_destroy(&nz);
  }
  CHECK(dt_zeros(ctx, 2, ws,
                 &(dt_opts){.dtype = DT_FLOAT64,
                            .layout = DT_REPLICATED,
                            .requires_grad = true},
                 &w));
  if (rank == 0)
    printf("# least squares: n=%lld k=%lld lr=%g on %d rank(s)\n", (long long)n,
           (long long)k, lr, dt_ctx_size(ctx));
  for (int64_t step = 0; step < steps; step++) {
    dt_tensor *pred = NULL, *r = NULL, *r2 = NULL, *loss = NULL, *upd = NULL;
    CHECK(dt_matmul(X, w, &pred));
    CHECK(dt_sub(pred, y, &r));
    CHECK(dt_pow_scalar(r, 2.0, &r2));
    CHECK(dt_mean(r2, &loss));
    CHECK(dt_backward(loss, NULL, false));
    double l = *(double *)dt_local_data(loss); /* replicated 0-d */
    if (rank == 0)
      printf("step %3lld loss %a  (%.17g)\n", (long long)step, l, l);
    /* w -= lr * w.grad, outside the graph */
    bool prev;
    CHECK(dt_set_grad_enabled(ctx, false, &prev));
    CHECK(dt_mul_scalar(dt_grad(w), lr, &upd));
    CHECK(dt_sub_(w, upd));
    CHECK(dt_set_grad_enabled(ctx, prev, NULL));
    CHECK(dt_zero_grad(w));
    dt_tensor_destroy(&upd);
    dt_tensor_destroy(&loss);
    dt_tensor_destroy(&r2);
    dt_tensor_destroy(&r);
    dt_tensor_destroy(&pred);
  }
  uint64_t sum = 0;
  CHECK(dt_checksum(w, &sum));
  if (rank == 0)
    printf("final w checksum 0x%016llx\n", (unsigned long long)sum);
  dt_tensor_destroy(&w);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&noise);
  dt_tensor_destroy(&wstar);
  dt_tensor_destroy(&X);
  CHECK(dt_ctx_destroy(&ctx));
  MPI_Finalize();
  return 0;
}
