//! Losses: cross-entropy, binary cross-entropy, smooth L1, L1 and Balanced L1 (Libra R-CNN, Sec. 3.3).
//!
//! The box losses act element-wise on `x = |pred - target|` of encoded deltas and return
//! per-element values; callers sum and normalise (by the number of sampled RoIs).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

use crate::config::BoxLoss;

/// Per-row softmax cross-entropy: `logits` [n, k], `labels` [n] in `0..k` -> [n].
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let n = labels.dims()[0];
    let logp = log_softmax(logits, 1);
    -logp.gather(1, labels.reshape([n, 1])).reshape([n])
}

/// Element-wise binary cross-entropy on logits, stable form
/// `max(z, 0) - z * y + ln(1 + e^(-|z|))`.
pub fn bce_with_logits(logits: Tensor<1>, targets: Tensor<1>) -> Tensor<1> {
    logits.clone().clamp_min(0.0) - logits.clone() * targets + (-logits.abs()).exp().log1p()
}

/// Smooth L1: `0.5 x^2 / beta` for `x < beta`, else `x - 0.5 beta`.
pub fn smooth_l1<const D: usize>(x: Tensor<D>, beta: f32) -> Tensor<D> {
    let quad = x.clone().powf_scalar(2.0) * (0.5 / beta);
    let lin = x.clone() - 0.5 * beta;
    lin.mask_where(x.lower_elem(beta), quad)
}

/// Balanced L1 with `b = e^(gamma / alpha) - 1`:
/// `x < beta`: `alpha / b * (b x + 1) ln(b x / beta + 1) - alpha x`; else `gamma x + gamma / b - alpha beta`.
pub fn balanced_l1<const D: usize>(x: Tensor<D>, alpha: f32, gamma: f32, beta: f32) -> Tensor<D> {
    let b = (gamma / alpha).exp() - 1.0;
    let inner = (x.clone() * b + 1.0) * (x.clone() * (b / beta) + 1.0).log() * (alpha / b) - x.clone() * alpha;
    let outer = x.clone() * gamma + (gamma / b - alpha * beta);
    outer.mask_where(x.lower_elem(beta), inner)
}

/// The configured box loss of `x = |pred - target|`, weighted, element-wise.
pub fn box_loss<const D: usize>(x: Tensor<D>, cfg: BoxLoss) -> Tensor<D> {
    match cfg {
        BoxLoss::SmoothL1 { beta, weight } => smooth_l1(x, beta) * weight,
        BoxLoss::L1 { weight } => x * weight,
        BoxLoss::BalancedL1 { alpha, gamma, beta, weight } => balanced_l1(x, alpha, gamma, beta) * weight,
    }
}

/// Host-side scalar forms, for the page's loss curves and as an independent check.
pub mod scalar {
    /// Balanced L1 at `x >= 0`.
    pub fn balanced_l1(x: f32, alpha: f32, gamma: f32, beta: f32) -> f32 {
        let b = (gamma / alpha).exp() - 1.0;
        if x < beta { alpha / b * (b * x + 1.0) * (b * x / beta + 1.0).ln() - alpha * x } else { gamma * x + gamma / b - alpha * beta }
    }

    /// d/dx of Balanced L1: `alpha ln(b x / beta + 1) + alpha (b x + 1) / (b x + beta) - alpha`
    /// inside (which is `alpha ln(b x + 1)` at beta = 1), `gamma` outside.
    pub fn balanced_l1_grad(x: f32, alpha: f32, gamma: f32, beta: f32) -> f32 {
        let b = (gamma / alpha).exp() - 1.0;
        if x < beta { alpha * (b * x / beta + 1.0).ln() + alpha * (b * x + 1.0) / (b * x + beta) - alpha } else { gamma }
    }

    pub fn smooth_l1(x: f32, beta: f32) -> f32 {
        if x < beta { 0.5 * x * x / beta } else { x - 0.5 * beta }
    }

    pub fn smooth_l1_grad(x: f32, beta: f32) -> f32 {
        if x < beta { x / beta } else { 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Int, Tensor, TensorData};

    use super::*;
    use crate::testing::{assert_close, device, read};

    const A: f32 = 0.5;
    const G: f32 = 1.5;

    /// b = e^(gamma/alpha) - 1 = e^3 - 1.
    fn b() -> f32 {
        3f32.exp() - 1.0
    }

    #[test]
    fn balanced_l1_hand_values() {
        let b = b();
        // x = 0: (alpha/b)(1) ln(1) - 0 = 0.
        // x = 0.5: (0.5/b)(b/2 + 1) ln(b/2 + 1) - 0.25 = 0.0261979 * 10.54277 * 2.355440 - 0.25 = 0.400568.
        // x = 2 (outside): gamma*2 + gamma/b - alpha = 3 + 0.0785935 - 0.5 = 2.5785935.
        let want = [0.0, 0.400568, 3.0 + G / b - A];
        let x = Tensor::<1>::from_floats([0.0, 0.5, 2.0], &device());
        assert_close(&read(balanced_l1(x, A, G, 1.0)), &want, 1e-5);
        for (x, w) in [0.0, 0.5, 2.0].iter().zip(want) {
            assert!((scalar::balanced_l1(*x, A, G, 1.0) - w).abs() < 1e-5);
        }
    }

    #[test]
    fn balanced_l1_is_continuous_at_beta() {
        for beta in [1.0f32, 0.5, 0.11] {
            let below = scalar::balanced_l1(beta - 1e-4, A, G, beta);
            let at = scalar::balanced_l1(beta, A, G, beta);
            assert!((below - at).abs() < 1e-3, "beta {beta}: {below} vs {at}");
        }
        // The designed gradient reaches gamma at x = beta = 1: alpha ln(b + 1) = 0.5 * 3 = gamma.
        assert!((scalar::balanced_l1_grad(1.0 - 1e-6, A, G, 1.0) - G).abs() < 1e-4);
    }

    #[test]
    fn balanced_l1_autodiff_gradient_matches_design() {
        // dL/dx = alpha ln(b x + 1) inside (beta = 1), gamma outside.
        let b = b();
        let xs = [0.1f32, 0.5, 0.9, 1.5, 3.0];
        let dev = device().autodiff();
        let x = Tensor::<1>::from_floats(xs, &dev).require_grad();
        let grads = balanced_l1(x.clone(), A, G, 1.0).sum().backward();
        let got = read(x.grad(&grads).expect("grad"));
        let want: Vec<f32> = xs.iter().map(|&x| if x < 1.0 { A * (b * x + 1.0).ln() } else { G }).collect();
        assert_close(&got, &want, 1e-4);
        for (x, w) in xs.iter().zip(&want) {
            assert!((scalar::balanced_l1_grad(*x, A, G, 1.0) - w).abs() < 1e-4);
        }
    }

    #[test]
    fn smooth_l1_and_l1() {
        // beta 1: 0.5 * 0.25 = 0.125 at 0.5; 2 - 0.5 = 1.5 at 2.
        let x = Tensor::<1>::from_floats([0.5, 2.0], &device());
        assert_close(&read(smooth_l1(x.clone(), 1.0)), &[0.125, 1.5], 1e-6);
        assert_close(&read(box_loss(x, BoxLoss::L1 { weight: 2.0 })), &[1.0, 4.0], 1e-6);
    }

    #[test]
    fn cross_entropy_hand_value() {
        // logits [0, ln 3]: softmax [1/4, 3/4]; label 1 -> -ln(3/4) = 0.2876821, label 0 -> ln 4.
        let dev = device();
        let logits = Tensor::<2>::from_floats([[0.0, 3f32.ln()], [0.0, 3f32.ln()]], &dev);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &dev);
        assert_close(&read(cross_entropy(logits, labels)), &[0.2876821, 4f32.ln()], 1e-5);
    }

    #[test]
    fn bce_with_logits_hand_values() {
        // z = 0, y = 1: ln 2; z = 2, y = 0: ln(1 + e^2) = 2.126928; z = -30, y = 0: ~1e-13 (stable).
        let dev = device();
        let z = Tensor::<1>::from_floats([0.0, 2.0, -30.0], &dev);
        let y = Tensor::<1>::from_floats([1.0, 0.0, 0.0], &dev);
        assert_close(&read(bce_with_logits(z, y)), &[2f32.ln(), 2.126928, 0.0], 1e-5);
    }
}
