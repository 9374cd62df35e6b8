/* metric_parms.h — [fisher]: the Fisher metric (src/metric/parms.c). */
#ifndef BRGFLOW_METRIC_PARMS_H
#define BRGFLOW_METRIC_PARMS_H

#include "brgflow/parms.h"

enum bf_solver { BF_SOLVER_NONE = 0, BF_SOLVER_AUTO, BF_SOLVER_PRIMAL, BF_SOLVER_DUAL };
enum bf_fisher_points { BF_FISHER_TRAIN = 0, BF_FISHER_SEPARATE = 1 };
enum bf_fisher_norm { BF_FISHER_SUM = 0, BF_FISHER_MEAN = 1 };
enum bf_basis { BF_BASIS_EIGEN = 0, BF_BASIS_DIAGONAL = 1 };

typedef struct bf_fisher_parms {
  int solver; /* enum bf_solver */
  int basis;  /* enum bf_basis */
  double sigma; /* 0: the data noise */
  double scale; /* information scale Lambda of the resolved momentum */
  int groups, block;
  int points;   /* enum bf_fisher_points */
  int n_points; /* separate: number of Fisher points n_F */
  int normalization; /* enum bf_fisher_norm */
} bf_fisher_parms;

extern const bf_key_table bf_metric_keys;
void bf_print_metric_parms(FILE *out, const bf_params *p);

#endif
