/* core.h — brgflow's core services: collective errors, rank-0 logging,
 * counter-based random streams, reproducible reductions, block distribution.
 *
 * Every function that communicates takes its communicator; nothing below
 * main() names MPI_COMM_WORLD. */
#ifndef BRGFLOW_CORE_H
#define BRGFLOW_CORE_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#define BF_VERSION "0.2.0" /* 0.2: MLPs, training, the Fisher metric; cos-net a_i drawn four normals per Philox call */

/* ---- errors (src/core/error.c) ------------------------------------------
 * User-facing errors (bad input, an unusable checkpoint, unwritable output)
 * are collective and travel up the stack as a status: every rank calls
 * bf_failed with its local verdict; if any rank failed, the lowest failing
 * rank prints its one message and bf_failed returns 1 on every rank, so
 * every rank takes the same way out.  The caller frees what it made and
 * returns its failure (a stage returns BF_FAILED) up to main, the one place
 * that finalizes MPI and exits.  Internal errors (a library call that must
 * not fail) abort the job with file, line and function. */
enum { BF_FAILED = 1 }; /* exit status: bad input, unusable checkpoint, unwritable output */
int bf_failed(MPI_Comm comm, int failed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void bf_abort(const char *file, int line, const char *func,
                        const char *what);
/* The run's communicator: main registers it once, and bf_abort aborts it
 * (so nothing below main names MPI_COMM_WORLD).  It and every communicator
 * brgflow duplicates return MPI errors instead of dying in the library, so
 * BF_MPI can report the call that failed. */
void bf_error_comm(MPI_Comm comm);
void bf_comm_dup(MPI_Comm comm, MPI_Comm *dup);
/* Internal check: a false condition is a bug or a broken system, not bad input. */
#define BF_ASSERT(cond)                                                        \
  do {                                                                         \
    if (!(cond)) bf_abort(__FILE__, __LINE__, __func__, #cond);                \
  } while (0)
/* Checked MPI call. */
#define BF_MPI(call)                                                           \
  do {                                                                         \
    if ((call) != MPI_SUCCESS) bf_abort(__FILE__, __LINE__, __func__, #call);  \
  } while (0)
/* Checked allocations of n elements: a failure (or a negative or
 * overflowing n) aborts naming the caller's file:line and the bytes asked. */
void *bf_malloc(int64_t n, size_t size, int zero, const char *file, int line,
                const char *func);
#define BF_ALLOC(n, type)                                                      \
  ((type *)bf_malloc((int64_t)(n), sizeof(type), 0, __FILE__, __LINE__, __func__))
#define BF_CALLOC(n, type)                                                     \
  ((type *)bf_malloc((int64_t)(n), sizeof(type), 1, __FILE__, __LINE__, __func__))
/* Sum count doubles over comm into recv on every rank (send may be
 * MPI_IN_PLACE), in chunks whose counts fit MPI's int: for n^2, n*P and
 * kernel-sized arrays (src/core/parallel.c). */
void bf_allreduce_sum_doubles(MPI_Comm comm, const void *send, double *recv,
                              int64_t count);
/* Broadcast count doubles from root, chunked the same way. */
void bf_bcast_doubles(MPI_Comm comm, double *buf, int64_t count, int root);

/* ---- logging (src/core/log.c) -------------------------------------------
 * Progress lines on rank 0, stamped with seconds since bf_log_start. */
void bf_log_start(void);
double bf_elapsed(void);
void bf_log(MPI_Comm comm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- warnings (src/core/warn.c) -----------------------------------------
 * A legitimate but statistically empty combination: printed once on rank 0
 * and stored in the result file's /warnings.  Collective: every rank calls
 * bf_warn with the same text, so every rank holds the same list. */
void bf_warn(MPI_Comm comm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bf_warnings_count(void);
const char *bf_warning(int i);
void bf_warnings_clear(void);

/* ---- stop requests (src/core/stop.c) -------------------------------------
 * SIGTERM / SIGUSR1 set a flag; stages poll it.  A stop travels up the
 * stack: the stage returns, every stage above sees bf_stopped() and returns
 * without its results, and main exits.  At a checkpoint (a step boundary)
 * the exit status is 0; in a stage without checkpoints it is BF_STOPPED. */
enum { BF_STOPPED = 3 }; /* exit status: stopped in a stage without checkpoints */
void bf_stop_install(void);
void bf_stop_watch_file(const char *output); /* polls also look for OUTPUT.stop */
const char *bf_stop_file(void);
int bf_stop_poll(MPI_Comm comm); /* collective, at a step boundary: a signal, or the stop file */
/* Collective, inside a stage without step boundaries: a signal only.  The
 * stop file asks for a stop at the next boundary (with its checkpoint), so
 * it waits there; a signal asks for one as soon as possible. */
int bf_stop_poll_signal(MPI_Comm comm);
void bf_stop_agree(int at_checkpoint); /* every rank: the ranks agreed on a stop */
int bf_stopped(void); /* a poll agreed on a stop: the same on every rank that polled */
int bf_stopped_at_checkpoint(void); /* ... and it came at a checkpoint */

/* ---- counter-based random streams (src/core/rng.c) ----------------------
 * A stream is keyed by (seed, member, purpose); draw i of it is a pure
 * function of (seed, member, purpose, i, sub), so a member's numbers do not
 * depend on which rank draws them or in which order (Philox4x64-10). */
enum bf_purpose {
  BF_RNG_COSNET_A = 1, /* cos-net readout weights a_i */
  BF_RNG_COSNET_B = 2, /* cos-net momenta b_i (sub = rejection attempt) */
  BF_RNG_COSNET_C = 3, /* cos-net phases c_i */
  BF_RNG_MLP = 4,      /* MLP weights and biases, index = position in theta */
};
typedef struct bf_rng {
  uint64_t seed, member;
  uint32_t purpose;
} bf_rng;
bf_rng bf_rng_stream(uint64_t seed, uint64_t member, uint32_t purpose);
/* Four uniforms in the open interval (0,1) from counter (index, sub). */
void bf_rng_uniform4(const bf_rng *s, uint64_t index, uint64_t sub, double u[4]);
double bf_rng_uniform(const bf_rng *s, uint64_t index);
double bf_rng_normal(const bf_rng *s, uint64_t index);
/* out[k] = bf_rng_normal(s, first + k), k < n, at a quarter of the cost. */
void bf_rng_normals(const bf_rng *s, uint64_t first, int64_t n, double *out);

/* ---- distribution and reductions (src/core/parallel.c) ------------------ */
/* Contiguous balanced block of [0,total) owned by `rank` of `nranks`. */
void bf_block_range(int64_t total, int nranks, int rank, int64_t *first,
                    int64_t *count);
/* Sum double-double accumulators (hi, lo arrays of length n) over comm into
 * every rank.  Error-free transformations make the result independent of the
 * number of ranks to far below double precision. */
void bf_dd_add(double *hi, double *lo, double x);
void bf_dd_allreduce(MPI_Comm comm, int64_t n, double *hi, double *lo);
/* Collective: from this rank's double-double sums of x (s) and x^2 (q) over
 * E samples in all, the mean and unbiased variance of each of n entries.
 * The accumulators are left as they were. */
void bf_dd_moments(MPI_Comm comm, int64_t n, int64_t E, const double *s_hi,
                   const double *s_lo, const double *q_hi, const double *q_lo,
                   double *mean, double *var);

/* ---- memory (src/core/memory.c) -----------------------------------------
 * A rank's memory is bounded by its local blocks (docs/theory.md f): the
 * large arrays count themselves with bf_mem_track, and a run's estimate is
 * the most they held at once plus BF_MEM_BASE_MB, the process without them
 * (MPI, HDF5, OpenBLAS buffers, code: 34-37 MB measured on 1-3 ranks for
 * a small run, inputs/mlp_train.ini; the rest a margin for the untracked
 * workspaces of training and the flow, ~50 MB seen in inputs/cosnet_posterior.ini
 * with its flow on 3 ranks). */
#define BF_MEM_BASE_MB 80.0
void bf_mem_track(double bytes);   /* bytes allocated (negative: released) */
double bf_mem_tracked_peak_mb(void); /* the most tracked at once, MB */
double bf_mem_peak_mb(void);       /* VmHWM of this process, MB (-1: unknown) */
/* Collective: the max over ranks of the peak and of the estimate (MB). */
void bf_mem_measure(MPI_Comm comm, double *peak_mb, double *estimate_mb);
/* Collective: the same, logged on rank 0 as
 * "peak memory per rank: max X MB (estimate from local blocks Y MB)". */
void bf_mem_report(MPI_Comm comm);

/* ---- periodic lattice geometry (src/core/lattice.c) ---------------------
 * L^d sites of spacing s, indexed row-major (last axis fastest).  Momenta
 * are q = 2 pi k/(L s) with k in the symmetric range of FFT frequencies. */
typedef struct bf_lattice {
  int d, L;
  double s;
  int64_t nsites; /* L^d */
} bf_lattice;
bf_lattice bf_lattice_make(int d, int L, double s);
/* Site index -> integer coordinates n[0..d-1] in 0..L-1. */
void bf_lattice_coords(const bf_lattice *lat, int64_t idx, int n[3]);
/* Signed FFT frequency of index n in 0..L-1: n for n <= L/2, else n - L. */
int bf_lattice_freq(int L, int n);
/* |q|^2 of the momentum with frequency-index coordinates n[]. */
double bf_lattice_q2(const bf_lattice *lat, const int n[3]);
/* The one cutoff test used by the sampler and by every reference: |q| < R. */
static inline int bf_below_cutoff(double q2, double R) { return q2 < R * R; }

/* Aggregates that never hide NaN (fmax(NaN, x) is x): a variance clipped
 * at 0 against rounding, and a running maximum. */
static inline double bf_nonneg(double v) { return v < 0 ? 0 : v; }
static inline double bf_max_nan(double a, double b) { return a != a || b != b ? a + b : a > b ? a : b; }

/* ---- LAPACK (OpenBLAS), column-major Fortran interface ------------------ */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
             const int *lda, double *w, double *work, const int *lwork,
             int *iwork, const int *liwork, int *info);

#endif
