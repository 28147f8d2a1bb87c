/* coretest.h — what the core's Windows tests share: a scripted handler, servers, clients, threads, waits, probes. */
#ifndef PH_CORETEST_H
#define PH_CORETEST_H

#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <stddef.h>
#include <stdint.h>
#include <windows.h>

/* Pipe names for tests: unique per case and run (see ph_test_pipe_name). */
#define CT_NAME_MAX 128

/* ---------------------------------------------------------------------------------------------------------
 * The scripted handler. A request is a command word and an argument; anything else is echoed back verbatim,
 * so binary payloads round-trip. Commands are upper case and test payloads never start with one.
 *   SLEEP <ms>  sleep, then reply "SLEPT"        BIG <n>   reply n bytes of ct_fill(…, 0)
 *   NOREPLY     PH_NO_REPLY                      CLOSE     reply "BYE", PH_REPLY_CLOSE
 *   WHO         reply "<pid> <session> <sid>" (ph_request_client), recorded in who
 *   CONN        reply the connection id in decimal
 *   STOP        ph_server_stop from the handler, reply "STOPPING"
 * It records what the tests assert on: calls, concurrency, the pool threads it ran on, the identity seen,
 * oversized requests, and requests whose fields are inconsistent (bad).
 * ------------------------------------------------------------------------------------------------------- */
#define CT_MAX_THREADS 64

typedef struct ct_ctx {
    ph_server *server; /* for STOP; set by ct_start */
    CRITICAL_SECTION lock;
    volatile LONG calls;
    volatile LONG active;
    volatile LONG max_active;
    volatile LONG too_large;
    volatile LONG bad;
    HANDLE entered; /* auto-reset: set each time a SLEEP starts */
    /* Under lock: */
    DWORD threads[CT_MAX_THREADS];
    unsigned nthreads;
    size_t too_large_len;
    size_t last_len;
    ph_client_info who;
    char who_sid[256];
    int stop_rc;
    unsigned long long stop_ms;
} ct_ctx;

void ct_ctx_init(ct_ctx *ctx);
void ct_ctx_free(ct_ctx *ctx);
ph_handler_result ct_handler(void *ctx, const ph_request *req, ph_response *resp);

/* Deterministic payload bytes (all byte values occur) and their check; first byte is never a command letter. */
void ct_fill(unsigned char *buf, size_t n, unsigned seed);
int ct_check(const unsigned char *buf, size_t n, unsigned seed);

/* ---------------------------------------------------------------------------------------------------------
 * Log capture: every message is kept (the first CT_LOG_KEEP) and counted by level, and echoed to stdout so a
 * failing test's output shows what the server said.
 * ------------------------------------------------------------------------------------------------------- */
#define CT_LOG_KEEP 512
typedef struct ct_log {
    CRITICAL_SECTION lock;
    unsigned n;
    volatile LONG by_level[4];
    volatile LONG out_of_range; /* a level outside the enum, or an empty text */
    int quiet;                  /* do not echo (tests that log a lot) */
    struct {
        ph_log_level level;
        char text[240];
    } e[CT_LOG_KEEP];
} ct_log;
void ct_log_init(ct_log *lg);
void ct_log_free(ct_log *lg);
void ct_log_fn(void *ctx, ph_log_level level, const char *message);
/* True when a kept message of that level contains needle. */
int ct_log_has(ct_log *lg, ph_log_level level, const char *needle);
/* How many kept messages of that level contain needle. */
int ct_log_count(ct_log *lg, ph_log_level level, const char *needle);
/* Polls until a kept message of that level contains needle; 1 when one did within timeout_ms. */
int ct_wait_log(ct_log *lg, ph_log_level level, const char *needle, unsigned timeout_ms);

/* ---------------------------------------------------------------------------------------------------------
 * Servers and clients.
 * ------------------------------------------------------------------------------------------------------- */
/* Defaults for a test server: a fresh pipe name (written to name), the scripted handler on ctx, 4 threads,
 * 2 pending instances, and the log (if given) at PH_LOG_INFO. */
void ct_config(ph_server_config *cfg, char *name, size_t name_size, const char *tag, ct_ctx *ctx, ct_log *lg);
/* ph_server_new + ph_server_start, failing the test on error; sets ctx->server. */
ph_server *ct_start(const ph_server_config *cfg, ct_ctx *ctx);
/* Connects within 5 s or fails the test. */
ph_client *ct_connect(const char *name);
/* Transacts (5 s, no size cap) and fails the test unless the response is exactly want. */
void ct_expect(ph_client *c, const void *req, size_t len, const void *want, size_t want_len);
void ct_expect_str(ph_client *c, const char *req, const char *want);
/* Transacts a text request; the response (NUL-terminated) goes to *resp, to be released with ph_free. */
int ct_transact(ph_client *c, const char *req, unsigned char **resp, size_t *resp_len, uint32_t timeout_ms);
/* A raw client handle in message read mode (overlapped if asked); INVALID_HANDLE_VALUE on failure. */
HANDLE ct_raw_connect(const char *name, DWORD access, int overlapped);
/* Reads one message from a synchronous raw client handle, waiting at most timeout_ms for it to arrive
 * (polling PeekNamedPipe, so a missing reply fails the test instead of hanging it). 0 or a Win32 error. */
DWORD ct_raw_read(HANDLE h, void *buf, DWORD size, DWORD *got, unsigned timeout_ms);
/* True when no pipe of that name exists (an open fails with ERROR_FILE_NOT_FOUND). */
int ct_pipe_gone(const char *name);
/* A raw synchronous client in byte mode, for length framing (what a stream API sees); fails the test if the
 * pipe cannot be opened within about 10 s. */
HANDLE ct_byte_connect(const char *name);
/* Reads exactly n bytes from a synchronous byte-mode handle within timeout_ms (polling, so a missing reply
 * fails instead of hanging): 0, the Win32 error that ended the stream, or WAIT_TIMEOUT. */
DWORD ct_read_exact(HANDLE h, void *buf, size_t n, unsigned timeout_ms);
void ct_put_le32(unsigned char *p, uint32_t v);

/* ---------------------------------------------------------------------------------------------------------
 * Waiting, bounded: poll a counter until it equals want; returns 1 when it did within timeout_ms.
 * ------------------------------------------------------------------------------------------------------- */
#define CT_WAIT(server, field, want, timeout_ms)                                                                       \
    ct_wait_counter((server), offsetof(ph_counters, field), (uint64_t)(want), (timeout_ms))
int ct_wait_counter(const ph_server *s, size_t field, uint64_t want, unsigned timeout_ms);
/* The same, until the counter is at least want. */
#define CT_WAIT_GE(server, field, want, timeout_ms)                                                                    \
    ct_wait_counter_ge((server), offsetof(ph_counters, field), (uint64_t)(want), (timeout_ms))
int ct_wait_counter_ge(const ph_server *s, size_t field, uint64_t want, unsigned timeout_ms);
uint64_t ct_counter(const ph_server *s, size_t field);
#define CT_COUNTER(server, field) ct_counter((server), offsetof(ph_counters, field))
/* Polls a LONG until it reaches at least want. */
int ct_wait_long(volatile LONG *v, LONG want, unsigned timeout_ms);

/* ---------------------------------------------------------------------------------------------------------
 * Client threads: n threads released together; fn must not use ck_assert (Check is not thread-safe without
 * fork), it records failures instead. Returns 1 when every thread finished within timeout_ms.
 * ------------------------------------------------------------------------------------------------------- */
typedef void (*ct_thread_fn)(void *arg, unsigned index);
int ct_run_threads(unsigned n, ct_thread_fn fn, void *arg, unsigned timeout_ms);
/* The same, started in the background: ct_join waits for them (bounded) and frees the group. */
typedef struct ct_threads ct_threads;
ct_threads *ct_spawn(unsigned n, ct_thread_fn fn, void *arg);
int ct_join(ct_threads *t, unsigned timeout_ms);

/* ---------------------------------------------------------------------------------------------------------
 * Pausing a thread inside the library: the test program's import of EnterCriticalSection (which the statically
 * linked core calls through) is redirected once to a hook that holds one chosen thread, at its next
 * EnterCriticalSection on a lock within [lo, lo + len), until released (or 10 s pass). This makes a window
 * between two of the library's steps, which no system call marks, as wide as a test needs. A library that
 * takes no such lock there never pauses: ct_pause_wait then says so and the test goes on without the window.
 * ------------------------------------------------------------------------------------------------------- */
void ct_pause_arm(DWORD thread, const void *lo, size_t len);
/* 1 once the armed thread is held in the hook (within timeout_ms). */
int ct_pause_wait(unsigned timeout_ms);
/* Lets the held thread go on (and disarms). */
void ct_pause_release(void);

/* Counting what one thread copies: memmove and memcpy, which the statically linked core calls through this
 * program's import table, are redirected once to wrappers that add the sizes asked of them on that thread.
 * ct_copy_count starts counting (from 0) for thread (0 = none); ct_copy_bytes says how many so far. Copies
 * the compiler inlines (small constant sizes) are not seen. */
void ct_copy_count(DWORD thread);
unsigned long long ct_copy_bytes(void);

/* ---------------------------------------------------------------------------------------------------------
 * Process probes.
 * ------------------------------------------------------------------------------------------------------- */
/* Threads of this process (Toolhelp snapshot). */
int ct_thread_count(void);
/* Open handles of this process: GetProcessHandleCount, or, where that reports nothing (Wine 8 returns 0),
 * a probe of every handle value (GetHandleInformation). */
long ct_handle_count(void);
/* This process's user SID as "S-1-…". */
void ct_self_sid(char *out, size_t size);
/* This process's committed private memory in bytes (PROCESS_MEMORY_COUNTERS.PagefileUsage: Wine 8 reports
 * PrivateUsage as 0, and PagefileUsage as the private commit). */
size_t ct_private_bytes(void);
/* This process's committed private memory in bytes, summed over its regions with VirtualQuery (MEM_COMMIT and
 * MEM_PRIVATE): what Windows calls private bytes, and what Wine tracks the same way, untouched pages included. */
size_t ct_private_commit(void);
/* This process's CPU time (user + kernel) in milliseconds. */
unsigned long long ct_cpu_ms(void);

/* ---------------------------------------------------------------------------------------------------------
 * The core's syscall table (ph__sys), wrapped: records what the server asked for and injects failures and
 * races the real system would produce only by chance. ct_sys_install before the server starts;
 * ct_sys_restore at the end of the test.
 * ------------------------------------------------------------------------------------------------------- */
#define CT_PIPE_RECORDS 256
#define CT_WRITE_RECORDS 64
typedef struct ct_pipe_record {
    DWORD open_mode, pipe_mode, max_instances, out_size, in_size;
    int created;      /* the real call returned a handle */
    DWORD thread;     /* the thread that asked */
    DWORD info_flags; /* read back from the live handle: GetNamedPipeInfo */
    DWORD info_max;
    DWORD state; /* GetNamedPipeHandleState */
} ct_pipe_record;

typedef enum ct_connect_race {
    CT_RACE_NONE = 0,
    CT_RACE_CONNECTED, /* a client opens the instance before ConnectNamedPipe: ERROR_PIPE_CONNECTED */
    CT_RACE_NO_DATA    /* a client opens and closes it before ConnectNamedPipe: ERROR_NO_DATA */
} ct_connect_race;

typedef struct ct_sys {
    CRITICAL_SECTION lock;
    /* CreateNamedPipeW */
    ct_pipe_record pipes[CT_PIPE_RECORDS];
    volatile LONG npipes;
    DWORD fail_first_err;    /* fail a FILE_FLAG_FIRST_PIPE_INSTANCE create with this error */
    volatile LONG fail_next; /* fail this many non-first creates… */
    DWORD fail_next_err;     /* …with this error */
    volatile LONG failed;    /* creates failed by injection */
    DWORD next_delay_ms;     /* sleep this long before each non-first create (widens start-up races) */
    HANDLE delay_entered;    /* manual-reset: a delayed create has begun its sleep */
    volatile LONG ncreates;  /* CreateNamedPipeW calls that reached the real function */
    /* ConnectNamedPipe */
    volatile LONG fail_connect; /* fail ConnectNamedPipe at once with fail_connect_err: n more times, or
                                   always while negative */
    DWORD fail_connect_err;
    volatile LONG connect_failed; /* ConnectNamedPipe calls failed by injection */
    volatile LONG race; /* ct_connect_race for the next ConnectNamedPipe; cleared when used */
    wchar_t race_name[CT_NAME_MAX + 16];
    HANDLE race_client;        /* the client the CONNECTED race opened (message mode, synchronous) */
    volatile LONG race_result; /* the error the real ConnectNamedPipe returned in the race */
    /* ConnectNamedPipe that fails asynchronously: instead of listening, report ERROR_IO_PENDING and queue a
     * completion packet with fail_connect_async_status (an NTSTATUS) on the instance's port, as a listen
     * that ends in an error would: n more times, or always while negative. */
    volatile LONG fail_connect_async;
    LONG fail_connect_async_status;
    volatile LONG connect_async_failed; /* ConnectNamedPipe calls failed that way */
    volatile LONG nconnects;            /* ConnectNamedPipe calls that reached the wrapper */
    /* ReadFile: hold the server's second read on the first server handle read after arming (a continuation
     * read when the first message is larger than the first read) until release is set. */
    volatile LONG hold_armed;
    HANDLE hold_handle;
    volatile LONG hold_reads;
    HANDLE hold_reached; /* manual-reset: the held read is waiting */
    HANDLE hold_release; /* manual-reset */
    /* WriteFile through the table (the library's writes: the client's, and the server's): how many, and the
     * length each asked for (the first CT_WRITE_RECORDS). */
    volatile LONG nwrites;
    DWORD write_len[CT_WRITE_RECORDS];
    /* CreateFileW */
    volatile LONG nopens;
    DWORD open_flags; /* dwFlagsAndAttributes of the last open */
    DWORD open_access;
} ct_sys;

extern ct_sys ct_sys_state;
/* The completion port and key an instance was associated with through ph__sys (recorded whether or not the
 * wrappers are installed); NULL if none was. */
HANDLE ct_sys_port_of(HANDLE pipe, ULONG_PTR *key);
/* Queues a completion packet for ov on port with an NTSTATUS of our choosing (NtSetIoCompletion):
 * GetQueuedCompletionStatus then returns FALSE with the matching Win32 error for an error or warning status,
 * as for an operation that ended that way. Returns 0 or the NTSTATUS of the failure. */
LONG ct_post_status(HANDLE port, ULONG_PTR key, OVERLAPPED *ov, LONG status, SIZE_T bytes);
/* Makes the next ConnectNamedPipe on pipe `name` (bare or full) meet the given client race. */
void ct_sys_arm_race(const char *name, ct_connect_race race);
void ct_sys_install(void);
void ct_sys_restore(void);

/* ---------------------------------------------------------------------------------------------------------
 * Completion modes. The engine asks ph__probe_skip_mode (probe.c) once how FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
 * behaves; the test helpers override it at link time (as they do ph__sys) so that the environment variable
 * PH_TEST_SKIP_MODE chooses what the engine is told and what the system then does:
 *   unset or "probe"  the real probe's answer (under Wine 8: skip on success, ERROR_MORE_DATA handled inline);
 *   "inline"          skip on success with an inline ERROR_MORE_DATA queueing no packet (Wine's behaviour; a
 *                     system where it does queue one cannot show this mode: the case is skipped there);
 *   "queued"          skip on success with an inline ERROR_MORE_DATA *also* queueing a packet, as Windows may:
 *                     where the system does not, the ReadFile trampoline queues it itself on the instance's port;
 *   "noskip"          no skipping: every completion goes through the port.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum ct_skip_mode { CT_SKIP_PROBE = 0, CT_SKIP_INLINE, CT_SKIP_QUEUED, CT_SKIP_NOSKIP } ct_skip_mode;
/* The mode PH_TEST_SKIP_MODE selects (an unknown value fails the test at the first server start). */
ct_skip_mode ct_skip_mode_selected(void);
/* How many ERROR_MORE_DATA packets the "queued" mode has queued itself so far. */
long ct_skip_packets_posted(void);

#endif /* PH_CORETEST_H */
