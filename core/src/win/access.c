/* access.c — per-verb authorization: a verb's security descriptor and the AccessCheck of a request's client against it. */
#include "ph_win.h"

#include <stdlib.h>
#include <string.h>

/* Every generic right means "may call the verb": a descriptor written with GA, GR, GW or GX works. */
static const GENERIC_MAPPING verb_mapping = {PH_VERB_ACCESS, PH_VERB_ACCESS, PH_VERB_ACCESS, PH_VERB_ACCESS};

/* AccessCheck wants an owner and a group, which an SDDL string of only "D:…" lacks, so the descriptor used
 * is an absolute one built around the parsed DACL, with SYSTEM standing in for whatever is missing (neither
 * takes part in the decision: the owner's implicit rights are READ_CONTROL and WRITE_DAC, never
 * PH_VERB_ACCESS). */
struct ph__verb_acl {
    PSECURITY_DESCRIPTOR parsed; /* self-relative, from the SDDL (LocalFree); owns the DACL, owner, group */
    SECURITY_DESCRIPTOR sd;      /* absolute, pointing into parsed and system */
    unsigned char system[SECURITY_MAX_SID_SIZE];
};

/* Generic bits in ACEs are mapped here, once: AccessCheck maps the desired mask, not the descriptor. */
static void map_aces(PACL dacl)
{
    WORD i;

    for (i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL; /* same layout for the deny type; ph_sddl_check allowed no others */
        if (GetAce(dacl, i, (void **)&ace))
            MapGenericMask(&ace->Mask, (PGENERIC_MAPPING)&verb_mapping);
    }
}

int ph__verb_acl_new(const char *sddl, ph__verb_acl **out)
{
    ph__verb_acl *acl;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    PSID owner = NULL, group = NULL;
    DWORD err = 0, size;
    int rc;

    *out = NULL;
    acl = calloc(1, sizeof(*acl));
    if (acl == NULL)
        return PH_ENOMEM;
    rc = ph__security_parse(sddl, PH_SDDL_ACCESS, &acl->parsed, &err, NULL, 0);
    if (rc != 0)
        goto cleanup;
    rc = PH_ESYS;
    size = sizeof(acl->system);
    if (!GetSecurityDescriptorDacl(acl->parsed, &present, &dacl, &defaulted) ||
        !GetSecurityDescriptorOwner(acl->parsed, &owner, &defaulted) ||
        !GetSecurityDescriptorGroup(acl->parsed, &group, &defaulted) ||
        !CreateWellKnownSid(WinLocalSystemSid, NULL, acl->system, &size) ||
        !InitializeSecurityDescriptor(&acl->sd, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(&acl->sd, TRUE, dacl, FALSE) ||
        !SetSecurityDescriptorOwner(&acl->sd, owner != NULL ? owner : (PSID)acl->system, FALSE) ||
        !SetSecurityDescriptorGroup(&acl->sd, group != NULL ? group : (PSID)acl->system, FALSE))
        goto cleanup;
    map_aces(dacl);
    *out = acl;
    acl = NULL;
    rc = 0;

cleanup:
    ph__verb_acl_free(acl);
    return rc;
}

void ph__verb_acl_free(ph__verb_acl *acl)
{
    if (acl == NULL)
        return;
    if (acl->parsed != NULL)
        LocalFree(acl->parsed);
    free(acl);
}

int ph__verb_acl_allows(const ph__verb_acl *acl, const ph_request *req, const char *verb)
{
    const ph_logger *log = NULL;
    const ph_client_info *who;
    HANDLE pipe = ph__request_pipe(req, &log);
    DWORD err = ERROR_INVALID_HANDLE;
    int granted = 0;

    if (pipe != INVALID_HANDLE_VALUE)
        err = ph__pipe_client_access(pipe, (PSECURITY_DESCRIPTOR)&acl->sd, PH_VERB_ACCESS, &verb_mapping, &granted);
    if (err == 0 && granted)
        return 1;
    who = ph_request_client(req);
    if (err != 0)
        ph__log_win32(log, PH_LOG_WARN, err, "client access check",
                      "connection %llu: %s forbidden: the client's token cannot be checked (user %s, pid %lu)",
                      (unsigned long long)req->connection_id, verb, who->user_sid[0] ? who->user_sid : "unknown",
                      who->pid);
    else
        ph__log(log, PH_LOG_WARN, "connection %llu: %s forbidden for user %s (pid %lu): not granted by the verb's "
                "security descriptor", (unsigned long long)req->connection_id, verb,
                who->user_sid[0] ? who->user_sid : "unknown", who->pid);
    return 0;
}
