//! The page's wasm: the detector library built for `wasm32-unknown-unknown` (release) and
//! wasm-bindgen's JS glue, in one place whatever the environment says. Two builds: the page's
//! (WebGPU and the CPU on one thread) in `pkg/`, and the CPU on every core (`threads`: wasm
//! atomics, std rebuilt by the nightly toolchain, no WebGPU) in `pkg/threads/`, which the page
//! loads for its CPU path where it is cross-origin isolated.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::assets;

/// The checkout and where the page's builds go, as cargo answers in the current directory: the
/// workspace root (the page's files), and `<cargo's target dir>/wasm` (so `CARGO_TARGET_DIR` or
/// `build.target-dir` are followed) with the wasm-bindgen output in `pkg/` below it. Its own
/// directory because cargo locks a target directory for a whole build. Asked at run time, not
/// baked in at compile time: a page tool built from another checkout serves this one.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The workspace root: `index.html`, `web/`.
    pub root: PathBuf,
    /// `--target-dir` of the wasm build.
    pub target: PathBuf,
    /// wasm-bindgen's output: `libra_rcnn.js` and the published wasm (`assets`); the threaded
    /// build's in its `threads/` folder.
    pub pkg: PathBuf,
}

impl Layout {
    /// The layout of the workspace around the current directory.
    pub fn find() -> Result<Self> {
        let out = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
            .output()
            .context("running cargo metadata (run this inside the project's checkout)")?;
        if !out.status.success() {
            bail!("cargo metadata failed (run this inside the project's checkout): {}", String::from_utf8_lossy(&out.stderr));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata's JSON")?;
        let dir = |key: &str| meta[key].as_str().map(PathBuf::from).with_context(|| format!("cargo metadata gave no {key}"));
        let target = dir("target_directory")?.join("wasm");
        Ok(Self { root: dir("workspace_root")?, pkg: target.join("pkg"), target })
    }
}

/// The threaded build's folder under `pkg/` (`web/worker-host.js` loads it from there).
pub const THREADS: &str = "threads";

/// Flags of the threaded build: wasm atomics with flex's SIMD128 kernels, and a shared memory
/// (imported, so that every thread's instance gets the same one; up to 4 GiB; it must declare
/// a maximum) with the thread-local storage symbols wasm-bindgen's thread support needs. Since
/// nightly-2025-10-03 rustc no longer links a shared memory for `+atomics` by itself
/// (rust-lang/rust#147225): without these link flags the memory cannot be sent to the workers.
const THREADS_RUSTFLAGS: &[&str] = &[
    "-C",
    "target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128",
    "-C",
    "link-arg=--shared-memory",
    "-C",
    "link-arg=--import-memory",
    "-C",
    "link-arg=--max-memory=4294967296",
    "-C",
    "link-arg=--export=__wasm_init_tls",
    "-C",
    "link-arg=--export=__tls_size",
    "-C",
    "link-arg=--export=__tls_align",
    "-C",
    "link-arg=--export=__tls_base",
];

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Adds the `wasm32-unknown-unknown` target with rustup where it is missing.
fn ensure_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output().context("running rustup (is Rust installed with rustup?)")?;
    if !String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// Builds both of the page's wasm builds (release) and publishes them; cargo rebuilds only
/// what changed. Without the nightly toolchain the threaded build is left out, with a warning:
/// the page's CPU path then runs on one thread and says so.
pub fn build(layout: &Layout) -> Result<()> {
    ensure_target()?;
    eprintln!("building the page's wasm (release) in {} ...", layout.target.display());
    run(Command::new(cargo())
        .current_dir(&layout.root)
        .args(["build", "-p", "libra-rcnn", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&layout.target))?;
    bindgen(&layout.target.join("wasm32-unknown-unknown/release/libra_rcnn.wasm"), &layout.pkg, "")?;
    let threads = layout.pkg.join(THREADS);
    if !nightly_ready()? {
        eprintln!("warning: no nightly Rust toolchain (`rustup toolchain install nightly --component rust-src`): the page's CPU path will run on one thread");
        if threads.exists() {
            std::fs::remove_dir_all(&threads).with_context(|| format!("removing the stale {}", threads.display()))?;
        }
        return Ok(());
    }
    let target = layout.target.with_file_name("wasm-threads");
    eprintln!("building the page's threaded CPU wasm (release, nightly) in {} ...", target.display());
    run(Command::new("rustup")
        .current_dir(&layout.root)
        .args(["run", "nightly", "cargo", "build", "-p", "libra-rcnn", "--lib", "--release", "--target", "wasm32-unknown-unknown"])
        .args(["--no-default-features", "--features", "threads", "-Z", "build-std=panic_abort,std", "--target-dir"])
        .arg(&target)
        // Replaces every other source of flags (RUSTFLAGS, the config's +simd128) for this build.
        .env("CARGO_ENCODED_RUSTFLAGS", THREADS_RUSTFLAGS.join("\x1f")))?;
    bindgen(&target.join("wasm32-unknown-unknown/release/libra_rcnn.wasm"), &threads, " (threads)")
}

/// wasm-bindgen (`--target web`) on `wasm` into `pkg`, then publishes the wasm there (hashed,
/// compressed).
fn bindgen(wasm: &Path, pkg: &Path, which: &str) -> Result<()> {
    std::fs::create_dir_all(pkg).with_context(|| format!("creating {}", pkg.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .typescript(false)
        // `LIBRA_WASM_NAMES=1` keeps the function names for profiles (tests/kernels/profile-page.mjs).
        .remove_name_section(std::env::var_os("LIBRA_WASM_NAMES").is_none_or(|v| v != "1"))
        .remove_producers_section(true)
        .omit_default_module_path(false)
        .generate(pkg)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;
    let p = assets::publish(pkg)?;
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!("the page's wasm{which}: {} ({:.1} MB; {:.1} MB brotli, {:.1} MB gzip)", pkg.join(&p.file).display(), mb(p.bytes), mb(p.brotli), mb(p.gzip));
    Ok(())
}

/// Whether rustup has a nightly toolchain; adds its `rust-src` (std's sources, which the
/// threaded build compiles) where missing.
fn nightly_ready() -> Result<bool> {
    let Ok(out) = Command::new("rustup").args(["component", "list", "--installed", "--toolchain", "nightly"]).output() else { return Ok(false) };
    if !out.status.success() {
        return Ok(false);
    }
    if !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim().starts_with("rust-src")) {
        run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))?;
    }
    Ok(true)
}
