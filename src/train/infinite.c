/* infinite.c — the infinite-width predictions (docs/physics.md 2 and 3),
 * distributed (docs/theory.md f): K(X, X) block-cyclic over the ranks,
 * diagonalized by ScaLAPACK, so no rank holds an n x n array.
 *
 *   bf_infinite_predict  gd: the NTK prediction; posterior: the GP posterior
 *   bf_infinite_curves   the flow's infinite-width curves (posterior, eigen)
 *   bf_dmat_fill_kernel  a kernel's entries in a rank's own blocks (also
 *                        the GP targets', src/train/data.c, and `brgflow
 *                        kernel`'s, src/nnft/stage.c)
 *
 * Both rest on K(X, X) = Z diag(w) Z^T (PDSYEVD) and need of it only
 *   c = Z^T Y (n),  B = K(x, X) Z (n_test x n, by PDGEMM),  K(x, x) (n_test),
 * from which every prediction is a sum over the eigendirections j:
 *   mean(x) = sum_j B[x, j] g(w_j) c_j,  var(x) = K(x, x) - sum_j B[x, j]^2/(w_j + s^2).
 * Each rank computes the kernel entries of its own blocks (bf_model_kernel_
 * entries) and sums over its own entries of B; the sums over ranks are
 * double-double, so only the eigensolver's rounding depends on the grid.
 * gd with t <= STEPS_PER_POINT n steps needs no eigensolver: the same
 * polynomial in Theta is t matrix-vector products (gd_by_steps), O(t n^2)
 * against PDSYEVD's O(n^3), with one n x n matrix instead of four. */
#include "brgflow/metric.h"
#include "brgflow/nnft.h"
#include "brgflow/scalapack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* gd up to this many steps per training point runs as matrix-vector
 * products: PDSYEVD with vectors costs ~10 n^3 flops at a few times lower
 * rate than PDSYMV's 2 n^2 per step, so steps win up to several n. */
enum { STEPS_PER_POINT = 4, STEPS_PER_POLL = 64 };

/* A stop poll after about this many kernel entries (a tanh entry by
 * quadrature costs ~0.1 ms per layer: a poll every few seconds), and rank
 * 0's progress line about every PROGRESS_SECONDS. */
enum { FILL_CHUNK = 16384, PROGRESS_SECONDS = 10 };

/* Points of the global indices of a matrix's local rows or columns. */
static double *local_points(const double *x, int d, int64_t count, int nb, int me,
                            int nprocs)
{
  double *out = BF_ALLOC(count * d + 1, double);
  for (int64_t k = 0; k < count; k++)
    memcpy(out + k * d, x + bf_global_index(k, nb, me, nprocs) * d, sizeof(double) * d);
  return out;
}

static int fill_stop(MPI_Comm comm, int chunk, int chunks, double t0, double *last)
{
  if (bf_elapsed() - *last >= PROGRESS_SECONDS) {
    *last = bf_elapsed();
    bf_log(comm, "kernels: %.1f%% of the local blocks, %.1f s", 100.0 * (chunk + 1) / chunks,
           *last - t0);
  }
  return bf_stop_poll(comm);
}

/* A (rows xa, columns xb) = the kernel of `kind`, each rank its own blocks;
 * with upper, only the upper triangle (what PDSYEVD and PDPOTRF read).  The
 * ranks make the same number of stop polls.  1, 0 without a kernel, BF_STOPPED. */
int bf_dmat_fill_kernel(const bf_grid *g, const bf_model *mod, int kind, const double *xa,
                        const double *xb, int upper, bf_dmat *A)
{
  double *xr = local_points(xa, mod->d, A->mloc, A->nb, g->myrow, g->nprow);
  double *xc = local_points(xb, mod->d, A->nloc, A->nb, g->mycol, g->npcol);
  bf_kernel_entries *ke = bf_model_kernel_entries(mod, kind, A->mloc, xr, A->nloc, xc);
  if (!ke) { /* the model's answer: the same on every rank */
    free(xr), free(xc);
    return 0;
  }
  int64_t most = (int64_t)A->mloc * A->nloc, lld = A->mloc > 1 ? A->mloc : 1;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_INT64_T, MPI_MAX, g->comm));
  int polls = (int)((most + FILL_CHUNK - 1) / FILL_CHUNK), stopped = 0;
  polls = polls > 1 ? polls : 1;
  double t0 = bf_elapsed(), last = t0;
  for (int c = 0; c < polls && !stopped; c++) {
    for (int64_t j = (int64_t)A->nloc * c / polls; j < (int64_t)A->nloc * (c + 1) / polls; j++) {
      int64_t gj = bf_global_index(j, A->nb, g->mycol, g->npcol);
      for (int64_t i = 0; i < A->mloc; i++) {
        if (upper && bf_global_index(i, A->nb, g->myrow, g->nprow) > gj) break;
        A->a[j * lld + i] = ke->entry(ke, i, j);
      }
    }
    stopped = polls > 1 && fill_stop(g->comm, c, polls, t0, &last);
  }
  double worst = ke->worst_var;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, g->comm));
  if (!stopped) bf_kernels_warn(g->comm, worst);
  bf_kernel_entries_destroy(&ke);
  free(xr), free(xc);
  return stopped ? BF_STOPPED : 1;
}

/* What the predictions need of K(X, X) (see the banner). */
typedef struct kernel_solve {
  int n, nt;
  double *w;   /* eigenvalues, ascending (n) */
  double *c;   /* Z^T Y (n) */
  double *kxx; /* K(x, x) at the test points (nt) */
  bf_dmat B;   /* K(x, X) Z (nt x n) */
  bf_grid *g;
} kernel_solve;

static void solve_free(kernel_solve *s)
{
  bf_dmat_free(&s->B);
  free(s->w), free(s->c), free(s->kxx);
  bf_grid_destroy(&s->g);
}

/* c = Z^T Y from the local blocks of Z, summed over ranks (double-double). */
static double *project(const bf_grid *g, const bf_dmat *Z, const double *y)
{
  double *hi = BF_CALLOC(Z->n, double), *lo = BF_CALLOC(Z->n, double);
  for (int64_t j = 0; j < Z->nloc; j++) {
    int64_t gj = bf_global_index(j, Z->nb, g->mycol, g->npcol);
    for (int64_t i = 0; i < Z->mloc; i++)
      bf_dd_add(&hi[gj], &lo[gj],
                Z->a[j * Z->mloc + i] * y[bf_global_index(i, Z->nb, g->myrow, g->nprow)]);
  }
  bf_dd_allreduce(g->comm, Z->n, hi, lo);
  for (int64_t j = 0; j < Z->n; j++) hi[j] += lo[j];
  free(lo);
  return hi;
}

/* K(x, x) at each test point (a few entries: every rank computes them). */
static double *test_diagonal(const bf_model *mod, int kind, const bf_dataset *ds)
{
  double *kxx = BF_ALLOC(ds->ntest, double);
  bf_kernel_entries *ke = bf_model_kernel_entries(mod, kind, ds->ntest, ds->xt, ds->ntest, ds->xt);
  for (int64_t x = 0; x < ds->ntest; x++) kxx[x] = ke->entry(ke, x, x);
  bf_kernel_entries_destroy(&ke);
  return kxx;
}

/* B = K(x, X) Z, with K(x, X) filled in its own blocks and freed. */
static int test_projection(const bf_grid *g, const bf_model *mod, int kind,
                           const bf_dataset *ds, const bf_dmat *Z, bf_dmat *B)
{
  int nt = (int)ds->ntest, n = Z->n, one = 1;
  bf_dmat Kx = bf_dmat_make(g, nt, n, Z->nb);
  int st = bf_dmat_fill_kernel(g, mod, kind, ds->xt, ds->x, 0, &Kx);
  if (st == 1) {
    double alpha = 1.0, beta = 0.0;
    *B = bf_dmat_make(g, nt, n, Z->nb);
    pdgemm_("N", "N", &nt, &n, &n, &alpha, Kx.a, &one, &one, Kx.desc, Z->a, &one, &one,
            Z->desc, &beta, B->a, &one, &one, B->desc);
  }
  bf_dmat_free(&Kx);
  return st;
}

/* The kernel of `kind` on the data, diagonalized on one grid of all ranks;
 * 0 without a kernel or when stopped. */
static int solve(MPI_Comm comm, const bf_params *p, const bf_model *mod, int kind,
                 const bf_dataset *ds, kernel_solve *s)
{
  memset(s, 0, sizeof *s);
  s->n = (int)ds->n, s->nt = (int)ds->ntest;
  s->g = bf_grid_create(comm, 1);
  int nb = bf_block_for(s->g, s->n, p->fisher.block);
  bf_dmat A = bf_dmat_make(s->g, s->n, s->n, nb), Z = {0};
  int st = bf_dmat_fill_kernel(s->g, mod, kind, ds->x, ds->x, 1, &A);
  double t0 = bf_elapsed(), t1 = t0;
  if (st == 1) {
    s->w = BF_ALLOC(s->n, double);
    Z = bf_dmat_make(s->g, s->n, s->n, nb);
    t1 = bf_elapsed();
    bf_dmat_eigen(s->g, &A, s->w, &Z);
    bf_log(comm, "infinite-width: n = %d kernel in its blocks %.2f s, PDSYEVD on %d x %d "
           "%.2f s", s->n, t1 - t0, s->g->nprow, s->g->npcol, bf_elapsed() - t1);
  }
  bf_dmat_free(&A);
  if (st == 1) {
    s->c = project(s->g, &Z, ds->y);
    st = test_projection(s->g, mod, kind, ds, &Z, &s->B);
  }
  bf_dmat_free(&Z);
  if (st == 1) s->kxx = test_diagonal(mod, kind, ds);
  if (st != 1) solve_free(s);
  return st == 1;
}

/* Sums over the local entries of B into per-test-point double-doubles:
 * mean += B g c, and with var, var -= B^2 h; then summed over ranks. */
static void sum_directions(const kernel_solve *s, const double *g, const double *h,
                           double *mean, double *var)
{
  int nt = s->nt;
  double *acc = BF_CALLOC(4 * nt, double); /* mean hi, lo; var hi, lo */
  const bf_dmat *B = &s->B;
  for (int64_t j = 0; j < B->nloc; j++) {
    int64_t gj = bf_global_index(j, B->nb, s->g->mycol, s->g->npcol);
    for (int64_t i = 0; i < B->mloc; i++) {
      int64_t x = bf_global_index(i, B->nb, s->g->myrow, s->g->nprow);
      double b = B->a[j * B->mloc + i];
      bf_dd_add(&acc[x], &acc[nt + x], b * g[gj] * s->c[gj]);
      if (var) bf_dd_add(&acc[2 * nt + x], &acc[3 * nt + x], b * b * h[gj]);
    }
  }
  bf_dd_allreduce(s->g->comm, nt, acc, acc + nt);
  if (var) bf_dd_allreduce(s->g->comm, nt, acc + 2 * nt, acc + 3 * nt);
  for (int x = 0; x < nt; x++) {
    mean[x] = acc[x] + acc[nt + x];
    if (var) var[x] = s->kxx[x] - (acc[2 * nt + x] + acc[3 * nt + x]);
  }
  free(acc);
}

/* gd: v = (eta/n) sum_{s<t} (I - eta Theta/n)^s Y = Theta^-1 (I - (I - eta
 * Theta/n)^t) Y by t PDSYMV (r <- r - (eta/n) Theta r, v accumulates r),
 * then mean = Theta(x, X) v by PDGEMV (docs/theory.md f). */
static int gd_by_steps(MPI_Comm comm, const bf_params *p, const bf_model *mod,
                       const bf_dataset *ds, double *mean)
{
  int n = (int)ds->n, nt = (int)ds->ntest, one = 1, st;
  double c = bf_train_rate(p) / n, unit = 1, zero = 0;
  bf_grid *g = bf_grid_create(comm, 1);
  int nb = bf_block_for(g, n, p->fisher.block);
  bf_dmat A = bf_dmat_make(g, n, n, nb), r = bf_dmat_make(g, n, 1, nb);
  bf_dmat v = bf_dmat_make(g, n, 1, nb), y = bf_dmat_make(g, n, 1, nb);
  st = bf_dmat_fill_kernel(g, mod, BF_KERNEL_TANGENT, ds->x, ds->x, 1, &A);
  bf_dmat_vector_set(g, &r, ds->y);
  for (int s = 0; st == 1 && s < p->train.steps; s++) {
    pdsymv_("U", &n, &unit, A.a, &one, &one, A.desc, r.a, &one, &one, r.desc, &one, &zero,
            y.a, &one, &one, y.desc, &one);
    for (int64_t i = 0; i < r.mloc && r.nloc > 0; i++) v.a[i] += c * r.a[i], r.a[i] -= c * y.a[i];
    if ((s + 1) % STEPS_PER_POLL == 0 && bf_stop_poll(g->comm)) st = BF_STOPPED;
  }
  bf_dmat_free(&A);
  bf_dmat Kx = bf_dmat_make(g, nt, n, nb), m = bf_dmat_make(g, nt, 1, nb);
  if (st == 1) st = bf_dmat_fill_kernel(g, mod, BF_KERNEL_TANGENT, ds->xt, ds->x, 0, &Kx);
  if (st == 1) {
    pdgemv_("N", &nt, &n, &unit, Kx.a, &one, &one, Kx.desc, v.a, &one, &one, v.desc, &one,
            &zero, m.a, &one, &one, m.desc, &one);
    bf_dmat_vector_get(g, &m, mean);
  }
  bf_dmat_free(&Kx), bf_dmat_free(&m), bf_dmat_free(&r), bf_dmat_free(&v), bf_dmat_free(&y);
  bf_grid_destroy(&g);
  return st == 1;
}

int bf_infinite_predict(MPI_Comm comm, const bf_params *p, const bf_model *mod,
                        const bf_dataset *ds, double **mean, double **var)
{
  int post = p->train.method == BF_TRAIN_POSTERIOR, n = (int)ds->n;
  kernel_solve s;
  *mean = *var = NULL;
  double t0 = bf_elapsed();
  if (!post && p->train.steps <= (int64_t)STEPS_PER_POINT * n) {
    *mean = BF_ALLOC(ds->ntest, double);
    int ok = gd_by_steps(comm, p, mod, ds, *mean);
    if (!ok) free(*mean), *mean = NULL;
    else bf_log(comm, "infinite-width: %d steps of PDSYMV on the n = %d tangent kernel, %.2f s",
                p->train.steps, n, bf_elapsed() - t0);
    return ok;
  }
  /* posterior: the prior kernel of f (cos-net: G2; readout: NNGP); gd: the
   * tangent kernel of the trained block */
  if (!solve(comm, p, mod, post ? BF_KERNEL_PRIOR : BF_KERNEL_TANGENT, ds, &s)) return 0;
  double s2 = p->data.noise * p->data.noise, *g = BF_ALLOC(n, double), *h = BF_ALLOC(n, double);
  for (int j = 0; j < n; j++) {
    h[j] = 1 / (s.w[j] + s2);
    if (post) {
      g[j] = h[j];
    } else { /* g = (1 - (1 - eta w/n)^t)/w: the discrete-time (I - e^{-eta Theta t/n}) */
      double eta = bf_train_rate(p), decay = pow(1 - eta * s.w[j] / n, p->train.steps);
      g[j] = s.w[j] > 1e-14 * s.w[n - 1] ? (1 - decay) / s.w[j] : eta * p->train.steps / n;
    }
  }
  *mean = BF_ALLOC(s.nt, double);
  if (post) *var = BF_ALLOC(s.nt, double);
  sum_directions(&s, g, h, *mean, *var);
  free(g), free(h);
  solve_free(&s);
  return 1;
}

/* One prior variance s^2 for every trained parameter, or 0. */
static double uniform_prior_variance(const bf_model *mod)
{
  double *sd = BF_ALLOC(mod->Pt, double), s2;
  bf_model_prior_sd(mod, sd);
  s2 = sd[0] * sd[0];
  for (int64_t a = 1; a < mod->Pt; a++)
    if (sd[a] != sd[0]) s2 = 0;
  free(sd);
  return s2;
}

/* The curves of docs/physics.md 3 (posterior, resample): with K(X,X) =
 * sum kappa_k u_k u_k^T the function-space prior kernel and s^2 the trained
 * parameters' prior variance, Fisher eigenvalues are kappa_k/(sigma^2 s^2),
 * and at cutoff Lambda
 *   mean(x) = sum_{lambda_k >= Lambda} (K(x,X)u_k)(u_k.Y)/(kappa_k + sigma^2)
 *   var(x)  = K(x,x) - sum_{lambda_k >= Lambda} (K(x,X)u_k)^2/(kappa_k + sigma^2).
 * The tangent kernel is K/s^2 in both supported cases. */
int bf_infinite_curves(MPI_Comm comm, const bf_params *p, const bf_model *mod,
                       const bf_dataset *ds, double sigma, int K, const double *cut,
                       double **mse, double **var)
{
  *mse = *var = NULL;
  double s2 = uniform_prior_variance(mod);
  kernel_solve s;
  if (s2 == 0 || !solve(comm, p, mod, BF_KERNEL_PRIOR, ds, &s)) return 0;
  int n = s.n, nt = s.nt;
  double sig2 = sigma * sigma, lmax = s.w[n - 1] / (sig2 * s2);
  double *g = BF_ALLOC(n, double), *mean = BF_ALLOC(nt, double);
  *mse = BF_ALLOC(K, double);
  *var = BF_ALLOC((int64_t)K * nt, double);
  for (int k = 0; k < K; k++) {
    double Lambda = p->brg.relative ? cut[k] * lmax : cut[k], m = 0;
    for (int j = 0; j < n; j++) g[j] = s.w[j] / (sig2 * s2) < Lambda ? 0 : 1 / (s.w[j] + sig2);
    double *v = *var + (int64_t)k * nt;
    sum_directions(&s, g, g, mean, v);
    for (int x = 0; x < nt; x++) m += ((mean[x] - ds->yt[x]) * (mean[x] - ds->yt[x]) + v[x]) / nt;
    (*mse)[k] = m;
  }
  free(g), free(mean);
  solve_free(&s);
  return 1;
}
