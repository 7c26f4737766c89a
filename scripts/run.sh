#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the server on its embedded SQLite with the
# demo campaign (Hà Tĩnh) and its dashboard at http://127.0.0.1:8080/; where a display exists ($DISPLAY or $WAYLAND_DISPLAY), also open the
# field app against it, with a fresh enrolment code for the demo volunteer printed to type in.
# Arguments are passed to `doorstep serve`. DOORSTEP_NO_APP=1 runs the server alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The dashboard is embedded in the server: build it first.
(cd ui && npm ci --no-audit --no-fund && npm run build:dashboard)
cargo build --release -p doorstep --bin doorstep

listen="${DOORSTEP_LISTEN:-127.0.0.1:8080}"
server="http://$listen"
db="sqlite:${DOORSTEP_DEMO_DB:-doorstep-demo.db}"

if [ -n "${DOORSTEP_NO_APP:-}" ] || { [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; }; then
  [ -n "${DOORSTEP_NO_APP:-}" ] || echo "run: no display here; serving the demo only (the field app needs one)"
  exec target/release/doorstep serve --demo --db "$db" --listen "$listen" "$@"
fi

echo "run: building the field app (its UI, then the Tauri shell)"
(cd ui && npm run build)
cargo build -p doorstep-app --bin doorstep-app

target/release/doorstep serve --demo --db "$db" --listen "$listen" "$@" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fsS "$server/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done

# The demo's team leader issues a one-time code for the demo volunteer, as on the day.
token=$(curl -fsS -H 'content-type: application/json' \
  -d '{"username":"totruong.namha","password":"doorstep-demo-leader"}' "$server/api/v1/auth/login" |
  sed -E 's/.*"token":"([0-9a-f]+)".*/\1/')
code=$(curl -fsS -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"volunteer":"tinhnguyen.namha"}' "$server/api/v1/enrolments" |
  sed -E 's/.*"code":"([0-9A-Z-]+)".*/\1/')
echo
echo "Field app: enrol with server $server and code $code (volunteer tinhnguyen.namha, Phường Nam Hà)."
echo "The server keeps running after the app closes; Ctrl-C stops it."
echo

DOORSTEP_SERVER="$server" DOORSTEP_DATA_DIR="${DOORSTEP_APP_DATA:-doorstep-app-data}" target/debug/doorstep-app || true
wait "$server_pid"
