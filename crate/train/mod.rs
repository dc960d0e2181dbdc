//! Our own training loop (burn-train's Learner does not run in wasm): SGD with momentum or
//! Adam/AdamW, linear warm-up, step decay, gradient clipping, weight decay, horizontal flips and
//! augmentation (`data::augment`),
//! and a NaN guard that skips (and reports) a step whose loss is not finite. [`Run`] drives it.

pub mod batch;
pub mod losses;
mod run;

use std::borrow::Cow;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Transaction;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::config::BackboneConfig;
use crate::data::augment::Augment;
use crate::data::tensor::images_tensor;
use crate::error::Result;
use crate::model::LibraRcnn;
pub use batch::TrainSample;
pub use losses::{ForwardTrain, RoiSampling, Target, forward_train};
pub use run::Run;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub enum Optimizer {
    Sgd { momentum: f32 },
    Adam,
    AdamW,
}

/// Where a training run's weights start, which sets its default learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Random weights everywhere.
    Scratch,
    /// The backbone from ImageNet, the rest random.
    ImageNet,
    /// A trained detector (`libra train --init`, the page's fine-tuning).
    Checkpoint,
}

/// Which parts receive gradients.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Trainable {
    /// RPN and box head only.
    Heads,
    /// FPN, BFP and the heads.
    NeckAndHeads,
    /// Everything but the backbone's configured frozen stages.
    All,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub lr: f64,
    pub weight_decay: f32,
    /// Linear warm-up from `lr * warmup_ratio` over this many steps.
    pub warmup_steps: usize,
    pub warmup_ratio: f64,
    /// Steps at which the learning rate is multiplied by `decay`.
    pub decay_steps: Vec<usize>,
    pub decay: f64,
    /// Per-parameter gradient-norm clip (burn clips each tensor by its own norm).
    pub grad_clip: Option<f32>,
    pub hflip: bool,
    /// Zoom and photometric changes after the flip ([`Augment::OFF`] by default).
    #[serde(default)]
    pub augment: Augment,
    pub seed: u64,
    pub trainable: Trainable,
}

impl TrainConfig {
    /// The reference schedule shape (SGD 0.02 per 16 images, x0.1 at 8/12 and 11/12) over `steps`.
    pub fn sgd(steps: usize, batch_size: usize) -> Self {
        Self {
            steps,
            batch_size,
            optimizer: Optimizer::Sgd { momentum: 0.9 },
            lr: 0.02 * batch_size as f64 / 16.0,
            weight_decay: 1e-4,
            warmup_steps: (steps / 10).min(500),
            warmup_ratio: 0.001,
            decay_steps: vec![steps * 8 / 12, steps * 11 / 12],
            decay: 0.1,
            grad_clip: Some(35.0),
            hflip: true,
            augment: Augment::OFF,
            seed: 0,
            trainable: Trainable::All,
        }
    }

    /// Adam at 2e-3, short warm-up, one x0.1 decay at 90%: converges fastest on small data
    /// and short budgets.
    pub fn adam(steps: usize, batch_size: usize) -> Self {
        Self {
            optimizer: Optimizer::Adam,
            lr: 2e-3,
            weight_decay: 0.0,
            warmup_steps: (steps / 20).min(200),
            warmup_ratio: 0.1,
            decay_steps: vec![steps * 9 / 10],
            ..Self::sgd(steps, batch_size)
        }
    }

    /// [`Self::adam`] at 2e-4, for fine-tuning an ImageNet backbone. Measured on the browser
    /// preset, 200 steps of 2 images: held-out AP50 0.46 at 2e-4 against 0.10 at 2e-3.
    pub fn adam_fine_tune(steps: usize, batch_size: usize) -> Self {
        Self { lr: 2e-4, ..Self::adam(steps, batch_size) }
    }

    /// [`Self::adam`] at 5e-4, for fine-tuning a detection-trained checkpoint on a user's few
    /// photos. Measured on DeepForest's tiles (`benches/finetune.rs`, batch 2, seeds 0-2): mean
    /// held-out AP50 0.292 / 0.344 / 0.375 after 150 / 300 / 600 steps at 5e-4, against 0.274 /
    /// 0.294 / 0.347 at 2e-4, higher for every seed at 300 and 600.
    pub fn adam_from_checkpoint(steps: usize, batch_size: usize) -> Self {
        Self { lr: 5e-4, ..Self::adam(steps, batch_size) }
    }

    /// The default Adam schedule for a model with `backbone` that starts from `start`, for the
    /// CLI and the page alike: a MobileNetV2 gets [`Self::adam_from_checkpoint`] (5e-4) from a
    /// checkpoint and [`Self::adam_fine_tune`] (2e-4) from ImageNet; anything else, and a
    /// MobileNetV2 from scratch, [`Self::adam`] (2e-3).
    pub fn adam_for(backbone: &BackboneConfig, start: Start, steps: usize, batch_size: usize) -> Self {
        match (start, backbone) {
            (Start::Checkpoint, BackboneConfig::MobileNetV2 { .. }) => Self::adam_from_checkpoint(steps, batch_size),
            (Start::ImageNet, BackboneConfig::MobileNetV2 { .. }) => Self::adam_fine_tune(steps, batch_size),
            _ => Self::adam(steps, batch_size),
        }
    }

    /// Learning rate at `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        let decays = self.decay_steps.iter().filter(|&&d| step >= d).count() as i32;
        let mut lr = self.lr * self.decay.powi(decays);
        if step < self.warmup_steps {
            let k = step as f64 / self.warmup_steps as f64;
            lr *= self.warmup_ratio + (1.0 - self.warmup_ratio) * k;
        }
        lr
    }

    fn optimizer(&self) -> ModuleOptimizer {
        let clip = self.grad_clip.map(GradientClippingConfig::Norm);
        let decay = (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay));
        match self.optimizer {
            Optimizer::Sgd { momentum } => SgdConfig::new()
                .with_momentum(Some(MomentumConfig::new().with_momentum(momentum as f64).with_dampening(0.0)))
                .with_weight_decay(decay)
                .with_gradient_clipping(clip)
                .init(),
            Optimizer::Adam => AdamConfig::new().with_weight_decay(decay).with_grad_clipping(clip).init(),
            Optimizer::AdamW => AdamWConfig::new().with_weight_decay(self.weight_decay).with_grad_clipping(clip).init(),
        }
    }
}

/// Loss values of one step, read back to the host.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct StepLosses {
    pub rpn_cls: f32,
    pub rpn_reg: f32,
    pub rcnn_cls: f32,
    pub rcnn_reg: f32,
    pub total: f32,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub step: usize,
    /// Indices of the batch's samples: into the [`Run`]'s samples, or into the batch given to
    /// [`Trainer::step`].
    pub batch: Vec<usize>,
    pub lr: f64,
    pub losses: StepLosses,
    /// True when the loss was not finite and the update was not applied.
    pub skipped: bool,
    pub sampling: Vec<RoiSampling>,
    /// |pred - target| of the positive RoIs' encoded deltas.
    pub reg_errors: Vec<f32>,
}

/// Owns the model under training and its optimizer state.
pub struct Trainer {
    pub model: LibraRcnn,
    pub config: TrainConfig,
    pub step: usize,
    optim: ModuleOptimizer,
    /// Where each step's batch is split to (data parallel); empty: the model's device alone.
    #[cfg(not(target_arch = "wasm32"))]
    devices: Vec<burn::tensor::Device>,
}

/// Stops gradients outside the trainable part.
fn apply_trainable(mut m: LibraRcnn, t: Trainable) -> LibraRcnn {
    if t != Trainable::All {
        m.backbone = m.backbone.no_grad();
    }
    if t == Trainable::Heads {
        m.fpn = m.fpn.no_grad();
        m.bfp = m.bfp.map(|b| b.no_grad());
    }
    m
}

/// One device's part of a step: its copy of the model, its forward on its share of the batch,
/// and the share's losses read back.
struct Share {
    model: LibraRcnn,
    out: ForwardTrain,
    /// rpn_cls, rpn_reg, rcnn_cls, rcnn_reg.
    losses: [f32; 4],
    reg_errors: Vec<f32>,
}

impl Share {
    /// Forward of `images` with their `targets` on `model`'s device.
    async fn forward(model: LibraRcnn, images: &[Cow<'_, RgbImage>], targets: &[Target], seed: u64) -> Result<Self> {
        let device = model.devices().into_iter().next().expect("model has a device");
        let x = images_tensor(images.iter().map(|i| i.as_ref()), &device);
        let out = forward_train(&model, x, targets, seed).await?;
        let l = &out.losses;
        let data = Transaction::default()
            .register(l.rpn_cls.clone().detach())
            .register(l.rpn_reg.clone().detach())
            .register(l.rcnn_cls.clone().detach())
            .register(l.rcnn_reg.clone().detach())
            .register(out.rcnn_reg_errors.clone())
            .execute_async()
            .await?;
        let v = |i: usize| -> Result<f32> { Ok(data[i].try_to_vec::<f32>()?[0]) };
        let losses = [v(0)?, v(1)?, v(2)?, v(3)?];
        Ok(Self { model, out, losses, reg_errors: data[4].try_to_vec()? })
    }

    /// Each share's weights for its RPN and R-CNN losses (means over its sampled anchors and
    /// RoIs): its part of all shares' samples, so that the weighted sums are the whole batch's
    /// means. One share: exactly 1.
    fn weights(shares: &[Share]) -> Vec<[f32; 2]> {
        let total = |k: usize| shares.iter().map(|s| s.out.samples[k]).sum::<usize>().max(1) as f32;
        let t = [total(0), total(1)];
        shares.iter().map(|s| [s.out.samples[0] as f32 / t[0], s.out.samples[1] as f32 / t[1]]).collect()
    }

    /// Gradients of the share's total loss, its RPN and R-CNN parts weighted by `w`.
    fn backward(self, w: [f32; 2]) -> GradientsParams {
        let l = &self.out.losses;
        let total = if w == [1.0, 1.0] { l.total() } else { (l.rpn_cls.clone() + l.rpn_reg.clone()) * w[0] + (l.rcnn_cls.clone() + l.rcnn_reg.clone()) * w[1] };
        GradientsParams::from_grads(total.backward(), &self.model)
    }
}

impl Trainer {
    /// `model` must live on an autodiff device (`device.autodiff()`).
    pub fn new(model: LibraRcnn, config: TrainConfig) -> Self {
        let optim = config.optimizer();
        Self {
            model: apply_trainable(model, config.trainable),
            config,
            step: 0,
            optim,
            #[cfg(not(target_arch = "wasm32"))]
            devices: Vec::new(),
        }
    }

    /// Trains data parallel on `devices` (autodiff devices; the model's own may be one of
    /// them) with burn's multi-device pieces, as burn-train's multi-device learner does: each
    /// step splits its batch into consecutive shares, one per device; each device runs its
    /// share's forward and backward on a fork of the model (`Module::fork`) in its own thread;
    /// the gradients come to the model's device (`GradientsParams::to_device`), are summed there
    /// (`GradientsAccumulator`) and the optimizer updates the model there. The step equals one
    /// device's on the whole batch: augmentation and sampling draw as they would for the whole
    /// batch, and each share's losses are weighted by its part of the batch's samples.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_devices(self, devices: Vec<burn::tensor::Device>) -> Self {
        Self { devices, ..self }
    }

    /// One optimisation step on `batch` (images already at the model's input size).
    pub async fn step(&mut self, batch: &[TrainSample]) -> Result<StepReport> {
        let seed = self.config.seed.wrapping_mul(1_000_003).wrapping_add(self.step as u64 * 7919);
        let (images, targets) = batch::prepare(batch, self.config.hflip, &self.config.augment, seed);
        let mut shares = self.forward(&images, &targets, seed).await?;
        let weights = Share::weights(&shares);
        let sum = |i: usize| shares.iter().zip(&weights).map(|(s, w)| s.losses[i] * w[i / 2]).sum::<f32>();
        let (rpn_cls, rpn_reg, rcnn_cls, rcnn_reg) = (sum(0), sum(1), sum(2), sum(3));
        let losses = StepLosses { rpn_cls, rpn_reg, rcnn_cls, rcnn_reg, total: rpn_cls + rpn_reg + rcnn_cls + rcnn_reg };
        let lr = self.config.lr_at(self.step);
        let skipped = !losses.total.is_finite();
        let (mut sampling, mut reg_errors) = (Vec::new(), Vec::new());
        for s in &mut shares {
            sampling.append(&mut s.out.sampling);
            reg_errors.append(&mut s.reg_errors);
        }
        if !skipped {
            let grads = self.backward(shares, weights);
            self.model = self.optim.step(lr, self.model.clone(), grads);
        }
        let report = StepReport { step: self.step, batch: (0..batch.len()).collect(), lr, losses, skipped, sampling, reg_errors };
        self.step += 1;
        Ok(report)
    }

    /// The step's forward: on the model's device, or one share of the batch per device.
    async fn forward(&self, images: &[Cow<'_, RgbImage>], targets: &[Target], seed: u64) -> Result<Vec<Share>> {
        #[cfg(not(target_arch = "wasm32"))]
        if self.devices.len() > 1 {
            return self.parallel_forward(images, targets, seed);
        }
        Ok(vec![Share::forward(self.model.clone(), images, targets, seed).await?])
    }

    /// The step's gradients on the model's device: the shares' own, weighted by `weights`, summed.
    fn backward(&self, shares: Vec<Share>, weights: Vec<[f32; 2]>) -> GradientsParams {
        #[cfg(not(target_arch = "wasm32"))]
        if shares.len() > 1 {
            return self.parallel_backward(shares, weights);
        }
        shares.into_iter().zip(weights).map(|(s, w)| s.backward(w)).next().expect("one share")
    }

    /// One share of the batch per device, each forward run in its own thread on a fork of the model.
    #[cfg(not(target_arch = "wasm32"))]
    fn parallel_forward(&self, images: &[Cow<'_, RgbImage>], targets: &[Target], seed: u64) -> Result<Vec<Share>> {
        let size = images.len().div_ceil(self.devices.len());
        std::thread::scope(|scope| {
            let threads: Vec<_> = self
                .devices
                .iter()
                .zip(images.chunks(size).zip(targets.chunks(size)))
                .enumerate()
                .map(|(i, (device, (images, targets)))| {
                    let model = self.model.clone().fork(device);
                    // Image `j` of the batch draws from `seed + j` (forward_train).
                    let seed = seed.wrapping_add((i * size) as u64);
                    scope.spawn(move || pollster::block_on(Share::forward(model, images, targets, seed)))
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        })
    }

    /// Each share's weighted backward in its own thread; the gradients summed on the model's device.
    #[cfg(not(target_arch = "wasm32"))]
    fn parallel_backward(&self, shares: Vec<Share>, weights: Vec<[f32; 2]>) -> GradientsParams {
        let home = self.model.devices().into_iter().next().expect("model has a device");
        let parts: Vec<GradientsParams> = std::thread::scope(|scope| {
            let home = &home;
            let threads: Vec<_> = shares
                .into_iter()
                .zip(weights)
                .map(|(share, w)| {
                    scope.spawn(move || {
                        let model = share.model.clone();
                        share.backward(w).to_device(home, &model)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        });
        let mut sum = burn::optim::GradientsAccumulator::new();
        for g in parts {
            sum.accumulate(&self.model, g);
        }
        sum.grads()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays() {
        // lr 1, warm-up 10 steps from 0.1: step 0 -> 0.1, step 5 -> 0.1 + 0.9 * 0.5 = 0.55;
        // decays x0.1 at 20 and 30.
        let c = TrainConfig { lr: 1.0, warmup_steps: 10, warmup_ratio: 0.1, decay_steps: vec![20, 30], decay: 0.1, ..TrainConfig::sgd(40, 2) };
        for (step, want) in [(0, 0.1), (5, 0.55), (10, 1.0), (19, 1.0), (20, 0.1), (29, 0.1), (30, 0.01)] {
            assert!((c.lr_at(step) - want).abs() < 1e-12, "step {step}: {} vs {want}", c.lr_at(step));
        }
    }
}
