/* cmdrun_line.h — a command verb's command line and environment block, built from configuration (platform-neutral). */
#ifndef PH_SVC_CMDRUN_LINE_H
#define PH_SVC_CMDRUN_LINE_H

#include <stddef.h>
#include <stdint.h>

/* The command line for program and its fixed arguments, UTF-8, malloc'd (NULL when out of memory). argv[0]
 * is the program in quotes (a Windows file name cannot contain '"'); each argument is quoted, where needed,
 * with the rules CommandLineToArgvW and the Microsoft C runtime undo, so the program receives exactly
 * args[0..n-1]. Nothing else goes into it: a request's payload reaches the program on its standard input only,
 * and no shell ever reads the line. */
char *ph__svc_cmdline_build(const char *program, const char *const *args, size_t n);

/* Appends arg, quoted as above, to out (size bytes, NUL-terminated) at *used; returns the length the quoted
 * argument needs, whether or not it fitted (call with size 0 to measure). */
size_t ph__svc_cmdline_quote(const char *arg, char *out, size_t size, size_t *used);

/* Who asked for a command run: put into the program's environment as PIPEHOST_USER_SID, PIPEHOST_CLIENT_PID,
 * PIPEHOST_SESSION, PIPEHOST_VERB and PIPEHOST_CONN_ID. */
typedef struct svc_cmd_identity {
    const char *user_sid; /* "S-1-…" or "" */
    unsigned long pid;
    unsigned long session;
    const char *verb;
    uint64_t connection_id;
} svc_cmd_identity;

/* Checks one configured Environment entry: "NAME=VALUE" with a NAME of 1..255 characters, none of them '=' or
 * a control character, a VALUE without control characters, and not a name the service sets itself
 * (SystemRoot, PIPEHOST_…; compared case-insensitively, as Windows compares names). Returns 0, or -1 with why
 * set. */
int ph__svc_cmdenv_check(const char *entry, char *why, size_t why_size);

/* The environment block for one run, UTF-8: the configured entries (already checked, no name twice), then
 * SystemRoot=system_root (when not NULL; many programs fail without it) and the identity, each "NAME=VALUE\0",
 * sorted by name case-insensitively as CreateProcess expects, ending with an extra NUL. Nothing of the
 * service's own environment is in it. *len gets the size in bytes, both final NULs included. NULL when out of
 * memory or an entry has no '='. */
char *ph__svc_cmdenv_build(const char *const *entries, size_t n, const char *system_root, const svc_cmd_identity *id,
                       size_t *len);

#endif /* PH_SVC_CMDRUN_LINE_H */
