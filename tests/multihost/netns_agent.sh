#!/usr/bin/env bash
# netns_agent.sh — a launch agent for OpenMPI's rsh launcher (`--mca plm_rsh_agent netns_agent.sh`) that stands in
# for ssh between the two network-namespace "hosts" of netns_hosts.sh. Called as ssh is: `agent [ssh options] HOST
# command words...`; runs the command words, joined by spaces and read by a shell (as sshd does), inside the
# network namespace that owns HOST's address, in a UTS namespace of its own named after that host, so that the
# remote daemon (orted) and its ranks see a hostname of their own (OpenMPI keys its session folders and node
# identity on it; s3editor's process_context reports it).
# The address -> namespace/hostname map comes from MH_AGENT_MAP ("ADDR=NS=HOSTNAME ..." exported by
# netns_hosts.sh, inherited through mpirun); without it the agent looks for the namespace holding HOST's address.
set -euo pipefail
# Skip ssh-style options (OpenMPI may pass e.g. -x, or -o/-p with a value) up to the host.
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in
    -[bcDEeFIiJLlmOoPpQRSWw]) shift 2 ;;
    *) shift ;;
  esac
done
[[ $# -ge 2 ]] || { echo "netns_agent.sh: usage: netns_agent.sh [ssh options] HOST command..." >&2; exit 255; }
host="$1"; shift
ns=""; name=""
for entry in ${MH_AGENT_MAP:-}; do
  IFS='=' read -r addr entry_ns entry_name <<<"$entry"
  if [[ "$addr" == "$host" || "$entry_name" == "$host" ]]; then ns="$entry_ns"; name="$entry_name"; fi
done
if [[ -z "$ns" ]]; then
  for candidate in $(ip netns list | awk '{print $1}'); do
    if ip -n "$candidate" -4 -o addr show | grep -qw "inet $host"; then ns="$candidate"; name="$candidate"; fi
  done
fi
[[ -n "$ns" ]] || { echo "netns_agent.sh: no network namespace owns address $host" >&2; exit 255; }
# $* is what ssh would hand the remote shell: the words joined by spaces.
exec ip netns exec "$ns" unshare --uts /bin/sh -c 'hostname "$1" && shift && eval "$*"' netns_agent "$name" "$*"
