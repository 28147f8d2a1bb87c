/* test_svc_win.c — the service's Windows-only parts on their own: log file and its folder, registry loading, SDDL checks, the worker. */
#include "testsupport.h"

#include <windows.h>

#include "config_win.h"
#include "exitcodes.h"
#include "filelog.h"
#include "host.h"
#include "svclog.h"
#include "winutil.h"

#include <aclapi.h>
#include <sddl.h>

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
    ck_assert_uint_eq(ph__svc_filelog_open(path, 16384, NULL, &log, NULL, 0), 0);
    for (i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof(line), "line %04d of the rotation test, padded to a useful length....", i);
        ph__svc_filelog_write(log, line, (size_t)n);
        /* Never more than the bound in the current file. */
        ck_assert_int_le(file_size(path), 16384);
    }
    ph__svc_filelog_close(log);
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
    ck_assert_uint_ne(ph__svc_filelog_open(path, 16384, NULL, &log, NULL, 0), 0);
    ck_assert_ptr_null(log);
    DeleteFileW(file);
}
END_TEST

/* The registry loader on a Parameters key of a service that does not exist (only the key is used). */
static wchar_t g_service[80];

static void reg_teardown(void)
{
    wchar_t path[200];
    swprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls", g_service);
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, path);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
}

/* A key of this process's own: Wine reuses process ids at once, so the id alone may name the key of an
 * earlier process (left behind if it was killed); ph_test_pipe_name adds a counter and the clock, and any
 * leftover is removed first. */
static void reg_setup(void)
{
    char unique[80];
    ph_test_pipe_name(unique, sizeof(unique), "reg");
    swprintf(g_service, 80, L"%hs", unique);
    reg_teardown();
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
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), 0);
    ck_assert_int_eq(found, 0);
    ck_assert_uint_eq(errs.count, 0);
    ph__svc_config_free(&cfg);
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
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_int_eq(found, 1);
    ck_assert_uint_eq(cfg.max_message_bytes, 4096);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\regpipe");
    ck_assert_msg(cfg.log_file != NULL && strstr(cfg.log_file, "%") == NULL && strstr(cfg.log_file, "pipehost.log"),
                  "%s", cfg.log_file ? cfg.log_file : "(null)");
    ck_assert_uint_eq(errs.count, 4);
    ck_assert_uint_eq(errs.kinds, (1u << SVC_V_SDDL) | (1u << SVC_V_IDLE_TIMEOUT) | (1u << SVC_V_LOG_LEVEL) |
                                      (1u << SVC_V_PENDING));
    ph__svc_config_free(&cfg);

    /* Unterminated REG_SZ data is read whole; an embedded NUL is refused. */
    reg_teardown();
    reg_set(L"LogLevel", REG_SZ, unterminated, sizeof(unterminated));
    reg_set(L"PipeName", REG_SZ, nul_inside, sizeof(nul_inside));
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_msg(strstr(errs.text[0], "PipeName") && strstr(errs.text[0], "NUL"), "%s", errs.text[0]);
    ck_assert_int_eq(cfg.log_level, PH_LOG_DEBUG);
    ph__svc_config_free(&cfg);
}
END_TEST

/* An empty (Default) value (what `reg add KEY /f` leaves) is no setting; a (Default) with data is an error. */
START_TEST(registry_empty_default)
{
    svc_config cfg;
    svc_cfg_errors errs;
    int found = 0;

    reg_set(L"", REG_SZ, L"", sizeof(L""));
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), 0);
    ck_assert_uint_eq(errs.count, 0);
    ph__svc_config_free(&cfg);

    reg_set(L"", REG_SZ, L"x", sizeof(L"x"));
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_msg(errs.count == 1 && strstr(errs.text[0], "(Default)") != NULL, "%s", errs.text[0]);
    ph__svc_config_free(&cfg);
}
END_TEST

START_TEST(sddl_checks)
{
    svc_config cfg;
    svc_cfg_errors errs;

    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 255, "t", &errs), 0); /* unlimited: PH_SDDL_PIPE */
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0); /* the default */
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, PH_DEFAULT_SDDL, "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:(Z;;GA;;;SY)", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:(A;;GA;;;NOSUCHSID)", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    /* The core's checker: NULL DACL (in any case), empty DACL, rights to squat or take over the pipe. */
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:no_access_control", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[2], "NULL DACL") != NULL, "%s", errs.text[2]);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[3], "Sddl (check): given \"D:\", refused: the DACL is empty") != NULL, "%s", errs.text[3]);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:P(A;;GA;;;SY)(A;;GRGW;;;AU)", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[4], "FILE_CREATE_PIPE_INSTANCE") && strstr(errs.text[4], "S-1-5-11"), "%s",
                  errs.text[4]);
    ck_assert_uint_eq(errs.count, 5);
    ck_assert_uint_eq(errs.kinds, 1u << SVC_V_SDDL);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);

    /* Per-verb descriptors: only the AccessCheck rules (Everyone may be granted a verb). */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, PH_DEFAULT_SDDL, "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "STATUS", "D:(A;;GA;;;WD)", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "ECHO", "D:", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[0], "Verbs\\ECHO (check): given \"D:\", refused: the DACL is empty"), "%s", errs.text[0]);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    ph__svc_config_free(&cfg);
}
END_TEST

/* The pipe's SDDL follows the pool: with MaxInstances below 255 (a fixed pool, where nobody can add an
 * instance) a grant of FILE_CREATE_PIPE_INSTANCE to users is accepted (PH_SDDL_PIPE_FIXED); with 255 (unlimited)
 * it is refused, with a sentence naming MaxInstances and the rule; WRITE_DAC never. */
START_TEST(sddl_checks_follow_the_pool)
{
    static const char gw_to_users[] = "D:P(A;;GA;;;SY)(A;;GA;;;OW)(A;;GRGW;;;AU)";
    svc_config cfg;
    svc_cfg_errors errs;

    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, gw_to_users, "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 255, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_msg(strstr(errs.text[0], "invalid configuration value Sddl (with MaxInstances): given \"D:P(") != NULL &&
                      strstr(errs.text[0], "refused with MaxInstances 255 (an unlimited pool; a fixed pool is "
                                           "MaxInstances 1..254)") != NULL &&
                      strstr(errs.text[0], "FILE_CREATE_PIPE_INSTANCE") != NULL &&
                      strstr(errs.text[0], "S-1-5-11") != NULL &&
                      strstr(errs.text[0], "accepted only for a fixed pool") != NULL,
                  "%s", errs.text[0]);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);

    /* A fixed pool: accepted, at both ends of the range, the widened default's entry too. */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 254, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 1, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL,
                                           "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;0x12019f;;;AU)", "t",
                                           &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0);
    ck_assert_uint_eq(errs.count, 0);

    /* Changing the descriptor stays refused in a fixed pool, with the checker's own sentence. */
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:P(A;;GA;;;SY)(A;;GRGWWD;;;AU)", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[0], "Sddl (check)") != NULL && strstr(errs.text[0], "WRITE_DAC") != NULL &&
                      strstr(errs.text[0], "fixed pool") == NULL, "%s", errs.text[0]);
    /* An unlimited pool with a descriptor refused for other reasons too: the checker's sentence, not the pool's. */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 255, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[0], "Sddl (check)") != NULL, "%s", errs.text[0]);
    ph__svc_config_free(&cfg);
}
END_TEST

/* FirstRequestTimeoutMs and MaxConnectionsPerUser from the registry: REG_DWORD, ranges, and the list of names
 * an unknown value is told about. */
START_TEST(registry_new_limits)
{
    svc_config cfg;
    svc_cfg_errors errs;
    int found = 0;
    DWORD first = 2500, per_user = 0, never = 0xFFFFFFFFu, too_many = 256;

    reg_set(L"FirstRequestTimeoutMs", REG_DWORD, &first, sizeof(first));
    reg_set(L"MaxConnectionsPerUser", REG_DWORD, &per_user, sizeof(per_user));
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), 0);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 2500);
    ck_assert_uint_eq(cfg.max_connections_per_user, 0);
    ph__svc_config_free(&cfg);

    reg_set(L"FirstRequestTimeoutMs", REG_DWORD, &never, sizeof(never));
    reg_set(L"MaxConnectionsPerUser", REG_DWORD, &too_many, sizeof(too_many));
    reg_set(L"MaxConnectionPerUser", REG_DWORD, &per_user, sizeof(per_user)); /* a typo */
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 0xFFFFFFFFu);
    ck_assert_uint_eq(cfg.max_connections_per_user, 64);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_msg(strstr(errs.text[0], "MaxConnectionPerUser") != NULL || strstr(errs.text[1], "MaxConnectionPerUser"),
                  "%s | %s", errs.text[0], errs.text[1]);
    ck_assert_msg((strstr(errs.text[0], "accepted names are") && strstr(errs.text[0], "FirstRequestTimeoutMs, "
                                                                                       "MaxConnectionsPerUser")) ||
                      (strstr(errs.text[1], "accepted names are") &&
                       strstr(errs.text[1], "FirstRequestTimeoutMs, MaxConnectionsPerUser")),
                  "%s | %s", errs.text[0], errs.text[1]);
    ck_assert_msg(strstr(errs.text[0], "MaxConnectionsPerUser (registry): accepted range 0..255, given 256") ||
                      strstr(errs.text[1], "MaxConnectionsPerUser (registry): accepted range 0..255, given 256"),
                  "%s | %s", errs.text[0], errs.text[1]);
    ph__svc_config_free(&cfg);
}
END_TEST

static void verb_set(const wchar_t *name, DWORD type, const wchar_t *text)
{
    wchar_t path[200];
    HKEY key;
    swprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters\\Verbs", g_service);
    ck_assert_int_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL), 0);
    ck_assert_int_eq(RegSetValueExW(key, name, 0, type, (const BYTE *)text, (DWORD)((wcslen(text) + 1) * sizeof(wchar_t))),
                     0);
    RegCloseKey(key);
}

/* Parameters\Verbs: REG_SZ values named after verbs; other types refused as security errors. */
START_TEST(registry_verbs)
{
    svc_config cfg;
    svc_cfg_errors errs;
    int found = 0;
    DWORD v = 4096;

    reg_set(L"MaxMessageBytes", REG_DWORD, &v, sizeof(v));
    verb_set(L"ECHO", REG_SZ, L"D:(A;;GA;;;BA)");
    verb_set(L"Status", REG_SZ, L"D:(A;;GX;;;WD)");
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), 0);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(cfg.verb_sddl_count, 2);
    ck_assert_int_eq(ph__svc_config_check_sddl(&cfg, &errs), 0);
    ph__svc_config_free(&cfg);

    verb_set(L"PING", REG_EXPAND_SZ, L"D:(A;;GA;;;BA)");
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, "pipehost");
    ck_assert_int_eq(ph__svc_config_load_registry(g_service, &cfg, &errs, &found), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_msg(strstr(errs.text[0], "Verbs\\PING (registry): accepted type REG_SZ, given REG_EXPAND_SZ"), "%s",
                  errs.text[0]);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    ph__svc_config_free(&cfg);
}
END_TEST

/* --- the default log folder: used only if nobody else can write to it -------------------------------------- */

static wchar_t g_logdir[MAX_PATH];

static void logdir_setup(void)
{
    wchar_t tmp[MAX_PATH];
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_logdir, MAX_PATH, L"%lsphsvc-logdir-%lu", tmp, (unsigned long)GetCurrentProcessId());
    CreateDirectoryW(g_logdir, NULL);
}

static void logdir_teardown(void)
{
    WIN32_FIND_DATAW fd;
    wchar_t pattern[MAX_PATH], p[MAX_PATH];
    HANDLE f;

    swprintf(pattern, MAX_PATH, L"%ls\\*", g_logdir);
    f = FindFirstFileW(pattern, &fd);
    while (f != INVALID_HANDLE_VALUE) {
        if (wcscmp(fd.cFileName, L".") != 0 && wcscmp(fd.cFileName, L"..") != 0) {
            wchar_t inner[MAX_PATH];
            swprintf(p, MAX_PATH, L"%ls\\%ls", g_logdir, fd.cFileName);
            swprintf(inner, MAX_PATH, L"%ls\\x.log", p);
            DeleteFileW(inner);
            if (!RemoveDirectoryW(p))
                DeleteFileW(p);
        }
        if (!FindNextFileW(f, &fd)) {
            FindClose(f);
            break;
        }
    }
    RemoveDirectoryW(g_logdir);
}

/* Makes sub (in g_logdir) and gives it the descriptor the way a user would (SetNamedSecurityInfoW after
 * creation), then reads back what the code will read. Wine 8 keeps no file DACL: it reports one made from
 * the unix mode (SYSTEM and the owner full, Everyone read, or write once any grant to Everyone asked for it)
 * and never changes the owner. Returns 1 when the descriptor read back shows what the test is about: an
 * owner equal to want_owner if given, and an allow entry for want_sid including a bit of want_bits if given. */
static int make_dir(const wchar_t *sub, const char *sddl, wchar_t *dir, const char *want_owner, const char *want_sid,
                    DWORD want_bits)
{
    PSECURITY_DESCRIPTOR sd = NULL, back = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL, dacl_back = NULL;
    PSID owner = NULL, owner_back = NULL;
    SECURITY_INFORMATION what = DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION;
    LPSTR text = NULL;
    int ok = 1;
    WORD i;

    swprintf(dir, MAX_PATH, L"%ls\\%ls", g_logdir, sub);
    ck_assert_msg(CreateDirectoryW(dir, NULL), "CreateDirectoryW: %lu", GetLastError());
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL));
    ck_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    ck_assert(GetSecurityDescriptorOwner(sd, &owner, &defaulted));
    if (owner != NULL)
        what |= OWNER_SECURITY_INFORMATION;
    /* The result is judged by what is read back, not by this call (Wine may report success and keep less). */
    SetNamedSecurityInfoW(dir, SE_FILE_OBJECT, what, owner, NULL, dacl, NULL);
    ck_assert_uint_eq(GetNamedSecurityInfoW(dir, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                            &owner_back, NULL, &dacl_back, NULL, &back), 0);
    ConvertSecurityDescriptorToStringSecurityDescriptorA(back, SDDL_REVISION_1,
                                                         OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text,
                                                         NULL);
    printf("%ls: asked for %s, reads back as %s\n", sub, sddl, text ? text : "?");
    if (want_owner != NULL) {
        LPSTR o = NULL;
        ok = owner_back != NULL && ConvertSidToStringSidA(owner_back, &o) && strcmp(o, want_owner) == 0;
        LocalFree(o);
    }
    if (ok && want_sid != NULL) {
        ok = 0;
        for (i = 0; dacl_back != NULL && i < dacl_back->AceCount && !ok; i++) {
            ACCESS_ALLOWED_ACE *ace = NULL;
            LPSTR sid = NULL;
            if (GetAce(dacl_back, i, (void **)&ace) && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
                ConvertSidToStringSidA((PSID)&ace->SidStart, &sid))
                ok = strcmp(sid, want_sid) == 0 && (ace->Mask & want_bits) != 0;
            LocalFree(sid);
        }
    }
    LocalFree(text);
    LocalFree(back);
    LocalFree(sd);
    return ok;
}

static DWORD open_in(const wchar_t *dir, char *why, size_t why_size)
{
    wchar_t path[MAX_PATH];
    svc_filelog *log = NULL;
    DWORD err;

    swprintf(path, MAX_PATH, L"%ls\\x.log", dir);
    err = ph__svc_filelog_open(path, 16384, SVC_LOG_DIR_SDDL, &log, why, why_size);
    if (err == 0) {
        ph__svc_filelog_write(log, "hello", 5);
        ph__svc_filelog_close(log);
        ck_assert(GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES);
    } else {
        ck_assert_ptr_null(log);
        /* Refused before anything was created in the folder. */
        ck_assert_msg(GetFileAttributesW(path) == INVALID_FILE_ATTRIBUTES, "a log file was created in a refused folder");
    }
    return err;
}

START_TEST(log_folder_created_or_safe)
{
    wchar_t dir[MAX_PATH];
    char why[400];

    /* Missing: created with our descriptor, then checked like any other. */
    swprintf(dir, MAX_PATH, L"%ls\\fresh", g_logdir);
    ck_assert_msg(open_in(dir, why, sizeof(why)) == 0, "a folder we created was refused: %s", why);
    /* Made beforehand but safe: SYSTEM and Administrators write, users read. */
    make_dir(L"safe", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)(A;OICIIO;GA;;;CO)", dir, NULL, NULL, 0);
    ck_assert_msg(open_in(dir, why, sizeof(why)) == 0, "a safe folder was refused: %s", why);
}
END_TEST

START_TEST(log_folder_everyone_writable_refused)
{
    wchar_t dir[MAX_PATH];
    char why[400];

    if (!make_dir(L"everyone", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;WD)", dir, NULL, "S-1-1-0", FILE_ADD_FILE))
        ph_test_skip("the folder's DACL does not read back as writable by Everyone");
    ck_assert_uint_eq(open_in(dir, why, sizeof(why)), ERROR_INVALID_ACL);
    ck_assert_msg(strstr(why, "lets S-1-1-0 write to it"), "%s", why);
}
END_TEST

START_TEST(log_folder_users_writable_refused)
{
    wchar_t dir[MAX_PATH];
    char why[400];

    /* What ProgramData itself grants Users: create files and folders (the way the attack starts). */
    if (!make_dir(L"users", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;CI;0x6;;;BU)", dir, NULL, "S-1-5-32-545", 0x6))
        ph_test_skip("this system keeps no file DACL (Wine 8 reports one made from the unix mode): a grant to "
                     "Users cannot be set up; shown on Windows only");
    ck_assert_uint_eq(open_in(dir, why, sizeof(why)), ERROR_INVALID_ACL);
    ck_assert_msg(strstr(why, "lets S-1-5-32-545 write to it") != NULL, "%s", why);
    /* Files in it writable by Authenticated Users through an inherited entry. */
    ck_assert(make_dir(L"inherit", "D:P(A;OICI;FA;;;SY)(A;OICIIO;FW;;;AU)", dir, NULL, "S-1-5-11", FILE_WRITE_DATA));
    ck_assert_uint_eq(open_in(dir, why, sizeof(why)), ERROR_INVALID_ACL);
}
END_TEST

START_TEST(log_folder_other_owner_refused)
{
    wchar_t dir[MAX_PATH];
    char why[400];

    /* An owner may rewrite the DACL whatever it says: a folder owned by another user is refused. */
    if (!make_dir(L"owned", "O:S-1-5-21-1-2-3-4D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", dir, "S-1-5-21-1-2-3-4", NULL, 0))
        ph_test_skip("the owner of a folder cannot be set to another user's SID here (Wine 8 never changes it); "
                     "shown on Windows only");
    ck_assert_uint_eq(open_in(dir, why, sizeof(why)), ERROR_INVALID_OWNER);
    ck_assert_msg(strstr(why, "owned by S-1-5-21-1-2-3-4") != NULL, "%s", why);
}
END_TEST

START_TEST(log_folder_link_refused)
{
    wchar_t dir[MAX_PATH], target[MAX_PATH];
    char why[400];
    DWORD attrs;

    /* A symbolic link (or junction) in place of the folder would send our files wherever it points. */
    make_dir(L"target", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", target, NULL, NULL, 0);
    swprintf(dir, MAX_PATH, L"%ls\\link", g_logdir);
    if (!CreateSymbolicLinkW(dir, target, SYMBOLIC_LINK_FLAG_DIRECTORY))
        ph_test_skip("directory symbolic links cannot be created here");
    attrs = GetFileAttributesW(dir);
    if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_REPARSE_POINT))
        ph_test_skip("this system does not report the directory link as a reparse point; shown on Windows only");
    ck_assert_uint_eq(open_in(dir, why, sizeof(why)), ERROR_CANT_ACCESS_FILE);
    ck_assert_msg(strstr(why, "junction or symbolic link") != NULL, "%s", why);
}
END_TEST

/* --- any log file (the default or a LogFile): held folders, created folders, rotation on the open file ----- */

/* While the log is open, neither its folder nor any folder above it can be renamed or deleted (they are held
 * without FILE_SHARE_DELETE), so nobody can swap a junction in under the service. */
START_TEST(log_folder_chain_held)
{
    wchar_t dir[MAX_PATH], path[MAX_PATH], moved[MAX_PATH], logdir_moved[MAX_PATH];
    svc_filelog *log = NULL;
    char why[700];
    DWORD err;
    BOOL ok;

    swprintf(dir, MAX_PATH, L"%ls\\held", g_logdir);
    swprintf(path, MAX_PATH, L"%ls\\x.log", dir);
    swprintf(moved, MAX_PATH, L"%ls\\held-moved", g_logdir);
    swprintf(logdir_moved, MAX_PATH, L"%ls-moved", g_logdir);
    ck_assert_msg(ph__svc_filelog_open(path, 16384, NULL, &log, why, sizeof(why)) == 0, "%s", why);
    ph__svc_filelog_write(log, "hello", 5);
    ok = MoveFileW(dir, moved);
    err = GetLastError();
    ck_assert_msg(!ok, "the log's folder was renamed while the log was open");
    ck_assert_msg(err == ERROR_SHARING_VIOLATION || err == ERROR_ACCESS_DENIED, "MoveFileW: %lu", err);
    ck_assert_msg(!MoveFileW(g_logdir, logdir_moved), "a folder above the log's was renamed while the log was open");
    ck_assert_msg(!RemoveDirectoryW(dir), "the log's folder was removed while the log was open");
    ph__svc_filelog_close(log);
    /* Released at close. */
    ck_assert_msg(MoveFileW(dir, moved), "MoveFileW after close: %lu", GetLastError());
    MoveFileW(moved, dir);
}
END_TEST

/* Whether ReOpenFile, on a file renamed since it was opened, opens whatever now has the former name (Wine 8)
 * rather than the same file (Windows). */
static int reopen_follows_name(const wchar_t *dir)
{
    wchar_t a[MAX_PATH], b[MAX_PATH];
    BY_HANDLE_FILE_INFORMATION x, y;
    HANDLE h, other, r;
    int follows = 1;

    swprintf(a, MAX_PATH, L"%ls\\probe-a", dir);
    swprintf(b, MAX_PATH, L"%ls\\probe-b", dir);
    h = CreateFileW(a, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_ALWAYS, 0, NULL);
    ck_assert(h != INVALID_HANDLE_VALUE);
    ck_assert(MoveFileW(a, b));
    other = CreateFileW(a, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_ALWAYS, 0,
                        NULL);
    r = ReOpenFile(h, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
    if (r != INVALID_HANDLE_VALUE && GetFileInformationByHandle(h, &x) && GetFileInformationByHandle(r, &y))
        follows = x.nFileIndexLow != y.nFileIndexLow || x.nFileIndexHigh != y.nFileIndexHigh;
    if (r != INVALID_HANDLE_VALUE)
        CloseHandle(r);
    if (other != INVALID_HANDLE_VALUE)
        CloseHandle(other);
    CloseHandle(h);
    DeleteFileW(a);
    DeleteFileW(b);
    return follows;
}

/* Rotation renames the file being written (through its handle), not whatever carries its name by then: a
 * decoy put in its place is not what becomes NAME.1. */
START_TEST(log_rotation_on_the_open_file)
{
    wchar_t dir[MAX_PATH], path[MAX_PATH], aside[MAX_PATH], rotated[MAX_PATH];
    svc_filelog *log = NULL;
    char why[700], line[100], buf[20000];
    HANDLE h;
    DWORD got = 0;
    int i, n;

    swprintf(dir, MAX_PATH, L"%ls\\rot", g_logdir);
    swprintf(path, MAX_PATH, L"%ls\\x.log", dir);
    swprintf(aside, MAX_PATH, L"%ls\\aside.log", dir);
    swprintf(rotated, MAX_PATH, L"%ls.1", path);
    ck_assert_msg(ph__svc_filelog_open(path, 16384, NULL, &log, why, sizeof(why)) == 0, "%s", why);
    n = snprintf(line, sizeof(line), "first line, written before the swap");
    ph__svc_filelog_write(log, line, (size_t)n);
    /* Someone with the right to (an administrator here) renames the file and puts another in its place. */
    ck_assert_msg(MoveFileW(path, aside), "MoveFileW: %lu", GetLastError());
    h = CreateFileW(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_NEW, 0,
                    NULL);
    ck_assert(h != INVALID_HANDLE_VALUE);
    ck_assert(WriteFile(h, "DECOY\r\n", 7, &got, NULL));
    CloseHandle(h);
    for (i = 0; i < 400; i++) {
        n = snprintf(line, sizeof(line), "line %04d of the rotation test, padded to a useful length....", i);
        ph__svc_filelog_write(log, line, (size_t)n);
    }
    ph__svc_filelog_close(log);
    got = 0;
    h = CreateFileW(rotated, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    0, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        ck_assert(ReadFile(h, buf, sizeof(buf) - 1, &got, NULL));
        CloseHandle(h);
    }
    buf[got] = '\0';
    ck_assert_msg(strstr(buf, "DECOY") == NULL, "the decoy was rotated: %.200s", buf);
    if (reopen_follows_name(dir)) {
        DeleteFileW(rotated);
        DeleteFileW(path);
        ph_test_skip("ReOpenFile here reopens a renamed file's former name (Wine 8), so the service declines to "
                     "rotate through it (the decoy was not moved); rotating the renamed file is shown on Windows only");
    }
    ck_assert_msg(strstr(buf, "first line, written before the swap") != NULL, "NAME.1 is not the file we wrote: %.200s",
                  buf);
    ck_assert_msg(GetFileAttributesW(aside) == INVALID_FILE_ATTRIBUTES, "the written file was not the one rotated");
    DeleteFileW(rotated);
    DeleteFileW(path);
}
END_TEST

/* Folders the service creates on the way get a protected DACL (nothing inherited from a parent users may
 * write) and pass the check; so does a LogFile's existing folder that only the service's account writes. */
START_TEST(log_created_folders_protected)
{
    wchar_t dir[MAX_PATH], path[MAX_PATH];
    svc_filelog *log = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD rev = 0;
    char why[700];
    int i;

    swprintf(path, MAX_PATH, L"%ls\\a\\b\\x.log", g_logdir);
    ck_assert_msg(ph__svc_filelog_open(path, 16384, NULL, &log, why, sizeof(why)) == 0, "%s", why);
    ph__svc_filelog_close(log);
    for (i = 0; i < 2; i++) {
        swprintf(dir, MAX_PATH, i == 0 ? L"%ls\\a" : L"%ls\\a\\b", g_logdir);
        ck_assert_uint_eq(ph__svc_filelog_check_dir(dir, why, sizeof(why)), 0);
        ck_assert_uint_eq(GetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                                                &sd), 0);
        ck_assert(GetSecurityDescriptorControl(sd, &control, &rev));
        LocalFree(sd);
        sd = NULL;
        if (!(control & SE_DACL_PROTECTED) && ph_test_on_wine()) {
            DeleteFileW(path);
            swprintf(dir, MAX_PATH, L"%ls\\a\\b", g_logdir);
            RemoveDirectoryW(dir);
            ph_test_skip("this system keeps no file DACL (Wine 8 reports one made from the unix mode): the created "
                         "folders' protected DACL is shown on Windows only");
        }
        ck_assert_msg(control & SE_DACL_PROTECTED, "folder %d's DACL is not protected", i);
    }
    DeleteFileW(path);
    swprintf(dir, MAX_PATH, L"%ls\\a\\b", g_logdir);
    RemoveDirectoryW(dir);
}
END_TEST

/* A log file with a second name (a hard link someone who may add files to the folder planted) is refused: our
 * lines would go into the file the other name belongs to. */
START_TEST(log_file_hard_link_refused)
{
    wchar_t dir[MAX_PATH], path[MAX_PATH], other[MAX_PATH];
    svc_filelog *log = NULL;
    char why[700];
    HANDLE h;

    swprintf(dir, MAX_PATH, L"%ls\\linked", g_logdir);
    ck_assert(CreateDirectoryW(dir, NULL));
    swprintf(other, MAX_PATH, L"%ls\\precious.dat", g_logdir);
    swprintf(path, MAX_PATH, L"%ls\\x.log", dir);
    h = CreateFileW(other, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    ck_assert(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
    if (!CreateHardLinkW(path, other, NULL)) {
        DeleteFileW(other);
        ph_test_skip("hard links cannot be created here");
    }
    ck_assert_uint_eq(ph__svc_filelog_open(path, 16384, NULL, &log, why, sizeof(why)), ERROR_CANT_ACCESS_FILE);
    ck_assert_ptr_null(log);
    ck_assert_msg(strstr(why, "hard links") != NULL, "%s", why);
    DeleteFileW(path);
    DeleteFileW(other);
}
END_TEST

/* Whatever the configuration lets through, the log itself takes local drive paths only. */
START_TEST(log_path_forms_refused)
{
    static const wchar_t *const bad[] = {L"\\\\.\\pipe\\phsvc-log", L"\\\\?\\C:\\x.log", L"\\\\server\\share\\x.log",
                                         L"relative\\x.log", L"C:x.log"};
    svc_filelog *log = NULL;
    char why[700];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ph__svc_filelog_open(bad[i], 16384, NULL, &log, why, sizeof(why)) == ERROR_BAD_PATHNAME, "%ls",
                      bad[i]);
        ck_assert_ptr_null(log);
        ck_assert_msg(strstr(why, "local drive") != NULL, "%s", why);
    }
}
END_TEST

/* A link anywhere on the way (not only the last folder) is refused. */
START_TEST(log_link_on_the_way_refused)
{
    wchar_t link[MAX_PATH], target[MAX_PATH], path[MAX_PATH];
    svc_filelog *log = NULL;
    char why[700];
    DWORD attrs;

    make_dir(L"target", "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", target, NULL, NULL, 0);
    swprintf(link, MAX_PATH, L"%ls\\link", g_logdir);
    if (!CreateSymbolicLinkW(link, target, SYMBOLIC_LINK_FLAG_DIRECTORY))
        ph_test_skip("directory symbolic links cannot be created here");
    attrs = GetFileAttributesW(link);
    if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_REPARSE_POINT))
        ph_test_skip("this system does not report the directory link as a reparse point; shown on Windows only");
    swprintf(path, MAX_PATH, L"%ls\\sub\\x.log", link);
    ck_assert_uint_eq(ph__svc_filelog_open(path, 16384, NULL, &log, why, sizeof(why)), ERROR_CANT_ACCESS_FILE);
    ck_assert_msg(strstr(why, "junction, symbolic link or mount point") != NULL, "%s", why);
}
END_TEST

/* --- the core's lines are rate-limited per user and kind (service/lograte.c) ------------------------------- */

static size_t count_in(const char *text, const char *needle)
{
    size_t n = 0;
    const char *p = text;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

/* A user refused 2,000 times in a row: the file gets the first lines of the flood and a summary with the
 * count, not 2,000 lines; another user's refusal and the service's own lines still get in. */
START_TEST(core_lines_rate_limited)
{
    wchar_t path[MAX_PATH];
    svc_log log;
    char line[200], why[700];
    static char buf[200000];
    HANDLE h;
    DWORD got = 0;
    int i;

    swprintf(path, MAX_PATH, L"%ls\\flood\\x.log", g_logdir);
    ph__svc_log_init(&log, PH_LOG_INFO);
    ck_assert_msg(ph__svc_filelog_open(path, 1u << 20, NULL, &log.file, why, sizeof(why)) == 0, "%s", why);
    for (i = 0; i < 2000; i++) {
        snprintf(line, sizeof(line), "connection %d: PING forbidden for user S-1-5-21-9-9-9-666 (pid 77): not granted "
                 "by the verb's security descriptor", i + 1);
        ph__svc_log_core(&log, PH_LOG_WARN, line);
    }
    ph__svc_log_core(&log, PH_LOG_WARN, "connection 9999: PING forbidden for user S-1-5-21-1-2-3-1001 (pid 78): not "
                 "granted by the verb's security descriptor");
    ph__svc_log_msg(&log, PH_LOG_INFO, "the service's own line");
    ph__svc_log_close(&log);
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0,
                    NULL);
    ck_assert(h != INVALID_HANDLE_VALUE);
    ck_assert(ReadFile(h, buf, sizeof(buf) - 1, &got, NULL));
    CloseHandle(h);
    buf[got] = '\0';
    ck_assert_uint_eq(count_in(buf, "user S-1-5-21-9-9-9-666 (pid"), SVC_LOGRATE_BURST);
    ck_assert_msg(strstr(buf, "1990 similar lines suppressed (user S-1-5-21-9-9-9-666)") != NULL, "%.3000s", buf);
    ck_assert_uint_eq(count_in(buf, "user S-1-5-21-1-2-3-1001 (pid"), 1);
    ck_assert_uint_eq(count_in(buf, "the service's own line"), 1);
    DeleteFileW(path);
}
END_TEST

/* --- the worker: an end without a stop request is a fault --------------------------------------------------- */

START_TEST(worker_end_without_stop_is_a_fault)
{
    static const ph_service_app app = {.program = "pipehost", .default_pipe = "pipehost"};
    svc_config cfg;
    svc_log log;
    svc_host h;
    char name[128];
    HANDLE waits[2];

    ph_test_pipe_name(name, sizeof(name), "worker-end");
    ph__svc_config_init(&cfg, name);
    ph__svc_log_init(&log, PH_LOG_INFO);
    log.console = 1;
    ck_assert_uint_eq(ph__svc_host_init(&h, &cfg, &log, &app), 0);
    /* The only way the worker ends by itself: its wait fails. An invalid handle makes it fail at once. */
    CloseHandle(h.reload);
    h.reload = (HANDLE)(ULONG_PTR)0x7ff0;
    ck_assert_uint_eq(ph__svc_host_launch(&h), 0);
    waits[0] = h.ready;
    waits[1] = h.thread;
    ck_assert_uint_ne(WaitForMultipleObjects(2, waits, FALSE, 30000), WAIT_TIMEOUT);
    ck_assert_int_eq(h.exit_code, PH_EXIT_OK); /* the server had started */
    ck_assert_int_eq(ph__svc_host_wait_stop(&h), 0);
    ck_assert_uint_eq(WaitForSingleObject(h.thread, 30000), WAIT_OBJECT_0);
    ck_assert_int_eq(ph__svc_host_exit_code(&h, 0), PH_EXIT_WORKER_ENDED);
    /* The same host, had the stop been requested, would have exited 0; a failed start keeps its code. */
    ck_assert_int_eq(ph__svc_host_exit_code(&h, 1), PH_EXIT_OK);
    h.exit_code = PH_EXIT_PIPE_IN_USE;
    ck_assert_int_eq(ph__svc_host_exit_code(&h, 0), PH_EXIT_PIPE_IN_USE);
    h.reload = NULL;
    ph__svc_host_close(&h);
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
    tc = tcase_create("registry_empty_default");
    tcase_add_checked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_test(tc, registry_empty_default);
    suite_add_tcase(s, tc);
    tc = tcase_create("sddl_checks");
    tcase_add_test(tc, sddl_checks);
    suite_add_tcase(s, tc);
    tc = tcase_create("sddl_checks_follow_the_pool");
    tcase_add_test(tc, sddl_checks_follow_the_pool);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry_new_limits");
    tcase_add_checked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_test(tc, registry_new_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry_verbs");
    tcase_add_checked_fixture(tc, reg_setup, reg_teardown);
    tcase_add_test(tc, registry_verbs);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_folder_created_or_safe");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_folder_created_or_safe);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_folder_everyone_writable_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_folder_everyone_writable_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_folder_users_writable_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_folder_users_writable_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_folder_other_owner_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_folder_other_owner_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_folder_link_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_folder_link_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_folder_chain_held");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_folder_chain_held);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_rotation_on_the_open_file");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_rotation_on_the_open_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_created_folders_protected");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_created_folders_protected);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_path_forms_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_path_forms_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_link_on_the_way_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_link_on_the_way_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_file_hard_link_refused");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, log_file_hard_link_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("core_lines_rate_limited");
    tcase_add_checked_fixture(tc, logdir_setup, logdir_teardown);
    tcase_add_test(tc, core_lines_rate_limited);
    suite_add_tcase(s, tc);
    tc = tcase_create("worker_end_without_stop_is_a_fault");
    tcase_add_test(tc, worker_end_without_stop_is_a_fault);
    suite_add_tcase(s, tc);
    return s;
}
