/* bench_kernels.c — the cos-net field kernels timed side by side in one run:
 * plain (one cosine per unit and site) against grid (separable phases).
 * Prints both times and their ratio; the ratio, not the times, is the
 * figure to compare across machines. */
#include "brgflow/nn.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  bf_params p = {.seed = 1, .d = 2, .width = 512, .mass = 0.5, .cutoff = 1.5,
                 .sigma_a = 1, .momenta = BF_MOMENTA_LATTICE, .sites = 32,
                 .spacing = 1, .members = 2};
  bf_cosnet *net = bf_cosnet_create(&p);
  bf_lattice box = bf_lattice_make(p.d, p.sites, p.spacing);
  double *theta = BF_ALLOC(bf_cosnet_nparams(net), double);
  double *x = BF_ALLOC(box.nsites * p.d, double);
  double *phi = BF_ALLOC(box.nsites, double);
  for (int64_t k = 0; k < box.nsites; k++) {
    int n[3];
    bf_lattice_coords(&box, k, n);
    for (int j = 0; j < p.d; j++) x[k * p.d + j] = n[j] * p.spacing;
  }
  const int reps = 40;
  double t[2];
  for (int kernel = 0; kernel < 2; kernel++) {
    double t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++) {
      bf_cosnet_sample(net, p.seed, r, theta);
      if (kernel == 0)
        bf_cosnet_field(net, theta, box.nsites, x, phi);
      else
        bf_cosnet_field_grid(net, theta, p.sites, p.spacing, phi);
    }
    t[kernel] = (MPI_Wtime() - t0) / reps;
  }
  printf("cos-net field, N = %d, %lld sites: plain %.2f ms, grid %.2f ms per member, "
         "speed-up %.1f\n", p.width, (long long)box.nsites, 1e3 * t[0], 1e3 * t[1],
         t[0] / t[1]);
  free(theta);
  free(x);
  free(phi);
  bf_cosnet_destroy(&net);
  MPI_Finalize();
  return 0;
}
