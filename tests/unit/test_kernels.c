/* test_kernels.c — infinite-width kernels: the quadrature path against the
 * closed forms (relu, erf, cos, linear) at every depth 1..4 to 1e-10
 * relative, and the activation table itself (names, derivatives). */
#include "testutil.h"

#include "brgflow/input.h"
#include "brgflow/nnft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bf_params mlp_params(int act, int depth)
{
  bf_params p = {.d = 2, .width = 16, .depth = depth, .activation = act,
                 .sigma_w = 1.3, .sigma_b = 0.2, .npoints = 5, .order = 96};
  static double x[5 * 2] = {1, 0, -0.5, 0.7, 0.2, 0.1, 2, -1.5, 0, 0};
  p.x = x;
  return p;
}

static void test_quadrature_matches_closed_forms(void **state)
{
  (void)state;
  const char *names[] = {"relu", "erf", "cos", "linear"};
  const int acts[] = {0, 2, 5, 6};
  for (int a = 0; a < 4; a++) {
    for (int depth = 1; depth <= 4; depth++) {
      bf_params p = mlp_params(acts[a], depth);
      bf_mlp *net = bf_mlp_create(&p);
      assert_string_equal(net->layer[1].act->name, names[a]);
      double K[25], T[25], Kq[25], Tq[25], worst = 0;
      bf_kernels(MPI_COMM_WORLD, net, 5, p.x, BF_QUAD_AUTO, 96, K, T);
      bf_kernels(MPI_COMM_WORLD, net, 5, p.x, BF_QUAD_HERMITE, 96, Kq, Tq);
      for (int k = 0; k < 25; k++) {
        worst = fmax(worst, fabs(Kq[k] - K[k]) / fabs(K[k]));
        worst = fmax(worst, fabs(Tq[k] - T[k]) / fabs(T[k]));
      }
      FIGURE("%-6s depth %d: max relative |quadrature - closed| over K and Theta = %.1e (tol 1e-10)",
             names[a], depth, worst);
      ASSERT_LE(worst, 1e-10);
      bf_mlp_destroy(&net);
    }
  }
}

/* The kernel at x = x' of a depth-1 linear net is sw^2 (sw^2 x.x/d + sb^2) + sb^2. */
static void test_linear_kernel_by_hand(void **state)
{
  (void)state;
  bf_params p = mlp_params(6, 1);
  bf_mlp *net = bf_mlp_create(&p);
  double K[25], T[25], sw2 = p.sigma_w * p.sigma_w, sb2 = p.sigma_b * p.sigma_b;
  bf_kernels(MPI_COMM_WORLD, net, 5, p.x, BF_QUAD_AUTO, 96, K, T);
  double k1 = sw2 * (4 + 2.25) / 2 + sb2, want = sw2 * k1 + sb2;
  FIGURE("linear K(x3,x3) = %.15g, by hand %.15g; NTK %.15g, by hand %.15g", K[18], want,
         T[18], want + sw2 * k1);
  ASSERT_LE(fabs(K[18] - want), 1e-14);
  ASSERT_LE(fabs(T[18] - (want + sw2 * k1)), 1e-14); /* Theta = K2 + sw^2 * 1 * K1 */
  bf_mlp_destroy(&net);
}

static void test_activation_table(void **state)
{
  (void)state;
  char choices[] = BF_ACTIVATION_CHOICES;
  int k = 0;
  for (char *s, *tok = strtok_r(choices, "|", &s); tok; tok = strtok_r(NULL, "|", &s), k++)
    assert_string_equal(bf_activation_get(k)->name, tok);
  assert_int_equal(k, bf_activation_count());
  /* phi' against a central difference, away from relu's kink */
  for (int a = 0; a < k; a++) {
    const bf_activation *act = bf_activation_get(a);
    double worst = 0, h = 1e-5;
    for (double x = -2.95; x < 3; x += 0.5) {
      double fd = (act->phi(x + h) - act->phi(x - h)) / (2 * h);
      worst = fmax(worst, fabs(fd - act->dphi(x)));
    }
    FIGURE("%-8s max |phi' - central difference| = %.1e (tol 1e-8)", act->name, worst);
    ASSERT_LE(worst, 1e-8);
  }
}

/* Large pre-activation variances (k up to ~20 at the first layer): the
 * order scales with the variance, so erf still meets its closed form to
 * 1e-10, and tanh (no closed form) agrees with a 2048-order rule. */
static void test_quadrature_at_large_variance(void **state)
{
  (void)state;
  for (int depth = 1; depth <= 2; depth++) {
    for (int a = 1; a <= 2; a++) { /* tanh, erf */
      bf_params p = mlp_params(a, depth);
      p.sigma_w = 2.5;
      bf_mlp *net = bf_mlp_create(&p);
      double K[25], T[25], Kr[25], Tr[25], worst = 0, kmax = 0;
      bf_kernels(MPI_COMM_WORLD, net, 5, p.x, BF_QUAD_HERMITE, 96, K, T);
      bf_kernels(MPI_COMM_WORLD, net, 5, p.x,
                 a == 2 ? BF_QUAD_AUTO : BF_QUAD_HERMITE, 2048, Kr, Tr);
      for (int k = 0; k < 25; k++) {
        worst = fmax(worst, fabs(K[k] - Kr[k]) / fabs(Kr[k]));
        worst = fmax(worst, fabs(T[k] - Tr[k]) / fabs(Tr[k]));
      }
      for (int i = 0; i < 5; i++) {
        double x2 = p.x[2 * i] * p.x[2 * i] + p.x[2 * i + 1] * p.x[2 * i + 1];
        kmax = fmax(kmax, p.sigma_w * p.sigma_w * x2 / 2 + p.sigma_b * p.sigma_b);
      }
      FIGURE("%s depth %d, first-layer variance up to %.1f: max relative error vs %s = %.1e "
             "(tol 1e-10)", net->layer[1].act->name, depth, kmax,
             a == 2 ? "closed form" : "order 2048", worst);
      ASSERT_LE(worst, 1e-10);
      bf_mlp_destroy(&net);
    }
  }
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_quadrature_at_large_variance),
  cmocka_unit_test(test_quadrature_matches_closed_forms),
  cmocka_unit_test(test_linear_kernel_by_hand),
  cmocka_unit_test(test_activation_table),
};
BF_TEST_MAIN(group)
