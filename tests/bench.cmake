# tests/bench.cmake — a quick run of the benchmark driver against each server: correctness only, no speed asserted.
# Tiny counts (--quick); --strict fails the test when a cell is not "ok" (a wrong answer, a failed request, a
# client not served, a server that does not exit on its stop event). The single-instance server serves one
# client at a time by design, so only its cells that need no more are run. pipehost's run covers every cell,
# the two that start a pipehost of their own included: idle2000 (pipehost.exe with --max-instances 255) and
# slow4 (pipehost-bench-host.exe, pipehost's host with the bench-only SLEEP verb). bench.smoke_cmd runs the
# command-verb cell (pipehost-cmdbench) once, tiny counts. The driver's targets are
# created in bench/, where no emulator is set, so the emulator is named here.
if(TARGET pipehost-bench)
  set(_bench ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:pipehost-bench> --quick --strict)
  add_test(NAME bench.smoke_raw COMMAND ${_bench} --server raw=$<TARGET_FILE:pipehost-bench-raw> --cells ka1,ka1big)
  add_test(NAME bench.smoke_single
           COMMAND ${_bench} --server single=$<TARGET_FILE:pipehost-bench-single> --cells ka1,ka1big,churn8)
  add_test(NAME bench.smoke_tpc COMMAND ${_bench} --server tpc=$<TARGET_FILE:pipehost-bench-tpc>)
  add_test(NAME bench.smoke_iocp COMMAND ${_bench} --server iocp=$<TARGET_FILE:pipehost-bench-iocp>)
  add_test(NAME bench.smoke_pipehost COMMAND ${_bench} --server pipehost=$<TARGET_FILE:pipehost>
                                             --bench-host $<TARGET_FILE:pipehost-bench-host>)
  # The command-verb cell (bench/cmd.c): tiny counts; fails only on a wrong or failed answer.
  add_test(NAME bench.smoke_cmd COMMAND ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:pipehost-cmdbench> --quick)
  set_tests_properties(bench.smoke_raw bench.smoke_single bench.smoke_tpc bench.smoke_iocp bench.smoke_pipehost
                       bench.smoke_cmd PROPERTIES
                       TIMEOUT 90 FIXTURES_REQUIRED "${PH_TEST_FIXTURES}" LABELS bench)
endif()
