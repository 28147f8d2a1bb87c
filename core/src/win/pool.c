/* pool.c — the completion-port threads: as many waiting on the port as there are clients that could send, the
 * rest parked.
 *
 * Why park: a completion port wakes one waiter per packet, but an overlapped read's result is first handed
 * to the thread that issued it (Wine delivers it as an APC, which also re-arms that thread's own wait on the
 * port). With several idle threads waiting, two then chase each packet, and the loser pays a wasted dequeue
 * and wait; with one keep-alive client that was a third of the system calls per round trip. Windows wakes
 * exactly one waiter and needs none of this, but parking costs it nothing either: a parked thread is woken
 * only when more clients could send than threads are waiting.
 *
 * The rules (all counts under plock):
 * - A thread about to wait on the port parks instead when at least max(1, clients - busy) threads already
 *   wait there (clients = connections_active: each could send a request; at least one thread always waits,
 *   for accepts).
 * - A thread that takes a packet wakes one parked thread when fewer threads wait than there are clients not
 *   being served (it counts the woken thread as waiting from then on).
 * - A watch (ph__pool_watch, run by the timer thread every PH_WATCH_MS / 2 while threads have been busy in
 *   the last second) wakes a parked thread when every other thread has been busy (in slow handlers, say) and
 *   none waiting for PH_WATCH_MS, so a new client is never left unaccepted for longer. After a quiet second
 *   the watch stops polling; a thread that then goes busy with nobody left waiting rouses the timer.
 * - Quit: p_quit is set, every parked thread is released and every thread gets a quit packet.
 * - Deferred reads: after a response went out at once, conn.c may leave the connection's next read to this
 *   thread (as many as the thread's share of the clients, at most PH_DEFER_SLOTS, and only while handlers
 *   are quick). The thread takes what the port holds without waiting while slots are free, then posts
 *   those reads: by then the client has often sent its next request, so the read completes at once instead
 *   of pending (under Wine a pending read costs an APC to this thread, often a signal). A deferred
 *   connection has no operation outstanding and is owned by the thread until the read is posted; it is
 *   never held across a wait. Nor behind a slow handler: while the thread runs one, the watch (on the timer
 *   thread) takes over the reads it holds once the handler has run PH_STEAL_MS, and posts them, their
 *   results going to the port for the other threads. w->lock guards the deferred list between the two. */
#include "server.h"

#include <string.h>

#define PH_WATCH_MS 50u          /* everyone busy and nobody waiting for this long: wake a parked thread */
#define PH_WATCH_QUIET_MS 1000u  /* the watch stops polling after this long with nobody busy */
#define PH_STEAL_MS 10u          /* a handler running this long gives up the reads its thread holds back */
#define PH_DEFER_TAKE 32u        /* packets taken from the port before the deferred reads are posted anyway */

static unsigned clients(ph_server *s)
{
    return (unsigned)InterlockedCompareExchange64(&s->c_active, 0, 0);
}

/* Under plock: how many threads should wait on the port now. */
static unsigned want_waiting(ph_server *s)
{
    unsigned n = clients(s);
    n = n > s->p_busy ? n - s->p_busy : 0;
    return n < 1 ? 1 : n;
}

/* Returns 0 to wait on the port, -1 to quit. */
static int take_turn(ph_server *s)
{
    AcquireSRWLockExclusive(&s->plock);
    while (!s->p_quit && s->p_waiting >= want_waiting(s)) {
        DWORD r;

        s->p_parked++;
        ReleaseSRWLockExclusive(&s->plock);
        r = WaitForSingleObject(s->park, INFINITE);
        AcquireSRWLockExclusive(&s->plock);
        s->p_parked--;
        if (r == WAIT_OBJECT_0) {
            /* Woken: whoever released us already counted us as waiting. */
            int quit = s->p_quit;
            ReleaseSRWLockExclusive(&s->plock);
            return quit ? -1 : 0;
        }
    }
    if (s->p_quit) {
        ReleaseSRWLockExclusive(&s->plock);
        return -1;
    }
    s->p_waiting++;
    ReleaseSRWLockExclusive(&s->plock);
    return 0;
}

/* After a packet was taken: counts the thread busy and wakes a parked one if more should wait. */
static void go_busy(ph_server *s)
{
    int wake, rouse;

    AcquireSRWLockExclusive(&s->plock);
    s->p_waiting--;
    s->p_busy++;
    {
        unsigned n = clients(s);
        unsigned want = n > s->p_busy ? n - s->p_busy : 0;
        wake = s->p_parked > 0 && s->p_waiting < want;
    }
    if (wake)
        s->p_waiting++; /* on behalf of the thread we wake */
    rouse = !wake && s->p_waiting == 0 && s->p_parked > 0 && s->p_watch_asleep;
    if (rouse)
        InterlockedExchange(&s->p_watch_asleep, 0);
    ReleaseSRWLockExclusive(&s->plock);
    if (wake)
        ReleaseSemaphore(s->park, 1, NULL);
    if (rouse)
        SetEvent(s->timer_wake);
}

/* Takes over the reads a worker holds back while it has been in a handler for PH_STEAL_MS, and posts them
 * (results to the port). Run by the watch, without plock. */
static void steal_deferred(ph_server *s, ULONGLONG now)
{
    unsigned i;

    for (i = 0; i < s->nworkers; i++) {
        ph_worker *w = s->workers[i];
        ph_conn *taken[PH_DEFER_SLOTS];
        unsigned n = 0, j;

        if (w == NULL)
            continue;
        AcquireSRWLockExclusive(&w->lock);
        if (w->busy_since != 0 && now - w->busy_since >= PH_STEAL_MS && w->ndeferred > 0) {
            n = w->ndeferred;
            for (j = 0; j < n; j++)
                taken[j] = w->deferred[j];
            w->ndeferred = 0;
        }
        ReleaseSRWLockExclusive(&w->lock);
        for (j = 0; j < n; j++)
            ph__conn_post_deferred(taken[j], 1);
    }
}

ULONGLONG ph__pool_watch(ph_server *s, ULONGLONG now)
{
    ULONGLONG next = ~(ULONGLONG)0;
    int wake = 0, busy;

    AcquireSRWLockExclusive(&s->plock);
    busy = s->p_busy > 0;
    if (busy)
        s->p_last_busy = now;
    if (s->p_parked > 0 && s->p_waiting == 0 && s->p_busy > 0 && !s->p_quit) {
        if (s->p_stuck_since == 0) {
            s->p_stuck_since = now;
        } else if (now - s->p_stuck_since >= PH_WATCH_MS) {
            /* Everyone is busy (slow handlers, say) and nobody takes new clients: add a waiter. */
            s->p_waiting++;
            s->p_stuck_since = 0;
            wake = 1;
        }
    } else {
        s->p_stuck_since = 0;
    }
    InterlockedExchange(&s->p_watch_asleep, now - s->p_last_busy >= PH_WATCH_QUIET_MS);
    if (!s->p_watch_asleep)
        next = now + PH_WATCH_MS / 2;
    ReleaseSRWLockExclusive(&s->plock);
    if (wake)
        ReleaseSemaphore(s->park, 1, NULL);
    if (busy)
        steal_deferred(s, now);
    return next;
}

int ph__pool_defer(ph_worker *w, ph_conn *c, unsigned slots)
{
    int taken = 0;

    AcquireSRWLockExclusive(&w->lock);
    if (w->ndeferred < slots && w->ndeferred < PH_DEFER_SLOTS) {
        w->deferred[w->ndeferred++] = c;
        taken = 1;
    }
    ReleaseSRWLockExclusive(&w->lock);
    return taken;
}

void ph__pool_handler_begin(ph_worker *w)
{
    ph_server *s = w->server;
    int holds;

    AcquireSRWLockExclusive(&w->lock);
    holds = w->ndeferred > 0;
    w->busy_since = GetTickCount64();
    ReleaseSRWLockExclusive(&w->lock);
    /* The watch must be polling to take them over should this handler be slow. */
    if (holds && InterlockedCompareExchange(&s->p_watch_asleep, 0, 1) == 1)
        SetEvent(s->timer_wake);
}

void ph__pool_handler_end(ph_worker *w)
{
    AcquireSRWLockExclusive(&w->lock);
    w->busy_since = 0;
    ReleaseSRWLockExclusive(&w->lock);
}

/* Takes the oldest deferred read off w (NULL when none). */
static ph_conn *pop_deferred(ph_worker *w)
{
    ph_conn *c = NULL;
    unsigned i;

    AcquireSRWLockExclusive(&w->lock);
    if (w->ndeferred > 0) {
        c = w->deferred[0];
        for (i = 1; i < w->ndeferred; i++)
            w->deferred[i - 1] = w->deferred[i];
        w->ndeferred--;
    }
    ReleaseSRWLockExclusive(&w->lock);
    return c;
}

static unsigned deferred_count(ph_worker *w)
{
    unsigned n;

    AcquireSRWLockShared(&w->lock);
    n = w->ndeferred;
    ReleaseSRWLockShared(&w->lock);
    return n;
}

static void go_idle(ph_server *s)
{
    AcquireSRWLockExclusive(&s->plock);
    s->p_busy--;
    ReleaseSRWLockExclusive(&s->plock);
}

/* Handles one dequeued packet; returns 0 to go on, -1 to end the thread. */
static int handle_packet(ph_server *s, BOOL ok, DWORD err, DWORD bytes, ULONG_PTR key, LPOVERLAPPED ov)
{
    if (ov != NULL) {
        ph_conn *c = ph__container_of(ov, ph_conn, ov);
        if (key == PH_KEY_RESULT)
            ph__conn_on_completion(c, c->post_bytes, c->post_err);
        else
            ph__conn_on_completion(c, bytes, err);
        return 0;
    }
    if (key == PH_KEY_QUIT)
        return -1;
    if (!ok) {
        ph__log_win32(&s->log, PH_LOG_ERROR, err, "GetQueuedCompletionStatus", "pool thread");
        return -1;
    }
    return 0;
}

/* Registers w among the server's workers (so the watch can take its deferred reads over). */
static void register_worker(ph_server *s, ph_worker *w)
{
    AcquireSRWLockExclusive(&s->plock);
    if (s->workers != NULL && s->nworkers < s->cfg.threads) /* not nthreads: it rises after CreateThread returns */
        s->workers[s->nworkers++] = w;
    ReleaseSRWLockExclusive(&s->plock);
}

static void unregister_worker(ph_server *s, const ph_worker *w)
{
    unsigned i;

    AcquireSRWLockExclusive(&s->plock);
    for (i = 0; i < s->nworkers; i++)
        if (s->workers[i] == w)
            s->workers[i] = NULL;
    ReleaseSRWLockExclusive(&s->plock);
}

DWORD WINAPI ph__pool_main(LPVOID arg)
{
    ph_server *s = arg;
    ph_worker self;

    memset(&self, 0, sizeof(self));
    self.server = s;
    InitializeSRWLock(&self.lock);
    ph__mark_worker(&self);
    register_worker(s, &self);
    while (take_turn(s) == 0) {
        DWORD bytes = 0, err = 0;
        ULONG_PTR key = 0;
        LPOVERLAPPED ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(s->iocp, &bytes, &key, &ov, INFINITE);
        int quit;
        unsigned n, taken;

        if (!ok)
            err = GetLastError();
        go_busy(s);
        quit = handle_packet(s, ok, err, bytes, key, ov);
        /* Connections whose responses just went out may have left their next reads to us (conn.c defers
         * them): take what the port holds without waiting, while slots are free, then post those reads,
         * which by then often find the next requests already waiting and complete at once. They are taken
         * off the list one at a time, so that the watch can take over those still waiting if a handler run
         * meanwhile is slow. */
        taken = 0;
        while (quit == 0 && (n = deferred_count(&self)) > 0) {
            unsigned i;

            /* A port that never empties (a pipelining client's turns, a busy server) must not keep the
             * reads waiting: after PH_DEFER_TAKE packets they are posted anyway. */
            if (n < PH_DEFER_SLOTS && taken++ < PH_DEFER_TAKE) {
                bytes = err = 0;
                key = 0;
                ov = NULL;
                ok = GetQueuedCompletionStatus(s->iocp, &bytes, &key, &ov, 0);
                if (!ok)
                    err = GetLastError();
                if (ov != NULL || ok) {
                    quit = handle_packet(s, ok, err, bytes, key, ov);
                    continue;
                }
            }
            for (i = 0; i < n; i++) {
                ph_conn *c = pop_deferred(&self);
                if (c == NULL)
                    break;
                ph__conn_post_deferred(c, 0);
            }
            taken = 0;
        }
        /* A quit packet taken while reads were deferred: post them, their connections are not gone yet. */
        {
            ph_conn *c;
            while ((c = pop_deferred(&self)) != NULL)
                ph__conn_post_deferred(c, 0);
        }
        go_idle(s);
        if (quit != 0)
            break;
    }
    unregister_worker(s, &self);
    return 0;
}

void ph__pool_quit(ph_server *s)
{
    unsigned i;

    AcquireSRWLockExclusive(&s->plock);
    s->p_quit = 1;
    ReleaseSRWLockExclusive(&s->plock);
    ReleaseSemaphore(s->park, (LONG)s->nthreads, NULL);
    for (i = 0; i < s->nthreads; i++)
        PostQueuedCompletionStatus(s->iocp, 0, PH_KEY_QUIT, NULL);
}
