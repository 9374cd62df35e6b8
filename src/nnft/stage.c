/* stage.c — the measure and reference stages (docs/physics.md 1 and 5): an
 * ensemble's correlators with their errors, and the infinite-width limits
 * they are held against.
 *
 *   bf_stage_measure    G2 and G4c at the [correlator] points (a prior or a
 *                       trained ensemble; the diverged members left out), or a
 *                       prior cos-net's G2 on its lattice
 *   bf_stage_reference  a prior ensemble's references: the lattice or
 *                       continuum propagator, or the NNGP and tangent kernels
 *                       at the points; the z-scores against them
 *
 * A flow measures each step with the same bf_measure plan as the trained
 * ensemble (src/flow/flow.c); a trained ensemble's infinite-width
 * predictions are the train folder's (bf_stage_predict). */
#include "brgflow/nnft.h"
#include "brgflow/pipeline.h"

#include <math.h>
#include <stdlib.h>

/* Each member's field on the evaluation box, folded into the G2 estimate.
 * Rank 0 reports progress about every tenth of its block (the largest). */
static void measure_lattice(bf_ctx *job, MPI_Comm comm)
{
  bf_ensemble *ens = job->ens;
  bf_g2 *g2 = bf_g2_create(comm, &job->lat, job->mod->free_field->momenta == BF_MOMENTA_LATTICE);
  int B = bf_g2_box_sites(g2);
  int64_t npts = bf_lattice_make(job->lat.d, B, job->lat.s).nsites;
  double *phi = BF_ALLOC(npts, double), t0 = bf_elapsed();
  int64_t every = ens->count / 10 > 0 ? ens->count / 10 : 1;
  for (int64_t m = 0; m < ens->count; m++) {
    bf_cosnet_field_grid(job->mod->free_field, ens->theta + m * ens->nparams, B,
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
  bf_g2_finish(g2, job->lat_g2, job->lat_g2_err);
  free(phi);
  bf_g2_destroy(&g2);
}

/* A prior ensemble: every local member's outputs at the points, folded
 * into the moments as they come (with progress lines). */
static void measure_points(bf_ctx *job, const bf_params *p, MPI_Comm comm)
{
  bf_ensemble *ens = job->ens;
  int n = job->n, d = p->net.d, rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  const double *x = p->corr.x;
  double *f = BF_ALLOC(n, double);
  (void)d;
  bf_plan *w = bf_model_plan_create(job->mod, n);
  bf_moments *mom = bf_moments_create(comm, n, p->corr.nquads,
                                      (const int (*)[4])p->corr.quad, p->ens.members,
                                      p->corr.blocks);
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

/* The measure stage after training (docs/physics.md 5): G2 and G4c of the
 * trained members at the [correlator] points, the diverged ones left out
 * as in the predictive moments.  The cos-net has no points (it measures on
 * its lattice in the flow). */
static void measure_trained(MPI_Comm comm, const bf_params *p, bf_ctx *job)
{
  const bf_ensemble *ens = job->ens;
  double t = bf_elapsed(), *keep = BF_ALLOC(ens->count + 1, double);
  for (int64_t m = 0; m < ens->count; m++) keep[m] = !job->diverged[m];
  bf_measure *ms = bf_measure_create(comm, job->mod, p->corr.npoints, p->corr.x, p->corr.nquads,
                                     (const int (*)[4])p->corr.quad, p->ens.members, p->corr.blocks);
  bf_measure_run(ms, ens->theta, ens->nparams, ens->first, ens->count, keep, job->g2,
                 job->g2_err, job->g4c, job->g4c_err);
  bf_measure_destroy(&ms);
  free(keep);
  bf_log(comm, "measure: G2 and G4c of the trained ensemble at %d points, %d quadruples, "
         "%.2f s", p->corr.npoints, p->corr.nquads, bf_elapsed() - t);
}

/* max over i <= j of |G2 - K_nngp| / G2_err, and where. */
static void zscores(bf_ctx *job)
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

/* The arrays of the measurement at the points, before a restart (none
 * restores them: they are measured again). */
static void alloc_points(bf_ctx *c)
{
  int64_t n2 = (int64_t)c->n * c->n;
  c->g2 = BF_ALLOC(n2 + 1, double), c->g2_err = BF_ALLOC(n2 + 1, double);
  c->g4c = BF_ALLOC(c->nq + 1, double), c->g4c_err = BF_ALLOC(c->nq + 1, double);
}

int bf_stage_measure(bf_ctx *c)
{
  const bf_params *p = c->p;
  if (!c->ens) return 0; /* kernels only */
  double t = bf_elapsed();
  if (c->mod->free_field && !bf_ctx_trained(p)) { /* a prior free field on its lattice */
    c->lat = bf_lattice_make(p->net.d, p->lattice.sites, p->lattice.spacing);
    int64_t ns = c->lat.nsites;
    c->lat_g2 = BF_ALLOC(ns, double), c->lat_g2_err = BF_ALLOC(ns, double);
    measure_lattice(c, c->comm);
    c->seconds_measure = bf_elapsed() - t;
    bf_log(c->comm, "measure G2: %lld displacements, %.2f s", (long long)ns,
           c->seconds_measure);
    return 0;
  }
  if (p->corr.npoints == 0) return 0; /* the cos-net measures on its lattice in the flow */
  c->n = p->corr.npoints, c->nq = p->corr.nquads;
  alloc_points(c);
  if (bf_ctx_trained(p)) {
    measure_trained(c->comm, p, c);
  } else {
    measure_points(c, p, c->comm);
    c->seconds_measure = bf_elapsed() - t;
  }
  return 0;
}

/* A prior cos-net: the propagator its G2 must equal, and the z-scores. */
static void reference_lattice(bf_ctx *c)
{
  const bf_cosnet *net = c->mod->free_field;
  int64_t n = c->lat.nsites;
  c->lat_g2_ref = BF_ALLOC(n, double);
  if (net->momenta == BF_MOMENTA_LATTICE) {
    bf_ref_lattice(c->comm, &c->lat, net->mass, net->cutoff, c->lat_g2_ref);
    c->lat_reference = "G_R^lat(r): lattice propagator with cutoff R, by FFTW";
  } else {
    bf_ref_continuum_grid(c->comm, &c->lat, net->mass, net->cutoff, c->lat_g2_ref);
    c->lat_reference = "G_R(|r|): continuum propagator with hard cutoff R, by GSL quadrature";
  }
  c->zscore_max = bf_zscore_max(n, c->lat_g2, c->lat_g2_err, c->lat_g2_ref, &c->zscore_at);
}

/* Both kernel paths refuse a model without one in the same words. */
#define NO_PRIOR_KERNEL "[network] arch: this model has no infinite-width prior kernel at points"

/* A prior ensemble compares G2 with K_nngp entry by entry on every rank,
 * so its kernels stay replicated: the [correlator] points are few.  NaN
 * where the model has no tangent kernel, as documented; BF_FAILED where it
 * has no prior kernel. */
static int replicated_kernels(bf_ctx *c)
{
  const bf_params *p = c->p;
  int64_t n2 = (int64_t)c->n * c->n;
  c->k_nngp = BF_ALLOC(n2 + 1, double), c->k_ntk = BF_ALLOC(n2 + 1, double);
  if (bf_failed(c->comm, !bf_model_kernel(c->comm, c->mod, BF_KERNEL_PRIOR, p->corr.x, c->n, p->corr.x,
                                          c->n, c->k_nngp),
                NO_PRIOR_KERNEL))
    return BF_FAILED;
  if (!bf_model_kernel(c->comm, c->mod, BF_KERNEL_NTK, p->corr.x, c->n, p->corr.x, c->n, c->k_ntk))
    for (int64_t k = 0; k < n2; k++) c->k_ntk[k] = NAN; /* documented: none */
  return 0;
}

/* K(i, i) and K(0, i) of both kernels: what the printed table shows. */
static void kernel_table(bf_ctx *c)
{
  int n = c->n;
  int64_t *rows = BF_ALLOC(2 * n, int64_t), *cols = BF_ALLOC(2 * n, int64_t);
  for (int i = 0; i < n; i++) rows[i] = cols[i] = cols[n + i] = i, rows[n + i] = 0;
  c->k_table = BF_ALLOC(4 * (int64_t)n, double);
  bf_dmat_entries(c->kernel_grid, &c->K_nngp, 2 * n, rows, cols, c->k_table);
  bf_dmat_entries(c->kernel_grid, &c->K_ntk, 2 * n, rows, cols, c->k_table + 2 * n);
  free(rows), free(cols);
}

/* `brgflow kernel`: both kernels block-cyclic over all ranks, each rank
 * computing the entries of its own blocks, so none holds n x n
 * (docs/theory.md n); the result writes them by blocks.  BF_STOPPED if a
 * stop request came during the kernels, BF_FAILED if the model has none. */
static int distributed_kernels(bf_ctx *c)
{
  const bf_params *p = c->p;
  c->kernel_grid = bf_grid_create(c->comm, 1);
  int nb = bf_block_for(c->kernel_grid, c->n, p->fisher.block);
  c->K_nngp = bf_dmat_make(c->kernel_grid, c->n, c->n, nb);
  c->K_ntk = bf_dmat_make(c->kernel_grid, c->n, c->n, nb);
  int st = bf_dmat_fill_kernel(c->kernel_grid, c->mod, BF_KERNEL_PRIOR, p->corr.x, p->corr.x, 0, &c->K_nngp);
  if (st == BF_STOPPED) return BF_STOPPED;
  if (bf_failed(c->comm, st == 0, NO_PRIOR_KERNEL)) return BF_FAILED;
  st = bf_dmat_fill_kernel(c->kernel_grid, c->mod, BF_KERNEL_NTK, p->corr.x, p->corr.x, 0, &c->K_ntk);
  if (st == BF_STOPPED) return BF_STOPPED;
  for (int64_t k = 0; st == 0 && k < c->K_ntk.count; k++)
    c->K_ntk.a[k] = NAN; /* documented: none */
  kernel_table(c);
  return 0;
}

/* A prior at the points: the NNGP and tangent kernels, and the z-scores
 * of G2; the kernels' BF_STOPPED or BF_FAILED. */
static int reference_points(bf_ctx *c)
{
  const bf_params *p = c->p;
  double t = bf_elapsed();
  c->n = p->corr.npoints, c->nq = p->corr.nquads;
  int status = c->kernels_only ? distributed_kernels(c) : replicated_kernels(c);
  if (status) return status;
  bf_log(c->comm, "kernels: NNGP and NTK at %d points (%s), %.2f s", c->n, c->mod->describe,
         bf_elapsed() - t);
  if (c->ens) zscores(c);
  return 0;
}

int bf_stage_reference(bf_ctx *c)
{
  if (bf_ctx_trained(c->p)) return 0; /* bf_stage_predict */
  double t = bf_elapsed();
  int status = 0;
  if (c->mod->free_field)
    reference_lattice(c);
  else
    status = reference_points(c);
  if (status) return status; /* stopped during the kernels, or none: no result */
  c->seconds_reference = bf_elapsed() - t;
  if (c->mod->free_field)
    bf_log(c->comm, "reference: %.2f s; max |G2 - ref|/err = %.2f", c->seconds_reference,
           c->zscore_max);
  else if (c->ens)
    bf_log(c->comm, "measure: G2 and G4c at %d points, %.2f s; max |G2 - K_nngp|/err = %.2f",
           c->n, c->seconds_measure, c->zscore_max);
  return 0;
}
