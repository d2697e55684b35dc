/* caviar/rng.h: the random numbers of caviar, all reproducible from a seed.
 *
 * Two kinds:
 *  - cv_hash64/cv_hash_key: a counter-based mix (splitmix64's finalizer), so
 *    that a number keyed by (seed, round, trial, dimension) depends on nothing
 *    else: not on the order of calls nor on how many workers there are.
 *  - cv_rng: xoshiro256** streams for long sequences (weight init, shuffles,
 *    dropout masks), seeded from a key. */
#ifndef CAVIAR_RNG_H
#define CAVIAR_RNG_H

#include <math.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 cv_u128_;

typedef struct cv_rng {
    uint64_t s[4];
} cv_rng;

/* splitmix64's output function: a bijective 64-bit mix. */
static inline uint64_t cv_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A key from a seed and up to three counters: each counter is folded in
 * through the mix, so (1, 2) and (2, 1) give unrelated keys. */
static inline uint64_t cv_hash_key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = cv_hash64(seed);
    h = cv_hash64(h ^ a);
    h = cv_hash64(h ^ b);
    return cv_hash64(h ^ c);
}

static inline void cv_rng_seed(cv_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = cv_hash64(x);
    }
}

static inline uint64_t cv_rng_next(cv_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double cv_rng_uniform(cv_rng *r)
{
    return (double)(cv_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n > 0, without modulo bias (Lemire's method). */
static inline uint64_t cv_rng_below(cv_rng *r, uint64_t n)
{
    cv_u128_ m = (cv_u128_)cv_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (cv_u128_)cv_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Standard normal (Box-Muller; one value per call, the pair's twin dropped). */
static inline double cv_rng_normal(cv_rng *r)
{
    double u1 = 1.0 - cv_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = cv_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fisher-Yates shuffle of idx[0..n). */
static inline void cv_rng_shuffle(cv_rng *r, int32_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)cv_rng_below(r, (uint64_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

#endif
