//! `libra pyramid` and `libra attention`: the feature pyramid of one image and the non-local
//! block's attention in it, as JSON (the page's pyramid view).

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::data::read_image_file;
use libra_rcnn::kernels::KernelPlan;
use libra_rcnn::pyramid_view::{attention_map, pyramid_view};

/// Prints the FPN, BFP and balanced maps of `image`, each as channel energy or as `channel`; the
/// model runs on `dev` as `plan` says.
pub fn run(model: &Path, image: &Path, channel: Option<usize>, dev: &Device, plan: &KernelPlan) -> Result<()> {
    let model = checkpoint::load(model, dev)?.with_kernels(plan.clone());
    let img = read_image_file(image)?;
    let view = pollster::block_on(pyramid_view(&model, &img, channel))?;
    println!("{}", serde_json::to_string(&view)?);
    Ok(())
}

/// Prints the attention of the refine-level cell under image pixel (`x`, `y`) over that level;
/// the model runs on `dev` as `plan` says.
pub fn attention(model: &Path, image: &Path, x: f32, y: f32, dev: &Device, plan: &KernelPlan) -> Result<()> {
    let model = checkpoint::load(model, dev)?.with_kernels(plan.clone());
    let img = read_image_file(image)?;
    let map = pollster::block_on(attention_map(&model, &img, x, y))?;
    println!("{}", serde_json::to_string(&map)?);
    Ok(())
}
