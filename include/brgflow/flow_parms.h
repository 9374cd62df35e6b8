/* flow_parms.h — [brg]: the coarse-graining flow (src/flow/parms.c). */
#ifndef BRGFLOW_FLOW_PARMS_H
#define BRGFLOW_FLOW_PARMS_H

#include "brgflow/parms.h"

enum bf_bases { BF_BASES_EIGEN = 0, BF_BASES_DIAGONAL, BF_BASES_BOTH };
enum bf_prescriptions { BF_PRESC_RESAMPLE = 0, BF_PRESC_PRUNE, BF_PRESC_BOTH };

typedef struct bf_brg_parms {
  int on;         /* 1: run the coarse-graining flow */
  double lambda_min, lambda_max;
  int count;      /* K */
  int relative;   /* 1: cutoffs relative to each member's largest eigenvalue */
  int basis;      /* enum bf_bases */
  int prescription; /* enum bf_prescriptions */
  double critical_tol;
  int bootstrap;
  char cutoffs[BF_PATH_MAX]; /* explicit cutoff list, or "none" (the log grid) */
  double keep_mse_below; /* drop members with test_mse0 >= this; 0: keep all */
  char probe[BF_PATH_MAX];   /* test-point indices "i, j, ...", or "none" */
  /* Derived by validation: ncut > 0 replaces the log grid of count cutoffs
   * with cut[0..ncut); probe_idx holds nprobe test points.  Heap arrays:
   * bf_params_free releases them. */
  int ncut;
  double *cut;
  int nprobe;
  int *probe_idx;
} bf_brg_parms;

extern const bf_key_table bf_flow_keys;
void bf_print_flow_parms(FILE *out, const bf_params *p);
/* [brg] cutoffs and probe -> cut and probe_idx. */
int bf_check_flow_parms(bf_check *c, bf_params *p);

#endif
