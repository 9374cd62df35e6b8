/* test_fisher.c — the Fisher metric (docs/physics.md 2).
 *
 * 1. primal (P x P by PDSYRK) and dual (n x n Gram from per-layer products,
 *    J never formed) give the same k = min(n, P) eigenvalues to 1e-10
 *    relative to the largest, where both fit: an MLP with P < n and P > n.
 * 2. The dual Gram against J J^T built from finite-difference-checked rows.
 * 3. Top eigenvectors (primal from PDSYEVR, dual by one backprop each) are
 *    orthonormal and satisfy I v = lambda v.
 * 4. The cos-net readout on the full lattice: I_ii = n A^2/(2 sigma^2 (q^2+m^2))
 *    exactly for q != 0 (to 1e-12), and the diagonal proxy I_AA of an MLP
 *    against the diagonal of J^T J.
 * 5. [fisher] points = separate and normalization = mean through the train
 *    job: the points are their own draws, and the mean-normalized
 *    eigenvalues and diagonal are the sum-normalized ones over n_F. */
#include "testutil.h"

#include "brgflow/metric.h"
#include "brgflow/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bf_params mlp_params(int n, int width)
{
  bf_params p = {.run.seed = 4, .net.arch = BF_ARCH_MLP, .net.d = 2, .net.width = width, .net.depth = 2,
                 .net.activation = 1,
                 .net.sigma_w = 1.4, .net.sigma_b = 0.3, .ens.members = 2, .data.target = BF_TARGET_SIN,
                 .data.n_train = n, .data.n_test = 4, .data.noise = 0.1, .data.domain = 1.0,
                 .data.points = BF_DATA_RANDOM, .fisher.groups = 1, .fisher.block = 8};
  return p;
}

static void primal_vs_dual(int n, int width)
{
  bf_params p = mlp_params(n, width);
  bf_model *mod = bf_model_create(&p);
  const bf_mlp *net = bf_model_mlp(mod);
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  bf_grid *g = bf_grid_create(MPI_COMM_WORLD, 1);
  double *theta = malloc(mod->P * sizeof(double));
  bf_mlp_sample(net, p.run.seed, 0, theta);
  int64_t k = n < mod->Pt ? n : mod->Pt;
  double *lp = malloc(k * sizeof(double)), *ld = malloc(k * sizeof(double)), worst = 0;
  bf_fisher_eigenvalues(g, mod, theta, ds, 0.1, BF_SOLVER_PRIMAL, p.fisher.block, lp);
  bf_fisher_eigenvalues(g, mod, theta, ds, 0.1, BF_SOLVER_DUAL, p.fisher.block, ld);
  for (int64_t j = 0; j < k; j++) worst = fmax(worst, fabs(lp[j] - ld[j]) / lp[0]);
  FIGURE("n = %d, P = %lld: max |primal - dual| / lambda_max over %lld eigenvalues = %.1e "
         "(tol 1e-10); lambda_max = %.4g, lambda_min = %.4g", n, (long long)mod->Pt,
         (long long)k, worst, lp[0], lp[k - 1]);
  ASSERT_LE(worst, 1e-10);
  for (int64_t j = 1; j < k; j++) assert_true(lp[j] <= lp[j - 1]); /* descending */
  free(lp), free(ld), free(theta);
  bf_grid_destroy(&g);
  bf_dataset_destroy(&ds);
  bf_model_destroy(&mod);
}

static void test_primal_equals_dual(void **state)
{
  (void)state;
  primal_vs_dual(120, 6); /* P = 67 < n */
  primal_vs_dual(30, 6);  /* P = 67 > n */
}

/* The spectrum of J^T J / s^2 by LAPACK from explicit rows of J. */
static void test_dual_against_explicit_jacobian(void **state)
{
  (void)state;
  bf_params p = mlp_params(20, 5);
  bf_model *mod = bf_model_create(&p);
  const bf_mlp *net = bf_model_mlp(mod);
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  bf_grid *g = bf_grid_create(MPI_COMM_WORLD, 1);
  double *theta = malloc(mod->P * sizeof(double));
  bf_mlp_sample(net, p.run.seed, 1, theta);
  int n = 20, P = (int)mod->Pt;
  double *J = malloc((size_t)n * P * sizeof(double)), *G = calloc((size_t)n * n, sizeof(double));
  bf_model_jacobian(mod, theta, n, ds->x, J);
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++)
      for (int c = 0; c < P; c++) G[a * n + b] += J[a * P + c] * J[b * P + c] / 0.01;
  double w[20], wq, lam[20], worst = 0;
  int lwork = -1, liwork = -1, iw, info;
  dsyevd_("N", "U", &n, G, &n, w, &wq, &lwork, &iw, &liwork, &info);
  lwork = (int)wq + 1, liwork = iw + 1;
  double *work = malloc(lwork * sizeof(double));
  int *iwork = malloc(liwork * sizeof(int));
  dsyevd_("N", "U", &n, G, &n, w, work, &lwork, iwork, &liwork, &info);
  bf_fisher_eigenvalues(g, mod, theta, ds, 0.1, BF_SOLVER_DUAL, 4, lam);
  for (int j = 0; j < n; j++) worst = fmax(worst, fabs(lam[j] - w[n - 1 - j]) / w[n - 1]);
  FIGURE("dual vs LAPACK on explicit J J^T: max diff / lambda_max = %.1e (tol 1e-10)", worst);
  ASSERT_LE(worst, 1e-10);
  free(work), free(iwork), free(J), free(G), free(theta);
  bf_grid_destroy(&g);
  bf_dataset_destroy(&ds);
  bf_model_destroy(&mod);
}

static void test_cosnet_diagonal_fisher(void **state)
{
  (void)state;
  bf_params p = {.run.seed = 8, .net.d = 2, .net.width = 64, .cosnet.mass = 0.5, .cosnet.cutoff = 2.0,
                 .cosnet.sigma_a = 1.0, .cosnet.momenta = BF_MOMENTA_LATTICE, .lattice.sites = 8,
                 .lattice.spacing = 1.0, .ens.members = 2, .data.n_test = 4, .data.noise = 0.2,
                 .data.domain = 1, .data.points = BF_DATA_LATTICE};
  bf_model *mod = bf_model_create(&p);
  const bf_cosnet *net = mod->free_field;
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  double *theta = malloc(mod->P * sizeof(double)), *diag = malloc(mod->Pt * sizeof(double));
  bf_cosnet_sample(net, p.run.seed, 0, theta);
  bf_fisher_diagonal(mod, theta, ds, p.data.noise, diag);
  double worst = 0, s2 = p.data.noise * p.data.noise;
  int checked = 0;
  for (int64_t i = 0; i < mod->Pt; i++) {
    const double *b = theta + p.net.width + 2 * i;
    double q2 = b[0] * b[0] + b[1] * b[1];
    if (q2 == 0) continue; /* the q = 0 mode depends on its phase (docs/physics.md 4) */
    double want = ds->n * net->amp * net->amp / (2 * s2 * (q2 + p.cosnet.mass * p.cosnet.mass));
    worst = fmax(worst, fabs(diag[i] / want - 1));
    checked++;
  }
  FIGURE("cos-net readout, %d units with q != 0: max |I_ii / (n A^2/(2 s^2 (q^2+m^2))) - 1| "
         "= %.1e (tol 1e-12)", checked, worst);
  ASSERT_LE(worst, 1e-12);
  free(theta), free(diag);
  bf_dataset_destroy(&ds);
  bf_model_destroy(&mod);
}

static void test_mlp_diagonal_is_diag_of_jtj(void **state)
{
  (void)state;
  bf_params p = mlp_params(300, 7); /* 300 points: two chunks of the pass */
  bf_model *mod = bf_model_create(&p);
  const bf_mlp *net = bf_model_mlp(mod);
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  double *theta = malloc(mod->P * sizeof(double)), *diag = malloc(mod->Pt * sizeof(double));
  double *J = malloc((size_t)300 * mod->Pt * sizeof(double)), worst = 0, scale = 0;
  bf_mlp_sample(net, p.run.seed, 0, theta);
  bf_fisher_diagonal(mod, theta, ds, 0.1, diag);
  bf_model_jacobian(mod, theta, 300, ds->x, J);
  for (int64_t a = 0; a < mod->Pt; a++) {
    double s = 0;
    for (int k = 0; k < 300; k++) s += J[k * mod->Pt + a] * J[k * mod->Pt + a] / 0.01;
    worst = fmax(worst, fabs(diag[a] - s));
    scale = fmax(scale, s);
  }
  FIGURE("MLP diagonal Fisher by layers vs diag(J^T J)/s^2: max diff %.1e, max %.3g "
         "(tol 1e-12 relative)", worst, scale);
  ASSERT_LE(worst, 1e-12 * scale);
  free(theta), free(diag), free(J);
  bf_dataset_destroy(&ds);
  bf_model_destroy(&mod);
}

/* Eigenvectors: orthonormal, and I v = lambda v for I = J^T J / s^2 built
 * from explicit rows of J (1e-10 relative to lambda_max), primal and dual. */
static void test_eigenvectors(void **state)
{
  (void)state;
  for (int solver = BF_SOLVER_PRIMAL; solver <= BF_SOLVER_DUAL; solver++) {
    int n = solver == BF_SOLVER_PRIMAL ? 90 : 25;
    bf_params p = mlp_params(n, 6);
    bf_model *mod = bf_model_create(&p);
    const bf_mlp *net = bf_model_mlp(mod);
    bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
    bf_grid *g = bf_grid_create(MPI_COMM_WORLD, 1);
    int P = (int)mod->Pt, nv = 10;
    double *theta = malloc(mod->P * sizeof(double)), *J = malloc((size_t)n * P * sizeof(double));
    double *V = malloc((size_t)nv * P * sizeof(double)), lam[10], res = 0, orth = 0;
    bf_mlp_sample(net, p.run.seed, 0, theta);
    /* one member, rank 0's; each rank gets its parameter rows, gathered
     * here (by parameter row, P x nv) to check them whole */
    bf_evec_map *map = bf_evec_map_create(g, P, nv, 0, g->rank == 0);
    double *rows = malloc((size_t)(map->rows * nv + 1) * sizeof(double));
    bf_fisher_eigenvectors(g, mod, theta, ds, 0.1, solver, 4, map, lam, rows);
    bf_evec_gather(g, map, nv, rows, 0, V);
    bf_bcast_doubles(g->comm, V, (int64_t)nv * P, 0);
    free(rows);
    bf_evec_map_destroy(&map);
    bf_model_jacobian(mod, theta, n, ds->x, J);
    double *Jv = malloc(n * sizeof(double));
    for (int j = 0; j < nv; j++) {
      const double *v = V + j; /* v[a nv] = v_ja */
      for (int k = 0; k < n; k++) {
        Jv[k] = 0;
        for (int a = 0; a < P; a++) Jv[k] += J[k * P + a] * v[a * nv];
      }
      for (int a = 0; a < P; a++) { /* (I v)_a - lambda v_a */
        double iv = 0;
        for (int k = 0; k < n; k++) iv += J[k * P + a] * Jv[k] / 0.01;
        res = fmax(res, fabs(iv - lam[j] * v[a * nv]) / lam[0]);
      }
      for (int i = 0; i <= j; i++) {
        double dot = 0;
        for (int a = 0; a < P; a++) dot += V[(int64_t)a * nv + i] * v[a * nv];
        orth = fmax(orth, fabs(dot - (i == j)));
      }
    }
    FIGURE("%s: top %d eigenvectors: max |I v - lambda v| / lambda_max = %.1e, "
           "max |V^T V - 1| = %.1e (tol 1e-10)", solver == BF_SOLVER_PRIMAL ? "primal" : "dual",
           nv, res, orth);
    ASSERT_LE(res, 1e-10);
    ASSERT_LE(orth, 1e-10);
    free(theta), free(J), free(V), free(Jv);
    bf_grid_destroy(&g);
    bf_dataset_destroy(&ds);
    bf_model_destroy(&mod);
  }
}

/* cos-net readout on the full lattice, eigen basis: E[J J^T] has the
 * eigenvalues (N/M) lambda_q, lambda_q = n A^2/(2 s^2 (q^2+m^2)), one per
 * lattice momentum in B_R (docs/theory.md).  So the spectrum times M/N
 * approaches the diagonal values, closer as N/M grows (fluctuations of the
 * class occupancies and phases ~ sqrt(M/N)). */
static double alignment_deviation(int width, int *nmom)
{
  bf_params p = {.run.seed = 21, .net.d = 1, .net.width = width, .cosnet.mass = 0.4, .cosnet.cutoff = 1.3,
                 .cosnet.sigma_a = 1.0, .cosnet.momenta = BF_MOMENTA_LATTICE, .lattice.sites = 16,
                 .lattice.spacing = 1.0, .ens.members = 2, .data.n_test = 2, .data.noise = 0.3,
                 .data.domain = 1, .data.points = BF_DATA_LATTICE, .fisher.block = 4};
  bf_model *mod = bf_model_create(&p);
  const bf_cosnet *net = mod->free_field;
  bf_dataset *ds = bf_dataset_create(MPI_COMM_WORLD, &p);
  bf_grid *g = bf_grid_create(MPI_COMM_WORLD, 1);
  double *theta = malloc(mod->P * sizeof(double)), lam[16], want[16], worst = 0;
  int M = (int)net->nmom, k = 16 < width ? 16 : width;
  bf_cosnet_sample(net, p.run.seed, 0, theta);
  bf_fisher_eigenvalues(g, mod, theta, ds, p.data.noise, bf_fisher_choose(BF_SOLVER_AUTO, 16, width),
                        4, lam);
  for (int q = 0; q < M; q++) { /* lambda_q, sorted descending (small |q| first) */
    double q2 = net->mom[q] * net->mom[q];
    want[q] = 16 * net->amp * net->amp / (2 * p.data.noise * p.data.noise * (q2 + p.cosnet.mass * p.cosnet.mass));
  }
  for (int a = 0; a < M; a++)
    for (int b = a + 1; b < M; b++)
      if (want[b] > want[a]) { double t = want[a]; want[a] = want[b]; want[b] = t; }
  for (int q = 0; q < M && q < k; q++)
    worst = fmax(worst, fabs(lam[q] * M / width / want[q] - 1));
  *nmom = M;
  free(theta);
  bf_grid_destroy(&g);
  bf_dataset_destroy(&ds);
  bf_model_destroy(&mod);
  return worst;
}

static void test_cosnet_eigen_alignment(void **state)
{
  (void)state;
  int M;
  double dev_small = alignment_deviation(14, &M), dev_large = alignment_deviation(2800, &M);
  FIGURE("cos-net eigen spectrum x M/N vs lambda_q (M = %d): max relative deviation "
         "%.3f at N/M = %.0f, %.3f at N/M = %.0f (must shrink, and < 0.25)", M, dev_small,
         14.0 / M, dev_large, 2800.0 / M);
  ASSERT_LE(dev_large, 0.5 * dev_small);
  ASSERT_LE(dev_large, 0.25);
}

static bf_ctx *fisher_job(const char *norm, bf_params *p)
{
  char text[1024], err[1024];
  snprintf(text, sizeof text,
           "[network]\narch = mlp\nd = 2\nwidth = 12\n[ensemble]\nmembers = 3\n"
           "[data]\npoints = gaussian\nmean = 1, 1\ntarget = expression\n"
           "expression = (1 - x1)^2 - 0.5*(x2 - x1^2)\nn_train = 16\nnoise = 0\n"
           "[train]\nmethod = gd\nlr = 0.01\nsteps = 5\n"
           "[fisher]\nsolver = dual\nsigma = 1\npoints = separate\nn_points = 24\n"
           "normalization = %s\n[brg]\nflow = yes\nbasis = both\nprescription = prune\n",
           norm);
  assert_int_equal(bf_input_parse("t.ini", text, NULL, 0, BF_OUTPUT_IGNORE, p, err,
                                  sizeof err), 0);
  return bf_chain(MPI_COMM_WORLD, p, "metric", 0);
}

static void test_separate_points_and_mean_normalization(void **state)
{
  (void)state;
  bf_params ps, pm;
  bf_ctx *js = fisher_job("sum", &ps), *jm = fisher_job("mean", &pm);
  double nF = 24, worst_l = 0, worst_d = 0, dx = 0;
  assert_true(js->fisher_own && js->fisher->n == 24 && js->k == 24);
  for (int64_t a = 0; a < 16 * 2; a++) dx = fmax(dx, fabs(js->fisher->x[a] - js->ds->x[a]));
  /* relative to each member's largest: the smallest eigenvalues of a
   * rank-deficient Gram are rounding noise of that size */
  for (int64_t i = 0; i < js->ens->count * js->k; i++) {
    double top = js->lambda[i / js->k * js->k] / nF;
    worst_l = fmax(worst_l, fabs(jm->lambda[i] - js->lambda[i] / nF) / top);
  }
  for (int64_t i = 0; i < js->ens->count * js->mod->Pt; i++)
    if (js->diag[i] > 0)
      worst_d = fmax(worst_d, fabs(jm->diag[i] - js->diag[i] / nF) / (js->diag[i] / nF));
  /* the diagonal is that of the Fisher points, not of the training points */
  double *dtrain = malloc(js->mod->Pt * sizeof(double)), off = 0;
  bf_fisher_diagonal(js->mod, js->ens->theta, js->ds, 1.0, dtrain);
  for (int64_t a = 0; a < js->mod->Pt; a++) off = fmax(off, fabs(dtrain[a] - js->diag[a]));
  FIGURE("n_F = 24 separate points (max |x_F - x_train| over the first 16 = %.3g, must be "
         "> 0): max |mean - sum/n_F|: eigenvalues %.1e relative to each member's largest, "
         "diagonal %.1e relative (tol 1e-13: sigma sqrt(n_F) squared differs from sigma^2 "
         "n_F by a few roundings); diagonal on "
         "the training points differs by %.3g (must be > 0)", dx, worst_l, worst_d, off);
  assert_true(dx > 0 && off > 0);
  ASSERT_LE(worst_l, 1e-13);
  ASSERT_LE(worst_d, 1e-13);
  assert_true(js->fisher_count == nF && jm->fisher_count == 1);
  free(dtrain);
  bf_ctx_destroy(&js), bf_ctx_destroy(&jm);
  bf_params_free(&ps), bf_params_free(&pm);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_separate_points_and_mean_normalization),
  cmocka_unit_test(test_cosnet_eigen_alignment),
  cmocka_unit_test(test_eigenvectors),
  cmocka_unit_test(test_primal_equals_dual),
  cmocka_unit_test(test_dual_against_explicit_jacobian),
  cmocka_unit_test(test_cosnet_diagonal_fisher),
  cmocka_unit_test(test_mlp_diagonal_is_diag_of_jtj),
};
BF_TEST_MAIN(group)
