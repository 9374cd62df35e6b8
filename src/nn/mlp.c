/* mlp.c — layer stacks: any feed-forward network (docs/theory.md m,
 * layer stacks), with fast kernels and the plain reference kernels beside them.
 *
 *   bf_mlp_create        layers, scales and theta offsets from [network]
 *   bf_mlp_destroy       free it
 *   bf_mlp_fan_in/out    layer sizes
 *   bf_mlp_alpha/beta    the forward scales of W^l and b^l
 *   bf_mlp_sample        one member's theta from its counter stream
 *   bf_mlp_first_layer   the layer a trained block starts at
 *   bf_mlp_describe      one line: "2 -> 10 linear -> ... -> 1, ..."
 *   bf_mlp_work_create   forward workspace for up to npts points
 *   bf_mlp_forward       f at npts points (fast kernel)
 *   bf_mlp_tape_create   buffers for forward values and backprop signals
 *   bf_mlp_record(_from) forward + per-point backprop signals (fast kernel)
 *   bf_mlp_vjp           sum_k r_k grad f(x_k) over a trailing block of theta
 *   bf_mlp_gradient      f and sum_k s (f_k - y_k) grad f(x_k), in point blocks
 *   bf_mlp_jacobian_row  grad f(x_k): one row of J
 *   bf_mlp_*_ref         the plain reference kernels
 *
 * Activations are stored points x units, row-major, so layer l is
 *   Z^l = alpha_l A^{l-1} (W^l)^T + beta_l 1 (b^l)^T,   A^l = phi_l(Z^l).
 * Fast kernels: a wide fan-in goes through one dgemm, followed by one fused
 * pass that adds the bias and applies phi_l to the whole array; a narrow
 * fan-in (the input layer for small d, width-10 layers) is one fused loop
 * over points, since dgemm with an inner dimension of 1..16 runs far below
 * its rate.  The readout (fan-out 1) is a dgemv. */
#include "brgflow/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fan-ins up to this use the fused loop instead of dgemm (measured: dgemm
 * with k <= 16 reaches under a fifth of its large-k rate on this machine). */
enum { NARROW = 16 };

struct bf_mlp_work {
  int64_t npts;
  double *a, *b; /* npts x max_units each: ping-pong activations */
  double *wt;    /* max_units x NARROW: a narrow layer's W transposed */
};

int bf_mlp_fan_in(const bf_mlp *net, int l) { return net->layer[l].in; }
int bf_mlp_fan_out(const bf_mlp *net, int l) { return net->layer[l].out; }
double bf_mlp_alpha(const bf_mlp *net, int l) { return net->layer[l].alpha; }
double bf_mlp_beta(const bf_mlp *net, int l) { return net->layer[l].beta; }

/* Forward scales and prior widths of one layer (docs/theory.md m). */
static void layer_scales(bf_layer *ly, int param, double sw, double sb)
{
  if (param == BF_PARAM_NTK) {
    ly->alpha = sw / sqrt((double)ly->in), ly->beta = sb;
    ly->sd_w = 1, ly->sd_b = 1;
  } else {
    ly->alpha = 1, ly->beta = 1;
    ly->sd_w = param == BF_PARAM_STANDARD ? sw / sqrt((double)ly->in) : sw;
    ly->sd_b = sb;
  }
}

bf_mlp *bf_mlp_create(const bf_params *p)
{
  bf_mlp *net = BF_CALLOC(1, bf_mlp);
  int L = p->net.nhidden > 0 ? p->net.nhidden : p->net.depth;
  net->d = p->net.d;
  net->depth = L;
  net->parameterization = p->net.parameterization;
  net->sigma_w = p->net.sigma_w;
  net->sigma_b = p->net.sigma_b;
  net->layer = BF_CALLOC(L + 2, bf_layer);
  int64_t off = 0;
  net->max_units = p->net.d;
  for (int l = 1; l <= L + 1; l++) {
    bf_layer *ly = &net->layer[l];
    ly->in = l == 1 ? p->net.d : net->layer[l - 1].out;
    ly->out = l == L + 1 ? 1 : p->net.nhidden > 0 ? p->net.hwidth[l - 1] : p->net.width;
    ly->act = l == L + 1 ? NULL
              : bf_activation_get(p->net.nhidden > 0 ? p->net.hact[l - 1] : p->net.activation);
    ly->bias = !p->net.nobias;
    layer_scales(ly, p->net.parameterization, p->net.sigma_w, p->net.sigma_b);
    ly->woff = off;
    off += (int64_t)ly->out * ly->in;
    ly->boff = off;
    if (ly->bias) off += ly->out;
    if (ly->out > net->max_units) net->max_units = ly->out;
  }
  net->nparams = off;
  return net;
}

void bf_mlp_destroy(bf_mlp **net)
{
  if (!*net) return;
  free((*net)->layer);
  free(*net);
  *net = NULL;
}

void bf_mlp_sample(const bf_mlp *net, uint64_t seed, int64_t member,
                   double *theta)
{
  bf_rng s = bf_rng_stream(seed, (uint64_t)member, BF_RNG_MLP);
  bf_rng_normals(&s, 0, net->nparams, theta);
  for (int l = 1; l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    if (ly->sd_w != 1)
      for (int64_t k = ly->woff; k < ly->boff; k++) theta[k] *= ly->sd_w;
    if (ly->bias && ly->sd_b != 1)
      for (int64_t k = ly->boff; k < ly->boff + ly->out; k++) theta[k] *= ly->sd_b;
  }
}

void bf_mlp_describe(const bf_mlp *net, char *buf, size_t n)
{
  static const char *param[] = {"ntk", "standard", "unscaled"};
  size_t len = (size_t)snprintf(buf, n, "%d", net->d);
  for (int l = 1; l <= net->depth && len < n; l++)
    len += (size_t)snprintf(buf + len, n - len, " -> %d %s", net->layer[l].out,
                            net->layer[l].act->name);
  if (len < n)
    snprintf(buf + len, n - len, " -> 1, %s, %s", net->layer[1].bias ? "bias" : "no bias",
             param[net->parameterization]);
}

/* ---- fast kernels ---------------------------------------------------------- */

bf_mlp_work *bf_mlp_work_create(const bf_mlp *net, int64_t npts)
{
  bf_mlp_work *w = BF_CALLOC(1, bf_mlp_work);
  int64_t units = net->max_units;
  w->npts = npts;
  w->a = BF_ALLOC(npts * units + 1, double);
  w->b = BF_ALLOC(npts * units + 1, double);
  w->wt = BF_ALLOC(units * NARROW + 1, double);
  return w;
}

void bf_mlp_work_destroy(bf_mlp_work **w)
{
  if (!*w) return;
  free((*w)->a);
  free((*w)->b);
  free((*w)->wt);
  free(*w);
  *w = NULL;
}

/* Z = alpha A W^T (+ beta b), then A_out = phi(Z), for one hidden layer.
 * z and out may be the same array (forward passes keep no Z). */
static void hidden_layer(const bf_layer *ly, const double *W, const double *b,
                         int64_t npts, const double *in, double *wt, double *z,
                         double *out)
{
  const int nin = ly->in, nout = ly->out;
  const double *bias = ly->bias ? b : NULL;
  if (nin <= NARROW) { /* fused: W^T scaled once, then one pass per point,
                        * bias and phi applied while the row is in cache */
    for (int j = 0; j < nin; j++)
      for (int i = 0; i < nout; i++) wt[j * nout + i] = ly->alpha * W[i * nin + j];
    for (int64_t k = 0; k < npts; k++) {
      double *zk = z + k * nout;
      const double *ak = in + k * nin, a0 = ak[0];
      for (int i = 0; i < nout; i++) zk[i] = wt[i] * a0;
      for (int j = 1; j < nin; j++) {
        const double aj = ak[j], *wj = wt + j * nout;
        for (int i = 0; i < nout; i++) zk[i] += wj[i] * aj;
      }
      ly->act->bias_phi(1, nout, ly->beta, bias, zk, out + k * nout);
    }
    return;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)npts, nout, nin, ly->alpha, in,
              nin, W, nin, 0.0, z, nout);
  ly->act->bias_phi(npts, nout, ly->beta, bias, z, out);
}

/* f = alpha A w + beta b: the readout, fan-out 1. */
static void readout(const bf_layer *ly, const double *theta, int64_t npts,
                    const double *in, double *f)
{
  const double *W = theta + ly->woff;
  double b = ly->bias ? ly->beta * theta[ly->boff] : 0.0;
  for (int64_t k = 0; k < npts; k++) f[k] = b;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)npts, ly->in, ly->alpha, in, ly->in,
              W, 1, 1.0, f, 1);
}

void bf_mlp_forward(const bf_mlp *net, const double *theta, int64_t npts,
                    const double *x, bf_mlp_work *w, double *f)
{
  BF_ASSERT(npts <= w->npts);
  const double *in = x;
  double *buf[2] = {w->a, w->b};
  for (int l = 1; l <= net->depth; l++) {
    const bf_layer *ly = &net->layer[l];
    double *out = buf[l % 2];
    hidden_layer(ly, theta + ly->woff, theta + ly->boff, npts, in, w->wt, out, out);
    in = out;
  }
  readout(&net->layer[net->depth + 1], theta, npts, in, f);
}

/* ---- the tape: forward values and per-point backprop signals -------------
 * For each point k and layer l, delta^l[k] = d f(x_k) / d z^l (the signal of
 * point k alone).  All points go through together, since a point's signal
 * never mixes with another's:
 *   delta^{L+1} = 1,   delta^{l-1} = alpha_l (delta^l W^l) (.) phi'(z^{l-1}).
 * Every derivative of f follows from (delta, a) layer by layer:
 *   d f(x_k)/d W^l_ij = alpha_l delta^l[k,i] a^{l-1}[k,j],
 *   d f(x_k)/d b^l_i  = beta_l  delta^l[k,i]                (docs/theory.md). */
bf_mlp_tape *bf_mlp_tape_create(const bf_mlp *net, int64_t npts)
{
  bf_mlp_tape *t = BF_CALLOC(1, bf_mlp_tape);
  int L1 = net->depth + 1;
  t->npts = npts;
  t->layers = L1;
  t->z = BF_CALLOC(L1 + 1, double *);
  t->a = BF_CALLOC(L1 + 1, double *);
  t->delta = BF_CALLOC(L1 + 1, double *);
  t->a[0] = BF_ALLOC(npts * net->d + 1, double);
  for (int l = 1; l <= L1; l++) {
    int64_t out = bf_mlp_fan_out(net, l);
    t->z[l] = BF_ALLOC(npts * out + 1, double);
    t->a[l] = l == L1 ? t->z[l] : BF_ALLOC(npts * out + 1, double);
    t->delta[l] = BF_ALLOC(npts * out + 1, double);
  }
  /* VJP scratch (npts x units), units x NARROW (a narrow layer's W^T or
   * dW^T), then bf_mlp_gradient's residuals (npts) */
  t->scratch = BF_ALLOC(npts * net->max_units + (int64_t)net->max_units * NARROW + npts + 1,
                        double);
  return t;
}

void bf_mlp_tape_destroy(bf_mlp_tape **tp)
{
  bf_mlp_tape *t = *tp;
  if (!t) return;
  for (int l = 0; l <= t->layers; l++) {
    if (t->a[l] != t->z[l]) free(t->a[l]);
    free(t->z[l]);
    free(t->delta[l]);
  }
  free(t->z), free(t->a), free(t->delta), free(t->scratch);
  free(t);
  *tp = NULL;
}

/* delta^{l-1} = alpha_l (delta^l W^l) (.) phi'_{l-1}(z^{l-1}). */
static void backprop_layer(const bf_layer *ly, const bf_layer *below, const double *W,
                           int64_t npts, const double *dl, const double *z,
                           const double *a, double *dout)
{
  const int nin = ly->in, nout = ly->out;
  if (nout <= NARROW) { /* fused: a narrow layer (or the readout) above;
                         * phi' applied while the row is in cache */
    for (int64_t k = 0; k < npts; k++) {
      double *dk = dout + k * nin;
      const double c0 = ly->alpha * dl[k * nout];
      for (int j = 0; j < nin; j++) dk[j] = c0 * W[j];
      for (int i = 1; i < nout; i++) {
        const double c = ly->alpha * dl[k * nout + i], *wi = W + (int64_t)i * nin;
        for (int j = 0; j < nin; j++) dk[j] += c * wi[j];
      }
      below->act->mul_dphi(nin, z + k * nin, a + k * nin, dk);
    }
    return;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)npts, nin, nout, ly->alpha, dl,
              nout, W, nin, 0.0, dout, nin);
  below->act->mul_dphi(npts * nin, z, a, dout);
}

void bf_mlp_record_from(const bf_mlp *net, const double *theta, int64_t npts,
                        const double *x, int first, bf_mlp_tape *t)
{
  BF_ASSERT(npts <= t->npts && first >= 1);
  memcpy(t->a[0], x, sizeof(double) * npts * net->d);
  int L1 = net->depth + 1;
  double *wt = t->scratch + t->npts * net->max_units;
  for (int l = 1; l < L1; l++) {
    const bf_layer *ly = &net->layer[l];
    hidden_layer(ly, theta + ly->woff, theta + ly->boff, npts, t->a[l - 1], wt, t->z[l],
                 t->a[l]);
  }
  readout(&net->layer[L1], theta, npts, t->a[L1 - 1], t->z[L1]);
  for (int64_t k = 0; k < npts; k++) t->delta[L1][k] = 1.0;
  /* delta^1 only feeds the input layer's own gradient */
  for (int l = L1; l > first; l--)
    backprop_layer(&net->layer[l], &net->layer[l - 1], theta + net->layer[l].woff, npts,
                   t->delta[l], t->z[l - 1], t->a[l - 1], t->delta[l - 1]);
  t->recorded = npts;
  t->first = first;
}

void bf_mlp_record(const bf_mlp *net, const double *theta, int64_t npts,
                   const double *x, bf_mlp_tape *t)
{
  bf_mlp_record_from(net, theta, npts, x, 1, t);
}

/* The first layer whose parameters reach offset t0. */
int bf_mlp_first_layer(const bf_mlp *net, int64_t t0)
{
  int l = 1;
  while (l <= net->depth && net->layer[l + 1].woff <= t0) l++;
  return l;
}

/* dW^l = alpha (r delta^l)^T a^{l-1},  db^l = beta sum_k r_k delta^l[k]. */
static void layer_grad(const bf_layer *ly, const bf_mlp_tape *t, int l, const double *r,
                       double *scratch, double acc, double *gw, double *gb)
{
  const int64_t n = t->recorded;
  const int nin = ly->in, nout = ly->out;
  const double *dl = t->delta[l], *al = t->a[l - 1];
  if (gb && acc == 0) for (int i = 0; i < nout; i++) gb[i] = 0;
  if (!ly->act) { /* the readout (fan-out 1, delta = 1): a dgemv */
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, nin, ly->alpha, al, nin, r, 1, acc, gw, 1);
    if (gb) for (int64_t k = 0; k < n; k++) gb[0] += ly->beta * r[k] * dl[k];
    return;
  }
  if (nin == 1) { /* fused, one pass per point: (dW) has the layout of delta's rows */
    if (acc == 0) for (int i = 0; i < nout; i++) gw[i] = 0;
    for (int64_t k = 0; k < n; k++) {
      const double *dk = dl + k * nout, cw = ly->alpha * r[k] * al[k], cb = ly->beta * r[k];
      if (gb)
        for (int i = 0; i < nout; i++) gw[i] += cw * dk[i], gb[i] += cb * dk[i];
      else
        for (int i = 0; i < nout; i++) gw[i] += cw * dk[i];
    }
    return;
  }
  if (nin <= NARROW) { /* fused: accumulate (dW)^T by rows of points */
    double *gt = scratch; /* nin x nout */
    for (int64_t q = 0; q < (int64_t)nin * nout; q++) gt[q] = 0;
    for (int64_t k = 0; k < n; k++) {
      const double *dk = dl + k * nout;
      for (int j = 0; j < nin; j++) {
        const double c = ly->alpha * r[k] * al[k * nin + j];
        double *gj = gt + (int64_t)j * nout;
        for (int i = 0; i < nout; i++) gj[i] += c * dk[i];
      }
      if (gb) {
        const double c = ly->beta * r[k];
        for (int i = 0; i < nout; i++) gb[i] += c * dk[i];
      }
    }
    for (int i = 0; i < nout; i++) /* acc = 0 must not read gw: it may hold NaN */
      for (int j = 0; j < nin; j++)
        gw[(int64_t)i * nin + j] =
            acc != 0 ? gw[(int64_t)i * nin + j] + gt[(int64_t)j * nout + i] : gt[(int64_t)j * nout + i];
    return;
  }
  double *rd = scratch; /* n x nout */
  for (int64_t k = 0; k < n; k++) {
    const double rk = r[k], *dk = dl + k * nout;
    double *o = rd + k * nout;
    for (int i = 0; i < nout; i++) o[i] = rk * dk[i];
  }
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, (int)n, ly->alpha, rd,
              nout, al, nin, acc, gw, nin);
  if (gb)
    for (int64_t k = 0; k < n; k++) {
      const double *o = rd + k * nout;
      for (int i = 0; i < nout; i++) gb[i] += ly->beta * o[i];
    }
}

/* grad (= or +=, acc 0 or 1) sum_k r_k df(x_k)/dtheta over layers from t0. */
static void vjp_into(const bf_mlp *net, const bf_mlp_tape *t, const double *r, int64_t t0,
                     double acc, double *grad)
{
  int l0 = bf_mlp_first_layer(net, t0);
  BF_ASSERT(net->layer[l0].woff == t0 && l0 >= t->first);
  for (int l = l0; l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    layer_grad(ly, t, l, r, t->scratch, acc, grad + ly->woff - t0,
               ly->bias ? grad + ly->boff - t0 : NULL);
  }
}

void bf_mlp_vjp(const bf_mlp *net, const bf_mlp_tape *t, const double *r, int64_t t0,
                double *grad)
{
  vjp_into(net, t, r, t0, 0.0, grad);
}

/* Points per block of bf_mlp_gradient: its tape (z, a, delta) should stay
 * in a core's L2 (512 KiB here: 32768 doubles leaves room for theta). */
enum { TAPE_BLOCK_DOUBLES = 32768 };
/* Block only when theta itself is cache-sized: a GEMM-shaped stack would
 * stream its weights once per block. */
#define BLOCK_MAX_PARAMS 131072

int64_t bf_mlp_gradient_block(const bf_mlp *net, int64_t npts)
{
  if (net->nparams > BLOCK_MAX_PARAMS) return npts;
  int64_t units = 0;
  for (int l = 1; l <= net->depth + 1; l++) units += net->layer[l].out;
  int64_t b = TAPE_BLOCK_DOUBLES / (3 * units);
  b = b < 1 ? 1 : b;
  return b < npts ? b : npts;
}

void bf_mlp_gradient(const bf_mlp *net, const double *theta, int64_t npts, const double *x,
                     const double *y, double scale, int64_t t0, bf_mlp_tape *t, double *f,
                     double *grad)
{
  int64_t B = bf_mlp_gradient_block(net, npts), d = net->d;
  BF_ASSERT(B <= t->npts);
  double *r = t->scratch + t->npts * net->max_units + (int64_t)net->max_units * NARROW;
  int first = bf_mlp_first_layer(net, t0);
  for (int64_t k0 = 0; k0 < npts; k0 += B) {
    int64_t m = npts - k0 < B ? npts - k0 : B;
    bf_mlp_record_from(net, theta, m, x + k0 * d, first, t);
    const double *fk = t->a[net->depth + 1];
    for (int64_t k = 0; k < m; k++) {
      f[k0 + k] = fk[k];
      r[k] = scale * (fk[k] - y[k0 + k]);
    }
    vjp_into(net, t, r, t0, k0 > 0 ? 1.0 : 0.0, grad);
  }
}

void bf_mlp_jacobian_row(const bf_mlp *net, const bf_mlp_tape *t, int64_t k,
                         double *row)
{
  for (int l = t->first; l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    int nin = ly->in, nout = ly->out;
    const double *dl = t->delta[l] + k * nout, *al = t->a[l - 1] + k * nin;
    for (int i = 0; i < nout; i++) {
      double *w = row + ly->woff + (int64_t)i * nin, c = ly->alpha * dl[i];
      for (int j = 0; j < nin; j++) w[j] = c * al[j];
      if (ly->bias) row[ly->boff + i] = ly->beta * dl[i];
    }
  }
}

/* ---- reference kernels: plain loops, one element at a time ---------------- */

/* z^l and a^l at one point, layer by layer (z, a: (L+2) x max_units). */
static void point_forward_ref(const bf_mlp *net, const double *theta, const double *x,
                              double *z, double *a)
{
  int U = net->max_units;
  for (int j = 0; j < net->d; j++) a[j] = x[j];
  for (int l = 1; l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    const double *W = theta + ly->woff, *in = a + (int64_t)(l - 1) * U;
    for (int i = 0; i < ly->out; i++) {
      double s = 0;
      for (int j = 0; j < ly->in; j++) s += W[(int64_t)i * ly->in + j] * in[j];
      double zi = ly->alpha * s + (ly->bias ? ly->beta * theta[ly->boff + i] : 0.0);
      z[(int64_t)l * U + i] = zi;
      a[(int64_t)l * U + i] = ly->act ? ly->act->phi(zi) : zi;
    }
  }
}

void bf_mlp_forward_ref(const bf_mlp *net, const double *theta, int64_t npts,
                        const double *x, double *f)
{
  int64_t size = (int64_t)(net->depth + 2) * net->max_units;
  double *z = BF_ALLOC(size, double), *a = BF_ALLOC(size, double);
  for (int64_t k = 0; k < npts; k++) {
    point_forward_ref(net, theta, x + k * net->d, z, a);
    f[k] = a[(int64_t)(net->depth + 1) * net->max_units];
  }
  free(z), free(a);
}

void bf_mlp_record_ref(const bf_mlp *net, const double *theta, int64_t npts,
                       const double *x, bf_mlp_tape *t)
{
  BF_ASSERT(npts <= t->npts);
  int U = net->max_units, L1 = net->depth + 1;
  int64_t size = (int64_t)(L1 + 1) * U;
  double *z = BF_ALLOC(size, double), *a = BF_ALLOC(size, double);
  for (int64_t k = 0; k < npts; k++) {
    point_forward_ref(net, theta, x + k * net->d, z, a);
    for (int j = 0; j < net->d; j++) t->a[0][k * net->d + j] = x[k * net->d + j];
    for (int l = 1; l <= L1; l++)
      for (int i = 0; i < net->layer[l].out; i++) {
        t->z[l][k * net->layer[l].out + i] = z[(int64_t)l * U + i];
        t->a[l][k * net->layer[l].out + i] = a[(int64_t)l * U + i];
      }
    t->delta[L1][k] = 1.0;
    for (int l = L1; l > 1; l--) {
      const bf_layer *ly = &net->layer[l];
      const double *W = theta + ly->woff;
      for (int j = 0; j < ly->in; j++) {
        double s = 0;
        for (int i = 0; i < ly->out; i++)
          s += t->delta[l][k * ly->out + i] * W[(int64_t)i * ly->in + j];
        t->delta[l - 1][k * ly->in + j] =
            ly->alpha * s * net->layer[l - 1].act->dphi(z[(int64_t)(l - 1) * U + j]);
      }
    }
  }
  t->recorded = npts;
  t->first = 1;
  free(z), free(a);
}

void bf_mlp_vjp_ref(const bf_mlp *net, const bf_mlp_tape *t, const double *r, int64_t t0,
                    double *grad)
{
  for (int l = bf_mlp_first_layer(net, t0); l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    for (int i = 0; i < ly->out; i++) {
      double sb = 0;
      for (int j = 0; j < ly->in; j++) {
        double s = 0;
        for (int64_t k = 0; k < t->recorded; k++)
          s += r[k] * t->delta[l][k * ly->out + i] * t->a[l - 1][k * ly->in + j];
        grad[ly->woff - t0 + (int64_t)i * ly->in + j] = ly->alpha * s;
      }
      for (int64_t k = 0; k < t->recorded; k++) sb += r[k] * t->delta[l][k * ly->out + i];
      if (ly->bias) grad[ly->boff - t0 + i] = ly->beta * sb;
    }
  }
}
