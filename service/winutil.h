/* winutil.h — small Win32 helpers for the service: UTF-8 <-> UTF-16, registry paths, default paths. */
#ifndef PH_SVC_WINUTIL_H
#define PH_SVC_WINUTIL_H

#include <windows.h>

#include <pipehost/pipehost.h> /* PH_PRINTF */
#include <stddef.h>

/* Formats why (size why_size) when the caller asked for a reason: why may be NULL or why_size 0. */
void ph__svc_say(char *why, size_t why_size, const char *fmt, ...) PH_PRINTF(3, 4);

/* malloc'd conversions; NULL on failure (invalid text or out of memory) with *err set when err is given. */
wchar_t *ph__svc_to_wide(const char *s, DWORD *err);
char *ph__svc_to_utf8(const wchar_t *w, DWORD *err);

/* malloc'd "SYSTEM\CurrentControlSet\Services\<service>\Parameters"; NULL if out of memory. */
wchar_t *ph__svc_params_key_path(const wchar_t *service);

/* malloc'd "%ProgramData%\<log folder>\<service>.log" (ph__svc_log_folder: ph_service_app.log_folder, default
 * pipehost). Returns 0 or the Win32 error. */
DWORD ph__svc_default_log_path(const wchar_t *service, wchar_t **out);
/* The security descriptor given to the default log folder when it is created: SYSTEM and Administrators
 * full control, Users read. Users must not be able to plant or replace files an elevated service writes. */
#define SVC_LOG_DIR_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)"

#endif /* PH_SVC_WINUTIL_H */
