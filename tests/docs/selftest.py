#!/usr/bin/env python3
"""selftest.py — proves scripts/docs_check.py passes good docs and fails bad ones with the right messages.

    python3 tests/docs/selftest.py [path/to/docs_check.py]

Builds two small trees in a temporary folder: tests/docs/code (the shapes of the code the checker reads:
service/config.c's value table, service/cmdconf.c, service/exitcodes.h, option literals, a script's case
patterns, ...) with tests/docs/good, which must pass (exit 0), and with tests/docs/bad (docs, and a
service/config.h with wrong comments over the code's), which must fail (exit 1) printing exactly the lines of
tests/docs/bad/expected.txt: a broken link, missing anchors, an undefined reference, a wrong option and range
in the configuration table, an unknown value, unknown options, wrong and missing exit codes, unknown and
missing protocol error codes and MSI properties, wrong and missing Event Log ids, an unnamed answer key, a
wrong config.h comment, undocumented values and options.
"""
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
checker = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "scripts", "docs_check.py")


def run(tmp, docs):
    root = os.path.join(tmp, docs)
    shutil.copytree(os.path.join(here, "code"), root)
    shutil.copytree(os.path.join(here, docs), root, dirs_exist_ok=True)
    p = subprocess.run([sys.executable, checker, "--root", root, "--allow", os.path.join(here, "allow")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    failed = 0
    with tempfile.TemporaryDirectory(prefix="docs_check_selftest.") as tmp:
        rc, out, err = run(tmp, "good")
        if rc != 0:
            print("FAIL: the good fixture: exit %d, expected 0\n%s%s" % (rc, out, err))
            failed += 1
        else:
            print("ok: the good fixture passes")
        rc, out, err = run(tmp, "bad")
        if rc != 1:
            print("FAIL: the bad fixture: exit %d, expected 1\n%s%s" % (rc, out, err))
            failed += 1
        with open(os.path.join(here, "bad", "expected.txt"), encoding="utf-8") as f:
            expected = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
        lines = [l for l in out.split("\n") if l.strip()]
        for e in expected:
            hits = [l for l in lines if l == e]
            if len(hits) != 1:
                print("FAIL: expected exactly one line %r, got %d" % (e, len(hits)))
                failed += 1
        for l in lines:
            if l not in expected:
                print("FAIL: unexpected line: %s" % l)
                failed += 1
        if failed == 0:
            print("ok: the bad fixture fails with the %d expected mismatches" % len(expected))
    if failed:
        print("selftest: %d failure(s); the checker's output on the bad fixture was:\n%s%s" % (failed, out, err))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
