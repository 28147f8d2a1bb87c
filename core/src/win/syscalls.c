/* syscalls.c — the replaceable table of Win32 pipe calls, pointing at the real ones by default. */
#include "ph_win.h"

ph_syscalls ph__sys = {
    CreateNamedPipeW, ConnectNamedPipe, ReadFile, WriteFile, DisconnectNamedPipe, CreateFileW,
};
