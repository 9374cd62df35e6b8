/* nnft.h — field-theory measurements on an ensemble (the "measure" stage)
 * and the references they are held against.
 *
 * G2 is estimated per lattice displacement r (0..L-1 per axis) by averaging
 * f(x) f(x+r) over x, then over members, with the standard error over
 * members.  For lattice momenta the field is periodic and x+r wraps; for
 * continuum momenta it is not, so the field is evaluated on a doubled box and
 * r is the plain displacement n s (docs/theory.md). */
#ifndef BRGFLOW_NNFT_H
#define BRGFLOW_NNFT_H

#include "brgflow/core.h"
#include "brgflow/nn.h"

typedef struct bf_g2 bf_g2; /* opaque: FFT plans and accumulators */

bf_g2 *bf_g2_create(MPI_Comm comm, const bf_lattice *lat, int periodic);
void bf_g2_destroy(bf_g2 **g);
/* Zero the accumulators, keeping plans and buffers (a new measurement). */
void bf_g2_reset(bf_g2 *g);
/* Each member's field is needed on the grid box {n s : n in [0,B)^d}
 * (B^d sites, row-major), B = bf_g2_box_sites(g): L, or 2L when open. */
int bf_g2_box_sites(const bf_g2 *g);
/* Add one member's field, given on the grid box (bf_g2_box_sites). */
void bf_g2_add_member(bf_g2 *g, const double *phi);
/* Collective: reduce over ranks into mean and standard error (L^d each). */
void bf_g2_finish(bf_g2 *g, double *mean, double *err);
/* Collective, periodic lattices: <|phi~(q)|^2>/V and its standard error on
 * all L^d momenta in FFT index order (phi~(q) = s^d sum_x phi e^{-iqx}). */
void bf_g2_power_finish(bf_g2 *g, double *mean, double *err);

/* References (docs/physics.md 1a). */
/* G_R^lat(r) = (1/V) sum_{|q|<R} e^{iqr}/(q^2+m^2) at every displacement,
 * by FFTW: MPI FFTW over slabs for d >= 2, then gathered to every rank. */
void bf_ref_lattice(MPI_Comm comm, const bf_lattice *lat, double mass,
                    double cutoff, double *g);
/* The same sum taken directly at one displacement n[] (a test reference). */
double bf_ref_lattice_direct(const bf_lattice *lat, double mass, double cutoff,
                             const int n[3]);
/* Hard-cutoff continuum propagator at distance r, by GSL quadrature. */
double bf_ref_continuum(int d, double mass, double cutoff, double r);
/* bf_ref_continuum at every displacement n s (split over ranks, gathered). */
void bf_ref_continuum_grid(MPI_Comm comm, const bf_lattice *lat, double mass,
                           double cutoff, double *g);
/* R -> infinity closed forms (r > 0; d = 1 also at r = 0). */
double bf_ref_closed_form(int d, double mass, double r);
/* Continuum displacement of site index idx: |n| s, no wrapping. */
double bf_displacement(const bf_lattice *lat, int64_t idx);

/* max_r |mean - ref| / err, with the displacement index where it occurs. */
double bf_zscore_max(int64_t n, const double *mean, const double *err,
                     const double *ref, int64_t *where);

/* ---- infinite-width kernels (src/nnft/kernels.c) ------------------------ */
typedef struct bf_gh bf_gh; /* 2-d Gauss-Hermite product rule */
bf_gh *bf_gh_create(int order);
void bf_gh_destroy(bf_gh **gh);
/* E[g(u) h(v)] for (u,v) ~ N(0, [[k11,k12],[k12,k22]]). */
double bf_gh_expect(const bf_gh *gh, double (*g)(double), double (*h)(double),
                    double k11, double k22, double k12);
/* The same for g, h with a kink at 0: polar rule split at the kink angles. */
double bf_gh_expect_kinked(const bf_gh *gh, double (*g)(double),
                           double (*h)(double), double k11, double k22,
                           double k12);
/* Collective: K_nngp and K_ntk (n x n, row-major, on every rank) of a
 * layer stack at points x (n x d, row-major), each layer with its own
 * width, activation and bias; quadrature: enum bf_quadrature, order: the
 * minimum Gauss-Hermite order.  Theta is the tangent kernel in theta as
 * stored (the NTK in the ntk parameterization).  Returns 0, or BF_STOPPED
 * when a stop request came (large point sets poll for one): K and Theta
 * are then incomplete. */
int bf_kernels(MPI_Comm comm, const bf_mlp *net, int64_t n, const double *x, int quadrature,
               int order, double *K, double *Theta);
/* Collective: log a warning when worst_var (the largest pre-activation
 * variance a Hermite rule covered, max over ranks) is past the range its
 * capped order was measured to hold 1e-10 in. */
void bf_kernels_warn(MPI_Comm comm, double worst_var);
/* The same kernels entry by entry, for distributed matrices (each rank its
 * own blocks): a plan holds the rules, made once; bf_kernel_diag gives a
 * point's K^l(x, x), l = 1..depth (diag: depth entries), and bf_kernel_pair
 * K and Theta at (xa, xb) from the two diagonals, bitwise equal to
 * bf_kernels' entry (row xa, column xb).  Rank-local. */
typedef struct bf_kernel_plan bf_kernel_plan;
bf_kernel_plan *bf_kernel_plan_create(const bf_mlp *net, int quadrature, int order);
void bf_kernel_plan_destroy(bf_kernel_plan **kp);
void bf_kernel_diag(bf_kernel_plan *kp, const double *x, double *diag);
void bf_kernel_pair(bf_kernel_plan *kp, const double *xa, const double *da, const double *xb,
                    const double *db, double *K, double *Theta);
/* The largest variance its Hermite rules covered so far (bf_kernels_warn). */
double bf_kernel_plan_worst_var(const bf_kernel_plan *kp);

/* ---- moments at a set of points (src/nnft/moments.c) ---------------------
 * G2(i,j) = E[f_i f_j] with standard errors over members; connected G4c
 * (the joint fourth cumulant) on quadruples with errors by a jackknife over
 * blocks of members (blocks by member index, so the same at any rank
 * count). */
typedef struct bf_moments bf_moments;
bf_moments *bf_moments_create(MPI_Comm comm, int n, int nquads,
                              const int (*quad)[4], int64_t members, int blocks);
void bf_moments_destroy(bf_moments **m);
/* Zero the accumulators, keeping the quadruples, blocks and shift. */
void bf_moments_reset(bf_moments *m);
/* c (n): G4c's products are of f - c (the cumulant is the same for any c;
 * c near the mean output keeps the rounding small).  Default 0. */
void bf_moments_shift(bf_moments *m, const double *c);
/* f: member's outputs at the n points.  Members left out are simply not
 * added: the means divide by the members each block holds. */
void bf_moments_add(bf_moments *m, int64_t member, const double *f);
/* Collective.  g2, g2_err: n x n; g4c, g4c_err: nquads. */
void bf_moments_finish(bf_moments *m, double *g2, double *g2_err, double *g4c,
                       double *g4c_err);

/* ---- the measure stage (src/nnft/measure.c, docs/physics.md 5) ----------
 * G2 +- stderr and G4c +- jackknife at n points x (n x d) for one model:
 * the trained ensemble once, a flow's ensemble after every step. */
typedef struct bf_measure bf_measure;
bf_measure *bf_measure_create(MPI_Comm comm, const bf_model *mod, int n, const double *x,
                              int nquads, const int (*quad)[4], int64_t members, int blocks);
void bf_measure_destroy(bf_measure **ms);
/* Collective: the local members first .. first+count-1 of the ensemble,
 * parameter rows theta (count x P); keep[m] == 0 leaves local member m out
 * (keep NULL: all in).  g2, g2_err: n x n; g4c, g4c_err: nquads. */
void bf_measure_run(bf_measure *ms, const double *theta, int64_t P, int64_t first,
                    int64_t count, const double *keep, double *g2, double *g2_err,
                    double *g4c, double *g4c_err);

/* ---- the measure and reference stages (src/nnft/stage.c; pipeline.h) ---- */
typedef struct bf_ctx bf_ctx;
/* G2 and G4c at the [correlator] points (prior or trained ensemble), or a
 * prior cos-net's G2 on its lattice. */
int bf_stage_measure(bf_ctx *c);
/* A prior ensemble's references (propagator, or NNGP and tangent kernels)
 * and the z-scores of its G2 against them. */
int bf_stage_reference(bf_ctx *c);

#endif
