#!/usr/bin/env bash
# The field app's desktop packages, for the agencies and schools that log visitors on a desk
# computer (Tauri's bundler):
#   scripts/package.sh          release build, then target/release/bundle/deb/Doorstep_*.deb
#                               (and the AppImage with --appimage: Tauri fetches linuxdeploy from
#                               GitHub for it, so it needs that network)
#   scripts/package.sh --ci     the .deb of the debug build already made, installed here with apt
#                               and checked (binary, launcher in Vietnamese, doorstep:// links);
#                               scripts/test.sh then drives the installed app through WebDriver
# Install a package on a desk computer: sudo apt install ./Doorstep_0.1.0_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
tauri=ui/node_modules/.bin/tauri
[ -x "$tauri" ] || (cd ui && npm ci --no-audit --no-fund)

case "${1:-}" in
  --ci)
    "$tauri" bundle --debug --bundles deb
    deb=$(ls target/debug/bundle/deb/Doorstep_*_amd64.deb)
    apt-get install -y --no-install-recommends "./$deb" >/dev/null
    test -x /usr/bin/doorstep-app
    desktop=/usr/share/applications/Doorstep.desktop
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
    echo "usage: scripts/package.sh [--ci | --appimage]" >&2
    exit 2
    ;;
esac
