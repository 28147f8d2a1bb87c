/* namesvc.c — a consumer program that defines the names a service program commonly uses (and that
 * pipehost's service library once exported) and still links with it: the library exports ph_ names only. */
#include <windows.h>

#include <pipehost/service.h>

#include <stdio.h>

/* Each of these was a global of libpipehost_service.a before its internals became ph__…; a program of
 * one's own may well define them. Linking fails with "multiple definition" if the library exports any. */
int svc_dispatch(int n);
int svc_log_msg(int n);
int svc_config_init(int n);
int svc_err(int n);
int svc_out(int n);
int svc_escape(int n);
int svc_cli_main(int n);
int svc_eventlog_open(int n);
int adm_fail(int n);
int adm_ask(int n);
int log_init(int n);
int config_load(int n);

int svc_dispatch(int n) { return n + 1; }
int svc_log_msg(int n) { return n + 2; }
int svc_config_init(int n) { return n + 3; }
int svc_err(int n) { return n + 4; }
int svc_out(int n) { return n + 5; }
int svc_escape(int n) { return n + 6; }
int svc_cli_main(int n) { return n + 7; }
int svc_eventlog_open(int n) { return n + 8; }
int adm_fail(int n) { return n + 9; }
int adm_ask(int n) { return n + 10; }
int log_init(int n) { return n + 11; }
int config_load(int n) { return n + 12; }

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static const ph_service_app app = {.program = "namesvc", .default_pipe = "namesvc"};
    int sum = svc_dispatch(0) + svc_log_msg(0) + svc_config_init(0) + svc_err(0) + svc_out(0) + svc_escape(0) +
              svc_cli_main(0) + svc_eventlog_open(0) + adm_fail(0) + adm_ask(0) + log_init(0) + config_load(0);

    /* 1 + 2 + … + 12: the program's own definitions are the ones called. */
    if (sum != 78) {
        fprintf(stderr, "namesvc: own definitions not called (sum %d)\n", sum);
        return 99;
    }
    return ph_service_main(argc, argv, &app);
}
