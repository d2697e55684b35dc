/* csv.c: the CSV reader: one example per line, comma-separated numbers, one
 * column of them the class label.
 *
 * The label is the first column, or the column whose header names it. The
 * header row is optional and detected: a first row with a field that is not
 * a number is a header (with a named label column the first row is always
 * the header, so numeric column names work too). Tolerated: "\r\n" line ends, a UTF-8 byte order mark,
 * spaces or tabs around fields, blank lines, no final newline, gzip. Refused,
 * with file:line:column: a row with the wrong number of fields, an empty or
 * non-numeric feature, NaN or infinite features, a label that is not an
 * integer in [0, CV_MAX_CLASSES).
 *
 * The whole file is read into memory and parsed in place: a field is
 * NUL-terminated for strtod and the byte it covered is put back. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loaders.h"

/* One field of a line: [a, b) with the surrounding blanks trimmed. */
typedef struct csv_field {
    char *a, *b;
} csv_field;

static int csv_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Cuts the field that starts at q and returns where the next one starts
 * (line_end after the last one). */
static char *csv_next_field(char *q, char *line_end, csv_field *f)
{
    char *comma = memchr(q, ',', (size_t)(line_end - q));
    char *e = comma ? comma : line_end;
    while (q < e && csv_blank(*q))
        q++;
    while (e > q && csv_blank(e[-1]))
        e--;
    f->a = q;
    f->b = e;
    return comma ? comma + 1 : line_end;
}

/* Copies at most 32 bytes of s[0..n) into out for an error message, with
 * non-printable bytes shown as '?' and "..." when cut. */
static void csv_excerpt(char out[40], const char *s, size_t n)
{
    size_t k = n > 32 ? 32 : n;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > k)
        memcpy(out + k, "...", 4);
    else
        out[k] = '\0';
}

/* Parses a trimmed field as a number. Returns 1 and sets *v when the whole
 * field is one (nan and inf included: the caller decides), else 0. */
static int csv_number(const csv_field *f, double *v)
{
    char *a = f->a, *b = f->b;
    if (a == b)
        return 0;
    /* Fast path for plain integers, the usual pixel or count: exact, and
     * the same value strtod would give. */
    char *p = a;
    int neg = (*p == '-');
    if (neg || *p == '+')
        p++;
    if (b > p && b - p <= 9) {
        long acc = 0;
        char *q = p;
        while (q < b && *q >= '0' && *q <= '9')
            acc = acc * 10 + (*q++ - '0');
        if (q == b) {
            *v = (double)(neg ? -acc : acc);
            return 1;
        }
    }
    /* The general case: strtod needs a terminator, so borrow the byte after
     * the field (the buffer always has one more byte, its final NUL). */
    char saved = *b;
    *b = '\0';
    char *end = NULL;
    *v = strtod(a, &end);
    *b = saved;
    return end == b;
}

/* Counts the fields of a line: one more than its commas. */
static int64_t csv_count_fields(const char *s, const char *line_end)
{
    int64_t n = 1;
    while ((s = memchr(s, ',', (size_t)(line_end - s))) != NULL) {
        n++;
        s++;
    }
    return n;
}

int cv_csv_read(cv_dataset *ds, const char *path, const char *label, cv_error *err)
{
    int ret = 0;
    char *buf = NULL;
    size_t len = 0;
    csv_field *fields = NULL; /* (ncol) the header's names, when there is one */
    float *X = NULL;          /* (cap, d), grown as rows arrive */
    int32_t *y = NULL;        /* (cap) */
    int64_t n = 0, cap = 0;
    int64_t ncol = 0;
    int d = 0, label_col = 0, header = 0;
    long header_line = 0, first_line = 0;
    char ex[40];
    memset(ds, 0, sizeof *ds);

    ret = cv_data_read_file(path, &buf, &len, err);
    if (ret < 0)
        goto error;

    char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as spreadsheets write */

    for (long line = 1; p < end; line++) {
        /* The line [s, le), its "\r" taken off; p moves to the next one. */
        char *s = p;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        if (le > s && le[-1] == '\r')
            le--;
        char *q = s;
        while (q < le && csv_blank(*q))
            q++;
        if (q == le)
            continue; /* blank lines are skipped wherever they are */

        int64_t count = csv_count_fields(s, le);
        if (ncol == 0) {
            /* The first row fixes the shape and says whether it is a header. */
            ncol = count;
            first_line = line;
            if (ncol < 2) {
                ret = cv_fail(err, CV_ERR_INPUT,
                              "%s:%ld: a single column: expected the label and at least one "
                              "feature, separated by commas",
                              path, line);
                goto error;
            }
            if (ncol - 1 > INT_MAX) {
                ret = cv_fail(err, CV_ERR_INPUT, "%s:%ld: %lld columns: at most %d features",
                              path, line, (long long)ncol, INT_MAX);
                goto error;
            }
            d = (int)(ncol - 1);
            fields = malloc((size_t)ncol * sizeof *fields);
            if (fields == NULL) {
                ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
                goto error;
            }
            char *cur = s;
            int numeric = 1;
            for (int64_t c = 0; c < ncol; c++) {
                double v;
                cur = csv_next_field(cur, le, &fields[c]);
                if (fields[c].a != fields[c].b && !csv_number(&fields[c], &v))
                    numeric = 0;
            }
            /* A named label column makes the first row the header, even one
             * of numeric names; otherwise a word in it says it is one. */
            header = !numeric || label != NULL;
            if (header) {
                header_line = line;
                /* Names: unquoted and NUL-terminated in place. */
                for (int64_t c = 0; c < ncol; c++) {
                    csv_field *f = &fields[c];
                    if (f->b - f->a >= 2 && f->a[0] == '"' && f->b[-1] == '"') {
                        f->a++;
                        f->b--;
                    }
                    *f->b = '\0';
                }
                if (label != NULL) {
                    label_col = -1;
                    for (int64_t c = 0; c < ncol; c++) {
                        if (strcmp(fields[c].a, label) != 0)
                            continue;
                        if (label_col >= 0) {
                            ret = cv_fail(err, CV_ERR_INPUT,
                                          "%s:%ld: the label column '%s' appears twice in "
                                          "the header (columns %d and %lld)",
                                          path, line, label, label_col + 1, (long long)c + 1);
                            goto error;
                        }
                        label_col = (int)c;
                    }
                    if (label_col < 0 && numeric) {
                        csv_excerpt(ex, label, strlen(label));
                        ret = cv_fail(err, CV_ERR_INPUT,
                                      "%s:%ld: the label column is named '%s', which needs a "
                                      "header row, but this first row is all numbers",
                                      path, line, ex);
                        goto error;
                    }
                    if (label_col < 0) {
                        csv_excerpt(ex, label, strlen(label));
                        ret = cv_fail(err, CV_ERR_INPUT,
                                      "%s:%ld: no column named '%s' in the header for the "
                                      "label",
                                      path, line, ex);
                        goto error;
                    }
                }
                continue;
            }
        }
        if (count != ncol) {
            ret = cv_fail(err, CV_ERR_INPUT, "%s:%ld: %lld fields, expected %lld as on line %ld",
                          path, line, (long long)count, (long long)ncol, first_line);
            goto error;
        }

        /* Room for one more row. */
        if (n == cap) {
            if (n >= CV_DATA_MAX_N) {
                ret = cv_fail(err, CV_ERR_INPUT, "%s:%ld: more than %d examples", path, line,
                              CV_DATA_MAX_N);
                goto error;
            }
            int64_t grown_cap = cap < 1024 ? 1024 : cap * 2;
            if (grown_cap > CV_DATA_MAX_N)
                grown_cap = CV_DATA_MAX_N;
            if ((uint64_t)grown_cap > SIZE_MAX / sizeof(float) / (uint64_t)d) {
                ret = cv_fail(err, CV_ERR_NOMEM, "%s:%ld: too much data for memory", path, line);
                goto error;
            }
            float *gx = realloc(X, (size_t)grown_cap * (size_t)d * sizeof *X);
            if (gx == NULL) {
                ret = cv_fail(err, CV_ERR_NOMEM, "%s:%ld: out of memory", path, line);
                goto error;
            }
            X = gx;
            int32_t *gy = realloc(y, (size_t)grown_cap * sizeof *y);
            if (gy == NULL) {
                ret = cv_fail(err, CV_ERR_NOMEM, "%s:%ld: out of memory", path, line);
                goto error;
            }
            y = gy;
            cap = grown_cap;
        }

        float *row = X + (size_t)n * (size_t)d;
        char *cur = s;
        int k = 0;
        for (int64_t c = 0; c < ncol; c++) {
            csv_field f;
            double v = 0.0;
            cur = csv_next_field(cur, le, &f);
            long col = (long)(f.a - s) + 1;
            int ok = csv_number(&f, &v);
            if (c == label_col) {
                if (!ok || !(v >= 0.0 && v < CV_MAX_CLASSES) || v != floor(v)) {
                    csv_excerpt(ex, f.a, (size_t)(f.b - f.a));
                    ret = cv_fail(err, CV_ERR_INPUT,
                                  "%s:%ld:%ld: label '%s' is not a class: expected an integer "
                                  "in [0, %d)",
                                  path, line, col, ex, CV_MAX_CLASSES);
                    goto error;
                }
                y[n] = (int32_t)v;
                continue;
            }
            if (!ok || !isfinite(v) || fabs(v) > FLT_MAX) {
                csv_excerpt(ex, f.a, (size_t)(f.b - f.a));
                char name[80] = "";
                if (header) {
                    char nex[40];
                    csv_excerpt(nex, fields[c].a, strlen(fields[c].a));
                    snprintf(name, sizeof name, " '%s'", nex);
                }
                const char *why = f.a == f.b  ? "is empty (missing values are not supported)"
                                  : !ok       ? "is not a number"
                                  : isnan(v)  ? "is NaN: features must be finite"
                                  : isinf(v)  ? "is infinite: features must be finite"
                                              : "is beyond the float range";
                ret = cv_fail(err, CV_ERR_INPUT, "%s:%ld:%ld: feature%s (column %lld) '%s' %s",
                              path, line, col, name, (long long)c + 1, ex, why);
                goto error;
            }
            row[k++] = (float)v;
        }
        n++;
    }

    if (n == 0) {
        if (header)
            ret = cv_fail(err, CV_ERR_INPUT, "%s: no data rows after the header on line %ld",
                          path, header_line);
        else
            ret = cv_fail(err, CV_ERR_INPUT, "%s: empty file: no data rows", path);
        goto error;
    }
    /* Give back the unused tail of the last growth step. */
    float *fx = realloc(X, (size_t)n * (size_t)d * sizeof *X);
    if (fx != NULL)
        X = fx;
    int32_t *fy = realloc(y, (size_t)n * sizeof *y);
    if (fy != NULL)
        y = fy;

    free(fields);
    free(buf);
    ds->n = n;
    ds->d = d;
    ds->X = X;
    ds->y = y;
    return 0;

error:
    free(fields);
    free(buf);
    free(X);
    free(y);
    return ret;
}
