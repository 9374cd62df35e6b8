/* run.h — the driver: `brgflow run` and `brgflow kernel` as one chain of
 * stages over one run context (pipeline.h), with checkpoints, restarts and
 * stops (src/run/session.c) and the tables printed at the end
 * (src/run/report.c).
 *
 * The chain, in order (docs/theory.md o):
 *   data -> sample -> restore -> train -> measure -> reference -> predict
 *        -> metric -> flow -> report -> write
 * `restore` allocates every array a checkpoint can fill and, on --restart,
 * loads them; every other stage lives in its module's folder
 * (docs/theory.md o lists them). */
#ifndef BRGFLOW_RUN_H
#define BRGFLOW_RUN_H

#include "brgflow/input.h"
#include "brgflow/pipeline.h"

/* Collective: the chain for p up to and including the stage named `last`
 * ("sample", "train", "measure", "reference", "predict", "metric", "flow",
 * ...), in-process and without a driver (no checkpoints, no result file):
 * how tests look at every product.  kernels_only as `brgflow kernel`: the
 * chain runs on the context's shallow copy of p with training, metric and
 * flows off (bf_ctx_create).
 * Either way p's arrays (corr.x, brg.cut, ...) are read, not copied: keep p
 * alive until bf_ctx_destroy.  A stage that fails or stops aborts (tests
 * give valid parameters and no driver). */
bf_ctx *bf_chain(MPI_Comm comm, const bf_params *p, const char *last, int kernels_only);

/* Collective: the whole `brgflow run` for a validated input; returns the
 * exit status (0, BF_FAILED after the one message of a collective error,
 * or BF_STOPPED for a stop without a checkpoint). */
int bf_run(MPI_Comm comm, const bf_input *in);
/* Collective: `brgflow kernel`: infinite-width kernels only (arch = mlp;
 * no --restart); the exit status as bf_run's. */
int bf_run_kernels(MPI_Comm comm, const bf_input *in);

/* ---- checkpoints, restarts and stops (src/run/session.c) ----------------- */
/* A run's checkpoint session: where it resumes from, and what it writes. */
typedef struct bf_session {
  const char *input_text; /* effective input, stored in every checkpoint */
  const char *restart;    /* --restart checkpoint, or NULL / "" */
  struct bf_ckpt *resume; /* checkpoint to resume from, or NULL */
  int stage;              /* resume stage: BF_AT_TRAIN, _METRIC or _FLOW */
  int64_t train_step;     /* BF_AT_TRAIN: next GD step (SGD: next epoch) */
  int flow_index, flow_step; /* BF_AT_FLOW: flow and step to run next */
  bf_driver driver;       /* the hooks the stages call (pipeline.h) */
} bf_session;

/* Give c a driver: checkpoints at the stages' step boundaries when due,
 * stops on request (SIGTERM, SIGUSR1 or OUTPUT.stop). */
void bf_session_attach(bf_ctx *c, bf_session *s);
/* Collective, once every array a restore fills is allocated: s->restart,
 * else its previous generation, checked against this run (input,
 * attributes, every array the restore reads: present, shaped,
 * checksummed); then the training and metric arrays loaded and c->resume
 * set; 0.  A refusal is logged with its reason; if both fail, one message
 * and BF_FAILED, both files untouched. */
int bf_session_resume(bf_ctx *c, bf_session *s);
/* The run is complete: close the checkpoint, remove the spent generations. */
void bf_session_finish(bf_ctx *c, bf_session *s);

/* ---- the report stage (src/run/report.c) -------------------------------- */
/* The tables a run prints at its end (rank 0). */
int bf_stage_report(bf_ctx *c);

#endif
