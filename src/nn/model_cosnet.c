/* model_cosnet.c — the generalized cos-net behind the model interface.
 *
 *   bf_model_cosnet_create  the cos-net of [network] and [cosnet]
 *
 * The cos-net trains its readout a, so f = Phi a is linear in the trained
 * block, with features Phi_ki = A cos(b_i.x_k + c_i)/sqrt(b_i^2 + m^2)
 * (docs/theory.md a, i).  Every derivative is a product with Phi. */
#include "brgflow/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cos_plan {
  const bf_model *mod; /* first: bf_model_plan_destroy reads it */
  int64_t npts, recorded;
  double *phi;         /* npts x N features */
} cos_plan;

static const bf_cosnet *cosnet(const bf_model *mod) { return mod->net; }

static void cos_destroy(bf_model *mod)
{
  bf_cosnet *net = mod->net;
  bf_cosnet_destroy(&net);
}

static void cos_sample(const bf_model *mod, uint64_t seed, int64_t member, double *theta)
{
  bf_cosnet_sample(cosnet(mod), seed, member, theta);
}

/* a_i ~ N(0, sa^2/N); b and c are not Gaussian and never trained: 0. */
static void cos_prior_sd(const bf_model *mod, double *sd)
{
  const bf_cosnet *net = cosnet(mod);
  for (int64_t k = 0; k < mod->P; k++)
    sd[k] = k < net->width ? net->sigma_a / sqrt((double)net->width) : 0.0;
}

static bf_plan *cos_plan_create(const bf_model *mod, int64_t npts)
{
  cos_plan *w = BF_CALLOC(1, cos_plan);
  w->mod = mod;
  w->npts = npts;
  w->phi = BF_ALLOC(npts * cosnet(mod)->width, double);
  return (bf_plan *)w;
}

static void cos_plan_destroy(bf_plan *plan)
{
  cos_plan *w = (cos_plan *)plan;
  free(w->phi);
  free(w);
}

static void cos_forward(const bf_model *mod, bf_plan *plan, const double *theta,
                        int64_t npts, const double *x, double *f)
{
  (void)plan;
  bf_cosnet_field(cosnet(mod), theta, npts, x, f);
}

static void cos_record(const bf_model *mod, bf_plan *plan, const double *theta,
                       int64_t npts, const double *x, double *f)
{
  cos_plan *w = (cos_plan *)plan;
  const bf_cosnet *net = cosnet(mod);
  const int64_t N = net->width, d = net->d;
  const double *b = theta + N, *c = theta + N + N * d;
  BF_ASSERT(npts <= w->npts);
  for (int64_t i = 0; i < N; i++) {
    double b2 = 0;
    for (int j = 0; j < d; j++) b2 += b[i * d + j] * b[i * d + j];
    double amp = net->amp / sqrt(b2 + net->mass * net->mass);
    for (int64_t k = 0; k < npts; k++) {
      double arg = c[i];
      for (int j = 0; j < d; j++) arg += b[i * d + j] * x[k * d + j];
      w->phi[k * N + i] = amp * cos(arg);
    }
  }
  w->recorded = npts;
  if (f)
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)npts, (int)N, 1.0, w->phi, (int)N, theta,
                1, 0.0, f, 1);
}

static void cos_vjp(const bf_model *mod, bf_plan *plan, const double *r, double *grad)
{
  cos_plan *w = (cos_plan *)plan;
  int N = cosnet(mod)->width;
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)w->recorded, N, 1.0, w->phi, N, r, 1, 0.0,
              grad, 1);
}

static void cos_jacobian(const bf_model *mod, bf_plan *plan, double *J)
{
  cos_plan *w = (cos_plan *)plan;
  memcpy(J, w->phi, sizeof(double) * w->recorded * cosnet(mod)->width);
}

static void cos_gram(const bf_model *mod, bf_plan *pr, bf_plan *pc, double *G)
{
  cos_plan *r = (cos_plan *)pr, *c = (cos_plan *)pc;
  int N = cosnet(mod)->width;
  /* column-major G (mr x mc) = row-major G^T (mc x mr) = Phi_C Phi_R^T */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->recorded, (int)r->recorded,
              N, 1.0, c->phi, N, r->phi, N, 0.0, G, (int)r->recorded);
}

static void cos_diag(const bf_model *mod, bf_plan *plan, double *acc)
{
  cos_plan *w = (cos_plan *)plan;
  int64_t N = cosnet(mod)->width;
  for (int64_t k = 0; k < w->recorded; k++)
    for (int64_t i = 0; i < N; i++) acc[i] += w->phi[k * N + i] * w->phi[k * N + i];
}

/* Lattice momenta: the tangent kernel E[Phi(x).Phi(y)] = N/(sa^2 V)
 * sum_q cos(q.(x - y))/(q^2 + m^2), and the prior kernel G2 = sa^2/N times
 * it (docs/theory.md a); unknown for continuum momenta.  Each entry is its
 * own momentum sum, so any entries can be computed alone. */
static int cos_has_kernel(const bf_cosnet *net, int kind)
{
  return net->momenta == BF_MOMENTA_LATTICE && kind != BF_KERNEL_NTK;
}

static double cos_kernel_scale(const bf_cosnet *net, int kind)
{
  double V = pow(net->lat.L * net->lat.s, net->d);
  return kind == BF_KERNEL_PRIOR ? 1.0 / V
                                 : (double)net->width / (net->sigma_a * net->sigma_a) / V;
}

/* sum_q cos(q.(x - y))/(q^2 + m^2) */
static double momentum_sum(const bf_cosnet *net, const double *x, const double *y)
{
  int d = net->d;
  double m2 = net->mass * net->mass, s = 0;
  for (int64_t q = 0; q < net->nmom; q++) {
    double ph = 0, q2 = 0;
    for (int c = 0; c < d; c++) {
      double qc = net->mom[q * d + c];
      ph += qc * (x[c] - y[c]);
      q2 += qc * qc;
    }
    s += cos(ph) / (q2 + m2);
  }
  return s;
}

static int cos_kernel(MPI_Comm comm, const bf_model *mod, int kind, const double *xa,
                      int64_t na, const double *xb, int64_t nb, double *K)
{
  (void)comm;
  const bf_cosnet *net = cosnet(mod);
  if (!cos_has_kernel(net, kind)) return 0;
  double scale = cos_kernel_scale(net, kind);
  for (int64_t i = 0; i < na; i++)
    for (int64_t j = 0; j < nb; j++)
      K[i * nb + j] = scale * momentum_sum(net, xa + i * net->d, xb + j * net->d);
  return 1;
}

typedef struct cos_entries {
  bf_kernel_entries base; /* first: the interface casts to it */
  const bf_cosnet *net;
  double scale;
  const double *xa, *xb;
} cos_entries;

static double cos_entry(bf_kernel_entries *ke, int64_t i, int64_t j)
{
  cos_entries *e = (cos_entries *)ke;
  return e->scale * momentum_sum(e->net, e->xa + i * e->net->d, e->xb + j * e->net->d);
}

static void cos_entries_destroy(bf_kernel_entries *ke) { free(ke); }

static bf_kernel_entries *cos_kernel_entries(const bf_model *mod, int kind, int64_t na,
                                             const double *xa, int64_t nb, const double *xb)
{
  (void)na, (void)nb;
  const bf_cosnet *net = cosnet(mod);
  if (!cos_has_kernel(net, kind)) return NULL;
  cos_entries *e = BF_CALLOC(1, cos_entries);
  e->base.entry = cos_entry, e->base.destroy = cos_entries_destroy;
  e->net = net, e->scale = cos_kernel_scale(net, kind), e->xa = xa, e->xb = xb;
  return &e->base;
}

static const bf_model_ops COSNET_OPS = {
  .name = "cosnet",
  .destroy = cos_destroy,
  .sample = cos_sample,
  .prior_sd = cos_prior_sd,
  .plan_create = cos_plan_create,
  .plan_destroy = cos_plan_destroy,
  .forward = cos_forward,
  .record = cos_record,
  .vjp = cos_vjp,
  .jacobian = cos_jacobian,
  .gram = cos_gram,
  .diag = cos_diag,
  .kernel = cos_kernel,
  .kernel_entries = cos_kernel_entries,
};

bf_model *bf_model_cosnet_create(const bf_params *p)
{
  bf_model *mod = BF_CALLOC(1, bf_model);
  bf_cosnet *net = bf_cosnet_create(p);
  mod->ops = &COSNET_OPS;
  mod->net = net;
  mod->d = net->d;
  mod->P = bf_cosnet_nparams(net);
  mod->t0 = 0;
  mod->Pt = net->width;
  mod->linear = 1;
  mod->free_field = net;
  mod->width = net->width;
  snprintf(mod->kernel_method, sizeof mod->kernel_method,
           "lattice momentum sum (lattice momenta only)");
  snprintf(mod->describe, sizeof mod->describe, "cos-net, d = %d, N = %d, %s momenta, "
           "m = %g, R = %g", net->d, net->width,
           net->momenta == BF_MOMENTA_LATTICE ? "lattice" : "continuum", net->mass,
           net->cutoff);
  return mod;
}
