/* fuzz_h5in.c: the HDF5 input loader (datasets X and y) on arbitrary bytes.
 *
 * The input is written to input.h5 and read by cv_data_load as a study's
 * source: cv_dataset_read picks the HDF5 reader by the name, which then must
 * refuse anything that is not an HDF5 file with X (n, d...) of numbers and y
 * (n) of whole labels, and survive whatever the file's structure says.
 * After each input every HDF5 object must be closed again (an identifier
 * leaked on an error path would keep the file open inside HDF5 and serve the
 * next input's reads from it). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "caviar/data.h"
#include "caviar/isolate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cv_isolation_enable(false); /* HDF5's own crashes must show here */
    const char *path = cv_fuzz_write("input.h5", data, size);
    cv_data d;
    cv_error err = {0};
    cv_data_spec spec = {.source = path, .dev_size = 0.25, .seed = 1};
    if (cv_data_load(&d, &spec, &err) == 0)
        cv_data_free(&d);
    else if (err.msg[0] == '\0')
        abort();
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
        fprintf(stderr, "fuzz_h5in: %zd HDF5 objects left open\n", open);
        abort();
    }
    return 0;
}
