/* dmat.c — dense matrices distributed block-cyclically over a group's grid
 * (ScaLAPACK's layout: local blocks column-major, descriptor per matrix).
 *
 *   bf_dmat_make     a global m x n matrix, local blocks zeroed
 *   bf_dmat_free     release them
 *   bf_global_index  global row or column of a local one
 *   bf_block_for     the block size to use for a size-n problem on a grid
 *   bf_dmat_eigen    all eigenvalues (and vectors) of a symmetric matrix
 *   bf_dmat_vector_set/get  a distributed vector from a replicated one, and back
 *   bf_dmat_entries  a few entries, on every rank
 *
 * Every allocation here is counted by bf_mem_track: the run's estimate of
 * its peak memory is built from these local blocks (docs/theory.md f). */
#include "brgflow/metric.h"
#include "brgflow/scalapack.h"

#include <stdlib.h>

bf_dmat bf_dmat_make(const bf_grid *g, int m, int n, int nb)
{
  bf_dmat d = {.m = m, .n = n, .nb = nb};
  int zero = 0, info;
  d.mloc = numroc_(&m, &nb, &g->myrow, &zero, &g->nprow);
  d.nloc = numroc_(&n, &nb, &g->mycol, &zero, &g->npcol);
  int lld = d.mloc > 1 ? d.mloc : 1;
  descinit_(d.desc, &m, &n, &nb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
  BF_ASSERT(info == 0);
  d.count = (int64_t)lld * (d.nloc > 0 ? d.nloc : 1);
  d.a = BF_CALLOC(d.count, double);
  bf_mem_track((double)d.count * sizeof(double));
  return d;
}

void bf_dmat_free(bf_dmat *d)
{
  if (!d->a) return;
  free(d->a);
  bf_mem_track(-(double)d->count * sizeof(double));
  d->a = NULL;
}

int64_t bf_global_index(int64_t i, int nb, int me, int nprocs)
{
  return (i / nb) * (int64_t)nb * nprocs + (int64_t)me * nb + i % nb;
}

int bf_block_for(const bf_grid *g, int size, int nb)
{
  /* at most the input's, and small enough that every process of the grid
   * owns a block (PDSYEVD fails otherwise) */
  int procs = g->nprow > g->npcol ? g->nprow : g->npcol;
  int most = (size + procs - 1) / procs;
  return nb < most ? nb : most > 0 ? most : 1;
}

/* Which driver: on one process PDSYEVR without vectors is fastest (1.6x
 * PDSYEVD at n = 1500); on a multi-process grid PDSYEVD, even computing
 * vectors, beat PDSYEVR without them (0.92x at n = 1500 on 1 x 2; `make
 * bench`, tools/bench_eigen); vectors, when wanted, by PDSYEVD. */
void bf_dmat_eigen(const bf_grid *g, bf_dmat *A, double *w, bf_dmat *Z)
{
  int one = 1, m = A->n, nz, info, lwork = -1, liwork = -1, iwq;
  double vl = 0, vu = 0, wq;
  /* vectors always by PDSYEVD: PDSYEVR's MRRR (DSTEGR2) was seen to fail on
   * the cos-net metric, whose eigenvalues repeat exactly */
  int divide = g->size > 1 || Z != NULL;
  bf_dmat scratch = {0};
  if (divide && !Z) { /* PDSYEVD always computes vectors */
    scratch = bf_dmat_make(g, A->m, A->n, A->nb);
    Z = &scratch;
  }
  const char *jobz = Z ? "V" : "N";
  bf_dmat *z = Z ? Z : A; /* not referenced for jobz = N, but must be valid */
  for (int pass = 0; pass < 2; pass++) { /* workspace query, then the solve */
    double *work = pass ? BF_ALLOC(lwork, double) : &wq;
    int *iwork = pass ? BF_ALLOC(liwork, int) : &iwq;
    if (pass) bf_mem_track((double)lwork * sizeof(double) + (double)liwork * sizeof(int));
    if (divide)
      pdsyevd_("V", "U", &A->n, A->a, &one, &one, A->desc, w, z->a, &one, &one, z->desc,
               work, &lwork, iwork, &liwork, &info);
    else
      pdsyevr_(jobz, "A", "U", &A->n, A->a, &one, &one, A->desc, &vl, &vu, &one, &one,
               &m, &nz, w, z->a, &one, &one, z->desc, work, &lwork, iwork, &liwork, &info);
    if (pass) {
      free(work);
      free(iwork);
      bf_mem_track(-((double)lwork * sizeof(double) + (double)liwork * sizeof(int)));
    } else {
      /* PDSYEVD's query underestimates on some grids (PDORMTR then rejects
       * LWORK: seen on 2 x 2); add PDORMTR's own bound as a margin */
      int nb = A->desc[5];
      lwork = (int)wq + 4 * (A->n + nb) * nb + 2 * nb * nb + 1024;
      liwork = iwq + 1024;
    }
  }
  BF_ASSERT(info == 0 && m == A->n);
  bf_dmat_free(&scratch);
}

void bf_dmat_vector_set(const bf_grid *g, bf_dmat *v, const double *y)
{
  for (int64_t i = 0; i < v->mloc && v->nloc > 0; i++)
    v->a[i] = y[bf_global_index(i, v->nb, g->myrow, g->nprow)];
}

/* The owners' entries, zeros elsewhere, summed over the grid: each entry
 * has one owner, so the sum is exact and the same at any grid. */
void bf_dmat_vector_get(const bf_grid *g, const bf_dmat *v, double *y)
{
  for (int64_t i = 0; i < v->m; i++) y[i] = 0;
  for (int64_t i = 0; i < v->mloc && v->nloc > 0; i++)
    y[bf_global_index(i, v->nb, g->myrow, g->nprow)] = v->a[i];
  bf_allreduce_sum_doubles(g->comm, MPI_IN_PLACE, y, v->m);
}

/* The local index of global index k on process me of nprocs, or -1. */
static int64_t local_index(int64_t k, int nb, int me, int nprocs)
{
  int64_t block = k / nb;
  return block % nprocs == me ? (block / nprocs) * nb + k % nb : -1;
}

void bf_dmat_entries(const bf_grid *g, const bf_dmat *A, int64_t count, const int64_t *rows,
                     const int64_t *cols, double *out)
{
  int64_t lld = A->mloc > 1 ? A->mloc : 1;
  for (int64_t k = 0; k < count; k++) { /* as bf_dmat_vector_get: one owner each */
    int64_t i = local_index(rows[k], A->nb, g->myrow, g->nprow);
    int64_t j = local_index(cols[k], A->nb, g->mycol, g->npcol);
    out[k] = i >= 0 && j >= 0 ? A->a[j * lld + i] : 0;
  }
  bf_allreduce_sum_doubles(g->comm, MPI_IN_PLACE, out, count);
}
