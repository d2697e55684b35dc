/* store_int.h: the store module's private interface, and its map.
 *
 * The store is caviar/store.h; its files, from the bottom up:
 *   h5util.c     HDF5 plumbing: errors into our messages, closing any
 *                identifier, the boolean and string types, attributes,
 *                float32 datasets, the 1-D appendable tables
 *   h5check.c    hand-written checks of on-disk structures HDF5 follows
 *                blindly (the global heap collections)
 *   layout.c     what a row of /trials, /curves and /rounds is as a record:
 *                compound layouts built at run time, rows packed and unpacked
 *   tables.c     the tables in the file: create, open, append, rewrite,
 *                read, refresh
 *   fold.c       a table as its readers want it: one row per trial (or per
 *                trial and epoch), and the one ranking of trials
 *   runs.c       /runs: the provenance of each run on the file
 *   segments.c   /segments, /rungs and /lineage: a trial's stretches of
 *                training, the halving decisions and PBT's lineage
 *   states.c     the side files a run continues its trials from
 *   root.c       the root attributes (format, job, metric, run times) and /data
 *   writer.c     the writer's lock on PATH.ckpt, and a new file built under a
 *                temp name and published when complete
 *   store.c      the life of a file: create, open (with the fallbacks for a
 *                killed writer), SWMR mode, close
 *   probe.c      the child process that reads all of a file before
 *                cv_store_open does
 *   checkpoint.c one checkpoint: its group written to a side file, read back
 *   gather.c     where the checkpoints are (gathered or side files), the
 *                best one, and gathering them into /checkpoints and /best */
#ifndef CAVIAR_STORE_INT_H
#define CAVIAR_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "caviar/store.h"

struct cv_store {
    char *path;      /* the results file */
    char *ckpt_dir;  /* path + ".ckpt": the side-file checkpoints of a run */
    char *job_text;  /* the root attribute job */
    char *job_path;  /* the root attribute job_path */
    cv_metric metric; /* the stored job's metric (for /best without a gather) */
    hid_t file;
    /* the tables, open for appending or reading */
    hid_t trials, curves, rounds, runs, segments, rungs, lineage;
    hid_t failures;  /* /failures: a program's failed segments (studies with a trainer) */
    bool writable;   /* opened read-write */
    bool swmr_write; /* in SWMR write mode */
    bool swmr_read;  /* opened as a SWMR reader */
    int lock_fd;     /* a writer's flock on ckpt_dir, or -1 (writer.c) */
    char *creating;  /* a new file's temp name (ckpt_dir/creating.h5) until it is
                        complete and published at path (writer.c); else NULL */
    bool overwrite;  /* a new file may replace an existing one at path */
};

/* Table and dataset names. */
#define CV_TRIALS "trials"
#define CV_CURVES "curves"
#define CV_ROUNDS "rounds"
#define CV_RUNS "runs"
#define CV_SEGMENTS "segments"
#define CV_RUNGS "rungs"
#define CV_LINEAGE "lineage"
#define CV_FAILURES "failures"
#define CV_DATA "data"
#define CV_CHECKPOINTS "checkpoints"
#define CV_BEST "best"

/* Fixed-length string widths in the tables. */
#define CV_STATUS_LEN 12  /* "interrupted" */
#define CV_WORD_LEN 16    /* the longest word of the vocabulary, "inverse_time" */
#define CV_PROGRAM_WORD_LEN 64 /* a program's categorical values (the job refuses longer) */
#define CV_VALUES_LEN 128 /* a round's categorical values */

/* Rows per chunk of the appendable tables. */
#define CV_TRIALS_CHUNK 64
#define CV_CURVES_CHUNK 256
#define CV_ROUNDS_CHUNK 8

/* ---- h5util.c ------------------------------------------------------------ */

/* Switches HDF5's automatic error printing off for good (for this thread, in
 * a thread-safe HDF5): the store reports HDF5's failures in its own
 * messages (cv_h5_fail), and some failures are expected (the fallbacks of
 * an open, the probe's reads). Called by cv_store_create and cv_store_open,
 * the calls every other one follows; see caviar/store.h. */
void cv_h5_silence(void);

/* cv_fail with HDF5's most specific message of the failed call appended
 * (" (HDF5: ...)"): call it right after the call that failed. */
int cv_h5_fail(cv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Cleanup after a failure would clear HDF5's error stack (every API call
 * starts with a fresh one): save it first when ret < 0, restore it after, so
 * that the caller's cv_h5_fail still finds the cause. */
hid_t cv_h5_stack_save(int ret);
void cv_h5_stack_restore(hid_t stack);

/* Closes any kind of hid_t if valid and sets it invalid; returns -1 if HDF5
 * refused. */
int cv_h5_close(hid_t *id);

/* Attributes on obj: scalar numbers (file type little-endian), variable-length
 * UTF-8 strings, and the vocabulary's typed values. Return 0 or -1 (the HDF5
 * error stack tells why: report with cv_h5_fail). */
int cv_h5_attr_put(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v);
int cv_h5_attr_put_str(hid_t obj, const char *name, const char *s);
int cv_h5_attr_get(hid_t obj, const char *name, hid_t mem_type, void *v);
/* Reads a string attribute (fixed or variable length) into a fresh buffer. */
int cv_h5_attr_get_str(hid_t obj, const char *name, char **out);
/* A hyperparameter as an attribute in its natural type (as in /trials). */
int cv_h5_attr_put_param(hid_t obj, cv_param p, double v);
/* Reads it back: 0, -1 (HDF5 failure) or -2 (no such attribute or a value
 * that is not valid for p). */
int cv_h5_attr_get_param(hid_t obj, cv_param p, double *v);

/* The boolean type: an enum of int8 {FALSE = 0, TRUE = 1}, as h5py writes
 * numpy bool. file: little-endian int8 base; else native. */
hid_t cv_h5_bool_type(bool file);
/* A fixed-length, NUL-padded ASCII string type of len bytes. */
hid_t cv_h5_str_type(size_t len);

/* A float32 (file type little-endian) dataset of rank and dims at name under
 * loc, written from v; lcpl: a link creation list (H5P_DEFAULT, or one that
 * creates intermediate groups). 0 or -1 (HDF5 says why). */
int cv_h5_write_floats(hid_t loc, const char *name, int rank, const hsize_t *dims,
                       const float *v, hid_t lcpl);

/* Creates an empty 1-D chunked unlimited dataset of type file_type. */
hid_t cv_h5_create_table(hid_t loc, const char *name, hid_t file_type, hsize_t chunk);
/* Appends n records (memory type mem_type) at the end of dset, re-getting the
 * dataspace after the extent grows, and flushes the dataset. */
int cv_h5_append(hid_t dset, hid_t mem_type, const void *recs, hsize_t n);
/* The number of rows of a 1-D dataset, or -1. */
int64_t cv_h5_rows(hid_t dset);

/* ---- h5check.c ----------------------------------------------------------- */

/* Whether path's global heap collections (where HDF5 keeps variable-length
 * strings: the store's text attributes) are damaged, which HDF5 1.10 does
 * not check before reading them: an object of size 0 makes it loop forever,
 * an object larger than its collection makes it read out of bounds. Returns
 * 1 (damaged), 0 (sound, or not judged), -1 (cannot read the file). Call it
 * once HDF5 has opened the file: a collection that runs past the end of the
 * file counts as damaged, which only a file HDF5 finds complete tells apart
 * from a truncated file. */
int cv_h5_bad_global_heap(const char *path);

/* ---- layout.c ------------------------------------------------------------ */

/* A compound record layout built at run time, for tables whose fields come
 * from the vocabulary. Memory records are aligned C-style; the file type is
 * packed and little-endian. */
typedef enum cv_ftype { CV_F_BOOL, CV_F_I32, CV_F_I64, CV_F_U64, CV_F_F64, CV_F_STR } cv_ftype;
typedef struct cv_field {
    char name[64];
    cv_ftype type;
    size_t len; /* bytes of a string */
    size_t off; /* offset in the memory record */
    bool optional; /* absent from files of earlier versions: read as zero */
} cv_field;
#define CV_MAX_FIELDS 96
typedef struct cv_layout {
    cv_field f[CV_MAX_FIELDS];
    int n;
    size_t size; /* of one memory record */
} cv_layout;

/* Appends a field; returns its index, or -1 when the layout is full. */
int cv_layout_add(cv_layout *L, const char *name, cv_ftype type, size_t len);
/* The index of the field called name, or -1. */
int cv_layout_find(const cv_layout *L, const char *name);
/* The compound types of the layout (H5I_INVALID_HID on failure). */
hid_t cv_layout_mem_type(const cv_layout *L);
hid_t cv_layout_file_type(const cv_layout *L);

/* Typed access to field i of the record at rec. */
void cv_rec_put_i32(void *rec, const cv_layout *L, int i, int32_t v);
void cv_rec_put_i64(void *rec, const cv_layout *L, int i, int64_t v);
void cv_rec_put_u64(void *rec, const cv_layout *L, int i, uint64_t v);
void cv_rec_put_f64(void *rec, const cv_layout *L, int i, double v);
void cv_rec_put_bool(void *rec, const cv_layout *L, int i, bool v);
void cv_rec_put_str(void *rec, const cv_layout *L, int i, const char *s);
int32_t cv_rec_get_i32(const void *rec, const cv_layout *L, int i);
int64_t cv_rec_get_i64(const void *rec, const cv_layout *L, int i);
uint64_t cv_rec_get_u64(const void *rec, const cv_layout *L, int i);
double cv_rec_get_f64(const void *rec, const cv_layout *L, int i);
bool cv_rec_get_bool(const void *rec, const cv_layout *L, int i);
/* Copies the string into out (size bytes, NUL-terminated). */
void cv_rec_get_str(const void *rec, const cv_layout *L, int i, char *out, size_t size);

/* The layouts of /trials and /curves; /rounds' for a new file (columns for
 * the parameters job searches; -1 when they do not fit) and for an existing
 * one (read from its file type ftype; -1 on failure). */
void cv_trials_layout(cv_layout *L);
void cv_curves_layout(cv_layout *L);
int cv_rounds_layout_for_job(cv_layout *L, const cv_job *job);
int cv_rounds_layout_from_file(cv_layout *L, hid_t ftype);

/* A row (a cv_trial_row, a cv_curve_row: void so that one append serves
 * both tables) packed into a record of its table's layout L. */
void cv_trial_pack(void *rec, const cv_layout *L, const void *row);
void cv_curve_pack(void *rec, const cv_layout *L, const void *row);
/* Row k of the table read back from its record; a trial row's words and
 * values must be valid (the row rebuilds configurations): else
 * CV_ERR_INPUT naming path and k. */
int cv_trial_unpack(cv_trial_row *r, const void *rec, const cv_layout *L, const char *path,
                    int64_t k, cv_error *err);
void cv_curve_unpack(cv_curve_row *r, const void *rec, const cv_layout *L);

/* ---- tables.c ------------------------------------------------------------ */

/* Unpacks record k of a table (at rec, layout L) into a row; 0 or
 * CV_ERR_INPUT naming path and k. */
typedef int (*cv_unpack_fn)(void *row, const void *rec, const cv_layout *L, const char *path,
                            int64_t k, cv_error *err);

/* Reads every row of an optional table into a fresh array of row_size
 * rows (*rows: free() it; NULL and 0 when the table is absent, dset < 0). */
int cv_table_read_rows(cv_store *s, hid_t dset, const char *name, const cv_layout *L,
                       size_t row_size, cv_unpack_fn unpack, void **rows, int64_t *n,
                       cv_error *err);

/* The operations on any table (name: its dataset's name, for messages):
 * create an empty one with layout L; open an existing one (a missing table
 * is an error when required, else *dset stays invalid); append n rows packed
 * by pack; read every record into a fresh buffer (*recs, free() it),
 * checking first that the file's type has every field of L. */
int cv_table_create(cv_store *s, const char *name, const cv_layout *L, hsize_t chunk, hid_t *dset,
                    cv_error *err);
int cv_table_open(cv_store *s, const char *name, bool required, hid_t *dset, cv_error *err);
int cv_table_append(cv_store *s, hid_t dset, const char *name, const cv_layout *L,
                    const void *rows, size_t row_size, int64_t n,
                    void (*pack)(void *, const cv_layout *, const void *), cv_error *err);
int cv_table_read(cv_store *s, hid_t dset, const char *name, const cv_layout *L, char **recs,
                  int64_t *n, cv_error *err);

/* Creates /trials, /curves, /rounds (columns for the parameters job
 * searches) and /runs in a new file. */
int cv_store_create_tables(cv_store *s, const cv_job *job, cv_error *err);
/* Opens the tables of an existing file into s. */
int cv_store_open_tables(cv_store *s, cv_error *err);

/* ---- runs.c -------------------------------------------------------------- */

/* Creates the empty /runs table (a new file, or one written before it
 * existed, opened for writing before SWMR mode begins). */
int cv_store_create_runs(cv_store *s, cv_error *err);

/* ---- root.c -------------------------------------------------------------- */

/* Writes the root attributes of a new file for job, run on ranks processes. */
int cv_store_write_root(cv_store *s, const cv_job *job, int ranks, cv_error *err);
/* Checks that an opened file is a caviar results file of a version this
 * caviar reads, and reads its job text, job path and metric into s. */
int cv_store_read_root(cv_store *s, cv_error *err);

/* ---- writer.c ------------------------------------------------------------ */

/* The temp name, inside PATH.ckpt, under which a new results file is built. */
#define CV_CREATING_NAME "creating.h5"

/* path + ".ckpt", freshly allocated (NULL without memory). */
char *cv_store_ckpt_dir(const char *path);
/* Takes the writer's lock on s->ckpt_dir (created if needed), or refuses with
 * CV_ERR_INPUT when another process holds it. */
int cv_store_lock_writer(cv_store *s, cv_error *err);
/* Whether a live process holds the writer's lock of ckpt_dir. */
bool cv_store_writer_alive(const char *ckpt_dir);
/* Names the temp file a new file is built under (s->creating); overwrite:
 * it may replace an existing file when published. */
int cv_store_begin_creating(cv_store *s, bool overwrite, cv_error *err);
/* Gives a complete new file (s->creating) its name; 0 when there is none. */
int cv_store_publish(cv_store *s, cv_error *err);
/* Removes an unpublished new file, and releases the writer's lock (and the
 * side-file directory, if empty). */
void cv_store_release_writer(cv_store *s);

/* ---- store.c ------------------------------------------------------------- */

/* cv_store_open without the probe: what the probing child itself runs. */
int cv_store_open_unprobed(cv_store **out, const char *path, cv_store_mode mode, cv_error *err);
/* Closes the file of s and its tables (leaving SWMR mode), then reopens it
 * read-write without SWMR, so that objects can be created. */
int cv_store_reopen_plain(cv_store *s, cv_error *err);

/* ---- probe.c ------------------------------------------------------------- */

/* Before this process reads the results file at path: a child process opens
 * it and reads every part of it (unless isolation is off), so that a file on
 * which HDF5 crashes, loops or runs out of memory is refused with
 * CV_ERR_INPUT ("PATH: damaged HDF5 file: the HDF5 library failed reading
 * it (...)"). 0 otherwise, whatever the child's reads found: the real open
 * reports that. */
int cv_store_probe(const char *path, cv_error *err);

/* ---- checkpoint.c --------------------------------------------------------- */

/* A checkpoint's group name (trial_NNNNNN) and its side file's path
 * (PATH.ckpt/trial_NNNNNN.h5). */
void cv_ckpt_group_name(char *buf, size_t size, int64_t trial);
void cv_ckpt_side_path(char *buf, size_t size, const cv_store *s, int64_t trial);
/* Whether name is that of a side-file checkpoint (trial_NNNNNN.h5, not a
 * writer's temp file), and its trial. */
bool cv_ckpt_side_trial(const char *name, int64_t *trial);
/* Whether trial's side file exists (and is readable). */
bool cv_ckpt_side_exists(const cv_store *s, int64_t trial);

/* Removes the side files (and temp files) of PATH.ckpt, and the directory
 * too if rmdir and it is left empty. */
void cv_store_remove_side_files(const char *ckpt_dir, bool rmdir);

/* Removes the files in dir whose names begin with prefix, and the one
 * called also (NULL: none). */
void cv_store_remove_files(const char *dir, const char *prefix, const char *also);

/* Creates /failures (failures.c): a file of a study with a trainer. */
int cv_store_create_failures(cv_store *s, cv_error *err);

/* Creates /segments, /rungs and /lineage where missing (segments.c). */
int cv_store_create_segments(cv_store *s, cv_error *err);

/* ---- gather.c ------------------------------------------------------------ */

/* Every trial that has a checkpoint, gathered in /checkpoints or in a side
 * file, as rows to rank (*rows, free() it): its row of /trials (the one
 * cv_trial_rows_fold keeps), or else what the checkpoint records.
 * Unreadable side files (a foreign file dropped there) are skipped. */
int cv_ckpt_candidates(cv_store *s, cv_trial_row **rows, int64_t *n, cv_error *err);
/* The open checkpoint group of trial (or CV_STORE_BEST: /best, else the best
 * trial with a checkpoint) in s's file or a side file (*side, to be closed
 * by the caller after the group), and the trial found. Fails with
 * CV_ERR_INPUT saying whether the trial does not exist or has no
 * checkpoint. */
int cv_ckpt_locate(cv_store *s, int64_t trial, hid_t *group, hid_t *side, int64_t *found,
                   cv_error *err);

#endif
