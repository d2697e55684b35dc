/* pbt.c: the report of a population-based training study (see
 * caviar/report.h): what each generation decided, and the best member's
 * schedule as text, stretch by stretch, with what each exploit changed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

int64_t cv_report_pbt_best(const cv_study *st)
{
    const cv_trial_row *best =
        cv_trial_rows_best_trained(st->rows, st->n_rows, st->job.search.max_epochs, st->metric);
    return best != NULL ? best->trial : -1;
}

/* The /lineage row of trial id that starts at epoch from, or NULL. */
static const cv_lineage_row *decision_of(const cv_study *st, int64_t id, int from)
{
    for (int64_t i = 0; i < st->n_lineage; i++)
        if (st->lineage[i].trial == id && st->lineage[i].from_epoch == from)
            return &st->lineage[i];
    return NULL;
}

/* Each decided generation: the population's metric at its end, and who
 * was exploited from whom. */
static void print_generations(FILE *out, const cv_study *st, int gens)
{
    const int P = st->trials_per_round;
    fprintf(out, "  %10s  %6s  %8s  %8s  %8s  %s\n", "generation", "epoch", "best", "median",
            "worst", "exploited (member <- member copied)");
    double *m = malloc((size_t)P * sizeof *m);
    if (m == NULL)
        return;
    for (int g = 1; g < gens; g++) {
        int n = 0, epoch = 0;
        char who[256] = "";
        size_t len = 0;
        for (int64_t i = 0; i < st->n_lineage; i++) {
            const cv_lineage_row *l = &st->lineage[i];
            if (l->generation != g)
                continue;
            epoch = l->from_epoch;
            if (isfinite(l->metric) && n < P)
                m[n++] = l->metric;
            if (strcmp(l->decision, "exploit") == 0 && len + 1 < sizeof who) {
                const char *c = strstr(l->explore, "copied member ");
                int from = c != NULL ? atoi(c + 14) : -1;
                int k = snprintf(who + len, sizeof who - len, "%s%d <- %d", len ? ", " : "",
                                 l->member, from);
                len += k > 0 ? (size_t)k : 0;
                if (len >= sizeof who)
                    len = sizeof who - 1;
            }
        }
        if (n == 0 && len == 0)
            continue; /* not decided yet */
        /* sorted, best first */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && cv_metric_better(st->metric, m[j], m[j - 1]); j--) {
                double t = m[j];
                m[j] = m[j - 1];
                m[j - 1] = t;
            }
        if (n > 0)
            fprintf(out, "  %10d  %6d  %8.4f  %8.4f  %8.4f  %s\n", g, epoch, m[0], m[n / 2],
                    m[n - 1], who);
        else
            fprintf(out, "  %10d  %6d  %8s  %8s  %8s  %s\n", g, epoch, "-", "-", "-", who);
    }
    free(m);
}

/* The configuration of a stretch, the searched parameters only. */
static void print_config(FILE *out, const cv_study *st, const cv_config *cfg)
{
    for (int d = 0; d < cv_space_dims(st->space); d++) {
        cv_param p = cv_space_dim_get(st->space, d)->param;
        char v[48];
        cv_report_value(st, p, cv_config_get(cfg, p), v, sizeof v);
        fprintf(out, "%s%s=%s", d ? " " : "", cv_param_get_info(p)->name, v);
    }
}

void cv_report_pbt(FILE *out, const cv_study *st)
{
    const cv_job *job = &st->job;
    if (job->search.schedule != CV_SCHEDULE_PBT || st->n_rows == 0)
        return;
    const cv_pbt_spec *pbt = &job->search.pbt;
    const int P = st->trials_per_round, I = pbt->interval, max = job->search.max_epochs;
    const int gens = cv_job_pbt_generations(job);
    int64_t exploits = 0;
    for (int64_t i = 0; i < st->n_lineage; i++)
        exploits += strcmp(st->lineage[i].decision, "exploit") == 0;
    fprintf(out,
            "\npopulation-based training: a population of %d, generations of %d epochs to %d, "
            "quantile %g: %lld trials, %lld exploits\n",
            P, I, max, pbt->quantile, (long long)st->n_rows, (long long)exploits);
    print_generations(out, st, gens);

    int64_t best = cv_report_pbt_best(st);
    if (best < 0) {
        fprintf(out, "no member has trained the whole budget yet\n");
        return;
    }
    cv_stretch *s = NULL;
    int n_s = 0;
    cv_error err = {0};
    if (cv_lineage_schedule(st->path, st->lineage, st->n_lineage, best, &s, &n_s, &err) != 0) {
        fprintf(out, "the best member's schedule: %s\n", err.msg);
        return;
    }
    const cv_trial_row *b = cv_trial_rows_find(st->rows, st->n_rows, best);
    fprintf(out,
            "the best member's schedule: trial %lld, %s %.4f (its best, at epoch %d); "
            "`caviar train --replay %s --trial %lld` retrains it\n",
            (long long)best, cv_report_metric_name(st), cv_study_metric(st, b), b->best_epoch,
            st->path, (long long)best);
    for (int k = 0; k < n_s; k++) {
        const cv_trial_row *r = cv_trial_rows_find(st->rows, st->n_rows, s[k].trial);
        fprintf(out, "  epochs %2d-%-2d  trial %-4lld ", s[k].from + 1, s[k].to,
                (long long)s[k].trial);
        const cv_lineage_row *l = decision_of(st, s[k].trial, s[k].from);
        if (k == 0 || l == NULL) {
            fprintf(out, "from scratch: ");
            if (r != NULL)
                print_config(out, st, &r->config);
        } else {
            fprintf(out, "exploited (member %d ranked %d of %d): %s", l->member, l->place, l->of,
                    l->explore);
        }
        fputc('\n', out);
    }
    free(s);
}
