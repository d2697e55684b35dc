/* sample.c: from counters to configurations (see caviar/space.h).
 *
 * A trial's configuration is a pure function of (study seed, round, trial)
 * and the round's region: the sampler gives a point u in [0, 1)^dims (random:
 * one hash per parameter; sobol: the scrambled sequence's point `trial`; grid:
 * the trial's combination), u is mapped into the region, and each coordinate
 * becomes a value through its dimension's transform. Nothing here keeps state
 * between calls, so trials can be drawn in any order, on any rank. */
#include <math.h>
#include <stdio.h>

#include "caviar/rng.h"
#include "space_internal.h"

/* ---- values <-> positions ------------------------------------------------ */

double cv_space_to_unit(const cv_space *s, cv_param p, double x)
{
    const cv_space_dim *dim = cv_space_dim_of(s, p);
    if (dim == NULL)
        return NAN;
    int d = s->dim_index[p];
    if (dim->scale == CV_SCALE_CATEGORICAL) {
        int k = space_value_index(s, d, x);
        return k < 0 ? NAN : (k + 0.5) / dim->n_values;
    }
    return space_unit(s, d, x);
}

double cv_space_from_unit(const cv_space *s, cv_param p, double u)
{
    const cv_space_dim *dim = cv_space_dim_of(s, p);
    if (dim == NULL)
        return NAN;
    int d = s->dim_index[p];
    if (dim->scale == CV_SCALE_CATEGORICAL) {
        int k = u > 0 ? (int)(u * dim->n_values) : 0;
        return dim->values[k < dim->n_values ? k : dim->n_values - 1];
    }
    return space_settle(dim, space_cont(s, d, u), dim->min, dim->max);
}

/* ---- samplers ---------------------------------------------------------- */

/* A trial's training seed: the same key as its draws, with the counter no
 * parameter uses. */
uint64_t cv_space_trial_seed(uint64_t study_seed, int round, int trial)
{
    return cv_hash_key(study_seed, (uint64_t)round, (uint64_t)trial, SPACE_SEED_COUNTER);
}

/* 53 bits of a key as a double in [0, 1). */
static double unit53(uint64_t key)
{
    return (double)(key >> 11) * 0x1.0p-53;
}

/* The random and sobol samplers' point: u[d] in [0, 1). */
static void draw_unit(const cv_space *s, int round, int trial, double *u)
{
    for (int d = 0; d < s->n_dims; d++) {
        uint64_t counter = (uint64_t)s->dims[d].param + 1;
        if (s->method == CV_METHOD_SOBOL) {
            uint64_t key = cv_hash_key(s->seed, (uint64_t)round, SPACE_ROUND_COUNTER, counter);
            u[d] = space_sobol_point(s->sobol[d], (uint32_t)trial, (uint32_t)(key >> 32));
        } else {
            u[d] = unit53(cv_hash_key(s->seed, (uint64_t)round, (uint64_t)trial, counter));
        }
    }
}

/* The grid's combination for `trial` in region r: digit[d] along each axis,
 * the last dimension varying fastest. A zoomed round's grid may be smaller
 * than trials; it then starts over. */
static void grid_digits(const cv_space *s, const cv_region *r, int trial, int *digit)
{
    int64_t size = 1;
    int len[CV_P_COUNT];
    for (int d = 0; d < s->n_dims; d++) {
        len[d] = s->dims[d].scale == CV_SCALE_CATEGORICAL ? space_allowed_count(r, s, d)
                                                           : s->dims[d].points;
        if (len[d] < 1)
            len[d] = 1;
        size *= len[d];
    }
    int64_t i = trial % size;
    for (int d = s->n_dims - 1; d >= 0; d--) {
        digit[d] = (int)(i % len[d]);
        i /= len[d];
    }
}

/* Dimension d's value for coordinate u in [0, 1) of region r. */
static double map_into(const cv_space *s, int d, const cv_region *r, double u)
{
    const cv_space_dim *dim = &s->dims[d];
    cv_param p = dim->param;
    if (dim->scale == CV_SCALE_CATEGORICAL) {
        int n = space_allowed_count(r, s, d);
        int k = (int)(u * n);
        return dim->values[space_allowed_nth(r, s, d, k < n ? k : n - 1)];
    }
    double lo, hi;
    space_region_natural(s, d, r, &lo, &hi);
    return space_settle(dim, space_cont(s, d, r->lo[p] + u * (r->hi[p] - r->lo[p])), lo, hi);
}

/* Dimension d's value of trial's grid point in region r. */
static double grid_value(const cv_space *s, int d, const cv_region *r, const int *digit)
{
    const cv_space_dim *dim = &s->dims[d];
    if (dim->scale == CV_SCALE_CATEGORICAL)
        return dim->values[space_allowed_nth(r, s, d, digit[d])];
    return space_grid_value(s, d, r, digit[d]);
}

void cv_space_draw(const cv_space *s, int round, int trial, double *u)
{
    if (s->method != CV_METHOD_GRID) {
        draw_unit(s, round, trial, u);
        return;
    }
    cv_region full;
    int digit[CV_P_COUNT];
    cv_space_full_region(s, &full);
    grid_digits(s, &full, trial, digit);
    for (int d = 0; d < s->n_dims; d++)
        u[d] = cv_space_to_unit(s, s->dims[d].param, grid_value(s, d, &full, digit));
}

int cv_space_sample(const cv_space *s, const cv_region *region, int round, int trial,
                    cv_config *out, cv_error *err)
{
    cv_region full;
    double u[CV_P_COUNT];
    int digit[CV_P_COUNT];
    char why[512];

    if (round < 0 || trial < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: round %d, trial %d: expected counters >= 0",
                       s->path, round, trial);
    if (region == NULL) {
        cv_space_full_region(s, &full);
        region = &full;
    }
    *out = s->base;
    if (s->method == CV_METHOD_GRID) {
        grid_digits(s, region, trial, digit);
        for (int d = 0; d < s->n_dims; d++)
            cv_config_set(out, s->dims[d].param, grid_value(s, d, region, digit));
    } else {
        draw_unit(s, round, trial, u);
        for (int d = 0; d < s->n_dims; d++)
            cv_config_set(out, s->dims[d].param, map_into(s, d, region, u[d]));
    }
    /* The creation checks rule this out; a region edited by hand may not. */
    if (cv_config_check(out, why, sizeof why) != 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: round %d, trial %d: %s", s->path, round, trial,
                       why);
    return 0;
}
