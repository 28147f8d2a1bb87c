/* request.c — what the code outside the engine may learn about a request's connection: its pipe and logger. */
#include "server.h"

HANDLE ph__request_pipe(const ph_request *req, const ph_logger **log)
{
    const ph_conn *c;

    if (req == NULL || req->internal_ == NULL) {
        *log = NULL;
        return INVALID_HANDLE_VALUE;
    }
    /* Only the pool thread dispatching this request gets here: the connection and its pipe stay put. */
    c = req->internal_;
    *log = &c->server->log;
    return c->pipe;
}
