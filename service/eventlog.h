/* eventlog.h — the Windows Event Log: event source registration and reporting with the message table. */
#ifndef PH_SVC_EVENTLOG_H
#define PH_SVC_EVENTLOG_H

#include <windows.h>

/* Event ids are those of messages.mc (PH_MSG_… in the generated messages.h). */

/* Makes sure HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\<source> names this executable as
 * its EventMessageFile (so the Event Viewer can show our texts), then registers the source. Returns NULL
 * when the source cannot be registered (reporting is then skipped); *err gets the Win32 error. */
HANDLE svc_eventlog_open(const wchar_t *source, DWORD *err);
/* Reports one event: id from messages.h, type EVENTLOG_ERROR_TYPE / _WARNING_TYPE / _INFORMATION_TYPE, text in
 * UTF-8 as the %1 insert. Keeps GetLastError. */
void svc_eventlog_report(HANDLE source, WORD type, DWORD event_id, const char *text);
void svc_eventlog_close(HANDLE source);

#endif /* PH_SVC_EVENTLOG_H */
