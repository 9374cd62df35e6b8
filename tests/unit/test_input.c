/* test_input.c — input parsing, --set, the effective text, and every error
 * path: each bad input must give one message naming file, line and key. */
#include "testutil.h"

#include "brgflow/input.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[4096];

static int parse(const char *text, const char *const *sets, int nsets,
                 bf_params *p)
{
  err[0] = '\0';
  return bf_input_parse("t.ini", text, sets, nsets, BF_OUTPUT_IGNORE, p, err,
                        sizeof err);
}

/* The text must be refused with a message containing every needle. */
static void expect_error(const char *text, const char *const *sets, int nsets,
                         const char *needle1, const char *needle2)
{
  bf_params p;
  assert_int_equal(parse(text, sets, nsets, &p), -1);
  printf("    message: %s\n", err);
  assert_non_null(strstr(err, needle1));
  if (needle2) assert_non_null(strstr(err, needle2));
}

static void test_defaults_and_values(void **state)
{
  (void)state;
  bf_params p;
  const char *text = "; comment\n[network]\nd = 2\nwidth = 64 ; inline\n"
                     "[cosnet]\nmass = 0.25\nmomenta = continuum\n"
                     "[run]\nseed = 18446744073709551615\noutput = o.h5\n";
  assert_int_equal(parse(text, NULL, 0, &p), 0);
  assert_int_equal(p.net.d, 2);
  assert_int_equal(p.net.width, 64);
  assert_true(p.cosnet.mass == 0.25);
  assert_int_equal(p.cosnet.momenta, BF_MOMENTA_CONTINUUM);
  assert_true(p.run.seed == UINT64_MAX);
  assert_string_equal(p.run.output, "o.h5");
  assert_int_equal(p.lattice.sites, 32); /* default */
  assert_int_equal(p.net.arch, BF_ARCH_COSNET);
}

static void test_set_overrides(void **state)
{
  (void)state;
  bf_params p;
  const char *sets[] = {"network.width=17", "cosnet.momenta=continuum"};
  assert_int_equal(parse("[network]\nwidth = 5\n", sets, 2, &p), 0);
  assert_int_equal(p.net.width, 17);
  assert_int_equal(p.cosnet.momenta, BF_MOMENTA_CONTINUUM);
}

static void test_effective_text_round_trip(void **state)
{
  (void)state;
  bf_params p, q;
  const char *sets[] = {"cosnet.mass=0.1234567890123"};
  assert_int_equal(parse("[run]\nseed = 99\n[lattice]\nspacing = 0.3\n", sets,
                         1, &p), 0);
  char *text = bf_input_effective_text(&p);
  assert_int_equal(parse(text, NULL, 0, &q), 0);
  assert_memory_equal(&p, &q, sizeof p);
  assert_non_null(strstr(text, "mass = 0.1234567890123"));
  free(text);
}

static void test_unknown_section(void **state)
{
  (void)state;
  expect_error("[run]\nseed = 1\n\n[bogus]\nx = 1\n", NULL, 0, "t.ini:4:",
               "unknown section [bogus]");
}

static void test_unknown_key(void **state)
{
  (void)state;
  expect_error("[network]\nd = 1\nwidht = 3\n", NULL, 0, "t.ini:3:",
               "[network] widht: unknown key");
}

static void test_malformed_values(void **state)
{
  (void)state;
  expect_error("[network]\nwidth = ten\n", NULL, 0, "t.ini:2: [network] width",
               "not a number");
  expect_error("[network]\nwidth = 2.5\n", NULL, 0, "t.ini:2: [network] width",
               "not an integer");
  expect_error("[run]\nseed = -3\n", NULL, 0, "t.ini:2: [run] seed",
               "unsigned");
  expect_error("[cosnet]\nmomenta = lattic\n", NULL, 0,
               "t.ini:2: [cosnet] momenta", "lattice|continuum");
  expect_error("[run]\nthis line has no equals sign\n", NULL, 0, "t.ini:2:",
               "syntax error");
}

static void test_out_of_range(void **state)
{
  (void)state;
  expect_error("[network]\nwidth = 0\n", NULL, 0, "t.ini:2: [network] width",
               "out of range");
  expect_error("[network]\nwidth = -4\n", NULL, 0, "[network] width",
               "out of range");
  expect_error("[network]\n\nd = 4\n", NULL, 0, "t.ini:3: [network] d",
               "the cos-net takes d = 1, 2 or 3");
  expect_error("[network]\narch = mlp\nd = 1000001\n", NULL, 0, "t.ini:3: [network] d",
               "out of range");
  expect_error("[network]\nd = 0\n", NULL, 0, "[network] d", "out of range");
  expect_error("[cosnet]\nmass = 0\n", NULL, 0, "t.ini:2: [cosnet] mass",
               "must be > 0");
  expect_error("[ensemble]\nmembers = 1\n", NULL, 0, "[ensemble] members",
               "out of range");
}

static void test_cutoff_above_nyquist(void **state)
{
  (void)state;
  /* pi/s = pi/2 for s = 2: R = 1.6 is above it for lattice momenta ... */
  expect_error("[lattice]\nspacing = 2\n[cosnet]\ncutoff = 1.6\n", NULL, 0,
               "t.ini:4: [cosnet] cutoff", "Nyquist");
  /* ... and with the default cutoff 2.0 the given key, spacing, is named */
  expect_error("[lattice]\nspacing = 2\n", NULL, 0, "t.ini:2: [lattice] spacing",
               "Nyquist");
  /* ... but allowed for continuum momenta */
  bf_params p;
  assert_int_equal(parse("[lattice]\nspacing = 2\n[cosnet]\ncutoff = 1.6\n"
                         "momenta = continuum\n", NULL, 0, &p), 0);
}

static void test_duplicate_key(void **state)
{
  (void)state;
  expect_error("[network]\nd = 1\nd = 2\n", NULL, 0, "t.ini:3: [network] d",
               "given twice (first on line 2)");
}

static void test_key_outside_section_and_indented_line(void **state)
{
  (void)state;
  expect_error("seed = 3\n[run]\n", NULL, 0, "t.ini:1:", "outside any [section]");
  expect_error("[run]\nseed = 3\n  output = x.h5\n", NULL, 0, "t.ini:2: [run] seed",
               "indented line");
  expect_error("[run]\nseed = 0x10\n", NULL, 0, "[run] seed", "unsigned");
}

static void test_mlp_keys(void **state)
{
  (void)state;
  bf_params p;
  const char *ok = "[network]\narch = mlp\nd = 2\ndepth = 3\nactivation = gelu\n"
                   "[correlator]\npoints = list\nlist = 1,2; 3,4; -1,0.5\n"
                   "quadruples = 0,1,2,2; 2,2,2,2\n";
  assert_int_equal(parse(ok, NULL, 0, &p), 0);
  assert_int_equal(p.net.arch, BF_ARCH_MLP);
  assert_int_equal(p.corr.npoints, 3);
  assert_true(p.corr.x[2 * 2 + 0] == -1 && p.corr.x[2 * 2 + 1] == 0.5);
  assert_int_equal(p.corr.nquads, 2);
  assert_int_equal(p.corr.quad[0][3], 2);
  /* default grid: 8 points along e_1 from -1 to 1, auto quadruples */
  assert_int_equal(parse("[network]\narch = mlp\n", NULL, 0, &p), 0);
  assert_int_equal(p.corr.npoints, 8);
  assert_true(p.corr.x[7] == 1.0 && p.corr.x[0] == -1.0);
  assert_int_equal(p.corr.nquads, 3);
  expect_error("[network]\narch = mlp\ndepth = 1025\n", NULL, 0, "t.ini:3: [network] depth",
               "out of range");
  expect_error("[network]\narch = mlp\nactivation = swish\n", NULL, 0,
               "t.ini:3: [network] activation", "relu|tanh");
  expect_error("[network]\narch = mlp\nd = 2\n[correlator]\ndirection = 1,0,0\n", NULL, 0,
               "t.ini:5: [correlator] direction", "d = 2");
  expect_error("[network]\narch = mlp\n[correlator]\ndirection = 0\n", NULL, 0,
               "[correlator] direction", "zero");
  expect_error("[network]\narch = mlp\n[correlator]\nquadruples = 0,1,2,8\n", NULL, 0,
               "t.ini:4: [correlator] quadruples", "indices 0..7");
  expect_error("[network]\narch = mlp\nd = 2\n[correlator]\npoints = list\nlist = 1;2\n",
               NULL, 0, "t.ini:6: [correlator] list", "d = 2");
}

/* [brg] cutoffs, keep_mse_below, probe: the authors' 25-cutoff list on one
 * line; every refusal names file, line and key. */
static void test_flow_selection_keys(void **state)
{
  (void)state;
  bf_params p;
  const char *flow = "[fisher]\nsolver = auto\n[data]\nn_test = 8\n[brg]\nflow = yes\n";
  char text[1024];
  snprintf(text, sizeof text, "%scutoffs = 1e-4, 5e-3, 7.5e-3, 1e-2, 5e-2, 7.5e-2, 0.1, 0.5, "
           "0.75, 1, 5, 7.5, 10, 50, 75, 100, 500, 750, 1e3, 5e3, 7.5e3, 1e4, 5e4, 7.5e4, 1e5\n"
           "keep_mse_below = 0.5\nprobe = 0, 7\n", flow);
  assert_int_equal(parse(text, NULL, 0, &p), 0);
  FIGURE("authors' list: %d cutoffs parsed, first %g, last %g (expected 25, 1e-4, 1e5); "
         "probe %d, %d", p.brg.ncut, p.brg.cut[0], p.brg.cut[p.brg.ncut - 1], p.brg.probe_idx[0], p.brg.probe_idx[1]);
  assert_int_equal(p.brg.ncut, 25);
  assert_true(p.brg.cut[0] == 1e-4 && p.brg.cut[12] == 10 && p.brg.cut[24] == 1e5);
  assert_int_equal(p.brg.nprobe, 2);
  assert_true(p.brg.keep_mse_below == 0.5);
  /* the effective text re-parses to the same list */
  char *eff = bf_input_effective_text(&p);
  bf_params q;
  assert_int_equal(parse(eff, NULL, 0, &q), 0);
  assert_int_equal(q.brg.ncut, 25);
  assert_memory_equal(p.brg.cut, q.brg.cut, 25 * sizeof(double));
  free(eff), bf_params_free(&p), bf_params_free(&q);
  assert_int_equal(parse(flow, NULL, 0, &p), 0); /* default: the log grid, no probe */
  assert_true(p.brg.ncut == 0 && p.brg.nprobe == 0 && p.brg.keep_mse_below == 0);
  snprintf(text, sizeof text, "%scutoffs = 1, 0.5\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] cutoffs", "strictly ascending");
  snprintf(text, sizeof text, "%scutoffs = 0, 1\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] cutoffs", "positive");
  snprintf(text, sizeof text, "%scutoffs = 1, inf\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] cutoffs", "finite");
  snprintf(text, sizeof text, "%scutoffs = 1, 2\ncount = 5\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] cutoffs", "[brg] count");
  snprintf(text, sizeof text, "%scutoffs = 1, 2\nlambda_min = 1e-3\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] cutoffs", "[brg] lambda_min");
  snprintf(text, sizeof text, "%sprobe = 0, 8\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] probe", "0 .. n_test-1 = 7");
  snprintf(text, sizeof text, "%skeep_mse_below = -1\n", flow);
  expect_error(text, NULL, 0, "t.ini:7: [brg] keep_mse_below", "out of range");
  expect_error("[brg]\nprobe = 1\n", NULL, 0, "t.ini:2: [brg] probe", "flow = yes");
  expect_error("[brg]\nkeep_mse_below = 1\n", NULL, 0, "t.ini:2: [brg] keep_mse_below",
               "flow = yes");
  expect_error("[brg]\ncutoffs = 1\n", NULL, 0, "t.ini:2: [brg] cutoffs", "flow = yes");
  /* a line inih would split is refused, naming the line */
  char longl[400];
  snprintf(longl, sizeof longl, "%scutoffs = 1", flow);
  for (int i = 2; i < 80; i++) snprintf(longl + strlen(longl), sizeof longl - strlen(longl), ", %d", i);
  strcat(longl, "\n");
  expect_error(longl, NULL, 0, "t.ini:7: line of", "at most 198");
  /* and --set, whose value would make the effective text's line too long */
  char set[400] = "brg.cutoffs=1";
  for (int i = 2; i < 80; i++) snprintf(set + strlen(set), sizeof set - strlen(set), ", %d", i);
  const char *sets[] = {set};
  expect_error(flow, sets, 1, "--set brg.cutoffs", "too long for one input line");
}

static void test_bad_set(void **state)
{
  (void)state;
  const char *s1[] = {"network.wdth=3"};
  expect_error("", s1, 1, "--set network.wdth=3", "unknown key");
  const char *s2[] = {"width=3"};
  expect_error("", s2, 1, "--set width=3", "section.key=value");
  const char *s3[] = {"network.width=0"};
  expect_error("", s3, 1, "--set network.width=0: [network] width",
               "out of range");
}

static void test_existing_output_refused(void **state)
{
  (void)state;
  char path[] = "/tmp/bf_test_outXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "keep", 4), 4);
  close(fd);
  char text[256];
  snprintf(text, sizeof text, "[run]\noutput = %s\n", path);
  bf_params p;
  assert_int_equal(bf_input_parse("t.ini", text, NULL, 0, BF_OUTPUT_REFUSE, &p,
                                  err, sizeof err), -1);
  printf("    message: %s\n", err);
  assert_non_null(strstr(err, "t.ini:2: [run] output"));
  assert_non_null(strstr(err, "file exists"));
  assert_int_equal(bf_input_parse("t.ini", text, NULL, 0, BF_OUTPUT_REPLACE,
                                  &p, err, sizeof err), 0);
  snprintf(text, sizeof text, "[run]\noutput = /nonexistent/dir/x.h5\n");
  assert_int_equal(bf_input_parse("t.ini", text, NULL, 0, BF_OUTPUT_REPLACE,
                                  &p, err, sizeof err), -1);
  assert_non_null(strstr(err, "not writable"));
  unlink(path);
}

/* [train] method = sgd and the loss convention: the sgd keys are refused
 * under another method (they would be ignored), steps under sgd (epochs
 * count), loss under a method without a loss, and batch above n. */
static void test_sgd_keys(void **state)
{
  (void)state;
  bf_params p;
  const char *ok = "[data]\nn_train = 10\n[train]\nmethod = sgd\nbatch = 10\nepochs = 1000\n"
                   "order = shuffled\nloss = mse\nlr = 1e-6\nrecord_every = 100\n";
  assert_int_equal(parse(ok, NULL, 0, &p), 0);
  assert_int_equal(p.train.method, BF_TRAIN_SGD);
  assert_int_equal(p.train.batch, 10);
  assert_int_equal(p.train.epochs, 1000);
  assert_int_equal(p.train.order, BF_ORDER_SHUFFLED);
  assert_int_equal(p.train.loss, BF_LOSS_MSE);
  assert_int_equal(parse("[train]\nmethod = gd\nloss = mse\n", NULL, 0, &p), 0);
  assert_int_equal(p.train.loss, BF_LOSS_MSE);
  /* defaults given explicitly are not "set away from the default" */
  assert_int_equal(parse("[train]\nmethod = gd\nbatch = 1\norder = fixed\n", NULL, 0, &p), 0);
  expect_error("[train]\nmethod = gd\nbatch = 4\n", NULL, 0, "t.ini:3: [train] batch = '4'",
               "only by [train] method = sgd");
  expect_error("[train]\nmethod = gd\n\nepochs = 5\n", NULL, 0, "t.ini:4: [train] epochs",
               "method = sgd");
  const char *s1[] = {"train.order=shuffled"};
  expect_error("[train]\nmethod = posterior\n", s1, 1,
               "--set train.order=shuffled: [train] order", "method = sgd");
  expect_error("[train]\nmethod = sgd\nsteps = 50\n", NULL, 0, "t.ini:3: [train] steps",
               "set [train] epochs");
  expect_error("[train]\nmethod = posterior\nloss = mse\n", NULL, 0,
               "t.ini:3: [train] loss = 'mse'", "gd or sgd");
  expect_error("[data]\nn_train = 8\n[train]\nmethod = sgd\nbatch = 9\n", NULL, 0,
               "t.ini:5: [train] batch = '9'", "more than the 8 training points");
  /* on the full lattice n = L^d, whatever n_train says */
  expect_error("[lattice]\nsites = 4\n[data]\npoints = lattice\n[train]\nmethod = sgd\n"
               "batch = 5\n", NULL, 0, "[train] batch", "more than the 4 training points");
  FIGURE("sgd keys: 7 refusals, each naming file, line and key (exact strings)");
}

/* Every refusal names where the key concerned came from: a file line
 * (t.ini:N with N > 0) or --set; never line 0.  The cases are the refusals
 * that involve a second key, a default, --set, a BOM, blanks in a section
 * header, and a line after the longest allowed one. */
static void test_every_refusal_located(void **state)
{
  (void)state;
  char longline[256];
  memset(longline, 'x', 198);
  longline[0] = ';', longline[198] = '\0';
  char after_long[512];
  snprintf(after_long, sizeof after_long, "[run]\n%s\n[network]\nwidth = 0\n", longline);
  const struct { const char *text, *set, *where; } cases[] = {
    {"[data]\nnoise = 0\n[fisher]\nsolver = auto\n", NULL, "t.ini:2: [data] noise"},
    {"[data]\ntarget = file\n[train]\nmethod = gd\n", NULL, "t.ini:2: [data] target"},
    {"[fisher]\nsolver = auto\n[brg]\nflow = yes\nlambda_max = 1e-7\n", NULL,
     "t.ini:5: [brg] lambda_max"},
    {"[network]\nd = 2\n[data]\npoints = grid\n[train]\nmethod = gd\n", NULL,
     "t.ini:4: [data] points"},
    {"[network]\narch = mlp\nd = 2\n[data]\npoints = grid\nn_train = 16\n[train]\nmethod = gd\n",
     "network.d=3", "t.ini:6: [data] n_train"},
    {"[network]\narch = mlp\n[correlator]\npoints = list\n", NULL, "t.ini:4: [correlator] points"},
    {"[network]\narch = mlp\n[data]\ntarget = expression\n[train]\nmethod = gd\n", NULL,
     "t.ini:4: [data] target"},
    {"[lattice]\nspacing = 2\n", NULL, "t.ini:2: [lattice] spacing"},
    {"", "lattice.spacing=2", "--set lattice.spacing=2: [lattice] spacing"},
    {"[network]\nd = 3\n[lattice]\nsites = 2048\n", NULL, "t.ini:4: [lattice] sites"},
    {"[fisher]\nsolver = auto\n", "data.noise=0", "--set data.noise=0: [data] noise"},
    {"\xEF\xBB\xBF[run]\nseeed = 3\n", NULL, "t.ini:2: [run] seeed"},
    {"\xEF\xBB\xBF[bogus]\nx = 1\n", NULL, "t.ini:1: unknown section [bogus]"},
    {"[ run ]\nseed = 3\n", NULL, "t.ini:1: unknown section [ run ]"},
    {"[train]\nlr = 0.1\n", NULL, "t.ini:2: [train] lr"},
    {"", "fisher.basis=diagonal", "--set fisher.basis=diagonal: [fisher] basis"},
    {after_long, NULL, "t.ini:4: [network] width"},
  };
  int n = (int)(sizeof cases / sizeof cases[0]);
  for (int i = 0; i < n; i++) {
    bf_params p;
    const char *sets[] = {cases[i].set};
    assert_int_equal(parse(cases[i].text, sets, cases[i].set ? 1 : 0, &p), -1);
    printf("    message: %s\n", err);
    if (!strstr(err, cases[i].where)) fail_msg("case %d: '%s' lacks '%s'", i, err, cases[i].where);
    if (strstr(err, ":0:") || strstr(err, "line 0")) fail_msg("case %d: line 0 in '%s'", i, err);
  }
  FIGURE("%d refusals, each naming its file line or --set (none says line 0)", n);
}

/* A key its stage would ignore is refused, naming file, line and key; the
 * same key where its stage uses it is accepted. */
static void test_keys_their_stage_ignores(void **state)
{
  (void)state;
  static const struct { const char *text, *where, *why; } cases[] = {
    {"[fisher]\nbasis = diagonal\n", "t.ini:2: [fisher] basis", "set [fisher] solver"},
    {"[fisher]\nsigma = 2\n", "t.ini:2: [fisher] sigma", "set [fisher] solver"},
    {"[fisher]\ngroups = 2\n", "t.ini:2: [fisher] groups", "set [fisher] solver"},
    {"[network]\narch = mlp\n[fisher]\nsolver = auto\nscale = 3\n[train]\nmethod = gd\n",
     "t.ini:5: [fisher] scale", "arch = cosnet"},
    {"[train]\nlr = 0.1\n", "t.ini:2: [train] lr", "method = gd or sgd"},
    {"[train]\nsteps = 10\n", "t.ini:2: [train] steps", "method = gd"},
    {"[train]\nmethod = posterior\nrecord_every = 5\n", "t.ini:3: [train] record_every",
     "gd or sgd"},
    {"[train]\ntrainable = readout\n", "t.ini:2: [train] trainable", "arch = mlp"},
    {"[run]\ncheckpoint_every = 5\n", "t.ini:2: [run] checkpoint_every", "gd or sgd"},
    {"[run]\ncheckpoint_flow_every = 5\n", "t.ini:2: [run] checkpoint_flow_every", "flow"},
    {"[brg]\nrelative = yes\n", "t.ini:2: [brg] relative", "flow = yes"},
    {"[brg]\nbootstrap = 10\n", "t.ini:2: [brg] bootstrap", "flow = yes"},
    {"[network]\ndepth = 3\n", "t.ini:2: [network] depth", "cos-net"},
    {"[network]\nsigma_w = 2\n", "t.ini:2: [network] sigma_w", "cos-net"},
    {"[network]\nactivation = tanh\n", "t.ini:2: [network] activation", "cos-net"},
    {"[network]\nparameterization = standard\n", "t.ini:2: [network] parameterization",
     "cos-net"},
    {"[network]\nbias = no\n", "t.ini:2: [network] bias", "cos-net"},
    {"[network]\narch = mlp\n[cosnet]\nmass = 2\n", "t.ini:4: [cosnet] mass", "arch = cosnet"},
    {"[network]\narch = mlp\n[lattice]\nsites = 8\n", "t.ini:4: [lattice] sites",
     "points = lattice"},
    {"[correlator]\ncount = 4\n", "t.ini:2: [correlator] count", "arch = mlp"},
    {"[network]\narch = mlp\n[correlator]\npoints = list\nlist = 1;2\ncount = 4\n",
     "t.ini:6: [correlator] count", "points = grid"},
    {"[network]\narch = mlp\n[correlator]\nlist = 1;2\n", "t.ini:4: [correlator] list",
     "points = list"},
    {"[kernel]\norder = 8\n", "t.ini:2: [kernel] order", "arch = mlp"},
    {"[data]\nn_test = 4\n", "t.ini:2: [data] n_test", "training run"},
    {"[data]\npoints = lattice\nn_train = 4\n[train]\nmethod = gd\n", "t.ini:3: [data] n_train",
     "L^d"},
    {"[data]\ntarget = file\nfile = /etc/hostname\npoints = grid\n[train]\nmethod = gd\n",
     "t.ini:4: [data] points", "from the file"},
    {"[data]\ntarget = file\nfile = /etc/hostname\ndomain = 2\n[train]\nmethod = gd\n",
     "t.ini:4: [data] domain", "target = file"},
    {"[data]\ntarget = file\nfile = /etc/hostname\nnoise = 0.2\n[train]\nmethod = gd\n",
     "t.ini:4: [data] noise", "own noise"},
    {"[data]\nfile = x.h5\n[train]\nmethod = gd\n", "t.ini:2: [data] file", "target = file"},
    {"[train]\nmethod = sgd\nsteps = 5\n", "t.ini:3: [train] steps", "set [train] epochs"},
    {"[lattice]\nsites = 8\n[data]\npoints = lattice\n[fisher]\nsolver = auto\n[brg]\n"
     "flow = yes\nrelative = yes\n", "t.ini:9: [brg] relative", "ERG checks"},
  };
  int n = (int)(sizeof cases / sizeof cases[0]);
  for (int i = 0; i < n; i++) {
    bf_params p;
    assert_int_equal(parse(cases[i].text, NULL, 0, &p), -1);
    printf("    message: %s\n", err);
    if (!strstr(err, cases[i].where) || !strstr(err, cases[i].why))
      fail_msg("case %d: '%s' lacks '%s' or '%s'", i, err, cases[i].where, cases[i].why);
  }
  /* used where their stage runs; defaults given explicitly are not "set" */
  static const char *ok[] = {
    "[fisher]\nsolver = auto\nbasis = diagonal\nsigma = 2\n",
    "[network]\narch = mlp\ndepth = 2\n[train]\nmethod = gd\nlr = 0.1\nsteps = 10\n",
    "[train]\nlr = 0.5\nsteps = 200\n[fisher]\nbasis = eigen\n[brg]\nrelative = no\n",
    "[lattice]\nsites = 8\n[data]\npoints = lattice\n[fisher]\nsolver = auto\n[brg]\n"
    "flow = yes\nlambda_min = 1\nlambda_max = 10\n",
    "[network]\narch = mlp\n[data]\ntarget = file\nfile = /etc/hostname\n[fisher]\n"
    "solver = auto\n",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    bf_params p;
    if (parse(ok[i], NULL, 0, &p) != 0) fail_msg("accepted input %zu refused: %s", i, err);
    bf_params_free(&p);
  }
  FIGURE("%d keys refused where their stage would ignore them, %zu inputs using them accepted",
         n, sizeof ok / sizeof ok[0]);
}

/* Every shipped input parses: the rules above must not refuse them. */
static void test_shipped_inputs_accepted(void **state)
{
  (void)state;
  glob_t g;
  assert_int_equal(glob("inputs/*.ini", 0, NULL, &g), 0);
  for (size_t i = 0; i < g.gl_pathc; i++) {
    FILE *f = fopen(g.gl_pathv[i], "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    bf_params p;
    if (bf_input_parse(g.gl_pathv[i], text, NULL, 0, BF_OUTPUT_IGNORE, &p, err, sizeof err))
      fail_msg("%s refused: %s", g.gl_pathv[i], err);
    bf_params_free(&p);
  }
  FIGURE("%zu shipped inputs (inputs/*.ini) accepted", g.gl_pathc);
  globfree(&g);
}

/* docs/inputs.md must list every key exactly as the key table prints it. */
static void test_docs_list_every_key(void **state)
{
  (void)state;
  char *table = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&table, &len);
  bf_input_print_keys(mem);
  fclose(mem);
  FILE *f = fopen("docs/inputs.md", "r");
  assert_non_null(f);
  static char doc[1 << 17];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  doc[n] = '\0';
  fclose(f);
  int rows = 0;
  for (char *line = strtok(table, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strstr(doc, line)) fail_msg("docs/inputs.md lacks: %s", line);
    rows++;
  }
  FIGURE("%d key-table rows found in docs/inputs.md", rows);
  free(table);
}


static const struct CMUnitTest group[] = {
  cmocka_unit_test(test_flow_selection_keys),
  cmocka_unit_test(test_defaults_and_values),
  cmocka_unit_test(test_set_overrides),
  cmocka_unit_test(test_effective_text_round_trip),
  cmocka_unit_test(test_unknown_section),
  cmocka_unit_test(test_unknown_key),
  cmocka_unit_test(test_malformed_values),
  cmocka_unit_test(test_out_of_range),
  cmocka_unit_test(test_cutoff_above_nyquist),
  cmocka_unit_test(test_duplicate_key),
  cmocka_unit_test(test_key_outside_section_and_indented_line),
  cmocka_unit_test(test_mlp_keys),
  cmocka_unit_test(test_bad_set),
  cmocka_unit_test(test_existing_output_refused),
  cmocka_unit_test(test_sgd_keys),
  cmocka_unit_test(test_every_refusal_located),
  cmocka_unit_test(test_keys_their_stage_ignores),
  cmocka_unit_test(test_shipped_inputs_accepted),
  cmocka_unit_test(test_docs_list_every_key),
};
BF_TEST_MAIN(group)
