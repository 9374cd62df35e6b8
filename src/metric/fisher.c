/* fisher.c — the Fisher metric's spectrum and diagonal (docs/physics.md 2).
 *
 *   bf_fisher_choose       primal (P x P) or dual (n x n)
 *   bf_fisher_eigenvalues  the k = min(n, P) largest eigenvalues, ScaLAPACK
 *   bf_fisher_eigenvectors the top eigenpairs, the vectors by parameter rows
 *                          over the group (dual: one backprop per vector,
 *                          spread over the group's ranks)
 *   bf_fisher_diagonal     I_AA without forming J
 *
 * primal: J (n x P) is filled block row by block row into its block-cyclic
 *   layout, then I = J^T J / sigma^2 by PDSYRK.
 * dual: the Gram G = J J^T / sigma^2 (the empirical NTK), whose nonzero
 *   spectrum is I's.  Each rank fills the block of its local rows R and
 *   columns C from the model's own pieces (bf_model_gram: for a layer stack
 *   per-layer products, J never formed; for a linear model Phi_R Phi_C^T).
 * Both are diagonalized by PDSYEVR or PDSYEVD (bf_dmat_eigen, dmat.c). */
#include "brgflow/metric.h"
#include "brgflow/scalapack.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int bf_fisher_choose(int solver, int64_t n, int64_t Pt)
{
  if (solver == BF_SOLVER_AUTO) return Pt <= n ? BF_SOLVER_PRIMAL : BF_SOLVER_DUAL;
  return solver;
}

/* Points x of the global indices idx. */
static double *gather_points(const bf_dataset *ds, const int64_t *idx, int64_t m)
{
  double *x = BF_ALLOC(m * ds->d > 0 ? m * ds->d : 1, double);
  for (int64_t k = 0; k < m; k++)
    memcpy(x + k * ds->d, ds->x + idx[k] * ds->d, sizeof(double) * ds->d);
  return x;
}

/* primal: J's local blocks, one block row of points at a time (one plan). */
static void fill_jacobian(const bf_grid *g, const bf_model *mod, const double *theta,
                          const bf_dataset *ds, int nb, bf_dmat *J)
{
  double *rows = BF_ALLOC((int64_t)nb * mod->Pt, double);
  int64_t *idx = BF_ALLOC(nb, int64_t);
  bf_plan *plan = bf_model_plan_create(mod, nb);
  for (int64_t r0 = 0; r0 < J->mloc; r0 += nb) {
    int64_t m = J->mloc - r0 < nb ? J->mloc - r0 : nb;
    for (int64_t k = 0; k < m; k++) idx[k] = bf_global_index(r0 + k, nb, g->myrow, g->nprow);
    double *x = gather_points(ds, idx, m);
    bf_model_record(mod, plan, theta, m, x, NULL);
    bf_model_jacobian_rows(mod, plan, rows);
    for (int64_t c = 0; c < J->nloc; c++) {
      int64_t col = bf_global_index(c, nb, g->mycol, g->npcol);
      for (int64_t k = 0; k < m; k++) J->a[c * J->mloc + r0 + k] = rows[k * mod->Pt + col];
    }
    free(x);
  }
  bf_model_plan_destroy(&plan);
  free(rows), free(idx);
}

/* dual: the local block G_RC = J_t(R) J_t(C)^T from the model's per-layer
 * pieces (J never formed for a layer stack). */
static void fill_gram(const bf_grid *g, const bf_model *mod, const double *theta,
                      const bf_dataset *ds, int nb, bf_dmat *G)
{
  int64_t *ir = BF_ALLOC(G->mloc + 1, int64_t), *ic = BF_ALLOC(G->nloc + 1, int64_t);
  for (int64_t i = 0; i < G->mloc; i++) ir[i] = bf_global_index(i, nb, g->myrow, g->nprow);
  for (int64_t j = 0; j < G->nloc; j++) ic[j] = bf_global_index(j, nb, g->mycol, g->npcol);
  double *xr = gather_points(ds, ir, G->mloc), *xc = gather_points(ds, ic, G->nloc);
  if (G->mloc > 0 && G->nloc > 0) {
    bf_plan *pr = bf_model_plan_create(mod, G->mloc), *pc = bf_model_plan_create(mod, G->nloc);
    bf_model_record(mod, pr, theta, G->mloc, xr, NULL);
    bf_model_record(mod, pc, theta, G->nloc, xc, NULL);
    bf_model_gram(mod, pr, pc, G->a);
    bf_model_plan_destroy(&pr);
    bf_model_plan_destroy(&pc);
  }
  free(ir), free(ic), free(xr), free(xc);
}

/* The metric's matrix (P x P primal or n x n dual), filled and scaled. */
static bf_dmat metric_matrix(const bf_grid *g, const bf_model *mod, const double *theta,
                          const bf_dataset *ds, double sigma, int solver, int nb)
{
  int n = (int)ds->n, P = (int)mod->Pt, one = 1;
  int size = solver == BF_SOLVER_PRIMAL ? P : n;
  bf_dmat A = bf_dmat_make(g, size, size, nb);
  if (solver == BF_SOLVER_PRIMAL) {
    bf_dmat J = bf_dmat_make(g, n, P, nb);
    fill_jacobian(g, mod, theta, ds, nb, &J);
    double alpha = 1.0 / (sigma * sigma), beta = 0.0;
    pdsyrk_("U", "T", &P, &n, &alpha, J.a, &one, &one, J.desc, &beta, A.a, &one, &one,
            A.desc);
    bf_dmat_free(&J);
  } else {
    fill_gram(g, mod, theta, ds, nb, &A);
    for (int64_t i = 0; i < (int64_t)A.mloc * A.nloc; i++) A.a[i] /= sigma * sigma;
  }
  return A;
}

/* A matrix on one of the group's 1-D grids, for PDGEMR2D to fill: m x n in
 * blocks of mb x nb, local rows x cols (counted by bf_mem_track). */
static double *line_matrix(int ctxt, int m, int n, int mb, int nb, int rows, int cols,
                           int *desc, int *lld)
{
  int zero = 0, info;
  *lld = rows > 1 ? rows : 1;
  descinit_(desc, &m, &n, &mb, &nb, &zero, &zero, &ctxt, lld, &info);
  BF_ASSERT(info == 0);
  int64_t count = (int64_t)*lld * (cols > 0 ? cols : 1);
  bf_mem_track(8.0 * count);
  return BF_CALLOC(count, double);
}

/* Primal: the top nvec columns of Z (P x P, ascending eigenvalue) in the
 * parameter-row layout.  That layout is block-cyclic on the group's column
 * grid with row blocks of one chunk, so PDGEMR2D moves the columns there;
 * each row is then reversed (j = 0 the top). */
static void primal_rows(const bf_grid *g, const bf_dmat *Z, const bf_evec_map *m, double *V)
{
  int P = Z->n, nvec = (int)m->k, mb = (int)m->chunk, one = 1, ja = P - nvec + 1, desc[9], lld;
  double *B = line_matrix(g->ctxt_col, P, nvec, mb, nvec, (int)m->rows, nvec, desc, &lld);
  pdgemr2d_(&P, &nvec, Z->a, &one, &ja, Z->desc, B, &one, &one, desc, &g->ctxt);
  for (int64_t a = 0; a < m->rows; a++)
    for (int c = 0; c < nvec; c++) V[a * nvec + nvec - 1 - c] = B[(int64_t)c * lld + a];
  free(B);
  bf_mem_track(-8.0 * (double)lld * nvec);
}

/* Vector v (Pt) split by owner: send[sd[d] ..] the chunks of rank d, in order. */
static void pack_chunks(const bf_evec_map *m, const double *v, double *send, int *sc, int *sd)
{
  int64_t off = 0, a0;
  for (int d = 0; d < m->size; d++) {
    sd[d] = (int)off;
    for (int64_t c = d; c < m->nchunks; c += m->size) {
      int64_t len = bf_evec_chunk_rows(m, c, &a0);
      memcpy(send + off, v + a0, sizeof(double) * len);
      off += len;
    }
    sc[d] = (int)off - sd[d];
  }
}

/* v = J^T u / (sigma sqrt(lambda)): the gradient of u.f(X)/(sigma
 * sqrt(lambda)), one VJP on the recorded plan, J never formed; 0 in the
 * null space of J (no direction). */
static void dual_vector(const bf_model *mod, bf_plan *plan, int64_t n, double sigma,
                        double lambda, double lambda_max, const double *u, double *r,
                        double *v)
{
  if (!(lambda > BF_NULL_FLOOR * lambda_max)) {
    memset(v, 0, sizeof(double) * mod->Pt);
    return;
  }
  double s = 1.0 / (sigma * sqrt(lambda));
  for (int64_t i = 0; i < n; i++) r[i] = u[i] * s;
  bf_model_vjp(mod, plan, r, v);
}

/* Dual: the vectors' VJPs spread over the group.  U's top columns go
 * round-robin to the ranks (PDGEMR2D onto the row grid, blocks of one
 * column); in round t rank s computes the vector of column t size + s and
 * sends each chunk to its owner (MPI_Alltoallv).  A rank holds one Pt
 * vector at a time, and no VJP is computed twice. */
static void dual_rows(const bf_grid *g, const bf_model *mod, const double *theta,
                      const bf_dataset *ds, double sigma, const bf_dmat *Z,
                      const double *lambda, const bf_evec_map *m, double *V)
{
  int n = Z->n, nvec = (int)m->k, one = 1, zero = 0, ja = n - nvec + 1, desc[9], lld;
  int ncol = numroc_(&nvec, &one, &g->rank, &zero, &g->size);
  double *U = line_matrix(g->ctxt_row, n, nvec, n, 1, n, ncol, desc, &lld);
  pdgemr2d_(&n, &nvec, Z->a, &one, &ja, Z->desc, U, &one, &one, desc, &g->ctxt);
  bf_plan *plan = bf_model_plan_create(mod, n);
  bf_model_record(mod, plan, theta, n, ds->x, NULL);
  int64_t Pt = mod->Pt;
  double *v = BF_ALLOC(Pt, double), *send = BF_ALLOC(Pt, double), *r = BF_ALLOC(n, double);
  double *recv = BF_ALLOC(m->rows * g->size + 1, double);
  bf_mem_track(8.0 * (2 * Pt + m->rows * g->size));
  int *sc = BF_CALLOC(g->size, int), *sd = BF_CALLOC(g->size, int);
  int *rc = BF_ALLOC(g->size, int), *rd = BF_ALLOC(g->size, int);
  for (int t = 0; t * g->size < nvec; t++) {
    int mine = t * g->size + g->rank; /* column of U, j = nvec - 1 - mine */
    if (mine < nvec) {
      dual_vector(mod, plan, n, sigma, lambda[nvec - 1 - mine], lambda[0],
                  U + (int64_t)t * lld, r, v);
      pack_chunks(m, v, send, sc, sd);
    } else {
      memset(sc, 0, sizeof(int) * g->size);
    }
    for (int s = 0; s < g->size; s++)
      rc[s] = t * g->size + s < nvec ? (int)m->rows : 0, rd[s] = (int)(s * m->rows);
    BF_MPI(MPI_Alltoallv(send, sc, sd, MPI_DOUBLE, recv, rc, rd, MPI_DOUBLE, g->comm));
    for (int s = 0; s < g->size; s++) {
      int j = nvec - 1 - (t * g->size + s);
      for (int64_t a = 0; rc[s] && a < m->rows; a++) V[a * nvec + j] = recv[rd[s] + a];
    }
  }
  bf_mem_track(-8.0 * (2 * Pt + m->rows * g->size + (double)lld * (ncol > 0 ? ncol : 1)));
  bf_model_plan_destroy(&plan);
  free(U), free(v), free(send), free(r), free(recv), free(sc), free(sd), free(rc), free(rd);
}

void bf_fisher_eigenvectors(const bf_grid *g, const bf_model *mod,
                            const double *theta, const bf_dataset *ds,
                            double sigma, int solver, int nb, const bf_evec_map *m,
                            double *lambda, double *V)
{
  int n = (int)ds->n, P = (int)mod->Pt, nvec = (int)m->k;
  int size = solver == BF_SOLVER_PRIMAL ? P : n;
  BF_ASSERT(nvec <= (n < P ? n : P) && m->Pt == mod->Pt && m->size == g->size);
  nb = bf_block_for(g, n < P ? n : P, nb);
  bf_dmat A = metric_matrix(g, mod, theta, ds, sigma, solver, nb);
  bf_dmat Z = bf_dmat_make(g, size, size, nb);
  double *w = BF_ALLOC(size, double);
  bf_dmat_eigen(g, &A, w, &Z);
  bf_dmat_free(&A);
  for (int j = 0; j < nvec; j++) lambda[j] = w[size - 1 - j];
  if (solver == BF_SOLVER_PRIMAL)
    primal_rows(g, &Z, m, V);
  else
    dual_rows(g, mod, theta, ds, sigma, &Z, lambda, m, V);
  free(w);
  bf_dmat_free(&Z);
}

void bf_fisher_eigenvalues(const bf_grid *g, const bf_model *mod,
                           const double *theta, const bf_dataset *ds,
                           double sigma, int solver, int nb, double *lambda)
{
  int n = (int)ds->n, P = (int)mod->Pt;
  int k = n < P ? n : P, size = solver == BF_SOLVER_PRIMAL ? P : n;
  nb = bf_block_for(g, k, nb);
  double *w = BF_ALLOC(size, double);
  bf_dmat A = metric_matrix(g, mod, theta, ds, sigma, solver, nb);
  bf_dmat_eigen(g, &A, w, NULL);
  for (int i = 0; i < k; i++) lambda[i] = w[size - 1 - i];
  bf_dmat_free(&A);
  free(w);
}

void bf_fisher_diagonal(const bf_model *mod, const double *theta,
                        const bf_dataset *ds, double sigma, double *diag)
{
  enum { CHUNK = 256 }; /* points per pass: memory bounded by CHUNK x width */
  memset(diag, 0, sizeof(double) * mod->Pt);
  int64_t n = ds->n;
  bf_plan *plan = bf_model_plan_create(mod, n < CHUNK ? n : CHUNK);
  for (int64_t k0 = 0; k0 < n; k0 += CHUNK) {
    int64_t m = n - k0 < CHUNK ? n - k0 : CHUNK;
    bf_model_record(mod, plan, theta, m, ds->x + k0 * ds->d, NULL);
    bf_model_diag(mod, plan, diag);
  }
  bf_model_plan_destroy(&plan);
  for (int64_t a = 0; a < mod->Pt; a++) diag[a] /= sigma * sigma;
}
