/* svctest.h — fixtures for service tests: install the freshly built service in the SCM, configure, poll, clean up. */
#ifndef PH_SVCTEST_H
#define PH_SVCTEST_H

#include "testsupport.h"

#include <windows.h>

#include <pipehost/pipehost.h>
#include <stddef.h>

/* One installed test service. Everything it creates (service, registry keys, log files) is removed by
 * svct_cleanup_all, which every test case registers as its checked teardown (it also runs at exit). */
typedef struct svct {
    wchar_t name[80];           /* unique service name: "phsvc-<tag>-<pid>-<n>" */
    char name_a[80];
    char pipe[160];             /* unique bare pipe name, set as PipeName */
    char pipe_full[200];        /* "\\.\pipe\<pipe>" */
    wchar_t log_path[MAX_PATH]; /* LogFile, in svct_log_dir */
    char log_path_a[MAX_PATH];
    SC_HANDLE scm;
    SC_HANDLE svc;
} svct;

/* Creates (CreateServiceW, demand start, own process) a service running exe (a Windows path, quoted by
 * this function), with PipeName and LogFile set in its Parameters key. exe NULL = pipehost.exe. */
/* %ProgramData%\phsvc-tests, created if needed with a descriptor the service accepts for its log. */
void svct_log_dir(wchar_t *out, size_t size);
svct *svct_new(const char *tag, const wchar_t *exe);
/* Windows path of a built executable (the build passes unix paths under Wine: /x -> Z:\x). */
void svct_exe_path(const char *build_path, wchar_t *out, size_t size);
const wchar_t *svct_pipehost_exe(void);
const wchar_t *svct_myservice_exe(void);
const wchar_t *svct_hangsvc_exe(void); /* pipehost's verbs plus HANG, which never returns */

void svct_set_dword(svct *t, const char *value, DWORD data);
void svct_set_sz(svct *t, const char *value, const char *data);
void svct_set_raw(svct *t, const char *value, DWORD type, const void *data, DWORD size);
void svct_delete_value(svct *t, const char *value);

/* StartServiceW; returns 0 or the Win32 error. */
DWORD svct_start(svct *t);
/* Polls QueryServiceStatusEx every 20 ms until the state is reached or timeout_ms passes; the last status
 * is stored in *st. Returns 1 when reached. Fails the test if QueryServiceStatusEx fails. */
int svct_wait_state(svct *t, DWORD state, unsigned timeout_ms, SERVICE_STATUS_PROCESS *st);
/* Starts and waits for RUNNING (failing the test with the log file's content otherwise). */
void svct_start_running(svct *t);
/* ControlService(STOP) and waits for STOPPED; returns the final status. */
void svct_stop(svct *t, unsigned timeout_ms, SERVICE_STATUS_PROCESS *st);

/* The log file's text (malloc'd, NUL-terminated; "" if missing). */
char *svct_read_file(const wchar_t *path);
/* Polls the log file until it contains every needle (NULL-terminated list) or timeout_ms passes. */
int svct_log_has(svct *t, unsigned timeout_ms, ...);

/* One request/response on a fresh connection. Returns the ph_client_transact code; *resp is ph_free'd by
 * the caller. */
int svct_transact(const char *pipe, const void *req, size_t len, unsigned char **resp, size_t *resp_len);

/* CreateProcessW (inheriting handles) for a test's child program. Under a loaded Wine, process creation now
 * and then fails with ERROR_INTERNAL_ERROR (1359) before the child runs any of its code; that one error is
 * retried (up to 5 tries, each noted on stderr). Returns TRUE, or FALSE with GetLastError() set. */
BOOL svct_create_process(const wchar_t *cmdline, DWORD flags, STARTUPINFOW *si, PROCESS_INFORMATION *pi);

/* Starts a program (command line) with stdout and stderr going to out_file, created or truncated: a file, not a
 * pipe, so a child that writes much cannot block (and node.exe under Wine needs a file). Returns its process
 * handle; the test fails if it cannot start. */
HANDLE svct_spawn(const wchar_t *cmdline, const wchar_t *out_file);
/* The same with CreateProcessW's creation flags (CREATE_NEW_PROCESS_GROUP, say). */
HANDLE svct_spawn_flags(const wchar_t *cmdline, DWORD flags, const wchar_t *out_file);

/* Polls pipe with PING every 50 ms until it answers (1), timeout_ms pass or proc (if not NULL) ends (0):
 * for a server a test has just started. */
int svct_wait_ping(const char *pipe, unsigned timeout_ms, HANDLE proc);

/* Runs a program (command line), capturing stdout+stderr into *out (malloc'd), waiting at most
 * timeout_ms. Returns the exit code, or -1 if it had to be killed. */
int svct_run(const wchar_t *cmdline, unsigned timeout_ms, char **out);

/* Fails the test when the Wine prefix runs two services.exe: SCM calls then land on either at random. */
void svct_require_single_scm(void);

void svct_cleanup_all(void);

#endif
