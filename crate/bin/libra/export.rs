//! `libra export`: rewrites a checkpoint, optionally with f16 weights or as safetensors.

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;
use libra_rcnn::checkpoint;

/// Loads `model` and saves it to `out` (`.safetensors` or `.lrc`; `half`: f16 weights).
pub fn run(model: &Path, out: &Path, half: bool, dev: &Device) -> Result<()> {
    let m = checkpoint::load(model, dev)?;
    checkpoint::save(&m, out, half)?;
    println!("wrote {} ({} bytes)", out.display(), std::fs::metadata(out)?.len());
    Ok(())
}
