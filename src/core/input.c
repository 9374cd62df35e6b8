/* input.c — the key table, INI parsing (inih), validation and broadcast.
 *
 *   bf_input_read            collective: read on rank 0, validate, broadcast
 *   bf_input_destroy         free an input
 *   bf_input_parse           parse text + --set overrides into parameters
 *   bf_input_effective_text  every key with its value, as an INI text
 *   bf_input_print_keys      the key table as Markdown
 *
 * Every key lives in one table with its type, default, unit, range and
 * meaning; parsing, validation, the effective text and docs/inputs.md all
 * read that table, so a new key is one row. */
#include "brgflow/input.h"
#include "brgflow/core.h"
#include "brgflow/train.h" /* bf_expr: target formulas */

#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* inih reads lines into a buffer of INI_MAX_LINE bytes and splits longer
 * ones; a split line would reach us as two values, so longer lines are
 * refused before parsing.  198 leaves room for the newline and the NUL. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)
#define LINE_MAX_TEXT "198"
_Static_assert(INI_MAX_LINE == 200, "LINE_MAX_TEXT assumes inih's default INI_MAX_LINE");

typedef enum { T_U64, T_INT, T_REAL, T_STR, T_ENUM } key_type;

typedef struct key_def {
  const char *section, *key;
  key_type type;
  size_t offset;
  const char *deflt;
  const char *unit;
  double lo, hi; /* inclusive range for numbers */
  int lo_open;   /* 1: value must be > lo */
  const char *choices; /* "a|b|c" for T_ENUM */
  const char *doc;
  int changes; /* RESULTS, or NO_RESULT: a restart may change the key */
} key_def;

/* NO_RESULT keys: output names the file, the checkpoint intervals and
 * save_theta change only what is written, the rank groups and block size
 * only the distribution (theory.md (f)). */
enum { NO_RESULT = 0, RESULTS = 1 };

#define OFF(f) offsetof(bf_params, f)
static const key_def KEYS[] = {
  {"run", "seed", T_U64, OFF(seed), "1", "-", 0, 0, 0, NULL,
   "seed of every counter-based random stream (uint64)", RESULTS},
  {"run", "output", T_STR, OFF(output), "brgflow.h5", "path", 0, 0, 0, NULL,
   "result file (HDF5); refused if it exists, unless --force", NO_RESULT},
  {"run", "save_theta", T_ENUM, OFF(save_theta), "yes", "-", 0, 0, 0, "no|yes",
   "write every member's parameters to /ensemble/theta (E x P doubles)", NO_RESULT},
  {"run", "checkpoint_every", T_INT, OFF(checkpoint_every), "100", "-", 0, 1e9, 0,
   NULL, "GD steps (sgd: epochs) between checkpoints (0: none during training); a checkpoint "
   "also follows the metric in flow runs", NO_RESULT},
  {"run", "checkpoint_flow_every", T_INT, OFF(checkpoint_flow_every), "1", "-", 0, 1e9, 0,
   NULL, "coarse-graining steps between checkpoints in the flow (0: none during the "
   "flow); a stop request is honoured at the next checkpoint", NO_RESULT},
  {"network", "arch", T_ENUM, OFF(arch), "cosnet", "-", 0, 0, 0, "cosnet|mlp",
   "architecture: generalized cos-net (docs/physics.md 1a) or deep MLP (1b)", RESULTS},
  {"network", "d", T_INT, OFF(d), "1", "-", 1, 1e6, 0, NULL,
   "input dimension d (the cos-net: 1..3)", RESULTS},
  {"network", "width", T_INT, OFF(width), "256", "-", 1, 1e9, 0, NULL,
   "width N: number of hidden units (per hidden layer for the MLP)", RESULTS},
  {"network", "depth", T_INT, OFF(depth), "1", "-", 1, 1024, 0, NULL,
   "MLP: number of hidden layers L, all of width `width` (the uniform case of "
   "`widths`)", RESULTS},
  {"network", "activation", T_ENUM, OFF(activation), "relu", "-", 0, 0, 0,
   BF_ACTIVATION_CHOICES, "MLP: activation phi of every hidden layer (the "
   "uniform case of `activations`)", RESULTS},
  {"network", "widths", T_STR, OFF(widths), "none", "-", 0, 0, 0, NULL,
   "MLP: hidden widths N_1, ..., N_L, comma-separated (any number of layers; "
   "replaces depth and width); none: depth x width", RESULTS},
  {"network", "activations", T_STR, OFF(activations), "none", "-", 0, 0, 0, NULL,
   "MLP: one activation per hidden layer, comma-separated, or one for all "
   "(replaces activation); none: activation", RESULTS},
  {"network", "bias", T_ENUM, OFF(nobias), "yes", "-", 0, 0, 0, "yes|no",
   "MLP: no removes every b^l from theta and from every formula", RESULTS},
  {"network", "parameterization", T_ENUM, OFF(parameterization), "ntk", "-", 0,
   0, 0, "ntk|standard|unscaled",
   "MLP: ntk (scales sw/sqrt(fan_in), sb in the forward pass), standard (W ~ "
   "N(0, sw^2/fan_in), b ~ N(0, sb^2)) or unscaled (W ~ N(0, sw^2), b ~ N(0, "
   "sb^2), no fan-in factor anywhere: PyTorch's nn.init.normal_)", RESULTS},
  {"network", "sigma_w", T_REAL, OFF(sigma_w), "1.0", "-", 0, 1e300, 1, NULL,
   "MLP: weight scale sigma_w", RESULTS},
  {"network", "sigma_b", T_REAL, OFF(sigma_b), "0.1", "-", 0, 1e300, 0, NULL,
   "MLP: bias scale sigma_b (>= 0)", RESULTS},
  {"cosnet", "mass", T_REAL, OFF(mass), "1.0", "1/length", 0, 1e300, 1, NULL,
   "mass m of the free scalar (m > 0)", RESULTS},
  {"cosnet", "cutoff", T_REAL, OFF(cutoff), "2.0", "1/length", 0, 1e300, 1,
   NULL, "UV momentum cutoff R (|b| < R); below pi/spacing for lattice momenta", RESULTS},
  {"cosnet", "sigma_a", T_REAL, OFF(sigma_a), "1.0", "-", 0, 1e300, 1, NULL,
   "prior scale of the readout: a_i ~ N(0, sigma_a^2/N)", RESULTS},
  {"cosnet", "momenta", T_ENUM, OFF(momenta), "lattice", "-", 0, 0, 0,
   "lattice|continuum",
   "momentum set B_R: lattice momenta 2 pi k/(L s), or the continuum ball", RESULTS},
  {"lattice", "sites", T_INT, OFF(sites), "32", "-", 2, 1 << 20, 0, NULL,
   "sites per dimension L (periodic for lattice momenta)", RESULTS},
  {"lattice", "spacing", T_REAL, OFF(spacing), "1.0", "length", 0, 1e300, 1,
   NULL, "lattice spacing s", RESULTS},
  {"ensemble", "members", T_INT, OFF(members), "128", "-", 2, 1e9, 0, NULL,
   "ensemble size E (at least 2, for a standard error)", RESULTS},
  {"correlator", "points", T_ENUM, OFF(points), "grid", "-", 0, 0, 0,
   "grid|list", "MLP: the measure stage's points (prior; trained and every flow step): a "
   "grid along a direction, or a list", RESULTS},
  {"correlator", "count", T_INT, OFF(count), "8", "-", 2, BF_MAX_POINTS, 0,
   NULL, "grid: number of points", RESULTS},
  {"correlator", "from", T_REAL, OFF(from), "-1.0", "length", -1e300, 1e300, 0,
   NULL, "grid: first point is from * direction", RESULTS},
  {"correlator", "to", T_REAL, OFF(to), "1.0", "length", -1e300, 1e300, 0,
   NULL, "grid: last point is to * direction", RESULTS},
  {"correlator", "direction", T_STR, OFF(direction), "1", "-", 0, 0, 0, NULL,
   "grid: direction, d comma-separated numbers (normalized; missing trailing "
   "components are 0)", RESULTS},
  {"correlator", "list", T_STR, OFF(list), "none", "length", 0, 0, 0, NULL,
   "list: points separated by ';', each d comma-separated numbers", RESULTS},
  {"correlator", "quadruples", T_STR, OFF(quadruples), "auto", "-", 0, 0, 0,
   NULL,
   "G4c point quadruples 'i,j,k,l;...' (indices into the points); auto: "
   "(0,0,0,0), (0,0,n-1,n-1), (0,1,n-2,n-1)", RESULTS},
  {"correlator", "blocks", T_INT, OFF(blocks), "32", "-", 2, 1024, 0, NULL,
   "jackknife blocks (by member index) for the G4c errors", RESULTS},
  {"kernel", "quadrature", T_ENUM, OFF(quadrature), "auto", "-", 0, 0, 0,
   "auto|hermite",
   "infinite-width kernels: auto (closed form where known, else Gauss-Hermite) "
   "or hermite (always quadrature)", RESULTS},
  {"kernel", "order", T_INT, OFF(order), "96", "-", 4, 2048, 0, NULL,
   "minimum quadrature order per dimension; raised to 64 + 110 var (var: the "
   "variance along that dimension), at most 2048", RESULTS},
  {"data", "target", T_ENUM, OFF(target), "sin", "-", 0, 0, 0,
   "sin|poly|gp|file|expression",
   "training target: sin(pi u), u^3 - u (u = sum x_j/sqrt d), a draw of the "
   "MLP's own NNGP (gp), datasets /x, /y of an HDF5 file, or a formula "
   "(expression)", RESULTS},
  {"data", "expression", T_STR, OFF(expression), "none", "output", 0, 0, 0, NULL,
   "target = expression: f(x) as a muparser formula in x1 ... xd, e.g. "
   "(1 - x1)^2 - 0.5*(x2 - x1^2)", RESULTS},
  {"data", "file", T_STR, OFF(data_file), "none", "path", 0, 0, 0, NULL,
   "target = file: HDF5 file with /x (n x d) and /y (n): first n_train rows "
   "train, next n_test test", RESULTS},
  {"data", "n_train", T_INT, OFF(n_train), "32", "-", 1, 1e7, 0, NULL,
   "number of training points n (points = lattice: L^d, and the key is refused)", RESULTS},
  {"data", "n_test", T_INT, OFF(n_test), "16", "-", 1, 1e6, 0, NULL,
   "number of test points (uniform in the domain, noise-free targets)", RESULTS},
  {"data", "noise", T_REAL, OFF(noise), "0.1", "output", 0, 1e300, 0, NULL,
   "standard deviation sigma of the Gaussian noise on training targets", RESULTS},
  {"data", "domain", T_REAL, OFF(domain), "1.0", "length", 0, 1e300, 1, NULL,
   "points lie in [-domain, domain]^d (grid, random)", RESULTS},
  {"data", "points", T_ENUM, OFF(data_points), "random", "-", 0, 0, 0,
   "grid|random|lattice|gaussian",
   "training inputs: a grid (n_train = m^d), uniform random, the L^d "
   "lattice sites n s, or Gaussian x ~ N(mean, covariance) (test inputs too)", RESULTS},
  {"data", "mean", T_STR, OFF(data_mean), "0", "length", 0, 0, 0, NULL,
   "gaussian: mean of the inputs, d comma-separated numbers (one: every "
   "component)", RESULTS},
  {"data", "covariance", T_STR, OFF(data_cov), "1", "length^2", 0, 0, 0, NULL,
   "gaussian: covariance of the inputs, d x d numbers row-major (symmetric "
   "positive definite), or one number c for c I", RESULTS},
  {"train", "method", T_ENUM, OFF(method), "none", "-", 0, 0, 0,
   "none|gd|posterior|sgd",
   "none (prior ensemble), full-batch gradient descent on the MSE, exact "
   "Gaussian posterior samples (models linear in the trained parameters), or "
   "minibatch stochastic gradient descent", RESULTS},
  {"train", "on_divergence", T_ENUM, OFF(on_divergence), "stop", "-", 0, 0, 0, "stop|drop",
   "gd, sgd: a member whose parameters stop being finite stops the run with an error "
   "(stop), or is dropped (drop): reset to its prior draw, trained no further, marked in "
   "/train/diverged and left out of every flow statistic", RESULTS},
  {"train", "trainable", T_ENUM, OFF(trainable), "all", "-", 0, 0, 0,
   "all|readout", "MLP: train every parameter, or the last layer only "
   "(the cos-net trains its readout a)", RESULTS},
  {"train", "lr", T_REAL, OFF(lr), "0.5", "-", 0, 1e300, 1, NULL,
   "gd, sgd: learning rate eta on the loss of [train] loss", RESULTS},
  {"train", "loss", T_ENUM, OFF(loss), "half_mse", "-", 0, 0, 0, "half_mse|mse",
   "gd, sgd: the loss over a batch of B points (B = n for gd): half_mse L = "
   "(1/2B) sum (f - y)^2, or mse L = (1/B) sum (f - y)^2 (PyTorch's MSELoss: "
   "twice the step at the same lr)", RESULTS},
  {"train", "steps", T_INT, OFF(steps), "200", "-", 0, 1e9, 0, NULL,
   "gd: number of full-batch steps t", RESULTS},
  {"train", "batch", T_INT, OFF(batch), "1", "-", 1, 1e7, 0, NULL,
   "sgd: training points per step B (at most n; the last batch of an epoch "
   "takes the n mod B left over)", RESULTS},
  {"train", "epochs", T_INT, OFF(epochs), "1", "-", 0, 1e9, 0, NULL,
   "sgd: passes over the training set", RESULTS},
  {"train", "order", T_ENUM, OFF(sgd_order), "fixed", "-", 0, 0, 0, "fixed|shuffled",
   "sgd: the training points in their order every epoch, or a fresh "
   "permutation per epoch and member (counter stream of seed, member, epoch)", RESULTS},
  {"train", "record_every", T_INT, OFF(record_every), "0", "-", 0, 1e9, 0, NULL,
   "gd, sgd: record loss (and the Fisher spectrum) every this many steps "
   "(sgd: epochs); 0: first and last only", RESULTS},
  {"fisher", "solver", T_ENUM, OFF(solver), "none", "-", 0, 0, 0,
   "none|auto|primal|dual",
   "Fisher metric: skip, choose the smaller problem, P x P by PDSYRK, or the "
   "n x n Gram (empirical NTK)", RESULTS},
  {"fisher", "basis", T_ENUM, OFF(basis), "eigen", "-", 0, 0, 0,
   "eigen|diagonal",
   "eigen: the full spectrum (ScaLAPACK); diagonal: I_AA per parameter", RESULTS},
  {"fisher", "sigma", T_REAL, OFF(fisher_sigma), "0", "output", 0, 1e300, 0,
   NULL, "likelihood sigma of I = J^T J / sigma^2; 0: the data noise", RESULTS},
  {"fisher", "scale", T_REAL, OFF(scale), "0", "1/parameter^2", 0, 1e300, 0,
   NULL, "cos-net: information scale Lambda of /train/resolved_momentum; 0: "
   "the scale at which the full data resolves p = R/2", RESULTS},
  {"fisher", "points", T_ENUM, OFF(fisher_points), "train", "-", 0, 0, 0,
   "train|separate",
   "points of the metric: the training inputs, or n_points fresh draws from "
   "the training input distribution (random or gaussian; /fisher/x)", RESULTS},
  {"fisher", "n_points", T_INT, OFF(fisher_n), "10", "-", 1, 1e7, 0, NULL,
   "separate: number of Fisher points n_F", RESULTS},
  {"fisher", "normalization", T_ENUM, OFF(normalization), "sum", "-", 0, 0, 0,
   "sum|mean",
   "sum: I = J^T J / sigma^2 over the points; mean: I = J^T J / (sigma^2 n_F) "
   "(NNGeometry's regression Fisher with sigma = 1)", RESULTS},
  {"fisher", "groups", T_INT, OFF(groups), "1", "-", 1, 1e6, 0, NULL,
   "rank groups: each owns a BLACS grid and a share of the members", NO_RESULT},
  {"fisher", "block", T_INT, OFF(block), "32", "-", 1, 4096, 0, NULL,
   "ScaLAPACK block size (block-cyclic distribution)", NO_RESULT},
  {"brg", "flow", T_ENUM, OFF(brg), "no", "-", 0, 0, 0, "no|yes",
   "run the information-shell coarse-graining flow (docs/physics.md 3)", RESULTS},
  {"brg", "lambda_min", T_REAL, OFF(lambda_min), "1e-6", "1/parameter^2", 0,
   1e300, 1, NULL, "smallest cutoff Lambda_1 (relative: fraction of lambda_max)", RESULTS},
  {"brg", "lambda_max", T_REAL, OFF(lambda_max), "1", "1/parameter^2", 0, 1e300,
   1, NULL, "largest cutoff Lambda_K (relative: fraction of lambda_max)", RESULTS},
  {"brg", "count", T_INT, OFF(cutoffs), "16", "-", 1, 100000, 0, NULL,
   "number K of log-spaced cutoffs", RESULTS},
  {"brg", "relative", T_ENUM, OFF(relative), "no", "-", 0, 0, 0, "no|yes",
   "cutoffs in units of each member's largest Fisher eigenvalue (eigen basis) "
   "or largest I_AA (diagonal basis)", RESULTS},
  {"brg", "basis", T_ENUM, OFF(brg_basis), "eigen", "-", 0, 0, 0,
   "eigen|diagonal|both",
   "eigen: Fisher eigenvectors with 0 < lambda < Lambda; diagonal: "
   "coordinates with I_AA < Lambda", RESULTS},
  {"brg", "prescription", T_ENUM, OFF(prescription), "both", "-", 0, 0, 0,
   "resample|prune|both",
   "resample: fresh prior draw in the sloppy subspace; prune: set it to 0", RESULTS},
  {"brg", "critical_tol", T_REAL, OFF(critical_tol), "0.1", "-", 0, 1e300, 1,
   NULL, "delta: Lambda_C is the first cutoff with MSE > (1 + delta) MSE_0", RESULTS},
  {"brg", "bootstrap", T_INT, OFF(bootstrap), "200", "-", 0, 1000000, 0, NULL,
   "bootstrap resamples over members for the interval of Lambda_C", RESULTS},
  {"brg", "cutoffs", T_STR, OFF(brg_cutoffs), "none", "1/parameter^2", 0, 0, 0, NULL,
   "explicit cutoffs Lambda_1 < ... < Lambda_K, comma-separated on one line (relative: "
   "fractions of lambda_max); replaces lambda_min, lambda_max and count; none: the "
   "log grid", RESULTS},
  {"brg", "keep_mse_below", T_REAL, OFF(keep_mse_below), "0", "output^2", 0, 1e300, 0,
   NULL, "drop members whose uncoarsened test MSE is >= this from the ensemble "
   "statistics (still coarse-grained, their test_mse still stored); 0: keep all", RESULTS},
  {"brg", "probe", T_STR, OFF(probe), "none", "-", 0, 0, 0, NULL,
   "test-point indices (0 .. n_test-1), comma-separated: every member's prediction "
   "there is stored at every cutoff (/brg/.../probe_pred); none: no probe", RESULTS},
};
#undef OFF
enum { NKEYS = sizeof KEYS / sizeof KEYS[0] };

/* Where a key's value came from: > 0 file line, 0 default, -1 --set. */
enum { FROM_DEFAULT = 0, FROM_SET = -1 };

typedef struct parse_ctx {
  const char *path, *text;
  bf_params *p;
  int line[NKEYS];
  int seen[NKEYS];
  const char *set_arg[NKEYS]; /* the --set argument that gave the key */
  char *err;
  size_t errlen;
  int failed;
  int output_check; /* BF_OUTPUT_* */
} parse_ctx;

static int find_key(const char *section, const char *key)
{
  for (int k = 0; k < NKEYS; k++)
    if (!strcmp(KEYS[k].section, section) && !strcmp(KEYS[k].key, key)) return k;
  return -1;
}

static int known_section(const char *section)
{
  for (int k = 0; k < NKEYS; k++)
    if (!strcmp(KEYS[k].section, section)) return 1;
  return 0;
}

/* Copy [b,e) into out, trimmed of blanks. */
static void trim_copy(const char *b, const char *e, char *out, size_t n)
{
  while (b < e && (*b == ' ' || *b == '\t' || *b == '\r')) b++;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
  size_t len = (size_t)(e - b) < n - 1 ? (size_t)(e - b) : n - 1;
  memcpy(out, b, len);
  out[len] = '\0';
}

/* Line of the nth occurrence of `key` in [section] (or of the section
 * header if key is NULL).  inih does not pass line numbers to handlers, so
 * errors found by the handler are located here.  0 if not found. */
static int find_line(const char *text, const char *section, const char *key,
                     int nth)
{
  char cur[128] = "", name[128];
  int line = 0;
  if (!strncmp(text, "\xEF\xBB\xBF", 3)) text += 3; /* inih skips a UTF-8 BOM */
  for (const char *s = text; *s;) {
    const char *e = strchr(s, '\n');
    if (!e) e = s + strlen(s);
    line++;
    const char *b = s;
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    if (b < e && *b == '[') {
      /* inih keeps blanks inside the brackets ("[ run ]" is section " run ") */
      const char *c = memchr(b, ']', (size_t)(e - b));
      size_t len = (size_t)((c ? c : e) - (b + 1));
      snprintf(cur, sizeof cur, "%.*s", (int)len, b + 1);
      if (!key && !strcmp(cur, section)) return line;
    } else if (key && b < e && *b != ';' && *b != '#') {
      const char *eq = b;
      while (eq < e && *eq != '=' && *eq != ':') eq++;
      trim_copy(b, eq, name, sizeof name);
      if (!strcmp(cur, section) && !strcmp(name, key) && --nth == 0) return line;
    }
    s = *e ? e + 1 : e;
  }
  return 0;
}

/* "file:line: [section] key" (or the --set argument, or "default"). */
static void locate(const parse_ctx *c, int k, char *buf, size_t n)
{
  if (c->line[k] > 0)
    snprintf(buf, n, "%s:%d: [%s] %s", c->path, c->line[k], KEYS[k].section,
             KEYS[k].key);
  else if (c->line[k] == FROM_SET)
    snprintf(buf, n, "--set %s: [%s] %s", c->set_arg[k], KEYS[k].section,
             KEYS[k].key);
  else
    snprintf(buf, n, "%s: [%s] %s (not given: the default)", c->path, KEYS[k].section,
             KEYS[k].key);
}

static int fail(parse_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(parse_ctx *c, const char *fmt, ...)
{
  if (c->failed) return 0; /* keep the first message only */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  c->failed = 1;
  return 0;
}

static int key_fail(parse_ctx *c, int k, const char *value, const char *why)
{
  char where[BF_PATH_MAX + 128];
  locate(c, k, where, sizeof where);
  return fail(c, "%s = '%s': %s", where, value, why);
}

static void format_value(const bf_params *p, int k, char *buf, size_t n);

/* key_fail with the value of [section] key as the effective text prints it. */
static int value_fail(parse_ctx *c, const char *section, const char *key, const char *why)
{
  int k = find_key(section, key);
  char v[BF_PATH_MAX + 32];
  format_value(c->p, k, v, sizeof v);
  return key_fail(c, k, v, why);
}

/* A refusal about two keys names the one given (file line or --set): a
 * default has no line to point to.  The first when both are given. */
static int pair_fail(parse_ctx *c, const char *s1, const char *k1, const char *s2,
                     const char *k2, const char *why)
{
  int a = find_key(s1, k1), b = find_key(s2, k2);
  int k = c->line[a] == FROM_DEFAULT && c->line[b] != FROM_DEFAULT ? b : a;
  return value_fail(c, KEYS[k].section, KEYS[k].key, why);
}

static int parse_number(parse_ctx *c, int k, const char *v, double *out)
{
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end == v || *end || errno == ERANGE || !isfinite(x))
    return key_fail(c, k, v, "not a number");
  if (KEYS[k].type != T_REAL && x != floor(x))
    return key_fail(c, k, v, "not an integer");
  const key_def *d = &KEYS[k];
  if ((d->lo_open ? x <= d->lo : x < d->lo) || x > d->hi) {
    char why[160];
    if (d->hi < 1e299)
      snprintf(why, sizeof why, "out of range: must be %s %g and <= %g",
               d->lo_open ? ">" : ">=", d->lo, d->hi);
    else
      snprintf(why, sizeof why, "out of range: must be %s %g",
               d->lo_open ? ">" : ">=", d->lo);
    return key_fail(c, k, v, why);
  }
  *out = x;
  return 1;
}

/* Store value v of key k into the parameters. */
static int set_value(parse_ctx *c, int k, const char *v)
{
  const key_def *d = &KEYS[k];
  char *field = (char *)c->p + d->offset;
  double x;
  switch (d->type) {
  case T_U64: {
    char *end;
    errno = 0;
    unsigned long long u = strtoull(v, &end, 10); /* decimal: 010 is ten */
    if (end == v || *end || errno == ERANGE || strchr(v, '-'))
      return key_fail(c, k, v, "not an unsigned 64-bit integer");
    *(uint64_t *)field = (uint64_t)u;
    return 1;
  }
  case T_INT:
    if (!parse_number(c, k, v, &x)) return 0;
    *(int *)field = (int)x;
    return 1;
  case T_REAL:
    if (!parse_number(c, k, v, &x)) return 0;
    *(double *)field = x;
    return 1;
  case T_STR:
    if (!*v) return key_fail(c, k, v, "empty");
    if (strlen(v) >= BF_PATH_MAX) return key_fail(c, k, v, "too long");
    /* the effective text holds `key = value` on one line, and every rank
     * re-reads it with inih: it must fit inih's line */
    if (strlen(d->key) + 3 + strlen(v) > LINE_MAX_CHARS)
      return key_fail(c, k, v, "too long for one input line (inih reads at most "
                      LINE_MAX_TEXT " characters per line)");
    strcpy(field, v);
    return 1;
  case T_ENUM: {
    int idx = 0;
    for (const char *s = d->choices; *s; idx++) {
      const char *e = strchr(s, '|');
      size_t len = e ? (size_t)(e - s) : strlen(s);
      if (strlen(v) == len && !strncmp(s, v, len)) {
        *(int *)field = idx;
        return 1;
      }
      s += len + (e ? 1 : 0);
    }
    char why[256];
    snprintf(why, sizeof why, "must be one of %s", d->choices);
    return key_fail(c, k, v, why);
  }
  }
  return 0;
}

static int on_key(void *user, const char *section, const char *name,
                       const char *value)
{
  parse_ctx *c = user;
  int k = find_key(section, name);
  if (!*section)
    return fail(c, "%s:%d: key '%s' outside any [section]", c->path,
                find_line(c->text, section, name, 1), name);
  if (k < 0) {
    if (!known_section(section))
      return fail(c, "%s:%d: unknown section [%s]", c->path,
                  find_line(c->text, section, NULL, 1), section);
    return fail(c, "%s:%d: [%s] %s: unknown key", c->path,
                find_line(c->text, section, name, 1), section, name);
  }
  c->seen[k]++;
  int line = find_line(c->text, section, name, c->seen[k]);
  if (c->seen[k] > 1 && line == 0) /* inih joined an indented line to it */
    return fail(c, "%s:%d: [%s] %s: an indented line follows it (remove the "
                "indentation)", c->path, c->line[k], section, name);
  if (c->seen[k] > 1)
    return fail(c, "%s:%d: [%s] %s: given twice (first on line %d)", c->path,
                line, section, name, c->line[k]);
  c->line[k] = line;
  return set_value(c, k, value);
}

/* Refuse a line inih would split (see LINE_MAX_CHARS). */
static int check_line_lengths(parse_ctx *c)
{
  int line = 0;
  for (const char *s = c->text; *s;) {
    const char *e = strchr(s, '\n');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    line++;
    if (len > LINE_MAX_CHARS)
      return fail(c, "%s:%d: line of %zu characters: inih reads at most " LINE_MAX_TEXT
                  " per line (write long lists more compactly, e.g. 1e3 for 1000)",
                  c->path, line, len);
    s += len + (e ? 1 : 0);
  }
  return 1;
}

static int apply_set(parse_ctx *c, const char *arg)
{
  const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
  if (!dot || !eq || dot > eq)
    return fail(c, "--set %s: expected section.key=value", arg);
  char section[64], key[64];
  trim_copy(arg, dot, section, sizeof section);
  trim_copy(dot + 1, eq, key, sizeof key);
  int k = find_key(section, key);
  if (k < 0) return fail(c, "--set %s: unknown key [%s] %s", arg, section, key);
  c->line[k] = FROM_SET;
  c->set_arg[k] = arg;
  return set_value(c, k, eq + 1);
}

/* The output must not exist (unless --force) and its folder must be
 * writable: refuse before any work, so a finished result is never lost. */
static int check_output(parse_ctx *c)
{
  const char *out = c->p->run.output;
  int k = find_key("run", "output");
  char dir[BF_PATH_MAX], why[BF_PATH_MAX + 128];
  snprintf(dir, sizeof dir, "%s", out);
  const char *folder = dirname(dir);
  if ((c->output_check == BF_OUTPUT_REFUSE || c->output_check == BF_OUTPUT_RESTART) &&
      access(out, F_OK) == 0)
    return key_fail(c, k, out,
                    "file exists (use --force to replace it, or choose "
                    "another output)");
  char ckpt[BF_PATH_MAX + 16];
  snprintf(ckpt, sizeof ckpt, "%s.ckpt.h5", out);
  if (c->output_check == BF_OUTPUT_REFUSE && access(ckpt, F_OK) == 0)
    return key_fail(c, k, out,
                    "an earlier run's checkpoint exists beside it: continue it with "
                    "--restart, or start over with --force");
  if (access(folder, W_OK) != 0) {
    snprintf(why, sizeof why, "folder '%s' is not writable: %s", folder,
             strerror(errno));
    return key_fail(c, k, out, why);
  }
  return 1;
}

/* Up to max numbers separated by commas; returns the count, -1 if a token
 * is not a number. */
static int parse_list(const char *s, double *out, int max)
{
  int n = 0;
  char buf[BF_PATH_MAX];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save, *tok = strtok_r(buf, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    char *end;
    double x = strtod(tok, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == tok || *end || !isfinite(x) || n == max) return -1;
    out[n++] = x;
  }
  return n;
}

static int string_fail(parse_ctx *c, const char *key, const char *why)
{
  return value_fail(c, "correlator", key, why);
}

/* [correlator]: the points x (grid along a direction, or a list). */
static int derive_points(parse_ctx *c)
{
  bf_params *p = c->p;
  char why[160];
  if (p->corr.points == BF_POINTS_GRID) {
    double *u = BF_CALLOC(p->net.d, double), norm = 0;
    int n = parse_list(p->corr.direction, u, p->net.d);
    snprintf(why, sizeof why, "expected 1 to d = %d comma-separated numbers", p->net.d);
    for (int j = 0; j < p->net.d; j++) norm += u[j] * u[j];
    if (n < 1 || norm == 0) {
      free(u);
      return string_fail(c, "direction", n < 1 ? why : "must not be zero");
    }
    p->corr.npoints = p->corr.count;
    p->corr.x = BF_ALLOC((int64_t)p->corr.count * p->net.d, double);
    for (int k = 0; k < p->corr.count; k++) {
      double t = p->corr.from + k * (p->corr.to - p->corr.from) / (p->corr.count - 1);
      for (int j = 0; j < p->net.d; j++) p->corr.x[(int64_t)k * p->net.d + j] = t * u[j] / sqrt(norm);
    }
    free(u);
    return 1;
  }
  if (!strcmp(p->corr.list, "none"))
    return pair_fail(c, "correlator", "list", "correlator", "points",
                     "points = list needs [correlator] list = x;y;... (at least 2 points)");
  char buf[BF_PATH_MAX];
  snprintf(buf, sizeof buf, "%s", p->corr.list);
  p->corr.npoints = 0;
  p->corr.x = BF_ALLOC((int64_t)BF_MAX_POINTS * p->net.d, double);
  snprintf(why, sizeof why, "each point needs d = %d comma-separated numbers", p->net.d);
  for (char *save, *pt = strtok_r(buf, ";", &save); pt;
       pt = strtok_r(NULL, ";", &save)) {
    if (p->corr.npoints == BF_MAX_POINTS)
      return string_fail(c, "list", "more than 256 points");
    double *x = p->corr.x + (int64_t)p->net.d * p->corr.npoints++;
    if (parse_list(pt, x, p->net.d) != p->net.d) return string_fail(c, "list", why);
  }
  if (p->corr.npoints < 2)
    return string_fail(c, "list", "points = list needs at least 2 points");
  return 1;
}

/* [correlator] quadruples: indices into the points. */
static int derive_quadruples(parse_ctx *c)
{
  bf_params *p = c->p;
  int n = p->corr.npoints;
  if (!strcmp(p->corr.quadruples, "auto")) {
    int def[3][4] = {{0, 0, 0, 0}, {0, 0, n - 1, n - 1}, {0, 1, n - 2, n - 1}};
    memcpy(p->corr.quad, def, sizeof def);
    p->corr.nquads = 3;
    return 1;
  }
  char buf[BF_PATH_MAX], why[160];
  snprintf(buf, sizeof buf, "%s", p->corr.quadruples);
  snprintf(why, sizeof why,
           "each quadruple needs 4 comma-separated point indices 0..%d", n - 1);
  p->corr.nquads = 0;
  for (char *save, *q = strtok_r(buf, ";", &save); q;
       q = strtok_r(NULL, ";", &save)) {
    double v[4];
    if (p->corr.nquads == BF_MAX_QUADS)
      return string_fail(c, "quadruples", "more than 64 quadruples");
    if (parse_list(q, v, 4) != 4) return string_fail(c, "quadruples", why);
    for (int j = 0; j < 4; j++) {
      if (v[j] != floor(v[j]) || v[j] < 0 || v[j] >= n)
        return string_fail(c, "quadruples", why);
      p->corr.quad[p->corr.nquads][j] = (int)v[j];
    }
    p->corr.nquads++;
  }
  return p->corr.nquads > 0 ? 1 : string_fail(c, "quadruples", why);
}

static int network_fail(parse_ctx *c, const char *key, const char *why)
{
  return value_fail(c, "network", key, why);
}

/* Key given (file or --set) with a value other than its default. */
static int changed(parse_ctx *c, const char *section, const char *key)
{
  int k = find_key(section, key);
  if (c->line[k] == FROM_DEFAULT) return 0;
  bf_params def;
  memset(&def, 0, sizeof def);
  parse_ctx dc = {.p = &def};
  set_value(&dc, k, KEYS[k].deflt);
  const char *a = (const char *)c->p + KEYS[k].offset, *b = (const char *)&def + KEYS[k].offset;
  if (KEYS[k].type == T_STR) return strcmp(a, b) != 0;
  return KEYS[k].type == T_REAL ? *(const double *)a != *(const double *)b
                                : *(const int *)a != *(const int *)b;
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

/* [network] widths and activations: the hidden layers of a layer stack.
 * A list replaces the uniform keys, so giving both is refused: one of
 * them would be silently ignored. */
static int derive_layers(parse_ctx *c)
{
  bf_params *p = c->p;
  int lists = strcmp(p->net.widths, "none") != 0, alist = strcmp(p->net.activations, "none") != 0;
  /* the effective text lists every key, so "given" means "set away from
   * its default" here */
  if (lists && changed(c, "network", "depth"))
    return network_fail(c, "widths", "given together with [network] depth: widths sets "
                        "the number of layers (remove depth)");
  if (lists && changed(c, "network", "width"))
    return network_fail(c, "widths", "given together with [network] width: widths sets "
                        "every hidden width (remove width)");
  if (alist && changed(c, "network", "activation"))
    return network_fail(c, "activations", "given together with [network] activation "
                        "(remove activation)");
  if (!lists && !alist) return 1;
  enum { MAXL = 1024 };
  double *w = BF_ALLOC(MAXL, double);
  int L = lists ? parse_list(p->net.widths, w, MAXL) : p->net.depth, ok = L >= 1;
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
    trim_copy(tok, tok + strlen(tok), name, sizeof name);
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
  for (int l = 0; l < L; l++) p->net.hact[l] = !alist ? p->net.activation : na == 1 ? p->net.hact[0] : p->net.hact[l];
  return 1;
}




/* [train]: the keys of one method are refused under another, where they
 * would be silently ignored. */
static int check_method(parse_ctx *c)
{
  const bf_params *p = c->p;
  int sgd = p->train.method == BF_TRAIN_SGD;
  if (p->train.on_divergence == 1 && p->train.record_every > 0 && p->fisher.solver != BF_SOLVER_NONE)
    return value_fail(c, "train", "on_divergence", "drop with [train] record_every > 0 and a "
                      "Fisher metric: a dropped member's spectra along training are undefined "
                      "(set record_every = 0, or on_divergence = stop)");
  int64_t n = p->data.points == BF_DATA_LATTICE ? (int64_t)llround(pow(p->lattice.sites, p->net.d))
                                                : p->data.n_train;
  if (sgd && p->train.batch > n) {
    char why[128];
    snprintf(why, sizeof why, "more than the %lld training points", (long long)n);
    return value_fail(c, "train", "batch", why);
  }
  return 1;
}

/* A key its stage would ignore is an error, not a silent no-op.  Each rule
 * names keys of one section that are used only when `used` holds; such a
 * key set away from its default (the effective text lists every key, so
 * "given" means "changed" here) while `used` is false is refused. */
typedef struct use_rule {
  const char *section, *keys; /* keys: blank-separated */
  int (*used)(const bf_params *p);
  const char *who; /* the key table's "used by" column */
  const char *why;
} use_rule;

static int is_mlp(const bf_params *p) { return p->net.arch == BF_ARCH_MLP; }
static int is_cosnet(const bf_params *p) { return p->net.arch == BF_ARCH_COSNET; }
static int training(const bf_params *p)
{
  return p->train.method != BF_TRAIN_NONE || p->fisher.solver != BF_SOLVER_NONE;
}
static int metric(const bf_params *p) { return p->fisher.solver != BF_SOLVER_NONE; }
static int descent(const bf_params *p)
{
  return p->train.method == BF_TRAIN_GD || p->train.method == BF_TRAIN_SGD;
}
static int is_gd(const bf_params *p) { return p->train.method == BF_TRAIN_GD; }
static int is_sgd(const bf_params *p) { return p->train.method == BF_TRAIN_SGD; }
static int flow(const bf_params *p) { return p->brg.on; }
static int gaussian(const bf_params *p) { return p->data.points == BF_DATA_GAUSSIAN; }
static int not_file(const bf_params *p) { return p->data.target != BF_TARGET_FILE; }
static int from_file(const bf_params *p) { return p->data.target == BF_TARGET_FILE; }
static int expression(const bf_params *p) { return p->data.target == BF_TARGET_EXPRESSION; }
static int not_lattice(const bf_params *p) { return p->data.points != BF_DATA_LATTICE; }
/* test points are uniform in the domain unless gaussian or from a file */
static int in_domain(const bf_params *p) { return not_file(p) && !gaussian(p); }
static int lattice_used(const bf_params *p)
{
  return is_cosnet(p) || (training(p) && !not_lattice(p) && not_file(p));
}
/* the targets' noise, the posterior's likelihood, the metric's default sigma */
static int noise_used(const bf_params *p)
{
  return not_file(p) || p->train.method == BF_TRAIN_POSTERIOR || (metric(p) && p->fisher.sigma == 0);
}
static int separate(const bf_params *p) { return metric(p) && p->fisher.points == BF_FISHER_SEPARATE; }
static int cosnet_metric(const bf_params *p) { return is_cosnet(p) && metric(p); }
static int mlp_training(const bf_params *p) { return is_mlp(p) && training(p); }
static int grid_points(const bf_params *p) { return is_mlp(p) && p->corr.points == BF_POINTS_GRID; }
static int list_points(const bf_params *p) { return is_mlp(p) && p->corr.points == BF_POINTS_LIST; }

static const use_rule USES[] = {
  {"network", "depth activation widths activations bias parameterization sigma_w sigma_b",
   is_mlp, "arch = mlp", "a layer-stack key: the cos-net (arch = cosnet) has no use for it"},
  {"cosnet", "mass cutoff sigma_a momenta", is_cosnet, "arch = cosnet", "used only by arch = cosnet"},
  {"lattice", "sites spacing", lattice_used, "arch = cosnet; training on points = lattice", "used only by arch = cosnet, or by a training "
   "run with [data] points = lattice"},
  {"correlator", "points quadruples blocks", is_mlp, "arch = mlp (prior, training, flow)",
   "used only by arch = mlp (the cos-net measures G2 on its lattice)"},
  {"correlator", "count from to direction", grid_points, "arch = mlp, points = grid", "used only with arch = mlp and "
   "[correlator] points = grid"},
  {"correlator", "list", list_points, "arch = mlp, points = list", "used only with arch = mlp and [correlator] points = list"},
  {"kernel", "quadrature order", is_mlp, "arch = mlp", "used only by arch = mlp (the cos-net's kernel is "
   "its propagator)"},
  {"data", "target expression file n_train n_test noise domain points mean covariance",
   training, "training runs", "used only by a training run: set [train] method or [fisher] solver"},
  {"data", "expression", expression, "target = expression", "used only with [data] target = expression"},
  {"data", "file", from_file, "target = file", "used only with [data] target = file"},
  {"data", "points", not_file, "target other than file", "target = file takes its inputs from the file"},
  {"data", "n_train", not_lattice, "points other than lattice", "points = lattice trains on all L^d sites"},
  {"data", "mean covariance", gaussian, "points = gaussian", "used only with [data] points = gaussian"},
  {"data", "domain", in_domain, "points grid or random", "used only with points drawn in [-domain, domain]^d (not "
   "points = gaussian, not target = file)"},
  {"data", "noise", noise_used, "generated targets, method = posterior, or a metric with sigma = 0", "target = file: the file's targets carry their own noise, "
   "and neither the posterior nor the metric (which has [fisher] sigma) uses it"},
  {"train", "trainable", mlp_training, "training runs of arch = mlp", "used only by a training run of arch = mlp (the "
   "cos-net trains its readout a)"},
  {"train", "lr loss record_every on_divergence", descent, "method = gd or sgd",
   "used only by [train] method = gd or sgd"},
  {"train", "steps", is_gd, "method = gd", "used only by [train] method = gd (sgd counts epochs: set "
   "[train] epochs instead)"},
  {"train", "batch epochs order", is_sgd, "method = sgd", "used only by [train] method = sgd"},
  {"run", "checkpoint_every", descent, "method = gd or sgd", "used only by [train] method = gd or sgd (checkpoints "
   "between training steps)"},
  {"run", "checkpoint_flow_every", flow, "the flow", "used only by the coarse-graining flow ([brg] flow "
   "= yes)"},
  {"fisher", "basis sigma points n_points normalization groups block scale", metric, "the metric (solver not none)",
   "the Fisher metric is off: set [fisher] solver, or remove the key"},
  {"fisher", "n_points", separate, "points = separate", "used only with [fisher] points = separate"},
  {"fisher", "scale", cosnet_metric, "arch = cosnet", "used only by arch = cosnet (the resolved momentum)"},
  {"brg", "lambda_min lambda_max count relative basis prescription critical_tol bootstrap "
   "cutoffs keep_mse_below probe", flow, "the flow",
   "only the coarse-graining flow uses it: set [brg] flow = yes, or remove it"},
};

/* The first key of USES given while its stage would ignore it. */
static int check_uses(parse_ctx *c)
{
  for (size_t r = 0; r < sizeof USES / sizeof USES[0]; r++) {
    if (USES[r].used(c->p)) continue;
    char keys[256];
    snprintf(keys, sizeof keys, "%s", USES[r].keys);
    for (char *save, *key = strtok_r(keys, " ", &save); key; key = strtok_r(NULL, " ", &save))
      if (changed(c, USES[r].section, key))
        return value_fail(c, USES[r].section, key, USES[r].why);
  }
  return 1;
}

/* In-place Cholesky A = L L^T of a d x d row-major matrix (lower triangle
 * kept, upper zeroed); 0 if A is not positive definite. */
static int cholesky(int d, double *A)
{
  for (int j = 0; j < d; j++) {
    double s = A[j * d + j];
    for (int k = 0; k < j; k++) s -= A[j * d + k] * A[j * d + k];
    if (!(s > 0)) return 0;
    A[j * d + j] = sqrt(s);
    for (int i = j + 1; i < d; i++) {
      double t = A[i * d + j];
      for (int k = 0; k < j; k++) t -= A[i * d + k] * A[j * d + k];
      A[i * d + j] = t / A[j * d + j];
      A[j * d + i] = 0;
    }
  }
  return 1;
}

/* points = gaussian: mu (d) and the Cholesky factor of the covariance. */
static int derive_gaussian(parse_ctx *c)
{
  bf_params *p = c->p;
  int d = p->net.d, dd = d * d;
  char why[160];
  p->data.mu = BF_ALLOC(d, double);
  p->data.chol = BF_CALLOC(dd, double);
  int n = parse_list(p->data.mean, p->data.mu, d);
  snprintf(why, sizeof why, "expected d = %d comma-separated numbers (or one for every "
           "component)", d);
  if (n != 1 && n != d) return value_fail(c, "data", "mean", why);
  for (int j = 1; n == 1 && j < d; j++) p->data.mu[j] = p->data.mu[0];
  n = parse_list(p->data.covariance, p->data.chol, dd);
  snprintf(why, sizeof why, "expected d x d = %d numbers row-major, or one number c "
           "(covariance c I)", dd);
  if (n != 1 && n != dd) return value_fail(c, "data", "covariance", why);
  if (n == 1)
    for (int j = 1; j < d; j++) p->data.chol[j * d + j] = p->data.chol[0];
  for (int i = 0; i < d; i++)
    for (int j = 0; j < i; j++)
      if (p->data.chol[i * d + j] != p->data.chol[j * d + i]) {
        snprintf(why, sizeof why, "not symmetric: entry (%d,%d) = %g but (%d,%d) = %g",
                 i + 1, j + 1, p->data.chol[i * d + j], j + 1, i + 1, p->data.chol[j * d + i]);
        return value_fail(c, "data", "covariance", why);
      }
  if (!cholesky(d, p->data.chol))
    return value_fail(c, "data", "covariance", "not positive definite (Cholesky fails)");
  return 1;
}

/* target = expression: the formula must parse and evaluate in x1 ... xd
 * (at the mean for gaussian inputs, else at the origin). */
static int check_expression(parse_ctx *c)
{
  bf_params *p = c->p;
  if (!strcmp(p->data.expression, "none"))
    return pair_fail(c, "data", "expression", "data", "target", "target = expression needs "
                     "[data] expression = FORMULA in x1 ... xd");
  double *x0 = BF_CALLOC(p->net.d, double);
  if (p->data.mu) memcpy(x0, p->data.mu, sizeof(double) * p->net.d);
  char msg[512], why[600];
  bf_expr *e = bf_expr_create(p->data.expression, p->net.d, x0, msg, sizeof msg);
  free(x0);
  if (e) {
    bf_expr_destroy(&e);
    return 1;
  }
  snprintf(why, sizeof why, "muparser: %s (variables are x1 ... x%d)", msg, p->net.d);
  return value_fail(c, "data", "expression", why);
}

/* [data] points and target, [fisher] points and normalization. */
static int check_data(parse_ctx *c)
{
  bf_params *p = c->p;
  int gauss = p->data.points == BF_DATA_GAUSSIAN, metric = p->fisher.solver != BF_SOLVER_NONE;
  int separate = metric && p->fisher.points == BF_FISHER_SEPARATE;
  if (gauss && !derive_gaussian(c)) return 0;
  if (p->data.target == BF_TARGET_EXPRESSION && !check_expression(c)) return 0;
  if (p->data.target == BF_TARGET_FILE && (separate || gauss))
    return value_fail(c, separate ? "fisher" : "data", "points",
                      "target = file takes its inputs from the file: there is no input "
                      "distribution to draw from (use [fisher] points = train)");
  if (separate && p->data.points != BF_DATA_RANDOM && !gauss)
    return value_fail(c, "fisher", "points", "separate points are drawn from the training "
                     "input distribution: needs [data] points = random or gaussian");
  /* the posterior's infinite-width flow curves map Fisher eigenvalues to
   * kernel eigenvalues of the training points with sum normalization */
  int curves = p->brg.on && p->train.method == BF_TRAIN_POSTERIOR && p->brg.basis != BF_BASES_DIAGONAL &&
               p->brg.prescription != BF_PRESC_PRUNE;
  if (curves && (separate || p->fisher.normalization == BF_FISHER_MEAN))
    return value_fail(c, "fisher", separate ? "points" : "normalization",
                     "the infinite-width flow curves of a posterior ensemble (eigen "
                     "basis, resample) need the sum-normalized metric of the training "
                     "points");
  return 1;
}

/* [data], [train] and [fisher] together. */
static int check_training(parse_ctx *c)
{
  bf_params *p = c->p;
  if (!check_method(c)) return 0;
  if (p->train.method == BF_TRAIN_POSTERIOR && p->net.arch == BF_ARCH_MLP &&
      p->train.trainable != BF_TRAIN_READOUT)
    return key_fail(c, find_key("train", "method"), "posterior",
                    "exact posterior samples need a model linear in the trained "
                    "parameters: set [train] trainable = readout");
  if (p->train.method == BF_TRAIN_POSTERIOR && p->net.arch == BF_ARCH_MLP && !p->net.nobias &&
      p->net.sigma_b == 0 && p->net.parameterization != BF_PARAM_NTK)
    return key_fail(c, find_key("network", "sigma_b"), "0",
                    "method = posterior needs a prior width for every trained parameter: "
                    "sigma_b > 0, or bias = no");
  if (p->train.method == BF_TRAIN_POSTERIOR && p->data.noise <= 0)
    return key_fail(c, find_key("data", "noise"), "0",
                    "method = posterior needs noise > 0 (the likelihood width)");
  if (p->fisher.solver != BF_SOLVER_NONE && p->data.noise <= 0 && p->fisher.sigma <= 0)
    return pair_fail(c, "fisher", "sigma", "data", "noise",
                     "the Fisher metric needs [fisher] sigma > 0, or [data] noise > 0");
  if (p->data.target == BF_TARGET_GP && p->net.arch != BF_ARCH_MLP)
    return key_fail(c, find_key("data", "target"), "gp",
                    "target = gp draws from the MLP's NNGP kernel: needs arch = mlp");
  if (p->data.target == BF_TARGET_FILE && !strcmp(p->data.file, "none"))
    return pair_fail(c, "data", "file", "data", "target", "target = file needs [data] file = PATH");
  if (p->data.target == BF_TARGET_FILE && access(p->data.file, R_OK) != 0)
    return key_fail(c, find_key("data", "file"), p->data.file, strerror(errno));
  if (p->brg.on && p->fisher.solver == BF_SOLVER_NONE)
    return key_fail(c, find_key("brg", "flow"), "yes",
                    "the flow needs the Fisher metric: set [fisher] solver");
  if (p->brg.on && !strcmp(p->brg.cutoffs, "none") && !(p->brg.lambda_min < p->brg.lambda_max)) {
    char why[128];
    snprintf(why, sizeof why, "needs [brg] lambda_min (%g) below lambda_max (%g)",
             p->brg.lambda_min, p->brg.lambda_max);
    return pair_fail(c, "brg", "lambda_min", "brg", "lambda_max", why);
  }
  if (p->data.points == BF_DATA_GRID) {
    int m = (int)lround(pow(p->data.n_train, 1.0 / p->net.d));
    if ((int)lround(pow(m, p->net.d)) != p->data.n_train) {
      char why[128];
      snprintf(why, sizeof why, "[data] points = grid needs n_train = m^d for an integer m "
               "(n_train = %d, d = %d)", p->data.n_train, p->net.d);
      return pair_fail(c, "data", "n_train", "data", "points", why);
    }
  }
  return 1;
}

static int brg_fail(parse_ctx *c, const char *key, const char *why)
{
  return value_fail(c, "brg", key, why);
}

/* [brg] cutoffs: positive, finite, strictly ascending (the shells are
 * nested: bf_shells_advance needs cutoffs that never decrease). */
static int derive_cutoffs(parse_ctx *c)
{
  bf_params *p = c->p;
  static const char *grid[] = {"lambda_min", "lambda_max", "count"};
  char why[160];
  for (int g = 0; g < 3; g++) /* the list replaces the grid: one would be ignored */
    if (changed(c, "brg", grid[g])) {
      snprintf(why, sizeof why, "given together with [brg] %s: the list replaces the log "
               "grid (remove %s)", grid[g], grid[g]);
      return brg_fail(c, "cutoffs", why);
    }
  enum { MAXC = 256 };
  double *v = BF_ALLOC(MAXC, double);
  int n = parse_list(p->brg.cutoffs, v, MAXC), ok = n >= 1;
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
static int derive_probe(parse_ctx *c)
{
  bf_params *p = c->p;
  double v[BF_MAX_POINTS];
  int n = parse_list(p->brg.probe, v, BF_MAX_POINTS), ok = n >= 1;
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

/* [brg] cutoffs and probe (check_uses refused them without the flow). */
static int derive_flow(parse_ctx *c)
{
  const bf_params *p = c->p;
  int list = strcmp(p->brg.cutoffs, "none") != 0, probe = strcmp(p->brg.probe, "none") != 0;
  return (!list || derive_cutoffs(c)) && (!probe || derive_probe(c));
}

/* Checks that involve more than one key, or the file system. */
static int cross_check(parse_ctx *c)
{
  /* the rules between keys first: their messages say more than "unused" */
  if (!check_training(c) || !check_uses(c) || !check_data(c) || !derive_flow(c)) return 0;
  if (c->p->net.arch == BF_ARCH_MLP &&
      !(derive_layers(c) && derive_points(c) && derive_quadruples(c)))
    return 0;
  const bf_params *p = c->p;
  char why[256];
  int cosnet = p->net.arch == BF_ARCH_COSNET;
  if (cosnet && p->net.d > 3) {
    char v[32];
    snprintf(v, sizeof v, "%d", p->net.d);
    return key_fail(c, find_key("network", "d"), v, "the cos-net takes d = 1, 2 or 3");
  }
  if (p->net.d > 3 && p->data.points != BF_DATA_RANDOM &&
      (p->train.method != BF_TRAIN_NONE || p->fisher.solver != BF_SOLVER_NONE)) {
    char v[32];
    snprintf(v, sizeof v, "%d", p->net.d);
    return key_fail(c, find_key("network", "d"), v,
                    "[data] points = grid or lattice takes d = 1, 2 or 3 (use points = random)");
  }
  /* the ERG checks hold each cutoff against one momentum p(Lambda); cutoffs
   * relative to each member's lambda_max have none, and the checks would
   * silently not run */
  if (cosnet && p->brg.on && p->brg.relative && p->cosnet.momenta == BF_MOMENTA_LATTICE &&
      p->data.points == BF_DATA_LATTICE)
    return value_fail(c, "brg", "relative", "a cos-net flow on the full lattice runs the ERG "
                      "checks (docs/physics.md 4), which need absolute cutoffs: set relative = no");
  if (cosnet && p->cosnet.momenta == BF_MOMENTA_LATTICE &&
      !(p->cosnet.cutoff < M_PI / p->lattice.spacing)) {
    snprintf(why, sizeof why, "needs [cosnet] cutoff (%g) below the lattice Nyquist "
             "momentum pi/spacing = %g for momenta = lattice", p->cosnet.cutoff, M_PI / p->lattice.spacing);
    return pair_fail(c, "cosnet", "cutoff", "lattice", "spacing", why);
  }
  if (cosnet && pow((double)p->lattice.sites, p->net.d) > (double)(1 << 30))
    return pair_fail(c, "lattice", "sites", "network", "d", "sites^d exceeds 2^30 lattice points");
  if (c->output_check != BF_OUTPUT_IGNORE) return check_output(c);
  return 1;
}

int bf_input_parse(const char *path, const char *text, const char *const *sets,
                   int nsets, int output_check, bf_params *p, char *err,
                   size_t errlen)
{
  parse_ctx c = {.path = path, .text = text, .p = p, .err = err,
                 .errlen = errlen, .output_check = output_check};
  memset(p, 0, sizeof *p);
  for (int k = 0; k < NKEYS; k++) BF_ASSERT(set_value(&c, k, KEYS[k].deflt));
  if (!check_line_lengths(&c)) return -1;
  int bad = ini_parse_string(text, on_key, &c);
  if (bad && !c.failed)
    fail(&c, "%s:%d: syntax error (expected [section] or key = value)", path,
         bad);
  for (int i = 0; i < nsets && !c.failed; i++) apply_set(&c, sets[i]);
  if (!c.failed) cross_check(&c);
  return c.failed ? -1 : 0;
}

void bf_params_free(bf_params *p)
{
  free(p->net.hwidth), free(p->net.hact), free(p->corr.x), free(p->data.mu), free(p->data.chol);
  free(p->brg.cut), free(p->brg.probe_idx);
  p->net.hwidth = p->net.hact = p->brg.probe_idx = NULL;
  p->corr.x = p->data.mu = p->data.chol = p->brg.cut = NULL;
  p->net.nhidden = p->corr.npoints = p->brg.ncut = p->brg.nprobe = 0;
}

static void format_value(const bf_params *p, int k, char *buf, size_t n)
{
  const key_def *d = &KEYS[k];
  const char *field = (const char *)p + d->offset;
  switch (d->type) {
  case T_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field); break;
  case T_INT: snprintf(buf, n, "%d", *(const int *)field); break;
  case T_REAL: { /* the shortest of %.15g, %.17g that reads back exactly */
    double x = *(const double *)field;
    snprintf(buf, n, "%.15g", x);
    if (strtod(buf, NULL) != x) snprintf(buf, n, "%.17g", x);
    break;
  }
  case T_STR: snprintf(buf, n, "%s", field); break;
  case T_ENUM: {
    int idx = *(const int *)field;
    const char *s = d->choices;
    for (; idx > 0; idx--) s = strchr(s, '|') + 1;
    const char *e = strchr(s, '|');
    snprintf(buf, n, "%.*s", (int)(e ? (size_t)(e - s) : strlen(s)), s);
    break;
  }
  }
}

char *bf_input_effective_text(const bf_params *p)
{
  size_t cap = 4096 + NKEYS * (BF_PATH_MAX + 64), len = 0;
  char *t = BF_ALLOC(cap, char), val[BF_PATH_MAX + 32];
  len += snprintf(t + len, cap - len,
                  "# brgflow %s effective input: every key, defaults filled "
                  "in, --set applied\n",
                  BF_VERSION);
  const char *section = "";
  for (int k = 0; k < NKEYS; k++) {
    if (strcmp(section, KEYS[k].section)) {
      section = KEYS[k].section;
      len += snprintf(t + len, cap - len, "\n[%s]\n", section);
    }
    format_value(p, k, val, sizeof val);
    len += snprintf(t + len, cap - len, "%s = %s\n", KEYS[k].key, val);
  }
  return t;
}

/* Markdown cell text: a bare '|' would end the cell. */
static void print_cell(FILE *out, const char *text)
{
  for (; *text; text++) {
    if (*text == '|') fputc('\\', out);
    fputc(*text, out);
  }
}

/* "section.key" -> value pairs of an effective text, one per line. */
static int text_pairs(const char *text, char keys[][96], char vals[][BF_PATH_MAX], int max)
{
  char section[64] = "", line[BF_PATH_MAX + 128];
  int n = 0;
  for (const char *s = text; *s && n < max;) {
    const char *e = strchr(s, '\n');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    snprintf(line, sizeof line, "%.*s", (int)len, s);
    s += len + (e ? 1 : 0);
    char *eq = strchr(line, '=');
    if (line[0] == '[') {
      char *c = strchr(line, ']');
      if (c) *c = '\0';
      snprintf(section, sizeof section, "%.63s", line + 1);
    } else if (eq && line[0] != '#') {
      *eq = '\0';
      char k[64];
      trim_copy(line, eq, k, sizeof k);
      snprintf(keys[n], 96, "%s.%s", section, k);
      trim_copy(eq + 1, eq + 1 + strlen(eq + 1), vals[n], BF_PATH_MAX);
      n++;
    }
  }
  return n;
}

/* Two values of a key are the same text, or the same real (an older
 * effective text printed every real with %.17g).  Integers compare as text:
 * a 64-bit seed does not survive a double. */
static int same_value(const char *a, const char *b)
{
  if (!strcmp(a, b)) return 1;
  if (!strpbrk(a, ".eE") || !strpbrk(b, ".eE")) return 0;
  char *ea, *eb;
  double x = strtod(a, &ea), y = strtod(b, &eb);
  return ea != a && !*ea && eb != b && !*eb && x == y;
}

/* "section.key" changes results unless its table row says NO_RESULT; a
 * checkpoint_every change is safe because a chunk of training resumes from
 * theta alone (train.c builds a linear model's features from theta with its
 * trained block zeroed, and the SGD order from the epoch). */
static int key_changes_results(const char *dotted)
{
  for (int k = 0; k < NKEYS; k++) {
    size_t ls = strlen(KEYS[k].section);
    if (!strncmp(dotted, KEYS[k].section, ls) && dotted[ls] == '.' &&
        !strcmp(dotted + ls + 1, KEYS[k].key))
      return KEYS[k].changes;
  }
  return 1;
}

void bf_input_result_diff(const char *a, const char *b, char *out, size_t n)
{
  enum { MAXK = 2 * (sizeof KEYS / sizeof KEYS[0]) };
  char (*ka)[96] = calloc(MAXK, 96), (*kb)[96] = calloc(MAXK, 96);
  char (*va)[BF_PATH_MAX] = calloc(MAXK, BF_PATH_MAX), (*vb)[BF_PATH_MAX] = calloc(MAXK, BF_PATH_MAX);
  int na = text_pairs(a, ka, va, MAXK), nb = text_pairs(b, kb, vb, MAXK);
  out[0] = '\0';
  /* both directions: a key either text lacks differs too */
  for (int pass = 0; pass < 2; pass++) {
    char (*k1)[96] = pass ? kb : ka, (*k2)[96] = pass ? ka : kb;
    char (*v1)[BF_PATH_MAX] = pass ? vb : va, (*v2)[BF_PATH_MAX] = pass ? va : vb;
    int n1 = pass ? nb : na, n2 = pass ? na : nb;
    for (int i = 0; i < n1; i++) {
      int skip = !key_changes_results(k1[i]);
      const char *other = NULL;
      for (int j = 0; j < n2; j++)
        if (!strcmp(k1[i], k2[j])) other = v2[j];
      if (skip || (other && same_value(other, v1[i])) || (pass && other)) continue;
      size_t len = strlen(out);
      snprintf(out + len, n - len, "%s%s (%s -> %s)", len ? ", " : "", k1[i],
               pass ? "absent" : v1[i], pass ? v1[i] : other ? other : "absent");
    }
  }
  free(ka), free(kb), free(va), free(vb);
}

/* Whether `key` is one of the blank-separated words of `list`. */
static int in_list(const char *list, const char *key)
{
  size_t n = strlen(key);
  for (const char *w = list; (w = strstr(w, key)); w += n)
    if ((w == list || w[-1] == ' ') && (w[n] == ' ' || w[n] == '\0')) return 1;
  return 0;
}

/* The "used by" cell: every USES rule that names the key, or "all runs". */
static void print_used_by(FILE *out, const key_def *d)
{
  int any = 0;
  for (size_t r = 0; r < sizeof USES / sizeof USES[0]; r++)
    if (!strcmp(USES[r].section, d->section) && in_list(USES[r].keys, d->key)) {
      fprintf(out, "%s", any++ ? ", with " : "");
      print_cell(out, USES[r].who);
    }
  if (!any) fprintf(out, "all runs");
}

void bf_input_print_keys(FILE *out)
{
  fprintf(out, "| section | key | default | unit | used by | changes results | meaning |\n");
  fprintf(out, "|---|---|---|---|---|---|---|\n");
  for (int k = 0; k < NKEYS; k++) {
    const key_def *d = &KEYS[k];
    fprintf(out, "| [%s] | %s | %s | %s | ", d->section, d->key, d->deflt, d->unit);
    print_used_by(out, d);
    fprintf(out, " | %s | ", d->changes ? "yes" : "no (a restart may change it)");
    print_cell(out, d->doc);
    if (d->type == T_ENUM) {
      fprintf(out, "; one of ");
      print_cell(out, d->choices);
    }
    fprintf(out, " |\n");
  }
}

/* The input file's text, or NULL with a message: a directory or an
 * unreadable file is refused (a directory would otherwise read as empty
 * and run every default). */
static char *read_file(const char *path, char *err, size_t errlen)
{
  struct stat st;
  int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  FILE *f = dir ? NULL : fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot read input file '%s': %s", path,
             dir ? "is a directory" : strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, len = 0, got;
  char *buf = BF_ALLOC(cap, char);
  while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len <= 1) {
      cap *= 2;
      char *nb = realloc(buf, cap);
      BF_ASSERT(nb);
      buf = nb;
    }
  }
  buf[len] = '\0';
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    snprintf(err, errlen, "cannot read input file '%s': read error", path);
    free(buf);
    return NULL;
  }
  /* a NUL byte would end the text early: the keys after it would silently
   * take their defaults */
  size_t nul = strlen(buf);
  if (nul < len) {
    int line = 1;
    for (size_t i = 0; i < nul; i++) line += buf[i] == '\n';
    snprintf(err, errlen, "%s:%d: a NUL byte (the input must be a text file)", path, line);
    free(buf);
    return NULL;
  }
  return buf;
}

bf_input *bf_input_read(MPI_Comm comm, const bf_run_options *opt)
{
  int rank;
  BF_MPI(MPI_Comm_rank(comm, &rank));
  bf_input *in = BF_CALLOC(1, bf_input);
  snprintf(in->path, sizeof in->path, "%s", opt->input_path);
  snprintf(in->restart, sizeof in->restart, "%s", opt->restart ? opt->restart : "");
  char err[2 * BF_PATH_MAX + 256] = "";
  int failed = 0;
  long long len = 0;
  if (rank == 0) {
    char *text = read_file(opt->input_path, err, sizeof err);
    failed = !text ||
             bf_input_parse(opt->input_path, text, opt->sets, opt->nsets,
                            opt->check_only ? BF_OUTPUT_IGNORE
                            : opt->force ? BF_OUTPUT_REPLACE
                            : opt->restart ? BF_OUTPUT_RESTART : BF_OUTPUT_REFUSE,
                            &in->p, err, sizeof err);
    if (!failed) in->text = bf_input_effective_text(&in->p);
    free(text);
  }
  bf_fail_if(comm, failed, "%s", err);
  if (rank == 0) len = (long long)strlen(in->text) + 1;
  BF_MPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm));
  if (rank != 0) in->text = BF_ALLOC(len, char);
  BF_MPI(MPI_Bcast(in->text, (int)len, MPI_CHAR, 0, comm));
  /* Every rank parses the validated text: identical parameters everywhere. */
  if (rank == 0) bf_params_free(&in->p);
  BF_ASSERT(bf_input_parse("<effective input>", in->text, NULL, 0,
                           BF_OUTPUT_IGNORE, &in->p, err, sizeof err) == 0);
  return in;
}

void bf_input_destroy(bf_input **in)
{
  if (!*in) return;
  bf_params_free(&(*in)->p);
  free((*in)->text);
  free(*in);
  *in = NULL;
}
