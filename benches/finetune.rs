//! How well small data trains: the default model fine-tuned on DeepForest's tree-crown tiles
//! (`tests/common/deepforest.rs`) with each recipe variant, held-out AP50 and wall time at each
//! budget. `cargo bench --profile dev --bench finetune`; `LIBRA_FT_STEPS=150,300,600` (budgets: one
//! run to the largest, measured at each; the schedule is the largest's),
//! `LIBRA_FT_VARIANTS=hflip,augment,turns,neck,heads,input512,lr5e-4` (which rows; `+` combines
//! parts, e.g. `augment+input512`), `LIBRA_FT_SEEDS=0` (seeds; the table gives each seed's AP50 and
//! their mean). Times are training seconds so far; each budget's figure is also printed as it
//! comes, with AP50 on the held-out tiles of the training tiles' forests (Yellowstone) and of the
//! two other forests (OSBS, SOAP) apart.
//! `LIBRA_FT_EXPORT=DIR` writes the tiles and their split as COCO instead (for the peer).
//! `LIBRA_FT_DATA=nuclei` runs on the second real set instead, StarDist's cell nuclei
//! (`tests/common/nuclei.rs`: three 256 px training tiles, one held out).

#[path = "../crate/bin/libra/alloc.rs"]
mod alloc;
#[path = "../tests/common/deepforest.rs"]
mod deepforest;
#[path = "../tests/common/nuclei.rs"]
mod nuclei;

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use libra_rcnn::checkpoint;
use libra_rcnn::cpu_pool::on_pool;
use libra_rcnn::data::coco::to_coco_json;
use libra_rcnn::data::{Annotated, Dataset};
use libra_rcnn::finetune::{FineTune, FineTuneOptions};
use libra_rcnn::infer::evaluate_samples;
use libra_rcnn::train::{TrainSample, Trainable};

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var).unwrap_or_else(|_| default.into()).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// The options of a variant: the page's defaults but for what its name changes; parts joined
/// with `+` combine (`augment+input512`).
fn variant(name: &str, class: &str, steps: usize, seed: u64) -> FineTuneOptions {
    let base = FineTuneOptions { classes: vec![class.into()], steps, batch_size: 2, seed, ..Default::default() };
    name.split('+').fold(base, |o, part| match part {
        "hflip" => o,
        "augment" => FineTuneOptions { augment: true, ..o },
        "turns" => FineTuneOptions { turns: true, ..o },
        "neck" => FineTuneOptions { trainable: Trainable::NeckAndHeads, ..o },
        "heads" => FineTuneOptions { trainable: Trainable::Heads, ..o },
        _ if part.starts_with("input") => FineTuneOptions { input_size: Some(part[5..].parse().expect("inputN: a side in pixels")), ..o },
        _ if part.starts_with("lr") => FineTuneOptions { lr: Some(part[2..].parse().expect("lrX: Adam's learning rate, e.g. lr5e-4")), ..o },
        other => panic!("unknown variant part {other}: expected hflip, augment, turns, neck, heads, inputN (N: network input side) or lrX (X: learning rate)"),
    })
}

/// Writes the tiles as PNGs with `train.json` and `held-out.json` (COCO) into `dir`: the same
/// data for the PyTorch peer (`benches/peer/run.sh finetune`) and for `libra train`.
fn export(class: &str, tiles: &[deepforest::Tile], dir: &Path) {
    std::fs::create_dir_all(dir).expect("export folder");
    let part = || Dataset { classes: vec![class.into()], items: Vec::new() };
    let mut parts = [part(), part()];
    for (i, t) in tiles.iter().enumerate() {
        // The peer tells the held-out tiles of the other forests by their names.
        let name = format!("tile_{i:03}{}.png", if t.other_forest { "_other-forest" } else { "" });
        t.image.save(dir.join(&name)).expect("writing a tile");
        parts[t.held_out as usize].items.push(Annotated { image: name, ..t.ann.clone() });
    }
    for (part, file) in parts.iter().zip(["train.json", "held-out.json"]) {
        std::fs::write(dir.join(file), to_coco_json(part).expect("COCO")).expect("writing COCO");
    }
    println!("wrote {} training and {} held-out tiles to {}", parts[0].items.len(), parts[1].items.len(), dir.display());
}

/// `LIBRA_FT_DATA`'s tiles (DeepForest's by default) and their one class.
fn data() -> (&'static str, Vec<deepforest::Tile>) {
    match std::env::var("LIBRA_FT_DATA").as_deref() {
        Err(_) | Ok("deepforest") => ("tree", deepforest::tiles_of_trees()),
        Ok("nuclei") => {
            let tiles =
                nuclei::tiles_of_nuclei().into_iter().map(|t| deepforest::Tile { image: t.image, ann: t.ann, held_out: t.held_out, other_forest: false });
            ("nucleus", tiles.collect())
        }
        Ok(other) => panic!("LIBRA_FT_DATA={other}: expected deepforest or nuclei"),
    }
}

fn main() {
    alloc::keep_freed_memory();
    // On a pool thread, as the CLI runs its commands (`cpu_pool`).
    on_pool(run);
}

fn run() {
    let (class, tiles) = data();
    if let Some(dir) = std::env::var_os("LIBRA_FT_EXPORT") {
        return export(class, &tiles, Path::new(&dir));
    }
    let budgets: Vec<usize> = list("LIBRA_FT_STEPS", "150,300,600").iter().map(|s| s.parse().expect("LIBRA_FT_STEPS: step counts")).collect();
    let seeds: Vec<u64> = list("LIBRA_FT_SEEDS", "0").iter().map(|s| s.parse().expect("LIBRA_FT_SEEDS: seeds")).collect();
    let steps = *budgets.iter().max().expect("a budget");
    let held = tiles.iter().filter(|t| t.held_out).count();
    println!("{class}: {} training tiles, {held} held out; batch 2; budgets {budgets:?} (one run of {steps} steps, measured at each)", tiles.len() - held);
    // DeepForest's held-out tiles are also measured by forest: [Yellowstone, OSBS and SOAP].
    let forests = tiles.iter().any(|t| t.other_forest);
    let split = if forests { " (Yellowstone / other forests)" } else { "" };
    // AP50 on all held-out tiles, with the split by forest where there is one.
    let ap = |[all, same, other]: [f32; 3]| if forests { format!("{all:.3} ({same:.3} / {other:.3})") } else { format!("{all:.3}") };
    println!("| variant | seed | {} |", budgets.iter().map(|b| format!("AP50 @ {b}{split}, s")).collect::<Vec<_>>().join(" | "));
    for name in list("LIBRA_FT_VARIANTS", "hflip,augment") {
        let mut sums = vec![[0.0f32; 3]; budgets.len()];
        for &seed in &seeds {
            let device = Device::flex();
            device.seed(seed);
            let model = checkpoint::load(Path::new("web/models/default.lrc"), &device.clone().autodiff()).expect("default model");
            let mut ft = FineTune::new(model, &variant(&name, class, steps, seed)).expect("session");
            let mut by_forest: [Vec<TrainSample>; 2] = Default::default();
            for t in &tiles {
                ft.add(&t.image, &t.ann, t.held_out).expect("tile");
                if t.held_out {
                    by_forest[t.other_forest as usize].push(TrainSample::new(&t.image, &t.ann, ft.input_size()).expect("tile"));
                }
            }
            let start = Instant::now();
            let mut evaluating = 0.0; // seconds spent measuring, left out of the times
            let mut cells = Vec::new();
            while !ft.done() {
                let r = pollster::block_on(ft.step()).expect("step");
                if let Some(i) = budgets.iter().position(|&b| b == r.step + 1) {
                    let seconds = start.elapsed().as_secs_f64() - evaluating;
                    let ap50 = pollster::block_on(ft.evaluate()).expect("eval").and_then(|r| r.ap50).unwrap_or(0.0);
                    let model = ft.model();
                    let [same, other] = by_forest
                        .each_ref()
                        .map(|v| if forests { pollster::block_on(evaluate_samples(&model, v, 2)).expect("eval").ap50.unwrap_or(0.0) } else { 0.0 });
                    evaluating = start.elapsed().as_secs_f64() - seconds;
                    for (sum, v) in sums[i].iter_mut().zip([ap50, same, other]) {
                        *sum += v;
                    }
                    eprintln!("{name}, seed {seed}: AP50 {} after {} steps ({seconds:.0} s)", ap([ap50, same, other]), r.step + 1);
                    cells.push(format!("{}, {seconds:.0}", ap([ap50, same, other])));
                }
            }
            println!("| {name} | {seed} | {} |", cells.join(" | "));
        }
        if seeds.len() > 1 {
            println!("| {name} | mean | {} |", sums.iter().map(|s| ap(s.map(|v| v / seeds.len() as f32))).collect::<Vec<_>>().join(" | "));
        }
    }
}
