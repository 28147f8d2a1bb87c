/* main.c — pipehost.exe: the service, its console mode and its client, all in ph_service_main. */
#include <pipehost/service.h>

#include <windows.h>

#include <wchar.h>

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static const ph_service_app app = {.program = "pipehost", .default_pipe = "pipehost"};

    /* Before anything can load a DLL: LoadLibrary (ours, and the system DLLs' own delay loads) then searches
     * System32 only, never the current folder or PATH, where a user could plant one for a SYSTEM service to
     * load. (The executable's static imports are resolved before this runs; the install checks the folder
     * for those.) The result is not checked: every supported Windows has the call, and failing here would
     * only leave the default search order. */
    (void)SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
    return ph_service_main(argc, argv, &app);
}
