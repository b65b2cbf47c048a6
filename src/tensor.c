/*
 * tensor.c - dtypes, storage (with a small reuse cache), tensor lifecycle,
 * accessors and dtype conversion.
 */
#include "internal.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- dtypes -----------------------------------------------------------------
 */

size_t dt_dtype_size(dt_dtype dtype) {
  switch (dtype) {
  case DT_FLOAT32:
  case DT_INT32:
    return 4;
  case DT_FLOAT64:
  case DT_INT64:
    return 8;
  case DT_BOOL:
    return 1;
  default:
    return 0;
  }
}

const char *dt_dtype_name(dt_dtype dtype) {
  switch (dtype) {
  case DT_FLOAT32:
    return "float32";
  case DT_FLOAT64:
    return "float64";
  case DT_INT32:
    return "int32";
  case DT_INT64:
    return "int64";
  case DT_BOOL:
    return "bool";
  default:
    return "unknown";
  }
}

bool dt_dtype_is_float(dt_dtype dtype) {
  return dtype == DT_FLOAT32 || dtype == DT_FLOAT64;
}

const char *dt__torch_type_name(dt_dtype dtype) {
  switch (dtype) {
  case DT_FLOAT32:
    return "Float";
  case DT_FLOAT64:
    return "Double";
  case DT_INT32:
    return "Int";
  case DT_INT64:
    return "Long";
  default:
    return "Bool";
  }
}

dt_err dt_dtype_from_name(const char *name, dt_dtype *dtype) {
  static const struct {
    const char *name;
    dt_dtype dtype;
  } names[] = {
      {"float32", DT_FLOAT32}, {"float", DT_FLOAT32}, {"float64", DT_FLOAT64},
      {"double", DT_FLOAT64},  {"int32", DT_INT32},   {"int", DT_INT32},
      {"int64", DT_INT64},     {"long", DT_INT64},    {"bool", DT_BOOL}};
  if (!name || !dtype)
    DT_RETURN(dt__error(DT_ERR_NULL, "name or dtype is NULL"));
  const char *n = strncmp(name, "torch.", 6) == 0 ? name + 6 : name;
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (strcasecmp(n, names[k].name) == 0) {
      *dtype = names[k].dtype;
      return DT_OK;
    }
  DT_RETURN(dt__error(DT_ERR_DTYPE, "unknown dtype name '%s'", name));
}

/* ---- storage allocation with a reuse cache ------------------------------- */

/*
 * Large blocks come from mmap in glibc and go back on free, so a loop that
 * creates and drops same-sized tensors pays the kernel's page faults and
 * zeroing every time. Freed blocks of at least DT_CACHE_MIN bytes wait here
 * for a request of the same (rounded) size.
 */
#define DT_CACHE_MIN ((size_t)1 << 20)
#define DT_CACHE_SLOTS 64
#define DT_ALIGN 64

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  void *p;
  size_t n;
} cache[DT_CACHE_SLOTS];
static int cache_count;
static size_t cache_bytes;
static size_t cache_limit = (size_t)1 << 30;
static bool cache_env_read;

static size_t round_size(size_t n) {
  if (n < DT_CACHE_MIN)
    return (n + DT_ALIGN - 1) / DT_ALIGN * DT_ALIGN;
  return (n + 4095) / 4096 * 4096;
}

static void cache_read_env_locked(void) {
  if (cache_env_read)
    return;
  cache_env_read = true;
  const char *e = getenv("DT_CACHE_BYTES");
  if (e && *e) {
    char *end;
    unsigned long long v = strtoull(e, &end, 10);
    if (*end == '\0')
      cache_limit = (size_t)v;
  }
}

static void cache_trim_locked(size_t limit) {
  /* Oldest entries first. */
  while (cache_count > 0 && cache_bytes > limit) {
    free(cache[0].p);
    cache_bytes -= cache[0].n;
    memmove(&cache[0], &cache[1], (size_t)(cache_count - 1) * sizeof cache[0]);
    cache_count--;
  }
}

void *dt__alloc(size_t nbytes) {
  if (dt__fault_alloc())
    return NULL;
  size_t n = round_size(nbytes ? nbytes : 1);
  if (n >= DT_CACHE_MIN) {
    pthread_mutex_lock(&cache_lock);
    cache_read_env_locked();
    for (int k = cache_count - 1; k >= 0; k--)
      if (cache[k].n == n) {
        void *p = cache[k].p;
        cache_bytes -= n;
        memmove(&cache[k], &cache[k + 1],
                (size_t)(cache_count - 1 - k) * sizeof cache[0]);
        cache_count--;
        pthread_mutex_unlock(&cache_lock);
        return p;
      }
    pthread_mutex_unlock(&cache_lock);
  }
  void *p = NULL;
  if (posix_memalign(&p, DT_ALIGN, n) != 0)
    return NULL;
  return p;
}

void dt__free(void *p, size_t nbytes) {
  if (!p)
    return;
  size_t n = round_size(nbytes ? nbytes : 1);
  if (n >= DT_CACHE_MIN) {
    pthread_mutex_lock(&cache_lock);
    cache_read_env_locked();
    if (n <= cache_limit) {
      if (cache_count == DT_CACHE_SLOTS)
        cache_trim_locked(cache_bytes - cache[0].n);
      cache[cache_count].p = p;
      cache[cache_count].n = n;
      cache_count++;
      cache_bytes += n;
      cache_trim_locked(cache_limit);
      pthread_mutex_unlock(&cache_lock);
      return;
    }
    pthread_mutex_unlock(&cache_lock);
  }
  free(p);
}

void dt_cache_set_limit(size_t bytes) {
  pthread_mutex_lock(&cache_lock);
  cache_env_read = true;
  cache_limit = bytes;
  cache_trim_locked(bytes);
  pthread_mutex_unlock(&cache_lock);
}

void dt_cache_release(void) {
  pthread_mutex_lock(&cache_lock);
  cache_trim_locked(0);
  pthread_mutex_unlock(&cache_lock);
}

/* ---- storage ----------------------------------------------------------------
 */

static dt_storage *storage_new(void *data, size_t nbytes, bool owned) {
  dt_storage *s = dt__malloc(sizeof *s);
  if (!s)
    return NULL;
  atomic_init(&s->refs, 1);
  atomic_init(&s->version, 0);
  s->data = data;
  s->nbytes = nbytes;
  s->owned = owned;
  return s;
}

static void storage_unref(dt_storage *s) {
  if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
    if (s->owned)
      dt__free(s->data, s->nbytes);
    free(s);
  }
}

/* ---- tensors ------------------------------------------------------------- */

static dt_tensor *tensor_shell(dt_ctx *ctx, dt_dtype dtype, dt_layout *layout) {
  dt_tensor *t = dt__calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->ctx = ctx;
  t->dtype = dtype;
  t->ndim = layout->ndim;
  t->numel = 1;
  for (int d = 0; d < t->ndim; d++) {
    t->shape[d] = layout->shape[d];
    t->numel *= t->shape[d];
  }
  atomic_init(&t->refs, 1);
  t->layout = dt__layout_ref(layout);
  dt__layout_box(layout, ctx->rank, t->lstart, t->lshape);
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    t->lstride[d] = s;
    s *= t->lshape[d];
  }
  t->lnumel = s;
  atomic_fetch_add(&ctx->live, 1);
  return t;
}

dt_err dt__tensor_alloc(dt_ctx *ctx, dt_dtype dtype, dt_layout *layout,
                        dt_tensor **out) {
  dt_tensor *t = tensor_shell(ctx, dtype, layout);
  DT_CHECK(t, DT_ERR_NOMEM, "cannot allocate a tensor");
  size_t nbytes = (size_t)t->lnumel * dt_dtype_size(dtype);
  void *data = dt__alloc(nbytes);
  t->storage = data ? storage_new(data, nbytes, true) : NULL;
  if (!t->storage) {
    if (data)
      dt__free(data, nbytes);
    dt__tensor_free(t);
    return dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes for the shard",
                     nbytes);
  }
  *out = t;
  return DT_OK;
}

dt_err dt__tensor_wrap(dt_ctx *ctx, dt_dtype dtype, dt_layout *layout,
                       void *buf, dt_tensor **out) {
  dt_tensor *t = tensor_shell(ctx, dtype, layout);
  DT_CHECK(t, DT_ERR_NOMEM, "cannot allocate a tensor");
  t->storage =
      storage_new(buf, (size_t)t->lnumel * dt_dtype_size(dtype), false);
  if (!t->storage) {
    dt__tensor_free(t);
    return dt__error(DT_ERR_NOMEM, "cannot allocate a tensor");
  }
  *out = t;
  return DT_OK;
}

dt_err dt__tensor_share(const dt_tensor *base, dt_layout *layout,
                        dt_tensor **out) {
  dt_tensor *t = tensor_shell(base->ctx, base->dtype, layout);
  DT_CHECK(t, DT_ERR_NOMEM, "cannot allocate a tensor");
  t->storage = base->storage;
  atomic_fetch_add(&t->storage->refs, 1);
  t->loffset = base->loffset;
  t->requires_grad = base->requires_grad;
  *out = t;
  return DT_OK;
}

void dt__tensor_free(dt_tensor *t) {
  if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
    return;
  dt__tensor_free(t->grad);
  if (t->grad_fn)
    dt__node_unref(t->grad_fn);
  storage_unref(t->storage);
  dt__layout_unref(&t->layout);
  atomic_fetch_sub(&t->ctx->live, 1);
  free(t);
}

dt_err dt_tensor_destroy(dt_tensor **t) {
  if (t && *t) {
    dt__tensor_free(*t);
    *t = NULL;
  }
  return DT_OK;
}

/* ---- accessors ----------------------------------------------------------- */

int dt_ndim(const dt_tensor *t) { return t ? t->ndim : 0; }
const int64_t *dt_shape(const dt_tensor *t) { return t ? t->shape : NULL; }
int64_t dt_numel(const dt_tensor *t) { return t ? t->numel : 0; }
dt_dtype dt_dtype_of(const dt_tensor *t) {
  return t ? t->dtype : DT_DTYPE_DEFAULT;
}
dt_ctx *dt_tensor_ctx(const dt_tensor *t) { return t ? t->ctx : NULL; }
bool dt_requires_grad(const dt_tensor *t) { return t && t->requires_grad; }
int64_t dt_local_numel(const dt_tensor *t) { return t ? t->lnumel : 0; }

int64_t dt_size(const dt_tensor *t, int axis) {
  int a;
  if (!t || axis < -t->ndim || axis >= t->ndim)
    return -1;
  a = axis < 0 ? axis + t->ndim : axis;
  return t->shape[a];
}

void dt_local_box(const dt_tensor *t, int64_t *start, int64_t *shape) {
  if (!t)
    return;
  for (int d = 0; d < t->ndim; d++) {
    if (start)
      start[d] = t->lstart[d];
    if (shape)
      shape[d] = t->lshape[d];
  }
}

void *dt_local_data(const dt_tensor *t) {
  return t && t->lnumel > 0 ? dt__local_ptr(t) : NULL;
}

void dt_local_strides(const dt_tensor *t, int64_t *strides) {
  if (!t || !strides)
    return;
  for (int d = 0; d < t->ndim; d++)
    strides[d] = t->lstride[d];
}

bool dt_is_contiguous(const dt_tensor *t) {
  if (!t)
    return false;
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->lshape[d] != 1 && t->lstride[d] != s)
      return false;
    s *= t->lshape[d];
  }
  return true;
}

dt_layout_kind dt_layout_of(const dt_tensor *t, int *split_axis, int *grid) {
  if (!t)
    return DT_LAYOUT_DEFAULT;
  return dt__layout_kind(t->layout, split_axis, grid);
}

dt_err dt_owner_box(const dt_tensor *t, int rank, int64_t *start,
                    int64_t *shape) {
  if (!t || (t->ndim > 0 && (!start || !shape)))
    DT_RETURN(dt__error(DT_ERR_NULL, "t, start or shape is NULL"));
  if (rank < 0 || rank >= t->layout->nranks)
    DT_RETURN(dt__error(DT_ERR_RANK, "rank %d is outside 0..%d", rank,
                        t->layout->nranks - 1));
  dt__layout_box(t->layout, rank, start, shape);
  return DT_OK;
}

/* ---- dtype conversion ---------------------------------------------------- */

/* float -> integer as PyTorch does on CPU, but defined everywhere:
 * truncation toward zero, saturating, NaN -> 0. */
static inline int64_t f2i64(double x) {
  if (x != x)
    return 0;
  if (x >= 9223372036854775807.0)
    return INT64_MAX;
  if (x <= -9223372036854775808.0)
    return INT64_MIN;
  return (int64_t)x;
}

static inline int32_t f2i32(double x) {
  if (x != x)
    return 0;
  if (x >= 2147483647.0)
    return INT32_MAX;
  if (x <= -2147483648.0)
    return INT32_MIN;
  return (int32_t)x;
}

/* Loop body per (destination, source) pair; EXPR converts `v`. Small
 * conversions, and those called from inside a parallel region (factories
 * convert in short chunks per thread), stay on one thread: entering a
 * parallel region costs more than converting a few hundred elements. */
// clang-format off
#define DT_CONVERT_LOOP(DT, ST, EXPR)                                          \
  do {                                                                         \
    DT *restrict d_ = dst;                                                     \
    const ST *restrict s_ = src;                                               \
    if (n > 65536 && !omp_in_parallel()) {                                     \
      _Pragma("omp parallel for simd schedule(static) num_threads(dt__threads())")                        \
      for (int64_t i = 0; i < n; i++) {                                        \
        ST v = s_[i];                                                          \
        d_[i] = (DT)(EXPR);                                                    \
      }                                                                        \
    } else {                                                                   \
      _Pragma("omp simd")                                                      \
      for (int64_t i = 0; i < n; i++) {                                        \
        ST v = s_[i];                                                          \
        d_[i] = (DT)(EXPR);                                                    \
      }                                                                        \
    }                                                                          \
  } while (0)
// clang-format on

/* All casts of one source type ST into the destination dtype. */
#define DT_CONVERT_FROM(ST, TO_I32, TO_I64)                                    \
  switch (ddt) {                                                               \
  case DT_FLOAT32:                                                             \
    DT_CONVERT_LOOP(float, ST, v);                                             \
    break;                                                                     \
  case DT_FLOAT64:                                                             \
    DT_CONVERT_LOOP(double, ST, v);                                            \
    break;                                                                     \
  case DT_INT32:                                                               \
    DT_CONVERT_LOOP(int32_t, ST, TO_I32);                                      \
    break;                                                                     \
  case DT_INT64:                                                               \
    DT_CONVERT_LOOP(int64_t, ST, TO_I64);                                      \
    break;                                                                     \
  case DT_BOOL:                                                                \
    DT_CONVERT_LOOP(uint8_t, ST, v != 0);                                      \
    break;                                                                     \
  default:                                                                     \
    break;                                                                     \
  }

void dt__convert(void *dst, dt_dtype ddt, const void *src, dt_dtype sdt,
                 int64_t n) {
  if (ddt == sdt) {
    memcpy(dst, src, (size_t)n * dt_dtype_size(ddt));
    return;
  }
  switch (sdt) {
  case DT_FLOAT32:
    DT_CONVERT_FROM(float, f2i32(v), f2i64(v));
    break;
  case DT_FLOAT64:
    DT_CONVERT_FROM(double, f2i32(v), f2i64(v));
    break;
  case DT_INT32:
    DT_CONVERT_FROM(int32_t, v, v);
    break;
  case DT_INT64:
    /* int64 -> int32 wraps, as a PyTorch cast does */
    DT_CONVERT_FROM(int64_t, (int32_t)(uint32_t)(uint64_t)v, v);
    break;
  case DT_BOOL:
    DT_CONVERT_FROM(uint8_t, v, v);
    break;
  default:
    break;
  }
}

void dt__store_scalar(void *dst, dt_dtype dt, dt_scalar v) {
  if (v.kind == DT_FLOAT64)
    dt__convert(dst, dt, &v.f, DT_FLOAT64, 1);
  else if (v.kind == DT_BOOL) {
    uint8_t b = v.i != 0;
    dt__convert(dst, dt, &b, DT_BOOL, 1);
  } else
    dt__convert(dst, dt, &v.i, DT_INT64, 1);
}

double dt__load_f64(const void *src, dt_dtype dt, int64_t i) {
  switch (dt) {
  case DT_FLOAT32:
    return ((const float *)src)[i];
  case DT_FLOAT64:
    return ((const double *)src)[i];
  case DT_INT32:
    return ((const int32_t *)src)[i];
  case DT_INT64:
    return (double)((const int64_t *)src)[i];
  case DT_BOOL:
    return ((const uint8_t *)src)[i];
  default:
    return 0;
  }
}

int64_t dt__load_i64(const void *src, dt_dtype dt, int64_t i) {
  switch (dt) {
  case DT_FLOAT32:
    return f2i64(((const float *)src)[i]);
  case DT_FLOAT64:
    return f2i64(((const double *)src)[i]);
  case DT_INT32:
    return ((const int32_t *)src)[i];
  case DT_INT64:
    return ((const int64_t *)src)[i];
  case DT_BOOL:
    return ((const uint8_t *)src)[i];
  default:
    return 0;
  }
}
