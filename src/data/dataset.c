/* dataset.c: one data set's own functions (see caviar/data.h): standardize
 * it, free it. The readers free a half-read data set with them; data.c and
 * predict standardize with them. */
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"

void cv_dataset_standardize(cv_dataset *ds, const float *mean, const float *std)
{
    size_t d = (size_t)ds->d;
    for (int64_t i = 0; i < ds->n; i++) {
        float *x = ds->X + (size_t)i * d; /* (d) */
        for (size_t j = 0; j < d; j++)
            x[j] = (x[j] - mean[j]) / std[j];
    }
}

void cv_dataset_free(cv_dataset *ds)
{
    if (ds == NULL)
        return;
    free(ds->X);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}
