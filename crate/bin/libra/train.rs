//! `libra train`, and the training that `ablation` shares: data loading, the model's start
//! (preset, ImageNet backbone or `--init` checkpoint) and one run with progress and evaluation.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use libra_rcnn::checkpoint;
use libra_rcnn::config::{BackboneConfig, Balance, DetectorConfig};
use libra_rcnn::data::augment::Augment;
use libra_rcnn::eval::ApReport;
use libra_rcnn::infer::evaluate_samples;
use libra_rcnn::kernels::KernelPlan;
use libra_rcnn::model::LibraRcnn;
use libra_rcnn::model::backbone::Backbone;
use libra_rcnn::train::{Optimizer, Run, Start, StepReport, TrainConfig, TrainSample, Trainer};
use libra_rcnn::weights;

use super::report::{print_header, print_report};
use super::source::{self, Source};
use super::{Opt, TrainArgs};

/// Trains as `args` say on `devs` (with `plan`; see [`train_one`]), without the balancing parts named in `without`,
/// writes the checkpoint to `out` (`half`: f16 weights) and prints its held-out AP.
pub fn run(args: &TrainArgs, out: &Path, without: &[String], half: bool, devs: &[Device], plan: &KernelPlan) -> Result<()> {
    let dev = &devs[0];
    let mut balance = Balance::ALL;
    for w in without {
        match w.as_str() {
            "iou-balanced" => balance.iou_balanced = false,
            "bfp" => balance.bfp = false,
            "balanced-l1" => balance.balanced_l1 = false,
            other => bail!("--without {other}: expected iou-balanced, bfp or balanced-l1"),
        }
    }
    if args.init.is_some() && (!without.is_empty() || args.non_local_init.is_some()) {
        bail!("--without and --non-local-init set up a new network; they cannot be combined with --init");
    }
    let mut cfg = match &args.init {
        Some(path) => checkpoint::load(path, dev)?.config,
        None => args.preset_config()?,
    };
    if let Some(s) = args.input {
        cfg.input_size = s;
    }
    let data = load_data(args, &cfg)?;
    // With --init, the data's classes replace the checkpoint's: those it knows by name
    // keep their outputs (`LibraRcnn::with_classes`, as the page's fine-tuning).
    cfg.classes = data.classes.clone();
    let cfg = cfg.with_balance(balance);
    let (model, report) = train_one(&cfg, args, &data, devs, plan, "train")?;
    checkpoint::save(&model, out, half)?;
    match report {
        Some(report) => {
            print_header();
            print_report("held-out", &report);
        }
        None => println!("no held-out data (--val): AP not measured"),
    }
    println!("wrote {}", out.display());
    Ok(())
}

fn train_config(a: &TrainArgs, cfg: &DetectorConfig) -> TrainConfig {
    let start = match (&a.init, a.pretrained) {
        (Some(_), _) => Start::Checkpoint,
        (None, true) => Start::ImageNet,
        (None, false) => Start::Scratch,
    };
    let adam = TrainConfig::adam_for(&cfg.backbone, start, a.steps, a.batch);
    let mut t = match a.optimizer {
        Opt::Sgd => TrainConfig::sgd(a.steps, a.batch),
        Opt::Adam => adam,
        Opt::Adamw => TrainConfig { optimizer: Optimizer::AdamW, weight_decay: 1e-4, ..adam },
    };
    if let Some(lr) = a.lr {
        t.lr = lr;
    }
    t.seed = a.seed;
    t.augment = Augment::choose(a.augment, a.turns);
    t
}

/// Builds the model from `seed`, with the ImageNet backbone when asked and the backbone is
/// MobileNetV2 1.0.
fn build_model(cfg: &DetectorConfig, pretrained: bool, seed: u64, device: &Device) -> Result<LibraRcnn> {
    device.seed(seed);
    let mut model = cfg.init(device)?;
    if let (true, BackboneConfig::MobileNetV2 { width, frozen_stages }) = (pretrained, &cfg.backbone) {
        if *width != 1.0 {
            bail!("ImageNet weights exist for MobileNetV2 width 1.0 only (config has {width})");
        }
        let path = weights::pretrained_backbone(&weights::cache_dir(), device)?;
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        model.backbone = Backbone::MobileNetV2(weights::load_backbone(&bytes, device)?.freeze_stages(*frozen_stages));
    }
    Ok(model)
}

/// The training and validation samples of `--data` and `--val`, and the training data's classes.
pub struct Data {
    pub classes: Vec<String>,
    pub train: Vec<TrainSample>,
    /// Empty without held-out data.
    pub val: Vec<TrainSample>,
}

/// Loads `--data` and `--val` (the latter with the former's classes), printing the warnings.
/// Without `--val`, generated training data is measured on other generated scenes; other data
/// has no held-out set (generated scenes have other classes).
pub fn load_data(a: &TrainArgs, cfg: &DetectorConfig) -> Result<Data> {
    let train = source::load(&a.data, cfg, None)?;
    let val_source = match (&a.val, &a.data) {
        (Some(val), _) => Some(val.clone()),
        (None, Source::Synthetic { .. }) => Some(Source::Synthetic { count: 100, seed: 7 }),
        (None, _) => None,
    };
    let val = val_source.map(|v| source::load(&v, cfg, Some(&train.classes))).transpose().context("--val")?;
    for w in train.warnings.iter().chain(val.iter().flat_map(|v| &v.warnings)) {
        eprintln!("warning: {w}");
    }
    if train.samples.is_empty() {
        bail!("no training images could be loaded");
    }
    let val = match val {
        Some(v) if v.samples.is_empty() => bail!("no held-out images (--val) could be loaded"),
        Some(v) => v.samples,
        None if a.eval_every > 0 => bail!("--eval-every measures AP50 on held-out data: give it with --val"),
        None => Vec::new(),
    };
    Ok(Data { classes: train.classes, train: train.samples, val })
}

/// Trains `cfg` on `data` on `devs` (with `plan`), returning the trained (inference) model and
/// its validation AP (none without held-out data). The model lives on the first device; with more, each batch is split over
/// them all ([`Trainer::with_devices`]).
pub fn train_one(cfg: &DetectorConfig, a: &TrainArgs, data: &Data, devs: &[Device], plan: &KernelPlan, label: &str) -> Result<(LibraRcnn, Option<ApReport>)> {
    if devs.len() > a.batch {
        bail!("--devices {} needs a batch of at least {0} (--batch {})", devs.len(), a.batch);
    }
    let ad = devs[0].clone().autodiff();
    let model = match &a.init {
        Some(path) => {
            let model = checkpoint::load(path, &ad)?;
            ad.seed(a.seed); // new class outputs start from the run's seed, as in the page
            let mut model = model.with_classes(&cfg.classes, &ad)?;
            model.config.input_size = cfg.input_size;
            model
        }
        None => build_model(cfg, a.pretrained, a.seed, &ad)?,
    };
    let mut trainer = Trainer::new(model.with_kernels(plan.clone()), train_config(a, cfg));
    if devs.len() > 1 {
        trainer = trainer.with_devices(devs.iter().map(|d| d.clone().autodiff()).collect());
    }
    let mut run = Run::new(trainer, &data.train);
    let bar = ProgressBar::new(a.steps as u64)
        .with_style(ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} eta {eta} {msg}").expect("template"));
    bar.set_prefix(label.to_string());
    let start = Instant::now();
    let mut skipped = 0;
    let mut avg = None::<f32>;
    let mut on_step = |r: &StepReport| {
        skipped += r.skipped as usize;
        avg = Some(avg.map_or(r.losses.total, |m| 0.95 * m + 0.05 * r.losses.total));
        bar.set_position(r.step as u64 + 1);
        bar.set_message(format!(
            "loss {:.3} (rpn {:.3}/{:.3} rcnn {:.3}/{:.3}) lr {:.2e}",
            avg.unwrap_or_default(),
            r.losses.rpn_cls,
            r.losses.rpn_reg,
            r.losses.rcnn_cls,
            r.losses.rcnn_reg,
            r.lr
        ));
    };
    // Evaluation pauses the run; it goes on with the next batch of the same order.
    let pauses: Vec<usize> = if a.eval_every > 0 { (a.eval_every..a.steps).step_by(a.eval_every).collect() } else { Vec::new() };
    for until in pauses {
        pollster::block_on(run.run_until(until, &mut on_step))?;
        let r = pollster::block_on(evaluate_samples(&run.trainer().model.valid(), &data.val, 4))?;
        bar.suspend(|| eprintln!("{label} step {until}: AP50 {:.3}", r.ap50.unwrap_or(0.0)));
    }
    pollster::block_on(run.run_until(a.steps, &mut on_step))?;
    bar.finish();
    let model = run.trainer().model.valid();
    let report = if data.val.is_empty() { None } else { Some(pollster::block_on(evaluate_samples(&model, &data.val, 4))?) };
    eprintln!("{label}: {} steps in {:.1} s, {skipped} skipped (non-finite loss)", a.steps, start.elapsed().as_secs_f32());
    Ok((model, report))
}
