//! `libra ablation`: the paper's Table 2 (baseline, +IoU-balanced, +BFP, +Balanced L1), each row
//! trained from the same start with the same seed and budget.

use anyhow::{Result, bail};
use burn::tensor::Device;
use libra_rcnn::config::Balance;
use libra_rcnn::kernels::KernelPlan;

use super::TrainArgs;
use super::report::{print_header, print_report};
use super::train::{load_data, train_one};

/// Trains one model per row of [`Balance::TABLE2`] as `args` say on `dev` (with `plan`) and
/// prints their AP.
pub fn run(args: &TrainArgs, dev: &Device, plan: &KernelPlan) -> Result<()> {
    if args.init.is_some() {
        bail!("--init is for `train`: the ablation trains each row from the same start");
    }
    let mut base = args.preset_config()?;
    let input = args.input.unwrap_or(base.input_size);
    base.input_size = input;
    let data = load_data(args, &base)?;
    let mut rows = Vec::new();
    for (name, balance) in Balance::TABLE2 {
        let mut cfg = base.clone().with_balance(balance);
        cfg.classes = data.classes.clone();
        rows.push((name, train_one(&cfg, args, &data, dev, plan, name)?.1));
    }
    println!("Ablation ({} preset, {} steps, seed {}, {} train / {} val images)", args.preset, args.steps, args.seed, data.train.len(), data.val.len());
    print_header();
    for (name, r) in &rows {
        print_report(name, r);
    }
    Ok(())
}
