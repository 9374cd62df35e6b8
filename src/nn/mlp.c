/* mlp.c — deep MLPs of any depth and activation (SCIENCE.md 1b).
 *
 *   bf_mlp_create        layer layout and theta offsets from the input
 *   bf_mlp_destroy       free it
 *   bf_mlp_fan_in/out    layer sizes
 *   bf_mlp_sample        one member's theta from its counter stream
 *   bf_mlp_work_create   buffers for forward passes over npts points
 *   bf_mlp_forward       all points at once, one dgemm per layer
 *   bf_mlp_tape_create   buffers for forward values and backprop signals
 *   bf_mlp_record        forward + per-point backprop signals, BLAS-3
 *   bf_mlp_vjp           sum_k r_k grad f(x_k): the training gradient
 *   bf_mlp_jacobian_row  grad f(x_k): one row of J
 *   bf_mlp_alpha/beta    the forward scales of W^l and b^l
 *
 * Activations are stored points x units, row-major, so layer l is
 *   Z^l = alpha_l A^{l-1} (W^l)^T + beta_l 1 (b^l)^T,   A^l = phi(Z^l),
 * with (alpha, beta) = (sw/sqrt(fan_in), sb) in the NTK parameterization and
 * (1, 1) in the standard one, where the scales sit in the prior instead. */
#include "brgflow/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bf_mlp_work {
  int64_t npts;
  double *a, *z; /* npts x max(width, d) each */
};

int bf_mlp_fan_in(const bf_mlp *net, int l) { return l == 1 ? net->d : net->width; }

int bf_mlp_fan_out(const bf_mlp *net, int l)
{
  return l == net->depth + 1 ? 1 : net->width;
}

bf_mlp *bf_mlp_create(const bf_params *p)
{
  bf_mlp *net = BF_CALLOC(1, bf_mlp);
  net->d = p->d;
  net->depth = p->depth;
  net->width = p->width;
  net->parameterization = p->parameterization;
  net->sigma_w = p->sigma_w;
  net->sigma_b = p->sigma_b;
  net->act = bf_activation_get(p->activation);
  int64_t off = 0;
  for (int l = 1; l <= net->depth + 1; l++) {
    net->woff[l] = off;
    off += (int64_t)bf_mlp_fan_out(net, l) * bf_mlp_fan_in(net, l);
    net->boff[l] = off;
    off += bf_mlp_fan_out(net, l);
  }
  net->nparams = off;
  return net;
}

void bf_mlp_destroy(bf_mlp **net)
{
  free(*net);
  *net = NULL;
}

void bf_mlp_sample(const bf_mlp *net, uint64_t seed, int64_t member,
                   double *theta)
{
  bf_rng s = bf_rng_stream(seed, (uint64_t)member, BF_RNG_MLP);
  bf_rng_normals(&s, 0, net->nparams, theta);
  if (net->parameterization == BF_PARAM_NTK) return;
  for (int l = 1; l <= net->depth + 1; l++) { /* standard: scales in the prior */
    double sw = net->sigma_w / sqrt((double)bf_mlp_fan_in(net, l));
    for (int64_t k = net->woff[l]; k < net->boff[l]; k++) theta[k] *= sw;
    for (int64_t k = net->boff[l]; k < net->boff[l] + bf_mlp_fan_out(net, l); k++)
      theta[k] *= net->sigma_b;
  }
}

bf_mlp_work *bf_mlp_work_create(const bf_mlp *net, int64_t npts)
{
  bf_mlp_work *w = BF_CALLOC(1, bf_mlp_work);
  int64_t units = net->width > net->d ? net->width : net->d;
  w->npts = npts;
  w->a = BF_ALLOC(npts * units, double);
  w->z = BF_ALLOC(npts * units, double);
  return w;
}

void bf_mlp_work_destroy(bf_mlp_work **w)
{
  if (!*w) return;
  free((*w)->a);
  free((*w)->z);
  free(*w);
  *w = NULL;
}

void bf_mlp_forward(const bf_mlp *net, const double *theta, int64_t npts,
                    const double *x, bf_mlp_work *w, double *f)
{
  BF_ASSERT(npts <= w->npts);
  const double *in = x;
  int ntk = net->parameterization == BF_PARAM_NTK;
  for (int l = 1; l <= net->depth + 1; l++) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    double alpha = ntk ? net->sigma_w / sqrt((double)nin) : 1.0;
    double beta = ntk ? net->sigma_b : 1.0;
    const double *W = theta + net->woff[l], *b = theta + net->boff[l];
    double *z = l == net->depth + 1 ? f : w->z;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)npts, nout, nin,
                alpha, in, nin, W, nin, 0.0, z, nout);
    for (int64_t k = 0; k < npts; k++)
      for (int i = 0; i < nout; i++) z[k * nout + i] += beta * b[i];
    if (l == net->depth + 1) break;
    for (int64_t k = 0; k < npts * nout; k++) w->a[k] = net->act->phi(z[k]);
    in = w->a;
  }
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
  t->npts = npts;
  t->a[0] = BF_ALLOC(npts * net->d, double);
  for (int l = 1; l <= net->depth + 1; l++) {
    int64_t out = bf_mlp_fan_out(net, l);
    t->z[l] = BF_ALLOC(npts * out, double);
    t->a[l] = BF_ALLOC(npts * out, double);
    t->delta[l] = BF_ALLOC(npts * out, double);
  }
  return t;
}

void bf_mlp_tape_destroy(bf_mlp_tape **tp)
{
  bf_mlp_tape *t = *tp;
  if (!t) return;
  for (int l = 0; l <= BF_MLP_MAX_LAYERS; l++) {
    free(t->z[l]);
    free(t->a[l]);
    free(t->delta[l]);
  }
  free(t);
  *tp = NULL;
}

double bf_mlp_alpha(const bf_mlp *net, int l)
{
  return net->parameterization == BF_PARAM_NTK
             ? net->sigma_w / sqrt((double)bf_mlp_fan_in(net, l))
             : 1.0;
}

double bf_mlp_beta(const bf_mlp *net, int l)
{
  (void)l;
  return net->parameterization == BF_PARAM_NTK ? net->sigma_b : 1.0;
}

void bf_mlp_record(const bf_mlp *net, const double *theta, int64_t npts,
                   const double *x, bf_mlp_tape *t)
{
  BF_ASSERT(npts <= t->npts);
  memcpy(t->a[0], x, sizeof(double) * npts * net->d);
  int L1 = net->depth + 1;
  for (int l = 1; l <= L1; l++) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    double beta = bf_mlp_beta(net, l);
    const double *W = theta + net->woff[l], *b = theta + net->boff[l];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)npts, nout, nin,
                bf_mlp_alpha(net, l), t->a[l - 1], nin, W, nin, 0.0, t->z[l],
                nout);
    for (int64_t k = 0; k < npts; k++)
      for (int i = 0; i < nout; i++) t->z[l][k * nout + i] += beta * b[i];
    for (int64_t k = 0; k < npts * nout; k++)
      t->a[l][k] = l == L1 ? t->z[l][k] : net->act->phi(t->z[l][k]);
  }
  for (int64_t k = 0; k < npts; k++) t->delta[L1][k] = 1.0;
  for (int l = L1; l > 1; l--) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    const double *W = theta + net->woff[l];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)npts, nin, nout,
                bf_mlp_alpha(net, l), t->delta[l], nout, W, nin, 0.0,
                t->delta[l - 1], nin);
    for (int64_t k = 0; k < npts * nin; k++)
      t->delta[l - 1][k] *= net->act->dphi(t->z[l - 1][k]);
  }
  t->recorded = npts;
}

void bf_mlp_vjp(const bf_mlp *net, const bf_mlp_tape *t, const double *r,
                double *grad)
{
  int64_t n = t->recorded;
  double *rd = BF_ALLOC(n * (net->width > 1 ? net->width : 1), double);
  for (int l = 1; l <= net->depth + 1; l++) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    for (int64_t k = 0; k < n; k++)
      for (int i = 0; i < nout; i++) rd[k * nout + i] = r[k] * t->delta[l][k * nout + i];
    /* dW^l = alpha (r delta^l)^T a^{l-1};  db^l = beta sum_k r_k delta^l[k] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, (int)n,
                bf_mlp_alpha(net, l), rd, nout, t->a[l - 1], nin, 0.0,
                grad + net->woff[l], nin);
    double beta = bf_mlp_beta(net, l);
    for (int i = 0; i < nout; i++) {
      double s = 0;
      for (int64_t k = 0; k < n; k++) s += rd[k * nout + i];
      grad[net->boff[l] + i] = beta * s;
    }
  }
  free(rd);
}

void bf_mlp_jacobian_row(const bf_mlp *net, const bf_mlp_tape *t, int64_t k,
                         double *row)
{
  for (int l = 1; l <= net->depth + 1; l++) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    double alpha = bf_mlp_alpha(net, l), beta = bf_mlp_beta(net, l);
    const double *dl = t->delta[l] + k * nout, *al = t->a[l - 1] + k * nin;
    for (int i = 0; i < nout; i++) {
      double *w = row + net->woff[l] + (int64_t)i * nin;
      for (int j = 0; j < nin; j++) w[j] = alpha * dl[i] * al[j];
      row[net->boff[l] + i] = beta * dl[i];
    }
  }
}
