/* main.c: the caviar executable: picks the subcommand and hands over. */
#include <stdio.h>
#include <string.h>

#include "caviar/blas.h"
#include "commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} command;

static const command commands[] = {
    {"run", cv_cmd_run,
     "run JOB.yaml [-o RESULTS.h5] [--time-limit SECONDS] [--threads-per-worker N] [--force]\n"
     "                                                              a study, under mpirun (1 rank: sequential)"},
    {"resume", cv_cmd_resume,
     "resume RESULTS.h5 [--time-limit SECONDS] [--threads-per-worker N]\n"
     "                                                              finish an interrupted study"},
    {"report", cv_cmd_report,
     "report RESULTS.h5 [--top K] [--svg DIR]              leaderboard, what matters, next region, figures"},
    {"watch", cv_cmd_watch,
     "watch RESULTS.h5 [--interval S] [--top K]            live leaderboard of a running study"},
    {"train", cv_cmd_train,
     "train JOB.yaml [--set NAME=VALUE]... [--threads N]   train one configuration (panda mode)\n"
     "         [-o RESULTS.h5 [--force]]                            ... into a results file\n"
     "  caviar train --from RESULTS.h5 --trial N|best [--set NAME=VALUE]... [-o OUT.h5]\n"
     "                                                              continue a trial from its checkpoint"},
    {"predict", cv_cmd_predict,
     "predict RESULTS.h5 [--trial N|best] [--data test|PATH] [-o PRED.csv]\n"
     "                                                              apply a kept checkpoint to a data set"},
    {"validate", cv_cmd_validate,
     "validate JOB.yaml                                    parse, check, print the search space"},
    {"sample", cv_cmd_sample,
     "sample JOB.yaml [-n N] [--round R] [--all]           the configurations a study would try (CSV)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: caviar COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  caviar %s\n", commands[i].usage);
    fprintf(out, "  caviar --help | --version\n\n"
                 "exit status: 0 success, 1 runtime failure, 2 bad usage or bad input\n");
}

int main(int argc, char **argv)
{
    cv_blas_setup(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("caviar %s\n", CAVIAR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "caviar: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
