# shellcheck shell=bash
# Shared helpers for the scripts in scripts/engines/ (sourced, not run).
#
# Every engine script installs what it needs from Debian's packages, starts its processes
# itself, records their pids in its own state directory and stops only those pids.

# Seconds since the script started, for log lines and timings.
ENGINE_T0=${ENGINE_T0:-$(date +%s.%N)}

elapsed() { awk -v a="$ENGINE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

log() { printf '[%s %6ss] %s\n' "${ENGINE_NAME:-engine}" "$(elapsed)" "$*" >&2; }

die() {
  printf '[%s %6ss] ERROR: %s\n' "${ENGINE_NAME:-engine}" "$(elapsed)" "$*" >&2
  exit 1
}

# ensure_packages PKG... : apt-get install the packages that are not installed yet.
# 'apt-get update' runs only when something must be installed. Services that packages would
# start (the host's own dockerd, a registry on :5000, ...) are kept from starting with a
# temporary policy-rc.d when the machine has none.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0 aptlog
  aptlog=$(mktemp "${TMPDIR:-/tmp}/${ENGINE_NAME:-engine}-apt.XXXXXX")
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Use-Pty=0 "${missing[@]}"
  } >"$aptlog" 2>&1 || rc=$?
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" != 0 ]; then
    tail -n 30 "$aptlog" >&2
    die "apt-get install ${missing[*]} failed (exit $rc); log: $aptlog"
  fi
  rm -f "$aptlog"
  log "installed ${missing[*]}"
}

# pid_alive PID : true when PID is a live (non-zombie) process.
pid_alive() {
  local pid=$1 st
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  st=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# read_pid FILE : prints the pid recorded in FILE (nothing when absent or empty).
read_pid() { if [ -s "$1" ]; then tr -dc '0-9' <"$1"; fi; }

# stop_pid PID [GRACE_SECONDS] : SIGTERM, wait for exit, SIGKILL after the grace period.
stop_pid() {
  local pid=$1 grace=${2:-20} i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid still running after ${grace}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid did not exit after SIGKILL"
  return 1
}

# pids_with_arg STRING : pids of processes whose command line contains STRING (used with a
# path inside the script's own state directory, which only its own processes carry).
pids_with_arg() {
  local needle=$1 d pid cmd
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" = "$$" ] || [ "$pid" = "${BASHPID:-$$}" ] && continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
    if [[ $cmd == *"$needle"* ]]; then echo "$pid"; fi
  done
}

# wait_until SECONDS DESCRIPTION CMD... : run CMD every 0.25 s until it succeeds; false on timeout.
wait_until() {
  local secs=$1 what=$2 end
  shift 2
  end=$(($(date +%s) + secs))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      log "timed out after ${secs}s waiting for $what"
      return 1
    fi
    sleep 0.25
  done
}
