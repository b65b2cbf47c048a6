/*
 * restart - the least-squares fit of least_squares.c, checkpointed every k
 * steps and resumable from a checkpoint at any rank count.
 *
 *   X ~ randn(n, k), rows split over the ranks;  y = X w* + 0.01 noise
 *   w = 0 (replicated, requires grad)
 *   step t: [--noise: y_t = y + sigma randn_like(y), fresh every step]
 *           loss = mean((X w - y_t)^2); loss.backward()  -> g_t = w.grad
 *           w -= lr (1.5 g_t - 0.5 g_{t-1})    (two-step update; g_0 = g_1)
 *
 * A checkpoint holds what the next step needs and nothing it can recompute:
 * the weights w with their gradient g_t (stored beside w as "model/w@grad"),
 * the step t, and the generator state (dt_save stores it). The data X, y are
 * made again from the seed at start-up, as a job would read its data set.
 * Resuming loads w (and its gradient, which the two-step update uses) and
 * the step, then restores the generator, so the noise drawn after the
 * restart is the noise an uninterrupted run draws: the loss curve after the
 * restart is bitwise the uninterrupted one, at any rank count (the fit's
 * reductions are exact, its data layout-invariant).
 *
 *   mpirun -np 4 build/restart --steps 40                      # reference
 *   mpirun -np 4 build/restart --steps 20 --every 10 --ckpt ck.h5
 *   mpirun -np 3 build/restart --steps 40 --resume ck.h5       # steps 21-40
 *
 * Options: --n ROWS (2000) --k COLS (16) --lr LR (0.05) --steps T (total
 * steps to reach, 30) --every K (checkpoint every K steps and at the last
 * step; 0: only at the last) --ckpt FILE (where to save; none: no saves)
 * --resume FILE --noise SIGMA (0: no per-step noise) --no-rng-restore (on
 * resume, keep the generator where start-up left it: shows what restoring
 * it is for). Prints "step t loss <hex float> (<decimal>)" per step on rank
 * 0, then the checksum of the final w.
 */
#include <dtensor.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct config {
  int64_t n, k, steps, every;
  double lr, noise;
  const char *ckpt, *resume;
  bool rng_restore;
  bool grad_restore;
} config;

typedef struct state {
  dt_ctx *ctx;
  dt_tensor *X, *y; /* the data, from the seed */
  dt_tensor *w;     /* the model; its .grad is g of the last step */
  int64_t step;     /* steps done */
} state;

static const dt_opts f64 = {.dtype = DT_FLOAT64};
static const dt_opts rep = {.dtype = DT_FLOAT64, .layout = DT_REPLICATED};

/* X, w* and the noise come from the seed, y = X w* + 0.01 noise. */
static dt_err make_data(state *s, const config *c) {
  const int64_t xs[2] = {c->n, c->k}, ws[2] = {c->k, 1}, ys[2] = {c->n, 1};
  dt_tensor *wstar = NULL, *noise = NULL, *xw = NULL, *nz = NULL;
  dt_err err = DT_OK;
  DT_TRY_GOTO(dt_manual_seed(s->ctx, 2024), err, done);
  DT_TRY_GOTO(dt_randn(s->ctx, 2, xs, &f64, &s->X), err, done);
  DT_TRY_GOTO(dt_randn(s->ctx, 2, ws, &rep, &wstar), err, done);
  DT_TRY_GOTO(dt_randn(s->ctx, 2, ys, &f64, &noise), err, done);
  DT_TRY_GOTO(dt_matmul(s->X, wstar, &xw), err, done);
  DT_TRY_GOTO(dt_mul_scalar(noise, 0.01, &nz), err, done);
  DT_TRY_GOTO(dt_add(xw, nz, &s->y), err, done);
done:
  dt_tensor_destroy(&nz);
  dt_tensor_destroy(&xw);
  dt_tensor_destroy(&noise);
  dt_tensor_destroy(&wstar);
  return err;
}

static const char *const names[2] = {"model/w", "train/step"};

/* w (with its gradient), the step and the generator state. */
static dt_err save(state *s, const char *path) {
  dt_tensor *step = NULL;
  dt_opts i64 = {.dtype = DT_INT64, .layout = DT_REPLICATED};
  dt_err err = DT_OK;
  DT_TRY_GOTO(dt_full(s->ctx, 0, NULL, DT_I(s->step), &i64, &step), err, done);
  const dt_tensor *ts[2];
  ts[0] = s->w;
  ts[1] = step;
  DT_TRY_GOTO(dt_save(s->ctx, path, 2, names, ts, NULL), err, done);
  if (dt_ctx_rank(s->ctx) == 0)
    printf("# checkpoint: step %lld -> %s\n", (long long)s->step, path);
done:
  dt_tensor_destroy(&step);
  return err;
}

/* Load w (its gradient comes with it) and the step into this run's layout,
 * then (unless told not to) the generator state. */
static dt_err resume(state *s, const config *c) {
  dt_tensor *step = NULL;
  dt_err err = DT_OK;
  DT_TRY_GOTO(dt_load(s->ctx, c->resume, names[0], &rep, &s->w), err, done);
  DT_TRY_GOTO(dt_load(s->ctx, c->resume, names[1], NULL, &step), err, done);
  s->step = *(const int64_t *)dt_local_data(step); /* 0-d: replicated */
  if (!c->grad_restore) /* forget g_{t-1}: the next update is another one */
    DT_TRY_GOTO(dt_zero_grad(s->w), err, done);
  if (c->rng_restore)
    DT_TRY_GOTO(dt_load_rng_state(s->ctx, c->resume), err, done);
  if (dt_ctx_rank(s->ctx) == 0)
    printf("# resumed from %s at step %lld%s\n", c->resume, (long long)s->step,
           c->rng_restore ? "" : " (generator state NOT restored)");
done:
  dt_tensor_destroy(&step);
  return err;
}

/* The loss of one step, leaving its gradient in w.grad. */
static dt_err forward_backward(state *s, const config *c, double *loss_value) {
  dt_tensor *yt = NULL, *eps = NULL, *scaled = NULL, *pred = NULL, *r = NULL,
            *r2 = NULL, *loss = NULL;
  dt_err err = DT_OK;
  if (c->noise > 0) { /* fresh noise every step: the generator moves on */
    DT_TRY_GOTO(dt_randn_like(s->y, NULL, &eps), err, done);
    DT_TRY_GOTO(dt_mul_scalar(eps, c->noise, &scaled), err, done);
    DT_TRY_GOTO(dt_add(s->y, scaled, &yt), err, done);
  } else {
    DT_TRY_GOTO(dt_detach(s->y, &yt), err, done);
  }
  DT_TRY_GOTO(dt_matmul(s->X, s->w, &pred), err, done);
  DT_TRY_GOTO(dt_sub(pred, yt, &r), err, done);
  DT_TRY_GOTO(dt_pow_scalar(r, 2.0, &r2), err, done);
  DT_TRY_GOTO(dt_mean(r2, &loss), err, done);
  DT_TRY_GOTO(dt_backward(loss, NULL, false), err, done);
  *loss_value = *(const double *)dt_local_data(loss); /* replicated 0-d */
done:
  dt_tensor_destroy(&loss);
  dt_tensor_destroy(&r2);
  dt_tensor_destroy(&r);
  dt_tensor_destroy(&pred);
  dt_tensor_destroy(&yt);
  dt_tensor_destroy(&scaled);
  dt_tensor_destroy(&eps);
  return err;
}

/* One step: g_t from backward, then w -= lr (1.5 g_t - 0.5 g_{t-1}) outside
 * the graph; w.grad keeps g_t for the next step (and the checkpoint). */
static dt_err train_step(state *s, const config *c) {
  dt_tensor *prev = NULL, *a = NULL, *b = NULL, *d = NULL, *upd = NULL;
  const dt_tensor *g = NULL;
  double loss = 0;
  dt_err err = DT_OK;
  bool mode = true;
  if (dt_grad(s->w)) /* g_{t-1}, kept out of the graph */
    DT_TRY_GOTO(dt_clone(dt_grad(s->w), &prev), err, done);
  DT_TRY_GOTO(dt_zero_grad(s->w), err, done);
  DT_TRY_GOTO(forward_backward(s, c, &loss), err, done);
  s->step++;
  if (dt_ctx_rank(s->ctx) == 0)
    printf("step %3lld loss %a  (%.17g)\n", (long long)s->step, loss, loss);
  g = dt_grad(s->w);
  DT_TRY_GOTO(dt_set_grad_enabled(s->ctx, false, &mode), err, done);
  DT_TRY_GOTO(dt_mul_scalar(g, 1.5, &a), err, restore);
  DT_TRY_GOTO(dt_mul_scalar(prev ? prev : g, 0.5, &b), err, restore);
  DT_TRY_GOTO(dt_sub(a, b, &d), err, restore);
  DT_TRY_GOTO(dt_mul_scalar(d, c->lr, &upd), err, restore);
  DT_TRY_GOTO(dt_sub_(s->w, upd), err, restore);
restore:
  dt_set_grad_enabled(s->ctx, mode, NULL);
done:
  dt_tensor_destroy(&upd);
  dt_tensor_destroy(&d);
  dt_tensor_destroy(&b);
  dt_tensor_destroy(&a);
  dt_tensor_destroy(&prev);
  return err;
}

static dt_err run(const config *c) {
  state s = {0};
  dt_err err = DT_OK;
  DT_TRY_GOTO(dt_ctx_create(MPI_COMM_WORLD, &s.ctx), err, done);
  DT_TRY_GOTO(make_data(&s, c), err, done);
  if (c->resume) {
    DT_TRY_GOTO(resume(&s, c), err, done);
  } else {
    const int64_t ws[2] = {c->k, 1};
    dt_opts leaf = rep;
    leaf.requires_grad = true;
    DT_TRY_GOTO(dt_zeros(s.ctx, 2, ws, &leaf, &s.w), err, done);
  }
  if (dt_ctx_rank(s.ctx) == 0)
    printf("# restart: n=%lld k=%lld lr=%g noise=%g on %d rank(s)\n",
           (long long)c->n, (long long)c->k, c->lr, c->noise,
           dt_ctx_size(s.ctx));
  while (s.step < c->steps) {
    DT_TRY_GOTO(train_step(&s, c), err, done);
    bool due = s.step == c->steps || (c->every > 0 && s.step % c->every == 0);
    if (c->ckpt && due)
      DT_TRY_GOTO(save(&s, c->ckpt), err, done);
  }
  uint64_t sum = 0;
  DT_TRY_GOTO(dt_checksum(s.w, &sum), err, done);
  if (dt_ctx_rank(s.ctx) == 0)
    printf("final w checksum 0x%016llx\n", (unsigned long long)sum);
done:
  dt_tensor_destroy(&s.w);
  dt_tensor_destroy(&s.y);
  dt_tensor_destroy(&s.X);
  if (s.ctx && dt_ctx_destroy(&s.ctx) != DT_OK && err == DT_OK)
    err = DT_ERR_BUSY;
  return err;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  config c = {.n = 2000,
              .k = 16,
              .steps = 30,
              .lr = 0.05,
              .rng_restore = true,
              .grad_restore = true};
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--no-rng-restore")) {
      c.rng_restore = false;
      continue;
    }
    if (!strcmp(o, "--no-grad-restore")) {
      c.grad_restore = false;
      continue;
    }
    if (!v) {
      bad = 1;
      break;
    }
    i++;
    if (!strcmp(o, "--n"))
      c.n = atoll(v);
    else if (!strcmp(o, "--k"))
      c.k = atoll(v);
    else if (!strcmp(o, "--steps"))
      c.steps = atoll(v);
    else if (!strcmp(o, "--every"))
      c.every = atoll(v);
    else if (!strcmp(o, "--lr"))
      c.lr = atof(v);
    else if (!strcmp(o, "--noise"))
      c.noise = atof(v);
    else if (!strcmp(o, "--ckpt"))
      c.ckpt = v;
    else if (!strcmp(o, "--resume"))
      c.resume = v;
    else
      bad = 1;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (bad) {
    if (rank == 0)
      fprintf(stderr,
              "usage: restart [--n N] [--k K] [--lr LR] [--steps T] "
              "[--every K] [--ckpt FILE] [--resume FILE] "
              "[--noise SIGMA] [--no-rng-restore] [--no-grad-restore]\n");
    MPI_Finalize();
    return 2;
  }
  dt_err err = run(&c);
  MPI_Finalize();
  return err == DT_OK ? 0 : 1;
}
