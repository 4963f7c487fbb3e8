#!/usr/bin/env bash
# Whole-process figures for docs/performance.md: peak resident memory, CPU time, and the bytes
# written to the terminal while nobody touches a key.
#
# Builds the release binary, then runs it in a detached 200x50 tmux window (a real pseudo-
# terminal) under /usr/bin/time -v, for each case below:
#
#   scale10k   --demo-scale 10000             (about 1,000 nodes, 10,000 replicas, 2,000 instances)
#   demo       --demo                         (3 managers, 9 workers, about 25 services)
#   audit-ro   --demo --read-only, Audit pane (key 7): a pane that shows no ages
#   wall10k    --wall --demo-scale 10000     (the wall display, rotating every 15 s)
#
# Each run lasts RUN_SECS (default 20): SETTLE_SECS (default 5) to start and settle, then an
# IDLE_SECS (default 10) window in which every byte the console writes is captured with
# `tmux pipe-pane`, then `q`. The process is only ever killed (by its own pid) if `q` did not
# end it within 10 s.
#
# Usage: scripts/measure-rss.sh [case...]      (default: all three)
# Env:   CARGO_TARGET_DIR, RUN_SECS, SETTLE_SECS, IDLE_SECS, KEEP=1 (keep the work directory)
set -euo pipefail

cd "$(dirname "$0")/.."
RUN_SECS=${RUN_SECS:-20}
SETTLE_SECS=${SETTLE_SECS:-5}
IDLE_SECS=${IDLE_SECS:-10}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$TARGET_DIR/release/clusterdeck

for tool in tmux /usr/bin/time; do
    if ! command -v "$tool" >/dev/null; then
        echo "measure-rss: $tool is missing (apt-get install tmux time)" >&2
        exit 1
    fi
done

cargo build --release --bin clusterdeck

WORK=$(mktemp -d)
# A tmux server of our own, so no session of the user's is touched.
SOCK="clusterdeck-rss-$$"
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    if [[ -n ${KEEP:-} ]]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# run_case NAME KEYS ARGS...: KEYS (may be empty) are typed once the console is up.
run_case() {
    local name=$1 keys=$2
    shift 2
    local dir=$WORK/$name
    mkdir -p "$dir/config" "$dir/state"
    local cmd
    cmd=$(printf '%q ' env \
        XDG_CONFIG_HOME="$dir/config" XDG_STATE_HOME="$dir/state" \
        CLUSTERDECK_AUDIT_LOG="$dir/audit.jsonl" \
        /usr/bin/time -v -o "$dir/time.txt" "$BIN" "$@")
    tmux -L "$SOCK" new-session -d -s "$name" -x 200 -y 50 "$cmd"
    local shell_pid
    shell_pid=$(tmux -L "$SOCK" display-message -p -t "$name" '#{pane_pid}')
    sleep 2
    if [[ -n $keys ]]; then
        tmux -L "$SOCK" send-keys -t "$name" "$keys"
    fi
    sleep "$((SETTLE_SECS - 2))"

    # The console's own pid (child of /usr/bin/time), for /proc figures and a last-resort stop.
    local time_pid app_pid
    time_pid=$(pgrep -P "$shell_pid" -x time || echo "$shell_pid")
    app_pid=$(pgrep -P "$time_pid" -x clusterdeck || true)

    : >"$dir/idle.out"
    tmux -L "$SOCK" pipe-pane -t "$name" -o "cat >> '$dir/idle.out'"
    sleep "$IDLE_SECS"
    tmux -L "$SOCK" pipe-pane -t "$name"
    local rss_now=""
    if [[ -n $app_pid && -r /proc/$app_pid/status ]]; then
        rss_now=$(awk '/^VmRSS:/ {print $2}' "/proc/$app_pid/status")
    fi
    sleep "$((RUN_SECS - SETTLE_SECS - IDLE_SECS > 0 ? RUN_SECS - SETTLE_SECS - IDLE_SECS : 0))"

    tmux -L "$SOCK" send-keys -t "$name" q
    # The wall asks before quitting.
    if [[ " $* " == *" --wall "* ]]; then
        sleep 0.5
        tmux -L "$SOCK" send-keys -t "$name" y
    fi
    local waited=0
    while tmux -L "$SOCK" has-session -t "$name" 2>/dev/null; do
        sleep 0.5
        waited=$((waited + 1))
        if ((waited == 20)) && [[ -n $app_pid ]]; then
            echo "measure-rss: $name did not quit on q; stopping pid $app_pid" >&2
            kill "$app_pid" 2>/dev/null || true
        fi
        if ((waited > 40)); then
            echo "measure-rss: $name still running; giving up" >&2
            return 1
        fi
    done

    local bytes
    bytes=$(stat -c %s "$dir/idle.out")
    awk -v name="$name" -v args="$*" -v bytes="$bytes" -v idle="$IDLE_SECS" -v rss_now="$rss_now" '
        /Maximum resident set size/ { rss = $NF }
        /User time \(seconds\)/ { user = $NF }
        /System time \(seconds\)/ { sys = $NF }
        /Elapsed \(wall clock\) time/ { wall = $NF }
        /Exit status/ { status = $NF }
        END {
            printf "%-9s %s\n", name, args
            printf "  max RSS          %8.1f MB (%d kB)\n", rss / 1024, rss
            if (rss_now != "") printf "  RSS after idle   %8.1f MB\n", rss_now / 1024
            printf "  CPU user+sys     %8.2f s (user %.2f, sys %.2f) over %s wall\n", user + sys, user, sys, wall
            printf "  idle output      %8d bytes in %d s = %.0f B/s\n", bytes, idle, bytes / idle
            printf "  exit status      %s\n", status
        }' "$dir/time.txt"
}

cases=("$@")
if ((${#cases[@]} == 0)); then
    cases=(scale10k demo audit-ro)
fi
for c in "${cases[@]}"; do
    case $c in
    scale10k) run_case scale10k "" --demo-scale 10000 ;;
    demo) run_case demo "" --demo ;;
    audit-ro) run_case audit-ro 7 --demo --read-only ;;
    wall10k) run_case wall10k "" --wall --demo-scale 10000 ;;
    *)
        echo "measure-rss: unknown case $c (scale10k, demo, audit-ro, wall10k)" >&2
        exit 2
        ;;
    esac
done
