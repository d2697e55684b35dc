/* test_rng.c: the random numbers of caviar/rng.h.
 *
 * Everything a study reproduces hangs on these few inline functions: the
 * counter-based keys (cv_hash64, cv_hash_key) that fix each trial's
 * configuration and seed, and the xoshiro256** streams behind weight init,
 * shuffles and dropout. So the tests pin them to their published reference
 * algorithms (splitmix64, xoshiro256**), then check the derived draws
 * (below, uniform, normal, shuffle) statistically at fixed seeds: each
 * statistic is deterministic, and its threshold is stated beside it as the
 * quantile it corresponds to for a correct generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar/rng.h"
#include "testutil.h"

/* ---- reference algorithms, written from their published descriptions ---- */

/* splitmix64 (Steele, Lea, Flood; Vigna's splitmix64.c): the state advances
 * by the golden gamma, the output is the mix of the new state. */
static uint64_t ref_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** 1.0 (Blackman and Vigna, xoshiro256starstar.c). */
static uint64_t ref_xoshiro(uint64_t s[4])
{
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Pearson's chi-square of counts against equal expected counts. */
static double chi_square(const int64_t *counts, int k, int64_t total)
{
    double expected = (double)total / k, x2 = 0.0;
    for (int i = 0; i < k; i++) {
        double d = (double)counts[i] - expected;
        x2 += d * d / expected;
    }
    return x2;
}

/* ---- the hash ------------------------------------------------------------ */

static void test_hash64_is_splitmix64(void **state)
{
    (void)state;
    /* Published first outputs of splitmix64 seeded with 0. */
    CHECK(cv_hash64(0) == 0xe220a8397b1dcdafULL, "splitmix64(0) = %016llx",
          (unsigned long long)cv_hash64(0));
    CHECK(cv_hash64(0x9e3779b97f4a7c15ULL) == 0x6e789e6aa1b965f4ULL, "splitmix64, 2nd output");
    /* cv_hash64(x) is splitmix64's output after one step from state x. */
    uint64_t st = 12345;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = st;
        uint64_t want = ref_splitmix64(&st);
        CHECK(cv_hash64(x) == want, "step %d", i);
    }
}

static void test_hash64_avalanche(void **state)
{
    (void)state;
    /* Flipping one input bit flips each output bit with probability ~1/2:
     * over 64 x 500 flips the mean number of flipped bits is 32 with a
     * standard error of sqrt(16 / 32000) = 0.022; allow +-0.25 (11 sigma),
     * and no single flip may change fewer than 8 bits (the binomial(64,1/2)
     * tail below 8 is ~1e-10 per flip). */
    double sum = 0.0;
    int fewest = 64, n = 0;
    for (uint64_t x = 1; x <= 500; x++) {
        uint64_t in = x * 0x2545f4914f6cdd1dULL;
        uint64_t h = cv_hash64(in);
        for (int b = 0; b < 64; b++) {
            int flipped = __builtin_popcountll(h ^ cv_hash64(in ^ (1ULL << b)));
            sum += flipped;
            fewest = flipped < fewest ? flipped : fewest;
            n++;
        }
    }
    double mean = sum / n;
    CHECK(mean > 31.75 && mean < 32.25, "mean flipped bits %.4f", mean);
    CHECK(fewest >= 8, "a single-bit flip changed only %d output bits", fewest);
}

static void test_hash_key_order_sensitive(void **state)
{
    (void)state;
    const uint64_t seed = 2024;
    /* Same arguments, same key. */
    CHECK(cv_hash_key(seed, 1, 2, 3) == cv_hash_key(seed, 1, 2, 3), "not deterministic");
    /* Permuted counters give unrelated keys. */
    uint64_t k123 = cv_hash_key(seed, 1, 2, 3);
    const uint64_t perms[5][3] = {{1, 3, 2}, {2, 1, 3}, {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};
    for (int i = 0; i < 5; i++)
        CHECK(cv_hash_key(seed, perms[i][0], perms[i][1], perms[i][2]) != k123,
              "(%llu, %llu, %llu) collides with (1, 2, 3)", (unsigned long long)perms[i][0],
              (unsigned long long)perms[i][1], (unsigned long long)perms[i][2]);
    CHECK(cv_hash_key(seed, 1, 2, 0) != cv_hash_key(seed, 2, 1, 0), "(1,2) == (2,1)");
    CHECK(cv_hash_key(seed, 0, 1, 2) != cv_hash_key(seed, 1, 2, 0), "shifted counters collide");
    /* The seed and every counter matter. */
    CHECK(cv_hash_key(seed + 1, 1, 2, 3) != k123, "seed ignored");
    CHECK(cv_hash_key(seed, 1, 2, 4) != k123, "third counter ignored");
    CHECK(cv_hash_key(seed, 1, 5, 3) != k123, "second counter ignored");
    CHECK(cv_hash_key(seed, 7, 2, 3) != k123, "first counter ignored");
    /* A (seed, round, trial, dimension) grid: 2 x 16^3 keys, all distinct. */
    enum { N = 2 * 16 * 16 * 16 };
    uint64_t *keys = malloc(N * sizeof *keys);
    assert_non_null(keys);
    int k = 0;
    for (uint64_t s = 0; s < 2; s++)
        for (uint64_t a = 0; a < 16; a++)
            for (uint64_t b = 0; b < 16; b++)
                for (uint64_t c = 0; c < 16; c++)
                    keys[k++] = cv_hash_key(s, a, b, c);
    /* Sort and look for neighbours that are equal. */
    for (int i = 1; i < N; i++) {
        uint64_t x = keys[i];
        int j = i - 1;
        while (j >= 0 && keys[j] > x) {
            keys[j + 1] = keys[j];
            j--;
        }
        keys[j + 1] = x;
    }
    for (int i = 1; i < N; i++)
        CHECK(keys[i] != keys[i - 1], "two keys of the grid collide");
    free(keys);
}

/* ---- the stream ---------------------------------------------------------- */

static void test_xoshiro_reference(void **state)
{
    (void)state;
    /* From the state {1, 2, 3, 4} the first output is rotl(2 * 5, 7) * 9. */
    cv_rng r = {{1, 2, 3, 4}};
    uint64_t ref[4] = {1, 2, 3, 4};
    CHECK(cv_rng_next(&r) == 11520, "first output from {1,2,3,4}");
    CHECK(ref_xoshiro(ref) == 11520, "reference first output");
    for (int i = 0; i < 10000; i++) {
        uint64_t got = cv_rng_next(&r), want = ref_xoshiro(ref);
        CHECK(got == want, "output %d: %016llx, expected %016llx", i + 1,
              (unsigned long long)got, (unsigned long long)want);
    }
}

static void test_seed_determinism(void **state)
{
    (void)state;
    /* cv_rng_seed fills the state with successive splitmix64 outputs: the
     * stream whose state starts at seed + gamma (cv_rng_seed advances x by
     * gamma and cv_hash64 advances it once more before mixing). */
    cv_rng r;
    cv_rng_seed(&r, 42);
    uint64_t st = 42 + 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 4; i++)
        CHECK(r.s[i] == ref_splitmix64(&st), "state word %d", i);

    /* Same seed, same stream; different seeds, different streams. */
    cv_rng a, b, c;
    cv_rng_seed(&a, 7);
    cv_rng_seed(&b, 7);
    cv_rng_seed(&c, 8);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = cv_rng_next(&a), y = cv_rng_next(&b), z = cv_rng_next(&c);
        CHECK(x == y, "streams with the same seed differ at %d", i);
        same_c += x == z;
    }
    CHECK(same_c == 0, "seeds 7 and 8 agree on %d of 1000 outputs", same_c);

    /* Fixed-seed reference values: these fix every study's configurations
     * and weights, so a change here breaks reproducibility of old results. */
    static const uint64_t seed1[4] = {0xf9d20113ec80c6d5ULL, 0xd16e236e5cdc6563ULL,
                                      0x68a40f278366062aULL, 0x8fee6a914b3be91cULL};
    cv_rng_seed(&a, 1);
    for (int i = 0; i < 4; i++)
        CHECK(cv_rng_next(&a) == seed1[i], "seed 1, output %d", i);
    CHECK(cv_hash_key(1, 2, 3, 4) == 0xd55ccd4aeb3ccafbULL, "cv_hash_key(1, 2, 3, 4)");
    cv_rng_seed(&a, 1);
    /* uniform: the top 53 bits of one output; normal: Box-Muller's cosine
     * branch on the next two. */
    double u0 = cv_rng_uniform(&a);
    CHECK(u0 == (double)(seed1[0] >> 11) * 0x1.0p-53, "first uniform of seed 1: %.17g", u0);
    double u1 = 1.0 - (double)(seed1[1] >> 11) * 0x1.0p-53, u2 = (double)(seed1[2] >> 11) * 0x1.0p-53;
    double z = cv_rng_normal(&a);
    CHECK(z == sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2), "normal: %.17g", z);
}

/* ---- derived draws ------------------------------------------------------- */

static void test_below_bounds(void **state)
{
    (void)state;
    cv_rng r;
    cv_rng_seed(&r, 3);
    for (int i = 0; i < 1000; i++)
        CHECK(cv_rng_below(&r, 1) == 0, "below(1) must be 0");
    /* Small, odd, power-of-two and huge bounds. */
    const uint64_t bounds[] = {2, 3, 7, 10, 1000, 1ULL << 32, (1ULL << 32) + 1, 1ULL << 63,
                               (1ULL << 63) + 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
        uint64_t n = bounds[k], hi = 0;
        for (int i = 0; i < 20000; i++) {
            uint64_t x = cv_rng_below(&r, n);
            CHECK(x < n, "below(%llu) gave %llu", (unsigned long long)n, (unsigned long long)x);
            hi = x > hi ? x : hi;
        }
        /* For n <= 10 every value shows up; for larger ones the maximum of
         * 20000 draws is above n/2 (probability 1 - 2^-20000). */
        if (n <= 10) {
            cv_rng_seed(&r, 30 + k);
            int seen[10] = {0};
            for (int i = 0; i < 1000; i++)
                seen[cv_rng_below(&r, n)] = 1;
            for (uint64_t v = 0; v < n; v++)
                CHECK(seen[v], "below(%llu) never gave %llu", (unsigned long long)n,
                      (unsigned long long)v);
        } else {
            CHECK(hi > n / 2, "below(%llu) stays under half its range", (unsigned long long)n);
        }
    }
}

static void test_below_uniform(void **state)
{
    (void)state;
    cv_rng r;
    cv_rng_seed(&r, 11);
    /* 10 bins, 200000 draws: chi-square with 9 degrees of freedom; its
     * 0.999 quantile is 27.88. */
    int64_t counts[10] = {0};
    const int64_t N = 200000;
    for (int64_t i = 0; i < N; i++)
        counts[cv_rng_below(&r, 10)]++;
    double x2 = chi_square(counts, 10, N);
    CHECK(x2 < 27.88, "below(10): chi-square %.2f >= 27.88 (df 9, p = 0.001)", x2);

    /* A bound of 3 * 2^62 is where a plain modulo is most biased (the first
     * third would get half the draws): three bins of 2^62, 60000 draws,
     * chi-square with 2 degrees of freedom; 0.999 quantile 13.82. */
    const uint64_t n3 = 3ULL << 62;
    int64_t thirds[3] = {0};
    for (int64_t i = 0; i < 60000; i++)
        thirds[cv_rng_below(&r, n3) >> 62]++;
    x2 = chi_square(thirds, 3, 60000);
    CHECK(x2 < 13.82, "below(3*2^62): chi-square %.2f >= 13.82 (df 2, p = 0.001)", x2);

    /* 7 bins (not a power of two), 70000 draws, df 6: 0.999 quantile 22.46. */
    int64_t sevens[7] = {0};
    for (int64_t i = 0; i < 70000; i++)
        sevens[cv_rng_below(&r, 7)]++;
    x2 = chi_square(sevens, 7, 70000);
    CHECK(x2 < 22.46, "below(7): chi-square %.2f >= 22.46 (df 6, p = 0.001)", x2);
}

static void test_uniform_range(void **state)
{
    (void)state;
    cv_rng r;
    cv_rng_seed(&r, 5);
    const int N = 1000000;
    double lo = 1.0, hi = 0.0, sum = 0.0, sum2 = 0.0;
    int64_t deciles[10] = {0};
    for (int i = 0; i < N; i++) {
        double u = cv_rng_uniform(&r);
        CHECK(u >= 0.0 && u < 1.0, "uniform gave %.17g", u);
        /* 53 random bits: u * 2^53 is an integer. */
        double scaled = u * 0x1.0p53;
        CHECK(scaled == (double)(uint64_t)scaled, "%.17g is not a multiple of 2^-53", u);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        sum += u;
        sum2 += u * u;
        deciles[(int)(u * 10.0)]++;
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    /* Standard errors: mean 0.289/1000 = 2.9e-4, variance ~7.5e-5. */
    CHECK(fabs(mean - 0.5) < 0.002, "mean %.6f (expected 0.5 +- 0.002, 7 sigma)", mean);
    CHECK(fabs(var - 1.0 / 12.0) < 0.001, "variance %.6f (expected 1/12 +- 0.001)", var);
    CHECK(lo < 1e-4 && hi > 1.0 - 1e-4, "range [%.3g, %.3g] does not fill [0, 1)", lo, hi);
    /* df 9, 0.999 quantile 27.88. */
    double x2 = chi_square(deciles, 10, N);
    CHECK(x2 < 27.88, "uniform deciles: chi-square %.2f >= 27.88", x2);

    /* The top value: all 64 bits set maps to 1 - 2^-53, still below 1. */
    CHECK((double)(UINT64_MAX >> 11) * 0x1.0p-53 < 1.0, "the largest draw rounds to 1");
}

static void test_normal_moments(void **state)
{
    (void)state;
    cv_rng r;
    cv_rng_seed(&r, 17);
    const int N = 1000000;
    double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
    int64_t within1 = 0, within2 = 0;
    for (int i = 0; i < N; i++) {
        double x = cv_rng_normal(&r);
        CHECK(isfinite(x), "normal gave %g", x);
        sum += x;
        sum2 += x * x;
        sum4 += x * x * x * x;
        within1 += fabs(x) < 1.0;
        within2 += fabs(x) < 2.0;
    }
    double mean = sum / N, var = sum2 / N - mean * mean, m4 = sum4 / N;
    /* Standard errors at N = 1e6: mean 0.001, variance sqrt(2/N) = 0.0014,
     * fourth moment sqrt(96/N) = 0.0098, fractions <= 0.0005. Bounds are
     * about 5 standard errors. */
    CHECK(fabs(mean) < 0.005, "mean %.5f (expected 0 +- 0.005)", mean);
    CHECK(fabs(var - 1.0) < 0.007, "variance %.5f (expected 1 +- 0.007)", var);
    CHECK(fabs(m4 - 3.0) < 0.05, "fourth moment %.4f (expected 3 +- 0.05)", m4);
    double f1 = (double)within1 / N, f2 = (double)within2 / N;
    CHECK(fabs(f1 - 0.682689) < 0.0025, "P(|x| < 1) = %.5f (expected 0.6827 +- 0.0025)", f1);
    CHECK(fabs(f2 - 0.954500) < 0.0011, "P(|x| < 2) = %.5f (expected 0.9545 +- 0.0011)", f2);

    /* Deterministic: the same seed gives the same values. */
    cv_rng a, b;
    cv_rng_seed(&a, 99);
    cv_rng_seed(&b, 99);
    for (int i = 0; i < 100; i++)
        CHECK(cv_rng_normal(&a) == cv_rng_normal(&b), "normal stream differs at %d", i);
}

static void test_shuffle_permutation(void **state)
{
    (void)state;
    enum { N = 1000 };
    int32_t idx[N], other[N];
    cv_rng r;
    cv_rng_seed(&r, 23);
    for (int i = 0; i < N; i++)
        idx[i] = other[i] = i;
    cv_rng_shuffle(&r, idx, N);
    /* A permutation: every value exactly once. */
    char seen[N] = {0};
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        CHECK(idx[i] >= 0 && idx[i] < N, "value %d out of range", idx[i]);
        CHECK(!seen[idx[i]], "value %d twice", idx[i]);
        seen[idx[i]] = 1;
        fixed += idx[i] == i;
    }
    /* Fixed points of a random permutation are ~Poisson(1): 10 or more has
     * probability ~1e-7. */
    CHECK(fixed < 10, "%d fixed points: hardly shuffled", fixed);

    /* Same seed, same permutation; another seed, another one. */
    cv_rng_seed(&r, 23);
    cv_rng_shuffle(&r, other, N);
    CHECK(memcmp(idx, other, sizeof idx) == 0, "same seed, different permutation");
    for (int i = 0; i < N; i++)
        other[i] = i;
    cv_rng_seed(&r, 24);
    cv_rng_shuffle(&r, other, N);
    CHECK(memcmp(idx, other, sizeof idx) != 0, "seeds 23 and 24 give the same permutation");

    /* Degenerate lengths are no-ops. */
    int32_t one = 5;
    cv_rng_shuffle(&r, &one, 1);
    CHECK(one == 5, "shuffle of one element changed it");
    cv_rng_shuffle(&r, NULL, 0);
}

static void test_shuffle_uniform(void **state)
{
    (void)state;
    /* All 6 orders of 3 elements are equally likely: 60000 shuffles,
     * chi-square with 5 degrees of freedom, 0.999 quantile 20.52. */
    cv_rng r;
    cv_rng_seed(&r, 31);
    int64_t counts[6] = {0};
    for (int t = 0; t < 60000; t++) {
        int32_t a[3] = {0, 1, 2};
        cv_rng_shuffle(&r, a, 3);
        /* Lehmer code of the order: a[0] in {0,1,2}, then whether the rest is ascending. */
        int code = a[0] * 2 + (a[1] > a[2]);
        counts[code]++;
    }
    double x2 = chi_square(counts, 6, 60000);
    CHECK(x2 < 20.52, "orders of 3: chi-square %.2f >= 20.52 (df 5, p = 0.001)", x2);
    /* Position of element 0 after shuffling 10: uniform over 10 places
     * (df 9, 0.999 quantile 27.88). */
    int64_t where[10] = {0};
    for (int t = 0; t < 50000; t++) {
        int32_t a[10];
        for (int i = 0; i < 10; i++)
            a[i] = i;
        cv_rng_shuffle(&r, a, 10);
        for (int i = 0; i < 10; i++)
            if (a[i] == 0)
                where[i]++;
    }
    x2 = chi_square(where, 10, 50000);
    CHECK(x2 < 27.88, "position of 0: chi-square %.2f >= 27.88 (df 9, p = 0.001)", x2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash64_is_splitmix64),
        cmocka_unit_test(test_hash64_avalanche),
        cmocka_unit_test(test_hash_key_order_sensitive),
        cmocka_unit_test(test_xoshiro_reference),
        cmocka_unit_test(test_seed_determinism),
        cmocka_unit_test(test_below_bounds),
        cmocka_unit_test(test_below_uniform),
        cmocka_unit_test(test_uniform_range),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_shuffle_permutation),
        cmocka_unit_test(test_shuffle_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
