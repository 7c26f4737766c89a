#!/usr/bin/env bash
# Doorstep's packages.
#
# The server, for a province's IT office (packaging/debian/ holds its units and settings):
#   scripts/package.sh                 release build with the dashboard embedded, then
#                                      target/debian/doorstep_VERSION_amd64.deb
#   scripts/package.sh --ci            the same package from the debug build already made, installed
#                                      here with dpkg -i and checked: systemd-analyze verify on its
#                                      units, the first admin made as the package's user, the unit's
#                                      ExecStart run as that user, a sign-in to the dashboard it
#                                      serves, an account added while it runs, the backup unit's
#                                      ExecStart, then removal (the database stays)
# Install it: sudo apt install ./doorstep_0.1.0_amd64.deb (docs/DEPLOY.md goes on from there).
#
# The field app's desktop package, for the agencies and schools that log visitors on a desk
# computer (Tauri's bundler; the package is doorstep-field):
#   scripts/package.sh app             release build, then target/release/bundle/deb/*.deb
#   scripts/package.sh app --appimage  and the AppImage (Tauri fetches linuxdeploy from GitHub for
#                                      it, so it needs that network)
#   scripts/package.sh app --ci        the .deb of the debug build already made, installed here with
#                                      apt and checked (binary, launcher in Vietnamese, doorstep://
#                                      links); scripts/test.sh then drives the installed app
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
served=""

# The server's .deb from target/$1/doorstep (xz for a release; quick gzip for the debug build CI
# installs and removes at once).
server_deb() {
  local profile=$1 root=target/debian/root compress=(-Zxz)
  [ "$profile" = debug ] && compress=(-Zgzip -z1)
  local deb="target/debian/doorstep_${version}_amd64.deb"
  rm -rf "$root" && mkdir -p "$root/DEBIAN"
  install -Dm0755 "target/$profile/doorstep" "$root/usr/bin/doorstep"
  # A release ships without its debug information (185 MB installed with it, as Debian strips).
  [ "$profile" = release ] && strip --strip-debug "$root/usr/bin/doorstep"
  for unit in doorstep.service doorstep-backup.service doorstep-backup.timer; do
    install -Dm0644 "packaging/debian/$unit" "$root/lib/systemd/system/$unit"
  done
  install -Dm0640 packaging/debian/doorstep.toml "$root/etc/doorstep/doorstep.toml"
  # The area trees and the campaign, for the first import (docs/DEPLOY.md).
  install -d "$root/usr/share/doorstep/areas" "$root/usr/share/doorstep/campaigns"
  install -m0644 data/areas/*.json "$root/usr/share/doorstep/areas/"
  install -m0644 data/campaigns/*.json "$root/usr/share/doorstep/campaigns/"
  install -d "$root/usr/share/doc/doorstep"
  install -m0644 README.md CHANGELOG.md docs/DEPLOY.md docs/UPGRADE.md docs/metrics.md "$root/usr/share/doc/doorstep/"
  install -m0644 docs/grafana-dashboard.json docs/prometheus.yml "$root/usr/share/doc/doorstep/"
  install -m0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
  echo /etc/doorstep/doorstep.toml > "$root/DEBIAN/conffiles"
  # The libraries the binary links, as Debian names them.
  local depends
  depends=$(mkdir -p "$root/debian" && touch "$root/debian/control" &&
    cd "$root" && dpkg-shlibdeps -O usr/bin/doorstep 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
  rm -rf "$root/debian"
  cat > "$root/DEBIAN/control" <<EOF
Package: doorstep
Version: $version
Architecture: amd64
Maintainer: Doorstep <doorstep@localhost>
Section: net
Priority: optional
Depends: adduser, ${depends:-libc6}
Installed-Size: $(du -sk "$root" | cut -f1)
Homepage: https://doorstep.invalid/
Description: door-to-door public-health campaign server
 Doorstep's server: the volunteers' phones sync their visits to it, exactly
 once; team leaders and committees run their people, follow coverage on the
 map and download the daily report from the dashboard it serves.
 .
 Runs as the doorstep user under systemd (doorstep.service), settings in
 /etc/doorstep/doorstep.toml, data in /var/lib/doorstep, a daily backup
 (doorstep-backup.timer), figures for Prometheus at /metrics.
EOF
  mkdir -p target/debian
  dpkg-deb --build --root-owner-group "${compress[@]}" "$root" "$deb" >/dev/null
  echo "$deb"
}

# Installs the server's package on this machine and checks it as IT would use it.
server_check() {
  local deb=$1
  dpkg -i "$deb" >/dev/null
  trap 'kill "$served" 2>/dev/null || true; dpkg --purge doorstep >/dev/null 2>&1 || true; rm -rf /var/lib/doorstep' EXIT
  getent passwd doorstep >/dev/null
  test "$(stat -c '%U:%G %a' /var/lib/doorstep)" = "doorstep:doorstep 750"
  test "$(stat -c '%U:%G %a' /etc/doorstep/doorstep.toml)" = "root:doorstep 640"
  systemd-analyze verify /lib/systemd/system/doorstep.service /lib/systemd/system/doorstep-backup.service \
    /lib/systemd/system/doorstep-backup.timer
  /usr/bin/doorstep config check /etc/doorstep/doorstep.toml >/dev/null
  as_doorstep() { runuser -u doorstep -- env RUST_LOG=warn "$@"; }
  # The first admin, as docs/DEPLOY.md says (the server is not running yet).
  as_doorstep doorstep admin --config /etc/doorstep/doorstep.toml import-areas \
    /usr/share/doorstep/areas/ha-tinh-2020-three-tier.json >/dev/null
  echo package-check-1 | as_doorstep doorstep admin --config /etc/doorstep/doorstep.toml \
    create-user --username it-admin --role admin --area 42 >/dev/null
  # The unit's own ExecStart line, as its user, on a free port (the variable beats the file).
  local exec port
  exec=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/doorstep.service)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd /var/lib/doorstep && DOORSTEP_LISTEN="127.0.0.1:$port" runuser -u doorstep -- $exec >/dev/null 2>&1) &
  served=$!
  local url="http://127.0.0.1:$port" ready=""
  for _ in $(seq 1 100); do
    if curl -fsS "$url/readyz" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.2
  done
  test -n "$ready" || { echo "package: the installed server never became ready" >&2; exit 1; }
  curl -fsS "$url/" | grep -q '<div id="app"' || { echo "package: no dashboard at /" >&2; exit 1; }
  local token
  token=$(curl -fsS -H 'content-type: application/json' -d '{"username":"it-admin","password":"package-check-1"}' \
    "$url/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -fsS -H "authorization: Bearer $token" "$url/api/v1/auth/me" | grep -q '"it-admin"'
  # Administration while it runs: through the server's admin socket, as its user.
  echo package-check-2 | as_doorstep doorstep admin --config /etc/doorstep/doorstep.toml \
    create-user --username it-leader --role leader --area 436 >/dev/null
  curl -fsS -H 'content-type: application/json' -d '{"username":"it-leader","password":"package-check-2"}' \
    "$url/api/v1/auth/login" >/dev/null
  # The backup unit's ExecStart while the server runs: a copy appears in the backups folder.
  exec=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/doorstep-backup.service)
  (cd /var/lib/doorstep && runuser -u doorstep -- env RUST_LOG=warn $exec >/dev/null)
  ls /var/lib/doorstep/backups/doorstep-*.db >/dev/null
  kill "$served"; wait "$served" 2>/dev/null || true
  # Removed, the database stays.
  dpkg -r doorstep >/dev/null
  test -s /var/lib/doorstep/doorstep.db
  echo "package: $deb ($(du -h "$deb" | cut -f1)) installed, units verified, served as doorstep on :$port, signed in, administered while running, backed up, removed with its data kept"
}

app_deb() {
  local tauri=ui/node_modules/.bin/tauri
  [ -x "$tauri" ] || (cd ui && npm ci --no-audit --no-fund)
  case "${1:-}" in
    --ci)
      "$tauri" bundle --debug --bundles deb
      local deb
      deb=$(ls target/debug/bundle/deb/*_amd64.deb)
      apt-get install -y --no-install-recommends "./$deb" >/dev/null
      test -x /usr/bin/doorstep-app
      local desktop
      desktop=$(dpkg -L doorstep-field | grep '/usr/share/applications/.*\.desktop$')
      grep -q '^Name=Doorstep — Thăm hộ gia đình$' "$desktop"
      # The system hands enrolment links from the leaders' cards to the app.
      grep -q '^MimeType=x-scheme-handler/doorstep$' "$desktop"
      echo "package: installed $deb ($(du -h "$deb" | cut -f1)); launcher and doorstep:// links registered"
      ;;
    --appimage)
      (cd ui && npm run build)
      "$tauri" build --bundles deb,appimage
      ls -l target/release/bundle/deb/*.deb target/release/bundle/appimage/*.AppImage
      ;;
    "")
      (cd ui && npm run build)
      "$tauri" build --bundles deb
      ls -l target/release/bundle/deb/*.deb
      ;;
    *)
      echo "usage: scripts/package.sh app [--ci | --appimage]" >&2
      exit 2
      ;;
  esac
}

case "${1:-}" in
  "")
    (cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build:dashboard)
    touch crates/server/build.rs
    cargo build --release --locked -p doorstep
    server_deb release
    ;;
  --ci)
    server_check "$(server_deb debug)"
    ;;
  app)
    shift
    app_deb "${1:-}"
    ;;
  *)
    echo "usage: scripts/package.sh [--ci] | scripts/package.sh app [--ci | --appimage]" >&2
    exit 2
    ;;
esac
