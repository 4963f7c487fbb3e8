#!/usr/bin/env bash
# A standalone 3-member etcd cluster on loopback, for clusterdeck's quorum tests.
#
# Members e1, e2, e3, plain http, data under $STATE/eN:
#   e1  client http://127.0.0.1:21379  peer http://127.0.0.1:21380
#   e2  client http://127.0.0.1:22379  peer http://127.0.0.1:22380
#   e3  client http://127.0.0.1:23379  peer http://127.0.0.1:23380
# The etcd binary is the one kube.sh uses for its control plane (see etcd_bin below), so both
# engines run the same etcd. Each member answers the v3 JSON gateway, e.g.
# POST /v3/maintenance/status with '{}' (leader, raftTerm, raftIndex).
#
# Usage: etcd.sh up | down | stop N... [--kill] | start N... | status | env   (N = 1..3)
#   up        start the three members (cleaning leftovers of an earlier run), wait until each
#             answers and a leader is elected, write $STATE/env (sourceable) and print a
#             one-line summary; a no-op when all three already run and answer
#   down      stop the members by their recorded pids and remove $STATE (safe at any time)
#   stop N..  stop these members by their pids (SIGTERM, SIGKILL after 20 s); their data stays.
#             A leader stopped this way hands leadership over first (a new leader at once);
#             'stop N... --kill' sends SIGKILL (a crash: the others elect after ~1-2 s)
#   start N.. start these members again on their data dirs (rejoining the cluster) and wait
#             until they answer; a member started while quorum is lost answers only once
#             quorum is back, so start the lost members in one call
#   status    each member: running or not, and its view (leader, raft term and index)
#   env       print $STATE/env
#
# Seen on 2 cores: SIGKILL of the leader -> the others elect a new one in ~1.2 s; SIGTERM -> at
# once (handover); a restarted member answers with a leader in ~0.3 s; with 2 of 3 down the
# survivor answers status with "errors":["etcdserver: no leader"] (no "leader" field) within
# ~2 s and writes time out; starting one of the two brings quorum back in < 1 s.
#
# STATE defaults to /run/clusterdeck-etcd (override with CD_ETCD_STATE); CD_ETCD_BIN overrides
# the etcd binary. Traffic goes only to loopback.
set -euo pipefail

export ENGINE_NAME=etcd
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source=scripts/engines/lib.sh
. "$HERE/lib.sh"

STATE=${CD_ETCD_STATE:-/run/clusterdeck-etcd}
STATE=${STATE%/}
HOST=127.0.0.1
MEMBERS=(1 2 3)
TOKEN=cd-etcd
START_WAIT=${CD_ETCD_START_WAIT:-60}

client_url() { echo "http://$HOST:2${1}379"; }
peer_url() { echo "http://$HOST:2${1}380"; }
initial_cluster() {
  local n out=
  for n in "${MEMBERS[@]}"; do out+="${out:+,}e$n=$(peer_url "$n")"; done
  echo "$out"
}
endpoints() {
  local n out=
  for n in "${MEMBERS[@]}"; do out+="${out:+,}$(client_url "$n")"; done
  echo "$out"
}

# The etcd that kube.sh builds (v3.6.8, from the Go module proxy, cached): 'kube.sh install'
# is a no-op once built, and builds everything otherwise (the etcd choice is explained there).
etcd_bin() {
  if [ -n "${CD_ETCD_BIN:-}" ]; then
    echo "$CD_ETCD_BIN"
    return 0
  fi
  local bin
  "$HERE/kube.sh" install >&2 || die "kube.sh install failed"
  bin=$("$HERE/kube.sh" bindir) || die "kube.sh bindir failed"
  [ -x "$bin/etcd" ] || die "no etcd in $bin after kube.sh install"
  echo "$bin/etcd"
}

# ---------------------------------------------------------------------------------------------
# members

member_pid() { # prints member N's pid when it is running
  local pid
  pid=$(read_pid "$STATE/e$1.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then echo "$pid"; fi
}

check_member() {
  [[ ${1:-} =~ ^[123]$ ]] || die "no member '${1:-}' (members are 1, 2, 3)"
}

start_member() { # start_member N new|existing : launch detached (no wait)
  local n=$1 cstate=$2
  echo "---- start $(date -Is) ($cstate)" >>"$STATE/e$n.log"
  # setsid execs (a background job of a script is no group leader): $! is etcd's own pid.
  setsid "$ETCD" --name "e$n" --data-dir "$STATE/e$n" \
    --listen-client-urls "$(client_url "$n")" --advertise-client-urls "$(client_url "$n")" \
    --listen-peer-urls "$(peer_url "$n")" --initial-advertise-peer-urls "$(peer_url "$n")" \
    --initial-cluster "$(initial_cluster)" --initial-cluster-state "$cstate" \
    --initial-cluster-token "$TOKEN" \
    </dev/null >>"$STATE/e$n.log" 2>&1 &
  echo $! >"$STATE/e$n.pid"
}

# member_status N : member N's own view (POST /v3/maintenance/status); fails when it does not
# answer within 3 s
member_status() {
  curl -sf --max-time 3 -X POST -d '{}' "$(client_url "$1")/v3/maintenance/status"
}

json_field() { # json_field NAME : the value of "NAME" in the JSON on stdin ('' when absent)
  sed -n "s/.*\"$1\":\"\{0,1\}\([0-9A-Za-z.]*\).*/\1/p" | head -n 1
}

# has_leader N : member N answers and knows a leader
has_leader() {
  local leader
  leader=$(member_status "$1" | json_field leader) || return 1
  [ -n "$leader" ] && [ "$leader" != 0 ]
}

wait_members() { # wait_members N... : until each answers and knows a leader
  local n end
  end=$(($(date +%s) + START_WAIT))
  for n in "$@"; do
    while ! has_leader "$n"; do
      if [ -z "$(member_pid "$n")" ]; then
        tail -n 20 "$STATE/e$n.log" >&2 || true
        die "member e$n exited at start; log: $STATE/e$n.log"
      fi
      if [ "$(date +%s)" -ge "$end" ]; then
        tail -n 20 "$STATE/e$n.log" >&2 || true
        die "member e$n does not answer with a leader on $(client_url "$n") within ${START_WAIT}s; log: $STATE/e$n.log"
      fi
      sleep 0.2
    done
  done
}

stop_member() { # stop_member N [kill]
  local n=$1 how=${2:-} pid i
  pid=$(member_pid "$n")
  if [ -n "$pid" ] && [ "$how" = kill ]; then
    log "killing e$n pid $pid (SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then die "e$n (pid $pid) did not exit after SIGKILL"; fi
  elif [ -n "$pid" ]; then
    log "stopping e$n pid $pid"
    stop_pid "$pid" 20 || die "e$n (pid $pid) did not stop"
  fi
  rm -f "$STATE/e$n.pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

write_env() {
  local f=$STATE/env n
  {
    echo "# written by scripts/engines/etcd.sh; source it"
    echo "export CD_ETCD_STATE='$STATE'"
    echo "export CD_ETCD_ENDPOINTS='$(endpoints)'"
    for n in "${MEMBERS[@]}"; do
      echo "export CD_ETCD_E${n}_ENDPOINT='$(client_url "$n")'"
      echo "export CD_ETCD_E${n}_PIDFILE='$STATE/e$n.pid'"
    done
    echo "export CD_ETCD_BIN='$ETCD'"
    echo "export CD_ETCDCTL='$(dirname "$ETCD")/etcdctl'"
    echo "export CD_ETCD_SCRIPT='$(readlink -f "$0")'"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

all_up() {
  local n
  for n in "${MEMBERS[@]}"; do
    if [ -z "$(member_pid "$n")" ] || ! has_leader "$n"; then return 1; fi
  done
  [ -s "$STATE/env" ]
}

summary() {
  local n pids=
  for n in "${MEMBERS[@]}"; do pids+="${pids:+,}$(member_pid "$n")"; done
  echo "etcd $1 in $(elapsed)s: $("$ETCD" --version | sed -n 's/^etcd Version: //p') members e1 e2 e3 at $(endpoints) (pids $pids); source $STATE/env"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
  # shellcheck disable=SC2154
  trap 'rc=$?; [ $rc = 0 ] || log "up failed (exit $rc); logs under $STATE; clean up with: $0 down"' EXIT
  ensure_packages curl
  ETCD=$(etcd_bin)
  if all_up; then
    log "already up"
    summary "already up"
    return 0
  fi
  if [ -d "$STATE" ]; then
    log "cleaning leftovers of an earlier run"
    cmd_stop "${MEMBERS[@]}"
    rm -rf "$STATE"
  fi
  local n port
  for n in "${MEMBERS[@]}"; do
    for port in "2${n}379" "2${n}380"; do
      if port_open "$port"; then
        die "$HOST:$port is already in use by a process this script did not start"
      fi
    done
  done
  mkdir -p "$STATE"
  log "starting e1 e2 e3"
  for n in "${MEMBERS[@]}"; do start_member "$n" new; done
  wait_members "${MEMBERS[@]}"
  write_env
  log "up"
  summary up
}

cmd_down() {
  local pid
  if [ -d "$STATE" ]; then
    cmd_stop "${MEMBERS[@]}"
    # A member whose pid file was lost (an 'up' killed between start and record): an etcd
    # running with a data dir in our state directory, and nothing else.
    for pid in $(pids_with_arg "$STATE/e"); do
      if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */etcd ]]; then
        log "stopping leftover etcd pid $pid"
        stop_pid "$pid" 20 || true
      fi
    done
    rm -rf "$STATE"
  fi
  log "down"
  echo "etcd down in $(elapsed)s"
}

cmd_stop() { # cmd_stop N... [--kill]
  local n how='' ns=()
  for n in "$@"; do
    if [ "$n" = --kill ]; then how='kill'; else ns+=("$n"); fi
  done
  [ ${#ns[@]} -gt 0 ] || die "usage: $0 stop N... [--kill] (N = 1..3)"
  for n in "${ns[@]}"; do check_member "$n"; done
  for n in "${ns[@]}"; do stop_member "$n" "$how"; done
}

cmd_start() {
  local n started=()
  [ $# -gt 0 ] || die "usage: $0 start N... (N = 1..3)"
  for n in "$@"; do check_member "$n"; done
  [ -s "$STATE/env" ] || die "not up (run '$0 up')"
  ETCD=$(etcd_bin)
  for n in "$@"; do
    if [ -n "$(member_pid "$n")" ]; then
      log "e$n already runs (pid $(member_pid "$n"))"
      continue
    fi
    [ -d "$STATE/e$n/member" ] || die "e$n has no data dir ($STATE/e$n): not part of this cluster"
    # With its data dir the member rejoins as itself; 'existing' says so for the flags too.
    start_member "$n" existing
    started+=("$n")
  done
  [ ${#started[@]} -eq 0 ] || wait_members "${started[@]}"
  echo "etcd start ${*}: running in $(elapsed)s"
}

# member_names : "ID name" lines from the first member that answers POST /v3/cluster/member/list
member_names() {
  local n
  for n in "${MEMBERS[@]}"; do
    if curl -sf --max-time 3 -X POST -d '{}' "$(client_url "$n")/v3/cluster/member/list" |
      grep -o '"ID":"[0-9]*",[[:space:]]*"name":"[^"]*"' | sed 's/"ID":"\([0-9]*\)",[[:space:]]*"name":"\([^"]*\)"/\1 \2/'; then
      return 0
    fi
  done
}

cmd_status() {
  local n pid st rc=0 names leader id
  names=$(member_names || true)
  for n in "${MEMBERS[@]}"; do
    pid=$(member_pid "$n")
    if [ -z "$pid" ]; then
      echo "e$n: not running"
      rc=1
    elif st=$(member_status "$n"); then
      leader=$(json_field leader <<<"$st")
      if [ -z "$leader" ] || [ "$leader" = 0 ]; then
        leader="none ($(sed -n 's/.*"errors":\["\([^"]*\)".*/\1/p' <<<"$st"))"
        rc=1
      else
        id=$(awk -v id="$leader" '$1 == id { print $2 }' <<<"$names")
        leader=${id:-$leader}
      fi
      echo "e$n: running, pid $pid, $(client_url "$n"): leader $leader, raftTerm $(json_field raftTerm <<<"$st"), raftIndex $(json_field raftIndex <<<"$st")"
    else
      echo "e$n: running, pid $pid, but $(client_url "$n") does not answer"
      rc=1
    fi
  done
  return "$rc"
}

cmd="${1:-}"
[ $# -eq 0 ] || shift
case "$cmd" in
up) cmd_up ;;
down) cmd_down ;;
stop) cmd_stop "$@" ;;
start) cmd_start "$@" ;;
status) cmd_status ;;
env) cat "$STATE/env" ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
