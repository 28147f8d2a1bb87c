/* test_svc_verbs.c — the service host's built-in verbs added with one call to a server built on the core alone. */
#include "testsupport.h"

#include <windows.h>

#include <pipehost/service.h>

#include <stdio.h>
#include <string.h>

static char *transact(const char *pipe, const char *req, size_t len, size_t *resp_len)
{
    ph_client *c = NULL;
    unsigned char *resp = NULL;

    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, pipe, 10000, 0), 0);
    ck_assert_int_eq(ph_client_transact(c, req, len, &resp, resp_len, 10000, 0), 0);
    ph_client_free(c);
    return (char *)resp;
}

/* Without the call a core-only server knows no verb; with it, PING, ECHO, STATUS and WHOAMI answer as in the
 * service, and verbs added afterwards sit next to them. */
START_TEST(builtin_verbs_on_own_server)
{
    char name[128], full[200], want[260];
    ph_router *router = NULL;
    ph_server *server = NULL;
    ph_server_config cfg;
    char *resp;
    size_t len = 0;

    ph_test_pipe_name(name, sizeof(name), "builtins");
    snprintf(full, sizeof(full), "\\\\.\\pipe\\%s", name);
    ck_assert_int_eq(ph_router_new(&router), 0);
    ck_assert_int_eq(ph_service_add_builtin_verbs(NULL, &server), PH_EINVAL);
    ck_assert_int_eq(ph_service_add_builtin_verbs(router, NULL), PH_EINVAL);
    ck_assert_int_eq(ph_service_add_builtin_verbs(router, &server), 0);
    ph_server_config_init(&cfg);
    cfg.pipe_name = name;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = router;
    ck_assert_int_eq(ph_server_new(&cfg, &server), 0);
    ck_assert_int_eq(ph_server_start(server), 0);

    resp = transact(name, "PING", 4, &len);
    ck_assert_str_eq(resp, "OK PONG");
    ph_free(resp);
    resp = transact(name, "ECHO a\0b", 8, &len);
    ck_assert(len == 6 && memcmp(resp, "OK a\0b", 6) == 0);
    ph_free(resp);
    resp = transact(name, "STATUS", 6, &len);
    snprintf(want, sizeof(want), "\npipe=%s\n", full);
    ck_assert_msg(strncmp(resp, "OK version=" PH_VERSION_STRING "\nservice=\n", 21 + strlen(PH_VERSION_STRING)) == 0 &&
                      strstr(resp, want) != NULL && strstr(resp, "\nrequests_total=3\n") != NULL &&
                      strstr(resp, "\nuptime_ms=") != NULL,
                  "%s", resp);
    /* The limits in force, the later ones too; the pool is the service host's to tell (it holds the
     * configuration), so a host program's own server leaves pool= out. */
    ck_assert_msg(strstr(resp, "\ndrain_timeout_ms=5000\nfirst_request_timeout_ms=10000\nmax_connections_per_user=64\n") !=
                      NULL && strstr(resp, "pool=") == NULL,
                  "%s", resp);
    ph_free(resp);
    resp = transact(name, "WHOAMI", 6, &len);
    snprintf(want, sizeof(want), "OK pid=%lu\n", (unsigned long)GetCurrentProcessId());
    ck_assert_msg(strncmp(resp, want, strlen(want)) == 0 && strstr(resp, "\nsid=S-1-") != NULL, "%s", resp);
    ph_free(resp);
    ph_server_free(server);
    ph_router_free(router);
}
END_TEST

/* The same server without the call: what a developer meets first. */
START_TEST(core_alone_has_no_verbs)
{
    char name[128];
    ph_router *router = NULL;
    ph_server *server = NULL;
    ph_server_config cfg;
    char *resp;
    size_t len = 0;

    ph_test_pipe_name(name, sizeof(name), "noverbs");
    ck_assert_int_eq(ph_router_new(&router), 0);
    ph_server_config_init(&cfg);
    cfg.pipe_name = name;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = router;
    ck_assert_int_eq(ph_server_new(&cfg, &server), 0);
    ck_assert_int_eq(ph_server_start(server), 0);
    resp = transact(name, "PING", 4, &len);
    ck_assert_msg(strncmp(resp, "ERR unknown-verb", 16) == 0, "%s", resp);
    ph_free(resp);
    ph_server_free(server);
    ph_router_free(router);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("svc_verbs");
    TCase *tc;

    tc = tcase_create("builtin_verbs_on_own_server");
    tcase_add_test(tc, builtin_verbs_on_own_server);
    suite_add_tcase(s, tc);
    tc = tcase_create("core_alone_has_no_verbs");
    tcase_add_test(tc, core_alone_has_no_verbs);
    suite_add_tcase(s, tc);
    return s;
}
