/* test_sgd.c — stochastic gradient descent and the loss conventions
 * (issue 9): SGD steps and epochs against a hand computation, the shuffled
 * order, and GD with loss = mse against half_mse at twice the rate.
 *
 * The model is a 1 -> 3 tanh -> 1 MLP (ntk parameterization, biases):
 *   h_i = tanh(a1 W1_i x + b1s b1_i),  f = a2 sum_i W2_i h_i + b2s b2,
 * trained as a readout (linear in W2, b2: the features path of train.c) or
 * whole (the model's one-pass gradient).  The test writes f, the residual
 * and the update out by hand from this formula. */
#include "testutil.h"

#include "brgflow/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NPTS = 6, WIDTH = 3 };

static bf_params params(int trainable, int loss, int batch)
{
  bf_params p = {.run.seed = 7, .net.arch = BF_ARCH_MLP, .net.d = 1, .net.width = WIDTH, .net.depth = 1,
                 .net.activation = 1 /* tanh */, .net.sigma_w = 1.5, .net.sigma_b = 0.3, .ens.members = 2,
                 .data.n_train = NPTS, .data.n_test = 2, .data.noise = 0.1, .data.domain = 1.0,
                 .train.method = BF_TRAIN_SGD, .train.trainable = trainable, .train.lr = 0.07,
                 .train.steps = 200, .train.loss = loss, .train.batch = batch, .train.epochs = 1,
                 .kernel.quadrature = BF_QUAD_AUTO, .kernel.order = 96, .fisher.groups = 1, .fisher.block = 8};
  return p;
}

static const double X[NPTS] = {-0.9, -0.4, 0.1, 0.35, 0.7, 1.0};
static const double Y[NPTS] = {0.2, -0.5, 0.8, 0.1, -0.3, 0.6};

static bf_dataset dataset(void)
{
  bf_dataset ds = {.d = 1, .n = NPTS, .ntest = 0, .x = (double *)X, .y = (double *)Y};
  return ds;
}

/* The hand model: f(x) and df/dtheta (all P = 10 entries, theta order
 * W1, b1, W2, b2 as the layer offsets say). */
static double hand_f(const bf_mlp *net, const double *th, double x, double *grad)
{
  const bf_layer *l1 = &net->layer[1], *l2 = &net->layer[2];
  double a1 = bf_mlp_alpha(net, 1), s1 = bf_mlp_beta(net, 1);
  double a2 = bf_mlp_alpha(net, 2), s2 = bf_mlp_beta(net, 2), f = s2 * th[l2->boff];
  for (int i = 0; i < WIDTH; i++) {
    double h = tanh(a1 * th[l1->woff + i] * x + s1 * th[l1->boff + i]);
    double w2 = th[l2->woff + i], back = a2 * w2 * (1 - h * h);
    f += a2 * w2 * h;
    grad[l1->woff + i] = back * a1 * x;
    grad[l1->boff + i] = back * s1;
    grad[l2->woff + i] = a2 * h;
  }
  grad[l2->boff] = s2;
  return f;
}

/* One hand SGD step on rows idx[0..B): theta_T -= lr c sum_b r_b grad f_b,
 * c = 1/B (half_mse) or 2/B (mse); the gradient is taken at the old theta. */
static void hand_step(const bf_model *mod, const bf_params *p, double *th, const int64_t *idx,
                      int B)
{
  const bf_mlp *net = bf_model_mlp(mod);
  double grad[16], sum[16] = {0}, c = (p->train.loss == BF_LOSS_MSE ? 2.0 : 1.0) / B;
  for (int b = 0; b < B; b++) {
    double r = hand_f(net, th, X[idx[b]], grad) - Y[idx[b]];
    for (int64_t A = 0; A < mod->P; A++) sum[A] += r * grad[A];
  }
  for (int64_t A = mod->t0; A < mod->t0 + mod->Pt; A++) th[A] -= p->train.lr * c * sum[A];
}

static double hand_mse(const bf_model *mod, const double *th)
{
  double grad[16], s = 0;
  for (int k = 0; k < NPTS; k++) {
    double r = hand_f(bf_model_mlp(mod), th, X[k], grad) - Y[k];
    s += r * r;
  }
  return s / NPTS;
}

static double max_diff(const double *a, const double *b, int64_t n)
{
  double m = 0;
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
  return m;
}

/* One bf_sgd_step against hand_step: both trainable sets, B = 1 and 3
 * (rows out of order, so the gather is exercised), both losses.  Tolerance
 * 1e-13: the two sum the same few dozen O(1) terms in different orders. */
static void test_one_step_by_hand(void **state)
{
  (void)state;
  static const int64_t rows1[] = {3}, rows3[] = {4, 0, 2};
  bf_dataset ds = dataset();
  for (int tr = 0; tr < 2; tr++)
    for (int B = 1; B <= 3; B += 2)
      for (int loss = 0; loss < 2; loss++) {
        bf_params p = params(tr ? BF_TRAIN_READOUT : BF_TRAIN_ALL, loss, B);
        bf_model *mod = bf_model_create(&p);
        double th[16], want[16], th0[16];
        bf_model_sample(mod, p.run.seed, 1, th);
        memcpy(want, th, sizeof(double) * mod->P);
        memcpy(th0, th, sizeof(double) * mod->P);
        bf_sgd *w = bf_sgd_create(mod, &p, &ds, th);
        bf_sgd_step(w, th, B == 1 ? rows1 : rows3, B);
        hand_step(mod, &p, want, B == 1 ? rows1 : rows3, B);
        double dev = max_diff(th, want, mod->P), moved = max_diff(th, th0, mod->P);
        FIGURE("%s (%s path), B = %d, loss %s: max |theta - hand| = %.2e (tol 1e-13); "
               "the step moved theta by %.3e", tr ? "readout" : "all",
               mod->linear ? "features" : "gradient", B, loss ? "mse" : "half_mse", dev, moved);
        assert_int_equal(mod->linear, tr);
        ASSERT_LE(dev, 1e-13);
        assert_true(moved > 1e-6); /* else the comparison would be empty */
        bf_sgd_destroy(&w);
        bf_model_destroy(&mod);
      }
}

/* bf_train_sgd's epoch with order = fixed is n/B hand steps on rows
 * 0..B-1, B..2B-1, ...; its records are the hand MSE before and after.
 * Tolerance 1e-13 as above (errors of a few steps add, still O(1e-15)). */
static void test_fixed_epoch_by_hand(void **state)
{
  (void)state;
  bf_dataset ds = dataset();
  for (int tr = 0; tr < 2; tr++)
    for (int B = 2; B <= 3; B++) {
      bf_params p = params(tr ? BF_TRAIN_READOUT : BF_TRAIN_ALL, BF_LOSS_MSE, B);
      bf_model *mod = bf_model_create(&p);
      bf_train_log log = bf_train_schedule(&p);
      double th[16], want[16], loss[2], loss0;
      bf_model_sample(mod, p.run.seed, 0, th);
      memcpy(want, th, sizeof(double) * mod->P);
      loss0 = hand_mse(mod, want);
      bf_train_sgd(mod, &p, &ds, &log, 0, th, loss, NULL, 0, 1);
      for (int64_t i = 0; i < NPTS; i += B) {
        int64_t rows[3] = {i, i + 1, i + 2};
        hand_step(mod, &p, want, rows, B);
      }
      double dev = max_diff(th, want, mod->P);
      double dl = fmax(fabs(loss[0] - loss0), fabs(loss[1] - hand_mse(mod, want)));
      FIGURE("%s, B = %d: one epoch = %d hand steps: max |theta - hand| = %.2e, "
             "|loss - hand| = %.2e (tol 1e-13); loss %.5f -> %.5f", tr ? "readout" : "all", B,
             NPTS / B, dev, dl, loss[0], loss[1]);
      assert_int_equal(log.nrec, 2);
      ASSERT_LE(dev, 1e-13);
      ASSERT_LE(dl, 1e-13);
      ASSERT_LE(loss[1], loss[0]); /* a small step downhill lowers the MSE */
      free(log.steps);
      bf_model_destroy(&mod);
    }
}

static int is_permutation(const int64_t *perm, int64_t n)
{
  char seen[64] = {0};
  for (int64_t i = 0; i < n; i++) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) return 0;
    seen[perm[i]] = 1;
  }
  return 1;
}

static int64_t differing(const int64_t *a, const int64_t *b, int64_t n)
{
  int64_t d = 0;
  for (int64_t i = 0; i < n; i++) d += a[i] != b[i];
  return d;
}

/* Shuffled orders: permutations, a function of (seed, member, epoch) only,
 * different between epochs and between members (two equal draws of 40
 * points: probability 1/40!); fixed: the identity every epoch.  The same
 * at 1 and 2 ranks is checked end to end in tests/mpi/sgd.sh. */
static void test_shuffled_order(void **state)
{
  (void)state;
  enum { N = 40 };
  bf_params p = params(BF_TRAIN_READOUT, BF_LOSS_MSE, 1);
  int64_t e0[N], e1[N], m1[N], again[N], fixed[N];
  p.train.order = BF_ORDER_SHUFFLED;
  bf_train_order(&p, 5, 0, N, e0);
  bf_train_order(&p, 5, 1, N, e1);
  bf_train_order(&p, 6, 0, N, m1);
  bf_train_order(&p, 6, 0, N, again);
  p.train.order = BF_ORDER_FIXED;
  bf_train_order(&p, 5, 3, N, fixed);
  int64_t id = 0;
  for (int64_t i = 0; i < N; i++) id += fixed[i] != i;
  FIGURE("n = %d: epochs 0 and 1 differ at %lld places, members 5 and 6 at %lld; "
         "redrawn order differs at %lld (want 0); fixed order off the identity at %lld "
         "(want 0)", N, (long long)differing(e0, e1, N), (long long)differing(e0, m1, N),
         (long long)differing(m1, again, N), (long long)id);
  assert_true(is_permutation(e0, N) && is_permutation(e1, N) && is_permutation(m1, N));
  assert_true(differing(e0, e1, N) > 0);
  assert_true(differing(e0, m1, N) > 0);
  assert_int_equal(differing(m1, again, N), 0);
  assert_int_equal(id, 0);
}

/* GD with loss = mse at lr against half_mse at 2 lr: the factor 2 is
 * exact in binary, so bitwise equal (tol 0), for both paths; and the
 * infinite-width reference of a GD job uses the same doubled rate. */
static void test_gd_mse_is_half_mse_at_twice_lr(void **state)
{
  (void)state;
  bf_dataset ds = dataset();
  for (int tr = 0; tr < 2; tr++) {
    bf_params a = params(tr ? BF_TRAIN_READOUT : BF_TRAIN_ALL, BF_LOSS_MSE, 1), b = a;
    a.train.method = b.train.method = BF_TRAIN_GD, a.train.steps = b.train.steps = 50;
    b.train.loss = BF_LOSS_HALF_MSE, b.train.lr = 2 * a.train.lr;
    bf_model *mod = bf_model_create(&a);
    bf_train_log log = bf_train_schedule(&a);
    double ta[16], tb[16], la[2], lb[2];
    bf_model_sample(mod, a.run.seed, 0, ta);
    memcpy(tb, ta, sizeof ta);
    bf_train_gd(mod, &a, &ds, &log, ta, la, NULL, 0, a.train.steps);
    bf_train_gd(mod, &b, &ds, &log, tb, lb, NULL, 0, b.train.steps);
    double dev = max_diff(ta, tb, mod->P);
    FIGURE("GD %s, 50 steps: mse at lr vs half_mse at 2 lr: max |diff| = %.1e (tol 0, "
           "bitwise); loss %.5f -> %.5f", tr ? "readout" : "all", dev, la[0], la[1]);
    assert_memory_equal(ta, tb, sizeof(double) * mod->P);
    assert_memory_equal(la, lb, sizeof la);
    free(log.steps);
    bf_model_destroy(&mod);
  }
  bf_params a = params(BF_TRAIN_ALL, BF_LOSS_MSE, 1), b = a;
  a.train.method = b.train.method = BF_TRAIN_GD, a.train.steps = b.train.steps = 20, a.ens.members = b.ens.members = 4;
  a.net.width = b.net.width = 16, a.data.target = b.data.target = BF_TARGET_SIN;
  a.data.points = b.data.points = BF_DATA_RANDOM;
  b.train.loss = BF_LOSS_HALF_MSE, b.train.lr = 2 * a.train.lr;
  bf_ctx *ja = bf_chain(MPI_COMM_WORLD, &a, "metric", 0);
  bf_ctx *jb = bf_chain(MPI_COMM_WORLD, &b, "metric", 0);
  assert_non_null(ja->ref_mean);
  double dev = max_diff(ja->ref_mean, jb->ref_mean, ja->ds->ntest);
  FIGURE("NTK reference, mse at lr vs half_mse at 2 lr: max |diff| = %.1e (tol 0)", dev);
  assert_memory_equal(ja->ref_mean, jb->ref_mean, sizeof(double) * ja->ds->ntest);
  bf_ctx_destroy(&ja);
  bf_ctx_destroy(&jb);
}

/* SGD has no closed-form infinite-width limit: a job writes no reference
 * (rather than a wrong one), and its records count epochs. */
static void test_sgd_job_skips_reference(void **state)
{
  (void)state;
  bf_params p = params(BF_TRAIN_READOUT, BF_LOSS_MSE, 2);
  p.data.target = BF_TARGET_SIN, p.data.points = BF_DATA_RANDOM, p.train.epochs = 30;
  p.train.record_every = 10, p.net.width = 16, p.train.lr = 0.05;
  bf_ctx *job = bf_chain(MPI_COMM_WORLD, &p, "metric", 0);
  double first = job->loss[0], last = job->loss[job->log.nrec - 1];
  FIGURE("sgd job: reference %s (want none); %d records at epochs 0..%d; member 0 "
         "MSE %.4f -> %.4f (must fall)", job->ref_mean ? "present" : "none", job->log.nrec,
         job->log.steps[job->log.nrec - 1], first, last);
  assert_null(job->ref_mean);
  assert_int_equal(job->log.nrec, 4);
  assert_int_equal(job->log.steps[3], 30);
  ASSERT_LE(last, first);
  bf_ctx_destroy(&job);
}

static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_one_step_by_hand),
  cmocka_unit_test(test_fixed_epoch_by_hand),
  cmocka_unit_test(test_shuffled_order),
  cmocka_unit_test(test_gd_mse_is_half_mse_at_twice_lr),
  cmocka_unit_test(test_sgd_job_skips_reference),
};
BF_TEST_MAIN(group)
