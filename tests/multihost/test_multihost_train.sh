#!/usr/bin/env bash
# Data-parallel training across two hosts (network namespaces joined by a veth, netns_hosts.sh): `s3editor train`
# on 2 hosts x 1 rank ends with the same weights (1e-5 relative, every parameter) as on 1 host x 2 ranks with the
# same per-rank batch. Also checks that the job really spanned two nodes (process_context: 2 nodes vs 1, each rank on
# its own host name) and that the heartbeat watched the remote rank.
set -euo pipefail
BIN="$1"; HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/netns_hosts.sh"
T="$(mktemp -d "${TMPDIR:-/tmp}/s3e_mh_train.XXXXXX")"
MH_EXTRA_TRAP='rm -rf "$T"'
mh_setup
cd "$T"

# Inputs on one host (plain process): a tiny world and its classifier.
"$BIN" synth --run-dir synth --out world.h5 --seed 3 --log-level warn --set synth.num_samples=400 \
  --set synth.layers=4 --set synth.channels=32 --set synth.edit_layers=0-2 --set synth.num_attributes=6 \
  --set synth.num_regions=3
"$BIN" train-classifier --store world.h5 --run-dir cls --out classifier.pt --log-level warn \
  --set classifier.steps=150 --set classifier.hidden1=64 --set classifier.hidden2=32 --set classifier.batch_size=64
TRAIN=(train --store "$T/world.h5" --classifier "$T/classifier.pt" --log-level info
  --set editor.edit_layers=0-2 --set editor.hidden_total=48 --set editor.clusters=2 --set train.steps=30
  --set train.checkpoint_every=10 --set train.batch_size=16 --set sparsity.start_step=5 --set sparsity.period_steps=5
  --set sparsity.periods=2 --set loss.identity=1 --set loss.cycle=1 --set train.lr=1e-3
  --set dist.heartbeat_s=0.5 --set dist.heartbeat_timeout_s=10)

rc=0; mh_mpirun 70 "a:2" "$BIN" "${TRAIN[@]}" --run-dir "$T/one_host" --out "$T/one_host/editor" >one_host.log 2>&1 || rc=$?
mh_check "1 host x 2 ranks: exit 0" '(( rc == 0 )) || { tail -20 one_host.log; false; }'
rc=0; mh_mpirun 70 "a:1,b:1" "$BIN" "${TRAIN[@]}" --run-dir "$T/two_hosts" --out "$T/two_hosts/editor" >two_hosts.log 2>&1 || rc=$?
mh_check "2 hosts x 1 rank: exit 0" '(( rc == 0 )) || { tail -20 two_hosts.log; false; }'

mh_check "1 host x 2 ranks is 1 node" 'grep -q "train on 2 rank(s), 1 node(s)" one_host/logs/train.rank00000.log'
mh_check "2 hosts x 1 rank is 2 nodes" 'grep -q "train on 2 rank(s), 2 node(s)" two_hosts/logs/train.rank00000.log'
mh_check "2 hosts: rank 0 on host a watched rank 1 on host b by heartbeat" \
  'grep -q "heartbeat: rank 0 (host $MH_HOST_A) watches 1 of 1 other ranks (hosts $MH_HOST_B)" two_hosts.log'
mh_check "1 host: both ranks on host a" \
  'grep -q "heartbeat: rank 0 (host $MH_HOST_A) watches 1 of 1 other ranks (hosts $MH_HOST_A)" one_host.log'
mh_check "same weights within 1e-5 (relative, every parameter)" '/usr/bin/python3 - "$T" <<"PY"
import sys, torch
t = sys.argv[1]
a = dict(torch.jit.load(f"{t}/one_host/editor/editor_weights.pt").named_parameters())
b = dict(torch.jit.load(f"{t}/two_hosts/editor/editor_weights.pt").named_parameters())
assert a.keys() == b.keys() and len(a) > 0, (a.keys(), b.keys())
worst = 0.0
for name in a:
    rel = float((a[name] - b[name]).norm() / max(1e-12, float(a[name].norm())))
    worst = max(worst, rel)
    assert rel < 1e-5, (name, rel)
print(f"{len(a)} parameters, worst relative difference {worst:.2e}")
PY'
mh_summary "multihost train"
