/* logdir.c — service SIDs, and the log folder the installer prepares: owner SYSTEM, no write for ordinary users. */
#include "admin.h"
#include "appstate.h"

#include "filelog.h"

#include <aclapi.h>
#include <knownfolders.h>
#include <sddl.h>
#include <shlobj.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE: "Modify" in the Explorer's terms,
 * given to a service SID on the files only (inherit-only). */
#define LOG_DIR_MODIFY 0x001301BFu
/* FILE_GENERIC_READ | FILE_GENERIC_EXECUTE | FILE_ADD_FILE: on the folder itself a service may list it and
 * create its files, but not delete, rename or re-ACL it, nor make subfolders: the folder is shared, and a
 * lower-privileged pipehost-based service must not be able to replace it under a LocalSystem one. */
#define LOG_DIR_SERVICE_FOLDER 0x001200ABu

DWORD ph__svc_admin_service_sid(const wchar_t *service, wchar_t *out, size_t size)
{
    HCRYPTPROV prov = 0;
    HCRYPTHASH hash = 0;
    BYTE digest[20];
    DWORD len = sizeof(digest), err = 0, sub[5];
    size_t n = wcslen(service), i;
    wchar_t *upper = malloc((n + 1) * sizeof(wchar_t));
    BYTE *bytes = malloc(n * 2 + 1);

    if (upper == NULL || bytes == NULL) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    memcpy(upper, service, (n + 1) * sizeof(wchar_t));
    CharUpperBuffW(upper, (DWORD)n);
    /* The hash is over UTF-16LE code units, whatever the host's byte order. */
    for (i = 0; i < n; i++) {
        bytes[2 * i] = (BYTE)(upper[i] & 0xFF);
        bytes[2 * i + 1] = (BYTE)((upper[i] >> 8) & 0xFF);
    }
    if (!CryptAcquireContextW(&prov, NULL, NULL, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT) ||
        !CryptCreateHash(prov, CALG_SHA1, 0, 0, &hash) || !CryptHashData(hash, bytes, (DWORD)(n * 2), 0) ||
        !CryptGetHashParam(hash, HP_HASHVAL, digest, &len, 0) || len != sizeof(digest)) {
        err = GetLastError();
        if (err == 0)
            err = ERROR_INVALID_DATA;
        goto out;
    }
    for (i = 0; i < 5; i++)
        sub[i] = (DWORD)digest[4 * i] | (DWORD)digest[4 * i + 1] << 8 | (DWORD)digest[4 * i + 2] << 16 |
                 (DWORD)digest[4 * i + 3] << 24;
    if (swprintf(out, size, L"S-1-5-80-%lu-%lu-%lu-%lu-%lu", (unsigned long)sub[0], (unsigned long)sub[1],
                 (unsigned long)sub[2], (unsigned long)sub[3], (unsigned long)sub[4]) < 0)
        err = ERROR_INSUFFICIENT_BUFFER;
out:
    if (hash)
        CryptDestroyHash(hash);
    if (prov)
        CryptReleaseContext(prov, 0);
    free(upper);
    free(bytes);
    return err;
}

/* Setting another principal (SYSTEM) as owner needs SeRestorePrivilege, which elevated administrators hold
 * but have disabled. Best effort: without it SetNamedSecurityInfoW reports the real problem. */
static void enable_restore_privilege(void)
{
    HANDLE token = NULL;
    TOKEN_PRIVILEGES tp;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
        return;
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (LookupPrivilegeValueW(NULL, L"SeRestorePrivilege", &tp.Privileges[0].Luid))
        AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL);
    CloseHandle(token);
}

/* Appends the two ACEs of a service SID: the folder itself, and its files. */
static void add_service_aces(wchar_t *sddl, size_t size, const wchar_t *sid)
{
    size_t used = wcslen(sddl);

    if (used + wcslen(sid) * 2 + 48 < size && wcsstr(sddl, sid) == NULL)
        swprintf(sddl + used, size - used, L"(A;;0x%lx;;;%ls)(A;OIIO;0x%lx;;;%ls)", (unsigned long)LOG_DIR_SERVICE_FOLDER,
                 sid, (unsigned long)LOG_DIR_MODIFY, sid);
}

/* Appends the ACEs of every service SID (S-1-5-80-…) with an allow ACE in old, except want: the services that
 * share the folder keep their access (in today's form, whatever form it had). */
static void keep_service_aces(PACL old, const wchar_t *want, wchar_t *sddl, size_t size)
{
    ACL_SIZE_INFORMATION info;
    DWORD i;

    if (old == NULL || !GetAclInformation(old, &info, sizeof(info), AclSizeInformation))
        return;
    for (i = 0; i < info.AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        wchar_t *text = NULL;
        if (!GetAce(old, i, (LPVOID *)&ace) || ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        if (!ConvertSidToStringSidW((PSID)&ace->SidStart, &text))
            continue;
        if (wcsncmp(text, L"S-1-5-80-", 9) == 0 && (want == NULL || _wcsicmp(text, want) != 0))
            add_service_aces(sddl, size, text);
        LocalFree(text);
    }
}

DWORD ph__svc_admin_log_dir_sddl(const wchar_t *service_sid, PACL old_dacl, wchar_t *sddl, size_t size)
{
    if (swprintf(sddl, size, L"O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)") < 0)
        return ERROR_INSUFFICIENT_BUFFER;
    if (service_sid != NULL) {
        size_t before = wcslen(sddl);
        add_service_aces(sddl, size, service_sid);
        if (wcslen(sddl) == before)
            return ERROR_INSUFFICIENT_BUFFER;
    }
    keep_service_aces(old_dacl, service_sid, sddl, size);
    return 0;
}

/* A fresh folder with the descriptor of sddl. */
static DWORD create_fresh(const wchar_t *path, const wchar_t *sddl)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = 0;

    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL))
        return GetLastError();
    sa.lpSecurityDescriptor = sd;
    if (!CreateDirectoryW(path, &sa))
        err = GetLastError();
    LocalFree(sd);
    return err;
}

/* Moves the folder open as h aside, into base, as <log folder>.foreign-<UTC time>-<pid>: by its handle, so what
 * moves is what was checked, and a link is moved itself, never its target. */
static DWORD move_aside(HANDLE h, const wchar_t *base, wchar_t *moved, size_t moved_size)
{
    SYSTEMTIME t;
    wchar_t name[MAX_PATH];
    HANDLE del, parent;
    DWORD err;

    GetSystemTime(&t);
    swprintf(name, sizeof(name) / sizeof(name[0]), L"%ls.foreign-%04u%02u%02uT%02u%02u%02uZ-%lu", ph__svc_log_folder(), t.wYear,
             t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, (unsigned long)GetCurrentProcessId());
    del = ReOpenFile(h, DELETE | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                     FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT);
    if (del == INVALID_HANDLE_VALUE)
        return GetLastError();
    parent = CreateFileW(base, FILE_TRAVERSE | FILE_ADD_SUBDIRECTORY | SYNCHRONIZE,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (parent == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        CloseHandle(del);
        return err;
    }
    err = ph__svc_rename_by_handle(del, parent, name, 0);
    CloseHandle(parent);
    CloseHandle(del);
    if (err == 0)
        swprintf(moved, moved_size, L"%ls\\%ls", base, name);
    return err;
}

DWORD ph__svc_admin_prepare_log_dir(const wchar_t *service_sid, wchar_t *path, size_t size, int *created, wchar_t *moved,
                                size_t moved_size, char *why, size_t why_size)
{
    PWSTR base = NULL;
    PSECURITY_DESCRIPTOR old_sd = NULL, sd = NULL;
    PACL old_dacl = NULL, dacl = NULL;
    PSID owner = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    wchar_t sddl[4096], wbase[MAX_PATH];
    HRESULT hr;
    HANDLE h;
    DWORD err = 0;

    *created = 0;
    moved[0] = L'\0';
    if (why_size > 0)
        why[0] = '\0';
    /* The known folder, not %ProgramData%: the service reads the same one (service/winutil.c). */
    hr = SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base);
    if (FAILED(hr)) {
        CoTaskMemFree(base);
        return HRESULT_FACILITY(hr) == FACILITY_WIN32 ? (DWORD)HRESULT_CODE(hr) : ERROR_PATH_NOT_FOUND;
    }
    if (swprintf(path, size, L"%ls\\%ls", base, ph__svc_log_folder()) < 0 ||
        swprintf(wbase, sizeof(wbase) / sizeof(wbase[0]), L"%ls", base) < 0) {
        CoTaskMemFree(base);
        return ERROR_INSUFFICIENT_BUFFER;
    }
    CoTaskMemFree(base);
    enable_restore_privilege();

    /* The folder itself (a junction or symbolic link is opened as such, never followed), one handle for the
     * check and for what follows it. FILE_SHARE_DELETE: running services hold it, and whatever renames it
     * meanwhile, the handle still names what was checked. */
    h = CreateFileW(path, READ_CONTROL | WRITE_DAC | WRITE_OWNER | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        if (err != ERROR_FILE_NOT_FOUND && err != ERROR_PATH_NOT_FOUND)
            return err;
        err = ph__svc_admin_log_dir_sddl(service_sid, NULL, sddl, sizeof(sddl) / sizeof(sddl[0]));
        if (err == 0)
            err = create_fresh(path, sddl);
        /* Made by someone else between our look and our create: refused rather than trusted. */
        *created = err == 0;
        return err;
    }
    if (ph__svc_filelog_check_dir_handle(h, why, why_size) != 0) {
        /* Not ours (made by a user, or a file, junction or link): never re-ACLed, since files planted inside
         * would keep their own permissions and the folder its history. Moved aside, untouched, and a fresh one
         * made. */
        err = move_aside(h, wbase, moved, moved_size);
        CloseHandle(h);
        if (err != 0)
            return err;
        err = ph__svc_admin_log_dir_sddl(service_sid, NULL, sddl, sizeof(sddl) / sizeof(sddl[0]));
        if (err == 0)
            err = create_fresh(path, sddl);
        *created = err == 0;
        return err;
    }
    /* Ours (owner SYSTEM or Administrators, nobody else may write): owner and DACL set anew on the same handle,
     * inheritance off, this service's SID added and the other services' kept. */
    err = GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &old_dacl, NULL, &old_sd);
    if (err == 0)
        err = ph__svc_admin_log_dir_sddl(service_sid, old_dacl, sddl, sizeof(sddl) / sizeof(sddl[0]));
    if (err == 0 && !ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL))
        err = GetLastError();
    if (err == 0 && (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) ||
                     !GetSecurityDescriptorOwner(sd, &owner, &defaulted)))
        err = GetLastError();
    if (err == 0)
        err = SetSecurityInfo(h, SE_FILE_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                  PROTECTED_DACL_SECURITY_INFORMATION,
                              owner, NULL, dacl, NULL);
    CloseHandle(h);
    if (sd != NULL)
        LocalFree(sd);
    if (old_sd != NULL)
        LocalFree(old_sd);
    return err;
}
