/* faultkill.c: fault injection for tests/integration/faults.sh, preloaded
 * into caviar (LD_PRELOAD; mpirun passes the environment to every rank).
 *
 * It wraps the library calls at which a study is most fragile and, when
 *
 *     CAVIAR_FAULT=FUNC:N[:after]
 *
 * is set, kills the whole study with SIGKILL at the N-th call of FUNC in this
 * process (before the real call, or right after it with ":after"): every
 * process of the caller's session (the test starts each study with setsid,
 * and mpirun's ranks share its session though not its process group), then
 * itself. That is a power cut at a chosen point: in the middle of an append
 * (H5Dwrite after H5Dset_extent), of a checkpoint write (H5Fcreate of the
 * temp file, rename), of the data broadcast (MPI_Bcast), of the final
 * gathering (H5Ocopy, H5Ldelete, H5Lcreate_soft, H5Dset_extent of the
 * rewrite), or of opening the file to resume (H5Fopen, H5Fstart_swmr_write,
 * H5Fincrement_filesize).
 *
 * With CAVIAR_FAULT_COUNT=PATH every process appends "pid FUNC calls" lines
 * for the wrapped functions to PATH at exit, so that the test can pick N
 * within what a run really does.
 *
 * Only calls from caviar into the libraries pass through here (HDF5's and
 * MPI's own internal calls do not go through the dynamic linker). */
#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <mpi.h>

enum {
    F_H5DWRITE,
    F_H5DFLUSH,
    F_H5DSET_EXTENT,
    F_H5FCREATE,
    F_H5FOPEN,
    F_H5FCLOSE,
    F_H5FSTART_SWMR_WRITE,
    F_H5FINCREMENT_FILESIZE,
    F_H5OCOPY,
    F_H5LDELETE,
    F_H5LCREATE_SOFT,
    F_RENAME,
    F_MPI_BCAST,
    F_COUNT
};

static const char *const names[F_COUNT] = {
    "H5Dwrite",  "H5Dflush",        "H5Dset_extent",        "H5Fcreate",
    "H5Fopen",   "H5Fclose",        "H5Fstart_swmr_write",  "H5Fincrement_filesize",
    "H5Ocopy",   "H5Ldelete",       "H5Lcreate_soft",       "rename",
    "MPI_Bcast",
};

static long calls[F_COUNT];
static int target = -1; /* the function to fail, or -1 */
static long target_n;
static int after; /* kill after the real call rather than before */
static int configured;

/* SIGKILL to every other process of our session, then to ourselves. */
static void kill_study(void)
{
    pid_t self = getpid(), sid = getsid(0);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self)
            continue;
        if (getsid((pid_t)pid) == sid)
            kill((pid_t)pid, SIGKILL);
    }
    if (d != NULL)
        closedir(d);
    kill(self, SIGKILL);
    _exit(137); /* not reached */
}

static void write_counts(void)
{
    const char *path = getenv("CAVIAR_FAULT_COUNT");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f == NULL)
        return;
    for (int i = 0; i < F_COUNT; i++)
        if (calls[i] > 0)
            fprintf(f, "%ld %s %ld\n", (long)getpid(), names[i], calls[i]);
    fclose(f);
}

static void configure(void)
{
    if (configured)
        return;
    configured = 1;
    if (getenv("CAVIAR_FAULT_COUNT") != NULL)
        atexit(write_counts);
    const char *spec = getenv("CAVIAR_FAULT");
    if (spec == NULL || spec[0] == '\0')
        return;
    char name[64];
    long n = 0;
    char how[16] = "";
    if (sscanf(spec, "%63[^:]:%ld:%15s", name, &n, how) < 2 || n < 1)
        return;
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            target = i;
    target_n = n;
    after = strcmp(how, "after") == 0;
}

/* Counts a call of f; kills now if it is the chosen one and comes before. */
static int enter(int f)
{
    configure();
    calls[f]++;
    int hit = f == target && calls[f] == target_n;
    if (hit && !after)
        kill_study();
    return hit;
}

static void leave(int hit)
{
    if (hit)
        kill_study();
}

/* The next definition of fn (the library's), looked up once. The pointer is
 * written through a void ** as POSIX prescribes for dlsym's functions. */
#define REAL(fn)                                                                    \
    static __typeof__(&fn) real_##fn;                                               \
    if (real_##fn == NULL)                                                          \
        *(void **)&real_##fn = dlsym(RTLD_NEXT, #fn)

herr_t H5Dwrite(hid_t dset, hid_t mtype, hid_t mspace, hid_t fspace, hid_t plist, const void *buf)
{
    int hit = enter(F_H5DWRITE);
    REAL(H5Dwrite);
    herr_t r = real_H5Dwrite(dset, mtype, mspace, fspace, plist, buf);
    leave(hit);
    return r;
}

herr_t H5Dflush(hid_t dset)
{
    int hit = enter(F_H5DFLUSH);
    REAL(H5Dflush);
    herr_t r = real_H5Dflush(dset);
    leave(hit);
    return r;
}

herr_t H5Dset_extent(hid_t dset, const hsize_t size[])
{
    int hit = enter(F_H5DSET_EXTENT);
    REAL(H5Dset_extent);
    herr_t r = real_H5Dset_extent(dset, size);
    leave(hit);
    return r;
}

hid_t H5Fcreate(const char *name, unsigned flags, hid_t fcpl, hid_t fapl)
{
    int hit = enter(F_H5FCREATE);
    REAL(H5Fcreate);
    hid_t r = real_H5Fcreate(name, flags, fcpl, fapl);
    leave(hit);
    return r;
}

hid_t H5Fopen(const char *name, unsigned flags, hid_t fapl)
{
    int hit = enter(F_H5FOPEN);
    REAL(H5Fopen);
    hid_t r = real_H5Fopen(name, flags, fapl);
    leave(hit);
    return r;
}

herr_t H5Fclose(hid_t file)
{
    int hit = enter(F_H5FCLOSE);
    REAL(H5Fclose);
    herr_t r = real_H5Fclose(file);
    leave(hit);
    return r;
}

herr_t H5Fstart_swmr_write(hid_t file)
{
    int hit = enter(F_H5FSTART_SWMR_WRITE);
    REAL(H5Fstart_swmr_write);
    herr_t r = real_H5Fstart_swmr_write(file);
    leave(hit);
    return r;
}

herr_t H5Fincrement_filesize(hid_t file, hsize_t increment)
{
    int hit = enter(F_H5FINCREMENT_FILESIZE);
    REAL(H5Fincrement_filesize);
    herr_t r = real_H5Fincrement_filesize(file, increment);
    leave(hit);
    return r;
}

herr_t H5Ocopy(hid_t src, const char *src_name, hid_t dst, const char *dst_name, hid_t ocpypl,
               hid_t lcpl)
{
    int hit = enter(F_H5OCOPY);
    REAL(H5Ocopy);
    herr_t r = real_H5Ocopy(src, src_name, dst, dst_name, ocpypl, lcpl);
    leave(hit);
    return r;
}

herr_t H5Ldelete(hid_t loc, const char *name, hid_t lapl)
{
    int hit = enter(F_H5LDELETE);
    REAL(H5Ldelete);
    herr_t r = real_H5Ldelete(loc, name, lapl);
    leave(hit);
    return r;
}

herr_t H5Lcreate_soft(const char *target_path, hid_t loc, const char *name, hid_t lcpl,
                      hid_t lapl)
{
    int hit = enter(F_H5LCREATE_SOFT);
    REAL(H5Lcreate_soft);
    herr_t r = real_H5Lcreate_soft(target_path, loc, name, lcpl, lapl);
    leave(hit);
    return r;
}

int rename(const char *from, const char *to)
{
    int hit = enter(F_RENAME);
    REAL(rename);
    int r = real_rename(from, to);
    leave(hit);
    return r;
}

int MPI_Bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm)
{
    int hit = enter(F_MPI_BCAST);
    int r = PMPI_Bcast(buf, count, type, root, comm);
    leave(hit);
    return r;
}
