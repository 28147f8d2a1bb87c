/* fuzz_options.c — fuzz target: command-line parsing (service/options.c) of `run` and the client commands. */
#include "fuzz.h"

#include "options.h"

#include <string.h>

#define MAX_ARGS 32

/* Input: arguments separated by NUL bytes; the first is the command (argv[0]). Byte values are kept as they
 * are: a Windows command line reaches these parsers as UTF-8 of anything the user typed. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0, rc, i;
    size_t off = 0;
    svc_config cfg;
    svc_cfg_errors errs;
    svc_run_options opts;
    svc_cli_options cli;
    char why[200];

    /* Each argument in its own exact-size allocation, so a read past its NUL is caught. */
    while (off < size && argc < MAX_ARGS) {
        const uint8_t *z = memchr(data + off, '\0', size - off);
        size_t n = z ? (size_t)(z - (data + off)) : size - off;
        argv[argc] = malloc(n + 1);
        if (argv[argc] == NULL)
            goto out;
        memcpy(argv[argc], data + off, n);
        argv[argc][n] = '\0';
        argc++;
        off += n + 1;
    }
    argv[argc] = NULL;
    if (argc == 0)
        return 0;

    /* Both passes of `run`: the first reads only --service, --stop-event and --help; the second applies. */
    ph__svc_config_init(&cfg, NULL);
    memset(&errs, 0, sizeof(errs));
    rc = ph__svc_parse_run_options(argc, argv, 0, &cfg, &opts, &errs);
    FUZZ_CHECK(rc == 0 || rc == PH_EINVAL);
    FUZZ_CHECK(errs.count == 0 && cfg.set_mask == 0);
    rc = ph__svc_parse_run_options(argc, argv, 1, &cfg, &opts, &errs);
    FUZZ_CHECK(rc == 0 || rc == PH_EINVAL);
    FUZZ_CHECK((rc == 0) == (errs.count == 0));
    for (i = 0; i < (int)errs.count && i < SVC_CFG_MAX_ERRORS; i++)
        FUZZ_CHECK(memchr(errs.text[i], '\0', SVC_CFG_ERROR_TEXT) != NULL);
    FUZZ_CHECK(cfg.framing == PH_FRAMING_MESSAGE || cfg.framing == PH_FRAMING_LENGTH);
    if (rc == 0 && ph__svc_config_check(&cfg, &errs) == 0) {
        ph_limits limits;
        ph__svc_config_limits(&cfg, &limits);
        FUZZ_CHECK(ph_limits_validate(&limits) == 0);
    }
    ph__svc_config_free(&cfg);

    /* The client commands, with a roomy and a one-byte explanation buffer. */
    rc = ph__svc_parse_cli(argc, argv, &cli, why, sizeof(why));
    FUZZ_CHECK(rc == 0 || rc == PH_EINVAL || rc == PH_ENOMEM);
    FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
    if (rc == 0) {
        FUZZ_CHECK(cli.request != NULL && cli.request_len > 0 && strlen((char *)cli.request) == cli.request_len);
        FUZZ_CHECK(cli.timeout_ms >= 1 && cli.timeout_ms <= 3600000);
        /* Message framing unless --framing said otherwise. */
        FUZZ_CHECK(cli.framing == PH_FRAMING_MESSAGE || (cli.framing_set && cli.framing == PH_FRAMING_LENGTH));
        FUZZ_CHECK(why[0] == '\0');
    } else {
        FUZZ_CHECK(cli.request == NULL);
        FUZZ_CHECK(rc == PH_ENOMEM || why[0] != '\0');
    }
    ph__svc_cli_options_free(&cli);
    rc = ph__svc_parse_cli(argc, argv, &cli, why, 1);
    FUZZ_CHECK(why[0] == '\0');
    ph__svc_cli_options_free(&cli);

out:
    for (i = 0; i < argc; i++)
        free(argv[i]);
    return 0;
}
