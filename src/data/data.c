/* data.c: the data module's front: which reader a file needs
 * (cv_dataset_read), the seeded train/dev split and the standardization
 * fitted on the training split (cv_data_load), and cv_data_free.
 *
 * The readers (idx.c, csv.c, h5in.c) hand back raw features; everything that
 * depends on more than one file or on the job's settings happens here. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "caviar/data.h"
#include "caviar/rng.h"
#include "loaders.h"

/* The built-in source: Debian's dataset-fashion-mnist files. */
#define FM_NAME "fashion-mnist"
#define FM_TRAIN CV_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz"
#define FM_TRAIN_LABELS CV_FASHION_MNIST_DIR "/train-labels-idx1-ubyte.gz"
#define FM_TEST CV_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz"
#define FM_TEST_LABELS CV_FASHION_MNIST_DIR "/t10k-labels-idx1-ubyte.gz"

/* The split's stream: cv_hash_key(seed, CV_SPLIT_STREAM, 0, 0). */
#define CV_SPLIT_STREAM 0x5711

/* Below this a feature counts as constant and is only centred. */
#define CV_MIN_STD 1e-6

enum { FMT_IDX, FMT_CSV, FMT_H5 };

/* Whether name ends with suffix, ignoring case. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcasecmp(name + n - k, suffix) == 0;
}

/* Decides the format from the first bytes (the HDF5 signature, gzip's magic
 * and the IDX magic inside it), falling back on the name. */
static int detect_format(const char *path, int *fmt, cv_error *err)
{
    static const unsigned char h5sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    size_t got = 0;
    struct stat st;

    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot open: %s", path, strerror(EISDIR));
    }
    got = fread(head, 1, sizeof head, f);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed)
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, strerror(saved));
    if (got == 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: empty file", path);

    if ((got == sizeof head && memcmp(head, h5sig, sizeof h5sig) == 0) ||
        ends_with(path, ".h5") || ends_with(path, ".hdf5") || ends_with(path, ".he5")) {
        *fmt = FMT_H5;
        return 0;
    }
    if (ends_with(path, ".csv") || ends_with(path, ".csv.gz")) {
        *fmt = FMT_CSV;
        return 0;
    }

    /* Look at the first bytes of the content, inflated if gzip. */
    unsigned char peek[4];
    size_t npeek = got < sizeof peek ? got : sizeof peek;
    memcpy(peek, head, npeek);
    if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        gzFile gz = gzopen(path, "rb");
        if (gz == NULL)
            return cv_fail(err, CV_ERR_INPUT, "%s: cannot open: %s", path,
                           strerror(errno ? errno : ENOMEM));
        int r = gzread(gz, peek, sizeof peek);
        gzclose(gz);
        npeek = r > 0 ? (size_t)r : 0;
    }
    if (npeek >= 2 && peek[0] == 0 && peek[1] == 0) {
        *fmt = FMT_IDX;
        return 0;
    }
    if (strstr(path, "idx") != NULL || strstr(path, "IDX") != NULL) {
        *fmt = FMT_IDX; /* named like IDX: its reader explains what is wrong */
        return 0;
    }
    int text = 1;
    for (size_t i = 0; i < npeek; i++) {
        unsigned char c = peek[i];
        if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
            text = 0;
    }
    if (text) {
        *fmt = FMT_CSV;
        return 0;
    }
    return cv_fail(err, CV_ERR_INPUT,
                   "%s: unrecognized format: expected HDF5 (.h5, datasets X and y), CSV "
                   "(.csv) or IDX (the MNIST format, with its labels file beside it)",
                   path);
}

int cv_dataset_read(cv_dataset *ds, const char *path, const char *label, cv_error *err)
{
    int fmt = FMT_CSV;
    memset(ds, 0, sizeof *ds);
    int ret = detect_format(path, &fmt, err);
    if (ret < 0)
        return ret;
    switch (fmt) {
    case FMT_H5:
        return cv_h5in_read(ds, path, err);
    case FMT_IDX:
        return cv_idx_read(ds, path, err);
    default:
        return cv_csv_read(ds, path, label, err);
    }
}

void cv_data_free(cv_data *data)
{
    if (data == NULL)
        return;
    cv_dataset_free(&data->train);
    cv_dataset_free(&data->dev);
    cv_dataset_free(&data->test);
    free(data->mean);
    free(data->std);
    free(data->source);
    memset(data, 0, sizeof *data);
}

/* The built-in source needs Debian's package; say so rather than "cannot
 * open" when it is not installed. */
static int fm_check(const char *path, cv_error *err)
{
    if (access(path, R_OK) == 0)
        return 0;
    return cv_fail(err, CV_ERR_INPUT,
                   FM_NAME ": %s: %s: install Debian's dataset-fashion-mnist package "
                           "(apt-get install dataset-fashion-mnist)",
                   path, strerror(errno));
}

/* How many examples go to dev: a count, a fraction, or one sixth. */
static int dev_count(int64_t *n_dev, double dev_size, int64_t n, const char *src,
                     cv_error *err)
{
    if (!isfinite(dev_size) || dev_size < 0.0 || (dev_size >= 1.0 && dev_size != floor(dev_size)))
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dev_size %g: expected a number of examples (a whole number >= 1), "
                       "a fraction in (0, 1), or 0 for one sixth",
                       src, dev_size);
    if (dev_size == 0.0)
        *n_dev = n / 6;
    else if (dev_size < 1.0)
        *n_dev = llround(dev_size * (double)n);
    else
        *n_dev = dev_size > (double)n ? n : (int64_t)dev_size;
    if (*n_dev < 1 || n - *n_dev < 2) {
        if (dev_size >= 1.0 && dev_size > (double)n)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: dev_size %.0f is more than the %lld examples of the file: the "
                           "dev set needs at least 1 and training at least 2",
                           src, dev_size, (long long)n);
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: dev_size %g puts %lld of the %lld examples in the dev set, leaving "
                       "%lld for training: the dev set needs at least 1 and training at "
                       "least 2",
                       src, dev_size, (long long)*n_dev, (long long)n,
                       (long long)(n - *n_dev));
    }
    return 0;
}

/* Moves the examples listed in in_dev out of all (which keeps the others, in
 * order, as the training split) into dev, also in their original order. */
static int split(cv_dataset *all, cv_dataset *dev, const unsigned char *in_dev, int64_t n_dev,
                 const char *src, cv_error *err)
{
    size_t d = (size_t)all->d;
    dev->X = malloc((size_t)n_dev * d * sizeof *dev->X);
    dev->y = malloc((size_t)n_dev * sizeof *dev->y);
    if (dev->X == NULL || dev->y == NULL) {
        cv_dataset_free(dev);
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the dev split", src);
    }
    dev->n = n_dev;
    dev->d = all->d;
    int64_t t = 0, v = 0;
    for (int64_t i = 0; i < all->n; i++) {
        const float *x = all->X + (size_t)i * d;
        if (in_dev[i]) {
            memcpy(dev->X + (size_t)v * d, x, d * sizeof *x);
            dev->y[v++] = all->y[i];
        } else {
            if (t != i) /* compact the training rows in place: t < i */
                memcpy(all->X + (size_t)t * d, x, d * sizeof *x);
            all->y[t++] = all->y[i];
        }
    }
    all->n = t;
    /* Hand back the tail; a refused shrink just keeps the larger block. */
    float *X = realloc(all->X, (size_t)t * d * sizeof *X);
    if (X != NULL)
        all->X = X;
    int32_t *y = realloc(all->y, (size_t)t * sizeof *y);
    if (y != NULL)
        all->y = y;
    return 0;
}

/* Per-feature mean and population standard deviation of ds, in double, two
 * passes (the one-pass formula loses digits on 0..255 pixels). */
static int fit_standardization(float *mean, float *std, const cv_dataset *ds)
{
    size_t d = (size_t)ds->d;
    double *m = calloc(d, sizeof *m), *s = calloc(d, sizeof *s);
    if (m == NULL || s == NULL) {
        free(m);
        free(s);
        return -1;
    }
    for (int64_t i = 0; i < ds->n; i++) {
        const float *x = ds->X + (size_t)i * d;
        for (size_t j = 0; j < d; j++)
            m[j] += x[j];
    }
    for (size_t j = 0; j < d; j++)
        m[j] /= (double)ds->n;
    for (int64_t i = 0; i < ds->n; i++) {
        const float *x = ds->X + (size_t)i * d;
        for (size_t j = 0; j < d; j++) {
            double dv = x[j] - m[j];
            s[j] += dv * dv;
        }
    }
    for (size_t j = 0; j < d; j++) {
        double sd = sqrt(s[j] / (double)ds->n);
        mean[j] = (float)m[j];
        std[j] = sd < CV_MIN_STD ? 1.0f : (float)sd;
    }
    free(m);
    free(s);
    return 0;
}

int cv_data_load(cv_data *data, const cv_data_spec *spec, cv_error *err)
{
    int ret = 0;
    cv_dataset all = {0};
    int32_t *idx = NULL;
    unsigned char *in_dev = NULL;
    memset(data, 0, sizeof *data);

    if (spec == NULL || spec->source == NULL || spec->source[0] == '\0') {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "data: no source: expected 'fashion-mnist' or the path of a data file");
        goto error;
    }
    int builtin = strcmp(spec->source, FM_NAME) == 0;
    const char *train_path = builtin ? FM_TRAIN : spec->source;
    const char *test_path = spec->test ? spec->test : builtin ? FM_TEST : NULL;
    if (builtin) {
        if ((ret = fm_check(FM_TRAIN, err)) < 0 || (ret = fm_check(FM_TRAIN_LABELS, err)) < 0)
            goto error;
        if (spec->test == NULL &&
            ((ret = fm_check(FM_TEST, err)) < 0 || (ret = fm_check(FM_TEST_LABELS, err)) < 0))
            goto error;
    }

    ret = cv_dataset_read(&all, train_path, spec->label, err);
    if (ret < 0)
        goto error;
    int64_t n_dev = 0;
    ret = dev_count(&n_dev, spec->dev_size, all.n, train_path, err);
    if (ret < 0)
        goto error;

    /* classes: what the training file uses; the test set may not add any. */
    int32_t top = 0;
    for (int64_t i = 0; i < all.n; i++)
        top = all.y[i] > top ? all.y[i] : top;
    data->classes = top + 1;
    data->d = all.d;
    if (data->classes < 2) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: every label is 0: a classifier needs at least two classes", train_path);
        goto error;
    }

    if (test_path != NULL) {
        ret = cv_dataset_read(&data->test, test_path, spec->label, err);
        if (ret < 0)
            goto error;
        if (data->test.d != all.d) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: %d features per example, but the training data %s has %d",
                          test_path, data->test.d, train_path, all.d);
            goto error;
        }
        for (int64_t i = 0; i < data->test.n; i++) {
            if (data->test.y[i] >= data->classes) {
                ret = cv_fail(err, CV_ERR_INPUT,
                              "%s: example %lld has label %d, but the training data %s has "
                              "only classes 0 to %d",
                              test_path, (long long)i, (int)data->test.y[i], train_path,
                              data->classes - 1);
                goto error;
            }
        }
    }

    /* The split: a seeded Fisher-Yates shuffle picks the dev members; both
     * splits keep the file's order, so only membership depends on the seed. */
    idx = malloc((size_t)all.n * sizeof *idx);
    in_dev = calloc((size_t)all.n, 1);
    if (idx == NULL || in_dev == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the split", train_path);
        goto error;
    }
    for (int64_t i = 0; i < all.n; i++)
        idx[i] = (int32_t)i;
    cv_rng rng;
    cv_rng_seed(&rng, cv_hash_key(spec->seed, CV_SPLIT_STREAM, 0, 0));
    cv_rng_shuffle(&rng, idx, all.n);
    for (int64_t k = 0; k < n_dev; k++)
        in_dev[idx[k]] = 1;
    ret = split(&all, &data->dev, in_dev, n_dev, train_path, err);
    if (ret < 0)
        goto error;
    data->train = all;
    memset(&all, 0, sizeof all);

    /* Standardization fitted on the training split alone, applied to all. */
    data->mean = malloc((size_t)data->d * sizeof *data->mean);
    data->std = malloc((size_t)data->d * sizeof *data->std);
    data->source = strdup(builtin ? FM_NAME : spec->source);
    if (data->mean == NULL || data->std == NULL || data->source == NULL ||
        fit_standardization(data->mean, data->std, &data->train) < 0) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", train_path);
        goto error;
    }
    cv_dataset_standardize(&data->train, data->mean, data->std);
    cv_dataset_standardize(&data->dev, data->mean, data->std);
    cv_dataset_standardize(&data->test, data->mean, data->std);

    free(idx);
    free(in_dev);
    return 0;

error:
    free(idx);
    free(in_dev);
    cv_dataset_free(&all);
    cv_data_free(data);
    return ret;
}

int cv_data_load_job(cv_data *data, const cv_job *job, cv_error *err)
{
    cv_data_spec spec = {.source = job->data.source,
                         .test = job->data.test,
                         .dev_size = job->data.dev_size,
                         .seed = job->search.seed};
    return cv_data_load(data, &spec, err);
}
