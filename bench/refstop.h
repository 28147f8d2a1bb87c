/* refstop.h — how the reference servers stop: a watcher thread ends the process when a named event is set. */
#ifndef PH_BENCH_REFSTOP_H
#define PH_BENCH_REFSTOP_H

#include <windows.h>

/* The Win32 samples have no stop at all; a user's plain server stops by exiting, so the benchmark's stop
 * cell measures exactly that. Returns 0, or the Win32 error that kept the watcher from starting. */
DWORD ref_watch_stop_event(const char *event_name);

/* The reference servers' command line, \\.\pipe\NAME [STOP_EVENT]: starts the stop watcher when an event is
 * named. Returns 0 to go on, or the exit code (64 for a bad command line) with the message printed. */
int ref_start(int argc, char **argv);

#endif
