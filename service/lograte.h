/* lograte.h — a rate limit for the log lines clients can cause, per user (SID) and kind of line, with summaries. */
#ifndef PH_SVC_LOGRATE_H
#define PH_SVC_LOGRATE_H

#include <stddef.h>
#include <stdint.h>

/* Any user can make the service log (a refused verb, a request too large, a client that does not read): fast
 * enough, and the lines that matter (the "forbidden" records) rotate out of the file within seconds. So each
 * (user, kind) key may write SVC_LOGRATE_BURST lines at once and then one per SVC_LOGRATE_INTERVAL_MS; each
 * user, whatever the kind (a kind can be varied, e.g. through the verb's name), SVC_LOGRATE_USER_BURST lines
 * and then one per SVC_LOGRATE_USER_INTERVAL_MS. What is held back is counted and summarised per key, one
 * line "N similar lines suppressed", at the key's next line, at the next flush at least an interval after
 * the last summary, when its slot is reused, and at the final flush. Lines without a user share the kind's
 * limit only. The tables are fixed: the least recently used slot is reused (its summary written first). */
#define SVC_LOGRATE_BURST 10u
#define SVC_LOGRATE_INTERVAL_MS 5000u
#define SVC_LOGRATE_USER_BURST 30u
#define SVC_LOGRATE_USER_INTERVAL_MS 1000u
#define SVC_LOGRATE_KINDS 64
#define SVC_LOGRATE_USERS 32
#define SVC_LOGRATE_USER_MAX 188 /* SECURITY_MAX_SID_STRING_CHARACTERS + 1 */
#define SVC_LOGRATE_KIND_MAX 64

typedef struct {
    char user[SVC_LOGRATE_USER_MAX];
    char kind[SVC_LOGRATE_KIND_MAX];
    int level;               /* the level of the key's first line: the summary's */
    uint32_t tokens;
    uint32_t suppressed;     /* since the last summary */
    uint64_t refilled_ms;    /* when tokens were last topped up */
    uint64_t summary_ms;     /* when the last summary (or the first line) was written */
    uint64_t used_ms;        /* last line seen: for reuse */
    int used;
} svc_lograte_kind;

typedef struct {
    char user[SVC_LOGRATE_USER_MAX];
    uint32_t tokens;
    uint64_t refilled_ms;
    uint64_t used_ms;
    int used;
} svc_lograte_user;

/* Not thread-safe: the caller serialises (svclog holds a lock). */
typedef struct svc_lograte {
    svc_lograte_kind kinds[SVC_LOGRATE_KINDS];
    svc_lograte_user users[SVC_LOGRATE_USERS];
} svc_lograte;

/* Receives one summary: count lines of (user, kind) at level were not written. user is "" when unknown. */
typedef void (*svc_lograte_summary_fn)(void *ctx, int level, const char *user, const char *kind, uint32_t count);

void ph__svc_lograte_init(svc_lograte *rl);
/* Whether a line of (user, kind) at level may be written at now_ms (a monotonic clock). Summaries due first
 * (this key's held-back lines, or a reused slot's) go to emit before it returns. user may be "" (unknown). */
int ph__svc_lograte_admit(svc_lograte *rl, const char *user, const char *kind, int level, uint64_t now_ms,
                      svc_lograte_summary_fn emit, void *ctx);
/* Summaries of keys with held-back lines whose last summary is at least SVC_LOGRATE_INTERVAL_MS old (every
 * one when all is non-zero: at close). */
void ph__svc_lograte_flush(svc_lograte *rl, uint64_t now_ms, int all, svc_lograte_summary_fn emit, void *ctx);
/* The key of one of the core's lines: user = the SID after "user " (else ""), kind = the text without its
 * "connection N: " prefix and the SID, digits runs as '#', cut to SVC_LOGRATE_KIND_MAX - 1 characters. */
void ph__svc_lograte_classify(const char *line, char *user, size_t user_size, char *kind, size_t kind_size);

#endif /* PH_SVC_LOGRATE_H */
