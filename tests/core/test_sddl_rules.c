/* test_sddl_rules.c — the SDDL checker's rules (core/src/sddl_rules.c), one case per rule, natively from text; on
 * Windows the same table also goes through ph_sddl_check, which must give the same answer. */
#include "sddl_text.h"
#include "testsupport.h"

#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>

#include <sddl.h>
#endif

/* Short names for the table. */
#define U_PIPE PH_SDDL_PIPE
#define U_FIXED PH_SDDL_PIPE_FIXED
#define U_ACCESS PH_SDDL_ACCESS
#define U_ANON PH_SDDL_ALLOW_ANONYMOUS
#define U_SANDBOX PH_SDDL_ALLOW_SANDBOXED

/* One descriptor, the use it is checked for, and NULL (accepted) or a fragment of the refusal. */
typedef struct rule_case {
    const char *sddl;
    unsigned use;
    const char *refusal;
} rule_case;

static int run_rules(const char *sddl, unsigned use, char *why, size_t why_size)
{
    static sddl_text parsed; /* large: not on the stack */

    ck_assert_msg(sddl_text_parse(sddl, &parsed) == 0, "the test's SDDL reader cannot read \"%s\"", sddl);
    return ph__sddl_rules_check(&parsed.sd, use, why, why_size);
}

#if defined(_WIN32)
/* Wine 8 does not parse every SDDL Windows does (some aliases, labels): then only the rules' answer is checked. */
static int win32_parses(const char *sddl)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t w[1024];

    if (MultiByteToWideChar(CP_UTF8, 0, sddl, -1, w, 1024) == 0)
        return 0;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(w, SDDL_REVISION_1, &sd, NULL))
        return 0;
    LocalFree(sd);
    return 1;
}
#endif

static void check_cases(const rule_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const rule_case *c = &cases[i];
        char why[512];
        int rc;

        memset(why, 'x', sizeof(why));
        rc = run_rules(c->sddl, c->use, why, sizeof(why));
        if (c->refusal == NULL) {
            ck_assert_msg(rc == 0, "\"%s\" (use 0x%x) refused: %s", c->sddl, c->use, why);
            ck_assert_str_eq(why, "");
        } else {
            ck_assert_msg(rc == PH_EBADSDDL, "\"%s\" (use 0x%x): %s, want PH_EBADSDDL", c->sddl, c->use,
                          ph_err_name(rc));
            ck_assert_msg(strstr(why, c->refusal) != NULL, "\"%s\" (use 0x%x): reason \"%s\" lacks \"%s\"", c->sddl,
                          c->use, why, c->refusal);
        }
#if defined(_WIN32)
        if (win32_parses(c->sddl)) {
            char why2[512];
            int rc2 = ph_sddl_check(c->sddl, c->use, why2, sizeof(why2));
            ck_assert_msg(rc2 == rc && strcmp(why, why2) == 0,
                          "\"%s\" (use 0x%x): ph_sddl_check says %s \"%s\", the rules on the text %s \"%s\"", c->sddl,
                          c->use, ph_err_name(rc2), why2, ph_err_name(rc), why);
        } else {
            printf("note: this system does not parse \"%s\": ph_sddl_check not compared\n", c->sddl);
        }
#endif
    }
}

#define CHECK(cases) check_cases(cases, sizeof(cases) / sizeof((cases)[0]))

/* No DACL, a NULL DACL, an empty one, one that allows nothing. */
START_TEST(dacl_present_and_useful)
{
    static const rule_case cases[] = {
        {"O:SYG:SY", U_PIPE, "no DACL"},
        {"D:NO_ACCESS_CONTROL", U_PIPE, "NULL"},
        {"D:P", U_PIPE, "DACL is empty"},
        {"D:P", U_ACCESS, "DACL is empty"},
        {"D:P(D;;GA;;;WD)", U_PIPE, "allows nothing"},
        /* Everything the one allow entry grants, an earlier deny for the same SID took out. */
        {"D:P(D;;GA;;;AU)(A;;GR;;;AU)", U_ACCESS, "allows nothing"},
        /* Inherit-only entries do not apply to a pipe: nothing is left. */
        {"D:P(A;OIIO;GA;;;SY)", U_PIPE, "allows nothing"},
    };
    CHECK(cases);
}
END_TEST

/* The owner may always rewrite the DACL: only SYSTEM, Administrators or one service's SID. */
START_TEST(owner)
{
    static const rule_case cases[] = {
        {"O:AUD:P(A;;GA;;;SY)", U_PIPE, "the owner is S-1-5-11"},
        {"O:WDD:P(A;;GA;;;SY)", U_ACCESS, "the owner is S-1-1-0"},
        {"O:LSD:P(A;;GA;;;SY)", U_PIPE, "LocalService"},
        {"O:NSD:P(A;;GA;;;SY)", U_FIXED, "NetworkService"},
        {"O:S-1-5-21-1-2-3-1001D:P(A;;GA;;;SY)", U_PIPE, "not SYSTEM, Administrators or a per-service SID"},
        {"O:S-1-5-80-0D:P(A;;GA;;;SY)", U_PIPE, "the owner is S-1-5-80-0"},
        {"O:SYG:SYD:P(A;;GA;;;SY)", U_PIPE, NULL},
        {"O:BAD:P(A;;GA;;;SY)", U_PIPE, NULL},
        {"O:S-1-5-80-1-2-3-4-5D:P(A;;GA;;;S-1-5-80-1-2-3-4-5)", U_PIPE, NULL},
        /* The group means nothing to Windows' access checks. */
        {"G:AUD:P(A;;GA;;;SY)", U_PIPE, NULL},
    };
    CHECK(cases);
}
END_TEST

/* The SACL: a mandatory label below Medium, or without NO_WRITE_UP, lets lower-integrity writers in. */
START_TEST(sacl_label)
{
    static const rule_case cases[] = {
        {"D:P(A;;GA;;;SY)S:(ML;;NW;;;LW)", U_PIPE, "below Medium integrity"},
        {"D:P(A;;GA;;;SY)S:(ML;;NW;;;S-1-16-0)", U_ACCESS, "below Medium integrity"},
        {"D:P(A;;GA;;;SY)S:(ML;;NR;;;ME)", U_PIPE, "lacks NO_WRITE_UP"},
        {"D:P(A;;GA;;;SY)S:(ML;;NW;;;ME)(ML;;NW;;;HI)", U_PIPE, "more than one mandatory label"},
        {"D:P(A;;GA;;;SY)S:(ML;;NW;;;SY)", U_PIPE, "no integrity level"},
        {"D:P(A;;GA;;;SY)S:(A;;GA;;;WD)", U_PIPE, "only mandatory labels (ML) and audit entries (AU)"},
        {"D:P(A;;GA;;;SY)S:(ML;;NW;;;LW)", U_PIPE | U_SANDBOX, NULL},
        {"D:P(A;;GA;;;SY)S:(ML;;NR;;;ME)", U_PIPE | U_SANDBOX, NULL},
        {"D:P(A;;GA;;;SY)S:(ML;;NW;;;ME)", U_PIPE, NULL},
        {"D:P(A;;GA;;;SY)S:(ML;;NWNR;;;HI)", U_PIPE, NULL},
        {"D:P(A;;GA;;;SY)S:(AU;SA;GA;;;WD)", U_PIPE, NULL},
        /* An inherit-only label is for children. */
        {"D:P(A;;GA;;;SY)S:(ML;OIIO;NW;;;LW)", U_PIPE, NULL},
    };
    CHECK(cases);
}
END_TEST

/* Only allow and deny entries in the DACL. */
START_TEST(ace_types)
{
    static const rule_case cases[] = {
        {"D:P(AU;SA;GA;;;WD)(A;;GA;;;BA)", U_PIPE, "only allow (A) and deny (D)"},
        {"D:P(ML;;NW;;;ME)(A;;GA;;;BA)", U_ACCESS, "only allow (A) and deny (D)"},
    };
    CHECK(cases);
}
END_TEST

/* A deny entry after an allow entry may be dead: AccessCheck never takes back what was granted. */
START_TEST(deny_order)
{
    static const rule_case cases[] = {
        {"D:(A;;GA;;;AU)(D;;GA;;;BG)", U_ACCESS, "ACE 2 denies S-1-5-32-546 after ACE 1 allowed"},
        {"D:P(A;;GA;;;SY)(A;;0x12019b;;;AU)(D;;GA;;;NU)", U_PIPE, "put deny entries first"},
        {"D:(D;;GA;;;BG)(A;;GA;;;AU)", U_ACCESS, NULL},
        /* Nothing allowed before it (an inherit-only allow does not count), nothing to take back. */
        {"D:(A;OIIO;GA;;;WD)(D;;GA;;;BG)(A;;GA;;;AU)", U_ACCESS, NULL},
    };
    CHECK(cases);
}
END_TEST

/* Anonymous only with PH_SDDL_ALLOW_ANONYMOUS. */
START_TEST(anonymous)
{
    static const rule_case cases[] = {
        {"D:P(A;;GA;;;SY)(A;;GR;;;AN)", U_PIPE, "to Anonymous (S-1-5-7)"},
        {"D:P(A;;GA;;;SY)(A;;0x12019b;;;AN)", U_FIXED, "PH_SDDL_ALLOW_ANONYMOUS"},
        {"D:(A;;GX;;;AN)", U_ACCESS, "to Anonymous"},
        {"D:P(A;;GA;;;SY)(A;;GR;;;AN)", U_PIPE | U_ANON, NULL},
        {"D:(A;;GX;;;AN)", U_ACCESS | U_ANON, NULL},
        /* The opt-in is for reading and writing, never for taking the pipe. */
        {"D:P(A;;GA;;;SY)(A;;GA;;;AN)", U_PIPE | U_ANON, "to S-1-5-7"},
        /* Denying Anonymous is always fine. */
        {"D:P(D;;GA;;;AN)(A;;GA;;;SY)", U_PIPE, NULL},
    };
    CHECK(cases);
}
END_TEST

/* AppContainers, their capabilities and restricted tokens only with PH_SDDL_ALLOW_SANDBOXED. */
START_TEST(sandboxed)
{
    static const rule_case cases[] = {
        {"D:P(A;;GA;;;SY)(A;;0x12019b;;;AC)", U_PIPE, "to S-1-15-2-1"},
        {"D:P(A;;GA;;;SY)(A;;0x12019b;;;S-1-15-2-2)", U_PIPE, "PH_SDDL_ALLOW_SANDBOXED"},
        {"D:P(A;;GA;;;SY)(A;;GR;;;S-1-15-2-1-2-3-4-5-6-7)", U_FIXED, "AppContainer package or capability"},
        {"D:P(A;;GA;;;SY)(A;;GR;;;S-1-15-3-1)", U_PIPE, "to S-1-15-3-1"},
        {"D:P(A;;GA;;;SY)(A;;GR;;;RC)", U_PIPE, "to S-1-5-12"},
        {"D:P(A;;GA;;;SY)(A;;GR;;;WR)", U_PIPE, "to S-1-5-33"},
        {"D:(A;;GX;;;AC)", U_ACCESS, "PH_SDDL_ALLOW_SANDBOXED"},
        {"D:P(A;;GA;;;SY)(A;;0x12019b;;;AC)(A;;0x12019b;;;S-1-15-2-2)", U_PIPE | U_SANDBOX, NULL},
        {"D:(A;;GX;;;AC)", U_ACCESS | U_SANDBOX, NULL},
        {"D:P(A;;GA;;;SY)(A;;GA;;;AC)", U_PIPE | U_SANDBOX, "to S-1-15-2-1"},
        {"D:P(D;;GA;;;AC)(A;;GA;;;SY)", U_PIPE, NULL},
    };
    CHECK(cases);
}
END_TEST

/* FILE_CREATE_PIPE_INSTANCE, in every spelling, only to SYSTEM, Administrators, OWNER RIGHTS or a service SID
 * (unlimited pool); not to LocalService or NetworkService, which many services share. */
START_TEST(create_instance)
{
    static const rule_case cases[] = {
        {"D:P(A;;GA;;;SY)(A;;0x4;;;AU)", U_PIPE, "FILE_CREATE_PIPE_INSTANCE"},
        {"D:P(A;;GA;;;SY)(A;;GW;;;AU)", U_PIPE, "accepted only for a fixed pool"},
        {"D:P(A;;GA;;;SY)(A;;0x12019f;;;BU)", U_PIPE, "to S-1-5-32-545"},
        {"D:P(A;;GA;;;SY)(A;;FW;;;IU)", U_PIPE, "GENERIC_WRITE includes it"},
        {"D:P(A;;GA;;;SY)(A;;0x4;;;LS)", U_PIPE, "to S-1-5-19"},
        {"D:P(A;;GA;;;SY)(A;;GW;;;NS)", U_PIPE, "to S-1-5-20"},
        {"D:P(A;;GA;;;SY)(A;;0x4;;;S-1-5-80-0)", U_PIPE, "to S-1-5-80-0"},
        {"D:P(A;;GA;;;SY)(A;;GW;;;AU)", U_FIXED, NULL},
        {"D:P(A;;GA;;;SY)(A;;0x4;;;LS)", U_FIXED, NULL},
        {"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;GA;;;S-1-5-80-1-2-3-4-5)", U_PIPE, NULL},
        {"D:(A;;GA;;;WD)", U_ACCESS, NULL},
    };
    CHECK(cases);
}
END_TEST

/* WRITE_DAC and WRITE_OWNER: for both pipe uses, only to the same principals. */
START_TEST(take_over)
{
    static const rule_case cases[] = {
        {"D:P(A;;GA;;;SY)(A;;WD;;;AU)", U_FIXED, "WRITE_DAC"},
        {"D:P(A;;GA;;;SY)(A;;WO;;;AU)", U_PIPE, "WRITE_OWNER"},
        {"D:P(A;;GA;;;SY)(A;;GA;;;AU)", U_FIXED, "WRITE_DAC, WRITE_OWNER"},
        {"D:P(A;;GA;;;SY)(A;;GA;;;LS)", U_FIXED, "to S-1-5-19"},
        {"D:P(A;;GA;;;SY)(A;;GA;;;S-1-5-21-0-0-0-1000)", U_PIPE, "to S-1-5-21-0-0-0-1000"},
        {"D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;AU)", U_PIPE, "ACE 3"},
    };
    CHECK(cases);
}
END_TEST

/* Earlier (unconditional) deny entries for the same SID take rights out of a later grant: denying FILE_CREATE_PIPE_INSTANCE,
 * WRITE_DAC and WRITE_OWNER before GA leaves a safe grant; denying FILE_CREATE_PIPE_INSTANCE alone leaves
 * WRITE_DAC and WRITE_OWNER, with which the holder could rewrite the DACL and give itself the rest. A deny for
 * another SID does not count, not even Everyone (which Anonymous is not part of). */
START_TEST(deny_then_allow)
{
    static const rule_case cases[] = {
        {"D:P(D;;0xc0004;;;AU)(A;;GA;;;SY)(A;;GA;;;AU)", U_PIPE, NULL},
        {"D:P(D;;0xc0004;;;AU)(A;;GA;;;AU)", U_PIPE, NULL},
        {"D:P(D;;0x4;;;AU)(A;;GA;;;AU)", U_PIPE, "grants WRITE_DAC, WRITE_OWNER"},
        {"D:P(D;;0x4;;;AU)(A;;GA;;;AU)", U_PIPE, "less 0x4 denied by earlier entries"},
        {"D:P(D;;0x4;;;AU)(A;;GA;;;AU)", U_FIXED, "WRITE_DAC, WRITE_OWNER"},
        {"D:P(D;;WDWO;;;AU)(A;;GA;;;AU)", U_FIXED, NULL},
        {"D:P(D;;WDWO;;;AU)(A;;GA;;;AU)", U_PIPE, "FILE_CREATE_PIPE_INSTANCE"},
        {"D:P(D;;0xc0004;;;WD)(A;;GA;;;AU)", U_PIPE, "to S-1-5-11"},
        {"D:P(D;;0x4;;;AU)(A;;GW;;;AU)", U_PIPE, NULL},
        /* A conditional deny applies only when its condition holds: it takes nothing out for sure. */
        {"D:P(XD;;0xc0004;;;AU;(@User.Project == 1))(A;;GA;;;AU)", U_PIPE, "to S-1-5-11"},
        {"D:P(XD;;0xc0004;;;AU;(@User.Project == 1))(D;;0xc0004;;;AU)(A;;GA;;;AU)", U_PIPE, NULL},
    };
    CHECK(cases);
}
END_TEST

/* The descriptors pipehost itself uses pass. */
START_TEST(defaults_pass)
{
    static const rule_case cases[] = {
        {PH_DEFAULT_SDDL, U_PIPE, NULL},
        {PH_DEFAULT_SDDL, U_FIXED, NULL},
        {"O:S-1-5-80-1-2-3-4-5D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;S-1-5-80-1-2-3-4-5)(A;;0x12019b;;;AU)",
         U_PIPE, NULL},
        {"D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;S-1-5-80-1-2-3-4-5)(A;;0x12019b;;;OW)(A;;0x12019b;;;AU)",
         U_PIPE, NULL},
    };
    CHECK(cases);
}
END_TEST

/* Unknown uses and flags are refused, not ignored. */
START_TEST(bad_use)
{
    static sddl_text parsed;
    char why[64];

    ck_assert_int_eq(sddl_text_parse("D:P(A;;GA;;;SY)", &parsed), 0);
    ck_assert_int_eq(ph__sddl_rules_check(&parsed.sd, 7, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__sddl_rules_check(&parsed.sd, U_PIPE | 0x400u, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__sddl_rules_check(&parsed.sd, U_PIPE | U_ANON | U_SANDBOX, why, sizeof(why)), 0);
    ck_assert_int_eq(ph__sddl_use_valid(U_FIXED | U_ANON), 1);
    ck_assert_int_eq(ph__sddl_use_valid(0x80000000u), 0);
    ck_assert_int_eq(ph__sddl_text_disables_access_control("O:SYD:Pno_access_control"), 1);
    ck_assert_int_eq(ph__sddl_text_disables_access_control("O:SYG:SYD:P(A;;GA;;;SY)S:NO_ACCESS_CONTROL"), 0);
}
END_TEST

/* The longest messages, with the longest SIDs (15 sub-authorities of 10 digits), fit the documented 512 bytes. */
START_TEST(messages_fit)
{
    static const char *const shapes[] = {
        "D:P(D;;0x1;;;@)(A;;0x5;;;@)", "D:P(D;;0x4;;;@)(A;;GA;;;@)", "O:@D:P(A;;GA;;;SY)",
        "D:P(A;;GA;;;SY)(D;;GA;;;@)",  "D:P(A;;GA;;;SY)S:(ML;;NW;;;@)", "D:P(A;;GA;;;SY)(A;;GR;;;@)",
    };
    static sddl_text parsed;
    char sid[200], sandbox[200], sddl[600], why[1024];
    size_t i, n = 0, m = 0;
    int k;

    n += (size_t)snprintf(sid, sizeof(sid), "S-1-5");
    m += (size_t)snprintf(sandbox, sizeof(sandbox), "S-1-15-2");
    for (k = 0; k < 14; k++) {
        n += (size_t)snprintf(sid + n, sizeof(sid) - n, "-4294967295");
        m += (size_t)snprintf(sandbox + m, sizeof(sandbox) - m, "-4294967295");
    }
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const char *who = i + 1 == sizeof(shapes) / sizeof(shapes[0]) ? sandbox : sid;
        const char *p;
        size_t len = 0;
        for (p = shapes[i]; *p != '\0'; p++) /* each @ becomes the SID */
            len += (size_t)snprintf(sddl + len, sizeof(sddl) - len, "%s", *p == '@' ? who : (char[2]){*p, '\0'});
        ck_assert_int_eq(sddl_text_parse(sddl, &parsed), 0);
        ck_assert_int_eq(ph__sddl_rules_check(&parsed.sd, PH_SDDL_PIPE, why, sizeof(why)), PH_EBADSDDL);
        ck_assert_msg(strlen(why) < 511, "%u bytes: %s", (unsigned)strlen(why), why);
    }
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("sddl_rules");
    TCase *tc = tcase_create("rules");

    tcase_add_test(tc, dacl_present_and_useful);
    tcase_add_test(tc, owner);
    tcase_add_test(tc, sacl_label);
    tcase_add_test(tc, ace_types);
    tcase_add_test(tc, deny_order);
    tcase_add_test(tc, anonymous);
    tcase_add_test(tc, sandboxed);
    tcase_add_test(tc, create_instance);
    tcase_add_test(tc, take_over);
    tcase_add_test(tc, deny_then_allow);
    tcase_add_test(tc, defaults_pass);
    tcase_add_test(tc, bad_use);
    tcase_add_test(tc, messages_fit);
    suite_add_tcase(s, tc);
    return s;
}
