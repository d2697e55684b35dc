/* h5check.c: checks, by hand, of HDF5 on-disk structures that HDF5 1.10
 * follows without checking them itself, so that a damaged file is refused
 * before the library reads them (see "Damaged files" in caviar/store.h).
 *
 * One structure so far: the global heap collections, where HDF5 keeps
 * variable-length strings (the store's text attributes: the job, format,
 * every checkpoint's words). HDF5 decodes a collection's objects without
 * bounds: an object of size 0 makes it loop forever, one larger than its
 * collection makes it read past the collection's end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

static uint64_t le_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Walks the collection at c (avail bytes of the file from there): a "GCOL"
 * header (signature, version 1, 3 reserved zero bytes, the collection's
 * size, at least 4096), then objects (index, reference count, 4 reserved
 * bytes, size, the data padded to 8 bytes; index 0 is the free space, its
 * size counting its header) up to the collection's end, the last few bytes
 * free. Returns 1 for a damaged collection, 0 for a sound one, -1 when the
 * bytes are not a collection header at all (raw data that happens to hold
 * "GCOL": the version and reserved bytes make a false match about 2^-64
 * likely). */
static int bad_collection(const unsigned char *c, size_t avail)
{
    if (avail < 16 || c[4] != 1 || c[5] != 0 || c[6] != 0 || c[7] != 0)
        return -1;
    uint64_t size = le_u64(c + 8);
    if (size < 4096 || size > avail)
        return 1;
    uint64_t p = 16;
    while (p < size) {
        if (size - p < 16)
            break; /* too small for an object header: free space */
        unsigned idx = (unsigned)c[p] | (unsigned)c[p + 1] << 8;
        uint64_t len = le_u64(c + p + 8);
        uint64_t need = idx > 0 ? (len > size ? size + 1 : 16 + ((len + 7) & ~(uint64_t)7)) : len;
        if (need == 0 || need > size - p)
            return 1;
        p += need;
    }
    return 0;
}

int cv_h5_bad_global_heap(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
        int empty = st.st_size == 0;
        fclose(f);
        return empty ? 0 : -1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size);
    if (buf == NULL || fread(buf, 1, size, f) != size) {
        free(buf);
        fclose(f);
        return buf == NULL ? 0 : -1; /* out of memory: leave it to HDF5 */
    }
    fclose(f);
    int bad = 0;
    const unsigned char *p = buf, *end = buf + size;
    while (bad <= 0 && (p = memmem(p, (size_t)(end - p), "GCOL", 4)) != NULL) {
        bad = bad_collection(p, (size_t)(end - p));
        p += bad == 0 ? (size_t)le_u64(p + 8) : 4; /* past a sound collection */
    }
    free(buf);
    return bad > 0;
}
