/* parms.c — the flow input keys: the coarse-graining flow.
 *
 *   bf_flow_keys           the rows of [brg]
 *   bf_print_flow_parms    their effective values
 *   bf_check_flow_parms    [brg] cutoffs and probe -> cut, probe_idx */
#include "brgflow/flow_parms.h"
#include "brgflow/input.h"
#include "brgflow/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(bf_params, f)
static const bf_key KEYS[] = {
  {"brg", "flow", BF_KEY_ENUM, OFF(brg.on), "no", "-", 0, 0, 0, "no|yes",
   "run the information-shell coarse-graining flow (docs/physics.md 3)", BF_RESULTS},
  {"brg", "lambda_min", BF_KEY_REAL, OFF(brg.lambda_min), "1e-6", "1/parameter^2", 0,
   1e300, 1, NULL, "smallest cutoff Lambda_1 (relative: fraction of lambda_max)", BF_RESULTS},
  {"brg", "lambda_max", BF_KEY_REAL, OFF(brg.lambda_max), "1", "1/parameter^2", 0, 1e300,
   1, NULL, "largest cutoff Lambda_K (relative: fraction of lambda_max)", BF_RESULTS},
  {"brg", "count", BF_KEY_INT, OFF(brg.count), "16", "-", 1, 100000, 0, NULL,
   "number K of log-spaced cutoffs", BF_RESULTS},
  {"brg", "relative", BF_KEY_ENUM, OFF(brg.relative), "no", "-", 0, 0, 0, "no|yes",
   "cutoffs in units of each member's largest Fisher eigenvalue (eigen basis) "
   "or largest I_AA (diagonal basis)", BF_RESULTS},
  {"brg", "basis", BF_KEY_ENUM, OFF(brg.basis), "eigen", "-", 0, 0, 0,
   "eigen|diagonal|both",
   "eigen: Fisher eigenvectors with 0 < lambda < Lambda; diagonal: "
   "coordinates with I_AA < Lambda", BF_RESULTS},
  {"brg", "prescription", BF_KEY_ENUM, OFF(brg.prescription), "both", "-", 0, 0, 0,
   "resample|prune|both",
   "resample: fresh prior draw in the sloppy subspace; prune: set it to 0", BF_RESULTS},
  {"brg", "critical_tol", BF_KEY_REAL, OFF(brg.critical_tol), "0.1", "-", 0, 1e300, 1,
   NULL, "delta: Lambda_C is the first cutoff with MSE > (1 + delta) MSE_0", BF_RESULTS},
  {"brg", "bootstrap", BF_KEY_INT, OFF(brg.bootstrap), "200", "-", 0, 1000000, 0, NULL,
   "bootstrap resamples over members for the interval of Lambda_C", BF_RESULTS},
  {"brg", "cutoffs", BF_KEY_STR, OFF(brg.cutoffs), "none", "1/parameter^2", 0, 0, 0, NULL,
   "explicit cutoffs Lambda_1 < ... < Lambda_K, comma-separated on one line (relative: "
   "fractions of lambda_max); replaces lambda_min, lambda_max and count; none: the "
   "log grid", BF_RESULTS},
  {"brg", "keep_mse_below", BF_KEY_REAL, OFF(brg.keep_mse_below), "0", "output^2", 0, 1e300, 0,
   NULL, "drop members whose uncoarsened test MSE is >= this from the ensemble "
   "statistics (still coarse-grained, their test_mse still stored); 0: keep all", BF_RESULTS},
  {"brg", "probe", BF_KEY_STR, OFF(brg.probe), "none", "-", 0, 0, 0, NULL,
   "test-point indices (0 .. n_test-1), comma-separated: every member's prediction "
   "there is stored at every cutoff (/brg/.../probe_pred); none: no probe", BF_RESULTS},
};
#undef OFF

const bf_key_table bf_flow_keys = {KEYS, sizeof KEYS / sizeof KEYS[0]};

void bf_print_flow_parms(FILE *out, const bf_params *p)
{
  bf_print_keys(out, p, &bf_flow_keys);
}

static int brg_fail(bf_check *c, const char *key, const char *why)
{
  return bf_check_fail(c, "brg", key, why);
}

/* [brg] cutoffs: positive, finite, strictly ascending (the shells are
 * nested: bf_shells_advance needs cutoffs that never decrease). */
static int derive_cutoffs(bf_check *c, bf_params *p)
{
  static const char *grid[] = {"lambda_min", "lambda_max", "count"};
  char why[160];
  for (int g = 0; g < 3; g++) /* the list replaces the grid: one would be ignored */
    if (bf_check_changed(c, "brg", grid[g])) {
      snprintf(why, sizeof why, "given together with [brg] %s: the list replaces the log "
               "grid (remove %s)", grid[g], grid[g]);
      return brg_fail(c, "cutoffs", why);
    }
  enum { MAXC = 256 };
  double *v = BF_ALLOC(MAXC, double);
  int n = bf_parse_list(p->brg.cutoffs, v, MAXC), ok = n >= 1;
  for (int i = 0; ok && i < n; i++) ok = v[i] > 0 && (i == 0 || v[i] > v[i - 1]);
  if (!ok) {
    free(v);
    return brg_fail(c, "cutoffs", "expected 1 to 256 comma-separated positive finite numbers "
                    "in strictly ascending order");
  }
  p->brg.ncut = n;
  p->brg.cut = v;
  return 1;
}

/* [brg] probe: indices of test points. */
static int derive_probe(bf_check *c, bf_params *p)
{
  double v[BF_MAX_POINTS];
  int n = bf_parse_list(p->brg.probe, v, BF_MAX_POINTS), ok = n >= 1;
  for (int i = 0; ok && i < n; i++) ok = v[i] == floor(v[i]) && v[i] >= 0 && v[i] < p->data.n_test;
  if (!ok) {
    char why[160];
    snprintf(why, sizeof why, "expected 1 to %d comma-separated test-point indices "
             "0 .. n_test-1 = %d", BF_MAX_POINTS, p->data.n_test - 1);
    return brg_fail(c, "probe", why);
  }
  p->brg.nprobe = n;
  p->brg.probe_idx = BF_ALLOC(n, int);
  for (int i = 0; i < n; i++) p->brg.probe_idx[i] = (int)v[i];
  return 1;
}

/* [brg] cutoffs and probe (input.c's check_uses refused them without the flow). */
int bf_check_flow_parms(bf_check *c, bf_params *p)
{
  int list = strcmp(p->brg.cutoffs, "none") != 0, probe = strcmp(p->brg.probe, "none") != 0;
  return (!list || derive_cutoffs(c, p)) && (!probe || derive_probe(c, p));
}
