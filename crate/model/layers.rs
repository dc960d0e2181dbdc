//! Shared bricks: conv + frozen batch norm + activation.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::{relu, relu6};
use burn::tensor::{Device, Tensor};

/// Batch norm with fixed statistics and affine (`y = (x - mean) / sqrt(var + eps) * weight + bias`);
/// never trained, as in detection fine-tuning. Field names match PyTorch's for weight loading.
#[derive(Module, Debug)]
pub struct FrozenBatchNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
    pub running_mean: Param<Tensor<1>>,
    pub running_var: Param<Tensor<1>>,
}

impl FrozenBatchNorm {
    /// Identity statistics (mean 0, var 1, weight 1, bias 0).
    pub fn new(channels: usize, device: &Device) -> Self {
        let p = |t: Tensor<1>| Param::from_tensor(t).set_require_grad(false);
        Self {
            weight: p(Tensor::ones([channels], device)),
            bias: p(Tensor::zeros([channels], device)),
            running_mean: p(Tensor::zeros([channels], device)),
            running_var: p(Tensor::ones([channels], device)),
        }
    }

    /// `x`: [batch, channels, h, w].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let c = self.weight.dims()[0];
        let scale = self.weight.val().detach() / (self.running_var.val().detach() + 1e-5).sqrt();
        let shift = self.bias.val().detach() - self.running_mean.val().detach() * scale.clone();
        x * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1])
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Act {
    None,
    Relu,
    Relu6,
}

/// Conv (no bias) + frozen BN + activation, as torchvision's `Conv2dNormActivation`.
#[derive(Module, Debug)]
pub struct ConvBnAct {
    pub conv: Conv2d,
    pub bn: FrozenBatchNorm,
    #[module(skip)]
    act: Act,
}

impl ConvBnAct {
    pub fn new(cin: usize, cout: usize, kernel: usize, stride: usize, groups: usize, act: Act, device: &Device) -> Self {
        let pad = kernel / 2;
        let conv = Conv2dConfig::new([cin, cout], [kernel, kernel])
            .with_stride([stride, stride])
            .with_groups(groups)
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .init(device);
        Self { conv, bn: FrozenBatchNorm::new(cout, device), act }
    }

    /// `x`: [batch, cin, h, w] -> [batch, cout, h / stride, w / stride].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.bn.forward(self.conv.forward(x));
        match self.act {
            Act::Relu => relu(y),
            Act::Relu6 => relu6(y),
            Act::None => y,
        }
    }
}

/// A 3x3 (or 1x1) conv with bias and "same" padding; Xavier-uniform weights when `xavier`.
pub fn conv(cin: usize, cout: usize, kernel: usize, stride: usize, xavier: bool, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    let mut cfg = Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad));
    if xavier {
        cfg = cfg.with_initializer(burn::nn::Initializer::XavierUniform { gain: 1.0 });
    }
    let mut c = cfg.init(device);
    if xavier {
        c.bias = c.bias.map(|b| Param::from_tensor(Tensor::zeros(b.dims(), device)));
    }
    c
}
