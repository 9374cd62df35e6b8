/* run_parms.h — [run]: seed, output and checkpoints (src/run/parms.c). */
#ifndef BRGFLOW_RUN_PARMS_H
#define BRGFLOW_RUN_PARMS_H

#include "brgflow/parms.h"

#include <stdint.h>

typedef struct bf_run_parms {
  uint64_t seed;
  char output[BF_PATH_MAX];
  int save_theta; /* 1: write /ensemble/theta */
  int checkpoint_every; /* GD steps (SGD epochs) between checkpoints; 0: none in training */
  int checkpoint_flow_every; /* flow steps between checkpoints; 0: none in the flow */
} bf_run_parms;

extern const bf_key_table bf_run_keys;
void bf_print_run_parms(FILE *out, const bf_params *p);

#endif
