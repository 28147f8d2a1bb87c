/* filelog.c — a size-bounded plain-text log file with one rotation, safe to share between threads. */
#include "filelog.h"
#include "winutil.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* FILE_RENAME_INFORMATION (wdm.h) and NtSetInformationFile: a rename relative to a directory handle we hold.
 * SetFileInformationByHandle(FileRenameInfo) would do for a full path, but its RootDirectory is not passed
 * through everywhere (Wine turns the name into a path from the current directory). */
typedef struct {
    BOOLEAN ReplaceIfExists;
    HANDLE RootDirectory;
    ULONG FileNameLength;
    WCHAR FileName[1];
} svc_rename_info;
typedef struct {
    union {
        LONG Status;
        PVOID Pointer;
    } u;
    ULONG_PTR Information;
} svc_io_status;
typedef LONG(NTAPI *svc_set_info_fn)(HANDLE, svc_io_status *, PVOID, ULONG, int);
typedef ULONG(NTAPI *svc_status_fn)(LONG);
#define SVC_FILE_RENAME_INFORMATION 10

struct svc_filelog {
    SRWLOCK lock;
    HANDLE file;        /* INVALID_HANDLE_VALUE while it cannot be (re)opened */
    HANDLE *chain;      /* the folders from the drive's root to the log's own, held open without FILE_SHARE_DELETE
                           so that none of them can be renamed, deleted or replaced by a link while we log */
    size_t chain_len;
    wchar_t *path;      /* '\' separators only */
    wchar_t *rotated;   /* the name (no folder) of the rotated file: NAME.1 */
    uint64_t size;      /* bytes in the current file */
    uint32_t max_bytes;
};

/* Rights over a folder (or, through an inherited ACE, over its files) that let the holder plant, remove or
 * rename entries, or change the security: enough to turn our next create, append or rename into a write
 * wherever a junction or link points. */
#define SVC_DIR_WRITE_RIGHTS                                                                                      \
    (FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_WRITE_EA | FILE_DELETE_CHILD | FILE_WRITE_ATTRIBUTES | DELETE | \
     WRITE_DAC | WRITE_OWNER)

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

int ph__svc_self_sid(char *out, size_t size)
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

/* The check behind ph__svc_filelog_check_dir_handle and ph__svc_filelog_check_writers, on an open handle: what is
 * checked is what the caller goes on to use. */
static DWORD check_writers_handle(HANDLE h, DWORD rights, unsigned flags, char *why, size_t why_size)
{
    BY_HANDLE_FILE_INFORMATION info;
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL;
    PACL dacl = NULL;
    GENERIC_MAPPING files = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    char self[SECURITY_MAX_SID_SIZE * 4], *text = NULL;
    DWORD err = 0;
    WORD i;

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (!ph__svc_self_sid(self, sizeof(self)))
        self[0] = '\0';
    if (!GetFileInformationByHandle(h, &info)) {
        err = GetLastError();
        ph__svc_say(why, why_size, "its attributes cannot be read (error %lu)", (unsigned long)err);
        goto cleanup;
    }
    if (!(flags & SVC_WRITERS_FILE) != !!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
        (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
        err = ERROR_CANT_ACCESS_FILE;
        ph__svc_say(why, why_size, "it is %s, not a plain %s",
            (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? "a junction or symbolic link"
            : (flags & SVC_WRITERS_FILE)                           ? "a folder"
                                                                   : "a file",
            (flags & SVC_WRITERS_FILE) ? "file" : "folder");
        goto cleanup;
    }
    err = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner, NULL,
                          &dacl, NULL, &sd);
    if (err != 0) {
        ph__svc_say(why, why_size, "its security cannot be read (GetSecurityInfo failed: error %lu)", (unsigned long)err);
        goto cleanup;
    }
    if (owner == NULL || !ConvertSidToStringSidA(owner, &text) || !trusted_sid(text, self)) {
        err = ERROR_INVALID_OWNER;
        ph__svc_say(why, why_size, "it is owned by %s, not by SYSTEM or Administrators: its owner can change its "
            "permissions", text ? text : "nobody");
        goto cleanup;
    }
    LocalFree(text);
    text = NULL;
    if (dacl == NULL) {
        err = ERROR_INVALID_ACL;
        ph__svc_say(why, why_size, "it has a NULL DACL: everyone may write to it");
        goto cleanup;
    }
    for (i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *hdr = NULL;
        ACCESS_ALLOWED_ACE *ace;
        DWORD mask;

        if (!GetAce(dacl, i, (void **)&hdr)) {
            err = GetLastError();
            ph__svc_say(why, why_size, "its ACE %u cannot be read", (unsigned)i + 1);
            goto cleanup;
        }
        if (hdr->AceType == ACCESS_DENIED_ACE_TYPE || hdr->AceType == SYSTEM_AUDIT_ACE_TYPE ||
            hdr->AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE)
            continue;
        if (hdr->AceType != ACCESS_ALLOWED_ACE_TYPE) {
            err = ERROR_INVALID_ACL;
            ph__svc_say(why, why_size, "its ACE %u is of type %u, which this check does not understand", (unsigned)i + 1,
                (unsigned)hdr->AceType);
            goto cleanup;
        }
        ace = (ACCESS_ALLOWED_ACE *)hdr;
        mask = ace->Mask;
        MapGenericMask(&mask, &files);
        if ((mask & rights) == 0 || ((flags & SVC_WRITERS_OWN_ACES) && (hdr->AceFlags & INHERIT_ONLY_ACE)))
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
        ph__svc_say(why, why_size, "its ACE %u lets %s write to it (access mask 0x%lx): only SYSTEM, Administrators and "
            "the service's own account may", (unsigned)i + 1, text, (unsigned long)mask);
        goto cleanup;
    }

cleanup:
    if (text != NULL)
        LocalFree(text);
    if (sd != NULL)
        LocalFree(sd);
    return err;
}

DWORD ph__svc_filelog_check_dir_handle(HANDLE h, char *why, size_t why_size)
{
    return check_writers_handle(h, SVC_DIR_WRITE_RIGHTS, 0, why, why_size);
}

DWORD ph__svc_filelog_check_writers(const wchar_t *path, DWORD rights, unsigned flags, char *why, size_t why_size)
{
    DWORD err;
    /* The object itself, not what a junction or symbolic link in its place points to. */
    HANDLE h = CreateFileW(path, READ_CONTROL | FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        ph__svc_say(why, why_size, "its security cannot be read (CreateFileW failed: error %lu)", (unsigned long)err);
        return err;
    }
    err = check_writers_handle(h, rights, flags, why, why_size);
    CloseHandle(h);
    return err;
}

DWORD ph__svc_filelog_check_dir(const wchar_t *dir, char *why, size_t why_size)
{
    return ph__svc_filelog_check_writers(dir, SVC_DIR_WRITE_RIGHTS, 0, why, why_size);
}

/* A file's rights that let the holder change what it holds or runs, or its security. */
#define SVC_FILE_WRITE_RIGHTS                                                                                      \
    (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES | DELETE | WRITE_DAC | WRITE_OWNER)

DWORD ph__svc_check_trusted(const wchar_t *path, svc_trust_kind kind, char *why, size_t why_size)
{
    switch (kind) {
    case SVC_TRUST_FILE:
        return ph__svc_filelog_check_writers(path, SVC_FILE_WRITE_RIGHTS, SVC_WRITERS_FILE, why, why_size);
    case SVC_TRUST_ANCESTOR:
        /* Adding new names there (what C:\ grants Authenticated Users) cannot replace an existing path; what an
         * inherit-only entry grants on new children cannot touch it either (its folders are checked one by one). */
        return ph__svc_filelog_check_writers(path, SVC_DIR_WRITE_RIGHTS & ~(DWORD)(FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY),
                                         SVC_WRITERS_OWN_ACES, why, why_size);
    case SVC_TRUST_FOLDER:
    default:
        return ph__svc_filelog_check_dir(path, why, why_size);
    }
}

/* The descriptor of every folder we create: protected (nothing inherited from a parent that users may write,
 * such as C:\), SYSTEM and Administrators full control, Users read; plus full control for the account this
 * process runs as when that is not SYSTEM (a service running as LocalService, or `pipehost run`), or it could
 * not create its own file. Returns a LocalAlloc'd descriptor or NULL with the error. */
static PSECURITY_DESCRIPTOR created_dir_sd(const wchar_t *dir_sddl, DWORD *err)
{
    static const wchar_t fallback[] = L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)";
    char self[SECURITY_MAX_SID_SIZE * 4];
    wchar_t text[1024], wself[SECURITY_MAX_SID_SIZE * 4];
    PSECURITY_DESCRIPTOR sd = NULL;
    int n;

    if (dir_sddl == NULL)
        dir_sddl = fallback;
    if (ph__svc_self_sid(self, sizeof(self)) && strcmp(self, "S-1-5-18") != 0 &&
        MultiByteToWideChar(CP_ACP, 0, self, -1, wself, (int)(sizeof(wself) / sizeof(wself[0]))) > 0)
        n = swprintf(text, sizeof(text) / sizeof(text[0]), L"%ls(A;OICI;FA;;;%ls)", dir_sddl, wself);
    else
        n = swprintf(text, sizeof(text) / sizeof(text[0]), L"%ls", dir_sddl);
    if (n < 0) {
        *err = ERROR_INSUFFICIENT_BUFFER;
        return NULL;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(text, SDDL_REVISION_1, &sd, NULL)) {
        *err = GetLastError();
        return NULL;
    }
    return sd;
}

/* Opens a folder of the chain: the folder itself (never what a link in its place points to), with list and
 * traverse access, which take part in sharing checks, and without FILE_SHARE_DELETE, so that nobody can
 * rename or delete it (or anything above it, by renaming the parent) while we hold it. */
static HANDLE open_dir(const wchar_t *dir, DWORD *err)
{
    HANDLE h = CreateFileW(dir, FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    *err = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    return h;
}

/* Whether the handle's normalised path is "\\?\" + want (case-insensitive, want's short names taken in their
 * long form): no drive letter that maps elsewhere (SUBST, network), no link on the way. got receives the path
 * found. */
static int final_path_is(HANDLE h, const wchar_t *want, wchar_t *got, DWORD got_size, DWORD *err)
{
    DWORD n = GetFinalPathNameByHandleW(h, got, got_size, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);

    *err = 0;
    if (n == 0 || n >= got_size) {
        *err = n == 0 ? GetLastError() : ERROR_INSUFFICIENT_BUFFER;
        got[0] = L'\0';
        return 0;
    }
    if (wcsncmp(got, L"\\\\?\\", 4) != 0)
        return 0;
    if (CompareStringOrdinal(got + 4, -1, want, -1, TRUE) == CSTR_EQUAL)
        return 1;
    /* 8.3 short names in what was given (a temp folder often has them) name the same entries: every folder
     * on the way is held and none is a link, so the long form is looked up safely. */
    {
        wchar_t long_name[1100];
        DWORD n2 = GetLongPathNameW(want, long_name, sizeof(long_name) / sizeof(long_name[0]));
        return n2 > 0 && n2 < sizeof(long_name) / sizeof(long_name[0]) &&
               CompareStringOrdinal(got + 4, -1, long_name, -1, TRUE) == CSTR_EQUAL;
    }
}

/* Opens the log file for appending, itself and not a link's target, and checks that it is a plain file whose
 * normalised path is the one configured. FILE_SHARE_DELETE lets readers keep it open while we rotate. */
static HANDLE open_log(const wchar_t *path, uint64_t *size, DWORD *err, char *why, size_t why_size)
{
    FILE_ATTRIBUTE_TAG_INFO tag;
    BY_HANDLE_FILE_INFORMATION info;
    LARGE_INTEGER li;
    wchar_t got[1100];
    HANDLE h = CreateFileW(path, FILE_APPEND_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);

    if (h == INVALID_HANDLE_VALUE) {
        *err = GetLastError();
        return h;
    }
    if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag))) {
        *err = GetLastError();
        goto refused;
    }
    if (tag.FileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) {
        *err = ERROR_CANT_ACCESS_FILE;
        ph__svc_say(why, why_size, "the log file is a %s, not a plain file",
            (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? "symbolic link or other reparse point" : "folder");
        goto refused;
    }
    if (!final_path_is(h, path, got, sizeof(got) / sizeof(got[0]), err)) {
        if (*err == 0)
            *err = ERROR_BAD_PATHNAME;
        ph__svc_say(why, why_size, "the log file resolves to %ls, not to the path given", got[0] ? got : L"(unknown)");
        goto refused;
    }
    /* A second name would be a hard link planted by whoever may add files to the folder (a service sharing it):
     * our lines would go into whatever file it names. */
    if (!GetFileInformationByHandle(h, &info)) {
        *err = GetLastError();
        goto refused;
    }
    if (info.nNumberOfLinks > 1) {
        *err = ERROR_CANT_ACCESS_FILE;
        ph__svc_say(why, why_size, "the log file has %lu names (hard links): another name may be a file it must not write",
            (unsigned long)info.nNumberOfLinks);
        goto refused;
    }
    *size = 0;
    if (GetFileSizeEx(h, &li))
        *size = (uint64_t)li.QuadPart;
    *err = 0;
    return h;
refused:
    CloseHandle(h);
    return INVALID_HANDLE_VALUE;
}

/* Opens (creating what is missing) and holds every folder from the drive's root to the file's own. Folders we
 * create get the protected descriptor; each of them, and the file's own folder whether created or found, must
 * pass ph__svc_filelog_check_dir_handle. None may be a link, and the last one's normalised path must be the one given. */
static DWORD open_chain(svc_filelog *log, const wchar_t *dir_sddl, char *why, size_t why_size)
{
    size_t n = wcslen(log->path), i, last = 0, count = 0;
    wchar_t *buf = malloc((n + 1) * sizeof(wchar_t));
    wchar_t got[1100];
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = 0;

    if (buf == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(buf, log->path, (n + 1) * sizeof(wchar_t));
    for (i = 0; i < n; i++)
        if (buf[i] == L'\\') {
            last = i;
            count++;
        }
    log->chain = calloc(count + 1, sizeof(HANDLE));
    if (log->chain == NULL) {
        free(buf);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    /* From "C:\" (index 2 is its separator) down to the file's folder. */
    for (i = 2; i <= last && err == 0; i++) {
        wchar_t saved;
        HANDLE h;
        int created = 0;
        BY_HANDLE_FILE_INFORMATION info;

        if (buf[i] != L'\\')
            continue;
        saved = buf[i + 1];
        if (i == 2)
            buf[i + 1] = L'\0'; /* the root keeps its separator: "C:\" */
        else
            buf[i] = L'\0';
        h = open_dir(buf, &err);
        if (h == INVALID_HANDLE_VALUE && (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) && i > 2) {
            SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
            if (sd == NULL)
                sd = created_dir_sd(dir_sddl, &err);
            sa.lpSecurityDescriptor = sd;
            /* Someone may make it between our look and ours: then it is not ours, and it is checked as if
             * we had made it (it must pass). */
            if (sd != NULL && (CreateDirectoryW(buf, &sa) || GetLastError() == ERROR_ALREADY_EXISTS)) {
                created = 1;
                h = open_dir(buf, &err);
            } else if (sd != NULL) {
                err = GetLastError();
            }
        }
        if (h == INVALID_HANDLE_VALUE) {
            ph__svc_say(why, why_size, "folder %ls cannot be opened or created (error %lu)", buf, (unsigned long)err);
        } else if (!GetFileInformationByHandle(h, &info)) {
            err = GetLastError();
            ph__svc_say(why, why_size, "folder %ls: its attributes cannot be read (error %lu)", buf, (unsigned long)err);
        } else if (!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
                   (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
            /* A junction, symbolic link or mount point anywhere on the way would send our files elsewhere. */
            err = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? ERROR_CANT_ACCESS_FILE : ERROR_DIRECTORY;
            ph__svc_say(why, why_size, "%ls is %s, not a plain folder", buf,
                (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? "a junction, symbolic link or mount point"
                                                                       : "a file");
        } else if (created || i == last) {
            char inner[300];
            err = ph__svc_filelog_check_dir_handle(h, inner, sizeof(inner));
            if (err != 0)
                ph__svc_say(why, why_size, "folder %ls: %s", buf, inner);
        }
        if (h != INVALID_HANDLE_VALUE)
            log->chain[log->chain_len++] = h;
        if (i == 2)
            buf[i + 1] = saved;
        else
            buf[i] = L'\\';
    }
    if (err == 0) {
        buf[last == 2 ? 3 : last] = L'\0'; /* "C:\" keeps its separator */
        if (!final_path_is(log->chain[log->chain_len - 1], buf, got, sizeof(got) / sizeof(got[0]), &err)) {
            if (err == 0)
                err = ERROR_BAD_PATHNAME;
            ph__svc_say(why, why_size, "folder %ls resolves to %ls (a drive letter mapped elsewhere, SUBST or network): "
                "give the full path of a folder on a local drive", buf, got[0] ? got : L"(unknown)");
        }
    }
    if (sd != NULL)
        LocalFree(sd);
    free(buf);
    return err;
}

static void free_log(svc_filelog *log)
{
    size_t i;

    if (log->file != INVALID_HANDLE_VALUE)
        CloseHandle(log->file);
    for (i = 0; i < log->chain_len; i++)
        CloseHandle(log->chain[i]);
    free(log->chain);
    free(log->path);
    free(log->rotated);
    free(log);
}

DWORD ph__svc_filelog_open(const wchar_t *path, uint32_t max_bytes, const wchar_t *dir_sddl, svc_filelog **out,
                       char *why, size_t why_size)
{
    svc_filelog *log;
    const wchar_t *name;
    size_t n, i;
    DWORD err;

    *out = NULL;
    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (path == NULL || path[0] == L'\0')
        return ERROR_INVALID_PARAMETER;
    n = wcslen(path);
    /* The configuration accepts nothing else (ph__svc_config_set_string); this is the same rule, kept here. */
    if (n < 4 || !((path[0] >= L'A' && path[0] <= L'Z') || (path[0] >= L'a' && path[0] <= L'z')) || path[1] != L':' ||
        (path[2] != L'\\' && path[2] != L'/')) {
        ph__svc_say(why, why_size, "the log file must be given by a full path on a local drive (C:\\...)");
        return ERROR_BAD_PATHNAME;
    }
    log = calloc(1, sizeof(*log));
    if (log == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    log->file = INVALID_HANDLE_VALUE;
    log->path = malloc((n + 1) * sizeof(wchar_t));
    if (log->path == NULL) {
        free_log(log);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    for (i = 0; i <= n; i++)
        log->path[i] = path[i] == L'/' ? L'\\' : path[i];
    name = wcsrchr(log->path, L'\\') + 1;
    log->rotated = malloc((wcslen(name) + 3) * sizeof(wchar_t));
    if (log->rotated == NULL) {
        free_log(log);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    memcpy(log->rotated, name, wcslen(name) * sizeof(wchar_t));
    memcpy(log->rotated + wcslen(name), L".1", 3 * sizeof(wchar_t));
    InitializeSRWLock(&log->lock);
    log->max_bytes = max_bytes;

    /* Nothing is created in a folder before it has passed. */
    err = open_chain(log, dir_sddl, why, why_size);
    if (err == 0)
        log->file = open_log(log->path, &log->size, &err, why, why_size);
    if (err != 0) {
        free_log(log);
        return err;
    }
    *out = log;
    return 0;
}

/* Whether two handles are the same file (volume and file index). */
static int same_file(HANDLE a, HANDLE b)
{
    BY_HANDLE_FILE_INFORMATION x, y;

    return GetFileInformationByHandle(a, &x) && GetFileInformationByHandle(b, &y) &&
           x.dwVolumeSerialNumber == y.dwVolumeSerialNumber && x.nFileIndexHigh == y.nFileIndexHigh &&
           x.nFileIndexLow == y.nFileIndexLow;
}

/* Another handle to the file we hold, with other access: ReOpenFile opens the same file object, never a
 * name. Checked anyway (Wine 8 reopens the file's former name when it has been renamed since). */
static HANDLE reopen_same(HANDLE file, DWORD access)
{
    HANDLE h = ReOpenFile(file, access | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);

    if (h != INVALID_HANDLE_VALUE && !same_file(h, file)) {
        CloseHandle(h);
        return INVALID_HANDLE_VALUE;
    }
    return h;
}

DWORD ph__svc_rename_by_handle(HANDLE h, HANDLE dir, const wchar_t *name, int replace)
{
    union {
        svc_rename_info info;
        unsigned char raw[sizeof(svc_rename_info) + 600 * sizeof(WCHAR)];
    } ren;
    svc_io_status io;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    svc_set_info_fn set_info = ntdll ? (svc_set_info_fn)(void (*)(void))GetProcAddress(ntdll, "NtSetInformationFile")
                                     : NULL;
    svc_status_fn to_win32 = ntdll ? (svc_status_fn)(void (*)(void))GetProcAddress(ntdll, "RtlNtStatusToDosError")
                                   : NULL;
    size_t len = wcslen(name) * sizeof(WCHAR);
    LONG status;

    if (set_info == NULL || to_win32 == NULL)
        return ERROR_PROC_NOT_FOUND;
    if (len > 600 * sizeof(WCHAR))
        return ERROR_FILENAME_EXCED_RANGE;
    memset(&ren, 0, sizeof(ren));
    ren.info.ReplaceIfExists = replace ? TRUE : FALSE;
    ren.info.RootDirectory = dir;
    ren.info.FileNameLength = (ULONG)len;
    memcpy(ren.info.FileName, name, len);
    status = set_info(h, &io, &ren, (ULONG)(offsetof(svc_rename_info, FileName) + len), SVC_FILE_RENAME_INFORMATION);
    return status == 0 ? 0 : to_win32(status);
}

/* Under the lock: the current file is full, so it becomes NAME.1 and a new NAME starts. The rename is done on
 * the open file (a handle to it with DELETE access, reopened from ours) into the folder we hold, so no name is
 * looked up on the way: whatever may carry the name NAME by then is not what is moved. If it fails (someone
 * holds NAME or NAME.1 without sharing delete), the file is truncated through a handle reopened the same way
 * rather than allowed to grow. */
static void rotate_locked(svc_filelog *log)
{
    HANDLE del;
    DWORD err = ERROR_SHARING_VIOLATION;

    if (log->file == INVALID_HANDLE_VALUE)
        return;
    del = reopen_same(log->file, DELETE);
    if (del != INVALID_HANDLE_VALUE) {
        err = ph__svc_rename_by_handle(del, log->chain[log->chain_len - 1], log->rotated, 1);
        CloseHandle(del);
    }
    if (err != 0) {
        FILE_END_OF_FILE_INFO eof;
        HANDLE w = reopen_same(log->file, FILE_WRITE_DATA);
        eof.EndOfFile.QuadPart = 0;
        if (w != INVALID_HANDLE_VALUE) {
            if (SetFileInformationByHandle(w, FileEndOfFileInfo, &eof, sizeof(eof)))
                log->size = 0;
            CloseHandle(w);
        }
        return;
    }
    CloseHandle(log->file);
    log->file = open_log(log->path, &log->size, &err, NULL, 0);
}

void ph__svc_filelog_write(svc_filelog *log, const char *line, size_t len)
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
        /* Its folder is still held: only the file itself is opened (and checked) again. */
        log->file = open_log(log->path, &log->size, &err, NULL, 0);
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

void ph__svc_filelog_set_max(svc_filelog *log, uint32_t max_bytes)
{
    if (log == NULL)
        return;
    AcquireSRWLockExclusive(&log->lock);
    log->max_bytes = max_bytes;
    ReleaseSRWLockExclusive(&log->lock);
}

void ph__svc_filelog_close(svc_filelog *log)
{
    if (log == NULL)
        return;
    free_log(log);
}
