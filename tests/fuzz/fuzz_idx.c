/* fuzz_idx.c: the IDX loader (images and their labels file) on arbitrary bytes.
 *
 * Input: a 2-byte little-endian length L, then L bytes of the images file,
 * then the rest: the labels file (L is cut to what is there). They are
 * written as data-images-idx3-ubyte and data-labels-idx1-ubyte, the names by
 * which the reader pairs them; either may be gzip (inflated when the bytes
 * start with its magic). An input whose labels part is empty leaves no
 * labels file, which the reader must report. Read by cv_data_load, as a
 * study's source. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "caviar/data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t len = (size_t)data[0] | (size_t)data[1] << 8;
    if (len > size - 2)
        len = size - 2;
    const uint8_t *labels = data + 2 + len;
    size_t labels_len = size - 2 - len;

    char labels_path[512];
    snprintf(labels_path, sizeof labels_path, "%s/data-labels-idx1-ubyte", cv_fuzz_dir());
    if (labels_len > 0)
        cv_fuzz_write("data-labels-idx1-ubyte", labels, labels_len);
    else
        unlink(labels_path);
    const char *path = cv_fuzz_write("data-images-idx3-ubyte", data + 2, len);

    cv_data d;
    cv_error err = {0};
    cv_data_spec spec = {.source = path, .dev_size = 0.25, .seed = 1};
    if (cv_data_load(&d, &spec, &err) == 0)
        cv_data_free(&d);
    else if (err.msg[0] == '\0')
        abort();
    return 0;
}
