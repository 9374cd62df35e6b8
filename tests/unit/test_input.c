/* test_input.c — input parsing, --set, the effective text, and every error
 * path: each bad input must give one message naming file, line and key. */
#include "testutil.h"

#include "brgflow/input.h"

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
  assert_int_equal(p.d, 2);
  assert_int_equal(p.width, 64);
  assert_true(p.mass == 0.25);
  assert_int_equal(p.momenta, BF_MOMENTA_CONTINUUM);
  assert_true(p.seed == UINT64_MAX);
  assert_string_equal(p.output, "o.h5");
  assert_int_equal(p.sites, 32); /* default */
  assert_int_equal(p.arch, BF_ARCH_COSNET);
}

static void test_set_overrides(void **state)
{
  (void)state;
  bf_params p;
  const char *sets[] = {"network.width=17", "cosnet.momenta=continuum"};
  assert_int_equal(parse("[network]\nwidth = 5\n", sets, 2, &p), 0);
  assert_int_equal(p.width, 17);
  assert_int_equal(p.momenta, BF_MOMENTA_CONTINUUM);
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
  /* ... and the default cutoff 2.0 is located as a default */
  expect_error("[lattice]\nspacing = 2\n", NULL, 0, "[cosnet] cutoff (default",
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
  assert_int_equal(p.arch, BF_ARCH_MLP);
  assert_int_equal(p.npoints, 3);
  assert_true(p.x[2 * 2 + 0] == -1 && p.x[2 * 2 + 1] == 0.5);
  assert_int_equal(p.nquads, 2);
  assert_int_equal(p.quad[0][3], 2);
  /* default grid: 8 points along e_1 from -1 to 1, auto quadruples */
  assert_int_equal(parse("[network]\narch = mlp\n", NULL, 0, &p), 0);
  assert_int_equal(p.npoints, 8);
  assert_true(p.x[7] == 1.0 && p.x[0] == -1.0);
  assert_int_equal(p.nquads, 3);
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
         "probe %d, %d", p.ncut, p.cut[0], p.cut[p.ncut - 1], p.probe_idx[0], p.probe_idx[1]);
  assert_int_equal(p.ncut, 25);
  assert_true(p.cut[0] == 1e-4 && p.cut[12] == 10 && p.cut[24] == 1e5);
  assert_int_equal(p.nprobe, 2);
  assert_true(p.keep_mse_below == 0.5);
  /* the effective text re-parses to the same list */
  char *eff = bf_input_effective_text(&p);
  bf_params q;
  assert_int_equal(parse(eff, NULL, 0, &q), 0);
  assert_int_equal(q.ncut, 25);
  assert_memory_equal(p.cut, q.cut, 25 * sizeof(double));
  free(eff), bf_params_free(&p), bf_params_free(&q);
  assert_int_equal(parse(flow, NULL, 0, &p), 0); /* default: the log grid, no probe */
  assert_true(p.ncut == 0 && p.nprobe == 0 && p.keep_mse_below == 0);
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
  assert_int_equal(p.method, BF_TRAIN_SGD);
  assert_int_equal(p.batch, 10);
  assert_int_equal(p.epochs, 1000);
  assert_int_equal(p.sgd_order, BF_ORDER_SHUFFLED);
  assert_int_equal(p.loss, BF_LOSS_MSE);
  assert_int_equal(parse("[train]\nmethod = gd\nloss = mse\n", NULL, 0, &p), 0);
  assert_int_equal(p.loss, BF_LOSS_MSE);
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
  cmocka_unit_test(test_docs_list_every_key),
};
BF_TEST_MAIN(group)
