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

enum bf_momenta { BF_MOMENTA_LATTICE = 0, BF_MOMENTA_CONTINUUM = 1 };

typedef struct bf_params {
  /* [run] */
  uint64_t seed;
  char output[BF_PATH_MAX];
  /* [network] */
  char arch[BF_NAME_MAX];
  int d;
  int width;
  /* [cosnet] */
  double mass, cutoff, sigma_a;
  int momenta; /* enum bf_momenta */
  /* [lattice] */
  int sites;
  double spacing;
  /* [ensemble] */
  int members;
} bf_params;

typedef struct bf_input {
  bf_params p;
  char path[BF_PATH_MAX]; /* the input file as given */
  char *text;             /* effective input: every key, after --set */
} bf_input;

/* Command-line options of `brgflow run` that touch the input. */
typedef struct bf_run_options {
  const char *input_path;
  const char *sets[BF_MAX_SETS]; /* "section.key=value" */
  int nsets;
  int force; /* overwrite an existing output */
} bf_run_options;

/* Collective: rank 0 reads and validates, then broadcasts.  On bad input,
 * one message naming file, line and key, and every rank exits 1. */
bf_input *bf_input_read(MPI_Comm comm, const bf_run_options *opt);
void bf_input_destroy(bf_input **in);

/* What bf_input_parse checks of [run] output. */
enum bf_output_check {
  BF_OUTPUT_IGNORE = 0,  /* no file-system checks */
  BF_OUTPUT_REFUSE = 1,  /* an existing output is an error */
  BF_OUTPUT_REPLACE = 2, /* --force: an existing output will be replaced */
};

/* Rank-local pieces, exposed for tests.  bf_input_parse returns 0, or -1
 * with one message (file:line: [section] key = 'value': why) in err. */
int bf_input_parse(const char *path, const char *text, const char *const *sets,
                   int nsets, int output_check, bf_params *p, char *err,
                   size_t errlen);
char *bf_input_effective_text(const bf_params *p); /* malloc'd */
/* The key table as a Markdown table (docs/inputs.md is checked against it). */
void bf_input_print_keys(FILE *out);

#endif
