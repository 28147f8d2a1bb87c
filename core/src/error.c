/* error.c — the error enum's text and names, generated from PH_ERRNO_MAP so they cannot drift apart. */
#include "ph_internal.h"

/* A switch with no default: the compiler warns when a code has no case (curl's trick). */
const char *ph_strerror(int err)
{
    switch ((ph_err)err) {
    case PH_OK:
        return "success";
#define PH_XX_(name, val, msg) \
    case PH_E##name:           \
        return msg;
        PH_ERRNO_MAP(PH_XX_)
#undef PH_XX_
    }
    return "unknown error";
}

const char *ph_err_name(int err)
{
    switch ((ph_err)err) {
    case PH_OK:
        return "PH_OK";
#define PH_XX_(name, val, msg) \
    case PH_E##name:           \
        return "PH_E" #name;
        PH_ERRNO_MAP(PH_XX_)
#undef PH_XX_
    }
    return "PH_EUNKNOWN";
}

const char *ph_log_level_name(ph_log_level level)
{
    switch (level) {
    case PH_LOG_ERROR:
        return "error";
    case PH_LOG_WARN:
        return "warn";
    case PH_LOG_INFO:
        return "info";
    case PH_LOG_DEBUG:
        return "debug";
    }
    return "unknown";
}
