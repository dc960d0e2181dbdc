//! How well small data trains: the default model fine-tuned on DeepForest's tree-crown tiles
//! (`tests/common/deepforest.rs`) with each recipe variant, held-out AP50 and wall time at each
//! budget. `cargo bench --profile dev --bench finetune`; `LIBRA_FT_STEPS=150,300,600` (budgets:
//! one run to the largest, measured at each; the schedule is the largest's),
//! `LIBRA_FT_VARIANTS=hflip,augment,neck,heads` (which rows), `LIBRA_FT_SEEDS=0` (seeds; the
//! table gives each seed's AP50 and their mean). Times are training seconds so far.

#[path = "../tests/common/deepforest.rs"]
mod deepforest;

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::finetune::{FineTune, FineTuneOptions};
use libra_rcnn::train::Trainable;

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var).unwrap_or_else(|_| default.into()).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// The options of a variant: the page's defaults but for what its name changes.
fn variant(name: &str, steps: usize, seed: u64) -> FineTuneOptions {
    let base = FineTuneOptions { classes: vec!["tree".into()], steps, batch_size: 2, seed, ..Default::default() };
    match name {
        "hflip" => base,
        "augment" => FineTuneOptions { augment: true, ..base },
        "neck" => FineTuneOptions { trainable: Trainable::NeckAndHeads, ..base },
        "heads" => FineTuneOptions { trainable: Trainable::Heads, ..base },
        other => panic!("unknown variant {other}: expected hflip, augment, neck or heads"),
    }
}

fn main() {
    let budgets: Vec<usize> = list("LIBRA_FT_STEPS", "150,300,600").iter().map(|s| s.parse().expect("LIBRA_FT_STEPS: step counts")).collect();
    let seeds: Vec<u64> = list("LIBRA_FT_SEEDS", "0").iter().map(|s| s.parse().expect("LIBRA_FT_SEEDS: seeds")).collect();
    let steps = *budgets.iter().max().expect("a budget");
    let tiles = deepforest::tiles_of_trees();
    let held = tiles.iter().filter(|t| t.held_out).count();
    println!("DeepForest: {} training tiles, {held} held out; batch 2; budgets {budgets:?} (one run of {steps} steps, measured at each)", tiles.len() - held);
    println!("| variant | seed | {} |", budgets.iter().map(|b| format!("AP50 @ {b} (s)")).collect::<Vec<_>>().join(" | "));
    for name in list("LIBRA_FT_VARIANTS", "hflip,augment") {
        let mut sums = vec![0.0; budgets.len()];
        for &seed in &seeds {
            let device = Device::flex();
            device.seed(seed);
            let model = checkpoint::load(Path::new("web/models/default.lrc"), &device.clone().autodiff()).expect("default model");
            let mut ft = FineTune::new(model, &variant(&name, steps, seed)).expect("session");
            for t in &tiles {
                ft.add(&t.image, &t.ann, t.held_out).expect("tile");
            }
            let start = Instant::now();
            let mut evaluating = 0.0; // seconds spent measuring, left out of the times
            let mut cells = Vec::new();
            while !ft.done() {
                let r = pollster::block_on(ft.step()).expect("step");
                if let Some(i) = budgets.iter().position(|&b| b == r.step + 1) {
                    let seconds = start.elapsed().as_secs_f64() - evaluating;
                    let ap50 = pollster::block_on(ft.evaluate()).expect("eval").and_then(|r| r.ap50).unwrap_or(0.0);
                    evaluating = start.elapsed().as_secs_f64() - seconds;
                    sums[i] += ap50;
                    cells.push(format!("{ap50:.3} ({seconds:.0})"));
                }
            }
            println!("| {name} | {seed} | {} |", cells.join(" | "));
        }
        if seeds.len() > 1 {
            println!("| {name} | mean | {} |", sums.iter().map(|s| format!("{:.3}", s / seeds.len() as f32)).collect::<Vec<_>>().join(" | "));
        }
    }
}
