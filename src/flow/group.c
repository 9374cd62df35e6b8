/* group.c — the eigen-basis flow of a group's members, with their
 * eigenvectors distributed over the group by parameter rows (docs/theory.md
 * f and j).
 *
 *   bf_shells_group_create   every member's coefficients c_j = v_j.(draw - theta*)
 *   bf_shells_group_step     every member coarse-grained at a cutoff, onto its rank
 *   bf_shells_group_destroy  free it
 *
 * The numbers do not depend on how the rows are spread: a coefficient is
 * the sum, over the chunks in order, of per-chunk partial dot products
 * (gathered, not reduced: no arithmetic depends on the rank count); a row
 * of the coarse-grained theta is assembled by the one rank that owns it, in
 * ascending lambda as bf_shells_advance adds shells, and the rows are then
 * copied onto the member's rank.  So a flow is bitwise the same on any
 * number of ranks for the same vectors, and a restart (vectors read from
 * the checkpoint) continues it bitwise. */
#include "brgflow/flow.h"

#include <stdlib.h>
#include <string.h>

struct bf_shells_group {
  const bf_grid *g;
  const bf_evec_map *m;
  const bf_model *mod;
  const double *evec;        /* the group's members: count x rows x k */
  double *lambda;            /* the group's members' spectra: count x k */
  double *coef;              /* count x k */
  double *t;                 /* this rank's rows of each coarse-grained block: count x rows */
  int64_t *lo, *resolved;    /* count each */
};

/* Group member e's owner (group rank) and its index among that rank's members. */
static int owner_of(const bf_evec_map *m, int64_t e, int64_t *local)
{
  int r = 0;
  while (e >= m->counts[r]) e -= m->counts[r++];
  *local = e;
  return r;
}

/* Every group member's spectrum on every group rank (each rank has its own). */
static double *group_lambda(const bf_grid *g, const bf_evec_map *m, const double *lambda)
{
  int *counts = BF_ALLOC(m->size, int), *displs = BF_ALLOC(m->size, int);
  for (int r = 0, off = 0; r < m->size; r++)
    counts[r] = (int)(m->counts[r] * m->k), displs[r] = off, off += counts[r];
  double *all = BF_ALLOC(m->count * m->k + 1, double);
  BF_MPI(MPI_Allgatherv(lambda, counts[m->rank], MPI_DOUBLE, all, counts, displs, MPI_DOUBLE,
                        g->comm));
  free(counts), free(displs);
  return all;
}

/* Member e's coefficients from theta* (P, every group rank): this rank's
 * per-chunk partials (and its rows of theta* as the flow's start), all
 * chunks' gathered, then summed over the chunks in order. */
static void member_coefficients(bf_shells_group *s, int64_t e, const double *theta,
                                const double *sd, uint64_t seed)
{
  const bf_evec_map *m = s->m;
  int64_t k = m->k, mine = m->rows > 0 ? (m->nchunks - m->rank + m->size - 1) / m->size : 0;
  const double *ts = theta + s->mod->t0, *V = s->evec + e * m->rows * k;
  double *x = BF_ALLOC(m->chunk, double), *part = BF_ALLOC(mine * k + 1, double);
  double *t = s->t + e * m->rows;
  int64_t off = 0, i = 0, a0;
  for (int64_t c = m->rank; c < m->nchunks; c += m->size, i++) {
    int64_t len = bf_evec_chunk_rows(m, c, &a0);
    if (sd) bf_flow_prior_rows(sd, seed, m->first + e, a0, len, x);
    for (int64_t a = 0; a < len; a++) x[a] = (sd ? x[a] : 0.0) - ts[a0 + a];
    bf_shells_partial(len, k, V + off * k, x, part + i * k);
    memcpy(t + off, ts + a0, sizeof(double) * len);
    off += len;
  }
  int *counts = BF_ALLOC(m->size, int), *displs = BF_ALLOC(m->size, int);
  for (int r = 0, o = 0; r < m->size; r++) {
    counts[r] = (int)(((m->nchunks - r + m->size - 1) / m->size) * k);
    displs[r] = o, o += counts[r];
  }
  double *all = BF_ALLOC(m->nchunks * k, double), *coef = s->coef + e * k;
  BF_MPI(MPI_Allgatherv(part, (int)(mine * k), MPI_DOUBLE, all, counts, displs, MPI_DOUBLE,
                        s->g->comm));
  memset(coef, 0, sizeof(double) * k);
  for (int64_t c = 0; c < m->nchunks; c++) { /* chunk c: rank c mod size's (c / size)-th */
    const double *pc = all + displs[c % m->size] + (c / m->size) * k;
    for (int64_t j = 0; j < k; j++) coef[j] += pc[j];
  }
  free(x), free(part), free(counts), free(displs), free(all);
}

bf_shells_group *bf_shells_group_create(const bf_grid *g, const bf_evec_map *map,
                                        const bf_model *mod, const double *lambda,
                                        const double *evec, const double *theta,
                                        const double *sd, uint64_t seed)
{
  bf_shells_group *s = BF_CALLOC(1, bf_shells_group);
  int64_t n = map->count, k = map->k, P = mod->P, local;
  *s = (bf_shells_group){g, map, mod, evec, group_lambda(g, map, lambda),
                         BF_ALLOC(n * k + 1, double), BF_ALLOC(n * map->rows + 1, double),
                         BF_ALLOC(n + 1, int64_t), BF_ALLOC(n + 1, int64_t)};
  double *th = BF_ALLOC(P, double);
  for (int64_t e = 0; e < n; e++) { /* the owner broadcasts theta*, as the metric does */
    int r = owner_of(map, e, &local);
    if (r == map->rank) memcpy(th, theta + local * P, sizeof(double) * P);
    bf_bcast_doubles(g->comm, th, P, r);
    member_coefficients(s, e, th, sd, seed);
    s->resolved[e] = s->lo[e] = bf_shells_resolved(k, s->lambda + e * k);
  }
  free(th);
  return s;
}

void bf_shells_group_step(bf_shells_group *s, double cut, int relative, double *theta,
                          int64_t *sloppy)
{
  const bf_evec_map *m = s->m;
  int64_t k = m->k, P = s->mod->P, local;
  for (int64_t e = 0; e < m->count; e++) {
    const double *lam = s->lambda + e * k;
    double Lambda = relative ? cut * lam[0] : cut;
    int64_t n = bf_shells_advance(m->rows, k, s->resolved[e], lam, s->evec + e * m->rows * k,
                                  s->coef + e * k, Lambda, &s->lo[e], s->t + e * m->rows);
    int r = owner_of(m, e, &local);
    double *out = r == m->rank ? theta + local * P + s->mod->t0 : NULL;
    bf_evec_gather(s->g, m, 1, s->t + e * m->rows, r, out);
    if (r == m->rank) sloppy[local] = n;
  }
}

void bf_shells_group_destroy(bf_shells_group **sp)
{
  bf_shells_group *s = *sp;
  if (!s) return;
  free(s->lambda), free(s->coef), free(s->t), free(s->lo), free(s->resolved);
  free(s);
  *sp = NULL;
}
