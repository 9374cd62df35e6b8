/* table.c — the coarse-graining flow's result table: every array of
 * bf_flow_result, its shape, where it lives, its name in the result
 * (/brg[/FLOW] or, for the ERG checks, /erg[/FLOW]) and in the checkpoint
 * (/flowI/NAME), its units and meaning (docs/outputs.md).
 *
 *   bf_flow_fields, bf_flow_nfields  the table (src/io/fields.c reads it)
 *
 * The per-member rows (mse_loc, ...) are what a checkpoint keeps; rank 0's
 * step x member arrays (test_mse, ...) are gathered from them at the end. */
#include "brgflow/flow.h"

#include <stddef.h>

#define AT(member) offsetof(bf_flow_result, member)

enum { EVERY = BF_EVERY_RANK, ROOT = BF_RANK0, ROWS = BF_MEMBER_ROWS };
enum { ERG = BF_FLOW_ERG, PTS = BF_FLOW_PTS, PROBE = BF_FLOW_PROBE, DIAG = BF_FLOW_DIAG,
       INF = BF_FLOW_INF };

const bf_field bf_flow_fields[] = {
  /* offset, shape, place, when, group, result, checkpoint, units, meaning,
     result_when */
  {AT(cut), "K", EVERY, 0, 0, "cutoffs", NULL, "@C",
   "information cutoffs Lambda_k (log-spaced, or the [brg] cutoffs list)", 0},
  {AT(n_sloppy), "KE", ROOT, 0, 0, "n_sloppy", NULL, "-",
   "sloppy directions per step and member", 0},
  {AT(mse), "KE", ROOT, 0, 0, "test_mse", NULL, "output^2", "test MSE per step and member", 0},
  {AT(mse0), "E", ROOT, 0, 0, "test_mse0", NULL, "output^2", "test MSE before coarse graining", 0},
  {AT(mse_mean), "K", ROOT, 0, 0, "test_mse_mean", NULL, "output^2",
   "mean test MSE per step over the kept members (behind Lambda_C)", 0},
  {AT(kept), "E", EVERY, 0, 0, "kept", NULL, "-",
   "1: member in the ensemble statistics, 0: dropped (test_mse0 >= keep_mse_below)", 0},
  {AT(probe_pred), "KEB", ROOT, PROBE, 0, "probe_pred", NULL, "output",
   "every member's prediction at the probe test points, per step (dropped members too)", 0},
  {AT(pred_mean), "KT", EVERY, 0, 0, "pred_mean", "pred_mean", "output",
   "ensemble predictive mean on the test points", 0},
  {AT(pred_var), "KT", EVERY, 0, 0, "pred_var", "pred_var", "output^2",
   "ensemble predictive variance on the test points", 0},
  {AT(n_zero), "KE", ROOT, DIAG, 0, "n_zero_info", NULL, "-",
   "sloppy coordinates with I_AA = 0 exactly", 0},
  /* the measure stage at the [correlator] points (docs/physics.md 5) */
  {AT(g2pts), "KNN", EVERY, PTS, 0, "G2", "g2pts", "output^2",
   "ensemble G2 at the [correlator] points (/nnft/x), per step", 0},
  {AT(g2pts_err), "KNN", EVERY, PTS, 0, "G2_err", "g2pts_err", "output^2",
   "standard error of G2 over the kept members", 0},
  {AT(g4c), "KQ", EVERY, PTS, 0, "G4c", "g4c", "output^4",
   "connected G4c on /nnft/quadruples per step, over the kept members", 0},
  {AT(g4c_err), "KQ", EVERY, PTS, 0, "G4c_err", "g4c_err", "output^4",
   "delete-one-block jackknife error of G4c", 0},
  {AT(ng4c), "KQ", EVERY, PTS, 0, "NG4c", NULL, "output^4",
   "N G4c, N = /nnft width_N (the last hidden width)", 0},
  /* infinite-width curves (posterior, resample, eigen basis) */
  {AT(mse_inf), "K", EVERY, INF, 0, "mse_infinite_width", NULL, "output^2",
   "infinite-width test MSE (posterior, resample; docs/physics.md 3)", 0},
  {AT(var_inf), "KT", EVERY, INF, 0, "var_infinite_width", NULL, "output^2",
   "infinite-width predictive variance on the test points", 0},
  /* this rank's members, step by step: what a checkpoint keeps */
  {AT(mse_loc), "K", ROWS, 0, 0, NULL, "mse", "output^2", "test MSE per member and step", 0},
  {AT(nsl_loc), "K", ROWS, 0, 0, NULL, "n_sloppy", "-", "sloppy directions", 0},
  {AT(nz_loc), "K", ROWS, 0, 0, NULL, "n_zero", "-", "sloppy with I_AA = 0", 0},
  {AT(probe_loc), "KB", ROWS, PROBE, 0, NULL, "probe_pred", "output", "probe predictions", 0},
  /* BRG = ERG for the cos-net on the full lattice (docs/physics.md 4) */
  {AT(pcut), "K", EVERY, ERG, 1, "momentum_cutoff", "pcut", "1/length",
   "p(Lambda) = sqrt(n A^2/(2 s^2 Lambda) - m^2)", 0},
  {AT(g2), "KS", EVERY, ERG, 1, "G2", "g2", "@G",
   "coarse-grained ensemble G2 by lattice displacement, per step", 0},
  {AT(g2_err), "KS", EVERY, ERG, 1, "G2_err", "g2_err", "@G",
   "standard error of G2 over members", 0},
  {AT(g2_ref), "KS", EVERY, ERG, 1, "G2_ref", "g2_ref", "@G",
   "G_p^lat with p = p(Lambda), q = 0 mode weighted by its pruning survival", 0},
  {AT(gq), "KS", EVERY, ERG, 1, "Gq", "gq", "1/momentum^2",
   "<|phi~(q)|^2>/V by lattice momentum (FFT index order)", 0},
  {AT(gq_err), "KS", EVERY, ERG, 1, "Gq_err", "gq_err", "1/momentum^2",
   "standard error of Gq over members", 0},
  {AT(gq_ref), "KS", EVERY, ERG, 1, "Gq_ref", "gq_ref", "1/momentum^2",
   "theta(p - |q|)/(q^2 + m^2), q = 0 weighted", 0},
  {AT(m_eff), "K", EVERY, ERG, 1, "m_eff", "m_eff", "1/length",
   "fit of 1/Gq = (q^2 + m_eff^2)/Z over 0 < |q| < p", 0},
  {AT(m_err), "K", EVERY, ERG, 1, "m_eff_err", "m_err", "1/length", "fit error of m_eff", 0},
  {AT(Z), "K", EVERY, ERG, 1, "Z", "Z", "-", "field normalization of the fit", 0},
  {AT(m_hat), "K", EVERY, ERG, 1, "m_hat", "m_hat", "-", "dimensionless mass m_eff/p(Lambda)", 0},
  {AT(zeta), "K", EVERY, ERG, 1, "zeta", "zeta", "-",
   "p(Lambda)/R: the momentum rescaling back to R", 0},
  {AT(zmax), "K", EVERY, ERG, 1, "zscore_max", "zmax", "-",
   "max over displacements of |G2 - G2_ref|/G2_err", 0},
};
const int bf_flow_nfields = (int)(sizeof bf_flow_fields / sizeof bf_flow_fields[0]);
