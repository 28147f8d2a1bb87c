/* hangsvc.c — a test service: pipehost's own verbs plus HANG, whose handler never returns (the stop deadline test). */
#include <windows.h>

#include <pipehost/service.h>

static ph_handler_result verb_hang(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    (void)payload;
    (void)len;
    (void)resp;
    Sleep(INFINITE);
    return PH_REPLY; /* never reached */
}

static int add_verbs(void *ctx, ph_router *router)
{
    (void)ctx;
    return ph_router_add(router, "HANG", verb_hang, NULL);
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static const ph_service_app app = {.program = "hangsvc", .default_pipe = "hangsvc", .extend = add_verbs};
    return ph_service_main(argc, argv, &app);
}
