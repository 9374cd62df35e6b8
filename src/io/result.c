/* result.c — the write stage: the result file's schema (docs/outputs.md).
 *
 *   bf_stage_write  the whole result of a run into OUTPUT (via OUTPUT.partial):
 *                   /config, and what the chain produced: a prior's /nnft and
 *                   /ensemble, or /data, /train, /fisher, /nnft, /brg, /erg
 *
 * The flows' arrays come from their table (src/flow/table.c), so a new flow
 * observable needs no code here. */
#include "brgflow/io.h"
#include "brgflow/pipeline.h"

#include <stdlib.h>
#include <string.h>

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

static int write_cosnet_result(MPI_Comm comm, const bf_input *in, const bf_ctx *job)
{
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  bf_h5 *h = bf_h5_create(comm, in->p.run.output);
  if (!h) return BF_FAILED;
  write_config(h, comm, in);

  const bf_lattice *lat = &job->lat;
  hsize_t dims[3];
  for (int j = 0; j < lat->d; j++) dims[j] = (hsize_t)lat->L;
  /* G2 ~ int d^dp/(2pi)^d 1/(p^2+m^2): dimension length^(2-d), lengths in
   * the unit of [lattice] spacing. */
  const char *u = lat->d == 1 ? "length" : lat->d == 2 ? "1 (dimensionless)"
                                                       : "1/length";
  bf_h5_write_root(h, "/nnft/G2", lat->d, dims, job->lat_g2, u,
                   "ensemble G2 by lattice displacement (translation averaged)");
  bf_h5_write_root(h, "/nnft/G2_err", lat->d, dims, job->lat_g2_err, u,
                   "standard error of G2 over members");
  bf_h5_write_root(h, "/nnft/G2_ref", lat->d, dims, job->lat_g2_ref, u,
                   job->lat_reference);
  bf_h5_attr_double(h, "/nnft", "zscore_max", job->zscore_max, "-",
                    "max over displacements of |G2 - G2_ref|/G2_err");
  bf_h5_attr_int(h, "/nnft", "zscore_max_at", job->zscore_at, "-",
                 "flat (C-order) index of the displacement of zscore_max");
  bf_h5_attr_string(h, "/nnft", "displacement",
                    job->mod->free_field->momenta == BF_MOMENTA_LATTICE
                        ? "periodic: index n is r = n s mod L s"
                        : "open: index n is r = n s (no wrapping)");

  const bf_ensemble *ens = job->ens;
  if (in->p.run.save_theta)
    bf_h5_write_rows(h, "/ensemble/theta", (hsize_t)ens->members,
                   (hsize_t)ens->nparams, (hsize_t)ens->first,
                   (hsize_t)ens->count, ens->theta,
                   "a: 1 (scale sigma_a); b: 1/length; c: radians",
                   "parameters per member: a (N), b (N x d, row-major), c (N)");
  bf_h5_attr_double(h, "/ensemble", "amplitude_A", job->mod->free_field->amp, "length^(-d/2)",
                    "cos-net normalization A (docs/physics.md 1a)");
  if (job->mod->free_field->momenta == BF_MOMENTA_LATTICE)
    bf_h5_attr_int(h, "/ensemble", "momenta_M", job->mod->free_field->nmom, "-",
                   "number M of lattice momenta below the cutoff");
  return bf_h5_commit(&h) ? BF_FAILED : 0;
}

/* A kernel replicated (prior ensembles) or block-cyclic (kernels only). */
static void write_kernel(bf_h5 *h, const bf_ctx *job, const char *name, const double *k,
                         const bf_dmat *K, const char *what)
{
  hsize_t nn[2] = {(hsize_t)job->n, (hsize_t)job->n};
  if (job->kernel_grid)
    bf_h5_write_dmat(h, name, job->kernel_grid, K, "output^2", what);
  else
    bf_h5_write_root(h, name, 2, nn, k, "output^2", what);
}

static void write_kernels(bf_h5 *h, const bf_params *p, const bf_ctx *job)
{
  int n = job->n;
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)p->net.d};
  bf_h5_write_root(h, "/nnft/x", 2, dims, p->corr.x, "length", "correlator points x_i");
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
  hsize_t q4[2] = {(hsize_t)p->corr.nquads, 4};
  double *quads = BF_ALLOC(4 * p->corr.nquads, double);
  for (int q = 0; q < p->corr.nquads; q++)
    for (int k = 0; k < 4; k++) quads[4 * q + k] = p->corr.quad[q][k];
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

static int write_mlp_result(MPI_Comm comm, const bf_input *in,
                             const bf_ctx *job)
{
  const bf_params *p = &in->p;
  bf_h5 *h = bf_h5_create(comm, p->run.output);
  if (!h) return BF_FAILED;
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
    if (p->run.save_theta)
      bf_h5_write_rows(h, "/ensemble/theta", (hsize_t)ens->members,
                     (hsize_t)ens->nparams, (hsize_t)ens->first,
                     (hsize_t)ens->count, ens->theta, "-",
                     "parameters per member: for l = 1..L+1, W^l (out x in, "
                     "row-major), then b^l");
  }
  return bf_h5_commit(&h) ? BF_FAILED : 0;
}

static void write_rows(bf_h5 *h, const bf_ensemble *ens, const char *name,
                       int64_t ncols, const double *data, const char *units,
                       const char *what)
{
  bf_h5_write_rows(h, name, (hsize_t)ens->members, (hsize_t)ncols,
                   (hsize_t)ens->first, (hsize_t)ens->count, data, units, what);
}

/* Every flow's arrays from its table (src/flow/table.c) into /brg[/NAME]
 * and, with the ERG checks, /erg[/NAME]; then its scalars as attributes. */
static void write_flows(bf_h5 *h, const bf_params *p, const bf_ctx *job,
                        const bf_flow_result *res, int nres)
{
  hsize_t E = (hsize_t)job->ens->members;
  for (int i = 0; i < nres; i++) {
    const bf_flow_result *f = &res[i];
    char g[64], eg[64];
    snprintf(g, sizeof g, nres == 1 ? "/brg" : "/brg/%s", f->name);
    snprintf(eg, sizeof eg, strcmp(f->name, "diagonal_prune") ? "/erg/%s" : "/erg", f->name);
    const char *groups[2] = {g, f->erg ? eg : NULL};
    bf_sizes sz;
    bf_flow_sizes(p, job, f, &sz);
    bf_fields_write(h, groups, f, bf_flow_fields, bf_flow_nfields, &sz);
    const char *lu = sz.units['C' - 'A'];
    if (f->nprobe) {
      hsize_t np = (hsize_t)f->nprobe;
      double *idx = BF_ALLOC(f->nprobe, double);
      for (int j = 0; j < f->nprobe; j++) idx[j] = p->brg.probe_idx[j];
      char name[96];
      snprintf(name, sizeof name, "%s/probe", g);
      bf_h5_write_root(h, name, 1, &np, idx, "-",
                       "[brg] probe: indices of the test points (/data/x_test rows)");
      free(idx);
    }
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
    bf_h5_attr_double(h, g, "critical_tol", p->brg.critical_tol, "-",
                      "delta of the threshold (1 + delta) MSE_0");
    bf_h5_attr_int(h, g, "n_dropped", (int64_t)E - f->n_kept, "-",
                   "members left out of the statistics ([brg] keep_mse_below)");
    bf_h5_attr_double(h, g, "keep_mse_below", p->brg.keep_mse_below, "output^2",
                      "[brg] keep_mse_below (0: every member kept)");
    bf_h5_attr_string(h, g, "basis", f->basis == BF_BASIS_EIGEN ? "eigen" : "diagonal");
    bf_h5_attr_string(h, g, "prescription", f->prune ? "prune" : "resample");
    if (f->basis == BF_BASIS_EIGEN)
      bf_h5_attr_string(h, g, "null_space", "left at theta* (lambda <= 1e-12 lambda_max)");
  }
}

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
static void write_measure(bf_h5 *h, const bf_params *p, const bf_ctx *job)
{
  hsize_t xd[2] = {(hsize_t)p->corr.npoints, (hsize_t)p->net.d}, nq = (hsize_t)p->corr.nquads;
  bf_h5_write_root(h, "/nnft/x", 2, xd, p->corr.x, "length", "correlator points x_i");
  write_quadruples(h, p);
  bf_h5_attr_int(h, "/nnft", "width_N", job->mod->width, "-", WIDTH_WHAT);
  write_moments(h, "/train", p->corr.npoints, p->corr.nquads, job->g2, job->g2_err, job->g4c,
                job->g4c_err, "trained ensemble G2(x_i, x_j) at the correlator points (/nnft/x)",
                "trained ensemble connected G4c on /nnft/quadruples");
  double *ng = times_width(job->mod, p->corr.nquads, job->g4c);
  bf_h5_write_root(h, "/train/NG4c", 1, &nq, ng, "output^4",
                   "N G4c, N = /nnft width_N (the last hidden width)");
  free(ng);
}

/* /data: the training and test sets. */
static void write_data(bf_h5 *h, const bf_params *p, const bf_dataset *ds)
{
  hsize_t xd[2] = {(hsize_t)ds->n, (hsize_t)ds->d}, n1 = (hsize_t)ds->n;
  hsize_t td[2] = {(hsize_t)ds->ntest, (hsize_t)ds->d}, t1 = (hsize_t)ds->ntest;
  bf_h5_write_root(h, "/data/x_train", 2, xd, ds->x, "length", "training inputs");
  bf_h5_write_root(h, "/data/y_train", 1, &n1, ds->y, "output", "training targets (noisy)");
  bf_h5_write_root(h, "/data/x_test", 2, td, ds->xt, "length", "test inputs");
  bf_h5_write_root(h, "/data/y_test", 1, &t1, ds->yt, "output", "test targets (noise-free)");
  bf_h5_attr_double(h, "/data", "noise", p->data.noise, "output",
                    "sigma of the Gaussian noise on the training targets");
}

/* /train's attributes: the method and its settings, and the record steps. */
static void write_method(bf_h5 *h, const bf_params *p, const bf_ctx *job)
{
  const char *method[] = {"none", "gd", "posterior", "sgd"};
  bf_h5_attr_string(h, "/train", "method", method[p->train.method]);
  int sgd = p->train.method == BF_TRAIN_SGD;
  if (p->train.method != BF_TRAIN_GD && !sgd) return;
  bf_h5_attr_string(h, "/train", "loss", p->train.loss == BF_LOSS_MSE ? "mse" : "half_mse");
  bf_h5_attr_double(h, "/train", "lr", p->train.lr, "-", "learning rate eta");
  if (sgd) {
    bf_h5_attr_int(h, "/train", "batch", p->train.batch, "-", "SGD minibatch size");
    bf_h5_attr_int(h, "/train", "epochs", p->train.epochs, "-", "SGD epochs");
    bf_h5_attr_string(h, "/train", "order", p->train.order == BF_ORDER_SHUFFLED ? "shuffled"
                                                                              : "fixed");
  }
  double *steps = BF_ALLOC(job->log.nrec, double);
  hsize_t nr = (hsize_t)job->log.nrec;
  for (int r = 0; r < job->log.nrec; r++) steps[r] = job->log.steps[r];
  bf_h5_write_root(h, "/train/steps", 1, &nr, steps, "-",
                   sgd ? "SGD epochs of the loss records" : "GD steps of the loss records");
  bf_h5_attr_int(h, "/train", "n_diverged", job->n_diverged, "-",
                 "members whose training diverged (dropped, [train] on_divergence)");
  free(steps);
}

/* The trained ensemble's predictions on the test points and the
 * infinite-width reference they are checked against. */
static void write_predictions(bf_h5 *h, const bf_params *p, const bf_ctx *job)
{
  hsize_t t1 = (hsize_t)job->ds->ntest;
  bf_h5_write_root(h, "/train/test_mean", 1, &t1, job->test_mean, "output",
                   "ensemble predictive mean on the test points");
  bf_h5_write_root(h, "/train/test_var", 1, &t1, job->test_var, "output^2",
                   "ensemble predictive variance on the test points");
  if (!job->ref_mean) return;
  bf_h5_write_root(h, "/train/reference_mean", 1, &t1, job->ref_mean, "output",
                   p->train.method != BF_TRAIN_GD ? "GP posterior mean"
                   : job->mod->linear ? "infinite-width prediction of readout GD (NNGP kernel)"
                                      : "infinite-width NTK prediction");
  if (job->ref_var)
    bf_h5_write_root(h, "/train/reference_var", 1, &t1, job->ref_var, "output^2",
                     "GP posterior variance");
  bf_h5_attr_double(h, "/train", "deviation_mean", job->dev_mean, "output",
                    "max over test points of |test_mean - reference_mean|");
  if (job->ref_var)
    bf_h5_attr_double(h, "/train", "deviation_var", job->dev_var, "output^2",
                      "max over test points of |test_var - reference_var|");
}

/* /fisher's attributes and points, and the resolved momentum. */
static void write_metric(bf_h5 *h, const bf_params *p, const bf_ctx *job)
{
  if (p->fisher.solver != BF_SOLVER_NONE) {
    bf_h5_attr_string(h, "/fisher", "solver",
                      !job->lambda ? "none (diagonal basis only)"
                      : job->solver == BF_SOLVER_PRIMAL ? "primal" : "dual");
    bf_h5_attr_double(h, "/fisher", "sigma", job->sigma, "output",
                      "likelihood sigma of I = J^T J / sigma^2");
    bf_h5_attr_int(h, "/fisher", "trained_offset", job->mod->t0, "-",
                   "column of theta where the trained block starts");
    bf_h5_attr_string(h, "/fisher", "normalization",
                      p->fisher.normalization == BF_FISHER_MEAN ? "mean" : "sum");
    bf_h5_attr_int(h, "/fisher", "n_points", (int)job->fisher->n, "-",
                   "points n_F of the metric");
  }
  if (job->fisher_own) {
    hsize_t fd[2] = {(hsize_t)job->fisher->n, (hsize_t)job->fisher->d};
    bf_h5_write_root(h, "/fisher/x", 2, fd, job->fisher->x, "length",
                     "Fisher points (separate draws from the training input distribution)");
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
}

/* A run that trains (or computes a metric): data, training, predictions,
 * metric, the context's per-member table, correlators, flows. */
static int write_train_result(MPI_Comm comm, const bf_input *in, const bf_ctx *job,
                              const bf_flow_result *flows, int nflows)
{
  const bf_params *p = &in->p;
  bf_h5 *h = bf_h5_create(comm, p->run.output);
  if (!h) return BF_FAILED;
  write_config(h, comm, in);
  write_data(h, p, job->ds);
  write_method(h, p, job);
  write_predictions(h, p, job);
  if (p->run.save_theta)
    write_rows(h, job->ens, "/ensemble/theta", job->ens->nparams, job->ens->theta, "-",
               "trained parameters per member (flattening as in docs/outputs.md)");
  write_metric(h, p, job);
  /* the per-member records and spectra: the context's table (src/run/context.c) */
  const char *groups[2] = {"/train", "/fisher"};
  bf_sizes sz;
  bf_ctx_sizes(job, &sz);
  bf_fields_write(h, groups, job, bf_ctx_fields, bf_ctx_nfields, &sz);
  if (job->g2) write_measure(h, p, job);
  if (nflows) write_flows(h, p, job, flows, nflows);
  return bf_h5_commit(&h) ? BF_FAILED : 0;
}

int bf_stage_write(bf_ctx *c)
{
  if (!c->in) return 0; /* in-process (tests): nothing to write */
  double t = bf_elapsed();
  int status = bf_ctx_trained(c->p) ? write_train_result(c->comm, c->in, c, c->flows, c->nflows)
               : c->mod->free_field ? write_cosnet_result(c->comm, c->in, c)
                                    : write_mlp_result(c->comm, c->in, c);
  if (status) return status; /* OUTPUT.partial removed, OUTPUT untouched */
  bf_log(c->comm, "write: %s (%.2f s)", c->p->run.output, bf_elapsed() - t);
  return 0;
}
