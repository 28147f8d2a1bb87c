/* cmdtiny.c — pipehost-cmdtiny: the tiny program behind the command-verb bench (reads its input, may sleep, says "done"). */
#include <windows.h>

#include <stdlib.h>
#include <string.h>

/* pipehost-cmdtiny.exe [sleep MS]: reads standard input to its end (the request's payload), sleeps MS
 * milliseconds when asked (0..60000), writes "done" to standard output and exits 0. */
int main(int argc, char **argv)
{
    char buf[4096];
    DWORD got = 0, done = 0;
    unsigned long ms = 0;

    if (argc == 3 && strcmp(argv[1], "sleep") == 0)
        ms = strtoul(argv[2], NULL, 10);
    else if (argc != 1)
        return 64;
    while (ReadFile(GetStdHandle(STD_INPUT_HANDLE), buf, sizeof(buf), &got, NULL) && got > 0) {
    }
    if (ms > 0)
        Sleep(ms > 60000 ? 60000 : (DWORD)ms);
    return WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), "done", 4, &done, NULL) && done == 4 ? 0 : 1;
}
