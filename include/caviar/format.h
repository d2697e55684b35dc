/* caviar/format.h: small text formats shared by the runner's progress and
 * the report (module util). */
#ifndef CAVIAR_FORMAT_H
#define CAVIAR_FORMAT_H

#include <stddef.h>

/* A duration as people read it: "-" when unknown (negative, NaN), "12.5 s"
 * under a minute, "m:ss" under an hour, "h:mm:ss" beyond. */
void cv_format_duration(double seconds, char *buf, size_t size);

/* Now as ISO 8601 UTC ("2026-12-02T19:34:15Z"), or "unknown". */
void cv_format_now(char *buf, size_t size);

#endif
