/* space_internal.h: what the files of the space module share (not public).
 *
 * The space is a job's search, resolved once: a base configuration, the
 * searched dimensions with their transforms, the sampler's settings and, for
 * sobol, the direction numbers of each dimension.
 *
 * The files call one way: space.c (creation, advice), sample.c (trials'
 * configurations) and zoom.c (regions, the zoom) build on access.c (the
 * accessors of caviar/space.h), transform.c and sobol.c, which call nothing
 * of the module; space.c and sample.c also take the full region from
 * zoom.c. */
#ifndef CAVIAR_SPACE_INTERNAL_H
#define CAVIAR_SPACE_INTERNAL_H

#include <stdint.h>

#include "caviar/space.h"

/* The key's dimension counter of a trial's training seed; a parameter p
 * draws with counter p + 1. (The seed's counter 0 makes a fixed job's
 * training seed cv_hash_key(seed, 0, 0, 0), as panda mode always used.) */
#define SPACE_SEED_COUNTER 0u

/* The trial counter that keys per-round constants (the sobol scramble):
 * trials count up from 0, so they never reach it. */
#define SPACE_ROUND_COUNTER UINT64_MAX

/* Bits of a Sobol coordinate, and the dimensions the sampler has direction
 * numbers for (caviar's own vocabulary; a program's searched parameters
 * beyond it are refused with method sobol). */
#define SOBOL_BITS 32
#define SOBOL_MAX_DIMS 20

/* The continuous part of a ranged dimension's transform: x's scale value
 * s(x) (x, log10 x or -log10(1 - x): increasing in x) runs linearly from
 * sa = s(ca) at u = 0 to sb = s(cb) at u = 1. ca and cb are min and max,
 * or min - 0.5 and max + 0.5 for int_uniform and log_int_uniform, whose
 * rounding then gives every integer its whole cell. */
typedef struct space_tr {
    double ca, cb;
    double sa, sb;
} space_tr;

struct cv_space {
    char *path; /* the job file, for messages */
    cv_method method;
    cv_metric metric;
    uint64_t seed;
    int trials, rounds;
    double keep;
    int64_t grid_size;
    cv_pos trials_pos, rounds_pos, keep_pos; /* for warnings */
    cv_config base;
    cv_pos pos[CV_P_COUNT]; /* by parameter: where the job gives it (0:0 if not) */

    int n_dims;
    cv_space_dim dims[CV_P_COUNT];    /* in vocabulary order */
    space_tr tr[CV_P_COUNT];          /* by dimension */
    double *values[CV_P_COUNT];       /* by dimension: owned copies of categorical values */
    int spec_points[CV_P_COUNT];      /* by dimension: points: as written (0 if not) */
    int dim_index[CV_P_COUNT];        /* by parameter: its dimension, or -1 */
    uint32_t sobol[CV_P_COUNT][SOBOL_BITS]; /* by dimension: direction numbers, bit k -> V[k] */
};

/* ---- transform.c: the geometry of dimensions ---------------------------- */

/* The scale function of a ranged dimension and its inverse. */
double space_scale(cv_scale scale, double x);
double space_unscale(cv_scale scale, double y);

/* The continuous value at transformed position u of dimension d (before
 * rounding and clamping), and a value's position (clamped to [0, 1]). */
double space_cont(const cv_space *s, int d, double u);
double space_unit(const cv_space *s, int d, double x);

/* x rounded (integer dimensions) and clamped to [lo, hi]. */
double space_settle(const cv_space_dim *dim, double x, double lo, double hi);

/* The index of x among dimension d's values, or -1. */
int space_value_index(const cv_space *s, int d, double x);

/* The natural bounds of ranged dimension d in region r: for an integer
 * dimension the smallest and largest integer whose rounding cell meets the
 * region, otherwise the continuous values at lo and hi, clamped to
 * [min, max]. */
void space_region_natural(const cv_space *s, int d, const cv_region *r, double *lo, double *hi);

/* The number of allowed values of categorical dimension d in r, and the
 * k-th of them (an index into its values). */
int space_allowed_count(const cv_region *r, const cv_space *s, int d);
int space_allowed_nth(const cv_region *r, const cv_space *s, int d, int k);

/* Point j of ranged dimension d's grid axis inside region r: points
 * spread evenly on the dimension's scale between the region's natural
 * bounds, ends included (one point: the middle), rounded for integers. */
double space_grid_value(const cv_space *s, int d, const cv_region *r, int j);

/* ---- sobol.c ------------------------------------------------------------ */

/* Fills dimension d's Sobol direction numbers (d < SOBOL_MAX_DIMS). */
void space_sobol_init(uint32_t v[SOBOL_BITS], int d);

/* Coordinate d of the scrambled Sobol point `index`, in (0, 1); scramble
 * is the dimension's 32-bit scrambling seed. */
double space_sobol_point(const uint32_t v[SOBOL_BITS], uint32_t index, uint32_t scramble);

#endif
