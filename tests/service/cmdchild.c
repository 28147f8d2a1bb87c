/* cmdchild.c — the program behind the command verbs in test_cmdrun: echoes, exits, sleeps, floods, spawns, as its fixed arguments say. */
#include <windows.h>

#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void write_all(HANDLE h, const void *data, DWORD len)
{
    DWORD done = 0;
    while (len > 0 && WriteFile(h, data, len, &done, NULL) && done > 0) {
        data = (const char *)data + done;
        len -= done;
    }
}

static void drain_stdin(void)
{
    char buf[4096];
    DWORD got;
    while (ReadFile(GetStdHandle(STD_INPUT_HANDLE), buf, sizeof(buf), &got, NULL) && got > 0)
        ;
}

/* Modes (argv[1]): cat | exit N | args | env | sleep MS | grandchild PIDFILE | flood BYTES | handles */
int main(void)
{
    int argc = 0, i;
    wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    char buf[65536];
    DWORD got;

    if (argv == NULL || argc < 2)
        return 100;
    if (wcscmp(argv[1], L"cat") == 0) {
        while (ReadFile(GetStdHandle(STD_INPUT_HANDLE), buf, sizeof(buf), &got, NULL) && got > 0)
            write_all(out, buf, got);
        return 0;
    }
    if (wcscmp(argv[1], L"exit") == 0 && argc > 2) {
        drain_stdin();
        write_all(GetStdHandle(STD_ERROR_HANDLE), "bye from cmdchild\n", 18);
        return _wtoi(argv[2]);
    }
    if (wcscmp(argv[1], L"args") == 0) {
        /* Each argument as UTF-8 followed by a NUL: the test compares them byte for byte. */
        drain_stdin();
        for (i = 0; i < argc; i++) {
            int n = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, buf, sizeof(buf), NULL, NULL);
            write_all(out, buf, n > 0 ? (DWORD)n : 0);
        }
        return 0;
    }
    if (wcscmp(argv[1], L"env") == 0) {
        wchar_t *env = GetEnvironmentStringsW(), *p;
        drain_stdin();
        for (p = env; *p; p += wcslen(p) + 1) {
            int n = WideCharToMultiByte(CP_UTF8, 0, p, -1, buf, sizeof(buf), NULL, NULL);
            if (n > 0) {
                buf[n - 1] = '\n';
                write_all(out, buf, (DWORD)n);
            }
        }
        FreeEnvironmentStringsW(env);
        return 0;
    }
    if (wcscmp(argv[1], L"sleep") == 0 && argc > 2) {
        Sleep((DWORD)_wtoi(argv[2]));
        return 0;
    }
    if (wcscmp(argv[1], L"grandchild") == 0 && argc > 2) {
        /* Starts a copy of itself that sleeps a minute, writes its pid to the file, and sleeps too. */
        wchar_t self[MAX_PATH], line[MAX_PATH + 64];
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        FILE *f;
        GetModuleFileNameW(NULL, self, MAX_PATH);
        swprintf(line, MAX_PATH + 64, L"\"%ls\" sleep 60000", self);
        memset(&si, 0, sizeof(si));
        si.cb = sizeof(si);
        if (!CreateProcessW(self, line, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi))
            return 101;
        f = _wfopen(argv[2], L"w");
        if (f == NULL)
            return 102;
        fprintf(f, "%lu %lu\n", (unsigned long)pi.dwProcessId, (unsigned long)GetCurrentProcessId());
        fclose(f);
        Sleep(60000);
        return 0;
    }
    if (wcscmp(argv[1], L"flood") == 0 && argc > 2) {
        long total = _wtol(argv[2]);
        memset(buf, 'x', sizeof(buf));
        while (total > 0) {
            DWORD n = total > (long)sizeof(buf) ? (DWORD)sizeof(buf) : (DWORD)total;
            DWORD done = 0;
            if (!WriteFile(out, buf, n, &done, NULL))
                return 0;
            total -= (long)done;
        }
        return 0;
    }
    return 100;
}
