#!/usr/bin/env bash
# API conformance: schemathesis (pinned, from PyPI, in a venv under target/) against the real
# server's /api/openapi.json, with every check, authenticated. Fails on any server error or any
# response the published schema does not allow.
#
# Every check schemathesis has runs (`--checks all`), in every phase (coverage, fuzzing, stateful).
# scripts/schemathesis.toml says, operation by operation, which answers other than 2xx a valid
# request may get and why (none for the phone's writes; never a 5xx), and widens the list of
# refusals of invalid input by 413; scripts/schemathesis_hooks.py teaches the generator the rules
# across parameters that JSON Schema cannot state (date ranges run forwards; a phone's push names
# its own device and carries records the domain accepts). No operation is left out.
#
# The server is the real `doorstep serve --demo --public-aggregates` (the Hà Tĩnh tree, the demo
# accounts, households and 2,880 visits synced by the demo's simulated phones), on a free port of
# 127.0.0.1, with a fresh SQLite database in a temporary folder; stopped on exit.
#
# Environment:
#   DOORSTEP_BIN            the built server (target/debug/doorstep); built here when unset.
#   SCHEMATHESIS_EXAMPLES   test cases per operation and phase (default 25; more for a long run).
#   SCHEMATHESIS_SEED       the random seed (default: a new one each run, printed; set it to
#                           replay a run).
#   DOORSTEP_TEST_PG        a PostgreSQL admin URL (postgres://user@127.0.0.1:port/postgres): run
#                           again on a fresh database there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"

version=4.32.5
venv="$root/target/schemathesis/venv"
examples="${SCHEMATHESIS_EXAMPLES:-25}"
seed="${SCHEMATHESIS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"

# schemathesis, pinned; installed once.
if [ "$("$venv/bin/st" --version 2>/dev/null || true)" != "st, version $version" ]; then
  echo "== installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

if [ -z "${DOORSTEP_BIN:-}" ]; then
  echo "== building the server (DOORSTEP_BIN unset)"
  cargo build --quiet -p doorstep --bin doorstep
  DOORSTEP_BIN="$root/target/debug/doorstep"
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

json_field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\\1/"; }

# schemathesis, every check, against the running server with one bearer token; extra arguments
# select the operations.
st_run() {
  local label="$1" part="$2" token="$3"
  shift 3
  echo "== [$label/$part] schemathesis $version: every check, $examples examples per operation, seed $seed"
  PYTHONPATH="$root/scripts" PYTHONDONTWRITEBYTECODE=1 SCHEMATHESIS_HOOKS=schemathesis_hooks \
    "$venv/bin/st" --config-file "$root/scripts/schemathesis.toml" run "$url/api/openapi.json" "$@" \
    --header "Authorization: Bearer $token" \
    --checks all --max-examples "$examples" --seed "$seed" \
    --report junit --report-dir "$root/target/schemathesis/report-$label-$part"
}

# One run against a database URL; returns schemathesis's exit code.
run_against() {
  local db="$1" label="$2"
  local out="$work/$label.out"
  echo "== [$label] starting the server on $db"
  RUST_LOG=warn "$DOORSTEP_BIN" serve --demo --public-aggregates --db "$db" --listen 127.0.0.1:0 \
    >"$out" 2>"$work/$label.err" &
  server_pid=$!
  url=
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^doorstep listening on //p' "$out")
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$label.err" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the server did not start" >&2; return 1; }
  # The demo's phones sync their visits first, so that the endpoints answer with data.
  for _ in $(seq 1 1800); do
    grep -q '^Demo ready' "$out" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$label.err" >&2; return 1; }
    sleep 0.1
  done
  grep '^Demo ready' "$out" || { echo "the demo did not finish syncing" >&2; return 1; }

  login() {
    curl -fsS -H 'content-type: application/json' \
      -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$url/api/v1/auth/login" | json_field token
  }
  # Staff endpoints: the demo admin (the whole province). Logout gets a session of its own, or
  # its first call would sign out every other request.
  local staff logout_token device
  staff=$(login admin.demo doorstep-demo-admin)
  logout_token=$(login admin.demo doorstep-demo-admin)
  # Device endpoints: a phone enrolled for the demo volunteer, as on the day.
  local code device_id enrolled volunteer_id
  code=$(curl -fsS -H 'content-type: application/json' -H "authorization: Bearer $staff" \
    -d '{"volunteer":"tinhnguyen.namha"}' "$url/api/v1/enrolments" | json_field code)
  device_id=$(cat /proc/sys/kernel/random/uuid)
  enrolled=$(curl -fsS -H 'content-type: application/json' \
    -d "{\"code\":\"$code\",\"device_id\":\"$device_id\"}" "$url/api/v1/enrol")
  device=$(json_field device_token <<<"$enrolled")
  volunteer_id=$(json_field volunteer_id <<<"$enrolled")
  if [ ${#staff} != 64 ] || [ ${#logout_token} != 64 ] || [ ${#device} != 64 ] || [ ${#volunteer_id} != 36 ]; then
    echo "could not sign in or enrol the device" >&2
    return 1
  fi

  # One token per run: schemathesis 4.32 keeps one HTTP session per worker thread, made with the
  # headers of the first operation it tests, so per-operation headers in its configuration leak
  # to every operation. Device endpoints, staff endpoints and the sign-out each get a run.
  # The phones' operations (GET /api/v1/photos is the leaders' list, POST registers a phone's).
  local device_ops='^(GET|POST) /api/v1/sync/|^GET /api/v1/devices/me$|^POST /api/v1/photos$|^PATCH /api/v1/photos/'
  local rc=0
  # The phones first: the staff run may find the device (GET /api/v1/devices) and revoke it.
  # The hooks make the phone's valid writes a phone's own (its device, its volunteer, its commune,
  # 18073 Nam Hà, the demo volunteer's assignment), so they must be accepted.
  (
    export DOORSTEP_ST_DEVICE_ID="$device_id" DOORSTEP_ST_VOLUNTEER_ID="$volunteer_id" DOORSTEP_ST_AREA=18073
    st_run "$label" device "$device" --include-name-regex "$device_ops"
  ) || rc=$?
  st_run "$label" staff "$staff" --exclude-name-regex "$device_ops|^POST /api/v1/auth/logout$" || rc=$?
  # Its first call ends its own session; the later ones are refused with the documented 401.
  st_run "$label" logout "$logout_token" --include-path /api/v1/auth/logout || rc=$?
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  return "$rc"
}

status=0
run_against "sqlite:$work/server.db" sqlite || status=$?
if [ -n "${DOORSTEP_TEST_PG:-}" ]; then
  name="doorstep_st_$(date +%s)_$$"
  psql -X -q -d "$DOORSTEP_TEST_PG" -c "CREATE DATABASE $name"
  pg_rc=0
  run_against "${DOORSTEP_TEST_PG%/*}/$name" postgres || pg_rc=$?
  psql -X -q -d "$DOORSTEP_TEST_PG" -c "DROP DATABASE $name WITH (FORCE)" || true
  [ "$pg_rc" = 0 ] || status=$pg_rc
fi
if [ "$status" = 0 ]; then
  echo "schemathesis.sh: every check passed (seed $seed)"
else
  echo "schemathesis.sh: FAILED (seed $seed; SCHEMATHESIS_SEED=$seed replays the run)" >&2
fi
exit "$status"
