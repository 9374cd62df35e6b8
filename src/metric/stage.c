/* stage.c — the metric stage (docs/physics.md 2): the Fisher metric of every
 * trained member, its spectrum over rank groups, and for the cos-net the
 * momentum the data resolve (IR -> UV).
 *
 *   bf_metric_alloc  the metric arrays the run wants, before a restart fills them
 *   bf_stage_metric  every member's metric (and along training); a
 *                    checkpoint boundary when a flow follows
 *   bf_sym_eigen     serial LAPACK eigensolver for tests and small matrices */
#include "brgflow/metric.h"
#include "brgflow/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Symmetric eigen-decomposition (LAPACK): A (n x n) -> vectors in A, w.
 * Serial and replicated: for tests and small matrices only; the run's
 * n x n kernels are distributed (src/train/infinite.c). */
void bf_sym_eigen(int n, double *A, double *w)
{
  int lwork = -1, liwork = -1, iw, info;
  double wq;
  dsyevd_("V", "U", &n, A, &n, w, &wq, &lwork, &iw, &liwork, &info);
  lwork = (int)wq + 1;
  liwork = iw + 1;
  double *work = BF_ALLOC(lwork, double);
  int *iwork = BF_ALLOC(liwork, int);
  dsyevd_("V", "U", &n, A, &n, w, work, &lwork, iwork, &liwork, &info);
  BF_ASSERT(info == 0);
  free(work);
  free(iwork);
}

/* Spectra of `count` parameter vectors per rank (stride P), group by group:
 * a group's ranks take turns broadcasting theta; the group computes each
 * spectrum; the owner keeps it (lambda: count x k).  Eigenvectors (vecs)
 * stay with the group, each rank its parameter rows of every member
 * (job->evec_map). */
static void spectra(const bf_grid *g, const bf_params *p, bf_ctx *job,
                    int64_t count, const double *thetas, double *lambda, double *vecs)
{
  int64_t k = job->k, P = job->ens->nparams, e = 0;
  int64_t *counts = BF_ALLOC(g->size, int64_t);
  BF_MPI(MPI_Allgather(&count, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, g->comm));
  double *theta = BF_ALLOC(P, double), *lam = BF_ALLOC(k, double), t0 = bf_elapsed();
  for (int r = 0; r < g->size; r++)
    for (int64_t m = 0; m < counts[r]; m++, e++) {
      if (r == g->rank) memcpy(theta, thetas + m * P, sizeof(double) * P);
      bf_bcast_doubles(g->comm, theta, P, r);
      if (vecs)
        bf_fisher_eigenvectors(g, job->mod, theta, job->fisher, job->metric_sigma, job->solver,
                               p->fisher.block, job->evec_map, lam,
                               vecs + e * job->evec_map->rows * k);
      else
        bf_fisher_eigenvalues(g, job->mod, theta, job->fisher, job->metric_sigma, job->solver,
                              p->fisher.block, lam);
      if (r == g->rank) memcpy(lambda + m * k, lam, sizeof(double) * k);
      if (g->rank == 0 && g->group == 0 && m == 0 && r == 0)
        bf_log(MPI_COMM_SELF, "metric: first spectrum in %.2f s on a %d x %d grid",
               bf_elapsed() - t0, g->nprow, g->npcol);
    }
  free(counts), free(theta), free(lam);
}

/* Which metric arrays the run wants (the solver and k too); allocated
 * before a restart fills them. */
void bf_metric_alloc(bf_ctx *job)
{
  const bf_params *p = job->p;
  if (p->fisher.solver == BF_SOLVER_NONE) return;
  const bf_ensemble *ens = job->ens;
  job->solver = bf_fisher_choose(p->fisher.solver, job->fisher->n, job->mod->Pt);
  job->k = job->fisher->n < job->mod->Pt ? job->fisher->n : job->mod->Pt;
  job->grid = bf_grid_create(job->comm, p->fisher.groups); /* the metric's, and the flow's */
  int64_t k = job->k;
  int rank;
  BF_MPI(MPI_Comm_rank(job->comm, &rank));
  bf_sizes sz; /* lambda, diag, flow_lambda: the context's table */
  bf_ctx_sizes(job, &sz);
  bf_fields_alloc(job, bf_ctx_fields, bf_ctx_nfields, &sz, rank);
  int flow_eigen = p->brg.on && p->brg.basis != BF_BASES_DIAGONAL;
  if (flow_eigen) { /* this rank's rows of its group's members: no k x Pt */
    job->evec_map = bf_evec_map_create(job->grid, job->mod->Pt, k, ens->first, ens->count);
    int64_t n = job->evec_map->count * job->evec_map->rows * k;
    job->evec = BF_ALLOC(n + 1, double);
    bf_mem_track(8.0 * n); /* the estimate */
  }
}

/* The eigenvectors' share of a rank's memory, largest over the ranks. */
static void log_evec_memory(MPI_Comm comm, const bf_ctx *job)
{
  const bf_evec_map *m = job->evec_map;
  double mb = 8e-6 * (double)(m->count * m->rows * job->k);
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &mb, 1, MPI_DOUBLE, MPI_MAX, comm));
  bf_log(comm, "metric: eigenvectors by parameter rows over each group, chunks of %lld of "
         "%lld: %.2f MB per rank (max)", (long long)m->chunk, (long long)m->Pt, mb);
}

/* The metric of every trained member, and along training (IR -> UV). */
static void metric(MPI_Comm comm, const bf_params *p, bf_ctx *job)
{
  bf_ensemble *ens = job->ens;
  const bf_grid *g = job->grid;
  for (int64_t m = 0; job->diag && m < ens->count; m++)
    bf_fisher_diagonal(job->mod, ens->theta + m * ens->nparams, job->fisher, job->metric_sigma,
                       job->diag + m * job->mod->Pt);
  if (job->lambda) spectra(g, p, job, ens->count, ens->theta, job->lambda, job->evec);
  if (job->evec) log_evec_memory(comm, job);
  if (job->flow_lambda) { /* snapshots: member-major, nrec per member */
    spectra(g, p, job, ens->count * job->log.nrec, job->snap, job->flow_lambda, NULL);
    bf_log(comm, "metric along training: %d records per member", job->log.nrec);
  }
}

/* IR -> UV for the cos-net (docs/physics.md 2): at a fixed information scale
 * Lambda, the momentum the data resolves grows with the data.  For nested
 * prefixes of the Fisher points (n_j = j n/8), theory
 * p(Lambda) = sqrt(n_eff A^2/(2 s^2 Lambda) - m^2) against the ensemble mean
 * of the largest |b_i| among units with diagonal Fisher I_ii >= Lambda;
 * n_eff = n_j for the sum normalization, 1 for the mean (the metric of a
 * prefix is then its sum over n_j). */
static void resolved_momentum(MPI_Comm comm, const bf_params *p, bf_ctx *job)
{
  const bf_cosnet *net = job->mod->free_field;
  double A2 = net->amp * net->amp, s2 = job->sigma * job->sigma, m2 = net->mass * net->mass;
  int64_t n = job->fisher->n, N = net->width, d = net->d;
  int mean = p->fisher.normalization == BF_FISHER_MEAN;
  double R = net->cutoff, sum[8] = {0};
  job->scale = p->fisher.scale > 0 ? p->fisher.scale : job->fisher_count * A2 / (2 * s2 * (R * R / 4 + m2));
  double *J = BF_ALLOC(n * N, double), *acc = BF_ALLOC(N, double);
  for (int64_t m = 0; m < job->ens->count; m++) {
    const double *theta = job->ens->theta + m * job->ens->nparams;
    bf_model_jacobian(job->mod, theta, n, job->fisher->x, J);
    memset(acc, 0, sizeof(double) * N);
    int64_t done = 0; /* one pass: the sum over prefix j is a running sum */
    for (int j = 1; j <= 8; j++) {
      int64_t nj = j * n / 8 > 0 ? j * n / 8 : 1;
      for (; done < nj; done++)
        for (int64_t i = 0; i < N; i++) acc[i] += J[done * N + i] * J[done * N + i];
      double pmax = 0, norm = s2 * (mean ? (double)nj : 1.0);
      for (int64_t i = 0; i < N; i++) {
        if (acc[i] / norm < job->scale) continue;
        double b2 = 0;
        for (int c = 0; c < d; c++) b2 += theta[N + i * d + c] * theta[N + i * d + c];
        pmax = fmax(pmax, sqrt(b2));
      }
      sum[j - 1] += pmax;
    }
  }
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, sum, 8, MPI_DOUBLE, MPI_SUM, comm));
  for (int j = 1; j <= 8; j++) {
    double nj = (double)(j * n / 8 > 0 ? j * n / 8 : 1), neff = mean ? 1 : nj;
    double theory = neff * A2 / (2 * s2 * job->scale) - m2;
    job->resolved[j - 1][0] = nj;
    job->resolved[j - 1][1] = theory > 0 ? fmin(sqrt(theory), R) : 0;
    job->resolved[j - 1][2] = sum[j - 1] / job->ens->members;
  }
  free(J), free(acc);
}


int bf_stage_metric(bf_ctx *c)
{
  const bf_params *p = c->p;
  if (p->fisher.solver == BF_SOLVER_NONE) return 0;
  if (c->resume.active && c->resume.stage >= BF_AT_METRIC) {
    bf_log(c->comm, "metric: restored from the checkpoint");
    return 0;
  }
  double t = bf_elapsed();
  metric(c->comm, p, c);
  if (c->mod->free_field) resolved_momentum(c->comm, p, c);
  if (c->lambda)
    bf_log(c->comm, "metric: %s, %lld eigenvalues per member, %.2f s",
           c->solver == BF_SOLVER_PRIMAL ? "primal" : "dual", (long long)c->k,
           bf_elapsed() - t);
  else
    bf_log(c->comm, "metric: diagonal I_AA per member, %.2f s", bf_elapsed() - t);
  /* the flow's starting point */
  return p->brg.on ? bf_ctx_boundary(c, BF_AT_METRIC, bf_train_length(p), NULL, 0, 0, 0) : 0;
}
