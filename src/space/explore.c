/* explore.c: population-based training's explore (see caviar/space.h):
 * a configuration copied from a top member, each parameter to mutate
 * resampled or moved on its own scale, always inside the job's bounds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "caviar/rng.h"
#include "space_internal.h"

/* The key counter that sets explore's draws apart from sampling's. */
#define EXPLORE_COUNTER 0x9b7e5a11u

/* x moved by factor f on dimension d's scale (see caviar/space.h); how
 * says how, for a user. */
static double move(const cv_space *s, int d, double x, double f, char *how, size_t size)
{
    const cv_space_dim *dim = &s->dims[d];
    double y = x;
    switch (dim->scale) {
    case CV_SCALE_LOG:
        y = x * f;
        snprintf(how, size, "x%g", f);
        break;
    case CV_SCALE_ONE_MINUS_LOG:
        y = 1 - (1 - x) * f;
        snprintf(how, size, "x%g on 1 - x", f);
        break;
    case CV_SCALE_LINEAR:
        y = x + (f - 1) * (dim->max - dim->min) / 2;
        snprintf(how, size, "%+g%% of the range", 50 * (f - 1));
        break;
    case CV_SCALE_CATEGORICAL: {
        int at = space_value_index(s, d, x), k = at + (f > 1 ? 1 : -1);
        k = k < 0 ? 0 : k >= dim->n_values ? dim->n_values - 1 : k;
        snprintf(how, size, "%s value", f > 1 ? "next" : "previous");
        return at < 0 ? x : dim->values[k];
    }
    }
    if (dim->integer) {
        double r = round(y);
        /* an integer moves at least to its neighbour */
        if (r == x)
            r = f > 1 ? x + 1 : x - 1;
        y = r;
    }
    return y < dim->min ? dim->min : y > dim->max ? dim->max : y;
}

/* p's value v as a user reads it: four significant digits for a real. */
static void format_value(cv_param p, const cv_space_dim *dim, double v, char *buf, size_t size)
{
    if (dim->integer || dim->scale == CV_SCALE_CATEGORICAL)
        cv_param_format(p, v, buf, size);
    else
        snprintf(buf, size, "%.4g", v);
}

int cv_space_explore(const cv_space *s, const cv_config *from, const cv_pbt_spec *pbt,
                     uint64_t key, cv_config *out, char *what, size_t what_size)
{
    *out = *from;
    size_t len = 0;
    if (what != NULL && what_size > 0)
        what[0] = '\0';
    for (int d = 0; d < s->n_dims; d++) {
        const cv_space_dim *dim = &s->dims[d];
        if (!pbt->mutate[dim->param])
            continue;
        cv_rng r;
        cv_rng_seed(&r, cv_hash_key(key, EXPLORE_COUNTER, (uint64_t)dim->param + 1, 0));
        double x = cv_config_get(from, dim->param), y;
        char how[40] = "resampled";
        if (cv_rng_uniform(&r) < pbt->resample) {
            y = cv_space_from_unit(s, dim->param, cv_rng_uniform(&r));
        } else {
            int k = (int)(cv_rng_uniform(&r) * pbt->n_factors);
            double f = pbt->factors[k < pbt->n_factors ? k : pbt->n_factors - 1];
            y = move(s, d, x, f, how, sizeof how);
        }
        cv_config_set(out, dim->param, y);
        if (what != NULL && len + 1 < what_size) {
            char was[32], now[32];
            format_value(dim->param, dim, x, was, sizeof was);
            format_value(dim->param, dim, cv_config_get(out, dim->param), now, sizeof now);
            int n = snprintf(what + len, what_size - len, "%s%s %s -> %s (%s)", len ? "; " : "",
                             cv_param_get_info(dim->param)->name, was, now, how);
            if (n > 0)
                len += (size_t)n < what_size - len ? (size_t)n : what_size - len - 1;
        }
    }
    char why[256];
    if (cv_config_check(out, why, sizeof why) != 0)
        return -1;
    return 0;
}
