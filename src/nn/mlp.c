/* mlp.c — deep MLPs of any depth and activation (SCIENCE.md 1b).
 *
 *   bf_mlp_create        layer layout and theta offsets from the input
 *   bf_mlp_destroy       free it
 *   bf_mlp_fan_in/out    layer sizes
 *   bf_mlp_sample        one member's theta from its counter stream
 *   bf_mlp_work_create   buffers for forward passes over npts points
 *   bf_mlp_forward       all points at once, one dgemm per layer
 *
 * Activations are stored points x units, row-major, so layer l is
 *   Z^l = alpha_l A^{l-1} (W^l)^T + beta_l 1 (b^l)^T,   A^l = phi(Z^l),
 * with (alpha, beta) = (sw/sqrt(fan_in), sb) in the NTK parameterization and
 * (1, 1) in the standard one, where the scales sit in the prior instead. */
#include "brgflow/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

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
