/* zoom.c: coarse to fine: regions, and the zoom from one round to the next
 * (see caviar/space.h).
 *
 * A region is a box in the transformed space (per ranged dimension an
 * interval of [0, 1]) and, per categorical dimension, the set of values
 * still allowed. The zoom keeps where the best trials landed: their
 * bounding box, widened by a margin so that the next round can still move
 * a little past the best points, clipped to the original bounds. Integer
 * dimensions snap outward to whole rounding cells, so that every integer in
 * the region keeps its full share of draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space_internal.h"

void cv_space_full_region(const cv_space *s, cv_region *r)
{
    memset(r, 0, sizeof *r);
    for (int d = 0; d < s->n_dims; d++) {
        const cv_space_dim *dim = &s->dims[d];
        cv_param p = dim->param;
        r->lo[p] = 0;
        r->hi[p] = 1;
        for (int k = 0; k < dim->n_values; k++)
            r->allowed[p][k / 64] |= (uint64_t)1 << (k % 64);
    }
}

int cv_space_zoom_best(const cv_space *s, const cv_region *prev, const cv_config *best,
                       int n_best, cv_region *next, cv_error *err)
{
    cv_region r = *prev;
    if (n_best <= 0) {
        *next = r;
        return 0;
    }
    for (int d = 0; d < s->n_dims; d++) {
        const cv_space_dim *dim = &s->dims[d];
        cv_param p = dim->param;

        if (dim->scale == CV_SCALE_CATEGORICAL) {
            /* The values the best use. */
            memset(r.allowed[p], 0, sizeof r.allowed[p]);
            for (int i = 0; i < n_best; i++) {
                double x = cv_config_get(&best[i], p);
                int k = space_value_index(s, d, x);
                if (k < 0) {
                    char v[48];
                    cv_param_format(p, x, v, sizeof v);
                    return cv_fail(err, CV_ERR_INPUT,
                                   "%s: zoom: %s %s is not one of the space's values", s->path,
                                   cv_param_get_info(p)->name, v);
                }
                r.allowed[p][k / 64] |= (uint64_t)1 << (k % 64);
            }
            continue;
        }

        /* The bounding box of the best, in transformed space. */
        double a = 1, b = 0;
        for (int i = 0; i < n_best; i++) {
            double u = space_unit(s, d, cv_config_get(&best[i], p));
            a = fmin(a, u);
            b = fmax(b, u);
        }
        /* Widened on each side by 10% of its width, at least 2.5% of the
         * whole range, and clipped to the original bounds. */
        double m = fmax(CV_SPACE_MARGIN * (b - a), CV_SPACE_MIN_MARGIN);
        r.lo[p] = fmax(0, a - m);
        r.hi[p] = fmin(1, b + m);
        if (dim->integer) {
            /* Out to the edges of the integers' rounding cells. */
            double lo, hi;
            space_region_natural(s, d, &r, &lo, &hi);
            r.lo[p] = lo <= dim->min ? 0 : space_unit(s, d, lo - 0.5);
            r.hi[p] = hi >= dim->max ? 1 : space_unit(s, d, hi + 0.5);
        }
    }
    *next = r;
    return 0;
}

/* A trial's place in the ranking: its metric (the better first, by
 * cv_metric_better), then its index. */
typedef struct ranked {
    double value;
    cv_metric metric;
    int index;
} ranked;

static int compare_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (cv_metric_better(a->metric, a->value, b->value))
        return -1;
    if (cv_metric_better(a->metric, b->value, a->value))
        return 1;
    return (a->index > b->index) - (a->index < b->index);
}

int cv_space_zoom(const cv_space *s, const cv_region *prev, const cv_config *configs,
                  const double *metric, int n, cv_region *next, cv_error *err)
{
    ranked *order = NULL;
    cv_config *best = NULL;
    int rc, n_finite = 0;

    if (n <= 0) {
        *next = *prev;
        return 0;
    }
    order = malloc((size_t)n * sizeof *order);
    if (order == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: zoom: out of memory", s->path);
        goto error;
    }
    /* Diverged and failed trials (NaN, infinite) never define the region. */
    for (int i = 0; i < n; i++) {
        if (!isfinite(metric[i]))
            continue;
        order[n_finite++] = (ranked){metric[i], s->metric, i};
    }
    qsort(order, (size_t)n_finite, sizeof *order, compare_ranked);
    int k = cv_space_keep_count(s, n);
    if (k > n_finite)
        k = n_finite;
    if (k > 0) {
        best = malloc((size_t)k * sizeof *best);
        if (best == NULL) {
            rc = cv_fail(err, CV_ERR_NOMEM, "%s: zoom: out of memory", s->path);
            goto error;
        }
        for (int i = 0; i < k; i++)
            best[i] = configs[order[i].index];
    }
    rc = cv_space_zoom_best(s, prev, best, k, next, err);

error:
    free(best);
    free(order);
    return rc;
}

/* ---- describing a region ----------------------------------------------- */

int cv_space_region_bounds(const cv_space *s, const cv_region *r, cv_param p, double *lo,
                           double *hi)
{
    const cv_space_dim *dim = cv_space_dim_of(s, p);
    if (dim == NULL)
        return -1;
    int d = s->dim_index[p];
    if (dim->scale != CV_SCALE_CATEGORICAL) {
        space_region_natural(s, d, r, lo, hi);
        return 0;
    }
    *lo = INFINITY;
    *hi = -INFINITY;
    int n = space_allowed_count(r, s, d);
    for (int k = 0; k < n; k++) {
        double v = dim->values[space_allowed_nth(r, s, d, k)];
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
    }
    if (n == 0)
        *lo = *hi = NAN;
    return 1;
}

int cv_space_region_values(const cv_space *s, const cv_region *r, cv_param p, double *out,
                           int cap)
{
    const cv_space_dim *dim = cv_space_dim_of(s, p);
    if (dim == NULL || dim->scale != CV_SCALE_CATEGORICAL)
        return -1;
    int d = s->dim_index[p];
    int n = space_allowed_count(r, s, d);
    for (int k = 0; k < n && k < cap; k++)
        out[k] = dim->values[space_allowed_nth(r, s, d, k)];
    return n;
}

int cv_space_region_format(const cv_space *s, const cv_region *r, cv_param p, char *buf,
                           size_t size)
{
    char a[48], b[48];
    double lo, hi;
    int kind = cv_space_region_bounds(s, r, p, &lo, &hi);
    if (kind < 0)
        return snprintf(buf, size, "-");
    if (kind == 0) {
        cv_param_format(p, lo, a, sizeof a);
        cv_param_format(p, hi, b, sizeof b);
        return snprintf(buf, size, "[%s, %s]", a, b);
    }
    /* "{64, 128, ...}": as many values as fit in size, then "...". */
    double values[CV_SPACE_MAX_VALUES];
    int n = cv_space_region_values(s, r, p, values, CV_SPACE_MAX_VALUES);
    char out[512];
    size_t room = size < sizeof out ? size : sizeof out, used = 0;
    out[used++] = '{';
    for (int k = 0; k < n; k++) {
        cv_param_format(p, values[k], a, sizeof a);
        size_t len = strlen(a);
        /* This value after its ", ", then room for the end: ", ...}" and
         * the NUL if more values follow, "}" and the NUL if not. */
        size_t sep = k > 0 ? 2 : 0, need = used + sep + len + (k + 1 < n ? 7 : 2);
        if (need > room) {
            memcpy(out + used, k > 0 ? ", ..." : "...", sep + 3);
            used += sep + 3;
            break;
        }
        if (k > 0) {
            memcpy(out + used, ", ", 2);
            used += 2;
        }
        memcpy(out + used, a, len);
        used += len;
    }
    out[used++] = '}';
    out[used] = '\0';
    return snprintf(buf, size, "%s", out);
}
