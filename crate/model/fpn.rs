//! Feature Pyramid Network: C2..C5 -> P2..P6 (strides 4..64), `channels` each.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::layers::{ConvConfig, ConvInit, conv_forward};
use super::resize::nearest;

#[derive(Module, Debug)]
pub struct Fpn {
    pub lateral: Vec<Conv2d>,
    pub output: Vec<Conv2d>,
}

/// An [`Fpn`] from C2..C5 of `in_channels` to P2..P6 of `channels`; Xavier-initialised convs.
#[derive(Config, Debug)]
pub struct FpnConfig {
    pub in_channels: [usize; 4],
    pub channels: usize,
}

impl FpnConfig {
    pub fn init(&self, device: &Device) -> Fpn {
        let c = self.channels;
        let conv = |cin, k| ConvConfig::new([cin, c], k).with_initializer(ConvInit::Xavier).init(device);
        Fpn { lateral: self.in_channels.iter().map(|&cin| conv(cin, 1)).collect(), output: self.in_channels.iter().map(|_| conv(c, 3)).collect() }
    }
}

impl Fpn {
    /// `c`: C2..C5 ([b, c_i, h_i, w_i]) -> P2..P6 ([b, channels, h_i, w_i]); P6 = P5 max-pooled
    /// with kernel 1, stride 2 (mmdetection's extra level).
    pub fn forward(&self, c: Vec<Tensor<4>>) -> Vec<Tensor<4>> {
        let mut lat: Vec<Tensor<4>> = c.into_iter().zip(&self.lateral).map(|(x, l)| conv_forward(l, x)).collect();
        for i in (0..lat.len() - 1).rev() {
            let [_, _, h, w] = lat[i].dims();
            let up = nearest(lat[i + 1].clone(), [h, w]);
            lat[i] = lat[i].clone() + up;
        }
        let mut p: Vec<Tensor<4>> = lat.into_iter().zip(&self.output).map(|(x, o)| conv_forward(o, x)).collect();
        let p6 = max_pool2d(p[3].clone(), MaxPoolOptions::new([1, 1]).with_stride([2, 2]));
        p.push(p6);
        p
    }
}
