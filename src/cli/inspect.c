/*
 * inspect.c - `dtensor inspect FILE`: list a checkpoint's tensors and verify
 * every checksum by loading each one (split on axis 0 over the job's ranks,
 * gradient included), and list temporaries that interrupted saves left
 * beside it. Exits 1 when the file cannot be listed or any tensor fails to
 * load or verify.
 */
#include "cli.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Rank 0: list the temporaries ".<file>.tmp.*" that interrupted saves to
 * `path` left beside it (the next successful save removes them). */
static void list_leftovers(const cli_env *env, const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char dir[4096], prefix[512];
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path)
                                          : 1,
           slash ? path : ".");
  snprintf(prefix, sizeof prefix, ".%.400s.tmp.", base);
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      printf("leftover temporary of an interrupted save: %s/%s (removed by "
             "the next successful save)\n",
             dir, e->d_name);
  if (d)
    closedir(d);
  (void)env;
}

/* What loading one tensor says about it: "ok", "CHECKSUM MISMATCH", or the
 * error's name. */
static const char *verify_one(dt_ctx *ctx, const char *path, const char *name,
                              dt_err *err) {
  dt_tensor *t = NULL;
  *err = dt_load(ctx, path, name, NULL, &t);
  dt_tensor_destroy(&t);
  if (*err == DT_OK)
    return "ok";
  return *err == DT_ERR_CHECKSUM ? "CHECKSUM MISMATCH" : dt_err_name(*err);
}

int cli_inspect(const cli_env *env, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    cli_usage(env, stdout);
    return 0;
  }
  if (argc != 2)
    return cli_fail(env, "expected exactly one FILE (dtensor inspect FILE)");
  const char *path = argv[1];

  dt_ctx *ctx = NULL;
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &ctx);
  if (err)
    return cli_fail_lib(env, err);
  int n = 0;
  dt_file_entry *e = NULL;
  uint64_t seed = 0, offset = 0;
  err = dt_list(ctx, path, &n, &e);
  if (!err)
    err = dt_load_rng_state(ctx, path);
  if (!err)
    err = dt_rng_state(ctx, &seed, &offset);
  if (err) {
    int status = cli_fail_lib(env, err);
    dt_ctx_destroy(&ctx);
    return status;
  }

  int w = 4;
  for (int i = 0; i < n; i++) {
    int l = (int)strlen(e[i].name);
    w = l > w ? l : w;
  }
  if (env->rank == 0) {
    printf("%s: %d tensor(s), generator seed %llu offset %llu\n", path, n,
           (unsigned long long)seed, (unsigned long long)offset);
    list_leftovers(env, path);
    printf("%-*s  %-7s  %-16s  %-22s  %-13s  %-4s  %-18s  %s\n", w, "name",
           "dtype", "shape", "saved layout", "requires_grad", "grad",
           "checksum", "verified");
    fflush(stdout);
  }
  int bad = 0;
  for (int i = 0; i < n; i++) {
    dt_err verr;
    const char *status = verify_one(ctx, path, e[i].name, &verr);
    if (verr)
      bad++;
    if (env->rank != 0)
      continue;
    char shape[160];
    cli_shape_str(e[i].ndim, e[i].shape, shape, sizeof shape);
    printf("%-*s  %-7s  %-16s  %-22s  %-13s  %-4s  0x%016llx  %s\n", w,
           e[i].name, dt_dtype_name(e[i].dtype), shape, e[i].layout,
           e[i].requires_grad ? "True" : "False", e[i].has_grad ? "yes" : "no",
           (unsigned long long)e[i].checksum, status);
    if (verr)
      fprintf(stderr, "%s: %s (%s)\n", env->name, dt_last_error(),
              dt_err_name(verr));
    fflush(stdout);
  }
  free(e);
  int status = 0;
  if (bad)
    status = cli_fail(env, "%d of %d tensor(s) failed verification", bad, n);
  dt_err derr = dt_ctx_destroy(&ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
