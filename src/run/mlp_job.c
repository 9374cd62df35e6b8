/* mlp_job.c — a prior ensemble at a set of points against its
 * infinite-width limit (docs/theory.md f-h), for any model with a prior
 * kernel (every layer stack).
 *
 *   bf_mlp_job_run      sample -> forward -> G2, G4c -> NNGP/NTK -> z-scores;
 *                       kernels only: NNGP/NTK block-cyclic over the ranks
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
  BF_MPI(MPI_Comm_rank(comm, &rank));
  const double *x = p->x;
  double *f = BF_ALLOC(n, double);
  (void)d;
  bf_plan *w = bf_model_plan_create(job->mod, n);
  bf_moments *mom = bf_moments_create(comm, n, p->nquads,
                                      (const int (*)[4])p->quad, p->members,
                                      p->blocks);
  double t0 = bf_elapsed();
  int64_t every = ens->count / 10 > 0 ? ens->count / 10 : 1;
  for (int64_t m = 0; m < ens->count; m++) {
    bf_model_forward(job->mod, w, ens->theta + m * ens->nparams, n, x, f);
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
  bf_model_plan_destroy(&w);
  free(f);
}

static void zscores(bf_mlp_job *job)
{
  int n = job->n;
  job->zscore_max = 0;
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      double e = job->g2_err[i * n + j], dv = fabs(job->g2[i * n + j] - job->k_nngp[i * n + j]);
      /* G2 = K = 0 exactly (no bias, x = 0): z = 0; a NaN anywhere: z = NaN */
      double z = e > 0 ? dv / e : e == 0 ? (dv == 0 ? 0 : dv > 0 ? INFINITY : NAN) : NAN;
      if (isnan(z) || z > job->zscore_max) { /* NaN wins: the max must not hide it */
        job->zscore_max = isnan(job->zscore_max) ? job->zscore_max : z;
        job->z_i = i;
        job->z_j = j;
      }
    }
}

/* Prior ensembles compare G2 with K_nngp entry by entry on every rank, so
 * the kernels stay replicated here: the [correlator] points are few. */
static void replicated_kernels(MPI_Comm comm, const bf_params *p, bf_mlp_job *job)
{
  int64_t n2 = (int64_t)job->n * job->n;
  job->k_nngp = BF_ALLOC(n2, double);
  job->k_ntk = BF_ALLOC(n2, double);
  bf_fail_if(comm, !bf_model_kernel(comm, job->mod, BF_KERNEL_PRIOR, p->x, job->n, p->x,
                                    job->n, job->k_nngp),
             "[network] arch: this model has no infinite-width prior kernel at points");
  if (!bf_model_kernel(comm, job->mod, BF_KERNEL_NTK, p->x, job->n, p->x, job->n, job->k_ntk))
    for (int64_t k = 0; k < n2; k++) job->k_ntk[k] = NAN; /* documented: none */
}

/* K(i, i) and K(0, i) of both kernels: what the printed table shows. */
static void kernel_table(bf_mlp_job *job)
{
  int n = job->n;
  int64_t *rows = BF_ALLOC(2 * n, int64_t), *cols = BF_ALLOC(2 * n, int64_t);
  for (int i = 0; i < n; i++) rows[i] = cols[i] = cols[n + i] = i, rows[n + i] = 0;
  job->k_table = BF_ALLOC(4 * (int64_t)n, double);
  bf_dmat_entries(job->g, &job->K_nngp, 2 * n, rows, cols, job->k_table);
  bf_dmat_entries(job->g, &job->K_ntk, 2 * n, rows, cols, job->k_table + 2 * n);
  free(rows), free(cols);
}

/* `brgflow kernel`: both kernels block-cyclic over all ranks, each rank
 * computing the entries of its own blocks, so none holds n x n
 * (docs/theory.md n); the result writes them by blocks. */
static void distributed_kernels(MPI_Comm comm, const bf_params *p, bf_mlp_job *job)
{
  int n = job->n;
  job->g = bf_grid_create(comm, 1);
  int nb = bf_block_for(job->g, n, p->block);
  job->K_nngp = bf_dmat_make(job->g, n, n, nb);
  job->K_ntk = bf_dmat_make(job->g, n, n, nb);
  int st = bf_dmat_fill_kernel(job->g, job->mod, BF_KERNEL_PRIOR, p->x, p->x, 0, &job->K_nngp);
  bf_fail_if(comm, st == 0,
             "[network] arch: this model has no infinite-width prior kernel at points");
  if (st == 1)
    st = bf_dmat_fill_kernel(job->g, job->mod, BF_KERNEL_NTK, p->x, p->x, 0, &job->K_ntk);
  bf_fail_if(comm, st == BF_STOPPED, "stopped on request during the kernels: no result");
  for (int64_t k = 0; st == 0 && k < job->K_ntk.count; k++)
    job->K_ntk.a[k] = NAN; /* documented: none */
  kernel_table(job);
}

bf_mlp_job *bf_mlp_job_run(MPI_Comm comm, const bf_params *p, int kernels_only)
{
  bf_mlp_job *job = BF_CALLOC(1, bf_mlp_job);
  job->mod = bf_model_create(p);
  job->n = p->npoints;
  job->nq = p->nquads;
  int64_t n2 = (int64_t)job->n * job->n;

  double t = bf_elapsed();
  if (kernels_only)
    distributed_kernels(comm, p, job);
  else
    replicated_kernels(comm, p, job);
  job->seconds_kernels = bf_elapsed() - t;
  bf_log(comm, "kernels: NNGP and NTK at %d points (%s), %.2f s", job->n,
         job->mod->describe, job->seconds_kernels);
  if (kernels_only) return job;

  job->ens = bf_ensemble_create(comm, p->members, job->mod->P);
  job->g2 = BF_ALLOC(n2, double);
  job->g2_err = BF_ALLOC(n2, double);
  job->g4c = BF_ALLOC(job->nq, double);
  job->g4c_err = BF_ALLOC(job->nq, double);
  t = bf_elapsed();
  bf_ensemble_sample(job->ens, job->mod, p->seed);
  job->seconds_sample = bf_elapsed() - t;
  bf_log(comm, "sample: %d members x %lld parameters, %.2f s", p->members,
         (long long)job->mod->P, job->seconds_sample);
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
  bf_model_destroy(&job->mod);
  bf_ensemble_destroy(&job->ens);
  free(job->g2);
  free(job->g2_err);
  free(job->k_nngp);
  free(job->k_ntk);
  free(job->g4c);
  free(job->g4c_err);
  bf_dmat_free(&job->K_nngp);
  bf_dmat_free(&job->K_ntk);
  bf_grid_destroy(&job->g);
  free(job->k_table);
  free(job);
  *jp = NULL;
}
