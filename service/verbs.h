/* verbs.h — the built-in verbs PING, HEALTH, ECHO, STATUS and WHOAMI, registered on a core verb router. */
#ifndef PH_SVC_VERBS_H
#define PH_SVC_VERBS_H

#include <pipehost/pipehost.h>

#include "config.h"

#include <stdint.h>

#include <windows.h>

/* What STATUS reports. server is set once created (before it starts), and stays valid while it runs. */
typedef struct svc_verbs {
    ph_server *server;
    uint64_t started_ms;       /* monotonic ms at start, for uptime_ms */
    const char *service_name;  /* UTF-8; "" in console mode */
    uint32_t max_instances;    /* the pool the server was started with (STATUS's pool=), set once before it starts */
    SRWLOCK lock;              /* guards the two fields below: PARAMCHANGE writes them, STATUS reads them */
    unsigned long reloads;     /* PARAMCHANGE requests handled, accepted or refused */
    char reload_result[400];   /* the last one's outcome: "ok: …" or "refused: …"; "" before the first */
    struct svc_cmdrun *cmdrun; /* command verbs' runner (STATUS's commands_… keys); NULL without any */
} svc_verbs;

/* Adds PING, HEALTH, ECHO, STATUS (restricted to PH_SERVICE_STATUS_SDDL) and WHOAMI to router with v as their
 * context. Returns 0 or a PH_E… code. */
int ph__svc_verbs_register(ph_router *router, svc_verbs *v);
/* Records the outcome of a PARAMCHANGE for STATUS (`pipehost reload` waits for `reloads` to rise). */
void ph__svc_verbs_reloaded(svc_verbs *v, const char *result);

#endif /* PH_SVC_VERBS_H */
