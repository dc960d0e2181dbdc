//! Shared bricks: conv + frozen batch norm + activation.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::dense_conv::dense_conv2d;
use super::mobile_conv::{depthwise_conv2d, relu6};

/// Batch norm with fixed statistics and affine (`y = (x - mean) / sqrt(var + eps) * weight + bias`);
/// never trained, as in detection fine-tuning. Field names match PyTorch's for weight loading.
#[derive(Module, Debug)]
pub struct FrozenBatchNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
    pub running_mean: Param<Tensor<1>>,
    pub running_var: Param<Tensor<1>>,
}

/// A [`FrozenBatchNorm`] (batch norm with fixed statistics) over `channels`.
#[derive(Config, Debug)]
pub struct FrozenBatchNormConfig {
    pub channels: usize,
}

impl FrozenBatchNormConfig {
    /// Identity statistics (mean 0, var 1, weight 1, bias 0).
    pub fn init(&self, device: &Device) -> FrozenBatchNorm {
        let p = |t: Tensor<1>| Param::from_tensor(t).set_require_grad(false);
        let c = self.channels;
        FrozenBatchNorm {
            weight: p(Tensor::ones([c], device)),
            bias: p(Tensor::zeros([c], device)),
            running_mean: p(Tensor::zeros([c], device)),
            running_var: p(Tensor::ones([c], device)),
        }
    }
}

impl FrozenBatchNorm {
    /// `conv` (no bias, symmetric "same" padding) then this batch norm, folded into one conv:
    /// the scale goes into the weights [cout, cin / groups, k, k] and the shift becomes the
    /// bias, so the output is written once instead of three times; depthwise convs go to
    /// [`depthwise_conv2d`], stride-1 dense ones (MobileNetV2's 1x1s) to [`dense_conv2d`].
    /// `x`: [batch, cin, h, w].
    pub fn after_conv(&self, conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        let scale = self.weight.val().detach() / (self.running_var.val().detach() + 1e-5).sqrt();
        let shift = self.bias.val().detach() - self.running_mean.val().detach() * scale.clone();
        let c = scale.dims()[0];
        let weight = conv.weight.val() * scale.reshape([c, 1, 1, 1]);
        let [_, cin, k, _] = weight.dims();
        if conv.groups == c && cin == 1 && c > 1 && conv.stride[0] == conv.stride[1] {
            return depthwise_conv2d(x, weight, shift, conv.stride[0]);
        }
        if conv.groups == 1 && conv.stride == [1, 1] && conv.dilation == [1, 1] && k % 2 == 1 {
            return dense_conv2d(x, weight, shift);
        }
        let options = ConvOptions::new(conv.stride, conv.kernel_size.map(|k| k / 2), conv.dilation, conv.groups);
        conv2d(x, weight, Some(shift), options)
    }
}

/// `conv.forward(x)`, with odd square stride-1 convs with "same" padding (1x1 ones unpadded)
/// through [`dense_conv2d`] (its fast CPU backward). `x`: [batch, cin, h, w].
pub fn conv_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [k, kw] = conv.kernel_size;
    let p = k / 2;
    let same = match conv.padding {
        PaddingConfig2d::Same => true,
        PaddingConfig2d::Valid => k == 1,
        PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r] == [p; 4],
    };
    if !(same && conv.stride == [1, 1] && conv.groups == 1 && conv.dilation == [1, 1] && k == kw && k % 2 == 1) {
        return conv.forward(x);
    }
    let bias = conv.bias.as_ref().map_or_else(|| Tensor::zeros([conv.weight.dims()[0]], &conv.weight.device()), |b| b.val());
    dense_conv2d(x, conv.weight.val(), bias)
}

/// The activation closing a [`ConvBnAct`].
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
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

/// A [`ConvBnAct`] (conv, frozen BN, activation): `channels` [in, out], square `kernel_size`, "same" padding.
#[derive(Config, Debug)]
pub struct ConvBnActConfig {
    pub channels: [usize; 2],
    pub kernel_size: usize,
    pub act: Act,
    #[config(default = 1)]
    pub stride: usize,
    /// Depthwise when equal to the input channels.
    #[config(default = 1)]
    pub groups: usize,
}

impl ConvBnActConfig {
    pub fn init(&self, device: &Device) -> ConvBnAct {
        let (k, s, pad) = (self.kernel_size, self.stride, self.kernel_size / 2);
        let conv = Conv2dConfig::new(self.channels, [k, k])
            .with_stride([s, s])
            .with_groups(self.groups)
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .init(device);
        ConvBnAct { conv, bn: FrozenBatchNormConfig::new(self.channels[1]).init(device), act: self.act }
    }
}

impl ConvBnAct {
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

/// How a [`ConvConfig`] conv starts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub enum ConvInit {
    /// burn's default: Kaiming-uniform weights and bias.
    Kaiming,
    /// Xavier-uniform weights, zero bias.
    Xavier,
    /// Weights from N(0, std), drawn when built (burn's initializers draw lazily), zero bias
    /// (mmdetection's RPN init).
    Normal { std: f64 },
}

/// A conv with bias and "same" padding (burn's [`Conv2d`]): `channels` [in, out], square
/// `kernel_size` (3 or 1).
#[derive(Config, Debug)]
pub struct ConvConfig {
    pub channels: [usize; 2],
    pub kernel_size: usize,
    #[config(default = 1)]
    pub stride: usize,
    #[config(default = "ConvInit::Kaiming")]
    pub initializer: ConvInit,
}

impl ConvConfig {
    pub fn init(&self, device: &Device) -> Conv2d {
        let (k, s, pad) = (self.kernel_size, self.stride, self.kernel_size / 2);
        let cfg = Conv2dConfig::new(self.channels, [k, k]).with_stride([s, s]).with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad));
        let zero_bias = |mut c: Conv2d| {
            c.bias = c.bias.map(|b| Param::from_tensor(Tensor::zeros(b.dims(), device)));
            c
        };
        match self.initializer {
            ConvInit::Kaiming => cfg.init(device),
            ConvInit::Xavier => zero_bias(cfg.with_initializer(Initializer::XavierUniform { gain: 1.0 }).init(device)),
            ConvInit::Normal { std } => {
                let mut c = cfg.init(device);
                let dims = c.weight.dims();
                c.weight = Param::from_tensor(Tensor::random(dims, Distribution::Normal(0.0, std), device));
                zero_bias(c)
            }
        }
    }
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
            let mut layer = ConvBnActConfig::new([cin, cout], k, Act::None).with_stride(stride).with_groups(groups).init(&dev);
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
