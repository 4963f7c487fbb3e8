#!/usr/bin/env bash
# The wall's memory soak, by hand and for as long as you like:
#   scripts/soak.sh [MINUTES]      (default 60)
# Runs `clusterdeck --wall` on a churning --demo-scale 5000 cluster (and on the real swarm when
# scripts/engines/swarm.sh is up: source its env first), samples resident memory every 5 s,
# resizes the terminal every minute with a SIGWINCH storm every third, and fails if memory grows
# after the two-minute warm-up. The series is written to $CARGO_TARGET_DIR/soak/*.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clusterdeck/target}"
minutes="${1:-60}"
CLUSTERDECK_SOAK_SECS=$((minutes * 60)) exec cargo test --locked --test wall_soak -- --nocapture
