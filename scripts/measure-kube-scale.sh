#!/usr/bin/env bash
# The console against a large Kubernetes cluster, for docs/performance.md: starts the test
# control plane (scripts/engines/kube.sh), adds kwok nodes until there are NODES (default
# 1000), runs PODS pause pods (default 10000, in deployments of 500 spread over the nodes),
# waits until they are all ready, then runs benches/kube_scale.rs (release build, Kubernetes
# backend only): time to the first complete pods pane, resident memory, pods-pane frame time.
#
# The bench runs RUNS times (default 3) against the same cluster, for a median.
# The scale namespace is deleted at the end; the nodes stay until `kube.sh down`.
# Usage: scripts/measure-kube-scale.sh        Env: NODES, PODS, RUNS, CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-1000}
PODS=${PODS:-10000}
PER=500
RUNS=${RUNS:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clusterdeck/target}"

# Without metrics-server: its scrapes of every node every 10 s would weigh on the figures.
# (A control plane already up with it keeps it; run 'kube.sh down' first.)
CD_KUBE_METRICS=0 bash scripts/engines/kube.sh up
# shellcheck disable=SC1091
. "${CD_KUBE_STATE:-/run/clusterdeck-kube}/env"
k() { "$CD_KUBECTL" --kubeconfig "$CD_KUBECONFIG" "$@"; }
t0=$(date +%s)
bash scripts/engines/kube.sh nodes "$NODES"
echo "nodes: $NODES ready after $(($(date +%s) - t0)) s"

k delete namespace scale --wait=true >/dev/null 2>&1 || true
k create namespace scale >/dev/null
t0=$(date +%s)
n=0
while [ $((n * PER)) -lt "$PODS" ]; do
  cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: load-$n, namespace: scale}
spec:
  replicas: $PER
  selector: {matchLabels: {app: load-$n}}
  template:
    metadata: {labels: {app: load-$n}}
    spec:
      containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]
YAML
  n=$((n + 1))
done | k apply -f - >/dev/null
# Running, not Ready: at 1,000 nodes kwok has left a few dozen pods Running without their Ready
# condition, which would stall a readiness wait; the bench needs every pod listed, not ready.
until [ "$(k -n scale get pods --field-selector=status.phase=Running --no-headers | wc -l)" -ge "$PODS" ]; do
  sleep 5
done
echo "pods: $PODS running after $(($(date +%s) - t0)) s"

for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS"
  KUBE_SCALE_PODS=$PODS cargo bench --no-default-features --features kube --bench kube_scale
done
k delete namespace scale --wait=false >/dev/null
