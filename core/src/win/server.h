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
    PH_CONN_LINGERING,   /* last response written, the instance is to be re-armed: a read is pending to see the
                            client leave (what it still sends is discarded) */
    PH_CONN_PARKED,      /* fixed pool: re-arming failed; the instance is kept (its slot held) until the
                            listener's retry (listener.c) */
    PH_CONN_HELD         /* the handler deferred the request (ph_request_defer): waiting for its reply, with
                            at most a zero-byte read pending to see the client leave (held_io) */
} ph_conn_state;

/* A held request's wake-up, under c->lock while the connection is HELD: exactly one packet reaches a pool
 * thread per wake (conn.c, wake_held_locked). */
typedef enum ph_held_io {
    PH_HELD_WATCHING = 0, /* the zero-byte watch read is pending: cancelling it wakes the connection */
    PH_HELD_QUIET,        /* nothing is pending (data arrived, so the watch ended): a posted packet wakes it */
    PH_HELD_WAKING        /* a packet is coming, or the owner is looking at the connection now */
} ph_held_io;

/* A held request's handle (ph_deferred in pipehost.h). Two references: the holder's, released when it
 * completes the handle, and the connection's, released when the connection takes the reply or ends. */
struct ph_deferred {
    SRWLOCK lock;                 /* guards conn, holder_done, canceled, result; before c->lock */
    struct ph_conn *conn;         /* NULL once the connection let go of the handle */
    volatile LONG refs;
    int holder_done;              /* the holder completed it (or handed it to the timer) */
    int canceled;                 /* the connection ended before the reply was taken */
    ph_handler_result result;
    uint64_t conn_id;
    ph_deferred_cancel_fn on_cancel;
    void *cancel_ctx;
    ph_response resp;             /* the holder's until it completes, then the connection's */
};

/* Why a connection ends. conn.c's finish table (conn_finish) gives each its accounting; listener.c decides
 * what happens to the instance. */
typedef enum ph_end {
    PH_END_NONE = 0,
    PH_END_LEFT,           /* the client closed its end between requests, or after its last reply */
    PH_END_LEFT_MID,       /* the client left while a request was being read or its response written */
    PH_END_IO_ERROR,       /* a read or write failed for another reason */
    PH_END_IDLE,           /* no request within the idle timeout */
    PH_END_FIRST_REQUEST,  /* no first request within first_request_timeout_ms */
    PH_END_WRITE_TIMEOUT,  /* the client did not read its response within the write timeout */
    PH_END_REPLIED_CLOSE,  /* the last reply is written and the connection is to end (PH_REPLY_CLOSE, too
                              large, over the per-user limit) */
    PH_END_LINGER_DONE,    /* lingering after such a reply: the client left or its time is up */
    PH_END_STOP,           /* the server is stopping: cancelled, or a new request refused */
    PH_END_NOMEM,          /* a buffer could not be had */
    PH_END_ACCEPT_FAILED,  /* ConnectNamedPipe failed (at once or in its completion) */
    PH_END_TRIM            /* unlimited pool: a waiting instance beyond the (shrunk) target */
} ph_end;

/* What the timer or the stop walk asked of a connection (c->cancel, under c->lock). */
typedef enum ph_cancel {
    PH_CANCEL_NONE = 0,
    PH_CANCEL_END,   /* end the connection with c->cancel_why */
    PH_CANCEL_SHRINK /* an idle read's buffer is large: cancel it and read again into a small one */
} ph_cancel;

typedef struct ph_conn {
    OVERLAPPED ov;           /* the one operation in flight; completions find the conn through it */
    struct ph_server *server;
    HANDLE pipe;
    struct ph_conn *prev, *next; /* server->conns, under server->lock */

    /* Under c->lock (see conn.c): */
    SRWLOCK lock;
    ph_conn_state state;
    ph_cancel cancel;        /* set with CancelIoEx by the timer or stop; checked before every operation */
    ph_end cancel_why;
    ULONGLONG idle_due;      /* IDLE/READING: when the connection ends for want of a request (0 = never) */
    ULONGLONG shrink_due;    /* IDLE: when a pending read's large buffer is given back (0 = never) */
    ULONGLONG linger_end;    /* LINGERING: when to stop waiting for the client to leave (0 = never) */

    /* Under server->tlock (timer.c): the deadline heap entry. t_due is the real deadline of the state named
     * by t_state (0 = none); t_key is where the entry sits in the heap (t_key <= t_due, entries are moved
     * later lazily when they reach the top). */
    ULONGLONG t_due, t_key;
    ph_conn_state t_state;
    long t_idx; /* -1 = not in the heap */

    /* Owned by whichever thread handles the connection's current completion: */
    uint64_t id;
    uint64_t requests;       /* requests dispatched on this connection (0: the first is still awaited) */
    int draining;            /* the current request is over the limit: read and discard the rest */
    size_t msg_seen;         /* bytes of the current request so far, drained ones included */
    size_t msg_limit;        /* max_message_bytes when the request began */
    uint32_t write_ms;       /* write_timeout_ms when the request began (its response's deadline) */
    size_t read_hint;        /* size of the first read of the next request (follows recent request sizes) */
    DWORD deferred_want;     /* the size of the deferred read (see pool.c) */
    /* Length framing only: in holds the bytes read and not yet consumed from in_off on, possibly several
     * frames; frames are consumed by moving in_off, and the rest moves to the front only before a read. */
    size_t in_off;
    size_t frame_len;        /* the current frame's declared length, once its 4-byte header is in */
    int frame_limits;        /* the current frame has taken its limits (take_request_limits) */
    unsigned pipelined;      /* frames dispatched back to back without a read: bounded per turn (conn.c) */
    int close_after_write;
    DWORD last_err;          /* the Win32 error that ended the last operation (for the listener's log) */
    ph_end ending;           /* a step's STEP_END reason */
    DWORD post_bytes, post_err; /* a result posted to the port with PH_KEY_RESULT (pool.c, conn.c) */
    ph_end close_why;        /* why, when close_after_write */
    int close_too_large;     /* the close after the write answers a request over the limit (conn_close's reason) */
    int in_handler;          /* the handler is running (ph_request_defer is allowed) */
    int opened;              /* the first request passed conn_open: conn_close runs once at the end */
    void *conn_data;         /* the host's (ph_request_conn_data) */
    struct ph_deferred *held; /* the request the handler deferred, until its reply is taken or it is cancelled */
    int held_empty;          /* message mode: the watch read took an empty message, the next request */
    /* Under c->lock while a request is held: */
    ph_held_io held_io;
    int held_ready;          /* its reply is ready (the holder completed it, or its delay is over) */
    ULONGLONG held_due;      /* ph_deferred_complete_after: when the timer makes it ready (0 = not timed) */
    int have_identity;
    int user_counted;        /* counted in server->users under the client's SID */
    int counted_active;      /* counted in connections_active */
    size_t buffered;         /* bytes of in + out capacity, as counted in server->c_buffered */
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

/* Connections per user (the client's SID), for max_connections_per_user: a small array searched linearly
 * under server->lock, since the distinct users of one local pipe are few. */
typedef struct ph_user_count {
    char sid[PH_SID_TEXT_MAX];
    unsigned n;
} ph_user_count;

typedef struct ph_server {
    ph_server_config cfg;    /* strings below point into our own copies */
    char *pipe_name;         /* full "\\.\pipe\…" */
    wchar_t *wpipe_name;
    char *sddl;
    ph_logger log;
    int fixed;               /* a fixed pool of cfg.max_instances instances (max_instances < 255): listener.c */
    unsigned pending_cap;    /* unlimited pool: the adaptive pending target never grows past this */
    int skip_on_success;     /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on every instance */
    int more_data_queues;    /* with it, a read that ends at once with ERROR_MORE_DATA still queues a packet */

    /* Created by ph_server_new, closed by ph_server_free: valid whenever anyone can reach the server. */
    HANDLE timer_wake;       /* auto-reset: the timer thread re-plans (earlier deadline, stop, quit) */
    HANDLE drained;          /* manual-reset: stopping and no instance or reservation left */
    CRITICAL_SECTION life;   /* serialises start and the join of stop/free */

    /* Created by start, released after the join (under life): */
    PSECURITY_DESCRIPTOR sd;      /* the strict descriptor every instance is created with */
    PSECURITY_DESCRIPTOR wide_sd; /* fixed pool: the strict one widened (listener.c) */
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
    /* The listener's (listener.c): */
    HANDLE dacl_pipe;        /* fixed pool: an instance handle opened with WRITE_DAC, valid while widened */
    int widened;             /* fixed pool: the pipe's DACL is the wide one now */
    DWORD narrow_err;        /* the narrowing at stop failed with this (logged by ph_server_stop, unlocked) */
    unsigned parked;         /* fixed pool: instances whose re-arm failed, waiting for a retry */
    unsigned pending_target; /* unlimited: grows when a client takes the last waiting instance */
    ULONGLONG last_starved;  /* tick when accepts last came faster than the target */
    ULONGLONG burst_start;   /* the current window of accepts */
    unsigned burst_accepts;
    ULONGLONG next_shrink;
    /* Failures to add or re-arm an instance back off (10 ms doubling to 1 s) and are logged once when they
     * start and once when they clear; only the timer thread retries while backing off. */
    unsigned refill_failures;
    int failing_accepts;     /* the streak includes accepts that failed: only a connected client ends it */
    DWORD refill_error;
    unsigned refill_backoff;
    ULONGLONG refill_at;     /* 0 = no retry scheduled */
    ULONGLONG stop_deadline;
    uint64_t next_id;
    ph_user_count *users;    /* max_connections_per_user: connections per SID (entries with n == 0 reused) */
    unsigned nusers, users_cap;

    /* The pool (pool.c), under plock: threads waiting on the port, running a completion, parked. */
    SRWLOCK plock;
    HANDLE park;             /* semaphore the parked pool threads wait on; lives as long as the object */
    unsigned p_waiting, p_busy, p_parked;
    ULONGLONG p_last_busy, p_stuck_since; /* for the watch: see pool.c */
    volatile LONG p_watch_asleep; /* the watch stopped polling after a quiet second */
    struct ph_worker **workers; /* the pool threads' workers (their deferred reads may be taken over) */
    unsigned nworkers;
    int p_quit;

    SRWLOCK tlock;           /* guards the deadline heap and every conn's t_ fields */
    ph_conn **heap;
    long heap_len, heap_cap;
    ULONGLONG t_wake_at;     /* when the timer thread plans to look next (~0 = not before a signal) */
    int timer_quit;

    volatile LONG handler_us; /* recent handler run time (moving average, µs): deferral only for quick ones */
    LARGE_INTEGER qpc_freq;
    volatile LONG64 c_total, c_active, c_requests, c_errors, c_bytes_in, c_bytes_out, c_buffered, c_held;
} ph_server;

#define PH_KEY_QUIT ((ULONG_PTR)1)
#define PH_KEY_RESULT ((ULONG_PTR)2) /* a posted result of the conn's own operation: post_bytes, post_err */

/* Under s->lock: the server takes clients and requests (a client may connect to the first instance while
 * start is still creating the others). */
static inline int ph__open_locked(const struct ph_server *s)
{
    return s->state == PH_SRV_RUNNING || (s->state == PH_SRV_STARTING && !s->stop_requested);
}

/* listener.c: the instances of the pipe name — how many exist and wait, which are created, re-armed or
 * closed, and the fixed pool's descriptor. The rules are at the top of listener.c. */
/* Start: creates the first instance (claiming the name) and the rest, then widens a fixed pool's DACL.
 * Returns 0 or a PH_E code with *err set. Under life, STARTING. */
int ph__listener_start(ph_server *s, DWORD *err);
/* A client connected on c (its accept completed): counts it, and refills the unlimited pool. Returns 0 to
 * serve it, or -1 when the server no longer takes clients (the caller ends the connection with
 * PH_END_STOP). */
int ph__listener_accepted(ph_server *s, ph_conn *c);
/* The connection on c ended (the caller owns c, with no operation outstanding and the client's session
 * over). Decides whether the instance is re-armed for the next client or closed, and does it; c may be
 * freed on return. unread: a reply may still be unread, so the instance is not disconnected (a disconnect
 * discards it): it is closed when that is allowed, or lingers first (conn.c) — the caller asks
 * ph__listener_may_close first. was_connected: a client was counted on it. */
void ph__listener_release(ph_conn *c, ph_end why, int was_connected);
/* An instance reserved (live, instances, accepting) was never made: the reservation goes. */
void ph__listener_unreserve(ph_server *s);
/* Whether ending the connection now may close its instance (stopping, or an unlimited pool that does not
 * need it); otherwise it will be re-armed, and a reply the client has not read must be waited for. */
int ph__listener_may_close(ph_server *s);
/* Run by the timer thread: retries, the unlimited pool's shrink. Returns when to look next (~0 = no need). */
ULONGLONG ph__listener_tick(ph_server *s, ULONGLONG now);
/* Under s->lock (exclusive), as the stop begins and before any instance may be closed: a fixed pool's DACL
 * goes back to the strict one. */
void ph__listener_narrow_locked(ph_server *s);

/* conn.c */
/* Creates the ph_conn of a new instance (already created: pipe), associates it with the port and starts it
 * accepting; the listener reserved it (live, instances, accepting). Returns a Win32 error (the instance then
 * closed and the reservation released) or 0. */
DWORD ph__conn_start_instance(ph_server *s, HANDLE pipe);
/* Starts the accept on an instance counted as accepting. Returns 0 (pending, or given up because the
 * server is stopping) or the Win32 error of a failed ConnectNamedPipe (the instance is then the caller's). */
DWORD ph__conn_accept(ph_conn *c);
/* Resets a connection's per-client state for its instance's next client. */
void ph__conn_reset(ph_conn *c);
/* Out of the heap, the list and the live count, then its handle and memory. */
void ph__conn_free(ph_conn *c);
void ph__conn_on_completion(ph_conn *c, DWORD bytes, DWORD err);
/* Issues the read a pool thread deferred for c (see pool.c); a result that is there at once is handled
 * here, or, with post set, posted to the port for another thread. */
void ph__conn_post_deferred(ph_conn *c, int post);
/* Under s->lock (shared is enough): applies the stop rules to every instance. */
void ph__conn_stop_walk_locked(ph_server *s, ULONGLONG now);
/* Under s->lock (shared is enough): cancels up to n waiting instances beyond the target. */
void ph__conn_trim_locked(ph_server *s, unsigned n);
/* The timer found c's deadline due: called under s->tlock with c->lock held. Returns the next due tick for
 * c (0 = none). */
ULONGLONG ph__conn_on_deadline(ph_conn *c, ULONGLONG now);

/* A held request's reply is ready (due 0) or is to be made ready at due by the timer; under d->lock and
 * c->lock. Returns 0, or PH_ECANCELED when the connection is ending without it. */
int ph__conn_reply_ready_locked(ph_conn *c, ULONGLONG due);
/* request.c: drops one reference to a held request's handle (freed with the last). */
void ph__deferred_unref(struct ph_deferred *d);

/* timer.c */
void ph__timer_arm_locked(ph_server *s, ph_conn *c, ph_conn_state st, ULONGLONG due); /* under c->lock */
void ph__timer_remove(ph_server *s, ph_conn *c);
/* Makes room in the heap for n entries, so that arming never allocates (and never fails) under a lock.
 * Returns 0 or -1 (out of memory). */
int ph__timer_reserve(ph_server *s, long n);
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
 * it has deferred (see pool.c); while it runs a handler, the timer's watch may take them over. */
#define PH_DEFER_SLOTS 32
typedef struct ph_worker {
    ph_server *server;
    SRWLOCK lock;              /* guards deferred, ndeferred and busy_since */
    ph_conn *deferred[PH_DEFER_SLOTS];
    unsigned ndeferred;
    ULONGLONG busy_since;      /* running a handler since (0 = not) */
} ph_worker;
/* pool.c: holds c's next read on w (under c->lock); 1 when taken, 0 when w has slots full already. */
int ph__pool_defer(ph_worker *w, ph_conn *c, unsigned slots);
/* Around a handler call: while it runs, reads the thread holds back may be posted by the watch (so no
 * connection whose request has arrived waits behind a slow handler). */
void ph__pool_handler_begin(ph_worker *w);
void ph__pool_handler_end(ph_worker *w);
/* server.c: marks the calling thread as w->server's own; stop never joins on such a thread. */
void ph__mark_worker(ph_worker *w);
ph_worker *ph__current_worker(void); /* NULL on other threads */
int ph__on_server_thread(const ph_server *s);

#endif /* PH_SERVER_H */
