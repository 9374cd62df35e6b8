/* stage.c — the data and train stages, and the infinite-width check of a
 * trained ensemble (docs/physics.md 2: training runs IR -> UV).
 *
 *   bf_stage_data     the data set, the metric's points and sigma (trained runs)
 *   bf_train_alloc    the training records, before a restart fills them
 *   bf_stage_train    GD, SGD or posterior samples for every member, with a
 *                     checkpoint boundary between chunks; the predictive moments
 *   bf_stage_predict  the infinite-width predictions and the ensemble's
 *                     distance from them (src/train/infinite.c) */
#include "brgflow/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Ensemble predictive mean and variance on the test points. */
static void predictive(MPI_Comm comm, bf_ctx *job)
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

/* Training records and snapshots, allocated before a resume fills them. */
void bf_train_alloc(bf_ctx *job)
{
  const bf_params *p = job->p;
  if (!bf_ctx_trained(p)) return;
  int rank;
  BF_MPI(MPI_Comm_rank(job->comm, &rank));
  bf_sizes sz; /* the records and snapshots: the context's table, no metric yet */
  bf_ctx_sizes(job, &sz);
  bf_fields_alloc(job, bf_ctx_fields, bf_ctx_nfields, &sz, rank);
  /* this rank's members' theta (the ensemble's): the memory estimate */
  bf_mem_track(8.0 * job->ens->count * job->ens->nparams);
}

/* A chunk [from, to) of GD steps or SGD epochs for every local member. */
static void train_chunk(const bf_params *p, bf_ctx *job, int from, int to)
{
  bf_ensemble *ens = job->ens;
  for (int64_t m = 0; m < ens->count; m++) {
    if (job->diverged[m]) continue; /* dropped: trained no further */
    double *theta = ens->theta + m * ens->nparams, *loss = job->loss + m * job->log.nrec;
    double *snap = job->snap ? job->snap + m * job->log.nrec * ens->nparams : NULL;
    if (p->train.method == BF_TRAIN_SGD)
      bf_train_sgd(job->mod, p, job->ds, &job->log, ens->first + m, theta, loss, snap, from,
                   to);
    else
      bf_train_gd(job->mod, p, job->ds, &job->log, theta, loss, snap, from, to);
  }
}

/* A diverged member (lr too large) must not reach the result as NaN: fail
 * with an error naming it (BF_FAILED), or (on_divergence = drop) reset it
 * to its prior draw, mark it and train it no further; its loss records from
 * the divergence on are NaN, documented as such (docs/outputs.md).  Too few
 * members left is BF_FAILED too. */
static int check_finite(MPI_Comm comm, const bf_params *p, bf_ctx *job, int to)
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
    if (p->train.on_divergence == 0) {
      if (bad < 0) bad = ens->first + m;
      continue;
    }
    job->diverged[m] = 1, fresh++;
    bf_model_sample(job->mod, p->run.seed, ens->first + m, theta);
    for (int r = 0; r < job->log.nrec; r++) /* from the divergence on: none */
      if (job->log.steps[r] >= to || !isfinite(job->loss[m * job->log.nrec + r]))
        job->loss[m * job->log.nrec + r] = NAN;
  }
  int64_t b = bad < 0 ? INT64_MAX : bad;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &b, 1, MPI_INT64_T, MPI_MIN, comm));
  if (bf_failed(comm, b != INT64_MAX, "train: member %lld diverged (parameters not finite "
                "after %s %d): lower [train] lr = %g, or set [train] on_divergence = drop",
                (long long)b, p->train.method == BF_TRAIN_SGD ? "epoch" : "step", to, p->train.lr))
    return BF_FAILED;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &fresh, 1, MPI_INT64_T, MPI_SUM, comm));
  job->n_diverged += fresh;
  if (fresh)
    bf_log(comm, "train: %lld member%s diverged by %s %d: dropped (on_divergence = drop), "
           "%lld in all", (long long)fresh, fresh > 1 ? "s" : "",
           p->train.method == BF_TRAIN_SGD ? "epoch" : "step", to, (long long)job->n_diverged);
  /* the ensemble statistics need members: a mean over none is NaN, a
   * standard error over one is undefined */
  int64_t live = ens->members - job->n_diverged, need = p->brg.on ? 2 : 1;
  return bf_failed(comm, live < need, "train: %lld of %lld members diverged by %s %d and were "
                   "dropped ([train] on_divergence = drop): %lld left, the ensemble statistics "
                   "need %lld; lower [train] lr = %g", (long long)job->n_diverged,
                   (long long)ens->members, p->train.method == BF_TRAIN_SGD ? "epoch" : "step", to,
                   (long long)live, (long long)need, p->train.lr) ? BF_FAILED : 0;
}

/* GD (steps) or SGD (epochs) in chunks of checkpoint_every, all local
 * members per chunk, a step boundary between chunks; or posterior samples.
 * Without checkpoints training is one chunk: a linear model computes its
 * features once per member and chunk, so polling in short chunks cost 7x on
 * the authors' experiment (make bench W4); a signal is then honoured at
 * the boundary after training.  0, or the stage's BF_STOPPED or BF_FAILED. */
static int train_members(bf_ctx *job)
{
  const bf_params *p = job->p;
  bf_ensemble *ens = job->ens;
  double t0 = bf_elapsed();
  if (p->train.method == BF_TRAIN_POSTERIOR)
    for (int64_t m = 0; m < ens->count; m++)
      bf_train_posterior(job->mod, p, job->ds, ens->first + m, ens->theta + m * ens->nparams);
  if (p->train.method != BF_TRAIN_GD && p->train.method != BF_TRAIN_SGD) return 0;
  int total = bf_train_length(p);
  int chunk = job->driver && p->run.checkpoint_every > 0 ? p->run.checkpoint_every : total;
  int from = job->resume.active ? (int)job->resume.train_step : 0, start = from;
  const char *unit = p->train.method == BF_TRAIN_SGD ? "epoch" : "step";
  do {
    int to = chunk > 0 && from + chunk < total ? from + chunk : total;
    train_chunk(p, job, from, to);
    if (check_finite(job->comm, p, job, to)) return BF_FAILED;
    double spent = bf_elapsed() - t0;
    bf_log(job->comm, "train: %s %d/%d, %.2f s, ~%.2f s left", unit, to, total, spent,
           spent / (to - start > 0 ? to - start : 1) * (total - to));
    int status = bf_ctx_boundary(job, BF_AT_TRAIN, to, NULL, 0, 0, 0);
    if (status) return status;
    from = to;
  } while (from < total);
  return 0;
}

/* The metric's points and normalization.  mean: I = J^T J/(sigma^2 n_F)
 * is the sum form with sigma sqrt(n_F), so the metric code sees one sigma;
 * the count n of p(Lambda) becomes 1 (docs/theory.md i). */
static void fisher_points(const bf_params *p, bf_ctx *job)
{
  if (p->fisher.points == BF_FISHER_SEPARATE) job->fisher_own = bf_fisher_points_create(p);
  job->fisher = job->fisher_own ? job->fisher_own : job->ds;
  int mean = p->fisher.normalization == BF_FISHER_MEAN;
  double nF = (double)job->fisher->n;
  job->metric_sigma = mean ? job->sigma * sqrt(nF) : job->sigma;
  job->fisher_count = mean ? 1.0 : nF;
}

int bf_stage_data(bf_ctx *c)
{
  const bf_params *p = c->p;
  if (!bf_ctx_trained(p)) return 0;
  int size;
  BF_MPI(MPI_Comm_size(c->comm, &size));
  if (bf_failed(c->comm, p->fisher.solver != BF_SOLVER_NONE && p->fisher.groups > size,
                "[fisher] groups = %d: more groups than the %d MPI rank%s", p->fisher.groups, size,
                size > 1 ? "s" : ""))
    return BF_FAILED;
  c->ds = bf_dataset_create(c->comm, p);
  if (!c->ds) return BF_FAILED; /* [data] file or expression */
  if (bf_stopped()) return BF_STOPPED; /* during the kernels of target = gp */
  c->sigma = p->fisher.sigma > 0 ? p->fisher.sigma : p->data.noise;
  fisher_points(p, c);
  c->log = bf_train_schedule(p);
  bf_log(c->comm, "data: %lld training, %lld test points", (long long)c->ds->n,
         (long long)c->ds->ntest);
  return 0;
}

int bf_stage_train(bf_ctx *c)
{
  const bf_params *p = c->p;
  if (!bf_ctx_trained(p)) return 0;
  double t = bf_elapsed();
  if (!c->resume.active || c->resume.stage == BF_AT_TRAIN) {
    int status = train_members(c);
    if (status) return status;
  }
  predictive(c->comm, c);
  bf_log(c->comm, "train: %s, %.2f s", p->train.method == BF_TRAIN_GD ? "gradient descent"
         : p->train.method == BF_TRAIN_SGD ? "stochastic gradient descent"
         : p->train.method == BF_TRAIN_POSTERIOR ? "exact posterior" : "none (prior)",
         bf_elapsed() - t);
  return 0;
}

/* max over x of |a - b|, NaN if any is NaN (fmax would hide it) */
static double max_dev(int64_t n, const double *a, const double *b)
{
  double worst = 0;
  for (int64_t x = 0; x < n; x++) worst = bf_max_nan(worst, fabs(a[x] - b[x]));
  return worst;
}

int bf_stage_predict(bf_ctx *c)
{
  const bf_params *p = c->p;
  if (!bf_ctx_trained(p) || p->train.method == BF_TRAIN_NONE) return 0;
  if (p->train.method == BF_TRAIN_SGD) {
    bf_log(c->comm, "infinite-width check: skipped (SGD has no closed-form infinite-width "
           "limit; the NTK prediction holds for full-batch gd only)");
    return 0;
  }
  double t = bf_elapsed();
  bf_infinite_predict(c->comm, p, c->mod, c->ds, &c->ref_mean, &c->ref_var);
  if (bf_stopped()) return BF_STOPPED;
  if (!c->ref_mean) return 0;
  int64_t nt = c->ds->ntest;
  c->dev_mean = max_dev(nt, c->test_mean, c->ref_mean);
  if (c->ref_var) {
    c->dev_var = max_dev(nt, c->test_var, c->ref_var);
    bf_log(c->comm, "infinite-width check: max |mean - ref| = %.3g, max |var - ref| = %.3g "
           "(%.2f s)", c->dev_mean, c->dev_var, bf_elapsed() - t);
  } else {
    bf_log(c->comm, "infinite-width check: max |mean - ref| = %.3g (%.2f s)", c->dev_mean,
           bf_elapsed() - t);
  }
  return 0;
}
