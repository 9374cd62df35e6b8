/* nnft_parms.h — [correlator], [kernel]: the measured points and the
 * infinite-width kernels (src/nnft/parms.c). */
#ifndef BRGFLOW_NNFT_PARMS_H
#define BRGFLOW_NNFT_PARMS_H

#include "brgflow/parms.h"

#define BF_MAX_POINTS 256 /* correlator points */
#define BF_MAX_QUADS 64   /* G4c quadruples */

enum bf_points { BF_POINTS_GRID = 0, BF_POINTS_LIST = 1 };
enum bf_quadrature { BF_QUAD_AUTO = 0, BF_QUAD_HERMITE = 1 };

typedef struct bf_corr_parms {
  int points; /* enum bf_points */
  int count;
  double from, to;
  char direction[BF_PATH_MAX], list[BF_PATH_MAX], quadruples[BF_PATH_MAX];
  int blocks; /* jackknife blocks for G4c errors */
  /* Derived by validation: the points x (npoints x d, row-major; heap,
   * released by bf_params_free) and the G4c quadruples. */
  int npoints;
  double *x;
  int nquads;
  int quad[BF_MAX_QUADS][4];
} bf_corr_parms;

typedef struct bf_kernel_parms {
  int quadrature; /* enum bf_quadrature */
  int order;
} bf_kernel_parms;

extern const bf_key_table bf_nnft_keys;
void bf_print_nnft_parms(FILE *out, const bf_params *p);
/* [correlator] points and quadruples -> x and quad (arch = mlp). */
int bf_check_nnft_parms(bf_check *c, bf_params *p);

#endif
