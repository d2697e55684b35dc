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
 * send and receive may both be NULL when nothing crosses back (a probe that
 * only has to survive).
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
    double seconds;  /* how long work may take in the child (damaged files can
                        make HDF5 loop forever); 0: no limit */
    size_t memory;   /* how much address space the child may map beyond what
                        it inherits, in bytes (a damaged length can make HDF5
                        fill all memory); 0: no limit. Not applied under
                        AddressSanitizer, which maps terabytes of shadow */
    const char *why; /* what a crash or an overrun says of the file, after
                        "PATH: " ("damaged HDF5 file: ...") */
    bool forward_signals; /* the child is the program's real work (a whole
                        command): SIGINT, SIGTERM, SIGHUP and SIGUSR1 sent to
                        this process go to the child, which meets them as this
                        process would have; if they end it, they end this
                        process too */
} cv_isolated;

/* Whether readers run in a child process: on by default; off in the fuzz
 * targets, which must see HDF5's own crashes. Process-wide. */
void cv_isolation_enable(bool on);
bool cv_isolation_enabled(void);

/* Runs r->work in a child process and r->receive here, or r->work here
 * (isolation off, or when no process can be started). Returns 0 with the
 * result in r->arg; work's or receive's own status and message when it
 * failed. When the child died of a crash (SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
 * SIGILL, SIGSYS), or work ran longer than r->seconds (the child is then
 * killed), returns CV_ERR_INPUT with the message "PATH: WHY (the process
 * reading it died of SIGSEGV)" or "PATH: WHY (the process reading it was
 * stopped after N s)". A child killed from outside (SIGKILL, SIGTERM) is
 * CV_ERR_RUNTIME. */
int cv_isolate(const cv_isolated *r, const char *path, cv_error *err);

/* Writes (reads) exactly n bytes to (from) fd, retrying after signals and
 * short transfers. Return 0, or -1 on an error or (reading) an early end. */
int cv_write_all(int fd, const void *buf, size_t n);
int cv_read_all(int fd, void *buf, size_t n);

#endif
