/* train.c — training one member: gradient descent, stochastic gradient
 * descent, or an exact posterior sample (docs/physics.md 2).
 *
 *   bf_train_schedule   the steps (sgd: epochs) at which loss is recorded
 *   bf_train_gd         full-batch GD on the [train] loss
 *   bf_train_sgd        minibatch SGD, epoch by epoch (bf_sgd_* one step)
 *   bf_train_posterior  theta_trained ~ N(mu, (J^T J/s^2 + S^-1)^-1)
 *
 * Loss conventions over a batch of B points (B = n for GD): half_mse
 * L = (1/2B) sum r^2, mse L = (1/B) sum r^2 (PyTorch's MSELoss).  Both
 * take the batch-mean gradient (1/B) sum r grad f, mse at twice the rate
 * (bf_train_rate): the factor 2 is exact, so mse at lr is half_mse at 2 lr
 * bit for bit. */
#include "brgflow/train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { POSTERIOR_DRAW = 30, SGD_ORDER = 31 };

int bf_train_length(const bf_params *p)
{
  return p->train.method == BF_TRAIN_SGD ? p->train.epochs : p->train.steps;
}

double bf_train_rate(const bf_params *p)
{
  return p->train.loss == BF_LOSS_MSE ? 2 * p->train.lr : p->train.lr;
}

bf_train_log bf_train_schedule(const bf_params *p)
{
  bf_train_log log;
  int t = bf_train_length(p);
  int every = p->train.record_every > 0 ? p->train.record_every : (t > 0 ? t : 1);
  log.nrec = t / every + 1 + (t % every ? 1 : 0);
  log.steps = BF_ALLOC(log.nrec, int);
  for (int r = 0; r < log.nrec; r++) log.steps[r] = r * every < t ? r * every : t;
  return log;
}

static double mse(const double *f, const double *y, int64_t n)
{
  double s = 0;
  for (int64_t k = 0; k < n; k++) s += (f[k] - y[k]) * (f[k] - y[k]);
  return s / n;
}

/* A model linear in its trained block: J (n x Pt) and f_rest (n), with
 * f = f_rest + J theta_t.  f_rest is f with the trained block zeroed, so
 * both come from theta outside the block only: a chunk resumed from a
 * checkpoint builds them bit for bit as the uninterrupted run did. */
static void linear_features(const bf_model *mod, bf_plan *plan, const double *theta,
                            const bf_dataset *ds, double *J, double *frest)
{
  double *th0 = BF_ALLOC(mod->P, double);
  memcpy(th0, theta, sizeof(double) * mod->P);
  memset(th0 + mod->t0, 0, sizeof(double) * mod->Pt);
  bf_model_record(mod, plan, th0, ds->n, ds->x, frest);
  bf_model_jacobian_rows(mod, plan, J);
  free(th0);
}

/* Full-batch GD: grad = (1/n) J^T (f - y), times bf_train_rate.  A model
 * linear in its trained block gets its features once per member,
 * f = f_rest + J theta_t, so a step costs two dgemv; any other model runs
 * the model's one-pass gradient on a plan made once per member.  Nothing is allocated
 * inside the step loop. */
void bf_train_gd(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                 const bf_train_log *log, double *theta, double *loss, double *snap,
                 int from, int to)
{
  int64_t n = ds->n, Pt = mod->Pt;
  double *f = BF_ALLOC(n, double), *g = BF_ALLOC(Pt, double), *r = BF_ALLOC(n, double);
  double *J = NULL, *frest = NULL, *tt = theta + mod->t0, rate = bf_train_rate(p);
  bf_plan *plan = bf_model_plan_create(mod, n);
  if (mod->linear) {
    J = BF_ALLOC(n * Pt, double), frest = BF_ALLOC(n, double);
    linear_features(mod, plan, theta, ds, J, frest);
  }
  int rec = 0;
  while (rec < log->nrec && log->steps[rec] < from) rec++;
  for (int step = from; step <= to; step++) {
    if (mod->linear) {
      memcpy(f, frest, sizeof(double) * n);
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)Pt, 1.0, J, (int)Pt, tt, 1, 1.0,
                  f, 1);
      for (int64_t k = 0; k < n; k++) r[k] = (f[k] - ds->y[k]) / n;
      cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)Pt, 1.0, J, (int)Pt, r, 1, 0.0, g,
                  1);
    } else {
      bf_model_gradient(mod, plan, theta, n, ds->x, ds->y, 1.0 / n, f, g);
    }
    /* step `to` is recorded by the next chunk, unless it is the last */
    while ((step < to || to == p->train.steps) && rec < log->nrec && log->steps[rec] == step) {
      if (snap) memcpy(snap + rec * mod->P, theta, sizeof(double) * mod->P);
      loss[rec++] = mse(f, ds->y, n);
    }
    if (step == to) break;
    for (int64_t k = 0; k < Pt; k++) tt[k] -= rate * g[k];
  }
  free(f), free(g), free(r), free(J), free(frest);
  bf_model_plan_destroy(&plan);
}

/* ---- stochastic gradient descent ---------------------------------------- */

struct bf_sgd {
  const bf_model *mod;
  const bf_dataset *ds;
  double rate;
  bf_plan *plan;      /* n points: the features (linear) or the training MSE */
  bf_plan *bplan;     /* B points: the one-pass gradient (non-linear) */
  double *J, *frest;  /* linear: n x Pt, n */
  double *xb, *yb;    /* non-linear: the batch's rows, B x d, B */
  double *f, *g, *r;  /* n, Pt, B */
};

bf_sgd *bf_sgd_create(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                      const double *theta)
{
  int64_t n = ds->n, B = p->train.batch < n ? p->train.batch : n, Pt = mod->Pt;
  bf_sgd *w = BF_CALLOC(1, bf_sgd);
  w->mod = mod, w->ds = ds, w->rate = bf_train_rate(p);
  w->plan = bf_model_plan_create(mod, n);
  w->f = BF_ALLOC(n, double), w->g = BF_ALLOC(Pt, double), w->r = BF_ALLOC(B, double);
  if (mod->linear) {
    w->J = BF_ALLOC(n * Pt, double), w->frest = BF_ALLOC(n, double);
    linear_features(mod, w->plan, theta, ds, w->J, w->frest);
  } else {
    w->bplan = bf_model_plan_create(mod, B);
    w->xb = BF_ALLOC(B * ds->d, double), w->yb = BF_ALLOC(B, double);
  }
  return w;
}

void bf_sgd_destroy(bf_sgd **wp)
{
  bf_sgd *w = *wp;
  if (!w) return;
  bf_model_plan_destroy(&w->plan);
  bf_model_plan_destroy(&w->bplan);
  free(w->J), free(w->frest), free(w->xb), free(w->yb), free(w->f), free(w->g), free(w->r);
  free(w);
  *wp = NULL;
}

/* Linear: f_b = f_rest + J_b . theta_t on the batch rows only, then
 * g = sum_b r_b J_b with r_b = (f_b - y_b)/B: O(B Pt).  Non-linear: the
 * batch's rows gathered, then the model's one-pass gradient. */
void bf_sgd_step(bf_sgd *w, double *theta, const int64_t *idx, int64_t B)
{
  const bf_model *mod = w->mod;
  const bf_dataset *ds = w->ds;
  int64_t Pt = mod->Pt, d = ds->d;
  double *tt = theta + mod->t0, *g = w->g;
  if (mod->linear) {
    for (int64_t b = 0; b < B; b++) {
      const double *Jk = w->J + idx[b] * Pt;
      double fk = w->frest[idx[b]] + cblas_ddot((int)Pt, Jk, 1, tt, 1);
      w->r[b] = (fk - ds->y[idx[b]]) / B;
    }
    if (B == 1) { /* the authors' SGD: one pass, no gradient buffer */
      cblas_daxpy((int)Pt, -w->rate * w->r[0], w->J + idx[0] * Pt, 1, tt, 1);
      return;
    }
    memset(g, 0, sizeof(double) * Pt);
    for (int64_t b = 0; b < B; b++) cblas_daxpy((int)Pt, w->r[b], w->J + idx[b] * Pt, 1, g, 1);
  } else {
    for (int64_t b = 0; b < B; b++) {
      memcpy(w->xb + b * d, ds->x + idx[b] * d, sizeof(double) * d);
      w->yb[b] = ds->y[idx[b]];
    }
    bf_model_gradient(mod, w->bplan, theta, B, w->xb, w->yb, 1.0 / B, w->r, g);
  }
  for (int64_t k = 0; k < Pt; k++) tt[k] -= w->rate * g[k];
}

double bf_sgd_mse(bf_sgd *w, const double *theta)
{
  const bf_model *mod = w->mod;
  int64_t n = w->ds->n, Pt = mod->Pt;
  if (mod->linear) {
    memcpy(w->f, w->frest, sizeof(double) * n);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)Pt, 1.0, w->J, (int)Pt,
                theta + mod->t0, 1, 1.0, w->f, 1);
  } else {
    bf_model_forward(mod, w->plan, theta, n, w->ds->x, w->f);
  }
  return mse(w->f, w->ds->y, n);
}

void bf_train_order(const bf_params *p, int64_t member, int64_t epoch, int64_t n,
                    int64_t *perm)
{
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  if (p->train.order != BF_ORDER_SHUFFLED) return;
  bf_rng s = bf_rng_stream(p->run.seed, (uint64_t)member, SGD_ORDER);
  for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates: j uniform in [0, i] */
    int64_t j = (int64_t)(bf_rng_uniform(&s, (uint64_t)epoch * (uint64_t)n + (uint64_t)i) *
                          (double)(i + 1));
    if (j > i) j = i; /* u < 1, but u (i + 1) may round up to i + 1 */
    int64_t t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
}

void bf_train_sgd(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                  const bf_train_log *log, int64_t member, double *theta, double *loss,
                  double *snap, int from, int to)
{
  int64_t n = ds->n, B = p->train.batch < n ? p->train.batch : n;
  bf_sgd *w = bf_sgd_create(mod, p, ds, theta);
  int64_t *perm = BF_ALLOC(n, int64_t);
  int rec = 0;
  while (rec < log->nrec && log->steps[rec] < from) rec++;
  for (int epoch = from; epoch <= to; epoch++) {
    /* epoch `to` is recorded by the next chunk, unless it is the last */
    while ((epoch < to || to == p->train.epochs) && rec < log->nrec && log->steps[rec] == epoch) {
      if (snap) memcpy(snap + rec * mod->P, theta, sizeof(double) * mod->P);
      loss[rec++] = bf_sgd_mse(w, theta);
    }
    if (epoch == to) break;
    bf_train_order(p, member, epoch, n, perm);
    for (int64_t i = 0; i < n; i += B) bf_sgd_step(w, theta, perm + i, i + B <= n ? B : n - i);
  }
  free(perm);
  bf_sgd_destroy(&w);
}

void bf_train_posterior(const bf_model *mod, const bf_params *p,
                        const bf_dataset *ds, int64_t member, double *theta)
{
  BF_ASSERT(mod->linear);
  int64_t n = ds->n, Pt = mod->Pt;
  double s2 = p->data.noise * p->data.noise;
  double *J = BF_ALLOC(n * Pt, double), *f0 = BF_ALLOC(n, double);
  double *H = BF_ALLOC(Pt * Pt, double), *sd = BF_ALLOC(Pt, double);
  double *rhs = BF_ALLOC(Pt, double);
  bf_model_jacobian(mod, theta, n, ds->x, J);
  /* the part of f that does not depend on the trained parameters */
  memset(theta + mod->t0, 0, sizeof(double) * Pt);
  bf_model_predict(mod, theta, n, ds->x, f0);
  for (int64_t k = 0; k < n; k++) f0[k] = ds->y[k] - f0[k];
  /* precision H = J^T J / s2 + diag(1/sd^2); rhs = J^T (y - f0) / s2 */
  bf_model_prior_sd(mod, sd);
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)Pt, (int)n, 1.0 / s2, J,
              (int)Pt, 0.0, H, (int)Pt);
  for (int64_t i = 0; i < Pt; i++) H[i * Pt + i] += 1.0 / (sd[i] * sd[i]);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)Pt, 1.0 / s2, J, (int)Pt, f0, 1,
              0.0, rhs, 1);
  /* Row-major lower H is column-major upper: H = U^T U with U = L^T. */
  int np = (int)Pt, info;
  dpotrf_("U", &np, H, &np, &info);
  BF_ASSERT(info == 0);
  /* In row-major terms H now holds L (lower) with H = L L^T.
   * mean: L L^T mu = rhs; sample: mu + L^-T z. */
  cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, np, H, np, rhs, 1);
  bf_rng s = bf_rng_stream(p->run.seed, (uint64_t)member, POSTERIOR_DRAW);
  double *z = BF_ALLOC(Pt, double);
  bf_rng_normals(&s, 0, Pt, z);
  for (int64_t i = 0; i < Pt; i++) rhs[i] += z[i];
  cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, np, H, np, rhs, 1);
  memcpy(theta + mod->t0, rhs, sizeof(double) * Pt);
  free(z);
  free(J);
  free(f0);
  free(H);
  free(sd);
  free(rhs);
}
