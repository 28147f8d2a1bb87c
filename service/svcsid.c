/* svcsid.c — the pipe's default descriptor for the service's account: the per-service SID (NT SERVICE\<name>) in
 * place of OWNER RIGHTS, so that no other process of a shared account (LocalService, NetworkService) may add
 * instances of the pipe or rewrite its descriptor. */
#include "svcsid.h"
#include "winutil.h"

#include <windows.h>

#include <bcrypt.h>
#include <sddl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID_SYSTEM "S-1-5-18"
#define SID_LOCAL_SERVICE "S-1-5-19"
#define SID_NETWORK_SERVICE "S-1-5-20"

/* SHA-1 of data through CNG (BCrypt): 20 bytes into digest. Returns 0 or a Win32 error. */
static unsigned long sha1(unsigned char *data, ULONG len, unsigned char digest[20])
{
    BCRYPT_ALG_HANDLE alg = NULL;
    BCRYPT_HASH_HANDLE hash = NULL;
    NTSTATUS st;

    st = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA1_ALGORITHM, NULL, 0);
    if (BCRYPT_SUCCESS(st))
        st = BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0);
    if (BCRYPT_SUCCESS(st))
        st = BCryptHashData(hash, data, len, 0);
    if (BCRYPT_SUCCESS(st))
        st = BCryptFinishHash(hash, digest, 20, 0);
    if (hash != NULL)
        BCryptDestroyHash(hash);
    if (alg != NULL)
        BCryptCloseAlgorithmProvider(alg, 0);
    return BCRYPT_SUCCESS(st) ? 0 : ERROR_INTERNAL_ERROR;
}

unsigned long ph__svc_service_sid(const wchar_t *service, char *out, size_t out_size)
{
    unsigned char d[20];
    wchar_t *upper;
    size_t n;
    int len;
    unsigned long err;
    size_t i;

    if (service == NULL || service[0] == L'\0' || out == NULL || out_size < SVC_SID_TEXT_MAX)
        return ERROR_INVALID_PARAMETER;
    n = wcslen(service);
    if (n > 256)
        return ERROR_INVALID_PARAMETER;
    upper = calloc(n + 1, sizeof(*upper));
    if (upper == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    /* The SCM hashes the name as RtlUpcaseUnicodeString upper-cases it: letter by letter, no locale. */
    len = LCMapStringEx(LOCALE_NAME_INVARIANT, LCMAP_UPPERCASE, service, (int)n, upper, (int)n, NULL, NULL, 0);
    if (len != (int)n) {
        err = GetLastError();
        free(upper);
        return err ? err : ERROR_INVALID_PARAMETER;
    }
    err = sha1((unsigned char *)upper, (ULONG)(n * sizeof(wchar_t)), d);
    free(upper);
    if (err != 0)
        return err;
    n = (size_t)snprintf(out, out_size, "S-1-5-80");
    for (i = 0; i < 5; i++)
        n += (size_t)snprintf(out + n, out_size - n, "-%lu",
                              (unsigned long)d[4 * i] | (unsigned long)d[4 * i + 1] << 8 |
                                  (unsigned long)d[4 * i + 2] << 16 | (unsigned long)d[4 * i + 3] << 24);
    return 0;
}

int ph__svc_default_sddl(const svc_token_facts *facts, char *out, size_t out_size, char *why, size_t why_size)
{
    const char *user = facts->user_sid, *sid = facts->service_sid;
    int n;

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    out[0] = '\0';
    if (strcmp(user, SID_SYSTEM) == 0)
        return 0; /* OWNER RIGHTS is SYSTEM itself */
    if (sid != NULL) {
        if (facts->service_sid_owner)
            n = snprintf(out, out_size, "O:%sD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;%s)(A;;0x12019b;;;AU)",
                         sid, sid);
        else
            n = snprintf(out, out_size,
                         "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;%s)(A;;0x12019b;;;OW)(A;;0x12019b;;;AU)", sid);
        if (n < 0 || (size_t)n >= out_size) {
            out[0] = '\0';
            ph__svc_say(why, why_size, "the default descriptor for %s does not fit", sid);
            return -1;
        }
        return 0;
    }
    if (strcmp(user, SID_LOCAL_SERVICE) == 0 || strcmp(user, SID_NETWORK_SERVICE) == 0) {
        ph__svc_say(why, why_size,
            "the service runs as %s without its own service SID in its token: with the default descriptor every "
            "process running as %s (dozens of services) could add instances of the pipe. Set the service SID type "
            "(pipehost install does; sc sidtype <name> unrestricted) or give an Sddl that names the service's SID",
            strcmp(user, SID_LOCAL_SERVICE) == 0 ? "LocalService" : "NetworkService",
            strcmp(user, SID_LOCAL_SERVICE) == 0 ? "LocalService" : "NetworkService");
        return -1;
    }
    return 0; /* a console run or a dedicated account: OWNER RIGHTS is that account */
}

/* The token's information of class cls, malloc'd. */
static void *token_info(HANDLE token, TOKEN_INFORMATION_CLASS cls, DWORD *err)
{
    DWORD size = 0;
    void *buf;

    GetTokenInformation(token, cls, NULL, 0, &size);
    if (size == 0) {
        *err = GetLastError();
        return NULL;
    }
    buf = malloc(size);
    if (buf == NULL) {
        *err = ERROR_NOT_ENOUGH_MEMORY;
        return NULL;
    }
    if (!GetTokenInformation(token, cls, buf, size, &size)) {
        *err = GetLastError();
        free(buf);
        return NULL;
    }
    return buf;
}

int ph__svc_default_sddl_here(const wchar_t *service, char *out, size_t out_size, char *why, size_t why_size)
{
    char svc_sid[SVC_SID_TEXT_MAX];
    svc_token_facts facts;
    HANDLE token = NULL;
    TOKEN_USER *user = NULL;
    TOKEN_GROUPS *groups = NULL;
    LPSTR user_text = NULL;
    DWORD err = 0, i;
    int rc = -1;

    memset(&facts, 0, sizeof(facts));
    out[0] = '\0';
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        err = GetLastError();
        ph__svc_say(why, why_size, "cannot read the service's token (OpenProcessToken: error %lu)", (unsigned long)err);
        return -1;
    }
    user = token_info(token, TokenUser, &err);
    if (user == NULL || !ConvertSidToStringSidA(user->User.Sid, &user_text)) {
        err = err ? err : GetLastError();
        ph__svc_say(why, why_size, "cannot read the service's account (error %lu)", (unsigned long)err);
        goto cleanup;
    }
    facts.user_sid = user_text;
    if (service != NULL) {
        err = ph__svc_service_sid(service, svc_sid, sizeof(svc_sid));
        groups = err == 0 ? token_info(token, TokenGroups, &err) : NULL;
        if (groups == NULL) {
            ph__svc_say(why, why_size, "cannot read the service's SID or token groups (error %lu)", (unsigned long)err);
            goto cleanup;
        }
        for (i = 0; i < groups->GroupCount; i++) {
            const SID_AND_ATTRIBUTES *g = &groups->Groups[i];
            LPSTR text = NULL;
            int same;
            if (!(g->Attributes & SE_GROUP_ENABLED) || !ConvertSidToStringSidA(g->Sid, &text))
                continue;
            same = strcmp(text, svc_sid) == 0;
            LocalFree(text);
            if (same) {
                facts.service_sid = svc_sid;
                facts.service_sid_owner = (g->Attributes & SE_GROUP_OWNER) != 0;
                break;
            }
        }
    }
    rc = ph__svc_default_sddl(&facts, out, out_size, why, why_size);

cleanup:
    if (user_text != NULL)
        LocalFree(user_text);
    free(groups);
    free(user);
    CloseHandle(token);
    return rc;
}
