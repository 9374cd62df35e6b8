/* input.h — the input file: key table, parsing, validation, broadcast.
 *
 * Input files are INI ([section] headers, `key = value` lines, any order).
 * Rank 0 reads and validates them; every rank then parses the validated
 * effective text, so all ranks hold identical parameters. */
#ifndef BRGFLOW_INPUT_H
#define BRGFLOW_INPUT_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#define BF_PATH_MAX 1024
#define BF_NAME_MAX 32
#define BF_MAX_SETS 64

#define BF_MAX_POINTS 256 /* correlator points */
#define BF_MAX_QUADS 64   /* G4c quadruples */

/* Enumerations: the index is the position in the key's choices. */
enum bf_arch { BF_ARCH_COSNET = 0, BF_ARCH_MLP = 1 };
enum bf_momenta { BF_MOMENTA_LATTICE = 0, BF_MOMENTA_CONTINUUM = 1 };
enum bf_param { BF_PARAM_NTK = 0, BF_PARAM_STANDARD = 1, BF_PARAM_UNSCALED = 2 };
enum bf_points { BF_POINTS_GRID = 0, BF_POINTS_LIST = 1 };
enum bf_quadrature { BF_QUAD_AUTO = 0, BF_QUAD_HERMITE = 1 };
enum bf_target { BF_TARGET_SIN = 0, BF_TARGET_POLY, BF_TARGET_GP, BF_TARGET_FILE,
                 BF_TARGET_EXPRESSION };
enum bf_data_points { BF_DATA_GRID = 0, BF_DATA_RANDOM, BF_DATA_LATTICE, BF_DATA_GAUSSIAN };
enum bf_method { BF_TRAIN_NONE = 0, BF_TRAIN_GD, BF_TRAIN_POSTERIOR, BF_TRAIN_SGD };
enum bf_order { BF_ORDER_FIXED = 0, BF_ORDER_SHUFFLED = 1 };
enum bf_loss { BF_LOSS_HALF_MSE = 0, BF_LOSS_MSE = 1 };
enum bf_trainable { BF_TRAIN_ALL = 0, BF_TRAIN_READOUT = 1 };
enum bf_solver { BF_SOLVER_NONE = 0, BF_SOLVER_AUTO, BF_SOLVER_PRIMAL, BF_SOLVER_DUAL };
enum bf_fisher_points { BF_FISHER_TRAIN = 0, BF_FISHER_SEPARATE = 1 };
enum bf_fisher_norm { BF_FISHER_SUM = 0, BF_FISHER_MEAN = 1 };
enum bf_basis { BF_BASIS_EIGEN = 0, BF_BASIS_DIAGONAL = 1 };
enum bf_bases { BF_BASES_EIGEN = 0, BF_BASES_DIAGONAL, BF_BASES_BOTH };
enum bf_prescriptions { BF_PRESC_RESAMPLE = 0, BF_PRESC_PRUNE, BF_PRESC_BOTH };
/* Activation choices, in the order of the activation table (nn.h). */
#define BF_ACTIVATION_CHOICES "relu|tanh|erf|gelu|sigmoid|cos|linear"

typedef struct bf_params {
  /* [run] */
  uint64_t seed;
  char output[BF_PATH_MAX];
  int save_theta; /* 1: write /ensemble/theta */
  int checkpoint_every; /* GD steps (SGD epochs) between checkpoints; 0: none in training */
  int checkpoint_flow_every; /* flow steps between checkpoints; 0: none in the flow */
  /* [network] */
  int arch; /* enum bf_arch */
  int d;
  int width;
  int depth;           /* MLP hidden layers (uniform case) */
  int activation;      /* index into the activation table (uniform case) */
  char widths[BF_PATH_MAX];      /* hidden widths "10, 10, 2000", or "none" */
  char activations[BF_PATH_MAX]; /* "linear, relu, relu", one, or "none" */
  int nobias;          /* 1: [network] bias = no */
  int parameterization; /* enum bf_param */
  double sigma_w, sigma_b;
  /* [cosnet] */
  double mass, cutoff, sigma_a;
  int momenta; /* enum bf_momenta */
  /* [lattice] */
  int sites;
  double spacing;
  /* [ensemble] */
  int members;
  /* [correlator] (MLP) */
  int points; /* enum bf_points */
  int count;
  double from, to;
  char direction[BF_PATH_MAX], list[BF_PATH_MAX], quadruples[BF_PATH_MAX];
  int blocks; /* jackknife blocks for G4c errors */
  /* [kernel] */
  int quadrature; /* enum bf_quadrature */
  int order;
  /* [data] */
  int target; /* enum bf_target */
  char data_file[BF_PATH_MAX];
  int n_train, n_test;
  double noise, domain;
  int data_points; /* enum bf_data_points */
  char data_mean[BF_PATH_MAX], data_cov[BF_PATH_MAX]; /* gaussian: as given */
  char expression[BF_PATH_MAX]; /* target = expression: f in x1 ... xd */
  /* [train] */
  int method;    /* enum bf_method */
  int trainable; /* enum bf_trainable */
  int on_divergence; /* 0 stop, 1 drop */
  double lr;
  int steps, record_every; /* record_every counts epochs for sgd */
  int loss;      /* enum bf_loss: the convention lr applies to */
  int batch, epochs; /* sgd: points per step, passes over the data */
  int sgd_order; /* enum bf_order */
  /* [fisher] */
  int solver; /* enum bf_solver */
  int basis;  /* enum bf_basis */
  double fisher_sigma; /* 0: the data noise */
  double scale;        /* information scale Lambda of the resolved momentum */
  int groups, block;
  int fisher_points; /* enum bf_fisher_points */
  int fisher_n;      /* separate: number of Fisher points n_F */
  int normalization; /* enum bf_fisher_norm */
  /* [brg] */
  int brg;        /* 1: run the coarse-graining flow */
  double lambda_min, lambda_max;
  int cutoffs;    /* K */
  int relative;   /* 1: cutoffs relative to each member's largest eigenvalue */
  int brg_basis;  /* enum bf_bases */
  int prescription; /* enum bf_prescriptions */
  double critical_tol;
  int bootstrap;
  char brg_cutoffs[BF_PATH_MAX]; /* explicit cutoff list, or "none" (the log grid) */
  double keep_mse_below; /* drop members with test_mse0 >= this; 0: keep all */
  char probe[BF_PATH_MAX];       /* test-point indices "i, j, ...", or "none" */
  /* Derived by validation: the hidden layers of a layer stack (nhidden = 0:
   * depth x width uniform), the correlator points (npoints x d, row-major)
   * and the G4c quadruples; for points = gaussian the mean mu (d) and the
   * lower Cholesky factor chol (d x d, row-major) of the covariance.  Heap
   * arrays: bf_params_free releases them. */
  int nhidden;
  int *hwidth, *hact;
  int npoints;
  double *x;
  int nquads;
  int quad[BF_MAX_QUADS][4];
  double *mu, *chol;
  /* [brg] cutoffs and probe, derived: ncut > 0 replaces the log grid of
   * count cutoffs with cut[0..ncut); probe_idx holds nprobe test points. */
  int ncut;
  double *cut;
  int nprobe;
  int *probe_idx;
} bf_params;

typedef struct bf_input {
  bf_params p;
  char path[BF_PATH_MAX]; /* the input file as given */
  char restart[BF_PATH_MAX]; /* --restart checkpoint, or empty */
  char *text;             /* effective input: every key, after --set */
} bf_input;

/* Command-line options of `brgflow run` that touch the input. */
typedef struct bf_run_options {
  const char *input_path;
  const char *sets[BF_MAX_SETS]; /* "section.key=value" */
  int nsets;
  int force; /* overwrite an existing output */
  const char *restart; /* --restart CKPT.h5, or NULL */
  int check_only; /* `brgflow check`: no output-file checks */
} bf_run_options;

/* Collective: rank 0 reads and validates, then broadcasts.  On bad input,
 * one message naming file, line and key, and NULL on every rank. */
bf_input *bf_input_read(MPI_Comm comm, const bf_run_options *opt);
void bf_input_destroy(bf_input **in);

/* What bf_input_parse checks of [run] output. */
enum bf_output_check {
  BF_OUTPUT_IGNORE = 0,  /* no file-system checks */
  BF_OUTPUT_REFUSE = 1,  /* an existing output is an error */
  BF_OUTPUT_REPLACE = 2, /* --force: an existing output will be replaced */
  BF_OUTPUT_RESTART = 3, /* --restart: refuse an existing output, allow checkpoints */
};

/* Rank-local pieces, exposed for tests.  bf_input_parse returns 0, or -1
 * with one message (file:line: [section] key = 'value': why) in err. */
int bf_input_parse(const char *path, const char *text, const char *const *sets,
                   int nsets, int output_check, bf_params *p, char *err,
                   size_t errlen);
char *bf_input_effective_text(const bf_params *p); /* malloc'd */
/* Free the derived arrays of parameters filled by bf_input_parse. */
void bf_params_free(bf_params *p);
/* The keys whose values differ between two effective texts, as
 * "section.key, ..." (empty if none), ignoring keys that cannot change
 * results (output, save_theta, checkpoint_every, fisher groups and block). */
void bf_input_result_diff(const char *a, const char *b, char *out, size_t n);
/* The key table as a Markdown table (docs/inputs.md is checked against it). */
void bf_input_print_keys(FILE *out);

#endif
