/* report.c — the report stage: the tables a run prints at its end.
 *
 *   bf_stage_report  a prior's correlators against their references, or the
 *                    training summary and every flow's (Lambda_C with its
 *                    interval, the ERG checks, N G4c along the flow) */
#include "brgflow/pipeline.h"
#include "brgflow/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A readable table along the first axis: displacement, G2 +- err, ref, z. */
/* (v - ref)/err for a table, and where err = 0 (no spread: G2 = K = 0 at
 * x = 0 without biases) 0 if v = ref exactly, inf otherwise; *odd counts
 * the entries that are not finite, for the table's footnote. */
static double zscore(double v, double ref, double err, int *odd)
{
  double z = err > 0 ? (v - ref) / err : v == ref ? 0 : (v - ref) * INFINITY;
  *odd += !isfinite(z);
  return z;
}

/* Under a table with a z column that is not finite somewhere: why. */
static void zscore_note(int odd)
{
  if (odd)
    printf("  (z = inf: a zero standard error where the estimate differs from its "
           "reference; nan: a non-finite estimate)\n");
}

static void print_table(MPI_Comm comm, const bf_ctx *job)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  const bf_lattice *lat = &job->lat;
  int64_t stride = lat->nsites / lat->L; /* displacement (n, 0, 0) */
  int rows = job->mod->free_field->momenta == BF_MOMENTA_LATTICE ? lat->L / 2 + 1 : lat->L;
  printf("\nG2 along the first axis (r = n s; reference: %s)\n", job->lat_reference);
  printf("%6s %10s %14s %12s %14s %8s\n", "n", "r", "G2", "stderr", "G2_ref", "z");
  int odd = 0;
  for (int n = 0; n < rows; n++) {
    int64_t i = n * stride;
    printf("%6d %10.4g %14.6e %12.3e %14.6e %8.2f\n", n, n * lat->s, job->lat_g2[i],
           job->lat_g2_err[i], job->lat_g2_ref[i],
           zscore(job->lat_g2[i], job->lat_g2_ref[i], job->lat_g2_err[i], &odd));
  }
  zscore_note(odd);
  int where[3] = {0, 0, 0};
  bf_lattice_coords(lat, job->zscore_at, where);
  printf("max |G2 - G2_ref| / stderr over all %lld displacements: %.2f at n = (%d",
         (long long)lat->nsites, job->zscore_max, where[0]);
  for (int j = 1; j < lat->d; j++) printf(", %d", where[j]);
  printf(")\n\n");
}

/* Correlator point i as "x1,x2,...". */
static void point_text(const bf_params *p, int i, char *xs, size_t size)
{
  int len = 0;
  xs[0] = '\0';
  for (int j = 0; j < p->net.d && len < (int)size; j++)
    len += snprintf(xs + len, size - len, "%s%.3g", j ? "," : "", p->corr.x[(int64_t)i * p->net.d + j]);
}

static void print_kernel_table(MPI_Comm comm, const bf_params *p,
                               const bf_ctx *job)
{
  int rank, n = job->n;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  printf("\ninfinite-width kernels (%s)\n", job->mod->describe);
  printf("%4s %-22s %14s %14s %14s %14s\n", "i", "x_i", "K_nngp(i,i)", "K_nngp(0,i)",
         "K_ntk(i,i)", "K_ntk(0,i)");
  for (int i = 0; i < n; i++) {
    char xs[64];
    point_text(p, i, xs, sizeof xs);
    printf("%4d %-22s %14.8e %14.8e %14.8e %14.8e\n", i, xs, job->k_table[i],
           job->k_table[n + i], job->k_table[2 * n + i], job->k_table[3 * n + i]);
  }
  printf("\n");
}

static void print_mlp_table(MPI_Comm comm, const bf_params *p,
                            const bf_ctx *job)
{
  int rank, n = job->n;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  printf("\nG2(x_i, x_i) and G2(x_0, x_i) against the infinite-width NNGP kernel\n");
  printf("%4s %-22s %13s %10s %13s %7s %13s %10s %13s %7s\n", "i", "x_i", "G2(i,i)",
         "stderr", "K_nngp(i,i)", "z", "G2(0,i)", "stderr", "K_nngp(0,i)", "z");
  int odd = 0;
  for (int i = 0; i < n; i++) {
    char xs[64];
    point_text(p, i, xs, sizeof xs);
    int ii = i * n + i, oi = i;
    printf("%4d %-22s %13.6e %10.2e %13.6e %7.2f %13.6e %10.2e %13.6e %7.2f\n", i, xs,
           job->g2[ii], job->g2_err[ii], job->k_nngp[ii],
           zscore(job->g2[ii], job->k_nngp[ii], job->g2_err[ii], &odd), job->g2[oi],
           job->g2_err[oi], job->k_nngp[oi],
           zscore(job->g2[oi], job->k_nngp[oi], job->g2_err[oi], &odd));
  }
  zscore_note(odd);
  printf("max |G2 - K_nngp| / stderr over all pairs: %.2f at (%d, %d)\n", job->zscore_max,
         job->z_i, job->z_j);
  printf("\nconnected four-point function (0 at infinite width; N G4c is O(1))\n");
  printf("%-16s %13s %10s %8s %13s\n", "quadruple", "G4c", "jackknife", "G4c/err",
         "N G4c");
  odd = 0;
  for (int q = 0; q < job->nq; q++) {
    char qs[40];
    snprintf(qs, sizeof qs, "(%d,%d,%d,%d)", p->corr.quad[q][0], p->corr.quad[q][1],
             p->corr.quad[q][2], p->corr.quad[q][3]);
    printf("%-16s %13.5e %10.2e %8.2f %13.5e\n", qs, job->g4c[q], job->g4c_err[q],
           zscore(job->g4c[q], 0, job->g4c_err[q], &odd), job->mod->width * job->g4c[q]);
  }
  zscore_note(odd);
  printf("\n");
}

static void print_train_summary(MPI_Comm comm, const bf_params *p,
                                const bf_ctx *job)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  /* mean loss over members at the first and last record */
  double first = 0, last = 0, top[5] = {0}, tmp[2];
  int nr = job->log.nrec;
  for (int64_t m = 0; m < job->ens->count; m++) {
    if (job->diverged && job->diverged[m]) continue; /* dropped: NaN records */
    first += job->loss[m * nr];
    last += job->loss[m * nr + nr - 1];
  }
  tmp[0] = first, tmp[1] = last;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, tmp, 2, MPI_DOUBLE, MPI_SUM, comm));
  if (job->lambda)
    for (int64_t m = 0; m < job->ens->count; m++)
      for (int j = 0; j < 5 && j < job->k; j++) top[j] += job->lambda[m * job->k + j];
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, top, 5, MPI_DOUBLE, MPI_SUM, comm));
  if (rank != 0) return;
  if (p->train.method == BF_TRAIN_GD || p->train.method == BF_TRAIN_SGD) {
    const char *unit = p->train.method == BF_TRAIN_SGD ? "epoch" : "step";
    double live = (double)(p->ens.members - job->n_diverged);
    printf("\ntraining MSE (ensemble mean): %s 0: %.5g, %s %d: %.5g", unit, tmp[0] / live,
           unit, bf_train_length(p), tmp[1] / live);
    if (job->n_diverged)
      printf(" (over %.0f members; %lld diverged and were dropped)", live,
             (long long)job->n_diverged);
    printf("\n");
  }
  if (job->ref_mean)
    printf("infinite-width check on %lld test points: max |mean - %s| = %.4g%s",
           (long long)job->ds->ntest, p->train.method == BF_TRAIN_GD ? "NTK" : "GP",
           job->dev_mean, job->ref_var ? "" : "\n");
  if (job->ref_var) printf(", max |var - GP| = %.4g\n", job->dev_var);
  if (job->lambda && job->k > 0) {
    printf("Fisher (%s, sigma = %g): ensemble-mean top eigenvalues:",
           job->solver == BF_SOLVER_PRIMAL ? "primal" : "dual", job->sigma);
    for (int j = 0; j < 5 && j < job->k; j++) printf(" %.4g", top[j] / p->ens.members);
    printf("\n");
  }
  if (job->scale > 0) {
    printf("resolved momentum at information scale %.4g as the data grows (IR -> UV):\n",
           job->scale);
    printf("%8s %14s %14s\n", "n", "p theory", "p ensemble");
    for (int j = 0; j < 8; j++)
      printf("%8.0f %14.4f %14.4f\n", job->resolved[j][0], job->resolved[j][1],
             job->resolved[j][2]);
  }
  printf("\n");
}

/* Which members [brg] keep_mse_below dropped from the ensemble statistics. */
static void print_kept(const bf_params *p, const bf_flow_result *f)
{
  if (p->brg.keep_mse_below <= 0) return;
  printf("  members kept: %lld of %d (keep_mse_below = %g); dropped:", (long long)f->n_kept,
         p->ens.members, p->brg.keep_mse_below);
  int shown = 0;
  for (int m = 0; m < p->ens.members; m++)
    if (!f->kept[m] && shown++ < 32) printf(" %d", m);
  printf("%s\n", shown > 32 ? " ..." : shown ? "" : " none");
}

/* Mean over the kept members of x[m] (rank 0's E-arrays). */
static double kept_mean(const bf_flow_result *f, int64_t E, const double *x)
{
  double sum = 0;
  for (int64_t m = 0; m < E; m++)
    if (f->kept[m]) sum += x[m];
  return f->n_kept > 0 ? sum / f->n_kept : NAN;
}

/* One flow's summary: MSE_0, the threshold, Lambda_C with its interval and
 * the sloppy count there; every value that can be missing says why. */
static void print_flow_summary(const bf_params *p, const bf_flow_result *f)
{
  const char *unit = p->brg.relative ? " x lambda_max" : "";
  double mse0 = kept_mean(f, p->ens.members, f->mse0), thr = (1 + p->brg.critical_tol) * mse0;
  double worst = 0;
  for (int k = 0; k < f->K; k++) worst = fmax(worst, f->mse_mean[k] / mse0);
  printf("\nflow %s (%lld of %d members in the statistics)\n", f->name,
         (long long)f->n_kept, p->ens.members);
  printf("  %-34s %.6g\n", "MSE_0 (no coarse-graining)", mse0);
  printf("  %-34s %.6g (delta = %g)\n", "threshold (1 + delta) MSE_0", thr, p->brg.critical_tol);
  if (f->crit < 0) {
    printf("  %-34s none: not reached on the grid\n  %-34s (the mean test MSE never "
           "exceeded %.3g x MSE_0; largest ratio %.4g)\n", "Lambda_C", "",
           1 + p->brg.critical_tol, worst);
    return;
  }
  printf("  %-34s %.6g%s (step %d of %d)\n", "Lambda_C", f->lc, unit, f->crit + 1, f->K);
  if (p->brg.bootstrap < 2)
    printf("  %-34s none: [brg] bootstrap = %d\n", "bootstrap 95% interval", p->brg.bootstrap);
  else
    printf("  %-34s %.6g .. %.6g%s%s\n", "bootstrap 95% interval", f->lc_lo, f->lc_hi, unit,
           isinf(f->lc_hi) ? " (inf: some draws never crossed the threshold on the grid)"
                           : "");
  printf("  %-34s %.6g\n", "sloppy directions at Lambda_C",
         kept_mean(f, p->ens.members, f->n_sloppy + (int64_t)f->crit * p->ens.members));
}

/* The ERG checks per step (cos-net on the full lattice). */
static void print_erg_steps(const bf_params *p, const bf_flow_result *f)
{
  printf("%12s %10s %10s %8s %18s %8s\n", "Lambda", "p(Lambda)", "sloppy", "max z", "m_eff",
         "m_hat");
  int unfit = 0;
  for (int k = 0; k < f->K; k++) {
    double sl = 0;
    for (int64_t m = 0; m < p->ens.members; m++) sl += f->n_sloppy[k * p->ens.members + m];
    printf("%12.4g %10.4f %10.1f %8.2f ", f->cut[k], f->pcut[k], sl / p->ens.members, f->zmax[k]);
    if (isfinite(f->m_eff[k]))
      printf("%10.4f +- %5.4f %8.3f\n", f->m_eff[k], f->m_err[k], f->m_hat[k]);
    else
      printf("%18s %8s\n", "no fit (*)", "-"), unfit = 1;
  }
  if (unfit)
    printf("  (*) m_eff: fewer than two distinct |q| shells below p(Lambda), so no fit "
           "(NaN in the result)\n");
}

/* N G4c +- jackknife per quadruple at the first and last step (the trained
 * ensemble, when given, beside them): how the flow moves the interaction. */
static void print_g4c_steps(const bf_params *p, const bf_ctx *job,
                            const bf_flow_result *f)
{
  double N = job->mod->width;
  int last = (f->K - 1) * f->nq;
  printf("  N G4c (N = %d, last hidden width) per quadruple: trained; first step; last step\n",
         job->mod->width);
  for (int q = 0; q < f->nq; q++)
    printf("    (%d,%d,%d,%d) %12.5g +- %-10.3g %12.5g +- %-10.3g %12.5g +- %.3g\n",
           p->corr.quad[q][0], p->corr.quad[q][1], p->corr.quad[q][2], p->corr.quad[q][3], N * job->g4c[q],
           N * job->g4c_err[q], N * f->g4c[q], N * f->g4c_err[q], N * f->g4c[last + q],
           N * f->g4c_err[last + q]);
}

static void print_flows(MPI_Comm comm, const bf_params *p, const bf_ctx *job,
                        const bf_flow_result *res, int nres)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  for (int i = 0; i < nres; i++) {
    print_flow_summary(p, &res[i]);
    print_kept(p, &res[i]);
    if (res[i].nq && job->g4c) print_g4c_steps(p, job, &res[i]);
    if (res[i].erg) print_erg_steps(p, &res[i]);
  }
  printf("\n");
}

int bf_stage_report(bf_ctx *c)
{
  const bf_params *p = c->p;
  if (bf_ctx_trained(p)) {
    print_train_summary(c->comm, p, c);
    print_flows(c->comm, p, c, c->flows, c->nflows);
  } else if (c->mod->free_field) {
    print_table(c->comm, c);
  } else if (c->kernels_only) {
    print_kernel_table(c->comm, p, c);
  } else {
    print_mlp_table(c->comm, p, c);
  }
  return 0;
}
