/* job.c: job files (YAML) -> cv_job (see caviar/job.h).
 *
 * Two passes. The first turns libyaml's event stream into a small tree of
 * nodes (mapping, sequence, scalar), each remembering where it starts in the
 * file; it rejects what the schema never needs (aliases, several documents,
 * deep nesting) and what the text must not contain (NUL bytes, more than
 * JOB_MAX_BYTES). The second walks the tree against the schema:
 *
 *   name, data {source, test, dev_size}, search {method, trials, rounds,
 *   keep, seed, metric}, checkpoints (N | all | {keep: N | all}),
 *   parameters {NAME: constant | [values] | {distribution, min, max,
 *   values, points} | {value}}, trial_timeout SECONDS
 *
 * Every check that needs no sampler happens here, and every failure is
 * CV_ERR_INPUT with "PATH:LINE:COLUMN: what was expected". The parser will be
 * fuzzed: every allocation, index and number conversion is checked. */
#include "caviar/job.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* A job file is a page of text; anything much larger is a mistake. */
#define JOB_MAX_BYTES (1 << 20)

/* The schema is four levels deep (top, parameters, a parameter's mapping,
 * its values); deeper nesting is an error anyway, this bounds the tree. */
#define MAX_DEPTH 32

/* The most values a program's categorical parameter may list (the search
 * space's limit, CV_SPACE_MAX_VALUES). */
#define PROGRAM_MAX_WORDS 256

/* The built-in data set, kept as a word rather than resolved as a path. */
#define BUILTIN_SOURCE "fashion-mnist"

/* ---- the tree ---------------------------------------------------------- */

typedef enum node_type { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING } node_type;

typedef struct node {
    node_type type;
    bool plain;   /* scalar written without quotes (so "~" or "" mean null) */
    cv_pos pos;   /* 1-based start */
    char *str;    /* scalar: its text, NUL-terminated, no inner NUL */
    struct node **kids; /* sequence: items; mapping: key, value, key, value, ... */
    size_t n, cap;
} node;

static void node_free(node *nd)
{
    if (nd == NULL)
        return;
    for (size_t i = 0; i < nd->n; i++)
        node_free(nd->kids[i]); /* depth <= MAX_DEPTH */
    free(nd->kids);
    free(nd->str);
    free(nd);
}

static int node_append(node *parent, node *kid)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        if (cap > SIZE_MAX / sizeof *parent->kids)
            return -1;
        node **kids = realloc(parent->kids, cap * sizeof *kids);
        if (kids == NULL)
            return -1;
        parent->kids = kids;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

/* A plain empty scalar, "~" or "null": YAML's null, e.g. "data:" alone. */
static bool is_null(const node *nd)
{
    if (nd == NULL)
        return true;
    if (nd->type != NODE_SCALAR || !nd->plain)
        return false;
    const char *s = nd->str;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* "a mapping", "a sequence", ... for "expected X (got Y)" messages. */
static const char *node_kind(const node *nd)
{
    if (is_null(nd))
        return "nothing";
    switch (nd->type) {
    case NODE_MAPPING: return "a mapping";
    case NODE_SEQUENCE: return "a sequence";
    case NODE_SCALAR: break;
    }
    return "a scalar";
}

/* ---- messages ---------------------------------------------------------- */

typedef struct parse {
    const char *path; /* for messages */
    const char *text; /* the whole file, for positions of reader errors */
    size_t len;
    cv_job *job;
    cv_error *err;
    const node *const *command_items; /* trainer.command's items, for messages */
} parse;

static int clamp_int(size_t v)
{
    return v >= INT_MAX ? INT_MAX : (int)v;
}

static cv_pos mark_pos(yaml_mark_t m)
{
    cv_pos pos = {clamp_int(m.line), clamp_int(m.column)};
    if (pos.line < INT_MAX)
        pos.line++;
    if (pos.column < INT_MAX)
        pos.column++;
    return pos;
}

/* The 1-based line:column of byte offset off, counting columns in
 * characters as libyaml does (UTF-8 continuation bytes do not count). */
static cv_pos offset_pos(const char *text, size_t len, size_t off)
{
    cv_pos pos = {1, 1};
    for (size_t i = 0; i < off && i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            if (pos.line < INT_MAX)
                pos.line++;
            pos.column = 1;
        } else if ((c & 0xC0) != 0x80 && pos.column < INT_MAX) {
            pos.column++;
        }
    }
    return pos;
}

/* Fails with CV_ERR_INPUT and "PATH:LINE:COLUMN: message". */
__attribute__((format(printf, 3, 4))) static int fail_at(parse *P, cv_pos pos, const char *fmt, ...)
{
    char msg[sizeof P->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cv_fail(P->err, CV_ERR_INPUT, "%s:%d:%d: %s", P->path, pos.line, pos.column, msg);
    return CV_ERR_INPUT;
}

static int fail_nomem(parse *P)
{
    return cv_fail(P->err, CV_ERR_NOMEM, "%s: out of memory", P->path);
}

/* ---- YAML -> tree ------------------------------------------------------ */

static int yaml_failure(parse *P, const yaml_parser_t *yp)
{
    if (yp->error == YAML_MEMORY_ERROR)
        return fail_nomem(P);
    const char *problem = yp->problem ? yp->problem : "syntax error";
    if (yp->error == YAML_READER_ERROR) {
        /* Encoding problems: libyaml gives a byte offset, not a mark. */
        cv_pos pos = offset_pos(P->text, P->len, yp->problem_offset);
        if (yp->problem_value != -1)
            return fail_at(P, pos, "invalid YAML: %s (byte 0x%02x)", problem,
                           (unsigned)yp->problem_value & 0xFFu);
        return fail_at(P, pos, "invalid YAML: %s", problem);
    }
    cv_pos pos = mark_pos(yp->problem_mark);
    if (yp->context != NULL) {
        cv_pos ctx = mark_pos(yp->context_mark);
        return fail_at(P, pos, "invalid YAML: %s (%s started at %d:%d)", problem, yp->context,
                       ctx.line, ctx.column);
    }
    return fail_at(P, pos, "invalid YAML: %s", problem);
}

/* Handles one event: adds a node to the tree, or opens or closes a
 * collection. *done is set at the end of the stream. */
static int on_event(parse *P, const yaml_event_t *ev, node **root, node **stack, int *depth,
                    int *documents, bool *done)
{
    cv_pos pos = mark_pos(ev->start_mark);
    node *nd = NULL;

    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++*documents > 1)
            return fail_at(P, pos, "a job file holds one YAML document; a second one starts here");
        return 0;
    case YAML_ALIAS_EVENT: {
        char name[64];
        const char *anchor = ev->data.alias.anchor ? (const char *)ev->data.alias.anchor : "";
        cv_quote(anchor, name, sizeof name);
        return fail_at(P, pos, "aliases (*%s) are not supported in job files; write the value out",
                       name);
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (*depth > 0)
            --*depth;
        return 0;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    }

    if (*depth >= MAX_DEPTH)
        return fail_at(P, pos, "nesting deeper than %d levels; a job file needs four", MAX_DEPTH);
    nd = calloc(1, sizeof *nd);
    if (nd == NULL)
        return fail_nomem(P);
    nd->pos = pos;
    if (ev->type == YAML_SCALAR_EVENT) {
        size_t n = ev->data.scalar.length;
        const char *s = (const char *)ev->data.scalar.value;
        nd->type = NODE_SCALAR;
        nd->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        /* "\0" in a double-quoted string would cut the text short. */
        if (n > 0 && memchr(s, '\0', n) != NULL) {
            free(nd);
            return fail_at(P, pos, "NUL character in a string; expected text");
        }
        nd->str = malloc(n + 1);
        if (nd->str == NULL) {
            free(nd);
            return fail_nomem(P);
        }
        if (n > 0)
            memcpy(nd->str, s, n);
        nd->str[n] = '\0';
    } else {
        nd->type = ev->type == YAML_SEQUENCE_START_EVENT ? NODE_SEQUENCE : NODE_MAPPING;
    }

    if (*depth == 0) {
        if (*root != NULL) { /* cannot happen within one document; be safe */
            node_free(nd);
            return fail_at(P, pos, "a job file holds one YAML document");
        }
        *root = nd;
    } else if (node_append(stack[*depth - 1], nd) != 0) {
        node_free(nd);
        return fail_nomem(P);
    }
    if (nd->type != NODE_SCALAR)
        stack[(*depth)++] = nd;
    return 0;
}

/* Parses the YAML text into *root (NULL for an empty stream). */
static int load_tree(parse *P, node **root)
{
    yaml_parser_t yp;
    yaml_event_t ev;
    node *stack[MAX_DEPTH];
    int depth = 0, documents = 0, rc = 0;
    bool done = false;

    *root = NULL;
    if (!yaml_parser_initialize(&yp))
        return fail_nomem(P);
    yaml_parser_set_input_string(&yp, (const unsigned char *)P->text, P->len);
    while (!done) {
        if (!yaml_parser_parse(&yp, &ev)) {
            rc = yaml_failure(P, &yp);
            goto error;
        }
        rc = on_event(P, &ev, root, stack, &depth, &documents, &done);
        yaml_event_delete(&ev);
        if (rc != 0)
            goto error;
    }
    yaml_parser_delete(&yp);
    return 0;

error:
    yaml_parser_delete(&yp);
    node_free(*root);
    *root = NULL;
    return rc;
}

/* ---- small value parsers ----------------------------------------------- */

/* The scalar text of nd, or NULL (after failing with "WHAT must be
 * EXPECTED (got a mapping)") when nd is not a non-null scalar. */
static const char *scalar(parse *P, const node *nd, const char *what, const char *expected)
{
    if (nd->type == NODE_SCALAR && !is_null(nd))
        return nd->str;
    fail_at(P, nd->pos, "%s must be %s (got %s)", what, expected, node_kind(nd));
    return NULL;
}

/* An integer in [lo, hi] (written as a number; "1e3" is fine, "3.5" not). */
static int parse_int(parse *P, const node *nd, const char *what, int lo, int hi, int *out)
{
    char expected[96], got[64];
    snprintf(expected, sizeof expected, "an integer in [%d, %d]", lo, hi);
    const char *s = scalar(P, nd, what, expected);
    if (s == NULL)
        return CV_ERR_INPUT;
    double v;
    if (cv_parse_number(s, &v) != 0 || v != floor(v) || v < lo || v > hi) {
        cv_quote(s, got, sizeof got);
        return fail_at(P, nd->pos, "%s must be %s (got '%s')", what, expected, got);
    }
    *out = (int)v;
    return 0;
}

/* One of words, stored as its index. */
static int parse_word(parse *P, const node *nd, const char *what, const char *const *words, int n,
                      int *out)
{
    char expected[256], got[64];
    char list[200];
    cv_join(words, n, list, sizeof list);
    snprintf(expected, sizeof expected, "one of: %s", list);
    const char *s = scalar(P, nd, what, expected);
    if (s == NULL)
        return CV_ERR_INPUT;
    for (int i = 0; i < n; i++) {
        if (strcmp(s, words[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    cv_quote(s, got, sizeof got);
    return fail_at(P, nd->pos, "%s must be %s (got '%s')", what, expected, got);
}

/* ---- mappings against a key set ---------------------------------------- */

/* Checks the keys of mapping nd against keys[n] (unknown, duplicate, not a
 * name) and stores each value node at vals[index] (NULL when absent) and each
 * key node at key_nodes[index]. where names the mapping in messages. */
static int collect(parse *P, const node *nd, const char *where, const char *const *keys, int n,
                   const node **vals, const node **key_nodes)
{
    for (int i = 0; i < n; i++)
        vals[i] = key_nodes[i] = NULL;
    for (size_t k = 0; k + 1 < nd->n; k += 2) {
        const node *key = nd->kids[k];
        char name[64], list[400];
        if (key->type != NODE_SCALAR)
            return fail_at(P, key->pos, "expected a key name in %s (got %s)", where, node_kind(key));
        int idx = -1;
        for (int i = 0; i < n && idx < 0; i++)
            if (strcmp(key->str, keys[i]) == 0)
                idx = i;
        cv_quote(key->str, name, sizeof name);
        if (idx < 0) {
            cv_join(keys, n, list, sizeof list);
            return fail_at(P, key->pos, "unknown key '%s' in %s (expected one of: %s)", name, where,
                           list);
        }
        if (key_nodes[idx] != NULL)
            return fail_at(P, key->pos, "duplicate key '%s' in %s (first given at %d:%d)", name,
                           where, key_nodes[idx]->pos.line, key_nodes[idx]->pos.column);
        key_nodes[idx] = key;
        vals[idx] = nd->kids[k + 1];
    }
    return 0;
}

/* A section (data:, search:, parameters:) must be a mapping; "data:" with
 * nothing after it is the same as leaving it out. Returns 1 for a mapping,
 * 0 for null, or an error. */
static int section(parse *P, const node *nd, const char *what)
{
    if (is_null(nd))
        return 0;
    if (nd->type != NODE_MAPPING)
        return fail_at(P, nd->pos, "%s must be a mapping (got %s)", what, node_kind(nd));
    return 1;
}

/* ---- name and data ----------------------------------------------------- */

/* A malloc'ed copy of s, or NULL (strdup is POSIX, not C17). */
static char *str_copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* A copy of s, or NULL after failing. */
static char *copy_str(parse *P, const char *s)
{
    char *d = str_copy(s);
    if (d == NULL)
        fail_nomem(P);
    return d;
}

/* The data path as written, resolved against the job file's directory when
 * relative. The built-in word stays as it is. */
static char *resolve_path(parse *P, const char *s)
{
    const char *slash = strrchr(P->path, '/');
    if (strcmp(s, BUILTIN_SOURCE) == 0 || s[0] == '/' || slash == NULL)
        return copy_str(P, s);
    size_t dir = (size_t)(slash - P->path) + 1; /* with its slash */
    size_t n = strlen(s);
    if (n > SIZE_MAX - dir - 1) {
        fail_nomem(P);
        return NULL;
    }
    char *out = malloc(dir + n + 1);
    if (out == NULL) {
        fail_nomem(P);
        return NULL;
    }
    memcpy(out, P->path, dir);
    memcpy(out + dir, s, n + 1);
    return out;
}

static int parse_path(parse *P, const node *nd, const char *what, char **out, cv_pos *pos)
{
    const char *s = scalar(P, nd, what, "a path or " BUILTIN_SOURCE);
    if (s == NULL)
        return CV_ERR_INPUT;
    if (s[0] == '\0')
        return fail_at(P, nd->pos, "%s must be a path or " BUILTIN_SOURCE " (got an empty string)",
                       what);
    char *resolved = resolve_path(P, s);
    if (resolved == NULL)
        return CV_ERR_NOMEM;
    free(*out);
    *out = resolved;
    *pos = nd->pos;
    return 0;
}

static int parse_data(parse *P, const node *nd)
{
    static const char *const keys[] = {"source", "test", "dev_size"};
    const node *vals[3], *knodes[3];
    cv_job *job = P->job;
    int rc = section(P, nd, "data");
    if (rc <= 0)
        return rc;
    if ((rc = collect(P, nd, "data", keys, 3, vals, knodes)) != 0)
        return rc;
    if (vals[0] != NULL && (rc = parse_path(P, vals[0], "data.source", &job->data.source,
                                            &job->data.source_pos)) != 0)
        return rc;
    if (vals[1] != NULL &&
        (rc = parse_path(P, vals[1], "data.test", &job->data.test, &job->data.test_pos)) != 0)
        return rc;
    if (vals[2] != NULL) {
        /* A count of examples, or a fraction of the training set. The count
         * is capped at INT_MAX so that loaders may hold it in any integer. */
        static const char expected[] =
            "a count (an integer in [1, 2147483647]) or a fraction in (0, 1)";
        const char *s = scalar(P, vals[2], "data.dev_size", expected);
        double v;
        char got[64];
        if (s == NULL)
            return CV_ERR_INPUT;
        bool ok = cv_parse_number(s, &v) == 0 &&
                  ((v > 0 && v < 1) || (v >= 1 && v <= INT_MAX && v == floor(v)));
        if (!ok) {
            cv_quote(s, got, sizeof got);
            return fail_at(P, vals[2]->pos, "data.dev_size must be %s (got '%s')", expected, got);
        }
        job->data.dev_size = v;
        job->data.dev_size_pos = vals[2]->pos;
    }
    return 0;
}

/* ---- search and checkpoints -------------------------------------------- */

/* A seed is any uint64, written in decimal digits. */
static int parse_seed(parse *P, const node *nd, uint64_t *out)
{
    static const char expected[] = "an integer in [0, 18446744073709551615]";
    const char *s = scalar(P, nd, "search.seed", expected);
    char got[64];
    if (s == NULL)
        return CV_ERR_INPUT;
    bool ok = s[0] != '\0';
    for (const char *q = s; *q != '\0'; q++)
        ok = ok && isdigit((unsigned char)*q);
    unsigned long long v = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        v = strtoull(s, &end, 10);
        ok = errno == 0 && end != NULL && *end == '\0' && v <= UINT64_MAX;
    }
    if (!ok) {
        cv_quote(s, got, sizeof got);
        return fail_at(P, nd->pos, "search.seed must be %s (got '%s')", expected, got);
    }
    *out = (uint64_t)v;
    return 0;
}

/* A number in [lo, hi] (lo excluded when open_lo). */
static int parse_fraction(parse *P, const node *nd, const char *what, double lo, bool open_lo,
                          double hi, double *out)
{
    char expected[96], got[64];
    snprintf(expected, sizeof expected, "a number in %c%g, %g]", open_lo ? '(' : '[', lo, hi);
    const char *s = scalar(P, nd, what, expected);
    double v;
    if (s == NULL)
        return CV_ERR_INPUT;
    if (cv_parse_number(s, &v) != 0 || !(open_lo ? v > lo : v >= lo) || !(v <= hi)) {
        cv_quote(s, got, sizeof got);
        return fail_at(P, nd->pos, "%s must be %s (got '%s')", what, expected, got);
    }
    *out = v;
    return 0;
}

/* perturbation_factors: [1.2, 0.8], up to four numbers in (0, 10], not all 1. */
static int parse_factors(parse *P, const node *nd, cv_pbt_spec *pbt)
{
    const int cap = (int)(sizeof pbt->factors / sizeof *pbt->factors);
    if (nd->type != NODE_SEQUENCE || nd->n < 1 || nd->n > (size_t)cap)
        return fail_at(P, nd->pos,
                       "search.perturbation_factors must be a list of 1 to %d numbers such as "
                       "[1.2, 0.8] (got %s)",
                       cap, nd->type == NODE_SEQUENCE ? "a list of another length" : node_kind(nd));
    bool moves = false;
    for (size_t i = 0; i < nd->n; i++) {
        int rc = parse_fraction(P, nd->kids[i], "a perturbation factor", 0, true, 10,
                                &pbt->factors[i]);
        if (rc != 0)
            return rc;
        moves = moves || pbt->factors[i] != 1;
    }
    if (!moves)
        return fail_at(P, nd->pos, "search.perturbation_factors: every factor is 1, so explore "
                                   "would change nothing");
    pbt->n_factors = (int)nd->n;
    return 0;
}

/* hyperparam_mutations: a list of parameter names (checked against the
 * parameters once they are read: check_pbt). */
static int parse_mutations(parse *P, const node *nd, cv_pbt_spec *pbt)
{
    if (nd->type != NODE_SEQUENCE || nd->n == 0)
        return fail_at(P, nd->pos,
                       "search.hyperparam_mutations must be a list of parameter names such as "
                       "[learning_rate, beta1] (got %s)",
                       nd->type == NODE_SEQUENCE ? "an empty list" : node_kind(nd));
    for (size_t i = 0; i < nd->n; i++) {
        const node *k = nd->kids[i];
        const char *s = scalar(P, k, "a name in search.hyperparam_mutations", "a parameter name");
        if (s == NULL)
            return CV_ERR_INPUT;
        int p = cv_param_lookup(s);
        char got[64];
        cv_quote(s, got, sizeof got);
        if (p < 0)
            return fail_at(P, k->pos,
                           "search.hyperparam_mutations: '%s' is not a parameter (expected a "
                           "name from parameters:, such as learning_rate)",
                           got);
        if (pbt->mutate[p])
            return fail_at(P, k->pos, "search.hyperparam_mutations: '%s' is listed twice", got);
        pbt->mutate[p] = true;
        pbt->mutate_pos[p] = k->pos;
    }
    pbt->mutate_given = true;
    return 0;
}

enum { S_METHOD, S_TRIALS, S_ROUNDS, S_KEEP, S_SEED, S_METRIC, S_MIN_EPOCHS, S_MAX_EPOCHS,
       S_FACTOR, S_BRACKETS, S_POPULATION, S_INTERVAL, S_QUANTILE, S_RESAMPLE, S_FACTORS,
       S_MUTATIONS, S_KEYS };

/* PBT's keys (population goes to search.trials); keys of another
 * scheduler's are refused. */
static int parse_pbt(parse *P, const node **vals, const node **knodes, const char *const *keys)
{
    cv_job *job = P->job;
    cv_pbt_spec *pbt = &job->search.pbt;
    for (int k = S_POPULATION; k < S_KEYS; k++)
        if (vals[k] != NULL && job->search.schedule != CV_SCHEDULE_PBT)
            return fail_at(P, knodes[k]->pos,
                           "search.%s belongs to population-based training: expected "
                           "search.method pbt (got %s)",
                           keys[k], cv_job_method_name(job));
    int rc;
    if (vals[S_POPULATION] != NULL) {
        if (vals[S_TRIALS] != NULL)
            return fail_at(P, knodes[S_POPULATION]->pos,
                           "search.population and search.trials both given: with pbt the "
                           "population is the trials; give population alone");
        if ((rc = parse_int(P, vals[S_POPULATION], "search.population", 2, 100000,
                            &job->search.trials)) != 0)
            return rc;
        pbt->population_pos = job->search.trials_pos = vals[S_POPULATION]->pos;
    }
    if (vals[S_INTERVAL] != NULL) {
        if ((rc = parse_int(P, vals[S_INTERVAL], "search.perturbation_interval", 1, 100000,
                            &pbt->interval)) != 0)
            return rc;
        pbt->interval_pos = vals[S_INTERVAL]->pos;
    }
    if (vals[S_QUANTILE] != NULL) {
        if ((rc = parse_fraction(P, vals[S_QUANTILE], "search.quantile_fraction", 0, true, 0.5,
                                 &pbt->quantile)) != 0)
            return rc;
        pbt->quantile_pos = vals[S_QUANTILE]->pos;
    }
    if (vals[S_RESAMPLE] != NULL) {
        if ((rc = parse_fraction(P, vals[S_RESAMPLE], "search.resample_probability", 0, false, 1,
                                 &pbt->resample)) != 0)
            return rc;
        pbt->resample_pos = vals[S_RESAMPLE]->pos;
    }
    if (vals[S_FACTORS] != NULL) {
        if ((rc = parse_factors(P, vals[S_FACTORS], pbt)) != 0)
            return rc;
        pbt->factors_pos = vals[S_FACTORS]->pos;
    }
    if (vals[S_MUTATIONS] != NULL && (rc = parse_mutations(P, vals[S_MUTATIONS], pbt)) != 0)
        return rc;
    return 0;
}

static int parse_search(parse *P, const node *nd)
{
    static const char *const keys[S_KEYS] = {
        "method",     "trials",     "rounds",           "keep",
        "seed",       "metric",     "min_epochs",       "max_epochs",
        "reduction_factor", "brackets", "population", "perturbation_interval",
        "quantile_fraction", "resample_probability", "perturbation_factors",
        "hyperparam_mutations"};
    static const char *const methods[] = {"random", "grid", "sobol", "asha", "hyperband", "pbt"};
    static const char *const metrics[] = {"dev_accuracy", "dev_loss"};
    const node *vals[S_KEYS], *knodes[S_KEYS];
    cv_job *job = P->job;
    int rc = section(P, nd, "search"), word = 0;
    if (rc <= 0)
        return rc;
    if ((rc = collect(P, nd, "search", keys, S_KEYS, vals, knodes)) != 0)
        return rc;
    if (vals[0] != NULL) {
        if ((rc = parse_word(P, vals[0], "search.method", methods, 6, &word)) != 0)
            return rc;
        static const cv_schedule schedules[] = {CV_SCHEDULE_FULL, CV_SCHEDULE_FULL,
                                                CV_SCHEDULE_FULL, CV_SCHEDULE_ASHA,
                                                CV_SCHEDULE_HYPERBAND, CV_SCHEDULE_PBT};
        job->search.method = word <= CV_METHOD_SOBOL ? (cv_method)word : CV_METHOD_RANDOM;
        job->search.schedule = schedules[word];
        job->search.method_pos = vals[0]->pos;
    }
    /* the halving budget; checked against the parameters once they are read
     * (PBT takes max_epochs too) */
    int *budget[] = {&job->search.min_epochs, &job->search.max_epochs,
                     &job->search.reduction_factor, &job->search.brackets};
    cv_pos *budget_pos[] = {&job->search.min_epochs_pos, &job->search.max_epochs_pos,
                            &job->search.reduction_factor_pos, &job->search.brackets_pos};
    const bool halving = job->search.schedule == CV_SCHEDULE_ASHA ||
                         job->search.schedule == CV_SCHEDULE_HYPERBAND;
    for (int k = 0; k < 4; k++) {
        const node *v = vals[S_MIN_EPOCHS + k];
        char what[64];
        snprintf(what, sizeof what, "search.%s", keys[S_MIN_EPOCHS + k]);
        if (v == NULL)
            continue;
        if (!halving && !(k == 1 && job->search.schedule == CV_SCHEDULE_PBT))
            return fail_at(P, knodes[S_MIN_EPOCHS + k]->pos,
                           "%s belongs to successive halving: expected search.method asha or "
                           "hyperband%s (got %s)",
                           what, k == 1 ? " (or pbt)" : "", cv_job_method_name(job));
        if ((rc = parse_int(P, v, what, k == 2 ? 2 : 1, 100000, budget[k])) != 0)
            return rc;
        *budget_pos[k] = v->pos;
    }
    if ((rc = parse_pbt(P, vals, knodes, keys)) != 0)
        return rc;
    if (vals[1] != NULL &&
        (rc = parse_int(P, vals[1], "search.trials", 1, INT_MAX, &job->search.trials)) != 0)
        return rc;
    if (vals[1] != NULL)
        job->search.trials_pos = vals[1]->pos;
    if (vals[2] != NULL &&
        (rc = parse_int(P, vals[2], "search.rounds", 1, INT_MAX, &job->search.rounds)) != 0)
        return rc;
    if (vals[2] != NULL)
        job->search.rounds_pos = vals[2]->pos;
    if (vals[3] != NULL) {
        const char *s = scalar(P, vals[3], "search.keep", "a number in (0, 1]");
        double v;
        char got[64];
        if (s == NULL)
            return CV_ERR_INPUT;
        if (cv_parse_number(s, &v) != 0 || !(v > 0 && v <= 1)) {
            cv_quote(s, got, sizeof got);
            return fail_at(P, vals[3]->pos, "search.keep must be a number in (0, 1] (got '%s')",
                           got);
        }
        job->search.keep = v;
        job->search.keep_pos = vals[3]->pos;
    }
    if (vals[4] != NULL && (rc = parse_seed(P, vals[4], &job->search.seed)) != 0)
        return rc;
    if (vals[5] != NULL) {
        if ((rc = parse_word(P, vals[5], "search.metric", metrics, 2, &word)) != 0)
            return rc;
        job->search.metric = (cv_metric)word;
    }
    /* Trial ids run over every round; keep them within an int. */
    if ((int64_t)job->search.trials * job->search.rounds > INT_MAX) {
        const node *at = vals[2] != NULL ? vals[2] : vals[1];
        return fail_at(P, at->pos, "search: trials * rounds must be at most %d (got %d * %d)",
                       INT_MAX, job->search.trials, job->search.rounds);
    }
    return 0;
}

/* N (an integer >= 0) or the word all. */
static int parse_keep(parse *P, const node *nd, const char *what, int *out)
{
    static const char expected[] = "an integer in [0, 2147483647] or all";
    const char *s = scalar(P, nd, what, expected);
    double v;
    char got[64];
    if (s == NULL)
        return CV_ERR_INPUT;
    if (strcmp(s, "all") == 0) {
        *out = CV_CHECKPOINTS_ALL;
        return 0;
    }
    if (cv_parse_number(s, &v) != 0 || v != floor(v) || v < 0 || v > INT_MAX) {
        cv_quote(s, got, sizeof got);
        return fail_at(P, nd->pos, "%s must be %s (got '%s')", what, expected, got);
    }
    *out = (int)v;
    return 0;
}

static int parse_checkpoints(parse *P, const node *nd)
{
    static const char *const keys[] = {"keep"};
    const node *vals[1], *knodes[1];
    int rc;
    if (nd->type != NODE_MAPPING)
        return parse_keep(P, nd, "checkpoints", &P->job->checkpoints_keep);
    if ((rc = collect(P, nd, "checkpoints", keys, 1, vals, knodes)) != 0)
        return rc;
    if (vals[0] != NULL)
        return parse_keep(P, vals[0], "checkpoints.keep", &P->job->checkpoints_keep);
    return 0;
}

/* ---- parameters -------------------------------------------------------- */

static const char *const dist_names[] = {
    [CV_DIST_CONSTANT] = "constant",
    [CV_DIST_UNIFORM] = "uniform",
    [CV_DIST_LOG_UNIFORM] = "log_uniform",
    [CV_DIST_ONE_MINUS_LOG_UNIFORM] = "one_minus_log_uniform",
    [CV_DIST_INT_UNIFORM] = "int_uniform",
    [CV_DIST_LOG_INT_UNIFORM] = "log_int_uniform",
    [CV_DIST_VALUES] = "values",
};

const char *cv_dist_name(cv_dist d)
{
    if ((unsigned)d >= sizeof dist_names / sizeof dist_names[0])
        return "unknown";
    return dist_names[d];
}

/* ---- the rules of a spec ----------------------------------------------- */

/* Writes a broken rule's message into why; returns -1. */
__attribute__((format(printf, 3, 4))) static int broken(char *why, size_t why_size,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return -1;
}

/* Whether ranged distribution dist fits parameter p: a numeric parameter,
 * an integer one for int_uniform and log_int_uniform. */
static int dist_fits(cv_param p, cv_dist dist, char *why, size_t why_size)
{
    const cv_param_info *info = cv_param_get_info(p);
    const char *name = info->name, *dname = cv_dist_name(dist);
    bool is_int = dist == CV_DIST_INT_UNIFORM || dist == CV_DIST_LOG_INT_UNIFORM;
    bool is_log = dist == CV_DIST_LOG_UNIFORM || dist == CV_DIST_LOG_INT_UNIFORM;
    if (info->kind == CV_KIND_BOOL || info->kind == CV_KIND_WORD)
        return broken(why, why_size, "%s: %s needs a numeric parameter; %s takes 'values: [...]'",
                      name, dname, name);
    if (is_int && info->kind != CV_KIND_INT)
        return broken(why, why_size, "%s: %s needs an integer parameter; %s is real (use %s)",
                      name, dname, name, is_log ? "log_uniform" : "uniform");
    return 0;
}

int cv_param_spec_check(cv_param p, const cv_param_spec *spec, cv_spec_part *at, char *why,
                        size_t why_size)
{
    cv_spec_part where;
    const cv_param_info *info = cv_param_get_info(p);
    if (at == NULL)
        at = &where;
    *at = CV_SPEC_WHOLE;
    if (info == NULL)
        return broken(why, why_size, "unknown parameter %d", (int)p);
    const char *name = info->name, *dname = cv_dist_name(spec->dist);
    char bad[512], lo[32], hi[32];

    if (spec->dist < CV_DIST_UNIFORM || spec->dist > CV_DIST_VALUES)
        return broken(why, why_size, "%s: unknown distribution %d", name, (int)spec->dist);
    if (spec->dist == CV_DIST_VALUES) {
        *at = CV_SPEC_VALUES;
        if (spec->n_values < 1 || spec->values == NULL)
            return broken(why, why_size, "%s: values must not be empty", name);
        for (int k = 0; k < spec->n_values; k++)
            if (cv_param_check(p, spec->values[k], bad, sizeof bad) != 0)
                return broken(why, why_size, "%s: values: %s", name, bad);
        return 0;
    }

    *at = CV_SPEC_DIST;
    if (dist_fits(p, spec->dist, why, why_size) != 0)
        return -1;
    *at = CV_SPEC_MIN;
    if (cv_param_check(p, spec->min, bad, sizeof bad) != 0)
        return broken(why, why_size, "min: %s", bad);
    *at = CV_SPEC_MAX;
    if (cv_param_check(p, spec->max, bad, sizeof bad) != 0)
        return broken(why, why_size, "max: %s", bad);

    /* The scale must exist at both ends: log10(min), log10(1 - max). */
    bool is_log = spec->dist == CV_DIST_LOG_UNIFORM || spec->dist == CV_DIST_LOG_INT_UNIFORM;
    cv_param_format(p, spec->min, lo, sizeof lo);
    cv_param_format(p, spec->max, hi, sizeof hi);
    *at = CV_SPEC_MIN;
    if (is_log && !(spec->min > 0))
        return broken(why, why_size, "%s: min must be > 0 for %s (got %s)", name, dname, lo);
    if (spec->dist == CV_DIST_ONE_MINUS_LOG_UNIFORM && !(spec->min >= 0))
        return broken(why, why_size, "%s: min must be >= 0 for %s (got %s)", name, dname, lo);
    *at = CV_SPEC_MAX;
    if (spec->dist == CV_DIST_ONE_MINUS_LOG_UNIFORM && !(spec->max < 1))
        return broken(why, why_size, "%s: max must be < 1 for %s (got %s)", name, dname, hi);
    if (!(spec->min < spec->max))
        return broken(why, why_size, "%s: max must be greater than min (got min %s, max %s)",
                      name, lo, hi);
    return 0;
}

/* ---- parameters from the file ------------------------------------------ */

/* Applies the rules of a spec (cv_param_spec_check) to what the file gave:
 * the message stands at the node of the part it is about (where[part]),
 * else at the spec's own node (where[CV_SPEC_WHOLE]). */
static int check_rules(parse *P, cv_param p, const cv_param_spec *spec,
                       const node *const where[CV_SPEC_PARTS])
{
    char why[512];
    cv_spec_part at;
    if (cv_param_spec_check(p, spec, &at, why, sizeof why) == 0)
        return 0;
    const node *nd = where[at] != NULL ? where[at] : where[CV_SPEC_WHOLE];
    return fail_at(P, nd->pos, "%s", why);
}

/* One value of parameter p from a scalar node (range-checked). what
 * prefixes the message ("min: ", "" ...). */
static int param_value(parse *P, cv_param p, const node *nd, const char *what, double *out)
{
    const cv_param_info *info = cv_param_get_info(p);
    char why[512];
    if (nd->type != NODE_SCALAR || is_null(nd))
        return fail_at(P, nd->pos, "%s%s needs a value here (got %s)", what, info->name,
                       node_kind(nd));
    if (cv_param_parse(p, nd->str, out, why, sizeof why) != 0)
        return fail_at(P, nd->pos, "%s%s", what, why);
    return 0;
}

/* A categorical list: a sequence of values, each valid, then the rules. */
static int param_values(parse *P, cv_param p, const node *nd, cv_param_spec *spec)
{
    const char *name = cv_param_get_info(p)->name;
    if (nd->type != NODE_SEQUENCE)
        return fail_at(P, nd->pos, "%s: values must be a sequence such as [a, b] (got %s)", name,
                       node_kind(nd));
    if (nd->n > INT_MAX)
        return fail_at(P, nd->pos, "%s: too many values", name);
    double *values = NULL;
    if (nd->n > 0 && (values = calloc(nd->n, sizeof *values)) == NULL)
        return fail_nomem(P);
    for (size_t i = 0; i < nd->n; i++) {
        int rc = param_value(P, p, nd->kids[i], "", &values[i]);
        if (rc != 0) {
            free(values);
            return rc;
        }
    }
    free(spec->values);
    spec->values = values;
    spec->n_values = (int)nd->n;
    spec->dist = CV_DIST_VALUES;
    const node *where[CV_SPEC_PARTS] = {[CV_SPEC_WHOLE] = nd};
    return check_rules(P, p, spec, where);
}

enum { K_DIST, K_MIN, K_MAX, K_VALUES, K_POINTS, K_VALUE, K_COUNT };

/* {distribution: D, min: A, max: B, points: N}, {values: [...]} or
 * {value: X}. Checks everything a sampler need not be asked about. */
static int param_mapping(parse *P, cv_param p, const node *nd, cv_param_spec *spec)
{
    static const char *const keys[K_COUNT] = {"distribution", "min", "max", "values", "points", "value"};
    const char *name = cv_param_get_info(p)->name;
    const node *vals[K_COUNT], *knodes[K_COUNT];
    char list[200], why[512];
    int rc;

    if ((rc = collect(P, nd, name, keys, K_COUNT, vals, knodes)) != 0)
        return rc;

    /* {value: X}: a constant, alone. */
    if (vals[K_VALUE] != NULL) {
        for (int k = 0; k < K_COUNT; k++)
            if (k != K_VALUE && knodes[k] != NULL)
                return fail_at(P, knodes[k]->pos,
                               "%s: '%s' cannot be combined with 'value' (a constant)", name,
                               keys[k]);
        spec->dist = CV_DIST_CONSTANT;
        return param_value(P, p, vals[K_VALUE], "", &spec->value);
    }

    /* Which distribution: named, or implied by values:. */
    cv_dist dist;
    cv_join(dist_names + 1, (int)(sizeof dist_names / sizeof dist_names[0]) - 1, list,
            sizeof list);
    if (vals[K_DIST] != NULL) {
        const char *s = scalar(P, vals[K_DIST], "distribution", list);
        if (s == NULL)
            return CV_ERR_INPUT;
        int d = -1;
        for (int i = CV_DIST_UNIFORM; i <= CV_DIST_VALUES && d < 0; i++)
            if (strcmp(s, dist_names[i]) == 0)
                d = i;
        if (d < 0) {
            char got[64];
            cv_quote(s, got, sizeof got);
            return fail_at(P, vals[K_DIST]->pos,
                           "unknown distribution '%s' for %s (expected one of: %s)", got, name,
                           list);
        }
        dist = (cv_dist)d;
    } else if (vals[K_VALUES] != NULL) {
        dist = CV_DIST_VALUES;
    } else {
        return fail_at(P, nd->pos, "%s: expected 'distribution' (one of: %s), 'values' or 'value'",
                       name, list);
    }

    /* points: the grid sampler's resolution on a ranged axis. */
    if (vals[K_POINTS] != NULL) {
        if (dist == CV_DIST_VALUES)
            return fail_at(P, knodes[K_POINTS]->pos,
                           "%s: points applies to ranged distributions; values are all tried", name);
        char what[128];
        snprintf(what, sizeof what, "%s: points", name);
        if ((rc = parse_int(P, vals[K_POINTS], what, 1, INT_MAX, &spec->points)) != 0)
            return rc;
    }

    if (dist == CV_DIST_VALUES) {
        for (int k = K_MIN; k <= K_MAX; k++)
            if (knodes[k] != NULL)
                return fail_at(P, knodes[k]->pos, "%s: '%s' does not apply to values", name, keys[k]);
        if (vals[K_VALUES] == NULL)
            return fail_at(P, nd->pos, "%s: distribution values needs 'values: [...]'", name);
        return param_values(P, p, vals[K_VALUES], spec);
    }

    /* A ranged distribution: whether it fits the parameter first (a word's
     * min would otherwise fail as "not a word"), then its bounds, then the
     * rules of a spec. */
    if (knodes[K_VALUES] != NULL)
        return fail_at(P, knodes[K_VALUES]->pos,
                       "%s: 'values' does not apply to %s (use distribution: values)", name,
                       cv_dist_name(dist));
    if (dist_fits(p, dist, why, sizeof why) != 0)
        return fail_at(P, vals[K_DIST]->pos, "%s", why);
    if (vals[K_MIN] == NULL || vals[K_MAX] == NULL)
        return fail_at(P, nd->pos, "%s: %s needs both min and max", name, cv_dist_name(dist));
    if ((rc = param_value(P, p, vals[K_MIN], "min: ", &spec->min)) != 0 ||
        (rc = param_value(P, p, vals[K_MAX], "max: ", &spec->max)) != 0)
        return rc;
    spec->dist = dist;
    const node *where[CV_SPEC_PARTS] = {[CV_SPEC_WHOLE] = nd,
                                        [CV_SPEC_DIST] = vals[K_DIST],
                                        [CV_SPEC_MIN] = vals[K_MIN],
                                        [CV_SPEC_MAX] = vals[K_MAX]};
    return check_rules(P, p, spec, where);
}

static int parse_parameters(parse *P, const node *nd)
{
    const char *names[CV_P_COUNT];
    const node *vals[CV_P_COUNT], *knodes[CV_P_COUNT];
    int rc = section(P, nd, "parameters"), n_names = 0;
    if (rc <= 0)
        return rc;
    for (int p = 0; p < CV_P_COUNT; p++) /* caviar's vocabulary, or the program's */
        if (cv_param_active((cv_param)p))
            names[n_names++] = cv_param_get_info((cv_param)p)->name;
    if ((rc = collect(P, nd, "parameters", names, n_names, vals, knodes)) != 0)
        return rc;

    /* In file order, so that the first error in the file is the one shown. */
    for (size_t k = 0; k + 1 < nd->n; k += 2) {
        cv_param p = (cv_param)cv_param_lookup(nd->kids[k]->str);
        const node *v = nd->kids[k + 1];
        cv_param_spec *spec = &P->job->params[p];
        spec->points = 0;
        if (v->type == NODE_SEQUENCE)
            rc = param_values(P, p, v, spec);
        else if (v->type == NODE_MAPPING)
            rc = param_mapping(P, p, v, spec);
        else if (is_null(v))
            rc = fail_at(P, v->pos,
                         "%s needs a value, a list of values or a mapping with a distribution",
                         cv_param_get_info(p)->name);
        else
            rc = param_value(P, p, v, "", &spec->value); /* a constant */
        if (rc != 0)
            return rc;
        spec->given = true;
        spec->pos = v->pos;
    }
    return 0;
}

/* ---- trainer: a program of the user's own -------------------------------- */

/* The fields of a /trials row, which a program's parameter cannot be named. */
static const char *const row_fields[] = {
    "trial",          "round",         "status",     "worker",      "seed",
    "parent",         "dev_accuracy",  "dev_loss",   "train_accuracy", "train_loss",
    "test_accuracy",  "best_epoch",    "epochs_done", "rung",       "budget",
    "seconds",        "samples_per_second"};

/* Whether s is a name a placeholder can hold: [A-Za-z_][A-Za-z0-9_]*. */
static bool is_identifier(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* trainer: {command: [...], workdir: DIR, grace_seconds: S}. */
static int parse_trainer(parse *P, const node *nd)
{
    static const char *const keys[] = {"command", "workdir", "grace_seconds"};
    const node *vals[3], *knodes[3];
    cv_trainer *t = &P->job->trainer;
    int rc = section(P, nd, "trainer");
    if (rc == 0)
        return fail_at(P, nd->pos, "trainer needs command: [PROGRAM, ARG, ...]");
    if (rc < 0 || (rc = collect(P, nd, "trainer", keys, 3, vals, knodes)) != 0)
        return rc;
    t->pos = nd->pos;
    const node *cmd = vals[0];
    if (cmd == NULL)
        return fail_at(P, nd->pos, "trainer needs command: [PROGRAM, ARG, ...]");
    if (cmd->type != NODE_SEQUENCE)
        return fail_at(P, cmd->pos,
                       "trainer.command must be a list of argv items such as [/usr/bin/python3, "
                       "train.py, --lr, \"{learning_rate}\"] (got %s): no shell runs it",
                       node_kind(cmd));
    if (cmd->n == 0)
        return fail_at(P, cmd->pos, "trainer.command must not be empty: it names the program");
    if (cmd->n > 4096)
        return fail_at(P, cmd->pos, "trainer.command has %zu items; at most 4096", cmd->n);
    if ((t->command = calloc(cmd->n, sizeof *t->command)) == NULL)
        return fail_nomem(P);
    t->n_command = (int)cmd->n;
    t->command_pos = cmd->pos;
    for (size_t i = 0; i < cmd->n; i++) {
        const node *it = cmd->kids[i];
        if (it->type != NODE_SCALAR)
            return fail_at(P, it->pos, "trainer.command items must be strings (got %s)",
                           node_kind(it));
        if (i == 0 && it->str[0] == '\0')
            return fail_at(P, it->pos, "trainer.command's first item must name the program "
                                       "(got an empty string)");
        if ((t->command[i] = copy_str(P, it->str)) == NULL)
            return CV_ERR_NOMEM;
    }
    const char *dir = ".";
    if (vals[1] != NULL && (dir = scalar(P, vals[1], "trainer.workdir", "a directory")) == NULL)
        return CV_ERR_INPUT;
    if (dir[0] == '\0')
        return fail_at(P, vals[1]->pos, "trainer.workdir must be a directory (got an empty string)");
    if ((t->workdir = resolve_path(P, dir)) == NULL)
        return CV_ERR_NOMEM;
    t->grace_seconds = 10;
    if (vals[2] != NULL) {
        static const char expected[] = "a number of seconds in (0, 3600]";
        const char *s = scalar(P, vals[2], "trainer.grace_seconds", expected);
        double v;
        char got[64];
        if (s == NULL)
            return CV_ERR_INPUT;
        if (cv_parse_number(s, &v) != 0 || !(v > 0 && v <= 3600)) {
            cv_quote(s, got, sizeof got);
            return fail_at(P, vals[2]->pos, "trainer.grace_seconds must be %s (got '%s')",
                           expected, got);
        }
        t->grace_seconds = v;
    }
    return 0;
}

/* What a program's parameter is, from how the job writes it: words when
 * any value is not a number, integers when every number is integral (and
 * for int_uniform and log_int_uniform), otherwise reals. The scalars that
 * are its values go to vals (n_vals; at most cap). */
static cv_kind program_kind(const node *v, const node **vals, int *n_vals, int cap)
{
    *n_vals = 0;
    if (v->type == NODE_MAPPING) {
        const node *dist = NULL, *values = NULL, *value = NULL;
        for (size_t k = 0; k + 1 < v->n; k += 2) {
            const char *key = v->kids[k]->type == NODE_SCALAR ? v->kids[k]->str : "";
            if (strcmp(key, "distribution") == 0)
                dist = v->kids[k + 1];
            else if (strcmp(key, "values") == 0)
                values = v->kids[k + 1];
            else if (strcmp(key, "value") == 0)
                value = v->kids[k + 1];
        }
        if (values != NULL)
            v = values;
        else if (value != NULL)
            v = value;
        else if (dist != NULL && dist->type == NODE_SCALAR &&
                 (strcmp(dist->str, "int_uniform") == 0 ||
                  strcmp(dist->str, "log_int_uniform") == 0))
            return CV_KIND_INT;
        else
            return CV_KIND_REAL;
    }
    if (v->type == NODE_SCALAR)
        vals[(*n_vals)++] = v;
    else if (v->type == NODE_SEQUENCE)
        for (size_t i = 0; i < v->n && *n_vals < cap; i++)
            if (v->kids[i]->type == NODE_SCALAR)
                vals[(*n_vals)++] = v->kids[i];
    bool integral = true;
    for (int i = 0; i < *n_vals; i++) {
        double x;
        if (is_null(vals[i]) || cv_parse_number(vals[i]->str, &x) != 0)
            return CV_KIND_WORD;
        integral = integral && x == floor(x) && fabs(x) <= 9007199254740992.0;
    }
    return integral && *n_vals > 0 ? CV_KIND_INT : CV_KIND_REAL;
}

/* Names and types the program's parameters (every name of parameters:
 * but epochs, the budget) before they are parsed. */
static int program_vocabulary(parse *P, const node *nd)
{
    cv_program_param pp[CV_PROGRAM_SLOTS] = {0};
    const char **words[CV_PROGRAM_SLOTS] = {0};
    int n = 0, rc = 0;
    if (nd == NULL || is_null(nd) || nd->type != NODE_MAPPING) /* section() reports a bad one */
        return cv_vocab_set_program(pp, 0) == 0 ? 0 : fail_nomem(P);
    for (size_t k = 0; k + 1 < nd->n && rc == 0; k += 2) {
        const node *key = nd->kids[k], *v = nd->kids[k + 1];
        char name[64];
        if (key->type != NODE_SCALAR)
            break; /* collect() reports it */
        cv_quote(key->str, name, sizeof name);
        size_t len = strlen(key->str);
        if (strcmp(key->str, "epochs") == 0)
            continue;
        bool dup = false;
        for (int i = 0; i < n; i++)
            dup = dup || strcmp(pp[i].name, key->str) == 0;
        if (dup)
            continue; /* collect() reports it */
        if (len > CV_PROGRAM_NAME_MAX || !is_identifier(key->str, len)) {
            rc = fail_at(P, key->pos,
                         "parameter name '%s': a program's parameter is named with letters, "
                         "digits and '_' (not starting with a digit), at most %d of them",
                         name, CV_PROGRAM_NAME_MAX);
            break;
        }
        for (size_t f = 0; f < sizeof row_fields / sizeof row_fields[0] && rc == 0; f++)
            if (strcmp(key->str, row_fields[f]) == 0)
                rc = fail_at(P, key->pos,
                             "parameter name '%s' is one of the results table's own columns; "
                             "rename it (the program sees only its argv and CAVIAR_PARAMS)",
                             name);
        if (rc != 0)
            break;
        if (n == CV_PROGRAM_SLOTS) {
            rc = fail_at(P, key->pos, "a program may have at most %d parameters besides epochs",
                         CV_PROGRAM_SLOTS);
            break;
        }
        const node *vals[PROGRAM_MAX_WORDS];
        int n_vals = 0;
        pp[n] = (cv_program_param){.name = key->str,
                                   .kind = program_kind(v, vals, &n_vals,
                                                        PROGRAM_MAX_WORDS)};
        if (pp[n].kind == CV_KIND_WORD) {
            if ((words[n] = calloc((size_t)n_vals, sizeof *words[n])) == NULL) {
                rc = fail_nomem(P);
                break;
            }
            for (int i = 0; i < n_vals && rc == 0; i++) {
                if (is_null(vals[i]) || strlen(vals[i]->str) > CV_PROGRAM_WORD_MAX) {
                    char got[64];
                    cv_quote(vals[i]->str, got, sizeof got);
                    rc = fail_at(P, vals[i]->pos,
                                 "%s: a value must be a number, or a string of 1 to %d bytes "
                                 "(got '%s')",
                                 name, CV_PROGRAM_WORD_MAX, got);
                }
                words[n][i] = vals[i]->str;
            }
            pp[n].words = words[n];
            pp[n].n_words = n_vals;
        }
        n++;
    }
    if (rc == 0 && cv_vocab_set_program(pp, n) != 0)
        rc = fail_nomem(P);
    for (int i = 0; i < CV_PROGRAM_SLOTS; i++)
        free(words[i]);
    return rc;
}

/* Every "{name}" of the command names a parameter; "{{" and "}}" stand for
 * braces, and a brace not around a name is kept as it is. */
static int check_placeholders(parse *P)
{
    const cv_trainer *t = &P->job->trainer;
    for (int i = 0; i < t->n_command; i++) {
        const char *s = t->command[i];
        for (const char *c = s; *c != '\0'; c++) {
            if ((c[0] == '{' && c[1] == '{') || (c[0] == '}' && c[1] == '}')) {
                c++;
                continue;
            }
            if (c[0] != '{')
                continue;
            const char *end = strchr(c + 1, '}');
            if (end == NULL || !is_identifier(c + 1, (size_t)(end - c - 1)))
                continue;
            char name[CV_PROGRAM_NAME_MAX + 1];
            size_t len = (size_t)(end - c - 1);
            bool known = false;
            if (len <= CV_PROGRAM_NAME_MAX) {
                memcpy(name, c + 1, len);
                name[len] = '\0';
                known = cv_param_lookup(name) >= 0;
            }
            if (!known) {
                char list[400];
                cv_param_join_active(list, sizeof list);
                const node *it = P->command_items[i];
                return fail_at(P, it->pos,
                               "trainer.command item %d: '%.*s' names no parameter (expected "
                               "one of: %s; write {{ for a literal brace)",
                               i + 1, (int)(len + 2 < 60 ? len + 2 : 60), c, list);
            }
            c = end;
        }
    }
    return 0;
}

bool cv_job_has_trainer(const cv_job *job)
{
    return job->trainer.command != NULL;
}

/* ---- the job ----------------------------------------------------------- */

/* name: defaults to the file's base name without its extension. */
static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        n = (size_t)(dot - base);
    if (n == 0) {
        base = "job";
        n = 3;
    }
    char *name = malloc(n + 1);
    if (name != NULL) {
        memcpy(name, base, n);
        name[n] = '\0';
    }
    return name;
}

static void set_defaults(cv_job *job)
{
    job->data.dev_size = 0;
    job->search.method = CV_METHOD_RANDOM;
    job->search.schedule = CV_SCHEDULE_FULL;
    job->search.min_epochs = 1;
    job->search.reduction_factor = 3;
    job->search.pbt.quantile = 0.25;
    job->search.pbt.resample = 0.25;
    job->search.pbt.factors[0] = 1.2;
    job->search.pbt.factors[1] = 0.8;
    job->search.pbt.n_factors = 2;
    job->search.trials = 1;
    job->search.rounds = 1;
    job->search.keep = 0.25;
    job->search.seed = 1;
    job->search.metric = CV_METRIC_DEV_ACCURACY;
    job->checkpoints_keep = 5;
    for (int p = 0; p < CV_P_COUNT; p++) {
        cv_param_spec *spec = &job->params[p];
        memset(spec, 0, sizeof *spec);
        spec->dist = CV_DIST_CONSTANT;
        spec->value = cv_param_get_info((cv_param)p)->def;
    }
}

/* trial_timeout: seconds, > 0 and at most a year. */
static int parse_timeout(parse *P, const node *nd)
{
    static const char expected[] = "a number of seconds in (0, 31536000]";
    const char *s = scalar(P, nd, "trial_timeout", expected);
    double v;
    char got[64];
    if (s == NULL)
        return CV_ERR_INPUT;
    if (cv_parse_number(s, &v) != 0 || !(v > 0 && v <= 31536000)) {
        cv_quote(s, got, sizeof got);
        return fail_at(P, nd->pos, "trial_timeout must be %s (got '%s')", expected, got);
    }
    P->job->trial_timeout = v;
    return 0;
}

int cv_job_halving_rungs(int min_epochs, int max_epochs, int reduction_factor)
{
    int k = 0;
    for (int64_t b = min_epochs; b < max_epochs && reduction_factor >= 2; b *= reduction_factor)
        k++;
    return k;
}

const char *cv_job_method_name(const cv_job *job)
{
    static const char *const names[] = {"random", "grid", "sobol"};
    if (job->search.schedule == CV_SCHEDULE_ASHA)
        return "asha";
    if (job->search.schedule == CV_SCHEDULE_HYPERBAND)
        return "hyperband";
    if (job->search.schedule == CV_SCHEDULE_PBT)
        return "pbt";
    return (unsigned)job->search.method <= CV_METHOD_SOBOL ? names[job->search.method] : "?";
}

/* Successive halving's budget against the parameters: max_epochs is the
 * parameter epochs (a constant: the budget is the scheduler's to give), and
 * the rungs must fit between min_epochs and max_epochs. */
static int check_halving(parse *P)
{
    cv_job *job = P->job;
    if (job->search.schedule != CV_SCHEDULE_ASHA && job->search.schedule != CV_SCHEDULE_HYPERBAND)
        return 0;
    cv_param_spec *ep = &job->params[CV_P_EPOCHS];
    const char *method = cv_job_method_name(job);
    if (ep->dist != CV_DIST_CONSTANT)
        return fail_at(P, ep->pos,
                       "epochs is the budget %s gives out (up to search.max_epochs): expected a "
                       "constant, not a distribution",
                       method);
    int max = job->search.max_epochs;
    if (max == 0) {
        max = job->search.max_epochs = (int)ep->value;
    } else if (ep->given && (int)ep->value != max) {
        return fail_at(P, job->search.max_epochs_pos,
                       "search.max_epochs is %d but parameters.epochs is %d: give one of them "
                       "(the top rung trains max_epochs)",
                       max, (int)ep->value);
    } else {
        ep->value = max;
    }
    cv_pos at = job->search.min_epochs_pos.line ? job->search.min_epochs_pos : job->search.method_pos;
    if (job->search.min_epochs > max)
        return fail_at(P, at,
                       "search.min_epochs (%d) must be at most max_epochs (%d): the first rung "
                       "cannot train more than the top one",
                       job->search.min_epochs, max);
    int rungs = cv_job_halving_rungs(job->search.min_epochs, max, job->search.reduction_factor);
    if (rungs == 0 || (int64_t)job->search.min_epochs * job->search.reduction_factor > max) {
        cv_pos rat = job->search.reduction_factor_pos.line ? job->search.reduction_factor_pos : at;
        return fail_at(P, rat,
                       "%s needs at least two rungs: min_epochs (%d) * reduction_factor (%d) "
                       "must be at most max_epochs (%d)",
                       method, job->search.min_epochs, job->search.reduction_factor, max);
    }
    if (job->search.brackets == 0)
        job->search.brackets = job->search.schedule == CV_SCHEDULE_HYPERBAND ? rungs : 1;
    else if (job->search.schedule == CV_SCHEDULE_ASHA && job->search.brackets != 1)
        return fail_at(P, job->search.brackets_pos,
                       "search.brackets is %d but asha runs one bracket: use method hyperband "
                       "for more",
                       job->search.brackets);
    else if (job->search.brackets > rungs)
        return fail_at(P, job->search.brackets_pos,
                       "search.brackets (%d) is more than the rungs below the top (%d: epochs "
                       "%d to %d by a factor of %d); a bracket must halve at least once",
                       job->search.brackets, rungs, job->search.min_epochs, max,
                       job->search.reduction_factor);
    if (job->search.trials < job->search.reduction_factor * job->search.brackets) {
        cv_pos tat = job->search.trials_pos.line ? job->search.trials_pos : job->search.method_pos;
        return fail_at(P, tat,
                       "search.trials (%d) is too few for %s: each of its %d bracket%s needs at "
                       "least reduction_factor (%d) trials to promote one",
                       job->search.trials, method, job->search.brackets,
                       job->search.brackets == 1 ? "" : "s", job->search.reduction_factor);
    }
    return 0;
}

bool cv_job_pbt_explorable(cv_param p, const char **why)
{
    const char *no = NULL;
    switch (p) {
    case CV_P_LAYERS:
    case CV_P_HIDDEN_UNITS:
    case CV_P_BATCH_NORM:
        no = "it shapes the network, whose weights an exploit copies: members take it with the "
             "weights and keep it";
        break;
    case CV_P_OPTIMIZER:
        no = "it decides the optimizer's state (moments) an exploit copies: members take it with "
             "the weights and keep it";
        break;
    case CV_P_ACTIVATION:
        no = "the copied weights were learned for their activation: members take it with the "
             "weights and keep it";
        break;
    case CV_P_INIT:
        no = "it only matters when a network starts, not to one that goes on";
        break;
    case CV_P_EPOCHS:
        no = "it is the budget (max_epochs), the same for every member";
        break;
    case CV_P_PATIENCE:
        no = "early stopping would end members between generations";
        break;
    default:
        break;
    }
    if (why != NULL)
        *why = no;
    return no == NULL;
}

int cv_job_pbt_generations(const cv_job *job)
{
    int I = job->search.pbt.interval;
    return I > 0 ? (job->search.max_epochs + I - 1) / I : 0;
}

int cv_job_pbt_exploited(const cv_job *job)
{
    return (int)floor(job->search.pbt.quantile * job->search.trials);
}

/* Population-based training's keys against the parameters: epochs is the
 * budget (max_epochs), one round, a population with someone to exploit,
 * at least two generations, and mutations only of searched parameters
 * that may change under a running network (default: all of those). */
static int check_pbt(parse *P)
{
    cv_job *job = P->job;
    cv_pbt_spec *pbt = &job->search.pbt;
    if (job->search.schedule != CV_SCHEDULE_PBT)
        return 0;
    cv_param_spec *ep = &job->params[CV_P_EPOCHS];
    if (ep->dist != CV_DIST_CONSTANT)
        return fail_at(P, ep->pos,
                       "epochs is the budget every pbt member trains (search.max_epochs): "
                       "expected a constant, not a distribution");
    int max = job->search.max_epochs;
    if (max == 0)
        max = job->search.max_epochs = (int)ep->value;
    else if (ep->given && (int)ep->value != max)
        return fail_at(P, job->search.max_epochs_pos,
                       "search.max_epochs is %d but parameters.epochs is %d: give one of them",
                       max, (int)ep->value);
    ep->value = max;
    if (job->search.rounds != 1)
        return fail_at(P, job->search.rounds_pos,
                       "search.rounds is %d but pbt trains one population: its generations "
                       "take the place of rounds (expected 1)",
                       job->search.rounds);
    if (job->search.trials < 2) {
        cv_pos at = job->search.trials_pos.line ? job->search.trials_pos : job->search.method_pos;
        return fail_at(P, at, "search.population must be at least 2 for pbt (got %d)",
                       job->search.trials);
    }
    if (cv_job_pbt_exploited(job) < 1) {
        cv_pos at = pbt->quantile_pos.line ? pbt->quantile_pos : job->search.trials_pos;
        if (at.line == 0)
            at = job->search.method_pos;
        return fail_at(P, at,
                       "search.population (%d) * quantile_fraction (%g) is below 1: no member "
                       "would ever be exploited (expected a population of at least %d)",
                       job->search.trials, pbt->quantile, (int)ceil(1 / pbt->quantile));
    }
    if (pbt->interval == 0)
        pbt->interval = max / 4 > 0 ? max / 4 : 1;
    if (pbt->interval >= max) {
        cv_pos at = pbt->interval_pos.line ? pbt->interval_pos : job->search.method_pos;
        return fail_at(P, at,
                       "search.perturbation_interval (%d) must be below max_epochs (%d): pbt "
                       "needs at least two generations to exploit anything",
                       pbt->interval, max);
    }
    if (job->params[CV_P_PATIENCE].dist != CV_DIST_CONSTANT ||
        job->params[CV_P_PATIENCE].value != 0)
        return fail_at(P, job->params[CV_P_PATIENCE].pos,
                       "patience must be 0 with pbt: early stopping would end members between "
                       "generations (the bottom of the population is replaced instead)");
    int n = 0;
    for (int p = 0; p < CV_P_COUNT; p++) {
        const char *why = NULL;
        bool searched = job->params[p].dist != CV_DIST_CONSTANT;
        bool ok = cv_job_pbt_explorable((cv_param)p, &why);
        const char *name = cv_param_get_info((cv_param)p)->name;
        if (!pbt->mutate_given) {
            pbt->mutate[p] = searched && ok;
        } else if (pbt->mutate[p] && !ok) {
            return fail_at(P, pbt->mutate_pos[p],
                           "search.hyperparam_mutations: %s cannot be explored: %s", name, why);
        } else if (pbt->mutate[p] && !searched) {
            return fail_at(P, pbt->mutate_pos[p],
                           "search.hyperparam_mutations: %s is a constant (%g): give it a "
                           "distribution or values to explore within",
                           name, job->params[p].value);
        }
        n += pbt->mutate[p];
    }
    if (n == 0)
        return fail_at(P, pbt->mutate_given ? pbt->mutate_pos[0] : job->search.method_pos,
                       "pbt has nothing to explore: search at least one of learning_rate, "
                       "momentum, beta1, beta2, epsilon, batch_size, lr_decay, lr_schedule, "
                       "weight_decay, dropout, bn_momentum or bn_epsilon");
    return 0;
}

static int parse_top(parse *P, const node *root)
{
    static const char *const keys[] = {"name",        "data",       "search",
                                       "checkpoints", "parameters", "trial_timeout",
                                       "trainer"};
    const node *vals[7], *knodes[7];
    int rc;
    if (root == NULL || is_null(root))
        return 0; /* empty file, comments only, or "---": all defaults */
    if (root->type != NODE_MAPPING)
        return fail_at(P, root->pos, "a job file must be a mapping (name:, data:, search:, ...) at "
                                     "the top level (got %s)",
                       node_kind(root));
    if ((rc = collect(P, root, "the job file", keys, 7, vals, knodes)) != 0)
        return rc;
    /* a program's parameters are named by the job itself: known before
     * anything reads them */
    if (vals[6] != NULL) {
        if ((rc = parse_trainer(P, vals[6])) != 0 ||
            (rc = program_vocabulary(P, vals[4])) != 0)
            return rc;
        if (vals[1] != NULL)
            return fail_at(P, knodes[1]->pos,
                           "data does not apply to a job with a trainer: the program reads its "
                           "own data");
        for (size_t k = 0; k + 1 < vals[6]->n; k += 2) /* parse_trainer checked it */
            if (strcmp(vals[6]->kids[k]->str, "command") == 0)
                P->command_items = (const node *const *)vals[6]->kids[k + 1]->kids;
    }
    if (vals[0] != NULL) {
        const char *s = scalar(P, vals[0], "name", "a string");
        if (s == NULL)
            return CV_ERR_INPUT;
        if (s[0] == '\0')
            return fail_at(P, vals[0]->pos, "name must not be empty");
        char *name = copy_str(P, s);
        if (name == NULL)
            return CV_ERR_NOMEM;
        free(P->job->name);
        P->job->name = name;
    }
    if (vals[1] != NULL && (rc = parse_data(P, vals[1])) != 0)
        return rc;
    if (vals[2] != NULL && (rc = parse_search(P, vals[2])) != 0)
        return rc;
    if (vals[3] != NULL && (rc = parse_checkpoints(P, vals[3])) != 0)
        return rc;
    if (vals[4] != NULL && (rc = parse_parameters(P, vals[4])) != 0)
        return rc;
    if (vals[5] != NULL && (rc = parse_timeout(P, vals[5])) != 0)
        return rc;
    if (vals[6] != NULL && (rc = check_placeholders(P)) != 0)
        return rc;
    if ((rc = check_halving(P)) != 0)
        return rc;
    return check_pbt(P);
}

int cv_job_parse(cv_job *job, const char *path, const char *text, size_t len, cv_error *err)
{
    parse P = {path ? path : "<job>", text ? text : "", text ? len : 0, job, err, NULL};
    node *root = NULL;
    int rc;

    memset(job, 0, sizeof *job);
    cv_vocab_set_program(NULL, 0); /* caviar's own, unless the job names a trainer */
    if (P.len > JOB_MAX_BYTES) {
        rc = cv_fail(err, CV_ERR_INPUT, "%s: the file is larger than 1 MiB; expected a job file",
                     P.path);
        goto error;
    }
    const char *nul = memchr(P.text, '\0', P.len);
    if (nul != NULL) {
        rc = fail_at(&P, offset_pos(P.text, P.len, (size_t)(nul - P.text)),
                     "NUL byte in the file; expected YAML text");
        goto error;
    }

    set_defaults(job);
    job->path = str_copy(P.path);
    job->text = malloc(P.len + 1);
    job->name = default_name(P.path);
    job->data.source = str_copy(BUILTIN_SOURCE);
    if (job->path == NULL || job->text == NULL || job->name == NULL || job->data.source == NULL) {
        rc = fail_nomem(&P);
        goto error;
    }
    if (P.len > 0)
        memcpy(job->text, P.text, P.len);
    job->text[P.len] = '\0';

    if ((rc = load_tree(&P, &root)) != 0)
        goto error;
    if ((rc = parse_top(&P, root)) != 0)
        goto error;
    node_free(root);
    return 0;

error:
    node_free(root);
    cv_job_free(job);
    return rc;
}

int cv_job_load(cv_job *job, const char *path, cv_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;
    FILE *f = NULL;

    memset(job, 0, sizeof *job);
    if (path == NULL)
        return cv_fail(err, CV_ERR_INPUT, "no job file given");
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
        goto error;
    }
    /* Read at most one byte beyond the limit: enough to know it is too big. */
    buf = malloc((size_t)JOB_MAX_BYTES + 1);
    if (buf == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "%s: out of memory", path);
        goto error;
    }
    len = fread(buf, 1, (size_t)JOB_MAX_BYTES + 1, f);
    if (ferror(f)) {
        rc = cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", path,
                     errno ? strerror(errno) : "read error");
        goto error;
    }
    fclose(f);
    f = NULL;
    rc = cv_job_parse(job, path, buf, len, err);
    free(buf);
    return rc;

error:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

/* ---- --set, fixed configurations, freeing ------------------------------ */

int cv_job_set(cv_job *job, const char *assignment, cv_error *err)
{
    cv_param p;
    double x;
    int rc = cv_param_assign(assignment, &p, &x, err);
    if (rc != 0)
        return rc;

    cv_param_spec *spec = &job->params[p];
    free(spec->values);
    memset(spec, 0, sizeof *spec);
    spec->dist = CV_DIST_CONSTANT;
    spec->value = x;
    spec->given = true; /* pos stays 0:0: it comes from the command line */
    return 0;
}

bool cv_job_is_fixed(const cv_job *job)
{
    for (int p = 0; p < CV_P_COUNT; p++)
        if (job->params[p].dist != CV_DIST_CONSTANT)
            return false;
    return true;
}

int cv_job_fixed_config(const cv_job *job, cv_config *out, cv_error *err)
{
    const char *path = job->path ? job->path : "<job>";
    char why[512];
    cv_config_defaults(out);
    for (int p = 0; p < CV_P_COUNT; p++) {
        const cv_param_spec *spec = &job->params[p];
        const char *name = cv_param_get_info((cv_param)p)->name;
        if (spec->dist != CV_DIST_CONSTANT)
            return cv_fail(err, CV_ERR_INPUT, "%s:%d:%d: %s is searched (%s); fix it with --set %s=VALUE",
                           path, spec->pos.line, spec->pos.column, name, cv_dist_name(spec->dist),
                           name);
        if (cv_param_check((cv_param)p, spec->value, why, sizeof why) != 0)
            return cv_fail(err, CV_ERR_INPUT, "%s:%d:%d: %s", path, spec->pos.line,
                           spec->pos.column, why);
        cv_config_set(out, (cv_param)p, spec->value);
    }
    if (cv_config_check(out, why, sizeof why) != 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: %s", path, why);
    return 0;
}

void cv_job_free(cv_job *job)
{
    if (job == NULL)
        return;
    free(job->path);
    free(job->text);
    free(job->name);
    free(job->data.source);
    free(job->data.test);
    for (int p = 0; p < CV_P_COUNT; p++)
        free(job->params[p].values);
    for (int i = 0; i < job->trainer.n_command; i++)
        free(job->trainer.command[i]);
    free(job->trainer.command);
    free(job->trainer.workdir);
    memset(job, 0, sizeof *job);
}
