/* config.h — fixture for tests/docs: the comments on the value ids, which docs_check.py compares with config.c. */
typedef enum svc_value_id {
    SVC_V_PIPE_NAME = 0,    /* PipeName        --pipe           string: NAME */
    SVC_V_MAX_INSTANCES,    /* MaxInstances    --max-instances  DWORD 1..255 */
    SVC_V_MAX_MESSAGE,      /* MaxMessageBytes --max-message    DWORD 1..67108864 */
    SVC_V_IDLE_TIMEOUT,     /* IdleTimeoutMs   --idle-timeout   DWORD 100..4294967295 (= never) */
    SVC_V_LOG_LEVEL,        /* LogLevel        --log-level      string: error|warn|info|debug */
    SVC_V_SECRET,           /* SecretKnob      --secret-knob    DWORD 0..9 */
    SVC_V_COUNT
} svc_value_id;
