/* admin.h — the administrator's commands: install, uninstall, status and reload, and the service → pipe lookup. */
#ifndef PH_ADMIN_H
#define PH_ADMIN_H

#include <windows.h>

#include <pipehost/service.h>

#include <stddef.h>

/* `pipehost install …` / `uninstall …` / `reload …`: argv[0] is the command. Returns a PH_ADMIN_… or
 * PH_EXIT_USAGE code (service/exitcodes.h). */
int ph__svc_admin_install(int argc, char **argv, const ph_service_app *app);
int ph__svc_admin_uninstall(int argc, char **argv, const ph_service_app *app);
int ph__svc_admin_reload(int argc, char **argv, const ph_service_app *app);
/* `pipehost status …`: the SCM's view and the effective configuration of an installed service, then the
 * server's own STATUS answer. Returns -1 when the command is the plain client STATUS instead (--pipe given, or
 * no --service/--name and no service named after the program installed): the caller then runs the client. */
int ph__svc_admin_status(int argc, char **argv, const ph_service_app *app);

/* The pipe a service serves: its PipeName from the registry, or default_pipe when it has none. Returns 0,
 * 1 when no such service is installed, or -1 when its configuration cannot be read or PipeName is invalid
 * (why explains). */
int ph__svc_admin_service_pipe(const char *service, const char *default_pipe, char *pipe, size_t size, char *why,
                           size_t why_size);

/* "RUNNING", "STOPPED", … for a service state. */
const char *ph__svc_admin_state_name(DWORD state);

/* pipehost's recovery policy (SCM failure actions): restart after 5 s, 10 s and 30 s, then no action, so a
 * service that keeps failing stays stopped instead of restarting every 30 s for ever (exit codes 1, 2, 3 and 5
 * do not go away by restarting; 4 and 6 may). The count is reset after SVC_ADMIN_FAILURE_RESET_S seconds
 * without a failure; a non-zero exit code counts as a failure (the flag), not only a crash. With off, no
 * actions and the flag cleared. Fills actions and points fa at them. */
#define SVC_ADMIN_FAILURE_ACTIONS 4
#define SVC_ADMIN_FAILURE_RESET_S 3600u
void ph__svc_admin_failure_actions(int off, SC_ACTION actions[SVC_ADMIN_FAILURE_ACTIONS], SERVICE_FAILURE_ACTIONSW *fa,
                               SERVICE_FAILURE_ACTIONS_FLAG *flag);

/* `pipehost config …`: lists an installed service's effective configuration, or changes it (--set Name=Value,
 * --unset Name), checked with the service's own rules first. Returns 0, PH_EXIT_USAGE (nothing written) or a
 * PH_ADMIN_… code. */
int ph__svc_admin_config(int argc, char **argv, const ph_service_app *app);

/* The per-service SID "S-1-5-80-…" Windows derives from a service name (SHA-1 of the upper-cased name);
 * it is what "NT SERVICE\NAME" resolves to. Returns 0 or a Win32 error. */
DWORD ph__svc_admin_service_sid(const wchar_t *service, wchar_t *out, size_t size);

/* Creates the log folder (%ProgramData%\<log folder>: ph_service_app.log_folder, default pipehost) if needed, with owner SYSTEM and a protected DACL: SYSTEM
 * and Administrators full control, Users read, and for service_sid (NULL for LocalSystem, which needs nothing
 * more) plus any service SIDs already granted (other services share the folder): list and add files on the
 * folder itself, modify on its files (inherit-only), so no service can delete, rename or re-ACL the folder.
 * An existing folder is opened without following links and checked (ph__svc_filelog_check_dir_handle): one that
 * passes gets the descriptor on that handle; any other (made by a user, a file, a junction or link) is never
 * re-ACLed: it is moved aside by its handle, untouched, to %ProgramData%\pipehost.foreign-<UTC>-<pid> (moved
 * gets the path, why the reason), and a fresh folder is made. *created says whether a folder was made now.
 * path gets the folder. Returns 0 or a Win32 error. */
DWORD ph__svc_admin_prepare_log_dir(const wchar_t *service_sid, wchar_t *path, size_t size, int *created, wchar_t *moved,
                                size_t moved_size, char *why, size_t why_size);

/* Whether exe may run behind a privileged service (installer/location.c): its final path (links and junctions
 * resolved) is on a local drive; neither it nor a DLL in its folder can be written, deleted or have its
 * permissions changed by anyone but SYSTEM, Administrators, trusted installers (service SIDs such as
 * TrustedInstaller) and the account running this check; its folder passes ph__svc_filelog_check_dir (nobody else
 * may add, rename or remove an entry there); and no folder above it lets anyone else rename or remove an
 * entry or change its permissions. Returns 0, or the Win32 error of the first refusal with where set to the
 * path refused and why to the reason. */
DWORD ph__svc_admin_check_location(const wchar_t *exe, wchar_t *where, size_t where_size, char *why, size_t why_size);

/* The log folder's security descriptor as SDDL: owner SYSTEM, protected DACL as above, keeping (in today's
 * form) the service SIDs granted in old_dacl (may be NULL). Returns 0 or ERROR_INSUFFICIENT_BUFFER. */
DWORD ph__svc_admin_log_dir_sddl(const wchar_t *service_sid, PACL old_dacl, wchar_t *sddl, size_t size);

/* `pipehost command add VERB --program PATH --allow SDDL [...] | remove VERB | list`: an installed service's
 * command verbs (Parameters\Commands and their Parameters\Verbs descriptors), checked with the service's own
 * rules (the program's safety included) before anything is written; a restart applies them. Returns 0,
 * PH_EXIT_USAGE (nothing written) or a PH_ADMIN_… code. */
int ph__svc_admin_command(int argc, char **argv, const ph_service_app *app);

#endif /* PH_ADMIN_H */
