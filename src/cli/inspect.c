/*
 * inspect.c - `dtensor inspect FILE`: list a checkpoint's tensors and verify
 * every checksum by loading each one (split on axis 0 over the job's ranks,
 * gradient included), and list temporaries that interrupted saves left
 * beside it; then list the file's plain HDF5 datasets (any HDF5 file's:
 * name, type, the dtype dt_load_dataset gives, shape, chunks, filters).
 * `dtensor inspect FILE --dataset NAME` loads one dataset with
 * dt_load_dataset and prints its dt_checksum. Exits 1 when the file cannot
 * be listed or any tensor fails to load or verify.
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

/* Rank 0: the datasets without dtensor attributes. */
static void list_plain(const char *path, int nd, const dt_dataset_info *d,
                       bool ckpt) {
  int np = 0, w = 4;
  for (int i = 0; i < nd; i++)
    if (!d[i].is_tensor) {
      np++;
      int l = (int)strlen(d[i].name);
      w = l > w ? l : w;
    }
  if (ckpt && np == 0)
    return;
  if (ckpt)
    printf("%d other HDF5 dataset(s) (not tensors; dt_load_dataset reads "
           "them):\n",
           np);
  else
    printf("%s: not a dtensor checkpoint; %d HDF5 dataset(s) "
           "(dt_load_dataset reads them)\n",
           path, np);
  if (np == 0)
    return;
  printf("%-*s  %-14s  %-8s  %-16s  %-12s  %s\n", w, "name", "type",
         "loads as", "shape", "chunks", "filters");
  for (int i = 0; i < nd; i++) {
    if (d[i].is_tensor)
      continue;
    char shape[160] = "-", chunk[160] = "-";
    if (d[i].ndim >= 0)
      cli_shape_str(d[i].ndim, d[i].shape, shape, sizeof shape);
    if (d[i].chunked && d[i].ndim > 0)
      cli_shape_str(d[i].ndim, d[i].chunk, chunk, sizeof chunk);
    printf("%-*s  %-14s  %-8s  %-16s  %-12s  %s\n", w, d[i].name, d[i].type,
           d[i].dtype ? dt_dtype_name(d[i].dtype) : "-", shape,
           d[i].chunked ? chunk : strstr(d[i].type, "link") ? "-" : "contiguous",
           d[i].filters[0] ? d[i].filters : "-");
  }
}

/* `--dataset NAME`: load it with dt_load_dataset, print its checksum. */
static int inspect_dataset(const cli_env *env, dt_ctx *ctx, const char *path,
                           const char *name) {
  dt_tensor *t = NULL;
  uint64_t c = 0;
  dt_err err = dt_load_dataset(ctx, path, name, NULL, &t);
  if (!err)
    err = dt_checksum(t, &c);
  int status = 0;
  if (err) {
    status = cli_fail_lib(env, err);
  } else if (env->rank == 0) {
    char shape[160];
    cli_shape_str(dt_ndim(t), dt_shape(t), shape, sizeof shape);
    printf("%s  %s  %s  checksum 0x%016llx\n", name,
           dt_dtype_name(dt_dtype_of(t)), shape, (unsigned long long)c);
    fflush(stdout);
  }
  dt_tensor_destroy(&t);
  dt_err derr = dt_ctx_destroy(&ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}

int cli_inspect(const cli_env *env, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    cli_usage(env, stdout);
    return 0;
  }
  const char *dataset = NULL;
  if (argc == 4 && strcmp(argv[2], "--dataset") == 0)
    dataset = argv[3];
  else if (argc != 2)
    return cli_fail(env, "expected exactly one FILE (dtensor inspect FILE "
                         "[--dataset NAME])");
  const char *path = argv[1];

  dt_ctx *ctx = NULL;
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &ctx);
  if (err)
    return cli_fail_lib(env, err);
  if (dataset)
    return inspect_dataset(env, ctx, path, dataset);
  int nd = 0;
  dt_dataset_info *d = NULL;
  bool ckpt = false;
  err = dt_list_datasets(ctx, path, &nd, &d, &ckpt);
  if (!err && !ckpt) {
    if (env->rank == 0) {
      list_plain(path, nd, d, false);
      fflush(stdout);
    }
    free(d);
    err = dt_ctx_destroy(&ctx);
    return err ? cli_fail_lib(env, err) : 0;
  }
  if (err) {
    int status = cli_fail_lib(env, err);
    dt_ctx_destroy(&ctx);
    return status;
  }
  int n = 0;
  dt_file_entry *e = NULL;
  uint64_t seed = 0, offset = 0;
  err = dt_list(ctx, path, &n, &e);
  if (!err)
    err = dt_load_rng_state(ctx, path);
  if (!err)
    err = dt_rng_state(ctx, &seed, &offset);
  if (err) {
    free(d);
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
  if (env->rank == 0) {
    list_plain(path, nd, d, true);
    fflush(stdout);
  }
  free(d);
  int status = 0;
  if (bad)
    status = cli_fail(env, "%d of %d tensor(s) failed verification", bad, n);
  dt_err derr = dt_ctx_destroy(&ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
