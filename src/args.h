/* args.h: the command line of a subcommand, described by a table and read by
 * one parser, so that every command accepts its arguments the same way and
 * says the same things about bad ones.
 *
 * A command describes its options (cv_arg_opt), its one positional argument
 * and its usage text in a cv_args_spec; the parser stores what it reads into
 * the command's own argument struct, at the offsets the table gives. An
 * option takes its value as "--opt VALUE" or "--opt=VALUE" (under either of
 * its spellings); options and the positional argument come in any order;
 * "-" is a positional argument (standard input or output); --help and -h
 * print the usage on standard output. */
#ifndef CAVIAR_ARGS_H
#define CAVIAR_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* What an option's value is, and the type of its field in the command's
 * argument struct. */
typedef enum cv_arg_kind {
    CV_ARG_FLAG,   /* no value: bool, set true */
    CV_ARG_STRING, /* const char *: the value as given */
    CV_ARG_INT,    /* int: a whole decimal number in [lo, hi] */
    CV_ARG_NUMBER, /* double: a number in [lo, hi] */
    CV_ARG_TRIAL,  /* int64_t: a trial number (>= 0), or "best": CV_STORE_BEST */
    CV_ARG_LIST,   /* repeated: const char **, room for argc values, each
                    * value appended; their number in the int at count */
} cv_arg_kind;

typedef struct cv_arg_opt {
    const char *name;     /* as the usage writes it: "--top", "-n" */
    const char *alias;    /* another spelling ("-o" for "--output"), or NULL */
    cv_arg_kind kind;
    size_t offset;        /* where the value goes: offsetof(the struct, field) */
    double lo, hi;        /* CV_ARG_INT, CV_ARG_NUMBER: the values allowed */
    const char *expected; /* what a bad value hears it should be, instead of
                           * the kind's own words ("an integer in [1, 1024]") */
    size_t count;         /* CV_ARG_LIST: the offset of the number of values */
} cv_arg_opt;

/* A command's arguments: its options and its one positional argument. */
typedef struct cv_args_spec {
    const char *command;      /* "report": messages begin "caviar report: " */
    const char *usage;        /* printed by --help, and after a usage error */
    const cv_arg_opt *opts;   /* (n_opts) */
    int n_opts;
    const char *positional;   /* what the positional argument is: "job file" */
    size_t positional_offset; /* where it goes (const char *) */
    bool positional_optional; /* it may be left out (the command then checks) */
} cv_args_spec;

/* cv_args_parse's status after --help or -h printed the usage: exit 0. */
#define CV_ARGS_HELP (-1)

/* Reads argv[1..argc) into out, the command's argument struct, which holds
 * the defaults (and NULL for the positional argument). Returns 0 when the
 * command should go on; CV_ARGS_HELP after printing the usage on standard
 * output; 2 (bad usage) after printing on standard error what was wrong
 * ("caviar report: unknown option '--bogus'", "... --top needs a value",
 * "... --top 0: expected a whole number >= 1", "... one results file
 * expected, got 'a.h5' and 'b.h5'", "... no results file given"), followed
 * by the usage except after a bad value. Arguments are read in order and the
 * first problem stops the parse; an option given twice keeps the last value. */
int cv_args_parse(const cv_args_spec *spec, int argc, char **argv, void *out);

/* Prints "caviar COMMAND: " and the message on standard error, then the
 * usage; returns 2. For the rules between arguments a command checks
 * itself after cv_args_parse. */
__attribute__((format(printf, 2, 3))) int cv_args_fail(const cv_args_spec *spec,
                                                       const char *fmt, ...);

/* The value of option name in argv (the last one given), or with name NULL
 * the positional argument (the first one), or NULL when there is none.
 * Checks nothing and prints nothing, so that it answers even on arguments
 * cv_args_parse would refuse: for main, to find the file a command reads
 * before the command runs. */
const char *cv_args_peek(const cv_args_spec *spec, int argc, char **argv, const char *name);

#endif
