/* appstate.h — what the host program reads from any thread: its settings in force, the service name, the log. */
#ifndef PH_SVC_APPSTATE_H
#define PH_SVC_APPSTATE_H

#include <pipehost/service.h>

#include "config.h"
#include "svclog.h"

/* Makes cfg's values of the program's settings the ones ph_service_setting_* return (copied under the lock;
 * called at start with the configuration read, and after an accepted reload with the values in force).
 * Returns 0 or PH_ENOMEM (the earlier values stay). */
int ph__svc_appstate_publish(const svc_config *cfg);
/* From now until ph__svc_appstate_detach, ph_service_log writes to log and ph_service_name returns service
 * (UTF-8, "" in console mode). Detach before closing log: a line being written holds the lock. */
void ph__svc_appstate_attach(svc_log *log, const char *service);
void ph__svc_appstate_detach(void);

/* The program's identity (ph_service_main sets it first): app's names, or pipehost's where app has none. */
void ph__svc_appstate_set_app(const ph_service_app *app);
/* The prefix of every message the program prints, without the colon ("pipehost"). */
const char *ph__svc_message_prefix(void);
/* Every message the program prints goes through these: the prefix, then fmt as given, which starts with
 * ": " or " COMMAND: " ("pipehost: …", "pipehost install: …"). ph__svc_err writes to stderr, ph__svc_out to stdout. */
void ph__svc_err(const char *fmt, ...) PH_PRINTF(1, 2);
void ph__svc_out(const char *fmt, ...) PH_PRINTF(1, 2);
/* The name in `help` and `version`. */
const char *ph__svc_product_name(void);
/* The default log folder's name under %ProgramData% and the key under HKLM\SOFTWARE for kept configuration. */
const wchar_t *ph__svc_log_folder(void);
const wchar_t *ph__svc_registry_root(void);

#endif /* PH_SVC_APPSTATE_H */
