/* test_sddl.c — the one SDDL checker (ph_sddl_check): what it refuses and why, what it accepts, and that the server uses it. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

/* Refused, with a reason that contains the fragment. */
static void refused(const char *sddl, ph_sddl_use use, const char *fragment)
{
    char why[512];
    int rc;

    memset(why, 'x', sizeof(why));
    rc = ph_sddl_check(sddl, use, why, sizeof(why));
    ck_assert_msg(rc == PH_EBADSDDL, "\"%s\" (use %d): %s, want PH_EBADSDDL", sddl, (int)use, ph_err_name(rc));
    ck_assert_msg(strstr(why, fragment) != NULL, "\"%s\": reason \"%s\" lacks \"%s\"", sddl, why, fragment);
}

static void accepted(const char *sddl, ph_sddl_use use)
{
    char why[512];
    int rc = ph_sddl_check(sddl, use, why, sizeof(why));

    ck_assert_msg(rc == 0, "\"%s\" (use %d) refused: %s (%s)", sddl, (int)use, ph_err_name(rc), why);
    ck_assert_str_eq(why, "");
}

START_TEST(refuses_unprotected_descriptors)
{
    refused("", PH_SDDL_PIPE, "empty");
    refused(NULL, PH_SDDL_PIPE, "empty");
    refused("garbage", PH_SDDL_PIPE, "not a valid SDDL");
    refused("O:SYG:SY", PH_SDDL_PIPE, "no DACL");
    refused("D:NO_ACCESS_CONTROL", PH_SDDL_PIPE, "NULL DACL");
    refused("O:BAD:PNO_ACCESS_CONTROL", PH_SDDL_PIPE, "NULL DACL");
    refused("D:no_access_control", PH_SDDL_ACCESS, "NULL DACL");
    /* Empty: on Windows nobody, the server's own account included, could open the pipe. */
    refused("D:", PH_SDDL_PIPE, "DACL is empty");
    refused("D:P", PH_SDDL_PIPE, "DACL is empty");
    refused("D:", PH_SDDL_ACCESS, "DACL is empty");
    refused("D:P(D;;GA;;;WD)", PH_SDDL_PIPE, "allows nothing");
    /* An audit entry has no place in a DACL (Wine 8 does not parse object ACEs, which are refused alike). */
    refused("D:P(AU;SA;GA;;;WD)(A;;GA;;;BA)", PH_SDDL_PIPE, "only allow (A) and deny (D)");
}
END_TEST

/* Rights that let a non-administrative principal squat the name or take the pipe over, in every spelling:
 * generic, file, standard and numeric, after mapping. */
START_TEST(refuses_dangerous_grants_to_users)
{
    refused("D:P(A;;GA;;;SY)(A;;GA;;;WD)", PH_SDDL_PIPE, "to S-1-1-0");
    refused("D:P(A;;GA;;;SY)(A;;GW;;;AU)", PH_SDDL_PIPE, "FILE_CREATE_PIPE_INSTANCE");
    refused("D:P(A;;GA;;;SY)(A;;GRGW;;;BU)", PH_SDDL_PIPE, "to S-1-5-32-545");
    refused("D:P(A;;GA;;;SY)(A;;FW;;;IU)", PH_SDDL_PIPE, "to S-1-5-4");
    refused("D:P(A;;GA;;;SY)(A;;FA;;;AN)", PH_SDDL_PIPE, "Anonymous (S-1-5-7)");
    /* LocalService and NetworkService are shared by dozens of services: a grant to them is a grant to all. */
    refused("D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;LS)(A;;GA;;;OW)", PH_SDDL_PIPE, "to S-1-5-19");
    refused("D:P(A;;GA;;;SY)(A;;GA;;;NS)", PH_SDDL_PIPE, "to S-1-5-20");
    /* FILE_CREATE_PIPE_INSTANCE is FILE_APPEND_DATA: 0x4 alone, or 0x12019f (the default's 0x12019b + 0x4). */
    refused("D:P(A;;GA;;;SY)(A;;0x4;;;AU)", PH_SDDL_PIPE, "FILE_CREATE_PIPE_INSTANCE");
    refused("D:P(A;;GA;;;SY)(A;;0x12019f;;;AU)", PH_SDDL_PIPE, "FILE_CREATE_PIPE_INSTANCE");
    refused("D:P(A;;GA;;;SY)(A;;WD;;;AU)", PH_SDDL_PIPE, "WRITE_DAC");
    refused("D:P(A;;GA;;;SY)(A;;WO;;;AU)", PH_SDDL_PIPE, "WRITE_OWNER");
    /* A named user, even the one running the server: OWNER RIGHTS is how a server's own account is named. */
    refused("D:P(A;;GA;;;SY)(A;;GA;;;S-1-5-21-0-0-0-1000)", PH_SDDL_PIPE, "to S-1-5-21-0-0-0-1000");
    /* ALL SERVICES is every service, not one. */
    refused("D:P(A;;GA;;;SY)(A;;GA;;;S-1-5-80-0)", PH_SDDL_PIPE, "to S-1-5-80-0");
    /* A deny ACE before it does not make the check skip a later grant. */
    refused("D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;AU)", PH_SDDL_PIPE, "ACE 3");
}
END_TEST

START_TEST(accepts_safe_descriptors)
{
    accepted(PH_DEFAULT_SDDL, PH_SDDL_PIPE);
    accepted("D:P(A;;GA;;;SY)", PH_SDDL_PIPE);
    accepted("D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)", PH_SDDL_PIPE);
    /* The issue 15 example: deny instance creation, WRITE_DAC and WRITE_OWNER, then GA, to the same group. */
    accepted("D:P(D;;0xc0004;;;AU)(A;;GA;;;SY)(A;;GA;;;AU)", PH_SDDL_PIPE);
    accepted("D:P(A;;GA;;;S-1-5-80-1-2-3-4-5)(A;;GR;;;WD)", PH_SDDL_PIPE);
    accepted("O:SYG:SYD:P(A;;GA;;;SY)(A;;0x12019b;;;AU)(A;;GR;;;S-1-5-21-0-0-0-1000)", PH_SDDL_PIPE);
    /* An inherit-only entry applies to children, which a pipe has none of. */
    accepted("D:P(A;;GA;;;SY)(A;OIIO;GA;;;WD)", PH_SDDL_PIPE);
    /* For AccessCheck only (per-verb), the pipe rights mean nothing: anyone may be granted anything. */
    accepted("D:(A;;GA;;;WD)", PH_SDDL_ACCESS);
    accepted("D:(A;;GX;;;S-1-5-21-0-0-0-1000)", PH_SDDL_ACCESS);
}
END_TEST

/* A fixed pool (PH_SDDL_PIPE_FIXED) may grant anyone FILE_CREATE_PIPE_INSTANCE, in every spelling (0x4,
 * GENERIC_WRITE, the widened default's 0x12019f): with all its instances created nobody can add one. The
 * unlimited pool (PH_SDDL_PIPE) still refuses it, saying so. WRITE_DAC and WRITE_OWNER stay refused for both,
 * GENERIC_ALL included (it holds them). */
START_TEST(fixed_pool_accepts_instance_creation)
{
    accepted("D:P(A;;GA;;;SY)(A;;GW;;;AU)", PH_SDDL_PIPE_FIXED);
    accepted("D:P(A;;GA;;;SY)(A;;GRGW;;;AU)", PH_SDDL_PIPE_FIXED);
    accepted("D:P(A;;GA;;;SY)(A;;0x4;;;BU)", PH_SDDL_PIPE_FIXED);
    accepted("D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;0x12019f;;;AU)", PH_SDDL_PIPE_FIXED);
    accepted(PH_DEFAULT_SDDL, PH_SDDL_PIPE_FIXED);
    refused("D:P(A;;GA;;;SY)(A;;GW;;;AU)", PH_SDDL_PIPE, "accepted only for a fixed pool");
    refused("D:P(A;;GA;;;SY)(A;;0x12019f;;;AU)", PH_SDDL_PIPE, "GENERIC_WRITE includes it");
    refused("D:P(A;;GA;;;SY)(A;;WD;;;AU)", PH_SDDL_PIPE_FIXED, "WRITE_DAC");
    refused("D:P(A;;GA;;;SY)(A;;WO;;;AU)", PH_SDDL_PIPE_FIXED, "WRITE_OWNER");
    refused("D:P(A;;GA;;;SY)(A;;GA;;;AU)", PH_SDDL_PIPE_FIXED, "WRITE_DAC, WRITE_OWNER");
    refused("D:P(A;;GA;;;SY)(A;;GWWD;;;WD)", PH_SDDL_PIPE_FIXED, "to S-1-1-0");
    /* The other rules are the same for both uses. */
    refused("D:NO_ACCESS_CONTROL", PH_SDDL_PIPE_FIXED, "NULL DACL");
    refused("D:P", PH_SDDL_PIPE_FIXED, "DACL is empty");
    refused("O:SYG:SY", PH_SDDL_PIPE_FIXED, "no DACL");
}
END_TEST

START_TEST(bad_arguments)
{
    char why[8];

    ck_assert_int_eq(ph_sddl_check(PH_DEFAULT_SDDL, (ph_sddl_use)7, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph_sddl_check(PH_DEFAULT_SDDL, PH_SDDL_PIPE | 0x400u, why, sizeof(why)), PH_EINVAL);
    /* why may be NULL, and a short one is cut, not overrun. */
    ck_assert_int_eq(ph_sddl_check("D:", PH_SDDL_PIPE, NULL, 0), PH_EBADSDDL);
    ck_assert_int_eq(ph_sddl_check("D:", PH_SDDL_PIPE, why, sizeof(why)), PH_EBADSDDL);
    ck_assert_uint_eq(strlen(why), sizeof(why) - 1);
}
END_TEST

/* The server runs the same checker: such a descriptor never reaches a pipe. */
/* The unlimited pool's start refuses sddl (fixed: the fixed pool's). */
static void start_refused_in(const char *sddl, unsigned max_instances)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "sddl-start", &ctx, NULL);
    cfg.sddl = sddl;
    cfg.max_instances = max_instances;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    rc = ph_server_start(s);
    ck_assert_msg(rc == PH_EBADSDDL, "SDDL \"%s\" (max_instances %u): %s", sddl, max_instances, ph_err_name(rc));
    ck_assert_uint_eq(ph_server_syserror(s), ERROR_INVALID_SECURITY_DESCR);
    ck_assert_msg(ct_pipe_gone(name), "a pipe exists after a refused SDDL \"%s\"", sddl);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}

static void start_refused(const char *sddl)
{
    start_refused_in(sddl, PH_UNLIMITED_INSTANCES);
}

/* The unlimited pool applies PH_SDDL_PIPE; the fixed pool PH_SDDL_PIPE_FIXED, which lets users create
 * instances (nobody can while the pool is full) but still not rewrite the descriptor. */
START_TEST(server_start_uses_the_checker)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;

    start_refused("D:");
    start_refused("D:P(D;;GA;;;WD)");
    start_refused("D:P(A;;GA;;;SY)(A;;GA;;;WD)");
    start_refused("D:P(A;;GA;;;SY)(A;;GW;;;AU)");
    start_refused("D:P(A;;GA;;;SY)(A;;0x4;;;BU)");
    start_refused_in("D:P(A;;GA;;;SY)(A;;GA;;;WD)", 8);
    start_refused_in("D:P(A;;GA;;;SY)(A;;WD;;;AU)", 8);
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "sddl-fixed", &ctx, NULL);
    cfg.sddl = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;GRGW;;;AU)";
    cfg.max_instances = 8;
    s = ct_start(&cfg, &ctx);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* ph_server_config.sddl_flags opts the pipe's descriptor in to grants the checker otherwise refuses; unknown bits
 * (or a use in them) fail ph_server_new. */
START_TEST(server_sddl_flags)
{
    static const char anon[] = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;0x12019b;;;AU)(A;;0x12019b;;;AN)";
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;

    start_refused_in(anon, 8);
    start_refused_in(anon, PH_UNLIMITED_INSTANCES);
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "sddl-flags", &ctx, NULL);
    cfg.sddl = anon;
    cfg.sddl_flags = PH_SDDL_ALLOW_SANDBOXED | 0x400u;
    ck_assert_int_eq(ph_server_new(&cfg, &s), PH_EINVAL);
    cfg.sddl_flags = PH_SDDL_ALLOW_ANONYMOUS | PH_SDDL_ACCESS;
    ck_assert_int_eq(ph_server_new(&cfg, &s), PH_EINVAL);
    cfg.sddl_flags = PH_SDDL_ALLOW_ANONYMOUS;
    s = ct_start(&cfg, &ctx);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("sddl");
    TCase *tc;

    tc = tcase_create("refuses_unprotected_descriptors");
    tcase_add_test(tc, refuses_unprotected_descriptors);
    suite_add_tcase(s, tc);
    tc = tcase_create("refuses_dangerous_grants_to_users");
    tcase_add_test(tc, refuses_dangerous_grants_to_users);
    suite_add_tcase(s, tc);
    tc = tcase_create("accepts_safe_descriptors");
    tcase_add_test(tc, accepts_safe_descriptors);
    suite_add_tcase(s, tc);
    tc = tcase_create("fixed_pool_accepts_instance_creation");
    tcase_add_test(tc, fixed_pool_accepts_instance_creation);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_arguments");
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("server_start_uses_the_checker");
    tcase_add_test(tc, server_start_uses_the_checker);
    suite_add_tcase(s, tc);
    tc = tcase_create("server_sddl_flags");
    tcase_add_test(tc, server_sddl_flags);
    suite_add_tcase(s, tc);
    return s;
}
