/* main.c — pipehost.exe: the service, its console mode and its client, all in ph_service_main. */
#include <pipehost/service.h>

#include <wchar.h>

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static const ph_service_app app = {.program = "pipehost", .default_pipe = "pipehost"};
    return ph_service_main(argc, argv, &app);
}
