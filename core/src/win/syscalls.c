/* syscalls.c — the table of Win32 pipe calls the core makes, pointing at the real ones (see ph_win.h). It must
 * stay alone in its file: tests replace the whole definition at link time. */
#include "ph_win.h"

const ph_syscalls ph__sys = {
    CreateNamedPipeW, ConnectNamedPipe, ReadFile, WriteFile, DisconnectNamedPipe, CreateFileW, CreateIoCompletionPort,
};
