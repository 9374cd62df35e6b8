/* train.c — training one member: gradient descent, or an exact posterior
 * sample (SCIENCE.md 2).
 *
 *   bf_train_schedule   the steps at which loss is recorded
 *   bf_train_gd         full-batch GD on L = (1/2n) sum (f - y)^2
 *   bf_train_posterior  theta_trained ~ N(mu, (J^T J/s^2 + S^-1)^-1) */
#include "brgflow/train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { POSTERIOR_DRAW = 30 };

bf_train_log bf_train_schedule(const bf_params *p)
{
  bf_train_log log;
  int every = p->record_every > 0 ? p->record_every : (p->steps > 0 ? p->steps : 1);
  log.nrec = p->steps / every + 1 + (p->steps % every ? 1 : 0);
  log.steps = BF_ALLOC(log.nrec, int);
  for (int r = 0; r < log.nrec; r++) log.steps[r] = r * every < p->steps ? r * every : p->steps;
  return log;
}

static double mse(const double *f, const double *y, int64_t n)
{
  double s = 0;
  for (int64_t k = 0; k < n; k++) s += (f[k] - y[k]) * (f[k] - y[k]);
  return s / n;
}

/* Full-batch GD on L = (1/2n) sum r^2: grad = (1/n) J^T (f - y).  A model
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
  double *J = NULL, *frest = NULL, *tt = theta + mod->t0;
  bf_plan *plan = bf_model_plan_create(mod, n);
  if (mod->linear) {
    J = BF_ALLOC(n * Pt, double), frest = BF_ALLOC(n, double);
    bf_model_record(mod, plan, theta, n, ds->x, frest);
    bf_model_jacobian_rows(mod, plan, J);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)Pt, -1.0, J, (int)Pt, tt, 1, 1.0,
                frest, 1);
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
    while ((step < to || to == p->steps) && rec < log->nrec && log->steps[rec] == step) {
      if (snap) memcpy(snap + rec * mod->P, theta, sizeof(double) * mod->P);
      loss[rec++] = mse(f, ds->y, n);
    }
    if (step == to) break;
    for (int64_t k = 0; k < Pt; k++) tt[k] -= p->lr * g[k];
  }
  free(f), free(g), free(r), free(J), free(frest);
  bf_model_plan_destroy(&plan);
}

void bf_train_posterior(const bf_model *mod, const bf_params *p,
                        const bf_dataset *ds, int64_t member, double *theta)
{
  BF_ASSERT(mod->linear);
  int64_t n = ds->n, Pt = mod->Pt;
  double s2 = p->noise * p->noise;
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
  bf_rng s = bf_rng_stream(p->seed, (uint64_t)member, POSTERIOR_DRAW);
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
