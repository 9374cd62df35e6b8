/* session.c — checkpoints, restarts and early termination of a run.
 *
 *   bf_session_checkpoint       the whole state so far, one generation
 *   bf_session_stop_point       stop cleanly at a step boundary if asked
 *   bf_session_install_signals  SIGTERM / SIGUSR1 set a flag, nothing more
 *   bf_session_resume           --restart: the newest generation that passes
 *                               every check against this run, else a clean exit
 *   bf_session_load_*           restore from it: training, metric, a flow
 *
 * Stages: 0 training (GD step, or SGD epoch, `train_step` next: SGD
 * resumes at an epoch boundary, whose order depends on (seed, member,
 * epoch) alone), 1 metric done, 2 flow
 * (flow `flow_index`, step `flow_step` next).  Every generation holds
 * everything a restart needs: the effective input, the stage, the members'
 * parameters, the metric, and the flows' observables so far.  One table of
 * arrays per stage serves writing, checking and reading, so a restore reads
 * exactly what was checked. */
#include "brgflow/checkpoint.h"
#include "brgflow/metric.h"
#include "brgflow/run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the flag lives in core (stop.c): stages without step boundaries poll it too */
void bf_session_install_signals(const bf_params *p)
{
  bf_stop_install();
  bf_stop_watch_file(p->output);
}

int bf_session_stop_point(MPI_Comm comm, const bf_params *p)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (!bf_stop_poll(comm)) return 0;
  char ckpt[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->output, ckpt, prev, tmp, sizeof ckpt);
  if (rank == 0) {
    unlink(bf_stop_file());
    printf("brgflow: stop requested (signal or %s): stopped after the last completed step.\n"
           "brgflow: checkpoint: %s\nbrgflow: continue with: brgflow run INPUT --restart %s\n",
           bf_stop_file(), ckpt, ckpt);
    fflush(stdout);
  }
  bf_stop_agree(1);
  return 1;
}

int bf_session_poll_stop(MPI_Comm comm)
{
  /* signals only: OUTPUT.stop asks for a stop with a checkpoint, and waits
   * for the next one (the metric's, in a flow run without training ones) */
  if (!bf_stop_poll_signal(comm)) return 0;
  bf_stop_agree(0);
  return 1;
}

/* A checkpointed array: per-member rows (members x cols, each rank its
 * own), a whole array (len values, the same on every rank), or blocks of
 * rows (nrows x cols; the eigenvectors, by parameter rows: bf_evec_map). */
typedef struct ckpt_array {
  char name[48];
  double *data;
  int64_t len;  /* whole arrays: length; rows: 0 */
  int64_t cols; /* rows: columns per member */
  const struct bf_evec_map *blocks; /* blocks: this rank's, else NULL */
} ckpt_array;

/* Enough for the training and metric arrays and four flows of 23. */
#define MAX_ARRAYS 128

static int add(ckpt_array *a, int n, int keep, const char *name, double *data, int64_t len,
               int64_t cols)
{
  if (!keep || (len == 0 && cols <= 0)) return n; /* not kept by this run */
  a[n] = (ckpt_array){"", data, len, cols, NULL};
  snprintf(a[n].name, sizeof a[n].name, "%s", name);
  return n + 1;
}

/* The training arrays, and from stage 1 on the metric's; r: 25 values of
 * the cos-net's resolved momenta and their scale. */
static int job_arrays(const bf_train_job *job, int stage, double *r, ckpt_array *a)
{
  const bf_ensemble *ens = job->ens;
  int64_t nrec = job->log.nrec, k = job->k, Pt = job->mod->Pt, P = ens->nparams;
  int n = add(a, 0, 1, "/theta", ens->theta, 0, P);
  n = add(a, n, job->loss != NULL, "/loss", job->loss, 0, nrec);
  n = add(a, n, job->diverged != NULL, "/diverged", job->diverged, 0, 1);
  n = add(a, n, job->snap != NULL, "/snap", job->snap, 0, nrec * P);
  if (stage < 1) return n;
  n = add(a, n, job->lambda != NULL, "/lambda", job->lambda, 0, k);
  n = add(a, n, job->diag != NULL, "/diag", job->diag, 0, Pt);
  /* (members Pt) x k: a member's vectors by parameter row, each rank its
   * rows (docs/outputs.md) */
  n = add(a, n, job->evec != NULL, "/evec", job->evec, 0, k);
  if (job->evec) a[n - 1].blocks = job->evec_map;
  n = add(a, n, job->flow_lambda != NULL, "/flow_lambda", job->flow_lambda, 0, nrec * k);
  n = add(a, n, job->mod->free_field != NULL, "/resolved", r, 25, 0);
  return n;
}

/* Flow i's arrays: f's shape (K, erg, npts, nq, nprobe) says which and how
 * large; its data pointers are NULL when only the shapes are checked.  The
 * measure stage's arrays are kept per step: a restart measures only the
 * steps it runs. */
static int flow_arrays(const bf_train_job *job, const bf_flow_result *f, int i, ckpt_array *a)
{
  int64_t K = f->K, nt = job->ds->ntest, ns = f->erg ? job->mod->free_field->lat.nsites : 0;
  int64_t n2 = (int64_t)f->npts * f->npts;
  int pts = f->npts > 0, erg = f->erg;
  struct { const char *name; double *data; int64_t len, cols; int keep; } t[] = {
      {"mse", f->mse_loc, 0, K, 1}, {"n_sloppy", f->nsl_loc, 0, K, 1},
      {"n_zero", f->nz_loc, 0, K, 1}, {"pred_mean", f->pred_mean, K * nt, 0, 1},
      {"pred_var", f->pred_var, K * nt, 0, 1}, {"g2pts", f->g2pts, K * n2, 0, pts},
      {"g2pts_err", f->g2pts_err, K * n2, 0, pts}, {"g4c", f->g4c, K * f->nq, 0, pts},
      {"g4c_err", f->g4c_err, K * f->nq, 0, pts},
      {"probe_pred", f->probe_loc, 0, K * f->nprobe, f->nprobe > 0},
      {"pcut", f->pcut, K, 0, erg}, {"m_eff", f->m_eff, K, 0, erg},
      {"m_err", f->m_err, K, 0, erg}, {"Z", f->Z, K, 0, erg}, {"m_hat", f->m_hat, K, 0, erg},
      {"zeta", f->zeta, K, 0, erg}, {"zmax", f->zmax, K, 0, erg},
      {"g2", f->g2, K * ns, 0, erg}, {"g2_err", f->g2_err, K * ns, 0, erg},
      {"g2_ref", f->g2_ref, K * ns, 0, erg}, {"gq", f->gq, K * ns, 0, erg},
      {"gq_err", f->gq_err, K * ns, 0, erg}, {"gq_ref", f->gq_ref, K * ns, 0, erg}};
  int n = 0;
  char name[48];
  for (size_t j = 0; j < sizeof t / sizeof t[0]; j++) {
    snprintf(name, sizeof name, "/flow%d/%s", i, t[j].name);
    n = add(a, n, t[j].keep, name, t[j].data, t[j].len, t[j].cols);
  }
  return n;
}

/* Rows of a blocks array: (members Pt) x cols. */
static int64_t block_rows(const bf_ensemble *ens, const ckpt_array *a)
{
  return ens->members * a->blocks->Pt;
}

static void put_arrays(bf_ckpt *c, const bf_ensemble *ens, const ckpt_array *a, int n)
{
  for (int i = 0; i < n; i++)
    if (a[i].len)
      bf_ckpt_whole(c, a[i].name, a[i].len, a[i].data);
    else if (a[i].blocks)
      bf_ckpt_blocks(c, a[i].name, block_rows(ens, &a[i]), a[i].cols, a[i].blocks->nblocks,
                     a[i].blocks->bfirst, a[i].blocks->bcount, a[i].data);
    else
      bf_ckpt_rows(c, a[i].name, ens->members, a[i].cols, ens->first, ens->count, a[i].data);
}

static int check_arrays(bf_ckpt *c, const bf_ensemble *ens, const ckpt_array *a, int n,
                        char *why, size_t nwhy)
{
  int ok = 1;
  for (int i = 0; ok && i < n; i++)
    ok = a[i].len ? bf_ckpt_check_whole(c, a[i].name, a[i].len, why, nwhy)
         : a[i].blocks ? bf_ckpt_check_blocks(c, a[i].name, block_rows(ens, &a[i]), a[i].cols,
                                              a[i].blocks->nblocks, a[i].blocks->bfirst,
                                              a[i].blocks->bcount, why, nwhy)
                       : bf_ckpt_check_rows(c, a[i].name, ens->members, a[i].cols,
                                            ens->first, ens->count, why, nwhy);
  return ok;
}

static void load_arrays(bf_ckpt *c, const bf_ensemble *ens, const ckpt_array *a, int n)
{
  for (int i = 0; i < n; i++)
    if (a[i].len)
      bf_ckpt_read_whole(c, a[i].name, a[i].len, a[i].data);
    else if (a[i].blocks)
      bf_ckpt_read_blocks(c, a[i].name, a[i].cols, a[i].blocks->nblocks, a[i].blocks->bfirst,
                          a[i].blocks->bcount, a[i].data);
    else
      bf_ckpt_read_rows(c, a[i].name, a[i].cols, ens->first, ens->count, a[i].data);
}

static void pack_resolved(const bf_train_job *job, double *r)
{
  memcpy(r, job->resolved, sizeof(double) * 24);
  r[24] = job->scale;
}

void bf_session_checkpoint(MPI_Comm comm, const bf_params *p, const bf_session *s,
                           const bf_train_job *job, int stage, int64_t train_step,
                           const bf_flow_result *flows, int nflows, int flow_index,
                           int flow_step)
{
  double t = bf_elapsed(), r[25];
  const bf_ensemble *ens = job->ens;
  ckpt_array a[MAX_ARRAYS];
  pack_resolved(job, r);
  int n = job_arrays(job, stage, r, a);
  for (int i = 0; stage == 2 && i <= flow_index && i < nflows; i++)
    n += flow_arrays(job, &flows[i], i, a + n);
  int64_t values = 0;
  for (int i = 0; i < n; i++)
    values += a[i].len ? a[i].len : (a[i].blocks ? block_rows(ens, &a[i]) : ens->members) * a[i].cols;
  bf_ckpt *c = bf_ckpt_begin(comm, p->output, values, n);
  bf_ckpt_attr_string(c, "input", s->input_text);
  bf_ckpt_attr_string(c, "version", BF_VERSION);
  bf_ckpt_attr_int(c, "stage", stage);
  bf_ckpt_attr_int(c, "train_step", train_step);
  bf_ckpt_attr_int(c, "flow_index", flow_index);
  bf_ckpt_attr_int(c, "flow_step", flow_step);
  put_arrays(c, ens, a, n);
  char path[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->output, path, prev, tmp, sizeof path);
  bf_ckpt_commit(&c);
  bf_log(comm, "checkpoint: %s (stage %d, %.2f s)", path, stage, bf_elapsed() - t);
}

/* ---- checking a generation ---------------------------------------------- */

/* The checkpoint's input against this run's, in the keys that change
 * results. */
static int check_input(const bf_session *s, bf_ckpt *c, char *why, size_t n)
{
  char *old = bf_ckpt_get_string(c, "input"), diff[4096] = "";
  if (old) bf_input_result_diff(old, s->input_text, diff, sizeof diff);
  if (!old) snprintf(why, n, "attribute input is missing or not a string");
  else if (diff[0])
    snprintf(why, n, "the input differs from the checkpoint's in keys that change results: %s",
             diff);
  free(old);
  return why[0] == '\0';
}

/* The attributes that drive the restore, in range for this input; into s. */
static int check_steps(const bf_params *p, bf_session *s, bf_ckpt *c, char *why, size_t n)
{
  static const char *name[4] = {"stage", "train_step", "flow_index", "flow_step"};
  int64_t v[4];
  for (int i = 0; i < 4; i++)
    if (!bf_ckpt_get_int(c, name[i], &v[i])) {
      snprintf(why, n, "attribute %s is missing or not an integer", name[i]);
      return 0;
    }
  int nflows = bf_flow_count(p), K = p->ncut > 0 ? p->ncut : p->cutoffs;
  int flows = p->brg && p->solver != BF_SOLVER_NONE, total = bf_train_length(p);
  /* stages 1 and 2 are written only by runs with a flow */
  int bad = v[0] < 0 || v[0] > 2 || (v[0] >= 1 && !flows) ? 0
            : v[1] < 0 || v[1] > total ? 1
            : v[0] == 2 && (v[2] < 0 || v[2] >= nflows) ? 2
            : v[0] == 2 && (v[3] < 0 || v[3] > K) ? 3 : -1;
  if (bad >= 0) {
    snprintf(why, n, "attribute %s = %lld is out of range for this input (stage 0..2, 1 and 2 "
             "only with a flow; train_step 0..%d, flow_index 0..%d, flow_step 0..%d)",
             name[bad], (long long)v[bad], total, nflows - 1, K);
    return 0;
  }
  s->stage = (int)v[0], s->train_step = v[1], s->flow_index = (int)v[2], s->flow_step = (int)v[3];
  return 1;
}

/* Every array the restore will read, present, shaped for this input and
 * matching its checksum: the job's, and flows 0..flow_index. */
static int check_restore(const bf_params *p, const bf_session *s, const bf_train_job *job,
                         bf_ckpt *c, char *why, size_t n)
{
  ckpt_array a[MAX_ARRAYS];
  double r[25];
  int na = job_arrays(job, s->stage, r, a);
  if (!check_arrays(c, job->ens, a, na, why, n)) return 0;
  for (int i = 0; s->stage == 2 && i <= s->flow_index; i++) {
    bf_flow_result f = {0};
    bf_flow_shape(p, job, &f);
    na = flow_arrays(job, &f, i, a);
    if (!check_arrays(c, job->ens, a, na, why, n)) return 0;
  }
  return 1;
}

static int check_generation(const bf_params *p, bf_session *s, const bf_train_job *job,
                            bf_ckpt *c, char *why, size_t n)
{
  why[0] = '\0';
  int ok = check_input(s, c, why, n) && check_steps(p, s, c, why, n);
  /* every rank read the same file; agree anyway, the checks below are collective */
  if (bf_ckpt_agree(c, !ok, why, n)) return 0;
  return check_restore(p, s, job, c, why, n);
}

void bf_session_resume(MPI_Comm comm, const bf_params *p, bf_session *s,
                       const bf_train_job *job)
{
  char path[2][1100], why[2][4600];
  snprintf(path[0], sizeof path[0], "%s", s->restart);
  bf_ckpt_prev_name(s->restart, path[1], sizeof path[1]);
  for (int g = 0; g < 2; g++) {
    bf_ckpt *c = bf_ckpt_open(comm, path[g], why[g], sizeof why[g]);
    if (c && check_generation(p, s, job, c, why[g], sizeof why[g])) {
      s->resume = c;
      bf_log(comm, "restart from %s: stage %d (%s)", path[g], s->stage,
             s->stage == 0 ? "training" : s->stage == 1 ? "metric done" : "flow");
      return;
    }
    bf_ckpt_close(&c);
    bf_log(comm, "checkpoint %s refused: %s%s", path[g], why[g],
           g == 0 ? "; trying the previous generation" : "");
  }
  bf_fail_if(comm, 1, "--restart %s: no usable checkpoint (%s: %s; %s: %s); nothing was "
             "read or overwritten", s->restart, path[0], why[0], path[1], why[1]);
}

/* ---- resuming ----------------------------------------------------------- */

void bf_session_load_training(bf_session *s, bf_train_job *job)
{
  ckpt_array a[MAX_ARRAYS];
  const bf_ensemble *ens = job->ens;
  load_arrays(s->resume, ens, a, job_arrays(job, 0, NULL, a));
  double n = 0;
  for (int64_t m = 0; m < ens->count; m++) n += job->diverged[m];
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_DOUBLE, MPI_SUM, ens->comm));
  job->n_diverged = (int64_t)n;
}

void bf_session_load_metric(bf_session *s, bf_train_job *job)
{
  ckpt_array a[MAX_ARRAYS];
  double r[25];
  int n0 = job_arrays(job, 0, r, a), n1 = job_arrays(job, 1, r, a);
  load_arrays(s->resume, job->ens, a + n0, n1 - n0);
  if (!job->mod->free_field) return;
  memcpy(job->resolved, r, sizeof(double) * 24);
  job->scale = r[24];
}

void bf_session_load_flow(bf_session *s, const bf_train_job *job, bf_flow_result *f, int i)
{
  ckpt_array a[MAX_ARRAYS];
  load_arrays(s->resume, job->ens, a, flow_arrays(job, f, i, a));
}
