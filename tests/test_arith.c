/*
 * test_arith - integer and bool arithmetic, torch's type promotion,
 * comparisons, where and dt_to, at 1-4 ranks in every test layout. The
 * expected values and dtypes are torch 1.13's, written in (torch is not a
 * test dependency): derived from its documented promotion rules
 * (torch.result_type) and kernels.
 */
#include "dt_test.h"

#include <math.h>
#include <stdlib.h>

/* A 1-D tensor of n values of dtype dt (from `v`, of dt) in layout k. */
static dt_tensor *vec(int64_t n, dt_dtype dt, const void *v, int k) {
  dt_test_cuts cuts;
  dt_opts o = dt_test_layout(k, 1, &n, &cuts, NULL);
  dt_tensor *t = NULL;
  T_OK(dt_from_data(T_ctx, 1, &n, v, dt, DT_ALL_RANKS, &o, &t));
  return t;
}

static dt_tensor *scalar0(dt_dtype dt, const void *v) {
  dt_tensor *t = NULL;
  T_OK(dt_from_data(T_ctx, 0, NULL, v, dt, DT_ALL_RANKS, NULL, &t));
  return t;
}

/* t has dtype dt and, gathered, the bytes of `want`. */
static void expect(dt_tensor *t, dt_dtype dt, const void *want, int64_t n,
                   const char *what) {
  CU_ASSERT_PTR_NOT_NULL(t);
  if (!t)
    return;
  CU_ASSERT_EQUAL(dt_dtype_of(t), dt);
  CU_ASSERT_EQUAL(dt_numel(t), n);
  void *g = dt_test_gather_all(t);
  int ok = dt_dtype_of(t) == dt && g &&
           dt_test_same_bits(g, want, (size_t)n * dt_dtype_size(dt));
  CU_ASSERT(ok);
  if (!ok && T_rank == 0)
    fprintf(stderr, "mismatch: %s\n", what);
  free(g);
}

typedef dt_err (*binop)(const dt_tensor *, const dt_tensor *, dt_tensor **);

/* ---- integer and bool arithmetic ---------------------------------------- */

static void t_int_arith(void) {
  const int64_t n = 5;
  int32_t a32[5] = {INT32_MAX, -7, 7, 0, -1};
  int32_t b32[5] = {1, 2, -2, 5, INT32_MIN};
  int64_t b64[5] = {1, 2, -2, 5, INT64_MAX};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *a = vec(n, DT_INT32, a32, k);
    dt_tensor *b = vec(n, DT_INT32, b32, (k + 1) % DT_TEST_NLAYOUTS);
    dt_tensor *c = vec(n, DT_INT64, b64, (k + 2) % DT_TEST_NLAYOUTS);
    dt_tensor *o = NULL;
    /* int32 + int32 wraps: torch gives -2147483648 for INT32_MAX + 1 */
    int32_t add[5] = {INT32_MIN, -5, 5, 5, INT32_MAX};
    T_OK(dt_add(a, b, &o));
    expect(o, DT_INT32, add, n, "int32 add");
    dt_tensor_destroy(&o);
    int32_t sub[5] = {INT32_MAX - 1, -9, 9, -5, INT32_MAX};
    T_OK(dt_sub(a, b, &o));
    expect(o, DT_INT32, sub, n, "int32 sub");
    dt_tensor_destroy(&o);
    int32_t mul[5] = {INT32_MAX, -14, -14, 0, INT32_MIN};
    T_OK(dt_mul(a, b, &o));
    expect(o, DT_INT32, mul, n, "int32 mul");
    dt_tensor_destroy(&o);
    /* int32 + int64 -> int64 (no wrap at 32 bits) */
    int64_t add64[5] = {(int64_t)INT32_MAX + 1, -5, 5, 5, INT64_MAX - 1};
    T_OK(dt_add(a, c, &o));
    expect(o, DT_INT64, add64, n, "int32 + int64");
    dt_tensor_destroy(&o);
    /* true division: int / int -> float32 (the default dtype) */
    float div[5] = {(float)INT32_MAX, -3.5f, -3.5f, 0.0f,
                    (float)(-1.0 / (double)INT32_MIN)};
    T_OK(dt_div(a, b, &o));
    expect(o, DT_FLOAT32, div, n, "int true division");
    dt_tensor_destroy(&o);
    /* -x wraps too; neg keeps int32 */
    int32_t neg[5] = {-INT32_MAX, 7, -7, 0, 1};
    T_OK(dt_neg(a, &o));
    expect(o, DT_INT32, neg, n, "int32 neg");
    dt_tensor_destroy(&o);
    dt_tensor_destroy(&a);
    dt_tensor_destroy(&b);
    dt_tensor_destroy(&c);
  }
  /* division by zero of integers is a float division: inf, -inf, nan */
  int64_t num[3] = {1, -1, 0}, zero[3] = {0, 0, 0};
  dt_tensor *a = vec(3, DT_INT64, num, 0), *b = vec(3, DT_INT64, zero, 3);
  dt_tensor *o = NULL;
  T_OK(dt_div(a, b, &o));
  float *q = dt_test_gather_all(o);
  CU_ASSERT(q && q[0] == INFINITY && q[1] == -INFINITY && isnan(q[2]));
  free(q);
  dt_tensor_destroy(&o);
  /* with float64 as the default dtype, int / int is float64 */
  T_OK(dt_ctx_set_default_dtype(T_ctx, DT_FLOAT64));
  T_OK(dt_div(a, a, &o));
  CU_ASSERT_EQUAL(dt_dtype_of(o), DT_FLOAT64);
  dt_tensor_destroy(&o);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
}

static void t_bool_arith(void) {
  uint8_t x[4] = {0, 0, 1, 1}, y[4] = {0, 1, 0, 1};
  int64_t i64[4] = {10, 20, 30, 40};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *a = vec(4, DT_BOOL, x, k), *b = vec(4, DT_BOOL, y, 4 - k);
    dt_tensor *c = vec(4, DT_INT64, i64, k), *o = NULL;
    /* torch: True + True is tensor(True): add is "or" on bools */
    uint8_t orv[4] = {0, 1, 1, 1}, andv[4] = {0, 0, 0, 1};
    T_OK(dt_add(a, b, &o));
    expect(o, DT_BOOL, orv, 4, "bool + bool");
    dt_tensor_destroy(&o);
    T_OK(dt_mul(a, b, &o));
    expect(o, DT_BOOL, andv, 4, "bool * bool");
    dt_tensor_destroy(&o);
    /* bool + int64 -> int64 */
    int64_t s[4] = {10, 20, 31, 41};
    T_OK(dt_add(a, c, &o));
    expect(o, DT_INT64, s, 4, "bool + int64");
    dt_tensor_destroy(&o);
    /* bool / bool -> float32 */
    float d[4] = {NAN, 0.0f, INFINITY, 1.0f};
    T_OK(dt_div(a, b, &o));
    float *g = dt_test_gather_all(o);
    CU_ASSERT(dt_dtype_of(o) == DT_FLOAT32 && g && isnan(g[0]) &&
              g[1] == d[1] && g[2] == d[2] && g[3] == d[3]);
    free(g);
    dt_tensor_destroy(&o);
    /* torch refuses sub with a bool operand and neg of a bool tensor */
    T_ERR(dt_sub(a, b, &o), DT_ERR_DTYPE);
    CU_ASSERT(strstr(dt_last_error(), "dt_sub: Subtraction, the `-` "
                                      "operator, with a bool tensor is not "
                                      "supported") != NULL);
    T_ERR(dt_sub(c, a, &o), DT_ERR_DTYPE);
    T_ERR(dt_neg(a, &o), DT_ERR_DTYPE);
    CU_ASSERT(strstr(dt_last_error(), "dt_neg: Negation, the `-` operator, "
                                      "on a bool tensor") != NULL);
    CU_ASSERT_PTR_NULL(o);
    dt_tensor_destroy(&a);
    dt_tensor_destroy(&b);
    dt_tensor_destroy(&c);
  }
}

/* ---- promotion (torch.result_type) -------------------------------------- */

static void t_promotion(void) {
  float f32[3] = {0.5f, -1.25f, 3.0f};
  double f64[3] = {0.1, 0.2, 0.3};
  int32_t i32[3] = {1, 2, 3};
  int64_t i64[3] = {16777217, -2, 3};
  uint8_t bl[3] = {1, 0, 1};
  int64_t one64 = 1;
  double half64 = 0.5;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *F = vec(3, DT_FLOAT32, f32, k), *D = vec(3, DT_FLOAT64, f64, k);
    dt_tensor *I = vec(3, DT_INT32, i32, 4 - k), *L = vec(3, DT_INT64, i64, k);
    dt_tensor *B = vec(3, DT_BOOL, bl, 4 - k);
    dt_tensor *l0 = scalar0(DT_INT64, &one64), *d0 = scalar0(DT_FLOAT64, &half64);
    dt_tensor *o = NULL;
    /* int64 + float32 -> float32: the category wins, not the size */
    float lf[3] = {16777217.0f + 0.5f, -3.25f, 6.0f};
    T_OK(dt_add(L, F, &o));
    expect(o, DT_FLOAT32, lf, 3, "int64 + float32");
    dt_tensor_destroy(&o);
    /* float32 * float64 -> float64, computed in float64 */
    double fd[3] = {0.5 * 0.1, -1.25 * 0.2, 3.0 * 0.3};
    T_OK(dt_mul(F, D, &o));
    expect(o, DT_FLOAT64, fd, 3, "float32 * float64");
    dt_tensor_destroy(&o);
    /* int32 + 0-d int64 -> int32 (a 0-d operand of the same category does
     * not promote) */
    int32_t il[3] = {2, 3, 4};
    T_OK(dt_add(I, l0, &o));
    expect(o, DT_INT32, il, 3, "int32 + 0-d int64");
    dt_tensor_destroy(&o);
    /* int32 + 0-d float64 -> float64 (a higher category 0-d operand
     * promotes to its own dtype) */
    double id[3] = {1.5, 2.5, 3.5};
    T_OK(dt_add(I, d0, &o));
    expect(o, DT_FLOAT64, id, 3, "int32 + 0-d float64");
    dt_tensor_destroy(&o);
    /* float32 + 0-d float64 -> float32 */
    float fh[3] = {1.0f, -0.75f, 3.5f};
    T_OK(dt_add(d0, F, &o));
    expect(o, DT_FLOAT32, fh, 3, "0-d float64 + float32");
    dt_tensor_destroy(&o);
    /* bool + 0-d int64 -> int64 */
    int64_t bi[3] = {2, 1, 2};
    T_OK(dt_add(B, l0, &o));
    expect(o, DT_INT64, bi, 3, "bool + 0-d int64");
    dt_tensor_destroy(&o);
    /* a Python float scalar: int64 tensor + 2.5 -> float32; float64 stays */
    float ls[3] = {16777217.0f + 2.5f, 0.5f, 5.5f};
    T_OK(dt_add_scalar(L, 2.5, &o));
    expect(o, DT_FLOAT32, ls, 3, "int64 + 2.5");
    dt_tensor_destroy(&o);
    double dm[3] = {0.1 * 3.0, 0.2 * 3.0, 0.3 * 3.0};
    T_OK(dt_mul_scalar(D, 3.0, &o));
    expect(o, DT_FLOAT64, dm, 3, "float64 * 3.0");
    dt_tensor_destroy(&o);
    /* exp of an int tensor is float32 */
    T_OK(dt_exp(I, &o));
    CU_ASSERT_EQUAL(dt_dtype_of(o), DT_FLOAT32);
    dt_tensor_destroy(&o);
    dt_tensor_destroy(&F);
    dt_tensor_destroy(&D);
    dt_tensor_destroy(&I);
    dt_tensor_destroy(&L);
    dt_tensor_destroy(&B);
    dt_tensor_destroy(&l0);
    dt_tensor_destroy(&d0);
  }
}

/* ---- comparisons and where ---------------------------------------------- */

static void t_compare(void) {
  double a[5] = {1.0, 2.0, NAN, -0.0, 3.5};
  int64_t b[5] = {1, 3, 0, 0, 3};
  binop ops[6] = {dt_eq, dt_ne, dt_lt, dt_le, dt_gt, dt_ge};
  /* torch: NaN is unequal to everything; -0.0 == 0 */
  uint8_t want[6][5] = {{1, 0, 0, 1, 0}, {0, 1, 1, 0, 1}, {0, 1, 0, 0, 0},
                        {1, 1, 0, 1, 0}, {0, 0, 0, 0, 1}, {1, 0, 0, 1, 1}};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *x = vec(5, DT_FLOAT64, a, k), *y = vec(5, DT_INT64, b, 4 - k);
    for (int op = 0; op < 6; op++) {
      dt_tensor *o = NULL;
      T_OK(ops[op](x, y, &o));
      expect(o, DT_BOOL, want[op], 5, "comparison");
      CU_ASSERT(!dt_requires_grad(o));
      dt_tensor_destroy(&o);
    }
    dt_tensor_destroy(&x);
    dt_tensor_destroy(&y);
  }
  /* int64 vs float32 compares in float32: 16777217 == 16777216.0f */
  int64_t big = 16777217;
  float bigf = 16777216.0f;
  dt_tensor *p = vec(1, DT_INT64, &big, 0), *q = vec(1, DT_FLOAT32, &bigf, 2);
  dt_tensor *o = NULL;
  uint8_t yes = 1;
  T_OK(dt_eq(p, q, &o));
  expect(o, DT_BOOL, &yes, 1, "int64 == float32");
  dt_tensor_destroy(&o);
  dt_tensor_destroy(&p);
  dt_tensor_destroy(&q);
}

static void t_where(void) {
  uint8_t c[4] = {1, 0, 0, 1};
  int32_t a[4] = {1, 2, 3, 4};
  double b = -0.5;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *C = vec(4, DT_BOOL, c, k), *A = vec(4, DT_INT32, a, 4 - k);
    dt_tensor *B = scalar0(DT_FLOAT64, &b), *o = NULL;
    /* int32 and a 0-d float64: float64 (torch 1.13 promotes in where) */
    double w[4] = {1.0, -0.5, -0.5, 4.0};
    T_OK(dt_where(C, A, B, &o));
    expect(o, DT_FLOAT64, w, 4, "where");
    dt_tensor_destroy(&o);
    /* a float condition is refused with torch's message */
    T_ERR(dt_where(B, A, B, &o), DT_ERR_DTYPE);
    CU_ASSERT(strstr(dt_last_error(), "dt_where: where expected condition "
                                      "to be a boolean tensor, but got a "
                                      "tensor with dtype float64") != NULL);
    dt_tensor_destroy(&C);
    dt_tensor_destroy(&A);
    dt_tensor_destroy(&B);
  }
}

/* ---- dt_to --------------------------------------------------------------- */

static void t_to(void) {
  double v[6] = {0.1, -3.7, 1e20, NAN, -1e20, 2.5};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *x = vec(6, DT_FLOAT64, v, k), *o = NULL;
    /* to int64: truncation toward zero, saturating, NaN -> 0 (dtensor's
     * definition; torch's is platform-defined out of range) */
    int64_t i[6] = {0, -3, INT64_MAX, 0, INT64_MIN, 2};
    T_OK(dt_to(x, DT_INT64, &o));
    expect(o, DT_INT64, i, 6, "to int64");
    dt_tensor_destroy(&o);
    int32_t j[6] = {0, -3, INT32_MAX, 0, INT32_MIN, 2};
    T_OK(dt_to(x, DT_INT32, &o));
    expect(o, DT_INT32, j, 6, "to int32");
    dt_tensor_destroy(&o);
    uint8_t b[6] = {1, 1, 1, 1, 1, 1};
    T_OK(dt_to(x, DT_BOOL, &o));
    expect(o, DT_BOOL, b, 6, "to bool");
    dt_tensor_destroy(&o);
    float f[6] = {0.1f, -3.7f, 1e20f, NAN, -1e20f, 2.5f};
    T_OK(dt_to(x, DT_FLOAT32, &o));
    expect(o, DT_FLOAT32, f, 6, "to float32");
    dt_tensor_destroy(&o);
    /* the same dtype: the tensor itself */
    T_OK(dt_to(x, DT_FLOAT64, &o));
    CU_ASSERT(o == x);
    dt_tensor_destroy(&o);
    T_ERR(dt_to(x, (dt_dtype)99, &o), DT_ERR_DTYPE);
    dt_tensor_destroy(&x);
  }
}

static void t_to_grad(void) {
  float v[3] = {0.5f, -2.0f, 4.0f};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *x = vec(3, DT_FLOAT32, v, k), *y = NULL, *z = NULL, *s = NULL;
    T_OK(dt_requires_grad_(x, true));
    /* float32 -> float64: ToCopyBackward0; the gradient comes back float32 */
    T_OK(dt_to(x, DT_FLOAT64, &y));
    char *repr = NULL;
    T_OK(dt_format(y, &repr));
    CU_ASSERT(repr && strstr(repr, "grad_fn=<ToCopyBackward0>") != NULL);
    free(repr);
    T_OK(dt_mul(y, y, &z));
    T_OK(dt_sum(z, &s));
    T_OK(dt_backward(s, NULL, false));
    float g[3] = {1.0f, -4.0f, 8.0f};
    expect(dt_grad(x), DT_FLOAT32, g, 3, "gradient through to()");
    dt_tensor_destroy(&s);
    dt_tensor_destroy(&z);
    dt_tensor_destroy(&y);
    /* to an integer dtype: not differentiable (no grad_fn), as torch */
    T_OK(dt_to(x, DT_INT64, &y));
    CU_ASSERT(!dt_requires_grad(y) && !dt_has_grad_fn(y));
    /* integer results of arithmetic on it never require grad either */
    T_OK(dt_add(y, y, &z));
    CU_ASSERT(!dt_requires_grad(z));
    dt_tensor_destroy(&z);
    /* int64 * float32 (requires grad) -> float32, differentiable in x */
    T_OK(dt_mul(y, x, &z));
    CU_ASSERT(dt_requires_grad(z) && dt_dtype_of(z) == DT_FLOAT32);
    dt_tensor_destroy(&z);
    dt_tensor_destroy(&y);
    dt_tensor_destroy(&x);
  }
}

/* in place: computed in the result type, cast into a; torch refuses a
 * result of a higher category than a's dtype */
static void t_inplace(void) {
  int32_t a32[3] = {INT32_MAX, 1, -4};
  int64_t b64[3] = {1, (int64_t)1 << 40, 3};
  float f[3] = {1.0f, 2.0f, 3.0f};
  double d[3] = {0.1, 1e-9, 1.0 / 3.0};
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_tensor *a = vec(3, DT_INT32, a32, k), *b = vec(3, DT_INT64, b64, 4 - k);
    dt_tensor *F = vec(3, DT_FLOAT32, f, k), *D = vec(3, DT_FLOAT64, d, 4 - k);
    /* int32 += int64: int64 arithmetic, wrapped into int32 */
    T_OK(dt_add_(a, b));
    int32_t w[3] = {INT32_MIN, 1, -1};
    expect(a, DT_INT32, w, 3, "int32 += int64");
    /* float32 += float64: added in float64, rounded once into float32 */
    T_OK(dt_add_(F, D));
    float wf[3] = {(float)(1.0 + 0.1), (float)(2.0 + 1e-9),
                   (float)(3.0 + 1.0 / 3.0)};
    expect(F, DT_FLOAT32, wf, 3, "float32 += float64");
    T_ERR(dt_div_(a, a), DT_ERR_DTYPE);
    CU_ASSERT(strstr(dt_last_error(), "dt_div_: result type Float can't be "
                                      "cast to the desired output type "
                                      "Int") != NULL);
    T_ERR(dt_add_scalar_(b, 2.5), DT_ERR_DTYPE);
    T_ERR(dt_add_(b, F), DT_ERR_DTYPE);
    dt_tensor_destroy(&a);
    dt_tensor_destroy(&b);
    dt_tensor_destroy(&F);
    dt_tensor_destroy(&D);
  }
}

static const dt_test_case cases[] = {
    {"in place: result type cast into the target", t_inplace},
    {"integer arithmetic: wrap, int32 + int64, true division", t_int_arith},
    {"bool arithmetic and torch's refusals", t_bool_arith},
    {"type promotion: categories, 0-d operands, scalars", t_promotion},
    {"comparisons give bool; NaN; promotion", t_compare},
    {"where: broadcast, promotion, bool condition", t_where},
    {"dt_to: conversions, saturation, the tensor itself", t_to},
    {"dt_to: gradients convert back; integer targets have none", t_to_grad},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "arith", cases);
}
