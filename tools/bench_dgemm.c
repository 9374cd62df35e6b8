/* bench_dgemm.c — the ceiling of `make bench` (tools/bench.sh, docs/bench.md):
 * the DGEMM rate of one core of this machine, measured in the same run as the
 * workloads it is compared with.  OpenBLAS cblas_dgemm on square n x n
 * matrices, one thread, C = A B (beta = 0); one untimed warm-up, then the
 * best of REPS timed calls.  Prints one line per process:
 *
 *   dgemm: rank R, n = N, 1 thread, best of REPS: X GF/s (T s per call)
 *
 * Usage: bench_dgemm [N [REPS]]   (default N = 2048, REPS = 5).  Under
 * mpirun every rank runs its own DGEMM at the same time, which shows what
 * one core delivers while the other cores are busy too.  No MPI calls: the
 * rank comes from the environment (Open MPI's OMPI_COMM_WORLD_RANK). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 2048;
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (n < 1 || reps < 1) {
    fprintf(stderr, "usage: bench_dgemm [N >= 1 [REPS >= 1]]\n");
    return 2;
  }
  const char *r = getenv("OMPI_COMM_WORLD_RANK");
  int rank = r ? atoi(r) : 0;
  openblas_set_num_threads(1);
  size_t nn = (size_t)n * n;
  double *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
  if (!a || !b || !c) {
    fprintf(stderr, "bench_dgemm: out of memory for n = %d\n", n);
    return 1;
  }
  /* Deterministic, well-scaled entries in [-0.5, 0.5). */
  unsigned long long s = 0x9E3779B97F4A7C15ull;
  for (size_t k = 0; k < nn; k++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    a[k] = (double)(s >> 11) * 0x1p-53 - 0.5;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    b[k] = (double)(s >> 11) * 0x1p-53 - 0.5;
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
  double best = 1e300;
  for (int k = 0; k < reps; k++) {
    double t0 = now();
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
    double t = now() - t0;
    if (t < best) best = t;
  }
  double flops = 2.0 * n * (double)n * n;
  printf("dgemm: rank %d, n = %d, 1 thread, best of %d: %.2f GF/s (%.4f s per call; c[0] = %.3g)\n",
         rank, n, reps, flops / best * 1e-9, best, c[0]);
  free(a);
  free(b);
  free(c);
  return 0;
}
