/* config.c — configuration values: the table of names, types, ranges and defaults, and strict validation. */
#include "config.h"

#include "exitcodes.h"

#include <pipehost/service.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per value. Ranges are inclusive. A DWORD out of range or a string that does not parse is refused:
 * the service never clamps, guesses or falls back to something weaker. */
static const svc_value_def value_defs[SVC_V_COUNT] = {
    {SVC_V_PIPE_NAME, "PipeName", "--pipe", SVC_T_STRING, 1, 265, "", 0, 0, NULL},
    {SVC_V_MAX_INSTANCES, "MaxInstances", "--max-instances", SVC_T_DWORD, 1, 255, "", 0, 0, NULL},
    {SVC_V_PENDING, "PendingInstances", "--pending-instances", SVC_T_DWORD, 1, 255, "", 0, 0, NULL},
    {SVC_V_THREADS, "Threads", "--threads", SVC_T_DWORD, 0, 64, "", 0, 0, NULL},
    {SVC_V_MAX_MESSAGE, "MaxMessageBytes", "--max-message", SVC_T_DWORD, 1, 64u * 1024 * 1024, "bytes", 1, 0, NULL},
    {SVC_V_IDLE_TIMEOUT, "IdleTimeoutMs", "--idle-timeout", SVC_T_DWORD, 100, SVC_INFINITE, "ms", 1, 1, NULL},
    {SVC_V_WRITE_TIMEOUT, "WriteTimeoutMs", "--write-timeout", SVC_T_DWORD, 100, 3600000, "ms", 1, 0, NULL},
    {SVC_V_DRAIN_TIMEOUT, "DrainTimeoutMs", "--drain-timeout", SVC_T_DWORD, 0, 300000, "ms", 1, 0, NULL},
    {SVC_V_PRESHUTDOWN, "PreshutdownTimeoutMs", "--preshutdown-timeout", SVC_T_DWORD, 1000, 3600000, "ms", 0, 0, NULL},
    {SVC_V_SDDL, "Sddl", "--sddl", SVC_T_STRING, 1, 4096, "", 0, 0, NULL},
    {SVC_V_LOG_LEVEL, "LogLevel", "--log-level", SVC_T_STRING, 1, 16, "", 1, 0, NULL},
    {SVC_V_LOG_FILE, "LogFile", "--log-file", SVC_T_STRING, 4, 1024, "", 0, 0, NULL},
    {SVC_V_LOG_MAX_BYTES, "LogMaxBytes", "--log-max-bytes", SVC_T_DWORD, 16384, 1024u * 1024 * 1024, "bytes", 1, 0,
     NULL},
    {SVC_V_FRAMING, "Framing", "--framing", SVC_T_STRING, 1, 16, "", 0, 0, NULL},
    {SVC_V_FIRST_REQUEST_TIMEOUT, "FirstRequestTimeoutMs", "--first-request-timeout-ms", SVC_T_DWORD, 100, 3600000,
     "ms", 1, 1, NULL},
    {SVC_V_MAX_CONN_PER_USER, "MaxConnectionsPerUser", "--max-connections-per-user", SVC_T_DWORD, 0, 255, "", 1, 0,
     NULL},
};

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int equal_nocase(const char *a, const char *b)
{
    while (*a && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static void shown(char *out, size_t size, const char *text);
static int has_control_chars(const char *s);

/* The host program's settings, after the built-in rows. Written once by ph__svc_config_declare_app_values at
 * program start, before any thread reads them; read-only afterwards. */
static svc_value_def app_defs[SVC_MAX_APP_VALUES];
static const ph_service_setting *app_src;
static unsigned app_count;

/* Only so many ids fit the error kinds' bits below SVC_CFG_KIND_USAGE. */
typedef char svc_app_ids_fit[(SVC_V_COUNT + SVC_MAX_APP_VALUES <= 28 &&
                              SVC_MAX_APP_VALUES == PH_SERVICE_MAX_SETTINGS) ? 1 : -1];

unsigned ph__svc_value_count(void)
{
    return SVC_V_COUNT + app_count;
}

int ph__svc_app_index(svc_value_id id)
{
    return (unsigned)id >= SVC_V_COUNT && (unsigned)id < SVC_V_COUNT + app_count ? (int)id - SVC_V_COUNT : -1;
}

const svc_value_def *ph__svc_value_by_id(svc_value_id id)
{
    if ((unsigned)id < SVC_V_COUNT)
        return &value_defs[id];
    return ph__svc_app_index(id) >= 0 ? &app_defs[(unsigned)id - SVC_V_COUNT] : NULL;
}

const svc_value_def *ph__svc_value_by_name(const char *name)
{
    unsigned i, n = ph__svc_value_count();
    for (i = 0; name != NULL && i < n; i++)
        if (equal_nocase(ph__svc_value_by_id((svc_value_id)i)->name, name))
            return ph__svc_value_by_id((svc_value_id)i);
    return NULL;
}

const svc_value_def *ph__svc_value_by_option(const char *option)
{
    unsigned i, n = ph__svc_value_count();
    for (i = 0; option != NULL && i < n; i++) {
        const svc_value_def *d = ph__svc_value_by_id((svc_value_id)i);
        if (d->option != NULL && strcmp(d->option, option) == 0)
            return d;
    }
    return NULL;
}

static const char *program_name = "pipehost";

void ph__svc_set_program(const char *program)
{
    program_name = program != NULL ? program : "pipehost";
}

const char *ph__svc_program(void)
{
    return program_name;
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Why one declaration is refused, or NULL. Names and options are checked like the built-in ones are spelt, so
 * every message, listing and registry value stays unambiguous. */
static const char *bad_declaration(const ph_service_setting *st)
{
    size_t i, n;

    if (st->name == NULL || (n = strlen(st->name)) == 0 || n > 40)
        return "a name is 1..40 letters and digits";
    for (i = 0; i < n; i++)
        if (!is_alnum(st->name[i]))
            return "a name is 1..40 letters and digits";
    if (ph__svc_value_by_name(st->name) != NULL)
        return "the name is already a configuration value (built-in, or declared twice)";
    if (st->option != NULL) {
        n = strlen(st->option);
        if (n < 3 || n > 42 || strncmp(st->option, "--", 2) != 0)
            return "an option is \"--\" followed by 1..40 of a-z, 0-9 and -";
        for (i = 2; i < n; i++)
            if (!((st->option[i] >= 'a' && st->option[i] <= 'z') || (st->option[i] >= '0' && st->option[i] <= '9') ||
                  st->option[i] == '-'))
                return "an option is \"--\" followed by 1..40 of a-z, 0-9 and -";
        if (ph__svc_value_by_option(st->option) != NULL || strcmp(st->option, "--service") == 0 ||
            strcmp(st->option, "--stop-event") == 0 || strcmp(st->option, "--help") == 0)
            return "the option is already taken";
    }
    if (st->type != PH_SETTING_DWORD && st->type != PH_SETTING_STRING)
        return "the type is PH_SETTING_DWORD or PH_SETTING_STRING";
    if (st->min > st->max)
        return "min is above max";
    if (st->type == PH_SETTING_DWORD && (st->default_dword < st->min || st->default_dword > st->max))
        return "the default is outside min..max";
    if (st->type == PH_SETTING_STRING && st->max > 1024)
        return "a string's max length is at most 1024";
    if (st->type == PH_SETTING_STRING && st->default_string != NULL &&
        (strlen(st->default_string) > 1024 || has_control_chars(st->default_string)))
        return "the default string is longer than 1024 characters or has control characters";
    return NULL;
}

static int bad_folder_name(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 60 || s[0] == ' ' || s[0] == '.' || s[n - 1] == ' ' || s[n - 1] == '.')
        return 1;
    for (i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != ' ' && s[i] != '.' && s[i] != '-' && s[i] != '_')
            return 1;
    return 0;
}

int ph__svc_check_app_names(const char *log_folder, const char *registry_root, const char *message_prefix, char *why,
                        size_t why_size)
{
    static const char rule[] = "1..60 letters, digits, spaces, '.', '-' or '_', not starting or ending with a space "
                               "or '.'";
    char show[48];

    if (log_folder != NULL && bad_folder_name(log_folder)) {
        shown(show, sizeof(show), log_folder);
        snprintf(why, why_size, "log_folder \"%s\" is not a folder name: %s", show, rule);
        return PH_EINVAL;
    }
    if (registry_root != NULL && bad_folder_name(registry_root)) {
        shown(show, sizeof(show), registry_root);
        snprintf(why, why_size, "registry_root \"%s\" is not a key name: %s", show, rule);
        return PH_EINVAL;
    }
    if (message_prefix != NULL &&
        (message_prefix[0] == '\0' || strlen(message_prefix) > 40 || has_control_chars(message_prefix))) {
        snprintf(why, why_size, "message_prefix is 1..40 characters without control characters");
        return PH_EINVAL;
    }
    return 0;
}

int ph__svc_config_declare_app_values(const ph_service_setting *settings, unsigned n, char *why, size_t why_size)
{
    unsigned i;

    app_count = 0;
    app_src = NULL;
    if (why_size > 0)
        why[0] = '\0';
    if (n == 0)
        return 0;
    if (settings == NULL || n > SVC_MAX_APP_VALUES) {
        snprintf(why, why_size, "%u settings declared: at most %d, and settings must not be NULL", n,
                 SVC_MAX_APP_VALUES);
        return PH_EINVAL;
    }
    /* Each one is checked against the built-in rows and those before it: app_count grows as they pass. */
    for (i = 0; i < n; i++) {
        const ph_service_setting *st = &settings[i];
        const char *bad = bad_declaration(st);
        svc_value_def *d = &app_defs[i];
        if (bad != NULL) {
            char show[48];
            shown(show, sizeof(show), st->name ? st->name : "(NULL)");
            snprintf(why, why_size, "setting %u (\"%s\") is not a valid declaration: %s", i + 1, show, bad);
            app_count = 0;
            return PH_EINVAL;
        }
        memset(d, 0, sizeof(*d));
        d->id = (svc_value_id)(SVC_V_COUNT + i);
        d->name = st->name;
        d->option = st->option;
        d->type = st->type == PH_SETTING_DWORD ? SVC_T_DWORD : SVC_T_STRING;
        d->min = st->min;
        d->max = st->max;
        d->unit = "";
        d->live = !st->restart;
        d->never = 0;
        d->help = st->help ? st->help : "";
        app_count = i + 1;
    }
    app_src = settings;
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void ph__svc_config_init(svc_config *cfg, const char *default_pipe)
{
    ph_server_config core;
    ph_limits lim;
    unsigned i;

    memset(cfg, 0, sizeof(*cfg));
    if (default_pipe == NULL || ph_pipe_name_normalize(default_pipe, cfg->pipe_name, sizeof(cfg->pipe_name)) != 0)
        (void)ph_pipe_name_normalize("pipehost", cfg->pipe_name, sizeof(cfg->pipe_name));
    /* The pool's defaults are the core's (a fixed pool or unlimited, and its size), so the service follows it. */
    ph_server_config_init(&core);
    ph_limits_init(&lim);
    cfg->max_instances = core.max_instances;
    cfg->pending_instances = core.pending_instances;
    cfg->threads = 0;
    cfg->max_message_bytes = (uint32_t)lim.max_message_bytes;
    cfg->idle_timeout_ms = lim.idle_timeout_ms;
    cfg->write_timeout_ms = lim.write_timeout_ms;
    cfg->drain_timeout_ms = lim.drain_timeout_ms;
    cfg->preshutdown_timeout_ms = 30000;
    cfg->sddl = NULL;
    cfg->log_level = PH_LOG_INFO;
    cfg->log_file = NULL;
    cfg->log_max_bytes = 10u * 1024 * 1024;
    cfg->framing = PH_FRAMING_MESSAGE;
    cfg->first_request_timeout_ms = lim.first_request_timeout_ms;
    cfg->max_connections_per_user = lim.max_connections_per_user;
    cfg->set_mask = 0;
    for (i = 0; i < app_count; i++)
        cfg->app_dword[i] = app_src[i].default_dword;
}

void ph__svc_config_free(svc_config *cfg)
{
    unsigned i;

    if (cfg == NULL)
        return;
    free(cfg->sddl);
    free(cfg->log_file);
    for (i = 0; i < cfg->verb_sddl_count; i++) {
        free(cfg->verb_sddls[i].verb);
        free(cfg->verb_sddls[i].sddl);
    }
    free(cfg->verb_sddls);
    for (i = 0; i < SVC_MAX_APP_VALUES; i++) {
        free(cfg->app_str[i]);
        cfg->app_str[i] = NULL;
    }
    cfg->sddl = NULL;
    cfg->log_file = NULL;
    cfg->verb_sddls = NULL;
    cfg->verb_sddl_count = 0;
}

int ph__svc_config_copy(svc_config *dst, const svc_config *src)
{
    unsigned i;
    int bad;

    *dst = *src;
    dst->sddl = src->sddl ? dup_str(src->sddl) : NULL;
    dst->log_file = src->log_file ? dup_str(src->log_file) : NULL;
    dst->verb_sddls = NULL;
    dst->verb_sddl_count = 0;
    bad = (src->sddl && !dst->sddl) || (src->log_file && !dst->log_file);
    for (i = 0; i < SVC_MAX_APP_VALUES; i++) {
        dst->app_str[i] = src->app_str[i] ? dup_str(src->app_str[i]) : NULL;
        bad = bad || (src->app_str[i] && !dst->app_str[i]);
    }
    if (!bad && src->verb_sddl_count > 0) {
        dst->verb_sddls = calloc(src->verb_sddl_count, sizeof(*dst->verb_sddls));
        bad = dst->verb_sddls == NULL;
        for (i = 0; !bad && i < src->verb_sddl_count; i++) {
            dst->verb_sddls[i].verb = dup_str(src->verb_sddls[i].verb);
            dst->verb_sddls[i].sddl = dup_str(src->verb_sddls[i].sddl);
            dst->verb_sddl_count = i + 1;
            bad = dst->verb_sddls[i].verb == NULL || dst->verb_sddls[i].sddl == NULL;
        }
    }
    if (bad) {
        ph__svc_config_free(dst);
        return PH_ENOMEM;
    }
    return 0;
}

static void add_error(svc_cfg_errors *errs, unsigned kind, const char *fmt, va_list ap) PH_PRINTF(3, 0);
static void add_error(svc_cfg_errors *errs, unsigned kind, const char *fmt, va_list ap)
{
    if (errs == NULL)
        return;
    if (errs->count < SVC_CFG_MAX_ERRORS)
        vsnprintf(errs->text[errs->count], SVC_CFG_ERROR_TEXT, fmt, ap);
    errs->count++;
    errs->kinds |= kind;
}

void ph__svc_cfg_error(svc_cfg_errors *errs, svc_value_id id, const char *source, const char *fmt, ...)
{
    char what[SVC_CFG_ERROR_TEXT - 96];
    const svc_value_def *def = ph__svc_value_by_id(id);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (errs == NULL)
        return;
    if (errs->count < SVC_CFG_MAX_ERRORS)
        snprintf(errs->text[errs->count], SVC_CFG_ERROR_TEXT, "invalid configuration value %s (%s): %s",
                 def ? def->name : "?", source ? source : "?", what);
    errs->count++;
    errs->kinds |= 1u << id;
}

void ph__svc_cfg_error_verb(svc_cfg_errors *errs, unsigned kind, const char *verb, const char *source, const char *fmt,
                        ...)
{
    char what[SVC_CFG_ERROR_TEXT - 96], show[48];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (errs == NULL)
        return;
    shown(show, sizeof(show), verb);
    if (errs->count < SVC_CFG_MAX_ERRORS)
        snprintf(errs->text[errs->count], SVC_CFG_ERROR_TEXT, "invalid per-verb security descriptor Verbs\\%s (%s): %s",
                 show, source ? source : "?", what);
    errs->count++;
    errs->kinds |= kind;
}

void ph__svc_cfg_error_other(svc_cfg_errors *errs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(errs, SVC_CFG_KIND_OTHER, fmt, ap);
    va_end(ap);
}

void ph__svc_cfg_error_usage(svc_cfg_errors *errs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(errs, SVC_CFG_KIND_USAGE, fmt, ap);
    va_end(ap);
}

int ph__svc_cfg_errors_exit_code(const svc_cfg_errors *errs)
{
    if (errs->count == 0)
        return PH_EXIT_OK;
    if (errs->kinds & SVC_CFG_KIND_USAGE)
        return PH_EXIT_USAGE;
    return (errs->kinds & ~((1u << SVC_V_SDDL) | SVC_CFG_KIND_VERB_SDDL)) == 0 ? PH_EXIT_SECURITY : PH_EXIT_CONFIG;
}

static void range_text(const svc_value_def *def, char *out, size_t size)
{
    if (def->max == SVC_INFINITE)
        snprintf(out, size, "%lu..%lu %s (%lu = never)", (unsigned long)def->min, (unsigned long)def->max, def->unit,
                 (unsigned long)SVC_INFINITE);
    else if (def->never)
        snprintf(out, size, "%lu..%lu %s, or %lu (never)", (unsigned long)def->min, (unsigned long)def->max,
                 def->unit, (unsigned long)SVC_INFINITE);
    else
        snprintf(out, size, "%lu..%lu%s%s", (unsigned long)def->min, (unsigned long)def->max, def->unit[0] ? " " : "",
                 def->unit);
}

int ph__svc_config_set_dword(svc_config *cfg, svc_value_id id, uint32_t value, const char *source, svc_cfg_errors *errs)
{
    const svc_value_def *def = ph__svc_value_by_id(id);
    char range[96];

    if (def == NULL || def->type != SVC_T_DWORD)
        return PH_EINVAL;
    if ((value < def->min || value > def->max) && !(def->never && value == SVC_INFINITE)) {
        range_text(def, range, sizeof(range));
        ph__svc_cfg_error(errs, id, source, "accepted range %s, given %lu", range, (unsigned long)value);
        return PH_EINVAL;
    }
    if (ph__svc_app_index(id) >= 0) {
        cfg->app_dword[ph__svc_app_index(id)] = value;
        cfg->set_mask |= 1u << id;
        return 0;
    }
    switch (id) {
    case SVC_V_MAX_INSTANCES: cfg->max_instances = value; break;
    case SVC_V_PENDING: cfg->pending_instances = value; break;
    case SVC_V_THREADS: cfg->threads = value; break;
    case SVC_V_MAX_MESSAGE: cfg->max_message_bytes = value; break;
    case SVC_V_IDLE_TIMEOUT: cfg->idle_timeout_ms = value; break;
    case SVC_V_WRITE_TIMEOUT: cfg->write_timeout_ms = value; break;
    case SVC_V_DRAIN_TIMEOUT: cfg->drain_timeout_ms = value; break;
    case SVC_V_PRESHUTDOWN: cfg->preshutdown_timeout_ms = value; break;
    case SVC_V_LOG_MAX_BYTES: cfg->log_max_bytes = value; break;
    case SVC_V_FIRST_REQUEST_TIMEOUT: cfg->first_request_timeout_ms = value; break;
    case SVC_V_MAX_CONN_PER_USER: cfg->max_connections_per_user = value; break;
    case SVC_V_PIPE_NAME:
    case SVC_V_SDDL:
    case SVC_V_LOG_LEVEL:
    case SVC_V_LOG_FILE:
    case SVC_V_FRAMING:
    case SVC_V_COUNT:
        return PH_EINVAL;
    }
    cfg->set_mask |= 1u << id;
    return 0;
}

/* A shortened, printable copy of untrusted text for a message. */
static void shown(char *out, size_t size, const char *text)
{
    size_t i, n = strlen(text), o = 0;

    for (i = 0; i < n && o + 4 < size; i++) {
        unsigned char c = (unsigned char)text[i];
        out[o++] = (char)((c < 0x20 || c == 0x7f) ? '?' : c);
    }
    if (i < n && size >= 4) {
        o = o > size - 4 ? size - 4 : o;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 1;
    return 0;
}

/* A device name as a path part ("CON", "nul.txt", "COM1.log"): Win32 opens the device, not a file. */
static int is_device_name(const char *part, size_t len)
{
    static const char *const names[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"};
    char base[8];
    size_t n = 0, i;

    while (n < len && part[n] != '.')
        n++;
    while (n > 0 && part[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof(base))
        return 0;
    for (i = 0; i < n; i++)
        base[i] = (char)((part[i] >= 'a' && part[i] <= 'z') ? part[i] - 'a' + 'A' : part[i]);
    base[n] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(base, names[i]) == 0)
            return 1;
    /* COM0..COM9, LPT0..LPT9, and the superscript digits Windows also maps (UTF-8 C2 B9, C2 B2, C2 B3). */
    if (n >= 4 && (strncmp(base, "COM", 3) == 0 || strncmp(base, "LPT", 3) == 0))
        return (n == 4 && base[3] >= '0' && base[3] <= '9') ||
               (n == 5 && (unsigned char)base[3] == 0xC2 &&
                ((unsigned char)base[4] == 0xB9 || (unsigned char)base[4] == 0xB2 || (unsigned char)base[4] == 0xB3));
    return 0;
}

/* LogFile: a plain path on a local drive, "X:\dir\file" ('/' also separates). The service runs as SYSTEM and
 * creates, appends to and renames this file, so every other form is refused, with the reason in *why: a
 * relative path (it would depend on the working directory, System32), a UNC path (the service would connect
 * out as the computer account), "\\.\" and "\\?\" paths (a pipe or device, and no normalisation), "." and
 * ".." parts, empty parts, a part ending in a dot or a space (Win32 strips them: the file opened would not be
 * the one named), device names (CON, NUL, COM1...), ':' after the drive (an alternate data stream) and the
 * wildcard characters. Returns 1 when p is accepted. */
static int is_local_log_path(const char *p, const char **why)
{
    const char *part;
    size_t len;

    if (p[0] == '\\' || p[0] == '/') {
        *why = (p[1] == '\\' || p[1] == '/') ? ((p[2] == '.' || p[2] == '?') ? "a device, pipe or \"\\\\?\\\" path"
                                                                          : "a UNC (network) path")
                                             : "a path without a drive";
        return 0;
    }
    if (!(((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':' &&
          (p[2] == '\\' || p[2] == '/'))) {
        *why = "a relative path";
        return 0;
    }
    for (part = p + 3;; part += len + 1) {
        for (len = 0; part[len] != '\0' && part[len] != '\\' && part[len] != '/'; len++)
            if (strchr(":*?\"<>|", part[len]) != NULL) {
                *why = "it holds one of the characters :*?\"<>| after the drive";
                return 0;
            }
        if (len == 0) {
            *why = part[0] == '\0' ? "it names a folder, not a file" : "it has an empty part (two separators)";
            return 0;
        }
        if ((len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.')) {
            *why = "it has a \".\" or \"..\" part";
            return 0;
        }
        if (part[len - 1] == '.' || part[len - 1] == ' ') {
            *why = "a part ends in a dot or a space (Windows would open another name)";
            return 0;
        }
        if (is_device_name(part, len)) {
            *why = "a part is a device name (CON, PRN, AUX, NUL, COM1..9, LPT1..9, CONIN$, CONOUT$)";
            return 0;
        }
        if (part[len] == '\0')
            break;
    }
    return 1;
}

int ph__svc_parse_log_level(const char *text, ph_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (equal_nocase(names[i], text)) {
            *out = (ph_log_level)i;
            return 0;
        }
    if (equal_nocase(text, "warning")) {
        *out = PH_LOG_WARN;
        return 0;
    }
    return PH_EINVAL;
}

int ph__svc_parse_framing(const char *text, ph_framing *out)
{
    if (equal_nocase(text, "message")) {
        *out = PH_FRAMING_MESSAGE;
        return 0;
    }
    if (equal_nocase(text, "length")) {
        *out = PH_FRAMING_LENGTH;
        return 0;
    }
    return PH_EINVAL;
}

const char *ph__svc_framing_name(ph_framing framing)
{
    switch (framing) {
    case PH_FRAMING_MESSAGE: return "message";
    case PH_FRAMING_LENGTH: return "length";
    }
    return "?";
}

int ph__svc_config_set_string(svc_config *cfg, svc_value_id id, const char *value, const char *source,
                          svc_cfg_errors *errs)
{
    const svc_value_def *def = ph__svc_value_by_id(id);
    char show[80];
    size_t n;

    if (def == NULL || def->type != SVC_T_STRING || value == NULL)
        return PH_EINVAL;
    n = strlen(value);
    shown(show, sizeof(show), value);
    /* PipeName's length rule is the core's (1..PH_PIPE_NAME_MAX after the prefix), said once below. */
    if (id != SVC_V_PIPE_NAME && (n < def->min || n > def->max)) {
        ph__svc_cfg_error(errs, id, source, "accepted length %lu..%lu characters, given %zu characters (\"%s\")",
                      (unsigned long)def->min, (unsigned long)def->max, n, show);
        return PH_EINVAL;
    }
    if (has_control_chars(value)) {
        ph__svc_cfg_error(errs, id, source, "control characters are not accepted, given \"%s\"", show);
        return PH_EINVAL;
    }
    if (ph__svc_app_index(id) >= 0) {
        char *copy = dup_str(value);
        if (copy == NULL)
            return PH_ENOMEM;
        free(cfg->app_str[ph__svc_app_index(id)]);
        cfg->app_str[ph__svc_app_index(id)] = copy;
        cfg->set_mask |= 1u << id;
        return 0;
    }
    switch (id) {
    case SVC_V_PIPE_NAME: {
        char full[SVC_PIPE_NAME_SIZE];
        if (ph_pipe_name_normalize(value, full, sizeof(full)) != 0) {
            ph__svc_cfg_error(errs, id, source,
                          "accepted a local pipe name, bare (\"pipehost\") or full (\"\\\\.\\pipe\\pipehost\"), "
                          "1..%d characters without '\\' or '/' except after a protected prefix "
                          "(\"ProtectedPrefix\\Administrators\\NAME\", or LocalService or NetworkService "
                          "instead of Administrators), given \"%s\"", PH_PIPE_NAME_MAX, show);
            return PH_EINVAL;
        }
        memcpy(cfg->pipe_name, full, strlen(full) + 1);
        break;
    }
    case SVC_V_SDDL: {
        /* Only copied here: the rules (a real, non-empty DACL that gives no ordinary user the rights to squat
         * or take over the pipe) are the core's ph_sddl_check, applied by ph__svc_config_check_sddl on Windows. */
        char *copy = dup_str(value);
        if (copy == NULL)
            return PH_ENOMEM;
        free(cfg->sddl);
        cfg->sddl = copy;
        break;
    }
    case SVC_V_LOG_LEVEL: {
        ph_log_level lv;
        if (ph__svc_parse_log_level(value, &lv) != 0) {
            ph__svc_cfg_error(errs, id, source, "accepted error, warn, info or debug, given \"%s\"", show);
            return PH_EINVAL;
        }
        cfg->log_level = lv;
        break;
    }
    case SVC_V_FRAMING: {
        ph_framing f;
        if (ph__svc_parse_framing(value, &f) != 0) {
            ph__svc_cfg_error(errs, id, source, "accepted message or length, given \"%s\"", show);
            return PH_EINVAL;
        }
        cfg->framing = f;
        break;
    }
    case SVC_V_LOG_FILE: {
        char *copy;
        const char *why = "";
        if (!is_local_log_path(value, &why)) {
            ph__svc_cfg_error(errs, id, source, "accepted an absolute path on a local drive (\"C:\\...\\NAME.log\"), "
                          "given \"%s\": refused, %s", show, why);
            return PH_EINVAL;
        }
        copy = dup_str(value);
        if (copy == NULL)
            return PH_ENOMEM;
        free(cfg->log_file);
        cfg->log_file = copy;
        break;
    }
    case SVC_V_MAX_INSTANCES:
    case SVC_V_PENDING:
    case SVC_V_THREADS:
    case SVC_V_MAX_MESSAGE:
    case SVC_V_IDLE_TIMEOUT:
    case SVC_V_WRITE_TIMEOUT:
    case SVC_V_DRAIN_TIMEOUT:
    case SVC_V_PRESHUTDOWN:
    case SVC_V_LOG_MAX_BYTES:
    case SVC_V_FIRST_REQUEST_TIMEOUT:
    case SVC_V_MAX_CONN_PER_USER:
    case SVC_V_COUNT:
        return PH_EINVAL;
    }
    cfg->set_mask |= 1u << id;
    return 0;
}

int ph__svc_parse_dword(const char *text, uint32_t *out)
{
    unsigned long long v = 0;
    int base = 10;
    const char *p = text;

    if (text == NULL || *text == '\0')
        return PH_EINVAL;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (*p == '\0')
            return PH_EINVAL;
    }
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return PH_EINVAL;
        v = v * (unsigned)base + (unsigned)d;
        if (v > 0xFFFFFFFFull)
            return PH_EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

int ph__svc_config_set_text(svc_config *cfg, svc_value_id id, const char *text, const char *source, svc_cfg_errors *errs)
{
    const svc_value_def *def = ph__svc_value_by_id(id);
    uint32_t v;
    char show[80], range[96];

    if (def == NULL || text == NULL)
        return PH_EINVAL;
    if (def->type == SVC_T_STRING)
        return ph__svc_config_set_string(cfg, id, text, source, errs);
    if (def->never && (equal_nocase(text, "never") || equal_nocase(text, "infinite")))
        return ph__svc_config_set_dword(cfg, id, SVC_INFINITE, source, errs);
    if (ph__svc_parse_dword(text, &v) != 0) {
        shown(show, sizeof(show), text);
        range_text(def, range, sizeof(range));
        ph__svc_cfg_error(errs, id, source, "accepted a whole number in %s, given \"%s\"", range, show);
        return PH_EINVAL;
    }
    return ph__svc_config_set_dword(cfg, id, v, source, errs);
}

int ph__svc_config_set_verb_sddl(svc_config *cfg, const char *verb, const char *sddl, const char *source,
                             svc_cfg_errors *errs)
{
    size_t i, n, len;
    char show[80];
    svc_verb_sddl *slot = NULL;
    char *v, *d;

    if (cfg == NULL || verb == NULL || sddl == NULL)
        return PH_EINVAL;
    n = strlen(verb);
    for (i = 0; i < n; i++)
        if (verb[i] <= ' ' || verb[i] >= 0x7f)
            break;
    if (n == 0 || n > 32 || i < n) {
        ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_OTHER, verb, source,
                           "a verb name is 1..32 printable ASCII characters without spaces");
        return PH_EINVAL;
    }
    len = strlen(sddl);
    shown(show, sizeof(show), sddl);
    if (len == 0 || len > 4096 || has_control_chars(sddl)) {
        ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_VERB_SDDL, verb, source,
                           "accepted an SDDL string of 1..4096 characters without control characters, given \"%s\"",
                           show);
        return PH_EINVAL;
    }
    for (i = 0; i < cfg->verb_sddl_count; i++)
        if (equal_nocase(cfg->verb_sddls[i].verb, verb))
            slot = &cfg->verb_sddls[i];
    if (slot == NULL && cfg->verb_sddl_count >= SVC_MAX_VERB_SDDLS) {
        ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_OTHER, verb, source, "at most %d verbs can be restricted",
                           SVC_MAX_VERB_SDDLS);
        return PH_EINVAL;
    }
    v = dup_str(verb);
    d = dup_str(sddl);
    if (v == NULL || d == NULL) {
        free(v);
        free(d);
        return PH_ENOMEM;
    }
    if (slot == NULL) {
        svc_verb_sddl *grown = realloc(cfg->verb_sddls, (cfg->verb_sddl_count + 1) * sizeof(*grown));
        if (grown == NULL) {
            free(v);
            free(d);
            return PH_ENOMEM;
        }
        cfg->verb_sddls = grown;
        slot = &grown[cfg->verb_sddl_count++];
    } else {
        free(slot->verb);
        free(slot->sddl);
    }
    slot->verb = v;
    slot->sddl = d;
    return 0;
}

int ph__svc_config_check(const svc_config *cfg, svc_cfg_errors *errs)
{
    int rc = 0;

    /* (PendingInstances needs no check against MaxInstances: it is the unlimited pool's, MaxInstances 255, and
     * a fixed pool's instances all wait.) */
    /* At preshutdown the system waits this long for us; a drain that could outlast it would be cut off. */
    if (cfg->preshutdown_timeout_ms < (uint64_t)cfg->drain_timeout_ms + 1000) {
        ph__svc_cfg_error(errs, SVC_V_PRESHUTDOWN, "with DrainTimeoutMs",
                      "accepted at least DrainTimeoutMs + 1000 (%lu ms), given %lu ms",
                      (unsigned long)cfg->drain_timeout_ms + 1000ul, (unsigned long)cfg->preshutdown_timeout_ms);
        rc = PH_EINVAL;
    }
    return rc;
}

void ph__svc_config_limits(const svc_config *cfg, ph_limits *out)
{
    ph_limits_init(out);
    out->max_message_bytes = cfg->max_message_bytes;
    out->idle_timeout_ms = cfg->idle_timeout_ms;
    out->write_timeout_ms = cfg->write_timeout_ms;
    out->drain_timeout_ms = cfg->drain_timeout_ms;
    out->first_request_timeout_ms = cfg->first_request_timeout_ms;
    out->max_connections_per_user = cfg->max_connections_per_user;
}

void ph__svc_config_server(const svc_config *cfg, ph_server_config *out)
{
    ph_server_config_init(out);
    out->pipe_name = cfg->pipe_name;
    out->max_instances = cfg->max_instances;
    out->pending_instances = cfg->pending_instances;
    out->threads = cfg->threads;
    out->sddl = cfg->sddl;
    ph__svc_config_limits(cfg, &out->limits);
    out->log_level = cfg->log_level;
    out->framing = cfg->framing;
}

void ph__svc_config_value_text(const svc_config *cfg, svc_value_id id, char *out, size_t size)
{
    const svc_value_def *def;
    uint32_t v = 0;
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    int app = ph__svc_app_index(id);

    if (app >= 0 && app_src[app].type == PH_SETTING_STRING) {
        const char *text = cfg->app_str[app] ? cfg->app_str[app]
                           : app_src[app].default_string ? app_src[app].default_string : "";
        snprintf(out, size, "%s", text);
        return;
    }
    if (app >= 0) {
        snprintf(out, size, "%lu", (unsigned long)cfg->app_dword[app]);
        return;
    }
    switch (id) {
    case SVC_V_PIPE_NAME: snprintf(out, size, "%s", cfg->pipe_name); return;
    case SVC_V_SDDL: snprintf(out, size, "%s", cfg->sddl ? cfg->sddl : "(default)"); return;
    case SVC_V_LOG_FILE: snprintf(out, size, "%s", cfg->log_file ? cfg->log_file : "(default)"); return;
    case SVC_V_LOG_LEVEL:
        snprintf(out, size, "%s", (unsigned)cfg->log_level < 4 ? levels[cfg->log_level] : "?");
        return;
    case SVC_V_FRAMING: snprintf(out, size, "%s", ph__svc_framing_name(cfg->framing)); return;
    case SVC_V_MAX_INSTANCES: v = cfg->max_instances; break;
    case SVC_V_PENDING: v = cfg->pending_instances; break;
    case SVC_V_THREADS: v = cfg->threads; break;
    case SVC_V_MAX_MESSAGE: v = cfg->max_message_bytes; break;
    case SVC_V_IDLE_TIMEOUT: v = cfg->idle_timeout_ms; break;
    case SVC_V_WRITE_TIMEOUT: v = cfg->write_timeout_ms; break;
    case SVC_V_DRAIN_TIMEOUT: v = cfg->drain_timeout_ms; break;
    case SVC_V_PRESHUTDOWN: v = cfg->preshutdown_timeout_ms; break;
    case SVC_V_LOG_MAX_BYTES: v = cfg->log_max_bytes; break;
    case SVC_V_FIRST_REQUEST_TIMEOUT: v = cfg->first_request_timeout_ms; break;
    case SVC_V_MAX_CONN_PER_USER: v = cfg->max_connections_per_user; break;
    case SVC_V_COUNT: snprintf(out, size, "?"); return;
    }
    def = ph__svc_value_by_id(id);
    if (def != NULL && def->never && v == SVC_INFINITE)
        snprintf(out, size, "never");
    else
        snprintf(out, size, "%lu", (unsigned long)v);
}

const char *ph__svc_pipe_protected_prefix(const char *pipe_name)
{
    static const char *const accounts[] = {"Administrators", "LocalService", "NetworkService"};
    static const char head[] = PH_PIPE_PREFIX "ProtectedPrefix\\";
    char full[SVC_PIPE_NAME_SIZE];
    size_t i, n;

    /* Normalised first: the prefix's words then have one spelling, and a name that is not one is no name. */
    if (pipe_name == NULL || ph_pipe_name_normalize(pipe_name, full, sizeof(full)) != 0 ||
        strncmp(full, head, sizeof(head) - 1) != 0)
        return NULL;
    for (i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++) {
        n = strlen(accounts[i]);
        if (strncmp(full + sizeof(head) - 1, accounts[i], n) == 0 && full[sizeof(head) - 1 + n] == '\\')
            return accounts[i];
    }
    return NULL;
}

void ph__svc_config_pool_text(uint32_t max_instances, char *out, size_t size)
{
    if (max_instances >= SVC_UNLIMITED_INSTANCES)
        snprintf(out, size, "unlimited");
    else
        snprintf(out, size, "fixed %lu", (unsigned long)max_instances);
}

void ph__svc_config_summary(const svc_config *c, char *out, size_t size)
{
    char pool[32], users[32];

    ph__svc_config_pool_text(c->max_instances, pool, sizeof(pool));
    if (c->max_connections_per_user == 0)
        snprintf(users, sizeof(users), "no per-user limit");
    else
        snprintf(users, sizeof(users), "%lu per user", (unsigned long)c->max_connections_per_user);
    snprintf(out, size, "pool %s, %s framing, messages up to %lu bytes, %s", pool, ph__svc_framing_name(c->framing),
             (unsigned long)c->max_message_bytes, users);
}

void ph__svc_config_diff(const svc_config *a, const svc_config *b, svc_config_diff_fn fn, void *ctx)
{
    char ta[4200], tb[4200]; /* the longest value (Sddl, 4096) whole: a change at its end is a change */
    size_t i;

    for (i = 0; i < ph__svc_value_count(); i++) {
        ph__svc_config_value_text(a, (svc_value_id)i, ta, sizeof(ta));
        ph__svc_config_value_text(b, (svc_value_id)i, tb, sizeof(tb));
        if (strcmp(ta, tb) != 0)
            fn(ctx, ph__svc_value_by_id((svc_value_id)i), ta, tb);
    }
}
