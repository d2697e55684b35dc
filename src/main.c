/* main.c: the caviar executable: picks the subcommand and hands over. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/blas.h"
#include "caviar/isolate.h"
#include "commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    /* The results file the command reads, for run_command: "" its
     * positional argument when that names a file, "--from" the value of that
     * option (run in this process when absent); NULL: the command runs in
     * this process. args: the command's argument table, where reads is set. */
    const char *reads;
    const cv_args_spec *args;
} command;

static const command commands[] = {
    {"run", cv_cmd_run,
     "run JOB.yaml [-o RESULTS.h5] [--time-limit SECONDS] [--threads-per-worker N] [--force]\n"
     "                                                              a study, under mpirun (1 rank: sequential)", NULL, NULL},
    {"resume", cv_cmd_resume,
     "resume RESULTS.h5 [--time-limit SECONDS] [--threads-per-worker N]\n"
     "                                                              finish an interrupted study", NULL, NULL},
    {"report", cv_cmd_report,
     "report RESULTS.h5 [--top K] [--svg DIR]              leaderboard, what matters, next region, figures",
     "", &cv_report_args},
    {"watch", cv_cmd_watch,
     "watch RESULTS.h5 [--interval S] [--top K]            live leaderboard of a running study", "",
     &cv_watch_args},
    {"train", cv_cmd_train,
     "train JOB.yaml [--set NAME=VALUE]... [--threads N]   train one configuration (panda mode)\n"
     "         [-o RESULTS.h5 [--force]]                            ... into a results file\n"
     "  caviar train --from RESULTS.h5 --trial N|best [--set NAME=VALUE]... [-o OUT.h5]\n"
     "                                                              continue a trial from its checkpoint",
     "--from", &cv_train_args},
    {"predict", cv_cmd_predict,
     "predict RESULTS.h5 [--trial N|best] [--data test|PATH] [-o PRED.csv]\n"
     "                                                              apply a kept checkpoint to a data set",
     "", &cv_predict_args},
    {"validate", cv_cmd_validate,
     "validate JOB.yaml                                    parse, check, print the search space", NULL, NULL},
    {"sample", cv_cmd_sample,
     "sample JOB.yaml [-n N] [--round R] [--all]           the configurations a study would try (CSV)", NULL, NULL},
};

/* ---- commands that read results files, in a child process ----------------------
 * Before caviar reads a results file, a child process reads all of it
 * (cv_store_open), so that HDF5's crashes on damaged files end that child.
 * Some crashes depend on where HDF5's out-of-bounds reads land, which differs
 * from one process to the next; so the commands that read a results file
 * given to them (report, watch, predict, train --from) run in a child of
 * their own too, and a crash there is reported like bad input, naming that
 * file. (run and resume, MPI programs, are not: a crash in resume leaves
 * the file as a kill -9 would, which the next resume copes with.) */

typedef struct isolated_cmd {
    const command *cmd;
    int argc;
    char **argv;
    int status; /* the command's exit status */
} isolated_cmd;

static int cmd_work(void *arg, cv_error *err)
{
    (void)err;
    isolated_cmd *c = arg;
    c->status = c->cmd->run(c->argc, c->argv);
    fflush(NULL); /* the child leaves with _exit */
    return 0;
}

static int cmd_send(void *arg, int fd)
{
    return cv_write_all(fd, &((isolated_cmd *)arg)->status, sizeof(int));
}

static int cmd_receive(void *arg, int fd, cv_error *err)
{
    (void)err;
    return cv_read_all(fd, &((isolated_cmd *)arg)->status, sizeof(int)) < 0 ? 1 : 0;
}

/* The results file cmd reads (see command.reads), or NULL. Read from the
 * command's table without checking the arguments: the command does that. */
static const char *results_arg(const command *cmd, int argc, char **argv)
{
    if (cmd->reads[0] != '\0')
        return cv_args_peek(cmd->args, argc, argv, cmd->reads);
    const char *file = cv_args_peek(cmd->args, argc, argv, NULL);
    struct stat st;
    return file != NULL && stat(file, &st) == 0 && S_ISREG(st.st_mode) ? file : NULL;
}

static int run_command(const command *cmd, int argc, char **argv)
{
    const char *file = cmd->reads != NULL ? results_arg(cmd, argc, argv) : NULL;
    if (file == NULL)
        return cmd->run(argc, argv);
    isolated_cmd c = {cmd, argc, argv, 1};
    cv_isolated r = {.work = cmd_work,
                     .send = cmd_send,
                     .receive = cmd_receive,
                     .arg = &c,
                     .why = "damaged HDF5 file, or a bug in caviar: the command crashed",
                     .forward_signals = true};
    cv_error err = {0};
    if (cv_isolate(&r, file, &err) != 0) {
        fprintf(stderr, "caviar %s: %s\n", cmd->name, err.msg);
        return cv_exit_status(err.code);
    }
    return c.status;
}

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
            return run_command(&commands[i], argc - 1, argv + 1);
    fprintf(stderr, "caviar: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
