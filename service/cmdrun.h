/* cmdrun.h — command verbs: a request runs an administrator's program in a job object, its pipes on one completion port. */
#ifndef PH_SVC_CMDRUN_H
#define PH_SVC_CMDRUN_H

#include <windows.h>

#include <pipehost/pipehost.h>

#include "cmdconf.h"
#include "svclog.h"

#include <stdint.h>

/* The runner owns one I/O completion port and one thread. The core offers no hook into its own port, and
 * one thread is enough: it never waits on a child, it only reacts to completions (the child's pipes), and to
 * packets posted by a thread-pool wait (the process ended) and a timer-queue timer (the timeout). Pool
 * threads only take a request, hold it (ph_request_defer) and post it to the runner.
 *
 * A run: the payload on the program's standard input (then closed), its standard output kept up to
 * MaxOutputBytes, the first bytes of its standard error for the log. Replies: exit code 0 -> "OK <stdout>";
 * "ERR exit <N>" (the exit code), "ERR timeout …", "ERR output-too-large …", "ERR cannot-start …",
 * "ERR busy …" (MaxConcurrent reached: refused at once, never queued), "ERR stopping …" (the service is
 * stopping), "ERR impersonation-required …" (RunAsClient with a client that did not allow impersonation). */
typedef struct svc_cmdrun svc_cmdrun;

/* Opens every command's program (ph__svc_cmdprog_open: refused when unsafe; held open until ph__svc_cmdrun_free),
 * builds its command line and starts the runner thread. cmds must outlive the runner. Returns 0, or PH_EINVAL
 * (a program or working folder was refused: why names the verb and the reason), PH_ENOMEM or PH_ESYS. */
int ph__svc_cmdrun_new(const svc_commands *cmds, svc_log *log, svc_cmdrun **out, char *why, size_t why_size);
/* Adds each command verb to router (the runner is their context). */
int ph__svc_cmdrun_register(svc_cmdrun *r, ph_router *router);
/* Ends every running program (its whole job), answers their held requests "ERR stopping" and refuses new
 * ones; returns when all runs are cleaned up, or after timeout_ms (then it logs what was left). Call it
 * before ph_server_stop, so held requests do not wait for the drain timeout. */
void ph__svc_cmdrun_shutdown(svc_cmdrun *r, DWORD timeout_ms);
/* Shuts down (if needed), joins the thread, closes the programs. After ph_server_free. NULL is allowed. */
void ph__svc_cmdrun_free(svc_cmdrun *r);
/* At PARAMCHANGE: checks every program (and its folders) again. A verb whose program fails is disabled
 * (answered "ERR unsafe-program …") until a later check passes. Returns how many failed; why gets the first. */
unsigned ph__svc_cmdrun_recheck(svc_cmdrun *r, char *why, size_t why_size);
/* For STATUS: programs running now, and runs started since the runner began. */
void ph__svc_cmdrun_counts(svc_cmdrun *r, uint64_t *running, uint64_t *started);

#endif /* PH_SVC_CMDRUN_H */
