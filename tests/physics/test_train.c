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
  bf_params p = {.seed = 12, .arch = arch, .d = 1, .width = width, .depth = 1,
                 .activation = 1, .sigma_w = 1.5, .sigma_b = 0.2, .members = 256,
                 .target = BF_TARGET_SIN, .n_train = 12, .n_test = 8, .noise = 0.1,
                 .domain = 1.0, .data_points = BF_DATA_RANDOM, .method = method,
                 .lr = 0.5, .steps = 200, .quadrature = BF_QUAD_AUTO, .order = 96,
                 .groups = 1, .block = 8};
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
         what, a->dev_mean, narrow.width, b->dev_mean, wide.width, worst_z(b));
  if (a->ref_var)
    FIGURE("%s: max |var - ref| = %.4f at N = %d, %.4f at N = %d", what, a->dev_var,
           narrow.width, b->dev_var, wide.width);
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
  n.trainable = w.trainable = BF_TRAIN_READOUT;
  check_shrinks(n, w, "posterior, MLP readout, vs GP");
}

static void test_cosnet_posterior_approaches_gp(void **state)
{
  (void)state;
  bf_params n = base(BF_ARCH_COSNET, BF_TRAIN_POSTERIOR, 4);
  n.mass = 0.5, n.cutoff = 2.0, n.sigma_a = 1.0, n.momenta = BF_MOMENTA_LATTICE;
  n.sites = 12, n.spacing = 1.0, n.data_points = BF_DATA_LATTICE;
  bf_params w = n;
  w.width = 1024;
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
  p.mass = 0.5, p.cutoff = 1.5, p.sigma_a = 1.0, p.momenta = BF_MOMENTA_LATTICE;
  p.d = 2, p.sites = 12, p.spacing = 1.0, p.data_points = BF_DATA_LATTICE;
  p.noise = 0.2, p.members = 8, p.solver = BF_SOLVER_AUTO;
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  double ptheory = job->resolved[7][1], want = 0, unit = 2 * M_PI / 12;
  for (int a = -6; a <= 6; a++)
    for (int b = -6; b <= 6; b++) {
      double q = unit * sqrt(a * a + b * b);
      if (q < p.cutoff && q <= ptheory) want = fmax(want, q);
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
