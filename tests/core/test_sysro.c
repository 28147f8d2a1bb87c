/* test_sysro.c — the core's syscall table, as linked into a shipped program, lies in read-only memory. */
#include "testsupport.h"

#include "../../core/src/win/ph_win.h"

#include <string.h>

/* Linked without the test helpers' link seam: this is the library's own table. Nothing may redirect the
 * pipe calls of a shipped program, so the page holding it must not be writable. */
START_TEST(syscall_table_read_only)
{
    MEMORY_BASIC_INFORMATION mbi;
    DWORD writable = PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;

    memset(&mbi, 0, sizeof(mbi));
    ck_assert_uint_eq(VirtualQuery(&ph__sys, &mbi, sizeof(mbi)), sizeof(mbi));
    ck_assert_msg((mbi.Protect & writable) == 0, "ph__sys is in a page with protection 0x%lx",
                  (unsigned long)mbi.Protect);
    /* (The entries point at the real calls, through import thunks whose addresses differ from module to
     * module, so they are checked for presence only.) */
    ck_assert(ph__sys.CreateNamedPipeW != NULL && ph__sys.ConnectNamedPipe != NULL && ph__sys.ReadFile != NULL &&
              ph__sys.CreateIoCompletionPort != NULL &&
              ph__sys.WriteFile != NULL && ph__sys.DisconnectNamedPipe != NULL && ph__sys.CreateFileW != NULL);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("sysro");
    TCase *tc = tcase_create("syscall_table_read_only");

    tcase_add_test(tc, syscall_table_read_only);
    suite_add_tcase(s, tc);
    return s;
}
