/*
 * test_rng - Philox4x32-10 against Random123 and its known answers; the
 * vectorised group generator against the documented recipe; independence of
 * values from where a fill starts. Runs at 1-4 ranks (each rank checks its
 * own slice of the million counters).
 */
#include "dt_test.h"
#include "internal.h"

#include <Random123/philox.h>
#include <math.h>
#include <stdlib.h>

#define M_PI 3.14159265358979323846

/* Random123's kat_vectors for philox4x32 10: ctr[4] key[2] -> out[4]. */
static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
     0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
     0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};

static void t_known_answers(void) {
  for (int v = 0; v < 3; v++) {
    uint32_t out[4];
    dt__philox4x32_10(kat[v], kat[v] + 4, out);
    philox4x32_ctr_t c = {{kat[v][0], kat[v][1], kat[v][2], kat[v][3]}};
    philox4x32_key_t k = {{kat[v][4], kat[v][5]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int w = 0; w < 4; w++) {
      CU_ASSERT_EQUAL(out[w], kat[v][6 + w]);
      CU_ASSERT_EQUAL(r.v[w], kat[v][6 + w]);
    }
  }
}

/* A million counters and keys (split over the ranks), drawn from a 64-bit
 * LCG, against Random123. */
static void t_million_counters(void) {
  const int64_t N = 1000000;
  int64_t a = dt__block_start(N, T_size, T_rank);
  int64_t b = dt__block_start(N, T_size, T_rank + 1);
  uint64_t s = UINT64_C(0x853c49e6748fea9b) + (uint64_t)a;
  int bad = 0;
  for (int64_t i = a; i < b; i++) {
    uint32_t in[6];
    for (int w = 0; w < 6; w++) {
      s = s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
      in[w] = (uint32_t)(s >> 32);
    }
    uint32_t out[4];
    dt__philox4x32_10(in, in + 4, out);
    philox4x32_ctr_t c = {{in[0], in[1], in[2], in[3]}};
    philox4x32_key_t k = {{in[4], in[5]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int w = 0; w < 4; w++)
      bad += out[w] != r.v[w];
  }
  CU_ASSERT_EQUAL(bad, 0);
}

/* Words of block b under (seed, offset), per the documented counter. */
static void block_words(uint64_t seed, uint64_t off, uint64_t b,
                        uint32_t w[4]) {
  uint32_t c[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)off,
                   (uint32_t)(off >> 32)};
  uint32_t k[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  dt__philox4x32_10(c, k, w);
}

/* The group generator (vectorised) equals the scalar recipe in dtensor.h. */
static void t_recipe_uniform_and_int(void) {
  const uint64_t seed = UINT64_C(0x0123456789abcdef), off = 77;
  const uint64_t first = 1000003; /* not aligned to a group */
  enum { N = 777 };
  float f32[N];
  double f64[N];
  int64_t i64[N];
  dt__rparams p = {
      .kind = DT__R_UNIFORM, .dtype = DT_FLOAT32, .seed = seed, .offset = off};
  dt__rng_fill(&p, first, N, f32);
  p.dtype = DT_FLOAT64;
  dt__rng_fill(&p, first, N, f64);
  dt__rparams q = {.kind = DT__R_INT,
                   .dtype = DT_INT64,
                   .seed = seed,
                   .offset = off,
                   .low = -5,
                   .range = 1000};
  dt__rng_fill(&q, first, N, i64);
  int bad32 = 0, bad64 = 0, badint = 0;
  for (uint64_t i = first; i < first + N; i++) {
    uint32_t w[4];
    block_words(seed, off, i / 4, w);
    float x = (float)(w[i % 4] >> 8) * 0x1p-24f;
    bad32 += memcmp(&x, &f32[i - first], 4) != 0;
    block_words(seed, off, i / 2, w);
    uint64_t v = (uint64_t)w[2 * (i % 2) + 1] << 32 | w[2 * (i % 2)];
    double y = (double)(v >> 11) * 0x1p-53;
    bad64 += memcmp(&y, &f64[i - first], 8) != 0;
    int64_t z = -5 + (int64_t)(((unsigned __int128)v * 1000) >> 64);
    badint += z != i64[i - first];
    CU_ASSERT(x >= 0.0f && x < 1.0f);
  }
  CU_ASSERT_EQUAL(bad32, 0);
  CU_ASSERT_EQUAL(bad64, 0);
  CU_ASSERT_EQUAL(badint, 0);
}

/* randn follows the documented Box-Muller within a few ulp of libm. */
static void t_recipe_normal(void) {
  const uint64_t seed = 99, off = 3, first = 4097 * 5 + 3;
  enum { N = 2001 };
  float f32[N];
  double f64[N];
  dt__rparams p = {
      .kind = DT__R_NORMAL, .dtype = DT_FLOAT32, .seed = seed, .offset = off};
  dt__rng_fill(&p, first, N, f32);
  p.dtype = DT_FLOAT64;
  dt__rng_fill(&p, first, N, f64);
  double maxerr32 = 0, maxerr64 = 0;
  for (uint64_t i = first; i < first + N; i++) {
    uint32_t w[4];
    block_words(seed, off, i / 4, w);
    int h = (int)((i % 4) / 2);
    uint32_t a = w[2 * h], b = w[2 * h + 1];
    double u =
        (double)(a >> 8) * 0x1p-24 + ((double)(a & 0xff) * 0x1p-32 + 0x1p-33);
    u = (float)u; /* the recipe's u is a float */
    double t = (double)(b >> 8) * 0x1p-24;
    double r = sqrt(-2.0 * log(u));
    double ref = (i % 2 == 0) ? r * cos(2 * M_PI * t) : r * sin(2 * M_PI * t);
    double e = fabs(f32[i - first] - ref) / (r > 1 ? r : 1);
    maxerr32 = e > maxerr32 ? e : maxerr32;

    block_words(seed, off, i / 2, w);
    uint64_t vu = (uint64_t)w[1] << 32 | w[0], vt = (uint64_t)w[3] << 32 | w[2];
    double u64 = (double)(vu >> 11) * 0x1p-53 + 0x1p-54;
    double t64 = (double)(vt >> 11) * 0x1p-53;
    /* long double reference: its own rounding is far below the tolerance */
    long double pi = 3.141592653589793238462643383279503L;
    long double r64 = sqrtl(-2.0L * logl(u64));
    long double ref64 =
        (i % 2 == 0) ? r64 * cosl(2 * pi * t64) : r64 * sinl(2 * pi * t64);
    double e64 = (double)(fabsl(f64[i - first] - ref64) / (r64 > 1 ? r64 : 1));
    maxerr64 = e64 > maxerr64 ? e64 : maxerr64;
  }
  CU_ASSERT(maxerr32 < 4 * 0x1p-24);
  CU_ASSERT(maxerr64 < 4 * 0x1p-53);
  if (maxerr32 >= 4 * 0x1p-24 || maxerr64 >= 4 * 0x1p-53)
    fprintf(stderr, "randn max relative error: f32 %g f64 %g\n", maxerr32,
            maxerr64);
}

/* An element's bits do not depend on where a fill starts or stops. */
static void t_start_independence(void) {
  const dt__rkind kinds[3] = {DT__R_UNIFORM, DT__R_NORMAL, DT__R_INT};
  const dt_dtype dts[2] = {DT_FLOAT32, DT_FLOAT64};
  enum { N = 3000 };
  static char whole[N * 8], part[N * 8];
  for (int k = 0; k < 3; k++)
    for (int d = 0; d < 2; d++) {
      dt__rparams p = {.kind = kinds[k],
                       .dtype = dts[d],
                       .seed = 5,
                       .offset = 1,
                       .low = 0,
                       .range = UINT64_C(1) << 40};
      size_t esz = kinds[k] == DT__R_INT ? 8 : dt_dtype_size(dts[d]);
      dt__rng_fill(&p, 0, N, whole);
      int bad = 0;
      for (int a = 0; a < 200; a += 7)
        for (int len = 1; len < 300; len += 37) {
          dt__rng_fill(&p, (uint64_t)a, len, part);
          bad += memcmp(part, whole + (size_t)a * esz, (size_t)len * esz) != 0;
        }
      CU_ASSERT_EQUAL(bad, 0);
    }
}

/* The AVX2 and the portable paths give the same bits for every recipe. */
static void t_paths_identical(void) {
  enum { N = 4099 };
  static char a[N * 8], b[N * 8];
  const dt__rkind kinds[3] = {DT__R_UNIFORM, DT__R_NORMAL, DT__R_INT};
  for (int k = 0; k < 3; k++)
    for (int d = 0; d < 2; d++) {
      dt__rparams p = {.kind = kinds[k],
                       .dtype = d ? DT_FLOAT64 : DT_FLOAT32,
                       .seed = UINT64_C(0xfeedface12345678),
                       .offset = UINT64_C(1) << 40,
                       .low = -7,
                       .range = 12345};
      size_t esz = kinds[k] == DT__R_INT ? 8 : (d ? 8 : 4);
      dt__rng_fill(&p, 12345, N, a);
      dt__rng_set_portable(true);
      dt__rng_fill(&p, 12345, N, b);
      dt__rng_set_portable(false);
      CU_ASSERT(memcmp(a, b, N * esz) == 0);
    }
}

/* The recipes every vector path must reproduce: every random dtype, and
 * randint with small, odd, 2^32-crossing and full 64-bit ranges. */
typedef struct recipe {
  dt__rkind kind;
  dt_dtype dtype;
  int64_t low;
  uint64_t range;
} recipe;
static const recipe recipes[] = {
    {DT__R_UNIFORM, DT_FLOAT32, 0, 0},
    {DT__R_UNIFORM, DT_FLOAT64, 0, 0},
    {DT__R_NORMAL, DT_FLOAT32, 0, 0},
    {DT__R_NORMAL, DT_FLOAT64, 0, 0},
    {DT__R_INT, DT_INT64, -5, 22},
    {DT__R_INT, DT_INT64, 0, 1},
    {DT__R_INT, DT_INT64, -7, 12345},
    {DT__R_INT, DT_INT64, 3, (UINT64_C(1) << 32) + 1},
    {DT__R_INT, DT_INT64, INT64_MIN, UINT64_MAX},
    {DT__R_INT, DT_INT64, INT64_MAX - 1000, 1001}};
enum { NRECIPES = sizeof recipes / sizeof recipes[0] };

static size_t recipe_esz(const recipe *r) {
  return r->kind == DT__R_INT ? 8 : dt_dtype_size(r->dtype);
}

/* Vector kernels (each level the CPU has, capped) against the portable
 * path, as uneven shards at 1-4 ranks would fill them: odd lengths, starts
 * at every residue of a group, counters past 2^32 blocks. Each MPI rank
 * takes its own start offset, so the rank counts of the suite add cases. */
static void t_paths_shards(void) {
  enum { N = 1237 };
  static char ref[N * 8], got[N * 8];
  const uint64_t firsts[3] = {(uint64_t)T_rank * 131 + 1,
                              UINT64_C(12345) + (uint64_t)T_rank,
                              (UINT64_C(1) << 35) + 63 + (uint64_t)T_rank};
  const int caps[2] = {DT_ISA_AVX2, -1};
  int bad = 0, cases = 0;
  for (int r = 0; r < NRECIPES; r++)
    for (int f = 0; f < 3; f++) {
      dt__rparams p = {.kind = recipes[r].kind,
                       .dtype = recipes[r].dtype,
                       .seed = UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)r,
                       .offset = (uint64_t)f * 1000003,
                       .low = recipes[r].low,
                       .range = recipes[r].range};
      size_t esz = recipe_esz(&recipes[r]);
      dt__isa_set_cap(DT_ISA_PORTABLE);
      dt__rng_fill(&p, firsts[f], N, ref);
      for (int c = 0; c < 2; c++) {
        dt__isa_set_cap(caps[c]);
        for (int P = 1; P <= 4; P++)
          for (int q = 0; q < P; q++) {
            int64_t a = dt__block_start(N, P, q),
                    b = dt__block_start(N, P, q + 1);
            memset(got, 0xa5, (size_t)(b - a) * esz);
            dt__rng_fill(&p, firsts[f] + (uint64_t)a, b - a, got);
            bad +=
                memcmp(got, ref + (size_t)a * esz, (size_t)(b - a) * esz) != 0;
            cases++;
          }
        /* odd lengths from odd starts inside the run */
        for (int a = 1; a < 200; a += 13)
          for (int len = 1; len < 140; len += 23) {
            dt__rng_fill(&p, firsts[f] + (uint64_t)a, len, got);
            bad += memcmp(got, ref + (size_t)a * esz, (size_t)len * esz) != 0;
            cases++;
          }
      }
      dt__isa_set_cap(-1);
    }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(cases > 1000);
}

/* The transforms alone on chosen words: the edges of every conversion and
 * of log/sincos (u = 2^-54 and u rounding up to 1, t = 0 and t next to every
 * octant boundary k/8, where the quadrant and the sign flips switch), every
 * (low word, high word) combination of the list for u and for t. */
static void t_paths_edge_words(void) {
  static const uint32_t sp[] = {
      0x00000000, 0x00000001, 0x000007ff, 0x00000800, 0x00000fff, 0x00001000,
      0x7fffffff, 0x80000000, 0xffffffff, 0xfffff7ff, 0xfffff800, 0x1fffffff,
      0x20000000, 0x3fffffff, 0x40000000, 0x5fffffff, 0x60000000, 0x9fffffff,
      0xa0000000, 0xbfffffff, 0xc0000000, 0xdfffffff, 0xe0000000, 0x12345678};
  enum { NS = sizeof sp / sizeof sp[0], NP = NS * NS };
  int bad = 0;
  for (int r = 0; r < NRECIPES; r++) {
    dt__rparams p = {.kind = recipes[r].kind,
                     .dtype = recipes[r].dtype,
                     .low = recipes[r].low,
                     .range = recipes[r].range};
    /* element pair i: words 0,1 from pair i % NP, words 2,3 from i / NP;
     * the rank takes every T_size-th group */
    for (int64_t g = T_rank; g * 16 < (int64_t)NP * NP; g += T_size) {
      uint32_t x[4][16];
      for (int l = 0; l < 16; l++) {
        int64_t i = (g * 16 + l) % ((int64_t)NP * NP);
        int pu = (int)(i % NP), pt = (int)(i / NP);
        x[0][l] = sp[pu % NS];
        x[1][l] = sp[pu / NS];
        x[2][l] = sp[pt % NS];
        x[3][l] = sp[pt / NS];
      }
      _Alignas(64) char a[256], b[256];
      dt__isa_set_cap(DT_ISA_PORTABLE);
      dt__rng_transform_words(&p, (const uint32_t(*)[16])x, a);
      dt__isa_set_cap(-1);
      dt__rng_transform_words(&p, (const uint32_t(*)[16])x, b);
      bad += memcmp(a, b, sizeof a) != 0;
    }
  }
  dt__isa_set_cap(-1);
  CU_ASSERT_EQUAL(bad, 0);
}

/* Moments of a large sample: the transforms are not broken. */
static void t_moments(void) {
  enum { N = 1 << 20 };
  float *x = malloc(N * sizeof *x);
  double *y = malloc(N * sizeof *y);
  CU_ASSERT_FATAL(x && y);
  dt__rparams p = {
      .kind = DT__R_NORMAL, .dtype = DT_FLOAT32, .seed = 1, .offset = 0};
  dt__rng_fill(&p, 0, N, x);
  p.dtype = DT_FLOAT64;
  dt__rng_fill(&p, 0, N, y);
  double m1 = 0, m2 = 0, n1 = 0, n2 = 0, big = 0;
  for (int i = 0; i < N; i++) {
    m1 += x[i];
    m2 += (double)x[i] * x[i];
    n1 += y[i];
    n2 += y[i] * y[i];
    big = fabs(y[i]) > big ? fabs(y[i]) : big;
  }
  CU_ASSERT(fabs(m1 / N) < 0.005);
  CU_ASSERT(fabs(m2 / N - 1) < 0.01);
  CU_ASSERT(fabs(n1 / N) < 0.005);
  CU_ASSERT(fabs(n2 / N - 1) < 0.01);
  CU_ASSERT(big > 4.0 && big < 8.0);
  p.kind = DT__R_UNIFORM;
  p.dtype = DT_FLOAT32;
  dt__rng_fill(&p, 0, N, x);
  double s = 0;
  int out = 0;
  for (int i = 0; i < N; i++) {
    s += x[i];
    out += !(x[i] >= 0.0f && x[i] < 1.0f);
  }
  CU_ASSERT_EQUAL(out, 0);
  CU_ASSERT(fabs(s / N - 0.5) < 0.002);
  free(x);
  free(y);
}

static const dt_test_case cases[] = {
    {"philox known answers (Random123 kat_vectors)", t_known_answers},
    {"philox equals Random123 on a million counters", t_million_counters},
    {"uniform and integer recipes", t_recipe_uniform_and_int},
    {"normal recipe within a few ulp of libm", t_recipe_normal},
    {"values independent of fill start and length", t_start_independence},
    {"vector and portable paths bitwise equal", t_paths_identical},
    {"vector paths equal portable on uneven shards, every recipe",
     t_paths_shards},
    {"vector transforms equal portable on edge words", t_paths_edge_words},
    {"moments", t_moments},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "rng", cases);
}
