/* output.c — collective parallel-HDF5 result writer.
 *
 *   bf_h5_create       open OUTPUT.partial with the MPI-IO driver (NULL,
 *                      after one message, if it cannot be created)
 *   bf_h5_commit       close, rename to OUTPUT, fsync the folder; or, if a
 *                      write failed, remove OUTPUT.partial with one message
 *                      and return 1
 *   bf_h5_errors_off/restore  HDF5's error printing off, and back
 *   bf_h5_attr_*       string / double / integer attributes, a string array
 *   bf_h5_write_root   a dataset held whole by rank 0
 *   bf_h5_write_rows   a row-distributed dataset, one hyperslab per rank
 *   bf_h5_write_dmat   a block-cyclic matrix, each rank its own blocks */
#include "brgflow/io.h"
#include "brgflow/metric.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define BF_H5(call) BF_ASSERT((call) >= 0)

static int quiet_depth;
static H5E_auto2_t saved_func;
static void *saved_data;

void bf_h5_errors_off(void)
{
  if (quiet_depth++ == 0) {
    BF_H5(H5Eget_auto2(H5E_DEFAULT, &saved_func, &saved_data));
    BF_H5(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  }
}

void bf_h5_errors_restore(void)
{
  BF_ASSERT(quiet_depth > 0);
  if (--quiet_depth == 0) BF_H5(H5Eset_auto2(H5E_DEFAULT, saved_func, saved_data));
}

/* Why a write failed: HDF5 does not pass errno up reliably, so a folder
 * with (almost) no space left is the sign of a full disk. */
static void reason(const bf_h5 *h, int err, char *out, size_t n)
{
  char dir[1024];
  struct statvfs fs;
  snprintf(dir, sizeof dir, "%s", h->path);
  int full = err == ENOSPC || err == EDQUOT ||
             (statvfs(dirname(dir), &fs) == 0 && fs.f_bavail * fs.f_frsize < 65536);
  snprintf(out, n, "%s", full ? "disk full" : err ? strerror(err) : "I/O error");
}

/* Record this rank's first failure (bad != 0) of the step `what`. */
static void note(bf_h5 *h, int bad, const char *what)
{
  int err = errno;
  if (!bad || h->failed) return;
  char why[128];
  reason(h, err, why, sizeof why);
  h->failed = 1;
  snprintf(h->what, sizeof h->what, "%s: %s", what, why);
}

/* Ranks agree before each collective step: a rank that alone skipped a
 * collective HDF5 call would leave the others waiting forever. */
static int any_failed(bf_h5 *h)
{
  int all;
  BF_MPI(MPI_Allreduce(&h->failed, &all, 1, MPI_INT, MPI_MAX, h->comm));
  return all;
}

bf_h5 *bf_h5_create(MPI_Comm comm, const char *path)
{
  bf_h5 *h = BF_CALLOC(1, bf_h5);
  bf_comm_dup(comm, &h->comm);
  snprintf(h->path, sizeof h->path, "%s", path);
  snprintf(h->partial, sizeof h->partial, "%s.partial", path);
  bf_h5_errors_off(); /* until bf_h5_commit: failures are reported, not printed */
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  BF_H5(H5Pset_fapl_mpio(fapl, h->comm, MPI_INFO_NULL));
  h->file = H5Fcreate(h->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (!bf_failed(h->comm, h->file < 0, "cannot create '%s' (is the folder writable?)",
                 h->partial))
    return h;
  if (h->file >= 0) H5Fclose(h->file); /* where it did open (another rank failed) */
  bf_h5_errors_restore();
  BF_MPI(MPI_Comm_free(&h->comm));
  free(h);
  return NULL;
}

/* Collective: close the file; on any rank's failure remove the partial file
 * and return 1 after one message (the lowest failing rank's reason). */
static int close_or_fail(bf_h5 *h)
{
  int rank;
  BF_MPI(MPI_Comm_rank(h->comm, &rank));
  if (!any_failed(h)) note(h, H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0, "flush");
  if (any_failed(h)) {
    /* The result is lost anyway: emptying it frees the space HDF5 needs to
     * close it (a file left open crashes HDF5 inside MPI_Finalize). */
    if (rank == 0 && truncate(h->partial, 0) != 0) note(h, 1, "truncate");
    BF_MPI(MPI_Barrier(h->comm));
  }
  note(h, H5Fclose(h->file) < 0, "close");
  bf_h5_errors_restore();
  if (!any_failed(h)) return 0;
  if (rank == 0) unlink(h->partial);
  return bf_failed(h->comm, h->failed,
                   "cannot write the result '%s' (%s); the partial file is removed%s", h->path,
                   h->what, access(h->path, F_OK) == 0 ? ", the existing file is untouched" : "");
}

int bf_h5_commit(bf_h5 **hp)
{
  bf_h5 *h = *hp;
  int rank, failed = close_or_fail(h);
  BF_MPI(MPI_Comm_rank(h->comm, &rank));
  BF_MPI(MPI_Barrier(h->comm));
  if (!failed && rank == 0) {
    failed = rename(h->partial, h->path) != 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", h->path);
    int fd = open(dirname(dir), O_RDONLY);
    if (fd >= 0) { /* make the rename itself durable */
      fsync(fd);
      close(fd);
    }
  }
  if (!failed)
    failed = bf_failed(h->comm, failed, "cannot rename '%s' to '%s'", h->partial, h->path);
  BF_MPI(MPI_Comm_free(&h->comm));
  free(h);
  *hp = NULL;
  return failed;
}

static hid_t link_plist(void)
{
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

/* Open an object by path, creating it as a group if absent. */
static hid_t open_object(bf_h5 *h, const char *obj)
{
  if (!strcmp(obj, "/") || H5Lexists(h->file, obj, H5P_DEFAULT) > 0)
    return H5Oopen(h->file, obj, H5P_DEFAULT);
  hid_t lcpl = link_plist();
  hid_t g = H5Gcreate2(h->file, obj, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  return g;
}

static void write_attr(bf_h5 *h, const char *obj, const char *name,
                       hid_t type, const void *value)
{
  if (any_failed(h)) return;
  hid_t o = open_object(h, obj);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = o < 0 ? -1 : H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  note(h, a < 0 || H5Awrite(a, type, value) < 0, "attribute");
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  if (o >= 0) H5Oclose(o);
}

void bf_h5_attr_string(bf_h5 *h, const char *obj, const char *name,
                       const char *value)
{
  hid_t type = H5Tcopy(H5T_C_S1);
  BF_H5(H5Tset_size(type, strlen(value) + 1));
  write_attr(h, obj, name, type, value);
  H5Tclose(type);
}

void bf_h5_attr_strings(bf_h5 *h, const char *obj, const char *name, int n,
                        const char *const *values)
{
  size_t width = 1; /* fixed-length strings: the longest, NUL-padded */
  for (int i = 0; i < n; i++) width = strlen(values[i]) + 1 > width ? strlen(values[i]) + 1 : width;
  char *buf = BF_CALLOC((size_t)n * width, char);
  for (int i = 0; i < n; i++) memcpy(buf + i * width, values[i], strlen(values[i]));
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  hsize_t dims = (hsize_t)n;
  hid_t o = open_object(h, obj), space = H5Screate_simple(1, &dims, NULL);
  BF_H5(o);
  hid_t a = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  BF_H5(a);
  BF_H5(H5Awrite(a, type, buf));
  H5Aclose(a), H5Sclose(space), H5Oclose(o), H5Tclose(type);
  free(buf);
}

/* A number's units and meaning go beside it as NAME.units and
 * NAME.description, as a dataset carries its own units and description. */
static void attr_labels(bf_h5 *h, const char *obj, const char *name, const char *units,
                        const char *what)
{
  char label[128];
  snprintf(label, sizeof label, "%s.units", name);
  bf_h5_attr_string(h, obj, label, units);
  snprintf(label, sizeof label, "%s.description", name);
  bf_h5_attr_string(h, obj, label, what);
}

void bf_h5_attr_double(bf_h5 *h, const char *obj, const char *name, double v,
                       const char *units, const char *what)
{
  write_attr(h, obj, name, H5T_NATIVE_DOUBLE, &v);
  attr_labels(h, obj, name, units, what);
}

void bf_h5_attr_int(bf_h5 *h, const char *obj, const char *name, int64_t v,
                    const char *units, const char *what)
{
  write_attr(h, obj, name, H5T_NATIVE_INT64, &v);
  attr_labels(h, obj, name, units, what);
}

/* Create a double dataset and label it with its units and meaning; -1 (on
 * every rank) if that failed anywhere. */
static hid_t create_dataset(bf_h5 *h, const char *name, int rank,
                            const hsize_t *dims, const char *units,
                            const char *what)
{
  if (any_failed(h)) return -1;
  hid_t space = H5Screate_simple(rank, dims, NULL), lcpl = link_plist();
  hid_t ds = H5Dcreate2(h->file, name, H5T_IEEE_F64LE, space, lcpl,
                        H5P_DEFAULT, H5P_DEFAULT);
  note(h, ds < 0, name);
  H5Pclose(lcpl);
  H5Sclose(space);
  bf_h5_attr_string(h, name, "units", units);
  bf_h5_attr_string(h, name, "description", what);
  if (any_failed(h)) {
    if (ds >= 0) H5Dclose(ds);
    return -1;
  }
  return ds;
}

static void collective_write(bf_h5 *h, const char *name, hid_t ds, hid_t mem,
                             hid_t file, const double *data)
{
  hid_t xfer = H5Pcreate(H5P_DATASET_XFER);
  BF_H5(H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE));
  note(h, H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem, file, xfer, data) < 0, name);
  H5Pclose(xfer);
}

void bf_h5_write_root(bf_h5 *h, const char *name, int rank, const hsize_t *dims,
                      const double *data, const char *units, const char *what)
{
  int me;
  BF_MPI(MPI_Comm_rank(h->comm, &me));
  hid_t ds = create_dataset(h, name, rank, dims, units, what);
  if (ds < 0) return;
  hid_t file = H5Dget_space(ds), mem = H5Screate_simple(rank, dims, NULL);
  if (me != 0) {
    BF_H5(H5Sselect_none(file));
    BF_H5(H5Sselect_none(mem));
  }
  collective_write(h, name, ds, mem, file, data);
  H5Sclose(mem);
  H5Sclose(file);
  H5Dclose(ds);
}

void bf_h5_write_rows(bf_h5 *h, const char *name, hsize_t nrows, hsize_t ncols,
                      hsize_t first, hsize_t count, const double *data,
                      const char *units, const char *what)
{
  hsize_t dims[2] = {nrows, ncols};
  bf_h5_write_block(h, name, 2, dims, first, count, data, units, what);
}

void bf_h5_write_block(bf_h5 *h, const char *name, int rank, const hsize_t *dims,
                       hsize_t first, hsize_t count, const double *data,
                       const char *units, const char *what)
{
  hsize_t start[8] = {first}, block[8] = {count};
  for (int k = 1; k < rank; k++) start[k] = 0, block[k] = dims[k];
  hid_t ds = create_dataset(h, name, rank, dims, units, what);
  if (ds < 0) return;
  hid_t file = H5Dget_space(ds);
  hid_t mem = H5Screate_simple(rank, block, NULL);
  if (count > 0)
    BF_H5(H5Sselect_hyperslab(file, H5S_SELECT_SET, start, NULL, block, NULL));
  else {
    BF_H5(H5Sselect_none(file));
    BF_H5(H5Sselect_none(mem));
  }
  collective_write(h, name, ds, mem, file, data);
  H5Sclose(mem);
  H5Sclose(file);
  H5Dclose(ds);
}

/* ---- block-cyclic matrices ------------------------------------------------
 * A rank's local rows [l0, l1) (l0 a multiple of nb) are, in the file, a
 * regular hyperslab of whole blocks nprocs nb apart, then at most one
 * partial block (the matrix's last): one or two pieces per dimension. */
typedef struct slab { hsize_t start, stride, count, block; } slab;

static int dim_slabs(int64_t l0, int64_t l1, int nb, int me, int nprocs, slab s[2])
{
  int k = 0;
  int64_t full = (l1 - l0) / nb, rest = (l1 - l0) % nb;
  if (full > 0)
    s[k++] = (slab){(hsize_t)bf_global_index(l0, nb, me, nprocs), (hsize_t)nprocs * nb,
                    (hsize_t)full, (hsize_t)nb};
  if (rest > 0)
    s[k++] = (slab){(hsize_t)bf_global_index(l0 + full * nb, nb, me, nprocs), (hsize_t)rest,
                    1, (hsize_t)rest};
  return k;
}

/* Select local columns [c0, c1) of A in the file (every local row). */
static void select_blocks(const bf_grid *g, const bf_dmat *A, int64_t c0, int64_t c1,
                          hid_t file)
{
  slab r[2], c[2];
  int nr = dim_slabs(0, A->mloc, A->nb, g->myrow, g->nprow, r);
  int nc = dim_slabs(c0, c1, A->nb, g->mycol, g->npcol, c);
  BF_H5(H5Sselect_none(file));
  for (int i = 0; i < nr; i++)
    for (int j = 0; j < nc; j++) {
      hsize_t start[2] = {r[i].start, c[j].start}, stride[2] = {r[i].stride, c[j].stride};
      hsize_t count[2] = {r[i].count, c[j].count}, block[2] = {r[i].block, c[j].block};
      BF_H5(H5Sselect_hyperslab(file, H5S_SELECT_OR, start, stride, count, block));
    }
}

/* The file is row-major and the local blocks column-major: each collective
 * write takes a slice of local columns, transposed into a buffer of at most
 * DMAT_SLICE doubles (a few blocks wide), so the write holds no second copy
 * of the local matrix.  Every rank makes the same number of writes. */
enum { DMAT_SLICE = 1 << 20 };

void bf_h5_write_dmat(bf_h5 *h, const char *name, const bf_grid *g, const bf_dmat *A,
                      const char *units, const char *what)
{
  hsize_t dims[2] = {(hsize_t)A->m, (hsize_t)A->n};
  hid_t ds = create_dataset(h, name, 2, dims, units, what);
  if (ds < 0) return;
  int64_t lld = A->mloc > 1 ? A->mloc : 1, rows = A->mloc > 0 ? A->mloc : 1;
  int64_t width = (DMAT_SLICE / rows / A->nb) * A->nb, writes;
  width = width > A->nb ? width : A->nb;
  writes = A->mloc > 0 ? (A->nloc + width - 1) / width : 0;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &writes, 1, MPI_INT64_T, MPI_MAX, h->comm));
  double *buf = BF_ALLOC(rows * width, double);
  hid_t file = H5Dget_space(ds);
  for (int64_t w = 0; w < writes; w++) {
    int64_t c0 = w * width, c1 = c0 + width < A->nloc ? c0 + width : A->nloc;
    c1 = A->mloc > 0 && c1 > c0 ? c1 : c0; /* nothing of this slice here */
    for (int64_t i = 0; i < A->mloc; i++)
      for (int64_t j = c0; j < c1; j++) buf[i * (c1 - c0) + (j - c0)] = A->a[j * lld + i];
    hsize_t mdims[2] = {(hsize_t)rows, (hsize_t)(c1 > c0 ? c1 - c0 : 1)};
    hid_t mem = H5Screate_simple(2, mdims, NULL);
    select_blocks(g, A, c0, c1, file);
    if (c1 == c0) BF_H5(H5Sselect_none(mem));
    collective_write(h, name, ds, mem, file, buf);
    H5Sclose(mem);
  }
  free(buf);
  H5Sclose(file);
  H5Dclose(ds);
}
