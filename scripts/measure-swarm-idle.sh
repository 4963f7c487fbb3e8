#!/usr/bin/env bash
# Idle cost of the console against the real swarm: Engine API requests per minute (counted in
# the managers' dockerd debug logs) and the console's CPU time and peak RSS over an idle window,
# with a 200-task service. Usage: scripts/measure-swarm-idle.sh [SECONDS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW="${1:-300}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clusterdeck/target}"
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null
command -v tmux >/dev/null || apt-get install -y tmux >/dev/null
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/clusterdeck"
STATE="${CD_SWARM_STATE:-/run/clusterdeck-swarm}"
[ -f "$STATE/env" ] || bash scripts/engines/swarm.sh up
# shellcheck disable=SC1091
. "$STATE/env"
D="docker -H $CD_SWARM_N1_SOCK"
$D service rm idle200 >/dev/null 2>&1 || true
$D service create --detach --name idle200 --replicas 200 "$CD_IMAGE_REPO:1" >/dev/null
echo "waiting for 200 running tasks…"
for _ in $(seq 1 120); do
  n=$($D service ls --filter name=idle200 --format '{{.Replicas}}')
  [ "$n" = "200/200" ] && break
  sleep 2
done
echo "idle200: $n"
TMP=$(mktemp -d)
cat > "$TMP/config.toml" <<CFG
[[contexts]]
name = "lab"
docker = { hosts = ["$CD_SWARM_N1_SOCK", "$CD_SWARM_N2_SOCK", "$CD_SWARM_N3_SOCK"] }
CFG
before=$(cat "$CD_SWARM_N1_LOG" "$CD_SWARM_N2_LOG" "$CD_SWARM_N3_LOG" | grep -c 'Calling ' || true)
tmux -L measure new-session -d -s idle -x 200 -y 50 \
  "/usr/bin/time -v -o $TMP/time.txt $BIN --config $TMP/config.toml --audit-log $TMP/audit.jsonl"
sleep 15   # start-up and first snapshot are not idle
start=$(cat "$CD_SWARM_N1_LOG" "$CD_SWARM_N2_LOG" "$CD_SWARM_N3_LOG" | grep -c 'Calling ' || true)
sleep "$WINDOW"
end=$(cat "$CD_SWARM_N1_LOG" "$CD_SWARM_N2_LOG" "$CD_SWARM_N3_LOG" | grep -c 'Calling ' || true)
tmux -L measure send-keys -t idle q
sleep 3
tmux -L measure kill-server 2>/dev/null || true
req=$((end - start))
echo "window: ${WINDOW}s idle after 15 s start-up; requests at start-up: $((start - before))"
echo "API requests in the window: $req ($(awk "BEGIN{printf \"%.1f\", $req*60/$WINDOW}") per minute)"
grep -E 'Maximum resident|User time|System time|Elapsed' "$TMP/time.txt"
$D service rm idle200 >/dev/null
