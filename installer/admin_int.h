/* admin_int.h — helpers shared by the administrator's commands (internal to installer/). */
#ifndef PH_ADMIN_INT_H
#define PH_ADMIN_INT_H

#include "admin.h"

#include <stdint.h>

#define ADM_EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"
/* Where `uninstall --keep-config` keeps a service's Parameters until the next install of the same name:
 * HKLM\SOFTWARE\<registry root>\SavedParameters\<name> (the root is ph_service_app.registry_root, default
 * "pipehost"). malloc'd; NULL when out of memory. parent_only: without <name> (the key emptied at restore). */
wchar_t *ph__adm_saved_key(const wchar_t *name, int parent_only);
/* Bounded waits for the SCM: a stop waits for the drain (DrainTimeoutMs, 30 s at most by default). */
#define ADM_STOP_WAIT_MS 60000u
#define ADM_START_WAIT_MS 30000u

/* Prints "<prefix>: <what>: <call> failed: error N (text)" plus a hint for the errors admins meet, and returns
 * the exit code for err (PH_ADMIN_DENIED, PH_ADMIN_CONFLICT, PH_ADMIN_NOT_INSTALLED or PH_ADMIN_FAILED). */
int ph__adm_fail(const char *what, const char *call, DWORD err);
/* A service name as UTF-16, checked: 1..256 characters, no '\' or '/'. NULL (message printed) when invalid. */
wchar_t *ph__adm_service_name(const char *name);
/* Opens the SCM with the given rights; NULL with the message printed and *code set. */
SC_HANDLE ph__adm_open_scm(DWORD access, int *code);
/* Polls until the service reaches state or timeout_ms passes; the last status in *st. Returns 1 if reached. */
int ph__adm_wait_state(SC_HANDLE svc, DWORD state, unsigned timeout_ms, SERVICE_STATUS_PROCESS *st);
/* Polls until the SCM no longer knows the service (deleted, not just marked). Returns 1 if gone in time. */
int ph__adm_wait_deleted(SC_HANDLE scm, const wchar_t *name, unsigned timeout_ms);
/* "RUNNING", "STOPPED", … */
const char *ph__adm_state_name(DWORD state);
/* HKLM\<ADM_EVENTLOG_KEY><name>, malloc'd. */
wchar_t *ph__adm_key_path(const wchar_t *prefix, const wchar_t *name);
/* Whether HKLM\path exists. */
int ph__adm_key_exists(const wchar_t *path);
/* One client request on pipe, in framing, or when framing is NULL in the framing the pipe serves, to the
 * service whose process is service_pid (from the SCM; must not be 0): a pipe served by any other process is
 * refused before anything is sent (PH_CLI_UNTRUSTED). 0 and *resp (ph_free) on an answer, else a PH_CLI_…
 * code with the message printed. The answer is the server's text: print it escaped (escape.h). */
int ph__adm_ask(const char *pipe, const ph_framing *framing, unsigned long service_pid, const char *request,
            uint32_t timeout_ms, unsigned char **resp, size_t *resp_len);
/* Prints a service's effective configuration (registry values merged with the defaults, and any error that would
 * stop a start), as `status` does. Returns 0. */
int ph__adm_show_config(const char *name, const wchar_t *wname, const char *default_pipe);
/* The value of "key=" in a STATUS answer, copied into out ("" if absent). */
void ph__adm_status_value(const unsigned char *resp, size_t len, const char *key, char *out, size_t size);

#endif /* PH_ADMIN_INT_H */
