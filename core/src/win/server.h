/* server.h — the server and connection structures shared by server.c (lifecycle), conn.c (state machine) and
 * timer.c (deadlines). The rules that govern them are written at the top of server.c and conn.c. */
#ifndef PH_SERVER_H
#define PH_SERVER_H

#include "ph_win.h"

typedef enum ph_conn_state {
    PH_CONN_ACCEPTING,   /* ConnectNamedPipe issued (or its packet posted): a slot waiting for a client */
    PH_CONN_IDLE,        /* ReadFile pending for the first bytes of the next request */
    PH_CONN_READING,     /* ReadFile pending for the rest of a request (ERROR_MORE_DATA seen) */
    PH_CONN_DISPATCHING, /* the handler is running; no I/O outstanding */
    PH_CONN_WRITING,     /* WriteFile issued for a response */
    PH_CONN_LINGERING    /* last response written; a read is pending to see the client leave */
} ph_conn_state;

/* Why a connection was closed by us rather than by its client. */
typedef enum ph_close_reason {
    PH_CLOSE_NONE = 0,
    PH_CLOSE_IDLE,
    PH_CLOSE_WRITE_TIMEOUT,
    PH_CLOSE_LINGER_DONE,
    PH_CLOSE_STOP,
    PH_CLOSE_TRIM /* a waiting instance beyond the (shrunk) target: close it, do not re-arm it */
} ph_close_reason;

typedef struct ph_conn {
    OVERLAPPED ov;           /* the one operation in flight; completions find the conn through it */
    struct ph_server *server;
    HANDLE pipe;
    struct ph_conn *prev, *next; /* server->conns, under server->lock */

    /* Under c->lock (see conn.c): */
    SRWLOCK lock;
    ph_conn_state state;
    ph_close_reason closing; /* set with CancelIoEx by the timer or stop; checked before every operation */
    int unread_reply;        /* a response was written and no request has followed: linger at stop */
    ULONGLONG linger_end;    /* LINGERING: when to give up waiting for the client to read and leave */
    unsigned linger_poll;    /* LINGERING: ms until the next check that the reply was read */

    /* Under server->tlock (timer.c): the deadline heap entry. t_due is the real deadline of the state named
     * by t_state (0 = none); t_key is where the entry sits in the heap (t_key <= t_due, entries are moved
     * later lazily when they reach the top). */
    ULONGLONG t_due, t_key;
    ph_conn_state t_state;
    long t_idx; /* -1 = not in the heap */

    /* Owned by whichever thread handles the connection's current completion: */
    uint64_t id;
    int draining;            /* the current request is over the limit: read and discard the rest */
    size_t msg_seen;         /* bytes of the current request so far, drained ones included */
    size_t msg_limit;        /* max_message_bytes when the request began */
    uint32_t write_ms;       /* write_timeout_ms when the request began (its response's deadline) */
    size_t read_hint;        /* size of the first read of the next request (follows recent request sizes) */
    DWORD deferred_want;     /* the size of the deferred read (see pool.c) */
    /* Length framing only: in holds the bytes read and not yet consumed, possibly several frames. */
    size_t frame_len;        /* the current frame's declared length, once its 4-byte header is in */
    int frame_limits;        /* the current frame has taken its limits (take_request_limits) */
    int close_after_write;
    int have_identity;
    ph_buf in;
    ph_response out;
    ph_client_info info;
    char sid[PH_SID_TEXT_MAX];
} ph_conn;

typedef enum ph_server_state {
    PH_SRV_CREATED,
    PH_SRV_STARTING,
    PH_SRV_RUNNING,
    PH_SRV_STOPPING,
    PH_SRV_STOPPED
} ph_server_state;

typedef struct ph_server {
    ph_server_config cfg;    /* strings below point into our own copies */
    char *pipe_name;         /* full "\\.\pipe\…" */
    wchar_t *wpipe_name;
    char *sddl;
    ph_logger log;
    unsigned pending_cap;    /* the adaptive pending target never grows past this */
    int skip_on_success;     /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on every instance */
    int more_data_queues;    /* with it, a read that ends at once with ERROR_MORE_DATA still queues a packet */

    /* Created by ph_server_new, closed by ph_server_free: valid whenever anyone can reach the server. */
    HANDLE timer_wake;       /* auto-reset: the timer thread re-plans (earlier deadline, stop, quit) */
    HANDLE drained;          /* manual-reset: stopping and no instance or reservation left */
    CRITICAL_SECTION life;   /* serialises start and the join of stop/free */

    /* Created by start, released after the join (under life): */
    PSECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa;
    HANDLE iocp;
    HANDLE *threads;
    unsigned nthreads;
    HANDLE timer;
    DWORD syserr;

    SRWLOCK lock;            /* guards everything below */
    ph_server_state state;
    int stop_requested;      /* a stop arrived while starting: start fails with PH_ECANCELED */
    DWORD start_thread;      /* the thread inside ph_server_start (0 when none) */
    int joined;
    ph_limits limits;
    ph_conn *conns;          /* every instance that exists, accepting or connected */
    unsigned live;           /* instances plus reservations (creates in progress): drained when 0 */
    unsigned instances;      /* pipe instances counted against max_instances (reservations included) */
    unsigned accepting;      /* instances waiting in ConnectNamedPipe (reservations included) */
    unsigned pending_target; /* adaptive: grows when a client takes the last waiting instance */
    ULONGLONG last_starved;  /* tick when accepts last came faster than the target (see conn.c) */
    ULONGLONG burst_start;   /* the current window of accepts */
    unsigned burst_accepts;
    ULONGLONG stop_deadline;
    uint64_t next_id;
    /* Refill failures back off (10 ms doubling to 1 s) and are logged once when they start and once when
     * they clear; only the timer thread retries while backing off. */
    unsigned refill_failures;
    DWORD refill_error;
    unsigned refill_backoff;
    ULONGLONG refill_at;     /* 0 = no retry scheduled */

    /* The pool (pool.c), under plock: threads waiting on the port, running a completion, parked. */
    SRWLOCK plock;
    HANDLE park;             /* semaphore the parked pool threads wait on; lives as long as the object */
    unsigned p_waiting, p_busy, p_parked;
    ULONGLONG p_last_busy, p_stuck_since; /* for the watch: see pool.c */
    int p_watch_asleep;      /* the watch stopped polling after a quiet second */
    int p_quit;

    SRWLOCK tlock;           /* guards the deadline heap and every conn's t_ fields */
    ph_conn **heap;
    long heap_len, heap_cap;
    ULONGLONG t_wake_at;     /* when the timer thread plans to look next (~0 = not before a signal) */
    int timer_quit;

    volatile LONG handler_us; /* recent handler run time (moving average, µs): deferral only for quick ones */
    LARGE_INTEGER qpc_freq;
    volatile LONG64 c_total, c_active, c_requests, c_errors, c_bytes_in, c_bytes_out;
} ph_server;

#define PH_KEY_QUIT ((ULONG_PTR)1)

/* conn.c */
/* Creates one instance and starts it accepting; the caller reserved it (live, instances, accepting).
 * Returns a Win32 error (the reservation then released) or 0. */
DWORD ph__conn_add_instance(ph_server *s, int first);
void ph__conn_on_completion(ph_conn *c, DWORD bytes, DWORD err);
/* Issues the read a pool thread deferred for c (see pool.c), handling what completes at once. */
void ph__conn_post_deferred(ph_conn *c);
/* Keeps pending_target instances waiting while the server runs; returns the Win32 error of a failed
 * create or accept (after scheduling a retry) or 0. */
DWORD ph__conn_refill(ph_server *s);
/* True only when the client has read everything written to pipe; false when unknown. */
int ph__reply_consumed(HANDLE pipe);
/* Under s->lock (shared is enough): applies the stop rules to every instance. */
void ph__conn_stop_walk_locked(ph_server *s, ULONGLONG now);
/* Under s->lock (shared is enough): cancels up to n waiting instances beyond the target. */
void ph__conn_trim_locked(ph_server *s, unsigned n);
/* The timer found c's deadline due: called under s->tlock with c->lock held. Returns the next due tick for
 * c (0 = none). */
ULONGLONG ph__conn_on_deadline(ph_conn *c, ULONGLONG now);

/* timer.c */
void ph__timer_arm_locked(ph_server *s, ph_conn *c, ph_conn_state st, ULONGLONG due); /* under c->lock */
void ph__timer_remove(ph_server *s, ph_conn *c);
int ph__timer_init(ph_server *s);
void ph__timer_free(ph_server *s);
DWORD WINAPI ph__timer_main(LPVOID arg);
/* Wakes the timer thread if it plans to sleep past due. */
void ph__timer_kick(ph_server *s, ULONGLONG due);

/* probe.c: how FILE_SKIP_COMPLETION_PORT_ON_SUCCESS behaves here; 0 when it can be used. */
int ph__probe_skip_mode(int *more_data_queues);

/* pool.c: the completion-port threads. */
DWORD WINAPI ph__pool_main(LPVOID arg);
/* Wakes every parked thread and asks every pool thread to end (under life, at the join). */
void ph__pool_quit(ph_server *s);
/* Run by the timer thread: wakes a parked thread when everyone is busy; returns when to look next. */
ULONGLONG ph__pool_watch(ph_server *s, ULONGLONG now);

/* One of a server's own threads (pool or timer). A pool thread may hold a few connections whose next reads
 * it has deferred (see pool.c). */
#define PH_DEFER_SLOTS 32
typedef struct ph_worker {
    ph_server *server;
    ph_conn *deferred[PH_DEFER_SLOTS];
    unsigned ndeferred;
} ph_worker;
/* server.c: marks the calling thread as w->server's own; stop never joins on such a thread. */
void ph__mark_worker(ph_worker *w);
ph_worker *ph__current_worker(void); /* NULL on other threads */
int ph__on_server_thread(const ph_server *s);

#endif /* PH_SERVER_H */
