/* server.h — the server and connection structures shared by server.c (lifecycle) and conn.c (state machine). */
#ifndef PH_SERVER_H
#define PH_SERVER_H

#include "ph_win.h"

typedef enum ph_conn_state {
    PH_CONN_ACCEPTING,   /* ConnectNamedPipe pending: a slot waiting for a client */
    PH_CONN_READING,     /* ReadFile pending for a request (or the rest of one) */
    PH_CONN_DISPATCHING, /* the handler is running; no I/O outstanding */
    PH_CONN_WRITING,     /* WriteFile pending for a response */
    PH_CONN_LINGERING    /* last response written; a read is pending to see the client leave */
} ph_conn_state;

/* Why a connection was closed by us rather than by its client. */
typedef enum ph_close_reason {
    PH_CLOSE_NONE = 0,
    PH_CLOSE_IDLE,
    PH_CLOSE_WRITE_TIMEOUT,
    PH_CLOSE_LINGER_DONE,
    PH_CLOSE_STOP
} ph_close_reason;

typedef struct ph_conn {
    OVERLAPPED ov;           /* the one operation in flight; completions find the conn through it */
    struct ph_server *server;
    HANDLE pipe;
    struct ph_conn *prev, *next; /* server->conns, under server->lock */
    /* Under server->lock: */
    ph_conn_state state;
    ULONGLONG deadline;      /* tick at which the reaper cancels the pending operation; 0 = none */
    ph_close_reason closing; /* set with CancelIoEx by the reaper or stop; checked first on every completion */
    int unread_reply;        /* a response was written and no request has followed: linger at stop */
    int mid_request;         /* part of a request has been read; the rest is coming */
    /* Owned by whichever pool thread handles the current completion: */
    uint64_t id;
    int draining;            /* the current request is over the limit: read and discard the rest */
    size_t msg_seen;         /* bytes of the current request so far, drained ones included */
    size_t msg_limit;        /* max_message_bytes when the request began */
    int close_after_write;
    int have_identity;
    ph_buf in;
    ph_response out;
    ph_client_info info;
    char sid[PH_SID_TEXT_MAX];
} ph_conn;

typedef enum ph_server_state { PH_SRV_CREATED, PH_SRV_RUNNING, PH_SRV_STOPPING, PH_SRV_STOPPED } ph_server_state;

typedef struct ph_server {
    ph_server_config cfg;    /* strings below point into our own copies */
    char *pipe_name;         /* full "\\.\pipe\…" */
    wchar_t *wpipe_name;
    char *sddl;
    ph_logger log;
    PSECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa;
    HANDLE iocp;
    HANDLE *threads;
    DWORD *thread_ids;
    unsigned nthreads;
    HANDLE reaper;
    HANDLE reaper_wake;      /* auto-reset: wakes the reaper early (stop) */
    HANDLE drained;          /* manual-reset: set when stopping and no connection is left */
    DWORD syserr;

    SRWLOCK lock;            /* guards everything below and each conn's locked fields */
    ph_server_state state;
    ph_limits limits;
    ph_conn *conns;
    unsigned instances;      /* pipe instances that exist (accepting or connected) */
    unsigned accepting;      /* instances waiting in ConnectNamedPipe */
    ULONGLONG stop_deadline;
    uint64_t next_id;
    int reaper_quit;

    CRITICAL_SECTION stop_lock; /* one stopper joins; the others wait for it */
    int joined;

    volatile LONG64 c_total, c_active, c_requests, c_errors, c_bytes_in, c_bytes_out;
} ph_server;

#define PH_KEY_QUIT ((ULONG_PTR)1)

/* conn.c */
int ph__conn_add_instance(ph_server *s, int first);
void ph__conn_on_completion(ph_conn *c, DWORD bytes, DWORD err);
DWORD ph__conn_refill(ph_server *s);
/* True only when the client has read everything written to pipe; false when unknown. */
int ph__reply_consumed(HANDLE pipe);
/* Under s->lock: what the reaper and stop do to one connection. */
void ph__conn_cancel_locked(ph_conn *c, ph_close_reason why);

#endif /* PH_SERVER_H */
