//! `libra sampling`: what the R-CNN samplers (random, IoU-balanced) pick on one image, as JSON
//! (the page's sampling view).

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::data::read_image_file;
use libra_rcnn::kernels::KernelPlan;
use libra_rcnn::sampling_view::sampling_view;

/// Prints the sampling view of `image` with GT `boxes` (JSON `[[x1, y1, x2, y2], ...]`, image
/// pixels), drawn with `seed`; the model runs on `dev` as `plan` says.
pub fn run(model: &Path, image: &Path, boxes: &str, seed: u32, dev: &Device, plan: &KernelPlan) -> Result<()> {
    let model = checkpoint::load(model, dev)?.with_kernels(plan.clone());
    let gt: Vec<[f32; 4]> = serde_json::from_str(boxes).context("--boxes must be JSON like [[x1, y1, x2, y2], ...]")?;
    let img = read_image_file(image)?;
    let view = pollster::block_on(sampling_view(&model, &img, &gt, seed.into()))?;
    println!("{}", serde_json::to_string(&view)?);
    Ok(())
}
