/*
 * test_format.c - the literal parser and PyTorch's repr.
 *
 * Runs at 1, 2, 3 and 4 ranks. Every expected repr is PyTorch's own output
 * (repr(tensor) with the default print options) for the same values, dtype,
 * shape and requires_grad; each is checked in every layout we can build
 * (default, split on each axis, replicated, cuts with an empty shard, a
 * process grid) and must be identical on every rank.
 */
#include "dt_test.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

enum { MAX_LAYOUTS = 16, MAX_CUT_RANKS = 64 };

typedef struct layouts {
  int n;
  dt_opts opts[MAX_LAYOUTS];
  int64_t cuts[2][MAX_CUT_RANKS + 1];
} layouts;

/* Rank 0's box is empty; the other ranks share the axis in balanced blocks. */
static void cuts_with_empty_first(int64_t *c, int64_t n) {
  c[0] = 0;
  for (int r = 1; r <= T_size; r++)
    c[r] = T_size == 1 ? n : (int64_t)(r - 1) * n / (T_size - 1);
}

static void make_layouts(layouts *L, int ndim, const int64_t *shape,
                         dt_dtype dtype, bool rg) {
  memset(L, 0, sizeof *L);
  dt_opts base;
  memset(&base, 0, sizeof base);
  base.dtype = dtype;
  base.requires_grad = rg;
  L->opts[L->n++] = base; /* default layout */
  dt_opts o = base;
  o.layout = DT_REPLICATED;
  L->opts[L->n++] = o;
  for (int d = 0; d < ndim; d++) {
    o = base;
    o.layout = DT_SPLIT;
    o.split_axis = d;
    L->opts[L->n++] = o;
  }
  if (ndim >= 1 && T_size <= MAX_CUT_RANKS) {
    int axes[2] = {0, ndim - 1};
    for (int k = 0; k < (ndim > 1 ? 2 : 1); k++) {
      o = base;
      o.layout = DT_CUTS;
      o.grid[axes[k]] = T_size;
      cuts_with_empty_first(L->cuts[k], shape[axes[k]]);
      o.cuts[axes[k]] = L->cuts[k];
      L->opts[L->n++] = o;
    }
  }
  if (ndim >= 2) {
    int g0 = 1;
    for (int g = 1; g * g <= T_size; g++)
      if (T_size % g == 0)
        g0 = g;
    o = base;
    o.layout = DT_GRID;
    for (int d = 0; d < ndim; d++)
      o.grid[d] = 1;
    o.grid[0] = g0;
    o.grid[ndim - 1] *= T_size / g0;
    L->opts[L->n++] = o;
  }
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (; s && *s; s++)
    h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
  return h;
}

/* The same string on every rank (cheap: compare a hash's min and max). */
static void assert_same_everywhere(const char *s) {
  uint64_t h = fnv1a(s), lo = 0, hi = 0;
  MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  CU_ASSERT_EQUAL(lo, hi);
}

static void expect_repr(const dt_tensor *t, const char *expected,
                        const char *what, int layout) {
  char *s = NULL;
  T_OK(dt_format(t, &s));
  CU_ASSERT_PTR_NOT_NULL(s);
  if (s && strcmp(s, expected) != 0) {
    fprintf(stderr,
            "[rank %d] %s (layout %d): repr differs\n--- got:\n%s\n"
            "--- expected:\n%s\n",
            T_rank, what, layout, s, expected);
    CU_FAIL("repr differs from PyTorch's");
  }
  assert_same_everywhere(s);
  free(s);
}

/* dt_from_data over every layout, each formatted and compared. */
static void check_all_layouts(int ndim, const int64_t *shape, const void *data,
                              dt_dtype data_dtype, dt_dtype dtype, bool rg,
                              const char *expected, const char *what) {
  layouts L;
  make_layouts(&L, ndim, shape, dtype, rg);
  for (int k = 0; k < L.n; k++) {
    dt_tensor *t = NULL;
    T_OK(dt_from_data(T_ctx, ndim, shape, data, data_dtype, DT_ALL_RANKS,
                      &L.opts[k], &t));
    if (t)
      expect_repr(t, expected, what, k);
    dt_tensor_destroy(&t);
  }
}

/* ---- repr of literals ---------------------------------------------------- */

typedef struct lit_case {
  const char *lit;
  dt_dtype dtype; /* DT_DTYPE_DEFAULT: as inferred */
  bool rg;
  const char *repr;
} lit_case;

/* Expected strings: repr(torch.tensor(lit, dtype=...)). */
static const lit_case lit_cases[] = {
    {"[1, 2, 3]", DT_DTYPE_DEFAULT, false, "tensor([1, 2, 3])"},
    {"[[1., 2.], [3., 4.]]", DT_DTYPE_DEFAULT, false,
     "tensor([[1., 2.],\n        [3., 4.]])"},
    {"[0.1, 2.5]", DT_DTYPE_DEFAULT, false, "tensor([0.1000, 2.5000])"},
    {"[1e-5, 1.0]", DT_DTYPE_DEFAULT, false,
     "tensor([1.0000e-05, 1.0000e+00])"},
    {"[1., 2.]", DT_FLOAT64, false, "tensor([1., 2.], dtype=torch.float64)"},
    {"[true, false]", DT_DTYPE_DEFAULT, false, "tensor([ True, False])"},
    {"3.", DT_DTYPE_DEFAULT, false, "tensor(3.)"},
    {"3", DT_DTYPE_DEFAULT, false, "tensor(3)"},
    {"true", DT_DTYPE_DEFAULT, false, "tensor(True)"},
    {"2.5", DT_DTYPE_DEFAULT, false, "tensor(2.5000)"},
    {"nan", DT_DTYPE_DEFAULT, false, "tensor(nan)"},
    {"-0.", DT_DTYPE_DEFAULT, false, "tensor(-0.)"},
    {"1e-5", DT_DTYPE_DEFAULT, false, "tensor(1.0000e-05)"},
    {"123456789.", DT_FLOAT64, false,
     "tensor(1.2346e+08, dtype=torch.float64)"},
    {"-inf", DT_DTYPE_DEFAULT, false, "tensor(-inf)"},
    {"7", DT_INT32, false, "tensor(7, dtype=torch.int32)"},
    {"2.5", DT_FLOAT64, true,
     "tensor(2.5000, dtype=torch.float64, requires_grad=True)"},
    {"[nan, inf, -inf, 1.5]", DT_DTYPE_DEFAULT, false,
     "tensor([   nan,    inf,   -inf, 1.5000])"},
    {"[nan, 1., 2.]", DT_DTYPE_DEFAULT, false, "tensor([nan, 1., 2.])"},
    {"[inf, -inf]", DT_DTYPE_DEFAULT, false, "tensor([inf, -inf])"},
    {"[0., 0.]", DT_DTYPE_DEFAULT, false, "tensor([0., 0.])"},
    {"[nan]", DT_DTYPE_DEFAULT, false, "tensor([nan])"},
    {"[-0., 0.]", DT_DTYPE_DEFAULT, false, "tensor([-0., 0.])"},
    {"[-1.5, 2.25, -3.125]", DT_DTYPE_DEFAULT, false,
     "tensor([-1.5000,  2.2500, -3.1250])"},
    {"[-1, 20, -300]", DT_DTYPE_DEFAULT, false, "tensor([  -1,   20, -300])"},
    {"[1., 2.]", DT_DTYPE_DEFAULT, true,
     "tensor([1., 2.], requires_grad=True)"},
    {"[1., 2.]", DT_FLOAT64, true,
     "tensor([1., 2.], dtype=torch.float64, requires_grad=True)"},
    {"[1, 2]", DT_INT32, false, "tensor([1, 2], dtype=torch.int32)"},
    {"[true, false]", DT_INT32, false, "tensor([1, 0], dtype=torch.int32)"},
    {"[1.7, -2.7]", DT_INT32, false, "tensor([ 1, -2], dtype=torch.int32)"},
    {"[1, 0, 2]", DT_BOOL, false, "tensor([ True, False,  True])"},
    {"[1., 1e9]", DT_FLOAT64, false,
     "tensor([1.0000e+00, 1.0000e+09], dtype=torch.float64)"},
    {"[1., 1e4]", DT_DTYPE_DEFAULT, false, "tensor([1.0000e+00, 1.0000e+04])"},
    {"[0., 1e-5]", DT_DTYPE_DEFAULT, false, "tensor([0.0000e+00, 1.0000e-05])"},
    {"[100., 1000.]", DT_DTYPE_DEFAULT, false, "tensor([ 100., 1000.])"},
    {"[1., 1000.]", DT_DTYPE_DEFAULT, false, "tensor([   1., 1000.])"},
    {"[123456.789]", DT_FLOAT64, false,
     "tensor([123456.7890], dtype=torch.float64)"},
    {"[1e8]", DT_DTYPE_DEFAULT, false, "tensor([100000000.])"},
    {"[1e8, 3e8]", DT_FLOAT64, false,
     "tensor([1.0000e+08, 3.0000e+08], dtype=torch.float64)"},
    {"[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]", DT_FLOAT64, false,
     "tensor([0.5000, 1.5000, 2.5000, 3.5000, 4.5000, 5.5000, 6.5000, "
     "7.5000],\n       dtype=torch.float64)"},
    {"[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]", DT_FLOAT64, true,
     "tensor([0.5000, 1.5000, 2.5000, 3.5000, 4.5000, 5.5000, 6.5000, "
     "7.5000],\n       dtype=torch.float64, requires_grad=True)"},
    {"[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]", DT_DTYPE_DEFAULT, false,
     "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, "
     "7]]])"},
    {"[[1.5, -2.25], [1e-3, 4.]]", DT_DTYPE_DEFAULT, false,
     "tensor([[ 1.5000e+00, -2.2500e+00],\n        [ 1.0000e-03,  "
     "4.0000e+00]])"},
    {"[0.1, 0.2, 0.3]", DT_FLOAT64, false,
     "tensor([0.1000, 0.2000, 0.3000], dtype=torch.float64)"},
    {"[[true], [false]]", DT_DTYPE_DEFAULT, false,
     "tensor([[ True],\n        [False]])"},
    /* Rounding of the exact binary value, half to even. */
    {"[0.00015, 0.1]", DT_FLOAT64, false,
     "tensor([0.0001, 0.1000], dtype=torch.float64)"},
    {"[0.00025, 0.12345]", DT_DTYPE_DEFAULT, false, "tensor([0.0003, 0.1235])"},
    {"[2.5, 0.125, 1.00005]", DT_FLOAT64, false,
     "tensor([2.5000, 0.1250, 1.0001], dtype=torch.float64)"},
    {"[9223372036854775807, -9223372036854775808]", DT_DTYPE_DEFAULT, false,
     "tensor([ 9223372036854775807, -9223372036854775808])"},
    {"[[[[1.25]]]]", DT_DTYPE_DEFAULT, false, "tensor([[[[1.2500]]]])"},
    {"[[1], [2], [3]]", DT_INT32, false,
     "tensor([[1],\n        [2],\n        [3]], dtype=torch.int32)"},
    {"[1e-300, 1e300]", DT_FLOAT64, false,
     "tensor([1.0000e-300, 1.0000e+300], dtype=torch.float64)"},
    {"[1e20]", DT_FLOAT64, false, "tensor([1.0000e+20], dtype=torch.float64)"},
    {"[3.14159, -2.71828, 1.41421, 1e-2]", DT_DTYPE_DEFAULT, false,
     "tensor([ 3.1416, -2.7183,  1.4142,  0.0100])"},
};

static void t_repr_literals(void) {
  for (size_t k = 0; k < sizeof lit_cases / sizeof lit_cases[0]; k++) {
    const lit_case *c = &lit_cases[k];
    int ndim = 0;
    int64_t shape[DT_MAX_DIMS];
    dt_dtype pdt = DT_DTYPE_DEFAULT;
    void *data = NULL;
    /* torch.tensor(lit, dtype=torch.float64) reads doubles, never floats. */
    dt_dtype def = c->dtype == DT_FLOAT64 ? DT_FLOAT64 : DT_FLOAT32;
    T_OK(dt__parse_literal(c->lit, def, &ndim, shape, &pdt, &data));
    if (data)
      check_all_layouts(ndim, shape, data, pdt, c->dtype, c->rg, c->repr,
                        c->lit);
    free(data);
  }
}

/* ---- repr of generated ranges (long, wrapped and summarised) ------------- */

typedef struct range_case {
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_dtype dtype;
  double a, b; /* element k is a + b * k; bool: k % 3 != 1 */
  const char *repr;
} range_case;

/* Expected strings: repr(torch.tensor([a + b*k ...]).to(dtype).reshape()). */
static const range_case range_cases[] = {
    {1,
     {30},
     DT_FLOAT32,
     0.0,
     1.0,
     "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., "
     "12., 13.,\n"
     "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., "
     "26., 27.,\n"
     "        28., 29.])"},
    {2,
     {2, 20},
     DT_FLOAT32,
     0.0,
     1.0,
     "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., "
     "12., 13.,\n"
     "         14., 15., 16., 17., 18., 19.],\n"
     "        [20., 21., 22., 23., 24., 25., 26., 27., 28., 29., 30., 31., "
     "32., 33.,\n"
     "         34., 35., 36., 37., 38., 39.]])"},
    {1,
     {2000},
     DT_INT64,
     0.0,
     1.0,
     "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"},
    {2,
     {100, 100},
     DT_INT64,
     0.0,
     1.0,
     "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
     "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
     "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
     "        ...,\n"
     "        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n"
     "        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n"
     "        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])"},
    {2,
     {500, 3},
     DT_INT64,
     0.0,
     1.0,
     "tensor([[   0,    1,    2],\n"
     "        [   3,    4,    5],\n"
     "        [   6,    7,    8],\n"
     "        ...,\n"
     "        [1491, 1492, 1493],\n"
     "        [1494, 1495, 1496],\n"
     "        [1497, 1498, 1499]])"},
    {3,
     {3, 20, 20},
     DT_INT64,
     0.0,
     1.0,
     "tensor([[[   0,    1,    2,  ...,   17,   18,   19],\n"
     "         [  20,   21,   22,  ...,   37,   38,   39],\n"
     "         [  40,   41,   42,  ...,   57,   58,   59],\n"
     "         ...,\n"
     "         [ 340,  341,  342,  ...,  357,  358,  359],\n"
     "         [ 360,  361,  362,  ...,  377,  378,  379],\n"
     "         [ 380,  381,  382,  ...,  397,  398,  399]],\n"
     "\n"
     "        [[ 400,  401,  402,  ...,  417,  418,  419],\n"
     "         [ 420,  421,  422,  ...,  437,  438,  439],\n"
     "         [ 440,  441,  442,  ...,  457,  458,  459],\n"
     "         ...,\n"
     "         [ 740,  741,  742,  ...,  757,  758,  759],\n"
     "         [ 760,  761,  762,  ...,  777,  778,  779],\n"
     "         [ 780,  781,  782,  ...,  797,  798,  799]],\n"
     "\n"
     "        [[ 800,  801,  802,  ...,  817,  818,  819],\n"
     "         [ 820,  821,  822,  ...,  837,  838,  839],\n"
     "         [ 840,  841,  842,  ...,  857,  858,  859],\n"
     "         ...,\n"
     "         [1140, 1141, 1142,  ..., 1157, 1158, 1159],\n"
     "         [1160, 1161, 1162,  ..., 1177, 1178, 1179],\n"
     "         [1180, 1181, 1182,  ..., 1197, 1198, 1199]]])"},
    {3,
     {10, 10, 20},
     DT_INT64,
     0.0,
     1.0,
     "tensor([[[   0,    1,    2,  ...,   17,   18,   19],\n"
     "         [  20,   21,   22,  ...,   37,   38,   39],\n"
     "         [  40,   41,   42,  ...,   57,   58,   59],\n"
     "         ...,\n"
     "         [ 140,  141,  142,  ...,  157,  158,  159],\n"
     "         [ 160,  161,  162,  ...,  177,  178,  179],\n"
     "         [ 180,  181,  182,  ...,  197,  198,  199]],\n"
     "\n"
     "        [[ 200,  201,  202,  ...,  217,  218,  219],\n"
     "         [ 220,  221,  222,  ...,  237,  238,  239],\n"
     "         [ 240,  241,  242,  ...,  257,  258,  259],\n"
     "         ...,\n"
     "         [ 340,  341,  342,  ...,  357,  358,  359],\n"
     "         [ 360,  361,  362,  ...,  377,  378,  379],\n"
     "         [ 380,  381,  382,  ...,  397,  398,  399]],\n"
     "\n"
     "        [[ 400,  401,  402,  ...,  417,  418,  419],\n"
     "         [ 420,  421,  422,  ...,  437,  438,  439],\n"
     "         [ 440,  441,  442,  ...,  457,  458,  459],\n"
     "         ...,\n"
     "         [ 540,  541,  542,  ...,  557,  558,  559],\n"
     "         [ 560,  561,  562,  ...,  577,  578,  579],\n"
     "         [ 580,  581,  582,  ...,  597,  598,  599]],\n"
     "\n"
     "        ...,\n"
     "\n"
     "        [[1400, 1401, 1402,  ..., 1417, 1418, 1419],\n"
     "         [1420, 1421, 1422,  ..., 1437, 1438, 1439],\n"
     "         [1440, 1441, 1442,  ..., 1457, 1458, 1459],\n"
     "         ...,\n"
     "         [1540, 1541, 1542,  ..., 1557, 1558, 1559],\n"
     "         [1560, 1561, 1562,  ..., 1577, 1578, 1579],\n"
     "         [1580, 1581, 1582,  ..., 1597, 1598, 1599]],\n"
     "\n"
     "        [[1600, 1601, 1602,  ..., 1617, 1618, 1619],\n"
     "         [1620, 1621, 1622,  ..., 1637, 1638, 1639],\n"
     "         [1640, 1641, 1642,  ..., 1657, 1658, 1659],\n"
     "         ...,\n"
     "         [1740, 1741, 1742,  ..., 1757, 1758, 1759],\n"
     "         [1760, 1761, 1762,  ..., 1777, 1778, 1779],\n"
     "         [1780, 1781, 1782,  ..., 1797, 1798, 1799]],\n"
     "\n"
     "        [[1800, 1801, 1802,  ..., 1817, 1818, 1819],\n"
     "         [1820, 1821, 1822,  ..., 1837, 1838, 1839],\n"
     "         [1840, 1841, 1842,  ..., 1857, 1858, 1859],\n"
     "         ...,\n"
     "         [1940, 1941, 1942,  ..., 1957, 1958, 1959],\n"
     "         [1960, 1961, 1962,  ..., 1977, 1978, 1979],\n"
     "         [1980, 1981, 1982,  ..., 1997, 1998, 1999]]])"},
    /* The formatter sees only the summarised data: 1000 is not > 1000x 1. */
    {1,
     {1001},
     DT_FLOAT32,
     0.0,
     1.0,
     "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])"},
    {1,
     {2000},
     DT_FLOAT64,
     0.0,
     0.001,
     "tensor([0.0000e+00, 1.0000e-03, 2.0000e-03,  ..., 1.9970e+00, "
     "1.9980e+00,\n"
     "        1.9990e+00], dtype=torch.float64)"},
    {8,
     {1, 1, 1, 1, 1, 1, 2, 501},
     DT_INT32,
     -500.0,
     1.0,
     "tensor([[[[[[[[-500, -499, -498,  ...,   -2,   -1,    0],\n"
     "              [   1,    2,    3,  ...,  499,  500,  501]]]]]]]],\n"
     "       dtype=torch.int32)"},
    {4,
     {2, 1, 2, 3},
     DT_FLOAT32,
     -1.0,
     0.25,
     "tensor([[[[-1.0000, -0.7500, -0.5000],\n"
     "          [-0.2500,  0.0000,  0.2500]]],\n"
     "\n"
     "\n"
     "        [[[ 0.5000,  0.7500,  1.0000],\n"
     "          [ 1.2500,  1.5000,  1.7500]]]])"},
    {1,
     {1001},
     DT_BOOL,
     0.0,
     1.0,
     "tensor([ True, False,  True,  ...,  True,  True, False])"},
    {1,
     {40},
     DT_FLOAT64,
     -20.0,
     1.5,
     "tensor([-20.0000, -18.5000, -17.0000, -15.5000, -14.0000, -12.5000, "
     "-11.0000,\n"
     "         -9.5000,  -8.0000,  -6.5000,  -5.0000,  -3.5000,  -2.0000,  "
     "-0.5000,\n"
     "          1.0000,   2.5000,   4.0000,   5.5000,   7.0000,   8.5000,  "
     "10.0000,\n"
     "         11.5000,  13.0000,  14.5000,  16.0000,  17.5000,  19.0000,  "
     "20.5000,\n"
     "         22.0000,  23.5000,  25.0000,  26.5000,  28.0000,  29.5000,  "
     "31.0000,\n"
     "         32.5000,  34.0000,  35.5000,  37.0000,  38.5000], "
     "dtype=torch.float64)"},
    {2,
     {7, 7},
     DT_FLOAT32,
     1.0,
     1000.0,
     "tensor([[1.0000e+00, 1.0010e+03, 2.0010e+03, 3.0010e+03, 4.0010e+03, "
     "5.0010e+03,\n"
     "         6.0010e+03],\n"
     "        [7.0010e+03, 8.0010e+03, 9.0010e+03, 1.0001e+04, 1.1001e+04, "
     "1.2001e+04,\n"
     "         1.3001e+04],\n"
     "        [1.4001e+04, 1.5001e+04, 1.6001e+04, 1.7001e+04, 1.8001e+04, "
     "1.9001e+04,\n"
     "         2.0001e+04],\n"
     "        [2.1001e+04, 2.2001e+04, 2.3001e+04, 2.4001e+04, 2.5001e+04, "
     "2.6001e+04,\n"
     "         2.7001e+04],\n"
     "        [2.8001e+04, 2.9001e+04, 3.0001e+04, 3.1001e+04, 3.2001e+04, "
     "3.3001e+04,\n"
     "         3.4001e+04],\n"
     "        [3.5001e+04, 3.6001e+04, 3.7001e+04, 3.8001e+04, 3.9001e+04, "
     "4.0001e+04,\n"
     "         4.1001e+04],\n"
     "        [4.2001e+04, 4.3001e+04, 4.4001e+04, 4.5001e+04, 4.6001e+04, "
     "4.7001e+04,\n"
     "         4.8001e+04]])"},
    {2,
     {4, 300},
     DT_FLOAT32,
     0.0,
     0.5,
     "tensor([[0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 1.4850e+02, "
     "1.4900e+02,\n"
     "         1.4950e+02],\n"
     "        [1.5000e+02, 1.5050e+02, 1.5100e+02,  ..., 2.9850e+02, "
     "2.9900e+02,\n"
     "         2.9950e+02],\n"
     "        [3.0000e+02, 3.0050e+02, 3.0100e+02,  ..., 4.4850e+02, "
     "4.4900e+02,\n"
     "         4.4950e+02],\n"
     "        [4.5000e+02, 4.5050e+02, 4.5100e+02,  ..., 5.9850e+02, "
     "5.9900e+02,\n"
     "         5.9950e+02]])"},
};

static void t_repr_ranges(void) {
  for (size_t k = 0; k < sizeof range_cases / sizeof range_cases[0]; k++) {
    const range_case *c = &range_cases[k];
    int64_t n = 1;
    for (int d = 0; d < c->ndim; d++)
      n *= c->shape[d];
    double *v = malloc(sizeof(double) * (size_t)n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    for (int64_t i = 0; i < n; i++)
      v[i] = c->dtype == DT_BOOL ? (i % 3 != 1) : c->a + c->b * (double)i;
    char what[64];
    snprintf(what, sizeof what, "range case %zu", k);
    check_all_layouts(c->ndim, c->shape, v, DT_FLOAT64, c->dtype, false,
                      c->repr, what);
    free(v);
  }
}

/* ---- repr of factory-made tensors ---------------------------------------- */

typedef struct factory_case {
  int kind; /* 0 zeros, 1 full */
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_dtype dtype;
  dt_scalar value;
  bool rg;
  const char *repr;
} factory_case;

static void t_repr_factories(void) {
  const factory_case fcases[] = {
      {0,
       2,
       {2, 0},
       DT_DTYPE_DEFAULT,
       DT_I(0),
       false,
       "tensor([], size=(2, 0))"},
      {0, 1, {0}, DT_INT64, DT_I(0), false, "tensor([], dtype=torch.int64)"},
      {0, 1, {0}, DT_DTYPE_DEFAULT, DT_I(0), false, "tensor([])"},
      {0,
       2,
       {0, 3},
       DT_BOOL,
       DT_I(0),
       false,
       "tensor([], size=(0, 3), dtype=torch.bool)"},
      {0,
       1,
       {0},
       DT_FLOAT64,
       DT_I(0),
       true,
       "tensor([], dtype=torch.float64, requires_grad=True)"},
      {0,
       3,
       {3, 0, 2},
       DT_INT32,
       DT_I(0),
       false,
       "tensor([], size=(3, 0, 2), dtype=torch.int32)"},
      {0, 2, {1, 1}, DT_DTYPE_DEFAULT, DT_I(0), false, "tensor([[0.]])"},
      {1,
       2,
       {2, 3},
       DT_DTYPE_DEFAULT,
       DT_F(7.0),
       false,
       "tensor([[7., 7., 7.],\n        [7., 7., 7.]])"},
      {1, 0, {0}, DT_DTYPE_DEFAULT, DT_I(-5), false, "tensor(-5)"},
      {1,
       1,
       {1001},
       DT_DTYPE_DEFAULT,
       DT_B(true),
       false,
       "tensor([True, True, True,  ..., True, True, True])"},
      {1,
       2,
       {2, 2},
       DT_FLOAT64,
       DT_F(0.5),
       false,
       "tensor([[0.5000, 0.5000],\n        [0.5000, 0.5000]], "
       "dtype=torch.float64)"},
  };
  for (size_t k = 0; k < sizeof fcases / sizeof fcases[0]; k++) {
    const factory_case *c = &fcases[k];
    layouts L;
    make_layouts(&L, c->ndim, c->shape, c->dtype, c->rg);
    for (int j = 0; j < L.n; j++) {
      dt_tensor *t = NULL;
      if (c->kind == 0)
        T_OK(dt_zeros(T_ctx, c->ndim, c->shape, &L.opts[j], &t));
      else
        T_OK(dt_full(T_ctx, c->ndim, c->shape, c->value, &L.opts[j], &t));
      if (t)
        expect_repr(t, c->repr, c->repr, j);
      dt_tensor_destroy(&t);
    }
  }
}

static void t_repr_arange(void) {
  const char *expected =
      "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., "
      "12., 13.,\n"
      "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., "
      "26., 27.,\n"
      "        28., 29.])";
  int64_t n = 30;
  layouts L;
  make_layouts(&L, 1, &n, DT_DTYPE_DEFAULT, false);
  for (int j = 0; j < L.n; j++) {
    dt_tensor *t = NULL;
    T_OK(dt_arange(T_ctx, DT_I(0), DT_F(30), DT_I(1), &L.opts[j], &t));
    if (t)
      expect_repr(t, expected, "arange(30.)", j);
    dt_tensor_destroy(&t);
  }
  dt_tensor *t = NULL;
  T_OK(dt_arange(T_ctx, DT_I(0), DT_I(2000), DT_I(1), NULL, &t));
  if (t)
    expect_repr(t, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])",
                "arange(2000)", 0);
  dt_tensor_destroy(&t);
}

/* With float64 as the default dtype, float32 is the one that gets a suffix
 * (torch.set_default_dtype(torch.float64)). */
static void t_repr_default_float64(void) {
  T_OK(dt_ctx_set_default_dtype(T_ctx, DT_FLOAT64));
  const double v[2] = {1.0, 2.5};
  const int64_t two = 2, zero = 0;
  check_all_layouts(1, &two, v, DT_FLOAT64, DT_DTYPE_DEFAULT, false,
                    "tensor([1.0000, 2.5000])", "float64 default");
  check_all_layouts(1, &two, v, DT_FLOAT64, DT_FLOAT32, false,
                    "tensor([1.0000, 2.5000], dtype=torch.float32)",
                    "float32 under a float64 default");
  check_all_layouts(1, &zero, v, DT_FLOAT64, DT_DTYPE_DEFAULT, false,
                    "tensor([])", "empty float64 default");
  check_all_layouts(1, &zero, v, DT_FLOAT64, DT_FLOAT32, false,
                    "tensor([], dtype=torch.float32)", "empty float32");
  const int64_t iv[2] = {1, 2};
  check_all_layouts(1, &two, iv, DT_INT64, DT_DTYPE_DEFAULT, false,
                    "tensor([1, 2])", "int64 under a float64 default");
}

/* An irregular layout from dt_from_buffer: rank r holds row P - 1 - r. */
static void t_repr_from_buffer(void) {
  int32_t row[3];
  int r = T_size - 1 - T_rank;
  for (int k = 0; k < 3; k++)
    row[k] = 3 * r + k;
  int64_t shape[2] = {T_size, 3}, start[2] = {r, 0}, lshape[2] = {1, 3};
  dt_tensor *t = NULL;
  T_OK(dt_from_buffer(T_ctx, row, DT_INT32, 2, shape, start, lshape, &t));
  /* repr(torch.arange(3 * P, dtype=torch.int32).reshape(P, 3)) */
  static const char *const expected[4] = {
      "tensor([[0, 1, 2]], dtype=torch.int32)",
      "tensor([[0, 1, 2],\n        [3, 4, 5]], dtype=torch.int32)",
      "tensor([[0, 1, 2],\n        [3, 4, 5],\n        [6, 7, 8]], "
      "dtype=torch.int32)",
      "tensor([[ 0,  1,  2],\n        [ 3,  4,  5],\n        [ 6,  7,  8],\n"
      "        [ 9, 10, 11]], dtype=torch.int32)"};
  if (t && T_size <= 4)
    expect_repr(t, expected[T_size - 1], "from_buffer", 0);
  dt_tensor_destroy(&t);
}

/* ---- dt_format / dt_print errors and output ------------------------------ */

static void t_format_errors(void) {
  char *s = (char *)"sentinel";
  T_ERR(dt_format(NULL, &s), DT_ERR_NULL);
  CU_ASSERT_PTR_NULL(s);
  T_ERR(dt_print(NULL, stdout), DT_ERR_NULL);

  const int64_t v[3] = {1, 2, 3}, n = 3;
  dt_tensor *t = NULL;
  T_OK(dt_from_data(T_ctx, 1, &n, v, DT_INT64, DT_ALL_RANKS, NULL, &t));
  if (!t)
    return;
  T_ERR(dt_format(t, NULL), DT_ERR_NULL);
  CU_ASSERT_PTR_NOT_NULL(strstr(dt_last_error(), "dt_format"));

  /* A NULL output on one rank only fails everywhere. */
  if (T_size > 1) {
    s = NULL;
    T_ERR(dt_format(t, T_rank == 1 ? NULL : &s), DT_ERR_NULL);
    CU_ASSERT_PTR_NULL(s);
  }

  /* NULL stream on rank 0 fails everywhere; elsewhere NULL is fine. */
  T_ERR(dt_print(t, NULL), DT_ERR_NULL);
  CU_ASSERT_PTR_NOT_NULL(strstr(dt_last_error(), "dt_print"));
  FILE *f = tmpfile();
  CU_ASSERT_PTR_NOT_NULL(f);
  T_OK(dt_print(t, T_rank == 0 ? f : NULL));
  if (f) {
    char buf[64] = {0};
    rewind(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    if (T_rank == 0) {
      CU_ASSERT_STRING_EQUAL(buf, "tensor([1, 2, 3])\n");
    } else {
      CU_ASSERT_EQUAL(got, 0);
    }
    fclose(f);
  }
  /* Only rank 0 writes even when every rank passes a stream. */
  f = tmpfile();
  T_OK(dt_print(t, f));
  if (f) {
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    CU_ASSERT_EQUAL(len, T_rank == 0 ? (long)strlen("tensor([1, 2, 3])\n") : 0);
    fclose(f);
  }
  dt_tensor_destroy(&t);
}

/* ---- parser: accepted literals ------------------------------------------- */

typedef struct parse_case {
  const char *lit;
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_dtype dtype;
  int n;
  double v[8];
} parse_case;

static const parse_case parse_cases[] = {
    {"7", 0, {0}, DT_INT64, 1, {7}},
    {"2.5", 0, {0}, DT_FLOAT32, 1, {2.5}},
    {"true", 0, {0}, DT_BOOL, 1, {1}},
    {"False", 0, {0}, DT_BOOL, 1, {0}},
    {"  -3  ", 0, {0}, DT_INT64, 1, {-3}},
    {"+4", 0, {0}, DT_INT64, 1, {4}},
    {"[]", 1, {0}, DT_FLOAT32, 0, {0}},
    {" [ ] ", 1, {0}, DT_FLOAT32, 0, {0}},
    {"[[]]", 2, {1, 0}, DT_FLOAT32, 0, {0}},
    {"[[], []]", 2, {2, 0}, DT_FLOAT32, 0, {0}},
    {"[[[]], [[]]]", 3, {2, 1, 0}, DT_FLOAT32, 0, {0}},
    {"[1, 2, 3]", 1, {3}, DT_INT64, 3, {1, 2, 3}},
    {"[1.0, 2]", 1, {2}, DT_FLOAT32, 2, {1, 2}},
    {"[[1, 2], [3, 4]]", 2, {2, 2}, DT_INT64, 4, {1, 2, 3, 4}},
    {"[true, false, True, False]", 1, {4}, DT_BOOL, 4, {1, 0, 1, 0}},
    {"[true, 2]", 1, {2}, DT_INT64, 2, {1, 2}},
    {"[True, 2.5]", 1, {2}, DT_FLOAT32, 2, {1, 2.5}},
    {"[false, -1e0]", 1, {2}, DT_FLOAT32, 2, {0, -1}},
    {"[1., .5, 1e-3, 2E+5, 3e2, -.25]",
     1,
     {6},
     DT_FLOAT32,
     6,
     {1, .5, 1e-3, 2e5, 300, -.25}},
    {"[inf, -inf, +inf, Infinity, -INF]",
     1,
     {5},
     DT_FLOAT32,
     5,
     {INFINITY, -INFINITY, INFINITY, INFINITY, -INFINITY}},
    {" [ [ 1 ,2 ] ,\n[3,4]\t] ", 2, {2, 2}, DT_INT64, 4, {1, 2, 3, 4}},
    {"[[[1]], [[2]]]", 3, {2, 1, 1}, DT_INT64, 2, {1, 2}},
    {"[[[[[[[[1]]]]]]]]", 8, {1, 1, 1, 1, 1, 1, 1, 1}, DT_INT64, 1, {1}},
    {"[0, -0, +0, 007]", 1, {4}, DT_INT64, 4, {0, 0, 0, 7}},
    {"[-0.0]", 1, {1}, DT_FLOAT32, 1, {-0.0}},
    {"1e400", 0, {0}, DT_FLOAT32, 1, {INFINITY}},
    {"[1e-50]", 1, {1}, DT_FLOAT32, 1, {0.0}},
    {"[[1,2,3],[4,5,6]]", 2, {2, 3}, DT_INT64, 6, {1, 2, 3, 4, 5, 6}},
    /* Python syntax torch.tensor accepts: trailing commas, tuples, and
     * parentheses that only group (torch.tensor((7)) is tensor(7)). */
    {"[1,]", 1, {1}, DT_INT64, 1, {1}},
    {"[ 1 , ]", 1, {1}, DT_INT64, 1, {1}},
    {"[[1, 2],]", 2, {1, 2}, DT_INT64, 2, {1, 2}},
    {"[[1,],[2,],]", 2, {2, 1}, DT_INT64, 2, {1, 2}},
    {"(1, 2)", 1, {2}, DT_INT64, 2, {1, 2}},
    {"(1,)", 1, {1}, DT_INT64, 1, {1}},
    {"()", 1, {0}, DT_FLOAT32, 0, {0}},
    {"[(), ()]", 2, {2, 0}, DT_FLOAT32, 0, {0}},
    {"[(1, 2), (3, 4)]", 2, {2, 2}, DT_INT64, 4, {1, 2, 3, 4}},
    {"([1, 2], [3, 4],)", 2, {2, 2}, DT_INT64, 4, {1, 2, 3, 4}},
    {"(7)", 0, {0}, DT_INT64, 1, {7}},
    {"((1, 2))", 1, {2}, DT_INT64, 2, {1, 2}},
    {"[(1), ((2.5))]", 1, {2}, DT_FLOAT32, 2, {1, 2.5}},
    {"[([1]), [(2)]]", 2, {2, 1}, DT_INT64, 2, {1, 2}},
    /* Python ints have no limit: beside a float, one past int64 is a float
     * (torch.tensor([1, 10**20, 2.5]) is tensor([1.0e+00, 1.0e+20, 2.5e+00])) */
    {"[1, 99999999999999999999, 2.5]", 1, {3}, DT_FLOAT32, 3, {1, 1e20, 2.5}},
};

static bool same_value(const void *data, dt_dtype dt, int k, double want) {
  switch (dt) {
  case DT_FLOAT32: {
    float got = ((const float *)data)[k], w = (float)want;
    return memcmp(&got, &w, sizeof got) == 0;
  }
  case DT_FLOAT64: {
    double got = ((const double *)data)[k];
    return memcmp(&got, &want, sizeof got) == 0;
  }
  case DT_INT64:
    return ((const int64_t *)data)[k] == (int64_t)want;
  case DT_BOOL:
    return ((const uint8_t *)data)[k] == (uint8_t)want;
  default:
    return false;
  }
}

static void t_parse_ok(void) {
  for (size_t k = 0; k < sizeof parse_cases / sizeof parse_cases[0]; k++) {
    const parse_case *c = &parse_cases[k];
    int ndim = -1;
    int64_t shape[DT_MAX_DIMS];
    dt_dtype dt = DT_DTYPE_DEFAULT;
    void *data = NULL;
    dt_err e = dt__parse_literal(c->lit, DT_FLOAT32, &ndim, shape, &dt, &data);
    CU_ASSERT_EQUAL(e, DT_OK);
    if (e != DT_OK) {
      fprintf(stderr, "[rank %d] '%s': %s\n", T_rank, c->lit, dt_last_error());
      continue;
    }
    CU_ASSERT_PTR_NOT_NULL(data);
    CU_ASSERT_EQUAL(ndim, c->ndim);
    CU_ASSERT_EQUAL(dt, c->dtype);
    for (int d = 0; d < c->ndim; d++)
      CU_ASSERT_EQUAL(shape[d], c->shape[d]);
    for (int i = 0; i < c->n; i++)
      if (!same_value(data, dt, i, c->v[i])) {
        fprintf(stderr, "[rank %d] '%s': element %d differs\n", T_rank, c->lit,
                i);
        CU_FAIL("parsed value differs");
      }
    free(data);
  }
  /* NaN (bit pattern not compared). */
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_dtype dt;
  void *data = NULL;
  T_OK(dt__parse_literal("[nan, NaN, -nan]", DT_FLOAT32, &ndim, shape, &dt,
                         &data));
  if (data)
    for (int i = 0; i < 3; i++)
      CU_ASSERT(isnan(((float *)data)[i]));
  free(data);
}

static void t_parse_exact(void) {
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_dtype dt;
  void *data = NULL;
  /* Integers never pass through double: 2^53 + 1 survives. */
  T_OK(dt__parse_literal("[9007199254740993, -9007199254740993, "
                         "9223372036854775807, -9223372036854775808]",
                         DT_FLOAT32, &ndim, shape, &dt, &data));
  if (data) {
    const int64_t *v = data;
    CU_ASSERT_EQUAL(dt, DT_INT64);
    CU_ASSERT(v[0] == INT64_C(9007199254740993));
    CU_ASSERT(v[1] == -INT64_C(9007199254740993));
    CU_ASSERT(v[2] == INT64_MAX);
    CU_ASSERT(v[3] == INT64_MIN);
  }
  free(data);
  data = NULL;
  /* The default float dtype decides the float storage; 0.1 stays exact. */
  T_OK(dt__parse_literal("[0.1, 1]", DT_FLOAT64, &ndim, shape, &dt, &data));
  CU_ASSERT_EQUAL(dt, DT_FLOAT64);
  if (data) {
    CU_ASSERT(((double *)data)[0] == 0.1);
    CU_ASSERT(((double *)data)[1] == 1.0);
  }
  free(data);
  data = NULL;
  T_OK(dt__parse_literal("[]", DT_FLOAT64, &ndim, shape, &dt, &data));
  CU_ASSERT_EQUAL(dt, DT_FLOAT64);
  free(data);
  data = NULL;
  T_OK(dt__parse_literal("[0.1]", DT_FLOAT32, &ndim, shape, &dt, &data));
  if (data)
    CU_ASSERT(((float *)data)[0] == 0.1f);
  free(data);
  data = NULL;
  /* A long float token (more digits than any local buffer). */
  char lit[600];
  memset(lit, '0', sizeof lit);
  memcpy(lit, "[1.", 3);
  memcpy(lit + sizeof lit - 4, "25]", 4);
  T_OK(dt__parse_literal(lit, DT_FLOAT64, &ndim, shape, &dt, &data));
  if (data)
    CU_ASSERT(((double *)data)[0] == 1.0);
  free(data);
}

/* ---- parser: rejected literals ------------------------------------------- */

typedef struct bad_case {
  const char *lit;
  dt_err code;
  const char *msg; /* must appear in dt_last_error() */
} bad_case;

static const bad_case bad_cases[] = {
    {"", DT_ERR_PARSE, "end of input at position 0"},
    {"   ", DT_ERR_PARSE, "end of input at position 3"},
    {"[", DT_ERR_PARSE, "end of input at position 1"},
    {"[1, 2", DT_ERR_PARSE, "end of input at position 5"},
    {"[[1, 2], [3, 4]", DT_ERR_PARSE, "end of input at position 15"},
    {"[1, 2,,]", DT_ERR_PARSE, "unexpected ',' at position 6"},
    {"(,)", DT_ERR_PARSE, "unexpected ',' at position 1"},
    {"[1, 2)", DT_ERR_PARSE, "unexpected ')' at position 5 (expected ',' or ']')"},
    {"(1, 2]", DT_ERR_PARSE, "unexpected ']' at position 5 (expected ',' or ')')"},
    {"(1 2)", DT_ERR_PARSE, "unexpected '2' at position 3"},
    {"(1))", DT_ERR_PARSE, "unexpected ')' at position 3"},
    {"((1, 2)", DT_ERR_PARSE, "end of input at position 7"},
    {"[(1, 2), 3]", DT_ERR_PARSE, "unexpected scalar at position 9"},
    {"1(2)", DT_ERR_PARSE, "unexpected '(' at position 1"},
    {"[1 2]", DT_ERR_PARSE, "unexpected '2' at position 3"},
    {"[true false]", DT_ERR_PARSE, "unexpected 'f' at position 6"},
    {"[1, 2] x", DT_ERR_PARSE, "unexpected 'x' at position 7"},
    {"[1, 2]]", DT_ERR_PARSE, "unexpected ']' at position 6"},
    {"[1]2", DT_ERR_PARSE, "unexpected '2' at position 3"},
    {"]", DT_ERR_PARSE, "unexpected ']' at position 0"},
    {"[[1, 2], [3]]", DT_ERR_PARSE,
     "position 11: sublist [1] has length 1 but sublist [0] has length 2"},
    {"[[[1, 2], [3, 4]], [[5, 6], [7]]]", DT_ERR_PARSE,
     "sublist [1][1] has length 1 but sublist [0][0] has length 2"},
    {"[[], [1]]", DT_ERR_PARSE,
     "sublist [1] has length 1 but sublist [0] has length 0"},
    {"[[1], []]", DT_ERR_PARSE,
     "sublist [1] has length 0 but sublist [0] has length 1"},
    {"[[[1]], []]", DT_ERR_PARSE, "position 9"},
    {"[[[]], [1]]", DT_ERR_PARSE, "unexpected scalar at position 8"},
    {"[[], [[]]]", DT_ERR_PARSE, "unexpected '[' at position 6"},
    {"[1, [2]]", DT_ERR_PARSE, "unexpected '[' at position 4"},
    {"[[1], 2]", DT_ERR_PARSE, "unexpected scalar at position 6"},
    {"[,]", DT_ERR_PARSE, "unexpected ',' at position 1"},
    {"[,1]", DT_ERR_PARSE, "unexpected ',' at position 1"},
    {"[1,,2]", DT_ERR_PARSE, "unexpected ',' at position 3"},
    {"1.2.3", DT_ERR_PARSE, "unexpected '.' at position 3"},
    {"truex", DT_ERR_PARSE, "'truex' at position 0"},
    {"tru", DT_ERR_PARSE, "'tru' at position 0"},
    {"TRUE", DT_ERR_PARSE, "'TRUE' at position 0"},
    {"+true", DT_ERR_PARSE, "'true' at position 1"},
    {"nan1", DT_ERR_PARSE, "unexpected '1' at position 3"},
    {"-", DT_ERR_PARSE, "end of input at position 1"},
    {"+", DT_ERR_PARSE, "end of input at position 1"},
    {".", DT_ERR_PARSE, "unexpected '.' at position 0"},
    {"[.e5]", DT_ERR_PARSE, "unexpected '.' at position 1"},
    {"1e", DT_ERR_PARSE, "end of input at position 2"},
    {"1e+", DT_ERR_PARSE, "end of input at position 3"},
    {"[1e5e]", DT_ERR_PARSE, "unexpected 'e' at position 4"},
    {"--1", DT_ERR_PARSE, "unexpected '-' at position 1"},
    {"0x10", DT_ERR_PARSE, "unexpected 'x' at position 1"},
    {"1_000", DT_ERR_PARSE, "unexpected '_' at position 1"},
    {"[1;2]", DT_ERR_PARSE, "unexpected ';' at position 2"},
    {"\x01", DT_ERR_PARSE, "byte 0x01 at position 0"},
    {"[\xff]", DT_ERR_PARSE, "byte 0xff at position 1"},
    {"9223372036854775808", DT_ERR_PARSE, "position 0 does not fit in int64"},
    {"-9223372036854775809", DT_ERR_PARSE, "position 0 does not fit in int64"},
    {"[1, 99999999999999999999]", DT_ERR_PARSE,
     "position 4 does not fit in int64"},
    {"[[[[[[[[[1]]]]]]]]]", DT_ERR_SHAPE, "position 8"},
};

static void t_parse_errors(void) {
  for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
    const bad_case *c = &bad_cases[k];
    int ndim = -1;
    int64_t shape[DT_MAX_DIMS];
    dt_dtype dt;
    void *const sentinel = &ndim;
    void *data = sentinel;
    dt_err e = dt__parse_literal(c->lit, DT_FLOAT32, &ndim, shape, &dt, &data);
    CU_ASSERT_EQUAL(e, c->code);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_EQUAL(ndim, 0);
    if (e != c->code || !strstr(dt_last_error(), c->msg)) {
      fprintf(stderr, "[rank %d] literal #%zu: %s: '%s' (want '%s')\n", T_rank,
              k, dt_err_name(e), dt_last_error(), c->msg);
      CU_FAIL("wrong error for a malformed literal");
    }
    if (data != sentinel)
      free(data);
  }
  /* Deep nesting stops at the limit, with no recursion to exhaust. */
  size_t n = 100000;
  char *deep = malloc(n + 1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
  memset(deep, '[', n);
  deep[n] = '\0';
  int ndim;
  int64_t shape[DT_MAX_DIMS];
  dt_dtype dt;
  void *data = NULL;
  T_ERR(dt__parse_literal(deep, DT_FLOAT32, &ndim, shape, &dt, &data),
        DT_ERR_SHAPE);
  CU_ASSERT_PTR_NULL(data);
  free(deep);
  T_ERR(dt__parse_literal(NULL, DT_FLOAT32, &ndim, shape, &dt, &data),
        DT_ERR_NULL);
  T_ERR(dt__parse_literal("1", DT_INT64, &ndim, shape, &dt, &data),
        DT_ERR_DTYPE);
}

/* ---- literals with an explicit dtype: straight from the text ------------ */

/* torch.tensor(lit, dtype=...) element by element (values as torch 1.13
 * stores Python numbers: floats through double, ints as int64, Python 3.10+
 * refusing what an integer dtype cannot hold). */
typedef struct dtype_case {
  const char *lit;
  dt_dtype dtype;
  int n;
  double f[4];  /* float dtypes, exact */
  int64_t i[4]; /* integer and bool dtypes */
} dtype_case;

static const dtype_case dtype_cases[] = {
    /* 0.1 as a double, not 0.10000000149011612; 1e39 is no float32 inf */
    {"[0.1, 1e39]", DT_FLOAT64, 2, {0.1, 1e39}, {0}},
    {"[0.1, 1e39]", DT_FLOAT32, 2, {(double)0.1f, INFINITY}, {0}},
    /* 16777217 is exact in int64 and float64, rounds to even in float32 */
    {"[16777217.0, -16777217.0]", DT_INT64, 2, {0}, {16777217, -16777217}},
    {"[16777217]", DT_FLOAT64, 1, {16777217.0}, {0}},
    {"[16777217]", DT_FLOAT32, 1, {16777216.0}, {0}},
    {"[9007199254740993]", DT_FLOAT64, 1, {9007199254740992.0}, {0}},
    /* text -> double -> float: 1 + 2^-24 + 1e-34 is the double 1 + 2^-24,
     * a tie that float32 rounds to even (1.0), where strtof gives 1 + 2^-23 */
    {"[1.0000000596046447753906250000000001]", DT_FLOAT32, 1, {1.0}, {0}},
    {"[2.7, -2.7, 0.5, -0.0]", DT_INT64, 4, {0}, {2, -2, 0, 0}},
    {"[1, 2.9, True]", DT_INT32, 3, {0}, {1, 2, 1}},
    {"[2147483647, -2147483648]", DT_INT32, 2, {0}, {INT32_MAX, INT32_MIN}},
    {"[2147483647.0, -2147483648.0]", DT_INT32, 2, {0}, {INT32_MAX, INT32_MIN}},
    {"[9223372036854775807, -9223372036854775808]",
     DT_INT64,
     2,
     {0},
     {INT64_MAX, INT64_MIN}},
    {"[99999999999999999999]", DT_FLOAT64, 1, {1e20}, {0}},
    {"[0.5, 0, nan, -0.0]", DT_BOOL, 4, {0}, {1, 0, 1, 0}},
    {"[99999999999999999999, 0]", DT_BOOL, 2, {0}, {1, 0}},
    {"[true, false]", DT_FLOAT64, 2, {1.0, 0.0}, {0}},
    {"(1.5, (2),)", DT_FLOAT64, 2, {1.5, 2.0}, {0}},
};

/* RuntimeError: value cannot be converted to type int32 without overflow */
static const struct {
  const char *lit;
  dt_dtype dtype;
  dt_err code;
  const char *msg;
} dtype_bad[] = {
    {"[1, 2147483648]", DT_INT32, DT_ERR_ARG,
     "value cannot be converted to type int32 without overflow (the value at "
     "position 4)"},
    {"[-2147483649]", DT_INT32, DT_ERR_ARG, "type int32 without overflow"},
    {"[3e9]", DT_INT32, DT_ERR_ARG, "type int32 without overflow"},
    {"[2147483647.5]", DT_INT32, DT_ERR_ARG, "type int32 without overflow"},
    {"[-2147483648.5]", DT_INT32, DT_ERR_ARG, "type int32 without overflow"},
    {"[nan]", DT_INT64, DT_ERR_ARG, "type int64 without overflow"},
    {"[1, inf]", DT_INT32, DT_ERR_ARG, "type int32 without overflow"},
    {"[9.3e18]", DT_INT64, DT_ERR_ARG, "type int64 without overflow"},
    {"[99999999999999999999]", DT_INT64, DT_ERR_PARSE,
     "position 1 does not fit in int64"},
    {"[99999999999999999999]", DT_INT32, DT_ERR_PARSE,
     "position 1 does not fit in int64"},
};

static bool dtype_case_holds(const dtype_case *c, const void *data) {
  for (int k = 0; k < c->n; k++) {
    bool ok;
    switch (c->dtype) {
    case DT_FLOAT32: {
      float w = (float)c->f[k];
      ok = memcmp((const float *)data + k, &w, 4) == 0;
      break;
    }
    case DT_FLOAT64:
      ok = memcmp((const double *)data + k, &c->f[k], 8) == 0;
      break;
    case DT_INT32:
      ok = ((const int32_t *)data)[k] == c->i[k];
      break;
    case DT_INT64:
      ok = ((const int64_t *)data)[k] == c->i[k];
      break;
    default:
      ok = ((const uint8_t *)data)[k] == c->i[k];
      break;
    }
    if (!ok)
      return false;
  }
  return true;
}

static void t_parse_dtype(void) {
  for (size_t k = 0; k < sizeof dtype_cases / sizeof dtype_cases[0]; k++) {
    const dtype_case *c = &dtype_cases[k];
    int ndim = 0;
    int64_t shape[DT_MAX_DIMS];
    dt_dtype dt = DT_DTYPE_DEFAULT;
    void *data = NULL;
    T_OK(dt__parse_literal_as(c->lit, DT_FLOAT32, c->dtype, &ndim, shape, &dt,
                              &data));
    CU_ASSERT_EQUAL(dt, c->dtype);
    if (!data || !dtype_case_holds(c, data)) {
      fprintf(stderr, "[rank %d] '%s' as %s: wrong values\n", T_rank, c->lit,
              dt_dtype_name(c->dtype));
      CU_FAIL("literal with a dtype");
    }
    free(data);
    /* dt_parse in every layout: the same values on every rank */
    int64_t n = c->n;
    layouts L;
    make_layouts(&L, 1, &n, c->dtype, false);
    for (int l = 0; l < L.n; l++) {
      dt_tensor *t = NULL;
      T_OK(dt_parse(T_ctx, c->lit, &L.opts[l], &t));
      void *g = t ? dt_test_gather_all(t) : NULL;
      CU_ASSERT(t && dt_dtype_of(t) == c->dtype && dt_numel(t) == c->n);
      if (!g || !dtype_case_holds(c, g)) {
        fprintf(stderr, "[rank %d] dt_parse '%s' as %s, layout %d: wrong\n",
                T_rank, c->lit, dt_dtype_name(c->dtype), l);
        CU_FAIL("dt_parse with a dtype");
      }
      free(g);
      dt_tensor_destroy(&t);
    }
  }
  for (size_t k = 0; k < sizeof dtype_bad / sizeof dtype_bad[0]; k++) {
    dt_tensor *t = NULL;
    dt_err e = dt_parse(T_ctx, dtype_bad[k].lit,
                        &(dt_opts){.dtype = dtype_bad[k].dtype}, &t);
    CU_ASSERT_EQUAL(e, dtype_bad[k].code);
    CU_ASSERT_PTR_NULL(t);
    if (e != dtype_bad[k].code ||
        strncmp(dt_last_error(), "dt_parse: ", 10) != 0 ||
        !strstr(dt_last_error(), dtype_bad[k].msg)) {
      fprintf(stderr, "[rank %d] '%s' as %s: %s: '%s'\n", T_rank,
              dtype_bad[k].lit, dt_dtype_name(dtype_bad[k].dtype),
              dt_err_name(e), dt_last_error());
      CU_FAIL("wrong refusal of a literal with a dtype");
    }
  }
  /* the inferred dtype is unchanged by all this */
  dt_tensor *t = NULL;
  T_OK(dt_parse(T_ctx, "[0.1, 16777217]", NULL, &t));
  float *g = t ? dt_test_gather_all(t) : NULL;
  CU_ASSERT(g && dt_dtype_of(t) == DT_FLOAT32 && g[0] == 0.1f &&
            g[1] == 16777216.0f);
  free(g);
  dt_tensor_destroy(&t);
}

/* ---- dt_parse: collective parsing and round trips ------------------------ */

static void t_parse_collective(void) {
  dt_tensor *t = NULL;
  T_ERR(dt_parse(T_ctx, "[1, 2,,]", NULL, &t), DT_ERR_PARSE);
  CU_ASSERT_PTR_NULL(t);
  CU_ASSERT_PTR_NOT_NULL(strstr(dt_last_error(), "position 6"));
  T_ERR(dt_parse(T_ctx, NULL, NULL, &t), DT_ERR_NULL);
  T_ERR(dt_parse(T_ctx, "[[1], [2, 3]]", NULL, &t), DT_ERR_PARSE);
  CU_ASSERT_PTR_NULL(t);

  t = NULL;
  dt_opts o;
  memset(&o, 0, sizeof o);
  o.dtype = DT_FLOAT64;
  o.layout = DT_SPLIT;
  o.split_axis = 1;
  T_OK(dt_parse(T_ctx, "[[1, 2, 3], [4, 5, 6]]", &o, &t));
  if (t) {
    CU_ASSERT_EQUAL(dt_dtype_of(t), DT_FLOAT64);
    CU_ASSERT_EQUAL(dt_ndim(t), 2);
    CU_ASSERT_EQUAL(dt_size(t, 0), 2);
    CU_ASSERT_EQUAL(dt_size(t, 1), 3);
    expect_repr(t,
                "tensor([[1., 2., 3.],\n        [4., 5., 6.]], "
                "dtype=torch.float64)",
                "dt_parse float64", 0);
  }
  dt_tensor_destroy(&t);
}

/* The body of a repr without suffixes is itself a literal: parse it back and
 * get the same tensor and the same repr. */
static void t_round_trip(void) {
  static const char *const lits[] = {
      "[[1, 2], [3, 4]]",
      "[true, false, true]",
      "[[1.5, -2.], [0.25, 8.]]",
      "7",
      "-2.5",
      "[[[0, 1, 2]], [[3, 4, 5]]]",
      "[1e-5, 1.0]",
      "[nan, inf, -inf, 1.5]",
  };
  for (size_t k = 0; k < sizeof lits / sizeof lits[0]; k++) {
    dt_tensor *a = NULL, *b = NULL;
    char *ra = NULL, *rb = NULL;
    T_OK(dt_parse(T_ctx, lits[k], NULL, &a));
    if (a)
      T_OK(dt_format(a, &ra));
    if (ra) {
      size_t len = strlen(ra);
      CU_ASSERT(len > 8 && strncmp(ra, "tensor(", 7) == 0 &&
                ra[len - 1] == ')');
      ra[len - 1] = '\0';
      T_OK(dt_parse(T_ctx, ra + 7, NULL, &b));
      ra[len - 1] = ')';
    }
    if (b)
      T_OK(dt_format(b, &rb));
    if (ra && rb)
      CU_ASSERT_STRING_EQUAL(ra, rb);
    if (a && b) {
      CU_ASSERT_EQUAL(dt_dtype_of(a), dt_dtype_of(b));
      CU_ASSERT_EQUAL(dt_numel(a), dt_numel(b));
      void *ga = dt_test_gather_all(a), *gb = dt_test_gather_all(b);
      size_t nb = (size_t)dt_numel(a) * dt_dtype_size(dt_dtype_of(a));
      CU_ASSERT(ga && gb && dt_test_same_bits(ga, gb, nb));
      free(ga);
      free(gb);
    }
    free(ra);
    free(rb);
    dt_tensor_destroy(&a);
    dt_tensor_destroy(&b);
  }
}

/* ---- crash resistance ---------------------------------------------------- */

static uint64_t lcg_state;
static uint32_t lcg(void) {
  lcg_state =
      lcg_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)(lcg_state >> 33);
}

/* A random mutation of a valid literal in an exactly sized buffer, so an
 * over-read past the NUL is caught by AddressSanitizer. */
static char *mutate(const char *base) {
  static const char alphabet[] = "[[]],,, .0123456789eE+-truefalsnaiTFx\t\n"
                                 "\x01\xff";
  size_t cap = strlen(base) * 2 + 16;
  char *s = malloc(cap);
  if (!s)
    return NULL;
  size_t len = strlen(base);
  memcpy(s, base, len + 1);
  int edits = 1 + (int)(lcg() % 4);
  for (int e = 0; e < edits; e++) {
    size_t at = len ? lcg() % len : 0;
    char c = alphabet[lcg() % (sizeof alphabet - 1)];
    switch (lcg() % 5) {
    case 0: /* replace */
      if (len)
        s[at] = c;
      break;
    case 1: /* insert */
      if (len + 2 < cap) {
        memmove(s + at + 1, s + at, len - at + 1);
        s[at] = c;
        len++;
      }
      break;
    case 2: /* delete */
      if (len) {
        memmove(s + at, s + at + 1, len - at);
        len--;
      }
      break;
    case 3: /* duplicate a short slice */
    {
      size_t m = 1 + lcg() % 6;
      if (at + m <= len && len + m + 1 < cap) {
        memmove(s + at + m, s + at, len - at + 1);
        len += m;
      }
      break;
    }
    default: /* truncate */
      s[at] = '\0';
      len = at;
      break;
    }
  }
  char *exact = malloc(len + 1);
  if (exact)
    memcpy(exact, s, len + 1);
  free(s);
  return exact;
}

static const char *const fuzz_bases[] = {
    "[[1, 2], [3, 4]]",
    "[1.5, -2e-3, inf, nan]",
    "[[true, false], [True, False]]",
    "[[[1]], [[2]]]",
    "[[], []]",
    "[[[[[[[[1]]]]]]]]",
    "-9223372036854775808",
    "[.5, 1., 2E+5]",
    " [ [ 1 ,2 ] ,\n[3,4]\t] ",
};

static void t_fuzz_parser(void) {
  lcg_state = 20240607;
  int ok = 0, bad = 0;
  const size_t nb = sizeof fuzz_bases / sizeof fuzz_bases[0];
  for (int it = 0; it < 5000; it++) {
    char *s = mutate(fuzz_bases[lcg() % nb]);
    if (!s)
      continue;
    int ndim = -1;
    int64_t shape[DT_MAX_DIMS];
    dt_dtype dt = DT_DTYPE_DEFAULT;
    void *data = NULL;
    dt_err e = dt__parse_literal(s, DT_FLOAT32, &ndim, shape, &dt, &data);
    if (e == DT_OK) {
      ok++;
      CU_ASSERT_PTR_NOT_NULL(data);
      CU_ASSERT(ndim >= 0 && ndim <= DT_MAX_DIMS);
      CU_ASSERT(dt == DT_FLOAT32 || dt == DT_INT64 || dt == DT_BOOL);
    } else {
      bad++;
      CU_ASSERT(e == DT_ERR_PARSE || e == DT_ERR_SHAPE);
      CU_ASSERT_PTR_NULL(data);
      if (e != DT_ERR_PARSE && e != DT_ERR_SHAPE)
        fprintf(stderr, "[rank %d] fuzz: %s for '%s'\n", T_rank, dt_err_name(e),
                s);
    }
    free(data);
    free(s);
  }
  CU_ASSERT(ok > 0);
  CU_ASSERT(bad > 0);
}

/* The same mutations through the collective path: whatever parses must
 * also format, identically on every rank. */
static void t_fuzz_parse_format(void) {
  lcg_state = 77;
  const size_t nb = sizeof fuzz_bases / sizeof fuzz_bases[0];
  for (int it = 0; it < 300; it++) {
    char *s = mutate(fuzz_bases[lcg() % nb]);
    if (!s) /* same on every rank: the sequence is deterministic */
      continue;
    dt_tensor *t = NULL;
    dt_err e = dt_parse(T_ctx, s, NULL, &t);
    CU_ASSERT(e == DT_OK || e == DT_ERR_PARSE || e == DT_ERR_SHAPE);
    if (t) {
      char *r = NULL;
      T_OK(dt_format(t, &r));
      CU_ASSERT(r && strncmp(r, "tensor(", 7) == 0);
      assert_same_everywhere(r);
      free(r);
    }
    dt_tensor_destroy(&t);
    free(s);
  }
}

static const dt_test_case cases[] = {
    {"repr_literals", t_repr_literals},
    {"repr_ranges", t_repr_ranges},
    {"repr_factories", t_repr_factories},
    {"repr_arange", t_repr_arange},
    {"repr_default_float64", t_repr_default_float64},
    {"repr_from_buffer", t_repr_from_buffer},
    {"format_errors", t_format_errors},
    {"parse_ok", t_parse_ok},
    {"parse_exact", t_parse_exact},
    {"parse_errors", t_parse_errors},
    {"parse_collective", t_parse_collective},
    {"parse_dtype", t_parse_dtype},
    {"round_trip", t_round_trip},
    {"fuzz_parser", t_fuzz_parser},
    {"fuzz_parse_format", t_fuzz_parse_format},
    {NULL, NULL}};

int main(int argc, char **argv) {
  return dt_test_main(argc, argv, "format", cases);
}
