/* loaders.h: the data module's private interface between data.c (format
 * detection, split, standardization) and the per-format readers idx.c, csv.c
 * and h5in.c.
 *
 * Every reader fills a zeroed cv_dataset with unstandardized features and
 * labels already checked to lie in [0, CV_MAX_CLASSES), with n >= 1, d >= 1,
 * n <= INT32_MAX (the split shuffles int32 indices) and every feature finite.
 * On failure a reader frees what it allocated, leaves the dataset zeroed and
 * returns a negative cv_status with a "PATH: ..." message in err. */
#ifndef CAVIAR_DATA_LOADERS_H
#define CAVIAR_DATA_LOADERS_H

#include <stddef.h>
#include <stdint.h>

#include "caviar/data.h"
#include "caviar/error.h"

/* The most examples a data set may hold: the split shuffles int32 indices. */
#define CV_DATA_MAX_N INT32_MAX

/* An IDX images file (raw or gzip) and the labels file paired with it by
 * name ("images-idx3" -> "labels-idx1", "-images" -> "-labels"). */
int cv_idx_read(cv_dataset *ds, const char *path, cv_error *err);

/* A CSV file (raw or gzip). label names the label column, which then
 * requires a header row; NULL means the first column. */
int cv_csv_read(cv_dataset *ds, const char *path, const char *label, cv_error *err);

/* An HDF5 file with datasets X (n, d) numeric and y (n) integer. */
int cv_h5in_read(cv_dataset *ds, const char *path, cv_error *err);

/* Reads a whole file through zlib (gzip is inflated, anything else is read as
 * is) into a fresh NUL-terminated buffer that the caller frees; *len excludes
 * the terminator. */
int cv_data_read_file(const char *path, char **buf, size_t *len, cv_error *err);

/* Copies at most 32 bytes of s[0..n) into out for an error message, with
 * non-printable bytes shown as '?' and "..." when cut. */
void cv_data_excerpt(char out[40], const char *s, size_t n);

#endif
