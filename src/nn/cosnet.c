/* cosnet.c — the generalized cos-net (SCIENCE.md 1a).
 *
 *   bf_cosnet_create     momentum set B_R and normalization A from the input
 *   bf_cosnet_destroy    free it
 *   bf_cosnet_nparams    P = N (d + 2)
 *   bf_cosnet_amplitude  A
 *   bf_cosnet_sample     one member's theta from its counter streams
 *   bf_cosnet_field      f_theta at a set of points */
#include "brgflow/nn.h"

#include <math.h>
#include <stdlib.h>

/* Enumerate B_R = {q = 2 pi k/(L s) : |q| < R} in FFT index order. */
static void lattice_momenta(bf_cosnet *net)
{
  const bf_lattice *lat = &net->lat;
  double unit = 2.0 * M_PI / (lat->L * lat->s);
  int n[3];
  net->nmom = 0;
  for (int pass = 0; pass < 2; pass++) {
    int64_t m = 0;
    for (int64_t idx = 0; idx < lat->nsites; idx++) {
      bf_lattice_coords(lat, idx, n);
      if (!bf_below_cutoff(bf_lattice_q2(lat, n), net->cutoff)) continue;
      if (pass == 1)
        for (int j = 0; j < net->d; j++)
          net->mom[m * net->d + j] = unit * bf_lattice_freq(lat->L, n[j]);
      m++;
    }
    if (pass == 0) {
      net->nmom = m;
      net->mom = BF_ALLOC(m * net->d, double);
    }
  }
}

static double ball_volume(int d, double R)
{
  return d == 1 ? 2 * R : d == 2 ? M_PI * R * R : 4.0 / 3.0 * M_PI * R * R * R;
}

double bf_cosnet_amplitude(const bf_cosnet *net)
{
  double s2 = net->sigma_a * net->sigma_a;
  if (net->momenta == BF_MOMENTA_LATTICE) {
    double V = pow(net->lat.L * net->lat.s, net->d);
    return sqrt(2.0 * (double)net->nmom / (s2 * V)); /* A^2 = 2M/(sa^2 V) */
  }
  /* A^2 = 2 vol(B_R) / (sa^2 (2 pi)^d) */
  return sqrt(2.0 * ball_volume(net->d, net->cutoff) /
              (s2 * pow(2.0 * M_PI, net->d)));
}

bf_cosnet *bf_cosnet_create(const bf_params *p)
{
  bf_cosnet *net = BF_CALLOC(1, bf_cosnet);
  net->d = p->d;
  net->width = p->width;
  net->momenta = p->momenta;
  net->mass = p->mass;
  net->cutoff = p->cutoff;
  net->sigma_a = p->sigma_a;
  net->lat = bf_lattice_make(p->d, p->sites, p->spacing);
  if (net->momenta == BF_MOMENTA_LATTICE) lattice_momenta(net);
  net->amp = bf_cosnet_amplitude(net);
  return net;
}

void bf_cosnet_destroy(bf_cosnet **net)
{
  if (!*net) return;
  free((*net)->mom);
  free(*net);
  *net = NULL;
}

int64_t bf_cosnet_nparams(const bf_cosnet *net)
{
  return (int64_t)net->width * (net->d + 2);
}

/* b uniform on B_R: an index into the lattice set, or rejection from the
 * cube [-R,R]^d for the ball (attempt t uses counter sub = t, so the draw
 * stays a pure function of (seed, member, i)). */
static void sample_momentum(const bf_cosnet *net, const bf_rng *s, int64_t i,
                            double *b)
{
  double u[4];
  if (net->momenta == BF_MOMENTA_LATTICE) {
    bf_rng_uniform4(s, (uint64_t)i, 0, u);
    int64_t k = (int64_t)(u[0] * (double)net->nmom);
    if (k >= net->nmom) k = net->nmom - 1;
    for (int j = 0; j < net->d; j++) b[j] = net->mom[k * net->d + j];
    return;
  }
  for (uint64_t t = 0;; t++) {
    bf_rng_uniform4(s, (uint64_t)i, t, u);
    double r2 = 0;
    for (int j = 0; j < net->d; j++) {
      b[j] = net->cutoff * (2.0 * u[j] - 1.0);
      r2 += b[j] * b[j];
    }
    if (bf_below_cutoff(r2, net->cutoff)) return;
  }
}

void bf_cosnet_sample(const bf_cosnet *net, uint64_t seed, int64_t member,
                      double *theta)
{
  const int64_t N = net->width, d = net->d;
  double *a = theta, *b = theta + N, *c = theta + N + N * d;
  bf_rng sa = bf_rng_stream(seed, (uint64_t)member, BF_RNG_COSNET_A);
  bf_rng sb = bf_rng_stream(seed, (uint64_t)member, BF_RNG_COSNET_B);
  bf_rng sc = bf_rng_stream(seed, (uint64_t)member, BF_RNG_COSNET_C);
  double scale = net->sigma_a / sqrt((double)N); /* a_i ~ N(0, sa^2/N) */
  for (int64_t i = 0; i < N; i++) {
    a[i] = scale * bf_rng_normal(&sa, (uint64_t)i);
    sample_momentum(net, &sb, i, b + i * d);
    c[i] = M_PI * (2.0 * bf_rng_uniform(&sc, (uint64_t)i) - 1.0);
  }
}

void bf_cosnet_field(const bf_cosnet *net, const double *theta, int64_t npts,
                     const double *x, double *phi)
{
  const int64_t N = net->width, d = net->d;
  const double *a = theta, *b = theta + N, *c = theta + N + N * d;
  for (int64_t k = 0; k < npts; k++) phi[k] = 0.0;
  for (int64_t i = 0; i < N; i++) {
    const double *bi = b + i * d;
    double b2 = 0;
    for (int j = 0; j < d; j++) b2 += bi[j] * bi[j];
    double w = net->amp * a[i] / sqrt(b2 + net->mass * net->mass);
    for (int64_t k = 0; k < npts; k++) {
      double arg = c[i];
      for (int j = 0; j < d; j++) arg += bi[j] * x[k * d + j];
      phi[k] += w * cos(arg);
    }
  }
}
