/* checkpoint.h — restartable state in parallel HDF5 (docs/physics.md 3: flows
 * that survive their job limits).
 *
 * A checkpoint is written collectively to OUTPUT.ckpt.tmp.h5, flushed and
 * closed; then rank 0 renames the current generation OUTPUT.ckpt.h5 to
 * OUTPUT.ckpt.prev.h5 and the new file to OUTPUT.ckpt.h5, and syncs the
 * folder.  At every instant one complete generation exists.  Each dataset
 * carries a checksum (HDF5 reads past a truncated end return zeros: the
 * checksum, not HDF5, detects damage), and the file an attribute `complete`
 * written last.  Arrays are global (rows = members), so a restart may use
 * any number of ranks. */
#ifndef BRGFLOW_CHECKPOINT_H
#define BRGFLOW_CHECKPOINT_H

#include "brgflow/core.h"

#include <hdf5.h>

typedef struct bf_ckpt {
  MPI_Comm comm;
  hid_t file;
  int failed;     /* a write failed: the generation is abandoned */
  char what[256]; /* the first failure */
  char path[1100], prev[1100], tmp[1100];
} bf_ckpt;

/* Names of the generations of `output`. */
void bf_ckpt_names(const char *output, char *path, char *prev, char *tmp, size_t n);

/* Writing (collective).  Failures do not abort: bf_ckpt_commit reports them
 * with one message and a clean exit, the previous generations untouched. */
bf_ckpt *bf_ckpt_begin(MPI_Comm comm, const char *output);
void bf_ckpt_rows(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols,
                  int64_t first, int64_t count, const double *data);
void bf_ckpt_whole(bf_ckpt *c, const char *name, int64_t n, const double *data);
void bf_ckpt_attr_int(bf_ckpt *c, const char *name, int64_t v);
void bf_ckpt_attr_string(bf_ckpt *c, const char *name, const char *v);
void bf_ckpt_commit(bf_ckpt **c);

/* Reading (collective): open and verify every checksum; NULL with the
 * reason in why if the file is missing, truncated or damaged. */
bf_ckpt *bf_ckpt_open(MPI_Comm comm, const char *path, char *why, size_t n);
/* The newest verified generation of `output`'s checkpoints, or NULL. */
bf_ckpt *bf_ckpt_open_newest(MPI_Comm comm, const char *given, char *used,
                             size_t n);
int bf_ckpt_has(bf_ckpt *c, const char *name);
void bf_ckpt_read_rows(bf_ckpt *c, const char *name, int64_t ncols, int64_t first,
                       int64_t count, double *data);
void bf_ckpt_read_whole(bf_ckpt *c, const char *name, int64_t n, double *data);
int64_t bf_ckpt_get_int(bf_ckpt *c, const char *name);
char *bf_ckpt_get_string(bf_ckpt *c, const char *name); /* malloc'd */
void bf_ckpt_close(bf_ckpt **c);

#endif
