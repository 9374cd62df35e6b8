/* warn.c — warnings: combinations that are legitimate but statistically
 * empty (too few members for an error bar, cutoffs that miss the spectrum).
 *
 *   bf_warn            collective: record a warning, print it once on rank 0
 *   bf_warnings_count  how many were recorded
 *   bf_warning         the i-th, for the result file's /warnings
 *   bf_warnings_clear  forget them
 *
 * Every rank records the same texts (bf_warn is called by all ranks of the
 * run's communicator with the same arguments), so every rank can take part
 * in the collective write of /warnings. */
#include "brgflow/core.h"

#include <stdarg.h>
#include <string.h>

enum { MAX_WARNINGS = 32, WARNING_CHARS = 512 };
static char warnings[MAX_WARNINGS][WARNING_CHARS];
static int nwarnings = 0;

void bf_warn(MPI_Comm comm, const char *fmt, ...)
{
  char text[WARNING_CHARS];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  bf_log(comm, "warning: %s", text);
  if (nwarnings < MAX_WARNINGS) memcpy(warnings[nwarnings++], text, sizeof text);
}

int bf_warnings_count(void) { return nwarnings; }

const char *bf_warning(int i) { return i >= 0 && i < nwarnings ? warnings[i] : NULL; }

void bf_warnings_clear(void) { nwarnings = 0; }
