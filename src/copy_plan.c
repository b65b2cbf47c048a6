/*
 * copy_plan.c - copy_'s planner: which ranks this rank receives from and
 * sends to, and which box of the source each message carries.
 *
 * A function of (rank, source layout, destination layout, how the source
 * broadcasts into the destination) only: no communicator, no tensor, so a
 * test can run it for any virtual rank count in one process. The peers come
 * from the layouts' cut points (dt__layout_meets): O(ndim log P + overlaps)
 * per call, nothing of size P, where visiting every rank twice was O(P).
 */
#include "internal.h"

#include <stdlib.h>

void dt__xgeom_project(const dt__xgeom *g, const dt__box *d, dt__box *s) {
  for (int j = 0; j < g->ns; j++) {
    if (g->bcast[j]) {
      s->start[j] = 0;
      s->ext[j] = 1;
    } else {
      s->start[j] = d->start[g->off + j];
      s->ext[j] = d->ext[g->off + j];
    }
  }
}

static int64_t vol(int nd, const dt__box *b) {
  int64_t v = 1;
  for (int d = 0; d < nd; d++)
    v *= b->ext[d] > 0 ? b->ext[d] : 0;
  return v;
}

/* Position of the first entry >= x in an ascending list. */
static int lower(const int *v, int n, int x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (v[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/*
 * Fill peers from the ascending candidate list, without me, in posting
 * order: receives from me-1, me-2, ... (wrapping), sends to me+1, me+2, ...
 * so that ranks start with different partners. `mk` gives the box moved.
 */
static int fill(dt__xpeer *out, const int *cand, int n, int me, bool down,
                const dt__xgeom *g, const dt_layout *other, const dt__box *mine,
                bool rx) {
  int m = 0, at = lower(cand, n, me);
  bool has_me = at < n && cand[at] == me;
  int others = n - (has_me ? 1 : 0);
  for (int i = 0; i < others; i++) {
    int k;
    if (down) /* me-1 first: positions at-1, at-2, ..., wrapping */
      k = ((at - 1 - i) % n + n) % n;
    else /* me+1 first */
      k = (at + (has_me ? 1 : 0) + i) % n;
    int peer = cand[k];
    if (peer == me) { /* only reached when wrapping past me: skip it */
      continue;
    }
    dt__box theirs, need, I;
    dt__layout_box(other, peer, theirs.start, theirs.ext);
    if (rx) { /* mine is what I need; theirs is their source box */
      if (!dt__box_meet(g->ns, mine, &theirs, &I))
        continue;
    } else { /* mine is my source box; theirs is their destination box */
      if (vol(g->nd, &theirs) == 0)
        continue;
      dt__xgeom_project(g, &theirs, &need);
      if (!dt__box_meet(g->ns, &need, mine, &I))
        continue;
    }
    out[m].peer = peer;
    out[m].I = I;
    m++;
  }
  return m;
}

dt_err dt__xplan_make(int me, const dt_layout *src, const dt_layout *dst,
                      const dt__xgeom *g, dt__xplan *p) {
  *p = (dt__xplan){0};
  if (g->ns == 0 || src->kind == DT__L_REPLICATED)
    return DT_OK; /* read where it is (the caller's own part) */
  dt__box mdst, msrc, need;
  dt__layout_box(dst, me, mdst.start, mdst.ext);
  dt__layout_box(src, me, msrc.start, msrc.ext);
  int *cand = NULL, n = 0;
  bool none[DT_MAX_DIMS] = {false}, any[DT_MAX_DIMS];
  dt_err err = DT_OK;
  /* receives: source ranks whose box meets what my destination box needs */
  if (vol(g->nd, &mdst) > 0) {
    dt__xgeom_project(g, &mdst, &need);
    err = dt__layout_meets(src, need.start, need.ext, none, &cand, &n,
                           &p->visited);
    if (!err && n > 0 && !(p->rx = dt__malloc(sizeof *p->rx * (size_t)n)))
      err = dt__error(DT_ERR_NOMEM, "cannot allocate the copy_ plan");
    if (!err)
      p->nrx = fill(p->rx, cand, n, me, true, g, src, &need, true);
    free(cand);
    cand = NULL;
  }
  /* sends: destination ranks whose needed box meets my source box (every
   * cell of the axes my source is broadcast along or that it lacks) */
  if (!err && vol(g->ns, &msrc) > 0) {
    dt__box q;
    for (int dd = 0; dd < g->nd; dd++) {
      int j = dd - g->off;
      any[dd] = j < 0 || g->bcast[j];
      q.start[dd] = any[dd] ? 0 : msrc.start[j];
      q.ext[dd] = any[dd] ? 0 : msrc.ext[j];
    }
    err = dt__layout_meets(dst, q.start, q.ext, any, &cand, &n, &p->visited);
    if (!err && n > 0 && !(p->tx = dt__malloc(sizeof *p->tx * (size_t)n)))
      err = dt__error(DT_ERR_NOMEM, "cannot allocate the copy_ plan");
    if (!err)
      p->ntx = fill(p->tx, cand, n, me, false, g, dst, &msrc, false);
    free(cand);
  }
  p->bytes = sizeof(dt__xpeer) * (size_t)(p->nrx + p->ntx);
  if (err)
    dt__xplan_free(p);
  return err;
}

void dt__xplan_free(dt__xplan *p) {
  free(p->rx);
  free(p->tx);
  p->rx = p->tx = NULL;
  p->nrx = p->ntx = 0;
}
