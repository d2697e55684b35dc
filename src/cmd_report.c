/* cmd_report.c: `caviar report RESULTS.h5 [--top K] [--svg DIR] [--html
 * PAGE]`: what a study found, as text on stdout (the report module's
 * cv_report_print), with --svg as figures in DIR, with --html as one
 * self-contained page. Works on a study still running (the file is read as
 * a SWMR reader) as on a finished one. */
#include <stddef.h>
#include <stdio.h>

#include "caviar/report.h"
#include "caviar/store.h"
#include "commands.h"

static const char report_usage[] =
    "usage: caviar report RESULTS.h5 [--top K] [--svg DIR] [--html PAGE]\n"
    "  --top   leaderboard rows, and trials in the learning-curve figure (default 10)\n"
    "  --svg   also write the figures (SVG) into DIR: metric_NAME.svg per searched\n"
    "          parameter, curves.svg, parallel.svg\n"
    "  --html  also write the whole report as one self-contained HTML page (figures\n"
    "          inline, a leaderboard of every trial that sorts by any column)\n";

typedef struct report_args {
    const char *results;
    int top;
    const char *svg;
    const char *html;
} report_args;

static const cv_arg_opt report_opts[] = {
    {.name = "--top", .kind = CV_ARG_INT, .offset = offsetof(report_args, top), .lo = 1,
     .hi = 1000000, .expected = "a whole number >= 1"},
    {.name = "--svg", .kind = CV_ARG_STRING, .offset = offsetof(report_args, svg)},
    {.name = "--html", .kind = CV_ARG_STRING, .offset = offsetof(report_args, html)},
};

const cv_args_spec cv_report_args = {
    .command = "report",
    .usage = report_usage,
    .opts = report_opts,
    .n_opts = (int)(sizeof report_opts / sizeof *report_opts),
    .positional = "results file",
    .positional_offset = offsetof(report_args, results),
};

int cv_cmd_report(int argc, char **argv)
{
    report_args a = {.top = 10};
    int status = cv_args_parse(&cv_report_args, argc, argv, &a);
    if (status != 0)
        return status < 0 ? 0 : status;

    cv_error err = {0};
    cv_store *store = NULL;
    cv_study st = {0};
    int rc = 0;
    if ((a.html != NULL && (rc = cv_report_html_check(a.html, a.results, &err)) != 0) ||
        (rc = cv_store_open(&store, a.results, CV_STORE_READ, &err)) != 0 ||
        (rc = cv_study_load(&st, store, a.svg != NULL || a.html != NULL, &err)) != 0)
        goto done;
    if ((rc = cv_report_print(stdout, &st, a.top, &err)) != 0)
        goto done;
    if (a.svg != NULL) {
        fputc('\n', stdout);
        rc = cv_report_svg(&st, a.svg, a.top, stdout, &err);
    }
    if (rc == 0 && a.html != NULL && (rc = cv_report_html_file(&st, a.html, a.top, 0, &err)) == 0)
        printf("%swrote %s\n", a.svg != NULL ? "" : "\n", a.html);
    if (fflush(stdout) != 0 && rc == 0)
        rc = cv_fail(&err, CV_ERR_IO, "standard output: cannot write the report");

done:
    cv_study_free(&st);
    cv_error cerr = {0};
    if (store != NULL && cv_store_close(store, &cerr) != 0 && rc == 0) {
        rc = cerr.code;
        err = cerr;
    }
    if (rc != 0)
        fprintf(stderr, "caviar report: %s\n", err.msg[0] ? err.msg : "failed");
    return cv_exit_status(rc);
}
