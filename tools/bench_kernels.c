/* bench_kernels.c — the cos-net field kernels timed side by side in one run:
 * plain (one cosine per unit and site) against grid (separable phases).
 * Prints both times and their ratio; the ratio, not the times, is the
 * figure to compare across machines. */
#include "brgflow/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* MLP forward: all points in one dgemm per layer, against one point at a
 * time (a matrix-vector product per layer), same network and points. */
static void bench_mlp(void)
{
  bf_params p = {.net.d = 4, .net.width = 256, .net.depth = 3, .net.activation = 1,
                 .net.sigma_w = 1.5, .net.sigma_b = 0.1};
  enum { NPTS = 128, REPS = 20 };
  bf_mlp *net = bf_mlp_create(&p);
  double *theta = BF_ALLOC(net->nparams, double), x[NPTS * 4], f[NPTS];
  for (int k = 0; k < NPTS * 4; k++) x[k] = sin(0.37 * k);
  bf_mlp_sample(net, 1, 0, theta);
  bf_mlp_work *w = bf_mlp_work_create(net, NPTS);
  double t0 = MPI_Wtime();
  for (int r = 0; r < REPS; r++) bf_mlp_forward(net, theta, NPTS, x, w, f);
  double batched = (MPI_Wtime() - t0) / REPS;
  t0 = MPI_Wtime();
  for (int r = 0; r < REPS; r++)
    for (int k = 0; k < NPTS; k++) bf_mlp_forward(net, theta, 1, x + 4 * k, w, f + k);
  double single = (MPI_Wtime() - t0) / REPS;
  printf("MLP forward, depth 3, N = 256, %d points: batched dgemm %.2f ms, one point at a "
         "time %.2f ms, speed-up %.1f\n", NPTS, 1e3 * batched, 1e3 * single, single / batched);
  t0 = MPI_Wtime();
  for (int r = 0; r < REPS; r++) bf_mlp_sample(net, 1, r, theta);
  double sample = (MPI_Wtime() - t0) / REPS;
  printf("MLP sampling: %lld parameters in %.2f ms, %.1f ns per normal\n",
         (long long)net->nparams, 1e3 * sample, 1e9 * sample / net->nparams);
  bf_mlp_work_destroy(&w);
  free(theta);
  bf_mlp_destroy(&net);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  openblas_set_num_threads(1);
  bf_params p = {.run.seed = 1, .net.d = 2, .net.width = 512, .cosnet.mass = 0.5, .cosnet.cutoff = 1.5,
                 .cosnet.sigma_a = 1, .cosnet.momenta = BF_MOMENTA_LATTICE, .lattice.sites = 32,
                 .lattice.spacing = 1, .ens.members = 2};
  bf_cosnet *net = bf_cosnet_create(&p);
  bf_lattice box = bf_lattice_make(p.net.d, p.lattice.sites, p.lattice.spacing);
  double *theta = BF_ALLOC(bf_cosnet_nparams(net), double);
  double *x = BF_ALLOC(box.nsites * p.net.d, double);
  double *phi = BF_ALLOC(box.nsites, double);
  for (int64_t k = 0; k < box.nsites; k++) {
    int n[3];
    bf_lattice_coords(&box, k, n);
    for (int j = 0; j < p.net.d; j++) x[k * p.net.d + j] = n[j] * p.lattice.spacing;
  }
  const int reps = 40;
  double t[2];
  for (int kernel = 0; kernel < 2; kernel++) {
    double t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++) {
      bf_cosnet_sample(net, p.run.seed, r, theta);
      if (kernel == 0)
        bf_cosnet_field(net, theta, box.nsites, x, phi);
      else
        bf_cosnet_field_grid(net, theta, p.lattice.sites, p.lattice.spacing, phi);
    }
    t[kernel] = (MPI_Wtime() - t0) / reps;
  }
  printf("cos-net field, N = %d, %lld sites: plain %.2f ms, grid %.2f ms per member, "
         "speed-up %.1f\n", p.net.width, (long long)box.nsites, 1e3 * t[0], 1e3 * t[1],
         t[0] / t[1]);
  free(theta);
  free(x);
  free(phi);
  bf_cosnet_destroy(&net);
  bench_mlp();
  MPI_Finalize();
  return 0;
}
