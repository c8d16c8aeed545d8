#!/usr/bin/env bash
# The layer checker must catch what it claims to: a tree with an editor -> metrics include, one with a store -> face
# include and one with an MPI collective in store must each fail, naming the file; a clean tree must pass.
set -euo pipefail
CHECK="$1"
T="$(mktemp -d)"; trap 'rm -rf "$T"' EXIT
mk() { mkdir -p "$T/$1/src/$(dirname "$2")"; printf '%s\n' "$3" > "$T/$1/src/$2"; }
mk clean editor/a.cpp '#include "backbone/b.h"'
mk clean pipeline/p.cpp '#include "editor/a.h"
#include "metrics/m.h"'
mk clean dist/d.cpp 'void f() { MPI_Allreduce(0, 0, 0, 0, 0, 0); }'
python3 "$CHECK" "$T/clean/src" >/dev/null || { echo "FAIL: clean tree rejected"; exit 1; }
mk up editor/a.cpp '#include "metrics/m.h"'
mk down store/s.cpp '#include "face/f.h"'
mk mpi store/s.cpp 'void f() { MPI_Bcast(0, 0, 0, 0, 0); }'
for bad in up down mpi; do
  if out="$(python3 "$CHECK" "$T/$bad/src")"; then echo "FAIL: '$bad' tree passed"; exit 1; fi
  grep -q "$T/$bad/src/" <<<"$out" || { echo "FAIL: '$bad' report names no file: $out"; exit 1; }
done
echo "layer checker self-test: clean tree accepted, 3 broken trees rejected"
