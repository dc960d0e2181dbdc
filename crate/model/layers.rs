//! Shared bricks: conv + frozen batch norm + activation.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::{relu, relu6};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
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

    /// `conv` (no bias, symmetric "same" padding) then this batch norm, folded into one conv:
    /// the scale goes into the weights [cout, cin / groups, k, k] and the shift becomes the
    /// bias, so the output is written once instead of three times. `x`: [batch, cin, h, w].
    pub fn after_conv(&self, conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        let scale = self.weight.val().detach() / (self.running_var.val().detach() + 1e-5).sqrt();
        let shift = self.bias.val().detach() - self.running_mean.val().detach() * scale.clone();
        let c = scale.dims()[0];
        let weight = conv.weight.val() * scale.reshape([c, 1, 1, 1]);
        let options = ConvOptions::new(conv.stride, conv.kernel_size.map(|k| k / 2), conv.dilation, conv.groups);
        conv2d(x, weight, Some(shift), options)
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
        let y = self.bn.after_conv(&self.conv, x);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, device, read};
    use burn::tensor::TensorData;

    /// The folded conv equals the conv followed by the batch norm's formula, written out on the
    /// host, for a strided depthwise conv and a 1x1 conv with non-trivial statistics.
    #[test]
    fn folded_batch_norm_equals_conv_then_batch_norm() {
        let dev = device();
        for (cin, cout, k, stride, groups) in [(4, 4, 3, 2, 4), (3, 5, 1, 1, 1)] {
            let mut layer = ConvBnAct::new(cin, cout, k, stride, groups, Act::None, &dev);
            let stats = |f: fn(usize) -> f32| Param::from_tensor(Tensor::from_data(TensorData::new((0..cout).map(f).collect::<Vec<_>>(), [cout]), &dev));
            layer.bn.weight = stats(|c| 0.5 + c as f32);
            layer.bn.bias = stats(|c| 0.1 * c as f32 - 0.2);
            layer.bn.running_mean = stats(|c| 0.3 - 0.05 * c as f32);
            layer.bn.running_var = stats(|c| 0.2 + 0.7 * c as f32);
            let x = Tensor::<4>::random([2, cin, 7, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
            let conv = read(layer.conv.forward(x.clone()));
            let plane = conv.len() / (2 * cout);
            let want: Vec<f32> = conv
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let c = (i / plane) % cout;
                    let (w, b, m, var) = (0.5 + c as f32, 0.1 * c as f32 - 0.2, 0.3 - 0.05 * c as f32, 0.2 + 0.7 * c as f32);
                    (v - m) / (var + 1e-5).sqrt() * w + b
                })
                .collect();
            assert_close(&read(layer.forward(x)), &want, 1e-5);
        }
    }
}
