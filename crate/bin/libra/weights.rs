//! `libra weights`: fetches, verifies, converts and caches the ImageNet MobileNetV2 backbone.

use anyhow::Result;
use burn::tensor::Device;
use libra_rcnn::weights::{cache_dir, pretrained_backbone};

/// Prints the path of the cached converted weights (fetching them first if needed).
pub fn run(dev: &Device) -> Result<()> {
    let path = pretrained_backbone(&cache_dir(), dev)?;
    println!("{}", path.display());
    Ok(())
}
