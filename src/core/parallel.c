/* parallel.c — work distribution and rank-count-independent reductions.
 *
 *   bf_block_range    contiguous balanced block of [0,total) for one rank
 *   bf_dd_add         add a double into a double-double accumulator
 *   bf_dd_allreduce   sum double-double accumulators over a communicator
 *   bf_dd_moments     mean and unbiased variance from summed x and x^2
 *   bf_allreduce_sum_doubles  a plain sum of an int64-counted array
 *   bf_bcast_doubles  broadcast of an int64-counted array
 *
 * Why double-double: an ensemble sum split over K ranks is added in a
 * K-dependent order.  Carrying the rounding error (Knuth's TwoSum) keeps the
 * sum exact to ~1e-32 relative, so the double that comes out is the same at
 * 1, 2 or 3 ranks, even where the sum nearly cancels. */
#include "brgflow/core.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void bf_block_range(int64_t total, int nranks, int rank, int64_t *first,
                    int64_t *count)
{
  int64_t base = total / nranks, extra = total % nranks;
  *first = rank * base + (rank < extra ? rank : extra);
  *count = base + (rank < extra ? 1 : 0);
}

static void two_sum(double a, double b, double *s, double *e)
{
  double x = a + b, z = x - a;
  *s = x;
  *e = (a - (x - z)) + (b - z);
}

void bf_dd_add(double *hi, double *lo, double x)
{
  double s, e;
  two_sum(*hi, x, &s, &e);
  e += *lo;
  two_sum(s, e, hi, lo);
}

/* MPI user op on pairs (hi, lo). */
static void dd_sum_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
  (void)type;
  double *a = in, *b = inout;
  for (int i = 0; i < *len; i++) {
    double s, e;
    two_sum(a[2 * i], b[2 * i], &s, &e);
    e += a[2 * i + 1] + b[2 * i + 1];
    two_sum(s, e, &b[2 * i], &b[2 * i + 1]);
  }
}

void bf_dd_allreduce(MPI_Comm comm, int64_t n, double *hi, double *lo)
{
  MPI_Datatype pair;
  MPI_Op op;
  BF_MPI(MPI_Type_contiguous(2, MPI_DOUBLE, &pair));
  BF_MPI(MPI_Type_commit(&pair));
  BF_MPI(MPI_Op_create(dd_sum_op, 1, &op));
  double *buf = BF_ALLOC(2 * n, double);
  for (int64_t i = 0; i < n; i++) {
    buf[2 * i] = hi[i];
    buf[2 * i + 1] = lo[i];
  }
  /* Chunks keep the count within int for lattices of any size. */
  const int64_t chunk = 1 << 26;
  for (int64_t off = 0; off < n; off += chunk) {
    int m = (int)(n - off < chunk ? n - off : chunk);
    BF_MPI(MPI_Allreduce(MPI_IN_PLACE, buf + 2 * off, m, pair, op, comm));
  }
  for (int64_t i = 0; i < n; i++) {
    hi[i] = buf[2 * i];
    lo[i] = buf[2 * i + 1];
  }
  free(buf);
  BF_MPI(MPI_Op_free(&op));
  BF_MPI(MPI_Type_free(&pair));
}

void bf_dd_moments(MPI_Comm comm, int64_t n, int64_t E, const double *s_hi,
                   const double *s_lo, const double *q_hi, const double *q_lo,
                   double *mean, double *var)
{
  double *s = BF_ALLOC(n, double), *sl = BF_ALLOC(n, double);
  double *q = BF_ALLOC(n, double), *ql = BF_ALLOC(n, double);
  memcpy(s, s_hi, n * sizeof(double));
  memcpy(sl, s_lo, n * sizeof(double));
  memcpy(q, q_hi, n * sizeof(double));
  memcpy(ql, q_lo, n * sizeof(double));
  bf_dd_allreduce(comm, n, s, sl);
  bf_dd_allreduce(comm, n, q, ql);
  for (int64_t i = 0; i < n; i++) {
    double m = (s[i] + sl[i]) / E;
    mean[i] = m;
    var[i] = bf_nonneg(((q[i] + ql[i]) - E * m * m) / (E - 1)); /* unbiased */
  }
  free(s), free(sl), free(q), free(ql);
}

/* MPI counts are int: n^2 kernels and n*P Jacobians can pass 2^31 elements.
 * Half of INT_MAX per call also keeps the byte count of a chunk (8 per
 * element) clear of implementations that count bytes in an int. */
#define CHUNK ((int64_t)INT_MAX / 2)

void bf_allreduce_sum_doubles(MPI_Comm comm, const void *send, double *recv,
                              int64_t count)
{
  const int64_t chunk = CHUNK;
  int in_place = send == MPI_IN_PLACE;
  for (int64_t off = 0; off < count; off += chunk) {
    int m = (int)(count - off < chunk ? count - off : chunk);
    const void *from = in_place ? MPI_IN_PLACE : (const double *)send + off;
    BF_MPI(MPI_Allreduce(from, recv + off, m, MPI_DOUBLE, MPI_SUM, comm));
  }
}

void bf_bcast_doubles(MPI_Comm comm, double *buf, int64_t count, int root)
{
  for (int64_t off = 0; off < count; off += CHUNK) {
    int m = (int)(count - off < CHUNK ? count - off : CHUNK);
    BF_MPI(MPI_Bcast(buf + off, m, MPI_DOUBLE, root, comm));
  }
}
