#!/usr/bin/env bash
# tool.sh — fixture for tests/docs: a script's options, read from its case patterns.
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) exit 0 ;;
  esac
done
