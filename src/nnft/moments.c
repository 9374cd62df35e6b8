/* moments.c — two- and connected four-point functions at a set of points.
 *
 *   bf_moments_create   accumulators: double-double, G4c's per block of members
 *   bf_moments_destroy  free them
 *   bf_moments_reset    zero them for a new measurement (the flow's next step)
 *   bf_moments_shift    the centre c subtracted before the G4c products
 *   bf_moments_add      fold in one member's outputs f(x_1..x_n)
 *   bf_moments_finish   reduce over ranks: G2 +- stderr, G4c +- jackknife
 *
 * G2(i,j) = <f_i f_j>; its error is the standard error over members.
 * G4c(ijkl) is the joint fourth cumulant of (f_i, f_j, f_k, f_l), the
 * connected four-point function (docs/physics.md 1):
 *   <ijkl> - sum_4 <ijk><l> - sum_3 <ij><kl> + 2 sum_6 <ij><k><l> - 6 <i><j><k><l>.
 * For a prior ensemble (E f = 0) it is <ijkl> - (G_ij G_kl + G_ik G_jl +
 * G_il G_jk) up to the sampling noise of the means; a trained ensemble has
 * E f != 0, and only the cumulant measures its non-Gaussianity (the
 * uncentred form would hold -2 <f>^4 for a Gaussian).  The cumulant does
 * not change when f is shifted by a constant, so the products are taken
 * of f - c with c near the mean (bf_moments_shift): the same value with
 * far less cancellation.  It is a nonlinear function of means, so its
 * error comes from a delete-one-block jackknife.  Block b holds members
 * [b E/B, (b+1) E/B): a member's block is fixed by its index, so the
 * estimate does not depend on the rank layout.  Members need not all be
 * added (the flow leaves dropped ones out): each block counts those it
 * holds, and the means divide by the counts. */
#include "brgflow/nnft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per quadruple (a = 0..3 its points) and block, the sums of products of
 * d_a = f_a - c_a: the four, the triples without a, the pairs, the ones. */
enum { S4 = 0, S3 = 1, S2 = 5, S1 = 11, NSUM = 15 };
static const int PAIR[6][4] = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 3, 1, 2},
                               {1, 2, 0, 3}, {1, 3, 0, 2}, {2, 3, 0, 1}};

struct bf_moments {
  MPI_Comm comm;
  int n, nq, B;
  int (*quad)[4];
  int64_t members;
  /* hi and lo parts over all members: s2, q2 (n*n); per block: qs (nq*NSUM) */
  double *s2, *s2l, *q2, *q2l, *qs, *qsl;
  double *cnt;   /* per block: members added (integers, exact in a double) */
  double *shift; /* c (n), 0 unless set */
};

bf_moments *bf_moments_create(MPI_Comm comm, int n, int nquads,
                              const int (*quad)[4], int64_t members, int blocks)
{
  bf_moments *m = BF_CALLOC(1, bf_moments);
  bf_comm_dup(comm, &m->comm);
  m->n = n;
  m->nq = nquads;
  m->B = blocks < members ? blocks : (int)members;
  m->members = members;
  m->quad = (int (*)[4])BF_ALLOC(4 * nquads + 1, int);
  memcpy(m->quad, quad, sizeof(int[4]) * nquads);
  int64_t n2 = (int64_t)n * n, ns = (int64_t)m->B * nquads * NSUM + 1;
  m->s2 = BF_CALLOC(n2, double), m->s2l = BF_CALLOC(n2, double);
  m->q2 = BF_CALLOC(n2, double), m->q2l = BF_CALLOC(n2, double);
  m->qs = BF_CALLOC(ns, double), m->qsl = BF_CALLOC(ns, double);
  m->cnt = BF_CALLOC(m->B, double);
  m->shift = BF_CALLOC(n, double);
  return m;
}

void bf_moments_reset(bf_moments *m)
{
  int64_t n2 = (int64_t)m->n * m->n, ns = (int64_t)m->B * m->nq * NSUM;
  memset(m->s2, 0, sizeof(double) * n2), memset(m->s2l, 0, sizeof(double) * n2);
  memset(m->q2, 0, sizeof(double) * n2), memset(m->q2l, 0, sizeof(double) * n2);
  memset(m->qs, 0, sizeof(double) * ns), memset(m->qsl, 0, sizeof(double) * ns);
  memset(m->cnt, 0, sizeof(double) * m->B);
}

void bf_moments_shift(bf_moments *m, const double *c)
{
  memcpy(m->shift, c, sizeof(double) * m->n);
}

void bf_moments_destroy(bf_moments **mp)
{
  bf_moments *m = *mp;
  if (!m) return;
  free(m->quad);
  free(m->s2), free(m->s2l), free(m->q2), free(m->q2l), free(m->qs), free(m->qsl);
  free(m->cnt), free(m->shift);
  BF_MPI(MPI_Comm_free(&m->comm));
  free(m);
  *mp = NULL;
}

static int block_of(const bf_moments *m, int64_t member)
{
  return (int)(member * m->B / m->members);
}

/* The NSUM products of one member's centred outputs d[0..3] at a quadruple. */
static void products(const double d[4], double *s)
{
  s[S4] = d[0] * d[1] * d[2] * d[3];
  for (int a = 0; a < 4; a++) {
    double t = 1;
    for (int b = 0; b < 4; b++) t *= b == a ? 1 : d[b];
    s[S3 + a] = t;
    s[S1 + a] = d[a];
  }
  for (int p = 0; p < 6; p++) s[S2 + p] = d[PAIR[p][0]] * d[PAIR[p][1]];
}

void bf_moments_add(bf_moments *m, int64_t member, const double *f)
{
  int n = m->n, b = block_of(m, member);
  m->cnt[b] += 1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double p = f[i] * f[j];
      bf_dd_add(&m->s2[i * n + j], &m->s2l[i * n + j], p);
      bf_dd_add(&m->q2[i * n + j], &m->q2l[i * n + j], p * p);
    }
  for (int q = 0; q < m->nq; q++) {
    const int *k = m->quad[q];
    double d[4], s[NSUM];
    for (int a = 0; a < 4; a++) d[a] = f[k[a]] - m->shift[k[a]];
    products(d, s);
    int64_t o = ((int64_t)b * m->nq + q) * NSUM;
    for (int j = 0; j < NSUM; j++) bf_dd_add(&m->qs[o + j], &m->qsl[o + j], s[j]);
  }
}

/* The joint fourth cumulant from the NSUM sums over `count` members. */
static double cumulant(const double *s, double count)
{
  double m4 = s[S4] / count, m1[4], three = 0, pairs = 0, twos = 0;
  for (int a = 0; a < 4; a++) m1[a] = s[S1 + a] / count;
  for (int a = 0; a < 4; a++) three += s[S3 + a] / count * m1[a];
  for (int p = 0; p < 3; p++) pairs += s[S2 + p] / count * (s[S2 + 5 - p] / count);
  for (int p = 0; p < 6; p++) twos += s[S2 + p] / count * m1[PAIR[p][2]] * m1[PAIR[p][3]];
  return m4 - three - pairs + 2 * twos - 6 * m1[0] * m1[1] * m1[2] * m1[3];
}

void bf_moments_finish(bf_moments *m, double *g2, double *g2_err, double *g4c,
                       double *g4c_err)
{
  int nq = m->nq, B = m->B;
  int64_t n2 = (int64_t)m->n * m->n, ns = (int64_t)B * nq * NSUM;
  bf_dd_allreduce(m->comm, n2, m->s2, m->s2l);
  bf_dd_allreduce(m->comm, n2, m->q2, m->q2l);
  bf_dd_allreduce(m->comm, ns, m->qs, m->qsl);
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, m->cnt, B, MPI_DOUBLE, MPI_SUM, m->comm));
  double E = 0; /* all members, when every one was added */
  for (int b = 0; b < B; b++) E += m->cnt[b];
  for (int64_t k = 0; k < n2; k++) {
    double mean = (m->s2[k] + m->s2l[k]) / E;
    double var = ((m->q2[k] + m->q2l[k]) - E * mean * mean) / (E - 1);
    g2[k] = mean;
    g2_err[k] = sqrt(bf_nonneg(var) / E);
  }
  /* totals over blocks, in double-double; then delete-one-block jackknife */
  double tot[NSUM], totl[NSUM], rest[NSUM];
  for (int q = 0; q < nq; q++) {
    memset(tot, 0, sizeof tot), memset(totl, 0, sizeof totl);
    for (int b = 0; b < B; b++)
      for (int j = 0; j < NSUM; j++) {
        int64_t o = ((int64_t)b * nq + q) * NSUM + j;
        bf_dd_add(&tot[j], &totl[j], m->qs[o]);
        bf_dd_add(&tot[j], &totl[j], m->qsl[o]);
      }
    for (int j = 0; j < NSUM; j++) tot[j] += totl[j];
    g4c[q] = cumulant(tot, E);
    double mean = 0, sq = 0;
    for (int b = 0; b < B; b++) {
      int64_t o = ((int64_t)b * nq + q) * NSUM;
      for (int j = 0; j < NSUM; j++) rest[j] = tot[j] - (m->qs[o + j] + m->qsl[o + j]);
      double est = cumulant(rest, E - m->cnt[b]);
      mean += est / B;
      sq += est * est / B;
    }
    g4c_err[q] = sqrt(bf_nonneg((B - 1) * (sq - mean * mean)));
  }
}
