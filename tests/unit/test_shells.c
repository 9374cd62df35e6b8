/* test_shells.c — the incremental eigen-basis flow (bf_shells_advance: the
 * shells a larger cutoff adds, on coefficients computed once) against the
 * from-scratch projection bf_coarse_eigen (the reference kernel), to 1e-12
 * relative, for both prescriptions, along an ascending cutoff grid. */
#include "testutil.h"

#include "brgflow/flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P = 40, T0 = 7, PT = P - T0, K = 12 };

/* Orthonormal rows V (K x PT) by Gram-Schmidt on a fixed pseudo-random set. */
static void gram_schmidt(double *V)
{
  for (int j = 0; j < K; j++) {
    double *v = V + j * PT;
    for (int a = 0; a < PT; a++) v[a] = sin(1.3 * (j + 1) * (a + 1) + 0.2 * j);
    for (int i = 0; i < j; i++) {
      double c = 0;
      for (int a = 0; a < PT; a++) c += v[a] * V[i * PT + a];
      for (int a = 0; a < PT; a++) v[a] -= c * V[i * PT + a];
    }
    double n = 0;
    for (int a = 0; a < PT; a++) n += v[a] * v[a];
    for (int a = 0; a < PT; a++) v[a] /= sqrt(n);
  }
}

/* The same vectors by parameter row (PT x K): the flow's layout. */
static void orthonormal(double *V)
{
  double W[K * PT];
  gram_schmidt(W);
  for (int j = 0; j < K; j++)
    for (int a = 0; a < PT; a++) V[a * K + j] = W[j * PT + a];
}

static void test_incremental_equals_from_scratch(void **state)
{
  (void)state;
  bf_model mod = {.P = P, .t0 = T0, .Pt = PT};
  double V[K * PT], lambda[K], ts[P], draw[PT], coef[K], theta[P], ref[P];
  orthonormal(V);
  /* descending, with two below the null floor 1e-12 lambda_max */
  for (int j = 0; j < K; j++) lambda[j] = j < K - 2 ? pow(10.0, 2 - 0.7 * j) : 1e-16 * j;
  for (int a = 0; a < P; a++) ts[a] = cos(0.9 * a);
  for (int a = 0; a < PT; a++) draw[a] = sin(2.1 * a + 0.5);
  assert_int_equal(bf_shells_resolved(K, lambda), K - 2);
  double worst = 0;
  for (int prune = 0; prune < 2; prune++) {
    const double *d = prune ? NULL : draw;
    bf_shells_coefficients(&mod, ts, K, V, d, coef);
    memcpy(theta, ts, sizeof ts);
    int64_t lo = bf_shells_resolved(K, lambda);
    for (int step = 0; step < 9; step++) {
      double Lambda = pow(10.0, -6 + step);
      int64_t n = bf_shells_advance(PT, K, K - 2, lambda, V, coef, Lambda, &lo, theta + T0);
      int64_t nref = bf_coarse_eigen(&mod, ts, K, lambda, V, Lambda, prune, draw, ref);
      assert_int_equal(n, nref);
      double dev = 0, scale = 0;
      for (int a = 0; a < P; a++) scale = fmax(scale, fabs(ref[a]));
      for (int a = 0; a < P; a++) dev = fmax(dev, fabs(theta[a] - ref[a]) / scale);
      for (int a = 0; a < T0; a++) assert_true(theta[a] == ts[a]); /* untrained block */
      FIGURE("%s, Lambda = 1e%+d: %lld sloppy; max |incremental - scratch| / max = %.1e "
             "(tol 1e-12)", prune ? "prune" : "resample", -6 + step, (long long)n, dev);
      worst = fmax(worst, dev);
    }
  }
  ASSERT_LE(worst, 1e-12);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_incremental_equals_from_scratch),
};
BF_TEST_MAIN(group)
