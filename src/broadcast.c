/*
 * broadcast.c - PyTorch's broadcasting and type promotion for elementwise
 * operations, made distributed: the broadcast shape, where a broadcast
 * operand must live so each rank can read it next to its output box, and the
 * way back for gradients: an exact sum over the broadcast axes.
 *
 * The sum is exact (every element added into a fixed-point accumulator,
 * exact.c) and rounded once, so a gradient has the same bits at any rank
 * count and layout. When every summed element of an output element lives on
 * one rank, that rank sums alone; otherwise each rank adds its part, the
 * accumulators are added with one integer MPI_Allreduce per chunk (within
 * the context's chunk budget), and each rank rounds its own box.
 */
#include "internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- type promotion ------------------------------------------------------ */

/* Our five dtypes promote along one line (torch's table restricted to them:
 * bool < int32 < int64 < float32 < float64). */
static int rank_of(dt_dtype t) {
  switch (t) {
  case DT_BOOL:
    return 1;
  case DT_INT32:
    return 2;
  case DT_INT64:
    return 3;
  case DT_FLOAT32:
    return 4;
  case DT_FLOAT64:
    return 5;
  default:
    return 0; /* undefined */
  }
}

static dt_dtype promote(dt_dtype a, dt_dtype b) {
  return rank_of(a) >= rank_of(b) ? a : b;
}

/* c10's combine_categories(higher, lower) for real dtypes. */
static dt_dtype combine(dt_dtype higher, dt_dtype lower) {
  if (dt_dtype_is_float(higher))
    return higher;
  if (higher == DT_BOOL || dt_dtype_is_float(lower))
    return promote(higher, lower);
  return higher != DT_DTYPE_DEFAULT ? higher : lower;
}

dt_dtype dt__result_type(int n, const dt_dtype *dtypes, const int *tiers) {
  dt_dtype r[3] = {DT_DTYPE_DEFAULT, DT_DTYPE_DEFAULT, DT_DTYPE_DEFAULT};
  for (int i = 0; i < n; i++)
    r[tiers[i]] = promote(r[tiers[i]], dtypes[i]);
  return combine(r[2], combine(r[1], r[0]));
}

/* ---- shapes and layouts -------------------------------------------------- */

dt_err dt__broadcast_shapes(int n, const int *ndims,
                            const int64_t *const *shapes, int *nd,
                            int64_t *shape) {
  int m = 0;
  for (int i = 0; i < n; i++)
    m = ndims[i] > m ? ndims[i] : m;
  for (int d = 0; d < m; d++)
    shape[d] = 1;
  for (int i = 0; i < n; i++) {
    int off = m - ndims[i];
    for (int j = 0; j < ndims[i]; j++) {
      int64_t s = shapes[i][j], *o = &shape[off + j];
      if (s == *o || s == 1)
        continue;
      if (*o == 1) {
        *o = s;
        continue;
      }
      /* torch names the operands a and b; the first one that disagrees */
      for (int k = 0; k < i; k++) {
        int ok = off + j - (m - ndims[k]);
        if (ok >= 0 && shapes[k][ok] != 1)
          return dt__error(DT_ERR_SHAPE,
                           "The size of tensor a (%lld) must match the size "
                           "of tensor b (%lld) at non-singleton dimension %d",
                           (long long)shapes[k][ok], (long long)s, ok + 0);
      }
      return dt__error(DT_ERR_SHAPE, "shapes cannot be broadcast together");
    }
  }
  *nd = m;
  return DT_OK;
}

dt_err dt__project_layout(const dt_layout *L, int m, const int64_t *T,
                          dt_layout **out) {
  int P = L->nranks, nd = L->ndim, off = nd - m;
  bool identity = m == nd;
  for (int j = 0; identity && j < m; j++)
    identity = T[j] == L->shape[j];
  if (identity) {
    *out = dt__layout_ref((dt_layout *)L);
    return DT_OK;
  }
  if (m == 0) /* one rank's 0-d layout is a split one, as factories make */
    return P == 1 ? dt__layout_split(1, 0, NULL, 0, out)
                  : dt__layout_replicated(P, 0, NULL, out);
  int64_t *boxes = dt__malloc(sizeof(int64_t) * 2 * (size_t)m * (size_t)P);
  DT_CHECK(boxes, DT_ERR_NOMEM, "cannot allocate a layout");
  bool full = true;
  for (int r = 0; r < P; r++) {
    int64_t s[DT_MAX_DIMS], e[DT_MAX_DIMS], *b = boxes + 2 * (size_t)m * r;
    dt__layout_box(L, r, s, e);
    bool empty = false;
    for (int d = 0; d < nd; d++)
      empty = empty || e[d] == 0;
    for (int j = 0; j < m; j++) {
      bool stretched = T[j] == 1 && L->shape[off + j] != 1;
      b[j] = stretched ? 0 : s[off + j];
      b[m + j] = stretched ? 1 : e[off + j];
    }
    if (empty) { /* reads nothing */
      b[0] = 0;
      b[m] = 0;
    }
    for (int j = 0; j < m; j++)
      full = full && b[j] == 0 && b[m + j] == T[j];
  }
  dt_err err = full && P > 1 ? dt__layout_replicated(P, m, T, out)
                             : dt__layout_from_boxes(P, m, T, boxes, out);
  free(boxes);
  return err;
}

dt_err dt__broadcast_operand(const dt_tensor *t, dt_dtype dt,
                             const dt_layout *L, dt_tensor **out) {
  *out = NULL;
  dt_layout *P = NULL;
  dt_err err = dt__project_layout(L, t->ndim, t->shape, &P);
  err = dt__agree(t->ctx->comm, err, 0);
  if (err) {
    dt__layout_unref(&P); /* another rank may be the one that failed */
    return err;
  }
  if (t->dtype == dt && dt__layout_equal(t->layout, P)) {
    dt__layout_unref(&P);
    *out = dt__tensor_ref((dt_tensor *)t);
    return DT_OK;
  }
  dt_tensor *r = NULL;
  err = dt__tensor_alloc(t->ctx, dt, P, &r);
  dt__layout_unref(&P);
  err = dt__agree(t->ctx->comm, err, 0);
  if (!err) {
    bool prev = t->ctx->grad_enabled;
    t->ctx->grad_enabled = false; /* the op's node points at t itself */
    err = dt_copy_(r, t);
    t->ctx->grad_enabled = prev;
  }
  if (err) {
    dt__tensor_free(r);
    return err;
  }
  *out = r;
  return DT_OK;
}

void dt__broadcast_strides(const dt_tensor *p, int nd, const int64_t *S,
                           int64_t *st) {
  int off = nd - p->ndim;
  for (int d = 0; d < nd; d++) {
    int j = d - off;
    st[d] = j < 0 || (p->shape[j] == 1 && S[d] != 1) ? 0 : p->lstride[j];
  }
}

/* ---- the exact sum back to an input's shape ----------------------------- */

/* Which of g's axes are summed to reach shape (m, T). */
static void summed_axes(const dt_tensor *g, int m, const int64_t *T,
                        bool *red) {
  int off = g->ndim - m;
  for (int d = 0; d < g->ndim; d++)
    red[d] = d < off || (T[d - off] == 1 && g->shape[d] != 1);
}

/*
 * Add to acc the elements of g's local shard whose kept coordinates are
 * tc[] (target coordinates, global) and whose summed coordinates range over
 * this rank's box. False when this rank holds none of them.
 */
static bool add_fibre(const dt_tensor *g, const bool *red, int off,
                      const int64_t *tc, dt__xacc *acc) {
  int nd = g->ndim;
  int64_t base = 0, ext[DT_MAX_DIMS], st[DT_MAX_DIMS];
  int k = 0;
  for (int d = 0; d < nd; d++) {
    if (g->lshape[d] == 0)
      return false;
    if (red[d]) {
      ext[k] = g->lshape[d];
      st[k++] = g->lstride[d];
      continue;
    }
    int64_t l = tc[d - off] - g->lstart[d];
    if (l < 0 || l >= g->lshape[d])
      return false;
    base += l * g->lstride[d];
  }
  const char *p = dt__local_ptr(g);
  size_t esz = dt_dtype_size(g->dtype);
  if (k == 0) {
    dt__xacc_add_array(acc, p + base * (int64_t)esz, g->dtype, 1, 1);
    return true;
  }
  int64_t rows = 1;
  for (int j = 0; j < k - 1; j++)
    rows *= ext[j];
  for (int64_t r = 0; r < rows; r++) {
    int64_t o = base, q = r;
    for (int j = k - 2; j >= 0; j--) {
      o += (q % ext[j]) * st[j];
      q /= ext[j];
    }
    dt__xacc_add_array(acc, p + o * (int64_t)esz, g->dtype, ext[k - 1],
                       st[k - 1]);
  }
  return true;
}

/* Global coordinates of flat index f of shape (m, T). */
static void unflat(int64_t f, int m, const int64_t *T, int64_t *c) {
  for (int j = m - 1; j >= 0; j--) {
    c[j] = f % T[j];
    f /= T[j];
  }
}

/* Store the rounded value of acc into element `off` of t. */
static void store(dt_tensor *t, int64_t off, const dt__xacc *acc,
                  dt_dtype gdt) {
  double v = dt__xacc_round(acc, gdt);
  size_t esz = dt_dtype_size(t->dtype);
  if (gdt == DT_FLOAT32) {
    float f = (float)v;
    dt__convert(dt__local_ptr(t) + off * (int64_t)esz, t->dtype, &f, DT_FLOAT32,
                1);
  } else {
    dt__convert(dt__local_ptr(t) + off * (int64_t)esz, t->dtype, &v, DT_FLOAT64,
                1);
  }
}

/* Local element offset of global coordinates c in t (inside its box). */
static int64_t local_off(const dt_tensor *t, const int64_t *c) {
  int64_t o = 0;
  for (int d = 0; d < t->ndim; d++)
    o += (c[d] - t->lstart[d]) * t->lstride[d];
  return o;
}

/* Every element of every rank's output box has all its summands on that
 * rank (or g is replicated). Replicated metadata only. */
static bool sums_stay_local(const dt_tensor *g, const bool *red, int m) {
  if (g->layout->kind == DT__L_REPLICATED || g->layout->nranks == 1)
    return true;
  if (m == 0) /* one value every rank needs, from wherever g lives */
    return false;
  for (int r = 0; r < g->layout->nranks; r++) {
    int64_t s[DT_MAX_DIMS], e[DT_MAX_DIMS];
    dt__layout_box(g->layout, r, s, e);
    bool empty = false;
    for (int d = 0; d < g->ndim; d++)
      empty = empty || e[d] == 0;
    for (int d = 0; !empty && d < g->ndim; d++)
      if (red[d] && (s[d] != 0 || e[d] != g->shape[d]))
        return false;
  }
  return true;
}

/* Each rank sums the output elements its own box of g covers, over the
 * projection of g's layout, then the result is copied into L. */
static dt_err sum_local(const dt_tensor *g, const bool *red, dt_layout *L,
                        dt_dtype dt, dt_tensor **out) {
  dt_ctx *ctx = g->ctx;
  int m = L->ndim, off = g->ndim - m;
  dt_layout *P = NULL;
  dt_tensor *r = NULL;
  dt_err err = dt__project_layout(g->layout, m, L->shape, &P);
  if (!err)
    err = dt__tensor_alloc(ctx, dt, P, &r);
  dt__layout_unref(&P);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(r);
    return err;
  }
  int64_t n = r->lnumel;
  bool par = n > 64 && g->lnumel >= 65536 && !omp_in_parallel();
#pragma omp parallel for num_threads(dt__threads()) schedule(static) if (par)
  for (int64_t i = 0; i < n; i++) {
    int64_t c[DT_MAX_DIMS];
    unflat(i, m, r->lshape, c);
    for (int j = 0; j < m; j++)
      c[j] += r->lstart[j];
    dt__xacc acc;
    dt__xacc_init(&acc);
    add_fibre(g, red, off, c, &acc);
    store(r, local_off(r, c), &acc, g->dtype);
  }
  if (dt__layout_equal(r->layout, L)) {
    *out = r;
    return DT_OK;
  }
  dt_tensor *q = NULL;
  err = dt__tensor_alloc(ctx, dt, L, &q);
  err = dt__agree(ctx->comm, err, 0);
  if (!err)
    err = dt_copy_(q, r);
  dt__tensor_free(r);
  if (err) {
    dt__tensor_free(q);
    return err;
  }
  *out = q;
  return DT_OK;
}

/* Words per accumulator in the cross-rank sum: limbs, then flags. */
enum { XW = DT_XLIMBS + 5 };

/* Summands spread over ranks: chunks of the output, each rank's partial
 * accumulators added with one integer MPI_Allreduce per chunk. */
static dt_err sum_across(const dt_tensor *g, const bool *red, dt_layout *L,
                         dt_dtype dt, dt_tensor **out) {
  dt_ctx *ctx = g->ctx;
  int m = L->ndim, off = g->ndim - m;
  int64_t total = 1;
  for (int j = 0; j < m; j++)
    total *= L->shape[j];
  int64_t K = (int64_t)(ctx->chunk_budget / (2 * XW * sizeof(int64_t)));
  K = K < 1 ? 1 : K > total ? total : K;
  K = K > INT32_MAX / XW ? INT32_MAX / XW : K;
  dt_tensor *r = NULL;
  int64_t *in = dt__malloc(sizeof(int64_t) * XW * (size_t)(K ? K : 1));
  int64_t *sum = dt__malloc(sizeof(int64_t) * XW * (size_t)(K ? K : 1));
  dt_err err = in && sum ? DT_OK : dt__error(DT_ERR_NOMEM, "cannot allocate");
  if (!err)
    err = dt__tensor_alloc(ctx, dt, L, &r);
  err = dt__agree(ctx->comm, err, 0);
  for (int64_t c0 = 0; !err && c0 < total; c0 += K) {
    int64_t k = total - c0 < K ? total - c0 : K;
    bool par = k > 64 && g->lnumel >= 65536 && !omp_in_parallel();
#pragma omp parallel for num_threads(dt__threads()) schedule(static) if (par)
    for (int64_t i = 0; i < k; i++) {
      int64_t c[DT_MAX_DIMS];
      unflat(c0 + i, m, L->shape, c);
      dt__xacc acc;
      dt__xacc_init(&acc);
      add_fibre(g, red, off, c, &acc);
      dt__xacc_normalize(&acc);
      int64_t *w = in + i * XW;
      memcpy(w, acc.limb, sizeof acc.limb);
      for (int f = 0; f < 5; f++)
        w[DT_XLIMBS + f] = (acc.flags >> f) & 1;
    }
    int rc =
        MPI_Allreduce(in, sum, (int)(k * XW), MPI_INT64_T, MPI_SUM, ctx->comm);
    if (rc != MPI_SUCCESS) {
      err = dt__mpi_error(rc, "MPI_Allreduce (gradient sum)");
      break;
    }
    for (int64_t i = 0; i < k; i++) {
      int64_t c[DT_MAX_DIMS];
      unflat(c0 + i, m, L->shape, c);
      bool mine = r->lnumel > 0;
      for (int j = 0; mine && j < m; j++)
        mine = c[j] >= r->lstart[j] && c[j] < r->lstart[j] + r->lshape[j];
      if (!mine)
        continue;
      dt__xacc acc;
      dt__xacc_init(&acc);
      const int64_t *w = sum + i * XW;
      memcpy(acc.limb, w, sizeof acc.limb);
      for (int f = 0; f < 5; f++)
        if (w[DT_XLIMBS + f])
          acc.flags |= 1u << f;
      dt__xacc_normalize(&acc);
      store(r, local_off(r, c), &acc, g->dtype);
    }
  }
  free(in);
  free(sum);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(r);
    return err;
  }
  *out = r;
  return DT_OK;
}

dt_err dt__sum_to(const dt_tensor *g, dt_layout *L, dt_dtype dt,
                  dt_tensor **out) {
  *out = NULL;
  bool same = g->ndim == L->ndim;
  for (int d = 0; same && d < g->ndim; d++)
    same = g->shape[d] == L->shape[d];
  if (same && g->dtype == dt && dt__layout_equal(g->layout, L)) {
    *out = dt__tensor_ref((dt_tensor *)g);
    return DT_OK;
  }
  bool prev = g->ctx->grad_enabled;
  g->ctx->grad_enabled = false;
  dt_err err;
  if (same) {
    err = dt__redistribute_to(g->ctx, g, L, dt, out);
  } else {
    bool red[DT_MAX_DIMS];
    summed_axes(g, L->ndim, L->shape, red);
    /* nothing to sum (g is empty): zeros, which sum_across writes */
    err = g->numel > 0 && sums_stay_local(g, red, L->ndim)
              ? sum_local(g, red, L, dt, out)
              : sum_across(g, red, L, dt, out);
  }
  g->ctx->grad_enabled = prev;
  return err;
}
