/* bench_eigen.c — ScaLAPACK symmetric eigensolvers timed side by side on the
 * same matrix and process grid: PDSYEVR (eigenvalues only, and with vectors)
 * against PDSYEVD (always with vectors).  brgflow picks by these numbers:
 * PDSYEVR without vectors on one process, PDSYEVD on grids and whenever
 * vectors are wanted (src/metric/fisher.c, eigen()).
 *   mpirun -np K build/tools/bench_eigen [N] [NB] */
#include "brgflow/metric.h"
#include "brgflow/scalapack.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  openblas_set_num_threads(1); /* as in brgflow: ranks are the parallelism */
  int n = argc > 1 ? atoi(argv[1]) : 1200, nb = argc > 2 ? atoi(argv[2]) : 32;
  bf_grid *g = bf_grid_create(MPI_COMM_WORLD, 1);
  int zero = 0, one = 1, info, desc[9];
  int ml = numroc_(&n, &nb, &g->myrow, &zero, &g->nprow);
  int nl = numroc_(&n, &nb, &g->mycol, &zero, &g->npcol), lld = ml > 1 ? ml : 1;
  descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
  double *A0 = malloc(sizeof(double) * lld * nl), *A = malloc(sizeof(double) * lld * nl);
  double *Z = malloc(sizeof(double) * lld * nl), *w = malloc(sizeof(double) * n);
  for (int c = 0; c < nl; c++) /* a symmetric matrix, a_ij = f(i, j) */
    for (int r = 0; r < ml; r++) {
      int i = (r / nb) * nb * g->nprow + g->myrow * nb + r % nb;
      int j = (c / nb) * nb * g->npcol + g->mycol * nb + c % nb;
      A0[c * lld + r] = cos(0.37 * (i + j)) + (i == j ? 0.01 * i : 0) + 1.0 / (1 + abs(i - j));
    }
  const char *names[3] = {"pdsyevr, values only ", "pdsyevr, with vectors", "pdsyevd, with vectors"};
  double t[3];
  for (int s = 0; s < 3; s++) {
    for (int k = 0; k < lld * nl; k++) A[k] = A0[k];
    double vl = 0, vu = 0, wq;
    int m, nz, lwork = -1, liwork = -1, iwq;
    const char *jobz = s == 0 ? "N" : "V";
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int pass = 0; pass < 2; pass++) { /* workspace query, then the solve */
      double *work = pass ? malloc(sizeof(double) * lwork) : &wq;
      int *iwork = pass ? malloc(sizeof(int) * liwork) : &iwq;
      if (s < 2)
        pdsyevr_(jobz, "A", "U", &n, A, &one, &one, desc, &vl, &vu, &one, &one, &m, &nz, w,
                 Z, &one, &one, desc, work, &lwork, iwork, &liwork, &info);
      else
        pdsyevd_("V", "U", &n, A, &one, &one, desc, w, Z, &one, &one, desc, work, &lwork,
                 iwork, &liwork, &info);
      if (!pass) lwork = (int)wq + 1, liwork = iwq + 1;
      else free(work), free(iwork);
    }
    t[s] = MPI_Wtime() - t0;
    if (g->rank == 0) printf("%s  n = %d on a %d x %d grid: %.3f s\n", names[s], n,
                             g->nprow, g->npcol, t[s]);
  }
  if (g->rank == 0)
    printf("ratios: pdsyevd(V) / pdsyevr(N) = %.2f, pdsyevr(V) / pdsyevr(N) = %.2f\n",
           t[2] / t[0], t[1] / t[0]);
  free(A0), free(A), free(Z), free(w);
  bf_grid_destroy(&g);
  MPI_Finalize();
  return 0;
}
