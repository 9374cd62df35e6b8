/* test_cosnet.c — the cos-net's normalization A and parameter layout.
 *
 * A is checked through what it is for: E[f(x)^2] = sigma_a^2 A^2/2 *
 * E_b[1/(b^2+m^2)] must equal the propagator at r = 0.  The momentum average
 * is computed independently (radial GSL quadrature over the ball, or a direct
 * sum over the lattice set), the propagator from its closed form at r = 0
 * (docs/theory.md). */
#include "testutil.h"

#include "brgflow/nn.h"
#include "brgflow/nnft.h"

#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdlib.h>

static bf_params base_params(int d, int momenta, double R)
{
  bf_params p = {.run.seed = 11, .net.d = d, .net.width = 64, .cosnet.mass = 0.7, .cosnet.cutoff = R,
                 .cosnet.sigma_a = 1.3, .cosnet.momenta = momenta, .lattice.sites = 12,
                 .lattice.spacing = 0.8, .ens.members = 4};
  return p;
}

typedef struct { int d; double m; } ball_arg;
static double ball_integrand(double p, void *v)
{
  const ball_arg *a = v;
  return pow(p, a->d - 1) / (p * p + a->m * a->m);
}

static void test_amplitude_continuum(void **state)
{
  (void)state;
  const double surface[4] = {0, 2, 2 * M_PI, 4 * M_PI}; /* of the unit sphere */
  for (int d = 1; d <= 3; d++) {
    bf_params p = base_params(d, BF_MOMENTA_CONTINUUM, 2.5);
    bf_cosnet *net = bf_cosnet_create(&p);
    double R = p.cosnet.cutoff, m = p.cosnet.mass, vol = surface[d] * pow(R, d) / d;
    ball_arg a = {d, m};
    gsl_function f = {ball_integrand, &a};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(200);
    double integral, abserr;
    gsl_integration_qag(&f, 0, R, 0, 1e-13, 200, GSL_INTEG_GAUSS61, w, &integral, &abserr);
    gsl_integration_workspace_free(w);
    double avg = surface[d] * integral / vol; /* E_b[1/(b^2+m^2)] */
    double g0 = p.cosnet.sigma_a * p.cosnet.sigma_a * net->amp * net->amp / 2 * avg;
    double exact = d == 1 ? atan(R / m) / (M_PI * m)
                 : d == 2 ? log1p(R * R / (m * m)) / (4 * M_PI)
                          : (R - m * atan(R / m)) / (2 * M_PI * M_PI);
    double rel = fabs(g0 / exact - 1);
    FIGURE("d=%d continuum: E[f^2] = %.12g, G_R(0) = %.12g, rel. diff %.1e (tol 1e-10)",
           d, g0, exact, rel);
    ASSERT_LE(rel, 1e-10);
    bf_cosnet_destroy(&net);
  }
}

static void test_amplitude_lattice(void **state)
{
  (void)state;
  for (int d = 1; d <= 3; d++) {
    bf_params p = base_params(d, BF_MOMENTA_LATTICE, 2.5);
    bf_cosnet *net = bf_cosnet_create(&p);
    double avg = 0, m2 = p.cosnet.mass * p.cosnet.mass;
    for (int64_t k = 0; k < net->nmom; k++) {
      double q2 = 0;
      for (int j = 0; j < d; j++) q2 += net->mom[k * d + j] * net->mom[k * d + j];
      avg += 1.0 / (q2 + m2) / net->nmom;
    }
    double g0 = p.cosnet.sigma_a * p.cosnet.sigma_a * net->amp * net->amp / 2 * avg;
    int origin[3] = {0, 0, 0};
    double exact = bf_ref_lattice_direct(&net->lat, p.cosnet.mass, p.cosnet.cutoff, origin);
    double rel = fabs(g0 / exact - 1);
    FIGURE("d=%d lattice (M=%lld): E[f^2] = %.12g, G_R^lat(0) = %.12g, rel. diff %.1e (tol 1e-12)",
           d, (long long)net->nmom, g0, exact, rel);
    ASSERT_LE(rel, 1e-12);
    bf_cosnet_destroy(&net);
  }
}

/* theta = a (N), b (N x d), c (N): b within the cutoff (on the lattice set
 * for lattice momenta), c in (-pi, pi). */
static void test_theta_layout(void **state)
{
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    bf_params p = base_params(3, mode, 2.5);
    bf_cosnet *net = bf_cosnet_create(&p);
    int64_t N = p.net.width, P = bf_cosnet_nparams(net);
    assert_int_equal(P, N * 5);
    double *theta = malloc(P * sizeof(double));
    bf_cosnet_sample(net, p.run.seed, 3, theta);
    double unit = 2 * M_PI / (p.lattice.sites * p.lattice.spacing);
    for (int64_t i = 0; i < N; i++) {
      const double *b = theta + N + 3 * i;
      double c = theta[N + 3 * N + i];
      assert_true(b[0] * b[0] + b[1] * b[1] + b[2] * b[2] < p.cosnet.cutoff * p.cosnet.cutoff);
      assert_true(c > -M_PI && c < M_PI);
      if (mode == BF_MOMENTA_LATTICE)
        for (int j = 0; j < 3; j++)
          ASSERT_LE(fabs(b[j] / unit - round(b[j] / unit)), 1e-12);
    }
    free(theta);
    bf_cosnet_destroy(&net);
  }
}

/* The field is what the formula says, at an arbitrary point. */
static void test_field_formula(void **state)
{
  (void)state;
  bf_params p = base_params(2, BF_MOMENTA_CONTINUUM, 2.5);
  p.net.width = 3;
  bf_cosnet *net = bf_cosnet_create(&p);
  double theta[12] = {0.5, -1.0, 2.0, 0.1, 0.2, -0.3, 0.4, 1.0, 0.0, 0.3, -2.0, 1.5};
  double x[2] = {0.7, -1.9}, phi;
  bf_cosnet_field(net, theta, 1, x, &phi);
  double want = 0;
  for (int i = 0; i < 3; i++) {
    const double *b = theta + 3 + 2 * i;
    want += theta[i] * net->amp * cos(b[0] * x[0] + b[1] * x[1] + theta[9 + i]) /
            sqrt(b[0] * b[0] + b[1] * b[1] + p.cosnet.mass * p.cosnet.mass);
  }
  ASSERT_LE(fabs(phi - want), 1e-14);
  bf_cosnet_destroy(&net);
}

/* The fast grid kernel against the plain one, on a box of every dimension. */
static void test_grid_kernel_matches_plain(void **state)
{
  (void)state;
  for (int d = 1; d <= 3; d++) {
    bf_params p = base_params(d, BF_MOMENTA_CONTINUUM, 2.5);
    bf_cosnet *net = bf_cosnet_create(&p);
    int B = 7;
    bf_lattice box = bf_lattice_make(d, B, p.lattice.spacing);
    double *theta = malloc(bf_cosnet_nparams(net) * sizeof(double));
    double *x = malloc(box.nsites * d * sizeof(double));
    double *plain = malloc(box.nsites * sizeof(double));
    double *grid = malloc(box.nsites * sizeof(double));
    bf_cosnet_sample(net, p.run.seed, 1, theta);
    for (int64_t k = 0; k < box.nsites; k++) {
      int n[3];
      bf_lattice_coords(&box, k, n);
      for (int j = 0; j < d; j++) x[k * d + j] = n[j] * p.lattice.spacing;
    }
    bf_cosnet_field(net, theta, box.nsites, x, plain);
    bf_cosnet_field_grid(net, theta, B, p.lattice.spacing, grid);
    double worst = 0, scale = 0;
    for (int64_t k = 0; k < box.nsites; k++) {
      worst = fmax(worst, fabs(grid[k] - plain[k]));
      scale = fmax(scale, fabs(plain[k]));
    }
    FIGURE("d=%d: max |grid - plain| = %.2e, max |phi| = %.3g (tol 1e-12 relative)", d,
           worst, scale);
    ASSERT_LE(worst, 1e-12 * scale);
    free(theta); free(x); free(plain); free(grid);
    bf_cosnet_destroy(&net);
  }
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_grid_kernel_matches_plain),
  cmocka_unit_test(test_amplitude_continuum),
  cmocka_unit_test(test_amplitude_lattice),
  cmocka_unit_test(test_theta_layout),
  cmocka_unit_test(test_field_formula),
};
BF_TEST_MAIN(group)
