/* nn_parms.h — [network], [cosnet], [lattice], [ensemble]: the networks,
 * the lattice they live on and the ensemble (src/nn/parms.c). */
#ifndef BRGFLOW_NN_PARMS_H
#define BRGFLOW_NN_PARMS_H

#include "brgflow/parms.h"

/* Enumerations: the index is the position in the key's choices. */
enum bf_arch { BF_ARCH_COSNET = 0, BF_ARCH_MLP = 1 };
enum bf_momenta { BF_MOMENTA_LATTICE = 0, BF_MOMENTA_CONTINUUM = 1 };
enum bf_param { BF_PARAM_NTK = 0, BF_PARAM_STANDARD = 1, BF_PARAM_UNSCALED = 2 };
/* Activation choices, in the order of the activation table (nn.h). */
#define BF_ACTIVATION_CHOICES "relu|tanh|erf|gelu|sigmoid|cos|linear"

typedef struct bf_net_parms {
  int arch; /* enum bf_arch */
  int d;
  int width;
  int depth;           /* MLP hidden layers (uniform case) */
  int activation;      /* index into the activation table (uniform case) */
  char widths[BF_PATH_MAX];      /* hidden widths "10, 10, 2000", or "none" */
  char activations[BF_PATH_MAX]; /* "linear, relu, relu", one, or "none" */
  int nobias;          /* 1: [network] bias = no */
  int parameterization; /* enum bf_param */
  double sigma_w, sigma_b;
  /* Derived by validation: the hidden layers of a layer stack (nhidden = 0:
   * depth x width uniform).  Heap arrays: bf_params_free releases them. */
  int nhidden;
  int *hwidth, *hact;
} bf_net_parms;

typedef struct bf_cosnet_parms {
  double mass, cutoff, sigma_a;
  int momenta; /* enum bf_momenta */
} bf_cosnet_parms;

typedef struct bf_lattice_parms {
  int sites;
  double spacing;
} bf_lattice_parms;

typedef struct bf_ens_parms {
  int members;
} bf_ens_parms;

extern const bf_key_table bf_nn_keys;
void bf_print_nn_parms(FILE *out, const bf_params *p);
/* [network] widths and activations -> the hidden layers (arch = mlp). */
int bf_check_nn_parms(bf_check *c, bf_params *p);

#endif
