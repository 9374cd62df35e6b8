/* test_flow.c — information-shell coarse graining (docs/physics.md 3, 4).
 *
 * 1. BRG = ERG: the prior cos-net ensemble on the full lattice, pruned in
 *    the diagonal basis, is at every step the free field with cutoff
 *    p(Lambda): G2 within 4 standard errors of G_p^lat at every
 *    displacement; the fitted m_eff equal to m within 4 fit errors; the
 *    dimensionless mass m_hat = m_eff/p increasing toward the IR.
 * 2. Eigen basis: the deviation from the momentum-shell reference is
 *    reported, and shrinks as N/M grows.
 * 3. The posterior readout ensemble's flow approaches the infinite-width
 *    curves (test MSE, predictive variance) as the width grows.
 * 4. A small paper_relu: GD-trained ReLU networks, coarse-grained in the
 *    eigen basis by resampling, show a critical cutoff after a flat stretch,
 *    with a finite bootstrap interval.
 * 5. [brg] cutoffs equal to the log grid give the grid's flow bitwise, and
 *    so does the chain's flow stage (bf_chain up to "flow");
 *    keep_mse_below drops exactly the members with test_mse0 >= X from the
 *    ensemble statistics (and none when X is above every test_mse0); the
 *    probe predictions averaged over the kept members are pred_mean and
 *    pred_var at the probe. */
#include "testutil.h"

#include "brgflow/flow.h"
#include "brgflow/run.h"

#include <math.h>
#include <string.h>

static bf_params erg_params(int width, int basis)
{
  bf_params p = {.run.seed = 3, .net.arch = BF_ARCH_COSNET, .net.d = 2, .net.width = width, .cosnet.mass = 0.5,
                 .cosnet.cutoff = 2.0, .cosnet.sigma_a = 1.0, .cosnet.momenta = BF_MOMENTA_LATTICE, .lattice.sites = 12,
                 .lattice.spacing = 1.0, .ens.members = 400, .data.target = BF_TARGET_SIN, .data.n_test = 8,
                 .data.noise = 1.0, .data.domain = 1, .data.points = BF_DATA_LATTICE,
                 .train.method = BF_TRAIN_NONE, .fisher.solver = BF_SOLVER_AUTO,
                 .fisher.basis = BF_BASIS_DIAGONAL, .fisher.groups = 1, .fisher.block = 16, .brg.on = 1,
                 .brg.lambda_min = 8, .brg.lambda_max = 150, .brg.count = 6, .brg.basis = basis,
                 .brg.prescription = BF_PRESC_PRUNE, .brg.critical_tol = 0.1, .brg.bootstrap = 0};
  return p;
}

/* Distinct nonzero |q|^2 = (2 pi / (L a))^2 (n1^2 + n2^2) with |q| < p on the
 * 2-d L x L lattice, counted here from the integers, apart from the library. */
static int distinct_q2_below(int L, double a, double p)
{
  int seen[2 * 32 * 32 + 1] = {0}, count = 0; /* L <= 64 */
  double unit = 2 * M_PI / (L * a);
  for (int i = -L / 2; i <= L / 2; i++)
    for (int j = -L / 2; j <= L / 2; j++) {
      int n2 = i * i + j * j;
      if (n2 > 0 && unit * sqrt(n2) < p && !seen[n2]) seen[n2] = 1, count++;
    }
  return count;
}

static void test_brg_equals_erg(void **state)
{
  (void)state;
  bf_params p = erg_params(256, BF_BASES_DIAGONAL);
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  bf_flow_result *f;
  int nf = bf_flow_run(job, &p, &f);
  assert_int_equal(nf, 1);
  assert_true(f->erg);
  double prev_hat = 0;
  int nfit = 0;
  for (int k = 0; k < f->K; k++) {
    FIGURE("Lambda = %6.2f, p = %.3f: max z over 144 displacements = %.2f (tol 4); "
           "m_eff = %.4f +- %.4f (m = 0.5); m_hat = %.3f", f->cut[k], f->pcut[k], f->zmax[k],
           f->m_eff[k], f->m_err[k], f->m_hat[k]);
    ASSERT_LE(f->zmax[k], 4.0);
    /* the fit needs two distinct resolved |q|; where there are fewer, NaN
     * is its documented answer, and anywhere else NaN is a failure */
    int fittable = distinct_q2_below(p.lattice.sites, p.lattice.spacing, f->pcut[k]) >= 2;
    FIGURE("  distinct resolved |q|^2 below p: %d -> fit %s", distinct_q2_below(p.lattice.sites,
           p.lattice.spacing, f->pcut[k]), fittable ? "required" : "must be NaN");
    assert_int_equal(isfinite(f->m_eff[k]) != 0, fittable);
    if (fittable) {
      ASSERT_LE(fabs(f->m_eff[k] - p.cosnet.mass), 4 * f->m_err[k]);
      assert_true(f->m_hat[k] > prev_hat); /* mass is relevant: grows to the IR */
      prev_hat = f->m_hat[k];
      nfit++;
    }
  }
  assert_true(nfit >= 4); /* the test's grid is chosen so that four shells fit */
  bf_flow_results_destroy(&f, nf);
  bf_ctx_destroy(&job);
}

/* Relative L2 deviation of the eigen-basis flow's G2 from the momentum-shell
 * reference, averaged over steps. */
static double eigen_deviation(int width)
{
  bf_params p = erg_params(width, BF_BASES_EIGEN);
  p.ens.members = 100;
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  bf_flow_result *f;
  int nf = bf_flow_run(job, &p, &f);
  int64_t ns = job->mod->free_field->lat.nsites;
  double dev = 0;
  for (int k = 0; k < f->K; k++) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < ns; i++) {
      double d = f->g2[k * ns + i] - f->g2_ref[k * ns + i];
      num += d * d, den += f->g2_ref[k * ns + i] * f->g2_ref[k * ns + i];
    }
    dev += sqrt(num / den) / f->K;
  }
  bf_flow_results_destroy(&f, nf);
  bf_ctx_destroy(&job);
  return dev;
}

static void test_eigen_basis_alignment_improves(void **state)
{
  (void)state;
  double narrow = eigen_deviation(48), wide = eigen_deviation(960);
  FIGURE("eigen-basis prune vs momentum-shell reference: mean relative L2 deviation of G2 "
         "%.3f at N = 48, %.3f at N = 960 (M = 45 momenta; must shrink)", narrow, wide);
  ASSERT_LE(wide, 0.75 * narrow);
}

static void test_small_paper_relu(void **state)
{
  (void)state;
  bf_params p = {.run.seed = 9, .net.arch = BF_ARCH_MLP, .net.d = 1, .net.width = 256, .net.depth = 1,
                 .net.activation = 0, .net.sigma_w = 1.4142135623730951, .net.sigma_b = 0.1,
                 .ens.members = 24, .data.target = BF_TARGET_SIN, .data.n_train = 32, .data.n_test = 32,
                 .data.noise = 0.05, .data.domain = 1, .data.points = BF_DATA_GRID,
                 .train.method = BF_TRAIN_GD, .train.lr = 0.3, .train.steps = 1000,
                 .fisher.solver = BF_SOLVER_AUTO, .fisher.basis = BF_BASIS_EIGEN, .fisher.groups = 1,
                 .fisher.block = 16, .brg.on = 1, .brg.lambda_min = 1e-6, .brg.lambda_max = 1, .brg.count = 13,
                 .brg.relative = 1, .brg.basis = BF_BASES_EIGEN, .brg.prescription = BF_PRESC_RESAMPLE,
                 .brg.critical_tol = 0.1, .brg.bootstrap = 200, .kernel.quadrature = BF_QUAD_AUTO, .kernel.order = 96};
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  bf_flow_result *f;
  int nf = bf_flow_run(job, &p, &f);
  double mse0 = 0;
  for (int m = 0; m < p.ens.members; m++) mse0 += f->mse0[m] / p.ens.members;
  for (int k = 0; k < f->K; k++) {
    double mean = 0;
    for (int m = 0; m < p.ens.members; m++) mean += f->mse[k * p.ens.members + m] / p.ens.members;
    FIGURE("Lambda = %.1e lambda_max: test MSE %.4g (uncoarsened %.4g)", f->cut[k], mean, mse0);
  }
  FIGURE("Lambda_C = %.3g lambda_max, bootstrap 95%% [%.3g, %.3g], step %d", f->lc, f->lc_lo,
         f->lc_hi, f->crit);
  assert_true(f->crit > 0); /* detectable, after a flat stretch */
  assert_true(isfinite(f->lc_lo) && isfinite(f->lc_hi) && f->lc_lo <= f->lc_hi);
  bf_flow_results_destroy(&f, nf);
  bf_ctx_destroy(&job);
}

/* The readout-linear ensemble with exact posterior training, resampled in
 * the eigen basis, approaches the infinite-width curves of docs/physics.md 3:
 * test MSE and predictive variance along the flow, closer as width grows. */
static void curve_deviation(int width, double *dmse, double *dvar)
{
  bf_params p = {.run.seed = 6, .net.arch = BF_ARCH_MLP, .net.d = 1, .net.width = width, .net.depth = 1,
                 .net.activation = 1, .net.sigma_w = 1.5, .net.sigma_b = 0.3, .ens.members = 200,
                 .train.trainable = BF_TRAIN_READOUT, .data.target = BF_TARGET_SIN, .data.n_train = 16,
                 .data.n_test = 12, .data.noise = 0.1, .data.domain = 1, .data.points = BF_DATA_RANDOM,
                 .train.method = BF_TRAIN_POSTERIOR, .fisher.solver = BF_SOLVER_AUTO,
                 .fisher.basis = BF_BASIS_EIGEN, .fisher.groups = 1, .fisher.block = 8, .brg.on = 1,
                 .brg.lambda_min = 1e-5, .brg.lambda_max = 1, .brg.count = 8, .brg.relative = 1,
                 .brg.basis = BF_BASES_EIGEN, .brg.prescription = BF_PRESC_RESAMPLE,
                 .brg.critical_tol = 0.1, .kernel.quadrature = BF_QUAD_AUTO, .kernel.order = 96};
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  bf_flow_result *f;
  int nf = bf_flow_run(job, &p, &f);
  assert_non_null(f->mse_inf);
  *dmse = *dvar = 0;
  int nt = p.data.n_test;
  for (int k = 0; k < f->K; k++) {
    double mean = 0;
    for (int m = 0; m < p.ens.members; m++) mean += f->mse[k * p.ens.members + m] / p.ens.members;
    *dmse = fmax(*dmse, fabs(mean - f->mse_inf[k]) / f->mse_inf[k]);
    for (int x = 0; x < nt; x++) /* mean absolute deviation along the flow */
      *dvar += fabs(f->pred_var[k * nt + x] - f->var_inf[k * nt + x]) / (f->K * nt);
  }
  bf_flow_results_destroy(&f, nf);
  bf_ctx_destroy(&job);
}

static void test_posterior_flow_approaches_infinite_width(void **state)
{
  (void)state;
  double m1, v1, m2, v2;
  curve_deviation(8, &m1, &v1);
  curve_deviation(1024, &m2, &v2);
  FIGURE("flow vs infinite-width curves: max relative |MSE - MSE_inf| %.3f (N = 8), %.3f "
         "(N = 1024); mean |var - var_inf| %.4f (N = 8), %.4f (N = 1024); both must halve",
         m1, m2, v1, v2);
  ASSERT_LE(m2, 0.5 * m1);
  ASSERT_LE(v2, 0.5 * v1);
}

/* A small GD-trained tanh ensemble for the selection tests (5). */
static bf_params select_params(void)
{
  bf_params p = {.run.seed = 5, .net.arch = BF_ARCH_MLP, .net.d = 1, .net.width = 64, .net.depth = 1,
                 .net.activation = 1, .net.sigma_w = 1.5, .net.sigma_b = 0.1, .ens.members = 16,
                 .data.target = BF_TARGET_SIN, .data.n_train = 16, .data.n_test = 8, .data.noise = 0.05,
                 .data.domain = 1, .data.points = BF_DATA_RANDOM, .train.method = BF_TRAIN_GD,
                 .train.lr = 0.5, .train.steps = 200, .fisher.solver = BF_SOLVER_AUTO, .fisher.basis = BF_BASIS_EIGEN,
                 .fisher.groups = 1, .fisher.block = 8, .brg.on = 1, .brg.lambda_min = 1e-4, .brg.lambda_max = 1,
                 .brg.count = 9, .brg.relative = 1, .brg.basis = BF_BASES_EIGEN,
                 .brg.prescription = BF_PRESC_RESAMPLE, .brg.critical_tol = 0.1, .brg.bootstrap = 50,
                 .kernel.quadrature = BF_QUAD_AUTO, .kernel.order = 96};
  return p;
}

static double max_abs_diff(int64_t n, const double *a, const double *b)
{
  double d = 0;
  for (int64_t i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]));
  return d;
}

static void test_explicit_cutoffs_equal_grid(void **state)
{
  (void)state;
  bf_params p = select_params();
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  bf_flow_result *g, *l;
  bf_flow_run(job, &p, &g);
  double cut[9];
  bf_flow_cutoffs(p.brg.lambda_min, p.brg.lambda_max, p.brg.count, cut);
  p.brg.ncut = 9, p.brg.cut = cut, p.brg.count = 16; /* the list replaces count */
  bf_flow_run(job, &p, &l);
  int64_t E = p.ens.members, KE = 9 * E, KT = 9 * p.data.n_test;
  assert_int_equal(l->K, 9);
  double d = fmax(max_abs_diff(KE, g->mse, l->mse), max_abs_diff(KT, g->pred_mean, l->pred_mean));
  d = fmax(d, max_abs_diff(KT, g->pred_var, l->pred_var));
  FIGURE("cutoffs list = the 9-point log grid: max |difference| of test_mse, pred_mean, "
         "pred_var = %.3g (tol 0: the same cutoffs must give the same flow bitwise); "
         "Lambda_C %.4g vs %.4g", d, l->lc, g->lc);
  assert_memory_equal(g->cut, l->cut, sizeof cut);
  assert_memory_equal(g->mse, l->mse, sizeof(double) * KE);
  assert_memory_equal(g->pred_mean, l->pred_mean, sizeof(double) * KT);
  assert_memory_equal(g->pred_var, l->pred_var, sizeof(double) * KT);
  assert_int_equal(g->crit, l->crit);
  /* the chain's flow stage runs the same flow on the same ensemble */
  bf_params q = select_params();
  bf_ctx *whole = bf_chain(MPI_COMM_WORLD, &q, "flow", 0);
  assert_int_equal(whole->nflows, 1);
  const bf_flow_result *s = &whole->flows[0];
  double ds = fmax(max_abs_diff(KE, g->mse, s->mse), max_abs_diff(KT, g->pred_mean, s->pred_mean));
  FIGURE("the chain's flow stage vs bf_flow_run on the metric stage's context: max "
         "|difference| of test_mse, pred_mean = %.3g (tol 0)", ds);
  assert_memory_equal(g->mse, s->mse, sizeof(double) * KE);
  assert_memory_equal(g->pred_mean, s->pred_mean, sizeof(double) * KT);
  bf_ctx_destroy(&whole);
  bf_flow_results_destroy(&g, 1);
  bf_flow_results_destroy(&l, 1);
  bf_ctx_destroy(&job);
}

/* The kept members' mean of each step's test MSE, and the probe moments,
 * recomputed here from the per-member arrays in two passes. */
static void check_kept_statistics(const bf_params *p, const bf_flow_result *f, const int *keep,
                                  int nkeep)
{
  int64_t E = p->ens.members, nt = p->data.n_test, np = p->brg.nprobe;
  double dmse = 0, dmean = 0, dvar = 0;
  for (int k = 0; k < f->K; k++) {
    double s = 0;
    for (int64_t m = 0; m < E; m++) s += keep[m] ? f->mse[k * E + m] : 0;
    dmse = fmax(dmse, fabs(f->mse_mean[k] - s / nkeep) / (s / nkeep));
    for (int j = 0; j < np; j++) {
      double mean = 0, var = 0, pm, pv;
      for (int64_t m = 0; m < E; m++) mean += keep[m] ? f->probe_pred[(k * E + m) * np + j] : 0;
      mean /= nkeep;
      for (int64_t m = 0; m < E; m++) {
        double x = f->probe_pred[(k * E + m) * np + j] - mean;
        var += keep[m] ? x * x / (nkeep - 1) : 0;
      }
      pm = f->pred_mean[k * nt + p->brg.probe_idx[j]], pv = f->pred_var[k * nt + p->brg.probe_idx[j]];
      dmean = fmax(dmean, fabs(pm - mean));
      /* pred_var is one pass, (sum x^2 - (sum x)^2/n)/(n-1): its rounding
       * scales with mean^2, not with var */
      dvar = fmax(dvar, fabs(pv - var) / (var + mean * mean));
    }
  }
  FIGURE("%d of %lld members kept: max relative |mean test MSE - mean over kept| = %.3g "
         "(tol 1e-14: one sum of <= 16 terms); probe: max |pred_mean - mean over kept| = %.3g "
         "(tol 1e-12), max |pred_var - var over kept|/(var + mean^2) = %.3g (tol 1e-12: "
         "rounding of the one-pass variance)", nkeep, (long long)E, dmse, dmean, dvar);
  ASSERT_LE(dmse, 1e-14);
  ASSERT_LE(dmean, 1e-12);
  ASSERT_LE(dvar, 1e-12);
}

static void test_keep_mse_below_and_probe(void **state)
{
  (void)state;
  bf_params p = select_params();
  int probe[3] = {0, 3, 7};
  p.brg.nprobe = 3, p.brg.probe_idx = probe;
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  bf_flow_result *all, *f, *none;
  bf_flow_run(job, &p, &all);
  int E = p.ens.members, keep[16], nkeep = 0, everyone[16];
  /* X: the median of test_mse0, so that about half are dropped */
  double sorted[16], hi = 0;
  memcpy(sorted, all->mse0, sizeof sorted);
  for (int a = 1; a < E; a++)
    for (int b = a; b > 0 && sorted[b] < sorted[b - 1]; b--) {
      double t = sorted[b];
      sorted[b] = sorted[b - 1], sorted[b - 1] = t;
    }
  p.brg.keep_mse_below = sorted[E / 2];
  for (int m = 0; m < E; m++) {
    keep[m] = all->mse0[m] < p.brg.keep_mse_below, nkeep += keep[m];
    everyone[m] = 1, hi = fmax(hi, all->mse0[m]);
  }
  bf_flow_run(job, &p, &f);
  int agree = 0;
  for (int m = 0; m < E; m++) agree += f->kept[m] == keep[m];
  FIGURE("keep_mse_below = %.5g (median test_mse0): %lld kept by the flow, %d counted here "
         "(test_mse0 < X); kept flags agree for %d of %d members (tol: exact)",
         p.brg.keep_mse_below, (long long)f->n_kept, nkeep, agree, E);
  assert_int_equal(f->n_kept, nkeep);
  assert_int_equal(agree, E);
  assert_true(nkeep < E); /* the case must drop some */
  /* dropped members are still coarse-grained and stored */
  assert_memory_equal(all->mse, f->mse, sizeof(double) * f->K * E);
  assert_memory_equal(all->probe_pred, f->probe_pred, sizeof(double) * f->K * E * 3);
  check_kept_statistics(&p, f, keep, nkeep);
  check_kept_statistics(&p, all, everyone, E);
  p.brg.keep_mse_below = 2 * hi; /* above every test_mse0: drops none */
  bf_flow_run(job, &p, &none);
  FIGURE("keep_mse_below = %.5g (2 x max test_mse0): %lld of %d kept; Lambda_C %.4g vs %.4g "
         "with keep_mse_below = 0 (tol: bitwise)", p.brg.keep_mse_below, (long long)none->n_kept, E,
         none->lc, all->lc);
  assert_int_equal(none->n_kept, E);
  assert_memory_equal(all->pred_mean, none->pred_mean, sizeof(double) * f->K * p.data.n_test);
  assert_memory_equal(all->pred_var, none->pred_var, sizeof(double) * f->K * p.data.n_test);
  assert_memory_equal(all->mse_mean, none->mse_mean, sizeof(double) * f->K);
  assert_true(all->crit == none->crit && all->lc_lo == none->lc_lo && all->lc_hi == none->lc_hi);
  bf_flow_results_destroy(&all, 1);
  bf_flow_results_destroy(&f, 1);
  bf_flow_results_destroy(&none, 1);
  bf_ctx_destroy(&job);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_explicit_cutoffs_equal_grid),
  cmocka_unit_test(test_keep_mse_below_and_probe),
  cmocka_unit_test(test_posterior_flow_approaches_infinite_width),
  cmocka_unit_test(test_brg_equals_erg),
  cmocka_unit_test(test_eigen_basis_alignment_improves),
  cmocka_unit_test(test_small_paper_relu),
};
BF_TEST_MAIN(group)
