/* measure.c — the measure stage: G2 and the connected G4c of an ensemble
 * at the [correlator] points (docs/physics.md 1 and 5).
 *
 *   bf_measure_create   a plan: the points, the quadruples, the jackknife
 *                       blocks and one forward workspace, built once
 *   bf_measure_run      one measurement of the local members' parameter rows:
 *                       a pass for the mean output (the centre of the G4c
 *                       products, moments.c), a pass for the moments
 *   bf_measure_destroy  free it
 *
 * The same plan serves the trained ensemble and every step of a flow, so
 * the trained values and each step's are the same estimator (moments.c:
 * double-double sums, blocks by member index, hence independent of the
 * rank count). */
#include "brgflow/nnft.h"

#include <stdlib.h>
#include <string.h>

struct bf_measure {
  const bf_model *mod;
  int n;
  MPI_Comm comm;
  double *x, *c; /* points (n x d), the members' mean output (n) */
  bf_plan *plan;
  bf_moments *mom;
};

bf_measure *bf_measure_create(MPI_Comm comm, const bf_model *mod, int n, const double *x,
                              int nquads, const int (*quad)[4], int64_t members, int blocks)
{
  bf_measure *ms = BF_CALLOC(1, bf_measure);
  ms->mod = mod;
  ms->n = n;
  ms->x = BF_ALLOC((int64_t)n * mod->d, double);
  memcpy(ms->x, x, sizeof(double) * n * mod->d);
  ms->c = BF_ALLOC(n, double);
  bf_comm_dup(comm, &ms->comm);
  ms->plan = bf_model_plan_create(mod, n);
  ms->mom = bf_moments_create(comm, n, nquads, quad, members, blocks);
  return ms;
}

void bf_measure_destroy(bf_measure **mp)
{
  bf_measure *ms = *mp;
  if (!ms) return;
  bf_moments_destroy(&ms->mom);
  bf_model_plan_destroy(&ms->plan);
  BF_MPI(MPI_Comm_free(&ms->comm));
  free(ms->x), free(ms->c), free(ms);
  *mp = NULL;
}

/* The mean of the kept local members' outputs fs (count x n), reduced over
 * ranks (double-double: the same at any rank count): the centre of the G4c
 * products. */
static void centre(bf_measure *ms, MPI_Comm comm, const double *fs, int64_t count,
                   const double *keep, double *c)
{
  int n = ms->n;
  double *s = BF_CALLOC(n + 1, double), *sl = BF_CALLOC(n + 1, double);
  for (int64_t m = 0; m < count; m++) {
    if (keep && !keep[m]) continue;
    for (int i = 0; i < n; i++) bf_dd_add(&s[i], &sl[i], fs[m * n + i]);
    s[n] += 1; /* the count, exact */
  }
  bf_dd_allreduce(comm, n + 1, s, sl);
  for (int i = 0; i < n; i++) c[i] = s[n] > 0 ? (s[i] + sl[i]) / s[n] : 0;
  free(s), free(sl);
}

void bf_measure_run(bf_measure *ms, const double *theta, int64_t P, int64_t first,
                    int64_t count, const double *keep, double *g2, double *g2_err,
                    double *g4c, double *g4c_err)
{
  /* each kept member's outputs once: the centre and the moments both read them */
  int n = ms->n;
  double *fs = BF_ALLOC(count * n + 1, double);
  for (int64_t m = 0; m < count; m++)
    if (!keep || keep[m]) bf_model_forward(ms->mod, ms->plan, theta + m * P, n, ms->x, fs + m * n);
  centre(ms, ms->comm, fs, count, keep, ms->c);
  bf_moments_reset(ms->mom);
  bf_moments_shift(ms->mom, ms->c);
  for (int64_t m = 0; m < count; m++)
    if (!keep || keep[m]) bf_moments_add(ms->mom, first + m, fs + m * n); /* dropped: out */
  free(fs);
  bf_moments_finish(ms->mom, g2, g2_err, g4c, g4c_err);
}
