/* timer.c — deadlines in a binary heap and the one timer thread that enforces them, runs the listener's tick
 * and the pool's watch, and walks the connections while a stop drains.
 *
 * Costs: arming a deadline is O(log n) under tlock, and usually O(1): a connection keeps one heap entry whose
 * key may be earlier than its real deadline (t_due); when the entry reaches the top early it is moved down to
 * t_due then. So a keep-alive request re-arms its idle deadline without touching the heap, and the timer
 * thread wakes only when something is due: nothing walks the connections while the server runs.
 * The timer thread holds tlock when it finds a connection due, so it only try-locks c->lock (the lock order is
 * server->lock, c->lock, tlock); a connection is alive while it is in the heap, since ph__conn_free removes it
 * under tlock before freeing. The heap has room for every instance (ph__timer_reserve, when one is created),
 * so arming never allocates, never fails and never logs under a lock. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define PH_STOP_WALK_MS 25u /* how often a stop re-applies its rules while draining */

static int heap_less(const ph_conn *a, const ph_conn *b)
{
    return a->t_key < b->t_key;
}

static void heap_set(ph_server *s, long i, ph_conn *c)
{
    s->heap[i] = c;
    c->t_idx = i;
}

static void sift_up(ph_server *s, long i)
{
    ph_conn *c = s->heap[i];

    while (i > 0) {
        long parent = (i - 1) / 2;
        if (!heap_less(c, s->heap[parent]))
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, c);
}

static void sift_down(ph_server *s, long i)
{
    ph_conn *c = s->heap[i];

    for (;;) {
        long child = 2 * i + 1;
        if (child >= s->heap_len)
            break;
        if (child + 1 < s->heap_len && heap_less(s->heap[child + 1], s->heap[child]))
            child++;
        if (!heap_less(s->heap[child], c))
            break;
        heap_set(s, i, s->heap[child]);
        i = child;
    }
    heap_set(s, i, c);
}

/* Under tlock: the heap has room for n entries. Returns 0, or -1 when it cannot grow. */
static int heap_grow(ph_server *s, long n)
{
    long cap = s->heap_cap ? s->heap_cap : 64;
    ph_conn **h;

    if (n <= s->heap_cap)
        return 0;
    while (cap < n)
        cap *= 2;
    h = realloc(s->heap, (size_t)cap * sizeof(*h)); /* NOLINT(bugprone-sizeof-expression): an array of pointers */
    if (h == NULL)
        return -1;
    s->heap = h;
    s->heap_cap = cap;
    return 0;
}

int ph__timer_reserve(ph_server *s, long n)
{
    int rc;

    AcquireSRWLockExclusive(&s->tlock);
    rc = heap_grow(s, n);
    ReleaseSRWLockExclusive(&s->tlock);
    return rc;
}

/* Under tlock; there is room (ph__timer_reserve). Returns 0, or -1 if there is none after all. */
static int heap_push(ph_server *s, ph_conn *c)
{
    if (s->heap_len == s->heap_cap && heap_grow(s, s->heap_len + 1) != 0)
        return -1;
    s->heap_len++;
    heap_set(s, s->heap_len - 1, c);
    sift_up(s, s->heap_len - 1);
    return 0;
}

/* Under tlock. */
static void heap_remove(ph_server *s, ph_conn *c)
{
    long i = c->t_idx;
    ph_conn *last;

    if (i < 0)
        return;
    c->t_idx = -1;
    last = s->heap[--s->heap_len];
    if (last == c)
        return;
    heap_set(s, i, last);
    if (i > 0 && heap_less(last, s->heap[(i - 1) / 2]))
        sift_up(s, i);
    else
        sift_down(s, i);
}

int ph__timer_init(ph_server *s)
{
    InitializeSRWLock(&s->tlock);
    s->heap = NULL;
    s->heap_len = s->heap_cap = 0;
    s->t_wake_at = ~(ULONGLONG)0;
    s->timer_quit = 0;
    return 0;
}

void ph__timer_free(ph_server *s)
{
    free(s->heap);
    s->heap = NULL;
    s->heap_len = s->heap_cap = 0;
}

void ph__timer_kick(ph_server *s, ULONGLONG due)
{
    int wake;

    AcquireSRWLockShared(&s->tlock);
    wake = due < s->t_wake_at;
    ReleaseSRWLockShared(&s->tlock);
    if (wake)
        SetEvent(s->timer_wake);
}

void ph__timer_arm_locked(ph_server *s, ph_conn *c, ph_conn_state st, ULONGLONG due)
{
    int wake = 0;

    AcquireSRWLockExclusive(&s->tlock);
    c->t_due = due;
    c->t_state = st;
    if (due != 0) {
        if (c->t_idx < 0) {
            c->t_key = due;
            if (heap_push(s, c) != 0)
                c->t_due = 0; /* cannot happen: every instance reserved its entry when it was created */
        } else if (due < c->t_key) {
            c->t_key = due;
            sift_up(s, c->t_idx);
        }
        wake = c->t_idx == 0 && due < s->t_wake_at;
    }
    ReleaseSRWLockExclusive(&s->tlock);
    if (wake)
        SetEvent(s->timer_wake);
}

void ph__timer_remove(ph_server *s, ph_conn *c)
{
    AcquireSRWLockExclusive(&s->tlock);
    heap_remove(s, c);
    c->t_due = 0;
    ReleaseSRWLockExclusive(&s->tlock);
}

/* The deadlines in the same class: a request's idle deadline also bounds reading its rest. */
static int same_class(ph_conn_state a, ph_conn_state b)
{
    if (a == PH_CONN_READING)
        a = PH_CONN_IDLE;
    if (b == PH_CONN_READING)
        b = PH_CONN_IDLE;
    return a == b;
}

/* Handles every heap entry due by now. Returns the key of the next entry (~0 when none), or now + 1 when a
 * connection's lock was busy and the entry must be looked at again very soon. */
static ULONGLONG run_due(ph_server *s, ULONGLONG now)
{
    ULONGLONG next;

    AcquireSRWLockExclusive(&s->tlock);
    while (s->heap_len > 0 && s->heap[0]->t_key <= now) {
        ph_conn *c = s->heap[0];
        ULONGLONG again;

        if (c->t_due == 0) {
            heap_remove(s, c);
            continue;
        }
        if (c->t_due > now) {
            /* Re-armed later since it was pushed: move it down to its real deadline. */
            c->t_key = c->t_due;
            sift_down(s, 0);
            continue;
        }
        if (!TryAcquireSRWLockExclusive(&c->lock)) {
            /* Its owner is in the middle of a transition; it will be brief. */
            ReleaseSRWLockExclusive(&s->tlock);
            return now + 1;
        }
        heap_remove(s, c);
        c->t_due = 0;
        again = same_class(c->state, c->t_state) ? ph__conn_on_deadline(c, now) : 0;
        if (again != 0) {
            c->t_due = c->t_key = again;
            if (heap_push(s, c) != 0)
                c->t_due = 0;
        }
        ReleaseSRWLockExclusive(&c->lock);
    }
    next = s->heap_len > 0 ? s->heap[0]->t_key : ~(ULONGLONG)0;
    ReleaseSRWLockExclusive(&s->tlock);
    return next;
}

DWORD WINAPI ph__timer_main(LPVOID arg)
{
    ph_server *s = arg;
    ph_worker self;

    memset(&self, 0, sizeof(self));
    self.server = s;
    InitializeSRWLock(&self.lock);
    ph__mark_worker(&self);
    for (;;) {
        ULONGLONG now = GetTickCount64(), next, due;
        int stopping;
        DWORD wait;

        next = run_due(s, now);
        due = ph__pool_watch(s, now);
        if (due < next)
            next = due;

        AcquireSRWLockShared(&s->lock);
        if (s->timer_quit) {
            ReleaseSRWLockShared(&s->lock);
            break;
        }
        stopping = s->state == PH_SRV_STOPPING;
        ReleaseSRWLockShared(&s->lock);

        due = ph__listener_tick(s, now);
        if (due < next)
            next = due;
        if (stopping) {
            AcquireSRWLockShared(&s->lock);
            ph__conn_stop_walk_locked(s, now);
            ReleaseSRWLockShared(&s->lock);
            if (now + PH_STOP_WALK_MS < next)
                next = now + PH_STOP_WALK_MS;
        }

        /* Plan the sleep under both locks, so that a deadline armed or a retry scheduled meanwhile either is
         * seen here or sees the new t_wake_at and signals. */
        AcquireSRWLockShared(&s->lock);
        AcquireSRWLockExclusive(&s->tlock);
        if (s->heap_len > 0 && s->heap[0]->t_key < next)
            next = s->heap[0]->t_key;
        if (s->refill_at != 0 && s->refill_at < next)
            next = s->refill_at;
        s->t_wake_at = next;
        ReleaseSRWLockExclusive(&s->tlock);
        ReleaseSRWLockShared(&s->lock);
        now = GetTickCount64();
        due = next > now ? next - now : 0;
        wait = next == ~(ULONGLONG)0 ? INFINITE : (due > 0x7fffffffu ? 0x7fffffffu : (DWORD)due);
        WaitForSingleObject(s->timer_wake, wait);
        AcquireSRWLockExclusive(&s->tlock);
        s->t_wake_at = 0; /* awake: nobody needs to signal */
        ReleaseSRWLockExclusive(&s->tlock);
    }
    return 0;
}
