/* filelog.c — a size-bounded plain-text log file with one rotation, safe to share between threads. */
#include "filelog.h"

#include <sddl.h>
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

DWORD svc_filelog_open(const wchar_t *path, uint32_t max_bytes, const wchar_t *dir_sddl, svc_filelog **out)
{
    svc_filelog *log;
    size_t n;
    DWORD err;

    *out = NULL;
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
