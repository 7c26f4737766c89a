#!/usr/bin/env bash
# Starts (creating it the first time) a throw-away PostgreSQL cluster for the tests, listening on
# 127.0.0.1 only, with trust authentication for local TCP. Installs Debian's postgresql if it is
# missing. Prints the admin URL on its last line. Fails, never skips, when PostgreSQL cannot start.
# With --standby: also a streaming standby of it (pg_basebackup, on DOORSTEP_PG_STANDBY_PORT,
# 55433), for the read-replica tests; prints the standby's URL instead.
set -euo pipefail
port="${DOORSTEP_PG_PORT:-55432}"
name=doorstep-test

if ! command -v pg_createcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "pg: installing postgresql" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
  # The package starts its own "main" cluster on localhost; the tests do not use it.
  for v in /usr/lib/postgresql/*; do $SUDO pg_ctlcluster "$(basename "$v")" main stop 2>/dev/null || true; done
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)

if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$name"; then
  pg_createcluster -p "$port" "$version" "$name" -- --auth-local=trust --auth-host=trust >&2
  # conf.d is read after postgresql.conf, so these settings win.
  cat > "/etc/postgresql/$version/$name/conf.d/doorstep-test.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 200
fsync = on
CONF
fi
if ! pg_lsclusters -h | awk -v n="$name" '$2 == n {print $4}' | grep -qx online; then
  pg_ctlcluster "$version" "$name" start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "pg: PostgreSQL did not start on 127.0.0.1:$port" >&2; exit 1; }
if [ "${1:-}" != "--standby" ]; then
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  exit 0
fi

standby=doorstep-standby
sport="${DOORSTEP_PG_STANDBY_PORT:-55433}"
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$standby"; then
  # Debian's tools make the cluster (its settings in /etc), then its data is replaced by a copy
  # of the primary that keeps replaying its WAL (-R writes standby.signal and the connection).
  pg_createcluster -p "$sport" "$version" "$standby" -- --auth-local=trust --auth-host=trust >&2
  # A hot standby needs at least the primary's connections.
  cat > "/etc/postgresql/$version/$standby/conf.d/doorstep-test.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 200
hot_standby = on
CONF
  dir="/var/lib/postgresql/$version/$standby"
  rm -rf "$dir"
  install -d -o postgres -g postgres -m 0700 "$dir"
  runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$port" -U postgres -D "$dir" -R -X stream >&2
fi
if ! pg_lsclusters -h | awk -v n="$standby" '$2 == n {print $4}' | grep -q online; then
  pg_ctlcluster "$version" "$standby" start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$sport" && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$sport" || { echo "pg: the standby did not start on 127.0.0.1:$sport" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$sport/postgres"
