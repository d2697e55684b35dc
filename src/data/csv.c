/* csv.c: the CSV reader: one example per line, comma-separated numbers, one
 * column of them the class label.
 *
 * The label is the first column, or the column whose header names it. The
 * header row is optional and detected: a first row with a field that is not
 * a number is a header (with a named label column the first row is always
 * the header, so numeric column names work too). Tolerated: "\r\n" line
 * ends, a UTF-8 byte order mark, spaces or tabs around fields, blank lines,
 * no final newline, gzip. Refused, with file:line:column: a row with the
 * wrong number of fields, an empty or non-numeric feature, NaN or infinite
 * features, a label that is not an integer in [0, CV_MAX_CLASSES).
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

/* The line that starts at *p, as [s, *le) without its "\n" or "\r\n";
 * *p moves to the next line. Returns s. */
static char *csv_next_line(char **p, char *end, char **le)
{
    char *s = *p;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r')
        e--;
    *le = e;
    return s;
}

/* Whether [s, le) holds nothing but blanks. */
static int csv_blank_line(const char *s, const char *le)
{
    while (s < le && csv_blank(*s))
        s++;
    return s == le;
}

/* One file being read: its shape, fixed by the first row, and the examples
 * so far. */
typedef struct csv_reader {
    const char *path;
    const char *label; /* the label column's header name; NULL: the first column */
    int64_t ncol;      /* fields per row; 0 until the first row */
    int d;             /* features per example: ncol - 1 */
    int label_col;     /* which field is the label */
    int header;        /* whether the first row is a header */
    long first_line, header_line;
    csv_field *fields; /* (ncol) the first row's fields: the names, when a header */
    float *X;          /* (cap, d), grown as rows arrive */
    int32_t *y;        /* (cap) */
    int64_t n, cap;    /* examples read, examples there is room for */
} csv_reader;

/* The header row: its names unquoted and NUL-terminated in place, and the
 * column named r->label found among them. numeric: every name is a number,
 * which suggests the file has no header at all. */
static int csv_header(csv_reader *r, long line, int numeric, cv_error *err)
{
    char ex[40];
    r->header_line = line;
    for (int64_t c = 0; c < r->ncol; c++) {
        csv_field *f = &r->fields[c];
        if (f->b - f->a >= 2 && f->a[0] == '"' && f->b[-1] == '"') {
            f->a++;
            f->b--;
        }
        *f->b = '\0';
    }
    if (r->label == NULL)
        return 0;
    r->label_col = -1;
    for (int64_t c = 0; c < r->ncol; c++) {
        if (strcmp(r->fields[c].a, r->label) != 0)
            continue;
        if (r->label_col >= 0)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s:%ld: the label column '%s' appears twice in the header (columns "
                           "%d and %lld)",
                           r->path, line, r->label, r->label_col + 1, (long long)c + 1);
        r->label_col = (int)c;
    }
    if (r->label_col >= 0)
        return 0;
    csv_excerpt(ex, r->label, strlen(r->label));
    if (numeric)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s:%ld: the label column is named '%s', which needs a header row, but "
                       "this first row is all numbers",
                       r->path, line, ex);
    return cv_fail(err, CV_ERR_INPUT, "%s:%ld: no column named '%s' in the header for the label",
                   r->path, line, ex);
}

/* The first row [s, le) of count fields fixes the shape and says whether it
 * is a header: a named label column makes it one, even of numeric names;
 * otherwise a field that is not a number does. A header is read here. */
static int csv_first_row(csv_reader *r, char *s, char *le, int64_t count, long line,
                         cv_error *err)
{
    r->ncol = count;
    r->first_line = line;
    if (count < 2)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s:%ld: a single column: expected the label and at least one feature, "
                       "separated by commas",
                       r->path, line);
    if (count - 1 > INT_MAX)
        return cv_fail(err, CV_ERR_INPUT, "%s:%ld: %lld columns: at most %d features", r->path,
                       line, (long long)count, INT_MAX);
    r->d = (int)(count - 1);
    r->fields = malloc((size_t)count * sizeof *r->fields);
    if (r->fields == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", r->path);
    char *cur = s;
    int numeric = 1;
    for (int64_t c = 0; c < count; c++) {
        double v;
        cur = csv_next_field(cur, le, &r->fields[c]);
        if (r->fields[c].a != r->fields[c].b && !csv_number(&r->fields[c], &v))
            numeric = 0;
    }
    r->header = !numeric || r->label != NULL;
    return r->header ? csv_header(r, line, numeric, err) : 0;
}

/* Makes room for one more example: the arrays double, from 1024 up to
 * CV_DATA_MAX_N examples. */
static int csv_grow(csv_reader *r, long line, cv_error *err)
{
    if (r->n < r->cap)
        return 0;
    if (r->n >= CV_DATA_MAX_N)
        return cv_fail(err, CV_ERR_INPUT, "%s:%ld: more than %d examples", r->path, line,
                       CV_DATA_MAX_N);
    int64_t cap = r->cap < 1024 ? 1024 : r->cap * 2;
    if (cap > CV_DATA_MAX_N)
        cap = CV_DATA_MAX_N;
    if ((uint64_t)cap > SIZE_MAX / sizeof(float) / (uint64_t)r->d)
        return cv_fail(err, CV_ERR_NOMEM, "%s:%ld: too much data for memory", r->path, line);
    float *X = realloc(r->X, (size_t)cap * (size_t)r->d * sizeof *X);
    if (X == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s:%ld: out of memory", r->path, line);
    r->X = X;
    int32_t *y = realloc(r->y, (size_t)cap * sizeof *y);
    if (y == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s:%ld: out of memory", r->path, line);
    r->y = y;
    r->cap = cap;
    return 0;
}

/* Refuses feature field f (column c, at line:col): empty, not a number,
 * not finite or beyond float range (ok and v: what csv_number said). */
static int csv_bad_feature(const csv_reader *r, const csv_field *f, int64_t c, int ok, double v,
                           long line, long col, cv_error *err)
{
    char ex[40], name[80] = "";
    csv_excerpt(ex, f->a, (size_t)(f->b - f->a));
    if (r->header) {
        char nex[40];
        csv_excerpt(nex, r->fields[c].a, strlen(r->fields[c].a));
        snprintf(name, sizeof name, " '%s'", nex);
    }
    const char *why = f->a == f->b ? "is empty (missing values are not supported)"
                      : !ok        ? "is not a number"
                      : isnan(v)   ? "is NaN: features must be finite"
                      : isinf(v)   ? "is infinite: features must be finite"
                                   : "is beyond the float range";
    return cv_fail(err, CV_ERR_INPUT, "%s:%ld:%ld: feature%s (column %lld) '%s' %s", r->path, line,
                   col, name, (long long)c + 1, ex, why);
}

/* Parses data row [s, le) into example r->n (room made): the label field
 * must be a class, every other field a finite float. */
static int csv_row(csv_reader *r, char *s, char *le, long line, cv_error *err)
{
    float *row = r->X + (size_t)r->n * (size_t)r->d; /* (d) */
    char *cur = s;
    int k = 0;
    for (int64_t c = 0; c < r->ncol; c++) {
        csv_field f;
        double v = 0.0;
        cur = csv_next_field(cur, le, &f);
        long col = (long)(f.a - s) + 1;
        int ok = csv_number(&f, &v);
        if (c == r->label_col) {
            if (!ok || !(v >= 0.0 && v < CV_MAX_CLASSES) || v != floor(v)) {
                char ex[40];
                csv_excerpt(ex, f.a, (size_t)(f.b - f.a));
                return cv_fail(err, CV_ERR_INPUT,
                               "%s:%ld:%ld: label '%s' is not a class: expected an integer in "
                               "[0, %d)",
                               r->path, line, col, ex, CV_MAX_CLASSES);
            }
            r->y[r->n] = (int32_t)v;
            continue;
        }
        if (!ok || !isfinite(v) || fabs(v) > FLT_MAX)
            return csv_bad_feature(r, &f, c, ok, v, line, col, err);
        row[k++] = (float)v;
    }
    r->n++;
    return 0;
}

/* Hands the examples over to ds, without the unused tail of the last growth
 * step; a file without a data row is refused. */
static int csv_finish(csv_reader *r, cv_dataset *ds, cv_error *err)
{
    if (r->n == 0 && r->header)
        return cv_fail(err, CV_ERR_INPUT, "%s: no data rows after the header on line %ld",
                       r->path, r->header_line);
    if (r->n == 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: empty file: no data rows", r->path);
    float *X = realloc(r->X, (size_t)r->n * (size_t)r->d * sizeof *X);
    if (X != NULL)
        r->X = X;
    int32_t *y = realloc(r->y, (size_t)r->n * sizeof *y);
    if (y != NULL)
        r->y = y;
    ds->n = r->n;
    ds->d = r->d;
    ds->X = r->X;
    ds->y = r->y;
    r->X = NULL;
    r->y = NULL;
    return 0;
}

int cv_csv_read(cv_dataset *ds, const char *path, const char *label, cv_error *err)
{
    csv_reader r = {.path = path, .label = label};
    char *buf = NULL;
    size_t len = 0;
    memset(ds, 0, sizeof *ds);

    int ret = cv_data_read_file(path, &buf, &len, err);
    if (ret < 0)
        goto done;
    char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as spreadsheets write */

    for (long line = 1; p < end; line++) {
        char *le;
        char *s = csv_next_line(&p, end, &le);
        if (csv_blank_line(s, le))
            continue; /* blank lines are skipped wherever they are */
        int64_t count = csv_count_fields(s, le);
        if (r.ncol == 0) {
            if ((ret = csv_first_row(&r, s, le, count, line, err)) < 0)
                goto done;
            if (r.header)
                continue;
        }
        if (count != r.ncol) {
            ret = cv_fail(err, CV_ERR_INPUT, "%s:%ld: %lld fields, expected %lld as on line %ld",
                          path, line, (long long)count, (long long)r.ncol, r.first_line);
            goto done;
        }
        if ((ret = csv_grow(&r, line, err)) < 0 || (ret = csv_row(&r, s, le, line, err)) < 0)
            goto done;
    }
    ret = csv_finish(&r, ds, err);

done:
    free(r.fields);
    free(buf);
    free(r.X);
    free(r.y);
    return ret;
}
