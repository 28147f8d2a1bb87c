/* location.c — whether a program may run behind a privileged service: nobody but administrators can change it. */
#include "admin.h"

#include "filelog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Whoever can change the executable, or a DLL beside it, runs code as the service. */
#define LOC_FILE_RIGHTS (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | DELETE | WRITE_DAC | WRITE_OWNER)
/* A folder above the executable's folder is only dangerous when an entry on the path can be renamed or
 * removed (and replaced), or its permissions changed. Adding new entries is harmless there: C:\ itself lets
 * every user create folders. */
#define LOC_PARENT_RIGHTS (FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER)

static DWORD refuse(DWORD err, const wchar_t *path, wchar_t *where, size_t where_size)
{
    swprintf(where, where_size, L"%ls", path);
    return err;
}

/* Checks every *.dll in dir (which ends with '\'), as the loader looks there first for the executable's
 * imports. Returns 0 or the first refusal. */
static DWORD check_dlls(wchar_t *dir, size_t len, size_t size, wchar_t *where, size_t where_size, char *why,
                        size_t why_size)
{
    WIN32_FIND_DATAW fd;
    HANDLE find;
    DWORD err = 0;

    if (len + 6 > size)
        return 0;
    wcscpy(dir + len, L"*.dll");
    find = FindFirstFileW(dir, &fd);
    dir[len] = L'\0';
    if (find == INVALID_HANDLE_VALUE)
        return 0;
    do {
        if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || len + wcslen(fd.cFileName) + 1 > size)
            continue;
        wcscpy(dir + len, fd.cFileName);
        err = ph__svc_filelog_check_writers(dir, LOC_FILE_RIGHTS, SVC_WRITERS_FILE, why, why_size);
        if (err != 0)
            refuse(err, dir, where, where_size);
        dir[len] = L'\0';
    } while (err == 0 && FindNextFileW(find, &fd));
    FindClose(find);
    return err;
}

DWORD ph__svc_admin_check_location(const wchar_t *exe, wchar_t *where, size_t where_size, char *why, size_t why_size)
{
    wchar_t *full = NULL, *path;
    HANDLE h;
    DWORD n, err = 0;
    size_t len, end, cap = 0;
    int level;

    where[0] = L'\0';
    why[0] = '\0';
    /* The file the service would start, wherever links and junctions on the way lead: its final path. */
    h = CreateFileW(exe, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        snprintf(why, why_size, "it cannot be opened (CreateFileW failed: error %lu)", (unsigned long)err);
        return refuse(err, exe, where, where_size);
    }
    n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    cap = (size_t)n + MAX_PATH + 8;
    full = n ? malloc(cap * sizeof(wchar_t)) : NULL;
    if (full == NULL || GetFinalPathNameByHandleW(h, full, n + 8, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS) - 1u >= n) {
        err = full == NULL && n != 0 ? ERROR_NOT_ENOUGH_MEMORY : GetLastError();
        CloseHandle(h);
        free(full);
        snprintf(why, why_size, "its final path cannot be read (GetFinalPathNameByHandleW failed: error %lu)",
                 (unsigned long)err);
        return refuse(err ? err : ERROR_INVALID_NAME, exe, where, where_size);
    }
    CloseHandle(h);
    path = wcsncmp(full, L"\\\\?\\", 4) == 0 ? full + 4 : full;
    len = wcslen(path);
    /* A local drive only: the permissions of a network share's server (and of the share) are not ours to read. */
    if (len < 4 || path[1] != L':' || path[2] != L'\\' || !((path[0] >= L'A' && path[0] <= L'Z') ||
                                                             (path[0] >= L'a' && path[0] <= L'z'))) {
        snprintf(why, why_size, "it is not on a local drive (a network path cannot be checked)");
        err = refuse(ERROR_BAD_PATHNAME, path, where, where_size);
        free(full);
        return err;
    }

    err = ph__svc_filelog_check_writers(path, LOC_FILE_RIGHTS, SVC_WRITERS_FILE, why, why_size);
    if (err != 0) {
        refuse(err, path, where, where_size);
        goto out;
    }
    /* Then each folder from the executable's up to the drive's root, cutting the path at each '\' from the
     * end (the root keeps its '\': "C:" alone is the drive's current folder). The executable's own folder,
     * and the DLLs in it, pass the stricter checks: nobody else may add an entry there (a DLL the loader would
     * pick up) or rename one. full has room for a file name after the folder (check_dlls). */
    for (end = len, level = 0;; level++) {
        while (end > 0 && path[end - 1] != L'\\')
            end--;
        if (level == 0) {
            path[end] = L'\0';
            err = check_dlls(path, end, cap - (size_t)(path - full), where, where_size, why, why_size);
            if (err != 0)
                goto out;
        }
        path[end > 3 ? end - 1 : 3] = L'\0';
        err = level == 0 ? ph__svc_filelog_check_dir(path, why, why_size)
                         : ph__svc_filelog_check_writers(path, LOC_PARENT_RIGHTS, SVC_WRITERS_OWN_ACES, why, why_size);
        if (err != 0) {
            refuse(err, path, where, where_size);
            goto out;
        }
        if (end <= 3)
            break;
        end--;
    }
out:
    free(full);
    return err;
}
