/* app.h — the client commands, called by the dispatcher (app.c). */
#ifndef PH_SVC_APP_H
#define PH_SVC_APP_H

#include <pipehost/service.h>

/* `pipehost run [options]`: argv[0] is "run". Returns a PH_EXIT_… code. */
/* `pipehost ping|status|whoami|send …`: argv[0] is the command. Returns a PH_CLI_… code. */
int ph__svc_cli_main(int argc, char **argv, const ph_service_app *app);

#endif /* PH_SVC_APP_H */
