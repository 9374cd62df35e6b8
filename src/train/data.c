/* data.c — training and test data (docs/physics.md 2).
 *
 *   bf_dataset_create        inputs (grid, random, lattice, gaussian) and
 *                            targets (sin, poly, gp, file, expression),
 *                            identical on every rank (the gp draw's kernel
 *                            block-cyclic over them); NULL for a target
 *                            file or expression that cannot serve
 *   bf_fisher_points_create  separate Fisher points, from the same input law
 *   bf_dataset_destroy       free it
 *   bf_expr_*                target formulas (muparser) */
#include "brgflow/io.h"
#include "brgflow/metric.h"
#include "brgflow/scalapack.h"

#include <hdf5.h>
#include <math.h>
#include <muParserDLL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stream purposes of the data pseudo-member: each set of draws its own. */
enum {
  DATA_X = 20, DATA_TEST = 21, DATA_NOISE = 22, DATA_GP = 23,
  DATA_GAUSS_X = 24, DATA_GAUSS_TEST = 25, /* gaussian inputs: z of x = mu + L z */
  DATA_FISHER = 26                         /* separate Fisher points */
};

static void random_points(const bf_params *p, int purpose, int64_t n, double *x)
{
  bf_rng s = bf_rng_stream(p->run.seed, BF_DATA_MEMBER, (uint32_t)purpose);
  for (int64_t k = 0; k < n; k++) /* point k: uniforms (k, b) for block b of 4 coordinates */
    for (int j0 = 0; j0 < p->net.d; j0 += 4) {
      double u[4];
      bf_rng_uniform4(&s, (uint64_t)k, (uint64_t)(j0 / 4), u);
      for (int j = j0; j < p->net.d && j < j0 + 4; j++) x[k * p->net.d + j] = p->data.domain * (2 * u[j - j0] - 1);
    }
}

/* x = mu + L z, z standard normals: draw k*d + j of the purpose's stream. */
static void gaussian_points(const bf_params *p, int purpose, int64_t n, double *x)
{
  int d = p->net.d;
  bf_rng s = bf_rng_stream(p->run.seed, BF_DATA_MEMBER, (uint32_t)purpose);
  double *z = BF_ALLOC(d, double);
  for (int64_t k = 0; k < n; k++) {
    bf_rng_normals(&s, (uint64_t)(k * d), d, z);
    for (int i = 0; i < d; i++) {
      double v = p->data.mu[i];
      for (int j = 0; j <= i; j++) v += p->data.chol[i * d + j] * z[j];
      x[k * d + i] = v;
    }
  }
  free(z);
}

/* m^d grid on [-a, a]^d, row-major. */
static void grid_points(const bf_params *p, int64_t n, double *x)
{
  int m = (int)lround(pow((double)n, 1.0 / p->net.d));
  bf_lattice g = bf_lattice_make(p->net.d, m, 1.0);
  for (int64_t k = 0; k < n; k++) {
    int c[3];
    bf_lattice_coords(&g, k, c);
    for (int j = 0; j < p->net.d; j++)
      x[k * p->net.d + j] = m == 1 ? 0 : p->data.domain * (2.0 * c[j] / (m - 1) - 1);
  }
}

static void lattice_points(const bf_params *p, double *x)
{
  bf_lattice lat = bf_lattice_make(p->net.d, p->lattice.sites, p->lattice.spacing);
  for (int64_t k = 0; k < lat.nsites; k++) {
    int c[3];
    bf_lattice_coords(&lat, k, c);
    for (int j = 0; j < p->net.d; j++) x[k * p->net.d + j] = c[j] * p->lattice.spacing;
  }
}

static double formula(const bf_params *p, const double *x)
{
  double u = 0;
  for (int j = 0; j < p->net.d; j++) u += x[j];
  u /= sqrt((double)p->net.d);
  return p->data.target == BF_TARGET_SIN ? sin(M_PI * u) : u * u * u - u;
}

/* The jitter that keeps K + jitter positive definite in floating point,
 * on the diagonal entries among A's local ones. */
static void add_jitter(const bf_grid *g, bf_dmat *A)
{
  int64_t lld = A->mloc > 1 ? A->mloc : 1;
  for (int64_t j = 0; j < A->nloc; j++) {
    int64_t gj = bf_global_index(j, A->nb, g->mycol, g->npcol);
    for (int64_t i = 0; i < A->mloc; i++)
      if (bf_global_index(i, A->nb, g->myrow, g->nprow) == gj)
        A->a[j * lld + i] += 1e-10 * (1 + A->a[j * lld + i]);
  }
}

/* target = gp: one draw y = U^T z of N(0, K) on train and test points
 * together, with K = U^T U the model's prior kernel (the NNGP for a layer
 * stack) plus jitter, block-cyclic over all ranks so that no rank holds an
 * n x n array (docs/theory.md n): each rank fills the upper triangle of its
 * own blocks, PDPOTRF factors, PDTRMV multiplies, and every rank gets y. */
/* The draw's block size: fixed, not [fisher] block, which a restart may
 * change (it "changes no results") while the Cholesky factor of a kernel
 * near its jitter's condition 1e10 moves by ~1e-9 with the block size. */
enum { GP_BLOCK = 64 };

static void gp_targets(MPI_Comm comm, const bf_params *p, const bf_model *mod,
                       bf_dataset *ds)
{
  int64_t n = ds->n + ds->ntest, d = p->net.d;
  int nn = (int)n, one = 1, info = 0;
  double *pts = BF_ALLOC(n * d, double), *y = BF_ALLOC(n, double);
  memcpy(pts, ds->x, sizeof(double) * ds->n * d);
  memcpy(pts + ds->n * d, ds->xt, sizeof(double) * ds->ntest * d);
  bf_grid *g = bf_grid_create(comm, 1);
  int nb = bf_block_for(g, nn, GP_BLOCK);
  bf_dmat K = bf_dmat_make(g, nn, nn, nb), z = bf_dmat_make(g, nn, 1, nb);
  double t0 = bf_elapsed();
  int st = bf_dmat_fill_kernel(g, mod, BF_KERNEL_PRIOR, pts, pts, 1, &K);
  BF_ASSERT(st != 0); /* validation admits target = gp only where there is one */
  if (st == 1) { /* else stopped during the kernels: the run ends before using targets */
    double t1 = bf_elapsed();
    add_jitter(g, &K);
    pdpotrf_("U", &nn, K.a, &one, &one, K.desc, &info);
    BF_ASSERT(info == 0);
    bf_log(comm, "data: target = gp, n = %d kernel in its blocks %.2f s, PDPOTRF on %d x %d "
           "%.2f s", nn, t1 - t0, g->nprow, g->npcol, bf_elapsed() - t1);
    bf_rng s = bf_rng_stream(p->run.seed, BF_DATA_MEMBER, DATA_GP);
    bf_rng_normals(&s, 0, n, y);
    bf_dmat_vector_set(g, &z, y);
    pdtrmv_("U", "T", "N", &nn, K.a, &one, &one, K.desc, z.a, &one, &one, z.desc, &one);
    bf_dmat_vector_get(g, &z, y);
    memcpy(ds->y, y, sizeof(double) * ds->n);
    memcpy(ds->yt, y + ds->n, sizeof(double) * ds->ntest);
  }
  bf_dmat_free(&K), bf_dmat_free(&z);
  bf_grid_destroy(&g);
  free(y), free(pts);
}

/* target = file: rank 0 reads /x and /y, then broadcasts; 1 on every rank,
 * after one message, if the file does not hold them. */
static int file_data(MPI_Comm comm, const bf_params *p, bf_dataset *ds)
{
  int rank, bad = 0;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  int64_t need = ds->n + ds->ntest, d = p->net.d;
  double *x = BF_ALLOC(need * d, double), *y = BF_ALLOC(need, double);
  char why[256] = "";
  if (rank == 0) {
    bf_h5_errors_off(); /* a missing dataset is reported below */
    hid_t f = H5Fopen(p->data.file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dx = f >= 0 ? H5Dopen2(f, "/x", H5P_DEFAULT) : -1;
    hid_t dy = f >= 0 ? H5Dopen2(f, "/y", H5P_DEFAULT) : -1;
    hsize_t dims[2] = {0, 0}, ny = 0;
    int rx = -1, ry = -1;
    if (dx >= 0) {
      hid_t sp = H5Dget_space(dx);
      rx = H5Sget_simple_extent_ndims(sp); /* the rank first: dims has room for 2 */
      if (rx == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
      H5Sclose(sp);
    }
    if (dy >= 0) {
      hid_t sp = H5Dget_space(dy);
      ry = H5Sget_simple_extent_ndims(sp);
      if (ry == 1) H5Sget_simple_extent_dims(sp, &ny, NULL);
      H5Sclose(sp);
    }
    if (dx < 0 || dy < 0)
      snprintf(why, sizeof why, "needs datasets /x and /y");
    else if (rx != 2 || ry != 1)
      snprintf(why, sizeof why, "/x must be 2-d (n x d) and /y 1-d (n); they are %d-d and %d-d",
               rx, ry);
    else if ((int64_t)dims[0] < need || (int64_t)ny < need || (int64_t)dims[1] != d)
      snprintf(why, sizeof why, "/x is %llu x %llu and /y %llu long; need %lld x %lld",
               (unsigned long long)dims[0], (unsigned long long)dims[1],
               (unsigned long long)ny, (long long)need, (long long)d);
    else {
      hsize_t start[2] = {0, 0}, cnt[2] = {(hsize_t)need, (hsize_t)d};
      hid_t fs = H5Dget_space(dx), ms = H5Screate_simple(2, cnt, NULL);
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
      herr_t ex = H5Dread(dx, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, x);
      hid_t fy = H5Dget_space(dy), my = H5Screate_simple(1, cnt, NULL);
      H5Sselect_hyperslab(fy, H5S_SELECT_SET, start, NULL, cnt, NULL);
      herr_t ey = H5Dread(dy, H5T_NATIVE_DOUBLE, my, fy, H5P_DEFAULT, y);
      H5Sclose(fs), H5Sclose(ms), H5Sclose(fy), H5Sclose(my);
      if (ex < 0 || ey < 0)
        snprintf(why, sizeof why, "cannot read %s as numbers", ex < 0 ? "/x" : "/y");
      /* a non-finite input or target would reach the metric or every MSE */
      for (int64_t k = 0; !why[0] && k < need * d; k++)
        if (!isfinite(x[k]))
          snprintf(why, sizeof why, "/x row %lld column %lld is %g: not a finite number",
                   (long long)(k / d), (long long)(k % d), x[k]);
      for (int64_t k = 0; !why[0] && k < need; k++)
        if (!isfinite(y[k]))
          snprintf(why, sizeof why, "/y row %lld is %g: not a finite number", (long long)k,
                   y[k]);
    }
    if (dx >= 0) H5Dclose(dx);
    if (dy >= 0) H5Dclose(dy);
    bad = why[0] != '\0';
    if (f >= 0) H5Fclose(f);
    bf_h5_errors_restore();
  }
  if (bf_failed(comm, bad, "[data] file = '%s': %s", p->data.file, why)) {
    free(x), free(y);
    return 1;
  }
  bf_bcast_doubles(comm, x, need * d, 0);
  bf_bcast_doubles(comm, y, need, 0);
  memcpy(ds->x, x, sizeof(double) * ds->n * d);
  memcpy(ds->xt, x + ds->n * d, sizeof(double) * ds->ntest * d);
  memcpy(ds->y, y, sizeof(double) * ds->n);
  memcpy(ds->yt, y + ds->n, sizeof(double) * ds->ntest);
  free(x);
  free(y);
  return 0;
}

struct bf_expr {
  muParserHandle_t h;
  int d;
  double *v;  /* x1 ... xd, bound to the parser */
  int failed; /* the last evaluation failed (mupError clears its flag on reading) */
  char msg[512];
};

bf_expr *bf_expr_create(const char *formula, int d, const double *x0, char *err,
                        size_t errlen)
{
  bf_expr *e = BF_CALLOC(1, bf_expr);
  e->d = d;
  e->v = BF_CALLOC(d, double);
  e->h = mupCreate(muBASETYPE_FLOAT);
  char name[32];
  for (int j = 0; j < d; j++) {
    snprintf(name, sizeof name, "x%d", j + 1);
    mupDefineVar(e->h, name, &e->v[j]);
  }
  mupSetExpr(e->h, formula);
  /* muparser parses lazily: only an evaluation finds every error */
  bf_expr_eval(e, x0);
  if (e->failed) {
    snprintf(err, errlen, "%s", e->msg);
    bf_expr_destroy(&e);
  }
  return e;
}

double bf_expr_eval(bf_expr *e, const double *x)
{
  memcpy(e->v, x, sizeof(double) * e->d);
  double f = mupEval(e->h);
  e->failed = mupError(e->h);
  if (e->failed) snprintf(e->msg, sizeof e->msg, "%s", mupGetErrorMsg(e->h));
  return e->failed ? NAN : f;
}

void bf_expr_destroy(bf_expr **ep)
{
  if (!*ep) return;
  mupRelease((*ep)->h);
  free((*ep)->v);
  free(*ep);
  *ep = NULL;
}

/* target = expression at every point; a formula muparser refuses or a value
 * that is not finite is a collective error (every rank holds the same data,
 * so all agree): 1 on every rank after one message. */
static int expression_targets(MPI_Comm comm, const bf_params *p, bf_dataset *ds)
{
  char err[512] = "";
  bf_expr *e = bf_expr_create(p->data.expression, p->net.d, ds->x, err, sizeof err);
  if (bf_failed(comm, !e, "[data] expression = '%s': muparser: %s", p->data.expression, err))
    return 1;
  int64_t bad = -1;
  for (int64_t k = 0; k < ds->n + ds->ntest; k++) {
    int test = k >= ds->n;
    int64_t i = test ? k - ds->n : k;
    const double *x = (test ? ds->xt : ds->x) + i * p->net.d;
    double f = bf_expr_eval(e, x);
    (test ? ds->yt : ds->y)[i] = f;
    if (!isfinite(f) && bad < 0) bad = k;
  }
  bf_expr_destroy(&e);
  return bf_failed(comm, bad >= 0, "[data] expression = '%s': not finite at %s point %lld "
                   "(x1 = %g)", p->data.expression, bad < ds->n ? "training" : "test",
                   (long long)(bad < ds->n ? bad : bad - ds->n),
                   bad < 0 ? 0 : bad < ds->n ? ds->x[bad * p->net.d] : ds->xt[(bad - ds->n) * p->net.d]);
}

bf_dataset *bf_fisher_points_create(const bf_params *p)
{
  BF_ASSERT(p->data.points == BF_DATA_RANDOM || p->data.points == BF_DATA_GAUSSIAN);
  bf_dataset *f = BF_CALLOC(1, bf_dataset);
  f->d = p->net.d;
  f->n = p->fisher.n_points;
  f->x = BF_ALLOC(f->n * p->net.d, double);
  if (p->data.points == BF_DATA_GAUSSIAN) gaussian_points(p, DATA_FISHER, f->n, f->x);
  else random_points(p, DATA_FISHER, f->n, f->x);
  return f;
}

bf_dataset *bf_dataset_create(MPI_Comm comm, const bf_params *p)
{
  bf_dataset *ds = BF_CALLOC(1, bf_dataset);
  ds->d = p->net.d;
  ds->n = p->data.points == BF_DATA_LATTICE ? bf_lattice_make(p->net.d, p->lattice.sites, 1).nsites
                                            : p->data.n_train;
  ds->ntest = p->data.n_test;
  ds->x = BF_ALLOC(ds->n * p->net.d, double);
  ds->y = BF_ALLOC(ds->n, double);
  ds->xt = BF_ALLOC(ds->ntest * p->net.d, double);
  ds->yt = BF_ALLOC(ds->ntest, double);
  if (p->data.points == BF_DATA_GRID) grid_points(p, ds->n, ds->x);
  if (p->data.points == BF_DATA_RANDOM) random_points(p, DATA_X, ds->n, ds->x);
  if (p->data.points == BF_DATA_LATTICE) lattice_points(p, ds->x);
  if (p->data.points == BF_DATA_GAUSSIAN) {
    gaussian_points(p, DATA_GAUSS_X, ds->n, ds->x);
    gaussian_points(p, DATA_GAUSS_TEST, ds->ntest, ds->xt);
  } else {
    random_points(p, DATA_TEST, ds->ntest, ds->xt);
  }
  int failed = 0;
  if (p->data.target == BF_TARGET_FILE) {
    failed = file_data(comm, p, ds);
  } else if (p->data.target == BF_TARGET_EXPRESSION) {
    failed = expression_targets(comm, p, ds);
  } else if (p->data.target == BF_TARGET_GP) {
    bf_model *mod = bf_model_create(p);
    gp_targets(comm, p, mod, ds);
    bf_model_destroy(&mod);
  } else {
    for (int64_t k = 0; k < ds->n; k++) ds->y[k] = formula(p, ds->x + k * p->net.d);
    for (int64_t k = 0; k < ds->ntest; k++) ds->yt[k] = formula(p, ds->xt + k * p->net.d);
  }
  if (failed) {
    bf_dataset_destroy(&ds);
    return NULL;
  }
  /* synthetic targets get the likelihood's noise; a file's data has its own */
  bf_rng s = bf_rng_stream(p->run.seed, BF_DATA_MEMBER, DATA_NOISE);
  for (int64_t k = 0; p->data.target != BF_TARGET_FILE && k < ds->n; k++)
    ds->y[k] += p->data.noise * bf_rng_normal(&s, (uint64_t)k);
  return ds;
}

void bf_dataset_destroy(bf_dataset **dp)
{
  bf_dataset *ds = *dp;
  if (!ds) return;
  free(ds->x);
  free(ds->y);
  free(ds->xt);
  free(ds->yt);
  free(ds);
  *dp = NULL;
}
