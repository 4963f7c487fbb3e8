#!/usr/bin/env bash
# A real 5-node Docker Swarm on one machine, for clusterdeck's tests.
#
# Each node is its own dockerd (Debian's docker.io, Engine 20.10 / API 1.41) in its own network
# namespace cdnN (10.99.N.2/24, host side 10.99.N.1 on veth cdvN) with its own hostname:
# mgr1 mgr2 mgr3 (managers) and wrk1 wrk2 (workers). A registry (Debian's docker-registry)
# listens on 10.99.1.1:5000 and holds 10.99.1.1:5000/demo/app:{1,2,3,broken}: 1, 2 and 3 share
# one busybox layer but have distinct digests (ENV APP_VERSION, label org.clusterdeck.demo.version)
# and run a shell that sleeps and exits at once on SIGTERM; 'broken' runs /bin/false. Every
# engine already holds all four (pulled, so repo digests match and tasks start without a pull).
# Each dockerd also listens with TLS (--tlsverify, client certificates required) on
# tcp://10.99.N.2:2376, with a CA, server and client certificates made by 'up' under
# $STATE/tls (the client's in the docker CLI's layout: $STATE/tls/client/{ca,cert,key}.pem;
# a second CA that signed nothing, for wrong-CA tests: $STATE/tls/other-ca.pem; a server
# certificate for 127.0.0.1: $STATE/tls/registry-{cert,key}.pem).
#
# Usage: swarm.sh up | down | stop N... [--kill] | start N... | status | env
#   up       install what is missing, clean leftovers of an earlier run, start everything,
#            write $STATE/env (sourceable) and print a one-line summary
#   down     stop everything this script started, remove its namespaces, links, iptables rule
#            and state directory (safe to run at any time, also after a failed 'up')
#   stop N...   stop these nodes' dockerd in parallel (SIGTERM by pid, wait for exit; SIGKILL
#               after 20 s); 'stop N... --kill' sends SIGKILL at once (a crash, not a shutdown)
#   start N...  start these nodes' dockerd again with the same flags, together, and wait until
#               their sockets answer (a manager started while quorum is lost answers only
#               after ~20 s: start the lost managers in one call)
#   status   'docker node ls' from the first manager that answers
#   env      print $STATE/env
#
# STATE defaults to /run/clusterdeck-swarm (override with CD_SWARM_STATE).
# Traffic goes only to loopback and to the addresses of the namespaces made here.
set -euo pipefail

export ENGINE_NAME=swarm
# shellcheck source=scripts/engines/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

STATE=${CD_SWARM_STATE:-/run/clusterdeck-swarm}
STATE=${STATE%/}
NODES=(1 2 3 4 5)
NAMES=(x mgr1 mgr2 mgr3 wrk1 wrk2) # index = node number
REGISTRY_ADDR=10.99.1.1:5000
IMAGE_REPO=$REGISTRY_ADDR/demo/app
FW_COMMENT=clusterdeck-swarm
FW_RULE=(FORWARD -s 10.99.0.0/16 -d 10.99.0.0/16 -m comment --comment "$FW_COMMENT" -j ACCEPT)
# Time limits (seconds).
SOCK_WAIT=${CD_SWARM_SOCK_WAIT:-60}
READY_WAIT=${CD_SWARM_READY_WAIT:-90}

unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
export DOCKER_CLI_HINTS=false

sock() { echo "$STATE/n$1/sock"; }
url() { echo "unix://$STATE/n$1/sock"; }
dk() { # dk N ARGS... : docker CLI against node N
  local n=$1
  shift
  docker -H "$(url "$n")" "$@"
}

# ---------------------------------------------------------------------------------------------
# processes

dockerd_pid() { # prints node N's dockerd pid when it is running
  local n=$1 pid
  pid=$(read_pid "$STATE/n$n/pid")
  [ -n "$pid" ] || pid=$(read_pid "$STATE/n$n/launcher.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then echo "$pid"; fi
}

node_answers() { timeout 5 docker -H "$(url "$1")" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

make_tls() { # the CA, each node's server certificate (its address), a client certificate
  local t="$STATE/tls" n
  [ -f "$t/client/key.pem" ] && return 0
  mkdir -p "$t/client"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=clusterdeck-test-ca \
    -keyout "$t/ca-key.pem" -out "$t/ca.pem" 2>/dev/null || die "openssl: the CA"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=clusterdeck-other-ca \
    -keyout "$t/other-ca-key.pem" -out "$t/other-ca.pem" 2>/dev/null || die "openssl: the other CA"
  for n in "${NODES[@]}"; do
    tls_sign "n$n" "/CN=${NAMES[$n]}" "subjectAltName=IP:10.99.$n.2\nextendedKeyUsage=serverAuth"
  done
  tls_sign client /CN=clusterdeck-test "extendedKeyUsage=clientAuth"
  # For a registry over TLS on loopback (the tag lookup's tests start one).
  tls_sign registry /CN=registry "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"
  cp "$t/ca.pem" "$t/client/ca.pem"
  cp "$t/client-cert.pem" "$t/client/cert.pem"
  cp "$t/client-key.pem" "$t/client/key.pem"
  chmod 0600 "$t"/*-key.pem "$t/client/key.pem"
}

tls_sign() { # tls_sign NAME SUBJECT EXTENSIONS : a key and a certificate signed by the CA
  local t="$STATE/tls"
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$t/$1-key.pem" -out "$t/$1.csr" 2>/dev/null ||
    die "openssl: $1's request"
  printf '%b\n' "$3" >"$t/$1.ext"
  openssl x509 -req -in "$t/$1.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial \
    -days 30 -extfile "$t/$1.ext" -out "$t/$1-cert.pem" 2>/dev/null || die "openssl: $1's certificate"
}

start_dockerd() { # start_dockerd N : launch node N's dockerd (does not wait)
  local n=$1 d="$STATE/n$1"
  mkdir -p "$d/data" "$d/exec"
  [ -f "$STATE/daemon.json" ] || echo '{}' >"$STATE/daemon.json"
  rm -f "$d/pid" "$d/sock"
  echo "---- start $(date -Is)" >>"$d/dockerd.log"
  # nsenter --net (not 'ip netns exec', which remounts /sys and breaks the devices cgroup);
  # unshare --uts gives the node its own hostname. nsenter, unshare and sh all exec, so $! is
  # dockerd's pid; dockerd also writes it to $d/pid.
  # shellcheck disable=SC2016 # $0 and $@ are for the inner sh
  setsid nsenter --net="/var/run/netns/cdn$n" unshare --uts sh -c '
      hostname "$0"; exec dockerd "$@"' "${NAMES[$n]}" \
    --config-file "$STATE/daemon.json" \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" \
    -H "unix://$d/sock" -H "tcp://10.99.$n.2:2376" \
    --tlsverify --tlscacert "$STATE/tls/ca.pem" \
    --tlscert "$STATE/tls/n$n-cert.pem" --tlskey "$STATE/tls/n$n-key.pem" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --insecure-registry "$REGISTRY_ADDR" \
    --debug \
    --shutdown-timeout=5 \
    </dev/null >>"$d/dockerd.log" 2>&1 &
  echo $! >"$d/launcher.pid"
}

wait_dockerd() { # wait_dockerd N : until node N's socket answers; dies with the log tail
  local n=$1 end=$(($(date +%s) + SOCK_WAIT)) retried=0
  while ! node_answers "$n"; do
    # On a loaded machine dockerd may give up on its own containerd after 10 s and exit: that
    # is the machine, not the test; start it once more.
    if [ "$retried" = 0 ] && [ -z "$(dockerd_pid "$n")" ] &&
      tail -n 5 "$STATE/n$n/dockerd.log" 2>/dev/null | grep -q 'timeout waiting for containerd to start'; then
      log "node $n (${NAMES[$n]}): dockerd gave up waiting for containerd (a loaded machine); starting it again"
      retried=1
      start_dockerd "$n"
      end=$(($(date +%s) + SOCK_WAIT))
      continue
    fi
    if [ -z "$(dockerd_pid "$n")" ] && [ "$(date +%s)" -gt $((end - SOCK_WAIT + 2)) ]; then
      tail -n 30 "$STATE/n$n/dockerd.log" >&2 || true
      die "dockerd of node $n (${NAMES[$n]}) exited; log: $STATE/n$n/dockerd.log"
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      tail -n 30 "$STATE/n$n/dockerd.log" >&2 || true
      die "dockerd of node $n (${NAMES[$n]}) did not answer on $(url "$n") within ${SOCK_WAIT}s; log: $STATE/n$n/dockerd.log"
    fi
    sleep 0.2
  done
}

stop_dockerd() { # stop_dockerd N [--kill]
  local n=$1 mode=${2:-} pid
  pid=$(dockerd_pid "$n")
  if [ -z "$pid" ]; then
    log "node $n (${NAMES[$n]}): dockerd not running"
    return 0
  fi
  if [ "$mode" = --kill ]; then
    log "node $n (${NAMES[$n]}): SIGKILL dockerd pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    # its containerd goes with it (parent-death signal); wait for both
    local cpid
    cpid=$(read_pid "$STATE/n$n/exec/containerd/containerd.pid")
    local i
    for ((i = 0; i < 100; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    [ -n "$cpid" ] && stop_pid "$cpid" 5
  else
    log "node $n (${NAMES[$n]}): stopping dockerd pid $pid"
    stop_pid "$pid" 20
  fi
  rm -f "$STATE/n$n/pid"
}

# Container processes of our engines that outlived them (e.g. after SIGKILL): found through
# the cgroups named after the container ids in our own data directories.
kill_leftover_containers() {
  local n id f pid cg
  for n in "${NODES[@]}"; do
    [ -d "$STATE/n$n/data/containers" ] || continue
    for f in "$STATE/n$n/data/containers"/*; do
      [ -d "$f" ] || continue
      id=$(basename "$f")
      for cg in /sys/fs/cgroup/pids/docker/"$id" /sys/fs/cgroup/memory/docker/"$id" \
        /sys/fs/cgroup/docker/"$id" /sys/fs/cgroup/system.slice/docker-"$id".scope; do
        [ -f "$cg/cgroup.procs" ] || continue
        while read -r pid; do
          if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
        done <"$cg/cgroup.procs"
      done
    done
  done
}

remove_container_cgroups() {
  local n f id cg
  for n in "${NODES[@]}"; do
    [ -d "$STATE/n$n/data/containers" ] || continue
    for f in "$STATE/n$n/data/containers"/*; do
      [ -d "$f" ] || continue
      id=$(basename "$f")
      for cg in /sys/fs/cgroup/*/docker/"$id" /sys/fs/cgroup/docker/"$id"; do
        if [ -d "$cg" ]; then rmdir "$cg" 2>/dev/null || true; fi
      done
    done
  done
}

# ---------------------------------------------------------------------------------------------
# network

netns_exists() { [ -e "/var/run/netns/$1" ]; }

make_network() {
  local n
  for n in "${NODES[@]}"; do
    ip netns add "cdn$n"
    ip link add "cdv$n" type veth peer name "cdv${n}p" netns "cdn$n"
    ip addr add "10.99.$n.1/24" dev "cdv$n"
    ip link set "cdv$n" up
    ip -n "cdn$n" addr add "10.99.$n.2/24" dev "cdv${n}p"
    ip -n "cdn$n" link set "cdv${n}p" up
    ip -n "cdn$n" link set lo up
    ip -n "cdn$n" route add default via "10.99.$n.1"
  done
  # Forwarding between the namespaces goes through the host; restore the old value on 'down'.
  [ -f "$STATE/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.orig"
  echo 1 >/proc/sys/net/ipv4/ip_forward
  if ! iptables -C "${FW_RULE[@]}" 2>/dev/null; then
    iptables -I "${FW_RULE[@]}"
  fi
}

remove_network() {
  local n
  for n in "${NODES[@]}"; do
    if netns_exists "cdn$n"; then ip netns del "cdn$n" 2>/dev/null || log "could not delete netns cdn$n"; fi
    if ip link show "cdv$n" >/dev/null 2>&1; then ip link del "cdv$n" 2>/dev/null || true; fi
  done
  if command -v iptables >/dev/null 2>&1; then
    local i
    for ((i = 0; i < 20; i++)); do
      iptables -D "${FW_RULE[@]}" 2>/dev/null || break
    done
  fi
  if [ -f "$STATE/ip_forward.orig" ]; then
    local orig
    orig=$(cat "$STATE/ip_forward.orig")
    if [ "$orig" = 0 ]; then echo 0 >/proc/sys/net/ipv4/ip_forward || true; fi
  fi
}

# ---------------------------------------------------------------------------------------------
# registry

start_registry() {
  mkdir -p "$STATE/registry/data"
  cat >"$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY_ADDR
EOF
  setsid docker-registry serve "$STATE/registry/config.yml" \
    </dev/null >>"$STATE/registry/registry.log" 2>&1 &
  echo $! >"$STATE/registry/pid"
}

registry_answers() { timeout 3 busybox wget -q -O /dev/null "http://$REGISTRY_ADDR/v2/"; }

# ---------------------------------------------------------------------------------------------
# images

make_images() {
  local r="$STATE/rootfs" c
  rm -rf "$r"
  mkdir -p "$r/bin" "$r/tmp" "$r/etc" "$r/www"
  cp /bin/busybox "$r/bin/busybox"
  for c in sh sleep httpd echo cat false true env ls wget hostname ps kill; do
    ln -s busybox "$r/bin/$c"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
  echo 'clusterdeck demo app' >"$r/www/index.html"
  tar -C "$r" -cf "$STATE/rootfs.tar" .
  # A long-running task that exits at once on SIGTERM (a bare 'sleep' as PID 1 ignores it and
  # every task stop would take the full 10 s grace period).
  local run='["/bin/sh","-c","trap \"exit 0\" TERM INT; sleep 3600 & wait"]' v
  for v in 1 2 3; do
    dk 1 import -c "CMD $run" -c "ENV APP_VERSION=$v" -c "LABEL org.clusterdeck.demo.version=$v" \
      "$STATE/rootfs.tar" "$IMAGE_REPO:$v" >/dev/null
  done
  dk 1 import -c 'CMD ["/bin/false"]' -c 'ENV APP_VERSION=broken' \
    -c 'LABEL org.clusterdeck.demo.version=broken' "$STATE/rootfs.tar" "$IMAGE_REPO:broken" >/dev/null
  for v in 1 2 3 broken; do
    dk 1 push -q "$IMAGE_REPO:$v" >/dev/null || die "push $IMAGE_REPO:$v failed"
  done
}

# Pull (not import) into the other engines: the same image ids and repo digests everywhere, so a
# task, whose image swarm pins by digest, starts from the local copy without pulling.
pull_images() {
  local n v pids=()
  for n in 2 3 4 5; do
    (for v in 1 2 3 broken; do dk "$n" pull -q "$IMAGE_REPO:$v" >/dev/null || exit 1; done) &
    pids+=($!)
  done
  for v in "${pids[@]}"; do wait "$v" || die "pulling images into a node failed"; done
}

# ---------------------------------------------------------------------------------------------
# swarm

swarm_ready() { # 5 Ready nodes, 3 managers Leader/Reachable, all 5 hostnames present
  local out
  out=$(timeout 10 docker -H "$(url 1)" node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' 2>/dev/null) || return 1
  [ "$(grep -c ' Ready' <<<"$out")" = 5 ] || return 1
  [ "$(grep -cE ' (Leader|Reachable)$' <<<"$out")" = 3 ] || return 1
}

make_swarm() {
  dk 1 swarm init --advertise-addr 10.99.1.2 --listen-addr 10.99.1.2:2377 >/dev/null
  local mtok wtok
  mtok=$(dk 1 swarm join-token -q manager)
  wtok=$(dk 1 swarm join-token -q worker)
  # Managers one at a time (each raft join changes the quorum), workers together.
  dk 2 swarm join --token "$mtok" --advertise-addr 10.99.2.2 --listen-addr 10.99.2.2:2377 10.99.1.2:2377 >/dev/null
  dk 3 swarm join --token "$mtok" --advertise-addr 10.99.3.2 --listen-addr 10.99.3.2:2377 10.99.1.2:2377 >/dev/null
  dk 4 swarm join --token "$wtok" --advertise-addr 10.99.4.2 --listen-addr 10.99.4.2:2377 10.99.1.2:2377 >/dev/null &
  local w4=$!
  dk 5 swarm join --token "$wtok" --advertise-addr 10.99.5.2 --listen-addr 10.99.5.2:2377 10.99.1.2:2377 >/dev/null &
  local w5=$!
  wait "$w4" || die "wrk1 could not join"
  wait "$w5" || die "wrk2 could not join"
  if ! wait_until "$READY_WAIT" "5 Ready nodes and 3 reachable managers" swarm_ready; then
    dk 1 node ls >&2 || true
    die "the swarm did not become ready"
  fi
}

write_env() {
  local n f="$STATE/env"
  {
    echo "# written by scripts/engines/swarm.sh up; source it"
    echo "export CD_SWARM_STATE='$STATE'"
    for n in "${NODES[@]}"; do
      echo "export CD_SWARM_N${n}_SOCK='$(url "$n")'"
      echo "export CD_SWARM_N${n}_PIDFILE='$STATE/n$n/pid'"
      echo "export CD_SWARM_N${n}_LOG='$STATE/n$n/dockerd.log'"
      echo "export CD_SWARM_N${n}_NAME='${NAMES[$n]}'"
      echo "export CD_SWARM_N${n}_ADDR='10.99.$n.2'"
      echo "export CD_SWARM_N${n}_TLS_URL='tcp://10.99.$n.2:2376'"
    done
    echo "export CD_SWARM_TLS_DIR='$STATE/tls/client'"
    echo "export CD_SWARM_OTHER_CA='$STATE/tls/other-ca.pem'"
    echo "export CD_SWARM_MANAGERS='$(url 1),$(url 2),$(url 3)'"
    echo "export CD_SWARM_WORKERS='$(url 4),$(url 5)'"
    echo "export CD_REGISTRY='$REGISTRY_ADDR'"
    echo "export CD_REGISTRY_PIDFILE='$STATE/registry/pid'"
    echo "export CD_IMAGE_REPO='$IMAGE_REPO'"
    echo "export CD_SWARM_SCRIPT='$(readlink -f "$0")'"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

# ---------------------------------------------------------------------------------------------
# commands

cleanup() { # stop and remove everything of a (possibly half-made) earlier run
  local n pid pids=()
  # Remove services first so tasks stop in order (best effort, bounded).
  for n in 1 2 3; do
    if [ -n "$(dockerd_pid "$n")" ] && [ -S "$(sock "$n")" ]; then
      local svcs
      if svcs=$(timeout 5 docker -H "$(url "$n")" service ls -q 2>/dev/null); then
        if [ -n "$svcs" ]; then
          log "removing services"
          # shellcheck disable=SC2086
          timeout 10 docker -H "$(url "$n")" service rm $svcs >/dev/null 2>&1 || true
        fi
        break
      fi
    fi
  done
  for n in "${NODES[@]}"; do
    pid=$(dockerd_pid "$n")
    if [ -n "$pid" ]; then
      (stop_pid "$pid" 20) &
      pids+=($!)
    fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${#pids[@]} dockerd"
    for pid in "${pids[@]}"; do wait "$pid" || true; done
  fi
  if [ -d "$STATE" ]; then
    log "removing leftovers under $STATE"
    # Whatever else still runs with our state directory on its command line: containerd,
    # containerd shims, the registry.
    local left
    left=$(read_pid "$STATE/registry/pid")
    [ -n "$left" ] && stop_pid "$left" 5
    for pid in $(pids_with_arg "$STATE/"); do
      log "stopping leftover pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-100)"
      stop_pid "$pid" 5 || true
    done
    kill_leftover_containers
    # Mounts dockerd left under the state directory (netns files, overlay layers, shm).
    local m
    # shellcheck disable=SC2013 # mount points under our state dir have no blanks
    for m in $(awk -v p="$STATE/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
    remove_container_cgroups
  fi
  log "removing namespaces, links and firewall rule"
  remove_network
  if [ -d "$STATE" ]; then
    log "removing $STATE"
    local err
    if ! err=$(rm -rf "$STATE" 2>&1); then
      log "retrying removal of $STATE: $(head -c 300 <<<"$err")"
      sleep 1
      rm -rf "$STATE"
    fi
  fi
}

cmd_up() {
  # shellcheck disable=SC2154
  trap 'rc=$?; [ $rc = 0 ] || log "up failed (exit $rc); logs under $STATE; clean up with: $0 down"' EXIT
  ensure_packages docker.io busybox-static docker-registry iptables iproute2 openssl
  command -v docker >/dev/null || die "no docker CLI on PATH"
  if [ -d "$STATE" ] || netns_exists cdn1 || ip link show cdv1 >/dev/null 2>&1; then
    log "cleaning leftovers of an earlier run"
    cleanup
  fi
  mkdir -p "$STATE"
  log "network: namespaces cdn1..cdn5, 10.99.N.2 <-> 10.99.N.1"
  make_network
  log "TLS material; starting 5 dockerd and the registry"
  make_tls
  local n
  for n in "${NODES[@]}"; do start_dockerd "$n"; done
  start_registry
  for n in "${NODES[@]}"; do wait_dockerd "$n"; done
  if ! wait_until 30 "registry on $REGISTRY_ADDR" registry_answers; then
    tail -n 20 "$STATE/registry/registry.log" >&2 || true
    die "the registry did not answer on http://$REGISTRY_ADDR/v2/"
  fi
  log "engines answer; images"
  make_images
  pull_images
  log "swarm: init on mgr1, join mgr2 mgr3 wrk1 wrk2"
  make_swarm
  write_env
  log "up"
  echo "swarm up in $(elapsed)s: 5 nodes (mgr1-3 managers, wrk1-2 workers), registry $REGISTRY_ADDR, images $IMAGE_REPO:{1,2,3,broken}; source $STATE/env"
}

cmd_down() {
  cleanup
  log "down"
  echo "swarm down in $(elapsed)s"
}

check_node_arg() {
  case "${1:-}" in
  1 | 2 | 3 | 4 | 5) ;;
  *) die "node must be 1..5" ;;
  esac
  [ -d "$STATE/n$1" ] || die "no swarm state in $STATE (run 'up' first)"
}

cmd_stop() { # stop N... [--kill] : the nodes are stopped in parallel
  local mode="" n ns=() pids=() p
  for n in "$@"; do
    if [ "$n" = --kill ]; then mode=--kill; else ns+=("$n"); fi
  done
  [ ${#ns[@]} -gt 0 ] || die "usage: stop N... [--kill]"
  for n in "${ns[@]}"; do check_node_arg "$n"; done
  for n in "${ns[@]}"; do
    stop_dockerd "$n" "$mode" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "stopping a node failed"; done
}

cmd_start() { # start N... : the nodes are started together, then waited for
  local n
  [ $# -gt 0 ] || die "usage: start N..."
  for n in "$@"; do check_node_arg "$n"; done
  for n in "$@"; do
    if [ -n "$(dockerd_pid "$n")" ]; then
      log "node $n (${NAMES[$n]}): dockerd already running"
    else
      netns_exists "cdn$n" || die "netns cdn$n is gone (run 'up' again)"
      log "node $n (${NAMES[$n]}): starting dockerd"
      start_dockerd "$n"
    fi
  done
  for n in "$@"; do
    wait_dockerd "$n"
    log "node $n (${NAMES[$n]}): dockerd answers"
  done
}

cmd_status() {
  local n
  for n in 1 2 3; do
    if [ -S "$(sock "$n")" ] && timeout 30 docker -H "$(url "$n")" node ls 2>/dev/null; then
      return 0
    fi
  done
  die "no manager answered 'node ls'"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
stop) shift && cmd_stop "$@" ;;
start) shift && cmd_start "$@" ;;
status) cmd_status ;;
env) cat "$STATE/env" ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
