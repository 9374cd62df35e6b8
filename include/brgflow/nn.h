/* nn.h — networks and ensembles (the "sample" stage).
 *
 * The generalized cos-net of SCIENCE.md 1a,
 *   f(x) = sum_i a_i A cos(b_i . x + c_i) / sqrt(b_i^2 + m^2),
 * and an ensemble of networks distributed over ranks in contiguous blocks.
 * Parameter vector theta (the output contract): a (N), then b (N x d,
 * row-major), then c (N). */
#ifndef BRGFLOW_NN_H
#define BRGFLOW_NN_H

#include "brgflow/core.h"
#include "brgflow/input.h"

typedef struct bf_cosnet {
  int d, width, momenta; /* momenta: enum bf_momenta */
  double mass, cutoff, sigma_a;
  double amp;      /* normalization A */
  bf_lattice lat;  /* the lattice the momenta live on (lattice momenta) */
  int64_t nmom;    /* M = |B_R| for lattice momenta */
  double *mom;     /* B_R, nmom x d, lattice momenta only */
} bf_cosnet;

bf_cosnet *bf_cosnet_create(const bf_params *p);
void bf_cosnet_destroy(bf_cosnet **net);
int64_t bf_cosnet_nparams(const bf_cosnet *net);
/* A for the given momentum mode (SCIENCE.md 1a). */
double bf_cosnet_amplitude(const bf_cosnet *net);
/* Draw member `member`'s parameters from its own streams. */
void bf_cosnet_sample(const bf_cosnet *net, uint64_t seed, int64_t member,
                      double *theta);
/* phi[k] = f_theta(x_k) for npts points x (npts x d, row-major). */
void bf_cosnet_field(const bf_cosnet *net, const double *theta, int64_t npts,
                     const double *x, double *phi);

/* The same on the grid box {n s : n in [0,B)^d} (B^d sites, row-major):
 * separable phases, the fast kernel used by the measurements. */
void bf_cosnet_field_grid(const bf_cosnet *net, const double *theta, int B,
                          double s, double *phi);

/* ---- activations (src/nn/activation.c) ---------------------------------- */
typedef double (*bf_gauss2)(double k11, double k22, double k12);
typedef struct bf_activation {
  const char *name;
  double (*phi)(double);
  double (*dphi)(double);
  bf_gauss2 ephi;  /* closed form of E[phi(u)phi(v)], or NULL */
  bf_gauss2 edphi; /* closed form of E[phi'(u)phi'(v)], or NULL */
  int kink;        /* phi or phi' not smooth at 0: quadrature splits there */
} bf_activation;
const bf_activation *bf_activation_get(int index);
int bf_activation_count(void);

/* ---- the deep MLP of SCIENCE.md 1b (src/nn/mlp.c) -------------------------
 * NTK parameterization: h^1 = sw W^1 x/sqrt(d) + sb b^1,
 * h^{l+1} = sw W^{l+1} phi(h^l)/sqrt(N) + sb b^{l+1}, f = h^{L+1}, W, b ~ N(0,1).
 * Standard: the same scales put in the prior, W ~ N(0, sw^2/fan_in),
 * b ~ N(0, sb^2).  theta: for l = 1..L+1, W^l row-major (out x in), b^l. */
#define BF_MLP_MAX_LAYERS 17 /* depth 16 + output */
typedef struct bf_mlp {
  int d, depth, width, parameterization;
  double sigma_w, sigma_b;
  const bf_activation *act;
  int64_t nparams;
  int64_t woff[BF_MLP_MAX_LAYERS + 1], boff[BF_MLP_MAX_LAYERS + 1]; /* W^l, b^l */
} bf_mlp;

bf_mlp *bf_mlp_create(const bf_params *p);
void bf_mlp_destroy(bf_mlp **net);
int bf_mlp_fan_in(const bf_mlp *net, int l);
int bf_mlp_fan_out(const bf_mlp *net, int l);
void bf_mlp_sample(const bf_mlp *net, uint64_t seed, int64_t member,
                   double *theta);
/* Workspace for forward passes over up to npts points at once. */
typedef struct bf_mlp_work bf_mlp_work;
bf_mlp_work *bf_mlp_work_create(const bf_mlp *net, int64_t npts);
void bf_mlp_work_destroy(bf_mlp_work **w);
/* f[k] = f_theta(x_k), x npts x d row-major: one dgemm per layer. */
void bf_mlp_forward(const bf_mlp *net, const double *theta, int64_t npts,
                    const double *x, bf_mlp_work *w, double *f);
/* The forward scale alpha_l of W^l and beta_l of b^l (1 in the standard
 * parameterization). */
double bf_mlp_alpha(const bf_mlp *net, int l);
double bf_mlp_beta(const bf_mlp *net, int l);

/* Forward values and per-point backprop signals at npts points:
 * a[0] = x, z[l], a[l] = phi(z[l]) (a[L+1] = f), delta[l] = df/dz^l. */
typedef struct bf_mlp_tape {
  int64_t npts, recorded;
  double *z[BF_MLP_MAX_LAYERS + 1], *a[BF_MLP_MAX_LAYERS + 1],
      *delta[BF_MLP_MAX_LAYERS + 1];
} bf_mlp_tape;
bf_mlp_tape *bf_mlp_tape_create(const bf_mlp *net, int64_t npts);
void bf_mlp_tape_destroy(bf_mlp_tape **t);
/* Forward and backward over all points at once (BLAS-3). */
void bf_mlp_record(const bf_mlp *net, const double *theta, int64_t npts,
                   const double *x, bf_mlp_tape *t);
/* grad = sum_k r_k df(x_k)/dtheta over the recorded points (P entries). */
void bf_mlp_vjp(const bf_mlp *net, const bf_mlp_tape *t, const double *r,
                double *grad);
/* row = df(x_k)/dtheta: row k of the Jacobian J (P entries). */
void bf_mlp_jacobian_row(const bf_mlp *net, const bf_mlp_tape *t, int64_t k,
                         double *row);

typedef struct bf_ensemble {
  MPI_Comm comm;   /* duplicated: the ensemble's traffic is its own */
  int64_t members; /* E, global */
  int64_t first, count; /* this rank's contiguous block of members */
  int64_t nparams; /* P */
  double *theta;   /* count x P, this rank's members */
} bf_ensemble;

bf_ensemble *bf_ensemble_create(MPI_Comm comm, int64_t members, int64_t nparams);
void bf_ensemble_destroy(bf_ensemble **ens);
void bf_ensemble_sample_cosnet(bf_ensemble *ens, const bf_cosnet *net,
                               uint64_t seed);
void bf_ensemble_sample_mlp(bf_ensemble *ens, const bf_mlp *net, uint64_t seed);

#endif
