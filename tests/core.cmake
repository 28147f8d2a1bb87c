# tests/core.cmake — the core library's test programs, one file per feature.

# Platform-neutral code: built natively (under ASan/UBSan with the native preset) and for Windows.
foreach(prog IN ITEMS
    test_router     # the verb router
    test_name       # pipe name normalisation
    test_errors     # the error list: messages and names (behaviour 11)
    test_response   # responses and the byte buffers under them
    test_limits     # configuration defaults, limit ranges
    test_abi)       # struct size members checked by the library, run-time version
  ph_add_check_test(NAME ${prog} SOURCES core/${prog}.c LIBS pipehost::core TIMEOUT 30 FIXTURES ${PH_TEST_FIXTURES})
endforeach()

# The SDDL checker's rules (core/src/sddl_rules.c, compiled in: internal, so not exported by a DLL core) read from
# text by the tests' own SDDL reader; on Windows each case also goes through ph_sddl_check for the same answer.
ph_add_check_test(NAME test_sddl_rules SOURCES core/test_sddl_rules.c support/sddl_text.c
                  ${PROJECT_SOURCE_DIR}/core/src/sddl_rules.c LIBS pipehost::core TIMEOUT 30
                  FIXTURES ${PH_TEST_FIXTURES})
target_include_directories(test_sddl_rules PRIVATE ${PROJECT_SOURCE_DIR}/core/src)

# The Win32 server and client, exercised through real pipes (under Wine when cross-built). Each case is its
# own process; under Wine none takes more than about 2 s, so 60 s means hung, not slow.
if(WIN32)
  # Shared helpers: the scripted handler, waits, client threads, process probes, syscall-table wrappers.
  add_library(ph_coretest STATIC core/coretest.c)
  target_include_directories(ph_coretest PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/core)
  target_link_libraries(ph_coretest PUBLIC ph_testsupport pipehost::core)
  ph_target_warnings(ph_coretest)

  # The library's own syscall table, without the test helpers' link seam: read-only in a shipped program.
  ph_add_check_test(NAME test_sysro SOURCES core/test_sysro.c LIBS ph_testsupport TIMEOUT 60
                    FIXTURES ${PH_TEST_FIXTURES})
  target_compile_definitions(test_sysro PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE _WIN32_WINNT=0x0602)

  # The completion modes (issue 14 §5; coretest.h): every case of the core programs below runs as "prog.case"
  # with the engine's own probe (under Wine 8: skip on success, ERROR_MORE_DATA inline), as "prog.case.queued"
  # with an inline ERROR_MORE_DATA also queueing a packet (as Windows may; simulated here), and as
  # "prog.case.noskip" with every completion through the port. test_scale and test_handles (load and leak
  # counts, a minute between them) run in the probe's mode only.
  set(PH_CORE_MODES "queued=PH_TEST_SKIP_MODE=queued" "noskip=PH_TEST_SKIP_MODE=noskip")

  foreach(prog IN ITEMS
      test_lifecycle     # the server object: config checks and copies, free in any state, restart
      test_pool          # 1: one completion port, a small fixed pool of threads
      test_instances     # 2: pending instances, refill on accept, 64-client burst, accept races
      test_message       # 3: message mode, reassembly, size cap and drain
      test_framing       # length framing: byte-mode frames, pipelining, oversized length, truncated frame
      test_handler       # 4: handler API: order, no-reply, reply-and-close
      test_squat         # 5: anti-squatting: first instance, name in use
      test_security      # 6, 7: remote rejection; SDDL read back from the live pipe, bad SDDL
      test_sddl          # the one SDDL checker: refused and accepted descriptors, used at start
      test_widen         # the fixed pool's widened DACL: built, applied to a live pipe, checked with AccessCheck
      test_authz         # per-verb authorization: AccessCheck of the client before the verb
      test_verify        # the client verifies the server's account (squatting)
      test_identity      # 8: client pid, session, SID
      test_timeouts      # 9: idle and non-reading clients
      test_stop          # 10: graceful stop
      test_diagnostics   # 11: Win32 error codes kept, log callback
      test_counters      # 12: counters exact
      test_client        # the client: deadlines, busy-retry, SQOS, reassembly, errors
      test_client_length # the client in length framing, against a plain byte-mode pipe server
      test_disconnect    # clients leaving mid-request or mid-response
      test_handles       # no handle leaks after 1,000 cycles and after stop
      test_races         # start/stop interleavings and failing refills, forced through the syscall table
      test_scale)        # no connection cap, 2,000 idle connections, bursts and churn without busy
    set(modes ${PH_CORE_MODES})
    if(prog STREQUAL "test_scale" OR prog STREQUAL "test_handles")
      set(modes "")
    endif()
    ph_add_check_test(NAME ${prog} SOURCES core/${prog}.c LIBS ph_coretest TIMEOUT 60 FIXTURES ${PH_TEST_FIXTURES}
                      VARIANTS ${modes})
  endforeach()

  # Issue 14: the engine defects of its section 5, each forced into view (test_engine2), and the targets of
  # its sections 3 and 4 (test_stop2: a stop that loses nothing and takes milliseconds; test_memory: what idle
  # and half-sent connections pin). A hung defect shows as a failed bound inside the case, well before 120 s.
  # Issue 16 §1-2: replies that come later (held requests, the timer reply) and the connection hooks.
  ph_add_check_test(NAME test_defer SOURCES core/test_defer.c LIBS ph_coretest TIMEOUT 90 FIXTURES ${PH_TEST_FIXTURES}
                    VARIANTS ${PH_CORE_MODES})

  foreach(prog IN ITEMS test_engine2 test_stop2 test_memory test_limits2)
    ph_add_check_test(NAME ${prog} SOURCES core/${prog}.c LIBS ph_coretest TIMEOUT 120 FIXTURES ${PH_TEST_FIXTURES}
                      VARIANTS ${PH_CORE_MODES})
  endforeach()

  # The fixed pool against a second process that tries to add instances of the name.
  add_executable(ph_squatter core/squatter.c)
  ph_target_warnings(ph_squatter)
  target_compile_definitions(ph_squatter PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE)
  if(MINGW)
    target_link_options(ph_squatter PRIVATE -municode)
  endif()
  ph_add_check_test(NAME test_fixed SOURCES core/test_fixed.c LIBS ph_coretest TIMEOUT 90 FIXTURES ${PH_TEST_FIXTURES})
  add_dependencies(test_fixed ph_squatter)
endif()
