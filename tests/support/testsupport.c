/* testsupport.c — the shared test main (one Check case per process) and helpers for pipe tests. */
#include "testsupport.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#include <windows.h>
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
    SRunner *sr = srunner_create(ph_test_suite());
    const char *only = getenv("CK_RUN_CASE");
    int failed, ran;

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
