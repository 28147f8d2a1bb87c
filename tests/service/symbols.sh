#!/usr/bin/env bash
# symbols.sh — the service libraries export ph_-prefixed names only (internals are ph__…), so a program that
# links them may define any other name. Usage: symbols.sh <nm> <library.a>...
set -euo pipefail
nm=$1; shift
bad=$("$nm" -g --defined-only "$@" | awk 'NF == 3 && $2 ~ /^[TDBRC]$/ {print $3}' | sed 's/^_//' |
      grep -vE '^(ph_|\.refptr\.)' | sort -u || true)
count=$("$nm" -g --defined-only "$@" | awk 'NF == 3 && $2 ~ /^[TDBRC]$/' | wc -l)
if [ "$count" -eq 0 ]; then
  echo "symbols.sh: no defined global symbols read from $* (wrong nm?)" >&2
  exit 2
fi
if [ -n "$bad" ]; then
  echo "symbols.sh: these global names are not ph_-prefixed:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "symbols.sh: $count global symbols, all ph_-prefixed"
