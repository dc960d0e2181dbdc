#!/usr/bin/env bash
# Runs every test of the project: the Rust unit and integration tests natively (flex CPU
# backend), then a build of the library for wasm32 (the page's target).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/libra-rcnn/target}"
if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
cargo test
# The benchmark must keep compiling (it is run by hand, see README).
cargo bench --profile dev --bench detector --no-run
# The wasm build has its own target dir: cargo locks a target dir for the whole of a build,
# and the native and wasm builds share no artifacts anyway.
cargo build --lib --target wasm32-unknown-unknown --target-dir "${CARGO_TARGET_DIR}-wasm"
echo "wasm32 build: ok"
