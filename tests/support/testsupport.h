/* testsupport.h — what every pipehost test program shares: the runner, unique pipe names, Wine detection, skips. */
#ifndef PH_TESTSUPPORT_H
#define PH_TESTSUPPORT_H

#include <check.h>
#include <stddef.h>

/* Each test program defines its suite; the shared main runs the case named by CK_RUN_CASE. */
Suite *ph_test_suite(void);

/* Exit code ctest reports as skipped (SKIP_RETURN_CODE). */
#define PH_TEST_SKIP_CODE 77

/* True when running under Wine (ntdll exports wine_get_version); always false off Windows. */
int ph_test_on_wine(void);
/* Reports the test as skipped, saying why, and ends the program (each case runs in its own process). */
void ph_test_skip(const char *why);
/* A pipe name no other test or run uses: "ph-test-<tag>-<pid>-<counter>-<ticks>". */
void ph_test_pipe_name(char *buf, size_t size, const char *tag);
/* Milliseconds from a monotonic clock. */
unsigned long long ph_test_now_ms(void);
void ph_test_sleep_ms(unsigned ms);

#ifdef _WIN32
/* Whether the descriptor (SDDL) grants access (generic rights mapped as for files, which pipes use) to this
 * process's token: AccessCheck, the check Windows makes when a client opens a pipe (Wine runs AccessCheck for
 * real, though not on pipe opens). Fails the test if the SDDL does not parse. */
int ph_test_descriptor_grants(const char *sddl, unsigned long access);
/* A primary token for "an ordinary user": this process's token with Administrators and SYSTEM made
 * deny-only (CreateRestrictedToken), so it keeps Authenticated Users and loses what an administrator or
 * SYSTEM is granted. Impersonate it with ImpersonateLoggedOnUser, or DuplicateToken it for AccessCheck; the
 * caller closes it. Fails the test if the token cannot be made. */
void *ph_test_ordinary_user_token(void);
#endif

#endif
