/* nn.h — networks, the one model interface, and ensembles (the "sample"
 * stage).
 *
 * The generalized cos-net of docs/theory.md a,
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
/* A for the given momentum mode (docs/physics.md 1a). */
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

/* ---- activations (src/nn/activation.c) ----------------------------------
 * A row of the table: phi and phi' per element (reference kernels,
 * quadrature), the same per array (the fast kernels: the dispatch happens
 * once per array, so the loop inside vectorizes), and the closed-form
 * Gaussian expectations where known. */
typedef double (*bf_gauss2)(double k11, double k22, double k12);
typedef struct bf_activation {
  const char *name;
  double (*phi)(double);
  double (*dphi)(double);
  bf_gauss2 ephi;  /* closed form of E[phi(u)phi(v)], or NULL */
  bf_gauss2 edphi; /* closed form of E[phi'(u)phi'(v)], or NULL */
  int kink;        /* phi or phi' not smooth at 0: quadrature splits there */
  /* z[k*n + i] += beta b[i] (b may be NULL), then a = phi(z), for npts x n */
  void (*bias_phi)(int64_t npts, int n, double beta, const double *b, double *z,
                   double *a);
  /* delta[k] *= phi'(z[k]) for k < len, given a = phi(z) too (tanh and
   * sigmoid take phi' from a: no second transcendental) */
  void (*mul_dphi)(int64_t len, const double *z, const double *a, double *delta);
} bf_activation;
const bf_activation *bf_activation_get(int index);
int bf_activation_count(void);

/* ---- layer stacks: any feed-forward network (src/nn/mlp.c) ---------------
 * Hidden layers l = 1..L, each with its own width N_l, activation phi_l and
 * (optionally no) bias, and a linear readout l = L + 1 of width 1:
 *   z^l = alpha_l W^l a^{l-1} + beta_l b^l,  a^l = phi_l(z^l),  f = z^{L+1},
 * a^0 = x.  Parameterizations (docs/theory.md m):
 *   ntk:      alpha_l = sw/sqrt(N_{l-1}), beta_l = sb,  W, b ~ N(0, 1)
 *   standard: alpha = beta = 1,  W ~ N(0, sw^2/N_{l-1}), b ~ N(0, sb^2)
 *   unscaled: alpha = beta = 1,  W ~ N(0, sw^2),         b ~ N(0, sb^2)
 * theta: for l = 1..L+1, W^l row-major (out x in), then b^l if present. */
typedef struct bf_layer {
  int in, out;              /* fan-in N_{l-1} and fan-out N_l */
  const bf_activation *act; /* phi_l; NULL for the linear readout */
  int bias;                 /* 1: b^l is part of theta */
  double alpha, beta;       /* forward scales of W^l and b^l */
  double sd_w, sd_b;        /* prior standard deviations of W^l and b^l */
  int64_t woff, boff;       /* offsets of W^l and b^l in theta */
} bf_layer;

typedef struct bf_mlp {
  int d, depth;             /* input dimension, hidden layers L */
  int parameterization;     /* enum bf_param */
  double sigma_w, sigma_b;
  bf_layer *layer;          /* layer[1..depth+1]; layer[0] unused */
  int max_units;            /* widest fan-in or fan-out */
  int64_t nparams;
} bf_mlp;

/* From [network]: widths/activations lists, or depth x width uniform. */
bf_mlp *bf_mlp_create(const bf_params *p);
void bf_mlp_destroy(bf_mlp **net);
int bf_mlp_fan_in(const bf_mlp *net, int l);
int bf_mlp_fan_out(const bf_mlp *net, int l);
/* The forward scales alpha_l of W^l and beta_l of b^l. */
double bf_mlp_alpha(const bf_mlp *net, int l);
double bf_mlp_beta(const bf_mlp *net, int l);
void bf_mlp_sample(const bf_mlp *net, uint64_t seed, int64_t member,
                   double *theta);
/* The layer whose W starts at offset t0 of theta (the first trained one). */
int bf_mlp_first_layer(const bf_mlp *net, int64_t t0);
/* "2 -> 10 linear -> 10 relu -> 2000 relu -> 1, no bias, unscaled" */
void bf_mlp_describe(const bf_mlp *net, char *buf, size_t n);

/* Forward workspace for up to npts points: created once, executed many
 * times (plan -> execute -> destroy). */
typedef struct bf_mlp_work bf_mlp_work;
bf_mlp_work *bf_mlp_work_create(const bf_mlp *net, int64_t npts);
void bf_mlp_work_destroy(bf_mlp_work **w);
/* f[k] = f_theta(x_k), x npts x d row-major (the fast kernel). */
void bf_mlp_forward(const bf_mlp *net, const double *theta, int64_t npts,
                    const double *x, bf_mlp_work *w, double *f);

/* Forward values and per-point backprop signals at up to npts points:
 * a[0] = x, z[l], a[l] = phi_l(z[l]) (a[L+1] = f), delta[l] = df/dz^l for
 * l >= first (the lowest layer whose parameters are differentiated;
 * nothing needs df/dx). */
typedef struct bf_mlp_tape {
  int64_t npts, recorded;
  int layers;         /* depth + 1 */
  int first;          /* lowest layer whose signals are recorded */
  double **z, **a, **delta; /* [0..depth+1] */
  double *scratch;    /* npts x max_units, for the VJP */
} bf_mlp_tape;
bf_mlp_tape *bf_mlp_tape_create(const bf_mlp *net, int64_t npts);
void bf_mlp_tape_destroy(bf_mlp_tape **t);
/* Forward and backward over all points at once (the fast kernel); signals
 * down to layer `first` (1: every layer; depth + 1: the readout only). */
void bf_mlp_record_from(const bf_mlp *net, const double *theta, int64_t npts,
                        const double *x, int first, bf_mlp_tape *t);
void bf_mlp_record(const bf_mlp *net, const double *theta, int64_t npts,
                   const double *x, bf_mlp_tape *t);
/* grad[A - t0] = sum_k r_k df(x_k)/dtheta_A for A >= t0 (the block from
 * offset t0 on), over the recorded points.  Allocates nothing. */
void bf_mlp_vjp(const bf_mlp *net, const bf_mlp_tape *t, const double *r,
                int64_t t0, double *grad);
/* The training gradient in one pass: f (npts) and grad[A - t0] = sum_k
 * scale (f_k - y_k) df(x_k)/dtheta_A, recorded block by block of points
 * (bf_mlp_gradient_block: a block's tape stays in cache); t needs room for
 * one block. */
int64_t bf_mlp_gradient_block(const bf_mlp *net, int64_t npts);
void bf_mlp_gradient(const bf_mlp *net, const double *theta, int64_t npts, const double *x,
                     const double *y, double scale, int64_t t0, bf_mlp_tape *t, double *f,
                     double *grad);
/* row = df(x_k)/dtheta: row k of the Jacobian J, written for the layers
 * from the tape's `first` on (the other entries of the P are untouched). */
void bf_mlp_jacobian_row(const bf_mlp *net, const bf_mlp_tape *t, int64_t k,
                         double *row);

/* Reference kernels (plain loops, one element at a time, as the engine was
 * first written): the fast ones are tested against them to 1e-12. */
void bf_mlp_forward_ref(const bf_mlp *net, const double *theta, int64_t npts,
                        const double *x, double *f);
void bf_mlp_record_ref(const bf_mlp *net, const double *theta, int64_t npts,
                       const double *x, bf_mlp_tape *t);
void bf_mlp_vjp_ref(const bf_mlp *net, const bf_mlp_tape *t, const double *r,
                    int64_t t0, double *grad);

/* ---- one model interface (src/nn/model.c) --------------------------------
 * Every architecture implements the ops table; the stages outside src/nn
 * call only these.  A new architecture is one file with its ops plus its
 * rows in the key table.  The trained parameters are always the contiguous
 * block theta[t0, t0 + Pt). */
typedef struct bf_model bf_model;
typedef struct bf_plan bf_plan; /* a model's workspace for up to npts points */

enum bf_kernel_kind {
  BF_KERNEL_PRIOR = 0,   /* E[f(x) f(y)] under the prior (NNGP; cos-net G2) */
  BF_KERNEL_TANGENT = 1, /* E[J_t(x) . J_t(y)]: the trained block's tangent kernel */
  BF_KERNEL_NTK = 2,     /* E[J(x) . J(y)] over every parameter */
};

typedef struct bf_model_ops {
  const char *name;
  void (*destroy)(bf_model *mod);
  void (*sample)(const bf_model *mod, uint64_t seed, int64_t member, double *theta);
  void (*prior_sd)(const bf_model *mod, double *sd); /* all P entries */
  bf_plan *(*plan_create)(const bf_model *mod, int64_t npts);
  void (*plan_destroy)(bf_plan *plan);
  void (*forward)(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                  const double *x, double *f);
  /* forward + what the derivatives need, at npts points (f may be NULL) */
  void (*record)(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                 const double *x, double *f);
  /* after record: grad (Pt) = sum_k r_k J_t(x_k) */
  void (*vjp)(const bf_model *mod, bf_plan *w, const double *r, double *grad);
  /* f (npts) and grad (Pt) = sum_k scale (f_k - y_k) J_t(x_k): the training
   * gradient in one call (NULL: record + VJP) */
  void (*gradient)(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                   const double *x, const double *y, double scale, double *f, double *grad);
  /* after record: J (npts x Pt, row-major) */
  void (*jacobian)(const bf_model *mod, bf_plan *w, double *J);
  /* after record on both: G (column-major mr x mc) = J_t(R) J_t(C)^T */
  void (*gram)(const bf_model *mod, bf_plan *r, bf_plan *c, double *G);
  /* after record: acc[A] += sum_k J_t(x_k)_A^2 */
  void (*diag)(const bf_model *mod, bf_plan *w, double *acc);
  /* collective: K (na x nb) between the rows of xa and xb; 0 if unknown */
  int (*kernel)(MPI_Comm comm, const bf_model *mod, int kind, const double *xa,
                int64_t na, const double *xb, int64_t nb, double *K);
  /* rank-local: entries of the same kernel one at a time; NULL if unknown */
  struct bf_kernel_entries *(*kernel_entries)(const bf_model *mod, int kind, int64_t na,
                                              const double *xa, int64_t nb, const double *xb);
} bf_model_ops;

struct bf_model {
  const bf_model_ops *ops;
  void *net;        /* the architecture's own struct */
  int d;            /* input dimension */
  int64_t P, t0, Pt;
  int linear;       /* f is linear in the trained block */
  int quadrature, order; /* infinite-width kernels: method, minimum order */
  int width;        /* N of the 1/N corrections: the last hidden width */
  const struct bf_cosnet *free_field; /* a free scalar field (cos-net), else NULL */
  char describe[256];     /* one line for logs and tables */
  char kernel_method[128]; /* how the infinite-width kernels are computed */
};

/* The model the input names (every architecture registers here). */
bf_model *bf_model_create(const bf_params *p);
void bf_model_destroy(bf_model **mod);
void bf_model_sample(const bf_model *mod, uint64_t seed, int64_t member, double *theta);
/* Prior standard deviation of each trained parameter (Pt entries). */
void bf_model_prior_sd(const bf_model *mod, double *sd);
bf_plan *bf_model_plan_create(const bf_model *mod, int64_t npts);
void bf_model_plan_destroy(bf_plan **w);
/* f at npts points, with a plan for at least npts points. */
void bf_model_forward(const bf_model *mod, bf_plan *w, const double *theta,
                      int64_t npts, const double *x, double *f);
void bf_model_record(const bf_model *mod, bf_plan *w, const double *theta,
                     int64_t npts, const double *x, double *f);
void bf_model_vjp(const bf_model *mod, bf_plan *w, const double *r, double *grad);
/* f and grad = sum_k scale (f_k - y_k) J_t(x_k) at npts points (training). */
void bf_model_gradient(const bf_model *mod, bf_plan *w, const double *theta, int64_t npts,
                       const double *x, const double *y, double scale, double *f,
                       double *grad);
void bf_model_jacobian_rows(const bf_model *mod, bf_plan *w, double *J);
void bf_model_gram(const bf_model *mod, bf_plan *r, bf_plan *c, double *G);
void bf_model_diag(const bf_model *mod, bf_plan *w, double *acc);
int bf_model_kernel(MPI_Comm comm, const bf_model *mod, int kind, const double *xa,
                    int64_t na, const double *xb, int64_t nb, double *K);
/* Kernel entries one at a time, for matrices distributed by blocks: made on
 * a set of row points and one of column points (the per-point work done
 * once), then entry(ke, i, j) = kernel(xa_i, xb_j) for any i, j, in any
 * order.  Rank-local; NULL where the model knows no such kernel (as
 * bf_model_kernel returns 0).  worst_var: the largest pre-activation
 * variance a Gauss-Hermite rule covered so far (bf_kernels_warn), 0 if none. */
typedef struct bf_kernel_entries bf_kernel_entries;
struct bf_kernel_entries {
  double (*entry)(bf_kernel_entries *ke, int64_t i, int64_t j);
  void (*destroy)(bf_kernel_entries *ke);
  double worst_var;
};
bf_kernel_entries *bf_model_kernel_entries(const bf_model *mod, int kind, int64_t na,
                                           const double *xa, int64_t nb, const double *xb);
void bf_kernel_entries_destroy(bf_kernel_entries **ke);
/* Conveniences that make their own plan (tests, one-off calls). */
void bf_model_predict(const bf_model *mod, const double *theta, int64_t m,
                      const double *x, double *f);
void bf_model_jacobian(const bf_model *mod, const double *theta, int64_t m,
                       const double *x, double *J);

/* The architectures' constructors (model_cosnet.c, model_mlp.c). */
bf_model *bf_model_cosnet_create(const bf_params *p);
bf_model *bf_model_mlp_create(const bf_params *p);
/* The stack behind a layer-stack model, or NULL (tests, tools). */
const bf_mlp *bf_model_mlp(const bf_model *mod);

typedef struct bf_ensemble {
  MPI_Comm comm;   /* duplicated: the ensemble's traffic is its own */
  int64_t members; /* E, global */
  int64_t first, count; /* this rank's contiguous block of members */
  int64_t nparams; /* P */
  double *theta;   /* count x P, this rank's members */
} bf_ensemble;

bf_ensemble *bf_ensemble_create(MPI_Comm comm, int64_t members, int64_t nparams);
void bf_ensemble_destroy(bf_ensemble **ens);
/* Draw every local member from its own streams. */
void bf_ensemble_sample(bf_ensemble *ens, const bf_model *mod, uint64_t seed);

/* ---- the sample stage (src/nn/stage.c; the chain: pipeline.h) ---------- */
typedef struct bf_ctx bf_ctx;
/* The model and, unless only its kernels are asked for, its prior ensemble. */
int bf_stage_sample(bf_ctx *c);

#endif
