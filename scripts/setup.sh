#!/usr/bin/env bash
# Installs what Doorstep needs on Debian 12, idempotently: system packages, then Rust tools.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need_pkgs=()
# The field app (Tauri 2 on WebKitGTK) and its end-to-end test (Xvfb, WebKitWebDriver), and the
# dashboard's browser test (Chromium); the server's tests start PostgreSQL themselves
# (scripts/pg-test-cluster.sh installs it); python3-venv for the API conformance run (schemathesis);
# libdbus-1-dev for the desktop keyring (the Secret Service), and dbus and gnome-keyring to test it.
for p in build-essential pkg-config libssl-dev ca-certificates curl python3-venv \
  libwebkit2gtk-4.1-dev xvfb xauth webkit2gtk-driver chromium libdbus-1-dev dbus gnome-keyring; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    echo "setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  }
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# The workspace needs Rust 1.89 or newer (edition 2024, File::try_lock, rusqlite).
rust_minor=$(rustc --version | sed -E 's/rustc 1\.([0-9]+).*/\1/')
if [ "$rust_minor" -lt 89 ]; then
  echo "setup: Rust $(rustc --version) is too old; 1.89 or newer is needed (rustup update stable)" >&2
  exit 1
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver (WebDriver for the field app's end-to-end test)"
  cargo install tauri-driver --locked --version '^2'
fi

# The field app's UI is built with Vite 7, which needs Node 20.19 or newer.
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js is missing; install Node 20.19+ with npm (the machine image has it)" >&2
  exit 1
fi
node_version=$(node --version | sed 's/^v//')
node_major=${node_version%%.*}
node_minor=$(echo "$node_version" | cut -d. -f2)
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "setup: Node $node_version is too old; the UI build needs 20.19 or newer" >&2
  exit 1
fi
