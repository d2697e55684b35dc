/* report_int.h: what the report's text (text.c), figures (svg.c) and the
 * analysis share: numbers written for people rather than for a job file. */
#ifndef CAVIAR_REPORT_INT_H
#define CAVIAR_REPORT_INT_H

#include <stddef.h>

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

#endif
