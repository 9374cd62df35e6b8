/* fisher.c — the Fisher metric's spectrum and diagonal (SCIENCE.md 2).
 *
 *   bf_fisher_choose       primal (P x P) or dual (n x n)
 *   bf_fisher_eigenvalues  the k = min(n, P) largest eigenvalues, ScaLAPACK
 *   bf_fisher_eigenvectors the top eigenpairs (dual: one backprop per vector)
 *   bf_fisher_diagonal     I_AA without forming J
 *
 * primal: J (n x P) is filled block row by block row into its block-cyclic
 *   layout, then I = J^T J / sigma^2 by PDSYRK.
 * dual: the Gram G = J J^T / sigma^2 (the empirical NTK), whose nonzero
 *   spectrum is I's.  For an MLP it never needs J: for the points R of a
 *   rank's local rows and C of its local columns,
 *     G_RC = sum_l [alpha_l^2 (D_R D_C^T) o (A_R A_C^T) + beta_l^2 D_R D_C^T]
 *   with D = delta^l, A = a^{l-1} (o: elementwise); for linear models
 *   (cos-net, MLP readout) G_RC = Phi_R Phi_C^T.
 * Both are diagonalized by PDSYEVR or PDSYEVD (see eigen()). */
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

/* A distributed matrix: global m x n on the grid, local mloc x nloc. */
typedef struct dmat {
  int m, n, mloc, nloc, desc[9];
  double *a;
} dmat;

static dmat dmat_make(const bf_grid *g, int m, int n, int nb)
{
  dmat d = {.m = m, .n = n};
  int zero = 0, info;
  d.mloc = numroc_(&m, &nb, &g->myrow, &zero, &g->nprow);
  d.nloc = numroc_(&n, &nb, &g->mycol, &zero, &g->npcol);
  int lld = d.mloc > 1 ? d.mloc : 1;
  descinit_(d.desc, &m, &n, &nb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
  BF_ASSERT(info == 0);
  d.a = BF_CALLOC((int64_t)lld * (d.nloc > 0 ? d.nloc : 1), double);
  return d;
}

/* Global index of local index i (block-cyclic, source 0). */
static int64_t global_index(int64_t i, int nb, int me, int nprocs)
{
  return (i / nb) * (int64_t)nb * nprocs + (int64_t)me * nb + i % nb;
}

/* Points x of the global indices idx. */
static double *gather_points(const bf_dataset *ds, const int64_t *idx, int64_t m)
{
  double *x = BF_ALLOC(m * ds->d > 0 ? m * ds->d : 1, double);
  for (int64_t k = 0; k < m; k++)
    memcpy(x + k * ds->d, ds->x + idx[k] * ds->d, sizeof(double) * ds->d);
  return x;
}

/* primal: J's local blocks, one block row of points at a time. */
static void fill_jacobian(const bf_grid *g, const bf_model *mod, const double *theta,
                          const bf_dataset *ds, int nb, dmat *J)
{
  double *rows = BF_ALLOC((int64_t)nb * mod->Pt, double);
  int64_t idx[4096];
  for (int64_t r0 = 0; r0 < J->mloc; r0 += nb) {
    int64_t m = J->mloc - r0 < nb ? J->mloc - r0 : nb;
    for (int64_t k = 0; k < m; k++) idx[k] = global_index(r0 + k, nb, g->myrow, g->nprow);
    double *x = gather_points(ds, idx, m);
    bf_model_jacobian(mod, theta, m, x, rows);
    for (int64_t c = 0; c < J->nloc; c++) {
      int64_t col = global_index(c, nb, g->mycol, g->npcol);
      for (int64_t k = 0; k < m; k++) J->a[c * J->mloc + r0 + k] = rows[k * mod->Pt + col];
    }
    free(x);
  }
  free(rows);
}

/* dual, linear model: G_RC = Phi_R Phi_C^T (local block, column-major). */
static void gram_linear(const bf_model *mod, const double *theta, const double *xr,
                        int64_t mr, const double *xc, int64_t mc, double *G)
{
  double *fr = BF_ALLOC(mr * mod->Pt + 1, double), *fc = BF_ALLOC(mc * mod->Pt + 1, double);
  bf_model_jacobian(mod, theta, mr, xr, fr);
  bf_model_jacobian(mod, theta, mc, xc, fc);
  /* column-major G (mr x mc) = row-major G^T (mc x mr) = Phi_C Phi_R^T */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mc, (int)mr, (int)mod->Pt,
              1.0, fc, (int)mod->Pt, fr, (int)mod->Pt, 0.0, G, (int)mr);
  free(fr);
  free(fc);
}

/* dual, MLP: per-layer products, J never formed. */
static void gram_layers(const bf_model *mod, const double *theta, const double *xr,
                        int64_t mr, const double *xc, int64_t mc, double *G)
{
  const bf_mlp *net = mod->mlp;
  bf_mlp_tape *tr = bf_mlp_tape_create(net, mr), *tc = bf_mlp_tape_create(net, mc);
  bf_mlp_record(net, theta, mr, xr, tr);
  bf_mlp_record(net, theta, mc, xc, tc);
  double *dd = BF_ALLOC(mr * mc, double), *aa = BF_ALLOC(mr * mc, double);
  memset(G, 0, sizeof(double) * mr * mc);
  int first = mod->t0 > 0 ? net->depth + 1 : 1; /* readout: last layer only */
  for (int l = first; l <= net->depth + 1; l++) {
    int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
    double a2 = bf_mlp_alpha(net, l), b2 = bf_mlp_beta(net, l);
    a2 *= a2;
    b2 *= b2;
    /* column-major (mr x mc) blocks = row-major (mc x mr) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mc, (int)mr, nout, 1.0,
                tc->delta[l], nout, tr->delta[l], nout, 0.0, dd, (int)mr);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mc, (int)mr, nin, 1.0,
                tc->a[l - 1], nin, tr->a[l - 1], nin, 0.0, aa, (int)mr);
    for (int64_t k = 0; k < mr * mc; k++) G[k] += dd[k] * (a2 * aa[k] + b2);
  }
  free(dd);
  free(aa);
  bf_mlp_tape_destroy(&tr);
  bf_mlp_tape_destroy(&tc);
}

static void fill_gram(const bf_grid *g, const bf_model *mod, const double *theta,
                      const bf_dataset *ds, int nb, dmat *G)
{
  int64_t *ir = BF_ALLOC(G->mloc + 1, int64_t), *ic = BF_ALLOC(G->nloc + 1, int64_t);
  for (int64_t i = 0; i < G->mloc; i++) ir[i] = global_index(i, nb, g->myrow, g->nprow);
  for (int64_t j = 0; j < G->nloc; j++) ic[j] = global_index(j, nb, g->mycol, g->npcol);
  double *xr = gather_points(ds, ir, G->mloc), *xc = gather_points(ds, ic, G->nloc);
  if (G->mloc > 0 && G->nloc > 0) {
    if (mod->linear || mod->arch == BF_ARCH_COSNET)
      gram_linear(mod, theta, xr, G->mloc, xc, G->nloc, G->a);
    else
      gram_layers(mod, theta, xr, G->mloc, xc, G->nloc, G->a);
  }
  free(ir);
  free(ic);
  free(xr);
  free(xc);
}

/* All eigenvalues of a distributed symmetric matrix, ascending, into w;
 * with Z (same layout as A), the eigenvectors too.  Which driver: on one
 * process PDSYEVR without vectors is fastest (1.6x PDSYEVD at n = 1500);
 * on a multi-process grid PDSYEVD, even computing vectors, beat PDSYEVR
 * without them (0.92x at n = 1500 on 1 x 2; `make bench`, tools/bench_eigen);
 * vectors, when wanted, by PDSYEVD. */
static void eigen(const bf_grid *g, dmat *A, double *w, dmat *Z)
{
  int one = 1, m = A->n, nz, info, lwork = -1, liwork = -1, iwq;
  double vl = 0, vu = 0, wq;
  /* vectors always by PDSYEVD: PDSYEVR's MRRR (DSTEGR2) was seen to fail on
   * the cos-net metric, whose eigenvalues repeat exactly */
  int divide = g->size > 1 || Z != NULL;
  dmat scratch = {0};
  if (divide && !Z) { /* PDSYEVD always computes vectors */
    scratch = *A;
    scratch.a = BF_ALLOC((int64_t)(A->mloc > 1 ? A->mloc : 1) * (A->nloc > 0 ? A->nloc : 1), double);
    Z = &scratch;
  }
  const char *jobz = Z ? "V" : "N";
  dmat *z = Z ? Z : A; /* not referenced for jobz = N, but must be valid */
  for (int pass = 0; pass < 2; pass++) { /* workspace query, then the solve */
    double *work = pass ? BF_ALLOC(lwork, double) : &wq;
    int *iwork = pass ? BF_ALLOC(liwork, int) : &iwq;
    if (divide)
      pdsyevd_("V", "U", &A->n, A->a, &one, &one, A->desc, w, z->a, &one, &one, z->desc,
               work, &lwork, iwork, &liwork, &info);
    else
      pdsyevr_(jobz, "A", "U", &A->n, A->a, &one, &one, A->desc, &vl, &vu, &one, &one,
               &m, &nz, w, z->a, &one, &one, z->desc, work, &lwork, iwork, &liwork, &info);
    if (pass) {
      free(work);
      free(iwork);
    } else {
      /* PDSYEVD's query underestimates on some grids (PDORMTR then rejects
       * LWORK: seen on 2 x 2); add PDORMTR's own bound as a margin */
      int nb = A->desc[5];
      lwork = (int)wq + 4 * (A->n + nb) * nb + 2 * nb * nb + 1024;
      liwork = iwq + 1024;
    }
  }
  BF_ASSERT(info == 0 && m == A->n);
  free(scratch.a);
}

/* Columns size-nvec .. size-1 of distributed Z (the top eigenvectors),
 * replicated on every rank of the group as out[j][0..size), j = 0 the top. */
static void gather_top(const bf_grid *g, const dmat *Z, int nb, int nvec, double *out)
{
  int size = Z->n;
  memset(out, 0, sizeof(double) * (int64_t)nvec * size);
  for (int c = 0; c < Z->nloc; c++) {
    int64_t col = global_index(c, nb, g->mycol, g->npcol);
    int j = size - 1 - (int)col;
    if (j < 0 || j >= nvec) continue;
    for (int r = 0; r < Z->mloc; r++)
      out[(int64_t)j * size + global_index(r, nb, g->myrow, g->nprow)] =
          Z->a[(int64_t)c * Z->mloc + r];
  }
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, out, nvec * size, MPI_DOUBLE, MPI_SUM, g->comm));
}

/* The block size actually used: at most the input's, and small enough that
 * every process of the grid owns a block (PDSYEVD fails otherwise). */
static int effective_block(const bf_grid *g, int size, int nb)
{
  int procs = g->nprow > g->npcol ? g->nprow : g->npcol;
  int most = (size + procs - 1) / procs;
  return nb < most ? nb : most > 0 ? most : 1;
}

/* The metric's matrix (P x P primal or n x n dual), filled and scaled. */
static dmat metric_matrix(const bf_grid *g, const bf_model *mod, const double *theta,
                          const bf_dataset *ds, double sigma, int solver, int nb)
{
  int n = (int)ds->n, P = (int)mod->Pt, one = 1;
  int size = solver == BF_SOLVER_PRIMAL ? P : n;
  dmat A = dmat_make(g, size, size, nb);
  if (solver == BF_SOLVER_PRIMAL) {
    dmat J = dmat_make(g, n, P, nb);
    fill_jacobian(g, mod, theta, ds, nb, &J);
    double alpha = 1.0 / (sigma * sigma), beta = 0.0;
    pdsyrk_("U", "T", &P, &n, &alpha, J.a, &one, &one, J.desc, &beta, A.a, &one, &one,
            A.desc);
    free(J.a);
  } else {
    fill_gram(g, mod, theta, ds, nb, &A);
    for (int64_t i = 0; i < (int64_t)A.mloc * A.nloc; i++) A.a[i] /= sigma * sigma;
  }
  return A;
}

/* Dual eigenvectors: v = J^T u / (sigma sqrt(lambda)), the gradient of
 * u.f(X) / (sigma sqrt(lambda)): one backprop (VJP) each, J never formed. */
static void dual_vectors(const bf_model *mod, const double *theta, const bf_dataset *ds,
                         double sigma, int nvec, const double *lambda, const double *U,
                         double *V)
{
  int64_t n = ds->n;
  double *r = BF_ALLOC(n, double);
  if (mod->linear || mod->arch == BF_ARCH_COSNET) {
    double *J = BF_ALLOC(n * mod->Pt, double);
    bf_model_jacobian(mod, theta, n, ds->x, J);
    for (int j = 0; j < nvec; j++) {
      double s = 1.0 / (sigma * sqrt(lambda[j]));
      for (int64_t k = 0; k < n; k++) r[k] = U[j * n + k] * s;
      cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)mod->Pt, 1.0, J, (int)mod->Pt,
                  r, 1, 0.0, V + (int64_t)j * mod->Pt, 1);
    }
    free(J);
  } else {
    bf_mlp_tape *t = bf_mlp_tape_create(mod->mlp, n);
    bf_mlp_record(mod->mlp, theta, n, ds->x, t);
    double *grad = BF_ALLOC(mod->P, double);
    for (int j = 0; j < nvec; j++) {
      double s = 1.0 / (sigma * sqrt(lambda[j]));
      for (int64_t k = 0; k < n; k++) r[k] = U[j * n + k] * s;
      bf_mlp_vjp(mod->mlp, t, r, grad);
      memcpy(V + (int64_t)j * mod->Pt, grad + mod->t0, sizeof(double) * mod->Pt);
    }
    free(grad);
    bf_mlp_tape_destroy(&t);
  }
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
  nb = effective_block(g, n < P ? n : P, nb);
  dmat A = metric_matrix(g, mod, theta, ds, sigma, solver, nb);
  dmat Z = dmat_make(g, size, size, nb);
  double *w = BF_ALLOC(size, double);
  eigen(g, &A, w, &Z);
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
  free(A.a);
  free(Z.a);
}

void bf_fisher_eigenvalues(const bf_grid *g, const bf_model *mod,
                           const double *theta, const bf_dataset *ds,
                           double sigma, int solver, int nb, double *lambda)
{
  int n = (int)ds->n, P = (int)mod->Pt;
  int k = n < P ? n : P, size = solver == BF_SOLVER_PRIMAL ? P : n;
  nb = effective_block(g, k, nb);
  double *w = BF_ALLOC(size, double);
  dmat A = metric_matrix(g, mod, theta, ds, sigma, solver, nb);
  eigen(g, &A, w, NULL);
  for (int i = 0; i < k; i++) lambda[i] = w[size - 1 - i];
  free(A.a);
  free(w);
}

void bf_fisher_diagonal(const bf_model *mod, const double *theta,
                        const bf_dataset *ds, double sigma, double *diag)
{
  enum { CHUNK = 256 }; /* points per pass: memory bounded by CHUNK x width */
  memset(diag, 0, sizeof(double) * mod->Pt);
  int64_t n = ds->n;
  for (int64_t k0 = 0; k0 < n; k0 += CHUNK) {
    int64_t m = n - k0 < CHUNK ? n - k0 : CHUNK;
    const double *x = ds->x + k0 * ds->d;
    if (mod->arch == BF_ARCH_COSNET || mod->linear) {
      double *J = BF_ALLOC(m * mod->Pt, double);
      bf_model_jacobian(mod, theta, m, x, J);
      for (int64_t k = 0; k < m; k++)
        for (int64_t a = 0; a < mod->Pt; a++) diag[a] += J[k * mod->Pt + a] * J[k * mod->Pt + a];
      free(J);
      continue;
    }
    /* MLP: I_{W^l_ij} = alpha^2 sum_k delta[k,i]^2 a[k,j]^2 (+ beta^2 delta^2) */
    const bf_mlp *net = mod->mlp;
    bf_mlp_tape *t = bf_mlp_tape_create(net, m);
    bf_mlp_record(net, theta, m, x, t);
    for (int l = 1; l <= net->depth + 1; l++) {
      int nin = bf_mlp_fan_in(net, l), nout = bf_mlp_fan_out(net, l);
      double a2 = bf_mlp_alpha(net, l), b2 = bf_mlp_beta(net, l);
      double *d2 = BF_ALLOC(m * nout, double), *s2 = BF_ALLOC(m * nin, double);
      for (int64_t q = 0; q < m * nout; q++) d2[q] = t->delta[l][q] * t->delta[l][q];
      for (int64_t q = 0; q < m * nin; q++) s2[q] = t->a[l - 1][q] * t->a[l - 1][q];
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, (int)m, a2 * a2,
                  d2, nout, s2, nin, 1.0, diag + net->woff[l] - mod->t0, nin);
      for (int i = 0; i < nout; i++)
        for (int64_t k = 0; k < m; k++) diag[net->boff[l] - mod->t0 + i] += b2 * b2 * d2[k * nout + i];
      free(d2);
      free(s2);
    }
    bf_mlp_tape_destroy(&t);
  }
  for (int64_t a = 0; a < mod->Pt; a++) diag[a] /= sigma * sigma;
}
