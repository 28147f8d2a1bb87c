/* refstop.h — what the reference servers share: their command line, their stop, the bench's slow request. */
#ifndef PH_BENCH_REFSTOP_H
#define PH_BENCH_REFSTOP_H

#include <windows.h>

/* The Win32 samples have no stop at all; a user's plain server stops by exiting, so the benchmark's stop
 * cell measures exactly that. Returns 0, or the Win32 error that kept the watcher from starting. */
DWORD ref_watch_stop_event(const char *event_name);

/* The reference servers' command line, \\.\pipe\NAME [STOP_EVENT]: starts the stop watcher when an event is
 * named. Returns 0 to go on, or the exit code (64 for a bad command line) with the message printed. */
int ref_start(int argc, char **argv);

/* The slow-handler cell's request: a message that starts with "SLEEP " and a decimal number of
 * milliseconds (at most 10000) makes the server hold the thread serving it that long before the echo, as
 * pipehost-bench-host's SLEEP verb does (bench/server_host.c). Echo payloads never start so: the driver
 * stamps their first four bytes with a request number below 2^24, so the fourth byte is 0. Call it with each
 * request before answering it (the thread-per-client and completion-port servers do; the raw floor and the
 * single instance do not run that cell). */
void ref_maybe_sleep(const char *msg, DWORD len);

#endif
