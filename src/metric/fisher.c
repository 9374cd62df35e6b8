/* fisher.c — the Fisher metric's spectrum and diagonal (docs/physics.md 2).
 *
 *   bf_fisher_choose       primal (P x P) or dual (n x n)
 *   bf_fisher_eigenvalues  the k = min(n, P) largest eigenvalues, ScaLAPACK
 *   bf_fisher_eigenvectors the top eigenpairs (dual: one backprop per vector)
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

/* Columns size-nvec .. size-1 of distributed Z (the top eigenvectors),
 * replicated on every rank of the group as out[j][0..size), j = 0 the top. */
static void gather_top(const bf_grid *g, const bf_dmat *Z, int nb, int nvec, double *out)
{
  int size = Z->n;
  memset(out, 0, sizeof(double) * (int64_t)nvec * size);
  for (int c = 0; c < Z->nloc; c++) {
    int64_t col = bf_global_index(c, nb, g->mycol, g->npcol);
    int j = size - 1 - (int)col;
    if (j < 0 || j >= nvec) continue;
    for (int r = 0; r < Z->mloc; r++)
      out[(int64_t)j * size + bf_global_index(r, nb, g->myrow, g->nprow)] =
          Z->a[(int64_t)c * Z->mloc + r];
  }
  bf_allreduce_sum_doubles(g->comm, MPI_IN_PLACE, out, (int64_t)nvec * size);
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

/* Dual eigenvectors: v = J^T u / (sigma sqrt(lambda)), the gradient of
 * u.f(X) / (sigma sqrt(lambda)): one VJP each on one recorded plan, J never
 * formed. */
static void dual_vectors(const bf_model *mod, const double *theta, const bf_dataset *ds,
                         double sigma, int nvec, const double *lambda, const double *U,
                         double *V)
{
  int64_t n = ds->n;
  double *r = BF_ALLOC(n, double);
  bf_plan *plan = bf_model_plan_create(mod, n);
  bf_model_record(mod, plan, theta, n, ds->x, NULL);
  for (int j = 0; j < nvec; j++) {
    if (!(lambda[j] > BF_NULL_FLOOR * lambda[0])) { /* the null space of J: no direction */
      memset(V + (int64_t)j * mod->Pt, 0, sizeof(double) * mod->Pt);
      continue;
    }
    double s = 1.0 / (sigma * sqrt(lambda[j]));
    for (int64_t k = 0; k < n; k++) r[k] = U[j * n + k] * s;
    bf_model_vjp(mod, plan, r, V + (int64_t)j * mod->Pt);
  }
  bf_model_plan_destroy(&plan);
  free(r);
}

void bf_fisher_eigenvectors(const bf_grid *g, const bf_model *mod,
                            const double *theta, const bf_dataset *ds,
                            double sigma, int solver, int nb, int nvec,
                            double *lambda, double *V)
{
  int n = (int)ds->n, P = (int)mod->Pt;
  int size = solver == BF_SOLVER_PRIMAL ? P : n;
  BF_ASSERT(nvec <= (n < P ? n : P));
  nb = bf_block_for(g, n < P ? n : P, nb);
  bf_dmat A = metric_matrix(g, mod, theta, ds, sigma, solver, nb);
  bf_dmat Z = bf_dmat_make(g, size, size, nb);
  double *w = BF_ALLOC(size, double);
  bf_dmat_eigen(g, &A, w, &Z);
  for (int j = 0; j < nvec; j++) lambda[j] = w[size - 1 - j];
  if (solver == BF_SOLVER_PRIMAL) {
    gather_top(g, &Z, nb, nvec, V);
  } else {
    double *U = BF_ALLOC((int64_t)nvec * n, double);
    gather_top(g, &Z, nb, nvec, U);
    dual_vectors(mod, theta, ds, sigma, nvec, lambda, U, V);
    free(U);
  }
  free(w);
  bf_dmat_free(&A);
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
