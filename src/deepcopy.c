/*
 * deepcopy.c - a fully independent copy by gather to a root and scatter,
 * streamed through a buffer of the context's chunk budget.
 *
 * The global flat index space is walked in chunks. For each chunk every
 * source rank sends the root its elements in that range (a contiguous piece
 * of its shard, since a box's elements are in increasing global order), the
 * root receives them straight into the chunk with an indexed datatype, then
 * sends each destination rank its part the same way. The root holds one
 * chunk; the others at most one chunk of packing for a strided shard.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Number of the box's elements whose global index is below g. */
static int64_t count_below(const dt__runs *R, int64_t g) {
  if (R->nruns == 0 || g <= dt__run_global(R, 0))
    return 0;
  int64_t lo = 0, hi = R->nruns - 1; /* largest k with start(k) < g */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (dt__run_global(R, mid) < g)
      lo = mid;
    else
      hi = mid - 1;
  }
  int64_t in = g - dt__run_global(R, lo);
  return lo * R->run_len + (in < R->run_len ? in : R->run_len);
}

/* The runs of a box that fall in [g0, g1), as byte blocks of a chunk that
 * starts at g0: an hindexed datatype (MPI_DATATYPE_NULL when none). */
/* Scratch for chunk datatypes, sized before any message moves. */
typedef struct blocks {
  int *len;
  MPI_Aint *disp;
  int64_t cap;
} blocks;

/* Blocks a box can have inside one chunk of C elements (an upper bound). */
static int64_t max_blocks(const dt__runs *R, int64_t C) {
  if (R->nruns == 0)
    return 0;
  int64_t b = C / R->run_len + 2;
  return b < R->nruns ? b : R->nruns;
}

/* The runs of a box that fall in [g0, g1), as byte blocks of a chunk that
 * starts at g0: an hindexed datatype (MPI_DATATYPE_NULL when none). */
static dt_err chunk_type(const dt__runs *R, int64_t g0, int64_t g1, size_t esz,
                         const blocks *B, MPI_Datatype *type) {
  *type = MPI_DATATYPE_NULL;
  int64_t a = count_below(R, g0), b = count_below(R, g1);
  if (a == b)
    return DT_OK;
  int64_t k0 = a / R->run_len, k1 = (b - 1) / R->run_len;
  int64_t nb = k1 - k0 + 1;
  DT_ASSERT(nb <= B->cap);
  for (int64_t k = k0; k <= k1; k++) {
    int64_t s = dt__run_global(R, k), e = s + R->run_len;
    s = s > g0 ? s : g0;
    e = e < g1 ? e : g1;
    B->len[k - k0] = (int)((e - s) * (int64_t)esz);
    B->disp[k - k0] = (MPI_Aint)((s - g0) * (int64_t)esz);
  }
  int rc = MPI_Type_create_hindexed((int)nb, B->len, B->disp, MPI_BYTE, type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_commit(type);
  if (rc != MPI_SUCCESS)
    return dt__mpi_error(rc, "building a chunk datatype");
  return DT_OK;
}

/* Copy local C-order positions [a, b) of t's shard into dst, densely. */
static void pack_positions(const dt_tensor *t, int64_t a, int64_t b,
                           char *dst) {
  size_t esz = dt_dtype_size(t->dtype);
  if (dt_is_contiguous(t)) {
    memcpy(dst, dt__local_ptr(t) + a * (int64_t)esz, (size_t)(b - a) * esz);
    return;
  }
  int nd = t->ndim;
  int64_t len = nd ? t->lshape[nd - 1] : 1, st = nd ? t->lstride[nd - 1] : 1;
  while (a < b) {
    int64_t row = a / len, j = a % len, n = len - j < b - a ? len - j : b - a;
    int64_t off = j * st, r = row;
    for (int d = nd - 2; d >= 0; d--) {
      off += (r % t->lshape[d]) * t->lstride[d];
      r /= t->lshape[d];
    }
    const char *s = dt__local_ptr(t) + off * (int64_t)esz;
    for (int64_t i = 0; i < n; i++)
      memcpy(dst + i * (int64_t)esz, s + i * st * (int64_t)esz, esz);
    dst += n * (int64_t)esz;
    a += n;
  }
}

/* Which source rank each destination rank is, from every rank's view. */
typedef struct members {
  int *dst_of_src; /* P entries, -1 for ranks outside the destination */
  int *src_of_dst; /* dsz entries */
  int dsz;
} members;

static dt_err find_members(const dt_tensor *t, dt_ctx *dst, members *m) {
  dt_ctx *ctx = t->ctx;
  int P = ctx->size;
  int mine[2] = {-1, 0};
  dt_err err = DT_OK;
  if (dst == NULL) {
    mine[0] = ctx->rank;
    mine[1] = P;
  } else if (dst != DT_CTX_ABSENT) {
    /* Every rank of dst must be a rank of t's context. */
    MPI_Group gs = MPI_GROUP_NULL, gd = MPI_GROUP_NULL;
    if (MPI_Comm_group(ctx->comm, &gs) != MPI_SUCCESS ||
        MPI_Comm_group(dst->comm, &gd) != MPI_SUCCESS)
      err = dt__error(DT_ERR_MPI, "MPI_Comm_group failed");
    int n = dst->size;
    int *in = dt__malloc(sizeof(int) * (size_t)n),
        *outr = dt__malloc(sizeof(int) * (size_t)n);
    if (!err && (!in || !outr)) {
      err = dt__error(DT_ERR_NOMEM, "cannot allocate");
    } else if (!err) {
      for (int k = 0; k < n; k++)
        in[k] = k;
      if (MPI_Group_translate_ranks(gd, n, in, gs, outr) != MPI_SUCCESS)
        err = dt__error(DT_ERR_MPI, "MPI_Group_translate_ranks failed");
      for (int k = 0; k < n && !err; k++)
        if (outr[k] == MPI_UNDEFINED)
          err = dt__error(DT_ERR_CONTEXT,
                          "the destination context has ranks outside the "
                          "source's");
    }
    free(in);
    free(outr);
    if (gs != MPI_GROUP_NULL)
      MPI_Group_free(&gs);
    if (gd != MPI_GROUP_NULL)
      MPI_Group_free(&gd);
    mine[0] = dst->rank;
    mine[1] = dst->size;
  }
  /* NULL on some ranks and a context on others cannot both hold. */
  uint64_t h = dst == NULL ? 1 : 2;
  err = dt__agree(ctx->comm, err, h);
  if (err)
    return err;
  int *table = dt__malloc(sizeof(int) * 2 * (size_t)P);
  m->dst_of_src = dt__malloc(sizeof(int) * (size_t)P);
  m->src_of_dst = dt__malloc(sizeof(int) * (size_t)P);
  err = table && m->dst_of_src && m->src_of_dst
            ? DT_OK
            : dt__error(DT_ERR_NOMEM, "cannot allocate the member table");
  err = dt__agree(ctx->comm, err, 0);
  if (!err) {
    int rc = MPI_Allgather(mine, 2, MPI_INT, table, 2, MPI_INT, ctx->comm);
    if (rc != MPI_SUCCESS)
      err = dt__mpi_error(rc, "MPI_Allgather (deepcopy members)");
  }
  /* Replicated table: every rank reaches the same verdict. */
  if (!err) {
    m->dsz = 0;
    for (int r = 0; r < P; r++)
      if (table[2 * r] >= 0)
        m->dsz = table[2 * r + 1];
    for (int k = 0; k < P; k++)
      m->src_of_dst[k] = -1;
    int count = 0;
    for (int r = 0; r < P && !err; r++) {
      int q = table[2 * r];
      m->dst_of_src[r] = q;
      if (q < 0)
        continue;
      count++;
      if (table[2 * r + 1] != m->dsz || q >= m->dsz || m->src_of_dst[q] >= 0)
        err = dt__error(DT_ERR_CONTEXT,
                        "the ranks passing a destination context do not "
                        "form it (pass DT_CTX_ABSENT on the others)");
      else
        m->src_of_dst[q] = r;
    }
    if (!err && (count != m->dsz || m->dsz == 0))
      err = dt__error(DT_ERR_CONTEXT,
                      "%d rank(s) passed a destination context of %d", count,
                      m->dsz);
  }
  free(table);
  return err;
}

/* Scatter requests of one half of the chunk buffer. */
typedef struct pending_sends {
  MPI_Request *req;
  MPI_Datatype *types;
  int n;
} pending_sends;

static dt_err finish_sends(pending_sends *p) {
  dt_err err = DT_OK;
  if (p->n) {
    int rc = MPI_Waitall(p->n, p->req, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS)
      err = dt__mpi_error(rc, "MPI_Waitall (deepcopy scatter)");
    for (int k = 0; k < p->n; k++)
      MPI_Type_free(&p->types[k]);
  }
  p->n = 0;
  return err;
}

/*
 * Stream t through the root into the members' new shards. The chunk buffer
 * has two halves: while the members read chunk c out of one half, the root
 * gathers chunk c + 1 into the other. When the root keeps its own box, its
 * elements go straight from its old shard to its new one.
 */
static dt_err stream(const dt_tensor *t, const dt_layout *DL, const members *m,
                     dt_tensor *o, char *chunk, int64_t C, char *pack,
                     MPI_Request *req, MPI_Datatype *types, const blocks *B) {
  dt_ctx *ctx = t->ctx;
  int P = ctx->size, me = ctx->rank, root = 0;
  size_t esz = dt_dtype_size(t->dtype);
  bool rep = t->layout->kind == DT__L_REPLICATED;
  dt__runs mine, odst;
  if (rep) {
    int64_t z[DT_MAX_DIMS] = {0};
    dt__box_runs(t->ndim, t->shape, z, t->shape, &mine);
  } else {
    dt__box_runs(t->ndim, t->shape, t->lstart, t->lshape, &mine);
  }
  if (o)
    dt__box_runs(o->ndim, o->shape, o->lstart, o->lshape, &odst);
  /* Does the root's new box equal what it holds? (replicated metadata) */
  int rq = m->dst_of_src[root];
  bool direct = !rep && rq >= 0 && DL->kind != DT__L_REPLICATED;
  if (direct) {
    int64_t s1[DT_MAX_DIMS], n1[DT_MAX_DIMS], s2[DT_MAX_DIMS], n2[DT_MAX_DIMS];
    dt__layout_box(t->layout, root, s1, n1);
    dt__layout_box(DL, rq, s2, n2);
    for (int d = 0; d < t->ndim; d++)
      direct = direct && n1[d] == n2[d] && (n1[d] == 0 || s1[d] == s2[d]);
  }
  if (direct && me == root && o && o->lnumel > 0) {
    if (dt_is_contiguous(t))
      dt__memcpy_par(dt__local_ptr(o), dt__local_ptr(t),
                     (size_t)t->lnumel * esz);
    else
      dt__copy_strided(t->ndim, t->lshape, dt__local_ptr(o), o->dtype,
                       o->lstride, dt__local_ptr(t), t->dtype, t->lstride);
  }
  pending_sends half[2] = {{req + P, types + P, 0},
                           {req + 2 * P, types + 2 * P, 0}};
  dt_err err = DT_OK;
  int64_t c = 0;
  for (int64_t g0 = 0; g0 < t->numel && !err; g0 += C, c++) {
    int64_t g1 = g0 + C < t->numel ? g0 + C : t->numel;
    char *buf = chunk + (size_t)(c & 1) * (size_t)C * esz;
    int nreq = 0, ntypes = 0;
    /* gather into this half, once its previous scatter is done */
    if (me == root) {
      err = finish_sends(&half[c & 1]);
      for (int r = 0; r < P && !err && !rep; r++) {
        if (r == root)
          continue;
        int64_t s[DT_MAX_DIMS], n[DT_MAX_DIMS];
        dt__runs R;
        dt__layout_box(t->layout, r, s, n);
        dt__box_runs(t->ndim, t->shape, s, n, &R);
        MPI_Datatype ty;
        err = chunk_type(&R, g0, g1, esz, B, &ty);
        if (!err && ty != MPI_DATATYPE_NULL) {
          types[ntypes++] = ty;
          int rc = MPI_Irecv(buf, 1, ty, r, 41, ctx->comm, &req[nreq++]);
          if (rc != MPI_SUCCESS)
            err = dt__mpi_error(rc, "MPI_Irecv (deepcopy)");
        }
      }
      /* the root's own elements, unless they go straight across */
      int64_t a = count_below(&mine, g0), b = count_below(&mine, g1);
      if (!err && a < b && !direct) {
        MPI_Datatype ty;
        err = chunk_type(&mine, g0, g1, esz, B, &ty);
        if (!err) {
          const char *p = dt__local_ptr(t) + a * (int64_t)esz;
          if (!dt_is_contiguous(t)) {
            pack_positions(t, a, b, pack);
            p = pack;
          }
          int pos = 0;
          int rc = MPI_Unpack(p, (int)((b - a) * (int64_t)esz), &pos, buf, 1,
                              ty, MPI_COMM_SELF);
          MPI_Type_free(&ty);
          if (rc != MPI_SUCCESS)
            err = dt__mpi_error(rc, "MPI_Unpack (deepcopy)");
        }
      }
    } else if (!rep) {
      int64_t a = count_below(&mine, g0), b = count_below(&mine, g1);
      if (a < b) {
        const char *p = dt__local_ptr(t) + a * (int64_t)esz;
        if (!dt_is_contiguous(t)) {
          pack_positions(t, a, b, pack);
          p = pack;
        }
        int rc = MPI_Send(p, (int)((b - a) * (int64_t)esz), MPI_BYTE, root, 41,
                          ctx->comm);
        if (rc != MPI_SUCCESS)
          err = dt__mpi_error(rc, "MPI_Send (deepcopy)");
      }
    }
    if (nreq) {
      int rc = MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
      if (rc != MPI_SUCCESS && !err)
        err = dt__mpi_error(rc, "MPI_Waitall (deepcopy gather)");
    }
    for (int k = 0; k < ntypes; k++)
      MPI_Type_free(&types[k]);
    /* scatter out of this half: posted, completed before its next reuse */
    if (me == root) {
      pending_sends *h = &half[c & 1];
      for (int q = 0; q < m->dsz && !err; q++) {
        int r = m->src_of_dst[q];
        int64_t s[DT_MAX_DIMS], n[DT_MAX_DIMS];
        dt__runs R;
        dt__layout_box(DL, q, s, n);
        dt__box_runs(t->ndim, t->shape, s, n, &R);
        if (r == root) {
          int64_t a = count_below(&R, g0), b = count_below(&R, g1);
          if (a < b && !direct) {
            MPI_Datatype ty;
            err = chunk_type(&R, g0, g1, esz, B, &ty);
            int pos = 0;
            int rc =
                err ? MPI_SUCCESS
                    : MPI_Pack(buf, 1, ty, dt__local_ptr(o) + a * (int64_t)esz,
                               (int)((b - a) * (int64_t)esz), &pos,
                               MPI_COMM_SELF);
            if (!err)
              MPI_Type_free(&ty);
            if (rc != MPI_SUCCESS)
              err = dt__mpi_error(rc, "MPI_Pack (deepcopy)");
          }
          continue;
        }
        MPI_Datatype ty;
        err = chunk_type(&R, g0, g1, esz, B, &ty);
        if (!err && ty != MPI_DATATYPE_NULL) {
          h->types[h->n] = ty;
          int rc = MPI_Isend(buf, 1, ty, r, 42, ctx->comm, &h->req[h->n++]);
          if (rc != MPI_SUCCESS)
            err = dt__mpi_error(rc, "MPI_Isend (deepcopy)");
        }
      }
    } else if (o) {
      int64_t a = count_below(&odst, g0), b = count_below(&odst, g1);
      if (a < b) {
        int rc = MPI_Recv(dt__local_ptr(o) + a * (int64_t)esz,
                          (int)((b - a) * (int64_t)esz), MPI_BYTE, root, 42,
                          ctx->comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
          err = dt__mpi_error(rc, "MPI_Recv (deepcopy)");
      }
    }
  }
  for (int k = 0; k < 2; k++) {
    dt_err e = finish_sends(&half[k]);
    err = err ? err : e;
  }
  return err;
}

dt_err dt_deepcopy(const dt_tensor *t, dt_ctx *dst, dt_tensor **out) {
  if (!t)
    DT_RETURN(dt__error(DT_ERR_NULL, "t is NULL"));
  dt_ctx *ctx = t->ctx;
  bool member = dst != DT_CTX_ABSENT;
  dt_ctx *dctx = dst == NULL ? ctx : dst;
  members m = {0};
  dt_layout *DL = NULL;
  dt_tensor *o = NULL;
  char *chunk = NULL, *pack = NULL;
  size_t esz = dt_dtype_size(t->dtype);
  MPI_Request *req = NULL;
  MPI_Datatype *types = NULL;
  blocks B = {0};
  dt_err err = out ? DT_OK : dt__error(DT_ERR_NULL, "out is NULL");
  if (!err)
    *out = NULL;
  /* The root holds the chunk, in two halves (one gathered while the other
   * is scattered), and a packing buffer when its shard is strided: the
   * budget is cut in two or three so the total stays within it. */
  int64_t root_strided = ctx->rank == 0 && !dt_is_contiguous(t);
  err = dt__agree_max(ctx->comm, err, 0, &root_strided);
  int64_t C = (int64_t)(ctx->chunk_budget / (root_strided ? 3 : 2) / esz);
  if (C < 1)
    C = 1;
  if (!err)
    err = find_members(t, dst, &m);
  /* The destination layout (replicated metadata, known everywhere). */
  if (!err) {
    if (m.dsz == ctx->size)
      err = dt__layout_clone(t->layout, &DL);
    else
      err = dt__layout_like(t->layout, m.dsz, t->ndim, t->shape, &DL);
  }
  if (!err && member)
    err = dt__tensor_alloc(dctx, t->dtype, DL, &o);
  /* Everything the stream needs, before its first message. */
  int64_t packn = t->lnumel < C ? t->lnumel : C;
  if (!err && ctx->rank == 0) {
    chunk = dt__alloc(2 * (size_t)C * esz);
    req = dt__malloc(sizeof *req * 3 * (size_t)ctx->size);
    types = dt__malloc(sizeof *types * 3 * (size_t)ctx->size);
    for (int r = 0; r < ctx->size; r++) {
      int64_t s0[DT_MAX_DIMS], n0[DT_MAX_DIMS];
      dt__runs R;
      dt__layout_box(t->layout, r, s0, n0);
      dt__box_runs(t->ndim, t->shape, s0, n0, &R);
      B.cap = max_blocks(&R, C) > B.cap ? max_blocks(&R, C) : B.cap;
    }
    for (int q = 0; q < m.dsz; q++) {
      int64_t s0[DT_MAX_DIMS], n0[DT_MAX_DIMS];
      dt__runs R;
      dt__layout_box(DL, q, s0, n0);
      dt__box_runs(t->ndim, t->shape, s0, n0, &R);
      B.cap = max_blocks(&R, C) > B.cap ? max_blocks(&R, C) : B.cap;
    }
    if (t->layout->kind == DT__L_REPLICATED)
      B.cap = B.cap > 3 ? B.cap : 3;
    if (B.cap >= INT32_MAX)
      err = dt__error(DT_ERR_OVERFLOW, "too many runs in one chunk");
    else {
      B.len = dt__malloc(sizeof *B.len * (size_t)(B.cap + 1));
      B.disp = dt__malloc(sizeof *B.disp * (size_t)(B.cap + 1));
    }
    if (!err && (!chunk || !req || !types || !B.len || !B.disp))
      err = dt__error(DT_ERR_NOMEM, "cannot allocate the %zu-byte chunk",
                      2 * (size_t)C * esz);
  }
  if (!err && dt__fault(ctx->comm, "deepcopy"))
    err = dt__error(DT_ERR_NOMEM, "cannot allocate (injected fault)");
  if (!err && !dt_is_contiguous(t) && packn > 0) {
    pack = dt__alloc((size_t)packn * esz);
    if (!pack)
      err = dt__error(DT_ERR_NOMEM, "cannot allocate a packing buffer");
  }
  err = dt__agree(ctx->comm, err, dt__layout_hash(t->layout));
  if (!err)
    err = stream(t, DL, &m, o, chunk, C, pack, req, types, &B);
  err = dt__agree(ctx->comm, err, 0);
  if (chunk)
    dt__free(chunk, 2 * (size_t)C * esz);
  if (pack)
    dt__free(pack, (size_t)packn * esz);
  free(req);
  free(types);
  free(B.len);
  free(B.disp);
  free(m.dst_of_src);
  free(m.src_of_dst);
  dt__layout_unref(&DL);
  if (err) {
    dt__tensor_free(o);
    DT_RETURN(err);
  }
  if (o)
    o->requires_grad = t->requires_grad;
  /* .grad travels too (a deep copy of it, attached to the copy). */
  if (t->grad) {
    dt_tensor *g = NULL;
    err = dt_deepcopy(t->grad, dst, &g);
    if (err) {
      dt__tensor_free(o);
      DT_RETURN(err);
    }
    if (o)
      o->grad = g;
  }
  *out = o;
  return DT_OK;
}
