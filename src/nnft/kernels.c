/* kernels.c — the infinite-width NNGP kernel and NTK of a deep MLP
 * (docs/physics.md 1b).
 *
 *   bf_gh_create      a 2-d Gauss-Hermite product rule of a given order
 *   bf_gh_destroy     free it
 *   bf_gh_expect      E[g(u) h(v)] for (u,v) ~ N(0, [[k11,k12],[k12,k22]])
 *   bf_gh_expect_kinked  the same for g, h with a kink at 0 (polar rule)
 *   bf_kernels        K_nngp and K_ntk of a layer stack on a set of points
 *   bf_kernel_plan_create/destroy  rules and layer constants for entries
 *   bf_kernel_diag    one point's K^l(x, x), l = 1..L (what its pairs need)
 *   bf_kernel_pair    one entry of K and Theta from the two points' diagonals
 *   bf_kernels_warn   collective: say when quadrature ran past its range
 *
 * For a layer stack with forward scales (alpha_l, beta_l), prior widths
 * (sd_w, sd_b), widths N_l and activations phi_l:
 *   K^1 = alpha_1^2 sd_w^2 x.x' + beta_1^2 sd_b^2,   Theta^1 = alpha_1^2 x.x' + beta_1^2,
 *   K^{l+1} = alpha^2 sd_w^2 N_l E[phi_l(u)phi_l(v)] + beta^2 sd_b^2,
 *   Theta^{l+1} = alpha^2 N_l E[phi_l phi_l] + beta^2
 *                 + alpha^2 sd_w^2 N_l E[phi_l'(u)phi_l'(v)] Theta^l,
 * (beta terms only where the layer has a bias) with (u,v) ~ N(0, Sigma^l)
 * the 2x2 block of K^l at the pair of points.  In the NTK parameterization
 * these are the usual K^{l+1} = sw^2 E + sb^2, Theta^{l+1} = K^{l+1} +
 * sw^2 E' Theta^l; Theta is the tangent kernel in theta as stored.
 * The expectations use the activation's closed forms where the table has
 * them (quadrature = auto), and otherwise 2-d Gauss-Hermite (smooth
 * activations) or its polar variant split at the kinks (relu). */
#include "brgflow/nnft.h"

#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bf_gh {
  int n;
  double *z, *w;   /* Hermite: nodes, weights for a standard normal */
  double *t, *wt;  /* Laguerre in t = r^2/2 (radial part of the polar rule) */
  double *s, *ws;  /* Legendre on [-1, 1] (angular arcs of the polar rule) */
};

/* Nodes and weights of a GSL fixed rule. */
static void fixed_rule(const gsl_integration_fixed_type *type, int n, double a,
                       double b, double **x, double **w)
{
  gsl_integration_fixed_workspace *ws =
      gsl_integration_fixed_alloc(type, (size_t)n, a, b, 0.0, 0.0);
  BF_ASSERT(ws);
  *x = BF_ALLOC(n, double);
  *w = BF_ALLOC(n, double);
  for (int i = 0; i < n; i++) {
    (*x)[i] = gsl_integration_fixed_nodes(ws)[i];
    (*w)[i] = gsl_integration_fixed_weights(ws)[i];
  }
  gsl_integration_fixed_free(ws);
}

bf_gh *bf_gh_create(int order)
{
  bf_gh *gh = BF_CALLOC(1, bf_gh);
  gh->n = order;
  /* GSL's Hermite rule integrates against e^{-x^2}; z = sqrt2 x turns it
   * into an expectation over N(0,1), with weights divided by sqrt(pi). */
  fixed_rule(gsl_integration_fixed_hermite, order, 0.0, 1.0, &gh->z, &gh->w);
  for (int i = 0; i < order; i++) {
    gh->z[i] *= M_SQRT2;
    gh->w[i] /= sqrt(M_PI);
  }
  fixed_rule(gsl_integration_fixed_laguerre, order, 0.0, 1.0, &gh->t, &gh->wt);
  fixed_rule(gsl_integration_fixed_legendre, order, -1.0, 1.0, &gh->s, &gh->ws);
  return gh;
}

void bf_gh_destroy(bf_gh **gh)
{
  if (!*gh) return;
  free((*gh)->z);
  free((*gh)->w);
  free((*gh)->t);
  free((*gh)->wt);
  free((*gh)->s);
  free((*gh)->ws);
  free(*gh);
  *gh = NULL;
}

/* Sigma = [[a,0],[b,c]] [[a,0],[b,c]]^T.  c from the determinant: k22 - b^2
 * would leave c ~ 1e-8 instead of 0 where k12^2 = k11 k22 (the diagonal). */
static void cholesky2(double k11, double k22, double k12, double *a, double *b,
                      double *c)
{
  *a = sqrt(fmax(k11, 0));
  *b = *a > 0 ? k12 / *a : 0;
  *c = *a > 0 ? sqrt(fmax(k11 * k22 - k12 * k12, 0) / k11) : sqrt(fmax(k22, 0));
}

/* u = a z1, v = b z1 + c z2: outer rule in z1, inner rule in z2. */
static double gh_product(const bf_gh *outer, const bf_gh *inner,
                         double (*g)(double), double (*h)(double), double a,
                         double b, double c)
{
  double sum = 0;
  for (int i = 0; i < outer->n; i++) {
    double gu = g(a * outer->z[i]), in = 0, bz = b * outer->z[i];
    for (int j = 0; j < inner->n; j++) in += inner->w[j] * h(bz + c * inner->z[j]);
    sum += outer->w[i] * gu * in;
  }
  return sum;
}

double bf_gh_expect(const bf_gh *gh, double (*g)(double), double (*h)(double),
                    double k11, double k22, double k12)
{
  double a, b, c;
  cholesky2(k11, k22, k12, &a, &b, &c);
  return gh_product(gh, gh, g, h, a, b, c);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The same expectation in polar coordinates z = r (cos t, sin t), for
 * activations with a kink at 0 (docs/theory.md g).  u = r A(t) and
 * v = r B(t) change sign only at fixed angles, so the angle integral is
 * split there (Gauss-Legendre per arc) and the radial one, in s = r^2/2
 * with weight e^{-s}, is Gauss-Laguerre:
 *   E = (1/2pi) int dt int_0^inf ds e^{-s} g(sqrt(2s) A(t)) h(sqrt(2s) B(t)).
 * For relu each piece is a polynomial in s and a trigonometric polynomial
 * in t, so the rule is exact up to rounding. */
double bf_gh_expect_kinked(const bf_gh *gh, double (*g)(double),
                           double (*h)(double), double k11, double k22,
                           double k12)
{
  double a, b, c;
  cholesky2(k11, k22, k12, &a, &b, &c);
  /* kinks: A = a cos t = 0 and B = b cos t + c sin t = 0 */
  double cut[6] = {0.5 * M_PI, 1.5 * M_PI, 0, 0, 0, 2 * M_PI};
  double t0 = atan2(-b, c);
  cut[2] = fmod(t0 + 2 * M_PI, M_PI);
  cut[3] = cut[2] + M_PI;
  qsort(cut, 6, sizeof cut[0], cmp_double); /* cut[0] = 0 */
  double sum = 0;
  for (int arc = 0; arc < 5; arc++) {
    double lo = cut[arc], hi = cut[arc + 1], half = 0.5 * (hi - lo);
    if (half <= 0) continue;
    for (int i = 0; i < gh->n; i++) {
      double t = lo + half * (gh->s[i] + 1), A = a * cos(t);
      double B = b * cos(t) + c * sin(t), radial = 0;
      for (int j = 0; j < gh->n; j++) {
        double r = sqrt(2 * gh->t[j]);
        radial += gh->wt[j] * g(r * A) * h(r * B);
      }
      sum += half * gh->ws[i] * radial;
    }
  }
  return sum / (2 * M_PI);
}

/* Rules by order, built on first use.  The activations have features of
 * width ~1 in u = s z, i.e. ~1/s in z, while Hermite nodes near the origin
 * are ~pi/sqrt(2 n) apart: resolving them takes n ~ s^2, the variance.  Each
 * dimension gets its own order from its own variance -- the outer from k11,
 * the inner from the conditional variance c^2 = det/k11, small for
 * correlated pairs -- as max(requested, 64 + 110 var), rounded up to a
 * multiple of 32.  Measured for 1e-10 (docs/theory.md g): tanh needs
 * ~128 at var = 1 and ~85 var beyond (poles at +-i pi/2), erf ~50 var; so
 * the rule holds 1e-10 for every smooth activation of the table up to
 * var ~ 18, where the order reaches its cap of 2048. */
enum { RULE_STEP = 32, MAX_ORDER = 2048 };
#define RULE_BASE 64.0
#define RULE_PER_VARIANCE 110.0
/* The variance up to which the capped order was measured to hold 1e-10. */
#define VALIDATED_VARIANCE 18.0
typedef struct rule_cache {
  int min_order;
  double worst_var; /* largest variance a Hermite rule was asked to cover */
  bf_gh *rule[MAX_ORDER / RULE_STEP + 1];
} rule_cache;

static const bf_gh *rule_for(rule_cache *rc, double var)
{
  double want = fmax(rc->min_order, RULE_BASE + RULE_PER_VARIANCE * fmax(var, 0));
  if (!(want <= MAX_ORDER)) want = MAX_ORDER; /* before the conversion: var may be huge or inf */
  int slot = (int)ceil(want / RULE_STEP);
  if (slot > MAX_ORDER / RULE_STEP) slot = MAX_ORDER / RULE_STEP;
  if (!rc->rule[slot]) rc->rule[slot] = bf_gh_create(slot * RULE_STEP);
  return rc->rule[slot];
}

/* E[g(u)h(v)] by the rule that suits the activation. */
static double expect(rule_cache *rc, const bf_activation *act, int deriv,
                     double k11, double k22, double k12)
{
  double (*f)(double) = deriv ? act->dphi : act->phi;
  if (act->kink) /* the polar rule: exact per piece, order needs no scaling */
    return bf_gh_expect_kinked(rule_for(rc, 0), f, f, k11, k22, k12);
  /* the outer rule's order follows k11, but its integrand h(b z1 + c z2)
   * varies on the scale of b^2 = k12^2/k11 <= k22: put the larger variance
   * outside (E[f(u)f(v)] is symmetric), so the order covers both */
  if (k22 > k11) {
    double t = k11;
    k11 = k22, k22 = t;
  }
  double a, b, c;
  cholesky2(k11, k22, k12, &a, &b, &c);
  rc->worst_var = fmax(rc->worst_var, k11);
  return gh_product(rule_for(rc, a * a), rule_for(rc, c * c), f, f, a, b, c);
}

/* E[phi(u)phi(v)] and E[phi'(u)phi'(v)] for one layer's activation. */
static void layer_expect(rule_cache *rc, const bf_activation *act, int closed, double k11,
                         double k22, double k12, double *e, double *ed)
{
  closed = closed && act->ephi && act->edphi;
  *e = closed ? act->ephi(k11, k22, k12) : expect(rc, act, 0, k11, k22, k12);
  *ed = closed ? act->edphi(k11, k22, k12) : expect(rc, act, 1, k11, k22, k12);
}

/* Row i and column j (i <= j) of pair number q of the upper triangle,
 * row-major. */
static void pair_at(int64_t q, int64_t n, int64_t *i, int64_t *j)
{
  int64_t row = 0, start = 0; /* start: number of the row's first pair */
  while (row < n - 1 && start + (n - row) <= q) start += n - row, row++;
  *i = row, *j = row + q - start;
}

/* The kernels of a large point set run for minutes with no step boundary
 * (quadrature pairs take milliseconds each): every rank walks its pairs in
 * chunks of about CHUNK_PAIRS, the same number of chunks on every rank, and
 * after each the ranks agree on a stop request; rank 0 prints progress
 * about every PROGRESS_SECONDS.  A set of one chunk never polls. */
enum { CHUNK_PAIRS = 256, PROGRESS_SECONDS = 10 };

static int kernels_stop(MPI_Comm comm, int layer, int depth, int chunk, int chunks,
                        double t0, double *last)
{
  if (bf_elapsed() - *last >= PROGRESS_SECONDS) {
    *last = bf_elapsed();
    bf_log(comm, "kernels: layer %d/%d, %.1f%% of its pairs, %.1f s", layer, depth,
           100.0 * (chunk + 1) / chunks, *last - t0);
  }
  return bf_stop_poll_signal(comm);
}

int bf_kernels(MPI_Comm comm, const bf_mlp *net, int64_t n, const double *x, int quadrature,
               int order, double *K, double *Theta)
{
  /* Pairs (i <= j) are dealt out in contiguous blocks of the upper triangle;
   * each is computed by exactly one rank and the others add zeros, so the
   * result is bitwise the same at any rank count. */
  int rank, size, d = net->d;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  BF_MPI(MPI_Comm_size(comm, &size));
  int64_t first, count, npairs = n * (n + 1) / 2;
  bf_block_range(npairs, size, rank, &first, &count);
  int64_t most = (npairs + size - 1) / size; /* the largest rank's share */
  int polls = (int)((most + CHUNK_PAIRS - 1) / CHUNK_PAIRS), stopped = 0;
  polls = polls > 1 ? polls : 1;
  double t0 = bf_elapsed(), last = t0;
  rule_cache rc = {.min_order = order};
  double *Kn = BF_ALLOC(n * n, double), *Tn = BF_ALLOC(n * n, double);
  /* K^1 = alpha^2 sd_w^2 x.x' + beta^2 sd_b^2,  Theta^1 = alpha^2 x.x' + beta^2 */
  const bf_layer *l1 = &net->layer[1];
  double a2 = l1->alpha * l1->alpha, b2 = l1->bias ? l1->beta * l1->beta : 0.0;
  double sw2 = l1->sd_w * l1->sd_w, sb2 = l1->sd_b * l1->sd_b;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      double dot = 0;
      for (int k = 0; k < d; k++) dot += x[i * d + k] * x[j * d + k];
      K[i * n + j] = a2 * sw2 * dot + b2 * sb2;
      Theta[i * n + j] = a2 * dot + b2;
    }
  /* layer l + 1 from layer l, with phi_l and N_l (docs/theory.md g):
   *   K^{l+1} = alpha^2 sd_w^2 N_l E[phi phi] + beta^2 sd_b^2
   *   Theta^{l+1} = alpha^2 N_l E[phi phi] + beta^2
   *                 + alpha^2 sd_w^2 N_l E[phi' phi'] Theta^l */
  for (int l = 1; l <= net->depth; l++) {
    const bf_activation *act = net->layer[l].act;
    const bf_layer *up = &net->layer[l + 1];
    double Nl = net->layer[l].out, ua2 = up->alpha * up->alpha;
    double ub2 = up->bias ? up->beta * up->beta : 0.0;
    double usw2 = up->sd_w * up->sd_w, usb2 = up->sd_b * up->sd_b;
    memset(Kn, 0, sizeof(double) * n * n);
    memset(Tn, 0, sizeof(double) * n * n);
    int64_t i, j;
    pair_at(first, n, &i, &j);
    for (int c = 0; c < polls && !stopped; c++) {
      for (int64_t q = first + count * c / polls; q < first + count * (c + 1) / polls; q++) {
        int64_t ij = i * n + j, ji = j * n + i;
        double e, ed;
        layer_expect(&rc, act, quadrature == BF_QUAD_AUTO, K[i * n + i], K[j * n + j], K[ij],
                     &e, &ed);
        Kn[ij] = ua2 * usw2 * Nl * e + ub2 * usb2;
        Tn[ij] = ua2 * Nl * e + ub2 + ua2 * usw2 * Nl * ed * Theta[ij];
        Kn[ji] = Kn[ij]; /* symmetric: mirrored */
        Tn[ji] = Tn[ij];
        if (++j == n) i++, j = i;
      }
      stopped = polls > 1 && kernels_stop(comm, l, net->depth, c, polls, t0, &last);
    }
    if (stopped) break;
    bf_allreduce_sum_doubles(comm, Kn, K, n * n);
    bf_allreduce_sum_doubles(comm, Tn, Theta, n * n);
  }
  free(Kn);
  free(Tn);
  for (int k = 0; k <= MAX_ORDER / RULE_STEP; k++) bf_gh_destroy(&rc.rule[k]);
  if (stopped) return BF_STOPPED;
  double worst = rc.worst_var;
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, comm));
  bf_kernels_warn(comm, worst);
  return 0;
}

/* Say so when a smooth activation's quadrature ran past its measured range
 * (e.g. tanh after a wide unscaled layer): the kernel is then less exact. */
void bf_kernels_warn(MPI_Comm comm, double worst_var)
{
  if (worst_var > VALIDATED_VARIANCE)
    bf_log(comm, "kernels: warning: Gauss-Hermite quadrature at pre-activation variance %.3g, "
           "beyond the %.0f up to which its capped order (%d) holds 1e-10 "
           "(docs/theory.md g): the kernels of smooth activations there are less accurate",
           worst_var, VALIDATED_VARIANCE, MAX_ORDER);
}

/* ---- entry by entry ------------------------------------------------------
 * An entry (x, x') needs only its own previous-layer values and the two
 * points' diagonals K^l(x, x): any subset of entries (a rank's blocks of a
 * distributed matrix) is computed alone.  The operations are those of
 * bf_kernels for its pair (row, column), so the entries agree bitwise. */
struct bf_kernel_plan {
  const bf_mlp *net;
  int closed; /* quadrature = auto: closed forms where the table has them */
  rule_cache rc;
};

bf_kernel_plan *bf_kernel_plan_create(const bf_mlp *net, int quadrature, int order)
{
  bf_kernel_plan *kp = BF_CALLOC(1, bf_kernel_plan);
  kp->net = net;
  kp->closed = quadrature == BF_QUAD_AUTO;
  kp->rc.min_order = order;
  return kp;
}

void bf_kernel_plan_destroy(bf_kernel_plan **kp)
{
  if (!*kp) return;
  for (int k = 0; k <= MAX_ORDER / RULE_STEP; k++) bf_gh_destroy(&(*kp)->rc.rule[k]);
  free(*kp);
  *kp = NULL;
}

double bf_kernel_plan_worst_var(const bf_kernel_plan *kp) { return kp->rc.worst_var; }

/* K^1 and Theta^1 at (xa, xb). */
static void first_layer(const bf_mlp *net, const double *xa, const double *xb, double *K,
                        double *T)
{
  const bf_layer *l1 = &net->layer[1];
  double a2 = l1->alpha * l1->alpha, b2 = l1->bias ? l1->beta * l1->beta : 0.0;
  double sw2 = l1->sd_w * l1->sd_w, sb2 = l1->sd_b * l1->sd_b, dot = 0;
  for (int k = 0; k < net->d; k++) dot += xa[k] * xb[k];
  *K = a2 * sw2 * dot + b2 * sb2;
  *T = a2 * dot + b2;
}

/* Layer l + 1 from layer l at one entry (the recursion of bf_kernels). */
static void next_layer(bf_kernel_plan *kp, int l, double k11, double k22, double *K, double *T)
{
  const bf_mlp *net = kp->net;
  const bf_layer *up = &net->layer[l + 1];
  double Nl = net->layer[l].out, ua2 = up->alpha * up->alpha;
  double ub2 = up->bias ? up->beta * up->beta : 0.0;
  double usw2 = up->sd_w * up->sd_w, usb2 = up->sd_b * up->sd_b, e, ed;
  layer_expect(&kp->rc, net->layer[l].act, kp->closed, k11, k22, *K, &e, &ed);
  double Kn = ua2 * usw2 * Nl * e + ub2 * usb2;
  *T = ua2 * Nl * e + ub2 + ua2 * usw2 * Nl * ed * *T;
  *K = Kn;
}

void bf_kernel_diag(bf_kernel_plan *kp, const double *x, double *diag)
{
  double K, T;
  first_layer(kp->net, x, x, &K, &T);
  for (int l = 1; l <= kp->net->depth; l++) {
    diag[l - 1] = K;
    next_layer(kp, l, K, K, &K, &T);
  }
}

void bf_kernel_pair(bf_kernel_plan *kp, const double *xa, const double *da, const double *xb,
                    const double *db, double *K, double *Theta)
{
  first_layer(kp->net, xa, xb, K, Theta);
  for (int l = 1; l <= kp->net->depth; l++) next_layer(kp, l, da[l - 1], db[l - 1], K, Theta);
}
