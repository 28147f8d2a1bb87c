/* testsupport.c — the shared test main (one Check case per process) and helpers for pipe tests. */
#include "testsupport.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#include <windows.h>

#include <sddl.h>
#else
#include <time.h>
#include <unistd.h>
#endif

int ph_test_on_wine(void)
{
#ifdef _WIN32
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
#else
    return 0;
#endif
}

void ph_test_skip(const char *why)
{
    printf("SKIPPED: %s\n", why);
    fflush(stdout);
    exit(PH_TEST_SKIP_CODE);
}

unsigned long long ph_test_now_ms(void)
{
#ifdef _WIN32
    return GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
#endif
}

void ph_test_sleep_ms(unsigned ms)
{
#ifdef _WIN32
    Sleep(ms);
#else
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
#endif
}

void ph_test_pipe_name(char *buf, size_t size, const char *tag)
{
    static unsigned counter;
#ifdef _WIN32
    unsigned long pid = GetCurrentProcessId();
#else
    unsigned long pid = (unsigned long)getpid();
#endif
    snprintf(buf, size, "ph-test-%s-%lu-%u-%llu", tag, pid, ++counter, ph_test_now_ms());
}

int main(void)
{
    SRunner *sr;
    const char *only = getenv("CK_RUN_CASE"), *started = getenv("PH_TEST_STARTED");
    int failed, ran;

    /* tests/wine/run.sh: main() ran, so a failure from here on is the test's (one before it is Wine's). */
    if (started != NULL && started[0] != '\0') {
        FILE *f = fopen(started, "w");
        if (f != NULL)
            fclose(f);
    }
    sr = srunner_create(ph_test_suite());

    /* Windows has no fork; running in-process also lets a test exit with the skip code. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    ran = srunner_ntests_run(sr);
    srunner_free(sr);
    if (ran == 0) {
        /* A case name that matches nothing must not pass silently. */
        printf("no test ran (CK_RUN_CASE=%s)\n", only ? only : "");
        return 1;
    }
    return failed == 0 ? 0 : 1;
}

#ifdef _WIN32
int ph_test_descriptor_grants(const char *sddl, unsigned long access)
{
    GENERIC_MAPPING map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    PSECURITY_DESCRIPTOR sd = NULL;
    HANDLE token = NULL, imp = NULL;
    PRIVILEGE_SET privs;
    DWORD privs_len = sizeof(privs), granted = 0, want = access;
    BOOL ok = FALSE;

    ck_assert_msg(ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL),
                  "%s: error %lu", sddl, GetLastError());
    ck_assert(OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &token));
    ck_assert(DuplicateToken(token, SecurityIdentification, &imp)); /* AccessCheck wants an impersonation token */
    MapGenericMask(&want, &map);
    ck_assert_msg(AccessCheck(sd, imp, want, &map, &privs, &privs_len, &granted, &ok), "AccessCheck: error %lu",
                  GetLastError());
    CloseHandle(imp);
    CloseHandle(token);
    LocalFree(sd);
    return ok != FALSE;
}

void *ph_test_ordinary_user_token(void)
{
    unsigned char admins[SECURITY_MAX_SID_SIZE], system[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof(admins);
    SID_AND_ATTRIBUTES deny_only[2];
    HANDLE process = NULL, restricted = NULL;

    ck_assert(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &size));
    size = sizeof(system);
    ck_assert(CreateWellKnownSid(WinLocalSystemSid, NULL, system, &size));
    deny_only[0].Sid = admins;
    deny_only[0].Attributes = 0;
    deny_only[1].Sid = system;
    deny_only[1].Attributes = 0;
    ck_assert(OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_IMPERSONATE, &process));
    ck_assert_msg(CreateRestrictedToken(process, 0, 2, deny_only, 0, NULL, 0, NULL, &restricted),
                  "CreateRestrictedToken: error %lu", GetLastError());
    CloseHandle(process);
    return restricted;
}
#endif
