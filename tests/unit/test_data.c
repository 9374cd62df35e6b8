/* test_data.c — [data] points = gaussian and target = expression, and the
 * input checks of the data and Fisher-point keys.
 *
 * 1. Gaussian inputs: the sample mean and covariance of train and test
 *    points against the input's within 4 standard errors; a negative
 *    control (the wrong covariance) is far outside; train and test differ.
 * 2. Expression targets against the same formula in C at every point.
 * 3. Every bad formula, covariance and misplaced key is refused with one
 *    message naming file:line and the key.
 * 4. GP targets (block-cyclic kernel, PDPOTRF, PDTRMV) against the serial
 *    reference draw: the replicated kernel, LAPACK and plain loops. */
#include "testutil.h"

#include "brgflow/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char err[4096];

/* [data] keys are refused in a prior run (no stage would use them): texts
 * without a [train] section are parsed as gradient-descent runs.  The
 * section goes at the end, so the texts' line numbers hold. */
static int parse(const char *text, bf_params *p)
{
  static char full[4096];
  snprintf(full, sizeof full, "%s%s", text, strstr(text, "[train]") ? "" : "\n[train]\nmethod = gd\n");
  err[0] = '\0';
  return bf_input_parse("t.ini", full, NULL, 0, BF_OUTPUT_IGNORE, p, err, sizeof err);
}

/* The text must be refused with a message containing every needle. */
static void expect_error(const char *text, const char *n1, const char *n2, const char *n3)
{
  bf_params p;
  assert_int_equal(parse(text, &p), -1);
  FIGURE("refused: %s", err);
  assert_non_null(strstr(err, n1));
  if (n2) assert_non_null(strstr(err, n2));
  if (n3) assert_non_null(strstr(err, n3));
  bf_params_free(&p);
}

#define GAUSS_INI                                                              \
  "[network]\narch = mlp\nd = 2\n[data]\npoints = gaussian\n"                  \
  "mean = 1, -0.5\ncovariance = 1, 0.6, 0.6, 2\nn_train = 20000\n"             \
  "n_test = 20000\n"

/* Largest |z| of the 2 means and 3 covariance entries of x (n x 2) against
 * mu and S.  Standard errors from the input's S (Gaussian moments):
 * se(mean_i) = sqrt(S_ii/n); se(C_ij) = sqrt((S_ii S_jj + S_ij^2)/n), the
 * standard deviation of (x_i - mu_i)(x_j - mu_j) over sqrt n (Isserlis). */
static double worst_z(const double *x, int64_t n, const double mu[2], const double S[4])
{
  double m[2] = {0, 0}, C[4] = {0, 0, 0, 0}, z = 0;
  for (int64_t k = 0; k < n; k++)
    for (int i = 0; i < 2; i++) m[i] += x[2 * k + i] / n;
  for (int64_t k = 0; k < n; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) C[2 * i + j] += (x[2 * k + i] - mu[i]) * (x[2 * k + j] - mu[j]) / n;
  for (int i = 0; i < 2; i++) z = fmax(z, fabs(m[i] - mu[i]) / sqrt(S[3 * i] / n));
  for (int i = 0; i < 2; i++)
    for (int j = i; j < 2; j++)
      z = fmax(z, fabs(C[2 * i + j] - S[2 * i + j]) /
                      sqrt((S[3 * i] * S[3 * j] + S[2 * i + j] * S[2 * i + j]) / n));
  return z;
}

static void test_gaussian_moments(void **state)
{
  (void)state;
  bf_params p;
  assert_int_equal(parse(GAUSS_INI, &p), 0);
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  const double mu[2] = {1, -0.5}, S[4] = {1, 0.6, 0.6, 2}, wrong[4] = {1, 0, 0, 2};
  double zt = worst_z(ds->x, ds->n, mu, S), zs = worst_z(ds->xt, ds->ntest, mu, S);
  double zc = worst_z(ds->x, ds->n, mu, wrong);
  FIGURE("n = 20000 gaussian points, N((1,-0.5), [[1,0.6],[0.6,2]]): max |z| of means and "
         "covariances: train %.2f, test %.2f (tol 4: 5 statistics, |z| > 4 has chance "
         "< 3e-4); negative control against covariance 0 off-diagonal: %.1f (must be > 4)",
         zt, zs, zc);
  ASSERT_LE(zt, 4);
  ASSERT_LE(zs, 4);
  ASSERT_LE(4, zc);
  assert_true(memcmp(ds->x, ds->xt, sizeof(double) * 2 * 100) != 0); /* own streams */
  bf_dataset_destroy(&ds);
  bf_params_free(&p);
}

/* One number is an isotropic covariance and one mean number every component. */
static void test_gaussian_isotropic(void **state)
{
  (void)state;
  bf_params p;
  assert_int_equal(parse("[network]\narch = mlp\nd = 2\n[data]\npoints = gaussian\n"
                         "mean = 1\ncovariance = 4\nn_train = 20000\n", &p), 0);
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  const double mu[2] = {1, 1}, S[4] = {4, 0, 0, 4};
  double z = worst_z(ds->x, ds->n, mu, S);
  FIGURE("mean = 1, covariance = 4 in d = 2: max |z| against N((1,1), 4 I) = %.2f (tol 4)", z);
  ASSERT_LE(z, 4);
  bf_dataset_destroy(&ds);
  bf_params_free(&p);
}

static double paper(const double *x) { return (1 - x[0]) * (1 - x[0]) - 0.5 * (x[1] - x[0] * x[0]); }

static void test_expression_targets(void **state)
{
  (void)state;
  bf_params p;
  assert_int_equal(parse("[network]\narch = mlp\nd = 2\n[data]\npoints = gaussian\n"
                         "mean = 1, 1\ntarget = expression\n"
                         "expression = (1 - x1)^2 - 0.5*(x2 - x1^2)\nnoise = 0\n"
                         "n_train = 500\nn_test = 200\n", &p), 0);
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  double worst = 0;
  for (int64_t k = 0; k < ds->n; k++)
    worst = fmax(worst, fabs(ds->y[k] - paper(ds->x + 2 * k)) / fmax(1, fabs(paper(ds->x + 2 * k))));
  for (int64_t k = 0; k < ds->ntest; k++)
    worst = fmax(worst, fabs(ds->yt[k] - paper(ds->xt + 2 * k)) / fmax(1, fabs(paper(ds->xt + 2 * k))));
  FIGURE("(1 - x1)^2 - 0.5*(x2 - x1^2) by muparser vs C at 500 train + 200 test points, "
         "noise = 0: max |diff|/max(1,|f|) = %.1e (tol 1e-14: a few roundings)", worst);
  ASSERT_LE(worst, 1e-14);
  bf_dataset_destroy(&ds);
  bf_params_free(&p);
  /* with noise, training targets move and test targets stay exact */
  assert_int_equal(parse("[network]\narch = mlp\nd = 2\n[data]\npoints = gaussian\n"
                         "target = expression\nexpression = x1*x2\nnoise = 0.5\n", &p), 0);
  ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  double moved = 0, test = 0;
  for (int64_t k = 0; k < ds->n; k++) moved = fmax(moved, fabs(ds->y[k] - ds->x[2 * k] * ds->x[2 * k + 1]));
  for (int64_t k = 0; k < ds->ntest; k++) test = fmax(test, fabs(ds->yt[k] - ds->xt[2 * k] * ds->xt[2 * k + 1]));
  FIGURE("x1*x2 with noise 0.5: max training displacement %.3g (must be > 0.1), max test "
         "error %.1e (tol 0: noise-free)", moved, test);
  ASSERT_LE(0.1, moved);
  assert_true(test == 0);
  bf_dataset_destroy(&ds);
  bf_params_free(&p);
}

/* The serial reference of a target = gp draw, the replicated path before
 * issue 12: K (n x n) whole, LAPACK's Cholesky L, then y = L z in plain
 * loops, z the normals of the data stream's purpose 23 (DATA_GP in
 * src/train/data.c). */
static void gp_reference(const bf_params *p, const bf_dataset *ds, double *y)
{
  int64_t n = ds->n + ds->ntest, d = p->net.d;
  double *pts = malloc(sizeof(double) * n * d), *K = malloc(sizeof(double) * n * n);
  double *z = malloc(sizeof(double) * n);
  memcpy(pts, ds->x, sizeof(double) * ds->n * d);
  memcpy(pts + ds->n * d, ds->xt, sizeof(double) * ds->ntest * d);
  bf_model *mod = bf_model_create(p);
  assert_int_equal(bf_model_kernel(MPI_COMM_SELF, mod, BF_KERNEL_PRIOR, pts, n, pts, n, K), 1);
  for (int64_t k = 0; k < n; k++) K[k * n + k] += 1e-10 * (1 + K[k * n + k]);
  int nn = (int)n, info;
  dpotrf_("L", &nn, K, &nn, &info); /* column-major L = row-major upper */
  assert_int_equal(info, 0);
  bf_rng s = bf_rng_stream(p->run.seed, BF_DATA_MEMBER, 23);
  bf_rng_normals(&s, 0, n, z);
  for (int64_t i = 0; i < n; i++) {
    y[i] = 0;
    for (int64_t j = 0; j <= i; j++) y[i] += K[j * n + i] * z[j];
  }
  bf_model_destroy(&mod);
  free(pts), free(K), free(z);
}

/* Small point sets have a well-conditioned kernel: the draw agrees with the
 * reference to a few roundings.  At 187 points in a 2-d box K's condition
 * number nears the jitter's 1e10 and the draw moves by ~1e-9 with any
 * change of rounding: LAPACK's own dpotrf on U instead of L (one block)
 * differs from the reference that much, so the bound there is 1e-8. */
static void test_gp_targets(void **state)
{
  (void)state;
  const struct { const char *act; int n, nt, block; double tol; } c[3] = {
    {"erf", 12, 4, 2, 1e-12}, {"tanh", 12, 4, 3, 1e-12}, {"erf", 150, 37, 8, 1e-8}};
  for (int k = 0; k < 3; k++) {
    bf_params p;
    char ini[512];
    snprintf(ini, sizeof ini, "[network]\narch = mlp\nd = 2\ndepth = 2\nwidth = 16\n"
             "activation = %s\n[data]\ntarget = gp\nnoise = 0\nn_train = %d\n"
             "n_test = %d\n[fisher]\nsolver = primal\nsigma = 1\nblock = %d\n", c[k].act,
             c[k].n, c[k].nt, c[k].block);
    if (parse(ini, &p) != 0) fail_msg("%s", err);
    bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
    int64_t n = ds->n + ds->ntest;
    double *ref = malloc(sizeof(double) * n), worst = 0, scale = 0;
    gp_reference(&p, ds, ref);
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++)
      worst = fmax(worst, fabs((i < ds->n ? ds->y[i] : ds->yt[i - ds->n]) - ref[i]) / scale);
    FIGURE("target = gp, %s, n = %d + %d points, blocks of %d: PDPOTRF/PDTRMV draw vs the "
           "serial reference (dpotrf, y = L z): max |diff|/max|y| = %.1e (tol %.0e; "
           "max|y| = %.3g)", c[k].act, c[k].n, c[k].nt, c[k].block, worst, c[k].tol, scale);
    ASSERT_LE(worst, c[k].tol);
    ASSERT_LE(0.1, scale); /* a draw, not zeros */
    free(ref);
    bf_dataset_destroy(&ds);
    bf_params_free(&p);
  }
}

#define EXPR_INI "[network]\narch = mlp\nd = 2\n[data]\ntarget = expression\n"

static void test_bad_expressions(void **state)
{
  (void)state;
  expect_error(EXPR_INI "expression = (1 - x1\n", "t.ini:6: [data] expression",
               "muparser", "parenthesis");
  expect_error(EXPR_INI "expression = x1 + x3\n", "t.ini:6: [data] expression",
               "Unexpected token \"x3\"", "x1 ... x2");
  expect_error(EXPR_INI "expression = x1 +\n", "t.ini:6: [data] expression", "muparser",
               NULL);
  expect_error(EXPR_INI "expression =\n", "t.ini:6: [data] expression", "empty", NULL);
  expect_error(EXPR_INI, "[data] expression", "needs [data] expression = FORMULA", NULL);
  expect_error("[data]\nexpression = x1\n", "t.ini:2: [data] expression",
               "only with [data] target = expression", NULL);
}

static void test_bad_gaussian_keys(void **state)
{
  (void)state;
  const char *g = "[network]\nd = 2\n[data]\npoints = gaussian\n";
  char t[512];
  snprintf(t, sizeof t, "%scovariance = 1, 0.5, 0.4, 1\n", g);
  expect_error(t, "t.ini:5: [data] covariance", "not symmetric", NULL);
  snprintf(t, sizeof t, "%scovariance = 1, 2, 2, 1\n", g);
  expect_error(t, "t.ini:5: [data] covariance", "not positive definite", NULL);
  snprintf(t, sizeof t, "%scovariance = -1\n", g);
  expect_error(t, "t.ini:5: [data] covariance", "not positive definite", NULL);
  snprintf(t, sizeof t, "%scovariance = 1, 0, 1\n", g);
  expect_error(t, "t.ini:5: [data] covariance", "d x d = 4 numbers", NULL);
  snprintf(t, sizeof t, "%smean = 1, 2, 3\n", g);
  expect_error(t, "t.ini:5: [data] mean", "d = 2", NULL);
  snprintf(t, sizeof t, "%sdomain = 2\n", g);
  expect_error(t, "t.ini:5: [data] domain", "points = gaussian", NULL);
  expect_error("[data]\nmean = 1\n", "t.ini:2: [data] mean", "points = gaussian", NULL);
  expect_error("[data]\ncovariance = 2\n", "t.ini:2: [data] covariance", "points = gaussian",
               NULL);
}

static void test_bad_fisher_point_keys(void **state)
{
  (void)state;
  expect_error("[fisher]\nsolver = auto\nn_points = 5\n", "t.ini:3: [fisher] n_points",
               "points = separate", NULL);
  expect_error("[fisher]\nnormalization = mean\n", "t.ini:2: [fisher] normalization",
               "set [fisher] solver", NULL);
  expect_error("[data]\npoints = grid\nn_train = 16\n[fisher]\nsolver = auto\n"
               "points = separate\n", "t.ini:6: [fisher] points", "random or gaussian", NULL);
  expect_error("[train]\nmethod = posterior\n[fisher]\nsolver = auto\nnormalization = mean\n"
               "[brg]\nflow = yes\n", "t.ini:5: [fisher] normalization",
               "infinite-width flow curves", NULL);
  bf_params p; /* noise = 0 is allowed, with a Fisher sigma */
  assert_int_equal(parse("[data]\nnoise = 0\n[train]\nmethod = gd\n[fisher]\nsolver = auto\n"
                         "sigma = 1\npoints = separate\nn_points = 7\nnormalization = mean\n",
                         &p), 0);
  assert_int_equal(p.fisher.n_points, 7);
  assert_int_equal(p.fisher.normalization, BF_FISHER_MEAN);
  bf_params_free(&p);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_gaussian_moments),
  cmocka_unit_test(test_gaussian_isotropic),
  cmocka_unit_test(test_expression_targets),
  cmocka_unit_test(test_gp_targets),
  cmocka_unit_test(test_bad_expressions),
  cmocka_unit_test(test_bad_gaussian_keys),
  cmocka_unit_test(test_bad_fisher_point_keys),
};
BF_TEST_MAIN(group)
