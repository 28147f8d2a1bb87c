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
 * Two cells run pipehost in a process of their own, started for the cell and stopped after it (the other
 * servers keep theirs): the 2,000 idle connections need the unlimited pool (`--max-instances 255`; a fixed
 * pool cannot hold them), and the slow-handler cell needs a verb that takes 1 s in the handler, which only
 * pipehost-bench-host.exe has (pipehost.exe's host plus a bench-only SLEEP verb, bench/server_host.c; the
 * reference servers sleep on the same request, see refstop.h). So an A/B run of two pipehost.exe builds
 * (--server pipehost:LABEL=EXE) compares them in every cell but the slow-handler one, where both run the
 * bench host, with their own options.
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

#define SLOW_MS 1000u                    /* the slow-handler cell: what one slow request takes in the handler */
#define SLOW_QUICK_CLIENTS 8u            /* ... and its quick clients (4 with --quick) */
#define SLOW_LEAD_MS 100u                /* the slow requests' head start before the quick clients' window */

enum cell_kind { CELL_KEEPALIVE, CELL_CHURN, CELL_BURST, CELL_IDLE, CELL_SLOW, CELL_STOP };

typedef struct cell_def {
    const char *id;
    enum cell_kind kind;
    unsigned clients, quick_clients; /* the slow-handler cell: its slow clients */
    size_t size;
    /* pipehost runs the cell in a process of its own, with these options added to its command line... */
    const char *ph_own_args;
    /* ...or started from pipehost-bench-host.exe (--bench-host), which has the SLEEP verb. */
    int ph_bench_host;
} cell_def;

static const cell_def g_cells[] = {
    {"ka1", CELL_KEEPALIVE, 1, 1, 64, NULL, 0},
    {"ka1big", CELL_KEEPALIVE, 1, 1, PAYLOAD_MAX, NULL, 0},
    {"ka8", CELL_KEEPALIVE, 8, 4, 64, NULL, 0},
    {"ka32", CELL_KEEPALIVE, 32, 6, 64, NULL, 0},
    {"ka64", CELL_KEEPALIVE, 64, 8, 64, NULL, 0},
    {"ka200", CELL_KEEPALIVE, 200, 10, 64, NULL, 0},
    {"ka8big", CELL_KEEPALIVE, 8, 3, PAYLOAD_MAX, NULL, 0},
    {"churn8", CELL_CHURN, 8, 3, 64, NULL, 0},
    {"churn32", CELL_CHURN, 32, 6, 64, NULL, 0},
    {"burst256", CELL_BURST, 256, 16, 64, NULL, 0},
    {"idle2000", CELL_IDLE, 2000, 40, 0, "--max-instances 255", 0},
    {"slow4", CELL_SLOW, 4, 2, 64, NULL, 1},
    {"stop64", CELL_STOP, 64, 8, 64, NULL, 0},
};
#define ALL_CELLS "ka1,ka1big,ka8,ka32,ka64,ka200,ka8big,churn8,churn32,burst256,idle2000,slow4,stop64"


/* ---- what is measured, and how --------------------------------------------------------------------------- */
/* One server under test. */
typedef struct bench {
    wchar_t pipe[160];
    char kind[16], name[96], event[128];
    const char *exe;                      /* the server's executable (host path or Windows path) */
    const char *req_prefix, *resp_prefix; /* "ECHO " / "OK " for pipehost, "" for the echo servers */
    size_t req_prefix_len, resp_prefix_len;
    int verbs;          /* pipehost: answers "OK " + the payload after the verb; else echoes the message */
    HANDLE server;      /* the server process, when this program started it */
    HANDLE stop_event;  /* set to stop it (named event) */
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
    /* The slow-handler cell: the slow clients start on slow_go, the quick clients' second window on
     * second (their first is start .. stop) and ends with stop2; first_done counts the quick clients
     * that have finished their first window. */
    HANDLE slow_go, second;
    volatile LONG stop2, first_done;
} run;

typedef struct worker {
    run *r;
    HANDLE thread;
    unsigned idx;
    unsigned char *send, *recv;
    uint32_t *lat_us;         /* samples for the percentiles */
    size_t nlat, cap;
    size_t first_n;           /* the slow-handler cell: samples of the first window (the rest: the second) */
    long long first_ok;
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

/* Sends one request: a different slice of random bytes each time, stamped with the request's number.
 * 0, or -1 with w->last_err set. */
static int send_request(worker *w, HANDLE h, size_t size)
{
    const bench *b = w->r->b;
    size_t off = ((size_t)w->idx * 7919u + (size_t)w->seq * 104729u) % PAYLOAD_MAX, i;
    unsigned char *payload = w->send + b->req_prefix_len;
    DWORD n = 0, qlen = (DWORD)(b->req_prefix_len + size);

    memcpy(payload, g_pattern + off, size);
    for (i = 0; i < 4 && i < size; i++)
        payload[i] = (unsigned char)(w->seq >> (8 * i));
    w->seq++;
    if (!WriteFile(h, w->send, qlen, &n, NULL) || n != qlen) {
        w->last_err = GetLastError();
        return -1;
    }
    return 0;
}

/* Reads one whole message into w->recv. Its length, or -1 with w->last_err set. */
static long read_message(worker *w, HANDLE h)
{
    DWORD n = 0, total = 0;

    for (;;) {
        if (ReadFile(h, w->recv + total, RECV_CAP - total, &n, NULL))
            return (long)(total + n);
        w->last_err = GetLastError();
        if (w->last_err != ERROR_MORE_DATA)
            return -1;
        total += n;
        if (total >= RECV_CAP)
            return -1; /* far longer than anything we sent: the connection is no use any more */
    }
}

/* Reads the answer to the request send_request sent last and checks it byte for byte. 0 = correct,
 * 1 = wrong bytes, -1 = I/O failure. */
static int read_answer(worker *w, HANDLE h, size_t size)
{
    const bench *b = w->r->b;
    long total = read_message(w, h);

    if (total < 0)
        return -1;
    if ((size_t)total != b->resp_prefix_len + size || memcmp(w->recv, b->resp_prefix, b->resp_prefix_len) != 0 ||
        memcmp(w->recv + b->resp_prefix_len, w->send + b->req_prefix_len, size) != 0)
        return 1;
    return 0;
}

/* One request and its answer, checked byte for byte. 0 = correct, 1 = wrong bytes, -1 = I/O failure. */
static int round_trip(worker *w, HANDLE h, size_t size)
{
    return send_request(w, h, size) != 0 ? -1 : read_answer(w, h, size);
}

/* The slow-handler cell's slow request, "SLEEP <ms>", and its answer: "OK <ms>" from pipehost, the message
 * itself from the echo servers. 0 = correct, 1 = wrong bytes, -1 = I/O failure. */
static int slow_trip(worker *w, HANDLE h, unsigned ms)
{
    const bench *b = w->r->b;
    char req[32], want[40];
    int qlen = snprintf(req, sizeof(req), "SLEEP %u", ms), wlen;
    DWORD n = 0;
    long total;

    wlen = b->verbs ? snprintf(want, sizeof(want), "%s%s", b->resp_prefix, req + 6)
                    : snprintf(want, sizeof(want), "%s", req);
    if (!WriteFile(h, req, (DWORD)qlen, &n, NULL) || n != (DWORD)qlen) {
        w->last_err = GetLastError();
        return -1;
    }
    total = read_message(w, h);
    if (total < 0)
        return -1;
    return total == wlen && memcmp(w->recv, want, (size_t)wlen) == 0 ? 0 : 1;
}

static void record(worker *w, double us)
{
    if (w->nlat < w->cap)
        w->lat_us[w->nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

/* ---- the client threads --------------------------------------------------------------------------------- */
/* Round trips on *h until *stop, each counted and timed; after a failure the client connects again (within
 * 2 s). Returns 0, or -1 when it could not (*h is then invalid). */
static int keepalive_loop(worker *w, HANDLE *h, volatile LONG *stop)
{
    run *r = w->r;

    while (!*stop) {
        double a = now_us(), z;
        int rc = round_trip(w, *h, r->size);

        z = now_us();
        if (*stop)
            break; /* finished after the window: not counted */
        if (rc == 0) {
            w->ok++;
            record(w, z - a);
            continue;
        }
        w->fail++;
        if (rc > 0)
            w->mismatch++;
        CloseHandle(*h);
        *h = pipe_connect(r->b->pipe, GetTickCount64() + 2000, stop, &w->busy, &w->last_err);
        if (*h == INVALID_HANDLE_VALUE)
            return -1;
    }
    return 0;
}

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
    if (keepalive_loop(w, &h, &r->stop) == 0)
        CloseHandle(h);
    return 0;
}

/* The slow-handler cell's quick client: keep-alive round trips in two windows, the first on a server with
 * nothing else to do, the second while the slow requests run. */
static DWORD WINAPI quick_main(LPVOID arg)
{
    worker *w = arg;
    run *r = w->r;
    HANDLE h = pipe_connect(r->b->pipe, r->connect_deadline, NULL, &w->busy, &w->last_err);
    int alive;

    if (h == INVALID_HANDLE_VALUE) {
        InterlockedIncrement(&r->gave_up);
        InterlockedIncrement(&r->first_done);
        return 0;
    }
    InterlockedIncrement(&r->connected);
    WaitForSingleObject(r->start, INFINITE); /* the main thread sets start and second in every case */
    alive = keepalive_loop(w, &h, &r->stop) == 0;
    w->first_n = w->nlat;
    w->first_ok = w->ok;
    InterlockedIncrement(&r->first_done);
    WaitForSingleObject(r->second, INFINITE);
    if (alive && keepalive_loop(w, &h, &r->stop2) == 0)
        CloseHandle(h);
    return 0;
}

/* The slow-handler cell's slow client: SLEEP requests back to back from slow_go until stop2. */
static DWORD WINAPI slow_main(LPVOID arg)
{
    worker *w = arg;
    run *r = w->r;
    HANDLE h = pipe_connect(r->b->pipe, r->connect_deadline, NULL, &w->busy, &w->last_err);

    if (h == INVALID_HANDLE_VALUE) {
        InterlockedIncrement(&r->gave_up);
        return 0;
    }
    InterlockedIncrement(&r->connected);
    WaitForSingleObject(r->slow_go, INFINITE); /* the main thread sets it in every case */
    while (!r->stop2) {
        double a = now_us();
        int rc = slow_trip(w, h, SLOW_MS);

        if (rc != 0) {
            w->fail++;
            w->mismatch += rc > 0;
            break;
        }
        w->ok++;
        record(w, now_us() - a);
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

/* The latency percentiles of ws[0..n)'s samples: all of them (part 0), or those of the slow-handler
 * cell's first (1) or second (2) window. Left 0 without samples. */
static void percentiles(const worker *ws, unsigned n, int part, totals *t)
{
    size_t total = 0, k = 0, j;
    uint32_t *all;
    unsigned i;

    t->p50_ms = t->p99_ms = t->max_ms = 0;
    for (i = 0; i < n; i++)
        total += part == 0 ? ws[i].nlat : part == 1 ? ws[i].first_n : ws[i].nlat - ws[i].first_n;
    if (total == 0 || (all = malloc(total * sizeof(*all))) == NULL)
        return;
    for (i = 0; i < n; i++)
        for (j = part == 2 ? ws[i].first_n : 0; j < (part == 1 ? ws[i].first_n : ws[i].nlat); j++)
            all[k++] = ws[i].lat_us[j];
    qsort(all, total, sizeof(*all), cmp_u32);
    t->p50_ms = all[total / 2] / 1000.0;
    t->p99_ms = all[(total * 99) / 100] / 1000.0;
    t->max_ms = all[total - 1] / 1000.0;
    free(all);
}

static void sum_workers(const worker *ws, unsigned n, totals *t)
{
    unsigned i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < n; i++) {
        t->ok += ws[i].ok;
        t->fail += ws[i].fail;
        t->mismatch += ws[i].mismatch;
        t->busy += ws[i].busy;
        t->saw_busy += ws[i].saw_busy;
    }
    percentiles(ws, n, 0, t);
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

/* A simultaneous burst: every client connects at the same instant, sends one request, leaves. The connect
 * wait (start signal to connected pipe) is reported as its median, p99 and maximum, with the clients that
 * failed (no connection within 10 s, or a wrong answer) and those that were told busy. */
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
    printf(" ok=%lld fail=%lld mismatch=%lld busy=%lld busy_clients=%lld wait_p50_ms=%.1f wait_p99_ms=%.1f "
           "wait_max_ms=%.1f total_ms=%.0f\n",
           t.ok, t.fail, t.mismatch, t.busy, t.saw_busy, waits[clients / 2], waits[(clients * 99) / 100],
           waits[clients - 1], (tend - r.t0_us) / 1000.0);
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

/* Slow handlers: nslow clients send requests that each take SLOW_MS in the handler, back to back, while
 * SLOW_QUICK_CLIENTS quick clients do 64 B round trips. The quick clients' latency is measured twice on the
 * same connections: first with nothing else running (the idle figures), then while the slow requests run.
 * A server that serves every connection on its own thread shows no difference; a pool shows whether a
 * slow handler holds up other connections' quick requests. */
static void cell_slow(bench *b, const cell_def *d, unsigned nslow)
{
    unsigned nquick = b->quick ? SLOW_QUICK_CLIENTS / 2 : SLOW_QUICK_CLIENTS, n = nquick + nslow, late, i;
    DWORD window1 = b->duration_ms, window2 = b->duration_ms > 2 * SLOW_MS ? b->duration_ms : 2 * SLOW_MS;
    long long ok1 = 0;
    totals q, quick1, quick2, slow;
    ULONGLONG until;
    double t0, t1, t2, t3;
    LONG connected;
    worker *ws;
    run r;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.def = d;
    r.clients = n;
    r.size = d->size;
    r.start = CreateEventW(NULL, TRUE, FALSE, NULL);
    r.second = CreateEventW(NULL, TRUE, FALSE, NULL);
    r.slow_go = CreateEventW(NULL, TRUE, FALSE, NULL);
    r.connect_deadline = GetTickCount64() + 5000;
    ws = make_workers(&r, 32768);
    if (r.start == NULL || r.second == NULL || r.slow_go == NULL || ws == NULL ||
        start_workers(ws, nquick, quick_main) != 0 || start_workers(ws + nquick, nslow, slow_main) != 0) {
        fprintf(stderr, "pipehost-bench: out of resources setting up %s\n", d->id);
        ExitProcess(3);
    }
    while (r.connected + r.gave_up < (LONG)n && GetTickCount64() < r.connect_deadline)
        Sleep(10);
    connected = r.connected;
    /* The first window: the quick clients alone. */
    t0 = now_us();
    SetEvent(r.start);
    Sleep(window1);
    InterlockedExchange(&r.stop, 1);
    t1 = now_us();
    for (until = GetTickCount64() + 10000; r.first_done < (LONG)nquick && GetTickCount64() < until;)
        Sleep(1);
    /* The second: the slow requests first, so that they are in their handlers when it begins; it lasts at
     * least two of them. */
    SetEvent(r.slow_go);
    Sleep(SLOW_LEAD_MS);
    t2 = now_us();
    SetEvent(r.second);
    Sleep(window2);
    InterlockedExchange(&r.stop2, 1);
    t3 = now_us();
    late = join_workers(ws, n, GetTickCount64() + SLOW_MS + 10000);
    if (late > 0) {
        abort_cell(b, d, n, d->size, late);
        return; /* the workers are leaked: blocked threads still point at them */
    }
    sum_workers(ws, n, &q);
    b->wrong += q.mismatch;
    sum_workers(ws + nquick, nslow, &slow);
    percentiles(ws, nquick, 1, &quick1);
    percentiles(ws, nquick, 2, &quick2);
    for (i = 0; i < nquick; i++)
        ok1 += ws[i].first_ok;
    print_head(b, d, n, d->size,
               q.fail == 0 && connected == (LONG)n && ok1 > 0 && q.ok - slow.ok > ok1 && slow.ok > 0 ? "ok"
                                                                                                   : "partial");
    printf(" connected=%ld slow=%u quick=%u sleep_ms=%u idle_rps=%.1f idle_p50_ms=%.3f idle_p99_ms=%.3f "
           "idle_max_ms=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f ok=%lld fail=%lld mismatch=%lld "
           "slow_ok=%lld slow_fail=%lld slow_p50_ms=%.1f slow_max_ms=%.1f window_ms=%.0f\n",
           connected, nslow, nquick, SLOW_MS, (double)ok1 * 1e6 / (t1 - t0), quick1.p50_ms, quick1.p99_ms,
           quick1.max_ms, (double)(q.ok - slow.ok - ok1) * 1e6 / (t3 - t2), quick2.p50_ms, quick2.p99_ms,
           quick2.max_ms, q.ok - slow.ok, q.fail, q.mismatch, slow.ok, slow.fail, slow.p50_ms, slow.max_ms,
           (t3 - t2) / 1000.0);
    fflush(stdout);
    free_workers(ws, n);
    CloseHandle(r.start);
    CloseHandle(r.second);
    CloseHandle(r.slow_go);
}

/* Stop with n clients connected, each answered once and idle, and the odd ones with one more answer written
 * but not read yet: from setting the stop event to the process's exit. Then each client reads: an unread
 * answer must still be there, whole, and after it the pipe must be closed (ERROR_BROKEN_PIPE), as a server
 * that closes its handles leaves it; a disconnected pipe (ERROR_PIPE_NOT_CONNECTED) has discarded what was
 * unread. The reference servers simply exit; pipehost stops the way Ctrl+C stops it. */
static void cell_stop(bench *b, const cell_def *d, unsigned n)
{
    HANDLE *hs = calloc(n, sizeof(*hs));
    unsigned char *unread = calloc(n, 1);
    long long busy = 0, wrong = 0;
    DWORD err = 0, wr, lost_err = 0, close_err = 0;
    unsigned k, i, served = 0, sent = 0, ready = 0, kept = 0, lost = 0, closed = 0, unclean = 0;
    ULONGLONG until;
    double t0, ms;
    worker *ws;
    run r;

    memset(&r, 0, sizeof(r));
    r.b = b;
    r.clients = n;
    ws = make_workers(&r, 0);
    if (hs == NULL || unread == NULL || ws == NULL)
        ExitProcess(3);
    if (b->server == NULL || b->stop_event == NULL) {
        print_head(b, d, n, d->size, "skipped");
        printf(" note=no-server-process\n");
        free(hs);
        free(unread);
        free_workers(ws, n);
        return;
    }
    /* Connected and each answered once, so the server has accepted every one of them. The single-instance
     * server takes one: the others give up after 1 s. */
    k = open_many(b, hs, n, GetTickCount64() + 15000, 1000, &busy, &err);
    for (i = 0; i < k; i++)
        served += round_trip(&ws[i], hs[i], d->size) == 0;
    for (i = 1; i < k; i += 2)
        if (send_request(&ws[i], hs[i], d->size) == 0) {
            unread[i] = 1;
            sent++;
        }
    /* Each of those answers written (there to read) before the stop, or 5 s gone by. */
    for (i = 1, until = GetTickCount64() + 5000; i < k; i += 2) {
        DWORD avail = 0;
        while (unread[i] && PeekNamedPipe(hs[i], NULL, 0, NULL, &avail, NULL) && avail == 0 &&
               GetTickCount64() < until)
            Sleep(1);
        ready += avail > 0;
    }
    t0 = now_us();
    SetEvent(b->stop_event);
    wr = WaitForSingleObject(b->server, 20000);
    ms = (now_us() - t0) / 1000.0;
    /* The server is gone, so no read below can block. */
    for (i = 0; i < k && wr == WAIT_OBJECT_0; i++) {
        int rc = unread[i] ? read_answer(&ws[i], hs[i], d->size) : 0;
        kept += unread[i] && rc == 0;
        wrong += rc > 0;
        if (rc < 0) {
            lost++;
            lost_err = lost_err ? lost_err : ws[i].last_err;
        }
        if (read_message(&ws[i], hs[i]) < 0 && ws[i].last_err == ERROR_BROKEN_PIPE) {
            closed++;
        } else {
            unclean++; /* close_error=0: a message came instead of the end */
            close_err = close_err ? close_err : ws[i].last_err;
        }
    }
    b->wrong += wrong;
    /* The status says whether the cell ran as designed; what the stop did to the clients (lost=, unclean=)
     * are figures, which the table shows in bold, like its time. pipehost promises more: a stop loses no
     * reply and closes every pipe cleanly, so for it a lost reply or an unclean end makes the cell partial
     * (and the smoke test fail). */
    print_head(b, d, n, d->size,
               wr == WAIT_OBJECT_0 && k == n && served == k && ready == sent &&
                       (strncmp(b->kind, "pipehost", 8) != 0 || (lost == 0 && unclean == 0))
                   ? "ok"
                   : "partial");
    printf(" connected=%u answered=%u unread=%u ready=%u", k, served, sent, ready);
    if (wr == WAIT_OBJECT_0) {
        DWORD code = 0;
        GetExitCodeProcess(b->server, &code);
        printf(" stop_ms=%.1f exit_code=%lu kept=%u lost=%u mismatch=%lld closed=%u unclean=%u", ms,
               (unsigned long)code, kept, lost, wrong, closed, unclean);
        if (lost > 0)
            printf(" lost_error=%lu", (unsigned long)lost_err);
        if (unclean > 0)
            printf(" close_error=%lu", (unsigned long)close_err);
        printf("\n");
    } else {
        printf(" stop_ms=-1 note=still-running-after-20s\n");
    }
    fflush(stdout);
    for (i = 0; i < k; i++)
        CloseHandle(hs[i]);
    free(hs);
    free(unread);
    free_workers(ws, n);
}

/* ---- the server process --------------------------------------------------------------------------------- */
static HANDLE open_log(const char *path)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    return CreateFileA(path ? path : "NUL", FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                       path ? OPEN_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
}

/* Starts b->exe on b->pipe with b->event as its stop event (created here), its output to log_path (or
 * nowhere), own_args added to a pipehost's command line, and waits until its pipe takes clients. */
static int start_server(bench *b, const char *log_path, const char *own_args)
{
    char cmd[1024], winexe[512];
    wchar_t wcmd[1024];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE log;
    ULONGLONG deadline;
    const char *exe = b->exe;
    int n;

    b->stop_event = CreateEventA(NULL, TRUE, FALSE, b->event);
    if (b->stop_event == NULL) {
        fprintf(stderr, "pipehost-bench: cannot create %s: error %lu\n", b->event, GetLastError());
        return -1;
    }
    log = open_log(log_path);

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
         * to compare with the defaults; PH_BENCH_OLD_LABEL=1 marks an older build (scripts/bench_ab.sh) that
         * predates the per-user limit and its option. */
        const char *colon = strchr(b->kind, ':'), *extra = NULL, *old = NULL;
        char var[40];

        if (colon != NULL) {
            snprintf(var, sizeof(var), "PH_BENCH_ARGS_%s", colon + 1);
            extra = getenv(var);
            snprintf(var, sizeof(var), "PH_BENCH_OLD_%s", colon + 1);
            old = getenv(var);
        }
        /* Every client of the matrix is the same user: the per-user limit (64 by default) is lifted, or the
         * 200-client cells would be refused past 64. Everything else is pipehost's default configuration. */
        n = snprintf(cmd, sizeof(cmd), "\"%s\" run --pipe %s --stop-event %s --max-message 131072%s%s%s%s%s", exe,
                     b->name, b->event, old != NULL && strcmp(old, "1") == 0 ? "" : " --max-connections-per-user 0",
                     extra ? " " : "", extra ? extra : "", own_args ? " " : "", own_args ? own_args : "");
    } else {
        n = snprintf(cmd, sizeof(cmd), "\"%s\" \\\\.\\pipe\\%s %s", exe, b->name, b->event);
    }
    if (n < 0 || (size_t)n >= sizeof(cmd) || !MultiByteToWideChar(CP_UTF8, 0, cmd, -1, wcmd, 1024) ||
        log == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "pipehost-bench: cannot build the server command line or open its log\n");
        if (log != INVALID_HANDLE_VALUE)
            CloseHandle(log);
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
    fprintf(stderr, "pipehost-bench: started %s\n", cmd);
    deadline = GetTickCount64() + 20000;
    while (GetTickCount64() < deadline) {
        if (WaitNamedPipeW(b->pipe, 100))
            return 0;
        if (WaitForSingleObject(b->server, 0) == WAIT_OBJECT_0)
            break;
        Sleep(20);
    }
    fprintf(stderr, "pipehost-bench: %s did not serve \\\\.\\pipe\\%s within 20 s\n", cmd, b->name);
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
    if (b->stop_event != NULL)
        CloseHandle(b->stop_event);
    b->stop_event = NULL;
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
            "                      [--duration MS] [--quick] [--strict] [--log-dir DIR] [--bench-host EXE]\n"
            "       pipehost-bench --kind KIND --name PIPE --fixed N [--fixed-clients K] [--size BYTES]\n"
            "                      [--stop-event NAME]\n"
            "KIND: raw, single, tpc, iocp (the reference servers of bench/) or pipehost (pipehost.exe)\n"
            "cells: ka1 ka1big ka8 ka32 ka64 ka200 ka8big churn8 churn32 burst256 idle2000 slow4 stop64\n"
            "       (default: all)\n"
            "--bench-host: pipehost-bench-host.exe, pipehost's host with the SLEEP verb, which runs pipehost's\n"
            "       slow4 cell (default: the one beside this program)\n"
            "--fixed: N round trips on a running server (by one client, or K together), then sets NAME\n");
}

/* The server's pipe and stop-event names. */
static int set_names(bench *b, const char *name)
{
    char full[160];

    snprintf(b->name, sizeof(b->name), "%s", name);
    snprintf(b->event, sizeof(b->event), "Local\\%s-stop", name);
    snprintf(full, sizeof(full), "\\\\.\\pipe\\%s", name);
    return MultiByteToWideChar(CP_UTF8, 0, full, -1, b->pipe, (int)(sizeof(b->pipe) / sizeof(b->pipe[0]))) ? 0 : -1;
}

/* The framing of a kind's requests and answers, and its pipe and stop-event names. */
static int setup_kind(bench *b, const char *kind, const char *name)
{
    if (strcmp(kind, "raw") != 0 && strcmp(kind, "single") != 0 && strcmp(kind, "tpc") != 0 &&
        strcmp(kind, "iocp") != 0 && strcmp(kind, "pipehost") != 0)
        return -1;
    snprintf(b->kind, sizeof(b->kind), "%s", kind);
    b->verbs = strcmp(kind, "pipehost") == 0;
    b->req_prefix = b->verbs ? "ECHO " : "";
    b->resp_prefix = b->verbs ? "OK " : "";
    b->req_prefix_len = strlen(b->req_prefix);
    b->resp_prefix_len = strlen(b->resp_prefix);
    return set_names(b, name);
}

/* The raw floor serves one client at a time and has no logic to measure beyond that; the single instance
 * would serve one client of the slow-handler cell, which measures how a server treats the others. */
static int runs_cell(const bench *b, const cell_def *d)
{
    if (d->kind == CELL_SLOW)
        return strcmp(b->kind, "raw") != 0 && strcmp(b->kind, "single") != 0;
    return strcmp(b->kind, "raw") != 0 || (d->kind == CELL_KEEPALIVE && d->clients == 1);
}

static const char *g_log_dir;    /* --log-dir, or NULL */
static const char *g_bench_host; /* --bench-host, or the one beside this program, or NULL */

/* DIR\server-KIND[-CELL].log (a label's ':' becomes '-'), or NULL without --log-dir. */
static const char *log_path(char *out, size_t size, const bench *b, const cell_def *d)
{
    char *c;

    if (g_log_dir == NULL)
        return NULL;
    snprintf(out, size, "%s\\server-%s%s%s.log", g_log_dir, b->kind, d ? "-" : "", d ? d->id : "");
    for (c = strrchr(out, '\\'); c != NULL && *c != '\0'; c++)
        if (*c == ':')
            *c = '-';
    return out;
}

/* A cell that pipehost runs in a process of its own (cell_def says which and why). */
static int own_process(const bench *b, const cell_def *d)
{
    return b->verbs && (d->ph_own_args != NULL || d->ph_bench_host);
}

/* Starts that process: b's executable (or the bench host) and options, plus the cell's, on a pipe of its
 * own. NULL when it did not start (the reason is on stderr). */
static bench *start_own(const bench *b, const cell_def *d)
{
    bench *own = malloc(sizeof(*own));
    char name[96], path[600];

    if (own == NULL)
        return NULL;
    *own = *b;
    own->server = NULL;
    own->stop_event = NULL;
    own->aborted = 0;
    own->not_ok = 0;
    own->wrong = 0;
    if (d->ph_bench_host)
        own->exe = g_bench_host;
    snprintf(name, sizeof(name), "%s-%s", b->name, d->id);
    if (own->exe == NULL) {
        fprintf(stderr, "pipehost-bench: %s needs pipehost-bench-host.exe (--bench-host)\n", d->id);
    } else if (set_names(own, name) == 0 && start_server(own, log_path(path, sizeof(path), b, d), d->ph_own_args) == 0) {
        return own;
    }
    stop_server(own);
    free(own);
    return NULL;
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
            if (g_watch.b->server != NULL)
                TerminateProcess(g_watch.b->server, 97); /* a cell's own server */
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
    bench *own = NULL, *on = b;

    if (b->aborted || (!own_process(b, d) && WaitForSingleObject(b->server, 0) == WAIT_OBJECT_0)) {
        print_head(b, d, n, d->size, "skipped");
        printf(" note=%s\n", b->aborted ? "an-earlier-cell-timed-out" : "server-not-running");
        return;
    }
    if (own_process(b, d)) {
        if ((own = start_own(b, d)) == NULL) {
            print_head(b, d, n, d->size, "skipped");
            printf(" note=its-own-server-did-not-start\n");
            return;
        }
        on = own;
    }
    /* Hard bounds, well above what each cell's own bounds add up to. */
    watch(on, d, n,
          d->kind == CELL_KEEPALIVE || d->kind == CELL_CHURN ? b->duration_ms + 40000
          : d->kind == CELL_SLOW                             ? 2 * b->duration_ms + 60000
                                                             : 90000);
    if (d->kind == CELL_KEEPALIVE || d->kind == CELL_CHURN)
        cell_window(on, d, n);
    else if (d->kind == CELL_BURST)
        cell_burst(on, d, n);
    else if (d->kind == CELL_IDLE)
        cell_idle(on, d, n);
    else if (d->kind == CELL_SLOW)
        cell_slow(on, d, n);
    else
        cell_stop(on, d, n);
    watch(on, d, n, 0);
    if (own != NULL) {
        b->wrong += own->wrong;
        b->not_ok |= own->not_ok;
        stop_server(own);
        if (own->aborted)
            InterlockedExchange(&b->aborted, 1); /* own is leaked: blocked threads may still point at it */
        else
            free(own);
    }
}

#define MAX_SERVERS 8

int main(int argc, char **argv)
{
    static bench servers[MAX_SERVERS];
    const char *exes[MAX_SERVERS], *cells = NULL, *name = NULL, *stop_after = NULL;
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
            g_log_dir = v;
        } else if (strcmp(a, "--bench-host") == 0) {
            g_bench_host = v;
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

    snprintf(list, sizeof(list), "%s", cells ? cells : ALL_CELLS);
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

    if (g_bench_host == NULL) {
        /* pipehost-bench-host.exe beside this program, as the bench target builds it. */
        static char here[MAX_PATH + 32];
        DWORD len = GetModuleFileNameA(NULL, here, MAX_PATH);
        char *slash = len > 0 && len < MAX_PATH ? strrchr(here, '\\') : NULL;
        if (slash != NULL) {
            snprintf(slash + 1, sizeof(here) - (size_t)(slash + 1 - here), "pipehost-bench-host.exe");
            if (GetFileAttributesA(here) != INVALID_FILE_ATTRIBUTES)
                g_bench_host = here;
        }
    }
    for (i = 0; i < nservers; i++) {
        bench *b = &servers[i];
        char path[600];
        b->duration_ms = duration;
        b->quick = quick;
        b->exe = exes[i];
        if (start_server(b, log_path(path, sizeof(path), b, NULL), NULL) != 0) {
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
