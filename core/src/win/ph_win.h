/* ph_win.h — internal declarations of the Win32 half of the core: syscall table, logging, server, connections. */
#ifndef PH_WIN_H
#define PH_WIN_H

#include <windows.h>

#include "../ph_internal.h"

/* The Win32 calls the server and client make on pipes, through a table so that tests can inject failures
 * (SQLite's pattern). The table is const, in read-only memory: nothing in a shipped program can redirect
 * these calls. Tests inject through a link seam instead: the core's test helpers define their own const
 * ph__sys (trampolines into a table only the test can change), and the linker then never pulls
 * syscalls.c, which holds nothing else, out of the static library. */
typedef struct ph_syscalls {
    HANDLE(WINAPI *CreateNamedPipeW)(LPCWSTR, DWORD, DWORD, DWORD, DWORD, DWORD, DWORD, LPSECURITY_ATTRIBUTES);
    BOOL(WINAPI *ConnectNamedPipe)(HANDLE, LPOVERLAPPED);
    BOOL(WINAPI *ReadFile)(HANDLE, LPVOID, DWORD, LPDWORD, LPOVERLAPPED);
    BOOL(WINAPI *WriteFile)(HANDLE, LPCVOID, DWORD, LPDWORD, LPOVERLAPPED);
    BOOL(WINAPI *DisconnectNamedPipe)(HANDLE);
    HANDLE(WINAPI *CreateFileW)(LPCWSTR, DWORD, DWORD, LPSECURITY_ATTRIBUTES, DWORD, DWORD, HANDLE);
    /* Only to associate an instance with the server's port: a test seam then knows each instance's port. */
    HANDLE(WINAPI *CreateIoCompletionPort)(HANDLE, HANDLE, ULONG_PTR, DWORD);
} ph_syscalls;
extern const ph_syscalls ph__sys;

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

/* SYSTEM, LocalService, NetworkService or a per-service SID (S-1-5-80-x-x-x-x-x), given as text. */
int ph__sid_is_service_account(const char *sid);

/* The pipe and the server's logger of the connection a request came on (request.c, which alone outside the
 * engine reads the connection). Valid during the handler call; INVALID_HANDLE_VALUE and NULL without one. */
HANDLE ph__request_pipe(const ph_request *req, const ph_logger **log);

/* Parses and checks an SDDL string with ph_sddl_check's rules for use; the descriptor is LocalFree'd. */
int ph__security_parse(const char *sddl, unsigned use, PSECURITY_DESCRIPTOR *out, DWORD *syserr, char *why,
                       size_t why_size);

/* AccessCheck of the client on a connected server pipe against sd: impersonates it just long enough to take
 * its token. *granted is set only on return 0; otherwise the Win32 error is returned (the client's token
 * could not be had, e.g. an anonymous client, or AccessCheck failed) and the caller must deny. */
DWORD ph__pipe_client_access(HANDLE pipe, PSECURITY_DESCRIPTOR sd, DWORD desired, const GENERIC_MAPPING *mapping,
                             int *granted);

/* The user SID of a token as text ("S-1-5-18"); 0 when it cannot be read or does not fit. */
int ph__token_user_sid(HANDLE token, char *sid, size_t sid_size);

/* The client on the other end of a connected server pipe: pid, session, and user SID (from its token,
 * through impersonation only). sid gets "" when unknown: never the token of whatever process has the pid. */
#define PH_SID_TEXT_MAX 192

/* What a client asks for when it opens a pipe: read, write data, and write attributes (to set message read
 * mode). Never GENERIC_WRITE: for a pipe it includes FILE_APPEND_DATA, which is FILE_CREATE_PIPE_INSTANCE,
 * and PH_DEFAULT_SDDL withholds that from ordinary users (so they cannot add instances of the name), so
 * Windows would refuse their open with ERROR_ACCESS_DENIED. */
#define PH_CLIENT_PIPE_ACCESS (GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES)
void ph__client_identity(HANDLE pipe, ph_client_info *info, char *sid, size_t sid_size, const ph_logger *lg);

/* The fixed pool's descriptor: a new self-relative copy of strict (LocalFree) whose DACL grants
 * FILE_APPEND_DATA (= FILE_CREATE_PIPE_INSTANCE) to every allow entry that grants FILE_WRITE_DATA and not
 * FILE_APPEND_DATA, once generic rights are mapped as for files (inherit-only entries excepted), so that the
 * users it lets write may open the pipe with GENERIC_WRITE. Deny entries, the order, the DACL's protection,
 * the owner, group and SACL are kept. PH_DEFAULT_SDDL's 0x12019b for AU becomes 0x12019f. The result passes
 * ph_sddl_check(PH_SDDL_PIPE_FIXED) whenever strict passes PH_SDDL_PIPE. Safe only while the pipe has all of
 * its nMaxInstances instances (then nobody can add one, whatever the DACL). Returns 0, PH_EBADSDDL (no DACL
 * or a NULL one), PH_ENOMEM, PH_EINVAL or PH_ESYS, with *syserr the Win32 error. */
int ph__security_widen(PSECURITY_DESCRIPTOR strict, PSECURITY_DESCRIPTOR *wide, DWORD *syserr);

/* Applies sd's DACL to the pipe (SetSecurityInfo, SE_KERNEL_OBJECT; PROTECTED_DACL_SECURITY_INFORMATION when
 * sd's DACL is protected). The handle needs WRITE_DAC: an instance created with WRITE_DAC in its open mode.
 * All instances of a name share one descriptor, so this changes it for all of them. A missing or NULL DACL is
 * never applied (ERROR_INVALID_SECURITY_DESCR). Returns 0 or the Win32 error. */
DWORD ph__pipe_set_dacl(HANDLE pipe, PSECURITY_DESCRIPTOR sd);

#endif /* PH_WIN_H */
