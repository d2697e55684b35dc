/* args.c: the one parser of the subcommands' arguments (see args.h): each
 * argument is classified against the command's table (next_arg), then
 * stored (cv_args_parse) or only looked at (cv_args_peek). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/store.h"
#include "args.h"

/* What one argument is. */
typedef enum arg_class {
    ARG_POSITIONAL, /* not an option: "-", or anything not starting with '-' */
    ARG_HELP,       /* --help or -h */
    ARG_OPTION,     /* an option of the table, with its value if it takes one */
    ARG_NO_VALUE,   /* an option that takes a value, without one (or an empty one) */
    ARG_UNKNOWN,    /* an option not in the table */
} arg_class;

typedef struct arg {
    arg_class what;
    const char *text;      /* the argument as given */
    int len;               /* an option's name as typed: text[0..len), without "=VALUE" */
    const cv_arg_opt *opt; /* ARG_OPTION, ARG_NO_VALUE: its entry in the table */
    const char *value;     /* ARG_OPTION: its value, NULL for a flag */
} arg;

/* Whether the first n characters of text spell name. */
static bool spells(const char *name, const char *text, size_t n)
{
    return name != NULL && strlen(name) == n && strncmp(name, text, n) == 0;
}

/* Classifies argv[*i]; an option's value in the next argument moves *i on. */
static arg next_arg(const cv_args_spec *spec, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    arg r = {.what = ARG_UNKNOWN, .text = a, .len = (int)strlen(a)};
    if (a[0] != '-' || a[1] == '\0') {
        r.what = ARG_POSITIONAL;
        return r;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        r.what = ARG_HELP;
        return r;
    }
    const char *eq = strchr(a, '=');
    size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
    for (int k = 0; k < spec->n_opts; k++) {
        const cv_arg_opt *o = &spec->opts[k];
        bool takes = o->kind != CV_ARG_FLAG;
        if (!spells(o->name, a, n) && !spells(o->alias, a, n))
            continue;
        if (eq != NULL && !takes)
            return r; /* --force=yes: no such option */
        r.opt = o;
        r.len = (int)n;
        if (eq != NULL)
            r.value = eq + 1;
        else if (takes && *i + 1 < argc)
            r.value = argv[++*i];
        r.what = takes && (r.value == NULL || r.value[0] == '\0') ? ARG_NO_VALUE : ARG_OPTION;
        return r;
    }
    return r;
}

/* What a bad value of o should have been, in words. */
static void expected(const cv_arg_opt *o, char *buf, size_t size)
{
    if (o->expected != NULL)
        snprintf(buf, size, "%s", o->expected);
    else if (o->kind == CV_ARG_INT)
        snprintf(buf, size, "an integer in [%lld, %lld]", (long long)o->lo, (long long)o->hi);
    else if (o->kind == CV_ARG_NUMBER)
        snprintf(buf, size, "a number in [%g, %g]", o->lo, o->hi);
    else
        snprintf(buf, size, "a trial number or 'best'");
}

/* Stores option a's value into the command's struct at base; 0, or 2 after
 * saying what the value should have been. */
static int store(const cv_args_spec *spec, const arg *a, char *base)
{
    const cv_arg_opt *o = a->opt;
    void *field = base + o->offset;
    const char *v = a->value;
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CV_ARG_FLAG: *(bool *)field = true; return 0;
    case CV_ARG_STRING: *(const char **)field = v; return 0;
    case CV_ARG_LIST: {
        int *count = (int *)(base + o->count);
        (*(const char ***)field)[(*count)++] = v;
        return 0;
    }
    case CV_ARG_INT: {
        long long x = strtoll(v, &end, 10);
        if (end != v && *end == '\0' && errno == 0 && x >= (long long)o->lo &&
            x <= (long long)o->hi) {
            *(int *)field = (int)x;
            return 0;
        }
        break;
    }
    case CV_ARG_NUMBER: {
        double x = strtod(v, &end);
        if (end != v && *end == '\0' && errno == 0 && x >= o->lo && x <= o->hi) {
            *(double *)field = x;
            return 0;
        }
        break;
    }
    case CV_ARG_TRIAL: {
        if (strcmp(v, "best") == 0) {
            *(int64_t *)field = CV_STORE_BEST;
            return 0;
        }
        long long x = strtoll(v, &end, 10);
        if (end != v && *end == '\0' && errno == 0 && x >= 0) {
            *(int64_t *)field = x;
            return 0;
        }
        break;
    }
    }
    char words[96];
    expected(o, words, sizeof words);
    fprintf(stderr, "caviar %s: %.*s %s: expected %s\n", spec->command, a->len, a->text, v, words);
    return 2;
}

int cv_args_fail(const cv_args_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caviar %s: ", spec->command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", spec->usage);
    va_end(ap);
    return 2;
}

int cv_args_parse(const cv_args_spec *spec, int argc, char **argv, void *out)
{
    char *base = out;
    const char **positional = (const char **)(base + spec->positional_offset);
    for (int i = 1; i < argc; i++) {
        arg a = next_arg(spec, argc, argv, &i);
        switch (a.what) {
        case ARG_HELP: fputs(spec->usage, stdout); return CV_ARGS_HELP;
        case ARG_UNKNOWN: return cv_args_fail(spec, "unknown option '%s'", a.text);
        case ARG_NO_VALUE: return cv_args_fail(spec, "%.*s needs a value", a.len, a.text);
        case ARG_OPTION:
            if (store(spec, &a, base) != 0)
                return 2;
            break;
        case ARG_POSITIONAL:
            if (*positional != NULL)
                return cv_args_fail(spec, "one %s expected, got '%s' and '%s'", spec->positional,
                                    *positional, a.text);
            *positional = a.text;
            break;
        }
    }
    if (*positional == NULL && !spec->positional_optional)
        return cv_args_fail(spec, "no %s given", spec->positional);
    return 0;
}

const char *cv_args_peek(const cv_args_spec *spec, int argc, char **argv, const char *name)
{
    const char *found = NULL;
    for (int i = 1; i < argc; i++) {
        arg a = next_arg(spec, argc, argv, &i);
        if (name == NULL && a.what == ARG_POSITIONAL)
            return a.text;
        if (name != NULL && a.what == ARG_OPTION && strcmp(a.opt->name, name) == 0)
            found = a.value;
    }
    return found;
}
