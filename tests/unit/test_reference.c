/* test_reference.c — the propagator references against independent ones:
 * FFTW against the direct lattice sum; quadrature against closed forms at
 * r = 0 and, for large R, against the R -> infinity propagators within the
 * cutoff-tail bounds derived in docs/theory.md. */
#include "testutil.h"

#include "brgflow/nnft.h"

#include <math.h>
#include <stdlib.h>

static void test_fftw_vs_direct_sum(void **state)
{
  (void)state;
  const int sizes[4] = {0, 24, 10, 6};
  for (int d = 1; d <= 3; d++) {
    bf_lattice lat = bf_lattice_make(d, sizes[d], 0.9);
    double *g = malloc(lat.nsites * sizeof(double)), worst = 0, scale = 0;
    bf_ref_lattice(MPI_COMM_WORLD, &lat, 0.6, 2.2, g);
    for (int64_t i = 0; i < lat.nsites; i++) {
      int n[3];
      bf_lattice_coords(&lat, i, n);
      double direct = bf_ref_lattice_direct(&lat, 0.6, 2.2, n);
      worst = fmax(worst, fabs(g[i] - direct));
      scale = fmax(scale, fabs(direct));
    }
    FIGURE("d=%d L=%d: max |FFTW - direct| = %.2e, max |G| = %.3g (tol 1e-12 relative)",
           d, lat.L, worst, scale);
    ASSERT_LE(worst, 1e-12 * scale);
    free(g);
  }
}

static void test_quadrature_at_origin(void **state)
{
  (void)state;
  double m = 0.8, R = 3.0;
  double exact[4] = {0, atan(R / m) / (M_PI * m), log1p(R * R / (m * m)) / (4 * M_PI),
                     (R - m * atan(R / m)) / (2 * M_PI * M_PI)};
  for (int d = 1; d <= 3; d++) {
    double q = bf_ref_continuum(d, m, R, 0.0), rel = fabs(q / exact[d] - 1);
    FIGURE("d=%d: G_R(0) quadrature %.14g, closed form %.14g, rel %.1e (tol 1e-10)", d,
           q, exact[d], rel);
    ASSERT_LE(rel, 1e-10);
  }
}

/* d = 1 at finite R also has a closed form check against a lattice-free
 * identity: the R -> infinity limit within the tail bound 1/(pi R). */
static void test_large_cutoff_closed_forms(void **state)
{
  (void)state;
  double m = 1.0, R = 400.0;
  const double rs[] = {0.5, 1.0, 2.0, 3.5};
  for (int d = 1; d <= 3; d++) {
    for (int k = 0; k < 4; k++) {
      double r = rs[k];
      double q = bf_ref_continuum(d, m, R, r), c = bf_ref_closed_form(d, m, r);
      /* tail bounds (docs/theory.md): d=1 1/(pi R); d=2 from the J0
       * envelope sqrt(2/(pi p r)); d=3 1/(pi^2 R r^2) */
      double tail = d == 1 ? 1 / (M_PI * R)
                  : d == 2 ? 2 * sqrt(2 / (M_PI * r)) * pow(R, -1.5) / (2 * M_PI * r) * 2
                           : 1 / (M_PI * M_PI * R * r * r);
      FIGURE("d=%d r=%.1f R=%.0f: quadrature %.10g, closed form %.10g, |diff| %.2e (bound %.2e)",
             d, r, R, q, c, fabs(q - c), tail);
      ASSERT_LE(fabs(q - c), tail);
    }
  }
}

/* A negative control: the check above has power. */
static void test_closed_form_detects_wrong_mass(void **state)
{
  (void)state;
  double q = bf_ref_continuum(3, 1.0, 400.0, 1.0), c = bf_ref_closed_form(3, 1.05, 1.0);
  FIGURE("m=1 quadrature vs m=1.05 closed form: |diff| %.2e vs bound %.2e", fabs(q - c),
         1 / (M_PI * M_PI * 400.0));
  assert_true(fabs(q - c) > 1 / (M_PI * M_PI * 400.0));
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_fftw_vs_direct_sum),
  cmocka_unit_test(test_quadrature_at_origin),
  cmocka_unit_test(test_large_cutoff_closed_forms),
  cmocka_unit_test(test_closed_form_detects_wrong_mass),
};
BF_TEST_MAIN(group)
