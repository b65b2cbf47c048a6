# Declarations of include/dtensor.h that the Python layer uses.
from libc.stdint cimport int64_t, uint64_t, uint32_t
from libc.stdio cimport FILE
from mpi4py.libmpi cimport MPI_Comm

cdef extern from "<stdbool.h>":
    ctypedef bint c_bool "bool"

cdef extern from "dtensor.h" nogil:
    enum: DT_MAX_DIMS
    enum: DT_ALL_RANKS
    enum: DT_NAME_MAX

    ctypedef enum dt_err:
        DT_OK
        DT_ERR_COUNT_

    const char *dt_strerror(dt_err err)
    const char *dt_err_name(dt_err err)
    const char *dt_last_error()

    ctypedef enum dt_dtype:
        DT_DTYPE_DEFAULT
        DT_FLOAT32
        DT_FLOAT64
        DT_INT32
        DT_INT64
        DT_BOOL
    size_t dt_dtype_size(dt_dtype dtype)
    const char *dt_dtype_name(dt_dtype dtype)
    dt_err dt_dtype_from_name(const char *name, dt_dtype *dtype)
    bint dt_dtype_is_float(dt_dtype dtype)

    ctypedef struct dt_scalar:
        dt_dtype kind
        double f
        int64_t i

    ctypedef struct dt_ctx:
        pass
    dt_err dt_ctx_create(MPI_Comm comm, dt_ctx **ctx)
    dt_err dt_ctx_destroy(dt_ctx **ctx)
    int dt_ctx_size(const dt_ctx *ctx)
    int dt_ctx_rank(const dt_ctx *ctx)
    MPI_Comm dt_ctx_comm(const dt_ctx *ctx)
    dt_err dt_manual_seed(dt_ctx *ctx, uint64_t seed)
    dt_err dt_rng_state(const dt_ctx *ctx, uint64_t *seed, uint64_t *offset)
    dt_err dt_set_rng_state(dt_ctx *ctx, uint64_t seed, uint64_t offset)
    dt_err dt_ctx_set_default_dtype(dt_ctx *ctx, dt_dtype dtype)
    dt_dtype dt_ctx_default_dtype(const dt_ctx *ctx)

    ctypedef enum dt_layout_kind:
        DT_LAYOUT_DEFAULT
        DT_SPLIT
        DT_REPLICATED
        DT_GRID
        DT_CUTS
        DT_IRREGULAR

    ctypedef struct dt_opts:
        dt_dtype dtype
        dt_layout_kind layout
        int split_axis
        int grid[8]
        const int64_t *cuts[8]
        bint requires_grad

    ctypedef struct dt_tensor:
        pass
    dt_err dt_tensor_destroy(dt_tensor **t)
    int dt_ndim(const dt_tensor *t)
    const int64_t *dt_shape(const dt_tensor *t)
    int64_t dt_numel(const dt_tensor *t)
    dt_dtype dt_dtype_of(const dt_tensor *t)
    dt_ctx *dt_tensor_ctx(const dt_tensor *t)
    bint dt_requires_grad(const dt_tensor *t)
    void dt_local_box(const dt_tensor *t, int64_t *start, int64_t *shape)
    int64_t dt_local_numel(const dt_tensor *t)
    void *dt_local_data(const dt_tensor *t)
    void dt_local_strides(const dt_tensor *t, int64_t *strides)
    bint dt_is_contiguous(const dt_tensor *t)
    dt_layout_kind dt_layout_of(const dt_tensor *t, int *split_axis, int *grid)
    dt_err dt_owner_box(const dt_tensor *t, int rank, int64_t *start, int64_t *shape)

    dt_err dt_empty(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts, dt_tensor **out)
    dt_err dt_zeros(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts, dt_tensor **out)
    dt_err dt_ones(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts, dt_tensor **out)
    dt_err dt_full(dt_ctx *ctx, int ndim, const int64_t *shape, dt_scalar value, const dt_opts *opts, dt_tensor **out)
    dt_err dt_rand(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts, dt_tensor **out)
    dt_err dt_randn(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts, dt_tensor **out)
    dt_err dt_randint(dt_ctx *ctx, int64_t low, int64_t high, int ndim, const int64_t *shape, const dt_opts *opts, dt_tensor **out)
    dt_err dt_arange(dt_ctx *ctx, dt_scalar start, dt_scalar end, dt_scalar step, const dt_opts *opts, dt_tensor **out)
    dt_err dt_linspace(dt_ctx *ctx, double start, double end, int64_t steps, const dt_opts *opts, dt_tensor **out)
    dt_err dt_logspace(dt_ctx *ctx, double start, double end, int64_t steps, double base, const dt_opts *opts, dt_tensor **out)
    dt_err dt_eye(dt_ctx *ctx, int64_t n, int64_t m, const dt_opts *opts, dt_tensor **out)
    dt_err dt_from_data(dt_ctx *ctx, int ndim, const int64_t *shape, const void *data, dt_dtype data_dtype, int root, const dt_opts *opts, dt_tensor **out)
    dt_err dt_from_buffer(dt_ctx *ctx, void *buf, dt_dtype dtype, int ndim, const int64_t *shape, const int64_t *local_start, const int64_t *local_shape, dt_tensor **out)
    dt_err dt_empty_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out)
    dt_err dt_zeros_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out)
    dt_err dt_ones_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out)
    dt_err dt_full_like(const dt_tensor *src, dt_scalar value, const dt_opts *opts, dt_tensor **out)
    dt_err dt_rand_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out)
    dt_err dt_randn_like(const dt_tensor *src, const dt_opts *opts, dt_tensor **out)
    dt_err dt_new_tensor(const dt_tensor *src, int ndim, const int64_t *shape, const void *data, dt_dtype data_dtype, const dt_opts *opts, dt_tensor **out)

    dt_err dt_clone(const dt_tensor *t, dt_tensor **out)
    dt_err dt_copy_(dt_tensor *dst, const dt_tensor *src)
    dt_err dt_redistribute(const dt_tensor *t, const dt_opts *opts, dt_tensor **out)
    dt_err dt_deepcopy(const dt_tensor *t, dt_ctx *dst, dt_tensor **out)
    dt_err dt_view(const dt_tensor *t, int ndim, const int64_t *shape, dt_tensor **out)
    dt_err dt_reshape(const dt_tensor *t, int ndim, const int64_t *shape, dt_tensor **out)
    dt_err dt_slice(const dt_tensor *t, int axis, int64_t start, int64_t stop, int64_t step, dt_tensor **out)
    dt_err dt_transpose(const dt_tensor *t, int axis0, int axis1, dt_tensor **out)
    dt_err dt_detach(const dt_tensor *t, dt_tensor **out)
    bint dt_shares_memory(const dt_tensor *a, const dt_tensor *b)

    dt_err dt_requires_grad_(dt_tensor *t, bint requires_grad)
    dt_tensor *dt_grad(const dt_tensor *t)
    dt_err dt_set_grad(dt_tensor *t, const dt_tensor *g)
    dt_err dt_zero_grad(dt_tensor *t)
    bint dt_has_grad_fn(const dt_tensor *t)
    const char *dt_grad_fn_name(const dt_tensor *t)
    dt_err dt_set_grad_enabled(dt_ctx *ctx, bint enabled, c_bool *previous)
    bint dt_is_grad_enabled(const dt_ctx *ctx)
    dt_err dt_backward(dt_tensor *t, const dt_tensor *grad, bint retain_graph)

    dt_err dt_add(const dt_tensor *a, const dt_tensor *b, dt_tensor **out)
    dt_err dt_sub(const dt_tensor *a, const dt_tensor *b, dt_tensor **out)
    dt_err dt_mul(const dt_tensor *a, const dt_tensor *b, dt_tensor **out)
    dt_err dt_div(const dt_tensor *a, const dt_tensor *b, dt_tensor **out)
    dt_err dt_neg(const dt_tensor *a, dt_tensor **out)
    dt_err dt_pow_scalar(const dt_tensor *a, double p, dt_tensor **out)
    dt_err dt_add_scalar(const dt_tensor *a, double s, dt_tensor **out)
    dt_err dt_mul_scalar(const dt_tensor *a, double s, dt_tensor **out)
    dt_err dt_exp(const dt_tensor *a, dt_tensor **out)
    dt_err dt_log(const dt_tensor *a, dt_tensor **out)
    dt_err dt_to(const dt_tensor *t, dt_dtype dtype, dt_tensor **out)
    dt_err dt_sum(const dt_tensor *a, dt_tensor **out)
    dt_err dt_mean(const dt_tensor *a, dt_tensor **out)
    dt_err dt_sum_dim(const dt_tensor *a, int ndims, const int *dims, bint keepdim, dt_tensor **out)
    dt_err dt_mean_dim(const dt_tensor *a, int ndims, const int *dims, bint keepdim, dt_tensor **out)
    dt_err dt_add_(dt_tensor *a, const dt_tensor *b)
    dt_err dt_sub_(dt_tensor *a, const dt_tensor *b)
    dt_err dt_mul_(dt_tensor *a, const dt_tensor *b)
    dt_err dt_div_(dt_tensor *a, const dt_tensor *b)
    dt_err dt_add_scalar_(dt_tensor *a, double s)
    dt_err dt_mul_scalar_(dt_tensor *a, double s)
    dt_err dt_matmul(const dt_tensor *a, const dt_tensor *b, dt_tensor **out)

    dt_err dt_gather(const dt_tensor *t, int root, void *buf)
    dt_err dt_format(const dt_tensor *t, char **str)
    dt_err dt_checksum(const dt_tensor *t, uint64_t *checksum)

    ctypedef struct dt_save_opts:
        bint skip_grads
        size_t alignment
    dt_err dt_save(dt_ctx *ctx, const char *path, int n, const char *const *names, const dt_tensor *const *tensors, const dt_save_opts *opts)
    dt_err dt_load(dt_ctx *ctx, const char *path, const char *name, const dt_opts *opts, dt_tensor **out)
    dt_err dt_load_rng_state(dt_ctx *ctx, const char *path)
    ctypedef struct dt_file_entry:
        char name[256]
        dt_dtype dtype
        int ndim
        int64_t shape[8]
        bint requires_grad
        bint has_grad
        uint64_t checksum
        char layout[64]
    dt_err dt_list(dt_ctx *ctx, const char *path, int *n, dt_file_entry **entries)
    const char *dt_version()
