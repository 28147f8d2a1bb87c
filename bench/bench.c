/* bench.c — prints request rates of pipehost against the single-instance, thread-per-client and raw-pipe designs. */
#include <pipehost/pipehost.h>

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every design answers with the request's own bytes, and every design is driven by the same client code
 * (pipehost's client, with its busy-retry), so the servers are what differs. Figures under Wine are ratios
 * to read within one run, not absolute Windows numbers. */

typedef struct design design;
struct design {
    const char *label;
    int (*start)(design *d, const wchar_t *wname);
    void (*stop)(design *d);
    void *state;
};

static volatile LONG g_quit;

/* ---- pipehost ---------------------------------------------------------------------------------------- */
static ph_handler_result echo_handler(void *ctx, const ph_request *req, ph_response *resp)
{
    (void)ctx;
    ph_response_append(resp, req->data, req->len);
    return PH_REPLY;
}

static char g_name_utf8[128];

static int pipehost_start(design *d, const wchar_t *wname)
{
    ph_server_config cfg;
    ph_server *s = NULL;
    (void)wname;
    ph_server_config_init(&cfg);
    cfg.pipe_name = g_name_utf8;
    cfg.handler = echo_handler;
    if (ph_server_new(&cfg, &s) != 0 || ph_server_start(s) != 0) {
        ph_server_free(s);
        return -1;
    }
    d->state = s;
    return 0;
}

static void pipehost_stop(design *d)
{
    ph_server_free(d->state);
}

/* ---- synchronous designs from the Win32 samples ------------------------------------------------------ */
static HANDLE make_instance(const wchar_t *wname, DWORD max)
{
    return CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, max,
                            65536, 65536, 0, NULL);
}

static void serve_sync(HANDLE pipe)
{
    char *buf = malloc(65536);
    DWORD n, w;
    while (buf != NULL && ReadFile(pipe, buf, 65536, &n, NULL) && WriteFile(pipe, buf, n, &w, NULL))
        ;
    free(buf);
    DisconnectNamedPipe(pipe);
    CloseHandle(pipe);
}

typedef struct sync_state {
    HANDLE thread;
    const wchar_t *wname;
} sync_state;

/* The single-instance server: one instance, re-created after each client. */
static DWORD WINAPI single_main(LPVOID arg)
{
    sync_state *st = arg;
    while (!g_quit) {
        HANDLE p = make_instance(st->wname, 1);
        if (p == INVALID_HANDLE_VALUE)
            return 1;
        if (ConnectNamedPipe(p, NULL) || GetLastError() == ERROR_PIPE_CONNECTED)
            serve_sync(p);
        else
            CloseHandle(p);
    }
    return 0;
}

static DWORD WINAPI client_thread_main(LPVOID arg)
{
    serve_sync(arg);
    return 0;
}

/* Thread per client: accept on one instance, hand it to a new thread, create the next instance. */
static DWORD WINAPI tpc_main(LPVOID arg)
{
    sync_state *st = arg;
    while (!g_quit) {
        HANDLE p = make_instance(st->wname, PIPE_UNLIMITED_INSTANCES), t;
        if (p == INVALID_HANDLE_VALUE)
            return 1;
        if (!(ConnectNamedPipe(p, NULL) || GetLastError() == ERROR_PIPE_CONNECTED)) {
            CloseHandle(p);
            continue;
        }
        t = CreateThread(NULL, 0, client_thread_main, p, 0, NULL);
        if (t == NULL)
            serve_sync(p);
        else
            CloseHandle(t);
    }
    return 0;
}

static int sync_start(design *d, const wchar_t *wname, LPTHREAD_START_ROUTINE fn)
{
    sync_state *st = calloc(1, sizeof(*st));
    st->wname = wname;
    g_quit = 0;
    st->thread = CreateThread(NULL, 0, fn, st, 0, NULL);
    d->state = st;
    Sleep(50); /* let the first instance exist */
    return st->thread ? 0 : -1;
}

static int single_start(design *d, const wchar_t *wname)
{
    return sync_start(d, wname, single_main);
}

static int tpc_start(design *d, const wchar_t *wname)
{
    return sync_start(d, wname, tpc_main);
}

/* The accept loops block in ConnectNamedPipe; one last client wakes them. Their threads are left to the
 * process exit, as the samples do. */
static void sync_stop(design *d)
{
    sync_state *st = d->state;
    HANDLE h;
    g_quit = 1;
    h = CreateFileW(st->wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    WaitForSingleObject(st->thread, 2000);
}

/* ---- load -------------------------------------------------------------------------------------------- */
typedef struct load {
    int iters;
    int reconnect;
    size_t size;
    volatile LONG fails;
    volatile LONG64 done;
} load;

static DWORD WINAPI client_main(LPVOID arg)
{
    load *ld = arg;
    ph_client *c = NULL;
    unsigned char *req = malloc(ld->size), *resp;
    size_t resp_len;
    int i, connected = 0;

    memset(req, 'x', ld->size);
    ph_client_new(&c);
    for (i = 0; i < ld->iters; i++) {
        if (!connected) {
            if (ph_client_connect(c, g_name_utf8, 10000, 0) != 0) {
                InterlockedIncrement(&ld->fails);
                continue;
            }
            connected = 1;
        }
        if (ph_client_transact(c, req, ld->size, &resp, &resp_len, 10000, 0) != 0 || resp_len != ld->size) {
            InterlockedIncrement(&ld->fails);
            connected = 0;
        } else {
            ph_free(resp);
            InterlockedIncrement64(&ld->done);
        }
        if (ld->reconnect)
            connected = 0;
        if (!connected) {
            ph_client_free(c);
            ph_client_new(&c);
        }
    }
    ph_client_free(c);
    free(req);
    return 0;
}

static void run(design *d, int clients, int iters, int reconnect, size_t size)
{
    static int seq;
    wchar_t wname[160];
    HANDLE threads[MAXIMUM_WAIT_OBJECTS];
    LARGE_INTEGER f, a, b;
    load ld;
    int i;
    double secs;

    snprintf(g_name_utf8, sizeof(g_name_utf8), "ph-bench-%lu-%d", (unsigned long)GetCurrentProcessId(), ++seq);
    swprintf(wname, 160, L"\\\\.\\pipe\\%hs", g_name_utf8);
    if (d->start(d, wname) != 0) {
        printf("%-16s could not start\n", d->label);
        return;
    }
    memset(&ld, 0, sizeof(ld));
    ld.iters = iters;
    ld.reconnect = reconnect;
    ld.size = size;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&a);
    for (i = 0; i < clients; i++)
        threads[i] = CreateThread(NULL, 0, client_main, &ld, 0, NULL);
    WaitForMultipleObjects((DWORD)clients, threads, TRUE, INFINITE);
    QueryPerformanceCounter(&b);
    for (i = 0; i < clients; i++)
        CloseHandle(threads[i]);
    d->stop(d);
    secs = (double)(b.QuadPart - a.QuadPart) / (double)f.QuadPart;
    printf("%-16s %-10s clients=%-3d size=%-6zu ok=%-7lld failed=%-5ld %9.0f ok/s\n", d->label,
           reconnect ? "reconnect" : "persistent", clients, size, (long long)ld.done, ld.fails,
           (double)ld.done / secs);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    design designs[] = {
        {"pipehost", pipehost_start, pipehost_stop, NULL},
        {"single-instance", single_start, sync_stop, NULL},
        {"thread-per-client", tpc_start, sync_stop, NULL},
    };
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    size_t i;

    if (scale < 1)
        scale = 1;
    printf("pipehost bench (scale %d): echo round trips; same client for every design\n", scale);
    for (i = 0; i < sizeof(designs) / sizeof(designs[0]); i++) {
        run(&designs[i], 1, 2000 * scale, 0, 64);
        run(&designs[i], 32, 200 * scale, 0, 64);
        run(&designs[i], 1, 500 * scale, 1, 64);
        run(&designs[i], 32, 50 * scale, 1, 64);
        run(&designs[i], 8, 50 * scale, 0, 60000);
    }
    return 0;
}
