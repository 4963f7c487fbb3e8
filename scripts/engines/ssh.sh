#!/usr/bin/env bash
# An sshd in each of the test swarm's network namespaces (scripts/engines/swarm.sh), for the
# ssh:// engine and ssh-to-node tests.
#
# Debian's openssh-server, installed without starting the host's own sshd (ensure_packages keeps
# package services from starting). Each node N gets an sshd on 10.99.N.2:22 in namespace cdnN,
# with a host key of its own, root login by key only (the key this script makes), and
# DOCKER_HOST set to that node's own engine socket for its sessions (so `docker system
# dial-stdio` there reaches that node's dockerd). Nothing here reads or writes ~/.ssh: the
# tests pass $STATE/ssh_config with -F.
#
# Files under $STATE (default /run/clusterdeck-ssh, CD_SSH_STATE):
#   id_ed25519           the authorized client key
#   wrong_ed25519        a key no sshd accepts
#   known_hosts          every node's host key, by address
#   ssh_config           Host 10.99.*: User root, the key above, that known_hosts, strict
#                        host key checking, BatchMode
#   ssh_config_unknown   the same with an empty known_hosts (an unknown host key)
#   ssh_config_wrongkey  the same with the wrong key
#
# Usage: ssh.sh up | down | stop N... | start N... | env
#   up       install, make the keys, start every node's sshd, wait until each answers, write
#            $STATE/env (sourceable); needs the swarm up
#   down     stop the sshds this script started (by pid) and remove $STATE
#   stop N   stop node N's sshd (SIGTERM by pid)      start N   start it again
set -euo pipefail

export ENGINE_NAME=ssh
# shellcheck source=scripts/engines/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

STATE=${CD_SSH_STATE:-/run/clusterdeck-ssh}
STATE=${STATE%/}
SWARM=${CD_SWARM_STATE:-/run/clusterdeck-swarm}
SWARM=${SWARM%/}
NODES=(1 2 3 4 5)

sshd_pid() { # sshd_pid N : prints node N's sshd pid when it runs
  local pid
  pid=$(read_pid "$STATE/n$1/sshd.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then echo "$pid"; fi
}

make_keys() {
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  [ -f "$STATE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C clusterdeck-test -f "$STATE/id_ed25519"
  [ -f "$STATE/wrong_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C clusterdeck-wrong -f "$STATE/wrong_ed25519"
  cp "$STATE/id_ed25519.pub" "$STATE/authorized_keys"
  : >"$STATE/known_hosts"
  : >"$STATE/known_hosts_empty"
  local n
  for n in "${NODES[@]}"; do
    mkdir -p "$STATE/n$n"
    [ -f "$STATE/n$n/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C "node$n" -f "$STATE/n$n/host_key"
    echo "10.99.$n.2 $(cut -d' ' -f1,2 "$STATE/n$n/host_key.pub")" >>"$STATE/known_hosts"
  done
  client_config ssh_config id_ed25519 known_hosts
  client_config ssh_config_unknown id_ed25519 known_hosts_empty
  client_config ssh_config_wrongkey wrong_ed25519 known_hosts
}

client_config() { # client_config FILE KEY KNOWN_HOSTS
  cat >"$STATE/$1" <<EOF
# written by scripts/engines/ssh.sh
Host 10.99.*
  User root
  IdentityFile $STATE/$2
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $STATE/$3
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
EOF
}

sshd_config() { # sshd_config N
  cat >"$STATE/n$1/sshd_config" <<EOF
# written by scripts/engines/ssh.sh: node $1's sshd, in namespace cdn$1
ListenAddress 10.99.$1.2
Port 22
HostKey $STATE/n$1/host_key
PidFile $STATE/n$1/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=unix://$SWARM/n$1/sock
EOF
}

start_node() { # start_node N : launch node N's sshd (does not wait)
  local n=$1
  [ -n "$(sshd_pid "$n")" ] && return 0
  sshd_config "$n"
  rm -f "$STATE/n$n/sshd.pid"
  # -D: stays in the foreground of its own session, so the pid is sshd's and it writes it.
  setsid nsenter --net="/var/run/netns/cdn$n" /usr/sbin/sshd -D -f "$STATE/n$n/sshd_config" \
    -E "$STATE/n$n/sshd.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$STATE/n$n/launcher.pid"
}

answers() { # answers N : node N's sshd lets the test key in
  timeout 10 ssh -F "$STATE/ssh_config" "10.99.$1.2" true >/dev/null 2>&1
}

wait_node() {
  local n=$1 i
  for ((i = 0; i < 100; i++)); do
    if [ -n "$(sshd_pid "$n")" ] && answers "$n"; then return 0; fi
    sleep 0.1
  done
  die "node $n's sshd did not answer on 10.99.$n.2:22; log: $STATE/n$n/sshd.log"
}

descendants() { # descendants PID : every process under PID, children first
  local c
  for c in $(ps -e -o pid=,ppid= | awk -v p="$1" '$2 == p { print $1 }'); do
    descendants "$c"
    echo "$c"
  done
}

stop_node() { # stop_node N : node N's sshd and the connections it serves
  local pid p
  pid=$(sshd_pid "$1")
  if [ -n "$pid" ]; then
    # Each connection is a process under the listener (in a session of its own): they go
    # too, so a client's open connection ends as when a node goes away.
    for p in $(descendants "$pid"); do
      kill -TERM "$p" 2>/dev/null || true
    done
    stop_pid "$pid" 10
  fi
  pid=$(read_pid "$STATE/n$1/launcher.pid")
  [ -n "$pid" ] && stop_pid "$pid" 5
  rm -f "$STATE/n$1/sshd.pid" "$STATE/n$1/launcher.pid"
}

write_env() {
  {
    echo "# written by scripts/engines/ssh.sh; source it"
    echo "export CD_SSH_STATE='$STATE'"
    echo "export CD_SSH_CONFIG='$STATE/ssh_config'"
    echo "export CD_SSH_CONFIG_UNKNOWN='$STATE/ssh_config_unknown'"
    echo "export CD_SSH_CONFIG_WRONGKEY='$STATE/ssh_config_wrongkey'"
    echo "export CD_SSH_KEY='$STATE/id_ed25519'"
    echo "export CD_SSH_SCRIPT='$(readlink -f "$0")'"
  } >"$STATE/env"
}

cmd_up() {
  [ -S "$SWARM/n1/sock" ] || die "the swarm is not up ($SWARM): run scripts/engines/swarm.sh up first"
  ensure_packages openssh-server openssh-client
  # The package must not have started the host's own sshd (a listener outside the nodes).
  if ss -Hltn 'sport = :22' 2>/dev/null | grep -q .; then
    die "something listens on the host's port 22 (a host-wide sshd?): not started by this script; stop it"
  fi
  mkdir -p /run/sshd # sshd's privilege separation directory
  make_keys
  local n
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in "${NODES[@]}"; do wait_node "$n"; done
  write_env
  log "up"
  echo "ssh up: sshd on 10.99.{1..5}.2:22 (root by key); source $STATE/env"
}

cmd_down() {
  local n
  for n in "${NODES[@]}"; do
    [ -d "$STATE/n$n" ] && stop_node "$n"
  done
  # The console's ControlMasters to these hosts die with their sshd; nothing else to stop.
  rm -rf "$STATE"
  log "down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  stop)
    shift
    for n in "$@"; do stop_node "$n"; done
    ;;
  start)
    shift
    for n in "$@"; do start_node "$n"; done
    for n in "$@"; do wait_node "$n"; done
    ;;
  env) cat "$STATE/env" ;;
  *)
    echo "usage: $0 up | down | stop N... | start N... | env" >&2
    exit 2
    ;;
esac
