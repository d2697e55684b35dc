/* fuzz.h: what the fuzz targets share: the libFuzzer entry point's
 * prototype and a scratch directory for targets whose code under test reads
 * files by name (the loaders, the results store).
 *
 * Each target (fuzz_*.c) defines LLVMFuzzerTestOneInput. It is linked either
 * with libFuzzer (clang, -fsanitize=fuzzer: tests/fuzz/run_fuzz.sh) or with
 * replay.c, which feeds it every file of the seed corpus and of the crash
 * reproducers (the regression test the suite runs with gcc). */
#ifndef CAVIAR_FUZZ_H
#define CAVIAR_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process's scratch directory (created on first use under /dev/shm, or
 * TMPDIR, or /tmp; removed with its files at exit). Aborts when it cannot be
 * created: a harness that cannot write its input tests nothing. */
const char *cv_fuzz_dir(void);

/* Writes size bytes to DIR/name (replacing it) and returns the full path in
 * a static buffer that the next call reuses. Aborts on failure. */
const char *cv_fuzz_write(const char *name, const uint8_t *data, size_t size);

#endif
