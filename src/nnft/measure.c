/* measure.c — the measure stage: G2 and the connected G4c of an ensemble
 * at the [correlator] points (docs/physics.md 1 and 5).
 *
 *   bf_measure_create   a plan: the points, the quadruples, the jackknife
 *                       blocks and one forward workspace, built once
 *   bf_measure_run      one measurement of the local members' parameter rows
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
  double *x, *f; /* points (n x d), one member's outputs (n) */
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
  ms->f = BF_ALLOC(n, double);
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
  free(ms->x), free(ms->f), free(ms);
  *mp = NULL;
}

void bf_measure_run(bf_measure *ms, const double *theta, int64_t P, int64_t first,
                    int64_t count, const double *keep, double *g2, double *g2_err,
                    double *g4c, double *g4c_err)
{
  bf_moments_reset(ms->mom);
  for (int64_t m = 0; m < count; m++) {
    if (keep && !keep[m]) continue; /* dropped: out of the ensemble statistics */
    bf_model_forward(ms->mod, ms->plan, theta + m * P, ms->n, ms->x, ms->f);
    bf_moments_add(ms->mom, first + m, ms->f);
  }
  bf_moments_finish(ms->mom, g2, g2_err, g4c, g4c_err);
}
