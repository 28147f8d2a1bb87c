# tests/core.cmake — the core library's test programs, one file per feature.

# Platform-neutral code: built natively (under ASan/UBSan with the native preset) and for Windows.
ph_add_check_test(NAME test_router SOURCES core/test_router.c LIBS pipehost::core TIMEOUT 30 FIXTURES ${PH_TEST_FIXTURES})
