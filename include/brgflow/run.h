/* run.h — the pipeline drivers: sample -> measure -> write.
 *
 * A job struct holds what a stage produced, so tests can run the pipeline
 * in-process and look at every figure the result file would hold. */
#ifndef BRGFLOW_RUN_H
#define BRGFLOW_RUN_H

#include "brgflow/input.h"
#include "brgflow/nn.h"

typedef struct bf_cosnet_job {
  bf_lattice lat;
  bf_cosnet *net;
  bf_ensemble *ens;
  double *g2, *g2_err, *g2_ref; /* L^d each, by displacement, on every rank */
  const char *reference;        /* which reference g2_ref is */
  double zscore_max;
  int64_t zscore_at;            /* displacement index of zscore_max */
  double seconds_sample, seconds_measure, seconds_reference;
} bf_cosnet_job;

/* Collective: sample the ensemble, estimate G2, build its reference. */
bf_cosnet_job *bf_cosnet_job_run(MPI_Comm comm, const bf_params *p);
void bf_cosnet_job_destroy(bf_cosnet_job **job);

/* Collective: the whole `brgflow run` for a validated input; returns 0. */
int bf_run(MPI_Comm comm, const bf_input *in);

#endif
