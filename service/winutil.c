/* winutil.c — small Win32 helpers for the service: text conversions and well-known paths. */
#include "winutil.h"

#include "appstate.h"

#include <knownfolders.h>
#include <stdarg.h>
#include <stdio.h>
#include <shlobj.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

wchar_t *ph__svc_to_wide(const char *s, DWORD *err)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w;

    if (n <= 0) {
        if (err)
            *err = GetLastError();
        return NULL;
    }
    w = malloc((size_t)n * sizeof(wchar_t));
    if (w == NULL) {
        if (err)
            *err = ERROR_NOT_ENOUGH_MEMORY;
        return NULL;
    }
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        if (err)
            *err = GetLastError();
        free(w);
        return NULL;
    }
    return w;
}

char *ph__svc_to_utf8(const wchar_t *w, DWORD *err)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
    char *s;

    if (n <= 0) {
        if (err)
            *err = GetLastError();
        return NULL;
    }
    s = malloc((size_t)n);
    if (s == NULL) {
        if (err)
            *err = ERROR_NOT_ENOUGH_MEMORY;
        return NULL;
    }
    if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
        if (err)
            *err = GetLastError();
        free(s);
        return NULL;
    }
    return s;
}

static wchar_t *concat3(const wchar_t *a, const wchar_t *b, const wchar_t *c)
{
    size_t na = wcslen(a), nb = wcslen(b), nc = wcslen(c);
    wchar_t *p = malloc((na + nb + nc + 1) * sizeof(wchar_t));
    if (p == NULL)
        return NULL;
    memcpy(p, a, na * sizeof(wchar_t));
    memcpy(p + na, b, nb * sizeof(wchar_t));
    memcpy(p + na + nb, c, (nc + 1) * sizeof(wchar_t));
    return p;
}

wchar_t *ph__svc_params_key_path(const wchar_t *service)
{
    return concat3(L"SYSTEM\\CurrentControlSet\\Services\\", service, L"\\Parameters");
}

DWORD ph__svc_default_log_path(const wchar_t *service, wchar_t **out)
{
    PWSTR dir = NULL;
    HRESULT hr;

    /* The known-folder API, not %ProgramData%: a service's environment need not have the variable (Wine's
     * services.exe does not pass it on). */
    *out = NULL;
    hr = SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &dir);
    if (FAILED(hr)) {
        CoTaskMemFree(dir);
        return HRESULT_FACILITY(hr) == FACILITY_WIN32 ? (DWORD)HRESULT_CODE(hr) : ERROR_PATH_NOT_FOUND;
    }
    *out = concat3(dir, L"\\", ph__svc_log_folder());
    if (*out != NULL) {
        wchar_t *folder = concat3(*out, L"\\", service);
        free(*out);
        *out = folder;
    }
    CoTaskMemFree(dir);
    if (*out != NULL) {
        wchar_t *full = concat3(*out, L".log", L"");
        free(*out);
        *out = full;
    }
    return *out ? 0 : ERROR_NOT_ENOUGH_MEMORY;
}

void ph__svc_say(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}
