/* model_mlp.c — the layer stack behind the model interface.
 *
 *   bf_model_mlp_create  the stack of [network], its trained block
 *   bf_model_mlp         the stack behind a model (NULL for other archs)
 *
 * The trained block is every parameter, or the readout (W^{L+1}, b^{L+1}),
 * which sits at the end of theta; f is linear in the readout.  The dual
 * Gram and the diagonal Fisher come from per-layer pieces, J never formed
 * (docs/theory.md i):
 *   G_RC = sum_l [alpha_l^2 (D_R D_C^T) o (A_R A_C^T) + beta_l^2 D_R D_C^T],
 *   I_{W^l_ij} = alpha_l^2 sum_k delta[k,i]^2 a[k,j]^2,  I_{b^l_i} = beta_l^2 sum_k delta^2,
 * with D = delta^l and A = a^{l-1} (o: elementwise). */
#include "brgflow/nn.h"
#include "brgflow/nnft.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mlp_plan {
  const bf_model *mod; /* first: bf_model_plan_destroy reads it */
  int64_t npts;
  bf_mlp_work *work;   /* forward passes */
  bf_mlp_tape *tape;   /* record: made on first use, then reused */
  double *row;         /* one full Jacobian row (P) */
} mlp_plan;

static const bf_mlp *stack(const bf_model *mod) { return mod->net; }

static void mlp_destroy(bf_model *mod)
{
  bf_mlp *net = mod->net;
  bf_mlp_destroy(&net);
}

static void mlp_sample(const bf_model *mod, uint64_t seed, int64_t member, double *theta)
{
  bf_mlp_sample(stack(mod), seed, member, theta);
}

static void mlp_prior_sd(const bf_model *mod, double *sd)
{
  const bf_mlp *net = stack(mod);
  for (int l = 1; l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    for (int64_t k = ly->woff; k < ly->boff; k++) sd[k] = ly->sd_w;
    if (ly->bias)
      for (int64_t k = ly->boff; k < ly->boff + ly->out; k++) sd[k] = ly->sd_b;
  }
}

static bf_plan *mlp_plan_create(const bf_model *mod, int64_t npts)
{
  mlp_plan *w = BF_CALLOC(1, mlp_plan);
  w->mod = mod;
  w->npts = npts;
  w->work = bf_mlp_work_create(stack(mod), npts);
  return (bf_plan *)w;
}

static void mlp_plan_destroy(bf_plan *plan)
{
  mlp_plan *w = (mlp_plan *)plan;
  bf_mlp_work_destroy(&w->work);
  bf_mlp_tape_destroy(&w->tape);
  free(w->row);
  free(w);
}

static void mlp_forward(const bf_model *mod, bf_plan *plan, const double *theta,
                        int64_t npts, const double *x, double *f)
{
  bf_mlp_forward(stack(mod), theta, npts, x, ((mlp_plan *)plan)->work, f);
}

static void mlp_record(const bf_model *mod, bf_plan *plan, const double *theta,
                       int64_t npts, const double *x, double *f)
{
  mlp_plan *w = (mlp_plan *)plan;
  const bf_mlp *net = stack(mod);
  BF_ASSERT(npts <= w->npts);
  if (w->tape && w->tape->npts < npts) bf_mlp_tape_destroy(&w->tape); /* a gradient block's */
  if (!w->tape) w->tape = bf_mlp_tape_create(net, w->npts);
  bf_mlp_record_from(net, theta, npts, x, bf_mlp_first_layer(stack(mod), mod->t0), w->tape);
  if (f) memcpy(f, w->tape->a[net->depth + 1], sizeof(double) * npts);
}

static void mlp_vjp(const bf_model *mod, bf_plan *plan, const double *r, double *grad)
{
  bf_mlp_vjp(stack(mod), ((mlp_plan *)plan)->tape, r, mod->t0, grad);
}

static void mlp_gradient(const bf_model *mod, bf_plan *plan, const double *theta,
                         int64_t npts, const double *x, const double *y, double scale,
                         double *f, double *grad)
{
  mlp_plan *w = (mlp_plan *)plan;
  BF_ASSERT(npts <= w->npts);
  if (!w->tape) w->tape = bf_mlp_tape_create(stack(mod), bf_mlp_gradient_block(stack(mod), w->npts));
  bf_mlp_gradient(stack(mod), theta, npts, x, y, scale, mod->t0, w->tape, f, grad);
}

static void mlp_jacobian(const bf_model *mod, bf_plan *plan, double *J)
{
  mlp_plan *w = (mlp_plan *)plan;
  if (!w->row) w->row = BF_ALLOC(mod->P, double);
  for (int64_t k = 0; k < w->tape->recorded; k++) {
    bf_mlp_jacobian_row(stack(mod), w->tape, k, w->row);
    memcpy(J + k * mod->Pt, w->row + mod->t0, sizeof(double) * mod->Pt);
  }
}

static void mlp_gram(const bf_model *mod, bf_plan *pr, bf_plan *pc, double *G)
{
  const bf_mlp *net = stack(mod);
  const bf_mlp_tape *tr = ((mlp_plan *)pr)->tape, *tc = ((mlp_plan *)pc)->tape;
  int64_t mr = tr->recorded, mc = tc->recorded;
  double *dd = BF_ALLOC(mr * mc, double), *aa = BF_ALLOC(mr * mc, double);
  memset(G, 0, sizeof(double) * mr * mc);
  for (int l = bf_mlp_first_layer(stack(mod), mod->t0); l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    double a2 = ly->alpha * ly->alpha, b2 = ly->bias ? ly->beta * ly->beta : 0.0;
    /* column-major (mr x mc) blocks = row-major (mc x mr) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mc, (int)mr, ly->out, 1.0,
                tc->delta[l], ly->out, tr->delta[l], ly->out, 0.0, dd, (int)mr);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mc, (int)mr, ly->in, 1.0,
                tc->a[l - 1], ly->in, tr->a[l - 1], ly->in, 0.0, aa, (int)mr);
    for (int64_t k = 0; k < mr * mc; k++) G[k] += dd[k] * (a2 * aa[k] + b2);
  }
  free(dd), free(aa);
}

static void mlp_diag(const bf_model *mod, bf_plan *plan, double *diag)
{
  const bf_mlp *net = stack(mod);
  const bf_mlp_tape *t = ((mlp_plan *)plan)->tape;
  int64_t m = t->recorded;
  for (int l = bf_mlp_first_layer(stack(mod), mod->t0); l <= net->depth + 1; l++) {
    const bf_layer *ly = &net->layer[l];
    int nin = ly->in, nout = ly->out;
    double a2 = ly->alpha * ly->alpha, b2 = ly->beta * ly->beta;
    double *d2 = BF_ALLOC(m * nout, double), *s2 = BF_ALLOC(m * nin, double);
    for (int64_t q = 0; q < m * nout; q++) d2[q] = t->delta[l][q] * t->delta[l][q];
    for (int64_t q = 0; q < m * nin; q++) s2[q] = t->a[l - 1][q] * t->a[l - 1][q];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, (int)m, a2, d2, nout,
                s2, nin, 1.0, diag + ly->woff - mod->t0, nin);
    if (ly->bias)
      for (int i = 0; i < nout; i++)
        for (int64_t k = 0; k < m; k++) diag[ly->boff - mod->t0 + i] += b2 * d2[k * nout + i];
    free(d2), free(s2);
  }
}

/* Outside the ntk parameterization the tangent kernel of theta as stored
 * grows with the widths: there is no infinite-width limit to compare with. */
static int mlp_has_kernel(const bf_model *mod, int kind)
{
  return kind != BF_KERNEL_TANGENT || stack(mod)->parameterization == BF_PARAM_NTK;
}

/* The kernel of `kind` from the output layer's K and Theta at an entry. */
static double mlp_kind_value(const bf_model *mod, int kind, double K, double T)
{
  const bf_layer *out = &stack(mod)->layer[stack(mod)->depth + 1];
  if (kind == BF_KERNEL_NTK || (kind == BF_KERNEL_TANGENT && mod->t0 == 0)) return T;
  if (kind != BF_KERNEL_TANGENT) return K;
  /* the readout's: E[a.a] alpha^2 + beta^2 */
  return (K - (out->bias ? out->beta * out->beta * out->sd_b * out->sd_b : 0)) /
             (out->sd_w * out->sd_w) +
         (out->bias ? out->beta * out->beta : 0);
}

/* The kernels between xa and xb: the recursion runs on the joint point set
 * (docs/theory.md g), then the cross block is cut out. */
static int mlp_kernel(MPI_Comm comm, const bf_model *mod, int kind, const double *xa,
                      int64_t na, const double *xb, int64_t nb, double *K)
{
  const bf_mlp *net = stack(mod);
  if (!mlp_has_kernel(mod, kind)) return 0;
  int d = net->d;
  int64_t n = na + nb;
  double *x = BF_ALLOC(n * d, double);
  memcpy(x, xa, sizeof(double) * na * d);
  memcpy(x + na * d, xb, sizeof(double) * nb * d);
  double *Kn = BF_ALLOC(n * n, double), *Tn = BF_ALLOC(n * n, double);
  if (bf_kernels(comm, net, n, x, mod->quadrature, mod->order, Kn, Tn) == BF_STOPPED) {
    free(x), free(Kn), free(Tn);
    return 0; /* stopped: no kernel (bf_stopped() tells the stages why) */
  }
  for (int64_t i = 0; i < na; i++)
    for (int64_t j = 0; j < nb; j++) {
      int64_t ij = i * n + na + j;
      K[i * nb + j] = mlp_kind_value(mod, kind, Kn[ij], Tn[ij]);
    }
  free(x), free(Kn), free(Tn);
  return 1;
}

/* Entries: each point's diagonal recursion once, then pairs on demand. */
typedef struct mlp_entries {
  bf_kernel_entries base; /* first: the interface casts to it */
  const bf_model *mod;
  int kind, depth;
  const double *xa, *xb;
  double *da, *db; /* na x depth, nb x depth: K^l(x, x) */
  bf_kernel_plan *kp;
} mlp_entries;

static double mlp_entry(bf_kernel_entries *ke, int64_t i, int64_t j)
{
  mlp_entries *e = (mlp_entries *)ke;
  int d = stack(e->mod)->d;
  double K, T;
  bf_kernel_pair(e->kp, e->xa + i * d, e->da + i * e->depth, e->xb + j * d,
                 e->db + j * e->depth, &K, &T);
  ke->worst_var = bf_kernel_plan_worst_var(e->kp);
  return mlp_kind_value(e->mod, e->kind, K, T);
}

static void mlp_entries_destroy(bf_kernel_entries *ke)
{
  mlp_entries *e = (mlp_entries *)ke;
  bf_kernel_plan_destroy(&e->kp);
  free(e->da), free(e->db), free(e);
}

static bf_kernel_entries *mlp_kernel_entries(const bf_model *mod, int kind, int64_t na,
                                             const double *xa, int64_t nb, const double *xb)
{
  if (!mlp_has_kernel(mod, kind)) return NULL;
  const bf_mlp *net = stack(mod);
  mlp_entries *e = BF_CALLOC(1, mlp_entries);
  e->base.entry = mlp_entry, e->base.destroy = mlp_entries_destroy;
  e->mod = mod, e->kind = kind, e->depth = net->depth, e->xa = xa, e->xb = xb;
  e->kp = bf_kernel_plan_create(net, mod->quadrature, mod->order);
  e->da = BF_ALLOC(na * net->depth + 1, double);
  e->db = BF_ALLOC(nb * net->depth + 1, double);
  for (int64_t i = 0; i < na; i++) bf_kernel_diag(e->kp, xa + i * net->d, e->da + i * net->depth);
  for (int64_t j = 0; j < nb; j++) bf_kernel_diag(e->kp, xb + j * net->d, e->db + j * net->depth);
  return &e->base;
}

static const bf_model_ops MLP_OPS = {
  .name = "mlp",
  .destroy = mlp_destroy,
  .sample = mlp_sample,
  .prior_sd = mlp_prior_sd,
  .plan_create = mlp_plan_create,
  .plan_destroy = mlp_plan_destroy,
  .forward = mlp_forward,
  .record = mlp_record,
  .vjp = mlp_vjp,
  .gradient = mlp_gradient,
  .jacobian = mlp_jacobian,
  .gram = mlp_gram,
  .diag = mlp_diag,
  .kernel = mlp_kernel,
  .kernel_entries = mlp_kernel_entries,
};

bf_model *bf_model_mlp_create(const bf_params *p)
{
  bf_model *mod = BF_CALLOC(1, bf_model);
  bf_mlp *net = bf_mlp_create(p);
  mod->ops = &MLP_OPS;
  mod->net = net;
  mod->d = net->d;
  mod->P = net->nparams;
  mod->t0 = p->train.trainable == BF_TRAIN_READOUT ? net->layer[net->depth + 1].woff : 0;
  mod->Pt = mod->P - mod->t0;
  mod->linear = p->train.trainable == BF_TRAIN_READOUT;
  bf_mlp_describe(net, mod->describe, sizeof mod->describe);
  mod->width = net->layer[net->depth].out;
  int closed = p->kernel.quadrature == BF_QUAD_AUTO, kinked = 0, smooth = 0, forms = 1;
  for (int l = 1; l <= net->depth; l++) {
    const bf_activation *a = net->layer[l].act;
    forms &= closed && a->ephi && a->edphi;
    kinked |= a->kink && !(closed && a->ephi);
    smooth |= !a->kink && !(closed && a->ephi);
  }
  snprintf(mod->kernel_method, sizeof mod->kernel_method, "%s",
           forms ? "closed form"
           : kinked && smooth ? "closed forms where known, else quadrature (polar rule split "
                                "at the kinks; 2-d Gauss-Hermite)"
           : kinked ? "quadrature: polar rule split at the kinks"
                    : "quadrature: 2-d Gauss-Hermite");
  return mod;
}

const bf_mlp *bf_model_mlp(const bf_model *mod)
{
  return mod && mod->ops == &MLP_OPS ? mod->net : NULL;
}
