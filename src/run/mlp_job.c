/* mlp_job.c — a deep-MLP ensemble against its infinite-width limit
 * (SCIENCE.md 1b).
 *
 *   bf_mlp_job_run      sample -> forward -> G2, G4c -> NNGP/NTK -> z-scores
 *   bf_mlp_job_destroy  free it */
#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <math.h>
#include <stdlib.h>

/* Every local member's outputs at the points, folded into the moments. */
static void measure(bf_mlp_job *job, const bf_params *p, MPI_Comm comm)
{
  bf_ensemble *ens = job->ens;
  int n = job->n, d = p->d, rank;
  MPI_Comm_rank(comm, &rank);
  double *x = BF_ALLOC(n * d, double), *f = BF_ALLOC(n, double);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) x[i * d + j] = p->x[i][j];
  bf_mlp_work *w = bf_mlp_work_create(job->net, n);
  bf_moments *mom = bf_moments_create(comm, n, p->nquads,
                                      (const int (*)[4])p->quad, p->members,
                                      p->blocks);
  double t0 = bf_elapsed();
  int64_t every = ens->count / 10 > 0 ? ens->count / 10 : 1;
  for (int64_t m = 0; m < ens->count; m++) {
    bf_mlp_forward(job->net, ens->theta + m * ens->nparams, n, x, w, f);
    bf_moments_add(mom, ens->first + m, f);
    if (rank == 0 && (m + 1) % every == 0 && m + 1 < ens->count) {
      double spent = bf_elapsed() - t0;
      bf_log(MPI_COMM_SELF, "measure: %lld/%lld local members, %.2f s, ~%.2f s left",
             (long long)(m + 1), (long long)ens->count, spent,
             spent / (m + 1) * (ens->count - m - 1));
    }
  }
  bf_moments_finish(mom, job->g2, job->g2_err, job->g4c, job->g4c_err);
  bf_moments_destroy(&mom);
  bf_mlp_work_destroy(&w);
  free(x);
  free(f);
}

static void zscores(bf_mlp_job *job)
{
  int n = job->n;
  job->zscore_max = 0;
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      double z = fabs(job->g2[i * n + j] - job->k_nngp[i * n + j]) /
                 job->g2_err[i * n + j];
      if (z > job->zscore_max) {
        job->zscore_max = z;
        job->z_i = i;
        job->z_j = j;
      }
    }
}

bf_mlp_job *bf_mlp_job_run(MPI_Comm comm, const bf_params *p, int kernels_only)
{
  bf_mlp_job *job = BF_CALLOC(1, bf_mlp_job);
  job->net = bf_mlp_create(p);
  job->n = p->npoints;
  job->nq = p->nquads;
  int64_t n2 = (int64_t)job->n * job->n;
  job->k_nngp = BF_ALLOC(n2, double);
  job->k_ntk = BF_ALLOC(n2, double);

  double t = bf_elapsed();
  bf_kernels(comm, job->net, job->n, (const double (*)[3])p->x, p->quadrature,
             p->order, job->k_nngp, job->k_ntk);
  job->seconds_kernels = bf_elapsed() - t;
  bf_log(comm, "kernels: NNGP and NTK at %d points, depth %d, %s, %.2f s", job->n,
         p->depth, job->net->act->name, job->seconds_kernels);
  if (kernels_only) return job;

  job->ens = bf_ensemble_create(comm, p->members, job->net->nparams);
  job->g2 = BF_ALLOC(n2, double);
  job->g2_err = BF_ALLOC(n2, double);
  job->g4c = BF_ALLOC(job->nq, double);
  job->g4c_err = BF_ALLOC(job->nq, double);
  t = bf_elapsed();
  bf_ensemble_sample_mlp(job->ens, job->net, p->seed);
  job->seconds_sample = bf_elapsed() - t;
  bf_log(comm, "sample: %d members x %lld parameters, %.2f s", p->members,
         (long long)job->net->nparams, job->seconds_sample);
  t = bf_elapsed();
  measure(job, p, comm);
  job->seconds_measure = bf_elapsed() - t;
  zscores(job);
  bf_log(comm, "measure: G2 and G4c at %d points, %.2f s; max |G2 - K_nngp|/err = %.2f",
         job->n, job->seconds_measure, job->zscore_max);
  return job;
}

void bf_mlp_job_destroy(bf_mlp_job **jp)
{
  bf_mlp_job *job = *jp;
  if (!job) return;
  bf_mlp_destroy(&job->net);
  bf_ensemble_destroy(&job->ens);
  free(job->g2);
  free(job->g2_err);
  free(job->k_nngp);
  free(job->k_ntk);
  free(job->g4c);
  free(job->g4c_err);
  free(job);
  *jp = NULL;
}
