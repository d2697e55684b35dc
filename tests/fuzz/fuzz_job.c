/* fuzz_job.c: the job parser on arbitrary bytes.
 *
 * The input is a job file. cv_job_parse must either accept it or fail with
 * CV_ERR_INPUT and a message; an accepted job then goes through everything
 * `caviar validate` and `caviar sample` do with it: the fixed configuration,
 * the search space (whose checks the parser leaves to it), the advice, the
 * first trials of round 0 and a zoom around them. A last line
 * "#set NAME=VALUE" (a YAML comment) is also applied with cv_job_set, the
 * parser of --set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/job.h"
#include "caviar/space.h"
#include "fuzz.h"

static void no_warning(void *user, const char *msg)
{
    (void)user;
    (void)msg;
}

/* The text after the last "\n#set " (or a leading "#set "), NUL-terminated. */
static char *set_line(const char *text, size_t len)
{
    const char *hit = NULL;
    for (size_t i = 0; i + 5 <= len; i++)
        if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, "#set ", 5) == 0)
            hit = text + i + 5;
    if (hit == NULL)
        return NULL;
    size_t n = (size_t)(text + len - hit);
    const char *nl = memchr(hit, '\n', n);
    if (nl != NULL)
        n = (size_t)(nl - hit);
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, hit, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cv_job job;
    cv_error err = {0};
    /* a relative path with a directory: relative data paths get resolved */
    if (cv_job_parse(&job, "fuzz/job.yaml", (const char *)data, size, &err) != 0) {
        if (err.code == 0 || err.msg[0] == '\0')
            abort(); /* a failure must say why */
        return 0;
    }
    char *set = set_line((const char *)data, size);
    if (set != NULL) {
        cv_error serr = {0};
        if (cv_job_set(&job, set, &serr) != 0 && serr.msg[0] == '\0')
            abort();
        free(set);
    }

    cv_config cfg;
    cv_error ferr = {0};
    (void)cv_job_is_fixed(&job);
    (void)cv_job_fixed_config(&job, &cfg, &ferr);

    cv_space *space = NULL;
    cv_error serr = {0};
    if (cv_space_create(&space, &job, &serr) == 0) {
        (void)cv_space_advise(space, no_warning, NULL);
        int trials = cv_space_trials(space);
        int n = trials < 4 ? trials : 4;
        cv_config cfgs[4];
        double metric[4];
        cv_region full, next;
        cv_space_full_region(space, &full);
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            cv_error e = {0};
            ok = cv_space_sample(space, &full, 0, i, &cfgs[i], &e) == 0;
            metric[i] = 0.5 + 0.1 * i;
        }
        if (ok && n > 0) {
            cv_error e = {0};
            if (cv_space_zoom(space, &full, cfgs, metric, n, &next, &e) == 0 &&
                cv_space_rounds(space) > 1) {
                char buf[256];
                for (int d = 0; d < cv_space_dims(space); d++)
                    cv_space_region_format(space, &next, cv_space_dim_get(space, d)->param, buf,
                                           sizeof buf);
                cv_error e2 = {0};
                (void)cv_space_sample(space, &next, 1, 0, &cfgs[0], &e2);
            }
        }
        cv_space_free(space);
    } else if (serr.msg[0] == '\0') {
        abort();
    }
    cv_job_free(&job);
    return 0;
}
