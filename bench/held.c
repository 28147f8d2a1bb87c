/* held.c — pipehost-held: what held requests (ph_request_defer) cost a server: quick clients' latency beside
 * 200 held requests, memory per held request, and 10,000 held-then-completed requests' handles and memory.
 *
 * pipehost-held.exe [ROUNDS]: one process runs the core server (default configuration: a fixed pool of 254
 * instances; the per-user limit lifted, since every client here is this process's user) and its clients,
 * each a thread with a ph_client. Printed, no pass/fail on figures (timings under Wine are noisy; the
 * bench/README.md, Held requests, says what the targets are):
 *   1. latency: one quick client's PING round trips (ROUNDS, default 2000) on the idle server, then again while
 *      200 other clients each keep a request held for 1 s by the timer reply (ph_deferred_complete_after),
 *      sending the next as soon as the last is answered; p50/p99/max of both and the p99 ratio (target <= 2).
 *   2. cost of a held request: 200 clients connected and idle, then each with a request held (answered only
 *      when measured): what the heaps hold more (busy bytes of every process heap, HeapWalk), the commit
 *      (PagefileUsage) and buffered_bytes (ph_counters) more, per held request (target <= 1 KiB).
 *   3. 10,000 requests held then completed by another thread (8 clients): handles, heap bytes and
 *      requests_held before and after (target: flat).
 * Exit status 0 when every answer was right, 1 otherwise. */
#include <pipehost/pipehost.h>

#include <windows.h>

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOLDERS 200u
#define HOLD_MS 1000u
#define LOOP_CLIENTS 8u
#define LOOP_TOTAL 10000u

/* ---- the server's handler ------------------------------------------------------------------------------ */

/* PING -> PONG; HOLD ms -> "OK" after ms (the timer reply); PARK -> held until the bench completes it;
 * QUEUE -> held until the completer thread completes it. */
static CRITICAL_SECTION g_lock;
static ph_deferred *g_parked[HOLDERS];
static unsigned g_nparked;
static ph_deferred *g_queue[1024];
static unsigned g_qhead, g_qtail;
static HANDLE g_qsem;
static volatile LONG g_stop_completer, g_failures;

static ph_handler_result handle(void *ctx, const ph_request *req, ph_response *resp)
{
    ph_deferred *d = NULL;

    (void)ctx;
    if (req->len == 4 && memcmp(req->data, "PING", 4) == 0) {
        ph_response_append(resp, "PONG", 4);
        return PH_REPLY;
    }
    if (ph_request_defer(req, &d) != 0) {
        InterlockedIncrement(&g_failures);
        ph_response_err(resp, "internal", "cannot defer");
        return PH_REPLY;
    }
    if (req->len > 5 && memcmp(req->data, "HOLD ", 5) == 0) {
        if (ph_deferred_complete_after(d, (uint32_t)strtoul((const char *)req->data + 5, NULL, 10), PH_REPLY, "OK", 2) != 0)
            InterlockedIncrement(&g_failures);
        return PH_DEFER;
    }
    EnterCriticalSection(&g_lock);
    if (req->len == 4 && memcmp(req->data, "PARK", 4) == 0 && g_nparked < HOLDERS) {
        g_parked[g_nparked++] = d;
        d = NULL;
    } else if (req->len == 5 && memcmp(req->data, "QUEUE", 5) == 0 && g_qtail - g_qhead < 1024) {
        g_queue[g_qtail++ % 1024] = d;
        d = NULL;
        ReleaseSemaphore(g_qsem, 1, NULL);
    }
    LeaveCriticalSection(&g_lock);
    if (d != NULL) {
        InterlockedIncrement(&g_failures);
        ph_deferred_complete(d, PH_REPLY, "ERR", 3);
    }
    return PH_DEFER;
}

static DWORD WINAPI completer(LPVOID arg)
{
    (void)arg;
    while (!g_stop_completer) {
        ph_deferred *d = NULL;
        if (WaitForSingleObject(g_qsem, 50) != WAIT_OBJECT_0)
            continue;
        EnterCriticalSection(&g_lock);
        if (g_qhead != g_qtail)
            d = g_queue[g_qhead++ % 1024];
        LeaveCriticalSection(&g_lock);
        if (d != NULL && ph_deferred_complete(d, PH_REPLY, "OK", 2) != 0)
            InterlockedIncrement(&g_failures);
    }
    return 0;
}

/* ---- measuring ----------------------------------------------------------------------------------------- */

static double now_ms(void)
{
    static LARGE_INTEGER f;
    LARGE_INTEGER t;
    if (f.QuadPart == 0)
        QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1000.0 / (double)f.QuadPart;
}

static SIZE_T committed(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    pmc.cb = sizeof(pmc);
    return GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc)) ? pmc.PagefileUsage : 0;
}

/* Bytes in busy blocks of every heap of the process: what malloc has handed out, to the byte. */
static unsigned long long heap_busy(void)
{
    HANDLE heaps[64];
    DWORD n = GetProcessHeaps(64, heaps), i;
    unsigned long long total = 0;

    for (i = 0; i < n && i < 64; i++) {
        PROCESS_HEAP_ENTRY e;
        if (!HeapLock(heaps[i]))
            continue;
        memset(&e, 0, sizeof(e));
        while (HeapWalk(heaps[i], &e))
            if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY)
                total += e.cbData;
        HeapUnlock(heaps[i]);
    }
    return total;
}

/* Open handles: GetProcessHandleCount, or (Wine 8 reports 0) a probe of handle values. */
static long handle_count(void)
{
    DWORD n = 0;
    ULONG_PTR v;
    long found = 0, gap = 0;

    if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
        return (long)n;
    for (v = 4; gap < 4096; v += 4) {
        DWORD flags = 0;
        if (GetHandleInformation((HANDLE)v, &flags)) {
            found++;
            gap = 0;
        } else {
            gap++;
        }
    }
    return found;
}

static ph_counters counters(const ph_server *s)
{
    ph_counters k;
    ph_counters_init(&k);
    ph_server_counters(s, &k);
    return k;
}

/* Polls until requests_held is want (1) or 10 s pass (0). */
static int wait_held(const ph_server *s, uint64_t want)
{
    double end = now_ms() + 10000;
    while (counters(s).requests_held != want) {
        if (now_ms() > end)
            return 0;
        Sleep(5);
    }
    return 1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- clients ------------------------------------------------------------------------------------------- */

static char g_name[96];

static ph_client *connect_one(void)
{
    ph_client *c = NULL;
    if (ph_client_new(&c) != 0 || ph_client_connect(c, g_name, 10000, 0) != 0) {
        ph_client_free(c);
        return NULL;
    }
    return c;
}

/* One transaction; 0 when the answer is want. */
static int ask(ph_client *c, const char *req, const char *want)
{
    unsigned char *m = NULL;
    size_t len = 0;
    int rc = ph_client_transact(c, req, strlen(req), &m, &len, 15000, 0);
    int ok = rc == 0 && len == strlen(want) && memcmp(m, want, len) == 0;
    ph_free(m);
    if (!ok)
        InterlockedIncrement(&g_failures);
    return ok ? 0 : -1;
}

/* The quick client's round trips: sorted latencies in out. */
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

static volatile LONG g_holders_stop, g_holders_ready;
static HANDLE g_go; /* manual-reset: the holders begin */

static DWORD WINAPI holder(LPVOID arg)
{
    ph_client *c = connect_one();
    char req[32];

    (void)arg;
    snprintf(req, sizeof(req), "HOLD %u", HOLD_MS);
    if (c == NULL) {
        InterlockedIncrement(&g_failures);
        InterlockedIncrement(&g_holders_ready);
        return 0;
    }
    ask(c, "PING", "PONG");
    InterlockedIncrement(&g_holders_ready);
    WaitForSingleObject(g_go, INFINITE);
    while (!g_holders_stop && ask(c, req, "OK") == 0) {
    }
    ph_client_free(c);
    return 0;
}

typedef struct parker {
    ph_client *c;
} parker;

static DWORD WINAPI loop_client(LPVOID arg)
{
    unsigned n = (unsigned)(ULONG_PTR)arg, i;
    ph_client *c = connect_one();

    if (c == NULL) {
        InterlockedIncrement(&g_failures);
        return 0;
    }
    for (i = 0; i < n; i++)
        if (ask(c, "QUEUE", "OK") != 0)
            break;
    ph_client_free(c);
    return 0;
}

static void loop(unsigned total)
{
    HANDLE t[LOOP_CLIENTS];
    unsigned i;

    for (i = 0; i < LOOP_CLIENTS; i++)
        t[i] = CreateThread(NULL, 0, loop_client, (LPVOID)(ULONG_PTR)(total / LOOP_CLIENTS), 0, NULL);
    for (i = 0; i < LOOP_CLIENTS; i++) {
        if (t[i] == NULL) {
            InterlockedIncrement(&g_failures);
            continue;
        }
        WaitForSingleObject(t[i], INFINITE);
        CloseHandle(t[i]);
    }
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000u, i;
    double *idle, *busy;
    ph_server_config cfg;
    ph_server *s = NULL;
    ph_client *quick;
    HANDLE threads[HOLDERS], comp;
    parker parkers[HOLDERS];

    if (rounds < 100 || rounds > 1000000) {
        fprintf(stderr, "usage: pipehost-held [ROUNDS (100..1000000, default 2000)]\n");
        return 2;
    }
    idle = malloc(rounds * sizeof(double));
    busy = malloc(rounds * sizeof(double));
    InitializeCriticalSection(&g_lock);
    g_qsem = CreateSemaphoreW(NULL, 0, 1024, NULL);
    g_go = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (idle == NULL || busy == NULL || g_qsem == NULL || g_go == NULL)
        return 2;
    snprintf(g_name, sizeof(g_name), "pipehost-held-%lu", (unsigned long)GetCurrentProcessId());
    ph_server_config_init(&cfg);
    cfg.pipe_name = g_name;
    cfg.handler = handle;
    cfg.limits.max_connections_per_user = 0;
    if (ph_server_new(&cfg, &s) != 0 || ph_server_start(s) != 0) {
        fprintf(stderr, "pipehost-held: cannot start the server\n");
        return 2;
    }
    comp = CreateThread(NULL, 0, completer, NULL, 0, NULL);
    quick = connect_one();
    if (quick == NULL || comp == NULL) {
        fprintf(stderr, "pipehost-held: cannot connect\n");
        return 2;
    }

    /* 1. Latency, idle and beside 200 held requests. */
    pings(quick, idle, rounds / 10); /* warm-up */
    pings(quick, idle, rounds);
    for (i = 0; i < HOLDERS; i++) {
        threads[i] = CreateThread(NULL, 64 * 1024, holder, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (threads[i] == NULL)
            return 2;
    }
    while (g_holders_ready < (LONG)HOLDERS)
        Sleep(5);
    SetEvent(g_go);
    if (!wait_held(s, HOLDERS))
        fprintf(stderr, "pipehost-held: only %llu of %u requests held\n",
                (unsigned long long)counters(s).requests_held, HOLDERS);
    pings(quick, busy, rounds);
    printf("held now while measuring: %llu (each for %u ms, by the timer reply)\n",
           (unsigned long long)counters(s).requests_held, HOLD_MS);
    InterlockedExchange(&g_holders_stop, 1);
    for (i = 0; i < HOLDERS; i++) {
        WaitForSingleObject(threads[i], INFINITE);
        CloseHandle(threads[i]);
    }
    printf("%-34s %9s %9s %9s\n", "quick client PING (ms)", "p50", "p99", "max");
    printf("%-34s %9.3f %9.3f %9.3f\n", "idle server", idle[rounds / 2], idle[rounds * 99 / 100], idle[rounds - 1]);
    printf("%-34s %9.3f %9.3f %9.3f\n", "beside 200 held requests", busy[rounds / 2], busy[rounds * 99 / 100],
           busy[rounds - 1]);
    printf("p99 ratio held/idle: %.2f (target <= 2)\n", busy[rounds * 99 / 100] / idle[rounds * 99 / 100]);

    /* 2. What a held request costs: 200 connected idle clients, then the same 200 each with one held. */
    {
        unsigned long long heap0, heap1;
        SIZE_T commit0, commit1;
        uint64_t buf0, buf1;

        for (i = 0; i < HOLDERS; i++) {
            parkers[i].c = connect_one();
            if (parkers[i].c == NULL || ask(parkers[i].c, "PING", "PONG") != 0) {
                fprintf(stderr, "pipehost-held: a parking client failed\n");
                return 1;
            }
        }
        Sleep(200);
        heap0 = heap_busy();
        commit0 = committed();
        buf0 = counters(s).buffered_bytes;
        /* Sent from this thread, answers read later: the clients add nothing while the requests are held. */
        for (i = 0; i < HOLDERS; i++)
            if (ph_client_send(parkers[i].c, "PARK", 4, 10000) != 0)
                InterlockedIncrement(&g_failures);
        wait_held(s, HOLDERS);
        Sleep(200);
        heap1 = heap_busy();
        commit1 = committed();
        buf1 = counters(s).buffered_bytes;
        printf("cost of a held request (%u held): heap %+.0f B, commit %+.0f B, buffered_bytes %+.0f B each "
               "(target <= 1024)\n",
               HOLDERS, ((double)heap1 - (double)heap0) / HOLDERS, ((double)commit1 - (double)commit0) / HOLDERS,
               ((double)buf1 - (double)buf0) / HOLDERS);
        EnterCriticalSection(&g_lock);
        for (i = 0; i < g_nparked; i++)
            if (ph_deferred_complete(g_parked[i], PH_REPLY, "OK", 2) != 0)
                InterlockedIncrement(&g_failures);
        g_nparked = 0;
        LeaveCriticalSection(&g_lock);
        for (i = 0; i < HOLDERS; i++) {
            unsigned char *m = NULL;
            size_t len = 0;
            if (ph_client_recv(parkers[i].c, &m, &len, 10000, 0) != 0 || len != 2 || memcmp(m, "OK", 2) != 0)
                InterlockedIncrement(&g_failures);
            ph_free(m);
            ph_client_free(parkers[i].c);
        }
    }

    /* 3. 10,000 held and completed by another thread: handles and memory flat. */
    {
        long h0, h1;
        unsigned long long heap0, heap1;
        SIZE_T commit0, commit1;
        double t0;

        loop(LOOP_CLIENTS * 100); /* warm-up */
        Sleep(200);
        h0 = handle_count();
        heap0 = heap_busy();
        commit0 = committed();
        t0 = now_ms();
        loop(LOOP_TOTAL);
        t0 = now_ms() - t0;
        Sleep(200);
        h1 = handle_count();
        heap1 = heap_busy();
        commit1 = committed();
        printf("%u held then completed (%u clients, %.0f ms): handles %ld -> %ld, heap %llu -> %llu KiB, commit "
               "%llu -> %llu KiB, requests_held %llu\n",
               LOOP_TOTAL, LOOP_CLIENTS, t0, h0, h1, heap0 / 1024, heap1 / 1024, (unsigned long long)commit0 / 1024,
               (unsigned long long)commit1 / 1024, (unsigned long long)counters(s).requests_held);
    }

    ph_client_free(quick);
    InterlockedExchange(&g_stop_completer, 1);
    WaitForSingleObject(comp, INFINITE);
    CloseHandle(comp);
    ph_server_free(s);
    printf("wrong or missing answers: %ld\n", (long)g_failures);
    free(idle);
    free(busy);
    return g_failures == 0 ? 0 : 1;
}
