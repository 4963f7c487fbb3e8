#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust: installs and starts what the
# tests need, runs formatting, lint and every test of every crate, and tears down what it
# started. Prints how long each step and each test binary took.
set -euo pipefail
cd "$(dirname "$0")/.."

# Reuse one target directory outside the clone so a warm machine rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clusterdeck/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# On a long-lived machine the shared target directory grows with every change (incremental
# caches of old builds): drop those untouched for two days (a rebuild only costs time).
if [ -d "$CARGO_TARGET_DIR/debug/incremental" ]; then
  find "$CARGO_TARGET_DIR/debug/incremental" -mindepth 1 -maxdepth 1 -mtime +2 -exec rm -rf {} + 2>/dev/null || true
fi
# Snapshots are never rewritten by a test run; a mismatch fails.
export INSTA_UPDATE=no

t0=$SECONDS
step() { printf '\n== %s (at %ss)\n' "$*" "$((SECONDS - t0))"; }

step "toolchain"
cargo --version
# rustfmt and clippy ship with the toolchain here; say so plainly if they are missing.
cargo fmt --version && cargo clippy --version || { echo "rustfmt and clippy are needed (rustup component add rustfmt clippy)"; exit 1; }

step "engines"
# Real engines for the backend tests: a 5-node Docker Swarm (a dockerd per network namespace)
# with a local registry, moto's EC2 API server, Kubernetes, etcd, and rsyslog for audit
# shipping. Needs root; installs what is missing.
[ "$(id -u)" = 0 ] || { echo "scripts/test.sh starts real engines and must run as root"; exit 1; }
logs="${TMPDIR:-/tmp}/clusterdeck-test"
mkdir -p "$logs"
# The Kubernetes control plane is built from the Go module proxy once (minutes, cold): it
# starts first, in the background, so that it overlaps the Rust build below.
bash scripts/engines/kube.sh install >"$logs/kube-install.log" 2>&1 &
kube_build=$!
soak_pid=
# Stops only what this script started: the build, the soak's process group, the servers.
cleanup() {
  kill "$kube_build" 2>/dev/null || true
  [ -z "$soak_pid" ] || kill -- "-$soak_pid" 2>/dev/null || true
  bash scripts/engines/ec2.sh down >/dev/null 2>&1 || true
  bash scripts/engines/etcd.sh down >/dev/null 2>&1 || true
  bash scripts/engines/kube.sh down >/dev/null 2>&1 || true
  bash scripts/engines/ssh.sh down >/dev/null 2>&1 || true
  bash scripts/engines/swarm.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT
# A run killed in the middle of a partition test leaves the DROP rules it tagged `cd-test-…`
# (its guard never ran): the engines below would then time out on loopback. Remove them.
if command -v iptables >/dev/null; then
  { iptables -S 2>/dev/null || true; } | { grep -- '--comment cd-test-' || true; } |
    while read -ra rule; do
      echo "removing a leftover test rule: ${rule[*]}"
      iptables -D "${rule[@]:1}" || true
    done
fi
bash scripts/engines/rsyslog.sh install
bash scripts/engines/swarm.sh up
# shellcheck disable=SC1091
. "${CD_SWARM_STATE:-/run/clusterdeck-swarm}/env"
# An sshd in each swarm node's namespace (Debian's openssh-server; the host's sshd is never
# started), for ssh:// engines and ssh to nodes, with keys and an ssh config made here.
bash scripts/engines/ssh.sh up
# shellcheck disable=SC1091
. "${CD_SSH_STATE:-/run/clusterdeck-ssh}/env"
# moto's EC2 API server (from PyPI, in a cached virtualenv): an open one and one enforcing IAM.
bash scripts/engines/ec2.sh up
# Servers left running by an earlier run are reused: start them empty (new IAM keys too).
bash scripts/engines/ec2.sh reset
# shellcheck disable=SC1091
. "${CD_EC2_STATE:-/run/clusterdeck-ec2}/env"
# ansible-core (from PyPI, in a cached virtualenv) for the pipeline hook test's real playbook.
bash scripts/engines/ansible.sh install
# shellcheck disable=SC1091
. "${CD_ANSIBLE_STATE:-/run/clusterdeck-ansible}/env"
# A standalone 3-member etcd cluster for the quorum tests.
bash scripts/engines/etcd.sh up
# shellcheck disable=SC1091
. "${CD_ETCD_STATE:-/run/clusterdeck-etcd}/env"
# The EC2 tests choose their identity by profile; credentials in the caller's environment
# would be found first and must not leak into them.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL

step "format"
cargo fmt --all -- --check

step "wall soak (10 minutes, in the background)"
# The soak (10 minutes of --wall on a churning demo cluster and on the swarm, memory sampled)
# only reads, so it disturbs nothing: it starts as soon as it is built and runs beside the
# lint, the build and the suite.
soaklog="$logs/soak.log"
cargo test --locked --test wall_soak --no-run
setsid cargo test --locked --test wall_soak -- --nocapture >"$soaklog" 2>&1 &
soak_pid=$!

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --test wall_soak --locked -- -D warnings

step "build the tests"
cargo test --workspace --locked --all-targets --no-run

step "kubernetes"
wait "$kube_build" || { cat "$logs/kube-install.log"; echo "building the test control plane failed"; exit 1; }
kube_build=
cat "$logs/kube-install.log"
# A control plane (kube-apiserver, controller-manager, scheduler built from the official Go
# modules into ~/.cache/clusterdeck/kube, etcd with TLS client certificates, kwok's nodes).
bash scripts/engines/kube.sh up
# shellcheck disable=SC1091
. "${CD_KUBE_STATE:-/run/clusterdeck-kube}/env"

step "tests"
log="$logs/test.log"
set +e
cargo test --workspace --locked --all-targets --no-fail-fast 2>&1 | tee "$log"
main_rc=${PIPESTATUS[0]}
step "waiting for the wall soak (pid $soak_pid)"
wait "$soak_pid"
soak_rc=$?
soak_pid=
set -e
tee -a "$log" <"$soaklog"

step "summary"
# Each test binary with its time, slowest first.
awk '/^ *Running /{name=$2} /^test result:/{for (i=1;i<=NF;i++) if ($i=="in") t=$(i+1); printf "%8s  %s\n", t, name}' "$log" |
  sort -rn | head -40
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "$passed passed, $failed failed in $((SECONDS - t0))s"
[ "$main_rc" = 0 ] && [ "$soak_rc" = 0 ] || { echo "tests failed (suite $main_rc, soak $soak_rc)"; exit 1; }
