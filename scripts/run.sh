#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the server on its embedded SQLite with the
# demo campaign (Hà Tĩnh). Arguments are passed to `doorstep serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p doorstep --bin doorstep
exec target/release/doorstep serve --demo --db "sqlite:${DOORSTEP_DEMO_DB:-doorstep-demo.db}" "$@"
