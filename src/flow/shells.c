/* shells.c — sloppy/stiff splits and the two prescriptions (docs/physics.md 3).
 *
 *   bf_flow_prior_draw  a member's prior draw of the trained block (one per flow)
 *   bf_flow_prior_rows  the same draw's rows a0 .. a0+n-1 (any rank, any rows)
 *   bf_coarse_diagonal  coordinates with I_AA < Lambda
 *   bf_coarse_eigen     Fisher eigenvectors with 0 < lambda < Lambda, from
 *                       scratch (the reference kernel of the two below)
 *   bf_shells_resolved  how many eigenvalues lie above the null floor
 *   bf_shells_partial   a block of rows' share of each component of the move
 *   bf_shells_coefficients  each eigenvector's component of the move, once,
 *                       chunk by chunk (as a group computes it: group.c)
 *   bf_shells_advance   add, to a block of rows, the shells a larger cutoff
 *                       makes sloppy
 *   bf_flow_cutoffs     the log-spaced cutoff grid
 *   bf_flow_critical    the critical step (Lambda_C) of an MSE curve
 *
 *   resample: theta' = theta* + P_<(theta_prior - theta*)
 *   prune:    theta' = theta* - P_< theta*
 * with P_< the projector onto the sloppy shells.  The shells are nested:
 * the sloppy set at Lambda_{k+1} contains the one at Lambda_k, so a flow
 * computes the coefficients c_j = v_j . (target - theta*) once per member
 * and adds c_j v_j for each shell as the cutoff passes it (docs/theory.md
 * j).  Shells are added in ascending lambda, a fixed order, so a flow
 * restarted at any step adds the same terms in the same order.  Vectors are
 * stored by parameter row (V: rows x k, row a holding v_0a .. v_{k-1}a),
 * the layout the group distributes (bf_evec_map). */
#include "brgflow/flow.h"
#include "brgflow/metric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { RESAMPLE_DRAW = 40 };

void bf_flow_prior_rows(const double *sd, uint64_t seed, int64_t member, int64_t a0,
                        int64_t n, double *draw)
{
  bf_rng s = bf_rng_stream(seed, (uint64_t)member, RESAMPLE_DRAW);
  bf_rng_normals(&s, (uint64_t)a0, n, draw);
  for (int64_t a = 0; a < n; a++) draw[a] *= sd[a0 + a];
}

void bf_flow_prior_draw(const bf_model *mod, const double *sd, uint64_t seed,
                        int64_t member, double *draw)
{
  bf_flow_prior_rows(sd, seed, member, 0, mod->Pt, draw);
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
  double *t = theta_out + mod->t0, floor_ = BF_NULL_FLOOR * lambda[0];
  int64_t sloppy = 0;
  for (int64_t j = 0; j < k; j++) {
    if (!(lambda[j] < Lambda) || !(lambda[j] > floor_)) continue;
    double c = 0; /* component of the move along v_j */
    for (int64_t a = 0; a < mod->Pt; a++) c += V[a * k + j] * ((prune ? 0.0 : draw[a]) - ts[a]);
    for (int64_t a = 0; a < mod->Pt; a++) t[a] += c * V[a * k + j];
    sloppy++;
  }
  return sloppy;
}

int64_t bf_shells_resolved(int64_t k, const double *lambda)
{
  double floor_ = BF_NULL_FLOOR * lambda[0];
  int64_t j = 0;
  while (j < k && lambda[j] > floor_) j++;
  return j;
}

void bf_shells_partial(int64_t rows, int64_t k, const double *V, const double *x, double *part)
{
  memset(part, 0, sizeof(double) * k);
  for (int64_t a = 0; a < rows; a++)
    for (int64_t j = 0; j < k; j++) part[j] += V[a * k + j] * x[a];
}

void bf_shells_coefficients(const bf_model *mod, const double *theta_star, int64_t k,
                            const double *V, const double *draw, double *coef)
{
  const double *ts = theta_star + mod->t0;
  int64_t chunk = bf_evec_chunk(mod->Pt);
  double *x = BF_ALLOC(chunk, double), *part = BF_ALLOC(k, double);
  memset(coef, 0, sizeof(double) * k);
  for (int64_t a0 = 0; a0 < mod->Pt; a0 += chunk) { /* chunk by chunk, in order */
    int64_t len = mod->Pt - a0 < chunk ? mod->Pt - a0 : chunk;
    for (int64_t a = 0; a < len; a++) x[a] = (draw ? draw[a0 + a] : 0.0) - ts[a0 + a];
    bf_shells_partial(len, k, V + a0 * k, x, part);
    for (int64_t j = 0; j < k; j++) coef[j] += part[j];
  }
  free(x), free(part);
}

int64_t bf_shells_advance(int64_t rows, int64_t k, int64_t resolved, const double *lambda,
                          const double *V, const double *coef, double Lambda, int64_t *lo,
                          double *t)
{
  int64_t hi = *lo;
  while (*lo > 0 && lambda[*lo - 1] < Lambda) --*lo;
  /* each row adds its shells in ascending lambda: the order of the
   * from-the-start sum, whatever the steps between */
  for (int64_t a = 0; a < rows; a++)
    for (int64_t j = hi - 1; j >= *lo; j--) t[a] += coef[j] * V[a * k + j];
  return resolved - *lo;
}

void bf_flow_cutoffs(double lo, double hi, int K, double *cut)
{
  for (int k = 0; k < K; k++)
    cut[k] = K == 1 ? lo : exp(log(lo) + (log(hi) - log(lo)) * k / (K - 1));
}

int bf_flow_critical(int K, int64_t E, const double *mse, const double *mse0,
                     double delta, int64_t n, const int64_t *use)
{
  if (!use) n = E;
  double base = 0;
  for (int64_t m = 0; m < n; m++) base += mse0[use ? use[m] : m];
  base /= n;
  for (int k = 0; k < K; k++) {
    double mean = 0;
    for (int64_t m = 0; m < n; m++) mean += mse[k * E + (use ? use[m] : m)];
    if (mean / n > (1 + delta) * base) return k;
  }
  return -1;
}
