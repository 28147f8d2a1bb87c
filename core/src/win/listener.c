/* listener.c — the instances of the served name: how many exist and wait, which are created, re-armed or
 * closed, and the fixed pool's descriptor.
 *
 * The rules; check every change against them.
 * - Two modes. A fixed pool (max_instances 1..254, the default) has exactly max_instances instances, all
 *   created at start, with nMaxInstances = max_instances. An unlimited pool (max_instances 255) keeps
 *   pending_target instances waiting (adaptive: doubled in a burst, halved after a quiet PH_SHRINK_AFTER_MS)
 *   and creates and closes instances as clients come and go.
 * - The fixed pool's descriptor. Every instance is created under the strict descriptor (no
 *   FILE_CREATE_PIPE_INSTANCE for ordinary users). Once all of them exist, the DACL is widened: every allow
 *   entry that grants FILE_WRITE_DATA also gets FILE_APPEND_DATA (= FILE_CREATE_PIPE_INSTANCE), so clients
 *   that open with GENERIC_WRITE (Node, .NET 8, Go, Python) get in. That right is harmless only while
 *   nobody can add an instance, that is while the pipe has its nMaxInstances instances. Hence the invariant:
 *   WHILE THE PIPE IS WIDENED, max_instances INSTANCES EXIST. It is narrowed back (under s->lock, before the
 *   state says STOPPING, so before any owner may close an instance) when the stop begins.
 * - So in the fixed pool an instance is never closed while running: a connection that ends is re-armed
 *   (disconnected and accepting again); an instance whose re-arm fails is parked — kept open, its slot
 *   held — logged once per failing streak and retried by the tick with a back-off. No trim, no refill.
 * - The unlimited pool never lets the name fall free while running: the last instance is always re-armed,
 *   never closed, and a create made when none exists claims the name with FILE_FLAG_FIRST_PIPE_INSTANCE.
 *   Re-arming needs no create, so it goes on while creates back off.
 * - Close or disconnect. DisconnectNamedPipe discards what the client has not read; CloseHandle does not
 *   (the client reads it, then gets ERROR_BROKEN_PIPE). So an instance is disconnected only to be re-armed,
 *   and conn.c lingers first when a reply may be unread (ph__listener_may_close says which will happen); an
 *   instance closed (at stop, or in the unlimited pool) is closed without a disconnect and needs no wait.
 * - Failures to create or re-arm back off (10 ms doubling to 1 s): logged when they start and when they
 *   clear; only the timer thread retries while backing off. An accept that fails in its completion is
 *   treated the same way (never re-armed at once, which would loop).
 * - Counts under s->lock: instances (created or being created), accepting (waiting or about to), parked,
 *   live (instances plus reservations; drained at 0). */
#include "server.h"

#include <stdlib.h>

#define PH_SHRINK_AFTER_MS 5000u /* unlimited: no starved accept for this long, shrink the waiting target */
#define PH_SHRINK_EVERY_MS 1000u
#define PH_BURST_WINDOW_MS 50u   /* accepts are counted in windows this long to see a burst coming */
#define PH_RETRY_BATCH 64u       /* parked instances retried per tick */

/* ---------------------------------------------------------------------------------------------------------
 * The fixed pool's descriptor.
 * ------------------------------------------------------------------------------------------------------- */

void ph__listener_narrow_locked(ph_server *s)
{
    if (!s->widened)
        return;
    s->widened = 0;
    s->narrow_err = ph__pipe_set_dacl(s->dacl_pipe, s->sd);
}

/* ---------------------------------------------------------------------------------------------------------
 * Back-off.
 * ------------------------------------------------------------------------------------------------------- */

/* A create or re-arm failed: starts or extends the back-off, logged when failing begins. accept: it was an
 * accept that failed (issued or in its completion), so only a client connecting proves it works again. */
static void failed(ph_server *s, DWORD err, const char *call, int accept)
{
    ULONGLONG at;
    unsigned n;

    AcquireSRWLockExclusive(&s->lock);
    s->failing_accepts |= accept;
    n = ++s->refill_failures;
    s->refill_error = err;
    s->refill_backoff = s->refill_backoff == 0 ? 10u : (s->refill_backoff >= 500u ? 1000u : 2u * s->refill_backoff);
    at = GetTickCount64() + s->refill_backoff;
    s->refill_at = at;
    ReleaseSRWLockExclusive(&s->lock);
    if (n == 1)
        ph__log_win32(&s->log, PH_LOG_ERROR, err, call,
                      "cannot add a waiting instance to %s; retrying every 10 ms to 1 s until it works",
                      s->pipe_name);
    ph__timer_kick(s, at);
}

/* A create or re-arm worked (accepted: a client connected): ends a failing streak, logged once. An accept
 * issued is no proof while accepts fail in their completions. */
static void succeeded(ph_server *s, int accepted)
{
    unsigned recovered = 0;
    DWORD last = 0;

    AcquireSRWLockShared(&s->lock);
    recovered = s->refill_failures != 0 && (accepted || !s->failing_accepts);
    ReleaseSRWLockShared(&s->lock);
    if (!recovered)
        return;
    AcquireSRWLockExclusive(&s->lock);
    recovered = s->refill_failures;
    last = s->refill_error;
    if (s->parked == 0) {
        s->refill_failures = 0;
        s->refill_backoff = 0;
        s->failing_accepts = 0;
    } else {
        recovered = 0; /* some are still parked: the streak goes on */
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (recovered != 0)
        ph__log(&s->log, PH_LOG_INFO, "%s has waiting instances again, after %u failed attempts (last error %lu)",
                s->pipe_name, recovered, (unsigned long)last);
}

/* ---------------------------------------------------------------------------------------------------------
 * Creating, re-arming, parking, closing.
 * ------------------------------------------------------------------------------------------------------- */

void ph__listener_unreserve(ph_server *s)
{
    AcquireSRWLockExclusive(&s->lock);
    s->accepting--;
    s->instances--;
    s->live--;
    if (s->live == 0 && s->state == PH_SRV_STOPPING)
        SetEvent(s->drained);
    ReleaseSRWLockExclusive(&s->lock);
}

/* Creates one instance and starts it accepting; the caller reserved it (live, instances, accepting). first:
 * claim the name (FILE_FLAG_FIRST_PIPE_INSTANCE). Returns 0 or a Win32 error (the reservation released). */
static DWORD add_instance(ph_server *s, int first, HANDLE *created)
{
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0) |
                      (s->fixed ? WRITE_DAC : 0);
    DWORD pipe_mode = (s->cfg.framing == PH_FRAMING_LENGTH ? PIPE_TYPE_BYTE | PIPE_READMODE_BYTE
                                                           : PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE) |
                      PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    DWORD max = s->fixed ? s->cfg.max_instances : PIPE_UNLIMITED_INSTANCES;
    HANDLE pipe = ph__sys.CreateNamedPipeW(s->wpipe_name, open_mode, pipe_mode, max, s->cfg.buffer_size,
                                           s->cfg.buffer_size, 0, &s->sa);
    DWORD err;

    if (created != NULL)
        *created = pipe;
    if (pipe == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        ph__listener_unreserve(s);
        return err != 0 ? err : ERROR_GEN_FAILURE;
    }
    return ph__conn_start_instance(s, pipe);
}

/* Unlimited pool: keeps pending_target instances waiting while the server takes clients. Returns the Win32
 * error of a failed create (after scheduling a retry) or 0. */
static DWORD refill(ph_server *s)
{
    for (;;) {
        DWORD err;
        int go, first = 0;

        AcquireSRWLockExclusive(&s->lock);
        go = !s->fixed && ph__open_locked(s) && s->refill_at == 0 && s->accepting < s->pending_target;
        if (go) {
            first = s->instances == 0; /* the name fell free: claim it again, never share it */
            s->live++;
            s->instances++;
            s->accepting++;
        }
        ReleaseSRWLockExclusive(&s->lock);
        if (!go)
            return 0;
        err = add_instance(s, first, NULL);
        if (err != 0) {
            failed(s, err, "CreateNamedPipeW/ConnectNamedPipe", 0);
            return err;
        }
        succeeded(s, 0);
    }
}

/* The instance is not wanted any more (counted out of accepting by the caller, or never in it): closed,
 * without a disconnect. */
static void close_instance(ph_conn *c)
{
    ph_server *s = c->server;

    AcquireSRWLockExclusive(&s->lock);
    s->instances--;
    ReleaseSRWLockExclusive(&s->lock);
    ph__conn_free(c);
}

/* Starts an accept on c, counted as accepting; handles a failure by the rules at the top. */
static void rearm(ph_conn *c)
{
    ph_server *s = c->server;
    DWORD err = ph__conn_accept(c);
    int open, keep;

    if (err == 0) {
        succeeded(s, 0);
        return;
    }
    AcquireSRWLockExclusive(&s->lock);
    s->accepting--;
    open = ph__open_locked(s);
    /* Kept (parked) in the fixed pool, and as the unlimited pool's last instance, while running. */
    keep = open && (s->fixed || s->instances == 1);
    if (keep) {
        AcquireSRWLockExclusive(&c->lock);
        c->state = PH_CONN_PARKED;
        ReleaseSRWLockExclusive(&c->lock);
        s->parked++;
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (!keep) {
        close_instance(c);
        if (open)
            failed(s, err, "ConnectNamedPipe", 1);
        return;
    }
    failed(s, err, "ConnectNamedPipe", 1);
}

int ph__listener_may_close(ph_server *s)
{
    int r;

    AcquireSRWLockShared(&s->lock);
    r = !ph__open_locked(s) || (!s->fixed && s->instances > 1 && s->accepting >= s->pending_target);
    ReleaseSRWLockShared(&s->lock);
    return r;
}

void ph__listener_release(ph_conn *c, ph_end why, int was_connected)
{
    ph_server *s = c->server;
    int reuse = 0, park = 0, open;

    AcquireSRWLockExclusive(&s->lock);
    open = ph__open_locked(s);
    if (c->state == PH_CONN_PARKED)
        s->parked--;
    else if (!was_connected)
        s->accepting--;
    if (!open) {
        /* Stopping: closed, never disconnected, so the client still reads what was written to it. */
    } else if (why == PH_END_ACCEPT_FAILED) {
        /* Its accept failed in the completion: never re-armed at once (that would loop): kept for the tick's
         * retry in the fixed pool and as the unlimited pool's last instance, closed otherwise. */
        park = s->fixed || s->instances == 1;
    } else {
        reuse = s->fixed || s->instances == 1 || (why != PH_END_TRIM && s->accepting < s->pending_target);
    }
    /* Under s->lock, which the stop walk and the trim also hold: neither can slip between this decision and
     * the accept, whose cancel check then sees them. */
    AcquireSRWLockExclusive(&c->lock);
    if (reuse || park) {
        c->state = reuse ? PH_CONN_ACCEPTING : PH_CONN_PARKED;
        c->cancel = PH_CANCEL_NONE;
        c->cancel_why = PH_END_NONE;
        if (reuse)
            s->accepting++;
        else
            s->parked++;
    }
    ReleaseSRWLockExclusive(&c->lock);
    ReleaseSRWLockExclusive(&s->lock);

    if (why == PH_END_ACCEPT_FAILED && open)
        failed(s, c->last_err != 0 ? c->last_err : ERROR_GEN_FAILURE, "ConnectNamedPipe", 1);
    if (!reuse && !park) {
        close_instance(c);
        return;
    }
    if (was_connected)
        ph__sys.DisconnectNamedPipe(c->pipe); /* callers lingered first when a reply could be unread */
    ph__conn_reset(c);
    if (reuse)
        rearm(c);
}

int ph__listener_accepted(ph_server *s, ph_conn *c)
{
    ULONGLONG now = GetTickCount64();
    int open;

    AcquireSRWLockExclusive(&s->lock);
    open = ph__open_locked(s);
    if (open) {
        s->accepting--;
        c->id = ++s->next_id;
        if (!s->fixed) {
            /* Clients are taking waiting instances faster than they are replaced: in a burst the next ones
             * find none and see ERROR_PIPE_BUSY. The server cannot see those refusals (and counts of waiting
             * instances lag behind queued accepts), so it judges by the rate: more accepts within
             * PH_BURST_WINDOW_MS than the target, or the last waiting instance taken, while at least as many
             * clients as the target are connected, double the target. */
            if (now - s->burst_start >= PH_BURST_WINDOW_MS) {
                s->burst_start = now;
                s->burst_accepts = 0;
            }
            s->burst_accepts++;
            if ((s->accepting == 0 || s->burst_accepts > s->pending_target) &&
                (uint64_t)InterlockedCompareExchange64(&s->c_active, 0, 0) + 1 >= s->pending_target) {
                s->last_starved = now;
                if (s->pending_target < s->pending_cap)
                    s->pending_target =
                        s->pending_target * 2 > s->pending_cap ? s->pending_cap : s->pending_target * 2;
                s->burst_start = now;
                s->burst_accepts = 0;
            }
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (!open)
        return -1;
    succeeded(s, 1);
    /* Refill before serving, so the next client of a burst finds a waiting instance. */
    refill(s);
    return 0;
}

/* Retries parked instances (both pools), a batch per tick. */
static void retry_parked(ph_server *s)
{
    ph_conn *batch[PH_RETRY_BATCH];
    unsigned n = 0, i;
    ph_conn *c;

    AcquireSRWLockExclusive(&s->lock);
    for (c = s->conns; c != NULL && n < PH_RETRY_BATCH && s->parked > 0 && ph__open_locked(s); c = c->next) {
        AcquireSRWLockExclusive(&c->lock);
        if (c->state == PH_CONN_PARKED && c->cancel == PH_CANCEL_NONE) {
            c->state = PH_CONN_ACCEPTING;
            s->parked--;
            s->accepting++;
            batch[n++] = c;
        }
        ReleaseSRWLockExclusive(&c->lock);
    }
    ReleaseSRWLockExclusive(&s->lock);
    for (i = 0; i < n; i++)
        rearm(batch[i]);
}

ULONGLONG ph__listener_tick(ph_server *s, ULONGLONG now)
{
    ULONGLONG next = ~(ULONGLONG)0;
    int retry = 0;
    unsigned trim = 0;

    AcquireSRWLockExclusive(&s->lock);
    if (s->state == PH_SRV_RUNNING && s->refill_at != 0 && now >= s->refill_at) {
        s->refill_at = 0;
        retry = 1;
    }
    if (s->state == PH_SRV_RUNNING && !s->fixed && s->pending_target > s->cfg.pending_instances) {
        if (now >= s->next_shrink) {
            if (now - s->last_starved >= PH_SHRINK_AFTER_MS) {
                unsigned t = s->pending_target / 2;
                s->pending_target = t < s->cfg.pending_instances ? s->cfg.pending_instances : t;
                trim = s->accepting > s->pending_target ? s->accepting - s->pending_target : 0;
            }
            s->next_shrink = now + PH_SHRINK_EVERY_MS;
        }
        next = s->next_shrink;
    }
    if (s->refill_at != 0 && s->refill_at < next)
        next = s->refill_at;
    ReleaseSRWLockExclusive(&s->lock);

    if (trim != 0) {
        /* Once per second at most, and only while shrinking after a burst. */
        AcquireSRWLockShared(&s->lock);
        ph__conn_trim_locked(s, trim);
        ReleaseSRWLockShared(&s->lock);
    }
    if (retry) {
        retry_parked(s);
        refill(s);
        AcquireSRWLockShared(&s->lock);
        if (s->refill_at != 0 && s->refill_at < next)
            next = s->refill_at;
        ReleaseSRWLockShared(&s->lock);
    }
    return next;
}

/* ---------------------------------------------------------------------------------------------------------
 * Start.
 * ------------------------------------------------------------------------------------------------------- */

int ph__listener_start(ph_server *s, DWORD *err)
{
    HANDLE first = INVALID_HANDLE_VALUE;
    unsigned want, i;

    /* The first instance claims the name: if someone else holds it, we must not share it with them. */
    AcquireSRWLockExclusive(&s->lock);
    s->live++;
    s->instances++;
    s->accepting++;
    ReleaseSRWLockExclusive(&s->lock);
    *err = add_instance(s, 1, &first);
    if (*err != 0) {
        ph__log_win32(&s->log, PH_LOG_ERROR, *err, "CreateNamedPipeW/ConnectNamedPipe", "cannot serve %s",
                      s->pipe_name);
        return (*err == ERROR_ACCESS_DENIED || *err == ERROR_PIPE_BUSY) ? PH_EADDRINUSE : ph__map_win32(*err);
    }
    if (!s->fixed) {
        /* Judge by whether a create failed, not by how many instances wait now: clients may already be
         * taking them (the first one is connectable from the moment it exists), and each refills its own. */
        *err = refill(s);
        if (*err != 0) {
            ph__log(&s->log, PH_LOG_ERROR, "cannot create %u waiting instances of %s", s->cfg.pending_instances,
                    s->pipe_name);
            return *err == ERROR_PIPE_BUSY ? PH_ESYS : ph__map_win32(*err);
        }
        return 0;
    }

    /* The fixed pool: every instance now, then the wide DACL. A client may take an instance meanwhile; an
     * instance is never closed while the server takes clients, so the count only grows to max_instances. */
    want = s->cfg.max_instances;
    for (i = 1; i < want; i++) {
        AcquireSRWLockExclusive(&s->lock);
        if (!ph__open_locked(s)) {
            ReleaseSRWLockExclusive(&s->lock);
            *err = ERROR_OPERATION_ABORTED;
            return PH_ECANCELED;
        }
        s->live++;
        s->instances++;
        s->accepting++;
        ReleaseSRWLockExclusive(&s->lock);
        *err = add_instance(s, 0, NULL);
        if (*err != 0) {
            /* Someone else holds an instance of our name (a squatter where the first-instance flag is not
             * enforced), or the system refuses more. */
            ph__log_win32(&s->log, PH_LOG_ERROR, *err, "CreateNamedPipeW/ConnectNamedPipe",
                          "cannot create instance %u of the fixed pool of %u of %s", i + 1, want, s->pipe_name);
            return *err == ERROR_PIPE_BUSY ? PH_EADDRINUSE : ph__map_win32(*err);
        }
    }
    if (ph__security_widen(s->sd, &s->wide_sd, err) == 0) {
        /* Under s->lock, which the stop's narrowing also holds: widened is set only while nothing closes. */
        AcquireSRWLockExclusive(&s->lock);
        s->dacl_pipe = first;
        if (ph__open_locked(s)) {
            *err = ph__pipe_set_dacl(first, s->wide_sd);
            s->widened = *err == 0;
        }
        ReleaseSRWLockExclusive(&s->lock);
    } else if (*err == 0) {
        *err = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (*err != 0) {
        ph__log_win32(&s->log, PH_LOG_ERROR, *err, "SetSecurityInfo",
                      "cannot let the users the descriptor names open %s with GENERIC_WRITE", s->pipe_name);
        return ph__map_win32(*err);
    }
    return 0;
}
