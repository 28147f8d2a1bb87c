/* sddl_rules.c — the rules of ph_sddl_check on a parsed descriptor, platform-neutral so they are tested and fuzzed
 * natively; win/security.c parses the SDDL with Win32 and hands its owner, DACL and SACL here. */
#include "ph_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Access rights as winnt.h numbers them (the rules must not depend on <windows.h>). */
#define R_CREATE_PIPE_INSTANCE 0x00000004u /* FILE_CREATE_PIPE_INSTANCE, the same bit as FILE_APPEND_DATA */
#define R_WRITE_DAC 0x00040000u
#define R_WRITE_OWNER 0x00080000u
#define R_GENERIC_ALL 0x10000000u
#define R_GENERIC_EXECUTE 0x20000000u
#define R_GENERIC_WRITE 0x40000000u
#define R_GENERIC_READ 0x80000000u
/* The file mapping of the generic rights, which pipes use: FILE_GENERIC_READ, _WRITE, _EXECUTE, FILE_ALL_ACCESS. */
#define R_FILE_GENERIC_READ 0x00120089u
#define R_FILE_GENERIC_WRITE 0x00120116u
#define R_FILE_GENERIC_EXECUTE 0x001200a0u
#define R_FILE_ALL_ACCESS 0x001f01ffu

/* Mandatory label policy bits (SYSTEM_MANDATORY_LABEL_NO_WRITE_UP) and the Medium integrity level. */
#define LABEL_NO_WRITE_UP 0x1u
#define INTEGRITY_MEDIUM 0x2000ul

/* The rights that let a principal squat the pipe name (FILE_CREATE_PIPE_INSTANCE) or take the pipe over
 * (WRITE_DAC, WRITE_OWNER). A fixed pool may grant the first to anyone: with all nMaxInstances instances created,
 * nobody's CreateNamedPipe on the name can succeed, whatever the DACL grants. */
#define DANGEROUS_PIPE (R_CREATE_PIPE_INSTANCE | R_WRITE_DAC | R_WRITE_OWNER)
#define DANGEROUS_FIXED (R_WRITE_DAC | R_WRITE_OWNER)

/* The principals named in messages, with the SIDs the rules compare (as ConvertSidToStringSid writes them). */
#define SID_SYSTEM "S-1-5-18"
#define SID_ADMINS "S-1-5-32-544"
#define SID_OWNER_RIGHTS "S-1-3-4"
#define SID_LOCAL_SERVICE "S-1-5-19"
#define SID_NETWORK_SERVICE "S-1-5-20"
#define SID_ANONYMOUS "S-1-5-7"
#define TRUSTED_HOLDERS "SYSTEM, Administrators, OWNER RIGHTS or a per-service SID"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int starts_nocase(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++)
        if (lower((unsigned char)*s) != lower((unsigned char)*prefix))
            return 0;
    return 1;
}

int ph__sddl_text_disables_access_control(const char *sddl)
{
    char part = 0;
    int depth = 0;
    size_t i;

    /* A ':' outside an ACE's parentheses starts a part ("O:", "G:", "D:", "S:"); SIDs never contain one. */
    for (i = 0; sddl[i] != '\0'; i++) {
        char ch = sddl[i];
        if (ch == '(')
            depth++;
        else if (ch == ')')
            depth -= depth > 0;
        else if (depth == 0 && ch == ':' && i > 0)
            part = sddl[i - 1];
        else if (depth == 0 && (part == 'D' || part == 'd') && starts_nocase(sddl + i, "NO_ACCESS_CONTROL"))
            return 1;
    }
    return 0;
}

int ph__sddl_use_valid(unsigned use)
{
    unsigned base = use & PH_SDDL_USE_MASK;

    return (base == PH_SDDL_PIPE || base == PH_SDDL_ACCESS || base == PH_SDDL_PIPE_FIXED) &&
           (use & ~(PH_SDDL_USE_MASK | PH_SDDL_ALLOW_ANONYMOUS | PH_SDDL_ALLOW_SANDBOXED)) == 0;
}

/* "S-1-<authority>-" followed by exactly n decimal sub-authorities when n > 0, at least one when n is 0. */
static int sid_under(const char *sid, const char *prefix, int n)
{
    size_t plen = strlen(prefix);
    int parts = 0;
    const char *p;

    if (strncmp(sid, prefix, plen) != 0)
        return 0;
    for (p = sid + plen; *p != '\0'; p++) {
        if (*p == '-') {
            if (p[-1] == '-' || p[1] == '\0')
                return 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            return 0;
        if (p == sid + plen || p[-1] == '-')
            parts++;
    }
    return n > 0 ? parts == n : parts > 0;
}

int ph__sid_is_service_sid(const char *sid)
{
    /* S-1-5-80-0 is ALL SERVICES, every service at once; a per-service SID has five sub-authorities after 80. */
    return sid_under(sid, "S-1-5-80-", 5);
}

/* Who may hold FILE_CREATE_PIPE_INSTANCE, WRITE_DAC and WRITE_OWNER: SYSTEM, Administrators, the object's owner
 * (OWNER RIGHTS) and one service's own SID. Not LocalService or NetworkService: dozens of services run as each,
 * and a grant to them is a grant to all of those. */
static int trusted_holder(const char *sid)
{
    return strcmp(sid, SID_SYSTEM) == 0 || strcmp(sid, SID_ADMINS) == 0 || strcmp(sid, SID_OWNER_RIGHTS) == 0 ||
           ph__sid_is_service_sid(sid);
}

/* Who may own the pipe: an owner holds READ_CONTROL and WRITE_DAC whatever the DACL says (unless an OWNER RIGHTS
 * entry replaces them), so only the principals that may hold WRITE_DAC, named as themselves. */
static int trusted_owner(const char *sid)
{
    return strcmp(sid, SID_SYSTEM) == 0 || strcmp(sid, SID_ADMINS) == 0 || ph__sid_is_service_sid(sid);
}

/* Principals only sandboxed code is: every AppContainer (ALL APPLICATION PACKAGES, S-1-15-2-1), every less
 * privileged one (S-1-15-2-2), one package (S-1-15-2-…), a capability (S-1-15-3-…), and the restricted-token
 * SIDs (RESTRICTED, S-1-5-12; WRITE RESTRICTED, S-1-5-33). A grant to them is what lets such code through. */
static int sandbox_sid(const char *sid)
{
    return sid_under(sid, "S-1-15-2-", 0) || sid_under(sid, "S-1-15-3-", 0) || strcmp(sid, "S-1-5-12") == 0 ||
           strcmp(sid, "S-1-5-33") == 0;
}

static uint32_t map_generic(uint32_t mask)
{
    uint32_t out = mask & ~(R_GENERIC_ALL | R_GENERIC_EXECUTE | R_GENERIC_WRITE | R_GENERIC_READ);

    if (mask & R_GENERIC_READ)
        out |= R_FILE_GENERIC_READ;
    if (mask & R_GENERIC_WRITE)
        out |= R_FILE_GENERIC_WRITE;
    if (mask & R_GENERIC_EXECUTE)
        out |= R_FILE_GENERIC_EXECUTE;
    if (mask & R_GENERIC_ALL)
        out |= R_FILE_ALL_ACCESS;
    return out;
}

static int is_allow(unsigned type)
{
    return type == PH__ACE_ALLOW || type == PH__ACE_ALLOW_CALLBACK;
}

static int is_deny(unsigned type)
{
    return type == PH__ACE_DENY || type == PH__ACE_DENY_CALLBACK;
}

static void rights_text(uint32_t mask, char *out, size_t size)
{
    size_t n = 0;

    out[0] = '\0';
    if (mask & R_CREATE_PIPE_INSTANCE)
        n += (size_t)snprintf(out + n, size - n, "FILE_CREATE_PIPE_INSTANCE");
    if ((mask & R_WRITE_DAC) && n < size)
        n += (size_t)snprintf(out + n, size - n, "%sWRITE_DAC", n ? ", " : "");
    if ((mask & R_WRITE_OWNER) && n < size)
        snprintf(out + n, size - n, "%sWRITE_OWNER", n ? ", " : "");
}

/* The owner rule. */
static int check_owner(const char *owner, char *why, size_t why_size)
{
    if (owner == NULL || trusted_owner(owner))
        return 0;
    if (strcmp(owner, SID_LOCAL_SERVICE) == 0 || strcmp(owner, SID_NETWORK_SERVICE) == 0)
        ph__say(why, why_size,
            "the owner is %s (%s), which dozens of services share: an owner may always rewrite the DACL "
            "(WRITE_DAC), so every one of them could; name the service's own SID (S-1-5-80-…) or no owner",
            owner, strcmp(owner, SID_LOCAL_SERVICE) == 0 ? "LocalService" : "NetworkService");
    else
        ph__say(why, why_size,
            "the owner is %s, which is not SYSTEM, Administrators or a per-service SID (S-1-5-80-x-x-x-x-x): an owner "
            "may always rewrite the DACL (WRITE_DAC); leave the owner out (the server's account becomes it) or name "
            "one of those",
            owner);
    return PH_EBADSDDL;
}

/* The integrity level of a mandatory label SID ("S-1-16-<level>", a 32-bit RID) into *level; -1 when it is not one. */
static int integrity_level(const char *sid, unsigned long *level)
{
    const char *p;

    *level = 0;
    if (strncmp(sid, "S-1-16-", 7) != 0 || sid[7] == '\0')
        return -1;
    for (p = sid + 7; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || *level > (0xffffffffUL - 9) / 10)
            return -1;
        *level = *level * 10 + (unsigned long)(*p - '0');
    }
    return 0;
}

/* The SACL rules: only audit entries and one mandatory label, which must keep processes below Medium integrity
 * (Low: sandboxed browsers, AppContainers) from writing unless the caller opted in to sandboxed clients. */
static int check_sacl(const ph__sd *sd, unsigned use, char *why, size_t why_size)
{
    size_t i, labels = 0;

    for (i = 0; i < sd->sacl_count; i++) {
        const ph__sd_ace *ace = &sd->sacl[i];
        unsigned long level = 0;

        if (ace->type == PH__ACE_AUDIT || ace->type == PH__ACE_AUDIT_CALLBACK)
            continue; /* auditing grants nothing */
        if (ace->type != PH__ACE_LABEL) {
            ph__say(why, why_size, "SACL entry %u is of type %u; only mandatory labels (ML) and audit entries (AU) are "
                "accepted", (unsigned)(i + 1), ace->type);
            return PH_EBADSDDL;
        }
        if (ace->flags & PH__ACE_INHERIT_ONLY)
            continue; /* labels children, and a pipe has none */
        if (++labels > 1) {
            ph__say(why, why_size, "the SACL holds more than one mandatory label (entry %u): name one", (unsigned)(i + 1));
            return PH_EBADSDDL;
        }
        if (integrity_level(ace->sid, &level) != 0) {
            ph__say(why, why_size, "SACL entry %u is a mandatory label for %s, which is no integrity level (S-1-16-…)",
                (unsigned)(i + 1), ace->sid);
            return PH_EBADSDDL;
        }
        if (use & PH_SDDL_ALLOW_SANDBOXED)
            continue;
        if (level < INTEGRITY_MEDIUM) {
            ph__say(why, why_size,
                "the mandatory label %s is below Medium integrity: Low-integrity and AppContainer processes could "
                "use the pipe; allowed only with PH_SDDL_ALLOW_SANDBOXED",
                ace->sid);
            return PH_EBADSDDL;
        }
        if (!(ace->mask & LABEL_NO_WRITE_UP)) {
            ph__say(why, why_size,
                "the mandatory label %s lacks NO_WRITE_UP (NW): processes of lower integrity could write to the "
                "pipe; allowed only with PH_SDDL_ALLOW_SANDBOXED",
                ace->sid);
            return PH_EBADSDDL;
        }
    }
    return 0;
}

/* What earlier deny entries for the very same SID take from an allow entry's rights. Only the same SID counts:
 * a token that matches the allow entry matches a deny entry for that SID too (deny-only groups included), which
 * holds for no broader group (Everyone does not include Anonymous, for one). Only unconditional denies count: a
 * callback (conditional) deny applies only when its condition holds. */
static uint32_t denied_before(const ph__sd *sd, size_t upto, const char *sid)
{
    uint32_t denied = 0;
    size_t j;

    for (j = 0; j < upto; j++) {
        const ph__sd_ace *d = &sd->dacl[j];
        if (d->type == PH__ACE_DENY && !(d->flags & PH__ACE_INHERIT_ONLY) && strcmp(d->sid, sid) == 0)
            denied |= map_generic(d->mask);
    }
    return denied;
}

/* The rules for one allow entry, with its rights after earlier denials. */
static int check_allow(const ph__sd_ace *ace, size_t i, uint32_t mask, uint32_t granted, unsigned use, char *why,
                       size_t why_size)
{
    uint32_t dangerous = (use & PH_SDDL_USE_MASK) == PH_SDDL_PIPE         ? DANGEROUS_PIPE
                         : (use & PH_SDDL_USE_MASK) == PH_SDDL_PIPE_FIXED ? DANGEROUS_FIXED
                                                                           : 0;
    char rights[80], less[64] = "";

    if (strcmp(ace->sid, SID_ANONYMOUS) == 0 && !(use & PH_SDDL_ALLOW_ANONYMOUS)) {
        ph__say(why, why_size,
            "ACE %u grants 0x%lx to Anonymous (S-1-5-7): a client with no identity at all could use it; allowed only "
            "with PH_SDDL_ALLOW_ANONYMOUS",
            (unsigned)(i + 1), (unsigned long)granted);
        return PH_EBADSDDL;
    }
    if (sandbox_sid(ace->sid) && !(use & PH_SDDL_ALLOW_SANDBOXED)) {
        ph__say(why, why_size,
            "ACE %u grants 0x%lx to %s, a sandbox's SID (AppContainer package or capability, or a restricted "
            "token's): sandboxed code could use it; allowed only with PH_SDDL_ALLOW_SANDBOXED",
            (unsigned)(i + 1), (unsigned long)granted, ace->sid);
        return PH_EBADSDDL;
    }
    if ((granted & dangerous) == 0 || trusted_holder(ace->sid))
        return 0;
    if (granted != mask)
        snprintf(less, sizeof(less), ", less 0x%lx denied by earlier entries",
                 (unsigned long)(mask & ~granted));
    rights_text(granted & dangerous, rights, sizeof(rights));
    if ((granted & dangerous) == R_CREATE_PIPE_INSTANCE) /* only PH_SDDL_PIPE refuses it alone */
        ph__say(why, why_size,
            "ACE %u grants FILE_CREATE_PIPE_INSTANCE (mask 0x%lx%s; GENERIC_WRITE includes it) to %s, which is not "
            TRUSTED_HOLDERS ": it could add its own instances to an unlimited pool; accepted only for a fixed pool "
            "(max_instances below 255)",
            (unsigned)(i + 1), (unsigned long)mask, less, ace->sid);
    else
        ph__say(why, why_size,
            "ACE %u grants %s (mask 0x%lx%s) to %s, which is not " TRUSTED_HOLDERS ": that principal could %s",
            (unsigned)(i + 1), rights, (unsigned long)mask, less, ace->sid,
            (granted & dangerous & R_CREATE_PIPE_INSTANCE) ? "add its own instances of the pipe or change its security"
                                                            : "change the pipe's security");
    return PH_EBADSDDL;
}

/* The DACL rules, entry by entry in the order AccessCheck reads them. */
static int check_dacl(const ph__sd *sd, unsigned use, char *why, size_t why_size)
{
    size_t i, first_allow = 0;
    int allows = 0, rc;

    if (sd->dacl_count == 0) {
        ph__say(why, why_size, "the DACL is empty, so nobody (not even the server's own account) could use it");
        return PH_EBADSDDL;
    }
    for (i = 0; i < sd->dacl_count; i++) {
        const ph__sd_ace *ace = &sd->dacl[i];
        uint32_t mask, granted;

        if (!is_allow(ace->type) && !is_deny(ace->type)) {
            /* Object, compound and audit entry types have no meaning in a pipe's DACL: refuse rather than guess. */
            ph__say(why, why_size, "ACE %u is of type %u; only allow (A) and deny (D) entries are accepted",
                (unsigned)(i + 1), ace->type);
            return PH_EBADSDDL;
        }
        if (ace->flags & PH__ACE_INHERIT_ONLY)
            continue; /* applies to children only, and a pipe has none */
        mask = map_generic(ace->mask);
        if (is_deny(ace->type)) {
            /* AccessCheck stops at the entries that granted each right: a deny after them takes nothing back. */
            if (allows > 0 && mask != 0) {
                ph__say(why, why_size,
                    "ACE %u denies %s after ACE %u allowed rights: entries are read in order and a right an earlier "
                    "entry granted is never taken back, so this deny may have no effect; put deny entries first",
                    (unsigned)(i + 1), ace->sid, (unsigned)(first_allow + 1));
                return PH_EBADSDDL;
            }
            continue;
        }
        granted = mask & ~denied_before(sd, i, ace->sid);
        if (granted == 0)
            continue;
        if (allows++ == 0)
            first_allow = i;
        rc = check_allow(ace, i, mask, granted, use, why, why_size);
        if (rc != 0)
            return rc;
    }
    if (allows == 0) {
        ph__say(why, why_size, "the DACL allows nothing to anyone, so nobody (not even the server's own account) could "
            "use it");
        return PH_EBADSDDL;
    }
    return 0;
}

int ph__sddl_rules_check(const ph__sd *sd, unsigned use, char *why, size_t why_size)
{
    int rc;

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (!ph__sddl_use_valid(use)) {
        ph__say(why, why_size, "unknown use 0x%x", use);
        return PH_EINVAL;
    }
    if (sd->dacl_state == PH__ACL_ABSENT) {
        ph__say(why, why_size, "there is no DACL (\"D:...\"), which grants everyone full access");
        return PH_EBADSDDL;
    }
    if (sd->dacl_state == PH__ACL_NULL) {
        ph__say(why, why_size, "NO_ACCESS_CONTROL makes a NULL DACL, which grants everyone full access");
        return PH_EBADSDDL;
    }
    rc = check_owner(sd->owner, why, why_size);
    if (rc == 0)
        rc = check_sacl(sd, use, why, why_size);
    if (rc == 0)
        rc = check_dacl(sd, use, why, why_size);
    return rc;
}
