/*
 * test_fault - one rank fails, every rank answers.
 *
 * For every collective public function, checkpoints included, two sweeps:
 *   - agreement faults: on one rank (the last, then rank 0) the Nth error
 *     agreement of the call contributes a simulated MPI failure, for N = 1,
 *     2, ... until a call runs through without reaching N agreements;
 *   - allocation faults: on one rank the Nth library allocation of the call
 *     returns NULL, for every N the call reaches.
 * Each faulted call must return the same code on every rank (DT_ERR_MPI,
 * DT_ERR_NOMEM), NULL outputs, unchanged inputs (checksums) and, for the
 * in-place ones, an unchanged target; the harness's context destroy then
 * finds no tensor left alive and ASan/LSan (the asan stage) no memory. A
 * hang fails the test through its ctest timeout. Runs at 1-4 ranks.
 */
#include "dt_test.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAXT = 6 };

/* What one attempt works on: inputs made before the fault is armed. */
typedef struct fix {
  dt_tensor *in[MAXT];  /* inputs (must come back unchanged) */
  dt_tensor *tgt;       /* an in-place call's target, or NULL */
  dt_tensor *out[MAXT]; /* outputs (NULL after a failure) */
  dt_ctx *octx;         /* a context output (dt_ctx_create) */
  char *str;            /* dt_format's output */
  void *buf;            /* dt_gather's output */
  int64_t bufbox[8];    /* dt_from_buffer's box, start then shape */
  double data[64];      /* user data (from_data, from_buffer) */
} fix;

/* What a failed call may leave behind besides "unchanged" (README, "After
 * a failed call"). */
enum {
  /* the target's elements may change at the last point only: the exchange
   * has begun writing when the closing agreement fails */
  F_TGT_LAST = 1,
  /* leaves' .grad may hold part of the failed backward's contribution */
  F_GRAD_PARTIAL = 2,
  /* a failed allocation may be absorbed: the call succeeds everywhere
   * (a context without single-copy reads; reshape copying, not viewing) */
  F_FALLBACK_ALLOC = 4,
  F_FALLBACK_AGREE = 8
};

typedef struct op {
  const char *name;
  void (*setup)(fix *f);
  dt_err (*run)(fix *f);
  int flags;
} op;

static const int64_t S65[2] = {6, 5}, S53[2] = {5, 3};

static dt_tensor *randn_(const int64_t *shape, const dt_opts *o) {
  dt_tensor *t = NULL;
  T_OK(dt_randn(T_ctx, 2, shape, o, &t));
  return t;
}

static const dt_opts F64 = {.dtype = DT_FLOAT64};
static const dt_opts F64_S1 = {
    .dtype = DT_FLOAT64, .layout = DT_SPLIT, .split_axis = 1};
static const dt_opts F64_GRAD = {.dtype = DT_FLOAT64, .requires_grad = true};

/* ---- setups ---- */

static void su_none(fix *f) { (void)f; }
static void su_a(fix *f) { f->in[0] = randn_(S65, &F64); }
static void su_ab(fix *f) {
  f->in[0] = randn_(S65, &F64);
  f->in[1] = randn_(S65, &F64_S1);
}
static void su_tgt_b(fix *f) {
  f->tgt = randn_(S65, &F64);
  f->in[0] = randn_(S65, &F64_S1);
}
static void su_tgt(fix *f) { f->tgt = randn_(S65, &F64); }
static void su_mm(fix *f) {
  f->in[0] = randn_(S65, &F64_GRAD);
  f->in[1] = randn_(S53, &F64_S1);
}
/* a graph: loss = sum(matmul(x, w) * x2) with leaves x and w */
static void su_graph(fix *f) {
  dt_tensor *x = randn_(S65, &F64_GRAD), *w = randn_(S53, &F64_GRAD);
  dt_tensor *y = NULL, *z = NULL, *l = NULL;
  T_OK(dt_matmul(x, w, &y));
  T_OK(dt_exp(y, &z));
  T_OK(dt_sum(z, &l));
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&z);
  f->in[0] = x;
  f->in[1] = w;
  f->tgt = l; /* backward's subject: destroyed after, not compared */
}
static void su_ctx(fix *f) { T_OK(dt_ctx_create(MPI_COMM_WORLD, &f->octx)); }
static void su_data(fix *f) {
  for (int i = 0; i < 64; i++)
    f->data[i] = 0.25 * i - 3;
}
static void su_buffer(fix *f) {
  su_data(f);
  /* rows split over the ranks, ranks > 0 one row fewer where they can */
  int64_t r0 = dt__block_start(6, T_size, T_rank);
  int64_t r1 = dt__block_start(6, T_size, T_rank + 1);
  int64_t b[4] = {r0, 0, r1 - r0, 5};
  memcpy(f->bufbox, b, sizeof b);
}

/* ---- operations ---- */

#define OUT0 (&f->out[0])
static dt_err r_ctx_create(fix *f) {
  return dt_ctx_create(MPI_COMM_WORLD, &f->octx);
}
static dt_err r_ctx_destroy(fix *f) { return dt_ctx_destroy(&f->octx); }
static dt_err r_empty(fix *f) { return dt_empty(T_ctx, 2, S65, &F64, OUT0); }
static dt_err r_zeros(fix *f) { return dt_zeros(T_ctx, 2, S65, &F64, OUT0); }
static dt_err r_ones(fix *f) { return dt_ones(T_ctx, 2, S65, &F64_S1, OUT0); }
static dt_err r_full(fix *f) {
  return dt_full(T_ctx, 2, S65, DT_F(2.5), NULL, OUT0);
}
static dt_err r_rand(fix *f) { return dt_rand(T_ctx, 2, S65, &F64, OUT0); }
static dt_err r_randn(fix *f) {
  dt_opts o = {.layout = DT_REPLICATED};
  return dt_randn(T_ctx, 2, S65, &o, OUT0);
}
static dt_err r_randint(fix *f) {
  return dt_randint(T_ctx, -5, 9, 2, S65, NULL, OUT0);
}
static dt_err r_arange(fix *f) {
  return dt_arange(T_ctx, DT_I(0), DT_I(11), DT_I(2), NULL, OUT0);
}
static dt_err r_linspace(fix *f) {
  return dt_linspace(T_ctx, 0, 1, 9, NULL, OUT0);
}
static dt_err r_logspace(fix *f) {
  return dt_logspace(T_ctx, 0, 2, 7, 10, NULL, OUT0);
}
static dt_err r_eye(fix *f) { return dt_eye(T_ctx, 5, 4, NULL, OUT0); }
static dt_err r_from_data(fix *f) {
  return dt_from_data(T_ctx, 2, S65, f->data, DT_FLOAT64, DT_ALL_RANKS, NULL,
                      OUT0);
}
static dt_err r_from_data_root(fix *f) {
  dt_opts o = {.layout = DT_SPLIT, .split_axis = 1};
  return dt_from_data(T_ctx, 2, S65, T_rank == 0 ? f->data : NULL, DT_FLOAT64,
                      0, &o, OUT0);
}
static dt_err r_parse(fix *f) {
  return dt_parse(T_ctx, "[[1.5, 2], [3, 4], [5, 6e3]]", NULL, OUT0);
}
static dt_err r_from_buffer(fix *f) {
  return dt_from_buffer(T_ctx, f->data, DT_FLOAT64, 2, S65, f->bufbox,
                        f->bufbox + 2, OUT0);
}
static dt_err r_empty_like(fix *f) {
  return dt_empty_like(f->in[0], NULL, OUT0);
}
static dt_err r_zeros_like(fix *f) {
  return dt_zeros_like(f->in[0], &F64_S1, OUT0);
}
static dt_err r_ones_like(fix *f) { return dt_ones_like(f->in[0], NULL, OUT0); }
static dt_err r_full_like(fix *f) {
  return dt_full_like(f->in[0], DT_I(3), NULL, OUT0);
}
static dt_err r_rand_like(fix *f) { return dt_rand_like(f->in[0], NULL, OUT0); }
static dt_err r_randn_like(fix *f) {
  return dt_randn_like(f->in[0], NULL, OUT0);
}
static dt_err r_new_tensor(fix *f) {
  return dt_new_tensor(f->in[0], 2, S65, f->data, DT_FLOAT64, NULL, OUT0);
}
static dt_err r_clone(fix *f) { return dt_clone(f->in[0], OUT0); }
static dt_err r_copy_(fix *f) { return dt_copy_(f->tgt, f->in[0]); }
static dt_err r_redistribute(fix *f) {
  return dt_redistribute(f->in[0], &F64_S1, OUT0);
}
static dt_err r_deepcopy(fix *f) { return dt_deepcopy(f->in[0], T_ctx, OUT0); }
static dt_err r_view(fix *f) {
  const int64_t s[1] = {30};
  return dt_view(f->in[0], 1, s, OUT0);
}
static dt_err r_reshape(fix *f) {
  const int64_t s[2] = {3, 10};
  return dt_reshape(f->in[1], 2, s, OUT0);
}
static dt_err r_set_grad(fix *f) { return dt_set_grad(f->tgt, f->in[0]); }
static dt_err r_backward(fix *f) { return dt_backward(f->tgt, NULL, false); }
static dt_err r_add(fix *f) { return dt_add(f->in[0], f->in[1], OUT0); }
static dt_err r_sub(fix *f) { return dt_sub(f->in[0], f->in[1], OUT0); }
static dt_err r_mul(fix *f) { return dt_mul(f->in[0], f->in[1], OUT0); }
static dt_err r_div(fix *f) { return dt_div(f->in[0], f->in[1], OUT0); }
static dt_err r_neg(fix *f) { return dt_neg(f->in[0], OUT0); }
static dt_err r_pow(fix *f) { return dt_pow_scalar(f->in[0], 3, OUT0); }
static dt_err r_adds(fix *f) { return dt_add_scalar(f->in[0], 1.5, OUT0); }
static dt_err r_muls(fix *f) { return dt_mul_scalar(f->in[0], -2, OUT0); }
static dt_err r_exp(fix *f) { return dt_exp(f->in[0], OUT0); }
static dt_err r_log(fix *f) { return dt_log(f->in[0], OUT0); }
static dt_err r_sum(fix *f) { return dt_sum(f->in[0], OUT0); }
static dt_err r_mean(fix *f) { return dt_mean(f->in[0], OUT0); }
static dt_err r_matmul(fix *f) { return dt_matmul(f->in[0], f->in[1], OUT0); }
static dt_err r_add_(fix *f) { return dt_add_(f->tgt, f->in[0]); }
static dt_err r_sub_(fix *f) { return dt_sub_(f->tgt, f->in[0]); }
static dt_err r_mul_(fix *f) { return dt_mul_(f->tgt, f->in[0]); }
static dt_err r_div_(fix *f) { return dt_div_(f->tgt, f->in[0]); }
static dt_err r_adds_(fix *f) { return dt_add_scalar_(f->tgt, 2); }
static dt_err r_muls_(fix *f) { return dt_mul_scalar_(f->tgt, 3); }
static dt_err gc_fn(void *arg, dt_tensor *const *in, dt_tensor **out) {
  (void)arg;
  return dt_mul(in[0], in[0], out);
}
static void su_gc(fix *f) {
  const int64_t s[1] = {3};
  T_OK(dt_randn(T_ctx, 1, s, &F64_GRAD, &f->tgt));
}
static dt_err r_gradcheck(fix *f) {
  double e = 0;
  return dt_gradcheck(gc_fn, NULL, 1, &f->tgt, 1e-6, 1e-5, 1e-4, &e);
}
static dt_err r_gather_root(fix *f) {
  f->buf = malloc(30 * sizeof(double));
  return dt_gather(f->in[0], T_size - 1, f->buf);
}
static dt_err r_gather_all(fix *f) {
  f->buf = malloc(30 * sizeof(double));
  return dt_gather(f->in[1], DT_ALL_RANKS, f->buf);
}
static dt_err r_format(fix *f) { return dt_format(f->in[0], &f->str); }
static dt_err r_print(fix *f) {
  FILE *null = fopen("/dev/null", "w");
  dt_err e = dt_print(f->in[1], null);
  if (null)
    fclose(null);
  return e;
}
static dt_err r_checksum(fix *f) {
  uint64_t c = 0;
  return dt_checksum(f->in[0], &c);
}

/* The operations that arrived with torch parity, and checkpoints. */
static const dt_opts I64 = {.dtype = DT_INT64};
static void su_cond(fix *f) {
  su_ab(f);
  T_OK(dt_lt(f->in[0], f->in[1], &f->in[2]));
}
static void su_int(fix *f) {
  f->in[0] = randn_(S65, &F64);
  /* [5] int64 broadcast against [6, 5] float64: promotion and broadcast */
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(5), DT_I(1), &I64, &f->in[1]));
}
static const int AX1[1] = {1}, AX0[1] = {0};
static dt_err r_eq(fix *f) { return dt_eq(f->in[0], f->in[1], OUT0); }
static dt_err r_lt(fix *f) { return dt_lt(f->in[0], f->in[1], OUT0); }
static dt_err r_where(fix *f) {
  return dt_where(f->in[2], f->in[0], f->in[1], OUT0);
}
static dt_err r_add_int(fix *f) { return dt_add(f->in[0], f->in[1], OUT0); }
static dt_err r_to(fix *f) { return dt_to(f->in[0], DT_FLOAT32, OUT0); }
static dt_err r_sum_dim(fix *f) {
  return dt_sum_dim(f->in[0], 1, AX0, false, OUT0);
}
static dt_err r_mean_dim(fix *f) {
  return dt_mean_dim(f->in[0], 1, AX1, true, OUT0);
}
static dt_err r_amax(fix *f) { return dt_amax(f->in[0], 1, AX0, false, OUT0); }
static dt_err r_argmax(fix *f) { return dt_argmax(f->in[0], AX0, false, OUT0); }
static dt_err r_argmin_flat(fix *f) {
  return dt_argmin(f->in[0], NULL, false, OUT0);
}
static dt_err r_cat(fix *f) {
  const dt_tensor *ts[2] = {f->in[0], f->in[1]};
  return dt_cat(2, ts, 0, OUT0);
}
static dt_err r_stack(fix *f) {
  const dt_tensor *ts[2] = {f->in[0], f->in[1]};
  return dt_stack(2, ts, 1, OUT0);
}
/* One file per rank count and build (the test's working directory is its
 * build tree): the np1..np4 runs, and other builds' runs, may go at once. */
static const char *ck_path(void) {
  static char p[64];
  snprintf(p, sizeof p, "dt_test_fault_np%d.h5", T_size);
  return p;
}
static const char *const CK_NAMES[2] = {"a", "b"};
static dt_err r_save(fix *f) {
  const dt_tensor *ts[2] = {f->in[0], f->in[1]};
  return dt_save(T_ctx, ck_path(), 2, CK_NAMES, ts, NULL);
}
static void su_saved(fix *f) {
  su_ab(f);
  T_OK(r_save(f));
}
static dt_err r_load(fix *f) {
  return dt_load(T_ctx, ck_path(), "b", &F64_S1, OUT0);
}
static dt_err r_load_rng(fix *f) {
  (void)f;
  return dt_load_rng_state(T_ctx, ck_path());
}
static dt_err r_list(fix *f) {
  (void)f;
  int n = 0;
  dt_file_entry *e = NULL;
  dt_err err = dt_list(T_ctx, ck_path(), &n, &e);
  free(e);
  return err;
}

static const op ops[] = {
    {"dt_ctx_create", su_none, r_ctx_create, F_FALLBACK_ALLOC},
    {"dt_ctx_destroy", su_ctx, r_ctx_destroy, 0},
    {"dt_empty", su_none, r_empty, 0},
    {"dt_zeros", su_none, r_zeros, 0},
    {"dt_ones", su_none, r_ones, 0},
    {"dt_full", su_none, r_full, 0},
    {"dt_rand", su_none, r_rand, 0},
    {"dt_randn", su_none, r_randn, 0},
    {"dt_randint", su_none, r_randint, 0},
    {"dt_arange", su_none, r_arange, 0},
    {"dt_linspace", su_none, r_linspace, 0},
    {"dt_logspace", su_none, r_logspace, 0},
    {"dt_eye", su_none, r_eye, 0},
    {"dt_from_data", su_data, r_from_data, 0},
    {"dt_from_data (root scatters)", su_data, r_from_data_root, 0},
    {"dt_parse", su_none, r_parse, 0},
    {"dt_from_buffer", su_buffer, r_from_buffer, 0},
    {"dt_empty_like", su_a, r_empty_like, 0},
    {"dt_zeros_like", su_a, r_zeros_like, 0},
    {"dt_ones_like", su_a, r_ones_like, 0},
    {"dt_full_like", su_a, r_full_like, 0},
    {"dt_rand_like", su_a, r_rand_like, 0},
    {"dt_randn_like", su_a, r_randn_like, 0},
    {"dt_new_tensor", su_a, r_new_tensor, 0},
    {"dt_clone", su_a, r_clone, 0},
    {"dt_copy_", su_tgt_b, r_copy_, F_TGT_LAST},
    {"dt_redistribute", su_a, r_redistribute, 0},
    {"dt_deepcopy", su_a, r_deepcopy, 0},
    {"dt_view", su_a, r_view, 0},
    {"dt_reshape", su_ab, r_reshape, F_FALLBACK_ALLOC | F_FALLBACK_AGREE},
    {"dt_set_grad", su_tgt_b, r_set_grad, 0},
    {"dt_backward", su_graph, r_backward, F_GRAD_PARTIAL},
    {"dt_add", su_ab, r_add, 0},
    {"dt_sub", su_ab, r_sub, 0},
    {"dt_mul", su_ab, r_mul, 0},
    {"dt_div", su_ab, r_div, 0},
    {"dt_neg", su_a, r_neg, 0},
    {"dt_pow_scalar", su_a, r_pow, 0},
    {"dt_add_scalar", su_a, r_adds, 0},
    {"dt_mul_scalar", su_a, r_muls, 0},
    {"dt_exp", su_a, r_exp, 0},
    {"dt_log", su_a, r_log, 0},
    {"dt_sum", su_a, r_sum, 0},
    {"dt_mean", su_a, r_mean, 0},
    {"dt_matmul", su_mm, r_matmul, 0},
    {"dt_add_", su_tgt_b, r_add_, 0},
    {"dt_sub_", su_tgt_b, r_sub_, 0},
    {"dt_mul_", su_tgt_b, r_mul_, 0},
    {"dt_div_", su_tgt_b, r_div_, 0},
    {"dt_add_scalar_", su_tgt, r_adds_, 0},
    {"dt_mul_scalar_", su_tgt, r_muls_, 0},
    {"dt_gradcheck", su_gc, r_gradcheck, 0},
    {"dt_gather (root)", su_a, r_gather_root, 0},
    {"dt_gather (all ranks)", su_ab, r_gather_all, 0},
    {"dt_format", su_a, r_format, 0},
    {"dt_print", su_ab, r_print, 0},
    {"dt_checksum", su_a, r_checksum, 0},
    {"dt_eq", su_ab, r_eq, 0},
    {"dt_lt", su_ab, r_lt, 0},
    {"dt_where", su_cond, r_where, 0},
    {"dt_add (float64 [6,5] + int64 [5])", su_int, r_add_int, 0},
    {"dt_to", su_a, r_to, 0},
    {"dt_sum_dim", su_a, r_sum_dim, 0},
    {"dt_mean_dim", su_a, r_mean_dim, 0},
    {"dt_amax", su_a, r_amax, 0},
    {"dt_argmax", su_a, r_argmax, 0},
    {"dt_argmin (flattened)", su_a, r_argmin_flat, 0},
    {"dt_cat", su_ab, r_cat, 0},
    {"dt_stack", su_ab, r_stack, 0},
    {"dt_save", su_ab, r_save, 0},
    {"dt_load", su_saved, r_load, 0},
    {"dt_load_rng_state", su_saved, r_load_rng, 0},
    {"dt_list", su_saved, r_list, 0},
    {NULL, NULL, NULL, 0}};

/* ---- the sweep ---- */

static uint64_t sum_of(const dt_tensor *t) {
  uint64_t c = 0;
  if (t && dt_checksum(t, &c) != DT_OK)
    c = 1;
  return c;
}

static void fix_free(fix *f) {
  for (int k = 0; k < MAXT; k++) {
    dt_tensor_destroy(&f->in[k]);
    dt_tensor_destroy(&f->out[k]);
  }
  dt_tensor_destroy(&f->tgt);
  if (f->octx)
    T_OK(dt_ctx_destroy(&f->octx));
  free(f->str);
  free(f->buf);
}

static bool all_same(int v) {
  int lo, hi;
  MPI_Allreduce(&v, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&v, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

static long any_long(long v) {
  long m;
  MPI_Allreduce(&v, &m, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
  return m;
}

/* verbose: DT_TEST_VERBOSE=1 prints each operation's fault-point count */
static bool verbose(void) {
  const char *v = getenv("DT_TEST_VERBOSE");
  return v && *v == '1';
}

/* Fail every point of `o` in turn on rank `victim`; returns the number of
 * points (faults that fired). */
static long sweep(const op *o, dt__fault_kind kind, int victim) {
  const dt_err want = kind == DT__FAULT_ALLOC ? DT_ERR_NOMEM : DT_ERR_MPI;
  const char *kname = kind == DT__FAULT_ALLOC ? "allocation" : "agreement";
  const int fallback = o->flags & (kind == DT__FAULT_ALLOC ? F_FALLBACK_ALLOC
                                                           : F_FALLBACK_AGREE);
  long n, tgt_changed_at = 0;
  for (n = 1; n < 2000; n++) {
    fix f;
    memset(&f, 0, sizeof f);
    o->setup(&f);
    uint64_t before[MAXT + 1];
    for (int k = 0; k < MAXT; k++)
      before[k] = sum_of(f.in[k]);
    bool tgt_cmp = f.tgt && o->run != r_backward;
    before[MAXT] = tgt_cmp ? sum_of(f.tgt) : 0;
    if (T_rank == victim)
      dt__fault_arm(kind, n);
    dt_err e = o->run(&f);
    long fired = dt__fault_fired();
    dt__fault_disarm();
    fired = any_long(fired);
    if (!fired) {
      if (e != DT_OK)
        fprintf(stderr, "[rank %d] %s: %s without a fault: %s\n", T_rank,
                o->name, dt_err_name(e), dt_last_error());
      CU_ASSERT_EQUAL(e, DT_OK);
      fix_free(&f);
      break;
    }
    bool same = all_same((int)e);
    bool ok = same && (e == want || (fallback && e == DT_OK));
    if (!ok)
      fprintf(stderr,
              "[rank %d] %s, %s fault %ld on rank %d: %s (%s), same on every "
              "rank: %d\n",
              T_rank, o->name, kname, n, victim, dt_err_name(e),
              dt_last_error(), same);
    CU_ASSERT(ok);
    if (e != DT_OK) {
      for (int k = 0; k < MAXT; k++)
        CU_ASSERT_PTR_NULL(f.out[k]);
      CU_ASSERT_PTR_NULL(f.str);
      if (o->run == r_ctx_create)
        CU_ASSERT_PTR_NULL(f.octx);
    }
    /* inputs are as they were; so is the target, but see F_TGT_LAST */
    bool in_changed = false;
    for (int k = 0; k < MAXT; k++)
      in_changed |= sum_of(f.in[k]) != before[k];
    if (in_changed)
      fprintf(stderr, "[rank %d] %s, %s fault %ld: an input changed\n", T_rank,
              o->name, kname, n);
    CU_ASSERT(!in_changed);
    if (tgt_cmp && sum_of(f.tgt) != before[MAXT]) {
      if (!(o->flags & F_TGT_LAST))
        fprintf(stderr, "[rank %d] %s, %s fault %ld: the target changed\n",
                T_rank, o->name, kname, n);
      CU_ASSERT(o->flags & F_TGT_LAST);
      tgt_changed_at = n;
    }
    if (o->run == r_backward && !(o->flags & F_GRAD_PARTIAL))
      CU_ASSERT(dt_grad(f.in[0]) == NULL && dt_grad(f.in[1]) == NULL);
    fix_free(&f);
    /* nothing left alive on the context (the harness checks it only once) */
    long live = atomic_load(&T_ctx->live);
    if (live)
      fprintf(stderr, "[rank %d] %s, %s fault %ld: %ld tensor(s) leaked\n",
              T_rank, o->name, kname, n, live);
    CU_ASSERT_EQUAL(live, 0);
    atomic_store(&T_ctx->live, 0);
  }
  /* F_TGT_LAST: only the closing agreement may find the target written */
  if (tgt_changed_at && tgt_changed_at != n - 1)
    fprintf(stderr, "[rank %d] %s: target changed at %s point %ld of %ld\n",
            T_rank, o->name, kname, tgt_changed_at, n - 1);
  CU_ASSERT(tgt_changed_at == 0 || tgt_changed_at == n - 1);
  return n - 1;
}

static void run_sweeps(dt__fault_kind kind, const char *const *only) {
  for (const op *o = ops; o->name; o++) {
    if (only) {
      bool in = false;
      for (const char *const *s = only; *s; s++)
        in = in || strcmp(*s, o->name) == 0;
      if (!in)
        continue;
    }
    long pts = sweep(o, kind, T_size - 1);
    /* every rank takes part in the same agreements; allocations differ
     * (a root allocates what the others do not) */
    if (T_size > 1) {
      long pts0 = sweep(o, kind, 0);
      if (kind == DT__FAULT_AGREE)
        CU_ASSERT_EQUAL(pts0, pts);
    }
    /* every collective call has at least one agreement point; a call may
     * allocate nothing (a view at one rank) */
    if (pts == 0 && T_rank == 0)
      fprintf(stderr, "%s: no %s point reached\n", o->name,
              kind == DT__FAULT_ALLOC ? "allocation" : "agreement");
    if (kind == DT__FAULT_AGREE)
      CU_ASSERT(pts > 0);
    if (verbose() && T_rank == 0)
      printf("  %-28s %3ld %s points\n", o->name, pts,
             kind == DT__FAULT_ALLOC ? "allocation" : "agreement");
  }
}

/* A simulated MPI failure at every agreement point of every call. */
static void t_agree_every_call(void) { run_sweeps(DT__FAULT_AGREE, NULL); }

/* Allocation failure at every allocation of creation, copies and backward. */
static void t_alloc_core(void) {
  static const char *const core[] = {"dt_ctx_create",
                                     "dt_zeros",
                                     "dt_randn",
                                     "dt_from_data",
                                     "dt_from_data (root scatters)",
                                     "dt_parse",
                                     "dt_from_buffer",
                                     "dt_clone",
                                     "dt_copy_",
                                     "dt_redistribute",
                                     "dt_deepcopy",
                                     "dt_backward",
                                     NULL};
  run_sweeps(DT__FAULT_ALLOC, core);
}

/* The same for every other call. */
static void t_alloc_rest(void) {
  static const char *const rest[] = {"dt_empty",
                                     "dt_ones",
                                     "dt_full",
                                     "dt_rand",
                                     "dt_randint",
                                     "dt_arange",
                                     "dt_linspace",
                                     "dt_logspace",
                                     "dt_eye",
                                     "dt_empty_like",
                                     "dt_zeros_like",
                                     "dt_ones_like",
                                     "dt_full_like",
                                     "dt_rand_like",
                                     "dt_randn_like",
                                     "dt_new_tensor",
                                     "dt_view",
                                     "dt_reshape",
                                     "dt_set_grad",
                                     "dt_add",
                                     "dt_sub",
                                     "dt_mul",
                                     "dt_div",
                                     "dt_neg",
                                     "dt_pow_scalar",
                                     "dt_add_scalar",
                                     "dt_mul_scalar",
                                     "dt_exp",
                                     "dt_log",
                                     "dt_sum",
                                     "dt_mean",
                                     "dt_matmul",
                                     "dt_add_",
                                     "dt_sub_",
                                     "dt_mul_",
                                     "dt_div_",
                                     "dt_gradcheck",
                                     "dt_gather (root)",
                                     "dt_format",
                                     "dt_print",
                                     NULL};
  run_sweeps(DT__FAULT_ALLOC, rest);
}

/* The environment arms the same faults (DT_FAULT_AGREE, DT_FAULT_RANK):
 * read at the first event, so this only checks the explicit arm's reset. */
static void t_named_site(void) {
  /* DT_FAULT is the new name of DT_FAULT_ALLOC */
  char r[16];
  snprintf(r, sizeof r, "%d", T_size - 1);
  setenv("DT_FAULT_RANK", r, 1);
  setenv("DT_FAULT", "deepcopy", 1);
  dt_tensor *a = randn_(S65, &F64), *b = NULL;
  T_ERR(dt_deepcopy(a, T_ctx, &b), DT_ERR_NOMEM);
  CU_ASSERT_PTR_NULL(b);
  unsetenv("DT_FAULT");
  setenv("DT_FAULT_ALLOC", "deepcopy", 1);
  T_ERR(dt_deepcopy(a, T_ctx, &b), DT_ERR_NOMEM);
  unsetenv("DT_FAULT_ALLOC");
  unsetenv("DT_FAULT_RANK");
  T_OK(dt_deepcopy(a, T_ctx, &b));
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
}

static const dt_test_case cases[] = {
    {"agreement fault at every point of every call", t_agree_every_call},
    {"allocation fault: create, copies, backward", t_alloc_core},
    {"allocation fault: every other call", t_alloc_rest},
    {"named fault sites (DT_FAULT, DT_FAULT_ALLOC)", t_named_site},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "fault", cases);
}
