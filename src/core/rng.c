/* rng.c — counter-based random streams (Random123 Philox4x64-10).
 *
 *   bf_rng_stream    a stream keyed by (seed, member, purpose)
 *   bf_rng_uniform4  four uniforms in (0,1) at counter (index, sub)
 *   bf_rng_uniform   one uniform at index
 *   bf_rng_normal    one standard normal at index (Box-Muller)
 *
 * Key = (seed, member); counter = (purpose, index, sub, 0).  A draw is a pure
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

double bf_rng_normal(const bf_rng *s, uint64_t index)
{
  double u[4];
  bf_rng_uniform4(s, index, 0, u);
  return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}
