/* Small deterministic random number generator (splitmix64 seeding a
 * xoshiro256**), identical on every platform. */
#ifndef GB_RNG_H
#define GB_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } gb_rng;

void gb_rng_seed(gb_rng *r, uint64_t seed);
uint64_t gb_rng_next(gb_rng *r);
/* Uniform in [0, 1). */
double gb_rng_uniform(gb_rng *r);
/* Standard normal (Box-Muller). */
double gb_rng_normal(gb_rng *r);
/* Uniform integer in [0, n). */
uint64_t gb_rng_below(gb_rng *r, uint64_t n);
/* Fisher-Yates shuffle of an int array. */
void gb_rng_shuffle(gb_rng *r, int *a, int n);

#endif
