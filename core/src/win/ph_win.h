/* ph_win.h — internal declarations of the Win32 half of the core: syscall table, logging, server, connections. */
#ifndef PH_WIN_H
#define PH_WIN_H

#include <windows.h>

#include "../ph_internal.h"

/* The Win32 calls the server makes on pipes, through a table so that tests can inject failures
 * (SQLite's pattern). ph__sys starts out pointing at the real functions. */
typedef struct ph_syscalls {
    HANDLE(WINAPI *CreateNamedPipeW)(LPCWSTR, DWORD, DWORD, DWORD, DWORD, DWORD, DWORD, LPSECURITY_ATTRIBUTES);
    BOOL(WINAPI *ConnectNamedPipe)(HANDLE, LPOVERLAPPED);
    BOOL(WINAPI *ReadFile)(HANDLE, LPVOID, DWORD, LPDWORD, LPOVERLAPPED);
    BOOL(WINAPI *WriteFile)(HANDLE, LPCVOID, DWORD, LPDWORD, LPOVERLAPPED);
    BOOL(WINAPI *DisconnectNamedPipe)(HANDLE);
    HANDLE(WINAPI *CreateFileW)(LPCWSTR, DWORD, DWORD, LPSECURITY_ATTRIBUTES, DWORD, DWORD, HANDLE);
} ph_syscalls;
extern ph_syscalls ph__sys;

/* Logging: a sink, a threshold, and a formatter that appends the Win32 error text and keeps GetLastError. */
typedef struct ph_logger {
    ph_log_fn fn;
    void *ctx;
    ph_log_level level;
} ph_logger;
void ph__log(const ph_logger *lg, ph_log_level level, const char *fmt, ...) PH_PRINTF(3, 4);
/* "<what>: <call> failed: error <code> (<text>)". */
void ph__log_win32(const ph_logger *lg, ph_log_level level, DWORD err, const char *call, const char *fmt, ...) PH_PRINTF(5, 6);

/* The single place where Win32 errors become PH_E… codes. */
int ph__map_win32(DWORD err);

/* UTF-8 to a malloc'd UTF-16 string (NULL on failure with *err set). */
wchar_t *ph__utf8_to_wide(const char *s, DWORD *err);
unsigned ph__cpu_count(void);

/* Security descriptor from SDDL: must parse and must carry a real DACL (never a NULL DACL). Free with
 * LocalFree. Returns 0 or PH_EBADSDDL / PH_ENOMEM with *syserr set. */
int ph__security_from_sddl(const char *sddl, PSECURITY_DESCRIPTOR *out, DWORD *syserr);

/* The client on the other end of a connected server pipe: pid, session, and user SID (from its token,
 * through impersonation, else from its process). sid gets "" when unknown. */
#define PH_SID_TEXT_MAX 192
void ph__client_identity(HANDLE pipe, ph_client_info *info, char *sid, size_t sid_size, const ph_logger *lg);

#endif /* PH_WIN_H */
