/* parms.c — the metric input keys: the Fisher metric.
 *
 *   bf_metric_keys         the rows of [fisher]
 *   bf_print_metric_parms  their effective values */
#include "brgflow/metric_parms.h"
#include "brgflow/input.h"

#define OFF(f) offsetof(bf_params, f)
static const bf_key KEYS[] = {
  {"fisher", "solver", BF_KEY_ENUM, OFF(fisher.solver), "none", "-", 0, 0, 0,
   "none|auto|primal|dual",
   "Fisher metric: skip, choose the smaller problem, P x P by PDSYRK, or the "
   "n x n Gram (empirical NTK)", BF_RESULTS},
  {"fisher", "basis", BF_KEY_ENUM, OFF(fisher.basis), "eigen", "-", 0, 0, 0,
   "eigen|diagonal",
   "eigen: the full spectrum (ScaLAPACK); diagonal: I_AA per parameter", BF_RESULTS},
  {"fisher", "sigma", BF_KEY_REAL, OFF(fisher.sigma), "0", "output", 0, 1e300, 0,
   NULL, "likelihood sigma of I = J^T J / sigma^2; 0: the data noise", BF_RESULTS},
  {"fisher", "scale", BF_KEY_REAL, OFF(fisher.scale), "0", "1/parameter^2", 0, 1e300, 0,
   NULL, "cos-net: information scale Lambda of /train/resolved_momentum; 0: "
   "the scale at which the full data resolves p = R/2", BF_RESULTS},
  {"fisher", "points", BF_KEY_ENUM, OFF(fisher.points), "train", "-", 0, 0, 0,
   "train|separate",
   "points of the metric: the training inputs, or n_points fresh draws from "
   "the training input distribution (random or gaussian; /fisher/x)", BF_RESULTS},
  {"fisher", "n_points", BF_KEY_INT, OFF(fisher.n_points), "10", "-", 1, 1e7, 0, NULL,
   "separate: number of Fisher points n_F", BF_RESULTS},
  {"fisher", "normalization", BF_KEY_ENUM, OFF(fisher.normalization), "sum", "-", 0, 0, 0,
   "sum|mean",
   "sum: I = J^T J / sigma^2 over the points; mean: I = J^T J / (sigma^2 n_F) "
   "(NNGeometry's regression Fisher with sigma = 1)", BF_RESULTS},
  {"fisher", "groups", BF_KEY_INT, OFF(fisher.groups), "1", "-", 1, 1e6, 0, NULL,
   "rank groups: each owns a BLACS grid and a share of the members", BF_NO_RESULT},
  {"fisher", "block", BF_KEY_INT, OFF(fisher.block), "32", "-", 1, 4096, 0, NULL,
   "ScaLAPACK block size (block-cyclic distribution)", BF_NO_RESULT},
};
#undef OFF

const bf_key_table bf_metric_keys = {KEYS, sizeof KEYS / sizeof KEYS[0]};

void bf_print_metric_parms(FILE *out, const bf_params *p)
{
  bf_print_keys(out, p, &bf_metric_keys);
}
