/* pipehost.h — the whole public API of the pipehost core: a named-pipe server, its client, and a verb router. */
#ifndef PIPEHOST_PIPEHOST_H
#define PIPEHOST_PIPEHOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PH_EXTERN marks exported symbols so the core can be built as a DLL (PH_BUILDING_DLL) or used from one
 * (PH_USING_DLL); as a static library it expands to nothing. */
#if defined(_WIN32) && defined(PH_BUILDING_DLL)
#define PH_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(PH_USING_DLL)
#define PH_EXTERN __declspec(dllimport)
#else
#define PH_EXTERN
#endif

/* printf-style checking; MinGW's C99 stdio (which we use, for %zu) is "gnu_printf" to GCC. */
#if defined(__MINGW32__)
#define PH_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define PH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PH_PRINTF(fmt, args)
#endif

#define PH_VERSION_MAJOR 0
#define PH_VERSION_MINOR 1
#define PH_VERSION_PATCH 0
#define PH_VERSION_STRING "0.1.0"
/* The version as one number, (major << 16) | (minor << 8) | patch, for comparisons. */
#define PH_VERSION_HEX ((PH_VERSION_MAJOR << 16) | (PH_VERSION_MINOR << 8) | PH_VERSION_PATCH)

/* The version of the library actually loaded (PH_VERSION_HEX / PH_VERSION_STRING as it was built), which
 * differs from the macros above when a program runs with another pipehost.dll than it was compiled with. */
PH_EXTERN unsigned ph_version(void);
PH_EXTERN const char *ph_version_string(void);

/* ABI: the structs below that the library reads or fills through a pointer (ph_server_config, ph_limits,
 * ph_counters) start with a `size` member that their _init function sets to sizeof the struct as the
 * caller was compiled. The library refuses a size it does not know with PH_EINVAL, so a program built
 * against one version never has a struct of another layout read or written behind its back: it gets
 * PH_EINVAL instead. Always initialise them with their _init function before setting fields.
 * What holds before 1.0: a library accepts only the exact sizes of its own header, so a program must be
 * rebuilt against the header of the pipehost.dll it runs with (a mismatch is refused, never misread); no
 * layout is kept across 0.x releases. From 1.0 on, structs only grow at their end and a library keeps
 * accepting the sizes of earlier 1.x headers. ph_limits is embedded by value in ph_server_config, so it
 * cannot grow without moving the members after it: from 1.0 it keeps its layout, and limits added later go
 * at the end of ph_server_config (and in a new struct for ph_server_set_limits). */

/* ---------------------------------------------------------------------------------------------------------
 * Errors. Every function that can fail returns 0 or a negative PH_E… code. Numbers are never reused: add new
 * codes at the end with the next free number. The raw Win32 error behind a failure is kept on the object
 * (ph_server_syserror, ph_client_syserror).
 * ------------------------------------------------------------------------------------------------------- */
#define PH_ERRNO_MAP(XX)                                                                   \
    XX(INVAL, -1, "invalid argument")                                                      \
    XX(NOMEM, -2, "out of memory")                                                         \
    XX(ADDRINUSE, -3, "pipe name already in use")                                          \
    XX(BADSDDL, -4, "invalid security descriptor string (SDDL)")                           \
    XX(NOTFOUND, -5, "pipe not found")                                                     \
    XX(TIMEDOUT, -6, "timed out")                                                          \
    XX(ACCESS, -7, "access denied")                                                        \
    XX(PIPE, -8, "broken pipe: the other end closed the connection")                       \
    XX(TOOBIG, -9, "message too large")                                                    \
    XX(BUSY, -10, "all pipe instances are busy")                                           \
    XX(STATE, -11, "operation not valid in the current state")                             \
    XX(SYS, -12, "system error (see the Win32 error code)")                                \
    XX(BADNAME, -13, "invalid pipe name")                                                  \
    XX(CANCELED, -14, "operation canceled")                                                \
    XX(EXISTS, -15, "already exists")                                                      \
    XX(NOTSUP, -16, "not supported on this platform")                                      \
    XX(UNTRUSTED, -17, "the pipe's server does not run as the required account")

typedef enum ph_err {
    PH_OK = 0,
#define PH_XX_(name, val, msg) PH_E##name = (val),
    PH_ERRNO_MAP(PH_XX_)
#undef PH_XX_
} ph_err;

/* Human-readable text / symbolic name ("PH_EADDRINUSE") of an error code; never NULL. */
PH_EXTERN const char *ph_strerror(int err);
PH_EXTERN const char *ph_err_name(int err);

#if defined(_WIN32)
/* The text of a Win32 error code (from ph_server_syserror, ph_client_syserror or GetLastError) on one line,
 * without the trailing period; "unknown error" if the system has none. Returns buf. Leaves GetLastError as
 * it was, so it can be called between a failing call and the code that reads it. */
PH_EXTERN const char *ph_syserror_text(unsigned long err, char *buf, size_t size);
#endif

/* Frees memory the library handed out (responses from ph_client_transact). */
PH_EXTERN void ph_free(void *p);

/* ---------------------------------------------------------------------------------------------------------
 * Logging. The host routes messages where it wants; with no callback the library is silent.
 * ------------------------------------------------------------------------------------------------------- */
typedef enum ph_log_level { PH_LOG_ERROR = 0, PH_LOG_WARN = 1, PH_LOG_INFO = 2, PH_LOG_DEBUG = 3 } ph_log_level;
typedef void (*ph_log_fn)(void *ctx, ph_log_level level, const char *message);
PH_EXTERN const char *ph_log_level_name(ph_log_level level); /* "error", "warn", "info", "debug" */

/* ---------------------------------------------------------------------------------------------------------
 * Pipe names. Accepts a bare name ("pipehost") or a full local name ("\\.\pipe\pipehost"); writes the full
 * form into out (NUL-terminated). Rejects empty names, names with '\' or '/' after the prefix, control
 * characters, other hosts ("\\server\pipe\x": remote pipes are never served), and names longer than 256.
 * One exception to the '\' rule: a name under a protected prefix, "ProtectedPrefix\Administrators\NAME",
 * "ProtectedPrefix\LocalService\NAME" or "ProtectedPrefix\NetworkService\NAME" (bare or full; the prefix's
 * words in any letter case, written out in this spelling; NAME follows the rules above; 256 characters in
 * all). Since Windows 10 1709 only Administrators and SYSTEM, LocalService, or NetworkService respectively can
 * create a pipe under those prefixes, so no other user can take such a name first (undocumented by Microsoft,
 * stable since; see core/src/name.c). On older systems the name works but is not protected.
 * Returns 0, PH_EBADNAME, or PH_EINVAL if out is too small.
 * ------------------------------------------------------------------------------------------------------- */
#define PH_PIPE_PREFIX "\\\\.\\pipe\\"
#define PH_PIPE_NAME_MAX 256
PH_EXTERN int ph_pipe_name_normalize(const char *name, char *out, size_t out_size);

/* ---------------------------------------------------------------------------------------------------------
 * Requests and responses.
 * ------------------------------------------------------------------------------------------------------- */
/* Who is on the other end of a connection, as the server sees it. user_sid is "S-1-…" or "" if unknown. */
typedef struct ph_client_info {
    unsigned long pid;
    unsigned long session_id;
    const char *user_sid;
} ph_client_info;

#define PH_REQ_TOO_LARGE 0x1u /* the request exceeded max_message_bytes: data is NULL, len is bytes seen */

typedef struct ph_request {
    const unsigned char *data; /* the whole request message, NUL-terminated for convenience (the NUL is not
                                  counted in len); valid during the call */
    size_t len;
    unsigned flags;            /* PH_REQ_… */
    size_t max_message_bytes;  /* the limit in force when the request was read */
    uint64_t connection_id;    /* unique per server, rising */
    void *internal_;           /* private to the library */
} ph_request;

/* The identity of the client that sent req: looked up on first use per connection and cached, so handlers
 * that do not need it do not pay for it (it takes several system calls). Never NULL; fields the server
 * could not determine are 0 or "". Valid during the handler call. */
PH_EXTERN const ph_client_info *ph_request_client(const ph_request *req);

/* In a handler only: the client's own token for acting as the client (a command verb run as its caller), a
 * HANDLE (as void *) with TOKEN_QUERY, TOKEN_DUPLICATE, TOKEN_IMPERSONATE and TOKEN_ASSIGN_PRIMARY that the
 * caller closes with CloseHandle. Only a client that connected allowing impersonation (PH_CLIENT_IMPERSONATION;
 * SECURITY_IMPERSONATION or SECURITY_DELEGATION) gives one: for an identification-level client it returns
 * PH_EACCESS (Wine ignores the level a client asks for, so there every client gives one). Returns 0,
 * PH_EINVAL (not in a handler), PH_EACCESS or PH_ESYS. */
PH_EXTERN int ph_request_client_token(const ph_request *req, void **token);

/* The response being built for one request: a growable buffer owned by the library. Used by one thread at a
 * time (the handler's, or a held request's holder). */
typedef struct ph_response ph_response;
/* Appends len bytes (binary-safe). Returns 0; PH_EINVAL (resp NULL, or data NULL with len > 0); PH_ENOMEM
 * (the response is unchanged). */
PH_EXTERN int ph_response_append(ph_response *resp, const void *data, size_t len);
/* Appends printf-formatted text. Returns 0; PH_EINVAL (resp or fmt NULL, or a format vsnprintf refuses);
 * PH_ENOMEM. On failure the response is unchanged. */
PH_EXTERN int ph_response_appendf(ph_response *resp, const char *fmt, ...) PH_PRINTF(2, 3);
/* "OK " followed by payload (binary-safe), or "ERR <code> <text>". Both replace what was appended before.
 * Return 0; PH_EINVAL (NULL arguments; the response is unchanged); PH_ENOMEM (the response is then empty
 * for ph_response_ok, and may hold part of the "ERR …" text for ph_response_err: set another or clear it). */
PH_EXTERN int ph_response_ok(ph_response *resp, const void *payload, size_t len);
PH_EXTERN int ph_response_err(ph_response *resp, const char *code, const char *fmt, ...) PH_PRINTF(3, 4);
/* The bytes so far and their number (0 and NULL for a NULL resp; data may be NULL while nothing was added).
 * The pointer is valid until the next ph_response_* call on resp. */
PH_EXTERN size_t ph_response_len(const ph_response *resp);
PH_EXTERN const unsigned char *ph_response_data(const ph_response *resp);
/* Empties the response (an empty reply is sent if nothing is added). */
PH_EXTERN void ph_response_clear(ph_response *resp);

/* What the handler wants done after it returns. */
typedef enum ph_handler_result {
    PH_REPLY = 0,       /* send the response (possibly zero bytes) and keep the connection */
    PH_NO_REPLY = 1,    /* send nothing; keep the connection */
    PH_REPLY_CLOSE = 2, /* send the response, then close the connection */
    PH_DEFER = 3        /* the reply comes later: the handler took the request with ph_request_defer */
} ph_handler_result;

/* Called on a server pool thread, once per request, in order per connection; different connections may
 * be handled concurrently, so the handler must be thread-safe. A slow handler occupies one pool thread: a
 * handler that has to wait defers its request instead (below). For a PH_REQ_TOO_LARGE request the
 * connection is closed after the reply whatever is returned; if the handler leaves the response empty, the
 * server sends "ERR too-large …". */
typedef ph_handler_result (*ph_handler_fn)(void *ctx, const ph_request *req, ph_response *resp);

/* ---------------------------------------------------------------------------------------------------------
 * Replies that come later. A handler that would wait (on a device, a download, another service) calls
 * ph_request_defer, keeps the handle, and returns PH_DEFER: its pool thread goes back to other clients at
 * once, and the reply is sent when the holder calls ph_deferred_complete, from any thread (or, after a
 * delay, ph_deferred_complete_after, with no thread of the host's at all: the server's timer sends it).
 * Order per connection is kept by holding the connection: it reads and dispatches no further request until
 * the held one is answered. In message mode a client reads its reply before it sends again anyway; in
 * length framing, frames a client pipelined behind a held request wait in their buffer and are dispatched,
 * in order, once its reply is written. Other connections are not affected.
 * While a request is held the server watches the connection (in length framing it reads ahead what the
 * client pipelines, up to one frame of max_message_bytes; in message mode it reads nothing, and a client that
 * sends before its reply ends the watch): when the client leaves or the server stops (after
 * drain_timeout_ms: held requests count as in flight), the handle is cancelled.
 * The holder learns it from the cancel callback (ph_deferred_on_cancel) or by polling ph_deferred_canceled.
 * Completing a cancelled handle writes nothing and returns PH_ECANCELED. Either way the holder must
 * complete every handle it took, exactly once (that releases it; the library frees it when both the holder
 * and the connection are done with it); a handle is never used after its completion call returned.
 * The request's data is valid only during the handler call: copy what the reply needs. The open-connection
 * hook (below) is not told of later replies; the close hook runs after the held request was completed or
 * cancelled. A held request costs about 80 bytes of heap beyond its reply (bench/held.c measures it;
 * requests_held in ph_counters counts them). */
typedef struct ph_deferred ph_deferred;
/* Called once when the connection of a held request ends before the holder completed it (client left,
 * server stopped): on a pool thread, with no lock held. It must not block; it may complete d (which then
 * returns PH_ECANCELED and releases it) or leave that to the holder. */
typedef void (*ph_deferred_cancel_fn)(void *ctx, ph_deferred *d);

/* In a handler only: takes req to answer later and returns its handle in *out; the handler then returns
 * PH_DEFER (another result is treated as PH_DEFER and logged as a bug; PH_DEFER without a deferral is
 * answered "ERR internal …"). Returns 0, PH_EINVAL (not in a handler, NULL arguments), PH_ESTATE (already
 * deferred, or a PH_REQ_TOO_LARGE request, which is always answered at once) or PH_ENOMEM. */
PH_EXTERN int ph_request_defer(const ph_request *req, ph_deferred **out);
/* Sets the cancel callback (replacing any earlier one). Returns 0, PH_EINVAL, or PH_ECANCELED when the
 * connection has already ended (fn is not called then). */
PH_EXTERN int ph_deferred_on_cancel(ph_deferred *d, ph_deferred_cancel_fn fn, void *ctx);
/* 1 once the connection of a held request has ended without its reply (the holder still completes it). */
PH_EXTERN int ph_deferred_canceled(ph_deferred *d);
/* The connection_id of the held request (as in ph_request). */
PH_EXTERN uint64_t ph_deferred_connection_id(const ph_deferred *d);
/* The response being built for the held request, empty at first; the holder may fill it with the
 * ph_response_* functions (from one thread at a time) until it completes the handle. */
PH_EXTERN ph_response *ph_deferred_response(ph_deferred *d);
/* Sends the reply: the response built so far with data appended (len bytes; data may be NULL when len is
 * 0), then does what result says (PH_REPLY, PH_NO_REPLY or PH_REPLY_CLOSE, as for a handler). Any thread,
 * any time, also inside the handler before it returns. The write itself is done by a pool thread. Returns
 * 0 (the reply goes out, and the handle is released), PH_ECANCELED (the connection had ended: nothing is
 * written; the handle is released all the same), PH_EINVAL (bad arguments) or PH_ENOMEM (data could not be
 * appended); after PH_EINVAL and PH_ENOMEM nothing changed and the handle is still the caller's. */
PH_EXTERN int ph_deferred_complete(ph_deferred *d, ph_handler_result result, const void *data, size_t len);
/* The same, sent delay_ms from now (0 .. PH_INFINITE - 1) by the server's timer thread, with no thread of
 * the caller's: the response and data are taken now, and the handle is released at once (the caller must
 * not use it again). A stop cancels a reply still waiting at the end of drain_timeout_ms. */
PH_EXTERN int ph_deferred_complete_after(ph_deferred *d, uint32_t delay_ms, ph_handler_result result,
                                         const void *data, size_t len);

/* ---------------------------------------------------------------------------------------------------------
 * Connection hooks (ph_server_config: conn_open, conn_close, conn_ctx) and per-connection host data.
 * conn_open runs on a pool thread just before the first handler call of a connection, with that first
 * request: the client's identity (ph_request_client) is known then, because a pipe server can read the
 * client's token only after the client has sent something (impersonation needs a read first), and the
 * per-user limit has already been applied. A connection that never sends a request costs the host nothing
 * and gets neither hook. conn_open stores the host's state in *conn_data (NULL before) and returns 0 to
 * serve the connection; another value answers the request "ERR refused …" and closes the connection (no
 * close hook then). conn_close runs exactly once for every connection conn_open accepted (every connection
 * that got a first request, when there is no conn_open), whatever ended it, on a pool thread, after the
 * last handler call for the connection returned and after its held request (if any) was completed or
 * cancelled (and its cancel callback ran); ph_server_stop returns only after every conn_close ran. Both
 * must not block for long, and must not call ph_server_free. */
typedef enum ph_close_reason {
    PH_CLOSE_LEFT = 0,        /* the client closed its end (between requests, or abandoning one) */
    PH_CLOSE_TIMEOUT = 1,     /* no request within idle_timeout_ms, or a reply not read within write_timeout_ms */
    PH_CLOSE_TOO_LARGE = 2,   /* a request over max_message_bytes was answered, then the connection closed */
    PH_CLOSE_REPLY_CLOSE = 3, /* the handler (or a held request's completion) answered PH_REPLY_CLOSE */
    PH_CLOSE_STOP = 4,        /* the server stopped */
    PH_CLOSE_ERROR = 5        /* a read or write failed for another reason, or memory ran out */
} ph_close_reason;
typedef int (*ph_conn_open_fn)(void *ctx, const ph_request *first, void **conn_data);
typedef void (*ph_conn_close_fn)(void *ctx, uint64_t connection_id, void *conn_data, ph_close_reason why);
/* The host's per-connection state (set by conn_open, or here), NULL by default; in a handler or conn_open. */
PH_EXTERN void *ph_request_conn_data(const ph_request *req);
PH_EXTERN void ph_request_set_conn_data(const ph_request *req, void *data);

/* ---------------------------------------------------------------------------------------------------------
 * Verb router: a ph_handler_fn that dispatches "VERB[ payload]" requests through a table the host extends.
 * The verb is the bytes up to the first space (or the whole message), matched case-insensitively; a
 * trailing "\r\n" (or "\n") after a verb with no payload is ignored; a message that is only "\r\n" gets no
 * reply. Unknown verbs get "ERR unknown-verb …"; an empty message gets "ERR empty-request …"; an oversized
 * one "ERR too-large …" (and the connection closes).
 * ------------------------------------------------------------------------------------------------------- */
typedef struct ph_router ph_router;
typedef ph_handler_result (*ph_verb_fn)(void *ctx, const ph_request *req, const unsigned char *payload,
                                        size_t payload_len, ph_response *resp);
PH_EXTERN int ph_router_new(ph_router **out);
/* Adds or replaces a verb (1–32 printable non-space ASCII characters). Returns 0, PH_EINVAL or PH_ENOMEM.
 * Not safe while the router dispatches: ph_router_add, ph_router_restrict and ph_router_free take no lock, and
 * ph_router_add may move the table under a request being routed on a pool thread. Build the router before
 * ph_server_start (in a service, in ph_service_app.extend) and change it only after ph_server_stop; a verb
 * whose behaviour must change at run time reads its own state (e.g. a setting) instead. */
PH_EXTERN int ph_router_add(ph_router *router, const char *verb, ph_verb_fn fn, void *ctx);
/* Restricts an added verb to the clients an SDDL security descriptor grants PH_VERB_ACCESS: before each
 * call, the server checks the client's token (taken by impersonating it; identification level is enough)
 * with AccessCheck, and answers "ERR forbidden …" without calling the verb when access is not granted or the
 * client's token cannot be obtained (an anonymous client); the denial is logged at WARN with the client's
 * SID. Any generic right (GA, GR, GW, GX) grants PH_VERB_ACCESS, as does "0x1". The SDDL must pass
 * ph_sddl_check(PH_SDDL_ACCESS). The restriction stays if the verb is replaced with ph_router_add; a later
 * ph_router_restrict replaces it. Call before the server starts. Returns 0, PH_EINVAL (unknown verb),
 * PH_EBADSDDL, PH_ENOMEM, or PH_ENOTSUP where there is no Win32. */
#define PH_VERB_ACCESS 0x1u
PH_EXTERN int ph_router_restrict(ph_router *router, const char *verb, const char *sddl);
PH_EXTERN void ph_router_free(ph_router *router);
/* The handler to pass to the server, with the router as ctx. */
PH_EXTERN ph_handler_result ph_router_handle(void *router, const ph_request *req, ph_response *resp);

/* ---------------------------------------------------------------------------------------------------------
 * Server.
 * ------------------------------------------------------------------------------------------------------- */
#define PH_INFINITE 0xFFFFFFFFu

/* Limits that can change while the server runs (ph_server_set_limits); they apply to new requests. */
typedef struct ph_limits {
    uint32_t size;             /* sizeof(ph_limits), set by ph_limits_init */
    size_t max_message_bytes;  /* largest request accepted; default 65536; 1 .. 64 MiB */
    uint32_t idle_timeout_ms;  /* close a connection with no request for this long; default 120000; PH_INFINITE */
    uint32_t write_timeout_ms; /* close a connection whose response is not read within this; default 10000 */
    uint32_t drain_timeout_ms; /* at stop, how long in-flight requests may take to be answered; default 5000.
                                  Connections between requests end at once (their last reply stays readable) */
    uint32_t first_request_timeout_ms; /* close a connection whose first request has not arrived within this;
                                          default 10000; PH_INFINITE (the idle timeout still applies) */
    uint32_t max_connections_per_user; /* connections one user (client SID) may hold; the next one's first
                                          request is answered "ERR too-many-connections" and it closes;
                                          default 64; 0 = no limit; at most 255 */
} ph_limits;

/* The default security descriptor: protected DACL; network logons denied; SYSTEM, Administrators and the
 * pipe's owner (OWNER RIGHTS: the account the server runs as, so that a server running as LocalService or
 * an ordinary user can add its own instances) full control; Authenticated Users read/write without
 * FILE_CREATE_PIPE_INSTANCE (0x12019b), so they can neither add instances nor change the descriptor. */
#define PH_DEFAULT_SDDL "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;0x12019b;;;AU)"

/* Where a descriptor is used, for ph_sddl_check (its `use`), with PH_SDDL_ALLOW_ flags or'ed in. */
typedef enum ph_sddl_use { PH_SDDL_PIPE = 0, PH_SDDL_ACCESS = 1, PH_SDDL_PIPE_FIXED = 2 } ph_sddl_use;
#define PH_SDDL_USE_MASK 0xffu         /* the ph_sddl_use part of `use` */
#define PH_SDDL_ALLOW_ANONYMOUS 0x100u /* opt-in: grants to Anonymous (AN, S-1-5-7) */
#define PH_SDDL_ALLOW_SANDBOXED 0x200u /* opt-in: grants to AppContainers and restricted tokens (AC, S-1-15-2-…,
                                          S-1-15-3-…, RC S-1-5-12, WR S-1-5-33) and a mandatory label below Medium
                                          or without NO_WRITE_UP */

#if defined(_WIN32)
/* The one SDDL checker: the server runs it on its pipe's descriptor at start (a refusal is PH_EBADSDDL), the
 * service on every descriptor in its configuration, and hosts may run it on theirs. use is a ph_sddl_use, with
 * PH_SDDL_ALLOW_ANONYMOUS and PH_SDDL_ALLOW_SANDBOXED or'ed in to opt in to those grants. It refuses, with a
 * sentence in why naming the problem (docs/security.md lists every rule with an example):
 *   - text that ConvertStringSecurityDescriptorToSecurityDescriptorW does not parse, or an empty string;
 *   - no DACL, or a NULL DACL ("D:NO_ACCESS_CONTROL"): both grant everyone full access;
 *   - an owner ("O:") other than SYSTEM, Administrators or a per-service SID S-1-5-80-x-x-x-x-x: an owner may
 *     always rewrite the DACL. Leave it out and the server's account is the owner;
 *   - in the SACL, an entry other than a mandatory label (ML) or audit (AU), more than one label, or (without
 *     PH_SDDL_ALLOW_SANDBOXED) a label below Medium integrity or without NO_WRITE_UP (NW);
 *   - an empty DACL ("D:", "D:P"), or one whose entries allow nothing: nobody could use the object;
 *   - an ACE type other than allow (A) and deny (D);
 *   - a deny entry after an allow entry: AccessCheck reads entries in order and never takes back a right an
 *     earlier entry granted, so such a deny may be dead (deny entries come first, the canonical order);
 *   - without PH_SDDL_ALLOW_ANONYMOUS, a grant to Anonymous (AN); without PH_SDDL_ALLOW_SANDBOXED, a grant to
 *     ALL APPLICATION PACKAGES (AC), all restricted packages (S-1-15-2-2), a package or capability SID, or
 *     the restricted-token SIDs RC and WR;
 *   - for PH_SDDL_PIPE: an allow ACE whose rights, with generic rights mapped as for files and less what
 *     earlier deny entries for the same SID take out, include FILE_CREATE_PIPE_INSTANCE (the same bit as
 *     FILE_APPEND_DATA, so GENERIC_WRITE and GENERIC_ALL include it), WRITE_DAC or WRITE_OWNER for any
 *     principal but SYSTEM (SY), Administrators (BA), OWNER RIGHTS (OW) or a per-service SID. Those rights let
 *     the holder add its own instances of the name (and receive other clients' requests) or rewrite the DACL.
 *     Not LocalService (LS) or NetworkService (NS): dozens of services run as each. So
 *     "(D;;0xc0004;;;AU)(A;;GA;;;AU)" is accepted, "(D;;0x4;;;AU)(A;;GA;;;AU)" is not (GA still holds
 *     WRITE_DAC and WRITE_OWNER);
 *   - for PH_SDDL_PIPE_FIXED: the same, except that FILE_CREATE_PIPE_INSTANCE may be granted to anyone
 *     (WRITE_DAC and WRITE_OWNER stay refused). That is safe only for a fixed pool: a pipe that already has
 *     all of its nMaxInstances instances refuses every further CreateNamedPipe on its name with
 *     ERROR_PIPE_BUSY, whatever its DACL, so the right then only lets clients open it with GENERIC_WRITE
 *     (which includes it; .NET's PipeDirection.InOut, libuv, go-winio and Python's open() ask for it). Use it
 *     for max_instances 1..254, never for 255 (unlimited), where anyone holding the right could add an
 *     instance of the name.
 * PH_SDDL_ACCESS is for descriptors used only with AccessCheck (per-verb authorization, ph_router_restrict),
 * where those rights mean nothing (the other rules apply). Returns 0, PH_EBADSDDL, PH_EINVAL (unknown use or
 * flag) or PH_ENOMEM. why may be NULL (a message that does not fit is cut); 512 bytes hold every message. */
PH_EXTERN int ph_sddl_check(const char *sddl, unsigned use, char *why, size_t why_size);
#endif

/* How requests and responses are delimited on the pipe (docs/protocol.md, section 2). */
typedef enum ph_framing {
    PH_FRAMING_MESSAGE = 0, /* message-mode pipe: one pipe message per request and per response (default) */
    PH_FRAMING_LENGTH = 1   /* byte-mode pipe: every request and response is a 4-byte little-endian length and
                               that many bytes; a client may write several requests before reading (pipelining)
                               and gets the responses in order. A length over max_message_bytes gets one
                               "ERR too-large" response and the connection closes. */
} ph_framing;

/* The instance pool. A fixed pool (max_instances 1..254; the default, PH_DEFAULT_MAX_INSTANCES) creates all its
 * instances at start under the strict descriptor, then widens the pipe's DACL: every allow entry that grants
 * FILE_WRITE_DATA also gets FILE_CREATE_PIPE_INSTANCE (the FILE_APPEND_DATA bit that GENERIC_WRITE includes),
 * so clients that open with GENERIC_WRITE (Node.js, .NET 8, Go, Python) get in. That right lets nobody add an
 * instance, because the pipe always has its nMaxInstances instances while widened: none is closed while the
 * server runs (a client's instance is re-armed for the next one), and the DACL is narrowed back before any is
 * closed at stop. At most max_instances clients are connected at once; the next wait (ERROR_PIPE_BUSY,
 * WaitNamedPipe) for one to leave. An unlimited pool (max_instances 255) serves any number of clients, creates
 * and closes instances as they come and go, and keeps the strict rights: its clients must not ask for
 * GENERIC_WRITE. */
#define PH_DEFAULT_MAX_INSTANCES 254u
#define PH_UNLIMITED_INSTANCES 255u

typedef struct ph_server_config {
    uint32_t size;               /* sizeof(ph_server_config), set by ph_server_config_init */
    const char *pipe_name;       /* bare or full; default "\\.\pipe\pipehost" when NULL */
    unsigned max_instances;      /* 1..254: a fixed pool of that many (default PH_DEFAULT_MAX_INSTANCES);
                                    255 (PH_UNLIMITED_INSTANCES): unlimited, any number of clients */
    unsigned pending_instances;  /* unlimited pool only: the floor of instances waiting for clients (refilled
                                    at once on connect); 1..255; default 4. During bursts the server raises the
                                    number waiting (up to 64, or to this floor if higher) and lowers it back
                                    when quiet. A fixed pool's instances all wait when no client holds them. */
    unsigned threads;            /* I/O completion pool size; 0 = twice the number of CPUs, 8..32 */
    uint32_t buffer_size;        /* pipe in/out buffer hint in bytes; default 65536 */
    const char *sddl;            /* NULL = PH_DEFAULT_SDDL; one ph_sddl_check refuses fails start with PH_EBADSDDL */
    ph_limits limits;
    ph_handler_fn handler;       /* required */
    void *handler_ctx;
    ph_log_fn log;               /* optional */
    void *log_ctx;
    ph_log_level log_level;      /* messages above this level are not produced; default PH_LOG_INFO */
    ph_framing framing;          /* PH_FRAMING_MESSAGE (default) or PH_FRAMING_LENGTH */
    ph_conn_open_fn conn_open;   /* optional: see "Connection hooks" above */
    ph_conn_close_fn conn_close; /* optional */
    void *conn_ctx;              /* passed to both */
    unsigned sddl_flags;         /* PH_SDDL_ALLOW_ANONYMOUS, PH_SDDL_ALLOW_SANDBOXED: opt-ins for sddl (default 0,
                                    neither); another bit fails ph_server_new with PH_EINVAL */
} ph_server_config;

/* Fill cfg / limits with the defaults above (handler NULL) and set their size members. */
PH_EXTERN void ph_server_config_init(ph_server_config *cfg);
PH_EXTERN void ph_limits_init(ph_limits *limits);
/* Checks limits (its size member included) against the documented ranges; returns 0 or PH_EINVAL. */
PH_EXTERN int ph_limits_validate(const ph_limits *limits);

typedef struct ph_server ph_server;

/* Validates and copies cfg (strings included). Does not touch the pipe namespace. PH_EINVAL if cfg or
 * cfg->limits was not initialised by its _init function (size member). */
PH_EXTERN int ph_server_new(const ph_server_config *cfg, ph_server **out);
/* Creates the security descriptor, the completion port, the pool and the pending instances. On return 0
 * the pipe is bound and accepting. Fails with PH_EADDRINUSE if another process serves the name, PH_EBADSDDL,
 * PH_EBADNAME, PH_ESTATE if already started. Can be called once per server object. */
PH_EXTERN int ph_server_start(ph_server *server);
/* Graceful stop: stops accepting (cancels pending accepts), ends every connection between requests at once,
 * lets in-flight requests be answered within drain_timeout_ms, then closes every instance (never a
 * disconnect: a client still reads a reply written to it, then sees the pipe broken) and joins every thread.
 * Idempotent and callable from any thread. Called from a handler (a pool thread) it starts the stop and
 * returns without waiting; the join then happens in a later ph_server_stop or ph_server_free. */
PH_EXTERN int ph_server_stop(ph_server *server);
/* Stops (if needed) and frees. Never from a handler: the pool thread it runs on would be freed under it. */
PH_EXTERN void ph_server_free(ph_server *server);
/* Changes limits for requests read from now on; in-flight requests keep theirs. */
PH_EXTERN int ph_server_set_limits(ph_server *server, const ph_limits *limits);
/* Copies the limits in force into out, which must have been initialised with ph_limits_init (its size
 * member); returns 0 or PH_EINVAL. */
PH_EXTERN int ph_server_get_limits(const ph_server *server, ph_limits *out);
/* The full pipe name being served ("\\.\pipe\…"). */
PH_EXTERN const char *ph_server_pipe_name(const ph_server *server);
/* The Win32 error behind the last failure of ph_server_start/stop (0 if none). */
PH_EXTERN unsigned long ph_server_syserror(const ph_server *server);

typedef struct ph_counters {
    uint32_t size;               /* sizeof(ph_counters), set by ph_counters_init */
    uint64_t connections_total;  /* clients accepted since start */
    uint64_t connections_active; /* clients connected now */
    uint64_t requests_total;     /* requests handed to the handler (too-large ones included) */
    uint64_t errors_total;       /* connections closed for an error: I/O failure, timeout, too large */
    uint64_t bytes_in;           /* request bytes read */
    uint64_t bytes_out;          /* response bytes written */
    uint64_t instances_pending;  /* instances waiting for a client now */
    uint64_t instances_total;    /* instances that exist now (waiting, connected, or kept after a failure) */
    uint64_t buffered_bytes;     /* memory connections hold for requests and responses now */
    uint64_t requests_held;      /* requests deferred (ph_request_defer) and not yet answered or cancelled */
} ph_counters;
/* Zeroes counters and sets its size member: call it before ph_server_counters. */
PH_EXTERN void ph_counters_init(ph_counters *counters);
/* Fills out (initialised with ph_counters_init); all zero for a NULL server. Safe at any time from any
 * thread, before start and after stop included. Returns 0, or PH_EINVAL if out has an unknown size. */
PH_EXTERN int ph_server_counters(const ph_server *server, ph_counters *out);

/* ---------------------------------------------------------------------------------------------------------
 * Client.
 * ------------------------------------------------------------------------------------------------------- */
/* A ph_client is not thread-safe: use each one from one thread at a time (or under a lock of your own); it
 * holds one connection and one framing state. Different clients are independent, on any threads. */
typedef struct ph_client ph_client;

#define PH_CLIENT_IMPERSONATION 0x1u /* let the server impersonate (default: SECURITY_IDENTIFICATION only) */
#define PH_CLIENT_VERIFY_SERVER 0x2u /* refuse a server not running as a service account (see below) */
#define PH_CLIENT_LENGTH_FRAMING 0x4u /* the server uses PH_FRAMING_LENGTH: send and receive length-prefixed
                                         frames on a byte-mode pipe (default: message mode) */
#define PH_CLIENT_ANY_FRAMING 0x8u    /* use the framing the pipe serves: length on a byte-type pipe, message on
                                         a message-type one (PH_CLIENT_LENGTH_FRAMING is then ignored) */

PH_EXTERN int ph_client_new(ph_client **out);
/* Server verification, against squatting (a process that created the pipe name first would receive our
 * requests). With PH_CLIENT_VERIFY_SERVER, or once a SID is required here, ph_client_connect checks the
 * account of the server before it returns and before anything is sent: the user SID of the process serving
 * the pipe (GetNamedPipeServerProcessId, its token), or, when that token may not be read (a service's, read
 * by an ordinary user), the owner of the pipe object. The account must be sid when one is required here;
 * otherwise SYSTEM, LocalService, NetworkService or a per-service SID (S-1-5-80-…); an owner of
 * Administrators also passes unless a SID that is not a service account is required. sid NULL or "" goes
 * back to the service accounts. Returns 0 or PH_EINVAL (not a SID). */
PH_EXTERN int ph_client_require_server(ph_client *client, const char *sid);
/* Requires instead that the process serving the pipe be pid (say, a service's, from QueryServiceStatusEx):
 * checked at connect, before anything is sent, whatever account it runs as. 0 goes back to the account
 * check. Returns 0 or PH_EINVAL. */
PH_EXTERN int ph_client_require_server_pid(ph_client *client, unsigned long pid);
/* The server account seen by the last verified connect ("S-1-…"), also after a PH_EUNTRUSTED refusal;
 * "" when none was read. */
PH_EXTERN const char *ph_client_server_account(const ph_client *client);
/* The id of the process that served the pipe at the last verified connect, also after a PH_EUNTRUSTED
 * refusal (say, to name a squatter next to the pid that was required); 0 when none was read. */
PH_EXTERN unsigned long ph_client_server_pid(const ph_client *client);
/* Connects within timeout_ms, retrying while all instances are busy. flags: PH_CLIENT_IMPERSONATION,
 * PH_CLIENT_VERIFY_SERVER, PH_CLIENT_LENGTH_FRAMING, PH_CLIENT_ANY_FRAMING. The framing must be the server's:
 * without PH_CLIENT_LENGTH_FRAMING the pipe must be a message-type pipe (a server in PH_FRAMING_MESSAGE) and
 * is read in message mode; with it, a byte-type pipe (PH_FRAMING_LENGTH) read in byte mode. A mismatch is
 * refused before anything is sent with PH_EINVAL (syserror ERROR_INVALID_PARAMETER; the connection is
 * closed). With PH_CLIENT_ANY_FRAMING the pipe's type decides, and ph_client_framing tells which it was.
 * Errors: PH_ENOTFOUND (no such pipe), PH_ETIMEDOUT (busy past the deadline), PH_EACCESS, PH_EBADNAME,
 * PH_EINVAL (framing mismatch), PH_ESYS, PH_EUNTRUSTED (the server's account is not the required one, or
 * could not be read; the connection is closed). */
PH_EXTERN int ph_client_connect(ph_client *client, const char *pipe_name, uint32_t timeout_ms, unsigned flags);
/* The framing of the connection made by the last successful ph_client_connect (PH_FRAMING_MESSAGE when
 * there is none). */
PH_EXTERN ph_framing ph_client_framing(const ph_client *client);
/* Sends one request and receives one response: ph_client_send then ph_client_recv under one deadline of
 * timeout_ms; at most max_response bytes of response (0 = 64 MiB). *resp is NUL-terminated for convenience
 * (not counted in *resp_len) and must be released with ph_free. In length framing, after pipelined sends
 * whose responses were not received yet, the response returned is the oldest of those, not this request's:
 * receive them first. Errors: PH_EPIPE, PH_ETIMEDOUT, PH_ETOOBIG, PH_ESTATE (not connected, or out of step). */
PH_EXTERN int ph_client_transact(ph_client *client, const void *req, size_t req_len, unsigned char **resp,
                                 size_t *resp_len, uint32_t timeout_ms, size_t max_response);
/* Lower level, each bounded by timeout_ms. ph_client_send sends one request: in message framing one pipe
 * message; in length framing its 4-byte little-endian length and the bytes in a single write (len at most
 * 2^31 - 5). ph_client_recv receives one response of at most max_len bytes (0 = 64 MiB), NUL-terminated and
 * released with ph_free: in message framing one pipe message reassembled across ERROR_MORE_DATA; in length
 * framing the 4-byte header and then exactly the body, across as many partial reads as the pipe gives, never
 * reading into the next frame. Length framing lets a caller pipeline: send N requests, then recv N responses,
 * which come in order (mind that a server stops waiting for a client that does not read its responses, see
 * write_timeout_ms). A response over max_len is PH_ETOOBIG, and what was not read of it stays unread (in
 * length framing the whole body: the header gave its size). After any failure that leaves a request or
 * response partly transferred (that one, PH_EPIPE, PH_ETIMEDOUT, …), the connection is out of step: every
 * call fails with PH_ESTATE until ph_client_connect. Errors as ph_client_transact, and PH_EINVAL. */
PH_EXTERN int ph_client_send(ph_client *client, const void *msg, size_t len, uint32_t timeout_ms);
PH_EXTERN int ph_client_recv(ph_client *client, unsigned char **msg, size_t *len, uint32_t timeout_ms,
                             size_t max_len);
/* Closes the connection (if any) and frees the client. */
PH_EXTERN void ph_client_free(ph_client *client);
PH_EXTERN unsigned long ph_client_syserror(const ph_client *client);

#ifdef __cplusplus
}
#endif
#endif /* PIPEHOST_PIPEHOST_H */
