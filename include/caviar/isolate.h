/* caviar/isolate.h: running a reader that may crash in a child process.
 *
 * HDF5 1.10 trusts some internal structures of the files it reads (object
 * headers, group B-trees), and a few damaged files make the library itself
 * crash, whatever caviar checks first. caviar reads HDF5 files people bring
 * from elsewhere, so it runs such a reader in a forked child that hands its
 * result back through a pipe: a crash then ends the child, not caviar, and
 * becomes an error message naming the file (exit 2), and the parent never
 * touches the damaged file's structures itself.
 *
 * The reader is three functions over one caller-owned state (arg):
 *   work     reads into arg: 0 or a negative cv_status with its message;
 *   send     writes what work read to fd (in the child, after work succeeded);
 *   receive  reads it from fd into the parent's arg.
 * Called in the parent, work alone does the whole job: that is the
 * in-process mode (isolation off, or no process could be started). */
#ifndef CAVIAR_ISOLATE_H
#define CAVIAR_ISOLATE_H

#include <stdbool.h>

#include "caviar/error.h"

typedef struct cv_isolated {
    int (*work)(void *arg, cv_error *err);
    int (*send)(void *arg, int fd);                   /* 0, or -1 if writing failed */
    int (*receive)(void *arg, int fd, cv_error *err); /* 0 or a negative cv_status */
    void *arg;
} cv_isolated;

/* Runs r->work in a child process and r->receive here (isolated), or
 * r->work here (!isolated, or when no process can be started). Returns 0
 * with the result in r->arg; work's or receive's own status and message
 * when it failed; or, when the child died of a crash (SIGSEGV, SIGBUS,
 * SIGABRT, SIGFPE, SIGILL, SIGSYS), CV_ERR_INPUT with the message
 * "PATH: CRASH_MSG (the process reading it died of SIGSEGV)". A child
 * killed from outside (SIGKILL, SIGTERM) is CV_ERR_RUNTIME. */
int cv_isolate(const cv_isolated *r, bool isolated, const char *path, const char *crash_msg,
               cv_error *err);

/* Writes (reads) exactly n bytes to (from) fd, retrying after signals and
 * short transfers. Return 0, or -1 on an error or (reading) an early end. */
int cv_write_all(int fd, const void *buf, size_t n);
int cv_read_all(int fd, void *buf, size_t n);

#endif
