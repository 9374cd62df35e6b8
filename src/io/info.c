/* info.c — `brgflow info FILE.h5`: what a result file holds.
 *
 *   bf_info  print /config (version, ranks, input), the run's /warnings, every
 *            dataset with its shape and units, and every scalar attribute
 *            (headline figures) */
#include "brgflow/io.h"

#include <stdlib.h>
#include <string.h>

static void print_attr_value(hid_t a, FILE *out)
{
  hid_t type = H5Aget_type(a);
  H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_STRING) {
    size_t n = H5Tget_size(type);
    char *s = BF_CALLOC(n + 1, char);
    if (H5Aread(a, type, s) >= 0) fprintf(out, "%s", s);
    else fprintf(out, "(unreadable)");
    free(s);
  } else if (cls == H5T_FLOAT) {
    double v;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0) fprintf(out, "%.6g", v);
    else fprintf(out, "(unreadable)");
  } else if (cls == H5T_INTEGER) {
    long long v;
    if (H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0) fprintf(out, "%lld", v);
    else fprintf(out, "(unreadable)");
  }
  H5Tclose(type);
}

static int ends_with(const char *s, const char *tail)
{
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && !strcmp(s + n - m, tail);
}

static void print_named_attr(hid_t obj, const char *name, FILE *out);

/* Scalar attributes of obj other than units/description, as "name value
 * [units] meaning": a number's NAME.units and NAME.description join it. */
static herr_t attr_cb(hid_t obj, const char *name, const H5A_info_t *info,
                      void *op)
{
  (void)info;
  FILE *out = op;
  if (!strcmp(name, "units") || !strcmp(name, "description") ||
      !strcmp(name, "input") || ends_with(name, ".units") || ends_with(name, ".description"))
    return 0;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  fprintf(out, "    %-22s ", name);
  print_attr_value(a, out);
  H5Aclose(a);
  char label[160];
  snprintf(label, sizeof label, "%s.units", name);
  if (H5Aexists(obj, label) > 0) {
    fprintf(out, "  [");
    print_named_attr(obj, label, out);
    fprintf(out, "] ");
    snprintf(label, sizeof label, "%s.description", name);
    print_named_attr(obj, label, out);
  }
  fprintf(out, "\n");
  return 0;
}

static void print_named_attr(hid_t obj, const char *name, FILE *out)
{
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  print_attr_value(a, out);
  H5Aclose(a);
}

/* The root attribute /warnings (fixed-length strings), one per line. */
static void print_warnings(hid_t f, FILE *out)
{
  if (H5Aexists(f, "warnings") <= 0) return;
  hid_t a = H5Aopen(f, "warnings", H5P_DEFAULT), type = H5Aget_type(a);
  hid_t space = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  size_t w = H5Tget_size(type);
  char *buf = BF_CALLOC((size_t)n * w + 1, char);
  H5Aread(a, type, buf);
  for (hssize_t i = 0; i < n; i++) fprintf(out, "warning: %.*s\n", (int)w, buf + i * w);
  free(buf);
  H5Sclose(space), H5Tclose(type), H5Aclose(a);
}

static herr_t link_cb(hid_t root, const char *name, const H5L_info_t *info,
                      void *op)
{
  (void)info;
  FILE *out = op;
  H5O_info_t oi;
  if (H5Oget_info_by_name(root, name, &oi, H5P_DEFAULT) < 0) return 0;
  hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
  if (oi.type == H5O_TYPE_DATASET) {
    hid_t space = H5Dget_space(obj);
    hsize_t dims[H5S_MAX_RANK]; /* any file: its rank, not ours, sizes this */
    int rank = H5Sget_simple_extent_dims(space, dims, NULL);
    char shape[128] = "(";
    size_t used = 1;
    for (int k = 0; k < rank && used < sizeof shape; k++)
      used += snprintf(shape + used, sizeof shape - used, "%s%llu", k ? ", " : "",
                       (unsigned long long)dims[k]);
    if (used < sizeof shape) snprintf(shape + used, sizeof shape - used, rank == 1 ? ",)" : ")");
    fprintf(out, "  /%-20s %-16s [", name, shape);
    print_named_attr(obj, "units", out);
    fprintf(out, "] ");
    print_named_attr(obj, "description", out);
    fprintf(out, "\n");
    H5Sclose(space);
  } else {
    fprintf(out, "  /%s/\n", name);
  }
  H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, out);
  H5Oclose(obj);
  return 0;
}

int bf_info(const char *path, FILE *out)
{
  bf_h5_errors_off();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  bf_h5_errors_restore();
  if (f < 0) {
    fprintf(stderr, "brgflow: error: cannot open '%s' as an HDF5 file\n", path);
    return 1;
  }
  fprintf(out, "file: %s\n", path);
  hid_t cfg = H5Oopen(f, "/config", H5P_DEFAULT);
  if (cfg >= 0) {
    fprintf(out, "version: ");
    print_named_attr(cfg, "version", out);
    fprintf(out, "\nranks: ");
    print_named_attr(cfg, "ranks", out);
    fprintf(out, "\ninput:\n");
    print_named_attr(cfg, "input", out);
    H5Oclose(cfg);
  }
  print_warnings(f, out);
  fprintf(out, "\ncontents (path, shape, [units], meaning; attributes below):\n");
  H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, link_cb, out);
  H5Fclose(f);
  return 0;
}
