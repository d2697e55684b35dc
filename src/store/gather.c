/* gather.c: where the checkpoints of a results file are, and gathering them.
 *
 * A trial's checkpoint is a group /checkpoints/trial_NNNNNN once a run has
 * ended, or a side file PATH.ckpt/trial_NNNNNN.h5 while it runs (or after it
 * was killed); see checkpoint.c. This file knows which trials have one
 * (cv_ckpt_candidates), which of them is the best (the one ranking of trials,
 * cv_trial_row_ranks_before, over /trials folded by cv_trial_rows_fold),
 * opens the group of a trial or of /best wherever it is (cv_ckpt_locate),
 * and at the end of a run copies the best `keep` into /checkpoints, links
 * /best and removes the side files (cv_store_gather_checkpoints). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- which trials have a checkpoint ------------------------------------------- */

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

int cv_ckpt_candidates(cv_store *s, cv_trial_row **found, int64_t *n_found, cv_error *err)
{
    cv_trial_row *rows = NULL;
    int64_t n = 0;
    char gname[32];
    row_list list = {0};
    *found = NULL;
    *n_found = 0;
    int ret = folded_trials(s, &rows, &n, err);
    if (ret < 0)
        return ret;
    for (int64_t i = 0; i < n && ret == 0; i++) {
        cv_ckpt_group_name(gname, sizeof gname, rows[i].trial);
        htri_t g = gathered(s->file, gname);
        if (g < 0)
            ret = cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot look up /checkpoints", s->path);
        else if ((g > 0 || cv_ckpt_side_exists(s, rows[i].trial)) &&
                 row_list_push(&list, &rows[i]) < 0)
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
            if (g >= 0 && row_from_checkpoint(g, &r) == 0 && !row_list_has(&list, r.trial) &&
                row_list_push(&list, &r) < 0)
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
        if (!cv_ckpt_side_trial(e->d_name, &t) || row_list_has(&list, t))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", s->ckpt_dir, e->d_name);
        cv_ckpt_group_name(gname, sizeof gname, t);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t g = f >= 0 ? H5Gopen2(f, gname, H5P_DEFAULT) : H5I_INVALID_HID;
        cv_trial_row r;
        if (g >= 0 && row_from_checkpoint(g, &r) == 0 && r.trial == t &&
            row_list_push(&list, &r) < 0)
            ret = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", s->path);
        cv_h5_close(&g);
        cv_h5_close(&f);
    }
    if (d != NULL)
        closedir(d);
    if (ret < 0) {
        free(list.rows);
        return ret;
    }
    *found = list.rows;
    *n_found = list.n;
    return 0;
}

/* ---- finding one -------------------------------------------------------------- */

int cv_ckpt_locate(cv_store *s, int64_t trial, hid_t *group, hid_t *side, int64_t *found,
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
        if ((ret = cv_ckpt_candidates(s, &rows, &n, err)) < 0)
            return ret;
        rank_rows(rows, n, s->metric);
        trial = n > 0 ? rows[0].trial : -1;
        free(rows);
        rows = NULL;
        if (trial < 0)
            return cv_fail(err, CV_ERR_INPUT,
                           "%s: no trial has a checkpoint (the job's checkpoints: {keep: 0}?)",
                           s->path);
    }

    *found = trial;
    cv_ckpt_group_name(gname, sizeof gname, trial);
    htri_t g = gathered(s->file, gname);
    if (g < 0)
        return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot look up /checkpoints", s->path);
    if (g > 0) {
        snprintf(path, sizeof path, CV_CHECKPOINTS "/%s", gname);
        if ((*group = H5Gopen2(s->file, path, H5P_DEFAULT)) < 0)
            return cv_h5_fail(err, CV_ERR_INPUT, "%s: cannot open /%s", s->path, path);
        return 0;
    }
    if (cv_ckpt_side_exists(s, trial)) {
        cv_ckpt_side_path(path, sizeof path, s, trial);
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
        cv_trial_row *with = NULL;
        int64_t n_with = 0;
        cv_error ignored = {0}; /* the listing is a courtesy: err keeps its message */
        (void)cv_ckpt_candidates(s, &with, &n_with, &ignored); /* none when it fails */
        for (int64_t i = 0; i < n_with && len < sizeof kept - 24; i++, shown++)
            len += (size_t)snprintf(kept + len, sizeof kept - len, "%s%lld", shown ? ", " : "",
                                    (long long)with[i].trial);
        free(with);
        ret = cv_fail(err, CV_ERR_INPUT,
                      "%s: trial %lld has no checkpoint (only the best trials keep theirs, "
                      "checkpoints: {keep: K}; trials with one: %s)",
                      s->path, (long long)trial, shown ? kept : "none");
    }
    free(rows);
    return ret;
}

/* ---- gathering ----------------------------------------------------------------- */

/* Copies the side file of trial into /checkpoints (replacing a group of that
 * name). */
static int copy_side_file(cv_store *s, hid_t ckpts, int64_t trial, cv_error *err)
{
    char path[4096], gname[32];
    cv_ckpt_side_path(path, sizeof path, s, trial);
    cv_ckpt_group_name(gname, sizeof gname, trial);
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

int cv_store_gather_checkpoints(cv_store *s, int keep, cv_metric metric, cv_error *err)
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
    int64_t m = 0;
    if ((ret = cv_ckpt_candidates(s, &rows, &m, err)) < 0)
        return ret;

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
        cv_ckpt_group_name(gname, sizeof gname, rows[i].trial);
        if (i < kept && cv_ckpt_side_exists(s, rows[i].trial)) {
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
        cv_ckpt_group_name(gname, sizeof gname, rows[0].trial);
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

