/* model.c — the one model interface: every architecture behind its ops.
 *
 *   bf_model_create        the architecture the input names
 *   bf_model_destroy       free it
 *   bf_model_sample        one member's prior draw
 *   bf_model_prior_sd      prior standard deviation of the trained block
 *   bf_model_plan_create   a workspace for up to npts points (then reused)
 *   bf_model_forward       f at npts points
 *   bf_model_record        forward + what derivatives need
 *   bf_model_vjp           sum_k r_k J_t(x_k) after record
 *   bf_model_gradient      f and the training gradient in one call
 *   bf_model_jacobian_rows J_t at the recorded points
 *   bf_model_gram          J_t(R) J_t(C)^T between two recorded plans
 *   bf_model_diag          column sums of J_t^2
 *   bf_model_kernel        infinite-width kernels, 0 where unknown
 *   bf_model_kernel_entries  the same entry by entry (distributed matrices)
 *   bf_kernel_entries_destroy
 *   bf_model_predict/jacobian  one-off conveniences with their own plan
 *
 * The architectures (model_cosnet.c, model_mlp.c) register in REGISTRY, in
 * the order of the [network] arch choices. */
#include "brgflow/nn.h"

#include <stdlib.h>
#include <string.h>

static bf_model *(*const REGISTRY[])(const bf_params *) = {
  bf_model_cosnet_create, /* arch = cosnet */
  bf_model_mlp_create,    /* arch = mlp */
};

bf_model *bf_model_create(const bf_params *p)
{
  BF_ASSERT(p->net.arch >= 0 && p->net.arch < (int)(sizeof REGISTRY / sizeof REGISTRY[0]));
  bf_model *mod = REGISTRY[p->net.arch](p);
  mod->quadrature = p->kernel.quadrature;
  mod->order = p->kernel.order;
  return mod;
}

void bf_model_destroy(bf_model **mod)
{
  if (!*mod) return;
  (*mod)->ops->destroy(*mod);
  free(*mod);
  *mod = NULL;
}

void bf_model_sample(const bf_model *mod, uint64_t seed, int64_t member, double *theta)
{
  mod->ops->sample(mod, seed, member, theta);
}

void bf_model_prior_sd(const bf_model *mod, double *sd)
{
  double *all = BF_ALLOC(mod->P, double);
  mod->ops->prior_sd(mod, all);
  memcpy(sd, all + mod->t0, sizeof(double) * mod->Pt);
  free(all);
}

bf_plan *bf_model_plan_create(const bf_model *mod, int64_t npts)
{
  return mod->ops->plan_create(mod, npts > 0 ? npts : 1);
}

void bf_model_plan_destroy(bf_plan **w)
{
  if (!*w) return;
  /* the plan's first member is its model (model_*.c) */
  const bf_model *mod = *(const bf_model *const *)*w;
  mod->ops->plan_destroy(*w);
  *w = NULL;
}

void bf_model_forward(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                      const double *x, double *f)
{
  mod->ops->forward(mod, w, theta, npts, x, f);
}

void bf_model_record(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                     const double *x, double *f)
{
  mod->ops->record(mod, w, theta, npts, x, f);
}

void bf_model_vjp(const bf_model *mod, bf_plan *w, const double *r, double *grad)
{
  mod->ops->vjp(mod, w, r, grad);
}

void bf_model_gradient(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                       const double *x, const double *y, double scale, double *f,
                       double *grad)
{
  if (mod->ops->gradient) {
    mod->ops->gradient(mod, w, theta, npts, x, y, scale, f, grad);
    return;
  }
  mod->ops->record(mod, w, theta, npts, x, f);
  double *r = BF_ALLOC(npts, double); /* (architectures without the op) */
  for (int64_t k = 0; k < npts; k++) r[k] = scale * (f[k] - y[k]);
  mod->ops->vjp(mod, w, r, grad);
  free(r);
}

void bf_model_jacobian_rows(const bf_model *mod, bf_plan *w, double *J)
{
  mod->ops->jacobian(mod, w, J);
}

void bf_model_gram(const bf_model *mod, bf_plan *r, bf_plan *c, double *G)
{
  mod->ops->gram(mod, r, c, G);
}

void bf_model_diag(const bf_model *mod, bf_plan *w, double *acc)
{
  mod->ops->diag(mod, w, acc);
}

int bf_model_kernel(MPI_Comm comm, const bf_model *mod, int kind, const double *xa,
                    int64_t na, const double *xb, int64_t nb, double *K)
{
  return mod->ops->kernel ? mod->ops->kernel(comm, mod, kind, xa, na, xb, nb, K) : 0;
}

bf_kernel_entries *bf_model_kernel_entries(const bf_model *mod, int kind, int64_t na,
                                           const double *xa, int64_t nb, const double *xb)
{
  return mod->ops->kernel_entries ? mod->ops->kernel_entries(mod, kind, na, xa, nb, xb) : NULL;
}

void bf_kernel_entries_destroy(bf_kernel_entries **ke)
{
  if (!*ke) return;
  (*ke)->destroy(*ke);
  *ke = NULL;
}

void bf_model_predict(const bf_model *mod, const double *theta, int64_t m,
                      const double *x, double *f)
{
  bf_plan *w = bf_model_plan_create(mod, m);
  bf_model_forward(mod, w, theta, m, x, f);
  bf_model_plan_destroy(&w);
}

void bf_model_jacobian(const bf_model *mod, const double *theta, int64_t m,
                       const double *x, double *J)
{
  bf_plan *w = bf_model_plan_create(mod, m);
  bf_model_record(mod, w, theta, m, x, NULL);
  bf_model_jacobian_rows(mod, w, J);
  bf_model_plan_destroy(&w);
}
