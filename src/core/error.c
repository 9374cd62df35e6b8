/* error.c — collective error exits and checked allocation.
 *
 *   bf_fail_if   collective: if any rank failed, one message, all exit 1
 *   bf_abort     internal error: message with location, MPI_Abort
 *   bf_malloc    allocation that aborts with location on failure
 *   bf_zalloc    zero-filled allocation that aborts on failure */
#include "brgflow/core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void bf_fail_if(MPI_Comm comm, int failed, const char *fmt, ...)
{
  int rank, first_bad, mine;
  MPI_Comm_rank(comm, &rank);
  /* The lowest failing rank speaks, so the user reads one message. */
  mine = failed ? rank : INT32_MAX;
  BF_MPI(MPI_Allreduce(&mine, &first_bad, 1, MPI_INT, MPI_MIN, comm));
  if (first_bad == INT32_MAX) return;
  if (rank == first_bad) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "brgflow: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
  }
  MPI_Barrier(comm);
  MPI_Finalize();
  exit(EXIT_FAILURE);
}

void bf_abort(const char *file, int line, const char *func, const char *what)
{
  fprintf(stderr, "brgflow: internal error at %s:%d in %s(): %s\n", file, line,
          func, what);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 2);
  abort();
}

void *bf_malloc(size_t bytes, const char *file, int line, const char *func)
{
  void *p = malloc(bytes ? bytes : 1);
  if (!p) bf_abort(file, line, func, "out of memory");
  return p;
}

void *bf_zalloc(size_t bytes)
{
  void *p = calloc(1, bytes ? bytes : 1);
  if (!p) bf_abort(__FILE__, __LINE__, __func__, "out of memory");
  return p;
}
