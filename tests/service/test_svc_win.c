/* test_svc_win.c — the service's Windows-only parts on their own: log file rotation, registry loading. */
#include "testsupport.h"

#include <windows.h>

#include "config_win.h"
#include "filelog.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

static LONGLONG file_size(const wchar_t *path)
{
    WIN32_FILE_ATTRIBUTE_DATA a;
    if (!GetFileAttributesExW(path, GetFileExInfoStandard, &a))
        return -1;
    return ((LONGLONG)a.nFileSizeHigh << 32) | a.nFileSizeLow;
}

START_TEST(filelog_rotation)
{
    wchar_t tmp[MAX_PATH], dir[MAX_PATH], path[MAX_PATH], rotated[MAX_PATH];
    svc_filelog *log = NULL;
    char line[100];
    int i;

    GetTempPathW(MAX_PATH, tmp);
    /* A missing folder is created. */
    swprintf(dir, MAX_PATH, L"%lsphsvc-filelog-%lu", tmp, (unsigned long)GetCurrentProcessId());
    swprintf(path, MAX_PATH, L"%ls\\sub\\t.log", dir);
    swprintf(rotated, MAX_PATH, L"%ls.1", path);
    ck_assert_uint_eq(svc_filelog_open(path, 16384, NULL, &log), 0);
    for (i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof(line), "line %04d of the rotation test, padded to a useful length....", i);
        svc_filelog_write(log, line, (size_t)n);
        /* Never more than the bound in the current file. */
        ck_assert_int_le(file_size(path), 16384);
    }
    svc_filelog_close(log);
    ck_assert_int_gt(file_size(rotated), 16384 - 200);
    ck_assert_int_le(file_size(rotated), 16384);
    /* The newest line is in the current file, whole, with CRLF. */
    {
        HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
        char buf[20000];
        DWORD got = 0;
        ck_assert(h != INVALID_HANDLE_VALUE);
        ck_assert(ReadFile(h, buf, sizeof(buf) - 1, &got, NULL));
        CloseHandle(h);
        buf[got] = '\0';
        ck_assert_msg(strstr(buf, "line 0999 of the rotation test, padded to a useful length....\r\n") != NULL, "%s", buf);
        ck_assert_ptr_null(strstr(buf, "line 0000 "));
    }
    DeleteFileW(path);
    DeleteFileW(rotated);
    swprintf(path, MAX_PATH, L"%ls\\sub", dir);
    RemoveDirectoryW(path);
    RemoveDirectoryW(dir);
}
END_TEST

START_TEST(filelog_bad_path)
{
    svc_filelog *log = NULL;
    /* A folder cannot be created under a file. */
    wchar_t tmp[MAX_PATH], file[MAX_PATH], path[MAX_PATH];
    HANDLE h;

    GetTempPathW(MAX_PATH, tmp);
    swprintf(file, MAX_PATH, L"%lsphsvc-notadir-%lu", tmp, (unsigned long)GetCurrentProcessId());
    h = CreateFileW(file, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    ck_assert(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
    swprintf(path, MAX_PATH, L"%ls\\x.log", file);
    ck_assert_uint_ne(svc_filelog_open(path, 16384, NULL, &log), 0);
    ck_assert_ptr_null(log);
    DeleteFileW(file);
}
END_TEST

/* The registry loader on a Parameters key of a service that does not exist (only the key is used). */
static wchar_t g_service[80];

static void reg_setup(void)
{
    swprintf(g_service, 80, L"phsvc-regtest-%lu", (unsigned long)GetCurrentProcessId());
}

static void reg_teardown(void)
{
    wchar_t path[200];
    swprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters", g_service);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
    swprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls", g_service);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
}

static void reg_set(const wchar_t *name, DWORD type, const void *data, DWORD size)
{
    wchar_t path[200];
    HKEY key;
    swprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters", g_service);
    ck_assert_int_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL), 0);
    ck_assert_int_eq(RegSetValueExW(key, name, 0, type, data, size), 0);
    RegCloseKey(key);
}

START_TEST(registry_missing_key)
{
    svc_config cfg;
    svc_cfg_errors errs;
    int found = 1;

    memset(&errs, 0, sizeof(errs));
    svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(svc_config_load_registry(g_service, &cfg, &errs, &found), 0);
    ck_assert_int_eq(found, 0);
    ck_assert_uint_eq(errs.count, 0);
    svc_config_free(&cfg);
}
END_TEST

START_TEST(registry_values)
{
    svc_config cfg;
    svc_cfg_errors errs;
    int found = 0;
    DWORD v = 4096;
    ULONGLONG q = 5;
    static const wchar_t pipe[] = L"regpipe";
    static const wchar_t nul_inside[] = L"a\0b";
    static const wchar_t unterminated[5] = {L'd', L'e', L'b', L'u', L'g'};
    static const wchar_t expand[] = L"%SystemRoot%\\pipehost.log";

    reg_set(L"MaxMessageBytes", REG_DWORD, &v, sizeof(v));
    reg_set(L"PipeName", REG_SZ, pipe, sizeof(pipe));
    reg_set(L"LogFile", REG_EXPAND_SZ, expand, sizeof(expand));
    reg_set(L"Sddl", REG_EXPAND_SZ, L"D:(A;;GA;;;SY)", sizeof(L"D:(A;;GA;;;SY)"));   /* strings other than LogFile: REG_SZ only */
    reg_set(L"IdleTimeoutMs", REG_QWORD, &q, sizeof(q));
    reg_set(L"LogLevel", REG_BINARY, unterminated, sizeof(unterminated));
    reg_set(L"PendingInstances", REG_DWORD, &q, 2);
    memset(&errs, 0, sizeof(errs));
    svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_int_eq(found, 1);
    ck_assert_uint_eq(cfg.max_message_bytes, 4096);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\regpipe");
    ck_assert_msg(cfg.log_file != NULL && strstr(cfg.log_file, "%") == NULL && strstr(cfg.log_file, "pipehost.log"),
                  "%s", cfg.log_file ? cfg.log_file : "(null)");
    ck_assert_uint_eq(errs.count, 4);
    ck_assert_uint_eq(errs.kinds, (1u << SVC_V_SDDL) | (1u << SVC_V_IDLE_TIMEOUT) | (1u << SVC_V_LOG_LEVEL) |
                                      (1u << SVC_V_PENDING));
    svc_config_free(&cfg);

    /* Unterminated REG_SZ data is read whole; an embedded NUL is refused. */
    reg_teardown();
    reg_set(L"LogLevel", REG_SZ, unterminated, sizeof(unterminated));
    reg_set(L"PipeName", REG_SZ, nul_inside, sizeof(nul_inside));
    memset(&errs, 0, sizeof(errs));
    svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_msg(strstr(errs.text[0], "PipeName") && strstr(errs.text[0], "NUL"), "%s", errs.text[0]);
    ck_assert_int_eq(cfg.log_level, PH_LOG_DEBUG);
    svc_config_free(&cfg);
}
END_TEST

START_TEST(sddl_checks)
{
    svc_config cfg;
    svc_cfg_errors errs;

    memset(&errs, 0, sizeof(errs));
    svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(svc_config_check_sddl(&cfg, &errs), 0); /* the default */
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, PH_DEFAULT_SDDL, "t", &errs), 0);
    ck_assert_int_eq(svc_config_check_sddl(&cfg, &errs), 0);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, "D:(Z;;GA;;;SY)", "t", &errs), 0);
    ck_assert_int_eq(svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, "D:(A;;GA;;;NOSUCHSID)", "t", &errs), 0);
    ck_assert_int_eq(svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    /* Refused before Windows parses it (Wine would turn it into an empty DACL instead of a NULL one). */
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, "D:NO_ACCESS_CONTROL", "t", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 3);
    ck_assert_uint_eq(errs.kinds, 1u << SVC_V_SDDL);
    svc_config_free(&cfg);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("svc_win");
    TCase *tc;

    tc = tcase_create("filelog_rotation");
    tcase_add_test(tc, filelog_rotation);
    suite_add_tcase(s, tc);
    tc = tcase_create("filelog_bad_path");
    tcase_add_test(tc, filelog_bad_path);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry_missing_key");
    tcase_add_checked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_test(tc, registry_missing_key);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry_values");
    tcase_add_checked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_test(tc, registry_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("sddl_checks");
    tcase_add_test(tc, sddl_checks);
    suite_add_tcase(s, tc);
    return s;
}
