/* train_parms.h — [data], [train]: the training set and how the ensemble
 * is trained (src/train/parms.c). */
#ifndef BRGFLOW_TRAIN_PARMS_H
#define BRGFLOW_TRAIN_PARMS_H

#include "brgflow/parms.h"

enum bf_target { BF_TARGET_SIN = 0, BF_TARGET_POLY, BF_TARGET_GP, BF_TARGET_FILE,
                 BF_TARGET_EXPRESSION };
enum bf_data_points { BF_DATA_GRID = 0, BF_DATA_RANDOM, BF_DATA_LATTICE, BF_DATA_GAUSSIAN };
enum bf_method { BF_TRAIN_NONE = 0, BF_TRAIN_GD, BF_TRAIN_POSTERIOR, BF_TRAIN_SGD };
enum bf_order { BF_ORDER_FIXED = 0, BF_ORDER_SHUFFLED = 1 };
enum bf_loss { BF_LOSS_HALF_MSE = 0, BF_LOSS_MSE = 1 };
enum bf_trainable { BF_TRAIN_ALL = 0, BF_TRAIN_READOUT = 1 };

typedef struct bf_data_parms {
  int target; /* enum bf_target */
  char file[BF_PATH_MAX];
  int n_train, n_test;
  double noise, domain;
  int points; /* enum bf_data_points */
  char mean[BF_PATH_MAX], covariance[BF_PATH_MAX]; /* gaussian: as given */
  char expression[BF_PATH_MAX]; /* target = expression: f in x1 ... xd */
  /* Derived by validation for points = gaussian: the mean mu (d) and the
   * lower Cholesky factor chol (d x d, row-major) of the covariance; heap,
   * released by bf_params_free. */
  double *mu, *chol;
} bf_data_parms;

typedef struct bf_train_parms {
  int method;    /* enum bf_method */
  int trainable; /* enum bf_trainable */
  int on_divergence; /* 0 stop, 1 drop */
  double lr;
  int steps, record_every; /* record_every counts epochs for sgd */
  int loss;      /* enum bf_loss: the convention lr applies to */
  int batch, epochs; /* sgd: points per step, passes over the data */
  int order; /* enum bf_order */
} bf_train_parms;

extern const bf_key_table bf_train_keys;
void bf_print_train_parms(FILE *out, const bf_params *p);
/* [data] mean and covariance -> mu, chol (points = gaussian); [data]
 * expression parses (target = expression). */
int bf_check_data_parms(bf_check *c, bf_params *p);

#endif
