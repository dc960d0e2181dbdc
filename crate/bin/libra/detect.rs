//! `libra detect`: detections in image files as JSON, optionally drawn into PNGs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::data::read_image_file;
use libra_rcnn::infer::detect;
use libra_rcnn::kernels::KernelPlan;

use super::draw::draw_detections;

/// Prints the detections scoring at least `score` in each of `images` as one JSON array; with
/// `out`, draws them into a PNG (`out` itself for one image, `out/NNNN.png` for several). The
/// model runs on `dev` as `plan` says.
pub fn run(model: &Path, images: &[PathBuf], out: Option<&Path>, score: f32, dev: &Device, plan: &KernelPlan) -> Result<()> {
    let model = checkpoint::load(model, dev)?.with_kernels(plan.clone());
    if images.is_empty() {
        bail!("no images given");
    }
    if let (Some(dir), true) = (out, images.len() > 1) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut all = Vec::new();
    for (i, path) in images.iter().enumerate() {
        let mut img = read_image_file(path)?;
        let dets: Vec<_> = pollster::block_on(detect(&model, &img))?.into_iter().filter(|d| d.score >= score).collect();
        if let Some(out) = out {
            draw_detections(&mut img, &dets, 2);
            let target = if images.len() == 1 { out.to_path_buf() } else { out.join(format!("{i:04}.png")) };
            img.save(&target).with_context(|| format!("writing {}", target.display()))?;
        }
        all.push(serde_json::json!({ "image": path, "detections": dets }));
    }
    println!("{}", serde_json::to_string_pretty(&all)?);
    Ok(())
}
