/*
 * cma.c - single-copy reads from another rank's memory on the same node
 * (Linux cross-memory attach, process_vm_readv).
 *
 * Open MPI's shared-memory transport moves contiguous messages with one
 * kernel copy, but non-contiguous ones through small bounce buffers, and
 * packing them first costs a pass of its own. For a large strided piece of
 * a redistribution between ranks of one node, the receiver instead reads
 * the sender's rows straight into its own shard: one copy, like a
 * contiguous message. Whether this works (same node, ptrace permission) is
 * tested once per context, collectively; DT_NO_CMA=1 turns it off.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>
#define DT_HAVE_CMA 1
#endif

/* What each rank tells the others at context creation. */
typedef struct cma_card {
  int64_t pid;
  int64_t node; /* lowest rank of the node, in the context */
  uint64_t probe;
} cma_card;

/* Read a peer's probe word: the permission test. */
static volatile uint64_t probe_word = UINT64_C(0x5eed5eed5eed5eed);

dt_err dt__cma_setup(dt_ctx *ctx) {
  int P = ctx->size;
  ctx->cma = false;
  ctx->cma_pid = NULL;
  ctx->cma_node = NULL;
  MPI_Comm node;
  int nrank = 0, first = ctx->rank;
  if (MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                          &node) == MPI_SUCCESS) {
    MPI_Comm_rank(node, &nrank);
    MPI_Allreduce(&ctx->rank, &first, 1, MPI_INT, MPI_MIN, node);
    MPI_Comm_free(&node);
  }
  cma_card mine = {0, first, (uint64_t)(uintptr_t)&probe_word};
  int ok = 1;
#ifdef DT_HAVE_CMA
  mine.pid = (int64_t)getpid();
  const char *off = getenv("DT_NO_CMA");
  if (off && atoi(off) != 0)
    ok = 0;
  else /* Yama: let the ranks of this user read this process */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#else
  ok = 0;
#endif
  cma_card *all = dt__malloc(sizeof *all * (size_t)P);
  ctx->cma_pid = dt__malloc(sizeof(int64_t) * (size_t)P);
  ctx->cma_node = dt__malloc(sizeof(int64_t) * (size_t)P);
  if (!all || !ctx->cma_pid || !ctx->cma_node)
    ok = 0;
  int any = all != NULL;
  int all_alloc = 0;
  MPI_Allreduce(&any, &all_alloc, 1, MPI_INT, MPI_LAND, ctx->comm);
  if (all_alloc)
    MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine,
                  MPI_BYTE, ctx->comm);
  else
    ok = 0;
#ifdef DT_HAVE_CMA
  /* try the next rank on this node (wrapping): one read each */
  for (int k = 1; ok && all_alloc && k < P; k++) {
    int q = (ctx->rank + k) % P;
    if (all[q].node != first)
      continue;
    uint64_t got = 0;
    struct iovec l = {&got, sizeof got};
    struct iovec r = {(void *)(uintptr_t)all[q].probe, sizeof got};
    ok = process_vm_readv((pid_t)all[q].pid, &l, 1, &r, 1, 0) ==
             (ssize_t)sizeof got &&
         got == probe_word;
    break;
  }
#endif
  if (ok && all_alloc)
    for (int r = 0; r < P; r++) {
      ctx->cma_pid[r] = all[r].pid;
      ctx->cma_node[r] = all[r].node;
    }
  free(all);
  int every = ok, agreed = 0;
  MPI_Allreduce(&every, &agreed, 1, MPI_INT, MPI_LAND, ctx->comm);
  ctx->cma = agreed != 0;
  if (!ctx->cma)
    dt__cma_free(ctx);
  return DT_OK;
}

void dt__cma_free(dt_ctx *ctx) {
  free(ctx->cma_pid);
  free(ctx->cma_node);
  ctx->cma_pid = NULL;
  ctx->cma_node = NULL;
  ctx->cma = false;
}

bool dt__cma_peer(const dt_ctx *ctx, int peer) {
  return ctx->cma && ctx->cma_node[peer] == ctx->cma_node[ctx->rank];
}

/* Per call: iovec entries per side (IOV_MAX is 1024 on Linux) and bytes
 * (the kernel silently caps one call at about 2 GiB). Tests lower both
 * (internal.h) to cut rows across calls. */
enum { CMA_IOV = 1024 };
int dt__cma_iov_max = CMA_IOV;
size_t dt__cma_call_max = (size_t)1 << 30;

#ifdef DT_HAVE_CMA
/* Append [p, p + n) to an iovec list, extending the last entry when the
 * bytes follow on. */
static void iov_add(struct iovec *v, int *k, char *p, size_t n) {
  if (*k > 0 && (char *)v[*k - 1].iov_base + v[*k - 1].iov_len == p)
    v[*k - 1].iov_len += n;
  else
    v[(*k)++] = (struct iovec){p, n};
}

static dt_err cma_call(const dt_ctx *ctx, int peer, const struct iovec *l,
                       int nl, const struct iovec *r, int nr, size_t want) {
  ssize_t got = process_vm_readv((pid_t)ctx->cma_pid[peer], l,
                                 (unsigned long)nl, r, (unsigned long)nr, 0);
  if (got != (ssize_t)want)
    return dt__error(DT_ERR_IO,
                     "reading rank %d's memory failed (%s); set "
                     "DT_NO_CMA=1 to move strided pieces through MPI",
                     peer, got < 0 ? strerror(errno) : "short read");
  return DT_OK;
}
#endif

/*
 * Rows that follow on in memory (a dense destination window, or a source
 * whose rows happen to touch) go in as one iovec entry: the kernel walks
 * fewer segments, and each call carries up to CMA_IOV entries per side.
 */
dt_err dt__cma_read(const dt_ctx *ctx, int peer, int64_t nrows,
                    const uint64_t *remote, char *const *local,
                    size_t row_bytes) {
#ifdef DT_HAVE_CMA
  struct iovec l[CMA_IOV], r[CMA_IOV];
  int nl = 0, nr = 0;
  int iov_max = dt__cma_iov_max < 1         ? 1
                : dt__cma_iov_max > CMA_IOV ? CMA_IOV
                                            : dt__cma_iov_max;
  size_t call_max = dt__cma_call_max > 0 ? dt__cma_call_max : 1;
  size_t want = 0;
  for (int64_t k = 0; k < nrows; k++) {
    for (size_t o = 0; o < row_bytes;) {
      size_t n = row_bytes - o;
      if (n > call_max - want)
        n = call_max - want;
      if (nl == iov_max || nr == iov_max || n == 0) {
        DT_CALL(cma_call(ctx, peer, l, nl, r, nr, want));
        nl = nr = 0;
        want = 0;
        continue;
      }
      iov_add(l, &nl, local[k] + o, n);
      iov_add(r, &nr, (char *)(uintptr_t)remote[k] + o, n);
      want += n;
      o += n;
    }
  }
  if (want > 0)
    DT_CALL(cma_call(ctx, peer, l, nl, r, nr, want));
  return DT_OK;
#else
  (void)ctx, (void)peer, (void)nrows, (void)remote, (void)local,
      (void)row_bytes;
  return dt__error(DT_ERR_UNSUPPORTED, "no cross-memory attach here");
#endif
}
