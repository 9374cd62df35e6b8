/* checkpoint.c — two-generation, checksummed, collective checkpoints.
 *
 *   bf_ckpt_names, _prev_name  OUTPUT.ckpt.h5, .ckpt.prev.h5, .ckpt.tmp.h5
 *   bf_ckpt_begin/commit       write a generation atomically (rename chain),
 *                              its disk space reserved first; a failed one
 *                              is one message and a status
 *   bf_ckpt_rows/blocks/whole  datasets with checksums (a rank's rows: one
 *                              block, or several: distributed eigenvectors)
 *   bf_ckpt_attr_*             checksummed attributes
 *   bf_ckpt_open               open a generation, verify completeness and
 *                              the attribute checksum
 *   bf_ckpt_check_rows/blocks/whole  verify one dataset: type, shape, checksum
 *   bf_ckpt_agree              ranks agree on a verdict and its reason
 *   bf_ckpt_get_*, read_*      read verified attributes and datasets
 *                              (rows, blocks, whole)
 *
 * The checksum of a dataset is sum_i mix(i, bits(x_i)) mod 2^64 over its
 * global element index i: order-free, so every rank adds its own rows and
 * one allreduce gives the same number at any rank count; a flipped bit, a
 * zero-filled or truncated stretch changes it.  The attribute checksum is
 * the sum over attributes of FNV-1a 64 of (name, NUL, kind, value): kind
 * 'i' with the value's 8 bytes little-endian, or 's' with the text; order-
 * free too, and independent of how a string is stored (fixed or variable
 * length, as h5py writes it). */
#include "brgflow/checkpoint.h"
#include "brgflow/io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Attributes, their checksum and `complete`, hold a few KiB beside the
 * input text: a margin on top of the datasets' bytes. */
#define ATTR_BYTES (64 * 1024)

static uint64_t mix(uint64_t i, double x)
{
  uint64_t z, b;
  memcpy(&b, &x, sizeof b);
  z = b ^ (i * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; /* splitmix64 finalizer */
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

static uint64_t attr_hash(const char *name, char kind, const void *v, size_t n)
{
  uint64_t h = fnv(0xCBF29CE484222325ull, name, strlen(name) + 1);
  return fnv(fnv(h, &kind, 1), v, n);
}

static uint64_t int_hash(const char *name, int64_t v)
{
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
  return attr_hash(name, 'i', b, 8);
}

void bf_ckpt_names(const char *output, char *path, char *prev, char *tmp, size_t n)
{
  snprintf(path, n, "%s.ckpt.h5", output);
  snprintf(prev, n, "%s.ckpt.prev.h5", output);
  snprintf(tmp, n, "%s.ckpt.tmp.h5", output);
}

void bf_ckpt_prev_name(const char *path, char *prev, size_t n)
{
  size_t len = strlen(path);
  if (len > 8 && !strcmp(path + len - 8, ".ckpt.h5"))
    snprintf(prev, n, "%.*s.ckpt.prev.h5", (int)(len - 8), path);
  else
    snprintf(prev, n, "%s.prev", path);
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

/* File format 1.8 at least: superblock v2 and object headers v2 carry
 * checksums that HDF5 verifies on every read of the structure. */
static hid_t fapl(MPI_Comm comm)
{
  hid_t f = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(f, comm, MPI_INFO_NULL);
  H5Pset_libver_bounds(f, H5F_LIBVER_V18, H5F_LIBVER_V18);
  return f;
}

/* Rank 0: is there room for `bytes` beside the tmp file (before HDF5 has
 * written anything, so a refusal costs nothing)? */
static void check_space(bf_ckpt *c, int64_t bytes)
{
  char dir[1100];
  struct statvfs s;
  snprintf(dir, sizeof dir, "%s", c->tmp);
  if (statvfs(dirname(dir), &s) != 0) return; /* unknown: the reservation decides */
  double avail = (double)s.f_bavail * (double)s.f_frsize;
  if (avail >= (double)bytes) return;
  c->failed = 1;
  snprintf(c->what, sizeof c->what, "not enough disk space (%.0f KiB needed, %.0f KiB free)",
           bytes / 1024.0, avail / 1024.0);
}

/* Rank 0, after H5Fcreate: reserve the blocks beyond the end, so that no
 * collective write can meet a full disk.  File systems without fallocate
 * keep only the statvfs check. */
static void reserve_space(bf_ckpt *c, int64_t bytes)
{
  int fd = open(c->tmp, O_WRONLY);
  if (fd < 0) return;
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) == 0) c->reserved = bytes;
  else if (errno == ENOSPC) fail(c, 1, "not enough disk space for the checkpoint (reservation failed)");
  close(fd);
}

/* Rank 0, after H5Fclose: give back what the reservation held beyond the
 * file's end (the estimate is generous). */
static void release_space(bf_ckpt *c)
{
  struct stat st;
  int fd = c->reserved > 0 ? open(c->tmp, O_WRONLY) : -1;
  if (fd < 0) return;
  if (fstat(fd, &st) == 0 && st.st_size < c->reserved)
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, c->reserved - st.st_size);
  close(fd);
}

bf_ckpt *bf_ckpt_begin(MPI_Comm comm, const char *output, int64_t values, int64_t datasets)
{
  bf_ckpt *c = BF_CALLOC(1, bf_ckpt);
  int rank;
  BF_MPI(MPI_Comm_dup(comm, &c->comm));
  MPI_Comm_rank(c->comm, &rank);
  bf_ckpt_names(output, c->path, c->prev, c->tmp, sizeof c->path);
  bf_h5_errors_off(); /* until commit: failures are reported, not printed */
  int64_t bytes = values * (int64_t)sizeof(double) + datasets * BF_CKPT_DATASET_BYTES + ATTR_BYTES;
  if (rank == 0) check_space(c, bytes);
  c->file = -1;
  if (any_failed(c)) return c;
  hid_t fa = fapl(c->comm);
  c->file = H5Fcreate(c->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fa);
  H5Pclose(fa);
  fail(c, c->file < 0, "cannot create the checkpoint file");
  if (rank == 0 && c->file >= 0) reserve_space(c, bytes);
  any_failed(c);
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

/* Blocks of rows of a dataset with ncols columns (block b: rows first[b] ..
 * first[b] + count[b] - 1, ascending, disjoint): the file selection, and
 * the memory one of their rows in order (none for no rows).  Runs of
 * equally long, equally spaced blocks (a rank's chunks of the eigenvectors)
 * are one strided hyperslab each, so the selection stays short. */
static void select_blocks(hid_t fs, int64_t ncols, int64_t nb, const int64_t *first,
                          const int64_t *count, hid_t *ms)
{
  int64_t total = 0;
  for (int64_t b = 0; b < nb; b++) total += count[b];
  hsize_t mdims[2] = {(hsize_t)total, (hsize_t)ncols};
  *ms = H5Screate_simple(2, mdims, NULL);
  if (total == 0 || ncols <= 0) {
    H5Sselect_none(fs), H5Sselect_none(*ms);
    return;
  }
  H5S_seloper_t op = H5S_SELECT_SET; /* then OR */
  for (int64_t b = 0, e; b < nb; b = e) {
    int64_t step = b + 1 < nb ? first[b + 1] - first[b] : count[b];
    for (e = b + 1; e < nb && count[e] == count[b] && first[e] - first[e - 1] == step; e++) {}
    if (e == b + 1) step = count[b]; /* a lone block */
    hsize_t start[2] = {(hsize_t)first[b], 0}, stride[2] = {(hsize_t)step, 1};
    hsize_t n[2] = {(hsize_t)(e - b), 1}, block[2] = {(hsize_t)count[b], (hsize_t)ncols};
    if (count[b] > 0) H5Sselect_hyperslab(fs, op, start, stride, n, block), op = H5S_SELECT_OR;
  }
}

/* Rows [first, first + count): one block. */
static void select_rows(hid_t fs, int64_t ncols, int64_t first, int64_t count, hid_t *ms)
{
  select_blocks(fs, ncols, 1, &first, &count, ms);
}

static uint64_t blocks_checksum(MPI_Comm comm, int64_t ncols, int64_t nb, const int64_t *first,
                                const int64_t *count, const double *data)
{
  uint64_t s = 0, all;
  for (int64_t b = 0, off = 0; b < nb; off += count[b] * ncols, b++)
    for (int64_t i = 0; i < count[b] * ncols; i++)
      s += mix((uint64_t)(first[b] * ncols + i), data[off + i]);
  BF_MPI(MPI_Allreduce(&s, &all, 1, MPI_UINT64_T, MPI_SUM, comm));
  return all;
}

void bf_ckpt_blocks(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols, int64_t nb,
                    const int64_t *first, const int64_t *count, const double *data)
{
  uint64_t sum = blocks_checksum(c->comm, ncols, nb, first, count, data);
  if (any_failed(c)) return;
  hsize_t dims[2] = {(hsize_t)nrows, (hsize_t)(ncols > 0 ? ncols : 1)};
  hid_t fs = H5Screate_simple(2, dims, NULL), lc = H5Pcreate(H5P_LINK_CREATE), ms;
  H5Pset_create_intermediate_group(lc, 1);
  hid_t ds = H5Dcreate2(c->file, name, H5T_IEEE_F64LE, fs, lc, H5P_DEFAULT, H5P_DEFAULT);
  fail(c, ds < 0, "cannot create a dataset");
  select_blocks(fs, ncols, nb, first, count, &ms);
  hid_t xf = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(xf, H5FD_MPIO_COLLECTIVE);
  if (ds >= 0) fail(c, H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, xf, data) < 0, "cannot write (disk full?)");
  if (ds >= 0) put_checksum(c, ds, sum), H5Dclose(ds);
  any_failed(c);
  H5Pclose(xf), H5Sclose(ms), H5Sclose(fs), H5Pclose(lc);
}

void bf_ckpt_rows(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols,
                  int64_t first, int64_t count, const double *data)
{
  bf_ckpt_blocks(c, name, nrows, ncols, 1, &first, &count, data);
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
  c->attr_sum += int_hash(name, v);
  put_attr(c, name, H5T_NATIVE_INT64, &v);
}

void bf_ckpt_attr_string(bf_ckpt *c, const char *name, const char *v)
{
  c->attr_sum += attr_hash(name, 's', v, strlen(v));
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(v) + 1);
  put_attr(c, name, t, v);
  H5Tclose(t);
}

/* Rank 0: current -> previous, new -> current, folder synced; between the
 * two renames the previous generation is the newest complete one. */
static int rename_chain(bf_ckpt *c)
{
  int bad = access(c->path, F_OK) == 0 && rename(c->path, c->prev) != 0;
  if (!bad) bad = rename(c->tmp, c->path) != 0;
  if (bad) snprintf(c->what, sizeof c->what, "cannot rename: %s", strerror(errno));
  char dir[1100];
  snprintf(dir, sizeof dir, "%s", c->path);
  int fd = open(dirname(dir), O_RDONLY);
  if (fd >= 0) fsync(fd), close(fd);
  return bad;
}

int bf_ckpt_commit(bf_ckpt **cp)
{
  bf_ckpt *c = *cp;
  int rank, bad;
  MPI_Comm_rank(c->comm, &rank);
  put_attr(c, "attr_checksum", H5T_NATIVE_UINT64, &c->attr_sum);
  put_attr(c, "complete", H5T_NATIVE_INT64, &(int64_t){1}); /* last: a reader needs it */
  if (c->file >= 0) {
    if (!any_failed(c)) fail(c, H5Fflush(c->file, H5F_SCOPE_GLOBAL) < 0, "cannot flush (disk full?)");
    fail(c, H5Fclose(c->file) < 0, "cannot close (disk full?)");
  }
  bf_h5_errors_restore();
  if (rank == 0) release_space(c);
  BF_MPI(MPI_Allreduce(&c->failed, &bad, 1, MPI_INT, MPI_MAX, c->comm));
  if (!bad && rank == 0) bad = rename_chain(c);
  BF_MPI(MPI_Bcast(&bad, 1, MPI_INT, 0, c->comm));
  if (bad && rank == 0) unlink(c->tmp);
  char what[256], path[1100];
  snprintf(what, sizeof what, "%s", c->what);
  snprintf(path, sizeof path, "%s", c->path);
  MPI_Comm comm = c->comm;
  free(c);
  *cp = NULL;
  bad = bf_failed(comm, bad, "checkpoint %s: %s; the previous generation is intact", path,
                  what[0] ? what : "a write failed on another rank");
  MPI_Comm_free(&comm);
  return bad;
}

/* ---- reading ------------------------------------------------------------ */

/* Collective: did any rank find a fault?  If so every rank gets the lowest
 * such rank's reason, so that the one message rank 0 prints is right. */
static int agree(MPI_Comm comm, int bad, char *why, size_t n)
{
  int rank, who, mine;
  MPI_Comm_rank(comm, &rank);
  mine = bad ? rank : INT32_MAX;
  BF_MPI(MPI_Allreduce(&mine, &who, 1, MPI_INT, MPI_MIN, comm));
  if (who == INT32_MAX) return 0;
  BF_MPI(MPI_Bcast(why, (int)n, MPI_CHAR, who, comm));
  return 1;
}

int bf_ckpt_agree(bf_ckpt *c, int bad, char *why, size_t n)
{
  return agree(c->comm, bad, why, n);
}

/* A string attribute's text, fixed or variable length; NULL if unreadable
 * or implausibly long (16 MiB: an input file is a few KiB). */
static char *read_text(hid_t a, hid_t t)
{
  char *s = NULL;
  if (H5Tis_variable_str(t) > 0) {
    hid_t mt = H5Tcopy(t); /* its character set too: h5py writes UTF-8 */
    char *v = NULL;
    if (H5Aread(a, mt, &v) >= 0 && v) s = strdup(v);
    if (v) H5free_memory(v);
    H5Tclose(mt);
    return s;
  }
  size_t n = H5Tget_size(t);
  if (n == 0 || n > (16u << 20)) return NULL;
  s = BF_CALLOC(n + 1, char);
  if (H5Aread(a, t, s) < 0) free(s), s = NULL;
  return s;
}

/* One attribute of the file: 'i' (an integer, in *v) or 's' (a string, in
 * *s, malloc'd), or 0 if absent, not a scalar, or of another type. */
static int read_attr(hid_t file, const char *name, int64_t *v, char **s)
{
  if (H5Aexists(file, name) <= 0) return 0;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  if (a < 0) return 0;
  hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
  int kind = 0;
  if (t >= 0 && sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1) {
    H5T_class_t cls = H5Tget_class(t);
    if (cls == H5T_INTEGER && v && H5Aread(a, H5T_NATIVE_INT64, v) >= 0) kind = 'i';
    if (cls == H5T_STRING && s && (*s = read_text(a, t))) kind = 's';
  }
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  H5Aclose(a);
  return kind;
}

typedef struct attr_walk { uint64_t sum; char *why; size_t n; } attr_walk;

static herr_t attr_one(hid_t file, const char *name, const H5A_info_t *info, void *op)
{
  (void)info;
  attr_walk *w = op;
  if (!strcmp(name, "attr_checksum") || !strcmp(name, "complete")) return 0;
  int64_t v = 0;
  char *s = NULL;
  int kind = read_attr(file, name, &v, &s);
  if (!kind) {
    snprintf(w->why, w->n, "attribute %s is not a readable scalar integer or string", name);
    return 1;
  }
  w->sum += kind == 'i' ? int_hash(name, v) : attr_hash(name, 's', s, strlen(s));
  free(s);
  return 0;
}

/* `complete` = 1, and every attribute summed against attr_checksum. */
static void check_attrs(bf_ckpt *c, char *why, size_t n)
{
  int64_t complete = 0;
  uint64_t want = 0;
  if (H5Aexists(c->file, "complete") < 0) { /* an error, not an absence */
    snprintf(why, n, "the file's attributes are unreadable (damaged structure: an HDF5 "
             "metadata checksum fails)");
    return;
  }
  if (read_attr(c->file, "complete", &complete, NULL) != 'i' || complete != 1) {
    if (H5Lexists(c->file, "/config", H5P_DEFAULT) > 0) /* a result has /config (run.c write_config) */
      snprintf(why, n, "a brgflow result file, not a checkpoint (restart from OUTPUT.ckpt.h5)");
    else
      snprintf(why, n, "incomplete (no `complete` mark)");
    return;
  }
  hid_t a = H5Aexists(c->file, "attr_checksum") > 0 ? H5Aopen(c->file, "attr_checksum", H5P_DEFAULT) : -1;
  /* unsigned: read as int64, a sum >= 2^63 would be clamped */
  int ok = a >= 0 && H5Aread(a, H5T_NATIVE_UINT64, &want) >= 0;
  if (a >= 0) H5Aclose(a);
  if (!ok) {
    snprintf(why, n, "no attribute attr_checksum (damaged, or written before brgflow "
             "checksummed attributes)");
    return;
  }
  attr_walk w = {0, why, n};
  hsize_t at = 0;
  if (H5Aiterate2(c->file, H5_INDEX_NAME, H5_ITER_INC, &at, attr_one, &w) != 0) {
    if (!why[0]) snprintf(why, n, "unreadable attributes");
    return;
  }
  if (w.sum != want)
    snprintf(why, n, "the attributes fail their checksum attr_checksum (an attribute was "
             "changed, added or removed)");
}

/* The superblock version of an HDF5 file at offset 0 (brgflow writes no
 * user block), -1 if the signature is not there, -2 if unreadable.
 * Checkpoints are written with superblock v2 or later, whose metadata HDF5
 * checksums; an older one is refused before HDF5 parses it, because a
 * damaged v0/v1 object header can make libhdf5 itself read freed memory
 * (tests/fuzz/regress/ckpt/hdf5-attr-use-after-free). */
static int superblock_version(const char *path)
{
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char head[9];
  FILE *f = fopen(path, "rb");
  if (!f) return -2;
  size_t got = fread(head, 1, sizeof head, f);
  fclose(f);
  return got == sizeof head && !memcmp(head, sig, sizeof sig) ? head[8] : -1;
}

bf_ckpt *bf_ckpt_open(MPI_Comm comm, const char *path, char *why, size_t n)
{
  bf_ckpt *c = BF_CALLOC(1, bf_ckpt);
  BF_MPI(MPI_Comm_dup(comm, &c->comm));
  snprintf(c->path, sizeof c->path, "%s", path);
  bf_h5_errors_off(); /* until bf_ckpt_close */
  why[0] = '\0';
  int rank, sb;
  BF_MPI(MPI_Comm_rank(c->comm, &rank));
  sb = rank == 0 ? superblock_version(path) : 0;
  BF_MPI(MPI_Bcast(&sb, 1, MPI_INT, 0, c->comm)); /* every rank opens, or none */
  int ok = sb >= 2;
  hid_t fa = fapl(c->comm);
  c->file = ok ? H5Fopen(path, H5F_ACC_RDONLY, fa) : -1;
  H5Pclose(fa);
  if (sb == -2)
    snprintf(why, n, "missing");
  else if (sb == -1)
    snprintf(why, n, "not an HDF5 file (no HDF5 signature at its start: truncated or damaged)");
  else if (sb < 2)
    snprintf(why, n, "an HDF5 file with a version %d superblock: not a brgflow checkpoint "
             "(they have version 2 or later, whose metadata HDF5 checksums)", sb);
  else if (c->file < 0)
    snprintf(why, n, "not a readable HDF5 file (truncated or damaged)");
  else
    check_attrs(c, why, n);
  if (agree(c->comm, why[0] != '\0', why, n)) bf_ckpt_close(&c);
  return c;
}

/* A dataset `name` that is float64 with the dimensions `want`, or -1 with
 * the reason. */
static hid_t open_dataset(bf_ckpt *c, const char *name, const hsize_t want[2], char *why,
                          size_t n)
{
  H5O_info_t oi;
  if (H5Lexists(c->file, name, H5P_DEFAULT) <= 0 ||
      H5Oget_info_by_name(c->file, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET) {
    snprintf(why, n, "dataset %s is missing", name);
    return -1;
  }
  hid_t ds = H5Dopen2(c->file, name, H5P_DEFAULT);
  hid_t t = ds >= 0 ? H5Dget_type(ds) : -1, sp = ds >= 0 ? H5Dget_space(ds) : -1;
  hsize_t dims[2] = {0, 0};
  int f64 = t >= 0 && H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 8;
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  if (rank == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
  if (ds < 0 || !f64)
    snprintf(why, n, "dataset %s is not float64", name);
  else if (rank != 2 || dims[0] != want[0] || dims[1] != want[1])
    snprintf(why, n, "dataset %s has the wrong shape (want %llu x %llu for this input)", name,
             (unsigned long long)want[0], (unsigned long long)want[1]);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  if (why[0] && ds >= 0) H5Dclose(ds), ds = -1;
  return ds;
}

static herr_t read_block(hid_t ds, int64_t ncols, int64_t first, int64_t count, double *data)
{
  hid_t fs = H5Dget_space(ds), ms;
  select_rows(fs, ncols, first, count, &ms);
  herr_t e = H5Dread(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, data);
  H5Sclose(ms), H5Sclose(fs);
  return e;
}

/* This rank's part of a dataset's checksum over its blocks of rows, read
 * in pieces of about 8 MiB; 0 if a read failed. */
static int sum_blocks(hid_t ds, int64_t ncols, int64_t nb, const int64_t *first,
                      const int64_t *count, uint64_t *sum)
{
  int64_t piece = ncols > 0 ? (1 << 20) / ncols + 1 : 1;
  double *x = malloc(sizeof(double) * (size_t)(piece * (ncols > 0 ? ncols : 1)));
  int ok = x != NULL;
  for (int64_t b = 0; ok && b < nb; b++)
    for (int64_t r = 0; ok && ncols > 0 && r < count[b]; r += piece) {
      int64_t n = count[b] - r < piece ? count[b] - r : piece, row = first[b] + r;
      ok = read_block(ds, ncols, row, n, x) >= 0;
      for (int64_t i = 0; ok && i < n * ncols; i++) *sum += mix((uint64_t)(row * ncols + i), x[i]);
    }
  free(x);
  return ok;
}

int bf_ckpt_check_blocks(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols, int64_t nb,
                         const int64_t *first, const int64_t *count, char *why, size_t n)
{
  hsize_t want[2] = {(hsize_t)nrows, (hsize_t)(ncols > 0 ? ncols : 1)};
  uint64_t stored = 0, sum = 0, all;
  why[0] = '\0';
  hid_t ds = open_dataset(c, name, want, why, n), a = -1;
  if (ds >= 0) a = H5Aexists(ds, "checksum") > 0 ? H5Aopen(ds, "checksum", H5P_DEFAULT) : -1;
  if (ds >= 0 && (a < 0 || H5Aread(a, H5T_NATIVE_UINT64, &stored) < 0))
    snprintf(why, n, "dataset %s has no checksum", name);
  if (a >= 0) H5Aclose(a);
  if (!agree(c->comm, why[0] != '\0', why, n) && !sum_blocks(ds, ncols, nb, first, count, &sum))
    snprintf(why, n, "dataset %s cannot be read", name);
  if (ds >= 0) H5Dclose(ds);
  if (agree(c->comm, why[0] != '\0', why, n)) return 0;
  BF_MPI(MPI_Allreduce(&sum, &all, 1, MPI_UINT64_T, MPI_SUM, c->comm));
  if (all == stored) return 1;
  snprintf(why, n, "dataset %s fails its checksum", name);
  return 0;
}

int bf_ckpt_check_rows(bf_ckpt *c, const char *name, int64_t nrows, int64_t ncols,
                       int64_t first, int64_t count, char *why, size_t n)
{
  return bf_ckpt_check_blocks(c, name, nrows, ncols, 1, &first, &count, why, n);
}

int bf_ckpt_check_whole(bf_ckpt *c, const char *name, int64_t n, char *why, size_t nwhy)
{
  int rank;
  MPI_Comm_rank(c->comm, &rank);
  return bf_ckpt_check_rows(c, name, 1, n, 0, rank == 0 ? 1 : 0, why, nwhy);
}

int bf_ckpt_get_int(bf_ckpt *c, const char *name, int64_t *v)
{
  return read_attr(c->file, name, v, NULL) == 'i';
}

char *bf_ckpt_get_string(bf_ckpt *c, const char *name)
{
  char *s = NULL;
  return read_attr(c->file, name, NULL, &s) == 's' ? s : NULL;
}

void bf_ckpt_read_blocks(bf_ckpt *c, const char *name, int64_t ncols, int64_t nb,
                         const int64_t *first, const int64_t *count, double *data)
{
  hid_t ds = H5Dopen2(c->file, name, H5P_DEFAULT);
  BF_ASSERT(ds >= 0); /* checked by bf_ckpt_check_blocks */
  hid_t fs = H5Dget_space(ds), ms;
  select_blocks(fs, ncols, nb, first, count, &ms);
  BF_ASSERT(H5Dread(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, data) >= 0);
  H5Sclose(ms), H5Sclose(fs), H5Dclose(ds);
}

void bf_ckpt_read_rows(bf_ckpt *c, const char *name, int64_t ncols, int64_t first,
                       int64_t count, double *data)
{
  bf_ckpt_read_blocks(c, name, ncols, 1, &first, &count, data);
}

void bf_ckpt_read_whole(bf_ckpt *c, const char *name, int64_t n, double *data)
{
  bf_ckpt_read_rows(c, name, n, 0, 1, data);
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
