/*
 * view.c - views: tensors that share another tensor's storage with a new
 * shape, window or axis order. All metadata; only dt_view and dt_reshape
 * talk to other ranks (to agree, or to copy when a view is impossible).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- local strides (PyTorch's computeStride) ----------------------------- */

/* Strides for viewing a strided (oshape, ostride) window as nshape, or false
 * when the memory layout does not allow it. */
static bool compute_stride(int ond, const int64_t *oshape,
                           const int64_t *ostride, int nnd,
                           const int64_t *nshape, int64_t *nstride) {
  int64_t numel = 1;
  for (int d = 0; d < ond; d++)
    numel *= oshape[d];
  if (ond == 0 || numel == 0) {
    int64_t s = 1;
    for (int d = nnd - 1; d >= 0; d--) {
      nstride[d] = s;
      s *= nshape[d] > 0 ? nshape[d] : 1;
    }
    return true;
  }
  int view_d = nnd - 1;
  int64_t chunk_base = ostride[ond - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int td = ond - 1; td >= 0; td--) {
    tensor_numel *= oshape[td];
    if (td == 0 ||
        (oshape[td - 1] != 1 && ostride[td - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 &&
             (view_numel < tensor_numel || nshape[view_d] == 1)) {
        nstride[view_d] = view_numel * chunk_base;
        view_numel *= nshape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel)
        return false;
      if (td > 0) {
        chunk_base = ostride[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

/* ---- global boxes under a new shape -------------------------------------- */

/* The flat range [a, a + len) of an axis group (sizes n[0..m)) as a box, or
 * false: leading axes hold one index, one axis a range, the rest are full. */
static bool range_to_box(int m, const int64_t *n, int64_t a, int64_t len,
                         int64_t *start, int64_t *ext) {
  int64_t Q[DT_MAX_DIMS];
  int64_t q = 1;
  for (int j = m - 1; j >= 0; j--) {
    Q[j] = q;
    q *= n[j];
  }
  for (int j = 0; j < m; j++) {
    if (a % Q[j] || len % Q[j])
      continue;
    int64_t c = len / Q[j], s = (a / Q[j]) % n[j];
    if (s + c > n[j])
      continue;
    for (int i = 0; i < j; i++) {
      start[i] = (a / Q[i]) % n[i];
      ext[i] = 1;
    }
    start[j] = s;
    ext[j] = c;
    for (int i = j + 1; i < m; i++) {
      start[i] = 0;
      ext[i] = n[i];
    }
    return true;
  }
  return m == 0 && len == 1;
}

/*
 * The box (ostart, oext) of oshape as a box of nshape holding the same
 * elements, or false. Axes are paired into groups of equal products; in each
 * group the old box must be one contiguous flat range (leading axes single,
 * one axis a range, the rest full), and that range a box of the new axes.
 * Needs every size > 0.
 */
static bool map_box(int ond, const int64_t *oshape, const int64_t *ostart,
                    const int64_t *oext, int nnd, const int64_t *nshape,
                    int64_t *nstart, int64_t *next) {
  int i = 0, k = 0;
  while (i < ond || k < nnd) {
    int i0 = i, k0 = k;
    int64_t po = 1, pn = 1;
    if (i < ond)
      po *= oshape[i++];
    if (k < nnd)
      pn *= nshape[k++];
    while (po != pn) {
      if (po < pn && i < ond)
        po *= oshape[i++];
      else if (k < nnd)
        pn *= nshape[k++];
      else
        return false; /* unequal element counts; checked by the caller */
    }
    /* Old axes [i0, i): flat range [a, a + len) within the group. */
    int p = i0;
    while (p < i && oext[p] == 1)
      p++;
    int64_t a = 0, inner = 1, len = 1;
    for (int d = i - 1; d >= i0; d--) {
      a += ostart[d] * inner;
      if (d > p && (ostart[d] != 0 || oext[d] != oshape[d]))
        return false;
      if (d >= p)
        len *= oext[d];
      inner *= oshape[d];
    }
    if (!range_to_box(k - k0, nshape + k0, a, len, nstart + k0, next + k0))
      return false;
  }
  return true;
}

/* Infer one -1 entry and check the element count. */
static dt_err resolve_shape(const dt_tensor *t, int ndim, const int64_t *shape,
                            int64_t *out) {
  DT_CHECK(ndim >= 0 && ndim <= DT_MAX_DIMS, DT_ERR_SHAPE,
           "ndim %d is outside 0..%d", ndim, DT_MAX_DIMS);
  DT_CHECK(ndim == 0 || shape, DT_ERR_NULL, "shape is NULL");
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < ndim; d++) {
    out[d] = shape[d];
    if (shape[d] == -1) {
      DT_CHECK(infer < 0, DT_ERR_SHAPE, "only one dimension can be inferred");
      infer = d;
      continue;
    }
    DT_CHECK(shape[d] >= 0, DT_ERR_SHAPE, "invalid shape dimension %lld",
             (long long)shape[d]);
    DT_CHECK(dt__mul_ok(known, shape[d], &known), DT_ERR_OVERFLOW,
             "element count overflows 64 bits");
  }
  if (infer >= 0) {
    DT_CHECK(known > 0 && t->numel % known == 0, DT_ERR_SHAPE,
             "shape '%s' is invalid for input of size %lld",
             dt__shape_str((char[160]){0}, 160, ndim, shape),
             (long long)t->numel);
    out[infer] = t->numel / known;
    known = t->numel;
  }
  DT_CHECK(known == t->numel, DT_ERR_SHAPE,
           "shape '%s' is invalid for input of size %lld",
           dt__shape_str((char[160]){0}, 160, ndim, shape),
           (long long)t->numel);
  return DT_OK;
}

/*
 * Try the view locally. *layout_err: the split prevents it (the same on every
 * rank); otherwise a stride failure is this rank's alone. On success *out is
 * a new view.
 */
static dt_err try_view(const dt_tensor *t, int nd, const int64_t *shape,
                       dt_tensor **out) {
  *out = NULL;
  int P = t->layout->nranks;
  const dt_layout *L = t->layout;
  dt_layout *NL = NULL;
  if (L->kind == DT__L_REPLICATED || P == 1 || t->numel == 0) {
    if (L->kind == DT__L_REPLICATED)
      DT_CALL(dt__layout_replicated(P, nd, shape, &NL));
    else if (P == 1 || nd == 0)
      DT_CALL(dt__layout_from_opts(
          t->ctx, nd, shape,
          &(dt_opts){.layout = nd ? DT_SPLIT : DT_REPLICATED}, &NL));
    else
      DT_CALL(dt__layout_split(P, nd, shape, 0, &NL));
  } else {
    DT_CHECK(nd > 0, DT_ERR_LAYOUT,
             "a 0-d view of a tensor spread over %d ranks is impossible; use "
             "dt_reshape",
             P);
    int64_t *boxes = dt__malloc((size_t)P * 2 * (size_t)nd * sizeof(int64_t));
    DT_CHECK(boxes, DT_ERR_NOMEM, "cannot allocate the box table");
    for (int r = 0; r < P; r++) {
      int64_t os[DT_MAX_DIMS], oe[DT_MAX_DIMS];
      int64_t *ns = boxes + (size_t)r * 2 * (size_t)nd, *ne = ns + nd;
      dt__layout_box(L, r, os, oe);
      int64_t vol = 1;
      for (int d = 0; d < t->ndim; d++)
        vol *= oe[d];
      if (vol == 0) {
        for (int d = 0; d < nd; d++) {
          ns[d] = 0;
          ne[d] = d == 0 ? 0 : shape[d];
        }
        continue;
      }
      if (!map_box(t->ndim, t->shape, os, oe, nd, shape, ns, ne)) {
        free(boxes);
        return dt__error(DT_ERR_LAYOUT,
                         "view %s: rank %d's part of the tensor is not a box "
                         "of the new shape (the split prevents a view); use "
                         "dt_reshape, which copies",
                         dt__shape_str((char[160]){0}, 160, nd, shape), r);
      }
    }
    dt_err err = dt__layout_from_boxes(P, nd, shape, boxes, &NL);
    free(boxes);
    DT_CALL(err);
  }
  dt_tensor *v = NULL;
  dt_err err = dt__tensor_share(t, NL, &v);
  dt__layout_unref(&NL);
  DT_CALL(err);
  if (!compute_stride(t->ndim, t->lshape, t->lstride, nd, v->lshape,
                      v->lstride)) {
    dt__tensor_free(v);
    return dt__error(DT_ERR_SHAPE,
                     "view size is not compatible with the shard's size and "
                     "stride (a transposed or sliced view); use dt_reshape");
  }
  *out = v;
  return DT_OK;
}

static uint64_t shape_hash(int nd, const int64_t *shape) {
  return dt__hash_bytes((uint64_t)nd, shape, sizeof(int64_t) * (size_t)nd);
}

dt_err dt_view(const dt_tensor *t, int ndim, const int64_t *shape,
               dt_tensor **out) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  int64_t s[DT_MAX_DIMS] = {0};
  dt_tensor *v = NULL;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (!err)
    *out = NULL;
  if (!err)
    err = resolve_shape(t, ndim, shape, s);
  if (!err)
    err = try_view(t, ndim, s, &v);
  if (v) {
    v->requires_grad = false;
    err = dt__record_unary(DT__OP_VIEW, t, v, NULL);
  }
  err = dt__agree(t->ctx->comm, err, err ? 0 : shape_hash(ndim, s));
  if (err) {
    dt__tensor_free(v);
    DT_RETURN(err);
  }
  *out = v;
  return DT_OK;
}

dt_err dt_reshape(const dt_tensor *t, int ndim, const int64_t *shape,
                  dt_tensor **out) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  int64_t s[DT_MAX_DIMS] = {0};
  dt_tensor *v = NULL;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (!err)
    *out = NULL;
  if (!err)
    err = resolve_shape(t, ndim, shape, s);
  err = dt__agree(t->ctx->comm, err, err ? 0 : shape_hash(ndim, s));
  if (err)
    DT_RETURN(err);
  /* A view when every rank can; the verdict is agreed. */
  int64_t failed = try_view(t, ndim, s, &v) != DT_OK;
  if (!failed) {
    v->requires_grad = false;
    failed = dt__record_unary(DT__OP_VIEW, t, v, NULL) != DT_OK;
  }
  err = dt__agree_max(t->ctx->comm, DT_OK, 0, &failed);
  if (!err && !failed) {
    *out = v;
    return DT_OK;
  }
  dt__tensor_free(v);
  v = NULL;
  if (err)
    DT_RETURN(err);
  /*
   * A copy: bring t into a layout whose boxes are flat ranges (split on axis
   * 0, or replicated), view both sides as 1-D, and redistribute.
   */
  dt_tensor *flat_src = NULL, *tmp = NULL, *res = NULL, *flat_dst = NULL;
  bool grad_mode = t->ctx->grad_enabled;
  t->ctx->grad_enabled = false; /* the copy's steps are one VIEW step */
  const int64_t n = t->numel;
  bool rep = t->layout->kind == DT__L_REPLICATED;
  dt_opts o = {.dtype = t->dtype,
               .layout =
                   rep ? DT_REPLICATED : (ndim > 0 ? DT_SPLIT : DT_REPLICATED)};
  err = dt_empty(t->ctx, ndim, s, &o, &res);
  if (!err) {
    err = dt_view(t, 1, &n, &flat_src);
    if (err) { /* not flat ranges: copy into split 0 (same shape) first */
      dt_opts so = {.layout = t->ndim ? DT_SPLIT : DT_REPLICATED};
      err = dt_redistribute(t, &so, &tmp);
      if (!err)
        err = dt_view(tmp, 1, &n, &flat_src);
    }
  }
  if (!err)
    err = dt_view(res, 1, &n, &flat_dst);
  if (!err)
    err = dt_copy_(flat_dst, flat_src);
  dt_tensor_destroy(&flat_src);
  dt_tensor_destroy(&flat_dst);
  dt_tensor_destroy(&tmp);
  t->ctx->grad_enabled = grad_mode;
  if (err) {
    dt_tensor_destroy(&res);
    DT_RETURN(err);
  }
  err = dt__record_unary(DT__OP_VIEW, t, res, NULL);
  err = dt__agree(t->ctx->comm, err, 0);
  if (err) {
    dt_tensor_destroy(&res);
    DT_RETURN(err);
  }
  *out = res;
  return DT_OK;
}

/* ---- slices, transposes, detach ------------------------------------------ */

dt_err dt_slice(const dt_tensor *t, int axis, int64_t start, int64_t stop,
                int64_t step, dt_tensor **out) {
  if (!t || !out)
    DT_RETURN(dt__error(DT_ERR_NULL, "t or out is NULL"));
  *out = NULL;
  int a;
  if (t->ndim == 0)
    DT_RETURN(dt__error(DT_ERR_AXIS, "a 0-d tensor cannot be sliced"));
  dt_err err = dt__norm_axis(axis, t->ndim, &a);
  if (err)
    DT_RETURN(err);
  if (step < 1)
    DT_RETURN(dt__error(DT_ERR_ARG, "slice step must be positive (got %lld)",
                        (long long)step));
  /* Python's rules: negative bounds count from the end, bounds past either
   * end are clamped, and a stop before the start gives an empty range */
  int64_t size = t->shape[a];
  if (start < 0)
    start = start < -size ? 0 : start + size;
  else if (start > size)
    start = size;
  if (stop < 0)
    stop = stop < -size ? 0 : stop + size;
  else if (stop > size)
    stop = size;
  if (stop < start)
    stop = start;
  int64_t n = stop > start ? (stop - start - 1) / step + 1 : 0;
  int64_t nstride;
  if (!dt__mul_ok(t->lstride[a], step, &nstride))
    DT_RETURN(dt__error(DT_ERR_OVERFLOW,
                        "slice step %lld overflows the "
                        "stride",
                        (long long)step));
  dt_layout *L = NULL;
  err = dt__layout_slice(t->layout, a, start, step, n, &L);
  dt_tensor *v = NULL;
  if (!err)
    err = dt__tensor_share(t, L, &v);
  dt__layout_unref(&L);
  if (err)
    DT_RETURN(err);
  for (int d = 0; d < t->ndim; d++)
    v->lstride[d] = t->lstride[d];
  v->loffset = t->loffset;
  if (v->lshape[a] > 0) {
    /* first kept global index in this rank's box */
    int64_t g = start + v->lstart[a] * step;
    v->loffset += (g - t->lstart[a]) * t->lstride[a];
  }
  v->lstride[a] = nstride;
  v->requires_grad = false;
  err = dt__record_unary(DT__OP_SLICE, t, v, (int64_t[3]){a, start, step});
  if (err) {
    dt__tensor_free(v);
    DT_RETURN(err);
  }
  *out = v;
  return DT_OK;
}

dt_err dt_transpose(const dt_tensor *t, int axis0, int axis1, dt_tensor **out) {
  if (!t || !out)
    DT_RETURN(dt__error(DT_ERR_NULL, "t or out is NULL"));
  *out = NULL;
  int a, b;
  dt_err err = dt__norm_axis(axis0, t->ndim, &a);
  if (!err)
    err = dt__norm_axis(axis1, t->ndim, &b);
  if (err)
    DT_RETURN(err);
  dt_layout *L = NULL;
  err = dt__layout_transpose(t->layout, a, b, &L);
  dt_tensor *v = NULL;
  if (!err)
    err = dt__tensor_share(t, L, &v);
  dt__layout_unref(&L);
  if (err)
    DT_RETURN(err);
  for (int d = 0; d < t->ndim; d++)
    v->lstride[d] = t->lstride[d];
  v->lstride[a] = t->lstride[b];
  v->lstride[b] = t->lstride[a];
  v->requires_grad = false;
  err = dt__record_unary(DT__OP_TRANSPOSE, t, v, (int64_t[3]){a, b, 0});
  if (err) {
    dt__tensor_free(v);
    DT_RETURN(err);
  }
  *out = v;
  return DT_OK;
}

dt_err dt_detach(const dt_tensor *t, dt_tensor **out) {
  if (!t || !out)
    DT_RETURN(dt__error(DT_ERR_NULL, "t or out is NULL"));
  *out = NULL;
  dt_tensor *v = NULL;
  dt_err err = dt__tensor_share(t, t->layout, &v);
  if (err)
    DT_RETURN(err);
  for (int d = 0; d < t->ndim; d++)
    v->lstride[d] = t->lstride[d];
  v->requires_grad = false;
  *out = v;
  return DT_OK;
}

bool dt_shares_memory(const dt_tensor *a, const dt_tensor *b) {
  if (!a || !b || !a->storage || !b->storage)
    return false;
  if (a->storage == b->storage)
    return true;
  const char *pa = a->storage->data, *pb = b->storage->data;
  if (!pa || !pb || !a->storage->nbytes || !b->storage->nbytes)
    return false;
  return pa < pb + b->storage->nbytes && pb < pa + a->storage->nbytes;
}
