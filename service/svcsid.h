/* svcsid.h — the pipe's default descriptor for the account the service runs as: its own service SID, not a shared
 * account, may add instances and owns the pipe. */
#ifndef PH_SVC_SVCSID_H
#define PH_SVC_SVCSID_H

#include <stddef.h>
#include <wchar.h>

/* Room for any descriptor ph__svc_default_sddl writes (two service SIDs of at most 5 × 10 digits, and the rest). */
#define SVC_DEFAULT_SDDL_MAX 400
#define SVC_SID_TEXT_MAX 80

/* The per-service SID of a service name as text, "S-1-5-80-" and the SHA-1 of the name in upper case (UTF-16LE)
 * as five little-endian sub-authorities: what Windows names NT SERVICE\<name>, whether or not the service exists.
 * Returns 0 or a Win32 error. */
unsigned long ph__svc_service_sid(const wchar_t *service, char *out, size_t out_size);

/* Where the token's parts stand, as ph__svc_default_sddl needs them. */
typedef struct svc_token_facts {
    const char *user_sid;    /* the process's account, "S-1-…" */
    const char *service_sid; /* the service's own SID when it is an enabled group of the token, else NULL */
    int service_sid_owner;   /* 1 when that group may be named an object's owner (SE_GROUP_OWNER) */
} svc_token_facts;

/* The default pipe descriptor for a process with these facts, into out:
 *   - LocalSystem: "" (the core's PH_DEFAULT_SDDL, where OWNER RIGHTS is SYSTEM);
 *   - with its service SID in the token: the default with that SID in place of OWNER RIGHTS, owning the pipe
 *     ("O:<sid>D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;<sid>)(A;;0x12019b;;;AU)"). When the SID may not
 *     own objects, no owner is named and an OWNER RIGHTS entry of read/write (0x12019b) takes the owner's
 *     implicit WRITE_DAC away: the owner is then the shared account;
 *   - LocalService or NetworkService without it: refused (returns -1, why says so): every process of that
 *     account, dozens of services, could add instances of the pipe;
 *   - any other account without it (a console run, a dedicated account): "" (OWNER RIGHTS is that account).
 * Returns 0 or -1. */
int ph__svc_default_sddl(const svc_token_facts *facts, char *out, size_t out_size, char *why, size_t why_size);

/* The same for this process: reads its token (its user, and its groups for the service's SID; service NULL in
 * console mode). Returns 0, or -1 with why set when refused or when the token cannot be read (never a guess). */
int ph__svc_default_sddl_here(const wchar_t *service, char *out, size_t out_size, char *why, size_t why_size);

#endif /* PH_SVC_SVCSID_H */
