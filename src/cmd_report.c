/* cmd_report.c: `caviar report RESULTS.h5 [--top K] [--svg DIR]`: what a
 * study found, as text on stdout (the report module's cv_report_print) and,
 * with --svg, as figures in DIR. Works on a study still running (the file
 * is read as a SWMR reader) as on a finished one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/report.h"
#include "caviar/store.h"
#include "commands.h"

static const char report_usage[] =
    "usage: caviar report RESULTS.h5 [--top K] [--svg DIR]\n"
    "  --top   leaderboard rows, and trials in the learning-curve figure (default 10)\n"
    "  --svg   also write the figures (SVG) into DIR: metric_NAME.svg per searched\n"
    "          parameter, curves.svg, parallel.svg\n";

typedef struct report_args {
    const char *results;
    int top;
    const char *svg;
} report_args;

/* Parses the arguments; 0, or the exit status after a message (-1: --help). */
static int parse_args(int argc, char **argv, report_args *a)
{
    a->top = 10;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        int which = -1; /* 0: --top, 1: --svg */
        static const char *const valued[] = {"--top", "--svg"};
        for (int k = 0; k < 2; k++) {
            size_t n = strlen(valued[k]);
            if (strcmp(opt, valued[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "caviar report: %s needs a value\n%s", opt, report_usage);
                    return 2;
                }
                which = k, val = argv[++i];
            } else if (strncmp(opt, valued[k], n) == 0 && opt[n] == '=') {
                which = k, val = opt + n + 1;
            }
        }
        if (which == 0) {
            char *end;
            errno = 0;
            long v = strtol(val, &end, 10);
            if (end == val || *end != '\0' || errno != 0 || v < 1 || v > 1000000) {
                fprintf(stderr, "caviar report: --top %s: expected a whole number >= 1\n", val);
                return 2;
            }
            a->top = (int)v;
        } else if (which == 1) {
            if (val[0] == '\0') {
                fprintf(stderr, "caviar report: --svg needs a directory\n%s", report_usage);
                return 2;
            }
            a->svg = val;
        } else if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(report_usage, stdout);
            return -1;
        } else if (opt[0] == '-' && opt[1] != '\0') {
            fprintf(stderr, "caviar report: unknown option '%s'\n%s", opt, report_usage);
            return 2;
        } else if (a->results == NULL) {
            a->results = opt;
        } else {
            fprintf(stderr, "caviar report: one results file expected, got '%s' and '%s'\n%s",
                    a->results, opt, report_usage);
            return 2;
        }
    }
    if (a->results == NULL) {
        fprintf(stderr, "caviar report: no results file given\n%s", report_usage);
        return 2;
    }
    return 0;
}

int cv_cmd_report(int argc, char **argv)
{
    report_args a = {0};
    int status = parse_args(argc, argv, &a);
    if (status != 0)
        return status < 0 ? 0 : status;

    cv_error err = {0};
    cv_store *store = NULL;
    cv_study st = {0};
    int rc;
    if ((rc = cv_store_open(&store, a.results, CV_STORE_READ, &err)) != 0 ||
        (rc = cv_study_load(&st, store, a.svg != NULL, &err)) != 0)
        goto done;
    if ((rc = cv_report_print(stdout, &st, a.top, &err)) != 0)
        goto done;
    if (a.svg != NULL) {
        fputc('\n', stdout);
        rc = cv_report_svg(&st, a.svg, a.top, stdout, &err);
    }
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
