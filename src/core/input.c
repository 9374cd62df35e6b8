/* input.c — the key table, INI parsing (inih), validation and broadcast.
 *
 *   bf_input_read            collective: read on rank 0, validate, broadcast
 *                            (NULL on bad input, after its one message)
 *   bf_input_destroy         free an input
 *   bf_input_parse           parse text + --set overrides into parameters
 *   bf_input_effective_text  every key with its value, as an INI text
 *   bf_input_print_keys      the key table as Markdown
 *   bf_input_result_diff     the keys two effective texts differ in
 *   bf_params_free           free the derived arrays
 *   bf_print_keys            a module's rows with their values (print verbs)
 *   bf_check_fail            refuse a key (for the check verbs)
 *   bf_check_pair_fail       refuse one of two keys
 *   bf_check_changed         whether a key was given away from its default
 *   bf_parse_list            comma-separated numbers
 *   bf_trim_copy             a string trimmed of blanks
 *
 * Every key lives in one row of its module's table (src/MODULE/parms.c)
 * with its type, default, unit, range and meaning; this file assembles the
 * tables, and parsing, validation, the effective text and docs/inputs.md
 * all read them, so a new key is one row.  The section's own checks are
 * the modules' bf_check_X_parms; the checks across sections, the USES
 * rules ("key K is used only when C") and the output-file checks stay
 * here, where every section is in view. */
#include "brgflow/input.h"
#include "brgflow/core.h"

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

/* The key table: each module's rows, in the order of the effective text
 * and docs/inputs.md (the sections run, network ... brg). */
static const bf_key_table *const TABLES[] = {&bf_run_keys, &bf_nn_keys, &bf_nnft_keys,
                                             &bf_train_keys, &bf_metric_keys, &bf_flow_keys};
/* MAX_KEYS sizes the parse state's per-key arrays (bf_input_parse asserts
 * that the tables fit; they hold 74 keys). */
enum { NTABLES = sizeof TABLES / sizeof TABLES[0], MAX_KEYS = 128 };

/* Number of keys in all tables. */
static int nkeys(void)
{
  int n = 0;
  for (int t = 0; t < NTABLES; t++) n += TABLES[t]->n;
  return n;
}

/* Key k of the assembled table (0 <= k < nkeys()). */
static const bf_key *key_at(int k)
{
  int t = 0;
  for (; k >= TABLES[t]->n; t++) k -= TABLES[t]->n;
  return &TABLES[t]->keys[k];
}

/* Where a key's value came from: > 0 file line, 0 default, -1 --set. */
enum { FROM_DEFAULT = 0, FROM_SET = -1 };

/* The parse state, which the modules' check verbs see as bf_check: it
 * knows where each key's value came from, so their messages can say. */
struct bf_check {
  const char *path, *text;
  bf_params *p;
  int line[MAX_KEYS];
  int seen[MAX_KEYS];
  const char *set_arg[MAX_KEYS]; /* the --set argument that gave the key */
  char *err;
  size_t errlen;
  int failed;
  int output_check; /* BF_OUTPUT_* */
};
typedef struct bf_check parse_ctx;

static int find_key(const char *section, const char *key)
{
  for (int k = 0; k < nkeys(); k++)
    if (!strcmp(key_at(k)->section, section) && !strcmp(key_at(k)->key, key)) return k;
  return -1;
}

static int known_section(const char *section)
{
  for (int k = 0; k < nkeys(); k++)
    if (!strcmp(key_at(k)->section, section)) return 1;
  return 0;
}

/* Copy [b,e) into out, trimmed of blanks. */
void bf_trim_copy(const char *b, const char *e, char *out, size_t n)
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
      bf_trim_copy(b, eq, name, sizeof name);
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
    snprintf(buf, n, "%s:%d: [%s] %s", c->path, c->line[k], key_at(k)->section,
             key_at(k)->key);
  else if (c->line[k] == FROM_SET)
    snprintf(buf, n, "--set %s: [%s] %s", c->set_arg[k], key_at(k)->section,
             key_at(k)->key);
  else
    snprintf(buf, n, "%s: [%s] %s (not given: the default)", c->path, key_at(k)->section,
             key_at(k)->key);
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

static void format_value(const bf_params *p, const bf_key *d, char *buf, size_t n);

/* key_fail with the value of [section] key as the effective text prints it. */
int bf_check_fail(parse_ctx *c, const char *section, const char *key, const char *why)
{
  int k = find_key(section, key);
  char v[BF_PATH_MAX + 32];
  format_value(c->p, key_at(k), v, sizeof v);
  return key_fail(c, k, v, why);
}

/* A refusal about two keys names the one given (file line or --set): a
 * default has no line to point to.  The first when both are given. */
int bf_check_pair_fail(parse_ctx *c, const char *s1, const char *k1, const char *s2,
                     const char *k2, const char *why)
{
  int a = find_key(s1, k1), b = find_key(s2, k2);
  int k = c->line[a] == FROM_DEFAULT && c->line[b] != FROM_DEFAULT ? b : a;
  return bf_check_fail(c, key_at(k)->section, key_at(k)->key, why);
}

static int parse_number(parse_ctx *c, int k, const char *v, double *out)
{
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (end == v || *end || errno == ERANGE || !isfinite(x))
    return key_fail(c, k, v, "not a number");
  if (key_at(k)->type != BF_KEY_REAL && x != floor(x))
    return key_fail(c, k, v, "not an integer");
  const bf_key *d = key_at(k);
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
  const bf_key *d = key_at(k);
  char *field = (char *)c->p + d->offset;
  double x;
  switch (d->type) {
  case BF_KEY_U64: {
    char *end;
    errno = 0;
    unsigned long long u = strtoull(v, &end, 10); /* decimal: 010 is ten */
    if (end == v || *end || errno == ERANGE || strchr(v, '-'))
      return key_fail(c, k, v, "not an unsigned 64-bit integer");
    *(uint64_t *)field = (uint64_t)u;
    return 1;
  }
  case BF_KEY_INT:
    if (!parse_number(c, k, v, &x)) return 0;
    *(int *)field = (int)x;
    return 1;
  case BF_KEY_REAL:
    if (!parse_number(c, k, v, &x)) return 0;
    *(double *)field = x;
    return 1;
  case BF_KEY_STR:
    if (!*v) return key_fail(c, k, v, "empty");
    if (strlen(v) >= BF_PATH_MAX) return key_fail(c, k, v, "too long");
    /* the effective text holds `key = value` on one line, and every rank
     * re-reads it with inih: it must fit inih's line */
    if (strlen(d->key) + 3 + strlen(v) > LINE_MAX_CHARS)
      return key_fail(c, k, v, "too long for one input line (inih reads at most "
                      LINE_MAX_TEXT " characters per line)");
    strcpy(field, v);
    return 1;
  case BF_KEY_ENUM: {
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
  bf_trim_copy(arg, dot, section, sizeof section);
  bf_trim_copy(dot + 1, eq, key, sizeof key);
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
int bf_parse_list(const char *s, double *out, int max)
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





/* Key given (file or --set) with a value other than its default. */
int bf_check_changed(parse_ctx *c, const char *section, const char *key)
{
  int k = find_key(section, key);
  if (c->line[k] == FROM_DEFAULT) return 0;
  bf_params def;
  memset(&def, 0, sizeof def);
  parse_ctx dc = {.p = &def};
  set_value(&dc, k, key_at(k)->deflt);
  const char *a = (const char *)c->p + key_at(k)->offset, *b = (const char *)&def + key_at(k)->offset;
  if (key_at(k)->type == BF_KEY_STR) return strcmp(a, b) != 0;
  return key_at(k)->type == BF_KEY_REAL ? *(const double *)a != *(const double *)b
                                : *(const int *)a != *(const int *)b;
}






/* [train]: the keys of one method are refused under another, where they
 * would be silently ignored. */
static int check_method(parse_ctx *c)
{
  const bf_params *p = c->p;
  int sgd = p->train.method == BF_TRAIN_SGD;
  if (p->train.on_divergence == 1 && p->train.record_every > 0 && p->fisher.solver != BF_SOLVER_NONE)
    return bf_check_fail(c, "train", "on_divergence", "drop with [train] record_every > 0 and a "
                      "Fisher metric: a dropped member's spectra along training are undefined "
                      "(set record_every = 0, or on_divergence = stop)");
  int64_t n = p->data.points == BF_DATA_LATTICE ? (int64_t)llround(pow(p->lattice.sites, p->net.d))
                                                : p->data.n_train;
  if (sgd && p->train.batch > n) {
    char why[128];
    snprintf(why, sizeof why, "more than the %lld training points", (long long)n);
    return bf_check_fail(c, "train", "batch", why);
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
      if (bf_check_changed(c, USES[r].section, key))
        return bf_check_fail(c, USES[r].section, key, USES[r].why);
  }
  return 1;
}




/* [data] points and target, [fisher] points and normalization. */
static int check_data(parse_ctx *c)
{
  bf_params *p = c->p;
  int gauss = p->data.points == BF_DATA_GAUSSIAN, metric = p->fisher.solver != BF_SOLVER_NONE;
  int separate = metric && p->fisher.points == BF_FISHER_SEPARATE;
  if (!bf_check_data_parms(c, p)) return 0;
  if (p->data.target == BF_TARGET_FILE && (separate || gauss))
    return bf_check_fail(c, separate ? "fisher" : "data", "points",
                      "target = file takes its inputs from the file: there is no input "
                      "distribution to draw from (use [fisher] points = train)");
  if (separate && p->data.points != BF_DATA_RANDOM && !gauss)
    return bf_check_fail(c, "fisher", "points", "separate points are drawn from the training "
                     "input distribution: needs [data] points = random or gaussian");
  /* the posterior's infinite-width flow curves map Fisher eigenvalues to
   * kernel eigenvalues of the training points with sum normalization */
  int curves = p->brg.on && p->train.method == BF_TRAIN_POSTERIOR && p->brg.basis != BF_BASES_DIAGONAL &&
               p->brg.prescription != BF_PRESC_PRUNE;
  if (curves && (separate || p->fisher.normalization == BF_FISHER_MEAN))
    return bf_check_fail(c, "fisher", separate ? "points" : "normalization",
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
    return bf_check_pair_fail(c, "fisher", "sigma", "data", "noise",
                     "the Fisher metric needs [fisher] sigma > 0, or [data] noise > 0");
  if (p->data.target == BF_TARGET_GP && p->net.arch != BF_ARCH_MLP)
    return key_fail(c, find_key("data", "target"), "gp",
                    "target = gp draws from the MLP's NNGP kernel: needs arch = mlp");
  if (p->data.target == BF_TARGET_FILE && !strcmp(p->data.file, "none"))
    return bf_check_pair_fail(c, "data", "file", "data", "target", "target = file needs [data] file = PATH");
  if (p->data.target == BF_TARGET_FILE && access(p->data.file, R_OK) != 0)
    return key_fail(c, find_key("data", "file"), p->data.file, strerror(errno));
  if (p->brg.on && p->fisher.solver == BF_SOLVER_NONE)
    return key_fail(c, find_key("brg", "flow"), "yes",
                    "the flow needs the Fisher metric: set [fisher] solver");
  if (p->brg.on && !strcmp(p->brg.cutoffs, "none") && !(p->brg.lambda_min < p->brg.lambda_max)) {
    char why[128];
    snprintf(why, sizeof why, "needs [brg] lambda_min (%g) below lambda_max (%g)",
             p->brg.lambda_min, p->brg.lambda_max);
    return bf_check_pair_fail(c, "brg", "lambda_min", "brg", "lambda_max", why);
  }
  if (p->data.points == BF_DATA_GRID) {
    int m = (int)lround(pow(p->data.n_train, 1.0 / p->net.d));
    if ((int)lround(pow(m, p->net.d)) != p->data.n_train) {
      char why[128];
      snprintf(why, sizeof why, "[data] points = grid needs n_train = m^d for an integer m "
               "(n_train = %d, d = %d)", p->data.n_train, p->net.d);
      return bf_check_pair_fail(c, "data", "n_train", "data", "points", why);
    }
  }
  return 1;
}





/* Checks that involve more than one key, or the file system. */
static int cross_check(parse_ctx *c)
{
  /* the rules between keys first: their messages say more than "unused" */
  if (!check_training(c) || !check_uses(c) || !check_data(c) || !bf_check_flow_parms(c, c->p)) return 0;
  if (c->p->net.arch == BF_ARCH_MLP &&
      !(bf_check_nn_parms(c, c->p) && bf_check_nnft_parms(c, c->p)))
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
    return bf_check_fail(c, "brg", "relative", "a cos-net flow on the full lattice runs the ERG "
                      "checks (docs/physics.md 4), which need absolute cutoffs: set relative = no");
  if (cosnet && p->cosnet.momenta == BF_MOMENTA_LATTICE &&
      !(p->cosnet.cutoff < M_PI / p->lattice.spacing)) {
    snprintf(why, sizeof why, "needs [cosnet] cutoff (%g) below the lattice Nyquist "
             "momentum pi/spacing = %g for momenta = lattice", p->cosnet.cutoff, M_PI / p->lattice.spacing);
    return bf_check_pair_fail(c, "cosnet", "cutoff", "lattice", "spacing", why);
  }
  if (cosnet && pow((double)p->lattice.sites, p->net.d) > (double)(1 << 30))
    return bf_check_pair_fail(c, "lattice", "sites", "network", "d", "sites^d exceeds 2^30 lattice points");
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
  BF_ASSERT(nkeys() <= MAX_KEYS);
  for (int k = 0; k < nkeys(); k++) BF_ASSERT(set_value(&c, k, key_at(k)->deflt));
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

static void format_value(const bf_params *p, const bf_key *d, char *buf, size_t n)
{
  const char *field = (const char *)p + d->offset;
  switch (d->type) {
  case BF_KEY_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field); break;
  case BF_KEY_INT: snprintf(buf, n, "%d", *(const int *)field); break;
  case BF_KEY_REAL: { /* the shortest of %.15g, %.17g that reads back exactly */
    double x = *(const double *)field;
    snprintf(buf, n, "%.15g", x);
    if (strtod(buf, NULL) != x) snprintf(buf, n, "%.17g", x);
    break;
  }
  case BF_KEY_STR: snprintf(buf, n, "%s", field); break;
  case BF_KEY_ENUM: {
    int idx = *(const int *)field;
    const char *s = d->choices;
    for (; idx > 0; idx--) s = strchr(s, '|') + 1;
    const char *e = strchr(s, '|');
    snprintf(buf, n, "%.*s", (int)(e ? (size_t)(e - s) : strlen(s)), s);
    break;
  }
  }
}

/* The rows of one module's table under their [section] headers; a blank
 * line and the header open each section, as in the effective text. */
void bf_print_keys(FILE *out, const bf_params *p, const bf_key_table *table)
{
  char val[BF_PATH_MAX + 32];
  for (int i = 0; i < table->n; i++) {
    const bf_key *d = &table->keys[i];
    if (i == 0 || strcmp(d->section, d[-1].section)) fprintf(out, "\n[%s]\n", d->section);
    format_value(p, d, val, sizeof val);
    fprintf(out, "%s = %s\n", d->key, val);
  }
}

/* The effective text is every module's print verb in table order. */
char *bf_input_effective_text(const bf_params *p)
{
  char *t = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&t, &len);
  BF_ASSERT(out);
  fprintf(out, "# brgflow %s effective input: every key, defaults filled in, --set applied\n",
          BF_VERSION);
  bf_print_run_parms(out, p);
  bf_print_nn_parms(out, p);
  bf_print_nnft_parms(out, p);
  bf_print_train_parms(out, p);
  bf_print_metric_parms(out, p);
  bf_print_flow_parms(out, p);
  BF_ASSERT(fclose(out) == 0);
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
      bf_trim_copy(line, eq, k, sizeof k);
      snprintf(keys[n], 96, "%s.%s", section, k);
      bf_trim_copy(eq + 1, eq + 1 + strlen(eq + 1), vals[n], BF_PATH_MAX);
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
  for (int k = 0; k < nkeys(); k++) {
    size_t ls = strlen(key_at(k)->section);
    if (!strncmp(dotted, key_at(k)->section, ls) && dotted[ls] == '.' &&
        !strcmp(dotted + ls + 1, key_at(k)->key))
      return key_at(k)->changes;
  }
  return 1;
}

void bf_input_result_diff(const char *a, const char *b, char *out, size_t n)
{
  enum { MAXK = 2 * MAX_KEYS };
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
static void print_used_by(FILE *out, const bf_key *d)
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
  for (int k = 0; k < nkeys(); k++) {
    const bf_key *d = key_at(k);
    fprintf(out, "| [%s] | %s | %s | %s | ", d->section, d->key, d->deflt, d->unit);
    print_used_by(out, d);
    fprintf(out, " | %s | ", d->changes ? "yes" : "no (a restart may change it)");
    print_cell(out, d->doc);
    if (d->type == BF_KEY_ENUM) {
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
  if (bf_failed(comm, failed, "%s", err)) {
    bf_input_destroy(&in);
    return NULL;
  }
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
