/* config_win.h — reading the configuration from the registry, and the checks only Windows can make. */
#ifndef PH_SVC_CONFIG_WIN_H
#define PH_SVC_CONFIG_WIN_H

#include <windows.h>

#include "config.h"

/* Applies every value of HKLM\SYSTEM\CurrentControlSet\Services\<service>\Parameters to cfg (and the
 * per-verb descriptors of its Verbs subkey: REG_SZ values named after verbs), checking
 * its type (DWORDs must be REG_DWORD; strings REG_SZ, LogFile also REG_EXPAND_SZ) and its range. Unknown
 * names are errors. A missing key is not an error (*found = 0, defaults stay). Errors are collected, not
 * stopped at, so an operator sees every problem at once. Returns 0, PH_EINVAL or PH_ENOMEM. */
int ph__svc_config_load_registry(const wchar_t *service, svc_config *cfg, svc_cfg_errors *errs, int *found);

/* The same for any key under HKLM (path relative to it), e.g. a configuration saved by `uninstall --keep-config`. */
int ph__svc_config_load_key(const wchar_t *path, svc_config *cfg, svc_cfg_errors *errs, int *found);

/* Sddl must pass the core's ph_sddl_check for a pipe (PH_SDDL_PIPE_FIXED when MaxInstances is below 255, a
 * fixed pool; PH_SDDL_PIPE for 255, unlimited), and each per-verb descriptor ph_sddl_check for AccessCheck.
 * Returns 0 or PH_EINVAL with an error naming the value and the checker's reason (and, for a descriptor only
 * a fixed pool may have, MaxInstances). */
int ph__svc_config_check_sddl(const svc_config *cfg, svc_cfg_errors *errs);

#endif /* PH_SVC_CONFIG_WIN_H */
