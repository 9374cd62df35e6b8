/* run.c — the driver: `brgflow run` and `brgflow kernel` as one chain of
 * stages over one run context (run.h, pipeline.h).
 *
 *   bf_run          run the chain for a validated input, with checkpoints
 *                   when it trains, and end with the exit status (0,
 *                   BF_FAILED or BF_STOPPED)
 *   bf_run_kernels  the same chain for the infinite-width kernels alone
 *   bf_chain        the chain up to a named stage, in-process (tests) */
#include "brgflow/checkpoint.h"
#include "brgflow/io.h"
#include "brgflow/metric.h"
#include "brgflow/nnft.h"
#include "brgflow/run.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Before the stages that a checkpoint can resume: every array a restore
 * fills exists first (the checkpoint is checked against them before
 * anything is read), then, with a driver and --restart, the restore. */
static int restore(bf_ctx *c)
{
  bf_train_alloc(c);
  bf_metric_alloc(c);
  return c->driver ? bf_session_resume(c, c->driver->session) : 0;
}

/* The chain (docs/theory.md o): each stage skips itself where the input
 * does not ask for it. */
static const struct stage {
  const char *name;
  int (*run)(bf_ctx *c);
} CHAIN[] = {
  {"data", bf_stage_data},           /* src/train */
  {"sample", bf_stage_sample},       /* src/nn */
  {"restore", restore},              /* here */
  {"train", bf_stage_train},         /* src/train */
  {"measure", bf_stage_measure},     /* src/nnft */
  {"reference", bf_stage_reference}, /* src/nnft */
  {"predict", bf_stage_predict},     /* src/train */
  {"metric", bf_stage_metric},       /* src/metric */
  {"flow", bf_stage_flow},           /* src/flow */
  {"report", bf_stage_report},       /* src/run */
  {"write", bf_stage_write},         /* src/io */
};
enum { NSTAGES = sizeof CHAIN / sizeof CHAIN[0] };

/* Stages [0, upto] in order; the first nonzero status ends the chain. */
static int run_chain(bf_ctx *c, int upto)
{
  for (int i = 0; i <= upto && i < NSTAGES; i++) {
    int status = CHAIN[i].run(c);
    if (status) return status;
  }
  return 0;
}

bf_ctx *bf_chain(MPI_Comm comm, const bf_params *p, const char *last, int kernels_only)
{
  int upto = 0;
  while (upto < NSTAGES - 1 && strcmp(CHAIN[upto].name, last)) upto++;
  BF_ASSERT(!strcmp(CHAIN[upto].name, last));
  bf_ctx *c = bf_ctx_create(comm, p, kernels_only);
  BF_ASSERT(run_chain(c, upto) == 0);
  return c;
}

/* Error bars and the bootstrap of Lambda_C from fewer members than this
 * are statistically empty: allowed (quick looks, tests), but said. */
enum { FEW_MEMBERS = 10 };

static void warn_few_members(MPI_Comm comm, const bf_params *p)
{
  if (p->ens.members >= FEW_MEMBERS) return;
  bf_warn(comm, "[ensemble] members = %d < %d: the standard errors%s rest on too few members "
          "to mean much", p->ens.members, FEW_MEMBERS,
          p->brg.on && p->brg.bootstrap > 0 ? " and the bootstrap interval of Lambda_C" : "");
}

/* A stop request came back up from a stage.  At a checkpoint the stage has
 * said so (the driver's stop point): end with status 0.  Where no checkpoint
 * was written (the infinite-width kernels, which have no step boundary, or
 * a step boundary with checkpoints switched off): say so, write nothing,
 * and end with BF_STOPPED. */
static int stopped(MPI_Comm comm, const bf_params *p)
{
  int rank, checkpointed = bf_stopped_at_checkpoint();
  BF_MPI(MPI_Comm_rank(comm, &rank));
  char ckpt[1100], prev[1100], tmp[1100];
  bf_ckpt_names(p->run.output, ckpt, prev, tmp, sizeof ckpt);
  if (rank == 0 && !checkpointed) {
    printf("brgflow: stopped on request where no checkpoint is written (the infinite-width "
           "kernels, or [run] checkpoint_every / checkpoint_flow_every = 0): no result; rerun "
           "the stage\n");
    if (access(ckpt, F_OK) == 0)
      printf("brgflow: the checkpoint %s holds an earlier step: --restart %s resumes there\n",
             ckpt, ckpt);
    fflush(stdout);
  }
  return checkpointed ? 0 : BF_STOPPED;
}

/* One chain for every run: a prior ensemble, a trained one and its flows,
 * or (kernels_only) the kernels alone.  Runs that train get a driver. */
static int run(MPI_Comm comm, const bf_input *in, int kernels_only)
{
  bf_ctx *c = bf_ctx_create(comm, &in->p, kernels_only);
  const bf_params *p = c->p; /* kernels only: training, metric and flows off */
  c->in = in;
  bf_session sess = {.input_text = in->text, .restart = in->restart};
  if (bf_ctx_trained(p)) bf_session_attach(c, &sess);
  int status = run_chain(c, NSTAGES - 1);
  if (status == 0 && c->driver) bf_session_finish(c, &sess);
  if (status) bf_ckpt_close(&sess.resume);
  if (status == BF_STOPPED) status = stopped(comm, p);
  bf_ctx_destroy(&c);
  return status;
}

/* A run that writes no checkpoints has nothing to restart from. */
static int refuse_restart(MPI_Comm comm, const bf_input *in, const char *what)
{
  return bf_failed(comm, in->restart[0] != 0,
                   "--restart %s: %s writes no checkpoints; run it without --restart",
                   in->restart, what);
}

int bf_run_kernels(MPI_Comm comm, const bf_input *in)
{
  const bf_params *p = &in->p;
  bf_model *probe = bf_model_create(p);
  int field = probe->free_field != NULL;
  bf_model_destroy(&probe);
  if (refuse_restart(comm, in, "`brgflow kernel`")) return BF_FAILED;
  if (bf_failed(comm, field,
                "%s: [network] arch: `brgflow kernel` needs arch = mlp (a model with "
                "infinite-width kernels at points)", in->path))
    return BF_FAILED;
  bf_log(comm, "brgflow %s kernel: %d points", BF_VERSION, p->corr.npoints);
  if (bf_ctx_trained(p))
    bf_warn(comm, "%s: `brgflow kernel` computes the prior's infinite-width kernels only; "
            "the input's [train], [brg] and [fisher] keys are not used, but for [fisher] block "
            "(the kernels' block size); `brgflow run` uses them",
            in->path);
  return run(comm, in, 1);
}

int bf_run(MPI_Comm comm, const bf_input *in)
{
  const bf_params *p = &in->p;
  if (!bf_ctx_trained(p) && refuse_restart(comm, in, "this run (no training, no metric)"))
    return BF_FAILED;
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  bf_model *mod = bf_model_create(p);
  bf_log(comm, "brgflow %s: %s; E = %d members, on %d rank%s", BF_VERSION, mod->describe,
         p->ens.members, size, size > 1 ? "s" : "");
  bf_model_destroy(&mod);
  warn_few_members(comm, p);
  return run(comm, in, 0);
}
