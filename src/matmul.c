/*
 * matmul.c - 2-D matrix products, row-split x replicated -> row-split, and
 * their gradients, the cross-rank one reproducibly exact.
 *
 * Forward and dA = dC B^T are local: every output element is one dot
 * product in ascending order of the inner index, whatever the rank or
 * thread count. dB = A^T dC sums over every row of every rank: each product
 * goes exactly (as two doubles) into a fixed-point accumulator per element
 * of dB, the accumulators are summed across ranks as integers, and each
 * element is rounded once.
 */
#include "internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Rows split, columns whole: each rank holds full rows of A. */
static bool row_split(const dt_layout *L) {
  if (L->kind == DT__L_REPLICATED)
    return false;
  for (int r = 0; r < L->nranks; r++) {
    int64_t s[2], n[2];
    dt__layout_box(L, r, s, n);
    if (n[0] > 0 && (s[1] != 0 || n[1] != L->shape[1]))
      return false;
  }
  return true;
}

/* The layout of C = A @ B: A's rows, all m columns. */
static dt_err out_layout(const dt_layout *LA, int64_t m, dt_layout **out) {
  int P = LA->nranks;
  int64_t shape[2] = {LA->shape[0], m};
  int64_t *boxes = dt__malloc(sizeof(int64_t) * 4 * (size_t)P);
  DT_CHECK(boxes, DT_ERR_NOMEM, "cannot allocate the box table");
  for (int r = 0; r < P; r++) {
    int64_t s[2], n[2];
    dt__layout_box(LA, r, s, n);
    boxes[4 * r] = s[0];
    boxes[4 * r + 1] = 0;
    boxes[4 * r + 2] = n[0];
    boxes[4 * r + 3] = n[0] > 0 ? m : 0;
  }
  dt_err err = dt__layout_from_boxes(P, 2, shape, boxes, out);
  free(boxes);
  return err;
}

/* C[i, :] = sum_k A[i, k] B[k, :], k ascending; C dense. */
// clang-format off
#define DT_MM_KERNEL(T)                                                        \
  do {                                                                         \
    const T *A = (const T *)(const void *)ap;                                  \
    const T *B = (const T *)(const void *)bp;                                  \
    T *C = (T *)(void *)cp;                                                    \
    _Pragma("omp parallel for num_threads(dt__threads()) if (rows * k * m > 65536)") \
    for (int64_t i = 0; i < rows; i++) {                                       \
      T *c = C + i * m;                                                        \
      for (int64_t j = 0; j < m; j++)                                          \
        c[j] = 0;                                                              \
      for (int64_t q = 0; q < k; q++) {                                        \
        T aiq = A[i * as0 + q * as1];                                          \
        const T *b = B + q * bs0;                                              \
        if (bs1 == 1) {                                                        \
          _Pragma("omp simd")                                                  \
          for (int64_t j = 0; j < m; j++)                                      \
            c[j] += aiq * b[j];                                                \
        } else {                                                               \
          for (int64_t j = 0; j < m; j++)                                      \
            c[j] += aiq * b[j * bs1];                                          \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  } while (0)
// clang-format on

static void mm_local(dt_dtype dt, int64_t rows, int64_t k, int64_t m,
                     const char *ap, int64_t as0, int64_t as1, const char *bp,
                     int64_t bs0, int64_t bs1, char *cp) {
  if (dt == DT_FLOAT32)
    DT_MM_KERNEL(float);
  else
    DT_MM_KERNEL(double);
}

dt_err dt_matmul(const dt_tensor *a, const dt_tensor *b, dt_tensor **out) {
  if (!a || !b)
    DT_RETURN(dt__error(DT_ERR_NULL, "an operand is NULL"));
  dt_ctx *ctx = a->ctx;
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (out)
    *out = NULL;
  char x[160], y[160];
  if (!err && (a->ndim != 2 || b->ndim != 2))
    err =
        dt__error(DT_ERR_SHAPE, "matmul takes 2-D tensors (got %d-D and %d-D)",
                  a->ndim, b->ndim);
  else if (!err && a->shape[1] != b->shape[0])
    err = dt__error(DT_ERR_SHAPE,
                    "mat1 and mat2 shapes cannot be multiplied (%s and %s)",
                    dt__shape_str(x, sizeof x, a->ndim, a->shape),
                    dt__shape_str(y, sizeof y, b->ndim, b->shape));
  else if (!err &&
           (!dt_dtype_is_float(a->dtype) || !dt_dtype_is_float(b->dtype)))
    err = dt__error(DT_ERR_DTYPE, "matmul needs floating point tensors");
  if (!err && a->ctx != b->ctx) {
    int cmp = MPI_UNEQUAL;
    MPI_Comm_compare(a->ctx->comm, b->ctx->comm, &cmp);
    if (cmp != MPI_IDENT && cmp != MPI_CONGRUENT)
      err = dt__error(DT_ERR_CONTEXT, "operands on contexts over other ranks");
  }
  uint64_t h = err ? 0
                   : dt__hash_mix(dt__layout_hash(a->layout),
                                  dt__layout_hash(b->layout));
  err = dt__agree(ctx->comm, err, h);
  if (err)
    DT_RETURN(err);
  dt_dtype dt = a->dtype == DT_FLOAT64 || b->dtype == DT_FLOAT64 ? DT_FLOAT64
                                                                 : DT_FLOAT32;
  /* A row-split, B replicated, both in dt (recorded conversions). */
  dt_tensor *a2 = NULL, *b2 = NULL, *c = NULL;
  dt_layout *LA = NULL, *LB = NULL, *LC = NULL;
  dt__node *n = NULL;
  if (row_split(a->layout))
    LA = dt__layout_ref(a->layout);
  else
    err = dt__layout_split(ctx->size, 2, a->shape, 0, &LA);
  if (!err)
    err = dt__layout_replicated(ctx->size, 2, b->shape, &LB);
  err = dt__agree(ctx->comm, err, 0);
  if (!err)
    err = a->dtype == dt && LA == a->layout
              ? (a2 = dt__tensor_ref((dt_tensor *)a), DT_OK)
              : dt__redistribute_layout(a, LA, dt, &a2);
  if (!err)
    err = b->dtype == dt && b->layout->kind == DT__L_REPLICATED
              ? (b2 = dt__tensor_ref((dt_tensor *)b), DT_OK)
              : dt__redistribute_layout(b, LB, dt, &b2);
  if (!err) {
    err = out_layout(LA, b->shape[1], &LC);
    if (!err)
      err = dt__tensor_alloc(ctx, dt, LC, &c);
    const dt_tensor *ins[2] = {a2, b2};
    if (!err)
      err = dt__node_new(DT__OP_MATMUL, 2, ins, &n);
    if (!err && n) {
      err = dt__node_save(n, 0, a2);
      if (!err)
        err = dt__node_save(n, 1, b2);
    }
    err = dt__agree(ctx->comm, err, 0);
  }
  if (!err) {
    mm_local(dt, a2->lshape[0], a2->shape[1], b2->shape[1], dt__local_ptr(a2),
             a2->lstride[0], a2->lstride[1], dt__local_ptr(b2), b2->lstride[0],
             b2->lstride[1], dt__local_ptr(c));
    dt__node_attach(n, c);
    n = NULL;
  }
  dt__node_unref(n);
  dt__tensor_free(a2);
  dt__tensor_free(b2);
  dt__layout_unref(&LA);
  dt__layout_unref(&LB);
  dt__layout_unref(&LC);
  if (err) {
    dt__tensor_free(c);
    DT_RETURN(err);
  }
  *out = c;
  return DT_OK;
}

/* ---- backward ------------------------------------------------------------ */

/* dA[i, q] = sum_j g[i, j] B[q, j], j ascending: local rows. */
// clang-format off
#define DT_MM_DA(T)                                                            \
  do {                                                                         \
    const T *G = (const T *)(const void *)gp;                                  \
    const T *B = (const T *)(const void *)bp;                                  \
    T *D = (T *)(void *)dp;                                                    \
    _Pragma("omp parallel for num_threads(dt__threads()) if (rows * k * m > 65536)") \
    for (int64_t i = 0; i < rows; i++)                                         \
      for (int64_t q = 0; q < k; q++) {                                        \
        T s = 0;                                                               \
        for (int64_t j = 0; j < m; j++)                                        \
          s += G[i * gs0 + j * gs1] * B[q * bs0 + j * bs1];                    \
        D[i * k + q] = s;                                                      \
      }                                                                        \
  } while (0)
// clang-format on

static dt_err grad_a(const dt_tensor *a, const dt_tensor *b, const dt_tensor *g,
                     dt_tensor **ga) {
  dt_tensor *d = NULL;
  dt_err err = dt__tensor_alloc(a->ctx, a->dtype, a->layout, &d);
  err = dt__agree(a->ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(d); /* allocated here, failed elsewhere */
    return err;
  }
  int64_t rows = d->lshape[0], k = a->shape[1], m = b->shape[1];
  const char *gp = dt__local_ptr(g), *bp = dt__local_ptr(b);
  char *dp = dt__local_ptr(d);
  int64_t gs0 = g->lstride[0], gs1 = g->lstride[1];
  int64_t bs0 = b->lstride[0], bs1 = b->lstride[1];
  if (rows > 0 && k > 0) {
    if (a->dtype == DT_FLOAT32)
      DT_MM_DA(float);
    else
      DT_MM_DA(double);
  }
  *ga = d;
  return DT_OK;
}

/* dB = A^T g: exact per-element accumulators, in tiles that fit the
 * context's chunk budget, summed over ranks as integers. */
static dt_err grad_b(const dt_tensor *a, const dt_tensor *b, const dt_tensor *g,
                     dt_tensor **gb) {
  dt_ctx *ctx = a->ctx;
  int64_t k = a->shape[1], m = b->shape[1], rows = a->lshape[0];
  int64_t total = k * m;
  size_t per = sizeof(int64_t) * (DT_XLIMBS + 5);
  int64_t tile = (int64_t)(ctx->chunk_budget / (sizeof(dt__xacc) + 2 * per));
  tile = tile < 1 ? 1 : tile > total ? (total ? total : 1) : tile;
  dt_tensor *d = NULL;
  dt__xacc *acc = dt__malloc(sizeof *acc * (size_t)tile);
  int64_t *in = dt__malloc(per * (size_t)tile),
          *sum = dt__malloc(per * (size_t)tile);
  dt_err err = acc && in && sum ? DT_OK
                                : dt__error(DT_ERR_NOMEM, "cannot allocate the "
                                                          "exact accumulators");
  if (!err)
    err = dt__tensor_alloc(ctx, b->dtype, b->layout, &d);
  err = dt__agree(ctx->comm, err, 0);
  const char *ap = dt__local_ptr(a), *gp = dt__local_ptr(g);
  int64_t as0 = a->lstride[0], as1 = a->lstride[1];
  int64_t gs0 = g->lstride[0], gs1 = g->lstride[1];
  bool f32 = a->dtype == DT_FLOAT32;
  for (int64_t t0 = 0; !err && t0 < total; t0 += tile) {
    int64_t nt = total - t0 < tile ? total - t0 : tile;
#pragma omp parallel for num_threads(dt__threads())                            \
    schedule(static) if (nt * rows > 4096)
    for (int64_t e = 0; e < nt; e++) {
      int64_t q = (t0 + e) / m, j = (t0 + e) % m;
      dt__xacc *x = &acc[e];
      dt__xacc_init(x);
      for (int64_t i = 0; i < rows; i++) {
        if (f32) {
          const float *A = (const float *)(const void *)ap;
          const float *G = (const float *)(const void *)gp;
          /* a float32 product is exact in a double */
          dt__xacc_add(x, (double)A[i * as0 + q * as1] *
                              (double)G[i * gs0 + j * gs1]);
        } else {
          const double *A = (const double *)(const void *)ap;
          const double *G = (const double *)(const void *)gp;
          dt__xacc_add_prod(x, A[i * as0 + q * as1], G[i * gs0 + j * gs1]);
        }
      }
      dt__xacc_normalize(x);
      int64_t *w = in + e * (DT_XLIMBS + 5);
      for (int l = 0; l < DT_XLIMBS; l++)
        w[l] = x->limb[l];
      for (int f = 0; f < 5; f++)
        w[DT_XLIMBS + f] = (x->flags >> f) & 1;
    }
    int64_t cnt = nt * (DT_XLIMBS + 5);
    for (int64_t off = 0; off < cnt && !err;) { /* int counts: pieces */
      int64_t c =
          cnt - off < (INT64_C(1) << 27) ? cnt - off : (INT64_C(1) << 27);
      int rc = MPI_Allreduce(in + off, sum + off, (int)c, MPI_INT64_T, MPI_SUM,
                             ctx->comm);
      if (rc != MPI_SUCCESS)
        err = dt__mpi_error(rc, "MPI_Allreduce (matmul gradient)");
      off += c;
    }
    for (int64_t e = 0; !err && e < nt; e++) {
      dt__xacc x;
      dt__xacc_init(&x);
      const int64_t *w = sum + e * (DT_XLIMBS + 5);
      for (int l = 0; l < DT_XLIMBS; l++)
        x.limb[l] = w[l];
      for (int f = 0; f < 5; f++)
        if (w[DT_XLIMBS + f])
          x.flags |= 1u << f;
      double v = dt__xacc_round(&x, d->dtype);
      int64_t q = (t0 + e) / m, j = (t0 + e) % m;
      dt__convert(dt__local_ptr(d) + (q * d->lstride[0] + j * d->lstride[1]) *
                                         (int64_t)dt_dtype_size(d->dtype),
                  d->dtype, &v, DT_FLOAT64, 1);
    }
  }
  free(acc);
  free(in);
  free(sum);
  err = dt__agree(ctx->comm, err, 0);
  if (err) {
    dt__tensor_free(d);
    return err;
  }
  *gb = d;
  return DT_OK;
}

dt_err dt__matmul_backward(const dt_tensor *a, const dt_tensor *b,
                           const dt_tensor *g, dt_tensor **ga, dt_tensor **gb) {
  /* g arrives in C's layout (A's rows); make sure of it */
  dt_tensor *g2 = NULL;
  dt_layout *LC = NULL;
  dt_err err = out_layout(a->layout, b->shape[1], &LC);
  err = dt__agree(a->ctx->comm, err, 0);
  if (err) {
    dt__layout_unref(&LC); /* built here, failed elsewhere */
    return err;
  }
  if (dt__layout_equal(g->layout, LC) && g->dtype == a->dtype)
    g2 = dt__tensor_ref((dt_tensor *)g);
  else
    err = dt__redistribute_layout(g, LC, a->dtype, &g2);
  dt__layout_unref(&LC);
  if (!err && ga)
    err = grad_a(a, b, g2, ga);
  if (!err && gb)
    err = grad_b(a, b, g2, gb);
  dt__tensor_free(g2);
  return err;
}
