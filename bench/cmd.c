/* cmd.c — pipehost-cmdbench: what a command verb costs, against a plain thread-per-request server running the same program. */
/*
 * pipehost-cmdbench.exe [--quick] [--duration MS]: one process runs both servers and their clients (threads
 * with a ph_client). The program behind every request is pipehost-cmdtiny.exe, next to this one (reads its
 * input, writes "done"; `sleep MS` first when asked). Printed, no pass/fail on figures (timings under Wine are
 * noisy: compare the ratios, both sides measured in the same run):
 *   1. throughput: 8 clients in a loop for MS (default 2000, --quick 200) against
 *      - pipehost's command verb TINY (service/cmdrun.c, as the service builds it: core server, router, runner;
 *        MaxConcurrent 8, so no request is refused busy), and
 *      - the reference: a plain server, a thread per client, that for each request calls CreateProcessW with the
 *        same command line, writes the payload to its input, reads its output to the end and waits for it;
 *      requests/s and p50/p99 of each, and the ratios pipehost/reference.
 *   2. quick clients beside slow commands: one client's PING round trips (ROUNDS, default 1000, --quick 100) on
 *      the idle command server, then while 32 clients each keep a 1 s command (SLOW, MaxConcurrent 32)
 *      running; p50/p99/max of both and the p99 ratio.
 * Exit status 0 when every answer was right, 1 otherwise, 2 when the set-up failed. */
#include <pipehost/pipehost.h>

#include <windows.h>

#include "cmdconf.h"
#include "cmdrun.h"
#include "svclog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define LOOP_CLIENTS 8u
#define SLOW_CLIENTS 32u
#define SLOW_MS 1000u
#define MAX_SAMPLES 200000u

static volatile LONG g_failures;
static char g_prog[MAX_PATH * 3];  /* pipehost-cmdtiny.exe, UTF-8, for the runner */
static wchar_t g_progw[MAX_PATH];  /* the same for the reference */

static double now_ms(void)
{
    static LARGE_INTEGER f;
    LARGE_INTEGER t;
    if (f.QuadPart == 0)
        QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1000.0 / (double)f.QuadPart;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- pipehost: the command verbs, built as the service host builds them -------------------------------- */

static ph_handler_result verb_ping(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    (void)payload;
    (void)len;
    if (ph_response_append(resp, "PONG", 4) != 0)
        ph_response_err(resp, "internal", "out of memory");
    return PH_REPLY;
}

typedef struct cmd_server {
    svc_commands cmds;
    svc_log log;
    svc_cmdrun *runner;
    ph_router *router;
    ph_server *server;
} cmd_server;

static int add_cmd(svc_commands *cmds, const char *verb, const char *const *args, size_t n, uint32_t max_concurrent)
{
    svc_cfg_errors errs;
    svc_command *c;

    memset(&errs, 0, sizeof(errs));
    c = ph__svc_commands_add(cmds, verb, &errs);
    if (c == NULL || ph__svc_command_set_string(c, "Program", g_prog, &errs) != 0
        || ph__svc_command_set_list(c, "Arguments", args, n, &errs) != 0
        || ph__svc_command_set_dword(c, "MaxConcurrent", max_concurrent, &errs) != 0) {
        fprintf(stderr, "pipehost-cmdbench: command %s refused: %s\n", verb, errs.text[0]);
        return -1;
    }
    return 0;
}

static int cmd_server_start(cmd_server *s, const char *pipe)
{
    static const char *const slow[] = {"sleep", "1000"};
    ph_server_config cfg;
    char why[800];

    memset(s, 0, sizeof(*s));
    ph__svc_log_init(&s->log, PH_LOG_WARN);
    s->log.console = 1;
    if (add_cmd(&s->cmds, "TINY", NULL, 0, LOOP_CLIENTS) != 0 || add_cmd(&s->cmds, "SLOW", slow, 2, SLOW_CLIENTS) != 0)
        return -1;
    if (ph__svc_cmdrun_new(&s->cmds, &s->log, &s->runner, why, sizeof(why)) != 0) {
        fprintf(stderr, "pipehost-cmdbench: runner refused: %s\n", why);
        return -1;
    }
    if (ph_router_new(&s->router) != 0 || ph__svc_cmdrun_register(s->runner, s->router) != 0
        || ph_router_add(s->router, "PING", verb_ping, NULL) != 0)
        return -1;
    ph_server_config_init(&cfg);
    cfg.pipe_name = pipe;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = s->router;
    cfg.limits.max_connections_per_user = 0; /* every client here is this process's user */
    return ph_server_new(&cfg, &s->server) == 0 && ph_server_start(s->server) == 0 ? 0 : -1;
}

static void cmd_server_stop(cmd_server *s)
{
    if (s->runner != NULL)
        ph__svc_cmdrun_shutdown(s->runner, 10000);
    ph_server_free(s->server);
    ph_router_free(s->router);
    ph__svc_cmdrun_free(s->runner);
    ph__svc_commands_free(&s->cmds);
}

/* ---- the reference: a thread per client, CreateProcessW and a wait per request ------------------------- */

static wchar_t g_ref_pipe[128];
static volatile LONG g_ref_stop;
static CRITICAL_SECTION g_spawn_lock;

/* Runs the program with the payload on its input; "OK " + its output in out when it exits 0. The child's
 * pipe ends are the only handles it inherits (the handle list), and they exist as inheritable handles only
 * under g_spawn_lock, until the start: a sibling started by another thread cannot inherit them and keep this
 * one's output open, even where the handle list is not honoured (not checked under Wine). The lock serializes
 * the starts as the runner's one thread does. */
static DWORD run_child(const void *payload, DWORD len, char *out, DWORD size)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    HANDLE in_r = NULL, in_w = NULL, out_r = NULL, out_w = NULL, list[2];
    STARTUPINFOEXW si;
    PROCESS_INFORMATION pi;
    SIZE_T attr_size = 0;
    wchar_t line[MAX_PATH + 8];
    DWORD got = 0, n = 3, done = 0, code = 1;
    BOOL ok = FALSE;

    memcpy(out, "OK ", 3);
    memset(&si, 0, sizeof(si));
    EnterCriticalSection(&g_spawn_lock);
    if (!CreatePipe(&in_r, &in_w, &sa, 0) || !CreatePipe(&out_r, &out_w, &sa, 0)
        || !SetHandleInformation(in_w, HANDLE_FLAG_INHERIT, 0) || !SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0))
        goto done;
    si.StartupInfo.cb = sizeof(si);
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = in_r;
    si.StartupInfo.hStdOutput = out_w;
    si.StartupInfo.hStdError = out_w;
    list[0] = in_r;
    list[1] = out_w;
    InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
    si.lpAttributeList = malloc(attr_size);
    if (si.lpAttributeList == NULL || !InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &attr_size))
        goto done;
    if (UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, sizeof(list), NULL,
                                  NULL)) {
        swprintf(line, sizeof(line) / sizeof(line[0]), L"\"%ls\"", g_progw);
        ok = CreateProcessW(g_progw, line, NULL, NULL, TRUE, CREATE_NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT, NULL,
                            NULL, &si.StartupInfo, &pi);
    }
    DeleteProcThreadAttributeList(si.lpAttributeList);
    if (!ok)
        goto done;
    CloseHandle(in_r);
    CloseHandle(out_w);
    in_r = out_w = NULL;
    LeaveCriticalSection(&g_spawn_lock);
    if (len > 0)
        WriteFile(in_w, payload, len, &done, NULL);
    CloseHandle(in_w);
    in_w = NULL;
    while (n < size && ReadFile(out_r, out + n, size - n, &got, NULL) && got > 0)
        n += got;
    if (WaitForSingleObject(pi.hProcess, 30000) != WAIT_OBJECT_0 || !GetExitCodeProcess(pi.hProcess, &code))
        code = 1;
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
done:
    free(si.lpAttributeList);
    if (in_r != NULL)
        CloseHandle(in_r);
    if (in_w != NULL)
        CloseHandle(in_w);
    if (out_r != NULL)
        CloseHandle(out_r);
    if (out_w != NULL)
        CloseHandle(out_w);
    if (!ok) /* else left right after the start */
        LeaveCriticalSection(&g_spawn_lock);
    if (code != 0)
        return (DWORD)(sprintf(out, "ERR exit %lu", (unsigned long)code));
    return n;
}

static DWORD WINAPI ref_client(LPVOID arg)
{
    HANDLE pipe = arg;
    static const DWORD cap = 64 * 1024;
    char *in = malloc(cap), *out = malloc(cap);
    DWORD got = 0, n, done = 0;

    while (in != NULL && out != NULL && ReadFile(pipe, in, cap, &got, NULL)) {
        if (got >= 4 && memcmp(in, "TINY", 4) == 0)
            n = run_child(in + (got > 5 ? 5 : got), got > 5 ? got - 5 : 0, out, cap);
        else
            n = (DWORD)sprintf(out, "ERR unknown-verb");
        if (!WriteFile(pipe, out, n, &done, NULL))
            break;
    }
    free(in);
    free(out);
    DisconnectNamedPipe(pipe);
    CloseHandle(pipe);
    return 0;
}

/* Accepts clients until g_ref_stop (then one last connect wakes it), a thread for each. */
static DWORD WINAPI ref_accept(LPVOID arg)
{
    HANDLE ready = arg;

    for (;;) {
        HANDLE p = CreateNamedPipeW(g_ref_pipe, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                    PIPE_UNLIMITED_INSTANCES, 64 * 1024, 64 * 1024, 0, NULL);
        HANDLE t;
        if (p == INVALID_HANDLE_VALUE) {
            InterlockedIncrement(&g_failures);
            SetEvent(ready);
            return 1;
        }
        SetEvent(ready);
        if (!ConnectNamedPipe(p, NULL) && GetLastError() != ERROR_PIPE_CONNECTED) {
            CloseHandle(p);
            continue;
        }
        if (g_ref_stop) {
            CloseHandle(p);
            return 0;
        }
        t = CreateThread(NULL, 64 * 1024, ref_client, p, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (t == NULL) {
            CloseHandle(p);
            InterlockedIncrement(&g_failures);
        } else {
            CloseHandle(t);
        }
    }
}

/* ---- clients ------------------------------------------------------------------------------------------- */

static ph_client *connect_to(const char *name)
{
    ph_client *c = NULL;
    if (ph_client_new(&c) != 0 || ph_client_connect(c, name, 10000, 0) != 0) {
        ph_client_free(c);
        InterlockedIncrement(&g_failures);
        return NULL;
    }
    return c;
}

/* One transaction; 0 when the answer is want. */
static int ask(ph_client *c, const char *req, const char *want)
{
    unsigned char *m = NULL;
    size_t len = 0;
    int rc = ph_client_transact(c, req, strlen(req), &m, &len, 30000, 0);
    int ok = rc == 0 && len == strlen(want) && memcmp(m, want, len) == 0;
    if (!ok) {
        if (InterlockedIncrement(&g_failures) <= 5)
            fprintf(stderr, "pipehost-cmdbench: %s: %s%.*s\n", req, rc ? ph_strerror(rc) : "answered ",
                    rc ? 0 : (int)(len > 200 ? 200 : len), m ? (const char *)m : "");
    }
    ph_free(m);
    return ok ? 0 : -1;
}

typedef struct looper {
    const char *pipe, *req, *want;
    double *lat;
    unsigned n, cap;
    HANDLE thread;
} looper;

static HANDLE g_go;              /* manual-reset: the loopers begin */
static volatile LONG g_loop_stop, g_loop_ready;

static DWORD WINAPI loop_client(LPVOID arg)
{
    looper *l = arg;
    ph_client *c = connect_to(l->pipe);

    if (c != NULL)
        ask(c, "TINY", "OK done"); /* warm-up: the connection and the first run */
    InterlockedIncrement(&g_loop_ready);
    WaitForSingleObject(g_go, 60000);
    while (c != NULL && !g_loop_stop) {
        double t0 = now_ms();
        if (ask(c, l->req, l->want) != 0)
            break;
        if (l->n < l->cap)
            l->lat[l->n++] = now_ms() - t0;
    }
    ph_client_free(c);
    return 0;
}

/* Runs n loopers (req/want) against pipe for ms; their latencies (sorted) in all, their count returned. */
static unsigned run_loop(const char *pipe, unsigned n, const char *req, const char *want, unsigned ms, double *all,
                         double *elapsed)
{
    looper l[SLOW_CLIENTS];
    unsigned i, total = 0;
    double t0;

    ResetEvent(g_go);
    g_loop_stop = 0;
    g_loop_ready = 0;
    for (i = 0; i < n; i++) {
        l[i].pipe = pipe;
        l[i].req = req;
        l[i].want = want;
        l[i].cap = MAX_SAMPLES / n;
        l[i].n = 0;
        l[i].lat = all + (size_t)i * l[i].cap;
        l[i].thread = CreateThread(NULL, 64 * 1024, loop_client, &l[i], STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (l[i].thread == NULL)
            InterlockedIncrement(&g_failures);
    }
    for (i = 0; i < 3000 && g_loop_ready < (LONG)n; i++)
        Sleep(10);
    t0 = now_ms();
    SetEvent(g_go);
    Sleep(ms);
    InterlockedExchange(&g_loop_stop, 1);
    for (i = 0; i < n; i++)
        if (l[i].thread != NULL) {
            WaitForSingleObject(l[i].thread, 60000);
            CloseHandle(l[i].thread);
        }
    *elapsed = now_ms() - t0;
    for (i = 0; i < n; i++) {
        memmove(all + total, l[i].lat, l[i].n * sizeof(double));
        total += l[i].n;
    }
    qsort(all, total, sizeof(double), cmp);
    return total;
}

/* ---- quick clients beside slow commands ---------------------------------------------------------------- */

static volatile LONG g_slow_stop;
static const char *g_slow_pipe;

static DWORD WINAPI slow_client(LPVOID arg)
{
    ph_client *c = connect_to(g_slow_pipe);
    (void)arg;
    while (c != NULL && !g_slow_stop && ask(c, "SLOW", "OK done") == 0) {
    }
    ph_client_free(c);
    return 0;
}

static void pings(ph_client *c, double *out, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++) {
        double t0 = now_ms();
        ask(c, "PING", "PONG");
        out[i] = now_ms() - t0;
    }
    qsort(out, n, sizeof(double), cmp);
}

static double pct(const double *v, unsigned n, unsigned p)
{
    return n == 0 ? 0.0 : v[(size_t)n * p / 100 >= n ? n - 1 : (size_t)n * p / 100];
}

int main(int argc, char **argv)
{
    unsigned window = 2000, rounds = 1000, i, n_cmd, n_ref;
    double *a = malloc(MAX_SAMPLES * sizeof(double)), *b = malloc(MAX_SAMPLES * sizeof(double)), e_cmd, e_ref;
    char pipe[96], ref_pipe[96];
    wchar_t *slash;
    cmd_server s;
    HANDLE acc, ready, slow[SLOW_CLIENTS];
    ph_client *quick, *wake;
    uint64_t running = 0, started = 0;

    for (i = 1; i < (unsigned)argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            window = 200;
            rounds = 100;
        } else if (strcmp(argv[i], "--duration") == 0 && i + 1 < (unsigned)argc) {
            window = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            window = 0;
            break;
        }
    }
    if (window < 50 || window > 60000 || a == NULL || b == NULL) {
        fprintf(stderr, "usage: pipehost-cmdbench [--quick] [--duration MS (50..60000, default 2000)]\n");
        return 2;
    }
    /* pipehost-cmdtiny.exe sits next to this program. */
    if (GetModuleFileNameW(NULL, g_progw, MAX_PATH) == 0 || GetLastError() == ERROR_INSUFFICIENT_BUFFER
        || (slash = wcsrchr(g_progw, L'\\')) == NULL || (size_t)(slash - g_progw) + 24 > MAX_PATH)
        return 2;
    wcscpy(slash + 1, L"pipehost-cmdtiny.exe");
    if (GetFileAttributesW(g_progw) == INVALID_FILE_ATTRIBUTES
        || WideCharToMultiByte(CP_UTF8, 0, g_progw, -1, g_prog, (int)sizeof(g_prog), NULL, NULL) == 0) {
        fprintf(stderr, "pipehost-cmdbench: pipehost-cmdtiny.exe is not next to this program\n");
        return 2;
    }
    InitializeCriticalSection(&g_spawn_lock);
    g_go = CreateEventW(NULL, TRUE, FALSE, NULL);
    ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    snprintf(pipe, sizeof(pipe), "pipehost-cmdbench-%lu", (unsigned long)GetCurrentProcessId());
    snprintf(ref_pipe, sizeof(ref_pipe), "pipehost-cmdbench-ref-%lu", (unsigned long)GetCurrentProcessId());
    swprintf(g_ref_pipe, sizeof(g_ref_pipe) / sizeof(g_ref_pipe[0]), L"\\\\.\\pipe\\%hs", ref_pipe);
    if (g_go == NULL || ready == NULL || cmd_server_start(&s, pipe) != 0) {
        fprintf(stderr, "pipehost-cmdbench: cannot start the command server\n");
        return 2;
    }
    acc = CreateThread(NULL, 0, ref_accept, ready, 0, NULL);
    if (acc == NULL || WaitForSingleObject(ready, 10000) != WAIT_OBJECT_0) {
        fprintf(stderr, "pipehost-cmdbench: cannot start the reference server\n");
        return 2;
    }

    /* 1. Throughput with 8 clients: pipehost's command verb, then the reference, same window. */
    n_cmd = run_loop(pipe, LOOP_CLIENTS, "TINY", "OK done", window, a, &e_cmd);
    n_ref = run_loop(ref_pipe, LOOP_CLIENTS, "TINY", "OK done", window, b, &e_ref);
    printf("%-44s %9s %9s %9s %9s\n", "8 clients, a tiny program per request", "req/s", "p50 ms", "p99 ms", "max ms");
    printf("%-44s %9.1f %9.2f %9.2f %9.2f\n", "pipehost command verb", n_cmd * 1000.0 / e_cmd, pct(a, n_cmd, 50),
           pct(a, n_cmd, 99), pct(a, n_cmd, 100));
    printf("%-44s %9.1f %9.2f %9.2f %9.2f\n", "reference (thread per client, CreateProcess)", n_ref * 1000.0 / e_ref,
           pct(b, n_ref, 50), pct(b, n_ref, 99), pct(b, n_ref, 100));
    if (n_cmd > 0 && n_ref > 0)
        printf("ratio pipehost/reference: req/s %.2f, p99 %.2f\n", (n_cmd / e_cmd) / (n_ref / e_ref),
               pct(a, n_cmd, 99) / pct(b, n_ref, 99));
    else
        InterlockedIncrement(&g_failures);
    InterlockedExchange(&g_ref_stop, 1);
    wake = connect_to(ref_pipe); /* wakes the accept loop, which then sees the stop */
    WaitForSingleObject(acc, 10000);
    ph_client_free(wake);
    CloseHandle(acc);

    /* 2. PING beside 32 commands of 1 s. */
    quick = connect_to(pipe);
    if (quick == NULL)
        return 2;
    pings(quick, a, rounds / 10 + 1); /* warm-up */
    pings(quick, a, rounds);
    g_slow_pipe = pipe;
    for (i = 0; i < SLOW_CLIENTS; i++) {
        slow[i] = CreateThread(NULL, 64 * 1024, slow_client, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (slow[i] == NULL)
            return 2;
    }
    for (i = 0; i < 500; i++) { /* up to 5 s for all 32 to run */
        ph__svc_cmdrun_counts(s.runner, &running, &started);
        if (running >= SLOW_CLIENTS)
            break;
        Sleep(10);
    }
    pings(quick, b, rounds);
    ph__svc_cmdrun_counts(s.runner, &running, &started);
    printf("commands running after the PINGs: %llu of %u (each %u ms)\n", (unsigned long long)running, SLOW_CLIENTS,
           SLOW_MS);
    InterlockedExchange(&g_slow_stop, 1);
    for (i = 0; i < SLOW_CLIENTS; i++) {
        WaitForSingleObject(slow[i], 60000);
        CloseHandle(slow[i]);
    }
    ph_client_free(quick);
    printf("%-44s %9s %9s %9s\n", "quick client PING (ms)", "p50", "p99", "max");
    printf("%-44s %9.3f %9.3f %9.3f\n", "idle command server", pct(a, rounds, 50), pct(a, rounds, 99), pct(a, rounds, 100));
    printf("%-44s %9.3f %9.3f %9.3f\n", "beside 32 commands of 1 s", pct(b, rounds, 50), pct(b, rounds, 99),
           pct(b, rounds, 100));
    printf("p99 ratio busy/idle: %.2f\n", pct(b, rounds, 99) / pct(a, rounds, 99));
    cmd_server_stop(&s);
    printf("wrong or failed answers: %ld\n", (long)g_failures);
    free(a);
    free(b);
    return g_failures == 0 ? 0 : 1;
}
