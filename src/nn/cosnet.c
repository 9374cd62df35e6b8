/* cosnet.c — the generalized cos-net (docs/physics.md 1a).
 *
 *   bf_cosnet_create     momentum set B_R and normalization A from the input
 *   bf_cosnet_destroy    free it
 *   bf_cosnet_nparams    P = N (d + 2)
 *   bf_cosnet_amplitude  A
 *   bf_cosnet_sample     one member's theta from its counter streams
 *   bf_cosnet_field      f_theta at a set of points (plain reference kernel)
 *   bf_cosnet_field_grid f_theta on a grid box, by separable phases */
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
  net->d = p->net.d;
  net->width = p->net.width;
  net->momenta = p->cosnet.momenta;
  net->mass = p->cosnet.mass;
  net->cutoff = p->cosnet.cutoff;
  net->sigma_a = p->cosnet.sigma_a;
  net->lat = bf_lattice_make(p->net.d, p->lattice.sites, p->lattice.spacing);
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

/* The same field on the grid box {n s : n in [0,B)^d}, row-major.  The grid
 * makes the phase separable, e^{i(b.x + c)} = e^{ic} prod_j e^{i b_j n_j s},
 * so each unit costs d B sines and cosines plus two multiply-adds per site,
 * instead of one cosine per site (bf_cosnet_field is the plain reference
 * this is tested against). */
void bf_cosnet_field_grid(const bf_cosnet *net, const double *theta, int B,
                          double s, double *phi)
{
  const int64_t N = net->width;
  const int d = net->d;
  const double *a = theta, *b = theta + N, *c = theta + N + N * d;
  int64_t rows = 1; /* sites per last-axis line, B^(d-1) */
  for (int j = 0; j < d - 1; j++) rows *= B;
  double *tre = BF_ALLOC(d * B, double), *tim = BF_ALLOC(d * B, double);
  for (int64_t k = 0; k < rows * B; k++) phi[k] = 0.0;
  for (int64_t i = 0; i < N; i++) {
    const double *bi = b + i * d;
    double b2 = 0;
    for (int j = 0; j < d; j++) b2 += bi[j] * bi[j];
    double w = net->amp * a[i] / sqrt(b2 + net->mass * net->mass);
    for (int j = 0; j < d; j++)
      for (int n = 0; n < B; n++) {
        tre[j * B + n] = cos(bi[j] * n * s);
        tim[j * B + n] = sin(bi[j] * n * s);
      }
    const double *lre = tre + (d - 1) * B, *lim = tim + (d - 1) * B;
    for (int64_t row = 0; row < rows; row++) {
      /* prefix phase w e^{ic} prod over the leading axes */
      double pr = w * cos(c[i]), pi = w * sin(c[i]);
      for (int64_t r = row, j = d - 2; j >= 0; j--, r /= B) {
        int n = (int)(r % B);
        double xr = pr * tre[j * B + n] - pi * tim[j * B + n];
        pi = pr * tim[j * B + n] + pi * tre[j * B + n];
        pr = xr;
      }
      double *line = phi + row * B;
      for (int n = 0; n < B; n++) line[n] += pr * lre[n] - pi * lim[n];
    }
  }
  free(tre);
  free(tim);
}
