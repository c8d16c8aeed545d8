#!/usr/bin/env bash
# test_bench_errors — every benchmark program given an output folder it cannot use stops with an error that names
# the folder and the reason, exit status 1, and prints no throughput table (a failed baseline is never a number).
# Usage: test_bench_errors.sh BENCH_STORE BENCH_MEDIA BENCH_FACES
# Folders fed to each program:
#   missing    a path that does not exist
#   notadir    a path below a regular file
#   readonly   an existing folder on a read-only tmpfs (mount -t tmpfs -o ro). The tests run as root and root ignores
#              permission bits, so chmod cannot make an unwritable folder; a read-only mount is refused to root too.
# And bench_store on a 4 MiB tmpfs with 9 MiB to write: the raw baseline's write fails half-way (ENOSPC), which
# must be an error naming bench_store.raw (the original bug printed such a baseline as 978 GiB/s).
# Without permission to mount (not root, no CAP_SYS_ADMIN) the tmpfs cases are skipped and the test exits 77
# (ctest SKIP_RETURN_CODE) after the other cases passed.
set -uo pipefail
BENCH_STORE=$1 BENCH_MEDIA=$2 BENCH_FACES=$3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/test_bench_errors.XXXXXX")
MOUNTS=()
cleanup() {
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0 skipped=0

# expect_error NAME REASON FOLDER COMMAND...: exit status 1, "error" + FOLDER + REASON in stderr, no table.
expect_error() {
  local name=$1 reason=$2 folder=$3
  shift 3
  local out err rc
  out=$("$@" 2>"$WORK/stderr")
  rc=$?
  err=$(cat "$WORK/stderr")
  local why=""
  [[ $rc -eq 1 ]] || why+=" exit status $rc (want 1);"
  [[ $err == *error* ]] || why+=" no 'error' in stderr;"
  [[ $err == *"$folder"* ]] || why+=" stderr does not name $folder;"
  [[ $err == *"$reason"* ]] || why+=" stderr does not give the reason '$reason';"
  # Table rows carry units; none may be printed for a run that failed.
  if grep -Eq 'GiB/s|rows/s|median ratio|WASM/C\+\+' <<<"$out"; then why+=" a result table was printed;"; fi
  if [[ -n $why ]]; then
    echo "FAIL $name:$why"
    echo "  command: $*"
    echo "  stdout: $out"
    echo "  stderr: $err"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(head -c 300 <<<"$err" | tr '\n' ' ')"
  fi
}

# run_all CASE FOLDER REASON: the three programs with FOLDER as their output folder.
run_all() {
  local case=$1 folder=$2 reason=$3
  expect_error "bench_store $case" "$reason" "$folder" "$BENCH_STORE" --dir "$folder" --rows 256 --repeat 1
  expect_error "bench_media $case" "$reason" "$folder" "$BENCH_MEDIA" --tmp "$folder" --repeat 1
  expect_error "bench_faces $case" "$reason" "$folder" "$BENCH_FACES" --tmp "$folder" --repeats 1 --batch 1
}

run_all missing "$WORK/no/such/folder" "No such file or directory"
touch "$WORK/a_file"
run_all notadir "$WORK/a_file/sub" "Not a directory"

mkdir -p "$WORK/ro" "$WORK/small"
if mount -t tmpfs -o ro,size=1m tmpfs "$WORK/ro" 2>"$WORK/mount.err"; then
  MOUNTS+=("$WORK/ro")
  run_all readonly "$WORK/ro" "Read-only file system"
else
  echo "SKIP readonly: cannot mount a read-only tmpfs here: $(cat "$WORK/mount.err")"
  skipped=1
fi
if mount -t tmpfs -o size=4m tmpfs "$WORK/small" 2>"$WORK/mount.err"; then
  MOUNTS+=("$WORK/small")
  expect_error "bench_store raw baseline, disk full" "No space left on device" "$WORK/small/bench_store.raw" \
    "$BENCH_STORE" --dir "$WORK/small" --rows 256 --repeat 1
  left=$(ls -A "$WORK/small")
  if [[ -n $left ]]; then echo "FAIL bench_store left scratch files behind after the error: $left"; failures=$((failures + 1)); fi
else
  echo "SKIP disk full: cannot mount a tmpfs here: $(cat "$WORK/mount.err")"
  skipped=1
fi

# Control: a usable folder gives a table and exit 0, so the errors above come from the folders, not the programs.
mkdir -p "$WORK/ok"
out=$("$BENCH_STORE" --dir "$WORK/ok" --rows 256 --repeat 1 2>&1)
rc=$?
if [[ $rc -ne 0 || $out != *"GiB/s"* ]]; then
  echo "FAIL control: bench_store on a writable folder: exit $rc"
  echo "$out"
  failures=$((failures + 1))
else
  echo "ok   control: bench_store on a writable folder exits 0 with a table"
fi

if ((failures)); then echo "$failures failure(s)"; exit 1; fi
if ((skipped)); then exit 77; fi
echo "all passed"
