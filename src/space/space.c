/* space.c: building a search space from a job, and the advice on it (see
 * caviar/space.h; its accessors are in access.c).
 *
 * Creation resolves each parameter once: constants go into the base
 * configuration, searched parameters become dimensions with their scale and
 * transform, and the sampler gets what it needs (grid axes, Sobol direction
 * numbers). Every check that needs the whole space rather than one value
 * happens here, each failing as CV_ERR_INPUT at the place in the job file
 * that would have to change. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space_internal.h"

/* ---- messages ---------------------------------------------------------- */

/* Fails with "PATH:LINE:COLUMN: message" (or "PATH: message" for a value
 * that did not come from the file: a default, --set, or code). */
__attribute__((format(printf, 4, 5))) static int fail_at(const cv_space *s, cv_error *err,
                                                         cv_pos pos, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pos.line > 0)
        return cv_fail(err, CV_ERR_INPUT, "%s:%d:%d: %s", s->path, pos.line, pos.column, msg);
    return cv_fail(err, CV_ERR_INPUT, "%s: %s", s->path, msg);
}

/* A value of p as a job file writes it, in a rotating static buffer so that
 * a message can show several. */
static const char *fmt_value(cv_param p, double v)
{
    static char buf[6][48];
    static int next;
    char *b = buf[next++ % 6];
    cv_param_format(p, v, b, sizeof buf[0]);
    return b;
}

/* ---- specs -> dimensions ----------------------------------------------- */

static cv_scale dist_scale(cv_dist d)
{
    switch (d) {
    case CV_DIST_LOG_UNIFORM:
    case CV_DIST_LOG_INT_UNIFORM: return CV_SCALE_LOG;
    case CV_DIST_ONE_MINUS_LOG_UNIFORM: return CV_SCALE_ONE_MINUS_LOG;
    case CV_DIST_VALUES: return CV_SCALE_CATEGORICAL;
    case CV_DIST_CONSTANT:
    case CV_DIST_UNIFORM:
    case CV_DIST_INT_UNIFORM: break;
    }
    return CV_SCALE_LINEAR;
}

/* Checks a searched spec with the job's rules (cv_param_spec_check: a job
 * may come from code, past the parser), so that the transforms below can
 * rely on it, and against the space's own limit on a list of values. */
static int check_spec(const cv_space *s, cv_param p, const cv_param_spec *spec, cv_error *err)
{
    char why[512];
    if (spec->dist == CV_DIST_VALUES && spec->n_values > CV_SPACE_MAX_VALUES)
        return fail_at(s, err, spec->pos,
                       "%s: at most %d values (got %d); a range (int_uniform, "
                       "log_uniform, ...) covers more",
                       cv_param_get_info(p)->name, CV_SPACE_MAX_VALUES, spec->n_values);
    if (cv_param_spec_check(p, spec, NULL, why, sizeof why) != 0)
        return fail_at(s, err, spec->pos, "%s", why);
    return 0;
}

/* Makes dimension d of s from p's spec (already checked). */
static int add_dim(cv_space *s, cv_param p, const cv_param_spec *spec, cv_error *err)
{
    int d = s->n_dims;
    cv_space_dim *dim = &s->dims[d];
    space_tr *tr = &s->tr[d];
    const cv_param_info *info = cv_param_get_info(p);

    dim->param = p;
    dim->dist = spec->dist;
    dim->scale = dist_scale(spec->dist);
    dim->pos = spec->pos;
    s->spec_points[d] = spec->points;
    if (spec->dist == CV_DIST_VALUES) {
        double *v = malloc((size_t)spec->n_values * sizeof *v);
        if (v == NULL)
            return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
        memcpy(v, spec->values, (size_t)spec->n_values * sizeof *v);
        s->values[d] = v;
        dim->values = v;
        dim->n_values = spec->n_values;
        dim->min = dim->max = v[0];
        /* count distinct values: n is at most CV_SPACE_MAX_VALUES */
        for (int k = 0; k < spec->n_values; k++) {
            dim->min = fmin(dim->min, v[k]);
            dim->max = fmax(dim->max, v[k]);
            bool seen = false;
            for (int j = 0; j < k && !seen; j++)
                seen = v[j] == v[k];
            dim->count += !seen;
        }
    } else {
        dim->integer = info->kind == CV_KIND_INT;
        dim->min = spec->min;
        dim->max = spec->max;
        if (dim->integer)
            dim->count = spec->max - spec->min + 1 > INT_MAX ? INT_MAX
                                                              : (int)(spec->max - spec->min + 1);
        /* int_uniform and log_int_uniform give each integer its whole
         * rounding cell, min and max included. */
        bool cells = spec->dist == CV_DIST_INT_UNIFORM || spec->dist == CV_DIST_LOG_INT_UNIFORM;
        tr->ca = cells ? spec->min - 0.5 : spec->min;
        tr->cb = cells ? spec->max + 0.5 : spec->max;
        tr->sa = space_scale(dim->scale, tr->ca);
        tr->sb = space_scale(dim->scale, tr->cb);
    }
    s->dim_index[p] = d;
    s->n_dims++;
    return 0;
}

/* ---- checks across parameters ------------------------------------------ */

/* Whether parameter p can take a value for which bad(v) holds, and which:
 * a constant, a range's min or max, or one of its values. Ranges are
 * checked at their ends, enough for the interval constraints here. */
static bool can_be(const cv_space *s, cv_param p, bool (*bad)(double), double *which)
{
    const cv_space_dim *dim = cv_space_dim_of(s, p);
    if (dim == NULL) {
        *which = cv_config_get(&s->base, p);
        return bad(*which);
    }
    if (dim->scale != CV_SCALE_CATEGORICAL) {
        *which = bad(dim->min) ? dim->min : dim->max;
        return bad(dim->min) || bad(dim->max);
    }
    for (int k = 0; k < dim->n_values; k++) {
        if (bad(dim->values[k])) {
            *which = dim->values[k];
            return true;
        }
    }
    return false;
}

static bool is_decaying_schedule(double v)
{
    return v == CV_LR_EXPONENTIAL || v == CV_LR_STEP;
}

static bool is_bad_decay(double v)
{
    return !(v > 0 && v <= 1);
}

/* What cv_config_check refuses, found in the spec before any trial runs:
 * an exponential or step schedule multiplies the rate by lr_decay, which
 * must then be in (0, 1]. The error stands at lr_decay when the file gives
 * it, else at lr_schedule. To add a constraint, add a check here and keep
 * cv_config_check's in step. */
static int check_constraints(const cv_space *s, cv_error *err)
{
    double sched, decay;
    if (can_be(s, CV_P_LR_SCHEDULE, is_decaying_schedule, &sched) &&
        can_be(s, CV_P_LR_DECAY, is_bad_decay, &decay)) {
        const cv_space_dim *dd = cv_space_dim_of(s, CV_P_LR_DECAY);
        const cv_space_dim *sd = cv_space_dim_of(s, CV_P_LR_SCHEDULE);
        cv_pos at = dd != NULL ? dd->pos : s->pos[CV_P_LR_DECAY];
        if (at.line == 0)
            at = sd != NULL ? sd->pos : s->pos[CV_P_LR_SCHEDULE];
        bool dflt = dd == NULL && s->pos[CV_P_LR_DECAY].line == 0;
        return fail_at(s, err, at,
                       "lr_decay: lr_schedule %s%s needs lr_decay in (0, 1], but lr_decay %s %s%s",
                       fmt_value(CV_P_LR_SCHEDULE, sched), sd != NULL ? " (searched)" : "",
                       dd != NULL ? "can be" : "is", fmt_value(CV_P_LR_DECAY, decay),
                       dflt ? " (its default); set lr_decay" : "");
    }
    return 0;
}

/* ---- the grid ---------------------------------------------------------- */

/* Resolves each axis of a grid, checks integer axes for repeats, and sizes
 * the grid and the trials per round (see caviar/space.h for the rule). */
static int setup_grid(cv_space *s, const cv_job *job, cv_error *err)
{
    char shape[512] = "";
    size_t used = 0;
    int64_t size = 1;
    cv_region full;
    cv_space_full_region(s, &full);

    for (int d = 0; d < s->n_dims; d++) {
        cv_space_dim *dim = &s->dims[d];
        const char *name = cv_param_get_info(dim->param)->name;
        if (dim->scale == CV_SCALE_CATEGORICAL) {
            dim->points = dim->n_values;
        } else if (s->spec_points[d] > 0) {
            dim->points = s->spec_points[d];
        } else if (dim->dist == CV_DIST_INT_UNIFORM) {
            dim->points = dim->count; /* every integer */
        } else {
            return fail_at(s, err, dim->pos,
                           "%s: the grid sampler needs 'points: N' for %s (how many values "
                           "to try between min and max)",
                           name, cv_dist_name(dim->dist));
        }
        if (dim->integer && dim->points > dim->count)
            return fail_at(s, err, dim->pos,
                           "%s: %d grid points on [%s, %s] repeat integers (there are %d); use "
                           "fewer points",
                           name, dim->points, fmt_value(dim->param, dim->min),
                           fmt_value(dim->param, dim->max), dim->count);
        if (dim->integer && dim->points > 1) {
            /* Each integer at most once: the points must round apart. */
            double prev = NAN;
            for (int j = 0; j < dim->points; j++) {
                double x = space_grid_value(s, d, &full, j);
                if (j > 0 && !(x > prev))
                    return fail_at(s, err, dim->pos,
                                   "%s: %d grid points on [%s, %s] repeat integers (%s twice); "
                                   "use fewer points",
                                   name, dim->points, fmt_value(dim->param, dim->min),
                                   fmt_value(dim->param, dim->max), fmt_value(dim->param, x));
                prev = x;
            }
        }
        size *= dim->points;
        if (size > INT_MAX)
            return fail_at(s, err, job->search.method_pos,
                           "search.method: the grid has more than %d points; use fewer points",
                           INT_MAX);
        if (used < sizeof shape) {
            int n = snprintf(shape + used, sizeof shape - used, "%s%s %d", d ? " x " : "", name,
                             dim->points);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    s->grid_size = size;
    if (job->search.trials_pos.line == 0) {
        s->trials = (int)size;
    } else if (size != s->trials) {
        return fail_at(s, err, job->search.trials_pos,
                       "search.trials is %d but the grid has %" PRId64 " points (%s); set "
                       "trials: %" PRId64 " or leave trials out",
                       s->trials, size, s->n_dims ? shape : "nothing is searched", size);
    }
    return 0;
}

/* ---- creation ---------------------------------------------------------- */

int cv_space_create(cv_space **out, const cv_job *job, cv_error *err)
{
    cv_space *s = NULL;
    char why[512];
    int rc;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "out of memory");
    const char *path = job->path != NULL ? job->path : "<job>";
    s->path = malloc(strlen(path) + 1);
    if (s->path == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto error;
    }
    strcpy(s->path, path);
    s->method = job->search.method;
    s->metric = job->search.metric;
    s->seed = job->search.seed;
    s->trials = job->search.trials;
    s->rounds = job->search.rounds;
    s->keep = job->search.keep;
    s->trials_pos = job->search.trials_pos;
    s->rounds_pos = job->search.rounds_pos;
    s->keep_pos = job->search.keep_pos;

    /* The search settings the parser also checks, checked again for jobs
     * that come from code. */
    if ((unsigned)s->method > CV_METHOD_SOBOL) {
        rc = fail_at(s, err, job->search.method_pos, "search.method must be random, grid or sobol");
        goto error;
    }
    if (!(s->keep > 0 && s->keep <= 1)) {
        rc = fail_at(s, err, job->search.keep_pos,
                     "search.keep must be a number in (0, 1] (got %g)", s->keep);
        goto error;
    }
    if (s->rounds < 1) {
        rc = fail_at(s, err, job->search.rounds_pos,
                     "search.rounds must be an integer in [1, %d] (got %d)", INT_MAX, s->rounds);
        goto error;
    }
    if (s->trials < 1) {
        rc = fail_at(s, err, job->search.trials_pos,
                     "search.trials must be an integer in [1, %d] (got %d)", INT_MAX, s->trials);
        goto error;
    }

    /* Constants into the base configuration, searched parameters into
     * dimensions. */
    cv_config_defaults(&s->base);
    for (int p = 0; p < CV_P_COUNT; p++) {
        const cv_param_spec *spec = &job->params[p];
        s->dim_index[p] = -1;
        s->pos[p] = spec->pos;
        if (spec->dist == CV_DIST_CONSTANT) {
            if (cv_param_check((cv_param)p, spec->value, why, sizeof why) != 0) {
                rc = fail_at(s, err, spec->pos, "%s", why);
                goto error;
            }
            cv_config_set(&s->base, (cv_param)p, spec->value);
            continue;
        }
        if ((rc = check_spec(s, (cv_param)p, spec, err)) != 0 ||
            (rc = add_dim(s, (cv_param)p, spec, err)) != 0)
            goto error;
    }
    if ((rc = check_constraints(s, err)) != 0)
        goto error;

    if (s->method == CV_METHOD_GRID && (rc = setup_grid(s, job, err)) != 0)
        goto error;
    if ((int64_t)s->trials * s->rounds > INT_MAX) {
        rc = fail_at(s, err, job->search.rounds_pos,
                     "search: trials * rounds must be at most %d (got %d * %d)", INT_MAX,
                     s->trials, s->rounds);
        goto error;
    }
    if (s->method == CV_METHOD_SOBOL && s->n_dims > SOBOL_MAX_DIMS) {
        rc = fail_at(s, err, job->search.method_pos,
                     "search.method sobol samples at most %d searched parameters (got %d)",
                     SOBOL_MAX_DIMS, s->n_dims);
        goto error;
    }
    if (s->method == CV_METHOD_SOBOL)
        for (int d = 0; d < s->n_dims; d++)
            space_sobol_init(s->sobol[d], d);

    *out = s;
    return 0;

error:
    cv_space_free(s);
    return rc;
}

void cv_space_free(cv_space *s)
{
    if (s == NULL)
        return;
    for (int d = 0; d < CV_P_COUNT; d++)
        free(s->values[d]);
    free(s->path);
    free(s);
}

/* ---- advice ------------------------------------------------------------ */

/* Formats one warning and hands it over. */
__attribute__((format(printf, 5, 6))) static void warn_at(const cv_space *s, cv_space_warn_fn warn,
                                                          void *user, cv_pos pos,
                                                          const char *fmt, ...)
{
    char msg[768], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pos.line > 0)
        snprintf(line, sizeof line, "%s:%d:%d: warning: %s", s->path, pos.line, pos.column, msg);
    else
        snprintf(line, sizeof line, "%s: warning: %s", s->path, msg);
    warn(user, line);
}

static bool is_beta(cv_param p)
{
    return p == CV_P_MOMENTUM || p == CV_P_BETA1 || p == CV_P_BETA2 || p == CV_P_BN_MOMENTUM;
}

int cv_space_advise(const cv_space *s, cv_space_warn_fn warn, void *user)
{
    int n = 0;
    for (int d = 0; d < s->n_dims; d++) {
        const cv_space_dim *dim = &s->dims[d];
        cv_param p = dim->param;
        const char *name = cv_param_get_info(p)->name;
        const char *lo = fmt_value(p, dim->min), *hi = fmt_value(p, dim->max);

        /* More than two decades on a linear scale: almost every draw lands
         * in the top decade. */
        if (dim->scale == CV_SCALE_LINEAR && dim->min > 0 && dim->max / dim->min > 100) {
            double top = (dim->max - dim->max / 10) / (dim->max - dim->min);
            warn_at(s, warn, user, dim->pos,
                    "%s: %s over [%s, %s] spans %.1f decades on a linear scale, so %.0f%% of "
                    "draws land in the top decade; consider distribution: %s",
                    name, cv_dist_name(dim->dist), lo, hi, log10(dim->max / dim->min), 100 * top,
                    dim->integer ? "log_int_uniform" : "log_uniform");
            n++;
        }
        /* A beta near 1 on a linear scale: what matters is 1 - beta, the
         * averaging window, and a linear scale crowds its small values. */
        if (dim->scale == CV_SCALE_LINEAR && is_beta(p) && (1 - dim->min) >= 10 * (1 - dim->max)) {
            double mid = 1 - sqrt((1 - dim->min) * (1 - dim->max));
            double above = (dim->max - mid) / (dim->max - dim->min);
            warn_at(s, warn, user, dim->pos,
                    "%s: %s over [%s, %s] puts only %.0f%% of draws above %.4g, the middle of "
                    "1 - %s on a log scale; consider distribution: one_minus_log_uniform",
                    name, cv_dist_name(dim->dist), lo, hi, 100 * above, mid, name);
            n++;
        }
        if (dim->scale == CV_SCALE_CATEGORICAL && dim->count < dim->n_values) {
            warn_at(s, warn, user, dim->pos,
                    "%s: values repeat (%d listed, %d distinct); a repeated value is drawn "
                    "more often",
                    name, dim->n_values, dim->count);
            n++;
        }
        if (s->spec_points[d] > 0 && s->method != CV_METHOD_GRID) {
            warn_at(s, warn, user, dim->pos,
                    "%s: points applies to method: grid only; the %s sampler ignores it", name,
                    s->method == CV_METHOD_SOBOL ? "sobol" : "random");
            n++;
        }
    }
    if (s->method == CV_METHOD_SOBOL && s->n_dims > 0 && (s->trials & (s->trials - 1)) != 0) {
        int below = 1;
        while (below <= s->trials / 2)
            below *= 2;
        warn_at(s, warn, user, s->trials_pos,
                "search.trials: sobol covers the space most evenly at a power of two; %d is "
                "between %d and %d",
                s->trials, below, below * 2);
        n++;
    }
    if (s->rounds > 1 && s->n_dims == 0) {
        warn_at(s, warn, user, s->rounds_pos,
                "search.rounds: nothing is searched, so every round trains the same "
                "configuration");
        n++;
    } else if (s->rounds > 1 && cv_space_keep_count(s, s->trials) < 2) {
        warn_at(s, warn, user, s->keep_pos,
                "search.keep: one trial per round (keep %g of %d trials) defines the next "
                "region, which then shrinks to the minimum width around it; keep more",
                s->keep, s->trials);
        n++;
    }
    return n;
}
