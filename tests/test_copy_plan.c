/*
 * test_copy_plan - copy_'s planner (src/copy_plan.c) for virtual rank
 * counts in one process, no MPI.
 *
 * 1. For every P of 1..64 and random layouts (balanced and random cuts
 *    with empty cells, 2-D grids, explicit boxes, replicated destinations,
 *    broadcast sources), every rank's plan equals the brute-force plan that
 *    visits all P ranks twice: same peers, same order, same boxes.
 * 2. For P up to 65,536: split -> shifted split and split 0 -> split 1.
 *    Asserted: the planner looks at O(ndim log P + overlaps) cut points and
 *    ranks (never at all P unless the data overlaps all P). Printed (not
 *    asserted, wall time is noise here): plan time and memory per rank,
 *    next to the brute-force plan.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      if (failures++ < 20)                                                     \
        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
    }                                                                          \
  } while (0)

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static int64_t below(int64_t n) { return n > 0 ? (int64_t)(next() % (uint64_t)n) : 0; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- the brute-force plan (what copy_ did before: all P ranks, twice) ---- */

static bool meet(int nd, const dt__box *a, const dt__box *b, dt__box *out) {
  for (int d = 0; d < nd; d++) {
    int64_t lo = a->start[d] > b->start[d] ? a->start[d] : b->start[d];
    int64_t ha = a->start[d] + a->ext[d], hb = b->start[d] + b->ext[d];
    int64_t hi = ha < hb ? ha : hb;
    if (hi <= lo)
      return false;
    out->start[d] = lo;
    out->ext[d] = hi - lo;
  }
  return true;
}

static int64_t vol(int nd, const dt__box *b) {
  int64_t v = 1;
  for (int d = 0; d < nd; d++)
    v *= b->ext[d] > 0 ? b->ext[d] : 0;
  return v;
}

static void brute(int me, int P, const dt_layout *src, const dt_layout *dst,
                  const dt__xgeom *g, dt__xplan *p) {
  *p = (dt__xplan){0};
  if (g->ns == 0 || src->kind == DT__L_REPLICATED)
    return;
  p->rx = malloc(sizeof *p->rx * (size_t)P);
  p->tx = malloc(sizeof *p->tx * (size_t)P);
  dt__box mdst, msrc, need, theirs, tneed, I;
  dt__layout_box(dst, me, mdst.start, mdst.ext);
  dt__layout_box(src, me, msrc.start, msrc.ext);
  dt__xgeom_project(g, &mdst, &need);
  for (int q = 1; q < P && vol(g->nd, &mdst) > 0; q++) {
    int peer = (me - q + P) % P;
    dt__layout_box(src, peer, theirs.start, theirs.ext);
    if (meet(g->ns, &need, &theirs, &I))
      p->rx[p->nrx++] = (dt__xpeer){peer, I};
  }
  for (int q = 1; q < P && vol(g->ns, &msrc) > 0; q++) {
    int peer = (me + q) % P;
    dt__layout_box(dst, peer, theirs.start, theirs.ext);
    if (vol(g->nd, &theirs) == 0)
      continue;
    dt__xgeom_project(g, &theirs, &tneed);
    if (meet(g->ns, &tneed, &msrc, &I))
      p->tx[p->ntx++] = (dt__xpeer){peer, I};
  }
}

static bool same_peers(int ns, const dt__xpeer *a, int na, const dt__xpeer *b,
                       int nb) {
  if (na != nb)
    return false;
  for (int k = 0; k < na; k++) {
    if (a[k].peer != b[k].peer)
      return false;
    for (int d = 0; d < ns; d++)
      if (a[k].I.start[d] != b[k].I.start[d] || a[k].I.ext[d] != b[k].I.ext[d])
        return false;
  }
  return true;
}

/* ---- layouts ------------------------------------------------------------- */

/* Random non-decreasing cuts of [0, n] into g cells (empty cells likely). */
static void random_cuts(int64_t *b, int g, int64_t n) {
  b[0] = 0;
  b[g] = n;
  for (int k = 1; k < g; k++)
    b[k] = below(n + 1);
  for (int i = 1; i < g; i++) /* insertion sort: g is small */
    for (int j = i; j > 1 && b[j - 1] > b[j]; j--) {
      int64_t t = b[j];
      b[j] = b[j - 1];
      b[j - 1] = t;
    }
}

/* A grid layout over P ranks of shape (nd axes): grid[] cells per axis,
 * random cuts when `cut`, the rank order reversed when `rev` (as
 * transposes make). */
static dt_layout *grid_layout(int P, int nd, const int64_t *shape,
                              const int *grid, bool cut, bool rev) {
  dt_layout *l = NULL;
  if (dt__layout_split(P, nd, shape, 0, &l) != DT_OK)
    return NULL;
  l->split_hint = -1;
  for (int d = 0; d < nd; d++) {
    free(l->bounds[d]);
    l->grid[d] = grid[d];
    l->bounds[d] = malloc(sizeof(int64_t) * ((size_t)grid[d] + 1));
    if (cut)
      random_cuts(l->bounds[d], grid[d], shape[d]);
    else
      for (int k = 0; k <= grid[d]; k++)
        l->bounds[d][k] = dt__block_start(shape[d], grid[d], k);
    l->order[d] = rev ? nd - 1 - d : d;
  }
  return l;
}

/* A random layout over P ranks for shape. */
static dt_layout *random_layout(int P, int nd, const int64_t *shape,
                                bool allow_repl) {
  int grid[DT_MAX_DIMS];
  for (int d = 0; d < nd; d++)
    grid[d] = 1;
  int kind = (int)below(allow_repl ? 5 : 4);
  dt_layout *l = NULL;
  if (kind == 4 || nd == 0) {
    dt__layout_replicated(P, nd, shape, &l);
    return l;
  }
  if (kind == 2 && nd >= 2) { /* a 2-D grid a x b = P */
    int a = 1;
    for (int k = 1; k * k <= P; k++)
      if (P % k == 0 && below(2))
        a = k;
    int d0 = (int)below(nd - 1);
    grid[d0] = a;
    grid[d0 + 1] = P / a;
    return grid_layout(P, nd, shape, grid, below(2), below(2));
  }
  grid[below(nd)] = P;
  dt_layout *g = grid_layout(P, nd, shape, grid, kind != 0, false);
  if (kind != 3 || !g)
    return g;
  /* explicit boxes of the same tiling */
  int64_t *boxes = malloc(sizeof(int64_t) * 2 * (size_t)nd * (size_t)P);
  for (int r = 0; r < P; r++)
    dt__layout_box(g, r, boxes + (size_t)r * 2 * (size_t)nd,
                   boxes + (size_t)r * 2 * (size_t)nd + nd);
  dt__layout_boxes(P, nd, shape, boxes, &l);
  free(boxes);
  dt__layout_unref(&g);
  return l;
}

/* ---- 1: equal to the brute force for P <= 64 ----------------------------- */

static void check_small(void) {
  int64_t plans = 0;
  for (int P = 1; P <= 64; P++)
    for (int trial = 0; trial < 12; trial++) {
      dt__xgeom g = {0};
      int64_t dshape[DT_MAX_DIMS], sshape[DT_MAX_DIMS];
      g.nd = 1 + (int)below(3);
      g.ns = g.nd - (int)below(2);
      g.off = g.nd - g.ns;
      for (int d = 0; d < g.nd; d++)
        dshape[d] = below(2 * P + 3);
      for (int j = 0; j < g.ns; j++) {
        g.bcast[j] = dshape[g.off + j] > 1 && below(4) == 0;
        sshape[j] = g.bcast[j] ? 1 : dshape[g.off + j];
      }
      dt_layout *src = random_layout(P, g.ns, sshape, false);
      dt_layout *dst = random_layout(P, g.nd, dshape, true);
      CHECK(src && dst);
      for (int me = 0; src && dst && me < P; me++) {
        dt__xplan a, b;
        CHECK(dt__xplan_make(me, src, dst, &g, &a) == DT_OK);
        brute(me, P, src, dst, &g, &b);
        CHECK(same_peers(g.ns, a.rx, a.nrx, b.rx, b.nrx));
        CHECK(same_peers(g.ns, a.tx, a.ntx, b.tx, b.ntx));
        dt__xplan_free(&a);
        free(b.rx);
        free(b.tx);
        plans++;
      }
      dt__layout_unref(&src);
      dt__layout_unref(&dst);
    }
  printf("planner equals the brute force: %lld plans, P = 1..64\n",
         (long long)plans);
}

/* ---- 2: large P ---------------------------------------------------------- */

static void row(const char *what, int P, const dt_layout *src,
                const dt_layout *dst, const dt__xgeom *g, int64_t bound) {
  int ranks[3] = {0, P / 2, P - 1};
  double best = 1e30, bbest = 1e30;
  int64_t maxvis = 0, maxmsg = 0;
  size_t maxbytes = 0;
  for (int k = 0; k < 3; k++) {
    int reps = P > 4096 && !strcmp(what, "split0->split1") ? 2 : 50;
    for (int r = 0; r < reps; r++) {
      dt__xplan a;
      double t = now();
      CHECK(dt__xplan_make(ranks[k], src, dst, g, &a) == DT_OK);
      t = now() - t;
      best = t < best ? t : best;
      maxvis = a.visited > maxvis ? a.visited : maxvis;
      maxmsg = a.nrx + a.ntx > maxmsg ? a.nrx + a.ntx : maxmsg;
      maxbytes = a.bytes > maxbytes ? a.bytes : maxbytes;
      dt__xplan_free(&a);
    }
    if (P <= 65536) { /* the old way, once */
      dt__xplan b;
      double t = now();
      brute(ranks[k], P, src, dst, g, &b);
      t = now() - t;
      bbest = t < bbest ? t : bbest;
      free(b.rx);
      free(b.tx);
    }
  }
  /* the bound: per axis a binary search (log2 P + 1 steps) for the first
   * cell and after each cell found, plus the cells and ranks themselves */
  CHECK(maxvis <= bound);
  printf("%-16s %6d %8lld %9lld %10.2f %10zu %12.1f\n", what, P,
         (long long)maxmsg, (long long)maxvis, best * 1e6, maxbytes,
         bbest * 1e6);
}

static void check_large(void) {
  printf("%-16s %6s %8s %9s %10s %10s %12s\n", "plan", "P", "messages",
         "visited", "plan_us", "plan_bytes", "bruteforce_us");
  for (int P = 1; P <= 65536; P *= 4) {
    int lg = 0;
    while ((1 << lg) < P)
      lg++;
    /* split -> shifted split: 1000 rows per rank, cuts moved by 300 */
    const int64_t shape[2] = {(int64_t)P * 1000, 8};
    dt__xgeom g = {2, 2, 0, {false}};
    dt_layout *a = NULL, *b = NULL;
    CHECK(dt__layout_split(P, 2, shape, 0, &a) == DT_OK);
    CHECK(dt__layout_split(P, 2, shape, 0, &b) == DT_OK);
    for (int k = 1; k < P; k++)
      b->bounds[0][k] += 300;
    /* each rank meets at most 2 others each way; searches per axis */
    row("split->shifted", P, a, b, &g, 2 * (2 * 4 * (lg + 2) + 6));
    dt__layout_unref(&b);
    dt__layout_unref(&a);
    /* split 0 -> split 1: every rank meets every rank (the data does) */
    const int64_t sq[2] = {(int64_t)P * 4, (int64_t)P * 4};
    CHECK(dt__layout_split(P, 2, sq, 0, &a) == DT_OK);
    CHECK(dt__layout_split(P, 2, sq, 1, &b) == DT_OK);
    row("split0->split1", P, a, b, &g,
        2 * (3 * (int64_t)P + 4 * (lg + 2)));
    dt__layout_unref(&a);
    dt__layout_unref(&b);
  }
}

int main(void) {
  check_small();
  check_large();
  printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
  return failures ? 1 : 0;
}
