/* caviar/config.h: the vocabulary every module shares (module `vocab`, the
 * ground floor: it includes nothing of caviar's but caviar/error.h, the error
 * record of util that --set reports into).
 *
 * The hyperparameters and one configuration; the metric a study optimizes
 * and the one rule for "is A better than B" under it; the statuses a trial
 * ends with.
 *
 * A cv_config is plain data: every hyperparameter a trial needs, by name. The
 * vocabulary table (cv_param_info) describes each one generically: its name
 * in job files and results files, its kind, its default and its valid range,
 * so that the job parser, --set, the sampler and the results store handle all
 * of them with one loop. Every value is also representable as a double:
 * integers as integral doubles, booleans as 0/1, words as their index. */
#ifndef CAVIAR_CONFIG_H
#define CAVIAR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "caviar/error.h"

typedef enum cv_optimizer { CV_OPT_SGD, CV_OPT_MOMENTUM, CV_OPT_RMSPROP, CV_OPT_ADAM } cv_optimizer;
typedef enum cv_activation { CV_ACT_RELU, CV_ACT_LEAKY_RELU, CV_ACT_TANH, CV_ACT_SIGMOID } cv_activation;
typedef enum cv_lr_schedule {
    CV_LR_NONE,
    CV_LR_INVERSE_TIME, /* lr / (1 + decay * epoch) */
    CV_LR_EXPONENTIAL,  /* lr * decay^epoch */
    CV_LR_STEP,         /* lr * decay^floor(epoch / CV_LR_STEP_EPOCHS) */
} cv_lr_schedule;
typedef enum cv_init { CV_INIT_HE, CV_INIT_XAVIER } cv_init;

/* The step schedule multiplies the learning rate by lr_decay every this many epochs. */
#define CV_LR_STEP_EPOCHS 5

/* The vocabulary, in the order of the results table's columns. */
typedef enum cv_param {
    CV_P_LEARNING_RATE,
    CV_P_MOMENTUM,
    CV_P_BETA1,
    CV_P_BETA2,
    CV_P_EPSILON,
    CV_P_LAYERS,
    CV_P_HIDDEN_UNITS,
    CV_P_BATCH_SIZE,
    CV_P_LR_DECAY,
    CV_P_LR_SCHEDULE,
    CV_P_EPOCHS,
    CV_P_OPTIMIZER,
    CV_P_ACTIVATION,
    CV_P_BATCH_NORM,
    CV_P_BN_MOMENTUM,
    CV_P_BN_EPSILON,
    CV_P_WEIGHT_DECAY,
    CV_P_DROPOUT,
    CV_P_INIT,
    CV_P_PATIENCE,
    /* A program's own parameters (a job with `trainer:`): CV_PROGRAM_SLOTS
     * slots, named and typed by the job (cv_vocab_set_program); unnamed
     * slots take no part in anything. */
    CV_P_PROGRAM,
    CV_P_COUNT = CV_P_PROGRAM + 16
} cv_param;

/* How many parameters of its own a program may have. */
#define CV_PROGRAM_SLOTS (CV_P_COUNT - CV_P_PROGRAM)

typedef enum cv_kind {
    CV_KIND_REAL, /* a real number */
    CV_KIND_INT,  /* an integer */
    CV_KIND_BOOL, /* true | false, held as 1 | 0 */
    CV_KIND_WORD, /* one of a fixed set of words, held as its index */
} cv_kind;

typedef struct cv_config {
    double learning_rate; /* alpha */
    double momentum;      /* beta of momentum and RMSprop */
    double beta1;         /* Adam's first-moment beta */
    double beta2;         /* Adam's second-moment beta */
    double epsilon;       /* RMSprop's and Adam's epsilon */
    int layers;           /* hidden layers */
    int hidden_units;     /* units per hidden layer */
    int batch_size;
    double lr_decay;
    cv_lr_schedule lr_schedule;
    int epochs;
    cv_optimizer optimizer;
    cv_activation activation;
    bool batch_norm;
    double bn_momentum; /* m in running = m * running + (1 - m) * batch */
    double bn_epsilon;
    double weight_decay; /* L2 coefficient on the weight matrices */
    double dropout;      /* probability of dropping a hidden unit */
    cv_init init;
    int patience; /* epochs without improvement before stopping; 0 = off */
    double program[CV_PROGRAM_SLOTS]; /* a program's parameters (words: their index) */
} cv_config;

typedef struct cv_param_info {
    const char *name; /* as in job files and the results table */
    cv_kind kind;
    double def;               /* default value */
    double lo, hi;            /* valid range (numbers) */
    bool lo_open, hi_open;    /* whether lo / hi themselves are excluded */
    const char *const *words; /* CV_KIND_WORD: the words, by index */
    int n_words;
} cv_param_info;

/* The table entry of p; p must be < CV_P_COUNT. */
const cv_param_info *cv_param_get_info(cv_param p);

/* The parameter named name among the active ones (cv_param_active), or -1
 * if there is none. */
int cv_param_lookup(const char *name);

/* ---- a program's vocabulary ------------------------------------------------
 * A job that names its own training program (trainer:) has parameters of
 * the program's own names. They live in the slots CV_P_PROGRAM + k: the job
 * parser names and types them here, for the whole process (the vocabulary
 * is that of the last job parsed: every reader of a results file parses its
 * job first). While a program's vocabulary is in use, the active parameters
 * are `epochs` (the budget) and the named slots; otherwise caviar's own. */
typedef struct cv_program_param {
    const char *name;
    cv_kind kind;             /* REAL, INT or WORD */
    const char *const *words; /* WORD: the values as written */
    int n_words;
} cv_program_param;

/* Names and types the first n slots (n <= CV_PROGRAM_SLOTS, n == 0 too:
 * a program whose only parameter is epochs; names of at most 63 bytes),
 * copying what it needs; params NULL returns to caviar's own vocabulary.
 * Returns 0, or -1 (out of memory, too many: the vocabulary is then
 * caviar's own). */
int cv_vocab_set_program(const cv_program_param *params, int n);

/* How many slots a program's vocabulary names (0 also when caviar's own is
 * in use: cv_param_active tells them apart). */
int cv_vocab_program_count(void);

/* Whether p takes part in jobs, tables and reports under the vocabulary in
 * use. */
bool cv_param_active(cv_param p);

/* The names of the active parameters as "a, b, c" (cv_join's rules). */
void cv_param_join_active(char *buf, size_t size);

/* The value of p in c, as a double. */
double cv_config_get(const cv_config *c, cv_param p);

/* Stores v (already valid for p) into c. */
void cv_config_set(cv_config *c, cv_param p, double v);

/* Fills c with every default. */
void cv_config_defaults(cv_config *c);

/* Checks v against p's kind and range. Returns 0 if valid; otherwise -1 with
 * what was expected written to why (e.g. "dropout must be in [0, 1)"). */
int cv_param_check(cv_param p, double v, char *why, size_t why_size);

/* Checks what single values cannot: combinations (an exponential or step
 * schedule needs lr_decay > 0). Returns 0 or -1 with why, naming the
 * parameters involved. */
int cv_config_check(const cv_config *c, char *why, size_t why_size);

/* Parses the text of a scalar (from YAML or --set) as a value of p: numbers
 * for REAL/INT, true/false (also yes/no, on/off) for BOOL, one of the words
 * for WORD. Returns 0, or -1 with what was expected in why. The value is also
 * range-checked. */
int cv_param_parse(cv_param p, const char *text, double *out, char *why, size_t why_size);

/* Parses a decimal number as YAML writes one ("1e-3", "1.0e-4", ".5", "-2"):
 * no hex, NaN or infinity, no surrounding space, nothing left over, nothing
 * beyond a double's range. Returns 0 with *out set, or -1. */
int cv_parse_number(const char *text, double *out);

/* Writes v as it reads in a job file ("0.001", "256", "true", "adam").
 * Returns the length snprintf would have written. */
int cv_param_format(cv_param p, double v, char *buf, size_t size);

/* Parses one assignment NAME=VALUE, as `caviar train --set` takes it (spaces
 * around NAME and VALUE are ignored): *param is the parameter named, *value
 * its value checked as cv_param_parse checks a job file's. The one parser of
 * --set, behind cv_job_set (a job) and cv_config_assign (a checkpoint's
 * configuration). Returns 0, or CV_ERR_INPUT (CV_ERR_NOMEM) with err saying
 * "--set NAME=VALUE: " and what was expected ("unknown parameter (expected
 * one of: learning_rate, ...)", "dropout must be in [0, 1) (got '1')"). */
int cv_param_assign(const char *assignment, cv_param *param, double *value, cv_error *err);

/* Applies one --set NAME=VALUE to c: cv_param_assign's rules and messages,
 * then cv_config_set. On failure c is unchanged. What single values cannot
 * show (cv_config_check) is the caller's to check once every assignment is
 * in. */
int cv_config_assign(cv_config *c, const char *assignment, cv_error *err);

/* ---- text for messages --------------------------------------------------- */

/* Copies text into buf as messages quote a user's input: at most 40
 * characters, anything unprintable shown as '?', "..." when cut; always
 * NUL-terminated (size >= 1). */
void cv_quote(const char *text, char *buf, size_t size);

/* Writes words[0..n) into buf as "a, b, c", cut at size (NUL-terminated,
 * size >= 1): the lists of "expected one of: ..." messages. */
void cv_join(const char *const *words, int n, char *buf, size_t size);

/* ---- the metric ---------------------------------------------------------- */

typedef enum cv_metric { CV_METRIC_DEV_ACCURACY, CV_METRIC_DEV_LOSS } cv_metric;

/* "dev_accuracy", "dev_loss"; cv_metric_lookup is the inverse (-1 if none). */
const char *cv_metric_name(cv_metric m);
int cv_metric_lookup(const char *name);

/* The value metric names among a trial's or an epoch's dev figures. */
double cv_metric_pick(cv_metric metric, double dev_accuracy, double dev_loss);

/* Whether metric value a is better than b: higher accuracy, lower loss; a
 * value that is not finite (NaN: no metric) is worse than any finite one,
 * and never better than anything. The one rule that the best epoch of a
 * trial, the ranking of trials, the checkpoints kept and zoom all follow. */
bool cv_metric_better(cv_metric metric, double a, double b);

/* ---- how a trial ended ------------------------------------------------ */

typedef enum cv_trial_status {
    CV_TRIAL_DONE,
    CV_TRIAL_DIVERGED,
    CV_TRIAL_FAILED,
    CV_TRIAL_INTERRUPTED,
} cv_trial_status;

#define CV_TRIAL_STATUS_COUNT 4

/* "done", "diverged", "failed", "interrupted". */
const char *cv_trial_status_name(cv_trial_status s);
/* The status called name: 0 with *s set, or -1. */
int cv_trial_status_lookup(const char *name, cv_trial_status *s);

/* A trial's metric as rankings count it: NaN for interrupted and failed
 * trials (their figures are partial or absent) and for non-finite values;
 * otherwise dev_loss or dev_accuracy under metric. */
double cv_trial_metric(cv_metric metric, cv_trial_status status, double dev_accuracy,
                       double dev_loss);

#endif
