/*
 * factory.c - every creation function.
 *
 * Each factory validates its arguments, builds the layout, allocates this
 * rank's shard and fills it locally (values are functions of the global
 * index), then agrees on the outcome with one MPI_Allreduce that also checks
 * the replicated arguments are the same on every rank. Only dt_from_data
 * with a root and dt_from_buffer communicate more.
 */
#include "fill.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- filling a fresh contiguous shard ------------------------------------ */

/* Writes n elements whose global indices are first, first + 1, ...; `nt`:
 * the shard is bigger than the last-level cache (dt__fill_streams), so
 * non-temporal stores pay. */
typedef void (*index_fn)(const void *arg, uint64_t first, int64_t n, void *out,
                         bool nt);

/* Local shards below this many elements are filled by one thread. */
#define DT_OMP_MIN 32768

/*
 * Call fn over the shard's global index runs, split between threads in
 * chunks of whole 64-element stretches. Values depend only on the global
 * index, so the split cannot change them.
 */
/* Thread id's part of fill_by_index (of nth). */
static void fill_index_part(const dt__runs *R, index_fn fn, const void *arg,
                            char *base, size_t esz, bool nt, int64_t total,
                            int nth, int id) {
  int64_t per = ((total + nth - 1) / nth + 63) / 64 * 64;
  int64_t a = (int64_t)id * per, b = a + per < total ? a + per : total;
  while (a < b) {
    int64_t k = a / R->run_len, j = a % R->run_len;
    int64_t len = R->run_len - j < b - a ? R->run_len - j : b - a;
    fn(arg, (uint64_t)(dt__run_global(R, k) + j), len,
       base + a * (int64_t)esz, nt);
    a += len;
  }
}

/* Small shards, or one thread: no parallel region at all (entering one,
 * even of one thread, costs more than filling a 1-element tensor). */
static bool one_thread(int64_t n) {
  return n <= DT_OMP_MIN || dt__threads() == 1;
}

static void fill_by_index(dt_tensor *t, index_fn fn, const void *arg) {
  int64_t total = t->lnumel;
  if (total == 0)
    return;
  dt__runs R;
  dt__box_runs(t->ndim, t->shape, t->lstart, t->lshape, &R);
  size_t esz = dt_dtype_size(t->dtype);
  char *base = dt__local_ptr(t);
  bool nt = dt__fill_streams((size_t)total * esz);
  if (one_thread(total)) {
    fill_index_part(&R, fn, arg, base, esz, nt, total, 1, 0);
    return;
  }
#pragma omp parallel num_threads(dt__threads())
  fill_index_part(&R, fn, arg, base, esz, nt, total, omp_get_num_threads(),
                  omp_get_thread_num());
}

/* Thread id's part of fill_pattern (of nth). */
static void fill_pattern_part(char *base, size_t esz, const void *elem,
                              bool zero, bool nt, int64_t n, int nth, int id) {
  int64_t per = ((n + nth - 1) / nth + 63) / 64 * 64;
  int64_t a = (int64_t)id * per, b = a + per < n ? a + per : n;
  if (a < b) {
    char *p = base + a * (int64_t)esz;
    if (zero) /* memset is the limit zeros are measured against */
      memset(p, 0, (size_t)(b - a) * esz);
    else
      dt__fill_pattern(p, esz, elem, b - a, nt);
  }
}

/* Fill with one element pattern (zeros are a memset). */
static void fill_pattern(dt_tensor *t, const void *elem) {
  int64_t n = t->lnumel;
  size_t esz = dt_dtype_size(t->dtype);
  char *base = dt__local_ptr(t);
  bool zero = true;
  for (size_t k = 0; k < esz; k++)
    zero = zero && ((const unsigned char *)elem)[k] == 0;
  bool nt = dt__fill_streams((size_t)n * esz);
  if (one_thread(n)) {
    fill_pattern_part(base, esz, elem, zero, nt, n, 1, 0);
    return;
  }
#pragma omp parallel num_threads(dt__threads())
  fill_pattern_part(base, esz, elem, zero, nt, n, omp_get_num_threads(),
                    omp_get_thread_num());
}

/* ---- per-factory index functions ----------------------------------------- */

typedef struct rand_arg {
  dt__rparams p;
  dt_dtype out; /* randint: the tensor's dtype (p writes int64) */
} rand_arg;

static void rand_fn(const void *arg, uint64_t first, int64_t n, void *out,
                    bool nt) {
  const rand_arg *a = arg;
  (void)nt;
  if (a->p.kind != DT__R_INT || a->out == DT_INT64) {
    dt__rng_fill(&a->p, first, n, out);
    return;
  }
  int64_t tmp[1024];
  size_t esz = dt_dtype_size(a->out);
  for (int64_t k = 0; k < n; k += 1024) {
    int64_t m = n - k < 1024 ? n - k : 1024;
    dt__rng_fill(&a->p, first + (uint64_t)k, m, tmp);
    dt__convert((char *)out + k * (int64_t)esz, a->out, tmp, DT_INT64, m);
  }
}

typedef struct range_arg {
  dt_dtype dtype;
  bool exact_int; /* arange over ints: start + k * step in int64 */
  bool int_f64; /* exact_int into a float dtype, every value exact in double */
  int64_t istart, istep;
  double start, step;
  /* linspace / logspace */
  double end;
  int64_t steps;
  bool log;
  double base;
} range_arg;

/* Element indices below this are exact in double (vector index lanes). */
#define DT_EXACT_F64 ((int64_t)1 << 53)

/* The general arange loop (any index, any dtype): the reference the fast
 * paths of arange_fn reproduce where they apply. */
static void arange_general(const range_arg *a, uint64_t first, int64_t n,
                           void *out) {
  size_t esz = dt_dtype_size(a->dtype);
  for (int64_t k = 0; k < n; k += 256) {
    int64_t m = n - k < 256 ? n - k : 256;
    char *o = (char *)out + k * (int64_t)esz;
    if (a->exact_int) {
      int64_t v[256];
      for (int64_t i = 0; i < m; i++)
        v[i] = (int64_t)((uint64_t)a->istart +
                         (first + (uint64_t)(k + i)) * (uint64_t)a->istep);
      dt__convert(o, a->dtype, v, DT_INT64, m);
    } else {
      double v[256];
      for (int64_t i = 0; i < m; i++)
        v[i] = a->start + (double)(first + (uint64_t)(k + i)) * a->step;
      dt__convert(o, a->dtype, v, DT_FLOAT64, m);
    }
  }
}

/*
 * Straight into the dtype: integers as a wrapping sequence (the int32 one
 * is the low half of the int64 one, which is what the conversion keeps);
 * floats as start + index * step in double, index exact, rounded once to
 * float32. Integer ranges into a float dtype take the double kernel only
 * when every value and product is an exact double (int_f64), where
 * (double)v and (float)v are the kernel's single rounding.
 */
static void arange_fn(const void *arg, uint64_t first, int64_t n, void *out,
                      bool nt) {
  const range_arg *a = arg;
  bool f64 = a->dtype == DT_FLOAT64, f32 = a->dtype == DT_FLOAT32;
  if (a->exact_int) {
    uint64_t d = (uint64_t)a->istep, v0 = (uint64_t)a->istart + first * d;
    if (a->dtype == DT_INT64) {
      dt__fill_step_i64(out, n, v0, d, nt);
      return;
    }
    if (a->dtype == DT_INT32) {
      dt__fill_step_i32(out, n, (uint32_t)v0, (uint32_t)d, nt);
      return;
    }
    if (a->int_f64 && f64) {
      dt__fill_lin_f64(out, n, (double)a->istart, (double)a->istep,
                       (double)first, false, nt);
      return;
    }
    if (a->int_f64 && f32) {
      dt__fill_lin_f64_f32(out, n, (double)a->istart, (double)a->istep,
                           (double)first, false, nt);
      return;
    }
  } else if (first + (uint64_t)n <= (uint64_t)DT_EXACT_F64) {
    if (f64) {
      dt__fill_lin_f64(out, n, a->start, a->step, (double)first, false, nt);
      return;
    }
    if (f32) {
      dt__fill_lin_f64_f32(out, n, a->start, a->step, (double)first, false, nt);
      return;
    }
  }
  arange_general(a, first, n, out);
}

/* Whether s + k * st (k < n) and every product k * st are exact doubles. */
static bool ints_exact_in_double(int64_t s, int64_t st, int64_t n) {
  const uint64_t L = (uint64_t)DT_EXACT_F64;
  if (n <= 0)
    return true;
  uint64_t ms = s < 0 ? -(uint64_t)s : (uint64_t)s;
  uint64_t mst = st < 0 ? -(uint64_t)st : (uint64_t)st;
  if (ms > L || mst > L || (mst && (uint64_t)(n - 1) > L / mst))
    return false;
  int64_t last = (int64_t)((uint64_t)s + (uint64_t)(n - 1) * (uint64_t)st);
  return (last < 0 ? -(uint64_t)last : (uint64_t)last) <= L;
}

/* logspace's bounds, step and base as torch 1.13's CPU kernel has them. */
typedef struct log_terms {
  double s, e, step, base;
} log_terms;

/*
 * The bounds in the output dtype (integer dtypes: truncated), step =
 * (double)(end - start) / (steps - 1) with the difference taken in that
 * dtype, the exponent start + step * k (or end - step * (steps - 1 - k) past
 * the middle) in double, pow in double, one rounding to the output. Integer
 * dtypes raise the base rounded to float32 (torch keeps it as a float
 * there); steps == 1 is pow(base, start) of the original double start.
 */
static log_terms logspace_terms(const range_arg *a) {
  log_terms t = {.base = a->base};
  if (a->dtype == DT_FLOAT32) {
    float fs = (float)a->start, fe = (float)a->end;
    t.s = fs;
    t.e = fe;
    t.step = (double)(fe - fs) / (double)(a->steps - 1);
  } else if (a->dtype == DT_FLOAT64) {
    t.s = a->start;
    t.e = a->end;
    t.step = (t.e - t.s) / (double)(a->steps - 1);
  } else {
    int64_t is = dt__load_i64(&a->start, DT_FLOAT64, 0);
    int64_t ie = dt__load_i64(&a->end, DT_FLOAT64, 0);
    t.s = (double)is;
    t.e = (double)ie;
    t.step =
        (double)(int64_t)((uint64_t)ie - (uint64_t)is) / (double)(a->steps - 1);
    t.base = (double)(float)t.base;
  }
  return t;
}

/*
 * logspace: the exponents of a chunk with the linspace kernel (the same
 * double arithmetic), then libm's pow, whose bits are the contract. float32
 * outputs call pow only where an accurate approximation cannot decide the
 * rounding to float (dt__fill_pow_f32); other dtypes call it once per
 * distinct exponent, and it is almost all of their time (about 120
 * instructions an element in glibc's pow and its wrapper).
 */
static void logspace_run(const range_arg *a, uint64_t first, int64_t n,
                         void *out) {
  enum { CHUNK = 1024 }; /* 8 KiB: amortises the kernels' per-call setup */
  size_t esz = dt_dtype_size(a->dtype);
  _Alignas(64) double v[CHUNK];
  if (a->steps == 1) { /* n <= 1 */
    v[0] = pow(a->base, a->start);
    dt__convert(out, a->dtype, v, DT_FLOAT64, n);
    return;
  }
  log_terms t = logspace_terms(a);
  int64_t half = a->steps / 2;
  uint64_t prev_x = 0;
  double prev_p = NAN;
  bool have = false;
  for (int64_t k0 = 0; k0 < n; k0 += CHUNK) {
    int64_t m = n - k0 < CHUNK ? n - k0 : CHUNK;
    int64_t k = (int64_t)first + k0; /* global index of v[0] */
    if (a->steps <= DT_EXACT_F64) {
      int64_t lo = k + m <= half ? m : k < half ? half - k : 0;
      dt__fill_lin_f64(v, lo, t.s, t.step, (double)k, false, false);
      dt__fill_lin_f64(v + lo, m - lo, t.e, t.step,
                       (double)(a->steps - (k + lo) - 1), true, false);
    } else {
      for (int64_t i = 0; i < m; i++)
        v[i] = k + i < half ? t.s + t.step * (double)(k + i)
                            : t.e - t.step * (double)(a->steps - k - i - 1);
    }
    if (a->dtype == DT_FLOAT32) {
      dt__fill_pow_f32((float *)out + k0, v, m, t.base);
      continue;
    }
    for (int64_t i = 0; i < m; i++) {
      uint64_t xb;
      memcpy(&xb, &v[i], 8);
      if (!have || xb != prev_x) {
        prev_x = xb;
        prev_p = pow(t.base, v[i]);
        have = true;
      }
      v[i] = prev_p;
    }
    dt__convert((char *)out + k0 * (int64_t)esz, a->dtype, v, DT_FLOAT64, m);
  }
}

/*
 * linspace value k in the arithmetic PyTorch's CPU kernel uses: s + step *
 * k below steps / 2, e - step * (steps - 1 - k) from there on, in float for
 * float32 and double otherwise. The two halves of a run are each one
 * arithmetic sequence for the fill kernels; the general loop remains for
 * integer dtypes and for lengths past the kernels' exact index range.
 */
static void linspace_fn(const void *arg, uint64_t first, int64_t n, void *out,
                        bool nt) {
  const range_arg *a = arg;
  if (a->log) {
    logspace_run(a, first, n, out);
    return;
  }
  int64_t half = a->steps / 2;
  int64_t k0 = (int64_t)first;
  /* elements of this run below the middle */
  int64_t lo = k0 + n <= half ? n : k0 < half ? half - k0 : 0;
  if (a->dtype == DT_FLOAT32) {
    float s = (float)a->start, e = (float)a->end;
    float step = a->steps > 1 ? (e - s) / (float)(a->steps - 1) : 0.0f;
    float *o = out;
    if (a->steps == 1) {
      dt__fill_pattern(o, 4, &s, n, nt);
      return;
    }
    if (a->steps <= INT32_MAX) {
      dt__fill_lin_f32(o, lo, s, step, k0, false, nt);
      dt__fill_lin_f32(o + lo, n - lo, e, step, a->steps - (k0 + lo) - 1, true,
                       nt);
      return;
    }
    for (int64_t i = 0; i < n; i++) {
      int64_t k = k0 + i;
      o[i] =
          k < half ? s + step * (float)k : e - step * (float)(a->steps - k - 1);
    }
    return;
  }
  double s, e;
  if (a->dtype == DT_FLOAT64) {
    s = a->start;
    e = a->end;
  } else { /* integer outputs: bounds become integers first, as in torch */
    s = (double)dt__load_i64(&a->start, DT_FLOAT64, 0);
    e = (double)dt__load_i64(&a->end, DT_FLOAT64, 0);
  }
  double step = a->steps > 1 ? (e - s) / (double)(a->steps - 1) : 0.0;
  if (a->dtype == DT_FLOAT64 && a->steps == 1) {
    dt__fill_pattern(out, 8, &s, n, nt);
    return;
  }
  if (a->dtype == DT_FLOAT64 && a->steps <= DT_EXACT_F64) {
    double *o = out;
    dt__fill_lin_f64(o, lo, s, step, (double)k0, false, nt);
    dt__fill_lin_f64(o + lo, n - lo, e, step,
                     (double)(a->steps - (k0 + lo) - 1), true, nt);
    return;
  }
  size_t esz = dt_dtype_size(a->dtype);
  for (int64_t j0 = 0; j0 < n; j0 += 256) {
    int64_t m = n - j0 < 256 ? n - j0 : 256;
    double v[256];
    for (int64_t i = 0; i < m; i++) {
      int64_t k = k0 + j0 + i;
      double x = a->steps == 1 ? s
                 : k < half    ? s + step * (double)k
                               : e - step * (double)(a->steps - k - 1);
      v[i] = x;
    }
    dt__convert((char *)out + j0 * (int64_t)esz, a->dtype, v, DT_FLOAT64, m);
  }
}

typedef struct eye_arg {
  dt_dtype dtype;
  int64_t m;
} eye_arg;

static void eye_fn(const void *arg, uint64_t first, int64_t n, void *out,
                   bool nt) {
  const eye_arg *a = arg;
  (void)nt; /* memset is the limit eye is measured against */
  size_t esz = dt_dtype_size(a->dtype);
  memset(out, 0, (size_t)n * esz);
  char one[8];
  dt__store_scalar(one, a->dtype, DT_I(1));
  /* Diagonal elements are at global index i * (m + 1), i < m (column i
   * exists); only the i whose element falls in this run are visited, so a
   * shard below the diagonal (rows >= m) costs nothing past the memset. */
  uint64_t step = (uint64_t)a->m + 1;
  uint64_t i0 = (first + step - 1) / step;
  uint64_t i1 = (first + (uint64_t)n + step - 1) / step;
  if (i1 > (uint64_t)a->m)
    i1 = (uint64_t)a->m;
  for (uint64_t i = i0; i < i1; i++)
    memcpy((char *)out + (i * step - first) * esz, one, esz);
}

/* ---- the common creation path -------------------------------------------- */

typedef enum fill_kind { FILL_NONE, FILL_SCALAR, FILL_INDEX } fill_kind;

typedef struct filler {
  fill_kind kind;
  dt_scalar value; /* FILL_SCALAR */
  index_fn fn;     /* FILL_INDEX */
  const void *arg;
} filler;

static dt_err check_dtype(dt_dtype dtype) {
  DT_CHECK(dt_dtype_size(dtype) != 0, DT_ERR_DTYPE, "unknown dtype %d",
           (int)dtype);
  return DT_OK;
}

static uint64_t opts_hash(const dt_opts *o) {
  if (!o)
    return 0;
  uint64_t h = dt__hash_mix((uint64_t)o->dtype, (uint64_t)o->layout);
  h = dt__hash_mix(h, (uint64_t)(int64_t)o->split_axis);
  h = dt__hash_mix(h, (uint64_t)o->requires_grad);
  for (int d = 0; d < DT_MAX_DIMS; d++)
    h = dt__hash_mix(h, (uint64_t)o->grid[d]);
  return h;
}

/*
 * Create a tensor of `dtype` over the layout from `opts` (or `given`, which
 * is referenced), fill it, agree. `pre` is an error found by the caller's
 * own validation; it still goes through the agreement so no rank is left
 * behind. `h` hashes the caller's replicated arguments.
 */
static dt_err make(dt_ctx *ctx, dt_err pre, int ndim, const int64_t *shape,
                   dt_dtype dtype, const dt_opts *opts, dt_layout *given,
                   const filler *f, uint64_t h, dt_tensor **out) {
  dt_err err = pre;
  dt_layout *L = NULL;
  dt_tensor *t = NULL;
  if (out)
    *out = NULL;
  if (!err && !out)
    err = dt__error(DT_ERR_NULL, "out is NULL");
  if (!err)
    err = check_dtype(dtype);
  if (!err)
    err = dt__check_shape(ndim, shape, dt_dtype_size(dtype), NULL);
  if (!err && opts && opts->requires_grad && !dt_dtype_is_float(dtype))
    err = dt__error(DT_ERR_AUTOGRAD,
                    "only tensors of floating point dtype can require "
                    "gradients (dtype is %s)",
                    dt_dtype_name(dtype));
  if (!err) {
    if (given)
      L = dt__layout_ref(given);
    else
      err = dt__layout_from_opts(ctx, ndim, shape, opts, &L);
  }
  if (!err)
    err = dt__tensor_alloc(ctx, dtype, L, &t);
  if (!err && f) {
    if (f->kind == FILL_SCALAR) {
      char elem[8];
      dt__store_scalar(elem, dtype, f->value);
      fill_pattern(t, elem);
    } else if (f->kind == FILL_INDEX) {
      fill_by_index(t, f->fn, f->arg);
    }
  }
  if (!err) {
    h = dt__hash_mix(h, dt__layout_hash(L));
    h = dt__hash_mix(h, (uint64_t)dtype);
    h = dt__hash_mix(h, opts ? (uint64_t)opts->requires_grad : 0);
  }
  err = dt__agree(ctx->comm, err, h);
  dt__layout_unref(&L);
  if (err) {
    dt__tensor_free(t);
    return err;
  }
  t->requires_grad = opts && opts->requires_grad;
  *out = t;
  return DT_OK;
}

static dt_dtype pick(const dt_opts *opts, dt_dtype fallback) {
  return opts && opts->dtype != DT_DTYPE_DEFAULT ? opts->dtype : fallback;
}

#define DT_NEED_CTX(ctx)                                                       \
  do {                                                                         \
    if (!(ctx))                                                                \
      DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));                        \
  } while (0)

dt_err dt_empty(dt_ctx *ctx, int ndim, const int64_t *shape,
                const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  DT_RETURN(make(ctx, DT_OK, ndim, shape, pick(opts, ctx->default_dtype), opts,
                 NULL, NULL, opts_hash(opts), out));
}

dt_err dt_zeros(dt_ctx *ctx, int ndim, const int64_t *shape,
                const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  filler f = {.kind = FILL_SCALAR, .value = DT_I(0)};
  DT_RETURN(make(ctx, DT_OK, ndim, shape, pick(opts, ctx->default_dtype), opts,
                 NULL, &f, opts_hash(opts), out));
}

dt_err dt_ones(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts,
               dt_tensor **out) {
  DT_NEED_CTX(ctx);
  filler f = {.kind = FILL_SCALAR, .value = DT_I(1)};
  DT_RETURN(make(ctx, DT_OK, ndim, shape, pick(opts, ctx->default_dtype), opts,
                 NULL, &f, opts_hash(opts), out));
}

/* torch's inference for a Python scalar. */
static dt_dtype scalar_dtype(const dt_ctx *ctx, dt_scalar v) {
  return v.kind == DT_FLOAT64 ? ctx->default_dtype
         : v.kind == DT_BOOL  ? DT_BOOL
                              : DT_INT64;
}

static dt_err check_scalar(dt_scalar v) {
  DT_CHECK(v.kind == DT_FLOAT64 || v.kind == DT_INT64 || v.kind == DT_BOOL,
           DT_ERR_ARG, "scalar kind %d is not DT_I, DT_F or DT_B", (int)v.kind);
  return DT_OK;
}

static uint64_t scalar_hash(uint64_t h, dt_scalar v) {
  h = dt__hash_mix(h, (uint64_t)v.kind);
  uint64_t bits;
  memcpy(&bits, &v.f, 8);
  h = dt__hash_mix(h, v.kind == DT_FLOAT64 ? bits : (uint64_t)v.i);
  return h;
}

/*
 * torch's fill_ converts the value with c10::checked_convert: refused when
 * the dtype cannot hold it (an integer dtype: out of range, infinite or NaN;
 * float32: finite beyond FLT_MAX, compared in double), never for bool.
 */
static dt_err check_fits(dt_scalar v, dt_dtype dtype) {
  DT_CALL(check_scalar(v));
  bool fits = true;
  if (v.kind == DT_FLOAT64) {
    double f = v.f;
    if (dtype == DT_INT32)
      fits = f >= -2147483648.0 && f <= 2147483647.0;
    else if (dtype == DT_INT64) /* torch's max rounds to 2^63: refused */
      fits = f >= -9223372036854775808.0 && f < 9223372036854775808.0;
    else if (dtype == DT_FLOAT32)
      fits = !isfinite(f) || fabs(f) <= (double)FLT_MAX;
  } else if (v.kind == DT_INT64 && dtype == DT_INT32) {
    fits = v.i >= INT32_MIN && v.i <= INT32_MAX;
  }
  DT_CHECK(fits, DT_ERR_ARG,
           "value cannot be converted to type %s without overflow",
           dt_dtype_name(dtype));
  return DT_OK;
}

dt_err dt_full(dt_ctx *ctx, int ndim, const int64_t *shape, dt_scalar value,
               const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  filler f = {.kind = FILL_SCALAR, .value = value};
  dt_dtype dtype = pick(opts, scalar_dtype(ctx, value));
  DT_RETURN(make(ctx, check_fits(value, dtype), ndim, shape, dtype, opts, NULL,
                 &f, scalar_hash(opts_hash(opts), value), out));
}

/* ---- random
 * -----------------------------------------------------------------------------
 */

static dt_err make_random(dt_ctx *ctx, dt_err pre, int ndim,
                          const int64_t *shape, dt_dtype dtype,
                          const dt_opts *opts, dt_layout *given, rand_arg *ra,
                          dt_tensor **out) {
  dt_err err = pre;
  ra->p.seed = ctx->seed;
  ra->p.offset = ctx->offset;
  ra->p.dtype = dtype;
  ra->out = dtype;
  if (!err && ra->p.kind != DT__R_INT && !dt_dtype_is_float(dtype))
    err = dt__error(DT_ERR_DTYPE,
                    "%s is not implemented for dtype %s; pass a float dtype",
                    ra->p.kind == DT__R_NORMAL ? "normal sampling (randn)"
                                               : "uniform sampling (rand)",
                    dt_dtype_name(dtype));
  if (!err && ra->p.kind == DT__R_INT && dtype == DT_INT32 &&
      (ra->p.low < INT32_MIN ||
       ra->p.low + (int64_t)(ra->p.range - 1) > INT32_MAX))
    err = dt__error(DT_ERR_ARG, "randint expects low and high - 1 in the "
                                "range of int32 for dtype int32");
  if (!err && ra->p.kind == DT__R_INT && dtype == DT_BOOL &&
      (ra->p.low < 0 || ra->p.low + (int64_t)ra->p.range > 2))
    err = dt__error(DT_ERR_ARG, "randint into bool needs 0 <= low < high <= 2");
  filler f = {.kind = FILL_INDEX, .fn = rand_fn, .arg = ra};
  uint64_t h = dt__hash_mix(opts_hash(opts), ctx->seed);
  h = dt__hash_mix(h, ctx->offset);
  h = dt__hash_mix(h, (uint64_t)ra->p.kind);
  h = dt__hash_mix(h, (uint64_t)ra->p.low);
  h = dt__hash_mix(h, ra->p.range);
  DT_CALL(make(ctx, err, ndim, shape, dtype, opts, given, &f, h, out));
  ctx->offset++; /* the same on every rank: the outcome was agreed */
  return DT_OK;
}

dt_err dt_rand(dt_ctx *ctx, int ndim, const int64_t *shape, const dt_opts *opts,
               dt_tensor **out) {
  DT_NEED_CTX(ctx);
  rand_arg ra = {.p = {.kind = DT__R_UNIFORM}};
  DT_RETURN(make_random(ctx, DT_OK, ndim, shape, pick(opts, ctx->default_dtype),
                        opts, NULL, &ra, out));
}

dt_err dt_randn(dt_ctx *ctx, int ndim, const int64_t *shape,
                const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  rand_arg ra = {.p = {.kind = DT__R_NORMAL}};
  DT_RETURN(make_random(ctx, DT_OK, ndim, shape, pick(opts, ctx->default_dtype),
                        opts, NULL, &ra, out));
}

dt_err dt_randint(dt_ctx *ctx, int64_t low, int64_t high, int ndim,
                  const int64_t *shape, const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  dt_err pre = DT_OK;
  if (high <= low)
    pre = dt__error(DT_ERR_ARG,
                    "randint expects low < high, got low=%lld high=%lld",
                    (long long)low, (long long)high);
  rand_arg ra = {.p = {.kind = DT__R_INT,
                       .low = low,
                       .range = (uint64_t)high - (uint64_t)low}};
  DT_RETURN(make_random(ctx, pre, ndim, shape, pick(opts, DT_INT64), opts, NULL,
                        &ra, out));
}

/* ---- ranges
 * ------------------------------------------------------------------------------
 */

static double scalar_f64(dt_scalar v) {
  return v.kind == DT_FLOAT64 ? v.f : (double)v.i;
}

/* torch's Scalar::to<int64_t>(): a float truncated toward zero, refused
 * when it is out of range, infinite or NaN. */
static dt_err scalar_to_i64(dt_scalar v, int64_t *out) {
  if (v.kind != DT_FLOAT64) {
    *out = v.i;
    return DT_OK;
  }
  DT_CHECK(v.f >= -9223372036854775808.0 && v.f < 9223372036854775808.0,
           DT_ERR_ARG, "value cannot be converted to type int64 without "
           "overflow (got %g)", v.f);
  *out = (int64_t)v.f;
  return DT_OK;
}

/* ceil(span / st) of an exact integer range (span, st > 0 magnitudes). */
static dt_err exact_len(int64_t s, int64_t e, int64_t st, int64_t *n) {
  DT_CHECK(st != 0, DT_ERR_ARG, "step must be nonzero");
  DT_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), DT_ERR_ARG,
           "upper bound and larger bound inconsistent with step sign "
           "(start=%lld, end=%lld, step=%lld)",
           (long long)s, (long long)e, (long long)st);
  uint64_t span = st > 0 ? (uint64_t)e - (uint64_t)s : (uint64_t)s - (uint64_t)e;
  uint64_t m = st > 0 ? (uint64_t)st : -(uint64_t)st;
  uint64_t len = span / m + (span % m != 0);
  DT_CHECK(len <= (uint64_t)INT64_MAX, DT_ERR_OVERFLOW,
           "arange length %llu overflows int64", (unsigned long long)len);
  *n = (int64_t)len;
  return DT_OK;
}

/* ceil((e - s) / st) in double, as torch; refused when negative (an int32
 * range whose truncated bounds passed the sign check) or beyond int64. */
static dt_err double_len(double s, double e, double st, int64_t *n) {
  double len = ceil((e - s) / st);
  DT_CHECK(len >= 0 && len < 9223372036854775807.0, DT_ERR_OVERFLOW,
           "invalid size, possible overflow? (arange length %g)", len);
  *n = (int64_t)len;
  return DT_OK;
}

/* What arange computes, as torch 1.13's CPU kernel does for `dtype`. */
typedef struct arange_plan {
  int64_t n;
  bool exact_int;        /* element k = istart + k * istep in int64 */
  int64_t istart, istep; /* exact_int */
} arange_plan;

/*
 * Integer dtypes take start, end and step converted to int64 first (torch's
 * accumulate type; arange(0, 5, 1.5, dtype=int64) steps by 1). The length
 * is exact on those integers for int64; for int32 torch computes it in
 * double from the original scalars (ceil((end - start) / step)), so
 * arange(0, 5, 1.5, dtype=int32) has 4 elements where int64 has 5. Float
 * dtypes compute in double. bool is refused, as torch has no arange kernel
 * for it. Messages are torch's.
 */
static dt_err arange_plan_for(dt_scalar start, dt_scalar end, dt_scalar step,
                              dt_dtype dtype, arange_plan *pl) {
  DT_CALL(check_scalar(start));
  DT_CALL(check_scalar(end));
  DT_CALL(check_scalar(step));
  DT_CHECK(dtype != DT_BOOL, DT_ERR_DTYPE,
           "\"arange_cpu\" not implemented for 'Bool'");
  bool ints = start.kind != DT_FLOAT64 && end.kind != DT_FLOAT64 &&
              step.kind != DT_FLOAT64;
  pl->exact_int = ints || dtype == DT_INT32 || dtype == DT_INT64;
  if (pl->exact_int) {
    int64_t s = 0, e = 0, st = 0;
    DT_CALL(scalar_to_i64(start, &s));
    DT_CALL(scalar_to_i64(end, &e));
    DT_CALL(scalar_to_i64(step, &st));
    DT_CALL(exact_len(s, e, st, &pl->n));
    pl->istart = s;
    pl->istep = st;
    if (ints || dtype != DT_INT32)
      return DT_OK;
  }
  double s = scalar_f64(start), e = scalar_f64(end), st = scalar_f64(step);
  if (pl->exact_int) /* int32: checked on the integers; the length only */
    return double_len(s, e, st, &pl->n);
  DT_CHECK(isfinite(s) && isfinite(e), DT_ERR_ARG,
           "unsupported range: %g -> %g (bounds must be finite)", s, e);
  DT_CHECK(isfinite(st) && st != 0, DT_ERR_ARG,
           "step must be nonzero and finite (got %g)", st);
  DT_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), DT_ERR_ARG,
           "upper bound and larger bound inconsistent with step sign "
           "(start=%g, end=%g, step=%g)",
           s, e, st);
  return double_len(s, e, st, &pl->n);
}

dt_err dt_arange(dt_ctx *ctx, dt_scalar start, dt_scalar end, dt_scalar step,
                 const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  bool ints = start.kind != DT_FLOAT64 && end.kind != DT_FLOAT64 &&
              step.kind != DT_FLOAT64;
  dt_dtype dtype = pick(opts, ints ? DT_INT64 : ctx->default_dtype);
  arange_plan pl = {0};
  dt_err pre = arange_plan_for(start, end, step, dtype, &pl);
  range_arg a = {.dtype = dtype,
                 .exact_int = pl.exact_int,
                 .int_f64 = pl.exact_int && dt_dtype_is_float(dtype) &&
                            ints_exact_in_double(pl.istart, pl.istep, pl.n),
                 .istart = pl.istart,
                 .istep = pl.istep,
                 .start = scalar_f64(start),
                 .step = scalar_f64(step)};
  filler f = {.kind = FILL_INDEX, .fn = arange_fn, .arg = &a};
  uint64_t h =
      scalar_hash(scalar_hash(scalar_hash(opts_hash(opts), start), end), step);
  int64_t n = pre ? 0 : pl.n;
  DT_RETURN(make(ctx, pre, 1, &n, dtype, opts, NULL, &f, h, out));
}

static dt_err space(dt_ctx *ctx, double start, double end, int64_t steps,
                    bool log, double base, const dt_opts *opts,
                    dt_tensor **out) {
  dt_err pre = DT_OK;
  if (steps < 0)
    pre =
        dt__error(DT_ERR_ARG, "number of steps must be non-negative (got %lld)",
                  (long long)steps);
  else if (!isfinite(start) || !isfinite(end))
    pre = dt__error(DT_ERR_ARG, "start and end must be finite (got %g, %g)",
                    start, end);
  else if (log && !isfinite(base))
    pre = dt__error(DT_ERR_ARG, "base must be finite (got %g)", base);
  dt_dtype dtype = pick(opts, ctx->default_dtype);
  range_arg a = {.dtype = dtype,
                 .start = start,
                 .end = end,
                 .steps = steps,
                 .log = log,
                 .base = base};
  filler f = {.kind = FILL_INDEX, .fn = linspace_fn, .arg = &a};
  uint64_t h = dt__hash_bytes(opts_hash(opts), &a, 0);
  h = dt__hash_bytes(h, &start, 8);
  h = dt__hash_bytes(h, &end, 8);
  h = dt__hash_bytes(h, &base, 8);
  h = dt__hash_mix(h, (uint64_t)log);
  int64_t n = steps < 0 ? 0 : steps;
  return make(ctx, pre, 1, &n, dtype, opts, NULL, &f, h, out);
}

dt_err dt_linspace(dt_ctx *ctx, double start, double end, int64_t steps,
                   const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  DT_RETURN(space(ctx, start, end, steps, false, 10.0, opts, out));
}

dt_err dt_logspace(dt_ctx *ctx, double start, double end, int64_t steps,
                   double base, const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  DT_RETURN(space(ctx, start, end, steps, true, base, opts, out));
}

dt_err dt_eye(dt_ctx *ctx, int64_t n, int64_t m, const dt_opts *opts,
              dt_tensor **out) {
  DT_NEED_CTX(ctx);
  dt_err pre = DT_OK;
  if (n < 0 || m < 0)
    pre =
        dt__error(DT_ERR_SHAPE, "n and m must be non-negative (got %lld, %lld)",
                  (long long)n, (long long)m);
  int64_t shape[2] = {n, m};
  dt_dtype dtype = pick(opts, ctx->default_dtype);
  eye_arg a = {.dtype = dtype, .m = m};
  filler f = {.kind = FILL_INDEX, .fn = eye_fn, .arg = &a};
  DT_RETURN(
      make(ctx, pre, 2, shape, dtype, opts, NULL, &f, opts_hash(opts), out));
}

/* ---- from data
 * -------------------------------------------------------------------------------
 */

/* Copy this rank's box out of a full C-order array, converting. */
static void copy_box_from_full(dt_tensor *t, const void *data, dt_dtype sdt) {
  if (t->lnumel == 0)
    return;
  dt__runs R;
  dt__box_runs(t->ndim, t->shape, t->lstart, t->lshape, &R);
  size_t ssz = dt_dtype_size(sdt), dsz = dt_dtype_size(t->dtype);
  char *dst = dt__local_ptr(t);
  const char *src = data;
#pragma omp parallel for num_threads(dt__threads())                            \
    schedule(static) if (t->lnumel > DT_OMP_MIN && R.nruns > 1)
  for (int64_t k = 0; k < R.nruns; k++)
    dt__convert(dst + k * R.run_len * (int64_t)dsz, t->dtype,
                src + dt__run_global(&R, k) * (int64_t)ssz, sdt, R.run_len);
}

static int64_t box_elems(const dt_layout *L, int r) {
  int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS], n = 1;
  dt__layout_box(L, r, start, shape);
  for (int d = 0; d < L->ndim; d++)
    n *= shape[d];
  return n;
}

/*
 * Root sends every other rank its box (in the source dtype); the others
 * receive and convert. Replicated layouts are one broadcast. Buffers are
 * allocated and the outcome agreed before the first message, so a rank that
 * cannot allocate never leaves another waiting.
 */
static dt_err scatter_from_root(dt_tensor *t, const void *data, dt_dtype sdt,
                                int root) {
  dt_ctx *ctx = t->ctx;
  size_t ssz = dt_dtype_size(sdt);
  bool rep = t->layout->kind == DT__L_REPLICATED;
  size_t need = 0; /* bytes of staging this rank needs */
  if (rep)
    need = ctx->rank != root && sdt != t->dtype ? (size_t)t->numel * ssz : 0;
  else if (ctx->rank == root) {
    for (int r = 0; r < ctx->size; r++)
      if (r != root && (size_t)box_elems(t->layout, r) * ssz > need)
        need = (size_t)box_elems(t->layout, r) * ssz;
  } else if (sdt != t->dtype)
    need = (size_t)t->lnumel * ssz;
  void *tmp = need ? dt__malloc(need) : NULL;
  dt_err err = (need && !tmp) || dt__fault(ctx->comm, "scatter")
                   ? dt__error(DT_ERR_NOMEM, "cannot allocate %zu bytes", need)
                   : DT_OK;
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(tmp);
    return err;
  }
  if (rep) {
    size_t nbytes = (size_t)t->numel * ssz;
    void *into = ctx->rank == root ? (void *)data
                 : tmp             ? tmp
                                   : (void *)dt__local_ptr(t);
    err = dt__bcast_bytes(into, nbytes, root, ctx->comm);
    if (!err && ctx->rank == root)
      copy_box_from_full(t, data, sdt);
    else if (!err && tmp)
      dt__convert(dt__local_ptr(t), t->dtype, tmp, sdt, t->numel);
  } else if (ctx->rank == root) {
    copy_box_from_full(t, data, sdt);
    int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS];
    for (int r = 0; r < ctx->size && !err; r++) {
      size_t nbytes = (size_t)box_elems(t->layout, r) * ssz;
      if (r == root || nbytes == 0)
        continue;
      dt__layout_box(t->layout, r, start, shape);
      dt__box_from_global(tmp, data, t->ndim, t->shape, start, shape, ssz);
      err = dt__send_bytes(tmp, nbytes, r, 11, ctx->comm);
    }
  } else if (t->lnumel > 0) {
    size_t nbytes = (size_t)t->lnumel * ssz;
    err = dt__recv_bytes(tmp ? tmp : (void *)dt__local_ptr(t), nbytes, root, 11,
                         ctx->comm);
    if (!err && tmp)
      dt__convert(dt__local_ptr(t), t->dtype, tmp, sdt, t->lnumel);
  }
  free(tmp);
  return err;
}

/* Shared by dt_from_data, dt_parse and dt_new_tensor. */
static dt_err from_data(dt_ctx *ctx, dt_err pre, int ndim, const int64_t *shape,
                        const void *data, dt_dtype sdt, int root,
                        const dt_opts *opts, uint64_t h, dt_tensor **out) {
  dt_err err = pre;
  if (!err && dt_dtype_size(sdt) == 0)
    err = dt__error(DT_ERR_DTYPE, "data dtype %d is not a concrete dtype",
                    (int)sdt);
  if (!err && root != DT_ALL_RANKS && (root < 0 || root >= ctx->size))
    err = dt__error(DT_ERR_RANK, "root %d is outside 0..%d (or DT_ALL_RANKS)",
                    root, ctx->size - 1);
  int64_t numel = 0;
  if (!err)
    err = dt__check_shape(ndim, shape, dt_dtype_size(sdt), &numel);
  bool reads = root == DT_ALL_RANKS || root == ctx->rank;
  if (!err && reads && numel > 0 && data == NULL)
    err = dt__error(DT_ERR_NULL, "data is NULL");
  dt_dtype dtype = pick(opts, sdt);
  h = dt__hash_mix(h, (uint64_t)sdt);
  h = dt__hash_mix(h, (uint64_t)(int64_t)root);
  /* Allocation and validation are agreed before anything is sent. */
  DT_CALL(make(ctx, err, ndim, shape, dtype, opts, NULL, NULL,
               dt__hash_mix(h, opts_hash(opts)), out));
  dt_tensor *t = *out;
  if (root == DT_ALL_RANKS)
    err = DT_OK, copy_box_from_full(t, data, sdt);
  else
    err = scatter_from_root(t, data, sdt, root);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    dt_tensor_destroy(out);
    return err;
  }
  return DT_OK;
}

dt_err dt_from_data(dt_ctx *ctx, int ndim, const int64_t *shape,
                    const void *data, dt_dtype data_dtype, int root,
                    const dt_opts *opts, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  DT_RETURN(
      from_data(ctx, DT_OK, ndim, shape, data, data_dtype, root, opts, 0, out));
}

dt_err dt_parse(dt_ctx *ctx, const char *literal, const dt_opts *opts,
                dt_tensor **out) {
  DT_NEED_CTX(ctx);
  dt_err pre = DT_OK;
  int ndim = 0;
  int64_t shape[DT_MAX_DIMS] = {0};
  dt_dtype dtype = DT_INT64;
  void *data = NULL;
  if (!literal)
    pre = dt__error(DT_ERR_NULL, "literal is NULL");
  else
    /* straight from the text to the dtype asked for, as torch.tensor */
    pre = dt__parse_literal_as(literal, ctx->default_dtype,
                               opts ? opts->dtype : DT_DTYPE_DEFAULT, &ndim,
                               shape, &dtype, &data);
  uint64_t h = literal ? dt__hash_bytes(0, literal, strlen(literal)) : 0;
  dt_err err =
      from_data(ctx, pre, ndim, shape, data, dtype, DT_ALL_RANKS, opts, h, out);
  free(data);
  DT_RETURN(err);
}

/* ---- from a user buffer -------------------------------------------------- */

/* True when two boxes share an element. */
static bool boxes_overlap(int ndim, const int64_t *a, const int64_t *b) {
  for (int d = 0; d < ndim; d++) {
    int64_t lo = a[d] > b[d] ? a[d] : b[d];
    int64_t ha = a[d] + a[ndim + d], hb = b[d] + b[ndim + d];
    if (lo >= (ha < hb ? ha : hb))
      return false;
  }
  return true;
}

/* The gathered boxes must tile the shape: volumes add up, none overlap. */
static dt_err check_tiling(int P, int ndim, const int64_t *shape,
                           const int64_t *boxes, int64_t numel) {
  int64_t total = 0;
  for (int r = 0; r < P; r++) {
    const int64_t *b = boxes + (size_t)r * 2 * (size_t)ndim;
    int64_t v = 1;
    for (int d = 0; d < ndim; d++) {
      DT_CHECK(b[d] >= 0 && b[ndim + d] >= 0 && b[d] <= shape[d] &&
                   b[ndim + d] <= shape[d] - b[d],
               DT_ERR_LAYOUT,
               "rank %d's box does not fit in the global shape (axis %d: "
               "start %lld, size %lld, global %lld)",
               r, d, (long long)b[d], (long long)b[ndim + d],
               (long long)shape[d]);
      /* Extents fit the shape, but a zero on a later axis does not stop an
       * earlier product from overflowing: saturate (an empty box is 0). */
      if (v != 0 && !dt__mul_ok(v, b[ndim + d], &v))
        v = INT64_MAX;
    }
    for (int d = 0; d < ndim; d++)
      if (b[ndim + d] == 0)
        v = 0;
    DT_CHECK(!__builtin_add_overflow(total, v, &total) && total <= numel,
             DT_ERR_LAYOUT,
             "the declared boxes hold more elements than the shape (boxes "
             "overlap)");
  }
  DT_CHECK(total == numel, DT_ERR_LAYOUT,
           "the declared boxes cover %lld of %lld elements (they leave holes)",
           (long long)total, (long long)numel);
  for (int r = 0; r < P; r++)
    for (int q = r + 1; q < P; q++)
      DT_CHECK(!boxes_overlap(ndim, boxes + (size_t)r * 2 * (size_t)ndim,
                              boxes + (size_t)q * 2 * (size_t)ndim),
               DT_ERR_LAYOUT, "the boxes of ranks %d and %d overlap", r, q);
  return DT_OK;
}

dt_err dt_from_buffer(dt_ctx *ctx, void *buf, dt_dtype dtype, int ndim,
                      const int64_t *shape, const int64_t *local_start,
                      const int64_t *local_shape, dt_tensor **out) {
  DT_NEED_CTX(ctx);
  dt_err err = DT_OK;
  int64_t numel = 0;
  int64_t mine[2 * DT_MAX_DIMS];
  int64_t *boxes = NULL;
  dt_layout *L = NULL, *split = NULL;
  dt_tensor *t = NULL;
  if (!out)
    err = dt__error(DT_ERR_NULL, "out is NULL");
  else
    *out = NULL;
  if (!err)
    err = check_dtype(dtype);
  if (!err)
    err = dt__check_shape(ndim, shape, dt_dtype_size(dtype), &numel);
  if (!err && (local_start == NULL) != (local_shape == NULL))
    err = dt__error(DT_ERR_NULL,
                    "local_start and local_shape must both be given or both "
                    "be NULL");
  if (!err) {
    if (local_start) {
      for (int d = 0; d < ndim; d++) {
        mine[d] = local_start[d];
        mine[ndim + d] = local_shape[d];
      }
    } else if (ndim == 0) {
      err = dt__error(DT_ERR_LAYOUT,
                      "a 0-d tensor has no default split; give its box");
    } else {
      for (int d = 0; d < ndim; d++) {
        int64_t s =
            d == 0 ? dt__block_start(shape[0], ctx->size, ctx->rank) : 0;
        int64_t e = d == 0 ? dt__block_start(shape[0], ctx->size, ctx->rank + 1)
                           : shape[d];
        mine[d] = s;
        mine[ndim + d] = e - s;
      }
    }
  }
  /* Only whether the box is empty matters here (its extents are checked
   * after the exchange); a product could overflow. */
  int64_t lnumel = 1;
  for (int d = 0; !err && d < ndim; d++)
    lnumel = mine[ndim + d] > 0 ? lnumel : 0;
  if (!err && lnumel > 0 && buf == NULL)
    err =
        dt__error(DT_ERR_NULL, "buf is NULL but this rank's box is not empty");
  /* Agree on the replicated arguments before exchanging boxes. */
  uint64_t h = dt__hash_mix((uint64_t)dtype, (uint64_t)ndim);
  if (!err)
    h = dt__hash_bytes(h, shape, sizeof(int64_t) * (size_t)ndim);
  h = dt__hash_mix(h, local_start == NULL);
  err = dt__agree(ctx->comm, err, h);
  if (err)
    DT_RETURN(err);

  size_t per = 2 * (size_t)ndim;
  boxes = dt__malloc(((size_t)ctx->size * per + 1) * sizeof(int64_t));
  err =
      boxes ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate the box table");
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(boxes);
    DT_RETURN(err);
  }
  int rc = MPI_Allgather(mine, (int)per, MPI_INT64_T, boxes, (int)per,
                         MPI_INT64_T, ctx->comm);
  if (rc != MPI_SUCCESS)
    err = dt__mpi_error(rc, "MPI_Allgather (boxes)");
  /* Every rank checks the same table: the verdict is identical. */
  if (!err)
    err = check_tiling(ctx->size, ndim, shape, boxes, numel);
  if (!err && ndim > 0) {
    err = dt__layout_split(ctx->size, ndim, shape, 0, &split);
    bool same = !err;
    for (int r = 0; same && r < ctx->size; r++) {
      int64_t s[DT_MAX_DIMS], n[DT_MAX_DIMS];
      dt__layout_box(split, r, s, n);
      const int64_t *b = boxes + (size_t)r * per;
      for (int d = 0; d < ndim; d++)
        same = same && n[d] == b[ndim + d] && (n[d] == 0 || s[d] == b[d]);
    }
    if (!err)
      L = same ? dt__layout_ref(split) : NULL;
  }
  if (!err && !L)
    err = dt__layout_boxes(ctx->size, ndim, shape, boxes, &L);
  if (!err)
    err = dt__tensor_wrap(ctx, dtype, L, buf, &t);
  err = dt__agree(ctx->comm, err, 0);
  free(boxes);
  dt__layout_unref(&split);
  dt__layout_unref(&L);
  if (err) {
    dt__tensor_free(t);
    DT_RETURN(err);
  }
  *out = t;
  return DT_OK;
}

/* ---- *_like and new_tensor ----------------------------------------------- */

/* Layout for a *_like result: the source's, unless opts picks one. */
static bool opts_layout(const dt_opts *opts) {
  return opts && opts->layout != DT_LAYOUT_DEFAULT;
}

static dt_err like(const dt_tensor *src, const dt_opts *opts, const filler *f,
                   uint64_t h, dt_tensor **out) {
  if (!src)
    return dt__error(DT_ERR_NULL, "src is NULL");
  dt_dtype dtype = pick(opts, src->dtype);
  dt_err pre = f && f->kind == FILL_SCALAR ? check_fits(f->value, dtype) : DT_OK;
  return make(src->ctx, pre, src->ndim, src->shape, dtype, opts,
              opts_layout(opts) ? NULL : src->layout, f,
              dt__hash_mix(h, opts_hash(opts)), out);
}

dt_err dt_empty_like(const dt_tensor *src, const dt_opts *opts,
                     dt_tensor **out) {
  DT_RETURN(like(src, opts, NULL, 0, out));
}

dt_err dt_zeros_like(const dt_tensor *src, const dt_opts *opts,
                     dt_tensor **out) {
  filler f = {.kind = FILL_SCALAR, .value = DT_I(0)};
  DT_RETURN(like(src, opts, &f, 0, out));
}

dt_err dt_ones_like(const dt_tensor *src, const dt_opts *opts,
                    dt_tensor **out) {
  filler f = {.kind = FILL_SCALAR, .value = DT_I(1)};
  DT_RETURN(like(src, opts, &f, 0, out));
}

dt_err dt_full_like(const dt_tensor *src, dt_scalar value, const dt_opts *opts,
                    dt_tensor **out) {
  filler f = {.kind = FILL_SCALAR, .value = value};
  DT_RETURN(like(src, opts, &f, scalar_hash(0, value), out));
}

static dt_err random_like(const dt_tensor *src, const dt_opts *opts,
                          dt__rkind kind, dt_tensor **out) {
  if (!src)
    return dt__error(DT_ERR_NULL, "src is NULL");
  rand_arg ra = {.p = {.kind = kind}};
  return make_random(src->ctx, DT_OK, src->ndim, src->shape,
                     pick(opts, src->dtype), opts,
                     opts_layout(opts) ? NULL : src->layout, &ra, out);
}

dt_err dt_rand_like(const dt_tensor *src, const dt_opts *opts,
                    dt_tensor **out) {
  DT_RETURN(random_like(src, opts, DT__R_UNIFORM, out));
}

dt_err dt_randn_like(const dt_tensor *src, const dt_opts *opts,
                     dt_tensor **out) {
  DT_RETURN(random_like(src, opts, DT__R_NORMAL, out));
}

dt_err dt_new_tensor(const dt_tensor *src, int ndim, const int64_t *shape,
                     const void *data, dt_dtype data_dtype, const dt_opts *opts,
                     dt_tensor **out) {
  if (!src)
    DT_RETURN(dt__error(DT_ERR_NULL, "src is NULL"));
  /* The source's layout rule applied to the new shape. */
  dt_opts o = opts ? *opts : (dt_opts){0};
  if (o.dtype == DT_DTYPE_DEFAULT)
    o.dtype = src->dtype;
  if (o.layout == DT_LAYOUT_DEFAULT) {
    int axis;
    dt_layout_kind k = dt__layout_kind(src->layout, &axis, NULL);
    if (k == DT_REPLICATED) {
      o.layout = DT_REPLICATED;
    } else if (k == DT_SPLIT && ndim > 0 && axis < ndim) {
      o.layout = DT_SPLIT;
      o.split_axis = axis;
    }
  }
  DT_RETURN(from_data(src->ctx, DT_OK, ndim, shape, data, data_dtype,
                      DT_ALL_RANKS, &o, 0, out));
}
