/* checkpoint.c: one checkpoint: a trial's weights, running statistics and
 * optimizer state, written to its side file and read back.
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
 * the end cv_store_gather_checkpoints (gather.c) copies the best ones into
 * /checkpoints (H5Ocopy, bit for bit), links /best and removes the side
 * files. Reading finds the group in either place (cv_ckpt_locate, gather.c). */
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

/* ---- names ------------------------------------------------------------------ */

void cv_ckpt_group_name(char *buf, size_t size, int64_t trial)
{
    snprintf(buf, size, "trial_%06lld", (long long)trial);
}

void cv_ckpt_side_path(char *buf, size_t size, const cv_store *s, int64_t trial)
{
    snprintf(buf, size, "%s/trial_%06lld.h5", s->ckpt_dir, (long long)trial);
}

/* Whether name is that of a side-file checkpoint (trial_NNNNNN.h5, not a
 * writer's temp file), and its trial. */
bool cv_ckpt_side_trial(const char *name, int64_t *trial)
{
    long long t;
    int end = 0;
    if (sscanf(name, "trial_%lld.h5%n", &t, &end) != 1 || name[end] != '\0' || t < 0)
        return false;
    *trial = t;
    return true;
}

bool cv_ckpt_side_exists(const cv_store *s, int64_t trial)
{
    char path[4096];
    cv_ckpt_side_path(path, sizeof path, s, trial);
    return access(path, R_OK) == 0;
}

/* ---- writing -------------------------------------------------------------- */

/* One tensor's values (data: its own, or a moment) at name under loc
 * (intermediate groups created by lcpl). */
static int write_tensor(hid_t loc, const char *name, const cv_tensor *t, const float *data,
                        hid_t lcpl)
{
    hsize_t dims[2] = {(hsize_t)t->dims[0], (hsize_t)t->dims[1]};
    return cv_h5_write_floats(loc, name, t->rank, dims, data, lcpl);
}

/* Writes the checkpoint group gname under loc. Returns 0 or -1 (HDF5 says why). */
static int write_group(hid_t loc, const char *gname, const cv_nn_state *state,
                       const cv_checkpoint_info *info)
{
    int ret = -1;
    hid_t g = H5I_INVALID_HID, opt = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    const cv_config *cfg = &state->config;
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0)
        goto error;
    if ((g = H5Gcreate2(loc, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto error;
    int64_t trial = info->trial, steps = cv_nn_state_steps(state);
    int32_t epochs = info->epochs, inputs = state->inputs, classes = state->classes;
    if (cv_h5_attr_put(g, "trial", H5T_STD_I64LE, H5T_NATIVE_INT64, &trial) < 0 ||
        cv_h5_attr_put(g, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &info->seed) < 0 ||
        cv_h5_attr_put(g, "epochs_trained", H5T_STD_I32LE, H5T_NATIVE_INT32, &epochs) < 0 ||
        cv_h5_attr_put(g, "inputs", H5T_STD_I32LE, H5T_NATIVE_INT32, &inputs) < 0 ||
        cv_h5_attr_put(g, "classes", H5T_STD_I32LE, H5T_NATIVE_INT32, &classes) < 0 ||
        cv_h5_attr_put(g, "dev_accuracy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                       &info->dev_accuracy) < 0 ||
        cv_h5_attr_put(g, "dev_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &info->dev_loss) < 0)
        goto error;
    for (int p = 0; p < CV_P_PROGRAM; p++) /* a network's: caviar's own vocabulary */
        if (cv_h5_attr_put_param(g, (cv_param)p, cv_config_get(cfg, (cv_param)p)) < 0)
            goto error;

    for (int i = 0; i < cv_nn_state_tensor_count(cfg); i++) {
        cv_tensor t = cv_nn_state_tensor(state, i);
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

int cv_store_save_checkpoint(cv_store *s, const cv_nn_state *state,
                             const cv_checkpoint_info *info, cv_error *err)
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
    cv_ckpt_side_path(final, sizeof final, s, info->trial);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", final, (long)getpid());
    cv_ckpt_group_name(gname, sizeof gname, info->trial);

    if ((file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        ret = cv_h5_fail(err, CV_ERR_IO, "%s: cannot create the checkpoint file", tmp);
        goto error;
    }
    if (cv_h5_attr_put_str(file, "format", CKPT_FORMAT) < 0 ||
        write_group(file, gname, state, info) < 0) {
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

void cv_store_remove_files(const char *dir, const char *prefix, const char *also)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 &&
            (also == NULL || strcmp(e->d_name, also) != 0))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

void cv_store_remove_side_files(const char *ckpt_dir, bool remove_dir)
{
    /* trial_NNNNNN.h5, the temp files of interrupted writes, and a new
     * results file whose creation was interrupted */
    cv_store_remove_files(ckpt_dir, "trial_", CV_CREATING_NAME);
    if (remove_dir)
        rmdir(ckpt_dir); /* fails, harmlessly, if something else lives there */
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
    for (int p = 0; p < CV_P_PROGRAM; p++) {
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

int cv_store_checkpoint_info(cv_store *s, int64_t trial, cv_checkpoint_info *info,
                             cv_error *err)
{
    hid_t g = H5I_INVALID_HID, side = H5I_INVALID_HID;
    int64_t found = -1;
    char where[64];
    int ret = cv_ckpt_locate(s, trial, &g, &side, &found, err);
    if (ret == 0) {
        snprintf(where, sizeof where, "checkpoint of trial %lld", (long long)found);
        ret = read_info(s, g, where, info, err);
    }
    cv_h5_close(&g);
    cv_h5_close(&side);
    return ret;
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

int cv_store_load_checkpoint(cv_store *s, int64_t trial, cv_nn *net, cv_error *err)
{
    hid_t g = H5I_INVALID_HID, side = H5I_INVALID_HID;
    int64_t found = -1;
    char where[64];
    cv_checkpoint_info info;
    int ret = cv_ckpt_locate(s, trial, &g, &side, &found, err);
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

