/* exitcodes.h — every exit code pipehost.exe can end with, as a service and as a command-line client. */
#ifndef PH_SVC_EXITCODES_H
#define PH_SVC_EXITCODES_H

/* The service (and `pipehost run`, which ends with the same codes). Under the SCM a non-zero code is reported
 * as STOPPED with dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR (1066) and dwServiceSpecificExitCode = the
 * code below; `sc query NAME` shows both. A clean stop is 0 / 0. Numbers are never reused. */
#define PH_EXIT_OK 0            /* stopped cleanly */
#define PH_EXIT_CONFIG 1        /* configuration invalid: a value of the wrong type, out of range, unknown */
#define PH_EXIT_PIPE_IN_USE 2   /* another process already serves the configured pipe name */
#define PH_EXIT_SECURITY 3      /* the security descriptor (Sddl) is invalid or has no DACL */
#define PH_EXIT_START_FAILED 4  /* any other start failure (out of memory, Win32 failure creating the pipe) */
#define PH_EXIT_LOG 5           /* the log file cannot be opened or created */
#define PH_EXIT_USAGE 64        /* bad command line, or started without arguments outside the SCM */

/* The client commands (`pipehost ping|status|whoami|send`). */
#define PH_CLI_OK 0             /* the server answered "OK …" */
#define PH_CLI_ERR_ANSWER 1     /* the server answered "ERR <code> <text>" */
#define PH_CLI_NOT_FOUND 2      /* no such pipe: the service is not running or uses another name */
#define PH_CLI_BUSY 3           /* every instance stayed busy, or no answer, until the deadline */
#define PH_CLI_ACCESS 4         /* access denied by the pipe's security descriptor */
#define PH_CLI_FAILED 5         /* any other failure (connection broken, bad response, the answer could not be
                                   written to standard output) */
/* PH_EXIT_USAGE (64) for a bad command line. */

#endif /* PH_SVC_EXITCODES_H */
