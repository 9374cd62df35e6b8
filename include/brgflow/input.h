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

#include "brgflow/flow_parms.h"
#include "brgflow/metric_parms.h"
#include "brgflow/nn_parms.h"
#include "brgflow/nnft_parms.h"
#include "brgflow/parms.h"
#include "brgflow/run_parms.h"
#include "brgflow/train_parms.h"

#define BF_MAX_SETS 64

/* Every parameter of a run, one section struct per input section group,
 * each owned by its module (MODULE_parms.h: the struct, the key rows and
 * the print and check verbs). */
struct bf_params {
  bf_run_parms run;         /* [run] */
  bf_net_parms net;         /* [network] */
  bf_cosnet_parms cosnet;   /* [cosnet] */
  bf_lattice_parms lattice; /* [lattice] */
  bf_ens_parms ens;         /* [ensemble] */
  bf_corr_parms corr;       /* [correlator] */
  bf_kernel_parms kernel;   /* [kernel] */
  bf_data_parms data;       /* [data] */
  bf_train_parms train;     /* [train] */
  bf_fisher_parms fisher;   /* [fisher] */
  bf_brg_parms brg;         /* [brg] */
};

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
