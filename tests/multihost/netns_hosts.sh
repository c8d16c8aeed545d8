# netns_hosts.sh — two "hosts" on one machine for multi-host MPI tests (sourced by tests/multihost/test_*.sh).
# Each host is a network namespace (s3e-<id>-a, s3e-<id>-b) with loopback and one end of a veth pair (named
# s3e0 in both), addressed 10.<x>.<y>.1/30 and .2/30 with x, y taken from the test's pid, so that tests running
# side by side never share names or addresses. mpirun runs inside namespace A (in a UTS namespace whose hostname
# is MH_HOST_A); it reaches host B through tests/multihost/netns_agent.sh, which OpenMPI's rsh launcher calls
# as it would call ssh and which runs the daemon inside namespace B with hostname MH_HOST_B. MPI traffic is
# restricted to the veth (btl tcp,self and tcp/oob interface include s3e0): no shared memory, no other interface.
# The filesystem is shared (only the network and the hostname differ), as on a cluster with a shared filesystem.
#
#   source tests/multihost/netns_hosts.sh
#   mh_setup                                 # namespaces + veth + EXIT trap that removes them and kills their processes
#   mh_mpirun 40 "a:1,b:1" cmd args...       # time limit (s), ranks per host (a, b or both), command; returns mpirun's code
#   mh_cut_link b                            # take host b's end of the link down (from outside the job)
#   mh_kill_all                              # SIGKILL every process inside both namespaces
#
# Needs root (ip netns, unshare). Every mpirun goes under `timeout -k`: an abort towards a cut host can hang.

MH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MH_ID="$$"
MH_NS_A="s3e-$MH_ID-a"; MH_NS_B="s3e-$MH_ID-b"
MH_HOST_A="s3e$MH_ID-a"; MH_HOST_B="s3e$MH_ID-b"
MH_IF="s3e0"
# A /30 of 10.0.0.0/8 from the pid: 10.<pid's bits 8-15>.<pid's bits 0-7>.0/30, distinct for pids that differ in
# their low 16 bits (namespaces isolate them anyway; unique addresses keep logs and the agent's map unambiguous).
MH_NET="10.$(( (MH_ID >> 8) & 255 )).$(( MH_ID & 255 ))"
MH_ADDR_A="$MH_NET.1"
MH_ADDR_B="$MH_NET.2"
MH_AGENT="$MH_HERE/netns_agent.sh"
export MH_AGENT_MAP="$MH_ADDR_A=$MH_NS_A=$MH_HOST_A $MH_ADDR_B=$MH_NS_B=$MH_HOST_B"
MH_EXTRA_TRAP="${MH_EXTRA_TRAP:-}"

mh_log() { echo "[multihost $(date +%T)] $*" >&2; }
# The launcher's variables of an enclosing MPI job would confuse the mpirun started here.
for mh_v in $(env | grep -o '^\(OMPI\|PMIX\|PMI\)_[A-Za-z0-9_]*' || true); do unset "$mh_v"; done
MH_PASSES=0; MH_FAILURES=0
# mh_check "what" 'shell condition' — counts and prints failures; mh_summary ends the test with their verdict.
mh_check() { if eval "$2"; then MH_PASSES=$((MH_PASSES + 1)); else echo "FAILED: $1"; MH_FAILURES=$((MH_FAILURES + 1)); fi; }
mh_summary() { echo "$1: $MH_PASSES passed, $MH_FAILURES failed"; (( MH_FAILURES == 0 && MH_PASSES > 0 )); }

# SIGKILL everything inside a namespace, until nothing is left (a daemon may fork while we kill).
mh_kill_ns() {
  local ns="$1" pids i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -z "$pids" ]] && return 0
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
  mh_log "processes still in $ns: $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
}

mh_kill_all() { mh_kill_ns "$MH_NS_A"; mh_kill_ns "$MH_NS_B"; }

mh_teardown() {
  local rc=$?
  set +e
  mh_kill_all
  ip netns del "$MH_NS_A" 2>/dev/null
  ip netns del "$MH_NS_B" 2>/dev/null
  [[ -n "$MH_EXTRA_TRAP" ]] && eval "$MH_EXTRA_TRAP"
  return $rc
}

# Namespaces of earlier tests whose process is gone (killed with SIGKILL, e.g. by ctest's timeout, so that their
# EXIT trap never ran): their processes are killed and the namespaces removed. Live tests' namespaces are left alone.
mh_remove_stale() {
  local ns pid
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^s3e-[0-9]+-[ab]$' || true); do
    pid="${ns#s3e-}"; pid="${pid%-*}"
    [[ "$pid" == "$MH_ID" ]] && continue
    kill -0 "$pid" 2>/dev/null && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *test_multihost* ]] && continue
    mh_log "removing stale namespace $ns"
    mh_kill_ns "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
}

mh_setup() {
  [[ "$(id -u)" == 0 ]] || { echo "multihost tests need root (ip netns)"; exit 1; }
  mh_remove_stale
  trap mh_teardown EXIT
  trap 'exit 130' INT TERM
  ip netns add "$MH_NS_A"
  ip netns add "$MH_NS_B"
  # Created straight inside the namespaces, so the host's namespace never sees (or collides on) the names.
  ip link add "$MH_IF" netns "$MH_NS_A" type veth peer name "$MH_IF" netns "$MH_NS_B"
  ip -n "$MH_NS_A" addr add "$MH_ADDR_A/30" dev "$MH_IF"
  ip -n "$MH_NS_B" addr add "$MH_ADDR_B/30" dev "$MH_IF"
  local ns
  for ns in "$MH_NS_A" "$MH_NS_B"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$MH_IF" up
    # TCP gives up on a peer that stopped acknowledging after 3 retransmissions (~3 s) instead of 15 (~15 min).
    # Why: after MPI_Abort, mpirun orders every daemon to kill its ranks and waits until each confirms or its
    # connection fails; towards a cut host that wait is TCP's retransmission timeout. This only shortens how long
    # the launcher lingers after the error; it does not change when or how the heartbeat reports the lost rank.
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_retries2=3
  done
  local i
  for i in $(seq 50); do   # a veth reports its carrier once both ends are up
    ip -n "$MH_NS_A" link show "$MH_IF" | grep -q 'state UP' && break
    sleep 0.1
  done
  mh_log "hosts $MH_HOST_A ($MH_ADDR_A, netns $MH_NS_A) and $MH_HOST_B ($MH_ADDR_B, netns $MH_NS_B)"
}

# mh_mpirun LIMIT_S "a:N,b:M" command... — runs command on N ranks of host a then M of host b (rank order: a's
# first), mpirun itself in namespace A; returns mpirun's exit code (124/137 when the time limit killed it).
mh_mpirun() {
  local limit="$1" layout="$2"; shift 2
  local hosts="" total=0 part h n
  for part in ${layout//,/ }; do
    h="${part%%:*}"; n="${part##*:}"
    total=$((total + n))
    case "$h" in
      a) hosts+="${hosts:+,}$MH_ADDR_A:$n" ;;
      b) hosts+="${hosts:+,}$MH_ADDR_B:$n" ;;
      *) echo "mh_mpirun: host '$h' is not a or b" >&2; return 2 ;;
    esac
  done
  local rc=0
  timeout -k 5 "$limit" ip netns exec "$MH_NS_A" unshare --uts /bin/sh -c 'hostname "$1" && shift && exec "$@"' \
    mh "$MH_HOST_A" mpirun --allow-run-as-root --oversubscribe --bind-to none -n "$total" --host "$hosts" \
    --mca plm_rsh_agent "$MH_AGENT" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,self --mca btl_tcp_if_include "$MH_IF" --mca oob_tcp_if_include "$MH_IF" \
    -x PATH -x OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" -x OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" "$@" || rc=$?
  return $rc
}

# mh_cut_link HOST — takes that host's end of the veth down, as a pulled cable would: packets stop, sockets stay open.
mh_cut_link() {
  case "$1" in
    a) ip -n "$MH_NS_A" link set "$MH_IF" down ;;
    b) ip -n "$MH_NS_B" link set "$MH_IF" down ;;
  esac
}
