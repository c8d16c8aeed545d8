#!/usr/bin/env bash
# run_valgrind_leak.sh — runs a test binary under valgrind memcheck with definite and indirect leaks as errors
# (exit 99), but first checks that valgrind can execute the binary at all, and exits 77 (ctest SKIP_RETURN_CODE:
# shown as skipped, never as passed) with the reason where it cannot.
#
# Why the probe: valgrind 3.19 (Debian 12) does not decode RDTSCP (0F 01 F9). Highway (libhwy, loaded through the
# FFmpeg libraries) executes it while the process loads on CPUs that have it (AMD EPYC), so under valgrind the binary
# dies with SIGILL before any media code runs; that says nothing about leaks. The same leak test runs natively under
# AddressSanitizer/LeakSanitizer on every CPU (test_media_leak_asan).
#
# Usage: run_valgrind_leak.sh BINARY [ARGS...]   (ARGS go to the binary, e.g. --gtest_filter=...)
# Environment: S3E_VALGRIND (default: valgrind on PATH).
set -uo pipefail
readonly k_skip=77
if (($# < 1)); then
  echo "usage: $0 BINARY [ARGS...]" >&2
  exit 2
fi
binary="$1"
shift
valgrind="${S3E_VALGRIND:-$(command -v valgrind || true)}"
if [[ -z "$valgrind" || ! -x "$valgrind" ]]; then
  echo "SKIPPED: valgrind is not installed here (apt-get install valgrind); the leak check runs under" \
       "AddressSanitizer instead (test_media_leak_asan)"
  exit $k_skip
fi
if [[ ! -x "$binary" ]]; then
  echo "$0: $binary: no such executable (build it first)" >&2
  exit 2
fi

# Probe: the cheapest run that loads every library the test loads (listing the tests runs no test code).
probe_log="$(mktemp "${TMPDIR:-/tmp}/s3e_valgrind_probe.XXXXXX")"
trap 'rm -f "$probe_log"' EXIT
# (The braces keep bash's own "Illegal instruction" job notice out of the output; valgrind's log says it better.)
{ "$valgrind" --error-exitcode=99 "$binary" --gtest_list_tests >"$probe_log" 2>&1; } 2>/dev/null
probe_rc=$?
if ((probe_rc != 0)); then
  if grep -qE 'unhandled instruction bytes|Unrecognised instruction|unrecognised instruction' "$probe_log"; then
    cpu="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
    echo "SKIPPED: $("$valgrind" --version) cannot execute $(basename "$binary") on this CPU (${cpu:-unknown}):" \
         "it dies on an instruction it does not decode before any test code runs, so valgrind can say nothing" \
         "about leaks here; the leak check runs under AddressSanitizer instead (test_media_leak_asan). Valgrind said:"
    grep -m1 -E 'unhandled instruction bytes' "$probe_log" | sed 's/^/    /'
    grep -m1 -E 'Unrecognised instruction' "$probe_log" | sed 's/^/    /'
    grep -m1 -E '^==[0-9]+==    at ' "$probe_log" | sed 's/^/    /'
    if grep -q 'unhandled instruction bytes: 0xF 0x1 0xF9' "$probe_log"; then
      echo "    (0F 01 F9 is RDTSCP; valgrind 3.19 does not decode it, libhwy's timer executes it where the CPU has it)"
    fi
    exit $k_skip
  fi
  echo "$0: valgrind could not run '$binary --gtest_list_tests' (exit $probe_rc):" >&2
  cat "$probe_log" >&2
  exit 1
fi

exec "$valgrind" --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --undef-value-errors=no --error-exitcode=99 "$binary" "$@"
