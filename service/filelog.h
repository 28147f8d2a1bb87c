/* filelog.h — a size-bounded plain-text log file with one rotation (NAME -> NAME.1). */
#ifndef PH_SVC_FILELOG_H
#define PH_SVC_FILELOG_H

#include <windows.h>

#include <pipehost/pipehost.h>

#include <stddef.h>
#include <stdint.h>

typedef struct svc_filelog svc_filelog;

/* Opens (creating if needed) path for appending. path must be a full path on a local drive ("C:\\..."; '/'
 * separates too). Every folder from the drive's root to the file's own is opened without following links and
 * held, without FILE_SHARE_DELETE, until ph__svc_filelog_close, so none can be renamed, deleted or replaced by a
 * junction meanwhile; a junction, symbolic link or mount point on the way is refused. Missing folders are
 * created with dir_sddl (NULL: SYSTEM and Administrators full control, Users read), protected from
 * inheritance, plus full control for this process's account when it is not SYSTEM. Each folder created, and
 * the file's own folder whether created or found, must pass ph__svc_filelog_check_dir before anything is created
 * in it; the folder's and the file's normalised paths must be the ones given (no short names, no drive letter
 * mapped elsewhere) and the file must not be a link. When the file would grow past max_bytes, the open file
 * itself is renamed to NAME.1 in the held folder (replacing the previous one) and a new file started, so at
 * most about 2 * max_bytes are kept. Returns 0 or the Win32 error; why (may be NULL) gets the reason a folder
 * or the file was refused. */
DWORD ph__svc_filelog_open(const wchar_t *path, uint32_t max_bytes, const wchar_t *dir_sddl, svc_filelog **out,
                       char *why, size_t why_size);
/* A folder a privileged service may create, append to and rename files in: a plain folder (not a junction
 * or symbolic link), owned by SYSTEM, Administrators, a service SID or the account of this process, whose
 * DACL lets no other principal add, delete or rename entries, write attributes or change its security
 * (inherit-only CREATOR OWNER entries excepted: new files are owned by us). Returns 0, or a Win32 error
 * (ERROR_INVALID_OWNER, ERROR_INVALID_ACL, ERROR_CANT_ACCESS_FILE for a reparse point, or the error that
 * kept it from being read) with why set. */
DWORD ph__svc_filelog_check_dir(const wchar_t *dir, char *why, size_t why_size);
/* The same check for any file or folder and any set of rights: a plain file or folder (no reparse point)
 * owned by a principal ph__svc_filelog_check_dir trusts, whose DACL grants none of rights (after the generic
 * mapping for files) to any other principal. SVC_WRITERS_FILE checks a plain file instead of a folder;
 * SVC_WRITERS_OWN_ACES ignores inherit-only ACEs, which give rights over the object's future children only.
 * Returns as ph__svc_filelog_check_dir. */
#define SVC_WRITERS_FILE 1u
#define SVC_WRITERS_OWN_ACES 2u
DWORD ph__svc_filelog_check_writers(const wchar_t *path, DWORD rights, unsigned flags, char *why, size_t why_size);
/* The same check on a folder already open (with READ_CONTROL and FILE_READ_ATTRIBUTES, without following a
 * reparse point): what is checked is what the caller goes on to use. */
DWORD ph__svc_filelog_check_dir_handle(HANDLE h, char *why, size_t why_size);
/* Renames the file or folder open as h (with DELETE access) to name inside the folder open as dir: no path is
 * looked up but the new name's, relative to a handle the caller holds. Returns 0 or a Win32 error. */
DWORD ph__svc_rename_by_handle(HANDLE h, HANDLE dir, const wchar_t *name, int replace);
/* The same check, shared with the command verbs' programs (cmdrun_prog.c): SVC_TRUST_FOLDER is the above;
 * SVC_TRUST_FILE a plain file (not a link) that no other principal may write, append to, delete or re-secure;
 * SVC_TRUST_ANCESTOR a folder above one of those, where others may still add new entries (C:\ lets
 * Authenticated Users make folders) but not remove, rename or re-secure any, and inherit-only entries are
 * ignored (they do not apply to the path being checked). */
typedef enum svc_trust_kind { SVC_TRUST_FOLDER, SVC_TRUST_FILE, SVC_TRUST_ANCESTOR } svc_trust_kind;
/* The SID of the account this process runs as, "S-1-…", into out; 0 if it cannot be read or does not fit. */
int ph__svc_self_sid(char *out, size_t size);
DWORD ph__svc_check_trusted(const wchar_t *path, svc_trust_kind kind, char *why, size_t why_size);
/* Appends one line (a "\r\n" is added). Thread-safe; each line is one WriteFile, so lines never interleave. */
void ph__svc_filelog_write(svc_filelog *log, const char *line, size_t len);
/* Changes the size bound for later writes. */
void ph__svc_filelog_set_max(svc_filelog *log, uint32_t max_bytes);
void ph__svc_filelog_close(svc_filelog *log);

#endif /* PH_SVC_FILELOG_H */
