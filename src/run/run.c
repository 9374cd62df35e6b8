/* run.c — `brgflow run`: the pipeline for one validated input.
 *
 *   bf_run  run the job the input names, print a summary, write the result */
#include "brgflow/checkpoint.h"
#include "brgflow/io.h"
#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

static void write_config(bf_h5 *h, MPI_Comm comm, const bf_input *in)
{
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  bf_h5_attr_string(h, "/config", "input", in->text);
  bf_h5_attr_string(h, "/config", "version", BF_VERSION);
  bf_h5_attr_int(h, "/config", "ranks", size, "-", "MPI ranks of the run");
  double peak, estimate; /* so far: the result is written after every stage */
  bf_mem_measure(comm, &peak, &estimate);
  bf_h5_attr_double(h, "/config", "peak_rss_mb", peak, "MB",
                    "peak resident memory (VmHWM) of the largest rank before the write");
  bf_h5_attr_double(h, "/config", "estimate_mb", estimate, "MB",
                    "its estimate from the local blocks: the most the tracked arrays held "
                    "at once on a rank, plus the process's own (docs/theory.md f)");
  /* the run's warnings (bf_warn), absent when there were none */
  int n = bf_warnings_count();
  const char *w[32];
  for (int i = 0; i < n && i < 32; i++) w[i] = bf_warning(i);
  if (n > 0) bf_h5_attr_strings(h, "/", "warnings", n < 32 ? n : 32, w);
}

/* Error bars and the bootstrap of Lambda_C from fewer members than this
 * are statistically empty: allowed (quick looks, tests), but said. */
enum { FEW_MEMBERS = 10 };

static void warn_few_members(MPI_Comm comm, const bf_params *p)
{
  if (p->members >= FEW_MEMBERS) return;
  bf_warn(comm, "[ensemble] members = %d < %d: the standard errors%s rest on too few members "
          "to mean much", p->members, FEW_MEMBERS,
          p->brg && p->bootstrap > 0 ? " and the bootstrap interval of Lambda_C" : "");
}

/* A readable table along the first axis: displacement, G2 +- err, ref, z. */
static void print_table(MPI_Comm comm, const bf_cosnet_job *job)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  const bf_lattice *lat = &job->lat;
  int64_t stride = lat->nsites / lat->L; /* displacement (n, 0, 0) */
  int rows = job->net->momenta == BF_MOMENTA_LATTICE ? lat->L / 2 + 1 : lat->L;
  printf("\nG2 along the first axis (r = n s; reference: %s)\n", job->reference);
  printf("%6s %10s %14s %12s %14s %8s\n", "n", "r", "G2", "stderr", "G2_ref", "z");
  for (int n = 0; n < rows; n++) {
    int64_t i = n * stride;
    printf("%6d %10.4g %14.6e %12.3e %14.6e %8.2f\n", n, n * lat->s, job->g2[i],
           job->g2_err[i], job->g2_ref[i],
           (job->g2[i] - job->g2_ref[i]) / job->g2_err[i]);
  }
  int where[3] = {0, 0, 0};
  bf_lattice_coords(lat, job->zscore_at, where);
  printf("max |G2 - G2_ref| / stderr over all %lld displacements: %.2f at n = (%d",
         (long long)lat->nsites, job->zscore_max, where[0]);
  for (int j = 1; j < lat->d; j++) printf(", %d", where[j]);
  printf(")\n\n");
}

static void write_result(MPI_Comm comm, const bf_input *in,
                         const bf_cosnet_job *job)
{
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  bf_h5 *h = bf_h5_create(comm, in->p.output);
  write_config(h, comm, in);

  const bf_lattice *lat = &job->lat;
  hsize_t dims[3];
  for (int j = 0; j < lat->d; j++) dims[j] = (hsize_t)lat->L;
  /* G2 ~ int d^dp/(2pi)^d 1/(p^2+m^2): dimension length^(2-d), lengths in
   * the unit of [lattice] spacing. */
  const char *u = lat->d == 1 ? "length" : lat->d == 2 ? "1 (dimensionless)"
                                                       : "1/length";
  bf_h5_write_root(h, "/nnft/G2", lat->d, dims, job->g2, u,
                   "ensemble G2 by lattice displacement (translation averaged)");
  bf_h5_write_root(h, "/nnft/G2_err", lat->d, dims, job->g2_err, u,
                   "standard error of G2 over members");
  bf_h5_write_root(h, "/nnft/G2_ref", lat->d, dims, job->g2_ref, u,
                   job->reference);
  bf_h5_attr_double(h, "/nnft", "zscore_max", job->zscore_max, "-",
                    "max over displacements of |G2 - G2_ref|/G2_err");
  bf_h5_attr_int(h, "/nnft", "zscore_max_at", job->zscore_at, "-",
                 "flat (C-order) index of the displacement of zscore_max");
  bf_h5_attr_string(h, "/nnft", "displacement",
                    job->net->momenta == BF_MOMENTA_LATTICE
                        ? "periodic: index n is r = n s mod L s"
                        : "open: index n is r = n s (no wrapping)");

  const bf_ensemble *ens = job->ens;
  if (in->p.save_theta)
    bf_h5_write_rows(h, "/ensemble/theta", (hsize_t)ens->members,
                   (hsize_t)ens->nparams, (hsize_t)ens->first,
                   (hsize_t)ens->count, ens->theta,
                   "a: 1 (scale sigma_a); b: 1/length; c: radians",
                   "parameters per member: a (N), b (N x d, row-major), c (N)");
  bf_h5_attr_double(h, "/ensemble", "amplitude_A", job->net->amp, "length^(-d/2)",
                    "cos-net normalization A (docs/physics.md 1a)");
  if (job->net->momenta == BF_MOMENTA_LATTICE)
    bf_h5_attr_int(h, "/ensemble", "momenta_M", job->net->nmom, "-",
                   "number M of lattice momenta below the cutoff");
  bf_h5_commit(&h);
}

/* ---- deep MLP ----------------------------------------------------------- */

static void print_kernel_table(MPI_Comm comm, const bf_params *p,
                               const bf_mlp_job *job)
{
  int rank, n = job->n;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  printf("\ninfinite-width kernels (%s)\n", job->mod->describe);
  printf("%4s %-22s %14s %14s %14s %14s\n", "i", "x_i", "K_nngp(i,i)", "K_nngp(0,i)",
         "K_ntk(i,i)", "K_ntk(0,i)");
  for (int i = 0; i < n; i++) {
    char xs[64];
    int len = 0;
    for (int j = 0; j < p->d; j++)
      len += snprintf(xs + len, sizeof xs - len, "%s%.3g", j ? "," : "",
                      p->x[(int64_t)i * p->d + j]);
    printf("%4d %-22s %14.8e %14.8e %14.8e %14.8e\n", i, xs, job->k_table[i],
           job->k_table[n + i], job->k_table[2 * n + i], job->k_table[3 * n + i]);
  }
  printf("\n");
}

static void print_mlp_table(MPI_Comm comm, const bf_params *p,
                            const bf_mlp_job *job)
{
  int rank, n = job->n;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  printf("\nG2(x_i, x_i) and G2(x_0, x_i) against the infinite-width NNGP kernel\n");
  printf("%4s %-22s %13s %10s %13s %7s %13s %10s %13s %7s\n", "i", "x_i", "G2(i,i)",
         "stderr", "K_nngp(i,i)", "z", "G2(0,i)", "stderr", "K_nngp(0,i)", "z");
  for (int i = 0; i < n; i++) {
    char xs[64];
    int len = 0;
    for (int j = 0; j < p->d; j++)
      len += snprintf(xs + len, sizeof xs - len, "%s%.3g", j ? "," : "",
                      p->x[(int64_t)i * p->d + j]);
    int ii = i * n + i, oi = i;
    printf("%4d %-22s %13.6e %10.2e %13.6e %7.2f %13.6e %10.2e %13.6e %7.2f\n", i, xs,
           job->g2[ii], job->g2_err[ii], job->k_nngp[ii],
           (job->g2[ii] - job->k_nngp[ii]) / job->g2_err[ii], job->g2[oi],
           job->g2_err[oi], job->k_nngp[oi],
           (job->g2[oi] - job->k_nngp[oi]) / job->g2_err[oi]);
  }
  printf("max |G2 - K_nngp| / stderr over all pairs: %.2f at (%d, %d)\n", job->zscore_max,
         job->z_i, job->z_j);
  printf("\nconnected four-point function (0 at infinite width; N G4c is O(1))\n");
  printf("%-16s %13s %10s %8s %13s\n", "quadruple", "G4c", "jackknife", "G4c/err",
         "N G4c");
  for (int q = 0; q < job->nq; q++) {
    char qs[40];
    snprintf(qs, sizeof qs, "(%d,%d,%d,%d)", p->quad[q][0], p->quad[q][1],
             p->quad[q][2], p->quad[q][3]);
    printf("%-16s %13.5e %10.2e %8.2f %13.5e\n", qs, job->g4c[q], job->g4c_err[q],
           job->g4c[q] / job->g4c_err[q], job->mod->width * job->g4c[q]);
  }
  printf("\n");
}

/* A kernel replicated (prior ensembles) or block-cyclic (kernels only). */
static void write_kernel(bf_h5 *h, const bf_mlp_job *job, const char *name,
                         const double *k, const bf_dmat *K, const char *what)
{
  hsize_t nn[2] = {(hsize_t)job->n, (hsize_t)job->n};
  if (job->g)
    bf_h5_write_dmat(h, name, job->g, K, "output^2", what);
  else
    bf_h5_write_root(h, name, 2, nn, k, "output^2", what);
}

static void write_kernels(bf_h5 *h, const bf_params *p, const bf_mlp_job *job)
{
  int n = job->n;
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)p->d};
  bf_h5_write_root(h, "/nnft/x", 2, dims, p->x, "length", "correlator points x_i");
  write_kernel(h, job, "/nnft/K_nngp", job->k_nngp, &job->K_nngp,
               "infinite-width NNGP kernel K(x_i, x_j)");
  write_kernel(h, job, "/nnft/K_ntk", job->k_ntk, &job->K_ntk,
               "tangent kernel Theta(x_i, x_j) of theta as stored: the infinite-width "
               "NTK in the ntk parameterization; at the network's own widths (it grows "
               "with them) in the others");
  bf_h5_attr_string(h, "/nnft", "kernel_method", job->mod->kernel_method);
}

/* The point indices of every G4c entry of the file. */
static void write_quadruples(bf_h5 *h, const bf_params *p)
{
  hsize_t q4[2] = {(hsize_t)p->nquads, 4};
  double *quads = BF_ALLOC(4 * p->nquads, double);
  for (int q = 0; q < p->nquads; q++)
    for (int k = 0; k < 4; k++) quads[4 * q + k] = p->quad[q][k];
  bf_h5_write_root(h, "/nnft/quadruples", 2, q4, quads, "-",
                   "point indices (i, j, k, l) of each G4c entry");
  free(quads);
}

/* G2 +- stderr (n x n) and G4c +- jackknife (nq) in group g. */
static void write_moments(bf_h5 *h, const char *g, int n, int nq, const double *g2,
                          const double *g2_err, const double *g4c, const double *g4c_err,
                          const char *g2what, const char *g4what)
{
  hsize_t nn[2] = {(hsize_t)n, (hsize_t)n}, q = (hsize_t)nq;
  char name[80];
#define W(ds, r, d, data, units, what) \
  (snprintf(name, sizeof name, "%s/" ds, g), bf_h5_write_root(h, name, r, d, data, units, what))
  W("G2", 2, nn, g2, "output^2", g2what);
  W("G2_err", 2, nn, g2_err, "output^2", "standard error of G2 over members");
  W("G4c", 1, &q, g4c, "output^4", g4what);
  W("G4c_err", 1, &q, g4c_err, "output^4", "delete-one-block jackknife error of G4c");
#undef W
}

static void write_mlp_result(MPI_Comm comm, const bf_input *in,
                             const bf_mlp_job *job)
{
  const bf_params *p = &in->p;
  bf_h5 *h = bf_h5_create(comm, p->output);
  write_config(h, comm, in);
  write_kernels(h, p, job);
  if (job->ens) {
    int n = job->n;
    write_moments(h, "/nnft", n, job->nq, job->g2, job->g2_err, job->g4c, job->g4c_err,
                  "ensemble G2(x_i, x_j) = <f(x_i) f(x_j)>",
                  "connected four-point function on /nnft/quadruples");
    write_quadruples(h, p);
    bf_h5_attr_double(h, "/nnft", "zscore_max", job->zscore_max, "-",
                      "max over point pairs of |G2 - K_nngp|/G2_err");
    bf_h5_attr_int(h, "/nnft", "zscore_max_at", (int64_t)job->z_i * n + job->z_j, "-",
                   "i n + j: the point pair of zscore_max");
    const bf_ensemble *ens = job->ens;
    if (p->save_theta)
      bf_h5_write_rows(h, "/ensemble/theta", (hsize_t)ens->members,
                     (hsize_t)ens->nparams, (hsize_t)ens->first,
                     (hsize_t)ens->count, ens->theta, "-",
                     "parameters per member: for l = 1..L+1, W^l (out x in, "
                     "row-major), then b^l");
  }
  bf_h5_commit(&h);
}

static int run_mlp(MPI_Comm comm, const bf_input *in, int kernels_only)
{
  const bf_params *p = &in->p;
  bf_mlp_job *job = bf_mlp_job_run(comm, p, kernels_only);
  if (kernels_only)
    print_kernel_table(comm, p, job);
  else
    print_mlp_table(comm, p, job);
  double t = bf_elapsed();
  write_mlp_result(comm, in, job);
  bf_log(comm, "write: %s (%.2f s)", p->output, bf_elapsed() - t);
  bf_mlp_job_destroy(&job);
  return 0;
}

int bf_run_kernels(MPI_Comm comm, const bf_input *in)
{
  const bf_params *p = &in->p;
  bf_model *probe = bf_model_create(p);
  int field = probe->free_field != NULL;
  bf_model_destroy(&probe);
  bf_fail_if(comm, field,
             "%s: [network] arch: `brgflow kernel` needs arch = mlp (a model with "
             "infinite-width kernels at points)", in->path);
  bf_log(comm, "brgflow %s kernel: %d points", BF_VERSION, p->npoints);
  return run_mlp(comm, in, 1);
}

/* ---- trained ensembles and the metric ---------------------------------- */

static void write_rows(bf_h5 *h, const bf_ensemble *ens, const char *name,
                       int64_t ncols, const double *data, const char *units,
                       const char *what)
{
  bf_h5_write_rows(h, name, (hsize_t)ens->members, (hsize_t)ncols,
                   (hsize_t)ens->first, (hsize_t)ens->count, data, units, what);
}

static void write_flows(bf_h5 *h, const bf_params *p, const bf_train_job *job,
                        const bf_flow_result *res, int nres);

/* N of N G4c: the width of the last hidden layer, whose 1/N the
 * connected four-point function carries (docs/physics.md 5). */
static const char *WIDTH_WHAT = "N of NG4c: the width of the last hidden layer";

/* N G4c, K x nq (or nq), allocated. */
static double *times_width(const bf_model *mod, int64_t n, const double *g4c)
{
  double *ng = BF_ALLOC(n + 1, double);
  for (int64_t i = 0; i < n; i++) ng[i] = mod->width * g4c[i];
  return ng;
}

/* The measure stage after training: the points and quadruples in /nnft,
 * G2 and G4c of the trained ensemble in /train. */
static void write_measure(bf_h5 *h, const bf_params *p, const bf_train_job *job)
{
  hsize_t xd[2] = {(hsize_t)p->npoints, (hsize_t)p->d}, nq = (hsize_t)p->nquads;
  bf_h5_write_root(h, "/nnft/x", 2, xd, p->x, "length", "correlator points x_i");
  write_quadruples(h, p);
  bf_h5_attr_int(h, "/nnft", "width_N", job->mod->width, "-", WIDTH_WHAT);
  write_moments(h, "/train", p->npoints, p->nquads, job->g2, job->g2_err, job->g4c,
                job->g4c_err, "trained ensemble G2(x_i, x_j) at the correlator points (/nnft/x)",
                "trained ensemble connected G4c on /nnft/quadruples");
  double *ng = times_width(job->mod, p->nquads, job->g4c);
  bf_h5_write_root(h, "/train/NG4c", 1, &nq, ng, "output^4",
                   "N G4c, N = /nnft width_N (the last hidden width)");
  free(ng);
}

static void write_train_result(MPI_Comm comm, const bf_input *in,
                               const bf_train_job *job, const bf_flow_result *flows,
                               int nflows)
{
  const bf_params *p = &in->p;
  const bf_dataset *ds = job->ds;
  bf_h5 *h = bf_h5_create(comm, p->output);
  write_config(h, comm, in);
  hsize_t xd[2] = {(hsize_t)ds->n, (hsize_t)ds->d}, n1 = (hsize_t)ds->n;
  hsize_t td[2] = {(hsize_t)ds->ntest, (hsize_t)ds->d}, t1 = (hsize_t)ds->ntest;
  bf_h5_write_root(h, "/data/x_train", 2, xd, ds->x, "length", "training inputs");
  bf_h5_write_root(h, "/data/y_train", 1, &n1, ds->y, "output", "training targets (noisy)");
  bf_h5_write_root(h, "/data/x_test", 2, td, ds->xt, "length", "test inputs");
  bf_h5_write_root(h, "/data/y_test", 1, &t1, ds->yt, "output", "test targets (noise-free)");
  bf_h5_attr_double(h, "/data", "noise", p->noise, "output",
                    "sigma of the Gaussian noise on the training targets");
  const char *method[] = {"none", "gd", "posterior", "sgd"};
  bf_h5_attr_string(h, "/train", "method", method[p->method]);
  int sgd = p->method == BF_TRAIN_SGD;
  if (p->method == BF_TRAIN_GD || sgd) {
    bf_h5_attr_string(h, "/train", "loss", p->loss == BF_LOSS_MSE ? "mse" : "half_mse");
    bf_h5_attr_double(h, "/train", "lr", p->lr, "-", "learning rate eta");
  }
  if (sgd) {
    bf_h5_attr_int(h, "/train", "batch", p->batch, "-", "SGD minibatch size");
    bf_h5_attr_int(h, "/train", "epochs", p->epochs, "-", "SGD epochs");
    bf_h5_attr_string(h, "/train", "order", p->sgd_order == BF_ORDER_SHUFFLED ? "shuffled"
                                                                              : "fixed");
  }
  if (p->method == BF_TRAIN_GD || sgd) {
    double *steps = BF_ALLOC(job->log.nrec, double);
    hsize_t nr = (hsize_t)job->log.nrec;
    for (int r = 0; r < job->log.nrec; r++) steps[r] = job->log.steps[r];
    bf_h5_write_root(h, "/train/steps", 1, &nr, steps, "-",
                     sgd ? "SGD epochs of the loss records" : "GD steps of the loss records");
    write_rows(h, job->ens, "/train/loss", job->log.nrec, job->loss, "output^2",
               "training MSE per member at /train/steps");
    write_rows(h, job->ens, "/train/diverged", 1, job->diverged, "-",
               "1: the member diverged and was dropped ([train] on_divergence = drop; "
               "its loss records are NaN from then on), 0: trained");
    bf_h5_attr_int(h, "/train", "n_diverged", job->n_diverged, "-",
                   "members whose training diverged (dropped, [train] on_divergence)");
    free(steps);
  }
  bf_h5_write_root(h, "/train/test_mean", 1, &t1, job->test_mean, "output",
                   "ensemble predictive mean on the test points");
  bf_h5_write_root(h, "/train/test_var", 1, &t1, job->test_var, "output^2",
                   "ensemble predictive variance on the test points");
  if (job->ref_mean) {
    bf_h5_write_root(h, "/train/reference_mean", 1, &t1, job->ref_mean, "output",
                     p->method != BF_TRAIN_GD ? "GP posterior mean"
                     : job->mod->linear
                         ? "infinite-width prediction of readout GD (NNGP kernel)"
                         : "infinite-width NTK prediction");
    if (job->ref_var)
      bf_h5_write_root(h, "/train/reference_var", 1, &t1, job->ref_var, "output^2",
                       "GP posterior variance");
    bf_h5_attr_double(h, "/train", "deviation_mean", job->dev_mean, "output",
                      "max over test points of |test_mean - reference_mean|");
    if (job->ref_var) bf_h5_attr_double(h, "/train", "deviation_var", job->dev_var,
                                     "output^2",
                                     "max over test points of |test_var - reference_var|");
  }
  if (p->save_theta)
    write_rows(h, job->ens, "/ensemble/theta", job->ens->nparams, job->ens->theta, "-",
               "trained parameters per member (flattening as in docs/outputs.md)");
  if (job->lambda)
    write_rows(h, job->ens, "/fisher/eigenvalues", job->k, job->lambda, "1/parameter^2",
               "Fisher eigenvalues per member, descending, k = min(n, P_trained)");
  if (p->solver != BF_SOLVER_NONE) {
    bf_h5_attr_string(h, "/fisher", "solver",
                      !job->lambda ? "none (diagonal basis only)"
                      : job->solver == BF_SOLVER_PRIMAL ? "primal" : "dual");
    bf_h5_attr_double(h, "/fisher", "sigma", job->sigma, "output",
                      "likelihood sigma of I = J^T J / sigma^2");
    bf_h5_attr_int(h, "/fisher", "trained_offset", job->mod->t0, "-",
                   "column of theta where the trained block starts");
    bf_h5_attr_string(h, "/fisher", "normalization",
                      p->normalization == BF_FISHER_MEAN ? "mean" : "sum");
    bf_h5_attr_int(h, "/fisher", "n_points", (int)job->fisher->n, "-",
                   "points n_F of the metric");
  }
  if (job->fisher_own) {
    hsize_t fd[2] = {(hsize_t)job->fisher->n, (hsize_t)job->fisher->d};
    bf_h5_write_root(h, "/fisher/x", 2, fd, job->fisher->x, "length",
                     "Fisher points (separate draws from the training input distribution)");
  }
  if (job->flow_lambda) {
    hsize_t dims[3] = {(hsize_t)job->ens->members, (hsize_t)job->log.nrec, (hsize_t)job->k};
    bf_h5_write_block(h, "/train/fisher_eigenvalues", 3, dims, (hsize_t)job->ens->first,
                      (hsize_t)job->ens->count, job->flow_lambda, "1/parameter^2",
                      "Fisher eigenvalues per member at /train/steps, descending (IR -> UV)");
  }
  if (job->scale > 0) {
    hsize_t dims[2] = {8, 3};
    bf_h5_write_root(h, "/train/resolved_momentum", 2, dims, &job->resolved[0][0],
                     "-, 1/length, 1/length",
                     "columns: n (data points), p(Lambda) theory, ensemble-mean "
                     "largest resolved |b| (I_ii >= Lambda)");
    bf_h5_attr_double(h, "/train", "information_scale", job->scale, "1/parameter^2",
                      "information scale Lambda of resolved_momentum");
  }
  if (job->diag)
    write_rows(h, job->ens, "/fisher/diag", job->mod->Pt, job->diag, "1/parameter^2",
               "diagonal Fisher I_AA of the trained parameters, per member");
  if (job->g2) write_measure(h, p, job);
  if (nflows) write_flows(h, p, job, flows, nflows);
  bf_h5_commit(&h);
}

static void print_train_summary(MPI_Comm comm, const bf_params *p,
                                const bf_train_job *job)
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
  if (p->method == BF_TRAIN_GD || p->method == BF_TRAIN_SGD) {
    const char *unit = p->method == BF_TRAIN_SGD ? "epoch" : "step";
    double live = (double)(p->members - job->n_diverged);
    printf("\ntraining MSE (ensemble mean): %s 0: %.5g, %s %d: %.5g", unit, tmp[0] / live,
           unit, bf_train_length(p), tmp[1] / live);
    if (job->n_diverged)
      printf(" (over %.0f members; %lld diverged and were dropped)", live,
             (long long)job->n_diverged);
    printf("\n");
  }
  if (job->ref_mean)
    printf("infinite-width check on %lld test points: max |mean - %s| = %.4g%s",
           (long long)job->ds->ntest, p->method == BF_TRAIN_GD ? "NTK" : "GP",
           job->dev_mean, job->ref_var ? "" : "\n");
  if (job->ref_var) printf(", max |var - GP| = %.4g\n", job->dev_var);
  if (job->lambda && job->k > 0) {
    printf("Fisher (%s, sigma = %g): ensemble-mean top eigenvalues:",
           job->solver == BF_SOLVER_PRIMAL ? "primal" : "dual", job->sigma);
    for (int j = 0; j < 5 && j < job->k; j++) printf(" %.4g", top[j] / p->members);
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

/* ---- the coarse-graining flow --------------------------------------------- */

static void write_erg(bf_h5 *h, const char *g, const bf_train_job *job,
                      const bf_flow_result *f)
{
  const bf_lattice *lat = &job->mod->free_field->lat;
  char name[160];
  hsize_t K = (hsize_t)f->K, dims[4] = {K};
  for (int j = 0; j < lat->d; j++) dims[j + 1] = (hsize_t)lat->L;
  const char *u = lat->d == 1 ? "length" : lat->d == 2 ? "1 (dimensionless)" : "1/length";
#define W1(n, data, units, what) \
  (snprintf(name, sizeof name, "%s/" n, g), bf_h5_write_root(h, name, 1, &K, data, units, what))
#define WL(n, data, units, what) \
  (snprintf(name, sizeof name, "%s/" n, g), \
   bf_h5_write_root(h, name, lat->d + 1, dims, data, units, what))
  W1("momentum_cutoff", f->pcut, "1/length", "p(Lambda) = sqrt(n A^2/(2 s^2 Lambda) - m^2)");
  WL("G2", f->g2, u, "coarse-grained ensemble G2 by lattice displacement, per step");
  WL("G2_err", f->g2_err, u, "standard error of G2 over members");
  WL("G2_ref", f->g2_ref, u, "G_p^lat with p = p(Lambda), q = 0 mode weighted by its pruning survival");
  WL("Gq", f->gq, "1/momentum^2", "<|phi~(q)|^2>/V by lattice momentum (FFT index order)");
  WL("Gq_err", f->gq_err, "1/momentum^2", "standard error of Gq over members");
  WL("Gq_ref", f->gq_ref, "1/momentum^2", "theta(p - |q|)/(q^2 + m^2), q = 0 weighted");
  W1("m_eff", f->m_eff, "1/length", "fit of 1/Gq = (q^2 + m_eff^2)/Z over 0 < |q| < p");
  W1("m_eff_err", f->m_err, "1/length", "fit error of m_eff");
  W1("Z", f->Z, "-", "field normalization of the fit");
  W1("m_hat", f->m_hat, "-", "dimensionless mass m_eff/p(Lambda)");
  W1("zeta", f->zeta, "-", "p(Lambda)/R: the momentum rescaling back to R");
  W1("zscore_max", f->zmax, "-", "max over displacements of |G2 - G2_ref|/G2_err");
#undef W1
#undef WL
}

static void write_flows(bf_h5 *h, const bf_params *p, const bf_train_job *job,
                        const bf_flow_result *res, int nres)
{
  hsize_t E = (hsize_t)job->ens->members, nt = (hsize_t)job->ds->ntest;
  for (int i = 0; i < nres; i++) {
    const bf_flow_result *f = &res[i];
    char g[64], name[160];
    snprintf(g, sizeof g, nres == 1 ? "/brg" : "/brg/%s", f->name);
    hsize_t K = (hsize_t)f->K, ke[2] = {K, E}, kt[2] = {K, nt};
    const char *lu = p->relative ? "lambda_max" : "1/parameter^2";
#define W(n, r, d, data, units, what) \
  (snprintf(name, sizeof name, "%s/" n, g), bf_h5_write_root(h, name, r, d, data, units, what))
    W("cutoffs", 1, &K, f->cut, lu,
      p->ncut ? "information cutoffs Lambda_k: the [brg] cutoffs list"
              : "information cutoffs Lambda_k, log-spaced");
    W("n_sloppy", 2, ke, f->n_sloppy, "-", "sloppy directions per step and member");
    W("test_mse", 2, ke, f->mse, "output^2", "test MSE per step and member");
    W("test_mse0", 1, &E, f->mse0, "output^2", "test MSE before coarse graining");
    W("test_mse_mean", 1, &K, f->mse_mean, "output^2",
      "mean test MSE per step over the kept members (behind Lambda_C)");
    W("kept", 1, &E, f->kept, "-",
      "1: member in the ensemble statistics, 0: dropped (test_mse0 >= keep_mse_below)");
    if (f->nprobe) {
      hsize_t np = (hsize_t)f->nprobe, kep[3] = {K, E, np};
      double *idx = BF_ALLOC(f->nprobe, double);
      for (int j = 0; j < f->nprobe; j++) idx[j] = p->probe_idx[j];
      W("probe", 1, &np, idx, "-", "[brg] probe: indices of the test points (/data/x_test rows)");
      W("probe_pred", 3, kep, f->probe_pred, "output",
        "every member's prediction at the probe test points, per step (dropped members too)");
      free(idx);
    }
    W("pred_mean", 2, kt, f->pred_mean, "output", "ensemble predictive mean on the test points");
    W("pred_var", 2, kt, f->pred_var, "output^2", "ensemble predictive variance on the test points");
    if (f->basis == BF_BASIS_DIAGONAL)
      W("n_zero_info", 2, ke, f->n_zero, "-", "sloppy coordinates with I_AA = 0 exactly");
    if (f->npts) {
      hsize_t g2d[3] = {K, (hsize_t)f->npts, (hsize_t)f->npts}, kq[2] = {K, (hsize_t)f->nq};
      W("G2", 3, g2d, f->g2pts, "output^2",
        "ensemble G2 at the [correlator] points (/nnft/x), per step");
      W("G2_err", 3, g2d, f->g2pts_err, "output^2", "standard error of G2 over the kept members");
      W("G4c", 2, kq, f->g4c, "output^4",
        "connected G4c on /nnft/quadruples per step, over the kept members");
      W("G4c_err", 2, kq, f->g4c_err, "output^4", "delete-one-block jackknife error of G4c");
      double *ng = times_width(job->mod, (int64_t)f->K * f->nq, f->g4c);
      W("NG4c", 2, kq, ng, "output^4", "N G4c, N = /nnft width_N (the last hidden width)");
      free(ng);
    }
    if (f->mse_inf) {
      W("mse_infinite_width", 1, &K, f->mse_inf, "output^2",
        "infinite-width test MSE (posterior, resample; docs/physics.md 3)");
      W("var_infinite_width", 2, kt, f->var_inf, "output^2",
        "infinite-width predictive variance on the test points");
    }
#undef W
    bf_h5_attr_double(h, g, "critical_cutoff", f->lc, lu,
                      "Lambda_C: first cutoff whose mean test MSE exceeds (1 + critical_tol) "
                      "MSE_0; NaN: not reached on the grid");
    bf_h5_attr_double(h, g, "critical_cutoff_lo", f->lc_lo, lu,
                      "2.5% bootstrap point of Lambda_C (inf: not reached in that "
                      "resample; NaN: bootstrap < 2)");
    bf_h5_attr_double(h, g, "critical_cutoff_hi", f->lc_hi, lu,
                      "97.5% bootstrap point of Lambda_C (inf: not reached in that "
                      "resample; NaN: bootstrap < 2)");
    bf_h5_attr_int(h, g, "critical_step", f->crit, "-",
                   "step k of Lambda_C (0-based); -1: not reached");
    bf_h5_attr_double(h, g, "critical_tol", p->critical_tol, "-",
                      "delta of the threshold (1 + delta) MSE_0");
    bf_h5_attr_int(h, g, "n_dropped", (int64_t)E - f->n_kept, "-",
                   "members left out of the statistics ([brg] keep_mse_below)");
    bf_h5_attr_double(h, g, "keep_mse_below", p->keep_mse_below, "output^2",
                      "[brg] keep_mse_below (0: every member kept)");
    bf_h5_attr_string(h, g, "basis", f->basis == BF_BASIS_EIGEN ? "eigen" : "diagonal");
    bf_h5_attr_string(h, g, "prescription", f->prune ? "prune" : "resample");
    if (f->basis == BF_BASIS_EIGEN)
      bf_h5_attr_string(h, g, "null_space", "left at theta* (lambda <= 1e-12 lambda_max)");
    if (f->erg) {
      char eg[64];
      snprintf(eg, sizeof eg, strcmp(f->name, "diagonal_prune") ? "/erg/%s" : "/erg", f->name);
      write_erg(h, eg, job, f);
    }
  }
}

/* Which members [brg] keep_mse_below dropped from the ensemble statistics. */
static void print_kept(const bf_params *p, const bf_flow_result *f)
{
  if (p->keep_mse_below <= 0) return;
  printf("  members kept: %lld of %d (keep_mse_below = %g); dropped:", (long long)f->n_kept,
         p->members, p->keep_mse_below);
  int shown = 0;
  for (int m = 0; m < p->members; m++)
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
  const char *unit = p->relative ? " x lambda_max" : "";
  double mse0 = kept_mean(f, p->members, f->mse0), thr = (1 + p->critical_tol) * mse0;
  double worst = 0;
  for (int k = 0; k < f->K; k++) worst = fmax(worst, f->mse_mean[k] / mse0);
  printf("\nflow %s (%lld of %d members in the statistics)\n", f->name,
         (long long)f->n_kept, p->members);
  printf("  %-34s %.6g\n", "MSE_0 (no coarse-graining)", mse0);
  printf("  %-34s %.6g (delta = %g)\n", "threshold (1 + delta) MSE_0", thr, p->critical_tol);
  if (f->crit < 0) {
    printf("  %-34s none: not reached on the grid\n  %-34s (the mean test MSE never "
           "exceeded %.3g x MSE_0; largest ratio %.4g)\n", "Lambda_C", "",
           1 + p->critical_tol, worst);
    return;
  }
  printf("  %-34s %.6g%s (step %d of %d)\n", "Lambda_C", f->lc, unit, f->crit + 1, f->K);
  if (p->bootstrap < 2)
    printf("  %-34s none: [brg] bootstrap = %d\n", "bootstrap 95% interval", p->bootstrap);
  else
    printf("  %-34s %.6g .. %.6g%s%s\n", "bootstrap 95% interval", f->lc_lo, f->lc_hi, unit,
           isinf(f->lc_hi) ? " (inf: some draws never crossed the threshold on the grid)"
                           : "");
  printf("  %-34s %.6g\n", "sloppy directions at Lambda_C",
         kept_mean(f, p->members, f->n_sloppy + (int64_t)f->crit * p->members));
}

/* The ERG checks per step (cos-net on the full lattice). */
static void print_erg_steps(const bf_params *p, const bf_flow_result *f)
{
  printf("%12s %10s %10s %8s %18s %8s\n", "Lambda", "p(Lambda)", "sloppy", "max z", "m_eff",
         "m_hat");
  int unfit = 0;
  for (int k = 0; k < f->K; k++) {
    double sl = 0;
    for (int64_t m = 0; m < p->members; m++) sl += f->n_sloppy[k * p->members + m];
    printf("%12.4g %10.4f %10.1f %8.2f ", f->cut[k], f->pcut[k], sl / p->members, f->zmax[k]);
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
static void print_g4c_steps(const bf_params *p, const bf_train_job *job,
                            const bf_flow_result *f)
{
  double N = job->mod->width;
  int last = (f->K - 1) * f->nq;
  printf("  N G4c (N = %d, last hidden width) per quadruple: trained; first step; last step\n",
         job->mod->width);
  for (int q = 0; q < f->nq; q++)
    printf("    (%d,%d,%d,%d) %12.5g +- %-10.3g %12.5g +- %-10.3g %12.5g +- %.3g\n",
           p->quad[q][0], p->quad[q][1], p->quad[q][2], p->quad[q][3], N * job->g4c[q],
           N * job->g4c_err[q], N * f->g4c[q], N * f->g4c_err[q], N * f->g4c[last + q],
           N * f->g4c_err[last + q]);
}

static void print_flows(MPI_Comm comm, const bf_params *p, const bf_train_job *job,
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

/* A stop request came back up from a stage.  At a checkpoint the stage has
 * said so (bf_session_stop_point): end with status 0.  Where no checkpoint
 * was written (the infinite-width kernels, which have no step boundary, or
 * a step boundary with checkpoints switched off): say so, write nothing,
 * and end with BF_STOPPED. */
static int stopped(MPI_Comm comm, const bf_params *p, bf_session *sess, bf_train_job **job,
                   bf_flow_result **flows, int nflows)
{
  int rank, checkpointed = bf_stopped_at_checkpoint();
  BF_MPI(MPI_Comm_rank(comm, &rank));
  char ckpt[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->output, ckpt, prev, tmp, sizeof ckpt);
  if (rank == 0 && !checkpointed) {
    printf("brgflow: stopped on request where no checkpoint is written (the infinite-width "
           "kernels, or [run] checkpoint_every / checkpoint_flow_every = 0): no result; rerun "
           "the stage\n");
    if (access(ckpt, F_OK) == 0)
      printf("brgflow: the checkpoint %s holds an earlier step: --restart %s resumes there\n",
             ckpt, ckpt);
    fflush(stdout);
  }
  if (flows) bf_flow_results_destroy(flows, nflows);
  bf_ckpt_close(&sess->resume);
  bf_train_job_destroy(job);
  return checkpointed ? 0 : BF_STOPPED;
}

static int run_trained(MPI_Comm comm, const bf_input *in)
{
  const bf_params *p = &in->p;
  bf_session sess = {.input_text = in->text, .restart = in->restart};
  /* only runs with step boundaries can stop cleanly: the others keep the
   * default action of SIGTERM */
  bf_session_install_signals(p);
  bf_train_job *job = bf_train_job_run(comm, p, &sess);
  if (bf_stopped()) return stopped(comm, p, &sess, &job, NULL, 0);
  print_train_summary(comm, p, job);
  bf_flow_result *flows = NULL;
  int nflows = p->brg ? bf_flow_run(comm, p, job, &sess, &flows) : 0;
  if (bf_stopped()) return stopped(comm, p, &sess, &job, &flows, nflows);
  print_flows(comm, p, job, flows, nflows);
  double t = bf_elapsed();
  write_train_result(comm, in, job, flows, nflows);
  bf_log(comm, "write: %s (%.2f s)", p->output, bf_elapsed() - t);
  bf_ckpt_close(&sess.resume);
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) { /* the result is complete: its checkpoints are spent */
    char path[1100], prev[1100], tmp[1100];
    bf_ckpt_names(p->output, path, prev, tmp, sizeof path);
    unlink(path), unlink(prev), unlink(tmp);
  }
  bf_flow_results_destroy(&flows, nflows);
  bf_train_job_destroy(&job);
  return 0;
}

int bf_run(MPI_Comm comm, const bf_input *in)
{
  const bf_params *p = &in->p;
  bf_fail_if(comm, in->restart[0] && p->method == BF_TRAIN_NONE && p->solver == BF_SOLVER_NONE,
             "--restart %s: this run (no training, no metric) writes no checkpoints; "
             "run it without --restart", in->restart);
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  bf_model *mod = bf_model_create(p);
  int field = mod->free_field != NULL;
  bf_log(comm, "brgflow %s: %s; E = %d members, on %d rank%s", BF_VERSION, mod->describe,
         p->members, size, size > 1 ? "s" : "");
  bf_model_destroy(&mod);
  warn_few_members(comm, p);
  if (p->method != BF_TRAIN_NONE || p->solver != BF_SOLVER_NONE) return run_trained(comm, in);
  /* the prior ensemble: a free field on its lattice, or correlators at points */
  if (!field) return run_mlp(comm, in, 0);
  bf_cosnet_job *job = bf_cosnet_job_run(comm, p);
  print_table(comm, job);
  double t = bf_elapsed();
  write_result(comm, in, job);
  bf_log(comm, "write: %s (%.2f s)", p->output, bf_elapsed() - t);
  bf_cosnet_job_destroy(&job);
  return 0;
}
