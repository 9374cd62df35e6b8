/* context.c — the run context that the stages pass along (pipeline.h).
 *
 *   bf_ctx_fields    its table: the train and metric stages' per-member arrays
 *   bf_ctx_sizes     the table's axes and conditions in this run
 *   bf_ctx_create    an empty context for a validated input
 *   bf_ctx_destroy   free every stage's products
 *   bf_ctx_boundary  a stage's step boundary: the driver's checkpoint and stop
 *   bf_ctx_trained   does the run train (or compute a metric), or sample a prior? */
#include "brgflow/pipeline.h"

#include <stddef.h>
#include <stdlib.h>

#define AT(member) offsetof(bf_ctx, member)

enum { ROWS = BF_MEMBER_ROWS, TRAINED = BF_CTX_TRAINED, DESCENT = BF_CTX_DESCENT,
       SNAP = BF_CTX_SNAP, METRIC = BF_CTX_METRIC, LAMBDA = BF_CTX_LAMBDA, DIAG = BF_CTX_DIAG };

/* Result groups: 0 /train, 1 /fisher. */
const bf_field bf_ctx_fields[] = {
  /* offset, shape, place, when, group, result, checkpoint, units, meaning, result_when */
  {AT(loss), "R", ROWS, TRAINED, 0, "loss", "loss", "output^2",
   "training MSE per member at /train/steps", DESCENT},
  {AT(diverged), "O", ROWS, TRAINED, 0, "diverged", "diverged", "-",
   "1: the member diverged and was dropped ([train] on_divergence = drop; its loss records "
   "are NaN from then on), 0: trained", DESCENT},
  {AT(snap), "RP", ROWS, TRAINED | SNAP, 0, NULL, "snap", "-",
   "theta per member at /train/steps (for the metric along training)", 0},
  {AT(lambda), "K", ROWS, METRIC | LAMBDA, 1, "eigenvalues", "lambda", "1/parameter^2",
   "Fisher eigenvalues per member, descending, k = min(n, P_trained)", 0},
  {AT(diag), "A", ROWS, METRIC | DIAG, 1, "diag", "diag", "1/parameter^2",
   "diagonal Fisher I_AA of the trained parameters, per member", 0},
  {AT(flow_lambda), "RK", ROWS, METRIC | LAMBDA | SNAP, 0, "fisher_eigenvalues", "flow_lambda",
   "1/parameter^2", "Fisher eigenvalues per member at /train/steps, descending (IR -> UV)", 0},
};
const int bf_ctx_nfields = (int)(sizeof bf_ctx_fields / sizeof bf_ctx_fields[0]);

void bf_ctx_sizes(const bf_ctx *c, bf_sizes *s)
{
  const bf_params *p = c->p;
  *s = (bf_sizes){.members = c->ens->members, .first = c->ens->first, .count = c->ens->count};
  s->n['R' - 'A'] = c->log.nrec, s->n['P' - 'A'] = c->ens->nparams;
  s->n['A' - 'A'] = c->mod->Pt, s->n['K' - 'A'] = c->k, s->n['O' - 'A'] = 1;
  int descent = p->train.method == BF_TRAIN_GD || p->train.method == BF_TRAIN_SGD;
  int flow_diag = p->brg.on && p->brg.basis != BF_BASES_EIGEN;
  int flow_eigen = p->brg.on && p->brg.basis != BF_BASES_DIAGONAL;
  /* relative cutoffs read lambda_max from the spectrum only in the eigen
   * basis (flow_eigen); the diagonal basis takes it from I_AA */
  s->have = (bf_ctx_trained(p) ? TRAINED : 0) | (descent ? DESCENT : 0) |
            (descent && p->train.record_every > 0 && p->fisher.solver != BF_SOLVER_NONE ? SNAP : 0) |
            (p->fisher.solver != BF_SOLVER_NONE && c->k > 0 ? METRIC : 0) |
            (p->fisher.basis == BF_BASIS_EIGEN || flow_eigen ? LAMBDA : 0) |
            (p->fisher.basis == BF_BASIS_DIAGONAL || flow_diag ? DIAG : 0);
}

bf_ctx *bf_ctx_create(MPI_Comm comm, const bf_params *p, int kernels_only)
{
  bf_ctx *c = BF_CALLOC(1, bf_ctx);
  c->comm = comm;
  c->p = p;
  c->kernels_only = kernels_only;
  if (kernels_only) { /* `brgflow kernel` on any input, a training one too */
    c->kernel_p = *p;
    c->kernel_p.train.method = BF_TRAIN_NONE;
    c->kernel_p.fisher.solver = BF_SOLVER_NONE;
    c->kernel_p.brg.on = 0;
    c->p = &c->kernel_p;
  }
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
  return p->train.method != BF_TRAIN_NONE || p->fisher.solver != BF_SOLVER_NONE;
}
