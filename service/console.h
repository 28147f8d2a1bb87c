/* console.h — console mode (`run`): the service's worker in a console, stopped by Ctrl+C or an event. */
#ifndef PH_SVC_CONSOLE_H
#define PH_SVC_CONSOLE_H

#include <pipehost/service.h>

int ph__svc_console_main(int argc, char **argv, const ph_service_app *app);

#endif /* PH_SVC_CONSOLE_H */
