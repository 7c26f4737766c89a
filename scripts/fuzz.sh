#!/usr/bin/env bash
# Fuzzing: builds the cargo-fuzz targets in fuzz/ and runs each for FUZZ_SECONDS from the
# committed seed corpus (fuzz/corpus/<target>/). Fails if a target crashes (a panic, a failed
# check, a hang past 10 s, more than 2 GiB of memory) or was not run. docs/RELIABILITY.md has the
# figures of the last long run.
#
#   scripts/fuzz.sh                          # every target, 30 s each (the CI-sized run)
#   FUZZ_SECONDS=600 scripts/fuzz.sh         # the long run
#   FUZZ_TARGETS="push_zstd" FUZZ_JOBS=2 scripts/fuzz.sh   # some targets; two at a time
#   FUZZ_CODEGEN_UNITS=1 FUZZ_SECONDS=600 scripts/fuzz.sh  # the long run, built for speed
#   FUZZ_PHASE=build scripts/fuzz.sh         # only build (the test suite does it in the background)
#   FUZZ_PHASE=run scripts/fuzz.sh           # only run what was built
#
# Stable Rust only, so the targets are built with `--sanitizer none`: cargo-fuzz's other
# sanitizers need -Zsanitizer (nightly), and the code fuzzed is safe Rust (zstd's C library is
# not instrumented by the Rust flags either way). Panics, overflows (debug assertions are on),
# hangs and memory blow-ups are still caught. The build has its own target folder, fuzz/target.
# A crash's input is saved in fuzz/artifacts/<target>/; replay it with
# `fuzz/target/<host triple>/release/<target> fuzz/artifacts/<target>/<file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0

seconds=${FUZZ_SECONDS:-30}
# cargo-fuzz builds each crate as one codegen unit by default (the fastest targets, the slowest
# build); 16 lets both cores work on the server's large crates: on this 2-core machine the build
# took 496 s instead of 552 s, while other builds ran beside it. The long run may ask for 1.
units=${FUZZ_CODEGEN_UNITS:-16}
jobs=${FUZZ_JOBS:-1}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_JOBS must be a whole number" >&2; exit 2; }
[[ "$units" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_CODEGEN_UNITS must be a whole number" >&2; exit 2; }
phase=${FUZZ_PHASE:-all}
case $phase in all | build | run) ;; *) echo "fuzz: FUZZ_PHASE is all, build or run" >&2; exit 2 ;; esac
started=$SECONDS

if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
  echo "== installing cargo-fuzz 0.13"
  # A debug build: cargo-fuzz only drives cargo and the targets, so optimising it buys nothing
  # and costs CI minutes on a fresh machine.
  cargo install cargo-fuzz --locked --debug --version '^0.13'
fi

# cargo-fuzz has no --locked: check the lock file first, so a stale one fails here as in the
# main workspace instead of being rewritten.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

mapfile -t all < <(cargo fuzz list)
((${#all[@]})) || { echo "fuzz: no fuzz target found in fuzz/Cargo.toml" >&2; exit 1; }
if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
  for t in "${targets[@]}"; do
    printf '%s\n' "${all[@]}" | grep -qx -- "$t" || { echo "fuzz: no target named $t (there are: ${all[*]})" >&2; exit 2; }
  done
else
  targets=("${all[@]}")
fi
for t in "${targets[@]}"; do
  compgen -G "fuzz/corpus/$t/*" >/dev/null || { echo "fuzz: $t has no seed corpus in fuzz/corpus/$t" >&2; exit 1; }
done

triple=$(rustc -vV | sed -n 's/^host: //p')
bin=fuzz/target/$triple/release
build_seconds=0
if [ "$phase" != run ]; then
  echo "== build: ${targets[*]} ($triple)"
  build_started=$SECONDS
  if [ -z "${FUZZ_TARGETS:-}" ]; then
    cargo fuzz build --sanitizer none --codegen-units "$units" --target "$triple"
  else
    for t in "${targets[@]}"; do cargo fuzz build --sanitizer none --codegen-units "$units" --target "$triple" "$t"; done
  fi
  build_seconds=$((SECONDS - build_started))
  echo "build: ${build_seconds} s"
fi
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz: $t was not built ($bin/$t is missing)" >&2; exit 1; }
done
[ "$phase" != build ] || exit 0

logs=fuzz/target/fuzz-logs
rm -rf "$logs"
mkdir -p "$logs"

# One run: the seeds are read from fuzz/corpus/<target> and never written; what the run adds
# goes to a scratch corpus under fuzz/target, new each run, so every run starts from the seeds.
# The binary is run as built: `cargo fuzz run` would first build again, and the server's build
# script reruns whenever the dashboard (ui/dist-dashboard) is not built, rebuilding the server.
run() {
  local t=$1 dict=fuzz/dict/push.dict scratch=fuzz/target/fuzz-corpus/$1
  case $t in area_* | buildings_*) dict=fuzz/dict/area.dict ;; esac
  rm -rf "$scratch"
  mkdir -p "$scratch" "fuzz/artifacts/$t"
  set +e
  "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -dict="$dict" -print_final_stats=1 "$scratch" "fuzz/corpus/$t" >"$logs/$t.log" 2>&1
  echo $? >"$logs/$t.status"
  set -e
}

echo "== run: ${targets[*]}, ${seconds} s each, ${jobs} at a time"
run_started=$SECONDS
pending=("${targets[@]}")
while ((${#pending[@]})); do
  pids=()
  for t in "${pending[@]:0:jobs}"; do
    run "$t" &
    pids+=($!)
  done
  pending=("${pending[@]:jobs}")
  for p in "${pids[@]}"; do wait "$p"; done
done
run_seconds=$((SECONDS - run_started))

failed=0
for t in "${targets[@]}"; do
  log=$logs/$t.log
  status=$(cat "$logs/$t.status" 2>/dev/null || echo missing)
  runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -1)
  took=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  [ -n "$final" ] || final=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$final")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$final")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/([^ ]+).*/\1 inputs, \2/p' <<<"$final")
  rate=$(sed -nE 's/^stat::average_exec_per_sec:[[:space:]]+([0-9]+).*/\1/p' "$log" | tail -1)
  rss=$(sed -nE 's/^stat::peak_rss_mb:[[:space:]]+([0-9]+).*/\1/p' "$log" | tail -1)
  if [ "$status" != 0 ]; then
    echo "FAIL $t: exit status $status (a crash, a failed check, a hang or out of memory); the end of $log:"
    grep -E 'panicked at|Test unit written to|ERROR: libFuzzer|SUMMARY' "$log" | head -5 || true
    tail -n 25 "$log"
    failed=1
  elif [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
    echo "FAIL $t: not run (no executions reported); see $log"
    tail -n 25 "$log"
    failed=1
  else
    echo "ok   $t: $runs executions in ${took} s (${rate:-?}/s), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}, peak RSS ${rss:-?} MB, 0 crashes"
  fi
done
if [ "$phase" = run ]; then
  echo "fuzz: runs ${run_seconds} s (built before, in the build phase)"
else
  echo "fuzz: build ${build_seconds} s, runs ${run_seconds} s, total $((SECONDS - started)) s"
fi
if ((failed)); then
  echo "fuzz: FAILED"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each; no crash"
