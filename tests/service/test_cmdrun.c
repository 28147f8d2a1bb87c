/* test_cmdrun.c — command verbs under Wine: payload and output, exit codes, timeout, output cap, concurrency, client leaving, stop, unsafe programs. */
#include "testsupport.h"

#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "cmdconf.h"
#include "cmdconf_win.h"
#include "cmdrun.h"
#include "cmdrun_prog.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmdchild.exe as a Windows path ("Z:\\…" under Wine; CMake gives "/…"), in UTF-8. */
static const char *child_exe(void)
{
    static char path[MAX_PATH * 3];
    wchar_t *w, full[MAX_PATH];

    if (path[0] == '\0') {
        w = ph__svc_to_wide(PH_TEST_CMDCHILD_EXE, NULL);
        ck_assert_ptr_nonnull(w);
        ck_assert(GetFullPathNameW(w, MAX_PATH, full, NULL) > 0);
        free(w);
        ck_assert(WideCharToMultiByte(CP_UTF8, 0, full, -1, path, sizeof(path), NULL, NULL) > 0);
    }
    return path;
}

/* A server with the command verbs of g_cmds, built like the service host builds it. */
static svc_commands g_cmds;
static svc_log g_log;
static svc_cmdrun *g_runner;
static ph_router *g_router;
static ph_server *g_server;
static char g_pipe[128];

static svc_command *add_cmd(const char *verb, const char *const *args, size_t n)
{
    svc_cfg_errors errs;
    svc_command *c;

    memset(&errs, 0, sizeof(errs));
    c = ph__svc_commands_add(&g_cmds, verb, &errs);
    ck_assert_msg(c != NULL, "%s", errs.text[0]);
    ck_assert_int_eq(ph__svc_command_set_string(c, "Program", child_exe(), &errs), 0);
    ck_assert_int_eq(ph__svc_command_set_list(c, "Arguments", args, n, &errs), 0);
    return c;
}

static void start_server(void)
{
    ph_server_config cfg;
    char why[800];
    int rc;

    ph__svc_log_init(&g_log, PH_LOG_DEBUG);
    g_log.console = 1; /* the runner's messages in the test's output */
    rc = ph__svc_cmdrun_new(&g_cmds, &g_log, &g_runner, why, sizeof(why));
    ck_assert_msg(rc == 0, "runner refused: %s", why);
    ck_assert_int_eq(ph_router_new(&g_router), 0);
    ck_assert_int_eq(ph__svc_cmdrun_register(g_runner, g_router), 0);
    ph_test_pipe_name(g_pipe, sizeof(g_pipe), "cmdrun");
    ph_server_config_init(&cfg);
    cfg.pipe_name = g_pipe;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = g_router;
    cfg.limits.max_message_bytes = 4u * 1024 * 1024;
    ck_assert_int_eq(ph_server_new(&cfg, &g_server), 0);
    ck_assert_int_eq(ph_server_start(g_server), 0);
}

static void stop_server(void)
{
    ph__svc_cmdrun_shutdown(g_runner, 10000);
    ph_server_free(g_server);
    ph_router_free(g_router);
    ph__svc_cmdrun_free(g_runner);
    ph__svc_commands_free(&g_cmds);
    g_server = NULL;
    g_router = NULL;
    g_runner = NULL;
}

static unsigned char *call(const char *verb, const void *payload, size_t len, size_t *resp_len)
{
    ph_client *c = NULL;
    unsigned char *req, *resp = NULL;
    size_t vl = strlen(verb);
    int rc;

    req = malloc(vl + 1 + len);
    memcpy(req, verb, vl);
    req[vl] = ' ';
    if (len)
        memcpy(req + vl + 1, payload, len);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, g_pipe, 10000, 0), 0);
    rc = ph_client_transact(c, req, vl + 1 + len, &resp, resp_len, 30000, 0);
    ck_assert_msg(rc == 0, "transact: %s", ph_strerror(rc));
    ph_client_free(c);
    free(req);
    return resp;
}

static int starts_with(const unsigned char *resp, size_t len, const char *prefix)
{
    return len >= strlen(prefix) && memcmp(resp, prefix, strlen(prefix)) == 0;
}

START_TEST(payload_round_trip)
{
    static const char *const cat[] = {"cat"};
    unsigned char *big, *resp;
    size_t len = 0, i, n = 1024u * 1024;

    add_cmd("CAT", cat, 1);
    start_server();
    /* Binary bytes, NULs included, come back as they went. */
    resp = call("CAT", "a\0b\r\n\xff", 6, &len);
    ck_assert_msg(len == 9 && memcmp(resp, "OK a\0b\r\n\xff", 9) == 0, "len %lu: %.*s", (unsigned long)len, (int)len, resp);
    ph_free(resp);
    /* Empty: the program gets end-of-file at once, the reply is "OK ". */
    resp = call("CAT", "", 0, &len);
    ck_assert_msg(len == 3 && memcmp(resp, "OK ", 3) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    /* 1 MiB, more than any pipe buffer, both ways at once. */
    big = malloc(n);
    for (i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 7 + i / 251);
    resp = call("CAT", big, n, &len);
    ck_assert_uint_eq(len, n + 3);
    ck_assert(memcmp(resp + 3, big, n) == 0);
    ph_free(resp);
    free(big);
    stop_server();
}
END_TEST

START_TEST(exit_codes)
{
    static const char *const e0[] = {"exit", "0"}, *const e3[] = {"exit", "3"}, *const e200[] = {"exit", "200"};
    unsigned char *resp;
    size_t len = 0;

    add_cmd("E0", e0, 2);
    add_cmd("E3", e3, 2);
    add_cmd("E200", e200, 2);
    start_server();
    resp = call("E0", "x", 1, &len);
    ck_assert_msg(len == 3 && starts_with(resp, len, "OK "), "%.*s", (int)len, resp);
    ph_free(resp);
    resp = call("E3", "x", 1, &len);
    ck_assert_msg(len == 10 && memcmp(resp, "ERR exit 3", 10) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    resp = call("e200", NULL, 0, &len);
    ck_assert_msg(len == 12 && memcmp(resp, "ERR exit 200", 12) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    stop_server();
}
END_TEST

/* The arguments the program gets are the configured ones, exactly, whatever the payload holds. */
START_TEST(hostile_payload_never_reaches_the_line)
{
    static const char *const args[] = {"args", "two words", "q\"uote", "back\\", "& | % ^ <>", ""};
    static const char *const hostile[] = {"\" & calc.exe & \"", "%PATH% %SystemRoot%", "a\r\nb\nEXIT 1", "\\\"\\\\\"",
                                          "|| del /q C:\\*"};
    unsigned char *resp, *want, *big;
    size_t len = 0, want_len = 0, i, k;

    add_cmd("ARGS", args, 6);
    start_server();
    /* What the program must print: argv[0] (the path), then each argument, each followed by a NUL. */
    want = malloc(4096);
    memcpy(want, "OK ", 3);
    want_len = 3;
    memcpy(want + want_len, child_exe(), strlen(child_exe()) + 1);
    want_len += strlen(child_exe()) + 1;
    for (i = 0; i < 6; i++) {
        memcpy(want + want_len, args[i], strlen(args[i]) + 1);
        want_len += strlen(args[i]) + 1;
    }
    for (k = 0; k < sizeof(hostile) / sizeof(hostile[0]); k++) {
        resp = call("ARGS", hostile[k], strlen(hostile[k]), &len);
        ck_assert_msg(len == want_len && memcmp(resp, want, len) == 0, "payload [%s]: %lu bytes, want %lu: %.*s",
                      hostile[k], (unsigned long)len, (unsigned long)want_len, (int)len, resp);
        ph_free(resp);
    }
    /* 1 MiB of quotes and ampersands. */
    big = malloc(1024u * 1024);
    for (i = 0; i < 1024u * 1024; i++)
        big[i] = "\"&%\n"[i % 4];
    resp = call("ARGS", big, 1024u * 1024, &len);
    ck_assert(len == want_len && memcmp(resp, want, len) == 0);
    ph_free(resp);
    free(big);
    free(want);
    stop_server();
}
END_TEST

/* The environment holds the configured values, SystemRoot and the caller's identity, nothing else. */
START_TEST(environment_is_only_what_is_named)
{
    static const char *const env_args[] = {"env"};
    static const char *const env[] = {"MODE=fast", "Other=a b"};
    svc_cfg_errors errs;
    svc_command *c;
    unsigned char *resp;
    char want[200], *text, *line, *save = NULL;
    size_t len = 0;
    unsigned seen = 0;

    memset(&errs, 0, sizeof(errs));
    SetEnvironmentVariableW(L"PH_SECRET_OF_THE_SERVICE", L"leak");
    c = add_cmd("ENV", env_args, 1);
    ck_assert_int_eq(ph__svc_command_set_list(c, "Environment", env, 2, &errs), 0);
    start_server();
    resp = call("ENV", NULL, 0, &len);
    ck_assert(starts_with(resp, len, "OK "));
    text = calloc(1, len + 1);
    memcpy(text, resp + 3, len - 3);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "MODE=fast") == 0 || strcmp(line, "Other=a b") == 0 || strncmp(line, "SystemRoot=", 11) == 0 ||
            strcmp(line, "PIPEHOST_VERB=ENV") == 0 || strncmp(line, "PIPEHOST_CONN_ID=", 17) == 0 ||
            strncmp(line, "PIPEHOST_SESSION=", 17) == 0 || strncmp(line, "PIPEHOST_USER_SID=S-1-", 22) == 0) {
            seen++;
            continue;
        }
        snprintf(want, sizeof(want), "PIPEHOST_CLIENT_PID=%lu", (unsigned long)GetCurrentProcessId());
        if (strcmp(line, want) == 0) {
            seen++;
            continue;
        }
        /* Wine's loader may add its own variables to every process (WINE…); nothing of ours may appear. */
        ck_assert_msg(strstr(line, "PH_SECRET") == NULL && strncmp(line, "PATH=", 5) != 0,
                      "the service's environment leaked: %s", line);
    }
    ck_assert_msg(seen == 8, "%u of the 8 expected variables seen in:\n%.*s", seen, (int)len, resp);
    free(text);
    ph_free(resp);
    stop_server();
}
END_TEST

static int process_alive(DWORD pid)
{
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    DWORD code = 0;
    int alive;

    if (h == NULL)
        return 0;
    alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT && GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
    CloseHandle(h);
    return alive;
}

/* Waits (bounded) until pid is gone. */
static int gone_within(DWORD pid, unsigned ms)
{
    unsigned long long end = ph_test_now_ms() + ms;
    while (process_alive(pid)) {
        if (ph_test_now_ms() > end)
            return 0;
        ph_test_sleep_ms(50);
    }
    return 1;
}

static void pid_file(char *out, size_t size, wchar_t *wout)
{
    static LONG seq;
    wchar_t tmp[MAX_PATH];
    GetTempPathW(MAX_PATH, tmp);
    /* A sequence number as well as the time: several files are named within one millisecond. */
    swprintf(wout, MAX_PATH, L"%lsph-cmdrun-%lu-%llu-%ld.pid", tmp, (unsigned long)GetCurrentProcessId(),
             (unsigned long long)ph_test_now_ms(), (long)InterlockedIncrement(&seq));
    WideCharToMultiByte(CP_UTF8, 0, wout, -1, out, (int)size, NULL, NULL);
}

static void read_pids(const wchar_t *path, DWORD *grandchild, DWORD *child)
{
    unsigned long a = 0, b = 0;
    FILE *f = _wfopen(path, L"r");
    ck_assert_msg(f != NULL, "the program wrote no pid file");
    ck_assert_int_eq(fscanf(f, "%lu %lu", &a, &b), 2);
    fclose(f);
    DeleteFileW(path);
    *grandchild = a;
    *child = b;
}

START_TEST(timeout_kills_the_grandchild)
{
    const char *args[2];
    char path[MAX_PATH * 3];
    wchar_t wpath[MAX_PATH];
    svc_cfg_errors errs;
    svc_command *c;
    unsigned char *resp;
    unsigned long long t0;
    size_t len = 0;
    DWORD gc = 0, ch = 0;

    memset(&errs, 0, sizeof(errs));
    pid_file(path, sizeof(path), wpath);
    args[0] = "grandchild";
    args[1] = path;
    c = add_cmd("SPAWN", args, 2);
    ck_assert_int_eq(ph__svc_command_set_dword(c, "TimeoutMs", 1500, &errs), 0);
    start_server();
    t0 = ph_test_now_ms();
    resp = call("SPAWN", NULL, 0, &len);
    ck_assert_msg(starts_with(resp, len, "ERR timeout "), "%.*s", (int)len, resp);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 15000);
    ph_free(resp);
    read_pids(wpath, &gc, &ch);
    ck_assert_msg(gone_within(ch, 5000), "the program %lu outlived its timeout", (unsigned long)ch);
    ck_assert_msg(gone_within(gc, 5000), "its child %lu outlived the timeout", (unsigned long)gc);
    stop_server();
}
END_TEST

START_TEST(output_cap_ends_the_program)
{
    static const char *const flood[] = {"flood", "100000000"}, *const fits[] = {"flood", "1000"};
    svc_cfg_errors errs;
    unsigned char *resp;
    size_t len = 0;
    unsigned long long t0;

    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_command_set_dword(add_cmd("FLOOD", flood, 2), "MaxOutputBytes", 1000, &errs), 0);
    ck_assert_int_eq(ph__svc_command_set_dword(add_cmd("FITS", fits, 2), "MaxOutputBytes", 1000, &errs), 0);
    start_server();
    t0 = ph_test_now_ms();
    resp = call("FLOOD", NULL, 0, &len);
    ck_assert_msg(starts_with(resp, len, "ERR output-too-large "), "%.*s", (int)len, resp);
    /* Ended at once, not after writing 100 MB or at its timeout. */
    ck_assert_uint_lt(ph_test_now_ms() - t0, 10000);
    ph_free(resp);
    resp = call("FITS", NULL, 0, &len);
    ck_assert_uint_eq(len, 1003);
    ph_free(resp);
    stop_server();
}
END_TEST

/* A client whose request is held: connect, send, and return the connected client. */
static ph_client *send_only(const char *req)
{
    ph_client *c = NULL;
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, g_pipe, 10000, 0), 0);
    ck_assert_int_eq(ph_client_send(c, req, strlen(req), 10000), 0);
    return c;
}

START_TEST(concurrency_limit_refuses_at_once)
{
    static const char *const slow[] = {"sleep", "3000"};
    svc_cfg_errors errs;
    ph_client *held[2];
    unsigned char *resp;
    size_t len = 0;
    uint64_t running = 0, started = 0;
    unsigned long long t0;
    int i;

    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_command_set_dword(add_cmd("SLOW", slow, 2), "MaxConcurrent", 2, &errs), 0);
    start_server();
    held[0] = send_only("SLOW");
    held[1] = send_only("SLOW");
    /* Wait (bounded) until both run. */
    t0 = ph_test_now_ms();
    do {
        ph_test_sleep_ms(20);
        ph__svc_cmdrun_counts(g_runner, &running, &started);
    } while (started < 2 && ph_test_now_ms() - t0 < 10000);
    ck_assert_uint_eq(started, 2);
    t0 = ph_test_now_ms();
    resp = call("SLOW", NULL, 0, &len);
    ck_assert_msg(starts_with(resp, len, "ERR busy "), "%.*s", (int)len, resp);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 2000);
    ph_free(resp);
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(ph_client_recv(held[i], &resp, &len, 15000, 0), 0);
        ck_assert_msg(len == 3 && memcmp(resp, "OK ", 3) == 0, "%.*s", (int)len, resp);
        ph_free(resp);
        ph_client_free(held[i]);
    }
    stop_server();
}
END_TEST

START_TEST(client_leaving_ends_the_program)
{
    const char *args[2];
    char path[MAX_PATH * 3];
    wchar_t wpath[MAX_PATH];
    ph_client *c;
    DWORD gc = 0, ch = 0;
    unsigned long long t0;
    uint64_t running = 1, started = 0;

    pid_file(path, sizeof(path), wpath);
    args[0] = "grandchild";
    args[1] = path;
    add_cmd("SPAWN", args, 2);
    start_server();
    c = send_only("SPAWN");
    t0 = ph_test_now_ms();
    while (GetFileAttributesW(wpath) == INVALID_FILE_ATTRIBUTES && ph_test_now_ms() - t0 < 10000)
        ph_test_sleep_ms(20);
    ph_test_sleep_ms(100); /* the file is complete */
    read_pids(wpath, &gc, &ch);
    ck_assert(process_alive(ch));
    ph_client_free(c); /* leaves mid-command */
    ck_assert_msg(gone_within(ch, 5000), "the program outlived its client");
    ck_assert_msg(gone_within(gc, 5000), "its child outlived the client");
    t0 = ph_test_now_ms();
    do {
        ph_test_sleep_ms(20);
        ph__svc_cmdrun_counts(g_runner, &running, &started);
    } while (running != 0 && ph_test_now_ms() - t0 < 5000);
    ck_assert_uint_eq(running, 0);
    stop_server();
}
END_TEST

START_TEST(stop_leaves_nothing_behind)
{
    const char *args[2];
    char path[4][MAX_PATH * 3];
    wchar_t wpath[4][MAX_PATH];
    ph_client *c[4];
    DWORD gc[4], ch[4];
    unsigned char *resp;
    size_t len = 0;
    unsigned long long t0;
    int i;
    svc_cfg_errors errs;

    memset(&errs, 0, sizeof(errs));
    args[0] = "grandchild";
    for (i = 0; i < 4; i++) {
        char verb[8];
        snprintf(verb, sizeof(verb), "SP%d", i);
        pid_file(path[i], sizeof(path[i]), wpath[i]);
        args[1] = path[i];
        /* Even with KillOnClientExit 0 the stop ends them. */
        ck_assert_int_eq(ph__svc_command_set_dword(add_cmd(verb, args, 2), "KillOnClientExit", 0, &errs), 0);
    }
    start_server();
    for (i = 0; i < 4; i++) {
        char verb[8];
        snprintf(verb, sizeof(verb), "SP%d", i);
        c[i] = send_only(verb);
    }
    /* Four programs each starting a grandchild: under Wine on a loaded machine that alone can take seconds. */
    t0 = ph_test_now_ms();
    for (i = 0; i < 4; i++) {
        while (GetFileAttributesW(wpath[i]) == INVALID_FILE_ATTRIBUTES && ph_test_now_ms() - t0 < 40000)
            ph_test_sleep_ms(20);
        ph_test_sleep_ms(50);
        read_pids(wpath[i], &gc[i], &ch[i]);
    }
    /* The host's order: the runner first (held requests answered "ERR stopping"), then the server. */
    t0 = ph_test_now_ms();
    ph__svc_cmdrun_shutdown(g_runner, 10000);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(ph_client_recv(c[i], &resp, &len, 10000, 0), 0);
        ck_assert_msg(starts_with(resp, len, "ERR stopping "), "%.*s", (int)len, resp);
        ph_free(resp);
        ph_client_free(c[i]);
    }
    ph_server_stop(g_server);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 10000);
    for (i = 0; i < 4; i++) {
        ck_assert_msg(gone_within(ch[i], 5000), "program %d survived the stop", i);
        ck_assert_msg(gone_within(gc[i], 5000), "the child of program %d survived the stop", i);
    }
    /* After the stop a request is refused, not run. */
    stop_server();
}
END_TEST

START_TEST(run_as_client_needs_impersonation)
{
    static const char *const cat[] = {"cat"};
    svc_cfg_errors errs;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;

    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_command_set_dword(add_cmd("ASME", cat, 1), "RunAsClient", 1, &errs), 0);
    start_server();
    /* pipehost's client connects at identification level unless asked: the verb is refused. */
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, g_pipe, 10000, 0), 0);
    ck_assert_int_eq(ph_client_transact(c, "ASME x", 6, &resp, &len, 30000, 0), 0);
    ph_client_free(c);
    if (ph_test_on_wine() && !starts_with(resp, len, "ERR impersonation-required ")) {
        ph_free(resp);
        stop_server();
        ph_test_skip("Wine ignores the client's impersonation level (an identification client gives an "
                     "impersonation token): the refusal is shown on Windows only");
    }
    ck_assert_msg(starts_with(resp, len, "ERR impersonation-required "), "%.*s", (int)len, resp);
    ph_free(resp);
    stop_server();
}
END_TEST

START_TEST(run_as_client_with_impersonation)
{
    static const char *const cat[] = {"cat"};
    svc_cfg_errors errs;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;

    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_command_set_dword(add_cmd("ASME", cat, 1), "RunAsClient", 1, &errs), 0);
    start_server();
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, g_pipe, 10000, PH_CLIENT_IMPERSONATION), 0);
    ck_assert_int_eq(ph_client_transact(c, "ASME hi", 7, &resp, &len, 30000, 0), 0);
    ph_client_free(c);
    ck_assert_msg(len == 5 && memcmp(resp, "OK hi", 5) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    stop_server();
}
END_TEST

START_TEST(program_paths_refused)
{
    static const wchar_t *const bad[] = {L"cmdchild.exe", L"..\\x.exe", L"\\\\server\\share\\x.exe",
                                         L"\\\\?\\C:\\x.exe", L"\\\\.\\C:\\x.exe", L"C:x.exe", L"C:\\a\\..\\x.exe",
                                         L"C:\\a\\.\\x.exe", L"C:/a/x.exe", L"C:\\a\\x.exe:stream", L"C:\\a\\x.exe.",
                                         L"C:\\a\\\\x.exe", L"C:\\a\\x.exe "};
    char why[400];
    size_t i;
    HANDLE h;
    wchar_t *self, other[MAX_PATH];

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ph__svc_cmdprog_path_ok(bad[i], why, sizeof(why)) != 0, "%ls was accepted", bad[i]);
    ck_assert_int_eq(ph__svc_cmdprog_path_ok(L"C:\\Program Files\\x\\x.exe", why, sizeof(why)), 0);
    /* A file that is no executable; a folder. */
    self = ph__svc_to_wide(child_exe(), NULL);
    ck_assert_ptr_nonnull(self);
    wcscpy(other, self);
    free(self);
    wcscpy(wcsrchr(other, L'\\') + 1, L"CTestTestfile.cmake");
    ck_assert(GetFileAttributesW(other) != INVALID_FILE_ATTRIBUTES);
    ck_assert_uint_eq(ph__svc_cmdprog_open(other, &h, why, sizeof(why)), ERROR_BAD_EXE_FORMAT);
    *wcsrchr(other, L'\\') = L'\0';
    ck_assert_uint_ne(ph__svc_cmdprog_open(other, &h, why, sizeof(why)), 0);
    /* The program is held: nobody may write or delete it while the runner runs. */
    self = ph__svc_to_wide(child_exe(), NULL);
    ck_assert_uint_eq(ph__svc_cmdprog_open(self, &h, why, sizeof(why)), 0);
    ck_assert(CreateFileW(self, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                          OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE);
    ck_assert(!DeleteFileW(self));
    CloseHandle(h);
    free(self);
}
END_TEST

/* Gives path the DACL of sddl (protected), as an administrator would. */
static void secure(const wchar_t *path, const char *sddl)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;

    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL));
    ck_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    /* Judged by what the check then reads (Wine may report success and keep less). */
    SetNamedSecurityInfoW((LPWSTR)path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                          NULL, NULL, dacl, NULL);
    LocalFree(sd);
}

#define SAFE_DIR "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;OICI;0x1200a9;;;WD)"
#define SAFE_FILE "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)(A;;0x1200a9;;;WD)"

/* A program whose file or folder others may write to is refused; above its folder, others may add entries
 * (as C:\ lets Authenticated Users) but not remove or rename them. */
START_TEST(unsafe_program_refused)
{
    wchar_t tmp[MAX_PATH], outer[MAX_PATH], dir[MAX_PATH], exe[MAX_PATH], *src;
    char why[600];
    HANDLE h = NULL;
    DWORD err;

    GetTempPathW(MAX_PATH, tmp);
    swprintf(outer, MAX_PATH, L"%lsph-cmdrun-%lu", tmp, (unsigned long)GetCurrentProcessId());
    swprintf(dir, MAX_PATH, L"%ls\\bin", outer);
    swprintf(exe, MAX_PATH, L"%ls\\cmdchild.exe", dir);
    ck_assert(CreateDirectoryW(outer, NULL));
    ck_assert(CreateDirectoryW(dir, NULL));
    src = ph__svc_to_wide(child_exe(), NULL);
    ck_assert(CopyFileW(src, exe, FALSE));
    free(src);
    secure(outer, SAFE_DIR);
    secure(dir, SAFE_DIR);
    secure(exe, SAFE_FILE);
    err = ph__svc_cmdprog_open(exe, &h, why, sizeof(why));
    ck_assert_msg(err == 0, "a safe program was refused: %s", why);
    CloseHandle(h);

    /* Its own folder writable by Everyone. */
    secure(dir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;OICI;FA;;;WD)");
    err = ph__svc_cmdprog_open(exe, &h, why, sizeof(why));
    if (err == 0) {
        CloseHandle(h);
        if (ph_test_on_wine()) {
            secure(dir, SAFE_DIR);
            DeleteFileW(exe);
            RemoveDirectoryW(dir);
            RemoveDirectoryW(outer);
            ph_test_skip("this system keeps no file DACL that grants Everyone write access; shown on Windows only");
        }
    }
    ck_assert_uint_eq(err, ERROR_INVALID_ACL);
    ck_assert_msg(strstr(why, "S-1-1-0") != NULL && strstr(why, "bin") != NULL, "%s", why);
    /* Everyone may only add files to it: still refused (a DLL planted next to the program is loaded by it). */
    secure(dir, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;;0x2;;;WD)");
    ck_assert_uint_eq(ph__svc_cmdprog_open(exe, &h, why, sizeof(why)), ERROR_INVALID_ACL);
    secure(dir, SAFE_DIR);

    /* The file itself writable by Everyone. */
    secure(exe, "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)(A;;FW;;;WD)");
    ck_assert_uint_eq(ph__svc_cmdprog_open(exe, &h, why, sizeof(why)), ERROR_INVALID_ACL);
    ck_assert_msg(strstr(why, "the file is not safe") != NULL, "%s", why);
    secure(exe, SAFE_FILE);

    DeleteFileW(exe);
    RemoveDirectoryW(dir);
    RemoveDirectoryW(outer);
}
END_TEST

/* Above the program's folder others may add entries (what C:\\ grants Authenticated Users), not delete them. */
START_TEST(ancestor_may_let_others_add)
{
    wchar_t tmp[MAX_PATH], outer[MAX_PATH], dir[MAX_PATH], exe[MAX_PATH], *src;
    char why[600];
    HANDLE h = NULL;
    DWORD err;

    GetTempPathW(MAX_PATH, tmp);
    swprintf(outer, MAX_PATH, L"%lsph-cmdrun-a-%lu", tmp, (unsigned long)GetCurrentProcessId());
    swprintf(dir, MAX_PATH, L"%ls\\bin", outer);
    swprintf(exe, MAX_PATH, L"%ls\\cmdchild.exe", dir);
    ck_assert(CreateDirectoryW(outer, NULL));
    ck_assert(CreateDirectoryW(dir, NULL));
    src = ph__svc_to_wide(child_exe(), NULL);
    ck_assert(CopyFileW(src, exe, FALSE));
    free(src);
    secure(dir, SAFE_DIR);
    secure(exe, SAFE_FILE);
    /* Deleting entries: refused. */
    secure(outer, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;;0x40;;;WD)");
    err = ph__svc_cmdprog_open(exe, &h, why, sizeof(why));
    if (err == 0) {
        CloseHandle(h);
        if (ph_test_on_wine()) {
            secure(outer, SAFE_DIR);
            DeleteFileW(exe);
            RemoveDirectoryW(dir);
            RemoveDirectoryW(outer);
            ph_test_skip("Wine keeps a file DACL as unix permission bits: a grant of FILE_DELETE_CHILD alone, or of "
                         "adding entries only, does not read back as given; shown on Windows only");
        }
    }
    ck_assert_uint_eq(err, ERROR_INVALID_ACL);
    ck_assert_msg(strstr(why, "S-1-1-0") != NULL, "%s", why);
    /* Adding entries (and rights given only to what is created inside): accepted. */
    secure(outer, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)(A;;0x6;;;WD)(A;OICIIO;FA;;;WD)");
    err = ph__svc_cmdprog_open(exe, &h, why, sizeof(why));
    if (err == 0)
        CloseHandle(h);
    secure(outer, SAFE_DIR);
    DeleteFileW(exe);
    RemoveDirectoryW(dir);
    RemoveDirectoryW(outer);
    if (err != 0 && ph_test_on_wine())
        ph_test_skip("Wine keeps a file DACL as unix permission bits: a grant to add entries reads back as full "
                     "write access (and inherit-only entries are lost); shown on Windows only");
    ck_assert_msg(err == 0, "an ancestor that only lets others add entries was refused: %s", why);
}
END_TEST

/* The registry form: a good verb loads; a built-in name, an unknown value, a wrong type, a missing descriptor
 * are each refused with a message naming the value. */
START_TEST(registry_configuration)
{
    wchar_t key[200], sub[260];
    static const wchar_t args[] = L"exit\0" L"3\0";
    HKEY k = NULL;
    DWORD v = 5000;
    svc_commands cmds;
    svc_cfg_errors errs;
    svc_config cfg;
    const char *prog = child_exe();
    wchar_t *wprog = ph__svc_to_wide(prog, NULL);
    unsigned i;
    int found = 0;
    char unique[120];

    /* A name of this process's own (ph_test_pipe_name: id, counter and clock; Wine reuses process ids at
     * once), any leftover removed first. */
    ph_test_pipe_name(unique, sizeof(unique), "cmdrun");
    swprintf(key, 200, L"SOFTWARE\\pipehost-test\\%hs", unique);
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, key);
    swprintf(sub, 260, L"%ls\\Commands\\RESTART", key);
    ck_assert_int_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE, sub, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k, NULL), 0);
    ck_assert_int_eq(RegSetValueExW(k, L"Program", 0, REG_SZ, (const BYTE *)wprog,
                                    (DWORD)((wcslen(wprog) + 1) * sizeof(wchar_t))), 0);
    ck_assert_int_eq(RegSetValueExW(k, L"Arguments", 0, REG_MULTI_SZ, (const BYTE *)args, sizeof(args)), 0);
    ck_assert_int_eq(RegSetValueExW(k, L"TimeoutMs", 0, REG_DWORD, (const BYTE *)&v, sizeof(v)), 0);
    RegCloseKey(k);
    memset(&cmds, 0, sizeof(cmds));
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_commands_load_key(key, &cmds, &errs), 0);
    ck_assert_uint_eq(cmds.count, 1);
    ck_assert_str_eq(cmds.items[0].verb, "RESTART");
    ck_assert_str_eq(cmds.items[0].program, prog);
    ck_assert_uint_eq(cmds.items[0].arg_count, 2);
    ck_assert_str_eq(cmds.items[0].args[1], "3");
    ck_assert_uint_eq(cmds.items[0].timeout_ms, 5000);
    /* Without Verbs\RESTART the start is refused; with it, accepted. */
    ph__svc_config_init(&cfg, "x");
    ck_assert_int_eq(ph__svc_commands_check(&cmds, &cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[0], "Parameters\\Verbs\\RESTART") != NULL, "%s", errs.text[0]);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "restart", "D:P(A;;GA;;;BA)", "test", &errs), 0);
    ck_assert_int_eq(ph__svc_commands_check(&cmds, &cfg, &errs), 0);
    ph__svc_config_free(&cfg);
    ph__svc_commands_free(&cmds);

    /* Refusals. */
    swprintf(sub, 260, L"%ls\\Commands\\PING", key);
    ck_assert_int_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE, sub, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k, NULL), 0);
    RegCloseKey(k);
    swprintf(sub, 260, L"%ls\\Commands\\RESTART", key);
    ck_assert_int_eq(RegOpenKeyExW(HKEY_LOCAL_MACHINE, sub, 0, KEY_ALL_ACCESS, &k), 0);
    ck_assert_int_eq(RegSetValueExW(k, L"Timeout", 0, REG_DWORD, (const BYTE *)&v, sizeof(v)), 0);
    ck_assert_int_eq(RegSetValueExW(k, L"MaxConcurrent", 0, REG_SZ, (const BYTE *)L"4", 4), 0);
    v = 0;
    ck_assert_int_eq(RegSetValueExW(k, L"MaxOutputBytes", 0, REG_DWORD, (const BYTE *)&v, sizeof(v)), 0);
    v = 7;
    ck_assert_int_eq(RegSetValueExW(k, L"RunAsClient", 0, REG_DWORD, (const BYTE *)&v, sizeof(v)), 0);
    ck_assert_int_eq(RegSetValueExW(k, L"Environment", 0, REG_MULTI_SZ, (const BYTE *)L"PIPEHOST_VERB=x\0", 34), 0);
    RegCloseKey(k);
    memset(&cmds, 0, sizeof(cmds));
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_commands_load_key(key, &cmds, &errs), PH_EINVAL);
    {
        int builtin = 0, unknown = 0, type = 0, range = 0, env = 0;
        for (i = 0; i < errs.count && i < SVC_CFG_MAX_ERRORS; i++) {
            builtin |= strstr(errs.text[i], "PING is a built-in verb") != NULL;
            unknown |= strstr(errs.text[i], "RESTART\\Timeout: unknown name") != NULL;
            type |= strstr(errs.text[i], "RESTART\\MaxConcurrent: it must be a DWORD") != NULL;
            range |= strstr(errs.text[i], "RunAsClient: accepted 0 or 1, given 7") != NULL;
            env |= strstr(errs.text[i], "set by the service") != NULL;
        }
        ck_assert_msg(builtin && unknown && type && range && env, "%u errors; first: %s", errs.count, errs.text[0]);
    }
    ph__svc_commands_free(&cmds);
    (void)found;
    free(wprog);
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, key);
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("cmdrun");

    add(s, tcase_create("payload_round_trip"), payload_round_trip);
    add(s, tcase_create("exit_codes"), exit_codes);
    add(s, tcase_create("hostile_payload_never_reaches_the_line"), hostile_payload_never_reaches_the_line);
    add(s, tcase_create("environment_is_only_what_is_named"), environment_is_only_what_is_named);
    add(s, tcase_create("timeout_kills_the_grandchild"), timeout_kills_the_grandchild);
    add(s, tcase_create("output_cap_ends_the_program"), output_cap_ends_the_program);
    add(s, tcase_create("concurrency_limit_refuses_at_once"), concurrency_limit_refuses_at_once);
    add(s, tcase_create("client_leaving_ends_the_program"), client_leaving_ends_the_program);
    add(s, tcase_create("stop_leaves_nothing_behind"), stop_leaves_nothing_behind);
    add(s, tcase_create("run_as_client_needs_impersonation"), run_as_client_needs_impersonation);
    add(s, tcase_create("run_as_client_with_impersonation"), run_as_client_with_impersonation);
    add(s, tcase_create("program_paths_refused"), program_paths_refused);
    add(s, tcase_create("unsafe_program_refused"), unsafe_program_refused);
    add(s, tcase_create("ancestor_may_let_others_add"), ancestor_may_let_others_add);
    add(s, tcase_create("registry_configuration"), registry_configuration);
    return s;
}
