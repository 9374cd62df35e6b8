/* model.c — a network seen through its trained parameters.
 *
 *   bf_model_make      which block of theta is trained, and is f linear in it
 *   bf_model_predict   f at a set of points
 *   bf_model_jacobian  df/dtheta_trained at a set of points (rows of J)
 *   bf_model_prior_sd  prior standard deviation of each trained parameter
 *
 * The cos-net trains its readout a: f = Phi a with features
 * Phi_ki = A cos(b_i.x_k + c_i)/sqrt(b_i^2 + m^2) (SCIENCE.md 2).  The MLP
 * trains everything or its last layer (W^{L+1}, b^{L+1}), which sits at the
 * end of theta. */
#include "brgflow/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bf_model bf_model_make(const bf_params *p, const bf_cosnet *cos, const bf_mlp *mlp)
{
  bf_model m = {.arch = p->arch, .cos = cos, .mlp = mlp};
  if (p->arch == BF_ARCH_COSNET) {
    m.P = bf_cosnet_nparams(cos);
    m.t0 = 0;
    m.Pt = cos->width;
    m.linear = 1;
  } else {
    m.P = mlp->nparams;
    m.t0 = p->trainable == BF_TRAIN_READOUT ? mlp->woff[mlp->depth + 1] : 0;
    m.Pt = m.P - m.t0;
    m.linear = p->trainable == BF_TRAIN_READOUT;
  }
  return m;
}

void bf_model_predict(const bf_model *mod, const double *theta, int64_t m,
                      const double *x, double *f)
{
  if (mod->arch == BF_ARCH_COSNET) {
    bf_cosnet_field(mod->cos, theta, m, x, f);
    return;
  }
  bf_mlp_work *w = bf_mlp_work_create(mod->mlp, m);
  bf_mlp_forward(mod->mlp, theta, m, x, w, f);
  bf_mlp_work_destroy(&w);
}

static void cosnet_features(const bf_cosnet *net, const double *theta, int64_t m,
                            const double *x, double *J)
{
  const int64_t N = net->width, d = net->d;
  const double *b = theta + N, *c = theta + N + N * d;
  for (int64_t i = 0; i < N; i++) {
    double b2 = 0;
    for (int j = 0; j < d; j++) b2 += b[i * d + j] * b[i * d + j];
    double w = net->amp / sqrt(b2 + net->mass * net->mass);
    for (int64_t k = 0; k < m; k++) {
      double arg = c[i];
      for (int j = 0; j < d; j++) arg += b[i * d + j] * x[k * d + j];
      J[k * N + i] = w * cos(arg);
    }
  }
}

void bf_model_jacobian(const bf_model *mod, const double *theta, int64_t m,
                       const double *x, double *J)
{
  if (mod->arch == BF_ARCH_COSNET) {
    cosnet_features(mod->cos, theta, m, x, J);
    return;
  }
  bf_mlp_tape *t = bf_mlp_tape_create(mod->mlp, m);
  bf_mlp_record(mod->mlp, theta, m, x, t);
  double *row = BF_ALLOC(mod->P, double);
  for (int64_t k = 0; k < m; k++) {
    bf_mlp_jacobian_row(mod->mlp, t, k, row);
    memcpy(J + k * mod->Pt, row + mod->t0, sizeof(double) * mod->Pt);
  }
  free(row);
  bf_mlp_tape_destroy(&t);
}

void bf_model_prior_sd(const bf_model *mod, double *sd)
{
  if (mod->arch == BF_ARCH_COSNET) {
    for (int64_t i = 0; i < mod->Pt; i++)
      sd[i] = mod->cos->sigma_a / sqrt((double)mod->cos->width);
    return;
  }
  const bf_mlp *net = mod->mlp;
  int std = net->parameterization == BF_PARAM_STANDARD;
  for (int l = 1; l <= net->depth + 1; l++) {
    double sw = std ? net->sigma_w / sqrt((double)bf_mlp_fan_in(net, l)) : 1;
    double sb = std ? net->sigma_b : 1;
    for (int64_t k = net->woff[l]; k < net->boff[l]; k++)
      if (k >= mod->t0) sd[k - mod->t0] = sw;
    for (int64_t k = net->boff[l]; k < net->boff[l] + bf_mlp_fan_out(net, l); k++)
      if (k >= mod->t0) sd[k - mod->t0] = sb;
  }
}
