/* svclog.c — formats the service's log lines once and sends them to the file, the console and the Event Log. */
#include "svclog.h"

#include "eventlog.h"
#include "messages.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ph__svc_log_init(svc_log *log, ph_log_level level)
{
    memset(log, 0, sizeof(*log));
    log->level = (LONG)level;
    InitializeSRWLock(&log->rate_lock);
    /* Out of memory this early: the lines are written unlimited rather than lost. */
    log->rate = malloc(sizeof(*log->rate));
    if (log->rate != NULL)
        ph__svc_lograte_init(log->rate);
}

void ph__svc_log_set_level(svc_log *log, ph_log_level level)
{
    InterlockedExchange(&log->level, (LONG)level);
}

static void emit(svc_log *log, ph_log_level level, DWORD event_id, int to_events, const char *msg);

/* A summary of held-back lines, under rate_lock (emit takes only the file's lock: no lock order to break). */
static void summary(void *ctx, int level, const char *user, const char *kind, uint32_t count)
{
    svc_log *log = ctx;
    char msg[400];

    snprintf(msg, sizeof(msg), "%lu similar lines suppressed (user %s): \"%s\"", (unsigned long)count,
             user[0] != '\0' ? user : "unknown", kind);
    emit(log, (ph_log_level)level, level == PH_LOG_ERROR ? PH_MSG_PIPE_ERROR : 0, level == PH_LOG_ERROR, msg);
}

void ph__svc_log_close(svc_log *log)
{
    if (log->rate != NULL) {
        AcquireSRWLockExclusive(&log->rate_lock);
        ph__svc_lograte_flush(log->rate, GetTickCount64(), 1, summary, log);
        ReleaseSRWLockExclusive(&log->rate_lock);
        free(log->rate);
        log->rate = NULL;
    }
    ph__svc_filelog_close(log->file);
    ph__svc_eventlog_close(log->events);
    log->file = NULL;
    log->events = NULL;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* One line: "2025-01-31T12:00:00.123Z [level] message" to the file and (without the time) to stderr. */
static void emit(svc_log *log, ph_log_level level, DWORD event_id, int to_events, const char *msg)
{
    char line[1200];
    SYSTEMTIME t;
    int n;
    const char *name = (unsigned)level < 4 ? level_names[level] : "?";

    if ((LONG)level <= log->level) {
        GetSystemTime(&t);
        n = snprintf(line, sizeof(line), "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ [%s] %s", t.wYear, t.wMonth, t.wDay,
                     t.wHour, t.wMinute, t.wSecond, t.wMilliseconds, name, msg);
        if (n > 0 && log->file != NULL)
            ph__svc_filelog_write(log->file, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        if (log->console) {
            fprintf(stderr, "%s: [%s] %s\n", log->program ? log->program : "pipehost", name, msg);
            (void)fflush(stderr); /* a console that cannot be written has nowhere left to report to */
        }
    }
    if (log->events != NULL && to_events) {
        WORD type = level == PH_LOG_ERROR  ? EVENTLOG_ERROR_TYPE
                    : level == PH_LOG_WARN ? EVENTLOG_WARNING_TYPE
                                           : EVENTLOG_INFORMATION_TYPE;
        if (event_id == 0)
            event_id = level == PH_LOG_ERROR ? PH_MSG_ERROR : level == PH_LOG_WARN ? PH_MSG_WARNING : PH_MSG_INFO;
        ph__svc_eventlog_report(log->events, type, event_id, msg);
    }
}

static void vemit(svc_log *log, ph_log_level level, DWORD event_id, int to_events, DWORD err, const char *call,
                  const char *fmt, va_list ap) PH_PRINTF(7, 0);
static void vemit(svc_log *log, ph_log_level level, DWORD event_id, int to_events, DWORD err, const char *call,
                  const char *fmt, va_list ap)
{
    char msg[1024];
    int n;

    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    if (call != NULL && (size_t)n < sizeof(msg)) {
        char text[256];
        ph_syserror_text(err, text, sizeof(text));
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s failed: error %lu (%s)", call, (unsigned long)err, text);
    }
    emit(log, level, event_id, to_events, msg);
}

void ph__svc_log_msg(svc_log *log, ph_log_level level, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    va_list ap;

    if ((LONG)level > log->level && (level > PH_LOG_WARN || log->events == NULL))
        return;
    va_start(ap, fmt);
    vemit(log, level, 0, level <= PH_LOG_WARN, 0, NULL, fmt, ap);
    va_end(ap);
    SetLastError(saved);
}

void ph__svc_log_win32(svc_log *log, ph_log_level level, DWORD err, const char *call, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    va_list ap;

    va_start(ap, fmt);
    vemit(log, level, 0, level <= PH_LOG_WARN, err, call, fmt, ap);
    va_end(ap);
    SetLastError(saved);
}

void ph__svc_log_event(svc_log *log, ph_log_level level, DWORD event_id, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    va_list ap;

    va_start(ap, fmt);
    vemit(log, level, event_id, 1, 0, NULL, fmt, ap);
    va_end(ap);
    SetLastError(saved);
}

void ph__svc_log_event_win32(svc_log *log, ph_log_level level, DWORD event_id, DWORD err, const char *call,
                         const char *fmt, ...)
{
    DWORD saved = GetLastError();
    va_list ap;

    va_start(ap, fmt);
    vemit(log, level, event_id, 1, err, call, fmt, ap);
    va_end(ap);
    SetLastError(saved);
}

void ph__svc_log_core(void *ctx, ph_log_level level, const char *message)
{
    svc_log *log = ctx;

    /* Only the core's errors (pipe creation, I/O failures) become events, with their own id: its warnings are
     * about single clients (a slow reader, an oversized request) and would flood the Event Log. */
    if ((LONG)level > log->level && level != PH_LOG_ERROR)
        return;
    if (log->rate != NULL) {
        char user[SVC_LOGRATE_USER_MAX], kind[SVC_LOGRATE_KIND_MAX];
        ULONGLONG now = GetTickCount64();
        int admitted;

        ph__svc_lograte_classify(message, user, sizeof(user), kind, sizeof(kind));
        AcquireSRWLockExclusive(&log->rate_lock);
        ph__svc_lograte_flush(log->rate, now, 0, summary, log);
        admitted = ph__svc_lograte_admit(log->rate, user, kind, (int)level, now, summary, log);
        ReleaseSRWLockExclusive(&log->rate_lock);
        if (!admitted)
            return;
    }
    emit(log, level, level == PH_LOG_ERROR ? PH_MSG_PIPE_ERROR : 0, level == PH_LOG_ERROR, message);
}
