/*
 * reduce.c - reductions along axes: sum and mean over a list of axes
 * (exact, correctly rounded per output element), amax/amin, argmax/argmin.
 *
 * Two paths, chosen on replicated metadata only:
 *
 * - Some axis is kept. The input is brought to a working layout W in which
 *   every rank holds the reduced axes whole: the input's own layout when it
 *   already does (no communication), else a split on the kept axis of
 *   largest extent (one redistribution, recorded, so gradients find their
 *   way back). Each rank then reduces its own box alone; the result's layout
 *   is W's boxes with the reduced axes dropped (or of extent 1 with
 *   keepdim). Every output element is computed from its own elements in
 *   global order, so its bits never depend on ranks, layout or threads.
 * - Every axis is reduced. The result is replicated; sums combine exact
 *   accumulators across ranks (dt__exact_sum), the others the best (value,
 *   global index) pair of each rank.
 */
#include "internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef enum rkind { R_SUM, R_MEAN, R_AMAX, R_AMIN, R_ARGMAX, R_ARGMIN } rkind;

static const char *kind_name(rkind k) {
  static const char *names[] = {"sum",  "mean",   "amax",
                                "amin", "argmax", "argmin"};
  return names[k];
}

static bool is_arg(rkind k) { return k == R_ARGMAX || k == R_ARGMIN; }
static bool is_max(rkind k) { return k == R_AMAX || k == R_ARGMAX; }

static dt_dtype out_dtype(rkind k, dt_dtype in) {
  if (is_arg(k))
    return DT_INT64;
  if (k == R_SUM && !dt_dtype_is_float(in))
    return DT_INT64; /* torch: sum of bool/int32/int64 is int64 */
  return in;
}

/* ---- argument checks (replicated metadata: identical on every rank) ------ */

/* The axes as a bit mask; ndims == 0 reduces every axis (torch's dim=[]). */
static dt_err parse_dims(int ndim, int ndims, const int *dims, unsigned *mask) {
  *mask = 0;
  if (ndims == 0) {
    *mask = ndim ? (1u << ndim) - 1 : 0;
    return DT_OK;
  }
  DT_CHECK(ndims > 0, DT_ERR_ARG, "ndims is negative (%d)", ndims);
  DT_CHECK(dims, DT_ERR_NULL, "dims is NULL");
  /* torch wraps a 0-d tensor's dim as if it had one axis */
  int lo = ndim ? -ndim : -1, hi = ndim ? ndim - 1 : 0;
  for (int i = 0; i < ndims; i++) {
    int d = dims[i];
    DT_CHECK(d >= lo && d <= hi, DT_ERR_AXIS,
             "Dimension out of range (expected to be in range of [%d, %d], "
             "but got %d)",
             lo, hi, d);
    int a = d < 0 ? d + (ndim ? ndim : 1) : d;
    if (ndim == 0)
      continue;
    DT_CHECK(!(*mask & (1u << a)), DT_ERR_ARG,
             "dim %d appears multiple times in the list of dims", a);
    *mask |= 1u << a;
  }
  return DT_OK;
}

static dt_err check_args(rkind k, const dt_tensor *a, unsigned mask,
                         bool all_dims) {
  if (k == R_MEAN)
    DT_CHECK(dt_dtype_is_float(a->dtype), DT_ERR_DTYPE,
             "mean(): could not infer output dtype. Input dtype must be "
             "either a floating point or complex dtype. Got: %s",
             dt__torch_type_name(a->dtype));
  if (is_arg(k))
    DT_CHECK(a->dtype != DT_BOOL, DT_ERR_DTYPE,
             "\"%s_cpu\" not implemented for 'Bool'", kind_name(k));
  if (k == R_SUM || k == R_MEAN)
    return DT_OK;
  /* max/min of nothing has no value */
  if (all_dims)
    DT_CHECK(a->numel > 0, DT_ERR_SHAPE,
             "%s(): Expected reduction dim to be specified for input.numel() "
             "== 0.%s",
             kind_name(k),
             is_arg(k) ? ""
                       : " Specify the reduction dim with the 'dim' "
                         "argument.");
  for (int d = 0; d < a->ndim; d++)
    DT_CHECK(!(mask & (1u << d)) || a->shape[d] > 0, DT_ERR_SHAPE,
             "%s(): Expected reduction dim %d to have non-zero size.",
             kind_name(k), d);
  return DT_OK;
}

/* ---- element access --------------------------------------------------- */

static inline double ld_f(const char *p, dt_dtype dt) {
  return dt == DT_FLOAT64 ? *(const double *)(const void *)p
                          : (double)*(const float *)(const void *)p;
}

static inline int64_t ld_i(const char *p, dt_dtype dt) {
  switch (dt) {
  case DT_INT64:
    return *(const int64_t *)(const void *)p;
  case DT_INT32:
    return *(const int32_t *)(const void *)p;
  case DT_BOOL:
    return *(const uint8_t *)p != 0;
  default:
    return 0;
  }
}

/* Whether element v beats the best so far (strictly: ties keep the first).
 * For floats NaN beats everything and nothing beats a NaN (torch: NaN is
 * the max and the min, and argmax points at the first NaN). */
static inline bool beats(bool max, const char *v, const char *best,
                         dt_dtype dt) {
  if (dt_dtype_is_float(dt)) {
    double x = ld_f(v, dt), b = ld_f(best, dt);
    if (isnan(b))
      return false;
    if (isnan(x))
      return true;
    return max ? x > b : x < b;
  }
  int64_t x = ld_i(v, dt), b = ld_i(best, dt);
  return max ? x > b : x < b;
}

/* ---- the local kernel --------------------------------------------------- */

/* One float element (the value is already rounded to dt). */
static void store_f(char *p, dt_dtype dt, double v) {
  if (dt == DT_FLOAT64)
    *(double *)(void *)p = v;
  else
    *(float *)(void *)p = (float)v;
}

/* How x's local box splits into kept and reduced axes. */
typedef struct rsplit {
  int nk, nr;
  int64_t ksh[DT_MAX_DIMS], kxs[DT_MAX_DIMS], kos[DT_MAX_DIMS];
  int64_t rsh[DT_MAX_DIMS], rxs[DT_MAX_DIMS];
  int64_t nout, nred;
} rsplit;

/* o (strides ost, ndim ond) is x's box with the masked axes dropped, or of
 * extent 1 when keepdim. */
static void split_axes(const dt_tensor *x, unsigned mask, bool keepdim,
                       const int64_t *ost, rsplit *s) {
  s->nk = s->nr = 0;
  s->nout = s->nred = 1;
  int od = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (mask & (1u << d)) {
      s->rsh[s->nr] = x->lshape[d];
      s->rxs[s->nr++] = x->lstride[d];
      s->nred *= x->lshape[d];
      od += keepdim;
    } else {
      s->ksh[s->nk] = x->lshape[d];
      s->kxs[s->nk] = x->lstride[d];
      s->kos[s->nk++] = ost ? ost[od] : 0;
      s->nout *= x->lshape[d];
      od++;
    }
  }
}

/* Offsets (in x and o) of output element j of the kept box. */
static void kept_offsets(const rsplit *s, int64_t j, int64_t *xo, int64_t *oo) {
  *xo = *oo = 0;
  for (int i = s->nk - 1; i >= 0; i--) {
    int64_t c = j % s->ksh[i];
    j /= s->ksh[i];
    *xo += c * s->kxs[i];
    *oo += c * s->kos[i];
  }
}

/* Offset of reduced element q (row-major over the reduced axes). */
static int64_t red_offset(const rsplit *s, int64_t q) {
  int64_t off = 0;
  for (int i = s->nr - 1; i >= 0; i--) {
    off += (q % s->rsh[i]) * s->rxs[i];
    q /= s->rsh[i];
  }
  return off;
}

/* Reduce the elements of one output element (at p in x) into out. */
static void reduce_one(rkind k, const rsplit *s, const char *p, dt_dtype dt,
                       char *out, dt_dtype odt) {
  size_t esz = dt_dtype_size(dt);
  if ((k == R_SUM || k == R_MEAN) && dt_dtype_is_float(dt)) {
    dt__xacc acc;
    dt__xacc_init(&acc);
    if (s->nr == 0) {
      dt__xacc_add_array(&acc, p, dt, 1, 1);
    } else {
      /* whole runs along the last reduced axis */
      int64_t len = s->rsh[s->nr - 1], st = s->rxs[s->nr - 1];
      for (int64_t q = 0; len > 0 && q < s->nred; q += len)
        dt__xacc_add_array(&acc, p + red_offset(s, q) * (int64_t)esz, dt, len,
                           st);
    }
    store_f(out, odt,
            k == R_MEAN ? dt__xacc_round_div(&acc, s->nred, dt)
                        : dt__xacc_round(&acc, dt));
    return;
  }
  if (k == R_SUM) { /* integers: wrap around modulo 2^64, as int64 does */
    uint64_t sum = 0;
    for (int64_t q = 0; q < s->nred; q++)
      sum += (uint64_t)ld_i(p + red_offset(s, q) * (int64_t)esz, dt);
    int64_t v = (int64_t)sum;
    memcpy(out, &v, 8);
    return;
  }
  bool max = is_max(k);
  const char *best = p;
  int64_t bi = 0;
  for (int64_t q = 1; q < s->nred; q++) {
    const char *v = p + red_offset(s, q) * (int64_t)esz;
    if (beats(max, v, best, dt)) {
      best = v;
      bi = q;
    }
  }
  if (is_arg(k))
    memcpy(out, &bi, 8);
  else
    memcpy(out, best, esz);
}

static void local_reduce(rkind k, const dt_tensor *x, dt_tensor *o,
                         unsigned mask, bool keepdim) {
  rsplit s;
  split_axes(x, mask, keepdim, o->lstride, &s);
  if (o->lnumel == 0)
    return; /* also an empty box cut on a reduced axis: no result here */
  const char *xb = dt__local_ptr(x);
  char *ob = dt__local_ptr(o);
  size_t xesz = dt_dtype_size(x->dtype), oesz = dt_dtype_size(o->dtype);
  int nt = omp_in_parallel() || s.nout * s.nred < 32768 ? 1 : dt__threads();
  /* each output element is computed alone: threads cannot change bits */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (int64_t j = 0; j < s.nout; j++) {
    int64_t xo, oo;
    kept_offsets(&s, j, &xo, &oo);
    reduce_one(k, &s, xb + xo * (int64_t)xesz, x->dtype,
               ob + oo * (int64_t)oesz, o->dtype);
  }
}

/* ---- layouts --------------------------------------------------------------
 */

/* Whether every rank holds the masked axes whole (or holds nothing). */
static bool reduced_whole(const dt_layout *L, unsigned mask) {
  if (L->kind == DT__L_REPLICATED)
    return true;
  for (int d = 0; d < L->ndim; d++)
    if ((mask & (1u << d)) && L->shape[d] == 0)
      return false; /* empty boxes would not say who owns which result */
  for (int r = 0; r < L->nranks; r++) {
    int64_t st[DT_MAX_DIMS], sh[DT_MAX_DIMS], vol = 1;
    dt__layout_box(L, r, st, sh);
    for (int d = 0; d < L->ndim; d++)
      vol *= sh[d];
    for (int d = 0; vol > 0 && d < L->ndim; d++)
      if ((mask & (1u << d)) && (st[d] != 0 || sh[d] != L->shape[d]))
        return false;
  }
  return true;
}

/* The working layout: L itself when it holds the reduced axes whole, else a
 * split on the kept axis of largest extent (the first of equals). */
static dt_err work_layout(const dt_layout *L, unsigned mask, dt_layout **W) {
  if (reduced_whole(L, mask)) {
    *W = dt__layout_ref((dt_layout *)L);
    return DT_OK;
  }
  int s = -1;
  for (int d = 0; d < L->ndim; d++)
    if (!(mask & (1u << d)) && (s < 0 || L->shape[d] > L->shape[s]))
      s = d;
  return dt__layout_split(L->nranks, L->ndim, L->shape, s, W);
}

/* The result's layout: W's boxes projected onto the kept axes. */
static dt_err out_layout(const dt_layout *W, unsigned mask, bool keepdim,
                         int ond, const int64_t *oshape, dt_layout **O) {
  int P = W->nranks;
  if (W->kind == DT__L_REPLICATED)
    return dt__layout_replicated(P, ond, oshape, O);
  int64_t *boxes =
      dt__calloc((size_t)P * 2 * (size_t)(ond ? ond : 1), sizeof(int64_t));
  DT_CHECK(boxes, DT_ERR_NOMEM, "cannot allocate a layout");
  for (int r = 0; r < P; r++) {
    int64_t st[DT_MAX_DIMS], sh[DT_MAX_DIMS];
    bool covers = true;
    dt__layout_box(W, r, st, sh);
    for (int d = 0; d < W->ndim; d++)
      if ((mask & (1u << d)) && (st[d] != 0 || sh[d] != W->shape[d]))
        covers = false;
    int64_t *b = boxes + (size_t)r * 2 * (size_t)ond;
    int od = 0;
    for (int d = 0; d < W->ndim; d++) {
      bool red = mask & (1u << d);
      if (red && !keepdim)
        continue;
      b[od] = red ? 0 : st[d];
      b[ond + od] = red ? 1 : sh[d];
      od++;
    }
    if (!covers) /* an empty box cut on a reduced axis owns no result */
      for (int d = 0; d < ond; d++)
        b[d] = b[ond + d] = 0;
  }
  dt_err err = dt__layout_from_boxes(P, ond, oshape, boxes, O);
  free(boxes);
  return err;
}

/* ---- every axis reduced ---------------------------------------------------
 */

/* The first best element of this rank's box: {found, raw bits, global
 * flat index}. Local C order is increasing global order. */
static void local_best(rkind k, const dt_tensor *x, int64_t *res) {
  res[0] = 0;
  res[1] = res[2] = 0;
  if (x->lnumel == 0)
    return;
  int nd = x->ndim;
  int64_t gst[DT_MAX_DIMS], idx[DT_MAX_DIMS] = {0};
  int64_t g = 1;
  for (int d = nd - 1; d >= 0; d--) {
    gst[d] = g;
    g *= x->shape[d];
  }
  size_t esz = dt_dtype_size(x->dtype);
  const char *base = dt__local_ptr(x), *best = NULL;
  int64_t bg = 0;
  for (int64_t j = 0; j < x->lnumel; j++) {
    int64_t off = 0, gi = 0;
    for (int d = 0; d < nd; d++) {
      off += idx[d] * x->lstride[d];
      gi += (x->lstart[d] + idx[d]) * gst[d];
    }
    const char *v = base + off * (int64_t)esz;
    if (!best || beats(is_max(k), v, best, x->dtype)) {
      best = v;
      bg = gi;
    }
    for (int d = nd - 1; d >= 0; d--) {
      if (++idx[d] < x->lshape[d])
        break;
      idx[d] = 0;
    }
  }
  res[0] = 1;
  memcpy(&res[1], best, esz);
  res[2] = bg;
}

static dt_err full_reduce(rkind k, const dt_tensor *a, dt_tensor *o) {
  dt_ctx *ctx = a->ctx;
  char *out = dt__local_ptr(o);
  if ((k == R_SUM || k == R_MEAN) && dt_dtype_is_float(a->dtype)) {
    dt__xacc acc;
    DT_CALL(dt__exact_sum(a, &acc));
    double v = k == R_MEAN ? dt__xacc_round_div(&acc, a->numel, a->dtype)
                           : dt__xacc_round(&acc, a->dtype);
    dt__convert(out, o->dtype, &v, DT_FLOAT64, 1);
    return DT_OK;
  }
  if (k == R_SUM) {
    /* each element counted once: a replicated shard is shared out */
    rsplit s;
    dt_tensor x = *a;
    int64_t lo = 0, hi = a->lnumel;
    if (a->layout->kind == DT__L_REPLICATED) {
      lo = dt__block_start(a->lnumel, ctx->size, ctx->rank);
      hi = dt__block_start(a->lnumel, ctx->size, ctx->rank + 1);
    }
    uint64_t mine = 0, all = 0;
    split_axes(&x, (1u << a->ndim) - 1, false, NULL, &s);
    size_t esz = dt_dtype_size(a->dtype);
    for (int64_t q = lo; q < hi; q++)
      mine += (uint64_t)ld_i(
          dt__local_ptr(a) + red_offset(&s, q) * (int64_t)esz, a->dtype);
    DT_CALL_MPI(
        MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, ctx->comm));
    int64_t v = (int64_t)all;
    memcpy(out, &v, 8);
    return DT_OK;
  }
  int64_t res[3];
  local_best(k, a, res);
  int64_t *allres = dt__malloc(sizeof(int64_t) * 3 * (size_t)ctx->size);
  dt_err err =
      dt__agree(ctx->comm,
                allres ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate"), 0);
  if (err) {
    free(allres);
    return err;
  }
  int rc =
      MPI_Allgather(res, 3, MPI_INT64_T, allres, 3, MPI_INT64_T, ctx->comm);
  if (rc != MPI_SUCCESS) {
    free(allres);
    return dt__mpi_error(rc, "MPI_Allgather (reduction)");
  }
  /* the best of the ranks' bests; equal ones: the lowest global index */
  int b = -1;
  for (int r = 0; r < ctx->size; r++) {
    const int64_t *c = allres + 3 * r;
    if (!c[0])
      continue;
    if (b < 0) {
      b = r;
      continue;
    }
    const int64_t *cb = allres + 3 * b;
    bool win =
        beats(is_max(k), (const char *)&c[1], (const char *)&cb[1], a->dtype);
    bool lose =
        beats(is_max(k), (const char *)&cb[1], (const char *)&c[1], a->dtype);
    if (win || (!lose && c[2] < cb[2]))
      b = r;
  }
  if (b >= 0) { /* numel > 0 was checked: some rank holds an element */
    if (is_arg(k))
      memcpy(out, &allres[3 * b + 2], 8);
    else
      memcpy(out, &allres[3 * b + 1], dt_dtype_size(a->dtype));
  }
  free(allres);
  return DT_OK;
}

/* ---- the operation --------------------------------------------------------
 */

static dt__op node_op(rkind k) {
  switch (k) {
  case R_SUM:
    return DT__OP_SUM_DIM;
  case R_MEAN:
    return DT__OP_MEAN_DIM;
  case R_AMAX:
    return DT__OP_AMAX;
  default:
    return DT__OP_AMIN;
  }
}

static dt_err reduce_impl(rkind k, const dt_tensor *a, int ndims,
                          const int *dims, bool keepdim, dt_tensor **out) {
  if (!a)
    return dt__error(DT_ERR_NULL, "the input is NULL");
  dt_ctx *ctx = a->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  unsigned mask = 0;
  if (!err)
    err = parse_dims(a->ndim, ndims, dims, &mask);
  bool all = mask == (a->ndim ? (1u << a->ndim) - 1 : 0);
  if (!err)
    err = check_args(k, a, mask, ndims == 0 || a->ndim == 0);
  uint64_t h = dt__hash_mix((uint64_t)k * 64 + mask, keepdim);
  h = dt__hash_mix(h, dt__layout_hash(a->layout));
  h = dt__hash_mix(h, (uint64_t)a->dtype);
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : h));

  int ond = 0;
  int64_t oshape[DT_MAX_DIMS];
  for (int d = 0; d < a->ndim; d++)
    if (!(mask & (1u << d)))
      oshape[ond++] = a->shape[d];
    else if (keepdim)
      oshape[ond++] = 1;
  dt_dtype odt = out_dtype(k, a->dtype);
  bool grad = !is_arg(k);
  dt_layout *W = NULL, *O = NULL;
  dt_tensor *x = NULL, *o = NULL;
  dt__node *n = NULL;
  if (all) {
    err = dt__layout_replicated(ctx->size, ond, oshape, &O);
    x = dt__tensor_ref((dt_tensor *)a);
  } else {
    err = work_layout(a->layout, mask, &W);
    if (!err)
      err = out_layout(W, mask, keepdim, ond, oshape, &O);
    err = dt__agree(ctx->comm, err, 0);
    if (!err && dt__layout_equal(W, a->layout))
      x = dt__tensor_ref((dt_tensor *)a);
    else if (!err)
      err = dt__redistribute_layout(a, W, a->dtype, &x);
  }
  if (!err)
    err = dt__tensor_alloc(ctx, odt, O, &o);
  if (!err && grad)
    err = dt__node_new(node_op(k), 1, (const dt_tensor *const *)&x, &n);
  if (!err && n) {
    n->iarg[0] = mask;
    n->iarg[1] = keepdim;
    n->iarg[2] = all;
    if (k == R_AMAX || k == R_AMIN) {
      err = dt__node_save(n, 0, x);
      if (!err)
        err = dt__node_save(n, 1, o);
    }
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err && all)
    err = full_reduce(k, x, o);
  else if (!err)
    local_reduce(k, x, o, mask, keepdim);
  if (!err) {
    dt__node_attach(n, o);
    n = NULL;
  }
  dt__node_unref(n);
  dt__tensor_free(x);
  dt__layout_unref(&W);
  dt__layout_unref(&O);
  if (err) {
    dt__tensor_free(o);
    return err;
  }
  *out = o;
  return DT_OK;
}

dt_err dt_sum_dim(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
                  dt_tensor **out) {
  DT_RETURN(reduce_impl(R_SUM, a, ndims, dims, keepdim, out));
}

dt_err dt_mean_dim(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
                   dt_tensor **out) {
  DT_RETURN(reduce_impl(R_MEAN, a, ndims, dims, keepdim, out));
}

dt_err dt_amax(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
               dt_tensor **out) {
  DT_RETURN(reduce_impl(R_AMAX, a, ndims, dims, keepdim, out));
}

dt_err dt_amin(const dt_tensor *a, int ndims, const int *dims, bool keepdim,
               dt_tensor **out) {
  DT_RETURN(reduce_impl(R_AMIN, a, ndims, dims, keepdim, out));
}

/* dim NULL: over the flattened tensor, and keepdim is ignored (torch 1.13). */
static dt_err arg_impl(rkind k, const dt_tensor *a, const int *dim,
                       bool keepdim, dt_tensor **out) {
  if (!dim)
    return reduce_impl(k, a, 0, NULL, false, out);
  return reduce_impl(k, a, 1, dim, keepdim, out);
}

dt_err dt_argmax(const dt_tensor *a, const int *dim, bool keepdim,
                 dt_tensor **out) {
  DT_RETURN(arg_impl(R_ARGMAX, a, dim, keepdim, out));
}

dt_err dt_argmin(const dt_tensor *a, const int *dim, bool keepdim,
                 dt_tensor **out) {
  DT_RETURN(arg_impl(R_ARGMIN, a, dim, keepdim, out));
}

/* ---- backward -------------------------------------------------------------
 */

/* The single value of g (one element) on every rank, as a double. */
static dt_err scalar_everywhere(dt_ctx *ctx, const dt_tensor *g, double *v) {
  dt_tensor *r = NULL;
  if (g->layout->kind != DT__L_REPLICATED) {
    dt_layout *R = NULL;
    DT_CALL(dt__layout_replicated(ctx->size, g->ndim, g->shape, &R));
    dt_err err = dt__redistribute_to(ctx, g, R, DT_FLOAT64, &r);
    dt__layout_unref(&R);
    DT_CALL(err);
    g = r;
  }
  *v = dt__load_f64(dt__local_ptr(g), g->dtype, 0);
  dt__tensor_free(r);
  return DT_OK;
}

/* q in the dtype's arithmetic: float32 gradients divide in float32. */
static double div_in(double a, double b, dt_dtype dt) {
  return dt == DT_FLOAT32 ? (double)((float)a / (float)b) : a / b;
}

/* Every axis reduced: the gradient over the input's own layout. */
static dt_err full_backward(const dt__node *n, const dt_tensor *g,
                            dt_tensor *gi) {
  dt_ctx *ctx = n->ctx;
  dt_dtype dt = gi->dtype;
  double gv;
  DT_CALL(scalar_everywhere(ctx, g, &gv));
  rsplit s;
  split_axes(gi, (1u << gi->ndim) - 1, false, NULL, &s);
  char *gb = dt__local_ptr(gi);
  size_t esz = dt_dtype_size(dt);
  if (n->op == DT__OP_SUM_DIM || n->op == DT__OP_MEAN_DIM) {
    double v = gv;
    if (n->op == DT__OP_MEAN_DIM)
      v = div_in(gv, (double)gi->numel, dt);
    for (int64_t q = 0; q < s.nred; q++)
      store_f(gb + red_offset(&s, q) * (int64_t)esz, dt, v);
    return DT_OK;
  }
  /* amax/amin: (g / number of ties) where x equals the result, as torch's
   * scale_grad_by_count (no tie, a NaN result: 0 ties, NaN everywhere) */
  const dt_tensor *x = n->saved[0], *res = n->saved[1];
  double m = ld_f(dt__local_ptr(res), res->dtype);
  rsplit sx;
  split_axes(x, (1u << x->ndim) - 1, false, NULL, &sx);
  int64_t lo = 0, hi = x->lnumel, mine = 0, ties = 0;
  if (x->layout->kind == DT__L_REPLICATED) {
    lo = dt__block_start(x->lnumel, ctx->size, ctx->rank);
    hi = dt__block_start(x->lnumel, ctx->size, ctx->rank + 1);
  }
  const char *xb = dt__local_ptr(x);
  for (int64_t q = lo; q < hi; q++)
    mine += ld_f(xb + red_offset(&sx, q) * (int64_t)esz, dt) == m;
  DT_CALL_MPI(MPI_Allreduce(&mine, &ties, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
  double per = div_in(gv, (double)ties, dt);
  for (int64_t q = 0; q < s.nred; q++) {
    double eq = ld_f(xb + red_offset(&sx, q) * (int64_t)esz, dt) == m;
    store_f(gb + red_offset(&s, q) * (int64_t)esz, dt, per * eq);
  }
  return DT_OK;
}

/* Some axis kept: in_layout[0] is the working layout, every rank holds its
 * reduced axes whole, and the gradient expands locally. */
static void local_backward(const dt__node *n, const dt_tensor *g, dt_tensor *gi,
                           unsigned mask, bool keepdim) {
  dt_dtype dt = gi->dtype;
  size_t esz = dt_dtype_size(dt), gsz = dt_dtype_size(g->dtype);
  rsplit s, sx;
  split_axes(gi, mask, keepdim, g->lstride, &s);
  bool amax = n->op == DT__OP_AMAX || n->op == DT__OP_AMIN;
  const dt_tensor *x = amax ? n->saved[0] : NULL,
                  *res = amax ? n->saved[1] : NULL;
  if (amax)
    split_axes(x, mask, keepdim, res->lstride, &sx);
  if (gi->lnumel == 0 || g->lnumel == 0)
    return; /* the gradient of nothing, or of elements that reach nothing */
  char *gb = dt__local_ptr(gi);
  const char *gg = dt__local_ptr(g);
  int nt = omp_in_parallel() || gi->lnumel < 32768 ? 1 : dt__threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (int64_t j = 0; j < s.nout; j++) {
    int64_t io, go;
    kept_offsets(&s, j, &io, &go);
    double gv = ld_f(gg + go * (int64_t)gsz, g->dtype);
    char *p = gb + io * (int64_t)esz;
    if (!amax) {
      double v = n->op == DT__OP_MEAN_DIM ? div_in(gv, (double)s.nred, dt) : gv;
      for (int64_t q = 0; q < s.nred; q++)
        store_f(p + red_offset(&s, q) * (int64_t)esz, dt, v);
      continue;
    }
    int64_t xo, ro, ties = 0;
    kept_offsets(&sx, j, &xo, &ro);
    const char *xp = dt__local_ptr(x) + xo * (int64_t)esz;
    double m = ld_f(dt__local_ptr(res) + ro * (int64_t)esz, dt);
    for (int64_t q = 0; q < sx.nred; q++)
      ties += ld_f(xp + red_offset(&sx, q) * (int64_t)esz, dt) == m;
    double per = div_in(gv, (double)ties, dt);
    for (int64_t q = 0; q < s.nred; q++) {
      double eq = ld_f(xp + red_offset(&sx, q) * (int64_t)esz, dt) == m;
      store_f(p + red_offset(&s, q) * (int64_t)esz, dt, per * eq);
    }
  }
}

dt_err dt__reduce_backward(const dt__node *n, const dt_tensor *g,
                           dt_tensor **gi) {
  *gi = NULL;
  dt_ctx *ctx = n->ctx;
  unsigned mask = (unsigned)n->iarg[0];
  bool keepdim = n->iarg[1], all = n->iarg[2];
  dt_layout *L = n->in_layout[0];
  dt_dtype dt = n->in_dtype[0];
  dt_tensor *t = NULL, *g2 = NULL;
  dt_err err = dt__tensor_alloc(ctx, dt, L, &t);
  err = dt__agree(ctx->comm, err, 0);
  if (err)
    return err;
  if (all) {
    err = full_backward(n, g, t);
  } else {
    /* g over the result's layout, in the input's dtype */
    int ond = 0;
    int64_t oshape[DT_MAX_DIMS];
    for (int d = 0; d < L->ndim; d++)
      if (!(mask & (1u << d)))
        oshape[ond++] = L->shape[d];
      else if (keepdim)
        oshape[ond++] = 1;
    dt_layout *O = NULL;
    err = out_layout(L, mask, keepdim, ond, oshape, &O);
    err = dt__agree(ctx->comm, err, 0);
    if (!err && g->dtype == dt && dt__layout_equal(g->layout, O))
      g2 = dt__tensor_ref((dt_tensor *)g);
    else if (!err)
      err = dt__redistribute_to(ctx, g, O, dt, &g2);
    dt__layout_unref(&O);
    if (!err)
      local_backward(n, g2, t, mask, keepdim);
  }
  dt__tensor_free(g2);
  if (err) {
    dt__tensor_free(t);
    return err;
  }
  *gi = t;
  return DT_OK;
}
