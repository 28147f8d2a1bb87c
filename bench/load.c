/* load.c — pipehost-bench: the load driver; the same raw Win32 client code drives every server of the matrix. */
#include <windows.h>

#include <psapi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One run of this program is one round of the matrix: it starts every server given with --server (each
 * its own process, its own pipe), waits for their pipes, then runs the cells one after the other, each
 * against every server in turn (so the servers of one cell meet the same machine load), and prints one
 * "CELL key=value ..." line per cell and server for scripts/bench.sh to aggregate. With --fixed N it starts
 * nothing: one client does N round trips on an existing pipe (the wineserver-trace runs).
 *
 * The client is deliberately the cheapest correct one: synchronous CreateFileW/WriteFile/ReadFile in
 * message mode, a thread per simulated client, WaitNamedPipeW while every instance is busy. Every answer is
 * compared byte for byte with what was sent (pipehost answers "ECHO p" with "OK p", the reference servers
 * echo p itself); a difference counts as a failure of that cell. Every wait is bounded: a cell that overruns
 * its bound cancels the blocked calls, reports "timeout" and ends that server, whose remaining cells are
 * reported as skipped. */

#define PAYLOAD_MAX 65536u
#define PATTERN_BYTES (2u * PAYLOAD_MAX)
#define FRAME_MAX 16u                    /* room for the verb prefix */
#define RECV_CAP (PAYLOAD_MAX + 4096u)   /* an answer longer than the payload plus a prefix is a failure */
#define STALL_MS 300u                    /* keep-alive cells start once no client has connected for this long */

enum cell_kind { CELL_KEEPALIVE, CELL_CHURN, CELL_BURST, CELL_IDLE, CELL_STOP };

typedef struct cell_def {
    const char *id;
    enum cell_kind kind;
    unsigned clients, quick_clients;
    size_t size;
} cell_def;

static const cell_def g_cells[] = {
    {"ka1", CELL_KEEPALIVE, 1, 1, 64},
    {"ka1big", CELL_KEEPALIVE, 1, 1, PAYLOAD_MAX},
    {"ka8", CELL_KEEPALIVE, 8, 4, 64},
    {"ka32", CELL_KEEPALIVE, 32, 6, 64},
    {"ka64", CELL_KEEPALIVE, 64, 8, 64},
    {"ka200", CELL_KEEPALIVE, 200, 10, 64},
    {"ka8big", CELL_KEEPALIVE, 8, 3, PAYLOAD_MAX},
    {"churn8", CELL_CHURN, 8, 3, 64},
    {"churn32", CELL_CHURN, 32, 6, 64},
    {"burst256", CELL_BURST, 256, 16, 64},
    {"idle2000", CELL_IDLE, 2000, 40, 0},
    {"stop64", CELL_STOP, 64, 8, 64},
};

/* ---- what is measured, and how --------------------------------------------------------------------------- */
/* One server under test. */
typedef struct bench {
    wchar_t pipe[160];
    char kind[16], name[96];
    const char *req_prefix, *resp_prefix; /* "ECHO " / "OK " for pipehost, "" for the echo servers */
    size_t req_prefix_len, resp_prefix_len;
    HANDLE server;      /* the server process, when this program started it */
    HANDLE stop_event;  /* set to stop it */
    unsigned duration_ms;
    int quick;
    volatile LONG aborted; /* a cell overran its bound: this server's remaining cells are skipped */
    int not_ok;            /* some cell was not "ok" (--strict turns that into exit code 1) */
    long long wrong;       /* answers that differed from what was sent, over all cells */
} bench;

static unsigned char g_pattern[PATTERN_BYTES];

/* The watchdog's view of the cell in progress: the idle and stop cells do round trips on the main
 * thread, where a server that accepts and never answers would block for ever. */
static struct {
    SRWLOCK lock;
    bench *b;
    const cell_def *d;
    unsigned clients;
    ULONGLONG deadline; /* 0: no cell running */
    bench *all;
    unsigned nall;
} g_watch = {SRWLOCK_INIT, NULL, NULL, 0, 0, NULL, 0};
static double g_qpc_per_us;

static double now_us(void)
{
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / g_qpc_per_us;
}

/* A run of one cell: shared by its client threads. */
typedef struct run {
    bench *b;
    const cell_def *def;
    unsigned clients;
    size_t size;
    HANDLE start;             /* manual-reset: the measured window begins */
    volatile LONG stop;       /* the window is over */
    volatile LONG connected, gave_up; /* the burst counts its clients at the start line in connected */
    ULONGLONG connect_deadline;
    double t0_us;             /* the burst's start */
} run;

typedef struct worker {
    run *r;
    HANDLE thread;
    unsigned idx;
    unsigned char *send, *recv;
    uint32_t *lat_us;         /* samples for the percentiles */
    size_t nlat, cap;
    uint32_t seq;
    long long ok, fail, mismatch, busy;
    int saw_busy;
    double wait_us;           /* the burst: start to connected */
    DWORD last_err;
} worker;

/* Opens the pipe in message mode, retrying while every instance is busy (WaitNamedPipeW) or while the
 * pipe does not exist between two instances, until the deadline or *stop. Counts busy answers. */
static HANDLE pipe_connect(const wchar_t *name, ULONGLONG deadline, volatile LONG *stop, long long *busy,
                           DWORD *err_out)
{
    for (;;) {
        HANDLE h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        DWORD err, mode = PIPE_READMODE_MESSAGE;
        ULONGLONG now;

        if (h != INVALID_HANDLE_VALUE) {
            if (SetNamedPipeHandleState(h, &mode, NULL, NULL))
                return h;
            *err_out = GetLastError();
            CloseHandle(h);
            return INVALID_HANDLE_VALUE;
        }
        err = GetLastError();
        now = GetTickCount64();
        if (err == ERROR_PIPE_BUSY && busy != NULL)
            (*busy)++;
        if (now >= deadline || (stop != NULL && *stop)) {
            *err_out = err;
            return INVALID_HANDLE_VALUE;
        }
        if (err == ERROR_PIPE_BUSY) {
            ULONGLONG left = deadline - now;
            WaitNamedPipeW(name, (DWORD)(left < 250 ? left : 250));
        } else if (err == ERROR_FILE_NOT_FOUND) {
            Sleep(1);
        } else {
            *err_out = err;
            return INVALID_HANDLE_VALUE;
        }
    }
}

/* One request and its answer, checked byte for byte. 0 = correct, 1 = wrong bytes, -1 = I/O failure. */
static int round_trip(worker *w, HANDLE h, size_t size)
{
    const bench *b = w->r->b;
    size_t off = ((size_t)w->idx * 7919u + (size_t)w->seq * 104729u) % PAYLOAD_MAX, i;
    unsigned char *payload = w->send + b->req_prefix_len;
    DWORD n = 0, qlen = (DWORD)(b->req_prefix_len + size), total = 0;

    /* A different slice of random bytes each time, stamped with the request's number. */
    memcpy(payload, g_pattern + off, size);
    for (i = 0; i < 4 && i < size; i++)
        payload[i] = (unsigned char)(w->seq >> (8 * i));
    w->seq++;
    if (!WriteFile(h, w->send, qlen, &n, NULL) || n != qlen) {
        w->last_err = GetLastError();
        return -1;
    }
    for (;;) {
        if (ReadFile(h, w->recv + total, RECV_CAP - total, &n, NULL)) {
            total += n;
            break;
        }
        w->last_err = GetLastError();
        if (w->last_err != ERROR_MORE_DATA)
            return -1;
        total += n;
        if (total >= RECV_CAP)
            return -1; /* far longer than anything we sent: the connection is no use any more */
    }
    if (total != b->resp_prefix_len + size || memcmp(w->recv, b->resp_prefix, b->resp_prefix_len) != 0 ||
        memcmp(w->recv + b->resp_prefix_len, payload, size) != 0)
        return 1;
    return 0;
}

static void record(worker *w, double us)
{
    if (w->nlat < w->cap)
        w->lat_us[w->nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

/* ---- the client threads --------------------------------------------------------------------------------- */
static DWORD WINAPI keepalive_main(LPVOID arg)
{
    worker *w = arg;
    run *r = w->r;
    HANDLE h = pipe_connect(r->b->pipe, r->connect_deadline, &r->stop, &w->busy, &w->last_err);

    if (h == INVALID_HANDLE_VALUE) {
        InterlockedIncrement(&r->gave_up);
        return 0;
    }
    InterlockedIncrement(&r->connected);
    WaitForSingleObject(r->start, INFINITE); /* the main thread always sets it */
    while (!r->stop) {
        double a = now_us(), z;
        int rc = round_trip(w, h, r->size);

        z = now_us();
        if (r->stop)
            break; /* finished after the window: not counted */
        if (rc == 0) {
            w->ok++;
            record(w, z - a);
            continue;
        }
        w->fail++;
        if (rc > 0)
            w->mismatch++;
        CloseHandle(h);
        h = pipe_connect(r->b->pipe, GetTickCount64() + 2000, &r->stop, &w->busy, &w->last_err);
        if (h == INVALID_HANDLE_VALUE)
            return 0;
    }
    CloseHandle(h);
    return 0;
}

static DWORD WINAPI churn_main(LPVOID arg)
{
    worker *w = arg;
    run *r = w->r;

    WaitForSingleObject(r->start, INFINITE);
    while (!r->stop) {
        double a = now_us(), z;
        HANDLE h = pipe_connect(r->b->pipe, GetTickCount64() + 5000, &r->stop, &w->busy, &w->last_err);
        int rc;

        if (h == INVALID_HANDLE_VALUE) {
            if (!r->stop)
                w->fail++;
            continue;
        }
        rc = round_trip(w, h, r->size);
        CloseHandle(h);
        z = now_us();
        if (r->stop)
            break;
        if (rc == 0) {
            w->ok++;
            record(w, z - a);
        } else {
            w->fail++;
            w->mismatch += rc > 0;
        }
    }
    return 0;
}

static DWORD WINAPI burst_main(LPVOID arg)
{
    worker *w = arg;
    run *r = w->r;
    HANDLE h;
    long long busy = 0;
    int rc;

    InterlockedIncrement(&r->connected);
    WaitForSingleObject(r->start, INFINITE);
    h = pipe_connect(r->b->pipe, r->connect_deadline, NULL, &busy, &w->last_err);
    w->wait_us = now_us() - r->t0_us;
    w->busy = busy;
    w->saw_busy = busy > 0;
    if (h == INVALID_HANDLE_VALUE) {
        w->fail++;
        return 0;
    }
    rc = round_trip(w, h, r->size);
    CloseHandle(h);
    if (rc == 0) {
        w->ok++;
    } else {
        w->fail++;
        w->mismatch += rc > 0;
    }
    return 0;
}

/* ---- cell bookkeeping ----------------------------------------------------------------------------------- */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Waits for every thread until deadline; then cancels what is still blocked and gives it 2 s more.
 * Returns the number of threads that had to be cancelled: a server that kept a client waiting past the
 * cell's bound. Their workers are leaked, not freed, should a thread still be running. */
static unsigned join_workers(worker *ws, unsigned n, ULONGLONG deadline)
{
    unsigned i, late = 0;

    for (i = 0; i < n; i++) {
        ULONGLONG now = GetTickCount64();
        if (ws[i].thread == NULL)
            continue;
        if (WaitForSingleObject(ws[i].thread, now >= deadline ? 0 : (DWORD)(deadline - now)) != WAIT_OBJECT_0) {
            CancelSynchronousIo(ws[i].thread);
            late++;
        }
    }
    deadline = GetTickCount64() + 2000;
    for (i = 0; i < n && late > 0; i++) {
        ULONGLONG now = GetTickCount64();
        if (ws[i].thread != NULL)
            WaitForSingleObject(ws[i].thread, now >= deadline ? 0 : (DWORD)(deadline - now));
    }
    return late;
}

static worker *make_workers(run *r, size_t lat_cap)
{
    worker *ws = calloc(r->clients, sizeof(*ws));
    unsigned i;

    if (ws == NULL)
        return NULL;
    for (i = 0; i < r->clients; i++) {
        ws[i].r = r;
        ws[i].idx = i;
        ws[i].send = malloc(FRAME_MAX + PAYLOAD_MAX);
        ws[i].recv = malloc(RECV_CAP);
        ws[i].cap = lat_cap;
        ws[i].lat_us = lat_cap ? malloc(lat_cap * sizeof(uint32_t)) : NULL;
        if (ws[i].send == NULL || ws[i].recv == NULL || (lat_cap && ws[i].lat_us == NULL))
            return NULL; /* out of memory in a benchmark: the process exits right after */
        memcpy(ws[i].send, r->b->req_prefix, r->b->req_prefix_len);
    }
    return ws;
}

static void free_workers(worker *ws, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++) {
        if (ws[i].thread != NULL)
            CloseHandle(ws[i].thread);
        free(ws[i].send);
        free(ws[i].recv);
        free(ws[i].lat_us);
    }
    free(ws);
}

static int start_workers(worker *ws, unsigned n, LPTHREAD_START_ROUTINE fn)
{
    unsigned i;
    for (i = 0; i < n; i++) {
        ws[i].thread = CreateThread(NULL, 128 * 1024, fn, &ws[i], STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (ws[i].thread == NULL)
            return -1;
    }
    return 0;
}

typedef struct totals {
    long long ok, fail, mismatch, busy, saw_busy;
    double p50_ms, p99_ms, max_ms;
} totals;

static void sum_workers(const worker *ws, unsigned n, totals *t)
{
    size_t total = 0, k = 0, j;
    uint32_t *all;
    unsigned i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < n; i++) {
        t->ok += ws[i].ok;
        t->fail += ws[i].fail;
        t->mismatch += ws[i].mismatch;
        t->busy += ws[i].busy;
        t->saw_busy += ws[i].saw_busy;
        total += ws[i].nlat;
    }
    if (total == 0 || (all = malloc(total * sizeof(*all))) == NULL)
        return;
    for (i = 0; i < n; i++)
        for (j = 0; j < ws[i].nlat; j++)
            all[k++] = ws[i].lat_us[j];
    qsort(all, total, sizeof(*all), cmp_u32);
    t->p50_ms = all[total / 2] / 1000.0;
    t->p99_ms = all[(total * 99) / 100] / 1000.0;
    t->max_ms = all[total - 1] / 1000.0;
    free(all);
}

static void print_head(bench *b, const cell_def *d, unsigned clients, size_t size, const char *status)
{
    if (strcmp(status, "ok") != 0)
        b->not_ok = 1;
    printf("CELL id=%s server=%s status=%s clients=%u size=%zu", d->id, b->kind, status, clients, size);
}

static void abort_cell(bench *b, const cell_def *d, unsigned clients, size_t size, unsigned late)
{
    print_head(b, d, clients, size, "timeout");
    printf(" note=%u-clients-blocked-past-the-bound\n", late);
    fflush(stdout);
    InterlockedExchange(&b->aborted, 1);
    /* The blocked clients wait on this server: ending it lets them go before the next server's cells. */
    if (b->server != NULL)
        TerminateProcess(b->server, 98);
}

/* Keep-alive and churn: connect (keep-alive only), then a measured window of duration_ms. */
static void cell_window(bench *b, const cell_def *d, unsigned clients)
{
    run r;
    worker *ws;
    totals t;
    unsigned late;
    LONG last = 0, connected;
    ULONGLONG changed;
    double t0, t1;
    int keepalive = d->kind == CELL_KEEPALIVE;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.def = d;
    r.clients = clients;
    r.size = d->size;
    r.start = CreateEventW(NULL, TRUE, FALSE, NULL);
    r.connect_deadline = GetTickCount64() + 5000;
    ws = make_workers(&r, 262144 / clients < 4096 ? 4096 : 262144 / clients);
    if (r.start == NULL || ws == NULL || start_workers(ws, clients, keepalive ? keepalive_main : churn_main) != 0) {
        fprintf(stderr, "pipehost-bench: out of resources setting up %s\n", d->id);
        ExitProcess(3);
    }
    /* Keep-alive clients connect first; the window starts when all have, or when the server stops taking
     * more (the single-instance server takes one), or at the connect deadline. */
    changed = GetTickCount64();
    while (keepalive && r.connected + r.gave_up < (LONG)clients && GetTickCount64() < r.connect_deadline) {
        Sleep(10);
        if (r.connected != last) {
            last = r.connected;
            changed = GetTickCount64();
        } else if (last > 0 && GetTickCount64() - changed >= STALL_MS) {
            break;
        }
    }
    connected = keepalive ? r.connected : (LONG)clients; /* later ones connect after the window */
    t0 = now_us();
    SetEvent(r.start);
    Sleep(b->duration_ms);
    InterlockedExchange(&r.stop, 1);
    t1 = now_us();
    late = join_workers(ws, clients, GetTickCount64() + 10000 + (d->size > 64 ? 5000 : 0));
    if (late > 0) {
        abort_cell(b, d, clients, d->size, late);
        return; /* the workers are leaked: blocked threads still point at them */
    }
    sum_workers(ws, clients, &t);
    b->wrong += t.mismatch;
    print_head(b, d, clients, d->size, t.fail == 0 && connected == (LONG)clients && t.ok > 0
                                           ? "ok"
                                           : "partial");
    printf(" connected=%ld rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f ok=%lld fail=%lld mismatch=%lld "
           "busy=%lld window_ms=%.0f\n",
           connected, (double)t.ok * 1e6 / (t1 - t0), t.p50_ms, t.p99_ms, t.max_ms,
           t.ok, t.fail, t.mismatch, t.busy, (t1 - t0) / 1000.0);
    fflush(stdout);
    free_workers(ws, clients);
    CloseHandle(r.start);
}

/* A simultaneous burst: every client connects at the same instant, sends one request, leaves. */
static void cell_burst(bench *b, const cell_def *d, unsigned clients)
{
    run r;
    worker *ws;
    totals t;
    double *waits, tend;
    unsigned i, late;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.def = d;
    r.clients = clients;
    r.size = d->size;
    r.start = CreateEventW(NULL, TRUE, FALSE, NULL);
    ws = make_workers(&r, 0);
    waits = calloc(clients, sizeof(*waits));
    if (r.start == NULL || ws == NULL || waits == NULL || start_workers(ws, clients, burst_main) != 0) {
        fprintf(stderr, "pipehost-bench: out of resources setting up %s\n", d->id);
        ExitProcess(3);
    }
    /* Every thread at the start line (or 10 s gone by) before the start. */
    for (i = 0; i < 1000 && r.connected < (LONG)clients; i++)
        Sleep(10);
    r.connect_deadline = GetTickCount64() + 10000;
    r.t0_us = now_us();
    SetEvent(r.start);
    late = join_workers(ws, clients, GetTickCount64() + 20000);
    tend = now_us();
    if (late > 0) {
        abort_cell(b, d, clients, d->size, late);
        return;
    }
    sum_workers(ws, clients, &t);
    b->wrong += t.mismatch;
    for (i = 0; i < clients; i++)
        waits[i] = ws[i].wait_us / 1000.0;
    qsort(waits, clients, sizeof(*waits), cmp_double);
    print_head(b, d, clients, d->size, t.fail == 0 ? "ok" : "partial");
    printf(" ok=%lld fail=%lld mismatch=%lld busy=%lld busy_clients=%lld wait_p50_ms=%.1f wait_max_ms=%.1f "
           "total_ms=%.0f\n",
           t.ok, t.fail, t.mismatch, t.busy, t.saw_busy, waits[clients / 2], waits[clients - 1],
           (tend - r.t0_us) / 1000.0);
    fflush(stdout);
    free(waits);
    free_workers(ws, clients);
    CloseHandle(r.start);
}

static int server_memory(const bench *b, PROCESS_MEMORY_COUNTERS_EX *m)
{
    memset(m, 0, sizeof(*m));
    m->cb = sizeof(*m);
    return b->server != NULL && GetProcessMemoryInfo(b->server, (PROCESS_MEMORY_COUNTERS *)m, sizeof(*m));
}

/* Opens up to n connections one after the other (the first failure ends it: the server holds no more). */
static unsigned open_many(bench *b, HANDLE *hs, unsigned n, ULONGLONG overall, DWORD per_ms, long long *busy,
                          DWORD *err)
{
    unsigned k;
    for (k = 0; k < n; k++) {
        ULONGLONG now = GetTickCount64(), dl = now + per_ms;
        if (now >= overall)
            break;
        hs[k] = pipe_connect(b->pipe, dl < overall ? dl : overall, NULL, busy, err);
        if (hs[k] == INVALID_HANDLE_VALUE)
            break;
    }
    return k;
}

/* One newcomer's connect and round trip, in ms; negative when it failed within 2 s. */
static double newcomer_ms(bench *b, run *r, DWORD *err)
{
    worker *w = make_workers(r, 0);
    double a = now_us(), ms = -1;
    HANDLE h;

    if (w == NULL)
        return -1;
    h = pipe_connect(b->pipe, GetTickCount64() + 2000, NULL, NULL, err);
    if (h != INVALID_HANDLE_VALUE) {
        if (round_trip(w, h, 64) == 0)
            ms = (now_us() - a) / 1000.0;
        else
            *err = w->last_err;
        CloseHandle(h);
    }
    free_workers(w, 1);
    return ms;
}

/* Idle connections: server memory before and after opening them, and how fast a newcomer is served
 * while they are held. */
static void cell_idle(bench *b, const cell_def *d, unsigned n)
{
    HANDLE *hs = calloc(n, sizeof(*hs));
    PROCESS_MEMORY_COUNTERS_EX m0, m1;
    long long busy = 0;
    DWORD err = 0, nerr = 0;
    unsigned k, i;
    double t0, ms;
    int mem;
    run r;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.clients = 1;
    if (hs == NULL)
        ExitProcess(3);
    Sleep(200);
    mem = server_memory(b, &m0);
    t0 = now_us();
    k = open_many(b, hs, n, GetTickCount64() + (b->quick ? 10000 : 40000), 2000, &busy, &err);
    t0 = (now_us() - t0) / 1000.0;
    Sleep(500); /* let the server finish accepting the last ones */
    mem = mem && server_memory(b, &m1);
    ms = newcomer_ms(b, &r, &nerr);
    print_head(b, d, n, 0, k == n && ms >= 0 ? "ok" : "partial");
    printf(" connected=%u connect_ms=%.0f busy=%lld", k, t0, busy);
    if (k < n)
        printf(" stop_error=%lu", (unsigned long)err);
    if (mem && k > 0) {
        double ws0 = (double)m0.WorkingSetSize / 1024, ws1 = (double)m1.WorkingSetSize / 1024;
        double pf0 = (double)m0.PagefileUsage / 1024, pf1 = (double)m1.PagefileUsage / 1024;
        printf(" ws_before_kib=%.0f ws_after_kib=%.0f ws_kib_per_conn=%.2f pf_before_kib=%.0f pf_after_kib=%.0f "
               "pf_kib_per_conn=%.2f private_kib=%.0f",
               ws0, ws1, (ws1 - ws0) / k, pf0, pf1, (pf1 - pf0) / k, (double)m1.PrivateUsage / 1024);
    }
    if (ms >= 0)
        printf(" newcomer_ms=%.2f\n", ms);
    else
        printf(" newcomer_ms=-1 newcomer_error=%lu\n", (unsigned long)nerr);
    fflush(stdout);
    for (i = 0; i < k; i++)
        CloseHandle(hs[i]);
    free(hs);
}

/* Stop with n clients connected (each has had one answer): from setting the stop event to the process's
 * exit. The reference servers simply exit; pipehost drains. */
static void cell_stop(bench *b, const cell_def *d, unsigned n)
{
    HANDLE *hs = calloc(n, sizeof(*hs));
    long long busy = 0;
    DWORD err = 0, wr;
    unsigned k, i, served = 0;
    double t0, ms;
    run r;
    worker *w;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.clients = 1;
    w = make_workers(&r, 0);
    if (hs == NULL || w == NULL)
        ExitProcess(3);
    if (b->server == NULL || b->stop_event == NULL) {
        print_head(b, d, n, d->size, "skipped");
        printf(" note=no-server-process\n");
        return;
    }
    /* Connected and each answered once, so the server has accepted every one of them. The single-instance
     * server takes one: the others give up after 1 s. */
    k = open_many(b, hs, n, GetTickCount64() + 15000, 1000, &busy, &err);
    for (i = 0; i < k; i++)
        served += round_trip(w, hs[i], d->size) == 0;
    t0 = now_us();
    SetEvent(b->stop_event);
    wr = WaitForSingleObject(b->server, 20000);
    ms = (now_us() - t0) / 1000.0;
    print_head(b, d, n, d->size, wr == WAIT_OBJECT_0 && k == n && served == k ? "ok" : "partial");
    printf(" connected=%u answered=%u", k, served);
    if (wr == WAIT_OBJECT_0) {
        DWORD code = 0;
        GetExitCodeProcess(b->server, &code);
        printf(" stop_ms=%.1f exit_code=%lu\n", ms, (unsigned long)code);
    } else {
        printf(" stop_ms=-1 note=still-running-after-20s\n");
    }
    fflush(stdout);
    for (i = 0; i < k; i++)
        CloseHandle(hs[i]);
    free(hs);
    free_workers(w, 1);
}

/* ---- the server process --------------------------------------------------------------------------------- */
static HANDLE open_log(const char *path)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    return CreateFileA(path ? path : "NUL", FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                       path ? OPEN_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
}

/* Starts the server (its output to log_path, or nowhere) and waits until its pipe takes clients. */
static int start_server(bench *b, const char *exe, const char *name, const char *event, const char *log_path)
{
    char cmd[1024], winexe[512];
    wchar_t wcmd[1024];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE log = open_log(log_path);
    ULONGLONG deadline;
    int n;

    if (exe[0] == '/') {
        /* A host path (as ctest passes it under Wine): Wine maps the host's root to drive Z:. */
        size_t i;
        if (snprintf(winexe, sizeof(winexe), "Z:%s", exe) >= (int)sizeof(winexe))
            return -1;
        for (i = 0; winexe[i] != '\0'; i++)
            if (winexe[i] == '/')
                winexe[i] = '\\';
        exe = winexe;
    }
    if (strncmp(b->kind, "pipehost", 8) == 0) {
        /* A labelled pipehost (KIND:LABEL) takes extra options from PH_BENCH_ARGS_LABEL, e.g. a configuration
         * to compare with the defaults. */
        const char *colon = strchr(b->kind, ':'), *extra = NULL;
        char var[40];

        if (colon != NULL) {
            snprintf(var, sizeof(var), "PH_BENCH_ARGS_%s", colon + 1);
            extra = getenv(var);
        }
        n = snprintf(cmd, sizeof(cmd), "\"%s\" run --pipe %s --stop-event %s --max-message 131072%s%s", exe, name,
                     event, extra ? " " : "", extra ? extra : "");
    }
    else
        n = snprintf(cmd, sizeof(cmd), "\"%s\" \\\\.\\pipe\\%s %s", exe, name, event);
    if (n < 0 || (size_t)n >= sizeof(cmd) || !MultiByteToWideChar(CP_UTF8, 0, cmd, -1, wcmd, 1024) ||
        log == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "pipehost-bench: cannot build the server command line or open its log\n");
        return -1;
    }
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = log;
    si.hStdOutput = log;
    si.hStdError = log;
    if (!CreateProcessW(NULL, wcmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "pipehost-bench: cannot start %s: error %lu\n", cmd, GetLastError());
        CloseHandle(log);
        return -1;
    }
    CloseHandle(log);
    CloseHandle(pi.hThread);
    b->server = pi.hProcess;
    deadline = GetTickCount64() + 20000;
    while (GetTickCount64() < deadline) {
        if (WaitNamedPipeW(b->pipe, 100))
            return 0;
        if (WaitForSingleObject(b->server, 0) == WAIT_OBJECT_0)
            break;
        Sleep(20);
    }
    fprintf(stderr, "pipehost-bench: %s did not serve \\\\.\\pipe\\%s within 20 s\n", cmd, name);
    return -1;
}

static void stop_server(bench *b)
{
    if (b->server == NULL)
        return;
    if (WaitForSingleObject(b->server, 0) != WAIT_OBJECT_0) {
        TerminateProcess(b->server, 99);
        WaitForSingleObject(b->server, 5000);
    }
    CloseHandle(b->server);
    b->server = NULL;
}

/* --fixed N --fixed-clients K: K clients, each connected first, then together N/K round trips each. */
typedef struct fixed_client {
    worker *w;
    HANDLE h, go;
    unsigned n, ok;
    size_t size;
} fixed_client;

static DWORD WINAPI fixed_main(LPVOID arg)
{
    fixed_client *f = arg;
    unsigned i;

    WaitForSingleObject(f->go, INFINITE);
    for (i = 0; i < f->n; i++)
        f->ok += round_trip(f->w, f->h, f->size) == 0;
    return 0;
}

/* --fixed N: N round trips on an existing pipe (by one client, or spread over K), for the wineserver-trace
 * runs. */
static int fixed_run(bench *b, unsigned n, unsigned k, size_t size, const char *stop_event)
{
    run r;
    worker *w;
    fixed_client *f;
    HANDLE *th, go;
    DWORD err = 0, server_pid = 0;
    unsigned i, ok = 0;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.clients = k;
    w = make_workers(&r, 0);
    f = calloc(k, sizeof(*f));
    th = calloc(k, sizeof(*th));
    go = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (w == NULL || f == NULL || th == NULL || go == NULL)
        return 3;
    for (i = 0; i < k; i++) {
        f[i].w = &w[i];
        f[i].go = go;
        f[i].size = size;
        f[i].n = n / k + (i < n % k);
        f[i].h = pipe_connect(b->pipe, GetTickCount64() + 10000, NULL, NULL, &err);
        if (f[i].h == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "pipehost-bench: cannot connect: error %lu\n", (unsigned long)err);
            return 2;
        }
        if (i == 0 && !GetNamedPipeServerProcessId(f[i].h, &server_pid))
            server_pid = 0;
        th[i] = CreateThread(NULL, 64 * 1024, fixed_main, &f[i], STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (th[i] == NULL)
            return 3;
    }
    SetEvent(go);
    for (i = 0; i < k; i++) {
        WaitForSingleObject(th[i], INFINITE);
        CloseHandle(th[i]);
        CloseHandle(f[i].h);
        ok += f[i].ok;
    }
    CloseHandle(go);
    free(th);
    free(f);
    printf("FIXED server=%s n=%u size=%zu ok=%u client_pid=%04lx server_pid=%04lx\n", b->kind, n, size, ok,
           (unsigned long)GetCurrentProcessId(), (unsigned long)server_pid);
    free_workers(w, k);
    if (stop_event != NULL) {
        HANDLE ev = OpenEventA(EVENT_MODIFY_STATE, FALSE, stop_event);
        if (ev == NULL || !SetEvent(ev)) {
            fprintf(stderr, "pipehost-bench: cannot set %s: error %lu\n", stop_event, GetLastError());
            ok = 0;
        }
        if (ev != NULL)
            CloseHandle(ev);
    }
    return ok == n ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: pipehost-bench --server KIND[:LABEL]=EXE [--server ...] [--cells a,b,...] [--rotate N]\n"
            "                      [--duration MS] [--quick] [--strict] [--log-dir DIR]\n"
            "       pipehost-bench --kind KIND --name PIPE --fixed N [--fixed-clients K] [--size BYTES]\n"
            "                      [--stop-event NAME]\n"
            "KIND: raw, single, tpc, iocp (the reference servers of bench/) or pipehost (pipehost.exe)\n"
            "cells: ka1 ka1big ka8 ka32 ka64 ka200 ka8big churn8 churn32 burst256 idle2000 stop64 (default: all)\n"
            "--fixed: N round trips on a running server (by one client, or K together), then sets NAME\n");
}

/* The framing of a kind's requests and answers, and its pipe and stop-event names. */
static int setup_kind(bench *b, const char *kind, const char *name)
{
    char full[160];

    if (strcmp(kind, "raw") != 0 && strcmp(kind, "single") != 0 && strcmp(kind, "tpc") != 0 &&
        strcmp(kind, "iocp") != 0 && strcmp(kind, "pipehost") != 0)
        return -1;
    snprintf(b->kind, sizeof(b->kind), "%s", kind);
    b->req_prefix = strcmp(kind, "pipehost") == 0 ? "ECHO " : "";
    b->resp_prefix = strcmp(kind, "pipehost") == 0 ? "OK " : "";
    b->req_prefix_len = strlen(b->req_prefix);
    b->resp_prefix_len = strlen(b->resp_prefix);
    snprintf(b->name, sizeof(b->name), "%s", name);
    snprintf(full, sizeof(full), "\\\\.\\pipe\\%s", name);
    return MultiByteToWideChar(CP_UTF8, 0, full, -1, b->pipe, (int)(sizeof(b->pipe) / sizeof(b->pipe[0]))) ? 0 : -1;
}

/* The raw floor serves one client at a time and has no logic to measure beyond that. */
static int runs_cell(const bench *b, const cell_def *d)
{
    return strcmp(b->kind, "raw") != 0 || (d->kind == CELL_KEEPALIVE && d->clients == 1);
}

/* Ends the run when a cell passes its hard bound (every cell normally ends well within it): reports the
 * cell as timed out, ends every server and exits, so that nothing outlives the bound. */
static DWORD WINAPI watchdog_main(LPVOID arg)
{
    unsigned i;

    (void)arg;
    for (;;) {
        Sleep(200);
        AcquireSRWLockExclusive(&g_watch.lock);
        if (g_watch.deadline != 0 && GetTickCount64() > g_watch.deadline) {
            printf("CELL id=%s server=%s status=timeout clients=%u size=%zu note=cell-passed-its-hard-bound\n",
                   g_watch.d->id, g_watch.b->kind, g_watch.clients, g_watch.d->size);
            fflush(stdout);
            for (i = 0; i < g_watch.nall; i++)
                if (g_watch.all[i].server != NULL)
                    TerminateProcess(g_watch.all[i].server, 97);
            ExitProcess(4);
        }
        ReleaseSRWLockExclusive(&g_watch.lock);
    }
}

static void watch(bench *b, const cell_def *d, unsigned clients, unsigned bound_ms)
{
    AcquireSRWLockExclusive(&g_watch.lock);
    g_watch.b = b;
    g_watch.d = d;
    g_watch.clients = clients;
    g_watch.deadline = bound_ms ? GetTickCount64() + bound_ms : 0;
    ReleaseSRWLockExclusive(&g_watch.lock);
}

static void run_cell(bench *b, const cell_def *d)
{
    unsigned n = b->quick ? d->quick_clients : d->clients;

    if (b->aborted || WaitForSingleObject(b->server, 0) == WAIT_OBJECT_0) {
        print_head(b, d, n, d->size, "skipped");
        printf(" note=%s\n", b->aborted ? "an-earlier-cell-timed-out" : "server-not-running");
        return;
    }
    /* Hard bounds, well above what each cell's own bounds add up to. */
    watch(b, d, n, d->kind == CELL_KEEPALIVE || d->kind == CELL_CHURN ? b->duration_ms + 40000 : 90000);
    if (d->kind == CELL_KEEPALIVE || d->kind == CELL_CHURN)
        cell_window(b, d, n);
    else if (d->kind == CELL_BURST)
        cell_burst(b, d, n);
    else if (d->kind == CELL_IDLE)
        cell_idle(b, d, n);
    else
        cell_stop(b, d, n);
    watch(b, d, n, 0);
}

#define MAX_SERVERS 8

int main(int argc, char **argv)
{
    static bench servers[MAX_SERVERS];
    const char *exes[MAX_SERVERS], *cells = NULL, *log_dir = NULL, *name = NULL, *stop_after = NULL;
    const char *kind = NULL;
    const cell_def *todo[32];
    char list[512], *tok, *next;
    unsigned fixed = 0, fixed_clients = 1, duration = 1000, rotate = 0, nservers = 0, ntodo = 0, i, j;
    size_t size = 64;
    LARGE_INTEGER f;
    long long wrong = 0;
    int strict = 0, quick = 0, duration_set = 0, not_ok = 0, aborted = 0;

    QueryPerformanceFrequency(&f);
    g_qpc_per_us = (double)f.QuadPart / 1e6;
    for (i = 1; i < (unsigned)argc; i++) {
        const char *a = argv[i], *v = i + 1 < (unsigned)argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            quick = 1;
            continue;
        }
        if (strcmp(a, "--strict") == 0) {
            strict = 1;
            continue;
        }
        if (v == NULL) {
            usage();
            return 64;
        }
        i++;
        if (strcmp(a, "--server") == 0) {
            const char *eq = strchr(v, '=');
            char k[16], *colon;
            if (eq == NULL || nservers == MAX_SERVERS || (size_t)(eq - v) >= sizeof(k)) {
                usage();
                return 64;
            }
            memcpy(k, v, (size_t)(eq - v));
            k[eq - v] = '\0';
            /* KIND:LABEL=EXE runs a second server of a kind (an A/B comparison), reported as KIND:LABEL. */
            colon = strchr(k, ':');
            snprintf(list, sizeof(list), "phbench-%lu-%s", (unsigned long)GetCurrentProcessId(),
                     colon ? colon + 1 : k);
            if (colon != NULL)
                *colon = '\0';
            if (setup_kind(&servers[nservers], k, list) != 0) {
                usage();
                return 64;
            }
            if (colon != NULL) {
                *colon = ':';
                snprintf(servers[nservers].kind, sizeof(servers[nservers].kind), "%s", k);
            }
            exes[nservers++] = eq + 1;
        } else if (strcmp(a, "--kind") == 0) {
            kind = v;
        } else if (strcmp(a, "--cells") == 0) {
            cells = v;
        } else if (strcmp(a, "--rotate") == 0) {
            rotate = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--duration") == 0) {
            duration = (unsigned)strtoul(v, NULL, 10);
            duration_set = 1;
        } else if (strcmp(a, "--log-dir") == 0) {
            log_dir = v;
        } else if (strcmp(a, "--name") == 0) {
            name = v;
        } else if (strcmp(a, "--fixed") == 0) {
            fixed = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--fixed-clients") == 0) {
            fixed_clients = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--stop-event") == 0) {
            stop_after = v;
        } else if (strcmp(a, "--size") == 0) {
            size = strtoul(v, NULL, 10);
        } else {
            usage();
            return 64;
        }
    }
    if (quick && !duration_set)
        duration = 200;
    if (duration == 0 || duration > 60000 || size > PAYLOAD_MAX ||
        fixed_clients < 1 || fixed_clients > 1000 || (fixed > 0 && fixed < fixed_clients) ||
        (fixed > 0 ? (kind == NULL || name == NULL || nservers > 0) : (nservers == 0 || kind != NULL))) {
        usage();
        return 64;
    }
    srand(12345);
    for (i = 0; i < PATTERN_BYTES; i++)
        g_pattern[i] = (unsigned char)(rand() >> 7);
    if (fixed > 0) {
        if (setup_kind(&servers[0], kind, name) != 0) {
            usage();
            return 64;
        }
        return fixed_run(&servers[0], fixed, fixed_clients, size, stop_after);
    }

    snprintf(list, sizeof(list), "%s",
             cells ? cells : "ka1,ka1big,ka8,ka32,ka64,ka200,ka8big,churn8,churn32,burst256,idle2000,stop64");
    for (tok = list; tok != NULL && ntodo < sizeof(todo) / sizeof(todo[0]); tok = next) {
        const cell_def *d = NULL;
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        for (i = 0; i < sizeof(g_cells) / sizeof(g_cells[0]); i++)
            if (strcmp(g_cells[i].id, tok) == 0)
                d = &g_cells[i];
        if (d == NULL) {
            fprintf(stderr, "pipehost-bench: unknown cell %s\n", tok);
            usage();
            return 64;
        }
        todo[ntodo++] = d;
    }

    for (i = 0; i < nservers; i++) {
        bench *b = &servers[i];
        char event[128], log_path[600];
        b->duration_ms = duration;
        b->quick = quick;
        snprintf(event, sizeof(event), "Local\\%s-stop", b->name);
        if (log_dir != NULL)
            snprintf(log_path, sizeof(log_path), "%s\\server-%s.log", log_dir, b->kind);
        b->stop_event = CreateEventA(NULL, TRUE, FALSE, event);
        if (b->stop_event == NULL || start_server(b, exes[i], b->name, event, log_dir ? log_path : NULL) != 0) {
            for (j = 0; j <= i; j++)
                stop_server(&servers[j]);
            return 2;
        }
    }
    g_watch.all = servers;
    g_watch.nall = nservers;
    {
        HANDLE t = CreateThread(NULL, 64 * 1024, watchdog_main, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (t == NULL) {
            fprintf(stderr, "pipehost-bench: cannot start the watchdog: error %lu\n", GetLastError());
            for (i = 0; i < nservers; i++)
                stop_server(&servers[i]);
            return 3;
        }
        CloseHandle(t);
    }
    /* Cell by cell, every server in turn, so the servers meet the same machine load; the order rotates from
     * cell to cell and, with --rotate, from run to run. The stop cell ends each server: it comes last. */
    for (i = 0; i < ntodo; i++) {
        for (j = 0; j < nservers; j++) {
            bench *b = &servers[(j + i + rotate) % nservers];
            if (runs_cell(b, todo[i]))
                run_cell(b, todo[i]);
        }
    }
    for (i = 0; i < nservers; i++) {
        stop_server(&servers[i]);
        wrong += servers[i].wrong;
        not_ok |= servers[i].not_ok;
        aborted |= servers[i].aborted != 0;
    }
    fflush(stdout);
    if (aborted)
        ExitProcess(4); /* blocked client threads may still hold workers: do not return through the CRT */
    if (wrong > 0) {
        fprintf(stderr, "pipehost-bench: %lld answer(s) differed from the request\n", wrong);
        return 5;
    }
    return strict && not_ok;
}
