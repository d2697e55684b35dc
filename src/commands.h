/* commands.h: the subcommands of the caviar executable. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit status: 0 success, 1 runtime failure, 2 bad usage or input.
 * Each reads its arguments with cv_args_parse (args.h) from a table of its
 * own; the tables of the commands that read a results file they are given
 * are public, for main to find that file (cv_args_peek). */
#ifndef CAVIAR_COMMANDS_H
#define CAVIAR_COMMANDS_H

#include "args.h"

int cv_cmd_train(int argc, char **argv);
int cv_cmd_predict(int argc, char **argv);
int cv_cmd_validate(int argc, char **argv);
int cv_cmd_sample(int argc, char **argv);
int cv_cmd_run(int argc, char **argv);
int cv_cmd_resume(int argc, char **argv);
int cv_cmd_report(int argc, char **argv);
int cv_cmd_watch(int argc, char **argv);

extern const cv_args_spec cv_train_args;
extern const cv_args_spec cv_predict_args;
extern const cv_args_spec cv_report_args;
extern const cv_args_spec cv_watch_args;

#endif
