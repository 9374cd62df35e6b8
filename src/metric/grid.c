/* grid.c — rank groups and their BLACS process grids.
 *
 *   bf_grid_create   split ranks into groups, a near-square grid per group
 *                    (and a column and a row of the group's ranks)
 *   bf_grid_destroy  release the grid and the group communicator */
#include "brgflow/metric.h"
#include "brgflow/scalapack.h"

#include <math.h>
#include <stdlib.h>

/* A BLACS grid over comm's ranks, row-major: with one row or one column,
 * process r is comm rank r. */
static int grid_init(MPI_Comm comm, int nprow, int npcol)
{
  int handle = Csys2blacs_handle(comm), ctxt = handle;
  Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
  Cfree_blacs_system_handle(handle);
  return ctxt;
}

bf_grid *bf_grid_create(MPI_Comm comm, int groups)
{
  int rank, size;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  BF_MPI(MPI_Comm_size(comm, &size));
  BF_ASSERT(groups >= 1 && groups <= size); /* [fisher] groups: checked by the data stage */
  bf_grid *g = BF_CALLOC(1, bf_grid);
  g->ngroups = groups;
  g->group = (int)((int64_t)rank * groups / size); /* contiguous ranks */
  BF_MPI(MPI_Comm_split(comm, g->group, rank, &g->comm));
  BF_MPI(MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN));
  BF_MPI(MPI_Comm_rank(g->comm, &g->rank));
  BF_MPI(MPI_Comm_size(g->comm, &g->size));
  /* the most square nprow x npcol = size with nprow <= npcol */
  g->nprow = (int)sqrt((double)g->size);
  while (g->size % g->nprow) g->nprow--;
  g->npcol = g->size / g->nprow;
  g->ctxt = grid_init(g->comm, g->nprow, g->npcol);
  Cblacs_gridinfo(g->ctxt, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
  BF_ASSERT(g->myrow >= 0 && g->mycol >= 0);
  g->ctxt_col = grid_init(g->comm, g->size, 1);
  g->ctxt_row = grid_init(g->comm, 1, g->size);
  return g;
}

void bf_grid_destroy(bf_grid **gp)
{
  bf_grid *g = *gp;
  if (!g) return;
  Cblacs_gridexit(g->ctxt);
  Cblacs_gridexit(g->ctxt_col);
  Cblacs_gridexit(g->ctxt_row);
  BF_MPI(MPI_Comm_free(&g->comm));
  free(g);
  *gp = NULL;
}
