/* provenance.c: what a run's figures depend on, recorded as a row of /runs
 * (see caviar/store.h), and the warning a resume owes when it runs on
 * another kind of machine than the file was started on: another CPU makes
 * OpenBLAS pick other kernels, whose sums differ in the last bits, so the
 * same job gives the same table only on one kind of machine. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/blas.h"
#include "caviar/format.h"
#include "run_int.h"

/* The longest host name one rank reports. */
#define HOST_LEN 64

int cv_provenance_hosts(MPI_Comm comm, char *hosts, size_t size)
{
    int rank = 0, ranks = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &ranks);
    char mine[HOST_LEN] = {0};
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS)
        snprintf(name, sizeof name, "unknown");
    snprintf(mine, sizeof mine, "%s", name);
    char *all = rank == 0 ? calloc((size_t)ranks, HOST_LEN) : NULL;
    int ok = rank != 0 || all != NULL; /* the gather needs room on rank 0 */
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
    if (!ok) {
        snprintf(hosts, size, "%s", mine);
        return -1;
    }
    MPI_Gather(mine, HOST_LEN, MPI_CHAR, all, HOST_LEN, MPI_CHAR, 0, comm);
    if (rank != 0)
        return 0;
    /* each host once, in order of first appearance, with its rank count */
    size_t used = 0;
    hosts[0] = '\0';
    for (int i = 0; i < ranks; i++) {
        const char *h = all + (size_t)i * HOST_LEN;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strncmp(h, all + (size_t)j * HOST_LEN, HOST_LEN) == 0;
        if (seen)
            continue;
        int count = 0;
        for (int j = i; j < ranks; j++)
            count += strncmp(h, all + (size_t)j * HOST_LEN, HOST_LEN) == 0;
        if (used < size)
            used += (size_t)snprintf(hosts + used, size - used, "%s%.*s x%d", used ? ", " : "",
                                     HOST_LEN, h, count);
    }
    free(all);
    return 0;
}

void cv_provenance_here(cv_run_info *r, const char *command, int ranks, int threads,
                        const char *hosts)
{
    memset(r, 0, sizeof *r);
    cv_format_now(r->started, sizeof r->started);
    snprintf(r->command, sizeof r->command, "%s", command);
    snprintf(r->caviar_version, sizeof r->caviar_version, "%s", CAVIAR_VERSION);
    snprintf(r->blas_core, sizeof r->blas_core, "%s", cv_blas_core());
    r->blas_threads = threads;
    cv_cpu_model(r->cpu_model, sizeof r->cpu_model);
    r->ranks = ranks;
    if (hosts != NULL) {
        snprintf(r->hosts, sizeof r->hosts, "%s", hosts);
    } else {
        char name[HOST_LEN] = "unknown";
        gethostname(name, sizeof name - 1);
        snprintf(r->hosts, sizeof r->hosts, "%s x1", name);
    }
}

bool cv_provenance_differs(const cv_run_info *first, const cv_run_info *here, char *why,
                           size_t size)
{
    bool core = strcmp(first->blas_core, here->blas_core) != 0;
    bool version = strcmp(first->caviar_version, here->caviar_version) != 0;
    if (!core && !version)
        return false;
    snprintf(why, size,
             "this results file was started with caviar %s on OpenBLAS's %s kernels (%s); this "
             "run uses caviar %s on %s kernels (%s): the trials it trains may differ in the last "
             "bits from those of an uninterrupted run, and so may the final table",
             first->caviar_version, first->blas_core, first->cpu_model, here->caviar_version,
             here->blas_core, here->cpu_model);
    return true;
}
