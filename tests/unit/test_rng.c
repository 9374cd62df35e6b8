/* test_rng.c — counter-based streams: reproducible, independent across
 * (seed, member, purpose), and distributed as claimed.  Tolerances are
 * 4 standard errors of the statistic for n draws. */
#include "testutil.h"

#include "brgflow/core.h"

#include <math.h>

enum { NDRAW = 200000 };

static void test_reproducible(void **state)
{
  (void)state;
  bf_rng s = bf_rng_stream(42, 7, BF_RNG_COSNET_A);
  double first[16];
  for (int i = 0; i < 16; i++) first[i] = bf_rng_normal(&s, i);
  /* In reverse order, from a fresh stream: a draw depends only on its key. */
  bf_rng t = bf_rng_stream(42, 7, BF_RNG_COSNET_A);
  for (int i = 15; i >= 0; i--) assert_true(bf_rng_normal(&t, i) == first[i]);
  /* the bulk fill gives the same numbers, from any starting index */
  double bulk[13];
  bf_rng_normals(&t, 3, 13, bulk);
  for (int i = 0; i < 13; i++) assert_true(bulk[i] == first[i + 3]);
}

static void test_streams_differ(void **state)
{
  (void)state;
  bf_rng base = bf_rng_stream(1, 0, BF_RNG_COSNET_A);
  bf_rng other[] = {bf_rng_stream(2, 0, BF_RNG_COSNET_A),
                    bf_rng_stream(1, 1, BF_RNG_COSNET_A),
                    bf_rng_stream(1, 0, BF_RNG_COSNET_B)};
  for (int k = 0; k < 3; k++) {
    /* Correlation of 2e5 paired uniforms: standard error 1/sqrt(n). */
    double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < NDRAW; i++) {
      double x = bf_rng_uniform(&base, i), y = bf_rng_uniform(&other[k], i);
      sx += x; sy += y; sxy += x * y; sxx += x * x; syy += y * y;
    }
    double n = NDRAW, cov = sxy / n - sx * sy / n / n;
    double corr = cov / sqrt((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n));
    double tol = 4.0 / sqrt(n);
    FIGURE("stream pair %d: correlation %.2e (tolerance %.2e = 4/sqrt(n))", k, corr, tol);
    ASSERT_LE(fabs(corr), tol);
  }
}

static void test_uniform_and_normal_moments(void **state)
{
  (void)state;
  bf_rng s = bf_rng_stream(3, 5, BF_RNG_COSNET_C);
  double su = 0, sn = 0, sn2 = 0, sn4 = 0, umin = 1, umax = 0;
  for (int i = 0; i < NDRAW; i++) {
    double u = bf_rng_uniform(&s, i), z = bf_rng_normal(&s, i + NDRAW);
    su += u; sn += z; sn2 += z * z; sn4 += z * z * z * z;
    umin = fmin(umin, u); umax = fmax(umax, u);
  }
  double n = NDRAW;
  assert_true(umin > 0 && umax < 1); /* open interval */
  /* mean 1/2 (sd 1/sqrt(12 n)); normal mean 0 (sd 1/sqrt n), variance 1
   * (sd sqrt(2/n)), fourth moment 3 (sd sqrt(96/n)) */
  double zu = (su / n - 0.5) * sqrt(12 * n), zm = sn / n * sqrt(n);
  double zv = (sn2 / n - 1) / sqrt(2 / n), z4 = (sn4 / n - 3) / sqrt(96 / n);
  FIGURE("z-scores: uniform mean %.2f, normal mean %.2f, var %.2f, 4th moment %.2f (tolerance 4)",
         zu, zm, zv, z4);
  ASSERT_LE(fabs(zu), 4);
  ASSERT_LE(fabs(zm), 4);
  ASSERT_LE(fabs(zv), 4);
  ASSERT_LE(fabs(z4), 4);
}

static void test_block_range_covers(void **state)
{
  (void)state;
  for (int nr = 1; nr <= 7; nr++) {
    int64_t next = 0;
    for (int r = 0; r < nr; r++) {
      int64_t first, count;
      bf_block_range(23, nr, r, &first, &count);
      assert_int_equal(first, next);
      next += count;
    }
    assert_int_equal(next, 23);
  }
}

/* What rank-count independence needs: the double that comes out of a
 * double-double sum is the same whatever the order and grouping of terms.
 * 1e5 O(1) terms of both signs, summed forward, backward, and as 3 partial
 * sums combined (what 3 ranks do). */
static void test_dd_sum_is_order_free(void **state)
{
  (void)state;
  enum { N = 100000 };
  bf_rng s = bf_rng_stream(9, 0, BF_RNG_COSNET_A);
  double fh = 0, fl = 0, rh = 0, rl = 0, ph[3] = {0}, pl[3] = {0}, plain = 0;
  for (int i = 0; i < N; i++) {
    double x = bf_rng_normal(&s, i) * (i % 7 ? 1.0 : 1e6);
    bf_dd_add(&fh, &fl, x);
    bf_dd_add(&ph[i * 3 / N], &pl[i * 3 / N], x);
    plain += x;
  }
  for (int i = N - 1; i >= 0; i--)
    bf_dd_add(&rh, &rl, bf_rng_normal(&s, i) * (i % 7 ? 1.0 : 1e6));
  double gh = 0, gl = 0;
  for (int k = 2; k >= 0; k--) {
    bf_dd_add(&gh, &gl, ph[k]);
    bf_dd_add(&gh, &gl, pl[k]);
  }
  FIGURE("forward %.17g, reverse %.17g, 3 parts %.17g, plain double %.17g",
         fh + fl, rh + rl, gh + gl, plain);
  assert_true(fh + fl == rh + rl);
  assert_true(fh + fl == gh + gl);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_reproducible),
  cmocka_unit_test(test_streams_differ),
  cmocka_unit_test(test_uniform_and_normal_moments),
  cmocka_unit_test(test_block_range_covers),
  cmocka_unit_test(test_dd_sum_is_order_free),
};
BF_TEST_MAIN(group)
