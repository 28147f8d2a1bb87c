/* appstate.c — the host program's view of the running service: settings in force, service name and logger. */
#include "appstate.h"

#include "winutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One service per process (as svc.c's state): this is the one place a handler on any thread reads what the
 * worker publishes. Readers take the lock shared and copy out, so a reload never tears a value and never
 * frees a string being read. */
static SRWLOCK lock = SRWLOCK_INIT;
static uint32_t dwords[SVC_MAX_APP_VALUES];
static char *strings[SVC_MAX_APP_VALUES]; /* NULL: the declared default */
static svc_log *current_log;
static char service_name[260]; /* a service name is at most 256 characters */
/* The identity: set once by ph_service_main before any other thread runs, read-only afterwards. */
static const char *prefix = "pipehost", *product = "pipehost";
static wchar_t log_folder[64] = L"pipehost", registry_root[64] = L"pipehost";

void ph__svc_appstate_set_app(const ph_service_app *app)
{
    if (app == NULL)
        return;
    ph__svc_set_program(app->program);
    if (app->program != NULL)
        prefix = product = app->program;
    if (app->message_prefix != NULL)
        prefix = app->message_prefix;
    if (app->product != NULL)
        product = app->product;
    /* Checked by svc_appstate_check_app first: short, and characters that are safe in a path and a key. */
    if (app->log_folder != NULL)
        MultiByteToWideChar(CP_UTF8, 0, app->log_folder, -1, log_folder, (int)(sizeof(log_folder) / sizeof(wchar_t)));
    if (app->registry_root != NULL)
        MultiByteToWideChar(CP_UTF8, 0, app->registry_root, -1, registry_root,
                            (int)(sizeof(registry_root) / sizeof(wchar_t)));
}

const char *ph__svc_message_prefix(void)
{
    return prefix;
}

static void say(FILE *f, const char *fmt, va_list ap) PH_PRINTF(2, 0);
static void say(FILE *f, const char *fmt, va_list ap)
{
    /* A stream that cannot be written has nowhere left to report to: the message is dropped. */
    if (fputs(prefix, f) != EOF)
        (void)vfprintf(f, fmt, ap);
}

void ph__svc_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(stderr, fmt, ap);
    va_end(ap);
}

void ph__svc_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(stdout, fmt, ap);
    va_end(ap);
}

const char *ph__svc_product_name(void)
{
    return product;
}

const wchar_t *ph__svc_log_folder(void)
{
    return log_folder;
}

const wchar_t *ph__svc_registry_root(void)
{
    return registry_root;
}

int ph__svc_appstate_publish(const svc_config *cfg)
{
    char *copies[SVC_MAX_APP_VALUES];
    unsigned i;
    int rc = 0;

    for (i = 0; i < SVC_MAX_APP_VALUES; i++) {
        copies[i] = NULL;
        if (cfg->app_str[i] != NULL) {
            size_t n = strlen(cfg->app_str[i]) + 1;
            copies[i] = malloc(n);
            if (copies[i] == NULL)
                rc = PH_ENOMEM;
            else
                memcpy(copies[i], cfg->app_str[i], n);
        }
    }
    if (rc != 0) {
        for (i = 0; i < SVC_MAX_APP_VALUES; i++)
            free(copies[i]);
        return rc;
    }
    AcquireSRWLockExclusive(&lock);
    for (i = 0; i < SVC_MAX_APP_VALUES; i++) {
        char *old = strings[i];
        strings[i] = copies[i];
        copies[i] = old;
        dwords[i] = cfg->app_dword[i];
    }
    ReleaseSRWLockExclusive(&lock);
    for (i = 0; i < SVC_MAX_APP_VALUES; i++)
        free(copies[i]);
    return 0;
}

void ph__svc_appstate_attach(svc_log *log, const char *service)
{
    AcquireSRWLockExclusive(&lock);
    current_log = log;
    snprintf(service_name, sizeof(service_name), "%s", service ? service : "");
    ReleaseSRWLockExclusive(&lock);
}

void ph__svc_appstate_detach(void)
{
    AcquireSRWLockExclusive(&lock);
    current_log = NULL;
    ReleaseSRWLockExclusive(&lock);
}

/* The declaration of the program's setting name, if it has that type. */
static int app_setting(const char *name, svc_value_type type)
{
    const svc_value_def *d = ph__svc_value_by_name(name);
    int i = d != NULL ? ph__svc_app_index(d->id) : -1;

    return i >= 0 && d->type == type ? i : -1;
}

int ph_service_setting_dword(const char *name, uint32_t *out)
{
    int i = app_setting(name, SVC_T_DWORD);

    if (i < 0 || out == NULL)
        return PH_EINVAL;
    AcquireSRWLockShared(&lock);
    *out = dwords[i];
    ReleaseSRWLockShared(&lock);
    return 0;
}

int ph_service_setting_string(const char *name, char *buf, size_t size)
{
    int i = app_setting(name, SVC_T_STRING), rc = 0;
    svc_config defaults;
    char def[1100];
    const char *text;
    size_t n;

    if (i < 0 || buf == NULL || size == 0)
        return PH_EINVAL;
    /* The declared default, as the configuration table spells it (kept there, not here). */
    ph__svc_config_init(&defaults, NULL);
    ph__svc_config_value_text(&defaults, (svc_value_id)(SVC_V_COUNT + (unsigned)i), def, sizeof(def));
    ph__svc_config_free(&defaults);
    AcquireSRWLockShared(&lock);
    text = strings[i] != NULL ? strings[i] : def;
    n = strlen(text);
    if (n >= size) {
        buf[0] = '\0';
        rc = PH_ETOOBIG;
    } else {
        memcpy(buf, text, n + 1);
    }
    ReleaseSRWLockShared(&lock);
    return rc;
}

const char *ph_service_name(void)
{
    /* Written only while no handler runs (before the server starts); stable storage, never freed. */
    return service_name;
}

void ph_service_log(ph_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n;

    if (fmt == NULL)
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    AcquireSRWLockShared(&lock);
    if (current_log != NULL)
        ph__svc_log_msg(current_log, level, "%s", msg);
    else
        ph__svc_err(": %s\n", msg);
    ReleaseSRWLockShared(&lock);
}
