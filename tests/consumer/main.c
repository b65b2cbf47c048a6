/* Creates a random tensor and checks its checksum is the 1-rank one. */
#include <dtensor.h>
#include <stdio.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  dt_ctx *ctx = NULL, *self = NULL;
  dt_tensor *t = NULL, *r = NULL;
  uint64_t a = 0, b = 1;
  const int64_t shape[2] = {13, 3};
  int ok = dt_ctx_create(MPI_COMM_WORLD, &ctx) == DT_OK &&
           dt_ctx_create(MPI_COMM_SELF, &self) == DT_OK &&
           dt_randn(ctx, 2, shape, NULL, &t) == DT_OK &&
           dt_randn(self, 2, shape, NULL, &r) == DT_OK &&
           dt_checksum(t, &a) == DT_OK && dt_checksum(r, &b) == DT_OK && a == b;
  if (!ok)
    fprintf(stderr, "consumer: %s\n", dt_last_error());
  dt_tensor_destroy(&t);
  dt_tensor_destroy(&r);
  dt_ctx_destroy(&self);
  dt_ctx_destroy(&ctx);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (ok && rank == 0)
    printf("consumer ok\n");
  MPI_Finalize();
  return ok ? 0 : 1;
}
