/* root.c: what a results file says about its study: the root attributes
 * (format, version, the job and where it was read, the metric, when and on
 * how many ranks it was created, how long its runs took) and /data (the
 * standardization fitted on the training split and the split sizes).
 * Written when the file is created (and as each run ends), checked and read
 * when it is opened; see caviar/store.h for the layout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/format.h"
#include "store_int.h"

/* ---- the root attributes ------------------------------------------------------ */

int cv_store_write_root(cv_store *s, const cv_job *job, int ranks, cv_error *err)
{
    char created[32];
    cv_format_now(created, sizeof created);
    int32_t version = CV_STORE_FORMAT_VERSION, nranks = ranks;
    uint64_t seed = job->search.seed;
    struct {
        const char *name;
        const char *value;
    } strs[] = {{"format", CV_STORE_FORMAT},
                {"caviar_version", CAVIAR_VERSION},
                {"job", s->job_text},
                {"job_path", s->job_path},
                {"metric", cv_metric_name(job->search.metric)},
                {"name", job->name ? job->name : ""},
                {"created", created}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (cv_h5_attr_put_str(s->file, strs[i].name, strs[i].value) < 0)
            return cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the root attribute %s", s->path,
                              strs[i].name);
    if (cv_h5_attr_put(s->file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, &version) < 0 ||
        cv_h5_attr_put(s->file, "ranks", H5T_STD_I32LE, H5T_NATIVE_INT32, &nranks) < 0 ||
        cv_h5_attr_put(s->file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &seed) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the root attributes", s->path);
    return 0;
}

int cv_store_read_root(cv_store *s, cv_error *err)
{
    const char *path = s->path;
    int ret = 0;
    char *format = NULL;
    htri_t has = H5Aexists(s->file, "format");
    if (has < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attributes", path);
        goto done;
    }
    if (has == 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: not a caviar results file (no 'format' attribute)",
                      path);
        goto done;
    }
    if (cv_h5_attr_get_str(s->file, "format", &format) < 0 ||
        strcmp(format, CV_STORE_FORMAT) != 0) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: not a caviar results file (format is '%s', expected '%s')", path,
                      format ? format : "?", CV_STORE_FORMAT);
        goto done;
    }
    int32_t version = 0;
    if (cv_h5_attr_get(s->file, "format_version", H5T_NATIVE_INT32, &version) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: no readable root attribute format_version",
                         path);
        goto done;
    }
    if (version < 1 || version > CV_STORE_FORMAT_VERSION) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: format_version %d: this caviar reads results files of version %d",
                      path, (int)version, CV_STORE_FORMAT_VERSION);
        goto done;
    }
    if (cv_h5_attr_get_str(s->file, "job", &s->job_text) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: no readable root attribute job", path);
        goto done;
    }
    htri_t has_path = H5Aexists(s->file, "job_path");
    if (has_path > 0 && cv_h5_attr_get_str(s->file, "job_path", &s->job_path) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attribute job_path", path);
        goto done;
    }
    if (s->job_path == NULL && (s->job_path = strdup(path)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    /* The metric ranks checkpoints when there is no /best yet. Files written
     * before the attribute existed (caviar 0.1.0) rank by dev_accuracy. */
    char *metric = NULL;
    if (H5Aexists(s->file, "metric") > 0 && cv_h5_attr_get_str(s->file, "metric", &metric) == 0) {
        int m = cv_metric_lookup(metric);
        s->metric = m >= 0 ? (cv_metric)m : CV_METRIC_DEV_ACCURACY;
    }
    free(metric);
done:
    free(format);
    return ret;
}

/* ---- run times -------------------------------------------------------------- */

/* Reads the float64 root attribute name into *v (NaN when absent): 0 or -1. */
static int get_seconds(hid_t file, const char *name, double *v)
{
    *v = NAN;
    htri_t has = H5Aexists(file, name);
    if (has < 0)
        return -1;
    return has > 0 ? cv_h5_attr_get(file, name, H5T_NATIVE_DOUBLE, v) : 0;
}

/* (Re)writes a root attribute: an existing one of that name goes first. */
static int replace_attr(hid_t file, const char *name)
{
    htri_t has = H5Aexists(file, name);
    return has < 0 || (has > 0 && H5Adelete(file, name) < 0) ? -1 : 0;
}

int cv_store_add_run_time(cv_store *s, double wall, int workers, cv_error *err)
{
    if (!s->writable || s->swmr_write)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: run times are written outside SWMR mode, by the file's writer",
                       s->path);
    double total = 0, worker_total = 0;
    if (get_seconds(s->file, "wall_seconds", &total) < 0 ||
        get_seconds(s->file, "worker_seconds", &worker_total) < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attributes "
                          "wall_seconds, worker_seconds", s->path);
    total = (isfinite(total) ? total : 0) + wall;
    worker_total = (isfinite(worker_total) ? worker_total : 0) + wall * workers;
    char finished[32];
    cv_format_now(finished, sizeof finished);
    if (replace_attr(s->file, "wall_seconds") < 0 ||
        cv_h5_attr_put(s->file, "wall_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &total) < 0 ||
        replace_attr(s->file, "worker_seconds") < 0 ||
        cv_h5_attr_put(s->file, "worker_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       &worker_total) < 0 ||
        replace_attr(s->file, "finished") < 0 ||
        cv_h5_attr_put_str(s->file, "finished", finished) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the root attributes wall_seconds, "
                          "worker_seconds, finished", s->path);
    return 0;
}

/* Copies the string root attribute name into buf ("" when absent). */
static int get_text(hid_t file, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    htri_t has = H5Aexists(file, name);
    if (has <= 0)
        return has < 0 ? -1 : 0;
    char *text = NULL;
    if (cv_h5_attr_get_str(file, name, &text) < 0)
        return -1;
    snprintf(buf, size, "%s", text);
    free(text);
    return 0;
}

int cv_store_read_times(cv_store *s, cv_store_times *t, cv_error *err)
{
    memset(t, 0, sizeof *t);
    int32_t ranks = 0;
    htri_t has_ranks = H5Aexists(s->file, "ranks");
    if (get_text(s->file, "created", t->created, sizeof t->created) < 0 ||
        get_text(s->file, "finished", t->finished, sizeof t->finished) < 0 ||
        get_seconds(s->file, "wall_seconds", &t->wall_seconds) < 0 ||
        get_seconds(s->file, "worker_seconds", &t->worker_seconds) < 0 || has_ranks < 0 ||
        (has_ranks > 0 && cv_h5_attr_get(s->file, "ranks", H5T_NATIVE_INT32, &ranks) < 0))
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the root attributes created, "
                          "finished, ranks, wall_seconds, worker_seconds", s->path);
    t->ranks = ranks;
    return 0;
}

/* ---- /data --------------------------------------------------------------------- */

int cv_store_write_data(cv_store *s, const cv_data *data, cv_error *err)
{
    int ret = 0;
    hid_t g = H5I_INVALID_HID;
    if (!s->writable || s->swmr_write)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: /data must be written to a new file before SWMR mode", s->path);
    if ((g = H5Gcreate2(s->file, CV_DATA, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot create /data", s->path);
    hsize_t n = (hsize_t)data->d;
    if (cv_h5_write_floats(g, "feature_mean", 1, &n, data->mean, H5P_DEFAULT) < 0 ||
        cv_h5_write_floats(g, "feature_std", 1, &n, data->std, H5P_DEFAULT) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot write /data/feature_mean and feature_std",
                         s->path);
        goto done;
    }
    int32_t d = data->d, classes = data->classes;
    int64_t sizes[3] = {data->train.n, data->dev.n, data->test.n};
    if (cv_h5_attr_put_str(g, "source", data->source ? data->source : "") < 0 ||
        cv_h5_attr_put(g, "features", H5T_STD_I32LE, H5T_NATIVE_INT32, &d) < 0 ||
        cv_h5_attr_put(g, "classes", H5T_STD_I32LE, H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_put(g, "train_size", H5T_STD_I64LE, H5T_NATIVE_INT64, &sizes[0]) < 0 ||
        cv_h5_attr_put(g, "dev_size", H5T_STD_I64LE, H5T_NATIVE_INT64, &sizes[1]) < 0 ||
        cv_h5_attr_put(g, "test_size", H5T_STD_I64LE, H5T_NATIVE_INT64, &sizes[2]) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot write the attributes of /data", s->path);
        goto done;
    }
done:
    if (cv_h5_close(&g) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot close /data", s->path);
    return ret;
}

static int read_floats(hid_t g, const char *name, int d, float **out)
{
    hid_t dset = H5Dopen2(g, name, H5P_DEFAULT);
    if (dset < 0)
        return -1;
    int ret = -1;
    if (cv_h5_rows(dset) != d || (*out = malloc((size_t)d * sizeof **out)) == NULL)
        goto done;
    if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
        goto done;
    ret = 0;
done:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&dset) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

int cv_store_read_data(cv_store *s, cv_store_data *d, cv_error *err)
{
    int ret = 0;
    memset(d, 0, sizeof *d);
    htri_t exists = H5Lexists(s->file, CV_DATA, H5P_DEFAULT);
    if (exists <= 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: no group /data (the run never got its data)",
                       s->path);
    hid_t g = H5Gopen2(s->file, CV_DATA, H5P_DEFAULT);
    if (g < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open /data", s->path);
    int32_t features = 0, classes = 0;
    if (cv_h5_attr_get(g, "features", H5T_NATIVE_INT32, &features) < 0 ||
        cv_h5_attr_get(g, "classes", H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_get(g, "train_size", H5T_NATIVE_INT64, &d->train_size) < 0 ||
        cv_h5_attr_get(g, "dev_size", H5T_NATIVE_INT64, &d->dev_size) < 0 ||
        cv_h5_attr_get(g, "test_size", H5T_NATIVE_INT64, &d->test_size) < 0 ||
        cv_h5_attr_get_str(g, "source", &d->source) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: /data: missing or unreadable attributes",
                         s->path);
        goto done;
    }
    if (features < 1 || classes < 2) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: /data: %d features, %d classes: expected >= 1, >= 2",
                      s->path, (int)features, (int)classes);
        goto done;
    }
    d->d = features;
    d->classes = classes;
    if (read_floats(g, "feature_mean", features, &d->mean) < 0 ||
        read_floats(g, "feature_std", features, &d->std) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT,
                         "%s: /data/feature_mean and feature_std: expected %d float values each",
                         s->path, (int)features);
        goto done;
    }
done:
    if (cv_h5_close(&g) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot close /data", s->path);
    if (ret < 0)
        cv_store_data_free(d);
    return ret;
}

void cv_store_data_free(cv_store_data *d)
{
    if (d == NULL)
        return;
    free(d->mean);
    free(d->std);
    free(d->source);
    memset(d, 0, sizeof *d);
}
