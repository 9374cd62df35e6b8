/* stop.c — stop requests: SIGTERM / SIGUSR1 (what a batch system sends
 * before a time limit) set a flag, and the stages poll it.
 *
 *   bf_stop_install      route SIGTERM and SIGUSR1 to the flag
 *   bf_stop_watch_file   polls at step boundaries also look for OUTPUT.stop
 *   bf_stop_poll         collective, at a step boundary: a signal or the file?
 *   bf_stop_poll_signal  collective, inside a stage: a signal?
 *   bf_stop_agree        the ranks agreed on a stop (at a checkpoint or not)
 *   bf_stopped, bf_stopped_at_checkpoint   what the stages above ask
 *
 * A stage with step boundaries stops there, after the driver's checkpoint
 * (bf_ctx_boundary returns BF_STOPPED, src/run/session.c); a long stage without
 * them (the infinite-width kernels) polls bf_stop_poll_signal and returns
 * BF_STOPPED.  Either way the stages above see bf_stopped() and return without
 * their results, and the status travels up to main, which exits: status 0
 * after a checkpoint, BF_STOPPED otherwise.  Errors travel the same way
 * (bf_failed, BF_FAILED): nothing below main ends the process but bf_abort. */
#include "brgflow/core.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag = 0;
static int agreed = 0;       /* a poll found a request: the same on every rank */
static int at_checkpoint = 0; /* ... at a step boundary, after its checkpoint */

static void on_signal(int sig)
{
  (void)sig;
  stop_flag = 1; /* only a flag: ranks agree on it at their next poll */
}

void bf_stop_install(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

/* OUTPUT.stop, looked for by rank 0 at every poll: what a batch script
 * writes when a signal would reach the ranks too early or not at all. */
static char stop_file[4200]; /* [run] output (< 4096) + ".stop" */

void bf_stop_watch_file(const char *output)
{
  snprintf(stop_file, sizeof stop_file, "%s.stop", output);
}

const char *bf_stop_file(void) { return stop_file; }

static int poll(MPI_Comm comm, int file)
{
  int rank, mine = stop_flag != 0, any = 0;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  if (file && rank == 0 && stop_file[0] && access(stop_file, F_OK) == 0) mine = 1;
  BF_MPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm));
  agreed |= any;
  return any;
}

int bf_stop_poll(MPI_Comm comm) { return poll(comm, 1); }

int bf_stop_poll_signal(MPI_Comm comm) { return poll(comm, 0); }

void bf_stop_agree(int checkpointed)
{
  agreed = 1;
  at_checkpoint = checkpointed;
}

int bf_stopped(void) { return agreed; }

int bf_stopped_at_checkpoint(void) { return agreed && at_checkpoint; }
