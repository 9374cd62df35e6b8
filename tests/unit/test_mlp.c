/* test_mlp.c — layer stacks: the theta layout, the fast kernels against
 * the plain reference kernels (1e-12 relative), and J against finite
 * differences, on uniform and mixed stacks (activations linear, relu, tanh;
 * with and without bias; ntk, standard and unscaled). */
#include "testutil.h"

#include "brgflow/input.h"
#include "brgflow/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { RELU = 0, TANH = 1, LINEAR = 6 };

/* A stack with the given hidden widths and activations. */
static bf_mlp *stack(int d, int L, const int *widths, const int *acts, int param, int bias)
{
  static int w[16], a[16];
  memcpy(w, widths, sizeof(int) * L);
  memcpy(a, acts, sizeof(int) * L);
  bf_params p = {.net.d = d, .net.nhidden = L, .net.hwidth = w, .net.hact = a, .net.parameterization = param,
                 .net.nobias = !bias, .net.sigma_w = 1.3, .net.sigma_b = 0.4};
  return bf_mlp_create(&p);
}

/* Plain forward from the formulas, one point at a time, written without
 * the layer scales of bf_layer: the parameterization is spelled out. */
static double plain_forward(const bf_mlp *net, const double *theta, const double *x)
{
  double a[4096], z[4096];
  for (int j = 0; j < net->d; j++) a[j] = x[j];
  for (int l = 1; l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    int nin = ly->in, nout = ly->out, ntk = net->parameterization == BF_PARAM_NTK;
    for (int i = 0; i < nout; i++) {
      double s = 0;
      for (int j = 0; j < nin; j++) s += theta[ly->woff + i * nin + j] * a[j];
      double b = ly->bias ? theta[ly->boff + i] : 0;
      z[i] = ntk ? net->sigma_w * s / sqrt(nin) + net->sigma_b * b : s + b;
    }
    for (int i = 0; i < nout; i++) a[i] = ly->act ? ly->act->phi(z[i]) : z[i];
  }
  return a[0];
}

static void test_layout_and_forward_uniform(void **state)
{
  (void)state;
  for (int param = 0; param < 3; param++)
    for (int depth = 1; depth <= 3; depth++) {
      bf_params p = {.net.d = 3, .net.width = 7, .net.depth = depth, .net.activation = TANH,
                     .net.parameterization = param, .net.sigma_w = 1.2, .net.sigma_b = 0.3};
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
      FIGURE("%s depth %d: max |fast - plain| = %.1e (tol 1e-13)",
             param == 0 ? "ntk" : param == 1 ? "standard" : "unscaled", depth, worst);
      ASSERT_LE(worst, 1e-13);
      bf_mlp_work_destroy(&w);
      free(theta);
      bf_mlp_destroy(&net);
    }
}

/* Standard draws W^l ~ N(0, sw^2/fan_in), unscaled W ~ N(0, sw^2): the same
 * stream, scaled. */
static void test_prior_scales(void **state)
{
  (void)state;
  bf_params p = {.net.d = 2, .net.width = 4, .net.depth = 1, .net.activation = RELU,
                 .net.parameterization = BF_PARAM_NTK, .net.sigma_w = 1.5, .net.sigma_b = 0.5};
  bf_mlp *ntk = bf_mlp_create(&p);
  p.net.parameterization = BF_PARAM_STANDARD;
  bf_mlp *std = bf_mlp_create(&p);
  p.net.parameterization = BF_PARAM_UNSCALED;
  bf_mlp *uns = bf_mlp_create(&p);
  double a[17], b[17], c[17];
  bf_mlp_sample(ntk, 1, 0, a);
  bf_mlp_sample(std, 1, 0, b);
  bf_mlp_sample(uns, 1, 0, c);
  ASSERT_LE(fabs(b[0] - a[0] * 1.5 / sqrt(2.0)), 1e-15); /* W^1 */
  ASSERT_LE(fabs(b[8] - a[8] * 0.5), 1e-15);             /* b^1 */
  ASSERT_LE(fabs(b[12] - a[12] * 1.5 / 2.0), 1e-15);     /* W^2, fan_in 4 */
  ASSERT_LE(fabs(c[12] - a[12] * 1.5), 1e-15);           /* unscaled: no fan-in */
  ASSERT_LE(fabs(c[16] - a[16] * 0.5), 1e-15);           /* b^2 */
  FIGURE("W^2: ntk %.6f, standard %.6f, unscaled %.6f", a[12], b[12], c[12]);
  bf_mlp_destroy(&ntk);
  bf_mlp_destroy(&std);
  bf_mlp_destroy(&uns);
}

/* The paper authors' network is one input file: 2 -> 10 linear -> 10 relu
 * -> 2000 relu -> 1, no biases, unscaled, readout trained. */
static void test_authors_network_from_input(void **state)
{
  (void)state;
  const char *text = "[network]\narch = mlp\nd = 2\nwidths = 10, 10, 2000\n"
                     "activations = linear, relu, relu\nbias = no\n"
                     "parameterization = unscaled\n";
  bf_params p;
  char err[512] = "";
  int rc = bf_input_parse("t.ini", text, NULL, 0, BF_OUTPUT_IGNORE, &p, err, sizeof err);
  FIGURE("parse: rc %d %s", rc, err);
  assert_int_equal(rc, 0);
  bf_mlp *net = bf_mlp_create(&p);
  char desc[256];
  bf_mlp_describe(net, desc, sizeof desc);
  FIGURE("%s: P = %lld (2*10 + 10*10 + 10*2000 + 2000 = 22120)", desc,
         (long long)net->nparams);
  assert_int_equal(net->nparams, 22120);
  assert_int_equal(net->depth, 3);
  assert_string_equal(net->layer[1].act->name, "linear");
  assert_string_equal(net->layer[3].act->name, "relu");
  assert_int_equal(net->layer[4].woff, 20 + 100 + 20000);
  assert_int_equal(net->layer[1].bias, 0);
  assert_true(net->layer[2].sd_w == 1.0 && net->layer[2].alpha == 1.0);
  bf_mlp_destroy(&net);
  bf_params_free(&p);
  /* one list replaces the uniform keys: both at once is refused */
  rc = bf_input_parse("t.ini", "[network]\narch = mlp\ndepth = 3\nwidths = 4, 4\n", NULL, 0,
                      BF_OUTPUT_IGNORE, &p, err, sizeof err);
  FIGURE("widths with depth: %s", err);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(err, "[network] widths"));
  rc = bf_input_parse("t.ini", "[network]\narch = mlp\nwidths = 4, 4\nactivations = relu, "
                      "tanh, relu\n", NULL, 0, BF_OUTPUT_IGNORE, &p, err, sizeof err);
  FIGURE("3 activations for 2 layers: %s", err);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(err, "t.ini:4: [network] activations"));
}

/* Random mixed stacks: every fast kernel (forward, record, VJP over all of
 * theta and over the readout) against the reference kernels, to 1e-12
 * relative.  Narrow (<= 16) and wide fan-ins, fan-outs and inputs cover
 * both code paths of each layer. */
static void test_fast_against_reference(void **state)
{
  (void)state;
  const int shapes[][5] = {{1, 1, 24, 0, 0}, {2, 3, 10, 10, 40}, {5, 2, 33, 7, 0},
                           {20, 3, 3, 64, 17}, {3, 2, 1, 20, 0}};
  double worst = 0;
  for (int s = 0; s < 5; s++)
    for (int variant = 0; variant < 3; variant++) {
      int d = shapes[s][0], L = shapes[s][1], acts[3];
      for (int l = 0; l < L; l++) acts[l] = (int[]){LINEAR, RELU, TANH}[(l + variant) % 3];
      bf_mlp *net = stack(d, L, shapes[s] + 2, acts, variant, variant != 1);
      int64_t P = net->nparams, n = 13;
      double *theta = malloc(P * sizeof(double)), *x = malloc(n * d * sizeof(double));
      double *f = malloc(n * sizeof(double)), *fr = malloc(n * sizeof(double));
      double *g = malloc(P * sizeof(double)), *gr = malloc(P * sizeof(double)), r[13];
      bf_mlp_sample(net, 3, s, theta);
      for (int64_t k = 0; k < n * d; k++) x[k] = 1.3 * sin(0.77 * k + s);
      for (int k = 0; k < n; k++) r[k] = cos(1.1 * k);
      bf_mlp_work *w = bf_mlp_work_create(net, n);
      bf_mlp_tape *t = bf_mlp_tape_create(net, n), *tr = bf_mlp_tape_create(net, n);
      bf_mlp_forward(net, theta, n, x, w, f);
      bf_mlp_forward_ref(net, theta, n, x, fr);
      double scale = 0, dev = 0;
      for (int k = 0; k < n; k++) scale = fmax(scale, fabs(fr[k]));
      for (int k = 0; k < n; k++) dev = fmax(dev, fabs(f[k] - fr[k]) / scale);
      bf_mlp_record(net, theta, n, x, t);
      bf_mlp_record_ref(net, theta, n, x, tr);
      for (int l = 1; l <= L + 1; l++) {
        int64_t len = n * net->layer[l].out;
        double sz = 1e-300, sd = 1e-300;
        for (int64_t q = 0; q < len; q++) sz = fmax(sz, fabs(tr->z[l][q]));
        for (int64_t q = 0; q < len; q++) sd = fmax(sd, fabs(tr->delta[l][q]));
        for (int64_t q = 0; q < len; q++) {
          dev = fmax(dev, fabs(t->z[l][q] - tr->z[l][q]) / sz);
          dev = fmax(dev, fabs(t->delta[l][q] - tr->delta[l][q]) / sd);
        }
      }
      for (int readout = 0; readout < 2; readout++) {
        int64_t t0 = readout ? net->layer[L + 1].woff : 0;
        for (int64_t a = 0; a < P; a++) g[a] = NAN; /* the VJP must not read its output */
        bf_mlp_vjp(net, t, r, t0, g);
        bf_mlp_vjp_ref(net, tr, r, t0, gr);
        double sg = 1e-300;
        for (int64_t a = 0; a < P - t0; a++) sg = fmax(sg, fabs(gr[a]));
        for (int64_t a = 0; a < P - t0; a++) dev = fmax(dev, fabs(g[a] - gr[a]) / sg);
      }
      char desc[256];
      bf_mlp_describe(net, desc, sizeof desc);
      FIGURE("%-58s max |fast - reference| / max |reference| = %.1e (tol 1e-12)", desc, dev);
      worst = fmax(worst, dev);
      bf_mlp_work_destroy(&w);
      bf_mlp_tape_destroy(&t);
      bf_mlp_tape_destroy(&tr);
      free(theta), free(x), free(f), free(fr), free(g), free(gr);
      bf_mlp_destroy(&net);
    }
  FIGURE("worst over 15 stacks: %.1e", worst);
  ASSERT_LE(worst, 1e-12);
}

/* The one-pass training gradient (bf_mlp_gradient: record and VJP block by
 * block of points, accumulating) against the reference kernels, for stacks
 * wide enough that the points split into several blocks, over all of theta
 * and over the readout: 1e-12 relative. */
static void test_blocked_gradient(void **state)
{
  (void)state;
  const int w1[1] = {2000}, w2[2] = {40, 1500}, a1[1] = {RELU}, a2[2] = {TANH, RELU};
  double worst = 0;
  for (int s = 0; s < 2; s++)
    for (int readout = 0; readout < 2; readout++) {
      bf_mlp *net = s ? stack(3, 2, w2, a2, BF_PARAM_NTK, 1) : stack(2, 1, w1, a1, BF_PARAM_STANDARD, 0);
      int64_t P = net->nparams, n = 13, d = net->d;
      int64_t t0 = readout ? net->layer[net->depth + 1].woff : 0, B = bf_mlp_gradient_block(net, n);
      double *theta = malloc(P * sizeof(double)), *x = malloc(n * d * sizeof(double)), y[13];
      double *g = malloc(P * sizeof(double)), *gr = malloc(P * sizeof(double)), f[13], fr[13], r[13];
      bf_mlp_sample(net, 7, s, theta);
      for (int64_t k = 0; k < n * d; k++) x[k] = cos(0.41 * k + s);
      for (int k = 0; k < n; k++) y[k] = sin(0.9 * k);
      bf_mlp_tape *t = bf_mlp_tape_create(net, B), *tr = bf_mlp_tape_create(net, n);
      for (int64_t a = 0; a < P; a++) g[a] = NAN; /* must be overwritten, not read */
      bf_mlp_gradient(net, theta, n, x, y, 0.25, t0, t, f, g);
      bf_mlp_record_ref(net, theta, n, x, tr);
      for (int k = 0; k < n; k++) fr[k] = tr->a[net->depth + 1][k], r[k] = 0.25 * (fr[k] - y[k]);
      bf_mlp_vjp_ref(net, tr, r, t0, gr);
      double dev = 0, sg = 1e-300, sf = 1e-300;
      for (int64_t a = 0; a < P - t0; a++) sg = fmax(sg, fabs(gr[a]));
      for (int k = 0; k < n; k++) sf = fmax(sf, fabs(fr[k]));
      for (int64_t a = 0; a < P - t0; a++) dev = fmax(dev, fabs(g[a] - gr[a]) / sg);
      for (int k = 0; k < n; k++) dev = fmax(dev, fabs(f[k] - fr[k]) / sf);
      char desc[256];
      bf_mlp_describe(net, desc, sizeof desc);
      FIGURE("%s, %s, %lld points in blocks of %lld: max |blocked - reference| / max = %.1e "
             "(tol 1e-12)", desc, readout ? "readout" : "all", (long long)n, (long long)B, dev);
      assert_true(B < n); /* several blocks, or the test proves less */
      worst = fmax(worst, dev);
      bf_mlp_tape_destroy(&t);
      bf_mlp_tape_destroy(&tr);
      free(theta), free(x), free(g), free(gr);
      bf_mlp_destroy(&net);
    }
  ASSERT_LE(worst, 1e-12);
}

/* An independent check of J: central finite differences of f in every
 * parameter, on mixed stacks in the three parameterizations.  Tolerance
 * 1e-7 absolute: central differences with h = 1e-5 err by ~h^2 |f'''| ~
 * 1e-10, plus rounding ~1e-16/h ~ 1e-11 (relu's kink is met with
 * probability ~1e-5 per unit). */
static void test_jacobian_by_finite_differences(void **state)
{
  (void)state;
  const int widths[3] = {5, 4, 6};
  for (int param = 0; param < 3; param++) {
    int acts[3] = {(int[]){TANH, LINEAR, RELU}[param], TANH, (int[]){RELU, TANH, LINEAR}[param]};
    bf_mlp *net = stack(2, 3, widths, acts, param, param != 2);
    int64_t P = net->nparams;
    double *theta = malloc(P * sizeof(double)), *row = malloc(P * sizeof(double));
    double x[6] = {0.3, -0.7, 1.1, 0.2, -0.4, -0.9}, f[3], fp, fm, worst = 0;
    bf_mlp_sample(net, 9, 1, theta);
    bf_mlp_tape *t = bf_mlp_tape_create(net, 3);
    bf_mlp_work *w = bf_mlp_work_create(net, 1);
    bf_mlp_record(net, theta, 3, x, t);
    for (int k = 0; k < 3; k++) {
      bf_mlp_forward(net, theta, 1, x + 2 * k, w, f + k);
      ASSERT_LE(fabs(f[k] - t->a[net->depth + 1][k]), 1e-14); /* tape agrees */
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
    char desc[256];
    bf_mlp_describe(net, desc, sizeof desc);
    FIGURE("%s: max |J - finite difference| over %lld entries = %.1e (tol 1e-7)", desc,
           (long long)(3 * P), worst);
    ASSERT_LE(worst, 1e-7);
    /* the training gradient is J^T r */
    double r[3] = {0.5, -1.25, 2.0}, *g = malloc(P * sizeof(double)), gw = 0;
    bf_mlp_vjp(net, t, r, 0, g);
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
  cmocka_unit_test(test_layout_and_forward_uniform),
  cmocka_unit_test(test_prior_scales),
  cmocka_unit_test(test_authors_network_from_input),
  cmocka_unit_test(test_fast_against_reference),
  cmocka_unit_test(test_blocked_gradient),
};
BF_TEST_MAIN(group)
