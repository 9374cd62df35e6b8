/* h5cmp.c — compare one dataset in two HDF5 files, element by element.
 *
 *   h5cmp A.h5 B.h5 DATASET TOL [rowmax]
 * prints the largest absolute and relative difference (relative to
 * max(|a|, |b|) per element, or with `rowmax` to the largest |a| of the
 * element's row: for spectra, whose tiny eigenvalues are only determined
 * to rounding of the largest) and exits 1 if the relative one exceeds TOL,
 * or if the shapes differ.  TOL = 0 demands bitwise-equal values. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hsize_t row_length = 1;

static double *read_all(const char *file, const char *name, hssize_t *n)
{
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return NULL;
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) return NULL;
  hid_t sp = H5Dget_space(ds);
  *n = H5Sget_simple_extent_npoints(sp);
  hsize_t dims[8];
  int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
  row_length = rank > 1 ? dims[rank - 1] : (hsize_t)*n;
  double *v = malloc((size_t)(*n > 0 ? *n : 1) * sizeof(double));
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(f);
  return v;
}

int main(int argc, char **argv)
{
  int rowmax = argc == 6 && !strcmp(argv[5], "rowmax");
  if (argc != 5 && !rowmax) {
    fprintf(stderr, "usage: h5cmp A.h5 B.h5 DATASET TOL [rowmax]\n");
    return 2;
  }
  hssize_t na = 0, nb = 0;
  double *a = read_all(argv[1], argv[3], &na), *b = read_all(argv[2], argv[3], &nb);
  double tol = atof(argv[4]), amax = 0, rmax = 0;
  if (!a || !b || na != nb) {
    printf("%s: missing or shapes differ (%lld vs %lld)\n", argv[3], (long long)na,
           (long long)nb);
    return 1;
  }
  for (hssize_t i = 0; i < na; i++) {
    double d = fabs(a[i] - b[i]), s = fmax(fabs(a[i]), fabs(b[i]));
    if (rowmax) {
      hssize_t r0 = i - i % (hssize_t)row_length;
      s = 0;
      for (hssize_t j = r0; j < r0 + (hssize_t)row_length; j++) s = fmax(s, fabs(a[j]));
    }
    amax = fmax(amax, d);
    if (d > 0) rmax = fmax(rmax, s > 0 ? d / s : INFINITY);
  }
  printf("%s: %lld values, max |a-b| = %.3g, max relative%s = %.3g (tolerance %g)\n",
         argv[3], (long long)na, amax, rowmax ? " to the row's largest" : "", rmax, tol);
  free(a);
  free(b);
  return rmax <= tol ? 0 : 1;
}
