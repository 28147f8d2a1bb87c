/* filelog.c — a size-bounded plain-text log file with one rotation, safe to share between threads. */
#include "filelog.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

struct svc_filelog {
    SRWLOCK lock;
    HANDLE file;        /* INVALID_HANDLE_VALUE while it cannot be (re)opened */
    wchar_t *path;
    wchar_t *rotated;   /* path + ".1" */
    uint64_t size;      /* bytes in the current file */
    uint32_t max_bytes;
};

static HANDLE open_append(const wchar_t *path, uint64_t *size, DWORD *err)
{
    LARGE_INTEGER li;
    /* FILE_APPEND_DATA: every write goes to the end, even if someone else appended. Readers may keep the
     * file open (FILE_SHARE_DELETE lets us rotate under them). */
    HANDLE h = CreateFileW(path, FILE_APPEND_DATA | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        *err = GetLastError();
        return h;
    }
    *size = 0;
    if (GetFileSizeEx(h, &li))
        *size = (uint64_t)li.QuadPart;
    *err = 0;
    return h;
}

/* Rights over a folder (or, through an inherited ACE, over its files) that let the holder plant, remove or
 * rename entries, or change the security: enough to turn our next create, append or rename into a write
 * wherever a junction or link points. */
#define SVC_DIR_WRITE_RIGHTS                                                                                      \
    (FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_WRITE_EA | FILE_DELETE_CHILD | FILE_WRITE_ATTRIBUTES | DELETE | \
     WRITE_DAC | WRITE_OWNER)

static void say(char *why, size_t why_size, const char *fmt, ...) PH_PRINTF(3, 4);
static void say(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* SYSTEM, Administrators, per-service SIDs (TrustedInstaller is one), OWNER RIGHTS, and the account this
 * process runs as (a service configured to run as LocalService writes its own folder). */
static int trusted_sid(const char *sid, const char *self)
{
    static const char service_prefix[] = "S-1-5-80-";
    size_t i, dashes = 0;

    if (strcmp(sid, "S-1-5-18") == 0 || strcmp(sid, "S-1-5-32-544") == 0 || strcmp(sid, "S-1-3-4") == 0 ||
        strcmp(sid, self) == 0)
        return 1;
    if (strncmp(sid, service_prefix, sizeof(service_prefix) - 1) != 0)
        return 0;
    for (i = sizeof(service_prefix) - 1; sid[i] != '\0'; i++)
        dashes += sid[i] == '-';
    return dashes == 4; /* S-1-5-80-a-b-c-d-e; not ALL SERVICES (S-1-5-80-0) */
}

int svc_self_sid(char *out, size_t size)
{
    union {
        TOKEN_USER user;
        unsigned char raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } buf;
    HANDLE token = NULL;
    DWORD len = 0;
    LPSTR text = NULL;
    int ok = 0;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return 0;
    if (GetTokenInformation(token, TokenUser, &buf, sizeof(buf), &len) && ConvertSidToStringSidA(buf.user.User.Sid, &text)) {
        ok = strlen(text) < size;
        if (ok)
            memcpy(out, text, strlen(text) + 1);
        LocalFree(text);
    }
    CloseHandle(token);
    return ok;
}

/* A file's rights that let the holder change what it holds or runs, or its security. */
#define SVC_FILE_WRITE_RIGHTS                                                                                      \
    (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES | DELETE | WRITE_DAC | WRITE_OWNER)

DWORD svc_filelog_check_dir(const wchar_t *dir, char *why, size_t why_size)
{
    return svc_check_trusted(dir, SVC_TRUST_FOLDER, why, why_size);
}

DWORD svc_check_trusted(const wchar_t *path, svc_trust_kind kind, char *why, size_t why_size)
{
    BY_HANDLE_FILE_INFORMATION info;
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL;
    PACL dacl = NULL;
    GENERIC_MAPPING files = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    char self[SECURITY_MAX_SID_SIZE * 4], *text = NULL;
    HANDLE h;
    DWORD err = 0;
    WORD i;

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (!svc_self_sid(self, sizeof(self)))
        self[0] = '\0';
    /* The object itself, not what a junction or symbolic link in its place points to. */
    h = CreateFileW(path, READ_CONTROL | FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        say(why, why_size, "its security cannot be read (CreateFileW failed: error %lu)", (unsigned long)err);
        return err;
    }
    if (!GetFileInformationByHandle(h, &info)) {
        err = GetLastError();
        say(why, why_size, "its attributes cannot be read (error %lu)", (unsigned long)err);
        goto cleanup;
    }
    if ((kind == SVC_TRUST_FILE) != !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
        (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
        err = ERROR_CANT_ACCESS_FILE;
        say(why, why_size, "it is %s, not a plain %s",
            (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? "a junction or symbolic link"
            : kind == SVC_TRUST_FILE                               ? "a folder"
                                                                   : "a file",
            kind == SVC_TRUST_FILE ? "file" : "folder");
        goto cleanup;
    }
    err = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner, NULL,
                          &dacl, NULL, &sd);
    if (err != 0) {
        say(why, why_size, "its security cannot be read (GetSecurityInfo failed: error %lu)", (unsigned long)err);
        goto cleanup;
    }
    if (owner == NULL || !ConvertSidToStringSidA(owner, &text) || !trusted_sid(text, self)) {
        err = ERROR_INVALID_OWNER;
        say(why, why_size, "it is owned by %s, not by SYSTEM or Administrators: its owner can change its "
            "permissions", text ? text : "nobody");
        goto cleanup;
    }
    LocalFree(text);
    text = NULL;
    if (dacl == NULL) {
        err = ERROR_INVALID_ACL;
        say(why, why_size, "it has a NULL DACL: everyone may write to it");
        goto cleanup;
    }
    for (i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *hdr = NULL;
        ACCESS_ALLOWED_ACE *ace;
        DWORD mask;

        if (!GetAce(dacl, i, (void **)&hdr)) {
            err = GetLastError();
            say(why, why_size, "its ACE %u cannot be read", (unsigned)i + 1);
            goto cleanup;
        }
        if (hdr->AceType == ACCESS_DENIED_ACE_TYPE || hdr->AceType == SYSTEM_AUDIT_ACE_TYPE ||
            hdr->AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE)
            continue;
        /* Above the folder that matters, an inherit-only entry does not apply to the folder itself: what it
         * grants on new children cannot touch the existing path, whose folders are checked one by one. */
        if (kind == SVC_TRUST_ANCESTOR && (hdr->AceFlags & INHERIT_ONLY_ACE))
            continue;
        if (hdr->AceType != ACCESS_ALLOWED_ACE_TYPE) {
            err = ERROR_INVALID_ACL;
            say(why, why_size, "its ACE %u is of type %u, which this check does not understand", (unsigned)i + 1,
                (unsigned)hdr->AceType);
            goto cleanup;
        }
        ace = (ACCESS_ALLOWED_ACE *)hdr;
        mask = ace->Mask;
        MapGenericMask(&mask, &files);
        /* A file: rights to change it. An ancestor: rights to remove, rename or re-secure what is in it; adding
         * new names there (what C:\ grants Authenticated Users) cannot replace an existing path. */
        if ((mask & (kind == SVC_TRUST_FILE       ? SVC_FILE_WRITE_RIGHTS
                     : kind == SVC_TRUST_ANCESTOR ? (SVC_DIR_WRITE_RIGHTS & ~(DWORD)(FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY))
                                                  : SVC_DIR_WRITE_RIGHTS)) == 0)
            continue;
        if (!ConvertSidToStringSidA((PSID)&ace->SidStart, &text)) {
            err = GetLastError();
            goto cleanup;
        }
        /* CREATOR OWNER on an inherit-only entry becomes the owner of each new file: SYSTEM for ours. */
        if (trusted_sid(text, self) || (strcmp(text, "S-1-3-0") == 0 && (hdr->AceFlags & INHERIT_ONLY_ACE))) {
            LocalFree(text);
            text = NULL;
            continue;
        }
        err = ERROR_INVALID_ACL;
        say(why, why_size, "its ACE %u lets %s write to it (access mask 0x%lx): only SYSTEM, Administrators and "
            "the service's own account may", (unsigned)i + 1, text, (unsigned long)mask);
        goto cleanup;
    }

cleanup:
    if (text != NULL)
        LocalFree(text);
    if (sd != NULL)
        LocalFree(sd);
    CloseHandle(h);
    return err;
}

/* Creates every missing folder above the file; the innermost one with dir_sddl when given. */
static DWORD make_parents(const wchar_t *path, const wchar_t *dir_sddl)
{
    size_t n = wcslen(path), i, last = 0;
    wchar_t *buf = malloc((n + 1) * sizeof(wchar_t));
    DWORD err = 0;

    if (buf == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(buf, path, (n + 1) * sizeof(wchar_t));
    for (i = 0; i < n; i++)
        if (buf[i] == L'\\' || buf[i] == L'/')
            last = i;
    /* Skip the root: "C:\" or "\\server\share\". */
    i = 3;
    if (n > 2 && buf[0] == L'\\' && buf[1] == L'\\') {
        int seps = 0;
        for (i = 2; i < n && seps < 2; i++)
            if (buf[i] == L'\\' || buf[i] == L'/')
                seps++;
    }
    for (; i <= last && err == 0; i++) {
        if (buf[i] != L'\\' && buf[i] != L'/')
            continue;
        buf[i] = L'\0';
        if (GetFileAttributesW(buf) == INVALID_FILE_ATTRIBUTES) {
            SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
            PSECURITY_DESCRIPTOR sd = NULL;
            if (i == last && dir_sddl != NULL &&
                ConvertStringSecurityDescriptorToSecurityDescriptorW(dir_sddl, SDDL_REVISION_1, &sd, NULL))
                sa.lpSecurityDescriptor = sd;
            if (!CreateDirectoryW(buf, &sa)) {
                DWORD e = GetLastError();
                if (e != ERROR_ALREADY_EXISTS)
                    err = e;
            }
            if (sd != NULL)
                LocalFree(sd);
        }
        buf[i] = L'\\';
    }
    free(buf);
    return err;
}

static DWORD check_parent(wchar_t *path, char *why, size_t why_size)
{
    size_t i, last = 0;
    wchar_t saved;
    DWORD err;

    for (i = 0; path[i] != L'\0'; i++)
        if (path[i] == L'\\' || path[i] == L'/')
            last = i;
    if (last == 0)
        return ERROR_INVALID_PARAMETER;
    saved = path[last];
    path[last] = L'\0';
    err = svc_filelog_check_dir(path, why, why_size);
    path[last] = saved;
    return err;
}

DWORD svc_filelog_open(const wchar_t *path, uint32_t max_bytes, const wchar_t *dir_sddl, svc_filelog **out,
                       char *why, size_t why_size)
{
    svc_filelog *log;
    size_t n;
    DWORD err;

    *out = NULL;
    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (path == NULL || path[0] == L'\0')
        return ERROR_INVALID_PARAMETER;
    log = calloc(1, sizeof(*log));
    n = wcslen(path);
    if (log == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    log->path = malloc((n + 1) * sizeof(wchar_t));
    log->rotated = malloc((n + 3) * sizeof(wchar_t));
    if (log->path == NULL || log->rotated == NULL) {
        free(log->path);
        free(log->rotated);
        free(log);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    memcpy(log->path, path, (n + 1) * sizeof(wchar_t));
    memcpy(log->rotated, path, n * sizeof(wchar_t));
    memcpy(log->rotated + n, L".1", 3 * sizeof(wchar_t));
    InitializeSRWLock(&log->lock);
    log->max_bytes = max_bytes;

    err = make_parents(path, dir_sddl);
    /* Our own folder is checked whether we just made it or found it: someone may have made it first (even
     * between our look and our CreateDirectoryW), and a file is only created once it has passed. */
    if (err == 0 && dir_sddl != NULL)
        err = check_parent(log->path, why, why_size);
    log->file = err == 0 ? open_append(path, &log->size, &err) : INVALID_HANDLE_VALUE;
    if (log->file == INVALID_HANDLE_VALUE) {
        free(log->path);
        free(log->rotated);
        free(log);
        return err;
    }
    *out = log;
    return 0;
}

/* Under the lock: the current file is full, so it becomes NAME.1 and a new NAME starts. If the rename
 * fails (someone holds NAME.1 without sharing), the file is truncated rather than allowed to grow. */
static void rotate_locked(svc_filelog *log)
{
    DWORD err;

    if (log->file != INVALID_HANDLE_VALUE)
        CloseHandle(log->file);
    log->file = INVALID_HANDLE_VALUE;
    if (!MoveFileExW(log->path, log->rotated, MOVEFILE_REPLACE_EXISTING)) {
        HANDLE h = CreateFileW(log->path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                               NULL, TRUNCATE_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
    }
    log->file = open_append(log->path, &log->size, &err);
}

void svc_filelog_write(svc_filelog *log, const char *line, size_t len)
{
    char stack[1024];
    char *buf = stack;
    DWORD written = 0;

    if (log == NULL)
        return;
    if (len > 0xFFFF)
        len = 0xFFFF; /* one log line, not a data dump */
    if (len + 2 > sizeof(stack)) {
        buf = malloc(len + 2);
        if (buf == NULL)
            return;
    }
    memcpy(buf, line, len);
    buf[len] = '\r';
    buf[len + 1] = '\n';

    AcquireSRWLockExclusive(&log->lock);
    if (log->file == INVALID_HANDLE_VALUE) {
        DWORD err;
        log->file = open_append(log->path, &log->size, &err);
    }
    /* An empty file takes any line, so one long line cannot make every write rotate. */
    if (log->size > 0 && log->size + len + 2 > log->max_bytes)
        rotate_locked(log);
    /* A line that cannot be written is lost; what svclog also reports to the Event Log still reaches it there. */
    if (log->file != INVALID_HANDLE_VALUE && WriteFile(log->file, buf, (DWORD)(len + 2), &written, NULL))
        log->size += written;
    ReleaseSRWLockExclusive(&log->lock);
    if (buf != stack)
        free(buf);
}

void svc_filelog_set_max(svc_filelog *log, uint32_t max_bytes)
{
    if (log == NULL)
        return;
    AcquireSRWLockExclusive(&log->lock);
    log->max_bytes = max_bytes;
    ReleaseSRWLockExclusive(&log->lock);
}

void svc_filelog_close(svc_filelog *log)
{
    if (log == NULL)
        return;
    if (log->file != INVALID_HANDLE_VALUE)
        CloseHandle(log->file);
    free(log->path);
    free(log->rotated);
    free(log);
}
