/* main.c — the brgflow command: subcommands only.
 *
 *   brgflow run INPUT.ini [--set section.key=value]... [--force]
 *   brgflow info FILE.h5
 *   brgflow check INPUT.ini [--set section.key=value]...
 *   brgflow keys
 *   brgflow --help | --version */
#include "brgflow/core.h"
#include "brgflow/input.h"
#include "brgflow/io.h"
#include "brgflow/run.h"

#include <cblas.h>
#include <fftw3-mpi.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: mpirun -np K brgflow run INPUT.ini [--set section.key=value]... [--force]\n"
    "                                [--restart OUTPUT.ckpt.h5]\n"
    "       mpirun -np K brgflow kernel INPUT.ini [--set ...]... [--force]\n"
    "       brgflow info FILE.h5\n"
    "       brgflow check INPUT.ini [--set ...]...\n"
    "       brgflow keys\n"
    "       brgflow --help | --version\n";

static const char *HELP =
    "\n"
    "brgflow: Bayesian renormalization-group flows of neural-network field theories.\n"
    "\n"
    "Commands\n"
    "  run INPUT.ini   sample the ensemble the input describes, measure its\n"
    "                  correlators against their references, write an HDF5 result.\n"
    "                  --set section.key=value  override one input key (repeatable)\n"
    "                  --force                  replace an existing output file\n"
    "                  --restart CKPT.h5        continue a run from its checkpoint (any\n"
    "                                           number of ranks; same input)\n"
    "  kernel INPUT.ini  (arch = mlp) the infinite-width NNGP kernel and NTK at\n"
    "                  the [correlator] points only, no ensemble: fast theory side.\n"
    "  info FILE.h5    print what a result file holds: the input it was run with,\n"
    "                  version, ranks, every dataset with shape and units, and the\n"
    "                  headline figures (attributes such as /nnft zscore_max).\n"
    "  check INPUT.ini  read and validate the input as `run` would (every rule,\n"
    "                  every --set), print 'INPUT.ini: ok', and run nothing; the\n"
    "                  output file may exist.\n"
    "  keys            print every input key with default, unit and meaning.\n"
    "\n"
    "Input files are INI: [section] headers, `key = value` lines, any order; see\n"
    "docs/inputs.md.  Outputs are described in docs/outputs.md.\n"
    "\n"
    "Checkpoints and early termination: training, metric and flow runs write\n"
    "OUTPUT.ckpt.h5 (and the previous generation OUTPUT.ckpt.prev.h5) after every\n"
    "[run] checkpoint_every GD steps, after the metric (flow runs) and every\n"
    "[run] checkpoint_flow_every coarse-graining steps and at a flow's last.\n"
    "SIGTERM or SIGUSR1 (what Slurm sends before a time limit), or a file\n"
    "OUTPUT.stop, stops such a run cleanly at its next checkpoint with exit status\n"
    "0 and a message naming it (status 3, no checkpoint, inside the infinite-width\n"
    "kernels or with checkpoints off).  Prior ensembles and `brgflow kernel` end at\n"
    "once on SIGTERM.  Checkpoints are removed when the result is complete.\n"
    "\n"
    "Example:  mpirun -np 2 bin/brgflow run inputs/cosnet_free.ini --set run.seed=7\n"
    "Results do not depend on the number of ranks (eigen-basis flows: to ~1e-5,\n"
    "the rounding of near-null eigenvectors; docs/theory.md).\n"
    "\n"
    "Exit status: 0 on success, and after a stop at a checkpoint; 1 on bad input, an\n"
    "unusable checkpoint or an unwritable output (one message naming file, line,\n"
    "key); 2 on an internal error; 3 stopped where no checkpoint is written (the\n"
    "infinite-width kernels, or checkpoints switched off), with no result.\n";

static const char *RUN_HELP =
    "\n"
    "brgflow run INPUT.ini: the whole pipeline the input asks for: sample the\n"
    "ensemble, measure its correlators, train, compute the Fisher metric, run the\n"
    "coarse-graining flows, write one HDF5 result ([run] output).\n"
    "  --set section.key=value  override one input key (repeatable); the result's\n"
    "                           /config input attribute records the merged input\n"
    "  --force                  replace an existing output file\n"
    "  --restart CKPT.h5        continue from a checkpoint (OUTPUT.ckpt.h5, not the\n"
    "                           result file); same input, any number of ranks\n"
    "A run that trains stops cleanly at the next step boundary on SIGTERM, SIGUSR1\n"
    "or a file OUTPUT.stop, leaving a checkpoint (status 0); inside the infinite-\n"
    "width kernels or with checkpoints off, within seconds and without one\n"
    "(status 3).  A prior ensemble ends at once on SIGTERM, with no result.\n"
    "Keys: `brgflow keys`, docs/inputs.md.\n";

static const char *KERNEL_HELP =
    "\n"
    "brgflow kernel INPUT.ini: (arch = mlp) only the infinite-width NNGP kernel and\n"
    "NTK at the [correlator] points, no ensemble.  Options as for `run`, without\n"
    "--restart.  Output: /nnft/K_nngp and /nnft/K_ntk in [run] output\n"
    "(docs/outputs.md).\n";

static const char *INFO_HELP =
    "\n"
    "brgflow info FILE.h5: print what a result or checkpoint file holds: the input\n"
    "it was run with, version, ranks, every dataset with shape and units, and the\n"
    "headline attributes.  Runs on one process; needs no mpirun.\n";

/* `brgflow CMD --help`: the command's own help, or NULL if none was asked. */
static const char *command_help(int argc, char **argv)
{
  if (argc < 3 || (strcmp(argv[2], "--help") && strcmp(argv[2], "-h"))) return NULL;
  if (!strcmp(argv[1], "run")) return RUN_HELP;
  if (!strcmp(argv[1], "kernel")) return KERNEL_HELP;
  if (!strcmp(argv[1], "info")) return INFO_HELP;
  return NULL;
}

static int parse_run_args(int argc, char **argv, bf_run_options *opt, char *err,
                          size_t n)
{
  memset(opt, 0, sizeof *opt);
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--force")) {
      opt->force = 1;
    } else if (!strcmp(argv[i], "--restart")) {
      if (i + 1 >= argc) return snprintf(err, n, "--restart needs a checkpoint file"), -1;
      opt->restart = argv[++i];
    } else if (!strcmp(argv[i], "--set")) {
      if (i + 1 >= argc) return snprintf(err, n, "--set needs section.key=value"), -1;
      if (opt->nsets == BF_MAX_SETS) return snprintf(err, n, "too many --set options"), -1;
      opt->sets[opt->nsets++] = argv[++i];
    } else if (!strncmp(argv[i], "--set=", 6)) {
      if (opt->nsets == BF_MAX_SETS) return snprintf(err, n, "too many --set options"), -1;
      opt->sets[opt->nsets++] = argv[i] + 6;
    } else if (argv[i][0] == '-' || opt->input_path) {
      return snprintf(err, n, "run: unexpected argument '%s'\n%s", argv[i], USAGE), -1;
    } else {
      opt->input_path = argv[i];
    }
  }
  if (!opt->input_path) return snprintf(err, n, "run: no input file\n%s", USAGE), -1;
  return 0;
}

/* `brgflow run` and `brgflow kernel`: the run's exit status. */
static int cmd_run(MPI_Comm comm, int argc, char **argv, int kernels_only)
{
  bf_run_options opt;
  char err[2048] = "";
  int bad = parse_run_args(argc, argv, &opt, err, sizeof err);
  if (bf_failed(comm, bad, "%s", err)) return BF_FAILED;
  bf_input *in = bf_input_read(comm, &opt);
  if (!in) return BF_FAILED;
  int status = kernels_only ? bf_run_kernels(comm, in) : bf_run(comm, in);
  bf_mem_report(comm); /* every run: its peak beside its estimate (core.h) */
  bf_input_destroy(&in);
  return status;
}

/* `brgflow check`: the input's refusals without a run (a dry parse). */
static int cmd_check(MPI_Comm comm, int argc, char **argv)
{
  bf_run_options opt;
  char err[2048] = "";
  int bad = parse_run_args(argc, argv, &opt, err, sizeof err);
  if (bf_failed(comm, bad, "%s", err)) return BF_FAILED;
  opt.check_only = 1;
  bf_input *in = bf_input_read(comm, &opt);
  if (!in) return BF_FAILED;
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) printf("%s: ok\n", in->path);
  bf_input_destroy(&in);
  return 0;
}

/* A command line that names no command brgflow knows. */
static int cmd_unknown(MPI_Comm comm, const char *cmd)
{
  if (*cmd) bf_failed(comm, 1, "unknown command '%s'\n%s", cmd, USAGE);
  else bf_failed(comm, 1, "no command\n%s", USAGE);
  return BF_FAILED;
}

int main(int argc, char **argv)
{
  BF_MPI(MPI_Init(&argc, &argv));
  MPI_Comm comm = MPI_COMM_WORLD;
  bf_error_comm(comm);
  fftw_mpi_init();
  /* Ranks are the parallelism; one BLAS thread each keeps cores free and
   * every dgemm's summation order fixed. */
  openblas_set_num_threads(1);
  bf_log_start();
  int rank, status = 0;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  const char *cmd = argc > 1 ? argv[1] : "";

  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (rank == 0) printf("%s%s", USAGE, HELP);
  } else if (command_help(argc, argv)) {
    if (rank == 0) printf("%s%s", USAGE, command_help(argc, argv));
  } else if (!strcmp(cmd, "--version")) {
    if (rank == 0) printf("brgflow %s\n", BF_VERSION);
  } else if (!strcmp(cmd, "run")) {
    status = cmd_run(comm, argc, argv, 0);
  } else if (!strcmp(cmd, "kernel")) {
    status = cmd_run(comm, argc, argv, 1);
  } else if (!strcmp(cmd, "info") && argc != 3) {
    bf_failed(comm, 1, "info needs exactly one file: brgflow info FILE.h5");
    status = BF_FAILED;
  } else if (!strcmp(cmd, "info")) {
    if (rank == 0) status = bf_info(argv[2], stdout);
    BF_MPI(MPI_Bcast(&status, 1, MPI_INT, 0, comm));
  } else if (!strcmp(cmd, "check")) {
    status = cmd_check(comm, argc, argv);
  } else if (!strcmp(cmd, "keys")) {
    if (rank == 0) bf_input_print_keys(stdout);
  } else {
    status = cmd_unknown(comm, cmd);
  }
  /* every command returns here: the one MPI_Finalize and the one exit */
  fftw_mpi_cleanup();
  MPI_Finalize();
  return status;
}
