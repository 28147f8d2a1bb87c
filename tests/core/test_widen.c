/* test_widen.c — the fixed pool's widened DACL: ph__security_widen, ph__pipe_set_dacl on a live pipe, and what AccessCheck then grants an ordinary user. */
#include "coretest.h"

#include "../../core/src/win/ph_win.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

#define AU_STRICT 0x12019bu /* PH_DEFAULT_SDDL's entry for Authenticated Users */
#define AU_WIDE 0x12019fu   /* the same with FILE_APPEND_DATA = FILE_CREATE_PIPE_INSTANCE */

static PSECURITY_DESCRIPTOR parse(const char *sddl)
{
    PSECURITY_DESCRIPTOR sd = NULL;

    ck_assert_msg(ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL),
                  "\"%s\": error %lu", sddl, GetLastError());
    return sd;
}

static PSECURITY_DESCRIPTOR widen(PSECURITY_DESCRIPTOR strict)
{
    PSECURITY_DESCRIPTOR wide = NULL;
    DWORD err = 0;
    int rc = ph__security_widen(strict, &wide, &err);

    ck_assert_msg(rc == 0, "ph__security_widen: %s (Win32 error %lu)", ph_err_name(rc), err);
    ck_assert_ptr_nonnull(wide);
    ck_assert(IsValidSecurityDescriptor(wide));
    return wide;
}

static PACL dacl_of(PSECURITY_DESCRIPTOR sd)
{
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;

    ck_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    ck_assert(present);
    ck_assert_ptr_nonnull(dacl);
    return dacl;
}

static ACCESS_ALLOWED_ACE *ace_at(PACL dacl, DWORD i)
{
    ACCESS_ALLOWED_ACE *ace = NULL; /* the deny type has the same layout */

    ck_assert(GetAce(dacl, i, (void **)&ace));
    return ace;
}

static int dacl_protected(PSECURITY_DESCRIPTOR sd)
{
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD rev = 0;

    ck_assert(GetSecurityDescriptorControl(sd, &control, &rev));
    return (control & SE_DACL_PROTECTED) != 0;
}

/* Every entry of wide is strict's, in order, with the same type, flags and SID; the masks are strict's except
 * where want_masks (one per entry) says otherwise. */
static void expect_same_but_masks(PSECURITY_DESCRIPTOR strict, PSECURITY_DESCRIPTOR wide, const DWORD *want_masks)
{
    PACL a = dacl_of(strict), b = dacl_of(wide);
    DWORD i;

    ck_assert_uint_eq(b->AceCount, a->AceCount);
    ck_assert_uint_eq(b->AclRevision, a->AclRevision);
    for (i = 0; i < a->AceCount; i++) {
        ACCESS_ALLOWED_ACE *x = ace_at(a, i), *y = ace_at(b, i);
        ck_assert_uint_eq(y->Header.AceType, x->Header.AceType);
        ck_assert_uint_eq(y->Header.AceFlags, x->Header.AceFlags);
        ck_assert_uint_eq(y->Header.AceSize, x->Header.AceSize);
        ck_assert_msg(EqualSid((PSID)&y->SidStart, (PSID)&x->SidStart), "ACE %lu: another SID", i);
        ck_assert_msg(y->Mask == want_masks[i], "ACE %lu: mask %#lx, want %#lx (strict %#lx)", i, y->Mask,
                      want_masks[i], x->Mask);
    }
}

/* An ordinary user's token, for AccessCheck: this process's token with Administrators (and SYSTEM) made
 * deny-only, so that only what Authenticated Users (and Everyone, Users) are granted counts. Impersonation
 * level, as AccessCheck wants. */
static HANDLE users_token(void)
{
    unsigned char admins[SECURITY_MAX_SID_SIZE], users[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof(admins);
    HANDLE restricted = ph_test_ordinary_user_token(), imp = NULL;
    BOOL member = FALSE;

    ck_assert(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &size));
    ck_assert(DuplicateToken(restricted, SecurityIdentification, &imp));
    /* The token must be one Authenticated Users' entry applies to, and no longer an administrator's. */
    size = sizeof(users);
    ck_assert(CreateWellKnownSid(WinAuthenticatedUserSid, NULL, users, &size));
    ck_assert(CheckTokenMembership(imp, users, &member));
    ck_assert_msg(member, "this process's token is not in Authenticated Users");
    ck_assert(CheckTokenMembership(imp, admins, &member));
    ck_assert_msg(!member, "Administrators still enabled in the restricted token");
    CloseHandle(restricted);
    return imp;
}

/* Whether sd grants token all of access (generic rights mapped as for files, as for a pipe). */
static int grants(PSECURITY_DESCRIPTOR sd, HANDLE token, DWORD access)
{
    GENERIC_MAPPING map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    PRIVILEGE_SET privs;
    DWORD privs_len = sizeof(privs), granted = 0;
    BOOL ok = FALSE;

    MapGenericMask(&access, &map);
    ck_assert_msg(AccessCheck(sd, token, access, &map, &privs, &privs_len, &granted, &ok), "AccessCheck: error %lu",
                  GetLastError());
    return ok != FALSE;
}

/* The default descriptor widened: only the Authenticated Users entry changes, 0x12019b -> 0x12019f; the deny
 * entry, the order, the protection, the owner and the group stay. The checker's verdicts follow: the widened
 * text is for a fixed pool only. */
START_TEST(default_widens_users_entry_only)
{
    static const DWORD want[] = {GENERIC_ALL, GENERIC_ALL, GENERIC_ALL, GENERIC_ALL, AU_WIDE};
    PSECURITY_DESCRIPTOR strict = parse("O:SYG:SY" PH_DEFAULT_SDDL), wide = widen(strict);
    PSID owner = NULL, group = NULL;
    BOOL defaulted = FALSE;
    LPSTR text = NULL;
    char why[512];

    ck_assert_uint_eq(ace_at(dacl_of(strict), 4)->Mask, AU_STRICT);
    expect_same_but_masks(strict, wide, want);
    ck_assert(dacl_protected(wide));
    ck_assert(GetSecurityDescriptorOwner(wide, &owner, &defaulted) && owner != NULL);
    ck_assert(IsWellKnownSid(owner, WinLocalSystemSid));
    ck_assert(GetSecurityDescriptorGroup(wide, &group, &defaulted) && group != NULL);
    ck_assert(IsWellKnownSid(group, WinLocalSystemSid));
    /* Widening adds only what a fixed pool may grant: the fixed-pool rule accepts it, the unlimited one not. */
    ck_assert(ConvertSecurityDescriptorToStringSecurityDescriptorA(wide, SDDL_REVISION_1, DACL_SECURITY_INFORMATION,
                                                                   &text, NULL));
    ck_assert_msg(ph_sddl_check(text, PH_SDDL_PIPE_FIXED, why, sizeof(why)) == 0, "\"%s\": %s", text, why);
    ck_assert_int_eq(ph_sddl_check(text, PH_SDDL_PIPE, why, sizeof(why)), PH_EBADSDDL);
    ck_assert_msg(strstr(why, "fixed pool") != NULL, "%s", why);
    LocalFree(text);
    LocalFree(wide);
    LocalFree(strict);
}
END_TEST

/* What that buys: an ordinary user's open asking GENERIC_READ | GENERIC_WRITE (Node.js/libuv, .NET 8 InOut,
 * go-winio, Python's open()) is granted by the widened default and not by the strict one; pipehost's own
 * client access is granted by both. Wine evaluates DACLs in AccessCheck (WINE.md), so this runs for real. */
START_TEST(widened_default_grants_generic_write_to_users)
{
    PSECURITY_DESCRIPTOR strict = parse("O:SYG:SY" PH_DEFAULT_SDDL), wide = widen(strict);
    HANDLE token = users_token();

    ck_assert_msg(!grants(strict, token, GENERIC_READ | GENERIC_WRITE),
                  "the strict default grants GENERIC_WRITE (FILE_CREATE_PIPE_INSTANCE) to users");
    ck_assert_msg(grants(wide, token, GENERIC_READ | GENERIC_WRITE),
                  "the widened default refuses users GENERIC_READ | GENERIC_WRITE");
    ck_assert(grants(strict, token, PH_CLIENT_PIPE_ACCESS));
    ck_assert(grants(wide, token, PH_CLIENT_PIPE_ACCESS));
    /* Nothing beyond writing: never the rights to change the descriptor or the owner. */
    ck_assert(!grants(wide, token, WRITE_DAC));
    ck_assert(!grants(wide, token, WRITE_OWNER));
    CloseHandle(token);
    LocalFree(wide);
    LocalFree(strict);
}
END_TEST

/* The rule entry by entry: only allow entries that write data without appending gain FILE_APPEND_DATA;
 * deny, read-only, inherit-only and already-appending entries stay; an unprotected DACL stays unprotected,
 * and a descriptor without owner gains none. */
START_TEST(widen_rule_per_entry)
{
    static const DWORD want[] = {
        GENERIC_WRITE,                           /* deny: unchanged */
        GENERIC_READ,                            /* reads only: unchanged */
        FILE_WRITE_DATA | FILE_APPEND_DATA,      /* 0x2 -> 0x6 */
        GENERIC_READ | GENERIC_WRITE,            /* GENERIC_WRITE includes FILE_APPEND_DATA already */
        AU_STRICT,                               /* inherit-only: does not apply to the pipe */
        GENERIC_READ | FILE_WRITE_DATA | FILE_APPEND_DATA, /* generic read, specific write */
        GENERIC_ALL,                             /* everything already */
    };
    PSECURITY_DESCRIPTOR strict = parse("D:(D;;GW;;;BG)(A;;GR;;;WD)(A;;0x2;;;IU)(A;;GRGW;;;BU)(A;OIIO;0x12019b;;;AN)"
                                        "(A;;0x80000002;;;S-1-5-21-0-0-0-1001)(A;;GA;;;SY)");
    PSECURITY_DESCRIPTOR wide = widen(strict);
    PSID owner = NULL;
    BOOL defaulted = FALSE;

    expect_same_but_masks(strict, wide, want);
    ck_assert(!dacl_protected(wide));
    ck_assert(GetSecurityDescriptorOwner(wide, &owner, &defaulted));
    ck_assert_ptr_null(owner);
    LocalFree(wide);
    LocalFree(strict);
}
END_TEST

/* No DACL (everyone would be let in) and no descriptor are refused, with nothing returned. */
START_TEST(widen_refuses_what_has_no_dacl)
{
    static char not_null;
    PSECURITY_DESCRIPTOR strict = parse("O:SYG:SY"), wide = &not_null;
    DWORD err = 0;

    ck_assert_int_eq(ph__security_widen(strict, &wide, &err), PH_EBADSDDL);
    ck_assert_ptr_null(wide);
    ck_assert_uint_eq(err, ERROR_INVALID_SECURITY_DESCR);
    wide = &not_null;
    ck_assert_int_eq(ph__security_widen(NULL, &wide, &err), PH_EINVAL);
    ck_assert_ptr_null(wide);
    /* ph__pipe_set_dacl never applies a missing DACL. */
    ck_assert_uint_eq(ph__pipe_set_dacl(INVALID_HANDLE_VALUE, strict), ERROR_INVALID_SECURITY_DESCR);
    ck_assert_uint_eq(ph__pipe_set_dacl(INVALID_HANDLE_VALUE, NULL), ERROR_INVALID_PARAMETER);
    LocalFree(strict);
}
END_TEST

/* The DACL as read back through h (GetSecurityInfo), in a descriptor AccessCheck accepts (owner and group
 * SYSTEM: neither takes part in these checks). */
typedef struct live_sd {
    PSECURITY_DESCRIPTOR read; /* from GetSecurityInfo, LocalFree */
    SECURITY_DESCRIPTOR abs;
    unsigned char system[SECURITY_MAX_SID_SIZE];
} live_sd;

static PACL read_back(HANDLE h, live_sd *out)
{
    PACL dacl = NULL;
    DWORD size = sizeof(out->system);

    memset(out, 0, sizeof(*out));
    ck_assert_uint_eq(GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                                      &out->read), ERROR_SUCCESS);
    ck_assert_ptr_nonnull(dacl);
    ck_assert(CreateWellKnownSid(WinLocalSystemSid, NULL, out->system, &size));
    ck_assert(InitializeSecurityDescriptor(&out->abs, SECURITY_DESCRIPTOR_REVISION));
    ck_assert(SetSecurityDescriptorDacl(&out->abs, TRUE, dacl, FALSE));
    ck_assert(SetSecurityDescriptorOwner(&out->abs, out->system, FALSE));
    ck_assert(SetSecurityDescriptorGroup(&out->abs, out->system, FALSE));
    return dacl;
}

static HANDLE create_instance(const wchar_t *name, DWORD extra_access, DWORD max_instances, PSECURITY_DESCRIPTOR sd)
{
    SECURITY_ATTRIBUTES sa;

    sa.nLength = sizeof(sa);
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    return CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | extra_access,
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_REJECT_REMOTE_CLIENTS, max_instances,
                            4096, 4096, 0, sd != NULL ? &sa : NULL);
}

/* On a live pipe: a fixed pool of two instances under the strict default; the one opened with WRITE_DAC gets
 * the widened DACL (protected, as the default's, on Windows), and the other instance reads it back, since every instance
 * of a name shares one descriptor. AccessCheck with the live descriptor then grants an ordinary user
 * GENERIC_READ | GENERIC_WRITE, which the strict live descriptor did not; and the full pool still takes no
 * third instance (231), whatever the DACL, which is what makes the widening safe. */
START_TEST(live_pipe_gets_the_widened_dacl)
{
    char name[CT_NAME_MAX], full[CT_NAME_MAX + 16];
    wchar_t wname[CT_NAME_MAX + 16];
    PSECURITY_DESCRIPTOR strict = parse(PH_DEFAULT_SDDL), wide = widen(strict);
    HANDLE first, second, third, token = users_token();
    live_sd before, after;
    PACL dacl;
    DWORD err;
    size_t i;

    ph_test_pipe_name(name, sizeof(name), "widen");
    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    for (i = 0; full[i] != '\0'; i++)
        wname[i] = (wchar_t)full[i];
    wname[i] = L'\0';
    first = create_instance(wname, WRITE_DAC | FILE_FLAG_FIRST_PIPE_INSTANCE, 2, strict);
    ck_assert_msg(first != INVALID_HANDLE_VALUE, "first instance: %lu", GetLastError());
    second = create_instance(wname, 0, 2, strict);
    ck_assert_msg(second != INVALID_HANDLE_VALUE, "second instance: %lu", GetLastError());

    dacl = read_back(second, &before);
    ck_assert_uint_eq(ace_at(dacl, 4)->Mask, AU_STRICT);
    ck_assert(!grants(&before.abs, token, GENERIC_READ | GENERIC_WRITE));

    ck_assert_uint_eq(ph__pipe_set_dacl(first, wide), 0);
    dacl = read_back(second, &after);
    ck_assert_uint_eq(dacl->AceCount, 5);
    ck_assert_uint_eq(ace_at(dacl, 0)->Header.AceType, ACCESS_DENIED_ACE_TYPE);
    ck_assert_msg(ace_at(dacl, 4)->Mask == AU_WIDE, "AU mask %#lx after widening", ace_at(dacl, 4)->Mask);
    /* Windows keeps the DACL protected (PROTECTED_DACL_SECURITY_INFORMATION); Wine 8's SetSecurityInfo drops
     * that flag for kernel objects (it handles it for files only). A pipe has no parent to inherit from, so
     * the flag changes nothing it grants; it is asserted where it can be shown. */
    if (!ph_test_on_wine())
        ck_assert(dacl_protected(after.read));
    else if (!dacl_protected(after.read))
        printf("note: Wine dropped SE_DACL_PROTECTED in SetSecurityInfo(SE_KERNEL_OBJECT); checked on Windows only\n");
    ck_assert(grants(&after.abs, token, GENERIC_READ | GENERIC_WRITE));
    ck_assert(!grants(&after.abs, token, WRITE_DAC));

    /* The pool is full: nobody's CreateNamedPipeW gets a third instance, with or without the first-instance flag. */
    third = create_instance(wname, 0, 2, NULL);
    err = GetLastError();
    if (third != INVALID_HANDLE_VALUE)
        CloseHandle(third);
    ck_assert_msg(third == INVALID_HANDLE_VALUE && err == ERROR_PIPE_BUSY, "a third instance: handle %p, error %lu",
                  (void *)third, err);
    third = create_instance(wname, FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_UNLIMITED_INSTANCES, NULL);
    if (third != INVALID_HANDLE_VALUE)
        CloseHandle(third);
    ck_assert(third == INVALID_HANDLE_VALUE);

    LocalFree(after.read);
    LocalFree(before.read);
    CloseHandle(second);
    CloseHandle(first);
    CloseHandle(token);
    LocalFree(wide);
    LocalFree(strict);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("widen");
    TCase *tc;

    tc = tcase_create("default_widens_users_entry_only");
    tcase_add_test(tc, default_widens_users_entry_only);
    suite_add_tcase(s, tc);
    tc = tcase_create("widened_default_grants_generic_write_to_users");
    tcase_add_test(tc, widened_default_grants_generic_write_to_users);
    suite_add_tcase(s, tc);
    tc = tcase_create("widen_rule_per_entry");
    tcase_add_test(tc, widen_rule_per_entry);
    suite_add_tcase(s, tc);
    tc = tcase_create("widen_refuses_what_has_no_dacl");
    tcase_add_test(tc, widen_refuses_what_has_no_dacl);
    suite_add_tcase(s, tc);
    tc = tcase_create("live_pipe_gets_the_widened_dacl");
    tcase_add_test(tc, live_pipe_gets_the_widened_dacl);
    suite_add_tcase(s, tc);
    return s;
}
