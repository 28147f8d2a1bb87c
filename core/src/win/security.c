/* security.c — the one SDDL checker (ph_sddl_check): Win32 parses, sddl_rules.c judges; the pipe's security
 * descriptor built only from what it accepts, and its widening for a fixed pool. */
#include "ph_win.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The mapping pipes use for generic rights: the file one (the widening below; the rules map their own). */
static const GENERIC_MAPPING file_mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE,
                                             FILE_ALL_ACCESS};

int ph__sid_is_service_account(const char *sid)
{
    return strcmp(sid, "S-1-5-18") == 0 || strcmp(sid, "S-1-5-19") == 0 || strcmp(sid, "S-1-5-20") == 0 ||
           ph__sid_is_service_sid(sid);
}

/* A parsed descriptor's parts as the rules (sddl_rules.c) read them: SIDs as text, owned here. */
typedef struct sd_view {
    ph__sd sd;
    ph__sd_ace *dacl;
    ph__sd_ace *sacl;
    char *owner;
} sd_view;

static void view_free_aces(ph__sd_ace *aces, size_t n)
{
    size_t i;

    for (i = 0; aces != NULL && i < n; i++)
        if (aces[i].sid != NULL && aces[i].sid[0] != '\0')
            LocalFree((HLOCAL)aces[i].sid);
    free(aces);
}

static void view_free(sd_view *v)
{
    view_free_aces(v->dacl, v->sd.dacl_count);
    view_free_aces(v->sacl, v->sd.sacl_count);
    if (v->owner != NULL)
        LocalFree(v->owner);
    memset(v, 0, sizeof(*v));
}

/* The ACE types whose SID follows the mask (ACCESS_ALLOWED_ACE's layout: allow, deny, audit, alarm, their
 * callback forms, and the mandatory label). Object ACEs put GUIDs first: their SID is not read (the rules refuse
 * them by type). */
static int plain_layout(BYTE type)
{
    switch (type) {
    case ACCESS_ALLOWED_ACE_TYPE:
    case ACCESS_DENIED_ACE_TYPE:
    case SYSTEM_AUDIT_ACE_TYPE:
    case SYSTEM_ALARM_ACE_TYPE:
    case ACCESS_ALLOWED_CALLBACK_ACE_TYPE:
    case ACCESS_DENIED_CALLBACK_ACE_TYPE:
    case SYSTEM_AUDIT_CALLBACK_ACE_TYPE:
    case SYSTEM_ALARM_CALLBACK_ACE_TYPE:
    case SYSTEM_MANDATORY_LABEL_ACE_TYPE: return 1;
    default: return 0;
    }
}

/* Copies acl's entries into *out (count in *n). Returns 0 or a Win32 error. */
static DWORD view_aces(const ACL *acl, ph__sd_ace **out, size_t *n)
{
    ph__sd_ace *aces;
    WORD i;

    *out = NULL;
    *n = 0;
    if (acl == NULL || acl->AceCount == 0)
        return 0;
    aces = calloc(acl->AceCount, sizeof(*aces));
    if (aces == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (i = 0; i < acl->AceCount; i++) {
        ACE_HEADER *hdr = NULL;
        LPSTR text = NULL;

        if (!GetAce((PACL)acl, i, (void **)&hdr)) {
            DWORD err = GetLastError();
            view_free_aces(aces, i);
            return err ? err : ERROR_INVALID_ACL;
        }
        aces[i].type = hdr->AceType;
        aces[i].flags = hdr->AceFlags;
        aces[i].sid = "";
        if (plain_layout(hdr->AceType)) {
            const ACCESS_ALLOWED_ACE *ace = (const ACCESS_ALLOWED_ACE *)hdr;
            aces[i].mask = ace->Mask;
            if (!ConvertSidToStringSidA((PSID)&ace->SidStart, &text)) {
                DWORD err = GetLastError();
                view_free_aces(aces, i);
                return err ? err : ERROR_INVALID_SID;
            }
            aces[i].sid = text;
        }
    }
    *out = aces;
    *n = acl->AceCount;
    return 0;
}

/* Fills v from a parsed descriptor. Returns 0 or a Win32 error. */
static DWORD view_build(PSECURITY_DESCRIPTOR sd, sd_view *v)
{
    BOOL dacl_present = FALSE, sacl_present = FALSE, defaulted = FALSE;
    PACL dacl = NULL, sacl = NULL;
    PSID owner = NULL;
    DWORD err;

    memset(v, 0, sizeof(*v));
    if (!GetSecurityDescriptorDacl(sd, &dacl_present, &dacl, &defaulted) ||
        !GetSecurityDescriptorSacl(sd, &sacl_present, &sacl, &defaulted) ||
        !GetSecurityDescriptorOwner(sd, &owner, &defaulted))
        return GetLastError();
    if (owner != NULL && !ConvertSidToStringSidA(owner, &v->owner))
        return GetLastError();
    v->sd.owner = v->owner;
    v->sd.dacl_state = !dacl_present ? PH__ACL_ABSENT : dacl == NULL ? PH__ACL_NULL : PH__ACL_PRESENT;
    err = view_aces(dacl, &v->dacl, &v->sd.dacl_count);
    if (err == 0 && sacl_present)
        err = view_aces(sacl, &v->sacl, &v->sd.sacl_count);
    v->sd.dacl = v->dacl;
    v->sd.sacl = v->sacl;
    return err;
}

/* Parses and checks; on success *out is the descriptor (LocalFree). syserr gets the Win32 error behind a
 * refusal (ERROR_INVALID_SECURITY_DESCR for the rules). */
static int parse_checked(const char *sddl, unsigned use, PSECURITY_DESCRIPTOR *out, DWORD *syserr, char *why,
                         size_t why_size)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *wsddl = NULL;
    sd_view view;
    DWORD err = 0;
    int rc = PH_EBADSDDL;

    memset(&view, 0, sizeof(view));
    if (why != NULL && why_size > 0)
        why[0] = '\0';
    *out = NULL;
    *syserr = ERROR_INVALID_SECURITY_DESCR;
    if (!ph__sddl_use_valid(use)) {
        *syserr = ERROR_INVALID_PARAMETER;
        ph__say(why, why_size, "unknown use 0x%x", use);
        return PH_EINVAL;
    }
    if (sddl == NULL || sddl[0] == '\0') {
        ph__say(why, why_size, "the SDDL string is empty");
        goto cleanup;
    }
    if (ph__sddl_text_disables_access_control(sddl)) {
        ph__say(why, why_size, "NO_ACCESS_CONTROL makes a NULL DACL, which grants everyone full access");
        goto cleanup;
    }
    wsddl = ph__utf8_to_wide(sddl, &err);
    if (wsddl == NULL) {
        *syserr = err;
        ph__say(why, why_size, "the SDDL string is not valid UTF-8");
        rc = err == ERROR_NOT_ENOUGH_MEMORY ? PH_ENOMEM : PH_EBADSDDL;
        goto cleanup;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, NULL)) {
        char text[200];
        *syserr = GetLastError();
        ph_syserror_text(*syserr, text, sizeof(text));
        ph__say(why, why_size, "not a valid SDDL string (error %lu: %s)", (unsigned long)*syserr, text);
        goto cleanup;
    }
    if (!IsValidSecurityDescriptor(sd)) {
        ph__say(why, why_size, "the security descriptor is not valid");
        goto cleanup;
    }
    err = view_build(sd, &view);
    if (err != 0) {
        *syserr = err;
        ph__say(why, why_size, "the security descriptor cannot be read (error %lu)", (unsigned long)err);
        rc = err == ERROR_NOT_ENOUGH_MEMORY ? PH_ENOMEM : PH_EBADSDDL;
        goto cleanup;
    }
    rc = ph__sddl_rules_check(&view.sd, use, why, why_size);
    if (rc != 0)
        goto cleanup;
    *syserr = 0;
    *out = sd;
    sd = NULL;

cleanup:
    view_free(&view);
    if (sd != NULL)
        LocalFree(sd);
    free(wsddl);
    return rc;
}

int ph_sddl_check(const char *sddl, unsigned use, char *why, size_t why_size)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = 0;
    int rc = parse_checked(sddl, use, &sd, &err, why, why_size);

    if (sd != NULL)
        LocalFree(sd);
    return rc;
}

int ph__security_parse(const char *sddl, unsigned use, PSECURITY_DESCRIPTOR *out, DWORD *syserr, char *why,
                       size_t why_size)
{
    return parse_checked(sddl, use, out, syserr, why, why_size);
}

/* The widening, one ACE: an allow entry that lets its holder write data (FILE_WRITE_DATA, once generic rights
 * are mapped) but not append gets FILE_APPEND_DATA too, which is FILE_CREATE_PIPE_INSTANCE: then an open
 * asking GENERIC_WRITE, which includes it, is granted. An inherit-only entry does not apply to the pipe and is
 * left as it is, like deny entries. */
static void widen_ace(ACE_HEADER *hdr)
{
    ACCESS_ALLOWED_ACE *ace = (ACCESS_ALLOWED_ACE *)hdr; /* the callback type has the same layout up to SidStart */
    GENERIC_MAPPING files = file_mapping;
    DWORD mapped;

    if (hdr->AceType != ACCESS_ALLOWED_ACE_TYPE && hdr->AceType != ACCESS_ALLOWED_CALLBACK_ACE_TYPE)
        return;
    if (hdr->AceFlags & INHERIT_ONLY_ACE)
        return;
    mapped = ace->Mask;
    MapGenericMask(&mapped, &files);
    if ((mapped & FILE_WRITE_DATA) && !(mapped & FILE_APPEND_DATA))
        ace->Mask |= FILE_APPEND_DATA;
}

int ph__security_widen(PSECURITY_DESCRIPTOR strict, PSECURITY_DESCRIPTOR *wide, DWORD *syserr)
{
    SECURITY_DESCRIPTOR abs;
    SECURITY_DESCRIPTOR_CONTROL control = 0, keep;
    DWORD revision = 0, size = 0;
    BOOL dacl_present = FALSE, sacl_present = FALSE, defaulted = FALSE;
    PACL dacl = NULL, sacl = NULL, copy = NULL;
    PSID owner = NULL, group = NULL;
    PSECURITY_DESCRIPTOR out = NULL;
    WORD i;
    int rc = PH_ESYS;

    *wide = NULL;
    *syserr = 0;
    if (strict == NULL) {
        *syserr = ERROR_INVALID_PARAMETER;
        return PH_EINVAL;
    }
    if (!GetSecurityDescriptorControl(strict, &control, &revision) ||
        !GetSecurityDescriptorDacl(strict, &dacl_present, &dacl, &defaulted) ||
        !GetSecurityDescriptorSacl(strict, &sacl_present, &sacl, &defaulted) ||
        !GetSecurityDescriptorOwner(strict, &owner, &defaulted) ||
        !GetSecurityDescriptorGroup(strict, &group, &defaulted)) {
        *syserr = GetLastError();
        goto cleanup;
    }
    /* No DACL, or a NULL one, lets everyone in: nothing to widen, and never passed on (ph_sddl_check refuses
     * both too). */
    if (!dacl_present || dacl == NULL) {
        *syserr = ERROR_INVALID_SECURITY_DESCR;
        rc = PH_EBADSDDL;
        goto cleanup;
    }
    /* An ACL is one block (header, then the entries), so a byte copy keeps every entry, its order and the
     * revision; only the masks of allow entries change, and never in size. */
    copy = malloc(dacl->AclSize);
    if (copy == NULL) {
        *syserr = ERROR_NOT_ENOUGH_MEMORY;
        rc = PH_ENOMEM;
        goto cleanup;
    }
    memcpy(copy, dacl, dacl->AclSize);
    for (i = 0; i < copy->AceCount; i++) {
        ACE_HEADER *hdr = NULL;
        if (!GetAce(copy, i, (void **)&hdr)) {
            *syserr = GetLastError();
            goto cleanup;
        }
        widen_ace(hdr);
    }
    /* The same descriptor around the new DACL: owner, group and SACL as they were, the DACL's protection and
     * auto-inheritance flags too. */
    keep = control & (SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_SACL_PROTECTED | SE_SACL_AUTO_INHERITED);
    if (!InitializeSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION) ||
        !SetSecurityDescriptorDacl(&abs, TRUE, copy, FALSE) ||
        (sacl_present && !SetSecurityDescriptorSacl(&abs, TRUE, sacl, FALSE)) ||
        (owner != NULL && !SetSecurityDescriptorOwner(&abs, owner, FALSE)) ||
        (group != NULL && !SetSecurityDescriptorGroup(&abs, group, FALSE)) ||
        (keep != 0 && !SetSecurityDescriptorControl(&abs, keep, keep))) {
        *syserr = GetLastError();
        goto cleanup;
    }
    if (MakeSelfRelativeSD(&abs, NULL, &size) || GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
        *syserr = GetLastError();
        goto cleanup;
    }
    /* LocalAlloc, not HeapAlloc: the result is freed with LocalFree, like the descriptors the SDDL functions
     * return, so callers free both the same way. */
    out = LocalAlloc(LMEM_FIXED, size); /* cppcheck-suppress LocalAllocCalled */
    if (out == NULL) {
        *syserr = ERROR_NOT_ENOUGH_MEMORY;
        rc = PH_ENOMEM;
        goto cleanup;
    }
    if (!MakeSelfRelativeSD(&abs, out, &size)) {
        *syserr = GetLastError();
        goto cleanup;
    }
    *wide = out;
    out = NULL;
    rc = 0;

cleanup:
    if (out != NULL)
        LocalFree(out);
    free(copy);
    if (rc == PH_ESYS && *syserr == 0) /* a call that failed without setting a Win32 error: still say why */
        *syserr = ERROR_INVALID_SECURITY_DESCR;
    return rc;
}

DWORD ph__pipe_set_dacl(HANDLE pipe, PSECURITY_DESCRIPTOR sd)
{
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    SECURITY_INFORMATION what = DACL_SECURITY_INFORMATION;
    DWORD revision = 0;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;

    if (sd == NULL)
        return ERROR_INVALID_PARAMETER;
    if (!GetSecurityDescriptorControl(sd, &control, &revision) ||
        !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted))
        return GetLastError();
    /* A NULL DACL would let everyone in: never applied. */
    if (!present || dacl == NULL)
        return ERROR_INVALID_SECURITY_DESCR;
    if (control & SE_DACL_PROTECTED)
        what |= PROTECTED_DACL_SECURITY_INFORMATION;
    /* One descriptor per pipe: through this instance it changes for every instance of the name. */
    return SetSecurityInfo(pipe, SE_KERNEL_OBJECT, what, NULL, NULL, dacl, NULL);
}
