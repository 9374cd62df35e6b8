/* flow.c — the coarse-graining flow of a trained ensemble (docs/physics.md 3)
 * and, for the cos-net on the full lattice, the ERG checks (docs/physics.md 4).
 *
 *   bf_stage_flow           the flow stage: bf_flow_run for the run's input
 *   bf_flow_run             every (basis, prescription) asked for, step by step
 *   bf_flow_results_destroy free them
 *   bf_flow_count, _shape   how many flows, and each one's array sizes (for
 *                           checking a checkpoint before a restore)
 *   bf_flow_sizes           the axes and conditions of a flow's result table
 *                           (src/flow/table.c) in this run
 *
 * Steps run outermost: at step k every rank coarse-grains its own members at
 * Lambda_k, and the ensemble observables of the step are reduced before the
 * next begins. */
#include "brgflow/flow.h"
#include "brgflow/nnft.h"
#include "brgflow/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BOOTSTRAP_DRAW = 41 };

static double member_lambda_max(const bf_ctx *job, int basis, int64_t m)
{
  if (basis == BF_BASIS_EIGEN) return job->lambda[m * job->k];
  double mx = 0;
  for (int64_t a = 0; a < job->mod->Pt; a++) mx = bf_max_nan(mx, job->diag[m * job->mod->Pt + a]);
  return mx;
}

/* Per-member rows (count x K x w, member-major) gathered on rank 0 into
 * out (K x E x w: by step, then member; NULL elsewhere). */
static void gather_steps_w(MPI_Comm comm, const bf_ensemble *ens, int K, int w,
                           const double *local, double *out)
{
  int rank, size;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  BF_MPI(MPI_Comm_size(comm, &size));
  int *counts = BF_ALLOC(size, int), *displs = BF_ALLOC(size, int);
  int mine = (int)(ens->count * K * w);
  BF_MPI(MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  for (int r = 0, off = 0; r < size; r++) displs[r] = off, off += rank == 0 ? counts[r] : 0;
  double *all = rank == 0 ? BF_ALLOC(ens->members * K * w + 1, double) : NULL;
  BF_MPI(MPI_Gatherv(local, mine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, comm));
  if (rank == 0) /* member-major (E x K x w) -> step-major (K x E x w) */
    for (int64_t m = 0; m < ens->members; m++)
      for (int k = 0; k < K; k++)
        for (int j = 0; j < w; j++)
          out[(k * ens->members + m) * w + j] = all[(m * K + k) * w + j];
  free(all), free(counts), free(displs);
}

/* Per-member rows (count x K) gathered on rank 0 into out (K x E). */
static void gather_steps(MPI_Comm comm, const bf_ensemble *ens, int K, const double *local,
                         double *out)
{
  gather_steps_w(comm, ens, K, 1, local, out);
}

/* Lambda_C and its bootstrap interval over the kept members (rank 0): the
 * bootstrap draws n of the n kept members, so with none dropped it is the
 * draw over all E. */
static void critical_cutoff(const bf_params *p, bf_flow_result *f, int64_t E)
{
  int64_t n = f->n_kept, *kidx = BF_ALLOC(E, int64_t);
  for (int64_t m = 0, i = 0; m < E; m++)
    if (f->kept[m]) kidx[i++] = m;
  f->crit = bf_flow_critical(f->K, E, f->mse, f->mse0, p->brg.critical_tol, n, kidx);
  f->lc = f->crit >= 0 ? f->cut[f->crit] : NAN;
  f->lc_lo = f->lc_hi = NAN;
  if (p->brg.bootstrap < 2) {
    free(kidx);
    return;
  }
  double *lcs = BF_ALLOC(p->brg.bootstrap, double);
  int64_t *use = BF_ALLOC(n, int64_t);
  bf_rng s = bf_rng_stream(p->run.seed, BF_DATA_MEMBER, BOOTSTRAP_DRAW);
  for (int b = 0; b < p->brg.bootstrap; b++) {
    for (int64_t j = 0; j < n; j++) {
      int64_t m = (int64_t)(bf_rng_uniform(&s, (uint64_t)(b * n + j)) * n);
      use[j] = kidx[m < n ? m : n - 1];
    }
    int c = bf_flow_critical(f->K, E, f->mse, f->mse0, p->brg.critical_tol, n, use);
    lcs[b] = c >= 0 ? f->cut[c] : INFINITY; /* not reached on the grid */
  }
  for (int a = 1; a < p->brg.bootstrap; a++) /* insertion sort: B is small */
    for (int b = a; b > 0 && lcs[b] < lcs[b - 1]; b--) {
      double t = lcs[b];
      lcs[b] = lcs[b - 1], lcs[b - 1] = t;
    }
  f->lc_lo = lcs[(int)(0.025 * (p->brg.bootstrap - 1))];
  f->lc_hi = lcs[(int)(0.975 * (p->brg.bootstrap - 1))];
  free(lcs), free(use), free(kidx);
}

/* The ERG observables of step k from its G2 accumulator. */
static void erg_step(MPI_Comm comm, const bf_params *p, const bf_ctx *job,
                     bf_flow_result *f, int k, bf_g2 *g2)
{
  const bf_cosnet *net = job->mod->free_field;
  const bf_lattice *lat = &net->lat;
  int64_t ns = lat->nsites, o = k * ns;
  double n = job->fisher_count, L = f->cut[k]; /* n_F (sum) or 1 (mean) */
  /* eigen basis: a momentum mode's information sits in the ~N/M units that
   * share it, so its Fisher eigenvalue is (N/M) lambda_q (docs/theory.md):
   * the momentum cutoff of Lambda is p(Lambda M/N), and the q = 0 mode is
   * one eigenvector, kept or dropped whole */
  int eig = f->basis == BF_BASIS_EIGEN;
  if (eig) L *= (double)net->nmom / net->width;
  bf_g2_finish(g2, f->g2 + o, f->g2_err + o);
  bf_g2_power_finish(g2, f->gq + o, f->gq_err + o);
  /* pruning keeps |q| <= p; the ensemble has only |q| < R: the reference
   * cutoff is the smaller (a hair above p, for the non-strict <=) */
  double pl = bf_erg_momentum(n, net->amp, job->sigma, net->mass, L);
  f->pcut[k] = fmin(pl, net->cutoff);
  double pref = pl < net->cutoff ? pl * (1 + 1e-12) : net->cutoff;
  double w0 = eig ? (pl > 0 || n * net->amp * net->amp / (2 * job->sigma * job->sigma *
                                                           net->mass * net->mass) >= L)
                   : bf_erg_q0_weight(n, net->amp, job->sigma, net->mass, L);
  bf_erg_reference(comm, lat, net->mass, pref, w0, f->g2_ref + o, f->gq_ref + o);
  f->zmax[k] = bf_zscore_max(ns, f->g2 + o, f->g2_err + o, f->g2_ref + o, NULL);
  bf_erg_fit(lat, pref, f->gq + o, f->gq_err + o, &f->m_eff[k], &f->m_err[k], &f->Z[k]);
  f->m_hat[k] = f->m_eff[k] / f->pcut[k];
  f->zeta[k] = f->pcut[k] / net->cutoff;
  (void)p;
}

/* What one flow keeps per local member from step to step: the current
 * coarse-grained theta; in the eigen basis the group's shells (their
 * coefficients, and how far down each spectrum they have been added) and
 * each member's sloppy count at the step. */
typedef struct flow_state {
  double *theta;      /* count x P */
  double *draw;       /* diagonal basis: count x Pt prior draws */
  bf_shells_group *shells; /* eigen basis */
  int64_t *sloppy;    /* count, eigen basis */
} flow_state;

static void flow_state_init(const bf_params *p, const bf_ctx *job,
                            const bf_flow_result *f, flow_state *st)
{
  const bf_ensemble *ens = job->ens;
  const bf_model *mod = job->mod;
  int64_t P = ens->nparams;
  *st = (flow_state){0};
  st->theta = BF_ALLOC(ens->count * P + 1, double);
  memcpy(st->theta, ens->theta, sizeof(double) * ens->count * P);
  double *sd = BF_ALLOC(mod->Pt, double);
  bf_model_prior_sd(mod, sd);
  if (f->basis == BF_BASIS_EIGEN) { /* collective over the metric's groups */
    st->shells = bf_shells_group_create(job->grid, job->evec_map, mod, job->lambda, job->evec,
                                        ens->theta, f->prune ? NULL : sd, p->run.seed);
    st->sloppy = BF_ALLOC(ens->count + 1, int64_t);
  } else if (!f->prune) { /* the diagonal basis keeps each member's draw */
    st->draw = BF_ALLOC(ens->count * mod->Pt + 1, double);
    for (int64_t m = 0; m < ens->count; m++)
      bf_flow_prior_draw(mod, sd, p->run.seed, ens->first + m, st->draw + m * mod->Pt);
  }
  free(sd);
}

static void flow_state_free(flow_state *st)
{
  free(st->theta), free(st->draw), free(st->sloppy);
  bf_shells_group_destroy(&st->shells);
}

/* Member m's coarse-grained theta at Lambda; returns the sloppy count.
 * The eigen basis was coarse-grained by its group for the step already. */
static int64_t coarse_grain(const bf_ctx *job, const bf_flow_result *f,
                            flow_state *st, int64_t m, double Lambda, int64_t *zero)
{
  const bf_model *mod = job->mod;
  int64_t P = job->ens->nparams;
  if (f->basis == BF_BASIS_EIGEN) return st->sloppy[m];
  return bf_coarse_diagonal(mod, job->ens->theta + m * P, job->diag + m * mod->Pt, Lambda,
                            f->prune, f->prune ? NULL : st->draw + m * mod->Pt, st->theta + m * P,
                            zero);
}

/* One flow's workspace, made once per flow: one plan per rank serves every
 * prediction, one G2 accumulator every ERG step and one measure plan every
 * step's correlators at the points (the same measurement as the trained
 * ensemble's), so no workspace is made per step (the reductions keep their
 * small buffers); and the flow's state (flow_state). */
typedef struct flow_work {
  double *pred, *phi;         /* nt predictions; the lattice field (ERG) */
  double *mh, *ml, *qh, *ql;  /* double-double sums of pred and pred^2, nt each */
  bf_plan *plan;
  bf_measure *ms;             /* NULL without correlator points */
  bf_g2 *g2;                  /* NULL without the ERG checks */
  flow_state st;
  double step_mse, step_sloppy; /* this rank's sums over the step's members */
} flow_work;

static void work_create(MPI_Comm comm, const bf_params *p, const bf_ctx *job,
                        const bf_flow_result *f, flow_work *w)
{
  const bf_model *mod = job->mod;
  int64_t nt = job->ds->ntest;
  *w = (flow_work){0};
  w->pred = BF_ALLOC(nt, double);
  w->mh = BF_ALLOC(nt, double), w->ml = BF_ALLOC(nt, double);
  w->qh = BF_ALLOC(nt, double), w->ql = BF_ALLOC(nt, double);
  w->plan = bf_model_plan_create(mod, nt);
  if (f->npts)
    w->ms = bf_measure_create(comm, mod, f->npts, p->corr.x, f->nq,
                              (const int (*)[4])p->corr.quad, job->ens->members, p->corr.blocks);
  if (f->erg) {
    w->phi = BF_ALLOC(mod->free_field->lat.nsites, double);
    w->g2 = bf_g2_create(comm, &mod->free_field->lat, 1);
  }
  flow_state_init(p, job, f, &w->st);
}

static void work_destroy(flow_work *w)
{
  flow_state_free(&w->st);
  bf_g2_destroy(&w->g2);
  bf_measure_destroy(&w->ms);
  bf_model_plan_destroy(&w->plan);
  free(w->pred), free(w->phi), free(w->mh), free(w->ml), free(w->qh), free(w->ql);
}

/* Member m (local) at step k: coarse-grained, its test MSE, sloppy count
 * and probe predictions stored, and, if kept, folded into the step's
 * ensemble sums.  A dropped member is coarse-grained and its MSE stored,
 * but it stays out of every ensemble statistic. */
static void member_step(const bf_params *p, const bf_ctx *job, bf_flow_result *f,
                        flow_work *w, int64_t m, int k)
{
  const bf_ensemble *ens = job->ens;
  int K = f->K, nt = (int)job->ds->ntest, npr = f->nprobe;
  double Lambda = p->brg.relative ? f->cut[k] * member_lambda_max(job, f->basis, m) : f->cut[k];
  int64_t zero = 0, sloppy = coarse_grain(job, f, &w->st, m, Lambda, &zero);
  const double *theta = w->st.theta + m * ens->nparams;
  bf_model_forward(job->mod, w->plan, theta, nt, job->ds->xt, w->pred);
  double e = 0;
  for (int x = 0; x < nt; x++)
    e += (w->pred[x] - job->ds->yt[x]) * (w->pred[x] - job->ds->yt[x]) / nt;
  f->mse_loc[m * K + k] = e, f->nsl_loc[m * K + k] = (double)sloppy;
  f->nz_loc[m * K + k] = (double)zero;
  for (int j = 0; j < npr; j++) f->probe_loc[(m * K + k) * npr + j] = w->pred[p->brg.probe_idx[j]];
  w->step_sloppy += (double)sloppy;
  if (!f->kept[ens->first + m]) return;
  w->step_mse += e;
  for (int x = 0; x < nt; x++) {
    bf_dd_add(&w->mh[x], &w->ml[x], w->pred[x]);
    bf_dd_add(&w->qh[x], &w->ql[x], w->pred[x] * w->pred[x]);
  }
  if (w->g2) {
    const bf_cosnet *field = job->mod->free_field;
    bf_cosnet_field_grid(field, theta, field->lat.L, field->lat.s, w->phi);
    bf_g2_add_member(w->g2, w->phi);
  }
}

/* Step k of flow f: every local member coarse-grained at Lambda_k, then
 * the step's ensemble observables (collective). */
static void flow_step(MPI_Comm comm, const bf_params *p, const bf_ctx *job, bf_flow_result *f,
                      flow_work *w, int k)
{
  const bf_ensemble *ens = job->ens;
  int nt = (int)job->ds->ntest;
  memset(w->mh, 0, sizeof(double) * nt), memset(w->ml, 0, sizeof(double) * nt);
  memset(w->qh, 0, sizeof(double) * nt), memset(w->ql, 0, sizeof(double) * nt);
  w->step_mse = w->step_sloppy = 0;
  if (w->g2) bf_g2_reset(w->g2);
  if (w->st.shells) /* the eigen basis: every member of the group, collectively */
    bf_shells_group_step(w->st.shells, f->cut[k], p->brg.relative, w->st.theta, w->st.sloppy);
  for (int64_t m = 0; m < ens->count; m++) member_step(p, job, f, w, m, k);
  if (w->ms) { /* the measure stage at the correlator points, kept members only */
    int64_t o2 = (int64_t)k * f->npts * f->npts, o4 = (int64_t)k * f->nq;
    bf_measure_run(w->ms, w->st.theta, ens->nparams, ens->first, ens->count,
                   f->kept + ens->first, f->g2pts + o2, f->g2pts_err + o2, f->g4c + o4,
                   f->g4c_err + o4);
  }
  bf_dd_moments(comm, nt, f->n_kept, w->mh, w->ml, w->qh, w->ql, f->pred_mean + k * nt,
                f->pred_var + k * nt);
  if (w->g2) erg_step(comm, p, job, f, k, w->g2);
}

/* One (basis, prescription) flow from step `start` (a restored flow may
 * have none left); a step boundary after every step (flows[0..index] are
 * the run's flows so far); then the per-member rows gathered on rank 0. */
static int run_flow(MPI_Comm comm, const bf_params *p, bf_ctx *job,
                    bf_flow_result *flows, int nflows, int index, int start)
{
  bf_flow_result *f = &flows[index];
  const bf_ensemble *ens = job->ens;
  int K = f->K, status = 0;
  if (start < K) {
    flow_work w;
    work_create(comm, p, job, f, &w);
    double t0 = bf_elapsed();
    for (int k = start; k < K && !status; k++) {
      flow_step(comm, p, job, f, &w, k);
      double sums[2] = {w.step_mse, w.step_sloppy}, spent = bf_elapsed() - t0;
      BF_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm));
      bf_log(comm, "flow %s: step %d/%d, Lambda = %.4g%s, sloppy %.1f, test MSE %.4g; "
             "%.2f s, ~%.2f s left", f->name, k + 1, K, f->cut[k],
             p->brg.relative ? " lambda_max" : "", sums[1] / ens->members, sums[0] / f->n_kept,
             spent, spent / (k + 1 - start) * (K - k - 1));
      /* a checkpoint where one is due (src/run/session.c), and a stop if asked */
      status = bf_ctx_boundary(job, BF_AT_FLOW, bf_train_length(p), flows, nflows, index, k + 1);
    }
    work_destroy(&w);
  }
  gather_steps(comm, ens, K, f->mse_loc, f->mse);
  gather_steps(comm, ens, K, f->nsl_loc, f->n_sloppy);
  if (f->basis == BF_BASIS_DIAGONAL) gather_steps(comm, ens, K, f->nz_loc, f->n_zero);
  if (f->nprobe) gather_steps_w(comm, ens, K, f->nprobe, f->probe_loc, f->probe_pred);
  for (int64_t i = 0; f->ng4c && i < (int64_t)K * f->nq; i++)
    f->ng4c[i] = job->mod->width * f->g4c[i];
  return status;
}

/* Uncoarsened test MSE of every member, on rank 0 (E). */
static double *baseline_mse(MPI_Comm comm, const bf_ctx *job)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  const bf_ensemble *ens = job->ens;
  int nt = (int)job->ds->ntest;
  double *pred = BF_ALLOC(nt, double), *mine = BF_ALLOC(ens->count + 1, double);
  bf_plan *plan = bf_model_plan_create(job->mod, nt);
  for (int64_t m = 0; m < ens->count; m++) {
    bf_model_forward(job->mod, plan, ens->theta + m * ens->nparams, nt, job->ds->xt, pred);
    mine[m] = 0;
    for (int x = 0; x < nt; x++)
      mine[m] += (pred[x] - job->ds->yt[x]) * (pred[x] - job->ds->yt[x]) / nt;
  }
  double *all = rank == 0 ? BF_ALLOC(ens->members, double) : NULL;
  gather_steps(comm, ens, 1, mine, all);
  bf_model_plan_destroy(&plan);
  free(pred), free(mine);
  return all;
}

/* The smallest and largest spectrum value of the basis over all members,
 * in the units of the cutoffs (relative: each member's own maximum).
 * Values at or below 1e-12 of a member's maximum are its null space, which
 * no cutoff coarse-grains. */
static void spectrum_range(MPI_Comm comm, const bf_params *p, const bf_ctx *job,
                           int basis, double *lo, double *hi)
{
  int64_t w = basis == BF_BASIS_EIGEN ? job->k : job->mod->Pt;
  const double *v = basis == BF_BASIS_EIGEN ? job->lambda : job->diag;
  double r[2] = {-INFINITY, -INFINITY}; /* -min, max: one MPI_MAX */
  for (int64_t m = 0; v && m < job->ens->count; m++) {
    double mx = member_lambda_max(job, basis, m), unit = p->brg.relative ? mx : 1;
    for (int64_t a = 0; a < w; a++)
      if (v[m * w + a] > 1e-12 * mx)
        r[0] = fmax(r[0], -v[m * w + a] / unit), r[1] = fmax(r[1], v[m * w + a] / unit);
  }
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, r, 2, MPI_DOUBLE, MPI_MAX, comm));
  *lo = -r[0], *hi = r[1];
}

/* A cutoff grid that misses the spectrum runs, but its flow is empty:
 * nothing sloppy at any cutoff, or everything sloppy from the first. */
static void warn_grid_outside(MPI_Comm comm, const bf_params *p, const bf_ctx *job,
                              int basis, const double *cut, int K)
{
  double lo, hi;
  spectrum_range(comm, p, job, basis, &lo, &hi);
  const char *name = basis == BF_BASIS_EIGEN ? "eigenvalue" : "diagonal entry I_AA";
  const char *unit = p->brg.relative ? " lambda_max" : "";
  if (isfinite(lo) && cut[K - 1] <= lo)
    bf_warn(comm, "[brg] cutoffs %g .. %g%s lie below every Fisher %s (smallest %g%s): "
            "nothing is coarse-grained at any cutoff", cut[0], cut[K - 1], unit, name, lo, unit);
  else if (isfinite(hi) && cut[0] > hi)
    bf_warn(comm, "[brg] cutoffs %g .. %g%s lie above every Fisher %s (largest %g%s): "
            "everything is coarse-grained from the first cutoff on", cut[0], cut[K - 1], unit,
            name, hi, unit);
}

/* The members kept in the ensemble statistics, on every rank (E, 1 or 0):
 * test_mse0 < keep_mse_below (a NaN MSE is dropped), all with 0.  Decided
 * on rank 0 from the gathered test_mse0 and broadcast, so ranks agree;
 * NULL on every rank, after one message, if fewer than 2 are kept. */
static double *kept_members(MPI_Comm comm, const bf_params *p, int64_t E, const double *mse0,
                            const double *diverged, int64_t *n_kept)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  double *kept = BF_ALLOC(E, double);
  for (int64_t m = 0; rank == 0 && m < E; m++)
    kept[m] = (p->brg.keep_mse_below <= 0 || mse0[m] < p->brg.keep_mse_below) && !diverged[m];
  bf_bcast_doubles(comm, kept, E, 0);
  int64_t n = 0;
  for (int64_t m = 0; m < E; m++) n += kept[m] != 0;
  if (bf_failed(comm, n < 2,
                "[brg] keep_mse_below = %g keeps %lld of %lld members: the ensemble "
                "statistics need at least 2 (raise keep_mse_below, or set it to 0 to keep "
                "every member)", p->brg.keep_mse_below, (long long)n, (long long)E)) {
    free(kept);
    return NULL;
  }
  *n_kept = n;
  return kept;
}

/* The mean test MSE of every step over the kept members, in member order
 * (rank 0: the gathered K x E test_mse). */
static void mean_mse(bf_flow_result *f, int64_t E)
{
  for (int k = 0; k < f->K; k++) {
    double s = 0;
    for (int64_t m = 0; m < E; m++)
      if (f->kept[m]) s += f->mse[k * E + m];
    f->mse_mean[k] = s / f->n_kept;
  }
}

int bf_flow_count(const bf_params *p)
{
  return (p->brg.basis == BF_BASES_BOTH ? 2 : 1) * (p->brg.prescription == BF_PRESC_BOTH ? 2 : 1);
}

/* ERG checks need the cos-net's own lattice: lattice momenta, data on the
 * lattice, absolute cutoffs. */
void bf_flow_shape(const bf_params *p, const bf_ctx *job, bf_flow_result *f)
{
  const bf_cosnet *field = job->mod->free_field;
  f->K = p->brg.ncut ? p->brg.ncut : p->brg.count;
  f->erg = field && field->momenta == BF_MOMENTA_LATTICE && p->data.points == BF_DATA_LATTICE &&
           !p->brg.relative;
  f->npts = p->corr.npoints;
  f->nq = p->corr.npoints ? p->corr.nquads : 0;
  f->nprobe = p->brg.nprobe;
}

/* The axes, conditions and units of f's table (src/flow/table.c) in this run. */
void bf_flow_sizes(const bf_params *p, const bf_ctx *job, const bf_flow_result *f,
                   bf_sizes *s)
{
  const bf_lattice *lat = f->erg ? &job->mod->free_field->lat : NULL;
  *s = (bf_sizes){.members = job->ens->members, .first = job->ens->first,
                  .count = job->ens->count, .d = lat ? lat->d : 0};
  s->n['K' - 'A'] = f->K, s->n['E' - 'A'] = job->ens->members;
  s->n['T' - 'A'] = job->ds->ntest, s->n['N' - 'A'] = f->npts, s->n['Q' - 'A'] = f->nq;
  s->n['B' - 'A'] = f->nprobe;
  s->n['S' - 'A'] = lat ? lat->nsites : 0, s->n['L' - 'A'] = lat ? lat->L : 0;
  s->have = (f->erg ? BF_FLOW_ERG : 0) | (f->npts ? BF_FLOW_PTS : 0) |
            (f->nprobe ? BF_FLOW_PROBE : 0) | (f->basis == BF_BASIS_DIAGONAL ? BF_FLOW_DIAG : 0) |
            (f->mse_inf ? BF_FLOW_INF : 0);
  s->units['C' - 'A'] = p->brg.relative ? "lambda_max" : "1/parameter^2";
  /* G2 ~ int d^dp/(2pi)^d 1/(p^2+m^2): length^(2-d) */
  s->units['G' - 'A'] = !lat ? "-" : lat->d == 1 ? "length" : lat->d == 2 ? "1 (dimensionless)"
                                                                         : "1/length";
}

int bf_flow_run(bf_ctx *job, const bf_params *p, bf_flow_result **out)
{
  MPI_Comm comm = job->comm;
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  int bases[2], nb = 0, presc[2], np = 0;
  if (p->brg.basis != BF_BASES_DIAGONAL) bases[nb++] = BF_BASIS_EIGEN;
  if (p->brg.basis != BF_BASES_EIGEN) bases[nb++] = BF_BASIS_DIAGONAL;
  if (p->brg.prescription != BF_PRESC_PRUNE) presc[np++] = 0;
  if (p->brg.prescription != BF_PRESC_RESAMPLE) presc[np++] = 1;
  double *mse0 = baseline_mse(comm, job);
  int64_t n_kept;
  double *diverged = rank == 0 ? BF_ALLOC(job->ens->members, double) : NULL; /* rank 0: E */
  gather_steps(comm, job->ens, 1, job->diverged, diverged);
  double *kept = kept_members(comm, p, job->ens->members, mse0, diverged, &n_kept);
  free(diverged);
  *out = NULL;
  if (!kept) {
    free(mse0);
    return -1;
  }
  bf_flow_result *res = BF_CALLOC(nb * np, bf_flow_result);
  int nres = nb * np, resumed = job->resume.active && job->resume.stage == BF_AT_FLOW;
  for (int i = 0; i < nres; i++) {
    bf_flow_result *f = &res[i];
    f->basis = bases[i / np], f->prune = presc[i % np];
    bf_flow_shape(p, job, f);
    snprintf(f->name, sizeof f->name, "%s_%s", f->basis == BF_BASIS_EIGEN ? "eigen" : "diagonal",
             f->prune ? "prune" : "resample");
    bf_sizes sz;
    bf_flow_sizes(p, job, f, &sz);
    bf_fields_alloc(f, bf_flow_fields, bf_flow_nfields, &sz, rank); /* before a resume fills them */
    if (p->brg.ncut) memcpy(f->cut, p->brg.cut, sizeof(double) * f->K);
    else bf_flow_cutoffs(p->brg.lambda_min, p->brg.lambda_max, f->K, f->cut);
    f->n_kept = n_kept;
    memcpy(f->kept, kept, sizeof(double) * job->ens->members);
  }
  for (int b = 0; b < nb; b++) warn_grid_outside(comm, p, job, bases[b], res[0].cut, res[0].K);
  int failed = 0;
  for (int i = 0; i < nres; i++) {
    bf_flow_result *f = &res[i];
    int start = 0;
    if (resumed && i <= job->resume.flow_index) { /* restored, then continued */
      job->driver->load_flow(job, f, i);
      start = i < job->resume.flow_index ? f->K : job->resume.flow_step;
      bf_log(comm, "flow %s: restored %d of %d steps from the checkpoint", f->name, start, f->K);
    }
    failed = run_flow(comm, p, job, res, nres, i, start) == BF_FAILED; /* a checkpoint */
    if (failed || bf_stopped()) break; /* at a checkpoint: the restart redoes the rest */
    if (p->train.method == BF_TRAIN_POSTERIOR && !f->prune && f->basis == BF_BASIS_EIGEN)
      bf_infinite_curves(comm, p, job->mod, job->ds, job->sigma, f->K, f->cut, &f->mse_inf,
                         &f->var_inf); /* src/train/infinite.c */
    if (bf_stopped()) break; /* during the curves' kernels: no result */
    if (rank == 0) {
      memcpy(f->mse0, mse0, sizeof(double) * job->ens->members);
      critical_cutoff(p, f, job->ens->members);
      mean_mse(f, job->ens->members);
    }
    /* every rank writes the attributes: all must hold rank 0's values */
    double crit[4] = {f->crit, f->lc, f->lc_lo, f->lc_hi};
    BF_MPI(MPI_Bcast(crit, 4, MPI_DOUBLE, 0, comm));
    f->crit = (int)crit[0], f->lc = crit[1], f->lc_lo = crit[2], f->lc_hi = crit[3];
  }
  free(mse0), free(kept);
  if (failed) bf_flow_results_destroy(&res, nres);
  *out = res;
  return failed ? -1 : nres;
}

void bf_flow_results_destroy(bf_flow_result **rp, int n)
{
  bf_flow_result *r = *rp;
  if (!r) return;
  for (int i = 0; i < n; i++) bf_fields_free(&r[i], bf_flow_fields, bf_flow_nfields);
  free(r);
  *rp = NULL;
}

int bf_stage_flow(bf_ctx *c)
{
  if (!c->p->brg.on) return 0;
  c->nflows = bf_flow_run(c, c->p, &c->flows);
  if (c->nflows < 0) {
    c->nflows = 0;
    return BF_FAILED;
  }
  return bf_stopped() ? BF_STOPPED : 0;
}
