/* parms.c — the nn input keys: the networks, the lattice and the ensemble.
 *
 *   bf_nn_keys             the rows of [network], [cosnet], [lattice], [ensemble]
 *   bf_print_nn_parms      their effective values
 *   bf_check_nn_parms      [network] widths and activations -> hidden layers */
#include "brgflow/nn_parms.h"
#include "brgflow/input.h"
#include "brgflow/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(bf_params, f)
static const bf_key KEYS[] = {
  {"network", "arch", BF_KEY_ENUM, OFF(net.arch), "cosnet", "-", 0, 0, 0, "cosnet|mlp",
   "architecture: generalized cos-net (docs/physics.md 1a) or deep MLP (1b)", BF_RESULTS},
  {"network", "d", BF_KEY_INT, OFF(net.d), "1", "-", 1, 1e6, 0, NULL,
   "input dimension d (the cos-net: 1..3)", BF_RESULTS},
  {"network", "width", BF_KEY_INT, OFF(net.width), "256", "-", 1, 1e9, 0, NULL,
   "width N: number of hidden units (per hidden layer for the MLP)", BF_RESULTS},
  {"network", "depth", BF_KEY_INT, OFF(net.depth), "1", "-", 1, 1024, 0, NULL,
   "MLP: number of hidden layers L, all of width `width` (the uniform case of "
   "`widths`)", BF_RESULTS},
  {"network", "activation", BF_KEY_ENUM, OFF(net.activation), "relu", "-", 0, 0, 0,
   BF_ACTIVATION_CHOICES, "MLP: activation phi of every hidden layer (the "
   "uniform case of `activations`)", BF_RESULTS},
  {"network", "widths", BF_KEY_STR, OFF(net.widths), "none", "-", 0, 0, 0, NULL,
   "MLP: hidden widths N_1, ..., N_L, comma-separated (any number of layers; "
   "replaces depth and width); none: depth x width", BF_RESULTS},
  {"network", "activations", BF_KEY_STR, OFF(net.activations), "none", "-", 0, 0, 0, NULL,
   "MLP: one activation per hidden layer, comma-separated, or one for all "
   "(replaces activation); none: activation", BF_RESULTS},
  {"network", "bias", BF_KEY_ENUM, OFF(net.nobias), "yes", "-", 0, 0, 0, "yes|no",
   "MLP: no removes every b^l from theta and from every formula", BF_RESULTS},
  {"network", "parameterization", BF_KEY_ENUM, OFF(net.parameterization), "ntk", "-", 0,
   0, 0, "ntk|standard|unscaled",
   "MLP: ntk (scales sw/sqrt(fan_in), sb in the forward pass), standard (W ~ "
   "N(0, sw^2/fan_in), b ~ N(0, sb^2)) or unscaled (W ~ N(0, sw^2), b ~ N(0, "
   "sb^2), no fan-in factor anywhere: PyTorch's nn.init.normal_)", BF_RESULTS},
  {"network", "sigma_w", BF_KEY_REAL, OFF(net.sigma_w), "1.0", "-", 0, 1e300, 1, NULL,
   "MLP: weight scale sigma_w", BF_RESULTS},
  {"network", "sigma_b", BF_KEY_REAL, OFF(net.sigma_b), "0.1", "-", 0, 1e300, 0, NULL,
   "MLP: bias scale sigma_b (>= 0)", BF_RESULTS},
  {"cosnet", "mass", BF_KEY_REAL, OFF(cosnet.mass), "1.0", "1/length", 0, 1e300, 1, NULL,
   "mass m of the free scalar (m > 0)", BF_RESULTS},
  {"cosnet", "cutoff", BF_KEY_REAL, OFF(cosnet.cutoff), "2.0", "1/length", 0, 1e300, 1,
   NULL, "UV momentum cutoff R (|b| < R); below pi/spacing for lattice momenta", BF_RESULTS},
  {"cosnet", "sigma_a", BF_KEY_REAL, OFF(cosnet.sigma_a), "1.0", "-", 0, 1e300, 1, NULL,
   "prior scale of the readout: a_i ~ N(0, sigma_a^2/N)", BF_RESULTS},
  {"cosnet", "momenta", BF_KEY_ENUM, OFF(cosnet.momenta), "lattice", "-", 0, 0, 0,
   "lattice|continuum",
   "momentum set B_R: lattice momenta 2 pi k/(L s), or the continuum ball", BF_RESULTS},
  {"lattice", "sites", BF_KEY_INT, OFF(lattice.sites), "32", "-", 2, 1 << 20, 0, NULL,
   "sites per dimension L (periodic for lattice momenta)", BF_RESULTS},
  {"lattice", "spacing", BF_KEY_REAL, OFF(lattice.spacing), "1.0", "length", 0, 1e300, 1,
   NULL, "lattice spacing s", BF_RESULTS},
  {"ensemble", "members", BF_KEY_INT, OFF(ens.members), "128", "-", 2, 1e9, 0, NULL,
   "ensemble size E (at least 2, for a standard error)", BF_RESULTS},
};
#undef OFF

const bf_key_table bf_nn_keys = {KEYS, sizeof KEYS / sizeof KEYS[0]};

void bf_print_nn_parms(FILE *out, const bf_params *p)
{
  bf_print_keys(out, p, &bf_nn_keys);
}

/* Index of an activation name in BF_ACTIVATION_CHOICES, or -1. */
static int activation_index(const char *name)
{
  int idx = 0;
  for (const char *s = BF_ACTIVATION_CHOICES; *s; idx++) {
    const char *e = strchr(s, '|');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (strlen(name) == len && !strncmp(s, name, len)) return idx;
    s += len + (e ? 1 : 0);
  }
  return -1;
}

static int network_fail(bf_check *c, const char *key, const char *why)
{
  return bf_check_fail(c, "network", key, why);
}

/* [network] widths and activations: the hidden layers of a layer stack.
 * A list replaces the uniform keys, so giving both is refused: one of
 * them would be silently ignored. */
int bf_check_nn_parms(bf_check *c, bf_params *p)
{
  int lists = strcmp(p->net.widths, "none") != 0, alist = strcmp(p->net.activations, "none") != 0;
  /* the effective text lists every key, so "given" means "set away from
   * its default" here */
  if (lists && bf_check_changed(c, "network", "depth"))
    return network_fail(c, "widths", "given together with [network] depth: widths sets "
                        "the number of layers (remove depth)");
  if (lists && bf_check_changed(c, "network", "width"))
    return network_fail(c, "widths", "given together with [network] width: widths sets "
                        "every hidden width (remove width)");
  if (alist && bf_check_changed(c, "network", "activation"))
    return network_fail(c, "activations", "given together with [network] activation "
                        "(remove activation)");
  if (!lists && !alist) return 1;
  enum { MAXL = 1024 };
  double *w = BF_ALLOC(MAXL, double);
  int L = lists ? bf_parse_list(p->net.widths, w, MAXL) : p->net.depth, ok = L >= 1;
  for (int l = 0; ok && lists && l < L; l++)
    ok = w[l] == floor(w[l]) && w[l] >= 1 && w[l] <= 1e9;
  if (!ok) {
    free(w);
    return network_fail(c, "widths", "expected 1 to 1024 comma-separated positive integers");
  }
  p->net.nhidden = L;
  p->net.hwidth = BF_ALLOC(L, int);
  p->net.hact = BF_ALLOC(L, int);
  for (int l = 0; l < L; l++) p->net.hwidth[l] = lists ? (int)w[l] : p->net.width;
  free(w);
  int na = 0;
  char buf[BF_PATH_MAX], why[256];
  snprintf(buf, sizeof buf, "%s", alist ? p->net.activations : "");
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char name[64];
    bf_trim_copy(tok, tok + strlen(tok), name, sizeof name);
    int a = activation_index(name);
    snprintf(why, sizeof why, "'%s' is not an activation (one of %s)", name,
             BF_ACTIVATION_CHOICES);
    if (a < 0) return network_fail(c, "activations", why);
    if (na < L) p->net.hact[na] = a;
    na++;
  }
  if (alist && na != 1 && na != L) {
    snprintf(why, sizeof why, "%d activations for %d hidden layers: give one per layer, "
             "or one for all", na, L);
    return network_fail(c, "activations", why);
  }
  for (int l = 0; l < L; l++)
    p->net.hact[l] = !alist ? p->net.activation : na == 1 ? p->net.hact[0] : p->net.hact[l];
  return 1;
}
