/* filelog.h — a size-bounded plain-text log file with one rotation (NAME -> NAME.1). */
#ifndef PH_SVC_FILELOG_H
#define PH_SVC_FILELOG_H

#include <windows.h>

#include <pipehost/pipehost.h>

#include <stddef.h>
#include <stdint.h>

typedef struct svc_filelog svc_filelog;

/* Opens (creating if needed) path for appending. Missing parent folders are created; the last one with
 * dir_sddl as its security descriptor when given (the default log folder is writable by SYSTEM and
 * Administrators only). With dir_sddl the folder is the service's own: whether created now or found, it
 * must pass svc_filelog_check_dir before any file is created in it. When the file would grow past
 * max_bytes, it is renamed to path + ".1" (replacing the previous one) and a new file started, so at most
 * about 2 * max_bytes are kept. Returns 0 or the Win32 error; why (may be NULL) gets the reason a folder
 * was refused. */
DWORD svc_filelog_open(const wchar_t *path, uint32_t max_bytes, const wchar_t *dir_sddl, svc_filelog **out,
                       char *why, size_t why_size);
/* A folder a privileged service may create, append to and rename files in: a plain folder (not a junction
 * or symbolic link), owned by SYSTEM, Administrators, a service SID or the account of this process, whose
 * DACL lets no other principal add, delete or rename entries, write attributes or change its security
 * (inherit-only CREATOR OWNER entries excepted: new files are owned by us). Returns 0, or a Win32 error
 * (ERROR_INVALID_OWNER, ERROR_INVALID_ACL, ERROR_CANT_ACCESS_FILE for a reparse point, or the error that
 * kept it from being read) with why set. */
DWORD svc_filelog_check_dir(const wchar_t *dir, char *why, size_t why_size);
/* The same check, shared with the command verbs' programs (cmdrun_prog.c): SVC_TRUST_FOLDER is the above;
 * SVC_TRUST_FILE a plain file (not a link) that no other principal may write, append to, delete or re-secure;
 * SVC_TRUST_ANCESTOR a folder above one of those, where others may still add new entries (C:\ lets
 * Authenticated Users make folders) but not remove, rename or re-secure any, and inherit-only entries are
 * ignored (they do not apply to the path being checked). */
typedef enum svc_trust_kind { SVC_TRUST_FOLDER, SVC_TRUST_FILE, SVC_TRUST_ANCESTOR } svc_trust_kind;
/* The SID of the account this process runs as, "S-1-…", into out; 0 if it cannot be read or does not fit. */
int svc_self_sid(char *out, size_t size);
DWORD svc_check_trusted(const wchar_t *path, svc_trust_kind kind, char *why, size_t why_size);
/* Appends one line (a "\r\n" is added). Thread-safe; each line is one WriteFile, so lines never interleave. */
void svc_filelog_write(svc_filelog *log, const char *line, size_t len);
/* Changes the size bound for later writes. */
void svc_filelog_set_max(svc_filelog *log, uint32_t max_bytes);
void svc_filelog_close(svc_filelog *log);

#endif /* PH_SVC_FILELOG_H */
