/*
 * autograd.c - the graph of backward nodes, the backward pass, one switch
 * of backward rules, grad mode, and gradcheck.
 *
 * A node lives with the tensor it produced (the tensor holds a reference)
 * and points at its inputs' nodes, or at leaf tensors whose .grad it feeds.
 * Tensors saved for backward are detached views (sharing storage, and so
 * the version counter, but not the node), so a node never holds its own
 * output and no cycle forms. Every step of backward is a collective
 * operation; all ranks walk the same graph in the same order.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- grad mode and the leaf API --------------------------------------------
 */

dt_err dt_set_grad_enabled(dt_ctx *ctx, bool enabled, bool *previous) {
  if (!ctx)
    DT_RETURN(dt__error(DT_ERR_NULL, "ctx is NULL"));
  if (previous)
    *previous = ctx->grad_enabled;
  ctx->grad_enabled = enabled;
  return DT_OK;
}

bool dt_is_grad_enabled(const dt_ctx *ctx) { return ctx && ctx->grad_enabled; }

bool dt_has_grad_fn(const dt_tensor *t) { return t && t->grad_fn; }

dt_err dt_requires_grad_(dt_tensor *t, bool requires_grad) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  if (requires_grad && !dt_dtype_is_float(t->dtype))
    DT_RETURN(dt__error(DT_ERR_DTYPE,
                        "only tensors of floating point dtype can require "
                        "gradients (dtype is %s)",
                        dt_dtype_name(t->dtype)));
  /* A tensor over a user buffer may require grad too, as
   * torch.from_numpy(a).requires_grad_() does: its .grad is new memory. */
  if (!requires_grad && t->grad_fn)
    DT_RETURN(dt__error(DT_ERR_AUTOGRAD,
                        "you can only change requires_grad flags of leaf "
                        "variables (use dt_detach)"));
  t->requires_grad = requires_grad;
  return DT_OK;
}

dt_tensor *dt_grad(const dt_tensor *t) { return t ? t->grad : NULL; }

static dt_err same_ranks(const dt_ctx *a, const dt_ctx *b) {
  DT_CHECK(dt__same_ranks(a, b), DT_ERR_CONTEXT,
           "the gradient lives on a context over other ranks");
  return DT_OK;
}

dt_err dt_set_grad(dt_tensor *t, const dt_tensor *g) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_err err = g ? same_ranks(t->ctx, g->ctx) : DT_OK;
  if (!err && g && g->dtype != t->dtype)
    err = dt__error(DT_ERR_DTYPE, "grad dtype %s does not match %s",
                    dt_dtype_name(g->dtype), dt_dtype_name(t->dtype));
  if (!err && g) {
    bool same = g->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
      same = g->shape[d] == t->shape[d];
    if (!same)
      err = dt__error(DT_ERR_SHAPE, "grad shape does not match the tensor's");
  }
  err = dt__agree(t->ctx->comm, err, g ? 1 : 2);
  if (err)
    DT_RETURN(err);
  dt_tensor *copy = NULL;
  if (g) {
    bool prev = t->ctx->grad_enabled;
    t->ctx->grad_enabled = false;
    err = dt__redistribute_to(t->ctx, g, t->layout, t->dtype, &copy);
    t->ctx->grad_enabled = prev;
    if (err)
      DT_RETURN(err);
  }
  dt__tensor_free(t->grad);
  t->grad = copy;
  return DT_OK;
}

dt_err dt_zero_grad(dt_tensor *t) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_tensor *g = t->grad;
  if (g && g->lnumel > 0) {
    char zero[8] = {0};
    int64_t zs[DT_MAX_DIMS] = {0};
    dt__copy_strided(g->ndim, g->lshape, dt__local_ptr(g), g->dtype, g->lstride,
                     zero, g->dtype, zs);
    dt__bump_version(g);
  }
  return DT_OK;
}

/* ---- nodes --------------------------------------------------------------- */

dt_err dt__node_new(dt__op op, int nin, const dt_tensor *const *inputs,
                    dt__node **out) {
  *out = NULL;
  dt_ctx *ctx = inputs[0]->ctx;
  if (!ctx->grad_enabled)
    return DT_OK;
  bool any = false;
  for (int i = 0; i < nin; i++)
    any = any || inputs[i]->requires_grad;
  if (!any)
    return DT_OK;
  dt__node *n = dt__calloc(1, sizeof *n);
  DT_CHECK(n, DT_ERR_NOMEM, "cannot allocate a graph node");
  atomic_init(&n->refs, 1);
  n->op = op;
  n->ctx = ctx;
  n->nin = nin;
  for (int i = 0; i < nin; i++) {
    dt_tensor *in = (dt_tensor *)inputs[i];
    n->in_layout[i] = dt__layout_ref(in->layout);
    n->in_dtype[i] = in->dtype;
    if (in->grad_fn) {
      n->in[i].fn = in->grad_fn;
      atomic_fetch_add(&in->grad_fn->refs, 1);
    } else if (in->requires_grad) {
      n->in[i].leaf = dt__tensor_ref(in);
    }
  }
  *out = n;
  return DT_OK;
}

dt_err dt__node_save(dt__node *n, int k, const dt_tensor *t) {
  dt_tensor *v = NULL;
  DT_CALL(dt__tensor_share(t, t->layout, &v));
  for (int d = 0; d < t->ndim; d++)
    v->lstride[d] = t->lstride[d];
  v->requires_grad = false;
  n->saved[k] = v;
  n->saved_ver[k] = t->storage ? atomic_load(&t->storage->version) : 0;
  return DT_OK;
}

void dt__node_attach(dt__node *n, dt_tensor *out) {
  if (!n)
    return;
  out->grad_fn = n;
  out->requires_grad = true;
}

static void release_saved(dt__node *n) {
  for (int k = 0; k < 4; k++) {
    dt__tensor_free(n->saved[k]);
    n->saved[k] = NULL;
  }
  n->released = true;
}

/* Iterative, so a long chain of operations cannot exhaust the C stack: the
 * nodes to free are threaded through their `link` field. */
void dt__node_unref(dt__node *n) {
  dt__node *todo = NULL;
  if (n && atomic_fetch_sub(&n->refs, 1) == 1) {
    n->link = todo;
    todo = n;
  }
  while (todo) {
    dt__node *x = todo;
    todo = x->link;
    for (int i = 0; i < x->nin; i++) {
      dt__node *f = x->in[i].fn;
      if (f && atomic_fetch_sub(&f->refs, 1) == 1) {
        f->link = todo;
        todo = f;
      }
      dt__tensor_free(x->in[i].leaf);
      dt__layout_unref(&x->in_layout[i]);
    }
    release_saved(x);
    dt__tensor_free(x->pending);
    free(x);
  }
}

dt_err dt__record_unary(dt__op op, const dt_tensor *in, dt_tensor *out,
                        const int64_t *iarg) {
  dt__node *n = NULL;
  DT_CALL(dt__node_new(op, 1, &in, &n));
  if (!n)
    return DT_OK;
  for (int k = 0; iarg && k < 3; k++)
    n->iarg[k] = iarg[k];
  dt__node_attach(n, out);
  return DT_OK;
}

dt_err dt__redistribute_to(dt_ctx *ctx, const dt_tensor *t, dt_layout *L,
                           dt_dtype dt, dt_tensor **out) {
  *out = NULL;
  dt_tensor *r = NULL;
  dt_err err = dt__tensor_alloc(ctx, dt, L, &r);
  err = dt__agree(ctx->comm, err, 0);
  bool prev = ctx->grad_enabled;
  ctx->grad_enabled = false; /* the step is recorded as REDIST below */
  if (!err)
    err = dt_copy_(r, t);
  ctx->grad_enabled = prev;
  /* whether a node is made is replicated; only its allocation can fail */
  /* as torch's .to(): an integer or bool result is not differentiable */
  if (!err && ctx->grad_enabled && t->requires_grad && dt_dtype_is_float(dt)) {
    err = dt__record_unary(DT__OP_REDIST, t, r, NULL);
    err = dt__agree(ctx->comm, err, 0);
  }
  if (err) {
    dt__tensor_free(r);
    return err;
  }
  *out = r;
  return DT_OK;
}

dt_err dt__redistribute_layout(const dt_tensor *t, dt_layout *L, dt_dtype dt,
                               dt_tensor **out) {
  return dt__redistribute_to(t->ctx, t, L, dt, out);
}

/* ---- backward rules ------------------------------------------------------ */

/* A tensor over layout L filled with one value (collective). */
static dt_err full_layout(dt_ctx *ctx, dt_layout *L, dt_dtype dt, double v,
                          dt_tensor **out) {
  dt_tensor *t = NULL;
  dt_err err = dt__tensor_alloc(ctx, dt, L, &t);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(t);
    return err;
  }
  if (t->lnumel > 0) {
    char elem[8];
    int64_t zs[DT_MAX_DIMS] = {0};
    dt__convert(elem, dt, &v, DT_FLOAT64, 1);
    dt__copy_strided(t->ndim, t->lshape, dt__local_ptr(t), dt, t->lstride, elem,
                     dt, zs);
  }
  *out = t;
  return DT_OK;
}

static double scalar_value(const dt_tensor *g) {
  return dt__load_f64(dt__local_ptr(g), g->dtype, 0);
}

/* An input's gradient in the input's own shape, layout and dtype: summed
 * exactly over the axes broadcasting added or stretched, converted back,
 * redistributed (nothing when it already is). */
static dt_err to_input(const dt__node *n, int i, dt_tensor **t) {
  /* cat/stack hand back each input's slice already in its layout and dtype;
   * input 0 of a chained cat node is the partial join, not a real input. */
  if (!*t || n->op == DT__OP_CAT || n->op == DT__OP_STACK)
    return DT_OK;
  dt_tensor *s = NULL;
  dt_err err = dt__sum_to(*t, n->in_layout[i], n->in_dtype[i], &s);
  dt__tensor_free(*t);
  *t = s;
  return err;
}

#define NEED(i) (n->in[i].fn || n->in[i].leaf)

/* Gradients of n's inputs from the gradient g of its output. */
static dt_err rule(dt__node *n, const dt_tensor *g, dt_tensor **gi) {
  dt_tensor *const *s = n->saved;
  dt_tensor *t = NULL;
  dt_err err = DT_OK;
  gi[0] = gi[1] = NULL;
  switch (n->op) {
  case DT__OP_ADD:
  case DT__OP_SUB:
    if (NEED(0))
      gi[0] = dt__tensor_ref((dt_tensor *)g);
    if (NEED(1))
      err = n->op == DT__OP_ADD
                ? (gi[1] = dt__tensor_ref((dt_tensor *)g), DT_OK)
                : dt_neg(g, &gi[1]);
    break;
  case DT__OP_MUL:
    if (NEED(0))
      err = dt_mul(g, s[1], &gi[0]);
    if (!err && NEED(1))
      err = dt_mul(g, s[0], &gi[1]);
    break;
  case DT__OP_DIV:
    if (NEED(0))
      err = dt_div(g, s[1], &gi[0]);
    if (!err && NEED(1)) { /* -g a / b^2 */
      dt_tensor *ga = NULL, *bb = NULL, *q = NULL;
      err = dt_mul(g, s[0], &ga);
      if (!err)
        err = dt_mul(s[1], s[1], &bb);
      if (!err)
        err = dt_div(ga, bb, &q);
      if (!err)
        err = dt_neg(q, &gi[1]);
      dt__tensor_free(ga);
      dt__tensor_free(bb);
      dt__tensor_free(q);
    }
    break;
  case DT__OP_NEG:
    err = dt_neg(g, &gi[0]);
    break;
  case DT__OP_POW: /* g * (p * a^(p-1)); a^0 is constant: zero gradient */
    if (n->scalar == 0.0) {
      err = full_layout(n->ctx, n->in_layout[0], n->in_dtype[0], 0.0, &gi[0]);
      break;
    }
    err = dt_pow_scalar(s[0], n->scalar - 1.0, &t);
    if (!err) {
      dt_tensor *u = NULL;
      err = dt_mul_scalar(t, n->scalar, &u);
      if (!err)
        err = dt_mul(g, u, &gi[0]);
      dt__tensor_free(u);
    }
    break;
  case DT__OP_ADDS:
  case DT__OP_CLONE:
    gi[0] = dt__tensor_ref((dt_tensor *)g);
    break;
  case DT__OP_MULS:
    err = dt_mul_scalar(g, n->scalar, &gi[0]);
    break;
  case DT__OP_EXP:
    err = dt_mul(g, s[0], &gi[0]);
    break;
  case DT__OP_LOG:
    err = dt_div(g, s[0], &gi[0]);
    break;
  case DT__OP_SUM:
  case DT__OP_MEAN: {
    double v = scalar_value(g);
    if (n->op == DT__OP_MEAN) {
      int64_t cnt = 1;
      for (int d = 0; d < n->in_layout[0]->ndim; d++)
        cnt *= n->in_layout[0]->shape[d];
      v = n->in_dtype[0] == DT_FLOAT32 ? (double)((float)v / (float)cnt)
                                       : v / (double)cnt;
    }
    err = full_layout(n->ctx, n->in_layout[0], n->in_dtype[0], v, &gi[0]);
    break;
  }
  case DT__OP_MATMUL:
    err = dt__matmul_backward(s[0], s[1], g, NEED(0) ? &gi[0] : NULL,
                              NEED(1) ? &gi[1] : NULL);
    break;
  case DT__OP_REDIST:
    err = dt__redistribute_layout(g, n->in_layout[0], n->in_dtype[0], &gi[0]);
    break;
  case DT__OP_VIEW: {
    const dt_layout *L = n->in_layout[0];
    err = dt_reshape(g, L->ndim, L->shape, &t);
    if (!err && !dt__layout_equal(t->layout, L)) {
      err = dt__redistribute_layout(t, n->in_layout[0], n->in_dtype[0], &gi[0]);
    } else if (!err) {
      gi[0] = t;
      t = NULL;
    }
    break;
  }
  case DT__OP_SLICE: {
    int axis = (int)n->iarg[0];
    int64_t start = n->iarg[1], step = n->iarg[2], len = g->shape[axis];
    dt_tensor *z = NULL, *zs = NULL;
    err = full_layout(n->ctx, n->in_layout[0], n->in_dtype[0], 0.0, &z);
    if (!err)
      err = dt_slice(z, axis, start, len ? start + (len - 1) * step + 1 : start,
                     step, &zs);
    if (!err)
      err = dt_copy_(zs, g);
    dt__tensor_free(zs);
    if (err)
      dt__tensor_free(z);
    else
      gi[0] = z;
    break;
  }
  case DT__OP_TRANSPOSE:
    err = dt_transpose(g, (int)n->iarg[0], (int)n->iarg[1], &gi[0]);
    break;
  case DT__OP_SUM_DIM:
  case DT__OP_MEAN_DIM:
  case DT__OP_AMAX:
  case DT__OP_AMIN:
    err = dt__reduce_backward(n, g, &gi[0]);
    break;
  case DT__OP_CAT:
  case DT__OP_STACK:
    err = dt__cat_backward(n, g, gi);
    break;
  case DT__OP_COPY: /* dst's old history is overwritten: zero */
    if (NEED(0))
      err = full_layout(n->ctx, n->in_layout[0], n->in_dtype[0], 0.0, &gi[0]);
    if (!err && NEED(1))
      gi[1] = dt__tensor_ref((dt_tensor *)g);
    break;
  case DT__OP_WHERE: /* where(c, g, 0) and where(c, 0, g) */
    err = full_layout(n->ctx, g->layout, g->dtype, 0.0, &t);
    if (!err && NEED(0))
      err = dt_where(s[0], g, t, &gi[0]);
    if (!err && NEED(1))
      err = dt_where(s[0], t, g, &gi[1]);
    break;
  }
  dt__tensor_free(t);
  for (int i = 0; !err && i < n->nin; i++)
    err = to_input(n, i, &gi[i]);
  if (err) {
    dt__tensor_free(gi[0]);
    dt__tensor_free(gi[1]);
    gi[0] = gi[1] = NULL;
  }
  return err;
}

/* ---- the backward pass -----------------------------------------------------
 */

/* Add g into a leaf's .grad (created, in the leaf's layout, on first use). */
static dt_err accumulate_leaf(dt_tensor *leaf, dt_tensor *g) {
  if (!leaf->grad) {
    /* A fresh gradient nobody else holds, already in the leaf's layout and
     * dtype, is kept as it is rather than copied. Replicated metadata only,
     * so every rank decides the same way. */
    bool mine = atomic_load(&g->refs) == 1 && g->storage &&
                atomic_load(&g->storage->refs) == 1 && !g->grad_fn &&
                g->dtype == leaf->dtype &&
                dt__layout_equal(g->layout, leaf->layout);
    /* the maximum of "cannot" is 0 only when every rank can */
    int64_t none = !(mine && dt_is_contiguous(g));
    dt_err err = dt__agree_max(leaf->ctx->comm, DT_OK, 0, &none);
    if (err)
      return err;
    if (!none) {
      leaf->grad = dt__tensor_ref(g);
      return DT_OK;
    }
    return dt__redistribute_to(leaf->ctx, g, leaf->layout, leaf->dtype,
                               &leaf->grad);
  }
  return dt_add_(leaf->grad, g);
}

/* Nodes reachable from root, in discovery order, with in-graph use counts. */
static dt_err collect(dt__node *root, dt__node ***list, int *count) {
  int cap = 64, n = 0, head = 0;
  dt__node **v = dt__malloc(sizeof *v * (size_t)cap);
  DT_CHECK(v, DT_ERR_NOMEM, "cannot allocate the graph walk");
  v[n++] = root;
  root->deps = -1; /* marks "seen"; reset below */
  while (head < n) {
    dt__node *x = v[head++];
    for (int i = 0; i < x->nin; i++) {
      dt__node *f = x->in[i].fn;
      if (!f || f->deps == -1)
        continue;
      if (n == cap) {
        cap *= 2;
        dt__node **w = dt__realloc(v, sizeof *v * (size_t)cap);
        if (!w) {
          for (int k = 0; k < n; k++)
            v[k]->deps = 0;
          free(v);
          return dt__error(DT_ERR_NOMEM, "cannot allocate the graph walk");
        }
        v = w;
      }
      f->deps = -1;
      v[n++] = f;
    }
  }
  for (int k = 0; k < n; k++)
    v[k]->deps = 0;
  for (int k = 0; k < n; k++)
    for (int i = 0; i < v[k]->nin; i++)
      if (v[k]->in[i].fn)
        v[k]->in[i].fn->deps++;
  *list = v;
  *count = n;
  return DT_OK;
}

/* Replicated checks before any gradient moves: a freed graph, a saved
 * tensor changed in place since it was saved. */
static dt_err check_graph(dt__node **v, int count) {
  for (int k = 0; k < count; k++) {
    dt__node *x = v[k];
    if (x->released)
      return dt__error(DT_ERR_AUTOGRAD,
                       "trying to backward through the graph a second time "
                       "(or to use saved tensors after they were freed); "
                       "pass retain_graph=true to the first backward");
    for (int s = 0; s < 4; s++) {
      dt_tensor *t = x->saved[s];
      char shp[160];
      if (t && t->storage &&
          atomic_load(&t->storage->version) != x->saved_ver[s])
        return dt__error(
            DT_ERR_AUTOGRAD,
            "one of the variables needed for gradient computation has been "
            "modified by an inplace operation: [torch.%sTensor %s] is at "
            "version %llu; expected version %llu instead",
            t->dtype == DT_FLOAT32   ? "Float"
            : t->dtype == DT_FLOAT64 ? "Double"
            : t->dtype == DT_INT32   ? "Int"
            : t->dtype == DT_INT64   ? "Long"
                                     : "Bool",
            dt__shape_str(shp, sizeof shp, t->ndim, t->shape),
            (unsigned long long)atomic_load(&t->storage->version),
            x->saved_ver[s]);
    }
  }
  return DT_OK;
}

static dt_err run(dt__node *root, dt_tensor *g0, bool retain) {
  dt__node **v = NULL;
  int count = 0;
  dt_err err = collect(root, &v, &count);
  if (!err)
    err = check_graph(v, count);
  err = dt__agree(root->ctx->comm, err, (uint64_t)count);
  if (err) {
    free(v);
    return err;
  }
  /* ready nodes: a stack, pushed in input order (the same on every rank) */
  dt__node **ready = dt__malloc(sizeof *ready * (size_t)count);
  err = ready ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate");
  err = dt__agree(root->ctx->comm, err, 0);
  int top = 0;
  if (!err) {
    root->pending = dt__tensor_ref(g0);
    ready[top++] = root;
  }
  while (!err && top > 0) {
    dt__node *x = ready[--top];
    dt_tensor *g = x->pending, *gi[2] = {NULL, NULL};
    x->pending = NULL;
    err = rule(x, g, gi);
    for (int i = 0; !err && i < x->nin; i++) {
      if (!gi[i])
        continue;
      dt__node *f = x->in[i].fn;
      if (f) {
        if (!f->pending) {
          f->pending = dt__tensor_ref(gi[i]);
        } else {
          dt_tensor *sum = NULL;
          err = dt_add(f->pending, gi[i], &sum);
          dt__tensor_free(f->pending);
          f->pending = sum;
        }
        if (--f->deps == 0)
          ready[top++] = f;
      } else if (x->in[i].leaf) {
        err = accumulate_leaf(x->in[i].leaf, gi[i]);
      }
    }
    dt__tensor_free(gi[0]);
    dt__tensor_free(gi[1]);
    dt__tensor_free(g);
    if (!retain)
      release_saved(x);
  }
  /* after a failure, drop what is still pending */
  for (int k = 0; k < count; k++) {
    dt__tensor_free(v[k]->pending);
    v[k]->pending = NULL;
    v[k]->deps = 0;
  }
  free(ready);
  free(v);
  return err;
}

dt_err dt_backward(dt_tensor *t, const dt_tensor *grad, bool retain_graph) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_ctx *ctx = t->ctx;
  dt_err err = DT_OK;
  if (!t->requires_grad)
    err = dt__error(DT_ERR_AUTOGRAD, "element 0 of tensors does not require "
                                     "grad and does not have a grad_fn");
  else if (!grad && t->numel != 1)
    err = dt__error(DT_ERR_AUTOGRAD,
                    "grad can be implicitly created only for scalar outputs "
                    "(this tensor has %lld elements)",
                    (long long)t->numel);
  else if (grad && (err = same_ranks(t->ctx, grad->ctx)) != DT_OK)
    ;
  else if (grad) {
    bool same = grad->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
      same = grad->shape[d] == t->shape[d];
    if (!same)
      err = dt__error(DT_ERR_SHAPE, "grad has another shape than the tensor");
    else if (!dt_dtype_is_float(grad->dtype))
      err = dt__error(DT_ERR_DTYPE, "grad must be floating point");
  }
  err = dt__agree(ctx->comm, err, t->grad_fn ? 1 : 2);
  if (err)
    DT_RETURN(err);
  bool prev = ctx->grad_enabled;
  ctx->grad_enabled = false; /* backward itself records nothing */
  dt_tensor *g0 = NULL;
  if (grad && grad->dtype == t->dtype &&
      dt__layout_equal(grad->layout, t->layout))
    g0 = dt__tensor_ref((dt_tensor *)grad); /* rules never write their input */
  else if (grad)
    err = dt__redistribute_to(ctx, grad, t->layout, t->dtype, &g0);
  else
    err = full_layout(ctx, t->layout, t->dtype, 1.0, &g0);
  if (!err)
    err =
        t->grad_fn ? run(t->grad_fn, g0, retain_graph) : accumulate_leaf(t, g0);
  dt__tensor_free(g0);
  ctx->grad_enabled = prev;
  DT_RETURN(err);
}

/* ---- gradcheck ----------------------------------------------------------- */

/* Pointer to element `flat` of t on this rank, or NULL if not held here. */
static double *element(const dt_tensor *t, int64_t flat) {
  int64_t idx[DT_MAX_DIMS], off = 0;
  for (int d = t->ndim - 1; d >= 0; d--) {
    idx[d] = flat % t->shape[d];
    flat /= t->shape[d];
  }
  for (int d = 0; d < t->ndim; d++) {
    int64_t l = idx[d] - t->lstart[d];
    if (l < 0 || l >= t->lshape[d])
      return NULL;
    off += l * t->lstride[d];
  }
  return (double *)(void *)dt__local_ptr(t) + off;
}

/* sum(v * fn(x)) as a double, without recording. */
static dt_err weighted(dt_gradcheck_fn fn, void *arg, dt_tensor *const *in,
                       const dt_tensor *v, double *out) {
  dt_tensor *y = NULL, *p = NULL, *s = NULL;
  dt_err err = fn(arg, in, &y);
  if (!err)
    err = dt_mul(v, y, &p);
  if (!err)
    err = dt_sum(p, &s);
  if (!err)
    *out = scalar_value(s);
  dt__tensor_free(y);
  dt__tensor_free(p);
  dt__tensor_free(s);
  return err;
}

dt_err dt_gradcheck(dt_gradcheck_fn fn, void *arg, int n,
                    dt_tensor *const *inputs, double eps, double atol,
                    double rtol, double *max_err) {
  if (!fn || !inputs || n < 1 || !max_err || !inputs[0])
    DT_RETURN(dt__error(DT_ERR_NULL, "fn, inputs or max_err is NULL"));
  dt_ctx *ctx = inputs[0]->ctx;
  dt_err err = DT_OK;
  for (int i = 0; i < n && !err; i++)
    if (!inputs[i] || inputs[i]->dtype != DT_FLOAT64 ||
        !inputs[i]->requires_grad || inputs[i]->grad_fn)
      err = dt__error(DT_ERR_ARG,
                      "input %d must be a float64 leaf that "
                      "requires grad",
                      i);
  err = dt__agree(ctx->comm, err, (uint64_t)n);
  if (err)
    DT_RETURN(err);
  *max_err = 0;
  /* analytic: backward of sum(v * y) with random weights v */
  dt_tensor *y = NULL, *v = NULL, *p = NULL, *L = NULL;
  for (int i = 0; i < n && !err; i++)
    err = dt_set_grad(inputs[i], NULL);
  if (!err)
    err = fn(arg, inputs, &y);
  if (!err) {
    bool prev;
    dt_set_grad_enabled(ctx, false, &prev);
    err = dt_randn_like(y, &(dt_opts){.dtype = DT_FLOAT64}, &v);
    dt_set_grad_enabled(ctx, prev, NULL);
  }
  if (!err)
    err = dt_mul(v, y, &p);
  if (!err)
    err = dt_sum(p, &L);
  if (!err)
    err = dt_backward(L, NULL, false);
  dt__tensor_free(p);
  dt__tensor_free(L);
  dt__tensor_free(y);
  /* numeric: central differences, one element at a time */
  bool prev = ctx->grad_enabled;
  ctx->grad_enabled = false;
  for (int i = 0; i < n && !err; i++) {
    dt_tensor *x = inputs[i];
    double *ga = dt__malloc(sizeof(double) * (size_t)(x->numel ? x->numel : 1));
    err = ga ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate");
    err = dt__agree(ctx->comm, err, 0);
    if (!err) {
      if (x->grad)
        err = dt_gather(x->grad, DT_ALL_RANKS, ga);
      else /* no path to this input: its gradient is zero */
        memset(ga, 0, sizeof(double) * (size_t)x->numel);
    }
    for (int64_t j = 0; j < x->numel && !err; j++) {
      double *e = element(x, j), orig = e ? *e : 0, fp = 0, fm = 0;
      if (e)
        *e = orig + eps;
      err = weighted(fn, arg, inputs, v, &fp);
      if (e)
        *e = orig - eps;
      if (!err)
        err = weighted(fn, arg, inputs, v, &fm);
      if (e)
        *e = orig;
      double num = (fp - fm) / (2 * eps);
      double r = fabs(ga[j] - num) / (atol + rtol * fabs(num));
      if (isnan(r) || r > *max_err)
        *max_err = isnan(r) ? INFINITY : r; /* NaN fails the check */
    }
    free(ga);
  }
  ctx->grad_enabled = prev;
  dt__tensor_free(v);
  DT_RETURN(err);
}
