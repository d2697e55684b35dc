/* error.c: the error record shared by every module (see caviar/error.h). */
#include "caviar/error.h"

#include <stdarg.h>
#include <stdio.h>

int cv_fail(cv_error *err, int code, const char *fmt, ...)
{
    if (err == NULL || err->code != CV_OK)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void cv_error_clear(cv_error *err)
{
    err->code = CV_OK;
    err->msg[0] = '\0';
}

int cv_exit_status(int code)
{
    switch (code) {
    case CV_OK:
        return 0;
    case CV_ERR_INPUT:
        return 2;
    default:
        return 1;
    }
}
