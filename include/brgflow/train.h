/* train.h — data, the trained parameters of a model, and training
 * (the "train" stage, SCIENCE.md 2: training runs IR -> UV).
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

/* Collective (rank 0 reads a file target); a target that is not finite at
 * some point (target = expression) is a collective error naming the key. */
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

/* Gradient descent on L = (1/2n) sum (f - y)^2 for one member, in place,
 * from step `from` to step `to` (a chunk: training resumes from
 * checkpoints); loss[r] = mean squared error at steps[r]; with snap
 * (nrec x P), theta there too (for the Fisher spectrum along training). */
void bf_train_gd(const bf_model *mod, const bf_params *p, const bf_dataset *ds,
                 const bf_train_log *log, double *theta, double *loss, double *snap,
                 int from, int to);
/* Exact Gaussian posterior sample of the trained parameters (linear models):
 * precision J^T J / sigma^2 + prior^-1, by Cholesky; draws from the member's
 * own stream. */
void bf_train_posterior(const bf_model *mod, const bf_params *p,
                        const bf_dataset *ds, int64_t member, double *theta);

#endif
