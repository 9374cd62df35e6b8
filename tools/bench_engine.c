/* bench_engine.c — the layer-stack engine's fast kernels against its plain
 * reference kernels, on the shapes of the bench workloads, in one run.
 * One GD member-step = the one-pass gradient (bf_mlp_gradient: forward,
 * backprop signals and VJP, block by block of points); the reference is
 * record + VJP with the plain loops.  Prints,
 * per workload, the time of each and their ratio, and the fast kernels'
 * GF/s of the counted flops (2 n sum_l N_{l-1} N_l for the forward, the
 * same for the backward signals of layers >= 2 and for the weight
 * gradient; elementwise work not counted).  The reference kernels are
 * timed on at most 32 of the points and scaled by n/32 (their cost is
 * linear in the points).  W3 trains its readout only: brgflow's training
 * computes its features once and steps with two dgemv, so this tool's W3
 * figure is the full forward pass that training skips (a kernel ratio, not
 * the training rate).  Ratios, not times, are the figures to compare
 * across machines.  `bench_engine W1` (or `bench_engine inputs/bench_w1.ini`)
 * runs one workload. */
#include "brgflow/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
  const char *name;
  int d, L, width[3], act[3], nobias, param, n, readout;
} shape;

static double member_step(const bf_mlp *net, const double *theta, int n, const double *x,
                          const double *r, bf_mlp_tape *t, double *f, double *g, int ref,
                          int t0, int reps)
{
  double t1 = MPI_Wtime();
  for (int k = 0; k < reps; k++) {
    if (ref) {
      bf_mlp_record_ref(net, theta, n, x, t);
      bf_mlp_vjp_ref(net, t, r, t0, g);
    } else { /* training's one-pass gradient (y = r, any numbers do) */
      bf_mlp_gradient(net, theta, n, x, r, 1.0 / n, t0, t, f, g);
    }
  }
  return (MPI_Wtime() - t1) / reps;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  openblas_set_num_threads(1);
  const shape shapes[] = {
    {"W1", 1, 1, {1024}, {0}, 0, BF_PARAM_NTK, 64, 0},
    {"W2", 4, 3, {1024, 1024, 1024}, {1, 1, 1}, 0, BF_PARAM_NTK, 512, 0},
    {"W3", 2, 3, {10, 10, 2000}, {6, 0, 0}, 1, BF_PARAM_UNSCALED, 200, 1},
  };
  for (int s = 0; s < 3; s++) {
    const shape *sh = &shapes[s];
    /* one workload: its name (W1) or its input (inputs/bench_w1.ini) */
    char lower[8] = {'w', sh->name[1], 0};
    if (argc > 1 && strcmp(argv[1], sh->name) && !strstr(argv[1], lower)) continue;
    bf_params p = {.net.d = sh->d, .net.nhidden = sh->L, .net.hwidth = (int *)sh->width,
                   .net.hact = (int *)sh->act, .net.nobias = sh->nobias,
                   .net.parameterization = sh->param, .net.sigma_w = 1, .net.sigma_b = 0.5};
    bf_mlp *net = bf_mlp_create(&p);
    int n = sh->n, t0 = sh->readout ? (int)net->layer[net->depth + 1].woff : 0;
    double *theta = malloc(net->nparams * sizeof(double)), *x = malloc(n * sh->d * sizeof(double));
    double *r = malloc(n * sizeof(double)), *g = malloc(net->nparams * sizeof(double));
    double *fo = malloc(n * sizeof(double));
    bf_mlp_sample(net, 1, 0, theta);
    for (int k = 0; k < n * sh->d; k++) x[k] = sin(0.37 * k);
    for (int k = 0; k < n; k++) r[k] = cos(0.11 * k) / n;
    bf_mlp_tape *t = bf_mlp_tape_create(net, n);
    double flops = 0;
    for (int l = 1; l <= net->depth + 1; l++) {
      double lay = 2.0 * n * net->layer[l].in * net->layer[l].out;
      int trained = net->layer[l].woff >= t0;
      flops += lay + (trained ? lay : 0) + (l >= 2 && !sh->readout ? lay : 0);
    }
    double fast = member_step(net, theta, n, x, r, t, fo, g, 0, t0, 1); /* warm up */
    double budget = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 0.5;
    int reps = fast > 0 ? (int)fmin(1e6, fmax(3, budget / fast)) : 3;
    fast = member_step(net, theta, n, x, r, t, fo, g, 0, t0, reps);
    /* the plain loops cost the same per point: time them on at most 32
     * points and scale, so a GEMM-sized workload does not take minutes */
    int nref = n < 32 ? n : 32;
    double ref = member_step(net, theta, nref, x, r, t, fo, g, 1, t0, 1) * n / nref;
    char desc[256];
    bf_mlp_describe(net, desc, sizeof desc);
    printf("bench_engine %s (%s, n = %d%s): member-step fast %.3g ms (%.2f GF/s of %.3g "
           "flops), reference %.3g ms; fast/reference: %.1f\n", sh->name, desc, n,
           sh->readout ? ", readout trained" : "", 1e3 * fast, flops / fast * 1e-9, flops,
           1e3 * ref, ref / fast);
    bf_mlp_tape_destroy(&t);
    free(theta), free(x), free(r), free(g), free(fo);
    bf_mlp_destroy(&net);
  }
  MPI_Finalize();
  return 0;
}
