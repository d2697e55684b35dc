/* caviar/job.h: job files (YAML) -> cv_job.
 *
 * A job file names the data, the search (method, trials, rounds, seed,
 * metric), the checkpoints to keep and, per hyperparameter, either a constant
 * or a distribution to search. Everything not given takes its default. Every
 * value remembers where it stood in the file, so that later checks (the
 * search space, the data loader) can name file:line:column too. */
#ifndef CAVIAR_JOB_H
#define CAVIAR_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "caviar/config.h"
#include "caviar/error.h"

typedef enum cv_dist {
    CV_DIST_CONSTANT,              /* value */
    CV_DIST_UNIFORM,               /* [min, max], linear */
    CV_DIST_LOG_UNIFORM,           /* log10(x) uniform in [log10 min, log10 max] */
    CV_DIST_ONE_MINUS_LOG_UNIFORM, /* log10(1 - x) uniform */
    CV_DIST_INT_UNIFORM,           /* integers in [min, max], equally likely */
    CV_DIST_LOG_INT_UNIFORM,       /* integers, uniform in log10 */
    CV_DIST_VALUES,                /* one of values[] */
} cv_dist;

/* A place in a file: 1-based line and column; 0:0 when not from the file. */
typedef struct cv_pos {
    int line, column;
} cv_pos;

typedef struct cv_param_spec {
    cv_dist dist;
    double value;    /* CV_DIST_CONSTANT: the value */
    double min, max; /* ranged distributions: the bounds, inclusive */
    int n_values;    /* CV_DIST_VALUES: how many */
    double *values;  /* CV_DIST_VALUES: the values (owned by the job) */
    int points;      /* grid sampler: points on this axis (0 = not given) */
    bool given;      /* written in the job file or set by --set */
    cv_pos pos;      /* where the parameter's value starts in the file */
} cv_param_spec;

typedef enum cv_method { CV_METHOD_RANDOM, CV_METHOD_GRID, CV_METHOD_SOBOL } cv_method;

/* How trials are scheduled: each trial trained in full (random, grid and
 * Sobol rounds), or by successive halving: ASHA (one bracket) or Hyperband
 * (several brackets, each starting its trials at a larger budget). Halving
 * samples at random. */
typedef enum cv_schedule {
    CV_SCHEDULE_FULL,
    CV_SCHEDULE_ASHA,
    CV_SCHEDULE_HYPERBAND,
    CV_SCHEDULE_PBT, /* population-based training (samples at random) */
} cv_schedule;

/* Population-based training's keys (Ray Tune's names): search.trials is
 * the population; every `interval` epochs the bottom `quantile` of it copy
 * the state and hyperparameters of a member of the top `quantile`, then
 * explore: each parameter of `mutate` is resampled from the job's
 * distribution with probability `resample`, else moved by one of
 * `factors` on its own scale. */
typedef struct cv_pbt_spec {
    int interval;               /* perturbation_interval, epochs */
    double quantile;            /* quantile_fraction */
    double resample;            /* resample_probability */
    double factors[4];          /* perturbation_factors */
    int n_factors;
    bool mutate[CV_P_COUNT];    /* hyperparam_mutations (default: every searched parameter
                                   that can change under a running network) */
    bool mutate_given;
    cv_pos population_pos, interval_pos, quantile_pos, resample_pos, factors_pos;
    cv_pos mutate_pos[CV_P_COUNT];
} cv_pbt_spec;

#define CV_CHECKPOINTS_ALL (-1)

/* trainer: the user's own training program instead of caviar's network
 * (DESIGN.md, "Bring your own training program"). Each segment runs
 * command (argv items, "{name}" replaced by that parameter's value: one
 * item each, never through a shell) in workdir. */
typedef struct cv_trainer {
    char **command;       /* (n_command) items as written; NULL: caviar's own network */
    int n_command;
    char *workdir;        /* resolved against the job file's directory */
    double grace_seconds; /* from SIGTERM to SIGKILL when a program is stopped */
    cv_pos pos, command_pos;
} cv_trainer;

/* The longest name and categorical value of a program's parameter. */
#define CV_PROGRAM_NAME_MAX 63
#define CV_PROGRAM_WORD_MAX 63

typedef struct cv_job {
    char *path; /* the job file as named on the command line */
    char *text; /* its whole text, NUL-terminated (stored in results files) */
    char *name; /* name: (default: the file's base name without extension) */

    struct {
        char *source;    /* "fashion-mnist" or a path, resolved against the job's directory */
        char *test;      /* a held-out test set (path), or NULL */
        double dev_size; /* count (>= 1) or fraction (< 1) of the training set; 0 = default */
        cv_pos source_pos, test_pos, dev_size_pos;
    } data;

    struct {
        cv_method method;
        cv_schedule schedule;
        /* Successive halving's budget, in epochs: the first rung trains
         * min_epochs, each next one reduction_factor times more, the top one
         * max_epochs (the parameter epochs, which halving fixes); Hyperband
         * runs `brackets` brackets, bracket b starting at rung b. */
        int min_epochs, max_epochs, reduction_factor, brackets;
        int trials; /* per round */
        int rounds;
        double keep; /* fraction of a round that defines the next round's region */
        uint64_t seed;
        cv_metric metric;
        /* where each was written (0:0 when not given): the search space
         * names them in its errors, and a grid sizes trials when it is absent */
        cv_pos method_pos, trials_pos, rounds_pos, keep_pos;
        cv_pos min_epochs_pos, max_epochs_pos, reduction_factor_pos, brackets_pos;
        cv_pbt_spec pbt;
    } search;

    int checkpoints_keep; /* best K trials keep weights; CV_CHECKPOINTS_ALL for all */

    /* trial_timeout: seconds a segment may run before its worker is given
     * up on (a stuck node); 0: derived from the speed measured so far */
    double trial_timeout;

    cv_param_spec params[CV_P_COUNT];

    /* A program's own training (trainer.command given), else caviar's
     * network. Parsing such a job names the slots CV_P_PROGRAM + k after the
     * job's parameters (cv_vocab_set_program, for the whole process). */
    cv_trainer trainer;
} cv_job;

/* Whether job trains a program of its own (trainer:). */
bool cv_job_has_trainer(const cv_job *job);

/* Reads and parses the job file at path. On success the job owns its memory
 * (release with cv_job_free); on failure *job holds nothing to free and err
 * says path:line:column and what was expected. */
int cv_job_load(cv_job *job, const char *path, cv_error *err);

/* Parses a job from text (len bytes); path names it in messages and
 * anchors relative data paths. */
int cv_job_parse(cv_job *job, const char *path, const char *text, size_t len, cv_error *err);

/* Applies one --set NAME=VALUE: fixes parameter NAME to VALUE (a constant),
 * replacing whatever the file said. Errors name "--set NAME=VALUE". */
int cv_job_set(cv_job *job, const char *assignment, cv_error *err);

/* The parts of a parameter's spec a rule can find wrong, so that a message
 * can stand where that part was written. */
typedef enum cv_spec_part {
    CV_SPEC_WHOLE,  /* the spec as a whole */
    CV_SPEC_DIST,   /* distribution: */
    CV_SPEC_MIN,    /* min: */
    CV_SPEC_MAX,    /* max: */
    CV_SPEC_VALUES, /* values: */
    CV_SPEC_PARTS
} cv_spec_part;

/* The rules of a searched parameter's spec, written once: a known
 * distribution; a ranged one on a numeric parameter (int_uniform and
 * log_int_uniform on an integer one) with valid min < max, min > 0 on a log
 * scale, min >= 0 and max < 1 for one_minus_log_uniform; values: a non-empty
 * list of valid values. The job parser applies them to what a file says, the
 * search space to a job that may have been built or edited in code. Returns
 * 0, or -1 with why ("dropout: max must be greater than min (got min 0.5,
 * max 0.1)") and, when at is not NULL, the part the message is about. */
int cv_param_spec_check(cv_param p, const cv_param_spec *spec, cv_spec_part *at, char *why,
                        size_t why_size);

/* Whether every parameter is a constant. */
bool cv_job_is_fixed(const cv_job *job);

/* The configuration of a job whose parameters are all constants (with
 * cross-parameter checks, cv_config_check). Fails naming the first searched
 * parameter otherwise. */
int cv_job_fixed_config(const cv_job *job, cv_config *out, cv_error *err);

/* Successive halving's rungs for a job: how many rungs lie below the top
 * one (rung k trains min_epochs * reduction_factor^k epochs while that is
 * below max_epochs; the top rung trains max_epochs), so a bracket has at
 * most that many + 1 rungs and Hyperband at most that many brackets. */
int cv_job_halving_rungs(int min_epochs, int max_epochs, int reduction_factor);

/* Whether population-based training may change p under a running network:
 * not the parameters that shape it or its optimizer's state (layers,
 * hidden_units, optimizer, activation, batch_norm), nor those that only
 * matter at its start or end (init, epochs, patience). When it may not,
 * why says so. */
bool cv_job_pbt_explorable(cv_param p, const char **why);

/* A pbt job's generations (max_epochs over perturbation_interval, the last
 * one shorter when they do not divide), and the members exploited at each
 * generation's end: floor(quantile_fraction * population). */
int cv_job_pbt_generations(const cv_job *job);
int cv_job_pbt_exploited(const cv_job *job);

/* The name of a job's method as written ("random", "asha", "pbt"). */
const char *cv_job_method_name(const cv_job *job);

/* Releases what the job owns and zeroes it. Safe on a zeroed job. */
void cv_job_free(cv_job *job);

/* The name of a distribution as written in job files ("log_uniform"). */
const char *cv_dist_name(cv_dist d);

#endif
