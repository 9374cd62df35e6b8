/* session.c — the driver's checkpoints, restarts and early termination.
 *
 *   bf_session_attach   give a run context its driver: the hooks its stages
 *                       call at step boundaries (checkpoint when due, stop
 *                       when asked) and to restore a flow
 *   bf_session_resume   --restart: the newest generation that passes every
 *                       check against this run, else BF_FAILED after one
 *                       message; then the training and metric arrays restored
 *   bf_session_finish   the result is complete: the checkpoints are spent
 *
 * Stages (pipeline.h): BF_AT_TRAIN (GD step, or SGD epoch, `train_step`
 * next: SGD resumes at an epoch boundary, whose order depends on (seed,
 * member, epoch) alone), BF_AT_METRIC (metric done), BF_AT_FLOW (flow
 * `flow_index`, step `flow_step` next).  Every generation holds everything
 * a restart needs: the effective input, the stage, the members'
 * parameters, the metric, and the flows' observables so far.  One table of
 * arrays per stage serves writing, checking and reading, so a restore reads
 * exactly what was checked; a flow's rows come from its result table
 * (src/flow/table.c). */
#include "brgflow/checkpoint.h"
#include "brgflow/metric.h"
#include "brgflow/run.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* At a step boundary after its checkpoint: 1 if a stop was asked (signal
 * or OUTPUT.stop), with the message printed. */
static int stop_point(MPI_Comm comm, const bf_params *p)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (!bf_stop_poll(comm)) return 0;
  char ckpt[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->run.output, ckpt, prev, tmp, sizeof ckpt);
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

/* At a step boundary without a checkpoint ([run] checkpoint_every or
 * checkpoint_flow_every = 0): 1 if a signal asked for a stop; the run then
 * ends without a result and with status BF_STOPPED. */
static int poll_stop(MPI_Comm comm)
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

/* Enough for theta, every row of the context's table, the eigenvectors,
 * the resolved momenta and every row of four flows' tables (asserted where
 * the lists are built). */
#define MAX_ARRAYS 256

static int add(ckpt_array *a, int n, int keep, const char *name, double *data, int64_t len,
               int64_t cols)
{
  if (!keep || (len == 0 && cols <= 0)) return n; /* not kept by this run */
  a[n] = (ckpt_array){"", data, len, cols, NULL};
  snprintf(a[n].name, sizeof a[n].name, "%s", name);
  return n + 1;
}

/* The rows of a result table with a checkpoint name that the run has,
 * under prefix (`/flowI/`, or `/`); the data pointers may be NULL when
 * only the shapes are checked.  metric: 1, only the rows of the metric
 * stage (condition bit BF_CTX_METRIC); 0, only the others; -1, all. */
static int table_arrays(const bf_field *t, int nt, const void *owner, const bf_sizes *sz,
                        const char *prefix, int metric, ckpt_array *a)
{
  int n = 0;
  char name[48];
  for (int j = 0; j < nt; j++) {
    if (!t[j].ckpt || !bf_field_on(&t[j], sz)) continue;
    if (metric >= 0 && metric != ((t[j].when & BF_CTX_METRIC) != 0)) continue;
    BF_ASSERT(t[j].place != BF_RANK0); /* a checkpoint holds what every rank has */
    snprintf(name, sizeof name, "%s%s", prefix, t[j].ckpt);
    int64_t cols = bf_field_cols(&t[j], sz), rows = t[j].place == BF_MEMBER_ROWS;
    n = add(a, n, 1, name, *bf_field_data((void *)owner, &t[j]), rows ? 0 : cols,
            rows ? cols : 0);
  }
  return n;
}

/* The context's table rows (src/run/context.c) that the run has, those of
 * the metric stage (metric 1) or the others (metric 0). */
static int ctx_arrays(const bf_ctx *job, int metric, ckpt_array *a)
{
  bf_sizes sz;
  bf_ctx_sizes(job, &sz);
  return table_arrays(bf_ctx_fields, bf_ctx_nfields, job, &sz, "/", metric, a);
}

/* What training leaves: theta and the training rows of the context's table. */
static int training_arrays(const bf_ctx *job, ckpt_array *a)
{
  int n = add(a, 0, 1, "/theta", job->ens->theta, 0, job->ens->nparams);
  return n + ctx_arrays(job, 0, a + n);
}

/* What the metric stage adds: its rows of the table, the eigenvectors,
 * and r: 25 values of the cos-net's resolved momenta and their scale. */
static int metric_arrays(const bf_ctx *job, double *r, ckpt_array *a)
{
  int n = ctx_arrays(job, 1, a);
  /* (members Pt) x k: a member's vectors by parameter row, each rank its
   * rows (docs/outputs.md) */
  n = add(a, n, job->evec != NULL, "/evec", job->evec, 0, job->k);
  if (job->evec) a[n - 1].blocks = job->evec_map;
  return add(a, n, job->mod->free_field != NULL, "/resolved", r, 25, 0);
}

/* Every array a checkpoint at stage holds: the training's, and from stage
 * 1 on the metric's. */
static int job_arrays(const bf_ctx *job, int stage, double *r, ckpt_array *a)
{
  BF_ASSERT(1 + bf_ctx_nfields + 2 <= MAX_ARRAYS); /* theta, the table, evec, resolved */
  int n = training_arrays(job, a);
  return stage < BF_AT_METRIC ? n : n + metric_arrays(job, r, a + n);
}

/* Flow i's arrays: every row of the flow's table with a checkpoint name
 * (src/flow/table.c), as f's shape (K, erg, npts, nq, nprobe) gives them;
 * the data pointers are NULL when only the shapes are checked.  The
 * measure stage's arrays are kept per step: a restart measures only the
 * steps it runs. */
static int flow_arrays(const bf_params *p, const bf_ctx *job, const bf_flow_result *f,
                       int i, ckpt_array *a)
{
  bf_sizes sz;
  bf_flow_sizes(p, job, f, &sz);
  char prefix[24];
  snprintf(prefix, sizeof prefix, "/flow%d/", i);
  return table_arrays(bf_flow_fields, bf_flow_nfields, f, &sz, prefix, -1, a);
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

static void pack_resolved(const bf_ctx *job, double *r)
{
  memcpy(r, job->resolved, sizeof(double) * 24);
  r[24] = job->scale;
}

/* The whole state so far, one generation; BF_FAILED if it could not be
 * written (the previous generations intact). */
static int checkpoint(MPI_Comm comm, const bf_params *p, const bf_session *s,
                       const bf_ctx *job, int stage, int64_t train_step,
                       const bf_flow_result *flows, int nflows, int flow_index, int flow_step)
{
  double t = bf_elapsed(), r[25];
  const bf_ensemble *ens = job->ens;
  ckpt_array a[MAX_ARRAYS];
  pack_resolved(job, r);
  int n = job_arrays(job, stage, r, a);
  for (int i = 0; stage == 2 && i <= flow_index && i < nflows; i++) {
    BF_ASSERT(n + bf_flow_nfields <= MAX_ARRAYS); /* at most one per row of its table */
    n += flow_arrays(p, job, &flows[i], i, a + n);
  }
  int64_t values = 0;
  for (int i = 0; i < n; i++)
    values += a[i].len ? a[i].len : (a[i].blocks ? block_rows(ens, &a[i]) : ens->members) * a[i].cols;
  bf_ckpt *c = bf_ckpt_begin(comm, p->run.output, values, n);
  bf_ckpt_attr_string(c, "input", s->input_text);
  bf_ckpt_attr_string(c, "version", BF_VERSION);
  bf_ckpt_attr_int(c, "stage", stage);
  bf_ckpt_attr_int(c, "train_step", train_step);
  bf_ckpt_attr_int(c, "flow_index", flow_index);
  bf_ckpt_attr_int(c, "flow_step", flow_step);
  put_arrays(c, ens, a, n);
  char path[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->run.output, path, prev, tmp, sizeof path);
  if (bf_ckpt_commit(&c)) return BF_FAILED;
  bf_log(comm, "checkpoint: %s (stage %d, %.2f s)", path, stage, bf_elapsed() - t);
  return 0;
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
  int nflows = bf_flow_count(p), K = p->brg.ncut > 0 ? p->brg.ncut : p->brg.count;
  int flows = p->brg.on && p->fisher.solver != BF_SOLVER_NONE, total = bf_train_length(p);
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
static int check_restore(const bf_params *p, const bf_session *s, const bf_ctx *job,
                         bf_ckpt *c, char *why, size_t n)
{
  ckpt_array a[MAX_ARRAYS];
  double r[25];
  int na = job_arrays(job, s->stage, r, a);
  if (!check_arrays(c, job->ens, a, na, why, n)) return 0;
  for (int i = 0; s->stage == 2 && i <= s->flow_index; i++) {
    bf_flow_result f = {0};
    bf_flow_shape(p, job, &f);
    na = flow_arrays(p, job, &f, i, a);
    if (!check_arrays(c, job->ens, a, na, why, n)) return 0;
  }
  return 1;
}

static int check_generation(const bf_params *p, bf_session *s, const bf_ctx *job,
                            bf_ckpt *c, char *why, size_t n)
{
  why[0] = '\0';
  int ok = check_input(s, c, why, n) && check_steps(p, s, c, why, n);
  /* every rank read the same file; agree anyway, the checks below are collective */
  if (bf_ckpt_agree(c, !ok, why, n)) return 0;
  return check_restore(p, s, job, c, why, n);
}

/* s->resume from the newest usable generation, or BF_FAILED with one message. */
static int open_generation(MPI_Comm comm, const bf_params *p, bf_session *s,
                           const bf_ctx *job)
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
      return 0;
    }
    bf_ckpt_close(&c);
    bf_log(comm, "checkpoint %s refused: %s%s", path[g], why[g],
           g == 0 ? "; trying the previous generation" : "");
  }
  bf_failed(comm, 1, "--restart %s: no usable checkpoint (%s: %s; %s: %s); nothing was "
            "read or overwritten", s->restart, path[0], why[0], path[1], why[1]);
  return BF_FAILED;
}

/* ---- resuming ----------------------------------------------------------- */

static void load_training(bf_session *s, bf_ctx *job)
{
  ckpt_array a[MAX_ARRAYS];
  const bf_ensemble *ens = job->ens;
  load_arrays(s->resume, ens, a, training_arrays(job, a));
  double n = 0;
  for (int64_t m = 0; m < ens->count; m++) n += job->diverged[m];
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_DOUBLE, MPI_SUM, ens->comm));
  job->n_diverged = (int64_t)n;
}

static void load_metric(bf_session *s, bf_ctx *job)
{
  ckpt_array a[MAX_ARRAYS];
  double r[25];
  load_arrays(s->resume, job->ens, a, metric_arrays(job, r, a));
  if (!job->mod->free_field) return;
  memcpy(job->resolved, r, sizeof(double) * 24);
  job->scale = r[24];
}

static void load_flow(bf_ctx *c, bf_flow_result *f, int i)
{
  bf_session *s = c->driver->session;
  ckpt_array a[MAX_ARRAYS];
  load_arrays(s->resume, c->ens, a, flow_arrays(c->p, c, f, i, a));
}

int bf_session_resume(bf_ctx *c, bf_session *s)
{
  if (!s->restart || !s->restart[0]) return 0;
  if (open_generation(c->comm, c->p, s, c)) return BF_FAILED;
  load_training(s, c);
  if (s->stage >= BF_AT_METRIC) load_metric(s, c);
  c->resume.active = 1, c->resume.stage = s->stage, c->resume.train_step = s->train_step;
  c->resume.flow_index = s->flow_index, c->resume.flow_step = s->flow_step;
  return 0;
}

/* ---- the stages' hooks -------------------------------------------------- */

/* A step boundary: the checkpoint a stage is due (training: between chunks
 * of checkpoint_every; the metric, when a flow follows; a flow: every
 * checkpoint_flow_every steps and its last), then a stop if asked; without
 * checkpoints, a signal stops the run there, without a result.  0, or the
 * stage's status: BF_STOPPED, or BF_FAILED for a checkpoint not written. */
static int boundary(bf_ctx *c, int stage, int64_t train_step, const bf_flow_result *flows,
                    int nflows, int flow_index, int flow_step)
{
  bf_session *s = c->driver->session;
  const bf_params *p = c->p;
  int every = stage == BF_AT_TRAIN ? p->run.checkpoint_every : p->run.checkpoint_flow_every;
  int last = stage == BF_AT_TRAIN ? train_step >= bf_train_length(p)
             : stage == BF_AT_FLOW ? flow_step >= flows[flow_index].K : 1;
  if (stage != BF_AT_METRIC && every <= 0)
    return (!last || stage == BF_AT_TRAIN) && poll_stop(c->comm) ? BF_STOPPED : 0;
  int due = stage == BF_AT_METRIC ||
            (stage == BF_AT_TRAIN ? !last : flow_step % every == 0 || last);
  if (!due) return 0;
  if (checkpoint(c->comm, p, s, c, stage, train_step, flows, nflows, flow_index, flow_step))
    return BF_FAILED;
  return stop_point(c->comm, p) ? BF_STOPPED : 0;
}

void bf_session_attach(bf_ctx *c, bf_session *s)
{
  s->driver = (bf_driver){.boundary = boundary, .load_flow = load_flow, .session = s};
  c->driver = &s->driver;
  /* only runs with step boundaries can stop cleanly: the others keep the
   * default action of SIGTERM.  The flag lives in core (stop.c): stages
   * without step boundaries poll it too. */
  bf_stop_install();
  bf_stop_watch_file(c->p->run.output);
}

void bf_session_finish(bf_ctx *c, bf_session *s)
{
  bf_ckpt_close(&s->resume);
  int rank;
  BF_MPI(MPI_Comm_rank(c->comm, &rank));
  if (rank != 0) return; /* the result is complete: its checkpoints are spent */
  char path[1100], prev[1100], tmp[1100];
  bf_ckpt_names(c->p->run.output, path, prev, tmp, sizeof path);
  unlink(path), unlink(prev), unlink(tmp);
}
