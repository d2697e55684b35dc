/* text.c: the printed report (`caviar report`), section by section: the
 * study and its status, where the time went, the leaderboard, which
 * parameters matter and how the metric depends on each, the coarse-to-fine
 * rounds, and the suggested next region; and the compact live view that
 * `caviar watch` redraws (see caviar/report.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_int.h"

/* ---- numbers for people ------------------------------------------------------ */

int cv_report_short_number(double v, char *buf, size_t size)
{
    if (!isfinite(v))
        return snprintf(buf, size, "%s", isnan(v) ? "-" : v > 0 ? "inf" : "-inf");
    double a = fabs(v);
    if (a == 0)
        return snprintf(buf, size, "0");
    if (a >= 1e-3 && a < 1e3)
        return snprintf(buf, size, "%.3g", v);
    if (a >= 1e3 && a < 1e7)
        return snprintf(buf, size, "%.0f", v);
    /* "1.2e-05" -> "1.2e-5" */
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.2g", v);
    char *e = strchr(tmp, 'e');
    if (e == NULL)
        return snprintf(buf, size, "%s", tmp);
    int exp = atoi(e + 1);
    *e = '\0';
    return snprintf(buf, size, "%se%d", tmp, exp);
}

int cv_report_value(const cv_study *st, cv_param p, double v, char *buf, size_t size)
{
    const cv_param_info *info = cv_param_get_info(p);
    if (info->kind != CV_KIND_REAL)
        return cv_param_format(p, v, buf, size);
    const cv_space_dim *dim = st->space ? cv_space_dim_of(st->space, p) : NULL;
    if (dim != NULL && dim->scale == CV_SCALE_ONE_MINUS_LOG && v < 1 && v > 0.5) {
        /* two significant digits of 1 - v: 0.99912 -> "0.99912" */
        int digits = (int)ceil(-log10(1 - v)) + 1;
        digits = digits < 2 ? 2 : digits > 12 ? 12 : digits;
        char tmp[48];
        snprintf(tmp, sizeof tmp, "%.*f", digits, v);
        size_t n = strlen(tmp); /* "0.90" -> "0.9" */
        while (n > 3 && tmp[n - 1] == '0')
            tmp[--n] = '\0';
        return snprintf(buf, size, "%s", tmp);
    }
    return cv_report_short_number(v, buf, size);
}

const char *cv_report_metric_name(const cv_study *st)
{
    return cv_metric_name(st->metric);
}

double cv_report_parse_time(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (end == NULL || *end != '\0')
        return NAN;
    return (double)timegm(&tm);
}

/* ---- the leaderboard ----------------------------------------------------------- */

/* The leaderboard's columns, in order: rank, trial, round, each searched
 * parameter, the rung (successive halving only), then the fixed ones. */
typedef enum board_col {
    COL_RANK, COL_TRIAL, COL_ROUND, COL_PARAM, COL_RUNG, COL_DEV_ACC, COL_DEV_LOSS, COL_TEST_ACC,
    COL_EPOCHS, COL_SECONDS, COL_STATUS
} board_col;

static bool halving(const cv_study *st)
{
    return st->job.search.schedule != CV_SCHEDULE_FULL;
}

int cv_report_board_columns(const cv_study *st)
{
    return 3 + cv_space_dims(st->space) + halving(st) + 6;
}

/* What column col is; for a parameter, *p says which. */
static board_col board_column(const cv_study *st, int col, cv_param *p)
{
    int dims = cv_space_dims(st->space);
    if (col < COL_PARAM)
        return (board_col)col;
    if (col < COL_PARAM + dims) {
        *p = cv_space_dim_get(st->space, col - COL_PARAM)->param;
        return COL_PARAM;
    }
    col -= dims - 1; /* COL_RUNG and on */
    return (board_col)(halving(st) ? col : col + 1);
}

const char *cv_report_board_heading(const cv_study *st, int col)
{
    static const char *const names[] = {"rank", "trial", "round", "", "rung", "dev_acc",
                                        "dev_loss", "test_acc", "epochs", "seconds", "status"};
    cv_param p = 0;
    board_col c = board_column(st, col, &p);
    if (c == COL_RUNG && st->job.search.schedule == CV_SCHEDULE_PBT)
        return "gen"; /* the generation of the trial's last segment */
    return c == COL_PARAM ? cv_param_get_info(p)->name : names[c];
}

void cv_report_board_cell(const cv_study *st, int col, const cv_trial_row *r, int64_t rank,
                          char *buf, size_t size)
{
    cv_param p = 0;
    double v = NAN;
    switch (board_column(st, col, &p)) {
    case COL_RANK: snprintf(buf, size, "%lld", (long long)rank); return;
    case COL_TRIAL: snprintf(buf, size, "%lld", (long long)r->trial); return;
    case COL_ROUND: snprintf(buf, size, "%d", r->round); return;
    case COL_PARAM: cv_report_value(st, p, cv_config_get(&r->config, p), buf, size); return;
    case COL_RUNG: snprintf(buf, size, "%d", r->rung); return;
    case COL_EPOCHS: snprintf(buf, size, "%d", r->epochs_done); return;
    case COL_SECONDS: snprintf(buf, size, "%.1f", r->seconds); return;
    case COL_STATUS: snprintf(buf, size, "%s", cv_trial_status_name(r->status)); return;
    case COL_DEV_ACC: v = r->dev_accuracy; break;
    case COL_DEV_LOSS: v = r->dev_loss; break;
    case COL_TEST_ACC: v = r->test_accuracy; break;
    }
    if (isfinite(v))
        snprintf(buf, size, "%.4f", v);
    else
        snprintf(buf, size, "-");
}

/* Writes one line of the text leaderboard: the cells of row r at rank, or
 * the headings when r is NULL. Columns right-aligned to their width (a
 * parameter's is its name's, at least 9), but the rank, left-aligned, and
 * the status, last. */
static void board_line(FILE *out, const cv_study *st, const cv_trial_row *r, int64_t rank)
{
    static const int widths[] = {4, 6, 5, 9, 4, 8, 8, 8, 6, 8, 0};
    int cols = cv_report_board_columns(st);
    for (int col = 0; col < cols; col++) {
        cv_param p = 0;
        board_col c = board_column(st, col, &p);
        char s[64];
        if (r != NULL)
            cv_report_board_cell(st, col, r, rank, s, sizeof s);
        else
            snprintf(s, sizeof s, "%s", cv_report_board_heading(st, col));
        int w = widths[c];
        if (c == COL_PARAM && (int)strlen(cv_param_get_info(p)->name) > w)
            w = (int)strlen(cv_param_get_info(p)->name);
        if (c == COL_RANK)
            fprintf(out, "%-*s", w, s);
        else if (c == COL_STATUS)
            fprintf(out, "  %s\n", s);
        else
            fprintf(out, " %*s", w, s);
    }
}

void cv_report_leaderboard(FILE *out, const cv_study *st, const int64_t *order, int top)
{
    board_line(out, st, NULL, 0);
    for (int64_t i = 0; i < st->n_rows && i < top; i++)
        board_line(out, st, &st->rows[order[i]], i + 1);
}

int cv_report_leaderboard_file(FILE *out, const char *path, int top, cv_error *err)
{
    cv_store *s = NULL;
    cv_study st;
    memset(&st, 0, sizeof st);
    int rc = cv_store_open(&s, path, CV_STORE_READ, err);
    if (rc == 0)
        rc = cv_study_load(&st, s, false, err);
    int64_t *order = rc == 0 ? malloc((size_t)(st.n_rows > 0 ? st.n_rows : 1) * sizeof *order)
                             : NULL;
    if (rc == 0 && order == NULL)
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the leaderboard", path);
    if (rc == 0 && st.n_rows > 0) {
        cv_study_rank(&st, order);
        cv_report_leaderboard(out, &st, order, top);
    }
    free(order);
    cv_study_free(&st);
    cv_error ignore = {0};
    cv_store_close(s, &ignore);
    return rc;
}

/* ---- the live view (caviar watch) ---------------------------------------------- */

/* Whether trial has a finished row (st->rows is in id order). */
static bool has_finished(const cv_study *st, int64_t trial)
{
    int64_t lo = 0, hi = st->n_rows;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (st->rows[mid].trial < trial)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->n_rows && st->rows[lo].trial == trial &&
           st->rows[lo].status != CV_TRIAL_INTERRUPTED;
}

/* Trials with curve points but no finished row: in flight. Prints up to
 * max of them, latest first (trial, latest epoch, its dev metric), and
 * returns how many it saw (it stops looking at CV_SPACE_MAX_VALUES). */
static int in_flight(FILE *out, const cv_study *st, int max)
{
    enum { CAP = CV_SPACE_MAX_VALUES };
    int64_t seen[CAP]; /* the unfinished trials met so far, walking back */
    int n = 0;
    for (int64_t i = st->n_curves - 1; i >= 0 && n < CAP; i--) {
        const cv_curve_row *c = &st->curves[i];
        bool again = false;
        for (int k = 0; k < n && !again; k++)
            again = seen[k] == c->trial;
        if (again || has_finished(st, c->trial))
            continue;
        if (n < max)
            fprintf(out, "%s trial %lld epoch %d (%s %.4f)", n ? "," : "in flight:",
                    (long long)c->trial, c->epoch,
                    st->metric == CV_METRIC_DEV_LOSS ? "dev_loss" : "dev_acc",
                    st->metric == CV_METRIC_DEV_LOSS ? c->dev_loss : c->dev_accuracy);
        seen[n++] = c->trial;
    }
    if (n > max)
        fprintf(out, ", ...");
    if (n > 0)
        fputc('\n', out);
    return n;
}

void cv_report_live(FILE *out, const cv_study *st, int top, bool live)
{
    char clock[16];
    time_t now = time(NULL);
    struct tm tm;
    strftime(clock, sizeof clock, "%H:%M:%S", localtime_r(&now, &tm));
    fprintf(out, "caviar watch: %s, study %s (%s)\n", st->path, st->job.name ? st->job.name : "?",
            clock);

    cv_report_counts c;
    cv_report_count(st, &c);
    int64_t finished = c.done + c.diverged + c.failed;
    const int width = 30;
    int fill = st->planned > 0 ? (int)((double)finished / (double)st->planned * width) : width;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(out, "[%s] %lld/%lld trials, round %lld of %d; %lld diverged, %lld failed",
            bar, (long long)finished, (long long)st->planned,
            (long long)(st->n_rounds > 0 ? st->n_rounds : 1), st->rounds,
            (long long)c.diverged, (long long)c.failed);
    if (c.interrupted > 0)
        fprintf(out, ", %lld interrupted", (long long)c.interrupted);

    /* time: since the file was created; what is left at the pace so far */
    double busy = 0;
    for (int64_t i = 0; i < st->n_rows; i++)
        busy += isfinite(st->rows[i].seconds) ? st->rows[i].seconds : 0;
    double elapsed = (double)now - cv_report_parse_time(st->times.created);
    if (!live && isfinite(st->times.wall_seconds))
        elapsed = st->times.wall_seconds;
    int workers = st->times.ranks > 1 ? st->times.ranks - 1 : 1;
    double eta = finished > 0 ? busy / (double)finished * (double)c.pending / workers : NAN;
    char el[32], et[32];
    cv_format_duration(elapsed, el, sizeof el);
    cv_format_duration(eta, et, sizeof et);
    fprintf(out, "; %s elapsed", el);
    if (live && c.pending > 0)
        fprintf(out, ", ETA %s", et);
    fputc('\n', out);

    int64_t *order = malloc((size_t)(st->n_rows > 0 ? st->n_rows : 1) * sizeof *order);
    if (order != NULL) {
        int64_t ranked = cv_study_rank(st, order);
        if (ranked > 0) {
            const cv_trial_row *b = &st->rows[order[0]];
            fprintf(out, "best %s %.4f (trial %lld, round %d)\n", cv_report_metric_name(st),
                    cv_study_metric(st, b), (long long)b->trial, b->round);
        }
        if (st->n_rows > 0)
            cv_report_leaderboard(out, st, order, top);
        free(order);
    }
    if (live)
        in_flight(out, st, 6);
    fflush(out);
}

/* ---- sections -------------------------------------------------------------------- */


void cv_report_describe(FILE *out, const cv_study *st)
{
    fprintf(out, "study %s, %s search, %d round%s of %d trials, metric %s (%s is better)",
            st->job.name ? st->job.name : "?", cv_job_method_name(&st->job), st->rounds,
            st->rounds == 1 ? "" : "s", st->trials_per_round, cv_report_metric_name(st),
            st->metric == CV_METRIC_DEV_LOSS ? "lower" : "higher");
}

void cv_report_status(FILE *out, const cv_study *st)
{
    cv_report_counts c;
    cv_report_count(st, &c);
    int64_t finished = c.done + c.diverged + c.failed;
    fprintf(out, "trials: %lld finished of %lld planned: %lld done, %lld diverged, %lld failed, "
                 "%lld interrupted",
            (long long)finished, (long long)st->planned, (long long)c.done,
            (long long)c.diverged, (long long)c.failed, (long long)c.interrupted);
    if (c.pending > 0)
        fprintf(out, ", %lld not run yet", (long long)c.pending);
    fputc('\n', out);

    double busy = 0;
    for (int64_t i = 0; i < st->n_rows; i++)
        busy += isfinite(st->rows[i].seconds) ? st->rows[i].seconds : 0;
    const cv_store_times *t = &st->times;
    char wall[32], train[32], mean[32];
    cv_format_duration(busy, train, sizeof train);
    cv_format_duration(st->n_rows > 0 ? busy / (double)st->n_rows : NAN, mean, sizeof mean);
    if (isfinite(t->wall_seconds)) {
        cv_format_duration(t->wall_seconds, wall, sizeof wall);
        fprintf(out, "time: wall %s (ended %s), training %s in all (%s per trial)", wall,
                t->finished, train, mean);
        if (isfinite(t->worker_seconds) && t->worker_seconds > 0)
            fprintf(out, ", worker utilization %.0f%%", 100.0 * busy / t->worker_seconds);
        fputc('\n', out);
    } else if (st->live) {
        /* a run in progress: its wall time is recorded when it ends */
        double since = (double)time(NULL) - cv_report_parse_time(t->created);
        cv_format_duration(since, wall, sizeof wall);
        fprintf(out, "time: running, %s since the file was created (%s); training %s so far "
                     "(%s per trial)\n",
                wall, t->created[0] ? t->created : "unknown", train, mean);
    } else {
        /* a run that was killed, or a file from before runs recorded their
         * time: from the file's creation to its last change */
        double est = st->modified - cv_report_parse_time(t->created);
        int workers = t->ranks > 1 ? t->ranks - 1 : 1;
        cv_format_duration(est, wall, sizeof wall);
        fprintf(out, "time: wall about %s (not recorded by the run: from the file's creation to "
                     "its last change), training %s in all (%s per trial)",
                wall, train, mean);
        if (isfinite(est) && est > 0)
            fprintf(out, ", worker utilization about %.0f%% (%d workers)",
                    100.0 * busy / (workers * est), workers);
        fputc('\n', out);
    }
}

void cv_report_provenance(FILE *out, const cv_study *st)
{
    if (st->n_runs == 0) {
        fprintf(out, "provenance: not recorded (a file of caviar 0.1.0)\n");
        return;
    }
    const cv_run_info *first = &st->runs[0];
    fprintf(out, "provenance: caviar %s, OpenBLAS %s kernels (%d thread%s per worker), %s; "
                 "%d rank%s on %s; %s %s\n",
            first->caviar_version, first->blas_core, first->blas_threads,
            first->blas_threads == 1 ? "" : "s", first->cpu_model, first->ranks,
            first->ranks == 1 ? "" : "s", first->hosts, first->command, first->started);
    for (int64_t i = 1; i < st->n_runs; i++) {
        const cv_run_info *r = &st->runs[i];
        bool other = strcmp(r->blas_core, first->blas_core) != 0 ||
                     strcmp(r->caviar_version, first->caviar_version) != 0;
        fprintf(out, "  then %s %s: %d rank%s on %s", r->command, r->started, r->ranks,
                r->ranks == 1 ? "" : "s", r->hosts);
        if (other)
            fprintf(out, "; caviar %s on OpenBLAS %s kernels (%s): its trials may differ in "
                         "the last bits from the first run's kind of machine",
                    r->caviar_version, r->blas_core, r->cpu_model);
        fputc('\n', out);
    }
}

static void print_effects(FILE *out, const cv_study *st, const cv_report_effect *e, int n,
                          double best)
{
    const char *metric = cv_report_metric_name(st);
    int counted = 0;
    for (int64_t i = 0; i < st->n_rows; i++)
        counted += !isnan(cv_study_metric(st, &st->rows[i]));
    fprintf(out, "\nwhat matters: the share of %s's variance (over %d trials) explained by each "
                 "parameter's bins alone;\nnoise alone explains about the chance column\n",
            metric, counted);
    fprintf(out, "  %-14s %10s %7s\n", "parameter", "importance", "chance");
    for (int k = 0; k < n; k++) {
        char bar[41];
        int w = isfinite(e[k].importance) ? (int)(e[k].importance * 40 + 0.5) : 0;
        memset(bar, '#', (size_t)w);
        bar[w] = '\0';
        if (isfinite(e[k].importance))
            fprintf(out, "  %-14s %9.1f%% %6.1f%%  %s\n", cv_param_get_info(e[k].param)->name,
                    100 * e[k].importance, 100 * e[k].chance, bar);
        else
            fprintf(out, "  %-14s %10s %7s\n", cv_param_get_info(e[k].param)->name, "-", "-");
    }

    char thr[32];
    snprintf(thr, sizeof thr, "%.4f", cv_report_near_threshold(st->metric, best));
    fprintf(out, "\nhow %s depends on each parameter (bins on the parameter's own scale; "
                 "best and median of the trials with a %s;\nnear: how many of the bin's "
                 "trials come within 1%% of the best, %s %s)\n",
            metric, metric, st->metric == CV_METRIC_DEV_LOSS ? "<=" : ">=", thr);
    static const int widths[] = {-22, 6, 8, 8, 8, 10};
    for (int k = 0; k < n; k++) {
        const cv_report_effect *f = &e[k];
        char title[160], cellbuf[96];
        cv_report_effect_title(st, f, title, sizeof title);
        fprintf(out, "  %s\n", title);
        int cols = cv_report_effect_columns(st, f);
        for (int b = -1; b < f->n_bins; b++) { /* -1: the headings */
            fputs("  ", out);
            for (int col = 0; col < cols; col++) {
                const char *cs = cellbuf;
                if (b >= 0)
                    cv_report_effect_cell(st, f, b, col, cellbuf, sizeof cellbuf);
                else
                    cs = cv_report_effect_heading(f, col);
                if (col < 6)
                    fprintf(out, " %s%*s", col == 0 ? " " : "", widths[col], cs);
                else
                    fprintf(out, "  %s", cs);
            }
            fputc('\n', out);
        }
    }
}

void cv_report_effect_title(const cv_study *st, const cv_report_effect *e, char *buf, size_t size)
{
    static const char *const scales[] = {"linear", "log10 x", "log10(1 - x)", "values"};
    const cv_space_dim *dim = cv_space_dim_of(st->space, e->param);
    if (e->categorical)
        snprintf(buf, size, "%s (values)", cv_param_get_info(e->param)->name);
    else
        snprintf(buf, size, "%s (%s, %d bins on %s)", cv_param_get_info(e->param)->name,
                 cv_dist_name(dim->dist), e->n_bins, scales[dim->scale]);
}

int cv_report_effect_columns(const cv_study *st, const cv_report_effect *e)
{
    return e->categorical && cv_space_dim_of(st->space, CV_P_LEARNING_RATE) != NULL ? 7 : 6;
}

const char *cv_report_effect_heading(const cv_report_effect *e, int col)
{
    static const char *const names[] = {"range", "trials", "diverged", "best", "median", "near",
                                        "learning rates reaching near the best"};
    return col == 0 && e->categorical ? "value" : names[col];
}

void cv_report_effect_cell(const cv_study *st, const cv_report_effect *e, int b, int col,
                           char *buf, size_t size)
{
    const cv_report_bin *bin = &e->bins[b];
    const cv_space_dim *dim = cv_space_dim_of(st->space, e->param);
    char a[32], c[32];
    switch (col) {
    case 0:
        if (e->categorical) {
            cv_param_format(e->param, bin->lo, buf, size);
        } else if (isnan(bin->lo)) {
            snprintf(buf, size, "(no integer)");
        } else {
            cv_report_value(st, e->param, bin->lo, a, sizeof a);
            cv_report_value(st, e->param, bin->hi, c, sizeof c);
            if (dim->integer && bin->lo == bin->hi)
                snprintf(buf, size, "%s", a);
            else
                snprintf(buf, size, "[%s, %s]", a, c);
        }
        return;
    case 1: snprintf(buf, size, "%d", bin->trials); return;
    case 2: snprintf(buf, size, "%d", bin->diverged); return;
    case 3:
    case 4:
        if (bin->n > 0)
            snprintf(buf, size, "%.4f", col == 3 ? bin->best : bin->median);
        else
            snprintf(buf, size, "-");
        return;
    case 5:
        snprintf(buf, size, "%d (%.0f%%)", bin->near,
                 bin->trials > 0 ? 100.0 * bin->near / bin->trials : 0.0);
        return;
    default:
        if (bin->near > 0) {
            cv_report_short_number(bin->lr_lo, a, sizeof a);
            cv_report_short_number(bin->lr_hi, c, sizeof c);
            snprintf(buf, size, "[%s, %s]: %.2f decades", a, c, log10(bin->lr_hi / bin->lr_lo));
        } else {
            snprintf(buf, size, "none");
        }
    }
}

/* A round's region of p as text: "[lo, hi]" or "{64, 128}". */
static void round_region(const cv_study *st, const cv_round_row *r, cv_param p, char *buf,
                         size_t size)
{
    if (!r->searched[p]) {
        snprintf(buf, size, "-");
    } else if (r->values[p][0] != '\0') {
        /* "64,128" -> "{64, 128}" */
        size_t used = 0;
        used += (size_t)snprintf(buf, size, "{");
        for (const char *c = r->values[p]; *c && used + 3 < size; c++) {
            if (*c == ',') {
                buf[used++] = ',';
                buf[used++] = ' ';
            } else {
                buf[used++] = *c;
            }
        }
        snprintf(buf + used, size - used, "}");
    } else {
        char a[32], b[32];
        cv_report_value(st, p, r->lo[p], a, sizeof a);
        cv_report_value(st, p, r->hi[p], b, sizeof b);
        snprintf(buf, size, "[%s, %s]", a, b);
    }
}

int cv_report_rounds_rows(const cv_study *st)
{
    return st->n_rounds > 0 ? 3 + cv_space_dims(st->space) : 0;
}

const char *cv_report_rounds_label(const cv_study *st, int row)
{
    static const char *const names[] = {"round", "trials"};
    if (row < 2)
        return names[row];
    if (row == 2)
        return cv_report_metric_name(st);
    return cv_param_get_info(cv_space_dim_get(st->space, row - 3)->param)->name;
}

void cv_report_rounds_cell(const cv_study *st, int row, int64_t r, char *buf, size_t size)
{
    int round = (int)st->round_rows[r].round;
    if (row == 0) {
        snprintf(buf, size, "%d", round);
    } else if (row == 1) {
        int n = 0;
        for (int64_t i = 0; i < st->n_rows; i++)
            n += st->rows[i].round == round && st->rows[i].parent < 0 &&
                 st->rows[i].status != CV_TRIAL_INTERRUPTED;
        snprintf(buf, size, "%d", n);
    } else if (row == 2) {
        double best = NAN;
        int64_t trial = -1;
        for (int64_t i = 0; i < st->n_rows; i++) {
            const cv_trial_row *t = &st->rows[i];
            double m = cv_study_metric(st, t);
            if (t->round == round && t->parent < 0 && cv_metric_better(st->metric, m, best))
                best = m, trial = t->trial;
        }
        snprintf(buf, size, "-");
        if (trial >= 0)
            snprintf(buf, size, "%.4f (trial %lld)", best, (long long)trial);
    } else {
        round_region(st, &st->round_rows[r], cv_space_dim_get(st->space, row - 3)->param, buf,
                     size);
    }
}

static void print_rounds(FILE *out, const cv_study *st)
{
    if (st->n_rounds == 0)
        return;
    fprintf(out, "\ncoarse to fine: each round's region and what it found\n");
    char text[160];
    for (int row = 0; row < cv_report_rounds_rows(st); row++) {
        fprintf(out, "  %-14s", cv_report_rounds_label(st, row));
        for (int64_t r = 0; r < st->n_rounds; r++) {
            cv_report_rounds_cell(st, row, r, text, sizeof text);
            if (r == st->n_rounds - 1) /* padded unless it is the row's last */
                fprintf(out, " %s\n", text);
            else
                fprintf(out, " %-24s", text);
        }
    }
}

bool cv_report_halving(const cv_study *st, cv_report_halving_info *h)
{
    const cv_job *job = &st->job;
    memset(h, 0, sizeof *h);
    bool halving = job->search.schedule == CV_SCHEDULE_ASHA ||
                   job->search.schedule == CV_SCHEDULE_HYPERBAND; /* not PBT: no rungs */
    if (!halving || st->n_rows == 0)
        return false;
    int64_t b = job->search.min_epochs;
    for (; b < job->search.max_epochs && h->n < CV_REPORT_MAX_RUNGS - 1;
         b *= job->search.reduction_factor)
        h->rungs[h->n++].budget = (int)b;
    h->rungs[h->n++].budget = job->search.max_epochs;
    for (int64_t i = 0; i < st->n_rows; i++) {
        h->epochs += st->rows[i].epochs_done;
        h->full += st->rows[i].config.epochs;
    }
    for (int k = 0; k < h->n; k++) {
        cv_report_rung *g = &h->rungs[k];
        g->best = NAN;
        for (int64_t i = 0; i < st->n_rows; i++) {
            const cv_trial_row *r = &st->rows[i];
            if (r->budget > g->budget) {
                g->beyond++;
            } else if (r->budget == g->budget) {
                g->ended++;
                double m = cv_study_metric(st, r);
                if (isfinite(m) && (!isfinite(g->best) || cv_metric_better(st->metric, m, g->best)))
                    g->best = m;
            }
        }
    }
    return true;
}

void cv_report_halving_title(FILE *out, const cv_study *st, const cv_report_halving_info *h)
{
    const cv_job *job = &st->job;
    fprintf(out, "successive halving (%s, %d bracket%s, reduction factor %d): rungs of",
            cv_job_method_name(job), job->search.brackets, job->search.brackets == 1 ? "" : "s",
            job->search.reduction_factor);
    for (int k = 0; k < h->n; k++)
        fprintf(out, "%s %d", k ? "," : "", h->rungs[k].budget);
    fprintf(out, " epochs");
}

void cv_report_halving_saved(FILE *out, const cv_study *st, const cv_report_halving_info *h)
{
    fprintf(out, "epochs trained: %lld, against %lld had every trial trained all %d (%.0f%% "
                 "saved)",
            (long long)h->epochs, (long long)h->full, st->job.search.max_epochs,
            h->full > 0 ? 100.0 * (double)(h->full - h->epochs) / (double)h->full : 0.0);
}

/* Successive halving: where the trials ended, by budget, and the epochs
 * it saved against training every trial in full. */
static void print_halving(FILE *out, const cv_study *st)
{
    cv_report_halving_info h;
    if (!cv_report_halving(st, &h))
        return;
    fputc('\n', out);
    cv_report_halving_title(out, st, &h);
    fprintf(out, "\n  %6s  %12s  %14s  %9s\n", "budget", "ended there", "trained beyond",
            "best there");
    for (int k = 0; k < h.n; k++) {
        char bs[16] = "-";
        if (isfinite(h.rungs[k].best))
            snprintf(bs, sizeof bs, "%.4f", h.rungs[k].best);
        fprintf(out, "  %6d  %12lld  %14lld  %9s\n", h.rungs[k].budget,
                (long long)h.rungs[k].ended, (long long)h.rungs[k].beyond, bs);
    }
    cv_report_halving_saved(out, st, &h);
    fputc('\n', out);
}

/* A program's failed segments (a study with a trainer): why, and where the
 * whole output is. */
static void print_failures(FILE *out, const cv_study *st)
{
    enum { SHOWN = 10 };
    if (st->n_failures == 0)
        return;
    fprintf(out, "\nfailed: %lld segment%s of the program (the reasons and the last of the "
                 "output are in /failures):\n",
            (long long)st->n_failures, st->n_failures == 1 ? "" : "s");
    for (int64_t i = 0; i < st->n_failures && i < SHOWN; i++) {
        const cv_failure_row *f = &st->failures[i];
        fprintf(out, "  trial %lld, epochs %d to %d: %s; its log: %s.ckpt/log_%06lld.txt\n",
                (long long)f->trial, f->from_epoch + 1, f->to_epoch, f->reason, st->path,
                (long long)f->trial);
    }
    if (st->n_failures > SHOWN)
        fprintf(out, "  ... and %lld more\n", (long long)(st->n_failures - SHOWN));
}

int cv_report_print(FILE *out, const cv_study *st, int top, cv_error *err)
{
    int rc = 0;
    int64_t *order = malloc((size_t)(st->n_rows > 0 ? st->n_rows : 1) * sizeof *order);
    cv_report_effect *effects = NULL;
    int n_effects = 0;
    char *yaml = NULL;
    if (order == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", st->path);
        goto done;
    }
    int64_t ranked = cv_study_rank(st, order);
    const char *metric = cv_report_metric_name(st);
    fprintf(out, "%s: ", st->path);
    cv_report_describe(out, st);
    fputc('\n', out);
    cv_report_status(out, st);
    cv_report_provenance(out, st);
    if (st->n_rows == 0) {
        fprintf(out, "no trial has finished yet\n");
        goto done;
    }

    fprintf(out, "\nleaderboard: the best %lld of %lld trials by %s\n",
            (long long)(top < st->n_rows ? top : st->n_rows), (long long)st->n_rows, metric);
    cv_report_leaderboard(out, st, order, top);
    print_failures(out, st);
    if (ranked == 0) {
        fprintf(out, "no trial has a %s: nothing to analyze\n", metric);
        goto done;
    }
    double best = cv_study_metric(st, &st->rows[order[0]]);

    if ((rc = cv_report_effects(st, &effects, &n_effects, err)) != 0)
        goto done;
    if (n_effects > 0)
        print_effects(out, st, effects, n_effects, best);
    print_rounds(out, st);
    print_halving(out, st);
    cv_report_pbt(out, st);

    int n_best = 0;
    if ((rc = cv_report_suggest(st, &yaml, &n_best, err)) != 0)
        goto done;
    if (n_effects > 0) {
        fprintf(out, "\nsuggested next region: where the best %d of %lld trials by %s landed, "
                     "on each parameter's own scale,\nwidened by %.0f%% of its width (paste it "
                     "into the next job file):\n",
                n_best, (long long)ranked, metric, 100 * CV_SPACE_MARGIN);
        fputs(yaml, out);
    }

done:
    free(order);
    free(effects);
    free(yaml);
    return rc;
}
