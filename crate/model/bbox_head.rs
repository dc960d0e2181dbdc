//! R-CNN box head: two shared FC layers, softmax classifier, class-specific box regression.

use burn::module::Module;
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

impl BboxHead {
    /// `in_features` = channels * pool * pool; classifier N(0, 0.01), regressor N(0, 0.001).
    pub fn new(in_features: usize, fc_dim: usize, num_classes: usize, device: &Device) -> Self {
        let fc = |i, o| LinearConfig::new(i, o).with_initializer(Initializer::XavierUniform { gain: 1.0 }).init(device);
        let (cls, reg) = predictors(fc_dim, num_classes, device);
        Self { fc1: fc(in_features, fc_dim), fc2: fc(fc_dim, fc_dim), cls, reg }
    }

    /// The same head for `num_classes` classes: the shared FC layers are kept, the classifier
    /// and regressor start afresh (fine-tuning on new classes).
    pub fn with_num_classes(self, fc_dim: usize, num_classes: usize, device: &Device) -> Self {
        let (cls, reg) = predictors(fc_dim, num_classes, device);
        Self { cls, reg, ..self }
    }

    /// `x`: [r, c, pool, pool] -> (class logits [r, classes + 1] with background last,
    /// deltas [r, classes * 4]).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let x: Tensor<2> = x.flatten(1, 3);
        let x = relu(self.fc2.forward(relu(self.fc1.forward(x))));
        (self.cls.forward(x.clone()), self.reg.forward(x))
    }
}

/// Classifier [fc_dim -> classes + 1] ~ N(0, 0.01) and regressor [fc_dim -> classes * 4] ~ N(0, 0.001).
fn predictors(fc_dim: usize, num_classes: usize, device: &Device) -> (Linear, Linear) {
    let normal = |o, std| LinearConfig::new(fc_dim, o).with_initializer(Initializer::Normal { mean: 0.0, std }).init(device);
    (normal(num_classes + 1, 0.01), normal(num_classes * 4, 0.001))
}
