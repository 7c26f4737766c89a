#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test of the workspace
# (unit and end-to-end through the real binary), the server's tests on SQLite and again on
# PostgreSQL. Fails if any part fails, ran no test, or PostgreSQL cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# A clean clone builds once; incremental caches would only take disk.
export CARGO_INCREMENTAL=0

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== the field app's UI and the dashboard: install (from the lock file), type-check, build, unit tests"
(cd ui && npm ci --no-audit --no-fund && npm run build && npm test && npm run build:dashboard && npm run test:dashboard)

echo "== the fuzz workspace's lock file is current (fuzz/ has its own; checked here, before the long passes)"
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build every target of the workspace once (the end-to-end tests drive the server and the field app binaries)"
# One selection (--workspace, all targets) for the build and both test passes, so cargo
# unifies features the same way each time and never builds a crate twice.
cargo build --workspace --all-targets --locked
export DOORSTEP_BIN="$PWD/target/debug/doorstep"
export DOORSTEP_APP_BIN="$PWD/target/debug/doorstep-app"

echo "== the fuzz targets: built in the background at the lowest priority while the tests run (their log: target/fuzz-build.log)"
# The tests wait on servers, browsers and timers for much of their run; the instrumented release
# build takes what CPU they leave, and `nice` keeps it from slowing them.
mkdir -p target
FUZZ_PHASE=build setsid nice -n 19 scripts/fuzz.sh >target/fuzz-build.log 2>&1 &
fuzz_build=$!
# Its own process group (setsid), stopped with everything it started if a step before it fails.
trap 'kill -- -"$fuzz_build" 2>/dev/null || true' EXIT

echo "== start the PostgreSQL test cluster (127.0.0.1 only)"
pg_url=$(scripts/pg-test-cluster.sh | tail -1)
# And a streaming standby of it, for the read replica (--db-read).
pg_standby=$(scripts/pg-test-cluster.sh --standby | tail -1)

echo "== cargo nextest: everything, the server on SQLite"
cargo nextest run --workspace --locked --no-fail-fast --no-tests=fail -E 'not binary(postgres)'

echo "== the desktop keyring: the app's database key in a real Secret Service (gnome-keyring on a private session bus)"
# Ignored in the passes above, which have no session bus; --no-tests=fail: it must run here.
dbus-run-session -- bash -c 'printf "doorstep-test\n" | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
    cargo nextest run --workspace --locked --no-fail-fast --no-tests=fail --run-ignored only \
        -E "package(doorstep-device) and test(/keyring/)"'

echo "== the server's package: the .deb installed with dpkg -i, its units verified, its ExecStart run as its user, signed in to"
# From the debug build the tests above drove (scripts/package.sh alone makes the release one).
scripts/package.sh --ci

echo "== the desktop package: the field app as a .deb, installed on this machine, started under Xvfb and enrolled"
# Bundled from the debug build the tests above drove; the installed /usr/bin/doorstep-app then
# runs the same WebDriver test.
scripts/package.sh app --ci
DOORSTEP_APP_BIN=/usr/bin/doorstep-app cargo nextest run --workspace --locked --no-fail-fast --no-tests=fail -E 'binary(app)'
dpkg -r doorstep-field >/dev/null

echo "== cargo nextest: the server's tests again on PostgreSQL, and the PostgreSQL-only tests (replicas, migration)"
# The app's end-to-end test ran in the first pass; its server side is the same on both.
DOORSTEP_TEST_PG="$pg_url" DOORSTEP_TEST_PG_STANDBY="$pg_standby" cargo nextest run --workspace --locked --no-fail-fast --no-tests=fail \
    -E 'package(doorstep-tests) and not binary(app)'

echo "== API conformance: schemathesis, every check, authenticated, on SQLite and on PostgreSQL"
# A fixed seed in CI, so a run is repeatable; the long run (docs/RELIABILITY.md) draws new ones.
DOORSTEP_TEST_PG="$pg_url" SCHEMATHESIS_SEED="${SCHEMATHESIS_SEED:-20200804}" scripts/schemathesis.sh

echo "== fuzzing: each cargo-fuzz target of the push decoder and the area importer, 30 s from the committed seeds, two at a time"
if ! wait "$fuzz_build"; then
  echo "fuzz: the build failed; its log:"
  tail -n 60 target/fuzz-build.log
  exit 1
fi
grep -E '^(== build|build:)' target/fuzz-build.log
FUZZ_PHASE=run FUZZ_JOBS=2 scripts/fuzz.sh
