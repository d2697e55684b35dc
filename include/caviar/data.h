/* caviar/data.h: data sets: loaders, the train/dev split, standardization.
 *
 * Every source becomes a cv_dataset: n examples of d float features, row
 * major, with integer class labels. Loaders read IDX (raw or .gz), CSV and
 * HDF5 files and the built-in source "fashion-mnist". cv_data_load then
 * carves a dev set out of the training set by a seeded shuffle and fits the
 * standardization on the remaining training split only. */
#ifndef CAVIAR_DATA_H
#define CAVIAR_DATA_H

#include <stdint.h>

#include "caviar/error.h"
#include "caviar/job.h"

/* The largest number of classes a data set may have (labels 0 .. max-1). */
#define CV_MAX_CLASSES 4096

typedef struct cv_dataset {
    int64_t n;  /* examples */
    int d;      /* features per example */
    float *X;   /* (n, d), row major */
    int32_t *y; /* (n), labels in [0, classes) */
} cv_dataset;

typedef struct cv_data {
    cv_dataset train; /* the training split, standardized */
    cv_dataset dev;   /* the dev split (model selection), standardized */
    cv_dataset test;  /* the test set, standardized; n == 0 when the source has none */
    int d;            /* features */
    int classes;      /* 1 + the largest label of the training file */
    float *mean;      /* (d) per-feature mean of the training split */
    float *std;       /* (d) per-feature standard deviation; 1 where a feature is constant */
    char *source;     /* what was loaded: "fashion-mnist" or the resolved path */
} cv_data;

typedef struct cv_data_spec {
    const char *source;   /* "fashion-mnist" or a path (.h5/.hdf5, .csv, IDX images) */
    const char *test;     /* a test set path, or NULL (fashion-mnist has its own) */
    double dev_size;      /* examples (>= 1) or a fraction (< 1); 0 = one sixth */
    uint64_t seed;        /* the split's shuffle */
    const char *label;    /* CSV: the label column's header name; NULL = first column */
} cv_data_spec;

/* Directory of Debian's dataset-fashion-mnist files. */
#define CV_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Loads, splits and standardizes. On failure nothing is left to free and err
 * names the file and the problem (CV_ERR_INPUT for bad files). */
int cv_data_load(cv_data *data, const cv_data_spec *spec, cv_error *err);

/* cv_data_load of what a job's data section says (source, test, dev_size),
 * split by the job's seed. */
int cv_data_load_job(cv_data *data, const cv_job *job, cv_error *err);

/* Reads one file in whatever format its name and contents say, unstandardized.
 * label names the CSV label column (NULL: the first). */
int cv_dataset_read(cv_dataset *ds, const char *path, const char *label, cv_error *err);

/* x = (x - mean) / std for every example. */
void cv_dataset_standardize(cv_dataset *ds, const float *mean, const float *std);

void cv_dataset_free(cv_dataset *ds);

void cv_data_free(cv_data *data);

#endif
