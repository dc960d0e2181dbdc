//! The page's wasm: the detector library built for `wasm32-unknown-unknown` (release) and
//! wasm-bindgen's JS glue, in one place whatever the environment says.

use std::path::PathBuf;
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
    /// wasm-bindgen's output: `libra_rcnn.js` and the published wasm (`assets`).
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
pub fn build(layout: &Layout) -> Result<()> {
    ensure_target()?;
    eprintln!("building the page's wasm (release) in {} ...", layout.target.display());
    run(Command::new(cargo())
        .current_dir(&layout.root)
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
