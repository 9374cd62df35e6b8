/* train_job.c — a trained ensemble and its Fisher metric (docs/physics.md 2):
 * data -> sample -> train (IR -> UV) -> infinite-width check -> metric.
 *
 *   bf_train_job_run      the whole stage chain, collective
 *   bf_train_job_destroy  free it */
#include "brgflow/metric.h"
#include "brgflow/nnft.h"
#include "brgflow/run.h"

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

/* Ensemble predictive mean and variance on the test points. */
static void predictive(MPI_Comm comm, bf_train_job *job)
{
  int64_t nt = job->ds->ntest, E = job->ens->members - job->n_diverged;
  double *s = BF_CALLOC(nt, double), *sl = BF_CALLOC(nt, double);
  double *q = BF_CALLOC(nt, double), *ql = BF_CALLOC(nt, double);
  double *f = BF_ALLOC(nt, double);
  bf_plan *plan = bf_model_plan_create(job->mod, nt);
  for (int64_t m = 0; m < job->ens->count; m++) {
    if (job->diverged && job->diverged[m]) continue; /* dropped: not in the ensemble */
    bf_model_forward(job->mod, plan, job->ens->theta + m * job->ens->nparams, nt,
                     job->ds->xt, f);
    for (int64_t x = 0; x < nt; x++) {
      bf_dd_add(&s[x], &sl[x], f[x]);
      bf_dd_add(&q[x], &ql[x], f[x] * f[x]);
    }
  }
  job->test_mean = BF_ALLOC(nt, double);
  job->test_var = BF_ALLOC(nt, double);
  bf_dd_moments(comm, nt, E, s, sl, q, ql, job->test_mean, job->test_var);
  bf_model_plan_destroy(&plan);
  free(s), free(sl), free(q), free(ql), free(f);
}

/* The measure stage after training (docs/physics.md 5): G2 and G4c of the
 * trained members at the [correlator] points, the diverged ones left out
 * as in the predictive moments.  The cos-net has no points (it measures on
 * its lattice in the flow). */
static void measure_trained(MPI_Comm comm, const bf_params *p, bf_train_job *job)
{
  if (p->npoints == 0) return;
  const bf_ensemble *ens = job->ens;
  int64_t n2 = (int64_t)p->npoints * p->npoints;
  double t = bf_elapsed(), *keep = BF_ALLOC(ens->count + 1, double);
  for (int64_t m = 0; m < ens->count; m++) keep[m] = !job->diverged[m];
  job->g2 = BF_ALLOC(n2, double), job->g2_err = BF_ALLOC(n2, double);
  job->g4c = BF_ALLOC(p->nquads, double), job->g4c_err = BF_ALLOC(p->nquads, double);
  bf_measure *ms = bf_measure_create(comm, job->mod, p->npoints, p->x, p->nquads,
                                     (const int (*)[4])p->quad, p->members, p->blocks);
  bf_measure_run(ms, ens->theta, ens->nparams, ens->first, ens->count, keep, job->g2,
                 job->g2_err, job->g4c, job->g4c_err);
  bf_measure_destroy(&ms);
  free(keep);
  bf_log(comm, "measure: G2 and G4c of the trained ensemble at %d points, %d quadruples, "
         "%.2f s", p->npoints, p->nquads, bf_elapsed() - t);
}

/* Training records and snapshots, allocated before a resume fills them. */
static void train_alloc(const bf_params *p, bf_train_job *job)
{
  bf_ensemble *ens = job->ens;
  job->loss = BF_CALLOC(ens->count * job->log.nrec + 1, double);
  job->diverged = BF_CALLOC(ens->count + 1, double);
  int descent = p->method == BF_TRAIN_GD || p->method == BF_TRAIN_SGD;
  int flow = descent && p->record_every > 0 && p->solver != BF_SOLVER_NONE;
  if (flow) job->snap = BF_CALLOC(ens->count * job->log.nrec * ens->nparams + 1, double);
  /* this rank's members: theta, and the snapshots (the memory estimate) */
  bf_mem_track(8.0 * ens->count * ens->nparams * (1 + (flow ? job->log.nrec : 0)));
}

/* A chunk [from, to) of GD steps or SGD epochs for every local member. */
static void train_chunk(const bf_params *p, bf_train_job *job, int from, int to)
{
  bf_ensemble *ens = job->ens;
  for (int64_t m = 0; m < ens->count; m++) {
    if (job->diverged[m]) continue; /* dropped: trained no further */
    double *theta = ens->theta + m * ens->nparams, *loss = job->loss + m * job->log.nrec;
    double *snap = job->snap ? job->snap + m * job->log.nrec * ens->nparams : NULL;
    if (p->method == BF_TRAIN_SGD)
      bf_train_sgd(job->mod, p, job->ds, &job->log, ens->first + m, theta, loss, snap, from,
                   to);
    else
      bf_train_gd(job->mod, p, job->ds, &job->log, theta, loss, snap, from, to);
  }
}

/* A diverged member (lr too large) must not reach the result as NaN: stop
 * with an error naming it, or (on_divergence = drop) reset it to its prior
 * draw, mark it and train it no further; its loss records from the
 * divergence on are NaN, documented as such (docs/outputs.md). */
static void check_finite(MPI_Comm comm, const bf_params *p, bf_train_job *job, int to)
{
  const bf_ensemble *ens = job->ens;
  int64_t bad = -1, fresh = 0;
  for (int64_t m = 0; m < ens->count; m++) {
    double *theta = ens->theta + m * ens->nparams;
    int finite = 1;
    for (int64_t i = 0; i < ens->nparams && finite; i++) finite = isfinite(theta[i]);
    /* f can overflow while theta is still finite: the recorded loss tells */
    for (int r = 0; r < job->log.nrec && finite; r++) {
      int recorded = job->log.steps[r] < to || (job->log.steps[r] == to && to == bf_train_length(p));
      if (recorded) finite = isfinite(job->loss[m * job->log.nrec + r]);
    }
    if (finite || job->diverged[m]) continue;
    if (p->on_divergence == 0) {
      if (bad < 0) bad = ens->first + m;
      continue;
    }
    job->diverged[m] = 1, fresh++;
    bf_model_sample(job->mod, p->seed, ens->first + m, theta);
    for (int r = 0; r < job->log.nrec; r++) /* from the divergence on: none */
      if (job->log.steps[r] >= to || !isfinite(job->loss[m * job->log.nrec + r]))
        job->loss[m * job->log.nrec + r] = NAN;
  }
  int64_t b = bad < 0 ? INT64_MAX : bad;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &b, 1, MPI_INT64_T, MPI_MIN, comm));
  bf_fail_if(comm, b != INT64_MAX, "train: member %lld diverged (parameters not finite after %s "
             "%d): lower [train] lr = %g, or set [train] on_divergence = drop", (long long)b,
             p->method == BF_TRAIN_SGD ? "epoch" : "step", to, p->lr);
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &fresh, 1, MPI_INT64_T, MPI_SUM, comm));
  job->n_diverged += fresh;
  if (fresh)
    bf_log(comm, "train: %lld member%s diverged by %s %d: dropped (on_divergence = drop), "
           "%lld in all", (long long)fresh, fresh > 1 ? "s" : "",
           p->method == BF_TRAIN_SGD ? "epoch" : "step", to, (long long)job->n_diverged);
  /* the ensemble statistics need members: a mean over none is NaN, a
   * standard error over one is undefined */
  int64_t live = ens->members - job->n_diverged, need = p->brg ? 2 : 1;
  bf_fail_if(comm, live < need, "train: %lld of %lld members diverged by %s %d and were dropped "
             "([train] on_divergence = drop): %lld left, the ensemble statistics need %lld; "
             "lower [train] lr = %g", (long long)job->n_diverged, (long long)ens->members,
             p->method == BF_TRAIN_SGD ? "epoch" : "step", to, (long long)live,
             (long long)need, p->lr);
}

/* GD (steps) or SGD (epochs) in chunks of checkpoint_every, all local
 * members per chunk, a checkpoint and a stop point between chunks; or
 * posterior samples.  Without checkpoints training is one chunk: a linear
 * model computes its features once per member and chunk, so polling in
 * short chunks cost 7x on the authors' experiment (make bench W4); a
 * signal is then honoured at the next poll after training. */
static void train_members(MPI_Comm comm, const bf_params *p, bf_train_job *job,
                          bf_session *s)
{
  bf_ensemble *ens = job->ens;
  double t0 = bf_elapsed();
  if (p->method == BF_TRAIN_POSTERIOR)
    for (int64_t m = 0; m < ens->count; m++)
      bf_train_posterior(job->mod, p, job->ds, ens->first + m, ens->theta + m * ens->nparams);
  if (p->method != BF_TRAIN_GD && p->method != BF_TRAIN_SGD) return;
  int ckpt = s && p->checkpoint_every > 0, total = bf_train_length(p);
  int chunk = ckpt ? p->checkpoint_every : total;
  int from = s && s->resume ? (int)s->train_step : 0, start = from;
  const char *unit = p->method == BF_TRAIN_SGD ? "epoch" : "step";
  do {
    int to = chunk > 0 && from + chunk < total ? from + chunk : total;
    train_chunk(p, job, from, to);
    check_finite(comm, p, job, to);
    double spent = bf_elapsed() - t0;
    bf_log(comm, "train: %s %d/%d, %.2f s, ~%.2f s left", unit, to, total, spent,
           spent / (to - start > 0 ? to - start : 1) * (total - to));
    if (to < total && ckpt) {
      bf_session_checkpoint(comm, p, s, job, 0, to, NULL, 0, 0, 0);
      if (bf_session_stop_point(comm, p)) return;
    }
    from = to;
  } while (from < total);
  if (!ckpt && s) bf_session_poll_stop(comm); /* a signal during training: stop here */
}

/* Spectra of `count` parameter vectors per rank (stride P), group by group:
 * a group's ranks take turns broadcasting theta; the group computes each
 * spectrum; the owner keeps it (lambda: count x k).  Eigenvectors (vecs)
 * stay with the group, each rank its parameter rows of every member
 * (job->evec_map). */
static void spectra(const bf_grid *g, const bf_params *p, bf_train_job *job,
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
                               p->block, job->evec_map, lam,
                               vecs + e * job->evec_map->rows * k);
      else
        bf_fisher_eigenvalues(g, job->mod, theta, job->fisher, job->metric_sigma, job->solver,
                              p->block, lam);
      if (r == g->rank) memcpy(lambda + m * k, lam, sizeof(double) * k);
      if (g->rank == 0 && g->group == 0 && m == 0 && r == 0)
        bf_log(MPI_COMM_SELF, "metric: first spectrum in %.2f s on a %d x %d grid",
               bf_elapsed() - t0, g->nprow, g->npcol);
    }
  free(counts), free(theta), free(lam);
}

/* The metric of every trained member, and along training (IR -> UV). */
/* Which metric arrays the run wants; allocated before a resume fills them. */
static void metric_alloc(const bf_params *p, bf_train_job *job)
{
  const bf_ensemble *ens = job->ens;
  int64_t k = job->k;
  int flow_diag = p->brg && p->brg_basis != BF_BASES_EIGEN;
  int flow_eigen = p->brg && p->brg_basis != BF_BASES_DIAGONAL;
  if (p->basis == BF_BASIS_DIAGONAL || flow_diag)
    job->diag = BF_ALLOC(ens->count * job->mod->Pt + 1, double);
  /* relative cutoffs read lambda_max from the spectrum only in the eigen
   * basis (flow_eigen); the diagonal basis takes it from I_AA */
  if (!(p->basis == BF_BASIS_EIGEN || flow_eigen)) return;
  job->lambda = BF_ALLOC(ens->count * k + 1, double);
  if (flow_eigen) { /* this rank's rows of its group's members: no k x Pt */
    job->evec_map = bf_evec_map_create(job->grid, job->mod->Pt, k, ens->first, ens->count);
    int64_t n = job->evec_map->count * job->evec_map->rows * k;
    job->evec = BF_ALLOC(n + 1, double);
    bf_mem_track(8.0 * n); /* the estimate */
  }
  if (job->snap) job->flow_lambda = BF_ALLOC(ens->count * job->log.nrec * k + 1, double);
}

/* The eigenvectors' share of a rank's memory, largest over the ranks. */
static void log_evec_memory(MPI_Comm comm, const bf_train_job *job)
{
  const bf_evec_map *m = job->evec_map;
  double mb = 8e-6 * (double)(m->count * m->rows * job->k);
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &mb, 1, MPI_DOUBLE, MPI_MAX, comm));
  bf_log(comm, "metric: eigenvectors by parameter rows over each group, chunks of %lld of "
         "%lld: %.2f MB per rank (max)", (long long)m->chunk, (long long)m->Pt, mb);
}

static void metric(MPI_Comm comm, const bf_params *p, bf_train_job *job)
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
static void resolved_momentum(MPI_Comm comm, const bf_params *p, bf_train_job *job)
{
  const bf_cosnet *net = job->mod->free_field;
  double A2 = net->amp * net->amp, s2 = job->sigma * job->sigma, m2 = net->mass * net->mass;
  int64_t n = job->fisher->n, N = net->width, d = net->d;
  int mean = p->normalization == BF_FISHER_MEAN;
  double R = net->cutoff, sum[8] = {0};
  job->scale = p->scale > 0 ? p->scale : job->fisher_count * A2 / (2 * s2 * (R * R / 4 + m2));
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

/* The metric's points and normalization.  mean: I = J^T J/(sigma^2 n_F)
 * is the sum form with sigma sqrt(n_F), so the metric code sees one sigma;
 * the count n of p(Lambda) becomes 1 (docs/theory.md i). */
static void fisher_points(const bf_params *p, bf_train_job *job)
{
  if (p->fisher_points == BF_FISHER_SEPARATE) job->fisher_own = bf_fisher_points_create(p);
  job->fisher = job->fisher_own ? job->fisher_own : job->ds;
  int mean = p->normalization == BF_FISHER_MEAN;
  double nF = (double)job->fisher->n;
  job->metric_sigma = mean ? job->sigma * sqrt(nF) : job->sigma;
  job->fisher_count = mean ? 1.0 : nF;
}

bf_train_job *bf_train_job_run(MPI_Comm comm, const bf_params *p, bf_session *s)
{
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  bf_fail_if(comm, p->solver != BF_SOLVER_NONE && p->groups > size,
             "[fisher] groups = %d: more groups than the %d MPI rank%s", p->groups, size,
             size > 1 ? "s" : "");
  bf_train_job *job = BF_CALLOC(1, bf_train_job);
  job->mod = bf_model_create(p);
  job->ds = bf_dataset_create(comm, p);
  if (bf_stopped()) return job; /* during the kernels of target = gp */
  job->sigma = p->fisher_sigma > 0 ? p->fisher_sigma : p->noise;
  fisher_points(p, job);
  job->log = bf_train_schedule(p);
  job->ens = bf_ensemble_create(comm, p->members, job->mod->P);
  double t = bf_elapsed();
  bf_ensemble_sample(job->ens, job->mod, p->seed);
  bf_log(comm, "data: %lld training, %lld test points; sample: %d members x %lld "
         "parameters (%lld trained), %.2f s", (long long)job->ds->n,
         (long long)job->ds->ntest, p->members, (long long)job->mod->P,
         (long long)job->mod->Pt, bf_elapsed() - t);
  t = bf_elapsed();
  /* every array a restore fills exists first: the checkpoint is checked
   * against them before anything is read */
  train_alloc(p, job);
  if (p->solver != BF_SOLVER_NONE) {
    job->solver = bf_fisher_choose(p->solver, job->fisher->n, job->mod->Pt);
    job->k = job->fisher->n < job->mod->Pt ? job->fisher->n : job->mod->Pt;
    job->grid = bf_grid_create(comm, p->groups); /* the metric's, and the flow's */
    metric_alloc(p, job);
  }
  if (s && s->restart && s->restart[0]) bf_session_resume(comm, p, s, job);
  int resumed = s && s->resume;
  if (resumed) bf_session_load_training(s, job);
  if (!resumed || s->stage == 0) train_members(comm, p, job, s);
  if (bf_stopped()) return job; /* at a checkpoint between training chunks */
  predictive(comm, job);
  bf_log(comm, "train: %s, %.2f s", p->method == BF_TRAIN_GD ? "gradient descent"
         : p->method == BF_TRAIN_SGD ? "stochastic gradient descent"
         : p->method == BF_TRAIN_POSTERIOR ? "exact posterior" : "none (prior)",
         bf_elapsed() - t);
  measure_trained(comm, p, job);
  if (p->method == BF_TRAIN_SGD)
    bf_log(comm, "infinite-width check: skipped (SGD has no closed-form infinite-width "
           "limit; the NTK prediction holds for full-batch gd only)");
  if (p->method != BF_TRAIN_NONE && p->method != BF_TRAIN_SGD) {
    t = bf_elapsed();
    bf_infinite_predict(comm, p, job->mod, job->ds, &job->ref_mean, &job->ref_var);
    if (bf_stopped()) return job;
    if (job->ref_mean) {
      for (int64_t x = 0; x < job->ds->ntest; x++) {
        double dm = fabs(job->test_mean[x] - job->ref_mean[x]);
        job->dev_mean = isnan(dm) || isnan(job->dev_mean) ? NAN : fmax(job->dev_mean, dm);
        if (job->ref_var)
          job->dev_var = isnan(job->dev_var) || isnan(job->test_var[x] - job->ref_var[x])
                             ? NAN : fmax(job->dev_var, fabs(job->test_var[x] - job->ref_var[x]));
      }
      if (job->ref_var)
        bf_log(comm, "infinite-width check: max |mean - ref| = %.3g, max |var - ref| = %.3g "
               "(%.2f s)", job->dev_mean, job->dev_var, bf_elapsed() - t);
      else
        bf_log(comm, "infinite-width check: max |mean - ref| = %.3g (%.2f s)", job->dev_mean,
               bf_elapsed() - t);
    }
  }
  if (p->solver != BF_SOLVER_NONE) {
    t = bf_elapsed();
    if (resumed && s->stage >= 1) {
      bf_session_load_metric(s, job);
      bf_log(comm, "metric: restored from the checkpoint");
      return job;
    }
    metric(comm, p, job);
    if (job->mod->free_field) resolved_momentum(comm, p, job);
    if (job->lambda)
      bf_log(comm, "metric: %s, %lld eigenvalues per member, %.2f s",
             job->solver == BF_SOLVER_PRIMAL ? "primal" : "dual", (long long)job->k,
             bf_elapsed() - t);
    else
      bf_log(comm, "metric: diagonal I_AA per member, %.2f s", bf_elapsed() - t);
    if (s && p->brg) { /* the flow's starting point */
      bf_session_checkpoint(comm, p, s, job, 1, bf_train_length(p), NULL, 0, 0, 0);
      bf_session_stop_point(comm, p); /* the job is returned either way */
    }
  }
  return job;
}

void bf_train_job_destroy(bf_train_job **jp)
{
  bf_train_job *job = *jp;
  if (!job) return;
  bf_dataset_destroy(&job->ds);
  bf_dataset_destroy(&job->fisher_own);
  bf_ensemble_destroy(&job->ens);
  bf_model_destroy(&job->mod);
  free(job->log.steps), free(job->loss), free(job->diverged), free(job->lambda), free(job->diag);
  free(job->snap), free(job->flow_lambda), free(job->evec);
  bf_evec_map_destroy(&job->evec_map);
  bf_grid_destroy(&job->grid);
  free(job->test_mean), free(job->test_var), free(job->ref_mean), free(job->ref_var);
  free(job->g2), free(job->g2_err), free(job->g4c), free(job->g4c_err);
  free(job);
  *jp = NULL;
}
