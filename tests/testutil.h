/* testutil.h — shared scaffolding for brgflow's cmocka tests.
 *
 * Test programs run under mpirun (one rank unless said otherwise): MPI and
 * FFTW-MPI are initialized around cmocka's runner.  FIGURE() prints the
 * number a check compared, so a log shows how close each test came. */
#ifndef BRGFLOW_TESTUTIL_H
#define BRGFLOW_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cblas.h>
#include <cmocka.h>
#include <fftw3-mpi.h>
#include <mpi.h>

#include "brgflow/core.h"

#define FIGURE(...)                                                            \
  do {                                                                         \
    printf("    figure: ");                                                    \
    printf(__VA_ARGS__);                                                       \
    printf("\n");                                                              \
    fflush(stdout);                                                            \
  } while (0)

/* Assert a <= b for doubles, printing both on failure. */
#define ASSERT_LE(a, b)                                                        \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    if (!(a_ <= b_)) fail_msg("%s = %.6g exceeds %s = %.6g", #a, a_, #b, b_); \
  } while (0)

/* main() of a test program.  Rank 0 first declares its number of checks,
 * "plan: N checks" (the group's size); tests/run_tests.sh requires cmocka to
 * report exactly N passed. */
#define BF_TEST_MAIN(group)                                                    \
  int main(int argc, char **argv)                                              \
  {                                                                            \
    MPI_Init(&argc, &argv);                                                    \
    bf_error_comm(MPI_COMM_WORLD);                                             \
    int rank_;                                                                 \
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);                                     \
    if (rank_ == 0) {                                                          \
      printf("plan: %zu checks\n", sizeof(group) / sizeof((group)[0]));        \
      fflush(stdout);                                                          \
    }                                                                          \
    fftw_mpi_init();                                                           \
    openblas_set_num_threads(1);                                               \
    int status = cmocka_run_group_tests(group, NULL, NULL);                    \
    fftw_mpi_cleanup();                                                        \
    MPI_Finalize();                                                            \
    return status;                                                             \
  }

#endif
