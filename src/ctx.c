/*
 * ctx.c - contexts: a duplicated communicator, the generator state, grad mode
 * and defaults.
 */
#include "internal.h"

#include <omp.h>
#include <stdlib.h>

/* torch.initial_seed() of a fresh PyTorch process. */
#define DT_DEFAULT_SEED UINT64_C(67280421310721)
#define DT_DEFAULT_CHUNK_BUDGET ((size_t)64 << 20)

/* Threads per rank for the library's loops (0: OpenMP's own default). */
static atomic_int thread_cap;

int dt__threads(void) {
  int m = omp_get_max_threads(), cap = atomic_load(&thread_cap);
  return cap > 0 && cap < m ? cap : m;
}

int dt_num_threads(void) { return dt__threads(); }

/*
 * Unless the user chose (OMP_NUM_THREADS, or DT_NUM_THREADS as a cap), use
 * the cores this rank may run on divided by the ranks sharing the node: more
 * threads than that only spin on cores another rank needs.
 */
static void pick_threads(MPI_Comm comm) {
  /* collective, so it runs whatever each rank's environment says */
  MPI_Comm node;
  int local = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                          &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
  }
  const char *dt = getenv("DT_NUM_THREADS");
  if (dt && atoi(dt) > 0) {
    atomic_store(&thread_cap, atoi(dt));
    return;
  }
  if (getenv("OMP_NUM_THREADS"))
    return;
  int cap = omp_get_num_procs() / (local > 0 ? local : 1);
  atomic_store(&thread_cap, cap > 0 ? cap : 1);
}

dt_err dt_ctx_create(MPI_Comm comm, dt_ctx **ctx) {
  DT_CHECK(ctx != NULL, DT_ERR_NULL, "ctx is NULL");
  *ctx = NULL;
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  DT_CHECK(inited && !finalized, DT_ERR_ARG,
           "MPI is not initialised (call MPI_Init first) or already finalised");
  DT_CHECK(comm != MPI_COMM_NULL, DT_ERR_ARG, "comm is MPI_COMM_NULL");

  MPI_Comm dup;
  int rc = MPI_Comm_dup(comm, &dup);
  if (rc != MPI_SUCCESS)
    DT_RETURN(dt__mpi_error(rc, "MPI_Comm_dup"));
  /* Failures come back as codes; the library decides what they mean. */
  MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);

  dt_ctx *c = dt__calloc(1, sizeof *c);
  dt_err err = c ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate a context");
  err = dt__agree(dup, err, 0);
  if (err != DT_OK) {
    free(c);
    MPI_Comm_free(&dup);
    DT_RETURN(err);
  }
  c->comm = dup;
  pick_threads(dup);
  MPI_Comm_rank(dup, &c->rank);
  MPI_Comm_size(dup, &c->size);
  c->seed = DT_DEFAULT_SEED;
  c->offset = 0;
  c->default_dtype = DT_FLOAT32;
  c->default_split = 0;
  c->chunk_budget = DT_DEFAULT_CHUNK_BUDGET;
  c->grad_enabled = true;
  atomic_init(&c->live, 0);
  dt__cma_setup(c);
  *ctx = c;
  return DT_OK;
}

dt_err dt_ctx_destroy(dt_ctx **ctx) {
  if (ctx == NULL || *ctx == NULL)
    return DT_OK;
  dt_ctx *c = *ctx;
  long live = atomic_load(&c->live);
  dt_err err = live == 0 ? DT_OK
                         : dt__error(DT_ERR_BUSY,
                                     "%ld tensor(s) of this context are still "
                                     "alive; destroy them first",
                                     live);
  err = dt__agree(c->comm, err, 0);
  if (err != DT_OK)
    DT_RETURN(err);
  MPI_Comm_free(&c->comm);
  dt__cma_free(c);
  free(c);
  *ctx = NULL;
  return DT_OK;
}

int dt_ctx_size(const dt_ctx *ctx) { return ctx ? ctx->size : 0; }
int dt_ctx_rank(const dt_ctx *ctx) { return ctx ? ctx->rank : -1; }

bool dt__same_ranks(const dt_ctx *a, const dt_ctx *b) {
  if (a == b)
    return true;
  int cmp = MPI_UNEQUAL;
  MPI_Comm_compare(a->comm, b->comm, &cmp);
  return cmp == MPI_IDENT || cmp == MPI_CONGRUENT;
}
MPI_Comm dt_ctx_comm(const dt_ctx *ctx) {
  return ctx ? ctx->comm : MPI_COMM_NULL;
}

dt_err dt_manual_seed(dt_ctx *ctx, uint64_t seed) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  ctx->seed = seed;
  ctx->offset = 0;
  return DT_OK;
}

dt_err dt_rng_state(const dt_ctx *ctx, uint64_t *seed, uint64_t *offset) {
  if (!ctx || !seed || !offset)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx, seed or offset is NULL"));
  *seed = ctx->seed;
  *offset = ctx->offset;
  return DT_OK;
}

dt_err dt_set_rng_state(dt_ctx *ctx, uint64_t seed, uint64_t offset) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  ctx->seed = seed;
  ctx->offset = offset;
  return DT_OK;
}

dt_err dt_ctx_set_chunk_budget(dt_ctx *ctx, size_t bytes) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  if (bytes < 4096 || bytes > DT_MSG_LIMIT)
    DT_RETURN(dt__error(DT_ERR_ARG,
                        "chunk budget %zu is outside 4 KiB .. 1 GiB", bytes));
  ctx->chunk_budget = bytes;
  return DT_OK;
}

size_t dt_ctx_chunk_budget(const dt_ctx *ctx) {
  return ctx ? ctx->chunk_budget : 0;
}

dt_err dt_ctx_set_default_dtype(dt_ctx *ctx, dt_dtype dtype) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  if (dtype != DT_FLOAT32 && dtype != DT_FLOAT64)
    DT_RETURN(dt__error(DT_ERR_DTYPE,
                        "the default dtype must be float32 or float64, not %s",
                        dt_dtype_name(dtype)));
  ctx->default_dtype = dtype;
  return DT_OK;
}

dt_dtype dt_ctx_default_dtype(const dt_ctx *ctx) {
  return ctx ? ctx->default_dtype : DT_FLOAT32;
}
