/* evec.c — a group's eigenvectors distributed by parameter rows (docs/theory.md f).
 *
 *   bf_evec_chunk        rows per chunk: a function of Pt alone
 *   bf_evec_map_create   the layout of a group's members' vectors on this rank
 *   bf_evec_map_destroy  free it
 *   bf_evec_chunk_rows   first row and length of a chunk
 *   bf_evec_gather       a rank's rows onto one rank, in parameter order
 *
 * Chunk c of the Pt parameter rows lives on group rank c mod size.  The
 * chunk size does not depend on the rank count: sums taken per chunk and
 * then over chunks in order (the flow's coefficients) are the same numbers
 * on any number of ranks. */
#include "brgflow/metric.h"

#include <stdlib.h>
#include <string.h>

/* At most ~1024 chunks (the flow's per-chunk partial sums stay k x 1024),
 * of at least 64 rows (a row's k entries are contiguous: whole cache lines). */
enum { MIN_CHUNK = 64, MAX_CHUNKS = 1024 };

int64_t bf_evec_chunk(int64_t Pt)
{
  int64_t per = (Pt + (int64_t)MIN_CHUNK * MAX_CHUNKS - 1) / ((int64_t)MIN_CHUNK * MAX_CHUNKS);
  return MIN_CHUNK * (per > 0 ? per : 1);
}

int64_t bf_evec_chunk_rows(const bf_evec_map *m, int64_t c, int64_t *a0)
{
  *a0 = c * m->chunk;
  return m->Pt - *a0 < m->chunk ? m->Pt - *a0 : m->chunk;
}

/* Rows group rank r holds per member. */
static int64_t rows_of(const bf_evec_map *m, int r)
{
  int64_t rows = 0, a0;
  for (int64_t c = r; c < m->nchunks; c += m->size) rows += bf_evec_chunk_rows(m, c, &a0);
  return rows;
}

/* This rank's rows of the (members Pt) x k table, member by member, chunk
 * by chunk: the blocks it writes and reads in a checkpoint. */
static void map_blocks(bf_evec_map *m)
{
  int64_t mine = (m->nchunks - m->rank + m->size - 1) / m->size, b = 0, a0;
  m->nblocks = m->count * (mine > 0 ? mine : 0);
  m->bfirst = BF_ALLOC(m->nblocks + 1, int64_t);
  m->bcount = BF_ALLOC(m->nblocks + 1, int64_t);
  for (int64_t e = 0; e < m->count; e++)
    for (int64_t c = m->rank; c < m->nchunks; c += m->size, b++) {
      m->bcount[b] = bf_evec_chunk_rows(m, c, &a0);
      m->bfirst[b] = (m->first + e) * m->Pt + a0;
    }
}

bf_evec_map *bf_evec_map_create(const bf_grid *g, int64_t Pt, int64_t k, int64_t first,
                                int64_t count)
{
  bf_evec_map *m = BF_CALLOC(1, bf_evec_map);
  m->Pt = Pt, m->k = k, m->rank = g->rank, m->size = g->size;
  m->chunk = bf_evec_chunk(Pt);
  m->nchunks = (Pt + m->chunk - 1) / m->chunk;
  m->rows = rows_of(m, m->rank);
  m->counts = BF_ALLOC(g->size, int64_t);
  BF_MPI(MPI_Allgather(&count, 1, MPI_INT64_T, m->counts, 1, MPI_INT64_T, g->comm));
  BF_MPI(MPI_Bcast(&first, 1, MPI_INT64_T, 0, g->comm)); /* the group's first member */
  m->first = first, m->count = 0;
  for (int r = 0; r < g->size; r++) m->count += m->counts[r];
  map_blocks(m);
  return m;
}

void bf_evec_map_destroy(bf_evec_map **mp)
{
  bf_evec_map *m = *mp;
  if (!m) return;
  free(m->counts), free(m->bfirst), free(m->bcount);
  free(m);
  *mp = NULL;
}

void bf_evec_gather(const bf_grid *g, const bf_evec_map *m, int64_t ncols, const double *rows,
                    int root, double *out)
{
  int *counts = BF_ALLOC(m->size, int), *displs = BF_ALLOC(m->size, int);
  for (int r = 0, off = 0; r < m->size; r++) {
    counts[r] = (int)(rows_of(m, r) * ncols);
    displs[r] = off, off += counts[r];
  }
  int me = m->rank == root;
  double *buf = me ? BF_ALLOC(m->Pt * ncols + 1, double) : NULL;
  BF_MPI(MPI_Gatherv(rows, (int)(m->rows * ncols), MPI_DOUBLE, buf, counts, displs, MPI_DOUBLE,
                     root, g->comm));
  for (int r = 0; me && r < m->size; r++) { /* rank r's chunks, in order */
    const double *src = buf + displs[r];
    for (int64_t c = r, a0; c < m->nchunks; c += m->size) {
      int64_t len = bf_evec_chunk_rows(m, c, &a0);
      memcpy(out + a0 * ncols, src, sizeof(double) * len * ncols);
      src += len * ncols;
    }
  }
  free(buf), free(counts), free(displs);
}
