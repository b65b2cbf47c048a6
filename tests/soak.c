/*
 * soak - resident memory stays flat over many cycles, and a job whose rank
 * is killed mid-copy ends (driven by soak.sh and kill_copy.sh).
 *
 *   soak cycles io_cycles dir   cycles of create / copy_ / deepcopy /
 *                               destroy, then io_cycles of dt_save /
 *                               dt_load / destroy in dir; VmRSS (from
 *                               /proc/self/status) after a warm-up tenth
 *                               and at the end, per rank; exits 1 when any
 *                               rank grew by more than DT_SOAK_MAX_KB
 *                               (default 2048) or a call failed.
 *   soak --spin dir             copy_ in a loop forever; each rank writes
 *                               its pid to dir/pid.<rank> once the loop runs.
 * Public API only.
 */
#include "dtensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank;

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = atol(line + 6);
  if (f)
    fclose(f);
  return kb;
}

#define CHECK(expr)                                                            \
  do {                                                                         \
    dt_err e_ = (expr);                                                        \
    if (e_ != DT_OK) {                                                         \
      fprintf(stderr, "[rank %d] %s: %s\n", rank, #expr, dt_last_error());     \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/* One cycle: two layouts of a small uneven tensor, a copy between them (a
 * redistribution), a deepcopy, all destroyed. */
static int cycle(dt_ctx *ctx, long k) {
  const int64_t shape[2] = {37, 5 + k % 3};
  dt_opts col = {.dtype = DT_FLOAT64, .layout = DT_SPLIT, .split_axis = 1};
  dt_tensor *a = NULL, *b = NULL, *c = NULL;
  CHECK(dt_randn(ctx, 2, shape, &(dt_opts){.dtype = DT_FLOAT64}, &a));
  CHECK(dt_zeros(ctx, 2, shape, &col, &b));
  CHECK(dt_copy_(b, a));
  CHECK(dt_deepcopy(b, ctx, &c));
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&c);
  return 0;
}

static int io_cycle(dt_ctx *ctx, const char *path, long k) {
  const int64_t shape[2] = {9, 4};
  dt_tensor *a = NULL, *b = NULL;
  CHECK(dt_rand(ctx, 2, shape, NULL, &a));
  const char *names[1] = {"a"};
  const dt_tensor *ts[1] = {a};
  CHECK(dt_save(ctx, path, 1, names, ts, NULL));
  CHECK(dt_load(ctx, path, "a", k % 2 ? &(dt_opts){.layout = DT_REPLICATED}
                                      : NULL,
                &b));
  uint64_t x = 0, y = 1;
  CHECK(dt_checksum(a, &x));
  CHECK(dt_checksum(b, &y));
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  if (x != y) {
    fprintf(stderr, "[rank %d] loaded tensor differs\n", rank);
    return 1;
  }
  return 0;
}

static int spin(dt_ctx *ctx, const char *dir) {
  const int64_t shape[2] = {64, 33};
  dt_opts col = {.layout = DT_SPLIT, .split_axis = 1};
  dt_tensor *a = NULL, *b = NULL;
  CHECK(dt_randn(ctx, 2, shape, NULL, &a));
  CHECK(dt_zeros(ctx, 2, shape, &col, &b));
  CHECK(dt_copy_(b, a));
  char path[4096];
  snprintf(path, sizeof path, "%s/pid.%d", dir, rank);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
  }
  for (;;)
    CHECK(dt_copy_(b, a));
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  dt_ctx *ctx = NULL;
  if (dt_ctx_create(MPI_COMM_WORLD, &ctx) != DT_OK) {
    fprintf(stderr, "dt_ctx_create: %s\n", dt_last_error());
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  if (argc == 3 && strcmp(argv[1], "--spin") == 0)
    return spin(ctx, argv[2]);
  if (argc != 4) {
    fprintf(stderr, "usage: soak cycles io_cycles dir | soak --spin dir\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  long n = atol(argv[1]), nio = atol(argv[2]);
  const char *v = getenv("DT_SOAK_MAX_KB");
  long max_kb = v ? atol(v) : 2048;
  char path[4096];
  snprintf(path, sizeof path, "%s/soak.h5", argv[3]);
  int bad = 0;
  long warm = n / 10, rss0 = -1, io_rss0 = -1;
  for (long k = 0; !bad && k < n; k++) {
    if (k == warm)
      rss0 = rss_kb();
    bad = cycle(ctx, k);
  }
  long rss1 = rss_kb();
  for (long k = 0; !bad && k < nio; k++) {
    if (k == nio / 10)
      io_rss0 = rss_kb();
    bad = io_cycle(ctx, path, k);
  }
  long rss2 = rss_kb();
  if (rank == 0)
    unlink(path);
  long grow = rss1 - rss0, io_grow = nio ? rss2 - io_rss0 : 0;
  printf("rank %d: %ld cycles, VmRSS %ld -> %ld kB (%+ld); %ld save/load "
         "cycles, VmRSS %ld -> %ld kB (%+ld); bound %ld kB\n",
         rank, n, rss0, rss1, grow, nio, io_rss0, rss2, io_grow, max_kb);
  if (!bad && (grow > max_kb || io_grow > max_kb)) {
    fprintf(stderr, "[rank %d] resident memory grew by %ld / %ld kB\n", rank,
            grow, io_grow);
    bad = 1;
  }
  int any = 0;
  MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  dt_ctx_destroy(&ctx);
  MPI_Finalize();
  return any;
}
