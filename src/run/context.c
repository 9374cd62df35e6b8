/* context.c — the run context that the stages pass along (pipeline.h).
 *
 *   bf_ctx_create    an empty context for a validated input
 *   bf_ctx_destroy   free every stage's products
 *   bf_ctx_boundary  a stage's step boundary: the driver's checkpoint and stop
 *   bf_ctx_trained   does the run train (or compute a metric), or sample a prior? */
#include "brgflow/pipeline.h"

#include <stdlib.h>

bf_ctx *bf_ctx_create(MPI_Comm comm, const bf_params *p)
{
  bf_ctx *c = BF_CALLOC(1, bf_ctx);
  c->comm = comm;
  c->p = p;
  return c;
}

void bf_ctx_destroy(bf_ctx **cp)
{
  bf_ctx *c = *cp;
  if (!c) return;
  bf_flow_results_destroy(&c->flows, c->nflows);
  bf_dataset_destroy(&c->ds);
  bf_dataset_destroy(&c->fisher_own);
  bf_ensemble_destroy(&c->ens);
  bf_model_destroy(&c->mod);
  free(c->log.steps), free(c->loss), free(c->diverged), free(c->snap);
  free(c->test_mean), free(c->test_var), free(c->ref_mean), free(c->ref_var);
  free(c->g2), free(c->g2_err), free(c->g4c), free(c->g4c_err);
  free(c->lat_g2), free(c->lat_g2_err), free(c->lat_g2_ref), free(c->k_nngp), free(c->k_ntk);
  free(c->lambda), free(c->diag), free(c->evec), free(c->flow_lambda);
  bf_dmat_free(&c->K_nngp), bf_dmat_free(&c->K_ntk), free(c->k_table);
  bf_grid_destroy(&c->kernel_grid);
  bf_evec_map_destroy(&c->evec_map);
  bf_grid_destroy(&c->grid);
  free(c);
  *cp = NULL;
}

int bf_ctx_boundary(bf_ctx *c, int stage, int64_t train_step, const bf_flow_result *flows,
                    int nflows, int flow_index, int flow_step)
{
  if (!c->driver) return 0;
  return c->driver->boundary(c, stage, train_step, flows, nflows, flow_index, flow_step);
}

int bf_ctx_trained(const bf_params *p)
{
  return p->method != BF_TRAIN_NONE || p->solver != BF_SOLVER_NONE;
}
