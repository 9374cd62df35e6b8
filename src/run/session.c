/* session.c — checkpoints, restarts and early termination of a run.
 *
 *   bf_session_checkpoint       the whole state so far, one generation
 *   bf_session_stop_point       stop cleanly at a step boundary if asked
 *   bf_session_install_signals  SIGTERM / SIGUSR1 set a flag, nothing more
 *
 * Stages: 0 training (GD step, or SGD epoch, `train_step` next: SGD
 * resumes at an epoch boundary, whose order depends on (seed, member,
 * epoch) alone), 1 metric done, 2 flow
 * (flow `flow_index`, step `flow_step` next).  Every generation holds
 * everything a restart needs: the effective input, the stage, the members'
 * parameters, the metric, and the flows' observables so far. */
#include "brgflow/checkpoint.h"
#include "brgflow/run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the flag lives in core (stop.c): stages without step boundaries poll it too */
void bf_session_install_signals(void) { bf_stop_install(); }

void bf_session_stop_point(MPI_Comm comm, const bf_params *p)
{
  int rank, mine = bf_stop_requested(), any;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  char stopfile[BF_PATH_MAX + 8], ckpt[1100], prev[1100], tmp[1100];
  snprintf(stopfile, sizeof stopfile, "%s.stop", p->output);
  if (rank == 0 && access(stopfile, F_OK) == 0) mine = 1;
  BF_MPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm));
  if (!any) return;
  bf_ckpt_names(p->output, ckpt, prev, tmp, sizeof ckpt);
  if (rank == 0) {
    unlink(stopfile);
    printf("brgflow: stop requested (signal or %s): stopped after the last completed step.\n"
           "brgflow: checkpoint: %s\nbrgflow: continue with: brgflow run INPUT --restart %s\n",
           stopfile, ckpt, ckpt);
    fflush(stdout);
  }
  BF_MPI(MPI_Barrier(comm));
  MPI_Finalize();
  exit(0);
}

static void rows(bf_ckpt *c, const bf_ensemble *ens, const char *name, int64_t ncols,
                 const double *data)
{
  if (ncols > 0) bf_ckpt_rows(c, name, ens->members, ncols, ens->first, ens->count, data);
}

/* A flow's arrays in a checkpoint: per-member rows (count x cols) or whole
 * arrays; one table serves writing and reading. */
typedef struct flow_array {
  const char *name;
  double *data;
  int64_t len;  /* whole arrays: length; rows: 0 */
  int64_t cols; /* rows: columns per member (0: K) */
} flow_array;

static int flow_arrays(const bf_train_job *job, const bf_flow_result *f, flow_array *a)
{
  int64_t K = f->K, nt = job->ds->ntest, n = 0;
  flow_array rows[] = {{"mse", f->mse_loc, 0, 0}, {"n_sloppy", f->nsl_loc, 0, 0},
                       {"n_zero", f->nz_loc, 0, 0}, {"pred_mean", f->pred_mean, K * nt, 0},
                       {"pred_var", f->pred_var, K * nt, 0}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) a[n++] = rows[i];
  if (f->npts) a[n++] = (flow_array){"g2pts", f->g2pts, K * f->npts * f->npts, 0};
  if (f->nprobe) a[n++] = (flow_array){"probe_pred", f->probe_loc, 0, K * f->nprobe};
  if (f->erg) {
    int64_t ns = job->mod->free_field->lat.nsites;
    flow_array erg[] = {{"pcut", f->pcut, K, 0}, {"m_eff", f->m_eff, K, 0},
                        {"m_err", f->m_err, K, 0}, {"Z", f->Z, K, 0}, {"m_hat", f->m_hat, K, 0},
                        {"zeta", f->zeta, K, 0}, {"zmax", f->zmax, K, 0}, {"g2", f->g2, K * ns, 0},
                        {"g2_err", f->g2_err, K * ns, 0},
                        {"g2_ref", f->g2_ref, K * ns, 0}, {"gq", f->gq, K * ns, 0},
                        {"gq_err", f->gq_err, K * ns, 0}, {"gq_ref", f->gq_ref, K * ns, 0}};
    for (size_t i = 0; i < sizeof erg / sizeof erg[0]; i++) a[n++] = erg[i];
  }
  return (int)n;
}

static void put_flow(bf_ckpt *c, const bf_train_job *job, const bf_flow_result *f, int i)
{
  flow_array a[32];
  char name[64];
  int n = flow_arrays(job, f, a);
  for (int j = 0; j < n; j++) {
    snprintf(name, sizeof name, "/flow%d/%s", i, a[j].name);
    if (a[j].len)
      bf_ckpt_whole(c, name, a[j].len, a[j].data);
    else
      rows(c, job->ens, name, a[j].cols ? a[j].cols : f->K, a[j].data);
  }
}

void bf_session_checkpoint(MPI_Comm comm, const bf_params *p, const bf_session *s,
                           const bf_train_job *job, int stage, int64_t train_step,
                           const bf_flow_result *flows, int nflows, int flow_index,
                           int flow_step)
{
  double t = bf_elapsed();
  const bf_ensemble *ens = job->ens;
  bf_ckpt *c = bf_ckpt_begin(comm, p->output);
  bf_ckpt_attr_string(c, "input", s->input_text);
  bf_ckpt_attr_string(c, "version", BF_VERSION);
  bf_ckpt_attr_int(c, "stage", stage);
  bf_ckpt_attr_int(c, "train_step", train_step);
  bf_ckpt_attr_int(c, "flow_index", flow_index);
  bf_ckpt_attr_int(c, "flow_step", flow_step);
  rows(c, ens, "/theta", ens->nparams, ens->theta);
  if (job->loss) rows(c, ens, "/loss", job->log.nrec, job->loss);
  if (job->diverged) rows(c, ens, "/diverged", 1, job->diverged);
  if (job->snap) rows(c, ens, "/snap", job->log.nrec * ens->nparams, job->snap);
  if (stage >= 1) {
    if (job->lambda) rows(c, ens, "/lambda", job->k, job->lambda);
    if (job->diag) rows(c, ens, "/diag", job->mod->Pt, job->diag);
    if (job->evec) rows(c, ens, "/evec", job->k * job->mod->Pt, job->evec);
    if (job->flow_lambda) rows(c, ens, "/flow_lambda", job->log.nrec * job->k, job->flow_lambda);
    if (job->scale > 0) {
      double r[25];
      memcpy(r, job->resolved, sizeof(double) * 24);
      r[24] = job->scale;
      bf_ckpt_whole(c, "/resolved", 25, r);
    }
  }
  for (int i = 0; stage == 2 && i <= flow_index && i < nflows; i++) put_flow(c, job, &flows[i], i);
  char path[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->output, path, prev, tmp, sizeof path);
  bf_ckpt_commit(&c);
  bf_log(comm, "checkpoint: %s (stage %d, %.2f s)", path, stage, bf_elapsed() - t);
}

/* ---- resuming ----------------------------------------------------------- */

void bf_session_load_training(bf_session *s, bf_train_job *job)
{
  const bf_ensemble *ens = job->ens;
  bf_ckpt_read_rows(s->resume, "/theta", ens->nparams, ens->first, ens->count, ens->theta);
  if (job->loss && bf_ckpt_has(s->resume, "/loss"))
    bf_ckpt_read_rows(s->resume, "/loss", job->log.nrec, ens->first, ens->count, job->loss);
  if (job->diverged && bf_ckpt_has(s->resume, "/diverged")) {
    bf_ckpt_read_rows(s->resume, "/diverged", 1, ens->first, ens->count, job->diverged);
    double n = 0;
    for (int64_t m = 0; m < ens->count; m++) n += job->diverged[m];
    BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_DOUBLE, MPI_SUM, ens->comm));
    job->n_diverged = (int64_t)n;
  }
  if (job->snap && bf_ckpt_has(s->resume, "/snap"))
    bf_ckpt_read_rows(s->resume, "/snap", job->log.nrec * ens->nparams, ens->first,
                      ens->count, job->snap);
}

void bf_session_load_metric(bf_session *s, bf_train_job *job)
{
  const bf_ensemble *ens = job->ens;
#define LOAD(n, field, ncols) \
  if (job->field && bf_ckpt_has(s->resume, n)) \
    bf_ckpt_read_rows(s->resume, n, ncols, ens->first, ens->count, job->field)
  LOAD("/lambda", lambda, job->k);
  LOAD("/diag", diag, job->mod->Pt);
  LOAD("/evec", evec, job->k * job->mod->Pt);
  LOAD("/flow_lambda", flow_lambda, job->log.nrec * job->k);
#undef LOAD
  if (bf_ckpt_has(s->resume, "/resolved")) {
    double r[25];
    bf_ckpt_read_whole(s->resume, "/resolved", 25, r);
    memcpy(job->resolved, r, sizeof(double) * 24);
    job->scale = r[24];
  }
}

void bf_session_load_flow(bf_session *s, const bf_train_job *job, bf_flow_result *f, int i)
{
  flow_array a[32];
  char name[64];
  int n = flow_arrays(job, f, a);
  for (int j = 0; j < n; j++) {
    snprintf(name, sizeof name, "/flow%d/%s", i, a[j].name);
    if (a[j].len)
      bf_ckpt_read_whole(s->resume, name, a[j].len, a[j].data);
    else
      bf_ckpt_read_rows(s->resume, name, a[j].cols ? a[j].cols : f->K, job->ens->first,
                        job->ens->count, a[j].data);
  }
}
