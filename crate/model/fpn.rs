//! Feature Pyramid Network: C2..C5 -> P2..P6 (strides 4..64), `channels` each.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::layers::conv;
use super::resize::nearest;

#[derive(Module, Debug)]
pub struct Fpn {
    pub lateral: Vec<Conv2d>,
    pub output: Vec<Conv2d>,
}

impl Fpn {
    pub fn new(in_channels: [usize; 4], channels: usize, device: &Device) -> Self {
        Self {
            lateral: in_channels.iter().map(|&c| conv(c, channels, 1, 1, true, device)).collect(),
            output: in_channels.iter().map(|_| conv(channels, channels, 3, 1, true, device)).collect(),
        }
    }

    /// `c`: C2..C5 ([b, c_i, h_i, w_i]) -> P2..P6 ([b, channels, h_i, w_i]); P6 = P5 max-pooled
    /// with kernel 1, stride 2 (mmdetection's extra level).
    pub fn forward(&self, c: Vec<Tensor<4>>) -> Vec<Tensor<4>> {
        let mut lat: Vec<Tensor<4>> = c.into_iter().zip(&self.lateral).map(|(x, l)| l.forward(x)).collect();
        for i in (0..lat.len() - 1).rev() {
            let [_, _, h, w] = lat[i].dims();
            let up = nearest(lat[i + 1].clone(), [h, w]);
            lat[i] = lat[i].clone() + up;
        }
        let mut p: Vec<Tensor<4>> = lat.into_iter().zip(&self.output).map(|(x, o)| o.forward(x)).collect();
        let p6 = max_pool2d(p[3].clone(), MaxPoolOptions::new([1, 1]).with_stride([2, 2]));
        p.push(p6);
        p
    }
}
