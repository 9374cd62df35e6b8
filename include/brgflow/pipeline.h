/* pipeline.h — one run: one chain of stages over one run context.
 *
 *   data -> sample -> restore -> train -> measure -> reference -> predict
 *        -> metric -> flow -> report -> write
 *
 * (restore: the driver's, src/run/run.c: allocate what a checkpoint fills,
 * then load it on --restart; predict: the infinite-width predictions at
 * the test points, src/train.)
 *
 * A bf_ctx holds the communicator and the validated parameters (the
 * caller's, which outlive it) and owns every stage's products.  Each stage
 * is `int bf_stage_NAME(bf_ctx *c)` in the folder of the module it belongs
 * to (data, train, predict: src/train; sample: src/nn; measure,
 * reference: src/nnft; metric: src/metric; flow: src/flow; report: src/run;
 * write: src/io), declared in that module's header; it does nothing
 * where the input does not ask for it and returns 0, BF_STOPPED when a
 * stop request came at one of its step boundaries, or BF_FAILED after the
 * one message of a collective error (bf_failed: bad input, an unusable
 * checkpoint, an unwritable output); the chain stops at the first nonzero
 * status and main exits with it.  Nothing below main exits.  The same chain runs a
 * prior ensemble (no data, no training), a trained one and its flows
 * (docs/theory.md o).
 *
 * The driver (src/run) owns checkpoints: a stage with step boundaries calls
 * bf_ctx_boundary there, and the driver writes a checkpoint when one is due
 * and says whether to stop; a restart's arrays are loaded by the driver
 * before the stages run, and c->resume tells the stages where to go on. */
#ifndef BRGFLOW_PIPELINE_H
#define BRGFLOW_PIPELINE_H

#include "brgflow/flow.h"
#include "brgflow/metric.h"
#include "brgflow/train.h"

/* Checkpoint stages: where a restart goes on. */
enum { BF_AT_TRAIN = 0, BF_AT_METRIC = 1, BF_AT_FLOW = 2 };

typedef struct bf_ctx bf_ctx;

/* The driver's part (src/run/session.c), NULL in tests run in-process. */
typedef struct bf_driver {
  /* At a step boundary (stage BF_AT_*, the training step done; the flows
   * so far, flow `flow_index` with `flow_step` steps done): checkpoint if
   * due; 0 to go on, else the status the stage returns: BF_STOPPED if a
   * stop was asked, BF_FAILED if the checkpoint could not be written. */
  int (*boundary)(bf_ctx *c, int stage, int64_t train_step, const bf_flow_result *flows,
                  int nflows, int flow_index, int flow_step);
  /* Restore flow i's arrays so far from the checkpoint. */
  void (*load_flow)(bf_ctx *c, bf_flow_result *f, int i);
  void *session;
} bf_driver;

struct bf_ctx {
  MPI_Comm comm;
  const bf_params *p;  /* the caller's, or kernel_p */
  bf_params kernel_p;  /* kernels_only: a copy of the caller's with training, metric
                          and flows off, so that no stage sizes or runs them */
  const bf_input *in; /* the input file (its text goes into the result); NULL in tests */
  int kernels_only;   /* `brgflow kernel`: the kernels at the points alone */
  bf_driver *driver;  /* NULL: no checkpoints, no stops */
  struct {            /* set by the driver from a checkpoint; active 0: none */
    int active, stage;
    int64_t train_step;        /* BF_AT_TRAIN: the next GD step or SGD epoch */
    int flow_index, flow_step; /* BF_AT_FLOW: the flow and step to run next */
  } resume;

  /* sample (src/nn) */
  bf_model *mod;
  bf_ensemble *ens;   /* NULL for kernels only */

  /* data (src/train): trained runs */
  bf_dataset *ds;
  const bf_dataset *fisher; /* the metric's points: ds, or fisher_own */
  bf_dataset *fisher_own;   /* [fisher] points = separate (x only), or NULL */
  double sigma;             /* likelihood sigma of the metric */
  double metric_sigma;      /* I = J^T J / metric_sigma^2: sigma (sum) or sigma sqrt(n_F) (mean) */
  double fisher_count;      /* n of p(Lambda): n_F (sum) or 1 (mean) */

  /* train (src/train) */
  bf_train_log log;
  double *loss;                 /* count x nrec */
  double *diverged;             /* count: 1 if dropped by on_divergence = drop */
  int64_t n_diverged;           /* over the ensemble */
  double *snap;                 /* count x nrec x P: theta along GD/SGD, or NULL */
  double *test_mean, *test_var; /* ensemble predictive, on test points */

  /* measure (src/nnft) at the [correlator] points: the prior or trained
   * ensemble, every rank */
  int n, nq;                         /* points, G4c quadruples */
  double *g2, *g2_err;               /* n x n */
  double *g4c, *g4c_err;             /* nq */
  /* ... and a prior cos-net on its lattice, by displacement (L^d) */
  bf_lattice lat;
  double *lat_g2, *lat_g2_err, *lat_g2_ref;

  /* reference (src/nnft, src/train): infinite-width limits */
  double *k_nngp, *k_ntk;       /* prior at the points: n x n kernels */
  /* kernels only: K_nngp and K_ntk block-cyclic on kernel_grid (no rank holds
   * n x n), and the entries the table prints, on every rank: K_nngp(i, i),
   * K_nngp(0, i), K_ntk(i, i), K_ntk(0, i), n each */
  bf_grid *kernel_grid;
  bf_dmat K_nngp, K_ntk;
  double *k_table;
  const char *lat_reference;    /* prior cos-net: which reference lat_g2_ref is */
  double zscore_max;            /* prior: max |G2 - reference| / stderr */
  int64_t zscore_at;            /* lattice: its displacement index */
  int z_i, z_j;                 /* points: its pair */
  double *ref_mean, *ref_var;   /* trained: the infinite-width predictions, or NULL */
  double dev_mean, dev_var;     /* max deviations from them */

  /* metric (src/metric) */
  int solver;                   /* BF_SOLVER_PRIMAL or _DUAL */
  int64_t k;                    /* eigenvalues per member */
  double *lambda;               /* count x k, descending */
  double *diag;                 /* count x Pt, or NULL */
  bf_grid *grid;                /* the metric's rank groups ([fisher] groups), or NULL */
  bf_evec_map *evec_map;        /* the layout of evec, or NULL */
  double *evec;                 /* eigenvectors (flow), or NULL: this rank's parameter
                                   rows of its group's members, count x rows x k
                                   (bf_evec_map, metric.h) */
  double *flow_lambda;          /* count x nrec x k: spectra along GD, or NULL */
  double resolved[8][3];        /* cos-net: n, p(Lambda) theory, ensemble */
  double scale;                 /* Lambda of resolved[] (0: not computed) */

  /* flow (src/flow) */
  bf_flow_result *flows;
  int nflows;

  double seconds_sample, seconds_measure, seconds_reference;
};

/* The context's table (src/run/context.c): the per-member arrays of the
 * train and metric stages (records, snapshots, spectra, diagonal metric)
 * with their shapes, result and checkpoint names, units and meaning; the
 * stages allocate from it, the write stage and the checkpoint read it.
 * Axes: R records, P parameters, A trained parameters, K eigenvalues, O one.
 * (theta lives in the ensemble, the eigenvectors in their own layout.) */
enum { BF_CTX_TRAINED = 1, BF_CTX_DESCENT = 2, BF_CTX_SNAP = 4, BF_CTX_METRIC = 8,
       BF_CTX_LAMBDA = 16, BF_CTX_DIAG = 32 };
extern const bf_field bf_ctx_fields[];
extern const int bf_ctx_nfields;
/* The axes and condition bits of c's table in this run (METRIC once the
 * metric stage has set k). */
void bf_ctx_sizes(const bf_ctx *c, bf_sizes *s);

/* An empty context for p on comm (nothing computed yet).  kernels_only
 * (`brgflow kernel`): c->p is the context's shallow copy of p with
 * training, metric and flows off; p's arrays are still read. */
bf_ctx *bf_ctx_create(MPI_Comm comm, const bf_params *p, int kernels_only);
/* Free every product. */
void bf_ctx_destroy(bf_ctx **c);
/* A stage's step boundary: 0 to go on (always, without a driver), else the
 * status the stage must return now: BF_STOPPED (the driver checkpointed
 * first where one was due) or BF_FAILED (that checkpoint failed). */
int bf_ctx_boundary(bf_ctx *c, int stage, int64_t train_step, const bf_flow_result *flows,
                    int nflows, int flow_index, int flow_step);
/* Does this run train, or measure a prior ensemble? */
int bf_ctx_trained(const bf_params *p);

#endif
