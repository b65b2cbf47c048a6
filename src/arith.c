/*
 * arith.c - differentiable elementwise operations and exact reductions.
 *
 * Each elementwise operation checks its operands (agreed on every rank),
 * finds the broadcast shape and torch's result dtype, picks the output's
 * layout (an operand's that has the output's shape, else one like the first
 * operand's), brings every operand next to it (broadcast.c: in the common
 * dtype, over the part of the operand each rank's box reads), runs the
 * kernel on the local shards and records a node when grad mode is on, the
 * result is floating and an input requires grad. The node points at the
 * operands themselves; their gradients are summed back over the broadcast
 * axes, converted and redistributed by the backward pass. Elements never
 * depend on the layout, rank count or thread count: each is computed alone,
 * and sums are exact.
 */
#include "internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

static dt_err check_float(const dt_tensor *t) {
  DT_CHECK(dt_dtype_is_float(t->dtype), DT_ERR_DTYPE,
           "this operation needs floating point tensors (got %s); convert "
           "with dt_to",
           dt_dtype_name(t->dtype));
  return DT_OK;
}

static dt_err same_ranks(const dt_tensor *a, const dt_tensor *b) {
  if (a->ctx != b->ctx) {
    int cmp = MPI_UNEQUAL;
    MPI_Comm_compare(a->ctx->comm, b->ctx->comm, &cmp);
    DT_CHECK(cmp == MPI_IDENT || cmp == MPI_CONGRUENT, DT_ERR_CONTEXT,
             "operands live on contexts over different ranks");
  }
  return DT_OK;
}

static uint64_t args_hash(int op, int n, const dt_tensor *const *in, double s) {
  uint64_t h = (uint64_t)op;
  for (int i = 0; i < n; i++) {
    h = dt__hash_mix(h, dt__layout_hash(in[i]->layout));
    h = dt__hash_mix(h, (uint64_t)in[i]->dtype);
  }
  return dt__hash_bytes(h, &s, sizeof s);
}

/* torch.result_type of tensor operands: dimensioned tensors, then 0-d. */
static dt_dtype result_type(int n, const dt_tensor *const *in) {
  dt_dtype d[3];
  int tier[3];
  for (int i = 0; i < n; i++) {
    d[i] = in[i]->dtype;
    tier[i] = in[i]->ndim > 0 ? 2 : 1;
  }
  return dt__result_type(n, d, tier);
}

/* bool, integer, floating */
static int category(dt_dtype t) {
  return t == DT_BOOL ? 0 : dt_dtype_is_float(t) ? 2 : 1;
}

static const char *bool_sub_msg =
    "Subtraction, the `-` operator, with a bool tensor is not supported. If "
    "you are trying to invert a mask, use the `~` or `logical_not()` "
    "operator instead.";

/*
 * The output's layout: that of the first operand with the output's shape,
 * else one like the first dimensioned operand's (split on the same axis,
 * replicated stays replicated).
 */
static dt_err out_layout(int n, const dt_tensor *const *in, int nd,
                         const int64_t *S, dt_layout **L) {
  const dt_tensor *like = NULL;
  for (int i = 0; i < n; i++) {
    bool same = in[i]->ndim == nd;
    for (int d = 0; same && d < nd; d++)
      same = in[i]->shape[d] == S[d];
    if (same) {
      *L = dt__layout_ref(in[i]->layout);
      return DT_OK;
    }
    if (!like && in[i]->ndim > 0)
      like = in[i];
  }
  return dt__layout_like(like ? like->layout : in[0]->layout, in[0]->ctx->size,
                         nd, S, L);
}

/* Kinds of elementwise operation sharing one implementation. */
typedef enum kind { K_ARITH, K_CMP, K_WHERE } kind;

/*
 * The one implementation of every broadcasting elementwise operation:
 * K_ARITH (add, sub, mul, div: in[0] op in[1]), K_CMP (in[0] cmp in[1] into
 * bool) and K_WHERE (in[0] ? in[1] : in[2]).
 */
static dt_err elementwise(kind k, int op, int n, const dt_tensor *const *in,
                          dt_tensor **out) {
  for (int i = 0; i < n; i++)
    if (!in[i])
      return dt__error(DT_ERR_NULL, "an operand is NULL");
  dt_ctx *ctx = in[0]->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  for (int i = 1; !err && i < n; i++)
    err = same_ranks(in[0], in[i]);
  /* the operands that take part in type promotion */
  const dt_tensor *const *vals = k == K_WHERE ? in + 1 : in;
  int nv = k == K_WHERE ? 2 : n;
  if (!err && k == K_WHERE && in[0]->dtype != DT_BOOL)
    err = dt__error(DT_ERR_DTYPE,
                    "where expected condition to be a boolean tensor, but "
                    "got a tensor with dtype %s",
                    dt_dtype_name(in[0]->dtype));
  if (!err && k == K_ARITH && op == DT__OP_SUB &&
      (in[0]->dtype == DT_BOOL || in[1]->dtype == DT_BOOL))
    err = dt__error(DT_ERR_DTYPE, "%s", bool_sub_msg);
  int nd = 0;
  int64_t S[DT_MAX_DIMS];
  if (!err) {
    int nds[3];
    const int64_t *shapes[3];
    for (int i = 0; i < n; i++) {
      nds[i] = in[i]->ndim;
      shapes[i] = in[i]->shape;
    }
    err = dt__broadcast_shapes(n, nds, shapes, &nd, S);
  }
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : args_hash(op, n, in, 0)));
  /* cdt: the dtype operands are computed in; odt: the result's */
  dt_dtype cdt = result_type(nv, vals);
  if (k == K_ARITH && op == DT__OP_DIV && !dt_dtype_is_float(cdt))
    cdt = ctx->default_dtype; /* true division */
  dt_dtype odt = k == K_CMP ? DT_BOOL : cdt;
  dt_layout *L = NULL;
  dt_tensor *p[3] = {NULL, NULL, NULL}, *o = NULL;
  dt__node *node = NULL;
  err = out_layout(n, in, nd, S, &L);
  err = dt__agree(ctx->comm, err, 0);
  for (int i = 0; !err && i < n; i++)
    err = dt__broadcast_operand(in[i], k == K_WHERE && i == 0 ? DT_BOOL : cdt,
                                L, &p[i]);
  if (!err) {
    err = dt__tensor_alloc(ctx, odt, L, &o);
    if (!err && dt_dtype_is_float(odt) && k != K_CMP)
      err = dt__node_new((dt__op)op, nv, vals, &node);
    if (!err && node) {
      /* mul and div need both operands, where its condition; slots 2, 3
       * watch the originals when the saved form is a copy */
      int nsave = k == K_WHERE                           ? 1
                  : op == DT__OP_MUL || op == DT__OP_DIV ? 2
                                                         : 0;
      for (int i = 0; !err && i < nsave; i++) {
        err = dt__node_save(node, i, p[i]);
        if (!err && p[i] != in[i])
          err = dt__node_save(node, 2 + i, in[i]);
      }
    }
    err = dt__agree(ctx->comm, err, 0);
  }
  if (!err) {
    int64_t st[3][DT_MAX_DIMS];
    for (int i = 0; i < n; i++)
      dt__broadcast_strides(p[i], nd, S, st[i]);
    char *po = dt__local_ptr(o);
    if (k == K_WHERE)
      dt__ew_where(nd, o->lshape, cdt, po, o->lstride, dt__local_ptr(p[0]),
                   st[0], dt__local_ptr(p[1]), st[1], dt__local_ptr(p[2]),
                   st[2]);
    else if (k == K_CMP)
      dt__ew_cmp((dt__cmp)op, nd, o->lshape, cdt, po, o->lstride,
                 dt__local_ptr(p[0]), st[0], dt__local_ptr(p[1]), st[1]);
    else if (dt_dtype_is_float(cdt))
      dt__ew((dt__op)op, 0, nd, o->lshape, cdt, po, o->lstride,
             dt__local_ptr(p[0]), st[0], dt__local_ptr(p[1]), st[1]);
    else
      dt__ew_int((dt__op)op, nd, o->lshape, cdt, po, o->lstride,
                 dt__local_ptr(p[0]), st[0], dt__local_ptr(p[1]), st[1]);
    dt__node_attach(node, o);
    node = NULL;
  }
  dt__node_unref(node);
  for (int i = 0; i < n; i++)
    dt__tensor_free(p[i]);
  dt__layout_unref(&L);
  if (err) {
    dt__tensor_free(o);
    return err;
  }
  *out = o;
  return DT_OK;
}

static dt_err binary(dt__op op, const dt_tensor *a, const dt_tensor *b,
                     dt_tensor **out) {
  const dt_tensor *in[2] = {a, b};
  return elementwise(K_ARITH, op, 2, in, out);
}

static dt_err compare(dt__cmp op, const dt_tensor *a, const dt_tensor *b,
                      dt_tensor **out) {
  const dt_tensor *in[2] = {a, b};
  return elementwise(K_CMP, op, 2, in, out);
}

/*
 * Unary operations, and those with a Python-float scalar (a "wrapped
 * number": it never raises a floating tensor's dtype, and an integer or
 * bool tensor becomes the default float dtype). NEG keeps the dtype.
 */
static dt_err unary(dt__op op, const dt_tensor *a, double s, dt_tensor **out) {
  if (!a)
    return dt__error(DT_ERR_NULL, "the operand is NULL");
  dt_ctx *ctx = a->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  if (!err && op == DT__OP_NEG && a->dtype == DT_BOOL)
    err = dt__error(DT_ERR_DTYPE,
                    "Negation, the `-` operator, on a bool tensor is not "
                    "supported. If you are trying to invert a mask, use the "
                    "`~` or `logical_not()` operator instead.");
  const dt_tensor *in[1] = {a};
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : args_hash(op, 1, in, s)));
  dt_dtype dt = op == DT__OP_NEG || dt_dtype_is_float(a->dtype)
                    ? a->dtype
                    : ctx->default_dtype;
  dt_tensor *a2 = NULL, *o = NULL;
  dt__node *n = NULL;
  err = dt__broadcast_operand(a, dt, a->layout, &a2);
  if (err)
    return err;
  err = dt__tensor_alloc(ctx, dt, a->layout, &o);
  if (!err && dt_dtype_is_float(dt))
    err = dt__node_new(op, 1, in, &n);
  if (!err && n) {
    n->scalar = s;
    if (op == DT__OP_POW || op == DT__OP_LOG)
      err = dt__node_save(n, 0, a2);
    else if (op == DT__OP_EXP)
      err = dt__node_save(n, 0, o); /* exp' = exp: keep the output */
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    if (dt_dtype_is_float(dt))
      dt__ew(op, s, o->ndim, o->lshape, dt, dt__local_ptr(o), o->lstride,
             dt__local_ptr(a2), a2->lstride, NULL, NULL);
    else
      dt__ew_int(op, o->ndim, o->lshape, dt, dt__local_ptr(o), o->lstride,
                 dt__local_ptr(a2), a2->lstride, NULL, NULL);
    dt__node_attach(n, o);
    n = NULL;
  }
  dt__node_unref(n);
  dt__tensor_free(a2);
  if (err) {
    dt__tensor_free(o);
    return err;
  }
  *out = o;
  return DT_OK;
}

dt_err dt_add(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(binary(DT__OP_ADD, a, b, out));
}
dt_err dt_sub(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(binary(DT__OP_SUB, a, b, out));
}
dt_err dt_mul(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(binary(DT__OP_MUL, a, b, out));
}
dt_err dt_div(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(binary(DT__OP_DIV, a, b, out));
}
dt_err dt_eq(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(compare(DT__EQ, a, b, out));
}
dt_err dt_ne(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(compare(DT__NE, a, b, out));
}
dt_err dt_lt(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(compare(DT__LT, a, b, out));
}
dt_err dt_le(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(compare(DT__LE, a, b, out));
}
dt_err dt_gt(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(compare(DT__GT, a, b, out));
}
dt_err dt_ge(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  DT_RETURN(compare(DT__GE, a, b, out));
}
dt_err dt_where(const dt_tensor *cond, const dt_tensor *a, const dt_tensor *b,
                dt_tensor **out) {
  const dt_tensor *in[3] = {cond, a, b};
  DT_RETURN(elementwise(K_WHERE, DT__OP_WHERE, 3, in, out));
}
dt_err dt_neg(const dt_tensor *a, dt_tensor **out) {
  DT_RETURN(unary(DT__OP_NEG, a, 0, out));
}
dt_err dt_pow_scalar(const dt_tensor *a, double p, dt_tensor **out) {
  DT_RETURN(unary(DT__OP_POW, a, p, out));
}
dt_err dt_add_scalar(const dt_tensor *a, double s, dt_tensor **out) {
  DT_RETURN(unary(DT__OP_ADDS, a, s, out));
}
dt_err dt_mul_scalar(const dt_tensor *a, double s, dt_tensor **out) {
  DT_RETURN(unary(DT__OP_MULS, a, s, out));
}
dt_err dt_exp(const dt_tensor *a, dt_tensor **out) {
  DT_RETURN(unary(DT__OP_EXP, a, 0, out));
}
dt_err dt_log(const dt_tensor *a, dt_tensor **out) {
  DT_RETURN(unary(DT__OP_LOG, a, 0, out));
}

dt_err dt_to(const dt_tensor *t, dt_dtype dtype, dt_tensor **out) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  if (!err && dt_dtype_size(dtype) == 0)
    err = dt__error(DT_ERR_DTYPE, "unknown dtype %d", (int)dtype);
  err = dt__agree(t->ctx->comm, err, (uint64_t)dtype);
  if (err)
    DT_RETURN(err);
  if (dtype == t->dtype) { /* torch returns the tensor itself */
    *out = dt__tensor_ref((dt_tensor *)t);
    return DT_OK;
  }
  DT_RETURN(dt__redistribute_layout(t, t->layout, dtype, out));
}

/* Same element strides where it matters (extent > 1), and same shape. */
static bool same_strides(const dt_tensor *a, const dt_tensor *b) {
  if (b->ndim == 0)
    return a->lnumel <= 1;
  if (a->ndim != b->ndim)
    return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->lshape[d] != b->lshape[d] ||
        (a->lshape[d] > 1 && a->lstride[d] != b->lstride[d]))
      return false;
  return true;
}

/* ---- in place ------------------------------------------------------------ */

static dt_err inplace(dt__op op, dt_tensor *a, const dt_tensor *b, double s) {
  if (!a || (op <= DT__OP_DIV && !b))
    return dt__error(DT_ERR_NULL, "an operand is NULL");
  dt_ctx *ctx = a->ctx;
  dt_err err = b ? same_ranks(a, b) : DT_OK;
  /* torch: computed in the result type, which must cast to a's dtype
   * without changing category (int32 += int64 is fine, int64 /= int64 and
   * int64 += 2.5 are not) */
  const dt_tensor *ab[2] = {a, b};
  dt_dtype rt = b                             ? result_type(2, ab)
                : dt_dtype_is_float(a->dtype) ? a->dtype
                                              : ctx->default_dtype;
  if (op == DT__OP_DIV && !dt_dtype_is_float(rt))
    rt = ctx->default_dtype;
  if (!err && op == DT__OP_SUB && (a->dtype == DT_BOOL || b->dtype == DT_BOOL))
    err = dt__error(DT_ERR_DTYPE, "%s", bool_sub_msg);
  if (!err && category(rt) > category(a->dtype))
    err = dt__error(DT_ERR_DTYPE,
                    "result type %s can't be cast to the desired output "
                    "type %s",
                    dt__torch_type_name(rt), dt__torch_type_name(a->dtype));
  if (!err && b) {
    int nds[2] = {a->ndim, b->ndim}, nd = 0;
    const int64_t *shapes[2] = {a->shape, b->shape};
    int64_t S[DT_MAX_DIMS];
    char x[160], y[160];
    err = dt__broadcast_shapes(2, nds, shapes, &nd, S);
    bool same = !err && nd == a->ndim;
    for (int d = 0; same && d < nd; d++)
      same = S[d] == a->shape[d];
    if (!err && !same)
      err = dt__error(DT_ERR_SHAPE,
                      "output with shape %s doesn't match the broadcast "
                      "shape %s",
                      dt__shape_str(x, sizeof x, a->ndim, a->shape),
                      dt__shape_str(y, sizeof y, nd, S));
  }
  if (!err && ctx->grad_enabled &&
      (a->requires_grad || (b && b->requires_grad)))
    err = dt__error(DT_ERR_AUTOGRAD,
                    a->requires_grad && !a->grad_fn
                        ? "a leaf tensor that requires grad is being used in "
                          "an in-place operation"
                        : "in-place operations on tensors that require grad "
                          "are not supported; use the out-of-place operation "
                          "(or turn grad mode off)");
  const dt_tensor *in[2] = {a, b};
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : args_hash(op, b ? 2 : 1, in, s)));
  if (rt != a->dtype || !dt_dtype_is_float(rt)) {
    /* in the result type out of place, then converted into a */
    dt_tensor *o = NULL;
    bool prev = ctx->grad_enabled;
    ctx->grad_enabled = false;
    err = elementwise(K_ARITH, op, 2, in, &o);
    if (!err)
      err = dt_copy_(a, o);
    ctx->grad_enabled = prev;
    dt__tensor_free(o);
    return err;
  }
  dt_tensor *b2 = NULL;
  if (b)
    DT_CALL(dt__broadcast_operand(b, a->dtype, a->layout, &b2));
  /* b over a's own memory, but not element for element the same view:
   * read all of b before writing a (as copy_ does). */
  int64_t overlap = b2 && dt_shares_memory(a, b2) &&
                    !(a->storage == b2->storage && a->loffset == b2->loffset &&
                      same_strides(a, b2));
  dt_err err2 = dt__agree_max(ctx->comm, DT_OK, 0, &overlap);
  if (!err2 && overlap) {
    dt_tensor *c = NULL;
    err2 = dt_clone(b2, &c);
    dt__tensor_free(b2);
    b2 = c;
  }
  if (err2) {
    dt__tensor_free(b2);
    return err2;
  }
  int64_t bs[DT_MAX_DIMS];
  if (b2)
    dt__broadcast_strides(b2, a->ndim, a->shape, bs);
  dt__ew(op, s, a->ndim, a->lshape, a->dtype, dt__local_ptr(a), a->lstride,
         dt__local_ptr(a), a->lstride, b2 ? dt__local_ptr(b2) : NULL, bs);
  dt__tensor_free(b2);
  dt__bump_version(a);
  return DT_OK;
}

dt_err dt_add_(dt_tensor *a, const dt_tensor *b) {
  DT_RETURN(inplace(DT__OP_ADD, a, b, 0));
}
dt_err dt_sub_(dt_tensor *a, const dt_tensor *b) {
  DT_RETURN(inplace(DT__OP_SUB, a, b, 0));
}
dt_err dt_mul_(dt_tensor *a, const dt_tensor *b) {
  DT_RETURN(inplace(DT__OP_MUL, a, b, 0));
}
dt_err dt_div_(dt_tensor *a, const dt_tensor *b) {
  DT_RETURN(inplace(DT__OP_DIV, a, b, 0));
}
dt_err dt_add_scalar_(dt_tensor *a, double s) {
  DT_RETURN(inplace(DT__OP_ADDS, a, NULL, s));
}
dt_err dt_mul_scalar_(dt_tensor *a, double s) {
  DT_RETURN(inplace(DT__OP_MULS, a, NULL, s));
}

/* ---- exact sums ---------------------------------------------------------- */

/* Add local C-order positions [lo, hi) of t's shard to acc. */
static void add_positions(const dt_tensor *t, int64_t lo, int64_t hi,
                          dt__xacc *acc) {
  int nd = t->ndim;
  const char *base = dt__local_ptr(t);
  size_t esz = dt_dtype_size(t->dtype);
  if (nd == 0) {
    if (lo < hi)
      dt__xacc_add_array(acc, base, t->dtype, 1, 1);
    return;
  }
  int64_t len = t->lshape[nd - 1], st = t->lstride[nd - 1];
  while (lo < hi) {
    int64_t row = lo / len, j = lo % len,
            n = len - j < hi - lo ? len - j : hi - lo;
    int64_t off = j * st, r = row;
    for (int d = nd - 2; d >= 0; d--) {
      off += (r % t->lshape[d]) * t->lstride[d];
      r /= t->lshape[d];
    }
    dt__xacc_add_array(acc, base + off * (int64_t)esz, t->dtype, n, st);
    lo += n;
  }
}

/*
 * The exact sum of t over the ranks, agreeing on `local` (this rank's error
 * so far; the sum is skipped when set) and on arghash in the same single
 * MPI_Allreduce: the limbs and the flags (as counts) are integers, summed
 * like the failure count and hash pieces of dt__agree_sum.
 */
dt_err dt__exact_sum_agree(const dt_tensor *t, dt_err local, uint64_t arghash,
                           dt__xacc *out) {
  dt_ctx *ctx = t->ctx;
  /* Float32 values and their sums (below 2^191) live in limbs 28..40:
   * bits 2^-149 (limb 28) to 2^237, so a float32 sum sends 13 limbs, not
   * 70. Everything is known from the dtype, the same on every rank. */
  bool f32 = t->dtype == DT_FLOAT32;
  int k0 = f32 ? 28 : 0, k1 = f32 ? 41 : DT_XLIMBS, nw = k1 - k0;
  int64_t buf[DT_XLIMBS + 5 + DT_AGREE_SUM_EXTRA];
  memset(buf, 0, sizeof buf);
  dt__xacc one, *acc = &one;
  int nt = 1;
  if (!local) {
    /* every element counted once: a replicated shard is shared out */
    int64_t lo = 0, hi = t->lnumel;
    if (t->layout->kind == DT__L_REPLICATED) {
      lo = dt__block_start(t->lnumel, ctx->size, ctx->rank);
      hi = dt__block_start(t->lnumel, ctx->size, ctx->rank + 1);
    }
    nt = omp_in_parallel() || hi - lo < 65536 ? 1 : dt__threads();
    if (nt > 1)
      acc = dt__malloc(sizeof *acc * (size_t)nt);
    if (!acc)
      local = dt__error(DT_ERR_NOMEM, "cannot allocate");
    else {
      /* OpenMP may start fewer threads than asked: every accumulator
       * starts at zero, so unused ones add nothing. */
      for (int k = 0; k < nt; k++)
        dt__xacc_init(&acc[k]);
      if (nt == 1)
        add_positions(t, lo, hi, acc);
      else {
#pragma omp parallel num_threads(nt)
        {
          int id = omp_get_thread_num(), k = omp_get_num_threads();
          int64_t n = hi - lo;
          add_positions(t, lo + dt__block_start(n, k, id),
                        lo + dt__block_start(n, k, id + 1), &acc[id]);
        }
      }
      for (int k = 1; k < nt; k++)
        dt__xacc_merge(&acc[0], &acc[k]);
      dt__xacc_window(&acc[0], k0, k1, buf);
      for (int f = 0; f < 5; f++)
        buf[nw + f] = (acc[0].flags >> f) & 1;
    }
    if (acc != &one)
      free(acc);
  }
  dt_err err = dt__agree_sum(ctx->comm, local, arghash, buf, nw + 5);
  if (err)
    return err;
  dt__xacc_from_window(out, buf, k0, k1);
  out->flags = 0;
  for (int f = 0; f < 5; f++)
    if (buf[nw + f])
      out->flags |= 1u << f;
  return DT_OK;
}

dt_err dt__exact_sum(const dt_tensor *t, dt__xacc *out) {
  return dt__exact_sum_agree(t, DT_OK, 0, out);
}

static dt_err reduce(dt__op op, const dt_tensor *a, dt_tensor **out) {
  if (!a)
    return dt__error(DT_ERR_NULL, "the operand is NULL");
  dt_ctx *ctx = a->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  if (!err)
    err = check_float(a);
  dt_layout *L = NULL;
  dt_tensor *o = NULL;
  dt__node *n = NULL;
  if (!err)
    err = dt__layout_replicated(ctx->size, 0, NULL, &L);
  if (!err)
    err = dt__tensor_alloc(ctx, a->dtype, L, &o);
  dt__layout_unref(&L);
  if (!err)
    err = dt__node_new(op, 1, &a, &n);
  /* one collective: the argument agreement rides on the sum */
  dt__xacc acc;
  err = dt__exact_sum_agree(a, err, err ? 0 : args_hash(op, 1, &a, 0), &acc);
  if (err) {
    dt__node_unref(n);
    dt__tensor_free(o);
    return err;
  }
  double v = op == DT__OP_MEAN ? dt__xacc_round_div(&acc, a->numel, a->dtype)
                               : dt__xacc_round(&acc, a->dtype);
  dt__convert(dt__local_ptr(o), o->dtype, &v, DT_FLOAT64, 1);
  dt__node_attach(n, o);
  *out = o;
  return DT_OK;
}

dt_err dt_sum(const dt_tensor *a, dt_tensor **out) {
  DT_RETURN(reduce(DT__OP_SUM, a, out));
}

dt_err dt_mean(const dt_tensor *a, dt_tensor **out) {
  DT_RETURN(reduce(DT__OP_MEAN, a, out));
}
