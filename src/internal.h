/*
 * internal.h - private structures and error macros. Never included by the
 * public header.
 */
#ifndef DT_INTERNAL_H
#define DT_INTERNAL_H

#include "dtensor.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef NDEBUG
#define DT_ASSERT(x) ((void)0)
#else
#include <assert.h>
/* Internal invariants only; never used on user input. */
#define DT_ASSERT(x) assert(x)
#endif

/* ------------------------------------------------------------------------ */
/* Errors (error.c)                                                          */
/* ------------------------------------------------------------------------ */

#if defined(__GNUC__)
#define DT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DT_PRINTF(a, b)
#endif

/* Record `code` with a message for this thread and return it. */
dt_err dt__error(dt_err code, const char *fmt, ...) DT_PRINTF(2, 3);
/* At a public function's exit: prefix the pending message with `fn`,
 * replacing the name of a public function it called (the outermost wins). */
dt_err dt__api(dt_err err, const char *fn);
/* Record an MPI failure (message from MPI_Error_string). */
dt_err dt__mpi_error(int mpierr, const char *what);

/*
 * Collective agreement: every rank contributes its local code and a hash of
 * the arguments that must be replicated. One MPI_Allreduce. Returns DT_OK
 * everywhere, or the code of the lowest failing rank (with its message,
 * broadcast) everywhere, or DT_ERR_MISMATCH everywhere when the hashes
 * differ.
 */
dt_err dt__agree(MPI_Comm comm, dt_err local, uint64_t arghash);
/* The same, also replacing *value by its maximum over the ranks. */
dt_err dt__agree_max(MPI_Comm comm, dt_err local, uint64_t arghash,
                     int64_t *value);
/* The same riding on an integer sum, in one MPI_Allreduce(MPI_SUM):
 * buf[0..n) are replaced by their sums over the ranks (valid on DT_OK);
 * buf must have n + DT_AGREE_SUM_EXTRA entries. See error.c. */
#define DT_AGREE_SUM_EXTRA 9
dt_err dt__agree_sum(MPI_Comm comm, dt_err local, uint64_t arghash,
                     int64_t *buf, int n);

/* ------------------------------------------------------------------------ */
/* Fault injection and the allocator (fault.c)                               */
/* ------------------------------------------------------------------------ */

/*
 * Tests: true when the environment asks this rank to fail at `site`
 * (DT_FAULT=site, or the older name DT_FAULT_ALLOC=site, and
 * DT_FAULT_RANK=rank in comm), so the paths that recover from a failure on
 * one rank can be exercised. Call it where a local failure would be handled,
 * before the step that agrees on it.
 */
bool dt__fault(MPI_Comm comm, const char *site);

/*
 * Counted faults, for loops that fail every step of an operation in turn:
 *   DT__FAULT_ALLOC  the Nth allocation through dt__malloc, dt__calloc,
 *                    dt__realloc or dt__alloc on this process returns NULL;
 *   DT__FAULT_AGREE  the Nth dt__agree / dt__agree_max on this process
 *                    contributes DT_ERR_MPI ("simulated MPI failure") as its
 *                    local code: it stands for any rank-local failure (an MPI
 *                    call, HDF5, the file system) just before an agreement.
 *                    The rank still takes part in the Allreduce, so no rank
 *                    is left in a collective; what is tested is that every
 *                    agreement point's failure path frees everything and
 *                    returns the same code everywhere.
 * Each fires once. dt__fault_arm(kind, N) arms on the calling process only
 * and restarts its count (N = 0 disarms that kind); the environment does the
 * same at the first event after MPI_Init: DT_FAULT_NTH=N, DT_FAULT_AGREE=N,
 * on rank DT_FAULT_RANK of MPI_COMM_WORLD (every rank when unset).
 *
 * A loop over N (see tests/test_fault.c):
 *   for (long n = 1;; n++) {
 *     if (rank == victim) dt__fault_arm(DT__FAULT_ALLOC, n);
 *     err = operation(...);
 *     bool fired = dt__fault_fired() > 0;   (agree on it: MPI_Allreduce)
 *     dt__fault_disarm();
 *     if (!fired) break;                    (err must be DT_OK here)
 *     ... err must be DT_ERR_NOMEM on every rank, outputs NULL ...
 *   }
 * Every allocation the library makes must go through dt__malloc, dt__calloc,
 * dt__realloc (memory for free()) or dt__alloc (storage, for dt__free), so
 * that such a loop reaches it. */
typedef enum dt__fault_kind { DT__FAULT_ALLOC, DT__FAULT_AGREE } dt__fault_kind;
void dt__fault_arm(dt__fault_kind kind, long nth);
void dt__fault_disarm(void);
/* Faults fired since the last dt__fault_arm. */
long dt__fault_fired(void);
/* Events of a kind counted since it was armed. */
long dt__fault_count(dt__fault_kind kind);
/* Count one event; true when it is the one to fail (the allocator and
 * dt__agree call these). */
bool dt__fault_alloc(void);
bool dt__fault_agree(void);

/* malloc, calloc and realloc through the fault counter; free() the result. */
void *dt__malloc(size_t n);
void *dt__calloc(size_t n, size_t size);
void *dt__realloc(void *p, size_t n);

/* Return a user error from the current function. */
#define DT_CHECK(cond, code, ...)                                              \
  do {                                                                         \
    if (!(cond))                                                               \
      return dt__error((code), __VA_ARGS__);                                   \
  } while (0)

/* Propagate a failure upward. */
#define DT_CALL(expr)                                                          \
  do {                                                                         \
    dt_err dt_e_ = (expr);                                                     \
    if (dt_e_ != DT_OK)                                                        \
      return dt_e_;                                                            \
  } while (0)

/* Variants that store the code in a local `err` and jump to a cleanup label. */
#define DT_CHECK_GOTO(cond, label, code, ...)                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      err = dt__error((code), __VA_ARGS__);                                    \
      goto label;                                                              \
    }                                                                          \
  } while (0)

#define DT_CALL_GOTO(expr, label)                                              \
  do {                                                                         \
    err = (expr);                                                              \
    if (err != DT_OK)                                                          \
      goto label;                                                              \
  } while (0)

/* Wrap an MPI call; communicators of contexts use MPI_ERRORS_RETURN. */
#define DT_CALL_MPI(expr)                                                      \
  do {                                                                         \
    int dt_m_ = (expr);                                                        \
    if (dt_m_ != MPI_SUCCESS)                                                  \
      return dt__mpi_error(dt_m_, #expr);                                      \
  } while (0)

#define DT_CALL_MPI_GOTO(expr, label)                                          \
  do {                                                                         \
    int dt_m_ = (expr);                                                        \
    if (dt_m_ != MPI_SUCCESS) {                                                \
      err = dt__mpi_error(dt_m_, #expr);                                       \
      goto label;                                                              \
    }                                                                          \
  } while (0)

/* Public-function exit: prefixes the message with the function name. */
#define DT_RETURN(err) return dt__api((err), __func__)

/* ------------------------------------------------------------------------ */
/* Hashing (error.c)                                                         */
/* ------------------------------------------------------------------------ */

static inline uint64_t dt__fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= UINT64_C(0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return k;
}

static inline uint64_t dt__hash_mix(uint64_t h, uint64_t v) {
  return dt__fmix64(h ^ (v + UINT64_C(0x9E3779B97F4A7C15) + (h << 6)));
}

uint64_t dt__hash_bytes(uint64_t h, const void *p, size_t n);

/* PyTorch's scalar type name ("Float", "Long", ...), as its messages print
 * it (tensor.c). */
const char *dt__torch_type_name(dt_dtype dtype);
/* True when a and b span the same ranks (the same or congruent
 * communicators), so tensors of both may meet in one operation (ctx.c). */
bool dt__same_ranks(const dt_ctx *a, const dt_ctx *b);

/* ------------------------------------------------------------------------ */
/* Size arithmetic                                                           */
/* ------------------------------------------------------------------------ */

/* *out = a * b; false on overflow (a, b >= 0). */
static inline bool dt__mul_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

/* Validate ndim/shape and compute the element count (and byte size fits). */
dt_err dt__check_shape(int ndim, const int64_t *shape, size_t elsize,
                       int64_t *numel);
/* Normalise a possibly negative axis; DT_ERR_AXIS when out of range. */
dt_err dt__norm_axis(int axis, int ndim, int *out);
/* "[3, 4]" into buf. */
const char *dt__shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

/* ------------------------------------------------------------------------ */
/* Context (ctx.c)                                                           */
/* ------------------------------------------------------------------------ */

struct dt_ctx {
  MPI_Comm comm;
  int rank, size;
  uint64_t seed, offset;
  dt_dtype default_dtype;
  int default_split;
  size_t chunk_budget;
  bool grad_enabled;
  atomic_long live; /* tensors alive on this context */
  /* cross-memory attach (cma.c): usable, and each rank's pid and node */
  bool cma;
  int64_t *cma_pid, *cma_node;
};

/* Collective, at context creation: can ranks of one node read each other's
 * memory (process_vm_readv)? Never fails; sets ctx->cma. */
dt_err dt__cma_setup(dt_ctx *ctx);
void dt__cma_free(dt_ctx *ctx);
/* Whether this rank may read `peer`'s memory directly. */
bool dt__cma_peer(const dt_ctx *ctx, int peer);
/* Read nrows rows of row_bytes from peer's addresses remote[] to local[]. */
dt_err dt__cma_read(const dt_ctx *ctx, int peer, int64_t nrows,
                    const uint64_t *remote, char *const *local,
                    size_t row_bytes);
/* Limits of one process_vm_readv in dt__cma_read: iovec entries per side
 * (at most 1024) and bytes; tests lower them to cut rows across calls. */
extern int dt__cma_iov_max;
extern size_t dt__cma_call_max;

/* Threads for the library's parallel loops (ctx.c): OMP_NUM_THREADS or
 * DT_NUM_THREADS when set, else the rank's cores / ranks on the node. */
int dt__threads(void);

/* ------------------------------------------------------------------------ */
/* Layout (layout.c): immutable, reference counted, shared between tensors.  */
/* ------------------------------------------------------------------------ */

typedef enum dt__lkind {
  DT__L_GRID,       /* grid + bounds per axis, ranks in row-major order */
  DT__L_REPLICATED, /* every rank holds everything */
  DT__L_BOXES       /* explicit box per rank */
} dt__lkind;

typedef struct dt_layout {
  atomic_int refs;
  dt__lkind kind;
  int ndim;
  int nranks;
  int64_t shape[DT_MAX_DIMS];
  int split_hint; /* axis asked for by DT_SPLIT, else -1 */
  /* DT__L_GRID */
  int grid[DT_MAX_DIMS];
  int64_t *bounds[DT_MAX_DIMS]; /* grid[d] + 1 cut points */
  /* Axis significance when ranks are numbered: rank = sum over k of
   * coord[order[k]] * (product of grid[order[j]] for j > k). Identity
   * (row-major) unless the layout came from a transpose. */
  int order[DT_MAX_DIMS];
  /* DT__L_BOXES: nranks * 2 * ndim: start[ndim] then shape[ndim] per rank */
  int64_t *boxes;
  /* dt__layout_hash once computed (0: not yet): hashing the cut points is
   * O(P), and copy_ and friends hash per call */
  _Atomic uint64_t hash;
} dt_layout;

/* Build a layout from creation options (NULL = defaults). Not collective. */
dt_err dt__layout_from_opts(const dt_ctx *ctx, int ndim, const int64_t *shape,
                            const dt_opts *opts, dt_layout **out);
dt_err dt__layout_split(int nranks, int ndim, const int64_t *shape, int axis,
                        dt_layout **out);
dt_err dt__layout_replicated(int nranks, int ndim, const int64_t *shape,
                             dt_layout **out);
/* Takes a copy of `boxes` (nranks * 2 * ndim). */
dt_err dt__layout_boxes(int nranks, int ndim, const int64_t *shape,
                        const int64_t *boxes, dt_layout **out);
dt_layout *dt__layout_ref(dt_layout *l);
void dt__layout_unref(dt_layout **l);
void dt__layout_box(const dt_layout *l, int rank, int64_t *start,
                    int64_t *shape);
/* The ranks (ascending) whose box in l is non-empty and meets the box
 * (start, ext) on every axis d where !any[d] (any[d]: every cell of that
 * axis). Grids find them from the cut points, a binary search per axis and
 * per run of empty cells: O(ndim log P + answer); explicit boxes and
 * replicated layouts scan the P ranks. *ranks is for free() (NULL when
 * *n == 0); *visited (if not NULL) grows by the cut points and ranks
 * looked at. Not collective. */
dt_err dt__layout_meets(const dt_layout *l, const int64_t *start,
                        const int64_t *ext, const bool *any, int **ranks,
                        int *n, int64_t *visited);
/* Public classification (DT_SPLIT / DT_REPLICATED / DT_GRID / DT_IRREGULAR). */
dt_layout_kind dt__layout_kind(const dt_layout *l, int *split_axis, int *grid);
/* Hash of the layout's description (for argument agreement). */
uint64_t dt__layout_hash(const dt_layout *l);
/* A copy with its own storage (deepcopy's "own layout object"). */
dt_err dt__layout_clone(const dt_layout *l, dt_layout **out);
/* Swap two axes (views). */
dt_err dt__layout_transpose(const dt_layout *l, int a, int b, dt_layout **out);
/* Keep indices start, start + step, ... (n of them) of one axis. */
dt_err dt__layout_slice(const dt_layout *l, int axis, int64_t start,
                        int64_t step, int64_t n, dt_layout **out);
/* From one box per rank (nranks * 2 * ndim, start then shape): a compact
 * grid when the boxes are one, else an explicit box list. Not validated. */
dt_err dt__layout_from_boxes(int nranks, int ndim, const int64_t *shape,
                             const int64_t *boxes, dt_layout **out);
/* The same rule on another shape or rank count: split on the same axis when
 * it exists, replicated stays replicated, anything else the default split. */
dt_err dt__layout_like(const dt_layout *l, int nranks, int ndim,
                       const int64_t *shape, dt_layout **out);
/* True when both layouts give every rank the same box. */
bool dt__layout_equal(const dt_layout *a, const dt_layout *b);
/* Balanced cut: start of block k of n items over p parts (torch.chunk-like
 * remainder to the first ranks). */
static inline int64_t dt__block_start(int64_t n, int p, int k) {
  int64_t q = n / p, r = n % p;
  return (int64_t)k * q + (k < r ? k : r);
}

/* ------------------------------------------------------------------------ */
/* Storage and tensors (tensor.c)                                            */
/* ------------------------------------------------------------------------ */

typedef struct dt_storage {
  atomic_long refs;
  void *data;
  size_t nbytes;
  bool owned;            /* false: user buffer, never freed */
  atomic_ullong version; /* bumped by every in-place write */
} dt_storage;

struct dt__node;

struct dt_tensor {
  atomic_long refs; /* the user's handle, graph nodes, views saved */
  dt_ctx *ctx;
  dt_dtype dtype;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  int64_t numel;
  dt_layout *layout;
  dt_storage *storage;
  /* local shard: a strided window into storage */
  int64_t lstart[DT_MAX_DIMS];
  int64_t lshape[DT_MAX_DIMS];
  int64_t lstride[DT_MAX_DIMS]; /* in elements */
  int64_t loffset;              /* in elements */
  int64_t lnumel;
  bool requires_grad;
  dt_tensor *grad;          /* owned; same shape, dtype and layout */
  struct dt__node *grad_fn; /* owned reference; NULL for leaves */
};

/* A tensor over `layout` (a reference is taken) with fresh, uninitialised,
 * 64-byte aligned storage for this rank's box. Not collective. */
dt_err dt__tensor_alloc(dt_ctx *ctx, dt_dtype dtype, dt_layout *layout,
                        dt_tensor **out);
/* A tensor whose local shard is the user's dense buffer (never freed). */
dt_err dt__tensor_wrap(dt_ctx *ctx, dt_dtype dtype, dt_layout *layout,
                       void *buf, dt_tensor **out);
/* A view: shares base's storage (a reference is taken), box from `layout`
 * for this rank, offset copied from base; the caller sets lstride/loffset. */
dt_err dt__tensor_share(const dt_tensor *base, dt_layout *layout,
                        dt_tensor **out);
/* Bump the version of t's storage (in-place writes). */
static inline void dt__bump_version(dt_tensor *t) {
  if (t->storage)
    atomic_fetch_add(&t->storage->version, 1);
}
/* Take / release a reference (dt__tensor_free releases one). */
static inline dt_tensor *dt__tensor_ref(dt_tensor *t) {
  if (t)
    atomic_fetch_add(&t->refs, 1);
  return t;
}
/* Free a tensor without touching its context's counters' invariants. */
void dt__tensor_free(dt_tensor *t);
/* Pointer to the local element at local multi-index 0. */
static inline char *dt__local_ptr(const dt_tensor *t) {
  return t->storage ? (char *)t->storage->data +
                          t->loffset * (int64_t)dt_dtype_size(t->dtype)
                    : NULL;
}

/* Storage allocation with the process-wide cache. */
void *dt__alloc(size_t nbytes);
void dt__free(void *p, size_t nbytes);

/* ------------------------------------------------------------------------ */
/* Dtype conversion (tensor.c)                                               */
/* ------------------------------------------------------------------------ */

/* Convert n elements from (src, sdt) to (dst, ddt), dense. Uses OpenMP. */
void dt__convert(void *dst, dt_dtype ddt, const void *src, dt_dtype sdt,
                 int64_t n);
/* Store a scalar into one element of dtype dt. */
void dt__store_scalar(void *dst, dt_dtype dt, dt_scalar v);
/* Element as double / int64 (for formatting). */
double dt__load_f64(const void *src, dt_dtype dt, int64_t i);
int64_t dt__load_i64(const void *src, dt_dtype dt, int64_t i);

/* ------------------------------------------------------------------------ */
/* Kernels (ops.c)                                                           */
/* ------------------------------------------------------------------------ */

/* Every recorded operation; the backward rules switch on it (autograd.c). */
typedef enum dt__op {
  DT__OP_ADD,
  DT__OP_SUB,
  DT__OP_MUL,
  DT__OP_DIV,
  DT__OP_NEG,
  DT__OP_POW,
  DT__OP_ADDS,
  DT__OP_MULS,
  DT__OP_EXP,
  DT__OP_LOG,
  DT__OP_SUM,
  DT__OP_MEAN,
  DT__OP_MATMUL,
  DT__OP_CLONE,
  DT__OP_REDIST,
  DT__OP_VIEW,
  DT__OP_SLICE,
  DT__OP_TRANSPOSE,
  /* reductions along axes (reduce.c) and joins (join.c) */
  DT__OP_SUM_DIM,
  DT__OP_MEAN_DIM,
  DT__OP_AMAX,
  DT__OP_AMIN,
  DT__OP_CAT,
  DT__OP_STACK, /* a cat of unsqueezed inputs; named StackBackward0 */
  /* copy_'s edge to its source (CopyBackwards) and where (broadcast.c) */
  DT__OP_COPY,
  DT__OP_WHERE
} dt__op;

/* out = a op b (b == NULL: a unary op with scalar s) over an nd box of
 * float32/float64 elements, strides in elements (0 broadcasts). */
void dt__ew(dt__op op, double s, int nd, const int64_t *shape, dt_dtype dt,
            void *out, const int64_t *ostride, const void *a,
            const int64_t *astride, const void *b, const int64_t *bstride);

/* memcpy split between OpenMP threads when large (serial inside a region);
 * streaming stores when dt__copy_streams(n). */
void dt__memcpy_par(void *dst, const void *src, size_t n);
/* Copies (memcopy.c): n bytes with non-temporal stores (memcpy on the
 * portable path), and whether a copy of n bytes should take them (beyond
 * about a quarter of the last-level cache). Not collective; thread-safe. */
void dt__memcpy_nt(void *dst, const void *src, size_t n);
bool dt__copy_streams(size_t n);
/* dst[i] = (ddt) src[i] over an nd-box of `shape`, strides in elements
 * (a zero source stride broadcasts). Threads across rows when large. */
void dt__copy_strided(int nd, const int64_t *shape, void *dst, dt_dtype ddt,
                      const int64_t *dstride, const void *src, dt_dtype sdt,
                      const int64_t *sstride);

/* Integer and bool arithmetic (ADD, SUB, MUL; NEG with b == NULL) over an
 * nd box of dtype dt: integers wrap (two's complement), bool add is "or"
 * and bool mul "and". Strides in elements (0 broadcasts). */
void dt__ew_int(dt__op op, int nd, const int64_t *shape, dt_dtype dt, void *out,
                const int64_t *ostride, const void *a, const int64_t *astride,
                const void *b, const int64_t *bstride);
/* Comparisons: out (bool) = a cmp b, both of dtype dt. */
typedef enum dt__cmp { DT__EQ, DT__NE, DT__LT, DT__LE, DT__GT, DT__GE } dt__cmp;
void dt__ew_cmp(dt__cmp op, int nd, const int64_t *shape, dt_dtype dt,
                void *out, const int64_t *ostride, const void *a,
                const int64_t *astride, const void *b, const int64_t *bstride);
/* out = c ? a : b with c bool and out, a, b of dtype dt. */
void dt__ew_where(int nd, const int64_t *shape, dt_dtype dt, void *out,
                  const int64_t *ostride, const void *c, const int64_t *cstride,
                  const void *a, const int64_t *astride, const void *b,
                  const int64_t *bstride);

/* ------------------------------------------------------------------------ */
/* Exact summation (exact.c)                                                 */
/* ------------------------------------------------------------------------ */

/* 32-bit digits from 2^-1074 up to 2^1166: any double, any count of them. */
#define DT_XLIMBS 70
enum {
  DT_XACC_NAN = 1,
  DT_XACC_PINF = 2,
  DT_XACC_NINF = 4,
  DT_XACC_NONNEGZERO = 8, /* something other than -0.0 was added */
  DT_XACC_ANY = 16        /* something was added */
};
typedef struct dt__xacc {
  int64_t limb[DT_XLIMBS]; /* value = sum limb[k] 2^(32k - 1074) */
  int64_t nadd;            /* additions since the last normalisation */
  uint32_t flags;
} dt__xacc;

void dt__xacc_init(dt__xacc *a);
void dt__xacc_normalize(dt__xacc *a);
void dt__xacc_add(dt__xacc *a, double x);
/* The exact product x * y (two doubles: x*y and fma(x, y, -x*y)). */
void dt__xacc_add_prod(dt__xacc *a, double x, double y);
/* n elements of a float32/float64 array with element stride st. */
void dt__xacc_add_array(dt__xacc *a, const void *p, dt_dtype dt, int64_t n,
                        int64_t st);
void dt__xacc_merge(dt__xacc *a, const dt__xacc *b);
/* The value as limbs k0..k1-1 only, the last one signed, into w[0..k1-k0):
 * for an accumulator whose value and additions fit there (float32: limbs
 * 28..40; anything: 0..DT_XLIMBS). Windows add as integers;
 * dt__xacc_from_window makes a (normalised, flags untouched) from one. */
void dt__xacc_window(const dt__xacc *a, int k0, int k1, int64_t *w);
void dt__xacc_from_window(dt__xacc *a, const int64_t *w, int k0, int k1);
/* The value rounded once to dtype (float32 or float64), as a double. */
double dt__xacc_round(const dt__xacc *a, dt_dtype dt);
/* The value divided by n, rounded once. */
double dt__xacc_round_div(const dt__xacc *a, int64_t n, dt_dtype dt);

/* ------------------------------------------------------------------------ */
/* Box iteration                                                             */
/* ------------------------------------------------------------------------ */

/*
 * A box (start, shape) inside a global shape is a set of "runs": maximal
 * stretches contiguous in global row-major order. run_len elements each;
 * nruns of them. dt__box_runs computes them; dt__run_global gives the global
 * flat index of run k's first element.
 */
typedef struct dt__runs {
  int ndim;        /* number of outer (non-merged) dims */
  int64_t run_len; /* elements per run */
  int64_t nruns;
  int64_t gstride[DT_MAX_DIMS]; /* global flat stride of each outer dim */
  int64_t oshape[DT_MAX_DIMS];  /* outer box extents */
  int64_t gbase;                /* global flat index of the box origin */
} dt__runs;

void dt__box_runs(int ndim, const int64_t *gshape, const int64_t *start,
                  const int64_t *shape, dt__runs *r);
int64_t dt__run_global(const dt__runs *r, int64_t k);

/* ------------------------------------------------------------------------ */
/* Random numbers (rng.c): pure functions of global indices.                 */
/* ------------------------------------------------------------------------ */

typedef enum dt__rkind { DT__R_UNIFORM, DT__R_NORMAL, DT__R_INT } dt__rkind;

typedef struct dt__rparams {
  dt__rkind kind;
  dt_dtype dtype;
  uint64_t seed, offset;
  int64_t low;    /* DT__R_INT */
  uint64_t range; /* DT__R_INT: high - low */
} dt__rparams;

/* Write elements with global indices [first, first + n) contiguously. */
void dt__rng_fill(const dt__rparams *p, uint64_t first, int64_t n, void *out);
/* Tests: force the portable (non-AVX2) path, to compare the two bitwise. */
void dt__rng_set_portable(bool on);
/* Tests: one group's transform on given words, x[w][lane] = word w of block
 * lane (16 blocks), on the current dt__isa_level() path; out receives the
 * group's elements (64 float32 or 32 float64 / int64). */
void dt__rng_transform_words(const dt__rparams *p, const uint32_t x[4][16],
                             void *out);
/* One Philox4x32-10 block (reference, scalar). */
void dt__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                       uint32_t out[4]);

/* ------------------------------------------------------------------------ */
/* Communication helpers (copy.c)                                            */
/* ------------------------------------------------------------------------ */

/* Largest message in bytes (1 GiB); bigger transfers are split. A variable
 * so tests can make it tiny and exercise the splitting. */
extern size_t dt__msg_max;
#define DT_MSG_MAX dt__msg_max
#define DT_MSG_LIMIT ((size_t)1 << 30)

dt_err dt__send_bytes(const void *buf, size_t n, int dest, int tag,
                      MPI_Comm comm);
dt_err dt__recv_bytes(void *buf, size_t n, int src, int tag, MPI_Comm comm);
dt_err dt__bcast_bytes(void *buf, size_t n, int root, MPI_Comm comm);

/* ---- copy_'s planner (copy_plan.c) ---- */

typedef struct dt__box {
  int64_t start[DT_MAX_DIMS], ext[DT_MAX_DIMS];
} dt__box;
/* The intersection of boxes a and b (nd axes) into out; false when empty. */
static inline bool dt__box_meet(int nd, const dt__box *a, const dt__box *b,
                                dt__box *out) {
  for (int d = 0; d < nd; d++) {
    int64_t lo = a->start[d] > b->start[d] ? a->start[d] : b->start[d];
    int64_t ha = a->start[d] + a->ext[d], hb = b->start[d] + b->ext[d];
    int64_t hi = ha < hb ? ha : hb;
    if (hi <= lo)
      return false;
    out->start[d] = lo;
    out->ext[d] = hi - lo;
  }
  return true;
}
/* How a source of ns axes sits under a destination of nd (PyTorch
 * broadcasting): source axis j is destination axis off + j, and bcast[j]
 * when the source has extent 1 there and the destination more. */
typedef struct dt__xgeom {
  int nd, ns, off;
  bool bcast[DT_MAX_DIMS];
} dt__xgeom;
/* One message: the peer and the box of the source (global coordinates). */
typedef struct dt__xpeer {
  int peer;
  dt__box I;
} dt__xpeer;
/* What one rank moves in a copy_: receives in posting order (me-1, me-2,
 * ... wrapping), sends likewise (me+1, me+2, ...); never itself. */
typedef struct dt__xplan {
  dt__xpeer *rx, *tx;
  int nrx, ntx;
  int64_t visited; /* cut points and ranks looked at (complexity tests) */
  size_t bytes;    /* memory the plan holds */
} dt__xplan;
/* The source box a destination box reads. */
void dt__xgeom_project(const dt__xgeom *g, const dt__box *d, dt__box *s);
/* Plan rank `me`'s part of a copy from layout src into layout dst, from
 * the layouts alone (no communicator: any virtual rank count). An empty
 * plan for a replicated or 0-d source (read where it is). Not collective;
 * DT_ERR_NOMEM; free with dt__xplan_free (also after a failure). */
dt_err dt__xplan_make(int me, const dt_layout *src, const dt_layout *dst,
                      const dt__xgeom *g, dt__xplan *p);
void dt__xplan_free(dt__xplan *p);

/* Pack this rank's shard densely (C order of the local box) into dst. */
void dt__pack_local(const dt_tensor *t, void *dst);
/* Copy a dense box (start, shape) of elsize-byte items from/to a dense
 * global C-order array of shape gshape. */
void dt__box_from_global(void *dst, const void *global, int ndim,
                         const int64_t *gshape, const int64_t *start,
                         const int64_t *shape, size_t elsize);
void dt__box_to_global(void *global, const void *src, int ndim,
                       const int64_t *gshape, const int64_t *start,
                       const int64_t *shape, size_t elsize);

/* Gather the elements of t at the cartesian product of per-axis index lists
 * (idx[d] has cnt[d] sorted global indices) to every rank, dense C order
 * of the selection. Collective. */
dt_err dt__gather_select(const dt_tensor *t, int64_t *const *idx,
                         const int64_t *cnt, void *buf);

/* ------------------------------------------------------------------------ */
/* Checksums (checksum.c)                                                    */
/* ------------------------------------------------------------------------ */

/* dt_checksum's per-element hash summed over n elements at stride s
 * (elements), global indices g, g + 1, ... (vectorised when s == 1). */
uint64_t dt__hash_stretch(const char *p, size_t esz, int64_t s, uint64_t g,
                          int64_t n);
/* The fingerprint from the wrapping sum S of the element hashes. */
uint64_t dt__checksum_finish(dt_dtype dtype, int ndim, const int64_t *shape,
                             uint64_t S);
/* Tests: 0 picks the best vector path, 1 baseline only, 2 at most AVX2. */
extern int dt__hash_level;

/* ------------------------------------------------------------------------ */
/* Autograd (autograd.c)                                                     */
/* ------------------------------------------------------------------------ */

/* Where an input's gradient goes: the node that produced it, or the leaf
 * whose .grad accumulates it (neither: the input needs no gradient). */
typedef struct dt__edge {
  struct dt__node *fn;
  dt_tensor *leaf;
} dt__edge;

typedef struct dt__node {
  atomic_long refs;
  dt__op op;
  dt_ctx *ctx;
  int nin;
  dt__edge in[2];
  /* what each input looked like, so its gradient can match it */
  dt_layout *in_layout[2];
  dt_dtype in_dtype[2];
  /* tensors saved for backward (detached views) and their versions; slots
   * 2 and 3 only watch the version of an operand whose saved form is a
   * converted or broadcast copy (torch saves the operand itself) */
  dt_tensor *saved[4];
  unsigned long long saved_ver[4];
  double scalar;   /* POW exponent, ADDS/MULS scalar */
  int64_t iarg[3]; /* SLICE: axis, start, step; TRANSPOSE: the two axes */
  bool released;   /* saved tensors freed by a backward pass */
  /* backward bookkeeping */
  dt_tensor *pending; /* accumulated gradient of the output */
  int deps;
  struct dt__node *link; /* freeing without recursion */
} dt__node;

/* A node for `op` over the given inputs when grad mode is on and an input
 * requires grad; NULL (and DT_OK) otherwise. Not collective. */
dt_err dt__node_new(dt__op op, int nin, const dt_tensor *const *inputs,
                    dt__node **out);
/* Save t (as a detached view) in slot k. */
dt_err dt__node_save(dt__node *n, int k, const dt_tensor *t);
/* Make out the node's output: out->grad_fn = n (the reference moves). */
void dt__node_attach(dt__node *n, dt_tensor *out);
void dt__node_unref(dt__node *n);
/* Record a one-input structural op (clone, redistribute, views) on out. */
dt_err dt__record_unary(dt__op op, const dt_tensor *in, dt_tensor *out,
                        const int64_t *iarg);
/* Gradients of a matmul's inputs (matmul.c); NULL outputs are skipped. */
dt_err dt__matmul_backward(const dt_tensor *a, const dt_tensor *b,
                           const dt_tensor *g, dt_tensor **ga, dt_tensor **gb);
/* The exact sum of t's elements over all ranks (each counted once). */
dt_err dt__exact_sum(const dt_tensor *t, dt__xacc *out);
/* The same, also agreeing (one MPI_Allreduce in all) on this rank's error
 * so far (the sum is skipped when set) and on arghash, as dt__agree. */
dt_err dt__exact_sum_agree(const dt_tensor *t, dt_err local, uint64_t arghash,
                           dt__xacc *out);
/* Redistribute (differentiably) into a given layout and dtype; the result
 * lives on ctx (congruent with t's). */
dt_err dt__redistribute_to(dt_ctx *ctx, const dt_tensor *t, dt_layout *L,
                           dt_dtype dt, dt_tensor **out);
/* The same on t's own context. */
dt_err dt__redistribute_layout(const dt_tensor *t, dt_layout *L, dt_dtype dt,
                               dt_tensor **out);

/* Backward rules of reduce.c and join.c: the gradient(s) of the node's
 * input(s) from g, the gradient of its output. Collective. */
dt_err dt__reduce_backward(const dt__node *n, const dt_tensor *g,
                           dt_tensor **gi);
dt_err dt__cat_backward(const dt__node *n, const dt_tensor *g, dt_tensor **gi);
/* ---- instruction-set dispatch (cpu.c) ----------------------------------- */

/* The widest vector path a hot kernel may take. Every path of a kernel
 * gives bitwise identical results; DT_KERNELS=portable|avx2|avx512|auto
 * caps it for the process (see cpu.c), dt__isa_set_cap for a test
 * (-1 removes the test's cap). Not collective; thread-safe. */
typedef enum {
  DT_ISA_PORTABLE = 0,
  DT_ISA_AVX2 = 1,  /* AVX2 + FMA (FMA only where the result is exact) */
  DT_ISA_AVX512 = 2 /* AVX-512 F, DQ, BW, VL */
} dt__isa;
dt__isa dt__isa_level(void);
void dt__isa_set_cap(int level);
const char *dt__isa_name(dt__isa level);

/* ---- broadcasting (broadcast.c) ------------------------------------------ */

/* torch.result_type over n operands: dimensioned tensors first, then 0-d
 * tensors, then wrapped numbers (tier 2, 1, 0), each tier promoting only
 * where it raises the category. */
dt_dtype dt__result_type(int n, const dt_dtype *dtypes, const int *tiers);
/* The broadcast shape of n shapes (torch's rules and message). */
dt_err dt__broadcast_shapes(int n, const int *ndims,
                            const int64_t *const *shapes, int *nd,
                            int64_t *shape);
/* The layout of a broadcast operand of shape (m, T) against an output over
 * L: each rank's box is the part of the operand its output box reads
 * (boxes may overlap; replicated when every rank reads everything). */
dt_err dt__project_layout(const dt_layout *L, int m, const int64_t *T,
                          dt_layout **out);
/* t in dtype dt over the projection of L (t itself when it already is),
 * copied without recording. Collective. */
dt_err dt__broadcast_operand(const dt_tensor *t, dt_dtype dt,
                             const dt_layout *L, dt_tensor **out);
/* Element strides of a prepared operand p against an output of nd axes
 * and shape S (0 along broadcast axes). */
void dt__broadcast_strides(const dt_tensor *p, int nd, const int64_t *S,
                           int64_t *st);
/* The gradient of a broadcast input: g summed exactly over the axes that
 * broadcasting added or stretched (correctly rounded to g's dtype, so the
 * same bits at any rank count and layout), then converted to dt, over L
 * (whose shape broadcasts to g's). Without recording. Collective. */
dt_err dt__sum_to(const dt_tensor *g, dt_layout *L, dt_dtype dt,
                  dt_tensor **out);

/* ------------------------------------------------------------------------ */
/* Parsing (format.c)                                                        */
/* ------------------------------------------------------------------------ */

/* Parse a literal into a malloc'd dense array. Not collective. On success
 * *data is owned by the caller (free()). *dtype is DT_INT64, DT_BOOL or
 * default_float. */
dt_err dt__parse_literal(const char *s, dt_dtype default_float, int *ndim,
                         int64_t *shape, dt_dtype *dtype, void **data);
/* The same into dtype `want` (DT_DTYPE_DEFAULT: inferred), each value going
 * from its text straight to `want` as torch.tensor(..., dtype=) stores it;
 * DT_ERR_ARG for a value an integer dtype cannot hold. */
dt_err dt__parse_literal_as(const char *s, dt_dtype default_float,
                            dt_dtype want, int *ndim, int64_t *shape,
                            dt_dtype *dtype, void **data);

#endif /* DT_INTERNAL_H */
