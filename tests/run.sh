#!/usr/bin/env bash
# Runs every test of the project: the page's JavaScript unit tests, the Rust unit and
# integration tests natively (flex CPU backend), then the page's release wasm build and the
# browser tests (headless Chromium, WebGPU on SwiftShader and the CPU fallback) against the
# page's server (`cargo serve`, crate/page).
set -euo pipefail
cd "$(dirname "$0")/.."
# Build output goes where cargo puts it (`target/`, or CARGO_TARGET_DIR), the page's wasm in
# its `wasm/` folder: the same place `cargo serve` uses, so nothing it built is built again.
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
done
[ -x /usr/bin/chromium ] || { echo "error: /usr/bin/chromium is missing (Debian: apt-get install -y chromium)" >&2; exit 1; }
# DeepForest's labelled aerial photos (PyPI deepforest 2.1.0, MIT; see NOTICE) for the
# fine-tuning test (tests/deepforest.rs), fetched once into the cache and checked.
CACHE="${LIBRA_CACHE:-$HOME/.cache/libra-rcnn}"
WHEEL="$CACHE/pypi/deepforest-2.1.0-py3-none-any.whl"
WHEEL_SHA256=8c2798d8e9be7f0004b194fe207b76c1d9fff6e711b3db67b9508dcd5d00ae54
if [ ! -f "$CACHE/deepforest/deepforest/data/OSBS_029.xml" ]; then
  command -v python3 >/dev/null || { echo "error: python3 (with pip) is needed to fetch DeepForest's sample data (Debian: apt-get install -y python3-pip)" >&2; exit 1; }
  [ -f "$WHEEL" ] || python3 -m pip download --no-deps -q -d "$CACHE/pypi" deepforest==2.1.0
  echo "$WHEEL_SHA256  $WHEEL" | sha256sum -c --quiet || { echo "error: $WHEEL is not the expected file (sha256 mismatch): delete it and run again" >&2; exit 1; }
  python3 -m zipfile -e "$WHEEL" "$CACHE/deepforest"
fi
export LIBRA_DEEPFOREST="$CACHE/deepforest/deepforest/data"
# StarDist's labelled micrograph of cell nuclei (PyPI stardist 0.9.2, BSD-3-Clause; see NOTICE),
# the fine-tuning bench's second real set; its reading is tested in tests/deepforest.rs. The
# wheels differ by platform, so one is named, and the two images inside are checked.
NUCLEI="$CACHE/stardist/stardist/data/images"
nuclei_ok() {
  sha256sum -c --quiet "$@" <<<"f9ccc1571b92c861ff87e28463068b43f61bd47357ed0503f711e5cd1eb97750  $NUCLEI/img2d.tif
59ad5e820b7982ca9d13e946fa6e7f64e2714899e00a2ae6c69aa79aad53d46f  $NUCLEI/mask2d.tif"
}
if ! nuclei_ok >/dev/null 2>&1; then
  python3 -m pip download --no-deps -q --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$CACHE/pypi" stardist==0.9.2
  python3 -m zipfile -e "$CACHE"/pypi/stardist-0.9.2-cp311-*.whl "$CACHE/stardist"
  nuclei_ok || { echo "error: StarDist's images under $NUCLEI are not the expected files: delete $CACHE/stardist and run again" >&2; exit 1; }
fi
export LIBRA_NUCLEI="$NUCLEI"
# The page's pure JavaScript (dataset geometry, undo, COCO/VOC conversion): seconds, so first.
node --test tests/unit/
# The Rust code is formatted as rustfmt.toml says (`cargo fmt` formats it).
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo fmt --check || { echo "error: the Rust code is not formatted: run \`cargo fmt\`" >&2; exit 1; }
# The detector and the page tool are tested one package at a time: a `--workspace` build would
# unify their dependencies' features and rebuild the detector's dependencies a second way.
cargo test -p libra-rcnn
cargo test -p libra-page
# The benchmark must keep compiling (it is run by hand, see README).
cargo bench --profile dev --bench detector --bench kernels --bench finetune --no-run
# The page: release wasm (adds the wasm32 target if missing) + wasm-bindgen, as `cargo serve` does.
cargo serve --build-only
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
mkdir -p tests/artifacts
node --test --test-concurrency=1 tests/browser/
# The page's features again on the static bundle (`cargo run -p libra-page -- bundle`) served by a
# plain static server below its root, as a host without special headers would serve it.
LIBRA_PAGE_SERVER=bundle node --test --test-concurrency=1 tests/browser/{dataset,sampling,pyramid,balanced-l1,model-cache,big-photo,train-runs}.test.mjs
