//! Embedded-Gaussian non-local block (Wang et al. 2018) as BFP's refine step.
//!
//! `A = softmax_j(theta(x_i) . phi(x_j))` with no 1/sqrt(C) scale, `y = A g(x)`,
//! `out = x + W_out(y)`; theta, phi, g, W_out are 1x1 convs with bias (reduction 1).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::attention::{attention_matrix, reference_attention};
use crate::config::NonLocalInit;
#[cfg(feature = "gpu")]
use crate::kernels;
use crate::kernels::{KernelPlan, log_fallback, non_local_plan};

use super::layers::{ConvConfig, ConvInit, conv_forward};

#[derive(Module, Debug)]
pub struct NonLocal {
    pub theta: Conv2d,
    pub phi: Conv2d,
    pub g: Conv2d,
    pub out: Conv2d,
}

/// A [`NonLocal`] (embedded-Gaussian) block, `channels` -> `channels` (reduction 1).
#[derive(Config, Debug)]
pub struct NonLocalConfig {
    pub channels: usize,
    #[config(default = "NonLocalInit::Identity")]
    pub initializer: NonLocalInit,
}

impl NonLocalConfig {
    /// Convs initialised as `initializer` says; biases start at zero.
    pub fn init(&self, device: &Device) -> NonLocal {
        let channels = self.channels;
        match self.initializer {
            NonLocalInit::Xavier2019 => {
                let c = || ConvConfig::new([channels, channels], 1).with_initializer(ConvInit::Xavier).init(device);
                NonLocal { theta: c(), phi: c(), g: c(), out: c() }
            }
            NonLocalInit::Identity => {
                let c = |initializer: Initializer| {
                    let mut conv = Conv2dConfig::new([channels, channels], [1, 1]).with_initializer(initializer).init(device);
                    conv.bias = conv.bias.map(|b| Param::from_tensor(Tensor::zeros(b.dims(), device)));
                    conv
                };
                let normal = || c(Initializer::Normal { mean: 0.0, std: 0.01 });
                NonLocal { theta: normal(), phi: normal(), g: normal(), out: c(Initializer::Zeros) }
            }
        }
    }
}

impl NonLocal {
    /// theta, phi and g of `x`: [b, c, h, w] -> three [b, hw, c].
    fn embed(&self, x: Tensor<4>) -> [Tensor<3>; 3] {
        let [b, c, h, w] = x.dims();
        [&self.theta, &self.phi, &self.g].map(|conv| conv_forward(conv, x.clone()).reshape([b, c, h * w]).swap_dims(1, 2))
    }

    /// Attention `A`: [b, hw, hw] for `x`: [b, c, h, w] (row i attends over all j).
    pub fn attention(&self, x: Tensor<4>) -> Tensor<3> {
        let [theta, phi, _] = self.embed(x);
        attention_matrix(theta, phi)
    }

    /// Rows `pixels` (indices into hw) of [`Self::attention`]: [b, pixels.len(), hw], without
    /// the whole [hw, hw] matrix (our kernel where `plan` says, `softmax(theta_i phi^T)`
    /// elsewhere).
    pub fn attention_rows(&self, x: Tensor<4>, pixels: &[u32], plan: &KernelPlan) -> Tensor<3> {
        let [theta, phi, _] = self.embed(x);
        let [b, n, c] = theta.dims();
        match non_local_plan(plan, &theta.device(), [b, n, c]) {
            #[cfg(feature = "gpu")]
            Ok(()) => kernels::non_local::attention_rows(theta, phi, pixels),
            reference => {
                if let Err(Some(reason)) = reference {
                    log_fallback("non-local attention rows", &reason);
                }
                let idx = Tensor::<1, Int>::from_data(TensorData::new(pixels.to_vec(), [pixels.len()]), &theta.device());
                attention_matrix(theta.select(1, idx), phi)
            }
        }
    }

    /// `x`: [b, c, h, w] -> same shape. The attention runs on our fused kernels where `plan`
    /// says, as `softmax(theta phi^T) g` with tensor ops elsewhere.
    pub fn forward(&self, x: Tensor<4>, plan: &KernelPlan) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let [theta, phi, g] = self.embed(x.clone());
        let y = match non_local_plan(plan, &x.device(), [b, h * w, c]) {
            #[cfg(feature = "gpu")]
            Ok(()) => kernels::non_local::attention(theta, phi, g),
            reference => {
                if let Err(Some(reason)) = reference {
                    log_fallback("non-local", &reason);
                }
                reference_attention(theta, phi, g)
            }
        };
        x + conv_forward(&self.out, y.swap_dims(1, 2).reshape([b, c, h, w]))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::testing::{assert_close, device, read};

    /// 1x1 conv as a host matrix product: w [co, ci] (row-major), b [co], x [ci, n] -> [co, n].
    fn conv1x1(w: &[f32], b: &[f32], x: &[f32], c: usize, n: usize) -> Vec<f32> {
        (0..c * n).map(|k| b[k / n] + (0..c).map(|i| w[(k / n) * c + i] * x[i * n + k % n]).sum::<f32>()).collect()
    }

    #[test]
    fn matches_plain_softmax_qkt_v() {
        let dev = device();
        let (c, h, w) = (3, 2, 3);
        let n = h * w;
        let block = NonLocalConfig::new(c).with_initializer(NonLocalInit::Xavier2019).init(&dev);
        let xv: Vec<f32> = (0..c * n).map(|i| ((i as f32) * 0.7).sin()).collect();
        let x = Tensor::<4>::from_data(TensorData::new(xv.clone(), [1, c, h, w]), &dev);
        let got = read(block.forward(x, &KernelPlan::default()));

        let wb = |conv: &burn::nn::conv::Conv2d| (read(conv.weight.val()), read(conv.bias.as_ref().expect("bias").val()));
        let (tw, tb) = wb(&block.theta);
        let (pw, pb) = wb(&block.phi);
        let (gw, gb) = wb(&block.g);
        let (ow, ob) = wb(&block.out);
        let (q, k, v) = (conv1x1(&tw, &tb, &xv, c, n), conv1x1(&pw, &pb, &xv, c, n), conv1x1(&gw, &gb, &xv, c, n));
        // y[:, i] = sum_j softmax_j(q_i . k_j) v[:, j]
        let mut y = vec![0.0; c * n];
        for i in 0..n {
            let logits: Vec<f32> = (0..n).map(|j| (0..c).map(|ch| q[ch * n + i] * k[ch * n + j]).sum()).collect();
            let m = logits.iter().cloned().fold(f32::MIN, f32::max);
            let e: Vec<f32> = logits.iter().map(|l| (l - m).exp()).collect();
            let z: f32 = e.iter().sum();
            for ch in 0..c {
                y[ch * n + i] = (0..n).map(|j| e[j] / z * v[ch * n + j]).sum();
            }
        }
        let out = conv1x1(&ow, &ob, &y, c, n);
        let want: Vec<f32> = xv.iter().zip(&out).map(|(a, b)| a + b).collect();
        assert_close(&got, &want, 1e-4);
    }

    #[test]
    fn attention_rows_sum_to_one() {
        let dev = device();
        let block = NonLocalConfig::new(4).with_initializer(NonLocalInit::Xavier2019).init(&dev);
        let x = Tensor::<4>::random([2, 4, 3, 5], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
        let a = block.attention(x);
        assert_eq!(a.dims(), [2, 15, 15]);
        assert_close(&read(a.sum_dim(2).reshape([30])), &[1.0; 30], 1e-4);
    }

    #[test]
    fn identity_init_passes_the_input_through_with_near_uniform_attention() {
        // W_out = 0 and zero bias: out = x exactly. theta, phi ~ N(0, 0.01): logits of order
        // c * 1e-4 * |x|^2, so each of the n = 48 row entries stays within 5 % of 1/n.
        let dev = device();
        let (c, h, w) = (16, 6, 8);
        let block = NonLocalConfig::new(c).with_initializer(NonLocalInit::Identity).init(&dev);
        let x = Tensor::<4>::random([2, c, h, w], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
        assert_eq!(read(block.forward(x.clone(), &KernelPlan::default())), read(x.clone()));
        let n = h * w;
        for a in read(block.attention(x)) {
            assert!((a * n as f32 - 1.0).abs() < 0.05, "attention entry {a} is not near 1/{n}");
        }
        let std = |t: Tensor<4>| {
            let v = read(t);
            (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt()
        };
        for conv in [&block.theta, &block.phi, &block.g] {
            let s = std(conv.weight.val());
            assert!((0.007..0.013).contains(&s), "weight std {s}, want about 0.01");
            assert_eq!(read(conv.bias.as_ref().expect("bias").val()), vec![0.0; c]);
        }
        assert_eq!(std(block.out.weight.val()), 0.0);
    }
}
