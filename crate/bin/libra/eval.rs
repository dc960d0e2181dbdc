//! `libra eval`: COCO-style AP of a checkpoint on a dataset.

use std::path::Path;

use anyhow::{Result, bail};
use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::infer::evaluate_samples;
use libra_rcnn::kernels::KernelPlan;

use super::report::{print_header, print_report};
use super::source::{self, Source};

/// Evaluates the checkpoint at `model` on `data` (with the checkpoint's classes) on `dev` as
/// `plan` says, and prints its AP.
pub fn run(model: &Path, data: &Source, dev: &Device, plan: &KernelPlan) -> Result<()> {
    let model = checkpoint::load(model, dev)?.with_kernels(plan.clone());
    let loaded = source::load(data, &model.config, Some(&model.config.classes))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    if loaded.samples.is_empty() {
        bail!("no images could be loaded to evaluate on");
    }
    let r = pollster::block_on(evaluate_samples(&model, &loaded.samples, 4))?;
    print_header();
    print_report("AP", &r);
    Ok(())
}
