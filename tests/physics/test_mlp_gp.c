/* test_mlp_gp.c — deep-MLP ensembles against their infinite-width limit.
 *
 * 1. G2 against the NNGP kernel for depth 1..4, relu/tanh/erf/gelu, both
 *    parameterizations: max over point pairs of |G2 - K| / stderr below 4.
 *    E = 1000 members of width 128: the O(1/N) finite-width bias of depth
 *    >= 2 is < 1% of K, a fifth of the ~4% standard error.  A negative
 *    control (kernel of sigma_w 20% off) must be rejected.
 * 2. G4c at depth 1 has an exact form (docs/theory.md h): for relu at a
 *    point x, N G4c(x,x,x,x) = (15/4) sw^4 k^2, k = sw^2 x.x/d + sb^2.  The
 *    ensemble's N G4c matches it within 4 jackknife errors at N = 4, 16, 64,
 *    is nonzero at N = 4, and G4c is consistent with 0 at N = 1024. */
#include "testutil.h"

#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <math.h>
#include <string.h>

#define Z_TOL 4.0

static bf_params mlp(int act, int depth, int param)
{
  bf_params p = {.seed = 77 + depth, .arch = BF_ARCH_MLP, .d = 2, .width = 128, .depth = depth,
                 .activation = act, .parameterization = param, .sigma_w = 1.5,
                 .sigma_b = 0.3, .members = 1000, .npoints = 5, .nquads = 1,
                 .blocks = 20, .quadrature = BF_QUAD_AUTO, .order = 96};
  static double x[5 * 2] = {1, 0.5, -0.5, 1, 0.3, -0.2, -1.2, -0.8, 0.8, 0.8};
  p.x = x;
  return p;
}

static void test_g2_matches_nngp(void **state)
{
  (void)state;
  const int acts[] = {0, 1, 2, 3}; /* relu tanh erf gelu */
  double worst = 0;
  for (int a = 0; a < 4; a++)
    for (int param = 0; param < 2; param++)
      for (int depth = 1; depth <= 4; depth++) {
        bf_params p = mlp(acts[a], depth, param);
        bf_mlp_job *job = bf_mlp_job_run(MPI_COMM_WORLD, &p, 0);
        FIGURE("%-5s %-8s depth %d: max |G2 - K_nngp|/stderr = %.2f (tol %.0f); "
               "G2(0,0) = %.4f +- %.4f, K = %.4f", bf_activation_get(acts[a])->name,
               param ? "standard" : "ntk", depth, job->zscore_max, Z_TOL, job->g2[0],
               job->g2_err[0], job->k_nngp[0]);
        ASSERT_LE(job->zscore_max, Z_TOL);
        worst = fmax(worst, job->zscore_max);
        bf_mlp_job_destroy(&job);
      }
  FIGURE("worst over 32 ensembles: %.2f", worst);
}

static void test_wrong_kernel_is_rejected(void **state)
{
  (void)state;
  bf_params p = mlp(1, 2, BF_PARAM_NTK);
  bf_mlp_job *job = bf_mlp_job_run(MPI_COMM_WORLD, &p, 0);
  p.sigma_w *= 1.2;
  bf_mlp *wrong = bf_mlp_create(&p);
  double K[25], T[25], zmax = 0;
  bf_kernels(MPI_COMM_WORLD, wrong, 5, p.x, BF_QUAD_AUTO, 96, K, T);
  for (int k = 0; k < 25; k++) zmax = fmax(zmax, fabs(job->g2[k] - K[k]) / job->g2_err[k]);
  FIGURE("tanh depth 2 against the kernel of 1.2 sigma_w: max z = %.1f (must exceed %.0f)",
         zmax, Z_TOL);
  assert_true(zmax > Z_TOL);
  bf_mlp_destroy(&wrong);
  bf_mlp_job_destroy(&job);
}

static void test_g4c_scales_as_one_over_width(void **state)
{
  (void)state;
  const int widths[] = {4, 16, 64, 1024};
  for (int w = 0; w < 4; w++) {
    bf_params p = {.seed = 5, .arch = BF_ARCH_MLP, .d = 1, .width = widths[w], .depth = 1, .activation = 0,
                   .sigma_w = 1.2, .sigma_b = 0.4, .members = 40000, .npoints = 2,
                   .nquads = 2, .blocks = 32, .order = 96};
    double xs[2] = {0.9, -0.6};
    p.x = xs;
    int quads[2][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}};
    memcpy(p.quad, quads, sizeof quads);
    bf_mlp_job *job = bf_mlp_job_run(MPI_COMM_WORLD, &p, 0);
    for (int q = 0; q < 2; q++) {
      double x = p.x[q], sw2 = p.sigma_w * p.sigma_w;
      double k = sw2 * x * x + p.sigma_b * p.sigma_b;
      double exact = 15.0 / 4.0 * sw2 * sw2 * k * k / p.width;
      double z = (job->g4c[q] - exact) / job->g4c_err[q];
      FIGURE("N = %4d, x = %+.1f: N G4c = %.4f +- %.4f, exact N G4c = %.4f, z = %.2f; "
             "G4c/err = %.1f", p.width, x, p.width * job->g4c[q],
             p.width * job->g4c_err[q], p.width * exact, z, job->g4c[q] / job->g4c_err[q]);
      ASSERT_LE(fabs(z), Z_TOL);
      if (p.width == 4) assert_true(job->g4c[q] / job->g4c_err[q] > Z_TOL);
      if (p.width == 1024) ASSERT_LE(fabs(job->g4c[q]) / job->g4c_err[q], Z_TOL);
    }
    bf_mlp_job_destroy(&job);
  }
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_g2_matches_nngp),
  cmocka_unit_test(test_wrong_kernel_is_rejected),
  cmocka_unit_test(test_g4c_scales_as_one_over_width),
};
BF_TEST_MAIN(group)
