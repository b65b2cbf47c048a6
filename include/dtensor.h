/*
 * dtensor.h - distributed tensors on MPI with PyTorch's creation and copy
 * semantics.
 *
 * A tensor has a global shape and is cut into one box per MPI rank (its
 * layout). Every rank holds its own box, the "local shard", as a strided
 * window into a storage buffer. Creation functions are collective over the
 * context's communicator: every rank calls them in the same order with the
 * same replicated arguments, and every rank gets the same error code.
 *
 *     dt_ctx *ctx;
 *     dt_ctx_create(MPI_COMM_WORLD, &ctx);
 *     dt_manual_seed(ctx, 7);
 *     dt_tensor *x;
 *     int64_t shape[2] = {1000, 64};
 *     dt_randn(ctx, 2, shape, NULL, &x);   // float32, split on axis 0
 *     dt_print(x, stdout);                 // rank 0 prints torch's repr
 *     dt_tensor_destroy(&x);
 *     dt_ctx_destroy(&ctx);
 *
 * The promise: same seed, same tensor, same checksum on any number of ranks,
 * any number of OpenMP threads and in any layout.
 *
 * Conventions
 *   - Every function that can fail returns dt_err (DT_OK == 0); results come
 *     back through trailing pointer arguments, which are set to NULL/0 first.
 *   - "Collective": every rank of the context must call it; all ranks return
 *     the same code. "Not collective": local to the calling rank.
 *   - The library never aborts, exits or prints on bad input. dt_last_error()
 *     gives the calling thread's detailed message for the last failure.
 *   - Handles are destroyed with dt_*_destroy(&h), which is NULL-safe and sets
 *     the handle to NULL. The library never frees memory it did not allocate.
 *   - A NULL context or tensor handle (the argument a collective call would
 *     take its communicator from) is reported at once on the rank that
 *     passed it, without agreement: there is no communicator to agree on.
 *     Every other bad argument is agreed on every rank.
 *   - Axes may be negative (counted from the end) wherever an axis is taken.
 */
#ifndef DTENSOR_H
#define DTENSOR_H

/* C++: the header is plain C behind extern "C" (dt_opts says how C++ fills
 * options; DT_I/DT_F/DT_B work in both languages). MPI's
 * deprecated C++ bindings are kept out, as PETSc does: they warn, and need a
 * library (libmpi_cxx) that MPI::MPI_C does not link. */
#if defined(__cplusplus) && !defined(OMPI_SKIP_MPICXX)
#define OMPI_SKIP_MPICXX 1
#endif
#if defined(__cplusplus) && !defined(MPICH_SKIP_MPICXX)
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DT_VERSION_MAJOR 0
#define DT_VERSION_MINOR 1
#define DT_VERSION_PATCH 0
/** "MAJOR.MINOR.PATCH" of this header (CMake checks it matches the project
 *  version at configure time). */
#define DT_VERSION_STRING "0.1.0"

/** Largest number of dimensions a tensor may have. */
#define DT_MAX_DIMS 8

/** Root argument meaning "every rank" (dt_from_data, dt_gather). */
#define DT_ALL_RANKS (-1)

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* One table generates the enum, dt_strerror and dt_err_name. */
#define DT_ERR_MAP(X)                                                          \
  X(DT_OK, "success")                                                          \
  X(DT_ERR_NULL, "a required pointer argument is NULL")                        \
  X(DT_ERR_ARG, "invalid argument")                                            \
  X(DT_ERR_SHAPE, "invalid or mismatched shape")                               \
  X(DT_ERR_DTYPE, "invalid or unsupported dtype")                              \
  X(DT_ERR_AXIS, "axis out of range")                                          \
  X(DT_ERR_LAYOUT, "invalid layout")                                           \
  X(DT_ERR_RANK, "invalid rank")                                               \
  X(DT_ERR_OVERFLOW, "size overflows 64 bits")                                 \
  X(DT_ERR_NOMEM, "out of memory")                                             \
  X(DT_ERR_PARSE, "malformed tensor literal")                                  \
  X(DT_ERR_MISMATCH, "collective arguments differ between ranks")              \
  X(DT_ERR_BUSY, "object still in use")                                        \
  X(DT_ERR_AUTOGRAD, "autograd rule violated")                                 \
  X(DT_ERR_UNSUPPORTED, "operation not supported")                             \
  X(DT_ERR_MPI, "MPI call failed")                                             \
  X(DT_ERR_IO, "I/O error")                                                    \
  X(DT_ERR_HDF5, "HDF5 call failed")                                           \
  X(DT_ERR_FORMAT, "invalid file format")                                      \
  X(DT_ERR_CHECKSUM, "checksum mismatch")                                      \
  X(DT_ERR_CONTEXT, "tensors belong to incompatible contexts")

typedef enum dt_err {
#define DT_ERR_ENUM_(name, msg) name,
  DT_ERR_MAP(DT_ERR_ENUM_)
#undef DT_ERR_ENUM_
      DT_ERR_COUNT_
} dt_err;

/** Short description of an error code ("out of memory"). Never NULL. */
const char *dt_strerror(dt_err err);
/** Symbolic name of an error code ("DT_ERR_NOMEM"). Never NULL. */
const char *dt_err_name(dt_err err);
/**
 * The calling thread's message for its most recent failure, e.g.
 * "dt_arange: step must be nonzero". It names the public function the
 * caller called, also when the failure happened in another public function
 * that one uses (dt_load's layout errors say "dt_load", not "dt_empty"). After
 * a collective failure every rank has the same code; a rank that failed that
 * way keeps its own message, the others get the message of the lowest failing
 * rank followed by " (on rank r)". Empty string when nothing failed yet. Not
 * collective; the string is owned by the library and valid until the thread's
 * next failing call.
 */
const char *dt_last_error(void);

/*
 * Optional error checking for applications, like PETSc's PetscCall (the
 * library itself never uses these: it never prints).
 *
 *   DT_TRY(expr)                  evaluate expr (a dt_err); on failure
 *                                 report it and `return` the code from the
 *                                 enclosing function (which returns dt_err
 *                                 or int: from main, a non-zero exit).
 *   DT_TRY_GOTO(expr, err, label) on failure report it, store the code in
 *                                 the dt_err variable `err` and `goto label`
 *                                 (the cleanup code); `err` is DT_OK after
 *                                 a success.
 *
 * The report is one line on stderr from every rank that sees the failure
 * (after a collective failure: every rank), e.g.
 *   "[rank 1] app.c:42: dt_load(ctx, "ck.h5", "w", NULL, &w) failed:
 *    DT_ERR_IO: dt_load: cannot open 'ck.h5' ..."
 * Define DT_TRY_REPORT(err, expr_text, file, line) before including
 * dtensor.h to report another way (to a log, or on rank 0 only).
 *
 *   dt_err train(dt_ctx *ctx) {
 *     dt_err err = DT_OK;
 *     dt_tensor *w = NULL;
 *     DT_TRY_GOTO(dt_zeros(ctx, 1, (int64_t[]){8}, NULL, &w), err, done);
 *     DT_TRY_GOTO(dt_save(ctx, "ck.h5", 1, names, tensors, NULL), err, done);
 *   done:
 *     dt_tensor_destroy(&w);
 *     return err;
 *   }
 */
static inline void dt_try_report(dt_err err, const char *expr, const char *file,
                                 int line) {
  int init = 0, fini = 0, rank = -1;
  MPI_Initialized(&init);
  MPI_Finalized(&fini);
  if (init && !fini)
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank >= 0)
    fprintf(stderr, "[rank %d] ", rank);
  fprintf(stderr, "%s:%d: %s failed: %s: %s\n", file, line, expr,
          dt_err_name(err), dt_last_error());
}
#ifndef DT_TRY_REPORT
#define DT_TRY_REPORT(err, expr, file, line)                                   \
  dt_try_report(err, expr, file, line)
#endif
#define DT_TRY(expr)                                                           \
  do {                                                                         \
    dt_err dt_try_err_ = (expr);                                               \
    if (dt_try_err_ != DT_OK) {                                                \
      DT_TRY_REPORT(dt_try_err_, #expr, __FILE__, __LINE__);                   \
      return dt_try_err_;                                                      \
    }                                                                          \
  } while (0)
#define DT_TRY_GOTO(expr, err, label)                                          \
  do {                                                                         \
    (err) = (expr);                                                            \
    if ((err) != DT_OK) {                                                      \
      DT_TRY_REPORT((err), #expr, __FILE__, __LINE__);                         \
      goto label;                                                              \
    }                                                                          \
  } while (0)

/* ------------------------------------------------------------------------ */
/* dtypes and scalars                                                        */
/* ------------------------------------------------------------------------ */

/** Element types. DT_DTYPE_DEFAULT (0) means "infer / context default". */
typedef enum dt_dtype {
  DT_DTYPE_DEFAULT = 0,
  DT_FLOAT32,
  DT_FLOAT64,
  DT_INT32,
  DT_INT64,
  DT_BOOL /* one byte, 0 or 1 */
} dt_dtype;

/** Bytes per element; 0 for an unknown dtype. */
size_t dt_dtype_size(dt_dtype dtype);
/** "float32", "float64", "int32", "int64", "bool"; "unknown" otherwise. */
const char *dt_dtype_name(dt_dtype dtype);
/** Parse a dtype name (also accepts torch's "torch.float32" and "float",
 *  "double", "int", "long"). Not collective. */
dt_err dt_dtype_from_name(const char *name, dt_dtype *dtype);
/** true for DT_FLOAT32 and DT_FLOAT64. */
bool dt_dtype_is_float(dt_dtype dtype);

/**
 * A Python-like scalar: its kind drives dtype inference the way
 * torch.full/torch.arange infer it (an int gives int64, a float gives the
 * default float dtype, a bool gives bool). Build one with DT_I, DT_F, DT_B.
 */
typedef struct dt_scalar {
  dt_dtype kind; /* DT_INT64, DT_FLOAT64 (any float) or DT_BOOL */
  double f;      /* value when kind == DT_FLOAT64 */
  int64_t i;     /* value when kind == DT_INT64 or DT_BOOL */
} dt_scalar;

#ifndef __cplusplus
#define DT_I(v) ((dt_scalar){DT_INT64, 0.0, (int64_t)(v)})
#define DT_F(v) ((dt_scalar){DT_FLOAT64, (double)(v), 0})
#define DT_B(v) ((dt_scalar){DT_BOOL, 0.0, (v) ? 1 : 0})
#else /* compound literals are C only; the same values as C++11 temporaries */
#define DT_I(v) (dt_scalar{DT_INT64, 0.0, static_cast<int64_t>(v)})
#define DT_F(v) (dt_scalar{DT_FLOAT64, static_cast<double>(v), 0})
#define DT_B(v) (dt_scalar{DT_BOOL, 0.0, (v) ? 1 : 0})
#endif

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct dt_ctx dt_ctx;

/**
 * Create a context on a communicator. Collective over comm.
 * The communicator is duplicated (the caller keeps and frees its own).
 * Defaults: dtype float32, split axis 0, seed 67280421310721 (PyTorch's
 * default), generator offset 0, grad mode on, deepcopy chunk budget 64 MiB.
 * Errors: DT_ERR_NULL, DT_ERR_ARG (MPI not initialised or comm is
 * MPI_COMM_NULL), DT_ERR_MPI, DT_ERR_NOMEM.
 */
dt_err dt_ctx_create(MPI_Comm comm, dt_ctx **ctx);

/**
 * Destroy a context and free its communicator. Collective. NULL-safe; sets
 * *ctx to NULL on success. Every tensor of the context must have been
 * destroyed first: otherwise DT_ERR_BUSY on every rank and nothing is freed.
 */
dt_err dt_ctx_destroy(dt_ctx **ctx);

/** Number of ranks / this rank / the (duplicated) communicator. Not
 *  collective. The communicator stays owned by the context. */
int dt_ctx_size(const dt_ctx *ctx);
int dt_ctx_rank(const dt_ctx *ctx);
MPI_Comm dt_ctx_comm(const dt_ctx *ctx);

/**
 * Seed the generator (like torch.manual_seed): seed := seed, offset := 0.
 * Not collective, but every rank must use the same seed for tensors to agree
 * (random factories check this and fail with DT_ERR_MISMATCH otherwise).
 */
dt_err dt_manual_seed(dt_ctx *ctx, uint64_t seed);
/** Read the generator state. Not collective. */
dt_err dt_rng_state(const dt_ctx *ctx, uint64_t *seed, uint64_t *offset);
/** Restore a generator state read with dt_rng_state. Not collective. */
dt_err dt_set_rng_state(dt_ctx *ctx, uint64_t seed, uint64_t offset);

/**
 * Budget in bytes for dt_deepcopy's streaming (default 64 MiB, at most
 * 1 GiB, at least 4 KiB): no rank holds more than its shards plus this.
 * The exact cross-rank sums of broadcast gradients work in chunks of it
 * too.
 * Not collective; set it identically on every rank.
 */
dt_err dt_ctx_set_chunk_budget(dt_ctx *ctx, size_t bytes);
size_t dt_ctx_chunk_budget(const dt_ctx *ctx);

/**
 * Threads each rank's loops use: omp_get_max_threads() (so OMP_NUM_THREADS
 * or omp_set_num_threads) when OMP_NUM_THREADS is set; otherwise at most the
 * cores this rank may run on divided by the ranks on its node (known after
 * the first dt_ctx_create), so ranks do not spin on each other's cores.
 * DT_NUM_THREADS, when set, replaces that cap. Not collective.
 */
int dt_num_threads(void);

/** Default floating dtype for inference (DT_FLOAT32 or DT_FLOAT64), like
 *  torch.set_default_dtype. Not collective; set it identically everywhere. */
dt_err dt_ctx_set_default_dtype(dt_ctx *ctx, dt_dtype dtype);
dt_dtype dt_ctx_default_dtype(const dt_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Layouts and creation options                                              */
/* ------------------------------------------------------------------------ */

/**
 * How a global shape is cut into one box per rank.
 *  DT_LAYOUT_DEFAULT  the context default: split on axis 0 (0-d tensors are
 *                     replicated).
 *  DT_SPLIT           split on opts.split_axis into P balanced blocks, like
 *                     torch.chunk/PETSc: the first (n % P) ranks get one more.
 *  DT_REPLICATED      every rank holds the whole tensor.
 *  DT_GRID            a process grid opts.grid[d] per axis (product = P),
 *                     balanced cuts on each axis; rank r owns the box at its
 *                     row-major grid coordinates.
 *  DT_CUTS            explicit cut points: axis d is cut at
 *                     opts.cuts[d][0..grid[d]] (0 = c0 <= c1 <= ... =
 *                     shape[d]); axes with cuts[d] == NULL are not cut. Boxes
 *                     may be empty.
 *  DT_IRREGULAR       reported by queries only: a layout none of the above
 *                     describes (from dt_from_buffer, or views).
 */
typedef enum dt_layout_kind {
  DT_LAYOUT_DEFAULT = 0,
  DT_SPLIT,
  DT_REPLICATED,
  DT_GRID,
  DT_CUTS,
  DT_IRREGULAR
} dt_layout_kind;

/**
 * Options for creation functions. A zero-initialised struct (or a NULL
 * pointer) means the defaults: dtype inferred or the context default, split
 * on axis 0, no grad. In *_like functions a zero field means "as the source".
 */
typedef struct dt_opts {
  dt_dtype dtype;
  dt_layout_kind layout;
  int split_axis;                   /* DT_SPLIT */
  int grid[DT_MAX_DIMS];            /* DT_GRID, DT_CUTS: ranks per axis */
  const int64_t *cuts[DT_MAX_DIMS]; /* DT_CUTS: grid[d] + 1 cut points */
  bool requires_grad;
} dt_opts;

/*
 * C++: the C idiom &(dt_opts){.dtype = DT_FLOAT64} (a compound literal) is C
 * only, and designated initializers need C++20 and the members' order.
 * Value-initialise a dt_opts (every field zero, the defaults) and set the
 * fields you need:
 *   dt_opts o{};                 // or: dt_opts o = dt_opts();
 *   o.dtype = DT_FLOAT64;
 *   o.layout = DT_SPLIT;
 *   o.split_axis = 1;
 *   dt_zeros(ctx, 2, shape, &o, &t);
 * (C++20: dt_opts o{.dtype = DT_FLOAT64, .layout = DT_SPLIT};)
 */

/* ------------------------------------------------------------------------ */
/* Tensors                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct dt_tensor dt_tensor;

/**
 * Release a tensor handle. Not collective. NULL-safe; sets *t to NULL.
 * Storage is freed when its last user (tensor or view) goes; a user buffer
 * given to dt_from_buffer is never freed by the library.
 */
dt_err dt_tensor_destroy(dt_tensor **t);

/* Accessors: not collective, never fail on a valid tensor (return 0/NULL on a
 * NULL tensor). Arrays returned are borrowed from the tensor. */
int dt_ndim(const dt_tensor *t);
const int64_t *dt_shape(const dt_tensor *t);
/** Global size of one axis (negative axis counts from the end); -1 when the
 *  axis is out of range. */
int64_t dt_size(const dt_tensor *t, int axis);
int64_t dt_numel(const dt_tensor *t);
dt_dtype dt_dtype_of(const dt_tensor *t);
dt_ctx *dt_tensor_ctx(const dt_tensor *t);
bool dt_requires_grad(const dt_tensor *t);

/** This rank's box: global start and local shape (dt_ndim entries each;
 *  either pointer may be NULL). */
void dt_local_box(const dt_tensor *t, int64_t *start, int64_t *shape);
/** Number of elements in this rank's box. */
int64_t dt_local_numel(const dt_tensor *t);
/**
 * This rank's shard, sharing memory with the tensor (like .numpy()): element
 * (i0, i1, ...) of the local box is at ((T *)ptr)[sum_d i_d * stride[d]].
 * Writes through the pointer are seen by the tensor and its views. May be
 * NULL when the box is empty.
 */
void *dt_local_data(const dt_tensor *t);
/** Element strides of the local shard (dt_ndim entries). */
void dt_local_strides(const dt_tensor *t, int64_t *strides);
/** true when the local shard is dense in C order (strides of a fresh box). */
bool dt_is_contiguous(const dt_tensor *t);

/**
 * Describe the layout: its kind and, for DT_SPLIT, the split axis (else -1).
 * For DT_GRID/DT_CUTS the grid is written to grid[] when grid is non-NULL.
 */
dt_layout_kind dt_layout_of(const dt_tensor *t, int *split_axis, int *grid);

/**
 * The box rank `rank` owns: global start and shape (dt_ndim entries).
 * Not collective (layouts are replicated metadata).
 * Errors: DT_ERR_NULL, DT_ERR_RANK (rank outside 0..size-1).
 */
dt_err dt_owner_box(const dt_tensor *t, int rank, int64_t *start,
                    int64_t *shape);

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */
/* All collective. `shape` holds ndim sizes (0 <= ndim <= DT_MAX_DIMS, sizes  */
/* >= 0, product and byte size within 64 bits); `opts` may be NULL.           */
/* Common errors: DT_ERR_NULL, DT_ERR_SHAPE, DT_ERR_OVERFLOW, DT_ERR_DTYPE,  */
/* DT_ERR_AXIS, DT_ERR_LAYOUT, DT_ERR_NOMEM, DT_ERR_MISMATCH (replicated     */
/* arguments differ between ranks). On error *out is NULL on every rank.      */
/* The new tensor owns its storage; release it with dt_tensor_destroy.       */
/* ------------------------------------------------------------------------ */

/** Uninitialised tensor (torch.empty). Default dtype: context default. */
dt_err dt_empty(dt_ctx *ctx, int ndim, const int64_t *shape,
                const dt_opts *opts, dt_tensor **out);
/** Zeros (torch.zeros). */
dt_err dt_zeros(dt_ctx *ctx, int ndim, const int64_t *shape,
                const dt_opts *opts, dt_tensor **out);
/** Ones (torch.ones). */
dt_err dt_ones(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts,
               dt_tensor **out);
/**
 * Filled with `value` (torch.full). The dtype, unless opts sets one, is
 * inferred from the scalar: DT_I -> int64, DT_F -> default float, DT_B ->
 * bool. The value is converted as torch's fill does (c10::checked_convert):
 * a float into an integer dtype is truncated toward zero, anything into
 * bool is value != 0. Errors: DT_ERR_ARG "value cannot be converted to type
 * int32 without overflow" when the dtype cannot hold the value: an integer
 * dtype and a value outside its range (compared in double: 2147483647.5 is
 * refused by int32), an infinity or NaN; float32 and a finite value beyond
 * FLT_MAX (inf and NaN are kept). For int64 torch's bound rounds to 2^63,
 * where torch's conversion is undefined; dtensor refuses 2^63 too.
 */
dt_err dt_full(dt_ctx *ctx, int ndim, const int64_t *shape, dt_scalar value,
               const dt_opts *opts, dt_tensor **out);

/**
 * Uniform on [0, 1) (torch.rand); float dtypes only (DT_ERR_DTYPE otherwise).
 *
 * Random bit recipe (a specification; see also dt_randn and dt_randint).
 * Philox4x32-10 (Salmon et al. 2011, identical to Random123's philox4x32)
 * with key k = {seed & 0xffffffff, seed >> 32} and, for the block with
 * 64-bit index b, counter c = {b & 0xffffffff, b >> 32, offset & 0xffffffff,
 * offset >> 32}, gives four 32-bit words w0..w3. The element with global
 * row-major index i uses:
 *   float32: block b = i / 4, word w[i % 4]:  x = (w >> 8) * 2^-24
 *   float64: block b = i / 2, words lo = w[2(i%2)], hi = w[2(i%2)+1]:
 *            x = (((hi << 32) | lo) >> 11) * 2^-53
 * After every successful random factory the context's generator offset
 * grows by one on every rank, so consecutive calls draw disjoint streams.
 * The value of an element depends only on (seed, offset, i, dtype): never on
 * rank count, layout, thread count or shard boundaries.
 */
dt_err dt_rand(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts,
               dt_tensor **out);

/**
 * Standard normal (torch.randn); float dtypes only. Box-Muller on the words
 * of dt_rand's recipe:
 *   float32: block b = i / 4; elements 4b, 4b+1 use (w0, w1) and elements
 *            4b+2, 4b+3 use (w2, w3). For a word pair (p, q):
 *              u = (float)(p >> 8) * 2^-24 + ((float)(p & 0xff) * 2^-32 +
 *                  2^-33)                           (u in (0, 1])
 *              t = (float)(q >> 8) * 2^-24          (t in [0, 1))
 *              the even element is r cos(2 pi t), the odd r sin(2 pi t),
 *              r = sqrt(-2 log u).
 *   float64: block b = i / 2; u from words (w0, w1) and t from (w2, w3),
 *            each 64-bit value v = (w_hi << 32 | w_lo) as
 *              u = (v >> 11) * 2^-53 + 2^-54,  t = (v >> 11) * 2^-53;
 *            element 2b is r cos(2 pi t), 2b+1 is r sin(2 pi t).
 * log, sin and cos are the library's own IEEE-754 kernels (fdlibm-style
 * polynomials using only +, -, *, / and sqrt, no fused multiply-add), with
 * an exact reduction of 2 pi t to [-pi/4, pi/4]; so every element gets the
 * same bits on every machine, scalar or vectorised. Accuracy is within a few
 * ulp of the correctly rounded values.
 */
dt_err dt_randn(dt_ctx *ctx, int ndim, const int64_t *shape,
                const dt_opts *opts, dt_tensor **out);

/**
 * Integers uniform on [low, high) (torch.randint); default dtype int64.
 * Element i uses the 64-bit word v of dt_rand's float64 recipe:
 * value = low + floor(v * (high - low) / 2^64) (a multiply-high, bias below
 * (high - low) / 2^64). Float dtypes receive the integer converted; bool
 * requires 0 <= low < high <= 2. Errors: DT_ERR_ARG when high <= low.
 */
dt_err dt_randint(dt_ctx *ctx, int64_t low, int64_t high, int ndim,
                  const int64_t *shape, const dt_opts *opts, dt_tensor **out);

/**
 * 1-D range [start, end) with `step` (torch.arange), computed as torch
 * 1.13's CPU kernel computes it. dtype: int64 when all three scalars are
 * ints (DT_I), else the default float dtype, unless opts sets one.
 *  - float dtypes: length ceil((end - start) / step) in double (exact when
 *    all three are ints); element k is start + k * step in double, then
 *    rounded to the dtype.
 *  - int32/int64: start, end and step are first converted to int64
 *    (truncated toward zero; out of range, inf or NaN: DT_ERR_ARG "value
 *    cannot be converted to type int64 without overflow"), and element k is
 *    start + k * step in int64 (wrapped into int32). The length is exact on
 *    those integers for int64, so arange(0, 5, 1.5, dtype=int64) is
 *    [0, 1, 2, 3, 4]; for int32 torch computes it in double from the
 *    original scalars, ceil((end - start) / step), so the same call with
 *    int32 is [0, 1, 2, 3]. A step that truncates to 0 is "step must be
 *    nonzero".
 *  - bool: refused (DT_ERR_DTYPE, torch's "arange_cpu" not implemented for
 *    'Bool').
 * Errors: DT_ERR_ARG for a zero step, a step whose sign never reaches end,
 * or a non-finite bound; DT_ERR_OVERFLOW for a length beyond int64.
 */
dt_err dt_arange(dt_ctx *ctx, dt_scalar start, dt_scalar end, dt_scalar step,
                 const dt_opts *opts, dt_tensor **out);

/**
 * `steps` evenly spaced values from start to end inclusive (torch.linspace).
 * With step = (end - start) / (steps - 1), element k is start + k * step for
 * k < steps / 2 and end - (steps - 1 - k) * step otherwise, computed in the
 * output dtype for floats and in double for integer dtypes (truncated), as
 * PyTorch's CPU kernel does. steps == 1 gives [start]. Default float dtype.
 * Errors: DT_ERR_ARG when steps < 0 or a bound is not finite.
 */
dt_err dt_linspace(dt_ctx *ctx, double start, double end, int64_t steps,
                   const dt_opts *opts, dt_tensor **out);

/**
 * base ** linspace(start, end, steps) (torch.logspace), as torch 1.13's CPU
 * kernel computes it: the bounds in the output dtype (float32: rounded;
 * integer dtypes: truncated), step = (double)(end - start) / (steps - 1)
 * with the difference taken in that dtype, exponent start + k * step for
 * k < steps / 2 and end - (steps - 1 - k) * step otherwise, in double; pow
 * in double and one rounding to the output dtype (so float32 values are
 * pow's double result rounded once, bitwise torch's). Integer dtypes raise
 * the base rounded to float32, as torch does. steps == 1 gives
 * [pow(base, start)] with the original start. Errors as dt_linspace.
 */
dt_err dt_logspace(dt_ctx *ctx, double start, double end, int64_t steps,
                   double base, const dt_opts *opts, dt_tensor **out);

/** n x m matrix with ones on the diagonal (torch.eye(n, m)). */
dt_err dt_eye(dt_ctx *ctx, int64_t n, int64_t m, const dt_opts *opts,
              dt_tensor **out);

/**
 * Tensor from a full C-order array (torch.tensor): new memory, copied. With
 * root == DT_ALL_RANKS every rank passes the whole array and copies its own
 * box; otherwise only `root`'s `data` is read and each rank's box is sent to
 * it (data may be NULL elsewhere). The output dtype is opts->dtype when set,
 * else data_dtype. Conversion between dtypes (here, in dt_copy_ and
 * wherever the library converts elements): float to an integer dtype
 * truncates toward zero, saturates at the integer range (values beyond it,
 * and +-inf, give its minimum or maximum) and gives 0 for NaN, the same on
 * every machine (torch's result there is platform-defined: its cast is
 * undefined behaviour in C++); int64 to int32 wraps modulo 2^32, as torch's
 * cast does; anything nonzero to bool gives 1; to a float dtype rounds to
 * nearest. Errors: DT_ERR_RANK for a bad root.
 */
dt_err dt_from_data(dt_ctx *ctx, int ndim, const int64_t *shape,
                    const void *data, dt_dtype data_dtype, int root,
                    const dt_opts *opts, dt_tensor **out);

/**
 * Tensor from a literal (torch.tensor), in Python's syntax: nested lists or
 * tuples ("[[1.0, 2], [3, 4]]", "[(1, 2), (3, 4)]", "(1,)", "()"), trailing
 * commas ("[1, 2,]"), parentheses around one value as grouping only ("(7)"
 * is 7), true/false or True/False, inf/nan. Without opts->dtype the dtype is
 * inferred as torch.tensor does: all ints -> int64, any float (with '.',
 * exponent, inf or nan) -> default float, all bools -> bool (bools mixed
 * with numbers count as numbers). With opts->dtype each value goes from its
 * text straight to that dtype, as torch.tensor(..., dtype=) stores Python
 * numbers: a float through double (to float32: the double rounded once
 * more), an int exactly as int64 (an int beyond int64 is only accepted by a
 * float dtype or bool), a float into an integer dtype truncated toward zero
 * and refused when it is out of range, inf or NaN; an int that does not fit
 * int32 is refused too: DT_ERR_ARG "value cannot be converted to type int32
 * without overflow (the value at position 4)". Every rank passes the same
 * literal. Errors: DT_ERR_PARSE for ragged, empty-nested ("[[], [1]]"),
 * mismatched brackets, malformed or trailing input; the message names the
 * byte position.
 */
dt_err dt_parse(dt_ctx *ctx, const char *literal, const dt_opts *opts,
                dt_tensor **out);

/**
 * Zero-copy tensor over a user buffer (torch.from_numpy): `buf` becomes this
 * rank's shard, dense C order of local_shape, dtype `dtype`. The library
 * never frees it; the buffer must outlive every tensor and view over it.
 * local_start/local_shape give this rank's box; the boxes are validated
 * collectively and must tile the global shape exactly (no overlap, no hole).
 * Pass both as NULL to take the default split-on-axis-0 box. A float
 * tensor may require grad afterwards (dt_requires_grad_, as
 * torch.from_numpy(a).requires_grad_()): its gradient is new library
 * memory, and the buffer stays the user's (written only by the user, or by
 * dt_copy_ / in-place ops into the tensor where those are allowed). Errors:
 * DT_ERR_LAYOUT when boxes overlap, leave holes or fall outside the shape;
 * DT_ERR_NULL for a NULL buf with a non-empty box.
 */
dt_err dt_from_buffer(dt_ctx *ctx, void *buf, dt_dtype dtype, int ndim,
                      const int64_t *shape, const int64_t *local_start,
                      const int64_t *local_shape, dt_tensor **out);

/* *_like: shape, dtype, context and layout of `src` unless `opts` overrides
 * them (a zero field keeps the source's). Collective. */
dt_err dt_empty_like(const dt_tensor *src, const dt_opts *opts,
                     dt_tensor **out);
dt_err dt_zeros_like(const dt_tensor *src, const dt_opts *opts,
                     dt_tensor **out);
dt_err dt_ones_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out);
/** As dt_full; the dtype is the source's unless overridden. */
dt_err dt_full_like(const dt_tensor *src, dt_scalar value, const dt_opts *opts,
                    dt_tensor **out);
/** Errors: DT_ERR_DTYPE when the resulting dtype is not floating. */
dt_err dt_rand_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out);
/** Errors: DT_ERR_DTYPE when the resulting dtype is not floating (as
 *  torch.randn_like of an integer tensor). */
dt_err dt_randn_like(const dt_tensor *src, const dt_opts *opts,
                     dt_tensor **out);

/**
 * New tensor from data (Tensor.new_tensor): like dt_from_data with every
 * rank passing the array, but with the source's dtype, context and layout
 * rule (the same kind of layout, applied to the new shape; split on the same
 * axis when that axis exists, else the context default). opts overrides.
 */
dt_err dt_new_tensor(const dt_tensor *src, int ndim, const int64_t *shape,
                     const void *data, dt_dtype data_dtype, const dt_opts *opts,
                     dt_tensor **out);

/* ------------------------------------------------------------------------ */
/* Copies and views (PyTorch's copy table, distributed)                      */
/*                                                                          */
/*  operation         memory              autograd         across ranks      */
/*  dt_from_data      new, copied         new leaf         each rank copies  */
/*                                                         its box (or root  */
/*                                                         sends it)         */
/*  dt_from_buffer    the user's buffer   a leaf (float:   buffer = shard    */
/*                                        may require grad)                  */
/*  dt_local_data     shares              -                this rank's shard */
/*  dt_clone          new, same layout    keeps the graph  local copy        */
/*  dt_copy_          writes into dst     an edge to src;  one exchange of   */
/*                                        dst's old graph  box intersections */
/*                                        is cut                             */
/*  dt_deepcopy       new, independent    copies flags,    gather + scatter, */
/*                                        .grad, no graph  streamed in chunks*/
/*  views             share               per PyTorch      metadata only     */
/* ------------------------------------------------------------------------ */

/**
 * New storage, same layout and dtype: each rank copies its own shard (a
 * strided view comes out contiguous; shards beyond about a quarter of the
 * last-level cache are copied with non-temporal stores). No data moves
 * between ranks; one small MPI_Allreduce agrees on success. The result requires
 * grad when t does (it stays in t's graph). Collective.
 */
dt_err dt_clone(const dt_tensor *t, dt_tensor **out);

/**
 * Overwrite dst's elements with src's (Tensor.copy_): dst keeps its
 * storage, layout, dtype and identity, so views of dst and a user buffer
 * behind dt_from_buffer see the change. src may have any layout (split on
 * another axis, a grid, replicated, irregular, a strided view), any dtype
 * (converted as dt_from_data converts) and any shape that broadcasts to
 * dst's (PyTorch's rules). Each rank sends every other rank exactly the
 * elements that rank needs (one exchange of box intersections, the peers
 * found from the layouts' cut points in O(log P + peers) per rank:
 * contiguous pieces go straight from and into the shards, strided ones are
 * packed; a large strided piece between ranks of one node is
 * read by the receiver straight out of the sender's shard with Linux
 * cross-memory attach, process_vm_readv, when the context found it usable
 * (DT_NO_CMA=1 turns that off), and is otherwise packed by all threads); a
 * replicated src is read
 * locally with no communication. Messages above 1 GiB are split. One
 * MPI_Allreduce agrees on the arguments and the plan before anything
 * moves (two more when pieces are read across memory). When src
 * and dst share memory, src is first copied, so the result is as if src
 * were read entirely before dst is written. Collective over dst's context.
 * Autograd, as torch: with grad mode on and src or dst requiring grad,
 * dst requires grad afterwards with grad_fn CopyBackwards; dst's gradient
 * flows to src (converted back to src's dtype, summed exactly over the
 * broadcast axes, redistributed to src's layout) and dst's old history
 * gets zero. A tensor saved for backward that copy_ overwrites makes a
 * later dt_backward through it fail (version check).
 * Errors: DT_ERR_SHAPE (src does not broadcast to dst), DT_ERR_CONTEXT
 * (contexts on different groups of ranks), DT_ERR_AUTOGRAD (dst is a leaf
 * that requires grad and grad mode is on), DT_ERR_UNSUPPORTED (dst is a
 * view (dt_view, dt_slice, dt_transpose) of a tensor in a graph while grad
 * mode is on: torch rebases the view's base, dtensor does not track bases).
 */
dt_err dt_copy_(dt_tensor *dst, const dt_tensor *src);

/**
 * Out-of-place copy into the layout (and dtype, when set) of `opts`
 * (dt_empty_like + dt_copy_). Collective.
 */
dt_err dt_redistribute(const dt_tensor *t, const dt_opts *opts,
                       dt_tensor **out);

/** Pass as dt_deepcopy's destination on ranks outside the destination. */
#define DT_CTX_ABSENT ((dt_ctx *)(uintptr_t)1)

/**
 * A fully independent copy (copy.deepcopy): new storage and its own layout
 * object, requires_grad copied, no graph. Collective over t's context. The
 * copy goes to a root (rank 0) and back out, streamed through chunks of the
 * context's chunk budget, so no rank ever holds more than its source shard,
 * its new shard and the budget, whatever the tensor's size.
 * `dst` NULL: the copy lives on t's context, in the same layout. Otherwise
 * the copy lives on `dst`, a context whose ranks are a subset of t's (for
 * example half of the job): members pass it, the other ranks pass
 * DT_CTX_ABSENT and get *out = NULL. The layout rule then follows
 * dt_new_tensor (split on the same axis, replicated stays replicated).
 * Errors: DT_ERR_CONTEXT when dst's ranks are not a subset of t's.
 */
dt_err dt_deepcopy(const dt_tensor *t, dt_ctx *dst, dt_tensor **out);

/**
 * A view with another shape and the same elements in C order (Tensor.view),
 * sharing storage. One entry may be -1 (inferred). Possible when every
 * rank's box is still a box of the new shape and its local strides allow it
 * (PyTorch's rule); otherwise DT_ERR_LAYOUT (the split prevents it) or
 * DT_ERR_SHAPE (the strides or the element count), with a message pointing
 * to dt_reshape. A 0-d view of a distributed tensor needs dt_reshape too.
 * Collective (the outcome is agreed: strides may differ between ranks).
 */
dt_err dt_view(const dt_tensor *t, int ndim, const int64_t *shape,
               dt_tensor **out);

/** dt_view when possible, otherwise a copy redistributed into the new shape
 *  (split on axis 0, or replicated when t is). Collective. */
dt_err dt_reshape(const dt_tensor *t, int ndim, const int64_t *shape,
                  dt_tensor **out);

/**
 * The view t[..., start:stop:step, ...] on `axis`, sharing storage, with
 * Python's (and torch's) rules: a negative start or stop counts from the
 * end, bounds past either end are clamped (t[2:100], t[-100:3]), a stop at
 * or before the start gives an empty tensor, so INT64_MIN / INT64_MAX stand
 * for an omitted bound (t[-2:] is dt_slice(t, 0, -2, INT64_MAX, 1, &v)).
 * step >= 1 (DT_ERR_ARG otherwise, as torch refuses negative steps), on any
 * axis: slicing the split axis gives an irregular layout, possibly with
 * empty shards, and a step > 1 a strided shard. Differentiable (the
 * gradient is zero outside the slice). Not collective (metadata only): call
 * it with the same arguments on every rank.
 */
dt_err dt_slice(const dt_tensor *t, int axis, int64_t start, int64_t stop,
                int64_t step, dt_tensor **out);

/** The view with two axes swapped (Tensor.transpose), sharing storage. Not
 *  collective (metadata only). */
dt_err dt_transpose(const dt_tensor *t, int axis0, int axis1, dt_tensor **out);

/** A view that shares storage but is out of the graph (Tensor.detach):
 *  requires_grad is false. Not collective. */
dt_err dt_detach(const dt_tensor *t, dt_tensor **out);

/**
 * Whether a and b share memory on this rank (the same storage, or
 * overlapping user buffers): the answer the copy table's "memory" column
 * asks. Not collective; false when either is NULL.
 */
bool dt_shares_memory(const dt_tensor *a, const dt_tensor *b);

/* ------------------------------------------------------------------------ */
/* Autograd                                                                  */
/*                                                                          */
/* Operations on tensors that require grad record a graph while grad mode   */
/* is on (dt_set_grad_enabled, the context's torch.no_grad); dt_backward    */
/* walks it and accumulates gradients into the leaves' .grad. As in         */
/* PyTorch: dt_clone keeps the graph, dt_copy_ records an edge to its      */
/* source (CopyBackwards) and cuts the target's old graph, dt_deepcopy      */
/* starts a new leaf, dt_from_data makes a new leaf, dt_detach leaves the   */
/* graph. All of it is collective: every rank runs the same operations.     */
/* ------------------------------------------------------------------------ */

/**
 * Set whether t requires grad (Tensor.requires_grad_). Only floating tensors
 * can (DT_ERR_DTYPE otherwise), tensors over a user buffer (dt_from_buffer)
 * included; a non-leaf cannot be switched off (DT_ERR_AUTOGRAD: detach
 * it). Not collective: call it on every rank.
 */
dt_err dt_requires_grad_(dt_tensor *t, bool requires_grad);

/** t's accumulated gradient (Tensor.grad), borrowed from t; NULL when none.
 *  Same shape, dtype and layout as t. Not collective. */
dt_tensor *dt_grad(const dt_tensor *t);

/**
 * Replace t's gradient (Tensor.grad = g): g's values are copied into a new
 * tensor with t's layout, or the gradient is cleared when g is NULL. The
 * caller keeps g. Errors: DT_ERR_SHAPE / DT_ERR_DTYPE when g's shape or
 * dtype differ from t's. Collective.
 */
dt_err dt_set_grad(dt_tensor *t, const dt_tensor *g);

/** Set t's gradient to zeros when it has one (Tensor.grad.zero_()); later
 *  backward calls accumulate from zero. Not collective. */
dt_err dt_zero_grad(dt_tensor *t);

/** true when t was produced by a recorded operation (has a grad_fn). */
bool dt_has_grad_fn(const dt_tensor *t);
/** PyTorch's name of the node that made t ("AddBackward0", "CopyBackwards",
 *  as repr shows it in grad_fn=<...>); NULL for a leaf or a NULL t. Not
 *  collective; the string is static. */
const char *dt_grad_fn_name(const dt_tensor *t);

/**
 * Turn recording on or off for a context (torch.set_grad_enabled; off is
 * torch.no_grad). The previous mode goes to *previous when non-NULL. Not
 * collective: set it identically everywhere.
 */
dt_err dt_set_grad_enabled(dt_ctx *ctx, bool enabled, bool *previous);
bool dt_is_grad_enabled(const dt_ctx *ctx);

/**
 * Backpropagate from t (Tensor.backward). `grad` is dL/dt (same shape as t,
 * any layout); NULL means 1 and is only allowed for a one-element t. The
 * gradients of the leaves that require grad are accumulated into their
 * .grad (created on first use). Without retain_graph the graph's saved
 * tensors are freed, and a second backward through it is an error.
 * Collective. Errors (DT_ERR_AUTOGRAD, as PyTorch words them): t does not
 * require grad; implicit gradient for a non-scalar; the graph was freed; a
 * tensor saved for backward was modified in place since (version check:
 * "one of the variables needed for gradient computation has been modified
 * by an inplace operation: [torch.FloatTensor [3]] is at version 1;
 * expected version 0 instead").
 */
dt_err dt_backward(dt_tensor *t, const dt_tensor *grad, bool retain_graph);

/* ---- differentiable operations (collective; new tensors in *out) -------- */

/**
 * Elementwise a + b, a - b, a * b, a / b (torch.add, sub, mul, div) with
 * PyTorch's broadcasting ([3, 4] + [4], [3, 1] * [1, 4]: trailing axes
 * match or one of them is 1) and type promotion (torch.result_type over
 * the five dtypes, ordered bool < int32 < int64 < float32 < float64: a
 * higher category wins whatever the sizes, so int64 + float32 is float32
 * and int32 + int64 is int64; a 0-d operand only counts when it raises the
 * category, so int32 [n] + 0-d int64 is int32 but + 0-d float64 is
 * float64). Integers wrap around (two's complement); bool + bool is "or"
 * and bool * bool "and" (bool results); dt_div is true division, so
 * integer or bool operands give the context's default float dtype; a bool
 * operand of dt_sub is refused as in torch. The result's layout is that of
 * the first operand with the result's shape, else one like the first
 * operand's (split on the same axis, replicated stays replicated); each
 * other operand is copied next to it (only the part each rank's box reads,
 * converted to the common dtype). Element results do not depend on the
 * layout, rank count or thread count. Differentiable when the result is
 * floating: each input's gradient is summed exactly over the axes
 * broadcasting added or stretched (correctly rounded, so the same bits at
 * any rank count and layout; a sum that crosses ranks adds fixed-point
 * accumulators with one integer MPI_Allreduce per chunk of the context's
 * chunk budget), converted back to the input's dtype and redistributed to
 * its layout. Errors: DT_ERR_SHAPE ("The size of tensor a (3) must match
 * the size of tensor b (4) at non-singleton dimension 1"), DT_ERR_DTYPE
 * (a bool operand of dt_sub), DT_ERR_CONTEXT. Collective.
 */
dt_err dt_add(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_sub(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_mul(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_div(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
/**
 * Comparisons a == b, a != b, a < b, a <= b, a > b, a >= b (torch.eq, ne,
 * lt, le, gt, ge): broadcasting and the common dtype as dt_add, the result
 * is bool (never requires grad). NaN compares unequal to everything.
 * Collective.
 */
dt_err dt_eq(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_ne(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_lt(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_le(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_gt(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
dt_err dt_ge(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);
/**
 * torch.where(cond, a, b): a where cond is true, else b. cond must be bool
 * (DT_ERR_DTYPE otherwise, torch's message); all three broadcast together;
 * a and b promote as in dt_add. Differentiable in a and b (gradient
 * where(cond, g, 0) and where(cond, 0, g), summed back as dt_add's).
 * Collective.
 */
dt_err dt_where(const dt_tensor *cond, const dt_tensor *a, const dt_tensor *b,
                dt_tensor **out);
/** -a (bool refused as in torch; integers wrap). */
dt_err dt_neg(const dt_tensor *a, dt_tensor **out);
/* The scalar of dt_pow_scalar, dt_add_scalar and dt_mul_scalar is a Python
 * float (a "wrapped number"): it never changes a floating tensor's dtype
 * (it is rounded to it), and an integer or bool tensor gives the default
 * float dtype. dt_exp and dt_log of integer or bool tensors too. */
/** a ** p (p == 2 is a * a exactly, as PyTorch). */
dt_err dt_pow_scalar(const dt_tensor *a, double p, dt_tensor **out);
dt_err dt_add_scalar(const dt_tensor *a, double s, dt_tensor **out);
dt_err dt_mul_scalar(const dt_tensor *a, double s, dt_tensor **out);
dt_err dt_exp(const dt_tensor *a, dt_tensor **out);
dt_err dt_log(const dt_tensor *a, dt_tensor **out);

/**
 * t converted to `dtype` (Tensor.to(dtype)), same shape and layout. When
 * dtype is t's own, *out is t itself (a new reference to the same handle,
 * as torch returns self: destroy it as usual). Otherwise new storage,
 * converted as dt_copy_ converts (float to integer truncates toward zero,
 * saturating at the integer type's limits, NaN gives 0; to bool: nonzero is
 * true). Differentiable to a floating dtype (grad_fn ToCopyBackward0, the
 * gradient converted back to t's dtype); an integer or bool result never
 * requires grad, as in torch. Errors: DT_ERR_DTYPE (unknown dtype).
 * Collective.
 */
dt_err dt_to(const dt_tensor *t, dt_dtype dtype, dt_tensor **out);

/**
 * Sum of every element into a 0-d replicated tensor, exact and correctly
 * rounded: the exact real sum of the values, rounded once to the dtype (for
 * float64 what Python's math.fsum returns), so it is bitwise identical at any
 * rank count, layout and thread count. Each element is added exactly into a
 * fixed-point accumulator of 32-bit digits in int64 words (2^-1074 ..
 * 2^1166: every double, and carries; blocks of elements are first summed
 * exactly in double arithmetic); ranks combine accumulators with one
 * MPI_Allreduce of integers, whose order cannot matter. NaN in, or +inf
 * with -inf, gives NaN; otherwise an infinity wins; a finite sum beyond the
 * dtype's range rounds to infinity. All-negative-zero inputs give -0.
 * Collective: one MPI_Allreduce, which also carries the error agreement.
 * Errors (the same on every rank): DT_ERR_NULL, DT_ERR_DTYPE (not a
 * floating dtype), DT_ERR_NOMEM, DT_ERR_MISMATCH.
 */
dt_err dt_sum(const dt_tensor *a, dt_tensor **out);
/** The exact sum divided by the element count, rounded once (NaN when
 *  empty). */
dt_err dt_mean(const dt_tensor *a, dt_tensor **out);

/* ------------------------------------------------------------------------ */
/* Reductions along axes (src/reduce.c)                                      */
/*                                                                          */
/* `dims` lists ndims axes (negative counts from the end; a 0-d tensor      */
/* accepts 0 and -1); ndims == 0 reduces every axis, as torch's dim=[].     */
/* keepdim keeps each reduced axis with extent 1. Layout of the result:     */
/* when some axis is kept, the input is first brought to a layout holding   */
/* the reduced axes whole on every rank (its own layout when it already     */
/* does, with no communication; otherwise split on the kept axis of largest */
/* extent, the first of equals: one redistribution of the input) and the    */
/* result has that layout's boxes on the kept axes (a split input reduced   */
/* along another axis stays split on the same axis; reducing the split axis */
/* moves the split to the largest kept axis). When every axis is reduced,   */
/* the result is replicated. Every output element is computed from its own  */
/* elements alone, so its bits never depend on rank count, layout or thread */
/* count. All are collective; *out is new (dt_tensor_destroy).              */
/* Errors, as torch words them: DT_ERR_AXIS ("Dimension out of range        */
/* (expected to be in range of [-2, 1], but got 2)"), DT_ERR_ARG (a dim     */
/* listed twice), DT_ERR_DTYPE, DT_ERR_SHAPE (max/min over an empty axis).  */
/* ------------------------------------------------------------------------ */

/**
 * Sum over the axes `dims` (torch.sum(a, dim, keepdim)). Floats: each output
 * element is the exact sum of its elements rounded once to the dtype, as
 * dt_sum (NaN, infinities and -0 as there; an empty reduction gives 0).
 * bool, int32 and int64 give int64 (as torch), summed modulo 2^64.
 * Differentiable: the gradient is the output's gradient expanded back over
 * the reduced axes, in the input's layout. Collective.
 */
dt_err dt_sum_dim(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
                  dt_tensor **out);
/**
 * Mean over the axes `dims`: the exact sum divided by the reduced count,
 * rounded once (NaN when the reduced axes are empty). Floating point only:
 * an integer or bool input is DT_ERR_DTYPE ("mean(): could not infer output
 * dtype. Input dtype must be either a floating point or complex dtype. Got:
 * Long"), as torch. Differentiable (gradient g / count, computed in the
 * dtype). Collective.
 */
dt_err dt_mean_dim(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
                   dt_tensor **out);
/**
 * Largest / smallest element over the axes `dims` (torch.amax, torch.amin),
 * any dtype, the result in the input's dtype. NaN is larger and smaller
 * than everything (a NaN anywhere gives NaN). Of equal elements (0.0 and
 * -0.0 compare equal) the first in row-major order is returned. Reducing an
 * empty axis is DT_ERR_SHAPE ("amax(): Expected reduction dim 0 to have
 * non-zero size."). Differentiable as torch 1.13: the gradient is shared
 * evenly between the elements equal to the result (g / ties), zero
 * elsewhere. Collective.
 */
dt_err dt_amax(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
               dt_tensor **out);
dt_err dt_amin(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
               dt_tensor **out);
/**
 * Index (int64) of the largest / smallest element along axis *dim
 * (torch.argmax, torch.argmin), or of the flattened tensor when dim is NULL
 * (then keepdim is ignored and the result is 0-d, as torch 1.13). Ties give
 * the first index; a NaN is the largest and the smallest element, so the
 * first NaN's index is returned. bool input is DT_ERR_DTYPE ("argmax_cpu"
 * not implemented for 'Bool'), an empty input or axis DT_ERR_SHAPE. Not
 * differentiable. Collective.
 */
dt_err dt_argmax(const dt_tensor *a, const int *dim, bool keepdim,
                 dt_tensor **out);
dt_err dt_argmin(const dt_tensor *a, const int *dim, bool keepdim,
                 dt_tensor **out);

/* ------------------------------------------------------------------------ */
/* Joining (src/join.c)                                                      */
/* ------------------------------------------------------------------------ */

/**
 * Concatenate n tensors along axis `dim` (torch.cat). Inputs may have any
 * layouts and dtypes; the result has torch's promoted dtype (floats over
 * ints over bool, the widest of the category: int64 with float32 gives
 * float32) and the first input's kind of layout for the new shape (split on
 * the same axis, replicated stays replicated, anything else split on axis
 * 0). Every other axis must match; as in torch, 1-D tensors of shape [0] are
 * skipped whatever the other shapes. Each input is written into its slice
 * with one dt_copy_. Differentiable: each input's gradient is its slice of
 * the output's gradient, in its own layout and dtype (an input skipped as
 * [0] gets none). Collective; *out is new. The tensors array is borrowed.
 * Errors: DT_ERR_ARG (n == 0), DT_ERR_SHAPE (a 0-d input, different axis
 * counts, "Sizes of tensors must match except in dimension 0. Expected size
 * 3 but got size 4 for tensor number 1 in the list."), DT_ERR_AXIS,
 * DT_ERR_CONTEXT.
 */
dt_err dt_cat(int n, const dt_tensor *const *tensors, int dim, dt_tensor **out);
/**
 * Stack n tensors of one shape along a new axis `dim` in [-(ndim+1), ndim]
 * (torch.stack): dt_cat of the inputs with an axis of extent 1 inserted.
 * Layout: the first input's split axis (shifted past the new axis), or
 * replicated when it is replicated, else split on axis 0. Dtype promotion
 * and gradients as dt_cat. Collective. Errors: DT_ERR_ARG (n == 0),
 * DT_ERR_SHAPE ("stack expects each tensor to be equal size, but got [2, 3]
 * at entry 0 and [2, 4] at entry 1"), DT_ERR_AXIS, DT_ERR_CONTEXT.
 */
dt_err dt_stack(int n, const dt_tensor *const *tensors, int dim,
                dt_tensor **out);

/**
 * Matrix product of 2-D tensors [n, k] x [k, m]. Computed as row-split x
 * replicated -> row-split (other layouts are redistributed first, recorded
 * as such). Each output element is a dot product in ascending k, so the
 * forward result is the same at any rank and thread count. Backward: dA =
 * dC B^T locally; dB = A^T dC, a sum over all rows of every rank, is
 * accumulated exactly (each product split exactly into two doubles, added
 * to a per-element fixed-point accumulator, combined across ranks with one
 * integer MPI_Allreduce) and rounded once: bitwise reproducible at any rank
 * and thread count. Products of magnitude below 2^-969 are the exception:
 * fma cannot give their rounding error exactly (it underflows), and bits
 * below 2^-1074 are beyond the accumulator; they are rounded, still
 * identically everywhere. Cost: about 1.8 KB per element of dB in flight,
 * processed in tiles within the context's chunk budget, and some 10-30 ns
 * per product.
 */
dt_err dt_matmul(const dt_tensor *a, const dt_tensor *b, dt_tensor **out);

/* In place (a op= b), as torch: b broadcasts to a's shape (a result of
 * another shape is DT_ERR_SHAPE, torch's message); the operation runs in
 * the result type of dt_add's rules and is converted into a, which must
 * not lower its category (DT_ERR_DTYPE "result type Float can't be cast to
 * the desired output type Long": int /= int, int += 2.5). Bumps a's storage
 * version. Refused
 * (DT_ERR_AUTOGRAD) when grad mode is on and a or b requires grad: use the
 * out-of-place op. */
dt_err dt_add_(dt_tensor *a, const dt_tensor *b);
dt_err dt_sub_(dt_tensor *a, const dt_tensor *b);
dt_err dt_mul_(dt_tensor *a, const dt_tensor *b);
dt_err dt_div_(dt_tensor *a, const dt_tensor *b);
dt_err dt_add_scalar_(dt_tensor *a, double s);
dt_err dt_mul_scalar_(dt_tensor *a, double s);

/**
 * A function of `n` inputs for dt_gradcheck: creates *out from inputs with
 * differentiable operations. `arg` is passed through.
 */
typedef dt_err (*dt_gradcheck_fn)(void *arg, dt_tensor *const *inputs,
                                  dt_tensor **out);

/**
 * Compare fn's analytic gradients with central finite differences, in
 * float64 (inputs must be float64 leaves that require grad). With a random
 * weight tensor v (from the context's generator) the analytic gradient of
 * sum(v * fn(x)) comes from dt_backward; the numeric one perturbs every
 * element of every input by +-eps (owned by one rank, replicated elements
 * on every rank). *max_err is the largest |analytic - numeric| /
 * (atol + rtol |numeric|); the check passes when it is <= 1. The inputs'
 * .grad afterwards holds the analytic gradient (any earlier .grad is
 * cleared first). Collective; costs two forward passes per input element,
 * so keep inputs small.
 */
dt_err dt_gradcheck(dt_gradcheck_fn fn, void *arg, int n,
                    dt_tensor *const *inputs, double eps, double atol,
                    double rtol, double *max_err);

/* ------------------------------------------------------------------------ */
/* Gathering, printing, fingerprints                                         */
/* ------------------------------------------------------------------------ */

/**
 * Gather the global tensor as a dense C-order array of the tensor's dtype
 * into `buf` (dt_numel elements) on `root`, or on every rank when root is
 * DT_ALL_RANKS. Collective. buf may be NULL on ranks that receive nothing.
 * Memory: the root holds buf plus one remote shard at a time.
 */
dt_err dt_gather(const dt_tensor *t, int root, void *buf);

/**
 * PyTorch's repr of the tensor ("tensor([[1., 2.],\n        [3., 4.]])",
 * 4 decimals, scientific notation when PyTorch would choose it, summarised
 * with "..." past 1000 elements, 3 edge items, 80 columns, suffixes such as
 * "dtype=torch.float64" and "requires_grad=True" where PyTorch shows them).
 * Collective; every rank receives the same string in *str, allocated with
 * malloc (release with free). Only the printed elements travel: at most
 * 6^ndim of them for a summarised tensor.
 */
dt_err dt_format(const dt_tensor *t, char **str);

/** dt_format, then rank 0 writes the string and a newline to f. Collective.
 *  f may be NULL on other ranks. */
dt_err dt_print(const dt_tensor *t, FILE *f);

/**
 * Layout-invariant 64-bit fingerprint of (dtype, shape, every element's
 * bits): identical for the same tensor on any rank count, layout and thread
 * count. Collective; every rank receives it.
 *
 * Recipe (a specification: scripts/dtensor_checksum.py reimplements it with
 * numpy). All arithmetic is on unsigned 64-bit integers, modulo 2^64.
 *   fmix(k), MurmurHash3's 64-bit finaliser:
 *     k ^= k >> 33; k *= 0xff51afd7ed558ccd; k ^= k >> 33;
 *     k *= 0xc4ceb9fe1a85ec53; k ^= k >> 33
 *   i    the element's global row-major (C order) index, 0 .. numel - 1
 *        (0 for a 0-d tensor), whatever the layout
 *   b_i  the element's bits zero-extended to 64 (never sign-extended):
 *        float32 and int32 their 4 bytes as a uint32, float64 and int64
 *        their 8 bytes as a uint64, bool its byte (0 or 1)
 *   S    = sum over every element of fmix(b_i ^ (i * 0x9E3779B97F4A7C15))
 *        (0 for an empty tensor; a replicated tensor counts each element
 *        once)
 *   h    = fmix(code), code the dt_dtype value: DT_FLOAT32 1, DT_FLOAT64 2,
 *        DT_INT32 3, DT_INT64 4, DT_BOOL 5; then h = fmix(h ^ shape[d])
 *        for d = 0 .. ndim - 1
 *   checksum = fmix(S ^ h)
 */
dt_err dt_checksum(const dt_tensor *t, uint64_t *checksum);

/* Checkpoints (HDF5): dt_save, dt_load, dt_load_dataset, dt_list ... are
 * declared in dtensor_io.h, included at the end of this file. */

/* ------------------------------------------------------------------------ */
/* Storage cache                                                             */
/* ------------------------------------------------------------------------ */

/**
 * Freed storage of 1 MiB and more is kept in a per-process cache and reused
 * by later tensors of the same size, so loops that create and drop tensors
 * do not pay page faults every time. Set the cache's byte limit (default
 * 1 GiB, or the environment variable DT_CACHE_BYTES read at first use; 0
 * disables it and frees what it holds). Not collective; thread-safe.
 */
void dt_cache_set_limit(size_t bytes);
/** Return every cached block to the system. Not collective; thread-safe. */
void dt_cache_release(void);

/* ------------------------------------------------------------------------ */
/* Version and build                                                         */
/* ------------------------------------------------------------------------ */

/**
 * The library's version, "MAJOR.MINOR.PATCH" of the library actually linked
 * (compare with DT_VERSION_STRING, the header's). Not collective; never
 * fails; the string is static.
 */
const char *dt_version(void);

/**
 * One fact about how the linked library was built, as a static string (never
 * NULL; "unknown" when the fact was not known at build time):
 *   "version"     as dt_version()
 *   "git_commit"  the source tree's commit when configured in a git checkout,
 *                 with "-dirty" when it had uncommitted changes (recorded at
 *                 CMake configure time, so a build after later commits without
 *                 re-configuring shows the older one), else "unknown"
 *   "hdf5"        the HDF5 library's version at run time, e.g. "1.10.8"
 *   "compiler"    the C compiler's name and version
 *   "build_type"  CMake's build type, e.g. "Release"
 *   "kernels"     the vector kernels this process runs: "avx512", "avx2" or
 *                 "portable" (the CPU's widest, capped by the environment
 *                 variable DT_KERNELS=portable|avx2|avx512|auto; every
 *                 choice gives bitwise identical results)
 * Unknown keys (and NULL) give "unknown". The string is static: never free
 * it. Not collective; thread-safe; never fails.
 */
const char *dt_build_info(const char *key);

/**
 * Raw Philox4x32-10 words of the random factories' recipe (see dt_rand):
 * block b (b = first_block .. first_block + nblocks - 1) of key `seed` and
 * offset `offset` goes to out[4(b - first_block) .. +3] as words w0..w3. It
 * runs the same vectorised kernel and the same OpenMP threads
 * (dt_num_threads) as the factories, so its throughput is the limit a random
 * factory is measured against (`dtensor bench factories`). Not collective.
 * out: the caller's buffer of 4 * nblocks words (the library neither keeps
 * nor frees it). Errors: DT_ERR_NULL when out is NULL and nblocks > 0,
 * DT_ERR_ARG when nblocks < 0.
 */
dt_err dt_philox_fill(uint64_t seed, uint64_t offset, uint64_t first_block,
                      int64_t nblocks, uint32_t *out);

#ifdef __cplusplus
}
#endif
/* the checkpoints */
#include "dtensor_io.h"

#endif /* DTENSOR_H */
