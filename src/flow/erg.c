/* erg.c — the exact statement BRG = ERG for the cos-net (docs/physics.md 4).
 *
 *   bf_erg_momentum    p(Lambda) of the information cutoff Lambda
 *   bf_erg_q0_weight   the surviving weight of the phase-dependent q = 0 mode
 *   bf_erg_reference   G_p^lat in position and momentum space (FFTW)
 *   bf_erg_fit         m_eff and Z from 1/G(q) = (q^2 + m_eff^2)/Z (each
 *                      +-q pair once: they are the same number)
 *
 * On the full lattice a readout a_i with momentum q != 0 has diagonal Fisher
 * n A^2/(2 s^2 (q^2 + m^2)) whatever its phase, so pruning I_ii < Lambda
 * removes exactly the units with |q| > p(Lambda): the pruned prior ensemble
 * is the free field with cutoff p, Wilson's momentum-shell step R -> p. */
#include "brgflow/flow.h"
#include "brgflow/nnft.h"

#include <math.h>
#include <stdlib.h>

double bf_erg_momentum(double n, double A, double sigma, double m, double Lambda)
{
  double p2 = n * A * A / (2 * sigma * sigma * Lambda) - m * m;
  return p2 > 0 ? sqrt(p2) : 0.0;
}

/* A q = 0 unit survives when cos^2 c >= t = s^2 m^2 Lambda/(n A^2).  Its G2
 * weight a^2 A^2 cos^2(c)/m^2 averages, over c uniform, to
 * (u + sin(2u)/2)/pi with u = arccos(sqrt t), against 1/2 unpruned. */
double bf_erg_q0_weight(double n, double A, double sigma, double m, double Lambda)
{
  double t = sigma * sigma * m * m * Lambda / (n * A * A);
  if (t >= 1) return 0.0;
  double u = acos(sqrt(t));
  return 2 * (u + 0.5 * sin(2 * u)) / M_PI;
}

void bf_erg_reference(MPI_Comm comm, const bf_lattice *lat, double m, double p,
                      double w0, double *g2ref, double *gqref)
{
  bf_ref_lattice(comm, lat, m, p, g2ref);
  double V = pow(lat->L * lat->s, lat->d), m2 = m * m;
  int c[3];
  for (int64_t i = 0; i < lat->nsites; i++) {
    /* the q = 0 mode enters with weight w0 whatever p: G_p^lat holds it
     * fully when p > 0, not at all when p = 0 */
    g2ref[i] += (p > 0 ? w0 - 1 : w0) / (V * m2);
    bf_lattice_coords(lat, i, c);
    double q2 = bf_lattice_q2(lat, c);
    gqref[i] = q2 == 0 ? w0 / m2 : bf_below_cutoff(q2, p) ? 1 / (q2 + m2) : 0;
  }
}

void bf_erg_fit(const bf_lattice *lat, double p, const double *gq,
                const double *gq_err, double *m_eff, double *m_err, double *Z)
{
  /* weighted least squares of y = 1/G against x = q^2: y = alpha + beta x */
  double S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0, xmin = INFINITY, xmax = 0;
  int c[3];
  for (int64_t i = 0; i < lat->nsites; i++) {
    bf_lattice_coords(lat, i, c);
    /* |phi~(-q)| = |phi~(q)| for a real field: count each pair once */
    int64_t mirror = 0;
    for (int j = 0; j < lat->d; j++) mirror = mirror * lat->L + (lat->L - c[j]) % lat->L;
    if (mirror < i) continue;
    double x = bf_lattice_q2(lat, c);
    if (x == 0 || !bf_below_cutoff(x, p) || !(gq[i] > 0) || !(gq_err[i] > 0)) continue;
    double y = 1 / gq[i], sy = gq_err[i] / (gq[i] * gq[i]), w = 1 / (sy * sy);
    S += w, Sx += w * x, Sy += w * y, Sxx += w * x * x, Sxy += w * x * y;
    xmin = fmin(xmin, x), xmax = fmax(xmax, x);
  }
  *m_eff = *m_err = *Z = NAN;
  double det = S * Sxx - Sx * Sx;
  if (!(xmax > xmin) || !(det > 0)) return; /* fewer than two distinct |q| */
  double alpha = (Sxx * Sy - Sx * Sxy) / det, beta = (S * Sxy - Sx * Sy) / det;
  double va = Sxx / det, vb = S / det, cab = -Sx / det;
  if (!(alpha > 0 && beta > 0)) return;
  double m2 = alpha / beta;
  /* var(alpha/beta) to first order */
  double vm2 = va / (beta * beta) + alpha * alpha * vb / pow(beta, 4) -
               2 * alpha * cab / pow(beta, 3);
  *m_eff = sqrt(m2);
  *m_err = sqrt(bf_nonneg(vm2)) / (2 * *m_eff);
  *Z = 1 / beta;
}
