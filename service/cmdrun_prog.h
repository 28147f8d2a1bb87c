/* cmdrun_prog.h — a command verb's program: where it may be, and held open so it cannot change while the service runs. */
#ifndef PH_SVC_CMDRUN_PROG_H
#define PH_SVC_CMDRUN_PROG_H

#include <windows.h>

#include <stddef.h>

/* Checks the shape of a program path: absolute on a drive letter ("C:\dir\prog.exe"), backslashes only, no
 * empty, "." or ".." part, no part ending in a dot or a space (Win32 would strip it), no ':' after the drive
 * (no alternate data stream), shorter than MAX_PATH. Refused: relative paths, UNC (\\server\share), \\?\ and
 * \\.\ paths (devices, and paths Win32 does not normalise). Returns 0 or -1 with why set. */
int ph__svc_cmdprog_path_ok(const wchar_t *path, char *why, size_t why_size);

/* Opens the program for a command verb and keeps it from changing: the path's shape (above), a local fixed
 * drive (not a network, removable or optical one), a plain file (not a link, folder or device) that starts
 * like an executable ("MZ"), the file and every folder above it not writable by non-administrators (the log
 * folder's check, ph__svc_check_trusted: the program's own folder in full, since a DLL planted next to the program
 * is loaded by it; the folders above for removing, renaming or re-securing). The file is opened without
 * FILE_SHARE_WRITE or FILE_SHARE_DELETE and the handle in *out is kept while the service runs, so nobody can
 * replace or change it in between (CreateProcess, which opens it for execution, is still allowed). Returns 0,
 * or a Win32 error with why set. */
DWORD ph__svc_cmdprog_open(const wchar_t *path, HANDLE *out, char *why, size_t why_size);

/* Checks an opened program again (at PARAMCHANGE): the file's and its folders' security, as at open. The
 * held handle keeps the file itself from being replaced; this sees a folder or file whose permissions were
 * widened since. Returns 0 or a Win32 error with why set. */
DWORD ph__svc_cmdprog_recheck(const wchar_t *path, char *why, size_t why_size);

#endif /* PH_SVC_CMDRUN_PROG_H */
