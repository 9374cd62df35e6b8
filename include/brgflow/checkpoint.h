/* checkpoint.h — restartable state in parallel HDF5 (docs/physics.md 3: flows
 * that survive their job limits).
 *
 * A checkpoint is written collectively to OUTPUT.ckpt.tmp.h5, flushed and
 * closed; then rank 0 renames the current generation OUTPUT.ckpt.h5 to
 * OUTPUT.ckpt.prev.h5 and the new file to OUTPUT.ckpt.h5, and syncs the
 * folder.  At every instant one complete generation exists.  Three layers
 * detect damage: HDF5's own metadata checksums (file format 1.8: superblock
 * v2, object headers v2), so a flipped byte in the structure is an HDF5
 * error, not a read of garbage; one checksum over the file's attributes
 * (`attr_checksum`, the `input` text included); and one per dataset (HDF5
 * reads past a truncated end return zeros: the checksum, not HDF5, detects
 * that).  An attribute `complete` is written last.  Arrays are global
 * (rows = members), so a restart may use any number of ranks. */
#ifndef BRGFLOW_CHECKPOINT_H
#define BRGFLOW_CHECKPOINT_H

#include "brgflow/core.h"

#include <hdf5.h>

typedef struct bf_ckpt {
  MPI_Comm comm;
  hid_t file;
  int failed;        /* a write failed: the generation is abandoned */
  char what[256];    /* the first failure */
  uint64_t attr_sum; /* checksum of the attributes written */
  int64_t reserved;  /* bytes of disk reserved for the generation */
  char path[1100], prev[1100], tmp[1100];
} bf_ckpt;

/* Metadata bytes a generation needs per dataset, beyond its values (object
 * header, checksum attribute, link): sizes the disk-space reservation. */
#define BF_CKPT_DATASET_BYTES 4096

/* Names of the generations of `output`. */
void bf_ckpt_names(const char *output, char *path, char *prev, char *tmp, size_t n);
/* The previous generation of checkpoint `path` (X.ckpt.h5 -> X.ckpt.prev.h5). */
void bf_ckpt_prev_name(const char *path, char *prev, size_t n);

/* Writing (collective).  `values` doubles in `datasets` datasets: the space
 * is reserved up front, because HDF5 cannot fail a collective write
 * cleanly (a rank that alone hits a full disk leaves the others waiting).
 * Failures do not abort: bf_ckpt_commit reports them with one message and
 * returns 1 on every rank (0: committed), the previous generations
 * untouched. */
bf_ckpt *bf_ckpt_begin(MPI_Comm comm, const char *output, int64_t values, int64_t datasets);
void bf_ckpt_rows(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols,
                  int64_t first, int64_t count, const double *data);
/* A rank's rows in nb blocks (rows first[b] .. first[b] + count[b] - 1,
 * ascending and disjoint), data their rows in order: a layout other than
 * member rows (the eigenvectors' parameter rows); the checksum, over global
 * element indices, does not depend on who held which block. */
void bf_ckpt_blocks(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols, int64_t nb,
                    const int64_t *first, const int64_t *count, const double *data);
void bf_ckpt_whole(bf_ckpt *c, const char *name, int64_t n, const double *data);
void bf_ckpt_attr_int(bf_ckpt *c, const char *name, int64_t v);
void bf_ckpt_attr_string(bf_ckpt *c, const char *name, const char *v);
int bf_ckpt_commit(bf_ckpt **c);

/* Reading (collective).  bf_ckpt_open: the file opens, is `complete`, and
 * its attributes (integers and strings, scalars) match attr_checksum; NULL
 * with the reason in why otherwise.  bf_ckpt_check_rows/whole: a dataset
 * exists as float64 nrows x ncols (whole: 1 x n) and matches its checksum;
 * 0 with the reason otherwise (the same on every rank). */
bf_ckpt *bf_ckpt_open(MPI_Comm comm, const char *path, char *why, size_t n);
int bf_ckpt_check_rows(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols,
                       int64_t first, int64_t count, char *why, size_t n);
int bf_ckpt_check_blocks(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols, int64_t nb,
                         const int64_t *first, const int64_t *count, char *why, size_t n);
int bf_ckpt_check_whole(bf_ckpt *c, const char *name, int64_t n, char *why, size_t nwhy);
/* Collective: 1 if any rank has bad set; every rank then holds the lowest
 * such rank's reason in why. */
int bf_ckpt_agree(bf_ckpt *c, int bad, char *why, size_t n);
/* Verified attributes: 1 and the value, or 0 if absent. */
int bf_ckpt_get_int(bf_ckpt *c, const char *name, int64_t *v);
char *bf_ckpt_get_string(bf_ckpt *c, const char *name); /* malloc'd, or NULL */
/* Reads of checked datasets: a rank's rows, or a whole array. */
void bf_ckpt_read_rows(bf_ckpt *c, const char *name, int64_t ncols, int64_t first,
                       int64_t count, double *data);
void bf_ckpt_read_blocks(bf_ckpt *c, const char *name, int64_t ncols, int64_t nb,
                         const int64_t *first, const int64_t *count, double *data);
void bf_ckpt_read_whole(bf_ckpt *c, const char *name, int64_t n, double *data);
void bf_ckpt_close(bf_ckpt **c);

#endif
