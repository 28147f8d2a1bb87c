/* winutil.c — small Win32 helpers: error translation, UTF-8 to UTF-16, CPU count. */
#include "ph_win.h"

#include <stdlib.h>

int ph__map_win32(DWORD err)
{
    switch (err) {
    case ERROR_SUCCESS:
        return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return PH_ENOTFOUND;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
        return PH_EACCESS;
    case ERROR_PIPE_BUSY:
        return PH_EBUSY;
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT:
    case ERROR_TIMEOUT:
        return PH_ETIMEDOUT;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
        return PH_EPIPE;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return PH_ENOMEM;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
        return PH_EBADNAME;
    case ERROR_OPERATION_ABORTED:
        return PH_ECANCELED;
    case ERROR_ALREADY_EXISTS:
        return PH_EEXISTS;
    case ERROR_MORE_DATA:
        return PH_ETOOBIG;
    case ERROR_INVALID_PARAMETER:
        return PH_EINVAL;
    default:
        return PH_ESYS;
    }
}

wchar_t *ph__utf8_to_wide(const char *s, DWORD *err)
{
    int n;
    wchar_t *w;

    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) {
        *err = GetLastError();
        return NULL;
    }
    w = malloc((size_t)n * sizeof(wchar_t));
    if (w == NULL) {
        *err = ERROR_NOT_ENOUGH_MEMORY;
        return NULL;
    }
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        *err = GetLastError();
        free(w);
        return NULL;
    }
    return w;
}

unsigned ph__cpu_count(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors ? (unsigned)si.dwNumberOfProcessors : 1u;
}
