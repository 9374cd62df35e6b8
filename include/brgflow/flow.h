/* flow.h — information-shell coarse graining (the "coarse-grain" stage,
 * docs/physics.md 3 and 4).
 *
 * A member's trained parameters theta* are split at a cutoff Lambda into
 * sloppy and stiff parts, by Fisher eigenvectors (eigen basis: the resolved
 * directions with 0 < lambda_k < Lambda; the null space of J is left at
 * theta*) or by coordinates (diagonal basis: I_AA < Lambda).  The sloppy
 * part is then resampled from the prior or pruned to the prior mean 0. */
#ifndef BRGFLOW_FLOW_H
#define BRGFLOW_FLOW_H

#include "brgflow/nn.h"

/* The prior draw of the trained block that `resample` uses: one per member
 * and flow, from the member's own stream, so that the coarse-grained
 * parameters move continuously along the flow (docs/theory.md j). */
void bf_flow_prior_draw(const bf_model *mod, const double *sd, uint64_t seed,
                        int64_t member, double *draw);

/* Diagonal basis: returns the number of sloppy coordinates; *n_zero counts
 * those with I_AA = 0 exactly (units dead on all data). theta_out = full P. */
int64_t bf_coarse_diagonal(const bf_model *mod, const double *theta_star,
                           const double *diag, double Lambda, int prune,
                           const double *draw, double *theta_out,
                           int64_t *n_zero);
/* Eigen basis: lambda (k, descending) and V (k x Pt) of the member's metric;
 * directions with 0 < lambda < Lambda (lambda below 1e-12 lambda_max count
 * as the null space) are coarse-grained.  Returns their number. */
int64_t bf_coarse_eigen(const bf_model *mod, const double *theta_star,
                        int64_t k, const double *lambda, const double *V,
                        double Lambda, int prune, const double *draw,
                        double *theta_out);

/* The incremental eigen-basis flow.  resolved: the number of eigenvalues
 * above the null floor 1e-12 lambda_max (lambda descending, k of them). */
int64_t bf_shells_resolved(int64_t k, const double *lambda);
/* coef[j] = v_j . (draw - theta*_t), or -v_j . theta*_t without a draw
 * (prune): computed once per member and flow. */
void bf_shells_coefficients(const bf_model *mod, const double *theta_star, int64_t k,
                            const double *V, const double *draw, double *coef);
/* Start with *lo = resolved and theta = theta*; each call adds c_j v_j to
 * theta for the shells with lambda_j < Lambda not yet added (Lambda must
 * not decrease).  Returns the number of sloppy directions. */
int64_t bf_shells_advance(const bf_model *mod, int64_t resolved, const double *lambda,
                          const double *V, const double *coef, double Lambda, int64_t *lo,
                          double *theta);

/* Log-spaced grid of K cutoffs between lo and hi. */
void bf_flow_cutoffs(double lo, double hi, int K, double *cut);

/* Lambda_C: index of the first step whose mean MSE exceeds (1 + delta)
 * mse0, or -1.  mse is K x E (step-major); the means run over the n members
 * use[0..n) (the kept members, or a bootstrap draw of them; NULL: all E). */
int bf_flow_critical(int K, int64_t E, const double *mse, const double *mse0,
                     double delta, int64_t n, const int64_t *use);

/* ---- BRG = ERG for the cos-net (src/flow/erg.c, docs/physics.md 4) ----------- */
/* p(Lambda) = sqrt(n A^2/(2 s^2 Lambda) - m^2), 0 where negative. */
double bf_erg_momentum(double n, double A, double sigma, double m, double Lambda);
/* The q = 0 unit's diagonal Fisher n A^2 cos^2(c)/(s^2 m^2) depends on its
 * phase: the fraction of its G2 weight that survives pruning at Lambda. */
double bf_erg_q0_weight(double n, double A, double sigma, double m, double Lambda);
/* References with cutoff p: G_p^lat(r) and theta(p - |q|)/(q^2 + m^2), the
 * q = 0 mode weighted by w0 (collective: MPI FFTW for d >= 2). */
void bf_erg_reference(MPI_Comm comm, const bf_lattice *lat, double m, double p,
                      double w0, double *g2ref, double *gqref);
/* Weighted fit 1/G(q) = (q^2 + m_eff^2)/Z over 0 < |q| < p. */
void bf_erg_fit(const bf_lattice *lat, double p, const double *gq,
                const double *gq_err, double *m_eff, double *m_err, double *Z);

#endif
