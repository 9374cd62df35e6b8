/* test_free_field.c — the cos-net ensemble is the free scalar with a UV
 * cutoff (docs/physics.md 1a), checked at every lattice displacement.
 *
 * Tolerance: 4 standard errors of the ensemble mean (the estimate is a mean
 * over E = 1000 i.i.d. members, so z is close to normal; 4 sigma keeps the
 * chance of a false alarm over a few hundred displacements near 1%).  A
 * negative control shows the same check rejects a propagator with a 20%
 * wrong mass. */
#include "testutil.h"

#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <math.h>
#include <stdlib.h>

#define Z_TOL 4.0

static bf_params params(int d, int momenta, int L, double s, double R)
{
  bf_params p = {.run.seed = 2024 + d, .net.d = d, .net.width = 256, .cosnet.mass = 0.6,
                 .cosnet.cutoff = R, .cosnet.sigma_a = 1.0, .cosnet.momenta = momenta, .lattice.sites = L,
                 .lattice.spacing = s, .ens.members = 1000};
  return p;
}

/* Run the job; its max z-score must be below Z_TOL, and against a
 * wrong-mass reference it must be far above it. */
static void check_free_field(bf_params p, const char *label)
{
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "reference", 0);
  int64_t n = job->lat.nsites;
  double *wrong = malloc(n * sizeof(double));
  if (p.cosnet.momenta == BF_MOMENTA_LATTICE)
    bf_ref_lattice(MPI_COMM_WORLD, &job->lat, 1.2 * p.cosnet.mass, p.cosnet.cutoff, wrong);
  else
    bf_ref_continuum_grid(MPI_COMM_WORLD, &job->lat, 1.2 * p.cosnet.mass, p.cosnet.cutoff, wrong);
  double zwrong = bf_zscore_max(n, job->lat_g2, job->lat_g2_err, wrong, NULL);
  FIGURE("%s d=%d: max z over %lld displacements = %.2f (tol %.0f); "
         "G2(0) = %.5f +- %.5f vs ref %.5f; with mass 1.2 m: max z = %.1f",
         label, p.net.d, (long long)n, job->zscore_max, Z_TOL, job->lat_g2[0], job->lat_g2_err[0],
         job->lat_g2_ref[0], zwrong);
  ASSERT_LE(job->zscore_max, Z_TOL);
  assert_true(zwrong > Z_TOL);
  free(wrong);
  bf_ctx_destroy(&job);
}

static void test_lattice_momenta(void **state)
{
  (void)state;
  check_free_field(params(1, BF_MOMENTA_LATTICE, 64, 1.0, 2.0), "lattice");
  check_free_field(params(2, BF_MOMENTA_LATTICE, 16, 1.0, 1.5), "lattice");
  check_free_field(params(3, BF_MOMENTA_LATTICE, 8, 1.0, 2.0), "lattice");
}

static void test_continuum_momenta(void **state)
{
  (void)state;
  check_free_field(params(1, BF_MOMENTA_CONTINUUM, 32, 0.5, 3.0), "continuum");
  check_free_field(params(2, BF_MOMENTA_CONTINUUM, 12, 0.5, 2.5), "continuum");
  check_free_field(params(3, BF_MOMENTA_CONTINUUM, 6, 0.5, 2.5), "continuum");
}

/* Large R: the ensemble against e^{-m r}/(2m), allowing 4 standard errors
 * plus the cutoff tail bound 1/(pi R) (docs/theory.md). */
static void test_large_cutoff_closed_form(void **state)
{
  (void)state;
  bf_params p = params(1, BF_MOMENTA_CONTINUUM, 40, 0.25, 60.0);
  p.net.width = 1024;
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "reference", 0);
  double tail = 1 / (M_PI * p.cosnet.cutoff), worst = 0;
  for (int64_t i = 0; i < job->lat.nsites; i++) {
    double r = bf_displacement(&job->lat, i);
    double dev = fabs(job->lat_g2[i] - bf_ref_closed_form(1, p.cosnet.mass, r));
    worst = fmax(worst, dev / (Z_TOL * job->lat_g2_err[i] + tail));
  }
  FIGURE("d=1 R=%.0f: max |G2 - e^{-mr}/2m| / (4 stderr + 1/(pi R)) = %.2f (tol 1); "
         "G2(0) = %.4f +- %.4f vs 1/(2m) = %.4f",
         p.cosnet.cutoff, worst, job->lat_g2[0], job->lat_g2_err[0], 0.5 / p.cosnet.mass);
  ASSERT_LE(worst, 1.0);
  bf_ctx_destroy(&job);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_lattice_momenta),
  cmocka_unit_test(test_continuum_momenta),
  cmocka_unit_test(test_large_cutoff_closed_form),
};
BF_TEST_MAIN(group)
