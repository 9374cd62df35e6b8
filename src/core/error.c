/* error.c — collective error checks and checked allocation.
 *
 *   bf_failed    collective: if any rank failed, one message, and 1 on
 *                every rank (the caller returns its status up to main)
 *   bf_abort     internal error: message with location, MPI_Abort
 *   bf_error_comm  register the run's communicator (aborted by bf_abort)
 *   bf_comm_dup  duplicate a communicator, MPI errors returned to BF_MPI
 *   bf_malloc    (zero-filled) allocation that aborts with the caller's
 *                location and byte count on failure */
#include "brgflow/core.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int bf_failed(MPI_Comm comm, int failed, const char *fmt, ...)
{
  int rank, first_bad, mine;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  /* The lowest failing rank speaks, so the user reads one message. */
  mine = failed ? rank : INT32_MAX;
  BF_MPI(MPI_Allreduce(&mine, &first_bad, 1, MPI_INT, MPI_MIN, comm));
  if (first_bad == INT32_MAX) return 0;
  if (rank == first_bad) { /* one write, so no other output splits the line */
    char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    int len = snprintf(msg, sizeof msg, "brgflow: error: ");
    vsnprintf(msg + len, sizeof msg - len, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
  }
  return 1;
}

static MPI_Comm abort_comm;
static int have_abort_comm;

void bf_error_comm(MPI_Comm comm)
{
  BF_MPI(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  abort_comm = comm;
  have_abort_comm = 1;
}

void bf_comm_dup(MPI_Comm comm, MPI_Comm *dup)
{
  BF_MPI(MPI_Comm_dup(comm, dup));
  BF_MPI(MPI_Comm_set_errhandler(*dup, MPI_ERRORS_RETURN));
}

void bf_abort(const char *file, int line, const char *func, const char *what)
{
  fprintf(stderr, "brgflow: internal error at %s:%d in %s(): %s\n", file, line,
          func, what);
  fflush(stderr);
  int up = 0;
  MPI_Initialized(&up);
  /* unregistered (a test program, a fuzzer): this process's world is the run */
  if (up) MPI_Abort(have_abort_comm ? abort_comm : MPI_COMM_SELF, 2);
  abort();
}

void *bf_malloc(int64_t n, size_t size, int zero, const char *file, int line,
                const char *func)
{
  char what[160];
  if (n < 0 || (size && (uint64_t)n > SIZE_MAX / size)) {
    snprintf(what, sizeof what, "allocation of %" PRId64 " elements of %zu bytes overflows",
             n, size);
    bf_abort(file, line, func, what);
  }
  size_t bytes = (size_t)n * size;
  void *p = zero ? calloc(1, bytes ? bytes : 1) : malloc(bytes ? bytes : 1);
  if (!p) {
    snprintf(what, sizeof what, "out of memory allocating %zu bytes", bytes);
    bf_abort(file, line, func, what);
  }
  return p;
}
