/* lograte.c — a rate limit for the log lines clients can cause, per user (SID) and kind of line, with summaries. */
#include "lograte.h"

#include <string.h>

void ph__svc_lograte_init(svc_lograte *rl)
{
    memset(rl, 0, sizeof(*rl));
}

static void copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Tops up a bucket: one token per interval since the last top-up, at most burst. */
static void refill(uint32_t *tokens, uint64_t *refilled_ms, uint32_t burst, uint32_t interval_ms, uint64_t now_ms)
{
    uint64_t add;

    if (now_ms <= *refilled_ms)
        return;
    add = (now_ms - *refilled_ms) / interval_ms;
    if (add == 0)
        return;
    *tokens = add >= burst || *tokens + add >= burst ? burst : *tokens + (uint32_t)add;
    *refilled_ms += add * interval_ms;
}

static void summarise(svc_lograte_kind *k, uint64_t now_ms, svc_lograte_summary_fn emit, void *ctx)
{
    if (k->suppressed > 0 && emit != NULL)
        emit(ctx, k->level, k->user, k->kind, k->suppressed);
    k->suppressed = 0;
    k->summary_ms = now_ms;
}

static svc_lograte_kind *find_kind(svc_lograte *rl, const char *user, const char *kind, int level, uint64_t now_ms,
                                   svc_lograte_summary_fn emit, void *ctx)
{
    svc_lograte_kind *oldest = &rl->kinds[0];
    size_t i;

    for (i = 0; i < SVC_LOGRATE_KINDS; i++) {
        svc_lograte_kind *k = &rl->kinds[i];
        if (k->used && strcmp(k->user, user) == 0 && strcmp(k->kind, kind) == 0)
            return k;
        if (!k->used || (oldest->used && k->used_ms < oldest->used_ms))
            oldest = k;
    }
    if (oldest->used)
        summarise(oldest, now_ms, emit, ctx);
    memset(oldest, 0, sizeof(*oldest));
    oldest->used = 1;
    copy(oldest->user, sizeof(oldest->user), user);
    copy(oldest->kind, sizeof(oldest->kind), kind);
    oldest->level = level;
    oldest->tokens = SVC_LOGRATE_BURST;
    oldest->refilled_ms = now_ms;
    oldest->summary_ms = now_ms;
    return oldest;
}

static svc_lograte_user *find_user(svc_lograte *rl, const char *user, uint64_t now_ms)
{
    svc_lograte_user *oldest = &rl->users[0];
    size_t i;

    for (i = 0; i < SVC_LOGRATE_USERS; i++) {
        svc_lograte_user *u = &rl->users[i];
        if (u->used && strcmp(u->user, user) == 0)
            return u;
        if (!u->used || (oldest->used && u->used_ms < oldest->used_ms))
            oldest = u;
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->used = 1;
    copy(oldest->user, sizeof(oldest->user), user);
    oldest->tokens = SVC_LOGRATE_USER_BURST;
    oldest->refilled_ms = now_ms;
    return oldest;
}

int ph__svc_lograte_admit(svc_lograte *rl, const char *user, const char *kind, int level, uint64_t now_ms,
                      svc_lograte_summary_fn emit, void *ctx)
{
    svc_lograte_kind *k;
    svc_lograte_user *u = NULL;

    if (user == NULL)
        user = "";
    k = find_kind(rl, user, kind, level, now_ms, emit, ctx);
    k->used_ms = now_ms;
    refill(&k->tokens, &k->refilled_ms, SVC_LOGRATE_BURST, SVC_LOGRATE_INTERVAL_MS, now_ms);
    if (user[0] != '\0') {
        /* Kind slots cannot push a user's slot out: users have their own table. */
        u = find_user(rl, user, now_ms);
        u->used_ms = now_ms;
        refill(&u->tokens, &u->refilled_ms, SVC_LOGRATE_USER_BURST, SVC_LOGRATE_USER_INTERVAL_MS, now_ms);
    }
    if (k->tokens == 0 || (u != NULL && u->tokens == 0)) {
        k->suppressed++;
        return 0;
    }
    k->tokens--;
    if (u != NULL)
        u->tokens--;
    summarise(k, now_ms, emit, ctx);
    return 1;
}

void ph__svc_lograte_flush(svc_lograte *rl, uint64_t now_ms, int all, svc_lograte_summary_fn emit, void *ctx)
{
    size_t i;

    for (i = 0; i < SVC_LOGRATE_KINDS; i++) {
        svc_lograte_kind *k = &rl->kinds[i];
        if (k->used && k->suppressed > 0 && (all || now_ms - k->summary_ms >= SVC_LOGRATE_INTERVAL_MS))
            summarise(k, now_ms, emit, ctx);
    }
}

void ph__svc_lograte_classify(const char *line, char *user, size_t user_size, char *kind, size_t kind_size)
{
    const char *p = line, *sid = strstr(line, "user S-1-");
    const char *sid_end = NULL;
    size_t o = 0;

    if (user_size > 0)
        user[0] = '\0';
    if (sid != NULL) {
        size_t n = 0;
        sid += 5; /* "user " */
        while ((sid[n] >= '0' && sid[n] <= '9') || sid[n] == '-' || sid[n] == 'S')
            n++;
        sid_end = sid + n;
        if (user_size > 0) {
            if (n >= user_size)
                n = user_size - 1;
            memcpy(user, sid, n);
            user[n] = '\0';
        }
    }
    /* "connection 123: " names one connection, not a kind. */
    if (strncmp(p, "connection ", 11) == 0) {
        const char *q = p + 11;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q[0] == ':' && q[1] == ' ')
            p = q + 2;
    }
    if (kind_size == 0)
        return;
    while (*p != '\0' && o + 1 < kind_size) {
        if (p == sid && sid_end != NULL) {
            p = sid_end;
            continue;
        }
        if (*p >= '0' && *p <= '9') {
            while (*p >= '0' && *p <= '9')
                p++;
            kind[o++] = '#';
            continue;
        }
        kind[o++] = *p++;
    }
    kind[o] = '\0';
}
