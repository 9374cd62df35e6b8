/* test_train.c — trained ensembles against their infinite-width limits
 * (docs/physics.md 2): the GD ensemble mean against the NTK prediction, and the
 * exact posterior (MLP readout, cos-net readout) against the GP posterior.
 * The deviation must shrink as the width grows: at the wide width it must
 * be below half the narrow one's, and within 4 standard errors of the
 * ensemble mean (+ a 2% allowance for the O(1/N) remainder) of the limit. */
#include "testutil.h"

#include "brgflow/run.h"

#include <math.h>

static bf_params base(int arch, int method, int width)
{
  bf_params p = {.run.seed = 12, .net.arch = arch, .net.d = 1, .net.width = width, .net.depth = 1,
                 .net.activation = 1, .net.sigma_w = 1.5, .net.sigma_b = 0.2, .ens.members = 256,
                 .data.target = BF_TARGET_SIN, .data.n_train = 12, .data.n_test = 8, .data.noise = 0.1,
                 .data.domain = 1.0, .data.points = BF_DATA_RANDOM, .train.method = method,
                 .train.lr = 0.5, .train.steps = 200, .kernel.quadrature = BF_QUAD_AUTO, .kernel.order = 96,
                 .fisher.groups = 1, .fisher.block = 8};
  return p;
}

/* max over test points of |ensemble mean - reference| / (standard error) */
static double worst_z(const bf_ctx *job)
{
  double z = 0;
  for (int64_t x = 0; x < job->ds->ntest; x++) {
    double se = sqrt(job->test_var[x] / job->ens->members);
    z = fmax(z, fabs(job->test_mean[x] - job->ref_mean[x]) / (se + 0.02 * fabs(job->ref_mean[x])));
  }
  return z;
}

static void check_shrinks(bf_params narrow, bf_params wide, const char *what)
{
  bf_ctx *a = bf_chain(MPI_COMM_WORLD, &narrow, "metric", 0);
  bf_ctx *b = bf_chain(MPI_COMM_WORLD, &wide, "metric", 0);
  assert_non_null(a->ref_mean);
  FIGURE("%s: max |mean - ref| = %.4f at N = %d, %.4f at N = %d; wide max z = %.2f (tol 4)",
         what, a->dev_mean, narrow.net.width, b->dev_mean, wide.net.width, worst_z(b));
  if (a->ref_var)
    FIGURE("%s: max |var - ref| = %.4f at N = %d, %.4f at N = %d", what, a->dev_var,
           narrow.net.width, b->dev_var, wide.net.width);
  ASSERT_LE(b->dev_mean, 0.5 * a->dev_mean);
  if (a->ref_var) ASSERT_LE(b->dev_var, 0.5 * a->dev_var);
  ASSERT_LE(worst_z(b), 4.0);
  bf_ctx_destroy(&a);
  bf_ctx_destroy(&b);
}

static void test_gd_mean_approaches_ntk(void **state)
{
  (void)state;
  check_shrinks(base(BF_ARCH_MLP, BF_TRAIN_GD, 8), base(BF_ARCH_MLP, BF_TRAIN_GD, 1024),
                "GD tanh, all parameters, vs NTK");
}

static void test_posterior_approaches_gp(void **state)
{
  (void)state;
  bf_params n = base(BF_ARCH_MLP, BF_TRAIN_POSTERIOR, 8), w = base(BF_ARCH_MLP, BF_TRAIN_POSTERIOR, 1024);
  n.train.trainable = w.train.trainable = BF_TRAIN_READOUT;
  check_shrinks(n, w, "posterior, MLP readout, vs GP");
}

static void test_cosnet_posterior_approaches_gp(void **state)
{
  (void)state;
  bf_params n = base(BF_ARCH_COSNET, BF_TRAIN_POSTERIOR, 4);
  n.cosnet.mass = 0.5, n.cosnet.cutoff = 2.0, n.cosnet.sigma_a = 1.0, n.cosnet.momenta = BF_MOMENTA_LATTICE;
  n.lattice.sites = 12, n.lattice.spacing = 1.0, n.data.points = BF_DATA_LATTICE;
  bf_params w = n;
  w.net.width = 1024;
  check_shrinks(n, w, "posterior, cos-net readout on the lattice, vs GP (kernel G2)");
}

/* IR -> UV: on the full lattice a unit is resolved (I_ii >= Lambda) exactly
 * when |q| <= p(Lambda) (q != 0), so the ensemble's largest resolved |b| is
 * the largest lattice momentum up to p(Lambda), for every member (N = 512
 * occupies all M momenta). */
static void test_cosnet_resolved_momentum(void **state)
{
  (void)state;
  bf_params p = base(BF_ARCH_COSNET, BF_TRAIN_POSTERIOR, 512);
  p.cosnet.mass = 0.5, p.cosnet.cutoff = 1.5, p.cosnet.sigma_a = 1.0, p.cosnet.momenta = BF_MOMENTA_LATTICE;
  p.net.d = 2, p.lattice.sites = 12, p.lattice.spacing = 1.0, p.data.points = BF_DATA_LATTICE;
  p.data.noise = 0.2, p.ens.members = 8, p.fisher.solver = BF_SOLVER_AUTO;
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  double ptheory = job->resolved[7][1], want = 0, unit = 2 * M_PI / 12;
  for (int a = -6; a <= 6; a++)
    for (int b = -6; b <= 6; b++) {
      double q = unit * sqrt(a * a + b * b);
      if (q < p.cosnet.cutoff && q <= ptheory) want = fmax(want, q);
    }
  FIGURE("full lattice (n = %.0f): p(Lambda) = %.4f, largest lattice |q| below it = %.6f, "
         "ensemble = %.6f (tol 1e-12); at n = %.0f: theory %.4f, ensemble %.4f",
         job->resolved[7][0], ptheory, want, job->resolved[7][2], job->resolved[3][0],
         job->resolved[3][1], job->resolved[3][2]);
  ASSERT_LE(fabs(job->resolved[7][2] - want), 1e-12);
  bf_ctx_destroy(&job);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_cosnet_resolved_momentum),
  cmocka_unit_test(test_gd_mean_approaches_ntk),
  cmocka_unit_test(test_posterior_approaches_gp),
  cmocka_unit_test(test_cosnet_posterior_approaches_gp),
};
BF_TEST_MAIN(group)
