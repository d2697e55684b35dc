/* sobol.c: the scrambled Sobol sequence of the sobol sampler.
 *
 * Direction numbers from S. Joe and F. Y. Kuo, "Constructing Sobol sequences
 * with better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008),
 * file new-joe-kuo-6.21201, dimensions 2 to SOBOL_MAX_DIMS (dimension 1 is van
 * der Corput's and needs none). Point i is the XOR of the direction numbers
 * picked by the bits of its Gray code, which is the sequence Joe and Kuo's
 * generator produces, reached directly by index: a trial needs only its own
 * number.
 *
 * The scramble is nested uniform (Owen) scrambling done with a hash, after
 * B. Burley, "Practical Hash-based Owen Scrambling", JCGT 9(4), 2020: with
 * the bits reversed, every step of the hash (adding a constant, multiplying
 * by an odd number, xoring with a multiple by an even one) lets a bit depend
 * only on the bits below it, which are the coordinate's more significant
 * digits: a permutation of each digit chosen by the digits above it. The
 * scrambled points stay a (t, m, s)-net, so each coordinate of the first 2^m
 * points still has one point per interval of width 2^-m, and the result is
 * uniform on the cube for any seed. */
#include "space_internal.h"

/* Joe and Kuo's (s, a, m_1..m_s) for dimensions 2, 3, ...: s is the degree of
 * the primitive polynomial, a its inner coefficients, m the initial odd
 * direction integers (m_k < 2^k). */
typedef struct joe_kuo {
    int s;
    unsigned a;
    unsigned m[7];
} joe_kuo;

static const joe_kuo joe_kuo_table[SOBOL_MAX_DIMS - 1] = {
    {1, 0, {1}},                        /* d = 2 */
    {2, 1, {1, 3}},                     /* 3 */
    {3, 1, {1, 3, 1}},                  /* 4 */
    {3, 2, {1, 1, 1}},                  /* 5 */
    {4, 1, {1, 1, 3, 3}},               /* 6 */
    {4, 4, {1, 3, 5, 13}},              /* 7 */
    {5, 2, {1, 1, 5, 5, 17}},           /* 8 */
    {5, 4, {1, 1, 5, 5, 5}},            /* 9 */
    {5, 7, {1, 1, 7, 11, 19}},          /* 10 */
    {5, 11, {1, 1, 5, 1, 1}},           /* 11 */
    {5, 13, {1, 1, 1, 3, 11}},          /* 12 */
    {5, 14, {1, 3, 5, 5, 31}},          /* 13 */
    {6, 1, {1, 3, 3, 9, 7, 49}},        /* 14 */
    {6, 13, {1, 1, 1, 15, 21, 21}},     /* 15 */
    {6, 16, {1, 3, 1, 13, 27, 49}},     /* 16 */
    {6, 19, {1, 1, 1, 15, 7, 5}},       /* 17 */
    {6, 22, {1, 3, 1, 15, 13, 25}},     /* 18 */
    {6, 25, {1, 1, 5, 5, 19, 61}},      /* 19 */
    {7, 1, {1, 3, 7, 11, 23, 15, 103}}, /* 20 */
};

void space_sobol_init(uint32_t v[SOBOL_BITS], int d)
{
    /* v[k] is Joe and Kuo's V_{k+1}: direction number k scaled to 32 bits. */
    if (d == 0) {
        for (int k = 0; k < SOBOL_BITS; k++)
            v[k] = (uint32_t)1 << (SOBOL_BITS - 1 - k);
        return;
    }
    const joe_kuo *jk = &joe_kuo_table[d - 1];
    int s = jk->s;
    for (int k = 0; k < s && k < SOBOL_BITS; k++)
        v[k] = (uint32_t)jk->m[k] << (SOBOL_BITS - 1 - k);
    /* The recurrence of the primitive polynomial x^s + a_1 x^(s-1) + ... + 1:
     * V_i = a_1 V_{i-1} ^ ... ^ a_{s-1} V_{i-s+1} ^ V_{i-s} ^ (V_{i-s} >> s). */
    for (int k = s; k < SOBOL_BITS; k++) {
        uint32_t x = v[k - s] ^ (v[k - s] >> s);
        for (int j = 1; j < s; j++)
            if ((jk->a >> (s - 1 - j)) & 1u)
                x ^= v[k - j];
        v[k] = x;
    }
}

static uint32_t reverse_bits(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
    x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
    return (x >> 16) | (x << 16);
}

/* Burley's Laine-Karras-style permutation: bit j of the result depends on
 * bits 0..j of x only (see the file comment). */
static uint32_t lk_permute(uint32_t x, uint32_t seed)
{
    x ^= x * 0x3d20adeau;
    x += seed;
    x *= (seed >> 16) | 1u;
    x ^= x * 0x05526c56u;
    x ^= x * 0x53a22864u;
    return x;
}

double space_sobol_point(const uint32_t v[SOBOL_BITS], uint32_t index, uint32_t scramble)
{
    uint32_t gray = index ^ (index >> 1);
    uint32_t x = 0;
    for (int k = 0; gray != 0; k++, gray >>= 1)
        if (gray & 1u)
            x ^= v[k];
    x = reverse_bits(lk_permute(reverse_bits(x), scramble));
    /* The middle of the point's 2^-32 cell: strictly inside (0, 1). */
    return ((double)x + 0.5) * 0x1.0p-32;
}
