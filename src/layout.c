/*
 * layout.c - how a global shape is cut into one box per rank.
 *
 * Three representations: a process grid with cut points per axis (split,
 * grid and explicit cuts are all grids), replicated, and an explicit box per
 * rank (dt_from_buffer tilings that are not grids). Layouts are immutable
 * and shared by reference count. Nothing here knows about tensors or MPI.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static dt_layout *layout_new(dt__lkind kind, int nranks, int ndim,
                             const int64_t *shape) {
  dt_layout *l = dt__calloc(1, sizeof *l);
  if (!l)
    return NULL;
  atomic_init(&l->refs, 1);
  l->kind = kind;
  l->nranks = nranks;
  l->ndim = ndim;
  l->split_hint = -1;
  for (int d = 0; d < ndim; d++) {
    l->shape[d] = shape[d];
    l->grid[d] = 1;
    l->order[d] = d;
  }
  return l;
}

static void layout_free(dt_layout *l) {
  for (int d = 0; d < DT_MAX_DIMS; d++)
    free(l->bounds[d]);
  free(l->boxes);
  free(l);
}

dt_layout *dt__layout_ref(dt_layout *l) {
  if (l)
    atomic_fetch_add(&l->refs, 1);
  return l;
}

void dt__layout_unref(dt_layout **l) {
  if (l && *l) {
    if (atomic_fetch_sub(&(*l)->refs, 1) == 1)
      layout_free(*l);
    *l = NULL;
  }
}

/* A grid layout; bounds[d] == NULL means balanced cuts on that axis. */
static dt_err layout_grid(int nranks, int ndim, const int64_t *shape,
                          const int *grid, const int64_t *const *bounds,
                          dt_layout **out) {
  dt_layout *l = layout_new(DT__L_GRID, nranks, ndim, shape);
  DT_CHECK(l, DT_ERR_NOMEM, "cannot allocate a layout");
  for (int d = 0; d < ndim; d++) {
    l->grid[d] = grid[d];
    l->bounds[d] = dt__malloc(((size_t)grid[d] + 1) * sizeof(int64_t));
    if (!l->bounds[d]) {
      layout_free(l);
      return dt__error(DT_ERR_NOMEM, "cannot allocate a layout");
    }
    for (int k = 0; k <= grid[d]; k++)
      l->bounds[d][k] = bounds && bounds[d]
                            ? bounds[d][k]
                            : dt__block_start(shape[d], grid[d], k);
  }
  *out = l;
  return DT_OK;
}

dt_err dt__layout_split(int nranks, int ndim, const int64_t *shape, int axis,
                        dt_layout **out) {
  int grid[DT_MAX_DIMS];
  for (int d = 0; d < ndim; d++)
    grid[d] = d == axis ? nranks : 1;
  DT_CALL(layout_grid(nranks, ndim, shape, grid, NULL, out));
  (*out)->split_hint = axis;
  return DT_OK;
}

dt_err dt__layout_replicated(int nranks, int ndim, const int64_t *shape,
                             dt_layout **out) {
  dt_layout *l = layout_new(DT__L_REPLICATED, nranks, ndim, shape);
  DT_CHECK(l, DT_ERR_NOMEM, "cannot allocate a layout");
  *out = l;
  return DT_OK;
}

dt_err dt__layout_boxes(int nranks, int ndim, const int64_t *shape,
                        const int64_t *boxes, dt_layout **out) {
  dt_layout *l = layout_new(DT__L_BOXES, nranks, ndim, shape);
  DT_CHECK(l, DT_ERR_NOMEM, "cannot allocate a layout");
  size_t n = (size_t)nranks * 2 * (size_t)(ndim ? ndim : 1);
  l->boxes = dt__malloc(n * sizeof(int64_t));
  if (!l->boxes) {
    layout_free(l);
    return dt__error(DT_ERR_NOMEM, "cannot allocate a layout");
  }
  memcpy(l->boxes, boxes, (size_t)nranks * 2 * (size_t)ndim * sizeof(int64_t));
  *out = l;
  return DT_OK;
}

dt_err dt__layout_from_opts(const dt_ctx *ctx, int ndim, const int64_t *shape,
                            const dt_opts *opts, dt_layout **out) {
  int P = ctx->size;
  dt_layout_kind kind = opts ? opts->layout : DT_LAYOUT_DEFAULT;
  switch (kind) {
  case DT_LAYOUT_DEFAULT:
    if (ndim == 0)
      return dt__layout_replicated(P, ndim, shape, out);
    return dt__layout_split(P, ndim, shape,
                            ctx->default_split < ndim ? ctx->default_split : 0,
                            out);
  case DT_SPLIT: {
    int axis;
    DT_CHECK(ndim > 0, DT_ERR_AXIS,
             "a 0-dimensional tensor has no axis to split (use DT_REPLICATED)");
    DT_CALL(dt__norm_axis(opts->split_axis, ndim, &axis));
    return dt__layout_split(P, ndim, shape, axis, out);
  }
  case DT_REPLICATED:
    return dt__layout_replicated(P, ndim, shape, out);
  case DT_GRID:
  case DT_CUTS: {
    int grid[DT_MAX_DIMS];
    int64_t prod = 1;
    for (int d = 0; d < ndim; d++) {
      grid[d] = opts->grid[d];
      if (kind == DT_CUTS && opts->cuts[d] == NULL && grid[d] == 0)
        grid[d] = 1;
      DT_CHECK(grid[d] >= 1, DT_ERR_LAYOUT,
               "grid[%d] = %d: every axis needs at least one rank", d,
               opts->grid[d]);
      DT_CHECK(kind == DT_GRID || opts->cuts[d] != NULL || grid[d] == 1,
               DT_ERR_LAYOUT, "grid[%d] = %d but cuts[%d] is NULL", d, grid[d],
               d);
      prod *= grid[d];
      DT_CHECK(prod <= P, DT_ERR_LAYOUT,
               "the process grid has more cells than the %d rank(s)", P);
    }
    for (int d = ndim; d < DT_MAX_DIMS; d++)
      DT_CHECK(opts->grid[d] <= 1 && (kind == DT_GRID || !opts->cuts[d]),
               DT_ERR_LAYOUT, "grid/cuts set for axis %d of a %d-d tensor", d,
               ndim);
    DT_CHECK(prod == P, DT_ERR_LAYOUT,
             "the process grid has %lld cell(s) but there are %d rank(s)",
             (long long)prod, P);
    if (kind == DT_GRID)
      return layout_grid(P, ndim, shape, grid, NULL, out);
    for (int d = 0; d < ndim; d++) {
      const int64_t *c = opts->cuts[d];
      if (!c)
        continue;
      DT_CHECK(c[0] == 0, DT_ERR_LAYOUT, "cuts[%d][0] is %lld, not 0", d,
               (long long)c[0]);
      DT_CHECK(c[grid[d]] == shape[d], DT_ERR_LAYOUT,
               "cuts[%d][%d] is %lld, not the axis size %lld", d, grid[d],
               (long long)c[grid[d]], (long long)shape[d]);
      for (int k = 0; k < grid[d]; k++)
        DT_CHECK(c[k] <= c[k + 1], DT_ERR_LAYOUT,
                 "cut points of axis %d are out of order (%lld > %lld)", d,
                 (long long)c[k], (long long)c[k + 1]);
    }
    return layout_grid(P, ndim, shape, grid, opts->cuts, out);
  }
  default:
    return dt__error(DT_ERR_LAYOUT, "unknown layout kind %d", (int)kind);
  }
}

void dt__layout_box(const dt_layout *l, int rank, int64_t *start,
                    int64_t *shape) {
  switch (l->kind) {
  case DT__L_REPLICATED:
    for (int d = 0; d < l->ndim; d++) {
      start[d] = 0;
      shape[d] = l->shape[d];
    }
    return;
  case DT__L_BOXES: {
    const int64_t *b = l->boxes + (size_t)rank * 2 * (size_t)l->ndim;
    for (int d = 0; d < l->ndim; d++) {
      start[d] = b[d];
      shape[d] = b[l->ndim + d];
    }
    return;
  }
  case DT__L_GRID: {
    int r = rank;
    for (int k = l->ndim - 1; k >= 0; k--) {
      int d = l->order[k];
      int c = r % l->grid[d];
      r /= l->grid[d];
      start[d] = l->bounds[d][c];
      shape[d] = l->bounds[d][c + 1] - l->bounds[d][c];
    }
    return;
  }
  }
}

static bool axis_balanced(const dt_layout *l, int d) {
  for (int k = 0; k <= l->grid[d]; k++)
    if (l->bounds[d][k] != dt__block_start(l->shape[d], l->grid[d], k))
      return false;
  return true;
}

dt_layout_kind dt__layout_kind(const dt_layout *l, int *split_axis, int *grid) {
  if (split_axis)
    *split_axis = -1;
  if (grid)
    for (int d = 0; d < l->ndim; d++)
      grid[d] = l->grid[d];
  if (l->kind == DT__L_REPLICATED)
    return DT_REPLICATED;
  if (l->kind == DT__L_BOXES)
    return DT_IRREGULAR;
  bool balanced = true;
  int ncut = 0, axis = -1;
  for (int d = 0; d < l->ndim; d++) {
    balanced = balanced && axis_balanced(l, d);
    if (l->grid[d] > 1) {
      ncut++;
      axis = d;
    }
  }
  bool row_major = true;
  for (int d = 0; d < l->ndim; d++)
    row_major = row_major && l->order[d] == d;
  if (ncut > 1 && !row_major)
    return DT_IRREGULAR; /* a transposed grid: ranks are not row-major */
  if (!balanced)
    return DT_CUTS;
  if (ncut > 1)
    return DT_GRID;
  if (ncut == 0)
    axis = l->split_hint >= 0 ? l->split_hint : 0;
  if (split_axis)
    *split_axis = axis;
  return DT_SPLIT;
}

/* Layouts are immutable once built (layout.c finishes them before handing
 * them out), so the hash is computed once and kept. */
uint64_t dt__layout_hash(const dt_layout *l) {
  uint64_t h = atomic_load_explicit(&((dt_layout *)l)->hash,
                                    memory_order_relaxed);
  if (h)
    return h;
  h = dt__hash_mix((uint64_t)l->kind, (uint64_t)l->ndim);
  h = dt__hash_bytes(h, l->shape, sizeof(int64_t) * (size_t)l->ndim);
  if (l->kind == DT__L_GRID)
    for (int d = 0; d < l->ndim; d++) {
      h = dt__hash_mix(h, (uint64_t)l->order[d]);
      h = dt__hash_bytes(h, l->bounds[d],
                         sizeof(int64_t) * ((size_t)l->grid[d] + 1));
    }
  if (l->kind == DT__L_BOXES)
    h = dt__hash_bytes(
        h, l->boxes, sizeof(int64_t) * 2 * (size_t)l->ndim * (size_t)l->nranks);
  atomic_store_explicit(&((dt_layout *)l)->hash, h, memory_order_relaxed);
  return h;
}

bool dt__layout_equal(const dt_layout *a, const dt_layout *b) {
  if (a == b)
    return true;
  if (a->ndim != b->ndim || a->nranks != b->nranks)
    return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d])
      return false;
  if (a->kind == DT__L_REPLICATED || b->kind == DT__L_REPLICATED)
    return a->kind == b->kind;
  for (int r = 0; r < a->nranks; r++) {
    int64_t s1[DT_MAX_DIMS], n1[DT_MAX_DIMS], s2[DT_MAX_DIMS], n2[DT_MAX_DIMS];
    dt__layout_box(a, r, s1, n1);
    dt__layout_box(b, r, s2, n2);
    for (int d = 0; d < a->ndim; d++)
      if (n1[d] != n2[d] || (n1[d] && s1[d] != s2[d]))
        return false;
  }
  return true;
}

/* ---- derived layouts (views, deepcopy) ----------------------------------- */

dt_err dt__layout_clone(const dt_layout *l, dt_layout **out) {
  switch (l->kind) {
  case DT__L_REPLICATED:
    return dt__layout_replicated(l->nranks, l->ndim, l->shape, out);
  case DT__L_BOXES:
    return dt__layout_boxes(l->nranks, l->ndim, l->shape, l->boxes, out);
  case DT__L_GRID:
    break;
  }
  DT_CALL(layout_grid(l->nranks, l->ndim, l->shape, l->grid,
                      (const int64_t *const *)l->bounds, out));
  for (int d = 0; d < l->ndim; d++)
    (*out)->order[d] = l->order[d];
  (*out)->split_hint = l->split_hint;
  return DT_OK;
}

dt_err dt__layout_transpose(const dt_layout *l, int a, int b, dt_layout **out) {
  int64_t shape[DT_MAX_DIMS];
  for (int d = 0; d < l->ndim; d++)
    shape[d] = l->shape[d];
  shape[a] = l->shape[b];
  shape[b] = l->shape[a];
  if (l->kind == DT__L_REPLICATED)
    return dt__layout_replicated(l->nranks, l->ndim, shape, out);
  if (l->kind == DT__L_BOXES) {
    DT_CALL(dt__layout_boxes(l->nranks, l->ndim, shape, l->boxes, out));
    int nd = l->ndim;
    for (int r = 0; r < l->nranks; r++) {
      int64_t *bx = (*out)->boxes + (size_t)r * 2 * (size_t)nd;
      int64_t t0 = bx[a], t1 = bx[nd + a];
      bx[a] = bx[b];
      bx[nd + a] = bx[nd + b];
      bx[b] = t0;
      bx[nd + b] = t1;
    }
    return DT_OK;
  }
  int grid[DT_MAX_DIMS];
  const int64_t *bounds[DT_MAX_DIMS];
  for (int d = 0; d < l->ndim; d++) {
    int src = d == a ? b : d == b ? a : d;
    grid[d] = l->grid[src];
    bounds[d] = l->bounds[src];
  }
  DT_CALL(layout_grid(l->nranks, l->ndim, shape, grid, bounds, out));
  /* The rank numbering follows the axes it was made from. */
  for (int k = 0; k < l->ndim; k++) {
    int d = l->order[k];
    (*out)->order[k] = d == a ? b : d == b ? a : d;
  }
  (*out)->split_hint = l->split_hint == a   ? b
                       : l->split_hint == b ? a
                                            : l->split_hint;
  return DT_OK;
}

/* Number of kept indices (start + k * step) below position x. */
static int64_t kept_below(int64_t x, int64_t start, int64_t step, int64_t n) {
  if (x <= start)
    return 0;
  int64_t k = (x - start - 1) / step + 1; /* no overflow for huge steps */
  return k < n ? k : n;
}

dt_err dt__layout_slice(const dt_layout *l, int axis, int64_t start,
                        int64_t step, int64_t n, dt_layout **out) {
  int64_t shape[DT_MAX_DIMS];
  for (int d = 0; d < l->ndim; d++)
    shape[d] = l->shape[d];
  shape[axis] = n;
  if (l->kind == DT__L_REPLICATED)
    return dt__layout_replicated(l->nranks, l->ndim, shape, out);
  if (l->kind == DT__L_BOXES) {
    DT_CALL(dt__layout_boxes(l->nranks, l->ndim, shape, l->boxes, out));
    int nd = l->ndim;
    for (int r = 0; r < l->nranks; r++) {
      int64_t *bx = (*out)->boxes + (size_t)r * 2 * (size_t)nd;
      int64_t lo = kept_below(bx[axis], start, step, n);
      int64_t hi = kept_below(bx[axis] + bx[nd + axis], start, step, n);
      bx[axis] = lo;
      bx[nd + axis] = hi - lo;
    }
    return DT_OK;
  }
  int64_t *cut = dt__malloc(((size_t)l->grid[axis] + 1) * sizeof(int64_t));
  DT_CHECK(cut, DT_ERR_NOMEM, "cannot allocate a layout");
  for (int k = 0; k <= l->grid[axis]; k++)
    cut[k] = kept_below(l->bounds[axis][k], start, step, n);
  const int64_t *bounds[DT_MAX_DIMS];
  for (int d = 0; d < l->ndim; d++)
    bounds[d] = d == axis ? cut : l->bounds[d];
  dt_err err = layout_grid(l->nranks, l->ndim, shape, l->grid, bounds, out);
  free(cut);
  DT_CALL(err);
  for (int d = 0; d < l->ndim; d++)
    (*out)->order[d] = l->order[d];
  (*out)->split_hint = l->split_hint;
  return DT_OK;
}

/*
 * Boxes that are a split along one axis (every non-empty box full on the
 * other axes, ranks in increasing order along the cut axis; empty boxes sit
 * at the previous rank's end) become a grid layout; anything else stays an
 * explicit list. That covers what views of split layouts produce.
 */
dt_err dt__layout_from_boxes(int nranks, int ndim, const int64_t *shape,
                             const int64_t *boxes, dt_layout **out) {
  size_t per = 2 * (size_t)ndim;
  for (int axis = 0; axis < ndim; axis++) {
    bool ok = true;
    int64_t pos = 0;
    int64_t *cut = dt__malloc(((size_t)nranks + 1) * sizeof(int64_t));
    DT_CHECK(cut, DT_ERR_NOMEM, "cannot allocate a layout");
    cut[0] = 0;
    for (int r = 0; ok && r < nranks; r++) {
      const int64_t *b = boxes + (size_t)r * per;
      int64_t vol = 1;
      for (int d = 0; d < ndim; d++)
        vol *= b[ndim + d];
      if (vol > 0) {
        for (int d = 0; d < ndim; d++)
          if (d != axis && (b[d] != 0 || b[ndim + d] != shape[d]))
            ok = false;
        if (b[axis] != pos)
          ok = false;
        pos += b[ndim + axis];
      }
      cut[r + 1] = pos;
    }
    ok = ok && pos == shape[axis];
    if (ok) {
      int grid[DT_MAX_DIMS];
      const int64_t *bounds[DT_MAX_DIMS] = {NULL};
      for (int d = 0; d < ndim; d++)
        grid[d] = d == axis ? nranks : 1;
      bounds[axis] = cut;
      dt_err err = layout_grid(nranks, ndim, shape, grid, bounds, out);
      free(cut);
      return err;
    }
    free(cut);
  }
  if (ndim == 0 && nranks == 1)
    return dt__layout_split(1, 0, shape, 0, out);
  return dt__layout_boxes(nranks, ndim, shape, boxes, out);
}

dt_err dt__layout_like(const dt_layout *l, int nranks, int ndim,
                       const int64_t *shape, dt_layout **out) {
  int axis;
  dt_layout_kind k = dt__layout_kind(l, &axis, NULL);
  if (k == DT_REPLICATED || ndim == 0)
    return dt__layout_replicated(nranks, ndim, shape, out);
  return dt__layout_split(nranks, ndim, shape,
                          k == DT_SPLIT && axis < ndim ? axis : 0, out);
}

/* ---- runs: the contiguous stretches of a box in global order ----------------
 */

void dt__box_runs(int ndim, const int64_t *gshape, const int64_t *start,
                  const int64_t *shape, dt__runs *r) {
  int64_t gstride[DT_MAX_DIMS];
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    gstride[d] = s;
    s *= gshape[d];
  }
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  r->gbase = 0;
  for (int d = 0; d < ndim; d++)
    r->gbase += start[d] * gstride[d];
  /* Merge trailing axes the box covers completely, plus the next one. */
  int inner = ndim;
  int64_t len = 1;
  while (inner > 0) {
    len *= shape[inner - 1];
    inner--;
    if (shape[inner] != gshape[inner])
      break;
  }
  if (n == 0) {
    r->ndim = 0;
    r->run_len = 0;
    r->nruns = 0;
    return;
  }
  r->ndim = inner;
  r->run_len = len;
  r->nruns = n / len;
  for (int d = 0; d < inner; d++) {
    r->gstride[d] = gstride[d];
    r->oshape[d] = shape[d];
  }
}

int64_t dt__run_global(const dt__runs *r, int64_t k) {
  int64_t g = r->gbase;
  for (int d = r->ndim - 1; d >= 0; d--) {
    g += (k % r->oshape[d]) * r->gstride[d];
    k /= r->oshape[d];
  }
  return g;
}

/* ---- which ranks' boxes meet a box (copy_'s planner) --------------------- */

/* The last k in [0, g] with b[k] <= v (b non-decreasing, b[0] <= v). */
static int last_le(const int64_t *b, int g, int64_t v, int64_t *steps) {
  int lo = 0, hi = g; /* b[lo] <= v; answer in [lo, hi] */
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    (*steps)++;
    if (b[mid] <= v)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* Append to a growing int array. */
static bool push_int(int **v, int *n, int *cap, int x) {
  if (*n == *cap) {
    int nc = *cap ? 2 * *cap : 16;
    int *p = dt__realloc(*v, sizeof *p * (size_t)nc);
    if (!p)
      return false;
    *v = p;
    *cap = nc;
  }
  (*v)[(*n)++] = x;
  return true;
}

/* The non-empty cells of one grid axis that meet [lo, hi): the cell that
 * holds lo, then each next non-empty cell (one binary search past a run
 * of empty ones), while it starts below hi. */
static bool axis_cells(const int64_t *b, int g, int64_t lo, int64_t hi,
                       int **v, int *n, int *cap, int64_t *steps) {
  if (lo >= hi || lo >= b[g])
    return true;
  int k = last_le(b, g, lo < b[0] ? b[0] : lo, steps);
  while (k < g && b[k] < hi) {
    (*steps)++;
    if (!push_int(v, n, cap, k))
      return false;
    if (k + 1 < g && b[k + 2] > b[k + 1]) /* the next cell is not empty */
      k++;
    else /* past a run of empty cells: one search */
      k = last_le(b, g, b[k + 1], steps);
  }
  return true;
}

dt_err dt__layout_meets(const dt_layout *l, const int64_t *start,
                        const int64_t *ext, const bool *any, int **ranks,
                        int *n, int64_t *visited) {
  *ranks = NULL;
  *n = 0;
  int cap = 0, nd = l->ndim;
  int64_t steps = 0;
  bool ok = true;
  if (l->kind == DT__L_REPLICATED) {
    bool empty = false;
    for (int d = 0; d < nd; d++)
      empty = empty || l->shape[d] == 0 || (!any[d] && ext[d] <= 0);
    for (int r = 0; ok && !empty && r < l->nranks; r++)
      ok = push_int(ranks, n, &cap, r);
    steps += empty ? 0 : l->nranks;
  } else if (l->kind == DT__L_BOXES) { /* explicit boxes: a scan */
    for (int r = 0; ok && r < l->nranks; r++) {
      const int64_t *b = l->boxes + (size_t)r * 2 * (size_t)nd;
      bool meets = true;
      for (int d = 0; d < nd && meets; d++) {
        int64_t lo = any[d] ? 0 : start[d];
        int64_t hi = any[d] ? l->shape[d] : start[d] + ext[d];
        int64_t a = b[d] > lo ? b[d] : lo;
        int64_t e = b[d] + b[nd + d] < hi ? b[d] + b[nd + d] : hi;
        meets = b[nd + d] > 0 && e > a;
      }
      if (meets)
        ok = push_int(ranks, n, &cap, r);
    }
    steps += l->nranks;
  } else {
    /* per axis, in rank order (order[0] outermost): cells, then product */
    int *cells[DT_MAX_DIMS] = {0}, cn[DT_MAX_DIMS] = {0}, cc[DT_MAX_DIMS];
    int64_t total = 1;
    for (int k = 0; ok && k < nd; k++) {
      int d = l->order[k];
      cc[k] = 0;
      int64_t lo = any[d] ? 0 : start[d];
      int64_t hi = any[d] ? l->shape[d] : start[d] + ext[d];
      ok = axis_cells(l->bounds[d], l->grid[d], lo, hi, &cells[k], &cn[k],
                      &cc[k], &steps);
      total *= cn[k];
    }
    int64_t rstride[DT_MAX_DIMS];
    for (int k = nd - 1, s = 1; k >= 0; k--) {
      rstride[k] = s;
      s *= l->grid[l->order[k]];
    }
    if (ok && total > 0) {
      *ranks = dt__malloc(sizeof **ranks * (size_t)total);
      ok = *ranks != NULL;
    }
    for (int64_t i = 0; ok && i < total; i++) {
      int64_t q = i, r = 0;
      for (int k = nd - 1; k >= 0; k--) {
        r += cells[k][q % cn[k]] * rstride[k];
        q /= cn[k];
      }
      (*ranks)[(*n)++] = (int)r;
    }
    steps += total;
    for (int k = 0; k < nd; k++)
      free(cells[k]);
  }
  if (visited)
    *visited += steps;
  if (!ok) {
    free(*ranks);
    *ranks = NULL;
    *n = 0;
    return dt__error(DT_ERR_NOMEM, "cannot allocate the list of peers");
  }
  return DT_OK;
}
