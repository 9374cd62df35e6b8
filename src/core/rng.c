/* rng.c — counter-based random streams (Random123 Philox4x64-10).
 *
 *   bf_rng_stream    a stream keyed by (seed, member, purpose)
 *   bf_rng_uniform4  four uniforms in (0,1) at counter (index, sub)
 *   bf_rng_uniform   one uniform at index
 *   bf_rng_normal    one standard normal at index (Box-Muller)
 *   bf_rng_normals   normals first..first+n-1, four per Philox call
 *
 * Key = (seed, member); counter = (purpose, index, sub, 0) for uniforms and
 * (purpose, index/4, 0, 1) for normals.  A draw is a pure
 * function of these five numbers, which is what makes an ensemble member's
 * parameters independent of the rank layout. */
#include "brgflow/core.h"

#include <math.h>
#include <Random123/philox.h>

bf_rng bf_rng_stream(uint64_t seed, uint64_t member, uint32_t purpose)
{
  bf_rng s = {seed, member, purpose};
  return s;
}

/* 53 random bits, shifted off zero: the result lies in (0,1), so log(u) and
 * 1/u are always finite. */
static double to_open_unit(uint64_t x)
{
  return ((double)(x >> 11) + 0.5) * 0x1.0p-53;
}

void bf_rng_uniform4(const bf_rng *s, uint64_t index, uint64_t sub, double u[4])
{
  philox4x64_ctr_t ctr = {{s->purpose, index, sub, 0}};
  philox4x64_key_t key = {{s->seed, s->member}};
  philox4x64_ctr_t r = philox4x64(ctr, key);
  for (int k = 0; k < 4; k++) u[k] = to_open_unit(r.v[k]);
}

double bf_rng_uniform(const bf_rng *s, uint64_t index)
{
  double u[4];
  bf_rng_uniform4(s, index, 0, u);
  return u[0];
}

/* Normals k = 4j..4j+3 come from one Philox call at counter
 * (purpose, j, 0, 1): two Box-Muller pairs.  The last counter word keeps
 * normals and uniforms of one stream in separate counter spaces. */
static void normal4(const bf_rng *s, uint64_t block, double z[4])
{
  philox4x64_ctr_t ctr = {{s->purpose, block, 0, 1}};
  philox4x64_key_t key = {{s->seed, s->member}};
  philox4x64_ctr_t r = philox4x64(ctr, key);
  for (int k = 0; k < 4; k += 2) {
    double rad = sqrt(-2.0 * log(to_open_unit(r.v[k])));
    double ang = 2.0 * M_PI * to_open_unit(r.v[k + 1]);
    z[k] = rad * cos(ang);
    z[k + 1] = rad * sin(ang);
  }
}

double bf_rng_normal(const bf_rng *s, uint64_t index)
{
  double z[4];
  normal4(s, index >> 2, z);
  return z[index & 3];
}

void bf_rng_normals(const bf_rng *s, uint64_t first, int64_t n, double *out)
{
  double z[4];
  uint64_t block = UINT64_MAX;
  for (int64_t k = 0; k < n; k++) {
    uint64_t i = first + (uint64_t)k;
    if (i >> 2 != block) {
      block = i >> 2;
      normal4(s, block, z);
    }
    out[k] = z[i & 3];
  }
}
