/* fuzz_csv.c: the CSV loader on arbitrary bytes.
 *
 * The input is written to a file named *.csv (so the format is CSV whatever
 * the bytes; gzip is inflated when the bytes start with its magic) and read
 * as the training source of a study would be: cv_data_load (the reader, the
 * dev split, the standardization). The same file is then read with a named
 * label column ("label"), the path of `--label`-style loading. */
#include <stdlib.h>

#include "caviar/data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = cv_fuzz_write("input.csv", data, size);
    cv_data d;
    cv_error err = {0};
    cv_data_spec spec = {.source = path, .dev_size = 0.25, .seed = 1};
    if (cv_data_load(&d, &spec, &err) == 0)
        cv_data_free(&d);
    else if (err.msg[0] == '\0')
        abort();

    cv_dataset ds;
    cv_error err2 = {0};
    if (cv_dataset_read(&ds, path, "label", &err2) == 0)
        cv_dataset_free(&ds);
    else if (err2.msg[0] == '\0')
        abort();
    return 0;
}
