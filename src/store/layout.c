/* layout.c: what a row of each table looks like in the file.
 *
 * A layout (cv_layout) is a compound record built at run time, field by
 * field: aligned C-style in memory, packed and little-endian in the file.
 * /trials has one field per hyperparameter of the vocabulary (cv_param_info,
 * in table order) in its natural type, /curves a fixed set, and /rounds
 * three per parameter the job searches (read back from the file's own type,
 * since the job fixed them when the file was created). Rows (cv_trial_row,
 * cv_curve_row) are packed into records and unpacked from them here;
 * tables.c moves the records in and out of the file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* ---- compound layouts ------------------------------------------------------- */

static size_t ftype_size(cv_ftype t, size_t len)
{
    switch (t) {
    case CV_F_BOOL:
        return 1;
    case CV_F_I32:
        return 4;
    case CV_F_I64:
    case CV_F_U64:
    case CV_F_F64:
        return 8;
    case CV_F_STR:
        return len;
    }
    return 0;
}

int cv_layout_add(cv_layout *L, const char *name, cv_ftype type, size_t len)
{
    if (L->n >= CV_MAX_FIELDS || strlen(name) >= sizeof L->f[0].name)
        return -1;
    size_t size = ftype_size(type, len);
    size_t align = type == CV_F_STR || type == CV_F_BOOL ? 1 : size;
    size_t off = (L->size + align - 1) / align * align;
    cv_field *f = &L->f[L->n];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->type = type;
    f->len = len;
    f->off = off;
    L->size = off + size;
    return L->n++;
}

int cv_layout_find(const cv_layout *L, const char *name)
{
    for (int i = 0; i < L->n; i++)
        if (strcmp(L->f[i].name, name) == 0)
            return i;
    return -1;
}

/* The member type of field f, in memory or in the file. */
static hid_t field_type(const cv_field *f, bool file, bool *owned)
{
    *owned = false;
    switch (f->type) {
    case CV_F_BOOL:
        *owned = true;
        return cv_h5_bool_type(file);
    case CV_F_I32:
        return file ? H5T_STD_I32LE : H5T_NATIVE_INT32;
    case CV_F_I64:
        return file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
    case CV_F_U64:
        return file ? H5T_STD_U64LE : H5T_NATIVE_UINT64;
    case CV_F_F64:
        return file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE;
    case CV_F_STR:
        *owned = true;
        return cv_h5_str_type(f->len);
    }
    return H5I_INVALID_HID;
}

static hid_t layout_type(const cv_layout *L, bool file)
{
    size_t packed = 0;
    for (int i = 0; i < L->n; i++)
        packed += ftype_size(L->f[i].type, L->f[i].len);
    hid_t t = H5Tcreate(H5T_COMPOUND, file ? packed : L->size);
    if (t < 0)
        return H5I_INVALID_HID;
    size_t off = 0;
    for (int i = 0; i < L->n; i++) {
        const cv_field *f = &L->f[i];
        bool owned;
        hid_t ft = field_type(f, file, &owned);
        herr_t r = ft < 0 ? -1 : H5Tinsert(t, f->name, file ? off : f->off, ft);
        if (owned && ft >= 0 && H5Tclose(ft) < 0)
            r = -1;
        if (r < 0) {
            H5Tclose(t);
            return H5I_INVALID_HID;
        }
        off += ftype_size(f->type, f->len);
    }
    return t;
}

hid_t cv_layout_mem_type(const cv_layout *L)
{
    return layout_type(L, false);
}

hid_t cv_layout_file_type(const cv_layout *L)
{
    return layout_type(L, true);
}

/* Field access: a memcpy each way, so that records need no alignment. */
#define REC(rec, L, i) ((char *)(rec) + (L)->f[i].off)
#define CREC(rec, L, i) ((const char *)(rec) + (L)->f[i].off)

void cv_rec_put_i32(void *rec, const cv_layout *L, int i, int32_t v)
{
    memcpy(REC(rec, L, i), &v, sizeof v);
}
void cv_rec_put_i64(void *rec, const cv_layout *L, int i, int64_t v)
{
    memcpy(REC(rec, L, i), &v, sizeof v);
}
void cv_rec_put_u64(void *rec, const cv_layout *L, int i, uint64_t v)
{
    memcpy(REC(rec, L, i), &v, sizeof v);
}
void cv_rec_put_f64(void *rec, const cv_layout *L, int i, double v)
{
    memcpy(REC(rec, L, i), &v, sizeof v);
}
void cv_rec_put_bool(void *rec, const cv_layout *L, int i, bool v)
{
    int8_t b = v ? 1 : 0;
    memcpy(REC(rec, L, i), &b, 1);
}
void cv_rec_put_str(void *rec, const cv_layout *L, int i, const char *s)
{
    /* NUL-padded to the width; a string exactly as wide needs no terminator. */
    size_t len = L->f[i].len, n = strnlen(s, len);
    memset(REC(rec, L, i), 0, len);
    memcpy(REC(rec, L, i), s, n);
}
int32_t cv_rec_get_i32(const void *rec, const cv_layout *L, int i)
{
    int32_t v;
    memcpy(&v, CREC(rec, L, i), sizeof v);
    return v;
}
int64_t cv_rec_get_i64(const void *rec, const cv_layout *L, int i)
{
    int64_t v;
    memcpy(&v, CREC(rec, L, i), sizeof v);
    return v;
}
uint64_t cv_rec_get_u64(const void *rec, const cv_layout *L, int i)
{
    uint64_t v;
    memcpy(&v, CREC(rec, L, i), sizeof v);
    return v;
}
double cv_rec_get_f64(const void *rec, const cv_layout *L, int i)
{
    double v;
    memcpy(&v, CREC(rec, L, i), sizeof v);
    return v;
}
bool cv_rec_get_bool(const void *rec, const cv_layout *L, int i)
{
    int8_t b;
    memcpy(&b, CREC(rec, L, i), 1);
    return b != 0;
}
void cv_rec_get_str(const void *rec, const cv_layout *L, int i, char *out, size_t size)
{
    size_t n = strnlen(CREC(rec, L, i), L->f[i].len);
    if (n >= size)
        n = size - 1;
    memcpy(out, CREC(rec, L, i), n);
    out[n] = '\0';
}

/* ---- the tables' layouts -------------------------------------------------- */

/* The fields of /trials, in order. */
enum {
    T_TRIAL,
    T_ROUND,
    T_STATUS,
    T_WORKER,
    T_SEED,
    T_PARENT,
    T_PARAMS, /* the active hyperparameters (cv_param_active): up to CV_P_COUNT */
    T_DEV_ACCURACY = T_PARAMS + CV_P_COUNT, /* less the inactive ones: see after_params */
    T_DEV_LOSS,
    T_TRAIN_ACCURACY,
    T_TRAIN_LOSS,
    T_TEST_ACCURACY,
    T_BEST_EPOCH,
    T_EPOCHS_DONE,
    T_RUNG,
    T_BUDGET,
    T_SECONDS,
    T_SAMPLES_PER_SECOND,
    T_COUNT
};

/* The active parameters, in vocabulary order: the columns of /trials
 * (caviar's own vocabulary, or `epochs` and a program's parameters). */
static int active_params(cv_param *list)
{
    int n = 0;
    for (int p = 0; p < CV_P_COUNT; p++)
        if (cv_param_active((cv_param)p))
            list[n++] = (cv_param)p;
    return n;
}

/* The field index of T_ field t (one after the parameters) when n parameters
 * are active. */
static int after_params(int t, int n)
{
    return t - CV_P_COUNT + n;
}

void cv_trials_layout(cv_layout *L)
{
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "trial", CV_F_I64, 0);
    cv_layout_add(L, "round", CV_F_I32, 0);
    cv_layout_add(L, "status", CV_F_STR, CV_STATUS_LEN);
    cv_layout_add(L, "worker", CV_F_I32, 0);
    cv_layout_add(L, "seed", CV_F_U64, 0);
    cv_layout_add(L, "parent", CV_F_I64, 0);
    cv_param list[CV_P_COUNT];
    int n = active_params(list);
    for (int k = 0; k < n; k++) {
        const cv_param_info *info = cv_param_get_info(list[k]);
        static const cv_ftype of_kind[] = {[CV_KIND_REAL] = CV_F_F64,
                                           [CV_KIND_INT] = CV_F_I64,
                                           [CV_KIND_BOOL] = CV_F_BOOL,
                                           [CV_KIND_WORD] = CV_F_STR};
        cv_layout_add(L, info->name, of_kind[info->kind],
                      list[k] >= CV_P_PROGRAM ? CV_PROGRAM_WORD_LEN : CV_WORD_LEN);
    }
    cv_layout_add(L, "dev_accuracy", CV_F_F64, 0);
    cv_layout_add(L, "dev_loss", CV_F_F64, 0);
    cv_layout_add(L, "train_accuracy", CV_F_F64, 0);
    cv_layout_add(L, "train_loss", CV_F_F64, 0);
    cv_layout_add(L, "test_accuracy", CV_F_F64, 0);
    cv_layout_add(L, "best_epoch", CV_F_I32, 0);
    cv_layout_add(L, "epochs_done", CV_F_I32, 0);
    /* added with successive halving: read as 0 from earlier files */
    L->f[cv_layout_add(L, "rung", CV_F_I32, 0)].optional = true;
    L->f[cv_layout_add(L, "budget", CV_F_I32, 0)].optional = true;
    cv_layout_add(L, "seconds", CV_F_F64, 0);
    cv_layout_add(L, "samples_per_second", CV_F_F64, 0);
}

/* The fields of /curves, in order. */
enum { C_TRIAL, C_EPOCH, C_TRAIN_LOSS, C_TRAIN_ACCURACY, C_DEV_LOSS, C_DEV_ACCURACY, C_LR, C_SECONDS };

void cv_curves_layout(cv_layout *L)
{
    memset(L, 0, sizeof *L);
    cv_layout_add(L, "trial", CV_F_I64, 0);
    cv_layout_add(L, "epoch", CV_F_I32, 0);
    cv_layout_add(L, "train_loss", CV_F_F64, 0);
    cv_layout_add(L, "train_accuracy", CV_F_F64, 0);
    cv_layout_add(L, "dev_loss", CV_F_F64, 0);
    cv_layout_add(L, "dev_accuracy", CV_F_F64, 0);
    cv_layout_add(L, "learning_rate", CV_F_F64, 0);
    cv_layout_add(L, "seconds", CV_F_F64, 0);
}

/* /rounds of a new file: round, then lo, hi, values per searched parameter. */
int cv_rounds_layout_for_job(cv_layout *L, const cv_job *job)
{
    memset(L, 0, sizeof *L);
    if (cv_layout_add(L, "round", CV_F_I32, 0) < 0)
        return -1;
    for (int p = 0; p < CV_P_COUNT; p++) {
        if (job->params[p].dist == CV_DIST_CONSTANT)
            continue;
        const char *name = cv_param_get_info((cv_param)p)->name;
        char col[64];
        snprintf(col, sizeof col, "%s_lo", name);
        if (cv_layout_add(L, col, CV_F_F64, 0) < 0)
            return -1;
        snprintf(col, sizeof col, "%s_hi", name);
        if (cv_layout_add(L, col, CV_F_F64, 0) < 0)
            return -1;
        snprintf(col, sizeof col, "%s_values", name);
        if (cv_layout_add(L, col, CV_F_STR, CV_VALUES_LEN) < 0)
            return -1;
    }
    return 0;
}

/* /rounds of an existing file: the layout its type says (the searched
 * parameters were fixed when the file was created). */
int cv_rounds_layout_from_file(cv_layout *L, hid_t ftype)
{
    memset(L, 0, sizeof *L);
    int n = H5Tget_nmembers(ftype);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char *name = H5Tget_member_name(ftype, (unsigned)i);
        hid_t mt = H5Tget_member_type(ftype, (unsigned)i);
        int r = -1;
        if (name != NULL && mt >= 0) {
            H5T_class_t cls = H5Tget_class(mt);
            if (cls == H5T_INTEGER)
                r = cv_layout_add(L, name, CV_F_I32, 0);
            else if (cls == H5T_FLOAT)
                r = cv_layout_add(L, name, CV_F_F64, 0);
            else if (cls == H5T_STRING)
                r = cv_layout_add(L, name, CV_F_STR, H5Tget_size(mt));
        }
        if (H5free_memory(name) < 0 || cv_h5_close(&mt) < 0 || r < 0)
            return -1;
    }
    return 0;
}

/* ---- rows <-> records --------------------------------------------------------- */

void cv_trial_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_trial_row *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_i64(rec, L, T_TRIAL, r->trial);
    cv_rec_put_i32(rec, L, T_ROUND, r->round);
    cv_rec_put_str(rec, L, T_STATUS, cv_trial_status_name(r->status));
    cv_rec_put_i32(rec, L, T_WORKER, r->worker);
    cv_rec_put_u64(rec, L, T_SEED, r->seed);
    cv_rec_put_i64(rec, L, T_PARENT, r->parent);
    cv_param list[CV_P_COUNT];
    int n = active_params(list);
    for (int k = 0; k < n; k++) {
        const cv_param_info *info = cv_param_get_info(list[k]);
        double v = cv_config_get(&r->config, list[k]);
        int i = T_PARAMS + k;
        switch (info->kind) {
        case CV_KIND_REAL:
            cv_rec_put_f64(rec, L, i, v);
            break;
        case CV_KIND_INT:
            cv_rec_put_i64(rec, L, i, (int64_t)v);
            break;
        case CV_KIND_BOOL:
            cv_rec_put_bool(rec, L, i, v != 0.0);
            break;
        case CV_KIND_WORD:
            cv_rec_put_str(rec, L, i, v >= 0 && v < info->n_words ? info->words[(int)v] : "?");
            break;
        }
    }
    cv_rec_put_f64(rec, L, after_params(T_DEV_ACCURACY, n), r->dev_accuracy);
    cv_rec_put_f64(rec, L, after_params(T_DEV_LOSS, n), r->dev_loss);
    cv_rec_put_f64(rec, L, after_params(T_TRAIN_ACCURACY, n), r->train_accuracy);
    cv_rec_put_f64(rec, L, after_params(T_TRAIN_LOSS, n), r->train_loss);
    cv_rec_put_f64(rec, L, after_params(T_TEST_ACCURACY, n), r->test_accuracy);
    cv_rec_put_i32(rec, L, after_params(T_BEST_EPOCH, n), r->best_epoch);
    cv_rec_put_i32(rec, L, after_params(T_EPOCHS_DONE, n), r->epochs_done);
    cv_rec_put_i32(rec, L, after_params(T_RUNG, n), r->rung);
    cv_rec_put_i32(rec, L, after_params(T_BUDGET, n), r->budget);
    cv_rec_put_f64(rec, L, after_params(T_SECONDS, n), r->seconds);
    cv_rec_put_f64(rec, L, after_params(T_SAMPLES_PER_SECOND, n), r->samples_per_second);
}

int cv_trial_unpack(cv_trial_row *r, const void *rec, const cv_layout *L, const char *path,
                    int64_t row, cv_error *err)
{
    char word[CV_PROGRAM_WORD_LEN + 1];
    memset(r, 0, sizeof *r);
    r->trial = cv_rec_get_i64(rec, L, T_TRIAL);
    r->round = cv_rec_get_i32(rec, L, T_ROUND);
    cv_rec_get_str(rec, L, T_STATUS, word, sizeof word);
    if (cv_trial_status_lookup(word, &r->status) != 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: /trials row %lld: status '%s': expected done, diverged, failed or "
                       "interrupted",
                       path, (long long)row, word);
    r->worker = cv_rec_get_i32(rec, L, T_WORKER);
    r->seed = cv_rec_get_u64(rec, L, T_SEED);
    r->parent = cv_rec_get_i64(rec, L, T_PARENT);
    cv_config_defaults(&r->config);
    cv_param list[CV_P_COUNT];
    int n = active_params(list);
    for (int k = 0; k < n; k++) {
        cv_param p = list[k];
        const cv_param_info *info = cv_param_get_info(p);
        int i = T_PARAMS + k;
        double v = NAN;
        switch (info->kind) {
        case CV_KIND_REAL:
            v = cv_rec_get_f64(rec, L, i);
            break;
        case CV_KIND_INT:
            v = (double)cv_rec_get_i64(rec, L, i);
            break;
        case CV_KIND_BOOL:
            v = cv_rec_get_bool(rec, L, i) ? 1.0 : 0.0;
            break;
        case CV_KIND_WORD:
            cv_rec_get_str(rec, L, i, word, sizeof word);
            for (int w = 0; w < info->n_words; w++)
                if (strcmp(word, info->words[w]) == 0)
                    v = w;
            if (isnan(v))
                return cv_fail(err, CV_ERR_INPUT, "%s: /trials row %lld: %s '%s' is not one of "
                                                  "the words caviar knows",
                               path, (long long)row, info->name, word);
            break;
        }
        char why[160];
        if (cv_param_check(p, v, why, sizeof why) != 0)
            return cv_fail(err, CV_ERR_INPUT, "%s: /trials row %lld: %s", path, (long long)row,
                           why);
        cv_config_set(&r->config, p, v);
    }
    r->dev_accuracy = cv_rec_get_f64(rec, L, after_params(T_DEV_ACCURACY, n));
    r->dev_loss = cv_rec_get_f64(rec, L, after_params(T_DEV_LOSS, n));
    r->train_accuracy = cv_rec_get_f64(rec, L, after_params(T_TRAIN_ACCURACY, n));
    r->train_loss = cv_rec_get_f64(rec, L, after_params(T_TRAIN_LOSS, n));
    r->test_accuracy = cv_rec_get_f64(rec, L, after_params(T_TEST_ACCURACY, n));
    r->best_epoch = cv_rec_get_i32(rec, L, after_params(T_BEST_EPOCH, n));
    r->epochs_done = cv_rec_get_i32(rec, L, after_params(T_EPOCHS_DONE, n));
    r->rung = cv_rec_get_i32(rec, L, after_params(T_RUNG, n));
    r->budget = cv_rec_get_i32(rec, L, after_params(T_BUDGET, n));
    if (r->budget <= 0) /* a file of an earlier version */
        r->budget = r->config.epochs;
    r->seconds = cv_rec_get_f64(rec, L, after_params(T_SECONDS, n));
    r->samples_per_second = cv_rec_get_f64(rec, L, after_params(T_SAMPLES_PER_SECOND, n));
    return 0;
}

void cv_curve_pack(void *rec, const cv_layout *L, const void *row)
{
    const cv_curve_row *r = row;
    memset(rec, 0, L->size);
    cv_rec_put_i64(rec, L, C_TRIAL, r->trial);
    cv_rec_put_i32(rec, L, C_EPOCH, r->epoch);
    cv_rec_put_f64(rec, L, C_TRAIN_LOSS, r->train_loss);
    cv_rec_put_f64(rec, L, C_TRAIN_ACCURACY, r->train_accuracy);
    cv_rec_put_f64(rec, L, C_DEV_LOSS, r->dev_loss);
    cv_rec_put_f64(rec, L, C_DEV_ACCURACY, r->dev_accuracy);
    cv_rec_put_f64(rec, L, C_LR, r->learning_rate);
    cv_rec_put_f64(rec, L, C_SECONDS, r->seconds);
}

void cv_curve_unpack(cv_curve_row *r, const void *rec, const cv_layout *L)
{
    memset(r, 0, sizeof *r);
    r->trial = cv_rec_get_i64(rec, L, C_TRIAL);
    r->epoch = cv_rec_get_i32(rec, L, C_EPOCH);
    r->train_loss = cv_rec_get_f64(rec, L, C_TRAIN_LOSS);
    r->train_accuracy = cv_rec_get_f64(rec, L, C_TRAIN_ACCURACY);
    r->dev_loss = cv_rec_get_f64(rec, L, C_DEV_LOSS);
    r->dev_accuracy = cv_rec_get_f64(rec, L, C_DEV_ACCURACY);
    r->learning_rate = cv_rec_get_f64(rec, L, C_LR);
    r->seconds = cv_rec_get_f64(rec, L, C_SECONDS);
}
