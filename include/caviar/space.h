/* caviar/space.h: the search space: job parameter specs -> configurations.
 *
 * A space is built from a job: its constants make a base configuration, and
 * every searched parameter becomes a dimension. Each dimension maps to and
 * from the unit interval, the "transformed space" where samplers draw and
 * where the zoom draws its boxes:
 *
 *   uniform                x = min + u (max - min)
 *   log_uniform            log10 x linear in u
 *   one_minus_log_uniform  log10(1 - x) linear in u (u = 0 at min, 1 at max)
 *   int_uniform            linear over [min - 0.5, max + 0.5], rounded: every
 *                          integer equally likely
 *   log_int_uniform        log10 over [min - 0.5, max + 0.5], rounded
 *   values                 u picks one of the values, all equally likely
 *
 * uniform and log_uniform on an integer parameter round to the nearest
 * integer (so min and max get half the weight of inner values; int_uniform
 * is the one that weighs every integer the same).
 *
 * Every draw comes from a counter-based generator keyed by (study seed,
 * round, trial, parameter): a trial's configuration and its training seed
 * depend on nothing else, so the same job gives the same configurations
 * however many workers there are and in whatever order trials end.
 *
 * Samplers (search.method):
 *   random  (default) every draw independent and uniform in the region.
 *   grid    each ranged parameter gets `points:` values spread evenly on its
 *           own scale, ends included (int_uniform without points: every
 *           integer); a categorical parameter gets every value. Trial i takes
 *           the i-th combination, the first searched parameter (in vocabulary
 *           order) varying slowest. Without search.trials, trials is the grid
 *           size; with it, the grid size must equal trials (an error at
 *           search.trials otherwise). A zoomed round lays the same number of
 *           points across its region and keeps the allowed categorical
 *           values; if that grid is smaller than trials it starts over (the
 *           repeats train with their own seeds).
 *   sobol   the Sobol sequence (Joe and Kuo's direction numbers, 2008) with
 *           a nested uniform (Owen) scramble keyed by (study seed, round):
 *           more even coverage than random at the same count, best at powers
 *           of two.
 *
 * Coarse to fine: round 0 samples the whole space. Round r + 1 samples the
 * region of round r's best ceil(keep * trials) trials: per ranged dimension
 * their bounding box in transformed space, widened on each side by
 * CV_SPACE_MARGIN of its width or by CV_SPACE_MIN_MARGIN of the whole range,
 * whichever is more, and clipped to [0, 1] (the original bounds); integer
 * dimensions then snap outward to whole integers. A categorical dimension
 * keeps the values that appear among the best.
 *
 * The space knows nothing of networks, data, MPI or HDF5. */
#ifndef CAVIAR_SPACE_H
#define CAVIAR_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/config.h"
#include "caviar/error.h"
#include "caviar/job.h"

/* Each side of a zoomed box grows by the larger of these: a fraction of the
 * box's width, and a fraction of the whole unit range (so a zoomed region is
 * never narrower than 2 * CV_SPACE_MIN_MARGIN of the original range). */
#define CV_SPACE_MARGIN 0.10
#define CV_SPACE_MIN_MARGIN 0.025

/* A categorical parameter may list at most this many values (a region holds
 * one bit per value). */
#define CV_SPACE_MAX_VALUES 256

typedef struct cv_space cv_space;

/* How a dimension's values spread over the unit interval. */
typedef enum cv_scale {
    CV_SCALE_LINEAR,
    CV_SCALE_LOG,           /* log10(x) */
    CV_SCALE_ONE_MINUS_LOG, /* log10(1 - x) */
    CV_SCALE_CATEGORICAL,
} cv_scale;

/* One searched parameter, as resolved from the job (owned by the space). */
typedef struct cv_space_dim {
    cv_param param;
    cv_dist dist;
    cv_scale scale;
    bool integer;         /* draws are rounded to integers */
    double min, max;      /* ranged: the bounds in the parameter's own units */
    const double *values; /* categorical: the values (n_values of them) */
    int n_values;
    int count;  /* how many distinct values a draw can take; 0 = continuous */
    int points; /* grid: points on this axis; 0 with other samplers */
    cv_pos pos; /* where the parameter stands in the job file */
} cv_space_dim;

/* Where a round samples, per searched parameter (indexed by cv_param;
 * entries of constants are unused). Plain data: copy it, send it, store it. */
typedef struct cv_region {
    double lo[CV_P_COUNT], hi[CV_P_COUNT]; /* ranged: 0 <= lo < hi <= 1, transformed */
    uint64_t allowed[CV_P_COUNT][CV_SPACE_MAX_VALUES / 64]; /* categorical: bit k = values[k] */
} cv_region;

/* Builds the space of job (which the space does not keep: it copies what it
 * needs). Checks what the parser cannot: search.keep in (0, 1],
 * search.rounds >= 1, the grid's size against search.trials, integer grids
 * without repeats, and cross-parameter constraints that some configuration
 * of the space would break (an exponential or step lr_schedule with an
 * lr_decay that can leave (0, 1]). It re-checks every spec too, so a job
 * assembled in code gets the same messages. Errors are CV_ERR_INPUT with
 * "PATH:LINE:COLUMN: ...". On success *out is the caller's
 * (cv_space_free). */
int cv_space_create(cv_space **out, const cv_job *job, cv_error *err);

/* Releases s; NULL is fine. */
void cv_space_free(cv_space *s);

/* The number of searched parameters and the d-th of them (0 <= d < dims),
 * in vocabulary order. */
int cv_space_dims(const cv_space *s);
const cv_space_dim *cv_space_dim_get(const cv_space *s, int d);

/* The dimension of p, or NULL when p is a constant. */
const cv_space_dim *cv_space_dim_of(const cv_space *s, cv_param p);

/* The configuration every trial starts from: defaults and constants. */
const cv_config *cv_space_base(const cv_space *s);

/* Trials per round (for a grid without search.trials: the grid size),
 * rounds, the sampler, and the grid's size (0 unless the method is grid). */
int cv_space_trials(const cv_space *s);
int cv_space_rounds(const cv_space *s);
cv_method cv_space_method(const cv_space *s);
int64_t cv_space_grid_size(const cv_space *s);

/* The training seed of a trial: keyed like its configuration, by (study
 * seed, round, trial) alone. */
uint64_t cv_space_trial_seed(uint64_t study_seed, int round, int trial);

/* The configuration of trial `trial` (>= 0, counted within the round) of
 * round `round` (>= 0), sampled inside region (NULL: the whole space).
 * Returns 0, or CV_ERR_INPUT for negative counters or a configuration that
 * fails cv_config_check (which the creation checks rule out). */
int cv_space_sample(const cv_space *s, const cv_region *region, int round, int trial,
                    cv_config *out, cv_error *err);

/* The sampler's point for (round, trial) in [0, 1)^dims before it is mapped
 * into a region: u[d] for dimension d. For a grid, the transformed position
 * of the trial's grid point in the whole space. */
void cv_space_draw(const cv_space *s, int round, int trial, double *u);

/* The transformed position of x (a value of p, a searched parameter) in
 * [0, 1], and back: x for position u (rounded for integers, clamped to
 * min..max; for a categorical parameter the value whose cell holds u). */
double cv_space_to_unit(const cv_space *s, cv_param p, double x);
double cv_space_from_unit(const cv_space *s, cv_param p, double u);

/* ---- coarse to fine ----------------------------------------------------- */

/* The whole space: every range [0, 1], every value allowed. */
void cv_space_full_region(const cv_space *s, cv_region *r);

/* How many of n finished trials define the next region:
 * max(1, ceil(keep * n)), at most n. */
int cv_space_keep_count(const cv_space *s, int n);

/* Round r + 1's region from round r's: of the n trials (configs[i] scored
 * metric[i]; non-finite scores, as for diverged or failed trials, never
 * count), the best cv_space_keep_count(n) by the job's metric (accuracy:
 * highest; loss: lowest; ties: the lower index) define it through
 * cv_space_zoom_best. With no finite score the region stays prev. Returns 0,
 * CV_ERR_NOMEM, or CV_ERR_INPUT for a configuration outside the space. */
int cv_space_zoom(const cv_space *s, const cv_region *prev, const cv_config *configs,
                  const double *metric, int n, cv_region *next, cv_error *err);

/* The region around best[0..n_best) (already selected): their bounding box
 * in transformed space, widened and clipped as described above; categorical
 * dimensions keep the values the best use. n_best == 0 copies prev. */
int cv_space_zoom_best(const cv_space *s, const cv_region *prev, const cv_config *best,
                       int n_best, cv_region *next, cv_error *err);

/* The bounds of p in r in p's own units (integers for integer parameters):
 * what the results file records per round. Returns 0 for a ranged
 * dimension; 1 for a categorical one (lo and hi are then the smallest and
 * largest allowed value, see cv_space_region_values); -1 if p is not
 * searched. */
int cv_space_region_bounds(const cv_space *s, const cv_region *r, cv_param p, double *lo,
                           double *hi);

/* The allowed values of categorical p in r, in the order of the job file:
 * writes up to cap of them into out (which may be NULL when cap is 0) and
 * returns how many there are; -1 if p is not a searched categorical. */
int cv_space_region_values(const cv_space *s, const cv_region *r, cv_param p, double *out,
                           int cap);

/* Writes p's part of r as a user reads it: "[0.0001, 0.01]" or
 * "{64, 128}" (a list that does not fit in size ends with ", ...}").
 * Returns snprintf's length. */
int cv_space_region_format(const cv_space *s, const cv_region *r, cv_param p, char *buf,
                           size_t size);

/* ---- population-based training ------------------------------------------ */

/* PBT's explore: out is from with every parameter of pbt->mutate changed,
 * each by its own draws keyed by (key, parameter): with probability
 * pbt->resample a fresh draw from the job's whole distribution, else a move
 * by one of pbt->factors (equally likely) on the parameter's own scale:
 *   log_uniform, log_int_uniform     x * f
 *   one_minus_log_uniform            1 - (1 - x) * f   (a beta: 0.99 -> 0.988
 *                                                       or 0.992 with 1.2, 0.8)
 *   uniform, int_uniform             x + (f - 1) * (max - min) / 2
 *   values                           the next value in the list (f > 1) or the
 *                                    previous one (f < 1)
 * an integer moving at least to its neighbour, and the result clamped to
 * [min, max]. what (when not NULL) receives the changes as a user reads
 * them ("learning_rate 0.001 -> 0.0012 (x 1.2); beta1 0.95 -> 0.97
 * (resampled)"). Returns 0, or -1 when the result fails cv_config_check
 * (which the space's creation rules out). */
int cv_space_explore(const cv_space *s, const cv_config *from, const cv_pbt_spec *pbt,
                     uint64_t key, cv_config *out, char *what, size_t what_size);

/* ---- advice ------------------------------------------------------------- */

/* Called once per warning with a whole line ("PATH:LINE:COLUMN: warning: ..."). */
typedef void (*cv_space_warn_fn)(void *user, const char *msg);

/* Looks for specs that are valid but probably not what was meant: a range
 * over more than two decades on a linear scale (log_uniform is the usual
 * fix), a beta (momentum, beta1, beta2, bn_momentum) near 1 on a linear
 * scale (one_minus_log_uniform), repeated values, points without a grid,
 * sobol away from a power of two, a zoom defined by a single trial. Calls
 * warn for each; returns how many. */
int cv_space_advise(const cv_space *s, cv_space_warn_fn warn, void *user);

#endif
