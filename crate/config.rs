//! One config decides the model and its training; named presets pick sizes.
//!
//! Every balancing part of Libra R-CNN is a field here, so an ablation is a config change:
//! `roi.sampler` (random / IoU-balanced), `neck.bfp` (plain FPN / BFP), `roi.box_loss`
//! (smooth L1 / Balanced L1).

use serde::{Deserialize, Serialize};

use crate::boxes::sampler::SamplerConfig;
use crate::data::synthetic::SceneConfig;

/// The whole detector.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DetectorConfig {
    /// Preset this config started from (informative).
    pub preset: String,
    /// Object class names; the background class is implicit (index `classes.len()`).
    pub classes: Vec<String>,
    /// Square network input side in pixels; images are letterboxed to it. Multiple of 64.
    pub input_size: usize,
    pub backbone: BackboneConfig,
    /// Channels of every FPN/BFP level.
    pub fpn_channels: usize,
    pub neck: NeckConfig,
    pub rpn: RpnConfig,
    pub roi: RoiConfig,
    pub test: TestConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum BackboneConfig {
    /// torchvision MobileNetV2 (width 1.0 to use the ImageNet weights); taps features.3/6/13/18.
    MobileNetV2 {
        width: f32,
        /// Blocks (features.0..frozen_stages) kept frozen while training.
        frozen_stages: usize,
    },
    /// A small plain conv net trained from scratch (tests): stem + 4 stages, strides 4..32.
    Tiny { channels: [usize; 4] },
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Refine {
    None,
    Conv,
    NonLocal,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NeckConfig {
    /// Balanced Feature Pyramid after the FPN (off: plain FPN).
    pub bfp: bool,
    pub refine: Refine,
    /// Level the pyramid is integrated at, counted from P2 (2 = P4).
    pub refine_level: usize,
    /// How the non-local refine block starts training (checkpoints written before it existed
    /// read as the default; their weights are loaded anyway).
    #[serde(default)]
    pub non_local_init: NonLocalInit,
}

/// Initialisation of the non-local block's convs (`shared/docs/libra-rcnn.md`, Sec. 2).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum NonLocalInit {
    /// mmdetection >= 2.12 and v3: theta, phi, g ~ N(0, 0.01) with zero bias and the output conv
    /// zero, so the block is the identity at step 0 and its attention near uniform.
    #[default]
    Identity,
    /// The authors' 2019 code: Xavier-uniform on every conv, zero bias (attention near one-hot
    /// from the start, as there is no 1/sqrt(C) scale).
    Xavier2019,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RpnConfig {
    pub anchor_scale: f32,
    pub anchor_ratios: Vec<f32>,
    pub pre_nms_train: usize,
    pub post_nms_train: usize,
    pub pre_nms_test: usize,
    pub post_nms_test: usize,
    pub nms_iou: f32,
    pub sampler: SamplerConfig,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub enum BoxLoss {
    SmoothL1 { beta: f32, weight: f32 },
    L1 { weight: f32 },
    BalancedL1 { alpha: f32, gamma: f32, beta: f32, weight: f32 },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoiConfig {
    /// RoIAlign output side (7).
    pub pool_size: usize,
    /// RoIAlign samples per bin side (2).
    pub sampling_ratio: usize,
    /// Width of the two shared FC layers.
    pub fc_dim: usize,
    pub sampler: SamplerConfig,
    pub box_loss: BoxLoss,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TestConfig {
    pub score_thr: f32,
    pub nms_iou: f32,
    pub max_per_image: usize,
}

/// The balancing parts that the paper's ablation (Table 2) switches on one by one.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Balance {
    pub iou_balanced: bool,
    pub bfp: bool,
    pub balanced_l1: bool,
}

impl Balance {
    pub const NONE: Balance = Balance { iou_balanced: false, bfp: false, balanced_l1: false };
    pub const ALL: Balance = Balance { iou_balanced: true, bfp: true, balanced_l1: true };
    /// Rows of Table 2: baseline, +IoU-balanced, +BFP, +Balanced L1.
    pub const TABLE2: [(&'static str, Balance); 4] = [
        ("baseline", Balance::NONE),
        ("+IoU-balanced", Balance { iou_balanced: true, bfp: false, balanced_l1: false }),
        ("+BFP", Balance { iou_balanced: true, bfp: true, balanced_l1: false }),
        ("+Balanced L1", Balance::ALL),
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown preset '{0}' (known: paper, browser, tiny)")]
    UnknownPreset(String),
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl DetectorConfig {
    /// Reference defaults (ResNet-50 replaced by MobileNetV2; widths and counts of the paper).
    pub fn paper(classes: Vec<String>) -> Self {
        Self {
            preset: "paper".into(),
            classes,
            input_size: 832,
            backbone: BackboneConfig::MobileNetV2 { width: 1.0, frozen_stages: 2 },
            fpn_channels: 256,
            neck: NeckConfig { bfp: true, refine: Refine::NonLocal, refine_level: 2, non_local_init: NonLocalInit::Identity },
            rpn: RpnConfig {
                anchor_scale: 8.0,
                anchor_ratios: vec![0.5, 1.0, 2.0],
                pre_nms_train: 2000,
                post_nms_train: 2000,
                pre_nms_test: 1000,
                post_nms_test: 1000,
                nms_iou: 0.7,
                sampler: SamplerConfig::rpn(),
            },
            roi: RoiConfig {
                pool_size: 7,
                sampling_ratio: 2,
                fc_dim: 1024,
                sampler: SamplerConfig::libra(),
                box_loss: BoxLoss::BalancedL1 { alpha: 0.5, gamma: 1.5, beta: 1.0, weight: 1.0 },
            },
            test: TestConfig { score_thr: 0.05, nms_iou: 0.5, max_per_image: 100 },
        }
    }

    /// Sized for a web page at 320–512 px: narrower FPN and head, fewer proposals.
    pub fn browser(classes: Vec<String>) -> Self {
        let mut c = Self::paper(classes);
        c.preset = "browser".into();
        c.input_size = 320;
        c.fpn_channels = 64;
        c.rpn.pre_nms_train = 1000;
        c.rpn.post_nms_train = 500;
        c.rpn.pre_nms_test = 500;
        c.rpn.post_nms_test = 200;
        c.roi.fc_dim = 256;
        c.roi.sampler.num = 128;
        c
    }

    /// For tests: runs in seconds on a CPU (plain conv backbone, 64 px, 16 channels).
    pub fn tiny(classes: Vec<String>) -> Self {
        let mut c = Self::browser(classes);
        c.preset = "tiny".into();
        c.input_size = 64;
        c.backbone = BackboneConfig::Tiny { channels: [16, 24, 32, 48] };
        c.fpn_channels = 16;
        // 16 px anchors on P2 so the small objects of 64 px images can be matched.
        c.rpn.anchor_scale = 4.0;
        c.rpn.pre_nms_train = 300;
        c.rpn.post_nms_train = 100;
        c.rpn.pre_nms_test = 200;
        c.rpn.post_nms_test = 50;
        c.rpn.sampler.num = 128;
        c.roi.fc_dim = 64;
        c.roi.sampler.num = 32;
        c
    }

    pub fn preset(name: &str, classes: Vec<String>) -> Result<Self, ConfigError> {
        match name {
            "paper" => Ok(Self::paper(classes)),
            "browser" => Ok(Self::browser(classes)),
            "tiny" => Ok(Self::tiny(classes)),
            other => Err(ConfigError::UnknownPreset(other.into())),
        }
    }

    /// Switch the three balancing parts (keeps every other knob).
    pub fn with_balance(mut self, b: Balance) -> Self {
        let num = self.roi.sampler.num;
        self.roi.sampler = if b.iou_balanced { SamplerConfig::libra() } else { SamplerConfig::rcnn_random() };
        self.roi.sampler.num = num;
        self.neck.bfp = b.bfp;
        self.roi.box_loss =
            if b.balanced_l1 { BoxLoss::BalancedL1 { alpha: 0.5, gamma: 1.5, beta: 1.0, weight: 1.0 } } else { BoxLoss::SmoothL1 { beta: 1.0, weight: 1.0 } };
        self
    }

    /// Generated scenes that suit this detector: square at the input size, objects from 0.75x
    /// the smallest anchor (so every object can be matched) to 0.6x the input side.
    pub fn scene_config(&self) -> SceneConfig {
        let s = self.input_size as u32;
        let min_size = (3.0 * self.rpn.anchor_scale) as u32;
        let max_objects = if s <= 128 { 3 } else { 6 };
        SceneConfig { width: s, height: s, min_size, max_size: s * 3 / 5, max_objects, ..SceneConfig::default() }
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.classes.is_empty() {
            return bad("at least one class is needed".into());
        }
        if self.input_size == 0 || !self.input_size.is_multiple_of(64) {
            return bad(format!("input_size {} must be a positive multiple of 64", self.input_size));
        }
        if self.neck.refine_level > 4 {
            return bad(format!("refine_level {} must be in 0..=4 (P2..P6)", self.neck.refine_level));
        }
        if self.fpn_channels == 0 || self.roi.fc_dim == 0 || self.roi.pool_size == 0 {
            return bad("fpn_channels, fc_dim and pool_size must be positive".into());
        }
        if self.rpn.anchor_ratios.is_empty() {
            return bad("at least one anchor ratio is needed".into());
        }
        self.check_bounds()
    }

    /// Upper bounds, so that a config read from a file (a checkpoint's header) cannot ask for a
    /// model no machine can build: a wrong or damaged file gets this error instead of running
    /// out of memory. Each bound is far above what the presets use.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        let proposals = [self.rpn.pre_nms_train, self.rpn.post_nms_train, self.rpn.pre_nms_test, self.rpn.post_nms_test];
        let tiny_channels = match &self.backbone {
            BackboneConfig::MobileNetV2 { width, .. } if !(*width > 0.0 && *width <= 4.0) => {
                return Err(ConfigError::Invalid(format!("MobileNetV2 width {width} must be in (0, 4]")));
            }
            BackboneConfig::MobileNetV2 { .. } => 0,
            BackboneConfig::Tiny { channels } => channels.iter().copied().max().unwrap_or(0),
        };
        let limits = [
            ("classes", self.classes.len(), 10_000),
            ("input_size", self.input_size, 4096),
            ("fpn_channels", self.fpn_channels, 2048),
            ("fc_dim", self.roi.fc_dim, 8192),
            ("pool_size", self.roi.pool_size, 32),
            ("sampling_ratio", self.roi.sampling_ratio, 16),
            ("anchor ratios", self.rpn.anchor_ratios.len(), 16),
            ("proposals", proposals.into_iter().max().unwrap_or(0), 100_000),
            ("max_per_image", self.test.max_per_image, 100_000),
            ("tiny backbone channels", tiny_channels, 2048),
        ];
        match limits.into_iter().find(|&(_, value, max)| value > max) {
            Some((what, value, max)) => Err(ConfigError::Invalid(format!("{what} {value} is over the limit of {max}"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_past_the_bounds_are_refused_with_what_is_wrong() {
        let ok = DetectorConfig::paper(vec!["a".into()]);
        assert!(ok.validate().is_ok());
        let refused = |change: fn(&mut DetectorConfig)| {
            let mut c = ok.clone();
            change(&mut c);
            c.validate().expect_err("over a bound").to_string()
        };
        assert_eq!(refused(|c| c.fpn_channels = 640_000), "invalid config: fpn_channels 640000 is over the limit of 2048");
        assert_eq!(refused(|c| c.input_size = 64 * 1000), "invalid config: input_size 64000 is over the limit of 4096");
        assert_eq!(refused(|c| c.rpn.pre_nms_test = 1 << 20), "invalid config: proposals 1048576 is over the limit of 100000");
        assert_eq!(
            refused(|c| c.backbone = BackboneConfig::MobileNetV2 { width: f32::NAN, frozen_stages: 2 }),
            "invalid config: MobileNetV2 width NaN must be in (0, 4]"
        );
        assert_eq!(
            refused(|c| c.backbone = BackboneConfig::Tiny { channels: [8, 16, 4096, 8] }),
            "invalid config: tiny backbone channels 4096 is over the limit of 2048"
        );
        // At the bound itself: accepted.
        let mut c = ok.clone();
        c.input_size = 4096;
        c.fpn_channels = 2048;
        assert!(c.validate().is_ok());
    }
}
