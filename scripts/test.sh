#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test of the workspace
# (unit and end-to-end through the real binary), the server's tests on SQLite and again on
# PostgreSQL. Fails if any part fails, ran no test, or PostgreSQL cannot start.
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

echo "== start the PostgreSQL test cluster (127.0.0.1 only)"
pg_url=$(scripts/pg-test-cluster.sh | tail -1)

echo "== cargo nextest: everything, the server on SQLite"
cargo nextest run --workspace --locked --no-fail-fast --no-tests=fail -E 'not binary(postgres)'

echo "== cargo nextest: the server's tests again on PostgreSQL, and the PostgreSQL-only tests (replicas, migration)"
DOORSTEP_TEST_PG="$pg_url" cargo nextest run -p doorstep-tests --locked --no-fail-fast --no-tests=fail
