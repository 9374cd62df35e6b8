/* lattice.c — periodic lattice geometry shared by sampling and measurement.
 *
 *   bf_lattice_make    L^d sites of spacing s
 *   bf_lattice_coords  site index -> coordinates (row-major)
 *   bf_lattice_freq    FFT index -> signed frequency k
 *   bf_lattice_q2      |q|^2 for q = 2 pi k/(L s) */
#include "brgflow/core.h"

#include <math.h>

bf_lattice bf_lattice_make(int d, int L, double s)
{
  bf_lattice lat = {d, L, s, 1};
  for (int j = 0; j < d; j++) lat.nsites *= L;
  return lat;
}

void bf_lattice_coords(const bf_lattice *lat, int64_t idx, int n[3])
{
  for (int j = lat->d - 1; j >= 0; j--) {
    n[j] = (int)(idx % lat->L);
    idx /= lat->L;
  }
}

int bf_lattice_freq(int L, int n) { return n <= L / 2 ? n : n - L; }

double bf_lattice_q2(const bf_lattice *lat, const int n[3])
{
  double q2 = 0, unit = 2.0 * M_PI / (lat->L * lat->s);
  for (int j = 0; j < lat->d; j++) {
    double q = unit * bf_lattice_freq(lat->L, n[j]);
    q2 += q * q;
  }
  return q2;
}
