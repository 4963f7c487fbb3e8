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
# Everything runs detached, TLS everywhere:
#   etcd                     https://127.0.0.1:24379 (peer 24380), client certificates required
#   kube-apiserver           https://127.0.0.1:16443, authorization Node,RBAC, audit log
#                            ($STATE/audit.log: Metadata level for create/update/patch/delete)
#   kube-controller-manager  127.0.0.1:20257, one service account per controller
#   kube-scheduler           127.0.0.1:20259
#   kwok                     manages nodes annotated kwok.x-k8s.io/node=fake and their pods:
#                            nodes get Ready and keep their leases, pods go Running+Ready at once,
#                            deleted (or evicted) pods disappear; nothing is ever run. It is also
#                            every node's kubelet: https://127.0.0.1:20250 (the nodes' ExternalIP
#                            and kubeletEndpoint port), where it serves container logs
# Container logs ('kubectl logs [-f]', the apiserver's pods/log): kwok serves the one file
# $STATE/pod-logs/app.log (CD_KUBE_LOG_FILE in $STATE/env) as the log of every container of
# every pod in namespace t-logs (CD_KUBE_LOG_NAMESPACE) and of every container named
# clusterdeck-logs (CD_KUBE_LOG_CONTAINER) in any namespace; other pods have no logs (an error).
# The file is in CRI log format, one line per entry: "<RFC 3339 UTC time> stdout F <text>"
# (or stderr); 'up' writes 3 lines. Followers (follow=true) get each line appended afterwards
# within ~1 s: append whole lines, e.g. 'kube.sh log TEXT...' or
#   printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$text" >>"$CD_KUBE_LOG_FILE"
# All such pods share the file, so a test should look for lines of its own (a unique text).
# A follow ends only when its client closes it, not when the pod is deleted (kwok cannot tell a
# container stopped); there are no previous logs (--previous is an error).
# Fake nodes kwok-node-0..N-1 (zones us-west-1a/b/c, 32 cpu, 256Gi, 110 pods, not tainted, so
# ordinary pods schedule onto them). A restricted identity: service account team-a/viewer may
# only get/list/watch pods, deployments, replicasets and events in namespace team-a.
#
# Usage: kube.sh install | up | down | status | env | nodes N | log TEXT... | bindir
#   install  only build the binaries (a no-op when they are in the cache); prints the build time
#   up       install when needed, clean leftovers of an earlier run, start everything, create the
#            viewer identity and CD_KUBE_NODES (default 3) nodes, write $STATE/env (sourceable)
#            and print a one-line summary; a no-op when everything already runs and answers
#   down     stop kwok, scheduler, controller-manager, apiserver and etcd by their recorded pids
#            and remove $STATE (safe at any time, also after a failed 'up')
#   status   whether each process runs and the apiserver is ready (exit 1 when not)
#   env      print $STATE/env
#   nodes N  make sure fake nodes kwok-node-0..N-1 exist and are Ready: the missing ones are
#            created by server-side apply in 4 parallel multi-document batches (1,000 nodes:
#            ~35 s to create, ~60 s until all Ready); nodes beyond N are left alone
#   log      append each TEXT as a stdout line (now) to the pods' log file
#   bindir   print the directory of the built binaries (etcd.sh runs the same etcd)
#
# STATE defaults to /run/clusterdeck-kube (override with CD_KUBE_STATE). The build honours
# CD_GO (the go command, 1.26 or newer), CD_KUBE_BUILD_NICE (nice level, default 0),
# GOPROXY; it keeps the Go module cache under $CD_CACHE/kube/gomod (~1.2 GB) and removes its
# compiled-package cache (GBs) after a successful build unless CD_KUBE_KEEP_GOCACHE=1.
# Traffic goes only to loopback (and to the Go module proxy while building).
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
PROCS=(etcd apiserver controller-manager scheduler kwok)

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
    dir=$(ls -d "$KDIR/gomod/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN".* 2>/dev/null | head -n 1)
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

cmd_install() {
  installed && return 0
  mkdir -p "$KDIR"
  # One builder at a time (two runs in parallel share the cache).
  exec 8>"$KDIR/install.lock"
  flock 8
  if installed; then
    exec 8>&-
    return 0
  fi
  if [ -n "${CD_GO_FETCH:-}" ] || ! GO=$(go_cmd); then
    log "no Go 1.$GO_MIN_MINOR here: fetching $GO_TOOLCHAIN from the Go module proxy"
    GO=$(go_fetch) || die "Go 1.$GO_MIN_MINOR or newer is needed to build Kubernetes $KUBE_VERSION and $GO_TOOLCHAIN could not be fetched from the Go module proxy (set CD_GO to a go of 1.$GO_MIN_MINOR or newer)"
  fi
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
  # The compiled-package cache is only worth keeping for a rebuild; it is large (GBs).
  if [ "${CD_KUBE_KEEP_GOCACHE:-0}" != 1 ]; then rm -rf "$KDIR/gocache"; fi
  BUILT_IN=$((SECONDS - t0))
  log "cold build done in ${BUILT_IN}s (wall); binaries in $BIN"
  exec 8>&-
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
  # Writes at Metadata level (user, user agent, verb, object, requestURI with ?fieldManager=),
  # minus the constant background: leases, and kwok playing node and pod status.
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
    --profiling=false
  # (endpoint reconciler off: the 'kubernetes' service cannot have a loopback endpoint)
  # (kubelets: at the node's ExternalIP, 127.0.0.1 where kwok answers; the InternalIPs are data)
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
  # per kwok-logs.yaml; --node-port is the kubeletEndpoint port its stages give the nodes.
  start_proc kwok "$BIN/kwok" --kubeconfig="$STATE/kwok.kubeconfig" \
    --config="$STAGES" --config="$STATE/kwok-logs.yaml" --manage-all-nodes=false \
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
    "$BIN"/etcd | "$BIN"/kube-apiserver | "$BIN"/kube-controller-manager | "$BIN"/kube-scheduler | "$BIN"/kwok)
      log "stopping leftover pid $pid ($(readlink "/proc/$pid/exe"))"
      stop_pid "$pid" 20 || true
      ;;
    esac
  done
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

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
  local n=$1 i j t0=$SECONDS have created=0 dir pids=() rc=0
  have=" $(k get nodes -l type=kwok -o jsonpath='{.items[*].metadata.name}') " ||
    die "listing nodes failed"
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
    log "creating $created node(s)"
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
  log "$n node(s) Ready ($created created) in $((SECONDS - t0))s"
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
    echo "export CD_KUBE_SCRIPT='$(readlink -f "$0")'"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

all_up() {
  local name
  for name in "${PROCS[@]}"; do [ -n "$(proc_pid "$name")" ] || return 1; done
  [ -s "$STATE/env" ] && [ -s "$KUBECONFIG_VIEWER" ] && api_ready
}

summary() {
  local nodes
  nodes=$(k get nodes -l type=kwok --no-headers 2>/dev/null | wc -l)
  echo "kube $1 in $(elapsed)s: Kubernetes $KUBE_VERSION at $SERVER (etcd https://$HOST:$ETCD_PORT, $nodes kwok nodes; pids $(all_pids | paste -sd, -)); kubeconfig $KUBECONFIG_ADMIN; source $STATE/env"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
  # shellcheck disable=SC2154
  trap 'rc=$?; [ $rc = 0 ] || log "up failed (exit $rc); logs under $LOGS; clean up with: $0 down"' EXIT
  cmd_install
  ensure_packages openssl curl
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
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$ETCD_METRICS_PORT" "$API_PORT" "$CM_PORT" "$SCHED_PORT" "$KUBELET_PORT"; do
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
  log "apiserver ready; starting controller-manager, scheduler, kwok"
  start_controller_manager
  start_scheduler
  start_kwok
  wait_proc controller-manager "kube-controller-manager healthy" healthz "$CM_PORT"
  wait_proc scheduler "kube-scheduler healthy" healthz "$SCHED_PORT"
  wait_proc kwok "kwok serving on https://$HOST:$KUBELET_PORT" healthz "$KUBELET_PORT"
  wait_proc controller-manager "the default service account in namespace default" default_sa
  setup_viewer
  ensure_nodes "$DEFAULT_NODES"
  [ -n "$(proc_pid kwok)" ] || die "kwok exited; log: $LOGS/kwok.log"
  write_env
  log "up"
  summary up
}

cmd_down() {
  if [ -d "$STATE" ]; then
    stop_procs
    rm -rf "$STATE"
  fi
  log "down"
  echo "kube down in $(elapsed)s"
}

cmd_status() {
  local name pid rc=0
  for name in "${PROCS[@]}"; do
    pid=$(proc_pid "$name")
    if [ -n "$pid" ]; then
      echo "$name: running, pid $pid"
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
    echo "kube install: built $INSTALL_ID in ${BUILT_IN}s into $BIN"
  else
    echo "kube install: $INSTALL_ID already in $BIN"
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
