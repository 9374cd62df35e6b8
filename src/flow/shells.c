/* shells.c — sloppy/stiff splits and the two prescriptions (SCIENCE.md 3).
 *
 *   bf_flow_prior_draw  a fresh prior draw of the trained block for a step
 *   bf_coarse_diagonal  coordinates with I_AA < Lambda
 *   bf_coarse_eigen     Fisher eigenvectors with 0 < lambda < Lambda
 *   bf_flow_cutoffs     the log-spaced cutoff grid
 *   bf_flow_critical    the critical step (Lambda_C) of an MSE curve
 *
 *   resample: theta' = theta* + P_<(theta_prior - theta*)
 *   prune:    theta' = theta* - P_< theta*
 * with P_< the projector onto the sloppy shells. */
#include "brgflow/flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { RESAMPLE_DRAW = 40 };

void bf_flow_prior_draw(const bf_model *mod, const double *sd, uint64_t seed,
                        int64_t member, int step, double *draw)
{
  bf_rng s = bf_rng_stream(seed, (uint64_t)member, RESAMPLE_DRAW);
  bf_rng_normals(&s, (uint64_t)step * (uint64_t)mod->Pt, mod->Pt, draw);
  for (int64_t a = 0; a < mod->Pt; a++) draw[a] *= sd[a];
}

int64_t bf_coarse_diagonal(const bf_model *mod, const double *theta_star,
                           const double *diag, double Lambda, int prune,
                           const double *draw, double *theta_out,
                           int64_t *n_zero)
{
  memcpy(theta_out, theta_star, sizeof(double) * mod->P);
  double *t = theta_out + mod->t0;
  int64_t sloppy = 0, zero = 0;
  for (int64_t a = 0; a < mod->Pt; a++) {
    if (!(diag[a] < Lambda)) continue;
    sloppy++;
    zero += diag[a] == 0.0;
    t[a] = prune ? 0.0 : draw[a];
  }
  if (n_zero) *n_zero = zero;
  return sloppy;
}

int64_t bf_coarse_eigen(const bf_model *mod, const double *theta_star,
                        int64_t k, const double *lambda, const double *V,
                        double Lambda, int prune, const double *draw,
                        double *theta_out)
{
  memcpy(theta_out, theta_star, sizeof(double) * mod->P);
  const double *ts = theta_star + mod->t0;
  double *t = theta_out + mod->t0, floor_ = 1e-12 * lambda[0];
  int64_t sloppy = 0;
  for (int64_t j = 0; j < k; j++) {
    if (!(lambda[j] < Lambda) || !(lambda[j] > floor_)) continue;
    const double *v = V + j * mod->Pt;
    double c = 0; /* component of the move along v */
    for (int64_t a = 0; a < mod->Pt; a++) c += v[a] * ((prune ? 0.0 : draw[a]) - ts[a]);
    for (int64_t a = 0; a < mod->Pt; a++) t[a] += c * v[a];
    sloppy++;
  }
  return sloppy;
}

void bf_flow_cutoffs(double lo, double hi, int K, double *cut)
{
  for (int k = 0; k < K; k++)
    cut[k] = K == 1 ? lo : exp(log(lo) + (log(hi) - log(lo)) * k / (K - 1));
}

int bf_flow_critical(int K, int64_t E, const double *mse, const double *mse0,
                     double delta, const int64_t *use)
{
  double base = 0;
  for (int64_t m = 0; m < E; m++) base += mse0[use ? use[m] : m];
  base /= E;
  for (int k = 0; k < K; k++) {
    double mean = 0;
    for (int64_t m = 0; m < E; m++) mean += mse[k * E + (use ? use[m] : m)];
    if (mean / E > (1 + delta) * base) return k;
  }
  return -1;
}
