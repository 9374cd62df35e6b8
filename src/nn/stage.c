/* stage.c — the sample stage: the model and its prior ensemble.
 *
 *   bf_stage_sample  the model the input names and, unless only its kernels
 *                    are asked for, every member drawn from the prior on its
 *                    own counter-based stream (independent of the rank count) */
#include "brgflow/pipeline.h"

int bf_stage_sample(bf_ctx *c)
{
  const bf_params *p = c->p;
  c->mod = bf_model_create(p);
  if (c->kernels_only) return 0;
  c->ens = bf_ensemble_create(c->comm, p->ens.members, c->mod->P);
  double t = bf_elapsed();
  bf_ensemble_sample(c->ens, c->mod, p->run.seed);
  c->seconds_sample = bf_elapsed() - t;
  bf_log(c->comm, "sample: %d members x %lld parameters (%lld trained), %.2f s", p->ens.members,
         (long long)c->mod->P, (long long)c->mod->Pt, c->seconds_sample);
  return 0;
}
