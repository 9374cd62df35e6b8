/* log.c — rank-0 progress lines with elapsed wall time.
 *
 *   bf_log_start  start the clock
 *   bf_elapsed    seconds since bf_log_start
 *   bf_log        print "[   12.3 s] message" on rank 0 of comm */
#include "brgflow/core.h"

#include <stdarg.h>

static double t_start = -1.0;

void bf_log_start(void) { t_start = MPI_Wtime(); }

double bf_elapsed(void) { return t_start < 0 ? 0.0 : MPI_Wtime() - t_start; }

void bf_log(MPI_Comm comm, const char *fmt, ...)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  printf("[%8.2f s] ", bf_elapsed());
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
}
