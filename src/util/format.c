/* format.c: small text formats (see caviar/format.h). */
#include "caviar/format.h"

#include <math.h>
#include <stdio.h>

void cv_format_duration(double s, char *buf, size_t size)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, size, "-");
        return;
    }
    if (s < 60) {
        snprintf(buf, size, "%.1f s", s);
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}
