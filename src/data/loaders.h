/* loaders.h: the data module's private interface between data.c (format
 * detection, split, standardization) and the per-format readers idx.c, csv.c
 * and h5in.c, which read through gz.c. The files call one way: data.c calls
 * the readers, the readers call gz.c and dataset.c (caviar/data.h's
 * cv_dataset functions), and those call nothing of the module.
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

#include <zlib.h>

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

/* ---- gz.c: files through zlib (gzip inflated, anything else as is) ----- */

/* Reads a whole file into a fresh NUL-terminated buffer that the caller
 * frees; *len excludes the terminator. */
int cv_data_read_file(const char *path, char **buf, size_t *len, cv_error *err);

/* Reads up to len bytes (gzread takes an unsigned int, so in slices),
 * stopping early only at the end of the file. Returns 0, or -1 on a read
 * error (cv_gz_message says which). */
int cv_gz_read_full(gzFile f, void *buf, size_t len, size_t *got);

/* zlib's description of the last failure on f. */
const char *cv_gz_message(gzFile f);

/* Whether the stream stopped because the gzip data was cut short (zlib
 * reports this as Z_BUF_ERROR, not as a read error). */
int cv_gz_truncated(gzFile f);

#endif
