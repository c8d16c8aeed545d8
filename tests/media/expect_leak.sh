#!/usr/bin/env bash
# expect_leak.sh — passes only if a leak checker catches a deliberate leak: the command must exit with the checker's
# leak exit code and its output must match every given pattern (the checker's report and the leaking frame), so a
# checker that stopped working, a crash or an unrelated failure all fail. Exit 77 from the command (a checker that
# cannot run here, see run_valgrind_leak.sh) is passed through for ctest's SKIP_RETURN_CODE.
#
# Usage: expect_leak.sh EXIT_CODE PATTERN... -- COMMAND [ARGS...]   (PATTERNs are grep -E regular expressions)
set -uo pipefail
if (($# < 3)); then
  echo "usage: $0 EXIT_CODE PATTERN... -- COMMAND [ARGS...]" >&2
  exit 2
fi
want_rc="$1"
shift
patterns=()
while (($#)) && [[ "$1" != "--" ]]; do
  patterns+=("$1")
  shift
done
if (($# < 2)) || ((${#patterns[@]} == 0)); then
  echo "usage: $0 EXIT_CODE PATTERN... -- COMMAND [ARGS...]" >&2
  exit 2
fi
shift  # the --

log="$(mktemp "${TMPDIR:-/tmp}/s3e_expect_leak.XXXXXX")"
trap 'rm -f "$log"' EXIT
"$@" >"$log" 2>&1
rc=$?
cat "$log"
echo "----"
if ((rc == 77)); then
  echo "expect_leak: the checker cannot run here (exit 77): skipped"
  exit 77
fi
ok=1
if ((rc != want_rc)); then
  echo "expect_leak: FAILED: exit code $rc, expected $want_rc (the checker's exit code for a leak)"
  ok=0
fi
for p in "${patterns[@]}"; do
  if ! grep -qE -- "$p" "$log"; then
    echo "expect_leak: FAILED: the output does not match '$p'"
    ok=0
  fi
done
if ((ok)); then
  echo "expect_leak: the deliberate leak was caught (exit $rc; output matches: ${patterns[*]})"
  exit 0
fi
exit 1
