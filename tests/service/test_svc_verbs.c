/* test_svc_verbs.c — the service host's built-in verbs added with one call to a server built on the core alone. */
#include "testsupport.h"

#include <windows.h>

#include <sddl.h>

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

/* STATUS is for administrators by default (PH_SERVICE_STATUS_SDDL: it tells the version, the pid, everyone's
 * traffic and changed settings); HEALTH answers anyone; a host program can open STATUS again. The descriptor
 * is checked against an ordinary user's token with AccessCheck (which Wine evaluates), then through the pipe
 * with that token impersonated while connecting, which is what the server checks. */
START_TEST(status_for_admins_health_for_all)
{
    char name[128];
    ph_router *router = NULL;
    ph_server *server = NULL;
    ph_server_config cfg;
    HANDLE user;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    char *text;
    size_t len = 0;
    int admin, rc, not_shown;

    /* The default descriptor: SYSTEM and an elevated administrator, nobody else. */
    admin = ph_test_descriptor_grants(PH_SERVICE_STATUS_SDDL, FILE_READ_DATA);
    ph_test_pipe_name(name, sizeof(name), "statusadm");
    ck_assert_int_eq(ph_router_new(&router), 0);
    ck_assert_int_eq(ph_service_add_builtin_verbs(router, &server), 0);
    ph_server_config_init(&cfg);
    cfg.pipe_name = name;
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = router;
    ck_assert_int_eq(ph_server_new(&cfg, &server), 0);
    ck_assert_int_eq(ph_server_start(server), 0);

    text = transact(name, "HEALTH", 6, &len);
    ck_assert_str_eq(text, "OK running");
    ph_free(text);
    text = transact(name, "STATUS", 6, &len);
    if (admin)
        ck_assert_msg(strncmp(text, "OK version=", 11) == 0, "%s", text);
    else
        ck_assert_str_eq(text, "ERR forbidden you are not allowed to call STATUS");
    ph_free(text);

    /* An ordinary user (Administrators and SYSTEM deny-only) asks. */
    user = ph_test_ordinary_user_token();
    ck_assert(ImpersonateLoggedOnUser(user));
    rc = ph_client_new(&c);
    if (rc == 0)
        rc = ph_client_connect(c, name, 10000, 0);
    if (rc == 0)
        rc = ph_client_transact(c, "STATUS", 6, &resp, &len, 10000, 0);
    ck_assert(RevertToSelf());
    CloseHandle(user);
    ck_assert_int_eq(rc, 0);
    /* Under Wine the server may see the connecting process's own token instead of the thread's impersonation
     * token: then this part cannot be shown here (status_descriptor_refuses_users shows the descriptor's
     * refusal with AccessCheck), and the test ends as skipped once the rest is checked. */
    not_shown = ph_test_on_wine() && strncmp((char *)resp, "OK ", 3) == 0;
    if (!not_shown)
        ck_assert_str_eq((char *)resp, "ERR forbidden you are not allowed to call STATUS");
    ph_free(resp);
    resp = NULL;
    /* HEALTH on the same connection: the refusal left it open. */
    if (c != NULL) {
        ck_assert_int_eq(ph_client_transact(c, "HEALTH", 6, &resp, &len, 10000, 0), 0);
        ck_assert_str_eq((char *)resp, "OK running");
        ph_free(resp);
    }
    ph_client_free(c);
    ph_server_free(server);
    server = NULL;

    /* A host program opens it to every signed-in user: its own restriction replaces the default. */
    ck_assert_int_eq(ph_router_restrict(router, "STATUS", "D:(A;;GA;;;AU)"), 0);
    ck_assert_int_eq(ph_server_new(&cfg, &server), 0);
    ck_assert_int_eq(ph_server_start(server), 0);
    text = transact(name, "STATUS", 6, &len);
    ck_assert_msg(strncmp(text, "OK version=", 11) == 0, "%s", text);
    ph_free(text);
    ph_server_free(server);
    ph_router_free(router);
    if (not_shown)
        ph_test_skip("Wine passed the connecting process's token, not the impersonated ordinary user's, to the "
                     "server: STATUS refused through the pipe is shown on Windows only");
}
END_TEST

/* The default STATUS descriptor refuses an ordinary user's token and grants an elevated administrator's:
 * AccessCheck, which Wine evaluates as Windows does. */
START_TEST(status_descriptor_refuses_users)
{
    HANDLE user = ph_test_ordinary_user_token(), imp = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    GENERIC_MAPPING map = {PH_VERB_ACCESS, PH_VERB_ACCESS, PH_VERB_ACCESS, PH_VERB_ACCESS};
    PRIVILEGE_SET privs;
    DWORD privs_len = sizeof(privs), granted = 0;
    BOOL ok = TRUE;

    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA(PH_SERVICE_STATUS_SDDL, SDDL_REVISION_1, &sd,
                                                                   NULL));
    ck_assert(DuplicateToken(user, SecurityIdentification, &imp));
    ck_assert_msg(AccessCheck(sd, imp, PH_VERB_ACCESS, &map, &privs, &privs_len, &granted, &ok),
                  "AccessCheck: error %lu", GetLastError());
    ck_assert_msg(!ok, "an ordinary user may call STATUS");
    CloseHandle(imp);
    CloseHandle(user);
    LocalFree(sd);
    ck_assert_int_eq(ph_sddl_check(PH_SERVICE_STATUS_SDDL, PH_SDDL_ACCESS, NULL, 0), 0);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("svc_verbs");
    TCase *tc;

    tc = tcase_create("builtin_verbs_on_own_server");
    tcase_add_test(tc, builtin_verbs_on_own_server);
    suite_add_tcase(s, tc);
    tc = tcase_create("status_for_admins_health_for_all");
    tcase_add_test(tc, status_for_admins_health_for_all);
    suite_add_tcase(s, tc);
    tc = tcase_create("status_descriptor_refuses_users");
    tcase_add_test(tc, status_descriptor_refuses_users);
    suite_add_tcase(s, tc);
    tc = tcase_create("core_alone_has_no_verbs");
    tcase_add_test(tc, core_alone_has_no_verbs);
    suite_add_tcase(s, tc);
    return s;
}
