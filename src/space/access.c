/* access.c: what a built space says about itself (see caviar/space.h): its
 * dimensions, base configuration and settings, and how many trials of a round
 * define the next region. The module's other files ask through these; they
 * read the space and call nothing. */
#include <math.h>

#include "space_internal.h"

int cv_space_dims(const cv_space *s)
{
    return s->n_dims;
}

const cv_space_dim *cv_space_dim_get(const cv_space *s, int d)
{
    return d >= 0 && d < s->n_dims ? &s->dims[d] : NULL;
}

const cv_space_dim *cv_space_dim_of(const cv_space *s, cv_param p)
{
    if ((unsigned)p >= CV_P_COUNT || s->dim_index[p] < 0)
        return NULL;
    return &s->dims[s->dim_index[p]];
}

const cv_config *cv_space_base(const cv_space *s)
{
    return &s->base;
}

int cv_space_trials(const cv_space *s)
{
    return s->trials;
}

int cv_space_rounds(const cv_space *s)
{
    return s->rounds;
}

cv_method cv_space_method(const cv_space *s)
{
    return s->method;
}

int64_t cv_space_grid_size(const cv_space *s)
{
    return s->method == CV_METHOD_GRID ? s->grid_size : 0;
}

int cv_space_keep_count(const cv_space *s, int n)
{
    if (n <= 0)
        return 0;
    /* The tolerance keeps 0.1 * 30 at 3, not 4. */
    double k = ceil(s->keep * n - 1e-9);
    if (k < 1)
        return 1;
    return k > n ? n : (int)k;
}
