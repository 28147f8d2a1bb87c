/* consumer.c — a program outside the pipehost tree: serves a verb on a pipe and calls it with the client.
 *
 *   consumer static|dll
 * Checks that it was compiled for the library form it links (PH_USING_DLL exactly for the DLL, and
 * pipehost.dll loaded or not), that the headers and the library agree on the version, and that a request
 * round-trips. Prints "consumer: ok" and exits 0, or says what failed and exits 1. */
#include <pipehost/pipehost.h>

#include <windows.h>

#include <stdio.h>
#include <string.h>

static ph_handler_result verb_hello(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    (void)ctx;
    (void)req;
    ph_response_ok(resp, "hello ", 6);
    ph_response_append(resp, payload, len);
    return PH_REPLY;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s: %s (%d)\n", what, ph_strerror(rc), rc);
    return 1;
}

int main(int argc, char **argv)
{
    int want_dll, rc, code = 1;
    char pipe[64];
    ph_router *router = NULL;
    ph_server *server = NULL;
    ph_client *client = NULL;
    ph_server_config cfg;
    ph_counters counters;
    unsigned char *resp = NULL;
    size_t resp_len = 0;

    if (argc != 2 || (strcmp(argv[1], "static") != 0 && strcmp(argv[1], "dll") != 0)) {
        fprintf(stderr, "usage: consumer static|dll\n");
        return 2;
    }
    want_dll = strcmp(argv[1], "dll") == 0;
#if defined(PH_USING_DLL)
    if (!want_dll) {
        fprintf(stderr, "consumer: compiled with PH_USING_DLL against the static library\n");
        return 1;
    }
#else
    if (want_dll) {
        fprintf(stderr, "consumer: the DLL's target did not give PH_USING_DLL\n");
        return 1;
    }
#endif
    if ((GetModuleHandleW(L"pipehost.dll") != NULL) != want_dll) {
        fprintf(stderr, "consumer: pipehost.dll is %sloaded\n", want_dll ? "not " : "");
        return 1;
    }
    if (ph_version() != PH_VERSION_HEX || strcmp(ph_version_string(), PH_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n", PH_VERSION_STRING, ph_version_string());
        return 1;
    }

    snprintf(pipe, sizeof(pipe), "ph-consumer-%lu", (unsigned long)GetCurrentProcessId());
    rc = ph_router_new(&router);
    if (rc == 0)
        rc = ph_router_add(router, "HELLO", verb_hello, NULL);
    if (rc != 0)
        return fail("router", rc);
    ph_server_config_init(&cfg);
    cfg.pipe_name = pipe;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = router;
    rc = ph_server_new(&cfg, &server);
    if (rc == 0)
        rc = ph_server_start(server);
    if (rc != 0) {
        code = fail("server", rc);
        goto out;
    }
    rc = ph_client_new(&client);
    if (rc == 0)
        rc = ph_client_connect(client, pipe, 10000, 0);
    if (rc == 0)
        rc = ph_client_transact(client, "HELLO world", 11, &resp, &resp_len, 10000, 0);
    if (rc != 0) {
        code = fail("client", rc);
        goto out;
    }
    if (resp_len != 14 || memcmp(resp, "OK hello world", 14) != 0) {
        fprintf(stderr, "consumer: unexpected answer \"%.*s\"\n", (int)resp_len, (const char *)resp);
        goto out;
    }
    ph_counters_init(&counters);
    rc = ph_server_counters(server, &counters);
    if (rc != 0 || counters.requests_total != 1) {
        fprintf(stderr, "consumer: counters rc %d, requests_total %llu\n", rc,
                (unsigned long long)counters.requests_total);
        goto out;
    }
    printf("consumer: ok (%s, pipehost %s)\n", want_dll ? "dll" : "static", ph_version_string());
    code = 0;
out:
    ph_free(resp);
    ph_client_free(client);
    ph_server_free(server);
    ph_router_free(router);
    return code;
}
