/* svc.h — running under the Service Control Manager. */
#ifndef PH_SVC_SVC_H
#define PH_SVC_SVC_H

#include <windows.h>

#include <pipehost/service.h>

/* Connects to the SCM and runs the service until it stops. Returns 0, or -1 with *err set (notably
 * ERROR_FAILED_SERVICE_CONTROLLER_CONNECT when not started by the SCM). */
int ph__svc_dispatch(const ph_service_app *app, DWORD *err);

#endif /* PH_SVC_SVC_H */
