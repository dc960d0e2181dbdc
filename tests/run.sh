#!/usr/bin/env bash
# Runs every test of the project: the page's JavaScript unit tests, the Rust unit and
# integration tests natively (flex CPU backend), then the page's release wasm build and the
# browser tests (headless Chromium, WebGPU on SwiftShader and the CPU fallback) against
# `libra serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build directory as `cargo run --bin libra -- serve` unless CARGO_TARGET_DIR says otherwise.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
done
[ -x /usr/bin/chromium ] || { echo "error: /usr/bin/chromium is missing (Debian: apt-get install -y chromium)" >&2; exit 1; }
# The page's pure JavaScript (dataset geometry, undo, COCO/VOC conversion): seconds, so first.
node --test tests/unit/
cargo test
# The benchmark must keep compiling (it is run by hand, see README).
cargo bench --profile dev --bench detector --no-run
# The page: release wasm (adds the wasm32 target if missing) + wasm-bindgen, as `libra serve` does.
cargo run --quiet --bin libra -- serve --build-only
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
mkdir -p tests/artifacts
node --test --test-concurrency=1 tests/browser/
