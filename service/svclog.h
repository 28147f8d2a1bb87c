/* svclog.h — where the service's messages go: the log file, the console, and the Event Log. */
#ifndef PH_SVC_SVCLOG_H
#define PH_SVC_SVCLOG_H

#include <windows.h>

#include <pipehost/pipehost.h>

#include "filelog.h"
#include "lograte.h"

/* A message goes to the file and the console when its level is at or below the threshold; errors and
 * warnings, and the explicit events (ph__svc_log_event), also go to the Event Log whatever the threshold: an
 * explicit event with its own id (messages.mc), the core's errors as PH_MSG_PIPE_ERROR, other errors and
 * warnings as PH_MSG_ERROR / PH_MSG_WARNING. */
typedef struct svc_log {
    volatile LONG level;   /* ph_log_level; changed by PARAMCHANGE */
    svc_filelog *file;     /* NULL: no file */
    HANDLE events;         /* event source; NULL: no Event Log */
    int console;           /* 1: also write to stderr (console mode) */
    const char *program;   /* prefix of console lines (the host program's name); NULL: "pipehost" */
    svc_lograte *rate;     /* the core's lines, limited per user and kind (lograte.h); NULL: not limited */
    SRWLOCK rate_lock;
} svc_log;

void ph__svc_log_init(svc_log *log, ph_log_level level);
void ph__svc_log_set_level(svc_log *log, ph_log_level level);
/* Writes the summaries still due (lograte.h), then closes the file and the event source. */
void ph__svc_log_close(svc_log *log);

void ph__svc_log_msg(svc_log *log, ph_log_level level, const char *fmt, ...) PH_PRINTF(3, 4);
/* "<message>: <call> failed: error <code> (<text>)". err must have been captured right after the call. */
void ph__svc_log_win32(svc_log *log, ph_log_level level, DWORD err, const char *call, const char *fmt, ...)
    PH_PRINTF(5, 6);
/* A message that is also an Event Log event with its own id (PH_MSG_STARTED, …), whatever the threshold. */
void ph__svc_log_event(svc_log *log, ph_log_level level, DWORD event_id, const char *fmt, ...) PH_PRINTF(4, 5);
/* The same with a Win32 failure appended, as ph__svc_log_win32 does. */
void ph__svc_log_event_win32(svc_log *log, ph_log_level level, DWORD event_id, DWORD err, const char *call,
                         const char *fmt, ...) PH_PRINTF(6, 7);

/* The core's ph_log_fn, with a svc_log as ctx. Its lines are about pipes and clients, so any user can cause
 * them: they are rate-limited per user and kind (lograte.h), with "N similar lines suppressed" summaries. */
void ph__svc_log_core(void *ctx, ph_log_level level, const char *message);

#endif /* PH_SVC_SVCLOG_H */
