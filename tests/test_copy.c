/*
 * test_copy - gather, clone, copy_ and redistribute at 1-4 ranks.
 *
 * copy_ runs over random pairs of layouts (split on each axis, replicated,
 * cuts with empty shards, 2-D grids, sliced and transposed views on both
 * sides), dtypes and broadcast shapes; the gathered result must equal, bit
 * for bit, copying the gathered arrays on one rank.
 */
#include "dt_test.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* Choices come from the library's own generator, not rand(). */
static uint32_t pick_state[4];
static uint32_t pick(uint32_t n) {
  static uint32_t ctr = 0;
  uint32_t c[4] = {ctr++, 0, 77, 0}, k[2] = {2024, 11}, o[4];
  dt__philox4x32_10(c, k, o);
  pick_state[0] = o[0];
  return o[0] % n;
}

static void t_gather_roots_and_layouts(void) {
  const int64_t shape[3] = {5, 4, 3};
  int64_t want[60];
  for (int i = 0; i < 60; i++)
    want[i] = i * 7 - 3;
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts cuts;
    dt_opts o = dt_test_layout(k, 3, shape, &cuts, NULL);
    dt_tensor *t = NULL;
    T_OK(dt_from_data(T_ctx, 3, shape, want, DT_INT64, DT_ALL_RANKS, &o, &t));
    for (int root = -1; root < T_size; root++) {
      int64_t got[60];
      memset(got, 0xff, sizeof got);
      T_OK(dt_gather(t, root, got));
      if (root == DT_ALL_RANKS || root == T_rank)
        CU_ASSERT(memcmp(got, want, sizeof want) == 0);
    }
    dt_tensor_destroy(&t);
  }
}

static void t_gather_empty(void) {
  const int64_t shape[2] = {0, 5};
  dt_tensor *t = NULL;
  T_OK(dt_zeros(T_ctx, 2, shape, NULL, &t));
  T_OK(dt_gather(t, 0, NULL));
  T_OK(dt_gather(t, DT_ALL_RANKS, NULL));
  dt_tensor_destroy(&t);
  /* more ranks than rows: some shards are empty */
  const int64_t one[2] = {1, 3};
  T_OK(dt_ones(T_ctx, 2, one, &(dt_opts){.dtype = DT_BOOL}, &t));
  uint8_t b[3] = {0};
  T_OK(dt_gather(t, DT_ALL_RANKS, b));
  CU_ASSERT(b[0] == 1 && b[1] == 1 && b[2] == 1);
  dt_tensor_destroy(&t);
}

static void t_gather_bad(void) {
  const int64_t n = 4;
  dt_tensor *t = NULL;
  T_OK(dt_zeros(T_ctx, 1, &n, NULL, &t));
  float buf[4];
  T_ERR(dt_gather(t, T_size, buf), DT_ERR_RANK);
  T_ERR(dt_gather(t, -5, buf), DT_ERR_RANK);
  /* the root passes NULL: every rank gets the error */
  T_ERR(dt_gather(t, 0, T_rank == 0 ? NULL : buf), DT_ERR_NULL);
  T_ERR(dt_gather(NULL, 0, buf), DT_ERR_NULL);
  dt_tensor_destroy(&t);
}

/* ---- sources and destinations in many shapes of layout ------------------- */

enum { NKINDS = 8 };
static const char *kind_name[NKINDS] = {
    "split 0",        "split last",
    "replicated",     "cuts with an empty shard",
    "2-D grid",       "slice of a bigger tensor",
    "transpose view", "narrow slice (step 2)"};

/*
 * A tensor of `shape` and `dtype` with random values in layout kind k. Views
 * (k >= 5) also return their base in *base, to be destroyed after.
 */
static dt_tensor *make_kind(int k, int nd, const int64_t *shape, dt_dtype dtype,
                            uint64_t seed, dt_tensor **base) {
  dt_tensor *t = NULL, *b = NULL, *v = NULL;
  int64_t lo = dtype == DT_BOOL ? 0 : -50, hi = dtype == DT_BOOL ? 2 : 50;
  *base = NULL;
  T_OK(dt_manual_seed(T_ctx, seed));
  dt_opts o = {.dtype = dtype};
  if (nd == 0)
    k = 0; /* a 0-d tensor has one layout: replicated */
  if (k < 5) {
    dt_test_cuts cuts;
    o = dt_test_layout(k, nd, shape, &cuts, NULL);
    o.dtype = dtype;
    T_OK(dt_randint(T_ctx, lo, hi, nd, shape, &o, &t));
    return t;
  }
  int64_t big[DT_MAX_DIMS];
  for (int d = 0; d < nd; d++)
    big[d] = shape[d];
  if (k == 5 && nd > 0) {
    big[0] = shape[0] + 3;
    T_OK(dt_randint(T_ctx, lo, hi, nd, big, &o, &b));
    T_OK(dt_slice(b, 0, 2, 2 + shape[0], 1, &t));
  } else if (k == 6 && nd > 1) {
    big[0] = shape[1];
    big[1] = shape[0];
    dt_opts so = {.dtype = dtype, .layout = DT_SPLIT, .split_axis = 1};
    T_OK(dt_randint(T_ctx, lo, hi, nd, big, &so, &b));
    T_OK(dt_transpose(b, 0, 1, &t));
  } else if (k == 7 && nd > 0) {
    big[nd - 1] = 2 * shape[nd - 1] + 1;
    T_OK(dt_randint(T_ctx, lo, hi, nd, big, &o, &b));
    T_OK(dt_slice(b, nd - 1, 1, 1 + 2 * shape[nd - 1], 2, &v));
    t = v;
  } else {
    T_OK(dt_randint(T_ctx, lo, hi, nd, shape, &o, &t));
  }
  *base = b;
  return t;
}

/* copy_ on one rank from the gathered arrays: the reference. */
static void *reference_copy(const dt_tensor *dst, const dt_tensor *src) {
  dt_ctx *self = dt_test_self_ctx();
  void *d0 = dt_test_gather_all(dst), *s0 = dt_test_gather_all(src);
  dt_tensor *rd = NULL, *rs = NULL;
  T_OK(dt_from_data(self, dt_ndim(dst), dt_shape(dst), d0, dt_dtype_of(dst),
                    DT_ALL_RANKS, NULL, &rd));
  T_OK(dt_from_data(self, dt_ndim(src), dt_shape(src), s0, dt_dtype_of(src),
                    DT_ALL_RANKS, NULL, &rs));
  T_OK(dt_copy_(rd, rs));
  void *want = dt_test_gather_all(rd);
  dt_tensor_destroy(&rd);
  dt_tensor_destroy(&rs);
  free(d0);
  free(s0);
  return want;
}

static int copy_case(int kd, int ks, dt_dtype ddt, dt_dtype sdt, int nd,
                     const int64_t *dshape, int ns, const int64_t *sshape) {
  dt_tensor *db = NULL, *sb = NULL;
  dt_tensor *dst = make_kind(kd, nd, dshape, ddt, 11, &db);
  dt_tensor *src = make_kind(ks, ns, sshape, sdt, 12, &sb);
  void *want = reference_copy(dst, src);
  T_OK(dt_copy_(dst, src));
  void *got = dt_test_gather_all(dst);
  size_t n = (size_t)dt_numel(dst) * dt_dtype_size(ddt);
  int same = want && got && dt_test_same_bits(want, got, n);
  if (!same)
    fprintf(stderr, "[rank %d] copy_ %s %s <- %s %s (ndim %d <- %d) differs\n",
            T_rank, kind_name[kd], dt_dtype_name(ddt), kind_name[ks],
            dt_dtype_name(sdt), nd, ns);
  free(want);
  free(got);
  dt_tensor_destroy(&dst);
  dt_tensor_destroy(&src);
  dt_tensor_destroy(&db);
  dt_tensor_destroy(&sb);
  return same;
}

/* Every pair of layout kinds, same shape and dtype (the fast path). */
static void t_copy_all_layout_pairs(void) {
  const int64_t s3[3] = {5, 4, 3};
  int bad = 0;
  for (int kd = 0; kd < NKINDS; kd++)
    for (int ks = 0; ks < NKINDS; ks++)
      bad += !copy_case(kd, ks, DT_FLOAT64, DT_FLOAT64, 3, s3, 3, s3);
  CU_ASSERT_EQUAL(bad, 0);
}

/* Random pairs of layouts, dtypes and broadcast shapes. */
static void t_copy_random_pairs(void) {
  const dt_dtype dts[5] = {DT_FLOAT32, DT_FLOAT64, DT_INT32, DT_INT64, DT_BOOL};
  const int64_t dshape[3] = {5, 4, 3};
  const int64_t bshapes[8][3] = {{5, 4, 3}, {4, 3, 0}, {1, 4, 3}, {5, 1, 3},
                                 {3, 0, 0}, {1, 0, 0}, {5, 4, 1}, {0, 0, 0}};
  const int bnd[8] = {3, 2, 3, 3, 1, 1, 3, 0};
  int bad = 0;
  for (int c = 0; c < 60; c++) {
    int kd = (int)pick(NKINDS), ks = (int)pick(NKINDS), b = (int)pick(8);
    dt_dtype ddt = dts[pick(5)], sdt = dts[pick(5)];
    bad += !copy_case(kd, ks, ddt, sdt, 3, dshape, bnd[b], bshapes[b]);
  }
  CU_ASSERT_EQUAL(bad, 0);
}

/* Large strided pieces (packed rather than sent as datatypes). */
static void t_copy_large_pieces(void) {
  const int64_t s2[2] = {600, 700};
  int bad = 0;
  bad += !copy_case(0, 1, DT_FLOAT64, DT_FLOAT64, 2, s2, 2, s2);
  bad += !copy_case(1, 0, DT_FLOAT64, DT_FLOAT64, 2, s2, 2, s2);
  bad += !copy_case(1, 6, DT_FLOAT32, DT_FLOAT32, 2, s2, 2, s2);
  bad += !copy_case(7, 4, DT_FLOAT64, DT_FLOAT64, 2, s2, 2, s2);
  CU_ASSERT_EQUAL(bad, 0);
}

/* The pulls of large strided pieces with process_vm_readv cut small: one
 * iovec entry per side per call (dense destination rows merge, every
 * source row ends a call), then an odd byte cap that splits rows inside an
 * element. */
static void t_copy_cma_cut_calls(void) {
  const int64_t s2[2] = {600, 700};
  int saved_iov = dt__cma_iov_max;
  size_t saved_max = dt__cma_call_max;
  const struct {
    int iov;
    size_t max;
  } cuts[2] = {{1, (size_t)1 << 30}, {1024, 4099}};
  int bad = 0;
  for (int c = 0; c < 2; c++) {
    dt__cma_iov_max = cuts[c].iov;
    dt__cma_call_max = cuts[c].max;
    bad += !copy_case(0, 1, DT_FLOAT64, DT_FLOAT64, 2, s2, 2, s2);
    bad += !copy_case(1, 0, DT_FLOAT32, DT_FLOAT32, 2, s2, 2, s2);
  }
  dt__cma_iov_max = saved_iov;
  dt__cma_call_max = saved_max;
  CU_ASSERT_EQUAL(bad, 0);
}

/* Known values: broadcasting a column and converting float to int. */
static void t_copy_known_values(void) {
  const int64_t ds[2] = {3, 4}, ss[2] = {3, 1};
  double col[3] = {1.9, -2.5, 7.0};
  dt_tensor *d = NULL, *s = NULL;
  T_OK(dt_zeros(
      T_ctx, 2, ds,
      &(dt_opts){.dtype = DT_INT32, .layout = DT_SPLIT, .split_axis = 1}, &d));
  T_OK(dt_from_data(T_ctx, 2, ss, col, DT_FLOAT64, 0, NULL, &s));
  T_OK(dt_copy_(d, s));
  int32_t *g = dt_test_gather_all(d);
  const int32_t want[12] = {1, 1, 1, 1, -2, -2, -2, -2, 7, 7, 7, 7};
  CU_ASSERT(g && memcmp(g, want, sizeof want) == 0);
  free(g);
  dt_tensor_destroy(&d);
  dt_tensor_destroy(&s);
}

/* Message splitting: with a tiny message limit every path cuts its
 * transfers into many pieces and still lands the same bits. */
static void t_copy_split_messages(void) {
  size_t saved = dt__msg_max;
  dt__msg_max = 64;
  const int64_t s3[3] = {5, 4, 3}, b2[2] = {4, 3};
  int bad = 0;
  for (int kd = 0; kd < NKINDS; kd += 3)
    for (int ks = 1; ks < NKINDS; ks += 2) {
      bad += !copy_case(kd, ks, DT_FLOAT32, DT_FLOAT32, 3, s3, 3, s3);
      bad += !copy_case(kd, ks, DT_INT64, DT_FLOAT32, 3, s3, 2, b2);
    }
  const int64_t n = 1000;
  dt_tensor *a = NULL, *g = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(n), DT_I(1), NULL, &a));
  int64_t *buf = malloc(sizeof(int64_t) * n);
  T_OK(dt_gather(a, DT_ALL_RANKS, buf));
  int ok = 1;
  for (int64_t i = 0; i < n; i++)
    ok = ok && buf[i] == i;
  CU_ASSERT(ok);
  T_OK(dt_redistribute(a, &(dt_opts){.layout = DT_REPLICATED}, &g));
  CU_ASSERT(memcmp(dt_local_data(g), buf, sizeof(int64_t) * n) == 0);
  free(buf);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&g);
  dt__msg_max = saved;
  CU_ASSERT_EQUAL(bad, 0);
}

/* copy_ writes into dst's storage: views of dst and a user buffer see it. */
static void t_copy_writes_in_place(void) {
  /* dst is a slice of a bigger tensor: only that part of the base changes */
  const int64_t bs[2] = {9, 7};
  dt_tensor *base = NULL, *v1 = NULL, *v2 = NULL, *src = NULL;
  T_OK(dt_zeros(T_ctx, 2, bs, &(dt_opts){.dtype = DT_FLOAT64}, &base));
  T_OK(dt_slice(base, 0, 2, 8, 2, &v1)); /* rows 2, 4, 6 */
  T_OK(dt_slice(v1, 1, 1, 6, 1, &v2));   /* columns 1..5 */
  CU_ASSERT(dt_shares_memory(base, v2));
  const int64_t ss[2] = {3, 5};
  T_OK(dt_arange(T_ctx, DT_I(1), DT_I(16), DT_I(1),
                 &(dt_opts){.dtype = DT_FLOAT64}, &src));
  dt_tensor *src2 = NULL;
  T_OK(dt_reshape(src, 2, ss, &src2)); /* a view only at one rank */
  T_OK(dt_copy_(v2, src2));
  double *g = dt_test_gather_all(base);
  int ok = g != NULL;
  for (int i = 0; ok && i < 9; i++)
    for (int j = 0; j < 7; j++) {
      double want = 0;
      if (i >= 2 && i < 8 && i % 2 == 0 && j >= 1 && j < 6)
        want = (double)((i - 2) / 2 * 5 + (j - 1) + 1);
      ok = ok && g[i * 7 + j] == want;
    }
  CU_ASSERT(ok);
  free(g);
  dt_tensor_destroy(&v2);
  dt_tensor_destroy(&v1);
  dt_tensor_destroy(&src2);
  dt_tensor_destroy(&src);
  dt_tensor_destroy(&base);
  /* dst over a user buffer: the buffer changes */
  const int64_t n = 10;
  int64_t cnt = 10 / T_size + (T_rank < 10 % T_size);
  float *buf = calloc((size_t)cnt + 1, sizeof(float));
  dt_tensor *fb = NULL, *ones = NULL;
  T_OK(dt_from_buffer(T_ctx, buf, DT_FLOAT32, 1, &n, NULL, NULL, &fb));
  T_OK(dt_ones(T_ctx, 1, &n,
               &(dt_opts){.layout = DT_REPLICATED, .dtype = DT_INT64}, &ones));
  T_OK(dt_copy_(fb, ones));
  int all = 1;
  for (int64_t i = 0; i < cnt; i++)
    all = all && buf[i] == 1.0f;
  CU_ASSERT(all);
  CU_ASSERT(dt_local_data(fb) == (cnt ? (void *)buf : NULL));
  dt_tensor_destroy(&fb);
  dt_tensor_destroy(&ones);
  free(buf);
}

/* Source and destination overlapping in memory: as if src were read first. */
static void t_copy_overlap(void) {
  const int64_t n = 10;
  dt_tensor *x = NULL, *a = NULL, *b = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(n), DT_I(1), NULL, &x));
  T_OK(dt_slice(x, 0, 0, 9, 1, &a));
  T_OK(dt_slice(x, 0, 1, 10, 1, &b));
  T_OK(dt_copy_(a, b)); /* shift left by one */
  int64_t *g = dt_test_gather_all(x);
  int ok = g != NULL;
  for (int i = 0; ok && i < 9; i++)
    ok = g[i] == i + 1;
  CU_ASSERT(ok && g[9] == 9);
  free(g);
  T_OK(dt_copy_(x, x)); /* itself */
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&x);
  /* a square matrix and its own transpose */
  const int64_t sq[2] = {5, 5};
  dt_tensor *m = NULL, *mt = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(25), DT_I(1), NULL, &x));
  T_OK(dt_reshape(x, 2, sq, &m));
  T_OK(dt_transpose(m, 0, 1, &mt));
  T_OK(dt_copy_(m, mt));
  g = dt_test_gather_all(m);
  ok = g != NULL;
  for (int i = 0; ok && i < 5; i++)
    for (int j = 0; j < 5; j++)
      ok = ok && g[i * 5 + j] == j * 5 + i;
  CU_ASSERT(ok);
  free(g);
  dt_tensor_destroy(&mt);
  dt_tensor_destroy(&m);
  dt_tensor_destroy(&x);
}

static void t_copy_bad_input(void) {
  const int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s4[1] = {4};
  dt_tensor *a = NULL, *b = NULL, *c = NULL;
  T_OK(dt_zeros(T_ctx, 2, s23, NULL, &a));
  T_OK(dt_zeros(T_ctx, 2, s32, NULL, &b));
  T_OK(dt_zeros(T_ctx, 1, s4, NULL, &c));
  T_ERR(dt_copy_(a, b), DT_ERR_SHAPE);
  CU_ASSERT(strstr(dt_last_error(),
                   "dt_copy_: source shape [3, 2] cannot be "
                   "broadcast to destination shape [2, 3]") != NULL);
  T_ERR(dt_copy_(a, c), DT_ERR_SHAPE);
  T_ERR(dt_copy_(c, a), DT_ERR_SHAPE);
  T_ERR(dt_copy_(a, NULL), DT_ERR_NULL);
  T_ERR(dt_copy_(NULL, a), DT_ERR_NULL);
  /* into a leaf that requires grad with grad mode on */
  dt_tensor *leaf = NULL;
  T_OK(dt_zeros(T_ctx, 2, s23, &(dt_opts){.requires_grad = true}, &leaf));
  T_ERR(dt_copy_(leaf, a), DT_ERR_AUTOGRAD);
  dt_tensor_destroy(&leaf);
  /* a context over other ranks */
  if (T_size > 1) {
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, T_rank % 2, T_rank, &half);
    dt_ctx *hc = NULL;
    T_OK(dt_ctx_create(half, &hc));
    dt_tensor *h = NULL;
    T_OK(dt_zeros(hc, 2, s23, NULL, &h));
    T_ERR(dt_copy_(a, h), DT_ERR_CONTEXT);
    dt_tensor_destroy(&h);
    T_OK(dt_ctx_destroy(&hc));
    MPI_Comm_free(&half);
  }
  /* a congruent context (another dup of the same ranks) is fine */
  dt_ctx *other = NULL;
  T_OK(dt_ctx_create(MPI_COMM_WORLD, &other));
  dt_tensor *o = NULL;
  T_OK(dt_ones(other, 2, s23, NULL, &o));
  T_OK(dt_copy_(a, o));
  dt_tensor_destroy(&o);
  T_OK(dt_ctx_destroy(&other));
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&c);
}

/* ---- clone and redistribute ---------------------------------------------- */

static void t_clone(void) {
  const int64_t s[2] = {7, 5};
  for (int k = 0; k < NKINDS; k++) {
    dt_tensor *base = NULL, *c = NULL;
    dt_tensor *t = make_kind(k, 2, s, DT_FLOAT32, 3, &base);
    T_OK(dt_clone(t, &c));
    CU_ASSERT(dt_is_contiguous(c));
    CU_ASSERT(!dt_shares_memory(c, t));
    CU_ASSERT_EQUAL(dt_dtype_of(c), DT_FLOAT32);
    /* same layout: every rank owns the same box */
    int64_t a0[2], a1[2], b0[2], b1[2];
    dt_local_box(t, a0, a1);
    dt_local_box(c, b0, b1);
    CU_ASSERT(a1[0] == b1[0] && a1[1] == b1[1] &&
              (a1[0] * a1[1] == 0 || a0[0] == b0[0]));
    void *x = dt_test_gather_all(t), *y = dt_test_gather_all(c);
    CU_ASSERT(x && y && memcmp(x, y, sizeof(float) * 35) == 0);
    /* independent: writing the clone leaves the source alone */
    if (dt_local_numel(c) > 0)
      ((float *)dt_local_data(c))[0] = 1e9f;
    void *x2 = dt_test_gather_all(t);
    CU_ASSERT(x2 && memcmp(x, x2, sizeof(float) * 35) == 0);
    free(x);
    free(x2);
    free(y);
    dt_tensor_destroy(&c);
    dt_tensor_destroy(&t);
    dt_tensor_destroy(&base);
  }
  dt_tensor *r = NULL, *c = NULL;
  T_OK(dt_zeros(T_ctx, 2, s, &(dt_opts){.requires_grad = true}, &r));
  T_OK(dt_clone(r, &c));
  CU_ASSERT(dt_requires_grad(c));
  dt_tensor_destroy(&c);
  /* the source goes first: the clone must not notice (ASan checks) */
  T_OK(dt_clone(r, &c));
  dt_tensor_destroy(&r);
  CU_ASSERT_EQUAL(dt_numel(c), 35);
  dt_tensor_destroy(&c);
  T_ERR(dt_clone(NULL, &c), DT_ERR_NULL);
}

static void t_redistribute(void) {
  const int64_t s[3] = {6, 5, 4};
  dt_tensor *t = NULL;
  T_OK(dt_rand(T_ctx, 3, s, NULL, &t));
  void *want = dt_test_gather_all(t);
  for (int k = 0; k < DT_TEST_NLAYOUTS; k++) {
    dt_test_cuts cuts;
    dt_opts o = dt_test_layout(k, 3, s, &cuts, NULL);
    dt_tensor *r = NULL;
    T_OK(dt_redistribute(t, &o, &r));
    void *got = dt_test_gather_all(r);
    CU_ASSERT(got && memcmp(got, want, sizeof(float) * 120) == 0);
    uint64_t c1 = 0, c2 = 1;
    T_OK(dt_checksum(t, &c1));
    T_OK(dt_checksum(r, &c2));
    CU_ASSERT_EQUAL(c1, c2);
    free(got);
    dt_tensor_destroy(&r);
  }
  dt_tensor *r = NULL;
  T_OK(dt_redistribute(
      t, &(dt_opts){.dtype = DT_FLOAT64, .layout = DT_SPLIT, .split_axis = 2},
      &r));
  CU_ASSERT_EQUAL(dt_dtype_of(r), DT_FLOAT64);
  dt_tensor_destroy(&r);
  T_ERR(dt_redistribute(t, &(dt_opts){.layout = DT_SPLIT, .split_axis = 3}, &r),
        DT_ERR_AXIS);
  CU_ASSERT_PTR_NULL(r);
  free(want);
  dt_tensor_destroy(&t);
}

/* A failure on one rank in the middle of a transfer reaches every rank as
 * the same error, and nobody is left waiting (the test would time out). */
static void t_failure_on_one_rank(void) {
  char rank[16];
  snprintf(rank, sizeof rank, "%d", T_size - 1);
  setenv("DT_FAULT_RANK", rank, 1);
  const int64_t s2[2] = {6, 5};
  dt_tensor *a = NULL, *b = NULL, *v = NULL, *c = NULL;
  T_OK(dt_rand(T_ctx, 2, s2, &(dt_opts){.dtype = DT_FLOAT64}, &a));
  T_OK(dt_zeros(T_ctx, 2, s2, &(dt_opts){.layout = DT_SPLIT, .split_axis = 1},
                &b));
  setenv("DT_FAULT_ALLOC", "copy", 1);
  T_ERR(dt_copy_(b, a), DT_ERR_NOMEM);
  setenv("DT_FAULT_ALLOC", "gather", 1);
  T_OK(dt_transpose(a, 0, 1, &v));
  double buf[30];
  T_ERR(dt_gather(v, 0, buf), DT_ERR_NOMEM);
  setenv("DT_FAULT_ALLOC", "scatter", 1);
  double data[30] = {0};
  T_ERR(dt_from_data(T_ctx, 2, s2, data, DT_FLOAT64, 0, NULL, &c),
        DT_ERR_NOMEM);
  CU_ASSERT_PTR_NULL(c);
  setenv("DT_FAULT_ALLOC", "deepcopy", 1);
  T_ERR(dt_deepcopy(a, NULL, &c), DT_ERR_NOMEM);
  CU_ASSERT_PTR_NULL(c);
  unsetenv("DT_FAULT_ALLOC");
  unsetenv("DT_FAULT_RANK");
  /* and everything works again afterwards */
  T_OK(dt_copy_(b, a));
  T_OK(dt_gather(v, 0, buf));
  dt_tensor_destroy(&v);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&b);
}

/* In-place arithmetic reading memory it writes: as if b were read first. */
static void t_inplace_alias(void) {
  const int64_t s2[2] = {2, 2};
  double v[4] = {1, 2, 3, 4};
  dt_tensor *a = NULL, *at = NULL;
  T_OK(dt_from_data(T_ctx, 2, s2, v, DT_FLOAT64, DT_ALL_RANKS,
                    &(dt_opts){.layout = DT_REPLICATED}, &a));
  T_OK(dt_transpose(a, 0, 1, &at));
  T_OK(dt_add_(a, at));
  double *g = dt_test_gather_all(a);
  CU_ASSERT(g && g[0] == 2 && g[1] == 5 && g[2] == 5 && g[3] == 8);
  free(g);
  T_OK(dt_mul_(a, a)); /* the same view: element by element is fine */
  g = dt_test_gather_all(a);
  CU_ASSERT(g && g[0] == 4 && g[1] == 25 && g[3] == 64);
  free(g);
  dt_tensor_destroy(&at);
  dt_tensor_destroy(&a);
  /* a slice with a step beyond any size */
  const int64_t n = 5;
  dt_tensor *x = NULL, *y = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(n), DT_I(1), NULL, &x));
  T_OK(dt_slice(x, 0, 0, 5, INT64_MAX, &y));
  CU_ASSERT_EQUAL(dt_numel(y), 1);
  int64_t *gy = dt_test_gather_all(y);
  CU_ASSERT(gy && gy[0] == 0);
  free(gy);
  int64_t total = 0;
  for (int r = 0; r < T_size; r++) {
    int64_t bs, bn;
    T_OK(dt_owner_box(y, r, &bs, &bn));
    CU_ASSERT(bn >= 0);
    total += bn;
  }
  CU_ASSERT_EQUAL(total, 1);
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&x);
}

/* The streaming copy (every vector path) against memcpy at odd lengths
 * and misaligned starts, and a clone large enough to stream at each
 * instruction-set cap against the portable clone, bit for bit. */
static void t_clone_vector_paths(void) {
  enum { N = 3000 };
  unsigned char *src = malloc(N + 64), *a = malloc(N + 64), *b = malloc(N + 64);
  CU_ASSERT_FATAL(src && a && b);
  for (int i = 0; i < N + 64; i++)
    src[i] = (unsigned char)(i * 131 + 7);
  const size_t lens[] = {0, 1, 7, 63, 64, 65, 127, 255, 256, 257, 1000, 2999};
  for (int cap = DT_ISA_AVX512; cap >= DT_ISA_PORTABLE; cap--) {
    dt__isa_set_cap(cap);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
      for (int so = 0; so < 3; so++)
        for (int d0 = 0; d0 < 64; d0 += 13) {
          memset(a, 0xee, N + 64);
          memset(b, 0xee, N + 64);
          dt__memcpy_nt(a + d0, src + so * 5, lens[k]);
          memcpy(b + d0, src + so * 5, lens[k]);
          CU_ASSERT(memcmp(a, b, N + 64) == 0);
        }
  }
  free(src);
  free(a);
  free(b);
  /* strided rows long enough to stream (the local part of a copy_) */
  const int64_t shape[2] = {1100, 1001}, sst[2] = {1003, 1}, dst[2] = {1001, 1};
  size_t nel = 1100 * 1003 + 8;
  double *s2 = malloc(sizeof(double) * nel), *o1 = malloc(sizeof(double) * nel),
         *o2 = malloc(sizeof(double) * nel);
  CU_ASSERT_FATAL(s2 && o1 && o2);
  for (size_t i = 0; i < nel; i++)
    s2[i] = (double)i * 0.25 - 3;
  dt__isa_set_cap(DT_ISA_PORTABLE);
  memset(o1, 0, sizeof(double) * nel);
  dt__copy_strided(2, shape, o1 + 1, DT_FLOAT64, dst, s2 + 3, DT_FLOAT64, sst);
  for (int cap = DT_ISA_AVX2; cap <= DT_ISA_AVX512; cap++) {
    dt__isa_set_cap(cap);
    memset(o2, 0, sizeof(double) * nel);
    dt__copy_strided(2, shape, o2 + 1, DT_FLOAT64, dst, s2 + 3, DT_FLOAT64,
                     sst);
    CU_ASSERT(memcmp(o1, o2, sizeof(double) * nel) == 0);
  }
  free(s2);
  free(o1);
  free(o2);
  /* an odd number of float64s per rank, beyond the streaming threshold */
  int64_t n = (int64_t)T_size * ((int64_t)1 << 20) + 2 * T_size + 1;
  CU_ASSERT(dt__isa_level() == DT_ISA_PORTABLE ||
            dt__copy_streams((size_t)8 << 20));
  dt_tensor *t = NULL, *c = NULL, *v = NULL, *cv = NULL;
  T_OK(dt_rand(T_ctx, 1, &n, &(dt_opts){.dtype = DT_FLOAT64}, &t));
  T_OK(dt_slice(t, 0, 1, n, 1, &v)); /* a misaligned start */
  dt__isa_set_cap(DT_ISA_PORTABLE);
  T_OK(dt_clone(t, &c));
  T_OK(dt_clone(v, &cv));
  uint64_t want = 0, wantv = 0;
  T_OK(dt_checksum(c, &want));
  T_OK(dt_checksum(cv, &wantv));
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&cv);
  for (int cap = DT_ISA_AVX2; cap <= DT_ISA_AVX512; cap++) {
    dt__isa_set_cap(cap);
    uint64_t got = 1, gotv = 1;
    T_OK(dt_clone(t, &c));
    T_OK(dt_clone(v, &cv));
    T_OK(dt_checksum(c, &got));
    T_OK(dt_checksum(cv, &gotv));
    CU_ASSERT_EQUAL(got, want);
    CU_ASSERT_EQUAL(gotv, wantv);
    dt_tensor_destroy(&c);
    dt_tensor_destroy(&cv);
  }
  dt__isa_set_cap(-1);
  uint64_t ct = 0;
  T_OK(dt_checksum(t, &ct));
  CU_ASSERT_EQUAL(ct, want);
  dt_tensor_destroy(&v);
  dt_tensor_destroy(&t);
}

static const dt_test_case cases[] = {
    {"gather to every root from every layout", t_gather_roots_and_layouts},
    {"gather empty tensors and empty shards", t_gather_empty},
    {"gather bad input", t_gather_bad},
    {"clone: same layout, new memory, any source", t_clone},
    {"clone: streaming copy equals the portable path", t_clone_vector_paths},
    {"redistribute into every layout", t_redistribute},
    {"copy_ across every pair of layout kinds", t_copy_all_layout_pairs},
    {"copy_ over random layouts, dtypes, broadcasts", t_copy_random_pairs},
    {"copy_ known values (broadcast, conversion)", t_copy_known_values},
    {"copy_ of large strided pieces", t_copy_large_pieces},
    {"copy_ of large pieces, cross-memory reads cut small",
     t_copy_cma_cut_calls},
    {"copy_ with messages split into pieces", t_copy_split_messages},
    {"copy_ writes in place (views, user buffers)", t_copy_writes_in_place},
    {"copy_ with overlapping memory", t_copy_overlap},
    {"copy_ bad input", t_copy_bad_input},
    {"a failure on one rank mid-transfer is agreed", t_failure_on_one_rank},
    {"in-place aliasing; huge slice steps", t_inplace_alias},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "copy", cases);
}
