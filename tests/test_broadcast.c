/*
 * test_broadcast - PyTorch's broadcasting in binary operations and where,
 * in any pair of layouts at 1-4 ranks (uneven and empty shards), with
 * gradients summed back over the broadcast axes: checked against finite
 * differences and bitwise against the 1-rank result.
 */
#include "dt_test.h"

#include <math.h>
#include <stdlib.h>

static dt_tensor *from(int nd, const int64_t *shape, dt_dtype dt,
                       const void *v, int k) {
  dt_test_cuts cuts;
  dt_opts o = dt_test_layout(k, nd, shape, &cuts, NULL);
  dt_tensor *t = NULL;
  T_OK(dt_from_data(T_ctx, nd, shape, v, dt, DT_ALL_RANKS, &o, &t));
  return t;
}

typedef dt_err (*binop)(const dt_tensor *, const dt_tensor *, dt_tensor **);

static double apply(int op, double x, double y) {
  return op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
}

/* [R,4] op [4], [R,1] op [1,4], [4] op [R,4], [R,4] op [R,1]: values. */
static void t_values(void) {
  const int64_t R = 2 * T_size + 1;
  const int64_t sa[2] = {R, 4}, sb[1] = {4}, sc[2] = {R, 1}, sd[2] = {1, 4};
  double *a = malloc(sizeof(double) * (size_t)(R * 4));
  double *c = malloc(sizeof(double) * (size_t)R), b[4] = {0.5, -1, 2, 3};
  double want[4][64];
  for (int64_t i = 0; i < R * 4; i++)
    a[i] = (double)i * 0.25 - 1.0;
  for (int64_t i = 0; i < R; i++)
    c[i] = (double)i + 1.0;
  binop ops[4] = {dt_add, dt_sub, dt_mul, dt_div};
  for (int ka = 0; ka < DT_TEST_NLAYOUTS; ka++)
    for (int kb = 0; kb < DT_TEST_NLAYOUTS; kb++) {
      dt_tensor *A = from(2, sa, DT_FLOAT64, a, ka);
      dt_tensor *B = from(1, sb, DT_FLOAT64, b, kb);
      dt_tensor *C = from(2, sc, DT_FLOAT64, c, kb);
      dt_tensor *D = from(2, sd, DT_FLOAT64, b, ka);
      for (int op = 0; op < 4; op++) {
        /* case 0: A op B; 1: C op D; 2: B op A; 3: A op C */
        const dt_tensor *x[4] = {A, C, B, A}, *y[4] = {B, D, A, C};
        for (int i = 0; i < R; i++)
          for (int j = 0; j < 4; j++) {
            want[0][i * 4 + j] = apply(op, a[i * 4 + j], b[j]);
            want[1][i * 4 + j] = apply(op, c[i], b[j]);
            want[2][i * 4 + j] = apply(op, b[j], a[i * 4 + j]);
            want[3][i * 4 + j] = apply(op, a[i * 4 + j], c[i]);
          }
        for (int w = 0; w < 4; w++) {
          dt_tensor *o = NULL;
          T_OK(ops[op](x[w], y[w], &o));
          CU_ASSERT(o && dt_ndim(o) == 2 && dt_size(o, 0) == R &&
                    dt_size(o, 1) == 4);
          double *g = o ? dt_test_gather_all(o) : NULL;
          int ok = g && dt_test_same_bits(g, want[w], sizeof(double) *
                                                          (size_t)(R * 4));
          CU_ASSERT(ok);
          if (!ok && T_rank == 0)
            fprintf(stderr, "broadcast op %d case %d layouts %d/%d\n", op, w,
                    ka, kb);
          free(g);
          dt_tensor_destroy(&o);
        }
      }
      dt_tensor_destroy(&A);
      dt_tensor_destroy(&B);
      dt_tensor_destroy(&C);
      dt_tensor_destroy(&D);
    }
  /* integers broadcast too: int64 [R,1] + int32 [4] -> int64 [R,4] */
  int64_t *ci = malloc(sizeof(int64_t) * (size_t)R), *wi = malloc(
                                                         sizeof(int64_t) *
                                                         (size_t)(R * 4));
  int32_t bi[4] = {1, 2, 3, INT32_MAX};
  for (int64_t i = 0; i < R; i++)
    ci[i] = i * 100;
  for (int64_t i = 0; i < R; i++)
    for (int j = 0; j < 4; j++)
      wi[i * 4 + j] = ci[i] + bi[j];
  dt_tensor *C = from(2, sc, DT_INT64, ci, 3), *B = from(1, sb, DT_INT32, bi, 2);
  dt_tensor *o = NULL;
  T_OK(dt_add(C, B, &o));
  int64_t *g = dt_test_gather_all(o);
  CU_ASSERT(dt_dtype_of(o) == DT_INT64 && g &&
            memcmp(g, wi, sizeof(int64_t) * (size_t)(R * 4)) == 0);
  free(g);
  dt_tensor_destroy(&o);
  dt_tensor_destroy(&C);
  dt_tensor_destroy(&B);
  free(ci);
  free(wi);
  free(a);
  free(c);
}

static void t_errors_and_inplace(void) {
  const int64_t s34[2] = {3, 4}, s3[1] = {3}, s4[1] = {4}, s31[2] = {3, 1};
  dt_tensor *a = NULL, *b = NULL, *o = NULL, *c = NULL;
  T_OK(dt_ones(T_ctx, 2, s34, NULL, &a));
  T_OK(dt_ones(T_ctx, 1, s3, NULL, &b));
  T_ERR(dt_add(a, b, &o), DT_ERR_SHAPE);
  CU_ASSERT(strstr(dt_last_error(),
                   "dt_add: The size of tensor a (4) must match the size of "
                   "tensor b (3) at non-singleton dimension 1") != NULL);
  CU_ASSERT_PTR_NULL(o);
  dt_tensor_destroy(&b);
  /* in place: b broadcasts into a; a result of another shape is refused */
  T_OK(dt_full(T_ctx, 1, s4, DT_F(2.0), &(dt_opts){.layout = DT_REPLICATED},
               &b));
  T_OK(dt_mul_(a, b));
  float *g = dt_test_gather_all(a);
  int ok = g != NULL;
  for (int i = 0; ok && i < 12; i++)
    ok = g[i] == 2.0f;
  CU_ASSERT(ok);
  free(g);
  T_OK(dt_ones(T_ctx, 2, s31, NULL, &c));
  T_ERR(dt_add_(c, a), DT_ERR_SHAPE);
  CU_ASSERT(strstr(dt_last_error(), "output with shape [3, 1] doesn't match "
                                    "the broadcast shape [3, 4]") != NULL);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&c);
  /* an operand saved as a broadcast copy is still watched: modifying the
   * original in place makes backward fail, as torch (which saves it) */
  const int64_t sR[2] = {2 * T_size + 1, 4};
  dt_tensor *x = NULL, *L = NULL;
  T_OK(dt_ones(T_ctx, 2, sR, &(dt_opts){.requires_grad = true}, &x));
  T_OK(dt_ones(T_ctx, 1, s4, NULL, &b));
  T_OK(dt_mul(x, b, &o));
  T_OK(dt_sum(o, &L));
  T_OK(dt_add_scalar_(b, 1.0));
  T_ERR(dt_backward(L, NULL, false), DT_ERR_AUTOGRAD);
  CU_ASSERT(strstr(dt_last_error(), "[torch.FloatTensor [4]] is at version "
                                    "1; expected version 0 instead") != NULL);
  dt_tensor_destroy(&L);
  dt_tensor_destroy(&o);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&x);
}

/* ---- gradients ----------------------------------------------------------- */

typedef struct gcase {
  int which;
} gcase;

static dt_err f_bin(void *arg, dt_tensor *const *in, dt_tensor **out) {
  int w = ((gcase *)arg)->which;
  if (w == 4) { /* where(a > b, a, b) */
    dt_tensor *c = NULL;
    dt_err e = dt_gt(in[0], in[1], &c);
    if (!e)
      e = dt_where(c, in[0], in[1], out);
    dt_tensor_destroy(&c);
    return e;
  }
  if (w == 3) { /* a / (exp(b) + 1) */
    dt_tensor *d = NULL, *e1 = NULL;
    dt_err e = dt_exp(in[1], &d);
    if (!e)
      e = dt_add_scalar(d, 1.0, &e1);
    if (!e)
      e = dt_div(in[0], e1, out);
    dt_tensor_destroy(&d);
    dt_tensor_destroy(&e1);
    return e;
  }
  binop ops[3] = {dt_add, dt_sub, dt_mul};
  return ops[w](in[0], in[1], out);
}

static dt_tensor *rleaf(int nd, const int64_t *shape, int k, dt_dtype dt,
                        uint64_t seed) {
  dt_test_cuts cuts;
  dt_opts o = nd ? dt_test_layout(k, nd, shape, &cuts, NULL) : (dt_opts){0};
  o.dtype = dt;
  dt_tensor *t = NULL;
  T_OK(dt_manual_seed(T_ctx, seed));
  T_OK(dt_randn(T_ctx, nd, shape, &o, &t));
  T_OK(dt_requires_grad_(t, true));
  return t;
}

static void t_gradcheck(void) {
  const int64_t R = 2 * T_size + 1;
  /* shape pairs: [R,3]+[3], [R,1]*[1,3], [3]-[R,3], [R,3] op 0-d */
  const int64_t sa[4][2] = {{R, 3}, {R, 1}, {3, 0}, {R, 3}};
  const int64_t sb[4][2] = {{3, 0}, {1, 3}, {R, 3}, {0, 0}};
  const int na[4] = {2, 2, 1, 2}, nb[4] = {1, 2, 2, 0};
  for (int sp = 0; sp < 4; sp++)
    for (int k = 0; k < DT_TEST_NLAYOUTS; k += 4)
      for (int w = 0; w < 5; w++) {
        dt_tensor *in[2] = {
            rleaf(na[sp], sa[sp], k, DT_FLOAT64, 100 + (uint64_t)w),
            rleaf(nb[sp], sb[sp], (k + 1) % DT_TEST_NLAYOUTS, DT_FLOAT64,
                  200 + (uint64_t)w)};
        gcase arg = {w};
        double err = -1;
        T_OK(dt_gradcheck(f_bin, &arg, 2, in, 1e-6, 1e-7, 1e-5, &err));
        CU_ASSERT(err >= 0 && err <= 1);
        if (!(err >= 0 && err <= 1) && T_rank == 0)
          fprintf(stderr, "gradcheck shapes %d layout %d op %d: %g\n", sp, k,
                  w, err);
        dt_tensor_destroy(&in[0]);
        dt_tensor_destroy(&in[1]);
      }
}

/* loss = sum(w * (a * b + c)) with a [N,5], b [5], c [N,1] in float32:
 * the gradients of b and c are sums over many elements, which must come
 * out with the same bits at any rank count and layout. */
static void grads(dt_ctx *ctx, int ka, int kb, void **out) {
  const int64_t N = 37, sa[2] = {N, 5}, sb[1] = {5}, sc[2] = {N, 1};
  dt_ctx *keep = T_ctx;
  T_ctx = ctx;
  dt_tensor *a = rleaf(2, sa, ka, DT_FLOAT32, 1);
  dt_tensor *b = rleaf(1, sb, kb, DT_FLOAT32, 2);
  dt_tensor *c = rleaf(2, sc, kb, DT_FLOAT32, 3);
  dt_tensor *w = NULL, *ab = NULL, *abc = NULL, *p = NULL, *L = NULL;
  T_OK(dt_manual_seed(ctx, 4));
  T_OK(dt_randn(ctx, 2, sa, NULL, &w));
  T_OK(dt_mul(a, b, &ab));
  T_OK(dt_add(ab, c, &abc));
  T_OK(dt_mul(w, abc, &p));
  T_OK(dt_sum(p, &L));
  T_OK(dt_backward(L, NULL, false));
  out[0] = dt_test_gather_all(dt_grad(a));
  out[1] = dt_test_gather_all(dt_grad(b));
  out[2] = dt_test_gather_all(dt_grad(c));
  CU_ASSERT(dt_dtype_of(dt_grad(b)) == DT_FLOAT32 &&
            dt_ndim(dt_grad(b)) == 1 && dt_ndim(dt_grad(c)) == 2);
  dt_tensor *all[8] = {a, b, c, w, ab, abc, p, L};
  for (int i = 0; i < 8; i++)
    dt_tensor_destroy(&all[i]);
  T_ctx = keep;
}

static void t_bitwise(void) {
  void *ref[3];
  grads(dt_test_self_ctx(), 0, 0, ref);
  const size_t bytes[3] = {37 * 5 * 4, 5 * 4, 37 * 4};
  for (int ka = 0; ka < DT_TEST_NLAYOUTS; ka++)
    for (int kb = 0; kb < DT_TEST_NLAYOUTS; kb++) {
      void *got[3];
      grads(T_ctx, ka, kb, got);
      for (int i = 0; i < 3; i++) {
        int ok = ref[i] && got[i] && memcmp(ref[i], got[i], bytes[i]) == 0;
        CU_ASSERT(ok);
        if (!ok && T_rank == 0)
          fprintf(stderr, "gradient %d differs from 1 rank (layouts %d/%d)\n",
                  i, ka, kb);
        free(got[i]);
      }
    }
  /* a chunk budget of a few accumulators: the cross-rank sums of b's and
   * c's gradients go in many chunks, with the same bits */
  T_OK(dt_ctx_set_chunk_budget(T_ctx, 4096));
  for (int ka = 0; ka < DT_TEST_NLAYOUTS; ka += 4) {
    void *got[3];
    grads(T_ctx, ka, 1, got);
    for (int i = 0; i < 3; i++) {
      CU_ASSERT(ref[i] && got[i] && memcmp(ref[i], got[i], bytes[i]) == 0);
      free(got[i]);
    }
  }
  for (int i = 0; i < 3; i++)
    free(ref[i]);
}

static const dt_test_case cases[] = {
    {"broadcast values in every pair of layouts", t_values},
    {"shape errors; in-place broadcasting", t_errors_and_inplace},
    {"gradcheck: broadcast add/sub/mul/div/where", t_gradcheck},
    {"broadcast gradients bitwise equal to 1 rank", t_bitwise},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "broadcast", cases);
}
