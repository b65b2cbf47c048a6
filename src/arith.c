/*
 * arith.c - differentiable elementwise operations and exact reductions.
 *
 * Each operation checks its operands (agreed on every rank), brings them to
 * a common dtype and the first operand's layout (recorded, so gradients find
 * their way back), runs the kernel on the local shards and records a node
 * when grad mode is on and an input requires grad. Elements never depend on
 * the layout, rank count or thread count: each is computed alone, and sums
 * are exact.
 */
#include "internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

static dt_dtype promote(dt_dtype a, dt_dtype b) {
  return a == DT_FLOAT64 || b == DT_FLOAT64 ? DT_FLOAT64 : DT_FLOAT32;
}

static const char *op_name(dt__op op) {
  switch (op) {
  case DT__OP_ADD:
    return "add";
  case DT__OP_SUB:
    return "sub";
  case DT__OP_MUL:
    return "mul";
  case DT__OP_DIV:
    return "div";
  default:
    return "operation";
  }
}

static dt_err check_float(const dt_tensor *t) {
  DT_CHECK(dt_dtype_is_float(t->dtype), DT_ERR_DTYPE,
           "arithmetic needs floating point tensors (got %s); convert with "
           "dt_redistribute and a dtype",
           dt_dtype_name(t->dtype));
  return DT_OK;
}

static dt_err check_pair(dt__op op, const dt_tensor *a, const dt_tensor *b) {
  if (a->ctx != b->ctx) {
    int cmp = MPI_UNEQUAL;
    MPI_Comm_compare(a->ctx->comm, b->ctx->comm, &cmp);
    DT_CHECK(cmp == MPI_IDENT || cmp == MPI_CONGRUENT, DT_ERR_CONTEXT,
             "operands live on contexts over different ranks");
  }
  DT_CALL(check_float(a));
  DT_CALL(check_float(b));
  bool same = a->ndim == b->ndim;
  for (int d = 0; same && d < a->ndim; d++)
    same = a->shape[d] == b->shape[d];
  char x[160], y[160];
  DT_CHECK(same || a->ndim == 0 || b->ndim == 0, DT_ERR_SHAPE,
           "%s: shapes %s and %s differ and neither is 0-d", op_name(op),
           dt__shape_str(x, sizeof x, a->ndim, a->shape),
           dt__shape_str(y, sizeof y, b->ndim, b->shape));
  return DT_OK;
}

static uint64_t pair_hash(dt__op op, const dt_tensor *a, const dt_tensor *b,
                          double s) {
  uint64_t h = dt__hash_mix((uint64_t)op, dt__layout_hash(a->layout));
  h = dt__hash_mix(h, (uint64_t)a->dtype);
  if (b) {
    h = dt__hash_mix(h, dt__layout_hash(b->layout));
    h = dt__hash_mix(h, (uint64_t)b->dtype);
  }
  return dt__hash_bytes(h, &s, sizeof s);
}

/* t in dtype dt and (unless 0-d) layout L: t itself when it already is.
 * A conversion is recorded, so gradients flow back through it. */
static dt_err prepare(const dt_tensor *t, dt_dtype dt, dt_layout *L,
                      dt_tensor **out) {
  if (t->dtype == dt && (t->ndim == 0 || dt__layout_equal(t->layout, L))) {
    *out = dt__tensor_ref((dt_tensor *)t);
    return DT_OK;
  }
  return dt__redistribute_layout(t, t->ndim == 0 ? t->layout : L, dt, out);
}

/* Element strides of an operand against the output's local box: a 0-d
 * operand is read at stride 0 everywhere. */
static void operand_strides(const dt_tensor *t, int nd, int64_t *st) {
  for (int d = 0; d < nd; d++)
    st[d] = t->ndim == 0 ? 0 : t->lstride[d];
}

static dt_err binary(dt__op op, const dt_tensor *a, const dt_tensor *b,
                     dt_tensor **out) {
  if (!a || !b)
    return dt__error(DT_ERR_NULL, "an operand is NULL");
  dt_ctx *ctx = a->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  if (!err)
    err = check_pair(op, a, b);
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : pair_hash(op, a, b, 0)));
  const dt_tensor *main = a->ndim == 0 && b->ndim > 0 ? b : a;
  dt_dtype dt = promote(a->dtype, b->dtype);
  dt_tensor *a2 = NULL, *b2 = NULL, *o = NULL;
  dt__node *n = NULL;
  err = prepare(a, dt, main->layout, &a2);
  if (!err)
    err = prepare(b, dt, main->layout, &b2);
  if (err) {
    dt__tensor_free(a2);
    return err;
  }
  err = dt__tensor_alloc(ctx, dt, main->layout, &o);
  const dt_tensor *ins[2] = {a2, b2};
  if (!err)
    err = dt__node_new(op, 2, ins, &n);
  if (!err && n) {
    n->bcast[0] = a2->ndim == 0 && b2->ndim > 0;
    n->bcast[1] = b2->ndim == 0 && a2->ndim > 0;
    if (op == DT__OP_MUL || op == DT__OP_DIV) {
      err = dt__node_save(n, 0, a2);
      if (!err)
        err = dt__node_save(n, 1, b2);
    }
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    int64_t as[DT_MAX_DIMS], bs[DT_MAX_DIMS];
    operand_strides(a2, o->ndim, as);
    operand_strides(b2, o->ndim, bs);
    dt__ew(op, 0, o->ndim, o->lshape, dt, dt__local_ptr(o), o->lstride,
           dt__local_ptr(a2), as, dt__local_ptr(b2), bs);
    dt__node_attach(n, o);
    n = NULL;
  }
  dt__node_unref(n);
  dt__tensor_free(a2);
  dt__tensor_free(b2);
  if (err) {
    dt__tensor_free(o);
    return err;
  }
  *out = o;
  return DT_OK;
}

static dt_err unary(dt__op op, const dt_tensor *a, double s, dt_tensor **out) {
  if (!a)
    return dt__error(DT_ERR_NULL, "the operand is NULL");
  dt_ctx *ctx = a->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  if (!err)
    err = check_float(a);
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : pair_hash(op, a, NULL, s)));
  dt_tensor *o = NULL;
  dt__node *n = NULL;
  err = dt__tensor_alloc(ctx, a->dtype, a->layout, &o);
  if (!err)
    err = dt__node_new(op, 1, &a, &n);
  if (!err && n) {
    n->scalar = s;
    if (op == DT__OP_POW || op == DT__OP_LOG)
      err = dt__node_save(n, 0, a);
    else if (op == DT__OP_EXP)
      err = dt__node_save(n, 0, o); /* exp' = exp: keep the output */
  }
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    dt__ew(op, s, o->ndim, o->lshape, o->dtype, dt__local_ptr(o), o->lstride,
           dt__local_ptr(a), a->lstride, NULL, NULL);
    dt__node_attach(n, o);
    n = NULL;
  }
  dt__node_unref(n);
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
  dt_err err = b ? check_pair(op, a, b) : check_float(a);
  if (!err && b && b->ndim > 0 && a->ndim == 0)
    err = dt__error(DT_ERR_SHAPE, "the result of an in-place operation "
                                  "must keep the 0-d shape");
  if (!err && ctx->grad_enabled &&
      (a->requires_grad || (b && b->requires_grad)))
    err = dt__error(DT_ERR_AUTOGRAD,
                    a->requires_grad && !a->grad_fn
                        ? "a leaf tensor that requires grad is being used in "
                          "an in-place operation"
                        : "in-place operations on tensors that require grad "
                          "are not supported; use the out-of-place operation "
                          "(or turn grad mode off)");
  DT_CALL(dt__agree(ctx->comm, err, err ? 0 : pair_hash(op, a, b, s)));
  dt_tensor *b2 = NULL;
  if (b)
    DT_CALL(prepare(b, a->dtype, a->layout, &b2));
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
    operand_strides(b2, a->ndim, bs);
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

dt_err dt__exact_sum(const dt_tensor *t, dt__xacc *out) {
  dt_ctx *ctx = t->ctx;
  /* every element counted once: a replicated shard is shared out */
  int64_t lo = 0, hi = t->lnumel;
  if (t->layout->kind == DT__L_REPLICATED) {
    lo = dt__block_start(t->lnumel, ctx->size, ctx->rank);
    hi = dt__block_start(t->lnumel, ctx->size, ctx->rank + 1);
  }
  int nt = omp_in_parallel() ? 1 : dt__threads();
  if (hi - lo < 65536)
    nt = 1;
  dt__xacc *acc = dt__malloc(sizeof *acc * (size_t)nt);
  int64_t *buf = dt__malloc(sizeof(int64_t) * (DT_XLIMBS + 5) * 2);
  dt_err err = acc && buf ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate");
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    free(acc);
    free(buf);
    return err;
  }
  /* OpenMP may start fewer threads than asked: every accumulator starts at
   * zero, so unused ones add nothing. */
  for (int k = 0; k < nt; k++)
    dt__xacc_init(&acc[k]);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int id = omp_get_thread_num(), k = omp_get_num_threads();
    int64_t n = hi - lo;
    add_positions(t, lo + dt__block_start(n, k, id),
                  lo + dt__block_start(n, k, id + 1), &acc[id]);
  }
  for (int k = 1; k < nt; k++)
    dt__xacc_merge(&acc[0], &acc[k]);
  dt__xacc_normalize(&acc[0]);
  /* limbs and the flags (as counts) in one integer sum over the ranks */
  int64_t *in = buf, *sum = buf + DT_XLIMBS + 5;
  for (int k = 0; k < DT_XLIMBS; k++)
    in[k] = acc[0].limb[k];
  for (int f = 0; f < 5; f++)
    in[DT_XLIMBS + f] = (acc[0].flags >> f) & 1;
  int rc =
      MPI_Allreduce(in, sum, DT_XLIMBS + 5, MPI_INT64_T, MPI_SUM, ctx->comm);
  err = rc == MPI_SUCCESS ? DT_OK : dt__mpi_error(rc, "MPI_Allreduce (sum)");
  if (!err) {
    dt__xacc_init(out);
    for (int k = 0; k < DT_XLIMBS; k++)
      out->limb[k] = sum[k];
    for (int f = 0; f < 5; f++)
      if (sum[DT_XLIMBS + f])
        out->flags |= 1u << f;
    dt__xacc_normalize(out);
  }
  free(acc);
  free(buf);
  return dt__agree(ctx->comm, err, 0);
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
  err = dt__agree(ctx->comm, err, err ? 0 : pair_hash(op, a, NULL, 0));
  dt__xacc acc;
  if (!err)
    err = dt__exact_sum(a, &acc);
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
