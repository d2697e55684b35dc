/* analysis.c: how the metric depends on each searched parameter (bins on
 * the parameter's own scale, main-effect importance) and the suggested next
 * region (see caviar/report.h).
 *
 * Importance is the correlation ratio eta^2 = SS_between / SS_total of the
 * metric grouped by a parameter's bins: the share of the metric's variance
 * that the parameter's bins explain on their own. It is biased upward by
 * noise, by (bins - 1) / (n - 1) on average, which the report prints beside
 * it as the chance level. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/report.h"

/* ---- bins ------------------------------------------------------------------- */

/* Integer parameters with at most this many values get one bin per value. */
#define INT_SCAN_MAX 1000000

/* Whether integer dimension dim gets one bin per value. */
static bool bin_per_integer(const cv_space_dim *dim)
{
    return dim->integer && dim->max - dim->min + 1 <= CV_REPORT_BINS;
}

/* The bin of value x of dimension dim (n_bins of them), or -1. */
static int bin_of(const cv_space *s, const cv_space_dim *dim, int n_bins, double x)
{
    if (bin_per_integer(dim)) {
        double k = round(x) - dim->min;
        return k >= 0 && k < n_bins ? (int)k : -1;
    }
    double u = cv_space_to_unit(s, dim->param, x);
    if (!isfinite(u))
        return -1;
    int b = (int)floor(u * n_bins);
    return b < 0 ? 0 : b >= n_bins ? n_bins - 1 : b;
}

/* Sets up e's bins for dimension dim: how many, and their ranges. */
static void lay_out_bins(const cv_space *s, const cv_space_dim *dim, cv_report_effect *e)
{
    e->param = dim->param;
    e->categorical = dim->scale == CV_SCALE_CATEGORICAL;
    if (e->categorical) {
        e->n_bins = dim->n_values;
        for (int k = 0; k < dim->n_values; k++)
            e->bins[k].lo = e->bins[k].hi = dim->values[k];
        return;
    }
    e->n_bins = bin_per_integer(dim) ? (int)(dim->max - dim->min + 1) : CV_REPORT_BINS;
    for (int b = 0; b < e->n_bins; b++) {
        e->bins[b].lo = cv_space_from_unit(s, dim->param, (double)b / e->n_bins);
        e->bins[b].hi = cv_space_from_unit(s, dim->param, (double)(b + 1) / e->n_bins);
    }
    if (dim->integer && dim->max - dim->min <= INT_SCAN_MAX) {
        /* the integers each bin holds (a bin may hold none) */
        for (int b = 0; b < e->n_bins; b++)
            e->bins[b].lo = e->bins[b].hi = NAN;
        for (double k = dim->min; k <= dim->max; k++) {
            int b = bin_of(s, dim, e->n_bins, k);
            if (b < 0)
                continue;
            if (isnan(e->bins[b].lo))
                e->bins[b].lo = k;
            e->bins[b].hi = k;
        }
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fills e's bins from the n trials (metric m[i], NaN when none;
 * configuration of rows[i]) and its importance. work holds n doubles. */
static void fill_effect(const cv_study *st, const cv_space_dim *dim, cv_report_effect *e,
                        const cv_trial_row *const *rows, const double *m, int n, double best,
                        double *work)
{
    double near = cv_report_near_threshold(st->metric, best);
    bool lr_searched = cv_space_dim_of(st->space, CV_P_LEARNING_RATE) != NULL;
    double mean = 0;
    int scored = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(m[i]))
            mean += m[i], scored++;
    mean = scored > 0 ? mean / scored : NAN;
    double ss_total = 0, ss_between = 0;
    int used = 0;
    for (int b = 0; b < e->n_bins; b++) {
        cv_report_bin *bin = &e->bins[b];
        bin->best = bin->median = bin->lr_lo = bin->lr_hi = NAN;
        int k = 0;
        for (int i = 0; i < n; i++) {
            double x = cv_config_get(&rows[i]->config, dim->param);
            if (bin_of(st->space, dim, e->n_bins, x) != b)
                continue;
            bin->trials++;
            bin->diverged += rows[i]->status == CV_TRIAL_DIVERGED;
            if (isnan(m[i]))
                continue;
            work[k++] = m[i];
            if (cv_metric_better(st->metric, m[i], bin->best))
                bin->best = m[i];
            if (!cv_metric_better(st->metric, near, m[i])) { /* m[i] reaches near */
                bin->near++;
                double lr = rows[i]->config.learning_rate;
                if (lr_searched) {
                    bin->lr_lo = isnan(bin->lr_lo) ? lr : fmin(bin->lr_lo, lr);
                    bin->lr_hi = isnan(bin->lr_hi) ? lr : fmax(bin->lr_hi, lr);
                }
            }
        }
        bin->n = k;
        if (k == 0)
            continue;
        used++;
        qsort(work, (size_t)k, sizeof *work, compare_doubles);
        bin->median = k % 2 ? work[k / 2] : 0.5 * (work[k / 2 - 1] + work[k / 2]);
        double bin_mean = 0;
        for (int j = 0; j < k; j++)
            bin_mean += work[j];
        bin_mean /= k;
        ss_between += k * (bin_mean - mean) * (bin_mean - mean);
    }
    for (int i = 0; i < n; i++)
        if (!isnan(m[i]))
            ss_total += (m[i] - mean) * (m[i] - mean);
    e->importance = scored < 2 ? NAN : ss_total > 0 ? ss_between / ss_total : 0;
    e->chance = scored < 2 ? NAN : used > 1 ? (double)(used - 1) / (scored - 1) : 0;
}

static int compare_importance(const void *pa, const void *pb)
{
    const cv_report_effect *a = pa, *b = pb;
    double x = isnan(a->importance) ? -1 : a->importance;
    double y = isnan(b->importance) ? -1 : b->importance;
    if (x != y)
        return x > y ? -1 : 1;
    return (a->param > b->param) - (a->param < b->param);
}

int cv_report_effects(const cv_study *st, cv_report_effect **out, int *n_out, cv_error *err)
{
    int rc = 0;
    int dims = cv_space_dims(st->space);
    *out = NULL;
    *n_out = 0;
    if (dims == 0)
        return 0;
    size_t rows_n = st->n_rows > 0 ? (size_t)st->n_rows : 1;
    cv_report_effect *e = calloc((size_t)dims, sizeof *e);
    const cv_trial_row **rows = malloc(rows_n * sizeof *rows);
    double *m = malloc(rows_n * sizeof *m), *work = malloc(rows_n * sizeof *work);
    if (e == NULL || rows == NULL || m == NULL || work == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the effects of %d parameters",
                     st->path, dims);
        goto error;
    }
    /* the trials that count: all but the interrupted (which will run
     * again); those without a metric count against their bin's share */
    int n = 0;
    double best = NAN;
    for (int64_t i = 0; i < st->n_rows; i++) {
        if (st->rows[i].status == CV_TRIAL_INTERRUPTED)
            continue;
        double v = cv_study_metric(st, &st->rows[i]);
        rows[n] = &st->rows[i];
        m[n++] = v;
        if (cv_metric_better(st->metric, v, best))
            best = v;
    }
    for (int d = 0; d < dims; d++) {
        const cv_space_dim *dim = cv_space_dim_get(st->space, d);
        lay_out_bins(st->space, dim, &e[d]);
        fill_effect(st, dim, &e[d], rows, m, n, best, work);
    }
    qsort(e, (size_t)dims, sizeof *e, compare_importance);
    free(rows), free(m), free(work);
    *out = e;
    *n_out = dims;
    return 0;

error:
    free(e), free(rows), free(m), free(work);
    return rc;
}

/* ---- the next region ----------------------------------------------------------- */

/* x rounded down (up when up) to two significant digits, through its
 * decimal text so that it prints as written ("0.00041", not
 * "0.00041000000000000005"). */
static double round_sig2(double x, bool up)
{
    if (x == 0 || !isfinite(x))
        return x;
    int e = (int)floor(log10(fabs(x))) - 1;
    double q = x / pow(10, e);
    double mant = up ? ceil(q - 1e-9) : floor(q + 1e-9);
    char text[48];
    snprintf(text, sizeof text, "%.0fe%d", mant, e);
    return strtod(text, NULL);
}

/* The region's bounds of ranged dimension dim rounded outward on its own
 * scale (for one_minus_log_uniform: 1 - x is what gets rounded), kept
 * inside the job's range. */
static void round_outward(const cv_space_dim *dim, double *lo, double *hi)
{
    if (dim->integer)
        return;
    double a, b;
    if (dim->scale == CV_SCALE_ONE_MINUS_LOG) {
        a = 1 - round_sig2(1 - *lo, true);
        b = 1 - round_sig2(1 - *hi, false);
        /* 1 - y in binary is not the decimal 1 - y: through text again */
        char text[48];
        snprintf(text, sizeof text, "%.12g", a);
        a = strtod(text, NULL);
        snprintf(text, sizeof text, "%.12g", b);
        b = strtod(text, NULL);
    } else {
        a = round_sig2(*lo, false);
        b = round_sig2(*hi, true);
    }
    a = a < dim->min ? dim->min : a;
    b = b > dim->max ? dim->max : b;
    if (a < b) {
        *lo = a;
        *hi = b;
    }
}

/* A growing text buffer; a failed append leaves ok false. */
typedef struct text {
    char *s;
    size_t len, cap;
    bool ok;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = t->ok ? vsnprintf(t->s != NULL ? t->s + t->len : NULL, room, fmt, ap) : -1;
        va_end(ap);
        if (n < 0) {
            t->ok = false;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = 2 * t->cap + (size_t)n;
        char *p = realloc(t->s, cap);
        if (p == NULL) {
            t->ok = false;
            return;
        }
        t->s = p, t->cap = cap;
    }
}

/* One searched parameter's line of the block. */
static void suggest_dim(text *t, const cv_study *st, const cv_space_dim *dim,
                        const cv_region *next, const cv_region *full)
{
    cv_param p = dim->param;
    const char *name = cv_param_get_info(p)->name;
    char was[256], a[48], b[48];
    cv_space_region_format(st->space, full, p, was, sizeof was);
    if (dim->scale == CV_SCALE_CATEGORICAL) {
        double values[CV_SPACE_MAX_VALUES];
        int n = cv_space_region_values(st->space, next, p, values, CV_SPACE_MAX_VALUES);
        if (n == 1) {
            cv_param_format(p, values[0], a, sizeof a);
            put(t, "  %s: %s   # searched %s\n", name, a, was);
            return;
        }
        put(t, "  %s: {values: [", name);
        for (int k = 0; k < n; k++) {
            cv_param_format(p, values[k], a, sizeof a);
            put(t, "%s%s", k ? ", " : "", a);
        }
        put(t, "]}   # searched %s\n", was);
        return;
    }
    double lo, hi;
    cv_space_region_bounds(st->space, next, p, &lo, &hi);
    round_outward(dim, &lo, &hi);
    cv_param_format(p, lo, a, sizeof a);
    cv_param_format(p, hi, b, sizeof b);
    if (lo == hi) {
        put(t, "  %s: %s   # searched %s\n", name, a, was);
        return;
    }
    put(t, "  %s: {distribution: %s, min: %s, max: %s", name, cv_dist_name(dim->dist), a, b);
    if (dim->points > 0)
        put(t, ", points: %d", dim->points);
    put(t, "}   # searched %s\n", was);
}

/* Whether cfg lies in the job's space: rows continued by hand (`caviar
 * train --from ... --set`) may not, and cannot define a region of it. */
static bool in_space(const cv_space *s, const cv_config *cfg)
{
    for (int d = 0; d < cv_space_dims(s); d++) {
        const cv_space_dim *dim = cv_space_dim_get(s, d);
        double x = cv_config_get(cfg, dim->param);
        if (dim->scale == CV_SCALE_CATEGORICAL ? !isfinite(cv_space_to_unit(s, dim->param, x))
                                               : !(x >= dim->min && x <= dim->max))
            return false;
    }
    return true;
}

int cv_report_suggest(const cv_study *st, char **yaml, int *n_best, cv_error *err)
{
    int rc = 0;
    *yaml = NULL;
    *n_best = 0;
    int64_t *order = malloc((size_t)(st->n_rows > 0 ? st->n_rows : 1) * sizeof *order);
    cv_config *best = NULL;
    text t = {.ok = true};
    if (order == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", st->path);
        goto error;
    }
    int64_t ranked = cv_study_rank(st, order), inside = 0;
    for (int64_t i = 0; i < ranked; i++) /* the ranked rows in the space, best first */
        if (in_space(st->space, &st->rows[order[i]].config))
            order[inside++] = order[i];
    int keep = inside > 0 ? cv_space_keep_count(st->space, (int)inside) : 0;
    if ((best = malloc((size_t)(keep > 0 ? keep : 1) * sizeof *best)) == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", st->path);
        goto error;
    }
    for (int i = 0; i < keep; i++)
        best[i] = st->rows[order[i]].config;
    cv_region full, next;
    cv_space_full_region(st->space, &full);
    if ((rc = cv_space_zoom_best(st->space, &full, best, keep, &next, err)) != 0)
        goto error;

    put(&t, "parameters:\n");
    for (int p = 0; p < CV_P_COUNT; p++) {
        const cv_space_dim *dim = cv_space_dim_of(st->space, (cv_param)p);
        if (!cv_param_active((cv_param)p))
            continue;
        if (dim != NULL) {
            suggest_dim(&t, st, dim, &next, &full);
        } else if (st->job.params[p].given) {
            char v[48];
            cv_param_format((cv_param)p, cv_config_get(cv_space_base(st->space), (cv_param)p), v,
                            sizeof v);
            put(&t, "  %s: %s\n", cv_param_get_info((cv_param)p)->name, v);
        }
    }
    if (!t.ok) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the suggested region", st->path);
        goto error;
    }
    free(order), free(best);
    *yaml = t.s;
    *n_best = keep;
    return 0;

error:
    free(order), free(best), free(t.s);
    return rc;
}
