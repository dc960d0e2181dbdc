//! Backbones returning C2..C5 (strides 4, 8, 16, 32).
//!
//! MobileNetV2 follows torchvision's layout so ImageNet weights load by name
//! (see `weights.rs`); the tiny net is for tests.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, GroupNormConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::layers::{Act, ConvBnAct, FrozenBatchNorm, conv};
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

impl InvertedResidual {
    fn new(cin: usize, cout: usize, stride: usize, expand_ratio: usize, device: &Device) -> Self {
        let hidden = cin * expand_ratio;
        let expand = (expand_ratio != 1).then(|| ConvBnAct::new(cin, hidden, 1, 1, 1, Act::Relu6, device));
        let depthwise = ConvBnAct::new(hidden, hidden, 3, stride, hidden, Act::Relu6, device);
        let project = ConvBnAct::new(hidden, cout, 1, 1, 1, Act::None, device);
        Self {
            expand,
            depthwise,
            project: project.conv,
            project_bn: project.bn,
            residual: stride == 1 && cin == cout,
        }
    }

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

impl MobileNetV2 {
    pub fn new(width: f32, device: &Device) -> Self {
        let mut cin = make_divisible(32.0 * width);
        let stem = ConvBnAct::new(3, cin, 3, 2, 1, Act::Relu6, device);
        let mut blocks = Vec::new();
        for (t, c, n, s) in MBV2_SETTINGS {
            let cout = make_divisible(c as f32 * width);
            for i in 0..n {
                blocks.push(InvertedResidual::new(cin, cout, if i == 0 { s } else { 1 }, t, device));
                cin = cout;
            }
        }
        let last_c = make_divisible(1280.0 * width.max(1.0));
        let last = ConvBnAct::new(cin, last_c, 1, 1, 1, Act::Relu6, device);
        Self { stem, blocks, last }
    }

    /// Channels of C2..C5.
    pub fn out_channels(width: f32) -> [usize; 4] {
        [make_divisible(24.0 * width), make_divisible(32.0 * width), make_divisible(96.0 * width), make_divisible(1280.0 * width.max(1.0))]
    }

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

impl ConvGn {
    fn new(cin: usize, cout: usize, stride: usize, device: &Device) -> Self {
        let groups = if cout.is_multiple_of(8) { 8 } else { 1 };
        Self { conv: conv(cin, cout, 3, stride, false, device), gn: GroupNormConfig::new(groups, cout).init(device) }
    }

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

impl TinyNet {
    pub fn new(channels: [usize; 4], device: &Device) -> Self {
        let stem = vec![ConvGn::new(3, channels[0], 2, device), ConvGn::new(channels[0], channels[0], 2, device)];
        let mut stages = vec![ConvGn::new(channels[0], channels[0], 1, device)];
        for w in channels.windows(2) {
            stages.push(ConvGn::new(w[0], w[1], 2, device));
        }
        Self { stem, stages }
    }

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

impl Backbone {
    pub fn new(cfg: &BackboneConfig, device: &Device) -> Self {
        match cfg {
            BackboneConfig::MobileNetV2 { width, .. } => Backbone::MobileNetV2(MobileNetV2::new(*width, device)),
            BackboneConfig::Tiny { channels } => Backbone::Tiny(TinyNet::new(*channels, device)),
        }
    }

    pub fn out_channels(cfg: &BackboneConfig) -> [usize; 4] {
        match cfg {
            BackboneConfig::MobileNetV2 { width, .. } => MobileNetV2::out_channels(*width),
            BackboneConfig::Tiny { channels } => *channels,
        }
    }

    /// `x`: [batch, 3, h, w] (ImageNet-normalised) -> C2..C5, [batch, c_i, h / 2^(i+2), w / 2^(i+2)].
    pub fn forward(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        match self {
            Backbone::MobileNetV2(m) => m.forward(x),
            Backbone::Tiny(t) => t.forward(x),
        }
    }
}
