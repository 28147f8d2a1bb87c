/* squatter.c — a second process that tries to take instances of a served pipe name, for test_fixed.c.
 *
 * squatter.exe <full pipe name> <stop event name>: loops CreateNamedPipeW on the name, alternately with and
 * without FILE_FLAG_FIRST_PIPE_INSTANCE, as fast as it can, until the named event is set and it has made at
 * least 256 attempts (so a squatter that starts late on a loaded machine still probes). Every instance it
 * gets is closed at once (it must not disturb the server it probes). Prints "attempts N got M" and exits
 * with 0; 2 on bad arguments. */
#include <stdio.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    HANDLE stop;
    unsigned long attempts = 0, got = 0;

    if (argc != 3)
        return 2;
    stop = OpenEventW(SYNCHRONIZE, FALSE, argv[2]);
    if (stop == NULL)
        return 2;
    while (attempts < 256 || WaitForSingleObject(stop, 0) == WAIT_TIMEOUT) {
        DWORD flags = PIPE_ACCESS_DUPLEX | ((attempts & 1) ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
        HANDLE h = CreateNamedPipeW(argv[1], flags, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                    PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
        attempts++;
        if (h != INVALID_HANDLE_VALUE) {
            got++;
            CloseHandle(h);
        }
        if ((attempts & 63) == 0)
            Sleep(1); /* leave the machine to the server now and then */
    }
    printf("attempts %lu got %lu\n", attempts, got);
    fflush(stdout);
    CloseHandle(stop);
    return 0;
}
