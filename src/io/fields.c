/* fields.c — result tables: one table per result struct serves allocation,
 * the HDF5 result, the checkpoint and the restore.
 *
 *   bf_field_on       does this run have the row (its condition bits)?
 *   bf_field_cols     doubles per member row, or the whole array's length
 *   bf_field_len      doubles this rank holds
 *   bf_field_data     the row's array in its struct
 *   bf_fields_alloc   allocate every array the run has, zeroed, where it lives
 *   bf_fields_free    free them all
 *   bf_fields_write   write every row that has a result name, with its units
 *                     and meaning (collective)
 *
 * A row names one `double *` member of its struct by offset, so a new
 * observable is one row here and one function that fills it; the writer,
 * the checkpoint and the restore find it without further code. */
#include "brgflow/io.h"

#include <stdlib.h>
#include <string.h>

int bf_field_on(const bf_field *f, const bf_sizes *s)
{
  return (f->when & s->have) == f->when;
}

static int64_t axis(const bf_sizes *s, char c)
{
  BF_ASSERT(c >= 'A' && c <= 'Z');
  return s->n[c - 'A'];
}

/* Member rows: doubles per row (the shape without its row axis); other
 * placements: the whole array's length. */
int64_t bf_field_cols(const bf_field *f, const bf_sizes *s)
{
  int64_t len = 1;
  for (const char *c = f->shape; *c; c++) len *= axis(s, *c);
  return len;
}

int64_t bf_field_len(const bf_field *f, const bf_sizes *s, int rank)
{
  int64_t cols = bf_field_cols(f, s);
  if (f->place == BF_MEMBER_ROWS) return s->count * cols;
  if (f->place == BF_RANK0 && rank != 0) return 0;
  return cols;
}

double **bf_field_data(void *owner, const bf_field *f)
{
  return (double **)((char *)owner + f->offset);
}

void bf_fields_alloc(void *owner, const bf_field *t, int n, const bf_sizes *s, int rank)
{
  for (int i = 0; i < n; i++) {
    if (!bf_field_on(&t[i], s) || (t[i].place == BF_RANK0 && rank != 0)) continue;
    double **d = bf_field_data(owner, &t[i]);
    if (*d) continue; /* allocated by an earlier stage */
    int64_t len = bf_field_len(&t[i], s, rank);
    *d = BF_CALLOC(len + 1, double); /* + 1: never size 0 */
    bf_mem_track(8.0 * len);
  }
}

void bf_fields_free(void *owner, const bf_field *t, int n)
{
  for (int i = 0; i < n; i++) {
    double **d = bf_field_data(owner, &t[i]);
    free(*d);
    *d = NULL;
  }
}

/* HDF5 dims of a shape: 'S' (lattice sites) is d axes of L. */
static int dims_of(const bf_field *f, const bf_sizes *s, hsize_t *dims)
{
  int r = 0;
  for (const char *c = f->shape; *c; c++)
    if (*c == 'S')
      for (int j = 0; j < s->d; j++) dims[r++] = (hsize_t)axis(s, 'L');
    else
      dims[r++] = (hsize_t)axis(s, *c);
  return r;
}

/* "@X": the units the run gives axis letter X's slot, else as written. */
static const char *units_of(const bf_field *f, const bf_sizes *s)
{
  if (f->units[0] != '@') return f->units;
  const char *u = s->units[f->units[1] - 'A'];
  BF_ASSERT(u != NULL);
  return u;
}

void bf_fields_write(bf_h5 *h, const char *const groups[2], const void *owner,
                     const bf_field *t, int n, const bf_sizes *s)
{
  char name[256];
  for (int i = 0; i < n; i++) {
    const bf_field *f = &t[i];
    if (!f->result || !bf_field_on(f, s) || !groups[f->group]) continue;
    if ((f->result_when & s->have) != f->result_when) continue;
    snprintf(name, sizeof name, "%s/%s", groups[f->group], f->result);
    const double *data = *bf_field_data((void *)owner, f);
    hsize_t dims[16];
    if (f->place == BF_MEMBER_ROWS) {
      dims[0] = (hsize_t)s->members;
      int r = 1 + dims_of(f, s, dims + 1);
      bf_h5_write_block(h, name, r, dims, (hsize_t)s->first, (hsize_t)s->count, data,
                        units_of(f, s), f->what);
    } else {
      int r = dims_of(f, s, dims);
      bf_h5_write_root(h, name, r, dims, data, units_of(f, s), f->what);
    }
  }
}
