/* security.c — the one SDDL checker (ph_sddl_check), the pipe's security descriptor built only from what it accepts,
 * and its widening for a fixed pool. */
#include "ph_win.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rights that let a client squat the pipe name (FILE_CREATE_PIPE_INSTANCE, the same bit as
 * FILE_APPEND_DATA) or take the pipe over (WRITE_DAC, WRITE_OWNER). Checked on the mask after the generic
 * bits are mapped with the file mapping, so GENERIC_ALL and GENERIC_WRITE are caught too. For a fixed pool
 * (PH_SDDL_PIPE_FIXED) FILE_CREATE_PIPE_INSTANCE is not dangerous: with all nMaxInstances instances created,
 * nobody's CreateNamedPipe on the name can succeed, whatever the DACL grants. */
#define PH_DANGEROUS_RIGHTS (FILE_CREATE_PIPE_INSTANCE | WRITE_DAC | WRITE_OWNER)
#define PH_DANGEROUS_RIGHTS_FIXED (WRITE_DAC | WRITE_OWNER)

/* The mapping pipes use for generic rights: the file one. */
static const GENERIC_MAPPING file_mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE,
                                             FILE_ALL_ACCESS};

static void say(char *why, size_t why_size, const char *fmt, ...) PH_PRINTF(3, 4);
static void say(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* True when the DACL part of an SDDL string carries the NO_ACCESS_CONTROL flag. Windows makes a NULL DACL of
 * it, which the check below refuses; Wine 8 makes an ordinary DACL of it instead, so the text itself is
 * checked too, and the answer is the same everywhere. A ':' outside an ACE's parentheses starts a part
 * ("O:", "G:", "D:", "S:"): SIDs never contain one. */
static int dacl_text_disables_access_control(const char *sddl)
{
    static const char flag[] = "NO_ACCESS_CONTROL";
    char part = 0;
    int depth = 0;
    size_t i;

    for (i = 0; sddl[i] != '\0'; i++) {
        char ch = sddl[i];
        if (ch == '(')
            depth++;
        else if (ch == ')')
            depth -= depth > 0;
        else if (depth == 0 && ch == ':' && i > 0)
            part = sddl[i - 1];
        else if (depth == 0 && (part == 'D' || part == 'd') && _strnicmp(sddl + i, flag, sizeof(flag) - 1) == 0)
            return 1;
    }
    return 0;
}

/* A per-service SID as text: "S-1-5-80-" and five more sub-authorities ("ALL SERVICES", S-1-5-80-0, is a
 * group of every service and is not one). */
static int is_service_sid_text(const char *sid)
{
    static const char prefix[] = "S-1-5-80-";
    int parts = 0;
    const char *p;

    if (strncmp(sid, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    for (p = sid + sizeof(prefix) - 1; *p != '\0'; p++) {
        if (*p == '-')
            continue;
        if (*p < '0' || *p > '9')
            return 0;
        if (p == sid + sizeof(prefix) - 1 || p[-1] == '-')
            parts++;
    }
    return parts == 5 && sid[strlen(sid) - 1] != '-';
}

int ph__sid_is_service_account(const char *sid)
{
    return strcmp(sid, "S-1-5-18") == 0 || strcmp(sid, "S-1-5-19") == 0 || strcmp(sid, "S-1-5-20") == 0 ||
           is_service_sid_text(sid);
}

/* The principals that may hold the dangerous rights: the accounts services run as, the administrators and
 * the pipe's owner (OWNER RIGHTS, i.e. the server's own account). Compared as text: older systems (and Wine)
 * lack some of these in the well-known SID table. */
static int sid_is_administrative(PSID sid)
{
    LPSTR text = NULL;
    int ok;

    if (!ConvertSidToStringSidA(sid, &text))
        return 0;
    ok = ph__sid_is_service_account(text) || strcmp(text, "S-1-5-32-544") == 0 || strcmp(text, "S-1-3-4") == 0;
    LocalFree(text);
    return ok;
}

static void rights_text(DWORD mask, char *out, size_t size)
{
    size_t n = 0;

    out[0] = '\0';
    if (mask & FILE_CREATE_PIPE_INSTANCE)
        n += (size_t)snprintf(out + n, size - n, "FILE_CREATE_PIPE_INSTANCE");
    if ((mask & WRITE_DAC) && n < size)
        n += (size_t)snprintf(out + n, size - n, "%sWRITE_DAC", n ? ", " : "");
    if ((mask & WRITE_OWNER) && n < size)
        snprintf(out + n, size - n, "%sWRITE_OWNER", n ? ", " : "");
}

/* The rights no principal but the server's accounts may hold, for a use. */
static DWORD dangerous_rights(ph_sddl_use use)
{
    switch (use) {
    case PH_SDDL_PIPE: return PH_DANGEROUS_RIGHTS;
    case PH_SDDL_PIPE_FIXED: return PH_DANGEROUS_RIGHTS_FIXED;
    case PH_SDDL_ACCESS: return 0;
    }
    return PH_DANGEROUS_RIGHTS;
}

/* The ACE rules on a parsed DACL. Returns 0 or PH_EBADSDDL with why set. */
static int check_dacl(const ACL *dacl, ph_sddl_use use, char *why, size_t why_size)
{
    GENERIC_MAPPING files = file_mapping;
    const DWORD dangerous = dangerous_rights(use);
    WORD i;
    int allows = 0;

    if (dacl->AceCount == 0) {
        say(why, why_size, "the DACL is empty, so nobody (not even the server's own account) could use it");
        return PH_EBADSDDL;
    }
    for (i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *hdr = NULL;
        ACCESS_ALLOWED_ACE *ace;
        DWORD mask;
        char rights[80];
        LPSTR sid_text = NULL;

        if (!GetAce((PACL)dacl, i, (void **)&hdr)) {
            say(why, why_size, "ACE %u cannot be read", (unsigned)i + 1);
            return PH_EBADSDDL;
        }
        if (hdr->AceType == ACCESS_DENIED_ACE_TYPE || hdr->AceType == ACCESS_DENIED_CALLBACK_ACE_TYPE)
            continue; /* denying never weakens */
        if (hdr->AceType != ACCESS_ALLOWED_ACE_TYPE && hdr->AceType != ACCESS_ALLOWED_CALLBACK_ACE_TYPE) {
            /* Object, compound and audit ACE types have no meaning on a pipe: refuse rather than guess. */
            say(why, why_size, "ACE %u is of type %u; only allow (A) and deny (D) entries are accepted",
                (unsigned)i + 1, (unsigned)hdr->AceType);
            return PH_EBADSDDL;
        }
        if (hdr->AceFlags & INHERIT_ONLY_ACE)
            continue; /* applies to children only, and a pipe has none */
        ace = (ACCESS_ALLOWED_ACE *)hdr;
        mask = ace->Mask;
        MapGenericMask(&mask, &files);
        if (mask != 0)
            allows++;
        if ((mask & dangerous) == 0 || sid_is_administrative((PSID)&ace->SidStart))
            continue;
        rights_text(mask & dangerous, rights, sizeof(rights));
        ConvertSidToStringSidA((PSID)&ace->SidStart, &sid_text);
        if ((mask & dangerous) == FILE_CREATE_PIPE_INSTANCE) /* only PH_SDDL_PIPE refuses it */
            say(why, why_size,
                "ACE %u grants FILE_CREATE_PIPE_INSTANCE (mask 0x%lx; GENERIC_WRITE includes it) to %s, which is "
                "not SYSTEM, Administrators, LocalService, NetworkService, OWNER RIGHTS or a service SID: with an "
                "unlimited pool that principal could add its own instances of the pipe; such a grant is accepted "
                "only for a fixed pool (max_instances below 255)",
                (unsigned)i + 1, (unsigned long)mask, sid_text ? sid_text : "an unreadable SID");
        else
            say(why, why_size,
                "ACE %u grants %s (mask 0x%lx) to %s, which is not SYSTEM, Administrators, LocalService, "
                "NetworkService, OWNER RIGHTS or a service SID: that principal could %s",
                (unsigned)i + 1, rights, (unsigned long)mask, sid_text ? sid_text : "an unreadable SID",
                (mask & dangerous & FILE_CREATE_PIPE_INSTANCE) ? "add its own instances of the pipe or change its "
                                                                 "security"
                                                               : "change the pipe's security");
        if (sid_text != NULL)
            LocalFree(sid_text);
        return PH_EBADSDDL;
    }
    if (allows == 0) {
        say(why, why_size, "the DACL allows nothing to anyone, so nobody (not even the server's own account) could "
            "use it");
        return PH_EBADSDDL;
    }
    return 0;
}

/* Parses and checks; on success *out is the descriptor (LocalFree). syserr gets the Win32 error behind a
 * refusal (ERROR_INVALID_SECURITY_DESCR for the rules of this file). */
static int parse_checked(const char *sddl, ph_sddl_use use, PSECURITY_DESCRIPTOR *out, DWORD *syserr, char *why,
                         size_t why_size)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *wsddl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    DWORD err = 0;
    int rc = PH_EBADSDDL;

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    *out = NULL;
    *syserr = ERROR_INVALID_SECURITY_DESCR;
    if (use != PH_SDDL_PIPE && use != PH_SDDL_ACCESS && use != PH_SDDL_PIPE_FIXED) {
        *syserr = ERROR_INVALID_PARAMETER;
        say(why, why_size, "unknown use %d", (int)use);
        return PH_EINVAL;
    }
    if (sddl == NULL || sddl[0] == '\0') {
        say(why, why_size, "the SDDL string is empty");
        goto cleanup;
    }
    if (dacl_text_disables_access_control(sddl)) {
        say(why, why_size, "NO_ACCESS_CONTROL makes a NULL DACL, which grants everyone full access");
        goto cleanup;
    }
    wsddl = ph__utf8_to_wide(sddl, &err);
    if (wsddl == NULL) {
        *syserr = err;
        say(why, why_size, "the SDDL string is not valid UTF-8");
        rc = err == ERROR_NOT_ENOUGH_MEMORY ? PH_ENOMEM : PH_EBADSDDL;
        goto cleanup;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, NULL)) {
        char text[200];
        *syserr = GetLastError();
        ph_syserror_text(*syserr, text, sizeof(text));
        say(why, why_size, "not a valid SDDL string (error %lu: %s)", (unsigned long)*syserr, text);
        goto cleanup;
    }
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
        *syserr = GetLastError();
        say(why, why_size, "the DACL cannot be read (error %lu)", (unsigned long)*syserr);
        goto cleanup;
    }
    if (!present) {
        say(why, why_size, "there is no DACL (\"D:...\"), which grants everyone full access");
        goto cleanup;
    }
    if (dacl == NULL) {
        say(why, why_size, "the DACL is NULL, which grants everyone full access");
        goto cleanup;
    }
    if (!IsValidSecurityDescriptor(sd)) {
        say(why, why_size, "the security descriptor is not valid");
        goto cleanup;
    }
    rc = check_dacl(dacl, use, why, why_size);
    if (rc != 0)
        goto cleanup;
    *syserr = 0;
    *out = sd;
    sd = NULL;

cleanup:
    if (sd != NULL)
        LocalFree(sd);
    free(wsddl);
    return rc;
}

int ph_sddl_check(const char *sddl, ph_sddl_use use, char *why, size_t why_size)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = 0;
    int rc = parse_checked(sddl, use, &sd, &err, why, why_size);

    if (sd != NULL)
        LocalFree(sd);
    return rc;
}

int ph__security_parse(const char *sddl, ph_sddl_use use, PSECURITY_DESCRIPTOR *out, DWORD *syserr, char *why,
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
