/* access_none.c — per-verb authorization where there is no Win32 (native builds): restrictions cannot be made. */
#include "ph_internal.h"

#include <stddef.h>

int ph__verb_acl_new(const char *sddl, ph__verb_acl **out)
{
    (void)sddl;
    *out = NULL;
    return PH_ENOTSUP;
}

void ph__verb_acl_free(ph__verb_acl *acl)
{
    (void)acl;
}

/* Never reached (no verb can be restricted), but if it were, the answer is no. */
int ph__verb_acl_allows(const ph__verb_acl *acl, const ph_request *req, const char *verb)
{
    (void)acl;
    (void)req;
    (void)verb;
    return 0;
}
