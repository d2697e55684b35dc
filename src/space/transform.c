/* transform.c: the geometry of a built space's dimensions (see
 * space_internal.h): the transform between a value and its position u in
 * [0, 1] (linear, log10 or -log10(1 - x), integers owning their whole
 * rounding cell), and what a region holds along one dimension: its natural
 * bounds, its allowed categorical values, its grid points. Creation, the
 * samplers and the zoom all build on these; they call nothing. */
#include <math.h>

#include "space_internal.h"

/* ---- transforms -------------------------------------------------------- */

double space_scale(cv_scale scale, double x)
{
    switch (scale) {
    case CV_SCALE_LOG: return log10(x);
    case CV_SCALE_ONE_MINUS_LOG: return -log10(1 - x); /* increasing in x */
    case CV_SCALE_LINEAR:
    case CV_SCALE_CATEGORICAL: break;
    }
    return x;
}

double space_unscale(cv_scale scale, double y)
{
    switch (scale) {
    case CV_SCALE_LOG: return pow(10, y);
    case CV_SCALE_ONE_MINUS_LOG: return 1 - pow(10, -y);
    case CV_SCALE_LINEAR:
    case CV_SCALE_CATEGORICAL: break;
    }
    return y;
}

double space_cont(const cv_space *s, int d, double u)
{
    const space_tr *tr = &s->tr[d];
    if (u <= 0)
        return tr->ca;
    if (u >= 1)
        return tr->cb;
    return space_unscale(s->dims[d].scale, tr->sa + u * (tr->sb - tr->sa));
}

double space_unit(const cv_space *s, int d, double x)
{
    const space_tr *tr = &s->tr[d];
    cv_scale scale = s->dims[d].scale;
    /* Outside the scale's domain, the nearer end. */
    if (x <= tr->ca || (scale == CV_SCALE_LOG && !(x > 0)))
        return 0;
    if (x >= tr->cb || (scale == CV_SCALE_ONE_MINUS_LOG && !(x < 1)))
        return 1;
    double u = (space_scale(scale, x) - tr->sa) / (tr->sb - tr->sa);
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

int space_value_index(const cv_space *s, int d, double x)
{
    const cv_space_dim *dim = &s->dims[d];
    for (int k = 0; k < dim->n_values; k++)
        if (dim->values[k] == x)
            return k;
    return -1;
}

double space_settle(const cv_space_dim *dim, double x, double lo, double hi)
{
    if (dim->integer)
        x = round(x);
    return x < lo ? lo : x > hi ? hi : x;
}

void space_region_natural(const cv_space *s, int d, const cv_region *r, double *lo, double *hi)
{
    const cv_space_dim *dim = &s->dims[d];
    cv_param p = dim->param;
    double xl = space_cont(s, d, r->lo[p]), xh = space_cont(s, d, r->hi[p]);
    if (dim->integer) {
        /* The integers whose rounding cell [k - 0.5, k + 0.5) meets [xl, xh];
         * the tolerance absorbs the rounding of a region snapped to cell
         * edges by the zoom. */
        double a = floor(xl - 0.5 + 1e-7) + 1, b = ceil(xh + 0.5 - 1e-7) - 1;
        if (a > b)
            a = b = round(xl);
        xl = a;
        xh = b;
    }
    *lo = xl < dim->min ? dim->min : xl > dim->max ? dim->max : xl;
    *hi = xh < dim->min ? dim->min : xh > dim->max ? dim->max : xh;
}

int space_allowed_count(const cv_region *r, const cv_space *s, int d)
{
    const cv_space_dim *dim = &s->dims[d];
    int n = 0;
    for (int k = 0; k < dim->n_values; k++)
        n += (int)((r->allowed[dim->param][k / 64] >> (k % 64)) & 1u);
    return n;
}

int space_allowed_nth(const cv_region *r, const cv_space *s, int d, int nth)
{
    const cv_space_dim *dim = &s->dims[d];
    for (int k = 0; k < dim->n_values; k++)
        if (((r->allowed[dim->param][k / 64] >> (k % 64)) & 1u) && nth-- == 0)
            return k;
    return 0; /* nth beyond the allowed ones: a caller's mistake, value 0 */
}

double space_grid_value(const cv_space *s, int d, const cv_region *r, int j)
{
    const cv_space_dim *dim = &s->dims[d];
    int k = dim->points;
    double lo, hi;
    space_region_natural(s, d, r, &lo, &hi);
    if (k > 1 && j == 0)
        return lo;
    if (k > 1 && j == k - 1)
        return space_settle(dim, hi, lo, hi);
    double t = k > 1 ? (double)j / (k - 1) : 0.5;
    double a = space_scale(dim->scale, lo), b = space_scale(dim->scale, hi);
    return space_settle(dim, space_unscale(dim->scale, a + t * (b - a)), lo, hi);
}
