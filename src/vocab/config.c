/* config.c: the vocabulary (see caviar/config.h): hyperparameters, the
 * metric, trial statuses, --set assignments.
 *
 * One table describes every hyperparameter: its name, kind, default, valid
 * range and where it lives in a cv_config. Everything else here (lookup,
 * parsing, range checks, formatting, moving values in and out of a
 * cv_config) is a loop over that table, so adding a hyperparameter means one
 * table row, one enum value and one struct field. */
#include "caviar/config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ------------------------------------------------------- */

static const char *const schedule_words[] = {"none", "inverse_time", "exponential", "step"};
static const char *const optimizer_words[] = {"sgd", "momentum", "rmsprop", "adam"};
static const char *const activation_words[] = {"relu", "leaky_relu", "tanh", "sigmoid"};
static const char *const init_words[] = {"he", "xavier"};

#define N_WORDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Where a value lives in a cv_config: a double, an int (integers and the
 * enums of words, which are int-sized), or a bool. */
typedef enum slot_type { SLOT_DOUBLE, SLOT_INT, SLOT_BOOL } slot_type;
typedef struct slot {
    size_t offset;
    slot_type type;
} slot;

_Static_assert(sizeof(cv_optimizer) == sizeof(int) && sizeof(cv_activation) == sizeof(int) &&
                   sizeof(cv_lr_schedule) == sizeof(int) && sizeof(cv_init) == sizeof(int),
               "the words' enums are stored as ints");

typedef struct param_row {
    cv_param_info info;
    slot slot;
} param_row;

#define AT(field, type) {offsetof(cv_config, field), type}

/* Row builders, so that the table reads as name, default, range. */
#define REAL(name, def, lo, lo_open, hi, hi_open) \
    {{#name, CV_KIND_REAL, def, lo, hi, lo_open, hi_open, NULL, 0}, AT(name, SLOT_DOUBLE)}
#define INT(name, def, lo, hi) \
    {{#name, CV_KIND_INT, def, lo, hi, false, false, NULL, 0}, AT(name, SLOT_INT)}
#define BOOL(name, def) {{#name, CV_KIND_BOOL, def, 0, 1, false, false, NULL, 0}, AT(name, SLOT_BOOL)}
#define WORD(name, def, words) \
    {{#name, CV_KIND_WORD, def, 0, N_WORDS(words) - 1, false, false, words, N_WORDS(words)}, \
     AT(name, SLOT_INT)}
#define OPEN true
#define CLOSED false

/* In cv_param order. The defaults train the default network (2 x 256,
 * batch-normed, Adam) to about 88-89% test accuracy on Fashion-MNIST in 10
 * epochs. */
/* A program's parameter names (empty: the slot is unnamed). */
static char program_names[CV_PROGRAM_SLOTS][64];

/* Slot k: unnamed, any real number, held in cv_config.program[k]. */
#define PROGRAM(k) \
    [CV_P_PROGRAM + k] = {{program_names[k], CV_KIND_REAL, 0, -INFINITY, INFINITY, OPEN, OPEN, \
                           NULL, 0}, AT(program[k], SLOT_DOUBLE)}

static param_row param_table[CV_P_COUNT] = {
    [CV_P_LEARNING_RATE] = REAL(learning_rate, 0.001, 0, OPEN, INFINITY, OPEN),
    [CV_P_MOMENTUM] = REAL(momentum, 0.9, 0, CLOSED, 1, OPEN),
    [CV_P_BETA1] = REAL(beta1, 0.9, 0, CLOSED, 1, OPEN),
    [CV_P_BETA2] = REAL(beta2, 0.999, 0, CLOSED, 1, OPEN),
    [CV_P_EPSILON] = REAL(epsilon, 1e-8, 0, OPEN, 1, CLOSED),
    [CV_P_LAYERS] = INT(layers, 2, 1, 64),
    [CV_P_HIDDEN_UNITS] = INT(hidden_units, 256, 1, 65536),
    [CV_P_BATCH_SIZE] = INT(batch_size, 128, 2, 1048576),
    [CV_P_LR_DECAY] = REAL(lr_decay, 0, 0, CLOSED, INFINITY, OPEN),
    [CV_P_LR_SCHEDULE] = WORD(lr_schedule, CV_LR_INVERSE_TIME, schedule_words),
    [CV_P_EPOCHS] = INT(epochs, 10, 1, 1000000),
    [CV_P_OPTIMIZER] = WORD(optimizer, CV_OPT_ADAM, optimizer_words),
    [CV_P_ACTIVATION] = WORD(activation, CV_ACT_RELU, activation_words),
    [CV_P_BATCH_NORM] = BOOL(batch_norm, 1),
    [CV_P_BN_MOMENTUM] = REAL(bn_momentum, 0.9, 0, CLOSED, 1, OPEN),
    [CV_P_BN_EPSILON] = REAL(bn_epsilon, 1e-5, 0, OPEN, 1, CLOSED),
    [CV_P_WEIGHT_DECAY] = REAL(weight_decay, 0, 0, CLOSED, INFINITY, OPEN),
    [CV_P_DROPOUT] = REAL(dropout, 0, 0, CLOSED, 1, OPEN),
    [CV_P_INIT] = WORD(init, CV_INIT_HE, init_words),
    [CV_P_PATIENCE] = INT(patience, 0, 0, 1000000),
    /* named and typed by cv_vocab_set_program */
    PROGRAM(0), PROGRAM(1), PROGRAM(2), PROGRAM(3), PROGRAM(4), PROGRAM(5), PROGRAM(6),
    PROGRAM(7), PROGRAM(8), PROGRAM(9), PROGRAM(10), PROGRAM(11), PROGRAM(12), PROGRAM(13),
    PROGRAM(14), PROGRAM(15),
};
_Static_assert(CV_PROGRAM_SLOTS == 16, "one PROGRAM(k) row per slot");

/* ---- a program's vocabulary -------------------------------------------- */

/* The slots' words (owned here), and how many slots are named. */
static char **program_words[CV_PROGRAM_SLOTS];
static int n_program;
static bool program_in_use; /* a program's vocabulary, even of no parameter but epochs */

/* An unnamed slot: nameless, and any real number. */
static void slot_clear(int k)
{
    param_row *row = &param_table[CV_P_PROGRAM + k];
    if (program_words[k] != NULL)
        for (int w = 0; w < row->info.n_words; w++)
            free(program_words[k][w]);
    free(program_words[k]);
    program_words[k] = NULL;
    program_names[k][0] = '\0';
    row->info = (cv_param_info){program_names[k], CV_KIND_REAL, 0, -INFINITY, INFINITY,
                                OPEN, OPEN, NULL, 0};
}

int cv_vocab_set_program(const cv_program_param *params, int n)
{
    for (int k = 0; k < CV_PROGRAM_SLOTS; k++)
        slot_clear(k);
    n_program = 0;
    program_in_use = false;
    if (params == NULL)
        return 0;
    if (n < 0 || n > CV_PROGRAM_SLOTS)
        return -1;
    for (int k = 0; k < n; k++) {
        param_row *row = &param_table[CV_P_PROGRAM + k];
        const cv_program_param *pp = &params[k];
        snprintf(program_names[k], sizeof program_names[k], "%s", pp->name);
        row->info.kind = pp->kind;
        if (pp->kind == CV_KIND_INT) {
            /* integers a double holds exactly */
            row->info.lo = -9007199254740992.0;
            row->info.hi = 9007199254740992.0;
            row->info.lo_open = row->info.hi_open = false;
        } else if (pp->kind == CV_KIND_WORD) {
            program_words[k] = calloc(pp->n_words > 0 ? (size_t)pp->n_words : 1, sizeof(char *));
            if (program_words[k] == NULL)
                goto nomem;
            row->info.n_words = pp->n_words;
            for (int w = 0; w < pp->n_words; w++) {
                size_t len = strlen(pp->words[w]) + 1;
                if ((program_words[k][w] = malloc(len)) == NULL)
                    goto nomem;
                memcpy(program_words[k][w], pp->words[w], len);
            }
            row->info.words = (const char *const *)program_words[k];
            row->info.lo = 0;
            row->info.hi = pp->n_words - 1;
            row->info.lo_open = row->info.hi_open = false;
        }
    }
    n_program = n;
    program_in_use = true;
    return 0;
nomem:
    for (int k = 0; k < CV_PROGRAM_SLOTS; k++)
        slot_clear(k);
    return -1;
}

int cv_vocab_program_count(void)
{
    return n_program;
}

void cv_param_join_active(char *buf, size_t size)
{
    const char *names[CV_P_COUNT];
    int n = 0;
    for (int p = 0; p < CV_P_COUNT; p++)
        if (cv_param_active((cv_param)p))
            names[n++] = cv_param_get_info((cv_param)p)->name;
    cv_join(names, n, buf, size);
}

bool cv_param_active(cv_param p)
{
    if ((unsigned)p >= CV_P_COUNT)
        return false;
    if (!program_in_use)
        return p < CV_P_PROGRAM;
    return p == CV_P_EPOCHS || (p >= CV_P_PROGRAM && (int)p < CV_P_PROGRAM + n_program);
}

const cv_param_info *cv_param_get_info(cv_param p)
{
    if ((unsigned)p >= CV_P_COUNT)
        return NULL;
    return &param_table[p].info;
}

int cv_param_lookup(const char *name)
{
    if (name == NULL)
        return -1;
    for (int p = 0; p < CV_P_COUNT; p++)
        if (cv_param_active((cv_param)p) && strcmp(cv_param_get_info((cv_param)p)->name, name) == 0)
            return p;
    return -1;
}

/* ---- cv_config <-> doubles --------------------------------------------- */

double cv_config_get(const cv_config *c, cv_param p)
{
    if ((unsigned)p >= CV_P_COUNT)
        return NAN;
    const slot *at = &param_table[p].slot;
    const char *field = (const char *)c + at->offset;
    switch (at->type) {
    case SLOT_DOUBLE: return *(const double *)field;
    case SLOT_INT: return *(const int *)field;
    case SLOT_BOOL: return *(const bool *)field ? 1.0 : 0.0;
    }
    return NAN;
}

/* v is valid for its parameter, so integral where an integer is expected and
 * within int range; the conversion is still clamped so that a caller's
 * mistake cannot become undefined behaviour. */
static int to_int(double v)
{
    if (!(v >= -2147483648.0))
        return 0;
    if (v > 2147483647.0)
        return 2147483647;
    return (int)v;
}

void cv_config_set(cv_config *c, cv_param p, double v)
{
    if ((unsigned)p >= CV_P_COUNT)
        return;
    const slot *at = &param_table[p].slot;
    char *field = (char *)c + at->offset;
    switch (at->type) {
    case SLOT_DOUBLE: *(double *)field = v; break;
    case SLOT_INT: *(int *)field = to_int(v); break;
    case SLOT_BOOL: *(bool *)field = v != 0; break;
    }
}

void cv_config_defaults(cv_config *c)
{
    memset(c, 0, sizeof *c);
    for (int p = 0; p < CV_P_COUNT; p++)
        cv_config_set(c, (cv_param)p, cv_param_get_info((cv_param)p)->def);
}

/* ---- formatting -------------------------------------------------------- */

/* Writes a finite number in the shortest of %.15g / %.17g that reads back
 * exactly, shaped so that YAML 1.1 readers (PyYAML) also see a float: a
 * mantissa with an exponent gets a ".0" ("1.0e-8", not "1e-08"). Integral
 * values print as integers ("256"). */
static int format_number(double v, char *buf, size_t size)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);

    char *e = strchr(tmp, 'e');
    if (e != NULL && isfinite(v)) {
        /* Split "1.5e-08" into mantissa "1.5", sign '-' and digits "8". */
        char out[96];
        *e = '\0';
        const char *exp = e + 1;
        char sign = '+';
        if (*exp == '+' || *exp == '-')
            sign = *exp++;
        while (exp[0] == '0' && exp[1] != '\0')
            exp++;
        snprintf(out, sizeof out, "%s%se%c%s", tmp, strchr(tmp, '.') ? "" : ".0", sign, exp);
        return snprintf(buf, size, "%s", out);
    }
    return snprintf(buf, size, "%s", tmp);
}

int cv_param_format(cv_param p, double v, char *buf, size_t size)
{
    const cv_param_info *info = cv_param_get_info(p);
    if (info == NULL)
        return snprintf(buf, size, "?");
    switch (info->kind) {
    case CV_KIND_BOOL:
        return snprintf(buf, size, "%s", v != 0 ? "true" : "false");
    case CV_KIND_WORD:
        if (v >= 0 && v < info->n_words && v == floor(v))
            return snprintf(buf, size, "%s", info->words[(int)v]);
        break; /* not a word index: show the number rather than hide it */
    case CV_KIND_REAL:
    case CV_KIND_INT:
        break;
    }
    return format_number(v, buf, size);
}

/* ---- text for messages ------------------------------------------------ */

void cv_quote(const char *text, char *buf, size_t size)
{
    size_t n = 0;
    for (; text[n] != '\0' && n < 40 && n + 4 < size; n++)
        buf[n] = isprint((unsigned char)text[n]) ? text[n] : '?';
    if (text[n] != '\0' && n + 4 < size) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
}

void cv_join(const char *const *words, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", words[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/* ---- checking and parsing ---------------------------------------------- */

/* Writes what p's values must be ("dropout must be in [0, 1)"). */
static void expected(const cv_param_info *info, char *why, size_t why_size)
{
    char lo[32], hi[32], words[256];
    switch (info->kind) {
    case CV_KIND_REAL:
        format_number(info->lo, lo, sizeof lo);
        format_number(info->hi, hi, sizeof hi);
        snprintf(why, why_size, "%s must be in %c%s, %s%c", info->name, info->lo_open ? '(' : '[', lo,
                 hi, info->hi_open ? ')' : ']');
        break;
    case CV_KIND_INT:
        format_number(info->lo, lo, sizeof lo);
        format_number(info->hi, hi, sizeof hi);
        snprintf(why, why_size, "%s must be an integer in [%s, %s]", info->name, lo, hi);
        break;
    case CV_KIND_BOOL:
        snprintf(why, why_size, "%s must be true or false", info->name);
        break;
    case CV_KIND_WORD:
        cv_join(info->words, info->n_words, words, sizeof words);
        snprintf(why, why_size, "%s must be one of: %s", info->name, words);
        break;
    }
}

int cv_param_check(cv_param p, double v, char *why, size_t why_size)
{
    const cv_param_info *info = cv_param_get_info(p);
    if (info == NULL) {
        snprintf(why, why_size, "unknown parameter %d", (int)p);
        return -1;
    }
    bool ok = isfinite(v);
    if (ok && info->kind != CV_KIND_REAL)
        ok = v == floor(v); /* integers, booleans and word indices */
    if (ok)
        ok = info->lo_open ? v > info->lo : v >= info->lo;
    if (ok)
        ok = info->hi_open ? v < info->hi : v <= info->hi;
    if (ok)
        return 0;
    expected(info, why, why_size);
    return -1;
}

int cv_config_check(const cv_config *c, char *why, size_t why_size)
{
    /* Single values first: a configuration may have been assembled by hand. */
    for (int p = 0; p < CV_P_COUNT; p++)
        if (cv_param_check((cv_param)p, cv_config_get(c, (cv_param)p), why, why_size) != 0)
            return -1;

    /* exponential and step multiply the rate by lr_decay: 0 would stop
     * learning after the first decay, more than 1 would make it grow. */
    if ((c->lr_schedule == CV_LR_EXPONENTIAL || c->lr_schedule == CV_LR_STEP) &&
        !(c->lr_decay > 0 && c->lr_decay <= 1)) {
        char v[32];
        format_number(c->lr_decay, v, sizeof v);
        snprintf(why, why_size, "lr_schedule %s needs lr_decay in (0, 1] (got lr_decay %s)",
                 schedule_words[c->lr_schedule], v);
        return -1;
    }
    return 0;
}

/* Whether a and b are the same word, ignoring ASCII case (strcasecmp is
 * POSIX, and locale-dependent). */
static bool same_word_nocase(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* A number written as in YAML or on a command line: decimal, optional sign,
 * fraction and exponent ("1e-3", "1.0e-4", ".5", "-2"). Hex floats, NaN,
 * infinities and leading or trailing space are refused, as is anything that
 * does not fit a double. Returns 0 or -1. */
int cv_parse_number(const char *text, double *out)
{
    const char *s = text;
    if (*s == '+' || *s == '-')
        s++;
    /* Only the characters of a decimal number; this rules out "inf", "nan",
     * "0x1p3" and whitespace, which strtod would otherwise accept. */
    bool digit = false;
    for (const char *q = s; *q != '\0'; q++) {
        if (isdigit((unsigned char)*q))
            digit = true;
        else if (strchr(".eE+-", *q) == NULL)
            return -1;
    }
    if (!digit || !(isdigit((unsigned char)*s) || *s == '.'))
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cv_param_parse(cv_param p, const char *text, double *out, char *why, size_t why_size)
{
    const cv_param_info *info = cv_param_get_info(p);
    char got[64];
    double v = 0;
    if (info == NULL) {
        snprintf(why, why_size, "unknown parameter %d", (int)p);
        return -1;
    }
    if (text == NULL)
        text = "";
    cv_quote(text, got, sizeof got);

    switch (info->kind) {
    case CV_KIND_REAL:
        if (cv_parse_number(text, &v) != 0) {
            snprintf(why, why_size, "%s must be a finite number (got '%s')", info->name, got);
            return -1;
        }
        break;
    case CV_KIND_INT:
        if (cv_parse_number(text, &v) != 0)
            v = NAN; /* reported below with the range */
        break;
    case CV_KIND_BOOL:
        if (same_word_nocase(text, "true") || same_word_nocase(text, "yes") ||
            same_word_nocase(text, "on")) {
            v = 1;
        } else if (same_word_nocase(text, "false") || same_word_nocase(text, "no") ||
                   same_word_nocase(text, "off")) {
            v = 0;
        } else {
            snprintf(why, why_size, "%s must be true or false (got '%s')", info->name, got);
            return -1;
        }
        break;
    case CV_KIND_WORD:
        v = NAN;
        for (int i = 0; i < info->n_words; i++)
            if (strcmp(text, info->words[i]) == 0)
                v = i;
        break;
    }

    if (cv_param_check(p, v, why, why_size) != 0) {
        /* Append what was given, so that --set and the job file both show it. */
        size_t n = strlen(why);
        if (n < why_size)
            snprintf(why + n, why_size - n, " (got '%s')", got);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- --set NAME=VALUE ---------------------------------------------------- */

int cv_param_assign(const char *assignment, cv_param *param, double *value, cv_error *err)
{
    char shown[64], name[64], why[512];
    if (assignment == NULL)
        assignment = "";
    cv_quote(assignment, shown, sizeof shown);
    const char *eq = strchr(assignment, '=');
    if (eq == NULL)
        return cv_fail(err, CV_ERR_INPUT, "--set %s: expected NAME=VALUE", shown);

    /* NAME and VALUE, without the spaces a shell quote may have kept. */
    const char *a = assignment, *b = eq;
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    size_t n = (size_t)(b - a);
    int p = -1;
    if (n < sizeof name) {
        memcpy(name, a, n);
        name[n] = '\0';
        p = cv_param_lookup(name);
    }
    if (p < 0) {
        char list[400];
        cv_param_join_active(list, sizeof list);
        return cv_fail(err, CV_ERR_INPUT, "--set %s: unknown parameter (expected one of: %s)",
                       shown, list);
    }

    const char *v = eq + 1;
    while (isspace((unsigned char)*v))
        v++;
    size_t vn = strlen(v);
    while (vn > 0 && isspace((unsigned char)v[vn - 1]))
        vn--;
    char *text = malloc(vn + 1);
    if (text == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "--set %s: out of memory", shown);
    memcpy(text, v, vn);
    text[vn] = '\0';
    double x;
    int rc = cv_param_parse((cv_param)p, text, &x, why, sizeof why);
    free(text);
    if (rc != 0)
        return cv_fail(err, CV_ERR_INPUT, "--set %s: %s", shown, why);
    *param = (cv_param)p;
    *value = x;
    return 0;
}

int cv_config_assign(cv_config *c, const char *assignment, cv_error *err)
{
    cv_param p;
    double v;
    int rc = cv_param_assign(assignment, &p, &v, err);
    if (rc != 0)
        return rc;
    cv_config_set(c, p, v);
    return 0;
}

/* ---- the metric and trial statuses ------------------------------------- */

static const char *const metric_names[] = {"dev_accuracy", "dev_loss"};

const char *cv_metric_name(cv_metric m)
{
    return (unsigned)m < N_WORDS(metric_names) ? metric_names[m] : "?";
}

int cv_metric_lookup(const char *name)
{
    for (int m = 0; name != NULL && m < N_WORDS(metric_names); m++)
        if (strcmp(metric_names[m], name) == 0)
            return m;
    return -1;
}

double cv_metric_pick(cv_metric metric, double dev_accuracy, double dev_loss)
{
    return metric == CV_METRIC_DEV_LOSS ? dev_loss : dev_accuracy;
}

bool cv_metric_better(cv_metric metric, double a, double b)
{
    if (!isfinite(a))
        return false;
    if (!isfinite(b))
        return true;
    return metric == CV_METRIC_DEV_LOSS ? a < b : a > b;
}

static const char *const status_names[CV_TRIAL_STATUS_COUNT] = {
    [CV_TRIAL_DONE] = "done",
    [CV_TRIAL_DIVERGED] = "diverged",
    [CV_TRIAL_FAILED] = "failed",
    [CV_TRIAL_INTERRUPTED] = "interrupted",
};

const char *cv_trial_status_name(cv_trial_status s)
{
    return (unsigned)s < CV_TRIAL_STATUS_COUNT ? status_names[s] : "?";
}

int cv_trial_status_lookup(const char *name, cv_trial_status *s)
{
    for (int i = 0; i < CV_TRIAL_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *s = (cv_trial_status)i;
            return 0;
        }
    return -1;
}

double cv_trial_metric(cv_metric metric, cv_trial_status status, double dev_accuracy,
                       double dev_loss)
{
    if (status == CV_TRIAL_INTERRUPTED || status == CV_TRIAL_FAILED)
        return NAN;
    double m = cv_metric_pick(metric, dev_accuracy, dev_loss);
    return isfinite(m) ? m : NAN;
}
