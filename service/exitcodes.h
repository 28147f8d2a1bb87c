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
#define PH_EXIT_LOG 5           /* the log file cannot be opened or created, or its folder is unsafe */
#define PH_EXIT_WORKER_ENDED 6  /* the worker ended without a stop request: a fault, so recovery actions apply */
#define PH_EXIT_STOP_HUNG 7     /* at stop, a request handler did not return within the drain timeout + 10 s:
                                   the process ended itself rather than stay STOP_PENDING for ever */
#define PH_EXIT_USAGE 64        /* bad command line, or started without arguments outside the SCM */

/* The client commands (`pipehost ping|status|whoami|send`). */
#define PH_CLI_OK 0             /* the server answered "OK …" */
#define PH_CLI_ERR_ANSWER 1     /* the server answered "ERR <code> <text>" */
#define PH_CLI_NOT_FOUND 2      /* no such pipe: the service is not running or uses another name */
#define PH_CLI_BUSY 3           /* every instance stayed busy, or no answer, until the deadline */
#define PH_CLI_ACCESS 4         /* access denied by the pipe's security descriptor */
#define PH_CLI_FAILED 5         /* any other failure (connection broken, bad response, the answer could not be
                                   written to standard output) */
#define PH_CLI_UNTRUSTED 6      /* the pipe's server does not run as the required account (squatting?) */
/* PH_EXIT_USAGE (64) for a bad command line. */

/* The administrator's commands (`pipehost install|uninstall|status|reload`). 0 is success; a failed install
 * has removed what it created; PH_EXIT_USAGE (64) for a bad command line or an invalid --set value (then
 * nothing was changed). `status` ends with the client codes above for its pipe part. */
#define PH_ADMIN_FAILED 1         /* a step failed (the message names the call and the Win32 error) */
#define PH_ADMIN_DENIED 10        /* access denied: run it from an elevated (administrator) prompt */
#define PH_ADMIN_CONFLICT 11      /* name or display name taken, or the service is marked for deletion */
#define PH_ADMIN_NOT_INSTALLED 12 /* status/reload: no such service */
#define PH_ADMIN_NOT_STARTED 13   /* installed, but --start-now did not reach RUNNING (see its log) */
#define PH_ADMIN_REFUSED 14       /* reload: the service refused the new configuration and kept the old one */
#define PH_ADMIN_NOT_RUNNING 15   /* status/reload: the service is installed but not running */
#define PH_ADMIN_UNSAFE_LOCATION 16 /* install: the executable, a DLL beside it or a folder above it can be
                                       changed by someone other than an administrator (nothing was changed;
                                       --allow-unsafe-location overrides) */

#endif /* PH_SVC_EXITCODES_H */
