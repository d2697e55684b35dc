/* caviar/error.h: status codes and the error record every module fills.
 *
 * Library functions return 0 on success or a negative cv_status. When they
 * fail they also write a one-line message into a caller-provided cv_error,
 * naming the file, the place in it (line:column, dataset, offset) and what was
 * expected. Only main() turns a status into an exit code (cv_exit_status). */
#ifndef CAVIAR_ERROR_H
#define CAVIAR_ERROR_H

#include <stddef.h>

typedef enum cv_status {
    CV_OK = 0,
    CV_ERR_RUNTIME = -1, /* something failed while running: exit 1 */
    CV_ERR_INPUT = -2,   /* bad usage or bad input (file, option, value): exit 2 */
    CV_ERR_NOMEM = -3,   /* out of memory: exit 1 */
    CV_ERR_IO = -4,      /* an output could not be written: exit 1 */
} cv_status;

typedef struct cv_error {
    int code;       /* the cv_status of the failure, CV_OK when none */
    char msg[1024]; /* "file:line:column: what was expected" */
} cv_error;

/* Records a failure in err (which may be NULL) and returns code, so that a
 * caller can write `return cv_fail(err, CV_ERR_INPUT, "%s: ...", path);`.
 * A second failure recorded on top of a first one is ignored: the first
 * message is the cause. */
int cv_fail(cv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err so it can be reused. */
void cv_error_clear(cv_error *err);

/* The process exit status for a status code: 0, 1 or 2. */
int cv_exit_status(int code);

#endif
