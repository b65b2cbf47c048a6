/*
 * test_checksum - the fingerprint follows its documented recipe, is the same
 * in every layout and thread count, and changes with dtype, shape, any bit,
 * and element order.
 */
#include "dt_test.h"
#include "internal.h"

#include <omp.h>
#include <stdlib.h>

static uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= UINT64_C(0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return k;
}

/* The recipe in dtensor.h, computed from the gathered array. */
static uint64_t reference(const dt_tensor *t) {
  size_t esz = dt_dtype_size(dt_dtype_of(t));
  unsigned char *v = dt_test_gather_all(t);
  uint64_t S = 0;
  for (int64_t i = 0; v && i < dt_numel(t); i++) {
    uint64_t b = 0;
    memcpy(&b, v + (size_t)i * esz, esz); /* little-endian zero extension */
    S += fmix(b ^ ((uint64_t)i * UINT64_C(0x9E3779B97F4A7C15)));
  }
  free(v);
  uint64_t h = fmix((uint64_t)dt_dtype_of(t));
  for (int d = 0; d < dt_ndim(t); d++)
    h = fmix(h ^ (uint64_t)dt_shape(t)[d]);
  return fmix(S ^ h);
}

static void t_recipe_and_layouts(void) {
  const int64_t shape[3] = {11, 6, 5};
  const dt_dtype dts[5] = {DT_FLOAT32, DT_FLOAT64, DT_INT32, DT_INT64, DT_BOOL};
  for (int j = 0; j < 5; j++) {
    uint64_t first = 0;
    for (int k = 0; k < DT_TEST_NLAYOUTS; k++)
      for (int th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
        dt_test_cuts cuts;
        dt_opts o = dt_test_layout(k, 3, shape, &cuts, NULL);
        o.dtype = dts[j];
        T_OK(dt_manual_seed(T_ctx, 3));
        dt_tensor *t = NULL;
        T_OK(dt_randint(T_ctx, 0, dts[j] == DT_BOOL ? 2 : 1000, 3, shape, &o,
                        &t));
        uint64_t c = 0;
        T_OK(dt_checksum(t, &c));
        CU_ASSERT_EQUAL(c, reference(t));
        if (k == 0 && th == 1)
          first = c;
        CU_ASSERT_EQUAL(c, first);
        dt_tensor_destroy(&t);
      }
  }
  omp_set_num_threads(1);
}

static void t_sensitivity(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 4, 5, 6};
  const int64_t s6 = 6, s23[2] = {2, 3};
  dt_tensor *t[6] = {NULL};
  T_OK(dt_from_data(T_ctx, 1, &s6, a, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[0]));
  T_OK(dt_from_data(T_ctx, 2, s23, a, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[1]));
  T_OK(dt_from_data(T_ctx, 1, &s6, a, DT_FLOAT32, DT_ALL_RANKS,
                    &(dt_opts){.dtype = DT_INT32}, &t[2]));
  b[4] = 6; /* swap two elements */
  b[5] = 5;
  T_OK(dt_from_data(T_ctx, 1, &s6, b, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[3]));
  uint32_t bits;
  memcpy(&bits, &a[2], 4);
  bits ^= 1; /* one flipped bit */
  memcpy(&b[2], &bits, 4);
  b[4] = 5;
  b[5] = 6;
  T_OK(dt_from_data(T_ctx, 1, &s6, b, DT_FLOAT32, DT_ALL_RANKS, NULL, &t[4]));
  T_OK(dt_from_data(T_ctx, 1, &s6, a, DT_FLOAT32, DT_ALL_RANKS,
                    &(dt_opts){.layout = DT_REPLICATED}, &t[5]));
  uint64_t c[6];
  for (int k = 0; k < 6; k++)
    T_OK(dt_checksum(t[k], &c[k]));
  for (int x = 0; x < 5; x++)
    for (int y = x + 1; y < 5; y++)
      CU_ASSERT(c[x] != c[y]);
  CU_ASSERT_EQUAL(c[0], c[5]);
  for (int k = 0; k < 6; k++)
    dt_tensor_destroy(&t[k]);
  T_ERR(dt_checksum(NULL, c), DT_ERR_NULL);
}

/* The recipe's sum for one dense stretch, element by element. */
static uint64_t stretch_ref(const unsigned char *p, size_t esz, uint64_t g,
                            int64_t n) {
  uint64_t S = 0;
  for (int64_t i = 0; i < n; i++) {
    uint64_t b = 0;
    memcpy(&b, p + (size_t)i * esz, esz);
    S += fmix(b ^ ((g + (uint64_t)i) * UINT64_C(0x9E3779B97F4A7C15)));
  }
  return S;
}

/* Every hashing loop (portable, AVX2, AVX-512: whichever this CPU has)
 * gives the recipe's bits: every length to 3 vector steps and some long
 * ones, starts off the vector alignment (by whole elements), strided,
 * first indices that wrap. */
static void t_hash_kernels(void) {
  enum { N = 5000 };
  unsigned char *buf = malloc(N * 8 + 64);
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  uint64_t x = 88172645463325252u;
  for (int i = 0; i < N * 8 + 64; i++) { /* xorshift: every bit varies */
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = (unsigned char)(x >> 32);
  }
  const uint64_t gs[4] = {0, 77, UINT64_MAX - 20, UINT64_C(1) << 63};
  const size_t eszs[3] = {1, 4, 8};
  const int64_t longs[3] = {999, 4096 + 13, N};
  int bad = 0, runs = 0;
  for (int cap = DT_ISA_PORTABLE; cap <= DT_ISA_AVX512; cap++) {
    dt__isa_set_cap(cap);
    for (int e = 0; e < 3; e++)
      for (int gi = 0; gi < 4; gi++)
        for (int off = 0; off < 8; off++)
          for (int64_t n = 0; n < 51 + 3; n++) { /* 0..50, then longs */
            int64_t len = n < 51 ? n : longs[n - 51];
            const unsigned char *p = buf + (size_t)off * eszs[e];
            uint64_t want = stretch_ref(p, eszs[e], gs[gi], len);
            bad += dt__hash_stretch((const char *)p, eszs[e], 1, gs[gi], len) !=
                   want;
            runs++;
          }
    /* strided: every other element */
    for (int e = 0; e < 3; e++) {
      unsigned char *d = malloc((size_t)N * eszs[e]);
      CU_ASSERT_PTR_NOT_NULL_FATAL(d);
      for (int64_t i = 0; i < N / 2; i++)
        memcpy(d + i * eszs[e], buf + 2 * i * eszs[e], eszs[e]);
      bad += dt__hash_stretch((const char *)buf, eszs[e], 2, 5, N / 2) !=
             stretch_ref(d, eszs[e], 5, N / 2);
      runs++;
      free(d);
    }
  }
  dt__isa_set_cap(-1);
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT_EQUAL(runs, 3 * (3 * 4 * 8 * 54 + 3));
  free(buf);
}

static const dt_test_case cases[] = {
    {"every hashing loop gives the recipe's bits", t_hash_kernels},
    {"recipe, every layout and thread count", t_recipe_and_layouts},
    {"dtype, shape, order and single bits matter", t_sensitivity},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "checksum", cases);
}
