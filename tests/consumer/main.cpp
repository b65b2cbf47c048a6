// The C++ consumer: dtensor.h compiles as C++11 (-Wall -Wextra -pedantic
// -Werror), options are filled the C++ way, DT_TRY reports and returns, and
// the tensor's checksum is the one the same tensor has on one rank.
#include <dtensor.h>

#include <cstdio>
#include <cstring>

namespace {

dt_err check(dt_ctx *ctx, dt_ctx *self) {
  const int64_t shape[2] = {13, 3};
  dt_opts o{}; // every field zero: the defaults
  o.dtype = DT_FLOAT64;
  o.layout = DT_SPLIT;
  o.split_axis = 1;
  dt_tensor *t = nullptr, *r = nullptr, *f = nullptr;
  uint64_t a = 0, b = 1;
  dt_err err = DT_OK;
  DT_TRY_GOTO(dt_randn(ctx, 2, shape, &o, &t), err, done);
  DT_TRY_GOTO(dt_randn(self, 2, shape, &o, &r), err, done);
  DT_TRY_GOTO(dt_checksum(t, &a), err, done);
  DT_TRY_GOTO(dt_checksum(r, &b), err, done);
  if (a != b) {
    std::fprintf(stderr, "consumer_cxx: checksums differ\n");
    err = DT_ERR_MISMATCH;
    goto done;
  }
  // scalars: DT_I/DT_F/DT_B are C++11 temporaries here
  DT_TRY_GOTO(dt_full(ctx, 2, shape, DT_F(2.5), nullptr, &f), err, done);
  if (dt_dtype_of(f) != DT_FLOAT32)
    err = DT_ERR_DTYPE;
done:
  dt_tensor_destroy(&f);
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&t);
  return err;
}

// DT_TRY returns the failure: a bad argument must come back, reported.
dt_err must_fail(dt_ctx *ctx) {
  dt_tensor *t = nullptr;
  DT_TRY(dt_arange(ctx, DT_I(0), DT_I(5), DT_I(0), nullptr, &t));
  dt_tensor_destroy(&t);
  return DT_OK;
}

} // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  dt_ctx *ctx = nullptr, *self = nullptr;
  bool ok = dt_ctx_create(MPI_COMM_WORLD, &ctx) == DT_OK &&
            dt_ctx_create(MPI_COMM_SELF, &self) == DT_OK &&
            check(ctx, self) == DT_OK;
  if (ok) {
    dt_err e = must_fail(ctx);
    ok = e == DT_ERR_ARG && std::strstr(dt_last_error(), "dt_arange") != nullptr;
    if (!ok)
      std::fprintf(stderr, "consumer_cxx: DT_TRY gave %s\n", dt_err_name(e));
  }
  dt_ctx_destroy(&self);
  dt_ctx_destroy(&ctx);
  if (ok && rank == 0)
    std::printf("consumer_cxx ok\n");
  MPI_Finalize();
  return ok ? 0 : 1;
}
