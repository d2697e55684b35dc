/* caviar/blas.h: setting up OpenBLAS for training.
 *
 * Debian's OpenBLAS 0.3.21 picks its kernels at load time from the CPU's
 * model number; on CPUs newer than it knows (Sapphire Rapids, seen in our VMs)
 * it falls back to the SSE3 "Prescott" kernels, 5x slower than the AVX-512
 * ones the CPU can run. The choice can only be overridden by the environment
 * variable OPENBLAS_CORETYPE before the library loads, so cv_blas_setup sets
 * it from the CPU's feature flags and re-executes the program once. */
#ifndef CAVIAR_BLAS_H
#define CAVIAR_BLAS_H

#include <stddef.h>

/* Call first thing in main (before MPI_Init): if OPENBLAS_CORETYPE is unset
 * and OpenBLAS chose a pre-AVX2 kernel on a CPU with AVX2/AVX-512, sets it and
 * re-executes /proc/self/exe with argv. Returns (without re-executing) when
 * nothing is to be gained, when CAVIAR_BLAS_KEEP is set, or if exec fails. */
void cv_blas_setup(char **argv);

/* Sets the number of BLAS threads (1 for a worker: one core per trial). */
void cv_blas_set_threads(int threads);

/* The kernel family OpenBLAS uses ("SkylakeX", "Haswell", "Prescott"...). */
const char *cv_blas_core(void);

/* The CPU's model name (/proc/cpuinfo), or "unknown", into buf. */
void cv_cpu_model(char *buf, size_t size);

#endif
