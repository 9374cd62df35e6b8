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

/* Collective: OUTPUT.partial created for writing; NULL on every rank,
 * after one message, if it cannot be. */
bf_h5 *bf_h5_create(MPI_Comm comm, const char *path);
/* Close, then rename OUTPUT.partial -> OUTPUT on rank 0 and sync the folder;
 * 0.  A failed write (disk full, I/O error) is a collective error naming
 * OUTPUT and the reason: OUTPUT.partial is removed, an existing OUTPUT
 * untouched, and 1 on every rank. */
int bf_h5_commit(bf_h5 **h);

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

/* ---- result tables (src/io/fields.c) ----------------------------------------
 * One table per result struct: each row names one `double *` array of the
 * struct (by offsetof), its shape, where it lives, the condition under which
 * a run has it, its dataset in the result and in the checkpoint, its units
 * and meaning.  Allocation, the result, the checkpoint and the restore read
 * the same table, so a new observable is one row and one function. */
enum bf_place {
  BF_EVERY_RANK,  /* the whole array, the same on every rank */
  BF_RANK0,       /* the whole array, on rank 0 only (gathered) */
  BF_MEMBER_ROWS  /* one row per member, each rank its own members' */
};
typedef struct bf_field {
  size_t offset;      /* offsetof(struct, array) */
  const char *shape;  /* one letter per axis (bf_sizes n['X']); member rows:
                         the shape of one row.  'S' = lattice sites, written
                         as d axes of n['L'] */
  int place;          /* enum bf_place */
  unsigned when;      /* condition bits the run must have (bf_sizes.have) */
  int group;          /* result group 0 or 1 of the writer's two */
  const char *result; /* dataset name in its group; NULL: not in the result */
  const char *ckpt;   /* dataset name in the checkpoint; NULL: not kept */
  const char *units;  /* "@X": the run's units slot X (bf_sizes.units) */
  const char *what;
  unsigned result_when; /* further bits the run needs to write it (0: none) */
} bf_field;
/* One run's sizes of a table's axes and conditions. */
typedef struct bf_sizes {
  int64_t n[26];          /* length of axis letter 'A' + i */
  int d;                  /* lattice dimension, for 'S' */
  const char *units[26];  /* units slots "@A" .. "@Z" */
  unsigned have;          /* the condition bits this run has */
  int64_t members, first, count; /* member rows: all, and this rank's */
} bf_sizes;
int bf_field_on(const bf_field *f, const bf_sizes *s);
/* member rows: doubles per row; otherwise the whole array's length */
int64_t bf_field_cols(const bf_field *f, const bf_sizes *s);
/* doubles rank `rank` holds */
int64_t bf_field_len(const bf_field *f, const bf_sizes *s, int rank);
double **bf_field_data(void *owner, const bf_field *f);
/* Every array the run has and that is not allocated yet, zeroed, where it
 * lives (rank: this rank's), counted in the memory estimate. */
void bf_fields_alloc(void *owner, const bf_field *t, int n, const bf_sizes *s, int rank);
void bf_fields_free(void *owner, const bf_field *t, int n);
/* Collective: every row with a result name that the run has (when and
 * result_when), into groups[row.group] (a NULL group is skipped); member
 * rows as a (members x shape) dataset. */
void bf_fields_write(bf_h5 *h, const char *const groups[2], const void *owner,
                     const bf_field *t, int n, const bf_sizes *s);
/* A global m x n dataset from a block-cyclic matrix on grid g (src/metric),
 * each rank writing its own blocks by hyperslabs: no rank holds it whole. */
struct bf_grid;
struct bf_dmat;
void bf_h5_write_dmat(bf_h5 *h, const char *name, const struct bf_grid *g,
                      const struct bf_dmat *A, const char *units, const char *what);

/* `brgflow info FILE`: print what a result file holds (rank-local). */
int bf_info(const char *path, FILE *out);

/* ---- the write stage (src/io/result.c; pipeline.h) ---------------------- */
typedef struct bf_ctx bf_ctx;
/* Collective: the run's whole result into OUTPUT (docs/outputs.md); 0, or
 * BF_FAILED if it could not be written (OUTPUT.partial removed). */
int bf_stage_write(bf_ctx *c);

#endif
