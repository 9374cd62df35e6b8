/* ensemble.c — an ensemble of networks distributed over ranks.
 *
 *   bf_ensemble_create         contiguous block of members per rank
 *   bf_ensemble_destroy        free it
 *   bf_ensemble_sample         draw every local member from its own streams */
#include "brgflow/nn.h"

#include <stdlib.h>

bf_ensemble *bf_ensemble_create(MPI_Comm comm, int64_t members, int64_t nparams)
{
  bf_ensemble *ens = BF_CALLOC(1, bf_ensemble);
  int rank, size;
  bf_comm_dup(comm, &ens->comm);
  BF_MPI(MPI_Comm_rank(ens->comm, &rank));
  BF_MPI(MPI_Comm_size(ens->comm, &size));
  ens->members = members;
  ens->nparams = nparams;
  bf_block_range(members, size, rank, &ens->first, &ens->count);
  ens->theta = BF_ALLOC(ens->count * nparams, double);
  return ens;
}

void bf_ensemble_destroy(bf_ensemble **ens)
{
  if (!*ens) return;
  BF_MPI(MPI_Comm_free(&(*ens)->comm));
  free((*ens)->theta);
  free(*ens);
  *ens = NULL;
}

void bf_ensemble_sample(bf_ensemble *ens, const bf_model *mod, uint64_t seed)
{
  BF_ASSERT(ens->nparams == mod->P);
  for (int64_t m = 0; m < ens->count; m++)
    bf_model_sample(mod, seed, ens->first + m, ens->theta + m * ens->nparams);
}
