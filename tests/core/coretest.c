/* coretest.c — shared helpers of the core's Windows tests: scripted handler, servers, clients, threads, probes. */
#include "coretest.h"

#include "../../core/src/win/ph_win.h"

#include <psapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>

/* ------------------------------------------------------------------------------------------------------- */
/* The scripted handler.                                                                                    */

void ct_ctx_init(ct_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    InitializeCriticalSection(&ctx->lock);
    ctx->entered = CreateEventW(NULL, FALSE, FALSE, NULL);
    ck_assert_ptr_nonnull(ctx->entered);
}

void ct_ctx_free(ct_ctx *ctx)
{
    CloseHandle(ctx->entered);
    DeleteCriticalSection(&ctx->lock);
}

void ct_fill(unsigned char *buf, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu);
    if (n > 0)
        buf[0] = 0xfe; /* never an upper-case command letter */
}

int ct_check(const unsigned char *buf, size_t n, unsigned seed)
{
    size_t i;

    if (n > 0 && buf[0] != 0xfe)
        return 0;
    for (i = 1; i < n; i++)
        if (buf[i] != (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xffu))
            return 0;
    return 1;
}

/* The command word of a request and its numeric argument, if the request is one. */
static int command(const ph_request *req, const char *word, unsigned long *arg)
{
    size_t n = strlen(word);
    char num[32];
    size_t len;

    if (req->data == NULL || req->len < n || memcmp(req->data, word, n) != 0)
        return 0;
    if (req->len == n) {
        if (arg != NULL)
            *arg = 0;
        return 1;
    }
    if (req->data[n] != ' ')
        return 0;
    len = req->len - n - 1;
    if (len >= sizeof(num))
        len = sizeof(num) - 1;
    memcpy(num, req->data + n + 1, len);
    num[len] = '\0';
    if (arg != NULL)
        *arg = strtoul(num, NULL, 10);
    return 1;
}

static void note_thread(ct_ctx *ctx)
{
    DWORD self = GetCurrentThreadId();
    unsigned i;

    EnterCriticalSection(&ctx->lock);
    for (i = 0; i < ctx->nthreads && ctx->threads[i] != self; i++)
        ;
    if (i == ctx->nthreads && ctx->nthreads < CT_MAX_THREADS)
        ctx->threads[ctx->nthreads++] = self;
    LeaveCriticalSection(&ctx->lock);
}

ph_handler_result ct_handler(void *arg, const ph_request *req, ph_response *resp)
{
    ct_ctx *ctx = arg;
    ph_handler_result result = PH_REPLY;
    unsigned long n = 0;
    LONG now;

    InterlockedIncrement(&ctx->calls);
    now = InterlockedIncrement(&ctx->active);
    for (;;) {
        LONG seen = ctx->max_active;
        if (now <= seen || InterlockedCompareExchange(&ctx->max_active, now, seen) == seen)
            break;
    }
    note_thread(ctx);
    /* A request carries its bytes, NUL-terminated (the header promises it), unless it was too large. */
    if (!(req->flags & PH_REQ_TOO_LARGE) && (req->data == NULL ? req->len > 0 : req->data[req->len] != '\0'))
        InterlockedIncrement(&ctx->bad);
    EnterCriticalSection(&ctx->lock);
    ctx->last_len = req->len;
    LeaveCriticalSection(&ctx->lock);

    if (req->flags & PH_REQ_TOO_LARGE) {
        if (req->data != NULL || req->len <= req->max_message_bytes)
            InterlockedIncrement(&ctx->bad);
        EnterCriticalSection(&ctx->lock);
        ctx->too_large_len = req->len;
        LeaveCriticalSection(&ctx->lock);
        InterlockedIncrement(&ctx->too_large);
        /* Left empty: the server must answer "ERR too-large …" itself. */
    } else if (command(req, "SLEEP", &n)) {
        SetEvent(ctx->entered);
        Sleep((DWORD)n);
        ph_response_append(resp, "SLEPT", 5);
    } else if (command(req, "BIG", &n)) {
        unsigned char *big = malloc(n ? n : 1);
        if (big == NULL) {
            ph_response_err(resp, "nomem", "BIG %lu", n);
        } else {
            ct_fill(big, n, 0);
            ph_response_append(resp, big, n);
            free(big);
        }
    } else if (command(req, "NOREPLY", NULL)) {
        result = PH_NO_REPLY;
    } else if (command(req, "CLOSE", NULL)) {
        ph_response_append(resp, "BYE", 3);
        result = PH_REPLY_CLOSE;
    } else if (command(req, "WHO", NULL)) {
        const ph_client_info *who = ph_request_client(req);
        if (who == NULL || who->user_sid == NULL || ph_request_client(req) != who) /* never NULL; cached */
            InterlockedIncrement(&ctx->bad);
        EnterCriticalSection(&ctx->lock);
        ctx->who = *who;
        snprintf(ctx->who_sid, sizeof(ctx->who_sid), "%s", who->user_sid);
        ctx->who.user_sid = ctx->who_sid;
        LeaveCriticalSection(&ctx->lock);
        ph_response_appendf(resp, "%lu %lu %s", who->pid, who->session_id, who->user_sid);
    } else if (command(req, "CONN", NULL)) {
        ph_response_appendf(resp, "%llu", (unsigned long long)req->connection_id);
    } else if (command(req, "STOP", NULL)) {
        unsigned long long t0 = ph_test_now_ms();
        int rc = ph_server_stop(ctx->server);
        EnterCriticalSection(&ctx->lock);
        ctx->stop_rc = rc;
        ctx->stop_ms = ph_test_now_ms() - t0;
        LeaveCriticalSection(&ctx->lock);
        ph_response_append(resp, "STOPPING", 8);
    } else if (req->len > 0) {
        ph_response_append(resp, req->data, req->len);
    }
    InterlockedDecrement(&ctx->active);
    return result;
}

/* ------------------------------------------------------------------------------------------------------- */
/* Log capture.                                                                                             */

void ct_log_init(ct_log *lg)
{
    memset(lg, 0, sizeof(*lg));
    InitializeCriticalSection(&lg->lock);
}

void ct_log_free(ct_log *lg)
{
    DeleteCriticalSection(&lg->lock);
}

void ct_log_fn(void *ctx, ph_log_level level, const char *message)
{
    ct_log *lg = ctx;

    if ((int)level < PH_LOG_ERROR || (int)level > PH_LOG_DEBUG || message == NULL || message[0] == '\0') {
        InterlockedIncrement(&lg->out_of_range);
        return;
    }
    InterlockedIncrement(&lg->by_level[level]);
    EnterCriticalSection(&lg->lock);
    if (lg->n < CT_LOG_KEEP) {
        lg->e[lg->n].level = level;
        snprintf(lg->e[lg->n].text, sizeof(lg->e[lg->n].text), "%s", message);
        lg->n++;
    }
    if (!lg->quiet) {
        printf("  [%s] %s\n", ph_log_level_name(level), message);
        fflush(stdout);
    }
    LeaveCriticalSection(&lg->lock);
}

int ct_log_has(ct_log *lg, ph_log_level level, const char *needle)
{
    unsigned i;
    int found = 0;

    EnterCriticalSection(&lg->lock);
    for (i = 0; i < lg->n && !found; i++)
        found = lg->e[i].level == level && strstr(lg->e[i].text, needle) != NULL;
    LeaveCriticalSection(&lg->lock);
    return found;
}

int ct_log_count(ct_log *lg, ph_log_level level, const char *needle)
{
    unsigned i;
    int n = 0;

    EnterCriticalSection(&lg->lock);
    for (i = 0; i < lg->n; i++)
        n += lg->e[i].level == level && strstr(lg->e[i].text, needle) != NULL;
    LeaveCriticalSection(&lg->lock);
    return n;
}

int ct_wait_log(ct_log *lg, ph_log_level level, const char *needle, unsigned timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;

    while (!ct_log_has(lg, level, needle)) {
        if (GetTickCount64() > end)
            return 0;
        Sleep(5);
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------------------- */
/* Servers and clients.                                                                                     */

void ct_config(ph_server_config *cfg, char *name, size_t name_size, const char *tag, ct_ctx *ctx, ct_log *lg)
{
    ph_server_config_init(cfg);
    ph_test_pipe_name(name, name_size, tag);
    cfg->pipe_name = name;
    cfg->handler = ct_handler;
    cfg->handler_ctx = ctx;
    cfg->threads = 4;
    cfg->pending_instances = 2;
    /* Every test client is the same user: the per-user limit has tests of its own. */
    cfg->limits.max_connections_per_user = 0;
    if (lg != NULL) {
        cfg->log = ct_log_fn;
        cfg->log_ctx = lg;
        cfg->log_level = PH_LOG_INFO;
    }
}

ph_server *ct_start(const ph_server_config *cfg, ct_ctx *ctx)
{
    ph_server *s = NULL;
    int rc;

    ck_assert_int_eq(ph_server_new(cfg, &s), 0);
    if (ctx != NULL)
        ctx->server = s;
    rc = ph_server_start(s);
    ck_assert_msg(rc == 0, "ph_server_start: %s (%s), Win32 error %lu", ph_err_name(rc), ph_strerror(rc),
                  ph_server_syserror(s));
    return s;
}

ph_client *ct_connect(const char *name)
{
    ph_client *c = NULL;
    int rc;

    ck_assert_int_eq(ph_client_new(&c), 0);
    rc = ph_client_connect(c, name, 5000, 0);
    ck_assert_msg(rc == 0, "ph_client_connect(%s): %s, Win32 error %lu", name, ph_err_name(rc), ph_client_syserror(c));
    return c;
}

int ct_transact(ph_client *c, const char *req, unsigned char **resp, size_t *resp_len, uint32_t timeout_ms)
{
    return ph_client_transact(c, req, strlen(req), resp, resp_len, timeout_ms, 0);
}

void ct_expect(ph_client *c, const void *req, size_t len, const void *want, size_t want_len)
{
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    int rc = ph_client_transact(c, req, len, &resp, &resp_len, 5000, 0);

    ck_assert_msg(rc == 0, "transact: %s, Win32 error %lu", ph_err_name(rc), ph_client_syserror(c));
    ck_assert_uint_eq(resp_len, want_len);
    ck_assert_msg(want_len == 0 || memcmp(resp, want, want_len) == 0, "response differs from the expected one");
    ph_free(resp);
}

void ct_expect_str(ph_client *c, const char *req, const char *want)
{
    ct_expect(c, req, strlen(req), want, strlen(want));
}

HANDLE ct_raw_connect(const char *name, DWORD access, int overlapped)
{
    wchar_t wname[CT_NAME_MAX + 16];
    DWORD mode = PIPE_READMODE_MESSAGE;
    HANDLE h;
    int i;

    for (i = 0; name[i] != '\0' && i < CT_NAME_MAX; i++)
        wname[i] = (wchar_t)(unsigned char)name[i];
    wname[i] = L'\0';
    if (wcsncmp(wname, L"\\\\.\\pipe\\", 9) != 0) {
        memmove(wname + 9, wname, (size_t)(i + 1) * sizeof(wchar_t));
        memcpy(wname, L"\\\\.\\pipe\\", 9 * sizeof(wchar_t));
    }
    if (!WaitNamedPipeW(wname, 5000))
        return INVALID_HANDLE_VALUE;
    h = CreateFileW(wname, access, 0, NULL, OPEN_EXISTING, overlapped ? FILE_FLAG_OVERLAPPED : 0, NULL);
    if (h != INVALID_HANDLE_VALUE && (access & GENERIC_WRITE) && !SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        CloseHandle(h);
        return INVALID_HANDLE_VALUE;
    }
    return h;
}

DWORD ct_raw_read(HANDLE h, void *buf, DWORD size, DWORD *got, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;
    DWORD avail = 0;

    *got = 0;
    for (;;) {
        if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
            return GetLastError();
        if (avail > 0)
            break;
        if (ph_test_now_ms() >= end)
            return WAIT_TIMEOUT;
        Sleep(2);
    }
    if (!ReadFile(h, buf, size, got, NULL))
        return GetLastError();
    return 0;
}

int ct_pipe_gone(const char *name)
{
    ph_client *c = NULL;
    int rc;

    if (ph_client_new(&c) != 0)
        return 0;
    rc = ph_client_connect(c, name, 0, 0);
    ph_client_free(c);
    return rc == PH_ENOTFOUND;
}

HANDLE ct_byte_connect(const char *name)
{
    wchar_t wname[CT_NAME_MAX + 16];
    char full[CT_NAME_MAX + 16];
    HANDLE h;
    int i;

    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    MultiByteToWideChar(CP_UTF8, 0, full, -1, wname, (int)(sizeof(wname) / sizeof(wname[0])));
    for (i = 0; i < 100; i++) {
        h = CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                        SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
        if (h != INVALID_HANDLE_VALUE)
            return h;
        if (GetLastError() != ERROR_PIPE_BUSY)
            break;
        WaitNamedPipeW(wname, 100);
    }
    ck_abort_msg("cannot open %s: error %lu", full, GetLastError());
    return INVALID_HANDLE_VALUE;
}

DWORD ct_read_exact(HANDLE h, void *buf, size_t n, unsigned timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;
    size_t have = 0;

    while (have < n) {
        DWORD avail = 0, got = 0;

        if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
            return GetLastError();
        if (avail == 0) {
            if (GetTickCount64() >= end)
                return WAIT_TIMEOUT;
            Sleep(1);
            continue;
        }
        if (avail > n - have)
            avail = (DWORD)(n - have);
        if (!ReadFile(h, (unsigned char *)buf + have, avail, &got, NULL))
            return GetLastError();
        have += got;
    }
    return 0;
}

void ct_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

/* ------------------------------------------------------------------------------------------------------- */
/* Waiting.                                                                                                 */

int ct_wait_counter_ge(const ph_server *s, size_t field, uint64_t want, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;

    while (ct_counter(s, field) < want) {
        if (ph_test_now_ms() > end)
            return 0;
        ph_test_sleep_ms(5);
    }
    return 1;
}

uint64_t ct_counter(const ph_server *s, size_t field)
{
    ph_counters k;
    uint64_t v;

    ph_counters_init(&k);
    ph_server_counters(s, &k);
    memcpy(&v, (const char *)&k + field, sizeof(v));
    return v;
}

int ct_wait_counter(const ph_server *s, size_t field, uint64_t want, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;

    for (;;) {
        if (ct_counter(s, field) == want)
            return 1;
        if (ph_test_now_ms() >= end)
            return 0;
        Sleep(2);
    }
}

int ct_wait_long(volatile LONG *v, LONG want, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;

    for (;;) {
        if (InterlockedCompareExchange(v, 0, 0) >= want)
            return 1;
        if (ph_test_now_ms() >= end)
            return 0;
        Sleep(2);
    }
}

/* ------------------------------------------------------------------------------------------------------- */
/* Client threads.                                                                                          */

struct ct_threads {
    unsigned n;
    HANDLE *h;
    HANDLE go;
    ct_thread_fn fn;
    void *arg;
    volatile LONG next;
};

static DWORD WINAPI thread_main(LPVOID p)
{
    ct_threads *t = p;
    unsigned index = (unsigned)InterlockedIncrement(&t->next) - 1;

    WaitForSingleObject(t->go, INFINITE);
    t->fn(t->arg, index);
    return 0;
}

ct_threads *ct_spawn(unsigned n, ct_thread_fn fn, void *arg)
{
    ct_threads *t = calloc(1, sizeof(*t));
    unsigned i;

    ck_assert_ptr_nonnull(t);
    t->h = calloc(n, sizeof(HANDLE));
    ck_assert_ptr_nonnull(t->h);
    t->go = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert_ptr_nonnull(t->go);
    t->fn = fn;
    t->arg = arg;
    for (i = 0; i < n; i++) {
        t->h[i] = CreateThread(NULL, 0, thread_main, t, 0, NULL);
        ck_assert_ptr_nonnull(t->h[i]);
        t->n++;
    }
    /* Every thread is created and waiting on the same event: they start as close together as Windows can. */
    SetEvent(t->go);
    return t;
}

int ct_join(ct_threads *t, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;
    unsigned i;
    int all = 1;

    for (i = 0; i < t->n; i++) {
        unsigned long long now = ph_test_now_ms();
        DWORD left = now >= end ? 0 : (DWORD)(end - now);
        if (WaitForSingleObject(t->h[i], left) != WAIT_OBJECT_0)
            all = 0;
    }
    if (!all)
        return 0; /* threads still run and use t: leak it, the test is failing anyway */
    for (i = 0; i < t->n; i++)
        CloseHandle(t->h[i]);
    CloseHandle(t->go);
    free(t->h);
    free(t);
    return 1;
}

int ct_run_threads(unsigned n, ct_thread_fn fn, void *arg, unsigned timeout_ms)
{
    return ct_join(ct_spawn(n, fn, arg), timeout_ms);
}

/* ------------------------------------------------------------------------------------------------------- */
/* Process probes.                                                                                          */

int ct_thread_count(void)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    THREADENTRY32 te;
    DWORD self = GetCurrentProcessId();
    int n = 0;

    if (snap == INVALID_HANDLE_VALUE)
        return -1;
    te.dwSize = sizeof(te);
    if (Thread32First(snap, &te)) {
        do {
            if (te.th32OwnerProcessID == self)
                n++;
        } while (Thread32Next(snap, &te));
    }
    CloseHandle(snap);
    return n;
}

/* Our own handles, found by asking about every handle value in turn (handle values are multiples of 4, given
 * out lowest first), until a long run of values that are not handles. Wine's system-wide handle table
 * (NtQuerySystemInformation class 16) was the first way used here; under heavy load with other processes
 * churning handles, reading it killed the calling thread inside ntdll and left the test hung, so only our own
 * process is asked. */
static long handle_count_by_probe(void)
{
    uintptr_t value;
    unsigned gap = 0;
    long n = 0;

    for (value = 4; gap < 4096 && value < ((uintptr_t)1 << 24); value += 4) {
        DWORD flags = 0;
        if (GetHandleInformation((HANDLE)value, &flags)) {
            n++;
            gap = 0;
        } else {
            gap++;
        }
    }
    return n;
}

long ct_handle_count(void)
{
    DWORD n = 0;

    if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
        return (long)n;
    return handle_count_by_probe();
}

void ct_self_sid(char *out, size_t size)
{
    union {
        TOKEN_USER user;
        unsigned char raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } buf;
    HANDLE token = NULL;
    DWORD len = 0;
    LPSTR text = NULL;

    out[0] = '\0';
    ck_assert(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    ck_assert(GetTokenInformation(token, TokenUser, &buf, sizeof(buf), &len));
    ck_assert(ConvertSidToStringSidA(buf.user.User.Sid, &text));
    snprintf(out, size, "%s", text);
    LocalFree(text);
    CloseHandle(token);
}

size_t ct_private_bytes(void)
{
    PROCESS_MEMORY_COUNTERS pmc;

    memset(&pmc, 0, sizeof(pmc));
    pmc.cb = sizeof(pmc);
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc)))
        return 0;
    return pmc.PagefileUsage;
}

size_t ct_private_commit(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION mbi;
    const char *p, *end;
    size_t total = 0;

    GetSystemInfo(&si);
    p = si.lpMinimumApplicationAddress;
    end = si.lpMaximumApplicationAddress;
    while (p < end && VirtualQuery(p, &mbi, sizeof(mbi)) == sizeof(mbi)) {
        if (mbi.State == MEM_COMMIT && mbi.Type == MEM_PRIVATE)
            total += mbi.RegionSize;
        if (mbi.RegionSize == 0)
            break;
        p = (const char *)mbi.BaseAddress + mbi.RegionSize;
    }
    return total;
}

unsigned long long ct_cpu_ms(void)
{
    FILETIME created, exited, kernel, user;
    ULARGE_INTEGER k, u;

    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return 0;
    k.LowPart = kernel.dwLowDateTime;
    k.HighPart = kernel.dwHighDateTime;
    u.LowPart = user.dwLowDateTime;
    u.HighPart = user.dwHighDateTime;
    return (k.QuadPart + u.QuadPart) / 10000u;
}

/* ------------------------------------------------------------------------------------------------------- */
/* Pausing a thread at a lock (see coretest.h).                                                             */

/* The import address table entry of EnterCriticalSection in this program: every call the core makes to it
 * goes through this pointer. */
typedef void(WINAPI *ct_enter_fn)(LPCRITICAL_SECTION);
extern ct_enter_fn __imp_EnterCriticalSection;
static ct_enter_fn g_real_enter;
static INIT_ONCE g_hook_once = INIT_ONCE_STATIC_INIT;
static volatile LONG g_pause_thread; /* 0 = disarmed */
static const char *volatile g_pause_lo;
static volatile size_t g_pause_len;
static HANDLE g_pause_held, g_pause_go; /* manual-reset */

static void WINAPI hook_enter(LPCRITICAL_SECTION cs)
{
    const char *lo = g_pause_lo;
    DWORD self = GetCurrentThreadId();

    if ((DWORD)g_pause_thread == self && lo != NULL && (const char *)cs >= lo && (const char *)cs < lo + g_pause_len &&
        InterlockedCompareExchange(&g_pause_thread, 0, (LONG)self) == (LONG)self) {
        SetEvent(g_pause_held);
        WaitForSingleObject(g_pause_go, 10000); /* bounded: a test that forgets cannot wedge the library */
    }
    g_real_enter(cs);
}

/* Replaces one entry of this program's import address table (a pointer-sized slot; one aligned store, so a
 * caller sees the old or the new function, never a mix). */
static int patch_slot(void *slot, const void *with, size_t size)
{
    DWORD old = 0;

    if (!VirtualProtect(slot, size, PAGE_READWRITE, &old))
        return 0;
    memcpy(slot, with, size);
    VirtualProtect(slot, size, old, &old);
    FlushInstructionCache(GetCurrentProcess(), slot, size);
    return 1;
}

static BOOL CALLBACK install_hook(PINIT_ONCE once, PVOID param, PVOID *context)
{
    ct_enter_fn hook = hook_enter;

    (void)once;
    (void)param;
    (void)context;
    g_pause_held = CreateEventW(NULL, TRUE, FALSE, NULL);
    g_pause_go = CreateEventW(NULL, TRUE, FALSE, NULL);
    g_real_enter = __imp_EnterCriticalSection;
    if (g_pause_held == NULL || g_pause_go == NULL)
        return FALSE;
    return patch_slot(&__imp_EnterCriticalSection, &hook, sizeof(hook));
}

void ct_pause_arm(DWORD thread, const void *lo, size_t len)
{
    ck_assert_msg(InitOnceExecuteOnce(&g_hook_once, install_hook, NULL, NULL), "cannot hook EnterCriticalSection");
    ResetEvent(g_pause_held);
    ResetEvent(g_pause_go);
    g_pause_lo = lo;
    g_pause_len = len;
    InterlockedExchange(&g_pause_thread, (LONG)thread);
}

int ct_pause_wait(unsigned timeout_ms)
{
    return WaitForSingleObject(g_pause_held, timeout_ms) == WAIT_OBJECT_0;
}

void ct_pause_release(void)
{
    InterlockedExchange(&g_pause_thread, 0);
    SetEvent(g_pause_go);
}

/* ------------------------------------------------------------------------------------------------------- */
/* Counting the bytes one thread copies (see coretest.h).                                                   */

typedef void *(__cdecl *ct_copy_fn)(void *, const void *, size_t);
extern ct_copy_fn __imp_memmove;
extern ct_copy_fn __imp_memcpy;
static ct_copy_fn g_real_memmove, g_real_memcpy;
static INIT_ONCE g_copy_once = INIT_ONCE_STATIC_INIT;
static volatile LONG g_copy_thread;
static volatile LONG64 g_copy_bytes;

static void *__cdecl hook_memmove(void *dst, const void *src, size_t n)
{
    if ((DWORD)g_copy_thread == GetCurrentThreadId())
        InterlockedExchangeAdd64(&g_copy_bytes, (LONG64)n);
    return g_real_memmove(dst, src, n);
}

static void *__cdecl hook_memcpy(void *dst, const void *src, size_t n)
{
    if ((DWORD)g_copy_thread == GetCurrentThreadId())
        InterlockedExchangeAdd64(&g_copy_bytes, (LONG64)n);
    return g_real_memcpy(dst, src, n);
}

static BOOL CALLBACK install_copy_hooks(PINIT_ONCE once, PVOID param, PVOID *context)
{
    ct_copy_fn mv = hook_memmove, cp = hook_memcpy;

    (void)once;
    (void)param;
    (void)context;
    g_real_memmove = __imp_memmove;
    g_real_memcpy = __imp_memcpy;
    return patch_slot(&__imp_memmove, &mv, sizeof(mv)) && patch_slot(&__imp_memcpy, &cp, sizeof(cp));
}

void ct_copy_count(DWORD thread)
{
    ck_assert_msg(InitOnceExecuteOnce(&g_copy_once, install_copy_hooks, NULL, NULL), "cannot hook memmove/memcpy");
    InterlockedExchange64(&g_copy_bytes, 0);
    InterlockedExchange(&g_copy_thread, (LONG)thread);
}

unsigned long long ct_copy_bytes(void)
{
    return (unsigned long long)InterlockedCompareExchange64(&g_copy_bytes, 0, 0);
}

/* ------------------------------------------------------------------------------------------------------- */
/* The syscall table, wrapped.                                                                              */

ct_sys ct_sys_state;
static int installed;

/* The link seam (see ph_win.h): this definition of the core's const table replaces the library's, and its
 * trampolines call through `live`, which only the tests change. real_sys is what the wrappers call on. */
static const ph_syscalls real_sys = {
    CreateNamedPipeW, ConnectNamedPipe, ReadFile, WriteFile, DisconnectNamedPipe, CreateFileW, CreateIoCompletionPort,
};
static ph_syscalls live = {
    CreateNamedPipeW, ConnectNamedPipe, ReadFile, WriteFile, DisconnectNamedPipe, CreateFileW, CreateIoCompletionPort,
};

/* Which port each instance was associated with, indexed by handle value / 4 (handle values are small multiples
 * of 4). Written at every association through ph__sys, so a value reused by a later instance is overwritten
 * before that instance issues anything; readers only look up handles of live server instances. */
#define CT_PORT_SLOTS (1u << 18)
typedef struct ct_port_slot {
    HANDLE port;
    ULONG_PTR key;
} ct_port_slot;
static ct_port_slot g_ports[CT_PORT_SLOTS];
static SRWLOCK g_ports_lock = SRWLOCK_INIT;

static void record_port(HANDLE file, HANDLE port, ULONG_PTR key)
{
    uintptr_t slot = (uintptr_t)file >> 2;

    if (file == NULL || file == INVALID_HANDLE_VALUE || slot >= CT_PORT_SLOTS)
        return;
    AcquireSRWLockExclusive(&g_ports_lock);
    g_ports[slot].port = port;
    g_ports[slot].key = key;
    ReleaseSRWLockExclusive(&g_ports_lock);
}

HANDLE ct_sys_port_of(HANDLE pipe, ULONG_PTR *key)
{
    uintptr_t slot = (uintptr_t)pipe >> 2;
    HANDLE port = NULL;

    if (key != NULL)
        *key = 0;
    if (pipe == NULL || pipe == INVALID_HANDLE_VALUE || slot >= CT_PORT_SLOTS)
        return NULL;
    AcquireSRWLockShared(&g_ports_lock);
    port = g_ports[slot].port;
    if (key != NULL)
        *key = g_ports[slot].key;
    ReleaseSRWLockShared(&g_ports_lock);
    return port;
}

typedef LONG(WINAPI *ct_nt_set_io_completion)(HANDLE, ULONG_PTR, ULONG_PTR, LONG, SIZE_T);

LONG ct_post_status(HANDLE port, ULONG_PTR key, OVERLAPPED *ov, LONG status, SIZE_T bytes)
{
    static ct_nt_set_io_completion set_io_completion;
    ct_nt_set_io_completion fn = set_io_completion;

    if (fn == NULL) {
        FARPROC proc = GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtSetIoCompletion");
        /* GetProcAddress hands out every export as a FARPROC; the real type is NtSetIoCompletion's. */
        fn = proc ? (ct_nt_set_io_completion)(void (*)(void))proc : NULL;
        if (fn == NULL)
            return (LONG)0xC0000002L; /* STATUS_NOT_IMPLEMENTED */
        set_io_completion = fn;
    }
    /* The operation's own status block says the same as the packet, as it would after a real completion. */
    ov->Internal = (ULONG_PTR)(ULONG)status;
    ov->InternalHigh = bytes;
    return fn(port, key, (ULONG_PTR)ov, status, bytes);
}

static HANDLE WINAPI tramp_create_pipe(LPCWSTR name, DWORD open_mode, DWORD pipe_mode, DWORD max, DWORD out_size,
                                       DWORD in_size, DWORD timeout, LPSECURITY_ATTRIBUTES sa)
{
    return live.CreateNamedPipeW(name, open_mode, pipe_mode, max, out_size, in_size, timeout, sa);
}

static BOOL WINAPI tramp_connect(HANDLE pipe, LPOVERLAPPED ov)
{
    return live.ConnectNamedPipe(pipe, ov);
}

static int g_simulate_queued; /* "queued" mode on a system whose inline ERROR_MORE_DATA queues nothing */
static volatile LONG g_posted;

long ct_skip_packets_posted(void)
{
    return (long)InterlockedCompareExchange(&g_posted, 0, 0);
}

static BOOL WINAPI tramp_read(HANDLE h, LPVOID buf, DWORD n, LPDWORD got, LPOVERLAPPED ov)
{
    BOOL ok = live.ReadFile(h, buf, n, got, ov);
    DWORD err, flags = 0;
    ULONG_PTR key = 0;
    HANDLE port;

    if (ok || !g_simulate_queued || ov == NULL)
        return ok;
    err = GetLastError();
    /* A read that ended at once with ERROR_MORE_DATA on a server instance (the client library reads through
     * this table too, on handles that have no port): queue the packet Windows may queue for it. */
    if (err == ERROR_MORE_DATA && GetNamedPipeInfo(h, &flags, NULL, NULL, NULL) && (flags & PIPE_SERVER_END) &&
        (port = ct_sys_port_of(h, &key)) != NULL) {
        LONG st = ct_post_status(port, key, ov, (LONG)0x80000005L /* STATUS_BUFFER_OVERFLOW */, ov->InternalHigh);
        if (st != 0) {
            printf("coretest: cannot queue the ERROR_MORE_DATA packet: NTSTATUS 0x%08lx\n", (unsigned long)st);
            fflush(stdout);
        } else {
            InterlockedIncrement(&g_posted);
        }
    }
    SetLastError(err);
    return ok;
}

static BOOL WINAPI tramp_write(HANDLE h, LPCVOID buf, DWORD n, LPDWORD put, LPOVERLAPPED ov)
{
    return live.WriteFile(h, buf, n, put, ov);
}

static BOOL WINAPI tramp_disconnect(HANDLE pipe)
{
    return live.DisconnectNamedPipe(pipe);
}

static HANDLE WINAPI tramp_create_file(LPCWSTR name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa, DWORD disp,
                                       DWORD flags, HANDLE tmpl)
{
    return live.CreateFileW(name, access, share, sa, disp, flags, tmpl);
}

static HANDLE WINAPI tramp_create_iocp(HANDLE file, HANDLE port, ULONG_PTR key, DWORD threads)
{
    HANDLE h = live.CreateIoCompletionPort(file, port, key, threads);

    if (h != NULL && file != INVALID_HANDLE_VALUE) {
        DWORD err = GetLastError();
        record_port(file, h, key);
        SetLastError(err);
    }
    return h;
}

const ph_syscalls ph__sys = {
    tramp_create_pipe, tramp_connect, tramp_read, tramp_write, tramp_disconnect, tramp_create_file, tramp_create_iocp,
};

static HANDLE WINAPI wrap_create_pipe(LPCWSTR name, DWORD open_mode, DWORD pipe_mode, DWORD max, DWORD out_size,
                                      DWORD in_size, DWORD timeout, LPSECURITY_ATTRIBUTES sa)
{
    ct_sys *t = &ct_sys_state;
    ct_pipe_record rec;
    HANDLE h = INVALID_HANDLE_VALUE;
    LONG slot;

    memset(&rec, 0, sizeof(rec));
    rec.open_mode = open_mode;
    rec.pipe_mode = pipe_mode;
    rec.max_instances = max;
    rec.out_size = out_size;
    rec.in_size = in_size;
    rec.thread = GetCurrentThreadId();
    if ((open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE) && t->fail_first_err != 0) {
        InterlockedIncrement(&t->failed);
        SetLastError(t->fail_first_err);
    } else if (!(open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE) && InterlockedDecrement(&t->fail_next) >= 0) {
        InterlockedIncrement(&t->failed);
        SetLastError(t->fail_next_err);
    } else {
        if (!(open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE) && t->next_delay_ms != 0) {
            SetEvent(t->delay_entered);
            Sleep(t->next_delay_ms);
        }
        InterlockedIncrement(&t->ncreates);
        h = real_sys.CreateNamedPipeW(name, open_mode, pipe_mode, max, out_size, in_size, timeout, sa);
        if (h != INVALID_HANDLE_VALUE) {
            DWORD err = GetLastError();
            rec.created = 1;
            GetNamedPipeInfo(h, &rec.info_flags, NULL, NULL, &rec.info_max);
            GetNamedPipeHandleState(h, &rec.state, NULL, NULL, NULL, NULL, 0);
            SetLastError(err);
        }
    }
    {
        DWORD err = GetLastError();
        slot = InterlockedIncrement(&t->npipes) - 1;
        if (slot < CT_PIPE_RECORDS)
            t->pipes[slot] = rec;
        SetLastError(err);
    }
    return h;
}

/* One use of an injection counter: n more times (it goes down to 0, never below), or always while negative. */
static int take_one(volatile LONG *counter, LONG seen)
{
    while (seen != 0) {
        LONG before;
        if (seen < 0)
            return 1;
        before = InterlockedCompareExchange(counter, seen - 1, seen);
        if (before == seen)
            return 1;
        seen = before;
    }
    return 0;
}

static BOOL WINAPI wrap_connect(HANDLE pipe, LPOVERLAPPED ov)
{
    ct_sys *t = &ct_sys_state;
    LONG race = InterlockedExchange(&t->race, CT_RACE_NONE);
    BOOL ok;

    InterlockedIncrement(&t->nconnects);
    if (t->fail_connect_async != 0 && ov != NULL) {
        LONG left = t->fail_connect_async;
        ULONG_PTR key = 0;
        HANDLE port = ct_sys_port_of(pipe, &key);
        if (port != NULL && take_one(&t->fail_connect_async, left)) {
            /* Pending, then ended with the error: the packet is queued before the caller even sees
             * ERROR_IO_PENDING, as a listen failing at once in the kernel could be. */
            InterlockedIncrement(&t->connect_async_failed);
            if (ct_post_status(port, key, ov, t->fail_connect_async_status, 0) == 0) {
                SetLastError(ERROR_IO_PENDING);
                return FALSE;
            }
        }
    }
    if (race != CT_RACE_NONE) {
        /* Only this instance listens (the test arranges it), so the client lands on it. */
        HANDLE c = CreateFileW(t->race_name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (c != INVALID_HANDLE_VALUE) {
            DWORD mode = PIPE_READMODE_MESSAGE;
            SetNamedPipeHandleState(c, &mode, NULL, NULL);
            if (race == CT_RACE_NO_DATA)
                CloseHandle(c);
            else
                t->race_client = c;
        }
        ok = real_sys.ConnectNamedPipe(pipe, ov);
        InterlockedExchange(&t->race_result, ok ? 0 : (LONG)GetLastError());
        if (!ok)
            SetLastError((DWORD)t->race_result);
        return ok;
    }
    if (t->fail_connect != 0) {
        LONG left = t->fail_connect;
        if (left < 0 || InterlockedDecrement(&t->fail_connect) >= 0) {
            InterlockedIncrement(&t->connect_failed);
            SetLastError(t->fail_connect_err);
            return FALSE;
        }
    }
    return real_sys.ConnectNamedPipe(pipe, ov);
}

static BOOL WINAPI wrap_read(HANDLE h, LPVOID buf, DWORD n, LPDWORD got, LPOVERLAPPED ov)
{
    ct_sys *t = &ct_sys_state;

    if (t->hold_armed) {
        DWORD flags = 0;
        int hold = 0;
        EnterCriticalSection(&t->lock);
        /* Server ends only: the client library reads through this table too. */
        if (t->hold_handle == NULL && GetNamedPipeInfo(h, &flags, NULL, NULL, NULL) && (flags & PIPE_SERVER_END))
            t->hold_handle = h;
        if (t->hold_handle == h && ++t->hold_reads == 2) {
            hold = 1;
            t->hold_armed = 0;
        }
        LeaveCriticalSection(&t->lock);
        if (hold) {
            /* Bounded, so a failing test cannot wedge a pool thread for ever. */
            SetEvent(t->hold_reached);
            WaitForSingleObject(t->hold_release, 10000);
        }
    }
    return real_sys.ReadFile(h, buf, n, got, ov);
}

static BOOL WINAPI wrap_write(HANDLE h, LPCVOID buf, DWORD n, LPDWORD put, LPOVERLAPPED ov)
{
    LONG slot = InterlockedIncrement(&ct_sys_state.nwrites) - 1;

    if (slot < CT_WRITE_RECORDS)
        ct_sys_state.write_len[slot] = n;
    return real_sys.WriteFile(h, buf, n, put, ov);
}

static HANDLE WINAPI wrap_create_file(LPCWSTR name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa, DWORD disp,
                                      DWORD flags, HANDLE tmpl)
{
    ct_sys *t = &ct_sys_state;

    InterlockedIncrement(&t->nopens);
    t->open_flags = flags;
    t->open_access = access;
    return real_sys.CreateFileW(name, access, share, sa, disp, flags, tmpl);
}

void ct_sys_install(void)
{
    ck_assert(!installed);
    memset(&ct_sys_state, 0, sizeof(ct_sys_state));
    InitializeCriticalSection(&ct_sys_state.lock);
    ct_sys_state.hold_reached = CreateEventW(NULL, TRUE, FALSE, NULL);
    ct_sys_state.hold_release = CreateEventW(NULL, TRUE, FALSE, NULL);
    ct_sys_state.delay_entered = CreateEventW(NULL, TRUE, FALSE, NULL);
    live.CreateNamedPipeW = wrap_create_pipe;
    live.ConnectNamedPipe = wrap_connect;
    live.ReadFile = wrap_read;
    live.WriteFile = wrap_write;
    live.CreateFileW = wrap_create_file;
    live.CreateIoCompletionPort = real_sys.CreateIoCompletionPort;
    installed = 1;
}

void ct_sys_restore(void)
{
    if (!installed)
        return;
    live = real_sys;
    SetEvent(ct_sys_state.hold_release);
    if (ct_sys_state.race_client != NULL && ct_sys_state.race_client != INVALID_HANDLE_VALUE)
        CloseHandle(ct_sys_state.race_client);
    CloseHandle(ct_sys_state.hold_reached);
    CloseHandle(ct_sys_state.hold_release);
    CloseHandle(ct_sys_state.delay_entered);
    DeleteCriticalSection(&ct_sys_state.lock);
    installed = 0;
}

void ct_sys_arm_race(const char *name, ct_connect_race race)
{
    char full[CT_NAME_MAX + 16];
    size_t i;

    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    for (i = 0; full[i] != '\0'; i++)
        ct_sys_state.race_name[i] = (wchar_t)full[i];
    ct_sys_state.race_name[i] = L'\0';
    InterlockedExchange(&ct_sys_state.race, race);
}

/* ------------------------------------------------------------------------------------------------------- */
/* Completion modes (see coretest.h): the engine's probe, overridden at link time.                          */

/* The real probe, compiled here under another name: this file's ph__probe_skip_mode below replaces the
 * library's, and the linker then never pulls probe.c's object (it holds nothing else) out of the library. */
#define ph__probe_skip_mode ct_real_probe_skip_mode
#include "../../core/src/win/probe.c"
#undef ph__probe_skip_mode

int ph__probe_skip_mode(int *more_data_queues);

ct_skip_mode ct_skip_mode_selected(void)
{
    const char *v = getenv("PH_TEST_SKIP_MODE");

    if (v == NULL || v[0] == '\0' || strcmp(v, "probe") == 0)
        return CT_SKIP_PROBE;
    if (strcmp(v, "inline") == 0)
        return CT_SKIP_INLINE;
    if (strcmp(v, "queued") == 0)
        return CT_SKIP_QUEUED;
    if (strcmp(v, "noskip") == 0)
        return CT_SKIP_NOSKIP;
    printf("coretest: unknown PH_TEST_SKIP_MODE \"%s\" (probe, inline, queued, noskip)\n", v);
    fflush(stdout);
    exit(1);
}

static void say_posted(void)
{
    printf("coretest: the seam queued %ld ERROR_MORE_DATA packets\n", ct_skip_packets_posted());
    fflush(stdout);
}

int ph__probe_skip_mode(int *more_data_queues)
{
    static volatile LONG said;
    int queues = 1;
    int usable = ct_real_probe_skip_mode(&queues) == 0;
    ct_skip_mode mode = ct_skip_mode_selected();
    const char *what = "probe";

    switch (mode) {
    case CT_SKIP_PROBE:
        break;
    case CT_SKIP_INLINE:
        /* Nothing can take back a packet the system queued: this mode exists only where it queues none. */
        if (!usable || queues)
            ph_test_skip("PH_TEST_SKIP_MODE=inline: this system does not complete ERROR_MORE_DATA reads inline "
                         "without a packet");
        what = "inline";
        break;
    case CT_SKIP_QUEUED:
        if (!usable)
            ph_test_skip("PH_TEST_SKIP_MODE=queued: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is not usable here");
        g_simulate_queued = !queues; /* where the system queues the packet itself, it needs no help */
        queues = 1;
        what = "queued";
        break;
    case CT_SKIP_NOSKIP:
        usable = 0;
        queues = 1;
        what = "noskip";
        break;
    }
    if (InterlockedExchange(&said, 1) == 0) {
        if (g_simulate_queued)
            atexit(say_posted);
        printf("coretest: completion mode %s: %s%s\n", what,
               usable ? "skip on success, ERROR_MORE_DATA " : "every completion through the port",
               usable ? (queues ? (g_simulate_queued ? "queued (simulated)" : "queued") : "inline") : "");
        fflush(stdout);
    }
    *more_data_queues = queues;
    return usable ? 0 : -1;
}
