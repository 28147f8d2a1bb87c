/* test_service.c — pipehost.exe through the real SCM: lifecycle, protocol, configuration errors, stop under load. */
#include "svctest.h"

#include <aclapi.h>
#include <knownfolders.h>
#include <sddl.h>
#include <process.h>
#include <shlobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_CONFIG 1
#define EXIT_PIPE_IN_USE 2
#define EXIT_SECURITY 3
#define EXIT_LOG 5
#define EXIT_STOP_HUNG 7
#define CLI_UNTRUSTED 6

static void teardown(void)
{
    svct_cleanup_all();
}

/* Sends req on an open client and expects exactly want (want_len bytes) back. */
static void expect_reply(ph_client *c, const void *req, size_t len, const void *want, size_t want_len)
{
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    int rc = ph_client_transact(c, req, len, &resp, &resp_len, 10000, 0);

    ck_assert_msg(rc == 0, "transact failed: %s (%lu)", ph_strerror(rc), ph_client_syserror(c));
    ck_assert_msg(resp_len == want_len && memcmp(resp, want, want_len) == 0, "got %lu bytes \"%.200s\", want \"%.200s\"",
                  (unsigned long)resp_len, (const char *)resp, (const char *)want);
    ph_free(resp);
}

static char *status_text(const char *pipe)
{
    unsigned char *resp = NULL;
    size_t len = 0;
    int rc = svct_transact(pipe, "STATUS", 6, &resp, &len);
    ck_assert_msg(rc == 0, "STATUS failed: %s", ph_strerror(rc));
    ck_assert_msg(len > 3 && memcmp(resp, "OK ", 3) == 0, "STATUS answered %s", (const char *)resp);
    return (char *)resp;
}

START_TEST(lifecycle)
{
    svct *t = svct_new("life", NULL);
    SERVICE_STATUS_PROCESS st;
    ph_client *c = NULL;
    static const unsigned char bin_req[] = {'E', 'C', 'H', 'O', ' ', 'a', 0, 'b', 0, 0, 0xff, '\r', '\n'};
    static const unsigned char bin_resp[] = {'O', 'K', ' ', 'a', 0, 'b', 0, 0, 0xff, '\r', '\n'};
    unsigned char *resp = NULL, big[3000];
    size_t resp_len = 0;
    char *text, want[64];
    union {
        SERVICE_PRESHUTDOWN_INFO info;
        BYTE raw[64];
    } pre;
    DWORD need = 0;
    unsigned long long t0;

    svct_set_dword(t, "PreshutdownTimeoutMs", 12345);
    svct_set_dword(t, "MaxMessageBytes", 2048);
    svct_start_running(t);
    ck_assert(svct_wait_state(t, SERVICE_RUNNING, 1000, &st));
    ck_assert_uint_eq(st.dwControlsAccepted & (SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE |
                                               SERVICE_ACCEPT_PRESHUTDOWN),
                      SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE |
                          SERVICE_ACCEPT_PRESHUTDOWN);
    ck_assert_uint_eq(st.dwCheckPoint, 0);
    ck_assert_uint_ne(st.dwProcessId, 0);
    /* The service only reads the SCM's preshutdown timeout (writing it is `pipehost install`'s job, and
     * LocalService may not): the configured value was not applied, and the difference is reported. */
    ck_assert(QueryServiceConfig2W(t->svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, pre.raw, sizeof(pre.raw), &need));
    ck_assert_uint_ne(pre.info.dwPreshutdownTimeout, 12345);
    ck_assert(svct_log_has(t, 5000, "PreshutdownTimeoutMs is 12345 ms but the SCM has", "run `pipehost install`",
                           (const char *)NULL));

    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, t->pipe, 5000, 0), 0);
    expect_reply(c, "PING", 4, "OK PONG", 7);
    expect_reply(c, "ping\r\n", 6, "OK PONG", 7);           /* case-insensitive, trailing CRLF ignored */
    expect_reply(c, bin_req, sizeof(bin_req), bin_resp, sizeof(bin_resp)); /* binary-safe */
    expect_reply(c, "ECHO ", 5, "OK ", 3);                  /* empty payload */
    expect_reply(c, "ECHO", 4, "OK ", 3);
    /* A bare CRLF gets no answer: the next answer is the next request's. */
    ck_assert_int_eq(ph_client_send(c, "\r\n", 2, 5000), 0);
    expect_reply(c, "PING", 4, "OK PONG", 7);
    ck_assert_int_eq(ph_client_transact(c, "NOPE x", 6, &resp, &resp_len, 10000, 0), 0);
    ck_assert_msg(strncmp((char *)resp, "ERR unknown-verb ", 17) == 0, "%s", (char *)resp);
    ph_free(resp);

    text = status_text(t->pipe);
    ck_assert_msg(strstr(text, "version=" PH_VERSION_STRING "\n") != NULL, "%s", text);
    snprintf(want, sizeof(want), "pipe=%s\n", t->pipe_full);
    ck_assert_msg(strstr(text, want) != NULL, "%s", text);
    ck_assert_msg(strstr(text, "max_message_bytes=2048\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "connections_active=2\n") != NULL, "%s", text);
    /* The pool the defaults make, said as STATUS says it. */
    {
        ph_server_config core;
        ph_server_config_init(&core);
        if (core.max_instances >= 255)
            snprintf(want, sizeof(want), "\npool=unlimited\n");
        else
            snprintf(want, sizeof(want), "\npool=fixed %u\n", core.max_instances);
        ck_assert_msg(strstr(text, want) != NULL, "no %s in %s", want + 1, text);
    }
    {
        static const char *const keys[] = {"uptime_ms=", "connections_total=", "requests_total=", "errors_total=",
                                           "bytes_in=", "bytes_out="};
        size_t i;
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            ck_assert_msg(strstr(text, keys[i]) != NULL, "no %s in %s", keys[i], text);
    }
    ph_free(text);

    ck_assert_int_eq(ph_client_transact(c, "WHOAMI", 6, &resp, &resp_len, 10000, 0), 0);
    snprintf(want, sizeof(want), "OK pid=%lu\n", (unsigned long)GetCurrentProcessId());
    ck_assert_msg(strncmp((char *)resp, want, strlen(want)) == 0, "%s", (char *)resp);
    ck_assert_msg(strstr((char *)resp, "\nsession=") != NULL && strstr((char *)resp, "\nsid=S-1-") != NULL, "%s",
                  (char *)resp);
    ph_free(resp);

    /* Too large: an ERR and the connection closes. */
    memcpy(big, "ECHO ", 5);
    memset(big + 5, 'x', sizeof(big) - 5);
    ck_assert_int_eq(ph_client_transact(c, big, sizeof(big), &resp, &resp_len, 10000, 0), 0);
    ck_assert_msg(strncmp((char *)resp, "ERR too-large ", 14) == 0, "%s", (char *)resp);
    ph_free(resp);
    resp = NULL;
    ck_assert_int_ne(ph_client_transact(c, "PING", 4, &resp, &resp_len, 5000, 0), 0);
    ph_client_free(c);

    t0 = ph_test_now_ms();
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
    ck_assert_uint_eq(st.dwServiceSpecificExitCode, 0);
    ck_assert_msg(ph_test_now_ms() - t0 < 10000, "stop took %llu ms", ph_test_now_ms() - t0);
    ck_assert_msg(svct_log_has(t, 5000, "is serving", "(pool fixed ", " framing, messages up to ", "stopped (exit code 0)",
                              (const char *)NULL),
                  "log:\n%s", svct_read_file(t->log_path));
}
END_TEST

START_TEST(interrogate)
{
    svct *t = svct_new("intg", NULL);
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;

    svct_start_running(t);
    ck_assert_msg(ControlService(t->svc, SERVICE_CONTROL_INTERROGATE, &s), "INTERROGATE failed: %lu", GetLastError());
    ck_assert_uint_eq(s.dwCurrentState, SERVICE_RUNNING);
    ck_assert(s.dwControlsAccepted & SERVICE_ACCEPT_STOP);
    /* The service is still fine afterwards. */
    ck_assert_int_eq(svct_wait_state(t, SERVICE_RUNNING, 100, &st), 1);
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

/* Starts a service whose configuration is broken by setup(), and expects it to refuse: STOPPED with
 * ERROR_SERVICE_SPECIFIC_ERROR, the code, and log lines with the needles. */
static void expect_refused(svct *t, int code, const wchar_t *log_path, const char *n1, const char *n2)
{
    SERVICE_STATUS_PROCESS st;
    DWORD err = svct_start(t);
    char *log;

    /* The StartServiceW result is not judged: it races with a service that reports STOPPED and exits at once.
     * Windows may answer 0 or 1066; Wine's SCM has answered 0, 1053 and 1359 for the same refusal. What proves
     * the refusal is the final status (STOPPED with our service-specific code, which only the service itself
     * reports) and the log; the start result only goes into the messages. */
    ck_assert_msg(svct_wait_state(t, SERVICE_STOPPED, 20000, &st), "not STOPPED (StartServiceW: %lu): state %lu",
                  err, st.dwCurrentState);
    ck_assert_msg(st.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR && st.dwServiceSpecificExitCode == (DWORD)code,
                  "STOPPED with exit code %lu/%lu, expected %lu/%d (StartServiceW: %lu)", st.dwWin32ExitCode,
                  st.dwServiceSpecificExitCode, (unsigned long)ERROR_SERVICE_SPECIFIC_ERROR, code, err);
    log = svct_read_file(log_path ? log_path : t->log_path);
    ck_assert_msg(strstr(log, n1) != NULL && (n2 == NULL || strstr(log, n2) != NULL),
                  "log lacks \"%s\" / \"%s\":\n%s", n1, n2 ? n2 : "", log);
    free(log);
}

START_TEST(config_wrong_type)
{
    svct *t = svct_new("cfgtype", NULL);
    svct_set_sz(t, "MaxMessageBytes", "65536");
    expect_refused(t, EXIT_CONFIG, NULL, "MaxMessageBytes", "accepted type REG_DWORD (1..67108864 bytes), given REG_SZ");
}
END_TEST

START_TEST(config_out_of_range)
{
    svct *t = svct_new("cfgrange", NULL);
    svct_set_dword(t, "MaxMessageBytes", 0);
    svct_set_dword(t, "IdleTimeoutMs", 5);
    expect_refused(t, EXIT_CONFIG, NULL, "MaxMessageBytes (registry): accepted range 1..67108864 bytes, given 0",
                   "IdleTimeoutMs (registry): accepted range 100..4294967295");
}
END_TEST

START_TEST(config_bad_pipe_name)
{
    svct *t = svct_new("cfgpipe", NULL);
    svct_set_sz(t, "PipeName", "\\\\otherhost\\pipe\\x");
    expect_refused(t, EXIT_CONFIG, NULL, "PipeName", "given \"\\\\otherhost\\pipe\\x\"");
}
END_TEST

/* (PendingInstances above a fixed pool's MaxInstances is not an error: it is the unlimited pool's setting.) */
START_TEST(config_pending_over_max)
{
    svct *t = svct_new("cfgpend", NULL);
    svct_set_dword(t, "MaxInstances", 256);
    expect_refused(t, EXIT_CONFIG, NULL, "MaxInstances", "given 256");
}
END_TEST

START_TEST(config_bad_log_level)
{
    svct *t = svct_new("cfglevel", NULL);
    svct_set_sz(t, "LogLevel", "verbose");
    expect_refused(t, EXIT_CONFIG, NULL, "LogLevel", "given \"verbose\"");
}
END_TEST

START_TEST(config_unknown_value)
{
    svct *t = svct_new("cfgname", NULL);
    svct_set_dword(t, "MaxMesageBytes", 100);
    expect_refused(t, EXIT_CONFIG, NULL, "unknown configuration value \"MaxMesageBytes\"", NULL);
}
END_TEST

START_TEST(config_preshutdown_below_drain)
{
    svct *t = svct_new("cfgpre", NULL);
    svct_set_dword(t, "DrainTimeoutMs", 20000);
    svct_set_dword(t, "PreshutdownTimeoutMs", 10000);
    expect_refused(t, EXIT_CONFIG, NULL, "PreshutdownTimeoutMs", "given 10000 ms");
}
END_TEST

START_TEST(config_bad_sddl)
{
    svct *t = svct_new("cfgsddl", NULL);
    svct_set_sz(t, "Sddl", "D:(A;;GA;;;NOSUCHSID");
    expect_refused(t, EXIT_SECURITY, NULL, "invalid configuration value Sddl", "given \"D:(A;;GA;;;NOSUCHSID\"");
}
END_TEST

START_TEST(config_null_dacl)
{
    svct *t = svct_new("cfgdacl", NULL);
    /* A NULL DACL would let anyone in: refused, never applied. */
    svct_set_sz(t, "Sddl", "D:NO_ACCESS_CONTROL");
    expect_refused(t, EXIT_SECURITY, NULL, "Sddl", "grants everyone full access");
}
END_TEST

START_TEST(config_dangerous_sddl)
{
    svct *t = svct_new("cfgdanger", NULL);
    /* Authenticated Users given GENERIC_WRITE, which includes FILE_CREATE_PIPE_INSTANCE: with an unlimited pool
     * they could add instances and squat. The refusal names the pool and the rule. */
    svct_set_dword(t, "MaxInstances", 255);
    svct_set_sz(t, "Sddl", "D:P(A;;GA;;;SY)(A;;GRGW;;;AU)");
    expect_refused(t, EXIT_SECURITY, NULL, "invalid configuration value Sddl (with MaxInstances)",
                   "refused with MaxInstances 255 (an unlimited pool; a fixed pool is MaxInstances 1..254)");
}
END_TEST

/* Changing the descriptor stays refused in a fixed pool too. */
START_TEST(config_dangerous_sddl_fixed_pool)
{
    svct *t = svct_new("cfgdangerfix", NULL);
    svct_set_dword(t, "MaxInstances", 16);
    svct_set_sz(t, "Sddl", "D:P(A;;GA;;;SY)(A;;GA;;;OW)(A;;GRGWWD;;;AU)");
    expect_refused(t, EXIT_SECURITY, NULL, "invalid configuration value Sddl (check)", "WRITE_DAC");
}
END_TEST

START_TEST(config_empty_dacl)
{
    svct *t = svct_new("cfgempty", NULL);
    svct_set_sz(t, "Sddl", "D:P");
    expect_refused(t, EXIT_SECURITY, NULL, "invalid configuration value Sddl", "the DACL is empty");
}
END_TEST

/* Parameters\Verbs\<VERB> (REG_SZ) under the service's key. */
static void set_verb_sddl(svct *t, const char *verb, const char *sddl)
{
    wchar_t path[300], wverb[64], wsddl[512];
    HKEY key;

    MultiByteToWideChar(CP_UTF8, 0, verb, -1, wverb, 64);
    MultiByteToWideChar(CP_UTF8, 0, sddl, -1, wsddl, 512);
    swprintf(path, 300, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters\\Verbs", t->name);
    ck_assert_int_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL), 0);
    ck_assert_int_eq(RegSetValueExW(key, wverb, 0, REG_SZ, (const BYTE *)wsddl, (DWORD)((wcslen(wsddl) + 1) * 2)), 0);
    RegCloseKey(key);
}

static void token_sid(HANDLE token, char *out, size_t size)
{
    union {
        TOKEN_USER user;
        unsigned char raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } buf;
    DWORD len = 0;
    LPSTR text = NULL;

    ck_assert(GetTokenInformation(token, TokenUser, &buf, sizeof(buf), &len));
    ck_assert(ConvertSidToStringSidA(buf.user.User.Sid, &text));
    snprintf(out, size, "%s", text);
    LocalFree(text);
}

static void self_sid(char *out, size_t size)
{
    HANDLE token;
    ck_assert(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    token_sid(token, out, size);
    CloseHandle(token);
}

/* The user SID of the process serving the service (the tests run elevated, so its token can be read). */
static void service_account(svct *t, char *out, size_t size)
{
    SERVICE_STATUS_PROCESS st;
    HANDLE proc, token;

    ck_assert(svct_wait_state(t, SERVICE_RUNNING, 1000, &st));
    proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, st.dwProcessId);
    ck_assert_ptr_nonnull(proc);
    ck_assert(OpenProcessToken(proc, TOKEN_QUERY, &token));
    token_sid(token, out, size);
    CloseHandle(token);
    CloseHandle(proc);
}

/* Per-verb authorization from the registry: the service's account may call STATUS, nobody but another SID
 * may call ECHO, PING is open. Under Wine the client is the same user as the service, named by its SID. */
START_TEST(verbs_restricted)
{
    svct *t = svct_new("verbs", NULL);
    SERVICE_STATUS_PROCESS st;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;
    char me[200], sddl[300], want[300];

    self_sid(me, sizeof(me));
    snprintf(sddl, sizeof(sddl), "D:(A;;GA;;;%s)", me);
    set_verb_sddl(t, "STATUS", sddl);
    set_verb_sddl(t, "echo", "D:(A;;GA;;;S-1-5-21-1-2-3-4)");
    svct_start_running(t);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, t->pipe, 5000, 0), 0);
    expect_reply(c, "PING", 4, "OK PONG", 7);
    ck_assert_int_eq(ph_client_transact(c, "STATUS", 6, &resp, &len, 10000, 0), 0);
    ck_assert_msg(strncmp((char *)resp, "OK ", 3) == 0, "%s", (char *)resp);
    ph_free(resp);
    expect_reply(c, "ECHO hi", 7, "ERR forbidden you are not allowed to call ECHO", 46);
    ph_client_free(c);
    snprintf(want, sizeof(want), "ECHO forbidden for user %s", me);
    ck_assert(svct_log_has(t, 5000, "verb echo restricted to D:(A;;GA;;;S-1-5-21-1-2-3-4)", want, (const char *)NULL));
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

START_TEST(verbs_bad_sddl)
{
    svct *t = svct_new("verbsbad", NULL);
    set_verb_sddl(t, "ECHO", "D:NO_ACCESS_CONTROL");
    expect_refused(t, EXIT_SECURITY, NULL, "invalid per-verb security descriptor Verbs\\ECHO", "NULL DACL");
}
END_TEST

START_TEST(verbs_unknown_verb)
{
    svct *t = svct_new("verbsname", NULL);
    /* A typo would leave the intended verb open: refused, not ignored. */
    set_verb_sddl(t, "ECH0", "D:(A;;GA;;;BA)");
    expect_refused(t, EXIT_CONFIG, NULL, "Verbs\\ECH0: there is no verb ECH0", NULL);
}
END_TEST

/* A request handler that never returns: the stop gives up after the drain timeout + 10 s, reports STOPPED
 * with its own exit code and ends the process, instead of STOP_PENDING for ever. */
START_TEST(stop_with_hung_handler)
{
    svct *t = svct_new("hang", svct_hangsvc_exe());
    SERVICE_STATUS_PROCESS st;
    SERVICE_STATUS ss;
    ph_client *c = NULL;
    HANDLE proc;
    DWORD pid;

    svct_set_dword(t, "DrainTimeoutMs", 500);
    svct_start_running(t);
    ck_assert(svct_wait_state(t, SERVICE_RUNNING, 1000, &st));
    pid = st.dwProcessId;
    proc = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, t->pipe, 5000, 0), 0);
    ck_assert_int_eq(ph_client_send(c, "HANG", 4, 5000), 0);
    Sleep(500); /* let the handler start */
    ck_assert(ControlService(t->svc, SERVICE_CONTROL_STOP, &ss));
    /* 0.5 s drain + 10 s margin, with room for a loaded machine. */
    ck_assert_msg(svct_wait_state(t, SERVICE_STOPPED, 60000, &st), "still state %lu (checkpoint %lu)",
                  st.dwCurrentState, st.dwCheckPoint);
    ck_assert_uint_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
    ck_assert_uint_eq(st.dwServiceSpecificExitCode, EXIT_STOP_HUNG);
    if (proc != NULL) {
        DWORD code = 0;
        ck_assert_uint_eq(WaitForSingleObject(proc, 30000), WAIT_OBJECT_0);
        ck_assert(GetExitCodeProcess(proc, &code));
        ck_assert_uint_eq(code, EXIT_STOP_HUNG);
        CloseHandle(proc);
    }
    ck_assert(svct_log_has(t, 5000, "the stop did not finish within 10500 ms", "a request handler is not returning",
                           (const char *)NULL));
    ph_client_free(c);
}
END_TEST

/* The default log folder (%ProgramData%\pipehost) made beforehand by someone else and writable by
 * everyone: the service refuses to start (exit 5) and creates nothing in it. */
START_TEST(default_log_folder_unsafe)
{
    svct *t = svct_new("logdir", NULL);
    wchar_t dir[MAX_PATH + 20], file[MAX_PATH + 120];
    PWSTR pd = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    BOOL present, defaulted;
    PACL dacl = NULL;
    SERVICE_STATUS_PROCESS st;
    DWORD err;

    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &pd)));
    swprintf(dir, MAX_PATH + 20, L"%ls\\pipehost", pd);
    CoTaskMemFree(pd);
    swprintf(file, MAX_PATH + 120, L"%ls\\%ls.log", dir, t->name);
    if (GetFileAttributesW(dir) != INVALID_FILE_ATTRIBUTES && !RemoveDirectoryW(dir))
        ph_test_skip("the default log folder exists and is in use: not touching it");
    ck_assert(CreateDirectoryW(dir, NULL));
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;WD)", SDDL_REVISION_1,
                                                                   &sd, NULL));
    ck_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    err = SetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                NULL, NULL, dacl, NULL);
    LocalFree(sd);
    ck_assert_uint_eq(err, 0);
    svct_delete_value(t, "LogFile");
    err = svct_start(t);
    ck_assert_msg(err == 0 || err == ERROR_SERVICE_SPECIFIC_ERROR || err == ERROR_SERVICE_REQUEST_TIMEOUT ||
                      err == ERROR_INTERNAL_ERROR, "StartServiceW: %lu", err);
    ck_assert_msg(svct_wait_state(t, SERVICE_STOPPED, 20000, &st), "not STOPPED: state %lu", st.dwCurrentState);
    ck_assert_uint_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
    ck_assert_uint_eq(st.dwServiceSpecificExitCode, EXIT_LOG);
    ck_assert_msg(GetFileAttributesW(file) == INVALID_FILE_ATTRIBUTES, "a log file was created in the unsafe folder");
    RemoveDirectoryW(dir);
}
END_TEST

START_TEST(config_bad_log_file)
{
    svct *t = svct_new("cfglog", NULL);
    wchar_t def[MAX_PATH + 100];
    PWSTR dir = NULL;

    /* A relative LogFile is refused; the error goes to the default log file instead. */
    svct_set_sz(t, "LogFile", "relative\\pipehost.log");
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &dir)));
    swprintf(def, MAX_PATH + 100, L"%ls\\pipehost\\%ls.log", dir, t->name);
    CoTaskMemFree(dir);
    expect_refused(t, EXIT_CONFIG, def, "LogFile", "accepted an absolute path");
    DeleteFileW(def);
}
END_TEST

/* Whether the folder's DACL, read back, lets Everyone add files. */
static int everyone_may_add_files(const wchar_t *dir)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    int yes = 0;
    WORD i;

    if (GetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd) != 0)
        return 0;
    for (i = 0; dacl != NULL && i < dacl->AceCount && !yes; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        LPSTR sid = NULL;
        if (GetAce(dacl, i, (void **)&ace) && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
            ConvertSidToStringSidA((PSID)&ace->SidStart, &sid))
            yes = strcmp(sid, "S-1-1-0") == 0 && (ace->Mask & (FILE_ADD_FILE | GENERIC_ALL | GENERIC_WRITE)) != 0;
        LocalFree(sid);
    }
    LocalFree(sd);
    return yes;
}

/* A LogFile in a folder writable by everyone: the service refuses to start (exit 5, as for the default folder)
 * and creates nothing in it; before, it only warned. */
START_TEST(custom_log_folder_unsafe)
{
    svct *t = svct_new("cuslog", NULL);
    wchar_t base[MAX_PATH], dir[MAX_PATH], file[MAX_PATH];
    char file_a[MAX_PATH];
    PSECURITY_DESCRIPTOR sd = NULL;
    BOOL present, defaulted;
    PACL dacl = NULL;
    SERVICE_STATUS_PROCESS st;
    DWORD err;

    ck_assert(GetEnvironmentVariableW(L"ProgramData", base, MAX_PATH) > 0);
    swprintf(dir, MAX_PATH, L"%ls\\phsvc-unsafe-%lu", base, (unsigned long)GetCurrentProcessId());
    swprintf(file, MAX_PATH, L"%ls\\x.log", dir);
    WideCharToMultiByte(CP_UTF8, 0, file, -1, file_a, MAX_PATH, NULL, NULL);
    ck_assert(CreateDirectoryW(dir, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;WD)", SDDL_REVISION_1,
                                                                   &sd, NULL));
    ck_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    err = SetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                NULL, NULL, dacl, NULL);
    LocalFree(sd);
    ck_assert_uint_eq(err, 0);
    if (!everyone_may_add_files(dir)) {
        RemoveDirectoryW(dir);
        ph_test_skip("the folder does not read back as writable by everyone here");
    }
    svct_set_sz(t, "LogFile", file_a);
    err = svct_start(t);
    ck_assert_msg(svct_wait_state(t, SERVICE_STOPPED, 20000, &st), "not STOPPED (StartServiceW %lu): state %lu", err,
                  st.dwCurrentState);
    ck_assert_uint_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
    ck_assert_uint_eq(st.dwServiceSpecificExitCode, EXIT_LOG);
    ck_assert_msg(GetFileAttributesW(file) == INVALID_FILE_ATTRIBUTES, "a log file was created in the unsafe folder");
    RemoveDirectoryW(dir);
}
END_TEST

/* A LogFile naming a pipe (or a UNC path) would make the service connect out as SYSTEM: a configuration error,
 * reported in the default log file. */
START_TEST(config_log_file_pipe)
{
    svct *t = svct_new("cfgpipe", NULL);
    wchar_t def[MAX_PATH + 100];
    PWSTR dir = NULL;

    svct_set_sz(t, "LogFile", "\\\\.\\pipe\\phsvc-evil");
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &dir)));
    swprintf(def, MAX_PATH + 100, L"%ls\\pipehost\\%ls.log", dir, t->name);
    CoTaskMemFree(dir);
    expect_refused(t, EXIT_CONFIG, def, "LogFile", "a device, pipe or");
    DeleteFileW(def);
}
END_TEST

START_TEST(pipe_in_use)
{
    svct *t = svct_new("inuse", NULL);
    ph_server_config cfg;
    ph_server *s = NULL;
    ph_router *r = NULL;

    /* This process serves the name first. */
    ck_assert_int_eq(ph_router_new(&r), 0);
    ph_server_config_init(&cfg);
    cfg.pipe_name = t->pipe;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = r;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), 0);
    expect_refused(t, EXIT_PIPE_IN_USE, NULL, "already in use", t->pipe);
    ph_server_free(s);
    ph_router_free(r);
}
END_TEST

/* --- stop with 32 clients connected and requests in flight --------------------------------------------- */

#define LOAD_CLIENTS 32
#define LOAD_PAYLOAD 8192

typedef struct load_client {
    const char *pipe;
    int index;
    volatile LONG connected;
    volatile LONG answered;     /* complete, correct answers */
    int bad_answer;             /* an answer that was not the echo of the request */
    int hung;                   /* a request that neither got an answer nor an error in time */
    int end_rc;                 /* how the connection ended */
} load_client;

static unsigned __stdcall load_main(void *arg)
{
    load_client *lc = arg;
    unsigned char *req = malloc(5 + LOAD_PAYLOAD), *resp = NULL;
    size_t resp_len = 0;
    ph_client *c = NULL;
    int rc, n = 0;

    if (req == NULL)
        return 1;
    memcpy(req, "ECHO ", 5);
    rc = ph_client_new(&c);
    if (rc == 0)
        rc = ph_client_connect(c, lc->pipe, 10000, 0);
    if (rc == 0)
        InterlockedExchange(&lc->connected, 1);
    while (rc == 0) {
        /* Every request is distinct, so an answer to the wrong request would be caught. */
        memset(req + 5, 'a' + (lc->index + n) % 26, LOAD_PAYLOAD);
        snprintf((char *)req + 5, 32, "%d/%d", lc->index, n);
        rc = ph_client_transact(c, req, 5 + LOAD_PAYLOAD, &resp, &resp_len, 15000, 0);
        if (rc == 0) {
            if (resp_len != 3 + LOAD_PAYLOAD || memcmp(resp, "OK ", 3) != 0 || memcmp(resp + 3, req + 5, LOAD_PAYLOAD) != 0)
                lc->bad_answer = 1;
            else
                InterlockedIncrement(&lc->answered);
            ph_free(resp);
            resp = NULL;
            n++;
        }
    }
    lc->end_rc = rc;
    if (rc == PH_ETIMEDOUT)
        lc->hung = 1;
    ph_client_free(c);
    free(req);
    return 0;
}

START_TEST(stop_under_load)
{
    svct *t = svct_new("load", NULL);
    load_client lc[LOAD_CLIENTS];
    HANDLE th[LOAD_CLIENTS + 1];
    SERVICE_STATUS_PROCESS st;
    ph_client *slow = NULL;
    unsigned long long t0, t_stop;
    int i, ready;
    DWORD w;

    svct_set_dword(t, "DrainTimeoutMs", 2000);
    svct_set_dword(t, "WriteTimeoutMs", 3000);
    svct_start_running(t);
    for (i = 0; i < LOAD_CLIENTS; i++) {
        memset(&lc[i], 0, sizeof(lc[i]));
        lc[i].pipe = t->pipe;
        lc[i].index = i;
        th[i] = (HANDLE)_beginthreadex(NULL, 0, load_main, &lc[i], 0, NULL);
        ck_assert(th[i] != NULL);
    }
    /* One more client sends a request and never reads the answer: the stop must not wait for it forever. */
    ck_assert_int_eq(ph_client_new(&slow), 0);
    ck_assert_int_eq(ph_client_connect(slow, t->pipe, 10000, 0), 0);
    ck_assert_int_eq(ph_client_send(slow, "ECHO never read", 15, 5000), 0);

    /* Everyone connected and answered at least once: the requests now in flight are real ones. */
    t0 = ph_test_now_ms();
    do {
        ready = 0;
        for (i = 0; i < LOAD_CLIENTS; i++)
            ready += lc[i].connected && lc[i].answered > 0;
        if (ready < LOAD_CLIENTS)
            ph_test_sleep_ms(20);
    } while (ready < LOAD_CLIENTS && ph_test_now_ms() - t0 < 30000);
    ck_assert_msg(ready == LOAD_CLIENTS, "only %d of %d clients got going", ready, LOAD_CLIENTS);

    t_stop = ph_test_now_ms();
    svct_stop(t, 20000, &st);
    t_stop = ph_test_now_ms() - t_stop;
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
    /* Drain is 2 s; allow generous scheduling slack under Wine, but bounded. */
    ck_assert_msg(t_stop < 12000, "STOPPED after %llu ms", t_stop);

    w = WaitForMultipleObjects(LOAD_CLIENTS, th, TRUE, 20000);
    ck_assert_msg(w < WAIT_OBJECT_0 + LOAD_CLIENTS, "client threads still running 20 s after the stop");
    for (i = 0; i < LOAD_CLIENTS; i++) {
        CloseHandle(th[i]);
        ck_assert_msg(!lc[i].bad_answer, "client %d got a wrong answer", i);
        ck_assert_msg(!lc[i].hung, "client %d: a request got neither an answer nor a closed connection", i);
        /* The connection ended because the server went away: closed pipe, or gone before a reconnect. */
        ck_assert_msg(lc[i].end_rc == PH_EPIPE || lc[i].end_rc == PH_ENOTFOUND, "client %d ended with %s", i,
                      ph_err_name(lc[i].end_rc));
    }
    ph_client_free(slow);
    ck_assert(svct_log_has(t, 2000, "stopped (exit code 0)", (const char *)NULL));
}
END_TEST

START_TEST(paramchange)
{
    svct *t = svct_new("param", NULL);
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;
    unsigned char req[2005], *resp = NULL;
    size_t resp_len = 0;
    ph_client *old = NULL;
    char *text;
    unsigned long long t0;
    int ok = 0;

    svct_set_dword(t, "MaxMessageBytes", 1024);
    svct_start_running(t);
    memcpy(req, "ECHO ", 5);
    memset(req + 5, 'p', sizeof(req) - 5);
    ck_assert_int_eq(svct_transact(t->pipe, req, sizeof(req), &resp, &resp_len), 0);
    ck_assert_msg(strncmp((char *)resp, "ERR too-large ", 14) == 0, "%s", (char *)resp);
    ph_free(resp);

    /* A client connected before the change stays connected through it. */
    ck_assert_int_eq(ph_client_new(&old), 0);
    ck_assert_int_eq(ph_client_connect(old, t->pipe, 5000, 0), 0);
    expect_reply(old, "PING", 4, "OK PONG", 7);

    svct_set_dword(t, "MaxMessageBytes", 4096);
    svct_set_sz(t, "PipeName", "some-other-name"); /* needs a restart: logged, not applied */
    ck_assert_msg(ControlService(t->svc, SERVICE_CONTROL_PARAMCHANGE, &s), "PARAMCHANGE: %lu", GetLastError());
    t0 = ph_test_now_ms();
    while (!ok && ph_test_now_ms() - t0 < 10000) {
        ck_assert_int_eq(svct_transact(t->pipe, req, sizeof(req), &resp, &resp_len), 0);
        ok = resp_len == sizeof(req) - 2 && memcmp(resp, "OK ", 3) == 0;
        ph_free(resp);
        if (!ok)
            ph_test_sleep_ms(50);
    }
    ck_assert_msg(ok, "the new MaxMessageBytes was not applied within 10 s");
    /* The old connection's new requests get the new limit too. */
    ck_assert_int_eq(ph_client_transact(old, req, sizeof(req), &resp, &resp_len, 10000, 0), 0);
    ck_assert_msg(resp_len == sizeof(req) - 2 && memcmp(resp, "OK ", 3) == 0, "%.60s", (char *)resp);
    ph_free(resp);
    text = status_text(t->pipe);
    ck_assert_msg(strstr(text, "max_message_bytes=4096\n") != NULL, "%s", text);
    ph_free(text);
    ck_assert_msg(svct_log_has(t, 5000, "PARAMCHANGE: MaxMessageBytes 1024 -> 4096",
                               "PipeName changed from", "takes effect at the next restart", (const char *)NULL),
                  "log:\n%s", svct_read_file(t->log_path));

    /* An invalid new configuration is refused as a whole; the running one stays. */
    svct_set_dword(t, "MaxMessageBytes", 0);
    ck_assert(ControlService(t->svc, SERVICE_CONTROL_PARAMCHANGE, &s));
    ck_assert_msg(svct_log_has(t, 5000, "PARAMCHANGE refused", "MaxMessageBytes (registry): accepted range",
                               (const char *)NULL), "log:\n%s", svct_read_file(t->log_path));
    text = status_text(t->pipe);
    ck_assert_msg(strstr(text, "max_message_bytes=4096\n") != NULL, "%s", text);
    ph_free(text);
    expect_reply(old, "PING", 4, "OK PONG", 7);
    ph_client_free(old);

    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST


/* --- the command line: net start/stop, the client, console mode ------------------------------------------ */
static wchar_t *cmdline(const wchar_t *exe, const char *args)
{
    static wchar_t buf[2048];
    wchar_t wargs[1500];
    MultiByteToWideChar(CP_UTF8, 0, args, -1, wargs, 1500);
    swprintf(buf, 2048, L"\"%ls\" %ls", exe, wargs);
    return buf;
}

/* The administrator's status and reload talk only to the service's own process: a pipe name served by any
 * other process (here the service's PipeName changed in the registry, not yet applied, and squatted) is refused
 * before anything is sent, exit 6, and nothing the squatter would say reaches the (elevated) console. The
 * client commands on the service (--service) refuse it the same way, and refuse to talk to the pipe of a
 * stopped service at all. */
static volatile LONG squatter_requests;

static ph_handler_result squatter_verb(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                       ph_response *resp)
{
    static const char lie[] = "OK reloads=1\nreload_result=ok \x1b]0;owned\x07\n";
    (void)ctx;
    (void)req;
    (void)payload;
    (void)len;
    InterlockedIncrement(&squatter_requests);
    ph_response_ok(resp, lie + 3, sizeof(lie) - 4);
    return PH_REPLY;
}

START_TEST(admin_refuses_squatter)
{
    svct *t = svct_new("squat", NULL);
    SERVICE_STATUS_PROCESS st;
    char args[400], other[160], *out = NULL, want[200];
    ph_router *r = NULL;
    ph_server *s = NULL;
    ph_server_config cfg;
    int rc;

    svct_start_running(t);
    ph_test_pipe_name(other, sizeof(other), "squatted");
    ck_assert_int_eq(ph_router_new(&r), 0);
    ck_assert_int_eq(ph_router_add(r, "STATUS", squatter_verb, NULL), 0);
    ck_assert_int_eq(ph_router_add(r, "PING", squatter_verb, NULL), 0);
    ph_server_config_init(&cfg);
    cfg.pipe_name = other;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = r;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), 0);
    svct_set_sz(t, "PipeName", other); /* applies at the next restart; the squatter serves it now */
    snprintf(want, sizeof(want), "served by process %lu, not by the service's process",
             (unsigned long)GetCurrentProcessId());

    snprintf(args, sizeof(args), "status --name %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == CLI_UNTRUSTED && strstr(out, want) != NULL && strstr(out, "nothing was sent") != NULL &&
                      strchr(out, '\x1b') == NULL,
                  "status: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "reload --name %s --timeout 5000", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == CLI_UNTRUSTED && strstr(out, want) != NULL && strstr(out, "reloaded") == NULL,
                  "reload: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "ping --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == CLI_UNTRUSTED && strstr(out, want) != NULL, "ping --service: %d\n%s", rc, out);
    free(out);
    ck_assert_int_eq(squatter_requests, 0);

    /* Stopped, the service serves nothing: its pipe is not spoken to, whoever serves it. */
    svct_stop(t, 20000, &st);
    snprintf(args, sizeof(args), "ping --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == 2 && strstr(out, "is not running (STOPPED): nothing was sent") != NULL,
                  "ping --service, stopped: %d\n%s", rc, out);
    free(out);
    ck_assert_int_eq(squatter_requests, 0);
    /* The caller's own choice still decides: the answer is then printed escaped. */
    snprintf(args, sizeof(args), "send STATUS --service %s --no-verify-server", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "reload_result=ok \\x1b]0;owned\\x07") != NULL && strchr(out, '\x1b') == NULL &&
                      strchr(out, '\x07') == NULL,
                  "send --no-verify-server: %d\n%s", rc, out);
    free(out);
    ck_assert_int_eq(squatter_requests, 1);
    ph_server_free(s);
    ph_router_free(r);
}
END_TEST

/* What a server says reaches an administrator's console escaped: a refused value quoted in reload_result
 * comes back in the service's own STATUS. The configuration refuses C0 controls, but an Sddl holding a C1 CSI
 * (U+009B, a terminal escape on VT terminals) and a right-to-left override (U+202E) reaches the answer; `reload`
 * and `status` print them as \xNN, never as the bytes. `send` escapes ESC; `send --raw` gives the bytes as
 * received. */
START_TEST(admin_output_escaped)
{
    svct *t = svct_new("esc", NULL);
    SERVICE_STATUS_PROCESS st;
    char args[400], *out = NULL;
    const char *shown = "\\xc2\\x9b2J\\xe2\\x80\\xaeD:";
    int rc;

    svct_start_running(t);
    svct_set_sz(t, "Sddl", "\xc2\x9b" "2J\xe2\x80\xae" "D:");
    snprintf(args, sizeof(args), "reload --name %s --timeout 10000", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == 14 && strstr(out, "kept its configuration: refused") != NULL && strstr(out, shown) != NULL &&
                      strstr(out, "\xc2\x9b") == NULL && strstr(out, "\xe2\x80\xae") == NULL,
                  "reload: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "status --name %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "  reload_result=refused") != NULL && strstr(out, shown) != NULL &&
                      strstr(out, "\xc2\x9b") == NULL && strstr(out, "\xe2\x80\xae") == NULL,
                  "status: %d\n%s", rc, out);
    free(out);
    svct_delete_value(t, "Sddl");
    snprintf(args, sizeof(args), "send ECHO \x1b[1mbold --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "\\x1b[1mbold", 11) == 0, "send: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "send ECHO \x1b[1mbold --service %s --raw", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 30000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "\x1b[1mbold", 8) == 0, "send --raw: %d\n%s", rc, out);
    free(out);
    svct_stop(t, 20000, &st);
}
END_TEST


/* A service on a protected-prefix name, a fixed pool and the two per-connection limits: the server serves the
 * name, the client reaches it (the core's client and `pipehost ping|status --pipe`, bare and full), STATUS
 * shows pool=fixed 8 and the limits, and PARAMCHANGE applies new limits. Wine lets anyone create pipes under
 * ProtectedPrefix\ (WINE.md), so only the naming is shown here; that only Administrators and SYSTEM can create
 * the name is test_squat.protected_prefix_refuses_users, on Windows. */
START_TEST(protected_name_fixed_pool)
{
    svct *t = svct_new("prot", NULL);
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;
    char name[200], full[240], args[400], *text, *out = NULL;
    unsigned long long t0;
    int rc, ok = 0;

    snprintf(name, sizeof(name), "ProtectedPrefix\\Administrators\\%s", t->pipe);
    snprintf(full, sizeof(full), "\\\\.\\pipe\\%s", name);
    svct_set_sz(t, "PipeName", name);
    svct_set_dword(t, "MaxInstances", 8);
    svct_set_dword(t, "FirstRequestTimeoutMs", 3000);
    svct_set_dword(t, "MaxConnectionsPerUser", 5);
    svct_start_running(t);

    text = status_text(name);
    ck_assert_msg(strstr(text, "\npipe=") != NULL && strstr(text, full) != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\npool=fixed 8\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\nfirst_request_timeout_ms=3000\nmax_connections_per_user=5\n") != NULL, "%s", text);
    ph_free(text);
    /* The plain name is not served. */
    ck_assert_int_ne(svct_transact(t->pipe, "PING", 4, &(unsigned char *){NULL}, &(size_t){0}), 0);

    snprintf(args, sizeof(args), "ping --pipe %s --no-verify-server", name);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping --pipe %s: %d\n%s", name, rc, out);
    free(out);
    snprintf(args, sizeof(args), "status --pipe %s --no-verify-server", full);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "pool=fixed 8") != NULL, "status --pipe %s: %d\n%s", full, rc, out);
    free(out);
    /* Through the service's own configuration (PipeName from the registry), verifying the server by its pid. */
    snprintf(args, sizeof(args), "ping --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping --service: %d\n%s", rc, out);
    free(out);

    /* The limits are live: PARAMCHANGE applies them, STATUS reports them. */
    svct_set_dword(t, "FirstRequestTimeoutMs", 0xFFFFFFFFu);
    svct_set_dword(t, "MaxConnectionsPerUser", 0);
    ck_assert_msg(ControlService(t->svc, SERVICE_CONTROL_PARAMCHANGE, &s), "PARAMCHANGE: %lu", GetLastError());
    t0 = ph_test_now_ms();
    while (!ok && ph_test_now_ms() - t0 < 10000) {
        text = status_text(name);
        ok = strstr(text, "\nfirst_request_timeout_ms=4294967295\nmax_connections_per_user=0\n") != NULL;
        ph_free(text);
        if (!ok)
            ph_test_sleep_ms(50);
    }
    ck_assert_msg(ok, "the new limits were not applied within 10 s");
    ck_assert_msg(svct_log_has(t, 5000, "PARAMCHANGE: FirstRequestTimeoutMs 3000 -> never",
                               "PARAMCHANGE: MaxConnectionsPerUser 5 -> 0", (const char *)NULL),
                  "log:\n%s", svct_read_file(t->log_path));
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

START_TEST(net_start_stop)
{
    svct *t = svct_new("net", NULL);
    SERVICE_STATUS_PROCESS st;
    wchar_t sys[MAX_PATH], net[MAX_PATH + 20];
    char args[300], *out = NULL;
    int rc;

    ck_assert(GetSystemDirectoryW(sys, MAX_PATH) > 0);
    swprintf(net, MAX_PATH + 20, L"%ls\\net.exe", sys);
    snprintf(args, sizeof(args), "start %s", t->name_a);
    rc = svct_run(cmdline(net, args), 60000, &out);
    ck_assert_msg(rc == 0, "net start: %d\n%s", rc, out);
    free(out);
    /* net may return before the pending state ends: poll. */
    ck_assert(svct_wait_state(t, SERVICE_RUNNING, 20000, &st));

    snprintf(args, sizeof(args), "ping --pipe %s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "pipehost ping: %d\n%s", rc, out);
    free(out);

    snprintf(args, sizeof(args), "stop %s", t->name_a);
    rc = svct_run(cmdline(net, args), 60000, &out);
    ck_assert_msg(rc == 0, "net stop: %d\n%s", rc, out);
    free(out);
    ck_assert(svct_wait_state(t, SERVICE_STOPPED, 20000, &st));
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

START_TEST(cli_commands)
{
    svct *t = svct_new("cli", NULL);
    SERVICE_STATUS_PROCESS st;
    char args[400], *out = NULL, nopipe[160], account[200];
    int rc;

    svct_start_running(t);
    service_account(t, account, sizeof(account));
    /* The client verifies the server's account by default: a service account passes; anyone else (under
     * Wine the service runs as the test user) is refused before anything is sent. */
    snprintf(args, sizeof(args), "ping --pipe %s", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    if (strcmp(account, "S-1-5-18") == 0 || strcmp(account, "S-1-5-19") == 0 || strcmp(account, "S-1-5-20") == 0)
        ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping (service account %s): %d\n%s", account, rc, out);
    else
        ck_assert_msg(rc == CLI_UNTRUSTED && strstr(out, "its server runs as") != NULL &&
                          strstr(out, "nothing was sent") != NULL,
                      "ping (server runs as %s): %d\n%s", account, rc, out);
    free(out);
    snprintf(args, sizeof(args), "ping --pipe %s --server-sid S-1-5-21-1-2-3-4", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == CLI_UNTRUSTED && strstr(out, "not S-1-5-21-1-2-3-4") != NULL, "ping --server-sid other: %d\n%s",
                  rc, out);
    free(out);
    snprintf(args, sizeof(args), "ping --pipe %s --server-sid %s", t->pipe, account);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping --server-sid %s: %d\n%s", account, rc, out);
    free(out);
    /* The rest talks to whatever serves the pipe. */
    snprintf(args, sizeof(args), "send ECHO hello  world --pipe %s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "hello world", 11) == 0, "send ECHO: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "status --pipe \\\\.\\pipe\\%s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "requests_total=") != NULL, "status: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "whoami --pipe %s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "sid=") != NULL, "whoami: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "send NOPE --pipe %s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 1 && strstr(out, "ERR unknown-verb") != NULL, "send NOPE: %d\n%s", rc, out);
    free(out);
    ph_test_pipe_name(nopipe, sizeof(nopipe), "absent");
    snprintf(args, sizeof(args), "ping --pipe %s --no-verify-server", nopipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 2 && strstr(out, "no server is listening") != NULL, "ping absent: %d\n%s", rc, out);
    free(out);
    rc = svct_run(cmdline(svct_pipehost_exe(), "send"), 20000, &out);
    ck_assert_msg(rc == 64, "send without verb: %d\n%s", rc, out);
    free(out);
    svct_stop(t, 20000, &st);
}
END_TEST

/* An answer that cannot be written to standard output (a full disk, a closed pipe) is a failure, exit code 5,
 * not a silent success. Standard output here is a file handle opened for reading only, so every write fails. */
static ph_handler_result verb_pong(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    (void)payload;
    (void)len;
    ph_response_ok(resp, "PONG", 4);
    return PH_REPLY;
}

START_TEST(cli_stdout_unwritable)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    char pipe[160], args[300], *err_text;
    wchar_t tmp[MAX_PATH], out_file[MAX_PATH], err_file[MAX_PATH];
    ph_server_config cfg;
    ph_server *s = NULL;
    ph_router *r = NULL;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE out, err;
    DWORD code = 99;

    ph_test_pipe_name(pipe, sizeof(pipe), "clistdout");
    ck_assert_int_eq(ph_router_new(&r), 0);
    ck_assert_int_eq(ph_router_add(r, "PING", verb_pong, NULL), 0);
    ph_server_config_init(&cfg);
    cfg.pipe_name = pipe;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = r;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), 0);

    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(out_file, MAX_PATH, L"%lsphsvc-ro-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());
    swprintf(err_file, MAX_PATH, L"%lsphsvc-err-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());
    out = CreateFileW(out_file, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                      CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);
    ck_assert(out != INVALID_HANDLE_VALUE);
    err = CreateFileW(err_file, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                      CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);
    ck_assert(err != INVALID_HANDLE_VALUE);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = out;
    si.hStdError = err;
    snprintf(args, sizeof(args), "ping --pipe %s --no-verify-server", pipe);
    ck_assert_msg(svct_create_process(cmdline(svct_pipehost_exe(), args), 0, &si, &pi), "CreateProcessW: %lu",
                  GetLastError());
    CloseHandle(pi.hThread);
    CloseHandle(out);
    CloseHandle(err);
    ck_assert_msg(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0, "pipehost ping did not end in 30 s");
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    err_text = svct_read_file(err_file);
    DeleteFileW(out_file);
    DeleteFileW(err_file);
    ph_server_free(s);
    ph_router_free(r);
    ck_assert_msg(code == 5 && strstr(err_text, "could not be written to standard output") != NULL,
                  "exit code %lu, stderr:\n%s", code, err_text);
    free(err_text);
}
END_TEST

START_TEST(side_by_side)
{
    svct *a = svct_new("sideA", NULL);
    svct *b = svct_new("sideB", NULL);
    SERVICE_STATUS_PROCESS st;
    char *text, want[120];

    svct_set_dword(b, "MaxMessageBytes", 777);
    svct_start_running(a);
    svct_start_running(b);
    text = status_text(a->pipe);
    snprintf(want, sizeof(want), "service=%s\n", a->name_a);
    ck_assert_msg(strstr(text, want) != NULL && strstr(text, "max_message_bytes=65536\n") != NULL, "%s", text);
    ph_free(text);
    text = status_text(b->pipe);
    snprintf(want, sizeof(want), "service=%s\n", b->name_a);
    ck_assert_msg(strstr(text, want) != NULL && strstr(text, "max_message_bytes=777\n") != NULL, "%s", text);
    ph_free(text);
    svct_stop(a, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
    svct_stop(b, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

START_TEST(example_myservice)
{
    svct *t = svct_new("myservice", svct_myservice_exe());
    SERVICE_STATUS_PROCESS st;
    unsigned char *resp = NULL;
    size_t len = 0;
    char args[300], nopipe[128], *out = NULL;
    int rc;

    svct_start_running(t);
    ck_assert_int_eq(svct_transact(t->pipe, "REVERSE abc\0d", 13, &resp, &len), 0);
    ck_assert_msg(len == 8 && memcmp(resp, "OK d\0cba", 8) == 0, "%s", (char *)resp);
    ph_free(resp);
    ck_assert_int_eq(svct_transact(t->pipe, "TIME", 4, &resp, &len), 0);
    ck_assert_msg(len == 27 && strncmp((char *)resp, "OK 20", 5) == 0 && resp[len - 1] == 'Z', "%s", (char *)resp);
    ph_free(resp);
    ck_assert_int_eq(svct_transact(t->pipe, "PING", 4, &resp, &len), 0); /* the built-ins are still there */
    ck_assert_str_eq((char *)resp, "OK PONG");
    ph_free(resp);
    /* Its client speaks in its own name: every message starts with "myservice:", none with "pipehost:". */
    ph_test_pipe_name(nopipe, sizeof(nopipe), "absent");
    snprintf(args, sizeof(args), "ping --pipe %s", nopipe);
    rc = svct_run(cmdline(svct_myservice_exe(), args), 20000, &out);
    ck_assert_msg(rc == 2 && strncmp(out, "myservice: no server is listening", 33) == 0 &&
                      strstr(out, "pipehost:") == NULL, "ping absent: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "send NOPE --pipe %s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(svct_myservice_exe(), args), 20000, &out);
    ck_assert_msg(rc == 1 && strncmp(out, "myservice: the server answered: ERR unknown-verb", 48) == 0, "%d\n%s", rc,
                  out);
    free(out);
    rc = svct_run(cmdline(svct_myservice_exe(), "run --max-message 0 --pipe x"), 20000, &out);
    ck_assert_msg(rc == EXIT_CONFIG && strncmp(out, "myservice: ", 11) == 0 && strstr(out, "MaxMessageBytes") != NULL &&
                      strstr(out, "pipehost:") == NULL, "%d\n%s", rc, out);
    free(out);
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

/* Console mode: started, answering, then stopped through the named stop event (the same stop path as
 * Ctrl+C); and the Ctrl+Break route where the platform can deliver it. */
static HANDLE spawn_console(const char *args, DWORD flags, const wchar_t *out_file, PROCESS_INFORMATION *pi)
{
    memset(pi, 0, sizeof(*pi));
    pi->hProcess = svct_spawn_flags(cmdline(svct_pipehost_exe(), args), flags, out_file);
    pi->dwProcessId = GetProcessId(pi->hProcess);
    return pi->hProcess;
}

/* Starts `pipehost run <opts><pipe>` in console mode with a stop event of its own and a 1 s drain; its output goes
 * to file (named after tag). Returns the event; stop_console_clean ends it. */
static HANDLE start_console_stoppable(const char *tag, const char *opts, const char *pipe, wchar_t file[MAX_PATH],
                                      PROCESS_INFORMATION *pi)
{
    char ev_name[100], args[600];
    wchar_t wev[100], wtag[40], tmp[MAX_PATH];
    HANDLE ev;

    MultiByteToWideChar(CP_UTF8, 0, tag, -1, wtag, 40);
    snprintf(ev_name, sizeof(ev_name), "Local\\phsvc-%s-stop-%lu", tag, (unsigned long)GetCurrentProcessId());
    MultiByteToWideChar(CP_UTF8, 0, ev_name, -1, wev, 100);
    ev = CreateEventW(NULL, TRUE, FALSE, wev);
    ck_assert(ev != NULL);
    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(file, MAX_PATH, L"%lsphsvc-%ls-%lu.txt", tmp, wtag, (unsigned long)GetCurrentProcessId());
    snprintf(args, sizeof(args), "run %s%s --stop-event %s --drain-timeout 1000", opts, pipe, ev_name);
    spawn_console(args, 0, file, pi);
    return ev;
}

/* Sets a console-mode server's stop event and checks it ended with exit code 0, having said it served and
 * stopped (its output file is then deleted). */
static void stop_console_clean(HANDLE ev, PROCESS_INFORMATION *pi, const wchar_t *file)
{
    DWORD code = 1;
    char *out;

    SetEvent(ev);
    ck_assert_msg(WaitForSingleObject(pi->hProcess, 15000) == WAIT_OBJECT_0, "console mode did not stop in 15 s");
    GetExitCodeProcess(pi->hProcess, &code);
    CloseHandle(pi->hProcess);
    CloseHandle(ev);
    out = svct_read_file(file);
    DeleteFileW(file);
    ck_assert_msg(code == 0, "exit code %lu\n%s", code, out);
    ck_assert_msg(strstr(out, "serving") != NULL && strstr(out, "stopped") != NULL, "%s", out);
    free(out);
}

START_TEST(console_stop_event)
{
    char pipe[160];
    wchar_t file[MAX_PATH];
    PROCESS_INFORMATION pi;
    HANDLE ev;

    ph_test_pipe_name(pipe, sizeof(pipe), "console");
    ev = start_console_stoppable("console", "--pipe \\\\.\\pipe\\", pipe, file, &pi);
    ck_assert_msg(svct_wait_ping(pipe, 15000, pi.hProcess), "console mode never answered PING");
    stop_console_clean(ev, &pi, file);
}
END_TEST

START_TEST(console_ctrl_break)
{
    char pipe[160], args[300], *out;
    wchar_t tmp[MAX_PATH], file[MAX_PATH];
    PROCESS_INFORMATION pi;
    DWORD code = 99, w;
    BOOL sent;

    /* Console control events only reach processes attached to the sender's console: make sure we have one
     * (under ctest there is usually none) for the child to inherit. */
    if (GetConsoleWindow() == NULL && !AllocConsole())
        ck_assert_msg(GetLastError() == ERROR_ACCESS_DENIED, "AllocConsole: %lu", GetLastError());
    ph_test_pipe_name(pipe, sizeof(pipe), "ctrlbrk");
    GetTempPathW(MAX_PATH, tmp);
    swprintf(file, MAX_PATH, L"%lsphsvc-ctrl-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());
    snprintf(args, sizeof(args), "run --pipe %s --drain-timeout 1000", pipe);
    spawn_console(args, CREATE_NEW_PROCESS_GROUP, file, &pi);
    ck_assert_msg(svct_wait_ping(pipe, 15000, pi.hProcess), "console mode never answered PING");
    sent = GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pi.dwProcessId);
    w = WaitForSingleObject(pi.hProcess, 10000);
    if (w != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 255);
        WaitForSingleObject(pi.hProcess, 5000);
    }
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    out = svct_read_file(file);
    DeleteFileW(file);
    if ((!sent || w != WAIT_OBJECT_0) && ph_test_on_wine()) {
        char why[300];
        snprintf(why, sizeof(why), "Wine did not deliver Ctrl+Break to the child process group (GenerateConsoleCtrlEvent "
                 "returned %d, the child %s); the same stop path is tested through --stop-event (console_stop_event)",
                 (int)sent, w == WAIT_OBJECT_0 ? "exited" : "kept running");
        free(out);
        ph_test_skip(why);
    }
    ck_assert_msg(sent, "GenerateConsoleCtrlEvent: %lu", GetLastError());
    ck_assert_msg(w == WAIT_OBJECT_0 && code == 0, "wait %lu, exit code %lu\n%s", w, code, out);
    ck_assert_msg(strstr(out, "stopped") != NULL, "%s", out);
    free(out);
}
END_TEST

/* One request on a fresh length-framed connection (no server verification: console mode runs as us). */
static int length_transact(const char *pipe, const char *req, unsigned char **resp, size_t *len)
{
    ph_client *c = NULL;
    int rc = ph_client_new(&c);

    if (rc == 0)
        rc = ph_client_connect(c, pipe, 2000, PH_CLIENT_LENGTH_FRAMING);
    if (rc == 0)
        rc = ph_client_transact(c, req, strlen(req), resp, len, 5000, 0);
    ph_client_free(c);
    return rc;
}

static int wait_ping_length(const char *pipe, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;
    unsigned char *resp = NULL;
    size_t len = 0;

    while (ph_test_now_ms() < end) {
        if (length_transact(pipe, "PING", &resp, &len) == 0) {
            ph_free(resp);
            return 1;
        }
        ph_test_sleep_ms(50);
    }
    return 0;
}

/* Length framing end to end: `pipehost run --framing length` serves a byte-mode pipe; the client commands
 * speak it with --framing length; without it the client refuses the pipe before sending anything and says
 * why; and requests pipelined on one connection are answered in order. */
START_TEST(console_length_framing)
{
    static const char *const pipelined[] = {"ECHO a", "PING", "NOPE", "ECHO "};
    char pipe[160], args[600], *out = NULL, *big;
    wchar_t file[MAX_PATH];
    PROCESS_INFORMATION pi;
    ph_client *c = NULL;
    HANDLE ev;
    size_t i;
    int rc;

    ph_test_pipe_name(pipe, sizeof(pipe), "lenframe");
    ev = start_console_stoppable("lenframe", "--framing length --pipe ", pipe, file, &pi);
    ck_assert_msg(wait_ping_length(pipe, 15000), "console mode in length framing never answered PING");

    snprintf(args, sizeof(args), "ping --framing length --pipe %s --no-verify-server", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping --framing length: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "send --framing length ECHO hello  world --pipe %s --no-verify-server", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "hello world", 11) == 0, "send --framing length ECHO: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "send NOPE --framing=length --pipe %s --no-verify-server", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 1 && strstr(out, "ERR unknown-verb") != NULL, "send --framing length NOPE: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "status --framing length --pipe \\\\.\\pipe\\%s --no-verify-server", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "requests_total=") != NULL, "status --framing length: %d\n%s", rc, out);
    free(out);
    /* Without --framing the client speaks the pipe's; --framing message on this byte-mode pipe is refused at
     * connect, with the way out. */
    snprintf(args, sizeof(args), "ping --pipe %s --no-verify-server", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping without --framing: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "ping --framing message --pipe %s --no-verify-server", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 5 && strstr(out, "is served with length framing, not message") != NULL &&
                      strstr(out, "--framing length") != NULL, "ping --framing message: %d\n%s", rc, out);
    free(out);

    /* Pipelined: four requests written back to back (the last one 50,000 bytes), then four answers in order. */
    big = malloc(50001);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "ECHO ", 5);
    memset(big + 5, 'z', 50000 - 5);
    big[50000] = '\0';
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, pipe, 5000, PH_CLIENT_LENGTH_FRAMING), 0);
    for (i = 0; i < 4; i++) {
        const char *req = i == 3 ? big : pipelined[i];
        ck_assert_int_eq(ph_client_send(c, req, strlen(req), 5000), 0);
    }
    for (i = 0; i < 4; i++) {
        unsigned char *resp = NULL;
        size_t len = 0;
        rc = ph_client_recv(c, &resp, &len, 5000, 0);
        ck_assert_msg(rc == 0, "pipelined answer %u: %s (%lu)", (unsigned)i, ph_strerror(rc), ph_client_syserror(c));
        if (i == 0)
            ck_assert_str_eq((char *)resp, "OK a");
        else if (i == 1)
            ck_assert_str_eq((char *)resp, "OK PONG");
        else if (i == 2)
            ck_assert_msg(strncmp((char *)resp, "ERR unknown-verb", 16) == 0, "%s", (char *)resp);
        else
            ck_assert_msg(len == 3 + 50000 - 5 && memcmp(resp, "OK ", 3) == 0 &&
                              memcmp(resp + 3, big + 5, 50000 - 5) == 0, "big echo: %lu bytes", (unsigned long)len);
        ph_free(resp);
    }
    ph_client_free(c);
    free(big);

    stop_console_clean(ev, &pi, file);
}
END_TEST

/* A wrong --framing: for run a configuration error (exit code 1), for a client command a usage error (64);
 * both name the value and the accepted ones. Nothing is served or sent. */
START_TEST(framing_bad_value)
{
    char pipe[160], args[300], *out = NULL;
    int rc;

    ph_test_pipe_name(pipe, sizeof(pipe), "badframing");
    snprintf(args, sizeof(args), "run --framing stream --pipe %s", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == EXIT_CONFIG &&
                      strstr(out, "invalid configuration value Framing (--framing): accepted message or length, "
                                  "given \"stream\"") != NULL, "run --framing stream: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "ping --framing stream --pipe %s", pipe);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 64 && strstr(out, "--framing accepts message or length, given \"stream\"") != NULL,
                  "ping --framing stream: %d\n%s", rc, out);
    free(out);
}
END_TEST

/* An installed service with Framing = length: it serves a byte-mode pipe, and the client commands that find
 * the pipe through the service speak its framing without being told; an explicit --framing wins. */
START_TEST(service_length_framing)
{
    svct *t = svct_new("lenframe", NULL);
    SERVICE_STATUS_PROCESS st;
    char args[400], *out = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;
    int rc;

    svct_set_sz(t, "Framing", "length");
    svct_start_running(t);
    ck_assert(svct_log_has(t, 5000, "Framing length", (const char *)NULL));
    ck_assert_int_eq(length_transact(t->pipe, "PING", &resp, &len), 0);
    ck_assert_str_eq((char *)resp, "OK PONG");
    ph_free(resp);

    snprintf(args, sizeof(args), "ping --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping --service (Framing length): %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "send ECHO framed --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "framed", 6) == 0, "send --service: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "ping --service %s --framing message", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 5 && strstr(out, "is served with length framing, not message") != NULL,
                  "ping --service --framing message: %d\n%s", rc, out);
    free(out);
    /* The administrator's status: the configuration shows Framing, and STATUS is asked in that framing (also
     * when quiet). */
    snprintf(args, sizeof(args), "status --name %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "Framing") != NULL && strstr(out, "length") != NULL &&
                      strstr(out, "requests_total=") != NULL, "status --name: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "status --name %s --quiet", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0, "status --name --quiet: %d\n%s", rc, out);
    free(out);
    /* Framing changed in the registry, not applied yet (it needs a restart): the clients still speak what the
     * pipe serves. */
    svct_set_sz(t, "Framing", "message");
    snprintf(args, sizeof(args), "ping --service %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "PONG") != NULL, "ping --service after a Framing change: %d\n%s", rc, out);
    free(out);
    snprintf(args, sizeof(args), "status --name %s", t->name_a);
    rc = svct_run(cmdline(svct_pipehost_exe(), args), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "requests_total=") != NULL, "status --name after a Framing change: %d\n%s",
                  rc, out);
    free(out);
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

/* Framing in the registry must be message or length: anything else stops the service at start (exit code 1)
 * with a message naming it. */
START_TEST(config_bad_framing)
{
    svct *t = svct_new("cfgframing", NULL);

    svct_set_sz(t, "Framing", "bytes");
    expect_refused(t, EXIT_CONFIG, NULL, "invalid configuration value Framing (registry): accepted message or length",
                   "given \"bytes\"");
}
END_TEST

START_TEST(console_usage)
{
    char *out = NULL;
    int rc;

    /* Without arguments outside the SCM: says how to run it. */
    rc = svct_run(cmdline(svct_pipehost_exe(), ""), 30000, &out);
    ck_assert_msg(rc == 64 && strstr(out, "pipehost run") != NULL && strstr(out, "pipehost install") != NULL, "%d\n%s",
                  rc, out);
    free(out);
    /* A bad option value names the value, its range and what was given, with the configuration exit code. */
    rc = svct_run(cmdline(svct_pipehost_exe(), "run --max-message 0 --pipe x"), 30000, &out);
    ck_assert_msg(rc == EXIT_CONFIG && strstr(out, "MaxMessageBytes (--max-message): accepted range 1..67108864 bytes, "
                                                   "given 0") != NULL, "%d\n%s", rc, out);
    free(out);
    rc = svct_run(cmdline(svct_pipehost_exe(), "run --sddl D:NO_ACCESS_CONTROL --pipe x"), 30000, &out);
    ck_assert_msg(rc == EXIT_SECURITY && strstr(out, "Sddl") != NULL, "%d\n%s", rc, out);
    free(out);
    rc = svct_run(cmdline(svct_pipehost_exe(), "run --sddl D:(A;;GA;;;SY)(A;;GA;;;WD) --pipe x"), 30000, &out);
    ck_assert_msg(rc == EXIT_SECURITY && strstr(out, "to S-1-1-0") != NULL, "%d\n%s", rc, out);
    free(out);
    rc = svct_run(cmdline(svct_pipehost_exe(), "frobnicate"), 30000, &out);
    ck_assert_msg(rc == 64 && strstr(out, "unknown command") != NULL, "%d\n%s", rc, out);
    free(out);
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("service");

    add(s, tcase_create("lifecycle"), lifecycle);
    add(s, tcase_create("interrogate"), interrogate);
    add(s, tcase_create("config_wrong_type"), config_wrong_type);
    add(s, tcase_create("config_out_of_range"), config_out_of_range);
    add(s, tcase_create("config_bad_pipe_name"), config_bad_pipe_name);
    add(s, tcase_create("config_pending_over_max"), config_pending_over_max);
    add(s, tcase_create("config_bad_log_level"), config_bad_log_level);
    add(s, tcase_create("config_unknown_value"), config_unknown_value);
    add(s, tcase_create("config_preshutdown_below_drain"), config_preshutdown_below_drain);
    add(s, tcase_create("config_bad_sddl"), config_bad_sddl);
    add(s, tcase_create("config_null_dacl"), config_null_dacl);
    add(s, tcase_create("config_dangerous_sddl"), config_dangerous_sddl);
    add(s, tcase_create("config_dangerous_sddl_fixed_pool"), config_dangerous_sddl_fixed_pool);
    add(s, tcase_create("protected_name_fixed_pool"), protected_name_fixed_pool);
    add(s, tcase_create("config_empty_dacl"), config_empty_dacl);
    add(s, tcase_create("verbs_restricted"), verbs_restricted);
    add(s, tcase_create("verbs_bad_sddl"), verbs_bad_sddl);
    add(s, tcase_create("verbs_unknown_verb"), verbs_unknown_verb);
    add(s, tcase_create("stop_with_hung_handler"), stop_with_hung_handler);
    add(s, tcase_create("default_log_folder_unsafe"), default_log_folder_unsafe);
    add(s, tcase_create("config_bad_log_file"), config_bad_log_file);
    add(s, tcase_create("custom_log_folder_unsafe"), custom_log_folder_unsafe);
    add(s, tcase_create("config_log_file_pipe"), config_log_file_pipe);
    add(s, tcase_create("pipe_in_use"), pipe_in_use);
    add(s, tcase_create("stop_under_load"), stop_under_load);
    add(s, tcase_create("paramchange"), paramchange);
    add(s, tcase_create("net_start_stop"), net_start_stop);
    add(s, tcase_create("cli_commands"), cli_commands);
    add(s, tcase_create("admin_refuses_squatter"), admin_refuses_squatter);
    add(s, tcase_create("admin_output_escaped"), admin_output_escaped);
    add(s, tcase_create("cli_stdout_unwritable"), cli_stdout_unwritable);
    add(s, tcase_create("side_by_side"), side_by_side);
    add(s, tcase_create("example_myservice"), example_myservice);
    add(s, tcase_create("console_stop_event"), console_stop_event);
    add(s, tcase_create("console_ctrl_break"), console_ctrl_break);
    add(s, tcase_create("console_usage"), console_usage);
    add(s, tcase_create("console_length_framing"), console_length_framing);
    add(s, tcase_create("framing_bad_value"), framing_bad_value);
    add(s, tcase_create("service_length_framing"), service_length_framing);
    add(s, tcase_create("config_bad_framing"), config_bad_framing);
    return s;
}
