/* config.h — the service's configuration: values, defaults, ranges and strict validation (platform-neutral). */
#ifndef PH_SVC_CONFIG_H
#define PH_SVC_CONFIG_H

#include <pipehost/pipehost.h>

#include <stddef.h>
#include <stdint.h>

/* Every configuration value, by the name it has in the registry (HKLM\SYSTEM\CurrentControlSet\Services\
 * <service>\Parameters) and on the `pipehost run` command line. The table in config.c gives each its
 * type, range and default. */
typedef enum svc_value_id {
    SVC_V_PIPE_NAME = 0,    /* PipeName          --pipe               string: NAME 1..256 chars, or \\.\pipe\NAME */
    SVC_V_MAX_INSTANCES,    /* MaxInstances      --max-instances      DWORD 1..255 (255 = unlimited pool) */
    SVC_V_PENDING,          /* PendingInstances  --pending-instances  DWORD 1..255 (the unlimited pool's floor) */
    SVC_V_THREADS,          /* Threads           --threads            DWORD 0..64 (0 = by CPU count) */
    SVC_V_MAX_MESSAGE,      /* MaxMessageBytes   --max-message        DWORD 1..67108864 */
    SVC_V_IDLE_TIMEOUT,     /* IdleTimeoutMs     --idle-timeout       DWORD 100..4294967295 (= never) */
    SVC_V_WRITE_TIMEOUT,    /* WriteTimeoutMs    --write-timeout      DWORD 100..3600000 */
    SVC_V_DRAIN_TIMEOUT,    /* DrainTimeoutMs    --drain-timeout      DWORD 0..300000 */
    SVC_V_PRESHUTDOWN,      /* PreshutdownTimeoutMs --preshutdown-timeout DWORD 1000..3600000, >= Drain + 1000 */
    SVC_V_SDDL,             /* Sddl              --sddl               string */
    SVC_V_LOG_LEVEL,        /* LogLevel          --log-level          string: error|warn|info|debug */
    SVC_V_LOG_FILE,         /* LogFile           --log-file           string (REG_EXPAND_SZ too), local drive path */
    SVC_V_LOG_MAX_BYTES,    /* LogMaxBytes       --log-max-bytes      DWORD 16384..1073741824 */
    SVC_V_FRAMING,          /* Framing           --framing            string: message|length */
    SVC_V_FIRST_REQUEST_TIMEOUT, /* FirstRequestTimeoutMs --first-request-timeout-ms DWORD 100..3600000 or never */
    SVC_V_MAX_CONN_PER_USER,     /* MaxConnectionsPerUser --max-connections-per-user DWORD 0..255 (0 = no limit) */
    SVC_V_COUNT
} svc_value_id;

typedef enum svc_value_type { SVC_T_DWORD, SVC_T_STRING } svc_value_type;

typedef struct svc_value_def {
    svc_value_id id;
    const char *name;     /* registry value name, also used in every message */
    const char *option;   /* command-line option, "--…" */
    svc_value_type type;
    uint32_t min, max;    /* DWORD: accepted range; string: accepted length in characters */
    const char *unit;     /* for messages: "bytes", "ms", "" */
    int live;             /* 1 = PARAMCHANGE applies it to a running service; 0 = needs a restart */
    int never;            /* DWORD: 1 = SVC_INFINITE ("never") is accepted too, also when max is below it */
    const char *help;     /* a setting of the host program's: its one line for `help`; NULL for the built-in */
} svc_value_def;

/* The host program's own settings (ph_service_app.settings) join the table after the built-in values, with
 * ids SVC_V_COUNT, SVC_V_COUNT + 1, …: every lookup, check, message, diff and listing below covers them. */
#define SVC_MAX_APP_VALUES 12 /* = PH_SERVICE_MAX_SETTINGS; ids stay below the SVC_CFG_KIND_* bits */
struct ph_service_setting;
/* Declares the host program's settings (n of them; NULL, 0 declares none). Called once at program start,
 * before any configuration is made and before any thread reads the table. A bad declaration (a name that is
 * not 1..40 letters and digits, a built-in or repeated name, an option not "--" + [a-z0-9-], a DWORD default
 * out of range, min > max, a string max above 1024, too many) is refused with PH_EINVAL and why says which;
 * the table is then left without settings of the program's. */
int ph__svc_config_declare_app_values(const struct ph_service_setting *settings, unsigned n, char *why, size_t why_size);
/* The program's names (ph_service_app): a folder or key name (log_folder, registry_root) is 1..60 of letters,
 * digits, space, '.', '-' and '_', neither starting nor ending with a space or '.'; a message prefix 1..40
 * printable characters. Returns 0, or PH_EINVAL with why saying which and why. */
int ph__svc_check_app_names(const char *log_folder, const char *registry_root, const char *message_prefix, char *why,
                        size_t why_size);
/* The program's command name (ph_service_app.program) for messages that name a command ("see pipehost help");
 * set once at program start, "pipehost" until then. */
void ph__svc_set_program(const char *program);
const char *ph__svc_program(void);
/* Every value: SVC_V_COUNT built-in ones plus the program's. */
unsigned ph__svc_value_count(void);
/* The index of a program's setting (0 for the first declared) or -1 for a built-in value. */
int ph__svc_app_index(svc_value_id id);

/* The definition of a value by id, by registry name (case-insensitive, as the registry is) or by option
 * ("--max-message"); NULL when unknown. */
const svc_value_def *ph__svc_value_by_id(svc_value_id id);
const svc_value_def *ph__svc_value_by_name(const char *name);
const svc_value_def *ph__svc_value_by_option(const char *option);

#define SVC_PIPE_NAME_SIZE (sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX)
#define SVC_INFINITE 0xFFFFFFFFu

/* Who may call one verb: an SDDL security descriptor checked with AccessCheck against the client's token
 * before the verb runs (registry Parameters\Verbs, one REG_SZ value per verb, named after the verb). */
typedef struct svc_verb_sddl {
    char *verb; /* 1..32 printable ASCII characters, no space */
    char *sddl;
} svc_verb_sddl;
#define SVC_MAX_VERB_SDDLS 64

typedef struct svc_config {
    char pipe_name[SVC_PIPE_NAME_SIZE]; /* always the full form "\\.\pipe\NAME" */
    uint32_t max_instances;
    uint32_t pending_instances;
    uint32_t threads;
    uint32_t max_message_bytes;
    uint32_t idle_timeout_ms;
    uint32_t write_timeout_ms;
    uint32_t drain_timeout_ms;
    uint32_t preshutdown_timeout_ms;
    char *sddl;      /* malloc'd; NULL = the core's default (PH_DEFAULT_SDDL) */
    ph_log_level log_level;
    char *log_file;  /* malloc'd, UTF-8; NULL = the default (service: %ProgramData%\pipehost\<name>.log) */
    uint32_t log_max_bytes;
    ph_framing framing; /* how requests and responses are delimited on the pipe; a restart applies it */
    uint32_t first_request_timeout_ms; /* SVC_INFINITE = never */
    uint32_t max_connections_per_user; /* 0 = no limit */
    unsigned set_mask; /* bit (1u << id) for each value given explicitly */
    svc_verb_sddl *verb_sddls; /* malloc'd array; NULL when no verb is restricted */
    unsigned verb_sddl_count;
    /* The program's settings, by ph__svc_app_index: DWORDs in app_dword, strings in app_str (malloc'd; NULL =
     * the declared default). */
    uint32_t app_dword[SVC_MAX_APP_VALUES];
    char *app_str[SVC_MAX_APP_VALUES];
} svc_config;

/* Why a configuration was refused. Each message names the value, says what is accepted and what was given. */
#define SVC_CFG_MAX_ERRORS 16
/* (kinds' bits 0..27 are value ids, so ids stay below 28: SVC_V_COUNT + SVC_MAX_APP_VALUES <= 28.) */
#define SVC_CFG_ERROR_TEXT 1024 /* room for every accepted name in "unknown configuration value" */
typedef struct svc_cfg_errors {
    unsigned count;      /* errors seen (may exceed the ones kept) */
    unsigned kinds;      /* bit (1u << id) of each value in error; SVC_CFG_KIND_OTHER for the rest */
    char text[SVC_CFG_MAX_ERRORS][SVC_CFG_ERROR_TEXT];
} svc_cfg_errors;
#define SVC_CFG_KIND_OTHER (1u << 31)
#define SVC_CFG_KIND_VERB_SDDL (1u << 30) /* a per-verb security descriptor was refused */
#define SVC_CFG_KIND_USAGE (1u << 29) /* a bad command line (unknown option, missing value), not a bad value */

/* Defaults: PipeName \\.\pipe\pipehost (or default_pipe), the core's limits, the core's SDDL, LogLevel info,
 * Framing message. */
void ph__svc_config_init(svc_config *cfg, const char *default_pipe);
void ph__svc_config_free(svc_config *cfg);
/* Deep copy (dst is overwritten, not freed). Returns 0 or PH_ENOMEM. */
int ph__svc_config_copy(svc_config *dst, const svc_config *src);

/* Records an error naming the value; fmt describes the problem. Also used by the Windows loaders. */
void ph__svc_cfg_error(svc_cfg_errors *errs, svc_value_id id, const char *source, const char *fmt, ...) PH_PRINTF(4, 5);
void ph__svc_cfg_error_other(svc_cfg_errors *errs, const char *fmt, ...) PH_PRINTF(2, 3);
/* A command-line mistake: the exit code becomes PH_EXIT_USAGE (64). */
void ph__svc_cfg_error_usage(svc_cfg_errors *errs, const char *fmt, ...) PH_PRINTF(2, 3);

/* Sets a DWORD value after a range check. source says where it came from ("registry", "--max-message").
 * Returns 0, or PH_EINVAL with an error recorded and cfg unchanged. */
int ph__svc_config_set_dword(svc_config *cfg, svc_value_id id, uint32_t value, const char *source, svc_cfg_errors *errs);
/* Sets a string value (UTF-8) after checking it: PipeName is normalised, LogLevel must be a level name,
 * Framing "message" or "length", LogFile must be a plain path on a local drive ("C:\\..."), lengths within range, no control characters. Returns 0 or PH_EINVAL/PH_ENOMEM. */
int ph__svc_config_set_string(svc_config *cfg, svc_value_id id, const char *value, const char *source,
                          svc_cfg_errors *errs);
/* Restricts VERB to the principals sddl grants (replacing an earlier entry for the same verb, compared
 * case-insensitively). Checks the verb's shape, the SDDL's length (1..4096) and control characters; the SDDL
 * rules themselves are the core's ph_sddl_check (ph__svc_config_check_sddl). Returns 0 or PH_EINVAL/PH_ENOMEM. */
int ph__svc_config_set_verb_sddl(svc_config *cfg, const char *verb, const char *sddl, const char *source,
                             svc_cfg_errors *errs);
/* Records an error about the per-verb descriptor of verb; kind is SVC_CFG_KIND_VERB_SDDL for a refused SDDL. */
void ph__svc_cfg_error_verb(svc_cfg_errors *errs, unsigned kind, const char *verb, const char *source, const char *fmt,
                        ...) PH_PRINTF(5, 6);
/* Sets a value from command-line text: DWORDs in decimal or 0x hex (timeouts also "never" where allowed). */
int ph__svc_config_set_text(svc_config *cfg, svc_value_id id, const char *text, const char *source, svc_cfg_errors *errs);
/* Checks the rules between values (PendingInstances <= MaxInstances, PreshutdownTimeoutMs > DrainTimeoutMs).
 * Returns 0 or PH_EINVAL with errors recorded. (Sddl against MaxInstances is ph__svc_config_check_sddl's, on
 * Windows: the SDDL rules are the core's.) */
int ph__svc_config_check(const svc_config *cfg, svc_cfg_errors *errs);

/* The protected prefix a full pipe name is under ("\\.\pipe\ProtectedPrefix\Administrators\x" ->
 * "Administrators"; also "LocalService", "NetworkService"), or NULL. Since Windows 10 1709 only Administrators
 * and SYSTEM, LocalService, or NetworkService respectively may create a pipe there (see ph_pipe_name_normalize). */
const char *ph__svc_pipe_protected_prefix(const char *pipe_name);

/* MaxInstances below 255 is a fixed pool of that many instances, all created at start; 255 is unlimited. */
#define SVC_UNLIMITED_INSTANCES 255u
/* "fixed N" or "unlimited", as STATUS and `pipehost status` show the pool. */
void ph__svc_config_pool_text(uint32_t max_instances, char *out, size_t size);
/* The settings an administrator checks first, for the start message: pool mode, framing, message limit,
 * per-user limit. */
void ph__svc_config_summary(const svc_config *c, char *out, size_t size);

/* The exit code for a refused configuration: PH_EXIT_USAGE when the command line itself is wrong,
 * PH_EXIT_SECURITY when only security descriptors (Sddl, the per-verb ones) were refused, else PH_EXIT_CONFIG. */
int ph__svc_cfg_errors_exit_code(const svc_cfg_errors *errs);

/* The core's limits and server configuration from ours (strings borrowed from cfg). */
void ph__svc_config_limits(const svc_config *cfg, ph_limits *out);
void ph__svc_config_server(const svc_config *cfg, ph_server_config *out);

/* Compares two configurations; calls fn for each value that differs (for PARAMCHANGE reports). */
typedef void (*svc_config_diff_fn)(void *ctx, const svc_value_def *def, const char *old_text, const char *new_text);
void ph__svc_config_diff(const svc_config *a, const svc_config *b, svc_config_diff_fn fn, void *ctx);
/* The value as text, for messages and diffs ("65536", "never", "\\.\pipe\x", "(default)"). */
void ph__svc_config_value_text(const svc_config *cfg, svc_value_id id, char *out, size_t size);

/* Parses a log level name (case-insensitive). Returns 0 or PH_EINVAL. */
int ph__svc_parse_log_level(const char *text, ph_log_level *out);
/* Parses a framing name, "message" or "length" (case-insensitive). Returns 0 or PH_EINVAL. */
int ph__svc_parse_framing(const char *text, ph_framing *out);
/* "message" or "length" ("?" for anything else). */
const char *ph__svc_framing_name(ph_framing framing);
/* Parses a DWORD: decimal or 0x hex digits only, no sign, no spaces, no overflow. Returns 0 or PH_EINVAL. */
int ph__svc_parse_dword(const char *text, uint32_t *out);

#endif /* PH_SVC_CONFIG_H */
