/* security.c — the pipe's security descriptor from SDDL, refusing anything that would leave it unprotected. */
#include "ph_win.h"

#include <sddl.h>
#include <stdlib.h>

int ph__security_from_sddl(const char *sddl, PSECURITY_DESCRIPTOR *out, DWORD *syserr)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *wsddl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    int rc = PH_EBADSDDL;

    *out = NULL;
    *syserr = 0;
    if (sddl == NULL || sddl[0] == '\0') {
        *syserr = ERROR_INVALID_PARAMETER;
        goto cleanup;
    }
    wsddl = ph__utf8_to_wide(sddl, syserr);
    if (wsddl == NULL)
        goto cleanup;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, NULL)) {
        *syserr = GetLastError();
        goto cleanup;
    }
    /* A descriptor without a DACL, or with a NULL DACL ("D:NO_ACCESS_CONTROL"), lets everyone in: that is
     * never what a configuration meant, so it is an error rather than a silent weakening. */
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
        *syserr = GetLastError();
        goto cleanup;
    }
    if (!present || dacl == NULL) {
        *syserr = ERROR_INVALID_SECURITY_DESCR;
        goto cleanup;
    }
    if (!IsValidSecurityDescriptor(sd)) {
        *syserr = ERROR_INVALID_SECURITY_DESCR;
        goto cleanup;
    }
    *out = sd;
    sd = NULL;
    rc = 0;

cleanup:
    if (sd != NULL)
        LocalFree(sd);
    free(wsddl);
    return rc;
}
