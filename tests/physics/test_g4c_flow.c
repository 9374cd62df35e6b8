/* test_g4c_flow.c — the connected four-point function along the BRG flow
 * (docs/physics.md 5).  Depth-1 ReLU networks (ntk, sigma_w = 1.2,
 * sigma_b = 0.4, d = 1), GD-trained on a noisy sine; G4c at two points
 * x = 0.9, -0.6 on the quadruples (0,0,0,0), (1,1,1,1), (0,0,1,1).
 *
 * 1. resample, every trained direction redrawn (the last cutoff, twice the
 *    largest eigenvalue): the ensemble is a fresh prior draw, so its G4c is
 *    the prior ensemble's, within 4 combined errors (the two draws are
 *    independent).  Two cases: every parameter trained, diagonal basis;
 *    the readout alone trained (a linear model), eigen basis, whose null
 *    space stays at the prior values it started from.
 * 2. The same last step against the exact depth-1 value at a point,
 *    N G4c(x,x,x,x) = (15/4) sw^4 k^2, k = sw^2 x^2 + sb^2 (docs/theory.md
 *    h; the reference of test_mlp_gp.c), within 4 jackknife errors.
 * 3. The first step, below every eigenvalue (no member has a sloppy
 *    direction), is the trained ensemble: the same G4c bitwise.
 * 4. At fixed Lambda/lambda_max, G4c falls as 1/N: for the readout model
 *    on 4 grid points, with cutoffs in the gaps of the infinite-width
 *    spectrum, N G4c at N = 64 and 256 agree within 4 combined errors at
 *    every step, while G4c itself differs by more than 4 somewhere (the
 *    check can fail).  N = 16 is not yet asymptotic: there N G4c sits up to
 *    7 errors below N = 64 when only the top direction is kept. */
#include "testutil.h"

#include "brgflow/nnft.h"
#include "brgflow/metric.h"
#include "brgflow/run.h"

#include <math.h>
#include <string.h>

#define Z_TOL 4.0   /* standard errors: a 1e-4 false alarm per comparison */
#define MEMBERS 6000
#define NCUT 5

/* relative cutoffs: below every resolved eigenvalue (the null floor is
 * 1e-12 lambda_max), three inside the spectrum, above all of it */
static double CUTS[NCUT] = {1e-13, 1e-4, 1e-2, 0.3, 2.0};
static double XS[2] = {0.9, -0.6};

static bf_params params(int width, int trainable, int basis)
{
  bf_params p = {.run.seed = 21, .net.arch = BF_ARCH_MLP, .net.d = 1, .net.width = width, .net.depth = 1,
                 .net.activation = 0, .net.sigma_w = 1.2, .net.sigma_b = 0.4, .ens.members = MEMBERS,
                 .train.trainable = trainable, .data.target = BF_TARGET_SIN, .data.n_train = 8, .data.n_test = 8,
                 .data.noise = 0.05, .data.domain = 1, .data.points = BF_DATA_RANDOM,
                 .train.method = BF_TRAIN_GD, .train.lr = 0.5, .train.steps = 100, .fisher.solver = BF_SOLVER_AUTO,
                 .fisher.basis = basis, .fisher.groups = 1, .fisher.block = 8, .brg.on = 1, .brg.ncut = NCUT, .brg.cut = CUTS,
                 .brg.relative = 1, .brg.basis = basis == BF_BASIS_EIGEN ? BF_BASES_EIGEN
                                                                     : BF_BASES_DIAGONAL,
                 .brg.prescription = BF_PRESC_RESAMPLE, .brg.critical_tol = 0.1, .corr.npoints = 2,
                 .corr.nquads = 3, .corr.blocks = 32, .kernel.quadrature = BF_QUAD_AUTO, .kernel.order = 96};
  int quads[3][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}};
  memcpy(p.corr.quad, quads, sizeof quads);
  p.corr.x = XS;
  return p;
}

typedef struct run {
  bf_ctx *job;
  bf_flow_result *f;
  int nf;
} run;

static run flow(const bf_params *p)
{
  run r;
  r.job = bf_chain(MPI_COMM_WORLD, p, "metric", 0);
  r.nf = bf_flow_run(r.job, p, &r.f);
  assert_int_equal(r.nf, 1);
  assert_int_equal(r.f->nq, 3);
  return r;
}

static void run_free(run *r)
{
  bf_flow_results_destroy(&r->f, r->nf);
  bf_ctx_destroy(&r->job);
}

/* (15/4) sw^4 k^2 / N at point x: the depth-1 ReLU G4c(x,x,x,x). */
static double exact_g4c(const bf_params *p, double x)
{
  double sw2 = p->net.sigma_w * p->net.sigma_w, k = sw2 * x * x + p->net.sigma_b * p->net.sigma_b;
  return 15.0 / 4.0 * sw2 * sw2 * k * k / p->net.width;
}

/* Checks 1 and 2 for one case: the last step against the prior ensemble
 * and, on the single-point quadruples, against the exact value. */
static void last_step_is_prior(const char *label, const bf_params *p)
{
  run r = flow(p);
  bf_params q = *p; /* the same members' prior: nothing trained */
  q.train.method = BF_TRAIN_NONE, q.fisher.solver = BF_SOLVER_NONE, q.brg.on = 0;
  bf_ctx *prior = bf_chain(MPI_COMM_WORLD, &q, "reference", 0);
  const double *g = r.f->g4c + (NCUT - 1) * 3, *e = r.f->g4c_err + (NCUT - 1) * 3;
  double sloppy = 0, N = p->net.width;
  for (int m = 0; m < p->ens.members; m++) sloppy += r.f->n_sloppy[(NCUT - 1) * p->ens.members + m];
  FIGURE("%s: last step Lambda = %g lambda_max, mean sloppy directions %.2f of P_T = %lld",
         label, CUTS[NCUT - 1], sloppy / p->ens.members, (long long)r.job->mod->Pt);
  for (int q = 0; q < 3; q++) {
    double z = (g[q] - prior->g4c[q]) / hypot(e[q], prior->g4c_err[q]);
    FIGURE("  quadruple %d: N G4c last step %.4f +- %.4f, prior %.4f +- %.4f, z = %.2f "
           "(tol %.0f)", q, N * g[q], N * e[q], N * prior->g4c[q], N * prior->g4c_err[q], z,
           Z_TOL);
    ASSERT_LE(fabs(z), Z_TOL);
  }
  for (int q = 0; q < 2; q++) {
    double ex = exact_g4c(p, XS[q]), z = (g[q] - ex) / e[q];
    FIGURE("  x = %+.1f: N G4c last step %.4f +- %.4f, exact (15/4) sw^4 k^2 = %.4f, z = %.2f "
           "(tol %.0f)", XS[q], N * g[q], N * e[q], N * ex, z, Z_TOL);
    ASSERT_LE(fabs(z), Z_TOL);
  }
  bf_ctx_destroy(&prior);
  run_free(&r);
}

static void test_last_step_is_the_prior(void **state)
{
  (void)state;
  bf_params all = params(16, BF_TRAIN_ALL, BF_BASIS_DIAGONAL);
  last_step_is_prior("all trained, diagonal basis", &all);
  bf_params readout = params(16, BF_TRAIN_READOUT, BF_BASIS_EIGEN);
  last_step_is_prior("readout trained (linear), eigen basis", &readout);
}

static void test_first_step_is_trained(void **state)
{
  (void)state;
  bf_params p = params(16, BF_TRAIN_ALL, BF_BASIS_EIGEN);
  run r = flow(&p);
  double sloppy = 0;
  for (int m = 0; m < p.ens.members; m++) sloppy += r.f->n_sloppy[m];
  int same = !memcmp(r.f->g4c, r.job->g4c, sizeof(double) * 3) &&
             !memcmp(r.f->g4c_err, r.job->g4c_err, sizeof(double) * 3);
  for (int q = 0; q < 3; q++)
    FIGURE("quadruple %d: N G4c first step %.6g +- %.3g, trained %.6g +- %.3g", q,
           16 * r.f->g4c[q], 16 * r.f->g4c_err[q], 16 * r.job->g4c[q], 16 * r.job->g4c_err[q]);
  FIGURE("first step Lambda = %g lambda_max: sloppy directions summed over members %.0f "
         "(must be 0); G4c and its error equal to the trained ensemble's bitwise: %s (tol 0: "
         "the same parameters through the same estimator)", CUTS[0], sloppy,
         same ? "yes" : "no");
  assert_true(sloppy == 0);
  assert_true(same);
  run_free(&r);
}

/* The readout model's relative cutoffs in the gaps of its infinite-width
 * spectrum: lambda_k/lambda_max -> kappa_k/kappa_max, the eigenvalues of
 * the NNGP kernel K(X, X) (docs/physics.md 3).  A cutoff near an eigenvalue
 * would split the members by whether that direction is sloppy, a mixture
 * whose kurtosis is not O(1/N); in a gap the sloppy set is the same for
 * every member once N is large.  Geometric midpoints of the gaps, then
 * above all. */
static int gap_cutoffs(const bf_ctx *job, double *cut)
{
  int n = (int)job->ds->n, nc = 0;
  double kern[16 * 16], w[16];
  assert_true(n <= 16);
  assert_true(bf_model_kernel(MPI_COMM_WORLD, job->mod, BF_KERNEL_PRIOR, job->ds->x, n,
                              job->ds->x, n, kern));
  bf_sym_eigen(n, kern, w); /* ascending */
  for (int j = 1; j < n; j++) {
    cut[nc++] = sqrt(w[j] * w[j - 1]) / w[n - 1];
    FIGURE("kappa_%d/kappa_max = %.4g: cutoff %.4g lambda_max above it", n - j, w[j - 1] / w[n - 1],
           cut[nc - 1]);
  }
  cut[nc++] = 2.0;
  return nc;
}

static void test_g4c_falls_as_one_over_width(void **state)
{
  (void)state;
  bf_params p1 = params(64, BF_TRAIN_READOUT, BF_BASIS_EIGEN), p2 = p1; /* 3 x MEMBERS: */
  p2.net.width = 256;
  p1.data.n_train = p2.data.n_train = 4, p1.data.points = p2.data.points = BF_DATA_GRID;
  p1.ens.members = p2.ens.members = 3 * MEMBERS; /* N = 256's errors resolve N G4c ~ 10 */
  bf_ctx *j1 = bf_chain(MPI_COMM_WORLD, &p1, "metric", 0);
  bf_ctx *j2 = bf_chain(MPI_COMM_WORLD, &p2, "metric", 0);
  double cut[17];
  p1.brg.ncut = p2.brg.ncut = gap_cutoffs(j1, cut);
  p1.brg.cut = p2.brg.cut = cut;
  bf_flow_result *f1, *f2;
  bf_flow_run(j1, &p1, &f1);
  bf_flow_run(j2, &p2, &f2);
  for (int k = 0; k < p1.brg.ncut; k++) { /* the same sloppy set at both widths */
    double s1 = 0, s2 = 0;
    for (int m = 0; m < p1.ens.members; m++)
      s1 += f1->n_sloppy[k * p1.ens.members + m], s2 += f2->n_sloppy[k * p1.ens.members + m];
    FIGURE("Lambda = %8.2e lambda_max: mean sloppy directions %.3f (N = %d), %.3f (N = %d)",
           cut[k], s1 / p1.ens.members, p1.net.width, s2 / p2.ens.members, p2.net.width);
  }
  double N1 = p1.net.width, N2 = p2.net.width, apart = 0;
  for (int k = 0; k < p1.brg.ncut; k++)
    for (int q = 0; q < 3; q++) {
      int i = k * 3 + q;
      double g1 = f1->g4c[i], e1 = f1->g4c_err[i], g2 = f2->g4c[i], e2 = f2->g4c_err[i];
      double z = (N1 * g1 - N2 * g2) / hypot(N1 * e1, N2 * e2);
      double zg = (g1 - g2) / hypot(e1, e2);
      FIGURE("Lambda = %8.2e lambda_max, quadruple %d: N G4c = %.4g +- %.2g (N = %.0f), "
             "%.4g +- %.2g (N = %.0f), z = %.2f (tol %.0f); G4c itself apart by %.1f errors",
             cut[k], q, N1 * g1, N1 * e1, N1, N2 * g2, N2 * e2, N2, z, Z_TOL, zg);
      ASSERT_LE(fabs(z), Z_TOL);
      apart = fmax(apart, fabs(zg));
    }
  FIGURE("largest separation of G4c between the widths: %.1f errors (must exceed %.0f, "
         "else 1/N is not tested)", apart, Z_TOL);
  assert_true(apart > Z_TOL);
  bf_flow_results_destroy(&f1, 1);
  bf_flow_results_destroy(&f2, 1);
  bf_ctx_destroy(&j1);
  bf_ctx_destroy(&j2);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_first_step_is_trained),
  cmocka_unit_test(test_last_step_is_the_prior),
  cmocka_unit_test(test_g4c_falls_as_one_over_width),
};
BF_TEST_MAIN(group)
