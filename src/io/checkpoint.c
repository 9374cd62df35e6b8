/* checkpoint.c — two-generation, checksummed, collective checkpoints.
 *
 *   bf_ckpt_names         OUTPUT.ckpt.h5, .ckpt.prev.h5, .ckpt.tmp.h5
 *   bf_ckpt_begin/commit  write a generation atomically (rename chain)
 *   bf_ckpt_rows/whole    datasets with checksums; attributes
 *   bf_ckpt_open(_newest) verify and open, falling back to the previous
 *   bf_ckpt_read_*        read a rank's rows, or a whole array
 *
 * The checksum of a dataset is sum_i mix(i, bits(x_i)) mod 2^64 over its
 * global element index i: order-free, so every rank adds its own rows and
 * one allreduce gives the same number at any rank count; a flipped bit, a
 * zero-filled or truncated stretch changes it. */
#include "brgflow/checkpoint.h"
#include "brgflow/io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t mix(uint64_t i, double x)
{
  uint64_t z, b;
  memcpy(&b, &x, sizeof b);
  z = b ^ (i * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; /* splitmix64 finalizer */
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t checksum(MPI_Comm comm, int64_t first_index, int64_t n, const double *x)
{
  uint64_t s = 0, all;
  for (int64_t i = 0; i < n; i++) s += mix((uint64_t)(first_index + i), x[i]);
  BF_MPI(MPI_Allreduce(&s, &all, 1, MPI_UINT64_T, MPI_SUM, comm));
  return all;
}

void bf_ckpt_names(const char *output, char *path, char *prev, char *tmp, size_t n)
{
  snprintf(path, n, "%s.ckpt.h5", output);
  snprintf(prev, n, "%s.ckpt.prev.h5", output);
  snprintf(tmp, n, "%s.ckpt.tmp.h5", output);
}

static void fail(bf_ckpt *c, int bad, const char *what)
{
  if (bad && !c->failed) {
    c->failed = 1;
    snprintf(c->what, sizeof c->what, "%s", what);
  }
}

/* Ranks agree on failure before every collective step: a rank that alone
 * skipped a collective HDF5 call would leave the others waiting forever. */
static int any_failed(bf_ckpt *c)
{
  int all;
  BF_MPI(MPI_Allreduce(&c->failed, &all, 1, MPI_INT, MPI_MAX, c->comm));
  if (all && !c->failed) {
    c->failed = 1;
    snprintf(c->what, sizeof c->what, "a collective write failed (disk full or I/O error)");
  }
  return all;
}

static hid_t fapl(MPI_Comm comm)
{
  hid_t f = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(f, comm, MPI_INFO_NULL);
  return f;
}

bf_ckpt *bf_ckpt_begin(MPI_Comm comm, const char *output)
{
  bf_ckpt *c = BF_CALLOC(1, bf_ckpt);
  BF_MPI(MPI_Comm_dup(comm, &c->comm));
  bf_ckpt_names(output, c->path, c->prev, c->tmp, sizeof c->path);
  bf_h5_errors_off(); /* until commit: failures are reported, not printed */
  hid_t fa = fapl(c->comm);
  c->file = H5Fcreate(c->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fa);
  H5Pclose(fa);
  fail(c, c->file < 0, "cannot create the checkpoint file");
  return c;
}

static void put_checksum(bf_ckpt *c, hid_t ds, uint64_t sum)
{
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(ds, "checksum", H5T_NATIVE_UINT64, sp, H5P_DEFAULT, H5P_DEFAULT);
  fail(c, a < 0 || H5Awrite(a, H5T_NATIVE_UINT64, &sum) < 0, "cannot write a checksum");
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
}

void bf_ckpt_rows(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols,
                  int64_t first, int64_t count, const double *data)
{
  uint64_t sum = checksum(c->comm, first * ncols, count * ncols, data);
  if (any_failed(c)) return;
  hsize_t dims[2] = {(hsize_t)nrows, (hsize_t)(ncols > 0 ? ncols : 1)};
  hsize_t start[2] = {(hsize_t)first, 0}, block[2] = {(hsize_t)count, dims[1]};
  hid_t fs = H5Screate_simple(2, dims, NULL), lc = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lc, 1);
  hid_t ds = H5Dcreate2(c->file, name, H5T_IEEE_F64LE, fs, lc, H5P_DEFAULT, H5P_DEFAULT);
  fail(c, ds < 0, "cannot create a dataset");
  hid_t ms = H5Screate_simple(2, block, NULL);
  if (count > 0 && ncols > 0)
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, block, NULL);
  else
    H5Sselect_none(fs), H5Sselect_none(ms);
  hid_t xf = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(xf, H5FD_MPIO_COLLECTIVE);
  if (ds >= 0) fail(c, H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, xf, data) < 0, "cannot write (disk full?)");
  if (ds >= 0) put_checksum(c, ds, sum), H5Dclose(ds);
  any_failed(c);
  H5Pclose(xf), H5Sclose(ms), H5Sclose(fs), H5Pclose(lc);
}

void bf_ckpt_whole(bf_ckpt *c, const char *name, int64_t n, const double *data)
{
  int rank;
  MPI_Comm_rank(c->comm, &rank);
  /* written by rank 0; the checksum counts it once */
  bf_ckpt_rows(c, name, 1, n, 0, rank == 0 ? 1 : 0, data);
}

static void put_attr(bf_ckpt *c, const char *name, hid_t type, const void *v)
{
  if (any_failed(c)) return;
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(c->file, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  fail(c, a < 0 || H5Awrite(a, type, v) < 0, "cannot write an attribute");
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
}

void bf_ckpt_attr_int(bf_ckpt *c, const char *name, int64_t v)
{
  put_attr(c, name, H5T_NATIVE_INT64, &v);
}

void bf_ckpt_attr_string(bf_ckpt *c, const char *name, const char *v)
{
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(v) + 1);
  put_attr(c, name, t, v);
  H5Tclose(t);
}

void bf_ckpt_commit(bf_ckpt **cp)
{
  bf_ckpt *c = *cp;
  int rank, bad;
  MPI_Comm_rank(c->comm, &rank);
  bf_ckpt_attr_int(c, "complete", 1); /* last: a reader needs it */
  if (c->file >= 0) {
    if (!any_failed(c)) fail(c, H5Fflush(c->file, H5F_SCOPE_GLOBAL) < 0, "cannot flush (disk full?)");
    fail(c, H5Fclose(c->file) < 0, "cannot close (disk full?)");
  }
  bf_h5_errors_restore();
  BF_MPI(MPI_Allreduce(&c->failed, &bad, 1, MPI_INT, MPI_MAX, c->comm));
  if (!bad && rank == 0) {
    /* current -> previous, new -> current: between the two renames the
     * previous generation is the newest complete one */
    if (access(c->path, F_OK) == 0 && rename(c->path, c->prev) != 0) bad = 1;
    if (!bad && rename(c->tmp, c->path) != 0) bad = 1;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", c->path);
    int fd = open(dirname(dir), O_RDONLY);
    if (fd >= 0) fsync(fd), close(fd);
    if (bad) snprintf(c->what, sizeof c->what, "cannot rename: %s", strerror(errno));
  }
  BF_MPI(MPI_Bcast(&bad, 1, MPI_INT, 0, c->comm));
  if (bad && rank == 0) unlink(c->tmp);
  char what[256];
  snprintf(what, sizeof what, "%s", c->what);
  MPI_Comm comm = c->comm;
  char path[1100];
  snprintf(path, sizeof path, "%s", c->path);
  free(c);
  *cp = NULL;
  bf_fail_if(comm, bad, "checkpoint %s: %s; the previous generation is intact", path,
             what[0] ? what : "a write failed on another rank");
  MPI_Comm_free(&comm);
}

/* ---- reading ------------------------------------------------------------ */

static int verify(bf_ckpt *c, char *why, size_t n);

bf_ckpt *bf_ckpt_open(MPI_Comm comm, const char *path, char *why, size_t n)
{
  bf_ckpt *c = BF_CALLOC(1, bf_ckpt);
  BF_MPI(MPI_Comm_dup(comm, &c->comm));
  snprintf(c->path, sizeof c->path, "%s", path);
  bf_h5_errors_off(); /* until bf_ckpt_close */
  int ok = access(path, R_OK) == 0;
  hid_t fa = fapl(c->comm);
  c->file = ok ? H5Fopen(path, H5F_ACC_RDONLY, fa) : -1;
  H5Pclose(fa);
  int good = c->file >= 0, all;
  BF_MPI(MPI_Allreduce(&good, &all, 1, MPI_INT, MPI_MIN, c->comm));
  if (!all) {
    snprintf(why, n, ok ? "not a readable HDF5 file (truncated or damaged)" : "missing");
    bf_ckpt_close(&c);
    return NULL;
  }
  if (!verify(c, why, n)) {
    bf_ckpt_close(&c);
    return NULL;
  }
  return c;
}

typedef struct walk { bf_ckpt *c; int bad; char *why; size_t n; } walk;

/* Every dataset read in full by every rank (checkpoints are modest) and
 * summed against its stored checksum. */
static herr_t verify_one(hid_t root, const char *name, const H5L_info_t *info, void *op)
{
  (void)info;
  walk *w = op;
  H5O_info_t oi;
  if (H5Oget_info_by_name(root, name, &oi, H5P_DEFAULT) < 0) return w->bad = 1, 1;
  if (oi.type != H5O_TYPE_DATASET) return 0;
  hid_t ds = H5Dopen2(root, name, H5P_DEFAULT);
  hid_t sp = H5Dget_space(ds);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  double *x = malloc(sizeof(double) * (n > 0 ? n : 1));
  uint64_t want = 0, s = 0;
  hid_t a = H5Aopen(ds, "checksum", H5P_DEFAULT);
  int bad = !x || a < 0 || H5Aread(a, H5T_NATIVE_UINT64, &want) < 0 ||
            H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
  for (hssize_t i = 0; !bad && i < n; i++) s += mix((uint64_t)i, x[i]);
  if (!bad && s != want) bad = 1;
  if (bad) snprintf(w->why, w->n, "dataset %s fails its checksum", name);
  w->bad |= bad;
  if (a >= 0) H5Aclose(a);
  free(x), H5Sclose(sp), H5Dclose(ds);
  return bad;
}

static int verify(bf_ckpt *c, char *why, size_t n)
{
  walk w = {c, 0, why, n};
  int64_t complete = 0;
  hid_t a = H5Aexists(c->file, "complete") > 0 ? H5Aopen(c->file, "complete", H5P_DEFAULT) : -1;
  if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, &complete) < 0 || complete != 1) {
    snprintf(why, n, "incomplete (no `complete` mark)");
    w.bad = 1;
  }
  if (a >= 0) H5Aclose(a);
  if (!w.bad && H5Lvisit(c->file, H5_INDEX_NAME, H5_ITER_INC, verify_one, &w) < 0 && !w.bad) {
    snprintf(why, n, "unreadable structure");
    w.bad = 1;
  }
  int bad;
  BF_MPI(MPI_Allreduce(&w.bad, &bad, 1, MPI_INT, MPI_MAX, c->comm));
  return !bad;
}

bf_ckpt *bf_ckpt_open_newest(MPI_Comm comm, const char *given, char *used, size_t n)
{
  char why[512], why2[512], prev[1100];
  bf_ckpt *c = bf_ckpt_open(comm, given, why, sizeof why);
  if (c) {
    snprintf(used, n, "%s", given);
    return c;
  }
  /* the previous generation of the same name */
  size_t len = strlen(given);
  if (len > 8 && !strcmp(given + len - 8, ".ckpt.h5"))
    snprintf(prev, sizeof prev, "%.*s.ckpt.prev.h5", (int)(len - 8), given);
  else
    snprintf(prev, sizeof prev, "%s.prev", given);
  bf_log(comm, "checkpoint %s refused: %s; trying the previous generation %s", given, why,
         prev);
  c = bf_ckpt_open(comm, prev, why2, sizeof why2);
  if (c) snprintf(used, n, "%s", prev);
  else snprintf(used, n, "%s: %s; %s: %s", given, why, prev, why2);
  return c;
}

int bf_ckpt_has(bf_ckpt *c, const char *name)
{
  return H5Lexists(c->file, name, H5P_DEFAULT) > 0;
}

void bf_ckpt_read_rows(bf_ckpt *c, const char *name, int64_t ncols, int64_t first,
                       int64_t count, double *data)
{
  hid_t ds = H5Dopen2(c->file, name, H5P_DEFAULT);
  BF_ASSERT(ds >= 0);
  hid_t fs = H5Dget_space(ds);
  hsize_t start[2] = {(hsize_t)first, 0}, block[2] = {(hsize_t)count, (hsize_t)ncols};
  hid_t ms = H5Screate_simple(2, block, NULL);
  if (count > 0 && ncols > 0)
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, block, NULL);
  else
    H5Sselect_none(fs), H5Sselect_none(ms);
  BF_ASSERT(H5Dread(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, data) >= 0);
  H5Sclose(ms), H5Sclose(fs), H5Dclose(ds);
}

void bf_ckpt_read_whole(bf_ckpt *c, const char *name, int64_t n, double *data)
{
  bf_ckpt_read_rows(c, name, n, 0, 1, data);
}

int64_t bf_ckpt_get_int(bf_ckpt *c, const char *name)
{
  int64_t v = -1;
  hid_t a = H5Aopen(c->file, name, H5P_DEFAULT);
  BF_ASSERT(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
  H5Aclose(a);
  return v;
}

char *bf_ckpt_get_string(bf_ckpt *c, const char *name)
{
  hid_t a = H5Aopen(c->file, name, H5P_DEFAULT);
  BF_ASSERT(a >= 0);
  hid_t t = H5Aget_type(a);
  size_t n = H5Tget_size(t);
  char *s = BF_CALLOC(n + 1, char);
  BF_ASSERT(H5Aread(a, t, s) >= 0);
  H5Tclose(t), H5Aclose(a);
  return s;
}

void bf_ckpt_close(bf_ckpt **cp)
{
  bf_ckpt *c = *cp;
  if (!c) return;
  if (c->file >= 0) H5Fclose(c->file);
  bf_h5_errors_restore();
  MPI_Comm_free(&c->comm);
  free(c);
  *cp = NULL;
}
