/* cmdconf_win.h — command verbs' configuration read from the registry (Parameters\Commands\<VERB>). */
#ifndef PH_SVC_CMDCONF_WIN_H
#define PH_SVC_CMDCONF_WIN_H

#include <windows.h>

#include "cmdconf.h"

/* Reads every subkey of HKLM\<params_path>\Commands into cmds: each subkey is a verb, its values those of
 * cmdconf.h (DWORDs REG_DWORD; Program and WorkingDirectory REG_SZ or REG_EXPAND_SZ, expanded with the
 * service's environment; Arguments and Environment REG_MULTI_SZ). A missing Commands key means no command
 * verb. Unknown names, wrong types, values inside a verb's subkey that are themselves keys, and bad values are
 * errors; every error is collected. Returns 0, PH_EINVAL or PH_ENOMEM. */
int ph__svc_commands_load_key(const wchar_t *params_path, svc_commands *cmds, svc_cfg_errors *errs);
/* The same for the service's own Parameters key. */
int ph__svc_commands_load(const wchar_t *service, svc_commands *cmds, svc_cfg_errors *errs);

#endif /* PH_SVC_CMDCONF_WIN_H */
