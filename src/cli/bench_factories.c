/*
 * bench_factories.c - family "factories": create + destroy of every
 * factory's tensor at about --size bytes per rank (1-D, split on axis 0; eye
 * 2-D with EYE_COLS columns), twice:
 *
 *   warm   the storage cache on (as loops that create and drop tensors run):
 *          after the warm-up a factory reuses its block, so this is the fill
 *          itself, which the limit bounds;
 *   fresh  the cache off (dt_cache_set_limit(0)): every call gets new memory
 *          and pays its page faults, what a user's first tensor costs; the
 *          limit then also allocates fresh memory per call.
 *
 * Limits, measured in the same run with the same threads: memset(0) for
 * zeros and eye; the best of memset and non-temporal stores of a nonzero
 * byte for ones, full, arange, linspace, logspace; raw Philox words
 * (dt_philox_fill, the same build's generator) of the same bytes for rand,
 * randn, randint. empty allocates only: a latency (us per call), shown
 * against one 8-byte MPI_Allreduce, without a target.
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
  LOGSPACE,
  EYE
} op;

static const char *const op_names[] = {
    [ZEROS] = "zeros",       [ONES] = "ones",     [FULL] = "full",
    [EMPTY] = "empty",       [RAND] = "rand",     [RANDN] = "randn",
    [RANDINT] = "randint",   [ARANGE] = "arange", [LINSPACE] = "linspace",
    [LOGSPACE] = "logspace", [EYE] = "eye"};

/* Which limit bounds each op. */
typedef enum limit_kind { L_ZERO, L_FILL, L_PHILOX, L_LATENCY } limit_kind;

static const struct {
  op op;
  dt_dtype dtype;
  limit_kind limit;
  double target; /* the speed table (issue "Speed"), warm rows */
} cases[] = {
    {ZEROS, DT_FLOAT32, L_ZERO, 0.9},    {ZEROS, DT_FLOAT64, L_ZERO, 0.9},
    {ONES, DT_FLOAT32, L_FILL, 0.85},    {ONES, DT_FLOAT64, L_FILL, 0.85},
    {FULL, DT_FLOAT32, L_FILL, 0.85},    {FULL, DT_FLOAT64, L_FILL, 0.85},
    {EMPTY, DT_FLOAT32, L_LATENCY, NAN}, {RAND, DT_FLOAT32, L_PHILOX, 0.85},
    {RAND, DT_FLOAT64, L_PHILOX, 0.7},   {RANDN, DT_FLOAT32, L_PHILOX, 0.45},
    {RANDN, DT_FLOAT64, L_PHILOX, 0.3},  {RANDINT, DT_INT64, L_PHILOX, 0.6},
    {ARANGE, DT_INT64, L_FILL, 0.6},     {ARANGE, DT_FLOAT32, L_FILL, 0.6},
    {ARANGE, DT_FLOAT64, L_FILL, 0.6},   {LINSPACE, DT_FLOAT32, L_FILL, 0.6},
    {LINSPACE, DT_FLOAT64, L_FILL, 0.6}, {LOGSPACE, DT_FLOAT32, L_FILL, 0.6},
    {LOGSPACE, DT_FLOAT64, L_FILL, 0.6}, {EYE, DT_FLOAT32, L_ZERO, 0.9},
    {EYE, DT_FLOAT64, L_ZERO, 0.9},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

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
  case LOGSPACE:
    err = dt_logspace(j->ctx, 0.0, 2.0, j->n, 10.0, &o, &t);
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

/* ---- the Philox limit ---------------------------------------------------- */

typedef struct philox_job {
  uint32_t *out;
  int64_t blocks;
  bool fresh;
} philox_job;

static volatile uint32_t philox_sink;

static dt_err philox_once(void *arg) {
  philox_job *j = arg;
  uint32_t *o = j->out;
  if (j->fresh && posix_memalign((void **)&o, 64, (size_t)j->blocks * 16))
    return DT_ERR_NOMEM;
  dt_err err = dt_philox_fill(7, 0, 0, j->blocks, o);
  philox_sink = o[4 * j->blocks - 1];
  if (j->fresh)
    free(o);
  return err;
}

static dt_err philox_limit(bench *b, int64_t bytes, bool fresh,
                           bench_stats *st) {
  philox_job j = {NULL, bytes / 16 > 0 ? bytes / 16 : 1, fresh};
  if (!fresh)
    j.out = bench_buffer((size_t)j.blocks * 16);
  if (!bench_all_ok(b->comm, fresh || j.out))
    return bench_fail(b, DT_ERR_NOMEM, "cannot allocate the Philox buffer");
  b->ops_planned++;
  dt_err err = bench_time(b, fresh ? "limit philox (fresh)" : "limit philox",
                          NULL, philox_once, &j, st);
  free(j.out);
  return err;
}

/* ---- the family ---------------------------------------------------------- */

/* A limit, measured the first time a row needs it. */
typedef struct lim {
  bool have;
  const char *name;
  bench_stats st;
} lim;

static dt_err need_limit(bench *b, limit_kind k, bool fresh, lim *l) {
  if (l->have)
    return DT_OK;
  size_t bytes = (size_t)b->args->bytes;
  dt_err err = DT_OK;
  switch (k) {
  case L_ZERO:
    l->name = "memset(0)";
    err = bench_limit(b, BK_MEMSET, 0, bytes, fresh, &l->st);
    break;
  case L_FILL:
    err = bench_limit_best(b, BK_MEMSET, BK_NT_FILL, 0x5a, bytes, fresh, &l->st,
                           &l->name);
    break;
  case L_PHILOX:
    l->name = "philox";
    err = philox_limit(b, (int64_t)bytes, fresh, &l->st);
    break;
  case L_LATENCY:
    l->name = "allreduce8";
    err = bench_allreduce8(b, &l->st);
    break;
  }
  l->have = !err;
  return err;
}

/* Back to the limit in force before (DT_CACHE_BYTES or the default). */
static void cache_restore(void) {
  const char *e = getenv("DT_CACHE_BYTES");
  char *end = NULL;
  unsigned long long v = e && *e ? strtoull(e, &end, 10) : 0;
  dt_cache_set_limit(e && *e && end && *end == '\0' ? (size_t)v
                                                    : (size_t)1 << 30);
}

dt_err bench_factories(bench *b) {
  lim limits[2][4];
  memset(limits, 0, sizeof limits);
  dt_err err = DT_OK;
  for (int fresh = 0; fresh < 2 && !err; fresh++) {
    if (fresh)
      dt_cache_set_limit(0);
    for (int k = 0; k < NCASES && !err; k++) {
      char name[40];
      snprintf(name, sizeof name, "%s%s", op_names[cases[k].op],
               fresh ? ".fresh" : "");
      const char *dtype = dt_dtype_name(cases[k].dtype);
      if (!bench_wants(b, name, dtype))
        continue;
      job j = {b->ctx, cases[k].op, cases[k].dtype, 0, 0, 0};
      int64_t bytes = size_job(&j, b->env->size, b->args->bytes);
      lim *l = &limits[fresh][cases[k].limit];
      err = need_limit(b, cases[k].limit, fresh, l);
      bench_row r = {.op = name,
                     .dtype = dtype,
                     .unit =
                         cases[k].limit == L_LATENCY ? BENCH_USEC : BENCH_GBPS,
                     .bytes = bytes,
                     .global_bytes = bytes * b->env->size,
                     .limit = l->name,
                     .lim = l->st,
                     .target = fresh ? NAN : cases[k].target};
      char what[64];
      snprintf(what, sizeof what, "%s %s", name, dtype);
      if (!err)
        err = bench_time(b, what, NULL, create_destroy, &j, &r.t);
      if (err)
        break;
      /* the limit ran on --size bytes; the row may hold a little less */
      if (r.unit == BENCH_GBPS && bytes != b->args->bytes) {
        double f = (double)bytes / (double)b->args->bytes;
        r.lim.med *= f;
        r.lim.min *= f;
        r.lim.max *= f;
      }
      bench_emit(b, &r);
    }
    if (fresh)
      cache_restore();
  }
  return err;
}
