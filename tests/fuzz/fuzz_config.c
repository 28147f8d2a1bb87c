/* fuzz_config.c — fuzz target: the service's configuration values (service/config.c) set from arbitrary text. */
#include "fuzz.h"

#include "config.h"

#include <string.h>

/* Input: lines. Each line's first byte chooses a value (or none: the id past the last one) and the rest is the
 * text for it, as it would come from the command line or the registry. Every few lines the text is also
 * looked up as a value name and an option and parsed as a number and a log level. */

static void check_errors(const svc_cfg_errors *errs)
{
    unsigned i;
    for (i = 0; i < errs->count && i < SVC_CFG_MAX_ERRORS; i++)
        FUZZ_CHECK(memchr(errs->text[i], '\0', SVC_CFG_ERROR_TEXT) != NULL);
}

static void on_diff(void *ctx, const svc_value_def *def, const char *old_text, const char *new_text)
{
    unsigned *n = ctx;
    FUZZ_CHECK(def != NULL && old_text != NULL && new_text != NULL && strcmp(old_text, new_text) != 0);
    (*n)++;
}

static void lookups(const char *text)
{
    const svc_value_def *def;
    ph_log_level lv;
    uint32_t v;

    def = ph__svc_value_by_name(text);
    FUZZ_CHECK(def == NULL || ph__svc_value_by_id(def->id) == def);
    def = ph__svc_value_by_option(text);
    FUZZ_CHECK(def == NULL || strcmp(def->option, text) == 0);
    if (ph__svc_parse_log_level(text, &lv) == 0)
        FUZZ_CHECK(lv >= PH_LOG_ERROR && lv <= PH_LOG_DEBUG);
    if (ph__svc_parse_dword(text, &v) == 0) {
        /* Only digits (0x-prefixed hex allowed): printing the value and parsing it again gives it back. */
        char again[16];
        uint32_t w = 0;
        snprintf(again, sizeof(again), "%lu", (unsigned long)v);
        FUZZ_CHECK(ph__svc_parse_dword(again, &w) == 0 && w == v);
        FUZZ_CHECK(text[0] >= '0' && text[0] <= '9');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    svc_config cfg, copy, defaults;
    svc_cfg_errors errs;
    ph_limits limits;
    ph_server_config server;
    size_t off = 0, line = 0;
    unsigned diffs = 0, i;
    char text[512], pipe[SVC_PIPE_NAME_SIZE];

    ph__svc_config_init(&cfg, "fuzz");
    ph__svc_config_init(&defaults, "fuzz");
    memset(&errs, 0, sizeof(errs));
    while (off < size && line < 64) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t end = nl ? (size_t)(nl - data) : size, n;
        svc_value_id id;
        svc_config before;
        int rc;

        if (end == off) { /* an empty line: no id byte */
            off++;
            continue;
        }
        id = (svc_value_id)(data[off] % (SVC_V_COUNT + 1));
        n = end - off - 1;
        if (n >= sizeof(text))
            n = sizeof(text) - 1;
        memcpy(text, data + off + 1, n);
        text[n] = '\0';
        off = end + 1;
        line++;

        FUZZ_CHECK(ph__svc_config_copy(&before, &cfg) == 0);
        rc = ph__svc_config_set_text(&cfg, id, text, "fuzz", &errs);
        FUZZ_CHECK(rc == 0 || rc == PH_EINVAL);
        if (rc == 0) {
            FUZZ_CHECK(cfg.set_mask & (1u << id));
        } else {
            /* A refused value leaves the configuration as it was. */
            char a[300], b[300];
            unsigned k;
            for (k = 0; k < SVC_V_COUNT; k++) {
                ph__svc_config_value_text(&before, (svc_value_id)k, a, sizeof(a));
                ph__svc_config_value_text(&cfg, (svc_value_id)k, b, sizeof(b));
                FUZZ_CHECK(strcmp(a, b) == 0);
            }
        }
        ph__svc_config_free(&before);
        if (line % 3 == 0)
            lookups(text);
    }
    check_errors(&errs);

    /* Whatever was accepted is within the core's own limits: the service never hands the core a value it
     * refuses. */
    ph__svc_config_limits(&cfg, &limits);
    FUZZ_CHECK(ph_limits_validate(&limits) == 0);
    FUZZ_CHECK(ph_pipe_name_normalize(cfg.pipe_name, pipe, sizeof(pipe)) == 0 && strcmp(pipe, cfg.pipe_name) == 0);
    ph__svc_config_server(&cfg, &server);
    FUZZ_CHECK(server.pending_instances >= 1 && server.max_instances >= 1 && server.max_instances <= 255);
    FUZZ_CHECK(server.framing == cfg.framing &&
               (cfg.framing == PH_FRAMING_MESSAGE || cfg.framing == PH_FRAMING_LENGTH));

    memset(&errs, 0, sizeof(errs));
    if (ph__svc_config_check(&cfg, &errs) == 0)
        FUZZ_CHECK(errs.count == 0 &&
                   cfg.preshutdown_timeout_ms >= (uint64_t)cfg.drain_timeout_ms + 1000);
    else
        FUZZ_CHECK(errs.count > 0 && ph__svc_cfg_errors_exit_code(&errs) != 0);
    check_errors(&errs);

    FUZZ_CHECK(ph__svc_config_copy(&copy, &cfg) == 0);
    ph__svc_config_diff(&cfg, &copy, on_diff, &diffs);
    FUZZ_CHECK(diffs == 0);
    ph__svc_config_diff(&defaults, &cfg, on_diff, &diffs);
    FUZZ_CHECK(diffs <= SVC_V_COUNT);
    /* Value texts fit any buffer, however small. */
    for (i = 0; i < SVC_V_COUNT; i++) {
        char tiny[3];
        ph__svc_config_value_text(&cfg, (svc_value_id)i, tiny, sizeof(tiny));
        FUZZ_CHECK(strlen(tiny) < sizeof(tiny));
    }
    ph__svc_config_free(&copy);
    ph__svc_config_free(&defaults);
    ph__svc_config_free(&cfg);
    return 0;
}
