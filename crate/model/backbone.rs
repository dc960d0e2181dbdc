//! Backbones returning C2..C5 (strides 4, 8, 16, 32).
//!
//! MobileNetV2 follows torchvision's layout so ImageNet weights load by name
//! (see `weights.rs`); the tiny net is for tests.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, GroupNormConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::layers::{Act, ConvBnAct, ConvBnActConfig, ConvConfig, FrozenBatchNorm};
use crate::config::BackboneConfig;

/// torchvision's inverted residual block (expand 1x1, depthwise 3x3, project 1x1).
#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub expand: Option<ConvBnAct>,
    pub depthwise: ConvBnAct,
    pub project: Conv2d,
    pub project_bn: FrozenBatchNorm,
    #[module(skip)]
    residual: bool,
}

/// An [`InvertedResidual`] block: `channels` [in, out], hidden width in * `expand_ratio`.
#[derive(Config, Debug)]
pub struct InvertedResidualConfig {
    pub channels: [usize; 2],
    pub expand_ratio: usize,
    #[config(default = 1)]
    pub stride: usize,
}

impl InvertedResidualConfig {
    pub fn init(&self, device: &Device) -> InvertedResidual {
        let [cin, cout] = self.channels;
        let (hidden, stride) = (cin * self.expand_ratio, self.stride);
        let expand = (self.expand_ratio != 1).then(|| ConvBnActConfig::new([cin, hidden], 1, Act::Relu6).init(device));
        let depthwise = ConvBnActConfig::new([hidden, hidden], 3, Act::Relu6).with_stride(stride).with_groups(hidden).init(device);
        let project = ConvBnActConfig::new([hidden, cout], 1, Act::None).init(device);
        InvertedResidual { expand, depthwise, project: project.conv, project_bn: project.bn, residual: stride == 1 && cin == cout }
    }
}

impl InvertedResidual {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = x.clone();
        if let Some(e) = &self.expand {
            y = e.forward(y);
        }
        y = self.project_bn.after_conv(&self.project, self.depthwise.forward(y));
        if self.residual { x + y } else { y }
    }
}

/// torchvision `mobilenet_v2`: stem (features.0), 17 blocks (features.1..=17), last conv (features.18).
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    pub stem: ConvBnAct,
    pub blocks: Vec<InvertedResidual>,
    pub last: ConvBnAct,
}

/// (expand ratio t, channels c, repeats n, first stride s), torchvision's table.
const MBV2_SETTINGS: [(usize, usize, usize, usize); 7] =
    [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

/// torchvision's `_make_divisible(v, 8)`.
fn make_divisible(v: f32) -> usize {
    let d = 8.0;
    let mut new_v = ((v + d / 2.0) / d).floor().max(1.0) * d;
    if new_v < 0.9 * v {
        new_v += d;
    }
    new_v as usize
}

/// Index into `blocks` after which C2, C3, C4 are tapped (features.3, .6, .13); C5 is `last`.
const MBV2_TAPS: [usize; 3] = [2, 5, 12];

/// A [`MobileNetV2`] backbone, channels scaled by `width` (1.0 for the ImageNet weights).
#[derive(Config, Debug)]
pub struct MobileNetV2Config {
    #[config(default = 1.0)]
    pub width: f32,
}

impl MobileNetV2Config {
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        let width = self.width;
        let mut cin = make_divisible(32.0 * width);
        let stem = ConvBnActConfig::new([3, cin], 3, Act::Relu6).with_stride(2).init(device);
        let mut blocks = Vec::new();
        for (t, c, n, s) in MBV2_SETTINGS {
            let cout = make_divisible(c as f32 * width);
            for i in 0..n {
                blocks.push(InvertedResidualConfig::new([cin, cout], t).with_stride(if i == 0 { s } else { 1 }).init(device));
                cin = cout;
            }
        }
        let last_c = make_divisible(1280.0 * width.max(1.0));
        let last = ConvBnActConfig::new([cin, last_c], 1, Act::Relu6).init(device);
        MobileNetV2 { stem, blocks, last }
    }

    /// Channels of C2..C5.
    pub fn out_channels(&self) -> [usize; 4] {
        let width = self.width;
        [make_divisible(24.0 * width), make_divisible(32.0 * width), make_divisible(96.0 * width), make_divisible(1280.0 * width.max(1.0))]
    }
}

impl MobileNetV2 {
    /// `x`: [batch, 3, h, w] -> C2..C5.
    pub fn forward(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut y = self.stem.forward(x);
        let mut outs = Vec::with_capacity(4);
        for (i, b) in self.blocks.iter().enumerate() {
            y = b.forward(y);
            if MBV2_TAPS.contains(&i) {
                outs.push(y.clone());
            }
        }
        outs.push(self.last.forward(y));
        outs
    }

    /// Stop gradients into the stem and the first `n - 1` blocks (features.0..n).
    pub fn freeze_stages(mut self, n: usize) -> Self {
        if n > 0 {
            self.stem = self.stem.no_grad();
        }
        let k = n.saturating_sub(1).min(self.blocks.len());
        self.blocks = self.blocks.into_iter().enumerate().map(|(i, b)| if i < k { b.no_grad() } else { b }).collect();
        self
    }
}

/// Conv 3x3 + GroupNorm + ReLU: GroupNorm lets a from-scratch net train at small batch sizes.
#[derive(Module, Debug)]
pub struct ConvGn {
    pub conv: Conv2d,
    pub gn: GroupNorm,
}

/// A [`ConvGn`] (conv 3x3, GroupNorm, ReLU): `channels` [in, out]; 8 groups where the output
/// channels allow, else 1.
#[derive(Config, Debug)]
pub struct ConvGnConfig {
    pub channels: [usize; 2],
    #[config(default = 1)]
    pub stride: usize,
}

impl ConvGnConfig {
    pub fn init(&self, device: &Device) -> ConvGn {
        let cout = self.channels[1];
        let groups = if cout.is_multiple_of(8) { 8 } else { 1 };
        let conv = ConvConfig::new(self.channels, 3).with_stride(self.stride).init(device);
        ConvGn { conv, gn: GroupNormConfig::new(groups, cout).init(device) }
    }
}

impl ConvGn {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.gn.forward(self.conv.forward(x)))
    }
}

/// Small conv net trained from scratch (tests): stride-4 stem, then one stride-2 stage per level.
#[derive(Module, Debug)]
pub struct TinyNet {
    pub stem: Vec<ConvGn>,
    pub stages: Vec<ConvGn>,
}

/// A [`TinyNet`] backbone whose stages output `channels` (C2..C5).
#[derive(Config, Debug)]
pub struct TinyNetConfig {
    pub channels: [usize; 4],
}

impl TinyNetConfig {
    pub fn init(&self, device: &Device) -> TinyNet {
        let c = self.channels;
        let layer = |cin, cout, stride| ConvGnConfig::new([cin, cout]).with_stride(stride).init(device);
        let stem = vec![layer(3, c[0], 2), layer(c[0], c[0], 2)];
        let mut stages = vec![layer(c[0], c[0], 1)];
        for w in c.windows(2) {
            stages.push(layer(w[0], w[1], 2));
        }
        TinyNet { stem, stages }
    }
}

impl TinyNet {
    pub fn forward(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut y = x;
        for c in &self.stem {
            y = c.forward(y);
        }
        self.stages
            .iter()
            .map(|c| {
                y = c.forward(y.clone());
                y.clone()
            })
            .collect()
    }
}

#[derive(Module, Debug)]
pub enum Backbone {
    MobileNetV2(MobileNetV2),
    Tiny(TinyNet),
}

impl BackboneConfig {
    /// The backbone, a MobileNetV2's first `frozen_stages` stages frozen.
    pub fn init(&self, device: &Device) -> Backbone {
        match self {
            BackboneConfig::MobileNetV2 { width, frozen_stages } => {
                Backbone::MobileNetV2(MobileNetV2Config::new().with_width(*width).init(device).freeze_stages(*frozen_stages))
            }
            BackboneConfig::Tiny { channels } => Backbone::Tiny(TinyNetConfig::new(*channels).init(device)),
        }
    }

    /// Channels of C2..C5.
    pub fn out_channels(&self) -> [usize; 4] {
        match self {
            BackboneConfig::MobileNetV2 { width, .. } => MobileNetV2Config::new().with_width(*width).out_channels(),
            BackboneConfig::Tiny { channels } => *channels,
        }
    }
}

impl Backbone {
    /// `x`: [batch, 3, h, w] (ImageNet-normalised) -> C2..C5, [batch, c_i, h / 2^(i+2), w / 2^(i+2)].
    pub fn forward(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        match self {
            Backbone::MobileNetV2(m) => m.forward(x),
            Backbone::Tiny(t) => t.forward(x),
        }
    }
}
