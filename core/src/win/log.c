/* log.c — formatting log lines for the host's callback, with the Win32 error text, preserving GetLastError. */
#include "ph_win.h"

#include <stdio.h>
#include <string.h>

const char *ph_syserror_text(unsigned long err, char *buf, size_t size)
{
    DWORD saved = GetLastError();
    DWORD n;

    if (buf == NULL || size == 0)
        return buf;
    n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)err,
                       MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf, (DWORD)(size > 0xffff ? 0xffff : size), NULL);
    if (n == 0)
        snprintf(buf, size, "unknown error");
    /* FormatMessage ends its text with ".\r\n"; one line per log entry reads better. */
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    SetLastError(saved);
    return buf;
}

static void emit(const ph_logger *lg, ph_log_level level, const char *fmt, va_list ap, DWORD err,
                 const char *call)
{
    char line[1024];
    int n;

    n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n < 0)
        return;
    if (call != NULL && (size_t)n < sizeof(line)) {
        char text[256];
        ph_syserror_text(err, text, sizeof(text));
        snprintf(line + n, sizeof(line) - (size_t)n, ": %s failed: error %lu (%s)", call, (unsigned long)err, text);
    }
    lg->fn(lg->ctx, level, line);
}

void ph__log(const ph_logger *lg, ph_log_level level, const char *fmt, ...)
{
    va_list ap;
    DWORD saved = GetLastError();

    if (lg == NULL || lg->fn == NULL || level > lg->level)
        return;
    va_start(ap, fmt);
    emit(lg, level, fmt, ap, 0, NULL);
    va_end(ap);
    SetLastError(saved);
}

void ph__log_win32(const ph_logger *lg, ph_log_level level, DWORD err, const char *call, const char *fmt, ...)
{
    va_list ap;
    DWORD saved = GetLastError();

    if (lg == NULL || lg->fn == NULL || level > lg->level)
        return;
    va_start(ap, fmt);
    emit(lg, level, fmt, ap, err, call);
    va_end(ap);
    SetLastError(saved);
}
