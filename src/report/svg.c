/* svg.c: the report's figures, written as SVG text with nothing but stdio
 * (see cv_report_svg in caviar/report.h).
 *
 * Every parameter axis is the parameter's own scale: a point sits at
 * cv_space_to_unit(x), the position the sampler drew it from, so a log
 * scale is a log axis and one_minus_log_uniform a log axis of 1 - x (0.9,
 * 0.99, 0.999 evenly spaced); ticks are chosen in the parameter's units and
 * placed the same way. Data marks carry class="trial" so that a test (or
 * a stylesheet) can find them; decorations carry other classes. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_int.h"

/* Marks per round, cycling. */
static const char *const round_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
                                           "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                                           "#7f7f7f", "#d62728"};
#define N_ROUND_COLORS (int)(sizeof round_colors / sizeof *round_colors)

/* Text drawn over lines: a white outline under the glyphs. */
#define HALO "stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\""

/* At most this many ticks per axis. */
#define MAX_TICKS 24

/* ---- writing ------------------------------------------------------------------ */

void cv_report_put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* <text> at (x, y); anchor start|middle|end; extra attributes or "". */
static void text_at(FILE *f, double x, double y, const char *anchor, const char *extra,
                    const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor,
            extra[0] ? " " : "", extra);
    cv_report_put_escaped(f, s);
    fputs("</text>\n", f);
}

/* Creates dir and its missing parents. */
static int make_dirs(const char *dir, cv_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return cv_fail(err, CV_ERR_INPUT, "%s: path too long", dir);
    for (char *c = path + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char keep = *c;
        *c = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return cv_fail(err, CV_ERR_IO, "%s: cannot create the directory: %s", path,
                           strerror(errno));
        *c = keep;
        if (keep == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cv_fail(err, CV_ERR_IO, "%s: not a directory", dir);
    return 0;
}

/* The opening of a w x h figure with a title: a file of its own starts with
 * the XML declaration and names SVG's namespace; inside an HTML page the
 * parser knows <svg> without either. */
static void svg_begin(FILE *f, bool inline_html, int w, int h, const char *title)
{
    if (inline_html)
        fprintf(f, "<svg class=\"fig\" width=\"%d\" height=\"%d\" ", w, h);
    else
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" ", w, h);
    fprintf(f, "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"12\">\n<title>",
            w, h);
    cv_report_put_escaped(f, title);
    fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h);
    text_at(f, w / 2.0, 22, "middle", "font-size=\"15\" font-weight=\"bold\"", title);
}

/* A trial's mark centred at (x, y), its element opened up to its own
 * attributes (the caller adds fill, stroke, and closes it with the element
 * name returned): a circle of radius r; in the page (shapes), round k's own
 * shape, circle, square, triangle or diamond in turn, so that rounds read
 * without colour. */
static const char *mark_open(FILE *f, const char *cls, bool shapes, int round, double x, double y,
                             double r)
{
    switch (shapes ? (round < 0 ? 0 : round) % 4 : 0) {
    case 1:
        fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fh%.1fv%.1fh%.1fz\"", cls, x - 0.9 * r,
                y - 0.9 * r, 1.8 * r, 1.8 * r, -1.8 * r);
        return "path";
    case 2:
        fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fl%.1f %.1fh%.1fz\"", cls, x, y - 1.2 * r,
                1.1 * r, 2 * r, -2.2 * r);
        return "path";
    case 3:
        fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fl%.1f %.1f %.1f %.1f %.1f %.1fz\"", cls, x,
                y - 1.25 * r, 1.25 * r, 1.25 * r, -1.25 * r, 1.25 * r, -1.25 * r, -1.25 * r);
        return "path";
    default:
        fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%g\"", cls, x, y, r);
        return "circle";
    }
}

/* ---- scales and ticks -------------------------------------------------------- */

/* A linear map from data units [u0, u1] to pixels [p0, p1]. */
typedef struct axis {
    double u0, u1, p0, p1;
} axis;

static double px(const axis *a, double u)
{
    return a->p0 + (u - a->u0) / (a->u1 - a->u0) * (a->p1 - a->p0);
}

/* 1, 2 or 5 times a power of ten, near range / target. */
static double nice_step(double range, int target)
{
    double raw = range / target, mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* Evenly spaced round values in [lo, hi]; returns how many. */
static int linear_ticks(double lo, double hi, double *t, int cap)
{
    if (!(hi > lo))
        return 0;
    double step = nice_step(hi - lo, 5);
    int n = 0;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step && n < cap; v += step)
        t[n++] = fabs(v) < 1e-12 * step ? 0 : v;
    return n;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Tick values of a searched parameter in its own units, ascending along its
 * axis: every value of a categorical or of a short integer range; round
 * numbers on a linear scale; decades (with 2 and 5 when there are few) on
 * a log scale, and 1 - those on a one_minus_log scale. */
static int param_ticks(const cv_space_dim *dim, double *t, int cap)
{
    int n = 0;
    if (dim->scale == CV_SCALE_CATEGORICAL) {
        int every = (dim->n_values + cap - 1) / cap;
        for (int k = 0; k < dim->n_values && n < cap; k += every)
            t[n++] = dim->values[k];
        return n;
    }
    if (dim->integer && dim->max - dim->min <= 12) {
        for (double k = dim->min; k <= dim->max && n < cap; k++)
            t[n++] = k;
        return n;
    }
    if (dim->scale == CV_SCALE_LINEAR) {
        n = linear_ticks(dim->min, dim->max, t, cap);
        if (dim->integer)
            for (int k = 0; k < n; k++)
                t[k] = round(t[k]);
        return n;
    }
    /* log scales: in y = x (log) or y = 1 - x (one_minus_log) */
    bool one_minus = dim->scale == CV_SCALE_ONE_MINUS_LOG;
    double ylo = one_minus ? 1 - dim->max : dim->min, yhi = one_minus ? 1 - dim->min : dim->max;
    int e0 = (int)floor(log10(ylo)), e1 = (int)ceil(log10(yhi));
    int decades_inside = (int)(floor(log10(yhi) + 1e-9) - ceil(log10(ylo) - 1e-9)) + 1;
    static const double all[] = {1, 2, 5}, ones[] = {1};
    const double *mult = decades_inside < 3 ? all : ones;
    int n_mult = decades_inside < 3 ? 3 : 1;
    int every = decades_inside > 8 ? 2 : 1;
    double cand[MAX_TICKS * 4];
    int nc = 0;
    for (int e = e0; e <= e1; e++) {
        if ((e - e0) % every != 0)
            continue;
        for (int m = 0; m < n_mult && nc < (int)(sizeof cand / sizeof *cand); m++) {
            char text[32];
            snprintf(text, sizeof text, "%ge%d", mult[m], e);
            double y = strtod(text, NULL);
            if (y < ylo * (1 - 1e-9) || y > yhi * (1 + 1e-9))
                continue;
            double x = one_minus ? 1 - y : y;
            if (one_minus) { /* 1 - y as its decimal text reads */
                snprintf(text, sizeof text, "%.10g", x);
                x = strtod(text, NULL);
            }
            if (dim->integer)
                x = round(x);
            cand[nc++] = x;
        }
    }
    qsort(cand, (size_t)nc, sizeof *cand, compare_doubles);
    for (int k = 0; k < nc && n < cap; k++)
        if (n == 0 || cand[k] != t[n - 1])
            t[n++] = cand[k];
    return n;
}

/* A tick label of parameter p. */
static void tick_label(const cv_study *st, cv_param p, double v, char *buf, size_t size)
{
    const cv_space_dim *dim = cv_space_dim_of(st->space, p);
    if (cv_param_get_info(p)->kind != CV_KIND_REAL)
        cv_param_format(p, v, buf, size);
    else if (dim != NULL && dim->scale == CV_SCALE_ONE_MINUS_LOG)
        snprintf(buf, size, "%.10g", v);
    else
        cv_report_short_number(v, buf, size);
}

/* How an axis of p is labelled: its name and scale. */
static void axis_title(const cv_space_dim *dim, char *buf, size_t size)
{
    const char *name = cv_param_get_info(dim->param)->name;
    switch (dim->scale) {
    case CV_SCALE_LOG: snprintf(buf, size, "%s (log scale)", name); break;
    case CV_SCALE_ONE_MINUS_LOG:
        snprintf(buf, size, "%s (log scale of 1 \xe2\x88\x92 %s)", name, name);
        break;
    case CV_SCALE_CATEGORICAL:
    case CV_SCALE_LINEAR: snprintf(buf, size, "%s", name); break;
    }
}

/* A deterministic offset in [-0.5, 0.5) per trial: spreads the points of a
 * categorical or small integer parameter across their cell. */
static double jitter(int64_t trial)
{
    uint64_t z = (uint64_t)trial + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 - 0.5;
}

/* The position of trial row r on dimension dim's axis, in [0, 1]: the
 * sampler's own, spread across the cell when values are few. */
static double unit_of(const cv_study *st, const cv_space_dim *dim, const cv_trial_row *r,
                      double spread)
{
    double u = cv_space_to_unit(st->space, dim->param, cv_config_get(&r->config, dim->param));
    if (dim->count > 0 && dim->count <= 16)
        u += spread * jitter(r->trial) / dim->count;
    return u;
}

/* A metric axis: the range of the values, padded, with round ticks. */
static void metric_range(const double *m, int n, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        *lo = fmin(*lo, m[i]), *hi = fmax(*hi, m[i]);
    double pad = *hi > *lo ? 0.05 * (*hi - *lo) : fmax(0.01 * fabs(*lo), 1e-3);
    *lo -= pad, *hi += pad;
}

/* The ranked trials that have a metric: their row indices (best first) and
 * metrics. Returns how many, or -1 without memory (both arrays freed). */
static int64_t ranked_trials(const cv_study *st, int64_t **order, double **metric)
{
    *order = malloc((size_t)(st->n_rows > 0 ? st->n_rows : 1) * sizeof **order);
    *metric = malloc((size_t)(st->n_rows > 0 ? st->n_rows : 1) * sizeof **metric);
    if (*order == NULL || *metric == NULL) {
        free(*order), free(*metric);
        *order = NULL, *metric = NULL;
        return -1;
    }
    int64_t n = cv_study_rank(st, *order);
    for (int64_t i = 0; i < n; i++)
        (*metric)[i] = cv_study_metric(st, &st->rows[(*order)[i]]);
    return n;
}

/* Ticks of a log10 axis over [lo, hi] (in log10 units): decades, with 2
 * and 5 when there are few. */
static int log_ticks(double lo, double hi, double *t, int cap)
{
    int n = 0;
    bool fine = hi - lo < 2.5;
    for (int e = (int)floor(lo); e <= (int)ceil(hi) && n < cap; e++) {
        static const double mult[3] = {1, 2, 5};
        for (int m = 0; m < (fine ? 3 : 1) && n < cap; m++) {
            double v = e + log10(mult[m]);
            if (v >= lo - 1e-9 && v <= hi + 1e-9)
                t[n++] = v;
        }
    }
    return n;
}

/* The y axis of a plot: gridlines, ticks and labels at the left of [x0, x1];
 * log: the axis is in log10 units and labelled in the values'. */
static void y_axis(FILE *f, const axis *y, double x0, double x1, const char *label, bool log)
{
    double t[MAX_TICKS];
    int n = log ? log_ticks(y->u0, y->u1, t, MAX_TICKS) : linear_ticks(y->u0, y->u1, t, MAX_TICKS);
    for (int k = 0; k < n; k++) {
        double py = px(y, t[k]);
        char s[32];
        cv_report_short_number(log ? pow(10, t[k]) : t[k], s, sizeof s);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#e5e5e5\"/>\n", x0, py, x1, py);
        text_at(f, x0 - 6, py + 4, "end", "", s);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x0,
            y->p0, x0, y->p1);
    char attrs[96];
    double cy = (y->p0 + y->p1) / 2;
    snprintf(attrs, sizeof attrs, "transform=\"rotate(-90 %.1f %.1f)\"", x0 - 52, cy);
    text_at(f, x0 - 52, cy, "middle", attrs, label);
}

/* ---- the metric against one parameter ---------------------------------------- */

void cv_report_fig_param(const cv_report_figs *fg, const cv_space_dim *dim, FILE *f, char *note,
                         size_t size)
{
    const cv_study *st = fg->st;
    const int64_t *order = fg->order;
    const double *metric = fg->metric;
    const int64_t n = fg->n;
    const int W = 780, H = 460;
    const double x0 = 80, x1 = 540, y0 = 50, y1 = 370;
    cv_param p = dim->param;
    const char *name = cv_param_get_info(p)->name;
    const char *mname = cv_report_metric_name(st);
    char title[128];
    snprintf(title, sizeof title, "%s against %s (%s)", mname, name, cv_dist_name(dim->dist));
    svg_begin(f, fg->inline_html, W, H, title);

    axis x = {-0.03, 1.03, x0, x1}, y;
    metric_range(metric, (int)n, &y.u0, &y.u1);
    y.p0 = y1, y.p1 = y0;
    y_axis(f, &y, x0, x1, mname, false);

    /* x ticks in the parameter's units, at their places on its scale */
    double t[MAX_TICKS];
    int nt = param_ticks(dim, t, MAX_TICKS);
    for (int k = 0; k < nt; k++) {
        double u = cv_space_to_unit(st->space, p, t[k]);
        if (!isfinite(u))
            continue;
        char s[48];
        tick_label(st, p, t[k], s, sizeof s);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#e5e5e5\"/>\n", px(&x, u), y0, px(&x, u), y1);
        text_at(f, px(&x, u), y1 + 16, "middle", "", s);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x0, y1,
            x1, y1);
    char label[160];
    axis_title(dim, label, sizeof label);
    text_at(f, (x0 + x1) / 2, y1 + 38, "middle", "", label);

    /* each round's region along the axis, below it: the coarse-to-fine story */
    if (dim->scale != CV_SCALE_CATEGORICAL) {
        for (int64_t r = 0; r < st->n_rounds; r++) {
            const cv_round_row *row = &st->round_rows[r];
            if (!row->searched[p] || !isfinite(row->lo[p]) || !isfinite(row->hi[p]))
                continue;
            double a = px(&x, cv_space_to_unit(st->space, p, row->lo[p]));
            double b = px(&x, cv_space_to_unit(st->space, p, row->hi[p]));
            fprintf(f, "<rect class=\"region\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"4\" "
                       "fill=\"%s\" opacity=\"0.6\"><title>round %d region</title></rect>\n",
                    fmin(a, b), y1 + 46 + 6.0 * (double)r, fabs(b - a),
                    round_colors[row->round % N_ROUND_COLORS], (int)row->round);
        }
    }

    /* the trials, worst first so that the best are on top */
    int max_round = 0;
    int64_t diverged = 0;
    for (int64_t i = n - 1; i >= 0; i--) {
        const cv_trial_row *r = &st->rows[order[i]];
        double u = unit_of(st, dim, r, 0.6);
        const char *color = round_colors[(r->round >= 0 ? r->round : 0) % N_ROUND_COLORS];
        bool div = r->status == CV_TRIAL_DIVERGED;
        diverged += div;
        max_round = r->round > max_round ? r->round : max_round;
        char v[48];
        cv_report_value(st, p, cv_config_get(&r->config, p), v, sizeof v);
        const char *el = mark_open(f, "trial", fg->inline_html, r->round, px(&x, u),
                                   px(&y, metric[i]), 4);
        fprintf(f, " fill=\"%s\" fill-opacity=\"%s\" stroke=\"%s\"><title>trial %lld (round "
                   "%d%s): ",
                div ? "none" : color, div ? "0" : "0.75", div ? color : "white",
                (long long)r->trial, r->round, div ? ", diverged" : "");
        cv_report_put_escaped(f, name); /* a program of the user's own names its own */
        fputs(" = ", f);
        cv_report_put_escaped(f, v);
        fprintf(f, ", %s = %.4f</title></%s>\n", mname, metric[i], el);
    }
    /* trials without a metric (diverged before their first epoch ended,
     * failed): a cross on the floor of the plot, where they count too */
    int64_t lost = 0;
    for (int64_t i = 0; i < st->n_rows; i++) {
        const cv_trial_row *r = &st->rows[i];
        if (r->status == CV_TRIAL_INTERRUPTED || !isnan(cv_study_metric(st, r)))
            continue;
        double cx = px(&x, unit_of(st, dim, r, 0.6)), cy = y1 - 6;
        fprintf(f, "<path class=\"nometric\" d=\"M%.1f,%.1f l8,8 m0,-8 l-8,8\" stroke=\"#d62728\" "
                   "stroke-width=\"1.5\"><title>trial %lld (round %d): %s, no %s</title></path>\n",
                cx - 4, cy - 4, (long long)r->trial, r->round, cv_trial_status_name(r->status),
                mname);
        lost++;
    }
    const cv_trial_row *best = &st->rows[order[0]];
    double bx = px(&x, unit_of(st, dim, best, 0.6)), by = px(&y, metric[0]);
    fprintf(f, "<circle class=\"best\" cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"none\" "
               "stroke=\"black\" stroke-width=\"2\"/>\n", bx, by);

    /* legend */
    double lx = x1 + 24, ly = y0 + 6;
    text_at(f, lx, ly, "start", "font-weight=\"bold\"", "round");
    for (int r = 0; r <= max_round && r < 12; r++) {
        ly += 18;
        mark_open(f, "legend", fg->inline_html, r, lx + 6, ly - 4, 4);
        fprintf(f, " fill=\"%s\"/>\n", round_colors[r % N_ROUND_COLORS]);
        char s[32];
        snprintf(s, sizeof s, "round %d", r);
        text_at(f, lx + 16, ly, "start", "", s);
    }
    if (diverged > 0) {
        ly += 18;
        fprintf(f, "<circle class=\"legend\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"none\" "
                   "stroke=\"#555\"/>\n", lx + 6, ly - 4);
        text_at(f, lx + 16, ly, "start", "", "diverged");
    }
    if (lost > 0) {
        ly += 18;
        fprintf(f, "<path class=\"legend\" d=\"M%.1f,%.1f l8,8 m0,-8 l-8,8\" stroke=\"#d62728\" "
                   "stroke-width=\"1.5\"/>\n", lx + 2, ly - 8);
        text_at(f, lx + 16, ly, "start", "", "no metric (diverged)");
    }
    ly += 22;
    fprintf(f, "<circle class=\"legend\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" "
               "stroke=\"black\" stroke-width=\"2\"/>\n", lx + 6, ly - 4);
    char s[64], v[48];
    snprintf(s, sizeof s, "best: trial %lld", (long long)best->trial);
    text_at(f, lx + 20, ly, "start", "", s);
    cv_report_value(st, p, cv_config_get(&best->config, p), v, sizeof v);
    snprintf(s, sizeof s, "%s = %s", name, v);
    text_at(f, lx + 20, ly + 16, "start", "", s);
    snprintf(s, sizeof s, "%s = %.4f", mname, metric[0]);
    text_at(f, lx + 20, ly + 32, "start", "", s);
    if (st->n_rounds > 0 && dim->scale != CV_SCALE_CATEGORICAL)
        text_at(f, lx, y1 + 52, "start", "fill=\"#555\"", "bars: each round's region");

    fputs("</svg>\n", f);
    int used = snprintf(note, size, "%lld points", (long long)n);
    if (lost > 0 && used >= 0 && (size_t)used < size)
        snprintf(note + used, size - (size_t)used, ", %lld crosses (trials without a metric)",
                 (long long)lost);
}

/* ---- learning curves --------------------------------------------------------- */

/* The curve points of trial, by epoch (the last point of each epoch wins):
 * writes up to cap rows into out and returns how many. */
static int trial_curve(const cv_study *st, int64_t trial, cv_curve_row *out, int cap)
{
    int n = 0;
    for (int64_t i = 0; i < st->n_curves; i++) {
        const cv_curve_row *c = &st->curves[i];
        if (c->trial != trial || c->epoch < 1 || c->epoch > cap)
            continue;
        out[c->epoch - 1] = *c;
        n = c->epoch > n ? c->epoch : n;
    }
    return n;
}

/* One panel: accuracy (what = 0) or loss (1) per epoch of the k curves:
 * the first n_top in colour (dev and train), the rest (trials successive
 * halving or pbt stopped) grey, dev only, each ending in a cross where it was
 * stopped. With labels, each coloured dev curve ends in its rank, so that
 * the curves read without colour. */
static void curve_panel(FILE *f, const char *by, cv_curve_row *const *curves, const int *len,
                        int k, int n_top,
                        int what, double x0, double x1, double y0, double y1, int max_epoch,
                        bool labels)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < k; j++)
        for (int e = 0; e < len[j]; e++) {
            const cv_curve_row *c = &curves[j][e];
            double a = what ? c->dev_loss : c->dev_accuracy;
            double b = what ? c->train_loss : c->train_accuracy;
            if (isfinite(a))
                lo = fmin(lo, a), hi = fmax(hi, a);
            if (isfinite(b))
                lo = fmin(lo, b), hi = fmax(hi, b);
        }
    if (!(hi >= lo))
        lo = 0, hi = 1;
    /* a loss that spans more than a decade and a half reads better on a log axis */
    double floor_loss = NAN;
    if (what) {
        double pos = INFINITY;
        for (int j = 0; j < k; j++)
            for (int e = 0; e < len[j]; e++) {
                const cv_curve_row *c = &curves[j][e];
                if (c->dev_loss > 0)
                    pos = fmin(pos, c->dev_loss);
                if (c->train_loss > 0)
                    pos = fmin(pos, c->train_loss);
            }
        if (isfinite(pos) && hi / pos > 30)
            floor_loss = pos;
    }
    bool log = isfinite(floor_loss);
    if (log)
        lo = log10(floor_loss), hi = log10(hi);
    double pad = hi > lo ? 0.05 * (hi - lo) : 0.01;
    axis y = {lo - pad, hi + pad, y1, y0};
    axis x = {max_epoch > 1 ? 1 : 0.5, max_epoch > 1 ? max_epoch : 1.5, x0, x1};
    y_axis(f, &y, x0, x1, what ? (log ? "loss (log scale)" : "loss") : "accuracy", log);
    double t[MAX_TICKS];
    int nt = linear_ticks(x.u0, x.u1, t, MAX_TICKS);
    for (int i = 0; i < nt; i++) {
        if (t[i] != round(t[i]))
            continue; /* epochs are whole */
        char s[16];
        snprintf(s, sizeof s, "%.0f", t[i]);
        text_at(f, px(&x, t[i]), y1 + 16, "middle", "", s);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x0, y1,
            x1, y1);
    text_at(f, (x0 + x1) / 2, y1 + 36, "middle", "", "epoch");
    for (int j = k - 1; j >= n_top; j--) {
        double ex = NAN, ey = NAN;
        fprintf(f, "<polyline class=\"stopped\" fill=\"none\" stroke=\"#bbb\" "
                   "stroke-width=\"1\" points=\"");
        for (int e = 0; e < len[j]; e++) {
            const cv_curve_row *c = &curves[j][e];
            double v = what ? c->dev_loss : c->dev_accuracy;
            if (c->epoch == 0 || !isfinite(v))
                continue;
            if (log)
                v = log10(fmax(v, floor_loss));
            ex = px(&x, c->epoch), ey = px(&y, v);
            fprintf(f, "%.1f,%.1f ", ex, ey);
        }
        fprintf(f, "\"><title>trial %lld dev %s (stopped by %s)</title></polyline>\n",
                (long long)curves[j][0].trial, what ? "loss" : "accuracy", by);
        if (isfinite(ex))
            fprintf(f, "<path class=\"stop\" d=\"M%.1f %.1fl6 6m0 -6l-6 6\" stroke=\"#888\" "
                       "transform=\"translate(-3 -3)\"/>\n", ex, ey);
    }
    for (int j = n_top - 1; j >= 0; j--) {
        const char *color = round_colors[j % N_ROUND_COLORS];
        for (int set = 0; set < 2; set++) { /* 0: dev, 1: train */
            double ex = NAN, ey = NAN;
            fprintf(f, "<polyline class=\"trial\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s "
                       "points=\"", color, set ? "1.3" : "2", set ? " stroke-dasharray=\"5 3\"" : "");
            for (int e = 0; e < len[j]; e++) {
                const cv_curve_row *c = &curves[j][e];
                double v = set ? (what ? c->train_loss : c->train_accuracy)
                               : (what ? c->dev_loss : c->dev_accuracy);
                if (c->epoch == 0 || !isfinite(v))
                    continue; /* an epoch without a point (a gap in the file) */
                if (log)
                    v = log10(fmax(v, floor_loss));
                ex = px(&x, c->epoch), ey = px(&y, v);
                fprintf(f, "%.1f,%.1f ", ex, ey);
            }
            fprintf(f, "\"><title>trial %lld %s %s</title></polyline>\n",
                    (long long)curves[j][0].trial, set ? "train" : "dev",
                    what ? "loss" : "accuracy");
            if (labels && set == 0 && isfinite(ex)) {
                char rank[16];
                snprintf(rank, sizeof rank, "%d", j + 1);
                text_at(f, ex + 3, ey + 4, "start", "class=\"rank\" font-size=\"10\" " HALO, rank);
            }
        }
    }
}

int cv_report_fig_curves(const cv_report_figs *fg, FILE *f, char *note, size_t size,
                         cv_error *err)
{
    const cv_study *st = fg->st;
    const int64_t *order = fg->order;
    const int64_t ranked = fg->n;
    const int top = fg->top;
    int rc = 0;
    int max_epoch = 0;
    for (int64_t i = 0; i < st->n_curves; i++)
        max_epoch = st->curves[i].epoch > max_epoch ? st->curves[i].epoch : max_epoch;
    int want = (int)(ranked < top ? ranked : top);
    /* successive halving: the trials it stopped too, grey, behind the best */
    int64_t stopped = 0;
    for (int64_t i = want; st->job.search.schedule != CV_SCHEDULE_FULL && i < ranked; i++)
        stopped += st->rows[order[i]].budget < st->rows[order[i]].config.epochs;
    int slots = want + (int)stopped;
    cv_curve_row **curves = calloc((size_t)(slots > 0 ? slots : 1), sizeof *curves);
    int *len = calloc((size_t)(slots > 0 ? slots : 1), sizeof *len);
    int64_t *which = calloc((size_t)(slots > 0 ? slots : 1), sizeof *which);
    int k = 0;
    if (curves == NULL || len == NULL || which == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the learning curves", st->path);
        goto done;
    }
    int n_top = 0;
    for (int64_t i = 0; i < ranked && k < slots; i++) {
        if (i == want)
            n_top = k;
        const cv_trial_row *r = &st->rows[order[i]];
        if (i >= want && r->budget >= r->config.epochs)
            continue;
        cv_curve_row *c = calloc((size_t)(max_epoch > 0 ? max_epoch : 1), sizeof *c);
        if (c == NULL) {
            rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the learning curves", st->path);
            goto done;
        }
        int n = trial_curve(st, r->trial, c, max_epoch);
        if (n == 0) {
            free(c);
            continue;
        }
        for (int e = 0; e < n; e++)
            c[e].trial = r->trial; /* epochs without a point keep epoch 0: skipped */
        curves[k] = c, len[k] = n, which[k] = order[i];
        k++;
    }

    if (n_top == 0 || stopped == 0)
        n_top = k;
    const char *by = st->job.search.schedule == CV_SCHEDULE_PBT ? "pbt" : "halving";
    const int W = 1000, H = 460;
    char title[160];
    if (n_top < k)
        snprintf(title, sizeof title, "learning curves of the best %d trials (solid: dev, "
                 "dashed: train); grey: dev of the %d that %s stopped", n_top, k - n_top, by);
    else
        snprintf(title, sizeof title, "learning curves of the best %d trials (solid: dev, "
                 "dashed: train)", k);
    svg_begin(f, fg->inline_html, W, H, title);
    curve_panel(f, by, curves, len, k, n_top, 0, 80, 400, 50, 380, max_epoch, fg->inline_html);
    curve_panel(f, by, curves, len, k, n_top, 1, 500, 820, 50, 380, max_epoch, fg->inline_html);
    /* legend: one colour per trial, one dash per set */
    double lx = 845, ly = 56;
    text_at(f, lx, ly, "start", "font-weight=\"bold\"", "trial (rank)");
    for (int j = 0; j < n_top; j++) {
        const cv_trial_row *r = &st->rows[which[j]];
        ly += 18;
        fprintf(f, "<line class=\"legend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"2\"/>\n", lx, ly - 4, lx + 18, ly - 4,
                round_colors[j % N_ROUND_COLORS]);
        char s[64];
        snprintf(s, sizeof s, "%lld (%d): %.4f", (long long)r->trial, j + 1,
                 cv_study_metric(st, r));
        text_at(f, lx + 24, ly, "start", "", s);
    }
    ly += 26;
    fprintf(f, "<line class=\"legend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"#333\" stroke-width=\"2\"/>\n", lx, ly - 4, lx + 18, ly - 4);
    text_at(f, lx + 24, ly, "start", "", "dev");
    ly += 18;
    fprintf(f, "<line class=\"legend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"#333\" stroke-width=\"1.3\" stroke-dasharray=\"5 3\"/>\n", lx, ly - 4,
            lx + 18, ly - 4);
    text_at(f, lx + 24, ly, "start", "", "train");
    fputs("</svg>\n", f);
    snprintf(note, size, "%d trials, %d curves", k, 4 * n_top + 2 * (k - n_top));

done:
    for (int j = 0; j < k; j++)
        free(curves[j]);
    free(curves), free(len), free(which);
    return rc;
}

/* ---- parallel coordinates ------------------------------------------------------ */


/* Viridis at t in [0, 1] (dark purple to yellow), as #rrggbb. */
static void viridis(double t, char *buf, size_t size)
{
    static const double stops[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    t = !isfinite(t) ? 0 : t < 0 ? 0 : t > 1 ? 1 : t;
    double s = t * 4;
    int i = s >= 4 ? 3 : (int)s;
    double f = s - i;
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (int)(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]) + 0.5);
    snprintf(buf, size, "#%02x%02x%02x", c[0], c[1], c[2]);
}

void cv_report_fig_parallel(const cv_report_figs *fg, FILE *f, char *note, size_t size)
{
    const cv_study *st = fg->st;
    const int64_t *order = fg->order;
    const double *metric = fg->metric;
    const int64_t n = fg->n;
    int dims = cv_space_dims(st->space);
    const double gap = 140, left = 90, y0 = 70, y1 = 390;
    int W = (int)(left + gap * dims + 200), H = 460;
    const char *mname = cv_report_metric_name(st);
    char title[128];
    snprintf(title, sizeof title, "every trial across the searched parameters (colour: %s)", mname);
    svg_begin(f, fg->inline_html, W, H, title);
    double mlo, mhi, cmin = INFINITY, cmax = -INFINITY; /* axis range; colour range */
    metric_range(metric, (int)n, &mlo, &mhi);
    for (int64_t i = 0; i < n; i++)
        cmin = fmin(cmin, metric[i]), cmax = fmax(cmax, metric[i]);
    axis y = {0, 1, y1, y0}, ym = {mlo, mhi, y1, y0};

    /* the trials, worst first; colour by the metric, better brighter */
    for (int64_t i = n - 1; i >= 0; i--) {
        const cv_trial_row *r = &st->rows[order[i]];
        double t = cmax > cmin ? (metric[i] - cmin) / (cmax - cmin) : 1;
        if (st->metric == CV_METRIC_DEV_LOSS)
            t = 1 - t;
        char color[8];
        viridis(t, color, sizeof color);
        fprintf(f, "<polyline class=\"trial\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" "
                   "stroke-opacity=\"0.8\" points=\"", color);
        for (int d = 0; d < dims; d++) {
            const cv_space_dim *dim = cv_space_dim_get(st->space, d);
            fprintf(f, "%.1f,%.1f ", left + gap * d, px(&y, unit_of(st, dim, r, 0.5)));
        }
        fprintf(f, "%.1f,%.1f\"><title>trial %lld (round %d): %s = %.4f</title></polyline>\n",
                left + gap * dims, px(&ym, metric[i]), (long long)r->trial, r->round, mname,
                metric[i]);
    }
    /* axes over the lines: one per parameter on its own scale, then the metric;
     * tick labels with a white halo */
    for (int d = 0; d <= dims; d++) {
        double ax = left + gap * d;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", ax,
                y0, ax, y1);
        double t[MAX_TICKS];
        if (d == dims) {
            text_at(f, ax, y0 - 14, "middle", "font-weight=\"bold\"", mname);
            int nt = linear_ticks(mlo, mhi, t, MAX_TICKS);
            for (int k = 0; k < nt; k++) {
                char s[32];
                cv_report_short_number(t[k], s, sizeof s);
                text_at(f, ax - 5, px(&ym, t[k]) + 4, "end", HALO, s);
            }
            continue;
        }
        const cv_space_dim *dim = cv_space_dim_get(st->space, d);
        char label[160];
        axis_title(dim, label, sizeof label);
        text_at(f, ax, y0 - 28, "middle", "font-weight=\"bold\"", cv_param_get_info(dim->param)->name);
        const char *scale = dim->scale == CV_SCALE_LOG             ? "log"
                            : dim->scale == CV_SCALE_ONE_MINUS_LOG ? "log of 1 \xe2\x88\x92 x"
                            : dim->scale == CV_SCALE_CATEGORICAL   ? "values"
                                                                   : "linear";
        text_at(f, ax, y0 - 14, "middle", "fill=\"#555\" font-size=\"10\"", scale);
        int nt = param_ticks(dim, t, MAX_TICKS);
        for (int k = 0; k < nt; k++) {
            double u = cv_space_to_unit(st->space, dim->param, t[k]);
            if (!isfinite(u))
                continue;
            char s[48];
            tick_label(st, dim->param, t[k], s, sizeof s);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                    ax - 3, px(&y, u), ax, px(&y, u));
            text_at(f, ax - 5, px(&y, u) + 4, "end", HALO, s);
        }
    }

    /* the best again, outlined on top */
    const cv_trial_row *best = &st->rows[order[0]];
    fprintf(f, "<polyline class=\"best\" fill=\"none\" stroke=\"black\" stroke-width=\"2.5\" "
               "stroke-dasharray=\"6 3\" points=\"");
    for (int d = 0; d < dims; d++)
        fprintf(f, "%.1f,%.1f ", left + gap * d,
                px(&y, unit_of(st, cv_space_dim_get(st->space, d), best, 0.5)));
    fprintf(f, "%.1f,%.1f\"/>\n", left + gap * dims, px(&ym, metric[0]));

    /* legend: the colour bar of the metric */
    double lx = left + gap * dims + 60;
    fputs("<defs><linearGradient id=\"metric\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">", f);
    for (int k = 0; k <= 4; k++) {
        char color[8];
        viridis(k / 4.0, color, sizeof color);
        fprintf(f, "<stop offset=\"%.2f\" stop-color=\"%s\"/>", k / 4.0, color);
    }
    fputs("</linearGradient></defs>\n", f);
    fprintf(f, "<rect class=\"legend\" x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" "
               "fill=\"url(#metric)\"/>\n", lx, y0, y1 - y0);
    char s[64];
    bool loss = st->metric == CV_METRIC_DEV_LOSS;
    snprintf(s, sizeof s, "%.4f", loss ? cmin : cmax);
    text_at(f, lx + 20, y0 + 10, "start", "", s);
    snprintf(s, sizeof s, "%.4f", loss ? cmax : cmin);
    text_at(f, lx + 20, y1, "start", "", s);
    text_at(f, lx + 20, (y0 + y1) / 2 - 8, "start", "", "better");
    text_at(f, lx + 20, (y0 + y1) / 2 + 8, "start", "", loss ? "(lower)" : "(higher)");
    fprintf(f, "<line class=\"legend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"black\" stroke-width=\"2.5\" stroke-dasharray=\"6 3\"/>\n", lx, y1 + 30,
            lx + 24, y1 + 30);
    snprintf(s, sizeof s, "best: trial %lld", (long long)best->trial);
    text_at(f, lx + 30, y1 + 34, "start", "", s);

    fputs("</svg>\n", f);
    snprintf(note, size, "%lld trials", (long long)n);
}

/* ---- all of them ------------------------------------------------------------------ */

/* ---- population-based training ---------------------------------------------------- */

/* The parameter a pbt figure follows: learning_rate when explored, else the
 * first explored one (-1: none). */
static int pbt_param(const cv_study *st)
{
    const cv_pbt_spec *pbt = &st->job.search.pbt;
    if (pbt->mutate[CV_P_LEARNING_RATE] && cv_space_dim_of(st->space, CV_P_LEARNING_RATE))
        return CV_P_LEARNING_RATE;
    for (int p = 0; p < CV_P_COUNT; p++)
        if (pbt->mutate[p] && cv_space_dim_of(st->space, (cv_param)p) != NULL)
            return p;
    return -1;
}

/* The /lineage row of member m in generation g, or NULL. */
static const cv_lineage_row *pbt_row(const cv_study *st, int m, int g)
{
    for (int64_t i = 0; i < st->n_lineage; i++)
        if (st->lineage[i].member == m && st->lineage[i].generation == g)
            return &st->lineage[i];
    return NULL;
}

/* Member m's metric at epoch e (1-based), from the curve of the trial in
 * force then; NaN when not trained yet. */
static double pbt_metric_at(const cv_study *st, int m, int gens, int interval, int e)
{
    int g = (e - 1) / interval;
    const cv_lineage_row *l = g < gens ? pbt_row(st, m, g) : NULL;
    if (l == NULL)
        return NAN;
    for (int64_t i = 0; i < st->n_curves; i++)
        if (st->curves[i].trial == l->trial && st->curves[i].epoch == e)
            return cv_metric_pick(st->metric, st->curves[i].dev_accuracy,
                                  st->curves[i].dev_loss);
    return NAN;
}

/* An exploit's mark: a downward triangle at (x, y) naming what happened. */
static void pbt_exploit_mark(FILE *f, double x, double y, const cv_lineage_row *l,
                             const char *color)
{
    fprintf(f, "<path class=\"exploit\" d=\"M%.1f %.1fl5 -8h-10z\" fill=\"%s\" stroke=\"#000\" "
               "stroke-width=\"0.7\"><title>",
            x, y, color);
    char head[96];
    snprintf(head, sizeof head, "member %d at epoch %d: exploited, now trial %lld: ", l->member,
             l->from_epoch, (long long)l->trial);
    cv_report_put_escaped(f, head);
    cv_report_put_escaped(f, l->explore);
    fputs("</title></path>\n", f);
}

bool cv_report_fig_pbt(const cv_report_figs *fg, FILE *f, char *note, size_t size)
{
    const cv_study *st = fg->st;
    const cv_job *job = &st->job;
    int param = pbt_param(st);
    if (job->search.schedule != CV_SCHEDULE_PBT || st->n_lineage == 0 || param < 0)
        return false;
    const int P = st->trials_per_round, I = job->search.pbt.interval,
              max = job->search.max_epochs, gens = cv_job_pbt_generations(job);
    const cv_space_dim *dim = cv_space_dim_of(st->space, (cv_param)param);
    const bool log = dim->scale == CV_SCALE_LOG;
    const char *name = cv_param_get_info((cv_param)param)->name;
    int64_t best_trial = cv_report_pbt_best(st);
    int best_member = -1;
    for (int64_t i = 0; i < st->n_lineage; i++)
        if (st->lineage[i].trial == best_trial)
            best_member = st->lineage[i].member;

    const int W = 900, H = 620, L = 90, R = 30;
    const double x0 = L, x1 = W - R, top0 = 50, top1 = 270, bot0 = 320, bot1 = 560;
    char title[160];
    snprintf(title, sizeof title, "Population-based training: each member's %s and %s", name,
             cv_report_metric_name(st));
    svg_begin(f, fg->inline_html, W, H, title);
    axis x = {0, max, x0, x1};

    /* the parameter's range over every trial */
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < st->n_rows; i++) {
        double v = cv_config_get(&st->rows[i].config, (cv_param)param);
        if (log && v > 0)
            v = log10(v);
        lo = fmin(lo, v), hi = fmax(hi, v);
    }
    if (!(hi > lo))
        lo -= 0.5, hi += 0.5;
    double pad = 0.05 * (hi - lo);
    axis yp = {lo - pad, hi + pad, top1, top0};
    char label[64];
    snprintf(label, sizeof label, "%s%s", name, log ? " (log scale)" : "");
    y_axis(f, &yp, x0, x1, label, log);

    /* the metric's range over the members' curves */
    double mlo = INFINITY, mhi = -INFINITY;
    for (int m = 0; m < P; m++)
        for (int e = 1; e <= max; e++) {
            double v = pbt_metric_at(st, m, gens, I, e);
            if (isfinite(v))
                mlo = fmin(mlo, v), mhi = fmax(mhi, v);
        }
    if (!(mhi > mlo))
        mlo = 0, mhi = 1;
    double mpad = 0.05 * (mhi - mlo);
    axis ym = {mlo - mpad, mhi + mpad, bot1, bot0};
    y_axis(f, &ym, x0, x1, cv_report_metric_name(st), false);

    /* epochs under both panels, generation boundaries across them */
    for (int g = 0; g <= gens; g++) {
        int e = g * I < max ? g * I : max;
        char s[16];
        snprintf(s, sizeof s, "%d", e);
        fprintf(f, "<line class=\"generation\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#ddd\" stroke-dasharray=\"3 3\"/>\n",
                px(&x, e), top0, px(&x, e), bot1);
        text_at(f, px(&x, e), bot1 + 16, "middle", "", s);
    }
    for (int k = 0; k < 2; k++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                x0, k ? bot1 : top1, x1, k ? bot1 : top1);
    text_at(f, (x0 + x1) / 2, bot1 + 36, "middle", "", "epoch (dashed lines: generations)");

    int marks = 0;
    for (int pass = 0; pass < 2; pass++) /* the best member last, on top */
        for (int m = 0; m < P; m++) {
            const bool best = m == best_member;
            if (best != (pass == 1))
                continue;
            char color[16];
            snprintf(color, sizeof color, "%s", best ? "#000" : round_colors[m % N_ROUND_COLORS]);
            const char *dash = best ? "" : (m / N_ROUND_COLORS) % 2 ? " stroke-dasharray=\"6 3\"" : "";
            const double width = best ? 2.5 : 1.2;
            /* the parameter: a step per generation */
            fprintf(f, "<polyline class=\"member\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\""
                       "%s points=\"",
                    color, width, dash);
            for (int g = 0; g < gens; g++) {
                const cv_lineage_row *l = pbt_row(st, m, g);
                const cv_trial_row *t = l != NULL ? cv_trial_rows_find(st->rows, st->n_rows, l->trial) : NULL;
                if (t == NULL)
                    break;
                double v = cv_config_get(&t->config, (cv_param)param);
                v = log ? log10(v) : v;
                fprintf(f, "%.1f,%.1f %.1f,%.1f ", px(&x, l->from_epoch), px(&yp, v),
                        px(&x, l->to_epoch), px(&yp, v));
            }
            fprintf(f, "\"><title>member %d%s</title></polyline>\n", m,
                    best ? " (the best member's schedule)" : "");
            /* the metric: its curve across the trials it went through */
            fprintf(f, "<polyline class=\"member\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\""
                       "%s points=\"",
                    color, width, dash);
            for (int e = 1; e <= max; e++) {
                double v = pbt_metric_at(st, m, gens, I, e);
                if (isfinite(v))
                    fprintf(f, "%.1f,%.1f ", px(&x, e), px(&ym, v));
            }
            fprintf(f, "\"><title>member %d%s</title></polyline>\n", m,
                    best ? " (the best member)" : "");
            /* exploits, marked on both panels */
            for (int g = 1; g < gens; g++) {
                const cv_lineage_row *l = pbt_row(st, m, g);
                const cv_trial_row *t = l != NULL ? cv_trial_rows_find(st->rows, st->n_rows, l->trial) : NULL;
                if (l == NULL || strcmp(l->decision, "exploit") != 0 || t == NULL)
                    continue;
                double v = cv_config_get(&t->config, (cv_param)param);
                v = log ? log10(v) : v;
                pbt_exploit_mark(f, px(&x, l->from_epoch), px(&yp, v), l, color);
                double mv = pbt_metric_at(st, m, gens, I, l->from_epoch + 1);
                if (isfinite(mv))
                    pbt_exploit_mark(f, px(&x, l->from_epoch + 1), px(&ym, mv), l, color);
                marks++;
            }
        }
    /* a key */
    fprintf(f, "<path d=\"M%.1f %.1fl5 -8h-10z\" fill=\"#fff\" stroke=\"#000\"/>\n", x1 - 360,
            top0 - 2);
    text_at(f, x1 - 350, top0 - 2, "start", "",
            "an exploit: copied a top member, explored; black: the best");
    fputs("</svg>\n", f);
    snprintf(note, size, "%d members, %d generations, %d exploits", P, gens, marks);
    return true;
}

int cv_report_figs_init(cv_report_figs *fg, const cv_study *st, int top, bool inline_html,
                        cv_error *err)
{
    *fg = (cv_report_figs){.st = st, .top = top, .inline_html = inline_html};
    fg->n = ranked_trials(st, &fg->order, &fg->metric);
    if (fg->n < 0)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the figures", st->path);
    return 0;
}

void cv_report_figs_free(cv_report_figs *fg)
{
    free(fg->order), free(fg->metric);
    fg->order = NULL, fg->metric = NULL;
}

int cv_report_svg(const cv_study *st, const char *dir, int top, FILE *log, cv_error *err)
{
    int rc = make_dirs(dir, err);
    if (rc != 0)
        return rc;
    cv_report_figs fg;
    if ((rc = cv_report_figs_init(&fg, st, top, false, err)) != 0)
        return rc;
    if (fg.n == 0 && log != NULL)
        fprintf(log, "no trial has a %s: no figures\n", cv_report_metric_name(st));
    /* figure i: parameter i, then the curves, then parallel coordinates */
    int dims = cv_space_dims(st->space);
    int figures = fg.n == 0 ? 0 : dims + 1 + (dims > 0);
    for (int i = 0; i < figures && rc == 0; i++) {
        const cv_space_dim *dim = i < dims ? cv_space_dim_get(st->space, i) : NULL;
        char path[4200], note[128];
        if (dim != NULL)
            snprintf(path, sizeof path, "%s/metric_%s.svg", dir,
                     cv_param_get_info(dim->param)->name);
        else
            snprintf(path, sizeof path, "%s/%s", dir, i == dims ? "curves.svg" : "parallel.svg");
        FILE *f = fopen(path, "w");
        if (f == NULL) {
            rc = cv_fail(err, CV_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            break;
        }
        if (dim != NULL)
            cv_report_fig_param(&fg, dim, f, note, sizeof note);
        else if (i == dims)
            rc = cv_report_fig_curves(&fg, f, note, sizeof note, err);
        else
            cv_report_fig_parallel(&fg, f, note, sizeof note);
        bool bad = ferror(f) != 0;
        if (fclose(f) != 0 || bad)
            rc = rc != 0 ? rc : cv_fail(err, CV_ERR_IO, "%s: cannot write the figure", path);
        if (rc == 0 && log != NULL)
            fprintf(log, "wrote %s: %s\n", path, note);
    }
    if (rc == 0 && fg.n > 0 && st->job.search.schedule == CV_SCHEDULE_PBT) {
        char path[4200], note[128];
        snprintf(path, sizeof path, "%s/pbt.svg", dir);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            rc = cv_fail(err, CV_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        bool drawn = f != NULL && cv_report_fig_pbt(&fg, f, note, sizeof note);
        bool bad = f != NULL && ferror(f) != 0;
        if (f != NULL && (fclose(f) != 0 || bad))
            rc = cv_fail(err, CV_ERR_IO, "%s: cannot write the figure", path);
        if (f != NULL && !drawn)
            remove(path);
        else if (rc == 0 && log != NULL)
            fprintf(log, "wrote %s: %s\n", path, note);
    }
    cv_report_figs_free(&fg);
    return rc;
}
