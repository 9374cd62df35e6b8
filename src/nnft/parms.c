/* parms.c — the nnft input keys: the measured points and the infinite-width kernels.
 *
 *   bf_nnft_keys           the rows of [correlator], [kernel]
 *   bf_print_nnft_parms    their effective values
 *   bf_check_nnft_parms    [correlator] points and quadruples -> x, quad */
#include "brgflow/nnft_parms.h"
#include "brgflow/input.h"
#include "brgflow/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(bf_params, f)
static const bf_key KEYS[] = {
  {"correlator", "points", BF_KEY_ENUM, OFF(corr.points), "grid", "-", 0, 0, 0,
   "grid|list", "MLP: the measure stage's points (prior; trained and every flow step): a "
   "grid along a direction, or a list", BF_RESULTS},
  {"correlator", "count", BF_KEY_INT, OFF(corr.count), "8", "-", 2, BF_MAX_POINTS, 0,
   NULL, "grid: number of points", BF_RESULTS},
  {"correlator", "from", BF_KEY_REAL, OFF(corr.from), "-1.0", "length", -1e300, 1e300, 0,
   NULL, "grid: first point is from * direction", BF_RESULTS},
  {"correlator", "to", BF_KEY_REAL, OFF(corr.to), "1.0", "length", -1e300, 1e300, 0,
   NULL, "grid: last point is to * direction", BF_RESULTS},
  {"correlator", "direction", BF_KEY_STR, OFF(corr.direction), "1", "-", 0, 0, 0, NULL,
   "grid: direction, d comma-separated numbers (normalized; missing trailing "
   "components are 0)", BF_RESULTS},
  {"correlator", "list", BF_KEY_STR, OFF(corr.list), "none", "length", 0, 0, 0, NULL,
   "list: points separated by ';', each d comma-separated numbers", BF_RESULTS},
  {"correlator", "quadruples", BF_KEY_STR, OFF(corr.quadruples), "auto", "-", 0, 0, 0,
   NULL,
   "G4c point quadruples 'i,j,k,l;...' (indices into the points); auto: "
   "(0,0,0,0), (0,0,n-1,n-1), (0,1,n-2,n-1)", BF_RESULTS},
  {"correlator", "blocks", BF_KEY_INT, OFF(corr.blocks), "32", "-", 2, 1024, 0, NULL,
   "jackknife blocks (by member index) for the G4c errors", BF_RESULTS},
  {"kernel", "quadrature", BF_KEY_ENUM, OFF(kernel.quadrature), "auto", "-", 0, 0, 0,
   "auto|hermite",
   "infinite-width kernels: auto (closed form where known, else Gauss-Hermite) "
   "or hermite (always quadrature)", BF_RESULTS},
  {"kernel", "order", BF_KEY_INT, OFF(kernel.order), "96", "-", 4, 2048, 0, NULL,
   "minimum quadrature order per dimension; raised to 64 + 110 var (var: the "
   "variance along that dimension), at most 2048", BF_RESULTS},
};
#undef OFF

const bf_key_table bf_nnft_keys = {KEYS, sizeof KEYS / sizeof KEYS[0]};

void bf_print_nnft_parms(FILE *out, const bf_params *p)
{
  bf_print_keys(out, p, &bf_nnft_keys);
}

static int string_fail(bf_check *c, const char *key, const char *why)
{
  return bf_check_fail(c, "correlator", key, why);
}

/* [correlator]: the points x (grid along a direction, or a list). */
static int derive_points(bf_check *c, bf_params *p)
{
  char why[160];
  if (p->corr.points == BF_POINTS_GRID) {
    double *u = BF_CALLOC(p->net.d, double), norm = 0;
    int n = bf_parse_list(p->corr.direction, u, p->net.d);
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
    return bf_check_pair_fail(c, "correlator", "list", "correlator", "points",
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
    if (bf_parse_list(pt, x, p->net.d) != p->net.d) return string_fail(c, "list", why);
  }
  if (p->corr.npoints < 2)
    return string_fail(c, "list", "points = list needs at least 2 points");
  return 1;
}

/* [correlator] quadruples: indices into the points. */
static int derive_quadruples(bf_check *c, bf_params *p)
{
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
    if (bf_parse_list(q, v, 4) != 4) return string_fail(c, "quadruples", why);
    for (int j = 0; j < 4; j++) {
      if (v[j] != floor(v[j]) || v[j] < 0 || v[j] >= n)
        return string_fail(c, "quadruples", why);
      p->corr.quad[p->corr.nquads][j] = (int)v[j];
    }
    p->corr.nquads++;
  }
  return p->corr.nquads > 0 ? 1 : string_fail(c, "quadruples", why);
}

/* [correlator] points and quadruples (the quadruples index the points). */
int bf_check_nnft_parms(bf_check *c, bf_params *p)
{
  return derive_points(c, p) && derive_quadruples(c, p);
}
