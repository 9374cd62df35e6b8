/* reference.c — the propagators an ensemble's G2 is held against
 * (docs/physics.md 1a).
 *
 *   bf_ref_lattice         G_R^lat on all displacements by FFTW (MPI for d >= 2)
 *   bf_ref_lattice_direct  the same lattice sum, term by term
 *   bf_ref_continuum       hard-cutoff continuum propagator by GSL quadrature
 *   bf_ref_continuum_grid  that at every displacement, split over ranks
 *   bf_ref_closed_form     R -> infinity: e^{-mr}/2m, K0(mr)/2pi, e^{-mr}/4pi r
 *   bf_displacement        |n| s of a site index (no wrapping) */
#include "brgflow/nnft.h"

#include <complex.h>
#include <fftw3-mpi.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_bessel.h>
#include <math.h>
#include <stdlib.h>

/* Momentum-space propagator at FFT index n[]: 1/(q^2+m^2) below the cutoff. */
static double propagator_q(const bf_lattice *lat, double mass, double cutoff,
                           const int n[3])
{
  double q2 = bf_lattice_q2(lat, n);
  return bf_below_cutoff(q2, cutoff) ? 1.0 / (q2 + mass * mass) : 0.0;
}

/* d = 1: a serial transform (a 1-d lattice is never worth distributing). */
static void ref_lattice_1d(const bf_lattice *lat, double mass, double cutoff,
                           double *g)
{
  int L = lat->L;
  fftw_complex *buf = fftw_alloc_complex((size_t)L);
  fftw_plan plan = fftw_plan_dft_1d(L, buf, buf, FFTW_BACKWARD, FFTW_ESTIMATE);
  for (int k = 0; k < L; k++) {
    int n[3] = {k, 0, 0};
    buf[k] = propagator_q(lat, mass, cutoff, n);
  }
  fftw_execute(plan);
  double V = L * lat->s;
  for (int r = 0; r < L; r++) g[r] = creal(buf[r]) / V;
  fftw_destroy_plan(plan);
  fftw_free(buf);
}

/* d >= 2: slabs of the first axis per rank (fftw_mpi_local_size), an
 * in-place backward transform (e^{+iqr}), then an allgather so every rank
 * holds the full reference for its z-scores. */
static void ref_lattice_mpi(MPI_Comm comm, const bf_lattice *lat, double mass,
                            double cutoff, double *g)
{
  ptrdiff_t dims[3], n0, start;
  for (int j = 0; j < lat->d; j++) dims[j] = lat->L;
  ptrdiff_t alloc = fftw_mpi_local_size(lat->d, dims, comm, &n0, &start);
  fftw_complex *buf = fftw_alloc_complex((size_t)(alloc > 0 ? alloc : 1));
  fftw_plan plan = fftw_mpi_plan_dft(lat->d, dims, buf, buf, comm,
                                     FFTW_BACKWARD, FFTW_ESTIMATE);
  BF_ASSERT(plan);
  int64_t slab = lat->nsites / lat->L; /* sites per first-axis index */
  int n[3];
  for (int64_t i = 0; i < n0 * slab; i++) {
    bf_lattice_coords(lat, start * slab + i, n);
    buf[i] = propagator_q(lat, mass, cutoff, n);
  }
  fftw_execute(plan);
  double V = pow(lat->L * lat->s, lat->d);
  double *mine = BF_ALLOC(n0 * slab, double);
  for (int64_t i = 0; i < n0 * slab; i++) mine[i] = creal(buf[i]) / V;
  int size;
  BF_MPI(MPI_Comm_size(comm, &size));
  int *counts = BF_ALLOC(size, int), *displs = BF_ALLOC(size, int);
  int count = (int)(n0 * slab), offset = (int)(start * slab);
  BF_MPI(MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, comm));
  BF_MPI(MPI_Allgather(&offset, 1, MPI_INT, displs, 1, MPI_INT, comm));
  BF_MPI(MPI_Allgatherv(mine, count, MPI_DOUBLE, g, counts, displs, MPI_DOUBLE,
                        comm));
  free(counts);
  free(displs);
  free(mine);
  fftw_destroy_plan(plan);
  fftw_free(buf);
}

void bf_ref_lattice(MPI_Comm comm, const bf_lattice *lat, double mass,
                    double cutoff, double *g)
{
  if (lat->d == 1)
    ref_lattice_1d(lat, mass, cutoff, g);
  else
    ref_lattice_mpi(comm, lat, mass, cutoff, g);
}

double bf_ref_lattice_direct(const bf_lattice *lat, double mass, double cutoff,
                             const int n[3])
{
  double sum = 0, unit = 2.0 * M_PI / lat->L;
  int k[3];
  for (int64_t idx = 0; idx < lat->nsites; idx++) {
    bf_lattice_coords(lat, idx, k);
    double w = propagator_q(lat, mass, cutoff, k);
    if (w == 0) continue;
    double phase = 0;
    for (int j = 0; j < lat->d; j++) phase += unit * k[j] * n[j];
    sum += w * cos(phase);
  }
  return sum / pow(lat->L * lat->s, lat->d);
}

/* ---- continuum: radial integrals after the angular integration ----------
 *   d=1: (1/pi)      int_0^R cos(pr)      /(p^2+m^2) dp
 *   d=2: (1/2pi)     int_0^R p J0(pr)     /(p^2+m^2) dp
 *   d=3: (1/2pi^2)   int_0^R p^2 sinc(pr) /(p^2+m^2) dp                    */
typedef struct radial { int d; double m, r; } radial;

static double radial_integrand(double p, void *arg)
{
  const radial *q = arg;
  double den = p * p + q->m * q->m, pr = p * q->r;
  if (q->d == 1) return cos(pr) / den;
  if (q->d == 2) return p * gsl_sf_bessel_J0(pr) / den;
  return p * p * (pr == 0 ? 1.0 : sin(pr) / pr) / den;
}

/* Quadrature tolerances: far below any statistical error we compare with. */
#define QUAD_EPSABS 1e-13
#define QUAD_EPSREL 1e-11
#define QUAD_LIMIT 1000

double bf_ref_continuum(int d, double mass, double cutoff, double r)
{
  static const double prefactor[4] = {0, 1 / M_PI, 1 / (2 * M_PI),
                                      1 / (2 * M_PI * M_PI)};
  radial q = {d, mass, r};
  gsl_function f = {radial_integrand, &q};
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(QUAD_LIMIT);
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  /* Integrate half-period by half-period: each piece is smooth, so the
   * adaptive rule never has to resolve many oscillations at once. */
  double piece = r > 0 ? fmin(cutoff, M_PI / r) : cutoff, total = 0;
  for (double a = 0; a < cutoff; a += piece) {
    double b = fmin(a + piece, cutoff), val, abserr;
    int status = gsl_integration_qag(&f, a, b, QUAD_EPSABS, QUAD_EPSREL,
                                     QUAD_LIMIT, GSL_INTEG_GAUSS61, w, &val,
                                     &abserr);
    BF_ASSERT(status == GSL_SUCCESS || status == GSL_EROUND);
    total += val;
  }
  gsl_set_error_handler(old);
  gsl_integration_workspace_free(w);
  return prefactor[d] * total;
}

double bf_displacement(const bf_lattice *lat, int64_t idx)
{
  int n[3];
  bf_lattice_coords(lat, idx, n);
  double r2 = 0;
  for (int j = 0; j < lat->d; j++) r2 += (double)n[j] * n[j];
  return sqrt(r2) * lat->s;
}

void bf_ref_continuum_grid(MPI_Comm comm, const bf_lattice *lat, double mass,
                           double cutoff, double *g)
{
  int rank, size;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  BF_MPI(MPI_Comm_size(comm, &size));
  int *counts = BF_ALLOC(size, int), *displs = BF_ALLOC(size, int);
  for (int k = 0; k < size; k++) {
    int64_t first, count;
    bf_block_range(lat->nsites, size, k, &first, &count);
    counts[k] = (int)count;
    displs[k] = (int)first;
  }
  double *mine = BF_ALLOC(counts[rank], double);
  for (int i = 0; i < counts[rank]; i++)
    mine[i] = bf_ref_continuum(lat->d, mass, cutoff,
                               bf_displacement(lat, displs[rank] + i));
  BF_MPI(MPI_Allgatherv(mine, counts[rank], MPI_DOUBLE, g, counts, displs,
                        MPI_DOUBLE, comm));
  free(mine);
  free(counts);
  free(displs);
}

double bf_ref_closed_form(int d, double mass, double r)
{
  if (d == 1) return exp(-mass * r) / (2 * mass);
  if (d == 2) return gsl_sf_bessel_K0(mass * r) / (2 * M_PI);
  return exp(-mass * r) / (4 * M_PI * r);
}
