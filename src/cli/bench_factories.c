/*
 * bench_factories.c - `dtensor bench factories`: create + destroy of every
 * factory's tensor at about --size bytes per rank, against memset.
 *
 * Create + destroy is timed together because the library caches freed
 * storage: after the warm-up a factory reuses its block, so this measures
 * the fill itself in steady state, which is what memset bounds.
 */
#include "bench.h"

typedef enum op {
  ZEROS,
  ONES,
  FULL,
  EMPTY,
  RAND,
  RANDN,
  RANDINT,
  ARANGE,
  LINSPACE,
  EYE
} op;

static const char *const op_names[] = {
    [ZEROS] = "zeros",     [ONES] = "ones",     [FULL] = "full",
    [EMPTY] = "empty",     [RAND] = "rand",     [RANDN] = "randn",
    [RANDINT] = "randint", [ARANGE] = "arange", [LINSPACE] = "linspace",
    [EYE] = "eye"};

static const struct {
  op op;
  dt_dtype dtype;
} cases[] = {
    {ZEROS, DT_FLOAT32},  {ZEROS, DT_FLOAT64},    {ONES, DT_FLOAT32},
    {ONES, DT_FLOAT64},   {FULL, DT_FLOAT32},     {FULL, DT_FLOAT64},
    {EMPTY, DT_FLOAT32},  {EMPTY, DT_FLOAT64},    {RAND, DT_FLOAT32},
    {RAND, DT_FLOAT64},   {RANDN, DT_FLOAT32},    {RANDN, DT_FLOAT64},
    {RANDINT, DT_INT64},  {ARANGE, DT_INT64},     {ARANGE, DT_FLOAT32},
    {ARANGE, DT_FLOAT64}, {LINSPACE, DT_FLOAT32}, {LINSPACE, DT_FLOAT64},
    {EYE, DT_FLOAT32},    {EYE, DT_FLOAT64},
};

/* eye is 2-D: rows of this many columns, split on axis 0 like the rest. */
#define EYE_COLS 1024

typedef struct job {
  dt_ctx *ctx;
  op op;
  dt_dtype dtype;
  int64_t n;          /* global elements of the 1-D shape */
  int64_t rows, cols; /* eye */
} job;

static dt_err create_destroy(void *arg) {
  const job *j = arg;
  const dt_opts o = {.dtype = j->dtype};
  const int64_t shape[1] = {j->n};
  dt_tensor *t = NULL;
  dt_err err = DT_ERR_ARG;
  bool is_int = !dt_dtype_is_float(j->dtype);
  switch (j->op) {
  case ZEROS:
    err = dt_zeros(j->ctx, 1, shape, &o, &t);
    break;
  case ONES:
    err = dt_ones(j->ctx, 1, shape, &o, &t);
    break;
  case FULL:
    err = dt_full(j->ctx, 1, shape, DT_F(1.5), &o, &t);
    break;
  case EMPTY:
    err = dt_empty(j->ctx, 1, shape, &o, &t);
    break;
  case RAND:
    err = dt_rand(j->ctx, 1, shape, &o, &t);
    break;
  case RANDN:
    err = dt_randn(j->ctx, 1, shape, &o, &t);
    break;
  case RANDINT:
    err = dt_randint(j->ctx, 0, 1000, 1, shape, &o, &t);
    break;
  case ARANGE:
    err = is_int ? dt_arange(j->ctx, DT_I(0), DT_I(j->n), DT_I(1), &o, &t)
                 : dt_arange(j->ctx, DT_F(0), DT_F(j->n), DT_F(1), &o, &t);
    break;
  case LINSPACE:
    err = dt_linspace(j->ctx, 0.0, 1.0, j->n, &o, &t);
    break;
  case EYE:
    err = dt_eye(j->ctx, j->rows, j->cols, &o, &t);
    break;
  }
  dt_tensor_destroy(&t);
  return err;
}

/* Sizes for about `bytes` per rank; returns the bytes each rank really holds
 * (the shape divides evenly, so every rank holds the same). */
static int64_t size_job(job *j, int ranks, int64_t bytes) {
  int64_t elsize = (int64_t)dt_dtype_size(j->dtype);
  int64_t count = bytes / elsize > 0 ? bytes / elsize : 1;
  j->n = count * ranks;
  j->cols = count < EYE_COLS ? count : EYE_COLS;
  j->rows = count / j->cols * ranks;
  return (j->op == EYE ? count / j->cols * j->cols : count) * elsize;
}

int bench_factories(const cli_env *env, const bench_args *args) {
  /* Keep every global size within int64 whatever --size says. */
  if (args->bytes > INT64_MAX / env->size)
    return cli_fail(env, "--size %lld is too large for %d ranks",
                    (long long)args->bytes, env->size);
  bench_report rep;
  if (bench_report_open(&rep, env, args->json))
    return 1;
  dt_ctx *ctx = NULL;
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &ctx);
  if (err) {
    bench_report_close(&rep, env);
    return cli_fail_lib(env, err);
  }
  MPI_Comm comm = dt_ctx_comm(ctx);

  /* The baseline writes a nonzero byte, as most factories do; memset of
   * zeros is shown beside it because zero stores can be much faster. */
  double base = 0.0, base0 = 0.0;
  err = bench_memset_baseline(comm, args->reps, args->bytes, 0x5a, &base);
  if (!err)
    err = bench_memset_baseline(comm, args->reps, args->bytes, 0, &base0);
  if (!err) {
    rep.baseline = "memset";
    rep.baseline_gbps = (double)args->bytes / base / 1e9;
    char title[256], note[160];
    snprintf(title, sizeof title,
             "dtensor bench factories: create + destroy of a tensor of "
             "%lld bytes per rank (1-D, split on axis 0; eye %d columns), "
             "median of %d reps of the slowest rank",
             (long long)args->bytes, EYE_COLS, args->reps);
    snprintf(note, sizeof note,
             "memset of zeros, for comparison: %.3f GB/s per rank",
             (double)args->bytes / base0 / 1e9);
    bench_report_header(&rep, title,
                        "memset(buf, 0x5a, bytes per rank) into a "
                        "pre-allocated, pre-touched buffer, one thread, "
                        "timed the same way",
                        note);
  }
  for (size_t k = 0; !err && k < sizeof cases / sizeof cases[0]; k++) {
    job j = {ctx, cases[k].op, cases[k].dtype, 0, 0, 0};
    int64_t bytes = size_job(&j, env->size, args->bytes);
    double secs = 0.0;
    err = bench_measure(comm, args->reps, create_destroy, &j, &secs);
    if (!err)
      bench_report_row(&rep, op_names[j.op], dt_dtype_name(j.dtype), bytes,
                       secs);
  }

  int status = err ? cli_fail_lib(env, err) : 0;
  /* The warm storage cache was part of the measurement, not of the result. */
  dt_cache_release();
  if (bench_report_close(&rep, env))
    status = 1;
  dt_err derr = dt_ctx_destroy(&ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
