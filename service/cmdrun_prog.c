/* cmdrun_prog.c — checks and holds a command verb's program: absolute local path, executable, not writable by non-admins. */
#include "cmdrun_prog.h"
#include "winutil.h"

#include "filelog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

int ph__svc_cmdprog_path_ok(const wchar_t *path, char *why, size_t why_size)
{
    size_t n = wcslen(path), i, start;

    if (n >= 2 && (path[0] == L'\\' || path[0] == L'/') && (path[1] == L'\\' || path[1] == L'/')) {
        ph__svc_say(why, why_size, "it is a UNC, \\\\?\\ or \\\\.\\ path: a program must be on a local drive, as C:\\dir\\prog.exe");
        return -1;
    }
    if (n < 4 || !((path[0] >= L'A' && path[0] <= L'Z') || (path[0] >= L'a' && path[0] <= L'z')) || path[1] != L':' ||
        path[2] != L'\\') {
        ph__svc_say(why, why_size, "it is not an absolute path with a drive letter, as C:\\dir\\prog.exe");
        return -1;
    }
    if (n >= MAX_PATH) {
        ph__svc_say(why, why_size, "it is %zu characters long; at most %d are accepted", n, MAX_PATH - 1);
        return -1;
    }
    for (i = 2; i < n; i++) {
        if (path[i] == L'/' || path[i] == L':' || path[i] < 0x20) {
            ph__svc_say(why, why_size, "it contains '%c' after the drive: only backslashes separate its parts, and "
                "alternate data streams are refused", path[i] < 0x20 ? '?' : (char)path[i]);
            return -1;
        }
    }
    for (start = 3; start <= n; start = i + 1) {
        size_t len;
        for (i = start; i < n && path[i] != L'\\'; i++)
            ;
        len = i - start;
        if (len == 0 || (len == 1 && path[start] == L'.') || (len == 2 && path[start] == L'.' && path[start + 1] == L'.')) {
            ph__svc_say(why, why_size, "it has an empty, \".\" or \"..\" part: write the path in full");
            return -1;
        }
        if (path[i - 1] == L'.' || path[i - 1] == L' ') {
            ph__svc_say(why, why_size, "a part of it ends in a dot or a space, which Windows strips: write the name exactly");
            return -1;
        }
    }
    return 0;
}

/* Every folder above the program, innermost first: the program's own in full, the others as ancestors. */
static DWORD check_folders(const wchar_t *path, char *why, size_t why_size)
{
    wchar_t dir[MAX_PATH];
    size_t n = wcslen(path), i;
    int first = 1;
    DWORD err = 0;
    char inner[400];

    memcpy(dir, path, (n + 1) * sizeof(wchar_t));
    for (i = n; i-- > 2 && err == 0;) {
        if (dir[i] != L'\\')
            continue;
        /* The root keeps its backslash ("C:\"): "C:" alone names the current folder on that drive. */
        dir[i == 2 ? 3 : i] = L'\0';
        err = ph__svc_check_trusted(dir, first ? SVC_TRUST_FOLDER : SVC_TRUST_ANCESTOR, inner, sizeof(inner));
        if (err != 0)
            ph__svc_say(why, why_size, "the folder %ls above it is not safe: %s", dir, inner);
        first = 0;
    }
    return err;
}

DWORD ph__svc_cmdprog_recheck(const wchar_t *path, char *why, size_t why_size)
{
    char inner[400];
    DWORD err = ph__svc_check_trusted(path, SVC_TRUST_FILE, inner, sizeof(inner));

    if (err != 0) {
        ph__svc_say(why, why_size, "the file is not safe: %s", inner);
        return err;
    }
    return check_folders(path, why, why_size);
}

DWORD ph__svc_cmdprog_open(const wchar_t *path, HANDLE *out, char *why, size_t why_size)
{
    wchar_t root[4];
    unsigned char head[2];
    DWORD err, got = 0, type;
    HANDLE h;

    *out = INVALID_HANDLE_VALUE;
    if (ph__svc_cmdprog_path_ok(path, why, why_size) != 0)
        return ERROR_BAD_PATHNAME;
    root[0] = path[0];
    root[1] = L':';
    root[2] = L'\\';
    root[3] = L'\0';
    type = GetDriveTypeW(root);
    if (type != DRIVE_FIXED && type != DRIVE_RAMDISK) {
        ph__svc_say(why, why_size, "drive %lc: is not a local fixed drive (GetDriveTypeW: %lu): network, removable and "
            "optical drives are refused", path[0], (unsigned long)type);
        return ERROR_NOT_SUPPORTED;
    }
    /* Held with read sharing only: nobody may write, rename or delete it while we hold it. Not through a link. */
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        ph__svc_say(why, why_size, "it cannot be opened (CreateFileW: error %lu%s)", (unsigned long)err,
            err == ERROR_SHARING_VIOLATION ? ", someone has it open for writing" : "");
        return err;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        err = ERROR_BAD_FILE_TYPE;
        ph__svc_say(why, why_size, "it is a device, not a file");
    } else if (!ReadFile(h, head, sizeof(head), &got, NULL) || got != sizeof(head) || head[0] != 'M' || head[1] != 'Z') {
        err = ERROR_BAD_EXE_FORMAT;
        ph__svc_say(why, why_size, "it is not an executable (no MZ header)");
    } else {
        err = ph__svc_cmdprog_recheck(path, why, why_size);
    }
    if (err != 0) {
        CloseHandle(h);
        return err;
    }
    *out = h;
    return 0;
}
