/* fuzz_results.c: the results-file reader on arbitrary bytes.
 *
 * The input is written to results.h5 and read as `caviar report`, `caviar
 * predict` and `caviar resume` read a results file: cv_store_open (read
 * only), the stored job, /trials, /curves, /rounds, /data, the run times,
 * then the best checkpoint's description and weights, and the checkpoint of
 * the first trial row. Everything must either work or fail with a message.
 *
 * After each input every HDF5 object must be closed again: an identifier
 * leaked on an error path would keep the file open inside HDF5, which would
 * then serve the next input's reads from the stale open file.
 *
 * A checkpoint's network is only built when it is small (the harness's
 * limit, not caviar's: a forged file can describe a network of any size, and
 * building it is then a legitimate large allocation). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/isolate.h"
#include "caviar/nn.h"
#include "caviar/store.h"
#include "caviar/train.h"
#include "fuzz.h"

/* Networks up to this many weights are built and loaded. */
#define MAX_WEIGHTS (1 << 20)

static void need_message(int rc, const cv_error *err)
{
    if (rc != 0 && err->msg[0] == '\0')
        abort(); /* a failure must say why */
}

static void load(cv_store *s, int64_t trial)
{
    cv_checkpoint_info info;
    cv_error err = {0};
    int rc = cv_store_checkpoint_info(s, trial, &info, &err);
    need_message(rc, &err);
    if (rc != 0)
        return;
    double weights = (double)info.inputs * info.config.hidden_units +
                     (double)info.config.layers * info.config.hidden_units *
                         info.config.hidden_units +
                     (double)info.config.hidden_units * info.classes;
    if (weights > MAX_WEIGHTS || info.config.layers > 64)
        return;
    cv_error nerr = {0};
    cv_nn *net = cv_nn_create(&info.config, info.inputs, info.classes, 2, &nerr);
    need_message(net == NULL ? -1 : 0, &nerr);
    if (net == NULL)
        return;
    cv_error lerr = {0};
    rc = cv_store_load_checkpoint(s, trial, net, &lerr);
    need_message(rc, &lerr);
    cv_nn_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cv_isolation_enable(false); /* HDF5's own crashes must show here */
    const char *path = cv_fuzz_write("results.h5", data, size);
    cv_store *s = NULL;
    cv_error err = {0};
    int rc = cv_store_open(&s, path, CV_STORE_READ, &err);
    need_message(rc, &err);
    if (rc == 0) {
        cv_error e1 = {0}, e2 = {0}, e3 = {0}, e4 = {0}, e5 = {0}, e6 = {0}, e7 = {0};
        cv_job job;
        rc = cv_job_parse(&job, cv_store_job_path(s), cv_store_job_text(s),
                          strlen(cv_store_job_text(s)), &e1);
        need_message(rc, &e1);
        if (rc == 0)
            cv_job_free(&job);

        cv_trial_row *rows = NULL;
        int64_t n = 0;
        rc = cv_store_read_trials(s, &rows, &n, &e2);
        need_message(rc, &e2);
        cv_curve_row *curves = NULL;
        int64_t nc = 0;
        need_message(cv_store_read_curves(s, &curves, &nc, &e3), &e3);
        free(curves);
        cv_round_row *rounds = NULL;
        int64_t nr = 0;
        need_message(cv_store_read_rounds(s, &rounds, &nr, &e4), &e4);
        free(rounds);
        need_message(cv_store_round_count(s, &nr, &e4), &e4);
        cv_store_data d;
        rc = cv_store_read_data(s, &d, &e5);
        need_message(rc, &e5);
        if (rc == 0)
            cv_store_data_free(&d);
        cv_store_times t;
        need_message(cv_store_read_times(s, &t, &e6), &e6);
        need_message(cv_store_refresh(s, &e7), &e7);

        load(s, CV_STORE_BEST);
        if (n > 0)
            load(s, rows[0].trial);
        free(rows);
        cv_error cerr = {0};
        rc = cv_store_close(s, &cerr);
        need_message(rc, &cerr);
    }
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
        fprintf(stderr, "fuzz_results: %zd HDF5 objects left open\n", open);
        abort();
    }
    return 0;
}
