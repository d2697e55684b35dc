/* store_int.h: the store module's private interface between store.c (the
 * file: create, open, close, root, /data, SWMR), tables.c (/trials, /curves,
 * /rounds), checkpoint.c (side files, /checkpoints, /best) and h5util.c (HDF5
 * error handling, attributes, compound layouts). */
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
    hid_t trials, curves, rounds; /* the tables, open for appending or reading */
    bool writable;   /* opened read-write */
    bool swmr_write; /* in SWMR write mode */
    bool swmr_read;  /* opened as a SWMR reader */
    int lock_fd;     /* a writer's flock on ckpt_dir, or -1 (see store.c) */
    char *creating;  /* a new file's temp name (ckpt_dir/creating.h5) until it is
                        complete and renamed to path (see store.c); else NULL */
    bool overwrite;  /* a new file may replace an existing one at path */
};

/* Table and dataset names. */
#define CV_TRIALS "trials"
#define CV_CURVES "curves"
#define CV_ROUNDS "rounds"
#define CV_DATA "data"
#define CV_CHECKPOINTS "checkpoints"
#define CV_BEST "best"

/* Fixed-length string widths in the tables. */
#define CV_STATUS_LEN 12  /* "interrupted" */
#define CV_WORD_LEN 16    /* the longest word of the vocabulary, "inverse_time" */
#define CV_VALUES_LEN 128 /* a round's categorical values */

/* Rows per chunk of the appendable tables. */
#define CV_TRIALS_CHUNK 64
#define CV_CURVES_CHUNK 256
#define CV_ROUNDS_CHUNK 8

/* ---- h5util.c ------------------------------------------------------------ */

/* HDF5's automatic error printing, switched off around every store call and
 * restored after. */
typedef struct cv_h5_quiet {
    H5E_auto2_t func;
    void *data;
    bool saved;
} cv_h5_quiet;
cv_h5_quiet cv_h5_quiet_on(void);
void cv_h5_quiet_off(cv_h5_quiet *q);

/* cv_fail with HDF5's most specific message of the failed call appended
 * (" (HDF5: ...)"): call it right after the call that failed. */
int cv_h5_fail(cv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Cleanup after a failure would clear HDF5's error stack (every API call
 * starts with a fresh one): save it first when ret < 0, restore it after, so
 * that the caller's cv_h5_fail still finds the cause. */
hid_t cv_h5_stack_save(int ret);
void cv_h5_stack_restore(hid_t stack);

/* Whether path's global heap collections (where HDF5 keeps variable-length
 * strings: the store's text attributes) are damaged, which HDF5 1.10 does
 * not check before reading them: an object of size 0 makes it loop forever,
 * an object larger than its collection makes it read out of bounds. Returns
 * 1 (damaged), 0 (sound, or not judged), -1 (cannot read the file). Call it
 * once HDF5 has opened the file: a collection that runs past the end of the
 * file counts as damaged, which only a file HDF5 finds complete tells apart
 * from a truncated file. */
int cv_h5_bad_global_heap(const char *path);

/* For the probe, ignoring failures (checkpoint.c): walks every side-file
 * checkpoint of s whole (cv_h5_walk), then reads the description of every
 * checkpoint (gathered, in side files, and /best) as
 * cv_store_checkpoint_info and the gathering read them. */
void cv_store_probe_checkpoints(cv_store *s);

/* Reads every object, attribute and soft link of an open file, and every
 * dataset whose reading could go wrong, ignoring what HDF5 refuses
 * (probe.c): run in a child process before caviar reads a results file,
 * where a crash inside HDF5 ends the child, not caviar. */
void cv_h5_walk(hid_t file);

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

/* A compound record layout built at run time, for tables whose fields come
 * from the vocabulary. Memory records are aligned C-style; the file type is
 * packed and little-endian. */
typedef enum cv_ftype { CV_F_BOOL, CV_F_I32, CV_F_I64, CV_F_U64, CV_F_F64, CV_F_STR } cv_ftype;
typedef struct cv_field {
    char name[64];
    cv_ftype type;
    size_t len; /* bytes of a string */
    size_t off; /* offset in the memory record */
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

/* Creates an empty 1-D chunked unlimited dataset of type file_type. */
hid_t cv_h5_create_table(hid_t loc, const char *name, hid_t file_type, hsize_t chunk);
/* Appends n records (memory type mem_type) at the end of dset, re-getting the
 * dataspace after the extent grows, and flushes the dataset. */
int cv_h5_append(hid_t dset, hid_t mem_type, const void *recs, hsize_t n);
/* The number of rows of a 1-D dataset, or -1. */
int64_t cv_h5_rows(hid_t dset);

/* ---- tables.c --------------------------------------------------------------- */

/* Creates /trials, /curves and /rounds (columns for the parameters job
 * searches) in a new file. */
int cv_store_create_tables(cv_store *s, const cv_job *job, cv_error *err);
/* Opens the tables of an existing file into s. */
int cv_store_open_tables(cv_store *s, cv_error *err);

/* ---- checkpoint.c ------------------------------------------------------------ */

/* The temp name, inside PATH.ckpt, under which a new results file is built. */
#define CV_CREATING_NAME "creating.h5"

/* Removes the side files (and temp files) of PATH.ckpt, and the directory
 * too if rmdir and it is left empty. */
void cv_store_remove_side_files(const char *ckpt_dir, bool rmdir);

/* ---- store.c --------------------------------------------------------------- */

/* The file access property list of files caviar writes: latest format (SWMR). */
hid_t cv_store_fapl_latest(void);
/* Closes the file of s and its tables (leaving SWMR mode), then reopens it
 * read-write without SWMR, so that objects can be created. */
int cv_store_reopen_plain(cv_store *s, cv_error *err);

#endif
