/* checkpoint.c: a trial's weights, running statistics and optimizer state.
 *
 * A checkpoint is a group trial_NNNNNN:
 *     attrs  trial, seed, epochs_trained, inputs, classes, dev_accuracy, dev_loss, and every
 *            hyperparameter in its natural type (as in /trials)
 *     layer_k/W (in, out), layer_k/gamma, beta, running_mean, running_var
 *     output/W (in, classes), output/b (classes)
 *     optimizer/m/<tensor>, optimizer/v/<tensor>   the moments of every
 *            trainable tensor (zeros where the optimizer keeps none)
 *     optimizer  attr steps: optimizer steps taken (Adam's t)
 * all float32 little-endian, so that a network restored from it continues
 * training exactly where it stopped.
 *
 * During a run (SWMR mode, when no object may be created in the results file)
 * it is the only group of a side file PATH.ckpt/trial_NNNNNN.h5, written to a
 * temp name, fsynced and renamed: a reader never sees half a checkpoint. At
 * the end cv_store_gather_checkpoints copies the best ones into /checkpoints
 * (H5Ocopy, bit for bit), links /best and removes the side files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define CKPT_FORMAT "caviar-checkpoint"

static void group_name(char *buf, size_t size, int64_t trial)
{
    snprintf(buf, size, "trial_%06lld", (long long)trial);
}

static void side_path(char *buf, size_t size, const cv_store *s, int64_t trial)
{
    snprintf(buf, size, "%s/trial_%06lld.h5", s->ckpt_dir, (long long)trial);
}

/* ---- writing -------------------------------------------------------------- */

/* One float32 dataset at name under loc (intermediate groups created). */
static int write_tensor(hid_t loc, const char *name, const cv_tensor *t, const float *data,
                        hid_t lcpl)
{
    int ret = -1;
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    hsize_t dims[2] = {(hsize_t)t->dims[0], (hsize_t)t->dims[1]};
    if ((space = H5Screate_simple(t->rank, dims, NULL)) < 0)
        goto error;
    if ((dset = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto error;
    if (H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&dset) < 0 || cv_h5_close(&space) < 0)
        ret = -1;
    cv_h5_stack_restore(stack);
    return ret;
}

/* Writes the checkpoint group gname under loc. Returns 0 or -1 (HDF5 says why). */
static int write_group(hid_t loc, const char *gname, const cv_nn *net,
                       const cv_checkpoint_info *info)
{
    int ret = -1;
    hid_t g = H5I_INVALID_HID, opt = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    const cv_config *cfg = cv_nn_config(net);
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0)
        goto error;
    if ((g = H5Gcreate2(loc, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto error;
    int64_t trial = info->trial, steps = cv_nn_steps(net);
    int32_t epochs = info->epochs, inputs = cv_nn_inputs(net), classes = cv_nn_classes(net);
    if (cv_h5_attr_put(g, "trial", H5T_STD_I64LE, H5T_NATIVE_INT64, &trial) < 0 ||
        cv_h5_attr_put(g, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &info->seed) < 0 ||
        cv_h5_attr_put(g, "epochs_trained", H5T_STD_I32LE, H5T_NATIVE_INT32, &epochs) < 0 ||
        cv_h5_attr_put(g, "inputs", H5T_STD_I32LE, H5T_NATIVE_INT32, &inputs) < 0 ||
        cv_h5_attr_put(g, "classes", H5T_STD_I32LE, H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_put(g, "dev_accuracy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       &info->dev_accuracy) < 0 ||
        cv_h5_attr_put(g, "dev_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &info->dev_loss) < 0)
        goto error;
    for (int p = 0; p < CV_P_COUNT; p++)
        if (cv_h5_attr_put_param(g, (cv_param)p, cv_config_get(cfg, (cv_param)p)) < 0)
            goto error;

    for (int i = 0; i < cv_nn_tensor_count(net); i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        char name[80];
        if (write_tensor(g, t.name, &t, t.data, lcpl) < 0)
            goto error;
        if (!t.trainable)
            continue;
        snprintf(name, sizeof name, "optimizer/m/%s", t.name);
        if (write_tensor(g, name, &t, t.m, lcpl) < 0)
            goto error;
        snprintf(name, sizeof name, "optimizer/v/%s", t.name);
        if (write_tensor(g, name, &t, t.v, lcpl) < 0)
            goto error;
    }
    if ((opt = H5Gopen2(g, "optimizer", H5P_DEFAULT)) < 0 ||
        cv_h5_attr_put(opt, "steps", H5T_STD_I64LE, H5T_NATIVE_INT64, &steps) < 0)
        goto error;
    ret = 0;
error:;
    hid_t stack = cv_h5_stack_save(ret);
    if (cv_h5_close(&opt) < 0 || cv_h5_close(&g) < 0)
        ret = -1;
    cv_h5_close(&lcpl);
    cv_h5_stack_restore(stack);
    return ret;
}

/* fsync of a file or directory by name. */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    if (close(fd) != 0)
        r = -1;
    return r;
}

static int save_checkpoint(cv_store *s, const cv_nn *net, const cv_checkpoint_info *info,
                           cv_error *err)
{
    char final[4096], tmp[4200], gname[32];
    hid_t file = H5I_INVALID_HID;
    int ret = 0;
    if (info->trial < 0)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: checkpoint of trial %lld: expected a trial >= 0",
                       s->path, (long long)info->trial);
    if (mkdir(s->ckpt_dir, 0777) != 0 && errno != EEXIST)
        return cv_fail(err, CV_ERR_IO, "%s: cannot create the checkpoint directory: %s",
                       s->ckpt_dir, strerror(errno));
    side_path(final, sizeof final, s, info->trial);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", final, (long)getpid());
    group_name(gname, sizeof gname, info->trial);

    if ((file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot create the checkpoint file", tmp);
        goto error;
    }
    if (cv_h5_attr_put_str(file, "format", CKPT_FORMAT) < 0 ||
        write_group(file, gname, net, info) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot write checkpoint %s", tmp, gname);
        goto error;
    }
    if (cv_h5_close(&file) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot close the checkpoint file", tmp);
        goto error;
    }
    /* Durable before it gets its name, and the name durable after. */
    if (sync_path(tmp) != 0 || rename(tmp, final) != 0) {
        ret = cv_fail(err, CV_ERR_IO, "%s: cannot sync and rename to %s: %s", tmp, final,
                      strerror(errno));
        goto error;
    }
    (void)sync_path(s->ckpt_dir); /* some file systems cannot sync a directory */
    return 0;

error:
    cv_h5_close(&file);
    unlink(tmp);
    return ret;
}

int cv_store_save_checkpoint(cv_store *s, const cv_nn *net, const cv_checkpoint_info *info,
                             cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = save_checkpoint(s, net, info, err);
    cv_h5_quiet_off(&q);
    return rc;
}

void cv_store_remove_side_files(const char *ckpt_dir, bool remove_dir)
{
    DIR *d = opendir(ckpt_dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d)) != NULL) {
        /* trial_NNNNNN.h5, the temp files of interrupted writes, and a new
         * results file whose creation was interrupted */
        if ((strncmp(e->d_name, "trial_", 6) != 0 || strstr(e->d_name, ".h5") == NULL) &&
            strcmp(e->d_name, CV_CREATING_NAME) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", ckpt_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    if (remove_dir)
        rmdir(ckpt_dir); /* fails, harmlessly, if something else lives there */
}

/* ---- finding a checkpoint ------------------------------------------------------ */

/* Whether /checkpoints/<gname> exists. */
static htri_t gathered(hid_t file, const char *gname)
{
    htri_t r = H5Lexists(file, CV_CHECKPOINTS, H5P_DEFAULT);
    if (r <= 0)
        return r;
    char path[64];
    snprintf(path, sizeof path, CV_CHECKPOINTS "/%s", gname);
    return H5Lexists(file, path, H5P_DEFAULT);
}

static bool side_file_exists(const cv_store *s, int64_t trial)
{
    char path[4096];
    side_path(path, sizeof path, s, trial);
    return access(path, R_OK) == 0;
}

/* The rows of /trials folded to one per trial, in id order
 * (cv_trial_rows_fold: a trial's last finished row wins). */
static int folded_trials(cv_store *s, cv_trial_row **rows, int64_t *n, cv_error *err)
{
    int rc = cv_store_read_trials(s, rows, n, err);
    if (rc < 0)
        return rc;
    int64_t k = cv_trial_rows_fold(*rows, *n);
    if (k < 0) {
        free(*rows);
        *rows = NULL, *n = 0;
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the trials", s->path);
    }
    *n = k;
    return 0;
}

/* Sorts rows best first (insertion sort: tables are small). */
static void rank_rows(cv_trial_row *rows, int64_t n, cv_metric metric)
{
    for (int64_t i = 1; i < n; i++) {
        cv_trial_row r = rows[i];
        int64_t j = i;
        while (j > 0 && cv_trial_row_ranks_before(&r, &rows[j - 1], metric)) {
            rows[j] = rows[j - 1];
            j--;
        }
        rows[j] = r;
    }
}

/* A growable list of rows. */
typedef struct row_list {
    cv_trial_row *rows;
    int64_t n, cap;
} row_list;

static int row_list_push(row_list *l, const cv_trial_row *r)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 16;
        cv_trial_row *p = realloc(l->rows, (size_t)cap * sizeof *p);
        if (p == NULL)
            return -1;
        l->rows = p, l->cap = cap;
    }
    l->rows[l->n++] = *r;
    return 0;
}

static bool row_list_has(const row_list *l, int64_t trial)
{
    for (int64_t i = 0; i < l->n; i++)
        if (l->rows[i].trial == trial)
            return true;
    return false;
}

/* A row for a checkpoint whose trial has no row (its run was killed before
 * writing it): what the checkpoint itself records, enough to rank it. Its
 * figures are those of an epoch that ended, so it ranks by them as a
 * finished trial would (an interrupted row's figures would not count). */
static int row_from_checkpoint(hid_t g, cv_trial_row *r)
{
    memset(r, 0, sizeof *r);
    r->status = CV_TRIAL_DONE;
    r->parent = -1;
    return cv_h5_attr_get(g, "trial", H5T_NATIVE_INT64, &r->trial) < 0 ||
                   cv_h5_attr_get(g, "dev_accuracy", H5T_NATIVE_DOUBLE, &r->dev_accuracy) < 0 ||
                   cv_h5_attr_get(g, "dev_loss", H5T_NATIVE_DOUBLE, &r->dev_loss) < 0
               ? -1
               : 0;
}

/* Whether name is that of a side-file checkpoint (trial_NNNNNN.h5, not a
 * writer's temp file), and its trial. */
static bool side_trial(const char *name, int64_t *trial)
{
    long long t;
    int end = 0;
    if (sscanf(name, "trial_%lld.h5%n", &t, &end) != 1 || name[end] != '\0' || t < 0)
        return false;
    *trial = t;
    return true;
}

/* Every trial that has a checkpoint, gathered in /checkpoints or in a side
 * file, as rows to rank: its row of /trials (the one cv_trial_rows_fold
 * keeps), or else what the checkpoint records. Unreadable side files (a
 * foreign file dropped there) are skipped. */
static int candidates(cv_store *s, row_list *out, cv_error *err)
{
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    char gname[32];
    memset(out, 0, sizeof *out);
    int ret = folded_trials(s, &rows, &n, err);
    if (ret < 0)
        return ret;
    for (int64_t i = 0; i < n && ret == 0; i++) {
        group_name(gname, sizeof gname, rows[i].trial);
        htri_t g = gathered(s->file, gname);
        if (g < 0)
            ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot look up /checkpoints", s->path);
        else if ((g > 0 || side_file_exists(s, rows[i].trial)) && row_list_push(out, &rows[i]) < 0)
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
    }
    free(rows);

    /* Gathered checkpoints without a row. */
    htri_t has = ret == 0 ? H5Lexists(s->file, CV_CHECKPOINTS, H5P_DEFAULT) : 0;
    if (has > 0) {
        hid_t ck = H5Gopen2(s->file, CV_CHECKPOINTS, H5P_DEFAULT);
        H5G_info_t gi = {0};
        if (ck < 0 || H5Gget_info(ck, &gi) < 0)
            ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot list /checkpoints", s->path);
        for (hsize_t i = 0; ret == 0 && i < gi.nlinks; i++) {
            char name[64];
            cv_trial_row r;
            if (H5Lget_name_by_idx(ck, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                   H5P_DEFAULT) < 0)
                continue;
            hid_t g = H5Gopen2(ck, name, H5P_DEFAULT);
            if (g >= 0 && row_from_checkpoint(g, &r) == 0 && !row_list_has(out, r.trial) &&
                row_list_push(out, &r) < 0)
                ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
            cv_h5_close(&g);
        }
        cv_h5_close(&ck);
    }

    /* Side files without a row. */
    DIR *d = ret == 0 ? opendir(s->ckpt_dir) : NULL;
    struct dirent *e;
    while (d != NULL && ret == 0 && (e = readdir(d)) != NULL) {
        int64_t t;
        if (!side_trial(e->d_name, &t) || row_list_has(out, t))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", s->ckpt_dir, e->d_name);
        group_name(gname, sizeof gname, t);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t g = f >= 0 ? H5Gopen2(f, gname, H5P_DEFAULT) : H5I_INVALID_HID;
        cv_trial_row r;
        if (g >= 0 && row_from_checkpoint(g, &r) == 0 && r.trial == t &&
            row_list_push(out, &r) < 0)
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
        cv_h5_close(&g);
        cv_h5_close(&f);
    }
    if (d != NULL)
        closedir(d);
    if (ret < 0) {
        free(out->rows);
        memset(out, 0, sizeof *out);
    }
    return ret;
}

/* The open checkpoint group of trial (or CV_STORE_BEST) in s's file or a side
 * file (*side, to be closed by the caller after the group). */
static int locate(cv_store *s, int64_t trial, hid_t *group, hid_t *side, int64_t *found,
                  cv_error *err)
{
    char gname[32], path[4096];
    int ret = 0;
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    *group = *side = H5I_INVALID_HID;

    if (trial == CV_STORE_BEST) {
        htri_t has_best = H5Lexists(s->file, CV_BEST, H5P_DEFAULT);
        if (has_best > 0 && H5Oexists_by_name(s->file, CV_BEST, H5P_DEFAULT) > 0) {
            if ((*group = H5Gopen2(s->file, CV_BEST, H5P_DEFAULT)) < 0)
                return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open /best", s->path);
            int64_t t = -1;
            if (cv_h5_attr_get(*group, "trial", H5T_NATIVE_INT64, &t) < 0)
                return cv_h5_fail(err, CV_ERR_INPUT, "%s: /best has no attribute trial", s->path);
            *found = t;
            return 0;
        }
        /* No /best yet (a run that did not finish): the best trial that has
         * a checkpoint, gathered or in a side file. */
        row_list c;
        if ((ret = candidates(s, &c, err)) < 0)
            return ret;
        rank_rows(c.rows, c.n, s->metric);
        trial = c.n > 0 ? c.rows[0].trial : -1;
        free(c.rows);
        if (trial < 0)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: no trial has a checkpoint (the job's checkpoints: {keep: 0}?)",
                           s->path);
    }

    *found = trial;
    group_name(gname, sizeof gname, trial);
    htri_t g = gathered(s->file, gname);
    if (g < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot look up /checkpoints", s->path);
    if (g > 0) {
        snprintf(path, sizeof path, CV_CHECKPOINTS "/%s", gname);
        if ((*group = H5Gopen2(s->file, path, H5P_DEFAULT)) < 0)
            return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open /%s", s->path, path);
        return 0;
    }
    if (side_file_exists(s, trial)) {
        side_path(path, sizeof path, s, trial);
        if ((*side = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
            return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open the checkpoint file", path);
        if ((*group = H5Gopen2(*side, gname, H5P_DEFAULT)) < 0)
            return cv_h5_fail(err, CV_ERR_INPUT, "%s: no group %s", path, gname);
        return 0;
    }

    /* Say which: no such trial, or a trial without a checkpoint. */
    if ((ret = folded_trials(s, &rows, &n, err)) < 0)
        return ret;
    bool known = false;
    int64_t lo = INT64_MAX, hi = -1;
    for (int64_t i = 0; i < n; i++) {
        known |= rows[i].trial == trial;
        lo = rows[i].trial < lo ? rows[i].trial : lo;
        hi = rows[i].trial > hi ? rows[i].trial : hi;
    }
    if (!known && n == 0)
        ret = cv_fail(err, CV_ERR_INPUT, "%s: no trial %lld: the file has no trials yet", s->path,
                      (long long)trial);
    else if (!known)
        ret = cv_fail(err, CV_ERR_INPUT, "%s: no trial %lld (the file has trials %lld to %lld)",
                      s->path, (long long)trial, (long long)lo, (long long)hi);
    else {
        char kept[256] = "";
        size_t len = 0;
        int shown = 0;
        row_list c;
        cv_error ignored = {0}; /* the listing is a courtesy: err keeps its message */
        if (candidates(s, &c, &ignored) < 0)
            c.n = 0, c.rows = NULL;
        for (int64_t i = 0; i < c.n && len < sizeof kept - 24; i++, shown++)
            len += (size_t)snprintf(kept + len, sizeof kept - len, "%s%lld", shown ? ", " : "",
                                    (long long)c.rows[i].trial);
        free(c.rows);
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: trial %lld has no checkpoint (only the best trials keep theirs, "
                      "checkpoints: {keep: K}; trials with one: %s)",
                      s->path, (long long)trial, shown ? kept : "none");
    }
    free(rows);
    return ret;
}

/* ---- reading ------------------------------------------------------------------ */

static int read_info(cv_store *s, hid_t g, const char *where, cv_checkpoint_info *info,
                     cv_error *err)
{
    int32_t epochs = 0, inputs = 0, classes = 0;
    memset(&info->config, 0, sizeof info->config);
    if (cv_h5_attr_get(g, "trial", H5T_NATIVE_INT64, &info->trial) < 0 ||
        cv_h5_attr_get(g, "epochs_trained", H5T_NATIVE_INT32, &epochs) < 0 ||
        cv_h5_attr_get(g, "inputs", H5T_NATIVE_INT32, &inputs) < 0 ||
        cv_h5_attr_get(g, "classes", H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_get(g, "dev_accuracy", H5T_NATIVE_DOUBLE, &info->dev_accuracy) < 0 ||
        cv_h5_attr_get(g, "dev_loss", H5T_NATIVE_DOUBLE, &info->dev_loss) < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: %s: missing or unreadable attributes", s->path,
                          where);
    if (inputs < 1 || classes < 2 || epochs < 0)
        return cv_fail(err, CV_ERR_INPUT,
                       "%s: %s: inputs %d, classes %d, epochs %d: expected >= 1, >= 2, >= 0",
                       s->path, where, (int)inputs, (int)classes, (int)epochs);
    /* seed came after format_version 1's first files: optional */
    info->seed = 0;
    if (H5Aexists(g, "seed") > 0 && cv_h5_attr_get(g, "seed", H5T_NATIVE_UINT64, &info->seed) < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: %s: cannot read attribute seed", s->path, where);
    info->epochs = epochs;
    info->inputs = inputs;
    info->classes = classes;
    cv_config_defaults(&info->config);
    for (int p = 0; p < CV_P_COUNT; p++) {
        double v;
        int r = cv_h5_attr_get_param(g, (cv_param)p, &v);
        if (r == -1)
            return cv_h5_fail(err, CV_ERR_INPUT, "%s: %s: cannot read attribute %s", s->path,
                              where, cv_param_get_info((cv_param)p)->name);
        if (r < 0)
            return cv_fail(err, CV_ERR_INPUT, "%s: %s: attribute %s missing or not valid",
                           s->path, where, cv_param_get_info((cv_param)p)->name);
        cv_config_set(&info->config, (cv_param)p, v);
    }
    hid_t opt = H5Gopen2(g, "optimizer", H5P_DEFAULT);
    if (opt < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: %s: no optimizer group", s->path, where);
    int bad = cv_h5_attr_get(opt, "steps", H5T_NATIVE_INT64, &info->steps);
    hid_t stack = cv_h5_stack_save(bad);
    bad |= cv_h5_close(&opt);
    cv_h5_stack_restore(stack);
    if (bad < 0 || info->steps < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: %s/optimizer: no valid attribute steps",
                          s->path, where);
    return 0;
}

static int checkpoint_info(cv_store *s, int64_t trial, cv_checkpoint_info *info, cv_error *err)
{
    hid_t g = H5I_INVALID_HID, side = H5I_INVALID_HID;
    int64_t found = -1;
    char where[64];
    int ret = locate(s, trial, &g, &side, &found, err);
    if (ret == 0) {
        snprintf(where, sizeof where, "checkpoint of trial %lld", (long long)found);
        ret = read_info(s, g, where, info, err);
    }
    cv_h5_close(&g);
    cv_h5_close(&side);
    return ret;
}

int cv_store_checkpoint_info(cv_store *s, int64_t trial, cv_checkpoint_info *info,
                             cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = checkpoint_info(s, trial, info, err);
    cv_h5_quiet_off(&q);
    return rc;
}

void cv_store_probe_checkpoints(cv_store *s)
{
    /* Every side file, whole (its own HDF5 file: a reader opens it whatever
     * its row says). */
    DIR *d = opendir(s->ckpt_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        int64_t t;
        char path[4400];
        if (!side_trial(e->d_name, &t))
            continue;
        side_path(path, sizeof path, s, t);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0)
            cv_h5_walk(f);
        cv_h5_close(&f);
    }
    if (d != NULL)
        closedir(d);

    cv_checkpoint_info info;
    cv_error ignored = {0};
    row_list all;
    if (candidates(s, &all, &ignored) == 0) {
        for (int64_t i = 0; i < all.n; i++) {
            cv_error_clear(&ignored);
            (void)checkpoint_info(s, all.rows[i].trial, &info, &ignored);
        }
        free(all.rows);
    }
    cv_error_clear(&ignored);
    (void)checkpoint_info(s, CV_STORE_BEST, &info, &ignored);
}

/* Reads dataset name under g into dst, which must have t's shape. */
static int read_tensor(cv_store *s, hid_t g, const char *where, const char *name,
                       const cv_tensor *t, float *dst, cv_error *err)
{
    int ret = 0;
    hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    if ((dset = H5Dopen2(g, name, H5P_DEFAULT)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: %s: no dataset %s", s->path, where, name);
        goto done;
    }
    if ((space = H5Dget_space(dset)) < 0 || H5Sget_simple_extent_ndims(space) != t->rank ||
        H5Sget_simple_extent_dims(space, dims, NULL) != t->rank ||
        dims[0] != (hsize_t)t->dims[0] || (t->rank == 2 && dims[1] != (hsize_t)t->dims[1])) {
        ret = cv_fail(err, CV_ERR_INPUT, "%s: %s: %s has shape (%llu%s%llu): expected (%lld%s%lld)",
                      s->path, where, name, (unsigned long long)dims[0], t->rank == 2 ? ", " : "",
                      (unsigned long long)dims[1], (long long)t->dims[0], t->rank == 2 ? ", " : "",
                      (long long)t->dims[1]);
        goto done;
    }
    if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: %s: cannot read %s", s->path, where, name);
done:
    cv_h5_close(&space);
    cv_h5_close(&dset);
    return ret;
}

static int load_checkpoint(cv_store *s, int64_t trial, cv_nn *net, cv_error *err)
{
    hid_t g = H5I_INVALID_HID, side = H5I_INVALID_HID;
    int64_t found = -1;
    char where[64];
    cv_checkpoint_info info;
    int ret = locate(s, trial, &g, &side, &found, err);
    if (ret < 0)
        goto done;
    snprintf(where, sizeof where, "checkpoint of trial %lld", (long long)found);
    if ((ret = read_info(s, g, where, &info, err)) < 0)
        goto done;
    const cv_config *cfg = cv_nn_config(net);
    if (info.inputs != cv_nn_inputs(net) || info.classes != cv_nn_classes(net) ||
        info.config.layers != cfg->layers || info.config.hidden_units != cfg->hidden_units ||
        info.config.batch_norm != cfg->batch_norm) {
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: %s is a %d -> %d x %d -> %d network%s, not the %d -> %d x %d -> %d "
                      "one to load it into",
                      s->path, where, info.inputs, info.config.layers, info.config.hidden_units,
                      info.classes, info.config.batch_norm ? "" : " without batch norm",
                      cv_nn_inputs(net), cfg->layers, cfg->hidden_units, cv_nn_classes(net));
        goto done;
    }
    for (int i = 0; i < cv_nn_tensor_count(net) && ret == 0; i++) {
        cv_tensor t = cv_nn_tensor(net, i);
        char name[80];
        ret = read_tensor(s, g, where, t.name, &t, t.data, err);
        if (ret == 0 && t.trainable) {
            snprintf(name, sizeof name, "optimizer/m/%s", t.name);
            ret = read_tensor(s, g, where, name, &t, t.m, err);
        }
        if (ret == 0 && t.trainable) {
            snprintf(name, sizeof name, "optimizer/v/%s", t.name);
            ret = read_tensor(s, g, where, name, &t, t.v, err);
        }
    }
    if (ret == 0)
        cv_nn_set_steps(net, info.steps);
done:
    cv_h5_close(&g);
    cv_h5_close(&side);
    return ret;
}

int cv_store_load_checkpoint(cv_store *s, int64_t trial, cv_nn *net, cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = load_checkpoint(s, trial, net, err);
    cv_h5_quiet_off(&q);
    return rc;
}

/* ---- gathering ----------------------------------------------------------------- */

/* Copies the side file of trial into /checkpoints (replacing a group of that
 * name). */
static int copy_side_file(cv_store *s, hid_t ckpts, int64_t trial, cv_error *err)
{
    char path[4096], gname[32];
    side_path(path, sizeof path, s, trial);
    group_name(gname, sizeof gname, trial);
    hid_t side = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (side < 0)
        return cv_h5_fail(err, CV_ERR_IO, "%s: cannot open the checkpoint file", path);
    int ret = 0;
    htri_t old = H5Lexists(ckpts, gname, H5P_DEFAULT);
    if (old < 0 || (old > 0 && H5Ldelete(ckpts, gname, H5P_DEFAULT) < 0))
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot replace /checkpoints/%s", s->path, gname);
    else if (H5Ocopy(side, gname, ckpts, gname, H5P_DEFAULT, H5P_DEFAULT) < 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot copy %s into /checkpoints", s->path, path);
    if (H5Fclose(side) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot close", path);
    return ret;
}

static int gather(cv_store *s, int keep, cv_metric metric, cv_error *err)
{
    int ret = 0;
    hid_t ckpts = H5I_INVALID_HID;
    cv_trial_row *rows = NULL;
    char gname[32], target[64];

    if (!s->writable)
        return cv_fail(err, CV_ERR_RUNTIME, "%s: opened read-only: cannot gather checkpoints",
                       s->path);
    /* Objects cannot be created in SWMR mode: close it, reopen plainly. */
    if (s->swmr_write && (ret = cv_store_reopen_plain(s, err)) < 0)
        return ret;
    row_list c;
    if ((ret = candidates(s, &c, err)) < 0)
        return ret;
    rows = c.rows;
    int64_t m = c.n;

    htri_t has = H5Lexists(s->file, CV_CHECKPOINTS, H5P_DEFAULT);
    if (has < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot look up /checkpoints", s->path);
        goto done;
    }
    ckpts = has ? H5Gopen2(s->file, CV_CHECKPOINTS, H5P_DEFAULT)
                : H5Gcreate2(s->file, CV_CHECKPOINTS, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ckpts < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot create /checkpoints", s->path);
        goto done;
    }

    /* The trials with a side file or a gathered checkpoint, best first. */
    rank_rows(rows, m, metric);
    int64_t kept = keep == CV_CHECKPOINTS_ALL ? m : keep < m ? keep : m;

    for (int64_t i = 0; i < m; i++) {
        group_name(gname, sizeof gname, rows[i].trial);
        if (i < kept && side_file_exists(s, rows[i].trial)) {
            if ((ret = copy_side_file(s, ckpts, rows[i].trial, err)) < 0)
                goto done;
        } else if (i >= kept) {
            htri_t g = H5Lexists(ckpts, gname, H5P_DEFAULT);
            if (g < 0 || (g > 0 && H5Ldelete(ckpts, gname, H5P_DEFAULT) < 0)) {
                ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot drop /checkpoints/%s", s->path,
                                 gname);
                goto done;
            }
        }
    }

    /* /best: a soft link, so that it follows the group by name. */
    htri_t best = H5Lexists(s->file, CV_BEST, H5P_DEFAULT);
    if (best < 0 || (best > 0 && H5Ldelete(s->file, CV_BEST, H5P_DEFAULT) < 0)) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot replace /best", s->path);
        goto done;
    }
    if (kept > 0) {
        group_name(gname, sizeof gname, rows[0].trial);
        snprintf(target, sizeof target, "/" CV_CHECKPOINTS "/%s", gname);
        if (H5Lcreate_soft(target, s->file, CV_BEST, H5P_DEFAULT, H5P_DEFAULT) < 0) {
            ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot link /best to %s", s->path, target);
            goto done;
        }
    }
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot flush the gathered checkpoints", s->path);
        goto done;
    }
    /* Everything kept is in the file now: the side files have served. */
    cv_store_remove_side_files(s->ckpt_dir, true);
done:
    if (cv_h5_close(&ckpts) < 0 && ret == 0)
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot close /checkpoints", s->path);
    free(rows);
    return ret;
}

int cv_store_gather_checkpoints(cv_store *s, int keep, cv_metric metric, cv_error *err)
{
    cv_h5_quiet q = cv_h5_quiet_on();
    int rc = gather(s, keep, metric, err);
    cv_h5_quiet_off(&q);
    return rc;
}
