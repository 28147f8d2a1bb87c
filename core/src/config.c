/* config.c — defaults, range checks and ABI size checks for server configuration, limits and counters. */
#include "ph_internal.h"

#include <string.h>

#define PH_MAX_MESSAGE_CEILING ((size_t)64 * 1024 * 1024)

/* The sizes this library knows for each struct: before 1.0 only the current one (see "ABI" in pipehost.h).
 * From 1.0 a version that grows a struct at its end keeps accepting the older sizes and reads only the
 * members they contain; ph_limits, embedded in ph_server_config, then keeps its layout. */
static int size_known(uint32_t size, size_t current)
{
    return size == current;
}

int ph__limits_check(const ph_limits *limits)
{
    return limits != NULL && size_known(limits->size, sizeof(ph_limits)) ? 0 : PH_EINVAL;
}

int ph__config_check(const ph_server_config *cfg)
{
    if (cfg == NULL || !size_known(cfg->size, sizeof(ph_server_config)))
        return PH_EINVAL;
    return ph__limits_check(&cfg->limits);
}

int ph__counters_check(const ph_counters *counters)
{
    return counters != NULL && size_known(counters->size, sizeof(ph_counters)) ? 0 : PH_EINVAL;
}

void ph_counters_init(ph_counters *counters)
{
    memset(counters, 0, sizeof(*counters));
    counters->size = (uint32_t)sizeof(*counters);
}

void ph_limits_init(ph_limits *limits)
{
    memset(limits, 0, sizeof(*limits));
    limits->size = (uint32_t)sizeof(*limits);
    limits->max_message_bytes = 65536;
    limits->idle_timeout_ms = 120000;
    limits->write_timeout_ms = 10000;
    limits->drain_timeout_ms = 5000;
    limits->first_request_timeout_ms = 10000;
    limits->max_connections_per_user = 64;
}

int ph_limits_validate(const ph_limits *limits)
{
    if (ph__limits_check(limits) != 0)
        return PH_EINVAL;
    if (limits->max_message_bytes < 1 || limits->max_message_bytes > PH_MAX_MESSAGE_CEILING)
        return PH_EINVAL;
    /* A zero timeout would close every connection at once; "never" is spelled PH_INFINITE. */
    if (limits->idle_timeout_ms == 0 || limits->write_timeout_ms == 0 || limits->first_request_timeout_ms == 0)
        return PH_EINVAL;
    if (limits->max_connections_per_user > 255)
        return PH_EINVAL;
    if (limits->drain_timeout_ms == PH_INFINITE)
        return PH_EINVAL; /* a stop must be bounded */
    if (limits->first_request_timeout_ms == 0)
        return PH_EINVAL; /* like the other timeouts: 0 would close every new connection at once */
    if (limits->max_connections_per_user > 255)
        return PH_EINVAL;
    return 0;
}

void ph_server_config_init(ph_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = (uint32_t)sizeof(*cfg);
    cfg->pipe_name = NULL;
    cfg->max_instances = PH_DEFAULT_MAX_INSTANCES;
    cfg->pending_instances = 4;
    cfg->threads = 0;
    cfg->buffer_size = 65536;
    cfg->sddl = NULL;
    ph_limits_init(&cfg->limits);
    cfg->log_level = PH_LOG_INFO;
}
