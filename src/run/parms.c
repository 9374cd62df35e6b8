/* parms.c — the run input keys: the seed, the output file and checkpoints.
 *
 *   bf_run_keys            the rows of [run]
 *   bf_print_run_parms     their effective values */
#include "brgflow/run_parms.h"
#include "brgflow/input.h"

#define OFF(f) offsetof(bf_params, f)
static const bf_key KEYS[] = {
  {"run", "seed", BF_KEY_U64, OFF(run.seed), "1", "-", 0, 0, 0, NULL,
   "seed of every counter-based random stream (uint64)", BF_RESULTS},
  {"run", "output", BF_KEY_STR, OFF(run.output), "brgflow.h5", "path", 0, 0, 0, NULL,
   "result file (HDF5); refused if it exists, unless --force", BF_NO_RESULT},
  {"run", "save_theta", BF_KEY_ENUM, OFF(run.save_theta), "yes", "-", 0, 0, 0, "no|yes",
   "write every member's parameters to /ensemble/theta (E x P doubles)", BF_NO_RESULT},
  {"run", "checkpoint_every", BF_KEY_INT, OFF(run.checkpoint_every), "100", "-", 0, 1e9, 0,
   NULL, "GD steps (sgd: epochs) between checkpoints (0: none during training); a checkpoint "
   "also follows the metric in flow runs", BF_NO_RESULT},
  {"run", "checkpoint_flow_every", BF_KEY_INT, OFF(run.checkpoint_flow_every), "1", "-", 0, 1e9, 0,
   NULL, "coarse-graining steps between checkpoints in the flow (0: none during the "
   "flow); a stop request is honoured at the next checkpoint", BF_NO_RESULT},
};
#undef OFF

const bf_key_table bf_run_keys = {KEYS, sizeof KEYS / sizeof KEYS[0]};

void bf_print_run_parms(FILE *out, const bf_params *p)
{
  bf_print_keys(out, p, &bf_run_keys);
}
