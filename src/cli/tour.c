/*
 * tour.c - `dtensor tour`: PyTorch's creation functions, live across ranks.
 *
 * Each step prints the PyTorch expression it mirrors, the tensor (dt_print,
 * rank 0) and the box every rank owns, so a reader sees both the familiar
 * value and how it is distributed. Only rank 0 writes; every rank makes the
 * same collective calls in the same order.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Ranks listed in a split line before "..." (a tour at -np 64 stays short). */
#define TOUR_MAX_LISTED 8

typedef struct tour {
  const cli_env *env;
  dt_ctx *ctx;
  int size;
  bool reported; /* an error was already printed */
} tour;

enum {
  SHOW_KEEP = 1,      /* the caller still needs the tensor */
  SHOW_NO_VALUES = 2, /* dt_empty: values are uninitialised */
  SHOW_CHECKSUM = 4,
};

static void say(const tour *T, const char *fmt, ...) CLI_PRINTF(2, 3);

static void say(const tour *T, const char *fmt, ...) {
  if (T->env->rank != 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

/* Append printf output to buf at *used, never overflowing. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    CLI_PRINTF(4, 5);

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...) {
  if (*used >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf + *used, len - *used, fmt, ap);
  va_end(ap);
  if (w > 0)
    *used += (size_t)w;
}

/* "[0:1, 0:3]" for the box of `rank`, plus " (empty)" when it holds nothing. */
static void append_box(const dt_tensor *t, int rank, char *buf, size_t len,
                       size_t *used) {
  int64_t start[DT_MAX_DIMS], shape[DT_MAX_DIMS];
  int nd = dt_ndim(t);
  if (dt_owner_box(t, rank, start, shape) != DT_OK) {
    append(buf, len, used, "?");
    return;
  }
  bool empty = false;
  append(buf, len, used, "[");
  for (int d = 0; d < nd; d++) {
    append(buf, len, used, "%s%lld:%lld", d ? ", " : "", (long long)start[d],
           (long long)(start[d] + shape[d]));
    empty = empty || shape[d] == 0;
  }
  append(buf, len, used, "]%s", empty ? " (empty)" : "");
}

/* The line saying how t is cut into one box per rank. */
static void describe_layout(const tour *T, const dt_tensor *t) {
  if (T->env->rank != 0)
    return;
  char line[1024];
  size_t used = 0;
  int axis = -1, grid[DT_MAX_DIMS] = {0};
  dt_layout_kind kind = dt_layout_of(t, &axis, grid);
  int P = T->size;
  const char *ranks = P == 1 ? "rank" : "ranks";
  switch (kind) {
  case DT_REPLICATED:
    append(line, sizeof line, &used, "replicated over %d %s: every rank holds ",
           P, ranks);
    append_box(t, 0, line, sizeof line, &used);
    printf("    %s\n", line);
    return;
  case DT_SPLIT:
    append(line, sizeof line, &used, "split on axis %d over %d %s:", axis, P,
           ranks);
    break;
  case DT_GRID:
  case DT_CUTS:
    append(line, sizeof line, &used, "%s ",
           kind == DT_GRID ? "grid" : "cut on a grid");
    for (int d = 0; d < dt_ndim(t); d++)
      append(line, sizeof line, &used, "%s%d", d ? " x " : "", grid[d]);
    append(line, sizeof line, &used, " over %d %s:", P, ranks);
    break;
  default:
    append(line, sizeof line, &used, "irregular layout over %d %s:", P, ranks);
    break;
  }
  int listed = P < TOUR_MAX_LISTED ? P : TOUR_MAX_LISTED;
  for (int r = 0; r < listed; r++) {
    append(line, sizeof line, &used, "%sr%d ", r ? "  " : " ", r);
    append_box(t, r, line, sizeof line, &used);
  }
  if (P > listed)
    append(line, sizeof line, &used, "  ... (%d more)", P - listed);
  printf("    %s\n", line);
}

/*
 * One step of the tour: the PyTorch expression (and the C function behind
 * it), then the tensor `made` produced and its layout. Destroys *t unless
 * SHOW_KEEP. Takes t by address because `made` is evaluated in the same
 * call, and only then is *t set.
 */
static dt_err show(const tour *T, const char *expr, const char *cfn,
                   dt_err made, dt_tensor **t, unsigned flags) {
  say(T, ">>> %-44s # %s\n", expr, cfn);
  dt_err err = made;
  if (!err && (flags & SHOW_NO_VALUES)) {
    char s[256];
    say(T, "    torch.Size(%s), dtype=torch.%s; values are uninitialised\n",
        cli_shape_str(dt_ndim(*t), dt_shape(*t), s, sizeof s),
        dt_dtype_name(dt_dtype_of(*t)));
  } else if (!err) {
    err = dt_print(*t, stdout);
  }
  if (!err)
    describe_layout(T, *t);
  uint64_t sum = 0;
  if (!err && (flags & SHOW_CHECKSUM))
    err = dt_checksum(*t, &sum);
  if (!err && (flags & SHOW_CHECKSUM))
    say(T,
        "    checksum 0x%016llx  (identical at any rank count, thread "
        "count and layout)\n",
        (unsigned long long)sum);
  if (err || !(flags & SHOW_KEEP))
    dt_tensor_destroy(t);
  say(T, "\n");
  return err;
}

static void section(const tour *T, const char *title) {
  say(T, "== %s ==\n\n", title);
}

static const int64_t s23[2] = {2, 3};

static dt_err from_values(tour *T) {
  dt_ctx *ctx = T->ctx;
  dt_tensor *t = NULL;
  dt_err err;
  section(T, "from values (torch.tensor)");
  err = show(T, "torch.tensor([[1.0, 2], [3, 4]])", "dt_parse",
             dt_parse(ctx, "[[1.0, 2], [3, 4]]", NULL, &t), &t, 0);
  if (err)
    return err;
  static const double data[6] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
  return show(
      T, "torch.tensor(data)", "dt_from_data copies a C double[2][3]",
      dt_from_data(ctx, 2, s23, data, DT_FLOAT64, DT_ALL_RANKS, NULL, &t), &t,
      0);
}

static dt_err filled(tour *T) {
  dt_ctx *ctx = T->ctx;
  dt_tensor *t = NULL;
  dt_err err;
  section(T, "filled");
  err = show(T, "torch.zeros(2, 3)", "dt_zeros",
             dt_zeros(ctx, 2, s23, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.ones(2, 3, dtype=torch.int32)", "dt_ones",
               dt_ones(ctx, 2, s23, &(dt_opts){.dtype = DT_INT32}, &t), &t, 0);
  if (!err)
    err = show(T, "torch.full((2, 3), 7)", "dt_full, DT_I(7) -> int64",
               dt_full(ctx, 2, s23, DT_I(7), NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.full((2, 3), 3.5)", "dt_full, DT_F(3.5) -> float32",
               dt_full(ctx, 2, s23, DT_F(3.5), NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.empty(2, 3)", "dt_empty",
               dt_empty(ctx, 2, s23, NULL, &t), &t, SHOW_NO_VALUES);
  return err;
}

static dt_err ranges(tour *T) {
  dt_ctx *ctx = T->ctx;
  dt_tensor *t = NULL;
  dt_err err;
  section(T, "ranges");
  err = show(T, "torch.arange(0, 10, 2)", "dt_arange, ints -> int64",
             dt_arange(ctx, DT_I(0), DT_I(10), DT_I(2), NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.arange(0, 1, 0.3)", "dt_arange, a float -> float32",
               dt_arange(ctx, DT_I(0), DT_I(1), DT_F(0.3), NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.arange(0, 5, 1.5, dtype=torch.int64)",
               "dt_arange: the step becomes 1 first",
               dt_arange(ctx, DT_I(0), DT_I(5), DT_F(1.5),
                         &(dt_opts){.dtype = DT_INT64}, &t),
               &t, 0);
  if (!err)
    err = show(T, "torch.linspace(0, 1, 5)", "dt_linspace",
               dt_linspace(ctx, 0.0, 1.0, 5, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.logspace(0, 2, 3)", "dt_logspace",
               dt_logspace(ctx, 0.0, 2.0, 3, 10.0, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.eye(2, 3)", "dt_eye", dt_eye(ctx, 2, 3, NULL, &t), &t,
               0);
  return err;
}

static dt_err randoms(tour *T) {
  dt_ctx *ctx = T->ctx;
  dt_tensor *t = NULL;
  dt_err err;
  section(T, "random (counter-based Philox: values depend on the seed and "
             "the element's global index only)");
  say(T, ">>> %-44s # %s\n\n", "torch.manual_seed(0)", "dt_manual_seed");
  err = dt_manual_seed(ctx, 0);
  if (!err)
    err = show(T, "torch.rand(2, 3)", "dt_rand", dt_rand(ctx, 2, s23, NULL, &t),
               &t, SHOW_CHECKSUM);
  if (!err)
    err = show(T, "torch.randn(2, 3)", "dt_randn",
               dt_randn(ctx, 2, s23, NULL, &t), &t, SHOW_CHECKSUM);
  if (!err)
    err = show(T, "torch.randint(0, 10, (2, 3))", "dt_randint",
               dt_randint(ctx, 0, 10, 2, s23, NULL, &t), &t, SHOW_CHECKSUM);
  return err;
}

static dt_err likes(tour *T) {
  dt_tensor *x = NULL, *t = NULL;
  dt_err err;
  section(T, "*_like and new_tensor (shape, dtype and layout of x)");
  err = show(T, "x = torch.tensor([[1.0, 2], [3, 4]])", "dt_parse",
             dt_parse(T->ctx, "[[1.0, 2], [3, 4]]", NULL, &x), &x, SHOW_KEEP);
  if (err)
    return err;
  err = show(T, "torch.zeros_like(x)", "dt_zeros_like",
             dt_zeros_like(x, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.ones_like(x)", "dt_ones_like",
               dt_ones_like(x, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.full_like(x, 7)", "dt_full_like",
               dt_full_like(x, DT_I(7), NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.rand_like(x)", "dt_rand_like",
               dt_rand_like(x, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.randn_like(x)", "dt_randn_like",
               dt_randn_like(x, NULL, &t), &t, 0);
  if (!err)
    err = show(T, "torch.empty_like(x)", "dt_empty_like",
               dt_empty_like(x, NULL, &t), &t, SHOW_NO_VALUES);
  if (!err) {
    static const int64_t data[4] = {5, 6, 7, 8};
    static const int64_t s22[2] = {2, 2};
    err = show(T, "x.new_tensor([[5, 6], [7, 8]])", "dt_new_tensor (x's dtype)",
               dt_new_tensor(x, 2, s22, data, DT_INT64, NULL, &t), &t, 0);
  }
  dt_tensor_destroy(&x);
  return err;
}

/* Smallest factor f > 1 of P with f * f <= P, or 0 when P has none. */
static int grid_factor(int P) {
  for (int f = 2; f * f <= P; f++)
    if (P % f == 0)
      return f;
  return 0;
}

static dt_err layouts(tour *T) {
  dt_ctx *ctx = T->ctx;
  dt_tensor *t = NULL;
  dt_err err;
  int64_t data[24];
  for (int k = 0; k < 24; k++)
    data[k] = k;
  section(T, "layouts (the same values, cut differently)");
  err = show(T, "torch.ones(2, 3)", "dt_ones, replicated (DT_REPLICATED)",
             dt_ones(ctx, 2, s23, &(dt_opts){.layout = DT_REPLICATED}, &t), &t,
             0);
  if (err)
    return err;
  static const int64_t s34[2] = {3, 4};
  err = show(T, "torch.arange(12).reshape(3, 4)",
             "dt_from_data, split on axis 1 (DT_SPLIT)",
             dt_from_data(ctx, 2, s34, data, DT_INT64, DT_ALL_RANKS,
                          &(dt_opts){.layout = DT_SPLIT, .split_axis = 1}, &t),
             &t, 0);
  if (err)
    return err;
  int f = grid_factor(T->size);
  if (!f) {
    say(T,
        "    (a 2-D process grid, DT_GRID, needs a rank count with two "
        "factors > 1, e.g. -np 4;\n     with %d rank%s, DT_GRID {%d, 1} would "
        "just be a split on axis 0)\n\n",
        T->size, T->size == 1 ? "" : "s", T->size);
    return DT_OK;
  }
  static const int64_t s46[2] = {4, 6};
  char cfn[96];
  snprintf(cfn, sizeof cfn, "dt_from_data on a %d x %d grid (DT_GRID)", f,
           T->size / f);
  return show(
      T, "torch.arange(24).reshape(4, 6)", cfn,
      dt_from_data(ctx, 2, s46, data, DT_INT64, DT_ALL_RANKS,
                   &(dt_opts){.layout = DT_GRID, .grid = {f, T->size / f}}, &t),
      &t, 0);
}

/* Rank 0 prints every rank's own C array (not the tensor): proof that the
 * tensor and the user's buffers are the same memory. */
static dt_err print_user_buffers(tour *T, const double *buf, int n) {
  MPI_Comm comm = dt_ctx_comm(T->ctx);
  double *all = NULL;
  int ok = 1;
  if (T->env->rank == 0) {
    all = malloc(sizeof *all * (size_t)n * (size_t)T->size);
    ok = all != NULL;
  }
  /* Agree before the gather so a failed malloc cannot strand the others. */
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  if (!ok) {
    T->reported = true;
    cli_fail(T->env, "out of memory");
    return DT_ERR_NOMEM;
  }
  MPI_Gather(buf, n, MPI_DOUBLE, all, n, MPI_DOUBLE, 0, comm);
  if (T->env->rank == 0) {
    printf("    each rank's own C array now:");
    int listed = T->size < TOUR_MAX_LISTED ? T->size : TOUR_MAX_LISTED;
    for (int r = 0; r < listed; r++) {
      printf("%sr%d {", r ? "  " : " ", r);
      for (int k = 0; k < n; k++)
        printf("%s%g", k ? ", " : "", all[(size_t)r * (size_t)n + (size_t)k]);
      printf("}");
    }
    if (T->size > listed)
      printf("  ... (%d more)", T->size - listed);
    printf("\n\n");
  }
  free(all);
  return DT_OK;
}

static dt_err shared_memory(tour *T) {
  enum { N = 3 };
  int r = T->env->rank;
  double buf[N] = {10.0 * r, 10.0 * r + 1, 10.0 * r + 2};
  int64_t shape[1] = {(int64_t)N * T->size};
  dt_tensor *t = NULL;
  section(T, "sharing memory (torch.from_numpy / .numpy())");
  say(T, ">>> %-44s # %s\n", "buf = np.arange(3.) + 10 * r",
      "on each rank r: its own C double buf[3]");
  dt_err err =
      show(T, "t = torch.from_numpy(buf)", "dt_from_buffer wraps it, no copy",
           dt_from_buffer(T->ctx, buf, DT_FLOAT64, 1, shape, NULL, NULL, &t),
           &t, SHOW_KEEP);
  if (err)
    return err;

  /* No library call: the tensor sees the user's write. */
  buf[1] = 100.0 + r;
  say(T, ">>> %-44s # %s\n", "buf[1] = 100 + r; print(t)",
      "each rank changes its own element");
  err = dt_print(t, stdout);
  if (err)
    goto done;
  say(T, "\n");

  /* And the other way round: write through the tensor, read the buffer. */
  double *local = dt_local_data(t);
  int same = local == buf, all_same = 0;
  if (local)
    local[2] = -1.0 - r;
  MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_LAND, dt_ctx_comm(T->ctx));
  say(T, ">>> %-44s # %s\n", "t.numpy()[2] = -1 - r",
      "write through dt_local_data(t)");
  say(T, "    dt_local_data(t) == buf on every rank: %s\n",
      all_same ? "yes" : "NO");
  err = print_user_buffers(T, buf, N);
done:
  dt_tensor_destroy(&t);
  return err;
}

/* A yes/no that must hold on every rank. */
static int all_ranks(const tour *T, int v) {
  int all = 0;
  MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_LAND, dt_ctx_comm(T->ctx));
  return all;
}

static const char *yes(int v) { return v ? "yes" : "no"; }

/* The seed's copy table, memory column: who shares storage with whom. */
static dt_err copies(tour *T) {
  dt_ctx *ctx = T->ctx;
  const int64_t s[2] = {4, 3};
  dt_tensor *x = NULL, *c = NULL, *d = NULL, *v = NULL, *y = NULL;
  section(T, "copies and views (clone, copy_, deepcopy, views)");
  dt_err err = dt_arange(ctx, DT_F(0), DT_I(12), DT_I(1), NULL, &v);
  if (!err)
    err =
        show(T, "x = torch.arange(12.).reshape(4, 3)", "dt_arange + dt_reshape",
             dt_reshape(v, 2, s, &x), &x, SHOW_KEEP);
  dt_tensor_destroy(&v);
  if (!err)
    err = show(T, "c = x.clone()", "dt_clone: new memory, same layout",
               dt_clone(x, &c), &c, SHOW_KEEP);
  if (!err)
    err = show(T, "d = copy.deepcopy(x)",
               "dt_deepcopy: gather to rank 0, scatter, streamed",
               dt_deepcopy(x, NULL, &d), &d, SHOW_KEEP);
  if (!err)
    err = show(T, "v = x[1:3]", "dt_slice: a view, irregular layout",
               dt_slice(x, 0, 1, 3, 1, &v), &v, SHOW_KEEP);
  if (!err) {
    dt_tensor *w = NULL;
    err = show(T, "x[-3::2]", "dt_slice: Python's bounds, a strided shard",
               dt_slice(x, 0, -3, INT64_MAX, 2, &w), &w, 0);
  }
  if (!err)
    say(T,
        "    shares memory with x:  clone %s, deepcopy %s, slice %s (every "
        "rank)\n\n",
        yes(all_ranks(T, dt_shares_memory(c, x))),
        yes(all_ranks(T, dt_shares_memory(d, x))),
        yes(all_ranks(T, dt_shares_memory(v, x))));
  /* copy_ writes into the view's memory: x changes, clone and deepcopy not */
  if (!err)
    err = dt_full(ctx, 2, (const int64_t[2]){2, 3}, DT_F(-1), NULL, &y);
  if (!err)
    err = dt_copy_(v, y);
  if (!err)
    say(T, ">>> %-44s # %s\n", "v.copy_(torch.full((2, 3), -1.))",
        "dt_copy_ redistributes into v's memory");
  if (!err)
    err = dt_print(x, stdout);
  if (!err)
    say(T, "    x changed through its view; clone and deepcopy did not:\n");
  if (!err)
    err = dt_print(c, stdout);
  if (!err)
    say(T, "\n");
  dt_tensor_destroy(&y);
  dt_tensor_destroy(&v);
  dt_tensor_destroy(&d);
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&x);
  return err;
}

static double scalar_of(const dt_tensor *t) {
  return dt_local_data(t) ? *(const double *)dt_local_data(t) : 0.0;
}

/* The seed's copy table, autograd column, live. */
static dt_err gradients(tour *T) {
  dt_ctx *ctx = T->ctx;
  const int64_t one = 1;
  double three = 3.0;
  dt_tensor *x = NULL, *y = NULL, *z = NULL, *c = NULL, *d = NULL;
  section(T, "gradients (clone keeps the graph, copy_ records an edge to its "
             "source, deepcopy is independent)");
  dt_opts f64 = {
      .dtype = DT_FLOAT64, .layout = DT_REPLICATED, .requires_grad = true};
  dt_err err = show(
      T, "x = torch.tensor([3.], requires_grad=True)",
      "dt_from_data: a new leaf",
      dt_from_data(ctx, 1, &one, &three, DT_FLOAT64, DT_ALL_RANKS, &f64, &x),
      &x, SHOW_KEEP);
  if (!err)
    err = dt_clone(x, &y);
  if (!err)
    err = dt_pow_scalar(y, 2, &z);
  if (!err)
    err = dt_backward(z, NULL, false);
  if (!err)
    say(T,
        ">>> %-44s # %s\n    x.grad = %g  (2x: the gradient flowed back "
        "through the clone)\n\n",
        "y = x.clone(); (y ** 2).backward()", "dt_clone, dt_pow_scalar",
        scalar_of(dt_grad(x)));
  dt_tensor_destroy(&z);
  dt_tensor_destroy(&y);
  /* copy_ records an edge to its source (CopyBackwards), as torch */
  if (!err)
    err =
        dt_zeros(ctx, 1, &one,
                 &(dt_opts){.dtype = DT_FLOAT64, .layout = DT_REPLICATED}, &c);
  if (!err)
    err = dt_copy_(c, x);
  if (!err) {
    bool rg = dt_requires_grad(c), fn = dt_has_grad_fn(c);
    err = dt_backward(c, NULL, false);
    if (!err)
      say(T,
          ">>> %-44s # %s\n    c = %g, c.requires_grad = %s, grad_fn = %s; "
          "c.backward(): x.grad = %g (6 + 1: the gradient flowed back "
          "through the copy)\n\n",
          "c = torch.zeros(1); c.copy_(x)", "dt_copy_ records an edge to x",
          scalar_of(c), rg ? "True" : "False",
          fn ? "CopyBackwards" : "None", scalar_of(dt_grad(x)));
  }
  /* copy_ into the leaf itself is refused while grad mode is on */
  if (!err) {
    dt_err e = dt_copy_(x, c);
    say(T, ">>> %-44s # %s\n    %s\n\n", "x.copy_(c)", "into a leaf",
        e == DT_ERR_AUTOGRAD ? dt_last_error() : "(unexpectedly allowed)");
  }
  /* deepcopy: requires_grad and .grad copied, no graph, new memory */
  if (!err)
    err = dt_deepcopy(x, NULL, &d);
  if (!err)
    say(T,
        ">>> %-44s # %s\n    d.requires_grad = %s, d.grad = %g, d is a leaf: "
        "%s, shares memory with x: %s\n\n",
        "d = copy.deepcopy(x)", "dt_deepcopy",
        dt_requires_grad(d) ? "True" : "False",
        dt_grad(d) ? scalar_of(dt_grad(d)) : 0.0,
        dt_has_grad_fn(d) ? "no" : "yes",
        yes(all_ranks(T, dt_shares_memory(d, x))));
  dt_tensor_destroy(&d);
  dt_tensor_destroy(&c);
  dt_tensor_destroy(&x);
  /* an exact, reproducible sum */
  const int64_t n = 1000001;
  dt_tensor *r = NULL, *s = NULL;
  if (!err)
    err = dt_manual_seed(ctx, 0);
  if (!err)
    err = dt_randn(ctx, 1, &n, &(dt_opts){.dtype = DT_FLOAT64}, &r);
  if (!err)
    err = dt_sum(r, &s);
  if (!err)
    say(T,
        ">>> %-44s # %s\n    %a  (the exact sum rounded once: the same bits "
        "at any rank and thread count)\n\n",
        "torch.randn(1000001, dtype=float64).sum()", "dt_sum", scalar_of(s));
  dt_tensor_destroy(&s);
  dt_tensor_destroy(&r);
  return err;
}

int cli_tour(const cli_env *env, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    cli_usage(env, stdout);
    return 0;
  }
  if (argc > 1)
    return cli_fail(env, "unexpected argument '%s'", argv[1]);

  tour T = {env, NULL, env->size, false};
  dt_err err = dt_ctx_create(MPI_COMM_WORLD, &T.ctx);
  if (err)
    return cli_fail_lib(env, err);

  say(&T,
      "dtensor tour: PyTorch's creation functions on %d MPI rank%s "
      "(only rank 0 prints)\n\n",
      env->size, env->size == 1 ? "" : "s");
  dt_err (*const steps[])(tour *) = {from_values,   filled, ranges,
                                     randoms,       likes,  layouts,
                                     shared_memory, copies, gradients};
  for (size_t k = 0; !err && k < sizeof steps / sizeof steps[0]; k++)
    err = steps[k](&T);
  if (!err)
    say(&T, "Reproducibility: same seed, same tensor, same checksum on 1 "
            "rank or 1000, with 1 thread or 64, in any layout.\n"
            "Try: mpirun -np 3 dtensor make randn --seed 0 --shape 37,5 "
            "--split 1\n");

  int status = 0;
  if (err && !T.reported)
    status = cli_fail_lib(env, err);
  else if (err)
    status = 1;
  dt_err derr = dt_ctx_destroy(&T.ctx);
  if (derr && !status)
    status = cli_fail_lib(env, derr);
  return status;
}
