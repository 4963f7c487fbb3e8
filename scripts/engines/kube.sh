#!/usr/bin/env bash
# A real Kubernetes control plane with fake nodes (kwok) on loopback, for clusterdeck's tests.
#
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (Kubernetes v1.36.3),
# etcd (v3.6.8) and kwok (v0.8.0, the controller that plays the kubelet for fake nodes) are
# built from the Go module proxy once, into $CD_CACHE/kube/v1.36.3/bin (CD_CACHE defaults to
# ~/.cache/clusterdeck), and reused: a cold build takes ~17 min on 2 busy cores (~960 CPU-s).
# etcd is built too, not Debian's 3.4.23: the apiserver runs on 3.4 but logs "RequestWatchProgress
# feature is not supported" and serves consistent lists from etcd instead of its cache; 3.6 is
# what Kubernetes 1.36 is released with, and costs ~40 s more. etcd.sh runs the same binary.
# metrics-server v0.8.0 is built apart, in a module and with an install stamp of its own, into
# $CD_CACHE/kube/metrics-server-v0.8.0 (~5 min cold on 2 busy cores, ~340 CPU-s), so adding
# it did not invalidate the control plane's build.
# Everything runs detached, TLS everywhere:
#   etcd                     https://127.0.0.1:24379 (peer 24380), client certificates required
#   kube-apiserver           https://127.0.0.1:16443, authorization Node,RBAC, audit log
#                            ($STATE/audit.log: Metadata level for create/update/patch/delete),
#                            aggregation layer (front-proxy client certificate, routing to the
#                            EndpointSlice's address: there is no kube-proxy)
#   kube-controller-manager  127.0.0.1:20257, one service account per controller
#   kube-scheduler           127.0.0.1:20259
#   kwok                     manages nodes annotated kwok.x-k8s.io/node=fake and their pods:
#                            nodes get Ready and keep their leases, pods go Running+Ready at once,
#                            deleted (or evicted) pods disappear; nothing is ever run. It is also
#                            every node's kubelet: https://127.0.0.1:20250 (the nodes' ExternalIP
#                            and kubeletEndpoint port), where it serves container logs and
#                            each node's /metrics/nodes/<node>/metrics/resource (kwok's Metric)
#   metrics-server           https://10.98.255.1:20443, serves metrics.k8s.io/v1beta1 (APIService
#                            v1beta1.metrics.k8s.io, Service + EndpointSlice kube-system/
#                            metrics-server); scrapes every node each 10 s as system:metrics-server
#                            (kwok's certificate verified). 10.98.255.1/32 is on cdkube0 (a veth
#                            pair in the root namespace: this kernel has no dummy driver) that
#                            'up' creates and 'down' removes: an EndpointSlice may not hold a
#                            loopback address. CD_KUBE_METRICS=0: none of this.
# Container logs ('kubectl logs [-f]', the apiserver's pods/log): kwok serves the one file
# $STATE/pod-logs/app.log (CD_KUBE_LOG_FILE in $STATE/env) as the log of every container of
# every pod in namespace t-logs (CD_KUBE_LOG_NAMESPACE) and of every container named
# clusterdeck-logs (CD_KUBE_LOG_CONTAINER) in any namespace; other pods have no logs (an error).
# The file is in CRI log format, one line per entry: "<RFC 3339 UTC time> stdout F <text>"
# (or stderr); 'up' writes 3 lines. Followers (follow=true) get each line appended afterwards
# within ~1 s: append whole lines, e.g. 'kube.sh log TEXT...' or
#   printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$text" >>"$CD_KUBE_LOG_FILE"
# All such pods share the file, so a test should look for lines of its own (a unique text).
# 'kubectl exec' into pods of namespace t-exec (CD_KUBE_EXEC_NAMESPACE) runs the command on this
# host (kwok's ClusterExec, local), in $STATE, with CD_KWOK_EXEC=$CD_KUBE_EXEC_MARKER set.
# A follow ends only when its client closes it, not when the pod is deleted (kwok cannot tell a
# container stopped). A container's previous logs ('kubectl logs --previous') are the one line
# CD_KUBE_PREVIOUS_LOG_LINE (kwok's previousLogsFile), for the same pods.
# Fake nodes kwok-node-0..N-1 (zones us-west-1a/b/c, 32 cpu, 256Gi, 110 pods, not tainted, so
# ordinary pods schedule onto them). A restricted identity: service account team-a/viewer may
# only get/list/watch pods, deployments, replicasets and events in namespace team-a (not
# metrics.k8s.io: 'kubectl top' is forbidden to it).
# Resource usage ('kubectl top pods|nodes', metrics.k8s.io): every container of a pod uses the
# quantities in the pod's annotations, the same for each container:
#   kwok.x-k8s.io/usage-cpu: 250m        (CD_KUBE_USAGE_CPU_ANNOTATION; default 1m)
#   kwok.x-k8s.io/usage-memory: 100Mi    (CD_KUBE_USAGE_MEMORY_ANNOTATION; default 10Mi)
# (set them in a pod template, or 'kubectl annotate --overwrite' a pod; a value that is no
# quantity counts as 0, and kwok logs an error). A node uses the sum over its pods plus 100m
# and 512Mi (CD_KUBE_NODE_BASE_CPU/_MEMORY).
# A new pod's usage is served 10 to 20 s after it runs (two scrapes, 10 s apart, make a rate),
# sometimes 30 s (a third scrape); CD_KUBE_METRICS_DELAY (35) is a safe bound to wait for it.
# A new node's likewise. A changed annotation shows in full at the next scrape (<= 10 s).
# Memory is exact; cpu is a rate, ~0.05 % under the annotation (249.87m for 250m): kubectl top
# prints 250m; round up or to the nearest millicore to compare.
#
# Usage: kube.sh install | up | down | status | env | nodes N | log TEXT... | bindir
#   install  only build the binaries (a no-op when they are in the cache); prints the build time
#   up       install when needed, clean leftovers of an earlier run, start everything, create the
#            viewer identity and CD_KUBE_NODES (default 3) nodes, wait until 'kubectl top nodes'
#            shows them all (~20 s in all; ~12 s with CD_KUBE_METRICS=0), write $STATE/env
#            (sourceable) and print a one-line summary; a no-op when everything already runs
#   down     stop metrics-server, kwok, scheduler, controller-manager, apiserver and etcd by their
#            recorded pids, remove the interface cdkube0 and $STATE (safe at any time, also
#            after a failed 'up')
#   status   whether each process runs, the apiserver is ready and 'kubectl top nodes' answers
#            (exit 1 when not)
#   env      print $STATE/env
#   nodes N  make sure fake nodes kwok-node-0..N-1 exist and are Ready: the missing ones (and
#            those without the metrics path annotation) are applied server-side in 4 parallel
#            multi-document batches (1,000 nodes: ~35 s to create, ~60 s until all Ready); nodes
#            beyond N are left alone
#   log      append each TEXT as a stdout line (now) to the pods' log file
#   bindir   print the directory of the built binaries (etcd.sh runs the same etcd)
#
# STATE defaults to /run/clusterdeck-kube (override with CD_KUBE_STATE); CD_KUBE_METRICS=0 makes
# 'up' run without metrics-server (and without kwok's metrics). The build honours
# CD_GO (the go command, 1.26 or newer), CD_KUBE_BUILD_NICE (nice level, default 0),
# GOPROXY; it keeps the Go module cache under $CD_CACHE/kube/gomod (~1.2 GB) and removes its
# compiled-package cache (GBs) after a successful build unless CD_KUBE_KEEP_GOCACHE=1.
# Traffic goes only to loopback and to 10.98.255.1 (local, on cdkube0), and to the Go module
# proxy while building.
set -euo pipefail

export ENGINE_NAME=kube
# shellcheck source=scripts/engines/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

STATE=${CD_KUBE_STATE:-/run/clusterdeck-kube}
STATE=${STATE%/}
CACHE=${CD_CACHE:-$HOME/.cache/clusterdeck}
CACHE=${CACHE%/}

# Pinned versions; the staging modules (k8s.io/api, k8s.io/client-go, ...) of Kubernetes
# v1.X.Y are v0.X.Y.
KUBE_VERSION=v1.36.3
STAGING_VERSION=v0.${KUBE_VERSION#v1.}
KWOK_VERSION=v0.8.0
ETCD_VERSION=v3.6.8
INSTALL_ID="kubernetes $KUBE_VERSION etcd $ETCD_VERSION kwok $KWOK_VERSION"

KDIR=$CACHE/kube
INSTALL=$KDIR/$KUBE_VERSION
BIN=$INSTALL/bin
STAMP=$INSTALL/installed
STAGES=$INSTALL/kwok-stages.yaml
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd etcdctl kwok)
# metrics-server: built apart, with a stamp of its own (not part of INSTALL_ID), so adding it
# did not invalidate the control plane's build. v0.8.0 honours the nodes' resource-metrics-path
# annotation (since v0.7), which is how it reaches kwok's per-node metrics.
MS_VERSION=v0.8.0
MS_INSTALL_ID="metrics-server $MS_VERSION"
MS_INSTALL=$KDIR/metrics-server-$MS_VERSION
MS_BIN=$MS_INSTALL/metrics-server
MS_STAMP=$MS_INSTALL/installed

HOST=127.0.0.1
ETCD_PORT=24379
ETCD_PEER_PORT=24380
ETCD_METRICS_PORT=24381
API_PORT=16443
CM_PORT=20257
SCHED_PORT=20259
KUBELET_PORT=20250 # kwok's server: what the apiserver calls the kubelet of every node
SERVER=https://$HOST:$API_PORT
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
POD_CIDR=10.244.0.0/16 # kwok hands out pod IPs from here (no route exists, they are only data)
REGION=us-west-1
ZONES=(us-west-1a us-west-1b us-west-1c)
DEFAULT_NODES=${CD_KUBE_NODES:-3}
START_WAIT=${CD_KUBE_START_WAIT:-180}
APPLY_PARALLEL=4 # kubectl applies creating nodes side by side
# Start order; 'down' stops them in reverse.
PROCS=(etcd apiserver controller-manager scheduler kwok metrics-server)

PKI=$STATE/pki
LOGS=$STATE/logs
KUBECONFIG_ADMIN=$STATE/admin.kubeconfig
KUBECONFIG_VIEWER=$STATE/viewer.kubeconfig
# Container logs (kwok's ClusterLogs): a directory of its own, as a follower watches the
# file's directory (inotify) and would wake on every other write there.
LOG_FILE=$STATE/pod-logs/app.log
# What a container of that namespace left before its restart (`kubectl logs --previous`).
PREVIOUS_LOG_FILE=$STATE/pod-logs/previous.log
PREVIOUS_LOG_LINE='cd-kube previous container last line'
LOG_NAMESPACE='t-logs'
LOG_CONTAINER=clusterdeck-logs
# 'kubectl exec' into pods of this namespace (kwok's ClusterExec, local): the command runs on
# this host, in $STATE, with CD_KWOK_EXEC set to EXEC_MARKER, so a test can tell it ran there.
EXEC_NAMESPACE='t-exec'
EXEC_MARKER='cd-kwok-exec-marker'

# Resource metrics (metrics.k8s.io, 'kubectl top'), on unless CD_KUBE_METRICS=0 (e.g. for scale
# measurements: metrics-server scrapes every node each METRIC_RESOLUTION seconds).
METRICS=${CD_KUBE_METRICS:-1}
# metrics-server runs outside the cluster like everything else, but the apiserver reaches an
# aggregated API through the Service's EndpointSlice, and EndpointSlices refuse loopback
# addresses: so it listens on an address of its own, on an interface of its own in the root
# namespace (local traffic, like loopback; nothing is routed anywhere).
MS_IFACE=cdkube0
MS_ADDR=10.98.255.1 # outside SERVICE_CIDR, POD_CIDR and swarm.sh's 10.99.0.0/16
MS_PORT=20443
METRIC_RESOLUTION=10 # seconds between scrapes (metrics-server's minimum)
# What kwok reports: a pod's containers each use the quantities in these pod annotations (or
# the defaults), a node the sum over its pods plus a constant base (system daemons), so that a
# node without pods has usage too (metrics-server drops a node whose cpu or memory is 0).
USAGE_CPU_ANNOTATION=kwok.x-k8s.io/usage-cpu
USAGE_MEMORY_ANNOTATION=kwok.x-k8s.io/usage-memory
USAGE_DEFAULT_CPU=1m
USAGE_DEFAULT_MEMORY=10Mi
NODE_BASE_MILLICPU=100 # 100m
NODE_BASE_MIB=512      # 512Mi
# Where metrics-server scrapes a node (honoured since metrics-server v0.7): kwok's Metric path.
METRICS_PATH_ANNOTATION=metrics.k8s.io/resource-metrics-path

# ---------------------------------------------------------------------------------------------
# build

# The Go the control plane is built with: 1.26 or newer (GOTOOLCHAIN=local: never switch).
GO_MIN_MINOR=26
GO_TOOLCHAIN=go1.26.8

go_version_ok() { # go_version_ok GO MIN_MINOR : whether GO is 1.MIN_MINOR or newer
  GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null |
    awk -F'[go.]+' -v min="$2" '{ exit !($2 > 1 || ($2 == 1 && $3 >= min)) }'
}

go_cmd() {
  local g
  for g in "${CD_GO:-}" "$(command -v go || true)" /usr/local/go/bin/go; do
    if [ -z "$g" ] || [ ! -x "$g" ]; then continue; fi
    if go_version_ok "$g" "$GO_MIN_MINOR"; then
      echo "$g"
      return 0
    fi
  done
  return 1
}

# No Go 1.26 on this machine: get it the ordinary way, as a module from the Go module proxy.
# A Go of 1.21 or newer switches toolchains itself (GOTOOLCHAIN); an older one (Debian 12's
# golang-go is 1.19, installed here when there is no Go at all) cannot, so it downloads the
# golang.org/toolchain module and the build uses that module's bin/go. Prints the go to use.
go_fetch() {
  local old arch dir
  old=$(command -v go || true)
  [ -n "$old" ] || [ ! -x /usr/local/go/bin/go ] || old=/usr/local/go/bin/go
  if [ -z "$old" ]; then
    apt-get install -y -q golang-go >&2 || return 1
    old=$(command -v go) || return 1
  fi
  if go_version_ok "$old" 21; then
    # The switch downloads the toolchain into the module cache on first use.
    GOTOOLCHAIN=$GO_TOOLCHAIN GOMODCACHE=$KDIR/gomod GOFLAGS=-modcacherw "$old" version >&2 || return 1
    dir=$(find "$KDIR/gomod/golang.org" -maxdepth 1 -name "toolchain@v0.0.1-$GO_TOOLCHAIN.*" -print -quit 2>/dev/null)
  else
    arch=$(GOTOOLCHAIN=local "$old" env GOOS)-$(GOTOOLCHAIN=local "$old" env GOARCH)
    (cd "$KDIR" && GOMODCACHE=$KDIR/gomod GOFLAGS=-modcacherw GO111MODULE=on \
      "$old" mod download "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.$arch") >&2 || return 1
    dir=$KDIR/gomod/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.$arch
    # Module zips keep no file modes: the toolchain's programs need theirs back.
    chmod -R u+w "$dir" && chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*
  fi
  [ -x "$dir/bin/go" ] && go_version_ok "$dir/bin/go" "$GO_MIN_MINOR" || return 1
  echo "$dir/bin/go"
}

installed() {
  local b
  [ "$(cat "$STAMP" 2>/dev/null)" = "$INSTALL_ID" ] && [ -s "$STAGES" ] || return 1
  for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || return 1; done
}

ms_installed() { [ "$(cat "$MS_STAMP" 2>/dev/null)" = "$MS_INSTALL_ID" ] && [ -x "$MS_BIN" ]; }

# gobuild DIR ARGS... : the go command in module DIR, with the caches under $KDIR
gobuild() {
  local dir=$1
  shift
  (
    cd "$dir"
    export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS='-mod=mod -modcacherw -buildvcs=false'
    export GOMODCACHE=$KDIR/gomod GOCACHE=$KDIR/gocache GOPROXY=${GOPROXY:-https://proxy.golang.org}
    export GOWORK=off GOENV=off
    exec nice -n "${CD_KUBE_BUILD_NICE:-0}" "$GO" "$@"
  )
}

# The wrapper module for Kubernetes and etcd. k8s.io/kubernetes requires its staging modules at
# v0.0.0 and replaces them with ./staging/... (ignored in a dependency), so every one of them is
# pinned here to the matching v0.X.Y; the list comes from k8s.io/kubernetes's own go.mod.
# etcd's server and etcdctl are built in the same module: Kubernetes already requires etcd
# v3.6.8's modules, so they add nothing and share the compiled packages.
write_kube_module() {
  local dir=$1 gomod
  mkdir -p "$dir"
  printf 'module clusterdeck.invalid/kube-build\n\ngo 1.26.0\n' >"$dir/go.mod"
  gomod=$(gobuild "$dir" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [ -s "$gomod" ] || die "could not fetch k8s.io/kubernetes@$KUBE_VERSION's go.mod from the Go module proxy"
  local staging
  staging=$(awk '/^require[[:space:]]*\(/ { r = 1; next } r && /^\)/ { r = 0 }
                 r && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod")
  [ -n "$staging" ] || die "no k8s.io staging modules found in $gomod"
  {
    printf 'module clusterdeck.invalid/kube-build\n\ngo 1.26.0\n\nrequire (\n'
    printf '\tk8s.io/kubernetes %s\n' "$KUBE_VERSION"
    printf '\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n\nreplace (\n' \
      "$ETCD_VERSION" "$ETCD_VERSION"
    local m
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
    printf ')\n\n'
    for m in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      printf 'tool k8s.io/kubernetes/cmd/%s\n' "$m"
    done
    printf 'tool go.etcd.io/etcd/server/v3\ntool go.etcd.io/etcd/etcdctl/v3\n'
  } >"$dir/go.mod"
  rm -f "$dir/go.sum"
  gobuild "$dir" mod tidy
}

# kwok in a module of its own: it requires newer grpc, otel and x/* than Kubernetes pins, which
# must not leak into the control plane's build. kwok keeps its own k8s.io/* (v0.36.1).
write_kwok_module() {
  local dir=$1
  mkdir -p "$dir"
  printf 'module clusterdeck.invalid/kwok-build\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n\ntool sigs.k8s.io/kwok/cmd/kwok\n' \
    "$KWOK_VERSION" >"$dir/go.mod"
  rm -f "$dir/go.sum"
  gobuild "$dir" mod tidy
}

# The stages kwok plays (its "fast" set: kustomize/stage/fast in the kwok module): nodes get
# Ready at once and keep a lease, pods go Running+Ready at once, Job pods complete, pods with a
# deletionTimestamp are deleted for good (so evictions and drains finish).
write_stages() {
  local kwokdir=$1 out=$2 f first=1
  {
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      [ -s "$kwokdir/kustomize/stage/$f" ] || die "kwok stage $f is missing from $kwokdir"
      [ "$first" = 1 ] || echo '---'
      first=0
      cat "$kwokdir/kustomize/stage/$f"
    done
  } >"$out"
}

# Two independent installs, each with its own stamp: the control plane with kwok (the long
# build) and metrics-server. Adding or bumping metrics-server never rebuilds Kubernetes.
cmd_install() {
  installed && ms_installed && return 0
  mkdir -p "$KDIR"
  # One builder at a time (two runs in parallel share the cache).
  exec 8>"$KDIR/install.lock"
  flock 8
  if installed && ms_installed; then
    exec 8>&-
    return 0
  fi
  if [ -n "${CD_GO_FETCH:-}" ] || ! GO=$(go_cmd); then
    log "no Go 1.$GO_MIN_MINOR here: fetching $GO_TOOLCHAIN from the Go module proxy"
    GO=$(go_fetch) || die "Go 1.$GO_MIN_MINOR or newer is needed to build Kubernetes $KUBE_VERSION and $GO_TOOLCHAIN could not be fetched from the Go module proxy (set CD_GO to a go of 1.$GO_MIN_MINOR or newer)"
  fi
  local t0=$SECONDS
  installed || build_kube
  ms_installed || build_metrics_server
  # The compiled-package cache is only worth keeping for a rebuild; it is large (GBs).
  if [ "${CD_KUBE_KEEP_GOCACHE:-0}" != 1 ]; then rm -rf "$KDIR/gocache"; fi
  BUILT_IN=$((SECONDS - t0))
  exec 8>&-
}

build_kube() {
  local buildlog=$KDIR/build-$KUBE_VERSION.log
  log "building Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION and kwok $KWOK_VERSION with $("$GO" env GOVERSION) (nice ${CD_KUBE_BUILD_NICE:-0}); log: $buildlog"
  local t0=$SECONDS t1 rc=0 tmp=$INSTALL/bin.tmp.$$
  local kmod=$KDIR/src-$KUBE_VERSION wmod=$KDIR/src-kwok-$KWOK_VERSION
  rm -rf "$tmp"
  mkdir -p "$tmp"
  echo "---- $(date -Is) build $INSTALL_ID" >>"$buildlog"
  {
    write_kube_module "$kmod" && write_kwok_module "$wmod"
  } >>"$buildlog" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$buildlog" >&2 || true
    die "preparing the build modules failed (exit $rc); log: $buildlog"
  fi
  log "modules ready in $((SECONDS - t0))s; compiling (the long part)"
  # The version the binaries report (what Kubernetes's own build stamps in, hack/lib/version.sh;
  # the release time from the module proxy as the build date, no commit).
  local info date major=${KUBE_VERSION#v} minor
  major=${major%%.*}
  minor=${KUBE_VERSION#v*.}
  minor=${minor%%.*}
  info=$(gobuild "$kmod" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>/dev/null |
    sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p')
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)
  date=${date:-1970-01-01T00:00:00Z}
  date=${date%Z}
  date=${date%%.*}Z
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitCommit= -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  t1=$SECONDS
  # One go build for the control plane and etcd: the packages they share compile once and
  # both cores stay busy through the links.
  {
    echo "---- $(date -Is) go build kubernetes + etcd"
    gobuild "$kmod" build -trimpath -ldflags="$ld" -o "$tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
      go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3 &&
      mv "$tmp/server" "$tmp/etcd"
  } >>"$buildlog" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$buildlog" >&2 || true
    rm -rf "$tmp"
    die "building Kubernetes/etcd failed (exit $rc); log: $buildlog"
  fi
  log "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, etcdctl built in $((SECONDS - t1))s"
  t1=$SECONDS
  {
    echo "---- $(date -Is) go build kwok"
    gobuild "$wmod" build -trimpath -ldflags="-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok
  } >>"$buildlog" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$buildlog" >&2 || true
    rm -rf "$tmp"
    die "building kwok failed (exit $rc); log: $buildlog"
  fi
  log "kwok built in $((SECONDS - t1))s"
  local kwokdir
  kwokdir=$(gobuild "$wmod" list -m -f '{{.Dir}}' sigs.k8s.io/kwok 2>>"$buildlog") ||
    die "cannot locate the kwok module; log: $buildlog"
  write_stages "$kwokdir" "$tmp/kwok-stages.yaml"
  # Atomic: each binary appears under its name complete (rename), the stamp only at the end.
  mkdir -p "$BIN"
  for p in "${BINARIES[@]}"; do mv -f "$tmp/$p" "$BIN/$p"; done
  mv -f "$tmp/kwok-stages.yaml" "$STAGES"
  rmdir "$tmp" 2>/dev/null || rm -rf "$tmp"
  echo "$INSTALL_ID" >"$STAMP.tmp" && mv -f "$STAMP.tmp" "$STAMP"
  installed || die "the binaries are unusable after building them; log: $buildlog"
  log "cold build done in $((SECONDS - t0))s (wall); binaries in $BIN"
}

# metrics-server in a module of its own, like kwok: it pins Kubernetes v0.33 libraries and
# older otel/grpc, which must not touch the control plane's or kwok's module.
write_metrics_server_module() {
  local dir=$1
  mkdir -p "$dir"
  printf 'module clusterdeck.invalid/metrics-server-build\n\ngo 1.26.0\n\nrequire sigs.k8s.io/metrics-server %s\n\ntool sigs.k8s.io/metrics-server/cmd/metrics-server\n' \
    "$MS_VERSION" >"$dir/go.mod"
  rm -f "$dir/go.sum"
  gobuild "$dir" mod tidy
}

build_metrics_server() {
  local buildlog=$KDIR/build-metrics-server-$MS_VERSION.log t0=$SECONDS rc=0
  local mmod=$KDIR/src-metrics-server-$MS_VERSION tmp=$MS_INSTALL/metrics-server.tmp.$$
  log "building metrics-server $MS_VERSION with $("$GO" env GOVERSION); log: $buildlog"
  mkdir -p "$MS_INSTALL"
  {
    echo "---- $(date -Is) build $MS_INSTALL_ID"
    write_metrics_server_module "$mmod" &&
      gobuild "$mmod" build -trimpath -ldflags="-s -w -X k8s.io/client-go/pkg/version.gitVersion=$MS_VERSION" \
        -o "$tmp" sigs.k8s.io/metrics-server/cmd/metrics-server
  } >>"$buildlog" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$buildlog" >&2 || true
    rm -f "$tmp"
    die "building metrics-server $MS_VERSION failed (exit $rc); log: $buildlog"
  fi
  mv -f "$tmp" "$MS_BIN"
  echo "$MS_INSTALL_ID" >"$MS_STAMP.tmp" && mv -f "$MS_STAMP.tmp" "$MS_STAMP"
  ms_installed || die "metrics-server is unusable after building it; log: $buildlog"
  log "metrics-server built in $((SECONDS - t0))s (wall) into $MS_BIN"
}

# ---------------------------------------------------------------------------------------------
# certificates and kubeconfigs

# cert NAME CA SUBJECT EXT : a 2048-bit RSA key and a certificate signed by CA (ca or etcd-ca)
cert() {
  local name=$1 ca=$2 subj=$3 ext=$4
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%b\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days 3650 -sha256 -extfile "$PKI/$name.ext" \
    -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

ca() { # ca NAME CN
  openssl genrsa -out "$PKI/$1.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' \
    -out "$PKI/$1.crt" 2>/dev/null
}

make_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  local common='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nauthorityKeyIdentifier=keyid'
  local client="$common\nextendedKeyUsage=clientAuth"
  ca ca cd-kube-ca
  ca etcd-ca cd-etcd-ca
  cert apiserver ca /CN=kube-apiserver \
    "$common\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:$HOST,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin ca /O=system:masters/CN=cd-admin "$client"
  cert controller-manager ca /CN=system:kube-controller-manager "$client"
  cert scheduler ca /CN=system:kube-scheduler "$client"
  cert kwok ca /O=system:masters/CN=kwok-controller "$client"
  # kwok's kubelet server, verified by the apiserver (--kubelet-certificate-authority), and the
  # apiserver's client certificate towards it (which kwok does not check; a kubelet would).
  cert kwok-server ca /CN=kwok-kubelet "$common\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:$HOST,DNS:localhost"
  cert apiserver-kubelet-client ca /O=system:masters/CN=kube-apiserver-kubelet-client "$client"
  # Aggregation layer: the apiserver proxies metrics.k8s.io to metrics-server with the
  # front-proxy client certificate and the user in X-Remote-* headers, which metrics-server
  # trusts only when signed by the front-proxy CA (published in kube-system's
  # extension-apiserver-authentication ConfigMap). metrics-server's serving certificate is
  # verified against the APIService's caBundle with the Service's DNS name.
  ca front-proxy-ca cd-front-proxy-ca
  cert front-proxy-client front-proxy-ca /CN=front-proxy-client "$client"
  cert metrics-server ca /CN=metrics-server \
    "$common\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:$MS_ADDR,DNS:metrics-server.kube-system.svc,DNS:metrics-server.kube-system.svc.cluster.local"
  cert metrics-server-client ca /CN=system:metrics-server "$client"
  # etcd: one certificate for its client and peer listeners (peers authenticate as clients too).
  cert etcd-server etcd-ca /CN=cd-kube-etcd \
    "$common\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:$HOST,DNS:localhost"
  cert apiserver-etcd-client etcd-ca /CN=kube-apiserver-etcd-client "$client"
  cert etcd-client etcd-ca /CN=cd-etcd-client "$client"
  # Service account tokens: signed by the apiserver, verified with the public half.
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
}

b64() { base64 -w0 <"$1"; }

# kubeconfig FILE CONTEXT USER AUTH_LINES [NAMESPACE]
kubeconfig() {
  local file=$1 ctx=$2 user=$3 auth=$4 ns=${5:-}
  (
    umask 077
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cd-kube
  cluster:
    server: $SERVER
    certificate-authority-data: $(b64 "$PKI/ca.crt")
contexts:
- name: $ctx
  context:
    cluster: cd-kube
    user: $user${ns:+
    namespace: $ns}
current-context: $ctx
users:
- name: $user
  user:
$auth
EOF
  )
}

cert_auth() { # cert_auth NAME : kubeconfig user lines for the client certificate NAME
  printf '    client-certificate-data: %s\n    client-key-data: %s' "$(b64 "$PKI/$1.crt")" "$(b64 "$PKI/$1.key")"
}

write_configs() {
  kubeconfig "$KUBECONFIG_ADMIN" cd-kube cd-admin "$(cert_auth admin)"
  kubeconfig "$STATE/controller-manager.kubeconfig" cd-kube system:kube-controller-manager "$(cert_auth controller-manager)"
  kubeconfig "$STATE/scheduler.kubeconfig" cd-kube system:kube-scheduler "$(cert_auth scheduler)"
  kubeconfig "$STATE/kwok.kubeconfig" cd-kube kwok-controller "$(cert_auth kwok)"
  kubeconfig "$STATE/metrics-server.kubeconfig" cd-kube system:metrics-server "$(cert_auth metrics-server-client)"
  write_kwok_metrics "$STATE/kwok-metrics.yaml"
  # Writes at Metadata level (user, user agent, verb, object, requestURI with ?fieldManager=),
  # minus the constant background: leases, kwok playing node and pod status, and
  # metrics-server asking whether each caller of metrics.k8s.io may (one review a request).
  cat >"$STATE/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  resources:
  - group: coordination.k8s.io
    resources: [leases]
- level: None
  users: [kwok-controller]
  resources:
  - group: ""
    resources: [nodes/status, pods/status]
- level: None
  users: [system:metrics-server]
  resources:
  - group: authorization.k8s.io
    resources: [subjectaccessreviews]
  - group: authentication.k8s.io
    resources: [tokenreviews]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
EOF
  # The logs kwok serves (read at each request: the file may grow, and is followed).
  cat >"$STATE/kwok-logs.yaml" <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: $LOG_NAMESPACE
spec:
  selector:
    matchNamespaces: [$LOG_NAMESPACE]
  logs:
  - logsFile: $LOG_FILE
    previousLogsFile: $PREVIOUS_LOG_FILE
    follow: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: $LOG_CONTAINER
spec:
  logs:
  - containers: [$LOG_CONTAINER]
    logsFile: $LOG_FILE
    follow: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: $EXEC_NAMESPACE
spec:
  selector:
    matchNamespaces: [$EXEC_NAMESPACE]
  execs:
  - local:
      workDir: $STATE
      envs:
      - name: CD_KWOK_EXEC
        value: $EXEC_MARKER
EOF
  mkdir -p "${LOG_FILE%/*}"
  : >"$LOG_FILE"
  printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$PREVIOUS_LOG_LINE" >"$PREVIOUS_LOG_FILE"
  append_log "cd-kube pod log line 1" "cd-kube pod log line 2" "cd-kube pod log line 3"
}

append_log() { # append_log TEXT... : one CRI-format stdout line per TEXT, stamped now
  local t
  for t in "$@"; do printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$t"; done >>"$LOG_FILE"
}

# ---------------------------------------------------------------------------------------------
# processes

proc_pid() { # proc_pid NAME : prints the pid of NAME when it is running
  local pid
  pid=$(read_pid "$STATE/$1.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then echo "$pid"; fi
}

start_proc() { # start_proc NAME BINARY ARGS... : launch detached (no wait)
  local name=$1 bin=$2
  shift 2
  mkdir -p "$LOGS"
  echo "---- start $(date -Is)" >>"$LOGS/$name.log"
  # setsid execs (a background job of a script is no group leader): $! is the process's pid.
  setsid "$bin" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

# wait_proc NAME WHAT CMD... : until CMD succeeds; dies (with the log tail) when NAME exits
wait_proc() {
  local name=$1 what=$2 end
  shift 2
  end=$(($(date +%s) + START_WAIT))
  while ! "$@" >/dev/null 2>&1; do
    if [ -z "$(proc_pid "$name")" ]; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited at start; log: $LOGS/$name.log"
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$what not within ${START_WAIT}s; log: $LOGS/$name.log"
    fi
    sleep 0.25
  done
}

k() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=30s "$@"; }

etcd_healthy() {
  curl -sf --max-time 5 --cacert "$PKI/etcd-ca.crt" --cert "$PKI/etcd-client.crt" \
    --key "$PKI/etcd-client.key" "https://$HOST:$ETCD_PORT/health" | grep -q '"health":"true"'
}
api_ready() { [ "$(k --request-timeout=5s get --raw /readyz 2>/dev/null)" = ok ]; }
healthz() { [ "$(curl -sk --max-time 5 "https://$HOST:$1/healthz" 2>/dev/null)" = ok ]; }
default_sa() { k -n default get serviceaccount default -o name; }

start_etcd() {
  start_proc etcd "$BIN/etcd" --name cd-kube --data-dir "$STATE/etcd" \
    --listen-client-urls "https://$HOST:$ETCD_PORT" --advertise-client-urls "https://$HOST:$ETCD_PORT" \
    --listen-peer-urls "https://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls "https://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster "cd-kube=https://$HOST:$ETCD_PEER_PORT" --initial-cluster-state new \
    --initial-cluster-token cd-kube --listen-metrics-urls "http://$HOST:$ETCD_METRICS_PORT" \
    --cert-file "$PKI/etcd-server.crt" --key-file "$PKI/etcd-server.key" \
    --trusted-ca-file "$PKI/etcd-ca.crt" --client-cert-auth \
    --peer-cert-file "$PKI/etcd-server.crt" --peer-key-file "$PKI/etcd-server.key" \
    --peer-trusted-ca-file "$PKI/etcd-ca.crt" --peer-client-cert-auth \
    --snapshot-count 10000 --quota-backend-bytes $((4 * 1024 * 1024 * 1024))
}

start_apiserver() {
  start_proc apiserver "$BIN/kube-apiserver" \
    --bind-address="$HOST" --advertise-address="$HOST" --secure-port="$API_PORT" \
    --etcd-servers="https://$HOST:$ETCD_PORT" --etcd-cafile="$PKI/etcd-ca.crt" \
    --etcd-certfile="$PKI/apiserver-etcd-client.crt" --etcd-keyfile="$PKI/apiserver-etcd-client.key" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --audit-policy-file="$STATE/audit-policy.yaml" --audit-log-path="$STATE/audit.log" \
    --audit-log-format=json --audit-log-maxsize=500 --audit-log-maxbackup=1 \
    --endpoint-reconciler-type=none \
    --kubelet-preferred-address-types=ExternalIP --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --profiling=false
  # (endpoint reconciler off: the 'kubernetes' service cannot have a loopback endpoint)
  # (kubelets: at the node's ExternalIP, 127.0.0.1 where kwok answers; the InternalIPs are data)
  # (aggregator routing: to the EndpointSlice's address, as no kube-proxy serves ClusterIPs)
}

start_controller_manager() {
  local kc=$STATE/controller-manager.kubeconfig
  start_proc controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address="$HOST" --secure-port="$CM_PORT" --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --controllers='*' \
    --kube-api-qps=100 --kube-api-burst=200 --profiling=false
}

start_scheduler() {
  local kc=$STATE/scheduler.kubeconfig
  start_proc scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address="$HOST" --secure-port="$SCHED_PORT" --leader-elect=false \
    --kube-api-qps=100 --kube-api-burst=200 --profiling=false
}

start_kwok() {
  # Leases make nodes Ready for the node lifecycle controller (40 s, renewed every 10 s), as
  # kwokctl runs it. Its server (HTTPS, plain HTTP on the same port too) serves container logs
  # per kwok-logs.yaml, and each node's /metrics/resource per kwok-metrics.yaml (a Metric in
  # the config turns on kwok's metrics and its pod cache); --node-port is the kubeletEndpoint
  # port its stages give the nodes.
  local metrics=()
  if [ "$METRICS" = 1 ]; then metrics=(--config="$STATE/kwok-metrics.yaml"); fi
  start_proc kwok "$BIN/kwok" --kubeconfig="$STATE/kwok.kubeconfig" \
    --config="$STAGES" --config="$STATE/kwok-logs.yaml" "${metrics[@]}" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --cidr="$POD_CIDR" \
    --server-address="$HOST:$KUBELET_PORT" --node-port="$KUBELET_PORT" \
    --tls-cert-file="$PKI/kwok-server.crt" --tls-private-key-file="$PKI/kwok-server.key"
}

all_pids() { # the pids of the running processes, in start order
  local name pid
  for name in "${PROCS[@]}"; do
    pid=$(proc_pid "$name")
    if [ -n "$pid" ]; then echo "$pid"; fi
  done
}

stop_procs() {
  local i name pid
  for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
    name=${PROCS[i]}
    pid=$(proc_pid "$name")
    if [ -n "$pid" ]; then
      log "stopping $name pid $pid"
      stop_pid "$pid" 20 || die "$name (pid $pid) did not stop"
    fi
    rm -f "$STATE/$name.pid"
  done
  # A process whose pid file was lost (an 'up' killed between start and record): our own
  # binaries running with our state directory in their arguments, and nothing else.
  for pid in $(pids_with_arg "$STATE/"); do
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
    "$BIN"/etcd | "$BIN"/kube-apiserver | "$BIN"/kube-controller-manager | "$BIN"/kube-scheduler | "$BIN"/kwok | "$MS_BIN")
      log "stopping leftover pid $pid ($(readlink "/proc/$pid/exe"))"
      stop_pid "$pid" 20 || true
      ;;
    esac
  done
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# resource metrics: kwok plays each node's /metrics/resource, metrics-server scrapes it and
# serves metrics.k8s.io through the apiserver's aggregation layer

# kwok's config for the metrics (what kwok's own kustomize/metrics/{usage,resource} sets up,
# with other counters): a ClusterResourceUsage gives every container of every pod its usage
# from the pod's annotations, a Metric serves it at the path of the nodes' annotation.
# The cpu counters are kwok's CumulativeUsage (at each scrape, the usage of the moment times
# the time since the previous one, added up: a changed annotation shows in full at the next
# scrape, without a spike) plus 1 core-second: CumulativeUsage is 0 at its first scrape and
# metrics-server discards a 0 counter (a new pod would need a third scrape). A node's counter
# adds the base times the node's age.
# metrics-server divides a counter's growth by the time between its requests, but kwok reads
# the clock a few ms after each request: the rate is off by up to ~0.03 % either way (250m:
# 249.92m..250.08m), which kubectl rounds up to 250m or 251m at random. So the counters run
# 0.05 % slow (CPU_SCALE): 250m is served as ~249.87m, which rounds to 250m both up (kubectl)
# and to the nearest millicore, for usages up to ~600m (rounding up: ~1200m).
# The start time is the pod's creation, exactly the same at every scrape (metrics-server skips
# a container whose start time went down, even by float rounding): no restarts are seen.
CPU_SCALE=0.9995

write_kwok_metrics() {
  local usage_cpu usage_mem
  usage_cpu="'$USAGE_CPU_ANNOTATION' in pod.metadata.annotations ? Quantity(pod.metadata.annotations['$USAGE_CPU_ANNOTATION']) : Quantity('$USAGE_DEFAULT_CPU')"
  usage_mem="'$USAGE_MEMORY_ANNOTATION' in pod.metadata.annotations ? Quantity(pod.metadata.annotations['$USAGE_MEMORY_ANNOTATION']) : Quantity('$USAGE_DEFAULT_MEMORY')"
  cat >"$1" <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: usage-from-annotations
spec:
  usages:
  - usage:
      cpu:
        expression: "$usage_cpu"
      memory:
        expression: "$usage_mem"
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Metric
metadata:
  name: metrics-resource
spec:
  path: /metrics/nodes/{nodeName}/metrics/resource
  metrics:
  - name: scrape_error
    dimension: node
    help: 1 if there was an error while getting metrics from the node, 0 otherwise
    kind: gauge
    value: "0"
  - name: node_cpu_usage_seconds_total
    dimension: node
    help: Cumulative cpu time consumed by the node in core-seconds
    kind: counter
    value: '(node.CumulativeUsage("cpu") + node.SinceSecond() * $NODE_BASE_MILLICPU.0 / 1000.0) * $CPU_SCALE'
  - name: node_memory_working_set_bytes
    dimension: node
    help: Current working set of the node in bytes
    kind: gauge
    value: 'node.Usage("memory") + $NODE_BASE_MIB.0 * 1048576.0'
  - name: container_start_time_seconds
    dimension: container
    help: Start time of the container since unix epoch in seconds
    kind: gauge
    labels:
    - {name: container, value: container.name}
    - {name: namespace, value: pod.metadata.namespace}
    - {name: pod, value: pod.metadata.name}
    value: 'UnixSecond(pod.metadata.creationTimestamp)'
  - name: container_cpu_usage_seconds_total
    dimension: container
    help: Cumulative cpu time consumed by the container in core-seconds
    kind: counter
    labels:
    - {name: container, value: container.name}
    - {name: namespace, value: pod.metadata.namespace}
    - {name: pod, value: pod.metadata.name}
    value: '(pod.CumulativeUsage("cpu", container.name) + 1.0) * $CPU_SCALE'
  - name: container_memory_working_set_bytes
    dimension: container
    help: Current working set of the container in bytes
    kind: gauge
    labels:
    - {name: container, value: container.name}
    - {name: namespace, value: pod.metadata.namespace}
    - {name: pod, value: pod.metadata.name}
    value: 'pod.Usage("memory", container.name)'
  - name: pod_cpu_usage_seconds_total
    dimension: pod
    help: Cumulative cpu time consumed by the pod in core-seconds
    kind: counter
    labels:
    - {name: namespace, value: pod.metadata.namespace}
    - {name: pod, value: pod.metadata.name}
    value: '(pod.CumulativeUsage("cpu") + 1.0) * $CPU_SCALE'
  - name: pod_memory_working_set_bytes
    dimension: pod
    help: Current working set of the pod in bytes
    kind: gauge
    labels:
    - {name: namespace, value: pod.metadata.namespace}
    - {name: pod, value: pod.metadata.name}
    value: 'pod.Usage("memory")'
EOF
}

# The interface metrics-server's address lives on (see MS_ADDR): a veth pair with both ends in
# the root namespace, as this kernel has no dummy driver ("Unknown device type") while veth is
# there (swarm.sh uses it too). The address is local, so its traffic goes through lo and never
# over the pair; no IPv6 link-local addresses either (addrgenmode none), so nothing at all is
# sent on it. Its name is this script's own: a pair left by a killed run is removed before a
# new one is made, and by 'down' in any case (deleting one end deletes both).
make_metrics_iface() {
  remove_metrics_iface
  if [ -n "$(ip -o addr show to "$MS_ADDR/32" 2>/dev/null)" ]; then
    die "$MS_ADDR is already an address of this machine (not on $MS_IFACE); metrics-server needs it (CD_KUBE_METRICS=0 runs without)"
  fi
  ip link add "$MS_IFACE" type veth peer name "${MS_IFACE}p" ||
    die "could not create the interface $MS_IFACE for metrics-server (needs CAP_NET_ADMIN and veth; CD_KUBE_METRICS=0 runs without metrics)"
  ip link set "$MS_IFACE" addrgenmode none
  ip link set "${MS_IFACE}p" addrgenmode none
  ip addr add "$MS_ADDR/32" dev "$MS_IFACE"
  ip link set "${MS_IFACE}p" up
  ip link set "$MS_IFACE" up
}

remove_metrics_iface() {
  if ip -d link show "$MS_IFACE" 2>/dev/null | grep -qw veth; then
    log "removing interface $MS_IFACE"
    ip link del "$MS_IFACE" 2>/dev/null || log "could not delete interface $MS_IFACE"
  fi
}

# What metrics-server needs (as in its own manifests): its identity system:metrics-server reads
# nodes, pods and the nodes' metrics, checks callers (auth-delegator) and reads the front-proxy
# CA (extension-apiserver-authentication-reader); the aggregated-metrics-reader role puts
# metrics.k8s.io into the default view/edit/admin roles. The Service has no selector: its
# EndpointSlice, written here, is metrics-server's address (the endpointslice controller leaves
# selector-less services alone).
setup_metrics_api() {
  k apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:metrics-server
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:metrics-server
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:metrics-server
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:metrics-server
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: metrics-server:system:auth-delegator
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:metrics-server
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: metrics-server-auth-reader
  namespace: kube-system
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: extension-apiserver-authentication-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: system:metrics-server
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:aggregated-metrics-reader
  labels:
    rbac.authorization.k8s.io/aggregate-to-view: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
rules:
- apiGroups: [metrics.k8s.io]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
  labels:
    k8s-app: metrics-server
spec:
  ports:
  - name: https
    port: 443
    protocol: TCP
    targetPort: $MS_PORT
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: metrics-server
  namespace: kube-system
  labels:
    kubernetes.io/service-name: metrics-server
    endpointslice.kubernetes.io/managed-by: cd-kube-engine
addressType: IPv4
ports:
- name: https
  port: $MS_PORT
  protocol: TCP
endpoints:
- addresses: [$MS_ADDR]
  conditions:
    ready: true
EOF
}

# The APIService, registered once metrics-server answers: the aggregator checks an APIService
# at once when it appears, but an unavailable one only every 30 s (so registering it first
# would make 'up' wait up to 30 s more). Its caBundle verifies metrics-server's certificate.
register_metrics_api() {
  k apply -f - >/dev/null <<EOF
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
  labels:
    k8s-app: metrics-server
spec:
  group: metrics.k8s.io
  version: v1beta1
  service:
    name: metrics-server
    namespace: kube-system
    port: 443
  caBundle: $(b64 "$PKI/ca.crt")
  groupPriorityMinimum: 100
  versionPriority: 100
EOF
}

# metrics-server outside the cluster, as system:metrics-server. It finds each node's kubelet
# at the node's ExternalIP and status port (kwok, 127.0.0.1:20250) and the path of the node's
# resource-metrics-path annotation, and verifies kwok's certificate with the cluster CA.
# --kubelet-request-timeout: it must stay under 90 % of the resolution (default 10 s).
start_metrics_server() {
  local kc=$STATE/metrics-server.kubeconfig
  start_proc metrics-server "$MS_BIN" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address="$MS_ADDR" --secure-port="$MS_PORT" \
    --tls-cert-file="$PKI/metrics-server.crt" --tls-private-key-file="$PKI/metrics-server.key" \
    --kubelet-preferred-address-types=ExternalIP --kubelet-use-node-status-port \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-request-timeout=5s \
    --metric-resolution="${METRIC_RESOLUTION}s"
}

ms_serving() { [ "$(curl -s --max-time 5 --cacert "$PKI/ca.crt" "https://$MS_ADDR:$MS_PORT/livez" 2>/dev/null)" = ok ]; }

# node_metrics_ready N : metrics.k8s.io has the usage of N nodes, and 'kubectl top nodes' works
node_metrics_ready() {
  local n
  n=$(k get --raw /apis/metrics.k8s.io/v1beta1/nodes 2>/dev/null | grep -o '"window":' | wc -l)
  [ "$n" -ge "$1" ] && k top nodes >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# cluster content

# The restricted identity: team-a/viewer reads pods, deployments, replicasets and events in
# team-a, nothing else (no nodes, nothing cluster-wide). Token: a year, bound to the account.
setup_viewer() {
  k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: viewer
  namespace: team-a
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: viewer
  namespace: team-a
rules:
- apiGroups: [""]
  resources: [pods, events]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, replicasets]
  verbs: [get, list, watch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: viewer
  namespace: team-a
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: viewer
subjects:
- kind: ServiceAccount
  name: viewer
  namespace: team-a
EOF
  local token
  token=$(k -n team-a create token viewer --duration=8760h) || die "creating the viewer token failed"
  kubeconfig "$KUBECONFIG_VIEWER" cd-viewer viewer "    token: $token" team-a
}

node_yaml() { # node_yaml I : the manifest of kwok-node-I (builtins only: 1,000s of them)
  local i=$1 zone=${ZONES[$(($1 % 3))]} id
  printf -v id 'i-0cd%014x' "$i"
  printf '%s\n' "---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    $METRICS_PATH_ANNOTATION: /metrics/nodes/kwok-node-$i/metrics/resource
  labels:
    beta.kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    node-role.kubernetes.io/worker: \"\"
    node.kubernetes.io/instance-type: m5.8xlarge
    topology.kubernetes.io/region: $REGION
    topology.kubernetes.io/zone: $zone
    type: kwok
spec:
  providerID: aws:///$zone/$id
status:
  addresses:
  - type: InternalIP
    address: 172.31.$((i / 250)).$((i % 250 + 4))
  - type: ExternalIP
    address: $HOST
  - type: Hostname
    address: kwok-node-$i
  allocatable: {cpu: \"32\", memory: 256Gi, pods: \"110\", ephemeral-storage: 100Gi}
  capacity: {cpu: \"32\", memory: 256Gi, pods: \"110\", ephemeral-storage: 100Gi}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    osImage: kwok
    kubeletVersion: $KUBE_VERSION
    kubeProxyVersion: $KUBE_VERSION
    containerRuntimeVersion: kwok://$KWOK_VERSION
    kernelVersion: kwok"
}

ensure_nodes() { # ensure_nodes N
  local n=$1 i j t0=$SECONDS have created=0 dir pids=() rc=0 list
  # The nodes that exist with the metrics path annotation (nodes made before it existed are
  # applied again: the same field manager, so apply updates them in place).
  list=$(k get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.annotations.metrics\.k8s\.io/resource-metrics-path}{"\n"}{end}') ||
    die "listing nodes failed"
  have=" $(awk 'NF >= 2 { print $1 }' <<<"$list" | paste -sd' ' -) "
  # The missing nodes as multi-document manifests, dealt round-robin into APPLY_PARALLEL files
  # applied side by side (one server-side apply request per node; the apiserver is the limit).
  dir=$(mktemp -d "${TMPDIR:-/tmp}/kube-nodes.XXXXXX")
  for ((i = 0; i < n; i++)); do
    if [[ $have != *" kwok-node-$i "* ]]; then
      node_yaml "$i" >>"$dir/$((created % APPLY_PARALLEL)).yaml"
      created=$((created + 1))
    fi
  done
  if [ "$created" -gt 0 ]; then
    log "creating (or updating) $created node(s)"
    for ((j = 0; j < APPLY_PARALLEL && j < created; j++)); do
      k apply --server-side --field-manager=cd-kube-engine -f "$dir/$j.yaml" >/dev/null 2>"$dir/$j.err" &
      pids+=($!)
    done
    for j in "${!pids[@]}"; do
      if ! wait "${pids[j]}"; then
        rc=1
        tail -n 5 "$dir/$j.err" >&2
      fi
    done
    rm -rf "$dir"
    [ "$rc" = 0 ] || die "creating the nodes failed"
    log "applied in $((SECONDS - t0))s"
  fi
  rm -rf "$dir"
  # Ready once kwok has played node-initialize on each.
  local end=$(($(date +%s) + START_WAIT)) ready
  while :; do
    ready=$(k get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
      awk -v n="$n" '{ sub(/^kwok-node-/, "", $1) } $1 ~ /^[0-9]+$/ && $1 + 0 < n && $2 == "True" { c++ } END { print c + 0 }')
    [ "$ready" -ge "$n" ] && break
    if [ "$(date +%s)" -ge "$end" ]; then
      die "only $ready of $n nodes Ready after ${START_WAIT}s; kwok log: $LOGS/kwok.log"
    fi
    sleep 0.5
  done
  log "$n node(s) Ready ($created created or updated) in $((SECONDS - t0))s"
}

write_env() {
  local f=$STATE/env etcdctl=$BIN/etcdctl
  {
    echo "# written by scripts/engines/kube.sh; source it"
    echo "export CD_KUBE_STATE='$STATE'"
    echo "export CD_KUBE_VERSION='$KUBE_VERSION'"
    echo "export CD_KUBE_BIN='$BIN'"
    echo "export CD_KUBECTL='$BIN/kubectl'"
    echo "export CD_KUBECONFIG='$KUBECONFIG_ADMIN'"
    echo "export CD_KUBE_CONTEXT=cd-kube"
    echo "export CD_KUBE_SERVER='$SERVER'"
    echo "export CD_KUBE_CA='$PKI/ca.crt'"
    echo "export CD_KUBE_VIEWER_KUBECONFIG='$KUBECONFIG_VIEWER'"
    echo "export CD_KUBE_VIEWER_CONTEXT=cd-viewer"
    echo "export CD_KUBE_AUDIT='$STATE/audit.log'"
    echo "export CD_KUBE_ETCD_ENDPOINT='https://$HOST:$ETCD_PORT'"
    echo "export CD_KUBE_ETCD_CA='$PKI/etcd-ca.crt'"
    echo "export CD_KUBE_ETCD_CERT='$PKI/etcd-client.crt'"
    echo "export CD_KUBE_ETCD_KEY='$PKI/etcd-client.key'"
    echo "export CD_KUBE_ETCDCTL='$etcdctl'"
    echo "export CD_KUBE_LOGS='$LOGS'"
    echo "# Container logs of pods in namespace CD_KUBE_LOG_NAMESPACE and of containers named"
    echo "# CD_KUBE_LOG_CONTAINER: the lines of CD_KUBE_LOG_FILE, followed. Append whole lines,"
    echo "# '<RFC 3339 UTC time> stdout F <text>' (CRI format), or run: \$CD_KUBE_SCRIPT log TEXT..."
    echo "export CD_KUBE_LOG_FILE='$LOG_FILE'"
    echo "export CD_KUBE_PREVIOUS_LOG_LINE='$PREVIOUS_LOG_LINE'"
    echo "export CD_KUBE_LOG_NAMESPACE=$LOG_NAMESPACE"
    echo "export CD_KUBE_LOG_CONTAINER=$LOG_CONTAINER"
    echo "export CD_KUBE_EXEC_NAMESPACE=$EXEC_NAMESPACE"
    echo "export CD_KUBE_EXEC_MARKER=$EXEC_MARKER"
    echo "export CD_KUBE_SCRIPT='$(readlink -f "$0")'"
    echo "# Resource metrics (metrics.k8s.io, 'kubectl top'; CD_KUBE_METRICS=0 when 'up' ran without):"
    echo "# each container of a pod uses the quantities in the pod's annotations CD_KUBE_USAGE_*_ANNOTATION"
    echo "# (else CD_KUBE_USAGE_DEFAULT_*); a node uses its pods' sum plus CD_KUBE_NODE_BASE_*."
    echo "# A new pod's usage is served within CD_KUBE_METRICS_DELAY seconds of it running (often 10-20);"
    echo "# cpu is ~0.05 % under the annotation (kubectl top rounds it up to the annotation)."
    echo "export CD_KUBE_METRICS=$METRICS"
    echo "export CD_KUBE_USAGE_CPU_ANNOTATION=$USAGE_CPU_ANNOTATION"
    echo "export CD_KUBE_USAGE_MEMORY_ANNOTATION=$USAGE_MEMORY_ANNOTATION"
    echo "export CD_KUBE_USAGE_DEFAULT_CPU=$USAGE_DEFAULT_CPU"
    echo "export CD_KUBE_USAGE_DEFAULT_MEMORY=$USAGE_DEFAULT_MEMORY"
    echo "export CD_KUBE_NODE_BASE_CPU=${NODE_BASE_MILLICPU}m"
    echo "export CD_KUBE_NODE_BASE_MEMORY=${NODE_BASE_MIB}Mi"
    echo "export CD_KUBE_METRIC_RESOLUTION=$METRIC_RESOLUTION"
    echo "export CD_KUBE_METRICS_DELAY=$((3 * METRIC_RESOLUTION + 5))"
    if [ "$METRICS" = 1 ]; then
      echo "export CD_KUBE_METRICS_SERVER='https://$MS_ADDR:$MS_PORT'"
      echo "export CD_KUBE_METRICS_LOG='$LOGS/metrics-server.log'"
    fi
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

all_up() {
  local name
  for name in "${PROCS[@]}"; do
    if [ "$name" = metrics-server ] && [ "$METRICS" != 1 ]; then continue; fi
    [ -n "$(proc_pid "$name")" ] || return 1
  done
  [ -s "$STATE/env" ] && [ -s "$KUBECONFIG_VIEWER" ] && api_ready
}

summary() {
  local nodes
  nodes=$(k get nodes -l type=kwok --no-headers 2>/dev/null | wc -l)
  local ms=
  if [ -n "$(proc_pid metrics-server)" ]; then ms=", metrics-server https://$MS_ADDR:$MS_PORT"; fi
  echo "kube $1 in $(elapsed)s: Kubernetes $KUBE_VERSION at $SERVER (etcd https://$HOST:$ETCD_PORT, $nodes kwok nodes$ms; pids $(all_pids | paste -sd, -)); kubeconfig $KUBECONFIG_ADMIN; source $STATE/env"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
  # shellcheck disable=SC2154
  trap 'rc=$?; [ $rc = 0 ] || log "up failed (exit $rc); logs under $LOGS; clean up with: $0 down"' EXIT
  cmd_install
  ensure_packages openssl curl
  if [ "$METRICS" = 1 ]; then ensure_packages iproute2; fi
  if all_up; then
    log "already up"
    summary "already up"
    return 0
  fi
  if [ -d "$STATE" ]; then
    log "cleaning leftovers of an earlier run"
    stop_procs
    rm -rf "$STATE"
  fi
  remove_metrics_iface
  local port
  # (MS_PORT on loopback: a listener on all addresses would take metrics-server's too)
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$ETCD_METRICS_PORT" "$API_PORT" "$CM_PORT" "$SCHED_PORT" "$KUBELET_PORT" "$MS_PORT"; do
    if port_open "$port"; then
      die "$HOST:$port is already in use by a process this script did not start"
    fi
  done
  mkdir -p "$STATE" "$LOGS"
  chmod 700 "$STATE"
  log "certificates"
  make_pki
  write_configs
  log "starting etcd"
  start_etcd
  wait_proc etcd "etcd healthy on https://$HOST:$ETCD_PORT" etcd_healthy
  log "starting kube-apiserver"
  start_apiserver
  wait_proc apiserver "kube-apiserver ready on $SERVER" api_ready
  echo "$METRICS" >"$STATE/metrics"
  if [ "$METRICS" = 1 ]; then
    log "apiserver ready; starting controller-manager, scheduler, kwok"
  else
    log "apiserver ready; starting controller-manager, scheduler, kwok (no metrics: CD_KUBE_METRICS=0)"
  fi
  start_controller_manager
  start_scheduler
  start_kwok
  if [ "$METRICS" = 1 ]; then
    make_metrics_iface
    setup_metrics_api
  fi
  wait_proc controller-manager "kube-controller-manager healthy" healthz "$CM_PORT"
  wait_proc scheduler "kube-scheduler healthy" healthz "$SCHED_PORT"
  wait_proc kwok "kwok serving on https://$HOST:$KUBELET_PORT" healthz "$KUBELET_PORT"
  wait_proc controller-manager "the default service account in namespace default" default_sa
  setup_viewer
  ensure_nodes "$DEFAULT_NODES"
  [ -n "$(proc_pid kwok)" ] || die "kwok exited; log: $LOGS/kwok.log"
  if [ "$METRICS" = 1 ]; then
    # Started once the nodes exist: it scrapes at once, then every 10 s, and a node's usage
    # needs two scrapes (a rate), so this is the soonest 'kubectl top nodes' can answer.
    log "starting metrics-server"
    start_metrics_server
    wait_proc metrics-server "metrics-server serving on https://$MS_ADDR:$MS_PORT" ms_serving
    register_metrics_api
    wait_proc metrics-server "metrics.k8s.io usage of $DEFAULT_NODES nodes ('kubectl top nodes')" \
      node_metrics_ready "$DEFAULT_NODES"
    log "metrics.k8s.io serves node usage"
  fi
  write_env
  log "up"
  summary up
}

cmd_down() {
  if [ -d "$STATE" ]; then
    stop_procs
    rm -rf "$STATE"
  fi
  remove_metrics_iface
  log "down"
  echo "kube down in $(elapsed)s"
}

cmd_status() {
  local name pid rc=0
  local metrics
  metrics=$(cat "$STATE/metrics" 2>/dev/null || echo "$METRICS")
  for name in "${PROCS[@]}"; do
    pid=$(proc_pid "$name")
    if [ -n "$pid" ]; then
      echo "$name: running, pid $pid"
    elif [ "$name" = metrics-server ] && [ "$metrics" != 1 ]; then
      echo "$name: off (CD_KUBE_METRICS=0)"
    else
      echo "$name: not running"
      rc=1
    fi
  done
  if [ -s "$KUBECONFIG_ADMIN" ] && api_ready; then
    echo "apiserver: $SERVER/readyz ok"
  else
    echo "apiserver: $SERVER/readyz not ok"
    rc=1
  fi
  if [ "$metrics" = 1 ]; then
    local avail
    avail=$(k get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null || true)
    if [ "$avail" = True ] && k top nodes >/dev/null 2>&1; then
      echo "metrics: APIService v1beta1.metrics.k8s.io Available, 'kubectl top nodes' ok (metrics-server https://$MS_ADDR:$MS_PORT on $MS_IFACE)"
    else
      echo "metrics: APIService v1beta1.metrics.k8s.io Available=${avail:-unknown}, 'kubectl top nodes' not ok; log: $LOGS/metrics-server.log"
      rc=1
    fi
  fi
  return "$rc"
}

cmd_nodes() {
  local n=${1:-}
  if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -gt 20000 ]; then die "usage: $0 nodes N (0..20000)"; fi
  if ! installed || [ ! -s "$KUBECONFIG_ADMIN" ] || ! api_ready; then die "not up (run '$0 up')"; fi
  ensure_nodes "$n"
  echo "kube nodes: kwok-node-0..$((n - 1)) Ready in $(elapsed)s"
}

case "${1:-}" in
install)
  BUILT_IN=
  cmd_install
  if [ -n "$BUILT_IN" ]; then
    echo "kube install: built what was missing of $INSTALL_ID, $MS_INSTALL_ID in ${BUILT_IN}s into $BIN, $MS_INSTALL"
  else
    echo "kube install: $INSTALL_ID, $MS_INSTALL_ID already in $BIN, $MS_INSTALL"
  fi
  ;;
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cat "$STATE/env" ;;
bindir) echo "$BIN" ;;
nodes) cmd_nodes "${2:-}" ;;
log)
  shift
  [ -d "${LOG_FILE%/*}" ] || die "not up (run '$0 up')"
  append_log "$@"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
