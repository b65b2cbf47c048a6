/*
 * join.c - dt_cat and dt_stack: joining tensors along an axis.
 *
 * The result is allocated in the first input's kind of layout (split on the
 * same axis, replicated stays replicated, anything else split on axis 0) and
 * each input is written into its slice of the result with one dt_copy_
 * (which redistributes from any layout and converts the dtype), so inputs
 * may come in any layouts. The values are copies: nothing depends on ranks
 * or threads.
 *
 * Autograd: a graph node has at most two inputs, so cat(t0, ..., tm) is
 * recorded as a chain of two-input nodes, node k joining "t0..t(k-1)" (the
 * node before it) with tk at offset off_k. Backward slices the gradient at
 * off_k: the part of tk is redistributed into tk's layout and dtype, the
 * rest (a view) goes down the chain.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* torch.result_type over the inputs: floats beat ints beat bool; within a
 * category the wider type. */
static dt_dtype promote(int n, const dt_tensor *const *ts) {
  int best = -1;
  dt_dtype dt = DT_BOOL;
  for (int i = 0; i < n; i++) {
    dt_dtype d = ts[i]->dtype;
    int rank = d == DT_BOOL      ? 0
               : d == DT_INT32   ? 1
               : d == DT_INT64   ? 2
               : d == DT_FLOAT32 ? 3
                                 : 4;
    if (rank > best) {
      best = rank;
      dt = d;
    }
  }
  return dt;
}

static dt_err same_ranks(const dt_ctx *a, const dt_ctx *b) {
  DT_CHECK(dt__same_ranks(a, b), DT_ERR_CONTEXT,
           "the tensors live on contexts over different ranks");
  return DT_OK;
}

/* torch's legacy rule: a 1-D tensor of shape [0] is skipped by cat. */
static bool skipped(const dt_tensor *t) {
  return t->ndim == 1 && t->shape[0] == 0;
}

static dt_err check_cat(int n, const dt_tensor *const *ts, int dim, int *axis) {
  DT_CHECK(n > 0, DT_ERR_ARG,
           "torch.cat(): expected a non-empty list of Tensors");
  DT_CHECK(ts, DT_ERR_NULL, "tensors is NULL");
  for (int i = 0; i < n; i++) {
    DT_CHECK(ts[i], DT_ERR_NULL, "tensor %d is NULL", i);
    DT_CALL(same_ranks(ts[0]->ctx, ts[i]->ctx));
    DT_CHECK(ts[i]->ndim > 0, DT_ERR_SHAPE,
             "zero-dimensional tensor (at position %d) cannot be concatenated",
             i);
  }
  int ref = -1;
  for (int i = 0; i < n && ref < 0; i++)
    if (!skipped(ts[i]))
      ref = i;
  if (ref < 0) { /* everything skipped: the result is empty */
    *axis = 0;
    return DT_OK;
  }
  const dt_tensor *r = ts[ref];
  DT_CHECK(dim >= -r->ndim && dim < r->ndim, DT_ERR_AXIS,
           "Dimension out of range (expected to be in range of [%d, %d], but "
           "got %d)",
           -r->ndim, r->ndim - 1, dim);
  int a = dim < 0 ? dim + r->ndim : dim;
  for (int i = 0; i < n; i++) {
    const dt_tensor *t = ts[i];
    if (skipped(t))
      continue;
    DT_CHECK(t->ndim == r->ndim, DT_ERR_SHAPE,
             "Tensors must have same number of dimensions: got %d and %d",
             r->ndim, t->ndim);
    for (int d = 0; d < r->ndim; d++)
      DT_CHECK(d == a || t->shape[d] == r->shape[d], DT_ERR_SHAPE,
               "Sizes of tensors must match except in dimension %d. Expected "
               "size %lld but got size %lld for tensor number %d in the list.",
               a, (long long)r->shape[d], (long long)t->shape[d], i);
  }
  *axis = a;
  return DT_OK;
}

static uint64_t args_hash(int n, const dt_tensor *const *ts, int dim) {
  uint64_t h = dt__hash_mix((uint64_t)n, (uint64_t)(int64_t)dim);
  for (int i = 0; i < n; i++) {
    h = dt__hash_mix(h, dt__layout_hash(ts[i]->layout));
    h = dt__hash_mix(h, (uint64_t)ts[i]->dtype);
  }
  return h;
}

/* The chain of nodes (see the top); *last is attached to the result. */
static dt_err record(dt__op last_op, int m, const dt_tensor *const *ts,
                     int axis, dt_tensor *o, dt__node **last) {
  *last = NULL;
  dt_ctx *ctx = o->ctx;
  if (!ctx->grad_enabled)
    return DT_OK;
  bool any = false;
  for (int i = 0; i < m; i++)
    any = any || ts[i]->requires_grad;
  if (!any)
    return DT_OK;
  if (m == 1) {
    DT_CALL(dt__node_new(last_op, 1, ts, last));
    if (*last) {
      (*last)->iarg[0] = axis;
      (*last)->iarg[1] = ts[0]->shape[axis];
    }
    return DT_OK;
  }
  dt__node *prev = NULL;
  int64_t off = ts[0]->shape[axis];
  for (int k = 1; k < m; k++) {
    /* stands for the join of ts[0..k-1]: only the fields a node reads */
    dt_tensor part;
    memset(&part, 0, sizeof part);
    part.ctx = ctx;
    part.layout = o->layout;
    part.dtype = o->dtype;
    part.grad_fn = prev;
    part.requires_grad = prev != NULL;
    const dt_tensor *ins[2] = {k == 1 ? ts[0] : &part, ts[k]};
    dt__node *nk = NULL;
    dt_err err = dt__node_new(k == m - 1 ? last_op : DT__OP_CAT, 2, ins, &nk);
    if (err) {
      dt__node_unref(prev);
      return err;
    }
    if (nk) {
      nk->iarg[0] = axis;
      nk->iarg[1] = off;
      nk->iarg[2] = k > 1;  /* input 0 is the chain */
      dt__node_unref(prev); /* nk holds its own reference */
      prev = nk;
    }
    off += ts[k]->shape[axis];
  }
  *last = prev;
  return DT_OK;
}

/* cat of the inputs that are not skipped, into layout L (NULL: the first
 * input's kind of layout). */
static dt_err cat_impl(dt__op op, int n, const dt_tensor *const *ts, int dim,
                       dt_layout *L, dt_tensor **out) {
  if (out)
    *out = NULL;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  int axis = 0;
  if (!err)
    err = check_cat(n, ts, dim, &axis);
  if (err && (n <= 0 || !ts || !ts[0]))
    return err; /* no context to agree on: the same on every rank */
  dt_ctx *ctx = ts[0]->ctx;
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : args_hash(n, ts, dim)));
  dt_dtype odt = promote(n, ts);
  const dt_tensor **keep = dt__malloc(sizeof *keep * (size_t)n);
  int m = 0;
  for (int i = 0; keep && i < n; i++)
    if (!skipped(ts[i]))
      keep[m++] = ts[i];
  int ndim = m ? keep[0]->ndim : 1;
  int64_t shape[DT_MAX_DIMS] = {0};
  for (int d = 0; m && d < ndim; d++)
    shape[d] = keep[0]->shape[d];
  shape[axis] = 0;
  for (int i = 0; i < m; i++)
    shape[axis] += keep[i]->shape[axis];
  dt_layout *OL = NULL;
  dt_tensor *o = NULL;
  dt__node *node = NULL;
  err = keep ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate");
  if (!err && L)
    OL = dt__layout_ref(L);
  else if (!err)
    err = dt__layout_like(ts[0]->layout, ctx->size, ndim, shape, &OL);
  if (!err)
    err = dt__tensor_alloc(ctx, odt, OL, &o);
  err = dt__agree(ctx->comm, err, 0);
  /* the copies record nothing: the chain below is the graph */
  bool prev = ctx->grad_enabled;
  ctx->grad_enabled = false;
  int64_t off = 0;
  for (int i = 0; !err && i < m; i++) {
    int64_t len = keep[i]->shape[axis];
    dt_tensor *v = NULL;
    err = dt_slice(o, axis, off, off + len, 1, &v);
    err = dt__agree(ctx->comm, err, 0);
    if (!err)
      err = dt_copy_(v, keep[i]);
    dt__tensor_free(v);
    off += len;
  }
  ctx->grad_enabled = prev;
  if (!err)
    err = record(op, m, keep, axis, o, &node);
  err = dt__agree(ctx->comm, err, 0);
  if (!err)
    dt__node_attach(node, o);
  else
    dt__node_unref(node);
  free(keep);
  dt__layout_unref(&OL);
  if (err) {
    dt__tensor_free(o);
    return err;
  }
  *out = o;
  return DT_OK;
}

dt_err dt_cat(int n, const dt_tensor *const *tensors, int dim,
              dt_tensor **out) {
  DT_RETURN(cat_impl(DT__OP_CAT, n, tensors, dim, NULL, out));
}

static dt_err stack_impl(int n, const dt_tensor *const *ts, int dim,
                         dt_tensor **out) {
  if (out)
    *out = NULL;
  DT_CHECK(out, DT_ERR_NULL, "out is NULL");
  DT_CHECK(n > 0, DT_ERR_ARG, "stack expects a non-empty TensorList");
  DT_CHECK(ts, DT_ERR_NULL, "tensors is NULL");
  for (int i = 0; i < n; i++)
    DT_CHECK(ts[i], DT_ERR_NULL, "tensor %d is NULL", i);
  dt_ctx *ctx = ts[0]->ctx;
  const dt_tensor *r = ts[0];
  int nd = r->ndim;
  dt_err err = DT_OK;
  for (int i = 0; !err && i < n; i++)
    err = same_ranks(ctx, ts[i]->ctx);
  if (!err && nd + 1 > DT_MAX_DIMS)
    err = dt__error(DT_ERR_SHAPE, "the result would have more than %d axes",
                    DT_MAX_DIMS);
  if (!err && (dim < -(nd + 1) || dim > nd))
    err = dt__error(DT_ERR_AXIS,
                    "Dimension out of range (expected to be in range of [%d, "
                    "%d], but got %d)",
                    -(nd + 1), nd, dim);
  for (int i = 1; !err && i < n; i++) {
    bool same = ts[i]->ndim == nd;
    for (int d = 0; same && d < nd; d++)
      same = ts[i]->shape[d] == r->shape[d];
    if (!same) {
      char x[160], y[160];
      err = dt__error(DT_ERR_SHAPE,
                      "stack expects each tensor to be equal size, but got %s "
                      "at entry 0 and %s at entry %d",
                      dt__shape_str(x, sizeof x, nd, r->shape),
                      dt__shape_str(y, sizeof y, ts[i]->ndim, ts[i]->shape), i);
    }
  }
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : args_hash(n, ts, dim)));
  int a = dim < 0 ? dim + nd + 1 : dim;
  int64_t shape[DT_MAX_DIMS], oshape[DT_MAX_DIMS];
  for (int d = 0, k = 0; d <= nd; d++)
    shape[d] = d == a ? 1 : r->shape[k++];
  memcpy(oshape, shape, sizeof shape);
  oshape[a] = n;
  /* the result keeps the first input's split (shifted past the new axis) */
  int split;
  dt_layout_kind kind = dt__layout_kind(r->layout, &split, NULL);
  dt_layout *L = NULL;
  if (kind == DT_REPLICATED || nd == 0)
    err = dt__layout_replicated(ctx->size, nd + 1, oshape, &L);
  else
    err = dt__layout_split(ctx->size, nd + 1, oshape,
                           kind == DT_SPLIT ? split + (split >= a) : 0, &L);
  dt_tensor **u = dt__calloc((size_t)n, sizeof *u);
  if (!err && !u)
    err = dt__error(DT_ERR_NOMEM, "cannot allocate");
  err = dt__agree(ctx->comm, err, 0);
  for (int i = 0; !err && i < n; i++)
    err = dt_reshape(ts[i], nd + 1, shape, &u[i]);
  if (!err)
    err = cat_impl(DT__OP_STACK, n, (const dt_tensor *const *)u, a, L, out);
  for (int i = 0; u && i < n; i++)
    dt__tensor_free(u[i]);
  free(u);
  dt__layout_unref(&L);
  return err;
}

dt_err dt_stack(int n, const dt_tensor *const *tensors, int dim,
                dt_tensor **out) {
  DT_RETURN(stack_impl(n, tensors, dim, out));
}

/* ---- backward -------------------------------------------------------------
 */

dt_err dt__cat_backward(const dt__node *n, const dt_tensor *g, dt_tensor **gi) {
  int axis = (int)n->iarg[0];
  int64_t off = n->iarg[1];
  bool chain = n->iarg[2];
  dt_tensor *p0 = NULL, *p1 = NULL;
  dt_err err = DT_OK;
  gi[0] = gi[1] = NULL;
  if (n->in[0].fn || n->in[0].leaf) {
    err = dt_slice(g, axis, 0, off, 1, &p0);
    if (!err && chain) {
      gi[0] = p0;
      p0 = NULL;
    } else if (!err) {
      err =
          dt__redistribute_layout(p0, n->in_layout[0], n->in_dtype[0], &gi[0]);
    }
  }
  if (!err && n->nin == 2 && (n->in[1].fn || n->in[1].leaf)) {
    err = dt_slice(g, axis, off, g->shape[axis], 1, &p1);
    if (!err)
      err =
          dt__redistribute_layout(p1, n->in_layout[1], n->in_dtype[1], &gi[1]);
  }
  dt__tensor_free(p0);
  dt__tensor_free(p1);
  return err;
}
