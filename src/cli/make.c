/*
 * make.c - `dtensor make FACTORY [options]`: create one tensor, print its
 * layout-invariant checksum (and with --print its PyTorch repr).
 *
 * The checksum line comes first and has a fixed format so scripts can compare
 * runs at different rank and thread counts.
 */
#include "cli.h"

#include <string.h>

enum {
  O_SHAPE,
  O_DTYPE,
  O_SEED,
  O_SPLIT,
  O_START,
  O_END,
  O_STEP,
  O_STEPS,
  O_BASE,
  O_VALUE,
  O_LOW,
  O_HIGH,
  O_DATA,
  O_PRINT,
  O_OUT,
  O_NAME,
  O_DEFLATE,
  O_CHUNK,
  O_SHUFFLE,
  O_COUNT
};

static const cli_option options[O_COUNT] = {
    [O_SHAPE] = {"shape", true},      [O_DTYPE] = {"dtype", true},
    [O_SEED] = {"seed", true},        [O_SPLIT] = {"split", true},
    [O_START] = {"start", true},      [O_END] = {"end", true},
    [O_STEP] = {"step", true},        [O_STEPS] = {"steps", true},
    [O_BASE] = {"base", true},        [O_VALUE] = {"value", true},
    [O_LOW] = {"low", true},          [O_HIGH] = {"high", true},
    [O_DATA] = {"data", true},        [O_PRINT] = {"print", false},
    [O_OUT] = {"out", true},          [O_NAME] = {"name", true},
    [O_DEFLATE] = {"deflate", true},  [O_CHUNK] = {"chunk", true},
    [O_SHUFFLE] = {"shuffle", false},
};

#define BIT(o) (1u << (o))
/* Options every factory takes. */
#define COMMON                                                                 \
  (BIT(O_DTYPE) | BIT(O_SEED) | BIT(O_SPLIT) | BIT(O_PRINT) | BIT(O_OUT) |     \
   BIT(O_NAME) | BIT(O_DEFLATE) | BIT(O_CHUNK) | BIT(O_SHUFFLE))

typedef enum factory {
  F_EMPTY,
  F_ZEROS,
  F_ONES,
  F_FULL,
  F_RAND,
  F_RANDN,
  F_RANDINT,
  F_ARANGE,
  F_LINSPACE,
  F_LOGSPACE,
  F_EYE,
  F_TENSOR
} factory;

static const struct {
  const char *name;
  factory f;
  unsigned
      accepts; /* beyond COMMON; a typo'd option is an error, not a no-op */
} factories[] = {
    {"empty", F_EMPTY, BIT(O_SHAPE)},
    {"zeros", F_ZEROS, BIT(O_SHAPE)},
    {"ones", F_ONES, BIT(O_SHAPE)},
    {"full", F_FULL, BIT(O_SHAPE) | BIT(O_VALUE)},
    {"rand", F_RAND, BIT(O_SHAPE)},
    {"randn", F_RANDN, BIT(O_SHAPE)},
    {"randint", F_RANDINT, BIT(O_SHAPE) | BIT(O_LOW) | BIT(O_HIGH)},
    {"arange", F_ARANGE, BIT(O_START) | BIT(O_END) | BIT(O_STEP)},
    {"linspace", F_LINSPACE, BIT(O_START) | BIT(O_END) | BIT(O_STEPS)},
    {"logspace", F_LOGSPACE,
     BIT(O_START) | BIT(O_END) | BIT(O_STEPS) | BIT(O_BASE)},
    {"eye", F_EYE, BIT(O_SHAPE)},
    {"tensor", F_TENSOR, BIT(O_DATA)},
};

/* Everything `make` was asked for, parsed and validated. */
typedef struct request {
  factory f;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_opts opts;
  bool seeded;
  uint64_t seed;
  bool print;
  dt_scalar start, end, step, value; /* arange, full */
  double fstart, fend, base;         /* linspace, logspace */
  int64_t steps, low, high;
  const char *data;
  const char *out, *name; /* --out FILE --name NAME: save the tensor */
  dt_save_opts save;      /* --deflate N --chunk BYTES --shuffle */
} request;

static int lookup_factory(const cli_env *env, const char *name, int *index) {
  for (size_t k = 0; k < sizeof factories / sizeof factories[0]; k++)
    if (strcmp(name, factories[k].name) == 0) {
      *index = (int)k;
      return 0;
    }
  return cli_fail(env,
                  "unknown factory '%s' (empty zeros ones full rand randn "
                  "randint arange linspace logspace eye tensor)",
                  name);
}

static int bad_value(const cli_env *env, int o, const char *v,
                     const char *want) {
  return cli_fail(env, "--%s: expected %s, got '%s'", options[o].name, want, v);
}

/* Turn one option's text into the request; the factory decides how to read
 * --start/--end (Python scalars for arange, plain numbers for linspace). */
static int apply(const cli_env *env, request *r, int o, const char *v) {
  int64_t i;
  switch (o) {
  case O_SHAPE:
    if (!cli_parse_shape(v, &r->ndim, r->shape))
      return bad_value(env, o, v, "up to 8 comma-separated sizes >= 0");
    if (r->f == F_EYE && (r->ndim < 1 || r->ndim > 2))
      return bad_value(env, o, v, "n or n,m for eye");
    return 0;
  case O_DTYPE:
    if (dt_dtype_from_name(v, &r->opts.dtype) != DT_OK)
      return bad_value(env, o, v, "float32, float64, int32, int64 or bool");
    return 0;
  case O_SEED:
    r->seeded = true;
    return cli_parse_u64(v, &r->seed)
               ? 0
               : bad_value(env, o, v, "an integer in [0, 2^64)");
  case O_SPLIT:
    if (strcmp(v, "none") == 0) {
      r->opts.layout = DT_REPLICATED;
      return 0;
    }
    /* The axis range depends on the shape: the library checks it. */
    if (!cli_parse_i64(v, &i) || i < -DT_MAX_DIMS || i >= DT_MAX_DIMS)
      return bad_value(env, o, v, "an axis or 'none'");
    r->opts.layout = DT_SPLIT;
    r->opts.split_axis = (int)i;
    return 0;
  case O_START:
  case O_END:
  case O_STEP: {
    dt_scalar s;
    if (!cli_parse_scalar(v, &s) || s.kind == DT_BOOL)
      return bad_value(env, o, v, "a number");
    double f = s.kind == DT_FLOAT64 ? s.f : (double)s.i;
    if (o == O_START) {
      r->start = s;
      r->fstart = f;
    } else if (o == O_END) {
      r->end = s;
      r->fend = f;
    } else {
      r->step = s;
    }
    return 0;
  }
  case O_STEPS:
    return cli_parse_i64(v, &r->steps) ? 0 : bad_value(env, o, v, "an integer");
  case O_BASE:
    return cli_parse_f64(v, &r->base) ? 0 : bad_value(env, o, v, "a number");
  case O_VALUE:
    return cli_parse_scalar(v, &r->value)
               ? 0
               : bad_value(env, o, v, "a number, true or false");
  case O_LOW:
    return cli_parse_i64(v, &r->low) ? 0 : bad_value(env, o, v, "an integer");
  case O_HIGH:
    return cli_parse_i64(v, &r->high) ? 0 : bad_value(env, o, v, "an integer");
  case O_DATA:
    r->data = v;
    return 0;
  case O_PRINT:
    r->print = true;
    return 0;
  case O_OUT:
    r->out = v;
    return 0;
  case O_NAME:
    r->name = v;
    return 0;
  case O_DEFLATE: /* the range is dt_save's to check */
    if (!cli_parse_i64(v, &i) || i < INT32_MIN || i > INT32_MAX)
      return bad_value(env, o, v, "a zlib level 0..9");
    r->save.deflate = (int)i;
    return 0;
  case O_CHUNK:
    if (!cli_parse_i64(v, &i) || i < 0)
      return bad_value(env, o, v, "a chunk size in bytes");
    r->save.chunk_bytes = (size_t)i;
    return 0;
  case O_SHUFFLE:
    r->save.shuffle = true;
    return 0;
  }
  return 1;
}

static int parse(const cli_env *env, int argc, char **argv, request *r) {
  if (argc < 2)
    return cli_fail(env, "missing FACTORY (try 'dtensor help')");
  int fi = 0;
  if (lookup_factory(env, argv[1], &fi))
    return 1;
  *r = (request){.f = factories[fi].f,
                 .ndim = 1,
                 .shape = {10},
                 .start = DT_I(0),
                 .end = DT_I(10),
                 .step = DT_I(1),
                 .value = DT_I(0),
                 .fstart = 0.0,
                 .fend = 1.0,
                 .base = 10.0,
                 .steps = 5,
                 .low = 0,
                 .high = 10};
  unsigned accepts = COMMON | factories[fi].accepts;
  for (int i = 2; i < argc; i++) {
    const char *v;
    int o = cli_getopt(env, argc, argv, &i, options, O_COUNT, &v);
    if (o < 0)
      return 1;
    if (!(accepts & BIT(o)))
      return cli_fail(env, "option --%s does not apply to '%s'",
                      options[o].name, factories[fi].name);
    if (apply(env, r, o, v))
      return 1;
  }
  if (r->f == F_TENSOR && !r->data)
    return cli_fail(env,
                    "'tensor' needs --data, e.g. --data \"[[1, 2], [3, 4]]\"");
  if (r->name && !r->out)
    return cli_fail(env, "--name needs --out FILE");
  if ((r->save.deflate || r->save.chunk_bytes || r->save.shuffle) && !r->out)
    return cli_fail(env, "--deflate, --chunk and --shuffle need --out FILE");
  return 0;
}

/* One collective library call per factory. */
static dt_err create(dt_ctx *ctx, const request *r, dt_tensor **out) {
  const dt_opts *o = &r->opts;
  switch (r->f) {
  case F_EMPTY:
    return dt_empty(ctx, r->ndim, r->shape, o, out);
  case F_ZEROS:
    return dt_zeros(ctx, r->ndim, r->shape, o, out);
  case F_ONES:
    return dt_ones(ctx, r->ndim, r->shape, o, out);
  case F_FULL:
    return dt_full(ctx, r->ndim, r->shape, r->value, o, out);
  case F_RAND:
    return dt_rand(ctx, r->ndim, r->shape, o, out);
  case F_RANDN:
    return dt_randn(ctx, r->ndim, r->shape, o, out);
  case F_RANDINT:
    return dt_randint(ctx, r->low, r->high, r->ndim, r->shape, o, out);
  case F_ARANGE:
    return dt_arange(ctx, r->start, r->end, r->step, o, out);
  case F_LINSPACE:
    return dt_linspace(ctx, r->fstart, r->fend, r->steps, o, out);
  case F_LOGSPACE:
    return dt_logspace(ctx, r->fstart, r->fend, r->steps, r->base, o, out);
  case F_EYE:
    return dt_eye(ctx, r->shape[0], r->ndim == 2 ? r->shape[1] : r->shape[0], o,
                  out);
  case F_TENSOR:
    return dt_parse(ctx, r->data, o, out);
  }
  return DT_ERR_ARG;
}

int cli_make(const cli_env *env, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    cli_usage(env, stdout);
    return 0;
  }
  request r;
  if (parse(env, argc, argv, &r))
    return 1;

  dt_ctx *ctx = NULL;
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &ctx);
  if (err)
    return cli_fail_lib(env, err);
  if (r.seeded)
    err = dt_manual_seed(ctx, r.seed);

  dt_tensor *t = NULL;
  uint64_t sum = 0;
  if (!err)
    err = create(ctx, &r, &t);
  if (!err)
    err = dt_checksum(t, &sum);
  if (!err && env->rank == 0) {
    printf("checksum 0x%016llx\n", (unsigned long long)sum);
    fflush(stdout);
  }
  if (!err && r.print)
    err = dt_print(t, stdout);
  if (!err && r.out) {
    const char *name = r.name ? r.name : "tensor";
    const dt_tensor *ts[1] = {t};
    err = dt_save(ctx, r.out, 1, &name, ts, &r.save);
  }

  int status = err ? cli_fail_lib(env, err) : 0;
  dt_tensor_destroy(&t);
  dt_err derr = dt_ctx_destroy(&ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
