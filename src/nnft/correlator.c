/* correlator.c — the ensemble two-point function with standard errors.
 *
 *   bf_g2_create      box, evaluation points and FFT plans (built once)
 *   bf_g2_destroy     free them
 *   bf_g2_box_sites   sites per axis B of the grid box a member's field is
 *                     needed on: {n s : n in [0,B)^d}
 *   bf_g2_add_member  translation-average one member's f(x) f(x+r)
 *   bf_g2_finish      reduce over ranks: mean and standard error
 *   bf_zscore_max     largest |mean - ref| / err
 *
 * One member's translation average is a correlation, done by FFT:
 *   periodic:  C(r) = IFFT(|F phi|^2)(r) / L^d             (box L^d)
 *   open:      C(r) = IFFT(conj(F psi) F phi)(r) / L^d     (box (2L)^d)
 * with psi = phi restricted to [0,L)^d, so x in [0,L)^d and x + r < 2L never
 * wrap.  Plans use FFTW_ESTIMATE: a measured plan may differ between ranks,
 * and with it the rounding, which would break rank-count independence. */
#include "brgflow/nnft.h"

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bf_g2 {
  MPI_Comm comm;
  bf_lattice lat;
  int periodic;
  int B;            /* box sites per axis: L or 2L */
  int64_t nbox;     /* B^d */
  int64_t ncplx;    /* complex coefficients of an r2c transform */
  double *rbuf;     /* real FFT buffer */
  fftw_complex *fphi, *fpsi;
  fftw_plan fwd_phi, fwd_psi, inv;
  double *sum_hi, *sum_lo, *sq_hi, *sq_lo; /* per displacement */
  double *pw_hi, *pw_lo, *pw2_hi, *pw2_lo;  /* |F phi|^2 per r2c momentum (periodic) */
  int64_t added;    /* members added on this rank */
};

bf_g2 *bf_g2_create(MPI_Comm comm, const bf_lattice *lat, int periodic)
{
  bf_g2 *g = BF_CALLOC(1, bf_g2);
  bf_comm_dup(comm, &g->comm);
  g->lat = *lat;
  g->periodic = periodic;
  g->B = periodic ? lat->L : 2 * lat->L;
  bf_lattice box = bf_lattice_make(lat->d, g->B, lat->s);
  g->nbox = box.nsites;
  g->ncplx = g->nbox / g->B * (g->B / 2 + 1);
  int dims[3];
  for (int j = 0; j < lat->d; j++) dims[j] = g->B;
  g->rbuf = fftw_alloc_real((size_t)g->nbox);
  g->fphi = fftw_alloc_complex((size_t)g->ncplx);
  g->fpsi = fftw_alloc_complex((size_t)g->ncplx);
  g->fwd_phi = fftw_plan_dft_r2c(lat->d, dims, g->rbuf, g->fphi, FFTW_ESTIMATE);
  g->fwd_psi = fftw_plan_dft_r2c(lat->d, dims, g->rbuf, g->fpsi, FFTW_ESTIMATE);
  g->inv = fftw_plan_dft_c2r(lat->d, dims, g->fphi, g->rbuf, FFTW_ESTIMATE);
  BF_ASSERT(g->fwd_phi && g->fwd_psi && g->inv);
  g->sum_hi = BF_CALLOC(lat->nsites, double);
  g->sum_lo = BF_CALLOC(lat->nsites, double);
  g->sq_hi = BF_CALLOC(lat->nsites, double);
  g->sq_lo = BF_CALLOC(lat->nsites, double);
  if (periodic) {
    g->pw_hi = BF_CALLOC(g->ncplx, double);
    g->pw_lo = BF_CALLOC(g->ncplx, double);
    g->pw2_hi = BF_CALLOC(g->ncplx, double);
    g->pw2_lo = BF_CALLOC(g->ncplx, double);
  }
  return g;
}

void bf_g2_reset(bf_g2 *g)
{
  int64_t n = g->lat.nsites;
  memset(g->sum_hi, 0, sizeof(double) * n), memset(g->sum_lo, 0, sizeof(double) * n);
  memset(g->sq_hi, 0, sizeof(double) * n), memset(g->sq_lo, 0, sizeof(double) * n);
  if (g->pw_hi) {
    memset(g->pw_hi, 0, sizeof(double) * g->ncplx), memset(g->pw_lo, 0, sizeof(double) * g->ncplx);
    memset(g->pw2_hi, 0, sizeof(double) * g->ncplx), memset(g->pw2_lo, 0, sizeof(double) * g->ncplx);
  }
  g->added = 0;
}

void bf_g2_destroy(bf_g2 **gp)
{
  bf_g2 *g = *gp;
  if (!g) return;
  fftw_destroy_plan(g->fwd_phi);
  fftw_destroy_plan(g->fwd_psi);
  fftw_destroy_plan(g->inv);
  fftw_free(g->rbuf);
  fftw_free(g->fphi);
  fftw_free(g->fpsi);
  free(g->sum_hi);
  free(g->sum_lo);
  free(g->sq_hi);
  free(g->sq_lo);
  free(g->pw_hi);
  free(g->pw_lo);
  free(g->pw2_hi);
  free(g->pw2_lo);
  BF_MPI(MPI_Comm_free(&g->comm));
  free(g);
  *gp = NULL;
}

int bf_g2_box_sites(const bf_g2 *g) { return g->B; }

/* Box index of lattice displacement idx (coordinates 0..L-1 per axis). */
static int64_t box_index(const bf_g2 *g, int64_t idx)
{
  int n[3];
  bf_lattice_coords(&g->lat, idx, n);
  int64_t b = 0;
  for (int j = 0; j < g->lat.d; j++) b = b * g->B + n[j];
  return b;
}

void bf_g2_add_member(bf_g2 *g, const double *phi)
{
  memcpy(g->rbuf, phi, (size_t)g->nbox * sizeof(double));
  fftw_execute(g->fwd_phi);
  if (g->periodic) {
    for (int64_t k = 0; k < g->ncplx; k++) {
      double complex z = g->fphi[k];
      double pw = creal(z) * creal(z) + cimag(z) * cimag(z);
      g->fphi[k] = pw;
      bf_dd_add(&g->pw_hi[k], &g->pw_lo[k], pw);
      bf_dd_add(&g->pw2_hi[k], &g->pw2_lo[k], pw * pw);
    }
  } else {
    bf_lattice box = bf_lattice_make(g->lat.d, g->B, g->lat.s);
    int n[3];
    for (int64_t i = 0; i < g->nbox; i++) { /* psi = phi on [0,L)^d */
      bf_lattice_coords(&box, i, n);
      int inside = 1;
      for (int j = 0; j < g->lat.d; j++) inside &= n[j] < g->lat.L;
      g->rbuf[i] = inside ? phi[i] : 0.0;
    }
    fftw_execute(g->fwd_psi);
    for (int64_t k = 0; k < g->ncplx; k++) g->fphi[k] *= conj(g->fpsi[k]);
  }
  fftw_execute(g->inv); /* unnormalized: factor B^d */
  double norm = 1.0 / ((double)g->nbox * (double)g->lat.nsites);
  for (int64_t r = 0; r < g->lat.nsites; r++) {
    double c = g->rbuf[box_index(g, r)] * norm;
    bf_dd_add(&g->sum_hi[r], &g->sum_lo[r], c);
    bf_dd_add(&g->sq_hi[r], &g->sq_lo[r], c * c);
  }
  g->added++;
}

void bf_g2_finish(bf_g2 *g, double *mean, double *err)
{
  int64_t n = g->lat.nsites, E = 0;
  BF_MPI(MPI_Allreduce(&g->added, &E, 1, MPI_INT64_T, MPI_SUM, g->comm));
  BF_ASSERT(E >= 2);
  bf_dd_moments(g->comm, n, E, g->sum_hi, g->sum_lo, g->sq_hi, g->sq_lo, mean, err);
  for (int64_t r = 0; r < n; r++) err[r] = sqrt(err[r] / E); /* standard error */
}

/* <|phi~(q)|^2>/V with phi~(q) = s^d sum_x phi(x) e^{-iqx}, on all L^d
 * momenta (FFT index order), from the r2c half by |F(-k)| = |F(k)|. */
void bf_g2_power_finish(bf_g2 *g, double *mean, double *err)
{
  BF_ASSERT(g->periodic);
  int64_t E = 0, n = g->ncplx;
  BF_MPI(MPI_Allreduce(&g->added, &E, 1, MPI_INT64_T, MPI_SUM, g->comm));
  double *pm = BF_ALLOC(n, double), *pv = BF_ALLOC(n, double);
  bf_dd_moments(g->comm, n, E, g->pw_hi, g->pw_lo, g->pw2_hi, g->pw2_lo, pm, pv);
  const bf_lattice *lat = &g->lat;
  double sd = pow(lat->s, lat->d), scale = sd * sd / pow(lat->L * lat->s, lat->d);
  int L = lat->L, half = L / 2 + 1, c[3];
  for (int64_t i = 0; i < lat->nsites; i++) {
    bf_lattice_coords(lat, i, c);
    if (c[lat->d - 1] >= half) /* the mirror -k of a missing k */
      for (int j = 0; j < lat->d; j++) c[j] = (L - c[j]) % L;
    int64_t h = 0;
    for (int j = 0; j < lat->d; j++) h = h * (j == lat->d - 1 ? half : L) + c[j];
    mean[i] = scale * pm[h];
    err[i] = scale * sqrt(pv[h] / E);
  }
  free(pm), free(pv);
}

double bf_zscore_max(int64_t n, const double *mean, const double *err,
                     const double *ref, int64_t *where)
{
  double zmax = 0;
  int64_t at = 0;
  for (int64_t r = 0; r < n; r++) {
    double z = fabs(mean[r] - ref[r]) / err[r];
    if (err[r] == 0) z = mean[r] == ref[r] ? 0 : INFINITY;
    if (isnan(z)) { /* a NaN in the data is reported, not skipped by the max */
      zmax = NAN, at = r;
      break;
    }
    if (z > zmax) {
      zmax = z;
      at = r;
    }
  }
  if (where) *where = at;
  return zmax;
}
