//! The page's wasm: the detector library built for `wasm32-unknown-unknown` (release) and
//! wasm-bindgen's JS glue, in one place whatever the environment says.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::assets;

/// Where the page's builds go: `<cargo's target dir>/wasm` (cargo's own answer, so
/// `CARGO_TARGET_DIR` or `build.target-dir` are followed) with the wasm-bindgen output in
/// `pkg/` below it. Its own directory because cargo locks a target directory for a whole build.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `--target-dir` of the wasm build.
    pub target: PathBuf,
    /// wasm-bindgen's output: `libra_rcnn.js` and the published wasm (`assets`).
    pub pkg: PathBuf,
}

impl Layout {
    pub fn of(root: &Path) -> Result<Self> {
        let target = cargo_target_dir(root)?.join("wasm");
        Ok(Self { pkg: target.join("pkg"), target })
    }
}

/// `target_directory` from `cargo metadata` run in `root`.
fn cargo_target_dir(root: &Path) -> Result<PathBuf> {
    let out = Command::new(cargo())
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata's JSON")?;
    let dir = meta["target_directory"].as_str().context("cargo metadata gave no target_directory")?;
    Ok(PathBuf::from(dir))
}

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

/// Builds the detector library for wasm32 (release), runs wasm-bindgen (`--target web`) on it
/// into `layout.pkg` and publishes the wasm there (hashed, compressed); cargo rebuilds only
/// what changed.
pub fn build(root: &Path, layout: &Layout) -> Result<()> {
    ensure_target()?;
    eprintln!("building the page's wasm (release) in {} ...", layout.target.display());
    run(Command::new(cargo())
        .current_dir(root)
        .args(["build", "-p", "libra-rcnn", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&layout.target))?;
    let wasm = layout.target.join("wasm32-unknown-unknown/release/libra_rcnn.wasm");
    std::fs::create_dir_all(&layout.pkg).with_context(|| format!("creating {}", layout.pkg.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .omit_default_module_path(false)
        .generate(&layout.pkg)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;
    let p = assets::publish(&layout.pkg)?;
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!("the page's wasm: {} ({:.1} MB; {:.1} MB brotli, {:.1} MB gzip)", layout.pkg.join(&p.file).display(), mb(p.bytes), mb(p.brotli), mb(p.gzip));
    Ok(())
}
