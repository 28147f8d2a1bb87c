/* test_svcsid.c — the pipe's default descriptor per service account (service/svcsid.c): the per-service SID, the
 * descriptor for each kind of account, and that descriptor on a live pipe. */
#include "testsupport.h"

#include <windows.h>

#include "svcsid.h"

#include <pipehost/pipehost.h>

#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define SVC_SID "S-1-5-80-1-2-3-4-5"

/* The SID Windows gives NT SERVICE\TrustedInstaller, documented in many places and the same on every system. */
START_TEST(service_sid_derivation)
{
    char sid[SVC_SID_TEXT_MAX], again[SVC_SID_TEXT_MAX];

    ck_assert_uint_eq(ph__svc_service_sid(L"TrustedInstaller", sid, sizeof(sid)), 0);
    ck_assert_str_eq(sid, "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464");
    /* Service names are compared without case: the hash is of the name in upper case. */
    ck_assert_uint_eq(ph__svc_service_sid(L"trustedinstaller", again, sizeof(again)), 0);
    ck_assert_str_eq(again, sid);
    ck_assert_uint_eq(ph__svc_service_sid(L"pipehost", sid, sizeof(sid)), 0);
    ck_assert_msg(strncmp(sid, "S-1-5-80-", 9) == 0 && strcmp(sid, again) != 0, "%s", sid);
    ck_assert_uint_eq(ph__svc_service_sid(L"", sid, sizeof(sid)), ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(ph__svc_service_sid(NULL, sid, sizeof(sid)), ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(ph__svc_service_sid(L"x", sid, 10), ERROR_INVALID_PARAMETER);
}
END_TEST

static void expect_default(const char *user, const char *svc, int owner, const char *want)
{
    svc_token_facts f;
    char out[SVC_DEFAULT_SDDL_MAX], why[512];

    f.user_sid = user;
    f.service_sid = svc;
    f.service_sid_owner = owner;
    ck_assert_msg(ph__svc_default_sddl(&f, out, sizeof(out), why, sizeof(why)) == 0, "%s: %s", user, why);
    ck_assert_str_eq(out, want);
    /* What it gives passes the checker for both pools. */
    if (out[0] != '\0') {
        ck_assert_msg(ph_sddl_check(out, PH_SDDL_PIPE, why, sizeof(why)) == 0, "%s: %s", out, why);
        ck_assert_msg(ph_sddl_check(out, PH_SDDL_PIPE_FIXED, why, sizeof(why)) == 0, "%s: %s", out, why);
    }
}

static void expect_refused(const char *user, const char *fragment)
{
    svc_token_facts f;
    char out[SVC_DEFAULT_SDDL_MAX], why[512];

    f.user_sid = user;
    f.service_sid = NULL;
    f.service_sid_owner = 0;
    ck_assert_int_eq(ph__svc_default_sddl(&f, out, sizeof(out), why, sizeof(why)), -1);
    ck_assert_str_eq(out, "");
    ck_assert_msg(strstr(why, fragment) != NULL && strstr(why, "service SID") != NULL, "%s", why);
}

/* Per account: LocalSystem keeps the core's default; an account with its service SID in the token gets that SID
 * as owner and instance creator instead of OWNER RIGHTS; LocalService and NetworkService without it are refused
 * (their OWNER RIGHTS is every process of theirs); other accounts keep OWNER RIGHTS, which is themselves. */
START_TEST(default_per_account)
{
    expect_default("S-1-5-18", SVC_SID, 1, "");
    expect_default("S-1-5-18", NULL, 0, "");
    expect_default("S-1-5-19", SVC_SID, 1,
                   "O:" SVC_SID "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" SVC_SID ")(A;;0x12019b;;;AU)");
    expect_default("S-1-5-20", SVC_SID, 0,
                   "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" SVC_SID ")(A;;0x12019b;;;OW)(A;;0x12019b;;;AU)");
    expect_default("S-1-5-21-1-2-3-1001", SVC_SID, 1,
                   "O:" SVC_SID "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" SVC_SID ")(A;;0x12019b;;;AU)");
    expect_default("S-1-5-21-1-2-3-1001", NULL, 0, "");
    expect_refused("S-1-5-19", "LocalService");
    expect_refused("S-1-5-20", "NetworkService");
    /* Neither default grants anything dangerous to the shared accounts, nor to OWNER RIGHTS beyond read/write. */
    ck_assert_ptr_null(strstr(PH_DEFAULT_SDDL, ";;;LS)"));
    ck_assert_ptr_null(strstr(PH_DEFAULT_SDDL, ";;;NS)"));
}
END_TEST

/* This process: not LocalService or NetworkService, and no service's SID in its token, so the core's default. */
START_TEST(default_here)
{
    char out[SVC_DEFAULT_SDDL_MAX], why[512];
    HANDLE token;
    BYTE buf[512];
    DWORD size = 0;
    LPSTR user = NULL;
    int special;

    ck_assert(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    ck_assert(GetTokenInformation(token, TokenUser, buf, sizeof(buf), &size));
    CloseHandle(token);
    ck_assert(ConvertSidToStringSidA(((TOKEN_USER *)(void *)buf)->User.Sid, &user));
    special = strcmp(user, "S-1-5-18") == 0 || strcmp(user, "S-1-5-19") == 0 || strcmp(user, "S-1-5-20") == 0;
    LocalFree(user);
    if (special)
        ph_test_skip("this test runs as a service account; it expects an ordinary account");
    ck_assert_msg(ph__svc_default_sddl_here(NULL, out, sizeof(out), why, sizeof(why)) == 0, "%s", why);
    ck_assert_str_eq(out, "");
    ck_assert_msg(ph__svc_default_sddl_here(L"ph-test-no-such-service", out, sizeof(out), why, sizeof(why)) == 0, "%s",
                  why);
    ck_assert_str_eq(out, "");
}
END_TEST

/* The service form on a live pipe: the owner and the instance creator are the service SID, OWNER RIGHTS is gone.
 * Only a process holding that SID (or SeRestorePrivilege) may name it owner: Windows refuses others with
 * ERROR_INVALID_OWNER, and then the case is skipped. */
START_TEST(service_form_on_a_pipe)
{
    char name[128], sddl[SVC_DEFAULT_SDDL_MAX], why[512], svc[SVC_SID_TEXT_MAX];
    wchar_t wname[160], wsddl[SVC_DEFAULT_SDDL_MAX];
    svc_token_facts f;
    SECURITY_ATTRIBUTES sa;
    PSECURITY_DESCRIPTOR sd = NULL, got = NULL;
    PSID owner = NULL;
    PACL dacl = NULL;
    LPSTR owner_text = NULL;
    HANDLE pipe, client;
    GENERIC_MAPPING files = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    DWORD err, i, mask;
    int svc_full = 0;

    ck_assert_uint_eq(ph__svc_service_sid(L"ph-test-svcsid", svc, sizeof(svc)), 0);
    f.user_sid = "S-1-5-19";
    f.service_sid = svc;
    f.service_sid_owner = 1;
    ck_assert_int_eq(ph__svc_default_sddl(&f, sddl, sizeof(sddl), why, sizeof(why)), 0);
    ph_test_pipe_name(name, sizeof(name), "svcsid");
    wcscpy(wname, L"\\\\.\\pipe\\");
    MultiByteToWideChar(CP_UTF8, 0, name, -1, wname + wcslen(wname), 120);
    MultiByteToWideChar(CP_UTF8, 0, sddl, -1, wsddl, SVC_DEFAULT_SDDL_MAX);
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, NULL));
    sa.nLength = sizeof(sa);
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    pipe = CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_REJECT_REMOTE_CLIENTS, 4, 4096, 4096, 0,
                            &sa);
    err = GetLastError();
    LocalFree(sd);
    if (pipe == INVALID_HANDLE_VALUE && err == ERROR_INVALID_OWNER)
        ph_test_skip("only a process holding the service SID may make it a pipe's owner (ERROR_INVALID_OWNER)");
    ck_assert_msg(pipe != INVALID_HANDLE_VALUE, "CreateNamedPipeW: %lu", (unsigned long)err);
    client = CreateFileW(wname, READ_CONTROL, 0, NULL, OPEN_EXISTING, 0, NULL);
    ck_assert_msg(client != INVALID_HANDLE_VALUE, "open: %lu", (unsigned long)GetLastError());
    ck_assert_uint_eq(GetSecurityInfo(client, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                      &owner, NULL, &dacl, NULL, &got),
                      ERROR_SUCCESS);
    ck_assert(ConvertSidToStringSidA(owner, &owner_text));
    ck_assert_str_eq(owner_text, svc);
    LocalFree(owner_text);
    ck_assert_ptr_nonnull(dacl);
    for (i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        LPSTR text = NULL;
        ck_assert(GetAce(dacl, i, (void **)&ace));
        ck_assert(ConvertSidToStringSidA((PSID)&ace->SidStart, &text));
        ck_assert_msg(strcmp(text, "S-1-3-4") != 0 && strcmp(text, "S-1-5-19") != 0, "entry %lu names %s",
                      (unsigned long)i, text);
        mask = ace->Mask; /* Windows maps generic rights when it stores the descriptor; Wine 8 keeps them */
        MapGenericMask(&mask, &files);
        if (strcmp(text, svc) == 0 && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
            (mask & FILE_CREATE_PIPE_INSTANCE))
            svc_full = 1;
        LocalFree(text);
    }
    ck_assert_msg(svc_full, "the service SID may not create instances");
    LocalFree(got);
    CloseHandle(client);
    CloseHandle(pipe);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("svcsid");
    TCase *tc;

    tc = tcase_create("service_sid_derivation");
    tcase_add_test(tc, service_sid_derivation);
    suite_add_tcase(s, tc);
    tc = tcase_create("default_per_account");
    tcase_add_test(tc, default_per_account);
    suite_add_tcase(s, tc);
    tc = tcase_create("default_here");
    tcase_add_test(tc, default_here);
    suite_add_tcase(s, tc);
    tc = tcase_create("service_form_on_a_pipe");
    tcase_add_test(tc, service_form_on_a_pipe);
    suite_add_tcase(s, tc);
    return s;
}
