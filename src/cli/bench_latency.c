/*
 * bench_latency.c - family "latency": what a call costs when the tensor is
 * small, in microseconds per call, at 1, 1000 and 1000000 float32 elements
 * in total (split on axis 0), next to one 8-byte MPI_Allreduce measured in
 * the same run: the floor of any collective call. ratio = Allreduce time /
 * op time; the speed table's target (at most 2 Allreduces, ratio >= 0.5)
 * applies to 1-element factories, clone and dt_sum at 2 ranks and more (at
 * one rank an Allreduce costs next to nothing).
 */
#include "bench.h"

#include <math.h>

typedef enum lop { L_ZEROS, L_RAND, L_CLONE, L_SUM, L_ADD, L_COPY } lop;

static const struct {
  lop op;
  const char *name;
  bool targeted; /* the <= 2 Allreduces target at 1 element */
} ops[] = {
    {L_ZEROS, "zeros", true}, {L_RAND, "rand", true},  {L_CLONE, "clone", true},
    {L_SUM, "sum", true},     {L_ADD, "add", false},   {L_COPY, "copy_", false},
};

typedef struct ljob {
  dt_ctx *ctx;
  lop op;
  int64_t n;
  dt_tensor *x, *y; /* operands (x also copy_'s source, y its destination) */
} ljob;

static dt_err lat_once(void *arg) {
  ljob *j = arg;
  dt_tensor *o = NULL;
  dt_err err = DT_OK;
  switch (j->op) {
  case L_ZEROS:
    err = dt_zeros(j->ctx, 1, &j->n, NULL, &o);
    break;
  case L_RAND:
    err = dt_rand(j->ctx, 1, &j->n, NULL, &o);
    break;
  case L_CLONE:
    err = dt_clone(j->x, &o);
    break;
  case L_SUM:
    err = dt_sum(j->x, &o);
    break;
  case L_ADD:
    err = dt_add(j->x, j->x, &o);
    break;
  case L_COPY:
    err = dt_copy_(j->y, j->x);
    break;
  }
  dt_tensor_destroy(&o);
  return err;
}

dt_err bench_latency(bench *b) {
  bool any = false;
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
    any = any || bench_wants(b, ops[k].name, "float32");
  if (!any)
    return DT_OK;
  bench_stats ar;
  dt_err err = bench_allreduce8(b, &ar);
  const int64_t sizes[3] = {1, 1000, 1000000};
  for (int s = 0; s < 3 && !err; s++) {
    ljob j = {b->ctx, L_ZEROS, sizes[s], NULL, NULL};
    err = dt_full(b->ctx, 1, &j.n, DT_F(1.5), NULL, &j.x);
    /* copy_ from split into replicated: every rank gets the whole tensor */
    if (!err)
      err = dt_zeros(b->ctx, 1, &j.n, &(dt_opts){.layout = DT_REPLICATED},
                     &j.y);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0] && !err; k++) {
      if (!bench_wants(b, ops[k].name, "float32"))
        continue;
      char name[48], what[64];
      snprintf(name, sizeof name, "%s%s n=%lld", ops[k].name,
               ops[k].op == L_COPY ? " split->repl" : "",
               (long long)sizes[s]);
      snprintf(what, sizeof what, "%s float32", name);
      j.op = ops[k].op;
      bench_row r = {.op = name, .dtype = "float32", .unit = BENCH_USEC,
                     .bytes = 4 * sizes[s] / b->env->size,
                     .global_bytes = 4 * sizes[s], .limit = "allreduce8",
                     .lim = ar,
                     .target = ops[k].targeted && sizes[s] == 1 &&
                                       b->env->size >= 2
                                   ? 0.5
                                   : NAN};
      err = bench_time(b, what, NULL, lat_once, &j, &r.t);
      if (!err)
        bench_emit(b, &r);
    }
    dt_tensor_destroy(&j.x);
    dt_tensor_destroy(&j.y);
  }
  return err;
}
