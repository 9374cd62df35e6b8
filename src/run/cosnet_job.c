/* cosnet_job.c — the free-field slice: a cos-net ensemble's G2 against the
 * free propagator with a UV cutoff (docs/physics.md 1a).
 *
 *   bf_cosnet_job_run      sample -> measure G2 -> reference -> z-scores
 *   bf_cosnet_job_destroy  free it */
#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <stdlib.h>

/* Each member's field on the evaluation box, folded into the G2 estimate.
 * Rank 0 reports progress about every tenth of its block (the largest). */
static void measure_g2(bf_cosnet_job *job, MPI_Comm comm)
{
  bf_ensemble *ens = job->ens;
  bf_g2 *g2 = bf_g2_create(comm, &job->lat, job->net->momenta == BF_MOMENTA_LATTICE);
  int B = bf_g2_box_sites(g2);
  int64_t npts = bf_lattice_make(job->lat.d, B, job->lat.s).nsites;
  double *phi = BF_ALLOC(npts, double), t0 = bf_elapsed();
  int64_t every = ens->count / 10 > 0 ? ens->count / 10 : 1;
  for (int64_t m = 0; m < ens->count; m++) {
    bf_cosnet_field_grid(job->net, ens->theta + m * ens->nparams, B,
                         job->lat.s, phi);
    bf_g2_add_member(g2, phi);
    if ((m + 1) % every == 0 && m + 1 < ens->count) {
      double spent = bf_elapsed() - t0;
      int rank;
      BF_MPI(MPI_Comm_rank(comm, &rank));
      if (rank == 0)
        bf_log(MPI_COMM_SELF, "measure G2: %lld/%lld local members, %.2f s, ~%.2f s left",
               (long long)(m + 1), (long long)ens->count, spent,
               spent / (m + 1) * (ens->count - m - 1));
    }
  }
  bf_g2_finish(g2, job->g2, job->g2_err);
  free(phi);
  bf_g2_destroy(&g2);
}

bf_cosnet_job *bf_cosnet_job_run(MPI_Comm comm, const bf_params *p)
{
  bf_cosnet_job *job = BF_CALLOC(1, bf_cosnet_job);
  job->lat = bf_lattice_make(p->d, p->sites, p->spacing);
  job->mod = bf_model_create(p);
  job->net = job->mod->free_field;
  BF_ASSERT(job->net);
  job->ens = bf_ensemble_create(comm, p->members, job->mod->P);
  int64_t n = job->lat.nsites;
  job->g2 = BF_ALLOC(n, double);
  job->g2_err = BF_ALLOC(n, double);
  job->g2_ref = BF_ALLOC(n, double);

  double t = bf_elapsed();
  bf_ensemble_sample(job->ens, job->mod, p->seed);
  job->seconds_sample = bf_elapsed() - t;
  bf_log(comm, "sample: %d members x %lld parameters, %.2f s", p->members,
         (long long)job->ens->nparams, job->seconds_sample);

  t = bf_elapsed();
  measure_g2(job, comm);
  job->seconds_measure = bf_elapsed() - t;
  bf_log(comm, "measure G2: %lld displacements, %.2f s", (long long)n,
         job->seconds_measure);

  t = bf_elapsed();
  if (job->net->momenta == BF_MOMENTA_LATTICE) {
    bf_ref_lattice(comm, &job->lat, job->net->mass, job->net->cutoff, job->g2_ref);
    job->reference = "G_R^lat(r): lattice propagator with cutoff R, by FFTW";
  } else {
    bf_ref_continuum_grid(comm, &job->lat, job->net->mass, job->net->cutoff, job->g2_ref);
    job->reference = "G_R(|r|): continuum propagator with hard cutoff R, by GSL quadrature";
  }
  job->seconds_reference = bf_elapsed() - t;
  job->zscore_max = bf_zscore_max(n, job->g2, job->g2_err, job->g2_ref,
                                  &job->zscore_at);
  bf_log(comm, "reference: %.2f s; max |G2 - ref|/err = %.2f", job->seconds_reference,
         job->zscore_max);
  return job;
}

void bf_cosnet_job_destroy(bf_cosnet_job **jp)
{
  bf_cosnet_job *job = *jp;
  if (!job) return;
  bf_model_destroy(&job->mod);
  bf_ensemble_destroy(&job->ens);
  free(job->g2);
  free(job->g2_err);
  free(job->g2_ref);
  free(job);
  *jp = NULL;
}
