/* splitmix64 + xoshiro256**: fast, tiny and the same everywhere. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void gb_rng_seed(gb_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; ++i) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t gb_rng_next(gb_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gb_rng_uniform(gb_rng *r) { return (double)(gb_rng_next(r) >> 11) * 0x1.0p-53; }

double gb_rng_normal(gb_rng *r) {
    double u1 = gb_rng_uniform(r), u2 = gb_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t gb_rng_below(gb_rng *r, uint64_t n) { return n ? gb_rng_next(r) % n : 0; }

void gb_rng_shuffle(gb_rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; --i) {
        int j = (int)gb_rng_below(r, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
