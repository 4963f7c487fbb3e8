#!/usr/bin/env bash
# Two local EC2 API servers (moto) on loopback, for clusterdeck's EC2 backend tests.
#
# moto (pinned below, from PyPI) lives in a virtualenv under $CD_CACHE (default
# ~/.cache/clusterdeck), built once and reused. Two moto_server processes run detached:
#   open   127.0.0.1:5055  no authentication: any key id and secret are accepted
#   auth   127.0.0.1:5056  IAM authentication and authorization enforced for every request
#                          after the setup calls this script makes (moto's
#                          INITIAL_NO_AUTH_ACTION_COUNT): users 'reader' (inline policy
#                          ec2:Describe* only) and 'operator' (ec2:*), one access key each.
# Both are in-memory, account 123456789012; instances go to their new state at once.
#
# Usage: ec2.sh up | down | reset | status | env | install
#   up       build the virtualenv when missing, start both servers, create the IAM users on the
#            auth server, write $STATE/env (sourceable) and print a one-line summary; a no-op
#            when both servers already run and answer
#   down     stop the two servers by their recorded pids and remove $STATE (safe at any time)
#   reset    wipe all state of both servers without restarting them (POST /moto-api/reset),
#            then create the IAM users again (new keys) and rewrite $STATE/env
#   status   whether each server runs and answers (exit 1 when one does not)
#   env      print $STATE/env
#   install  only build the virtualenv
#
# STATE defaults to /run/clusterdeck-ec2 (override with CD_EC2_STATE); ports with
# CD_EC2_PORT / CD_EC2_AUTH_PORT; the interpreter for the virtualenv with CD_EC2_PYTHON.
# Traffic goes only to loopback (and to PyPI while the virtualenv is built).
set -euo pipefail

export ENGINE_NAME=ec2
# shellcheck source=scripts/engines/lib.sh
. "$(dirname "$(readlink -f "$0")")/lib.sh"

STATE=${CD_EC2_STATE:-/run/clusterdeck-ec2}
STATE=${STATE%/}
CACHE=${CD_CACHE:-$HOME/.cache/clusterdeck}
CACHE=${CACHE%/}
VENV=$CACHE/moto-venv
VENV_LOG=$CACHE/moto-venv.log
# Pinned so every machine runs the same server; bump both together (boto3 pins its botocore).
MOTO_REQ='moto[server,ec2,iam]==5.2.5'
BOTO3_REQ='boto3==1.44.5'
HOST=127.0.0.1
OPEN_PORT=${CD_EC2_PORT:-5055}
AUTH_PORT=${CD_EC2_AUTH_PORT:-5056}
REGION=us-west-1
# The auth server answers this many requests unchecked: exactly the setup calls in iam_setup.
SETUP_CALLS=6
START_WAIT=${CD_EC2_START_WAIT:-60}

# ---------------------------------------------------------------------------------------------
# virtualenv

base_python() {
  if [ -n "${CD_EC2_PYTHON:-}" ]; then
    echo "$CD_EC2_PYTHON"
  elif [ -x /usr/bin/python3 ]; then
    echo /usr/bin/python3 # Debian's, not a pyenv shim that may change under us
  else
    command -v python3 || true
  fi
}

venv_ok() {
  [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/moto_server" ] &&
    [ "$(cat "$VENV/.clusterdeck-requirements" 2>/dev/null)" = "$MOTO_REQ $BOTO3_REQ" ] &&
    "$VENV/bin/python" -c 'import moto, boto3' >/dev/null 2>&1
}

ensure_venv() {
  mkdir -p "$CACHE"
  # One builder at a time (two 'up' in parallel share the cache).
  exec 8>"$CACHE/moto-venv.lock"
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
  log "building $VENV ($MOTO_REQ, $BOTO3_REQ); log: $VENV_LOG"
  # A virtualenv cannot be moved (its scripts name their interpreter by absolute path), so it
  # is built in place; the requirements stamp is written last, so a broken build is redone.
  rm -rf "$VENV"
  local t0=$SECONDS rc=0
  {
    echo "---- $(date -Is) build with $py ($("$py" --version 2>&1))"
    "$py" -m venv "$VENV" &&
      "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q "$MOTO_REQ" "$BOTO3_REQ"
  } >>"$VENV_LOG" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$VENV_LOG" >&2 || true
    die "building the moto virtualenv failed (exit $rc); log: $VENV_LOG"
  fi
  echo "$MOTO_REQ $BOTO3_REQ" >"$VENV/.clusterdeck-requirements"
  venv_ok || die "the moto virtualenv is unusable after building it; log: $VENV_LOG"
  log "virtualenv built in $((SECONDS - t0))s"
  exec 8>&- # unlocks; the servers must not inherit it
}

# ---------------------------------------------------------------------------------------------
# servers

server_pid() { # server_pid NAME : prints the pid of server NAME (open|auth) when it runs
  local pid
  pid=$(read_pid "$STATE/$1.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then echo "$pid"; fi
}

port_of() { if [ "$1" = open ]; then echo "$OPEN_PORT"; else echo "$AUTH_PORT"; fi; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# http_answers PORT : moto's own API answers (GET /moto-api/config: cheap, and not an AWS
# action, so never counted against the auth server's unchecked setup calls, never denied).
http_answers() {
  local port=$1 line
  line=$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/$HOST/$port" || exit 1
    printf 'GET /moto-api/config HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$HOST" "$port" >&3
    timeout 5 head -n 1 <&3
  ) || return 1
  [[ $line == "HTTP/1."?" 2"* ]]
}

start_server() { # start_server NAME [ENV=VALUE...] : launch moto_server detached (no wait)
  local name=$1 port
  shift
  port=$(port_of "$name")
  echo "---- start $(date -Is)" >>"$STATE/$name.log"
  # setsid execs (a background job of a script is no group leader), env execs, and the
  # moto_server script runs in the venv's python: $! is the server's own pid.
  setsid env "$@" "$VENV/bin/moto_server" -H "$HOST" -p "$port" \
    </dev/null >>"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

wait_server() { # wait_server NAME : until it answers; dies with its log tail
  local name=$1 port end
  port=$(port_of "$name")
  end=$(($(date +%s) + START_WAIT))
  while ! http_answers "$port"; do
    if [ -z "$(server_pid "$name")" ]; then
      tail -n 30 "$STATE/$name.log" >&2 || true
      die "moto_server '$name' exited at start; log: $STATE/$name.log"
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      tail -n 30 "$STATE/$name.log" >&2 || true
      die "moto_server '$name' did not answer on http://$HOST:$port within ${START_WAIT}s; log: $STATE/$name.log"
    fi
    sleep 0.2
  done
}

stop_servers() {
  local name pid
  for name in open auth; do
    pid=$(server_pid "$name")
    if [ -n "$pid" ]; then
      log "stopping moto_server '$name' pid $pid"
      stop_pid "$pid" 10 || die "moto_server '$name' (pid $pid) did not stop"
    fi
    rm -f "$STATE/$name.pid"
  done
}

moto_api_post() { # moto_api_post PORT PATH BODY : POST to moto's own API, expect 200
  "$VENV/bin/python" - "http://$HOST:$1$2" "$3" <<'EOF'
import sys, urllib.request
# Not form-encoded: moto reads the raw body (Flask would parse a form and leave it empty).
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST",
                             headers={"Content-Type": "text/plain"})
with urllib.request.urlopen(req, timeout=30) as r:
    assert r.status == 200, r.status
EOF
}

# iam_setup : on the auth server, still answering unchecked, create the two users with their
# policies and keys (exactly SETUP_CALLS requests), then check that authorization is now
# enforced. Prints the env lines for the keys.
iam_setup() {
  "$VENV/bin/python" - "http://$HOST:$AUTH_PORT" "$REGION" "$SETUP_CALLS" <<'EOF' 2>>"$STATE/setup.log"
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, region, setup_calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
# No retries: every request the server sees counts against its unchecked setup calls.
cfg = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)
def client(service, key="AKIAIOSFODNN7EXAMPLE", secret="setup"):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, config=cfg,
                        aws_access_key_id=key, aws_secret_access_key=secret)

iam = client("iam")
calls = 0
keys = {}
for user, actions in (("reader", ["ec2:Describe*"]), ("operator", ["ec2:*"])):
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=f"clusterdeck-{user}",
                        PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName=user)["AccessKey"]
    calls += 3
    keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
assert calls == setup_calls, f"made {calls} setup calls, the server expects {setup_calls}"

# From here on every request is checked.
def code(fn):
    try:
        fn()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]
reader = client("ec2", *keys["reader"])
operator = client("ec2", *keys["operator"])
bogus = client("ec2", "AKIAIOSFODNN7BOGUS00", "bogus")
got = {
    "reader describe": code(lambda: reader.describe_instances()),
    "reader stop dry-run": code(lambda: reader.stop_instances(InstanceIds=["i-0123456789abcdef0"], DryRun=True)),
    "operator stop dry-run": code(lambda: operator.stop_instances(InstanceIds=["i-0123456789abcdef0"], DryRun=True)),
    "bogus describe": code(lambda: bogus.describe_instances()),
}
want_ok = {"reader describe": "ok", "operator stop dry-run": "DryRunOperation"}
bad = [f"{k}: {v}" for k, v in got.items()
       if (k in want_ok and v != want_ok[k]) or (k not in want_ok and v in ("ok", "DryRunOperation"))]
print(f"checks: {got}", file=sys.stderr)
if bad:
    sys.exit(f"authorization is not enforced as expected: {bad}")
for user in ("reader", "operator"):
    u = user.upper()
    print(f"export CD_EC2_{u}_KEY_ID='{keys[user][0]}'")
    print(f"export CD_EC2_{u}_SECRET='{keys[user][1]}'")
EOF
}

write_env() { # write_env KEY_LINES
  local f="$STATE/env"
  {
    echo "# written by scripts/engines/ec2.sh; source it"
    echo "export CD_EC2_STATE='$STATE'"
    echo "export CD_EC2_ENDPOINT='http://$HOST:$OPEN_PORT'"
    echo "export CD_EC2_AUTH_ENDPOINT='http://$HOST:$AUTH_PORT'"
    echo "export CD_EC2_REGION='$REGION'"
    echo "$1"
    echo "export CD_EC2_OPEN_PIDFILE='$STATE/open.pid'"
    echo "export CD_EC2_AUTH_PIDFILE='$STATE/auth.pid'"
    echo "export CD_EC2_VENV='$VENV'"
    echo "export CD_EC2_SCRIPT='$(readlink -f "$0")'"
    # Tests pick their identity by profile; the instance metadata service is off limits.
    echo "export AWS_SHARED_CREDENTIALS_FILE='$STATE/aws/credentials'"
    echo "export AWS_CONFIG_FILE='$STATE/aws/config'"
    echo "export AWS_EC2_METADATA_DISABLED=true"
  } >"$f.tmp"
  write_profiles "$1"
  mv "$f.tmp" "$f"
}

# Profiles for the tests: cd-open (any key works on the open server), cd-reader and
# cd-operator (the IAM users of the auth server), cd-bogus (a key no server knows), and
# cd-nocreds (a region and no credentials at all).
write_profiles() { # write_profiles KEY_LINES
  mkdir -p "$STATE/aws"
  (
    eval "$1"
    umask 077
    cat >"$STATE/aws/credentials" <<EOF2
[cd-open]
aws_access_key_id = AKIAOPENSERVERTEST01
aws_secret_access_key = open-server-any-secret

[cd-reader]
aws_access_key_id = $CD_EC2_READER_KEY_ID
aws_secret_access_key = $CD_EC2_READER_SECRET

[cd-operator]
aws_access_key_id = $CD_EC2_OPERATOR_KEY_ID
aws_secret_access_key = $CD_EC2_OPERATOR_SECRET

[cd-bogus]
aws_access_key_id = AKIABOGUSBOGUSBOGUS1
aws_secret_access_key = not-a-real-secret
EOF2
    {
      for p in cd-open cd-reader cd-operator cd-bogus cd-nocreds; do
        printf '[profile %s]\nregion = %s\n\n' "$p" "$REGION"
      done
    } >"$STATE/aws/config"
  )
}

setup_auth_and_env() {
  local keys
  keys=$(iam_setup) || {
    tail -n 20 "$STATE/setup.log" >&2 || true
    die "setting up IAM users on the auth server failed; log: $STATE/setup.log"
  }
  write_env "$keys"
}

both_up() {
  [ -n "$(server_pid open)" ] && [ -n "$(server_pid auth)" ] && [ -s "$STATE/env" ] &&
    http_answers "$OPEN_PORT" && http_answers "$AUTH_PORT"
}

summary() {
  echo "ec2 $1 in $(elapsed)s: moto ${MOTO_REQ##*==} open http://$HOST:$OPEN_PORT (pid $(server_pid open)), auth http://$HOST:$AUTH_PORT (pid $(server_pid auth); users reader, operator), region $REGION; source $STATE/env"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
  # shellcheck disable=SC2154
  trap 'rc=$?; [ $rc = 0 ] || log "up failed (exit $rc); logs under $STATE; clean up with: $0 down"' EXIT
  ensure_venv
  if both_up; then
    log "already up"
    summary "already up"
    return 0
  fi
  if [ -d "$STATE" ]; then
    log "cleaning leftovers of an earlier run"
    stop_servers
    rm -rf "$STATE"
  fi
  local port
  for port in "$OPEN_PORT" "$AUTH_PORT"; do
    if port_open "$port"; then
      die "$HOST:$port is already in use by a process this script did not start"
    fi
  done
  mkdir -p "$STATE"
  log "starting moto_server open on :$OPEN_PORT and auth on :$AUTH_PORT"
  start_server open
  start_server auth INITIAL_NO_AUTH_ACTION_COUNT="$SETUP_CALLS"
  wait_server open
  wait_server auth
  log "servers answer; IAM users on the auth server"
  setup_auth_and_env
  log "up"
  summary up
}

cmd_down() {
  if [ -d "$STATE" ]; then
    stop_servers
    rm -rf "$STATE"
  fi
  log "down"
  echo "ec2 down in $(elapsed)s"
}

cmd_reset() {
  both_up || die "not up (run '$0 up')"
  moto_api_post "$OPEN_PORT" /moto-api/reset "" || die "resetting the open server failed"
  moto_api_post "$AUTH_PORT" /moto-api/reset "" || die "resetting the auth server failed"
  # Unchecked again for exactly the setup calls (this also zeroes moto's request counter).
  moto_api_post "$AUTH_PORT" /moto-api/reset-auth "$SETUP_CALLS" || die "re-arming auth failed"
  setup_auth_and_env
  log "reset"
  summary reset
}

cmd_status() {
  local name pid port rc=0
  for name in open auth; do
    pid=$(server_pid "$name")
    port=$(port_of "$name")
    if [ -z "$pid" ]; then
      echo "$name: not running"
      rc=1
    elif http_answers "$port"; then
      echo "$name: running, pid $pid, http://$HOST:$port answers"
    else
      echo "$name: running, pid $pid, but http://$HOST:$port does not answer"
      rc=1
    fi
  done
  return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
reset) cmd_reset ;;
status) cmd_status ;;
env) cat "$STATE/env" ;;
install) ensure_venv ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
