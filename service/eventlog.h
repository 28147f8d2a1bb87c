/* eventlog.h — the Windows Event Log: reporting with the message table, the event id of each exit cause. */
#ifndef PH_SVC_EVENTLOG_H
#define PH_SVC_EVENTLOG_H

#include <windows.h>

/* Event ids are those of messages.mc (PH_MSG_… in the generated messages.h). */

/* Opens the event source for reporting (RegisterEventSourceW). It never writes the source's registration
 * (HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\<source>): that is install's and uninstall's
 * job, so a copy of the program started from another folder cannot re-point an installed source at itself.
 * *registered says whether the registration exists (without it the events are recorded without our texts).
 * Returns NULL when the source cannot be opened (reporting is then skipped); *err gets the Win32 error. */
HANDLE ph__svc_eventlog_open(const wchar_t *source, int *registered, DWORD *err);
/* Reports one event: id from messages.h, type EVENTLOG_ERROR_TYPE / _WARNING_TYPE / _INFORMATION_TYPE, text in
 * UTF-8 as the %1 insert. Keeps GetLastError. */
void ph__svc_eventlog_report(HANDLE source, WORD type, DWORD event_id, const char *text);
void ph__svc_eventlog_close(HANDLE source);

/* The event id that says why the service stopped with exit code `code` (service/exitcodes.h): its own id for
 * each cause an administrator may filter on (configuration, pipe name in use, descriptor refused, log
 * refused, start failure, abnormal stop), PH_MSG_STOPPED for 0 and PH_MSG_ERROR for anything else. */
DWORD ph__svc_eventlog_exit_event(int code);

/* For tests: every report goes to fn instead of ReportEventW while it is set (NULL restores ReportEventW).
 * Not thread-safe against concurrent reports; set it before the reporting starts. */
typedef void (*svc_eventlog_hook)(void *ctx, WORD type, DWORD event_id, const char *text);
void ph__svc_eventlog_set_hook(svc_eventlog_hook fn, void *ctx);

#endif /* PH_SVC_EVENTLOG_H */
