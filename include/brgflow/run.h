/* run.h — the pipeline drivers: sample -> measure -> write.
 *
 * A job struct holds what a stage produced, so tests can run the pipeline
 * in-process and look at every figure the result file would hold. */
#ifndef BRGFLOW_RUN_H
#define BRGFLOW_RUN_H

#include "brgflow/input.h"
#include "brgflow/nn.h"
#include "brgflow/train.h"

typedef struct bf_cosnet_job {
  bf_lattice lat;
  bf_model *mod;
  const bf_cosnet *net; /* mod's free field */
  bf_ensemble *ens;
  double *g2, *g2_err, *g2_ref; /* L^d each, by displacement, on every rank */
  const char *reference;        /* which reference g2_ref is */
  double zscore_max;
  int64_t zscore_at;            /* displacement index of zscore_max */
  double seconds_sample, seconds_measure, seconds_reference;
} bf_cosnet_job;

/* Collective: sample the ensemble, estimate G2, build its reference. */
bf_cosnet_job *bf_cosnet_job_run(MPI_Comm comm, const bf_params *p);
void bf_cosnet_job_destroy(bf_cosnet_job **job);

typedef struct bf_mlp_job {
  bf_model *mod;
  bf_ensemble *ens;  /* NULL for kernels only */
  int n, nq;         /* points, G4c quadruples */
  double *g2, *g2_err, *k_nngp, *k_ntk; /* n x n */
  double *g4c, *g4c_err;                /* nq */
  double zscore_max; /* max over i <= j of |G2 - K_nngp| / G2_err */
  int z_i, z_j;
  double seconds_sample, seconds_measure, seconds_kernels;
} bf_mlp_job;

/* Collective: kernels at the [correlator] points and, unless kernels_only,
 * the ensemble's G2 and G4c there. */
bf_mlp_job *bf_mlp_job_run(MPI_Comm comm, const bf_params *p, int kernels_only);
void bf_mlp_job_destroy(bf_mlp_job **job);

typedef struct bf_train_job {
  bf_model *mod;
  bf_dataset *ds;
  bf_ensemble *ens;
  bf_train_log log;
  double *loss;                 /* count x nrec */
  double *diverged;             /* count: 1 if dropped by on_divergence = drop */
  int64_t n_diverged;           /* over the ensemble */
  double *test_mean, *test_var; /* ensemble predictive, on test points */
  double *ref_mean, *ref_var;   /* infinite-width references, or NULL */
  double dev_mean, dev_var;     /* max deviations from them */
  double sigma;                 /* likelihood sigma of the metric */
  const bf_dataset *fisher;     /* the metric's points: ds, or fisher_own */
  bf_dataset *fisher_own;       /* [fisher] points = separate (x only), or NULL */
  double metric_sigma;          /* I = J^T J / metric_sigma^2: sigma (sum) or
                                   sigma sqrt(n_F) (mean) */
  double fisher_count;          /* n of p(Lambda): n_F (sum) or 1 (mean) */
  int solver;                   /* BF_SOLVER_PRIMAL or _DUAL */
  int64_t k;                    /* eigenvalues per member */
  double *lambda;               /* count x k, descending */
  double *diag;                 /* count x Pt, or NULL */
  struct bf_grid *grid;         /* the metric's rank groups ([fisher] groups), or NULL */
  struct bf_evec_map *evec_map; /* the layout of evec, or NULL */
  double *evec;                 /* eigenvectors (flow), or NULL: this rank's parameter
                                   rows of its group's members, count x rows x k
                                   (bf_evec_map, metric.h) */
  double *snap;                 /* count x nrec x P: theta along GD/SGD, or NULL */
  double *flow_lambda;          /* count x nrec x k: spectra along GD, or NULL */
  double resolved[8][3];        /* cos-net: n, p(Lambda) theory, ensemble */
  double scale;                 /* Lambda of resolved[] (0: not computed) */
  /* the measure stage after training, at the [correlator] points (MLP;
   * NULL for the cos-net): n x n and nquads, every rank */
  double *g2, *g2_err, *g4c, *g4c_err;
} bf_train_job;

typedef struct bf_flow_result bf_flow_result;

/* A run's checkpoint session: where it resumes from, and what it writes. */
typedef struct bf_session {
  const char *input_text; /* effective input, stored in every checkpoint */
  const char *restart;    /* --restart checkpoint, or NULL / "" */
  struct bf_ckpt *resume; /* checkpoint to resume from, or NULL */
  int stage;              /* resume stage: 0 training, 1 metric done, 2 flow */
  int64_t train_step;     /* stage 0: next GD step (SGD: next epoch) */
  int flow_index, flow_step; /* stage 2: flow and step to run next */
} bf_session;

/* Collective: data, sample, train, infinite-width check, Fisher metric;
 * checkpoints along the way, resuming from s->resume. */
bf_train_job *bf_train_job_run(MPI_Comm comm, const bf_params *p, bf_session *s);
/* Collective: a checkpoint of the whole state so far (stage as given). */
void bf_session_checkpoint(MPI_Comm comm, const bf_params *p, const bf_session *s,
                           const bf_train_job *job, int stage, int64_t train_step,
                           const bf_flow_result *flows, int nflows,
                           int flow_index, int flow_step);
/* Collective, at a step boundary after its checkpoint: 1 if a stop was
 * asked for (signal or OUTPUT.stop), with the message printed; the caller
 * returns, and so does every stage above it (bf_stopped()). */
int bf_session_stop_point(MPI_Comm comm, const bf_params *p);
/* Collective, at a step boundary without a checkpoint ([run] checkpoint_every
 * or checkpoint_flow_every = 0): 1 if a signal asked for a stop; the run
 * then ends without a result and with status BF_STOPPED.  (A stop file
 * waits for the next checkpoint.) */
int bf_session_poll_stop(MPI_Comm comm);
void bf_session_install_signals(const bf_params *p);
/* Collective, once the job's arrays are allocated (before anything is
 * read into them): s->restart, else its previous generation, checked
 * against this run (input, attributes, every array the restore reads:
 * present, shaped, checksummed) into s->resume and s->stage...; a
 * refusal is logged with its reason; if both fail, one message and a
 * clean exit, both files untouched. */
void bf_session_resume(MPI_Comm comm, const bf_params *p, bf_session *s,
                       const bf_train_job *job);
/* Restore from s->resume: parameters and training records; the metric;
 * flow i's observables so far. */
void bf_session_load_training(bf_session *s, bf_train_job *job);
void bf_session_load_metric(bf_session *s, bf_train_job *job);
void bf_session_load_flow(bf_session *s, const bf_train_job *job,
                          bf_flow_result *f, int i);
void bf_train_job_destroy(bf_train_job **job);

/* LAPACK dsyevd: A (n x n, symmetric) -> eigenvectors (column j = A[j n..]),
 * eigenvalues w ascending.  Serial, replicated: tests and small matrices. */
void bf_sym_eigen(int n, double *A, double *w);

/* One (basis, prescription) coarse-graining flow's results. */
struct bf_flow_result {
  char name[32]; /* "eigen_resample", ... */
  int basis, prune, K;
  double *cut;                  /* K cutoffs (relative: x lambda_max) */
  double *n_sloppy, *mse, *n_zero; /* K x E, rank 0 only */
  double *mse0;                 /* E uncoarsened test MSE, rank 0 only */
  double *pred_mean, *pred_var; /* K x n_test, over the kept members */
  double *mse_mean;             /* K: mean test MSE over the kept members, rank 0 only */
  double *kept;                 /* E: 1 kept, 0 dropped ([brg] keep_mse_below), every rank */
  int64_t n_kept;               /* members in the ensemble statistics */
  int nprobe;                   /* [brg] probe test points */
  double *probe_loc;            /* this rank's members' predictions there: count x K x nprobe */
  double *probe_pred;           /* K x E x nprobe, rank 0 only */
  int crit;                     /* step of Lambda_C, -1 if not reached */
  double lc, lc_lo, lc_hi;      /* Lambda_C and its bootstrap interval */
  int erg;                      /* cos-net on the full lattice: ERG checks */
  double *pcut, *m_eff, *m_err, *Z, *m_hat, *zeta, *zmax; /* K */
  double *mse_inf, *var_inf;    /* infinite-width curves: K, K x n_test, or NULL */
  double *mse_loc, *nsl_loc, *nz_loc; /* this rank's members: count x K */
  int npts, nq;                 /* MLP: correlator points, G4c quadruples (0: cos-net) */
  double *g2pts, *g2pts_err;    /* MLP: G2 +- stderr at the correlator points, K x n x n */
  double *g4c, *g4c_err;        /* MLP: G4c +- jackknife on the quadruples, K x nq */
  double *g2, *g2_err, *g2_ref, *gq, *gq_err, *gq_ref;    /* K x L^d */
};

/* Collective: every (basis, prescription) the input asks for; returns how
 * many results *out holds. */
int bf_flow_run(MPI_Comm comm, const bf_params *p, const bf_train_job *job,
                bf_session *s, bf_flow_result **out);
void bf_flow_results_destroy(bf_flow_result **r, int n);
/* How many flows the input asks for; a flow's shape (K, erg, npts, nq, nprobe),
 * the same for each. */
int bf_flow_count(const bf_params *p);
void bf_flow_shape(const bf_params *p, const bf_train_job *job, bf_flow_result *f);

/* Collective: the whole `brgflow run` for a validated input; returns 0. */
int bf_run(MPI_Comm comm, const bf_input *in);
/* Collective: `brgflow kernel`: infinite-width kernels only (arch = mlp). */
int bf_run_kernels(MPI_Comm comm, const bf_input *in);

#endif
