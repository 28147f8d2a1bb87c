/* config.c — fixture for tests/docs: the shape of service/config.c's value table, which docs_check.py reads. */
static const svc_value_def value_defs[SVC_V_COUNT] = {
    {SVC_V_PIPE_NAME, "PipeName", "--pipe", SVC_T_STRING, 1, 265, "", 0, 0, NULL},
    {SVC_V_MAX_INSTANCES, "MaxInstances", "--max-instances", SVC_T_DWORD, 1, 255, "", 0, 0, NULL},
    {SVC_V_MAX_MESSAGE, "MaxMessageBytes", "--max-message", SVC_T_DWORD, 1, 64u * 1024 * 1024, "bytes", 1, 0, NULL},
    {SVC_V_IDLE_TIMEOUT, "IdleTimeoutMs", "--idle-timeout", SVC_T_DWORD, 100, SVC_INFINITE, "ms", 1, 1, NULL},
    {SVC_V_LOG_LEVEL, "LogLevel", "--log-level", SVC_T_STRING, 1, 16, "", 1, 0, NULL},
    {SVC_V_SECRET, "SecretKnob", "--secret-knob", SVC_T_DWORD, 0, 9, "", 1, 0,
     NULL},
};
