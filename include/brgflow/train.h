/* train.h — data, the trained parameters of a model, and training
 * (the "train" stage, docs/physics.md 2: training runs IR -> UV).
 *
 * Every rank builds the same data set from counter streams keyed by a data
 * pseudo-member, so data never needs broadcasting (a file is read on rank 0
 * and broadcast).  Models are seen only through the model interface of
 * nn.h. */
#ifndef BRGFLOW_TRAIN_H
#define BRGFLOW_TRAIN_H

#include "brgflow/input.h"
#include "brgflow/nn.h"

#define BF_DATA_MEMBER UINT64_MAX /* stream key of the data set */

typedef struct bf_dataset {
  int d;
  int64_t n, ntest;
  double *x, *y;   /* n x d, n: training inputs and (noisy) targets */
  double *xt, *yt; /* ntest x d, ntest: test inputs, noise-free targets */
} bf_dataset;

/* Collective (rank 0 reads a file target); a target file that cannot serve,
 * or a target = expression muparser refuses or that is not finite at some
 * point, is a collective error naming the key: NULL on every rank. */
bf_dataset *bf_dataset_create(MPI_Comm comm, const bf_params *p);
/* [fisher] points = separate: n_points inputs (x only: y, xt, yt NULL,
 * ntest 0) from the training input distribution, on a stream of their own;
 * identical on every rank. */
bf_dataset *bf_fisher_points_create(const bf_params *p);
void bf_dataset_destroy(bf_dataset **ds);

/* A target formula in x1 ... xd (muparser).  bf_expr_create returns NULL
 * with muparser's message in err when the formula does not parse or names
 * an unknown variable (it is evaluated once, at x0 (d), to find out). */
typedef struct bf_expr bf_expr;
bf_expr *bf_expr_create(const char *formula, int d, const double *x0, char *err,
                        size_t errlen);
/* f(x); NaN if muparser reports an error at x. */
double bf_expr_eval(bf_expr *e, const double *x);
void bf_expr_destroy(bf_expr **e);

/* Training records: loss after steps[r], r < nrec. */
typedef struct bf_train_log {
  int nrec;
  int *steps;
} bf_train_log;
bf_train_log bf_train_schedule(const bf_params *p);

/* How long training runs: GD steps, or SGD epochs (what the records, the
 * checkpoints and the session's train_step count). */
int bf_train_length(const bf_params *p);
/* The factor of the batch-mean gradient (1/B) sum_b r_b grad f_b in a step:
 * lr for half_mse, 2 lr for mse (whose gradient is twice as large). */
double bf_train_rate(const bf_params *p);

/* Gradient descent on the [train] loss over all n points, for one member,
 * in place, from step `from` to step `to` (a chunk: training resumes from
 * checkpoints); loss[r] = mean squared error at steps[r]; with snap
 * (nrec x P), theta there too (for the Fisher spectrum along training). */
void bf_train_gd(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                 const bf_train_log *log, double *theta, double *loss, double *snap,
                 int from, int to);

/* SGD: the order of the n training points in epoch `epoch` of member
 * `member` (fixed: 0..n-1; shuffled: a Fisher-Yates permutation whose
 * uniforms are u_{epoch n + i} of the member's own stream), so an epoch's
 * order depends on (seed, member, epoch) only. */
void bf_train_order(const bf_params *p, int64_t member, int64_t epoch, int64_t n,
                    int64_t *perm);
/* One member's SGD workspace, made once per member: a model linear in its
 * trained block gets its features J (n x Pt) and f_rest, so a step costs
 * O(B Pt); any other model gets batch buffers for its one-pass gradient. */
typedef struct bf_sgd bf_sgd;
bf_sgd *bf_sgd_create(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                      const double *theta);
void bf_sgd_destroy(bf_sgd **w);
/* One step on the B training points idx[0..B): theta_t -= bf_train_rate(p)
 * (1/B) sum_b (f_b - y_b) grad f_b.  Allocates nothing. */
void bf_sgd_step(bf_sgd *w, double *theta, const int64_t *idx, int64_t B);
/* Mean squared error over the whole training set. */
double bf_sgd_mse(bf_sgd *w, const double *theta);
/* SGD epochs `from` to `to` of member `member` (global index), in place;
 * records as bf_train_gd, with steps[] counting epochs (epoch 0: before
 * training).  Each epoch runs ceil(n/B) steps in bf_train_order's order. */
void bf_train_sgd(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                  const bf_train_log *log, int64_t member, double *theta, double *loss,
                  double *snap, int from, int to);
/* Exact Gaussian posterior sample of the trained parameters (linear models):
 * precision J^T J / sigma^2 + prior^-1, by Cholesky; draws from the member's
 * own stream. */
void bf_train_posterior(const bf_model *mod, const bf_params *p,
                        const bf_dataset *ds, int64_t member, double *theta);

/* ---- infinite-width predictions (src/train/infinite.c) ------------------
 * K(X, X) is distributed block-cyclically over all ranks of comm and
 * diagonalized by ScaLAPACK; a rank holds only its blocks (docs/theory.md
 * f).  Collective; 0 (outputs NULL) where the model knows no such kernel
 * or a stop request came during the kernels (bf_stopped() tells). */
/* On the test points (ntest, allocated): gd, the NTK prediction
 * Theta(x,X) Theta^-1 (I - (I - eta Theta/n)^t) Y (var NULL); posterior,
 * the GP posterior mean and var with the prior kernel of f. */
int bf_infinite_predict(MPI_Comm comm, const bf_params *p, const bf_model *mod,
                        const bf_dataset *ds, double **mean, double **var);
/* The flow's infinite-width curves (posterior, docs/physics.md 3) at K
 * cutoffs: test MSE (K) and predictive variance (K x ntest), allocated; 0
 * also when the trained block's prior variance is not one number. */
int bf_infinite_curves(MPI_Comm comm, const bf_params *p, const bf_model *mod,
                       const bf_dataset *ds, double sigma, int K, const double *cut,
                       double **mse, double **var);

/* ---- the data, train and predict stages (src/train/stage.c; pipeline.h) -- */
typedef struct bf_ctx bf_ctx;
/* Trained runs: the data set, the metric's points and sigma, the records. */
int bf_stage_data(bf_ctx *c);
/* The training records, allocated before a restart fills them. */
void bf_train_alloc(bf_ctx *c);
/* Every member trained (or sampled from its posterior), with a step
 * boundary between chunks; the ensemble's predictive moments. */
int bf_stage_train(bf_ctx *c);
/* The infinite-width predictions and the ensemble's distance from them. */
int bf_stage_predict(bf_ctx *c);

#endif
