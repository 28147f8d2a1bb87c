/* config.c — defaults and range checks for server configuration and limits. */
#include "ph_internal.h"

#include <string.h>

#define PH_MAX_MESSAGE_CEILING ((size_t)64 * 1024 * 1024)

void ph_limits_init(ph_limits *limits)
{
    limits->max_message_bytes = 65536;
    limits->idle_timeout_ms = 120000;
    limits->write_timeout_ms = 10000;
    limits->drain_timeout_ms = 5000;
}

int ph_limits_validate(const ph_limits *limits)
{
    if (limits == NULL)
        return PH_EINVAL;
    if (limits->max_message_bytes < 1 || limits->max_message_bytes > PH_MAX_MESSAGE_CEILING)
        return PH_EINVAL;
    /* A zero timeout would close every connection at once; "never" is spelled PH_INFINITE. */
    if (limits->idle_timeout_ms == 0 || limits->write_timeout_ms == 0)
        return PH_EINVAL;
    if (limits->drain_timeout_ms == PH_INFINITE)
        return PH_EINVAL; /* a stop must be bounded */
    return 0;
}

void ph_server_config_init(ph_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->pipe_name = NULL;
    cfg->max_instances = 255;
    cfg->pending_instances = 4;
    cfg->threads = 0;
    cfg->buffer_size = 65536;
    cfg->sddl = NULL;
    ph_limits_init(&cfg->limits);
    cfg->log_level = PH_LOG_INFO;
}
