/* moments.c — two- and connected four-point functions at a set of points.
 *
 *   bf_moments_create   accumulators: per block of members, double-double
 *   bf_moments_destroy  free them
 *   bf_moments_reset    zero them for a new measurement (the flow's next step)
 *   bf_moments_add      fold in one member's outputs f(x_1..x_n)
 *   bf_moments_finish   reduce over ranks: G2 +- stderr, G4c +- jackknife
 *
 * G2(i,j) = <f_i f_j>; its error is the standard error over members.
 * G4c(ijkl) = <f_i f_j f_k f_l> - (G_ij G_kl + G_ik G_jl + G_il G_jk) is a
 * nonlinear function of means, so its error comes from a delete-one-block
 * jackknife.  Block b holds members [b E/B, (b+1) E/B): a member's block is
 * fixed by its index, so the estimate does not depend on the rank layout.
 * Members need not all be added (the flow leaves dropped ones out): each
 * block counts those it holds, and the means divide by the counts. */
#include "brgflow/nnft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bf_moments {
  MPI_Comm comm;
  int n, nq, B;
  int (*quad)[4];
  int64_t members;
  /* per block, hi and lo parts: s2 (n*n), s4 (nq); over all: q2 (n*n) */
  double *s2, *s2l, *s4, *s4l, *q2, *q2l;
  double *cnt; /* per block: members added (integers, exact in a double) */
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
  m->quad = (int (*)[4])BF_ALLOC(4 * nquads, int);
  memcpy(m->quad, quad, sizeof(int[4]) * nquads);
  int64_t n2 = (int64_t)n * n;
  m->s2 = BF_CALLOC(m->B * n2, double);
  m->s2l = BF_CALLOC(m->B * n2, double);
  m->s4 = BF_CALLOC(m->B * nquads, double);
  m->s4l = BF_CALLOC(m->B * nquads, double);
  m->q2 = BF_CALLOC(n2, double);
  m->q2l = BF_CALLOC(n2, double);
  m->cnt = BF_CALLOC(m->B, double);
  return m;
}

void bf_moments_reset(bf_moments *m)
{
  int64_t n2 = (int64_t)m->n * m->n;
  memset(m->s2, 0, sizeof(double) * m->B * n2), memset(m->s2l, 0, sizeof(double) * m->B * n2);
  memset(m->s4, 0, sizeof(double) * m->B * m->nq);
  memset(m->s4l, 0, sizeof(double) * m->B * m->nq);
  memset(m->q2, 0, sizeof(double) * n2), memset(m->q2l, 0, sizeof(double) * n2);
  memset(m->cnt, 0, sizeof(double) * m->B);
}

void bf_moments_destroy(bf_moments **mp)
{
  bf_moments *m = *mp;
  if (!m) return;
  free(m->quad);
  free(m->s2);
  free(m->s2l);
  free(m->s4);
  free(m->s4l);
  free(m->q2);
  free(m->q2l);
  free(m->cnt);
  BF_MPI(MPI_Comm_free(&m->comm));
  free(m);
  *mp = NULL;
}

static int block_of(const bf_moments *m, int64_t member)
{
  return (int)(member * m->B / m->members);
}

void bf_moments_add(bf_moments *m, int64_t member, const double *f)
{
  int n = m->n, b = block_of(m, member);
  double *s2 = m->s2 + (int64_t)b * n * n, *s2l = m->s2l + (int64_t)b * n * n;
  m->cnt[b] += 1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double p = f[i] * f[j];
      bf_dd_add(&s2[i * n + j], &s2l[i * n + j], p);
      bf_dd_add(&m->q2[i * n + j], &m->q2l[i * n + j], p * p);
    }
  for (int q = 0; q < m->nq; q++) {
    const int *k = m->quad[q];
    bf_dd_add(&m->s4[b * m->nq + q], &m->s4l[b * m->nq + q],
              f[k[0]] * f[k[1]] * f[k[2]] * f[k[3]]);
  }
}

/* G4c from summed moments over `count` members. */
static double connected(const bf_moments *m, int q, const double *s2,
                        double s4, double count)
{
  const int *k = m->quad[q];
  int n = m->n;
#define G(a, b) (s2[k[a] * n + k[b]] / count)
  return s4 / count - (G(0, 1) * G(2, 3) + G(0, 2) * G(1, 3) + G(0, 3) * G(1, 2));
#undef G
}

void bf_moments_finish(bf_moments *m, double *g2, double *g2_err, double *g4c,
                       double *g4c_err)
{
  int n = m->n, nq = m->nq, B = m->B;
  int64_t n2 = (int64_t)n * n;
  bf_dd_allreduce(m->comm, B * n2, m->s2, m->s2l);
  bf_dd_allreduce(m->comm, B * nq, m->s4, m->s4l);
  bf_dd_allreduce(m->comm, n2, m->q2, m->q2l);
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, m->cnt, B, MPI_DOUBLE, MPI_SUM, m->comm));
  double E = 0; /* all members, when every one was added */
  for (int b = 0; b < B; b++) E += m->cnt[b];
  /* totals over blocks, still in double-double */
  double *t2 = BF_CALLOC(n2, double), *t2l = BF_CALLOC(n2, double);
  double *t4 = BF_CALLOC(nq, double), *t4l = BF_CALLOC(nq, double);
  for (int b = 0; b < B; b++) {
    for (int64_t k = 0; k < n2; k++) {
      bf_dd_add(&t2[k], &t2l[k], m->s2[b * n2 + k]);
      bf_dd_add(&t2[k], &t2l[k], m->s2l[b * n2 + k]);
    }
    for (int q = 0; q < nq; q++) {
      bf_dd_add(&t4[q], &t4l[q], m->s4[b * nq + q]);
      bf_dd_add(&t4[q], &t4l[q], m->s4l[b * nq + q]);
    }
  }
  for (int64_t k = 0; k < n2; k++) {
    double mean = (t2[k] + t2l[k]) / E;
    double var = ((m->q2[k] + m->q2l[k]) - E * mean * mean) / (E - 1);
    g2[k] = mean;
    g2_err[k] = sqrt(fmax(var, 0) / E);
    t2[k] += t2l[k];
  }
  /* delete-one-block jackknife for G4c */
  double *s2b = BF_ALLOC(n2, double);
  for (int q = 0; q < nq; q++) {
    double total4 = t4[q] + t4l[q], mean = 0, sq = 0;
    g4c[q] = connected(m, q, t2, total4, E);
    for (int b = 0; b < B; b++) {
      for (int64_t k = 0; k < n2; k++)
        s2b[k] = t2[k] - (m->s2[b * n2 + k] + m->s2l[b * n2 + k]);
      double rest4 = total4 - (m->s4[b * nq + q] + m->s4l[b * nq + q]);
      double est = connected(m, q, s2b, rest4, E - m->cnt[b]);
      mean += est / B;
      sq += est * est / B;
    }
    g4c_err[q] = sqrt(fmax((B - 1) * (sq - mean * mean), 0));
  }
  free(s2b);
  free(t2);
  free(t2l);
  free(t4);
  free(t4l);
}
