#!/usr/bin/env bash
# Ansible (ansible-core, pinned below, from PyPI) for clusterdeck's pipeline-hook tests: a real
# ansible-playbook run by a command hook against the test swarm.
#
# ansible-core lives in a virtualenv under $CD_CACHE (default ~/.cache/clusterdeck), built once
# and reused; nothing runs in the background.
#
# Usage: ansible.sh install | env
#   install  build the virtualenv when missing (or when the pin changed), then write $STATE/env
#            (sourceable: CD_ANSIBLE_PLAYBOOK, CD_ANSIBLE_VENV) and print a one-line summary
#   env      print $STATE/env
#
# STATE defaults to /run/clusterdeck-ansible (override with CD_ANSIBLE_STATE); the interpreter
# for the virtualenv with CD_ANSIBLE_PYTHON. Traffic goes only to PyPI while the virtualenv is
# built.
set -euo pipefail

export ENGINE_NAME=ansible
# shellcheck source=scripts/engines/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

STATE=${CD_ANSIBLE_STATE:-/run/clusterdeck-ansible}
STATE=${STATE%/}
CACHE=${CD_CACHE:-$HOME/.cache/clusterdeck}
CACHE=${CACHE%/}
VENV=$CACHE/ansible-venv
VENV_LOG=$CACHE/ansible-venv.log
# Pinned so every machine runs the same playbook engine. 2.19 is the newest line that still
# runs on Debian 12's Python 3.11 (2.20 needs 3.12).
ANSIBLE_REQ='ansible-core==2.19.14'

base_python() {
  if [ -n "${CD_ANSIBLE_PYTHON:-}" ]; then
    echo "$CD_ANSIBLE_PYTHON"
  elif [ -x /usr/bin/python3 ]; then
    echo /usr/bin/python3 # Debian's, not a pyenv shim that may change under us
  else
    command -v python3 || true
  fi
}

venv_ok() {
  [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/ansible-playbook" ] &&
    [ "$(cat "$VENV/.clusterdeck-requirements" 2>/dev/null)" = "$ANSIBLE_REQ" ] &&
    "$VENV/bin/ansible-playbook" --version >/dev/null 2>&1
}

ensure_venv() {
  mkdir -p "$CACHE"
  # One builder at a time (two installs in parallel share the cache).
  exec 8>"$CACHE/ansible-venv.lock"
  flock 8
  if venv_ok; then
    exec 8>&-
    return 0
  fi
  local py
  py=$(base_python)
  if [ -z "$py" ]; then
    ensure_packages python3 python3-venv
    py=/usr/bin/python3
  fi
  if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    [ "$py" = /usr/bin/python3 ] || die "$py cannot make a virtualenv (no venv/ensurepip module)"
    ensure_packages python3-venv
  fi
  log "building $VENV ($ANSIBLE_REQ); log: $VENV_LOG"
  # A virtualenv cannot be moved (its scripts name their interpreter by absolute path), so it
  # is built in place; the requirements stamp is written last, so a broken build is redone.
  rm -rf "$VENV"
  local t0=$SECONDS rc=0
  {
    echo "---- $(date -Is) build with $py ($("$py" --version 2>&1))"
    "$py" -m venv "$VENV" &&
      "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "$ANSIBLE_REQ"
  } >>"$VENV_LOG" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$VENV_LOG" >&2 || true
    die "building the ansible virtualenv failed (exit $rc); log: $VENV_LOG"
  fi
  echo "$ANSIBLE_REQ" >"$VENV/.clusterdeck-requirements"
  venv_ok || die "the ansible virtualenv is unusable after building it; log: $VENV_LOG"
  log "virtualenv built in $((SECONDS - t0))s"
  exec 8>&-
}

write_env() {
  local f="$STATE/env"
  mkdir -p "$STATE"
  {
    echo "# written by scripts/engines/ansible.sh; source it"
    echo "export CD_ANSIBLE_VENV='$VENV'"
    echo "export CD_ANSIBLE_PLAYBOOK='$VENV/bin/ansible-playbook'"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

cmd_install() {
  ensure_venv
  write_env
  echo "ansible installed in $(elapsed)s: ${ANSIBLE_REQ} in $VENV; source $STATE/env"
}

case "${1:-}" in
install) cmd_install ;;
env) cat "$STATE/env" ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
