#!/usr/bin/env bash
# Runs the channel and select stress tests under ThreadSanitizer.
# Needs the nightly toolchain with rust-src: rustup component add --toolchain nightly rust-src
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
exec cargo +nightly test -Zbuild-std --target "$target" --target-dir target/tsan \
    -p hoare --release --lib --test stress --test select_stress -- "$@"
