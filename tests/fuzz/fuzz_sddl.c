/* fuzz_sddl.c — fuzz target: the SDDL checker's rules (core/src/sddl_rules.c) on descriptors read from text. */
#include "fuzz.h"
#include "sddl_text.h"

#include <string.h>

#define ALL_FLAGS (PH_SDDL_ALLOW_ANONYMOUS | PH_SDDL_ALLOW_SANDBOXED)

/* Input: a first line naming the use ("pipe", "fixed" or "access", then "+anonymous", "+sandboxed" in any order:
 * unknown words are kept as an unknown flag, which must be refused), then the SDDL text. */
static unsigned read_use(const char *line, size_t len)
{
    unsigned use = PH_SDDL_PIPE;

    if (len >= 5 && memcmp(line, "fixed", 5) == 0)
        use = PH_SDDL_PIPE_FIXED;
    else if (len >= 6 && memcmp(line, "access", 6) == 0)
        use = PH_SDDL_ACCESS;
    else if (!(len >= 4 && memcmp(line, "pipe", 4) == 0))
        use = 0x40u; /* an unknown use */
    if (memchr(line, '+', len) != NULL) {
        const char *p = line;
        while ((p = memchr(p, '+', len - (size_t)(p - line))) != NULL) {
            size_t rest = len - (size_t)(++p - line);
            if (rest >= 9 && memcmp(p, "anonymous", 9) == 0)
                use |= PH_SDDL_ALLOW_ANONYMOUS;
            else if (rest >= 9 && memcmp(p, "sandboxed", 9) == 0)
                use |= PH_SDDL_ALLOW_SANDBOXED;
            else
                use |= 0x800u;
        }
    }
    return use;
}

static int trusted(const char *sid)
{
    return strcmp(sid, "S-1-5-18") == 0 || strcmp(sid, "S-1-5-32-544") == 0 || strcmp(sid, "S-1-3-4") == 0 ||
           ph__sid_is_service_sid(sid);
}

/* An allow entry no earlier unconditional deny entry names the SID of. */
static int undenied(const ph__sd *sd, size_t i)
{
    size_t j;

    for (j = 0; j < i; j++)
        if (sd->dacl[j].type == PH__ACE_DENY && strcmp(sd->dacl[j].sid, sd->dacl[i].sid) == 0)
            return 0;
    return 1;
}

/* What an accepted descriptor promises, checked the simple way: no owner but SYSTEM, Administrators or a service;
 * no entry nobody denied anything to hands a non-trusted principal WRITE_DAC or WRITE_OWNER (GA or the bits), or
 * instance creation (GA, GW or 0x4) for an unlimited pool; no grant to Anonymous or AppContainers without the
 * opt-in; no deny after an allow. */
static void check_accepted(const ph__sd *sd, unsigned use)
{
    unsigned base = use & PH_SDDL_USE_MASK;
    size_t i;
    int allowed = 0;

    FUZZ_CHECK(sd->dacl_state == PH__ACL_PRESENT && sd->dacl_count > 0);
    FUZZ_CHECK(sd->owner == NULL || trusted(sd->owner));
    for (i = 0; i < sd->dacl_count; i++) {
        const ph__sd_ace *a = &sd->dacl[i];
        int allow = a->type == PH__ACE_ALLOW || a->type == PH__ACE_ALLOW_CALLBACK;
        FUZZ_CHECK(allow || a->type == PH__ACE_DENY || a->type == PH__ACE_DENY_CALLBACK);
        if (a->flags & PH__ACE_INHERIT_ONLY)
            continue;
        if (!allow) {
            FUZZ_CHECK(!allowed || a->mask == 0);
            continue;
        }
        if (a->mask == 0 || !undenied(sd, i))
            continue;
        allowed = 1;
        if (!(use & PH_SDDL_ALLOW_ANONYMOUS))
            FUZZ_CHECK(strcmp(a->sid, "S-1-5-7") != 0);
        if (!(use & PH_SDDL_ALLOW_SANDBOXED))
            FUZZ_CHECK(strncmp(a->sid, "S-1-15-2-", 9) != 0);
        if (base != PH_SDDL_ACCESS && !trusted(a->sid))
            FUZZ_CHECK((a->mask & (0x10000000u | 0x40000u | 0x80000u)) == 0);
        if (base == PH_SDDL_PIPE && !trusted(a->sid))
            FUZZ_CHECK((a->mask & (0x10000000u | 0x40000000u | 0x4u)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sddl_text parsed;
    char text[8192 + 1], why[1024], why2[1024];
    const char *nl;
    size_t line;
    unsigned use;
    int rc, rc2;

    if (size > sizeof(text) - 1)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    nl = memchr(text, '\n', strlen(text));
    if (nl == NULL)
        return 0;
    line = (size_t)(nl - text);
    use = read_use(text, line);
    (void)ph__sddl_text_disables_access_control(nl + 1);
    if (sddl_text_parse(nl + 1, &parsed) != 0)
        return 0;

    rc = ph__sddl_rules_check(&parsed.sd, use, why, sizeof(why));
    if (!ph__sddl_use_valid(use)) {
        FUZZ_CHECK(rc == PH_EINVAL && why[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(rc == 0 || rc == PH_EBADSDDL);
    FUZZ_CHECK((rc == 0) == (why[0] == '\0'));
    FUZZ_CHECK(strlen(why) < 511); /* the documented 512 bytes hold every message */
    /* The same answer again. */
    rc2 = ph__sddl_rules_check(&parsed.sd, use, why2, sizeof(why2));
    FUZZ_CHECK(rc2 == rc && strcmp(why, why2) == 0);
    if (rc != 0)
        return 0;
    check_accepted(&parsed.sd, use);
    /* Opting in never refuses what was accepted; a fixed pool accepts what an unlimited one does, AccessCheck
     * what a pipe does. */
    FUZZ_CHECK(ph__sddl_rules_check(&parsed.sd, use | ALL_FLAGS, NULL, 0) == 0);
    if ((use & PH_SDDL_USE_MASK) == PH_SDDL_PIPE)
        FUZZ_CHECK(ph__sddl_rules_check(&parsed.sd, (use & ~PH_SDDL_USE_MASK) | PH_SDDL_PIPE_FIXED, NULL, 0) == 0);
    if ((use & PH_SDDL_USE_MASK) != PH_SDDL_ACCESS)
        FUZZ_CHECK(ph__sddl_rules_check(&parsed.sd, (use & ~PH_SDDL_USE_MASK) | PH_SDDL_ACCESS, NULL, 0) == 0);
    return 0;
}
