/* io.h — result files in parallel HDF5 (the "write" stage).
 *
 * A result is written collectively into OUTPUT.partial and renamed to
 * OUTPUT only when complete, so a failed or interrupted run never leaves a
 * half-written result, and never touches an existing one before it is done.
 * Every call here is collective over the writer's communicator. */
#ifndef BRGFLOW_IO_H
#define BRGFLOW_IO_H

#include "brgflow/core.h"

#include <hdf5.h>

typedef struct bf_h5 {
  MPI_Comm comm;
  hid_t file;
  int failed;     /* a write failed on this rank: the rest are skipped */
  char what[256]; /* its reason, for the one message */
  char path[1024], partial[1100];
} bf_h5;

bf_h5 *bf_h5_create(MPI_Comm comm, const char *path);
/* Close, then rename OUTPUT.partial -> OUTPUT on rank 0 and sync the folder.
 * A failed write (disk full, I/O error) is a collective error naming OUTPUT
 * and the reason: OUTPUT.partial is removed, an existing OUTPUT untouched. */
void bf_h5_commit(bf_h5 **h);

/* HDF5's own error printing off while brgflow reports failures itself, and
 * back as it was; pairs nest (a checkpoint read inside a result write). */
void bf_h5_errors_off(void);
void bf_h5_errors_restore(void);

/* Attributes on an object (group or dataset, created if need be). */
void bf_h5_attr_string(bf_h5 *h, const char *obj, const char *name,
                       const char *value);
/* A number, with its units and meaning beside it as the string attributes
 * NAME.units and NAME.description. */
void bf_h5_attr_double(bf_h5 *h, const char *obj, const char *name, double v,
                       const char *units, const char *what);
void bf_h5_attr_int(bf_h5 *h, const char *obj, const char *name, int64_t v,
                    const char *units, const char *what);
/* n fixed-length strings (n >= 1) as a 1-d attribute. */
void bf_h5_attr_strings(bf_h5 *h, const char *obj, const char *name, int n,
                        const char *const *values);
/* A dataset whose data is complete on rank 0 (rank 0 writes, others join). */
void bf_h5_write_root(bf_h5 *h, const char *name, int rank, const hsize_t *dims,
                      const double *data, const char *units, const char *what);
/* A (nrows x ncols) dataset, rows [first, first+count) from each rank. */
void bf_h5_write_rows(bf_h5 *h, const char *name, hsize_t nrows, hsize_t ncols,
                      hsize_t first, hsize_t count, const double *data,
                      const char *units, const char *what);

/* A rank-dimensional dataset split along its first axis: rows
 * [first, first+count) from each rank. */
void bf_h5_write_block(bf_h5 *h, const char *name, int rank, const hsize_t *dims,
                       hsize_t first, hsize_t count, const double *data,
                       const char *units, const char *what);

/* A global m x n dataset from a block-cyclic matrix on grid g (src/metric),
 * each rank writing its own blocks by hyperslabs: no rank holds it whole. */
struct bf_grid;
struct bf_dmat;
void bf_h5_write_dmat(bf_h5 *h, const char *name, const struct bf_grid *g,
                      const struct bf_dmat *A, const char *units, const char *what);

/* `brgflow info FILE`: print what a result file holds (rank-local). */
int bf_info(const char *path, FILE *out);

#endif
