/* report_int.h: what the report's text (text.c), figures (svg.c), page
 * (html.c) and the analysis share: numbers written for people rather than
 * for a job file, the text's sections that the page shows too, and the
 * figures, each written to a stream, so that `--svg DIR` and `--html` draw
 * the same ones. */
#ifndef CAVIAR_REPORT_INT_H
#define CAVIAR_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "caviar/format.h"
#include "caviar/report.h"

/* v with about three significant digits: "0.000412", "0.887", "12.5",
 * "1.2e-5", "3000". Returns snprintf's length. */
int cv_report_short_number(double v, char *buf, size_t size);

/* A value of p as a reader wants it: words and booleans as words,
 * integers whole, reals short; a beta on the one_minus_log scale with the
 * digits that tell 0.999 from 0.9995. */
int cv_report_value(const cv_study *st, cv_param p, double v, char *buf, size_t size);

/* The metric's name in the file and in short ("dev_acc", "dev_loss"). */
const char *cv_report_metric_name(const cv_study *st);

/* Seconds since the epoch of an ISO 8601 UTC time as the store writes it
 * ("2025-01-31T12:34:56Z"); NaN if it does not parse. */
double cv_report_parse_time(const char *iso);

/* Writes s with the characters XML and HTML treat specially (& < > ")
 * escaped: safe as text and inside a double-quoted attribute. */
void cv_report_put_escaped(FILE *f, const char *s);

/* ---- figures (svg.c) ---------------------------------------------------------- */

/* What every figure of a study needs: the trials ranked once. */
typedef struct cv_report_figs {
    const cv_study *st;
    int64_t *order;   /* (n_rows) row indices, best first (cv_study_rank) */
    double *metric;   /* (n_rows) the metric of order[i], for the first n */
    int64_t n;        /* how many trials have a metric: no figure without one */
    int top;          /* trials in colour in the learning curves */
    bool inline_html; /* for the page: no XML declaration or namespace, each round
                         its own marker shape, each curve labelled by its rank */
} cv_report_figs;

/* Ranks st's trials for the figures; release with cv_report_figs_free. */
int cv_report_figs_init(cv_report_figs *fg, const cv_study *st, int top, bool inline_html,
                        cv_error *err);
void cv_report_figs_free(cv_report_figs *fg);

/* Each writes one whole <svg> element to f (fg->n > 0) and, into note, what
 * it drew for the log ("12 points", "10 trials, 40 curves"): the metric
 * against searched parameter dim; the learning curves (needs st->curves;
 * fails only without memory); parallel coordinates (at least one
 * searched parameter). Write errors are f's to report. */
void cv_report_fig_param(const cv_report_figs *fg, const cv_space_dim *dim, FILE *f, char *note,
                         size_t size);
int cv_report_fig_curves(const cv_report_figs *fg, FILE *f, char *note, size_t size,
                         cv_error *err);
void cv_report_fig_parallel(const cv_report_figs *fg, FILE *f, char *note, size_t size);

#endif
