#!/usr/bin/env bash
# The whole test suite: setup (packages, npm assets), build, then every ctest group (unit, mpi, media, reference,
# slurm, slow). Extra arguments go to ctest, e.g. jobs/test.sh -LE 'slow|slurm' for a quick loop.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/jobs/setup.sh"
"$ROOT/jobs/build.sh"
cd "${S3E_BUILD_DIR:-$ROOT/build}"
# Two cores: two tests at a time; tests that need more declare PROCESSORS so ctest does not overload the machine.
exec ctest --output-on-failure -j 2 "$@"
