#!/usr/bin/env bash
# A private rsyslogd on loopback TCP, for clusterdeck's syslog-forwarding tests.
#
# Runs Debian's rsyslogd in the foreground (-n) under its own config in DIR: one imtcp input on
# 127.0.0.1:PORT (RFC 6587 octet counting and LF framing), and every message received written as
# its raw text, one per line, to DIR/received.log. No other input is loaded (no imuxsock, no
# imklog): the host's /dev/log and kernel log are never touched. Pid file, work directory, config
# and rsyslogd's own output all live in DIR.
#
# Usage: rsyslog.sh start DIR PORT | stop DIR | install
#   start    install rsyslog if missing, start rsyslogd, wait until PORT accepts connections
#            (DIR is created; received.log is kept across restarts, so a test can see what
#            arrived before and after)
#   stop     stop the rsyslogd this script started in DIR (SIGTERM by its pid, wait for exit;
#            SIGKILL after 20 s); safe when it is not running
#   install  only make sure rsyslogd is installed
set -euo pipefail

ENGINE_NAME=rsyslog
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

START_WAIT=${CD_RSYSLOG_START_WAIT:-20}

rsyslogd_bin() {
  command -v rsyslogd 2>/dev/null && return 0
  [ -x /usr/sbin/rsyslogd ] && echo /usr/sbin/rsyslogd && return 0
  return 1
}

install() {
  rsyslogd_bin >/dev/null || ensure_packages rsyslog
  rsyslogd_bin >/dev/null || die "rsyslogd not found after installing rsyslog"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() { # prints the pid of DIR's rsyslogd when it is running
  local pid
  pid=$(read_pid "$1/launcher.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then echo "$pid"; fi
}

start() {
  local dir=$1 port=$2 bin pid i
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ] && [ "$port" -lt 65536 ] ||
    die "PORT must be a TCP port number, got '$port'"
  install
  bin=$(rsyslogd_bin)
  mkdir -p "$dir/work"
  dir=$(readlink -f "$dir")
  pid=$(running_pid "$dir")
  [ -z "$pid" ] || die "rsyslogd (pid $pid) is already running in $dir"
  rm -f "$dir/pid" "$dir/launcher.pid"
  cat >"$dir/rsyslog.conf" <<EOF
# Written by scripts/engines/rsyslog.sh; private to this directory.
global(workDirectory="$dir/work" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$port")
template(name="clusterdeckRaw" type="string" string="%rawmsg%\n")
*.* action(type="omfile" file="$dir/received.log" template="clusterdeckRaw")
EOF
  touch "$dir/received.log"
  "$bin" -N1 -f "$dir/rsyslog.conf" >"$dir/rsyslogd.out" 2>&1 ||
    die "rsyslogd rejects its config: $(cat "$dir/rsyslogd.out")"
  # -n: foreground, so $! is rsyslogd itself. stdio goes to a file: a caller reading this
  # script's output must not wait for rsyslogd to exit.
  "$bin" -n -f "$dir/rsyslog.conf" -i "$dir/pid" </dev/null >>"$dir/rsyslogd.out" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/launcher.pid"
  for ((i = 0; i < START_WAIT * 10; i++)); do
    if ! pid_alive "$pid"; then
      die "rsyslogd exited at start; its output:
$(cat "$dir/rsyslogd.out")"
    fi
    if port_open "$port"; then
      log "rsyslogd pid $pid listening on 127.0.0.1:$port, writing $dir/received.log"
      return 0
    fi
    sleep 0.1
  done
  stop_pid "$pid" 5 || true
  die "rsyslogd (pid $pid) did not accept connections on 127.0.0.1:$port within ${START_WAIT}s; output:
$(cat "$dir/rsyslogd.out")"
}

stop() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  pid=$(running_pid "$dir")
  if [ -n "$pid" ]; then
    stop_pid "$pid" 20 || die "rsyslogd (pid $pid) did not stop"
    log "rsyslogd pid $pid stopped"
  fi
  rm -f "$dir/launcher.pid"
}

case "${1:-}" in
start)
  [ $# -eq 3 ] || die "usage: $0 start DIR PORT"
  start "$2" "$3"
  ;;
stop)
  [ $# -eq 2 ] || die "usage: $0 stop DIR"
  stop "$2"
  ;;
install)
  install
  ;;
*)
  die "usage: $0 start DIR PORT | stop DIR | install"
  ;;
esac
