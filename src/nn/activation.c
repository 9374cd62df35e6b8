/* activation.c — the activation table: a new activation is one row.
 *
 *   bf_activation_get   the row for an index of BF_ACTIVATION_CHOICES
 *
 * A row holds phi and phi', and, where known, the closed-form Gaussian
 * expectations the infinite-width kernels need (docs/physics.md 1b):
 *   ephi(k11,k22,k12)  = E[phi(u) phi(v)],   (u,v) ~ N(0, [[k11,k12],[k12,k22]])
 *   edphi(k11,k22,k12) = E[phi'(u) phi'(v)]
 * Rows without them are integrated by Gauss-Hermite quadrature
 * (src/nnft/kernels.c).  Derivations in docs/theory.md (g). */
#include "brgflow/nn.h"

#include <math.h>
#include <string.h>

static double relu(double x) { return x > 0 ? x : 0; }
static double relu_d(double x) { return x > 0 ? 1 : 0; }
/* arc-cosine kernel of degree 1 and 0.  The angle by atan2 of the
 * determinant rather than acos(k12/sqrt(k11 k22)): for perfectly correlated
 * but unequal pairs (x' = c x with sb = 0) the rounded ratio misses 1, or
 * exceeds it (acos gives NaN), and acos near 1 loses half the digits. */
static double relu_angle(double k11, double k22, double k12)
{
  return atan2(sqrt(fmax(k11 * k22 - k12 * k12, 0)), k12);
}
static double relu_e(double k11, double k22, double k12)
{
  if (k11 <= 0 || k22 <= 0) return 0;
  double t = relu_angle(k11, k22, k12);
  return sqrt(k11 * k22) * (sin(t) + (M_PI - t) * cos(t)) / (2 * M_PI);
}
static double relu_ed(double k11, double k22, double k12)
{
  if (k11 <= 0 || k22 <= 0) return 0.25;
  return (M_PI - relu_angle(k11, k22, k12)) / (2 * M_PI);
}

static double tanh_d(double x) { double t = tanh(x); return 1 - t * t; }

static double erf_d(double x) { return 2 / sqrt(M_PI) * exp(-x * x); }
static double erf_e(double k11, double k22, double k12)
{
  return 2 / M_PI * asin(2 * k12 / sqrt((1 + 2 * k11) * (1 + 2 * k22)));
}
static double erf_ed(double k11, double k22, double k12)
{
  return 4 / M_PI / sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12 * k12);
}

static double gelu(double x) { return 0.5 * x * (1 + erf(x / M_SQRT2)); }
static double gelu_d(double x)
{
  return 0.5 * (1 + erf(x / M_SQRT2)) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI);
}

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double sigmoid_d(double x) { double s = sigmoid(x); return s * (1 - s); }

static double cos_d(double x) { return -sin(x); }
/* E[cos u cos v] = e^{-(k11+k22)/2} cosh k12;  E[sin u sin v] = ... sinh k12 */
static double cos_e(double k11, double k22, double k12)
{
  return exp(-0.5 * (k11 + k22)) * cosh(k12);
}
static double cos_ed(double k11, double k22, double k12)
{
  return exp(-0.5 * (k11 + k22)) * sinh(k12);
}

static double linear(double x) { return x; }
static double linear_d(double x) { (void)x; return 1; }
static double linear_e(double k11, double k22, double k12)
{
  (void)k11, (void)k22;
  return k12;
}
static double linear_ed(double k11, double k22, double k12)
{
  (void)k11, (void)k22, (void)k12;
  return 1;
}

/* ---- per-array forms (the fast kernels) ---------------------------------
 * One function per activation, so the element loop holds no indirect call
 * and vectorizes where the element function does (relu, linear: always).
 * PHI(z) is phi, DPHI(z, a, d) is d phi' given z and a = phi(z) (relu
 * selects instead of multiplying by 0 or 1: a branch-free loop that
 * vectorizes). */
#define ARRAY_FORMS(name, PHI, DPHI)                                            \
  static void name##_bias_phi(int64_t npts, int n, double beta, const double *b,   \
                              double *z, double *a)                             \
  {                                                                             \
    for (int64_t k = 0; k < npts; k++) {                                        \
      double *zk = z + k * n, *ak = a + k * n;                                  \
      if (b)                                                                    \
        for (int i = 0; i < n; i++) {                                           \
          double v = zk[i] + beta * b[i];                                       \
          zk[i] = v;                                                            \
          ak[i] = PHI(v);                                                       \
        }                                                                       \
      else                                                                      \
        for (int i = 0; i < n; i++) {                                           \
          double v = zk[i];                                                     \
          ak[i] = PHI(v);                                                       \
        }                                                                       \
    }                                                                           \
  }                                                                             \
  static void name##_mul_dphi(int64_t len, const double *restrict z,            \
                              const double *restrict a, double *restrict delta) \
  {                                                                             \
    (void)z, (void)a;                                                           \
    for (int64_t k = 0; k < len; k++) delta[k] = DPHI(z[k], a[k], delta[k]);    \
  }

#define RELU(v) ((v) > 0 ? (v) : 0.0)
#define RELU_D(z, a, d) ((z) > 0 ? (d) : 0.0)
#define TANH_D(z, a, d) ((d) * (1 - (a) * (a)))
#define SIGMOID_D(z, a, d) ((d) * ((a) * (1 - (a))))
#define LINEAR(v) (v)
#define LINEAR_D(z, a, d) (d)
static inline double erf_d_z(double z, double a, double d) { (void)a; return d * erf_d(z); }
static inline double gelu_d_z(double z, double a, double d) { (void)a; return d * gelu_d(z); }
static inline double cos_d_z(double z, double a, double d) { (void)a; return d * cos_d(z); }
ARRAY_FORMS(relu, RELU, RELU_D)
ARRAY_FORMS(tanh, tanh, TANH_D)
ARRAY_FORMS(erf, erf, erf_d_z)
ARRAY_FORMS(gelu, gelu, gelu_d_z)
ARRAY_FORMS(sigmoid, sigmoid, SIGMOID_D)
ARRAY_FORMS(cos, cos, cos_d_z)
ARRAY_FORMS(linear, LINEAR, LINEAR_D)
#undef ARRAY_FORMS

#define ROW(name, phi, dphi, e, ed, kink) \
  {#name, phi, dphi, e, ed, kink, name##_bias_phi, name##_mul_dphi}
/* In the order of BF_ACTIVATION_CHOICES (tests check the names match). */
static const bf_activation TABLE[] = {
  ROW(relu, relu, relu_d, relu_e, relu_ed, 1),
  ROW(tanh, tanh, tanh_d, NULL, NULL, 0),
  ROW(erf, erf, erf_d, erf_e, erf_ed, 0),
  ROW(gelu, gelu, gelu_d, NULL, NULL, 0),
  ROW(sigmoid, sigmoid, sigmoid_d, NULL, NULL, 0),
  ROW(cos, cos, cos_d, cos_e, cos_ed, 0),
  ROW(linear, linear, linear_d, linear_e, linear_ed, 0),
};
#undef ROW

const bf_activation *bf_activation_get(int index)
{
  BF_ASSERT(index >= 0 && index < (int)(sizeof TABLE / sizeof TABLE[0]));
  return &TABLE[index];
}

int bf_activation_count(void) { return (int)(sizeof TABLE / sizeof TABLE[0]); }
