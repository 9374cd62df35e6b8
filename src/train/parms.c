/* parms.c — the train input keys: the training set and the training.
 *
 *   bf_train_keys          the rows of [data], [train]
 *   bf_print_train_parms   their effective values
 *   bf_check_data_parms    [data] gaussian mean/covariance, expression */
#include "brgflow/train_parms.h"
#include "brgflow/input.h"
#include "brgflow/core.h"
#include "brgflow/train.h" /* bf_expr: target formulas */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(bf_params, f)
static const bf_key KEYS[] = {
  {"data", "target", BF_KEY_ENUM, OFF(data.target), "sin", "-", 0, 0, 0,
   "sin|poly|gp|file|expression",
   "training target: sin(pi u), u^3 - u (u = sum x_j/sqrt d), a draw of the "
   "MLP's own NNGP (gp), datasets /x, /y of an HDF5 file, or a formula "
   "(expression)", BF_RESULTS},
  {"data", "expression", BF_KEY_STR, OFF(data.expression), "none", "output", 0, 0, 0, NULL,
   "target = expression: f(x) as a muparser formula in x1 ... xd, e.g. "
   "(1 - x1)^2 - 0.5*(x2 - x1^2)", BF_RESULTS},
  {"data", "file", BF_KEY_STR, OFF(data.file), "none", "path", 0, 0, 0, NULL,
   "target = file: HDF5 file with /x (n x d) and /y (n): first n_train rows "
   "train, next n_test test", BF_RESULTS},
  {"data", "n_train", BF_KEY_INT, OFF(data.n_train), "32", "-", 1, 1e7, 0, NULL,
   "number of training points n (points = lattice: L^d, and the key is refused)", BF_RESULTS},
  {"data", "n_test", BF_KEY_INT, OFF(data.n_test), "16", "-", 1, 1e6, 0, NULL,
   "number of test points (uniform in the domain, noise-free targets)", BF_RESULTS},
  {"data", "noise", BF_KEY_REAL, OFF(data.noise), "0.1", "output", 0, 1e300, 0, NULL,
   "standard deviation sigma of the Gaussian noise on training targets", BF_RESULTS},
  {"data", "domain", BF_KEY_REAL, OFF(data.domain), "1.0", "length", 0, 1e300, 1, NULL,
   "points lie in [-domain, domain]^d (grid, random)", BF_RESULTS},
  {"data", "points", BF_KEY_ENUM, OFF(data.points), "random", "-", 0, 0, 0,
   "grid|random|lattice|gaussian",
   "training inputs: a grid (n_train = m^d), uniform random, the L^d "
   "lattice sites n s, or Gaussian x ~ N(mean, covariance) (test inputs too)", BF_RESULTS},
  {"data", "mean", BF_KEY_STR, OFF(data.mean), "0", "length", 0, 0, 0, NULL,
   "gaussian: mean of the inputs, d comma-separated numbers (one: every "
   "component)", BF_RESULTS},
  {"data", "covariance", BF_KEY_STR, OFF(data.covariance), "1", "length^2", 0, 0, 0, NULL,
   "gaussian: covariance of the inputs, d x d numbers row-major (symmetric "
   "positive definite), or one number c for c I", BF_RESULTS},
  {"train", "method", BF_KEY_ENUM, OFF(train.method), "none", "-", 0, 0, 0,
   "none|gd|posterior|sgd",
   "none (prior ensemble), full-batch gradient descent on the MSE, exact "
   "Gaussian posterior samples (models linear in the trained parameters), or "
   "minibatch stochastic gradient descent", BF_RESULTS},
  {"train", "on_divergence", BF_KEY_ENUM, OFF(train.on_divergence), "stop", "-", 0, 0, 0, "stop|drop",
   "gd, sgd: a member whose parameters stop being finite stops the run with an error "
   "(stop), or is dropped (drop): reset to its prior draw, trained no further, marked in "
   "/train/diverged and left out of every flow statistic", BF_RESULTS},
  {"train", "trainable", BF_KEY_ENUM, OFF(train.trainable), "all", "-", 0, 0, 0,
   "all|readout", "MLP: train every parameter, or the last layer only "
   "(the cos-net trains its readout a)", BF_RESULTS},
  {"train", "lr", BF_KEY_REAL, OFF(train.lr), "0.5", "-", 0, 1e300, 1, NULL,
   "gd, sgd: learning rate eta on the loss of [train] loss", BF_RESULTS},
  {"train", "loss", BF_KEY_ENUM, OFF(train.loss), "half_mse", "-", 0, 0, 0, "half_mse|mse",
   "gd, sgd: the loss over a batch of B points (B = n for gd): half_mse L = "
   "(1/2B) sum (f - y)^2, or mse L = (1/B) sum (f - y)^2 (PyTorch's MSELoss: "
   "twice the step at the same lr)", BF_RESULTS},
  {"train", "steps", BF_KEY_INT, OFF(train.steps), "200", "-", 0, 1e9, 0, NULL,
   "gd: number of full-batch steps t", BF_RESULTS},
  {"train", "batch", BF_KEY_INT, OFF(train.batch), "1", "-", 1, 1e7, 0, NULL,
   "sgd: training points per step B (at most n; the last batch of an epoch "
   "takes the n mod B left over)", BF_RESULTS},
  {"train", "epochs", BF_KEY_INT, OFF(train.epochs), "1", "-", 0, 1e9, 0, NULL,
   "sgd: passes over the training set", BF_RESULTS},
  {"train", "order", BF_KEY_ENUM, OFF(train.order), "fixed", "-", 0, 0, 0, "fixed|shuffled",
   "sgd: the training points in their order every epoch, or a fresh "
   "permutation per epoch and member (counter stream of seed, member, epoch)", BF_RESULTS},
  {"train", "record_every", BF_KEY_INT, OFF(train.record_every), "0", "-", 0, 1e9, 0, NULL,
   "gd, sgd: record loss (and the Fisher spectrum) every this many steps "
   "(sgd: epochs); 0: first and last only", BF_RESULTS},
};
#undef OFF

const bf_key_table bf_train_keys = {KEYS, sizeof KEYS / sizeof KEYS[0]};

void bf_print_train_parms(FILE *out, const bf_params *p)
{
  bf_print_keys(out, p, &bf_train_keys);
}

/* In-place Cholesky A = L L^T of a d x d row-major matrix (lower triangle
 * kept, upper zeroed); 0 if A is not positive definite. */
static int cholesky(int d, double *A)
{
  for (int j = 0; j < d; j++) {
    double s = A[j * d + j];
    for (int k = 0; k < j; k++) s -= A[j * d + k] * A[j * d + k];
    if (!(s > 0)) return 0;
    A[j * d + j] = sqrt(s);
    for (int i = j + 1; i < d; i++) {
      double t = A[i * d + j];
      for (int k = 0; k < j; k++) t -= A[i * d + k] * A[j * d + k];
      A[i * d + j] = t / A[j * d + j];
      A[j * d + i] = 0;
    }
  }
  return 1;
}

/* points = gaussian: mu (d) and the Cholesky factor of the covariance. */
static int derive_gaussian(bf_check *c, bf_params *p)
{
  int d = p->net.d, dd = d * d;
  char why[160];
  p->data.mu = BF_ALLOC(d, double);
  p->data.chol = BF_CALLOC(dd, double);
  int n = bf_parse_list(p->data.mean, p->data.mu, d);
  snprintf(why, sizeof why, "expected d = %d comma-separated numbers (or one for every "
           "component)", d);
  if (n != 1 && n != d) return bf_check_fail(c, "data", "mean", why);
  for (int j = 1; n == 1 && j < d; j++) p->data.mu[j] = p->data.mu[0];
  n = bf_parse_list(p->data.covariance, p->data.chol, dd);
  snprintf(why, sizeof why, "expected d x d = %d numbers row-major, or one number c "
           "(covariance c I)", dd);
  if (n != 1 && n != dd) return bf_check_fail(c, "data", "covariance", why);
  if (n == 1)
    for (int j = 1; j < d; j++) p->data.chol[j * d + j] = p->data.chol[0];
  for (int i = 0; i < d; i++)
    for (int j = 0; j < i; j++)
      if (p->data.chol[i * d + j] != p->data.chol[j * d + i]) {
        snprintf(why, sizeof why, "not symmetric: entry (%d,%d) = %g but (%d,%d) = %g",
                 i + 1, j + 1, p->data.chol[i * d + j], j + 1, i + 1, p->data.chol[j * d + i]);
        return bf_check_fail(c, "data", "covariance", why);
      }
  if (!cholesky(d, p->data.chol))
    return bf_check_fail(c, "data", "covariance", "not positive definite (Cholesky fails)");
  return 1;
}

/* target = expression: the formula must parse and evaluate in x1 ... xd
 * (at the mean for gaussian inputs, else at the origin). */
static int check_expression(bf_check *c, bf_params *p)
{
  if (!strcmp(p->data.expression, "none"))
    return bf_check_pair_fail(c, "data", "expression", "data", "target", "target = expression needs "
                     "[data] expression = FORMULA in x1 ... xd");
  double *x0 = BF_CALLOC(p->net.d, double);
  if (p->data.mu) memcpy(x0, p->data.mu, sizeof(double) * p->net.d);
  char msg[512], why[600];
  bf_expr *e = bf_expr_create(p->data.expression, p->net.d, x0, msg, sizeof msg);
  free(x0);
  if (e) {
    bf_expr_destroy(&e);
    return 1;
  }
  snprintf(why, sizeof why, "muparser: %s (variables are x1 ... x%d)", msg, p->net.d);
  return bf_check_fail(c, "data", "expression", why);
}

/* [data] keys that need more than their range: the gaussian inputs'
 * mean and covariance, then the target formula (evaluated at that mean). */
int bf_check_data_parms(bf_check *c, bf_params *p)
{
  if (p->data.points == BF_DATA_GAUSSIAN && !derive_gaussian(c, p)) return 0;
  return p->data.target != BF_TARGET_EXPRESSION || check_expression(c, p);
}
