#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test of the workspace
# (unit, property and end-to-end through the real binary). Fails if any part fails or ran no test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build the doorstep binary the end-to-end tests drive"
cargo build --locked -p doorstep --bin doorstep
export DOORSTEP_BIN="$PWD/target/debug/doorstep"

echo "== cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast --no-tests=fail
