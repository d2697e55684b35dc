/* commands.h: the subcommands of the caviar executable. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit status: 0 success, 1 runtime failure, 2 bad usage or input. */
#ifndef CAVIAR_COMMANDS_H
#define CAVIAR_COMMANDS_H

int cv_cmd_train(int argc, char **argv);
int cv_cmd_predict(int argc, char **argv);
int cv_cmd_validate(int argc, char **argv);
int cv_cmd_sample(int argc, char **argv);
int cv_cmd_run(int argc, char **argv);
int cv_cmd_resume(int argc, char **argv);
int cv_cmd_report(int argc, char **argv);
int cv_cmd_watch(int argc, char **argv);

#endif
