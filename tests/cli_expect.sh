#!/usr/bin/env bash
# Runs a command and checks its exit code and that its output (stdout + stderr) matches a regex.
#   cli_expect.sh EXPECTED_EXIT_CODE REGEX command [args...]
set -u
expected=$1 regex=$2
shift 2
output=$("$@" 2>&1)
rc=$?
printf '%s\n' "$output"
if [ "$rc" -ne "$expected" ]; then echo "FAIL: exit code $rc, expected $expected"; exit 1; fi
if ! grep -qE -- "$regex" <<<"$output"; then echo "FAIL: output does not match /$regex/"; exit 1; fi
echo "ok: exit $rc, output matches /$regex/"
