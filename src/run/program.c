/* program.c: one segment of a user's own training program (DESIGN.md,
 * "Bring your own training program"; see run_int.h).
 *
 * A worker runs the job's trainer.command for each segment it is given:
 * argv substituted item by item (no shell ever), in the trainer's workdir,
 * in a process group of its own (so that a signal reaches the program's own
 * children), with the contract's environment:
 *
 *   CAVIAR_TRIAL       the trial's number
 *   CAVIAR_SEED        its training seed
 *   CAVIAR_EPOCHS      train until this absolute epoch, then exit 0
 *   CAVIAR_CHECKPOINT  the trial's own directory, ROOT/trial_NNNNNN/
 *   CAVIAR_PARAMS      a JSON file of every parameter, ROOT/params_NNNNNN.json
 *
 * (ROOT is RESULTS.h5.ckpt beside the results file; CAVIAR_FROM_EPOCH and
 * CAVIAR_THREADS say where the segment starts and how many cores it has.)
 * Its stdout and stderr come through one pipe, read as they come: each
 * `CAVIAR epoch=N name=value ...` line becomes a curve point at once, the
 * rest goes to the trial's log, ROOT/log_NNNNNN.txt (capped), and the last
 * CV_PROGRAM_TAIL bytes of everything are kept for the results file when
 * the trial fails. Nothing is buffered without bound: lines longer than
 * LINE_MAX_BYTES are cut.
 *
 * A segment is done when the program exits 0 having reported at least one
 * epoch beyond the segment's start; it fails, with a reason, when it cannot
 * be started, exits non-zero, dies by a signal, reports no epoch, reports a
 * metric that is not a finite number, or runs past trial_timeout (then it
 * is stopped: SIGTERM to its group, SIGKILL after the grace period). A stop
 * (a signal to caviar, the time limit, the master's abort) stops it the
 * same way and the segment is interrupted, to be re-run by a resume. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ftw.h>

#include "run_int.h"

extern char **environ;

/* A line of output longer than this is cut (its rest still goes to the log). */
#define LINE_MAX_BYTES 4096
/* A trial's log stops growing here (the output is still read and parsed). */
#define LOG_MAX_BYTES (16LL << 20)
/* How often the runner looks at the clock and the stop flag while the
 * program is quiet, in milliseconds. */
#define POLL_MS 100
/* After the program exits, how long its group may keep the pipe open. */
#define DRAIN_SECONDS 1.0

/* ---- metric lines ------------------------------------------------------- */

int cv_program_parse_line(const char *line, cv_program_line *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    out->epoch = -1;
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, "CAVIAR", 6) != 0 || (line[6] != ' ' && line[6] != '\t'))
        return 0;
    const char *c = line + 6;
    for (;;) {
        while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
            c++;
        if (*c == '\0')
            break;
        const char *eq = c;
        while (*eq != '\0' && *eq != '=' && *eq != ' ' && *eq != '\t')
            eq++;
        const char *end = eq;
        while (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
            end++;
        if (*eq != '=' || eq == c) {
            snprintf(why, why_size, "'%.*s' is not name=value", (int)(end - c < 40 ? end - c : 40),
                     c);
            return -1;
        }
        size_t nlen = (size_t)(eq - c), vlen = (size_t)(end - eq - 1);
        char value[64];
        if (nlen >= sizeof out->names[0] || vlen == 0 || vlen >= sizeof value) {
            snprintf(why, why_size, "'%.*s': a name of at most %zu bytes and a number expected",
                     (int)(end - c < 40 ? end - c : 40), c, sizeof out->names[0] - 1);
            return -1;
        }
        memcpy(value, eq + 1, vlen);
        value[vlen] = '\0';
        char *stop = NULL;
        errno = 0;
        double v = strtod(value, &stop);
        if (stop == value || *stop != '\0') {
            snprintf(why, why_size, "%.*s is '%s', not a number", (int)nlen, c, value);
            return -1;
        }
        if (nlen == 5 && memcmp(c, "epoch", 5) == 0) {
            if (!(v >= 1 && v <= 1e6 && v == floor(v))) {
                snprintf(why, why_size, "epoch is '%s', expected an integer >= 1", value);
                return -1;
            }
            out->epoch = (int)v;
        } else if (out->n < CV_PROGRAM_LINE_VALUES) {
            memcpy(out->names[out->n], c, nlen);
            out->names[out->n][nlen] = '\0';
            out->values[out->n++] = v;
        }
        c = end;
    }
    if (out->epoch < 0) {
        snprintf(why, why_size, "a CAVIAR line needs epoch=N");
        return -1;
    }
    return 1;
}

double cv_program_line_get(const cv_program_line *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return l->values[i];
    return NAN;
}

/* ---- argv and parameters ------------------------------------------------- */

void cv_program_argv_free(char **argv)
{
    for (char **a = argv; a != NULL && *a != NULL; a++)
        free(*a);
    free(argv);
}

/* A growable string. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool fail;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->fail)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (p == NULL) {
            b->fail = true;
            return;
        }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

int cv_program_argv(const cv_trainer *t, const cv_config *cfg, char ***out, cv_error *err)
{
    *out = NULL;
    char **argv = calloc((size_t)t->n_command + 1, sizeof *argv);
    if (argv == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "trainer: out of memory for its argv");
    for (int i = 0; i < t->n_command; i++) {
        const char *s = t->command[i];
        sbuf b = {0};
        sb_put(&b, "", 0);
        for (const char *c = s; *c != '\0'; c++) {
            if ((c[0] == '{' && c[1] == '{') || (c[0] == '}' && c[1] == '}')) {
                sb_put(&b, c, 1);
                c++;
                continue;
            }
            const char *end = c[0] == '{' ? strchr(c + 1, '}') : NULL;
            int p = -1;
            if (end != NULL && end - c - 1 > 0 && end - c - 1 <= CV_PROGRAM_NAME_MAX) {
                char name[CV_PROGRAM_NAME_MAX + 1];
                memcpy(name, c + 1, (size_t)(end - c - 1));
                name[end - c - 1] = '\0';
                p = cv_param_lookup(name);
            }
            if (p < 0) {
                sb_put(&b, c, 1);
                continue;
            }
            char v[96];
            cv_param_format((cv_param)p, cv_config_get(cfg, (cv_param)p), v, sizeof v);
            sb_put(&b, v, strlen(v));
            c = end;
        }
        if (b.fail) {
            free(b.s);
            cv_program_argv_free(argv);
            return cv_fail(err, CV_ERR_NOMEM, "trainer: out of memory for its argv");
        }
        argv[i] = b.s;
    }
    *out = argv;
    return 0;
}

/* s as a JSON string. */
static void json_string(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch;
            sb_put(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

char *cv_program_params_json(const cv_config *cfg)
{
    sbuf b = {0};
    sb_put(&b, "{", 1);
    bool first = true;
    for (int p = 0; p < CV_P_COUNT; p++) {
        if (!cv_param_active((cv_param)p))
            continue;
        const cv_param_info *info = cv_param_get_info((cv_param)p);
        char v[96];
        cv_param_format((cv_param)p, cv_config_get(cfg, (cv_param)p), v, sizeof v);
        sb_put(&b, first ? "" : ", ", first ? 0 : 2);
        first = false;
        json_string(&b, info->name);
        sb_put(&b, ": ", 2);
        if (info->kind == CV_KIND_WORD)
            json_string(&b, v);
        else
            sb_put(&b, v, strlen(v));
    }
    sb_put(&b, "}\n", 2);
    if (b.fail) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- the files of a trial -------------------------------------------------- */

void cv_program_paths(const char *root, int64_t trial, cv_program_files *f)
{
    snprintf(f->dir, sizeof f->dir, "%s/trial_%06lld", root, (long long)trial);
    snprintf(f->log, sizeof f->log, "%s/log_%06lld.txt", root, (long long)trial);
    snprintf(f->params, sizeof f->params, "%s/params_%06lld.json", root, (long long)trial);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* Removes dir and everything under it (symbolic links are not followed). */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void cv_program_prune(const char *root, const int64_t *keep, int64_t n_keep, bool keep_all)
{
    if (keep_all)
        return;
    DIR *d = opendir(root);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long long t;
        char tail;
        if (sscanf(e->d_name, "trial_%lld%c", &t, &tail) != 1)
            continue; /* trial_NNNNNN.h5 and the like are the store's */
        bool kept = false;
        for (int64_t i = 0; i < n_keep && !kept; i++)
            kept = keep[i] == t;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        struct stat st;
        if (!kept && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
    }
    closedir(d);
}

/* Copies directory src to dst (made anew): regular files and directories,
 * recursively; anything else (links, devices) is left out. */
static int copy_tree(const char *src, const char *dst, cv_error *err)
{
    if (mkdir(dst, 0777) != 0 && errno != EEXIST)
        return cv_fail(err, CV_ERR_IO, "%s: cannot make: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (d == NULL)
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot read: %s", src, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        struct stat st;
        if (lstat(from, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = copy_tree(from, to, err);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        int in = open(from, O_RDONLY | O_CLOEXEC);
        int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        char buf[65536];
        ssize_t got = 0;
        while (out >= 0 && (got = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)got) != got) {
                got = -1;
                break;
            }
        if (in < 0 || out < 0 || got < 0)
            rc = cv_fail(err, CV_ERR_IO, "cannot copy %s to %s: %s", from, to, strerror(errno));
        if (in >= 0)
            close(in);
        if (out >= 0 && close(out) != 0 && rc == 0)
            rc = cv_fail(err, CV_ERR_IO, "cannot copy %s to %s: %s", from, to, strerror(errno));
    }
    closedir(d);
    return rc;
}

int cv_program_copy_checkpoint(const char *root, int64_t from, int64_t to, cv_error *err)
{
    cv_program_files f, t;
    cv_program_paths(root, from, &f);
    cv_program_paths(root, to, &t);
    struct stat st;
    if (stat(f.dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cv_fail(err, CV_ERR_INPUT, "%s: trial %lld's checkpoint directory is missing",
                       f.dir, (long long)from);
    remove_tree(t.dir);
    return copy_tree(f.dir, t.dir, err);
}

/* Writes text to path whole (temp file + rename). */
static int write_file(const char *path, const char *text, cv_error *err)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return cv_fail(err, CV_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    bool ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return cv_fail(err, CV_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}

/* ---- running it -------------------------------------------------------------- */

/* Says why the segment failed (or stopped): cut to fit. */
__attribute__((format(printf, 2, 3))) static void set_why(cv_program_outcome *out,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The segment being run: what comes out of the pipe, and what it means. */
typedef struct run_state {
    const cv_program_ctx *ctx;
    const cv_segment *seg;
    cv_trial_result *res;
    cv_program_outcome *out;
    FILE *log;
    long long log_bytes;
    bool log_full;
    char line[LINE_MAX_BYTES + 1];
    size_t n_line;
    bool line_cut;
    char tail[CV_PROGRAM_TAIL]; /* ring of the last bytes of output */
    size_t tail_pos, tail_len;
    int last_epoch;             /* the last epoch recorded (from_epoch at first) */
    double t_epoch;             /* when the last epoch line (or the start) came */
    double sps_sum;
    int sps_n;
    bool failed;                /* a bad line: the program is being stopped */
    bool stop_asked;            /* the on_epoch callback asked to stop */
} run_state;

static void to_log(run_state *st, const char *s, size_t n)
{
    if (st->log == NULL || st->log_full)
        return;
    if (st->log_bytes + (long long)n > LOG_MAX_BYTES) {
        /* what fits, then the note: the log holds exactly the cap's first bytes */
        fwrite(s, 1, (size_t)(LOG_MAX_BYTES - st->log_bytes), st->log);
        st->log_bytes = LOG_MAX_BYTES;
        fprintf(st->log, "\n[caviar: the log stops here at %lld MB; the output is still read]\n",
                LOG_MAX_BYTES >> 20);
        st->log_full = true;
        return;
    }
    fwrite(s, 1, n, st->log);
    st->log_bytes += (long long)n;
}

static void to_tail(run_state *st, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st->tail[st->tail_pos] = s[i];
        st->tail_pos = (st->tail_pos + 1) % sizeof st->tail;
        if (st->tail_len < sizeof st->tail)
            st->tail_len++;
    }
}

__attribute__((format(printf, 2, 3))) static void fail_segment(run_state *st, const char *fmt, ...)
{
    if (st->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->out->why, sizeof st->out->why, fmt, ap);
    va_end(ap);
    st->failed = true;
}

/* One epoch line: a curve point, and the trial's best so far. */
static void on_metric(run_state *st, const cv_program_line *l)
{
    const cv_segment *seg = st->seg;
    cv_trial_result *res = st->res;
    const cv_metric metric = st->ctx->metric;
    const char *mname = cv_metric_name(metric);
    double m = cv_program_line_get(l, mname);
    if (l->epoch <= st->last_epoch || l->epoch > seg->to_epoch)
        return; /* a program that retrains from 1, or goes on past its budget */
    bool given = false;
    for (int i = 0; i < l->n; i++)
        given = given || strcmp(l->names[i], mname) == 0;
    if (!given) {
        fail_segment(st, "epoch %d: the CAVIAR line has no %s (the study's metric)", l->epoch,
                     mname);
        return;
    }
    if (!isfinite(m)) {
        fail_segment(st, "epoch %d: %s is %g, not a finite number", l->epoch, mname, m);
        return;
    }
    double t = now_seconds();
    cv_epoch_stats e = {.epoch = l->epoch - 1,
                        .learning_rate = cv_program_line_get(l, "learning_rate"),
                        .train_loss = cv_program_line_get(l, "train_loss"),
                        .train_accuracy = cv_program_line_get(l, "train_accuracy"),
                        .dev_loss = cv_program_line_get(l, "dev_loss"),
                        .dev_accuracy = cv_program_line_get(l, "dev_accuracy"),
                        .seconds = t - st->t_epoch,
                        .samples_per_second = cv_program_line_get(l, "samples_per_second")};
    st->t_epoch = t;
    st->last_epoch = l->epoch;
    res->epochs_done++;
    if (isfinite(e.samples_per_second)) {
        st->sps_sum += e.samples_per_second;
        st->sps_n++;
    }
    double best = res->best_epoch >= 0 ? cv_metric_pick(metric, res->dev_accuracy, res->dev_loss)
                                       : NAN;
    if (res->best_epoch < 0 || cv_metric_better(metric, m, best)) {
        res->best_epoch = e.epoch;
        res->dev_accuracy = e.dev_accuracy;
        res->dev_loss = e.dev_loss;
        res->train_accuracy = e.train_accuracy;
        res->train_loss = e.train_loss;
    }
    if (st->ctx->on_epoch != NULL && st->ctx->on_epoch(&e, st->ctx->user) != 0)
        st->stop_asked = true;
}

/* A whole line of output (without its newline). */
static void on_line(run_state *st, const char *line)
{
    cv_program_line l;
    char why[160];
    if (st->failed)
        return; /* it is being stopped: what follows does not count */
    int r = cv_program_parse_line(line, &l, why, sizeof why);
    if (r > 0)
        on_metric(st, &l);
    else if (r < 0)
        fail_segment(st, "a bad CAVIAR line: %s", why);
}

/* Bytes from the pipe: to the log and the tail, and cut into lines. */
static void on_output(run_state *st, const char *buf, size_t n)
{
    to_log(st, buf, n);
    if (st->log != NULL)
        fflush(st->log); /* the log is read live (tail -f) */
    to_tail(st, buf, n);
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            st->line[st->n_line] = '\0';
            if (!st->line_cut)
                on_line(st, st->line);
            st->n_line = 0;
            st->line_cut = false;
        } else if (st->n_line < LINE_MAX_BYTES) {
            st->line[st->n_line++] = buf[i] == '\0' ? ' ' : buf[i];
        } else {
            st->line_cut = true; /* too long to be a metric line */
        }
    }
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    default: return "a signal";
    }
}

/* The environment: caviar's own variables over the worker's. */
static char **make_env(const cv_program_ctx *ctx, const cv_segment *seg,
                       const cv_program_files *f)
{
    static const char *const ours[] = {"CAVIAR_TRIAL=",      "CAVIAR_SEED=",
                                       "CAVIAR_EPOCHS=",     "CAVIAR_FROM_EPOCH=",
                                       "CAVIAR_CHECKPOINT=", "CAVIAR_PARAMS=",
                                       "CAVIAR_THREADS=",    "OMP_NUM_THREADS="};
    size_t n_env = 0;
    while (environ[n_env] != NULL)
        n_env++;
    char **env = calloc(n_env + 9, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    bool omp_given = false;
    for (size_t i = 0; i < n_env; i++) {
        bool mine = false;
        for (size_t j = 0; j < sizeof ours / sizeof ours[0] - 1; j++)
            mine = mine || strncmp(environ[i], ours[j], strlen(ours[j])) == 0;
        omp_given = omp_given || strncmp(environ[i], "OMP_NUM_THREADS=", 16) == 0;
        if (!mine && (env[k] = strdup(environ[i])) == NULL)
            goto nomem;
        k += !mine;
    }
    char buf[4600];
    int threads = ctx->threads > 0 ? ctx->threads : 1;
#define PUT(...)                                          \
    do {                                                  \
        snprintf(buf, sizeof buf, __VA_ARGS__);           \
        if ((env[k++] = strdup(buf)) == NULL)             \
            goto nomem;                                   \
    } while (0)
    PUT("CAVIAR_TRIAL=%lld", (long long)seg->trial);
    PUT("CAVIAR_SEED=%llu", (unsigned long long)seg->seed);
    PUT("CAVIAR_EPOCHS=%d", seg->to_epoch);
    PUT("CAVIAR_FROM_EPOCH=%d", seg->from_epoch);
    PUT("CAVIAR_CHECKPOINT=%s", f->dir);
    PUT("CAVIAR_PARAMS=%s", f->params);
    PUT("CAVIAR_THREADS=%d", threads);
    if (!omp_given) /* one core per worker, as caviar's own trials */
        PUT("OMP_NUM_THREADS=%d", threads);
#undef PUT
    env[k] = NULL;
    return env;
nomem:
    cv_program_argv_free(env);
    return NULL;
}

/* Stops the program's group: SIGTERM first, SIGKILL once the grace is over. */
static void stop_group(pid_t pid, double *term_at, double *kill_at, double grace)
{
    double t = now_seconds();
    if (*term_at < 0) {
        kill(-pid, SIGTERM);
        *term_at = t;
        *kill_at = t + grace;
    } else if (t >= *kill_at) {
        kill(-pid, SIGKILL);
        *kill_at = INFINITY;
    }
}

int cv_program_segment(const cv_program_ctx *ctx, const cv_segment *seg, cv_trial_result *res,
                       cv_program_outcome *out, cv_error *err)
{
    const cv_trainer *t = &ctx->trainer;
    cv_program_files f;
    char **argv = NULL, **env = NULL;
    char *json = NULL;
    int pipefd[2] = {-1, -1}, rc = 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false, attr_ok = false;
    run_state *st = calloc(1, sizeof *st);
    memset(out, 0, sizeof *out);
    *res = cv_trial_result_none(CV_TRIAL_FAILED);
    if (seg->prior.best_epoch >= 0) {
        *res = seg->prior;
        res->status = CV_TRIAL_FAILED;
    }
    res->epochs_done = 0;
    res->seconds = 0;
    if (st == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "trial %lld: out of memory", (long long)seg->trial);
    st->ctx = ctx, st->seg = seg, st->res = res, st->out = out;
    st->last_epoch = seg->from_epoch;
    double t0 = now_seconds();
    st->t_epoch = t0;

    /* the trial's directory: fresh for a segment from scratch (a re-run
     * after an interruption must not find the interrupted run's state) */
    cv_program_paths(ctx->root, seg->trial, &f);
    if (mkdir(ctx->root, 0777) != 0 && errno != EEXIST) {
        set_why(out, "cannot make %s: %s", ctx->root, strerror(errno));
        goto done;
    }
    if (seg->from_epoch == 0)
        remove_tree(f.dir);
    if (mkdir(f.dir, 0777) != 0 && errno != EEXIST) {
        set_why(out, "cannot make %s: %s", f.dir, strerror(errno));
        goto done;
    }
    st->log = fopen(f.log, seg->from_epoch == 0 ? "w" : "a");
    if (st->log != NULL) {
        fprintf(st->log, "[caviar: trial %lld, epochs %d to %d]\n", (long long)seg->trial,
                seg->from_epoch + 1, seg->to_epoch);
        fflush(st->log);
    }
    if ((json = cv_program_params_json(&seg->config)) == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "trial %lld: out of memory", (long long)seg->trial);
        goto done;
    }
    cv_error werr = {0};
    if (write_file(f.params, json, &werr) != 0) {
        set_why(out, "%s", werr.msg);
        goto done;
    }
    if ((rc = cv_program_argv(t, &seg->config, &argv, err)) != 0)
        goto done;
    if ((env = make_env(ctx, seg, &f)) == NULL) {
        rc = cv_fail(err, CV_ERR_NOMEM, "trial %lld: out of memory", (long long)seg->trial);
        goto done;
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        set_why(out, "cannot make a pipe: %s", strerror(errno));
        goto done;
    }

    /* the child: its own group, stdin from /dev/null, stdout and stderr
     * into the pipe, in workdir, the default action for every signal caviar
     * handles or MPI may ignore */
    fa_ok = posix_spawn_file_actions_init(&fa) == 0;
    attr_ok = posix_spawnattr_init(&attr) == 0;
    sigset_t def, none;
    sigemptyset(&def);
    sigemptyset(&none);
    int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGPIPE, SIGHUP, SIGCHLD, SIGALRM, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&def, sigs[i]);
    if (!fa_ok || !attr_ok ||
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2) != 0 ||
        posix_spawn_file_actions_addchdir_np(&fa, t->workdir) != 0 ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETSIGMASK) != 0 ||
        posix_spawnattr_setpgroup(&attr, 0) != 0 || posix_spawnattr_setsigdefault(&attr, &def) != 0 ||
        posix_spawnattr_setsigmask(&attr, &none) != 0) {
        rc = cv_fail(err, CV_ERR_NOMEM, "trial %lld: cannot set up the program's start",
                     (long long)seg->trial);
        goto done;
    }
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
    close(pipefd[1]);
    pipefd[1] = -1;
    if (e != 0) {
        struct stat sb;
        bool dir_ok = stat(t->workdir, &sb) == 0 && S_ISDIR(sb.st_mode);
        if (!dir_ok)
            set_why(out, "cannot run %s: its workdir %s: %s", argv[0],
                     t->workdir, strerror(e));
        else
            set_why(out, "cannot run %s (in %s): %s", argv[0],
                     t->workdir, strerror(e));
        if (st->log != NULL)
            fprintf(st->log, "[caviar: %s]\n", out->why);
        goto done;
    }

    /* read until the program has exited and its pipe is closed */
    double term_at = -1, kill_at = INFINITY, exited_at = -1;
    double limit = ctx->timeout > 0 ? t0 + ctx->timeout : INFINITY;
    bool timed_out = false, stopped = false, eof = false, reaped = false;
    int status = 0;
    long wait_ns = 100000; /* after the pipe closed: 0.1 ms, doubling up to POLL_MS */
    char buf[65536];
    while (!eof || !reaped) {
        if (!eof) {
            struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
            int r = poll(&pfd, 1, POLL_MS);
            if (r > 0) {
                ssize_t got = read(pipefd[0], buf, sizeof buf);
                if (got > 0)
                    on_output(st, buf, (size_t)got);
                else if (got == 0 || (errno != EINTR && errno != EAGAIN))
                    eof = true;
            }
        } else { /* the pipe is closed: the program is exiting (or holds on) */
            struct timespec nap = {0, wait_ns};
            nanosleep(&nap, NULL);
            wait_ns = wait_ns * 2 < POLL_MS * 1000000L ? wait_ns * 2 : POLL_MS * 1000000L;
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD)) {
                reaped = true;
                exited_at = now_seconds();
            }
        }
        double tn = now_seconds();
        if (reaped && !eof && tn - exited_at > DRAIN_SECONDS) {
            kill(-pid, SIGKILL); /* its children still hold the pipe */
            eof = true;
        }
        if (reaped)
            continue;
        if (!stopped && (st->stop_asked || (ctx->stop != NULL && *ctx->stop) ||
                         (ctx->should_stop != NULL && ctx->should_stop(ctx->user))))
            stopped = true;
        if (!timed_out && tn >= limit)
            timed_out = true;
        if (stopped || timed_out || st->failed)
            stop_group(pid, &term_at, &kill_at, t->grace_seconds);
    }
    if (st->n_line > 0 && !st->line_cut) { /* a last line without its newline */
        st->line[st->n_line] = '\0';
        on_line(st, st->line);
    }
    kill(-pid, SIGKILL); /* whatever of its group is left */

    res->seconds = now_seconds() - t0;
    res->samples_per_second = st->sps_n > 0 ? st->sps_sum / st->sps_n : NAN;
    out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (stopped && !st->failed && !timed_out) {
        res->status = CV_TRIAL_INTERRUPTED;
        set_why(out, "stopped");
    } else if (st->failed) {
        /* why says it */
    } else if (timed_out) {
        snprintf(out->why, sizeof out->why,
                 "ran past trial_timeout (%.0f s): stopped with SIGTERM%s", ctx->timeout,
                 out->signal == SIGKILL ? ", then SIGKILL" : "");
    } else if (WIFSIGNALED(status)) {
        set_why(out, "killed by signal %d (%s)%s", out->signal,
                 signal_name(out->signal), WCOREDUMP(status) ? ", core dumped" : "");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        set_why(out, "exited with status %d", WEXITSTATUS(status));
    } else if (res->epochs_done == 0) {
        if (seg->from_epoch > 0)
            snprintf(out->why, sizeof out->why,
                     "exited 0 without a metric line beyond epoch %d (expected 'CAVIAR epoch=N "
                     "%s=...' for epochs %d to %d)",
                     seg->from_epoch, cv_metric_name(ctx->metric), seg->from_epoch + 1,
                     seg->to_epoch);
        else
            snprintf(out->why, sizeof out->why,
                     "exited 0 without a metric line (expected 'CAVIAR epoch=N %s=...')",
                     cv_metric_name(ctx->metric));
    } else {
        res->status = CV_TRIAL_DONE;
    }
    if (st->log != NULL && res->status != CV_TRIAL_DONE)
        fprintf(st->log, "\n[caviar: trial %lld %s: %s]\n", (long long)seg->trial,
                cv_trial_status_name(res->status), out->why);

done:
    if (res->status == CV_TRIAL_FAILED && out->why[0] == '\0')
        set_why(out, "%s", rc != 0 ? err->msg : "failed");
    /* the tail, oldest byte first */
    size_t start = (st->tail_pos + sizeof st->tail - st->tail_len) % sizeof st->tail;
    for (size_t i = 0; i < st->tail_len; i++)
        out->tail[i] = st->tail[(start + i) % sizeof st->tail];
    out->tail[st->tail_len] = '\0';
    for (size_t i = 0; i < st->tail_len; i++)
        if (out->tail[i] == '\0')
            out->tail[i] = ' ';
    if (st->log != NULL)
        fclose(st->log);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    cv_program_argv_free(argv);
    cv_program_argv_free(env);
    free(json);
    free(st);
    return rc;
}
