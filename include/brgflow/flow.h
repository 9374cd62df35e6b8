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

#include "brgflow/io.h"
#include "brgflow/metric.h"
#include "brgflow/nn.h"

/* One (basis, prescription) coarse-graining flow's results. */
typedef struct bf_flow_result {
  char name[32]; /* "eigen_resample", ... */
  int basis, prune, K;
  double *cut;                  /* K cutoffs (relative: x lambda_max) */
  double *n_sloppy, *mse, *n_zero; /* K x E, rank 0 only */
  double *mse0;                 /* E uncoarsened test MSE, rank 0 only */
  double *pred_mean, *pred_var; /* K x n_test, over the kept members */
  double *mse_mean;             /* K: mean test MSE over the kept members, rank 0 only */
  double *kept;                 /* E: 1 kept, 0 dropped ([brg] keep_mse_below), every rank */
  int64_t n_kept;               /* members in the ensemble statistics */
  int nprobe;                   /* [brg] probe test points */
  double *probe_loc;            /* this rank's members' predictions there: count x K x nprobe */
  double *probe_pred;           /* K x E x nprobe, rank 0 only */
  int crit;                     /* step of Lambda_C, -1 if not reached */
  double lc, lc_lo, lc_hi;      /* Lambda_C and its bootstrap interval */
  int erg;                      /* cos-net on the full lattice: ERG checks */
  double *pcut, *m_eff, *m_err, *Z, *m_hat, *zeta, *zmax; /* K */
  double *mse_inf, *var_inf;    /* infinite-width curves: K, K x n_test, or NULL */
  double *mse_loc, *nsl_loc, *nz_loc; /* this rank's members: count x K */
  int npts, nq;                 /* MLP: correlator points, G4c quadruples (0: cos-net) */
  double *g2pts, *g2pts_err;    /* MLP: G2 +- stderr at the correlator points, K x n x n */
  double *g4c, *g4c_err;        /* MLP: G4c +- jackknife on the quadruples, K x nq */
  double *ng4c;                 /* MLP: N G4c (N the last hidden width), K x nq */
  double *g2, *g2_err, *g2_ref, *gq, *gq_err, *gq_ref;    /* K x L^d */
} bf_flow_result;

/* Which arrays a flow's run has (bf_sizes.have) and the axes of its table:
 * K steps, E members, T test points, N correlator points, Q quadruples,
 * B probe points, S lattice sites (L per axis); units slots C (cutoffs)
 * and G (lattice G2). */
enum { BF_FLOW_ERG = 1, BF_FLOW_PTS = 2, BF_FLOW_PROBE = 4, BF_FLOW_DIAG = 8,
       BF_FLOW_INF = 16 };
/* The flow's result table (src/flow/table.c): every array of
 * bf_flow_result with its shape, place, result and checkpoint names. */
extern const bf_field bf_flow_fields[];
extern const int bf_flow_nfields;

/* The prior draw of the trained block that `resample` uses: one per member
 * and flow, from the member's own stream, so that the coarse-grained
 * parameters move continuously along the flow (docs/theory.md j). */
void bf_flow_prior_draw(const bf_model *mod, const double *sd, uint64_t seed,
                        int64_t member, double *draw);
/* Rows a0 .. a0+n-1 of that draw (counter-based: the same numbers). */
void bf_flow_prior_rows(const double *sd, uint64_t seed, int64_t member, int64_t a0,
                        int64_t n, double *draw);

/* Diagonal basis: returns the number of sloppy coordinates; *n_zero counts
 * those with I_AA = 0 exactly (units dead on all data). theta_out = full P. */
int64_t bf_coarse_diagonal(const bf_model *mod, const double *theta_star,
                           const double *diag, double Lambda, int prune,
                           const double *draw, double *theta_out,
                           int64_t *n_zero);
/* Eigen basis: lambda (k, descending) and V (Pt x k, by parameter row) of
 * the member's metric;
 * directions with 0 < lambda < Lambda (lambda below 1e-12 lambda_max count
 * as the null space) are coarse-grained.  Returns their number. */
int64_t bf_coarse_eigen(const bf_model *mod, const double *theta_star,
                        int64_t k, const double *lambda, const double *V,
                        double Lambda, int prune, const double *draw,
                        double *theta_out);

/* The incremental eigen-basis flow.  resolved: the number of eigenvalues
 * above the null floor 1e-12 lambda_max (lambda descending, k of them). */
int64_t bf_shells_resolved(int64_t k, const double *lambda);
/* part[j] = sum_a V[a k + j] x[a] over a block of rows (V: rows x k). */
void bf_shells_partial(int64_t rows, int64_t k, const double *V, const double *x, double *part);
/* coef[j] = v_j . (draw - theta*_t), or -v_j . theta*_t without a draw
 * (prune), V Pt x k: per chunk of bf_evec_chunk(Pt) rows, then over the
 * chunks in order, the numbers a group computes on any number of ranks. */
void bf_shells_coefficients(const bf_model *mod, const double *theta_star, int64_t k,
                            const double *V, const double *draw, double *coef);
/* Start with *lo = resolved and t = the rows' theta*; each call adds
 * c_j v_j to the rows t (rows x k vectors V) for the shells with lambda_j
 * < Lambda not yet added (Lambda must not decrease).  Returns the number
 * of sloppy directions. */
int64_t bf_shells_advance(int64_t rows, int64_t k, int64_t resolved, const double *lambda,
                          const double *V, const double *coef, double Lambda, int64_t *lo,
                          double *t);

/* The eigen-basis flow of a group's members (src/flow/group.c): their
 * eigenvectors stay distributed by parameter rows (bf_evec_map); each rank
 * assembles its rows of every member's coarse-grained theta, which are then
 * gathered, unchanged, onto the member's own rank. */
typedef struct bf_shells_group bf_shells_group;
/* Collective over the group: the coefficients of every member of the
 * group.  lambda (count x k), theta (count x P): this rank's members;
 * evec: the group's, in map's layout; sd the prior's scales (resample), or
 * NULL (prune). */
bf_shells_group *bf_shells_group_create(const bf_grid *g, const bf_evec_map *map,
                                        const bf_model *mod, const double *lambda,
                                        const double *evec, const double *theta,
                                        const double *sd, uint64_t seed);
/* Collective over the group: every member coarse-grained at cut (relative:
 * x its lambda_max), its theta's trained block onto its rank (theta: this
 * rank's members, count x P) and the number of its sloppy directions. */
void bf_shells_group_step(bf_shells_group *s, double cut, int relative, double *theta,
                          int64_t *sloppy);
void bf_shells_group_destroy(bf_shells_group **s);

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

/* ---- the flow stage (src/flow/flow.c; pipeline.h) ----------------------- */
typedef struct bf_ctx bf_ctx;
/* The flows the input asks for, into c->flows (each step measured). */
int bf_stage_flow(bf_ctx *c);
/* Collective: every (basis, prescription) p asks for; returns how many
 * results *out holds, or -1 with *out NULL after the one message of a
 * collective error ([brg] keep_mse_below keeps too few members, or a
 * checkpoint could not be written).  The ensemble, data and metric come
 * from c; the flow's own keys ([brg]) from p.  The flow stage passes c->p;
 * tests pass variants of it (other cutoffs, bases or prescriptions) to run
 * several flows on one trained ensemble.  The other sections of p must be
 * c->p's. */
int bf_flow_run(bf_ctx *c, const bf_params *p, bf_flow_result **out);
void bf_flow_results_destroy(bf_flow_result **r, int n);
/* How many flows the input asks for; a flow's shape (K, erg, npts, nq, nprobe),
 * the same for each. */
int bf_flow_count(const bf_params *p);
void bf_flow_shape(const bf_params *p, const bf_ctx *c, bf_flow_result *f);
/* The axes, conditions and units of f's result table in this run. */
void bf_flow_sizes(const bf_params *p, const bf_ctx *c, const bf_flow_result *f,
                   bf_sizes *s);

#endif
