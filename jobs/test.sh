#!/usr/bin/env bash
# The whole test suite: setup (packages, npm assets), build, then every ctest group (unit, mpi, media, reference,
# slurm, slow). Extra arguments go to ctest, e.g. jobs/test.sh -LE 'slow|slurm' for a quick loop.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/jobs/setup.sh"
"$ROOT/jobs/build.sh"
cd "${S3E_BUILD_DIR:-$ROOT/build}"
# Two cores: two tests at a time; tests that need more declare PROCESSORS so ctest does not overload the machine.
ctest --output-on-failure -j 2 "$@" && exit 0
# Known flake (2026-12-06, issue note): now and then SLURM ends a requeued job of the local test cluster without
# running it again (seen in 2 of about 10 runs of the slurm group), so a slurm test that requeues fails. When every
# failure is a slurm test, those tests run once more and the run says so; any other failure fails at once.
failed="$(cut -d: -f2 Testing/Temporary/LastTestsFailed.log 2>/dev/null || true)"
if [[ -n "$failed" ]] && ! grep -qv '^test_slurm_' <<<"$failed"; then
  echo "jobs/test.sh: only slurm tests failed ($(tr '\n' ' ' <<<"$failed")): running them once more (known flake)" >&2
  ctest --output-on-failure --rerun-failed
else
  exit 1
fi
