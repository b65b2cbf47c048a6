/*
 * bench.c - `dtensor bench SUBCOMMAND [--size BYTES] [--reps N] [--json FILE]`:
 * parses the options every bench shares and dispatches. A new benchmark is
 * one entry in `benches` plus a function using bench_report.c.
 */
#include "bench.h"

#include <string.h>

static const struct {
  const char *name;
  int (*run)(const cli_env *env, const bench_args *args);
} benches[] = {
    {"factories", bench_factories},
    {"copy", bench_copy},
    {"autograd", bench_autograd},
    {"io", bench_io},
};

enum { O_SIZE, O_REPS, O_JSON, O_DIR, O_COUNT };

static const cli_option options[O_COUNT] = {
    [O_SIZE] = {"size", true},
    [O_REPS] = {"reps", true},
    [O_JSON] = {"json", true},
    [O_DIR] = {"dir", true},
};

static int parse(const cli_env *env, int argc, char **argv, bench_args *a) {
  *a = (bench_args){.bytes = 64 << 20, .reps = 7, .json = NULL};
  for (int i = 2; i < argc; i++) {
    const char *v;
    int64_t x;
    switch (cli_getopt(env, argc, argv, &i, options, O_COUNT, &v)) {
    case O_SIZE:
      if (!cli_parse_bytes(v, &a->bytes) || a->bytes <= 0)
        return cli_fail(env,
                        "--size: expected a byte count > 0 (K, M, G "
                        "suffixes allowed), got '%s'",
                        v);
      a->size_given = true;
      break;
    case O_REPS:
      if (!cli_parse_i64(v, &x) || x < 1 || x > 100000)
        return cli_fail(env, "--reps: expected 1..100000, got '%s'", v);
      a->reps = (int)x;
      a->reps_given = true;
      break;
    case O_JSON:
      a->json = v;
      break;
    case O_DIR:
      a->dir = v;
      break;
    default:
      return 1;
    }
  }
  return 0;
}

int cli_bench(const cli_env *env, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    cli_usage(env, stdout);
    return 0;
  }
  if (argc < 2)
    return cli_fail(env,
                    "missing benchmark name (factories, copy, autograd, io)");
  for (size_t k = 0; k < sizeof benches / sizeof benches[0]; k++) {
    if (strcmp(argv[1], benches[k].name) != 0)
      continue;
    bench_args args;
    if (parse(env, argc, argv, &args))
      return 1;
    return benches[k].run(env, &args);
  }
  return cli_fail(env, "unknown benchmark '%s' (factories, copy, autograd, io)",
                  argv[1]);
}
