/* test_mlp.c — the MLP's theta layout and its BLAS-3 forward pass against
 * a plain loop over points and units written from SCIENCE.md 1b. */
#include "testutil.h"

#include "brgflow/nn.h"

#include <math.h>
#include <stdlib.h>

/* Plain reference: one point at a time, explicit sums. */
static double plain_forward(const bf_mlp *net, const double *theta, const double *x)
{
  double a[64], z[64];
  int ntk = net->parameterization == BF_PARAM_NTK;
  for (int j = 0; j < net->d; j++) a[j] = x[j];
  for (int l = 1; l <= net->depth + 1; l++) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    const double *W = theta + net->woff[l], *b = theta + net->boff[l];
    for (int i = 0; i < nout; i++) {
      double s = 0;
      for (int j = 0; j < nin; j++) s += W[i * nin + j] * a[j];
      z[i] = ntk ? net->sigma_w * s / sqrt(nin) + net->sigma_b * b[i] : s + b[i];
    }
    for (int i = 0; i < nout; i++) a[i] = l == net->depth + 1 ? z[i] : net->act->phi(z[i]);
  }
  return a[0];
}

static void test_forward_matches_plain(void **state)
{
  (void)state;
  for (int param = 0; param < 2; param++)
    for (int depth = 1; depth <= 3; depth++) {
      bf_params p = {.d = 3, .width = 7, .depth = depth, .activation = 1,
                     .parameterization = param, .sigma_w = 1.2, .sigma_b = 0.3};
      bf_mlp *net = bf_mlp_create(&p);
      int64_t P = 7 * 3 + 7 + (depth - 1) * (49 + 7) + 7 + 1;
      assert_int_equal(net->nparams, P);
      double *theta = malloc(P * sizeof(double)), x[15], f[5], worst = 0;
      bf_mlp_sample(net, 5, 2, theta);
      for (int k = 0; k < 15; k++) x[k] = sin(1.7 * k);
      bf_mlp_work *w = bf_mlp_work_create(net, 5);
      bf_mlp_forward(net, theta, 5, x, w, f);
      for (int k = 0; k < 5; k++)
        worst = fmax(worst, fabs(f[k] - plain_forward(net, theta, x + 3 * k)));
      FIGURE("%s depth %d: max |dgemm - plain| = %.1e (tol 1e-13)",
             param ? "standard" : "ntk", depth, worst);
      ASSERT_LE(worst, 1e-13);
      bf_mlp_work_destroy(&w);
      free(theta);
      bf_mlp_destroy(&net);
    }
}

/* Standard parameterization draws W^l ~ N(0, sw^2/fan_in): same stream,
 * scaled, so it is the NTK draw times sw/sqrt(fan_in). */
static void test_standard_prior_scales(void **state)
{
  (void)state;
  bf_params p = {.d = 2, .width = 4, .depth = 1, .activation = 0,
                 .parameterization = BF_PARAM_NTK, .sigma_w = 1.5, .sigma_b = 0.5};
  bf_mlp *ntk = bf_mlp_create(&p);
  p.parameterization = BF_PARAM_STANDARD;
  bf_mlp *std = bf_mlp_create(&p);
  double a[17], b[17];
  bf_mlp_sample(ntk, 1, 0, a);
  bf_mlp_sample(std, 1, 0, b);
  ASSERT_LE(fabs(b[0] - a[0] * 1.5 / sqrt(2.0)), 1e-15); /* W^1 */
  ASSERT_LE(fabs(b[8] - a[8] * 0.5), 1e-15);             /* b^1 */
  ASSERT_LE(fabs(b[12] - a[12] * 1.5 / 2.0), 1e-15);     /* W^2, fan_in 4 */
  bf_mlp_destroy(&ntk);
  bf_mlp_destroy(&std);
}

/* An independent check of J: central finite differences of f in every
 * parameter, on a small tanh net, both parameterizations.  Tolerance 1e-7
 * absolute: central differences with h = 1e-5 err by ~h^2 |f'''| ~ 1e-10,
 * plus rounding ~1e-16/h ~ 1e-11. */
static void test_jacobian_by_finite_differences(void **state)
{
  (void)state;
  for (int param = 0; param < 2; param++) {
    bf_params p = {.d = 2, .width = 5, .depth = 2, .activation = 1,
                   .parameterization = param, .sigma_w = 1.3, .sigma_b = 0.4};
    bf_mlp *net = bf_mlp_create(&p);
    int64_t P = net->nparams;
    double *theta = malloc(P * sizeof(double)), *row = malloc(P * sizeof(double));
    double x[6] = {0.3, -0.7, 1.1, 0.2, -0.4, -0.9}, f[3], fp, fm, worst = 0;
    bf_mlp_sample(net, 9, 1, theta);
    bf_mlp_tape *t = bf_mlp_tape_create(net, 3);
    bf_mlp_work *w = bf_mlp_work_create(net, 1);
    bf_mlp_record(net, theta, 3, x, t);
    for (int k = 0; k < 3; k++) {
      bf_mlp_forward(net, theta, 1, x + 2 * k, w, f + k);
      ASSERT_LE(fabs(f[k] - t->a[p.depth + 1][k]), 1e-14); /* tape agrees */
      bf_mlp_jacobian_row(net, t, k, row);
      for (int64_t a = 0; a < P; a++) {
        double h = 1e-5, keep = theta[a];
        theta[a] = keep + h;
        bf_mlp_forward(net, theta, 1, x + 2 * k, w, &fp);
        theta[a] = keep - h;
        bf_mlp_forward(net, theta, 1, x + 2 * k, w, &fm);
        theta[a] = keep;
        worst = fmax(worst, fabs(row[a] - (fp - fm) / (2 * h)));
      }
    }
    FIGURE("%s: max |J - finite difference| over %lld entries = %.1e (tol 1e-7)",
           param ? "standard" : "ntk", (long long)(3 * P), worst);
    ASSERT_LE(worst, 1e-7);
    /* the training gradient is J^T r */
    double r[3] = {0.5, -1.25, 2.0}, *g = malloc(P * sizeof(double)), gw = 0;
    bf_mlp_vjp(net, t, r, g);
    for (int64_t a = 0; a < P; a++) {
      double s = 0;
      for (int k = 0; k < 3; k++) {
        bf_mlp_jacobian_row(net, t, k, row);
        s += r[k] * row[a];
      }
      gw = fmax(gw, fabs(g[a] - s));
    }
    FIGURE("max |vjp - J^T r| = %.1e (tol 1e-13)", gw);
    ASSERT_LE(gw, 1e-13);
    free(g);
    bf_mlp_work_destroy(&w);
    bf_mlp_tape_destroy(&t);
    free(theta);
    free(row);
    bf_mlp_destroy(&net);
  }
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_jacobian_by_finite_differences),
  cmocka_unit_test(test_forward_matches_plain),
  cmocka_unit_test(test_standard_prior_scales),
};
BF_TEST_MAIN(group)
