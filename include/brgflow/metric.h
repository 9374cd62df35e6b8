/* metric.h — the Fisher information metric I = J^T J / sigma^2 of trained
 * members (the "metric" stage, docs/physics.md 2), distributed with ScaLAPACK.
 *
 * Ranks are split into groups of contiguous ranks; each group owns a BLACS
 * process grid and the members its ranks hold, which it treats one at a
 * time: the owner broadcasts theta to the group, and the member's matrix is
 * distributed block-cyclically over the group's grid.  A rank only ever
 * holds its local blocks (plus one block row of J while filling them); the
 * eigenvectors the flow needs stay with the group, by parameter rows
 * (bf_evec_map). */
#ifndef BRGFLOW_METRIC_H
#define BRGFLOW_METRIC_H

#include "brgflow/train.h"

/* Eigenvalues at or below BF_NULL_FLOOR lambda_max are the null space of J:
 * exact zeros come out of the eigensolver as rounding of order 1e-16
 * lambda_max, of either sign (docs/theory.md j). */
#define BF_NULL_FLOOR 1e-12

typedef struct bf_grid {
  MPI_Comm comm; /* the group's ranks */
  int group, ngroups, rank, size;
  int ctxt, nprow, npcol, myrow, mycol;
  /* the same ranks as a column (size x 1) and a row (1 x size), process
   * (r, 0) and (0, r) being group rank r: targets that spread the
   * eigenvectors by parameter rows, or by vector (bf_fisher_eigenvectors) */
  int ctxt_col, ctxt_row;
} bf_grid;

/* Collective over comm: split into 1 <= groups <= ranks groups (the data
 * stage refuses a larger [fisher] groups before anything runs), a grid in
 * each. */
bf_grid *bf_grid_create(MPI_Comm comm, int groups);
void bf_grid_destroy(bf_grid **g);

/* A dense matrix distributed block-cyclically over a grid (src/metric/dmat.c):
 * global m x n in blocks of nb x nb, local mloc x nloc column-major in a
 * (leading dimension max(mloc, 1); count doubles), ScaLAPACK descriptor. */
typedef struct bf_dmat {
  int m, n, nb, mloc, nloc, desc[9];
  int64_t count;
  double *a;
} bf_dmat;
bf_dmat bf_dmat_make(const bf_grid *g, int m, int n, int nb);
void bf_dmat_free(bf_dmat *d);
/* Global index of local row (me = myrow, nprocs = nprow) or column. */
int64_t bf_global_index(int64_t i, int nb, int me, int nprocs);
/* The block size for a size-n matrix: at most nb, and every process owns one. */
int bf_block_for(const bf_grid *g, int size, int nb);
/* A distributed n x 1 vector's local entries from a replicated y (n), and
 * back: y (n, every rank) from the owners' entries. */
void bf_dmat_vector_set(const bf_grid *g, bf_dmat *v, const double *y);
void bf_dmat_vector_get(const bf_grid *g, const bf_dmat *v, double *y);
/* Collective over the grid: out[k] = A(rows[k], cols[k]), k < count, on
 * every rank (a few entries of a matrix no rank holds whole). */
void bf_dmat_entries(const bf_grid *g, const bf_dmat *A, int64_t count, const int64_t *rows,
                     const int64_t *cols, double *out);
/* Collective over the grid (src/train/infinite.c): A's local blocks = the
 * model's kernel of `kind` between the points of A's rows (xa, A->m x d)
 * and columns (xb, A->n x d), each rank computing its own entries
 * (bf_model_kernel_entries); with upper, only the upper triangle.  Polls
 * for a stop request.  1, 0 where the model has no such kernel (the same
 * on every rank), or BF_STOPPED. */
int bf_dmat_fill_kernel(const bf_grid *g, const bf_model *mod, int kind, const double *xa,
                        const double *xb, int upper, bf_dmat *A);
/* Collective over the grid: all eigenvalues of symmetric A (upper triangle
 * read, A destroyed), ascending, into w (n, every rank); with Z (same
 * layout as A), the eigenvectors as its columns. */
void bf_dmat_eigen(const bf_grid *g, bf_dmat *A, double *w, bf_dmat *Z);

/* primal if Pt <= n, else dual (auto), or as asked. */
int bf_fisher_choose(int solver, int64_t n, int64_t Pt);
/* Collective over the group: the k = min(n, Pt) largest eigenvalues of I,
 * descending, on every rank of the group. */
void bf_fisher_eigenvalues(const bf_grid *g, const bf_model *mod,
                           const double *theta, const bf_dataset *ds,
                           double sigma, int solver, int nb, double *lambda);
/* A group's eigenvectors, distributed by parameter rows (docs/theory.md f):
 * rows in chunks of bf_evec_chunk(Pt) (a function of Pt alone, so that
 * per-chunk sums do not depend on the rank count), chunk c on group rank
 * c mod size.  For each of the group's members (first .. first+count-1, in
 * order) a rank holds its chunks' rows, ascending, as rows x k: row a is
 * v_0a .. v_{k-1}a, j = 0 the top eigenvector.  No rank holds k x Pt. */
typedef struct bf_evec_map {
  int64_t Pt, k, chunk, nchunks;
  int64_t rows;           /* this rank's rows per member */
  int64_t first, count;   /* the group's members (global indices) */
  int64_t *counts;        /* members per group rank (size): whose is which */
  int64_t nblocks;        /* this rank's rows of the (members Pt) x k table: */
  int64_t *bfirst, *bcount; /* blocks of rows, ascending (the checkpoint) */
  int rank, size;         /* in the group */
} bf_evec_map;
int64_t bf_evec_chunk(int64_t Pt);
/* Collective over the group: the layout for its members' top-k vectors,
 * each rank contributing its `count` members (contiguous, in rank order). */
bf_evec_map *bf_evec_map_create(const bf_grid *g, int64_t Pt, int64_t k, int64_t first,
                                int64_t count);
void bf_evec_map_destroy(bf_evec_map **m);
/* Rows of chunk c: its first parameter and length. */
int64_t bf_evec_chunk_rows(const bf_evec_map *m, int64_t c, int64_t *a0);
/* Collective over the group: this rank's rows (ncols each) onto rank root
 * in parameter order, copied, no arithmetic (out: Pt x ncols, root only). */
void bf_evec_gather(const bf_grid *g, const bf_evec_map *m, int64_t ncols, const double *rows,
                    int root, double *out);
/* Collective over the group: the top nvec eigenpairs, lambda (nvec, every
 * rank) and this rank's rows of their vectors (m->rows x nvec, layout
 * bf_evec_map; m->k = nvec). */
void bf_fisher_eigenvectors(const bf_grid *g, const bf_model *mod,
                            const double *theta, const bf_dataset *ds,
                            double sigma, int solver, int nb, const bf_evec_map *m,
                            double *lambda, double *V);
/* Rank-local: I_AA for the trained parameters (Pt entries). */
void bf_fisher_diagonal(const bf_model *mod, const double *theta,
                        const bf_dataset *ds, double sigma, double *diag);

/* ---- the metric stage (src/metric/stage.c; pipeline.h) ------------------ */
typedef struct bf_ctx bf_ctx;
/* The metric arrays the run wants, allocated before a restart fills them;
 * c->grid stays NULL (nothing allocated) if [fisher] groups was refused. */
void bf_metric_alloc(bf_ctx *c);
/* Every member's metric and spectrum, along training too; then a step
 * boundary (the flow's starting point) when a flow follows. */
int bf_stage_metric(bf_ctx *c);
/* LAPACK dsyevd: A (n x n, symmetric) -> eigenvectors (column j = A[j n..]),
 * eigenvalues w ascending.  Serial, replicated: tests and small matrices. */
void bf_sym_eigen(int n, double *A, double *w);

#endif
