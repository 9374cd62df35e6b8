/* memory.c — peak memory per rank, and the estimate from the local blocks.
 *
 *   bf_mem_track    count bytes of local blocks allocated (< 0: released)
 *   bf_mem_peak_mb  this process's peak resident memory, VmHWM (MB)
 *   bf_mem_measure  collective: the peak and the estimate, max over ranks
 *   bf_mem_report   the same, logged
 *
 * The science spec bounds a rank's memory by its local blocks (docs/
 * physics.md 6): the large arrays (distributed matrices, eigensolver
 * workspaces, per-member arrays) count themselves here, and the estimate is
 * the most they held at once plus BF_MEM_BASE_MB for the process itself.
 * Reading VmHWM, not getrusage: it is this process, not mpirun's children. */
#include "brgflow/core.h"

#include <stdio.h>
#include <string.h>

static double tracked = 0, tracked_peak = 0; /* bytes */

void bf_mem_track(double bytes)
{
  tracked += bytes;
  if (tracked > tracked_peak) tracked_peak = tracked;
}

double bf_mem_tracked_peak_mb(void) { return tracked_peak / 1e6; }

double bf_mem_peak_mb(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  double kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) {
      sscanf(line + 6, "%lf", &kb);
      break;
    }
  fclose(f);
  return kb < 0 ? -1 : kb * 1024 / 1e6;
}

void bf_mem_measure(MPI_Comm comm, double *peak_mb, double *estimate_mb)
{
  double v[2] = {bf_mem_peak_mb(), BF_MEM_BASE_MB + bf_mem_tracked_peak_mb()};
  BF_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_MAX, comm));
  *peak_mb = v[0], *estimate_mb = v[1];
}

void bf_mem_report(MPI_Comm comm)
{
  double peak, estimate;
  bf_mem_measure(comm, &peak, &estimate);
  bf_log(comm, "peak memory per rank: max %.0f MB (estimate from local blocks %.0f MB)", peak,
         estimate);
}
