/* toytrainer.c: a tiny "training program" of a user's own, for the tests of
 * caviar's trainer: jobs (tests/integration/cli_trainer.sh). No dependency:
 * it follows DESIGN.md's contract and nothing else.
 *
 *   toytrainer --lr X --width N [--tag WORD] [--mode MODE] [--sleep MS]
 *
 * Each epoch it "trains" a made-up model whose dev accuracy is a smooth,
 * deterministic function of the learning rate, the width, the seed
 * (CAVIAR_SEED) and the epoch, saves its state (the epoch reached) in
 * CAVIAR_CHECKPOINT/state.txt, and prints
 *
 *   CAVIAR epoch=E dev_accuracy=A dev_loss=L train_loss=T learning_rate=X
 *
 * until epoch CAVIAR_EPOCHS. Started again with a saved state it continues
 * from it: the curve is the same as training straight through. It writes the
 * argv it got, one item per line, to CAVIAR_CHECKPOINT/argv.txt, and checks
 * CAVIAR_PARAMS is readable. MODE makes it hostile at epoch 2: crash
 * (SIGSEGV), exit (status 3), hang (ignores SIGTERM, sleeps), garbage (a
 * CAVIAR line whose metric is not a number), nan (the metric is nan), huge
 * (40 MB of output, then goes on), nometric (no CAVIAR line at all, exit 0),
 * chatty (noise on stderr, then goes on). */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "toytrainer: %s is not set\n", name);
        exit(2);
    }
    return v;
}

/* A number in [0, 1) from (seed, epoch): splitmix64. */
static double noise(uint64_t seed, int epoch)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

int main(int argc, char **argv)
{
    double lr = 0.01;
    int width = 32;
    long sleep_ms = 0;
    const char *mode = "ok", *tag = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--lr") == 0)
            lr = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--width") == 0)
            width = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--tag") == 0)
            tag = argv[i + 1];
        else if (strcmp(argv[i], "--sleep") == 0)
            sleep_ms = atol(argv[i + 1]);
    }
    int epochs = atoi(env("CAVIAR_EPOCHS"));
    uint64_t seed = strtoull(env("CAVIAR_SEED"), NULL, 10);
    const char *dir = env("CAVIAR_CHECKPOINT");
    FILE *pf = fopen(env("CAVIAR_PARAMS"), "r");
    if (pf == NULL) {
        fprintf(stderr, "toytrainer: cannot read CAVIAR_PARAMS\n");
        return 2;
    }
    fclose(pf);

    char path[4096];
    snprintf(path, sizeof path, "%s/argv.txt", dir);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        for (int i = 0; i < argc; i++)
            fprintf(f, "%s\n", argv[i]);
        fclose(f);
    }

    /* the saved state: the epoch reached and the running "weights" */
    int start = 0;
    double w = 0;
    snprintf(path, sizeof path, "%s/state.txt", dir);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%d %la", &start, &w) != 2)
            start = 0, w = 0;
        fclose(f);
        printf("toytrainer: continuing from epoch %d\n", start);
    }
    printf("toytrainer: lr %g, width %d, tag '%s', mode %s, epochs %d to %d\n", lr, width, tag,
           mode, start + 1, epochs);
    fflush(stdout);

    double quality = exp(-pow(log10(lr) + 2.0, 2) / 2.0) * (1.0 - 8.0 / (width + 16.0));
    for (int e = start + 1; e <= epochs; e++) {
        if (sleep_ms > 0)
            nap_ms(sleep_ms);
        w += quality * (1.0 - w) * 0.5 + 0.002 * noise(seed, e);
        double acc = 0.1 + 0.85 * w, loss = -log(acc), train = loss * 0.9;
        if (e == 2 && strcmp(mode, "crash") == 0)
            raise(SIGSEGV);
        if (e == 2 && strcmp(mode, "exit") == 0) {
            fprintf(stderr, "toytrainer: giving up with status 3\n");
            return 3;
        }
        if (e == 2 && strcmp(mode, "hang") == 0) {
            signal(SIGTERM, SIG_IGN);
            printf("toytrainer: hanging\n");
            fflush(stdout);
            for (;;)
                pause();
        }
        if (e == 2 && strcmp(mode, "huge") == 0) {
            char line[1001];
            memset(line, 'x', 1000);
            line[1000] = '\0';
            for (int i = 0; i < 40000; i++)
                printf("%s\n", line);
        }
        if (e == 2 && strcmp(mode, "chatty") == 0)
            fprintf(stderr, "toytrainer: some warning on stderr\n");
        if (strcmp(mode, "nometric") == 0)
            continue;
        if (e == 2 && strcmp(mode, "garbage") == 0)
            printf("CAVIAR epoch=%d dev_accuracy=banana\n", e);
        else if (e == 2 && strcmp(mode, "nan") == 0)
            printf("CAVIAR epoch=%d dev_accuracy=nan dev_loss=nan\n", e);
        else
            printf("CAVIAR epoch=%d dev_accuracy=%.17g dev_loss=%.17g train_loss=%.17g "
                   "learning_rate=%.17g\n",
                   e, acc, loss, train, lr);
        fflush(stdout);
        /* save at the end of every epoch: temp file + rename */
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%d %a\n", e, w) < 0 || fclose(f) != 0 ||
            rename(tmp, path) != 0) {
            fprintf(stderr, "toytrainer: cannot save %s\n", path);
            return 1;
        }
    }
    return 0;
}
