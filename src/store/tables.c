/* tables.c: /trials, /curves and /rounds in the file (and the generic
 * table operations runs.c shares): creating and opening
 * them, appending rows as a run produces them (flushed at once, for SWMR
 * readers), rewriting a run's final table, and reading them back.
 *
 * What a row looks like as a record is layout.c's. Reading goes by field
 * name (HDF5 converts compound members by name), so columns added by a
 * later version are skipped and a missing one is reported by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- creating and opening ------------------------------------------------- */

/* Creates one empty table with layout L. */
int cv_table_create(cv_store *s, const char *name, const cv_layout *L, hsize_t chunk,
                        hid_t *dset, cv_error *err)
{
    hid_t ft = cv_layout_file_type(L);
    if (ft < 0)
        return cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot build the type of /%s", s->path, name);
    *dset = cv_h5_create_table(s->file, name, ft, chunk);
    if (*dset < 0) {
        int rc = cv_h5_fail(err, CV_ERR_IO, "%s: cannot create /%s", s->path, name);
        H5Tclose(ft);
        return rc;
    }
    if (H5Tclose(ft) < 0)
        return cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot release the type of /%s", s->path,
                          name);
    return 0;
}

int cv_store_create_tables(cv_store *s, const cv_job *job, cv_error *err)
{
    cv_layout L;
    int rc;
    cv_trials_layout(&L);
    if ((rc = cv_table_create(s, CV_TRIALS, &L, CV_TRIALS_CHUNK, &s->trials, err)) < 0)
        return rc;
    cv_curves_layout(&L);
    if ((rc = cv_table_create(s, CV_CURVES, &L, CV_CURVES_CHUNK, &s->curves, err)) < 0)
        return rc;
    if (cv_rounds_layout_for_job(&L, job) < 0)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: /rounds: too many columns", s->path);
    if ((rc = cv_table_create(s, CV_ROUNDS, &L, CV_ROUNDS_CHUNK, &s->rounds, err)) < 0)
        return rc;
    if ((rc = cv_store_create_runs(s, err)) < 0)
        return rc;
    if (cv_job_has_trainer(job) && (rc = cv_store_create_failures(s, err)) < 0)
        return rc;
    return cv_store_create_segments(s, err);
}

/* Opens table name; required tables missing are an error, others stay closed. */
int cv_table_open(cv_store *s, const char *name, bool required, hid_t *dset, cv_error *err)
{
    htri_t exists = H5Lexists(s->file, name, H5P_DEFAULT);
    if (exists < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot look up /%s", s->path, name);
    if (exists == 0) {
        if (!required)
            return 0;
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: no dataset /%s: not a complete caviar results file", s->path, name);
    }
    *dset = H5Dopen2(s->file, name, H5P_DEFAULT);
    if (*dset < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open /%s as a dataset", s->path, name);
    if (cv_h5_rows(*dset) < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: /%s is not a one-dimensional table", s->path,
                       name);
    return 0;
}

int cv_store_open_tables(cv_store *s, cv_error *err)
{
    int rc;
    if ((rc = cv_table_open(s, CV_TRIALS, true, &s->trials, err)) < 0 ||
        (rc = cv_table_open(s, CV_CURVES, true, &s->curves, err)) < 0 ||
        (rc = cv_table_open(s, CV_ROUNDS, false, &s->rounds, err)) < 0 ||
        (rc = cv_table_open(s, CV_RUNS, false, &s->runs, err)) < 0 ||
        (rc = cv_table_open(s, CV_SEGMENTS, false, &s->segments, err)) < 0 ||
        (rc = cv_table_open(s, CV_RUNGS, false, &s->rungs, err)) < 0 ||
        (rc = cv_table_open(s, CV_LINEAGE, false, &s->lineage, err)) < 0 ||
        (rc = cv_table_open(s, CV_FAILURES, false, &s->failures, err)) < 0)
        return rc;
    return 0;
}

/* ---- appending ---------------------------------------------------------------- */

/* Packs n rows with pack into records of layout L and appends them. */
int cv_table_append(cv_store *s, hid_t dset, const char *name, const cv_layout *L,
                       const void *rows, size_t row_size, int64_t n,
                       void (*pack)(void *, const cv_layout *, const void *), cv_error *err)
{
    if (!s->writable)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: opened read-only: cannot append to /%s", s->path,
                       name);
    if (dset < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: no table /%s to append to", s->path, name);
    if (n <= 0)
        return 0;
    int ret = 0;
    hid_t mt = H5I_INVALID_HID;
    char *recs = malloc((size_t)n * L->size);
    if (recs == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld rows of /%s", s->path,
                       (long long)n, name);
    for (int64_t i = 0; i < n; i++)
        pack(recs + (size_t)i * L->size, L, (const char *)rows + (size_t)i * row_size);
    if ((mt = cv_layout_mem_type(L)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot build the type of /%s", s->path, name);
        goto done;
    }
    if (cv_h5_append(dset, mt, recs, (hsize_t)n) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot append %lld row%s to /%s", s->path,
                         (long long)n, n == 1 ? "" : "s", name);
        goto done;
    }
done:
    if (cv_h5_close(&mt) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot release the type of /%s", s->path, name);
    free(recs);
    return ret;
}

int cv_store_append_trials(cv_store *s, const cv_trial_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    cv_trials_layout(&L);
    return cv_table_append(s, s->trials, CV_TRIALS, &L, rows, sizeof *rows, n, cv_trial_pack, err);
}

int cv_store_append_trial(cv_store *s, const cv_trial_row *row, cv_error *err)
{
    return cv_store_append_trials(s, row, 1, err);
}

int cv_store_append_curves(cv_store *s, const cv_curve_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    cv_curves_layout(&L);
    return cv_table_append(s, s->curves, CV_CURVES, &L, rows, sizeof *rows, n, cv_curve_pack, err);
}

/* Empties the table dset (name) and writes rows[0..n) into it. */
static int rewrite_rows(cv_store *s, hid_t dset, const char *name, const cv_layout *L,
                        const void *rows, size_t row_size, int64_t n,
                        void (*pack)(void *, const cv_layout *, const void *), cv_error *err)
{
    if (!s->writable)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: opened read-only: cannot rewrite %s", s->path,
                       name);
    if (s->swmr_write)
        return cv_fail(err, CV_ERR_RUNTIME,
                       "%s: %s cannot be rewritten in SWMR mode (gather the checkpoints first)",
                       s->path, name);
    hsize_t zero[1] = {0};
    if (H5Dset_extent(dset, zero) < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot empty %s", s->path, name);
    return cv_table_append(s, dset, name, L, rows, row_size, n, pack, err);
}

int cv_store_rewrite_trials(cv_store *s, const cv_trial_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    cv_trials_layout(&L);
    return rewrite_rows(s, s->trials, CV_TRIALS, &L, rows, sizeof *rows, n, cv_trial_pack, err);
}

int cv_store_rewrite_curves(cv_store *s, const cv_curve_row *rows, int64_t n, cv_error *err)
{
    cv_layout L;
    cv_curves_layout(&L);
    return rewrite_rows(s, s->curves, CV_CURVES, &L, rows, sizeof *rows, n, cv_curve_pack, err);
}

/* Fills a string column with text, cut at the width with "..." at the end. */
static void put_values(void *rec, const cv_layout *L, int i, const char *text)
{
    size_t width = L->f[i].len, n = strlen(text);
    if (n <= width) {
        cv_rec_put_str(rec, L, i, text);
        return;
    }
    char cut[CV_VALUES_LEN + 1];
    size_t keep = width > 3 ? width - 3 : 0;
    if (keep > CV_VALUES_LEN - 3)
        keep = CV_VALUES_LEN - 3;
    memcpy(cut, text, keep);
    memcpy(cut + keep, "...", 4);
    cv_rec_put_str(rec, L, i, cut);
}

static int append_round(cv_store *s, int round, const cv_round_param *params, int n,
                        cv_error *err)
{
    int ret = 0;
    hid_t ft = H5I_INVALID_HID;
    char *rec = NULL;
    cv_layout L;
    if (s->rounds < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: no table /rounds to append to", s->path);
    if ((ft = H5Dget_type(s->rounds)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot read the type of /rounds", s->path);
        goto done;
    }
    if (cv_rounds_layout_from_file(&L, ft) < 0 || cv_layout_find(&L, "round") != 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: /rounds: unexpected columns", s->path);
        goto done;
    }
    if ((rec = calloc(1, L.size)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
        goto done;
    }
    for (int i = 1; i < L.n; i++)
        if (L.f[i].type == CV_F_F64)
            cv_rec_put_f64(rec, &L, i, NAN);
    cv_rec_put_i32(rec, &L, 0, round);
    for (int k = 0; k < n; k++) {
        const cv_round_param *p = &params[k];
        char col[64];
        snprintf(col, sizeof col, "%s_lo", p->name ? p->name : "");
        int lo = cv_layout_find(&L, col);
        snprintf(col, sizeof col, "%s_hi", p->name ? p->name : "");
        int hi = cv_layout_find(&L, col);
        snprintf(col, sizeof col, "%s_values", p->name ? p->name : "");
        int vals = cv_layout_find(&L, col);
        if (lo < 0 || hi < 0 || vals < 0) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: /rounds: '%s' is not a parameter the job searches (it has no "
                          "%s_lo, %s_hi, %s_values columns)",
                          s->path, p->name ? p->name : "(null)", p->name ? p->name : "",
                          p->name ? p->name : "", p->name ? p->name : "");
            goto done;
        }
        cv_rec_put_f64(rec, &L, lo, p->lo);
        cv_rec_put_f64(rec, &L, hi, p->hi);
        put_values(rec, &L, vals, p->values ? p->values : "");
    }
    {
        hid_t mt = cv_layout_mem_type(&L);
        if (mt < 0) {
            ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot build the type of /rounds", s->path);
            goto done;
        }
        if (cv_h5_append(s->rounds, mt, rec, 1) < 0)
            ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot append round %d to /rounds", s->path,
                             round);
        if (cv_h5_close(&mt) < 0 && ret == 0)
            ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot release the type of /rounds",
                             s->path);
    }
done:
    cv_h5_close(&ft);
    free(rec);
    return ret;
}

int cv_store_append_round(cv_store *s, int round, const cv_round_param *params, int n,
                          cv_error *err)
{
    if (!s->writable)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: opened read-only: cannot append to /rounds",
                       s->path);
    return append_round(s, round, params, n, err);
}

/* ---- reading -------------------------------------------------------------------- */

/* Reads every record of table name into a fresh buffer, checking first that
 * the file's type has every field of L. */
int cv_table_read(cv_store *s, hid_t dset, const char *name, const cv_layout *L,
                        char **recs, int64_t *n, cv_error *err)
{
    int ret = 0;
    hid_t ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    *recs = NULL;
    *n = 0;
    if (dset < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: no table /%s", s->path, name);
    if ((ft = H5Dget_type(dset)) < 0 || H5Tget_class(ft) != H5T_COMPOUND) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: /%s is not a table of records", s->path, name);
        goto done;
    }
    /* the fields the file has: an optional one it lacks is left zero */
    cv_layout have = *L;
    have.n = 0;
    for (int i = 0; i < L->n; i++) {
        if (H5Tget_member_index(ft, L->f[i].name) >= 0)
            have.f[have.n++] = L->f[i];
        else if (!L->f[i].optional) {
            ret = cv_fail(err, CV_ERR_INPUT,
                          "%s: /%s has no field '%s' (written by another version of caviar?)",
                          s->path, name, L->f[i].name);
            goto done;
        }
    }
    int64_t rows = cv_h5_rows(dset);
    if (rows < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the size of /%s", s->path, name);
        goto done;
    }
    if (rows == 0)
        goto done;
    if ((*recs = calloc((size_t)rows, L->size)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld rows of /%s", s->path,
                      (long long)rows, name);
        goto done;
    }
    if ((mt = cv_layout_mem_type(&have)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_RUNTIME, "%s: cannot build the type of /%s", s->path, name);
        goto done;
    }
    if (H5Dread(dset, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *recs) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read /%s", s->path, name);
        goto done;
    }
    *n = rows;
done:
    cv_h5_close(&mt);
    cv_h5_close(&ft);
    if (ret < 0) {
        free(*recs);
        *recs = NULL;
        *n = 0;
    }
    return ret;
}

int cv_table_read_rows(cv_store *s, hid_t dset, const char *name, const cv_layout *L,
                       size_t row_size, cv_unpack_fn unpack, void **rows, int64_t *n,
                       cv_error *err)
{
    *rows = NULL;
    *n = 0;
    if (dset < 0)
        return 0; /* a file written before the table existed */
    char *recs = NULL, *out = NULL;
    int64_t count = 0;
    int ret = cv_table_read(s, dset, name, L, &recs, &count, err);
    if (ret == 0 && count > 0 && (out = malloc((size_t)count * row_size)) == NULL)
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for /%s", s->path, name);
    for (int64_t i = 0; ret == 0 && i < count; i++)
        ret = unpack(out + (size_t)i * row_size, recs + (size_t)i * L->size, L, s->path, i, err);
    free(recs);
    if (ret != 0) {
        free(out);
        return ret;
    }
    *rows = out;
    *n = count;
    return 0;
}

int cv_store_read_trials(cv_store *s, cv_trial_row **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    char *recs = NULL;
    cv_trial_row *out = NULL;
    int64_t count = 0;
    cv_trials_layout(&L);
    int ret = cv_table_read(s, s->trials, CV_TRIALS, &L, &recs, &count, err);
    if (ret == 0 && count > 0) {
        out = malloc((size_t)count * sizeof *out);
        if (out == NULL)
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld trials", s->path,
                          (long long)count);
        for (int64_t i = 0; ret == 0 && i < count; i++)
            ret = cv_trial_unpack(&out[i], recs + (size_t)i * L.size, &L, s->path, i, err);
    }
    free(recs);
    if (ret < 0) {
        free(out);
        out = NULL;
        count = 0;
    }
    *rows = out;
    *n = count;
    return ret;
}

int cv_store_read_curves(cv_store *s, cv_curve_row **rows, int64_t *n, cv_error *err)
{
    cv_layout L;
    char *recs = NULL;
    cv_curve_row *out = NULL;
    int64_t count = 0;
    cv_curves_layout(&L);
    int ret = cv_table_read(s, s->curves, CV_CURVES, &L, &recs, &count, err);
    if (ret == 0 && count > 0) {
        out = malloc((size_t)count * sizeof *out);
        if (out == NULL)
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld curve rows", s->path,
                          (long long)count);
        for (int64_t i = 0; ret == 0 && i < count; i++)
            cv_curve_unpack(&out[i], recs + (size_t)i * L.size, &L);
    }
    free(recs);
    if (ret < 0) {
        free(out);
        out = NULL;
        count = 0;
    }
    *rows = out;
    *n = count;
    return ret;
}

int cv_store_round_count(cv_store *s, int64_t *n, cv_error *err)
{
    *n = 0;
    if (s->rounds < 0)
        return 0;
    int64_t rows = cv_h5_rows(s->rounds);
    int ret = rows < 0 ? cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the size of /rounds",
                                    s->path)
                       : 0;
    if (rows >= 0)
        *n = rows;
    return ret;
}

_Static_assert(CV_VALUES_LEN <= CV_ROUND_VALUES_MAX, "a round's values column fits cv_round_row");

/* Which column of /rounds field name is: the parameter it belongs to and
 * what it holds (0: _lo, 1: _hi, 2: _values), or -1 (round, or a column of
 * a later version). */
static int round_column(const char *name, int *what)
{
    static const char *const suffixes[3] = {"_lo", "_hi", "_values"};
    size_t len = strlen(name);
    for (int k = 0; k < 3; k++) {
        size_t sl = strlen(suffixes[k]);
        char param[64];
        if (len <= sl || len - sl >= sizeof param || strcmp(name + len - sl, suffixes[k]) != 0)
            continue;
        memcpy(param, name, len - sl);
        param[len - sl] = '\0';
        *what = k;
        return cv_param_lookup(param);
    }
    return -1;
}

static int read_rounds(cv_store *s, cv_round_row **rows, int64_t *n, cv_error *err)
{
    int ret = 0;
    hid_t ft = H5I_INVALID_HID;
    char *recs = NULL;
    int64_t count = 0;
    cv_round_row *out = NULL;
    cv_layout L;
    if ((ft = H5Dget_type(s->rounds)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot read the type of /rounds", s->path);
        goto done;
    }
    if (cv_rounds_layout_from_file(&L, ft) < 0 || cv_layout_find(&L, "round") < 0) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: /rounds: unexpected columns (expected round, then "
                      "NAME_lo, NAME_hi, NAME_values per searched parameter)", s->path);
        goto done;
    }
    if ((ret = cv_table_read(s, s->rounds, CV_ROUNDS, &L, &recs, &count, err)) < 0 || count == 0)
        goto done;
    if ((out = calloc((size_t)count, sizeof *out)) == NULL) {
        ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for %lld rounds", s->path,
                      (long long)count);
        goto done;
    }
    int round_field = cv_layout_find(&L, "round");
    for (int64_t i = 0; i < count; i++) {
        const char *rec = recs + (size_t)i * L.size;
        cv_round_row *r = &out[i];
        r->round = cv_rec_get_i32(rec, &L, round_field);
        for (int p = 0; p < CV_P_COUNT; p++)
            r->lo[p] = r->hi[p] = NAN;
        for (int f = 0; f < L.n; f++) {
            int what = 0, p = round_column(L.f[f].name, &what);
            if (p < 0)
                continue;
            r->searched[p] = true;
            if (what == 2 && L.f[f].type == CV_F_STR)
                cv_rec_get_str(rec, &L, f, r->values[p], sizeof r->values[p]);
            else if (what < 2 && L.f[f].type == CV_F_F64)
                (what == 0 ? r->lo : r->hi)[p] = cv_rec_get_f64(rec, &L, f);
        }
    }
done:
    cv_h5_close(&ft);
    free(recs);
    if (ret < 0) {
        free(out);
        out = NULL;
        count = 0;
    }
    *rows = out;
    *n = count;
    return ret;
}

int cv_store_read_rounds(cv_store *s, cv_round_row **rows, int64_t *n, cv_error *err)
{
    *rows = NULL;
    *n = 0;
    if (s->rounds < 0)
        return 0;
    return read_rounds(s, rows, n, err);
}

int cv_store_refresh(cv_store *s, cv_error *err)
{
    if (!s->swmr_read)
        return 0;
    int ret = 0;
    hid_t tables[3] = {s->trials, s->curves, s->rounds};
    static const char *const names[3] = {CV_TRIALS, CV_CURVES, CV_ROUNDS};
    for (int i = 0; i < 3 && ret == 0; i++)
        if (tables[i] >= 0 && H5Drefresh(tables[i]) < 0)
            ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot refresh /%s", s->path, names[i]);
    return ret;
}
