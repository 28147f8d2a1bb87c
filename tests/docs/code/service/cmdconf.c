/* cmdconf.c — fixture for tests/docs: command verb values. */
static const struct dword_def dword_defs[] = {
    {"TimeoutMs", 100, 3600000, offsetof(svc_command, timeout_ms)},
    {"MaxConcurrent", 1, 64, offsetof(svc_command, max_concurrent)},
};
static const char *const string_names[] = {"Program", "WorkingDirectory"};
static const char *const builtin[] = {"PING", "ECHO"};
