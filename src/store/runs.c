/* runs.c: /runs, the provenance of a results file: one row per run on it
 * (caviar run, resume, train), saying when it began and what its figures
 * depend on: caviar's version, the BLAS kernels and threads, the CPU, the
 * ranks and their hosts (see caviar/store.h). */
#include <string.h>
#include <stdlib.h>

#include "store_int.h"

#define CV_RUNS_CHUNK 8

enum { R_STARTED, R_COMMAND, R_VERSION, R_CORE, R_THREADS, R_CPU, R_RANKS, R_HOSTS };

static void runs_layout(cv_layout *L)
{
    const cv_run_info *r = NULL;
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "started", CV_F_STR, sizeof r->started - 1);
    cv_layout_add(L, "command", CV_F_STR, sizeof r->command - 1);
    cv_layout_add(L, "caviar_version", CV_F_STR, sizeof r->caviar_version - 1);
    cv_layout_add(L, "blas_core", CV_F_STR, sizeof r->blas_core - 1);
    cv_layout_add(L, "blas_threads", CV_F_I32, 0);
    cv_layout_add(L, "cpu_model", CV_F_STR, sizeof r->cpu_model - 1);
    cv_layout_add(L, "ranks", CV_F_I32, 0);
    cv_layout_add(L, "hosts", CV_F_STR, sizeof r->hosts - 1);
}

static void run_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_run_info *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_str(rec, L, R_STARTED, r->started);
    cv_rec_put_str(rec, L, R_COMMAND, r->command);
    cv_rec_put_str(rec, L, R_VERSION, r->caviar_version);
    cv_rec_put_str(rec, L, R_CORE, r->blas_core);
    cv_rec_put_i32(rec, L, R_THREADS, r->blas_threads);
    cv_rec_put_str(rec, L, R_CPU, r->cpu_model);
    cv_rec_put_i32(rec, L, R_RANKS, r->ranks);
    cv_rec_put_str(rec, L, R_HOSTS, r->hosts);
}

static int run_unpack(void *row, const void *rec, const cv_layout *L, const char *path,
                      int64_t k, cv_error *err)
{
    (void)path, (void)k, (void)err;
    cv_run_info *r = row;
    memset(r, 0, sizeof *r);
    cv_rec_get_str(rec, L, R_STARTED, r->started, sizeof r->started);
    cv_rec_get_str(rec, L, R_COMMAND, r->command, sizeof r->command);
    cv_rec_get_str(rec, L, R_VERSION, r->caviar_version, sizeof r->caviar_version);
    cv_rec_get_str(rec, L, R_CORE, r->blas_core, sizeof r->blas_core);
    r->blas_threads = cv_rec_get_i32(rec, L, R_THREADS);
    cv_rec_get_str(rec, L, R_CPU, r->cpu_model, sizeof r->cpu_model);
    r->ranks = cv_rec_get_i32(rec, L, R_RANKS);
    cv_rec_get_str(rec, L, R_HOSTS, r->hosts, sizeof r->hosts);
    return 0;
}

int cv_store_create_runs(cv_store *s, cv_error *err)
{
    cv_layout L;
    runs_layout(&L);
    return cv_table_create(s, CV_RUNS, &L, CV_RUNS_CHUNK, &s->runs, err);
}

int cv_store_append_run(cv_store *s, const cv_run_info *run, cv_error *err)
{
    cv_layout L;
    runs_layout(&L);
    return cv_table_append(s, s->runs, CV_RUNS, &L, run, sizeof *run, 1, run_pack, err);
}

int cv_store_read_runs(cv_store *s, cv_run_info **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    runs_layout(&L);
    return cv_table_read_rows(s, s->runs, CV_RUNS, &L, sizeof **rows, run_unpack, (void **)rows,
                              n, err);
}
