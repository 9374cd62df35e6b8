/* fuzz_ckpt.c — the checkpoint reader (bf_ckpt_open: open and verify) on
 * arbitrary bytes written to a temporary file.  Any file must be opened or
 * refused with a reason, never crash; a file that opens also goes through
 * the dataset checks (bf_ckpt_check_rows/whole).  One rank: MPI is initialized once.
 *
 * BF_FUZZ_SEED=DIR: write a small valid checkpoint DIR/seed.ckpt.h5 through
 * the writer (bf_ckpt_begin ... commit) to seed the corpus, and exit. */
#include "fuzz.h"

#include "brgflow/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[256];

static void finalize(void)
{
  unlink(path);
  MPI_Finalize();
}

static void write_seed(const char *dir)
{
  char output[1024];
  snprintf(output, sizeof output, "%s/seed", dir);
  double theta[12], loss[5];
  for (int i = 0; i < 12; i++) theta[i] = 0.25 * i - 1;
  for (int i = 0; i < 5; i++) loss[i] = 1.0 / (i + 1);
  bf_ckpt *c = bf_ckpt_begin(MPI_COMM_WORLD, output, 12 + 5, 2);
  bf_ckpt_rows(c, "ensemble/theta", 3, 4, 0, 3, theta);
  bf_ckpt_whole(c, "train/loss", 5, loss);
  bf_ckpt_attr_int(c, "stage", 1);
  bf_ckpt_attr_int(c, "train_step", 4);
  bf_ckpt_attr_string(c, "input", "[run]\nseed = 1\n");
  bf_ckpt_commit(&c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  MPI_Init(argc, argv);
  bf_error_comm(MPI_COMM_WORLD);
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(path, sizeof path, "%s/fuzz_ckpt.%d.ckpt.h5", tmp, (int)getpid());
  atexit(finalize);
  if (getenv("BF_FUZZ_SEED")) {
    write_seed(getenv("BF_FUZZ_SEED"));
    exit(0);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  char why[512];
  bf_ckpt *c = bf_ckpt_open(MPI_COMM_WORLD, path, why, sizeof why);
  /* a file that opens goes on to the dataset checks a restore makes */
  if (c && bf_ckpt_check_rows(c, "ensemble/theta", 3, 4, 0, 3, why, sizeof why))
    bf_ckpt_check_whole(c, "train/loss", 5, why, sizeof why);
  bf_ckpt_close(&c);
  return 0;
}
