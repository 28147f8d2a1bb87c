/* logdir.c — service SIDs, and the log folder the installer prepares: owner SYSTEM, no write for ordinary users. */
#include "admin.h"
#include "appstate.h"

#include <aclapi.h>
#include <knownfolders.h>
#include <sddl.h>
#include <shlobj.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* FILE_GENERIC_READ | FILE_GENERIC_WRITE | FILE_GENERIC_EXECUTE | DELETE: "Modify" in the Explorer's terms. */
#define LOG_DIR_MODIFY 0x001301BFu

DWORD svc_admin_service_sid(const wchar_t *service, wchar_t *out, size_t size)
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

/* Appends "(A;OICI;0x1301bf;;;SID)" for every allow ACE of a service SID (S-1-5-80-…) in old, except want. */
static void keep_service_aces(PACL old, const wchar_t *want, wchar_t *sddl, size_t size)
{
    ACL_SIZE_INFORMATION info;
    DWORD i;

    if (old == NULL || !GetAclInformation(old, &info, sizeof(info), AclSizeInformation))
        return;
    for (i = 0; i < info.AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        wchar_t *text = NULL;
        size_t used = wcslen(sddl);
        if (!GetAce(old, i, (LPVOID *)&ace) || ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        if (!ConvertSidToStringSidW((PSID)&ace->SidStart, &text))
            continue;
        if (wcsncmp(text, L"S-1-5-80-", 9) == 0 && (want == NULL || _wcsicmp(text, want) != 0) &&
            used + wcslen(text) + 32 < size && wcsstr(sddl, text) == NULL)
            swprintf(sddl + used, size - used, L"(A;OICI;0x%lx;;;%ls)", (unsigned long)LOG_DIR_MODIFY, text);
        LocalFree(text);
    }
}

DWORD svc_admin_log_dir_sddl(const wchar_t *service_sid, PACL old_dacl, wchar_t *sddl, size_t size)
{
    size_t used;

    if (swprintf(sddl, size, L"O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)") < 0)
        return ERROR_INSUFFICIENT_BUFFER;
    if (service_sid != NULL) {
        used = wcslen(sddl);
        if (swprintf(sddl + used, size - used, L"(A;OICI;0x%lx;;;%ls)", (unsigned long)LOG_DIR_MODIFY, service_sid) < 0)
            return ERROR_INSUFFICIENT_BUFFER;
    }
    keep_service_aces(old_dacl, service_sid, sddl, size);
    return 0;
}

DWORD svc_admin_prepare_log_dir(const wchar_t *service_sid, wchar_t *path, size_t size, int *created)
{
    PWSTR base = NULL;
    PSECURITY_DESCRIPTOR old_sd = NULL, sd = NULL;
    PACL old_dacl = NULL, dacl = NULL;
    PSID owner = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    wchar_t sddl[4096];
    HRESULT hr;
    DWORD err = 0, attrs;

    *created = 0;
    /* The known folder, not %ProgramData%: the service reads the same one (service/winutil.c). */
    hr = SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base);
    if (FAILED(hr)) {
        CoTaskMemFree(base);
        return HRESULT_FACILITY(hr) == FACILITY_WIN32 ? (DWORD)HRESULT_CODE(hr) : ERROR_PATH_NOT_FOUND;
    }
    if (swprintf(path, size, L"%ls\\%ls", base, svc_log_folder()) < 0) {
        CoTaskMemFree(base);
        return ERROR_INSUFFICIENT_BUFFER;
    }
    CoTaskMemFree(base);

    attrs = GetFileAttributesW(path);
    /* Not a folder, or a junction/symbolic link (which a user may have planted to point the SYSTEM service's
     * writes, and this ACL change, elsewhere): refused, never followed. */
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT))
        return ERROR_REPARSE_ATTRIBUTE_CONFLICT;
    if (attrs != INVALID_FILE_ATTRIBUTES && !(attrs & FILE_ATTRIBUTE_DIRECTORY))
        return ERROR_DIRECTORY;
    if (attrs != INVALID_FILE_ATTRIBUTES) {
        err = GetNamedSecurityInfoW(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &old_dacl, NULL,
                                    &old_sd);
        if (err != 0)
            goto out;
    }
    err = svc_admin_log_dir_sddl(service_sid, old_dacl, sddl, sizeof(sddl) / sizeof(sddl[0]));
    if (err != 0)
        goto out;
    enable_restore_privilege();
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL)) {
        err = GetLastError();
        goto out;
    }
    if (old_sd == NULL) {
        sa.lpSecurityDescriptor = sd;
        if (CreateDirectoryW(path, &sa)) {
            *created = 1;
            goto out;
        }
        err = GetLastError();
        if (err != ERROR_ALREADY_EXISTS)
            goto out;
        err = 0;
    }
    /* The folder existed (perhaps made by someone else): owner and DACL are set anew, inheritance off, and the
     * inheritable ACEs reach the files inside. */
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) ||
        !GetSecurityDescriptorOwner(sd, &owner, &defaulted)) {
        err = GetLastError();
        goto out;
    }
    err = SetNamedSecurityInfoW(path, SE_FILE_OBJECT,
                                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                    PROTECTED_DACL_SECURITY_INFORMATION,
                                owner, NULL, dacl, NULL);
out:
    if (sd != NULL)
        LocalFree(sd);
    if (old_sd != NULL)
        LocalFree(old_sd);
    return err;
}
